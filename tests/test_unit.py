"""Run every C unit test binary in $BUILD/unit/ and $BUILD/unit-san/ (built by `make unit` / `make test`)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / os.environ.get("BUILD", "build")


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
    assert proc.returncode == 0, f"{binary} exited {proc.returncode}:\n{out[-8000:]}"
