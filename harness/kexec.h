/* SPDX-License-Identifier: MIT */
/*
 * Running one case on a Linux kernel: the program the kernel loads (the
 * case wrapped between a prologue that hands it its memory and an epilogue
 * that stores all 64 bits of R0), the load -> reload-with-log -> test_run
 * sequence, and the verifier's reason translated to the case's numbering.
 *
 * Plain C on raw bpf(2) syscalls, no libbpf and nothing from the rest of the
 * harness but vm/ebpf.h: the host's kernel backend and the agent that runs
 * inside guest kernels (guest/) compile this same file, so a case runs the
 * same way on every kernel bpfdiff drives.
 */
#ifndef BPFDIFF_KEXEC_H
#define BPFDIFF_KEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vm/ebpf.h"

#define KEXEC_MAX_MEM_MAPS 16        /* distinct memory sizes kept mapped */
#define KEXEC_LOG_SIZE (1u << 20)    /* verifier log on rejection (rotating since 6.4: keeps the tail) */
#define KEXEC_PKT_SIZE 64            /* test_run input: XDP/skb need >= ETH_HLEN bytes */
#define KEXEC_MAX_PROLOGUE 9        /* without trampolines (below) */
#define KEXEC_MAX_MAPS 16            /* a case's own maps */
#define KEXEC_STATES_MIN (1u << 20)  /* level-2 log: first buffer, grown 16x on ENOSPC ... */
#define KEXEC_STATES_MAX (64u << 20) /* ... up to this, then the log counts as truncated */
#define KEXEC_MAX_PROGS 64           /* a case's programs: the one that runs and its tail-call targets */

enum kexec_status {
	KEXEC_OK,          /* loaded and ran: r0 and memory are valid */
	KEXEC_REJECTED,    /* the verifier (or bpfdiff's own range check) refused it */
	KEXEC_UNSUPPORTED, /* cannot be expressed on this kernel (memory size, map references) */
	KEXEC_ERROR,       /* a syscall failed for a reason that is not the program's */
};

struct kexec_mem_map {
	size_t size;               /* value_size == case mem_len */
	int fd;
	uint8_t *val;              /* mmap of the value */
	size_t maplen;
	uint64_t used;             /* LRU tick */
};

struct kexec {
	uint32_t prog_type;        /* BPF_PROG_TYPE_* */
	const char *type_name;
	bool reg_invariants;       /* BPF_F_TEST_REG_INVARIANTS accepted (Linux 6.7+) */
	int r0_fd;                 /* 8-byte mmapable array: the epilogue stores R0 here */
	volatile uint64_t *r0;
	size_t r0_maplen;
	struct kexec_mem_map maps[KEXEC_MAX_MEM_MAPS];
	int nmaps;
	uint64_t tick;
	struct ebpf_insn *buf;     /* the program as loaded, grown as needed */
	size_t cap;
	char *log;                 /* allocated on the first rejection */
	uint8_t pkt[KEXEC_PKT_SIZE];
	uint64_t nrun, nrejected, nerror, nwarned;
	/* Maps and helpers (see "A case's maps and programs" in kexec.c). */
	bool loop_helper;          /* keep bpf_loop a helper call: the verifier must not inline it */
	int btf_fd;                /* one static `int f(void)` for func_info, made on first use; -1 none */
	int zero_fd;               /* an 8-byte array that stays 0 (loop_helper); -1 none */
	/* The verifier-state oracle (harness/vlog.h): when want_states is set,
	 * program 0 is loaded with a level-2 verifier log, kept in states. */
	bool want_states;
	char *states;              /* "" unless the last case's program 0 loaded with a complete log */
	size_t states_cap;
	size_t states_prologue;    /* insns before the case in the logged program */
	bool states_truncated;     /* the log did not fit KEXEC_STATES_MAX bytes: states is "" */
};

/*
 * A case with maps or several programs. Program 0 runs; the others are
 * tail-call targets (a prog_array's value is a program index). lddw src 1/2
 * name a map by its index here (kexec puts its fd in), src 5/6 by its index
 * in the fd_array kexec passes (the same order).
 */
struct kexec_map {
	uint32_t type, key_size, value_size, max_entries, flags;
	bool freeze;               /* BPF_MAP_FREEZE after the initial elements */
	size_t ninit;              /* initial elements, key then value, packed */
	const uint8_t *init;
};
struct kexec_prog {
	const struct ebpf_insn *insns;
	size_t n;
};
struct kexec_case {
	const struct kexec_prog *progs;
	size_t nprogs;
	const struct kexec_map *maps;
	size_t nmaps;
	const uint8_t *mem;
	size_t mem_len;
};
/* Called for every element of every map but prog_arrays after the run. */
typedef int (*kexec_elem_fn)(void *ctx, size_t map, const void *key, const void *value);

struct kexec_result {
	enum kexec_status status;
	uint64_t r0;
	uint64_t duration_ns;      /* test_run's own figure */
	char message[512];         /* the verifier's reason, "insn N" in case numbering */
	char warning[256];         /* "verifier bug: ..." the verifier reported while loading this case */
};

/* A program type by name ("xdp", "socket_filter"/"socket", "sched_cls"/"tc"). */
int kexec_prog_type(const char *name, uint32_t *type, const char **canonical);

/* Probe bpf(2) with a 2-insn program of the type, create the R0 map and
 * probe BPF_F_TEST_REG_INVARIANTS. 0, or -errno with a reason in why. */
int kexec_open(struct kexec *k, uint32_t prog_type, char *why, size_t whylen);
void kexec_close(struct kexec *k);

/*
 * Run one case: load it (with BPF_F_TEST_REG_INVARIANTS where the kernel has
 * it, without a log), on failure reload with a log for the reason, run it
 * once with BPF_PROG_TEST_RUN and copy the memory after the run into mem_out
 * (mem_len bytes; may be NULL when mem_len is 0).
 *
 * A load that fails only because the verifier's own invariant checks fired
 * (EFAULT under the flag) is a kernel bug: res->warning gets the verifier's
 * message and the program is loaded again without the flag, so it still runs
 * and is diffed as usual. Returns 0 (see res->status) or -errno when the
 * machinery itself failed (out of memory).
 */
int kexec_run(struct kexec *k, const struct ebpf_insn *insns, size_t n, const uint8_t *mem, size_t mem_len,
	      uint8_t *mem_out, struct kexec_result *res);

/*
 * The same for a case with maps and tail-call targets: the maps are created
 * and filled, every program is loaded (a target the verifier refuses makes
 * the case `rejected`, its message prefixed "prog K: "), prog_arrays are
 * filled with the programs' fds, program 0 runs, and each map's contents are
 * handed to fn (when not NULL) before everything is closed again. A map the
 * kernel cannot create is KEXEC_UNSUPPORTED.
 */
int kexec_run_case(struct kexec *k, const struct kexec_case *c, uint8_t *mem_out, kexec_elem_fn fn, void *fnctx,
		   struct kexec_result *res);

/*
 * The program kexec_run loads, written into k->buf: returns its length and
 * the number of insns before the case (*prologue), or 0 with res->status and
 * res->message set when the case cannot be sent. mem_fd < 0: no memory.
 */
size_t kexec_build(struct kexec *k, const struct ebpf_insn *insns, size_t n, size_t mem_len, int mem_fd,
		   struct kexec_result *res, size_t *prologue);

/*
 * The verifier's reason from its log (modified in place): the message lines
 * after the last trace line, at most three, joined by "; ", with every insn
 * number the kernel printed moved back by the prologue into the case's
 * numbering, and the failing insn's text appended when the trace names it.
 */
void kexec_reason(char *log, size_t prologue, char *out, size_t outlen);

/* Rewrite the insn numbers in one verifier message into case numbering
 * ("unreachable insn 12" -> "unreachable insn 3"); numbers that fall in the
 * prologue or epilogue are marked "(bpfdiff prologue)". */
void kexec_translate(const char *msg, size_t prologue, char *out, size_t outlen);

#endif
