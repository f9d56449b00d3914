"""The minimizer (harness/minimize.c, `bpfdiff minimize`) on hand-made discrepancies whose minimal
form is derived by hand here. The discrepancies come from the uvm's injected bugs (vm/uvm.h
UVM_MUTANT_LIST), diffed against a clean uvm, or against the kernel where it runs: the kernel's
verifier refuses some programs the uvm runs, so a minimum can differ by reference, as derived below.

Counting rule (as `bpfdiff minimize` reports): instructions, an lddw is one; labels are not."""
import os
import re

import pytest

from conftest import BUILD, need, run, write_case

MUTANTS_BIN = BUILD / "bpfdiff-mutants"

pytestmark = pytest.mark.skipif(not MUTANTS_BIN.exists(), reason="build/bpfdiff-mutants not built")


def minimize(tmp_path, text, mutant, ref="uvm", skip=None, replays_exactly=True):
    """Minimize the case `text` between `ref` and uvm:MUTANT; the minimized instructions and runs.
    replays_exactly=False: the minimized case may read bytes the kernel leaves unspecified, so a
    replay shows the discrepancy again but not the recorded values."""
    f = write_case(tmp_path / "in.data", text)
    out = tmp_path / "out.data"
    env = dict(os.environ, BPFDIFF_MINIMIZE_SKIP=skip) if skip is not None else None
    p = run("minimize", "--backend", f"{ref},uvm:{mutant}", f, "-o", out, binary=MUTANTS_BIN, check=0, env=env)
    assert p.returncode == 0, p.stderr
    m = re.search(r"-> (\d+) insns, .*?, (\d+) runs, signature (\S+)", p.stderr)
    assert m, p.stderr
    assert f"uvm:{mutant}" in m.group(3), p.stderr  # still the mutant's discrepancy
    asm = [line.strip() for line in out.read_text().split("-- asm\n")[1].split("\n--")[0].splitlines()
           if line.strip() and not line.strip().endswith(":")]
    assert len(asm) == int(m.group(1)), (asm, p.stderr)
    # the written case reproduces its discrepancy
    r = run("run", "--no-known", "--backend", f"{ref},uvm:{mutant}", out, binary=MUTANTS_BIN)
    if replays_exactly:
        assert r.stdout.startswith("KNOWN-FIND"), r.stdout
    else:
        assert r.stdout.startswith(("KNOWN-FIND", "DISCREPANCY")) and f"uvm:{mutant}" in r.stdout, r.stdout
    return asm, int(m.group(2))


@pytest.fixture(params=["uvm", "kernel"])
def ref(request, backends):
    if request.param == "kernel":
        need(backends, "kernel")
    return request.param


# A jmp32 whose 32-bit and 64-bit outcomes differ, among unrelated arithmetic and a copy.
PADDED_JMP32 = """-- asm
mov %r7, 5
lddw %r3, 0x100000000
mov %r8, %r3
add %r7, 3
mov %r0, 9
mul %r7, %r7
jset32 %r8, -1, L1
mov %r0, 1
add %r0, %r7
L1:
exit
"""


def test_jmp32_64bit_reaches_its_minimum(tmp_path, ref):
    """jmp32-64bit compares all 64 bits. Minimum 4: a value whose upper half is not its low half's
    sign extension (1 insn: no initial register is deterministic -- r1/r10 are addresses, r0 and
    r3-r9 are unspecified, r2 is the memory length < 2^31), the jmp32, an r0 write on one path only,
    exit; r0 must be written on both paths (an unspecified r0 is nondeterministic, and the kernel
    refuses reading it), so the value is put in r0 itself. (With the uvm alone, a pointer comparison
    `jsge32 %r10, 0x7fffffff, +1` needs 3; the kernel refuses it and no step makes one.)"""
    asm, _ = minimize(tmp_path, PADDED_JMP32, "jmp32-64bit", ref)
    assert len(asm) == 4, asm
    assert re.match(r"lddw %r0, 0x100000000$", asm[0]), asm
    assert re.match(r"j\w+32 %r0, ", asm[1]), asm
    assert asm[2].startswith("mov %r0,") and asm[3] == "exit", asm


# r6 is restored by the call to L2; a second, unrelated call to L1 and unrelated r7, r8.
PADDED_CLOBBER = """-- asm
mov %r7, 3
mov %r8, 4
call local L1
mov %r6, %r8
add %r6, 1
call local L2
mov %r0, %r6
add %r0, %r7
exit
L1:
mov %r0, 2
exit
L2:
mov %r6, 9
mov %r7, 1
mov %r0, 0
exit
"""


def test_callee_clobber_reaches_its_minimum(tmp_path, ref):
    """callee-clobber does not restore r6-r9 at a local call's exit. Needed: an r6-r9 set before the
    call (else its value is unspecified), the call, a write of it in the callee, a read of it into
    r0 after the return, and the exits: the kernel wants main's own exit (a subprogram starts at the
    call's target; main may not fall into it), so 6 there; the uvm lets main fall through into the
    callee and share its exit, so 5. No instruction both writes r6-r9 in the callee and moves it to
    r0 in the caller. Also needs deleting the unrelated call with its callee (L1) and turning
    `mov %r6, %r8; add %r6, 1` into a constant."""
    asm, _ = minimize(tmp_path, PADDED_CLOBBER, "callee-clobber", ref)
    want = 6 if ref == "kernel" else 5
    assert len(asm) == want, asm
    assert sum(line.startswith("call local") for line in asm) == 1, asm
    reg = re.match(r"mov (%r[6-9]), \d+$", asm[0]).group(1)
    assert f"mov %r0, {reg}" in asm, asm
    assert asm.count("exit") == want - 4, asm


PADDED_FRAME = """-- asm
mov %r7, 3
stdw [%r10-272], 5
call local L1
call local L2
ldxdw %r6, [%r10-272]
mov %r0, %r7
add %r0, %r6
exit
L1:
mov %r0, 2
exit
L2:
stdw [%r10-8], 1
stdw [%r10-16], 7
ldxdw %r0, [%r10-8]
exit
"""


def test_frame_256_reaches_its_minimum(tmp_path, ref):
    """frame-256 gives a callee a 256-byte frame, so its [r10-16] is its caller's [r10-272].
    Needed: the caller's store there (reading it unwritten is nondeterministic), the call, the
    callee's store, the caller's load into r0, the exits: 6 with the kernel (main's own exit),
    5 with the uvm (main falls into the callee). Merging r6 into r0 removes `mov`/`add`."""
    asm, _ = minimize(tmp_path, PADDED_FRAME, "frame-256", ref)
    want = 6 if ref == "kernel" else 5
    assert len(asm) == want, asm
    assert asm[:3] == ["stdw [%r10-272], 0", "call local L1", "ldxdw %r0, [%r10-272]"], asm
    assert "stdw [%r10-16], 1" in asm, asm


PADDED_MERGE = """-- asm
mov %r3, -1
mov %r4, %r3
add32 %r4, 1
mov %r0, %r4
exit
"""


def test_register_merging(tmp_path):
    """alu32-no-zext keeps dst's upper half. Minimum 3: a register with a non-zero upper half, an
    ALU32 op on it, exit -- all in r0, since r0 is what differs. Deleting any of the moves alone
    leaves an unspecified register in the result; only merging r4 into r3 and r3 into r0 makes
    the moves `mov %rX, %rX`, which then go."""
    asm, _ = minimize(tmp_path, PADDED_MERGE, "alu32-no-zext")
    assert len(asm) == 3 and asm[0] == "mov %r0, -1" and asm[2] == "exit", asm
    assert re.match(r"\w+32 %r0, ", asm[1]), asm
    asm, _ = minimize(tmp_path, PADDED_MERGE, "alu32-no-zext", skip="merge")
    assert len(asm) > 3, asm


# The unrelated subprogram L2 is last: its exit is the program's, which `ja +0` replacement keeps.
PADDED_SUBPROGRAM = """-- asm
mov %r6, 4
call local L1
call local L2
mov %r0, %r6
exit
L1:
mov %r6, 9
exit
L2:
mov %r0, 2
exit
"""


def test_call_deleted_with_its_callee(tmp_path, backends):
    """With the kernel, neither `call local L2` nor L2's exit can go alone (an unreachable
    subprogram; a subprogram without an exit): only together. Minimum 6 as for callee-clobber above."""
    need(backends, "kernel")
    asm, _ = minimize(tmp_path, PADDED_SUBPROGRAM, "callee-clobber", "kernel")
    assert asm == ["mov %r6, 0", "call local L1", "mov %r0, %r6", "exit", "mov %r6, 1", "exit"], asm
    asm, _ = minimize(tmp_path, PADDED_SUBPROGRAM, "callee-clobber", "kernel", skip="subprograms")
    assert sum(line.startswith("call local") for line in asm) == 2, asm


def padded_big(n):
    """The jmp32-64bit core of PADDED_JMP32 after n instructions of stack and r7-r9 arithmetic."""
    noise = []
    for i in range(n):
        r = f"%r{7 + i % 3}"
        slot = 8 * (1 + i % 8)
        noise.append([f"add {r}, {i % 9 + 1}", f"mul {r}, 3", f"xor {r}, %r7",
                      f"stxdw [%r10-{slot}], {r}", f"ldxdw {r}, [%r10-{slot}]"][i % 5])
    setup = [f"stdw [%r10-{8 * k}], 0" for k in range(1, 9)] + ["mov %r7, 5", "mov %r8, 1", "mov %r9, 2"]
    core = ["lddw %r3, 0x100000000", "mov %r0, 9", "jset32 %r3, -1, L1", "mov %r0, 1", "add %r0, %r7",
            "L1:", "exit"]
    return "-- asm\n" + "\n".join(setup + noise + core) + "\n"


def test_group_deletion(tmp_path):
    """Deleting groups (halves, quarters, ...) before single instructions: on 140 instructions of
    which 4 matter, fewer runs than instructions -- deleting one at a time needs a run for each of
    the 136 that go. `ja +0` replacement (phase 1) is left out so that the groups do the work;
    with groups left out too, the single deletions take at least 136 runs."""
    text = padded_big(120)
    asm, runs = minimize(tmp_path, text, "jmp32-64bit", skip="nops")
    assert len(asm) == 4, asm
    assert runs < 136, runs
    asm, runs = minimize(tmp_path, text, "jmp32-64bit", skip="nops,groups")
    assert len(asm) == 4 and runs >= 136, (asm, runs)


def test_unknown_skip_step_is_named(tmp_path):
    f = write_case(tmp_path / "in.data", PADDED_MERGE)
    p = run("minimize", "--backend", "uvm,uvm:alu32-no-zext", f, "-o", tmp_path / "o.data",
            binary=MUTANTS_BIN, check=0, env=dict(os.environ, BPFDIFF_MINIMIZE_SKIP="merge,bogus"))
    assert "BPFDIFF_MINIMIZE_SKIP: unknown step 'bogus'" in p.stderr, p.stderr


# As the unseeded fuzzer found callee-clobber: the clobbered r6 decides a branch over `mov %r0, 0`.
BRANCH_CLOBBER = """-- asm
mov %r6, 1
call local L2
jsge32 %r6, %r0, L1
mov %r0, 0
L1:
exit
L2:
mov %r6, 0
mov %r0, 1
exit
"""


def test_branch_turned_into_data_flow(tmp_path, ref):
    """`jsge32 %r6, %r0, +1; mov %r0, 0` becomes `mov %r0, %r6`; then the callee's `mov %r0, 1` can
    go: callee-clobber's minimum (6 with the kernel, 5 with the uvm, derived above). No deletion,
    merge or constant gets there: r6 reaches r0 only through the branch."""
    asm, _ = minimize(tmp_path, BRANCH_CLOBBER, "callee-clobber", ref)
    assert len(asm) == (6 if ref == "kernel" else 5), asm
    assert "mov %r0, %r6" in asm, asm
    asm, _ = minimize(tmp_path, BRANCH_CLOBBER, "callee-clobber", ref, skip="branches")
    assert any(line.startswith("jsge32") for line in asm), asm


# The mutants of issue 13's classes: a hand-made case each, the clean result derived by hand,
# and the minimum, with the kernel as reference, derived by hand.
NEW_MUTANTS = {
    # r0 = 0; two adds per iteration while r0 < 5: 2, 4, 6 -> 6. The mutant's back-edge lands on the
    # second add: 2, 3, 4, 5 -> 5. Minimum 5: the init, a loop body of two instructions (with one,
    # the back-edge lands on itself and never ends: a timeout, not an r0 difference), the jump, exit.
    "backedge-skip": ("mov %r0, 0\nL1:\nadd %r0, 1\nadd %r0, 1\njlt %r0, 5, L1\nexit", 6, 5),
    # r5 = 7 passed main -> L1 -> L2, L2 returns it: 7 (mutant: 0). Minimum 7: the r5 write, three
    # frames (call + exit in main and L1), L2's read into r0 and its exit.
    "r5-depth3": ("mov %r7, 3\nmov %r5, 7\nmov %r1, 2\ncall local L1\nadd %r0, %r7\nexit\n"
                  "L1:\nmov %r6, %r1\ncall local L2\nadd %r0, %r6\nexit\n"
                  "L2:\nmov %r0, %r5\nadd %r0, %r1\nexit", 7 + 3 + 2 + 2, 7),
    # L1 sets r9 = 1, calls L2 (r9 = 2), returns r9: 1 (mutant: 2). Minimum 8: main's call and exit,
    # L1's r9 write, call, read into r0 and exit, L2's r9 write and exit.
    "r9-depth3": ("call local L1\nexit\nL1:\nmov %r9, 1\ncall local L2\nmov %r0, %r9\nexit\n"
                  "L2:\nmov %r9, 2\nexit", 1, 8),
    # r2 = r10 + (6 & 8 = 0); [r2-16] = 5. The mutant reads r2 + 0xfff0: a fault. Minimum 3: a
    # non-r10 copy of a stack pointer (r10 alone never is one), the access, exit. (The status
    # differs, so the minimum need not write what it reads: the kernel, privileged, lets it read
    # an unwritten slot, and a replay sees another value there.)
    "stack-off-zext": ("stdw [%r10-16], 5\nstdw [%r10-8], 6\nldxdw %r3, [%r10-8]\nand %r3, 8\n"
                       "mov %r2, %r10\nadd %r2, %r3\nldxdw %r0, [%r2-16]\nexit", 5, 3),
    # INT64_MIN / 2 = -2^62 = 0xc000000000000000; with |INT64_MIN| = INT64_MAX: -(2^62 - 1).
    # Minimum 3: lddw of INT64_MIN (no 32-bit immediate is), the division, exit.
    "sdiv-abs-sat": ("lddw %r0, 0x8000000000000000\nsdiv %r0, 2\nexit", 0xc000000000000000, 3),
}


@pytest.mark.parametrize("mutant", sorted(NEW_MUTANTS))
def test_new_mutant_differs_from_the_rfc_result(tmp_path, mutant):
    asm, result, _ = NEW_MUTANTS[mutant]
    f = write_case(tmp_path / "m.data", f"-- asm\n{asm}\n-- result\n{result:#x}\n")
    assert run("run", "--backend", "uvm", f, binary=MUTANTS_BIN).returncode == 0
    p = run("run", "--backend", f"uvm:{mutant}", f, binary=MUTANTS_BIN)
    assert p.returncode == 1 and p.stdout.startswith("FAIL"), p.stdout


@pytest.mark.parametrize("mutant", sorted(NEW_MUTANTS))
def test_new_mutant_reaches_its_minimum(tmp_path, backends, mutant):
    need(backends, "kernel")
    asm, result, minimum = NEW_MUTANTS[mutant]
    f = write_case(tmp_path / "k.data", f"-- asm\n{asm}\n-- result\n{result:#x}\n")
    assert run("run", "--backend", "kernel", f).returncode == 0  # the kernel accepts it and agrees
    got, _ = minimize(tmp_path, f"-- asm\n{asm}\n", mutant, "kernel", replays_exactly=mutant != "stack-off-zext")
    assert len(got) == minimum, got


# As the unseeded fuzzer (with loop and bpf_loop shapes) found backedge-skip: the loop runs twice
# (r2, the memory length 0, counts to 2); a callback's address is taken and nops follow.
LOOP_WITH_CALLBACK = """-- asm
mov %r0, 1
L1:
mul %r0, -1
add %r2, 1
jne %r2, 2, L1
lddw_code_addr %r3, L3
ja L2
L2:
ja +0
ja +0
exit
L3:
mov %r0, 0
exit
"""


def test_callback_address_deleted_with_its_callback(tmp_path, backends):
    """The nops between `lddw_code_addr` and its callback can go only if its pc-relative imm is fixed
    up; the lddw and the callback only together (the kernel refuses a callback nothing refers to).
    Clean: r0 = 1 * -1 * -1 = 1; the mutant skips the `mul` on the back-edge: -1. Minimum 5 (as
    backedge-skip's in NEW_MUTANTS): the loop needs its init, two body instructions, the jump, exit."""
    need(backends, "kernel")
    asm, _ = minimize(tmp_path, LOOP_WITH_CALLBACK, "backedge-skip", "kernel")
    assert asm == ["mov %r0, 1", "mul %r0, -1", "add %r2, 1", "jne %r2, 2, L1", "exit"], asm


# As the unseeded fuzzer found jmp32-64bit: r3 = (u32)-1 via smod32 by 0; the jump decides
# whether memory is changed.
JMP32_MEM = """-- asm
mov %r0, 0
mov %r3, -1
smod32 %r3, %r0
jgt32 %r3, -2, L1
lock and32 [%r1+12], %r0
L1:
exit
-- mem
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 0d
"""


def test_computed_value_replaced_by_an_all_ones_constant(tmp_path, ref):
    """`mov %r3, -1; smod32 %r3, %r0` is r3 = 0xffffffff (a 32-bit op zero-extends): `mov32 %r3, -1`.
    Clean: jgt32 0xffffffff > 0xfffffffe jumps over the store; jmp32-64bit compares
    0x00000000ffffffff with 0xfffffffffffffffe, falls through, and clears byte 12..15: memory
    differs. 5 is the minimum of what keeps the `and`: r0 = 0 to clear with and to return, r3, the
    jump, the store, exit. (The key's minimum is 4 -- `mov32 %r0, -1; jgt32 %r0, -2, +1;
    stw [%r1+12], 0; exit` -- a different store, which no step makes.) With the uvm alone r0 need
    not be written (both runs leave the same unspecified r0; only memory differs), and
    `and32 [%r1+12], %r1` clears with the pointer's low half (0 at the default address; the clean
    uvm, re-run at other addresses, jumps over the store at every one): 4."""
    asm, _ = minimize(tmp_path, JMP32_MEM, "jmp32-64bit", ref)
    if ref == "kernel":
        assert asm == ["mov %r0, 0", "mov32 %r3, -1", "jgt32 %r3, -2, L1", "lock and32 [%r1+12], %r0",
                       "exit"], asm
    else:
        assert len(asm) == 4 and asm[:2] == ["mov32 %r3, -1", "jgt32 %r3, -2, L1"], asm


# As the unseeded fuzzer (with gen's loop shapes) found backedge-skip: the counter is built as
# -1 masked to 2 and the loop's body begins with `mov %r0, 0`.
LOOP_COUNTER_BUILT = """-- asm
mov %r1, -1
and32 %r1, 2
L1:
mov %r0, 0
add %r0, 1
sub %r1, 1
jsgt %r1, 0, L1
exit
"""


def test_constant_folding(tmp_path, ref):
    """`mov %r1, -1; and32 %r1, 2` is r1 = 2 (folded by the uvm the session already has). Clean:
    two iterations, r0 = 1; the mutant's back-edge skips `mov %r0, 0`: r0 = 2. 6 is this loop's
    least: a counter (1), a body that resets r0 then changes it and counts down (3), the jump,
    exit; nothing merges the counter into r0 (the reset would end the loop at once). Without
    folding, no single constant (0, 1, -1, 0xffffffff) gives the two iterations: 7."""
    asm, _ = minimize(tmp_path, LOOP_COUNTER_BUILT, "backedge-skip", ref)
    assert asm == ["mov %r1, 2", "mov %r0, 0", "add %r0, 1", "sub %r1, 1", "jsgt %r1, 0, L1", "exit"], asm
    asm, _ = minimize(tmp_path, LOOP_COUNTER_BUILT, "backedge-skip", ref, skip="fold")
    assert len(asm) == 7, asm
