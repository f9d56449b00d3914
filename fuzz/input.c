/* SPDX-License-Identifier: MIT */
/* The fuzz input format and the program built from it: see input.h. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include "input.h"
#include "../vm/isa.h"

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }
const struct ebpf_insn bdf_prologue[BDF_PROLOGUE_LEN] = {
	I(0xb7, 0, 0, 0, 0),          /* mov r0, 0 */
	I(0xb7, 3, 0, 0, -1),         /* mov r3, -1 */
	I(0xb4, 4, 0, 0, INT_MIN),    /* mov32 r4, 0x80000000 */
	I(0xb7, 5, 0, 0, INT_MIN),    /* mov r5, 0xffffffff80000000 */
	I(0xb7, 6, 0, 0, INT_MAX),    /* mov r6, 0x7fffffff */
	I(0xb7, 7, 0, 0, 1),          /* mov r7, 1 */
	I(0x79, 8, 1, 0, 0),          /* ldxdw r8, [r1+0]: a scalar the verifier cannot know */
	I(0x79, 9, 1, 8, 0),          /* ldxdw r9, [r1+8] */
	I(0x7a, 10, 0, -8, 0), I(0x7a, 10, 0, -16, 0), I(0x7a, 10, 0, -24, 0), I(0x7a, 10, 0, -32, 0),
	I(0x7a, 10, 0, -40, 0), I(0x7a, 10, 0, -48, 0), I(0x7a, 10, 0, -56, 0), I(0x7a, 10, 0, -64, 0),
};
#undef I

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void bdf_input_split(const uint8_t *data, size_t size, struct bdf_input *in)
{
	memset(in, 0, sizeof(*in));
	if (size < 4)
		return;
	size_t plen = rd32(data);
	if (plen > size - 4)
		plen = size - 4;
	plen &= ~(size_t)7;
	in->body = data + 4;
	in->nbody = plen / 8;
	if (in->nbody > BDF_MAX_BODY)
		in->nbody = BDF_MAX_BODY;
	in->mem = data + 4 + plen;
	in->mem_len = size - 4 - plen;
}

size_t bdf_input_encode(const struct ebpf_insn *body, size_t nbody, const uint8_t *mem, size_t mem_len,
			uint8_t *out, size_t cap)
{
	size_t need = 4 + nbody * 8 + mem_len;
	if (need > cap || nbody * 8 > UINT32_MAX)
		return 0;
	uint32_t p = (uint32_t)(nbody * 8);
	out[0] = p & 0xff;
	out[1] = (p >> 8) & 0xff;
	out[2] = (p >> 16) & 0xff;
	out[3] = p >> 24;
	memcpy(out + 4, body, nbody * 8);
	if (mem_len)
		memcpy(out + 4 + nbody * 8, mem, mem_len);
	return need;
}

size_t bdf_build_mem(const struct bdf_input *in, uint8_t *mem)
{
	size_t n = in->mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : in->mem_len;
	if (n)
		memcpy(mem, in->mem, n);
	if (n < BDF_MIN_MEM) {
		memset(mem + n, 0, BDF_MIN_MEM - n);
		n = BDF_MIN_MEM;
	}
	return n;
}

static int writes_dst(int fmt)
{
	return fmt == EBPF_FMT_ALU_K || fmt == EBPF_FMT_ALU_X || fmt == EBPF_FMT_NEG || fmt == EBPF_FMT_END ||
	       fmt == EBPF_FMT_LDDW || fmt == EBPF_FMT_LDX;
}

/* Make one instruction a valid form; returns the form. */
static int fix_form(struct ebpf_insn *x)
{
	int f = ebpf_decode(x);
	if (f < 0)
		f = x->opcode % FORM_COUNT;
	const struct ebpf_form_desc *d = &ebpf_forms[f];
	if (d->fmt == EBPF_FMT_LDDW && f != FORM_LDDW) /* pseudo lddw: map fds etc. exist nowhere here */
		d = &ebpf_forms[f = FORM_LDDW];
	x->opcode = d->opcode;
	switch (d->fmt) {
	case EBPF_FMT_ALU_K: case EBPF_FMT_ALU_X: case EBPF_FMT_NEG: x->off = (ebpf_s16)d->disc; break;
	case EBPF_FMT_END: case EBPF_FMT_ATOMIC: x->imm = d->disc; break;
	case EBPF_FMT_LDDW: case EBPF_FMT_CALL: x->src = d->disc; break;
	default: break;
	}
	unsigned unused = ebpf_unused_fields(f);
	if (unused & EBPF_F_DST) x->dst = 0;
	if (unused & EBPF_F_SRC) x->src = 0;
	if (unused & EBPF_F_OFF) x->off = 0;
	if (unused & EBPF_F_IMM) x->imm = 0;
	if (x->dst > 10)
		x->dst %= 11;
	if (x->src > 10 && d->fmt != EBPF_FMT_LDDW && d->fmt != EBPF_FMT_CALL)
		x->src %= 11;
	if (x->dst == 10 && writes_dst(d->fmt))
		x->dst = 0;
	if (d->fmt == EBPF_FMT_ATOMIC && x->src == 10 && (x->imm & EBPF_ATOMIC_FETCH))
		x->src = 0;
	return f;
}

static int is_terminator(const struct ebpf_insn *x)
{
	return x->opcode == 0x95 || x->opcode == 0x05 || x->opcode == 0x06; /* exit, ja, ja32 */
}

/* The kernel refuses unreachable instructions ("unreachable insn N"). All
 * edges go forward, so one pass finds them; an unreachable insn is always
 * right after a reachable terminator (earlier ones were fixed already),
 * which becomes conditional: `exit` -> `jeq r0, 0, <the final exit>`,
 * `ja +k` -> `jeq r0, 0, +k`. Returns whether the end (slot n, where the
 * final exit goes) is reached. */
static int fix_reachability(struct ebpf_insn *body, size_t n, const unsigned char *second)
{
	unsigned char reach[BDF_MAX_BODY + 2] = { 0 };
	reach[0] = 1;
	for (size_t i = 0; i < n; i++) {
		if (second[i]) {
			reach[i + 1] |= reach[i];
			continue;
		}
		struct ebpf_insn *x = &body[i];
		if (!reach[i] && i > 0 && is_terminator(&body[i - 1]) && !second[i - 1]) {
			struct ebpf_insn *t = &body[i - 1];
			long long target = t->opcode == 0x95 ? (long long)n : t->opcode == 0x05 ? (long long)i + t->off : (long long)i + t->imm;
			t->opcode = 0x15; /* jeq r0, 0 */
			t->dst = t->src = 0;
			t->imm = 0;
			t->off = (ebpf_s16)(target - (long long)i);
			reach[target] = 1;
			reach[i] = 1;
		}
		if (!reach[i])
			continue; /* only at i == 0 never; kept for safety */
		int cls = EBPF_CLASS(x->opcode);
		if (x->opcode == 0x95)
			continue;
		if (cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) {
			int f = ebpf_decode(x);
			int fmt = f >= 0 ? ebpf_forms[f].fmt : -1;
			long long t = -1;
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X)
				t = (long long)i + 1 + x->off;
			else if (fmt == EBPF_FMT_JA32 || f == FORM_CALL_LOCAL)
				t = (long long)i + 1 + x->imm;
			if (t > (long long)i && t <= (long long)n)
				reach[t] = 1;
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JA32)
				continue;
		}
		reach[i + 1] = 1;
	}
	return reach[n];
}

/* A scalar register for a use that must not see a pointer: the first one
 * from r (wrapping) that is not in the pointer set. */
static int scalar_for(int r, unsigned ptrs)
{
	for (int k = 0; k < 11; k++) {
		int c = (r + k) % 11;
		if (c != 10 && !(ptrs & (1u << c)))
			return c;
	}
	return 0;
}

/*
 * Pointers: r1 and r10 hold kernel addresses in the kernel and small ones in
 * the VMs, so a program that compares, masks or shifts a pointer (or stores
 * one) gives a "discrepancy" that only says where memory is. A forward
 * dataflow pass (all edges go forward: one pass) tracks which registers may
 * hold a pointer; such a register is replaced by a scalar one as a compare
 * or ALU operand (pointer +/- constant and moves stay), and a load/store base
 * that is not a pointer becomes r10 (negative offset) or r1, so the verifier
 * accepts it.
 */
struct stack_init {
	uint64_t b[EBPF_STACK_SIZE / 64]; /* bit k: byte r10-512+k is written on every path */
};

static bool stack_ok(const struct stack_init *s, int off, int size)
{
	for (int k = off; k < off + size; k++) {
		int bit = EBPF_STACK_SIZE + k;
		if (bit < 0 || bit >= EBPF_STACK_SIZE || !(s->b[bit / 64] >> (bit % 64) & 1))
			return false;
	}
	return true;
}

static void stack_set(struct stack_init *s, int off, int size)
{
	for (int k = off; k < off + size; k++) {
		int bit = EBPF_STACK_SIZE + k;
		if (bit >= 0 && bit < EBPF_STACK_SIZE)
			s->b[bit / 64] |= 1ULL << (bit % 64);
	}
}

static void stack_meet(struct stack_init *dst, bool *seen, const struct stack_init *src)
{
	for (int w = 0; w < EBPF_STACK_SIZE / 64; w++)
		dst->b[w] = *seen ? dst->b[w] & src->b[w] : src->b[w];
	*seen = true;
}

static void fix_pointers(struct ebpf_insn *body, size_t n, const unsigned char *second)
{
	static unsigned short in[BDF_MAX_BODY + 2];
	static struct stack_init sin[BDF_MAX_BODY + 2];
	static bool seen[BDF_MAX_BODY + 2];
	memset(in, 0, (n + 2) * sizeof(in[0]));
	memset(seen, 0, (n + 2) * sizeof(seen[0]));
	in[0] = (1u << 1) | (1u << 10);
	memset(&sin[0], 0, sizeof(sin[0]));
	stack_set(&sin[0], -BDF_STACK_INIT, BDF_STACK_INIT); /* the prologue's */
	seen[0] = true;
	for (size_t i = 0; i < n; i++) {
		if (second[i])
			continue;
		struct ebpf_insn *x = &body[i];
		unsigned p = in[i] | (1u << 10), out = p;
		struct stack_init st = sin[i];
		int f = ebpf_decode(x);
		if (f < 0)
			continue;
		int fmt = ebpf_forms[f].fmt, size = ebpf_access_size(f);
		/* Reads of stack bytes no path has written: root may read them, but
		 * they differ between VMs. Move the read into the prologue's area. */
		if ((fmt == EBPF_FMT_LDX && x->src == 10) || (fmt == EBPF_FMT_ATOMIC && x->dst == 10)) {
			if (!stack_ok(&st, x->off, size)) {
				int neg = x->off < 0 ? -x->off : x->off;
				x->off = (ebpf_s16)-(size * (1 + (neg / size) % (BDF_STACK_INIT / size)));
			}
		}
		if ((fmt == EBPF_FMT_ST || fmt == EBPF_FMT_STX || fmt == EBPF_FMT_ATOMIC) && x->dst == 10)
			stack_set(&st, x->off, size);
		switch (fmt) {
		case EBPF_FMT_ALU_K:
			if ((p & (1u << x->dst)) && f != FORM_ADD64_IMM && f != FORM_SUB64_IMM && f != FORM_MOV64_IMM &&
			    f != FORM_MOV32_IMM)
				x->dst = scalar_for(x->dst, p);
			if (f != FORM_ADD64_IMM && f != FORM_SUB64_IMM)
				out &= ~(1u << x->dst);
			break;
		case EBPF_FMT_ALU_X:
			if (f == FORM_MOV64_REG) {
				out = (p & ~(1u << x->dst)) | ((p >> x->src) & 1u) << x->dst;
				break;
			}
			if (p & (1u << x->src))
				x->src = scalar_for(x->src, p);
			if ((p & (1u << x->dst)) && f != FORM_MOV32_REG && ebpf_forms[f].opcode != 0xbf && ebpf_forms[f].opcode != 0xbc)
				x->dst = scalar_for(x->dst, p);
			out &= ~(1u << x->dst);
			break;
		case EBPF_FMT_NEG:
		case EBPF_FMT_END:
			if (p & (1u << x->dst))
				x->dst = scalar_for(x->dst, p);
			break;
		case EBPF_FMT_LDDW:
			out &= ~(1u << x->dst);
			break;
		case EBPF_FMT_LDX:
			if (!(p & (1u << x->src)))
				x->src = x->off < 0 ? 10 : 1;
			out &= ~(1u << x->dst);
			break;
		case EBPF_FMT_ST:
			if (!(p & (1u << x->dst)))
				x->dst = x->off < 0 ? 10 : 1;
			break;
		case EBPF_FMT_STX:
		case EBPF_FMT_ATOMIC:
			if (!(p & (1u << x->dst)))
				x->dst = x->off < 0 ? 10 : 1;
			if (p & (1u << x->src))
				x->src = scalar_for(x->src, p);
			if (fmt == EBPF_FMT_ATOMIC && (x->imm & EBPF_ATOMIC_FETCH))
				out &= ~(1u << (x->imm == EBPF_ATOMIC_CMPXCHG ? 0 : x->src));
			break;
		case EBPF_FMT_JCOND_K:
			if (p & (1u << x->dst))
				x->dst = scalar_for(x->dst, p);
			break;
		case EBPF_FMT_JCOND_X:
			if (p & (1u << x->dst))
				x->dst = scalar_for(x->dst, p);
			if (p & (1u << x->src))
				x->src = scalar_for(x->src, p);
			break;
		case EBPF_FMT_CALL:
		case EBPF_FMT_CALLX:
			out &= ~0x3fu; /* r0..r5 are the callee's results/scratch */
			break;
		default:
			break;
		}
		/* Successors. */
		int cls = EBPF_CLASS(x->opcode);
		long long t = -1;
		bool falls = x->opcode != 0x95;
		if (cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) {
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X)
				t = (long long)i + 1 + x->off;
			else if (fmt == EBPF_FMT_JA32)
				t = (long long)i + 1 + x->imm;
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JA32)
				falls = false;
		}
		if (t > (long long)i && t <= (long long)n) {
			in[t] |= (unsigned short)out;
			stack_meet(&sin[t], &seen[t], &st);
		}
		size_t next = i + 1 + (f == FORM_LDDW);
		if (falls && next <= n) {
			in[next] |= (unsigned short)out;
			stack_meet(&sin[next], &seen[next], &st);
		}
	}
}

int bdf_normalize_body(struct ebpf_insn *body, size_t n)
{
	unsigned char second[BDF_MAX_BODY + 1] = { 0 };
	if (n > BDF_MAX_BODY)
		n = BDF_MAX_BODY;
	for (size_t i = 0; i < n; i++) {
		int f = fix_form(&body[i]);
		if (f != FORM_LDDW)
			continue;
		if (i + 1 == n) { /* no room for the second slot: mov dst, imm */
			body[i].opcode = 0xb7;
			body[i].src = 0;
			continue;
		}
		struct ebpf_insn *hi = &body[i + 1];
		hi->opcode = 0;
		hi->dst = hi->src = 0;
		hi->off = 0;
		second[++i] = 1;
	}
	/* Jump and local-call targets: forward, inside [i+1, n] (n = the final exit). */
	for (size_t i = 0; i < n; i++) {
		if (second[i])
			continue;
		struct ebpf_insn *x = &body[i];
		int cls = EBPF_CLASS(x->opcode);
		if (cls != EBPF_CLS_JMP && cls != EBPF_CLS_JMP32)
			continue;
		int f = ebpf_decode(x);
		if (f < 0)
			continue;
		int fmt = ebpf_forms[f].fmt, use_imm;
		if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X)
			use_imm = 0;
		else if (fmt == EBPF_FMT_JA32 || f == FORM_CALL_LOCAL)
			use_imm = 1;
		else
			continue;
		long long v = use_imm ? x->imm : x->off;
		long long t = (long long)i + 1 + v;
		if (t <= (long long)i || t > (long long)n || second[t]) {
			long long span = (long long)n - (long long)i;
			t = (long long)i + 1 + (v < 0 ? -v : v) % span;
			if (second[t])
				t++;
			v = t - (long long)i - 1;
			if (use_imm)
				x->imm = (ebpf_s32)v;
			else
				x->off = (ebpf_s16)v;
		}
	}
	int end = fix_reachability(body, n, second);
	fix_pointers(body, n, second);
	return end;
}

size_t bdf_build_program(const struct bdf_input *in, struct ebpf_insn *prog)
{
	memcpy(prog, bdf_prologue, sizeof(bdf_prologue));
	struct ebpf_insn *body = prog + BDF_PROLOGUE_LEN;
	if (in->nbody)
		memcpy(body, in->body, in->nbody * sizeof(*body));
	if (!bdf_normalize_body(body, in->nbody))
		return BDF_PROLOGUE_LEN + in->nbody; /* ends in its own exit/ja: a final exit would be unreachable */
	body[in->nbody] = (struct ebpf_insn){ .opcode = 0x95 };
	return BDF_PROLOGUE_LEN + in->nbody + 1;
}
