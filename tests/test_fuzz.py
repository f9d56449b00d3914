"""Fuzzing: corpus replay through the fuzz target, smoke campaigns of libFuzzer
and AFL++, the custom mutator's outputs, mutant detection, the parser target.
The full `make mutants` and `make fuzz` campaigns are separate."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BPFDIFF, BUILD, CONFORMANCE, CORPUS, ROOT

FUZZ = BUILD / "fuzz"
SMOKE_SECONDS = int(os.environ.get("FUZZ_SMOKE_SECONDS", "15"))


def need(path):
    if not Path(path).exists():
        pytest.fail(f"{path} is not built (make fuzz-build)")
    return str(path)


def sh(*args, env=None, timeout=300, cwd=ROOT):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=e, timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("seeds")
    p = sh(need(FUZZ / "data2input"), d, CONFORMANCE)
    assert p.returncode == 0, p.stderr
    assert len(list(d.iterdir())) > 50
    return d


def stats(stats_dir):
    tot = {}
    for f in Path(stats_dir).glob("stats.*"):
        if f.suffix == ".tmp":
            continue
        for line in f.read_text().splitlines():
            k, _, v = line.partition("=")
            if v.isdigit():
                tot[k] = tot.get(k, 0) + int(v)
    return tot


def test_replay_corpus_through_the_fuzz_target():
    """Every corpus case (fuzz finds included) passes its expectations when replayed."""
    p = sh(need(FUZZ / "bpf_diff_replay"), CORPUS, env={"BPFDIFF_FINDS": ""})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "replay:" in p.stdout and " 0 bad" in p.stdout


def test_replay_raw_inputs(seeds, tmp_path):
    p = sh(need(FUZZ / "bpf_diff_replay"), seeds, env={"BPFDIFF_FINDS": str(tmp_path)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "raw inputs" in p.stdout and "exec/s" in p.stdout


def test_mutator_outputs_decode_as_valid_programs():
    p = sh(need(FUZZ / "mutator_test"), "100000")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 invalid" in p.stdout
    forms = int(p.stdout.split("forms generated ")[1].split("/")[0])
    assert forms >= 150  # all but pseudo lddw, helper/kfunc calls and callx


def test_libfuzzer_smoke_campaign(seeds, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    st = tmp_path / "stats"
    p = sh(need(FUZZ / "bpf_diff"), f"-max_total_time={SMOKE_SECONDS}", "-max_len=4096", corpus, seeds,
           env={"BPFDIFF_STATS_DIR": str(st), "BPFDIFF_FINDS": str(tmp_path / "finds")}, cwd=tmp_path,
           timeout=SMOKE_SECONDS + 60)
    assert p.returncode == 0, p.stderr[-3000:]
    s = stats(st)
    assert s.get("execs", 0) > 1000, s
    assert "exec/s" in p.stderr
    if s.get("kernel_runs"):
        assert s["kernel_accepted"] >= 0.8 * s["kernel_runs"], s


def test_afl_smoke_campaign(seeds, tmp_path):
    if not shutil.which("afl-fuzz") or not (FUZZ / "bpf_diff_afl").exists():
        pytest.skip("AFL++ not installed")
    env = {"AFL_NO_UI": "1", "AFL_SKIP_CPUFREQ": "1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1",
           "AFL_NO_AFFINITY": "1", "AFL_CUSTOM_MUTATOR_LIBRARY": need(FUZZ / "afl_mutator.so"),
           "BPFDIFF_FINDS": str(tmp_path / "finds"), "BPFDIFF_QUIET": "1"}
    out = tmp_path / "afl"
    p = sh("afl-fuzz", "-i", seeds, "-o", out, "-V", str(SMOKE_SECONDS), "--", FUZZ / "bpf_diff_afl", env=env,
           timeout=SMOKE_SECONDS + 120)
    st = out / "default" / "fuzzer_stats"
    assert st.exists(), p.stdout[-3000:] + p.stderr[-3000:]
    kv = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in st.read_text().splitlines())}
    assert int(kv["execs_done"]) > 100, kv


def test_mutants_are_detected_and_minimized():
    env = {"MUTANTS": "alu32-no-zext,sdiv-intmin,callee-clobber", "MUTANT_BUDGET": "20", "BUILD": str(BUILD),
           "MUTANT_SEEDS": "suites"}
    need(FUZZ / "bpf_diff_mutants")
    p = sh("bash", "fuzz/run_mutants.sh", env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "mutants (seeded): 3/3 detected" in p.stdout
    assert "unseeded" not in p.stdout
    for line in p.stdout.splitlines():
        if line.startswith(("alu32-no-zext", "sdiv-intmin")):
            assert int(line.split("|")[4]) <= 4, line
        if line.startswith(("alu32-no-zext", "sdiv-intmin", "callee-clobber")):
            assert f"uvm:{line.split()[0]}/" in line, line  # the mutant's find, not the references'


def test_mutants_run_unseeded(tmp_path):
    """MUTANT_SEEDS=none: no seeds made or copied into the corpus, only the unseeded table."""
    need(FUZZ / "bpf_diff_mutants")
    env = {"MUTANTS": "lddw-low-only", "MUTANT_BUDGET": "20", "BUILD": str(BUILD), "MUTANT_SEEDS": "none",
           "TMPDIR": str(tmp_path)}
    p = sh("bash", "-x", "fuzz/run_mutants.sh", env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert "unseeded (empty corpus" in p.stdout and "seeded with" not in p.stdout, p.stdout
    assert "mutants (unseeded): 1/1 detected" in p.stdout, p.stdout
    assert "data2input" not in p.stderr and "+ cp " not in p.stderr  # no seeds made or copied
    line = next(line for line in p.stdout.splitlines() if line.startswith("lddw-low-only"))
    # lddw-low-only drops an lddw's upper half: `lddw %r0, X; exit` with X >= 2^32, hand-derived 2
    assert int(line.split("|")[4]) == 2, line


def test_mutants_refuse_an_unknown_seed_mode():
    p = sh("bash", "fuzz/run_mutants.sh", env={"BUILD": str(BUILD), "MUTANT_SEEDS": "some"}, timeout=60)
    assert p.returncode == 2 and "MUTANT_SEEDS=some" in p.stderr, p.stdout + p.stderr


def test_parse_fuzz_replays_the_data_files(tmp_path):
    files = [str(f) for f in sorted(CONFORMANCE.glob("*.data"))[:200]]
    p = sh(need(FUZZ / "parse_fuzz"), "-runs=0", *files, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]


def test_minimize_refuses_a_case_without_discrepancy():
    case = next(iter(sorted(CONFORMANCE.glob("*.data"))))
    p = sh(BPFDIFF, "minimize", case, "--backend", "uvm")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "no discrepancy" in p.stderr
