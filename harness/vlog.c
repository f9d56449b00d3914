/* SPDX-License-Identifier: MIT */
/* The verifier's level-2 log as data (see vlog.h for the format it reads). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vlog.h"

void vlog_bounds_unknown(struct vlog_bounds *b)
{
	*b = (struct vlog_bounds){ INT64_MIN, INT64_MAX, 0, UINT64_MAX, INT32_MIN, INT32_MAX, 0, UINT32_MAX, 0,
				   UINT64_MAX };
}

static void bounds_const(struct vlog_bounds *b, uint64_t c)
{
	*b = (struct vlog_bounds){ (int64_t)c, (int64_t)c, c, c, (int32_t)(uint32_t)c, (int32_t)(uint32_t)c,
				   (uint32_t)c, (uint32_t)c, c, 0 };
}

bool vlog_bounds_contain(const struct vlog_bounds *b, uint64_t x)
{
	int64_t s = (int64_t)x;
	uint32_t x32 = (uint32_t)x;
	int32_t s32 = (int32_t)x32;
	return s >= b->smin && s <= b->smax && x >= b->umin && x <= b->umax && s32 >= b->smin32 &&
	       s32 <= b->smax32 && x32 >= b->umin32 && x32 <= b->umax32 &&
	       (x & ~b->tnum_mask) == b->tnum_value;
}

/* A number as the verifier prints one: decimal, negative decimal or 0x hex;
 * the bits, read as the field's width by the caller. */
static int parse_num(const char *s, const char *end, uint64_t *out)
{
	char buf[32];
	size_t n = (size_t)(end - s);
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *e;
	errno = 0;
	if (buf[0] == '-')
		*out = (uint64_t)strtoll(buf, &e, 0);
	else
		*out = strtoull(buf, &e, 0);
	return *e || errno ? -1 : 0;
}

/* One "k1=k2=...=value" item of a parenthesised list. */
static int apply_item(const char *s, const char *end, struct vlog_reg *r)
{
	const char *val = end;
	while (val > s && val[-1] != '=')
		val--;
	if (val == s)
		return 0; /* no '=': nothing we read */
	if (*val == '(') {
		/* var_off=(value; mask) */
		const char *semi = memchr(val, ';', (size_t)(end - val));
		if (!semi || end[-1] != ')' || strncmp(s, "var_off=", 8))
			return -1;
		const char *m = semi + 1;
		while (*m == ' ')
			m++;
		if (parse_num(val + 1, semi, &r->b.tnum_value) || parse_num(m, end - 1, &r->b.tnum_mask))
			return -1;
		return 0;
	}
	for (const char *k = s; k < val;) {
		const char *eq = memchr(k, '=', (size_t)(val - k));
		size_t kl = (size_t)(eq - k);
		uint64_t x;
#define KEY(name) (kl == sizeof(name) - 1 && !memcmp(k, name, kl))
		if (KEY("map")) {
			snprintf(r->map, sizeof(r->map), "%.*s", (int)(end - val), val);
		} else if (KEY("id") || KEY("ref_obj_id") || KEY("ks") || KEY("r")) {
			/* identities and sizes the check does not use */
		} else if (parse_num(val, end, &x)) {
			return -1;
		} else if (KEY("smin")) {
			r->b.smin = (int64_t)x;
		} else if (KEY("smax")) {
			r->b.smax = (int64_t)x;
		} else if (KEY("umin")) {
			r->b.umin = x;
		} else if (KEY("umax")) {
			r->b.umax = x;
		} else if (KEY("smin32")) {
			r->b.smin32 = (int32_t)(uint32_t)x;
		} else if (KEY("smax32")) {
			r->b.smax32 = (int32_t)(uint32_t)x;
		} else if (KEY("umin32")) {
			r->b.umin32 = (uint32_t)x;
		} else if (KEY("umax32")) {
			r->b.umax32 = (uint32_t)x;
		} else if (KEY("off")) {
			r->off = (int32_t)x;
		} else if (KEY("vs")) {
			r->value_size = (uint32_t)x;
		} else if (KEY("imm")) {
			/* a pointer's constant variable part, printed in hex without 0x */
			char buf[24];
			snprintf(buf, sizeof(buf), "%.*s", (int)(end - val), val);
			bounds_const(&r->b, strtoull(buf, NULL, 16));
		}
#undef KEY
		k = eq + 1;
	}
	return 0;
}

/* "(a=1,b=(x; y),...)" from s (at '(') to end (after ')'). */
static int apply_list(const char *s, const char *end, struct vlog_reg *r)
{
	if (end - s < 2 || *s != '(' || end[-1] != ')')
		return -1;
	const char *item = s + 1;
	int depth = 0;
	for (const char *p = s + 1; p < end - 1; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == ',' && !depth) {
			if (apply_item(item, p, r))
				return -1;
			item = p + 1;
		}
	}
	return item < end - 1 ? apply_item(item, end - 1, r) : 0;
}

int vlog_parse_value(const char *s, size_t len, struct vlog_reg *r)
{
	const char *end = s + len;
	memset(r, 0, sizeof(*r));
	r->frame = -1;
	vlog_bounds_unknown(&r->b);
	if (s < end && *s == 'P') {
		r->precise = true;
		s++;
	}
	if (s == end)
		return -1;
	if (*s == '-' || (*s >= '0' && *s <= '9')) {
		uint64_t c;
		if (parse_num(s, end, &c))
			return -1;
		r->kind = VLOG_SCALAR;
		bounds_const(&r->b, c);
		return 0;
	}
	if (!strncmp(s, "scalar(", 7)) {
		r->kind = VLOG_SCALAR;
		return apply_list(s + 6, end, r);
	}
	if (!strncmp(s, "map_value(", 10)) {
		r->kind = VLOG_MAP_VALUE;
		bounds_const(&r->b, 0); /* no variable part unless printed */
		struct vlog_bounds fixed = r->b;
		bool variable = memmem(s, len, "var_off=", 8) || memmem(s, len, "min", 3) || memmem(s, len, "max", 3);
		if (variable)
			vlog_bounds_unknown(&r->b);
		int rc = apply_list(s + 9, end, r);
		if (!variable && !memmem(s, len, "imm=", 4))
			r->b = fixed;
		return rc;
	}
	if (!strncmp(s, "fp", 2)) {
		r->kind = VLOG_STACK;
		s += 2;
		if (s < end && *s == '[') {
			char *e;
			r->frame = (int)strtol(s + 1, &e, 10);
			if (e >= end || *e != ']')
				return -1;
			s = e + 1;
		}
		if (s < end && *s == '(') {
			vlog_bounds_unknown(&r->b);
			return apply_list(s, end, r);
		}
		uint64_t off;
		if (parse_num(s, end, &off))
			return -1;
		r->off = (int32_t)off;
		bounds_const(&r->b, 0);
		return 0;
	}
	/* ctx(), map_value_or_null(...), func(), map_ptr(...), ...: a type we
	 * do not check, but it is one: the register is initialised. */
	const char *paren = memchr(s, '(', (size_t)(end - s));
	if (paren && end[-1] == ')') {
		r->kind = VLOG_OTHER;
		return 0;
	}
	return -1;
}

static void fmt_bounds(const struct vlog_bounds *b, char *out, size_t outlen)
{
	snprintf(out, outlen,
		 "smin=%lld,smax=%lld,umin=%#llx,umax=%#llx,smin32=%d,smax32=%d,umin32=%#x,umax32=%#x,var_off=(%#llx; %#llx)",
		 (long long)b->smin, (long long)b->smax, (unsigned long long)b->umin, (unsigned long long)b->umax,
		 b->smin32, b->smax32, b->umin32, b->umax32, (unsigned long long)b->tnum_value,
		 (unsigned long long)b->tnum_mask);
}

void vlog_reg_format(const struct vlog_reg *r, char *out, size_t outlen)
{
	char b[320];
	bool konst = !r->b.tnum_mask;
	if (konst)
		snprintf(b, sizeof(b), "%#llx", (unsigned long long)r->b.tnum_value);
	else
		fmt_bounds(&r->b, b, sizeof(b));
	switch (r->kind) {
	case VLOG_SCALAR:
		snprintf(out, outlen, konst ? "%s%s" : "%sscalar(%s)", r->precise ? "P" : "", b);
		break;
	case VLOG_MAP_VALUE:
		snprintf(out, outlen, "map_value(map=%s,vs=%u,off=%d,var=%s%s%s)", r->map, r->value_size, r->off,
			 konst ? "" : "(", b, konst ? "" : ")");
		break;
	case VLOG_STACK:
		snprintf(out, outlen, "fp(off=%d,var=%s%s%s)", r->off, konst ? "" : "(", b, konst ? "" : ")");
		break;
	case VLOG_OTHER:
		snprintf(out, outlen, "(a pointer type not checked)");
		break;
	default:
		snprintf(out, outlen, "(not initialised)");
	}
}

/* ---- the log ----------------------------------------------------------- */

/* Registers in a printed state ("R0=5 R1=fp-8 fp-8=mmmmmmmm frame1: ..."):
 * each Rn applied to regs; full = the state replaces regs entirely. */
static int apply_state(const char *s, const char *end, struct vlog_reg *regs, bool full)
{
	if (full)
		for (int i = 0; i < 11; i++)
			regs[i] = (struct vlog_reg){ .kind = VLOG_NONE, .frame = -1 };
	const char *p = s;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		/* A token: up to a space outside parentheses. */
		const char *t = p;
		int depth = 0;
		while (p < end && (depth || *p != ' ')) {
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		}
		if (t[0] != 'R' || t + 1 >= p || t[1] < '0' || t[1] > '9')
			continue; /* frameN:, stack slots fp-8=..., refs=... */
		char *e;
		long reg = strtol(t + 1, &e, 10);
		if (reg < 0 || reg > 10 || e >= p)
			return -1;
		if (!strncmp(e, "_w", 2))
			e += 2;
		if (*e != '=')
			return -1;
		struct vlog_reg r;
		if (vlog_parse_value(e + 1, (size_t)(p - (e + 1)), &r))
			return -1;
		regs[reg] = r;
	}
	return 0;
}

static int add_point(struct vlog *v, uint32_t insn, const struct vlog_reg *regs)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct vlog_point *p = realloc(v->pts, cap * sizeof(*p));
		if (!p)
			return -1;
		v->pts = p;
		v->cap = cap;
	}
	struct vlog_point *pt = &v->pts[v->n++];
	pt->insn = insn;
	memcpy(pt->r, regs, sizeof(pt->r));
	return 0;
}

/* Insn numbers above the verifier's limit (1M insns) are no insns: a count in a message. */
#define VLOG_MAX_INSN (1u << 24)

static int add_edge(struct vlog_edge **e, size_t *n, size_t *cap, uint32_t from, uint32_t to)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct vlog_edge *x = realloc(*e, c * sizeof(*x));
		if (!x)
			return -1;
		*e = x;
		*cap = c;
	}
	(*e)[(*n)++] = (struct vlog_edge){ from, to };
	return 0;
}

static int see_insn(struct vlog *v, size_t insn)
{
	if (insn < v->ninsns)
		return 0;
	if (insn >= VLOG_MAX_INSN)
		return -1;
	size_t n = insn + 1;
	uint8_t *p = realloc(v->pruned, n);
	if (!p)
		return -1;
	memset(p + v->ninsns, 0, n - v->ninsns);
	v->pruned = p;
	v->ninsns = n;
	return 0;
}

static bool digit(char c) { return c >= '0' && c <= '9'; }

int vlog_parse(const char *text, struct vlog *v, char *err, size_t errlen)
{
	return vlog_parse_case(text, 0, v, err, errlen);
}

int vlog_parse_case(const char *text, uint32_t first, struct vlog *v, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	struct vlog_reg cur[11];
	bool valid = true;        /* cur is the state of the path being printed */
	for (int i = 0; i < 11; i++)
		cur[i] = (struct vlog_reg){ .kind = VLOG_NONE, .frame = -1 }; /* before insn 0: nothing initialised */
	enum { NONE, SKIP_TO_CALLEE, CALLEE, SKIP_TO_CALLER, CALLER } expect = NONE;
	long prev = -1; /* the insn the current path processed last, -1 none */
	size_t lineno = 0;
	const char *why = NULL;

	for (const char *l = text; *l; ) {
		const char *nl = strchr(l, '\n'), *end = nl ? nl : l + strlen(l);
		lineno++;
		unsigned long a, b;
		char *e;
		if (expect == SKIP_TO_CALLEE || expect == SKIP_TO_CALLER) {
			if (expect == SKIP_TO_CALLEE && !strncmp(l, "callee:", 7))
				expect = CALLEE;
			else if (expect == SKIP_TO_CALLER && !strncmp(l, "to caller at ", 13))
				expect = CALLER;
		} else if (expect == CALLEE || expect == CALLER) {
			/* " frame1: R1=fp[0]-8 R10=fp0" / " R0=0 R10=fp0 fp-8=77" */
			if (apply_state(l, end, cur, true)) {
				why = "cannot read the state at a call or return";
				break;
			}
			valid = true;
			expect = NONE;
		} else if (!strncmp(l, "caller:", 7)) {
			expect = SKIP_TO_CALLEE;
		} else if (!strncmp(l, "returning from callee:", 22)) {
			expect = SKIP_TO_CALLER;
		} else if (!strncmp(l, "processed ", 10)) {
			v->complete = true;
		} else if (!strncmp(l, "from ", 5)) {
			a = strtoul(l + 5, &e, 10);
			if (strncmp(e, " to ", 4) || !digit(e[4])) {
				why = "a 'from A to B' line without B";
				break;
			}
			b = strtoul(e + 4, &e, 10);
			const char *colon = memchr(e, ':', (size_t)(end - e));
			if (!colon || see_insn(v, b)) {
				why = colon ? "a 'from A to B' line with B out of range (or no memory)"
					    : "a 'from A to B' line without ':'";
				break;
			}
			if (!strncmp(colon, ": safe", 6)) {
				v->pruned[b] = 1;
				valid = false;
				if (add_edge(&v->pruned_steps, &v->npruned_steps, &v->cappruned, (uint32_t)a,
					     b < first ? VLOG_ANY : (uint32_t)b)) {
					why = "out of memory";
					break;
				}
				prev = -1;
			} else if (apply_state(colon + 1, end, cur, true)) {
				why = "cannot read the state of a 'from A to B' line";
				break;
			} else {
				valid = true;
				prev = a < VLOG_MAX_INSN ? (long)a : -1;
				if (b < first)
					prev = -1; /* a path resuming inside bpfdiff's own insns: not the case's */
			}
		} else if (digit(*l)) {
			unsigned long n = strtoul(l, &e, 10);
			if (*e != ':' || see_insn(v, n)) {
				l = nl ? nl + 1 : end; /* not ours (a count in a message) */
				continue;
			}
			const char *rest = e + 1;
			if (!strncmp(rest, " safe", 5)) {
				v->pruned[n] = 1;
				valid = false;
				if (prev >= 0 && add_edge(&v->pruned_steps, &v->npruned_steps, &v->cappruned, (uint32_t)prev,
							  n < first ? VLOG_ANY : (uint32_t)n)) {
					why = "out of memory";
					break;
				}
				prev = -1;
			} else if (rest[0] == ' ' && rest[1] == '(') {
				/* "N: (op) text   ; R0=..." */
				if (valid && add_point(v, (uint32_t)n, cur)) {
					why = "out of memory";
					break;
				}
				if (n >= first) {
					if (prev >= 0 &&
					    add_edge(&v->steps, &v->nsteps, &v->capsteps, (uint32_t)prev, (uint32_t)n)) {
						why = "out of memory";
						break;
					}
					prev = (long)n;
				} /* else bpfdiff's insns: the step goes over them */
				unsigned op = (unsigned)strtoul(rest + 2, NULL, 16);
				const char *semi = memchr(rest, ';', (size_t)(end - rest));
				if (op == 0x85 && !memmem(rest, (size_t)(end - rest), "call pc", 7)) {
					/* a helper (or kfunc): r0-r5 unreadable after it; r0 then
					 * holds what the line prints (nothing for a void helper such
					 * as bpf_tail_call falling through: not initialised). The
					 * search stays on this line: a later "call pc" (a mark_precise
					 * trace) must not make a helper look like a local call. */
					for (int i = 0; i <= 5; i++)
						cur[i] = (struct vlog_reg){ .kind = VLOG_NONE, .frame = -1 };
				}
				if (semi && valid && apply_state(semi + 1, end, cur, false)) {
					why = "cannot read the state after an instruction";
					break;
				}
				if (op == 0x95)
					valid = false; /* the path ends, or "returning from callee" follows */
			} else if (valid && apply_state(rest, end, cur, false)) {
				why = "cannot read a state line";
				break;
			}
		}
		l = nl ? nl + 1 : end;
	}
	if (why) {
		snprintf(err, errlen, "verifier log line %zu: %s", lineno, why);
		vlog_free(v);
		return -1;
	}
	return 0;
}

void vlog_free(struct vlog *v)
{
	free(v->pts);
	free(v->pruned);
	free(v->steps);
	free(v->pruned_steps);
	memset(v, 0, sizeof(*v));
}
