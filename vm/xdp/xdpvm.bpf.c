// SPDX-License-Identifier: MIT
/*
 * xdpvm: an eBPF interpreter written in BPF C, run as an XDP program with
 * BPF_PROG_TEST_RUN. One guest instruction per bpf_loop() step.
 *
 * State lives in global data (.bss, an mmap-able array map), so the harness
 * (harness/backend_xdp.c) writes a case and reads the result through the
 * skeleton's mmap with no syscall but the one test_run:
 *   xvm_prog[]   pre-decoded guest program, two u64 words per slot:
 *                w0 = form | dst << 8 | src << 12 | (u32)arg << 32
 *                     (arg: absolute jump/call target, or the load/store off)
 *                w1 = immediate, sign-extended (lddw: the whole 64-bit value)
 *                Slot n (one past the end) holds XVM_OP_END.
 *   xvm_regs[16] r0..r10 (r10 = current frame pointer), 11..15 unused: a
 *                `& 15` index is provably in bounds.
 *   xvm_arena[]  [0, 4096): the guest stack, 8 frames of 512 bytes, frame k
 *                at guest [stack_top - 512 (k+1), stack_top - 512 k);
 *                [4096, ...): the case memory at guest mem_addr.
 * The harness validates (uvm_load: the uvm's own rules and messages) and
 * decodes (vm/isa.c); the VM trusts the decoding only as far as the verifier
 * makes it (masks on every index), so a bad word can give a wrong guest
 * result but never an out-of-bounds access in the kernel.
 *
 * Dispatch: a switch on the EBPF_FORMS form index (clang makes a compare
 * tree; BPF has no indirect jump). Each bpf_loop call site has its own fixed
 * callback so the verifier inlines the loop (DESIGN.md: ~4 ns vs ~19 ns).
 * Steps per test_run: XVM_RUN_STEPS = 4 outer x 8M inner (nested bpf_loop:
 * BPF_MAX_LOOPS is 8M); a longer budget is continued by further test_runs
 * from the state left in .bss, so one test_run stays well under a second
 * whatever the guest does, far below the 20 s soft-lockup watchdog (measured:
 * <= 0.19 s for 32M steps of sdiv, smod, cmpxchg or call/exit loops).
 * Counting: bpf_loop returns the steps it ran (a step that stops the loop
 * counts), so there is no per-step counter; lddw is one step, as in the uvm.
 *
 * Maps and helpers: guest maps are real kernel maps, so that the helpers'
 * semantics (flag checks, error codes, a hash map's capacity) are the
 * kernel's own and not a third copy. Each array or hash map of the case is an
 * inner map of an ARRAY_OF_MAPS (xvm_arrays / xvm_hashes, index = the case's
 * map index) that the harness creates per case; keys are zero-padded to
 * XVM_KMAX bytes and values to XVM_VMAX + 8 (the inner maps' sizes are fixed
 * by the outer map's template). bpf_map_lookup_elem/update/delete call the
 * kernel's helpers on the inner map. A guest pointer to a map value has the
 * address vm/helpers.h gives it (map base + m << 28 + slot * stride), so
 * every access through one looks the element up again (xvm_map_rw): an
 * array's slot is its index, a hash element's slot is bound to its key at
 * the first lookup that finds it (xvm_hslot). A pointer to a hash element
 * that was since replaced or deleted is `unsupported` here (the kernel and
 * the uvm keep the old element's memory; it is not reachable through the
 * map any more). Modelled here because the kernel's versions cannot run a
 * guest's code: bpf_loop (a loop frame whose exit re-enters the callback),
 * bpf_tail_call (the prog_arrays' contents are the harness's xvm_tail), the
 * environment helpers (values from the case or a seed, as the uvm), ubpf's
 * unwind. Helper numbers are resolved by the harness (the platform), also
 * for callx (xvm_helper_of).
 *
 * Shared with the uvm: every ALU/jump/byte-swap/sign-extension meaning comes
 * from vm/semantics.h. Not shared, and why:
 *  - loads, stores, atomics, calls, exit and the bounds checks: the uvm works
 *    on host pointers, this VM on indexes into one map value that the verifier
 *    must see bounded (masks), so the address translation is written here.
 *  - atomics are plain read-modify-write on the map memory: the guest is
 *    single-threaded and nobody else touches the arena during a test_run.
 *  - validation/decoding is done on the host (uvm_load, vm/isa.c), not here.
 *  - the dispatch itself: the uvm threads code through a label table, which
 *    BPF (no indirect jumps) cannot express; here it is a switch.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../helpers.h"
#include "../semantics.h"
#include "xdpvm.h"

/* __u64/__u32 (not ebpf_u64) so that the skeleton's .bss struct compiles on the host. */
#define u64 __u64
#define u32 __u32
#define s64 __s64
#define s32 __s32

u64 xvm_prog[2 * XVM_MAX_INSNS + 2];
u64 xvm_regs[16];
u64 xvm_frames[EBPF_MAX_CALL_DEPTH * XVM_FRAME_WORDS];

/* Maps and helpers (the harness fills these per case; see the top). */
struct xvm_map xvm_maps[XVM_MAX_MAPS];
u32 xvm_nmaps;
u64 xvm_map_addr;                   /* base of map values, map pointers and code addresses */
u32 xvm_entry[2 * XVM_MAX_PROGS];   /* program k's first slot; [nprogs] = the end (2x: maskable) */
u32 xvm_nprogs, xvm_cur_prog;
u32 xvm_tail[XVM_TAIL_SLOTS];       /* prog_array entries: program index + 1, 0 = empty */
u32 xvm_tail_calls;
unsigned char xvm_helper_of[EBPF_HELPER_NUMBERS]; /* callx: helper number -> EBPF_H_* */
u64 xvm_env[EBPF_ENV_KINDS][XVM_ENV_MAX];
u32 xvm_env_n[EBPF_ENV_KINDS];
u64 xvm_env_calls[EBPF_ENV_KINDS];
u64 xvm_env_seed, xvm_reg_fill;
u64 xvm_rw_val;                     /* the value xvm_map_rw reads or writes */
u64 xvm_map_loads, xvm_map_stores;  /* the guest's accesses through map value pointers */
unsigned char xvm_key[XVM_KMAX];
unsigned char xvm_val[XVM_VMAX + 8];
struct xvm_hslot xvm_hslot[XVM_HSLOTS];
u32 xvm_nhslots;

struct xvm_inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(key_size, 4);
	__uint(value_size, XVM_VMAX + 8);
};
struct xvm_inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, XVM_KMAX);
	__uint(value_size, XVM_VMAX + 8);
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XVM_MAX_MAPS);
	__uint(key_size, 4);
	__array(values, struct xvm_inner_array);
} xvm_arrays SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XVM_MAX_MAPS);
	__uint(key_size, 4);
	__array(values, struct xvm_inner_hash);
} xvm_hashes SEC(".maps");
unsigned char xvm_arena[(1u << 20) + 8];

u64 xvm_mem_addr, xvm_mem_len, xvm_stack_base; /* stack_base = stack_top - 4096 */
u64 xvm_stack_lo;   /* lowest arena index the current frame may touch */
u64 xvm_steps_left; /* budget left for this case */
u64 xvm_executed;   /* guest instructions executed */
u64 xvm_fault_addr;
u64 xvm_may_goto;   /* the current frame's may_goto budget (vm/semantics.h) */
u64 xvm_build_id;   /* set by the process that loaded and pinned this VM: which build it is */
u32 xvm_pc, xvm_depth, xvm_status, xvm_fault_kind, xvm_fault_size;
/* 1: guest loads, stores and atomics in big-endian order, le/be swap roles. A u64: a lone u32
 * leaves .bss 4 bytes short of the skeleton struct's padded size, and the pin check refuses it. */
u64 xvm_big_endian;

/* An S-byte value in the guest's byte order (the arena is host, little-endian, memory). */
#define ORD1(v) (v)
#define ORD2(v) (xvm_big_endian ? sem_bswap16(v) : (v))
#define ORD4(v) (xvm_big_endian ? sem_bswap32(v) : (v))
#define ORD8(v) (xvm_big_endian ? sem_bswap64(v) : (v))

#define R(i) xvm_regs[(i) & 15]

/* Arena index of a guest access, or -1. */
static __attribute__((always_inline)) s64 xlate(u64 addr, u32 size)
{
	u64 x = addr - xvm_stack_base;
	if (x >= xvm_stack_lo && x <= XVM_STACK_REGION - size)
		return x;
	x = addr - xvm_mem_addr;
	u64 len = xvm_mem_len;
	if (x < len && len - x >= size)
		return x + XVM_STACK_REGION;
	return -1;
}

static __attribute__((noinline)) long fault(u32 pc, u32 kind, u64 addr, u32 size)
{
	xvm_pc = pc;
	xvm_status = kind >= XVM_F_OP ? XVM_UNSUPPORTED : XVM_FAULT;
	xvm_fault_kind = kind;
	xvm_fault_addr = addr;
	xvm_fault_size = size;
	return 1;
}

/* ---- maps: guest accesses to map values ------------------------------- */

/* An index masked into range, the mask kept: clang drops a mask it can prove
 * redundant from an earlier comparison, and the verifier then sees an
 * unbounded index. */
#define BOUND(v, mask)                         \
	do {                                   \
		(v) &= (mask);                 \
		asm volatile("" : "+r"(v));    \
	} while (0)

/* The element of map m whose value holds slot `slot`, as the kernel's own
 * lookup gives it; NULL when it is not (or no longer) there. */
static __attribute__((always_inline)) unsigned char *elem_of(u32 m, u64 slot, int *why)
{
	u32 mm = m;
	BOUND(mm, XVM_MAX_MAPS - 1);
	struct xvm_map *mi = &xvm_maps[mm];
	*why = XVM_F_READ;
	if (mi->type == EBPF_MAP_ARRAY) {
		u32 idx = slot;
		if (slot >= mi->max_entries)
			return 0;
		void *inner = bpf_map_lookup_elem(&xvm_arrays, &m);
		if (!inner) {
			*why = XVM_F_INNER;
			return 0;
		}
		return bpf_map_lookup_elem(inner, &idx);
	}
	u64 si = slot;
	BOUND(si, XVM_HSLOTS - 1);
	if (mi->type != EBPF_MAP_HASH || slot >= xvm_nhslots || si != slot)
		return 0;
	struct xvm_hslot *hs = &xvm_hslot[si];
	if (hs->map != m)
		return 0;
	if (!hs->live) {
		*why = XVM_F_STALE;
		return 0;
	}
	void *inner = bpf_map_lookup_elem(&xvm_hashes, &m);
	if (!inner) {
		*why = XVM_F_INNER;
		return 0;
	}
	unsigned char *v = bpf_map_lookup_elem(inner, hs->key);
	if (!v)
		*why = XVM_F_STALE;
	return v;
}

/* Read (write = 0, into xvm_rw_val) or write (from it) `size` bytes of a map
 * value at guest addr: 0, or the fault kind. */
__attribute__((noinline)) int xvm_map_rw(u64 addr, u32 size, u32 write)
{
	u64 x = addr - xvm_map_addr;
	u32 m = x >> EBPF_MAP_SHIFT;
	if ((x >> EBPF_MAP_SHIFT) >= xvm_nmaps || (x >> EBPF_MAP_SHIFT) >= XVM_MAX_MAPS)
		return write ? XVM_F_WRITE : XVM_F_READ;
	BOUND(m, XVM_MAX_MAPS - 1);
	struct xvm_map *mi = &xvm_maps[m];
	u64 stride = mi->stride;
	if (!stride)
		return write ? XVM_F_WRITE : XVM_F_READ;
	u64 rem = x & ((1ULL << EBPF_MAP_SHIFT) - 1), slot = rem / stride, off = rem - slot * stride;
	if (off > mi->value_size || size > mi->value_size - off || off > XVM_VMAX)
		return write ? XVM_F_WRITE : XVM_F_READ;
	int why;
	unsigned char *v = elem_of(m, slot, &why);
	if (!v)
		return why == XVM_F_READ && write ? XVM_F_WRITE : why;
	u64 o = off;
	BOUND(o, XVM_VMAX - 1);
	v += o; /* the value has 8 bytes of slack past XVM_VMAX */
	if (write) {
		u64 w = xvm_rw_val;
		if (size == 1)
			*v = w;
		else if (size == 2)
			*(unsigned short *)v = w;
		else if (size == 4)
			*(u32 *)v = w;
		else
			*(u64 *)v = w;
	} else {
		xvm_rw_val = size == 1 ? *v : size == 2 ? *(unsigned short *)v : size == 4 ? *(u32 *)v : *(u64 *)v;
	}
	return 0;
}

/* A guest access outside the stack and the case memory: a map value, or a
 * fault. write: 0 a load, 1 a store, 2 the read of an atomic's
 * read-modify-write (a write fault, as the uvm reports it; counted once, as
 * the store that follows). */
__attribute__((noinline)) int xvm_mem_slow(u32 pc, u64 addr, u32 size, u32 write)
{
	int rc = xvm_nmaps ? xvm_map_rw(addr, size, write == 1) : write ? XVM_F_WRITE : XVM_F_READ;
	if (!rc) {
		if (write == 1)
			xvm_map_stores++;
		else if (!write)
			xvm_map_loads++;
		return 0;
	}
	if (write == 2 && rc == XVM_F_READ)
		rc = XVM_F_WRITE;
	fault(pc, rc, addr, size);
	return 1;
}

/* One guest byte at addr into *out: 0, or a fault kind. */
static __attribute__((always_inline)) int guest_byte(u64 addr, unsigned char *out)
{
	s64 ix = xlate(addr, 1);
	if (ix >= 0) {
		*out = xvm_arena[ix & XVM_ARENA_MASK];
		return 0;
	}
	int rc = xvm_nmaps ? xvm_map_rw(addr, 1, 0) : XVM_F_READ;
	*out = xvm_rw_val;
	return rc;
}

/* Guest key / value bytes into the zero-padded scratch buffers, a byte per
 * bpf_loop step (the verifier checks the step once, not once per byte). */
struct copy_ctx {
	u64 addr;
	u32 n, to_key;
	int rc;
};

static long copy_step(u32 i, void *ctx)
{
	struct copy_ctx *c = ctx;
	unsigned char b = 0;
	if (i < c->n) {
		int rc = guest_byte(c->addr + i, &b);
		if (rc) {
			c->rc = rc;
			return 1;
		}
	}
	u32 j = i;
	if (c->to_key) {
		BOUND(j, XVM_KMAX - 1);
		xvm_key[j] = b;
	} else {
		BOUND(j, XVM_VMAX - 1);
		xvm_val[j] = b;
	}
	return 0;
}

__attribute__((noinline)) int xvm_copy_key(u64 addr, u32 n)
{
	struct copy_ctx c = { addr, n, 1, 0 };
	bpf_loop(XVM_KMAX, copy_step, &c, 0);
	return c.rc;
}

__attribute__((noinline)) int xvm_copy_val(u64 addr, u32 n)
{
	struct copy_ctx c = { addr, n, 0, 0 };
	bpf_loop(XVM_VMAX, copy_step, &c, 0);
	return c.rc;
}

/* The slot of the hash element of map m with key xvm_key (bound at its first
 * lookup), or -1 when the run has looked up too many. */
__attribute__((noinline)) int xvm_bind(u32 m)
{
	const u64 *k = (const u64 *)xvm_key;
	u32 n = xvm_nhslots;
	for (u32 s = 0; s < XVM_HSLOTS; s++) {
		if (s >= n)
			break;
		struct xvm_hslot *hs = &xvm_hslot[s];
		u64 diff = (hs->map != m) | !hs->live;
		for (int w = 0; w < XVM_KMAX / 8; w++)
			diff |= hs->key[w] ^ k[w];
		if (!diff)
			return s;
	}
	if (n >= XVM_HSLOTS)
		return -1;
	struct xvm_hslot *hs = &xvm_hslot[n & (XVM_HSLOTS - 1)];
	hs->map = m;
	hs->live = 1;
	for (int w = 0; w < XVM_KMAX / 8; w++)
		hs->key[w] = k[w];
	xvm_nhslots = n + 1;
	return n;
}

/* The element with key xvm_key was replaced or deleted: pointers to it now
 * point at memory the map no longer holds. */
__attribute__((noinline)) int xvm_detach(u32 m)
{
	const u64 *k = (const u64 *)xvm_key;
	u32 n = xvm_nhslots;
	for (u32 s = 0; s < XVM_HSLOTS; s++) {
		if (s >= n)
			break;
		struct xvm_hslot *hs = &xvm_hslot[s];
		u64 diff = hs->map != m;
		for (int w = 0; w < XVM_KMAX / 8; w++)
			diff |= hs->key[w] ^ k[w];
		if (!diff)
			hs->live = 0;
	}
	return 0;
}

/* ---- helper calls ------------------------------------------------------- */

#define CLOBBER_ARGS()                                                                          \
	do {                                                                                    \
		u64 f_ = xvm_reg_fill;                                                          \
		xvm_regs[1] = f_;                                                               \
		xvm_regs[2] = f_;                                                               \
		xvm_regs[3] = f_;                                                               \
		xvm_regs[4] = f_;                                                               \
		xvm_regs[5] = f_;                                                               \
	} while (0)

/* The map a map pointer names: its index, or -1. */
static __attribute__((always_inline)) int map_index(u64 ptr)
{
	u64 x = ptr - xvm_map_addr - EBPF_MAP_OBJECTS;
	if ((x & 255) || (x >> 8) >= xvm_nmaps || (x >> 8) >= XVM_MAX_MAPS)
		return -1;
	return x >> 8;
}

__attribute__((noinline)) int xvm_map_helper(u32 pc, u32 h)
{
	int m = map_index(xvm_regs[1]);
	if (m < 0)
		return fault(pc, XVM_F_CALL, xvm_regs[1], h);
	u32 mu = m;
	struct xvm_map *mi = &xvm_maps[mu & (XVM_MAX_MAPS - 1)];
	if (mi->type != EBPF_MAP_ARRAY && mi->type != EBPF_MAP_HASH)
		return fault(pc, XVM_F_CALL, xvm_regs[1], h);
	int rc = xvm_copy_key(xvm_regs[2], mi->key_size);
	if (rc)
		return fault(pc, rc, xvm_regs[2], mi->key_size);
	void *inner = mi->type == EBPF_MAP_ARRAY ? bpf_map_lookup_elem(&xvm_arrays, &mu)
						   : bpf_map_lookup_elem(&xvm_hashes, &mu);
	if (!inner)
		return fault(pc, XVM_F_INNER, mu, 0);
	u64 base = xvm_map_addr + ((u64)mu << EBPF_MAP_SHIFT);
	if (h == EBPF_H_MAP_LOOKUP) {
		if (!bpf_map_lookup_elem(inner, xvm_key)) {
			xvm_regs[0] = 0;
		} else if (mi->type == EBPF_MAP_ARRAY) {
			xvm_regs[0] = base + (u64)*(u32 *)xvm_key * mi->stride;
		} else {
			int s = xvm_bind(mu);
			if (s < 0)
				return fault(pc, XVM_F_HSLOTS, 0, 0);
			xvm_regs[0] = base + (u64)s * mi->stride;
		}
	} else if (h == EBPF_H_MAP_DELETE) {
		long r = bpf_map_delete_elem(inner, xvm_key);
		xvm_regs[0] = r;
		if (!r && mi->type == EBPF_MAP_HASH)
			xvm_detach(mu);
	} else {
		rc = xvm_copy_val(xvm_regs[3], mi->value_size);
		if (rc)
			return fault(pc, rc, xvm_regs[3], mi->value_size);
		long r = bpf_map_update_elem(inner, xvm_key, xvm_val, xvm_regs[4]);
		xvm_regs[0] = r;
		if (!r && mi->type == EBPF_MAP_HASH)
			xvm_detach(mu); /* the kernel put a new element in its place */
	}
	CLOBBER_ARGS();
	xvm_pc = pc + 1;
	return 0;
}

static __attribute__((always_inline)) u64 env_value(u32 kind)
{
	u64 i = xvm_env_calls[kind & 3]++;
	u32 n = xvm_env_n[kind & 3];
	if (kind == EBPF_ENV_CPU && n)
		return xvm_env[EBPF_ENV_CPU][0];
	if (i < n)
		return xvm_env[kind & 3][i & (XVM_ENV_MAX - 1)];
	return ebpf_env_value(xvm_env_seed, kind, i);
}

__attribute__((noinline)) int xvm_tail_call(u32 pc)
{
	int m = map_index(xvm_regs[2]);
	if (m < 0 || xvm_maps[m & (XVM_MAX_MAPS - 1)].type != EBPF_MAP_PROG_ARRAY)
		return fault(pc, XVM_F_CALL, xvm_regs[2], EBPF_H_TAIL_CALL);
	struct xvm_map *mi = &xvm_maps[m & (XVM_MAX_MAPS - 1)];
	u32 idx = xvm_regs[3], target = 0;
	/* The kernel's order: the index, the count, the slot; only a tail call
	 * that is taken counts. */
	if (idx < mi->max_entries && xvm_tail_calls < EBPF_MAX_TAIL_CALLS) {
		target = xvm_tail[(mi->tail_base + idx) & (XVM_TAIL_SLOTS - 1)];
		xvm_tail_calls += target != 0;
	}
	CLOBBER_ARGS();
	xvm_regs[0] = xvm_reg_fill;
	if (!target || target > xvm_nprogs) {
		xvm_pc = pc + 1;
		return 0;
	}
	for (int i = 6; i < 10; i++)
		xvm_regs[i] = xvm_reg_fill;
	xvm_regs[1] = xvm_mem_addr;
	xvm_regs[2] = xvm_mem_len;
	xvm_cur_prog = target - 1;
	xvm_pc = xvm_entry[(target - 1) & (XVM_MAX_PROGS - 1)];
	return 0;
}

__attribute__((noinline)) int xvm_loop(u32 pc)
{
	u32 nr = xvm_regs[1];
	if (xvm_regs[4] || nr > EBPF_MAX_LOOPS || !nr) {
		xvm_regs[0] = xvm_regs[4] ? -(u64)EBPF_EINVAL : nr ? -(u64)EBPF_E2BIG : 0;
		CLOBBER_ARGS();
		xvm_pc = pc + 1;
		return 0;
	}
	u64 x = xvm_regs[2] - xvm_map_addr - EBPF_CODE_ADDRS, slot = x >> 3;
	u32 k = xvm_cur_prog & (XVM_MAX_PROGS - 1);
	if ((x & 7) || slot < xvm_entry[k] || slot >= xvm_entry[(k + 1) & (2 * XVM_MAX_PROGS - 1)] ||
	    (xvm_prog[2 * (slot & (XVM_MAX_INSNS - 1))] & 0xff) == XVM_OP_END)
		return fault(pc, XVM_F_CALL, xvm_regs[2], EBPF_H_LOOP);
	u32 d = xvm_depth;
	if (d + 1 >= EBPF_MAX_CALL_DEPTH)
		return fault(pc, XVM_F_DEPTH, 0, 0);
	u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
	f[0] = pc + 1;
	f[1] = xvm_regs[6];
	f[2] = xvm_regs[7];
	f[3] = xvm_regs[8];
	f[4] = xvm_regs[9];
	f[5] = xvm_regs[10];
	f[6] = slot | XVM_LOOP;
	f[7] = 0;
	f[8] = nr;
	f[9] = xvm_regs[3];
	f[10] = xvm_may_goto;
	xvm_may_goto = EBPF_MAY_GOTO_BUDGET; /* a callback is a function: its own budget */
	xvm_regs[10] -= EBPF_STACK_SIZE;
	xvm_depth = d + 1;
	xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 2) * EBPF_STACK_SIZE;
	xvm_regs[1] = 0;
	xvm_regs[2] = f[9];
	xvm_regs[3] = 0;
	xvm_regs[4] = 0;
	xvm_regs[5] = 0;
	xvm_pc = slot;
	return 0;
}

/* A bpf_loop callback returned (frame d - 1 is a loop frame). */
__attribute__((noinline)) int xvm_loop_exit(u32 pc)
{
	u32 d = xvm_depth - 1;
	u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
	u64 i = f[7] + 1;
	f[7] = i;
	if (!xvm_regs[0] && i < f[8]) {
		xvm_regs[1] = i;
		xvm_regs[2] = f[9];
		xvm_regs[3] = 0;
		xvm_regs[4] = 0;
		xvm_regs[5] = 0;
		xvm_may_goto = EBPF_MAY_GOTO_BUDGET; /* each call of the callback starts afresh */
		xvm_pc = (u32)f[6];
		return 0;
	}
	xvm_regs[6] = f[1];
	xvm_regs[7] = f[2];
	xvm_regs[8] = f[3];
	xvm_regs[9] = f[4];
	xvm_regs[10] = f[5];
	xvm_may_goto = f[10];
	xvm_depth = d;
	xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 1) * EBPF_STACK_SIZE;
	xvm_regs[0] = i;
	CLOBBER_ARGS();
	xvm_pc = f[0];
	return 0;
}

/* A helper call (h = EBPF_H_*, resolved by the harness for the platform). */
__attribute__((noinline)) int xvm_call(u32 pc, u32 h)
{
	switch (h) {
	case EBPF_H_MAP_LOOKUP:
	case EBPF_H_MAP_UPDATE:
	case EBPF_H_MAP_DELETE:
		return xvm_map_helper(pc, h);
	case EBPF_H_KTIME_GET_NS:
	case EBPF_H_GET_PRANDOM_U32:
	case EBPF_H_GET_SMP_PROCESSOR_ID: {
		u32 kind = h == EBPF_H_KTIME_GET_NS ? EBPF_ENV_KTIME : h == EBPF_H_GET_PRANDOM_U32 ? EBPF_ENV_PRANDOM
												  : EBPF_ENV_CPU;
		u64 v = env_value(kind);
		xvm_regs[0] = kind == EBPF_ENV_KTIME ? v : (u32)v;
		CLOBBER_ARGS();
		xvm_pc = pc + 1;
		return 0;
	}
	case EBPF_H_UNWIND:
		/* ubpf: the helper returns its argument; 0 ends the program, at any depth. */
		xvm_regs[0] = xvm_regs[1];
		if (!xvm_regs[0]) {
			xvm_pc = pc;
			xvm_status = XVM_OK;
			return 1;
		}
		xvm_pc = pc + 1;
		return 0;
	case EBPF_H_TAIL_CALL:
		return xvm_tail_call(pc);
	case EBPF_H_LOOP:
		return xvm_loop(pc);
	}
	return fault(pc, XVM_F_OP, FORM_CALL_HELPER, 0);
}

#define ALU(ID, E64, E32)                                  \
	case FORM_##ID##64_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##64_REG:                            \
		R(dst) = (E64);                            \
		break;                                     \
	case FORM_##ID##32_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##32_REG: {                          \
		u32 a32 = a, b32 = b;                      \
		(void)a32;                                 \
		(void)b32;                                 \
		R(dst) = (u32)(E32);                       \
		break;                                     \
	}

#define JCC(ID, C64, C32)                                  \
	case FORM_##ID##_IMM:                              \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##_REG:                              \
		if (C64)                                   \
			goto jump;                         \
		break;                                     \
	case FORM_##ID##32_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##32_REG: {                          \
		u32 a32 = a, b32 = b;                      \
		if (C32)                                   \
			goto jump;                         \
		break;                                     \
	}

/* Stack and case memory directly; anything else through xvm_mem_slow (a
 * map value, or the fault). */
#define LOAD(ID, T, SIZE, EXT)                                         \
	case FORM_##ID: {                                              \
		u64 addr = b + arg;                                    \
		s64 ix = xlate(addr, SIZE);                            \
		T v;                                                   \
		if (ix >= 0)                                           \
			v = *(T *)&xvm_arena[ix & XVM_ARENA_MASK];     \
		else if (xvm_mem_slow(pc, addr, SIZE, 0))              \
			return 1;                                      \
		else                                                   \
			v = (T)xvm_rw_val;                             \
		R(dst) = EXT((T)ORD##SIZE(v));                         \
		break;                                                 \
	}
#define STORE(ID, T, SIZE, VAL)                                        \
	case FORM_##ID: {                                              \
		u64 addr = a + arg;                                    \
		s64 ix = xlate(addr, SIZE);                            \
		if (ix >= 0) {                                         \
			*(T *)&xvm_arena[ix & XVM_ARENA_MASK] = (T)ORD##SIZE((T)(VAL)); \
		} else {                                               \
			xvm_rw_val = (T)ORD##SIZE((T)(VAL));           \
			if (xvm_mem_slow(pc, addr, SIZE, 1))           \
				return 1;                              \
		}                                                      \
		break;                                                 \
	}
/* Guest atomics: plain read-modify-write (single-threaded guest, see top). */
#define RMW_READ(T, SIZE)                                              \
	u64 addr = a + arg;                                            \
	s64 ix = xlate(addr, SIZE);                                    \
	T old;                                                         \
	if (ix >= 0)                                                   \
		old = (T)ORD##SIZE(*(T *)&xvm_arena[ix & XVM_ARENA_MASK]); \
	else if (xvm_mem_slow(pc, addr, SIZE, 2))                      \
		return 1;                                              \
	else                                                           \
		old = (T)ORD##SIZE((T)xvm_rw_val);
#define RMW_WRITE(T, SIZE, NV)                                         \
	if (ix >= 0)                                                   \
		*(T *)&xvm_arena[ix & XVM_ARENA_MASK] = (T)ORD##SIZE((T)(NV)); \
	else {                                                         \
		xvm_rw_val = (T)ORD##SIZE((T)(NV));                    \
		if (xvm_mem_slow(pc, addr, SIZE, 1))                   \
			return 1;                                      \
	}
#define ATOMIC(ID, T, SIZE, NEW, FETCH)                                \
	case FORM_##ID: {                                              \
		RMW_READ(T, SIZE)                                      \
		T v = (T)b;                                            \
		(void)v;                                               \
		RMW_WRITE(T, SIZE, (T)(NEW))                           \
		if (FETCH)                                             \
			R(src) = old;                                  \
		break;                                                 \
	}
#define ATOMICS(W, T, SIZE)                                                  \
	ATOMIC(ATOMIC##W##_ADD, T, SIZE, old + v, 0)                         \
	ATOMIC(ATOMIC##W##_OR, T, SIZE, old | v, 0)                          \
	ATOMIC(ATOMIC##W##_AND, T, SIZE, old & v, 0)                         \
	ATOMIC(ATOMIC##W##_XOR, T, SIZE, old ^ v, 0)                         \
	ATOMIC(ATOMIC##W##_FETCH_ADD, T, SIZE, old + v, 1)                   \
	ATOMIC(ATOMIC##W##_FETCH_OR, T, SIZE, old | v, 1)                    \
	ATOMIC(ATOMIC##W##_FETCH_AND, T, SIZE, old & v, 1)                   \
	ATOMIC(ATOMIC##W##_FETCH_XOR, T, SIZE, old ^ v, 1)                   \
	ATOMIC(ATOMIC##W##_XCHG, T, SIZE, v, 1)                              \
	case FORM_ATOMIC##W##_CMPXCHG: {                                     \
		RMW_READ(T, SIZE)                                            \
		if (old == (T)xvm_regs[0]) {                                 \
			RMW_WRITE(T, SIZE, (T)b)                             \
		}                                                            \
		xvm_regs[0] = old;                                           \
		break;                                                       \
	}

static long step(u32 i, void *ctx)
{
	u32 pc = xvm_pc & (XVM_MAX_INSNS - 1);
	u64 w = xvm_prog[2 * pc];
	u64 imm = xvm_prog[2 * pc + 1];
	u32 dst = (w >> 8) & 15, src = (w >> 12) & 15;
	s32 arg = w >> 32;
	u64 a = R(dst), b = R(src);

	switch (w & 0xff) {
	ALU(ADD, a + b, a32 + b32)
	ALU(SUB, a - b, a32 - b32)
	ALU(MUL, a * b, a32 * b32)
	ALU(DIV, sem_div64(a, b), sem_div32(a32, b32))
	ALU(SDIV, sem_sdiv64(a, b), sem_sdiv32(a32, b32))
	ALU(OR, a | b, a32 | b32)
	ALU(AND, a & b, a32 & b32)
	ALU(LSH, sem_lsh64(a, b), sem_lsh32(a32, b32))
	ALU(RSH, sem_rsh64(a, b), sem_rsh32(a32, b32))
	ALU(MOD, sem_mod64(a, b), sem_mod32(a32, b32))
	ALU(SMOD, sem_smod64(a, b), sem_smod32(a32, b32))
	ALU(XOR, a ^ b, a32 ^ b32)
	ALU(MOV, b, b32)
	ALU(ARSH, sem_arsh64(a, b), sem_arsh32(a32, b32))
	case FORM_NEG64: R(dst) = -a; break;
	case FORM_NEG32: R(dst) = (u32)-(u32)a; break;
	case FORM_MOVSX8_64: R(dst) = sem_sext8(b); break;
	case FORM_MOVSX16_64: R(dst) = sem_sext16(b); break;
	case FORM_MOVSX32_64: R(dst) = sem_sext32(b); break;
	case FORM_MOVSX8_32: R(dst) = (u32)sem_sext8(b); break;
	case FORM_MOVSX16_32: R(dst) = (u32)sem_sext16(b); break;
	/* "to le" truncates on a little-endian guest and swaps on a big-endian one. */
	case FORM_LE16: R(dst) = xvm_big_endian ? sem_be(a, 16) : sem_le(a, 16); break;
	case FORM_LE32: R(dst) = xvm_big_endian ? sem_be(a, 32) : sem_le(a, 32); break;
	case FORM_LE64: R(dst) = xvm_big_endian ? sem_be(a, 64) : sem_le(a, 64); break;
	case FORM_BE16: R(dst) = xvm_big_endian ? sem_le(a, 16) : sem_be(a, 16); break;
	case FORM_BE32: R(dst) = xvm_big_endian ? sem_le(a, 32) : sem_be(a, 32); break;
	case FORM_BE64: R(dst) = xvm_big_endian ? sem_le(a, 64) : sem_be(a, 64); break;
	case FORM_BSWAP16: R(dst) = sem_bswap16(a); break;
	case FORM_BSWAP32: R(dst) = sem_bswap32(a); break;
	case FORM_BSWAP64: R(dst) = sem_bswap64(a); break;
	case FORM_LDDW:
		R(dst) = imm;
		xvm_pc = pc + 2;
		return 0;

	LOAD(LDXB, unsigned char, 1, (u64))
	LOAD(LDXH, unsigned short, 2, (u64))
	LOAD(LDXW, u32, 4, (u64))
	LOAD(LDXDW, u64, 8, (u64))
	LOAD(LDXSB, unsigned char, 1, sem_sext8)
	LOAD(LDXSH, unsigned short, 2, sem_sext16)
	LOAD(LDXSW, u32, 4, sem_sext32)
	LOAD(LOAD_ACQ_B, unsigned char, 1, (u64))
	LOAD(LOAD_ACQ_H, unsigned short, 2, (u64))
	LOAD(LOAD_ACQ_W, u32, 4, (u64))
	LOAD(LOAD_ACQ_DW, u64, 8, (u64))
	STORE(STB, unsigned char, 1, imm)
	STORE(STH, unsigned short, 2, imm)
	STORE(STW, u32, 4, imm)
	STORE(STDW, u64, 8, imm)
	STORE(STXB, unsigned char, 1, b)
	STORE(STXH, unsigned short, 2, b)
	STORE(STXW, u32, 4, b)
	STORE(STXDW, u64, 8, b)
	STORE(STORE_REL_B, unsigned char, 1, b)
	STORE(STORE_REL_H, unsigned short, 2, b)
	STORE(STORE_REL_W, u32, 4, b)
	STORE(STORE_REL_DW, u64, 8, b)
	ATOMICS(64, u64, 8)
	ATOMICS(32, u32, 4)

	case FORM_JA:
	case FORM_JA32:
		goto jump;
	case FORM_MAY_GOTO: {
		u64 left = xvm_may_goto;
		int taken = sem_may_goto(&left, (ebpf_s16)(arg - (s32)pc - 1));
		xvm_may_goto = left;
		if (taken)
			goto jump;
		break;
	}
	JCC(JEQ, a == b, a32 == b32)
	JCC(JGT, a > b, a32 > b32)
	JCC(JGE, a >= b, a32 >= b32)
	JCC(JSET, sem_jset(a, b), sem_jset(a32, b32))
	JCC(JNE, a != b, a32 != b32)
	JCC(JSGT, sem_jsgt64(a, b), sem_jsgt32(a32, b32))
	JCC(JSGE, sem_jsge64(a, b), sem_jsge32(a32, b32))
	JCC(JLT, a < b, a32 < b32)
	JCC(JLE, a <= b, a32 <= b32)
	JCC(JSLT, sem_jslt64(a, b), sem_jslt32(a32, b32))
	JCC(JSLE, sem_jsle64(a, b), sem_jsle32(a32, b32))

	case FORM_CALL_LOCAL: {
		u32 d = xvm_depth;
		if (d + 1 >= EBPF_MAX_CALL_DEPTH)
			return fault(pc, XVM_F_DEPTH, 0, 0);
		u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
		f[0] = pc + 1;
		f[1] = xvm_regs[6];
		f[2] = xvm_regs[7];
		f[3] = xvm_regs[8];
		f[4] = xvm_regs[9];
		f[5] = xvm_regs[10];
		f[6] = 0; /* not a bpf_loop frame */
		f[10] = xvm_may_goto;
		xvm_may_goto = EBPF_MAY_GOTO_BUDGET;
		xvm_regs[10] -= EBPF_STACK_SIZE;
		xvm_depth = d + 1;
		xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 2) * EBPF_STACK_SIZE;
		goto jump;
	}
	case FORM_EXIT: {
		u32 d = xvm_depth;
		if (!d) {
			xvm_pc = pc;
			xvm_status = XVM_OK;
			return 1;
		}
		d--;
		u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
		if (f[6] & XVM_LOOP)
			return xvm_loop_exit(pc) ? 1 : 0;
		xvm_regs[6] = f[1];
		xvm_regs[7] = f[2];
		xvm_regs[8] = f[3];
		xvm_regs[9] = f[4];
		xvm_regs[10] = f[5];
		xvm_may_goto = f[10];
		xvm_depth = d;
		xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 1) * EBPF_STACK_SIZE;
		xvm_pc = f[0];
		return 0;
	}
	case FORM_CALL_HELPER:
		return xvm_call(pc, arg) ? 1 : 0;
	case FORM_CALLX: {
		u32 h = a < EBPF_HELPER_NUMBERS ? xvm_helper_of[a & (EBPF_HELPER_NUMBERS - 1)] : 0;
		if (!h)
			return fault(pc, XVM_F_CALLX, a, 0);
		return xvm_call(pc, h) ? 1 : 0;
	}
	case XVM_OP_END:
		return fault(pc, XVM_F_END, 0, 0);
	case XVM_OP_R10:
		return fault(pc, XVM_F_R10, 0, 0);
	default: /* helper/kfunc calls, pseudo lddw: the harness refuses them first */
		return fault(pc, XVM_F_OP, w & 0xff, 0);
	}
	xvm_pc = pc + 1;
	return 0;
jump:
	xvm_pc = arg;
	return 0;
}

static u64 run_left;

static long outer(u32 i, void *ctx)
{
	u64 n = run_left;
	if (n > XVM_INNER_STEPS)
		n = XVM_INNER_STEPS;
	long done = bpf_loop(n, step, NULL, 0);
	if (done < 0) {
		xvm_status = XVM_INTERNAL;
		return 1;
	}
	run_left -= done;
	xvm_steps_left -= done;
	xvm_executed += done;
	return xvm_status != XVM_RUNNING || !run_left;
}

SEC("xdp")
int xdpvm(struct xdp_md *ctx)
{
	u64 n = xvm_steps_left;
	if (n > (u64)XVM_OUTER_STEPS * XVM_INNER_STEPS)
		n = (u64)XVM_OUTER_STEPS * XVM_INNER_STEPS;
	run_left = n;
	if (n && xvm_status == XVM_RUNNING)
		bpf_loop(XVM_OUTER_STEPS, outer, NULL, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
