/* SPDX-License-Identifier: MIT */
/*
 * Delta debugging of a discrepancy (DESIGN.md "Fuzzing design"): the session
 * is the oracle, and a candidate is kept when it still gives the same verdict
 * with the same signature key (backend pair + what differs). Replacing by
 * `ja +0` comes before deleting because it keeps every jump offset valid, so
 * the big first cuts cannot be spoiled by a broken jump. Then moves that a
 * verifier needs done together (a call with its callee), deletion of groups
 * before single instructions, and simplifications that let more go: merged
 * registers, computed values replaced by moves and constants.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "asm.h"
#include "backend.h"
#include "cli.h"
#include "minimize.h"
#include "env.h"
#include "outfile.h"
#include "../vm/isa.h"

#define JA0 ((struct ebpf_insn){ .opcode = 0x05 })

struct mz {
	struct bd_session *s;
	struct bd_case *c;
	enum bd_verdict verdict;
	char key[1024];
	char sig[1024];
	int runs, max_runs;
	double deadline; /* CLOCK_MONOTONIC seconds; 0 = none (BPFDIFF_MIN_SECONDS) */
	bool trace;
	unsigned skip; /* SKIP_* steps left out (BPFDIFF_MINIMIZE_SKIP) */
	bool rejected[BD_MAX_BACKENDS]; /* which backends refused the original */
	struct bd_outcome *o;
};

/* Steps that BPFDIFF_MINIMIZE_SKIP=a,b,... leaves out: for the tests, which
 * show what each step adds, and for comparing the minimizer's versions. */
enum {
	SKIP_NOPS = 1, SKIP_GROUPS = 2, SKIP_SUBPROGRAMS = 4, SKIP_MERGE = 8, SKIP_CONSTANTS = 16, SKIP_BRANCHES = 32,
	SKIP_FOLD = 64
};
static unsigned skip_steps(const char *list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} steps[] = { { "nops", SKIP_NOPS }, { "groups", SKIP_GROUPS }, { "subprograms", SKIP_SUBPROGRAMS },
		      { "merge", SKIP_MERGE }, { "constants", SKIP_CONSTANTS }, { "branches", SKIP_BRANCHES },
		      { "fold", SKIP_FOLD } };
	unsigned skip = 0;
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		bool known = false;
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			if (len == strlen(steps[i].name) && !strncmp(p, steps[i].name, len)) {
				skip |= steps[i].bit;
				known = true;
			}
		if (!known && len)
			fprintf(stderr, "minimize: BPFDIFF_MINIMIZE_SKIP: unknown step '%.*s' (nops, groups, subprograms, "
					"merge, constants, branches, fold)\n", (int)len, p);
		p += len + (p[len] == ',');
	}
	return skip;
}

/* Instructions, not slots: an lddw is one instruction in two slots. */
static size_t count_insns(const struct ebpf_insn *x, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++, k++)
		if (ebpf_is_lddw(&x[i]))
			i++;
	return k;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Does (insns, mem) still show the discrepancy? */
static bool test(struct mz *m, struct ebpf_insn *insns, size_t n, uint8_t *mem, size_t mem_len)
{
	if (m->runs >= m->max_runs || (m->deadline && now_seconds() > m->deadline))
		return false;
	struct bd_case *c = m->c;
	struct ebpf_insn *si = c->insns;
	size_t sn = c->ninsns, sml = c->mem_len;
	uint8_t *sm = c->mem;
	c->insns = insns;
	c->ninsns = n;
	c->mem = mem;
	c->mem_len = mem_len;
	m->runs++;
	char key[1024];
	bool ok = bd_session_run(m->s, c, m->o) == 0 && m->o->verdict == m->verdict;
	/* A verifier that ran the original must run the candidate too: a kernel
	 * warning logged while refusing the program is a worse reproducer, and
	 * merges and deletions readily make one (an r0 left unset). */
	for (int i = 0; ok && i < m->s->n && i < BD_MAX_BACKENDS; i++)
		ok = m->o->res[i].status != BD_REJECTED || m->rejected[i];
	if (ok) {
		snprintf(key, sizeof(key), "%s", bd_signature_key(m->o->signature));
		ok = !strcmp(key, m->key);
	}
	if (ok)
		snprintf(m->sig, sizeof(m->sig), "%s", m->o->signature);
	if (m->trace) {
		fprintf(stderr, "minimize: run %d: %zu insns, %zu bytes: %s %s%s\n", m->runs, n, mem_len,
			bd_verdict_name(m->o->verdict), m->o->signature, ok ? " (kept)" : "");
		if (ok)
			bd_outcome_report(stderr, m->s, c, m->o);
	}
	bd_outcome_reset(m->o);
	c->insns = si;
	c->ninsns = sn;
	c->mem = sm;
	c->mem_len = sml;
	return ok;
}

static void mark_units(const struct ebpf_insn *x, size_t n, bool *start)
{
	for (size_t i = 0; i < n; i++) {
		start[i] = true;
		if (ebpf_is_lddw(&x[i]) && i + 1 < n)
			start[++i] = false;
	}
}

/* lddw_code_addr (a callback's address for bpf_loop and the like): its imm
 * is pc-relative, as a local call's. */
static bool is_code_addr(const struct ebpf_insn *x)
{
	return ebpf_is_lddw(x) && x->src == 4;
}

/* out = in without slots [at, at+k), jumps fixed up: targets inside the
 * removed range go to what follows it. Returns the new length, or 0. */
static size_t delete_slots(const struct ebpf_insn *in, size_t n, size_t at, size_t k, struct ebpf_insn *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i >= at && i < at + k)
			continue;
		struct ebpf_insn x = in[i];
		int jf = ebpf_branch_field(&x);
		if (is_code_addr(&x))
			jf = EBPF_BRANCH_IMM; /* a function's address, pc-relative as a call's target */
		if (jf) {
			long long v = jf == EBPF_BRANCH_OFF ? x.off : x.imm;
			long long t = (long long)i + 1 + v;
			long long ni = (long long)o;
			long long nt = t < (long long)at ? t : t >= (long long)(at + k) ? t - (long long)k : (long long)at;
			long long nv = nt - ni - 1;
			if (jf == EBPF_BRANCH_OFF) {
				if (nv < -32768 || nv > 32767)
					return 0;
				x.off = (ebpf_s16)nv;
			} else {
				x.imm = (ebpf_s32)nv;
			}
		}
		out[o++] = x;
	}
	return o;
}

static bool is_nop(const struct ebpf_insn *x)
{
	return x->opcode == 0x05 && !x->dst && !x->src && !x->off && !x->imm;
}

/* Phase 1: `ja +0` over halving chunks of units (the final exit stays). */
static void nop_out(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	size_t cnt = *n;
	bool *start = calloc(cnt + 1, 1);
	size_t *units = calloc(cnt + 1, sizeof(*units));
	struct ebpf_insn *cand = malloc((cnt + 1) * sizeof(*cand));
	if (!start || !units || !cand)
		goto out;
	mark_units(*cur, cnt, start);
	size_t nu = 0;
	for (size_t i = 0; i < cnt; i++)
		if (start[i] && !(i + 1 == cnt && (*cur)[i].opcode == 0x95))
			units[nu++] = i;
	for (size_t chunk = nu / 2 ? nu / 2 : 1; chunk >= 1; chunk /= 2) {
		for (size_t u0 = 0; u0 < nu; u0 += chunk) {
			memcpy(cand, *cur, cnt * sizeof(*cand));
			bool changed = false;
			for (size_t u = u0; u < u0 + chunk && u < nu; u++) {
				size_t i = units[u], k = ebpf_is_lddw(&cand[i]) && i + 1 < cnt ? 2 : 1;
				for (size_t j = 0; j < k; j++) {
					if (!is_nop(&cand[i + j]))
						changed = true;
					cand[i + j] = JA0;
				}
			}
			if (changed && test(m, cand, cnt, mem, mem_len))
				memcpy(*cur, cand, cnt * sizeof(*cand));
		}
		if (chunk == 1)
			break;
	}
out:
	free(start);
	free(units);
	free(cand);
}

/* Delete the slots of units [u0, u1) (an lddw is one unit of two slots). */
static size_t delete_unit_range(const struct ebpf_insn *in, size_t n, size_t u0, size_t u1, struct ebpf_insn *out)
{
	size_t u = 0, at = n, end = n;
	for (size_t i = 0; i < n; i++, u++) {
		if (u == u0)
			at = i;
		if (u == u1) {
			end = i;
			break;
		}
		if (ebpf_is_lddw(&in[i]) && i + 1 < n)
			i++;
	}
	if (at >= end)
		return 0;
	return delete_slots(in, n, at, end - at, out);
}

/* Groups of units, halves first, then quarters, ... down to pairs (as delta
 * debugging does), before one at a time: a program of N instructions whose
 * discrepancy needs few of them loses most in O(log N) runs, and pieces that
 * only go together (a computation and its only use, a subprogram's body and
 * its exit) go in one cut. */
static void delete_groups(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	struct ebpf_insn *b = malloc((*n + 1) * sizeof(*b));
	if (!b)
		return;
	for (size_t chunk = count_insns(*cur, *n) / 2; chunk >= 2; chunk /= 2) {
		for (size_t from = 0; from < count_insns(*cur, *n);) {
			size_t nb = delete_unit_range(*cur, *n, from, from + chunk, b);
			if (nb && test(m, b, nb, mem, mem_len)) {
				memcpy(*cur, b, nb * sizeof(*b));
				*n = nb; /* what followed moved down to `from`: try there again */
			} else {
				from += chunk;
			}
		}
	}
	free(b);
}

/* Phase 2: delete nops (all at once, else one by one), then any unit. */
static void delete_units(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	struct ebpf_insn *a = malloc((*n + 1) * sizeof(*a)), *b = malloc((*n + 1) * sizeof(*b));
	if (!a || !b)
		goto out;
	/* All nops in one go. */
	size_t na = *n;
	memcpy(a, *cur, na * sizeof(*a));
	for (size_t i = na; i-- > 0;)
		if (is_nop(&a[i])) {
			size_t nb = delete_slots(a, na, i, 1, b);
			if (!nb)
				goto one_by_one;
			memcpy(a, b, nb * sizeof(*a));
			na = nb;
		}
	if (na < *n && na && test(m, a, na, mem, mem_len)) {
		memcpy(*cur, a, na * sizeof(*a));
		*n = na;
		goto one_by_one;
	}
	/* Not all at once (a `ja +0` is a jump target, so a verifier pruning
	 * point, and a JIT bug may need some): halves, quarters, ... of the nops,
	 * as delta debugging does, so hundreds of them cost tens of runs. */
	for (size_t chunk = *n / 2; chunk >= 2; chunk /= 2) {
		for (size_t from = 0; from < *n;) {
			size_t nops = 0;
			na = *n;
			memcpy(a, *cur, na * sizeof(*a));
			/* Delete the nops among slots [from, from + chunk), last first. */
			size_t end = from + chunk < *n ? from + chunk : *n;
			for (size_t i = end; i-- > from;)
				if (is_nop(&a[i])) {
					size_t nb = delete_slots(a, na, i, 1, b);
					if (!nb)
						break;
					memcpy(a, b, nb * sizeof(*a));
					na = nb;
					nops++;
				}
			if (nops && na && test(m, a, na, mem, mem_len)) {
				memcpy(*cur, a, na * sizeof(*a));
				*n = na; /* the slots after `from` moved down: look at from again */
			} else {
				from += chunk;
			}
		}
	}
one_by_one:
	if (!(m->skip & SKIP_GROUPS))
		delete_groups(m, cur, n, mem, mem_len);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = *n; i-- > 0;) {
			if (i >= *n)
				continue;
			bool *start = calloc(*n + 1, 1);
			if (!start)
				goto out;
			mark_units(*cur, *n, start);
			bool unit = start[i];
			free(start);
			if (!unit || (pass == 0 && !is_nop(&(*cur)[i])))
				continue;
			size_t k = ebpf_is_lddw(&(*cur)[i]) && i + 1 < *n ? 2 : 1;
			size_t nb = delete_slots(*cur, *n, i, k, b);
			if (nb && test(m, b, nb, mem, mem_len)) {
				memcpy(*cur, b, nb * sizeof(*b));
				*n = nb;
			}
		}
	}
out:
	free(a);
	free(b);
}

static bool has_imm_operand(const struct ebpf_insn *x)
{
	int f = ebpf_decode(x);
	if (f < 0)
		return false;
	int fmt = ebpf_forms[f].fmt;
	return fmt == EBPF_FMT_ALU_K || fmt == EBPF_FMT_ST || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_LDDW;
}

/* Shrink one 32-bit field toward 0 (0, 1, -1, then bisection). */
static bool shrink_s32(struct mz *m, struct ebpf_insn *cur, size_t n, size_t idx, uint8_t *mem, size_t mem_len)
{
	ebpf_s32 orig = cur[idx].imm;
	if (orig == 0)
		return false;
	static const ebpf_s32 first[] = { 0, 1, -1 };
	for (size_t i = 0; i < 3; i++) {
		if (first[i] == orig) {
			cur[idx].imm = orig;
			return false;
		}
		cur[idx].imm = first[i];
		if (test(m, cur, n, mem, mem_len))
			return true;
	}
	/* Bisect between 0 (fails) and orig (works) on the magnitude. */
	long long lo = 0, hi = orig;
	while ((hi > lo ? hi - lo : lo - hi) > 1) {
		long long mid = lo + (hi - lo) / 2;
		cur[idx].imm = (ebpf_s32)mid;
		if (test(m, cur, n, mem, mem_len))
			hi = mid;
		else
			lo = mid;
	}
	cur[idx].imm = (ebpf_s32)hi;
	return hi != orig;
}

/* Candidate b (nb slots) becomes the current program when the discrepancy
 * survives it. */
static bool keep_if_same(struct mz *m, struct ebpf_insn *b, size_t nb, struct ebpf_insn *cur, size_t *n,
			 uint8_t *mem, size_t mem_len)
{
	if (!test(m, b, nb, mem, mem_len))
		return false;
	memcpy(cur, b, nb * sizeof(*b));
	*n = nb;
	return true;
}

/* `op %rD, %rS` -> `op %rD, imm` where an earlier `mov %rS, imm` gives the
 * value: the mov then usually goes in the next deletion pass. */
static bool to_immediates(struct mz *m, struct ebpf_insn *cur, size_t n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((n + 1) * sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < n; i++) {
		int f = ebpf_decode(&cur[i]);
		if (f < 0 || (ebpf_forms[f].fmt != EBPF_FMT_ALU_X && ebpf_forms[f].fmt != EBPF_FMT_JCOND_X))
			continue;
		for (size_t j = i; j-- > 0;) {
			int g = ebpf_decode(&cur[j]);
			if (g < 0 || cur[j].dst != cur[i].src)
				continue;
			if (g != FORM_MOV64_IMM && g != FORM_MOV32_IMM)
				break; /* the source is computed: no constant to fold */
			memcpy(b, cur, n * sizeof(*b));
			b[i].opcode &= (ebpf_u8)~EBPF_SRC_X;
			b[i].src = 0;
			b[i].imm = cur[j].imm;
			if (ebpf_decode(&b[i]) >= 0 && test(m, b, n, mem, mem_len)) {
				cur[i] = b[i];
				changed = true;
			}
			break;
		}
		if (ebpf_is_lddw(&cur[i]))
			i++;
	}
	free(b);
	return changed;
}

static bool is_local_call(const struct ebpf_insn *x)
{
	return x->opcode == 0x85 && x->src == EBPF_CALL_LOCAL;
}

/* A subprogram with its calls: deleting a call alone leaves its callee
 * unreachable, and deleting the callee's exit alone leaves its last
 * instruction falling off its end; the verifier refuses both, so neither
 * single deletion can remove a call that the discrepancy does not need.
 * This deletes every call to one subprogram (and every lddw_code_addr of it,
 * a callback) together with its whole body (from its first instruction to
 * where the next subprogram begins). */
static bool delete_subprograms(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *a = malloc((*n + 1) * sizeof(*a)), *b = malloc((*n + 1) * sizeof(*b));
	bool *start = calloc(*n + 1, 1), *drop = calloc(*n + 1, 1);
	if (!a || !b || !start || !drop)
		goto out;
	for (size_t entry = *n; entry-- > 1;) { /* the last subprogram first: it moves nothing else */
		if (entry >= *n)
			continue;
		memset(start, 0, *n + 1);
		for (size_t i = 0; i < *n; i++) {
			long long t = (long long)i + 1 + (*cur)[i].imm;
			if ((is_local_call(&(*cur)[i]) || is_code_addr(&(*cur)[i])) && t > 0 && t < (long long)*n)
				start[t] = true;
			if (ebpf_is_lddw(&(*cur)[i]))
				i++;
		}
		if (!start[entry])
			continue;
		size_t end = entry + 1;
		while (end < *n && !start[end])
			end++;
		memset(drop, 0, *n + 1);
		for (size_t i = entry; i < end; i++)
			drop[i] = true;
		for (size_t i = 0; i < *n; i++) {
			bool ref = (is_local_call(&(*cur)[i]) || is_code_addr(&(*cur)[i])) &&
				   (long long)i + 1 + (*cur)[i].imm == (long long)entry;
			if (ref) /* a call, or a callback's address (both lddw slots) */
				drop[i] = true;
			if (ref && is_code_addr(&(*cur)[i]) && i + 1 < *n)
				drop[i + 1] = true;
			if (ebpf_is_lddw(&(*cur)[i]))
				i++;
		}
		/* Delete the marked runs, the last first, so earlier indices hold. */
		size_t na = *n;
		memcpy(a, *cur, na * sizeof(*a));
		bool ok = true;
		for (size_t i = *n; i-- > 0 && ok;) {
			if (!drop[i])
				continue;
			size_t k = 1;
			while (i > 0 && drop[i - 1]) {
				i--;
				k++;
			}
			size_t nb = delete_slots(a, na, i, k, b);
			ok = nb > 0;
			memcpy(a, b, nb * sizeof(*a));
			na = nb;
		}
		if (ok && test(m, a, na, mem, mem_len)) {
			memcpy(*cur, a, na * sizeof(*a));
			*n = na;
			changed = true;
		}
	}
out:
	free(a);
	free(b);
	free(start);
	free(drop);
	return changed;
}

/* Which of an instruction's dst and src fields name registers. */
static void reg_fields(const struct ebpf_insn *x, bool *dst, bool *src)
{
	*dst = *src = false;
	int f = ebpf_decode(x);
	if (f < 0)
		return;
	switch (ebpf_forms[f].fmt) {
	case EBPF_FMT_ALU_X: case EBPF_FMT_LDX: case EBPF_FMT_STX: case EBPF_FMT_ATOMIC:
	case EBPF_FMT_LOAD_ACQ: case EBPF_FMT_STORE_REL: case EBPF_FMT_JCOND_X:
		*src = true;
		/* fall through */
	case EBPF_FMT_ALU_K: case EBPF_FMT_NEG: case EBPF_FMT_END: case EBPF_FMT_LDDW: case EBPF_FMT_ST:
	case EBPF_FMT_JCOND_K:
		*dst = true;
		break;
	default:
		break;
	}
}

/* Merge registers: rename register `from` to `to` everywhere it is an
 * operand. The discrepancy rarely needs as many registers as a fuzzer
 * spreads it over; once two merge, the move between them is `mov rX, rX`
 * or an operation of a register with itself, and goes in the next deletion
 * pass. r10 (the frame pointer, never written) is left alone. */
static bool merge_registers(struct mz *m, struct ebpf_insn *cur, size_t n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((n + 1) * sizeof(*b));
	if (!b)
		return false;
	bool used[16] = { false }; /* dst and src are 4-bit fields */
	for (size_t i = 0; i < n; i++) {
		bool d, sr;
		reg_fields(&cur[i], &d, &sr);
		used[cur[i].dst] |= d;
		used[cur[i].src] |= sr;
		if (ebpf_is_lddw(&cur[i]))
			i++;
	}
	for (int from = EBPF_NREGS - 2; from >= 0; from--) {
		for (int to = 0; to < EBPF_NREGS - 1 && used[from]; to++) {
			if (to == from || !used[to])
				continue;
			memcpy(b, cur, n * sizeof(*b));
			for (size_t i = 0; i < n; i++) {
				bool d, sr;
				reg_fields(&cur[i], &d, &sr);
				if (d && b[i].dst == from)
					b[i].dst = (ebpf_u8)to;
				if (sr && b[i].src == from)
					b[i].src = (ebpf_u8)to;
				if (ebpf_is_lddw(&cur[i]))
					i++;
			}
			if (test(m, b, n, mem, mem_len)) {
				used[from] = false;
				memcpy(cur, b, n * sizeof(*b));
				changed = true;
				break;
			}
		}
	}
	free(b);
	return changed;
}

/* Replace a computed value by a simpler one: an instruction that writes rD
 * (ALU, load, move, lddw) becomes `mov rD, rS` (for `op rD, rS`), `mov rD,
 * 0`, `mov rD, 1`, `mov rD, -1` or `mov32 rD, -1` when the
 * discrepancy does not depend on how the value came about. What computed
 * its inputs then goes in the next deletion pass (a stored-and-reloaded
 * value, a call made only for its result). */
static bool to_constants(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((*n + 1) * sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < *n; i++) {
		struct ebpf_insn x = (*cur)[i];
		int f = ebpf_decode(&x);
		if (f < 0 || f == FORM_MOV64_IMM || f == FORM_MOV32_IMM)
			continue;
		int fmt = ebpf_forms[f].fmt;
		bool lddw = fmt == EBPF_FMT_LDDW && i + 1 < *n;
		if (fmt != EBPF_FMT_ALU_K && fmt != EBPF_FMT_ALU_X && fmt != EBPF_FMT_NEG && fmt != EBPF_FMT_END &&
		    fmt != EBPF_FMT_LDX && fmt != EBPF_FMT_LOAD_ACQ && !lddw) {
			continue;
		}
		/* `op rD, rS` -> `mov rD, rS` first (it keeps rS's part), then the
		 * constants: 0, 1 and the all-ones values of 64 and of 32 bits (the
		 * edges where ALU32, jmp32 and sign bugs show). */
		static const struct ebpf_insn consts[] = {
			{ .opcode = 0xb7, .imm = 0 }, { .opcode = 0xb7, .imm = 1 },
			{ .opcode = 0xb7, .imm = -1 }, { .opcode = 0xb4, .imm = -1 },
		};
		bool as_mov = fmt == EBPF_FMT_ALU_X && f != FORM_MOV64_REG;
		for (int k = as_mov ? -1 : 0; k < (int)(sizeof(consts) / sizeof(consts[0])); k++) {
			size_t nb = *n;
			if (lddw) {
				nb = delete_slots(*cur, *n, i + 1, 1, b);
				if (!nb)
					break;
			} else {
				memcpy(b, *cur, *n * sizeof(*b));
			}
			if (k < 0) {
				b[i] = (struct ebpf_insn){ .opcode = 0xbf, .dst = x.dst, .src = x.src };
			} else {
				b[i] = consts[k];
				b[i].dst = x.dst;
			}
			if (keep_if_same(m, b, nb, *cur, n, mem, mem_len)) {
				changed = true;
				break;
			}
		}
		if (ebpf_is_lddw(&(*cur)[i]))
			i++;
	}
	free(b);
	return changed;
}

/* A branch turned into data flow: `jcc rA, B, +1; mov rD, K` (the jump
 * skips one write of rD) becomes `mov rD, rA` (or `mov rD, rB`). When the
 * discrepancy is in how the jump decides on rA, it now shows in rD's value
 * directly, and what the branch needed (a constant to compare with, the
 * value that rD kept on the other path) can go. */
static bool branches_to_data(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((*n + 1) * sizeof(*b));
	if (!b)
		return false;
	for (size_t j = 0; j + 1 < *n; j++) {
		struct ebpf_insn jc = (*cur)[j], w = (*cur)[j + 1];
		int f = ebpf_decode(&jc), g = ebpf_decode(&w);
		if (f < 0 || g < 0 || jc.off != 1)
			continue;
		int fmt = ebpf_forms[f].fmt, wfmt = ebpf_forms[g].fmt;
		if ((fmt != EBPF_FMT_JCOND_K && fmt != EBPF_FMT_JCOND_X) ||
		    (wfmt != EBPF_FMT_ALU_K && wfmt != EBPF_FMT_ALU_X && wfmt != EBPF_FMT_LDX))
			continue;
		int srcs[2] = { jc.dst, fmt == EBPF_FMT_JCOND_X ? jc.src : -1 };
		for (int k = 0; k < 2; k++) {
			if (srcs[k] < 0 || srcs[k] == w.dst)
				continue;
			size_t nb = delete_slots(*cur, *n, j, 1, b);
			if (!nb)
				break;
			b[j] = (struct ebpf_insn){ .opcode = 0xbf, .dst = w.dst, .src = (ebpf_u8)srcs[k] };
			if (keep_if_same(m, b, nb, *cur, n, mem, mem_len)) {
				changed = true;
				break;
			}
		}
	}
	free(b);
	return changed;
}

/* The value rD has after `x; y` (x a move of an immediate into rD, y an
 * operation on rD with an immediate), as the session's own clean uvm (its
 * nondeterminism probe) computes it: no second copy of the semantics here. */
static bool eval_pair(struct mz *m, struct ebpf_insn x, struct ebpf_insn y, uint64_t *v)
{
	if (!m->s->probe)
		return false;
	struct ebpf_insn prog[4] = { x, y, { .opcode = 0xbf, .dst = 0, .src = x.dst }, { .opcode = 0x95 } };
	struct bd_case c;
	memset(&c, 0, sizeof(c));
	c.path = (char *)"minimize: constant folding";
	c.insns = prog;
	c.ninsns = 4;
	struct bd_run_opts o;
	bd_run_opts_default(&o);
	o.cpu = m->s->cfg.cpu;
	struct bd_result r;
	memset(&r, 0, sizeof(r));
	bool ok = bd_backend_uvm.run(m->s->probe, &c, &o, &r) == 0 && r.status == BD_OK;
	*v = r.r0;
	bd_result_reset(&r);
	return ok;
}

/* Constant folding: `mov rD, K; op rD, L` becomes one move of the value
 * (mov, mov32 or lddw, whichever holds it), so a value a fuzzer built in
 * two steps (-1 masked to 2) is a constant that immediate shrinking can
 * work on, and the pair is one instruction. */
static bool fold_constants(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((*n + 1) * sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 1; i < *n; i++) {
		struct ebpf_insn x = (*cur)[i - 1], y = (*cur)[i];
		int f = ebpf_decode(&x), g = ebpf_decode(&y);
		if ((f != FORM_MOV64_IMM && f != FORM_MOV32_IMM) || g < 0 || y.dst != x.dst ||
		    (i >= 2 && ebpf_is_lddw(&(*cur)[i - 2])))
			continue;
		int fmt = ebpf_forms[g].fmt;
		if (fmt != EBPF_FMT_ALU_K && fmt != EBPF_FMT_NEG && fmt != EBPF_FMT_END)
			continue;
		uint64_t v;
		if (!eval_pair(m, x, y, &v))
			continue;
		size_t nb = *n;
		if (v == (uint64_t)(int64_t)(ebpf_s32)v || v >> 32 == 0) { /* one slot: mov or mov32 */
			nb = delete_slots(*cur, *n, i, 1, b);
			if (!nb)
				continue;
			b[i - 1] = (struct ebpf_insn){ .opcode = v >> 32 == 0 && (ebpf_s32)v < 0 ? 0xb4 : 0xb7,
						      .dst = x.dst, .imm = (ebpf_s32)v };
		} else { /* two slots: an lddw in their place */
			memcpy(b, *cur, *n * sizeof(*b));
			b[i - 1] = (struct ebpf_insn){ .opcode = 0x18, .dst = x.dst, .imm = (ebpf_s32)v };
			b[i] = (struct ebpf_insn){ .imm = (ebpf_s32)(v >> 32) };
		}
		if (keep_if_same(m, b, nb, *cur, n, mem, mem_len)) {
			changed = true;
		}
	}
	free(b);
	return changed;
}

static bool shrink_imms(struct mz *m, struct ebpf_insn **cur, size_t *n, uint8_t *mem, size_t mem_len)
{
	bool changed = false;
	struct ebpf_insn *b = malloc((*n + 1) * sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < *n; i++) {
		struct ebpf_insn *x = &(*cur)[i];
		if (!has_imm_operand(x))
			continue;
		if (ebpf_is_lddw(x) && i + 1 < *n) {
			/* lddw whose value fits a sign-extended imm32 -> mov. */
			ebpf_s32 lo = x->imm, hi = (*cur)[i + 1].imm;
			if (hi == (lo < 0 ? -1 : 0)) {
				size_t nb = delete_slots(*cur, *n, i + 1, 1, b);
				if (nb) {
					b[i].opcode = 0xb7;
					b[i].src = 0;
					if (keep_if_same(m, b, nb, *cur, n, mem, mem_len)) {
						changed = true;
						i--; /* look at the mov again */
						continue;
					}
				}
			}
			changed |= shrink_s32(m, *cur, *n, i + 1, mem, mem_len);
			changed |= shrink_s32(m, *cur, *n, i, mem, mem_len);
			i++;
			continue;
		}
		changed |= shrink_s32(m, *cur, *n, i, mem, mem_len);
	}
	free(b);
	return changed;
}

static bool shrink_mem(struct mz *m, struct ebpf_insn *cur, size_t n, uint8_t *mem, size_t *mem_len)
{
	bool changed = false;
	if (!*mem_len)
		return false;
	if (test(m, cur, n, mem, 0)) {
		*mem_len = 0;
		return true;
	}
	for (size_t step = *mem_len / 2; step >= 1;) {
		if (step <= *mem_len && test(m, cur, n, mem, *mem_len - step)) {
			*mem_len -= step;
			changed = true;
		} else {
			step /= 2;
		}
	}
	uint8_t *save = malloc(*mem_len ? *mem_len : 1);
	if (!save)
		return changed;
	size_t min_chunk = *mem_len > 64 ? 8 : 1;
	for (size_t chunk = *mem_len / 2 ? *mem_len / 2 : 1; chunk >= min_chunk; chunk /= 2) {
		for (size_t at = 0; at < *mem_len; at += chunk) {
			size_t k = at + chunk <= *mem_len ? chunk : *mem_len - at;
			bool zero = true;
			for (size_t i = 0; i < k; i++)
				zero &= !mem[at + i];
			if (zero)
				continue;
			memcpy(save, mem + at, k);
			memset(mem + at, 0, k);
			if (test(m, cur, n, mem, *mem_len))
				changed = true;
			else
				memcpy(mem + at, save, k);
		}
		if (chunk == 1)
			break;
	}
	free(save);
	return changed;
}

int bd_minimize(struct bd_session *s, struct bd_case *c, const char *signature, int max_runs,
		struct bd_minimize_stats *st)
{
	struct mz m = { .s = s, .c = c, .max_runs = max_runs > 0 ? max_runs : 20000 };
	struct bd_minimize_stats dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	st->insns_before = count_insns(c->insns, c->ninsns);
	st->mem_before = c->mem_len;
	m.o = calloc(1, sizeof(*m.o));
	if (!m.o)
		return -ENOMEM;
	const char *tr = getenv("BPFDIFF_MINIMIZE_TRACE");
	m.trace = tr && *tr == '1';
	m.skip = skip_steps(getenv("BPFDIFF_MINIMIZE_SKIP"));
	/* A wall-clock bound besides max_runs: a candidate that loops (a program
	 * whose loop a bug never ends) runs the uvm's whole instruction budget. */
	const char *secs = getenv("BPFDIFF_MIN_SECONDS");
	if (secs && *secs) {
		char *end;
		double limit = strtod(secs, &end);
		if (*end || !(limit > 0))
			fprintf(stderr, "minimize: BPFDIFF_MIN_SECONDS='%s' is no positive number of seconds: "
					"no time limit\n", secs);
		else
			m.deadline = now_seconds() + limit;
	}
	bd_outcome_reset(m.o);
	/* The reference run: what are we keeping? */
	m.runs++;
	bd_session_run(s, c, m.o);
	m.verdict = m.o->verdict;
	for (int i = 0; i < s->n && i < BD_MAX_BACKENDS; i++)
		m.rejected[i] = m.o->res[i].status == BD_REJECTED;
	bool bad = m.verdict == BD_V_DISCREPANCY || m.verdict == BD_V_SOUNDNESS ||
		   m.verdict == BD_V_KERNEL_WARNING || m.verdict == BD_V_UNSOUND;
	if (!bad || (signature && strchr(signature, '|') &&
		     strcmp(bd_signature_key(signature), bd_signature_key(m.o->signature)))) {
		st->runs = m.runs;
		st->verdict = m.verdict;
		snprintf(st->signature, sizeof(st->signature), "%s", m.o->signature);
		bd_outcome_reset(m.o);
		free(m.o);
		return -ENOENT;
	}
	snprintf(m.key, sizeof(m.key), "%s", bd_signature_key(m.o->signature));
	snprintf(m.sig, sizeof(m.sig), "%s", m.o->signature);
	bd_outcome_reset(m.o);

	size_t n = c->ninsns, mem_len = c->mem_len;
	struct ebpf_insn *cur = malloc((n + 1) * sizeof(*cur));
	uint8_t *mem = malloc(mem_len + 1);
	if (!cur || !mem) {
		free(cur);
		free(mem);
		free(m.o);
		return -ENOMEM;
	}
	memcpy(cur, c->insns, n * sizeof(*cur));
	if (mem_len)
		memcpy(mem, c->mem, mem_len);

	for (int round = 0; round < 4; round++) {
		size_t n0 = n;
		if (!(m.skip & SKIP_NOPS))
			nop_out(&m, &cur, &n, mem, mem_len);
		bool changed = !(m.skip & SKIP_SUBPROGRAMS) && delete_subprograms(&m, &cur, &n, mem, mem_len);
		delete_units(&m, &cur, &n, mem, mem_len);
		if (!(m.skip & SKIP_MERGE))
			changed |= merge_registers(&m, cur, n, mem, mem_len);
		if (!(m.skip & SKIP_CONSTANTS))
			changed |= to_constants(&m, &cur, &n, mem, mem_len);
		if (!(m.skip & SKIP_BRANCHES))
			changed |= branches_to_data(&m, &cur, &n, mem, mem_len);
		if (!(m.skip & SKIP_FOLD))
			changed |= fold_constants(&m, &cur, &n, mem, mem_len);
		changed |= to_immediates(&m, cur, n, mem, mem_len);
		changed |= shrink_imms(&m, &cur, &n, mem, mem_len);
		changed |= shrink_mem(&m, cur, n, mem, &mem_len);
		if (!changed && n == n0)
			break;
	}

	free(c->insns);
	c->insns = cur;
	c->ninsns = n;
	free(c->mem);
	c->mem = mem;
	c->mem_len = mem_len;
	free(c->asm_text);
	c->asm_text = NULL;
	st->runs = m.runs;
	st->insns_after = count_insns(cur, n);
	st->mem_after = mem_len;
	st->verdict = m.verdict;
	snprintf(st->signature, sizeof(st->signature), "%s", m.sig);
	free(m.o);
	return 0;
}

/* ---- writing a find -------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The scope that names where a backend ran: its kernel release, arch, JIT. */
static void scope_of(const struct bd_env *env, struct bd_scope *sc)
{
	bd_scope_any(sc);
	snprintf(sc->release, sizeof(sc->release), "%s", env->release);
	snprintf(sc->arch, sizeof(sc->arch), "%s", env->arch);
	sc->jit = env->jit;
}

int bd_case_annotate_find(struct bd_case *c, const struct bd_session *s, const struct bd_outcome *o,
			  const char *origin)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "Found by %s on %s. UNCONFIRMED: nobody has reviewed it yet.\n", origin ? origin : "bpfdiff",
		date);
	fprintf(f, "Verdict: %s: %s\n", bd_verdict_name(o->verdict), o->reason);
	fprintf(f, "Environment: bpfdiff %s, libbpf %s\n", bd_version(), bd_libbpf_version());
	for (int i = 0; i < s->n; i++) {
		char env[512];
		bd_env_describe(&s->slot[i].env, env, sizeof(env));
		fprintf(f, "  %-10s %s\n", s->slot[i].name, env);
	}
	if (o->first_mem_diff >= 0)
		fprintf(f, "First differing memory byte: %d\n", o->first_mem_diff);
	fprintf(f, "The -- observed sections record what each backend did; they are not expectations.\n"
		   "Replay reports this find as KNOWN-FIND while it reproduces and says so when it no longer\n"
		   "does. To confirm it: add the RFC 9669 result (-- result / -- mem after / -- error) and\n"
		   "declare the odd backend's behaviour as a scoped deviation (-- expect BACKEND SCOPE) with\n"
		   "its reason and evidence (verifier log, xlated or JIT dump).");
	fclose(f);
	free(c->comment);
	c->comment = text;
	if (!c->description)
		c->description = xstrdup(o->reason);
	for (int i = 0; i < c->nexpect && i < BD_MAX_EXPECT; i++) {
		free(c->expect[i].message);
		free(c->expect[i].warning);
		free(c->expect[i].reason);
	}
	memset(c->expect, 0, sizeof(c->expect));
	c->nexpect = 0;
	for (int i = 0; i < s->n && c->nexpect < BD_MAX_EXPECT; i++) {
		const struct bd_result *r = &o->res[i];
		if (r->status == BD_UNAVAILABLE || r->status == BD_ERROR)
			continue;
		struct bd_expect *e = &c->expect[c->nexpect++];
		snprintf(e->backend, sizeof(e->backend), "%s", s->slot[i].name);
		scope_of(&s->slot[i].env, &e->scope);
		e->observed = true;
		snprintf(e->status, sizeof(e->status), "%s", bd_status_name(r->status));
		if (r->status == BD_OK) {
			e->has_result = true;
			e->result = r->r0;
		}
		if (r->status != BD_OK && r->message[0])
			e->message = xstrdup(r->message);
		if (r->warning[0])
			e->warning = xstrdup(r->warning);
		if (r->has_insns) {
			char why[64];
			snprintf(why, sizeof(why), "insns %llu", (unsigned long long)r->insns);
			e->reason = xstrdup(why);
		}
	}
	free(c->signature);
	c->signature = o->signature[0] ? xstrdup(o->signature) : NULL;
	return 0;
}

/* ---- bpfdiff minimize ------------------------------------------------- */

static void strip_expectations(struct bd_case *c)
{
	for (int i = 0; i < c->nexpect && i < BD_MAX_EXPECT; i++) {
		free(c->expect[i].message);
		free(c->expect[i].warning);
		free(c->expect[i].reason);
	}
	memset(c->expect, 0, sizeof(c->expect));
	c->nexpect = 0;
	c->has_result = false;
	c->has_error = false;
	free(c->error);
	c->error = NULL;
	c->has_mem_after = false;
	free(c->mem_after);
	c->mem_after = NULL;
	c->mem_after_len = 0;
	c->has_result_be = false;
	c->has_mem_after_be = false;
	free(c->mem_after_be);
	c->mem_after_be = NULL;
	c->mem_after_be_len = 0;
}

int bd_cmd_minimize(int argc, char **argv)
{
	static const char usage[] =
		"usage: bpfdiff minimize CASE [-o OUT] [--backend LIST] [--max-runs N] [--signature SIG]\n"
		"  Shrinks the discrepancy CASE shows between backends (its -- expect and -- result\n"
		"  lines are ignored) to the smallest program and memory with the same backend pair\n"
		"  and kind, and writes it as .data to OUT (default: standard output).\n";
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "backend", required_argument, NULL, 'b' },
		{ "max-runs", required_argument, NULL, 'm' }, { "signature", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *backends = getenv("BPFDIFF_BACKENDS"), *sig = NULL;
	int max_runs = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:b:m:s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'b': backends = optarg; break;
		case 'm': {
			uint64_t v;
			char err[256];
			if (bd_parse_count("--max-runs", optarg, 1, 1000000000, &v, err, sizeof(err))) {
				fprintf(stderr, "bpfdiff minimize: %s\n", err);
				return 2;
			}
			max_runs = (int)v;
			break;
		}
		case 's': sig = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *path = argv[optind];
	struct bd_case c;
	char err[512];
	if (bd_case_load_data(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff minimize: %s\n", err);
		return 2;
	}
	strip_expectations(&c);
	struct bd_session s;
	struct bd_backend_config cfg = { .cpu = 4 };
	if (bd_session_open(&s, backends, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff minimize: %s\n", err);
		bd_case_free(&c);
		return 2;
	}
	struct bd_minimize_stats st;
	int rc = bd_minimize(&s, &c, sig, max_runs, &st);
	if (rc == -ENOENT) {
		fprintf(stderr, "bpfdiff minimize: %s: no discrepancy to minimize (verdict %s%s%s)\n", path,
			bd_verdict_name(st.verdict), st.signature[0] ? ", signature " : "", st.signature);
		bd_session_close(&s);
		bd_case_free(&c);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "bpfdiff minimize: %s: %s\n", path, strerror(-rc));
		bd_session_close(&s);
		bd_case_free(&c);
		return 2;
	}
	/* One last run for the record in the file. */
	struct bd_outcome *o = calloc(1, sizeof(*o));
	int ret = 0;
	if (!o) {
		ret = 2;
		goto done;
	}
	bd_outcome_reset(o);
	bd_session_run(&s, &c, o);
	free(c.description);
	c.description = NULL;
	bd_case_annotate_find(&c, &s, o, "bpfdiff minimize");
	char *text = bd_case_format_data(&c);
	if (!text) {
		ret = 2;
	} else if (out) {
		int wrc = bd_write_file_atomic(out, text);
		if (wrc < 0) {
			fprintf(stderr, "bpfdiff minimize: %s: %s\n", out, strerror(-wrc));
			ret = 2;
		}
	} else {
		fputs(text, stdout);
	}
	free(text);
	fprintf(stderr, "%s: %zu -> %zu insns, memory %zu -> %zu bytes, %d runs, signature %s\n", path,
		st.insns_before, st.insns_after, st.mem_before, st.mem_after, st.runs, st.signature);
	bd_outcome_reset(o);
	free(o);
done:
	bd_session_close(&s);
	bd_case_free(&c);
	return ret;
}
