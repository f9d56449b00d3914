/* SPDX-License-Identifier: MIT */
/*
 * The fuzz input format (one layout for libFuzzer, AFL++, the replay driver,
 * data2input and the custom mutator):
 *
 *   offset 0      u32, little-endian: P = length of the program body in bytes
 *   offset 4      P bytes: body instructions, 8 bytes each (struct ebpf_insn, LE);
 *                 P is clamped to what the input holds and rounded down to 8
 *   offset 4+P    the rest: the case's input memory (r1/r2), at most
 *                 BDF_MAX_MEM bytes, zero-padded to BDF_MIN_MEM
 *
 * An input shorter than 4 bytes is an empty body. This is ubpf's fuzzer
 * layout, so inputs can be exchanged with it.
 *
 * The program that runs is  PROLOGUE + normalised body + `exit`:
 *  - the prologue gives r0, r3..r9 values (edge constants and two unknown
 *    scalars loaded from memory) and zeroes the stack slots [r10-64, r10):
 *    the kernel verifier refuses reads of uninitialised registers and stack,
 *    and without it most programs would never reach the JIT;
 *  - normalisation makes every body instruction a valid form (unknown opcode
 *    -> a form chosen from the opcode byte; unused fields zeroed; registers
 *    folded into r0..r10; no writes to r10; lddw second slots well-formed) and
 *    every jump/call target a *forward* target inside the program: back-edges
 *    are rewritten forward, so no program loops (the verifier refuses most
 *    unbounded loops, and the uvm would spend its budget on them);
 *  - operands are made what the verifier accepts: a register that may hold a
 *    pointer (r1, r10, copies) is not compared, masked or stored (the result
 *    would only tell where memory is), r1..r5 are not read after a call,
 *    load/store bases are pointers with offsets inside the memory or the
 *    stack frame (aligned there), a stack read only reads bytes written on
 *    every path to it (else it would read another VM's garbage), shift
 *    counts are masked and immediate divisors are not 0;
 *  - `call` (local) imm&1 selects one of two fixed local functions appended
 *    after the main function (they clobber r6..r9 and write their frame);
 *    such a program also gets a canary at [r10-272] (below a 256-byte
 *    callee frame) stored before the body and added into r0 at the end;
 *  - an instruction nothing reaches (after `exit` or `ja`) is refused by the
 *    verifier: the terminator before it becomes `jeq r0, 0, <same target>`;
 *    the final exit is left out when nothing reaches it;
 *  - a valid program with in-range forward jumps is left unchanged, so inputs
 *    converted from .data files (data2input) run as written after the prologue.
 *
 * Shapes (shapes.h): a body instruction with opcode 0x8f (which no eBPF
 * instruction has) is a shape marker: imm & 0xff picks a shape (modulo their
 * number), imm >> 8, off and dst are its parameters, src is the normaliser's
 * (whether r1 is still the memory there). The first BDF_MAX_SHAPES markers are
 * replaced by their shape's code, which may loop, call 8 frames deep, use
 * variable-offset and spilled pointers, helpers and the fuzz maps; functions
 * it calls go after the main function (and after the two fixed local
 * functions). With a marker in the body, the body's own stack accesses stay
 * within [r10-256, r10) (the rest is the shapes' and their callees').
 */
#ifndef BPFDIFF_FUZZ_INPUT_H
#define BPFDIFF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "../vm/ebpf.h"
#include "shapes.h"

#define BDF_MAX_BODY 1024 /* body instructions */
#define BDF_MAX_MEM 512
#define BDF_MIN_MEM 16
#define BDF_PROLOGUE_LEN 16
#define BDF_STACK_INIT 64 /* bytes below r10 the prologue zeroes */
#define BDF_MAX_PROG (BDF_PROLOGUE_LEN + BDF_MAX_BODY + 4 + 32 + BDF_MAX_SHAPES * BDF_SHAPE_MAX_LEN)

/* A decoded input: pointers into the caller's bytes (body may be unaligned). */
struct bdf_input {
	const uint8_t *body;
	size_t nbody; /* instructions */
	const uint8_t *mem;
	size_t mem_len; /* as in the input, before clamping/padding */
	const uint8_t *raw; /* the whole input */
	size_t raw_len;
};

void bdf_input_split(const uint8_t *data, size_t size, struct bdf_input *in);

/* Encode body + memory into out (cap bytes); returns the size, or 0 if it does not fit. */
size_t bdf_input_encode(const struct ebpf_insn *body, size_t nbody, const uint8_t *mem, size_t mem_len,
			uint8_t *out, size_t cap);

/* The program that runs: prologue + normalised body + exit + the local
 * functions its calls use, into prog (BDF_MAX_PROG slots). Returns the
 * instruction count. */
size_t bdf_build_program(const struct bdf_input *in, struct ebpf_insn *prog);
/* The same, and what the program holds: the shapes expanded (bit s =
 * bdf_shapes[s]) and their flags (BDF_SHAPE_MAPS: run it with the fuzz maps). */
struct bdf_program_info {
	uint32_t shapes;
	unsigned flags;
	unsigned features; /* BDF_FEAT_* */
};
size_t bdf_build_program_info(const struct bdf_input *in, struct ebpf_insn *prog, struct bdf_program_info *info);

/* Normalise a body in place (see above; also: no unreachable instruction,
 * which the verifier refuses); nbody is not changed. Returns whether the end
 * of the body is reached, i.e. whether the final `exit` is needed. */
int bdf_normalize_body(struct ebpf_insn *body, size_t nbody, size_t mem_len);

/* The mutator's last output, which it normalised (mutator.c): building that
 * exact input skips normalising it again (normalisation is idempotent,
 * mutator_test checks it). NULL forgets it. */
void bdf_note_normalized(const uint8_t *data, size_t size);

/* The case memory: clamped and padded copy into mem (BDF_MAX_MEM bytes). */
size_t bdf_build_mem(const struct bdf_input *in, uint8_t *mem);

extern const struct ebpf_insn bdf_prologue[BDF_PROLOGUE_LEN];

#endif
