"""Interoperability through the bpf_conformance plugin contract.

(a) `bpfdiff plugin` driven exactly as bpf_conformance's runner drives a plugin;
(b) its input and usage errors;
(c) external VMs as a bpfdiff backend (`--backend plugin:PATH`): tests/plugin/tinyvm.py agrees
    with uvm, and a broken plugin is reported as a discrepancy.

The runner (bpf_conformance src/bpf_conformance.cc) starts PLUGIN_PATH with argv
[MEMORY_HEX if the test has memory] + --plugin_options split on single spaces, writes the
program as "%02x  " per byte plus a newline to stdin, closes it, and parses stdout with
std::stoull(s, nullptr, 16). Older runners passed the options as one argument, after the
memory, and the memory even when empty.
"""
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import time

import pytest

from conftest import BPFDIFF, BUILD, IN_CI, ROOT, SUITE, need, run, write_case

TINYVM = ROOT / "tests" / "plugin" / "tinyvm.py"
MASK64 = (1 << 64) - 1

# Mnemonics tinyvm implements; suite cases using only these must agree with uvm.
TINY_MNEMONICS = {
    "mov", "mov32", "mov64", "add", "add32", "add64", "sub", "sub32", "sub64", "mul", "mul32",
    "mul64", "or", "or32", "or64", "and", "and32", "and64", "xor", "xor32", "xor64", "lsh",
    "lsh32", "lsh64", "rsh", "rsh32", "rsh64", "neg", "neg32", "neg64", "lddw", "ldxb", "ldxh",
    "ldxw", "ldxdw", "stb", "sth", "stw", "stdw", "stxb", "stxh", "stxw", "stxdw", "ja", "jeq",
    "jne", "jgt", "jge", "jlt", "jle", "exit",
}

RUNNER_CASES = [
    "add.data", "alu64-arith.data", "be16.data", "div32-by-zero-reg.data", "lddw.data",
    "ldxb.data", "ldxdw.data", "stxw.data", "jeq-imm.data", "subnet.data",
    "mul64-intmin-by-negone-reg.data", "neg64-intmin-reg.data",
]


def sections(path):
    """The .data file's sections: name -> text (lines up to the next `-- ` header)."""
    out, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("-- "):
            name = line[3:].strip()
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def program_bytes(path):
    assert BPFDIFF.exists(), f"{BPFDIFF} is missing: build it with `make`"
    p = run("asm", "--hex", path, check=0)
    return bytes.fromhex(p.stdout)


def case_inputs(name):
    path = SUITE / name
    sec = sections(path)
    mem = bytes.fromhex(" ".join(sec.get("mem", "").split()))
    expected = int(sec["result"].split("#")[0].strip(), 0) & MASK64
    return program_bytes(path), mem, expected


def runner_stdin(prog):
    # Exactly the runner's _base_16_encode: "%02x" followed by two spaces, then std::endl.
    return "".join(f"{b:02x}  " for b in prog) + "\n"


def runner_memory_arg(mem):
    return "".join(f"{b:02x}  " for b in mem)


def stoull16(text):
    """std::stoull(text, nullptr, 16): leading space, optional 0x, longest hex prefix."""
    m = re.match(r"\s*(?:0[xX])?([0-9a-fA-F]+)", text)
    assert m, f"stoull would throw on {text!r}"
    return int(m.group(1), 16) & MASK64


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory):
    """What a user gives the runner as --plugin_path: the runner puts the memory first."""
    assert BPFDIFF.exists(), f"{BPFDIFF} is missing: build it with `make`"
    w = tmp_path_factory.mktemp("plugin") / "bpfdiff-plugin"
    w.write_text(f'#!/bin/sh\nexec "{BPFDIFF}" plugin "$@"\n')
    w.chmod(w.stat().st_mode | stat.S_IXUSR)
    return w


def call(argv, stdin=""):
    return subprocess.run([str(a) for a in argv], input=stdin, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def accept_unavailable(p, backend):
    """kernel/xdp may be unavailable outside CI; then the plugin says so and exits 1."""
    if p.returncode == 1 and p.stderr.startswith("unavailable:"):
        assert not IN_CI, f"backend {backend} unavailable in CI: {p.stderr}"
        assert p.stdout == ""
        return True
    return False


# (a) ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["uvm", "kernel", "xdp"])
@pytest.mark.parametrize("case", RUNNER_CASES)
def test_runner_drives_bpfdiff_plugin(wrapper, backend, case):
    prog, mem, expected = case_inputs(case)
    argv = [wrapper] + ([runner_memory_arg(mem)] if mem else []) + f"--backend {backend}".split(" ")
    p = call(argv, runner_stdin(prog))
    if accept_unavailable(p, backend):
        return
    assert p.returncode == 0, f"{case} on {backend}: exit {p.returncode}: {p.stderr}"
    assert re.fullmatch(r"[0-9a-f]+\n", p.stdout), repr(p.stdout)
    assert stoull16(p.stdout) == expected, f"{case} on {backend}: {p.stdout!r} != {expected:#x}"


@pytest.mark.parametrize("case", ["ldxb.data", "add.data"])
def test_older_runner_argv_shape(wrapper, case):
    """Older runners: memory always (maybe empty) and the options as ONE argument."""
    prog, mem, expected = case_inputs(case)
    p = call([wrapper, runner_memory_arg(mem), "--backend uvm"], runner_stdin(prog))
    assert p.returncode == 0, p.stderr
    assert stoull16(p.stdout) == expected
    # Empty --plugin_options: the runner's split yields an empty token.
    p = call([wrapper, runner_memory_arg(mem), ""], runner_stdin(prog))
    assert p.returncode == 0, p.stderr
    assert stoull16(p.stdout) == expected


def test_cli_forms_and_program_option():
    prog, mem, expected = case_inputs("ldxb.data")
    hexprog = prog.hex(" ")
    for argv, stdin in [
        (["plugin", "--backend", "uvm", mem.hex(" ")], hexprog),
        (["plugin", mem.hex(" "), "--backend=uvm"], hexprog + "\n"),
        (["plugin", "--program", hexprog, mem.hex(" ")], ""),
        (["plugin", "--cpu", "v4", "--program", prog.hex(), mem.hex()], ""),   # no spaces at all
        (["plugin", mem.hex(" ")], "\n".join(prog.hex(" ")[i:i + 24] for i in range(0, len(hexprog), 24))),
    ]:
        p = run(*argv, input=stdin)
        assert p.returncode == 0, f"{argv}: {p.stderr}"
        assert p.stdout == f"{expected:x}\n"


def test_full_64bit_r0():
    prog, mem, expected = case_inputs("lddw.data")
    p = run("plugin", "--program", prog.hex(" "), check=0)
    assert int(p.stdout, 16) == expected


def test_platform_ubpf_makes_helper_5_unwind():
    # mov r1, 0; call 5; mov r0, 9; exit: ubpf's unwind of 0 ends the program with r0 = 0,
    # where Linux's helper 5 (bpf_ktime_get_ns) would return and r0 would be 9.
    prog = "b7 01 00 00 00 00 00 00 85 00 00 00 05 00 00 00 b7 00 00 00 09 00 00 00 95 00 00 00 00 00 00 00"
    p = run("plugin", "--platform", "ubpf", "--program", prog, check=0)
    assert p.stdout.strip() == "0", p.stdout + p.stderr
    p = run("plugin", "--program", prog, check=0)
    assert p.stdout.strip() == "9", p.stdout + p.stderr
    p = run("plugin", "--platform", "windows", "--program", prog)
    assert p.returncode == 2 and "invalid platform" in p.stderr


def test_vm_errors_exit_1_with_status_on_stderr():
    # ldxb r0, [r1+100] on 2 bytes of memory: a fault in the uvm.
    p = run("plugin", "--program", "71 10 64 00 00 00 00 00 95 00 00 00 00 00 00 00", "01 02")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("fault: "), p.stderr
    # call 26 (bpf_skb_load_bytes): a helper bpfdiff does not model.
    p = run("plugin", "--program", "85 00 00 00 1a 00 00 00 95 00 00 00 00 00 00 00")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("unsupported: "), p.stderr
    # An invalid opcode: the uvm refuses to load it.
    p = run("plugin", "--program", "ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00")
    assert p.returncode == 1 and p.stdout == ""
    assert re.match(r"(rejected|error|fault|unsupported): ", p.stderr), p.stderr


def test_help():
    p = run("plugin", "--help", check=0)
    assert "MEMORY_HEX" in p.stdout and "stdin" in p.stdout


# (b) ----------------------------------------------------------------------------------------

EXIT = "95 00 00 00 00 00 00 00"


@pytest.mark.parametrize("argv,stdin,needle", [
    (["plugin"], "95 00 00 00 00 00 00 0", "odd number of hex digits"),
    (["plugin", "--program", "95 0"], "", "odd number of hex digits"),
    (["plugin", "01 0"], EXIT, "odd number of hex digits"),
    (["plugin", "zz"], EXIT, "invalid hex"),
    (["plugin"], "95 00 00 00 00 00 00 0g", "invalid hex"),
    (["plugin"], "", "no program"),
    (["plugin"], "  \n\t\n", "no program"),
    (["plugin"], "95 00 00 00", "not a multiple of 8"),
    (["plugin", "--backend", "nosuchvm"], EXIT, "unknown backend"),
    (["plugin", "--backend", "uvm,kernel"], EXIT, "exactly one backend"),
    (["plugin", "--backend", "plugin:/nonexistent/vm"], EXIT, "/nonexistent/vm"),
    (["plugin", "--backend"], EXIT, "needs a value"),
    (["plugin", "--cpu", "v9"], EXIT, "cpu"),
    (["plugin", "--frobnicate"], EXIT, "unknown option"),
    (["plugin", "--elf"], EXIT, "ELF"),
    (["plugin", "01", "02"], EXIT, "unexpected argument"),
])
def test_bad_input_exits_2(argv, stdin, needle):
    p = run(*argv, input=stdin)
    assert p.returncode == 2, f"{argv}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert p.stdout == ""
    assert needle in p.stderr, p.stderr


def test_binary_garbage_on_stdin_does_not_crash():
    p = subprocess.run([str(BPFDIFF), "plugin"], input=bytes(range(256)) * 64, capture_output=True,
                       timeout=60, cwd=ROOT)
    assert p.returncode == 2 and p.stderr


# (c) ----------------------------------------------------------------------------------------

def tiny_cases():
    cases = []
    for path in sorted(SUITE.glob("*.data")):
        sec = sections(path)
        if "asm" not in sec or "result" not in sec:
            continue
        words = {line.split("#")[0].split()[0] for line in sec["asm"].splitlines()
                 if line.split("#")[0].strip() and not line.split("#")[0].strip().endswith(":")}
        if words <= TINY_MNEMONICS:
            cases.append(path)
    return cases


def plugin_result(case):
    key = [k for k in case["results"] if k.startswith("plugin:")]
    assert len(key) == 1, case["results"]
    return case["results"][key[0]]


def run_report(tmp_path, backends, *files):
    out = tmp_path / "report.json"
    p = run("run", "--backend", backends, "--json", out, *files)
    assert out.exists(), f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p, json.loads(out.read_text())


def test_tinyvm_agrees_with_uvm_on_the_suite(tmp_path):
    cases = tiny_cases()
    assert len(cases) >= 100, len(cases)
    p, rep = run_report(tmp_path, f"uvm,plugin:{TINYVM.relative_to(ROOT)}", *cases)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(rep["cases"]) == len(cases)
    for c in rep["cases"]:
        assert c["verdict"] == "pass", c
        r = plugin_result(c)
        assert r["status"] == "ok", c
        assert int(r["r0"], 16) == int(c["results"]["uvm"]["r0"], 16), c


def test_tinyvm_statuses_map(tmp_path):
    """tinyvm's "unsupported opcode" is unsupported (not a failure); its faults are faults."""
    div = SUITE / "div64-imm.data"
    fault = tmp_path / "fault.data"
    fault.write_text("-- asm\nldxb %r0, [%r1+100]\nexit\n-- mem\n01 02\n")
    p, rep = run_report(tmp_path, f"uvm,plugin:{TINYVM}", div, fault)
    by_file = {os.path.basename(c["file"]): c for c in rep["cases"]}
    r = plugin_result(by_file["div64-imm.data"])
    assert r["status"] == "unsupported" and "unsupported opcode 0x37" in r["message"], r
    assert by_file["div64-imm.data"]["verdict"] == "pass", by_file["div64-imm.data"]
    c = by_file["fault.data"]
    assert plugin_result(c)["status"] == "fault" and c["results"]["uvm"]["status"] == "fault", c
    assert "discrepancy" not in c["verdict"], c


def test_broken_plugin_fails_and_disagrees(tmp_path, broken_plugin):
    free = tmp_path / "noexpect.data"  # no -- result: only the backends' disagreement counts
    free.write_text("-- asm\nmov %r0, 41\nexit\n")
    cases = [SUITE / "add.data", SUITE / "ldxb.data", free]
    p, rep = run_report(tmp_path, f"uvm,plugin:{broken_plugin}", *cases)
    assert p.returncode == 1, p.stdout + p.stderr
    assert len(rep["cases"]) == 3
    for c in rep["cases"]:
        # against an RFC result the plugin fails the case; without one, the two disagree
        assert c["verdict"] == ("discrepancy" if c["file"].endswith("noexpect.data") else "fail"), c
        assert c["signature"].endswith("|r0") and "plugin:" in c["signature"], c
        assert int(plugin_result(c)["r0"], 16) == int(c["results"]["uvm"]["r0"], 16) + 1, c


# (d) statuses ---------------------------------------------------------------------------------
# bpf_conformance's runner (lib/src/bpf_conformance.cc) knows one failure channel: a non-zero exit,
# whose message is stdout, or stderr when stdout is empty, cut at the first '\r' and stripped of
# trailing whitespace. bpfdiff reads a status out of it (backend_plugin.c classify_failure).

def script_plugin(tmp_path, body, name="p.sh"):
    plugin = tmp_path / name
    plugin.write_text(f"#!/bin/sh\n{body}\n")
    plugin.chmod(0o755)
    return plugin


@pytest.mark.parametrize("script,spec,status,needle,rc", [
    ("exec sleep 60", "plugin", "timeout", "no result after 500 ms", 1),
    ("exec >&- 2>&-; sleep 60", "plugin", "timeout", "no result after 500 ms", 1),  # closes its pipes first
    ("cat >/dev/null; kill -SEGV $$", "plugin", "crash", "signal 11 (Segmentation fault)", 1),
    ("cat >/dev/null; kill -ABRT $$", "plugin", "crash", "signal 6", 1),
    # A wrapper that does not exec its VM: the shell reports the death as exit 139.
    ("cat >/dev/null; sh -c 'kill -SEGV $$'; exit $?", "plugin", "crash", "killed by signal 11", 1),
    ("cat >/dev/null; echo 2a; echo more", "plugin", "error", "no R0 in hex", 1),
    ("exit 3", "plugin", "fault", "status 3 and no message", 1),
    ("exit 3", "plugin+verifier", "rejected", "status 3 and no message", 0),  # libbpf_plugin's way
    # ubpf_plugin prints "Failed to load code: ..." on stdout, exit 1
    ("cat >/dev/null; echo 'Failed to load code: bad'; exit 1", "plugin", "fault", "Failed to load code: bad", 1),
    ("cat >/dev/null; echo 'Failed to load code: bad'; exit 1", "plugin+verifier", "rejected",
     "Failed to load code: bad", 0),
    ("echo on-stdout; echo on-stderr >&2; exit 1", "plugin", "fault", "on-stdout", 1),
    ("echo 'rejected: invalid shift' >&2; exit 1", "plugin", "rejected", "invalid shift", 1),
    ("echo 'rejected: invalid shift' >&2; exit 1", "plugin+verifier", "rejected", "invalid shift", 0),
    ("echo 'error: no such option' >&2; exit 2", "plugin", "error", "error: no such option", 1),
    ("echo 'this form is not supported' >&2; exit 1", "plugin", "unsupported", "not supported", 0),
    ("(sleep 60 &); echo 3", "plugin", "ok", "", 0),  # a leftover child holding the pipes: no wait for it
], ids=["hang", "close-and-hang", "segv", "abort", "wrapper-segv", "junk", "silent-exit",
        "silent-exit-verifier", "ubpf-load", "ubpf-load-verifier", "stdout-first", "rejected",
        "rejected-verifier", "error", "unsupported", "leftover"])
def test_plugin_failure_statuses(tmp_path, script, spec, status, needle, rc):
    plugin = script_plugin(tmp_path, script)
    # Only the hanging plugins get the short timeout: on a loaded machine a shell that crashes
    # (and dumps core) can take longer than 500 ms to die.
    env = dict(os.environ, BPFDIFF_PLUGIN_TIMEOUT="0.5" if status == "timeout" else "20")
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    p = run("run", "--backend", f"uvm,{spec}:{plugin}", "--json", out, SUITE / "add.data", env=env)
    if status == "timeout":
        assert time.monotonic() - t0 < 5, "the plugin backend waited past its timeout"
    c = json.loads(out.read_text())["cases"][0]
    r = plugin_result(c)
    assert r["status"] == status and needle in r["message"], c
    if status == "crash":  # add.data states its result: the crash fails it, signed for dedup
        assert r["signal"] == (6 if "ABRT" in script else 11), r
        assert c["verdict"] == "fail" and "crashed" in c["reason"] and "|status:SIG" in c["signature"], c
    assert p.returncode == rc, c


ERROR_CASE = """-- raw
ff 00 00 00 00 00 00 00
95 00 00 00 00 00 00 00
-- error
{error}
"""


def runner_verdict(expected_error, stdout, stderr, exit_code):
    """bpf_conformance's runner on one plugin run (lib/src/bpf_conformance.cc, bpf_conformance_run)."""
    out = stdout[:-1] if stdout.endswith("\n") else stdout
    err = stderr[:-1] if stderr.endswith("\n") else stderr
    if exit_code == 0:
        return "fail"  # it ran and returned a value where an error was expected
    if not out and err:
        out = err
    if not expected_error:
        return "error"
    out = out.split("\r")[0]
    out = re.sub(r"\s+$", "", out)
    return "pass" if out == expected_error else "fail"


@pytest.mark.parametrize("expected,stdout,stderr,code", [
    # ubpf_plugin's load failure: message on stdout, exit 1
    ("Failed to load code: unknown opcode 0xff at PC 0", "Failed to load code: unknown opcode 0xff at PC 0\n", "", 1),
    # stderr when stdout is empty; trailing whitespace and a CR ending do not count
    ("uBPF error: out of bounds", "", "uBPF error: out of bounds  \r\n", 1),
    # stdout wins over stderr
    ("from stdout", "from stdout\n", "from stderr\n", 1),
    ("from stderr", "from stdout\n", "from stderr\n", 1),
    # a different message, and no error at all
    ("Failed to load code: unknown opcode 0xff at PC 0", "Failed to load code: wrong version\n", "", 1),
    ("Failed to load code: unknown opcode 0xff at PC 0", "0\n", "", 0),
], ids=["stdout", "stderr-trimmed", "stdout-wins", "stderr-loses", "other-message", "no-error"])
def test_error_matches_as_the_runner_does(tmp_path, expected, stdout, stderr, code):
    """A case's `-- error` is matched against the text bpf_conformance's runner compares, and a
    plugin failing with exactly the expected text passes (it used to be verdict `error`)."""
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    plugin = script_plugin(tmp_path, f"cat >/dev/null; cat {tmp_path / 'out'}; cat {tmp_path / 'err'} >&2; exit {code}")
    case = write_case(tmp_path / "e.data", ERROR_CASE.format(error=expected))
    want = runner_verdict(expected, stdout, stderr, code)
    p, rep = run_report(tmp_path, f"plugin:{plugin}", case)
    c = rep["cases"][0]
    assert c["verdict"] == want, (want, c)
    assert p.returncode == (0 if want == "pass" else 1), c


def test_crash_never_meets_an_expected_error(tmp_path):
    plugin = script_plugin(tmp_path, "cat >/dev/null; echo 'invalid opcode' >&2; kill -SEGV $$")
    case = write_case(tmp_path / "e.data", ERROR_CASE.format(error="invalid opcode"))
    p, rep = run_report(tmp_path, f"plugin:{plugin}", case)
    c = rep["cases"][0]
    assert plugin_result(c)["status"] == "crash" and c["verdict"] == "fail", c
    assert "crashed" in c["reason"] and p.returncode == 1, c


def test_long_plugin_paths_named_in_full(tmp_path):
    """The report names each backend as given, however long its path."""
    d = tmp_path / ("x" * 80)
    d.mkdir()
    names = []
    for n in ("one.py", "two.py"):
        (d / n).symlink_to(TINYVM)
        names.append(f"plugin:{d / n}")
    p, rep = run_report(tmp_path, ",".join(["uvm"] + names), SUITE / "add.data")
    assert set(rep["cases"][0]["results"]) == {"uvm", *names}, rep["cases"][0]["results"].keys()
    assert rep["cases"][0]["verdict"] == "pass"


def test_missing_or_unexecutable_plugin_is_a_usage_error(tmp_path):
    notexec = tmp_path / "vm.py"
    notexec.write_text("print(0)\n")
    for path in (tmp_path / "nope", notexec, tmp_path):
        p = run("run", "--backend", f"uvm,plugin:{path}", SUITE / "add.data")
        assert p.returncode == 2, p.stdout + p.stderr
        assert str(path) in p.stderr


def test_bpfdiff_as_a_plugin_of_itself(tmp_path, wrapper):
    """One bpfdiff driving another through the contract: statuses survive the round trip."""
    fault = tmp_path / "fault.data"
    fault.write_text("-- asm\nldxb %r0, [%r1+100]\nexit\n-- mem\n01 02\n")
    p, rep = run_report(tmp_path, f"uvm,plugin:{wrapper}", SUITE / "add.data", SUITE / "be16.data", fault)
    by_file = {os.path.basename(c["file"]): c for c in rep["cases"]}
    assert by_file["add.data"]["verdict"] == "pass"
    assert by_file["be16.data"]["verdict"] == "pass"
    assert plugin_result(by_file["fault.data"])["status"] == "fault", by_file["fault.data"]


# (e) a JIT that segfaults: the whole chain ------------------------------------------------------
# build/plugin/jitcrash (tests/plugin/jitcrash.c) segfaults on `lsh64 rX, 32; arsh64 rX, 32` and
# answers like the uvm otherwise.

JITCRASH = BUILD / "plugin" / "jitcrash"
FUZZ = BUILD / "fuzz"

CRASH_CASE = """-- asm
mov %r0, 1
mov %r3, 5
add %r3, 7
mov %r4, %r3
lsh %r4, 32
arsh %r4, 32
xor %r0, %r4
mul %r0, 3
mov %r5, 9
add %r0, %r5
exit
"""
CRASH_PATTERN = ["lsh %r4, 32", "arsh %r4, 32"]


def jitcrash():
    assert JITCRASH.exists(), f"{JITCRASH} is not built (make test builds it)"
    return JITCRASH


def asm_lines(path):
    text = path.read_text()
    body = text.split("-- asm\n", 1)[1].split("\n-- ", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")]


def test_jitcrash_answers_like_the_uvm_without_the_pattern(tmp_path):
    """The test plugin is what it claims: only the pattern makes it crash."""
    case = write_case(tmp_path / "ok.data", CRASH_CASE.replace("arsh %r4, 32", "arsh %r4, 31"))
    p, rep = run_report(tmp_path, f"uvm,plugin:{jitcrash()}", case, SUITE / "add.data", SUITE / "ldxb.data")
    assert p.returncode == 0, p.stdout
    assert all(c["verdict"] == "pass" for c in rep["cases"]), rep["cases"]


def test_crash_is_a_discrepancy_signed_with_the_signal(tmp_path):
    case = write_case(tmp_path / "crash.data", CRASH_CASE)
    p, rep = run_report(tmp_path, f"uvm,plugin:{jitcrash()}", case)
    c = rep["cases"][0]
    r = plugin_result(c)
    assert r["status"] == "crash" and r["signal"] == 11, c
    assert c["verdict"] == "discrepancy" and p.returncode == 1, c
    assert c["signature"].endswith(f"|uvm/plugin:{JITCRASH}|status:SIGSEGV"), c
    # Alone, with nothing to compare with, a crash still fails the run.
    p, rep = run_report(tmp_path, f"plugin:{jitcrash()}", case)
    assert rep["cases"][0]["verdict"] == "fail" and p.returncode == 1, rep["cases"][0]


def test_crash_through_bpfdiff_as_a_plugin(tmp_path):
    """bpfdiff driving a bpfdiff that drives the crashing JIT: the crash and its signal survive."""
    w = tmp_path / "inner"
    w.write_text(f'#!/bin/sh\nexec "{BPFDIFF}" plugin --backend plugin:{jitcrash()} "$@"\n')
    w.chmod(0o755)
    case = write_case(tmp_path / "crash.data", CRASH_CASE)
    p, rep = run_report(tmp_path, f"uvm,plugin:{w}", case)
    c = rep["cases"][0]
    assert plugin_result(c)["status"] == "crash" and plugin_result(c)["signal"] == 11, c
    assert c["signature"].endswith("|status:SIGSEGV"), c


def test_minimize_shrinks_a_crash_to_its_pattern(tmp_path):
    case = write_case(tmp_path / "crash.data", CRASH_CASE)
    out = tmp_path / "min.data"
    p = run("minimize", "--backend", f"uvm,plugin:{jitcrash()}", case, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "11 -> " in p.stderr and "status:SIGSEGV" in p.stderr, p.stderr
    body = asm_lines(out)
    assert len(body) < 11 and body[-1] == "exit", body
    at = body.index(CRASH_PATTERN[0])
    assert body[at:at + 2] == CRASH_PATTERN, body  # the two instructions, still adjacent
    assert "-- signature\n" in out.read_text() and "|status:SIGSEGV" in out.read_text()
    # The minimized case still crashes the JIT (the minimizer kept what it claims).
    p, rep = run_report(tmp_path, f"uvm,plugin:{jitcrash()}", out, "--no-known")
    c = rep["cases"][0]
    assert plugin_result(c)["status"] == "crash", c


def fuzz_input(body_insns, mem=bytes(16)):
    body = b"".join(struct.pack("<BBhi", op, dst | src << 4, off, imm) for op, dst, src, off, imm in body_insns)
    return struct.pack("<I", len(body)) + body + mem


def test_fuzz_driver_saves_a_crash(tmp_path):
    """A fuzz input that crashes the plugin is minimized and written as a find that replays."""
    replay = FUZZ / "bpf_diff_replay"
    assert replay.exists(), f"{replay} is not built (make fuzz-build)"
    shutil.copy(jitcrash(), tmp_path / "jc")  # short path: the find's -- expect names it
    raw = tmp_path / "inputs"
    raw.mkdir()
    (raw / "crash.bin").write_bytes(fuzz_input([
        (0xb7, 4, 0, 0, 7),    # mov r4, 7
        (0x07, 0, 0, 0, 3),    # add r0, 3
        (0x67, 4, 0, 0, 32),   # lsh r4, 32
        (0xc7, 4, 0, 0, 32),   # arsh r4, 32
        (0x0f, 0, 4, 0, 0),    # add r0, r4
        (0x27, 0, 0, 0, 5),    # mul r0, 5
    ]))
    finds = tmp_path / "finds"
    env = dict(os.environ, BPFDIFF_BACKENDS="uvm,plugin:./jc", BPFDIFF_FINDS=str(finds))
    p = subprocess.run([str(replay), str(raw)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "1 new" in p.stdout, p.stdout + p.stderr
    files = list(finds.glob("fuzz-*.data"))
    assert len(files) == 1, (files, p.stderr)
    text = files[0].read_text()
    assert "|uvm/plugin:./jc|status:SIGSEGV" in text, text
    body = asm_lines(files[0])
    at = body.index(CRASH_PATTERN[0])
    assert body[at:at + 2] == CRASH_PATTERN, body
    # The find replays: an unconfirmed find whose crash still reproduces (its -- observed sections).
    assert "-- observed plugin:./jc\ncrash" in text, text
    p = subprocess.run([str(BPFDIFF), "replay", "--no-known", "--backend", "uvm,plugin:./jc", str(files[0])],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 0 and "KNOWN-FIND" in p.stdout and "reproduces" in p.stdout, p.stdout + p.stderr
    # A second run knows it: no new find.
    p = subprocess.run([str(replay), str(raw)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "0 new" in p.stdout and len(list(finds.glob("fuzz-*.data"))) == 1, p.stdout


# (f) declared options: +verifier, +platform=NAME ------------------------------------------------

OOB_CASE = "-- asm\nldxb %r0, [%r1+100]\nexit\n-- mem\n01 02\n"


def test_ok_where_uvm_faults_is_soundness_only_for_a_declared_verifier(tmp_path):
    plugin = script_plugin(tmp_path, "cat >/dev/null; echo 0")
    case = write_case(tmp_path / "oob.data", OOB_CASE)
    p, rep = run_report(tmp_path, f"uvm,plugin:{plugin}", case)
    assert rep["cases"][0]["verdict"] == "discrepancy", rep["cases"][0]
    p, rep = run_report(tmp_path, f"uvm,plugin+verifier:{plugin}", case)
    c = rep["cases"][0]
    assert c["verdict"] == "discrepancy (possible verifier soundness bug)", c
    # The name in reports leaves the option out.
    assert set(c["results"]) == {"uvm", f"plugin:{plugin}"}, c["results"].keys()


@pytest.mark.parametrize("spec,needle", [
    ("uvm+verifier", "uvm takes no options"),
    ("kernel+platform=linux", "kernel takes no options"),
    ("plugin+jit:{p}", "unknown option '+jit'"),
    ("plugin+:{p}", "empty option"),
    ("plugin+verifier+:{p}", "empty option"),
    ("plugin++verifier:{p}", "empty option"),
    ("plugin+platform=:{p}", "unknown option '+platform='"),
    ("plugin+platform=a/b:{p}", "unknown option"),
    ("plugin+verifier", "needs a program"),
    ("plugin:{p},plugin+verifier:{p}", "given twice"),
])
def test_backend_option_errors(tmp_path, spec, needle):
    plugin = script_plugin(tmp_path, "echo 0")
    p = run("run", "--backend", spec.format(p=plugin), SUITE / "add.data")
    assert p.returncode == 2, p.stdout + p.stderr
    assert needle in p.stderr, p.stderr


def test_info_shows_the_declared_options(tmp_path):
    plugin = script_plugin(tmp_path, "echo 0")
    p = run("info", "--backend", f"plugin+verifier+platform=ubpf:{plugin}", check=0)
    assert f"plugin:{plugin}" in p.stdout and "declared with a verifier" in p.stdout, p.stdout
    assert "helper platform ubpf" in p.stdout, p.stdout
    p = run("info", "--backend", f"plugin:{plugin}", check=0)
    assert "no verifier declared" in p.stdout and "helper platform not declared" in p.stdout, p.stdout


HELPER_CASE = "-- asm\nmov %r1, 5\ncall 5\nexit\n"      # R0 is what helper 5 returns
NO_HELPER_CASE = "-- asm\nmov %r1, 5\nmov %r0, %r1\nexit\n"


@pytest.mark.parametrize("a,b,case,verdict", [
    ("plugin", "plugin", HELPER_CASE, "nondeterministic"),
    ("plugin+platform=ubpf", "plugin", HELPER_CASE, "nondeterministic"),
    ("plugin+platform=ubpf", "plugin+platform=linux", HELPER_CASE, "nondeterministic"),
    ("plugin+platform=ubpf", "plugin+platform=ubpf", HELPER_CASE, "discrepancy"),
    ("plugin", "plugin", NO_HELPER_CASE, "discrepancy"),
])
def test_helper_results_are_compared_only_within_a_platform(tmp_path, a, b, case, verdict):
    """Two VMs that disagree on what helper 5 returned differ by platform, not by a bug, unless
    both declare the same platform."""
    one = script_plugin(tmp_path, "cat >/dev/null; echo 5", "one.sh")
    two = script_plugin(tmp_path, "cat >/dev/null; echo 77", "two.sh")
    c = write_case(tmp_path / "h.data", case)
    p, rep = run_report(tmp_path, f"{a}:{one},{b}:{two}", c)
    r = rep["cases"][0]
    assert r["verdict"] == verdict, r
    assert p.returncode == (0 if verdict == "nondeterministic" else 1), r
    if verdict == "nondeterministic":
        assert "platform-specific" in r["reason"], r


def test_a_crash_on_a_helper_call_is_still_a_finding(tmp_path):
    one = script_plugin(tmp_path, "cat >/dev/null; echo 5", "one.sh")
    two = script_plugin(tmp_path, "cat >/dev/null; kill -SEGV $$", "two.sh")
    c = write_case(tmp_path / "h.data", HELPER_CASE)
    p, rep = run_report(tmp_path, f"plugin:{one},plugin:{two}", c)
    assert rep["cases"][0]["verdict"] == "discrepancy" and p.returncode == 1, rep["cases"][0]


def test_kernel_ktime_against_a_plugin_is_not_a_discrepancy(tmp_path, backends):
    """On Linux helper 5 is bpf_ktime_get_ns; a ubpf-like plugin returns something else."""
    need(backends, "kernel")
    plugin = script_plugin(tmp_path, "cat >/dev/null; echo 5")  # ubpf's unwind returns its argument
    c = write_case(tmp_path / "h.data", HELPER_CASE)
    p, rep = run_report(tmp_path, f"kernel,plugin:{plugin}", c)
    r = rep["cases"][0]
    assert r["results"]["kernel"]["status"] == "ok", r
    assert r["verdict"] == "nondeterministic" and "platform-specific" in r["reason"], r
    assert p.returncode == 0, r
