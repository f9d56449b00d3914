"""The life of a fuzz campaign (fuzz/campaign.sh, `make fuzz`): Ctrl-C, SIGKILL of the
driver, a second campaign, a full finds directory. Each campaign fuzzes a uvm mutant
against the clean uvm, so finds come within seconds and no privilege is needed; every
test takes seconds. Every test here failed on the script before issue 14."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, CONFORMANCE, IN_CI, ROOT

MUTANTS = BUILD / "fuzz" / "bpf_diff_mutants"


def seeds(tmp_path):
    """A few seeds (fast start): the ALU32 cases the mutant gets wrong are among them."""
    d = tmp_path / "seed-cases"
    if not d.exists():
        d.mkdir()
        for name in ("add32-imm-clears-upper.data", "mov32-imm-clears-upper.data", "add64-imm-carry-into-upper.data"):
            src = CONFORMANCE / name
            if src.exists():
                (d / name).write_text(src.read_text())
        assert list(d.iterdir())
    return d


def env_for(tmp_path, **extra):
    e = dict(os.environ, BUILD=str(BUILD), TARGET="bpf_diff_mutants", BPFDIFF_MUTANT="alu32-no-zext",
             SEED_PATHS=str(seeds(tmp_path)),
             BPFDIFF_BACKENDS="uvm", BPFDIFF_FINDS=str(tmp_path / "finds"), OUT=str(tmp_path / "out"),
             PIDFILE=str(tmp_path / "campaign.pid"), QUEUE=str(tmp_path / "queue"), JOBS="1", FUZZ_TIME="300",
             BPFDIFF_QUIET="1")
    e.pop("CI", None)  # uvm-only on purpose: the kernel is not needed to see the lifecycle
    e.update({k: str(v) for k, v in extra.items()})
    return e


def start(tmp_path, **extra):
    """campaign.sh as `make fuzz` starts it from a terminal: its own process group, which
    is what Ctrl-C signals."""
    if not MUTANTS.exists():
        pytest.fail(f"{MUTANTS} is not built (make fuzz-build)")
    return subprocess.Popen(["bash", "fuzz/campaign.sh"], cwd=ROOT, env=env_for(tmp_path, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def procs():
    """pid -> (pgid, sid, command line) of every process."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        out[int(d.name)] = (int(fields[2]), int(fields[3]), cmd)
    return out


def fuzzer_group(tmp_path):
    """The fuzzers' process group from the pidfile (pid pgid out), once it is there."""
    try:
        parts = (tmp_path / "campaign.pid").read_text().split()
    except OSError:
        return None
    if len(parts) == 3 and parts[1].isdigit():
        pg = int(parts[1])
        if any(p[0] == pg and "bpf_diff" in p[2] for p in procs().values()):
            return pg
    return None


def finds(tmp_path):
    return sorted((tmp_path / "finds").glob("*.data"))


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)


def test_ctrl_c_stops_within_seconds_keeps_finds_and_prints_the_summary(tmp_path):
    """Before: Ctrl-C left the campaign running on to FUZZ_TIME, and the interrupted jobs
    counted as crashes. OUT is absolute here: before, the stats went to $PWD//abs/path
    and the summary said 0 execs."""
    p = start(tmp_path)
    try:
        wait_for(lambda: finds(tmp_path), 90, "a first find")
        pg = wait_for(lambda: fuzzer_group(tmp_path), 30, "the fuzzers' process group")
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        out, _ = p.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        stop(p)
    assert took < 15, f"{took:.1f} s to stop\n{out}"
    assert p.returncode == 130, out
    m = re.search(r"campaign done \(stopped by SIGINT\): .* execs=(\d+) .*discrepancies_new=(\d+)", out)
    assert m, out
    assert int(m.group(1)) > 0 and int(m.group(2)) >= 1, out
    kept = finds(tmp_path)
    assert kept, "the finds are gone"
    for f in kept:
        text = f.read_text()
        assert "-- signature" in text and "uvm:alu32-no-zext" in text, f
    assert not [q for q, v in procs().items() if v[0] == pg], "fuzzers left running"
    out_dir = tmp_path / "out"
    assert not list(out_dir.glob("crash-*")), "interrupted jobs were saved as crashes"
    assert not (out_dir / "tmp").exists()
    assert not (tmp_path / "campaign.pid").exists()


def test_sigkill_of_the_driver_leaves_nothing_running(tmp_path):
    """Before: SIGKILL of campaign.sh left the fuzzer and the plot sampler running for
    good. Now a watchdog kills the fuzzers' group; the next campaign starts over a stale
    pidfile and removes the leftover libFuzzerTemp directories."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    stale = tmpdir / "libFuzzerTemp.FuzzWithFork999999999.dir"  # no such pid
    stale.mkdir()
    p = start(tmp_path, TMPDIR=tmpdir)
    try:
        pg = wait_for(lambda: fuzzer_group(tmp_path), 60, "the fuzzers' process group")
        assert not stale.exists(), "a dead fuzzer's temporary directory was not removed"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)

        def gone():
            left = [f"{q} {v[2]}" for q, v in procs().items() if v[0] == pg or v[1] == p.pid]
            return not left or None
        wait_for(gone, 15, "the fuzzers and the sampler to go")
    finally:
        stop(p)
    assert (tmp_path / "campaign.pid").exists()  # stale now
    assert list((tmp_path / "out" / "tmp").glob("libFuzzerTemp.*"))  # what SIGKILL left
    q = start(tmp_path, FUZZ_TIME=3, TMPDIR=tmpdir)
    try:
        out, _ = q.communicate(timeout=90)
    finally:
        stop(q)
    assert q.returncode == 0, out
    assert "campaign done" in out
    assert not (tmp_path / "out" / "tmp").exists()


def test_a_second_campaign_is_refused(tmp_path):
    """Before: two campaigns could share one pidfile's build and one OUT, mixing their
    stats and logs. Now a live pidfile refuses `make fuzz`, and OUT is locked."""
    p = start(tmp_path)
    try:
        wait_for(lambda: fuzzer_group(tmp_path), 60, "the first campaign")
        q = subprocess.run(["bash", "fuzz/campaign.sh"], cwd=ROOT, env=env_for(tmp_path, OUT=tmp_path / "out2"),
                           capture_output=True, text=True, timeout=30)
        assert q.returncode == 2, q.stdout + q.stderr
        assert f"a campaign is running (pid {p.pid}, output {tmp_path / 'out'})" in q.stderr
        r = subprocess.run(["bash", "fuzz/campaign.sh"], cwd=ROOT,
                           env=env_for(tmp_path, PIDFILE=tmp_path / "other.pid"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "is in use by another campaign" in r.stderr
        assert not (tmp_path / "out2").exists() or not list((tmp_path / "out2").glob("stats/*"))
        os.killpg(p.pid, signal.SIGINT)
        p.communicate(timeout=30)
    finally:
        stop(p)


def test_make_fuzz_refuses_on_a_live_pidfile(tmp_path):
    p = start(tmp_path)
    try:
        wait_for(lambda: fuzzer_group(tmp_path), 60, "the first campaign")
        e = env_for(tmp_path, OUT=tmp_path / "out2")
        q = subprocess.run(["make", "-s", "fuzz", f"BUILD={BUILD}", "FUZZ_TIME=5"], cwd=ROOT, env=e,
                           capture_output=True, text=True, timeout=300)
        assert q.returncode != 0 and "a campaign is running" in q.stderr, q.stdout + q.stderr
        os.killpg(p.pid, signal.SIGINT)
        p.communicate(timeout=30)
    finally:
        stop(p)


def test_a_full_finds_directory_stops_the_campaign(tmp_path):
    """Before: a campaign whose finds directory was full printed discrepancies_new=110,
    wrote none of them and exited 0. Now the first find that cannot be written stops it,
    with the count of finds lost."""
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    if probe.returncode:
        if IN_CI:
            pytest.fail("CI runs as root: a private tmpfs must be mountable")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    fdir = tmp_path / "finds"
    fdir.mkdir()
    e = env_for(tmp_path)
    script = (f"mount -t tmpfs -o size=64k tmpfs '{fdir}' || exit 99; "
              f"dd if=/dev/zero of='{fdir}/fill' bs=4k 2>/dev/null; exec bash fuzz/campaign.sh")
    t0 = time.monotonic()
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, env=e, capture_output=True, text=True,
                       timeout=180)
    took = time.monotonic() - t0
    assert p.returncode == 1, p.stdout + p.stderr
    m = re.search(r"ERROR: (\d+) finds could not be written to \S+finds \((.*)\)", p.stderr)
    assert m and int(m.group(1)) >= 1, p.stdout + p.stderr
    assert "No space left on device" in m.group(2)
    assert "campaign done (finds could not be written)" in p.stdout
    assert took < 120, took
