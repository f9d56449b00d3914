/* SPDX-License-Identifier: MIT */
/*
 * A session: the backends opened for one bpfdiff process, and the function
 * that runs one case on all of them and classifies what they did (diff.c).
 * The CLI, corpus replay, the fuzz targets and the minimizer all go through it.
 */
#ifndef BPFDIFF_SESSION_H
#define BPFDIFF_SESSION_H

#include <stdbool.h>
#include <stdio.h>
#include "backend.h"
#include "case.h"
#include "oracle.h"

#define BD_MAX_BACKENDS 16 /* uvm, kernel, xdp, uvm:be, plugins and 7 guest backends */

enum bd_verdict {
	BD_V_PASS,            /* every backend met the expectations (or agreed, with none) */
	BD_V_FAIL,            /* a backend's result differs from the case's expectation */
	BD_V_DISCREPANCY,     /* backends disagree with each other */
	BD_V_SOUNDNESS,       /* kernel verifier accepted, uvm faulted: a discrepancy too */
	BD_V_NONDETERMINISTIC,/* result depends on addresses / uninitialised stack */
	BD_V_REJECTED,        /* kernel verifier rejected and nothing else went wrong */
	BD_V_SKIPPED,         /* nothing could run it (all unsupported/unavailable) */
	BD_V_KERNEL_WARNING,  /* the kernel logged a WARNING / verifier bug while running it */
	BD_V_UNCONFIRMED,     /* an unreviewed fuzz find whose discrepancy reproduces (not a failure) */
	BD_V_UNCHECKED,       /* met everything checked, but a backend returned no memory for -- mem after */
	BD_V_ERROR,           /* a backend reported an internal error */
	BD_V_UNSOUND,         /* the kernel accepted it, and a concrete register value lies outside every
				 state its verifier logged at that instruction (--verifier-oracle) */
	BD_V_COUNT,
};
const char *bd_verdict_name(enum bd_verdict v); /* "pass", "fail", "discrepancy", "discrepancy (possible verifier soundness bug)", ... */
static inline bool bd_verdict_is_bad(enum bd_verdict v)
{
	return v == BD_V_FAIL || v == BD_V_DISCREPANCY || v == BD_V_SOUNDNESS || v == BD_V_KERNEL_WARNING ||
	       v == BD_V_ERROR || v == BD_V_UNSOUND;
}

struct bd_backend_slot {
	const struct bd_backend_ops *ops;
	struct bd_backend *b;      /* NULL when unavailable */
	char name[320];            /* "uvm", "kernel", "xdp", "plugin:./myvm" (options left out) */
	char why[256];             /* unavailability reason */
	struct bd_env env;         /* what runs its cases (kernel release, arch, JIT); unknown when unavailable */
	bool verifier;             /* its `rejected` is a verifier's refusal (ops->verifier, or `+verifier`) */
	char platform[32];         /* what helper numbers mean on it ("linux"); "" = not declared */
};

struct bd_session {
	struct bd_backend_slot slot[BD_MAX_BACKENDS];
	int n;
	struct bd_backend_config cfg;
	bool require_all;          /* CI=true: an unavailable backend is an error */
	struct bd_backend *probe;  /* private uvm for the nondeterminism re-runs */
	bool has_big_endian;       /* a big-endian backend (guest, uvm:be, --endian big): byteorder.c */
	struct bd_backend *order_probe[2]; /* private uvms, little- and big-endian, that tell
					      whether a case's outcome depends on byte order */
	int nondet_checks;         /* how many re-runs were made (for reports) */
	/* The verifier-state oracle (cfg.verifier_states): a private uvm that
	 * re-runs accepted cases with a trace, and how often it ran / judged. */
	struct bd_backend *oracle_uvm;
	uint64_t oracle_runs, oracle_skipped, oracle_judged, oracle_stopped;
};

/* The declared deviation of the case that applies to a backend in its
 * environment: exact name, then a glob over names, then its kind ("plugin"
 * for "plugin:./vm"); NULL when none applies. */
const struct bd_expect *bd_case_deviation(const struct bd_case *c, const struct bd_backend_slot *slot);

/* How one backend's result stands against the case (diff.c). */
enum bd_judgement {
	BD_J_NONE,      /* the case expects nothing of it: compared with the others only */
	BD_J_MET,       /* met the case's RFC 9669 truth */
	BD_J_PRESENT,   /* did what its declared deviation says: known deviation present */
	BD_J_ABSENT,    /* a deviation is declared for it here, but it gave the RFC result (fixed?) */
	BD_J_REFUSED,   /* refused as RFC 9669 allows (a verifier's rejection, unsupported) */
	BD_J_UNCHECKED, /* ran, but returned no memory to check -- mem after against */
	BD_J_FAILED,    /* missed the truth (and its declaration, if any) */
	BD_J_NOT_RUN,   /* unavailable */
};

struct bd_outcome {
	struct bd_result res[BD_MAX_BACKENDS]; /* index = session slot */
	unsigned char judged[BD_MAX_BACKENDS]; /* enum bd_judgement */
	const struct bd_expect *decl[BD_MAX_BACKENDS]; /* the declared deviation that applied (points into the case) */
	bool deviated[BD_MAX_BACKENDS];        /* the backends a failure or discrepancy is attributed to */
	bool find_gone;            /* an unconfirmed find whose discrepancy no longer reproduces here */
	enum bd_verdict verdict;
	char reason[512];          /* one line: why this verdict */
	char signature[1024];      /* for findings: "ALU32_REG,SDIV64_IMM|uvm/kernel|r0", "kernel-warning|kernel|..." */
	int first_mem_diff;        /* byte offset of the first memory difference, -1 if none */
	int pair[2];               /* the two slots that disagree, -1 if none */
	/* The first map difference between the pair: the map's index (-1 if
	 * none), the element's key, the value byte (-1: the key is missing on
	 * one side), and "key 0 byte 3". */
	int first_map_diff;
	long map_diff_byte;
	uint8_t map_diff_key[512];
	char map_diff[160];
	/* Backends whose results were not judged because the program's result
	 * depends on the environment helpers' values (bpf_ktime_get_ns, ...),
	 * which they take from the real environment, not from the case. */
	bool env_excused[BD_MAX_BACKENDS];
	char env_helper[40];       /* the helper that makes it so, for the report */
	struct bd_oracle_result oracle; /* the verifier-state oracle's judgement (--verifier-oracle) */
};

/* list: "uvm,kernel,xdp,plugin:PATH" or NULL/"all" for every built-in backend.
 * Each entry is KIND[+OPTION...][:ARG]; the options, for a plugin only, are
 * `verifier` and `platform=NAME`. Unknown names or options: -EINVAL with a
 * message. Unavailable backends stay in the session with b == NULL and their
 * reason. */
int bd_session_open(struct bd_session *s, const char *list, const struct bd_backend_config *cfg,
		    char *err, size_t errlen);
void bd_session_close(struct bd_session *s);

/* CI=true: every backend asked for must be available; a skip would hide a
 * broken CI machine. */
bool bd_ci_strict(void);
/* Print "PROG: backend NAME unavailable: WHY" for each; returns how many. */
int bd_session_unavailable(const struct bd_session *s, FILE *out, const char *prog);
/* Byte order (byteorder.c). A backend's order comes from its environment
 * (a big-endian guest, `uvm:be`, --endian big). */
bool bd_slot_big_endian(const struct bd_backend_slot *slot);
/* 1 when the case's outcome differs between a little- and a big-endian uvm
 * (loads, stores, le/be), 0 when it does not. */
int bd_order_dependent(struct bd_session *s, const struct bd_case *c);
/* What the case expects of a backend of that byte order: `-- result
 * big-endian` / `-- mem after big-endian` for a big-endian one; nothing of
 * a result or memory it does not state for that order when dependent. */
const struct bd_case *bd_case_for_order(const struct bd_case *c, bool big_endian, int dependent,
					struct bd_case *view);

/* Run c on every available backend, diff, classify. */
int bd_session_run(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o);
void bd_outcome_reset(struct bd_outcome *o);

/* A signature's key, from its first '|' on ("|uvm/kernel|r0"): what the
 * minimizer keeps and finds are grouped by (diff.c builds signatures). */
const char *bd_signature_key(const char *signature);

/* Did the backend run the program (ok, fault, timeout, crash), and do two results
 * agree on status, R0 and memory? The diff's own comparison, for reports. */
bool bd_status_ran(enum bd_status s);
bool bd_results_agree(const struct bd_result *a, const struct bd_result *b);

/* The human discrepancy report: disassembly, each backend's status and R0,
 * first differing memory byte with a hexdump around it. */
void bd_outcome_report(FILE *out, const struct bd_session *s, const struct bd_case *c,
		       const struct bd_outcome *o);

#endif
