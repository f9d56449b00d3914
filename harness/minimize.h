/* SPDX-License-Identifier: MIT */
/*
 * Minimizer: delta debugging of a discrepancy over a session (the oracle),
 * keeping what the discrepancy is. Used by `bpfdiff minimize` and the fuzz
 * targets, which also use the helpers below to write a find as .data.
 */
#ifndef BPFDIFF_MINIMIZE_H
#define BPFDIFF_MINIMIZE_H

#include <stddef.h>
#include <stdio.h>
#include "case.h"
#include "session.h"

struct bd_minimize_stats {
	int runs;                 /* session runs spent */
	size_t insns_before, insns_after; /* instructions (an lddw is one) */
	size_t mem_before, mem_after;
	enum bd_verdict verdict;  /* of the minimized case */
	char signature[1024];      /* of the minimized case */
};

/*
 * Shrink c in place (insns, mem; asm_text is dropped) while bd_session_run
 * keeps giving a discrepancy with the same key as `signature`: the backend
 * pair and what differs ("|uvm/kernel|r0"); the opcode-set part of a
 * signature shrinks with the program. Steps, repeated while they shrink it:
 * replace instructions by `ja +0` in halving chunks; delete a subprogram
 * together with its calls; delete the nops, then groups of instructions
 * (halves, quarters, ...), then single ones (jump offsets fixed up); merge
 * registers; replace computed values by `mov` of a register or of 0/1; turn
 * `jcc rA, ..., +1; mov rD, K` into `mov rD, rA`; fold `mov rD, K; op rD, L`
 * into one move; fold constants into immediates and shrink immediates toward
 * 0/1; shrink and zero memory.
 * BPFDIFF_MINIMIZE_SKIP=nops,groups,subprograms,merge,constants,branches,fold
 * leaves steps out; BPFDIFF_MIN_SECONDS=S bounds the wall-clock time besides
 * max_runs. The case's expectations must be empty.
 * max_runs bounds the session runs (0 = 20000). Returns 0 (c minimized, st
 * filled), -ENOENT when c does not show that discrepancy to begin with.
 */
int bd_minimize(struct bd_session *s, struct bd_case *c, const char *signature, int max_runs,
		struct bd_minimize_stats *st);

/* Make c a self-describing find: comment (origin, date, verdict, reason, each
 * backend's result), `-- expect` per backend that ran (so the corpus replays
 * green until one of them changes) and `-- signature`. */
int bd_case_annotate_find(struct bd_case *c, const struct bd_session *s, const struct bd_outcome *o,
			  const char *origin);

#endif
