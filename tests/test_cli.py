"""The bpfdiff CLI driven as a user would: suites, bad inputs, reports, exit codes."""
import json
import re
import subprocess

import pytest

from conftest import (BPFDIFF, BPFDIFF_SAN, CONFORMANCE, CORPUS, NEGATIVE, ROOT, SHARED, SUITE,
                      need, run, run_json, write_case)

SCORE = SHARED / "bin" / "score-report"


def score(report, backend, suite):
    """../shared/bin/score-report's verdict on a JSON report; it comes with the shared test
    environment (not with a plain bpf_conformance checkout, as on GitHub's runners)."""
    if not SCORE.exists():
        return None
    s = subprocess.run([str(SCORE), str(report), backend, ALLOWED[backend], str(suite)], capture_output=True,
                       text=True)
    assert s.returncode == 0, s.stdout + s.stderr
    return s


# Under --platform ubpf (what bpf_conformance means by helper 5) nothing may be
# refused on bpfdiff's own VMs; the kernel refuses callx and immediate shifts
# the verifier forbids.
ALLOWED = {
    "uvm": r"^$",
    "xdp": r"^$",
    "kernel": r"^(callx|(arsh|lsh|rsh)(32|64)-imm-(high|neg))\.data$",
}
PLATFORM = {"uvm": "ubpf", "xdp": "ubpf", "kernel": "linux"}


@pytest.mark.parametrize("binary", [BPFDIFF, BPFDIFF_SAN], ids=["plain", "asan+ubsan"])
def test_uvm_passes_bpf_conformance(tmp_path, binary):
    p, rep = run_json(tmp_path, "--backend", "uvm", "--platform", "ubpf", SUITE, binary=binary, check=0)
    assert len(rep["cases"]) == 313
    assert rep["summary"]["failed"] == 0
    passed = [c for c in rep["cases"] if c["verdict"] == "pass"]
    assert len(passed) == 313, p.stdout
    assert all(c["results"]["uvm"]["status"] == "ok" for c in rep["cases"]), p.stdout
    # callx calls helper 5 through a register: ubpf's unwind, with r1 = -1 (not 0): it goes on.
    callx = next(c for c in rep["cases"] if c["file"].endswith("/callx.data"))
    assert callx["results"]["uvm"]["r0"] == "0x2"
    score(tmp_path / "report.json", "uvm", SUITE)


@pytest.mark.parametrize("backend", ["kernel", "xdp"])
def test_other_backends_pass_bpf_conformance(tmp_path, backends, backend):
    need(backends, backend)
    p, rep = run_json(tmp_path, "--backend", backend, "--platform", PLATFORM[backend], SUITE, check=0)
    assert rep["summary"]["failed"] == 0, p.stdout
    score(tmp_path / "report.json", backend, SUITE)
    if backend == "xdp":
        assert all(c["results"]["xdp"]["status"] == "ok" for c in rep["cases"]), p.stdout
    if backend == "kernel":
        shifts = [c for c in rep["cases"] if re.search(r"sh(32|64)-imm-(high|neg)\.data$", c["file"])]
        assert len(shifts) == 12
        for c in shifts:
            assert c["results"]["kernel"]["status"] == "rejected"
            assert "invalid shift" in c["results"]["kernel"]["message"]


def test_three_way_no_discrepancies(tmp_path, backends):
    need(backends, "uvm", "kernel", "xdp")
    p, rep = run_json(tmp_path, SUITE, CONFORMANCE, check=0)
    verdicts = {c["verdict"] for c in rep["cases"]}
    assert not any("discrepancy" in v for v in verdicts), p.stdout
    assert set(rep["cases"][0]["results"]) == {"uvm", "kernel", "xdp"}


def test_own_conformance_suite_passes_and_covers_every_form(tmp_path):
    p, rep = run_json(tmp_path, "--backend", "uvm", CONFORMANCE, check=0)
    assert rep["summary"]["failed"] == 0
    cov = run("coverage", CONFORMANCE)
    assert cov.returncode == 0, cov.stdout[-3000:]
    assert re.search(r"174 of 174 forms covered", cov.stdout)
    assert re.search(r"rfc9669: 165 of 165 standard forms covered", cov.stdout)
    assert re.search(r"linux: +9 of 9 Linux extension forms covered", cov.stdout)


def test_coverage_matrix_with_backends():
    p = run("coverage", "--backend", "uvm", CONFORMANCE)
    header = p.stdout.splitlines()[0]
    assert "uvm" in header
    assert re.search(r"^ADD64_IMM\s+add\s+rfc9669\s+\d+\s+\d+/\d+", p.stdout, re.M)


# --- the 61 malformed / negative files ---------------------------------------------------

INVALID = sorted(NEGATIVE.glob("invalid_*.data")) + sorted(NEGATIVE.glob("empty*.data"))
UNUSED = sorted(NEGATIVE.glob("unused-*.data"))


@pytest.mark.parametrize("binary", [BPFDIFF, BPFDIFF_SAN], ids=["plain", "asan+ubsan"])
@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_malformed_files_are_input_errors(path, binary):
    p = run("run", "--backend", "uvm", path, binary=binary)
    assert p.returncode == 2, p.stdout + p.stderr
    # The message names the file, and the line where there is one.
    assert path.name in p.stdout
    if not path.name.startswith("empty"):
        assert re.search(re.escape(path.name) + r":\d+:", p.stdout), p.stdout


@pytest.mark.parametrize("path", UNUSED, ids=[p.name for p in UNUSED])
def test_unused_fields_rejected_by_validator(tmp_path, path):
    p, rep = run_json(tmp_path, "--backend", "uvm", path, check=0)
    assert rep["cases"][0]["verdict"] == "pass"
    uvm = rep["cases"][0]["results"]["uvm"]
    assert uvm["status"] == "rejected", uvm
    assert "unused field" in uvm["message"] or "invalid off" in uvm["message"], uvm


def test_negative_suite_never_crashes_under_sanitizers():
    p = run("run", "--backend", "uvm", NEGATIVE, binary=BPFDIFF_SAN)
    assert p.returncode in (1, 2)
    assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr


def test_incorrect_high_bits_fails_with_r0_difference():
    p = run("run", "--backend", "uvm", NEGATIVE / "incorrect_return_value_high_bits.data", check=1)
    assert "FAIL" in p.stdout
    assert "0x8877665544332211" in p.stdout and "0x8977665544332211" in p.stdout


def test_error_data_expected_error_but_ran():
    p = run("run", "--backend", "uvm", NEGATIVE / "error.data", check=1)
    assert "expected an error" in p.stdout


# --- bad input of every kind -----------------------------------------------------------

def test_missing_file_is_input_error():
    p = run("run", "--backend", "uvm", "no/such/file.data", check=2)
    assert "no/such/file.data" in p.stdout and "No such file" in p.stdout


def test_bad_input_does_not_hide_other_cases(tmp_path):
    write_case(tmp_path / "a-bad.data", "-- asm\nmov %r0, 1\nfrobnicate %r1\nexit\n-- result\n0x1\n")
    write_case(tmp_path / "b-good.data", "-- asm\nmov %r0, 7\nexit\n-- result\n0x7\n")
    p = run("run", "--backend", "uvm", tmp_path, check=2)
    assert re.search(r"a-bad\.data:3:", p.stdout)
    assert re.search(r"PASS\s+\S*b-good\.data", p.stdout)


@pytest.mark.parametrize("text,what", [
    ("-- asm\nmov %r0, 1\nexit\n-- mem\nzz 11\n", "mem"),
    ("-- raw\n0xb7 0x00\n", "raw"),
    ("-- asm\nmov %r0, 1\nexit\n-- result\nnot-a-number\n", "result"),
    ("-- asm\nja +5\nexit\n-- result\n0x0\n", None),
])
def test_malformed_sections(tmp_path, text, what):
    f = write_case(tmp_path / "bad.data", text)
    p = run("run", "--backend", "uvm", f)
    if what is None:  # assembles, but the validator rejects a jump out of range
        assert p.returncode == 1 and "pc 0" in p.stdout, p.stdout
    else:
        assert p.returncode == 2, p.stdout
        assert re.search(r"bad\.data:\d+:", p.stdout), p.stdout


def test_truncated_lddw_and_unknown_opcode(tmp_path):
    f = write_case(tmp_path / "t.data", "-- raw\n0x0000000100000018\n-- result\n0x1\n")
    p = run("run", "--backend", "uvm", "-v", f, check=1)
    assert "lddw" in p.stdout
    f = write_case(tmp_path / "u.data", "-- raw\n0x00000000000000ff\n0x0000000000000095\n")
    p = run("run", "--backend", "uvm", "-v", f)
    assert "unknown opcode 0xff" in p.stdout


def test_usage_errors():
    assert run("frob").returncode == 2
    assert run("run").returncode == 2
    p = run("run", "--backend", "nosuch", SUITE / "add.data", check=2)
    assert "unknown backend" in p.stderr
    assert run("run", "--cpu", "v9", SUITE / "add.data").returncode == 2


@pytest.mark.parametrize("cmd", ["run", "replay", "asm", "disasm", "coverage", "minimize", "plugin", "info"])
def test_help_on_every_subcommand(cmd):
    p = run(cmd, "--help", check=0)
    assert "usage: bpfdiff" in p.stdout


def test_cpu_version_restricts_the_isa(tmp_path):
    f = write_case(tmp_path / "sdiv.data", "-- asm\nmov %r0, -6\nsdiv %r0, 3\nexit\n-- result\n0xfffffffffffffffe\n")
    run("run", "--backend", "uvm", "--cpu", "v4", f, check=0)
    p = run("run", "--backend", "uvm", "--cpu", "v3", f, check=1)
    assert "pc 1" in p.stdout


# --- asm / disasm ----------------------------------------------------------------------

def test_asm_hex_and_disasm_round_trip(tmp_path):
    p = run("asm", "--hex", SUITE / "lddw.data", check=0)
    hexline = p.stdout.strip()
    assert re.fullmatch(r"([0-9a-f]{2} )*[0-9a-f]{2}", hexline)
    hexfile = tmp_path / "prog.hex"
    hexfile.write_text(hexline + "\n")
    d = run("disasm", hexfile, check=0)
    asmfile = tmp_path / "prog.s"
    asmfile.write_text(d.stdout)
    again = run("asm", "--hex", asmfile, check=0)
    assert again.stdout.strip() == hexline
    raw = tmp_path / "prog.bin"
    run("asm", "-o", raw, SUITE / "lddw.data", check=0)
    assert raw.read_bytes() == bytes.fromhex(hexline.replace(" ", ""))
    assert run("disasm", raw, check=0).stdout == d.stdout


def test_asm_error_names_line(tmp_path):
    f = tmp_path / "bad.s"
    f.write_text("mov %r0, 1\nadd %r0, %r16\nexit\n")
    p = run("asm", f, check=2)
    assert "bad.s:2" in p.stderr


# --- reports ---------------------------------------------------------------------------

def test_json_report_shape(tmp_path):
    p, rep = run_json(tmp_path, "--backend", "uvm", SUITE / "add.data", SUITE / "callx.data", check=0)
    c = rep["cases"][0]
    assert set(c) >= {"file", "expected", "results", "verdict"}
    assert c["expected"] == "0x3"
    assert c["results"]["uvm"]["status"] == "ok" and c["results"]["uvm"]["r0"] == "0x3"
    assert "summary" in rep and rep["summary"]["cases"] == 2


def test_wrong_expectation_shows_diff_report(tmp_path):
    f = write_case(tmp_path / "wrong.data", "-- asm\nmov %r0, 2\nadd %r0, 3\nexit\n-- result\n0x6\n")
    p = run("run", "--backend", "uvm", f, check=1)
    assert "FAIL" in p.stdout
    assert "r0 is 0x5, expected 0x6" in p.stdout
    assert "add %r0, 3" in p.stdout  # the disassembly is part of the report


def test_memory_expectation_caught(tmp_path):
    f = write_case(tmp_path / "mem.data",
                   "-- asm\nstb [%r1+2], 0x7f\nmov %r0, 0\nexit\n-- mem\n00 00 00 00\n-- mem after\n00 00 7e 00\n-- result\n0x0\n")
    p = run("run", "--backend", "uvm", f, check=1)
    assert "memory byte 2 is 0x7f, expected 0x7e" in p.stdout


def test_junit_report_parses(tmp_path):
    import xml.etree.ElementTree as ET
    out = tmp_path / "r.xml"
    bad = write_case(tmp_path / "bad.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n")
    run("run", "--backend", "uvm", "--junit", out, SUITE / "add.data", bad, check=1)
    root = ET.parse(out).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 2
    failures = root.findall(".//failure")
    assert len(failures) == 1 and "r0 is 0x1" in failures[0].get("message")


def test_markdown_summary(tmp_path):
    out = tmp_path / "s.md"
    run("run", "--backend", "uvm", "--markdown", out, SUITE / "add.data", check=0)
    text = out.read_text()
    assert "| uvm |" in text and "all green" in text


def test_replay_corpus_junit_is_green(tmp_path, backends):
    """What CI runs day to day: the regression corpus on every backend, as JUnit."""
    import xml.etree.ElementTree as ET
    out = tmp_path / "corpus.xml"
    p = run("replay", "--junit", out, CORPUS, check=0)
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "0"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(backends) <= set(suites)
    ncases = len(list(CORPUS.rglob("*.data")))
    for name, suite in suites.items():
        cases = suite.findall("testcase")
        assert len(cases) == ncases
        assert all(c.get("classname") == f"bpfdiff.{name}" for c in cases)
        assert not suite.findall(".//failure")
    # the known kernel bug is recorded, explained, and replays green
    assert "cmpxchg32-r0-zext-lost-after-pruning.data" in p.stdout


def test_replay_fails_on_deviation(tmp_path):
    """A backend that shows neither its declared deviation nor the RFC result fails replay."""
    f = write_case(tmp_path / "dev.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x3\n"
                   "-- expect uvm\n# pretend the uvm has a known bug returning 2\nresult 0x2\n")
    p = run("replay", "--backend", "uvm", f, check=1)
    assert "neither the declared deviation (r0 0x2) nor the RFC result: r0 is 0x1, expected 0x3" in p.stdout


def test_replay_passes_when_a_declared_deviation_is_absent(tmp_path):
    """The RFC result where a deviation is declared: a pass, listed as absent here."""
    f = write_case(tmp_path / "fixed.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n"
                   "-- expect uvm\n# pretend the uvm had a bug returning 2\nresult 0x2\n")
    p = run("replay", "--backend", "uvm", f, check=0)
    assert p.stdout.startswith("PASS") and "known deviation absent here (fixed on this kernel?)" in p.stdout
    assert "known deviations: 0 present, 1 absent here" in p.stdout


def test_elf_object_runs_each_section(tmp_path, backends):
    src = tmp_path / "prog.bpf.c"
    src.write_text(
        '#define SEC(n) __attribute__((section(n), used))\n'
        'static __attribute__((noinline)) long long sq(long long x) { return x * x - 7; }\n'
        'SEC("xdp") long long a(void *ctx) { (void)ctx; return sq(-300000); }\n'
        'SEC("xdp/second") int b(void *ctx) { (void)ctx; return 42; }\n'
        'char _license[] SEC("license") = "MIT";\n')
    obj = tmp_path / "prog.bpf.o"
    subprocess.run(["clang-14", "-O2", "-target", "bpf", "-c", str(src), "-o", str(obj)], check=True)
    p, rep = run_json(tmp_path, obj, check=0)
    names = sorted(c["file"] for c in rep["cases"])
    assert names == [f"{obj}:a", f"{obj}:b"], names  # OBJECT:PROGRAM
    first = next(c for c in rep["cases"] if c["file"].endswith(":a"))
    for b in backends:  # full 64-bit R0 everywhere: 9e10 - 7
        assert first["results"][b]["r0"] == hex(300000 * 300000 - 7), first
    p = run("run", "--section", "xdp/second", "--backend", "uvm", obj, check=0)
    assert "prog.bpf.o:b" in p.stdout and "prog.bpf.o:a" not in p.stdout
    p = run("run", "--section", "a", "--backend", "uvm", obj, check=0)  # or the program's name
    assert "prog.bpf.o:a" in p.stdout and "prog.bpf.o:b" not in p.stdout
    p = run("run", "--section", "nosuch", obj)
    assert p.returncode == 2 and "nosuch" in p.stdout
