/* SPDX-License-Identifier: MIT */
/*
 * Running one case on every backend of a session and classifying the result
 * (DESIGN.md "Diff rules"): a backend either meets the case's expectations or
 * fails them; backends that ran are compared pairwise on status, R0,
 * memory and maps; a disagreement that moves when the uvm is re-run at other addresses
 * or with another stack fill is nondeterministic, not a discrepancy.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "asm.h"
#include "helpers.h"
#include "session.h"
#include "../vm/isa.h"

/* Weak, as in session.c: builds without libbpf (the uvm-only fuzz target) have no kernel. */
extern const struct bd_backend_ops bd_backend_kernel __attribute__((weak));

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
	case BD_V_UNCONFIRMED: return "unconfirmed find";
	case BD_V_UNCHECKED: return "memory not checked";
	case BD_V_ERROR: return "error";
	case BD_V_UNSOUND: return "verifier unsound";
	case BD_V_COUNT: break;
	}
	return "?";
}

void bd_outcome_reset(struct bd_outcome *o)
{
	for (int i = 0; i < BD_MAX_BACKENDS; i++) {
		bd_result_reset(&o->res[i]);
		o->judged[i] = BD_J_NONE;
		o->decl[i] = NULL;
		o->deviated[i] = false;
	}
	o->find_gone = false;
	o->verdict = BD_V_PASS;
	o->reason[0] = 0;
	o->signature[0] = 0;
	o->first_mem_diff = -1;
	o->pair[0] = o->pair[1] = -1;
	o->first_map_diff = -1;
	o->map_diff_byte = -1;
	o->map_diff[0] = 0;
	memset(o->env_excused, 0, sizeof(o->env_excused));
	o->env_helper[0] = 0;
	/* Field by field: a memset of its 1 KB of text would cost every fuzz input. */
	struct bd_oracle_result *vo = &o->oracle;
	vo->checked = vo->found = vo->stopped = false;
	vo->skipped[0] = vo->claim[0] = 0;
	vo->judged = 0;
	vo->nclaims = 0;
	vo->kernel_agrees = -1;
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

/* --- declared deviations -------------------------------------------------- */

static bool scope_matches(const struct bd_scope *sc, const struct bd_env *e)
{
	if (sc->arch[0] && (!e->arch[0] || fnmatch(sc->arch, e->arch, 0)))
		return false;
	if (sc->jit >= 0 && e->jit != sc->jit)
		return false;
	if (sc->platform >= 0 && e->platform != sc->platform)
		return false;
	if (sc->release[0]) {
		if (!e->release[0])
			return false;
		if (!sc->release_op[0])
			return fnmatch(sc->release, e->release, 0) == 0;
		int cmp = strverscmp(e->release, sc->release);
		const char *op = sc->release_op;
		if (!strcmp(op, "<"))
			return cmp < 0;
		if (!strcmp(op, "<="))
			return cmp <= 0;
		if (!strcmp(op, ">"))
			return cmp > 0;
		if (!strcmp(op, ">="))
			return cmp >= 0;
		return cmp == 0;
	}
	return true;
}

const struct bd_expect *bd_case_deviation(const struct bd_case *c, const struct bd_backend_slot *slot)
{
	size_t klen = strcspn(slot->name, ":");
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < c->nexpect; i++) {
			const struct bd_expect *x = &c->expect[i];
			bool name = pass == 0   ? !strcmp(x->backend, slot->name)
				    : pass == 1 ? !fnmatch(x->backend, slot->name, 0)
						: strlen(x->backend) == klen && !strncmp(x->backend, slot->name, klen);
			if (!x->observed && name && scope_matches(&x->scope, &slot->env))
				return x;
		}
	return NULL;
}

static bool deviation_present(const struct bd_expect *x, const struct bd_result *r)
{
	if (x->warning && !contains_nocase(r->warning, x->warning))
		return false;
	if (x->status[0] && strcmp(x->status, bd_status_name(r->status)))
		return false;
	if (x->message && !contains_nocase(r->message, x->message))
		return false;
	if (x->has_result && (r->status != BD_OK || r->r0 != x->result))
		return false;
	return true;
}

/* "rejected 'invalid shift'", "r0 0xffffffffffffffff" */
static void describe_deviation(const struct bd_expect *x, char *out, size_t len)
{
	int n = 0;
	out[0] = 0;
	if (x->status[0] && (strcmp(x->status, "ok") || !x->has_result))
		n = snprintf(out, len, "%s%s%s%s", x->status, x->message ? " '" : "", x->message ? x->message : "",
			     x->message ? "'" : "");
	if (x->has_result && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "%sr0 0x%llx", n ? ", " : "", (unsigned long long)x->result);
	if (x->warning && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%swarning '%s'", n ? ", " : "", x->warning);
}

/* --- the case's truth ----------------------------------------------------- */

/* What differs: the dimensions a re-run at other addresses is checked on. */
enum dim { D_NONE, D_STATUS, D_R0, D_MEM, D_FAULT, D_TIMEOUT, D_CRASH, D_MAP };
static const char *const dim_name[] = { "", "status", "r0", "mem", "fault", "timeout", "crash", "map" };

/* `-- map NAME after`: each such map's contents must be exactly these (where
 * the backend gives its maps back). */
static int maps_meet(const struct bd_case *c, const char *name, const struct bd_result *r, char *why,
		     size_t whylen)
{
	for (int i = 0; i < c->nmaps && r->maps && i < r->nmaps; i++) {
		const struct bd_map *m = &c->maps[i];
		if (!m->has_after)
			continue;
		struct bd_map_contents want;
		if (bd_map_contents_full(m, &m->after, &want) < 0)
			return 0;
		const uint8_t *key;
		long byte;
		char what[160], kt[128];
		int differ = bd_map_contents_diff(&r->maps[i], &want, &key, &byte, what, sizeof(what));
		if (differ && byte < 0) {
			bool got = false;
			for (size_t e = 0; e < r->maps[i].n && !got; e++)
				got = r->maps[i].e[e].key == key;
			bd_hex_string(kt, sizeof(kt), key, m->key_size);
			snprintf(why, whylen, "%s: map %s: key %s %s", name, m->name, kt,
				 got ? "is there, but not expected" : "is missing");
		} else if (differ) {
			unsigned gotb = 0, expb = 0;
			for (size_t e = 0; e < r->maps[i].n; e++)
				if (!memcmp(r->maps[i].e[e].key, key, m->key_size))
					gotb = r->maps[i].e[e].value[byte];
			for (size_t e = 0; e < want.n; e++)
				if (!memcmp(want.e[e].key, key, m->key_size))
					expb = want.e[e].value[byte];
			snprintf(why, whylen, "%s: map %s: %s is 0x%02x, expected 0x%02x", name, m->name, what, gotb,
				 expb);
		}
		bd_map_contents_free(&want);
		if (differ)
			return 0;
	}
	return 1;
}

/* Does r meet the case's RFC 9669 truth? 1 yes, 0 no (why, *d filled), -1
 * the case states none. Memory is checked only where the backend returns it:
 * *unchecked tells the caller. */
static int meets_truth(const struct bd_case *c, const char *name, const struct bd_result *r, char *why,
		       size_t whylen, enum dim *d, bool *unchecked)
{
	*unchecked = false;
	/* The VM died: neither the error a case expects nor its result. Where the
	 * case states none, the comparison (or, alone, bd_session_run) decides. */
	if (r->status == BD_CRASH && (c->has_error || c->has_result || c->has_mem_after)) {
		*d = D_STATUS;
		snprintf(why, whylen, "%s crashed: %s", name, r->message);
		return 0;
	}
	/* `-- error` with `-- result` (ubpf's error tests): either outcome meets it,
	 * as bpf_conformance's runner judges an error by its text and a run by R0. */
	if (c->has_error && !(c->has_result && r->status == BD_OK)) {
		if (r->status == BD_OK) {
			*d = D_STATUS;
			snprintf(why, whylen, "%s: expected an error%s%s%s, but it ran and returned 0x%llx", name,
				 c->error && *c->error ? " ('" : "", c->error ? c->error : "",
				 c->error && *c->error ? "')" : "", (unsigned long long)r->r0);
			return 0;
		}
		if (!error_matches(c, r->message)) {
			*d = D_STATUS;
			snprintf(why, whylen, "%s: %s '%s' does not match the expected error '%s'", name,
				 bd_status_name(r->status), r->message, c->error);
			return 0;
		}
		return 1;
	}
	bool maps_after = false;
	for (int i = 0; i < c->nmaps; i++)
		maps_after |= c->maps[i].has_after;
	if (!c->has_result && !c->has_mem_after && !maps_after)
		return -1;
	if (r->status != BD_OK) {
		*d = D_STATUS;
		snprintf(why, whylen, "%s: %s: %s", name, bd_status_name(r->status), r->message);
		return 0;
	}
	if (c->has_result && r->r0 != c->result) {
		*d = D_R0;
		snprintf(why, whylen, "%s: r0 is 0x%llx, expected 0x%llx", name, (unsigned long long)r->r0,
			 (unsigned long long)c->result);
		return 0;
	}
	if (c->has_mem_after && !r->mem) {
		*unchecked = true;
	} else if (c->has_mem_after) {
		size_t n = c->mem_after_len < r->mem_len ? c->mem_after_len : r->mem_len;
		for (size_t i = 0; i < n; i++)
			if (r->mem[i] != c->mem_after[i]) {
				*d = D_MEM;
				snprintf(why, whylen, "%s: memory byte %zu is 0x%02x, expected 0x%02x", name, i,
					 r->mem[i], c->mem_after[i]);
				return 0;
			}
		if (c->mem_after_len != r->mem_len) {
			*d = D_MEM;
			snprintf(why, whylen, "%s: memory is %zu bytes after the run, -- mem after has %zu", name,
				 r->mem_len, c->mem_after_len);
			return 0;
		}
	}
	if (maps_after && !r->maps) {
		*unchecked = true;
	} else if (!maps_meet(c, name, r, why, whylen)) {
		*d = D_MAP;
		return 0;
	}
	return 1;
}

static bool has_verifier(const struct bd_backend_slot *slot)
{
	return slot->verifier;
}

/* A refusal RFC 9669 allows without the case saying so: a verifier may
 * reject any program, and a helper or pseudo-lddw a VM does not model is
 * unsupported. The uvm's and the xdp VM's rejections come from bpfdiff's own
 * validator: malformed eBPF, never allowed silently. */
static bool allowed_refusal(const struct bd_backend_slot *slot, enum bd_status st)
{
	return st == BD_UNSUPPORTED || (st == BD_REJECTED && has_verifier(slot));
}

/* One backend against the case: its declared deviation (present, or absent
 * with the RFC result instead), else the truth. */
static enum bd_judgement judge(const struct bd_case *c, const struct bd_backend_slot *slot,
			       const struct bd_result *r, const struct bd_expect **decl, char *why, size_t whylen,
			       enum dim *d)
{
	bool unchecked;
	*decl = NULL;
	*d = D_NONE;
	if (r->status == BD_UNAVAILABLE)
		return BD_J_NOT_RUN;
	const struct bd_expect *x = bd_case_deviation(c, slot);
	int t = meets_truth(c, slot->name, r, why, whylen, d, &unchecked);
	if (x) {
		*decl = x;
		if (deviation_present(x, r))
			return BD_J_PRESENT;
		if (t != 0)
			return unchecked ? BD_J_UNCHECKED : BD_J_ABSENT;
		char dev[256];
		describe_deviation(x, dev, sizeof(dev));
		char truth[512];
		snprintf(truth, sizeof(truth), "%s", why);
		snprintf(why, whylen, "%s: neither the declared deviation (%s) nor the RFC result: %s", slot->name, dev,
			 strchr(truth, ':') ? strchr(truth, ':') + 2 : truth);
		return BD_J_FAILED;
	}
	if (t == 1)
		return unchecked ? BD_J_UNCHECKED : BD_J_MET;
	if (allowed_refusal(slot, r->status))
		return BD_J_REFUSED;
	if (t == 0)
		return BD_J_FAILED;
	if (r->status == BD_REJECTED) {
		/* Nothing expected, but the uvm/xdp validator says it is not eBPF. */
		*d = D_STATUS;
		snprintf(why, whylen, "%s rejected: %s", slot->name, r->message);
		return BD_J_FAILED;
	}
	return BD_J_NONE;
}

/* --- backends against each other ----------------------------------------- */

/* Statuses that take part in the pairwise comparison: the backend ran the
 * program (or died running it). A verifier's refusal is not a result. */
bool bd_status_ran(enum bd_status s)
{
	return s == BD_OK || s == BD_FAULT || s == BD_TIMEOUT || s == BD_CRASH;
}

/* First differing byte over the full length (a length difference counts at
 * the shorter end); -1 when equal or when either returns no memory. */
static int mem_diff(const struct bd_result *a, const struct bd_result *b)
{
	if (!a->mem || !b->mem)
		return -1;
	size_t n = a->mem_len < b->mem_len ? a->mem_len : b->mem_len;
	for (size_t i = 0; i < n; i++)
		if (a->mem[i] != b->mem[i])
			return (int)i;
	return a->mem_len != b->mem_len ? (int)n : -1;
}

/* The first map whose contents differ, where both sides gave their maps
 * back: its index, the element's key and the value byte (-1: the key is on
 * one side only); -1 when none. */
struct map_diff {
	int map;
	long byte;
	const uint8_t *key;
	char what[160];
};
static int maps_diff(const struct bd_result *a, const struct bd_result *b, struct map_diff *md)
{
	md->map = -1;
	if (!a->maps || !b->maps)
		return -1;
	for (int i = 0; i < a->nmaps && i < b->nmaps; i++)
		if (bd_map_contents_diff(&a->maps[i], &b->maps[i], &md->key, &md->byte, md->what, sizeof(md->what)))
			return md->map = i;
	return -1;
}

/* Value byte `byte` of the element with `key`, or 0. */
static unsigned map_byte(const struct bd_map_contents *m, const uint8_t *key, long byte)
{
	for (size_t e = 0; e < m->n; e++)
		if (!memcmp(m->e[e].key, key, m->key_size))
			return m->e[e].value[byte];
	return 0;
}

/* Two results agree on status, then on what that status carries: R0,
 * memory and maps for ok; the kind of fault and, where both know it, the
 * faulting pc; the pc where the budget ran out; the signal that killed the VM. */
static enum dim disagree_maps(const struct bd_result *a, const struct bd_result *b, int *memoff,
			      struct map_diff *md)
{
	*memoff = -1;
	md->map = -1;
	if (a->status != b->status)
		return D_STATUS;
	switch (a->status) {
	case BD_OK:
		if (a->r0 != b->r0)
			return D_R0;
		if ((*memoff = mem_diff(a, b)) >= 0)
			return D_MEM;
		return maps_diff(a, b, md) >= 0 ? D_MAP : D_NONE;
	case BD_FAULT:
		if (a->fault_kind && b->fault_kind && a->fault_kind != b->fault_kind)
			return D_FAULT;
		return a->has_pc && b->has_pc && a->pc != b->pc ? D_FAULT : D_NONE;
	case BD_TIMEOUT:
		return a->has_pc && b->has_pc && a->pc != b->pc ? D_TIMEOUT : D_NONE;
	case BD_CRASH:
		return a->signal != b->signal ? D_CRASH : D_NONE;
	default:
		return D_NONE;
	}
}

static enum dim disagree(const struct bd_result *a, const struct bd_result *b, int *memoff)
{
	struct map_diff md;
	return disagree_maps(a, b, memoff, &md);
}

bool bd_results_agree(const struct bd_result *a, const struct bd_result *b)
{
	int off;
	return disagree(a, b, &off) == D_NONE;
}

/* --- the environment helpers ------------------------------------------------ */

/* The first call in the case to a helper whose value comes from the
 * environment (time, randomness, CPU); a call through a register may be one. */
static const char *env_helper_called(const struct bd_case *c, int platform)
{
	for (int k = 0; k <= c->nprogs; k++) {
		const struct ebpf_insn *in = k ? c->progs[k - 1].insns : c->insns;
		size_t n = k ? c->progs[k - 1].ninsns : c->ninsns;
		for (size_t pc = 0; pc < n; pc++) {
			if (in[pc].opcode == 0x18) {
				pc++;
				continue;
			}
			if (in[pc].opcode == 0x8d)
				return "a helper called through a register";
			if (in[pc].opcode != 0x85 || in[pc].src != EBPF_CALL_HELPER)
				continue;
			int h = ebpf_platform_helper(platform, (uint32_t)in[pc].imm);
			if (h == EBPF_H_KTIME_GET_NS || h == EBPF_H_GET_PRANDOM_U32 || h == EBPF_H_GET_SMP_PROCESSOR_ID)
				return bd_helper_name(platform, (uint32_t)in[pc].imm);
		}
	}
	return NULL;
}

/* Does the uvm's result move when the environment helpers return other
 * values (other seeds, and not the case's own)? Then a backend that takes
 * them from the real environment cannot be judged on it. */
static bool depends_on_env_values(struct bd_session *s, const struct bd_case *c)
{
	if (!s->probe) {
		char why[256];
		if (bd_backend_uvm.open(&s->probe, &s->cfg, why, sizeof(why)) < 0)
			return false;
	}
	static const unsigned long long seeds[] = { 0, 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	struct bd_result ref = { 0 }, other = { 0 };
	bool moved = false;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]) && !moved; i++) {
		struct bd_run_opts o;
		bd_run_opts_default(&o);
		o.cpu = c->cpu ? c->cpu : s->cfg.cpu;
		if (i) {
			o.env_seed = seeds[i];
			o.ignore_helper_values = true;
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

/* A backend that takes the environment helpers' values from a real
 * environment (the kernel; a plugin declared on the session's platform),
 * and ran the case. Another platform's numbers mean other helpers: the
 * platform rule (comparable()) deals with those. */
static bool real_environment(const struct bd_session *s, const struct bd_outcome *o, int i, const char *plat)
{
	return s->slot[i].b && !s->slot[i].ops->env_values && bd_status_ran(o->res[i].status) &&
	       !strcmp(s->slot[i].platform, plat);
}

/* Mark the backends that cannot be judged on this case's result: those that
 * take the environment helpers' values from a real environment, when the
 * result depends on those values and there is something to judge them
 * against (the case's truth, or a backend that takes the case's values). */
static void excuse_environment(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	const char *plat = s->cfg.platform ? s->cfg.platform : "linux";
	int p = bd_platform_lookup(plat);
	const char *h = env_helper_called(c, p < 0 ? EBPF_PLATFORM_LINUX : p);
	if (!h)
		return;
	bool any = false, judge = c->has_result || c->has_mem_after || c->has_error;
	for (int i = 0; i < c->nmaps; i++)
		judge |= c->maps[i].has_after;
	for (int i = 0; i < s->n; i++) {
		any |= real_environment(s, o, i, plat);
		judge |= s->slot[i].b && s->slot[i].ops->env_values && bd_status_ran(o->res[i].status);
	}
	if (!any || !judge || !depends_on_env_values(s, c))
		return;
	snprintf(o->env_helper, sizeof(o->env_helper), "%s", h);
	for (int i = 0; i < s->n; i++)
		o->env_excused[i] = real_environment(s, o, i, plat);
}

/*
 * Re-run the uvm with other addresses, another stack fill and other initial
 * registers, and say whether its own result moves in the dimension that
 * differed: a pointer or an uninitialised value escaped there. Only that
 * dimension counts, so a pointer stored into memory cannot excuse a wrong R0.
 * For memory, every byte where a and b differ must be one that moves.
 */
static bool depends_on_environment(struct bd_session *s, const struct bd_case *c, enum dim d, const uint8_t *a,
				   const uint8_t *b, size_t len)
{
	if (!s->probe) {
		char why[256];
		if (bd_backend_uvm.open(&s->probe, &s->cfg, why, sizeof(why)) < 0)
			return false;
	}
	/* Map values, map pointers and callback addresses move too (maps). The
	 * environment helpers' values do not: bpfdiff's VMs take the same ones,
	 * and a backend that takes real ones is dealt with by excuse_environment. */
	static const struct {
		unsigned long long mem, stack;
		unsigned char fill;
		unsigned long long seed, regs, maps;
	} alt[] = {
		{ 0, 0, 0, 0, 0, 0 }, /* the defaults, as the reference */
		{ 0x00007f3a5c102340ULL, 0x00007ffd9abc7000ULL, 0xa5, 0, 0x5a5a5a5a5a5a5a5aULL, 0x00007f3b00000000ULL },
		{ 0x0000555500ab0010ULL, 0x00007ffe01237ff0ULL, 0x3c, 0, 0xdeadbeefcafef00dULL, 0x0000555600000000ULL },
		/* Kernel-like addresses (negative as s64), as the kernel's pointers are,
		 * with all-ones and sign-bit fills for uninitialised stack. */
		{ 0xffff888012345000ULL, 0xffffc90000a3c000ULL, 0xff, 0, 0xffffffffffffffffULL, 0xffff888100000000ULL },
		{ 0xffff88810abc0008ULL, 0xffffc9000123a000ULL, 0x80, 0, 0x8000000000000000ULL, 0xffffc90100000000ULL },
		/* Every stack slot different: two uninitialised slots read and
		 * combined (x - y) cancel out under any uniform fill. */
		{ 0, 0, 0, 0x243f6a8885a308d3ULL, 0, 0 },
	};
	if (d == D_MEM) { /* a length difference, or no byte differs in the common part: no address moves that */
		size_t ndiff = 0;
		for (size_t k = 0; k < len; k++)
			ndiff += a[k] != b[k];
		if (!ndiff)
			return false;
	}
	struct bd_result ref = { 0 }, other = { 0 };
	uint8_t *moved_at = d == D_MEM && len ? calloc(len, 1) : NULL;
	if (d == D_MEM && len && !moved_at)
		return false;
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
			if (alt[i].maps)
				o.map_addr = alt[i].maps;
		}
		struct bd_result *r = i ? &other : &ref;
		bd_result_reset(r);
		if (bd_backend_uvm.run(s->probe, c, &o, r) < 0)
			break;
		s->nondet_checks++;
		if (!i)
			continue;
		int off;
		enum dim got = disagree(&ref, &other, &off);
		if (got == D_STATUS) {
			moved = true; /* everything else moves with it */
		} else if (d == D_MEM) {
			if (ref.mem && other.mem && ref.mem_len == other.mem_len)
				for (size_t k = 0; k < len && k < ref.mem_len; k++)
					moved_at[k] |= ref.mem[k] != other.mem[k];
			moved = true;
			for (size_t k = 0; k < len && moved; k++)
				if (a[k] != b[k] && !moved_at[k])
					moved = false;
		} else {
			moved = got == d;
		}
	}
	free(moved_at);
	bd_result_reset(&ref);
	bd_result_reset(&other);
	return moved;
}

/* Helper numbers mean different things on different platforms (helper 5 is
 * bpf_ktime_get_ns on Linux, the unwind extension in ubpf): on a program that
 * calls one, two backends are compared only when both follow the same
 * platform. A crash is compared regardless: dying is never a platform's right. */
static bool calls_helper(const struct bd_case *c)
{
	unsigned char seen[FORM_COUNT] = { 0 };
	ebpf_forms_used(c->insns, c->ninsns, seen);
	return seen[FORM_CALL_HELPER] || seen[FORM_CALL_BTF] || seen[FORM_CALLX];
}

static bool comparable(const struct bd_session *s, const struct bd_outcome *o, bool helpers, int a, int b)
{
	return !helpers || o->res[a].status == BD_CRASH || o->res[b].status == BD_CRASH ||
	       (s->slot[a].platform[0] && !strcmp(s->slot[a].platform, s->slot[b].platform));
}

const char *bd_signature_key(const char *signature)
{
	const char *bar = signature ? strchr(signature, '|') : NULL;
	return bar ? bar : signature ? signature : "";
}

/* "FORMS|a/b|what": the forms the program contains, then the key (which
 * backends disagree, and on what; for a crash, with its signal: "status:SIGSEGV").
 * A long forms list is cut, never the key. */
/* "ALU64_ADD_IMM,JMP_JA,..." then key (the part from '|' on), within len. */
static void signature_with_key(const struct bd_case *c, const char *key, char *sig, size_t len)
{
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

static void make_signature(const struct bd_session *s, const struct bd_case *c, int a, int b,
			   const char *what, int signal, char *sig, size_t len)
{
	char key[2 * sizeof(s->slot[0].name) + 48];
	const char *abbrev = signal > 0 ? sigabbrev_np(signal) : NULL;
	char sigtext[24] = "";
	if (abbrev)
		snprintf(sigtext, sizeof(sigtext), ":SIG%s", abbrev);
	else if (signal > 0)
		snprintf(sigtext, sizeof(sigtext), ":signal%d", signal);
	snprintf(key, sizeof(key), "|%s/%s|%s%s", s->slot[a].name, s->slot[b].name, what, sigtext);
	signature_with_key(c, key, sig, len);
}

/* The backends a discrepancy is attributed to: those outside the largest
 * group that agrees, when one group is the clear majority; else the pair. */
static void attribute(const struct bd_session *s, struct bd_outcome *o, const bool *compared, int da, int db)
{
	int best = -1, best_n = 0, ties = 0;
	for (int i = 0; i < s->n; i++) {
		if (!compared[i])
			continue;
		int n = 0;
		for (int j = 0; j < s->n; j++)
			n += compared[j] && bd_results_agree(&o->res[i], &o->res[j]);
		if (n > best_n) {
			best = i;
			best_n = n;
			ties = 0;
		} else if (n == best_n && !bd_results_agree(&o->res[i], &o->res[best])) {
			ties++;
		}
	}
	if (best >= 0 && best_n >= 2 && !ties) {
		for (int i = 0; i < s->n; i++)
			o->deviated[i] = compared[i] && !bd_results_agree(&o->res[i], &o->res[best]);
	} else {
		o->deviated[da] = o->deviated[db] = true;
	}
}

/* Runs the case on every backend. Returns the first slot whose second run
 * (`-- unload`) disagreed with its first, with why and in what, or -1. */
static int run_all(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o, char *rerun_why,
		   size_t whylen, enum dim *rerun_dim)
{
	struct bd_run_opts ro;
	bd_run_opts_default(&ro);
	ro.cpu = c->cpu ? c->cpu : s->cfg.cpu;
	ro.verifier_states = s->cfg.verifier_states;
	int rerun_differs = -1;
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
		if (rc >= 0 && c->rerun) {
			/* ubpf's `-- unload`: load the program again and run it again. The
			 * second run is the one judged; it must agree with the first (state
			 * left behind by a run, a map or VM image reused, shows up here). */
			struct bd_result first = *r;
			r->mem = NULL;
			rc = s->slot[i].ops->run(s->slot[i].b, c, &ro, r);
			int off;
			enum dim d = rc >= 0 ? disagree(&first, r, &off) : D_NONE;
			if (d != D_NONE && rerun_differs < 0) {
				rerun_differs = i;
				*rerun_dim = d;
				snprintf(rerun_why, whylen,
					 "%s: loaded again, it gave %s r0 0x%llx; the first run gave %s r0 0x%llx%s",
					 s->slot[i].name, bd_status_name(r->status), (unsigned long long)r->r0,
					 bd_status_name(first.status), (unsigned long long)first.r0,
					 d == D_MEM ? " (memory differs)" : "");
			}
			if (first.warning[0] && !r->warning[0])
				memcpy(r->warning, first.warning, sizeof(r->warning));
			bd_result_reset(&first);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc < 0) {
			r->status = BD_ERROR;
			snprintf(r->message, sizeof(r->message), "internal error: %s", strerror(-rc));
		}
		if (!r->duration_ns)
			r->duration_ns = (unsigned long long)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
					 (unsigned long long)(t1.tv_nsec - t0.tv_nsec);
	}
	return rerun_differs;
}

/* A kernel WARNING or "verifier bug" while loading or running this case
 * outranks everything: it is a kernel bug whatever the results say. */
static bool declared_warning(const struct bd_case *c, const struct bd_backend_slot *slot, const char *warning)
{
	const struct bd_expect *x = bd_case_deviation(c, slot);
	return x && x->warning && contains_nocase(warning, x->warning);
}

static bool kernel_warning(const struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	for (int i = 0; i < s->n; i++)
		if (o->res[i].warning[0] && !declared_warning(c, &s->slot[i], o->res[i].warning)) {
			o->verdict = BD_V_KERNEL_WARNING;
			o->deviated[i] = true;
			snprintf(o->reason, sizeof(o->reason), "%s: kernel logged: %s", s->slot[i].name,
				 o->res[i].warning);
			/* Signature: the warning's headline, up to its second ':' (no values). */
			const char *w = o->res[i].warning, *c1 = strchr(w, ':');
			const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			int len = c2 ? (int)(c2 - w) : (int)strlen(w);
			snprintf(o->signature, sizeof(o->signature), "kernel-warning|%s|%.*s", s->slot[i].name,
				 len > 120 ? 120 : len, w);
			return true;
		}
	return false;
}

static void discrepancy_reason(const struct bd_session *s, const struct bd_case *c, struct bd_outcome *o, int da,
			       int db, enum dim d)
{
	const struct bd_result *ra = &o->res[da], *rb = &o->res[db];
	const char *na = s->slot[da].name, *nb = s->slot[db].name;
	switch (d) {
	case D_STATUS:
		snprintf(o->reason, sizeof(o->reason), "%s %s vs %s %s: %s", na, bd_status_name(ra->status), nb,
			 bd_status_name(rb->status), ra->status != BD_OK ? ra->message : rb->message);
		break;
	case D_R0:
		snprintf(o->reason, sizeof(o->reason), "r0: %s 0x%llx, %s 0x%llx", na, (unsigned long long)ra->r0, nb,
			 (unsigned long long)rb->r0);
		break;
	case D_MEM:
		if ((size_t)o->first_mem_diff < ra->mem_len && (size_t)o->first_mem_diff < rb->mem_len)
			snprintf(o->reason, sizeof(o->reason), "memory byte %d: %s 0x%02x, %s 0x%02x",
				 o->first_mem_diff, na, ra->mem[o->first_mem_diff], nb, rb->mem[o->first_mem_diff]);
		else
			snprintf(o->reason, sizeof(o->reason), "memory length: %s %zu bytes, %s %zu bytes", na,
				 ra->mem_len, nb, rb->mem_len);
		break;
	case D_FAULT:
		snprintf(o->reason, sizeof(o->reason), "both fault, differently: %s %s at pc %u (%s), %s %s at pc %u (%s)",
			 na, bd_fault_kind_name(ra->fault_kind), ra->pc, ra->message, nb,
			 bd_fault_kind_name(rb->fault_kind), rb->pc, rb->message);
		break;
	case D_TIMEOUT:
		snprintf(o->reason, sizeof(o->reason), "both time out, at different pcs: %s pc %u, %s pc %u", na, ra->pc,
			 nb, rb->pc);
		break;
	case D_CRASH:
		snprintf(o->reason, sizeof(o->reason), "both crash, by different signals: %s %d, %s %d", na,
			 ra->signal, nb, rb->signal);
		break;
	case D_MAP: {
		const struct bd_map_contents *ma = &ra->maps[o->first_map_diff], *mb = &rb->maps[o->first_map_diff];
		const char *mname = c->maps[o->first_map_diff].name;
		if (o->map_diff_byte >= 0)
			snprintf(o->reason, sizeof(o->reason), "map %s %s: %s 0x%02x, %s 0x%02x", mname, o->map_diff, na,
				 map_byte(ma, o->map_diff_key, o->map_diff_byte), nb,
				 map_byte(mb, o->map_diff_key, o->map_diff_byte));
		else
			snprintf(o->reason, sizeof(o->reason), "map %s: %s (%s, %s)", mname, o->map_diff, na, nb);
		break;
	}
	case D_NONE:
		break;
	}
}

static int classify(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	if (c->skip) {
		/* Nothing here can run it (ubpf's `-- pyelf`, `-- reload`). */
		for (int i = 0; i < s->n; i++) {
			o->res[i].status = s->slot[i].b ? BD_UNSUPPORTED : BD_UNAVAILABLE;
			snprintf(o->res[i].message, sizeof(o->res[i].message), "%s",
				 s->slot[i].b ? c->skip : s->slot[i].why);
		}
		o->verdict = BD_V_SKIPPED;
		snprintf(o->reason, sizeof(o->reason), "%s", c->skip);
		return 0;
	}
	char rerun_why[sizeof(o->reason)] = "";
	enum dim rerun_dim = D_NONE;
	int rerun_differs = run_all(s, c, o, rerun_why, sizeof(rerun_why), &rerun_dim);
	if (kernel_warning(s, c, o))
		return 0;
	excuse_environment(s, c, o);

	/* 1. Each backend against the case: its declared deviation, else the truth
	 * (of its byte order: byteorder.c). */
	bool failed = false, error = false, rejected = false, ran = false, unchecked = false;
	int first_failed = -1;
	enum dim fail_dim = D_NONE;
	char why[512];
	int order_dep = s->has_big_endian ? bd_order_dependent(s, c) : 0;
	for (int i = 0; i < s->n; i++) {
		struct bd_result *r = &o->res[i];
		enum dim d;
		why[0] = 0;
		if (o->env_excused[i]) {
			o->judged[i] = BD_J_NONE;
			ran = true;
			continue;
		}
		struct bd_case view;
		const struct bd_case *ce = bd_case_for_order(c, bd_slot_big_endian(&s->slot[i]), order_dep, &view);
		o->judged[i] = judge(ce, &s->slot[i], r, &o->decl[i], why, sizeof(why), &d);
		if (i == rerun_differs) { /* `-- unload`: its two runs disagree */
			o->judged[i] = BD_J_FAILED;
			snprintf(why, sizeof(why), "%s", rerun_why);
			d = rerun_dim;
		}
		switch (o->judged[i]) {
		case BD_J_FAILED:
			o->deviated[i] = true;
			if (!failed) {
				snprintf(o->reason, sizeof(o->reason), "%s", why);
				first_failed = i;
				fail_dim = d;
			}
			failed = true;
			break;
		case BD_J_REFUSED:
			rejected |= r->status == BD_REJECTED;
			break;
		case BD_J_UNCHECKED:
			unchecked = true;
			break;
		default:
			break;
		}
		if (r->status == BD_ERROR && !o->decl[i])
			error = true;
		if (bd_status_ran(r->status))
			ran = true;
	}

	/* 2. Backends against each other, leaving out those whose declared
	 * deviation is present (they are expected to differ). */
	bool compared[BD_MAX_BACKENDS] = { false };
	for (int i = 0; i < s->n; i++)
		compared[i] = bd_status_ran(o->res[i].status) && o->judged[i] != BD_J_PRESENT && !o->env_excused[i];
	int da = -1, db = -1, pa = -1, pb = -1;
	enum dim what = D_NONE, pwhat = D_NONE;
	bool helpers = calls_helper(c);
	struct map_diff md = { .map = -1 };
	for (int i = 0; i < s->n && !what; i++) {
		if (!compared[i])
			continue;
		for (int j = i + 1; j < s->n && !what; j++) {
			if (order_dep && bd_slot_big_endian(&s->slot[i]) != bd_slot_big_endian(&s->slot[j]))
				continue; /* like with like: the orders give different, correct answers */
			int off;
			if (!compared[j])
				continue;
			if (!comparable(s, o, helpers, i, j)) {
				if (!pwhat && (pwhat = disagree(&o->res[i], &o->res[j], &off))) {
					pa = i;
					pb = j;
				}
				continue;
			}
			if ((what = disagree_maps(&o->res[i], &o->res[j], &off, &md))) {
				da = i;
				db = j;
				o->first_mem_diff = off;
			}
		}
	}
	/* A crash is signed with its signal (both signals differ: the first's). */
	int signal = !what ? -1 : o->res[da].status == BD_CRASH ? o->res[da].signal
			 : o->res[db].status == BD_CRASH ? o->res[db].signal : -1;
	if (md.map >= 0) {
		o->first_map_diff = md.map;
		o->map_diff_byte = md.byte;
		size_t ks = c->maps[md.map].key_size;
		memcpy(o->map_diff_key, md.key, ks < sizeof(o->map_diff_key) ? ks : sizeof(o->map_diff_key));
		snprintf(o->map_diff, sizeof(o->map_diff), "%s", md.what);
	}
	if (what) {
		o->pair[0] = da;
		o->pair[1] = db;
		make_signature(s, c, da, db, dim_name[what], signal, o->signature, sizeof(o->signature));
	}
	bool soundness = false;
	for (int k = 0; what && k < 2; k++) {
		int x = k ? db : da, y = k ? da : db;
		/* A verifier accepted and ran it; a bounds-checked VM faults. */
		if (has_verifier(&s->slot[x]) && o->res[x].status == BD_OK && !has_verifier(&s->slot[y]) &&
		    o->res[y].status == BD_FAULT)
			soundness = true;
	}
	if (what && (!failed || soundness)) {
		/* Backends disagree where the case states no truth (or beyond it). */
		const struct bd_result *ra = &o->res[da], *rb = &o->res[db];
		size_t mlen = ra->mem && rb->mem ? (ra->mem_len < rb->mem_len ? ra->mem_len : rb->mem_len) : 0;
		/* A VM that died is a finding whatever the addresses: no re-runs. */
		if (signal < 0 && depends_on_environment(s, c, what, ra->mem, rb->mem, mlen)) {
			o->verdict = BD_V_NONDETERMINISTIC;
			o->signature[0] = 0;
			snprintf(o->reason, sizeof(o->reason),
				 "%s and %s differ in %s, but the uvm's own %s moves with the memory/stack addresses or "
				 "stack contents",
				 s->slot[da].name, s->slot[db].name, dim_name[what], dim_name[what]);
			return 0;
		}
		if (!failed) { /* no truth decides: the odd one out of the largest agreeing group */
			memset(o->deviated, 0, sizeof(o->deviated));
			if (order_dep) /* attribute within the pair's byte order only */
				for (int i = 0; i < s->n; i++)
					compared[i] &= bd_slot_big_endian(&s->slot[i]) == bd_slot_big_endian(&s->slot[da]);
			attribute(s, o, compared, da, db);
		}
		if (!soundness && bd_case_unconfirmed(c) && c->signature &&
		    !strcmp(bd_signature_key(c->signature), bd_signature_key(o->signature))) {
			o->verdict = BD_V_UNCONFIRMED;
			discrepancy_reason(s, c, o, da, db, what);
			return 0;
		}
		o->verdict = soundness ? BD_V_SOUNDNESS : BD_V_DISCREPANCY;
		if (!failed) /* else the reason is the failing backend's, which says more */
			discrepancy_reason(s, c, o, da, db, what);
		return 0;
	}
	if (!failed) /* a VM that died with no truth to miss and no one to differ from */
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status == BD_CRASH && o->judged[i] == BD_J_NONE) {
				failed = true;
				first_failed = i;
				fail_dim = D_STATUS;
				o->deviated[i] = true;
				snprintf(o->reason, sizeof(o->reason), "%s crashed: %s", s->slot[i].name, o->res[i].message);
				break;
			}
	if (error) {
		o->verdict = BD_V_ERROR;
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status == BD_ERROR) {
				o->deviated[i] = true;
				snprintf(o->reason, sizeof(o->reason), "%s: %s", s->slot[i].name, o->res[i].message);
				break;
			}
		return 0;
	}
	if (!ran && !c->has_result && !c->has_error && !c->has_mem_after && !c->nexpect) {
		/* No expectation and nothing ran it (ubpf's assembler tests, whose
		 * programs have no exit): bpf_conformance's runner skips such files.
		 * A case without expectations that runs is still diffed. */
		o->verdict = BD_V_SKIPPED;
		snprintf(o->reason, sizeof(o->reason), "no expectation (neither -- result nor -- error)");
		for (int i = 0; i < s->n; i++)
			if (o->res[i].status != BD_UNAVAILABLE) {
				snprintf(o->reason, sizeof(o->reason),
					 "no expectation (neither -- result nor -- error) and no backend ran it: %s %s: %s",
					 s->slot[i].name, bd_status_name(o->res[i].status), o->res[i].message);
				break;
			}
		return 0;
	}
	if (failed) {
		/* A backend missed the RFC result (and its declared deviation): if its
		 * answer moves with addresses in the dimension that failed, the case
		 * never had a fixed value. The signature (when backends also disagree)
		 * lets the minimizer and the fuzzer's dedup work on it. */
		const struct bd_result *r = &o->res[first_failed];
		bool mem = fail_dim == D_MEM && r->mem && c->mem_after;
		size_t mlen = mem ? (r->mem_len < c->mem_after_len ? r->mem_len : c->mem_after_len) : 0;
		if (ran && !c->has_error && fail_dim != D_NONE && bd_status_ran(r->status) && r->status != BD_CRASH &&
		    depends_on_environment(s, c, fail_dim, mem ? r->mem : NULL, mem ? c->mem_after : NULL, mlen)) {
			o->verdict = BD_V_NONDETERMINISTIC;
			o->signature[0] = 0;
			char w[512];
			snprintf(w, sizeof(w), "%s", o->reason);
			snprintf(o->reason, sizeof(o->reason),
				 "the result depends on memory/stack addresses or stack contents (%s)", w);
			return 0;
		}
		o->verdict = BD_V_FAIL;
		return 0;
	}
	if (pwhat) { /* classified, not diffed */
		o->verdict = BD_V_NONDETERMINISTIC;
		o->pair[0] = pa;
		o->pair[1] = pb;
		snprintf(o->reason, sizeof(o->reason),
			 "%s and %s differ in %s, but the program calls a helper, whose meaning is "
			 "platform-specific (%s: %s, %s: %s)",
			 s->slot[pa].name, s->slot[pb].name, dim_name[pwhat], s->slot[pa].name,
			 s->slot[pa].platform[0] ? s->slot[pa].platform : "platform not declared", s->slot[pb].name,
			 s->slot[pb].platform[0] ? s->slot[pb].platform : "platform not declared");
		return 0;
	}
	if (bd_case_unconfirmed(c))
		o->find_gone = ran;
	if (!ran) {
		bool any_expected = false;
		for (int i = 0; i < s->n; i++)
			any_expected |= o->judged[i] == BD_J_MET || o->judged[i] == BD_J_PRESENT ||
					o->judged[i] == BD_J_ABSENT;
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
			if (o->judged[i] == BD_J_REFUSED && o->res[i].status == BD_REJECTED) {
				snprintf(o->reason, sizeof(o->reason), "%s rejected: %s", s->slot[i].name,
					 o->res[i].message);
				break;
			}
		return 0;
	}
	if (unchecked) {
		o->verdict = BD_V_UNCHECKED;
		int n = snprintf(o->reason, sizeof(o->reason), "-- mem after not checked on");
		for (int i = 0; i < s->n; i++)
			if (o->judged[i] == BD_J_UNCHECKED && (size_t)n < sizeof(o->reason))
				n += snprintf(o->reason + n, sizeof(o->reason) - (size_t)n, " %s", s->slot[i].name);
		if ((size_t)n < sizeof(o->reason))
			snprintf(o->reason + n, sizeof(o->reason) - (size_t)n, " (it returns no memory)");
		return 0;
	}
	o->verdict = BD_V_PASS;
	return 0;
}

/*
 * The verifier-state oracle (oracle.h): the kernel accepted the case and
 * logged its verifier's states; the private uvm runs it again with a trace
 * and every traced value is judged against them. A value outside every
 * claim is `verifier unsound`, whatever else the backends did, unless a
 * worse verdict already stands (then it is reported with it).
 */
static void run_oracle(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	struct bd_oracle_result *r = &o->oracle;
	int k = -1;
	for (int i = 0; i < s->n && k < 0; i++) /* the kernel, or any backend that logs such states */
		if (o->res[i].status == BD_OK &&
		    (o->res[i].states || o->res[i].states_truncated ||
		     (&bd_backend_kernel && s->slot[i].ops == &bd_backend_kernel)))
			k = i;
	if (k < 0)
		return; /* not accepted (or no kernel): nothing was claimed */
	const struct bd_result *kr = &o->res[k];
	r->kernel_agrees = -1;
	if (!kr->states) {
		snprintf(r->skipped, sizeof(r->skipped), "%s",
			 kr->states_truncated ? "the verifier log did not fit its buffer: not judged"
			 : kr->warning[0]     ? "no verifier log: the load with the log failed the verifier's own "
						"invariant checks (see the kernel warning)"
					      : "no verifier log");
		s->oracle_skipped++;
		return;
	}
	if (!s->oracle_uvm) {
		char why[256];
		struct bd_backend_config cfg = s->cfg;
		cfg.arg = NULL; /* the reference uvm, never a mutant */
		cfg.big_endian = false;
		if (bd_backend_uvm.open(&s->oracle_uvm, &cfg, why, sizeof(why)) < 0) {
			snprintf(r->skipped, sizeof(r->skipped), "no uvm for the trace: %s", why);
			s->oracle_skipped++;
			return;
		}
	}
	struct bd_run_opts ro;
	bd_run_opts_default(&ro);
	ro.cpu = c->cpu ? c->cpu : s->cfg.cpu;
	struct bd_oracle judge;
	if (bd_oracle_load(&judge, kr->states, kr->states_prologue, ro.mem_addr, c->mem_len, c->insns, c->ninsns, r) <
	    0) {
		s->oracle_skipped++;
		return;
	}
	ro.trace = bd_oracle_step;
	ro.trace_ctx = &judge;
	ro.null_r1 = true; /* no memory: the kernel's r1 is 0 */
	/* The traced run must be one this kernel could have made: the verifier
	 * rightly claims bpf_get_smp_processor_id() < its CPU count, so the
	 * uvm's CPU (the case's, or one from the seed) is CPU 0, which every
	 * machine has. Any ktime and any u32 prandom value is possible. */
	static uint64_t cpu0 = 0;
	struct bd_case traced = *c;
	traced.helper_values[EBPF_ENV_CPU] = &cpu0;
	traced.nhelper_values[EBPF_ENV_CPU] = 1;
	struct bd_result ur = { 0 };
	int rc = bd_backend_uvm.run(s->oracle_uvm, &traced, &ro, &ur);
	bd_oracle_free(&judge);
	s->oracle_runs++;
	s->oracle_judged += r->judged;
	s->oracle_stopped += r->stopped;
	if (rc < 0 || !bd_status_ran(ur.status)) {
		/* e.g. a form the kernel tolerates and the uvm refuses: no trace */
		r->checked = false;
		r->found = false;
		snprintf(r->skipped, sizeof(r->skipped), "the uvm did not run it: %s %s",
			 rc < 0 ? "error" : bd_status_name(ur.status), rc < 0 ? strerror(-rc) : ur.message);
		s->oracle_runs--;
		s->oracle_skipped++;
		bd_result_reset(&ur);
		return;
	}
	r->kernel_agrees = bd_results_agree(kr, &ur);
	bd_result_reset(&ur);
	if (!r->found)
		return;
	char line[sizeof(o->reason)];
	snprintf(line, sizeof(line), "verifier unsound at insn %u: r%d = %#llx, but the verifier claimed %s; the kernel's run %s the uvm's",
		 r->pc, r->reg, (unsigned long long)r->value, r->claim, r->kernel_agrees ? "agreed with" : "differed from");
	if (bd_verdict_is_bad(o->verdict))
		return; /* the worse verdict stays; the oracle's finding is in o->oracle */
	memcpy(o->reason, line, sizeof(o->reason));
	memset(o->deviated, 0, sizeof(o->deviated));
	o->deviated[k] = true;
	char key[sizeof(s->slot[0].name) + 48];
	snprintf(key, sizeof(key), "|%s/uvm|verifier-unsound", s->slot[k].name);
	signature_with_key(c, key, o->signature, sizeof(o->signature));
	/* An unreviewed find of this oracle that still reproduces: as for discrepancies. */
	bool known = bd_case_unconfirmed(c) && c->signature &&
		     !strcmp(bd_signature_key(c->signature), bd_signature_key(o->signature));
	o->verdict = known ? BD_V_UNCONFIRMED : BD_V_UNSOUND;
	if (known)
		o->find_gone = false;
}

int bd_session_run(struct bd_session *s, const struct bd_case *c, struct bd_outcome *o)
{
	bd_outcome_reset(o);
	/* A find of the oracle (its signature says so) is judged by it again
	 * wherever it runs: `bpfdiff replay corpus`, `bpfdiff minimize`. */
	bool session = s->cfg.verifier_states;
	s->cfg.verifier_states |= c->signature && strstr(c->signature, "|verifier-unsound") != NULL;
	int rc = classify(s, c, o);
	if (rc >= 0 && s->cfg.verifier_states)
		run_oracle(s, c, o);
	s->cfg.verifier_states = session;
	return rc;
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

/*
 * The program in a report: whole when it is short, else windows of
 * REPORT_RADIUS instructions around the pcs that matter -- each backend's
 * fault or timeout pc and the pcs its message names ("pc 7:", "insn 7"),
 * plus the first and the last instruction -- and how many were left out
 * between them, so a 65,535-instruction case gives a screenful, not 65,548
 * lines. A line a backend points at is marked '>'.
 */
#define REPORT_WHOLE 64
#define REPORT_RADIUS 6
#define REPORT_MAX_MARKS 32

static void add_mark(size_t *marks, int *nmarks, unsigned long long pc, size_t n)
{
	if (pc >= n || *nmarks >= REPORT_MAX_MARKS)
		return;
	for (int i = 0; i < *nmarks; i++)
		if (marks[i] == pc)
			return;
	marks[(*nmarks)++] = (size_t)pc;
}

/* pcs a message names: "pc N:" (uvm, xdp) and "insn N" (the kernel, in case numbering). */
static void marks_from_message(const char *msg, size_t *marks, int *nmarks, size_t n)
{
	for (const char *p = msg; (p = strpbrk(p, "pi")); p++) {
		const char *num = !strncmp(p, "pc ", 3) ? p + 3 : !strncmp(p, "insn ", 5) ? p + 5 : NULL;
		if (!num || !isdigit((unsigned char)*num) || (p > msg && isalnum((unsigned char)p[-1])))
			continue;
		add_mark(marks, nmarks, strtoull(num, NULL, 10), n);
	}
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static void report_program(FILE *out, const struct bd_session *s, const struct bd_case *c,
			   const struct bd_outcome *o)
{
	size_t n = c->ninsns, marks[REPORT_MAX_MARKS + 2];
	int nmarks = 0, npointed;
	for (int i = 0; i < s->n; i++) {
		if (o->res[i].has_pc)
			add_mark(marks, &nmarks, o->res[i].pc, n);
		marks_from_message(o->res[i].message, marks, &nmarks, n);
	}
	if (o->oracle.found)
		add_mark(marks, &nmarks, o->oracle.pc, n);
	npointed = nmarks;
	size_t pointed[REPORT_MAX_MARKS];
	memcpy(pointed, marks, (size_t)npointed * sizeof(marks[0]));
	bool whole = n <= REPORT_WHOLE;
	if (!whole) {
		nmarks = npointed;
		marks[nmarks++] = 0;
		marks[nmarks++] = n - 1;
		qsort(marks, (size_t)nmarks, sizeof(marks[0]), cmp_size);
	}
	if (whole)
		fprintf(out, "  program:\n");
	else
		fprintf(out, "  program: %zu instructions; shown: %d either side of each pc a backend names (>), "
			"the first and the last\n", n, REPORT_RADIUS);
	char line[128];
	size_t elided = 0, pc = 0, k = 0;
	while (pc < n) {
		/* Skip to the next window start (on an instruction boundary: lddw takes two slots). */
		if (!whole) {
			while (k < (size_t)nmarks && marks[k] + REPORT_RADIUS < pc)
				k++;
			size_t from = k < (size_t)nmarks ? (marks[k] > REPORT_RADIUS ? marks[k] - REPORT_RADIUS : 0) : n;
			if (from > pc) {
				size_t next = pc;
				while (next < from) { /* walk units so we never land in an lddw's second half */
					int slots = 1;
					bd_disasm_insn(c->insns, n, next, line, sizeof(line), &slots);
					next += slots > 0 ? (size_t)slots : 1;
				}
				elided += next - pc;
				fprintf(out, "    ...   (%zu instructions)\n", next - pc);
				pc = next;
				continue;
			}
		}
		int slots = 1;
		bd_disasm_insn(c->insns, n, pc, line, sizeof(line), &slots);
		bool at = false;
		for (int i = 0; i < npointed; i++)
			at |= pointed[i] == pc;
		fprintf(out, "  %c %4zu: %s\n", at ? '>' : ' ', pc, line);
		pc += slots > 0 ? (size_t)slots : 1;
	}
	if (elided)
		fprintf(out, "  (%zu of %zu instructions not shown)\n", elided, n);
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
	report_program(out, s, c, o);
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
	if (o->first_map_diff >= 0 && o->first_map_diff < c->nmaps) {
		const struct bd_map *m = &c->maps[o->first_map_diff];
		fprintf(out, "  first differing map element: map %s, %s\n", m->name, o->map_diff);
		for (int i = 0; i < s->n; i++) {
			const struct bd_result *r = &o->res[i];
			if (!r->maps || o->first_map_diff >= r->nmaps)
				continue;
			const struct bd_map_contents *mc = &r->maps[o->first_map_diff];
			const struct bd_map_elem *e = NULL;
			for (size_t k = 0; k < mc->n && !e; k++)
				if (!memcmp(mc->e[k].key, o->map_diff_key, m->key_size))
					e = &mc->e[k];
			if (!e)
				fprintf(out, "    %-8s (no such key)\n", s->slot[i].name);
			else
				hexdump_around(out, s->slot[i].name, e->value, m->value_size,
					       o->map_diff_byte >= 0 ? (int)o->map_diff_byte : -1);
		}
	}
	for (int i = 0; i < s->n; i++)
		if (o->env_excused[i])
			fprintf(out, "  %s not judged: the result depends on %s, whose values it takes from its own "
				     "environment\n", s->slot[i].name, o->env_helper);
	const struct bd_oracle_result *vo = &o->oracle;
	if (vo->found) {
		fprintf(out, "  verifier oracle: before insn %u, r%d = 0x%llx (uvm trace); the verifier logged %d "
			     "distinct state%s there, none containing it:\n",
			vo->pc, vo->reg, (unsigned long long)vo->value, vo->nclaims, vo->nclaims == 1 ? "" : "s");
		fprintf(out, "    %s\n", vo->claim);
		fprintf(out, "  the kernel's own run %s the uvm's (both sides can be wrong)\n",
			vo->kernel_agrees < 0 ? "was not compared with" : vo->kernel_agrees ? "agreed with" : "differed from");
	} else if (vo->skipped[0]) {
		fprintf(out, "  verifier oracle: not judged: %s\n", vo->skipped);
	}
}
