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
import stat
import subprocess
import time

import pytest

from conftest import BPFDIFF, IN_CI, ROOT, SUITE, run

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


def test_vm_errors_exit_1_with_status_on_stderr():
    # ldxb r0, [r1+100] on 2 bytes of memory: a fault in the uvm.
    p = run("plugin", "--program", "71 10 64 00 00 00 00 00 95 00 00 00 00 00 00 00", "01 02")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("fault: "), p.stderr
    # call 5 (a helper): unsupported until helpers are modelled.
    p = run("plugin", "--program", "85 00 00 00 05 00 00 00 95 00 00 00 00 00 00 00")
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


@pytest.fixture
def broken_plugin(tmp_path):
    """tinyvm, except that R0 comes out one too high."""
    b = tmp_path / "broken.py"
    b.write_text(f"""#!/usr/bin/python3
import subprocess, sys
p = subprocess.run([{str(TINYVM)!r}] + sys.argv[1:], stdin=sys.stdin, capture_output=True, text=True)
sys.stderr.write(p.stderr)
if p.returncode:
    sys.exit(p.returncode)
print("%x" % ((int(p.stdout, 16) + 1) & (2**64 - 1)))
""")
    b.chmod(0o755)
    return b


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


@pytest.mark.parametrize("script,status,needle", [
    ("exec sleep 60", "timeout", "no result after 500 ms"),
    ("exec >&- 2>&-; sleep 60", "timeout", "no result after 500 ms"),  # closes its pipes first
    ("kill -SEGV $$", "error", "signal 11"),
    ("cat >/dev/null; echo 2a; echo more", "error", "no R0 in hex"),
    ("exit 3", "error", "status 3"),
    ("echo 'rejected: invalid shift' >&2; exit 1", "rejected", "invalid shift"),
    ("echo 'this form is not supported' >&2; exit 1", "unsupported", "not supported"),
    ("(sleep 60 &); echo 3", "ok", ""),  # a leftover child holding the pipes: no wait for it
], ids=["hang", "close-and-hang", "crash", "junk", "silent-exit", "rejected", "unsupported", "leftover"])
def test_plugin_failure_statuses(tmp_path, script, status, needle):
    plugin = tmp_path / "p.sh"
    plugin.write_text(f"#!/bin/sh\n{script}\n")
    plugin.chmod(0o755)
    env = dict(os.environ, BPFDIFF_PLUGIN_TIMEOUT="0.5")
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    p = run("run", "--backend", f"uvm,plugin:{plugin}", "--json", out, SUITE / "add.data", env=env)
    assert time.monotonic() - t0 < 5, "the plugin backend waited past its timeout"
    c = json.loads(out.read_text())["cases"][0]
    r = plugin_result(c)
    assert r["status"] == status and needle in r["message"], c
    assert p.returncode == (0 if status in ("ok", "rejected", "unsupported") else 1), c


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
