/* SPDX-License-Identifier: MIT */
/*
 * uvm: the user-space eBPF VM (RFC 9669, cpu v1..v4).
 *
 * uvm_load validates the program against EBPF_FORMS and pre-decodes it into
 * 16-byte "threaded" instructions whose first word is the address of the
 * handler label, so dispatch is one load and one indirect jump
 * (direct threading; the label table comes from expanding EBPF_FORMS, as
 * kernel/bpf/core.c does with BPF_INSN_MAP). Op meanings come from
 * semantics.h only.
 *
 * Instruction budget without a per-instruction counter: `lim` is the address
 * of the last slot the budget allows if execution went straight on from here.
 * Straight-line code needs no bookkeeping; every control transfer p -> t checks
 * p < lim (i.e. t is still within budget) and moves lim by (t - p - 1) slots;
 * lddw (two slots, one instruction) moves it by one slot. Exit and faults check
 * p <= lim, so the reported status is exact; the side effects of at most one
 * straight-line run past the budget may have happened before a timeout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "isa.h"
#include "maps.h"
#include "semantics.h"
#include "uvm.h"

typedef ebpf_u64 u64;
typedef ebpf_s64 s64;
typedef ebpf_u32 u32;
typedef ebpf_u8 u8;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define STACK_BYTES (EBPF_MAX_CALL_DEPTH * EBPF_STACK_SIZE)
/* Keeps lim = code + budget slots far from wrapping around the address space. */
#define MAX_BUDGET (1ULL << 44)
/* Slot of a label that is never executed: the second half of an lddw. */
#define LABEL_LDDW_HI FORM_COUNT
/* An instruction that writes r10: valid (the kernel loads it where its
 * verifier does not go) and a fault when it runs. */
#define LABEL_R10_WRITE (FORM_COUNT + 1)
/* Every slot's label while a trace hook is set (uvm_set_trace): reports the
 * registers, then jumps to the slot's own label, kept in trace_ops. */
#define LABEL_TRACE (FORM_COUNT + 2)

struct dinsn {
	const void *op; /* handler label */
	u8 dst, src;
	ebpf_s16 off;
	ebpf_s32 imm;
};
_Static_assert(sizeof(struct dinsn) == 16, "dinsn is two words");
#define SLOT ((uintptr_t)sizeof(struct dinsn))

struct helper {
	uint32_t id;
	uvm_helper_fn fn;
	void *ctx;
};

struct uvm {
	struct uvm_opts opts;
	struct dinsn *code;
	size_t n;            /* loaded instructions, all programs; 0 = nothing loaded */
	struct dinsn *buf;   /* decode buffer kept across loads (a fuzzer loads millions) */
	u8 *second;          /* per slot: is it an lddw's second half */
	size_t cap;
	u32 *prog_base;      /* program k's first slot; prog_base[nprogs] = n */
	size_t nprogs, prog_cap;
	struct helper *helpers;
	size_t nhelpers;
	struct vmap maps[EBPF_MAX_MAPS];
	size_t nmaps;
	u64 *env_vals[EBPF_ENV_KINDS]; /* values the case gives for the environment helpers */
	size_t env_n[EBPF_ENV_KINDS];
	uvm_trace_fn trace;  /* NULL: no hook, and the run is the plain one */
	void *trace_ctx;
	const void **trace_ops; /* per slot: its own label while traced */
	size_t trace_cap;
	u8 stack[STACK_BYTES] __attribute__((aligned(16)));
};

/* ---- mutants ---------------------------------------------------------- */

static const char *const mutant_names[] = {
#define MUTANT_NAME(id, name, what) name,
	UVM_MUTANT_LIST(MUTANT_NAME)
#undef MUTANT_NAME
};
static const char *const mutant_whats[] = {
#define MUTANT_WHAT(id, name, what) what,
	UVM_MUTANT_LIST(MUTANT_WHAT)
#undef MUTANT_WHAT
};
#define NMUTANTS (sizeof(mutant_names) / sizeof(mutant_names[0]))

unsigned uvm_mutant_count(void) { return NMUTANTS; }
const char *uvm_mutant_name(unsigned id) { return id >= 1 && id <= NMUTANTS ? mutant_names[id - 1] : NULL; }
const char *uvm_mutant_what(unsigned id) { return id >= 1 && id <= NMUTANTS ? mutant_whats[id - 1] : NULL; }
int uvm_mutant_lookup(const char *name)
{
	for (unsigned i = 0; name && i < NMUTANTS; i++)
		if (!strcmp(name, mutant_names[i]))
			return (int)i + 1;
	return -ENOENT;
}

#ifdef UVM_MUTANTS
#define MUT(id) unlikely(mut == UVM_MUTANT_##id)
/* smod-sign: a floored remainder (Python's %) instead of a truncated one. */
static inline u64 floor_rem64(u64 r, u64 b) { return r && ((r ^ b) >> 63) ? r + b : r; }
static inline u32 floor_rem32(u32 r, u32 b) { return r && ((r ^ b) >> 31) ? r + b : r; }
/* sdiv-abs-sat: magnitudes from a saturating abs, so |INT64_MIN| = INT64_MAX
 * (division by -1 is left to sdiv-intmin, so that each mutant's test case
 * shows that mutant only). */
static inline u64 abs_sat64(u64 a) { return a == 1ULL << 63 ? (1ULL << 63) - 1 : sem_abs64(a); }
static inline u64 sdiv64_abs_sat(u64 a, u64 b)
{
	if (!b)
		return 0;
	u64 q = abs_sat64(a) / abs_sat64(b);
	return ((a ^ b) >> 63) ? -q : q;
}
static inline u64 smod64_abs_sat(u64 a, u64 b)
{
	if (!b)
		return a;
	u64 r = abs_sat64(a) % abs_sat64(b);
	return (a >> 63) ? -r : r;
}
#else
#define MUT(id) 0
#endif

/* ---- the interpreter -------------------------------------------------- */

static const struct helper *find_helper(const struct uvm *vm, u64 id)
{
	for (size_t i = 0; i < vm->nhelpers; i++)
		if (vm->helpers[i].id == id)
			return &vm->helpers[i];
	return NULL;
}

/* Program of a slot, and its pc within that program. */
static size_t prog_of(const struct uvm *vm, size_t slot)
{
	size_t k = 0;
	while (k + 1 < vm->nprogs && vm->prog_base[k + 1] <= slot)
		k++;
	return k;
}

static uint32_t pc_of(const struct uvm *vm, uintptr_t addr)
{
	size_t slot = (addr - (uintptr_t)vm->code) / SLOT;
	return (uint32_t)(slot - (vm->nprogs > 1 ? vm->prog_base[prog_of(vm, slot)] : 0));
}

/* "pc 3" in the first program, "prog 2 pc 3" in a tail-call target. */
static int where(const struct uvm *vm, uintptr_t addr, char *buf, size_t len)
{
	size_t slot = (addr - (uintptr_t)vm->code) / SLOT, k = vm->nprogs > 1 ? prog_of(vm, slot) : 0;
	if (k)
		return snprintf(buf, len, "prog %zu pc %u", k, pc_of(vm, addr));
	return snprintf(buf, len, "pc %u", pc_of(vm, addr));
}

/* ---- maps and helpers as the program sees them ------------------------- */

/* Host address of `size` bytes of a map value at guest addr, or NULL. Detached
 * hash elements stay addressable (maps.h). Off the hot path: only accesses
 * that are neither stack nor case memory come here. */
__attribute__((noinline)) static u8 *map_xlate(struct uvm *vm, u64 addr, u64 size)
{
	u64 x = addr - vm->opts.map_addr, m = x >> EBPF_MAP_SHIFT;
	if (m >= vm->nmaps)
		return NULL;
	struct vmap *mp = &vm->maps[m];
	if (mp->def.type == EBPF_MAP_PROG_ARRAY)
		return NULL;
	u64 rem = x & ((1ULL << EBPF_MAP_SHIFT) - 1), slot = rem / mp->stride, off = rem % mp->stride;
	if (slot >= mp->nslots || off > mp->def.value_size || size > mp->def.value_size - off)
		return NULL;
	return mp->vals + slot * mp->stride + off;
}

/* The guest memory a helper may be handed a pointer into. */
struct guest {
	u64 stk_lo, stk_len, maddr, mlen;
	u8 *stk_host, *mem;
};

static u8 *guest_ptr(struct uvm *vm, const struct guest *g, u64 addr, u64 size)
{
	u64 o = addr - g->stk_lo;
	if (o <= g->stk_len && size <= g->stk_len - o)
		return g->stk_host + o;
	o = addr - g->maddr;
	if (o <= g->mlen && size <= g->mlen - o)
		return g->mem + o;
	return map_xlate(vm, addr, size);
}

/* The map a map pointer (lddw src 1/5) names, or NULL. */
static struct vmap *map_of(struct uvm *vm, u64 ptr)
{
	u64 x = ptr - vm->opts.map_addr - EBPF_MAP_OBJECTS;
	return !(x & 255) && (x >> 8) < vm->nmaps ? &vm->maps[x >> 8] : NULL;
}

struct helper_fault {
	enum uvm_fault kind;
	u64 addr;
	u64 size;
	const char *what;
};

/* bpf_map_lookup_elem / update / delete: r0 as the kernel's helper returns
 * it, or a fault when an argument is not a map or not readable memory. */
__attribute__((noinline)) static int map_helper(struct uvm *vm, const struct guest *g, int h, u64 *r,
						struct helper_fault *f)
{
	struct vmap *m = map_of(vm, r[1]);
	if (!m || m->def.type == EBPF_MAP_PROG_ARRAY) {
		f->kind = UVM_FAULT_CALL;
		f->addr = r[1];
		f->what = m ? "r1 is a prog_array, which programs cannot look up, update or delete in"
			    : "r1 is not a map";
		return -1;
	}
	const u8 *key = guest_ptr(vm, g, r[2], m->def.key_size);
	if (!key) {
		f->kind = UVM_FAULT_READ;
		f->addr = r[2];
		f->size = m->def.key_size;
		f->what = "key";
		return -1;
	}
	if (h == EBPF_H_MAP_LOOKUP) {
		int64_t s = vmap_lookup(m, key);
		r[0] = s < 0 ? 0 : vm->opts.map_addr + ((u64)(m - vm->maps) << EBPF_MAP_SHIFT) + (u64)s * m->stride;
		return 0;
	}
	if (h == EBPF_H_MAP_DELETE) {
		r[0] = (u64)vmap_delete(m, key);
		return 0;
	}
	const u8 *val = guest_ptr(vm, g, r[3], m->def.value_size);
	if (!val) {
		f->kind = UVM_FAULT_READ;
		f->addr = r[3];
		f->size = m->def.value_size;
		f->what = "value";
		return -1;
	}
	/* The value may overlap the element it replaces (a hash update copies it
	 * into a new element; an array update may copy onto itself): memmove. */
	u8 tmp[256], *copy = m->def.value_size <= sizeof(tmp) ? tmp : malloc(m->def.value_size);
	if (!copy) {
		f->kind = UVM_FAULT_OTHER;
		f->what = "out of memory";
		return -1;
	}
	memmove(copy, val, m->def.value_size);
	r[0] = (u64)vmap_update(m, key, copy, r[4]);
	if (copy != tmp)
		free(copy);
	return 0;
}

static u64 env_value(const struct uvm *vm, int kind, u64 i)
{
	size_t n = vm->env_n[kind];
	if (kind == EBPF_ENV_CPU && n)
		return vm->env_vals[kind][0]; /* one CPU for the whole run */
	return i < n ? vm->env_vals[kind][i] : ebpf_env_value(vm->opts.env_seed, kind, i);
}

/* The first slot of the callback a code address (lddw src 4) names, if it is
 * an instruction of the program at slot `from`; else NULL. */
static const struct dinsn *callback_of(const struct uvm *vm, u64 addr, const struct dinsn *from)
{
	u64 x = addr - vm->opts.map_addr - EBPF_CODE_ADDRS;
	if (x & 7)
		return NULL;
	u64 slot = x / 8;
	size_t k = prog_of(vm, (size_t)(from - vm->code));
	if (slot < vm->prog_base[k] || slot >= vm->prog_base[k + 1] || vm->second[slot])
		return NULL;
	return vm->code + slot;
}

/*
 * noinline/noclone: labels' addresses are taken once (labels_out) and used in
 * later calls, which is only valid while there is exactly one copy of the body.
 */
#ifdef __clang__
#define NOCLONE /* clang does not clone functions with address-taken labels */
#else
#define NOCLONE __attribute__((noclone))
#endif
__attribute__((noinline)) NOCLONE static void exec(struct uvm *vm, u8 *mem, u64 mem_len,
						   struct uvm_result *res, const void *const **labels_out)
{
	static const void *const labels[FORM_COUNT + 3] = {
#define LABEL(id, m, op, fmt, disc, cpu, isa) [FORM_##id] = &&L_##id,
		EBPF_FORMS(LABEL)
#undef LABEL
		[LABEL_LDDW_HI] = &&L_LDDW_HI,
		[LABEL_R10_WRITE] = &&L_R10_WRITE,
		[LABEL_TRACE] = &&L_TRACE,
	};
	if (labels_out) {
		*labels_out = labels;
		return;
	}

	const struct uvm_opts *o = &vm->opts;
#ifdef UVM_MUTANTS
	const unsigned mut = o->mutant;
#endif
	const u64 budget = o->budget;
	const int be = o->big_endian;
	const struct dinsn *p = vm->code, *tgt = NULL;
	uintptr_t lim = (uintptr_t)p + (budget - 1) * SLOT;
	u64 r[EBPF_NREGS];
	for (int i = 0; i < EBPF_NREGS; i++)
		r[i] = o->reg_fill;
	const u64 r1_entry = mem_len || !o->null_r1 ? o->mem_addr : 0;
	r[1] = r1_entry;
	r[2] = mem_len;
	r[10] = o->stack_top;

	/* Live stack: [stk_lo, stk_lo + stk_len) at host stk_host. */
	u64 stk_lo = o->stack_top - EBPF_STACK_SIZE, stk_len = EBPF_STACK_SIZE;
	u8 *stk_host = vm->stack + STACK_BYTES - EBPF_STACK_SIZE;
	/* An access of S bytes at offset x into memory is valid iff x < mlimS. */
	const u64 maddr = o->mem_addr;
	const u64 mlim1 = mem_len, mlim2 = mem_len >= 2 ? mem_len - 1 : 0,
		  mlim4 = mem_len >= 4 ? mem_len - 3 : 0, mlim8 = mem_len >= 8 ? mem_len - 7 : 0;
	struct {
		const struct dinsn *ret;
		u64 saved[4];
		u64 may_goto;
		/* bpf_loop: this frame runs callback cb, iteration i of n */
		const struct dinsn *cb;
		u64 ctx;
		u32 i, n;
	} frames[EBPF_MAX_CALL_DEPTH];
	u64 may_goto = EBPF_MAY_GOTO_BUDGET; /* this frame's may_goto budget (semantics.h) */
	int depth = 0;
	const u64 fsz = MUT(FRAME_256) ? 256 : EBPF_STACK_SIZE;
	u64 fault_addr = 0, helper_id = 0;
	int fault_size = 0, fault_write = 0;
	u64 env_calls[EBPF_ENV_KINDS] = { 0 };
	u64 map_access[2] = { 0, 0 }; /* loads, stores through map value pointers */
	char at[32];
	unsigned tail_calls = 0;
	struct helper_fault hf = { 0 };

#define DST r[p->dst]
#define SRC r[p->src]
#define IMM p->imm
#define OFF p->off
#define NEXT goto *(++p)->op
#define W32(E)                                                                              \
	do {                                                                                \
		u32 v_ = (E);                                                               \
		DST = MUT(ALU32_NO_ZEXT) ? (DST & 0xffffffff00000000ULL) | v_ : (u64)v_; \
	} while (0)
/* Taken control transfer by D slots past the next: check the target is in budget. */
#define JUMP(D)                                                       \
	do {                                                          \
		intptr_t d_ = (D);                                    \
		if (MUT(BACKEDGE_SKIP) && d_ < 0)                     \
			d_++;                                         \
		if (unlikely((uintptr_t)p >= lim)) {                  \
			tgt = p + d_ + 1;                             \
			goto timeout_xfer;                            \
		}                                                     \
		lim += (uintptr_t)d_ * SLOT;                          \
		p += d_ + 1;                                          \
		goto *p->op;                                          \
	} while (0)
/* Guest address -> host pointer for an S-byte access, or a fault. */
#define XLATE(h, ADDR, S, W)                                                   \
	do {                                                                   \
		u64 a_ = (ADDR), o_ = a_ - stk_lo;                             \
		if (likely(o_ <= stk_len - (S)))                               \
			h = stk_host + o_;                                     \
		else if (likely((o_ = a_ - maddr) < mlim##S))                  \
			h = mem + o_;                                          \
		else if ((h = vm->nmaps ? map_xlate(vm, a_, S) : NULL))       \
			map_access[W]++;                                       \
		else {                                                         \
			fault_addr = a_;                                       \
			fault_size = S;                                        \
			fault_write = W;                                       \
			goto oob;                                              \
		}                                                              \
	} while (0)

	goto *p->op;

	/* ALU: a = dst, b = src or imm (sign-extended for 64-bit, low 32 bits for 32-bit). */
#define ALU64(ID, E)                                                   \
	L_##ID##64_IMM: {                                              \
		u64 a = DST, b = sem_imm64(IMM);                       \
		(void)a;                                               \
		DST = (E);                                             \
		NEXT;                                                  \
	}                                                              \
	L_##ID##64_REG: {                                              \
		u64 a = DST, b = SRC;                                  \
		(void)a;                                               \
		DST = (E);                                             \
		NEXT;                                                  \
	}
#define ALU32(ID, E)                                                   \
	L_##ID##32_IMM: {                                              \
		u32 a = (u32)DST, b = (u32)IMM;                        \
		(void)a;                                               \
		W32(E);                                                \
		NEXT;                                                  \
	}                                                              \
	L_##ID##32_REG: {                                              \
		u32 a = (u32)DST, b = (u32)SRC;                        \
		(void)a;                                               \
		W32(E);                                                \
		NEXT;                                                  \
	}
#define SHIFT(W, F) (MUT(SHIFT_UNMASKED) && b >= W ? 0 : F(a, b))
#ifdef UVM_MUTANTS
#define SDIV64(a, b)                                                                     \
	(MUT(SDIV_INTMIN) && (a) == 1ULL << 63 && (b) == ~0ULL ? (1ULL << 63) - 1        \
	 : MUT(SDIV_ABS_SAT) && (b) != ~0ULL                   ? sdiv64_abs_sat(a, b) \
								: sem_sdiv64(a, b))
#define SDIV32(a, b) (MUT(SDIV_INTMIN) && (a) == 1U << 31 && (b) == ~0U ? (1U << 31) - 1 : sem_sdiv32(a, b))
#define SMOD64(a, b)                                                      \
	(MUT(SMOD_SIGN)      ? floor_rem64(sem_smod64(a, b), b) \
	 : MUT(SDIV_ABS_SAT) ? smod64_abs_sat(a, b)             \
			     : sem_smod64(a, b))
#define SMOD32(a, b) (MUT(SMOD_SIGN) ? floor_rem32(sem_smod32(a, b), b) : sem_smod32(a, b))
#else
#define SDIV64 sem_sdiv64
#define SDIV32 sem_sdiv32
#define SMOD64 sem_smod64
#define SMOD32 sem_smod32
#endif
	ALU64(ADD, a + b)
	ALU32(ADD, a + b)
	ALU64(SUB, a - b)
	ALU32(SUB, a - b)
	ALU64(MUL, a * b)
	ALU32(MUL, a * b)
	ALU64(DIV, sem_div64(a, b))
	ALU32(DIV, sem_div32(a, b))
	ALU64(SDIV, SDIV64(a, b))
	ALU32(SDIV, SDIV32(a, b))
	ALU64(MOD, MUT(MOD0_ZERO) && !b ? 0 : sem_mod64(a, b))
	ALU32(MOD, MUT(MOD0_ZERO) && !b ? 0 : sem_mod32(a, b))
	ALU64(SMOD, SMOD64(a, b))
	ALU32(SMOD, SMOD32(a, b))
	ALU64(OR, a | b)
	ALU32(OR, a | b)
	ALU64(AND, a & b)
	ALU32(AND, a & b)
	ALU64(XOR, a ^ b)
	ALU32(XOR, a ^ b)
	ALU64(MOV, b)
	ALU32(MOV, b)
	ALU64(LSH, SHIFT(64, sem_lsh64))
	ALU32(LSH, SHIFT(32, sem_lsh32))
	ALU64(RSH, SHIFT(64, sem_rsh64))
	ALU32(RSH, SHIFT(32, sem_rsh32))
	ALU64(ARSH, SHIFT(64, sem_arsh64))
	ALU32(ARSH, SHIFT(32, sem_arsh32))
L_NEG64:
	DST = -DST;
	NEXT;
L_NEG32:
	W32(-(u32)DST);
	NEXT;
L_MOVSX8_64:
	DST = sem_sext8(SRC);
	NEXT;
L_MOVSX16_64:
	DST = sem_sext16(SRC);
	NEXT;
L_MOVSX32_64:
	DST = sem_sext32(SRC);
	NEXT;
L_MOVSX8_32:
	W32(sem_sext8(SRC));
	NEXT;
L_MOVSX16_32:
	W32(sem_sext16(SRC));
	NEXT;

#define SWAP16(E) (MUT(BSWAP16_UPPER) ? (DST & ~0xffffULL) | (E) : (E))
	/* "to le" only truncates on a little-endian target and swaps on a big-endian one. */
L_LE16:
	DST = be ? SWAP16(sem_be(DST, 16)) : sem_le(DST, 16);
	NEXT;
L_LE32:
	DST = be ? sem_be(DST, 32) : sem_le(DST, 32);
	NEXT;
L_LE64:
	DST = be ? sem_be(DST, 64) : sem_le(DST, 64);
	NEXT;
L_BE16:
	DST = be ? sem_le(DST, 16) : SWAP16(sem_be(DST, 16));
	NEXT;
L_BE32:
	DST = be ? sem_le(DST, 32) : sem_be(DST, 32);
	NEXT;
L_BE64:
	DST = be ? sem_le(DST, 64) : sem_be(DST, 64);
	NEXT;
L_BSWAP16:
	DST = SWAP16(sem_bswap16(DST));
	NEXT;
L_BSWAP32:
	DST = sem_bswap32(DST);
	NEXT;
L_BSWAP64:
	DST = sem_bswap64(DST);
	NEXT;

	/* Two slots, one instruction. An lddw already past the budget must not
	 * move lim, or a timeout would blame the wrong pc. */
#define LDDW_DONE                                  \
	do {                                       \
		if (likely((uintptr_t)p <= lim))   \
			lim += SLOT;               \
		p++;                               \
		NEXT;                              \
	} while (0)
L_LDDW:
	DST = MUT(LDDW_LOW_ONLY) ? (u64)(u32)IMM : sem_lddw(IMM, p[1].imm);
	LDDW_DONE;
	/* Pseudo sources (vm/helpers.h has the addresses); uvm_load has checked
	 * that the map exists, and put the callback's slot in imm for src 4. */
L_LDDW_MAP_FD:
L_LDDW_MAP_IDX:
	DST = o->map_addr + EBPF_MAP_OBJECTS + (u64)(u32)IMM * 256;
	LDDW_DONE;
L_LDDW_MAP_VALUE:
L_LDDW_MAP_IDX_VALUE:
	DST = o->map_addr + ((u64)(u32)IMM << EBPF_MAP_SHIFT) + (u64)(u32)p[1].imm;
	LDDW_DONE;
L_LDDW_CODE_ADDR:
	DST = o->map_addr + EBPF_CODE_ADDRS + (u64)(u32)IMM * 8;
	LDDW_DONE;

	/* Memory. Unaligned guest accesses are allowed: memcpy. ORD##S puts an
	 * S-byte value in the target's byte order (the host is little-endian). */
#define ORD1(v) (v)
#define ORD2(v) (be ? __builtin_bswap16(v) : (v))
#define ORD4(v) (be ? __builtin_bswap32(v) : (v))
#define ORD8(v) (be ? __builtin_bswap64(v) : (v))
#ifdef UVM_MUTANTS
	/* stack-off-zext: through a stack pointer other than r10 (a copy moved
	 * by a register, as a variable offset makes it), a negative off is
	 * zero-extended from 16 bits, as a JIT that builds non-frame-pointer
	 * addresses from an unsigned immediate. */
#define MEM_OFF(BASE, REG)                                                                 \
	(MUT(STACK_OFF_ZEXT) && OFF < 0 && (REG) != 10 && (BASE) + (s64)OFF - stk_lo < stk_len \
		 ? (u64)(ebpf_u16)OFF                                                       \
		 : (u64)(s64)OFF)
#else
#define MEM_OFF(BASE, REG) ((u64)(s64)OFF)
#endif
#define LDX(ID, S, T, CONV)                                   \
	L_##ID: {                                             \
		u8 *h;                                        \
		T v;                                          \
		XLATE(h, SRC + MEM_OFF(SRC, p->src), S, 0);   \
		memcpy(&v, h, S);                             \
		DST = CONV((T)ORD##S(v));                     \
		NEXT;                                         \
	}
#define ZX(v) ((u64)(v))
	LDX(LDXB, 1, u8, ZX)
	LDX(LDXH, 2, ebpf_u16, ZX)
	LDX(LDXW, 4, u32, ZX)
	LDX(LDXDW, 8, u64, ZX)
#define SX8(v) (MUT(LDSX_NO_SEXT) ? (u64)(v) : sem_sext8(v))
#define SX16(v) (MUT(LDSX_NO_SEXT) ? (u64)(v) : sem_sext16(v))
#define SX32(v) (MUT(LDSX_NO_SEXT) ? (u64)(v) : sem_sext32(v))
	LDX(LDXSB, 1, u8, SX8)
	LDX(LDXSH, 2, ebpf_u16, SX16)
	LDX(LDXSW, 4, u32, SX32)
	LDX(LOAD_ACQ_B, 1, u8, ZX)
	LDX(LOAD_ACQ_H, 2, ebpf_u16, ZX)
	LDX(LOAD_ACQ_W, 4, u32, ZX)
	LDX(LOAD_ACQ_DW, 8, u64, ZX)

#define STORE(ID, S, T, VAL)                                  \
	L_##ID: {                                             \
		u8 *h;                                        \
		T v = (T)ORD##S((T)(VAL));                    \
		XLATE(h, DST + MEM_OFF(DST, p->dst), S, 1);   \
		memcpy(h, &v, S);                             \
		NEXT;                                         \
	}
	STORE(STB, 1, u8, IMM)
	STORE(STH, 2, ebpf_u16, IMM)
	STORE(STW, 4, u32, IMM)
	STORE(STDW, 8, u64, sem_imm64(IMM))
	STORE(STXB, 1, u8, SRC)
	STORE(STXH, 2, ebpf_u16, SRC)
	STORE(STXW, 4, u32, SRC)
	STORE(STXDW, 8, u64, SRC)
	STORE(STORE_REL_B, 1, u8, SRC)
	STORE(STORE_REL_H, 2, ebpf_u16, SRC)
	STORE(STORE_REL_W, 4, u32, SRC)
	STORE(STORE_REL_DW, 8, u64, SRC)

	/* Atomics: old = [dst+off]; [dst+off] = E(old, v); with FETCH, src = old. */
#define FETCH64(old) (SRC = (old))
#define FETCH32(old) (SRC = MUT(FETCH32_NO_ZEXT) ? (SRC & 0xffffffff00000000ULL) | (old) : (u64)(old))
#define ATOMIC(ID, S, T, E, FETCH)                            \
	L_##ID: {                                             \
		u8 *h;                                        \
		T old, v = (T)SRC, nv;                        \
		XLATE(h, DST + MEM_OFF(DST, p->dst), S, 1);   \
		memcpy(&old, h, S);                           \
		old = (T)ORD##S(old);                         \
		nv = (T)ORD##S((T)(E));                       \
		memcpy(h, &nv, S);                            \
		FETCH;                                        \
		NEXT;                                         \
	}
#define ATOMICS(W, S, T, F)                                                    \
	ATOMIC(ATOMIC##W##_ADD, S, T, old + v, (void)0)                        \
	ATOMIC(ATOMIC##W##_OR, S, T, old | v, (void)0)                         \
	ATOMIC(ATOMIC##W##_AND, S, T, old & v, (void)0)                        \
	ATOMIC(ATOMIC##W##_XOR, S, T, old ^ v, (void)0)                        \
	ATOMIC(ATOMIC##W##_FETCH_ADD, S, T, old + v, F(old))                   \
	ATOMIC(ATOMIC##W##_FETCH_OR, S, T, old | v, F(old))                    \
	ATOMIC(ATOMIC##W##_FETCH_AND, S, T, old & v, F(old))                   \
	ATOMIC(ATOMIC##W##_FETCH_XOR, S, T, old ^ v, F(old))                   \
	ATOMIC(ATOMIC##W##_XCHG, S, T, v, F(old))
	ATOMICS(64, 8, u64, FETCH64)
	ATOMICS(32, 4, u32, FETCH32)
	/* cmpxchg: compare r0 (its low half for 32 bits) with memory, store src if
	 * equal; r0 gets the old value (zero-extended) either way. */
#define CMPXCHG(ID, S, T)                                                     \
	L_##ID: {                                                             \
		u8 *h;                                                        \
		T old, v = (T)SRC, sv = (T)ORD##S(v);                        \
		XLATE(h, DST + (u64)(s64)OFF, S, 1);                          \
		memcpy(&old, h, S);                                           \
		old = (T)ORD##S(old);                                         \
		if ((T)r[0] == old) {                                         \
			memcpy(h, &sv, S);                                    \
			r[0] = MUT(CMPXCHG_R0) ? (u64)v : (u64)old;           \
		} else {                                                      \
			r[0] = old;                                           \
		}                                                             \
		NEXT;                                                         \
	}
	CMPXCHG(ATOMIC64_CMPXCHG, 8, u64)
	CMPXCHG(ATOMIC32_CMPXCHG, 4, u32)

	/* Jumps. C(a, b, W): the condition at width W (a, b already truncated). */
#define C_JEQ(a, b, W) ((a) == (b))
#define C_JNE(a, b, W) ((a) != (b))
#define C_JGT(a, b, W) ((a) > (b))
#define C_JGE(a, b, W) ((a) >= (b))
#define C_JLT(a, b, W) ((a) < (b))
#define C_JLE(a, b, W) ((a) <= (b))
#define C_JSET(a, b, W) sem_jset(a, b)
#define C_JSGT(a, b, W) (MUT(SIGNED_AS_UNSIGNED) ? (a) > (b) : sem_jsgt##W(a, b))
#define C_JSGE(a, b, W) sem_jsge##W(a, b)
#define C_JSLT(a, b, W) sem_jslt##W(a, b)
#define C_JSLE(a, b, W) sem_jsle##W(a, b)
#define JCOND(ID)                                                                                   \
	L_##ID##_IMM:                                                                               \
	if (C_##ID(DST, sem_imm64(IMM), 64))                                                        \
		JUMP(OFF);                                                                          \
	NEXT;                                                                                       \
	L_##ID##_REG:                                                                               \
	if (C_##ID(DST, SRC, 64))                                                                   \
		JUMP(OFF);                                                                          \
	NEXT;                                                                                       \
	L_##ID##32_IMM:                                                                             \
	if (MUT(JMP32_64BIT) ? C_##ID(DST, sem_imm64(IMM), 64) : C_##ID((u32)DST, (u32)IMM, 32))    \
		JUMP(OFF);                                                                          \
	NEXT;                                                                                       \
	L_##ID##32_REG:                                                                             \
	if (MUT(JMP32_64BIT) ? C_##ID(DST, SRC, 64) : C_##ID((u32)DST, (u32)SRC, 32))               \
		JUMP(OFF);                                                                          \
	NEXT;
	JCOND(JEQ)
	JCOND(JNE)
	JCOND(JGT)
	JCOND(JGE)
	JCOND(JLT)
	JCOND(JLE)
	JCOND(JSET)
	JCOND(JSGT)
	JCOND(JSGE)
	JCOND(JSLT)
	JCOND(JSLE)
L_JA:
	JUMP(OFF);
L_JA32:
	JUMP(IMM);
L_MAY_GOTO:
	if (sem_may_goto(&may_goto, OFF))
		JUMP(OFF);
	NEXT;

L_CALL_LOCAL:
	if (unlikely(depth + 1 >= EBPF_MAX_CALL_DEPTH))
		goto depth_fault;
	if (unlikely((uintptr_t)p >= lim)) {
		tgt = p + IMM + 1;
		goto timeout_xfer;
	}
	frames[depth].ret = p + 1;
	memcpy(frames[depth].saved, &r[6], sizeof(frames[depth].saved));
	frames[depth].may_goto = may_goto;
	may_goto = EBPF_MAY_GOTO_BUDGET;
	frames[depth].n = 0;
	if (MUT(R5_DEPTH3) && depth >= 1)
		r[5] = 0;
	depth++;
	/* Each frame its own 512 bytes, as the kernel: a callee's [r10-8] never
	 * aliases its caller's. */
	r[10] -= fsz;
	stk_lo -= fsz;
	stk_len += fsz;
	stk_host -= fsz;
	lim += (uintptr_t)(intptr_t)IMM * SLOT;
	p += IMM + 1;
	goto *p->op;
L_EXIT:
	if (likely(depth == 0))
		goto done;
	if (unlikely(frames[depth - 1].n != 0))
		goto loop_exit;
	if (unlikely((uintptr_t)p >= lim)) {
		tgt = frames[depth - 1].ret;
		goto timeout_xfer;
	}
	depth--;
	if (!MUT(CALLEE_CLOBBER))
		memcpy(&r[6], frames[depth].saved,
		       MUT(R9_DEPTH3) && depth >= 1 ? 3 * sizeof(u64) : sizeof(frames[depth].saved));
	may_goto = frames[depth].may_goto;
	r[10] += fsz;
	stk_lo += fsz;
	stk_len -= fsz;
	stk_host += fsz;
	tgt = frames[depth].ret;
	lim += (uintptr_t)tgt - (uintptr_t)p - SLOT;
	p = tgt;
	goto *p->op;

	/* A control transfer to slot T that is not a jump: as JUMP, by address. */
#define XFER(T)                                                       \
	do {                                                          \
		const struct dinsn *t_ = (T);                         \
		if (unlikely((uintptr_t)p >= lim)) {                  \
			tgt = t_;                                     \
			goto timeout_xfer;                            \
		}                                                     \
		lim += (uintptr_t)t_ - (uintptr_t)p - SLOT;           \
		p = t_;                                               \
		goto *p->op;                                          \
	} while (0)
	/* After a helper, r1-r5 hold nothing the program may read (the verifier
	 * marks them unreadable): the "unspecified" value, which the diff moves. */
#define CLOBBER_ARGS() (r[1] = r[2] = r[3] = r[4] = r[5] = o->reg_fill)
L_CALL_HELPER:
	helper_id = (u32)IMM;
	goto helper;
L_CALLX:
	helper_id = DST;
	goto helper;
helper: {
	const struct helper *hp = vm->nhelpers && helper_id <= UINT32_MAX ? find_helper(vm, helper_id) : NULL;
	if (hp) {
		r[0] = hp->fn(hp->ctx, r[1], r[2], r[3], r[4], r[5]);
		NEXT;
	}
	switch (ebpf_platform_helper(o->platform, helper_id)) {
	case EBPF_H_MAP_LOOKUP:
	case EBPF_H_MAP_UPDATE:
	case EBPF_H_MAP_DELETE: {
		struct guest g = { stk_lo, stk_len, maddr, mem_len, stk_host, mem };
		if (map_helper(vm, &g, ebpf_platform_helper(o->platform, helper_id), r, &hf))
			goto helper_fault;
		CLOBBER_ARGS();
		NEXT;
	}
	case EBPF_H_KTIME_GET_NS:
		r[0] = env_value(vm, EBPF_ENV_KTIME, env_calls[EBPF_ENV_KTIME]++);
		CLOBBER_ARGS();
		NEXT;
	case EBPF_H_GET_PRANDOM_U32:
		r[0] = (u32)env_value(vm, EBPF_ENV_PRANDOM, env_calls[EBPF_ENV_PRANDOM]++);
		CLOBBER_ARGS();
		NEXT;
	case EBPF_H_GET_SMP_PROCESSOR_ID:
		r[0] = (u32)env_value(vm, EBPF_ENV_CPU, env_calls[EBPF_ENV_CPU]++);
		CLOBBER_ARGS();
		NEXT;
	case EBPF_H_UNWIND:
		/* ubpf: the helper returns its argument; 0 ends the program, at any depth. */
		r[0] = r[1];
		if (!r[0])
			goto done;
		NEXT;
	case EBPF_H_TAIL_CALL: {
		struct vmap *pa = map_of(vm, r[2]);
		if (!pa || pa->def.type != EBPF_MAP_PROG_ARRAY) {
			hf = (struct helper_fault){ .kind = UVM_FAULT_CALL, .addr = r[2],
						    .what = "r2 is not a prog_array" };
			goto helper_fault;
		}
		/* The kernel's order (its interpreter and x86-64 JIT alike, measured
		 * on 6.18): the index, the count, the slot; only a tail call that is
		 * taken counts towards the limit. */
		u32 idx = (u32)r[3], target = 0;
		if (idx < pa->def.max_entries && tail_calls < EBPF_MAX_TAIL_CALLS) {
			memcpy(&target, pa->vals + (size_t)idx * pa->stride, 4);
			tail_calls += target != 0;
		}
		CLOBBER_ARGS();
		r[0] = o->reg_fill;
		if (!target || target > vm->nprogs)
			NEXT; /* falls through to the next instruction */
		/* The target replaces the running program in this frame and starts
		 * as a program does: r1 the memory, r2 its length. */
		for (int i = 6; i < 10; i++)
			r[i] = o->reg_fill;
		r[1] = r1_entry;
		r[2] = mem_len;
		XFER(vm->code + vm->prog_base[target - 1]);
	}
	case EBPF_H_LOOP: {
		/* kernel/bpf/bpf_iter.c: flags, then the u32 count, then the loop. */
		u32 nr = (u32)r[1];
		if (r[4] || nr > EBPF_MAX_LOOPS || !nr) {
			r[0] = r[4] ? (u64)-(s64)EBPF_EINVAL : nr ? (u64)-(s64)EBPF_E2BIG : 0;
			CLOBBER_ARGS();
			NEXT;
		}
		const struct dinsn *cb = callback_of(vm, r[2], p);
		if (!cb) {
			hf = (struct helper_fault){ .kind = UVM_FAULT_CALL, .addr = r[2],
						    .what = "r2 is not a function of this program" };
			goto helper_fault;
		}
		if (unlikely(depth + 1 >= EBPF_MAX_CALL_DEPTH))
			goto depth_fault;
		if (unlikely((uintptr_t)p >= lim)) {
			tgt = cb;
			goto timeout_xfer;
		}
		frames[depth].ret = p + 1;
		memcpy(frames[depth].saved, &r[6], sizeof(frames[depth].saved));
		frames[depth].cb = cb;
		frames[depth].ctx = r[3];
		frames[depth].i = 0;
		frames[depth].n = nr;
		frames[depth].may_goto = may_goto;
		may_goto = EBPF_MAY_GOTO_BUDGET; /* a callback is a function: its own budget */
		depth++;
		r[10] -= fsz;
		stk_lo -= fsz;
		stk_len += fsz;
		stk_host -= fsz;
		r[1] = 0;
		r[2] = frames[depth - 1].ctx;
		r[3] = r[4] = r[5] = 0;
		lim += (uintptr_t)cb - (uintptr_t)p - SLOT;
		p = cb;
		goto *p->op;
	}
	default:
		goto no_helper;
	}
}
loop_exit: {
	/* A bpf_loop callback returned: stop on non-zero (the helper's `if (ret)`),
	 * else run it again with the next index; r0 = iterations run. */
	int d = depth - 1;
	frames[d].i++;
	if (!r[0] && frames[d].i < frames[d].n) {
		r[1] = frames[d].i;
		r[2] = frames[d].ctx;
		r[3] = r[4] = r[5] = 0;
		may_goto = EBPF_MAY_GOTO_BUDGET; /* each call of the callback starts afresh */
		XFER(frames[d].cb);
	}
	if (unlikely((uintptr_t)p >= lim)) {
		tgt = frames[d].ret;
		goto timeout_xfer;
	}
	depth--;
	if (!MUT(CALLEE_CLOBBER))
		memcpy(&r[6], frames[d].saved, sizeof(frames[d].saved));
	may_goto = frames[d].may_goto;
	r[10] += fsz;
	stk_lo += fsz;
	stk_len -= fsz;
	stk_host += fsz;
	r[0] = frames[d].i;
	CLOBBER_ARGS();
	frames[d].n = 0;
	XFER(frames[d].ret);
}

L_R10_WRITE:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_FAULT;
	res->fault = UVM_FAULT_R10;
	res->pc = pc_of(vm, (uintptr_t)p);
	snprintf(res->message, sizeof(res->message), "pc %u: write to r10, the read-only frame pointer",
		 res->pc);
	goto end;

L_TRACE: {
	/* Only reached when uvm_run put this label in every slot: a copy of the
	 * registers, so that r[] does not escape into the hot path's calls. */
	size_t slot = (size_t)(p - vm->code), k = vm->nprogs > 1 ? prog_of(vm, slot) : 0;
	uint64_t snap[EBPF_NREGS];
	memcpy(snap, r, sizeof(snap));
	vm->trace(vm->trace_ctx, (unsigned)k, (uint32_t)(slot - vm->prog_base[k]), depth, snap);
	goto *vm->trace_ops[slot];
}

L_CALL_BTF:
L_LDDW_VAR_ADDR:
L_LDDW_HI:
	/* uvm_load never lets these run. */
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_FAULT;
	res->fault = UVM_FAULT_OTHER;
	res->pc = pc_of(vm, (uintptr_t)p);
	snprintf(res->message, sizeof(res->message), "pc %u: internal error: unexpected instruction", res->pc);
	goto end;

#undef DST
#undef SRC
#undef IMM
#undef OFF

done:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_OK;
	memcpy(res->message, "ok", 3);
	goto end;
oob:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_FAULT;
	res->fault = fault_write ? UVM_FAULT_WRITE : UVM_FAULT_READ;
	res->fault_addr = fault_addr;
	where(vm, (uintptr_t)p, at, sizeof(at));
	snprintf(res->message, sizeof(res->message), "%s: %s of %d bytes at 0x%llx out of bounds", at,
		 fault_write ? "write" : "read", fault_size, (unsigned long long)fault_addr);
	goto end;
depth_fault:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_FAULT;
	res->fault = UVM_FAULT_DEPTH;
	where(vm, (uintptr_t)p, at, sizeof(at));
	snprintf(res->message, sizeof(res->message), "%s: call depth exceeds %d", at, EBPF_MAX_CALL_DEPTH);
	goto end;
helper_fault:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_FAULT;
	res->fault = hf.kind;
	res->fault_addr = hf.addr;
	where(vm, (uintptr_t)p, at, sizeof(at));
	if (hf.kind == UVM_FAULT_READ)
		snprintf(res->message, sizeof(res->message), "%s: helper %llu: read of %llu bytes (%s) at 0x%llx out of bounds",
			 at, (unsigned long long)helper_id, (unsigned long long)hf.size, hf.what,
			 (unsigned long long)hf.addr);
	else
		snprintf(res->message, sizeof(res->message), "%s: helper %llu: %s (0x%llx)", at,
			 (unsigned long long)helper_id, hf.what, (unsigned long long)hf.addr);
	goto end;
no_helper:
	if ((uintptr_t)p > lim)
		goto timeout_inseg;
	res->status = UVM_UNSUPPORTED;
	where(vm, (uintptr_t)p, at, sizeof(at));
	if ((vm->trace ? vm->trace_ops[p - vm->code] : p->op) == labels[FORM_CALLX]) /* not shared with another form: it has a body of its own */
		snprintf(res->message, sizeof(res->message),
			 "%s: helper call through r%d (helper %llu) is not modelled on platform %s", at, p->dst,
			 (unsigned long long)helper_id, o->platform == EBPF_PLATFORM_UBPF ? "ubpf" : "linux");
	else
		snprintf(res->message, sizeof(res->message), "%s: call to helper %llu is not modelled on platform %s",
			 at, (unsigned long long)helper_id, o->platform == EBPF_PLATFORM_UBPF ? "ubpf" : "linux");
	goto end;
end:
	res->r0 = r[0];
	res->pc = pc_of(vm, (uintptr_t)p);
	res->insns = budget - (lim - (uintptr_t)p) / SLOT;
	res->map_loads = map_access[0];
	res->map_stores = map_access[1];
	return;

timeout_xfer:
	/* p was the last instruction in budget: the target is the first one out. */
	if ((uintptr_t)p == lim) {
		p = tgt;
		goto timeout;
	}
	/* fall through: p itself is past the budget */
timeout_inseg: {
	/* The first instruction out of budget is the slot after lim. */
	uintptr_t s = lim + SLOT;
	if (((const struct dinsn *)s)->op == labels[LABEL_LDDW_HI])
		s -= SLOT;
	p = (const struct dinsn *)s;
}
timeout:
	res->status = UVM_TIMEOUT;
	res->r0 = r[0];
	res->pc = pc_of(vm, (uintptr_t)p);
	res->insns = budget;
	res->map_loads = map_access[0];
	res->map_stores = map_access[1];
	where(vm, (uintptr_t)p, at, sizeof(at));
	snprintf(res->message, sizeof(res->message), "%s: instruction budget of %llu exhausted", at,
		 (unsigned long long)budget);
}

static const void *const *exec_labels(void)
{
	const void *const *labels;
	exec(NULL, NULL, 0, NULL, &labels);
	return labels;
}

/* ---- API -------------------------------------------------------------- */

static int apply_opts(struct uvm_opts *dst, const struct uvm_opts *src)
{
	struct uvm_opts o = { 0 };
	if (src) {
		size_t sz = src->sz ? src->sz : sizeof(o);
		if (sz < sizeof(size_t))
			return -EINVAL;
		if (sz > sizeof(o)) {
			/* A newer caller: fine as long as it sets nothing we don't know. */
			for (size_t i = sizeof(o); i < sz; i++)
				if (((const char *)src)[i])
					return -E2BIG;
			sz = sizeof(o);
		}
		memcpy(&o, src, sz);
	}
	o.sz = sizeof(o);
	/* 0 means "default", so a caller can set only what it cares about. */
	if (!o.mem_addr)
		o.mem_addr = UVM_DEFAULT_MEM_ADDR;
	if (!o.stack_top)
		o.stack_top = UVM_DEFAULT_STACK_TOP;
	if (!o.budget)
		o.budget = UVM_DEFAULT_BUDGET;
	if (!o.map_addr)
		o.map_addr = UVM_DEFAULT_MAP_ADDR;
	if (!o.env_seed)
		o.env_seed = UVM_DEFAULT_ENV_SEED;
	if (o.platform < 0 || o.platform >= EBPF_PLATFORM_COUNT)
		return -EINVAL;
	if (o.budget > MAX_BUDGET)
		o.budget = MAX_BUDGET;
	if (!o.cpu)
		o.cpu = 4;
	if (o.cpu < 1 || o.cpu > 4)
		return -EINVAL;
	if (!o.isa)
		o.isa = EBPF_ISA_LINUX;
	if (o.isa != EBPF_ISA_RFC9669 && o.isa != EBPF_ISA_LINUX)
		return -EINVAL;
#ifdef UVM_MUTANTS
	if (o.mutant > NMUTANTS)
		return -EINVAL;
#else
	if (o.mutant)
		return -ENOTSUP;
#endif
	*dst = o;
	return 0;
}

struct uvm *uvm_create(const struct uvm_opts *opts)
{
	struct uvm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	int err = apply_opts(&vm->opts, opts);
	if (err < 0) {
		/* Not silently dropped: a campaign asking for a mutant must get it. */
		free(vm);
		errno = -err;
		return NULL;
	}
	return vm;
}

void uvm_destroy(struct uvm *vm)
{
	if (!vm)
		return;
	free(vm->buf);
	free(vm->second);
	free(vm->prog_base);
	free(vm->helpers);
	free(vm->trace_ops);
	for (size_t i = 0; i < vm->nmaps; i++)
		vmap_free(&vm->maps[i]);
	for (int k = 0; k < EBPF_ENV_KINDS; k++)
		free(vm->env_vals[k]);
	free(vm);
}

int uvm_set_opts(struct uvm *vm, const struct uvm_opts *opts)
{
	return apply_opts(&vm->opts, opts);
}

int uvm_register_helper(struct uvm *vm, uint32_t id, uvm_helper_fn fn, void *ctx)
{
	for (size_t i = 0; i < vm->nhelpers; i++) {
		if (vm->helpers[i].id != id)
			continue;
		if (fn) {
			vm->helpers[i].fn = fn;
			vm->helpers[i].ctx = ctx;
		} else {
			vm->helpers[i] = vm->helpers[--vm->nhelpers];
		}
		return 0;
	}
	if (!fn)
		return -ENOENT;
	struct helper *h = realloc(vm->helpers, (vm->nhelpers + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	vm->helpers = h;
	h[vm->nhelpers++] = (struct helper){ .id = id, .fn = fn, .ctx = ctx };
	return 0;
}

/* First error of each kind; malformed wins over unmodelled. */
struct load_err {
	int einval, enotsup;
	char inval[160], notsup[160];
};

__attribute__((format(printf, 4, 5))) static void load_fail(struct load_err *le, int err, size_t pc,
							     const char *fmt, ...)
{
	int *have = err == -EINVAL ? &le->einval : &le->enotsup;
	char *buf = err == -EINVAL ? le->inval : le->notsup;
	if (*have)
		return;
	*have = 1;
	int n = snprintf(buf, sizeof(le->inval), "pc %zu: ", pc);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(le->inval) - n, fmt, ap);
	va_end(ap);
}

/* Where a jump/call at pc with displacement d lands (within its program of
 * n slots, second[] indexed like pc); an error is recorded. */
static void check_target(struct load_err *le, const u8 *second, size_t n, size_t pc, s64 d, const char *what)
{
	s64 t = (s64)pc + d + 1;
	if (t < 0 || t >= (s64)n)
		load_fail(le, -EINVAL, pc, "%s target %lld out of range [0, %zu)", what, (long long)t, n);
	else if (second[t])
		load_fail(le, -EINVAL, pc, "%s target %lld is the second half of lddw", what, (long long)t);
}

/* Validate and decode one program of n insns into code[], with second[]
 * marking lddw second halves; base = its first slot among all programs. */
static void load_one(struct uvm *vm, struct load_err *le, const struct ebpf_insn *insns, size_t n,
		     struct dinsn *code, const u8 *second, size_t base)
{
	const void *const *labels = exec_labels();
	size_t last = 0;
	for (size_t pc = 0; pc < n; pc++) {
		const struct ebpf_insn *in = &insns[pc];
		char msg[128];
		last = pc;
		code[pc] = (struct dinsn){ .op = labels[LABEL_LDDW_HI], .dst = in->dst, .src = in->src,
					   .off = in->off, .imm = in->imm };
		int f = ebpf_check_insn(in, msg, sizeof(msg));
		if (f < 0) {
			load_fail(le, -EINVAL, pc, "%s", msg);
			if (ebpf_is_lddw(in))
				pc++;
			continue;
		}
		const struct ebpf_form_desc *d = &ebpf_forms[f];
		code[pc].op = labels[ebpf_writes_r10(in, f) ? LABEL_R10_WRITE : f];
		if (!ebpf_form_in_isa(f, vm->opts.isa)) {
			ebpf_isa_refusal(msg, sizeof(msg), f, vm->opts.isa);
			load_fail(le, -EINVAL, pc, "%s", msg);
		} else if (d->cpu > vm->opts.cpu) {
			load_fail(le, -EINVAL, pc, "%s needs cpu v%d (loading for v%d)", d->mnemonic, d->cpu,
				  vm->opts.cpu);
		}
		switch (d->fmt) {
		case EBPF_FMT_LDDW:
			if (pc + 1 >= n) {
				load_fail(le, -EINVAL, pc, "lddw is the last instruction (no second slot)");
				break;
			}
			if (in[1].opcode || in[1].dst || in[1].src || in[1].off)
				load_fail(le, -EINVAL, pc + 1,
					  "second slot of lddw has opcode 0x%02x dst %d src %d off %d (must be 0)",
					  in[1].opcode, in[1].dst, in[1].src, in[1].off);
			code[pc + 1] = (struct dinsn){ .op = labels[LABEL_LDDW_HI], .imm = in[1].imm };
			if (f == FORM_LDDW_MAP_FD || f == FORM_LDDW_MAP_IDX || f == FORM_LDDW_MAP_VALUE ||
			    f == FORM_LDDW_MAP_IDX_VALUE) {
				/* imm is the map's index among the case's maps (its fd for the kernel). */
				u32 m = (u32)in->imm;
				bool value = f == FORM_LDDW_MAP_VALUE || f == FORM_LDDW_MAP_IDX_VALUE;
				if (m >= vm->nmaps)
					load_fail(le, -EINVAL, pc, "%s refers to map %u, but there %s %zu", d->mnemonic,
						  m, vm->nmaps == 1 ? "is" : "are", vm->nmaps);
				else if (value && vm->maps[m].def.type != EBPF_MAP_ARRAY)
					load_fail(le, -EINVAL, pc, "%s: map %u is not an array (no first value)",
						  d->mnemonic, m);
			} else if (f == FORM_LDDW_CODE_ADDR) {
				check_target(le, second, n, pc, in->imm, "function address");
				code[pc].imm = (ebpf_s32)((s64)base + (s64)pc + in->imm + 1);
			} else if (f != FORM_LDDW) {
				load_fail(le, -EOPNOTSUPP, pc, "%s (lddw src %d) is not modelled", d->mnemonic,
					  in->src);
			}
			pc++;
			break;
		case EBPF_FMT_JA:
		case EBPF_FMT_JCOND_K:
		case EBPF_FMT_JCOND_X:
		case EBPF_FMT_MAY_GOTO:
			check_target(le, second, n, pc, in->off, "jump");
			break;
		case EBPF_FMT_JA32:
			check_target(le, second, n, pc, in->imm, "jump");
			break;
		case EBPF_FMT_CALL:
			if (f == FORM_CALL_LOCAL)
				check_target(le, second, n, pc, in->imm, "call");
			else if (f == FORM_CALL_BTF)
				load_fail(le, -EOPNOTSUPP, pc, "call btf %d (kfunc) is not modelled", in->imm);
			else if (!find_helper(vm, (u32)in->imm) &&
				 ebpf_platform_helper(vm->opts.platform, (u32)in->imm) == EBPF_H_NONE)
				load_fail(le, -EOPNOTSUPP, pc, "call to helper %u is not modelled on platform %s",
					  (u32)in->imm, vm->opts.platform == EBPF_PLATFORM_UBPF ? "ubpf" : "linux");
			break;
		default:
			break;
		}
	}
	if (!le->einval) {
		const struct ebpf_insn *in = &insns[last];
		if (second[last] || (in->opcode != 0x95 && in->opcode != 0x05 && in->opcode != 0x06))
			load_fail(le, -EINVAL, last, "missing exit: the last instruction must be exit or ja");
	}
}

int uvm_load_progs(struct uvm *vm, const struct uvm_prog *progs, size_t nprogs, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	vm->code = NULL;
	vm->n = 0;
	size_t total = 0;
	for (size_t k = 0; k < nprogs; k++) {
		if (!progs[k].n || !progs[k].insns) {
			if (err)
				snprintf(err, errlen, "%spc 0: empty program", nprogs > 1 && k ? "prog " : "");
			if (err && nprogs > 1 && k)
				snprintf(err, errlen, "prog %zu: pc 0: empty program", k);
			return -EINVAL;
		}
		total += progs[k].n;
	}
	if (!nprogs || total > (1u << 24)) {
		if (err)
			snprintf(err, errlen, nprogs ? "pc 0: program of %zu instructions is too large"
						     : "pc 0: empty program", total);
		return -EINVAL;
	}
	if (total > vm->cap) {
		struct dinsn *nb = realloc(vm->buf, total * sizeof(*nb));
		if (nb)
			vm->buf = nb;
		u8 *ns = realloc(vm->second, total + 1);
		if (ns)
			vm->second = ns;
		if (!nb || !ns)
			return -ENOMEM;
		vm->cap = total;
	}
	if (nprogs + 1 > vm->prog_cap) {
		u32 *pb = realloc(vm->prog_base, (nprogs + 1) * sizeof(*pb));
		if (!pb)
			return -ENOMEM;
		vm->prog_base = pb;
		vm->prog_cap = nprogs + 1;
	}
	memset(vm->second, 0, total + 1);
	size_t base = 0;
	for (size_t k = 0; k < nprogs; k++) {
		vm->prog_base[k] = (u32)base;
		for (size_t pc = 0; pc < progs[k].n; pc++)
			if (ebpf_is_lddw(&progs[k].insns[pc]))
				vm->second[base + ++pc] = 1;
		base += progs[k].n;
	}
	vm->prog_base[nprogs] = (u32)total;
	vm->nprogs = nprogs;
	for (size_t k = 0; k < nprogs; k++) {
		struct load_err le = { 0 };
		size_t b = vm->prog_base[k];
		load_one(vm, &le, progs[k].insns, progs[k].n, vm->buf + b, vm->second + b, b);
		if (le.einval || le.enotsup) {
			if (err && k)
				snprintf(err, errlen, "prog %zu: %s", k, le.einval ? le.inval : le.notsup);
			else if (err)
				snprintf(err, errlen, "%s", le.einval ? le.inval : le.notsup);
			vm->nprogs = 0;
			return le.einval ? -EINVAL : -EOPNOTSUPP;
		}
	}
	vm->code = vm->buf;
	vm->n = total;
	return 0;
}

int uvm_load(struct uvm *vm, const struct ebpf_insn *insns, size_t n, char *err, size_t errlen)
{
	struct uvm_prog p = { insns, n };
	return uvm_load_progs(vm, &p, 1, err, errlen);
}

int uvm_set_maps(struct uvm *vm, const struct uvm_map_def *defs, size_t n)
{
	if (n > EBPF_MAX_MAPS)
		return -E2BIG;
	/* The same definitions as last time (a fuzzer's case after case): clear only. */
	bool same = n == vm->nmaps;
	for (size_t i = 0; same && i < n; i++)
		same = !memcmp(&vm->maps[i].def, &defs[i], sizeof(defs[i]));
	if (same) {
		for (size_t i = 0; i < n; i++)
			vmap_clear(&vm->maps[i]);
		return 0;
	}
	for (size_t i = 0; i < vm->nmaps; i++)
		vmap_free(&vm->maps[i]);
	vm->nmaps = 0;
	vm->code = NULL; /* programs refer to maps by index: load again */
	vm->n = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = vmap_init(&vm->maps[i], &defs[i]);
		if (rc < 0) {
			for (size_t j = 0; j < i; j++)
				vmap_free(&vm->maps[j]);
			return rc;
		}
	}
	vm->nmaps = n;
	return 0;
}

int uvm_map_update(struct uvm *vm, uint32_t map, const void *key, const void *value, uint64_t flags)
{
	if (map >= vm->nmaps || !key || !value)
		return -EINVAL;
	struct vmap *m = &vm->maps[map];
	if (m->def.type == EBPF_MAP_PROG_ARRAY) {
		/* From the host, as BPF_MAP_UPDATE_ELEM with a program's fd. */
		uint32_t i, prog;
		memcpy(&i, key, 4);
		memcpy(&prog, value, 4);
		if (flags > EBPF_EXIST)
			return -EINVAL;
		if (i >= m->def.max_entries)
			return -E2BIG;
		if (flags == EBPF_NOEXIST)
			return -EEXIST;
		prog += 1;
		memcpy(m->vals + (size_t)i * m->stride, &prog, 4);
		return 0;
	}
	int64_t rc = vmap_update(m, key, value, flags);
	return (int)rc;
}

int uvm_map_lookup(struct uvm *vm, uint32_t map, const void *key, void *value)
{
	if (map >= vm->nmaps || !key || !value)
		return -EINVAL;
	struct vmap *m = &vm->maps[map];
	int64_t s = vmap_lookup(m, key);
	if (s < 0)
		return -ENOENT;
	if (m->def.type == EBPF_MAP_PROG_ARRAY) {
		uint32_t v;
		memcpy(&v, m->vals + (size_t)s * m->stride, 4);
		if (!v)
			return -ENOENT;
		v -= 1;
		memcpy(value, &v, 4);
		return 0;
	}
	memcpy(value, m->vals + (size_t)s * m->stride, m->def.value_size);
	return 0;
}

int uvm_map_next_key(struct uvm *vm, uint32_t map, const void *key, void *next)
{
	if (map >= vm->nmaps || !next)
		return -EINVAL;
	return vmap_next_key(&vm->maps[map], key, next);
}

int uvm_set_env_values(struct uvm *vm, int kind, const uint64_t *values, size_t n)
{
	if (kind < 0 || kind >= EBPF_ENV_KINDS || (n && !values))
		return -EINVAL;
	if (n > vm->env_n[kind] || !vm->env_vals[kind]) {
		u64 *v = realloc(vm->env_vals[kind], (n ? n : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vm->env_vals[kind] = v;
	}
	if (n)
		memcpy(vm->env_vals[kind], values, n * sizeof(*values));
	vm->env_n[kind] = n;
	return 0;
}

int uvm_run(struct uvm *vm, void *mem, size_t mem_len, struct uvm_result *res)
{
	if (!vm || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (!vm->code)
		return -ENOENT;
	if (!mem && mem_len)
		return -EINVAL;
	if (vm->opts.stack_seed) {
		u64 x = vm->opts.stack_seed; /* splitmix64: cheap, and no two slots alike */
		for (size_t i = 0; i < sizeof(vm->stack); i += 8) {
			u64 z = (x += 0x9e3779b97f4a7c15ULL);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			z ^= z >> 31;
			memcpy(vm->stack + i, &z, 8);
		}
	} else {
		memset(vm->stack, vm->opts.stack_fill, sizeof(vm->stack));
	}
	if (!vm->trace) {
		exec(vm, mem, mem_len, res, NULL);
		return 0;
	}
	/* Traced: every slot (but lddw second halves, never dispatched) jumps
	 * to the hook first; the plain run's code is untouched otherwise. */
	if (vm->trace_cap < vm->n) {
		const void **t = realloc(vm->trace_ops, vm->n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		vm->trace_ops = t;
		vm->trace_cap = vm->n;
	}
	const void *const *labels = exec_labels();
	for (size_t i = 0; i < vm->n; i++) {
		vm->trace_ops[i] = vm->code[i].op;
		if (vm->code[i].op != labels[LABEL_LDDW_HI])
			vm->code[i].op = labels[LABEL_TRACE];
	}
	exec(vm, mem, mem_len, res, NULL);
	for (size_t i = 0; i < vm->n; i++)
		vm->code[i].op = vm->trace_ops[i];
	return 0;
}

void uvm_set_trace(struct uvm *vm, uvm_trace_fn fn, void *ctx)
{
	vm->trace = fn;
	vm->trace_ctx = ctx;
}
