"""Run every C unit test binary in $BUILD/unit/ and $BUILD/unit-san/ (built by `make unit` / `make test`).

Convention for the binaries: exit 0 passed, 77 could not run here for want of privilege (the reason
on stdout), anything else failed. 77 is a pytest skip, and a failure under CI=true, where the kernel
and xdp backends must run (PREAMBLE: a skip in CI is a failure)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / os.environ.get("BUILD", "build")
CANNOT_RUN_HERE = 77


def unit_binaries():
    found = []
    for d in ("unit", "unit-san"):
        for p in sorted((BUILD / d).glob("*")):
            if p.is_file() and os.access(p, os.X_OK):
                found.append(p)
    return found


BINARIES = unit_binaries()


def test_unit_binaries_exist():
    assert BINARIES, f"no unit test binaries in {BUILD}/unit or {BUILD}/unit-san: run `make unit`"


@pytest.mark.parametrize("binary", BINARIES, ids=[f"{p.parent.name}/{p.name}" for p in BINARIES])
def test_unit_binary(binary):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    proc = subprocess.run([str(binary)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    if proc.returncode == CANNOT_RUN_HERE:
        why = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "no reason given"
        if IN_CI:
            pytest.fail(f"{binary} could not run under CI=true: {why}")
        pytest.skip(f"{binary.parent.name}/{binary.name}: {why}")
    assert proc.returncode == 0, f"{binary} exited {proc.returncode}:\n{out[-8000:]}"


def test_privileged_units_skip_here_and_fail_in_ci(tmp_path):
    """The convention itself: this file's runner, without capabilities, reports test_kernel and
    test_xdp as skipped, and as failed under CI=true."""
    privileged = [p for p in BINARIES if p.name in ("test_kernel", "test_xdp")]
    assert len(privileged) >= 2, f"test_kernel and test_xdp are not built in {BUILD}"
    # Root drops every capability (CAP_BPF, CAP_SYS_ADMIN, ...); anyone else has none to drop.
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop capabilities"
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    for ci in (False, True):
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        if ci:
            env["CI"] = "true"
        p = subprocess.run(prefix + [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider",
                                     str(Path(__file__)), "-k", "test_kernel or test_xdp"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        n = len(privileged)
        if ci:
            assert p.returncode == 1 and f"{n} failed" in p.stdout, p.stdout[-4000:]
            assert "could not run under CI=true" in p.stdout, p.stdout[-4000:]
        else:
            assert p.returncode == 0 and f"{n} skipped" in p.stdout, p.stdout[-4000:]
            assert "not permitted" in p.stdout, p.stdout[-4000:]
