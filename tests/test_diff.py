"""Differential behaviour: classification of what backends may and may not differ in."""
import ctypes
import os

import pytest

from conftest import BUILD, IN_CI, SUITE, need, run, run_json, write_case

MUTANTS_BIN = BUILD / "bpfdiff-mutants"


def verdict_of(rep, i=0):
    return rep["cases"][i]["verdict"]


def test_pointer_in_memory_is_nondeterministic(tmp_path, backends):
    need(backends, "kernel")
    f = write_case(tmp_path / "ptr.data",
                   "# stores the memory pointer itself: its value is an address\n"
                   "-- asm\nstxdw [%r1+0], %r1\nmov %r0, 0\nexit\n-- mem\n" + "00 " * 16 + "\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f)
    assert verdict_of(rep) == "nondeterministic", p.stdout
    assert p.returncode == 0


def test_pointer_in_r0_is_nondeterministic(tmp_path, backends):
    need(backends, "kernel")
    f = write_case(tmp_path / "ptr0.data", "-- asm\nmov %r0, %r1\nexit\n-- mem\n00 00 00 00\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f)
    # The kernel may refuse to let a pointer escape through R0; either way it's no discrepancy.
    assert verdict_of(rep) in ("nondeterministic", "rejected"), p.stdout
    assert p.returncode == 0


def test_uninitialised_stack_is_nondeterministic(tmp_path, backends):
    need(backends, "kernel")
    # Whatever the kernel's stack holds (zeros, by chance, too), the value is
    # no fixed answer: with no agreement to hide behind, the case must come
    # out nondeterministic rather than fail or be a discrepancy.
    f = write_case(tmp_path / "uninit.data",
                   "-- asm\nldxdw %r0, [%r10-64]\nexit\n-- result\n0x1234567890abcdef\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f)
    kernel = rep["cases"][0]["results"]["kernel"]
    if kernel["status"] == "rejected":  # an unprivileged verifier would refuse it
        assert "invalid read from stack" in kernel["message"]
    else:
        assert verdict_of(rep) == "nondeterministic", p.stdout
    assert p.returncode == 0


def test_uvm_alone_detects_address_dependence(tmp_path):
    f = write_case(tmp_path / "addr.data", "-- asm\nmov %r0, %r1\nexit\n-- result\n0x0\n")
    p, rep = run_json(tmp_path, "--backend", "uvm", f)
    assert verdict_of(rep) == "nondeterministic", p.stdout


def test_kernel_rejection_is_not_a_discrepancy(tmp_path, backends):
    need(backends, "kernel")
    f = write_case(tmp_path / "shift.data", "-- asm\nmov32 %r0, 1\nlsh32 %r0, 33\nexit\n-- result\n0x2\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f, check=0)
    assert verdict_of(rep) == "rejected"
    assert "invalid shift" in rep["cases"][0]["results"]["kernel"]["message"]
    # replay is strict: an unexplained rejection is a deviation
    assert run("replay", "--backend", "uvm,kernel", f).returncode == 1
    # ...unless the case explains it
    g = write_case(tmp_path / "shift2.data",
                   "-- asm\nmov32 %r0, 1\nlsh32 %r0, 33\nexit\n-- result\n0x2\n"
                   "-- expect kernel\n# the verifier refuses immediate shifts >= width\nrejected invalid shift\n")
    run("replay", "--backend", "uvm,kernel", g, check=0)


def test_memory_written_is_compared_byte_exact(tmp_path, backends):
    need(backends, "kernel")
    f = write_case(tmp_path / "w.data",
                   "-- asm\nlddw %r2, 0x1122334455667788\nstxdw [%r1+3], %r2\nsth [%r1+12], -2\nmov %r0, 0\nexit\n"
                   "-- mem\n" + "aa " * 16 + "\n-- mem after\naa aa aa 88 77 66 55 44 33 22 11 aa fe ff aa aa\n-- result\n0x0\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f, check=0)
    mems = {b: r.get("mem") for b, r in rep["cases"][0]["results"].items()}
    assert mems["uvm"] == mems["kernel"] == "aaaaaa887766554433221" "1aafeffaaaa"


@pytest.mark.skipif(not MUTANTS_BIN.exists(), reason="build/bpfdiff-mutants not built")
def test_memory_discrepancy_report(tmp_path):
    f = write_case(tmp_path / "zext.data",
                   "-- asm\nmov %r2, -1\nadd32 %r2, 0\nstxdw [%r1+8], %r2\nmov %r0, 0\nexit\n-- mem\n" + "00 " * 24 + "\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,uvm:alu32-no-zext", f, binary=MUTANTS_BIN, check=1)
    c = rep["cases"][0]
    assert "discrepancy" in c["verdict"]
    assert c["first_mem_diff"] == 12
    assert "first differing memory byte: 12" in p.stdout
    assert "[ff]" in p.stdout and "[00]" in p.stdout  # hexdump marks the byte


# --- no privilege ------------------------------------------------------------------------

CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39


def drop_bpf_capabilities():
    """preexec_fn: give up every capability that grants bpf(), for this process and its exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP: not regained on exec as root

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    hdr, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    for cap in (CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF):
        d, bit = data[cap // 32], ~(1 << (cap % 32)) & 0xffffffff
        d.effective &= bit
        d.permitted &= bit
        d.inheritable &= bit
    if libc.capset(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop capabilities from")
def test_no_bpf_privilege_leaves_uvm_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    p = run("run", "--backend", "uvm,kernel,xdp", SUITE / "add.data", preexec_fn=drop_bpf_capabilities, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "backend kernel unavailable" in p.stderr
    assert "backend xdp unavailable" in p.stderr
    assert "PASS" in p.stdout
    env["CI"] = "true"
    p = run("run", "--backend", "uvm,kernel", SUITE / "add.data", preexec_fn=drop_bpf_capabilities, env=env)
    assert p.returncode == 1 and "CI=true" in p.stderr
