"""Byte order (harness/byteorder.c, the uvm's big-endian mode): values derived by hand from
RFC 9669 for a little- and a big-endian target; no guest needed."""
import json

from conftest import run


def case(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def results(tmp_path, *args):
    report = tmp_path / "r.json"
    p = run("run", "--json", report, *args)
    return p, json.loads(report.read_text())["cases"][0]["results"]


LOADS = """-- asm
ldxw %r0, [%r1]
ldxh %r2, [%r1+4]
lsh %r2, 32
or %r0, %r2
stxh [%r1+6], %r0
exit
-- mem
01 02 03 04 05 06 00 00
"""


def test_big_endian_uvm_loads_and_stores_in_big_endian_order(tmp_path):
    # LE: 0x04030201 | 0x0605 << 32, stores 01 02 at 6.  BE: 0x01020304 | 0x0506 << 32, stores 03 04.
    c = case(tmp_path, "ld.data", LOADS + "-- result\n0x60504030201\n-- mem after\n01 02 03 04 05 06 01 02\n"
             "-- result big-endian\n0x50601020304\n-- mem after big-endian\n01 02 03 04 05 06 03 04\n")
    p, res = results(tmp_path, "-b", "uvm,uvm:be", c)
    assert p.returncode == 0, p.stdout + p.stderr
    assert res["uvm"]["r0"] == "0x60504030201" and res["uvm:be"]["r0"] == "0x50601020304", res
    assert res["uvm:be"]["mem"].replace(" ", "").endswith("0304"), res
    p, res = results(tmp_path, "-b", "uvm", "--endian", "big", c)
    assert p.returncode == 0 and res["uvm"]["r0"] == "0x50601020304", p.stdout


def test_a_wrong_big_endian_result_fails_only_the_big_endian_backend(tmp_path):
    c = case(tmp_path, "ld.data", LOADS + "-- result\n0x60504030201\n-- result big-endian\n0x60504030201\n")
    p = run("run", "-b", "uvm,uvm:be", c)
    assert p.returncode == 1 and "FAIL" in p.stdout and "uvm:be" in p.stdout, p.stdout
    assert "expected 0x60504030201" in p.stdout


def test_without_a_big_endian_result_the_big_endian_side_is_judged_by_agreement(tmp_path):
    # Order-dependent, no big-endian section: uvm:be is not held to the little-endian result,
    # and uvm vs uvm:be is not a discrepancy.
    c = case(tmp_path, "ld.data", LOADS + "-- result\n0x60504030201\n")
    p, res = results(tmp_path, "-b", "uvm,uvm:be", c)
    assert p.returncode == 0, p.stdout
    assert res["uvm:be"]["r0"] == "0x50601020304"


def test_order_independent_cases_are_judged_and_compared_across_orders(tmp_path):
    c = case(tmp_path, "alu.data", "-- asm\nmov %r0, 5\nadd %r0, 1\nexit\n-- result\n0x7\n")
    p = run("run", "-b", "uvm,uvm:be", c)
    assert p.returncode == 1, p.stdout
    assert "uvm: r0 is 0x6, expected 0x7" in p.stdout or "r0 is 0x6" in p.stdout, p.stdout


def test_le_and_be_swap_roles_on_a_big_endian_target(tmp_path):
    # RFC 9669: "to big-endian" swaps only on a little-endian target, "to little-endian" on a big one.
    text = ("-- asm\nmov %r0, 0x11223344\nmov %r1, %r0\nbe16 %r0\nle16 %r1\nlsh %r1, 16\nor %r0, %r1\nexit\n"
            "-- result\n0x33444433\n-- result big-endian\n0x44333344\n")
    p = run("run", "-b", "uvm,uvm:be", case(tmp_path, "end.data", text))
    assert p.returncode == 0, p.stdout


def test_atomics_in_big_endian_order(tmp_path):
    # 32-bit atomic add of 1 at offset 0: LE adds to byte 0, BE to byte 3; fetch gives the old word.
    text = ("-- asm\nmov %r2, 1\nlock fetch add32 [%r1+0], %r2\nmov %r0, %r2\nexit\n-- mem\n00 00 00 ff\n"
            "-- result\n0xff000000\n-- mem after\n01 00 00 ff\n"
            "-- result big-endian\n0xff\n-- mem after big-endian\n00 00 01 00\n")
    p = run("run", "-b", "uvm,uvm:be", case(tmp_path, "atomic.data", text))
    assert p.returncode == 0, p.stdout


def test_bad_big_endian_sections_are_input_errors(tmp_path):
    c = case(tmp_path, "bad.data", "-- asm\nmov %r0, 1\nexit\n-- result big-endian\nzz\n")
    p = run("run", "-b", "uvm", c)
    assert p.returncode == 2 and "bad.data:5" in p.stdout + p.stderr, p.stdout + p.stderr
    p = run("run", "-b", "uvm", "--endian", "middle", c)
    assert p.returncode == 2 and "--endian takes big or little" in p.stderr


def test_xdp_vm_big_endian_mode(tmp_path, backends):
    from conftest import need
    need(backends, "xdp")
    c = case(tmp_path, "ld.data", LOADS + "-- result\n0x60504030201\n-- mem after\n01 02 03 04 05 06 01 02\n"
             "-- result big-endian\n0x50601020304\n-- mem after big-endian\n01 02 03 04 05 06 03 04\n")
    p, res = results(tmp_path, "-b", "xdp", "--endian", "big", c)
    assert p.returncode == 0 and res["xdp"]["r0"] == "0x50601020304", p.stdout
    text = ("-- asm\nmov %r2, 1\nlock fetch add32 [%r1+0], %r2\nmov %r0, %r2\nmov %r3, 0x1122\nbe16 %r3\n"
            "lsh %r3, 32\nor %r0, %r3\nexit\n-- mem\n00 00 00 ff\n"
            "-- result\n0x2211ff000000\n-- mem after\n01 00 00 ff\n"
            "-- result big-endian\n0x1122000000ff\n-- mem after big-endian\n00 00 01 00\n")
    p = run("run", "-b", "xdp,uvm", "--endian", "big", case(tmp_path, "atomic.data", text))
    assert p.returncode == 0, p.stdout
    p = run("run", "-b", "xdp,uvm", case(tmp_path, "atomic.data", text))
    assert p.returncode == 0, p.stdout
