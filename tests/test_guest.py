"""Guest kernels under qemu (harness/guest.c, backend_guest.c, guest/): the arm64 guest is
booted once (`bpfdiff guest start`) and serves the bpf_conformance suite on its JIT and
on its interpreter; the results are scored against the .data files' own `-- result`
lines (../shared/bin/score-report), not against bpfdiff's other backends.

`make test` prepares the arm64 guest first (guest/prepare.sh: Debian's archive). Outside
CI a machine that cannot prepare it skips these tests; under CI=true that is a failure."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BPFDIFF, BUILD, IN_CI, ROOT, SHARED, SUITE, run

GUEST_DIR = Path(os.environ.get("BPFDIFF_GUEST_DIR", BUILD / "guest"))


@pytest.fixture
def short_tmp():
    """A private dir with a short path: qemu's unix socket lives in it (sun_path: 108 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="bdg", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)
# What a Debian 6.1 kernel may refuse in the suite, by file name: the cpu v4 forms
# (Linux 6.6), the immediate shifts every kernel verifier refuses, callx.
REFUSED_61 = r"(sdiv|smod|movsx|ldxs[bhw]|swap\d|sh(32|64)-imm-(high|neg)|callx)"


@pytest.fixture(scope="module")
def arm64(tmp_path_factory):
    """A started arm64 guest in a private runtime dir; the env that reaches it."""
    if not (GUEST_DIR / "arm64" / "initramfs.cpio.gz").exists():
        msg = f"arm64 guest not prepared in {GUEST_DIR} (make guest-arm64)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    if not os.access("/dev/null", os.W_OK) or subprocess.run(
            ["sh", "-c", "command -v qemu-system-aarch64"], capture_output=True).returncode:
        if IN_CI:
            pytest.fail("qemu-system-aarch64 missing in CI")
        pytest.skip("qemu-system-aarch64 missing")
    env = dict(os.environ, BPFDIFF_RUNTIME_DIR=str(tmp_path_factory.mktemp("run")))
    p = run("guest", "start", "arm64", env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "booted to a ready agent in" in p.stdout, p.stdout
    yield env
    run("guest", "stop", "arm64", env=env, check=0)


def test_status_shows_the_started_guest(arm64):
    p = run("guest", "status", "arm64", env=arm64, check=0)
    assert re.search(r"arm64\s+running\s+pid \d+\s+kernel 6\.1\.\S+-arm64 \(aarch64\)\s+jit (on|off)", p.stdout), p.stdout


def test_info_names_kernel_and_jit_state(arm64):
    p = run("info", "--backend", "guest:arm64,guest:arm64-interp", env=arm64, check=0)
    assert "guest:arm64 available" in p.stdout and "guest:arm64-interp available" in p.stdout, p.stdout
    assert re.search(r"guest arm64: kernel 6\.1\.\S+ \(aarch64\), BPF JIT \(bpf_jit_enable=1\)", p.stdout), p.stdout
    assert "guest arm64-interp: kernel" in p.stdout and "interpreter (bpf_jit_enable=0)" in p.stdout
    assert "started guest" in p.stdout, "info booted its own guest instead of using the started one"


def score(report, backend, allowed):
    p = subprocess.run([str(SHARED / "bin" / "score-report"), str(report), backend, allowed, str(SUITE)],
                       capture_output=True, text=True, timeout=120)
    m = re.match(r"(\d+)/(\d+)", p.stdout)
    assert m, p.stdout + p.stderr
    return int(m[1]), int(m[2]), p.stderr


def test_conformance_suite_on_jit_and_interpreter(arm64, tmp_path):
    if not SUITE.is_dir():
        pytest.skip(f"{SUITE} missing")
    report = tmp_path / "r.json"
    p = run("run", "-q", "--json", report, "-b", "uvm,guest:arm64,guest:arm64-interp", SUITE, env=arm64,
            timeout=900)
    # Every case passes or is explained (conformance/known-differences.txt).
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr
    assert re.search(r"313 cases in [\d.]+ s: 313 pass", p.stdout), p.stdout[-3000:]
    # The interpreter: every case the 6.1 verifier takes returns the file's own result.
    ok, total, why = score(report, "guest:arm64-interp", REFUSED_61)
    assert (ok, total) == (313, 313), why
    # The JIT: the same, except gotol (ja32.data, rfc9669_ja32.data), which this build's
    # arm64 JIT cannot compile.
    ok, total, why = score(report, "guest:arm64", REFUSED_61)
    assert (ok, total) == (311, 313), why
    doc = json.loads(report.read_text())
    jit = {Path(c["file"]).name: c["results"]["guest:arm64"] for c in doc["cases"]}
    assert jit["ja32.data"]["status"] == "error" and "524" in jit["ja32.data"]["message"]
    interp = {Path(c["file"]).name: c["results"]["guest:arm64-interp"] for c in doc["cases"]}
    assert interp["sdiv64-imm.data"]["status"] == "rejected"
    assert "reserved fields" in interp["sdiv64-imm.data"]["message"]


def test_memory_and_full_r0_come_back(arm64, tmp_path):
    case = tmp_path / "mem.data"
    case.write_text("-- asm\nlddw r0, 0x8000000000000001\nldxw r2, [r1]\nstxw [r1+4], r2\n"
                    "stxb [r1], r0\nexit\n-- mem\n01 02 03 04 00 00 00 00\n-- result\n0x8000000000000001\n"
                    "-- mem after\n01 02 03 04 01 02 03 04\n")
    report = tmp_path / "r.json"
    run("run", "--json", report, "-b", "guest:arm64,guest:arm64-interp", case, env=arm64, check=0)
    res = json.loads(report.read_text())["cases"][0]["results"]
    for b in ("guest:arm64", "guest:arm64-interp"):
        assert res[b]["status"] == "ok" and int(res[b]["r0"], 16) == 0x8000000000000001, res


def test_guest_that_dies_mid_run_gives_one_crash_and_is_restarted(tmp_path, short_tmp):
    """A private guest (no started one in this runtime dir) is killed while a run is going:
    the case in flight gets `crash` with the console's last words, the next cases boot a
    fresh guest and pass."""
    if not (GUEST_DIR / "arm64" / "initramfs.cpio.gz").exists():
        pytest.skip("arm64 guest not prepared") if not IN_CI else pytest.fail("arm64 guest not prepared")
    # Enough cases that the kill lands mid-run on any machine: the interpreter guest runs about
    # 500 cases/s, so 3000 cases last about 6 s after the guest says ready (400 once ran out
    # before the kill on a fast CI machine and no case was in flight).
    ncases = 3000
    cases = tmp_path / "cases"
    cases.mkdir()
    for i in range(ncases):
        (cases / f"c{i:04}.data").write_text(f"-- asm\nmov r0, {i}\nadd r0, 1\nexit\n-- result\n{i + 1:#x}\n")
    env = dict(os.environ, BPFDIFF_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(short_tmp))
    report = tmp_path / "r.json"
    proc = subprocess.Popen([str(BPFDIFF), "run", "-q", "--json", str(report), "-b", "guest:arm64-interp",
                             str(cases)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        pidfile = None
        deadline = time.time() + 240
        while time.time() < deadline and pidfile is None:
            for d in short_tmp.glob("bpfdiff-guest-arm64-*"):
                log = d / "console.log"
                if (d / "qemu.pid").exists() and log.exists() and "ready" in log.read_text(errors="replace"):
                    pidfile = d / "qemu.pid"
            time.sleep(0.05)
        assert pidfile, "the private guest never became ready"
        time.sleep(0.3)  # cases are flowing
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    statuses = [c["results"]["guest:arm64-interp"]["status"] for c in json.loads(report.read_text())["cases"]]
    assert statuses.count("crash") == 1, (statuses, err)
    assert statuses.count("ok") == ncases - 1, statuses
    crash = [c for c in json.loads(report.read_text())["cases"]
             if c["results"]["guest:arm64-interp"]["status"] == "crash"][0]
    assert "guest arm64 died" in crash["results"]["guest:arm64-interp"]["message"]
    assert not list(short_tmp.glob("bpfdiff-guest-arm64-*")), "private guest dirs left behind"


def test_bad_backend_names_are_usage_errors(tmp_path):
    case = tmp_path / "c.data"
    case.write_text("-- asm\nmov r0, 1\nexit\n-- result\n0x1\n")
    p = run("run", "-b", "guest:mips", case)
    assert p.returncode == 2 and "unknown guest 'mips'" in p.stderr, p.stderr
    p = run("run", "-b", "guest", case)
    assert p.returncode == 2 and "needs an arch" in p.stderr, p.stderr
    p = run("guest", "launch", "arm64")
    assert p.returncode == 2 and "unknown command 'launch'" in p.stderr
    p = run("guest", "start", "vax")
    assert p.returncode == 2 and "unknown arch 'vax'" in p.stderr


def test_unprepared_guest_is_unavailable_with_how_to_fix(tmp_path):
    case = tmp_path / "c.data"
    case.write_text("-- asm\nmov r0, 1\nexit\n-- result\n0x1\n")
    env = dict(os.environ, BPFDIFF_GUEST_DIR=str(tmp_path / "none"), CI="false")
    p = run("run", "-b", "uvm,guest:x86_64", case, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "guest:x86_64 unavailable" in p.stderr and "bpfdiff guest fetch x86_64" in p.stderr, p.stderr
    env["CI"] = "true"
    p = run("run", "-b", "uvm,guest:x86_64", case, env=env)
    assert p.returncode != 0, "under CI=true an unavailable guest must fail the run"


def test_s390x_jit_is_unavailable_for_its_reason():
    if not (GUEST_DIR / "s390x" / "jit").exists():
        pytest.skip("s390x guest not prepared (make guests)")
    p = run("info", "--backend", "guest:s390x")
    assert "guest:s390x unavailable: no JIT in this kernel" in p.stdout + p.stderr, p.stdout + p.stderr


def test_guest_that_does_not_answer_in_time_gives_timeout(tmp_path, short_tmp):
    """BPFDIFF_GUEST_TIMEOUT far below one round trip: the case is `timeout`, the guest is
    killed (no qemu left behind, no private dir)."""
    if not (GUEST_DIR / "arm64" / "initramfs.cpio.gz").exists():
        pytest.skip("arm64 guest not prepared") if not IN_CI else pytest.fail("arm64 guest not prepared")
    c = tmp_path / "c.data"
    c.write_text("-- asm\nmov r0, 1\nexit\n-- result\n0x1\n")
    env = dict(os.environ, BPFDIFF_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(short_tmp),
               BPFDIFF_GUEST_TIMEOUT="0.0001")
    report = tmp_path / "r.json"
    p = run("run", "--json", report, "-b", "guest:arm64-interp", c, env=env, timeout=300)
    res = json.loads(report.read_text())["cases"][0]["results"]["guest:arm64-interp"]
    assert res["status"] == "timeout", (res, p.stderr)
    assert "gave no answer" in res["message"]
    assert not list(short_tmp.glob("bpfdiff-guest-arm64-*")), "private guest dir left behind"
