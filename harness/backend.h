/* SPDX-License-Identifier: MIT */
/*
 * A backend is one VM bpfdiff runs cases on: one file behind this ops table
 * (backend_uvm.c, backend_kernel.c, backend_xdp.c, backend_plugin.c).
 */
#ifndef BPFDIFF_BACKEND_H
#define BPFDIFF_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "case.h"

enum bd_status {
	BD_OK,
	BD_FAULT,
	BD_REJECTED,
	BD_TIMEOUT,
	BD_CRASH,       /* the VM itself died (a plugin killed by a signal, a guest kernel that
			   panicked): a finding, compared like any outcome */
	BD_UNSUPPORTED,
	BD_UNAVAILABLE,
	BD_ERROR,
	BD_STATUS_COUNT,
};
const char *bd_status_name(enum bd_status s); /* "ok", "fault", ... */
int bd_status_lookup(const char *name);       /* enum value, or -1 */

/* Is NAME a backend a case (`-- expect NAME`) or a known-differences entry may
 * name: uvm, kernel[:TYPE], xdp, plugin, plugin:PATH, uvm:MUTANT,
 * guest:ARCH[-interp], or a glob (* ? [..]) that matches such names
 * (`guest:*`)? 0, or -EINVAL with the reason in why: a typo such as "kernal"
 * must not silently turn an expectation off. */
int bd_backend_name_check(const char *name, char *why, size_t whylen);

/* What kind of fault, so that two faulting VMs agree only on the same one. */
enum bd_fault_kind {
	BD_FAULT_UNKNOWN,  /* the backend does not say (a plugin's message) */
	BD_FAULT_READ,     /* load out of bounds */
	BD_FAULT_WRITE,    /* store or atomic out of bounds */
	BD_FAULT_DEPTH,    /* call depth exceeded */
	BD_FAULT_CALL,     /* bad call target (callx) */
	BD_FAULT_END,      /* ran off the end of the program */
	BD_FAULT_R10,      /* an instruction that writes r10, the read-only frame pointer, ran */
};
const char *bd_fault_kind_name(enum bd_fault_kind k);

/*
 * The identity of what produced a result: every report carries it, and a
 * declared deviation can be scoped to it (`-- expect kernel arch=x86_64`).
 * Fields that do not apply are "" / -1.
 */
struct bd_env {
	char release[65];     /* kernel release (uname -r) of the kernel that ran the case */
	char arch[32];        /* machine (uname -m) of that kernel, or of the host for user-space VMs */
	int jit;              /* 1 JIT, 0 interpreter, -1 not a kernel */
	int jit_harden;       /* net.core.bpf_jit_harden, -1 unknown */
	int reg_invariants;   /* BPF_F_TEST_REG_INVARIANTS accepted: 1/0, -1 not a kernel */
	int platform;         /* the helper profile it ran with (EBPF_PLATFORM_*, set by the session) */
	int big_endian;       /* byte order of its loads and stores: 1 big (s390x), 0 little, -1 unknown */
	char detail[192];     /* anything else worth a report line ("program type xdp", "pinned VM") */
};
void bd_env_unknown(struct bd_env *e); /* "" and -1 everywhere */

struct bd_result {
	enum bd_status status;
	uint64_t r0;
	uint8_t *mem;        /* memory after the run (mem_len = the case's), owned; NULL when none */
	size_t mem_len;
	bool has_insns;
	uint64_t insns;      /* executed guest instructions, when the backend knows */
	uint64_t duration_ns;
	enum bd_fault_kind fault_kind; /* BD_FAULT (and BD_TIMEOUT: unknown) */
	bool has_pc;
	uint32_t pc;         /* case pc of the fault / timeout, when the backend knows it */
	int signal;          /* BD_CRASH: the signal that killed the VM, 0 if none */
	char message[512];   /* reason for any status but ok; may be set for ok */
	char warning[256];   /* a kernel WARNING / "verifier bug" logged while this case ran */
	/* Each of the case's maps after the run (index = the case's map index;
	 * prog_arrays stay empty: programs cannot change them); NULL when the
	 * backend gives none back (a plugin) or the case has no maps. */
	struct bd_map_contents *maps;
	int nmaps;
	/* Loads and stores the program made through map value pointers, where the
	 * backend counts them (bpfdiff's VMs): what `bpfdiff coverage` reports. */
	bool has_map_accesses;
	uint64_t map_loads, map_stores;
	/* The kernel with cfg.verifier_states: its verifier's level-2 log of the
	 * program it accepted (owned by the backend, valid until its next run;
	 * NULL when none), the insns before the case in the logged program, and
	 * whether the log did not fit (then states is NULL). */
	const char *states;
	size_t states_prologue;
	bool states_truncated;
};
void bd_result_reset(struct bd_result *r); /* free mem, zero everything */

/* How to run: the shared execution contract's knobs (DESIGN.md). Backends
 * that cannot honour an address choice ignore it. */
struct bd_run_opts {
	uint64_t mem_addr;
	uint64_t stack_top;
	uint8_t stack_fill;
	uint64_t stack_seed; /* nonzero: position-dependent stack contents (uvm only) */
	uint64_t reg_fill;
	uint64_t budget;     /* guest instructions; 0 = backend default */
	int cpu;             /* 1..4 */
	uint64_t map_addr;   /* guest base of map values, map pointers, code addresses (vm/helpers.h) */
	uint64_t env_seed;   /* environment helpers' values the case does not give (vm/helpers.h) */
	bool ignore_helper_values; /* take even those the case gives from env_seed (the diff's probe) */
	/* uvm only: called before each instruction (vm/uvm.h: uvm_trace_fn); NULL none. */
	void (*trace)(void *ctx, unsigned prog, uint32_t pc, int depth, const uint64_t regs[11]);
	void *trace_ctx;
	/* kernel only: load with a level-2 verifier log (res->states), for the verifier-state oracle */
	bool verifier_states;
	/* uvm only: with no memory r1 starts as 0, as the kernel backend passes it (the oracle) */
	bool null_r1;
};
void bd_run_opts_default(struct bd_run_opts *o);

struct bd_backend_config {
	int cpu;             /* 1..4 */
	int isa;             /* EBPF_ISA_RFC9669 or EBPF_ISA_LINUX (0 = linux): the forms programs may use */
	const char *arg;     /* backend argument: `plugin:PATH` gives PATH */
	bool big_endian;     /* --endian big: bpfdiff's own VMs run in big-endian order */
	bool verbose;
	/* Declared with the backend (`plugin+verifier+platform=ubpf:PATH`, see
	 * session.c): a verifier stands in front of the VM; the platform that
	 * gives helper numbers their meaning (NULL: not declared). For bpfdiff's
	 * own backends the session's `--platform` (NULL: linux). */
	bool verifier;
	const char *platform;
	bool verifier_states; /* the verifier-state oracle is on (the session sets bd_run_opts.verifier_states) */
	bool share;          /* a short-lived process: share loaded VMs across processes (xdp: a pinned VM) */
};

struct bd_backend; /* opaque, one per backend type */

struct bd_backend_ops {
	const char *name;
	/* Its `rejected` comes from a verifier that may refuse any program (the
	 * kernel): allowed by RFC 9669 unless a case says otherwise. False for
	 * bpfdiff's own VMs, whose rejections mean malformed eBPF, and for a
	 * plugin unless it is declared with `+verifier` (the session slot's
	 * `verifier` is what the diff reads). */
	bool verifier;
	/* It takes the environment helpers' values (bpf_ktime_get_ns, ...) from
	 * the case and the run options (bpfdiff's VMs), not from a real
	 * environment (the kernel): only such backends are compared on a
	 * result that depends on them. */
	bool env_values;
	/* 0, or -errno with a reason in why (-EPERM "no CAP_BPF", -ENOSYS ...):
	 * the backend is then `unavailable` and the others still run. */
	int (*open)(struct bd_backend **out, const struct bd_backend_config *cfg, char *why,
		    size_t whylen);
	/* Starts with bd_result_reset(res) (res must be zeroed or hold an earlier
	 * result), then fills it (status ok..error); returns 0, or -errno on an
	 * internal error. */
	int (*run)(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		   struct bd_result *res);
	void (*close)(struct bd_backend *b);
	/* Optional: print facts about the backend for `bpfdiff info` (NULL if none). */
	void (*info)(struct bd_backend *b, FILE *out);
	/* Optional: the identity of what runs the cases (kernel release, arch,
	 * JIT state); bd_env_unknown() when NULL. Called once per session. */
	void (*env)(struct bd_backend *b, struct bd_env *out);
};

extern const struct bd_backend_ops bd_backend_uvm;
extern const struct bd_backend_ops bd_backend_kernel;
extern const struct bd_backend_ops bd_backend_xdp;
extern const struct bd_backend_ops bd_backend_plugin;

#endif
