/* SPDX-License-Identifier: MIT */
/* The shapes a fuzz input weaves into its program: see shapes.h. Each shape
 * is one emitter; the table at the end names them. */
#include <limits.h>
#include <string.h>
#include "shapes.h"
#include "rng.h"

/* ---- a tiny assembler with labels -------------------------------------- */


typedef struct bdf_shape_code code;

static void op(code *c, uint8_t opc, int dst, int src, int off, int32_t imm)
{
	if (c->n >= BDF_SHAPE_MAX_LEN) {
		c->overflow = true;
		return;
	}
	c->x[c->n++] = (struct ebpf_insn){ .opcode = opc, .dst = (uint8_t)dst, .src = (uint8_t)src,
					   .off = (int16_t)off, .imm = imm };
}
static void lddw(code *c, int dst, int src, uint64_t v)
{
	op(c, 0x18, dst, src, 0, (int32_t)(uint32_t)v);
	op(c, 0x00, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}
static void label(code *c, int l) { c->label[l] = (int)c->n; }
/* A jump (off) or ja32 (imm) to label l, resolved by finish(). */
static void jmp(code *c, uint8_t opc, int dst, int src, int32_t imm, int l)
{
	if (c->njumps < (int)(sizeof(c->jumps) / sizeof(c->jumps[0]))) {
		c->jumps[c->njumps].at = (unsigned short)c->n;
		c->jumps[c->njumps++].label = (unsigned char)l;
	} else {
		c->overflow = true;
	}
	op(c, opc, dst, src, 0, imm);
}
/* A local call (or lddw_code_addr dst, when opc is 0x18) to the function at label l. */
static void call_fn(code *c, uint8_t opc, int dst, int l)
{
	if (c->ncalls < (int)(sizeof(c->calls) / sizeof(c->calls[0]))) {
		c->calls[c->ncalls].at = (unsigned short)c->n;
		c->calls[c->ncalls++].label = (unsigned char)l;
	} else {
		c->overflow = true;
	}
	if (opc == 0x18) {
		op(c, 0x18, dst, 4, 0, 0);
		op(c, 0, 0, 0, 0, 0);
	} else {
		op(c, 0x85, 0, 1, 0, 0);
	}
}
static void helper(code *c, int nr) { op(c, 0x85, 0, 0, 0, nr); }
/* The functions part starts here (after the inline part). */
static void functions(code *c) { c->split = c->n; }

static void finish(code *c)
{
	for (int i = 0; i < c->njumps; i++) {
		struct ebpf_insn *x = &c->x[c->jumps[i].at];
		long v = (long)c->label[c->jumps[i].label] - (long)c->jumps[i].at - 1;
		if (x->opcode == 0x06)
			x->imm = (int32_t)v;
		else
			x->off = (int16_t)v;
	}
}

/* Size field bits of a load/store of n bytes. */
static uint8_t szbits(int n) { return n == 1 ? 0x10 : n == 2 ? 0x08 : n == 4 ? 0x00 : 0x18; }
static void ldx(code *c, int n, int dst, int src, int off) { op(c, 0x61 | szbits(n), dst, src, off, 0); }
static void stx(code *c, int n, int dst, int off, int src) { op(c, 0x63 | szbits(n), dst, src, off, 0); }
static void st(code *c, int n, int dst, int off, int32_t imm) { op(c, 0x62 | szbits(n), dst, 0, off, imm); }
static int size_of(struct rng *r) { return 1 << below(r, 4); }
static int log2i(unsigned v) { int k = 0; while (v > 1) { v >>= 1; k++; } return k; }

/* The shape's private stack slots (below the prologue's 64 bytes). */
#define S_R1 (-72)     /* r1 (the memory) across calls */
#define S_R0 (-80)     /* r0 across helper calls */
#define S_CANARY (-88) /* main's frame canary across a call chain */
#define S_SPILL (-96)  /* spills and fills */
#define S_VAL (-112)   /* a map value: 16 bytes [-112, -96) */
#define S_KEY (-120)   /* a map key: 4 bytes */
#define S_AREA (-128)  /* variable-offset stack: [-128, -96) */

/* `count` distinct registers from r2..r9 (r6..r9 only when calls are in
 * between: they survive them). */
static void pick_regs(struct rng *r, int *out, int count, bool callee_saved)
{
	int pool[8], n = 0;
	for (int k = callee_saved ? 6 : 2; k <= 9; k++)
		pool[n++] = k;
	for (int i = 0; i < count; i++) {
		int j = i + (int)below(r, (unsigned)(n - i));
		int t = pool[i];
		pool[i] = pool[j];
		pool[j] = t;
		out[i] = pool[i];
	}
}

static const uint64_t edge64[] = {
	0x8000000000000000ULL, 0x7fffffffffffffffULL, 0x100000000ULL, 0xffffffffULL, 0x100000001ULL,
	0xffffffff00000000ULL, 0xffffffff7fffffffULL, 0x80000000ULL, 0x7fffffffULL, 0xffffffff80000000ULL,
	0x00000000ffffffffULL, 0xfffffffffffffffeULL, 0x8000000000000001ULL, 0x7fffffff00000000ULL,
	0x00000001ffffffffULL, 0x0000000080000000ULL, 1, 0, 0xffffffffffffffffULL, 0x0123456789abcdefULL,
};
#define NEDGE64 (sizeof(edge64) / sizeof(edge64[0]))
static uint64_t pick64(struct rng *r)
{
	return below(r, 4) ? edge64[below(r, NEDGE64)] : rnd(r) | 1;
}

/* dst = a value the verifier cannot know: `size` bytes of the memory when r1
 * is the memory, else a slot of the prologue's stack (which the body may
 * have written). */
static void unknown(code *c, struct rng *r, const struct bdf_shape_ctx *x, int dst, int size)
{
	if (x->r1_mem && x->mem_len >= (size_t)size) {
		ldx(c, size, dst, 1, (int)below(r, (unsigned)(x->mem_len - (size_t)size + 1)));
	} else {
		int slot = -8 * (1 + (int)below(r, 8));
		ldx(c, size, dst, 10, slot + (8 - size)); /* aligned within the slot */
	}
}

/* Save r0 (and r1 when it is the memory) around calls; restore after. */
static void save_regs(code *c, const struct bdf_shape_ctx *x)
{
	stx(c, 8, 10, S_R0, 0);
	if (x->r1_mem)
		stx(c, 8, 10, S_R1, 1);
}
/* r0 = saved r0 + acc; r1 back (or 0). */
static void restore_regs(code *c, const struct bdf_shape_ctx *x, int acc)
{
	ldx(c, 8, 0, 10, S_R0);
	if (acc >= 0)
		op(c, 0x0f, 0, acc, 0, 0);
	if (x->r1_mem) {
		ldx(c, 8, 1, 10, S_R1);
		st(c, 8, 10, S_R1, 0); /* no pointer left in the stack */
	} else {
		op(c, 0xb7, 1, 0, 0, 0);
	}
}

/* A conditional jump opcode: K form (0x?5) or X (0x?d), jmp (class 5) or jmp32 (6). */
static uint8_t jcc(uint8_t base_k, bool x, bool j32) { return (uint8_t)(base_k + (x ? 8 : 0) + (j32 ? 1 : 0)); }

/* ---- loops ------------------------------------------------------------- */

/* mov a, 0; L: b = b*3 ^ a; a += 1; if a < N goto L (jlt/jle/jne, 64 or 32 bits). */
static void emit_loop_const(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	(void)x;
	struct rng r = { seed };
	int g[2];
	pick_regs(&r, g, 2, false);
	int a = g[0], b = g[1], n = 1 + (int)below(&r, 40);
	bool j32 = below(&r, 3) == 0;
	c->features |= BDF_FEAT_LOOP;
	op(c, 0xb7, a, 0, 0, 0);
	lddw(c, b, 0, pick64(&r));
	label(c, 0);
	op(c, 0x27, b, 0, 0, 3);
	op(c, below(&r, 2) ? 0xaf : 0x0f, b, a, 0, 0);
	op(c, 0x07, a, 0, 0, 1);
	switch (below(&r, 3)) {
	case 0: jmp(c, jcc(0xa5, false, j32), a, 0, n, 0); break;     /* jlt */
	case 1: jmp(c, jcc(0xb5, false, j32), a, 0, n - 1, 0); break; /* jle */
	default: jmp(c, jcc(0x55, false, j32), a, 0, n, 0); break;    /* jne */
	}
	op(c, 0x0f, 0, b, 0, 0);
	op(c, 0xaf, 0, a, 0, 0);
}

/* The bound n is an unknown scalar the verifier learns from a branch, a
 * mask or an ALU32 truncation; the loop counts up to it (or n counts down). */
static void bounded_unknown(code *c, struct rng *r, const struct bdf_shape_ctx *x, int n, int lim_log2, int skip)
{
	int size = 1 << (2 + below(r, 2)); /* 4 or 8 bytes: upper halves that ALU32 drops */
	unknown(c, r, x, n, size);
	unsigned lim = 1u << lim_log2;
	switch (below(r, 5)) {
	case 0: op(c, 0x57, n, 0, 0, (int32_t)(lim - 1)); break;                       /* and */
	case 1: op(c, 0x54, n, 0, 0, (int32_t)(lim - 1)); break;                       /* and32 */
	case 2: op(c, 0x74, n, 0, 0, 32 - lim_log2); break;                            /* rsh32 */
	case 3: jmp(c, 0x25, n, 0, (int32_t)(lim - 1), skip); break;                   /* jgt: skip */
	default:                                                                       /* signed range */
		jmp(c, 0x66, n, 0, (int32_t)(lim - 1), skip);                          /* jsgt32 */
		jmp(c, 0xc6, n, 0, 0, skip);                                           /* jslt32 */
		op(c, 0xbc, n, n, 0, 0);                                               /* w = w */
		break;
	}
}

static void emit_loop_learned(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[3];
	pick_regs(&r, g, 3, false);
	int n = g[0], a = g[1], b = g[2];
	c->features |= BDF_FEAT_LOOP;
	lddw(c, b, 0, pick64(&r));
	op(c, 0xb7, a, 0, 0, 0);
	bounded_unknown(c, &r, x, n, 1 + (int)below(&r, 5), 1);
	label(c, 0);
	op(c, 0x0f, b, a, 0, 0);
	op(c, 0xa7, b, 0, 0, 0x5a5a5a5a);
	if (below(&r, 2)) { /* a counts up to n */
		op(c, 0x07, a, 0, 0, 1);
		jmp(c, below(&r, 2) ? 0xad : 0xae, a, n, 0, 0); /* jlt / jlt32 a, n */
	} else {            /* n counts down to 0 */
		op(c, 0x07, a, 0, 0, 3);
		op(c, 0x17, n, 0, 0, 1);
		jmp(c, 0x65, n, 0, 0, 0); /* jsgt n, 0 */
	}
	label(c, 1);
	op(c, 0x0f, 0, b, 0, 0);
	op(c, 0x0f, 0, a, 0, 0);
}

/* Outer loop to a constant, inner loop to a learned bound. */
static void emit_loop_nested(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[4];
	pick_regs(&r, g, 4, false);
	int a = g[0], i = g[1], m = g[2], b = g[3];
	c->features |= BDF_FEAT_LOOP;
	op(c, 0xb7, a, 0, 0, 0);
	lddw(c, b, 0, pick64(&r));
	bounded_unknown(c, &r, x, m, 1 + (int)below(&r, 3), 2);
	label(c, 0);
	op(c, 0xb7, i, 0, 0, 0);
	label(c, 1);
	op(c, 0x2f, b, a, 0, 0);
	op(c, 0x0f, b, i, 0, 0);
	op(c, 0x07, i, 0, 0, 1);
	jmp(c, 0xad, i, m, 0, 1); /* jlt i, m */
	op(c, 0x07, a, 0, 0, 1);
	jmp(c, 0xa5, a, 0, 1 + (int)below(&r, 6), 0);
	label(c, 2);
	op(c, 0x0f, 0, b, 0, 0);
}

/* may_goto: a loop to an unknown bound (jlt: the verifier sees it end once
 * the counter passes the bound's maximum; jne, which it cannot see end,
 * made it give up on 1 input in 6), with may_goto on every iteration. */
static void emit_loop_may_goto(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[3];
	pick_regs(&r, g, 3, false);
	int a = g[0], n = g[1], b = g[2];
	c->features |= BDF_FEAT_LOOP;
	op(c, 0xb7, a, 0, 0, 0);
	op(c, 0xb7, b, 0, 0, (int32_t)rnd(&r));
	unknown(c, &r, x, n, 1);
	op(c, 0x57, n, 0, 0, 31);
	op(c, 0x47, n, 0, 0, 1); /* 1..31: a reaches it */
	label(c, 0);
	jmp(c, 0xe5, 0, 0, 0, 1); /* may_goto out */
	op(c, 0x07, a, 0, 0, 1);
	op(c, 0xaf, b, a, 0, 0);
	jmp(c, below(&r, 2) ? 0xad : 0xae, a, n, 0, 0); /* jlt / jlt32 a, n: loop */
	label(c, 1);
	op(c, 0x0f, 0, b, 0, 0);
	op(c, 0x0f, 0, a, 0, 0);
}

/* ---- call chains ------------------------------------------------------- */

/* main -> f1 -> ... -> f(d-1): arguments in r1..r5 (r3..r5 passed down the
 * chain untouched), each callee changes r6..r9 (the caller must see its own
 * again) and spills into its frame, a narrow spill among them (which must not
 * alias its caller's); every level folds what it sees into r0. Kept short:
 * a chain is up to 8 copies of it, and the uvm's load cost is per insn. */
static void emit_call_chain(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int frames = 2 + (int)below(&r, 7);
	if (frames > x->max_frames)
		frames = x->max_frames;
	c->features |= (frames >= 3 ? BDF_FEAT_CALL3 : 0) | (x->r1_mem ? BDF_FEAT_PTRSPILL : 0);
	save_regs(c, x);
	lddw(c, 6, 0, pick64(&r));
	op(c, 0xb7, 7, 0, 0, (int32_t)pick64(&r));
	st(c, 8, 10, S_CANARY, (int32_t)rnd(&r));
	for (int k = 5; k >= 1; k--) { /* r1 last: unknown() may read through it */
		if (below(&r, 3) == 0)
			unknown(c, &r, x, k, 8);
		else if (below(&r, 2))
			lddw(c, k, 0, pick64(&r));
		else
			op(c, 0xb7, k, 0, 0, (int32_t)pick64(&r));
	}
	call_fn(c, 0x85, 0, 1);
	op(c, 0x0f, 0, 6, 0, 0);
	op(c, 0xaf, 0, 7, 0, 0);
	ldx(c, 8, 2, 10, S_CANARY);
	op(c, 0x0f, 2, 0, 0, 0);
	restore_regs(c, x, 2);
	functions(c);
	for (int k = 1; k < frames; k++) {
		label(c, k);
		stx(c, 8, 10, -8, 1);
		stx(c, 4, 10, -12, 2); /* narrow */
		op(c, 0xbf, 6, 1, 0, 0);
		op(c, 0x0f, 6, 2, 0, 0);
		op(c, 0xbf, 7, 3, 0, 0);
		op(c, 0xaf, 7, 4, 0, 0);
		/* r9 differs in every frame (r6 does, +k): a callee's r9 leaking
		 * into its caller shows in r0 (r9 is the last callee-saved register
		 * a JIT restores, the one an off-by-one forgets). */
		op(c, 0xbf, 9, 6, 0, 0);
		op(c, 0x07, 9, 0, 0, k);
		if (k + 1 < frames) {
			op(c, 0xbf, 1, 7, 0, 0);
			op(c, 0xbf, 2, 6, 0, 0);
			call_fn(c, 0x85, 0, k + 1);
			op(c, 0x0f, 0, 6, 0, 0);
			op(c, 0xaf, 0, 9, 0, 0);
		} else {
			op(c, 0xbf, 0, 5, 0, 0);
			op(c, 0x2f, 0, 6, 0, 0);
		}
		op(c, 0xaf, 0, 7, 0, 0);
		ldx(c, 8, 2, 10, -8);
		op(c, 0x0f, 0, 2, 0, 0);
		ldx(c, 4, 3, 10, -12);
		op(c, 0xaf, 0, 3, 0, 0);
		op(c, 0x07, 0, 0, 0, k);
		op(c, 0x95, 0, 0, 0, 0);
	}
}

/* ---- pointers ---------------------------------------------------------- */

/* i = an unknown bounded to [0, 2^k) by a mask, a shift, an ALU32
 * truncation or a branch (to label skip), times `scale`. */
static void bounded_index(code *c, struct rng *r, const struct bdf_shape_ctx *x, int i, int k, int scale, int skip)
{
	unsigned lim = 1u << k;
	switch (below(r, 6)) {
	case 0: unknown(c, r, x, i, 8); op(c, 0x57, i, 0, 0, (int32_t)(lim - 1)); break;   /* and */
	case 1: unknown(c, r, x, i, 8); op(c, 0x77, i, 0, 0, 64 - k); break;               /* rsh */
	case 2: unknown(c, r, x, i, 8); op(c, 0x74, i, 0, 0, 32 - k); break;               /* rsh32 */
	case 3: unknown(c, r, x, i, 8); op(c, 0x54, i, 0, 0, (int32_t)(lim - 1)); break;   /* and32 */
	case 4: unknown(c, r, x, i, 4); jmp(c, 0x25, i, 0, (int32_t)(lim - 1), skip); break; /* jgt */
	default:                                                                         /* jge32 then w = w */
		unknown(c, r, x, i, 8);
		jmp(c, 0x36, i, 0, (int32_t)lim, skip);
		op(c, 0xbc, i, i, 0, 0);
		break;
	}
	if (scale > 1)
		op(c, 0x67, i, 0, 0, log2i((unsigned)scale));
}

/* Load or store through r1 + a bounded variable offset (copy of r1, scalar
 * added either way round). */
static void emit_ptr_var_mem(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c);
static void emit_ptr_var_stack(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[3];
	pick_regs(&r, g, 3, false);
	int i = g[0], p = g[1], v = g[2];
	int size = size_of(&r);
	c->features |= BDF_FEAT_REGOFF;
	/* The area [-128, -96) is written first: a variable-offset read needs every byte it may read written. */
	for (int o = S_AREA; o < S_AREA + 32; o += 8)
		st(c, 8, 10, o, (int32_t)rnd(&r));
	int k = log2i(32u / (unsigned)size) - (int)below(&r, 2); /* index in [0, 2^k), times size */
	if (k < 0)
		k = 0;
	bounded_index(c, &r, x, i, k, size, 1);
	if (below(&r, 2)) {
		op(c, 0xbf, p, 10, 0, 0);
		op(c, 0x0f, p, i, 0, 0);
	} else {
		op(c, 0xbf, p, i, 0, 0);
		op(c, 0x0f, p, 10, 0, 0);
	}
	int room = 32 - (size << k); /* constant offset that keeps it in the area, aligned */
	int off = S_AREA + (room > 0 ? (int)below(&r, (unsigned)(room / size + 1)) * size : 0);
	lddw(c, v, 0, pick64(&r));
	if (below(&r, 2))
		stx(c, size, p, off, v);
	ldx(c, size, v, p, off);
	op(c, 0x0f, 0, v, 0, 0);
	op(c, 0xb7, p, 0, 0, 0);
	label(c, 1);
	for (int o = S_AREA; o < S_AREA + 32; o += 8) /* the read of a later shape must not see this one's */
		ldx(c, 8, v, 10, o), op(c, 0xaf, 0, v, 0, 0);
	op(c, 0xb7, p, 0, 0, 0);
}

static void emit_ptr_var_mem(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int size = size_of(&r);
	if (!x->r1_mem || x->mem_len < (size_t)size + 1)
		return emit_ptr_var_stack(seed, x, c);
	int g[3];
	pick_regs(&r, g, 3, false);
	int i = g[0], p = g[1], v = g[2];
	size_t span = x->mem_len - (size_t)size; /* the largest offset */
	c->features |= BDF_FEAT_REGOFF;
	int k = log2i((unsigned)(span + 1 > 4096 ? 4096 : span + 1));
	k -= (int)below(&r, (unsigned)k); /* >= 1: a shift by 64 or a mask of 0 is no bound */
	bounded_index(c, &r, x, i, k, 1, 1);
	if (below(&r, 2)) {
		op(c, 0xbf, p, 1, 0, 0);
		op(c, 0x0f, p, i, 0, 0);
	} else {
		op(c, 0xbf, p, i, 0, 0);
		op(c, 0x0f, p, 1, 0, 0);
	}
	size_t room = span - ((1u << k) - 1);
	int off = (int)below(&r, (unsigned)room + 1);
	switch (below(&r, 3)) {
	case 0: st(c, size, p, off, (int32_t)pick64(&r)); break;
	case 1: lddw(c, v, 0, pick64(&r)); stx(c, size, p, off, v); break;
	default: break;
	}
	ldx(c, size, v, p, off);
	op(c, 0x0f, 0, v, 0, 0);
	op(c, 0xb7, p, 0, 0, 0);
	label(c, 1);
}

/* Pointer copies, spills and fills (of r1 or of a stack pointer), a spilled
 * bounded scalar used as an offset after its fill, narrow spills, and a byte
 * written into a spilled pointer's slot. */
static void emit_ptr_spill(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[4];
	pick_regs(&r, g, 4, false);
	int p = g[0], q = g[1], s = g[2], v = g[3];
	c->features |= BDF_FEAT_PTRSPILL | BDF_FEAT_REGOFF;
	bool mem = x->r1_mem && x->mem_len >= 16 && below(&r, 4);
	int span = mem ? (int)(x->mem_len > 256 ? 256 : x->mem_len) - 8 : 0;
	if (mem) {
		op(c, 0xbf, p, 1, 0, 0);
	} else { /* a stack pointer to S_VAL, whose 16 bytes are written first */
		st(c, 8, 10, S_VAL, (int32_t)rnd(&r));
		st(c, 8, 10, S_VAL + 8, (int32_t)rnd(&r));
		op(c, 0xbf, p, 10, 0, 0);
		op(c, 0x07, p, 0, 0, S_VAL);
	}
	stx(c, 8, 10, S_SPILL, p);           /* spill a pointer */
	op(c, 0xb7, p, 0, 0, 0);
	ldx(c, 8, q, 10, S_SPILL);           /* fill it */
	int off = mem ? (int)below(&r, (unsigned)span / 2) : 8 * (int)below(&r, 2);
	ldx(c, 8, v, q, off);
	op(c, 0x0f, 0, v, 0, 0);
	/* A bounded scalar spilled and filled keeps its bounds: an offset. */
	unknown(c, &r, x, s, 8);
	op(c, 0x57, s, 0, 0, mem ? (int32_t)((1u << log2i((unsigned)span / 2)) - 1) : 1);
	if (!mem)
		op(c, 0x67, s, 0, 0, 3); /* 0 or 8: aligned stack offsets */
	stx(c, 8, 10, S_KEY - 8, s);
	ldx(c, 8, s, 10, S_KEY - 8);
	op(c, 0x0f, q, s, 0, 0);
	ldx(c, mem ? size_of(&r) : 8, v, q, 0);
	op(c, 0xaf, 0, v, 0, 0);
	/* Narrow spills of a 64-bit value: only its low half comes back. */
	lddw(c, s, 0, pick64(&r));
	st(c, 4, 10, S_KEY, 0);
	stx(c, below(&r, 2) ? 4 : 2, 10, S_KEY, s);
	ldx(c, 4, v, 10, S_KEY);
	op(c, 0x0f, 0, v, 0, 0);
	/* A byte over the spilled pointer: that byte is all that is read back. */
	int byte = (int)below(&r, 8);
	st(c, 1, 10, S_SPILL + byte, 0x7e);
	ldx(c, 1, v, 10, S_SPILL + byte);
	op(c, 0x0f, 0, v, 0, 0);
	st(c, 8, 10, S_SPILL, 0);
	op(c, 0xb7, p, 0, 0, 0);
	op(c, 0xb7, q, 0, 0, 0);
}

/* ---- values and jumps ---------------------------------------------------- */

/* 64-bit edge values and random non-zero values in registers, and random
 * contents in the prologue's stack slots. */
static void emit_edge_values(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	(void)x;
	struct rng r = { seed };
	int regs = 2 + (int)below(&r, 6);
	for (int k = 0; k < regs; k++) {
		static const int pool[] = { 0, 2, 3, 4, 5, 6, 7, 8, 9 };
		lddw(c, pool[below(&r, 9)], 0, pick64(&r));
	}
	int slots = (int)below(&r, 5);
	for (int k = 0; k < slots; k++) {
		int reg = 2 + (int)below(&r, 8), o = -8 * (1 + (int)below(&r, 8));
		lddw(c, reg, 0, pick64(&r));
		int n = size_of(&r);
		stx(c, n, 10, o + (int)below(&r, (unsigned)(8 / n)) * n, reg);
	}
}

/* jmp32 on values whose upper halves differ (the 32-bit compare must not
 * see them), then the 64-bit view of what the branch taught. */
static void emit_jmp32_upper(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[3];
	pick_regs(&r, g, 3, false);
	int a = g[0], b = g[1], t = g[2];
	static const uint8_t conds[] = { 0x16, 0x26, 0x36, 0x46, 0x56, 0x66, 0x76, 0xa6, 0xb6, 0xc6, 0xd6 };
	uint8_t cc = conds[below(&r, sizeof(conds))];
	if (below(&r, 2)) {
		unknown(c, &r, x, a, 8);
		lddw(c, t, 0, (uint64_t)pick64(&r) << 32);
		op(c, 0x4f, a, t, 0, 0); /* upper half set, lower half unknown */
	} else {
		lddw(c, a, 0, pick64(&r));
	}
	uint64_t bv = pick64(&r);
	lddw(c, b, 0, bv ^ ((uint64_t)(below(&r, 0xffff) + 1) << 40));
	op(c, 0xb7, t, 0, 0, 1);
	if (below(&r, 2))
		jmp(c, cc | 8, a, b, 0, 1);
	else
		jmp(c, cc, a, 0, (int32_t)bv, 1);
	op(c, 0xb7, t, 0, 0, 2);
	/* the 64-bit compares after the 32-bit one: bounds of both halves meet */
	jmp(c, 0xa5, a, 0, (int32_t)below(&r, 64), 1);
	op(c, 0x07, t, 0, 0, 4);
	label(c, 1);
	op(c, 0x0f, 0, t, 0, 0);
	op(c, 0xbf, t, a, 0, 0);
	op(c, 0x77, t, 0, 0, 32);
	op(c, 0xaf, 0, t, 0, 0);
}

/* Dense ALU32/ALU64 mixes on an unknown scalar, with branches on its range
 * (64- and 32-bit, edge constants) that skip some of them: what the
 * verifier's range tracking (its 64/32-bit, signed/unsigned and tnum views
 * kept in sync) must get right; where its invariant violations show. */
static void emit_bounds_mix(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[2];
	pick_regs(&r, g, 2, false);
	int a = g[0], b = g[1];
	unknown(c, &r, x, a, below(&r, 2) ? 8 : 4);
	unknown(c, &r, x, b, 1 << below(&r, 4));
	static const uint8_t alu[] = { 0x07, 0x17, 0x27, 0x47, 0x57, 0xa7, 0x67, 0x77, 0xc7, 0x97 }; /* add sub mul or and xor lsh rsh arsh mod */
	static const uint8_t conds[] = { 0x15, 0x25, 0x35, 0x45, 0x55, 0x65, 0x75, 0xa5, 0xb5, 0xc5, 0xd5 };
	int nops = 4 + (int)below(&r, 9), pending = -1, lab = 0;
	for (int k = 0; k < nops; k++) {
		bool w32 = below(&r, 2);
		int32_t imm = (int32_t)pick64(&r);
		switch (below(&r, 8)) {
		case 0: case 1: case 2: { /* ALU with an immediate */
			uint8_t o = alu[below(&r, sizeof(alu))];
			if (o == 0x67 || o == 0x77 || o == 0xc7)
				imm &= w32 ? 31 : 63;
			if (o == 0x97 && !imm)
				imm = 7;
			op(c, (uint8_t)(o - (w32 ? 3 : 0)), a, 0, 0, imm);
			break;
		}
		case 3: /* with the other unknown */
			op(c, (uint8_t)(alu[below(&r, 6)] + 8 - (w32 ? 3 : 0)), a, b, 0, 0);
			break;
		case 4: /* zero- or sign-extension */
			switch (below(&r, 4)) {
			case 0: op(c, 0xbc, a, a, 0, 0); break;                                /* w = w */
			case 1: op(c, 0xbf, a, a, 8 << below(&r, 3), 0); break;                /* movsx 8/16/32 */
			case 2: op(c, 0xbc, a, a, 8 << below(&r, 2), 0); break;                /* movsx32 8/16 */
			default: op(c, 0xd7, a, 0, 0, 16 << below(&r, 3)); break;              /* bswap */
			}
			break;
		case 5: op(c, w32 ? 0x84 : 0x87, a, 0, 0, 0); break; /* neg */
		default: /* a branch on its range that skips what follows */
			if (pending >= 0 || lab >= 15)
				break;
			pending = ++lab;
			jmp(c, (uint8_t)(conds[below(&r, sizeof(conds))] + (w32 ? 1 : 0)), a, 0, imm, pending);
			continue;
		}
		if (pending >= 0 && below(&r, 2)) {
			label(c, pending);
			pending = -1;
		}
	}
	if (pending >= 0)
		label(c, pending);
	op(c, 0xaf, 0, a, 0, 0);
}

/* ja / ja32 over exactly one instruction, which another path reaches. */
static void emit_ja_one(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int g[2];
	pick_regs(&r, g, 2, false);
	int a = g[0], u = g[1];
	unknown(c, &r, x, u, 1);
	op(c, 0xb7, a, 0, 0, (int32_t)below(&r, 100));
	jmp(c, 0x15, u, 0, (int32_t)below(&r, 4), 1);
	op(c, 0x07, a, 0, 0, 3);
	jmp(c, below(&r, 2) ? 0x05 : 0x06, 0, 0, 0, 2); /* ja / ja32 +1 */
	label(c, 1);
	op(c, 0x27, a, 0, 0, 7); /* skipped by the ja */
	label(c, 2);
	op(c, 0x0f, 0, a, 0, 0);
}

/* ---- maps and helpers --------------------------------------------------- */

static void map_key(code *c, struct rng *r, const struct bdf_shape_ctx *x, int map)
{
	if (below(r, 3) == 0) { /* an unknown key, bounded to the map's range and a little past it */
		unknown(c, r, x, 6, 1);
		op(c, 0x57, 6, 0, 0, 7);
		stx(c, 4, 10, S_KEY, 6);
	} else {
		st(c, 4, 10, S_KEY, (int32_t)below(r, map == BDF_MAP_ARRAY_IDX ? 6 : 12));
	}
}

/* lookup, NULL check, loads/stores through the value pointer at constant
 * and bounded variable offsets. */
static void emit_map_lookup(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int map = below(&r, 2) ? BDF_MAP_ARRAY_IDX : BDF_MAP_HASH_IDX;
	c->features |= BDF_FEAT_HELPER | BDF_FEAT_MAPVAL | (x->r1_mem ? BDF_FEAT_PTRSPILL : 0);
	save_regs(c, x);
	op(c, 0xb7, 7, 0, 0, 0);
	map_key(c, &r, x, map);
	lddw(c, 1, 1, (uint64_t)map);
	op(c, 0xbf, 2, 10, 0, 0);
	op(c, 0x07, 2, 0, 0, S_KEY);
	helper(c, 1);
	op(c, 0xb7, 7, 0, 0, 1);
	if (below(&r, 2)) {
		jmp(c, 0x15, 0, 0, 0, 1); /* jeq r0, 0: NULL */
	} else {
		jmp(c, 0x55, 0, 0, 0, 2); /* jne r0, 0: the value */
		jmp(c, 0x05, 0, 0, 0, 1);
		label(c, 2);
	}
	int accesses = 1 + (int)below(&r, 3);
	for (int k = 0; k < accesses; k++) {
		int size = size_of(&r);
		int span = BDF_MAP_VALUE_SIZE - size;
		switch (below(&r, 4)) {
		case 0: ldx(c, size, 8, 0, (int)below(&r, (unsigned)span + 1)); op(c, 0x0f, 7, 8, 0, 0); break;
		case 1: st(c, size, 0, (int)below(&r, (unsigned)span + 1), (int32_t)pick64(&r)); break;
		case 2: /* atomic add, aligned */
			op(c, 0xb7, 8, 0, 0, (int32_t)pick64(&r));
			op(c, below(&r, 2) ? 0xdb : 0xc3, 0, 8, 8 * (int)below(&r, 2), 0);
			break;
		default: { /* a bounded variable offset */
			c->features |= BDF_FEAT_REGOFF;
			int k2 = log2i((unsigned)span + 1);
			if (x->r1_mem)
				ldx(c, 8, 9, 10, S_R1), ldx(c, 1, 8, 9, (int)below(&r, (unsigned)x->mem_len));
			else
				ldx(c, 1, 8, 10, -1 - 8 * (int)below(&r, 8));
			op(c, 0x57, 8, 0, 0, (int32_t)((1u << k2) - 1));
			op(c, 0x0f, 8, 0, 0, 0); /* r8 = value + i */
			ldx(c, size, 9, 8, 0);
			op(c, 0x0f, 7, 9, 0, 0);
			op(c, 0xb7, 8, 0, 0, 0);
			op(c, 0xb7, 9, 0, 0, 0);
			break;
		}
		}
	}
	ldx(c, 8, 8, 0, 0);
	op(c, 0xaf, 7, 8, 0, 0);
	label(c, 1);
	restore_regs(c, x, 7);
}

/* update (flags ANY/NOEXIST/EXIST, or invalid ones), delete, then a lookup
 * of the same key. r0 gathers the error codes. */
static void emit_map_update(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	int map = below(&r, 2) ? BDF_MAP_ARRAY_IDX : BDF_MAP_HASH_IDX;
	c->features |= BDF_FEAT_HELPER | BDF_FEAT_MAPVAL;
	save_regs(c, x);
	op(c, 0xb7, 7, 0, 0, 0);
	map_key(c, &r, x, map);
	lddw(c, 6, 0, pick64(&r));
	stx(c, 8, 10, S_VAL, 6);
	st(c, 8, 10, S_VAL + 8, (int32_t)rnd(&r));
	int ops = 1 + (int)below(&r, 3);
	for (int k = 0; k < ops; k++) {
		lddw(c, 1, 1, (uint64_t)map);
		op(c, 0xbf, 2, 10, 0, 0);
		op(c, 0x07, 2, 0, 0, S_KEY);
		if (below(&r, 3)) {
			static const int flags[] = { 0, 0, 1, 2, 3, 4 };
			op(c, 0xbf, 3, 10, 0, 0);
			op(c, 0x07, 3, 0, 0, S_VAL);
			op(c, 0xb7, 4, 0, 0, flags[below(&r, 6)]);
			helper(c, 2);
		} else {
			helper(c, 3);
		}
		op(c, 0x27, 7, 0, 0, 31);
		op(c, 0x0f, 7, 0, 0, 0);
	}
	lddw(c, 1, 1, (uint64_t)map);
	op(c, 0xbf, 2, 10, 0, 0);
	op(c, 0x07, 2, 0, 0, S_KEY);
	helper(c, 1);
	jmp(c, 0x15, 0, 0, 0, 1);
	ldx(c, 8, 8, 0, 8 * (int)below(&r, 2));
	op(c, 0xaf, 7, 8, 0, 0);
	label(c, 1);
	restore_regs(c, x, 7);
}

/* bpf_loop(n, callback, ctx, flags): n constant, unknown-but-bounded or
 * past the limit; ctx a stack pointer the callback adds into; the callback
 * stops early at an index. */
static void emit_bpf_loop(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	c->features |= BDF_FEAT_HELPER | BDF_FEAT_LOOP;
	save_regs(c, x);
	st(c, 8, 10, S_SPILL, (int32_t)rnd(&r));
	/* n: a constant 1..19, an unknown & 15, or (1 in 32) the constant 0. A
	 * known 0 makes this kernel (6.18) warn "verifier bug: No program to jit
	 * at insn N (subprog < 0)" when the program has another subprogram: the
	 * callback is never explored. Found, so made rare: each variant costs a
	 * minimization. Not past BPF_MAX_LOOPS nor above 32 bits: there the
	 * verifier's inlined bpf_loop differs from the helper (README "The
	 * inlined bpf_loop"), a known difference every such input would report. */
	if (below(&r, 32) == 0)
		op(c, 0xb7, 6, 0, 0, 0);
	else if (below(&r, 3) == 0) {
		unknown(c, &r, x, 6, 1);
		op(c, 0x57, 6, 0, 0, 15);
	} else {
		op(c, 0xb7, 6, 0, 0, 1 + (int32_t)below(&r, 19));
	}
	op(c, 0xbf, 1, 6, 0, 0);
	call_fn(c, 0x18, 2, 1);
	op(c, 0xbf, 3, 10, 0, 0);
	op(c, 0x07, 3, 0, 0, S_SPILL);
	op(c, 0xb7, 4, 0, 0, below(&r, 8) ? 0 : 1);
	helper(c, 181);
	op(c, 0xbf, 7, 0, 0, 0);
	ldx(c, 8, 8, 10, S_SPILL);
	op(c, 0xaf, 7, 8, 0, 0);
	st(c, 8, 10, S_SPILL, 0);
	restore_regs(c, x, 7);
	functions(c);
	label(c, 1); /* r1 = index, r2 = ctx */
	ldx(c, 8, 3, 2, 0);
	op(c, 0x27, 3, 0, 0, 5);
	op(c, 0x0f, 3, 1, 0, 0);
	stx(c, 8, 2, 0, 3);
	op(c, 0xb7, 0, 0, 0, 0);
	jmp(c, 0x55, 1, 0, (int32_t)below(&r, 12), 2);
	op(c, 0xb7, 0, 0, 0, 1);
	label(c, 2);
	op(c, 0x95, 0, 0, 0, 0);
}

/* bpf_tail_call(ctx, prog_array, index): index 0/1 are programs, 2 an
 * empty slot, 3 past max_entries (those two fall through). */
static void emit_tail_call(uint64_t seed, const struct bdf_shape_ctx *x, struct bdf_shape_code *c)
{
	struct rng r = { seed };
	c->features |= BDF_FEAT_HELPER;
	save_regs(c, x);
	lddw(c, 2, 1, BDF_MAP_PROGS_IDX);
	if (below(&r, 3) == 0) {
		unknown(c, &r, x, 3, 1);
		op(c, 0x57, 3, 0, 0, 3);
	} else {
		op(c, 0xb7, 3, 0, 0, (int32_t)below(&r, 5));
	}
	helper(c, 12);
	restore_regs(c, x, -1);
	op(c, 0x07, 0, 0, 0, 0x1000);
}

const char *const bdf_feature_names[BDF_NFEATS] = {
	"loops", "call_depth_ge3", "register_offset_access", "pointer_spill", "helper_calls", "map_value_access",
};

const struct bdf_shape bdf_shapes[] = {
	{ "loop_const", 0, emit_loop_const },
	{ "loop_learned", 0, emit_loop_learned },
	{ "loop_nested", 0, emit_loop_nested },
	{ "loop_may_goto", BDF_SHAPE_LOOP_STACK, emit_loop_may_goto },
	{ "call_chain", BDF_SHAPE_CALLS, emit_call_chain },
	{ "ptr_var_mem", 0, emit_ptr_var_mem },
	{ "ptr_var_stack", 0, emit_ptr_var_stack },
	{ "ptr_spill", 0, emit_ptr_spill },
	{ "edge_values", 0, emit_edge_values },
	{ "jmp32_upper", 0, emit_jmp32_upper },
	{ "ja_one", 0, emit_ja_one },
	{ "map_lookup", BDF_SHAPE_HELPERS | BDF_SHAPE_MAPS, emit_map_lookup },
	{ "map_update", BDF_SHAPE_HELPERS | BDF_SHAPE_MAPS, emit_map_update },
	{ "bpf_loop", BDF_SHAPE_CALLS | BDF_SHAPE_HELPERS | BDF_SHAPE_LOOP_STACK, emit_bpf_loop },
	{ "tail_call", BDF_SHAPE_HELPERS | BDF_SHAPE_MAPS | BDF_SHAPE_TAIL, emit_tail_call },
	/* New shapes go at the end: a marker names its shape by index. */
	{ "bounds_mix", 0, emit_bounds_mix },
};
const int bdf_nshapes = (int)(sizeof(bdf_shapes) / sizeof(bdf_shapes[0]));

struct ebpf_insn bdf_shape_marker(int s, uint64_t seed)
{
	return (struct ebpf_insn){ .opcode = BDF_SHAPE_OPCODE, .dst = (uint8_t)(seed & 15),
				   .off = (int16_t)(seed >> 4), .imm = (int32_t)((uint32_t)s | (uint32_t)(seed >> 20) << 8) };
}

int bdf_shape_lookup(const char *name)
{
	for (int s = 0; s < bdf_nshapes; s++)
		if (!strcmp(bdf_shapes[s].name, name))
			return s;
	return -1;
}

int bdf_shape_emit(const struct ebpf_insn *x, const struct bdf_shape_ctx *ctx, struct bdf_shape_code *out)
{
	int s = bdf_shape_of(x);
	memset(out, 0, offsetof(struct bdf_shape_code, x));
	out->n = out->split = 0;
	out->ncalls = out->njumps = 0;
	out->overflow = false;
	out->features = 0;
	if (s < 0)
		return -1;
	uint64_t seed = ((uint64_t)(uint32_t)x->imm >> 8) << 24 | (uint64_t)(uint16_t)x->off << 4 | (x->dst & 15u);
	seed = seed * 0x2545f4914f6cdd1dULL + (uint64_t)s;
	bdf_shapes[s].emit(seed, ctx, out);
	if (!out->split)
		out->split = out->n;
	if (out->overflow) {
		out->n = out->split = 0;
		return -1;
	}
	finish(out);
	return 0;
}

const char bdf_fuzz_maps_data[] =
	"-- map arr array value=16 max_entries=4\n"
	"0: 01 00 00 00 00 00 00 80 ff ff ff ff 00 00 00 00\n"
	"2: ff ff ff ff ff ff ff 7f 00 00 00 00 01 00 00 00\n"
	"-- map hsh hash key=4 value=16 max_entries=8\n"
	"00 00 00 00: 11 11 11 11 11 11 11 11 22 22 22 22 22 22 22 22\n"
	"03 00 00 00: 00 00 00 00 00 00 00 80 01 00 00 00 ff ff ff ff\n"
	"-- map jt prog_array max_entries=3\n"
	"0: tail0\n"
	"1: tail1\n"
	"-- asm\n"
	"exit\n"
	"-- program tail0\n"
	"ldxdw %r0, [%r1+0]\n"
	"add %r0, 0x100\n"
	"exit\n"
	"-- program tail1\n"
	"ldxb %r6, [%r1+15]\n"
	"stb [%r1+1], 0x5a\n"
	"lddw_map_fd %r2, jt\n"
	"mov %r3, 0\n"
	"call bpf_tail_call\n"
	"mov %r0, %r6\n"
	"add %r0, 0x200\n"
	"exit\n";
