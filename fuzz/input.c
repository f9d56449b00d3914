/* SPDX-License-Identifier: MIT */
/* The fuzz input format and the program built from it: see input.h. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include "input.h"
#include "shapes.h"
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
	in->raw = data;
	in->raw_len = size;
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
	       fmt == EBPF_FMT_LDDW || fmt == EBPF_FMT_LDX || fmt == EBPF_FMT_LOAD_ACQ;
}

/* Jumps that keep their target in off (may_goto too: it jumps once the budget is spent). */
static int jumps_by_off(int fmt)
{
	return fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X || fmt == EBPF_FMT_MAY_GOTO;
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
	/* Helpers and kfuncs are not modelled, callx is not in this kernel:
	 * calls go to the local functions (bdf_build_program), callx is a nop. */
	if (f == FORM_CALL_HELPER || f == FORM_CALL_BTF)
		d = &ebpf_forms[f = FORM_CALL_LOCAL];
	if (f == FORM_CALLX) {
		*x = (struct ebpf_insn){ .opcode = 0x05 };
		return FORM_JA;
	}
	x->opcode = d->opcode;
	switch (d->fmt) {
	case EBPF_FMT_ALU_K: case EBPF_FMT_ALU_X: case EBPF_FMT_NEG: x->off = (ebpf_s16)d->disc; break;
	case EBPF_FMT_END: case EBPF_FMT_ATOMIC: case EBPF_FMT_LOAD_ACQ: case EBPF_FMT_STORE_REL:
		x->imm = d->disc;
		break;
	case EBPF_FMT_LDDW: case EBPF_FMT_CALL: case EBPF_FMT_MAY_GOTO: x->src = d->disc; break;
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
	unsigned char reach[BDF_MAX_BODY + 2];
	memset(reach, 0, n + 2);
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
			if (jumps_by_off(fmt))
				t = (long long)i + 1 + x->off;
			else if (fmt == EBPF_FMT_JA32)
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

/* Bits [lo, hi) of the set, a word at a time (these run for every stack
 * access of every input: the fuzzer's hot path). */
static inline uint64_t word_mask(int lo, int hi) /* bits lo..hi-1 of one word, 0 <= lo < hi <= 64 */
{
	return (hi - lo == 64 ? ~0ULL : ((1ULL << (hi - lo)) - 1)) << lo;
}

static bool stack_ok(const struct stack_init *s, int off, int size)
{
	int lo = EBPF_STACK_SIZE + off, hi = lo + size;
	if (lo < 0 || hi > EBPF_STACK_SIZE)
		return false;
	for (int w = lo / 64; w * 64 < hi; w++) {
		int a = lo > w * 64 ? lo - w * 64 : 0, b = hi < (w + 1) * 64 ? hi - w * 64 : 64;
		uint64_t m = word_mask(a, b);
		if ((s->b[w] & m) != m)
			return false;
	}
	return true;
}

static void stack_set(struct stack_init *s, int off, int size)
{
	int lo = EBPF_STACK_SIZE + off, hi = lo + size;
	if (lo < 0)
		lo = 0;
	if (hi > EBPF_STACK_SIZE)
		hi = EBPF_STACK_SIZE;
	for (int w = lo / 64; lo < hi && w * 64 < hi; w++) {
		int a = lo > w * 64 ? lo - w * 64 : 0, b = hi < (w + 1) * 64 ? hi - w * 64 : 64;
		s->b[w] |= word_mask(a, b);
	}
}

static void stack_meet(struct stack_init *dst, bool *seen, const struct stack_init *src)
{
	if (!*seen) {
		*dst = *src;
		*seen = true;
		return;
	}
	for (int w = 0; w < EBPF_STACK_SIZE / 64; w++)
		dst->b[w] &= src->b[w];
}

static void fix_pointers(struct ebpf_insn *body, size_t n, const unsigned char *second, size_t mem_len,
			 bool shapes)
{
	/* Per insn: registers that may hold a pointer, registers readable on every
	 * path (after a call r1..r5 are not), whether r1 is still the memory
	 * pointer as passed, stack bytes written on every path. */
	static unsigned short ptr[BDF_MAX_BODY + 2], rd[BDF_MAX_BODY + 2];
	static unsigned char r1ok[BDF_MAX_BODY + 2];
	static struct stack_init sin[BDF_MAX_BODY + 2];
	static bool seen[BDF_MAX_BODY + 2];
	memset(ptr, 0, (n + 2) * sizeof(ptr[0]));
	memset(seen, 0, (n + 2) * sizeof(seen[0]));
	ptr[0] = (1u << 1) | (1u << 10);
	rd[0] = 0x7ff;
	r1ok[0] = 1;
	memset(&sin[0], 0, sizeof(sin[0]));
	stack_set(&sin[0], -BDF_STACK_INIT, BDF_STACK_INIT); /* the prologue's */
	seen[0] = true;
	/* With calls, the callee's frame (64 bytes at most) shares the 512. */
	int frame = EBPF_STACK_SIZE;
	for (size_t i = 0; i < n; i++)
		if (!second[i] && body[i].opcode == 0x85)
			frame = EBPF_STACK_SIZE - 64;
	/* With shapes, the rest of the 512 bytes is theirs and their call chains'. */
	if (shapes)
		frame = BDF_SHAPE_FRAME;
	for (size_t i = 0; i < n; i++) {
		if (second[i] || !seen[i])
			continue;
		struct ebpf_insn *x = &body[i];
		unsigned p = ptr[i] | (1u << 10), r = rd[i] | (1u << 10), out = p, rout = r;
		bool pristine = r1ok[i] && (p & 2u) && (r & 2u);
		struct stack_init st = sin[i];
		int f = ebpf_decode(x), fmt = -1, size = 0, shape = bdf_shape_of(x);
		if (shape >= 0) {
			/* A shape (shapes.h): told whether r1 is the memory here; a
			 * shape that calls leaves r2..r5 unreadable and r1 as it was
			 * or (when it was no longer the memory) 0. */
			x->src = pristine ? BDF_SHAPE_R1_MEM : 0;
			if (bdf_shapes[shape].flags & (BDF_SHAPE_CALLS | BDF_SHAPE_HELPERS)) {
				rout &= ~0x3cu;
				if (!pristine) {
					out &= ~2u;
					rout |= 2u;
				}
			}
		} else if (f < 0) {
			continue;
		} else {
			fmt = ebpf_forms[f].fmt;
			size = ebpf_access_size(f);
		}
		unsigned bad = p | ~r; /* not usable as a scalar operand */
#define SCALAR(reg) do { if (bad & (1u << (reg))) (reg) = scalar_for((reg), bad); } while (0)
#define BASE(reg) do { if ((reg) != 10 && ((reg) != 1 || !pristine)) (reg) = x->off < 0 || !pristine ? 10 : 1; } while (0)
		switch (fmt) {
		case EBPF_FMT_ALU_K:
			/* No arithmetic on pointers at all: the memory pointer's
			 * offsets are then known here and kept inside its bounds. */
			if (f != FORM_MOV64_IMM && f != FORM_MOV32_IMM)
				SCALAR(x->dst);
			/* What the verifier refuses by rule, not by analysis: shift
			 * counts out of range, division by an immediate 0. */
			if ((x->opcode & 0xf0) == 0x60 || (x->opcode & 0xf0) == 0x70 || (x->opcode & 0xf0) == 0xc0)
				x->imm &= EBPF_CLASS(x->opcode) == EBPF_CLS_ALU ? 31 : 63;
			if ((x->opcode & 0xf0) == 0x30 || (x->opcode & 0xf0) == 0x90)
				x->imm = x->imm ? x->imm : 1;
			out &= ~(1u << x->dst);
			if (x->dst == 1)
				pristine = false;
			rout |= 1u << x->dst;
			break;
		case EBPF_FMT_ALU_X:
			/* Pointers are not copied either: only r1 and r10 ever hold one. */
			SCALAR(x->src);
			if (ebpf_forms[f].opcode != 0xbf && ebpf_forms[f].opcode != 0xbc)
				SCALAR(x->dst);
			out &= ~(1u << x->dst);
			if (x->dst == 1)
				pristine = false;
			rout |= 1u << x->dst;
			break;
		case EBPF_FMT_NEG:
		case EBPF_FMT_END:
			SCALAR(x->dst);
			if (x->dst == 1)
				pristine = false;
			break;
		case EBPF_FMT_LDDW:
			out &= ~(1u << x->dst);
			rout |= 1u << x->dst;
			if (x->dst == 1)
				pristine = false;
			break;
		case EBPF_FMT_LDX:
		case EBPF_FMT_ST:
		case EBPF_FMT_STX:
		case EBPF_FMT_ATOMIC:
		case EBPF_FMT_LOAD_ACQ:
		case EBPF_FMT_STORE_REL: {
			/* load-acquire reads like ldx, store-release writes like stx,
			 * and both must be aligned like the atomics. */
			bool load = fmt == EBPF_FMT_LDX || fmt == EBPF_FMT_LOAD_ACQ;
			bool aligned = fmt == EBPF_FMT_ATOMIC || fmt == EBPF_FMT_LOAD_ACQ || fmt == EBPF_FMT_STORE_REL;
			ebpf_u8 base = load ? x->src : x->dst;
			BASE(base);
			if (load)
				x->src = base;
			else
				x->dst = base;
			if (fmt == EBPF_FMT_STX || fmt == EBPF_FMT_ATOMIC || fmt == EBPF_FMT_STORE_REL)
				SCALAR(x->src);
			if (base == 10) {
				/* In the frame, aligned (misaligned stack access is refused). */
				int o = x->off;
				if (o >= 0 || o < -frame)
					o = -(int)(((unsigned)(o < 0 ? -o : o) % (unsigned)frame) + 1);
				o = -((-o + size - 1) / size * size);
				if (o < -frame)
					o = -frame;
				x->off = (ebpf_s16)o;
				/* Reads of stack bytes no path has written: root may read
				 * them, but they differ between VMs. Read the prologue's. */
				bool reads = load || fmt == EBPF_FMT_ATOMIC;
				if (reads && !stack_ok(&st, x->off, size)) {
					/* The nearest written slot: a read after a deep store
					 * (what frame aliasing breaks) stays likely. */
					int o2 = x->off;
					for (int d = size; d <= frame; d += size) {
						if (x->off + d <= -size && stack_ok(&st, x->off + d, size)) {
							o2 = x->off + d;
							break;
						}
						if (x->off - d >= -frame && stack_ok(&st, x->off - d, size)) {
							o2 = x->off - d;
							break;
						}
					}
					if (o2 == x->off)
						o2 = -(size * (1 + (-x->off / size) % (BDF_STACK_INIT / size)));
					x->off = (ebpf_s16)o2;
				}
				if (!load)
					stack_set(&st, x->off, size);
			} else if (base == 1 && pristine && mem_len >= (size_t)size) {
				/* Inside the memory (the map value's bounds), atomics aligned. */
				size_t span = mem_len - (size_t)size + 1;
				size_t o = (size_t)(x->off < 0 ? -x->off : x->off) % span;
				if (aligned)
					o -= o % (size_t)size;
				x->off = (ebpf_s16)o;
			}
			if (load) {
				out &= ~(1u << x->dst);
				rout |= 1u << x->dst;
				if (x->dst == 1)
					pristine = false;
			}
			if (fmt == EBPF_FMT_ATOMIC && (x->imm & EBPF_ATOMIC_FETCH)) {
				int w = x->imm == EBPF_ATOMIC_CMPXCHG ? 0 : x->src;
				out &= ~(1u << w);
				rout |= 1u << w;
				if (w == 1)
					pristine = false;
			}
			break;
		}
		case EBPF_FMT_JCOND_K:
			SCALAR(x->dst);
			break;
		case EBPF_FMT_JCOND_X:
			SCALAR(x->dst);
			SCALAR(x->src);
			break;
		case EBPF_FMT_CALL:
		case EBPF_FMT_CALLX:
			/* r0 = result, r1..r5 clobbered and unreadable until written. */
			out &= ~0x3fu;
			rout = (rout & ~0x3eu) | 1u;
			pristine = false;
			break;
		default:
			break;
		}
#undef SCALAR
#undef BASE
		/* Successors: meet of the facts (may-pointer: union; readable,
		 * pristine r1, written stack: intersection). */
		int cls = EBPF_CLASS(x->opcode);
		long long t = -1;
		bool falls = x->opcode != 0x95;
		if (cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) {
			if (jumps_by_off(fmt))
				t = (long long)i + 1 + x->off;
			else if (fmt == EBPF_FMT_JA32)
				t = (long long)i + 1 + x->imm;
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JA32)
				falls = false;
		}
		size_t succ[2];
		int ns = 0;
		if (t > (long long)i && t <= (long long)n)
			succ[ns++] = (size_t)t;
		size_t next = i + 1 + (f == FORM_LDDW);
		if (falls && next <= n)
			succ[ns++] = next;
		for (int k = 0; k < ns; k++) {
			size_t j = succ[k];
			bool first = !seen[j];
			ptr[j] = (unsigned short)(first ? out : (ptr[j] | out));
			rd[j] = (unsigned short)(first ? rout : (rd[j] & rout));
			r1ok[j] = (unsigned char)(first ? pristine : (r1ok[j] && pristine));
			stack_meet(&sin[j], &seen[j], &st);
		}
	}
}

int bdf_normalize_body(struct ebpf_insn *body, size_t n, size_t mem_len)
{
	unsigned char second[BDF_MAX_BODY + 1];
	if (n > BDF_MAX_BODY)
		n = BDF_MAX_BODY;
	memset(second, 0, n + 1);
	bool shapes = false;
	for (size_t i = 0; i < n; i++) {
		if (body[i].opcode == BDF_SHAPE_OPCODE) { /* a shape marker: canonical fields */
			body[i].imm = (ebpf_s32)(((uint32_t)body[i].imm & ~0xffu) | (uint32_t)bdf_shape_of(&body[i]));
			body[i].src = 0;
			shapes = true;
			continue;
		}
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
		if (jumps_by_off(fmt))
			use_imm = 0;
		else if (fmt == EBPF_FMT_JA32)
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
	fix_pointers(body, n, second, mem_len, shapes);
	return end;
}

/* The local functions a body's `call` reaches (call imm & 1 selects one),
 * placed after the main function. They clobber r6..r9 (which the call must
 * restore) and write their own stack frame (which must not alias the
 * caller's): the two classic ways interpreters and JITs get calls wrong. */
#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }
static const struct ebpf_insn sub0[] = {
	I(0xb7, 6, 0, 0, -1), I(0xb7, 7, 0, 0, 0x5a5a), I(0xb7, 8, 0, 0, 0), I(0xb7, 9, 0, 0, INT_MAX),
	I(0x7a, 10, 0, -8, 0x11223344), I(0x7a, 10, 0, -16, -1), I(0x79, 0, 10, -8, 0), I(0x95, 0, 0, 0, 0),
};
static const struct ebpf_insn sub1[] = {
	I(0x7a, 10, 0, -8, -1), I(0x7a, 10, 0, -16, -1), I(0x7a, 10, 0, -24, -1), I(0x7a, 10, 0, -32, -1),
	I(0x7a, 10, 0, -40, -1), I(0x7a, 10, 0, -48, -1), I(0x7a, 10, 0, -56, -1), I(0x7a, 10, 0, -64, -1),
	I(0xb7, 0, 0, 0, 1), I(0x95, 0, 0, 0, 0),
};
#undef I

/* Frames a call-chain shape may use: main's frame (the body's BDF_SHAPE_FRAME,
 * the canary at -272 with fixed local calls, what the verifier adds for
 * may_goto and an inlined bpf_loop) rounded up to 32 as the kernel counts it,
 * then 32 bytes per callee within 512, at most 8 frames in all. */
static int chain_frames(bool body_calls, bool loop_stack)
{
	int main_depth = (body_calls ? 272 : BDF_SHAPE_FRAME) + (loop_stack ? 32 : 0);
	main_depth = (main_depth + 31) / 32 * 32;
	int frames = 1 + (EBPF_STACK_SIZE - main_depth) / 32;
	return frames > 8 ? 8 : frames;
}

static uint8_t noted[4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM];
static size_t noted_len;

void bdf_note_normalized(const uint8_t *data, size_t size)
{
	noted_len = data && size <= sizeof(noted) ? size : 0;
	if (noted_len)
		memcpy(noted, data, size);
}

/* Normalise, or for the mutator's own output (already normal) only find
 * whether the end is reached. */
static int normalize(const struct bdf_input *in, struct ebpf_insn *body, size_t n, size_t mem_len)
{
	if (!noted_len || in->raw_len != noted_len || memcmp(in->raw, noted, noted_len))
		return bdf_normalize_body(body, n, mem_len);
	unsigned char second[BDF_MAX_BODY + 1];
	memset(second, 0, n + 1);
	for (size_t i = 0; i + 1 < n; i++)
		if (ebpf_is_lddw(&body[i]))
			second[++i] = 1;
	return fix_reachability(body, n, second);
}

/* The end of the main function: with calls, the canary (see build_plain)
 * added into r0 first, then exit. */
static size_t append_exit(struct ebpf_insn *prog, size_t n, bool canary)
{
	if (canary) {
		prog[n++] = (struct ebpf_insn){ .opcode = 0x79, .dst = 6, .src = 10, .off = -272 };
		prog[n++] = (struct ebpf_insn){ .opcode = 0x0f, .dst = 0, .src = 6 };
	}
	prog[n++] = (struct ebpf_insn){ .opcode = 0x95 };
	return n;
}

/* The fixed local functions the body's calls use (imm & 1 picks one), after
 * the main function; where each starts goes into at[]. */
static size_t append_local_functions(struct ebpf_insn *prog, size_t n, const int used[2], size_t at[2])
{
	for (int k = 0; k < 2; k++) {
		at[k] = 0;
		if (!used[k])
			continue;
		at[k] = n;
		const struct ebpf_insn *sub = k ? sub1 : sub0;
		size_t len = k ? sizeof(sub1) / sizeof(sub1[0]) : sizeof(sub0) / sizeof(sub0[0]);
		memcpy(prog + n, sub, len * sizeof(*sub));
		n += len;
	}
	return n;
}

/* A body without shape markers (every input converted from a .data file,
 * most mutants): normalised in place, nothing moves but the canary's slot. */
static size_t build_plain(const struct bdf_input *in, struct ebpf_insn *prog)
{
	memcpy(prog, bdf_prologue, sizeof(bdf_prologue));
	struct ebpf_insn *body = prog + BDF_PROLOGUE_LEN;
	if (in->nbody)
		memcpy(body, in->body, in->nbody * sizeof(*body));
	size_t mem_len = in->mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : in->mem_len < BDF_MIN_MEM ? BDF_MIN_MEM : in->mem_len;
	int end = normalize(in, body, in->nbody, mem_len);
	int used[2] = { 0, 0 };
	for (size_t i = 0; i < in->nbody; i++) {
		if (body[i].opcode == 0x85 && body[i].src == EBPF_CALL_LOCAL)
			used[body[i].imm & 1] = 1;
		if (ebpf_is_lddw(&body[i]))
			i++;
	}
	size_t n = BDF_PROLOGUE_LEN + in->nbody;
	if (!used[0] && !used[1]) {
		if (end)
			prog[n++] = (struct ebpf_insn){ .opcode = 0x95 };
		/* else: it ends in its own exit/ja, and a final exit would be unreachable */
		return n;
	}
	/* With calls, a canary in the caller's frame below the callee's 256
	 * bytes: stored before the body, added into r0 at the final exit, so
	 * a callee frame that aliases the caller's shows in the result. */
	memmove(body + 1, body, in->nbody * sizeof(*body));
	body[0] = (struct ebpf_insn){ .opcode = 0x7a, .dst = 10, .off = -272, .imm = 0x5a5a5a5a };
	body++;
	n++;
	if (end)
		n = append_exit(prog, n, true);
	size_t at[2];
	n = append_local_functions(prog, n, used, at);
	for (size_t i = 0; i < in->nbody; i++) {
		struct ebpf_insn *x = &body[i];
		if (x->opcode == 0x85 && x->src == EBPF_CALL_LOCAL)
			x->imm = (ebpf_s32)((long long)at[x->imm & 1] - (long long)(BDF_PROLOGUE_LEN + 1 + i) - 1);
		if (ebpf_is_lddw(x))
			i++;
	}
	return n;
}

size_t bdf_build_program(const struct bdf_input *in, struct ebpf_insn *prog)
{
	struct bdf_program_info info;
	return bdf_build_program_info(in, prog, &info);
}

size_t bdf_build_program_info(const struct bdf_input *in, struct ebpf_insn *prog, struct bdf_program_info *info)
{
	static struct ebpf_insn body[BDF_MAX_BODY];
	static size_t pos[BDF_MAX_BODY + 1];
	static struct bdf_shape_code code[BDF_MAX_SHAPES];
	size_t at_in[BDF_MAX_SHAPES], at_fn[BDF_MAX_SHAPES];
	size_t nb = in->nbody;
	memset(info, 0, sizeof(*info));
	size_t m = 0; /* normalisation makes no marker: one in the input is one in the body */
	while (m < nb && in->body[m * 8] != BDF_SHAPE_OPCODE)
		m++;
	if (m == nb)
		return build_plain(in, prog);
	if (nb)
		memcpy(body, in->body, nb * sizeof(*body));
	size_t mem_len = in->mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : in->mem_len < BDF_MIN_MEM ? BDF_MIN_MEM : in->mem_len;
	int end = normalize(in, body, nb, mem_len);
	int used[2] = { 0, 0 };
	unsigned flags = 0;
	int nshapes = 0;
	for (size_t i = 0; i < nb; i++) {
		int s = bdf_shape_of(&body[i]);
		if (s >= 0 && nshapes++ < BDF_MAX_SHAPES)
			flags |= bdf_shapes[s].flags;
		if (body[i].opcode == 0x85 && body[i].src == EBPF_CALL_LOCAL)
			used[body[i].imm & 1] = 1;
		if (ebpf_is_lddw(&body[i]))
			i++;
	}
	bool body_calls = used[0] || used[1];
	/* A tail call in a program with subprograms (or more stack than 512
	 * with the context's spill) is refused by the kernel: it is left out. */
	bool tail_ok = !body_calls && !(flags & (BDF_SHAPE_CALLS | BDF_SHAPE_LOOP_STACK));
	struct bdf_shape_ctx ctx = { .mem_len = mem_len,
				     .max_frames = chain_frames(body_calls, flags & BDF_SHAPE_LOOP_STACK) };

	memcpy(prog, bdf_prologue, sizeof(bdf_prologue));
	size_t n = BDF_PROLOGUE_LEN;
	/* With calls, a canary in the caller's frame below the callee's 256
	 * bytes: stored before the body, added into r0 at the final exit, so
	 * a callee frame that aliases the caller's shows in the result. */
	if (body_calls)
		prog[n++] = (struct ebpf_insn){ .opcode = 0x7a, .dst = 10, .off = -272, .imm = 0x5a5a5a5a };
	int k = 0;
	for (size_t i = 0; i < nb; i++) {
		pos[i] = n;
		int s = bdf_shape_of(&body[i]);
		if (s < 0) {
			prog[n++] = body[i];
			continue;
		}
		if (k >= BDF_MAX_SHAPES || ((bdf_shapes[s].flags & BDF_SHAPE_TAIL) && !tail_ok))
			continue; /* left out: a jump to it goes to what follows */
		ctx.r1_mem = body[i].src & BDF_SHAPE_R1_MEM;
		if (bdf_shape_emit(&body[i], &ctx, &code[k]) < 0)
			continue;
		info->shapes |= 1u << s;
		info->flags |= bdf_shapes[s].flags;
		info->features |= code[k].features;
		memcpy(prog + n, code[k].x, code[k].split * sizeof(*prog));
		at_in[k] = n;
		n += code[k].split;
		k++;
	}
	pos[nb] = n;
	if (end)
		n = append_exit(prog, n, body_calls);
	/* else: it ends in its own exit/ja, and a final exit would be unreachable */
	size_t at[2];
	n = append_local_functions(prog, n, used, at);
	for (int j = 0; j < k; j++) {
		at_fn[j] = n;
		memcpy(prog + n, code[j].x + code[j].split, (code[j].n - code[j].split) * sizeof(*prog));
		n += code[j].n - code[j].split;
	}
	/* The body's jumps and calls, to where their targets went. */
	for (size_t i = 0; i < nb; i++) {
		if (bdf_shape_of(&body[i]) >= 0)
			continue;
		struct ebpf_insn *x = &prog[pos[i]];
		if (x->opcode == 0x85 && x->src == EBPF_CALL_LOCAL) {
			x->imm = (ebpf_s32)((long long)at[x->imm & 1] - (long long)pos[i] - 1);
		} else if (nshapes) {
			int bf = ebpf_branch_field(x);
			if (bf == EBPF_BRANCH_OFF) {
				long long t = (long long)i + 1 + x->off;
				if (t > (long long)i && t <= (long long)nb)
					x->off = (ebpf_s16)((long long)pos[t] - (long long)pos[i] - 1);
			} else if (bf == EBPF_BRANCH_IMM) {
				long long t = (long long)i + 1 + x->imm;
				if (t > (long long)i && t <= (long long)nb)
					x->imm = (ebpf_s32)((long long)pos[t] - (long long)pos[i] - 1);
			}
		}
		if (ebpf_is_lddw(x))
			i++;
	}
	/* The shapes' calls and callback addresses, to their functions. */
	for (int j = 0; j < k; j++)
		for (int c = 0; c < code[j].ncalls; c++) {
			size_t a = code[j].calls[c].at, t = (size_t)code[j].label[code[j].calls[c].label];
			size_t abs_at = a < code[j].split ? at_in[j] + a : at_fn[j] + a - code[j].split;
			size_t abs_t = at_fn[j] + t - code[j].split;
			prog[abs_at].imm = (ebpf_s32)((long long)abs_t - (long long)abs_at - 1);
		}
	return n;
}
