"""ubpf's and bpf_conformance's .data dialect, read as those projects read it.

The fixtures in tests/dialect/ are hand-written, one per feature; each expected
value below is derived by hand in the fixture's comment. The last test runs
iovisor/ubpf's own tests/ directory when a checkout is available.
"""
import os
import re
from pathlib import Path

import pytest

from conftest import IN_CI, ROOT, need, run, run_json, write_case

DIALECT = ROOT / "tests" / "dialect"
STATEFUL_VM = DIALECT / "stateful_vm.sh"

# verdict and (for non-passes) a piece of the reason, on the uvm alone
EXPECTED = {
    "include/asm-and-mem-from-files.data": ("pass", None),
    "include/asm-from-file-inline-hexdump.data": ("pass", None),
    "raw-words.data": ("pass", None),
    "assembler-test-no-expectation.data": ("skipped", "no expectation"),
    "no-expectation-runs.data": ("pass", None),
    "error-or-result-runs.data": ("pass", None),
    "error-or-result-faults.data": ("pass", None),
    "error-or-result-wrong.data": ("fail", "r0 is 0x8, expected 0x7"),
    "register-r11-error.data": ("pass", None),
    "register-r15-result.data": ("fail", "invalid register r15"),
    "pyelf.data": ("skipped", "-- pyelf"),
    "reload.data": ("skipped", "-- reload"),
    "unload.data": ("pass", None),
    "comments-and-separators.data": ("pass", None),
}


@pytest.fixture(scope="module")
def uvm_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dialect")
    p, rep = run_json(tmp, "--backend", "uvm", DIALECT)
    assert p.returncode == 1, p.stdout  # the two failing fixtures
    return {str(Path(c["file"]).relative_to(DIALECT)): c for c in rep["cases"]}


def test_every_fixture_is_judged(uvm_report):
    assert set(uvm_report) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdict(uvm_report, name):
    verdict, why = EXPECTED[name]
    case = uvm_report[name]
    assert case["verdict"] == verdict, case
    if why:
        assert why in case["reason"], case


def test_included_program_and_hexdump_memory(uvm_report):
    """The values prove the offsets were dropped and 4-digit groups split into bytes."""
    a = uvm_report["include/asm-and-mem-from-files.data"]["results"]["uvm"]
    assert (a["status"], a["r0"]) == ("ok", "0x1200120403")
    assert a["mem"] == "0102030405060708090a0b0c0d0e0f101112"
    b = uvm_report["include/asm-from-file-inline-hexdump.data"]["results"]["uvm"]
    assert (b["status"], b["r0"]) == ("ok", "0x1b00120d0c")


def test_include_is_relative_to_the_case_not_the_working_directory(tmp_path):
    # bpfdiff runs in the repository root; the case and its files are elsewhere
    d = tmp_path / "deep" / "dir"
    d.mkdir(parents=True)
    (d / "prog.asm").write_text((DIALECT / "include" / "prog.asm").read_text())
    (d / "packet.hex").write_text((DIALECT / "include" / "packet.hex").read_text())
    case = d / "c.data"
    case.write_text((DIALECT / "include" / "asm-and-mem-from-files.data").read_text())
    p = run("run", "--backend", "uvm", case, check=0)
    assert "PASS" in p.stdout, p.stdout


def test_raw_words_read_as_numbers_not_bytes(uvm_report):
    r = uvm_report["raw-words.data"]["results"]["uvm"]
    assert (r["status"], r["r0"]) == ("ok", "0x2b")


def test_either_outcome_uses_the_right_check(uvm_report):
    faults = uvm_report["error-or-result-faults.data"]["results"]["uvm"]
    assert faults["status"] == "fault" and "out of bounds" in faults["message"]
    runs = uvm_report["error-or-result-runs.data"]["results"]["uvm"]
    assert (runs["status"], runs["r0"]) == ("ok", "0x7")


def test_skipped_cases_do_not_fail_the_run_but_fail_replay():
    p = run("run", "--backend", "uvm", DIALECT / "pyelf.data", DIALECT / "reload.data",
            DIALECT / "assembler-test-no-expectation.data", check=0)
    assert p.stdout.count("SKIPPED") == 3
    assert "does not run Python" in p.stdout and "load every run afresh" in p.stdout
    run("replay", "--backend", "uvm", DIALECT / "pyelf.data", check=1)


def test_unload_runs_twice_on_every_backend(tmp_path, backends):
    need(backends, "uvm", "kernel", "xdp")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel,xdp", DIALECT / "unload.data", check=0)
    c = rep["cases"][0]
    assert c["verdict"] == "pass", p.stdout
    for b in ("uvm", "kernel", "xdp"):
        assert (c["results"][b]["status"], c["results"][b]["r0"]) == ("ok", "0x6")
        assert c["results"][b]["mem"] == "0600000000000000"


def test_unload_catches_a_vm_that_keeps_state(tmp_path):
    """The second run's result is judged, and it must agree with the first."""
    case = write_case(tmp_path / "u.data", "-- asm\nmov %r0, 2\nexit\n-- unload\n-- result\n0x2\n")
    env = dict(os.environ, STATEFUL_VM_COUNTER=str(tmp_path / "count"))
    p = run("run", "--backend", f"plugin:{STATEFUL_VM}", case, check=1, env=env)
    assert "loaded again, it gave ok r0 0x2; the first run gave ok r0 0x1" in p.stdout, p.stdout
    # without -- unload the same VM is run once and passes (it returns 1, 2, 3...: start at 1)
    (tmp_path / "count").write_text("1\n")
    once = write_case(tmp_path / "o.data", "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n")
    run("run", "--backend", f"plugin:{STATEFUL_VM}", once, check=0, env=env)


def test_r11_is_refused_by_every_vm(tmp_path, backends):
    need(backends, "uvm", "kernel", "xdp")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel,xdp", DIALECT / "register-r11-error.data", check=0)
    res = rep["cases"][0]["results"]
    assert all(res[b]["status"] == "rejected" for b in ("uvm", "kernel", "xdp")), res
    assert "R11 is invalid" in res["kernel"]["message"]


# --- bad input in the dialect stays an input error naming the file and line -------------

@pytest.mark.parametrize("text,where,what", [
    ("-- asm @ nosuch.asm\n-- result\n0x0\n", ":1:", "nosuch.asm: No such file"),
    ("-- asm @ prog.asm\nmov %r0, 1\n-- result\n0x0\n", ":2:", "takes its text from"),
    ("-- result @ r.txt\n", ":1:", "only asm, raw, mem and mem after"),
    ("-- asm @ a @ b\n", ":1:", "takes one file name"),
    ("-- raw\nb700000001000000\n", ":2:", "a -- raw line is one 64-bit value"),
    ("-- raw\n0x95 0x00\n", ":2:", "2 hex bytes: a line of -- raw bytes holds whole 8-byte instructions"),
    ("-- raw\n010\n", ":2:", "invalid instruction word '010'"),
    ("-- raw\n-149\n", ":2:", "negative instruction word"),
    ("-- raw\n0x10000000000000095\n", ":2:", "wider than 64 bits"),
    ("-- asm\nexit\n-- mem\nfoo: 00 01\n", ":4:", "hexdump offset"),
    ("-- asm\nmov %r16, 1\nexit\n-- error\ninvalid register\n", ":2:", "invalid register %r16"),
    ("-- asm\nmov %r0, 1\nexit\n-- errror\nx\n", ":4:", "unknown section '-- errror'"),
])
def test_malformed_dialect_is_input_error(tmp_path, text, where, what):
    (tmp_path / "prog.asm").write_text("mov %r0, 1\nexit\n")
    f = write_case(tmp_path / "bad.data", text)
    p = run("run", "--backend", "uvm", f, check=2)
    assert "INPUT-ERROR" in p.stdout and f"bad.data{where}" in p.stdout and what in p.stdout, p.stdout


def test_error_in_an_included_file_names_that_file_and_the_case(tmp_path):
    (tmp_path / "prog.asm").write_text("mov %r0, 1\nfrob %r1\nexit\n")
    (tmp_path / "mem.hex").write_text("00 01\n02 zz\n")
    f = write_case(tmp_path / "a.data", "# x\n-- asm @ prog.asm\n-- result\n0x1\n")
    p = run("run", "--backend", "uvm", f, check=2)
    assert re.search(r"prog\.asm:2: invalid mnemonic 'frob' \(included by \S*a\.data:2\)", p.stdout), p.stdout
    g = write_case(tmp_path / "b.data", "-- asm\nexit\n-- mem @ mem.hex\n")
    p = run("run", "--backend", "uvm", g, check=2)
    assert re.search(r"mem\.hex:2: invalid hex byte 'zz' \(included by \S*b\.data:3\)", p.stdout), p.stdout


# --- iovisor/ubpf's own tests/ directory, as it is ---------------------------------------

def ubpf_tests_dir():
    """$UBPF_TESTS, or a checkout next to this repository (../ubpf/tests, ../scratch-ubpf/tests).
    CI has no GitHub access and no package carries these files, so CI skips this test;
    the fixtures above are what CI runs."""
    env = os.environ.get("UBPF_TESTS")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "ubpf" / "tests", ROOT.parent / "scratch-ubpf" / "tests"):
        if cand.is_dir():
            return cand
    return None


def test_ubpf_suite_reads_as_it_is(tmp_path):
    d = ubpf_tests_dir()
    if d is None:
        pytest.skip("no iovisor/ubpf checkout (set UBPF_TESTS=/path/to/ubpf/tests)")
    assert d.is_dir(), f"UBPF_TESTS={d} is not a directory"
    p, rep = run_json(tmp_path, "--backend", "uvm", d)
    assert rep["summary"]["input_errors"] == 0, "\n".join(
        line for line in p.stdout.splitlines() if line.startswith("INPUT-ERROR"))
    assert len(rep["cases"]) > 50
    for c in rep["cases"]:
        if c["verdict"] != "pass":
            assert c["reason"], c  # every non-pass says why
    # the include-based cases ran from their .asm/.hex files
    byname = {os.path.relpath(c["file"], d): c for c in rep["cases"]}
    if "tcp-sack/match.data" in byname:
        assert byname["tcp-sack/match.data"]["verdict"] == "pass"
    if "elf/ok.data" in byname:
        assert byname["elf/ok.data"]["verdict"] == "skipped"


@pytest.mark.parametrize("cmd", [["asm", "--hex"], ["disasm"]], ids=["asm", "disasm"])
def test_asm_and_disasm_refuse_a_case_without_a_program(cmd):
    p = run(*cmd, DIALECT / "pyelf.data", check=2)
    assert "no program" in p.stderr and "pyelf" in p.stderr
    # a skipped case with a program still has one to show: mov %r0, 1; exit
    out = run(*cmd, DIALECT / "reload.data", check=0).stdout
    assert out.strip() in ("b7 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00", "mov %r0, 1\nexit")
