#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tinyvm: a deliberately small eBPF VM speaking the bpf_conformance plugin contract.

It exists to test bpfdiff's plugin backend against an implementation that shares no code
with bpfdiff:

    tinyvm.py [MEMORY_HEX] [--program HEX]     program hex on stdin unless --program
    stdout: R0 in hex; exit 0
    stderr: "unsupported opcode 0x..", "fault: ...", "timeout: ..."; exit 1
    usage / input errors: exit 2

ISA subset: ALU64/ALU32 add sub mul or and xor lsh rsh mov neg (imm and reg), lddw,
ldx/st/stx in all four widths on the memory and the stack, ja, jeq jne jgt jge jlt jle
(64-bit, imm and reg), exit. At entry r1 = memory, r2 = its length, r10 = stack top.
"""
import struct
import sys

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
MEM_ADDR = 0x1_0000_0000
STACK_SIZE = 512
STACK_TOP = 0x2_0000_0000
BUDGET = 1_000_000

ALU_OPS = {
    0x00: lambda a, b, w: a + b,
    0x10: lambda a, b, w: a - b,
    0x20: lambda a, b, w: a * b,
    0x40: lambda a, b, w: a | b,
    0x50: lambda a, b, w: a & b,
    0x60: lambda a, b, w: a << (b & (w - 1)),
    0x70: lambda a, b, w: a >> (b & (w - 1)),
    0xa0: lambda a, b, w: a ^ b,
    0xb0: lambda a, b, w: b,
}
JMP_OPS = {
    0x10: lambda a, b: a == b,
    0x20: lambda a, b: a > b,
    0x30: lambda a, b: a >= b,
    0x50: lambda a, b: a != b,
    0xa0: lambda a, b: a < b,
    0xb0: lambda a, b: a <= b,
}
SIZES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}


class VMError(Exception):
    pass


def parse_hex(what, text):
    out = bytearray()
    for tok in text.split():
        if len(tok) % 2:
            raise ValueError(f"{what}: odd number of hex digits in '{tok[:40]}'")
        try:
            out += bytes.fromhex(tok)
        except ValueError:
            raise ValueError(f"{what}: invalid hex '{tok[:40]}'") from None
    return bytes(out)


def region(mem, stack, addr, size, pc):
    if MEM_ADDR <= addr and addr + size <= MEM_ADDR + len(mem):
        return mem, addr - MEM_ADDR
    if STACK_TOP - STACK_SIZE <= addr and addr + size <= STACK_TOP:
        return stack, addr - (STACK_TOP - STACK_SIZE)
    raise VMError(f"fault: pc {pc}: access of {size} bytes at {addr:#x} out of bounds")


def run(prog, memory):
    insns = [struct.unpack_from("<BBhi", prog, i) for i in range(0, len(prog), 8)]
    mem = bytearray(memory)
    stack = bytearray(STACK_SIZE)
    reg = [0] * 11
    reg[1] = MEM_ADDR if mem else 0
    reg[2] = len(mem)
    reg[10] = STACK_TOP
    pc = 0
    steps = 0
    while True:
        if pc < 0 or pc >= len(insns):
            raise VMError(f"fault: pc {pc} outside the program")
        steps += 1
        if steps > BUDGET:
            raise VMError(f"timeout: more than {BUDGET} instructions")
        op, regs, off, imm = insns[pc]
        dst, src = regs & 0xF, regs >> 4
        cls = op & 7
        if dst > 10 or src > 10:
            raise VMError(f"unsupported opcode {op:#04x}: register out of range at pc {pc}")
        if cls in (0x4, 0x7) and (op & 0xF0) in ALU_OPS and off == 0:
            w = 64 if cls == 7 else 32
            mask = MASK64 if w == 64 else MASK32
            b = reg[src] if op & 8 else imm & MASK64
            val = ALU_OPS[op & 0xF0](reg[dst] & mask, b & mask, w)
            reg[dst] = val & mask
        elif op in (0x87, 0x84):
            mask = MASK64 if op == 0x87 else MASK32
            reg[dst] = -reg[dst] & mask
        elif op == 0x18 and src == 0:
            if pc + 1 >= len(insns):
                raise VMError(f"fault: pc {pc}: lddw without its second half")
            reg[dst] = (imm & MASK32) | ((insns[pc + 1][3] & MASK32) << 32)
            pc += 1
        elif cls == 0x1 and (op & 0xE0) == 0x60:
            size = SIZES[op & 0x18]
            buf, o = region(mem, stack, (reg[src] + off) & MASK64, size, pc)
            reg[dst] = int.from_bytes(buf[o:o + size], "little")
        elif cls in (0x2, 0x3) and (op & 0xE0) == 0x60:
            size = SIZES[op & 0x18]
            val = reg[src] if cls == 0x3 else imm & MASK64
            buf, o = region(mem, stack, (reg[dst] + off) & MASK64, size, pc)
            buf[o:o + size] = (val & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        elif op == 0x05:
            pc += off
        elif cls == 0x5 and (op & 0xF0) in JMP_OPS:
            b = reg[src] if op & 8 else imm & MASK64
            if JMP_OPS[op & 0xF0](reg[dst], b):
                pc += off
        elif op == 0x95:
            return reg[0]
        else:
            raise VMError(f"unsupported opcode {op:#04x} at pc {pc}")
        pc += 1


def main(argv):
    args = argv[1:]
    memory_hex = ""
    program_hex = None
    # As ubpf_plugin: the first argument, unless an option, is the memory.
    if args and not args[0].startswith("--"):
        memory_hex = args.pop(0)
    while args:
        a = args.pop(0)
        if a == "":
            continue
        if a == "--program" and args:
            program_hex = args.pop(0)
        else:
            print(f"tinyvm: invalid argument '{a}'", file=sys.stderr)
            return 2
    if program_hex is None:
        program_hex = sys.stdin.read()
    try:
        prog = parse_hex("program", program_hex)
        memory = parse_hex("memory", memory_hex)
    except ValueError as e:
        print(f"tinyvm: {e}", file=sys.stderr)
        return 2
    if not prog or len(prog) % 8:
        print(f"tinyvm: program is {len(prog)} bytes, not a non-zero multiple of 8", file=sys.stderr)
        return 2
    try:
        r0 = run(prog, memory)
    except VMError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"{r0:x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
