"""bpfdiff run --verifier-oracle (harness/oracle.c): no `verifier unsound` anywhere in the suites and
the corpus on this kernel, every accepted case judged, and the flag's usage rules. That the oracle
CAN fire is tests/unit/test_oracle.c's (claims injected into real logs) and test_diff.c's (the verdict)."""
from conftest import CONFORMANCE, CORPUS, SUITE, need, run, run_json


def test_zero_unsound_over_the_suites_and_corpus(tmp_path, backends):
    need(backends, "kernel")
    paths = [CONFORMANCE, CORPUS] + ([SUITE] if SUITE.is_dir() else [])
    p, rep = run_json(tmp_path, "--verifier-oracle", "--backend", "uvm,kernel", "-q", *paths)
    unsound = [(c["file"], c["reason"]) for c in rep["cases"]
               if c["verdict"] == "verifier unsound" or "unsound" in c.get("verifier_oracle", {})]
    assert not unsound, unsound
    assert rep["summary"]["verifier unsound"] == 0
    # Every case the kernel ran was judged or says why not: only where the logged load fails the
    # verifier's own invariant checks (a kernel warning) or the uvm refuses what the kernel ran.
    accepted = [c for c in rep["cases"] if c["results"]["kernel"]["status"] == "ok"]
    vo = rep["summary"]["verifier_oracle"]
    assert vo["judged_cases"] + vo["not_judged"] == len(accepted)
    for c in accepted:
        o = c["verifier_oracle"]
        assert o["checked"] or o["skipped"], c
        # r10 = fp0 is claimed before the first instruction of every accepted program.
        assert not o["checked"] or o["judged"] >= 1, c
    for c in accepted:
        why = c["verifier_oracle"].get("skipped", "")
        assert c["verifier_oracle"]["checked"] or "invariant checks" in why or "the uvm did not run it" in why, c
    assert vo["judged_values"] >= vo["judged_cases"]
    assert "verifier oracle:" in p.stdout


def test_needs_the_kernel_backend():
    p = run("run", "--verifier-oracle", "--backend", "uvm", CONFORMANCE / "add32-reg.data")
    assert p.returncode == 2
    assert "--verifier-oracle needs the kernel backend" in p.stderr


def test_without_the_flag_no_oracle(tmp_path, backends):
    need(backends, "kernel")
    _, rep = run_json(tmp_path, "--backend", "uvm,kernel", CONFORMANCE / "add32-reg.data")
    assert "verifier_oracle" not in rep["cases"][0]
    assert "verifier_oracle" not in rep["summary"]
