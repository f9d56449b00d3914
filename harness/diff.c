/* SPDX-License-Identifier: MIT */
/*
 * Running one case on every backend of a session and classifying the result
 * (DESIGN.md "Diff rules"): a backend either meets the case's expectations or
 * fails them; backends that ran are compared pairwise on status, R0 and
 * memory; a disagreement that moves when the uvm is re-run at other addresses
 * or with another stack fill is nondeterministic, not a discrepancy.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "asm.h"
#include "session.h"
#include "../vm/isa.h"

const char *bd_verdict_name(enum bd_verdict v)
{
	switch (v) {
	case BD_V_PASS: return "pass";
	case BD_V_FAIL: return "fail";
	case BD_V_DISCREPANCY: return "discrepancy";
	case BD_V_SOUNDNESS: return "discrepancy (possible verifier soundness bug)";
	case BD_V_NONDETERMINISTIC: return "nondeterministic";
	case BD_V_REJECTED: return "rejected";
	case BD_V_SKIPPED: return "skipped";
	case BD_V_KERNEL_WARNING: return "kernel warning";
	case BD_V_ERROR: return "error";
	}
	return "?";
}

void bd_outcome_reset(struct bd_outcome *o)
{
	for (int i = 0; i < BD_MAX_BACKENDS; i++)
		bd_result_reset(&o->res[i]);
	o->verdict = BD_V_PASS;
	o->reason[0] = 0;
	o->signature[0] = 0;
	o->first_mem_diff = -1;
	o->pair[0] = o->pair[1] = -1;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return n == 0;
}

static bool error_matches(const struct bd_case *c, const char *msg)
{
	if (!c->error || !*c->error)
		return true;
	if (!c->error_is_pattern)
		return contains_nocase(msg, c->error);
	regex_t re;
	if (regcomp(&re, c->error, REG_EXTENDED | REG_NOSUB | REG_ICASE))
		return false;
	bool ok = regexec(&re, msg, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Does one backend's result meet what the case expects of it? Returns 1 yes,
 * 0 no (why filled), -1 when the case expects nothing of it. */
static int meets(const struct bd_case *c, const char *name, const struct bd_result *r, char *why,
		 size_t whylen)
{
	const struct bd_expect *e = bd_case_expect(c, name);
	if (e) {
		if (e->status[0] && strcmp(e->status, bd_status_name(r->status))) {
			snprintf(why, whylen, "%s: expected %s, got %s: %s", name, e->status,
				 bd_status_name(r->status), r->message);
			return 0;
		}
		if (e->message && !contains_nocase(r->message, e->message)) {
			snprintf(why, whylen, "%s: expected message containing '%s', got '%s'", name,
				 e->message, r->message);
			return 0;
		}
		if (e->has_result && (r->status != BD_OK || r->r0 != e->result)) {
			snprintf(why, whylen, "%s: expected r0 0x%llx, got %s 0x%llx", name,
				 (unsigned long long)e->result, bd_status_name(r->status),
				 (unsigned long long)r->r0);
			return 0;
		}
		if (e->status[0] || e->has_result)
			return 1;
	}
	if (c->has_error) {
		if (r->status == BD_OK) {
			snprintf(why, whylen, "%s: expected an error%s%s%s, but it ran and returned 0x%llx",
				 name, c->error && *c->error ? " ('" : "", c->error ? c->error : "",
				 c->error && *c->error ? "')" : "", (unsigned long long)r->r0);
			return 0;
		}
		if (!error_matches(c, r->message)) {
			snprintf(why, whylen, "%s: %s '%s' does not match the expected error '%s'", name,
				 bd_status_name(r->status), r->message, c->error);
			return 0;
		}
		return 1;
	}
	if (!c->has_result && !c->has_mem_after)
		return -1;
	if (r->status != BD_OK) {
		snprintf(why, whylen, "%s: %s: %s", name, bd_status_name(r->status), r->message);
		return 0;
	}
	if (c->has_result && r->r0 != c->result) {
		snprintf(why, whylen, "%s: r0 is 0x%llx, expected 0x%llx", name,
			 (unsigned long long)r->r0, (unsigned long long)c->result);
		return 0;
	}
	if (c->has_mem_after && r->mem) {
		size_t n = c->mem_after_len < r->mem_len ? c->mem_after_len : r->mem_len;
		for (size_t i = 0; i < n; i++)
			if (r->mem[i] != c->mem_after[i]) {
				snprintf(why, whylen, "%s: memory byte %zu is 0x%02x, expected 0x%02x", name, i,
					 r->mem[i], c->mem_after[i]);
				return 0;
			}
	}
	return 1;
}

static bool has_verifier(const struct bd_backend_slot *slot)
{
	return slot->ops && slot->ops->verifier;
}

/* A refusal RFC 9669 allows without the case saying so: a verifier may
 * reject any program, and a helper or pseudo-lddw a VM does not model is
 * unsupported. The uvm's and the xdp VM's rejections come from bpfdiff's own
 * validator: malformed eBPF, never allowed silently. */
static bool allowed_refusal(const struct bd_backend_slot *slot, enum bd_status st)
{
	return st == BD_UNSUPPORTED || (st == BD_REJECTED && has_verifier(slot));
}

/* Statuses that take a backend out of the pairwise comparison: it did not
 * run the program (or, for the kernel verifier, refused it, which RFC 9669 allows). */
bool bd_status_ran(enum bd_status s)
{
	return s == BD_OK || s == BD_FAULT || s == BD_TIMEOUT;
}

static int mem_diff(const struct bd_result *a, const struct bd_result *b)
{
	if (!a->mem || !b->mem)
		return -1;
	size_t n = a->mem_len < b->mem_len ? a->mem_len : b->mem_len;
	for (size_t i = 0; i < n; i++)
		if (a->mem[i] != b->mem[i])
			return (int)i;
	return -1;
}

/* 0 agree; otherwise what differs: "status", "r0" or "mem". */
static const char *disagree(const struct bd_result *a, const struct bd_result *b, int *memoff)
{
	*memoff = -1;
	if (a->status != b->status)
		return "status";
	if (a->status != BD_OK)
		return NULL; /* both faulted / timed out: agree */
	if (a->r0 != b->r0)
		return "r0";
	if ((*memoff = mem_diff(a, b)) >= 0)
		return "mem";
	return NULL;
}

bool bd_results_agree(const struct bd_result *a, const struct bd_result *b)
{
	int off;
	return !disagree(a, b, &off);
}

/* Re-run the uvm with other addresses, another stack fill and other initial
 * registers: if its own result moves, the case depends on them. */
static bool depends_on_environment(struct bd_session *s, const struct bd_case *c)
{
	if (!s->probe) {
		char why[256];
		if (bd_backend_uvm.open(&s->probe, &s->cfg, why, sizeof(why)) < 0)
			return false;
	}
	static const struct {
		unsigned long long mem, stack;
		unsigned char fill;
		unsigned long long seed, regs;
	} alt[] = {
		{ 0, 0, 0, 0, 0 }, /* the defaults, as the reference */
		{ 0x00007f3a5c102340ULL, 0x00007ffd9abc7000ULL, 0xa5, 0, 0x5a5a5a5a5a5a5a5aULL },
		{ 0x0000555500ab0010ULL, 0x00007ffe01237ff0ULL, 0x3c, 0, 0xdeadbeefcafef00dULL },
		/* Kernel-like addresses (negative as s64), as the kernel's pointers are,
		 * with all-ones and sign-bit fills for uninitialised stack. */
		{ 0xffff888012345000ULL, 0xffffc90000a3c000ULL, 0xff, 0, 0xffffffffffffffffULL },
		{ 0xffff88810abc0008ULL, 0xffffc9000123a000ULL, 0x80, 0, 0x8000000000000000ULL },
		/* Every stack slot different: two uninitialised slots read and
		 * combined (x - y) cancel out under any uniform fill. */
		{ 0, 0, 0, 0x243f6a8885a308d3ULL, 0 },
	};
	struct bd_result ref = { 0 }, other = { 0 };
	bool moved = false;
	for (size_t i = 0; i < sizeof(alt) / sizeof(alt[0]) && !moved; i++) {
		struct bd_run_opts o;
		bd_run_opts_default(&o);
		o.cpu = s->cfg.cpu;
		if (i) {
			o.mem_addr = alt[i].mem;
			o.stack_top = alt[i].stack;
			o.stack_fill = alt[i].fill;
			o.stack_seed = alt[i].seed;
			o.reg_fill = alt[i].regs;
		}
		struct bd_result *r = i ? &other : &ref;
		bd_result_reset(r);
		if (bd_backend_uvm.run(s->probe, c, &o, r) < 0)
			break;
		if (i)
			moved = !bd_results_agree(&ref, &other);
		s->nondet_checks++;
	}
	bd_result_reset(&ref);
	bd_result_reset(&other);
	return moved;
}

const char *bd_signature_key(const char *signature)
{
	const char *bar = signature ? strchr(signature, '|') : NULL;
	return bar ? bar : signature ? signature : "";
}

/* "FORMS|a/b|what": the forms the program contains, then the key (which
 * backends disagree, and on what). A long forms list is cut, never the key. */
static void make_signature(const struct bd_session *s, const struct bd_case *c, int a, int b,
			   const char *what, char *sig, size_t len)
{
	char key[2 * sizeof(s->slot[0].name) + 32];
	snprintf(key, sizeof(key), "|%s/%s|%s", s->slot[a].name, s->slot[b].name, what);
	size_t klen = strlen(key), room = len > klen + 6 ? len - klen - 6 : 0, n = 0; /* ",..." + NUL */
	unsigned char seen[FORM_COUNT] = { 0 };
	ebpf_forms_used(c->insns, c->ninsns, seen);
	sig[0] = 0;
	for (int f = 0; f < FORM_COUNT; f++) {
		if (!seen[f] || f == FORM_EXIT)
			continue;
		size_t need = strlen(ebpf_forms[f].id) + (n ? 1 : 0);
		if (n + need > room) {
			n += snprintf(sig + n, len - n, ",...");
			break;
		}
		n += snprintf(sig + n, len - n, "%s%s", n ? "," : "", ebpf_forms[f].id);
	}
	snprintf(sig + n, len - n, "%s", key);
}

int bd_session_run(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	bd_outcome_reset(o);
	struct bd_run_opts ro;
	bd_run_opts_default(&ro);
	ro.cpu = c->cpu ? c->cpu : s->cfg.cpu;
	for (int i = 0; i < s->n; i++) {
		struct bd_result *r = &o->res[i];
		if (!s->slot[i].b) {
			r->status = BD_UNAVAILABLE;
			snprintf(r->message, sizeof(r->message), "%s", s->slot[i].why);
			continue;
		}
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = s->slot[i].ops->run(s->slot[i].b, c, &ro, r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc < 0) {
			r->status = BD_ERROR;
			snprintf(r->message, sizeof(r->message), "internal error: %s", strerror(-rc));
		}
		if (!r->duration_ns)
			r->duration_ns = (unsigned long long)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
					 (unsigned long long)(t1.tv_nsec - t0.tv_nsec);
	}

	/* 0. A kernel WARNING or "verifier bug" while loading or running this case
	 * outranks everything: it is a kernel bug whatever the results say. */
	for (int i = 0; i < s->n; i++)
		if (o->res[i].warning[0]) {
			o->verdict = BD_V_KERNEL_WARNING;
			snprintf(o->reason, sizeof(o->reason), "%s: kernel logged: %s", s->slot[i].name,
				 o->res[i].warning);
			/* Signature: the warning's headline, up to its second ':' (no values). */
			const char *w = o->res[i].warning, *c1 = strchr(w, ':');
			const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			int len = c2 ? (int)(c2 - w) : (int)strlen(w);
			snprintf(o->signature, sizeof(o->signature), "kernel-warning|%s|%.*s", s->slot[i].name,
				 len > 120 ? 120 : len, w);
			return 0;
		}

	/* 1. Each backend against the case's expectations. */
	bool failed = false, error = false, rejected = false, ran = false;
	char why[512];
	for (int i = 0; i < s->n; i++) {
		struct bd_result *r = &o->res[i];
		if (r->status == BD_UNAVAILABLE)
			continue;
		if (r->status == BD_ERROR && !bd_case_expect(c, s->slot[i].name))
			error = true;
		int m = meets(c, s->slot[i].name, r, why, sizeof(why));
		if (m == 0) {
			/* Refusal by the kernel verifier or an unmodelled form is allowed
			 * unless the case says otherwise: it is counted, not failed. */
			if (!bd_case_expect(c, s->slot[i].name) && allowed_refusal(&s->slot[i], r->status)) {
				if (r->status == BD_REJECTED)
					rejected = true;
				continue;
			}
			if (!failed)
				snprintf(o->reason, sizeof(o->reason), "%s", why);
			failed = true;
		} else if (m == -1 && r->status == BD_REJECTED) {
			if (!allowed_refusal(&s->slot[i], r->status)) {
				/* Nothing expected, but the uvm/xdp validator says it is not eBPF. */
				if (!failed)
					snprintf(o->reason, sizeof(o->reason), "%s rejected: %s", s->slot[i].name,
						 r->message);
				failed = true;
			} else {
				rejected = true;
			}
		}
		if (bd_status_ran(r->status))
			ran = true;
	}

	/* 2. Backends against each other, skipping outcomes a `-- expect` line explains. */
	int da = -1, db = -1;
	const char *what = NULL;
	for (int i = 0; i < s->n && !what; i++) {
		if (!bd_status_ran(o->res[i].status) || bd_case_expect(c, s->slot[i].name))
			continue;
		for (int j = i + 1; j < s->n && !what; j++) {
			if (!bd_status_ran(o->res[j].status) || bd_case_expect(c, s->slot[j].name))
				continue;
			int off;
			if ((what = disagree(&o->res[i], &o->res[j], &off))) {
				da = i;
				db = j;
				o->first_mem_diff = off;
			}
		}
	}
	if (what) {
		o->pair[0] = da;
		o->pair[1] = db;
		if (depends_on_environment(s, c)) {
			o->verdict = BD_V_NONDETERMINISTIC;
			snprintf(o->reason, sizeof(o->reason),
				 "%s and %s differ in %s, but the uvm's own result moves with the memory/stack "
				 "addresses or stack contents",
				 s->slot[da].name, s->slot[db].name, what);
			return 0;
		}
		make_signature(s, c, da, db, what, o->signature, sizeof(o->signature));
		const struct bd_result *ra = &o->res[da], *rb = &o->res[db];
		bool soundness = false;
		for (int k = 0; k < 2; k++) {
			int x = k ? db : da, y = k ? da : db;
			/* A verifier accepted and ran it; a bounds-checked VM faults. */
			if (has_verifier(&s->slot[x]) && o->res[x].status == BD_OK &&
			    !has_verifier(&s->slot[y]) && o->res[y].status == BD_FAULT)
				soundness = true;
		}
		o->verdict = soundness ? BD_V_SOUNDNESS : BD_V_DISCREPANCY;
		if (!strcmp(what, "status"))
			snprintf(o->reason, sizeof(o->reason), "%s %s vs %s %s: %s", s->slot[da].name,
				 bd_status_name(ra->status), s->slot[db].name, bd_status_name(rb->status),
				 ra->status != BD_OK ? ra->message : rb->message);
		else if (!strcmp(what, "r0"))
			snprintf(o->reason, sizeof(o->reason), "r0: %s 0x%llx, %s 0x%llx", s->slot[da].name,
				 (unsigned long long)ra->r0, s->slot[db].name, (unsigned long long)rb->r0);
		else
			snprintf(o->reason, sizeof(o->reason), "memory byte %d: %s 0x%02x, %s 0x%02x",
				 o->first_mem_diff, s->slot[da].name, ra->mem[o->first_mem_diff],
				 s->slot[db].name, rb->mem[o->first_mem_diff]);
		return 0;
	}
	if (error) {
		o->verdict = BD_V_ERROR;
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status == BD_ERROR) {
				snprintf(o->reason, sizeof(o->reason), "%s: %s", s->slot[i].name,
					 o->res[i].message);
				break;
			}
		return 0;
	}
	if (failed) {
		/* Every backend agrees but not with the case: if the answer depends on
		 * addresses it was never a fixed value. */
		if (ran && !c->has_error && depends_on_environment(s, c)) {
			o->verdict = BD_V_NONDETERMINISTIC;
			snprintf(o->reason, sizeof(o->reason),
				 "the result depends on memory/stack addresses or stack contents (%s)", why);
			return 0;
		}
		o->verdict = BD_V_FAIL;
		return 0;
	}
	if (!ran) {
		bool any_expected = false;
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status != BD_UNAVAILABLE &&
			    meets(c, s->slot[i].name, &o->res[i], why, sizeof(why)) == 1)
				any_expected = true;
		if (!any_expected) {
			o->verdict = rejected ? BD_V_REJECTED : BD_V_SKIPPED;
			for (int i = 0; i < s->n; i++)
				if (o->res[i].status != BD_OK) {
					snprintf(o->reason, sizeof(o->reason), "%s %s: %s", s->slot[i].name,
						 bd_status_name(o->res[i].status), o->res[i].message);
					break;
				}
			return 0;
		}
	}
	if (rejected) {
		o->verdict = BD_V_REJECTED;
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status == BD_REJECTED) {
				snprintf(o->reason, sizeof(o->reason), "%s rejected: %s", s->slot[i].name,
					 o->res[i].message);
				break;
			}
		return 0;
	}
	o->verdict = BD_V_PASS;
	return 0;
}

static void hexdump_around(FILE *out, const char *name, const uint8_t *mem, size_t len, int at)
{
	size_t start = at >= 8 ? (size_t)at - 8 : 0;
	start &= ~(size_t)7;
	size_t end = start + 24 < len ? start + 24 : len;
	fprintf(out, "    %-8s +%04zx:", name, start);
	for (size_t i = start; i < end; i++)
		fprintf(out, (int)i == at ? " [%02x]" : " %02x", mem[i]);
	fputc('\n', out);
}

void bd_outcome_report(FILE *out, const struct bd_session *s, const struct bd_case *c,
		       const struct bd_outcome *o)
{
	fprintf(out, "  --- %s%s%s: %s\n", c->path, c->section ? ":" : "", c->section ? c->section : "",
		bd_verdict_name(o->verdict));
	if (o->reason[0])
		fprintf(out, "  reason: %s\n", o->reason);
	if (o->signature[0])
		fprintf(out, "  signature: %s\n", o->signature);
	fprintf(out, "  program:\n");
	char line[128];
	for (size_t pc = 0; pc < c->ninsns;) {
		int slots = 1;
		bd_disasm_insn(c->insns, c->ninsns, pc, line, sizeof(line), &slots);
		fprintf(out, "    %4zu: %s\n", pc, line);
		pc += slots > 0 ? (size_t)slots : 1;
	}
	if (c->has_result)
		fprintf(out, "  expected: r0 = 0x%llx\n", (unsigned long long)c->result);
	else if (c->has_error)
		fprintf(out, "  expected: an error%s%s\n", c->error && *c->error ? ": " : "",
			c->error ? c->error : "");
	for (int i = 0; i < s->n; i++) {
		const struct bd_result *r = &o->res[i];
		fprintf(out, "  %-8s %-11s r0 = 0x%016llx", s->slot[i].name, bd_status_name(r->status),
			(unsigned long long)r->r0);
		if (r->has_insns)
			fprintf(out, "  insns %llu", (unsigned long long)r->insns);
		if (r->message[0] && !(r->status == BD_OK && !strcmp(r->message, "ok")))
			fprintf(out, "  %s", r->message);
		fputc('\n', out);
		if (r->warning[0])
			fprintf(out, "           kernel log: %s\n", r->warning);
	}
	if (o->first_mem_diff >= 0) {
		fprintf(out, "  first differing memory byte: %d\n", o->first_mem_diff);
		for (int i = 0; i < s->n; i++)
			if (o->res[i].mem)
				hexdump_around(out, s->slot[i].name, o->res[i].mem, o->res[i].mem_len,
					       o->first_mem_diff);
	}
}
