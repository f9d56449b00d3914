"""Maps and helpers end to end: an ELF object with BTF maps built here by clang, map contents
compared across backends and against `-- map NAME after`, the environment helpers, platforms,
and the kernel's inlined bpf_loop against its helper. Expected values are worked out by hand
from the programs and the kernel's helper definitions, never taken from a backend."""
import json
import subprocess

import pytest

from conftest import BUILD, CONFORMANCE, ROOT, need, run, run_json, write_case

MUTANTS = BUILD / "bpfdiff-mutants"


def le(v, n=8):
    return v.to_bytes(n, "little").hex()


@pytest.fixture(scope="module")
def maps_object(tmp_path_factory):
    """tests/unit/elf_maps.bpf.c as libbpf users build it: clang -g (BTF for .maps)."""
    out = tmp_path_factory.mktemp("elf") / "elf_maps.bpf.o"
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang-14", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{multiarch}", "-c",
                    str(ROOT / "tests" / "unit" / "elf_maps.bpf.c"), "-o", str(out)], check=True)
    return out


def test_elf_object_with_btf_maps_runs_on_every_backend(tmp_path, backends, maps_object):
    need(backends, "uvm", "kernel", "xdp")
    p, rep = run_json(tmp_path, maps_object, check=0)
    assert p.returncode == 0, p.stdout
    cases = {c["file"].rsplit(":", 1)[1]: c for c in rep["cases"]}
    assert sorted(cases) == ["finish", "start"], list(cases)  # OBJECT:PROGRAM, libbpf's names
    for b in ("uvm", "kernel", "xdp"):
        start = cases["start"]["results"][b]
        # bpf_loop: 3 * (0 + 1 + 2 + 3) = 18 into counts[0]; total 5 -> 6; the tail call to finish
        # returns counts[0] + total.
        assert start["status"] == "ok" and start["r0"] == hex(18 + 6), (b, start)
        maps = start["maps"]
        assert maps["counts"] == [[le(0, 4), le(18)]] + [[le(i, 4), le(0)] for i in (1, 2, 3)], (b, maps)
        assert maps["seen"] == [[le(0, 4), le(1)]], (b, maps)
        assert maps[".data"] == [[le(0, 4), le(6)]] and maps[".bss"] == [[le(0, 4), le(1)]], (b, maps)
        assert maps[".rodata"] == [[le(0, 4), le(3)]], (b, maps)
        finish = cases["finish"]["results"][b]  # alone: counts[0] 0 + total 5
        assert finish["status"] == "ok" and finish["r0"] == "0x5", (b, finish)
    assert {c["verdict"] for c in rep["cases"]} == {"pass"}


def test_elf_object_disassembles_with_its_maps(maps_object):
    p = run("disasm", maps_object, check=0)
    assert "# program start" in p.stdout and "# program finish" in p.stdout, p.stdout
    assert "lddw_map_fd" in p.stdout and "lddw_map_value" in p.stdout and "lddw_code_addr" in p.stdout, p.stdout
    p = run("run", "--backend", "uvm", "--section", "finish", maps_object, check=0)
    assert ":finish" in p.stdout and ":start" not in p.stdout, p.stdout


def test_map_after_mismatch_names_the_key_and_byte(tmp_path):
    f = write_case(tmp_path / "after.data", """
-- map m hash key=2 value=4 max_entries=4
-- asm
sth [%r10-2], 0x0201
stw [%r10-8], 0x11223344
lddw_map_fd %r1, m
mov %r2, %r10
add %r2, -2
mov %r3, %r10
add %r3, -8
mov %r4, 0
call bpf_map_update_elem
exit
-- result
0
-- map m after
01 02: 44 33 23 11
""")
    p = run("run", "--backend", "uvm", f)
    assert p.returncode == 1
    assert "uvm: map m: key 01 02 byte 2 is 0x22, expected 0x23" in p.stdout, p.stdout
    f.write_text(f.read_text().replace("44 33 23 11", "44 33 22 11"))
    assert run("run", "--backend", "uvm", f).returncode == 0
    f.write_text(f.read_text().replace("01 02: 44 33 22 11", "01 03: 44 33 22 11"))
    p = run("run", "--backend", "uvm", f)
    assert p.returncode == 1 and "uvm: map m: key 01 02 is there, but not expected" in p.stdout, p.stdout


def test_map_discrepancy_reports_first_key_and_byte(tmp_path):
    """A 32-bit add stored into a map: the alu32-no-zext mutant keeps the upper half, and the
    only difference is in the map (r0 and memory agree)."""
    if not MUTANTS.exists():
        pytest.skip("build/bpfdiff-mutants not built")
    f = write_case(tmp_path / "m.data", """
-- map m array value=8 max_entries=1
-- asm
lddw %r6, 0x1122334455667788
add32 %r6, 1
stw [%r10-4], 0
lddw_map_fd %r1, m
mov %r2, %r10
add %r2, -4
call bpf_map_lookup_elem
jeq %r0, 0, +1
stxdw [%r0], %r6
mov %r0, 0
exit
""")
    p, rep = run_json(tmp_path, "--backend", "uvm,uvm:alu32-no-zext", f, binary=MUTANTS, check=1)
    c = rep["cases"][0]
    assert c["verdict"] == "discrepancy" and c["signature"].endswith("|uvm/uvm:alu32-no-zext|map"), c
    # 0x55667789 zero-extended vs upper half kept: value bytes 89 77 66 55 00.. vs ..44 33 22 11.
    assert c["first_map_diff"] == {"map": "m", "key": "00000000", "byte": 4}, c
    assert "map m key 0 byte 4: uvm 0x00, uvm:alu32-no-zext 0x44" in c["reason"]
    assert "first differing map element: map m, key 0 byte 4" in p.stdout
    assert "[44]" in p.stdout and "[00]" in p.stdout


def test_environment_helpers_are_not_judged_on_the_kernel(tmp_path, backends):
    need(backends, "uvm", "kernel")
    case = CONFORMANCE / "helper-ktime-get-ns.data"
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", case, check=0)
    c = rep["cases"][0]
    assert c["verdict"] == "pass" and c["results"]["uvm"]["r0"] == hex(100), c
    assert "kernel not judged: the result depends on bpf_ktime_get_ns" in p.stdout, p.stdout
    # Where the result does not depend on the values, the kernel is compared as usual.
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", CONFORMANCE / "helper-ktime-get-ns-monotonic.data",
                      check=0)
    assert rep["cases"][0]["results"]["kernel"]["r0"] == "0x1" and "not judged" not in p.stdout


def test_helper_values_missing_make_a_result_nondeterministic(tmp_path, backends):
    """Without -- helper values the uvm and the xdp VM use seeded values; a result that moves with
    the seed is environment-dependent, never a discrepancy."""
    need(backends, "uvm", "kernel")
    f = write_case(tmp_path / "t.data", "-- asm\ncall bpf_get_prandom_u32\nexit\n")
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel", f, check=0)
    assert rep["cases"][0]["verdict"] == "pass" and "kernel not judged" in p.stdout, p.stdout


def test_unknown_helper_is_unsupported_with_number_and_name(tmp_path):
    f = write_case(tmp_path / "h.data", "-- asm\ncall 26\nexit\n")
    p, rep = run_json(tmp_path, "--backend", "uvm", f, check=0)
    r = rep["cases"][0]["results"]["uvm"]
    assert r["status"] == "unsupported"
    assert r["message"] == "pc 0: helper 26 (bpf_skb_load_bytes) is not modelled on platform linux", r


def test_platform_ubpf_unwind_ends_the_program_on_uvm_and_xdp(tmp_path, backends):
    need(backends, "uvm", "xdp")
    # unwind(0) inside a local call ends the whole program with r0 = 0 (ubpf's vm);
    # on Linux helper 5 is bpf_ktime_get_ns and the program returns 9.
    f = write_case(tmp_path / "u.data", """
-- asm
mov %r1, 0
call local f
mov %r0, 9
exit
f:
call 5
mov %r0, 7
exit
""")
    p, rep = run_json(tmp_path, "--backend", "uvm,xdp", "--platform", "ubpf", f, check=0)
    res = rep["cases"][0]["results"]
    assert res["uvm"]["r0"] == "0x0" and res["xdp"]["r0"] == "0x0", res
    assert res["uvm"]["insns"] == res["xdp"]["insns"] == 3, res
    p, rep = run_json(tmp_path, "--backend", "uvm,xdp", f, check=0)
    res = rep["cases"][0]["results"]
    assert res["uvm"]["r0"] == "0x9" and res["xdp"]["r0"] == "0x9", res


def test_inlined_bpf_loop_against_the_helper(tmp_path, backends):
    """The verifier inlines bpf_loop; kernel:bpf_loop=helper keeps it a helper call. The two
    disagree past BPF_MAX_LOOPS (a kernel inconsistency, declared in the case)."""
    need(backends, "kernel")
    case = CONFORMANCE / "bpf-loop-past-max.data"
    p, rep = run_json(tmp_path, "--backend", "uvm,kernel,kernel:bpf_loop=helper", case, check=0)
    res = rep["cases"][0]["results"]
    assert res["kernel"]["r0"] == "0xfffffff9", res                           # inlined: 32-bit -E2BIG
    assert res["kernel:bpf_loop=helper"]["r0"] == hex(2**64 - 7), res        # the helper's long -E2BIG
    assert res["uvm"]["r0"] == hex(2**64 - 7), res
    assert rep["cases"][0]["verdict"] == "pass", p.stdout


def test_malformed_map_section_is_an_input_error(tmp_path):
    f = write_case(tmp_path / "bad.data", "-- map m array value=8 max_entries=2\n0: 01 02\n-- asm\nexit\n")
    p = run("run", "--backend", "uvm", f)
    assert p.returncode == 2
    assert f"{f}:2: map m: value has 2 bytes, the map's value size is 8" in p.stdout + p.stderr, p.stdout


def test_map_cases_pass_on_every_backend(tmp_path, backends):
    """conformance/'s map, helper and tail-call cases: every backend, maps compared."""
    need(backends, "uvm", "kernel", "xdp")
    cases = sorted(CONFORMANCE.glob("map-*.data")) + sorted(CONFORMANCE.glob("bpf-loop-*.data")) + \
        sorted(CONFORMANCE.glob("tail-call-*.data")) + sorted(CONFORMANCE.glob("helper-*.data"))
    assert len(cases) >= 30
    p, rep = run_json(tmp_path, *cases, check=0)
    assert p.returncode == 0, p.stdout
    for c in rep["cases"]:
        assert c["verdict"] == "pass", c
        declared = "-- expect kernel" in open(c["file"]).read()  # the kernel deviates there, on purpose
        maps = [r["maps"] for b, r in c["results"].items()
                if r["status"] == "ok" and "maps" in r and not (declared and b == "kernel")]
        assert all(m == maps[0] for m in maps), c
        if "map-" in c["file"] and "past-end" not in c["file"]:
            assert len(maps) == 3 - declared, c  # every backend gave its maps back


def test_coverage_reports_helpers_and_map_value_accesses(backends):
    """bpfdiff coverage's maps-and-helpers table: every helper of Linux's profile and every map
    type reached by conformance/, and map-value loads/stores counted at run time, passed on
    every backend."""
    need(backends, "uvm", "kernel", "xdp")
    p = run("coverage", "--backend", "uvm,kernel,xdp", CONFORMANCE)
    out = p.stdout[p.stdout.index("maps and helpers"):]
    rows = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            break
        rows[" ".join(parts[:-4])] = (int(parts[-4]), parts[-3:])
    for name in ("map array", "map hash", "map prog_array", "map value load (run)", "map value store (run)",
                 "helper bpf_map_lookup_elem", "helper bpf_map_update_elem", "helper bpf_map_delete_elem",
                 "helper bpf_ktime_get_ns", "helper bpf_get_prandom_u32", "helper bpf_get_smp_processor_id",
                 "helper bpf_tail_call", "helper bpf_loop"):
        n, per = rows[name]
        assert n > 0 and per == [f"{n}/{n}"] * 3, (name, rows[name], out)
