"""Fuzz shapes (fuzz/shapes.h, issue 13 part 1 and issue 12 part 4): every shape builds
programs the uvm runs, the kernel accepts them (>= 80 % per shape) with no nondeterminism,
the uvm and the kernel agree on them, they have the structure they claim (back-edges,
8-frame call chains), and the per-shape table is printed by the measurement tool and by a
campaign. The kernel is the independent oracle where it is available."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, IN_CI, ROOT, need as need_backend

FUZZ = BUILD / "fuzz"
SHAPES_BIN = FUZZ / "bpf_diff_shapes"
SHAPES = ["loop_const", "loop_learned", "loop_nested", "loop_may_goto", "call_chain", "ptr_var_mem",
          "ptr_var_stack", "ptr_spill", "edge_values", "jmp32_upper", "ja_one", "map_lookup", "map_update",
          "bpf_loop", "tail_call", "bounds_mix"]
FEATURES = ["loops", "call_depth_ge3", "register_offset_access", "pointer_spill", "helper_calls",
            "map_value_access"]


def shapes(*args, env=None, timeout=600):
    if not SHAPES_BIN.exists():
        pytest.fail(f"{SHAPES_BIN} is not built (make fuzz-build)")
    e = dict(os.environ, BPFDIFF_FINDS="")
    e.update(env or {})
    return subprocess.run([str(SHAPES_BIN), *map(str, args)], capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=ROOT)


def table(out):
    """{shape: (inputs, first_ok, kernel_runs, accepted)} from the per-shape table."""
    rows = {}
    for m in re.finditer(r"^bpf_diff: per shape: (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", out, re.M):
        rows[m.group(1)] = tuple(int(m.group(k)) for k in range(2, 6))
    return rows


def features(out):
    m = re.search(r"^bpf_diff: features run ok per backend: (.*)$", out, re.M)
    assert m, out
    return {b: set(f.split()) for b, f in re.findall(r"(\S+)\[([^\]]*)\]", m.group(1))}


@pytest.fixture(scope="module")
def avail():
    from conftest import available_backends
    return available_backends()


def test_every_shape_runs_on_the_uvm():
    """The uvm runs every generated program to the end (no fault, no refusal) and every
    feature is reached."""
    p = shapes(40, env={"BPFDIFF_BACKENDS": "uvm"})
    assert p.returncode == 0, p.stderr
    rows = table(p.stdout)
    for s in SHAPES:
        assert s in rows, f"no row for {s}:\n{p.stdout}"
        inputs, ok, _, _ = rows[s]
        assert inputs >= 30, (s, rows[s])  # a tail call is left out of a program with calls
        assert ok == inputs, f"{s}: the uvm did not run {inputs - ok} of its programs\n{p.stdout}"
    assert features(p.stdout)["uvm"] == set(FEATURES), p.stdout


def test_an_unknown_shape_name_is_an_error():
    p = shapes(5, "loop_cosnt", env={"BPFDIFF_BACKENDS": "uvm"})
    assert p.returncode == 1
    assert "unknown shape 'loop_cosnt'" in p.stderr and "loop_const" in p.stderr


def test_shapes_have_the_structure_they_claim(tmp_path):
    """Read from the programs themselves: a loop shape has a backward jump; some call chain
    is 8 frames deep (7 nested calls); jumps land inside the program."""
    p = shapes(30, "loop_const", "loop_learned", "loop_nested", "loop_may_goto", "call_chain", "ja_one",
               env={"BPFDIFF_BACKENDS": "uvm", "BPFDIFF_SHAPES_DUMP": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    deepest = 0
    for f in sorted(tmp_path.glob("shape-*.data")):
        lines = f.read_text().split("-- asm\n", 1)[1].split("\n-- ", 1)[0].splitlines()
        labels = {}
        for i, line in enumerate(lines):
            if line.endswith(":"):
                labels[line[:-1]] = i
        backward = any(re.search(r"\b(L\d+)$", line) and not line.startswith("call") and
                       labels.get(re.search(r"\b(L\d+)$", line).group(1), 10**9) < i
                       for i, line in enumerate(lines))
        if f.name.startswith("shape-loop_"):
            assert backward, f"{f.name}: no backward jump\n" + "\n".join(lines)
        if f.name.startswith("shape-call_chain"):
            # main calls f1, f1 calls f2, ...: the chain's depth is its number of callees + 1.
            deepest = max(deepest, 1 + sum(1 for line in lines if line.startswith("call local")))
        if f.name.startswith("shape-ja_one"):
            assert any(re.match(r"ja(32)? L\d+$", line) for line in lines), f.name
    assert deepest >= 8, deepest


def test_kernel_accepts_every_shape_and_agrees_with_the_uvm(avail, tmp_path):
    """Per shape, >= 80 % of the programs load on the real kernel; the uvm and the kernel
    give the same results (a kernel *warning* is the kernel's own bug and is allowed)."""
    need_backend(avail, "kernel")
    finds = tmp_path / "finds"
    p = shapes(40, env={"BPFDIFF_BACKENDS": "uvm,kernel", "BPFDIFF_FINDS": str(finds), "BPFDIFF_MINIMIZE": "0"})
    assert p.returncode == 0, p.stderr
    rows = table(p.stdout)
    total_runs = total_acc = 0
    for s in SHAPES + ["(none)"]:
        inputs, _, kruns, acc = rows[s]
        assert kruns == inputs, (s, rows[s])
        assert acc >= 0.8 * kruns, f"{s}: kernel acceptance {acc}/{kruns}\n{p.stdout}"
        total_runs += kruns
        total_acc += acc
    assert total_acc >= 0.8 * total_runs
    assert " 0 nondeterministic, 0 errors" in p.stdout, p.stdout
    for f in finds.glob("*.data"):
        sig = f.read_text().split("-- signature\n", 1)[1].splitlines()[0]
        assert sig.startswith("kernel-warning|"), f"{f.name}: uvm and kernel differ: {sig}"
    assert features(p.stdout)["kernel"] == set(FEATURES), p.stdout


def test_xdp_vm_agrees_with_the_uvm(avail, tmp_path):
    """The xdp VM (another implementation, running in the kernel) gives the same results on
    every shape and runs every feature. (The two VMs fill the stack alike: a shape reading
    bytes it never wrote shows against the kernel, in the test above, not here; checked by
    breaking ptr_var_stack's initial stores.)"""
    need_backend(avail, "xdp")
    finds = tmp_path / "finds"
    p = shapes(25, env={"BPFDIFF_BACKENDS": "uvm,xdp", "BPFDIFF_FINDS": str(finds), "BPFDIFF_MINIMIZE": "0"})
    assert p.returncode == 0, p.stderr
    assert " 0 nondeterministic, 0 errors" in p.stdout, p.stdout
    assert "discrepancies 0 new 0 known" in p.stdout, p.stdout
    assert features(p.stdout)["xdp"] == set(FEATURES), p.stdout


def test_campaign_prints_the_per_shape_table(tmp_path):
    """A short uvm-only campaign: its end summary has the per-shape table (the mutator
    inserts shapes) and the features each backend ran."""
    seeds = tmp_path / "seed-cases"
    seeds.mkdir()
    (seeds / "a.data").write_text("-- asm\nmov %r0, 1\nadd %r0, 2\nexit\n-- result\n0x3\n")
    env = dict(os.environ, BUILD=str(BUILD), SEED_PATHS=str(seeds), BPFDIFF_BACKENDS="uvm",
               BPFDIFF_FINDS=str(tmp_path / "finds"), OUT=str(tmp_path / "out"),
               PIDFILE=str(tmp_path / "campaign.pid"), QUEUE=str(tmp_path / "queue"), JOBS="1", FUZZ_TIME="8",
               BPFDIFF_QUIET="1")
    env.pop("CI", None)
    p = subprocess.run(["bash", "fuzz/campaign.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "per-shape kernel acceptance:" in p.stdout, p.stdout
    rows = re.findall(r"^  (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)$", p.stdout, re.M)
    names = {r[0] for r in rows}
    assert "(none)" in names and len(names & set(SHAPES)) >= 5, p.stdout
    assert re.search(r"^  uvm\.loops\s+[1-9]", p.stdout, re.M), p.stdout
