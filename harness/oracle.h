/* SPDX-License-Identifier: MIT */
/*
 * The verifier-state oracle: when the kernel accepts a program, its
 * verifier has claimed a range for every register at every instruction it
 * explored (its level-2 log, vlog.h). The uvm's per-instruction trace gives
 * the concrete values of one run; a value outside every state the verifier
 * logged at that instruction for that register is `verifier unsound`.
 *
 * Sound by construction (no false alarm from what the verifier may
 * legitimately leave out):
 * - a register is judged at an instruction only when every state logged
 *   there claims something checkable of it (a scalar, the case memory's map
 *   value, the frame's own stack); "not initialised", other pointer types
 *   and other frames' stack are no claim;
 * - states are the union over explored paths: a value needs to be inside
 *   one of them;
 * - pruning: a path the verifier pruned at insn X ("X: safe") is covered
 *   by an earlier state at X only in its live, precise registers; the
 *   states logged after X are that earlier path's. So the run is judged up
 *   to the first instruction where any path was pruned and not beyond it
 *   (until then it is on an explored path: nothing is pruned before it);
 * - instructions with no logged state are not judged; a log that did not
 *   fit the buffer (kexec.h: KEXEC_STATES_MAX) is not used at all.
 */
#ifndef BPFDIFF_ORACLE_H
#define BPFDIFF_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vlog.h"
#include "../vm/ebpf.h"

#define BD_ORACLE_MEM_MAP "bpfdiff_mem" /* the map whose value is the case memory (kexec.c) */

struct bd_oracle_result {
	bool checked;         /* a log was read and a run judged */
	bool found;           /* a value outside every claim */
	char skipped[160];    /* why it was not checked (no log, truncated log, ...) */
	uint32_t pc;          /* the case's pc (prog 0) of the finding */
	int reg;
	uint64_t value;
	char claim[768];      /* the claimed state(s) of that register at that pc, " | " between them */
	int nclaims;
	int kernel_agrees;    /* 1: the kernel's run agreed with the uvm's, 0: not, -1: unknown */
	uint64_t judged;      /* (insn, register) values judged */
	bool stopped;         /* judging stopped where the run left the paths the verifier explored
				 (a step into a prune, a step it never took) ... */
	uint32_t stopped_pc;  /* ... before this insn (case pc) */
};

/* What the judge needs besides the log: how the logged program numbers
 * the case's insns, and where the uvm put the case memory. */
struct bd_oracle {
	struct vlog v;
	uint32_t *first;      /* per insn: index into order[] of its first point */
	uint32_t *count;      /* per insn: how many points */
	uint32_t *order;      /* point indexes grouped by insn */
	size_t prologue;
	long prev;            /* the insn the traced run executed last (kernel numbering), -1 none */
	bool elsewhere;       /* the run is in another program (a tail call) */
	bool tail_call;       /* the last insn was a tail call (bpf_tail_call, helper 12) */
	const struct ebpf_insn *insns; /* the case's program 0 (to know its tail calls); NULL: none */
	size_t ninsns;
	uint64_t mem_addr;
	size_t mem_len;
	struct bd_oracle_result *out;
};

/* Read a log: 0, or -1 with the reason in out->skipped. insns/n: the
 * case's program 0, or NULL. */
int bd_oracle_load(struct bd_oracle *o, const char *log, size_t prologue, uint64_t mem_addr, size_t mem_len,
		   const struct ebpf_insn *insns, size_t n, struct bd_oracle_result *out);
/* The uvm's trace hook (uvm_trace_fn): judges one instruction's registers. */
void bd_oracle_step(void *ctx, unsigned prog, uint32_t pc, int depth, const uint64_t regs[11]);
void bd_oracle_free(struct bd_oracle *o);

#endif
