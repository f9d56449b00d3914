/* SPDX-License-Identifier: MIT */
/*
 * The Linux verifier's level-2 log as data: for every instruction, the
 * register states the verifier held before it on each path it explored, and
 * the instructions where it pruned a path ("safe"). Read by the
 * verifier-state oracle (oracle.h), which checks a concrete run against it.
 *
 * How the log is read (kernel 6.x format):
 *   "from A to B: R0=... R10=fp0"   a path resumes at B: its full state
 *   "N: (bf) r1 = r10  ; R1=fp0"     insn N; after ';' the registers it changed
 *   "N: R3=99"                       registers changed by the last insn (when
 *                                    other lines came between)
 *   "caller:/callee:", "returning from callee:/to caller at N:"
 *                                    full states at a local call and its return
 *   "N: safe", "from A to B: safe"   the path is pruned: covered by a state
 *                                    explored before at N (resp. B)
 * The state before each "N: (op)" line is the state carried along the path:
 * the last full state with every later change applied. A helper call leaves
 * r1-r5 unreadable (no claim); an exit ends the path.
 */
#ifndef BPFDIFF_VLOG_H
#define BPFDIFF_VLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vlog_kind {
	VLOG_NONE,      /* not initialised on this path, or not printed: no claim */
	VLOG_SCALAR,    /* a number within b */
	VLOG_MAP_VALUE, /* map value `map` + off + a variable part within b */
	VLOG_STACK,     /* the frame pointer of frame `frame` (-1: its own) + off + variable part within b */
	VLOG_OTHER,     /* another pointer type (ctx, map_value_or_null, func, ...): no claim checked */
};

/* A range as the verifier keeps it: every constraint must hold. */
struct vlog_bounds {
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t smin32, smax32;
	uint32_t umin32, umax32;
	uint64_t tnum_value, tnum_mask; /* var_off: bits in mask are unknown, the others are value's */
};

struct vlog_reg {
	uint8_t kind;       /* enum vlog_kind */
	bool precise;       /* printed with P: the verifier tracks it precisely for pruning */
	int frame;          /* VLOG_STACK: -1 own frame, k for fp[k] */
	int32_t off;        /* pointers: the fixed offset */
	uint32_t value_size;/* VLOG_MAP_VALUE: vs= */
	char map[16];       /* VLOG_MAP_VALUE: the map's name */
	struct vlog_bounds b;
};

/* The state before one instruction on one explored path. */
struct vlog_point {
	uint32_t insn;      /* the kernel's numbering (the loaded program's) */
	struct vlog_reg r[11];
};

/* A step of an explored path, from one instruction to the next it processed. */
struct vlog_edge {
	uint32_t from, to;
};

struct vlog {
	struct vlog_point *pts; /* in log order */
	size_t n, cap;
	uint8_t *pruned;        /* per insn (< ninsns): a path was pruned there */
	size_t ninsns;          /* 1 + the largest insn number seen */
	bool complete;          /* the "processed N insns" line was seen */
	/* Steps of explored paths (the insn before and after on one path:
	 * consecutive insn lines, "from A to B" then B), and the steps that
	 * led into a prune ("X: safe" after insn P: P -> X; "from A to X: safe";
	 * P -> VLOG_ANY: every step from P).
	 * Unsorted, possibly repeated. */
	struct vlog_edge *steps, *pruned_steps;
	size_t nsteps, npruned_steps, capsteps, cappruned;
};

/* Unbounded: what "scalar()" claims. */
void vlog_bounds_unknown(struct vlog_bounds *b);
/* Parse one register value as printed ("P5", "-1", "0x80000000",
 * "scalar(smin=smin32=0,...)", "map_value(map=m,ks=4,vs=8,off=4)", "fp-8",
 * "fp(off=-16,...)", "fp[0]-8", "ctx()"). 0, or -1 when it is not understood. */
int vlog_parse_value(const char *s, size_t len, struct vlog_reg *out);
/* Parse a whole level-2 log. 0, or -1 with err (the line number and why). */
int vlog_parse(const char *text, struct vlog *v, char *err, size_t errlen);
/* The same for a program whose insns below `first` are bpfdiff's own (the
 * prologue, the epilogue and the helper trampolines, kexec.c): a path's steps
 * go over them (case insn -> trampoline -> case insn is one step), and a prune
 * inside them prunes every step from the case insn before (to VLOG_ANY). */
int vlog_parse_case(const char *text, uint32_t first, struct vlog *v, char *err, size_t errlen);
#define VLOG_ANY UINT32_MAX
void vlog_free(struct vlog *v);

/* Is x within the bounds (every one of the nine constraints)? */
bool vlog_bounds_contain(const struct vlog_bounds *b, uint64_t x);
/* The claim as text, for reports: "scalar(smin=0,smax=7,...)", "map_value+4". */
void vlog_reg_format(const struct vlog_reg *r, char *out, size_t outlen);

#endif
