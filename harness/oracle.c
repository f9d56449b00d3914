/* SPDX-License-Identifier: MIT */
/* The verifier-state oracle (see oracle.h for what it judges and why it is sound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "oracle.h"

static int cmp_edge(const void *a, const void *b)
{
	const struct vlog_edge *x = a, *y = b;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

static bool has_edge(const struct vlog_edge *e, size_t n, uint32_t from, uint32_t to)
{
	struct vlog_edge k = { from, to };
	return n && bsearch(&k, e, n, sizeof(*e), cmp_edge);
}

int bd_oracle_load(struct bd_oracle *o, const char *log, size_t prologue, uint64_t mem_addr, size_t mem_len,
		   const struct ebpf_insn *insns, size_t n_insns, struct bd_oracle_result *out)
{
	char err[160];
	memset(o, 0, sizeof(*o));
	o->insns = insns;
	o->ninsns = n_insns;
	o->prologue = prologue;
	o->mem_addr = mem_addr;
	o->mem_len = mem_len;
	o->out = out;
	out->kernel_agrees = -1;
	if (vlog_parse_case(log, (uint32_t)prologue, &o->v, err, sizeof(err))) {
		snprintf(out->skipped, sizeof(out->skipped), "%s", err);
		return -1;
	}
	if (!o->v.complete) {
		snprintf(out->skipped, sizeof(out->skipped), "the verifier log has no 'processed N insns' line");
		vlog_free(&o->v);
		return -1;
	}
	size_t n = o->v.ninsns;
	o->first = calloc(n + 1, sizeof(*o->first));
	o->count = calloc(n + 1, sizeof(*o->count));
	o->order = malloc((o->v.n + 1) * sizeof(*o->order));
	if (!o->first || !o->count || !o->order) {
		snprintf(out->skipped, sizeof(out->skipped), "out of memory");
		bd_oracle_free(o);
		return -1;
	}
	for (size_t i = 0; i < o->v.n; i++)
		o->count[o->v.pts[i].insn]++;
	for (size_t i = 1; i <= n; i++)
		o->first[i] = o->first[i - 1] + o->count[i - 1];
	uint32_t *fill = calloc(n + 1, sizeof(*fill));
	if (!fill) {
		snprintf(out->skipped, sizeof(out->skipped), "out of memory");
		bd_oracle_free(o);
		return -1;
	}
	for (size_t i = 0; i < o->v.n; i++) {
		uint32_t x = o->v.pts[i].insn;
		o->order[o->first[x] + fill[x]++] = (uint32_t)i;
	}
	free(fill);
	if (o->v.nsteps) /* (NULL when empty: not for qsort) */
		qsort(o->v.steps, o->v.nsteps, sizeof(*o->v.steps), cmp_edge);
	if (o->v.npruned_steps)
		qsort(o->v.pruned_steps, o->v.npruned_steps, sizeof(*o->v.pruned_steps), cmp_edge);
	o->prev = -1;
	out->checked = true;
	return 0;
}

void bd_oracle_free(struct bd_oracle *o)
{
	vlog_free(&o->v);
	free(o->first);
	free(o->count);
	free(o->order);
	o->first = o->count = o->order = NULL;
}

/* Does this claim hold for value x? -1 when it is no checkable claim. */
static int holds(const struct bd_oracle *o, const struct vlog_reg *r, uint64_t x, const uint64_t regs[11])
{
	switch (r->kind) {
	case VLOG_SCALAR:
		return vlog_bounds_contain(&r->b, x);
	case VLOG_MAP_VALUE:
		if (!o->mem_len || strcmp(r->map, BD_ORACLE_MEM_MAP))
			return -1; /* a map of the case's own: the uvm places it elsewhere */
		return vlog_bounds_contain(&r->b, x - o->mem_addr - (uint64_t)(int64_t)r->off);
	case VLOG_STACK:
		if (r->frame >= 0)
			return -1; /* a caller's frame: its r10 is not in this trace step */
		return vlog_bounds_contain(&r->b, x - regs[10] - (uint64_t)(int64_t)r->off);
	default:
		return -1;
	}
}

static void describe(struct bd_oracle *o, uint32_t insn, int reg)
{
	struct bd_oracle_result *out = o->out;
	size_t len = 0;
	out->claim[0] = 0;
	out->nclaims = 0;
	for (uint32_t k = 0; k < o->count[insn]; k++) {
		char one[512];
		vlog_reg_format(&o->v.pts[o->order[o->first[insn] + k]].r[reg], one, sizeof(one));
		if (strstr(out->claim, one))
			continue; /* the same claim from another path */
		out->nclaims++;
		if (len < sizeof(out->claim))
			len += (size_t)snprintf(out->claim + len, sizeof(out->claim) - len, "%s%s", len ? " | " : "",
						one);
	}
}

void bd_oracle_step(void *ctx, unsigned prog, uint32_t pc, int depth, const uint64_t regs[11])
{
	struct bd_oracle *o = ctx;
	struct bd_oracle_result *out = o->out;
	(void)depth;
	if (out->found || out->stopped)
		return;
	if (prog != 0) {
		o->elsewhere = true; /* tail-call targets are logged as programs of their own */
		return;
	}
	size_t insn = o->prologue + pc;
	/* A tail call into program 0 starts it afresh: its entry, as the first step. */
	bool entry = o->prev < 0 || (pc == 0 && (o->elsewhere || o->tail_call));
	o->elsewhere = false;
	o->tail_call = o->insns && pc < o->ninsns && o->insns[pc].opcode == 0x85 && o->insns[pc].src == 0 &&
		       o->insns[pc].imm == 12;
	/* Still on a path the verifier explored? The run's first step is (the
	 * verifier's entry); each later one is when the verifier took the same
	 * step on an explored path and never pruned a path at that step: the
	 * path the run follows is then the one logged (by induction: nothing
	 * it followed was cut). Otherwise the logged states after it belong to
	 * other paths (a prune: the covering state's, whose imprecise registers
	 * say nothing of this run), or to none (a bpf_loop callback run again,
	 * which the verifier models as a return to the call): judging stops. */
	bool same = insn < o->v.ninsns &&
		    (entry ? !o->v.pruned[insn]
				 : has_edge(o->v.steps, o->v.nsteps, (uint32_t)o->prev, (uint32_t)insn) &&
					   !has_edge(o->v.pruned_steps, o->v.npruned_steps, (uint32_t)o->prev,
						     (uint32_t)insn) &&
					   !has_edge(o->v.pruned_steps, o->v.npruned_steps, (uint32_t)o->prev, VLOG_ANY));
	if (!same) {
		out->stopped = true;
		out->stopped_pc = pc;
		return;
	}
	o->prev = (long)insn;
	uint32_t n = o->count[insn];
	if (!n)
		return; /* no state logged here: nothing claimed */
	const uint32_t *pts = &o->order[o->first[insn]];
	for (int r = 0; r < 11; r++) {
		bool inside = false, claimed = true;
		for (uint32_t k = 0; k < n && claimed && !inside; k++) {
			int h = holds(o, &o->v.pts[pts[k]].r[r], regs[r], regs);
			if (h < 0)
				claimed = false;
			inside = h > 0;
		}
		if (!claimed)
			continue;
		out->judged++;
		if (!inside) {
			out->found = true;
			out->pc = pc;
			out->reg = r;
			out->value = regs[r];
			describe(o, (uint32_t)insn, r);
			return;
		}
	}
}
