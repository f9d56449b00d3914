/* SPDX-License-Identifier: MIT */
/*
 * Shapes: templates the fuzz input weaves into its program, to reach what a
 * random body never does and the kernel verifier's hard cases need (issue 13):
 * bounded loops, call chains 8 frames deep, variable-offset pointers, pointer
 * spills, 64-bit edge values, map helpers, bpf_loop and tail calls.
 *
 * A shape is one *marker* instruction in the body (input.h):
 *
 *   opcode BDF_SHAPE_OPCODE (0x8f: no eBPF instruction has it)
 *   imm & 0xff   the shape (index into bdf_shapes, taken modulo their number)
 *   imm >> 8, off, dst   the shape's parameters (a seed its emitter draws from)
 *   src          facts the normaliser writes (BDF_SHAPE_R1_MEM), not input
 *
 * bdf_build_program replaces each marker by its shape's code; functions the
 * code calls (call chains, bpf_loop callbacks) go after the main function.
 * What a shape's code may assume and must leave behind, so that the body
 * around it stays valid for the verifier and deterministic on every VM:
 *  - it reads only registers it wrote, r0 (always readable), r10, and r1
 *    when the normaliser says r1 is still the case memory;
 *  - it leaves no pointer in r0, r2..r9 nor in the stack; r1 is as it was
 *    (a shape that calls spills and refills it), or 0 when it was not the
 *    memory and the shape calls; r2..r5 are unreadable after a shape that
 *    calls (BDF_SHAPE_CALLS / BDF_SHAPE_HELPERS);
 *  - its stack is [r10-128, r10-64) (below what the prologue zeroes) plus the
 *    prologue's slots, which it may overwrite with scalars;
 *  - it folds what it computed into r0 (add/xor), so the diff sees it.
 */
#ifndef BPFDIFF_FUZZ_SHAPES_H
#define BPFDIFF_FUZZ_SHAPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vm/ebpf.h"

#define BDF_SHAPE_OPCODE 0x8f
#define BDF_SHAPE_R1_MEM 1      /* marker src bit: r1 is the case memory here */
#define BDF_MAX_SHAPES 8        /* expanded per program; later markers are left out */
#define BDF_SHAPE_MAX_LEN 320   /* one shape's code: inline part + its functions */
#define BDF_SHAPE_FRAME 256     /* with shapes, the body's stack stays in [r10-256, r10) */

/* Shape flags. */
#define BDF_SHAPE_CALLS 1u   /* local calls or callbacks: subprograms */
#define BDF_SHAPE_HELPERS 2u /* helper calls (r1..r5 clobbered) */
#define BDF_SHAPE_MAPS 4u    /* needs the fuzz map set (bdf_fuzz_maps_data) */
#define BDF_SHAPE_TAIL 8u    /* a tail call: no subprogram may exist in the program */
#define BDF_SHAPE_LOOP_STACK 16u /* adds verifier-inserted stack to the main frame (bpf_loop inlining) */

struct bdf_shape_ctx {
	bool r1_mem;     /* r1 is the case memory pointer */
	size_t mem_len;  /* the case memory's length */
	int max_frames;  /* frames a call chain may use, main's included (2..8) */
};

/* A shape's code: insns [0, split) go where the marker was, [split, n) after
 * the main function. calls[] are the call / lddw_code_addr instructions whose
 * target is a label of the functions part (their imm is set when placed). */
struct bdf_shape_code {
	struct ebpf_insn x[BDF_SHAPE_MAX_LEN];
	size_t n, split;
	int label[16];
	struct {
		unsigned short at;
		unsigned char label;
	} calls[16], jumps[48];
	int ncalls, njumps;
	bool overflow;
	unsigned features; /* BDF_FEAT_*: what this code exercises */
};

/* Features a program reaches, for the coverage report (per backend: a
 * program with the feature ran ok there). */
#define BDF_FEAT_LOOP 1u       /* a back-edge that runs */
#define BDF_FEAT_CALL3 2u      /* call depth >= 3 frames (call_depth_ge3) */
#define BDF_FEAT_REGOFF 4u     /* a memory access through a register-offset pointer */
#define BDF_FEAT_PTRSPILL 8u   /* a pointer spilled to the stack and filled */
#define BDF_FEAT_HELPER 16u    /* a helper call */
#define BDF_FEAT_MAPVAL 32u    /* a load/store through a map-value pointer */
#define BDF_NFEATS 6
extern const char *const bdf_feature_names[BDF_NFEATS];

struct bdf_shape {
	const char *name;
	unsigned flags;
	void (*emit)(uint64_t seed, const struct bdf_shape_ctx *ctx, struct bdf_shape_code *out);
};

extern const struct bdf_shape bdf_shapes[];
extern const int bdf_nshapes;

/* The shape index of a marker, or -1 for any other instruction. */
static inline int bdf_shape_of(const struct ebpf_insn *x)
{
	return x->opcode == BDF_SHAPE_OPCODE ? (int)((uint32_t)x->imm & 0xff) % bdf_nshapes : -1;
}
/* A marker for shape s with parameters from seed (the mutator's). */
struct ebpf_insn bdf_shape_marker(int s, uint64_t seed);
/* The shape index by name, or -1. */
int bdf_shape_lookup(const char *name);

/* Emit marker x's code (labels resolved, calls left for the placer). 0, or
 * -1 when it does not fit (then nothing is emitted). */
int bdf_shape_emit(const struct ebpf_insn *x, const struct bdf_shape_ctx *ctx, struct bdf_shape_code *out);

/* The maps and tail-call programs a program with a BDF_SHAPE_MAPS shape runs
 * with, as .data sections (map 0 array, 1 hash, 2 prog_array). */
extern const char bdf_fuzz_maps_data[];
#define BDF_MAP_ARRAY_IDX 0
#define BDF_MAP_HASH_IDX 1
#define BDF_MAP_PROGS_IDX 2
#define BDF_MAP_VALUE_SIZE 16

#endif
