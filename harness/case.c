/* SPDX-License-Identifier: MIT */
/*
 * The .data format of bpf_conformance and ubpf, plus bpfdiff's own sections.
 *
 *   # comment lines (licence, bug class)      -> comment; `#` starts a comment on any line
 *   -- asm            assembly (harness/asm.c)
 *   -- raw            instructions: a line with one token is a 64-bit little-endian word, read as
 *                     ubpf's test_framework/testdata.py reads it, int(line, 0) ("0x0000000100010007",
 *                     "149"); a line with several is hex bytes, whole 8-byte instructions
 *   -- mem            input memory, hex bytes; a hexdump offset ("0x0010:") before a line is skipped
 *   -- result         expected R0 (hex or decimal, 64-bit; a negative decimal is two's complement)
 *   -- error          expected error text (may be empty)
 *   -- error pattern  expected error, POSIX extended regex
 *   -- c / -- no register offset / -- no jit    kept verbatim in `extra`, ignored
 *   -- description    free text
 *   -- NAME @ FILE    (asm, raw, mem, mem after) the section's text is FILE, relative to the case (ubpf)
 *   -- unload         (ubpf) load the program again and run it again: `rerun`
 *   -- reload, -- pyelf   (ubpf) kept; the case is skipped with the reason in `skip`
 * bpfdiff's own:
 *   -- mem after      expected memory after the run, hex bytes
 *   -- expect BACKEND [SCOPE]    a declared deviation: `STATUS [message substring]` and/or
 *                     `result 0xVALUE`; `# ...` lines give the reason; SCOPE limits it to kernel
 *                     releases, arches, JIT state (`arch=x86_64 release<6.6 jit=off`)
 *   -- observed BACKEND [SCOPE]  what a backend did when a fuzz find was made (same body)
 *   -- signature      one line (dedup key of a fuzz find)
 *   -- cpu            v1..v4
 *   -- map NAME TYPE key=K value=V max_entries=N [flags=F] [freeze]
 *                     a map and its initial contents, `KEY: VALUE` lines (harness/maps.h);
 *                     declared before the program that names it
 *   -- map NAME after the map's expected contents after the run
 *   -- program NAME   a further program (assembly): a tail-call target a prog_array names
 *   -- helper values  `bpf_ktime_get_ns 1 2 3`: what the environment helpers return in the
 *                     uvm and the xdp VM (the kernel's own values are its environment's)
 *
 * When both -- asm and -- raw are present they must encode the same bytes.
 * Any other `-- name` line is an input error, as are bytes that are not hex,
 * values out of range, a missing included file and a file without a program
 * (unless it is skipped). Every error is -EINVAL with "PATH:LINE: message";
 * in an included file, its path and line, then the case line that includes it.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asm.h"
#include "backend.h"
#include "case.h"
#include "helpers.h"

enum sect {
	S_NONE,
	S_ASM,
	S_RAW,
	S_MEM,
	S_RESULT,
	S_ERROR,
	S_ERROR_PATTERN,
	S_EXTRA,
	S_DESCRIPTION,
	S_MEM_AFTER,
	S_RESULT_BE,
	S_MEM_AFTER_BE,
	S_EXPECT,
	S_OBSERVED,
	S_SIGNATURE,
	S_CPU,
	S_PYELF,
	S_RELOAD,
	S_UNLOAD,
	S_MAP,
	S_MAP_AFTER,
	S_PROGRAM,
	S_HELPER_VALUES,
	S_COUNT,
};

struct parser {
	const char *path;
	char *err;
	size_t errlen;
	struct bd_case *c;
	/* the section being collected */
	enum sect kind;
	char name[BD_BACKEND_NAME_MAX + 128];
	int hdr_line;
	int first_line;
	char *buf;
	size_t len, cap;
	int seen[S_COUNT];
	/* `-- NAME @ FILE`: the section's text came from this file (for messages) */
	char *incl_path;
	/* -- raw, kept aside until -- asm (if any) is known */
	struct ebpf_insn *raw;
	size_t nraw;
	int raw_line;
	/* -- map / -- program: the rest of the header line */
	char arg[256];
	int prog_line[BD_MAX_MAPS * 4]; /* header line of each -- program, for errors */
	int map_line[BD_MAX_MAPS];      /* header line of each -- map */
};

static int perr(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen) {
		if (line > 0)
			snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
		else
			snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	}
	return -EINVAL;
}

/* An error in a section's text: in an included file, that file's path and line
 * and then the case line that includes it. */
static int berr(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int berr(struct parser *p, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->incl_path)
		return perr(p, line, "%s", msg);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%d: %s (included by %s:%d)", p->incl_path, line, msg, p->path,
			 p->hdr_line);
	return -EINVAL;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		while (nc < *len + n + 1)
			nc *= 2;
		char *q = realloc(*buf, nc);
		if (!q)
			return -ENOMEM;
		*buf = q;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

/* Iterate over the lines of text: returns the next line and its length (no '\n'), or NULL at the end. */
static const char *next_line(const char **cursor, size_t *len)
{
	const char *s = *cursor;
	if (!s || !*s)
		return NULL;
	const char *e = strchr(s, '\n');
	*len = e ? (size_t)(e - s) : strlen(s);
	*cursor = e ? e + 1 : s + *len;
	return s;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* Copy of the section text without its trailing blank lines (and final newline). */
static char *text_trimmed(const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	/* keep trailing blanks of the last line only if it has text: simple rule, strip them */
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, buf, len);
	s[len] = 0;
	return s;
}

/* The text without `#` comments and blank lines, lines joined by '\n'. */
static char *text_uncommented(const char *text)
{
	char *out = NULL;
	size_t len = 0, cap = 0, ll;
	const char *l, *cur = text;
	if (append(&out, &len, &cap, "", 0))
		return NULL;
	while ((l = next_line(&cur, &ll))) {
		const char *hash = memchr(l, '#', ll);
		if (hash)
			ll = (size_t)(hash - l);
		while (ll && isspace((unsigned char)l[ll - 1]))
			ll--;
		if (!ll)
			continue;
		if ((len && append(&out, &len, &cap, "\n", 1)) || append(&out, &len, &cap, l, ll)) {
			free(out);
			return NULL;
		}
	}
	return out;
}

/* --- numbers and hex ------------------------------------------------------ */

/* 64-bit value: 0x hex, decimal, or negative decimal/hex (two's complement). */
static int parse_u64(const char *s, uint64_t *out)
{
	int neg, hex;
	uint64_t v;
	if (bd_parse_number(s, &neg, &v, &hex) < 0 || (neg && v > 0x8000000000000000ull))
		return -1;
	*out = neg ? 0 - v : v;
	return 0;
}

struct bytes {
	uint8_t *b;
	size_t len, cap;
};

static int put_byte(struct bytes *o, uint8_t v)
{
	if (o->len == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 64;
		uint8_t *q = realloc(o->b, nc);
		if (!q)
			return -ENOMEM;
		o->b = q;
		o->cap = nc;
	}
	o->b[o->len++] = v;
	return 0;
}

/*
 * One token of hex bytes: "aa", "0xaa", or a run "aabbcc" (even length, as in
 * tcpdump's "0026 622f" groups). Returns 0, -EINVAL (message in msg) or -ENOMEM.
 */
static int hex_token(const char *t, struct bytes *o, char *msg, size_t msglen)
{
	int prefixed = t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
	const char *d = prefixed ? t + 2 : t;
	size_t n = strlen(d);
	for (size_t i = 0; i < n; i++)
		if (bd_hex_digit((unsigned char)d[i]) < 0) {
			snprintf(msg, msglen, "invalid hex byte '%s'", t);
			return -EINVAL;
		}
	if (!n) {
		snprintf(msg, msglen, "invalid hex byte '%s'", t);
		return -EINVAL;
	}
	if (n <= 2) {
		int v = bd_hex_digit((unsigned char)d[0]);
		if (n == 2)
			v = v << 4 | bd_hex_digit((unsigned char)d[1]);
		return put_byte(o, (uint8_t)v) ? -ENOMEM : 0;
	}
	if (prefixed || n % 2) {
		snprintf(msg, msglen, "invalid hex byte '%s' (one byte per token, or an even run of digits)", t);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i += 2)
		if (put_byte(o, (uint8_t)(bd_hex_digit((unsigned char)d[i]) << 4 | bd_hex_digit((unsigned char)d[i + 1]))))
			return -ENOMEM;
	return 0;
}

/* A hexdump line's offset column, "0x0010:" (tcpdump -xx) or "00000010:": ubpf's
 * testdata.py drops everything up to the line's last ':'; we drop it only when
 * it is an offset, so that a stray ':' is still bad input. Returns where the
 * bytes start, or NULL for a colon after something that is not an offset. */
static const char *skip_offset(const char *s, size_t n)
{
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon)
		return s;
	const char *q = s;
	while (q < colon && isspace((unsigned char)*q))
		q++;
	if (colon - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
		q += 2;
	if (q == colon)
		return NULL;
	for (; q < colon; q++)
		if (bd_hex_digit((unsigned char)*q) < 0)
			return NULL;
	return colon + 1;
}

/* Hex bytes of a whole section; `#` comments allowed; with dump != 0 a line
 * may start with a hexdump offset. *bad_line = offending line index. */
static int hex_text(const char *text, int dump, struct bytes *o, int *bad_line, char *msg, size_t msglen)
{
	int li = 0;
	const char *s = text;
	while (s && *s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		const char *next = e ? e + 1 : NULL;
		const char *hash = memchr(s, '#', n);
		if (hash)
			n = (size_t)(hash - s);
		if (dump) {
			const char *b = skip_offset(s, n);
			if (!b) {
				*bad_line = li;
				snprintf(msg, msglen, "invalid hexdump offset before ':' (expected e.g. '0x0010:')");
				return -EINVAL;
			}
			n -= (size_t)(b - s);
			s = b;
		}
		size_t i = 0;
		while (i < n) {
			while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
				i++;
			size_t j = i;
			while (j < n && !isspace((unsigned char)s[j]) && s[j] != ',')
				j++;
			if (j > i) {
				char tok[64];
				if (j - i >= sizeof(tok)) {
					*bad_line = li;
					snprintf(msg, msglen, "hex token too long");
					return -EINVAL;
				}
				memcpy(tok, s + i, j - i);
				tok[j - i] = 0;
				int rc = hex_token(tok, o, msg, msglen);
				if (rc) {
					*bad_line = li;
					return rc;
				}
			}
			i = j;
		}
		s = next;
		li++;
	}
	return 0;
}

/*
 * One `-- raw` instruction word as ubpf's test_framework/testdata.py reads it:
 * int(line, 0), then struct.pack("=Q"): an optional sign, 0x/0o/0b digits or a
 * decimal without leading zeros, single `_` between digits; the value must fit
 * an unsigned 64-bit word. Returns 0, or -1 (syntax), -2 (negative), -3 (too wide).
 */
static int parse_raw_word(const char *s, uint64_t *out)
{
	int neg = 0;
	unsigned base = 10;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && s[1] && strchr("xXoObB", s[1])) {
		base = (s[1] | 0x20) == 'x' ? 16 : (s[1] | 0x20) == 'o' ? 8 : 2;
		s += 2;
		if (*s == '_')
			s++;
	} else if (s[0] == '0') {
		for (const char *q = s; *q; q++)
			if (*q != '0' && *q != '_')
				return -1; /* Python refuses "010" */
	}
	uint64_t v = 0;
	int digits = 0, under = 0;
	for (; *s; s++) {
		if (*s == '_') {
			if (under || !digits)
				return -1;
			under = 1;
			continue;
		}
		int d = bd_hex_digit((unsigned char)*s);
		if (d < 0 || (unsigned)d >= base)
			return -1;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return -3;
		v = v * base + (unsigned)d;
		digits++;
		under = 0;
	}
	if (!digits || under)
		return -1;
	if (neg && v)
		return -2;
	*out = v;
	return 0;
}

/*
 * `-- raw`, a line at a time (comments and blank lines allowed). A line with
 * one token is one instruction word as ubpf reads it; a line with several is
 * hex bytes, whole 8-byte instructions (bpf_conformance's negative/unused-*
 * files, `bpfdiff asm --hex` output). A lone token is never read as a byte.
 */
static int raw_words(struct parser *p, const char *text, struct bytes *o)
{
	size_t ll;
	const char *l, *cur = text;
	for (int i = 0; (l = next_line(&cur, &ll)); i++) {
		char tmp[1024], msg[160];
		int line = p->first_line + i;
		const char *hash = memchr(l, '#', ll);
		if (hash)
			ll = (size_t)(hash - l);
		if (ll >= sizeof(tmp))
			return berr(p, line, "line too long");
		memcpy(tmp, l, ll);
		tmp[ll] = 0;
		char *w = trim(tmp);
		if (!*w)
			continue;
		if (w[strcspn(w, " \t,")]) {
			size_t before = o->len;
			int bad, rc = hex_text(w, 0, o, &bad, msg, sizeof(msg));
			if (rc)
				return rc == -EINVAL ? berr(p, line, "%s", msg) : rc;
			if ((o->len - before) % 8)
				return berr(p, line, "%zu hex bytes: a line of -- raw bytes holds whole 8-byte instructions",
					    o->len - before);
			continue;
		}
		uint64_t v;
		int rc = parse_raw_word(w, &v);
		if (rc == -2)
			return berr(p, line, "negative instruction word '%s' (ubpf packs -- raw as unsigned 64-bit)", w);
		if (rc == -3)
			return berr(p, line, "instruction word '%s' wider than 64 bits", w);
		if (rc)
			return berr(p, line,
				    "invalid instruction word '%s' (a -- raw line is one 64-bit value, 0x hex or decimal "
				    "as ubpf reads it, or an instruction's 8 hex bytes)", w);
		for (int k = 0; k < 8; k++)
			if (put_byte(o, (uint8_t)(v >> (8 * k))))
				return -ENOMEM;
	}
	return 0;
}

int bd_parse_hex_bytes(const char *text, uint8_t **out, size_t *outlen)
{
	struct bytes o = { 0 };
	char msg[128];
	int line;
	*out = NULL;
	*outlen = 0;
	int rc = hex_text(text ? text : "", 0, &o, &line, msg, sizeof(msg));
	if (rc) {
		free(o.b);
		return rc;
	}
	*out = o.b;
	*outlen = o.len;
	return 0;
}

/* --- sections ---------------------------------------------------------------- */

static const char *sect_name(enum sect k)
{
	static const char *names[S_COUNT] = {
		[S_ASM] = "asm", [S_RAW] = "raw", [S_MEM] = "mem", [S_RESULT] = "result",
		[S_ERROR] = "error", [S_ERROR_PATTERN] = "error pattern", [S_DESCRIPTION] = "description",
		[S_MEM_AFTER] = "mem after", [S_SIGNATURE] = "signature", [S_CPU] = "cpu",
		[S_PYELF] = "pyelf", [S_RELOAD] = "reload", [S_UNLOAD] = "unload",
		[S_MAP] = "map", [S_MAP_AFTER] = "map after", [S_PROGRAM] = "program",
		[S_HELPER_VALUES] = "helper values",
		[S_RESULT_BE] = "result big-endian", [S_MEM_AFTER_BE] = "mem after big-endian",
	};
	return names[k] ? names[k] : "?";
}

static enum sect classify(const char *name, char *arg, size_t arglen)
{
	static const struct {
		const char *name;
		enum sect kind;
	} known[] = {
		{ "asm", S_ASM },
		{ "raw", S_RAW },
		{ "mem", S_MEM },
		{ "result", S_RESULT },
		{ "error", S_ERROR },
		{ "error pattern", S_ERROR_PATTERN },
		{ "c", S_EXTRA },
		{ "no register offset", S_EXTRA },
		{ "no jit", S_EXTRA },
		{ "description", S_DESCRIPTION },
		{ "mem after", S_MEM_AFTER },
		{ "result big-endian", S_RESULT_BE },
		{ "mem after big-endian", S_MEM_AFTER_BE },
		{ "signature", S_SIGNATURE },
		{ "cpu", S_CPU },
		{ "pyelf", S_PYELF },
		{ "reload", S_RELOAD },
		{ "unload", S_UNLOAD },
		{ "helper values", S_HELPER_VALUES },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i].name))
			return known[i].kind;
	bool observed = !strncmp(name, "observed ", 9);
	if (!strncmp(name, "expect ", 7) || observed) {
		const char *b = name + (observed ? 9 : 7);
		while (*b == ' ')
			b++;
		size_t n = strlen(b);
		if (!n || n >= arglen)
			return S_NONE;
		memcpy(arg, b, n + 1);
		return observed ? S_OBSERVED : S_EXPECT;
	}
	return S_NONE;
}

static const char *const statuses[] = { "ok", "fault", "rejected", "timeout", "crash", "unsupported", "unavailable", "error" };

static bool same_scope(const struct bd_scope *a, const struct bd_scope *b)
{
	return !strcmp(a->release, b->release) && !strcmp(a->release_op, b->release_op) &&
	       !strcmp(a->arch, b->arch) && a->jit == b->jit && a->platform == b->platform;
}

static int finish_expect(struct parser *p)
{
	struct bd_case *c = p->c;
	const char *kind = p->kind == S_OBSERVED ? "observed" : "expect";
	struct bd_expect hdr;
	char herr[256];
	memset(&hdr, 0, sizeof(hdr));
	if (bd_expect_parse_header(&hdr, p->name, herr, sizeof(herr)))
		return perr(p, p->hdr_line, "-- %s %s: %s", kind, p->name, herr);
	hdr.observed = p->kind == S_OBSERVED;
	for (int i = 0; i < c->nexpect; i++)
		if (c->expect[i].observed == hdr.observed && !strcmp(c->expect[i].backend, hdr.backend) &&
		    same_scope(&c->expect[i].scope, &hdr.scope))
			return perr(p, p->hdr_line, "duplicate -- %s %s section", kind, p->name);
	if (c->nexpect >= BD_MAX_EXPECT)
		return perr(p, p->hdr_line, "too many -- expect/-- observed sections (at most %d)", BD_MAX_EXPECT);
	struct bd_expect *x = &c->expect[c->nexpect++];
	*x = hdr;
	char *reason = NULL;
	size_t rlen = 0, rcap = 0;
	size_t ll;
	const char *l, *cur = p->buf;
	for (int i = 0; (l = next_line(&cur, &ll)); i++) {
		int line = p->first_line + i;
		char tmp[1024];
		if (ll >= sizeof(tmp))
			return free(reason), perr(p, line, "line too long");
		memcpy(tmp, l, ll);
		tmp[ll] = 0;
		char *s = trim(tmp);
		if (!*s)
			continue;
		if (*s == '#') {
			s = trim(s + 1);
			if ((rlen && append(&reason, &rlen, &rcap, "\n", 1)) || append(&reason, &rlen, &rcap, s, strlen(s)))
				return free(reason), -ENOMEM;
			if (!reason && append(&reason, &rlen, &rcap, "", 0))
				return -ENOMEM;
			continue;
		}
		char *word = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = 0;
		char *rest = trim(s);
		if (!strcmp(word, "warning")) {
			if (x->warning)
				return free(reason), perr(p, line, "duplicate warning line");
			if (!*rest)
				return free(reason), perr(p, line, "warning needs the text the kernel logs");
			if (!(x->warning = strdup(rest)))
				return free(reason), -ENOMEM;
			continue;
		}
		if (!strcmp(word, "result")) {
			if (x->has_result)
				return free(reason), perr(p, line, "duplicate result line");
			if (parse_u64(rest, &x->result))
				return free(reason), perr(p, line, "invalid result value '%s'", rest);
			x->has_result = true;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
			if (!strcmp(word, statuses[k]))
				break;
		if (k == sizeof(statuses) / sizeof(statuses[0]))
			return free(reason),
			       perr(p, line, "unknown status '%s' (ok, fault, rejected, timeout, crash, unsupported, "
					     "unavailable, error, or result VALUE)", word);
		if (x->status[0])
			return free(reason), perr(p, line, "duplicate status line");
		snprintf(x->status, sizeof(x->status), "%s", word);
		if (*rest) {
			x->message = strdup(rest);
			if (!x->message)
				return free(reason), -ENOMEM;
		}
	}
	x->reason = reason;
	if (!x->status[0] && !x->has_result && !x->warning)
		return perr(p, p->hdr_line, "-- %s %s: no status, result or warning line", kind, p->name);
	return 0;
}

void bd_scope_any(struct bd_scope *s)
{
	memset(s, 0, sizeof(*s));
	s->jit = -1;
	s->platform = -1;
}

bool bd_scope_is_any(const struct bd_scope *s)
{
	return !s->release[0] && !s->arch[0] && s->jit < 0 && s->platform < 0;
}

int bd_scope_parse_token(struct bd_scope *s, const char *t, char *err, size_t errlen)
{
	static const char *const ops[] = { "<=", ">=", "<", ">", "=" };
	size_t klen = strcspn(t, "<>=");
	const char *op = NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && !op; i++)
		if (!strncmp(t + klen, ops[i], strlen(ops[i])))
			op = ops[i];
	const char *v = op ? t + klen + strlen(op) : NULL;
	if (!op || !*v || strpbrk(v, "<>=")) {
		snprintf(err, errlen, "'%s' is not a scope (release=GLOB, release<VERSION, arch=GLOB, jit=on|off, platform=linux|ubpf)", t);
		return -EINVAL;
	}
	if (klen == 7 && !strncmp(t, "release", 7)) {
		if (strlen(v) >= sizeof(s->release)) {
			snprintf(err, errlen, "release '%s' is too long", v);
			return -EINVAL;
		}
		snprintf(s->release, sizeof(s->release), "%s", v);
		snprintf(s->release_op, sizeof(s->release_op), "%s", strcmp(op, "=") ? op : "");
		return 0;
	}
	if (klen == 4 && !strncmp(t, "arch", 4) && !strcmp(op, "=") && strlen(v) < sizeof(s->arch)) {
		snprintf(s->arch, sizeof(s->arch), "%s", v);
		return 0;
	}
	if (klen == 3 && !strncmp(t, "jit", 3) && !strcmp(op, "=") && (!strcmp(v, "on") || !strcmp(v, "off"))) {
		s->jit = !strcmp(v, "on");
		return 0;
	}
	if (klen == 8 && !strncmp(t, "platform", 8) && !strcmp(op, "=") && bd_platform_lookup(v) >= 0) {
		s->platform = bd_platform_lookup(v);
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a scope (release=GLOB, release<VERSION, arch=GLOB, jit=on|off, platform=linux|ubpf)", t);
	return -EINVAL;
}

void bd_scope_format(const struct bd_scope *s, char *out, size_t outlen)
{
	int n = 0;
	out[0] = 0;
	if (s->arch[0])
		n += snprintf(out + n, outlen - (size_t)n, " arch=%s", s->arch);
	if (s->release[0] && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, " release%s%s", s->release_op[0] ? s->release_op : "=",
			      s->release);
	if (s->jit >= 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, " jit=%s", s->jit ? "on" : "off");
	if (s->platform >= 0 && (size_t)n < outlen)
		snprintf(out + n, outlen - (size_t)n, " platform=%s", bd_platform_name(s->platform));
}

int bd_expect_parse_header(struct bd_expect *x, const char *text, char *err, size_t errlen)
{
	char buf[BD_BACKEND_NAME_MAX + 128];
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "section line too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	bd_scope_any(&x->scope);
	char *save = NULL, *tok = strtok_r(buf, " \t", &save);
	if (!tok) {
		snprintf(err, errlen, "no backend named");
		return -EINVAL;
	}
	if (strlen(tok) >= sizeof(x->backend)) {
		snprintf(err, errlen, "backend name longer than %d characters", BD_BACKEND_NAME_MAX - 1);
		return -EINVAL;
	}
	if (bd_backend_name_check(tok, err, errlen))
		return -EINVAL;
	snprintf(x->backend, sizeof(x->backend), "%s", tok);
	while ((tok = strtok_r(NULL, " \t", &save)))
		if (bd_scope_parse_token(&x->scope, tok, err, errlen))
			return -EINVAL;
	return 0;
}

bool bd_case_has_truth(const struct bd_case *c)
{
	return c->has_result || c->has_error || c->has_mem_after;
}

bool bd_case_unconfirmed(const struct bd_case *c)
{
	if (bd_case_has_truth(c))
		return false;
	for (int i = 0; i < c->nexpect; i++)
		if (c->expect[i].observed)
			return true;
	return false;
}

/* The only non-blank, non-comment line of a section, trimmed; NULL if none. */
static int single_line(struct parser *p, char *out, size_t outlen, int *line_out)
{
	size_t ll;
	const char *l, *cur = p->buf;
	int found = 0;
	out[0] = 0;
	for (int i = 0; (l = next_line(&cur, &ll)); i++) {
		char tmp[1024];
		int line = p->first_line + i;
		if (ll >= sizeof(tmp))
			return perr(p, line, "line too long");
		memcpy(tmp, l, ll);
		tmp[ll] = 0;
		char *h = strchr(tmp, '#');
		if (h)
			*h = 0;
		char *s = trim(tmp);
		if (!*s)
			continue;
		if (found)
			return perr(p, line, "-- %s takes one line", sect_name(p->kind));
		found = 1;
		*line_out = line;
		if (strlen(s) >= outlen)
			return perr(p, line, "value too long");
		strcpy(out, s);
	}
	if (!found)
		return perr(p, p->hdr_line, "empty -- %s section", sect_name(p->kind));
	return 0;
}

/* --- maps, programs, helper values (README "Maps and helpers") ------------- */

/* Map names so far, for the assembler (lddw_map_fd %r1, NAME). */
static struct bd_asm_syms map_syms(const struct bd_case *c, const char **names)
{
	for (int i = 0; i < c->nmaps; i++)
		names[i] = c->maps[i].name;
	return (struct bd_asm_syms){ names, (size_t)c->nmaps };
}

/* The lines of a section, with `\` at a line's end joining the next one and
 * `#` comments dropped; calls fn(line text, file line) for each non-blank. */
static int each_joined_line(struct parser *p, int (*fn)(struct parser *, const char *, int))
{
	size_t ll, len = 0, cap = 0;
	const char *l, *cur = p->buf ? p->buf : "";
	char *acc = NULL;
	int start = 0, rc = 0;
	for (int i = 0; (l = next_line(&cur, &ll)); i++) {
		const char *h = memchr(l, '#', ll);
		size_t n = h ? (size_t)(h - l) : ll;
		while (n && isspace((unsigned char)l[n - 1]))
			n--;
		bool cont = n && l[n - 1] == '\\';
		if (cont)
			n--;
		if (!len)
			start = p->first_line + i;
		if (append(&acc, &len, &cap, l, n) || append(&acc, &len, &cap, " ", 1)) {
			rc = -ENOMEM;
			break;
		}
		if (cont)
			continue;
		char *t = trim(acc);
		if (*t && (rc = fn(p, t, start)))
			break;
		len = 0;
		acc[0] = 0;
	}
	if (!rc && len) {
		char *t = trim(acc);
		if (*t)
			rc = fn(p, t, start);
	}
	free(acc);
	return rc;
}

static int map_elem_line(struct parser *p, const char *t, int line)
{
	char msg[256];
	struct bd_map *m = &p->c->maps[p->c->nmaps - 1];
	int rc = bd_map_parse_elem(m, false, t, msg, sizeof(msg));
	return rc == -EINVAL ? perr(p, line, "map %s: %s", m->name, msg) : rc;
}

static struct bd_map *find_map(struct bd_case *c, const char *name)
{
	for (int i = 0; i < c->nmaps; i++)
		if (!strcmp(c->maps[i].name, name))
			return &c->maps[i];
	return NULL;
}

static int map_after_line(struct parser *p, const char *t, int line)
{
	char msg[256];
	struct bd_map *m = find_map(p->c, p->arg);
	int rc = bd_map_parse_elem(m, true, t, msg, sizeof(msg));
	return rc == -EINVAL ? perr(p, line, "map %s after: %s", m->name, msg) : rc;
}

static int finish_map(struct parser *p)
{
	struct bd_case *c = p->c;
	char msg[256];
	if (p->kind == S_MAP_AFTER) {
		struct bd_map *m = find_map(c, p->arg);
		if (!m)
			return perr(p, p->hdr_line, "-- map %s after: no map %s is declared before it", p->arg, p->arg);
		if (m->has_after)
			return perr(p, p->hdr_line, "duplicate section '-- map %s after'", p->arg);
		m->has_after = true;
		return each_joined_line(p, map_after_line);
	}
	if (c->nmaps == BD_MAX_MAPS)
		return perr(p, p->hdr_line, "too many maps (at most %d)", BD_MAX_MAPS);
	struct bd_map m;
	if (bd_map_parse_decl(&m, p->arg, msg, sizeof(msg)))
		return perr(p, p->hdr_line, "%s", msg);
	if (find_map(c, m.name) || !strcmp(m.name, "after"))
		return perr(p, p->hdr_line, "map %s declared twice", m.name);
	struct bd_map *nm = realloc(c->maps, (size_t)(c->nmaps + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	c->maps = nm;
	p->map_line[c->nmaps] = p->hdr_line;
	c->maps[c->nmaps++] = m;
	return each_joined_line(p, map_elem_line);
}

static int finish_program(struct parser *p)
{
	struct bd_case *c = p->c;
	char aerr[256];
	const char *names[BD_MAX_MAPS];
	struct bd_asm_syms syms = map_syms(c, names);
	if (!strcmp(p->arg, "main"))
		return perr(p, p->hdr_line, "'main' names the case's own program (-- asm)");
	for (int i = 0; i < c->nprogs; i++)
		if (!strcmp(c->progs[i].name, p->arg))
			return perr(p, p->hdr_line, "program %s defined twice", p->arg);
	if (c->nprogs >= (int)(sizeof(p->prog_line) / sizeof(p->prog_line[0])))
		return perr(p, p->hdr_line, "too many programs");
	struct bd_prog *np = realloc(c->progs, (size_t)(c->nprogs + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	c->progs = np;
	struct bd_prog *pr = &c->progs[c->nprogs];
	memset(pr, 0, sizeof(*pr));
	if (bd_assemble_syms(p->buf ? p->buf : "", p->first_line, &syms, &pr->insns, &pr->ninsns, aerr,
			     sizeof(aerr))) {
		if (p->err && p->errlen)
			snprintf(p->err, p->errlen, "%s:%s", p->path, aerr);
		return -EINVAL;
	}
	if (!pr->ninsns) {
		free(pr->insns);
		return perr(p, p->hdr_line, "-- program %s has no instructions", p->arg);
	}
	pr->name = strdup(p->arg);
	pr->asm_text = text_trimmed(p->buf ? p->buf : "", p->len);
	p->prog_line[c->nprogs] = p->hdr_line;
	c->nprogs++;
	return pr->name && pr->asm_text ? 0 : -ENOMEM;
}

static int helper_values_line(struct parser *p, const char *t, int line)
{
	static const struct {
		const char *name;
		int kind;
	} env[] = {
		{ "bpf_ktime_get_ns", EBPF_ENV_KTIME },
		{ "bpf_get_prandom_u32", EBPF_ENV_PRANDOM },
		{ "bpf_get_smp_processor_id", EBPF_ENV_CPU },
	};
	char buf[1024], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", t);
	char *name = strtok_r(buf, " \t", &save);
	int kind = -1;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (!strcmp(name, env[i].name) || !strcmp(name, env[i].name + 4))
			kind = env[i].kind;
	if (kind < 0)
		return perr(p, line, "unknown helper '%s' (bpf_ktime_get_ns, bpf_get_prandom_u32, "
				     "bpf_get_smp_processor_id)", name);
	struct bd_case *c = p->c;
	if (c->nhelper_values[kind])
		return perr(p, line, "values for %s given twice", name);
	for (char *v; (v = strtok_r(NULL, " \t", &save));) {
		uint64_t x;
		if (parse_u64(v, &x))
			return perr(p, line, "invalid value '%s'", v);
		uint64_t *nv = realloc(c->helper_values[kind], (c->nhelper_values[kind] + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->helper_values[kind] = nv;
		nv[c->nhelper_values[kind]++] = x;
	}
	if (!c->nhelper_values[kind])
		return perr(p, line, "%s: no values", name);
	if (kind == EBPF_ENV_CPU && c->nhelper_values[kind] > 1)
		return perr(p, line, "bpf_get_smp_processor_id takes one value (the CPU of the whole run)");
	return 0;
}

/* After the whole file: a prog_array's program names become indexes. */
static int resolve_prog_arrays(struct parser *p)
{
	struct bd_case *c = p->c;
	for (int i = 0; i < c->nmaps; i++) {
		struct bd_map *m = &c->maps[i];
		if (m->type != EBPF_MAP_PROG_ARRAY)
			continue;
		for (size_t e = 0; e < m->init.n; e++) {
			uint32_t slot, prog = UINT32_MAX;
			memcpy(&slot, m->init.e[e].value, 4);
			const char *name = m->init_progs[slot];
			if (!strcmp(name, "main"))
				prog = 0;
			for (int k = 0; k < c->nprogs; k++)
				if (!strcmp(c->progs[k].name, name))
					prog = (uint32_t)k + 1;
			if (prog == UINT32_MAX)
				return perr(p, p->map_line[i], "map %s: no program named '%s' (main, or a -- program)",
					    m->name, name);
			memcpy(m->init.e[e].value, &prog, 4);
		}
		for (size_t e = 0; e < m->init.n; e++)
			free(m->init_progs[e]);
		free(m->init_progs);
		m->init_progs = NULL;
	}
	return 0;
}

static int finish_section(struct parser *p)
{
	struct bd_case *c = p->c;
	const char *text = p->buf ? p->buf : "";
	char msg[256], val[256];
	int rc = 0, bad, line;
	switch (p->kind) {
	case S_NONE:
		return 0;
	case S_ASM: {
		char aerr[256];
		const char *names[BD_MAX_MAPS];
		struct bd_asm_syms syms = map_syms(c, names);
		rc = bd_assemble_syms(text, p->first_line, &syms, &c->insns, &c->ninsns, aerr, sizeof(aerr));
		if (rc) {
			if (p->err && p->errlen && p->incl_path)
				snprintf(p->err, p->errlen, "%s:%s (included by %s:%d)", p->incl_path, aerr, p->path,
					 p->hdr_line);
			else if (p->err && p->errlen)
				snprintf(p->err, p->errlen, "%s:%s", p->path, aerr);
			return -EINVAL;
		}
		if (!c->ninsns)
			return perr(p, p->hdr_line, "-- asm section has no instructions");
		c->asm_text = text_trimmed(text, p->len);
		return c->asm_text ? 0 : -ENOMEM;
	}
	case S_RAW: {
		struct bytes o = { 0 };
		if ((rc = raw_words(p, text, &o))) {
			free(o.b);
			return rc;
		}
		if (!o.len)
			return perr(p, p->hdr_line, "-- raw section has no instructions");
		p->raw = (struct ebpf_insn *)(void *)o.b;
		p->nraw = o.len / 8;
		p->raw_line = p->hdr_line;
		return 0;
	}
	case S_MEM:
	case S_MEM_AFTER:
	case S_MEM_AFTER_BE: {
		struct bytes o = { 0 };
		rc = hex_text(text, 1, &o, &bad, msg, sizeof(msg));
		if (rc) {
			free(o.b);
			return rc == -EINVAL ? berr(p, p->first_line + bad, "%s", msg) : rc;
		}
		if (p->kind == S_MEM) {
			c->mem = o.b;
			c->mem_len = o.len;
		} else if (p->kind == S_MEM_AFTER_BE) {
			c->has_mem_after_be = true;
			c->mem_after_be = o.b;
			c->mem_after_be_len = o.len;
		} else {
			c->has_mem_after = true;
			c->mem_after = o.b;
			c->mem_after_len = o.len;
		}
		return 0;
	}
	case S_RESULT:
	case S_RESULT_BE: {
		bool be = p->kind == S_RESULT_BE;
		if ((rc = single_line(p, val, sizeof(val), &line)))
			return rc;
		if (parse_u64(val, be ? &c->result_be : &c->result))
			return perr(p, line, "invalid result '%s' (hex or decimal, 64-bit)", val);
		*(be ? &c->has_result_be : &c->has_result) = true;
		return 0;
	}
	case S_ERROR:
	case S_ERROR_PATTERN:
		if (c->has_error)
			return perr(p, p->hdr_line, "both -- error and -- error pattern");
		/* As ubpf and bpf_conformance read it: `#` comments and blank lines are not the text. */
		c->error = text_uncommented(text);
		if (!c->error)
			return -ENOMEM;
		c->has_error = true;
		if (p->kind == S_ERROR_PATTERN) {
			regex_t re;
			c->error_is_pattern = true;
			int e = regcomp(&re, c->error, REG_EXTENDED | REG_NOSUB);
			if (e) {
				regerror(e, &re, msg, sizeof(msg));
				regfree(&re);
				return perr(p, p->first_line, "invalid error pattern: %s", msg);
			}
			regfree(&re);
		}
		return 0;
	case S_PYELF:
	case S_RELOAD:
	case S_UNLOAD:
		if (p->kind == S_UNLOAD)
			c->rerun = true;
		else if (!c->skip &&
			 !(c->skip = strdup(p->kind == S_PYELF
						    ? "-- pyelf: an ELF image built by Python statements in ubpf's "
						      "test_elf.py (its ELF loader tests); bpfdiff does not run Python"
						    : "-- reload: ubpf's check that a second ubpf_load() into a VM that "
						      "holds a program is refused, a rule of ubpf's API, not eBPF "
						      "behaviour; bpfdiff's backends load every run afresh")))
			return -ENOMEM;
		/* kept verbatim as well, so that the case is written back with it */
		/* fall through */
	case S_EXTRA: {
		size_t len = c->extra ? strlen(c->extra) : 0, cap = len;
		char hdr[96];
		int n = snprintf(hdr, sizeof(hdr), "-- %s\n", p->name);
		if (append(&c->extra, &len, &cap, hdr, (size_t)n) || append(&c->extra, &len, &cap, text, p->len))
			return -ENOMEM;
		if (p->len && text[p->len - 1] != '\n' && append(&c->extra, &len, &cap, "\n", 1))
			return -ENOMEM;
		return 0;
	}
	case S_DESCRIPTION:
		c->description = text_trimmed(text, p->len);
		return c->description ? 0 : -ENOMEM;
	case S_EXPECT:
	case S_OBSERVED:
		return finish_expect(p);
	case S_SIGNATURE:
		if ((rc = single_line(p, val, sizeof(val), &line)))
			return rc;
		c->signature = strdup(val);
		return c->signature ? 0 : -ENOMEM;
	case S_CPU: {
		if ((rc = single_line(p, val, sizeof(val), &line)))
			return rc;
		const char *v = val[0] == 'v' ? val + 1 : val;
		if (v[0] < '1' || v[0] > '4' || v[1])
			return perr(p, line, "invalid cpu '%s' (v1..v4)", val);
		c->cpu = v[0] - '0';
		return 0;
	}
	case S_MAP:
	case S_MAP_AFTER:
		return finish_map(p);
	case S_PROGRAM:
		return finish_program(p);
	case S_HELPER_VALUES:
		return each_joined_line(p, helper_values_line);
	case S_COUNT:
		break;
	}
	return 0;
}

/* `-- NAME @ FILE` (ubpf's testdata.py): the section's text is FILE, a path
 * relative to the case's directory, read as it is (CR line ends dropped). */
static int load_include(struct parser *p, const char *file, int lineno)
{
	const char *slash = strrchr(p->path, '/');
	char *full;
	if (file[0] == '/' || !slash)
		full = strdup(file);
	else if (asprintf(&full, "%.*s/%s", (int)(slash - p->path), p->path, file) < 0)
		full = NULL;
	if (!full)
		return -ENOMEM;
	p->incl_path = full;
	char *text, why[512];
	size_t len;
	int rc = bd_read_input(full, &text, &len, why, sizeof(why));
	if (rc)
		return rc == -ENOMEM ? rc : perr(p, lineno, "-- %s @ %s: %s", p->name, file, why);
	if (memchr(text, 0, len)) {
		free(text);
		return perr(p, lineno, "-- %s @ %s: NUL byte in %s", p->name, file, full);
	}
	size_t ll;
	const char *l, *cur = text;
	while ((l = next_line(&cur, &ll))) {
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (append(&p->buf, &p->len, &p->cap, l, ll) || append(&p->buf, &p->len, &p->cap, "\n", 1)) {
			free(text);
			return -ENOMEM;
		}
	}
	free(text);
	return 0;
}

static int start_section(struct parser *p, const char *line, size_t len, int lineno)
{
	char name[BD_BACKEND_NAME_MAX + 1024]; /* room for an include's path */
	if (len >= sizeof(name))
		return perr(p, lineno, "section line too long ('%.40s...')", line);
	memcpy(name, line + 2, len - 2);
	name[len - 2] = 0;
	char *hash = strchr(name, '#'); /* ubpf and bpf_conformance drop comments first */
	if (hash)
		*hash = 0;
	char *at = strchr(name, '@'), *file = NULL;
	if (at) {
		*at = 0;
		file = trim(at + 1);
		if (!*file || strchr(file, '@'))
			return perr(p, lineno, "-- %s@ takes one file name", trim(name));
	}
	char *n = trim(name);
	/* collapse inner runs of blanks: "error  pattern" */
	char norm[BD_BACKEND_NAME_MAX + 128];
	size_t k = 0;
	for (size_t i = 0; n[i] && k < sizeof(norm) - 1; i++)
		if (!(isspace((unsigned char)n[i]) && (k == 0 || norm[k - 1] == ' ')))
			norm[k++] = isspace((unsigned char)n[i]) ? ' ' : n[i];
	norm[k] = 0;
	char arg[BD_BACKEND_NAME_MAX + 128] = "";
	enum sect kind = classify(norm, arg, sizeof(arg));
	/* -- map NAME ..., -- map NAME after, -- program NAME: the rest is an argument. */
	char rest[256] = "";
	if (kind == S_NONE && (!strncmp(norm, "map ", 4) || !strncmp(norm, "program ", 8))) {
		bool map = norm[0] == 'm';
		snprintf(rest, sizeof(rest), "%s", norm + (map ? 4 : 8));
		size_t rl = strlen(rest);
		kind = !map ? S_PROGRAM : rl > 6 && !strcmp(rest + rl - 6, " after") ? S_MAP_AFTER : S_MAP;
		if (kind == S_MAP_AFTER)
			rest[rl - 6] = 0;
		if ((kind != S_MAP && strpbrk(rest, " ")) || !*rest)
			return perr(p, lineno, "expected '-- %s NAME%s'", map ? "map" : "program",
				    kind == S_MAP_AFTER ? " after" : "");
	}
	if (kind == S_NONE)
		return perr(p, lineno, "unknown section '-- %s'", norm);
	if (file && kind != S_ASM && kind != S_RAW && kind != S_MEM && kind != S_MEM_AFTER)
		return perr(p, lineno, "-- %s @ %s: only asm, raw, mem and mem after take their text from a file",
			    norm, file);
	int rc = finish_section(p);
	if (rc)
		return rc;
	snprintf(p->arg, sizeof(p->arg), "%s", rest);
	if (kind != S_EXPECT && kind != S_OBSERVED && kind != S_EXTRA && kind != S_MAP && kind != S_MAP_AFTER &&
	    kind != S_PROGRAM) {
		int dup = p->seen[kind];
		if ((kind == S_ERROR && p->seen[S_ERROR_PATTERN]) || (kind == S_ERROR_PATTERN && p->seen[S_ERROR]))
			dup = 1;
		if (dup)
			return perr(p, lineno, "duplicate section '-- %s'", norm);
		p->seen[kind] = 1;
	}
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", kind == S_EXPECT || kind == S_OBSERVED ? arg : norm);
	p->hdr_line = lineno;
	p->first_line = lineno + 1;
	p->len = 0;
	if (p->buf)
		p->buf[0] = 0;
	free(p->incl_path);
	p->incl_path = NULL;
	if (file) {
		p->first_line = 1;
		return load_include(p, file, lineno);
	}
	return 0;
}

void bd_case_free(struct bd_case *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->section);
	free(c->asm_text);
	free(c->insns);
	free(c->mem);
	free(c->error);
	free(c->mem_after);
	free(c->mem_after_be);
	for (int i = 0; i < c->nexpect && i < BD_MAX_EXPECT; i++) {
		free(c->expect[i].message);
		free(c->expect[i].warning);
		free(c->expect[i].reason);
	}
	free(c->description);
	free(c->signature);
	free(c->comment);
	free(c->extra);
	free(c->skip);
	for (int i = 0; i < c->nmaps; i++)
		bd_map_free(&c->maps[i]);
	free(c->maps);
	for (int i = 0; i < c->nprogs; i++) {
		free(c->progs[i].name);
		free(c->progs[i].asm_text);
		free(c->progs[i].insns);
	}
	free(c->progs);
	free(c->prog_name);
	free(c->elf_section);
	for (int k = 0; k < EBPF_ENV_KINDS; k++)
		free(c->helper_values[k]);
	memset(c, 0, sizeof(*c));
}

const char *bd_case_prog_name(const struct bd_case *c, int k)
{
	if (k == 0)
		return c->prog_name ? c->prog_name : "main";
	return k > 0 && k <= c->nprogs ? c->progs[k - 1].name : "?";
}

int bd_case_copy_env(struct bd_case *dst, const struct bd_case *src)
{
	if (src->nmaps) {
		dst->maps = calloc((size_t)src->nmaps, sizeof(*dst->maps));
		if (!dst->maps)
			return -ENOMEM;
		for (; dst->nmaps < src->nmaps; dst->nmaps++)
			if (bd_map_copy(&dst->maps[dst->nmaps], &src->maps[dst->nmaps]))
				return -ENOMEM;
	}
	if (src->nprogs) {
		dst->progs = calloc((size_t)src->nprogs, sizeof(*dst->progs));
		if (!dst->progs)
			return -ENOMEM;
		for (; dst->nprogs < src->nprogs; dst->nprogs++) {
			const struct bd_prog *s = &src->progs[dst->nprogs];
			struct bd_prog *d = &dst->progs[dst->nprogs];
			d->name = strdup(s->name);
			d->asm_text = s->asm_text ? strdup(s->asm_text) : NULL;
			d->insns = malloc(s->ninsns * sizeof(*s->insns));
			if (!d->name || (s->asm_text && !d->asm_text) || !d->insns)
				return -ENOMEM;
			memcpy(d->insns, s->insns, s->ninsns * sizeof(*s->insns));
			d->ninsns = s->ninsns;
		}
	}
	if (src->prog_name && !(dst->prog_name = strdup(src->prog_name)))
		return -ENOMEM;
	for (int k = 0; k < EBPF_ENV_KINDS; k++)
		if (src->nhelper_values[k]) {
			dst->helper_values[k] = malloc(src->nhelper_values[k] * sizeof(uint64_t));
			if (!dst->helper_values[k])
				return -ENOMEM;
			memcpy(dst->helper_values[k], src->helper_values[k], src->nhelper_values[k] * sizeof(uint64_t));
			dst->nhelper_values[k] = src->nhelper_values[k];
		}
	return 0;
}

int bd_case_parse_data(const char *path, const char *text, size_t len, struct bd_case *c, char *err,
		       size_t errlen)
{
	struct parser p;
	memset(&p, 0, sizeof(p));
	memset(c, 0, sizeof(*c));
	p.path = path ? path : "<input>";
	p.err = err;
	p.errlen = errlen;
	p.c = c;
	if (err && errlen)
		err[0] = 0;
	int rc = 0;
	size_t clen = 0, ccap = 0;
	c->path = strdup(p.path);
	if (!c->path)
		return -ENOMEM;
	const char *s = text ? text : "";
	const char *end = s + (text ? len : 0);
	int lineno = 0;
	while (s < end) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		size_t ll = e ? (size_t)(e - s) : (size_t)(end - s);
		lineno++;
		const char *next = e ? e + 1 : end;
		if (memchr(s, 0, ll)) {
			rc = perr(&p, lineno, "NUL byte in text");
			break;
		}
		if (ll && s[ll - 1] == '\r')
			ll--;
		if (ll >= 2 && s[0] == '-' && s[1] == '-') {
			if ((rc = start_section(&p, s, ll, lineno)))
				break;
		} else if (p.kind == S_NONE) {
			size_t i = 0;
			while (i < ll && isspace((unsigned char)s[i]))
				i++;
			if (i < ll && s[i] != '#') {
				rc = perr(&p, lineno, "text before the first section (expected '# comment' or '-- asm')");
				break;
			}
			if (i < ll && (append(&c->comment, &clen, &ccap, s + i, ll - i) ||
				       append(&c->comment, &clen, &ccap, "\n", 1))) {
				rc = -ENOMEM;
				break;
			}
		} else if (p.incl_path) {
			size_t i = 0;
			while (i < ll && isspace((unsigned char)s[i]))
				i++;
			if (i < ll && s[i] != '#') {
				rc = perr(&p, lineno, "-- %s takes its text from %s, not from lines of its own", p.name,
					  p.incl_path);
				break;
			}
		} else if (append(&p.buf, &p.len, &p.cap, s, ll) || append(&p.buf, &p.len, &p.cap, "\n", 1)) {
			rc = -ENOMEM;
			break;
		}
		s = next;
	}
	if (!rc)
		rc = finish_section(&p);
	if (!rc)
		rc = resolve_prog_arrays(&p);
	if (!rc && c->comment) {
		/* drop the final newline */
		size_t n = strlen(c->comment);
		if (n && c->comment[n - 1] == '\n')
			c->comment[n - 1] = 0;
	}
	if (!rc && p.raw) {
		if (c->insns && (c->ninsns != p.nraw || memcmp(c->insns, p.raw, p.nraw * 8))) {
			size_t i = 0;
			while (i < c->ninsns && i < p.nraw && !memcmp(&c->insns[i], &p.raw[i], 8))
				i++;
			rc = perr(&p, p.raw_line, "-- raw and -- asm differ at instruction %zu", i);
		} else if (!c->insns) {
			c->insns = p.raw;
			c->ninsns = p.nraw;
			p.raw = NULL;
		}
	}
	if (!rc && !c->insns && !c->skip)
		rc = perr(&p, 0, "no program (no -- asm or -- raw section)");
	if (rc == -ENOMEM)
		perr(&p, 0, "out of memory");
	free(p.buf);
	free(p.incl_path);
	free(p.raw);
	if (rc)
		bd_case_free(c);
	return rc;
}

static int read_fail(char *err, size_t errlen, const char *path, int e, const char *what)
{
	snprintf(err, errlen, "%s: %s", path, what ? what : strerror(e));
	return -e;
}

int bd_read_input(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	*out = NULL;
	*outlen = 0;
	bool is_stdin = !strcmp(path, "-");
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return read_fail(err, errlen, path, errno, NULL);
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		if (!is_stdin)
			close(fd);
		return read_fail(err, errlen, path, e, NULL);
	}
	if (S_ISDIR(st.st_mode)) {
		if (!is_stdin)
			close(fd);
		return read_fail(err, errlen, path, EISDIR, "is a directory, not a file");
	}
	if (!is_stdin)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > BD_MAX_INPUT_BYTES) {
		snprintf(err, errlen, "%s: %llu bytes, more than the input limit of %d MiB", path,
			 (unsigned long long)st.st_size, BD_MAX_INPUT_BYTES >> 20);
		if (!is_stdin)
			close(fd);
		return -EFBIG;
	}
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, len = 0;
	char *buf = malloc(cap);
	int e = buf ? 0 : ENOMEM;
	while (!e) {
		if (len + 1 >= cap) {
			if (cap > BD_MAX_INPUT_BYTES) {
				e = EFBIG;
				break;
			}
			char *q = realloc(buf, cap * 2);
			if (!q) {
				e = ENOMEM;
				break;
			}
			buf = q;
			cap *= 2;
		}
		size_t want = cap - 1 - len;
		if (len + want > BD_MAX_INPUT_BYTES + 1)
			want = BD_MAX_INPUT_BYTES + 1 - len;
		ssize_t r = read(fd, buf + len, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		else if (!r)
			break;
		else if ((len += (size_t)r) > BD_MAX_INPUT_BYTES)
			e = EFBIG;
	}
	if (!is_stdin)
		close(fd);
	if (e) {
		free(buf);
		if (e == EFBIG) {
			snprintf(err, errlen, "%s: more than the input limit of %d MiB", path, BD_MAX_INPUT_BYTES >> 20);
			return -EFBIG;
		}
		return read_fail(err, errlen, path, e, e == ENOMEM ? "out of memory" : NULL);
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return 0;
}

int bd_case_load_data(const char *path, struct bd_case *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	char *buf;
	size_t len;
	int rc = bd_read_input(path, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = bd_case_parse_data(path, buf, len, c, err, errlen);
	free(buf);
	return rc;
}

/* --- writer -------------------------------------------------------------- */

static void write_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x%s", b[i], (i % 16 == 15 || i + 1 == n) ? "\n" : " ");
}

/* Text that must not start a line with "--" (it would open a section). */
static void write_text(FILE *f, const char *s)
{
	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n >= 2 && s[0] == '-' && s[1] == '-')
			fputc(' ', f);
		fwrite(s, 1, n, f);
		fputc('\n', f);
		s += n + (e ? 1 : 0);
	}
}

/* A program as written when its text still assembles to it, else disassembled. */
static void write_program(FILE *f, const char *text, const struct ebpf_insn *insns, size_t n,
			  const struct bd_asm_syms *syms)
{
	int use_text = 0;
	if (text) {
		struct ebpf_insn *re = NULL;
		size_t nre = 0;
		char aerr[256];
		if (!bd_assemble_syms(text, 1, syms, &re, &nre, aerr, sizeof(aerr)) && nre == n &&
		    !memcmp(re, insns, nre * sizeof(*re)))
			use_text = 1;
		free(re);
	}
	if (use_text)
		write_text(f, text);
	else
		bd_disasm_program_syms(f, insns, n, 1, syms);
}

char *bd_case_format_data(const struct bd_case *c)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	if (!f)
		return NULL;
	if (c->comment && *c->comment) {
		const char *s = c->comment;
		while (*s) {
			const char *e = strchr(s, '\n');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			fputs(n && s[0] == '#' ? "" : n ? "# " : "#", f);
			fwrite(s, 1, n, f);
			fputc('\n', f);
			s += n + (e ? 1 : 0);
		}
	}
	if (c->description) {
		fputs("-- description\n", f);
		write_text(f, c->description);
	}
	/* Maps come before the programs that name them. */
	const char *prog_names[64 + 1];
	size_t nnames = 0;
	prog_names[nnames++] = "main";
	for (int k = 0; k < c->nprogs && nnames < sizeof(prog_names) / sizeof(prog_names[0]); k++)
		prog_names[nnames++] = c->progs[k].name;
	for (int i = 0; i < c->nmaps; i++)
		bd_map_format(f, &c->maps[i], prog_names, nnames);
	const char *names[BD_MAX_MAPS];
	struct bd_asm_syms syms = map_syms(c, names);
	if (c->ninsns) {
		fputs("-- asm\n", f);
		write_program(f, c->asm_text, c->insns, c->ninsns, &syms);
	}
	for (int k = 0; k < c->nprogs; k++) {
		fprintf(f, "-- program %s\n", c->progs[k].name);
		write_program(f, c->progs[k].asm_text, c->progs[k].insns, c->progs[k].ninsns, &syms);
	}
	static const char *const env_names[EBPF_ENV_KINDS] = { "bpf_ktime_get_ns", "bpf_get_prandom_u32",
								"bpf_get_smp_processor_id" };
	bool hv = false;
	for (int k = 0; k < EBPF_ENV_KINDS; k++) {
		if (!c->nhelper_values[k])
			continue;
		if (!hv)
			fputs("-- helper values\n", f);
		hv = true;
		fputs(env_names[k], f);
		for (size_t i = 0; i < c->nhelper_values[k]; i++)
			fprintf(f, " 0x%llx", (unsigned long long)c->helper_values[k][i]);
		fputc('\n', f);
	}
	if (c->mem_len) {
		fputs("-- mem\n", f);
		write_hex(f, c->mem, c->mem_len);
	}
	if (c->has_result)
		fprintf(f, "-- result\n0x%llx\n", (unsigned long long)c->result);
	if (c->has_error) {
		fputs(c->error_is_pattern ? "-- error pattern\n" : "-- error\n", f);
		if (c->error)
			write_text(f, c->error);
	}
	if (c->has_mem_after) {
		fputs("-- mem after\n", f);
		write_hex(f, c->mem_after, c->mem_after_len);
	}
	if (c->has_result_be)
		fprintf(f, "-- result big-endian\n0x%llx\n", (unsigned long long)c->result_be);
	if (c->has_mem_after_be) {
		fputs("-- mem after big-endian\n", f);
		write_hex(f, c->mem_after_be, c->mem_after_be_len);
	}
	for (int i = 0; i < c->nexpect && i < BD_MAX_EXPECT; i++) {
		const struct bd_expect *x = &c->expect[i];
		if (x->from_known)
			continue;
		char scope[160];
		bd_scope_format(&x->scope, scope, sizeof(scope));
		fprintf(f, "-- %s %s%s\n", x->observed ? "observed" : "expect", x->backend, scope);
		if (x->reason) {
			const char *s = x->reason;
			do {
				const char *e = strchr(s, '\n');
				size_t n = e ? (size_t)(e - s) : strlen(s);
				fputs("# ", f);
				fwrite(s, 1, n, f);
				fputc('\n', f);
				s += n + (e ? 1 : 0);
			} while (*s);
		}
		if (x->status[0]) {
			fputs(x->status, f);
			if (x->message && *x->message) {
				fputc(' ', f);
				for (const char *m = x->message; *m; m++)
					fputc(*m == '\n' ? ' ' : *m, f);
			}
			fputc('\n', f);
		}
		if (x->has_result)
			fprintf(f, "result 0x%llx\n", (unsigned long long)x->result);
		if (x->warning) {
			fputs("warning ", f);
			for (const char *m = x->warning; *m; m++)
				fputc(*m == '\n' ? ' ' : *m, f);
			fputc('\n', f);
		}
	}
	if (c->signature) {
		fputs("-- signature\n", f);
		for (const char *m = c->signature; *m; m++)
			fputc(*m == '\n' ? ' ' : *m, f);
		fputc('\n', f);
	}
	if (c->cpu)
		fprintf(f, "-- cpu\nv%d\n", c->cpu);
	if (c->extra && *c->extra) {
		fputs(c->extra, f);
		if (c->extra[strlen(c->extra) - 1] != '\n')
			fputc('\n', f);
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

