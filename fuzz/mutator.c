/* SPDX-License-Identifier: MIT */
/*
 * Structure-aware mutator: works on instructions drawn from EBPF_FORMS, not
 * on bytes. Operators: insert / delete / replace an instruction (jump and
 * local-call offsets fixed up across the edit), change one field (register,
 * immediate or offset to an edge value, opcode to a sibling form), duplicate,
 * swap, memory bytes and length, splice of two programs. Operands are chosen
 * the way the kernel verifier accepts them (scalar registers for ALU, r1/r10
 * bases with in-bounds aligned offsets, valid shift counts, non-zero
 * immediate divisors) so that most outputs reach the JIT; a few percent break
 * those rules on purpose.
 *
 * Hooks: -DBDF_LIBFUZZER_HOOKS gives LLVMFuzzerCustomMutator/CrossOver,
 * -DBDF_AFL_HOOKS the AFL++ custom mutator API (afl_mutator.so).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "input.h"
#include "mutator.h"
#include "../vm/isa.h"
#include "rng.h"

size_t (*bdf_byte_mutator)(uint8_t *data, size_t size, size_t max_size);

static int chance(struct rng *r, unsigned pct) { return below(r, 100) < pct; }

/* A program being edited: body slots + memory. */
struct prog {
	struct ebpf_insn x[BDF_MAX_BODY];
	size_t n;
	uint8_t mem[BDF_MAX_MEM];
	size_t mem_len;
};

static void prog_load(struct prog *p, const uint8_t *data, size_t size)
{
	struct bdf_input in;
	bdf_input_split(data, size, &in);
	p->n = in.nbody;
	if (p->n)
		memcpy(p->x, in.body, p->n * 8);
	p->mem_len = in.mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : in.mem_len;
	if (p->mem_len)
		memcpy(p->mem, in.mem, p->mem_len);
}

static size_t prog_store(struct prog *p, uint8_t *out, size_t max_size)
{
	if (max_size < 4)
		return 0;
	/* Fit: memory first gives way (down to BDF_MIN_MEM), then the body. */
	while (4 + p->n * 8 + p->mem_len > max_size) {
		if (p->mem_len > BDF_MIN_MEM)
			p->mem_len = 4 + p->n * 8 + BDF_MIN_MEM <= max_size ? max_size - 4 - p->n * 8 : BDF_MIN_MEM;
		else if (p->n)
			p->n--;
		else
			p->mem_len = max_size - 4;
	}
	bdf_normalize_body(p->x, p->n, p->mem_len < BDF_MIN_MEM ? BDF_MIN_MEM : p->mem_len);
	size_t n = bdf_input_encode(p->x, p->n, p->mem, p->mem_len, out, max_size);
	bdf_note_normalized(out, n);
	return n;
}

/* ---- operand choice -------------------------------------------------- */

static const int32_t edge_imm[] = {
	0, 1, -1, 2, -2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 0x7fff, 0x8000, -0x8000,
	0xffff, 0x10000, INT_MAX, INT_MIN, INT_MIN + 1, INT_MAX - 1, 0x55555555, (int32_t)0xaaaaaaaa,
	0x0000ff00, 0x00ff00ff, 0x12345678, -7, -8, -31, -32, -63, -64,
};
#define NEDGE (sizeof(edge_imm) / sizeof(edge_imm[0]))

static int32_t pick_imm(struct rng *r)
{
	switch (below(r, 8)) {
	case 0: return (int32_t)rnd(r);
	case 1: return (int32_t)below(r, 16) - 8;
	case 2: return (int32_t)((1u << below(r, 32)) - (uint32_t)below(r, 2)); /* unsigned: 1<<31 minus 1 must not overflow */
	default: return edge_imm[below(r, NEDGE)];
	}
}

/* Registers the verifier knows as scalars after the prologue. */
static int scalar_reg(struct rng *r)
{
	static const uint8_t regs[] = { 0, 0, 0, 2, 3, 4, 5, 6, 7, 8, 9 };
	if (chance(r, 2))
		return (int)below(r, 11);
	return regs[below(r, sizeof(regs))];
}

static int is_shift(int form)
{
	const char *id = ebpf_forms[form].id;
	return !strncmp(id, "LSH", 3) || !strncmp(id, "RSH", 3) || !strncmp(id, "ARSH", 4);
}
static int is_divmod(int form)
{
	const char *id = ebpf_forms[form].id;
	return !strncmp(id, "DIV", 3) || !strncmp(id, "SDIV", 4) || !strncmp(id, "MOD", 3) ||
	       !strncmp(id, "SMOD", 4);
}
static int is32(int form)
{
	int cls = EBPF_CLASS(ebpf_forms[form].opcode);
	return cls == EBPF_CLS_ALU || cls == EBPF_CLS_JMP32;
}

static void pick_mem_operand(struct rng *r, const struct prog *p, int size, uint8_t *base, int16_t *off)
{
	if (chance(r, 50) && p->mem_len >= (size_t)size) {
		*base = 1;
		size_t slots = (p->mem_len - size) / size + 1;
		*off = (int16_t)(below(r, (unsigned)slots) * size);
	} else {
		*base = 10;
		unsigned depth = chance(r, 70) ? BDF_STACK_INIT : EBPF_STACK_SIZE;
		*off = (int16_t)-(int)((below(r, depth / (unsigned)size) + 1) * (unsigned)size);
	}
	if (chance(r, 3)) /* out of bounds or misaligned, now and then */
		*off = (int16_t)(*off + (int)below(r, 17) - 8);
}

static int16_t pick_jump(struct rng *r, size_t at, size_t n)
{
	size_t room = n > at ? n - at : 1; /* targets at+1 .. n */
	unsigned lim = room < 8 ? (unsigned)room : 8;
	if (chance(r, 20))
		lim = (unsigned)room;
	return (int16_t)below(r, lim);
}

/* The forms the generator draws from: every form but those that cannot run
 * anywhere here (pseudo lddw, helper/btf calls, callx), which normalisation or
 * the verifier would only turn away. */
static int gen_forms[FORM_COUNT], ngen_forms;

static void init_forms(void)
{
	if (ngen_forms)
		return;
	for (int f = 0; f < FORM_COUNT; f++) {
		const struct ebpf_form_desc *d = &ebpf_forms[f];
		if ((d->fmt == EBPF_FMT_LDDW && f != FORM_LDDW) || f == FORM_CALL_HELPER || f == FORM_CALL_BTF ||
		    f == FORM_CALLX)
			continue;
		gen_forms[ngen_forms++] = f;
	}
}

/* Generate an instruction of form f at body index at; returns slots (1 or 2). */
static int gen_form(struct rng *r, const struct prog *p, size_t at, int f, struct ebpf_insn out[2])
{
	const struct ebpf_form_desc *d = &ebpf_forms[f];
	struct ebpf_insn x = { .opcode = d->opcode };
	int size = ebpf_access_size(f);
	switch (d->fmt) {
	case EBPF_FMT_ALU_K:
		x.dst = scalar_reg(r);
		x.off = (int16_t)d->disc;
		if (is_shift(f))
			x.imm = chance(r, 3) ? pick_imm(r) : (int32_t)below(r, is32(f) ? 32 : 64);
		else
			x.imm = pick_imm(r);
		if (is_divmod(f) && x.imm == 0 && !chance(r, 3))
			x.imm = chance(r, 50) ? -1 : 1 + (int32_t)below(r, 16);
		break;
	case EBPF_FMT_ALU_X:
		x.dst = scalar_reg(r);
		x.src = scalar_reg(r);
		x.off = (int16_t)d->disc;
		break;
	case EBPF_FMT_NEG:
		x.dst = scalar_reg(r);
		break;
	case EBPF_FMT_END:
		x.dst = scalar_reg(r);
		x.imm = d->disc;
		break;
	case EBPF_FMT_LDDW: {
		x.dst = scalar_reg(r);
		x.imm = pick_imm(r);
		struct ebpf_insn hi = { .imm = chance(r, 50) ? pick_imm(r) : (int32_t)rnd(r) };
		if (x.dst == 10)
			x.dst = 0;
		out[0] = x;
		out[1] = hi;
		return 2;
	}
	case EBPF_FMT_LDX:
	case EBPF_FMT_LOAD_ACQ:
		x.dst = scalar_reg(r);
		{
			uint8_t b;
			pick_mem_operand(r, p, size, &b, &x.off);
			x.src = b;
		}
		if (d->fmt == EBPF_FMT_LOAD_ACQ)
			x.imm = d->disc;
		break;
	case EBPF_FMT_ST: {
		uint8_t b;
		pick_mem_operand(r, p, size, &b, &x.off);
		x.dst = b;
		x.imm = pick_imm(r);
		break;
	}
	case EBPF_FMT_STX: {
		uint8_t b;
		pick_mem_operand(r, p, size, &b, &x.off);
		x.dst = b;
		x.src = scalar_reg(r);
		break;
	}
	case EBPF_FMT_ATOMIC:
	case EBPF_FMT_STORE_REL: {
		uint8_t b;
		pick_mem_operand(r, p, size, &b, &x.off);
		x.dst = b;
		x.src = scalar_reg(r);
		x.imm = d->disc;
		break;
	}
	case EBPF_FMT_JA:
	case EBPF_FMT_MAY_GOTO:
		x.off = pick_jump(r, at, p->n);
		break;
	case EBPF_FMT_JA32:
		x.imm = pick_jump(r, at, p->n);
		break;
	case EBPF_FMT_JCOND_K:
		x.dst = scalar_reg(r);
		x.imm = pick_imm(r);
		x.off = pick_jump(r, at, p->n);
		break;
	case EBPF_FMT_JCOND_X:
		x.dst = scalar_reg(r);
		x.src = scalar_reg(r);
		x.off = pick_jump(r, at, p->n);
		break;
	case EBPF_FMT_CALL:
		x.src = (uint8_t)d->disc;
		x.imm = pick_jump(r, at, p->n);
		break;
	case EBPF_FMT_CALLX:
		x.dst = scalar_reg(r);
		break;
	case EBPF_FMT_EXIT:
		break;
	}
	out[0] = x;
	return 1;
}

static int gen_insn(struct rng *r, const struct prog *p, size_t at, struct ebpf_insn out[2])
{
	init_forms();
	int f;
	do {
		f = gen_forms[below(r, (unsigned)ngen_forms)];
	} while (f == FORM_EXIT && !chance(r, 10));
	return gen_form(r, p, at, f, out);
}

/* ---- edits with jump fix-up ------------------------------------------ */

/* Jumps whose targets the edits fix up; local calls target the fixed
 * functions appended after the body, so they are left alone. */
static int jump_field(const struct ebpf_insn *x, int *use_imm)
{
	int bf = ebpf_branch_field(x);
	if (bf == EBPF_BRANCH_NONE || ebpf_decode(x) == FORM_CALL_LOCAL)
		return 0;
	*use_imm = bf == EBPF_BRANCH_IMM;
	return 1;
}

static int is_second_slot(const struct prog *p, size_t i)
{
	/* Walk from the start: lddw pairs are the only two-slot units. */
	for (size_t k = 0; k < p->n; k++) {
		if (k == i)
			return 0;
		if (ebpf_is_lddw(&p->x[k])) {
			if (++k == i)
				return 1;
		}
	}
	return 0;
}

static size_t unit_len(const struct prog *p, size_t i)
{
	return i + 1 < p->n && ebpf_is_lddw(&p->x[i]) ? 2 : 1;
}

/* Replace slots [at, at+kold) by knew new slots, fixing up every jump:
 * targets before `at` stay, targets after the range move with it, targets
 * inside the replaced range go to its start. */
static int splice_slots(struct prog *p, size_t at, size_t kold, const struct ebpf_insn *nw, size_t knew)
{
	if (p->n - kold + knew > BDF_MAX_BODY)
		return -1;
	long long delta = (long long)knew - (long long)kold;
	for (size_t i = 0; i < p->n; i++) {
		int use_imm;
		if ((i >= at && i < at + kold) || !jump_field(&p->x[i], &use_imm))
			continue;
		long long v = use_imm ? p->x[i].imm : p->x[i].off;
		long long t = (long long)i + 1 + v;
		long long ni = i >= at + kold ? (long long)i + delta : (long long)i;
		long long nt = t < (long long)at ? t : t >= (long long)(at + kold) ? t + delta : (long long)at;
		long long nv = nt - ni - 1;
		if (use_imm)
			p->x[i].imm = (int32_t)nv;
		else if (nv >= -32768 && nv <= 32767)
			p->x[i].off = (int16_t)nv;
	}
	memmove(&p->x[at + knew], &p->x[at + kold], (p->n - at - kold) * sizeof(p->x[0]));
	if (knew) /* op_delete passes no new slots (NULL) */
		memcpy(&p->x[at], nw, knew * sizeof(p->x[0]));
	p->n = p->n - kold + knew;
	return 0;
}

/* A random unit start in the body (skips lddw second slots). */
static size_t pick_unit(struct rng *r, const struct prog *p)
{
	size_t i = below(r, (unsigned)p->n);
	if (i && is_second_slot(p, i))
		i--;
	return i;
}

/* ---- the operators ---------------------------------------------------- */

static void op_insert(struct rng *r, struct prog *p)
{
	size_t at = below(r, (unsigned)p->n + 1);
	if (at && at < p->n && is_second_slot(p, at))
		at--;
	struct ebpf_insn x[2];
	int k = gen_insn(r, p, at, x);
	splice_slots(p, at, 0, x, (size_t)k);
}

/* How often an edit inserts a shape marker, in per mille: BPFDIFF_SHAPE_PCT
 * percent (default 1, fractions allowed; 0: never, for throughput comparisons
 * with shape-free fuzzing). */
static unsigned shape_permille(void)
{
	static int pm = -1;
	if (pm < 0) {
		const char *e = getenv("BPFDIFF_SHAPE_PCT");
		char *end = NULL;
		double pct = e && *e ? strtod(e, &end) : 1.0;
		if (e && *e && (*end || pct < 0 || pct > 100))
			pct = 1.0;
		pm = (int)(pct * 10 + 0.5);
	}
	return (unsigned)pm;
}

/* A shape marker (shapes.h): shape s (< 0: any) with fresh parameters. */
static void op_shape(struct rng *r, struct prog *p, int s)
{
	size_t at = below(r, (unsigned)p->n + 1);
	if (at && at < p->n && is_second_slot(p, at))
		at--;
	struct ebpf_insn x = bdf_shape_marker(s >= 0 ? s : (int)below(r, (unsigned)bdf_nshapes), rnd(r));
	splice_slots(p, at, 0, &x, 1);
}

static void op_delete(struct rng *r, struct prog *p)
{
	if (!p->n)
		return;
	size_t at = pick_unit(r, p);
	splice_slots(p, at, unit_len(p, at), NULL, 0);
}

static void op_replace(struct rng *r, struct prog *p)
{
	if (!p->n)
		return op_insert(r, p);
	size_t at = pick_unit(r, p);
	struct ebpf_insn x[2];
	int k = gen_insn(r, p, at, x);
	size_t kold = unit_len(p, at);
	if ((size_t)k == kold)
		memcpy(&p->x[at], x, (size_t)k * sizeof(x[0]));
	else
		splice_slots(p, at, kold, x, (size_t)k);
}

/* Another form with the same operand format (add -> sdiv, jeq -> jslt32, ...). */
static void op_sibling(struct rng *r, struct prog *p, size_t at)
{
	int f = ebpf_decode(&p->x[at]);
	if (f < 0)
		return;
	int cand[FORM_COUNT], nc = 0;
	init_forms();
	for (int i = 0; i < ngen_forms; i++)
		if (ebpf_forms[gen_forms[i]].fmt == ebpf_forms[f].fmt && gen_forms[i] != f)
			cand[nc++] = gen_forms[i];
	if (!nc)
		return;
	const struct ebpf_form_desc *d = &ebpf_forms[cand[below(r, (unsigned)nc)]];
	struct ebpf_insn *x = &p->x[at];
	x->opcode = d->opcode;
	switch (d->fmt) {
	case EBPF_FMT_ALU_K: case EBPF_FMT_ALU_X: case EBPF_FMT_NEG: x->off = (int16_t)d->disc; break;
	case EBPF_FMT_END: case EBPF_FMT_ATOMIC: case EBPF_FMT_LOAD_ACQ: case EBPF_FMT_STORE_REL:
		x->imm = d->disc;
		break;
	default: break;
	}
	if (d->fmt == EBPF_FMT_ALU_K && is_shift((int)(d - ebpf_forms)) && !chance(r, 5))
		x->imm &= is32((int)(d - ebpf_forms)) ? 31 : 63;
	if (d->fmt == EBPF_FMT_ALU_K && is_divmod((int)(d - ebpf_forms)) && x->imm == 0 && !chance(r, 5))
		x->imm = 1;
}

static void op_field(struct rng *r, struct prog *p)
{
	if (!p->n)
		return op_insert(r, p);
	size_t at = pick_unit(r, p);
	struct ebpf_insn *x = &p->x[at];
	int f = ebpf_decode(x);
	int fmt = f >= 0 ? ebpf_forms[f].fmt : -1;
	switch (below(r, 6)) {
	case 0: /* opcode sibling */
		op_sibling(r, p, at);
		break;
	case 1: /* dst */
		if (fmt == EBPF_FMT_ST || fmt == EBPF_FMT_STX || fmt == EBPF_FMT_ATOMIC || fmt == EBPF_FMT_STORE_REL)
			x->dst = chance(r, 50) ? 1 : 10;
		else
			x->dst = scalar_reg(r);
		break;
	case 2: /* src */
		if (fmt == EBPF_FMT_LDX || fmt == EBPF_FMT_LOAD_ACQ)
			x->src = chance(r, 50) ? 1 : 10;
		else
			x->src = scalar_reg(r);
		break;
	case 3: /* off */
		if (f >= 0 && ebpf_access_size(f)) {
			uint8_t b;
			pick_mem_operand(r, p, ebpf_access_size(f), &b, &x->off);
			if (fmt == EBPF_FMT_LDX || fmt == EBPF_FMT_LOAD_ACQ)
				x->src = b;
			else
				x->dst = b;
		} else if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X ||
			   fmt == EBPF_FMT_MAY_GOTO) {
			x->off = pick_jump(r, at, p->n);
		} else {
			op_sibling(r, p, at);
		}
		break;
	default: { /* imm: edge value, small step, bit flip; lddw either half */
		struct ebpf_insn *t = x;
		if (fmt == EBPF_FMT_LDDW && at + 1 < p->n && chance(r, 50))
			t = &p->x[at + 1];
		switch (below(r, 4)) {
		/* in unsigned arithmetic: INT_MIN - 1 and -INT_MIN wrap, they do not overflow */
		case 0: t->imm = (int32_t)((uint32_t)t->imm + below(r, 9) - 4u); break;
		case 1: t->imm ^= (int32_t)(1u << below(r, 32)); break;
		case 2: t->imm = (int32_t)(0u - (uint32_t)t->imm); break;
		default: t->imm = pick_imm(r); break;
		}
		if (fmt == EBPF_FMT_ALU_K && is_shift(f) && !chance(r, 5))
			t->imm &= is32(f) ? 31 : 63;
		break;
	}
	}
}

static void op_duplicate(struct rng *r, struct prog *p)
{
	if (!p->n)
		return op_insert(r, p);
	size_t from = pick_unit(r, p), k = unit_len(p, from);
	struct ebpf_insn x[2];
	memcpy(x, &p->x[from], k * sizeof(x[0]));
	size_t at = below(r, (unsigned)p->n + 1);
	if (at && at < p->n && is_second_slot(p, at))
		at--;
	splice_slots(p, at, 0, x, k);
}

static void op_swap(struct rng *r, struct prog *p)
{
	if (p->n < 2)
		return;
	size_t a = pick_unit(r, p);
	if (unit_len(p, a) != 1 || a + 1 >= p->n || ebpf_is_lddw(&p->x[a + 1]))
		return;
	struct ebpf_insn t = p->x[a];
	p->x[a] = p->x[a + 1];
	p->x[a + 1] = t;
}

static void put64(uint8_t *m, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		m[i] = (uint8_t)(v >> (8 * i));
}

static void op_mem(struct rng *r, struct prog *p)
{
	if (p->mem_len < BDF_MIN_MEM) {
		memset(p->mem + p->mem_len, 0, BDF_MIN_MEM - p->mem_len);
		p->mem_len = BDF_MIN_MEM;
	}
	switch (below(r, 5)) {
	case 0:
		p->mem[below(r, (unsigned)p->mem_len)] = (uint8_t)rnd(r);
		break;
	case 1: { /* an edge 64-bit value at an aligned offset */
		static const uint64_t edge64[] = { 0, 1, ~0ULL, 0x8000000000000000ULL, 0x7fffffffffffffffULL,
						   0x80000000ULL, 0x7fffffffULL, 0xffffffffULL, 0x100000000ULL,
						   0xffffffff80000000ULL, 63, 64, 32, 31 };
		size_t at = below(r, (unsigned)(p->mem_len / 8)) * 8;
		put64(p->mem + at, chance(r, 70) ? edge64[below(r, sizeof(edge64) / 8)] : rnd(r));
		break;
	}
	case 2: { /* length */
		static const size_t lens[] = { 16, 24, 32, 64, 128, 256 };
		size_t n = lens[below(r, sizeof(lens) / sizeof(lens[0]))];
		if (n > p->mem_len)
			memset(p->mem + p->mem_len, 0, n - p->mem_len);
		p->mem_len = n;
		break;
	}
	default: /* random run of bytes */
		for (size_t at = below(r, (unsigned)p->mem_len), k = below(r, 16) + 1; k && at < p->mem_len; k--, at++)
			p->mem[at] = (uint8_t)rnd(r);
		break;
	}
}

static void mutate_prog(struct rng *r, struct prog *p)
{
	unsigned steps = 1 + below(r, 4);
	for (unsigned s = 0; s < steps; s++) {
		unsigned w = below(r, 100);
		if (below(r, 1000) < shape_permille())
			op_shape(r, p, -1);
		else if (w < 18)
			op_insert(r, p);
		else if (w < 28)
			op_delete(r, p);
		else if (w < 45)
			op_replace(r, p);
		else if (w < 78)
			op_field(r, p);
		else if (w < 83)
			op_duplicate(r, p);
		else if (w < 87)
			op_swap(r, p);
		else
			op_mem(r, p);
	}
}

static struct prog work, other; /* static: the fuzzers call us from one thread */

size_t bdf_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
	struct rng r = { seed * 0x2545f4914f6cdd1dULL + 1 };
	if (bdf_byte_mutator && chance(&r, 5)) {
		size = bdf_byte_mutator(data, size, max_size);
		prog_load(&work, data, size);
		return prog_store(&work, data, max_size);
	}
	prog_load(&work, data, size);
	mutate_prog(&r, &work);
	return prog_store(&work, data, max_size);
}

size_t bdf_crossover(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t *out,
		     size_t max_size, unsigned seed)
{
	struct rng r = { seed * 0x2545f4914f6cdd1dULL + 7 };
	prog_load(&work, a, na);
	prog_load(&other, b, nb);
	/* Prefix of a up to a cut, then b's body from another cut. */
	size_t ca = below(&r, (unsigned)work.n + 1), cb = below(&r, (unsigned)other.n + 1);
	if (ca && ca < work.n && is_second_slot(&work, ca))
		ca--;
	if (cb && cb < other.n && is_second_slot(&other, cb))
		cb--;
	size_t take = other.n - cb;
	if (ca + take > BDF_MAX_BODY)
		take = BDF_MAX_BODY - ca;
	memcpy(&work.x[ca], &other.x[cb], take * sizeof(work.x[0]));
	work.n = ca + take;
	if (chance(&r, 50)) {
		memcpy(work.mem, other.mem, other.mem_len);
		work.mem_len = other.mem_len;
	}
	return prog_store(&work, out, max_size);
}

size_t bdf_generate(uint8_t *out, size_t max_size, unsigned seed)
{
	struct rng r = { seed * 0x2545f4914f6cdd1dULL + 3 };
	work.n = 0;
	work.mem_len = 64;
	for (size_t i = 0; i < work.mem_len; i++)
		work.mem[i] = (uint8_t)rnd(&r);
	unsigned k = 1 + below(&r, 8);
	for (unsigned i = 0; i < k; i++)
		op_insert(&r, &work);
	if (shape_permille() && chance(&r, 50))
		op_shape(&r, &work, -1);
	return prog_store(&work, out, max_size);
}

size_t bdf_generate_shape(uint8_t *out, size_t max_size, unsigned seed, int shape)
{
	struct rng r = { seed * 0x2545f4914f6cdd1dULL + 5 };
	work.n = 0;
	work.mem_len = 16 + 8 * below(&r, 15);
	for (size_t i = 0; i < work.mem_len; i++)
		work.mem[i] = (uint8_t)rnd(&r);
	unsigned k = below(&r, 9);
	for (unsigned i = 0; i < k; i++)
		op_insert(&r, &work);
	if (shape >= 0)
		op_shape(&r, &work, shape);
	return prog_store(&work, out, max_size);
}

#ifdef BDF_LIBFUZZER_HOOKS
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
				 size_t max_out, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	bdf_byte_mutator = LLVMFuzzerMutate;
	if (size < 12)
		return bdf_generate(data, max_size, seed);
	return bdf_mutate(data, size, max_size, seed);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
				 size_t max_out, unsigned int seed)
{
	return bdf_crossover(d1, s1, d2, s2, out, max_out, seed);
}
#endif

#ifdef BDF_AFL_HOOKS
/* AFL++ custom mutator API (AFL_CUSTOM_MUTATOR_LIBRARY=afl_mutator.so). */
struct afl_mut {
	unsigned seed;
	uint8_t *buf;
	size_t cap;
};

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf, uint8_t *add_buf,
		       size_t add_buf_size, size_t max_size);
void afl_custom_deinit(void *data);

void *afl_custom_init(void *afl, unsigned int seed)
{
	(void)afl;
	struct afl_mut *m = calloc(1, sizeof(*m));
	if (m)
		m->seed = seed;
	return m;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf, uint8_t *add_buf,
		       size_t add_buf_size, size_t max_size)
{
	struct afl_mut *m = data;
	size_t cap = max_size < 4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM ? max_size : 4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM;
	if (m->cap < cap) {
		uint8_t *nb = realloc(m->buf, cap);
		if (!nb) {
			*out_buf = buf;
			return buf_size;
		}
		m->buf = nb;
		m->cap = cap;
	}
	unsigned seed = m->seed = m->seed * 1103515245u + 12345u;
	size_t n;
	if (add_buf && add_buf_size && (seed >> 16) % 8 == 0) {
		n = bdf_crossover(buf, buf_size, add_buf, add_buf_size, m->buf, cap, seed);
	} else {
		n = buf_size < cap ? buf_size : cap;
		memcpy(m->buf, buf, n);
		n = n < 12 ? bdf_generate(m->buf, cap, seed) : bdf_mutate(m->buf, n, cap, seed);
	}
	*out_buf = m->buf;
	return n;
}

void afl_custom_deinit(void *data)
{
	struct afl_mut *m = data;
	if (m)
		free(m->buf);
	free(m);
}
#endif
