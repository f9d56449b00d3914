"""Reports that scale: a failing case's program is shown whole when short, and as windows
around the pcs the backends name (plus the first and the last instruction) when long."""
import re

from conftest import need, run, write_case


def big_case(tmp_path, n=65535, fault_at=30001):
    """n instructions: mov, adds, one out-of-bounds load at fault_at, adds, exit."""
    body = ["mov %r0, 0"] + ["add %r0, 1"] * (fault_at - 1) + ["ldxdw %r2, [%r1+100]"]
    body += ["add %r0, 1"] * (n - len(body) - 1) + ["exit"]
    assert len(body) == n
    return write_case(tmp_path / "big.data", "-- asm\n" + "\n".join(body) + "\n-- mem\n00 11 22 33\n"
                      "-- result\n0x1\n")


def test_a_65535_instruction_failure_prints_a_window(tmp_path):
    case = big_case(tmp_path)
    for flags in (["-q"], []):
        p = run("run", "--backend", "uvm", *flags, case, check=1)
        out = p.stdout
        assert len(out.splitlines()) < 60, out[:3000]
        assert "program: 65535 instructions" in out
        # the faulting instruction, marked, with its neighbours
        assert re.search(r"^  > 30001: ldxdw %r2, \[%r1\+100\]$", out, re.M)
        assert re.search(r"^    29995: add %r0, 1$", out, re.M)
        assert re.search(r"^    30007: add %r0, 1$", out, re.M)
        assert not re.search(r"^    (29994|30008): ", out, re.M)
        # the first and the last instructions, and counts of what is left out:
        # shown 0..6, 29995..30007, 65528..65534 = 7 + 13 + 7 = 27 of 65535
        assert re.search(r"^       0: mov %r0, 0$", out, re.M)
        assert re.search(r"^    65534: exit$", out, re.M)
        assert "...   (29988 instructions)" in out
        assert "...   (35520 instructions)" in out
        assert "(65508 of 65535 instructions not shown)" in out


def test_a_kernel_message_pc_is_shown(tmp_path, backends):
    """The kernel names its insn in case numbering ("case insn N"); that line is in the window."""
    need(backends, "kernel")
    case = big_case(tmp_path, n=5000, fault_at=4000)
    p = run("run", "-v", "--backend", "kernel", case, check=0)
    assert re.search(r"^  >  ?4000: ldxdw %r2, \[%r1\+100\]$", p.stdout, re.M), p.stdout


def test_a_short_program_is_shown_whole(tmp_path):
    body = ["mov %r0, 0"] + ["add %r0, 1"] * 60 + ["exit"]
    case = write_case(tmp_path / "short.data", "-- asm\n" + "\n".join(body) + "\n-- result\n0x1\n")
    p = run("run", "--backend", "uvm", case, check=1)
    assert "not shown" not in p.stdout
    assert all(re.search(rf"^    {pc:4d}: ", p.stdout, re.M) for pc in range(62))
