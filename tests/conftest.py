"""Shared fixtures: the real bpfdiff binary, the shared suites, a runner."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("BUILD", ROOT / "build"))
BPFDIFF = BUILD / "bpfdiff"
BPFDIFF_SAN = BUILD / "san" / "bpfdiff"
SHARED = (ROOT / ".." / "shared").resolve()
SUITE = SHARED / "bpf_conformance" / "tests"
NEGATIVE = SHARED / "bpf_conformance" / "negative"
CONFORMANCE = ROOT / "conformance"
CORPUS = ROOT / "corpus"
TINYVM = ROOT / "tests" / "plugin" / "tinyvm.py"  # a small eBPF VM sharing no code with bpfdiff
IN_CI = os.environ.get("CI") == "true"


def run(*args, binary=BPFDIFF, check=None, timeout=600, **kw):
    """Run bpfdiff; returns CompletedProcess with text output."""
    p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT, **kw)
    if check is not None:
        assert p.returncode == check, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def run_json(tmp_path, *args, check=None, binary=BPFDIFF):
    out = tmp_path / "report.json"
    p = run("run", "--json", out, *args, check=check, binary=binary)
    assert out.exists(), p.stderr
    return p, json.loads(out.read_text())


def available_backends():
    """The backends `bpfdiff info` says are available. In CI all three must be."""
    p = run("info", check=0)
    avail = [line.split()[0] for line in p.stdout.splitlines()
             if len(line.split()) > 1 and line.split()[1] == "available"]
    if IN_CI:
        for b in ("uvm", "kernel", "xdp"):
            assert b in avail, f"backend {b} must be available in CI:\n{p.stdout}"
    return avail


@pytest.fixture(scope="session")
def backends():
    return available_backends()


def need(backends, *names):
    missing = [n for n in names if n not in backends]
    if missing:
        if IN_CI:
            pytest.fail(f"backend(s) {missing} unavailable in CI")
        pytest.skip(f"backend(s) {missing} unavailable here")


def write_case(path, text):
    path.write_text(text)
    return path


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
