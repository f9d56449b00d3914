"""bpf_conformance's runner drives `bpfdiff plugin` directly, and the xdp backend is cheap across
processes: its loaded VM is pinned in bpffs and shared, under a lock, by later processes."""
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from conftest import BPFDIFF, ROOT, need, run

EXIT = "95 00 00 00 00 00 00 00"
LOAD_R0 = "79 10 00 00 00 00 00 00"  # ldxdw %r0, [%r1]


def plugin(argv, stdin, env=None):
    return subprocess.run([str(BPFDIFF), *argv], input=stdin, capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_runner_argument_order_memory_first():
    """The runner runs PLUGIN_PATH [MEMORY_HEX] PLUGIN_OPTIONS... (lib/src/bpf_conformance.cc); with
    --plugin_path bpfdiff --plugin_options "plugin --backend uvm" that is this argv."""
    p = plugin(["01 02 03 04 05 06 07 08", "plugin", "--backend", "uvm"], f"{LOAD_R0} {EXIT}\n")
    assert (p.returncode, p.stdout) == (0, "807060504030201\n"), p.stderr
    p = plugin(["plugin", "--backend", "uvm"], "b7 00 00 00 2a 00 00 00 " + EXIT + "\n")  # no memory
    assert (p.returncode, p.stdout) == (0, "2a\n"), p.stderr
    # the runner splits --plugin_options on single spaces: empty words are ignored
    p = plugin(["aa bb cc dd ee ff 00 11", "plugin", "", "--backend", "uvm", ""], f"{LOAD_R0} {EXIT}\n")
    assert (p.returncode, p.stdout) == (0, "1100ffeeddccbbaa\n"), p.stderr
    p = plugin(["01 02", "plugin", "--backend", "uvm", "--elf"], EXIT + "\n")
    assert p.returncode == 2 and "--elf: ELF input is not supported" in p.stderr
    p = plugin(["01 02", "--backend", "uvm"], EXIT + "\n")  # no "plugin" word: not the plugin
    assert p.returncode == 2 and "unknown command '01 02'" in p.stderr


def pin_dir(env=None):
    p = run("info", "--backend", "xdp", env=env)
    m = re.search(r"pinned at (\S+) ", p.stdout)
    return p.stdout, (m.group(1) if m else None)


def test_xdp_vm_is_pinned_and_taken_by_later_processes(backends):
    need(backends, "xdp")
    env = dict(os.environ, BPFDIFF_XDP_PIN="1")
    p = plugin(["01 00 00 00 00 00 00 00", "plugin", "--backend", "xdp"], f"{LOAD_R0} {EXIT}\n", env)
    assert (p.returncode, p.stdout) == (0, "1\n"), p.stderr
    out, where = pin_dir(env)
    assert where and re.fullmatch(r"/sys/fs/bpf/bpfdiff/xdpvm-[0-9a-f]{16}", where), out
    assert "taken from its pin (loaded by an earlier process" in out
    assert os.path.exists(f"{where}/prog") and os.path.exists(f"{where}/bss")
    private, _ = pin_dir(dict(os.environ, BPFDIFF_XDP_PIN="0"))
    assert "not pinned (this process loads its own" in private and "loaded once in" in private


def test_a_foreign_pin_is_replaced(backends):
    need(backends, "xdp")
    env = dict(os.environ, BPFDIFF_XDP_PIN="1")
    _, where = pin_dir(env)
    assert where
    # Another object where this build's VM should be: a small map named like ours.
    os.unlink(f"{where}/bss")
    subprocess.run(["bpftool", "map", "create", f"{where}/bss", "type", "array", "key", "4", "value", "8",
                    "entries", "1", "name", "foreign"], check=True, capture_output=True)
    p = plugin(["07 00 00 00 00 00 00 00", "plugin", "--backend", "xdp"], f"{LOAD_R0} {EXIT}\n", env)
    assert (p.returncode, p.stdout) == (0, "7\n"), p.stderr
    show = subprocess.run(["bpftool", "map", "show", "pinned", f"{where}/bss"], capture_output=True,
                          text=True, check=True).stdout
    assert "foreign" not in show and "value 2" in show, show  # the VM's .bss is ~2 MiB again
    out, _ = pin_dir(env)
    assert "taken from its pin" in out


def test_concurrent_processes_do_not_share_guest_state(backends):
    """The guest lives in the pinned VM's global data: processes running cases at the same time
    must each get their own result (they take turns under the lock). Each case loops 2M times
    (tens of ms on the xdp VM) so that runs overlap; r0 = k * 2,000,000 for its own k."""
    need(backends, "xdp")
    env = dict(os.environ, BPFDIFF_XDP_PIN="1")
    prog = " ".join([
        "79 12 00 00 00 00 00 00",  # ldxdw %r2, [%r1]
        "b7 00 00 00 00 00 00 00",  # mov %r0, 0
        "b7 03 00 00 80 84 1e 00",  # mov %r3, 2000000
        "0f 20 00 00 00 00 00 00",  # add %r0, %r2
        "17 03 00 00 01 00 00 00",  # sub %r3, 1
        "55 03 fd ff 00 00 00 00",  # jne %r3, 0, -3
        EXIT])

    def worker(w):
        bad = []
        for i in range(6):
            k = 1000 * w + i + 1
            mem = " ".join(f"{b:02x}" for b in k.to_bytes(8, "little"))
            p = plugin([mem, "plugin", "--backend", "xdp"], prog + "\n", env)
            if p.returncode != 0 or int(p.stdout, 16) != k * 2000000:
                bad.append((k, p.returncode, p.stdout, p.stderr))
        return bad

    with ThreadPoolExecutor(6) as ex:
        bad = [b for r in ex.map(worker, range(6)) for b in r]
    assert not bad, bad[:5]
