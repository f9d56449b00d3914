"""bpfdiff run --verifier-oracle (harness/oracle.c): no `verifier unsound` anywhere in the suites and
the corpus on this kernel, every accepted case judged, and the flag's usage rules. That the oracle
CAN fire is tests/unit/test_oracle.c's (claims injected into real logs) and test_diff.c's (the verdict)."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, CONFORMANCE, CORPUS, SUITE, need, run, run_json


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


def _fuzz_bin(name):
    p = BUILD / "fuzz" / name
    if not p.exists():
        pytest.fail(f"{p} is not built (make fuzz-build)")
    return str(p)


def test_fuzz_target_with_the_oracle(tmp_path, backends):
    """The fuzz target (replayed over the conformance inputs) judges every input with
    BPFDIFF_VERIFIER_ORACLE=1, counts it in its stats, and finds nothing unsound."""
    need(backends, "kernel")
    seeds, finds, stats = tmp_path / "seeds", tmp_path / "finds", tmp_path / "stats"
    p = subprocess.run([_fuzz_bin("data2input"), str(seeds), str(CONFORMANCE)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, BPFDIFF_BACKENDS="uvm,kernel", BPFDIFF_VERIFIER_ORACLE="1", BPFDIFF_FINDS=str(finds),
               BPFDIFF_STATS_DIR=str(stats), BPFDIFF_MIN_RUNS="200")
    p = subprocess.run([_fuzz_bin("bpf_diff_replay"), str(seeds)], capture_output=True, text=True, env=env,
                       timeout=600)
    m = re.search(r"verifier oracle: (\d+) judged \((\d+) values\), (\d+) unsound", p.stdout)
    assert m, p.stdout + p.stderr
    n_inputs = len(list(seeds.iterdir()))
    assert int(m.group(1)) >= n_inputs // 2 and int(m.group(2)) > int(m.group(1)) and m.group(3) == "0"
    st = {}
    for f in stats.glob("stats.*"):
        for line in f.read_text().splitlines():
            k, _, v = line.partition("=")
            st[k] = v
    assert int(st["oracle_runs"]) == int(m.group(1)) and st["unsound"] == "0"
    assert not [f for f in finds.glob("*.data") if "verifier-unsound" in f.name]


def test_fuzz_oracle_rate_must_be_a_number(tmp_path):
    env = dict(os.environ, BPFDIFF_BACKENDS="uvm", BPFDIFF_VERIFIER_ORACLE="often", BPFDIFF_FINDS="")
    p = subprocess.run([_fuzz_bin("bpf_diff_replay"), str(CONFORMANCE / "add32-reg.data")], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode != 0 and "BPFDIFF_VERIFIER_ORACLE" in p.stdout + p.stderr
