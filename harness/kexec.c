/* SPDX-License-Identifier: MIT */
/*
 * Running one case on a Linux kernel (see kexec.h). What the kernel loads
 * (P = insns before the case: 3, or 9 with the epilogue):
 *
 *   0: lddw r1, map_value(mem map of this size)   r1 = the case's memory
 *   2: mov  r2, mem_len                            r2 = its length
 *   3: ja   +5                                     over the epilogue
 *   4: lddw r1, map_value(r0 map)                  epilogue: the main
 *   6: stxdw [r1+0], r0                            function's exits jump
 *   7: mov  r0, 2  (XDP_PASS)                      here and store all 64
 *   8: exit                                        bits of R0
 *   P: the case, unchanged except that every valid `exit` of its main
 *      function (insns before the first subprogram) is `ja 4`.
 *
 * Why memory is an array-map value and not the XDP packet: both cost the same
 * (measured 10-insn case, 20k runs: plain prog 112 us/case, packet + bounds-
 * check prolog + data_out 108, map value + exit rewrite 109), but the
 * verifier refuses atomics on packet memory ("BPF_ATOMIC stores into R1 pkt
 * is not allowed") and accepts them on a map value, so more programs reach
 * the JIT. The maps are BPF_F_MMAPABLE: memory goes in and comes back out,
 * and R0 is read, by memcpy through the mapping, with no syscall. The map's
 * value_size is exactly mem_len, so the verifier's bounds are the case's
 * bounds (one map per size, cached).
 *
 * Why exits are rewritten instead of `call +N` making the case a subprogram:
 * the call form measured 239 us/case against 109 (a second function means
 * the JIT runs per subprogram plus an extra pass), it uses one of the 8 call
 * frames and it rejects returning r10 from the body. With the epilogue placed
 * *before* the body, every body insn moves by the same P, so relative jumps
 * and local calls inside the case need no fix-up, and the main function still
 * ends on the case's own last insn, so "last insn is not an exit or jmp"
 * still comes from the verifier. Only jumps whose target is before insn 0 are
 * moved by -P, so they stay out of range for the verifier.
 *
 * mem_len 0: r1 = 0 (NULL, as ubpf and the bpf_conformance runner pass it),
 * r2 = 0. Any access through r1 is then rejected by the verifier, which
 * matches a bounds-checked VM faulting on it. No zero-sized map exists.
 *
 * A case's maps and programs (kexec_run_case): the maps are created with
 * BPF_MAP_CREATE and filled; lddw src 1/2 get the map's fd in imm, src 5/6
 * keep their index into the fd_array passed with the load. Every program is
 * wrapped as above and loaded; prog_arrays get the programs' fds and stay
 * open until the run is over (the kernel empties a prog_array when its last
 * user-space handle closes: tail calls would then fall through). Two helper
 * calls of the main function need more than the case gives them, and get it
 * from a trampoline placed in the prologue (so every case insn still moves
 * by the same P):
 *   bpf_tail_call (12) needs r1 = the context, which the prologue replaced by
 *     the memory: the prologue spills the context to [r10-512] and the
 *     trampoline reloads r1 from there before the call (the case's own r1 is
 *     ignored, as the uvm and the xdp VM ignore it). Main's stack is then
 *     512 bytes deep, which the verifier refuses with local calls; a tail
 *     call from a subprogram is refused for its r1.
 *   bpf_loop (181), with loop_helper: the trampoline ORs into the flags (r4)
 *     a 0 the verifier cannot see (loaded from a map, into r5, which the call
 *     clobbers anyway), so it cannot inline the loop: the helper runs as
 *     defined, and the two can be diffed (`kernel:bpf_loop=helper`).
 *   the case's `call` becomes `ja` to its trampoline, which jumps back after it.
 * A callback's address (lddw src 4) needs BTF func_info: one static `int
 * f(void)` serves every subprogram (the verifier checks no static
 * function's arguments against it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include "kexec.h"

/* Debian 12's uapi headers (6.1) predate these. */
#ifndef BPF_F_TEST_REG_INVARIANTS
#define BPF_F_TEST_REG_INVARIANTS (1U << 7)
#endif

#define KEXEC_R0_POISON 0xbdbdbdbdbdbdbdbdull
#define OP_LDDW 0x18
#define OP_CALL 0x85
#define OP_EXIT 0x95
#define PSEUDO_MAP_FD 1
#define PSEUDO_MAP_VALUE 2
#define PSEUDO_CALL 1
#define PSEUDO_MAP_IDX 5
#define PSEUDO_MAP_IDX_VALUE 6
#define PSEUDO_FUNC 4
#define HELPER_TAIL_CALL 12
#define HELPER_LOOP 181
#define TRAMP_TAIL_CALL 3   /* ldxdw r1, [r10-512]; call 12; ja back */
#define TRAMP_LOOP 6        /* lddw r5, zero; ldxdw r5, [r5]; or r4, r5; call 181; ja back */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void set_msg(struct kexec_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(struct kexec_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

static struct ebpf_insn mk(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct ebpf_insn i = { .opcode = code, .dst = dst & 15, .src = src & 15, .off = off, .imm = imm };
	return i;
}

int kexec_prog_type(const char *name, uint32_t *type, const char **canonical)
{
	static const struct {
		const char *name;
		uint32_t type;
		const char *canonical;
	} types[] = {
		{ "xdp", BPF_PROG_TYPE_XDP, "xdp" },
		{ "socket_filter", BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter" },
		{ "socket", BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter" },
		{ "sched_cls", BPF_PROG_TYPE_SCHED_CLS, "sched_cls" },
		{ "tc", BPF_PROG_TYPE_SCHED_CLS, "sched_cls" },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(name, types[i].name)) {
			*type = types[i].type;
			*canonical = types[i].canonical;
			return 0;
		}
	return -EINVAL;
}

/* What a case with maps adds to a load: the fd_array (src 5/6), and the
 * func_info for callbacks (subprogram starts, all of type k->btf_fd's f). */
struct load_extra {
	const int *fds;
	size_t nfds;
	uint32_t funcs[2 * 64]; /* insn_off, type_id */
	size_t nfuncs;
};

static const struct load_extra *cur_extra; /* for the load being made (kexec is single-threaded) */

static int prog_load_level(struct kexec *k, const struct ebpf_insn *insns, size_t n, uint32_t flags, char *log,
			   uint32_t log_size, uint32_t level)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	if (cur_extra && cur_extra->nfds)
		a.fd_array = (uint64_t)(uintptr_t)cur_extra->fds;
	if (cur_extra && cur_extra->nfuncs) {
		a.prog_btf_fd = (uint32_t)k->btf_fd;
		a.func_info = (uint64_t)(uintptr_t)cur_extra->funcs;
		a.func_info_cnt = (uint32_t)cur_extra->nfuncs;
		a.func_info_rec_size = 8;
	}
	a.prog_type = k->prog_type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.prog_flags = flags;
	memcpy(a.prog_name, "bpfdiff", 8);
	if (log) {
		a.log_level = level;
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = log_size;
		log[0] = 0;
	}
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

static int prog_load(struct kexec *k, const struct ebpf_insn *insns, size_t n, uint32_t flags, char *log,
		     uint32_t log_size)
{
	return prog_load_level(k, insns, n, flags, log, log_size, 1);
}

/*
 * The load for the verifier-state oracle: level 2 logs every state the
 * verifier explored. A log that does not fit fails the load with ENOSPC
 * (rotating or not), so the buffer grows and the load is retried; past
 * KEXEC_STATES_MAX the states are given up (states_truncated), never used
 * in part. Returns the fd, or -1 (errno kept) for the ordinary path to
 * load and explain.
 */
static int load_with_states(struct kexec *k, size_t len, size_t P, uint32_t flags)
{
	for (size_t size = KEXEC_STATES_MIN; size <= KEXEC_STATES_MAX; size *= 16) {
		if (k->states_cap < size) {
			char *b = realloc(k->states, size);
			if (!b) {
				errno = ENOMEM;
				break;
			}
			k->states = b;
			k->states_cap = size;
		}
		int fd = prog_load_level(k, k->buf, len, flags, k->states, (uint32_t)size, 2);
		if (fd >= 0) {
			k->states[size - 1] = '\0';
			k->states_prologue = P;
			k->states_truncated = false;
			return fd;
		}
		if (errno != ENOSPC)
			break;
		k->states_truncated = true;
	}
	int e = errno;
	if (k->states)
		k->states[0] = '\0';
	errno = e;
	return -1;
}

static int mmapable_array(size_t value_size, uint8_t **val, size_t *maplen)
{
	union bpf_attr a;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (value_size > UINT32_MAX)
		return -E2BIG;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = (uint32_t)value_size;
	a.max_entries = 1;
	a.map_flags = BPF_F_MMAPABLE;
	memcpy(a.map_name, "bpfdiff_mem", 12);
	fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		return -errno;
	*maplen = ((value_size + 7) / 8 * 8 + (size_t)page - 1) / (size_t)page * (size_t)page;
	*val = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*val == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The memory map for one size, created on first use; the least recently used
 * one is dropped when KEXEC_MAX_MEM_MAPS sizes are live (fuzzers vary the size). */
static struct kexec_mem_map *mem_map(struct kexec *k, size_t size, int *err)
{
	struct kexec_mem_map *m, *lru = NULL;

	for (int i = 0; i < k->nmaps; i++) {
		m = &k->maps[i];
		if (m->size == size) {
			m->used = ++k->tick;
			return m;
		}
		if (!lru || m->used < lru->used)
			lru = m;
	}
	if (k->nmaps < KEXEC_MAX_MEM_MAPS) {
		m = &k->maps[k->nmaps];
	} else {
		m = lru;
		munmap(m->val, m->maplen);
		close(m->fd);
		k->nmaps--;
		*m = k->maps[k->nmaps]; /* keep the array dense */
		m = &k->maps[k->nmaps];
	}
	int fd = mmapable_array(size, &m->val, &m->maplen);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	m->fd = fd;
	m->size = size;
	m->used = ++k->tick;
	k->nmaps++;
	return m;
}

static bool is_valid_exit(const struct ebpf_insn *i)
{
	return i->opcode == OP_EXIT && !i->dst && !i->src && !i->off && !i->imm;
}

/* Relative branch target of insn i, if it has one (jumps, local calls,
 * lddw of a function address). *field: 0 = off, 1 = imm. */
static bool branch_target(const struct ebpf_insn *in, size_t i, long *t, int *field)
{
	uint8_t cls = in->opcode & 7, op = in->opcode & 0xf0;

	if (in->opcode == OP_LDDW && in->src == PSEUDO_FUNC)
		*field = 1;
	else if (in->opcode == OP_CALL && in->src == PSEUDO_CALL)
		*field = 1;
	else if (cls == BPF_JMP32 && op == BPF_JA)
		*field = 1; /* gotol */
	else if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT)
		*field = 0;
	else
		return false;
	*t = (long)i + 1 + (*field ? (long)in->imm : (long)in->off);
	return true;
}

/* The maps of a case being built: fds by index (NULL = kexec_run, no maps). */
struct build_env {
	const int *fds;
	size_t nmaps;
	struct load_extra *extra; /* filled: fd_array and func_info */
};

static bool is_helper_call(const struct ebpf_insn *i, int32_t id)
{
	return i->opcode == OP_CALL && i->src == 0 && i->imm == id && !i->dst && !i->off;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static size_t build(struct kexec *k, const struct ebpf_insn *in, size_t n, size_t mem_len, int mem_fd,
		    bool epilogue, const struct build_env *env, struct kexec_result *res, size_t *prologue)
{
	size_t main_end = n, nexits = 0, P, j = 0, T = 0;
	bool funcs = false, spill = false;

	for (size_t i = 0; i < n; i++) {
		long t;
		int field;

		if (in[i].opcode == OP_LDDW) {
			uint8_t s = in[i].src;
			if (s == PSEUDO_MAP_FD || s == PSEUDO_MAP_VALUE || s == PSEUDO_MAP_IDX ||
			    s == PSEUDO_MAP_IDX_VALUE) {
				if (!env) {
					res->status = KEXEC_UNSUPPORTED;
					set_msg(res, "insn %zu: lddw src %u refers to a map; no maps are given", i, s);
					return 0;
				}
				if ((uint32_t)in[i].imm >= env->nmaps) {
					res->status = KEXEC_REJECTED;
					set_msg(res, "insn %zu: lddw src %u refers to map %u, but there %s %zu (checked by bpfdiff)",
						i, s, (uint32_t)in[i].imm, env->nmaps == 1 ? "is" : "are", env->nmaps);
					return 0;
				}
			}
			funcs |= s == PSEUDO_FUNC;
		}
		if ((in[i].opcode == OP_CALL && in[i].src == PSEUDO_CALL) ||
		    (in[i].opcode == OP_LDDW && in[i].src == PSEUDO_FUNC)) {
			if (branch_target(&in[i], i, &t, &field) && t > 0 && (size_t)t < main_end)
				main_end = (size_t)t;
		}
		if (in[i].opcode == OP_LDDW)
			i++; /* second slot: not an insn for the verifier either */
	}
	for (size_t i = 0; i < main_end; i++) {
		if (is_valid_exit(&in[i]))
			nexits++;
		if (env && is_helper_call(&in[i], HELPER_TAIL_CALL)) {
			T += TRAMP_TAIL_CALL;
			spill = true;
		}
		if (env && k->loop_helper && k->zero_fd >= 0 && is_helper_call(&in[i], HELPER_LOOP))
			T += TRAMP_LOOP;
		if (in[i].opcode == OP_LDDW)
			i++;
	}

	/* No exit in the main function: no epilogue, which would be unreachable
	 * and turn the verifier's own complaint into "unreachable insn". */
	if (!epilogue)
		nexits = 0;
	size_t head = (spill ? 1 : 0) + 3, epi = head + 1;
	P = head + (nexits || T ? 1 : 0) + (nexits ? 5 : 0) + T;
	if (n + P > k->cap) {
		size_t cap = (n + P) * 2;
		struct ebpf_insn *nb = realloc(k->buf, cap * sizeof(*nb));
		if (!nb) {
			res->status = KEXEC_ERROR;
			set_msg(res, "out of memory for %zu insns", n + P);
			return 0;
		}
		k->buf = nb;
		k->cap = cap;
	}
	struct ebpf_insn *o = k->buf;
	if (spill)
		o[j++] = mk(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -512, 0); /* the context, for bpf_tail_call */
	if (mem_len) {
		o[j++] = mk(OP_LDDW, 1, PSEUDO_MAP_VALUE, 0, mem_fd);
		o[j++] = mk(0, 0, 0, 0, 0);
	} else {
		o[j++] = mk(OP_LDDW, 1, 0, 0, 0);
		o[j++] = mk(0, 0, 0, 0, 0);
	}
	o[j++] = mk(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, (int32_t)mem_len);
	if (nexits || T) {
		o[j] = mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)(P - j - 1), 0);
		j++;
	}
	if (nexits) {
		o[j++] = mk(OP_LDDW, 1, PSEUDO_MAP_VALUE, 0, k->r0_fd);
		o[j++] = mk(0, 0, 0, 0, 0);
		o[j++] = mk(BPF_STX | BPF_MEM | BPF_DW, 1, 0, 0, 0);
		o[j++] = mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2 /* XDP_PASS */);
		o[j++] = mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*prologue = P;
	memcpy(o + P, in, n * sizeof(*o));

	for (size_t i = 0; i < n; i++) {
		struct ebpf_insn *x = &o[P + i];
		long t;
		int field;

		if (i < main_end && is_valid_exit(&in[i])) {
			long off = (long)epi - (long)(P + i + 1);
			if (off >= INT16_MIN)
				*x = mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)off, 0);
			else
				*x = mk(BPF_JMP32 | BPF_JA, 0, 0, 0, (int32_t)off);
		} else if (i < main_end && T &&
			   ((spill && is_helper_call(&in[i], HELPER_TAIL_CALL)) ||
			    (k->loop_helper && k->zero_fd >= 0 && is_helper_call(&in[i], HELPER_LOOP)))) {
			/* The trampoline, at j in the prologue; back to the insn after the call. */
			long back = (long)(P + i + 1), there = (long)j;
			if (in[i].imm == HELPER_TAIL_CALL) {
				o[j++] = mk(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -512, 0);
			} else {
				o[j++] = mk(OP_LDDW, 5, PSEUDO_MAP_VALUE, 0, k->zero_fd);
				o[j++] = mk(0, 0, 0, 0, 0);
				o[j++] = mk(BPF_LDX | BPF_MEM | BPF_DW, 5, 5, 0, 0);
				o[j++] = mk(BPF_ALU64 | BPF_OR | BPF_X, 4, 5, 0, 0);
			}
			o[j++] = in[i];
			long off = back - (long)(j + 1), to = there - (long)(P + i + 1);
			if (off < INT16_MIN || to < INT16_MIN) {
				res->status = KEXEC_UNSUPPORTED;
				set_msg(res, "insn %zu: too far from the prologue for its trampoline", i);
				return 0;
			}
			o[j++] = mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)off, 0);
			*x = mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)to, 0);
		} else if (branch_target(&in[i], i, &t, &field) && t < 0) {
			/* Keep a target before the case out of range, not in the prologue. */
			long v = (field ? (long)x->imm : (long)x->off) - (long)P;
			if (field)
				x->imm = (int32_t)v;
			else if (v >= INT16_MIN)
				x->off = (int16_t)v;
			else {
				res->status = KEXEC_REJECTED;
				set_msg(res, "jump out of range from insn %zu to %ld (checked by bpfdiff)", i, t);
				return 0;
			}
		}
		if (env && in[i].opcode == OP_LDDW && (in[i].src == PSEUDO_MAP_FD || in[i].src == PSEUDO_MAP_VALUE))
			x->imm = env->fds[(uint32_t)in[i].imm];
		if (in[i].opcode == OP_LDDW)
			i++;
	}

	if (env && env->extra) {
		struct load_extra *x = env->extra;
		x->fds = env->fds;
		x->nfds = env->nmaps;
		x->nfuncs = 0;
		if (funcs && k->btf_fd >= 0) {
			/* Subprogram starts as the verifier finds them: 0 and every
			 * target of a local call or a function address. */
			uint32_t starts[64];
			size_t ns = 0;
			starts[ns++] = 0;
			for (size_t i = 0; i < n && ns < 64; i++) {
				long t;
				int field;
				if (((in[i].opcode == OP_CALL && in[i].src == PSEUDO_CALL) ||
				     (in[i].opcode == OP_LDDW && in[i].src == PSEUDO_FUNC)) &&
				    branch_target(&in[i], i, &t, &field) && t >= 0 && (size_t)t < n)
					starts[ns++] = (uint32_t)(P + (size_t)t);
				if (in[i].opcode == OP_LDDW)
					i++;
			}
			qsort(starts, ns, sizeof(starts[0]), cmp_u32);
			for (size_t i = 0; i < ns; i++)
				if (!x->nfuncs || x->funcs[2 * (x->nfuncs - 1)] != starts[i]) {
					x->funcs[2 * x->nfuncs] = starts[i];
					x->funcs[2 * x->nfuncs + 1] = 3; /* the FUNC "f" */
					x->nfuncs++;
				}
		}
	}
	return n + P;
}

size_t kexec_build(struct kexec *k, const struct ebpf_insn *insns, size_t n, size_t mem_len, int mem_fd,
		   struct kexec_result *res, size_t *prologue)
{
	return build(k, insns, n, mem_len, mem_fd, true, NULL, res, prologue);
}

/* --- the verifier's reason ------------------------------------------------ */

static bool is_stats_line(const char *s)
{
	return !strncmp(s, "processed ", 10) || !strncmp(s, "verification time", 17) ||
	       !strncmp(s, "stack depth", 11);
}

/* Trace lines: "12: (64) w0 <<= 60", "0: R1=ctx() R10=fp0", "from 3 to 5: ...",
 * "; source", "frame1: R1=...", "func#1 @12", "mark_precise: ...". A message
 * such as "frame pointer is read only" is not one. */
static bool is_trace_line(const char *s, long *insn)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';' || !strncmp(p, "from ", 5) || !strncmp(p, "mark_precise", 12) || !strncmp(p, "last_idx", 8) ||
	    !strncmp(p, "func#", 5))
		return true;
	if (!strncmp(p, "frame", 5) && p[5] >= '0' && p[5] <= '9')
		return true;
	if (*p >= '0' && *p <= '9') {
		char *e;
		long v = strtol(p, &e, 10);
		if (*e == ':') {
			if (e[1] == ' ' && e[2] == '(' && insn && *insn < 0)
				*insn = v;
			return true;
		}
	}
	return false;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !strncmp(s + len - n, suffix, n);
}

void kexec_translate(const char *msg, size_t P, char *out, size_t outlen)
{
	size_t o = 0;
	bool from_insn = false; /* "from insn A to B": B is an insn too */
	if (!outlen)
		return;
	for (size_t i = 0; msg[i] && o + 1 < outlen;) {
		bool digit = msg[i] >= '0' && msg[i] <= '9';
		bool starts = digit && (i == 0 || !(msg[i - 1] == '_' || (msg[i - 1] >= '0' && msg[i - 1] <= '9') ||
						    (msg[i - 1] >= 'a' && msg[i - 1] <= 'z') ||
						    (msg[i - 1] >= 'A' && msg[i - 1] <= 'Z')));
		bool is_insn = starts && (ends_with(msg, i, "insn ") || ends_with(msg, i, "insn #") ||
					  ends_with(msg, i, "insn_idx ") || ends_with(msg, i, "insn_idx=") ||
					  (from_insn && ends_with(msg, i, " to ")));
		if (!is_insn) {
			if (ends_with(msg, i + 1, "from insn "))
				from_insn = true;
			out[o++] = msg[i++];
			continue;
		}
		char *e;
		long v = strtol(msg + i, &e, 10);
		int w = v >= (long)P ? snprintf(out + o, outlen - o, "%ld", v - (long)P)
				     : snprintf(out + o, outlen - o, "%ld (bpfdiff prologue)", v);
		o = w < 0 ? o : o + (size_t)w < outlen ? o + (size_t)w : outlen - 1;
		i = (size_t)(e - msg);
		if (strncmp(msg + i, " to ", 4))
			from_insn = false; /* else B follows */
	}
	out[o] = 0;
}

void kexec_reason(char *log, size_t P, char *out, size_t outlen)
{
	char *lines[64];
	int nl = 0;
	long insn = -1;

	for (char *s = log, *e; s && *s; s = e) {
		e = strchr(s, '\n');
		if (e)
			*e++ = '\0';
		if (!*s || is_stats_line(s))
			continue;
		if (nl == 64) {
			memmove(lines, lines + 1, sizeof(lines) - sizeof(lines[0]));
			nl--;
		}
		lines[nl++] = s;
	}
	int end = nl, start = nl;
	while (start > 0 && !is_trace_line(lines[start - 1], NULL) && end - start < 3)
		start--;
	if (start > 0)
		is_trace_line(lines[start - 1], &insn);
	out[0] = '\0';
	size_t len = 0;
	for (int i = start; i < end && len + 1 < outlen; i++) {
		if (i > start)
			len += (size_t)snprintf(out + len, outlen - len, "; ");
		if (len + 1 < outlen)
			kexec_translate(lines[i], P, out + len, outlen - len);
		len += strlen(out + len);
	}
	if (insn >= (long)P && len + 1 < outlen) {
		const char *t = strchr(lines[start - 1], ')');
		snprintf(out + len, outlen - len, " (case insn %ld:%s)", insn - (long)P, t ? t + 1 : "");
	}
}

/* --- load and run --------------------------------------------------------- */

/* The verifier's own complaint about itself, from a failed load's log. */
static void verifier_bug_line(const char *log, char *out, size_t outlen)
{
	const char *vb = strstr(log, "verifier bug");
	if (vb)
		snprintf(out, outlen, "%.*s", (int)strcspn(vb, "\n"), vb);
}

static bool ensure_log(struct kexec *k)
{
	if (!k->log)
		k->log = malloc(KEXEC_LOG_SIZE);
	return k->log != NULL;
}

/* Load a program the first, log-less attempt refused: with a log, for the
 * reason. Returns the fd if this load passed after all, else -1 with
 * res filled (rejected or error). */
struct retry {
	const struct ebpf_insn *insns;
	size_t n, mem_len;
	int mem_fd;
	const struct build_env *env;
};

static int load_refused(struct kexec *k, size_t n, size_t P, uint32_t flags, int first_errno,
			const struct retry *retry, struct kexec_result *res)
{
	if (!ensure_log(k)) {
		res->status = KEXEC_ERROR;
		set_msg(res, "bpf(BPF_PROG_LOAD): %s (no memory for the verifier log)", strerror(first_errno));
		k->nerror++;
		return -1;
	}
	int fd = prog_load(k, k->buf, n, flags, k->log, KEXEC_LOG_SIZE);
	if (fd >= 0) {
		set_msg(res, "first load failed (%s), the reload with a log passed", strerror(first_errno));
		return fd;
	}
	int e = errno;
	k->log[KEXEC_LOG_SIZE - 1] = '\0';
	if (!res->warning[0])
		verifier_bug_line(k->log, res->warning, sizeof(res->warning));
	kexec_reason(k->log, P, res->message, sizeof(res->message));
	if (P > 3 && strstr(res->message, "(bpfdiff prologue)") && retry) {
		/* The verifier stopped at the epilogue (e.g. "unreachable insn 4":
		 * no exit of the case is reachable). Its complaint about the case
		 * itself comes from the case with its own exits. */
		size_t P2, len = build(k, retry->insns, retry->n, retry->mem_len, retry->mem_fd, false, retry->env, res,
				       &P2);
		int fd2 = len ? prog_load(k, k->buf, len, flags, k->log, KEXEC_LOG_SIZE) : -1;
		if (fd2 >= 0) {
			close(fd2);
		} else if (len) {
			e = errno;
			k->log[KEXEC_LOG_SIZE - 1] = '\0';
			kexec_reason(k->log, P2, res->message, sizeof(res->message));
		}
	}
	if (e == ENOSPC && first_errno != ENOSPC) {
		/* Before 6.4 a full log fails the load instead of rotating: its tail
		 * is a trace line, not the reason, and the first error is the news. */
		bool refused = first_errno == EACCES || first_errno == EINVAL || first_errno == E2BIG;
		res->status = refused ? KEXEC_REJECTED : KEXEC_ERROR;
		set_msg(res, "bpf(BPF_PROG_LOAD): %s (the verifier log overflowed %u bytes: no reason)",
			strerror(first_errno), KEXEC_LOG_SIZE);
		if (refused)
			k->nrejected++;
		else
			k->nerror++;
		return -1;
	}
	if (e == EACCES || e == EINVAL || e == E2BIG || e == ENOSPC || res->message[0]) {
		res->status = KEXEC_REJECTED;
		if (!res->message[0])
			set_msg(res, "bpf(BPF_PROG_LOAD): %s", strerror(first_errno));
		k->nrejected++;
	} else {
		res->status = KEXEC_ERROR;
		set_msg(res, "bpf(BPF_PROG_LOAD): %s", strerror(e));
		k->nerror++;
	}
	return -1;
}

/* Build and load one program: the fd, or -1 with res filled (rejected,
 * error, unsupported). A verifier invariant violation leaves its message in
 * res->warning and the program is loaded without the checks. */
static int load_one(struct kexec *k, const struct ebpf_insn *insns, size_t n, size_t mem_len, int mem_fd,
		    const struct build_env *env, bool states, struct kexec_result *res)
{
	size_t P = 0;
	size_t len = build(k, insns, n, mem_len, mem_fd, true, env, res, &P);
	if (!len) {
		if (res->status == KEXEC_ERROR)
			k->nerror++;
		else if (res->status == KEXEC_REJECTED)
			k->nrejected++;
		return -1;
	}
	cur_extra = env ? env->extra : NULL;
	uint32_t flags = k->reg_invariants ? BPF_F_TEST_REG_INVARIANTS : 0;
	int fd = states ? load_with_states(k, len, P, flags) : -1;
	if (fd >= 0) {
		cur_extra = NULL;
		return fd;
	}
	fd = prog_load(k, k->buf, len, flags, NULL, 0);
	if (fd < 0 && errno == EFAULT && flags) {
		/* The verifier's invariant checks fired: a kernel bug. Keep its
		 * message (a failed load's log is not rewound), then load without
		 * the checks so the case still runs and is diffed. */
		k->nwarned++;
		if (ensure_log(k) && prog_load(k, k->buf, len, flags, k->log, KEXEC_LOG_SIZE) < 0) {
			k->log[KEXEC_LOG_SIZE - 1] = '\0';
			verifier_bug_line(k->log, res->warning, sizeof(res->warning));
			if (!res->warning[0]) {
				kexec_reason(k->log, P, res->message, sizeof(res->message));
				snprintf(res->warning, sizeof(res->warning), "verifier failed with EFAULT: %s",
					 res->message);
				res->message[0] = 0;
			}
		} else if (!res->warning[0]) {
			snprintf(res->warning, sizeof(res->warning),
				 "verifier failed with EFAULT under BPF_F_TEST_REG_INVARIANTS (not reproduced with a log)");
		}
		flags = 0;
		fd = prog_load(k, k->buf, len, flags, NULL, 0);
	}
	if (fd < 0) {
		struct retry r = { insns, n, mem_len, mem_fd, env };
		fd = load_refused(k, len, P, flags, errno, &r, res);
	}
	cur_extra = NULL;
	return fd;
}

static int map_create(const struct kexec_map *m, size_t idx)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = m->type;
	a.key_size = m->key_size;
	a.value_size = m->value_size;
	a.max_entries = m->max_entries;
	a.map_flags = m->flags;
	snprintf(a.map_name, sizeof(a.map_name), "bpfdiff_m%zu", idx);
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static int map_lookup(int fd, const void *key, void *value)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	return (int)sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

static int map_next_key(int fd, const void *key, void *next)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.next_key = (uint64_t)(uintptr_t)next;
	return (int)sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
}

/* The BTF that func_info needs for callbacks: [1] int, [2] int (void), [3] static f. */
static int btf_for_funcs(void)
{
	static const uint32_t types[] = {
		1, 1u << 24 /* INT */, 4, 1u << 24 | 32 /* signed, 32 bits */,
		0, 13u << 24 /* FUNC_PROTO, no args */, 1,
		5, 12u << 24 /* FUNC, static */, 2,
	};
	static const char strs[] = "\0int\0f";
	uint8_t buf[24 + sizeof(types) + sizeof(strs)];
	uint32_t hdr[6] = { 0xeB9F | 1u << 16 /* magic, version 1, flags 0 */, 24, 0, sizeof(types),
			    sizeof(types), sizeof(strs) };
	memcpy(buf, hdr, 24);
	memcpy(buf + 24, types, sizeof(types));
	memcpy(buf + 24 + sizeof(types), strs, sizeof(strs));
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.btf = (uint64_t)(uintptr_t)buf;
	a.btf_size = sizeof(buf);
	return (int)sys_bpf(BPF_BTF_LOAD, &a);
}

static bool has_pseudo_func(const struct kexec_prog *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->insns[i].opcode == OP_LDDW && p->insns[i].src == PSEUDO_FUNC)
			return true;
	return false;
}

int kexec_run_case(struct kexec *k, const struct kexec_case *c, uint8_t *mem_out, kexec_elem_fn fn, void *fnctx,
		   struct kexec_result *res)
{
	struct kexec_mem_map *m = NULL;
	int fd = -1, err = 0, map_fds[KEXEC_MAX_MAPS], prog_fds[KEXEC_MAX_PROGS];
	size_t nmaps = 0, nprogs = 0, mem_len = c->mem_len;
	struct load_extra extra;

	memset(res, 0, sizeof(*res));
	k->nrun++;
	if (k->states)
		k->states[0] = '\0';
	k->states_truncated = false;
	if (!c->nprogs || !c->progs[0].n) {
		res->status = KEXEC_REJECTED;
		set_msg(res, "empty program");
		return 0;
	}
	if (c->nmaps > KEXEC_MAX_MAPS || c->nprogs > KEXEC_MAX_PROGS) {
		res->status = KEXEC_UNSUPPORTED;
		set_msg(res, "more than %d maps or %d programs", KEXEC_MAX_MAPS, KEXEC_MAX_PROGS);
		return 0;
	}
	if (mem_len > INT32_MAX) {
		res->status = KEXEC_UNSUPPORTED;
		set_msg(res, "memory of %zu bytes is too large for an array-map value", mem_len);
		return 0;
	}
	if (mem_len) {
		m = mem_map(k, mem_len, &err);
		if (!m) {
			res->status = KEXEC_UNSUPPORTED;
			set_msg(res, "memory of %zu bytes: BPF_MAP_CREATE: %s", mem_len, strerror(-err));
			return 0;
		}
	}
	bool funcs = false;
	for (size_t i = 0; i < c->nprogs; i++)
		funcs |= has_pseudo_func(&c->progs[i]);
	bool with_env = c->nmaps || c->nprogs > 1 || funcs;
	if (funcs && k->btf_fd < 0 && (k->btf_fd = btf_for_funcs()) < 0) {
		res->status = KEXEC_UNSUPPORTED;
		set_msg(res, "a callback needs BTF func_info, and BPF_BTF_LOAD failed: %s", strerror(errno));
		return 0;
	}
	if (k->loop_helper && k->zero_fd < 0) {
		struct kexec_map z = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1 };
		k->zero_fd = map_create(&z, 99);
	}
	for (; nmaps < c->nmaps; nmaps++) {
		const struct kexec_map *mp = &c->maps[nmaps];
		if ((map_fds[nmaps] = map_create(mp, nmaps)) < 0) {
			res->status = KEXEC_UNSUPPORTED;
			set_msg(res, "map %zu: BPF_MAP_CREATE: %s", nmaps, strerror(errno));
			goto out;
		}
		if (mp->type == BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		for (size_t e = 0; e < mp->ninit; e++) {
			const uint8_t *key = mp->init + e * (mp->key_size + mp->value_size);
			if (map_update(map_fds[nmaps], key, key + mp->key_size, BPF_ANY) < 0) {
				res->status = KEXEC_ERROR;
				set_msg(res, "map %zu: initial element %zu: BPF_MAP_UPDATE_ELEM: %s", nmaps, e, strerror(errno));
				nmaps++;
				goto out;
			}
		}
		if (mp->freeze) {
			union bpf_attr a;
			memset(&a, 0, sizeof(a));
			a.map_fd = (uint32_t)map_fds[nmaps];
			if (sys_bpf(BPF_MAP_FREEZE, &a) < 0) {
				res->status = KEXEC_ERROR;
				set_msg(res, "map %zu: BPF_MAP_FREEZE: %s", nmaps, strerror(errno));
				nmaps++;
				goto out;
			}
		}
	}
	struct build_env env = { map_fds, nmaps, &extra };
	for (; nprogs < c->nprogs; nprogs++) {
		prog_fds[nprogs] = load_one(k, c->progs[nprogs].insns, c->progs[nprogs].n, mem_len, m ? m->fd : -1,
					    with_env ? &env : NULL, k->want_states && !nprogs, res);
		if (prog_fds[nprogs] < 0) {
			if (nprogs) {
				char msg[sizeof(res->message)];
				snprintf(msg, sizeof(msg), "%s", res->message);
				set_msg(res, "prog %zu: %s", nprogs, msg);
			}
			goto out;
		}
	}
	for (size_t i = 0; i < nmaps; i++) {
		const struct kexec_map *mp = &c->maps[i];
		if (mp->type != BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		for (size_t e = 0; e < mp->ninit; e++) {
			const uint8_t *key = mp->init + e * 8;
			uint32_t prog;
			memcpy(&prog, key + 4, 4);
			if (prog >= nprogs || map_update(map_fds[i], key, &prog_fds[prog], BPF_ANY) < 0) {
				res->status = KEXEC_ERROR;
				set_msg(res, "map %zu: program %u into the prog_array: %s", i, prog,
					prog >= nprogs ? "no such program" : strerror(errno));
				goto out;
			}
		}
	}
	fd = prog_fds[0];

	if (m)
		memcpy(m->val, c->mem, mem_len);
	*k->r0 = KEXEC_R0_POISON;
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)k->pkt;
	a.test.data_size_in = sizeof(k->pkt);
	a.test.repeat = 1;
	long rc = sys_bpf(BPF_PROG_TEST_RUN, &a);
	int e = errno;
	if (rc) {
		res->status = KEXEC_ERROR;
		set_msg(res, "bpf(BPF_PROG_TEST_RUN): %s", strerror(e));
		k->nerror++;
		goto out;
	}
	res->status = KEXEC_OK;
	res->duration_ns = a.test.duration;
	res->r0 = *k->r0;
	if (res->r0 == KEXEC_R0_POISON && a.test.retval != 2) {
		/* Left through no rewritten exit (cannot happen for accepted
		 * programs): only the 32-bit retval is known. */
		res->r0 = a.test.retval;
		set_msg(res, "R0 not captured, 32-bit XDP retval only");
	}
	if (mem_len)
		memcpy(mem_out, m->val, mem_len);
	/* Every map's contents, read back while the programs still hold them. */
	for (size_t i = 0; fn && i < nmaps; i++) {
		const struct kexec_map *mp = &c->maps[i];
		if (mp->type == BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		uint8_t key[512], next[512], *val = malloc(mp->value_size);
		if (!val) {
			res->status = KEXEC_ERROR;
			set_msg(res, "out of memory reading map %zu", i);
			break;
		}
		const uint8_t *kp = NULL;
		while (!map_next_key(map_fds[i], kp, next)) {
			memcpy(key, next, mp->key_size);
			kp = key;
			if (!map_lookup(map_fds[i], key, val) && fn(fnctx, i, key, val) < 0) {
				res->status = KEXEC_ERROR;
				set_msg(res, "out of memory reading map %zu", i);
				break;
			}
		}
		free(val);
	}
out:
	for (size_t i = 0; i < nprogs; i++)
		close(prog_fds[i]);
	for (size_t i = 0; i < nmaps; i++)
		close(map_fds[i]);
	return 0;
}

int kexec_run(struct kexec *k, const struct ebpf_insn *insns, size_t n, const uint8_t *mem, size_t mem_len,
	      uint8_t *mem_out, struct kexec_result *res)
{
	struct kexec_prog p = { insns, n };
	struct kexec_case c = { &p, 1, NULL, 0, mem, mem_len };
	return kexec_run_case(k, &c, mem_out, NULL, NULL, res);
}

int kexec_open(struct kexec *k, uint32_t prog_type, char *why, size_t whylen)
{
	memset(k, 0, sizeof(*k));
	k->prog_type = prog_type;
	k->r0_fd = -1;
	k->btf_fd = -1;
	k->zero_fd = -1;
	struct ebpf_insn probe[2] = { mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2), mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	int fd = prog_load(k, probe, 2, 0, NULL, 0);
	if (fd < 0) {
		int e = errno;
		if (e == EPERM || e == EACCES)
			snprintf(why, whylen, "bpf(BPF_PROG_LOAD) not permitted (%s): need root, or CAP_BPF+CAP_PERFMON%s",
				 strerror(e), prog_type == BPF_PROG_TYPE_SOCKET_FILTER ? "" : "+CAP_NET_ADMIN");
		else if (e == ENOSYS)
			snprintf(why, whylen, "bpf() not available (ENOSYS): kernel without CONFIG_BPF_SYSCALL");
		else
			snprintf(why, whylen, "probe load of a 2-insn program failed: %s", strerror(e));
		return -e;
	}
	close(fd);
	fd = prog_load(k, probe, 2, BPF_F_TEST_REG_INVARIANTS, NULL, 0);
	k->reg_invariants = fd >= 0;
	if (fd >= 0)
		close(fd);
	uint8_t *v;
	fd = mmapable_array(8, &v, &k->r0_maplen);
	if (fd < 0) {
		snprintf(why, whylen, "BPF_MAP_CREATE(array, mmapable): %s", strerror(-fd));
		return fd;
	}
	k->r0_fd = fd;
	k->r0 = (volatile uint64_t *)v;
	return 0;
}

void kexec_close(struct kexec *k)
{
	for (int i = 0; i < k->nmaps; i++) {
		munmap(k->maps[i].val, k->maps[i].maplen);
		close(k->maps[i].fd);
	}
	k->nmaps = 0;
	if (k->r0)
		munmap((void *)k->r0, k->r0_maplen);
	if (k->r0_fd >= 0)
		close(k->r0_fd);
	if (k->btf_fd >= 0)
		close(k->btf_fd);
	if (k->zero_fd >= 0)
		close(k->zero_fd);
	k->r0 = NULL;
	k->r0_fd = k->btf_fd = k->zero_fd = -1;
	free(k->buf);
	free(k->log);
	free(k->states);
	k->buf = NULL;
	k->log = NULL;
	k->states = NULL;
	k->states_cap = 0;
}
