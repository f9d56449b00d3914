"""Robust under real use: odd files and directories, bad option values, full disks,
closed pipes, control characters from outside. Every test here failed on the code
before issue 14 (see each docstring for what it did then)."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import BPFDIFF, BPFDIFF_SAN, BUILD, CONFORMANCE, IN_CI, ROOT, SUITE, run, write_case

ADD = SUITE / "add.data"
BOTH = pytest.mark.parametrize("binary", [BPFDIFF, BPFDIFF_SAN], ids=["plain", "asan+ubsan"])
SAN_REPORTS = ("runtime error", "AddressSanitizer", "LeakSanitizer")


def sh(cmd, timeout=60, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)


def no_sanitizer_report(p):
    for s in SAN_REPORTS:
        assert s not in p.stderr, p.stderr[-3000:]


def without_dac_override(cmd):
    """cmd, run so that file permissions apply: root loses CAP_DAC_OVERRIDE/READ_SEARCH."""
    if os.geteuid() != 0:
        return [str(c) for c in cmd]
    return ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", *map(str, cmd)]


def good_case(path, r0=7):
    return write_case(path, f"-- asm\nmov %r0, {r0}\nexit\n-- result\n{hex(r0)}\n")


_TMPFS_OK = None


def tmpfs_available():
    global _TMPFS_OK
    if _TMPFS_OK is None:
        p = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True, text=True)
        _TMPFS_OK = p.returncode == 0
    if not _TMPFS_OK:
        if IN_CI:
            pytest.fail("CI runs as root: a private tmpfs must be mountable for the full-disk tests")
        pytest.skip("cannot mount a tmpfs here (needs root); the full-disk tests need one")


def on_full_disk(mountpoint, script, size="64k", timeout=120):
    """Run a shell script with a small tmpfs mounted at mountpoint (in a private mount
    namespace, so nothing leaks) and filled up by $FILL before the script runs. The
    script's own set-up (files that must exist before the disk is full) goes in $PRE."""
    tmpfs_available()
    full = (f"set -u; mount -t tmpfs -o size={size} tmpfs '{mountpoint}' || exit 99; "
            f"{script['pre']}; dd if=/dev/zero of='{mountpoint}/fill' bs=4k 2>/dev/null; "
            f"{script['run']}")
    return subprocess.run(["unshare", "-m", "sh", "-c", full], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


# --- input discovery ----------------------------------------------------------------------

@BOTH
def test_symlink_loop_runs_each_file_once(tmp_path, binary):
    """Before: `run DIR` with a directory symlink loop never finished, and a loop ran the
    same file dozens of times. Now directory symlinks are followed only with --follow; each
    real file runs once; the loop is reported once."""
    d = tmp_path / "d"
    (d / "a").mkdir(parents=True)
    good_case(d / "a" / "one.data")
    (d / "a" / "loop").symlink_to("..")          # d/a/loop -> d
    (d / "a" / "zz-alias.data").symlink_to("one.data")
    (d / "b").mkdir()
    (d / "b" / "to-a").symlink_to("../a")
    p = run("run", "--backend", "uvm", d, binary=binary, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("PASS") == 1, p.stdout
    assert "symlink to a directory, not followed (--follow" in p.stderr
    assert "zz-alias.data: the same file as an earlier input" in p.stderr
    p = run("run", "--backend", "uvm", "--follow", d, binary=binary, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("PASS") == 1, p.stdout
    assert p.stderr.count("symlink loop") == 1, p.stderr
    assert re.search(r"a/loop: symlink loop back to \S*/d\b", p.stderr), p.stderr
    assert "b/to-a: the same directory as" in p.stderr
    no_sanitizer_report(p)


def test_same_file_twice_on_the_command_line_runs_once(tmp_path):
    f = good_case(tmp_path / "x.data")
    p = run("run", "--backend", "uvm", f, f, tmp_path, check=0)
    assert p.stdout.count("PASS") == 1, p.stdout


def test_fifo_socket_and_device_are_skipped_with_a_message(tmp_path):
    """Before: a FIFO named *.data under a directory hung the run forever."""
    good_case(tmp_path / "a.data")
    os.mkfifo(tmp_path / "b-fifo.data")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "c-sock.data"))
    fifo2 = tmp_path / "top.fifo"
    os.mkfifo(fifo2)
    try:
        p = run("run", "--backend", "uvm", tmp_path, fifo2, "/dev/null", timeout=30)
    finally:
        s.close()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("PASS") == 1
    assert "b-fifo.data: a FIFO, not an input: skipped" in p.stderr
    assert "c-sock.data: a socket, not an input: skipped" in p.stderr
    assert "top.fifo: a FIFO, not an input: skipped" in p.stderr
    assert "/dev/null: a character device, not an input: skipped" in p.stderr


def test_only_special_files_is_no_cases(tmp_path):
    os.mkfifo(tmp_path / "x.data")
    p = run("run", "--backend", "uvm", tmp_path, timeout=30)
    assert p.returncode == 2 and "no cases found" in p.stderr


def test_unreadable_subdirectory_and_file_are_errors(tmp_path):
    """Before: an unreadable subdirectory was silently skipped and the run exited 0."""
    good_case(tmp_path / "a.data")
    sub = tmp_path / "locked"
    sub.mkdir()
    good_case(sub / "hidden.data")
    good_case(tmp_path / "unreadable.data")
    (tmp_path / "unreadable.data").chmod(0)
    sub.chmod(0)
    try:
        p = sh(without_dac_override([BPFDIFF, "run", "--backend", "uvm", tmp_path]))
    finally:
        sub.chmod(0o755)
    assert p.returncode == 2, p.stdout + p.stderr
    assert re.search(r"INPUT-ERROR\s+\S*/locked: cannot read directory: Permission denied", p.stdout), p.stdout
    assert re.search(r"INPUT-ERROR\s+\S*/unreadable.data: Permission denied", p.stdout), p.stdout
    assert re.search(r"PASS\s+\S*/a.data", p.stdout)


def test_unreadable_top_level_directory_says_so(tmp_path):
    d = tmp_path / "top"
    d.mkdir()
    good_case(d / "a.data")
    d.chmod(0)
    try:
        p = sh(without_dac_override([BPFDIFF, "run", "--backend", "uvm", d]))
    finally:
        d.chmod(0o755)
    assert p.returncode == 2
    assert f"{d}: cannot read directory: Permission denied" in p.stdout


@BOTH
def test_directories_without_cases_under_sanitizers(tmp_path, binary):
    """Before: an empty subdirectory passed a null pointer to memcpy/qsort (UBSan abort)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "deeper" / "empty").mkdir(parents=True)
    (tmp_path / "only-notes").mkdir()
    (tmp_path / "only-notes" / "README.md").write_text("no cases here\n")
    good_case(tmp_path / "nested" / "one.data")
    p = run("run", "--backend", "uvm", tmp_path, binary=binary)
    assert p.returncode == 0, p.stdout + p.stderr
    no_sanitizer_report(p)
    p = run("run", "--backend", "uvm", tmp_path / "empty", tmp_path / "only-notes", binary=binary)
    assert p.returncode == 2 and "no cases found" in p.stderr
    no_sanitizer_report(p)
    p = run("coverage", tmp_path / "empty", binary=binary)
    no_sanitizer_report(p)


def test_text_file_named_o_is_an_input_error(tmp_path):
    """Before: a text file named *.o was parsed as .data (and could pass)."""
    (tmp_path / "prog.o").write_text("-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n")
    p = run("run", "--backend", "uvm", tmp_path, check=2)
    assert "prog.o: not an ELF object" in p.stdout


@pytest.mark.parametrize("cmd", ["asm", "disasm"])
def test_endless_input_is_capped(cmd):
    """Before: `asm /dev/zero` grew memory without bound."""
    p = run(cmd, "/dev/zero", timeout=60)
    assert p.returncode == 2
    assert "/dev/zero: more than the input limit of 64 MiB" in p.stderr


def test_disasm_of_a_directory_says_so():
    """Before: `disasm .` said 'Input/output error'."""
    p = run("disasm", ".", check=2)
    assert "is a directory" in p.stderr


@BOTH
def test_truncated_elf_says_truncated(tmp_path, binary):
    """Before: a truncated ELF object was 'no executable sections'."""
    src = tmp_path / "p.bpf.c"
    src.write_text('__attribute__((section("xdp"), used)) int f(void *c) { (void)c; return 1; }\n')
    obj = tmp_path / "p.o"
    subprocess.run(["clang-14", "-O2", "-target", "bpf", "-c", src, "-o", obj], check=True)
    data = obj.read_bytes()
    for n in (20, 64, 200, len(data) - 1):
        cut = tmp_path / f"cut{n}.o"
        cut.write_bytes(data[:n])
        p = run("run", "--backend", "uvm", cut, binary=binary)
        assert p.returncode == 2, p.stdout
        assert "truncated ELF" in p.stdout, (n, p.stdout)
        no_sanitizer_report(p)


def test_elf_section_names_are_escaped(tmp_path):
    """Before: a section name with an escape sequence reached the terminal raw."""
    src = tmp_path / "p.bpf.c"
    src.write_text('__attribute__((section("xdp/\\033[2J\\007bell"), used)) int f(void *c) { (void)c; return 1; }\n')
    obj = tmp_path / "p.o"
    subprocess.run(["clang-14", "-O2", "-target", "bpf", "-c", src, "-o", obj], check=True)
    p = run("run", "--backend", "uvm", obj, check=0)
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    assert "p.o:f" in p.stdout  # an object's cases are OBJECT:PROGRAM (README "ELF objects")
    p = run("run", "--backend", "uvm", "--section", "xdp/\x1b[2J", obj, check=2)
    assert "\x1b" not in p.stdout + p.stderr and r"'xdp/\x1b[2J'" in p.stdout + p.stderr
    p = run("disasm", obj, check=0)  # "# program f (section ...)"
    assert "\x1b" not in p.stdout and r"xdp/\x1b[2J\x07bell" in p.stdout


# --- CLI validation -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["uvm", "kernel", "xdp", "plugin", "plugin:./vm", "uvm:alu32-no-zext",
                                  "guest:arm64", "guest:s390x-interp", "guest:*", "k*", "*", "kernel:sched_cls"])
def test_expect_accepts_backend_names_and_globs(tmp_path, name):
    f = write_case(tmp_path / "x.data", f"-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n-- expect {name}\n# why\nok\n")
    p = run("run", "--backend", "uvm", f)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("name,why", [("kernal", "unknown backend 'kernal'"), ("guest", "a guest is guest:ARCH"),
                                      ("guest:Arm!", "guest:ARCH"), ("xdp:foo", "xdp takes no argument"),
                                      ("uvm:", "nothing after"), ("z*", "unknown backend")])
def test_expect_with_an_unknown_backend_is_an_input_error(tmp_path, name, why):
    """Before: `-- expect kernal` silently turned the expectation off."""
    f = write_case(tmp_path / "x.data",
                   f"-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n-- expect {name}\n# why\nrejected\n")
    p = run("run", "--backend", "uvm", f, check=2)
    assert re.search(r"x\.data:6: -- expect \S+: .*" + re.escape(why), p.stdout), p.stdout


def test_known_differences_with_an_unknown_backend_is_an_error(tmp_path):
    k = tmp_path / "known.txt"
    k.write_text("kernal  *.data  rejected  # typo\n")
    p = run("run", "--backend", "uvm", "--known", k, ADD, check=2)
    assert "known.txt:1: unknown backend 'kernal'" in p.stderr


@pytest.mark.parametrize("value", ["abc", "-5", "0", "12x", "", "99999999999"])
def test_numeric_options_are_validated(value):
    """Before: `minimize --max-runs abc` ran with 0 (the default)."""
    p = run("minimize", "--max-runs", value, ADD, "--backend", "uvm", check=2)
    assert f"--max-runs takes a whole number from 1 to 1000000000, not '{value}'" in p.stderr


def test_too_many_known_files_is_an_error(tmp_path):
    k = tmp_path / "k.txt"
    k.write_text("")
    args = []
    for _ in range(17):
        args += ["--known", k]
    p = run("run", "--backend", "uvm", *args, ADD, check=2)
    assert "at most 16 --known" in p.stderr


@pytest.mark.parametrize("line,msg", [
    ("mov %r0 1", "missing ',' between operands '%r0' and '1'"),
    ("add %r0, %r1 %r2", "missing ',' between operands '%r1' and '%r2'"),
    ("mov %r0,, 1", "empty operand before '1'"),
    ("mov %r0, 1,", "trailing ','"),
    ("mov, %r0, 1", "unexpected ',' before the first operand"),
    ("lock, add [%r10-8], %r1", "unexpected ',' before 'add'"),
    ("stxdw [%r10 - 8] %r1", "missing ','"),
])
def test_operands_need_commas(tmp_path, line, msg):
    """Before: `mov %r0 1` assembled as if the comma were there."""
    f = tmp_path / "p.s"
    f.write_text(line + "\nexit\n")
    p = run("asm", f, check=2)
    assert f"p.s:1: {msg}" in p.stderr, p.stderr


def test_mnemonic_words_still_take_blanks(tmp_path):
    f = tmp_path / "p.s"
    f.write_text("stdw [%r10-8], 0\nmov %r1, 1\nlock fetch add [%r10 - 8], %r1\nlock add32 [%r10-8], %r1\n"
                 "call local fn\nexit\nfn:\nmov %r0, 2\nexit\n")
    run("asm", "--hex", f, check=0)


# --- unprivileged: messages and CI=true -----------------------------------------------------

def unprivileged(cmd):
    """cmd without any capability (no BPF), as root would run it otherwise."""
    if os.geteuid() != 0:
        return [str(c) for c in cmd]
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *map(str, cmd)]


def test_unprivileged_messages_end_with_the_reason_and_no_raw_libbpf():
    """Before: 'cannot load the xdp VM (Operation not permitted, ...): ' ended with ': ', and
    libbpf's own 'libbpf: Error in bpf_object__probe_loading()' lines reached stderr raw."""
    p = sh(unprivileged([BPFDIFF, "info"]))
    xdp = next(l for l in p.stdout.splitlines() if l.startswith("xdp"))
    assert "unavailable" in xdp, xdp
    assert xdp.endswith("(needs root, or CAP_BPF+CAP_NET_ADMIN)"), xdp
    assert "Operation not permitted" in xdp
    p = sh(unprivileged([BPFDIFF, "run", ADD]))
    assert not re.search(r"^libbpf:", p.stderr, re.M), p.stderr
    p = sh(unprivileged([BPFDIFF, "run", "-v", ADD]))
    assert "bpfdiff: xdp: libbpf:" in p.stderr or "libbpf" not in p.stderr


def test_ci_true_makes_unavailable_backends_an_error_for_coverage():
    """Before: `CI=true bpfdiff coverage --backend uvm,kernel` exited 0 with kernel unavailable."""
    env = dict(os.environ, CI="true")
    p = sh(unprivileged([BPFDIFF, "coverage", "--backend", "uvm,kernel", CONFORMANCE]), env=env)
    assert p.returncode == 1, p.stderr
    assert "backend kernel unavailable" in p.stderr and "under CI=true" in p.stderr
    env["CI"] = "false"
    p = sh(unprivileged([BPFDIFF, "coverage", "--backend", "uvm,kernel", CONFORMANCE]), env=env)
    assert p.returncode == 0, p.stderr


def test_ci_true_makes_unavailable_backends_an_error_for_fuzz_replay(tmp_path):
    """Before: bpf_diff_replay under CI=true replayed on whatever backends were there."""
    replay = BUILD / "fuzz" / "bpf_diff_replay"
    good_case(tmp_path / "a.data")
    env = dict(os.environ, CI="true", BPFDIFF_BACKENDS="uvm,kernel", BPFDIFF_FINDS="")
    p = sh(unprivileged([replay, tmp_path]), env=env)
    assert p.returncode != 0, p.stdout + p.stderr
    assert "unavailable under CI=true" in p.stderr
    env["CI"] = "false"
    p = sh(unprivileged([replay, tmp_path]), env=env)
    assert p.returncode == 0, p.stdout + p.stderr


# --- outputs --------------------------------------------------------------------------------

def test_unwritable_report_path_is_found_before_the_run(tmp_path):
    """Before: the run went through every case first, then failed to write the report."""
    p = run("run", "--backend", "uvm", "--json", tmp_path / "no" / "such" / "r.json", SUITE)
    assert p.returncode == 2
    assert "cannot create a file in" in p.stderr and "No such file or directory" in p.stderr
    assert "PASS" not in p.stdout  # nothing ran
    p = run("run", "--backend", "uvm", "--junit", tmp_path, SUITE, check=2)
    assert "is a directory" in p.stderr and "PASS" not in p.stdout
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    p = sh(without_dac_override([BPFDIFF, "run", "--backend", "uvm", "--markdown", ro / "s.md", ADD]))
    assert p.returncode == 2 and "Permission denied" in p.stderr and "PASS" not in p.stdout


def test_a_report_that_cannot_be_written_exits_2_even_if_another_was(tmp_path):
    md = tmp_path / "s.md"
    p = run("run", "--backend", "uvm", "--json", "/dev/full", "--markdown", md, ADD, check=2)
    assert "cannot write the json report: /dev/full: No space left on device" in p.stderr
    assert "all green" in md.read_text()


def test_reports_leave_no_temporary_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run("run", "--backend", "uvm", "--json", out / "r.json", "--junit", out / "r.xml", "--markdown",
        out / "r.md", ADD, check=0)
    assert sorted(p.name for p in out.iterdir()) == ["r.json", "r.md", "r.xml"]


def test_report_through_a_symlink_replaces_the_target(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run("run", "--backend", "uvm", "--json", link, ADD, check=0)
    assert link.is_symlink() and json.loads(real.read_text())["summary"]["cases"] == 1


def test_report_to_stdout_device_is_written_directly():
    p = run("run", "-q", "--backend", "uvm", "--json", "/dev/stdout", ADD, check=0)
    assert '"cases": [' in p.stdout


def test_full_disk_keeps_the_old_report_and_exits_2(tmp_path):
    """Before: a full disk left a truncated report in place of the old one, exit 1."""
    m = tmp_path / "m"
    m.mkdir()
    p = on_full_disk(m, {
        "pre": f"echo OLD > {m}/r.json; echo OLD > {m}/r.xml",
        "run": f"{BPFDIFF} run -q --backend uvm --json {m}/r.json --junit {m}/r.xml {SUITE} >/dev/null; "
               f"echo rc=$?; ls -a {m}; cat {m}/r.json {m}/r.xml"})
    assert p.returncode != 99, p.stderr
    assert "rc=2" in p.stdout, p.stdout + p.stderr
    assert "cannot write the json report" in p.stderr and "No space left on device" in p.stderr
    assert "cannot write the junit report" in p.stderr
    assert "an existing file is unchanged" in p.stderr
    listing = p.stdout.split("rc=2", 1)[1]
    assert ".r.json." not in listing and ".r.xml." not in listing  # no temporary file left
    assert listing.rstrip().endswith("OLD\nOLD"), listing


def test_full_disk_for_asm_and_minimize_output(tmp_path):
    """Before: `asm -o` opened OUT in place: a full disk left an empty or partial file."""
    m = tmp_path / "m"
    m.mkdir()
    mut = BUILD / "bpfdiff-mutants"
    p = on_full_disk(m, {
        "pre": f"echo OLD > {m}/p.bin; echo OLD > {m}/min.data",
        "run": f"{BPFDIFF} asm -o {m}/p.bin {SUITE}/lddw.data; echo asm=$?; "
               f"{mut} minimize --backend uvm,uvm:alu32-no-zext --max-runs 50 -o {m}/min.data {ALU32_CASE}; "
               f"echo min=$?; cat {m}/p.bin {m}/min.data; ls -a {m}"})
    assert "asm=2" in p.stdout and "min=2" in p.stdout, p.stdout + p.stderr
    assert "bpfdiff asm: " in p.stderr and "No space left on device" in p.stderr
    assert "bpfdiff minimize: " in p.stderr
    assert "OLD\nOLD\n" in p.stdout
    assert ".p.bin." not in p.stdout and ".min.data." not in p.stdout


# A case the alu32-no-zext mutant gets wrong (minimize needs a discrepancy).
ALU32_CASE = CONFORMANCE / "add32-imm-clears-upper.data"


@pytest.mark.parametrize("args", [
    ["disasm", SUITE / "lddw.data"], ["asm", "--hex", SUITE / "lddw.data"], ["run", "--backend", "uvm", ADD],
    ["coverage", CONFORMANCE], ["info"]])
def test_stdout_on_a_full_disk_is_an_error(args):
    """Before: `disasm F > /dev/full` exited 0."""
    with open("/dev/full", "w") as full:
        p = subprocess.run([str(BPFDIFF), *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True,
                           cwd=ROOT, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "bpfdiff: standard output: No space left on device" in p.stderr


def test_minimize_to_a_closed_pipe_is_an_error(tmp_path):
    """Before: SIGPIPE killed it without a word (or the write error was ignored)."""
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([str(BUILD / "bpfdiff-mutants"), "minimize", "--backend", "uvm,uvm:alu32-no-zext",
                        "--max-runs", "50", str(ALU32_CASE)], stdout=w, stderr=subprocess.PIPE, text=True,
                       cwd=ROOT, timeout=120)
    os.close(w)
    assert p.returncode == 2, p.stderr
    assert "standard output: Broken pipe" in p.stderr


# --- control characters and encodings from outside ------------------------------------------

NASTY = "esc\x1b[31m bell\x07 nul-ish\x01 del\x7f caf\u00e9 \u2028 "


def nasty_plugin(tmp_path):
    """A plugin whose error message has control characters, invalid UTF-8 and valid UTF-8."""
    plug = tmp_path / "nasty.sh"
    plug.write_bytes(b"#!/bin/sh\ncat >/dev/null\nprintf 'fault: esc\\033[31m bell\\007 \\001 del\\177 "
                     b"bad\\377\\376 caf\\303\\251 ls\\342\\200\\250 end' >&2\nexit 1\n")
    plug.chmod(0o755)
    return plug


def test_plugin_output_is_escaped_everywhere(tmp_path):
    """Before: a plugin's message reached the terminal raw, made the JSON report invalid
    UTF-8 (bytes >= 0x80 as \\u00XX each) and the JUnit report invalid XML."""
    plug = nasty_plugin(tmp_path)
    js, xm, md = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.md"
    p = subprocess.run([str(BPFDIFF), "run", "--backend", f"uvm,plugin:{plug}", "--json", str(js), "--junit",
                        str(xm), "--markdown", str(md), str(ADD)], capture_output=True, cwd=ROOT, timeout=60)
    out = p.stdout
    for ctl in (b"\x1b", b"\x07", b"\x01", b"\x7f", b"\xff"):
        assert ctl not in out, out
    assert rb"esc\x1b[31m bell\x07 \x01 del\x7f bad\xff\xfe caf" in out, out
    assert "caf\u00e9".encode() in out  # valid UTF-8 is kept
    rep = json.loads(js.read_bytes().decode("utf-8"))  # strict UTF-8
    msg = rep["cases"][0]["results"][f"plugin:{plug}"]["message"]
    assert "\\x1b[31m" in msg and "caf\u00e9" in msg and "\x1b" not in msg
    root = ET.parse(xm).getroot()
    assert root.findall(".//failure"), xm.read_text()
    assert b"\x1b" not in md.read_bytes()


def test_json_and_junit_stay_valid_for_any_bytes(tmp_path):
    """Messages from the .data file itself (an expected error with control characters and
    stray bytes) go through the same escaping: JSON is strict UTF-8, JUnit parses."""
    f = tmp_path / "e.data"
    f.write_bytes(b"-- asm\nmov %r0, 1\nexit\n-- error\nwant \x02 this \xc3\x28 and \xef\xbf\xbe, \xe2\x82\xac\n")
    js, xm = tmp_path / "r.json", tmp_path / "r.xml"
    p = subprocess.run([str(BPFDIFF), "run", "--backend", "uvm", "--json", str(js), "--junit", str(xm), str(f)],
                       capture_output=True, cwd=ROOT, timeout=60)
    assert p.returncode == 1, p.stdout
    assert b"\x02" not in p.stdout and b"\xc3\x28" not in p.stdout and rb"\x02 this \xc3(" in p.stdout
    rep = json.loads(js.read_bytes().decode("utf-8"))
    e = rep["cases"][0]["expected_error"]
    assert "\x02" in e and "\ufffd(" in e and "\u20ac" in e
    ET.parse(xm)
    text = xm.read_bytes().decode("utf-8")
    assert "\\x02" in text and "\u20ac" in text


# --- issue 9, item 7: allocation failures, double fclose, finds disabled ---------------------

FAILALLOC = BUILD / "testlib" / "failalloc.so"


def realloc_failure_sweep(cmd, env=None, clean_rc=0, max_n=40):
    """Run cmd once per large realloc() it makes, failing that one (tests/unit/failalloc.c).
    Each failure must end in an "out of memory" message and a failing exit code, never a
    crash, a hang or a clean exit that lost part of the input. Returns how many there were."""
    assert FAILALLOC.exists(), f"{FAILALLOC} is not built (make test builds it)"
    for n in range(1, max_n):
        e = dict(os.environ, **(env or {}), LD_PRELOAD=str(FAILALLOC), FAILALLOC_NTH=str(n))
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=e, cwd=ROOT, timeout=120)
        if "failalloc: failed" not in p.stderr:
            assert p.returncode == clean_rc, p.stdout[-2000:] + p.stderr[-2000:]
            return n - 1
        assert p.returncode > 0, f"realloc #{n} failed: exit {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        assert p.returncode != clean_rc, f"realloc #{n} failed, yet a normal exit:\n{p.stdout[-2000:]}"
        assert "out of memory" in p.stdout + p.stderr, f"realloc #{n}:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    pytest.fail(f"more than {max_n} large reallocs")


def test_run_survives_every_failed_realloc():
    """Before: the run log grew `cap` before realloc succeeded, so the next push wrote
    through a NULL array (a crash), after a case had been dropped without a word."""
    n = realloc_failure_sweep([BPFDIFF, "run", "-q", "--backend", "uvm", CONFORMANCE])
    assert n >= 2  # the directory listing (hundreds of names) grows twice past the threshold


def test_fuzz_replay_survives_every_failed_realloc():
    """Before: bpf_diff_replay lost its list of names on a failed realloc and replayed
    nothing, exit 0."""
    n = realloc_failure_sweep([BUILD / "fuzz" / "bpf_diff_replay", CONFORMANCE],
                              env={"BPFDIFF_BACKENDS": "uvm", "BPFDIFF_FINDS": ""})
    assert n >= 1


def test_data2input_write_error_is_reported(tmp_path):
    """Before: a failed fclose (here: the seed file is a link to /dev/full) was followed by a
    second fclose of the same FILE (double free)."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ADD, src / "add.data")
    shutil.copy(SUITE / "lddw.data", src / "lddw.data")
    out = tmp_path / "out"
    out.mkdir()
    (out / "src-add.bin").symlink_to("/dev/full")
    p = sh([BUILD / "fuzz" / "data2input", out, src])
    assert p.returncode == 1, p.stderr
    assert "cannot write" in p.stderr and "No space left on device" in p.stderr
    assert "1 inputs written" in p.stderr and "1 not written" in p.stderr
    assert (out / "src-lddw.bin").stat().st_size > 0


def test_fuzz_variants_are_not_written_when_finds_are_disabled(tmp_path):
    """Before: with finds disabled (replay, BPFDIFF_FINDS unset) the fuzz target still wrote
    variants into ./corpus/variants."""
    plug = tmp_path / "const.sh"
    plug.write_text("#!/bin/sh\ncat >/dev/null\necho 0x1234\n")
    plug.chmod(0o755)
    seeds = tmp_path / "seeds"
    src = tmp_path / "src"
    src.mkdir()
    for name in ("add.data", "lddw.data", "mul64-imm.data"):
        shutil.copy(SUITE / name, src / name)
    assert sh([BUILD / "fuzz" / "data2input", seeds, src]).returncode == 0
    work = tmp_path / "cwd"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BPFDIFF_FINDS"}
    env.update(BPFDIFF_BACKENDS=f"uvm,plugin:{plug}", BPFDIFF_MINIMIZE="0", BPFDIFF_MAX_FINDS_PER_KEY="1")
    p = subprocess.run([str(BUILD / "fuzz" / "bpf_diff_replay"), str(seeds)], capture_output=True, text=True,
                       env=env, cwd=work, timeout=120)
    assert "3 raw inputs" in p.stdout, p.stdout + p.stderr
    assert not (work / "corpus").exists(), list(work.rglob("*"))
    # The same run with finds kept does reach the variants (the test exercises that path).
    env["BPFDIFF_FINDS"] = str(tmp_path / "finds")
    p = subprocess.run([str(BUILD / "fuzz" / "bpf_diff_replay"), str(seeds)], capture_output=True, text=True,
                       env=env, cwd=work, timeout=120)
    assert list((tmp_path / "finds" / "variants").glob("variant-*.bin")), p.stdout + p.stderr
    assert not (work / "corpus").exists()


# --- streaming: one case at a time -------------------------------------------------------------

def test_run_streams_lines_as_cases_complete(tmp_path):
    """Lines come out while the run goes on (parse, run, print, free), not after the last case:
    with its reader gone, the run stops at once with a message instead of running every case."""
    d = tmp_path / "many"
    d.mkdir()
    for i in range(3000):
        good_case(d / f"c{i:05d}.data", r0=i % 100)
    p = subprocess.Popen([str(BPFDIFF), "run", "--backend", "uvm", str(d)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
    first = p.stdout.readline()
    assert first.startswith("PASS") and "c00000.data" in first
    p.stdout.close()  # the reader goes away, as with `| head -1`
    err = p.stderr.read()
    assert p.wait(timeout=60) == 2, err
    m = re.search(r"standard output: Broken pipe; stopped after (\d+) cases", err)
    assert m and int(m.group(1)) < 3000, err


def test_reports_hold_every_case_even_when_stdout_is_gone(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(300):
        good_case(d / f"c{i:05d}.data", r0=i)
    js, xm = tmp_path / "r.json", tmp_path / "r.xml"
    p = subprocess.Popen([str(BPFDIFF), "run", "--backend", "uvm", "--json", str(js), "--junit", str(xm), str(d)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=60) == 2, err
    rep = json.loads(js.read_text())
    assert rep["summary"]["cases"] == 300 and len(rep["cases"]) == 300
    assert [c["file"] for c in rep["cases"]] == sorted(str(f) for f in d.iterdir())
    root = ET.parse(xm).getroot()
    assert root.get("tests") == "300" and len(root.findall(".//testcase")) == 300


def test_junit_groups_testcases_by_backend_in_case_order(tmp_path):
    """JUnit is written per backend while cases come one at a time (each backend's part
    goes to a scratch file next to the report): the order and the totals are the cases'."""
    for i in range(5):
        good_case(tmp_path / f"c{i}.data", r0=i)
    write_case(tmp_path / "c9-bad.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n")
    xm = tmp_path / "out" / "r.xml"
    xm.parent.mkdir()
    run("run", "--backend", "uvm,uvm:alu32-no-zext", "--junit", xm, tmp_path, binary=BUILD / "bpfdiff-mutants",
        check=1)
    root = ET.parse(xm).getroot()
    assert root.get("tests") == "12" and root.get("failures") == "2"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["uvm", "uvm:alu32-no-zext"]
    for s in suites:
        names = [c.get("name") for c in s.findall("testcase")]
        assert names == sorted(names) and len(names) == 6 and names[-1].endswith("c9-bad.data")
    assert list(xm.parent.iterdir()) == [xm]  # no scratch file left behind


def test_interrupted_run_leaves_no_temporary_file_and_keeps_the_old_report(tmp_path):
    """Ctrl-C in the middle of a run: the report being written is a temporary file, which
    the signal removes; the report from before stays as it was."""
    import signal
    import time
    plug = tmp_path / "slow.sh"
    plug.write_text("#!/bin/sh\ncat >/dev/null\nsleep 0.2\necho 0x7\n")
    plug.chmod(0o755)
    cases = tmp_path / "cases"
    cases.mkdir()
    for i in range(50):
        good_case(cases / f"c{i:02d}.data")
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("OLD")
    p = subprocess.Popen([str(BPFDIFF), "run", "--backend", f"uvm,plugin:{plug}", "--json", str(out / "r.json"),
                          str(cases)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    end = time.monotonic() + 30
    while time.monotonic() < end and len(list(out.iterdir())) < 2:
        time.sleep(0.05)
    assert len(list(out.iterdir())) == 2  # r.json and the temporary file being written
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    assert p.returncode == -signal.SIGINT
    assert [f.name for f in out.iterdir()] == ["r.json"] and (out / "r.json").read_text() == "OLD"
