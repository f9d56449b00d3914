"""Verdicts that mean the same on every machine (issue 9): the environment in every report,
declared deviations, kernel warnings attributed to the exact case, JUnit attribution."""
import json
import subprocess
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import BUILD, CONFORMANCE, CORPUS, ROOT, need, run, run_json, write_case

MUTANTS_BIN = BUILD / "bpfdiff-mutants"
TINYVM = ROOT / "tests" / "plugin" / "tinyvm.py"


def test_info_and_reports_carry_the_environment(tmp_path, backends):
    need(backends, "kernel")
    release = os.uname().release
    p = run("info", "--backend", "uvm,kernel", check=0)
    assert f"kernel {release} {os.uname().machine}" in p.stdout, p.stdout
    assert re.search(r"bpfdiff \S+, libbpf v\d", p.stdout), p.stdout
    f = write_case(tmp_path / "one.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n")
    junit, md = tmp_path / "r.xml", tmp_path / "r.md"
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", "--junit", junit, "--markdown", md, f, check=0)
    env = rep["environment"]
    assert env["bpfdiff"] and env["libbpf"].startswith("v"), env
    assert env["host"]["release"] == release and env["host"]["arch"] == os.uname().machine
    k = env["backends"]["kernel"]
    assert k["release"] == release and k["jit"] in (True, False) and k["reg_invariants"] in (True, False)
    assert env["backends"]["uvm"]["release"] is None
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    props = {p.get("name"): p.get("value") for p in suites["kernel"].find("properties")}
    assert props["kernel.release"] == release and props["arch"] == os.uname().machine, props
    assert "bpfdiff.version" in props and props["jit"] in ("on", "off")
    assert f"kernel {release}" in md.read_text()


def test_junit_attributes_a_failure_to_the_backend_that_deviated(tmp_path):
    """uvm meets the RFC result, the mutant does not: only the mutant's testcase fails."""
    f = write_case(tmp_path / "zext.data", "-- asm\nmov %r0, -1\nadd32 %r0, 0\nexit\n-- result\n0xffffffff\n")
    junit = tmp_path / "r.xml"
    run("run", "--no-known", "--backend", "uvm,uvm:alu32-no-zext", "--junit", junit, f, binary=MUTANTS_BIN,
        check=1)
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    assert suites["uvm"].find("testcase").find("failure") is None
    assert suites["uvm:alu32-no-zext"].find("testcase").find("failure") is not None
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_mem_after_on_a_backend_without_memory_is_not_checked(tmp_path):
    f = write_case(tmp_path / "m.data", "-- asm\nstb [%r1], 7\nmov %r0, 0\nexit\n-- mem\n00 00\n"
                   "-- result\n0x0\n-- mem after\n07 00\n")
    p = run("run", "--backend", f"uvm,plugin:{TINYVM}", f, check=0)
    assert p.stdout.startswith("UNCHECKED") and "not checked on plugin:" in p.stdout, p.stdout
    assert "memory not checked" in p.stdout.splitlines()[-1]
    p = run("run", "--backend", "uvm", f, check=0)
    assert p.stdout.startswith("PASS")


def test_corpus_replays_on_this_kernel_whatever_its_build(backends):
    """The corpus records RFC values and scoped deviations: green here, present or absent."""
    need(backends, "kernel", "xdp")
    p = run("replay", "-q", CORPUS, check=0)
    assert p.returncode == 0, p.stdout[-3000:]
    assert re.search(r"known deviations: \d+ present, \d+ absent here", p.stdout)


def test_a_verifier_invariant_violation_is_a_warning_every_time(tmp_path, backends):
    """BPF_F_TEST_REG_INVARIANTS turns the verifier's self-check into a failed load whose log keeps
    the message: the same case is a kernel warning on every run, not only the first after boot."""
    need(backends, "kernel")
    src = CORPUS / "verifier-reg-invariants-jgt32-same-register.data"
    text = src.read_text()
    bare = write_case(tmp_path / "bare.data", text[:text.index("-- expect kernel")])
    for _ in range(3):
        p, rep = run_json(tmp_path, "--backend", "uvm,kernel", bare, check=None)
        res = rep["cases"][0]
        if rep["environment"]["backends"]["kernel"]["reg_invariants"] is not True:
            pytest.skip("this kernel has no BPF_F_TEST_REG_INVARIANTS")
        if res["verdict"] == "pass":
            pytest.skip("this kernel's verifier does not trip on this case (fixed here)")
        assert res["verdict"] == "kernel warning", res
        assert "REG INVARIANTS VIOLATION (true_reg1)" in res["results"]["kernel"]["kernel_warning"]
        # the program still ran, without the check, and gave the RFC result
        assert res["results"]["kernel"]["status"] == "ok" and res["results"]["kernel"]["r0"] == "0x0"
        assert p.returncode == 1


def test_verifier_messages_use_the_cases_numbering(tmp_path, backends):
    need(backends, "kernel")
    unreach = write_case(tmp_path / "unreach.data", "-- asm\nmov %r0, 0\nexit\nmov %r0, 1\nexit\n-- result\n0x0\n")
    loop = write_case(tmp_path / "loop.data", "-- asm\nmov %r0, 0\nL: add %r0, 1\nja L\nexit\n-- result\n0x0\n")
    r10 = write_case(tmp_path / "r10.data", "-- asm\nmov %r10, 0\nmov %r0, 0\nexit\n-- result\n0x0\n")
    oob = write_case(tmp_path / "oob.data", "-- asm\nmov %r0, 0\nja -5\nexit\n-- result\n0x0\n")
    p, rep = run_json(tmp_path, "--backend", "kernel", unreach, loop, r10, oob, check=0)
    msg = {os.path.basename(c["file"]): c["results"]["kernel"]["message"] for c in rep["cases"]}
    assert msg["unreach.data"].startswith("unreachable insn 2"), msg
    # every exit unreachable: the complaint names the case's own exit, not bpfdiff's epilogue
    assert msg["loop.data"].startswith("unreachable insn 3") and "prologue" not in msg["loop.data"], msg
    assert msg["r10.data"].startswith("frame pointer is read only"), msg
    assert msg["oob.data"].startswith("jump out of range from insn 1 to -3"), msg


def test_the_fuzzer_keeps_a_kernel_warning_find(tmp_path, backends):
    """A fuzz input that trips the verifier's invariant check is written as a find of its own,
    with every backend's outcome and the environment, even with a per-key cap of 1."""
    need(backends, "kernel")
    text = (CORPUS / "verifier-reg-invariants-jgt32-same-register.data").read_text()
    bare = write_case(tmp_path / "bare.data", text[:text.index("-- expect kernel")])
    inputs, finds = tmp_path / "in", tmp_path / "finds"
    inputs.mkdir()
    finds.mkdir()
    subprocess.run([str(BUILD / "fuzz" / "data2input"), str(inputs), str(bare)], check=True,
                   capture_output=True)
    env = dict(os.environ, BPFDIFF_FINDS=str(finds), BPFDIFF_MAX_FINDS_PER_KEY="1")
    p = subprocess.run([str(BUILD / "fuzz" / "bpf_diff_replay"), str(inputs)], env=env, capture_output=True,
                       text=True, cwd=ROOT)
    if "kernel-warning" not in p.stderr and "verifier bug" not in p.stderr:
        pytest.skip("this kernel's verifier does not trip on this case")
    written = list(finds.glob("fuzz-kernel-verifier-bug-true-reg1-*.data"))
    assert len(written) == 1, (p.stderr[-2000:], list(finds.iterdir()))
    find = written[0].read_text()
    assert "UNCONFIRMED" in find and f"kernel {os.uname().release}" in find
    assert re.search(r"-- observed kernel arch=\S+ release=\S+ jit=(on|off)\n(#.*\n)*ok\nresult 0x0\n"
                     r"warning verifier bug: REG INVARIANTS VIOLATION \(true_reg1\)", find), find
    assert "kernel-warning|kernel|verifier bug: REG INVARIANTS VIOLATION (true_reg1)" in find


def test_another_processs_kernel_warning_is_not_pinned_on_a_case(backends):
    """While bpfdiff runs, another process logs 'verifier bug' and WARNING lines (with its own PID)
    to the kernel log: no case may become a kernel warning because of them."""
    need(backends, "kernel")
    if not os.access("/dev/kmsg", os.W_OK):
        pytest.skip("cannot write /dev/kmsg")
    import threading
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            # a fresh open each time: the kernel rate-limits writes per open file
            try:
                fd = os.open("/dev/kmsg", os.O_WRONLY)
                os.write(fd, b"<4>verifier bug: REG INVARIANTS VIOLATION (true_reg1): fake, from test_trust\n")
                os.write(fd, f"<4>WARNING: CPU: 0 PID: {os.getpid()} at kernel/bpf/verifier.c:1 fake\n".encode())
                os.close(fd)
            except OSError:
                return
            stop.wait(0.0003)

    t = threading.Thread(target=writer)
    t.start()
    try:
        p = run("run", "-q", "--backend", "kernel", CONFORMANCE, check=None)
    finally:
        stop.set()
        t.join()
    assert "KERNEL-WARN" not in p.stdout, p.stdout[-3000:]
    assert p.returncode == 0, p.stdout[-3000:]
