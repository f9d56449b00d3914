/* SPDX-License-Identifier: MIT */
/*
 * Assembler for the bpf_conformance / ubpf assembly syntax.
 *
 * One instruction per line (or several separated by `;`, as ubpf's parser
 * allows); `#` starts a comment anywhere; `name:` defines a label (alone on
 * its line or followed by an instruction). Registers are %r0..%r10; %r11..%r15
 * also assemble (the field is 4 bits, as in ubpf's and bpf_conformance's
 * assemblers) so that a VM's refusal of them can be tested. Operands are
 * separated by commas (`mov %r0 1` is an error); the words of a mnemonic
 * (`lock fetch add`, `call local`) by blanks. Mnemonics are those of EBPF_FORMS:
 *
 *   add %r1, %r2        add %r1, 5         add32 ...   (add64/mov64/neg64... accepted as 64-bit aliases)
 *   neg %r1             be16 %r0           le32 %r0    bswap64 %r0   (swap16/32/64 = bswap16/32/64)
 *   movsx864 %r0, %r1   sdiv32 %r0, 7      smod %r0, %r1
 *   lddw %r0, 0x1122334455667788   lddw %r0, -5   lddw_map_fd %r1, 5 (pseudo src forms)
 *   ldxw %r0, [%r1+2]   ldxb %r0, [%r1-2]  ldxdw %r0, [%r1]  ldxsw (cpu v4)
 *   stw [%r1+2], 5      stxdw [%r10-8], %r1
 *   lock add [%r10-8], %r1   lock fetch add32 [...], %r1   lock xchg ...  lock cmpxchg32 ...
 *   ldacqw %r0, [%r1+8]  strelb [%r10-1], %r2   (Linux: load-acquire / store-release, b h w dw)
 *   ja +3   ja -1   ja label   ja32 label (offset in imm)   may_goto label (Linux)
 *   jeq %r1, 5, label   jeq32 %r1, %r2, +1
 *   call 5 (helper)   call helper 5   call bpf_map_lookup_elem (a Linux helper by name)
 *   call local func1 / call local +3 (src 1, imm = target-pc-1)
 *   lddw_map_fd %r1, counters   lddw_map_value %r1, counters+8 (a map by name: imm = its index,
 *   the offset in the second slot)   lddw_code_addr %r2, callback (imm = target-pc-1, as call local)
 *   call btf 7 / call runtime 7 (src 2)   call %r2 / callx %r2 (opcode 0x8d, register in dst)
 *   exit
 *
 * `exit` is also an implicit label for the first exit instruction (ubpf does
 * this: `ja exit`), unless a label of that name is defined explicitly.
 *
 * Immediates: decimal or 0x hex, optionally negative. 32-bit immediates accept
 * -2147483648..2147483647 in decimal and 0..0xffffffff in hex (0xffffffff is -1),
 * as bpf_conformance's negative/invalid_imm32_* require; lddw takes any 64-bit
 * value. Offsets (memory and jumps) are -32768..32767.
 *
 * Raw escape, so that every 8-byte pattern round-trips through the disassembler:
 *   .insn OPCODE, DST, SRC, OFF, IMM    e.g. `.insn 0x07, 0, 1, 0, 1` (dst/src 0..15)
 *   .insn 0x0000000100010007            one 64-bit little-endian instruction word
 * Each .insn is exactly one slot (an lddw written this way needs two).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm.h"
#include "helpers.h"
#include "vm/isa.h"

#define MAX_TOKENS 8
#define MAX_TOKLEN 128

struct label {
	char *name;
	size_t pc;
};

struct fixup {
	char *name;
	size_t pc;
	int line;
	int in_imm; /* target goes into imm (ja32, call local) instead of off */
};

struct assembler {
	struct ebpf_insn *insns;
	size_t n, cap;
	struct label *labels;
	size_t nlabels, caplabels;
	size_t *hash; /* open addressing over labels: index + 1, 0 = empty */
	size_t hashcap;
	struct fixup *fixups;
	size_t nfixups, capfixups;
	long first_exit;
	int line;
	char *err;
	size_t errlen;
	int commas[MAX_TOKENS + 1]; /* commas before each token of the line; [ntok] = trailing */
	const struct bd_asm_syms *syms;
};

static int fail(struct assembler *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct assembler *a, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->err && a->errlen)
		snprintf(a->err, a->errlen, "%d: %s", a->line, msg);
	return -EINVAL;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int emit(struct assembler *a, struct ebpf_insn insn)
{
	if (grow((void **)&a->insns, &a->cap, a->n + 1, sizeof(insn)))
		return fail(a, "out of memory");
	a->insns[a->n++] = insn;
	return 0;
}

/* --- numbers ------------------------------------------------------------- */

int bd_hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int bd_parse_number(const char *s, int *neg, uint64_t *mag, int *hex)
{
	*neg = 0;
	*hex = 0;
	*mag = 0;
	if (*s == '-' || *s == '+') {
		*neg = *s == '-';
		s++;
	}
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		*hex = 1;
		s += 2;
	}
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		int d = bd_hex_digit((unsigned char)*s);
		if (d < 0 || d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*mag = v;
	return 0;
}

int bd_parse_count(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		   size_t errlen)
{
	int neg, hex;
	uint64_t v;
	if (bd_parse_number(s, &neg, &v, &hex) || (neg && v) || v < min || v > max) {
		snprintf(err, errlen, "%s takes a whole number from %llu to %llu, not '%s'", name,
			 (unsigned long long)min, (unsigned long long)max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int looks_numeric(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return isdigit((unsigned char)*s);
}

static int parse_imm32(struct assembler *a, const char *s, ebpf_s32 *out)
{
	int neg, hex;
	uint64_t m;
	if (bd_parse_number(s, &neg, &m, &hex))
		return fail(a, "invalid immediate '%s'", s);
	if (neg ? m > 0x80000000ull : m > (hex ? 0xffffffffull : 0x7fffffffull))
		return fail(a, "immediate %s out of 32-bit range", s);
	*out = (ebpf_s32)(uint32_t)(neg ? 0 - m : m);
	return 0;
}

static int parse_imm64(struct assembler *a, const char *s, uint64_t *out)
{
	int neg, hex;
	uint64_t m;
	if (bd_parse_number(s, &neg, &m, &hex))
		return fail(a, "invalid 64-bit immediate '%s'", s);
	if (neg && m > 0x8000000000000000ull)
		return fail(a, "immediate %s out of 64-bit range", s);
	*out = neg ? 0 - m : m;
	return 0;
}

static int parse_off(struct assembler *a, const char *s, ebpf_s16 *out)
{
	int neg, hex;
	uint64_t m;
	if (bd_parse_number(s, &neg, &m, &hex))
		return fail(a, "invalid offset '%s'", s);
	if (neg ? m > 32768 : m > 32767)
		return fail(a, "offset %s out of 16-bit range", s);
	*out = (ebpf_s16)(neg ? -(int64_t)m : (int64_t)m);
	return 0;
}

/* --- registers and memory operands ---------------------------------------- */

static int is_reg_token(const char *s)
{
	if (*s == '%')
		s++;
	return s[0] == 'r' && isdigit((unsigned char)s[1]);
}

static int parse_reg(struct assembler *a, const char *s, int *reg)
{
	const char *p = s;
	if (*p == '%')
		p++;
	if (p[0] != 'r' || !isdigit((unsigned char)p[1]))
		return fail(a, "expected a register, got '%s'", s);
	long v = 0;
	for (p++; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return fail(a, "invalid register %s", s);
		v = v * 10 + (*p - '0');
		if (v > 1000)
			break;
	}
	/* r11..r15 fit the 4-bit field: ubpf's and bpf_conformance's assemblers encode
	 * them ("fake registers to support negative tests") and the VM refuses them. */
	if (v > 15)
		return fail(a, "invalid register %s", s);
	*reg = (int)v;
	return 0;
}

/* [%rN], [%rN+off], [%rN-off] */
static int parse_mem(struct assembler *a, const char *s, int *reg, ebpf_s16 *off)
{
	size_t len = strlen(s);
	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return fail(a, "expected a memory operand [%%rN+off], got '%s'", s);
	char inner[MAX_TOKLEN];
	if (len - 2 >= sizeof(inner))
		return fail(a, "memory operand too long");
	memcpy(inner, s + 1, len - 2);
	inner[len - 2] = 0;
	char *sign = strpbrk(inner, "+-");
	char offs[MAX_TOKLEN] = "";
	if (sign) {
		strcpy(offs, sign);
		*sign = 0;
	}
	if (parse_reg(a, inner, reg))
		return -EINVAL;
	*off = 0;
	if (sign && parse_off(a, offs, off))
		return -EINVAL;
	return 0;
}

/* --- labels ---------------------------------------------------------------- */

static int is_ident(const char *s, size_t len)
{
	if (!len || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '$'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '$'))
			return 0;
	return 1;
}

static size_t hash_name(const char *s)
{
	size_t h = 1469598103934665603ull & SIZE_MAX;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct label *find_label(struct assembler *a, const char *name)
{
	if (!a->hashcap)
		return NULL;
	for (size_t i = hash_name(name) & (a->hashcap - 1);; i = (i + 1) & (a->hashcap - 1)) {
		if (!a->hash[i])
			return NULL;
		struct label *l = &a->labels[a->hash[i] - 1];
		if (!strcmp(l->name, name))
			return l;
	}
}

static int rehash(struct assembler *a)
{
	size_t cap = a->hashcap ? a->hashcap * 2 : 64;
	size_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -ENOMEM;
	free(a->hash);
	a->hash = h;
	a->hashcap = cap;
	for (size_t k = 0; k < a->nlabels; k++) {
		size_t i = hash_name(a->labels[k].name) & (cap - 1);
		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = k + 1;
	}
	return 0;
}

static int add_label(struct assembler *a, const char *name, size_t len)
{
	char buf[MAX_TOKLEN];
	if (len >= sizeof(buf))
		return fail(a, "label too long");
	memcpy(buf, name, len);
	buf[len] = 0;
	if (find_label(a, buf))
		return fail(a, "duplicate label '%s'", buf);
	if (grow((void **)&a->labels, &a->caplabels, a->nlabels + 1, sizeof(struct label)))
		return fail(a, "out of memory");
	a->labels[a->nlabels].name = strdup(buf);
	if (!a->labels[a->nlabels].name)
		return fail(a, "out of memory");
	a->labels[a->nlabels++].pc = a->n;
	if (2 * a->nlabels > a->hashcap && rehash(a))
		return fail(a, "out of memory");
	else if (2 * a->nlabels <= a->hashcap) {
		size_t i = hash_name(buf) & (a->hashcap - 1);
		while (a->hash[i] && a->hash[i] != a->nlabels)
			i = (i + 1) & (a->hashcap - 1);
		a->hash[i] = a->nlabels;
	}
	return 0;
}

/* A jump target: +N / -N / N is a relative offset, anything else a label. */
static int parse_target(struct assembler *a, const char *s, int in_imm, ebpf_s16 *off, ebpf_s32 *imm)
{
	if (looks_numeric(s)) {
		if (in_imm)
			return parse_imm32(a, s, imm);
		return parse_off(a, s, off);
	}
	if (!is_ident(s, strlen(s)))
		return fail(a, "invalid jump target '%s'", s);
	if (grow((void **)&a->fixups, &a->capfixups, a->nfixups + 1, sizeof(struct fixup)))
		return fail(a, "out of memory");
	struct fixup *f = &a->fixups[a->nfixups];
	f->name = strdup(s);
	if (!f->name)
		return fail(a, "out of memory");
	f->pc = a->n;
	f->line = a->line;
	f->in_imm = in_imm;
	a->nfixups++;
	return 0;
}

/* --- tokenizer ------------------------------------------------------------- */

/* Split on blanks and commas, keeping [...] together (blanks inside dropped). */
static int tokenize(struct assembler *a, const char *s, char tok[][MAX_TOKLEN], int *ntok)
{
	int n = 0;
	*ntok = 0;
	memset(a->commas, 0, sizeof(a->commas));
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			a->commas[n] += *s++ == ',';
		if (!*s)
			break;
		if (n == MAX_TOKENS)
			return fail(a, "too many operands");
		size_t len = 0;
		int depth = 0;
		while (*s && (depth || (*s != ' ' && *s != '\t' && *s != ','))) {
			if (*s == '[')
				depth++;
			else if (*s == ']')
				depth--;
			if (!(depth && (*s == ' ' || *s == '\t'))) {
				if (len + 1 >= MAX_TOKLEN)
					return fail(a, "token too long");
				tok[n][len++] = *s;
			}
			s++;
		}
		tok[n][len] = 0;
		if (depth)
			return fail(a, "unbalanced '[' in '%s'", tok[n]);
		n++;
	}
	*ntok = n;
	return 0;
}

/* --- instructions ---------------------------------------------------------- */

static int operand_count(struct assembler *a, const char *mn, int got, int want)
{
	if (got != want)
		return fail(a, "invalid number of operands for %s: expected %d, got %d", mn, want, got);
	return 0;
}

static int asm_raw(struct assembler *a, char tok[][MAX_TOKLEN], int nops)
{
	struct ebpf_insn insn;
	memset(&insn, 0, sizeof(insn));
	if (nops == 1) {
		uint64_t w;
		if (parse_imm64(a, tok[1], &w))
			return -EINVAL;
		uint8_t b[8];
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(w >> (8 * i));
		memcpy(&insn, b, 8);
		return emit(a, insn);
	}
	if (nops != 5)
		return fail(a, "invalid number of operands for .insn: expected OPCODE, DST, SRC, OFF, IMM");
	int neg, hex;
	uint64_t m[3];
	for (int i = 0; i < 3; i++) {
		if (bd_parse_number(tok[1 + i], &neg, &m[i], &hex) || neg || m[i] > (i ? 15u : 255u))
			return fail(a, ".insn: invalid %s '%s'", i == 0 ? "opcode" : i == 1 ? "dst" : "src",
				    tok[1 + i]);
	}
	insn.opcode = (ebpf_u8)m[0];
	insn.dst = (ebpf_u8)(m[1] & 15);
	insn.src = (ebpf_u8)(m[2] & 15);
	if (parse_off(a, tok[4], &insn.off) || parse_imm32(a, tok[5], &insn.imm))
		return -EINVAL;
	return emit(a, insn);
}

static int asm_lock(struct assembler *a, char tok[][MAX_TOKLEN], int nops)
{
	char name[2 * MAX_TOKLEN];
	int i = 1;
	if (nops == 4 && !strcmp(tok[1], "fetch")) {
		snprintf(name, sizeof(name), "fetch %s", tok[2]);
		i = 3;
	} else if (nops == 3) {
		snprintf(name, sizeof(name), "%s", tok[1]);
		i = 2;
	} else {
		return fail(a, "invalid number of operands for lock");
	}
	int form = -1;
	for (int f = 0; f < FORM_COUNT; f++)
		if (ebpf_forms[f].fmt == EBPF_FMT_ATOMIC && !strcmp(ebpf_forms[f].mnemonic, name))
			form = f;
	if (form < 0)
		return fail(a, "unknown atomic operation 'lock %s'", name);
	struct ebpf_insn insn;
	memset(&insn, 0, sizeof(insn));
	int dst, src;
	if (parse_mem(a, tok[i], &dst, &insn.off) || parse_reg(a, tok[i + 1], &src))
		return -EINVAL;
	insn.opcode = ebpf_forms[form].opcode;
	insn.dst = (ebpf_u8)dst;
	insn.src = (ebpf_u8)src;
	insn.imm = ebpf_forms[form].disc;
	return emit(a, insn);
}

static int asm_call(struct assembler *a, const char *mn, char tok[][MAX_TOKLEN], int nops)
{
	struct ebpf_insn insn;
	memset(&insn, 0, sizeof(insn));
	insn.opcode = 0x85;
	if (!strcmp(mn, "callx") || (nops == 1 && is_reg_token(tok[1]))) {
		int r;
		if (operand_count(a, mn, nops, 1) || parse_reg(a, tok[1], &r))
			return -EINVAL;
		insn.opcode = 0x8d;
		insn.dst = (ebpf_u8)r;
		return emit(a, insn);
	}
	const char *target;
	if (nops == 1) {
		target = tok[1];
	} else if (nops == 2) {
		target = tok[2];
		if (!strcmp(tok[1], "helper"))
			insn.src = EBPF_CALL_HELPER;
		else if (!strcmp(tok[1], "local"))
			insn.src = EBPF_CALL_LOCAL;
		else if (!strcmp(tok[1], "btf") || !strcmp(tok[1], "runtime"))
			insn.src = EBPF_CALL_BTF;
		else
			return fail(a, "invalid call mode '%s' (helper, local, btf)", tok[1]);
	} else {
		return fail(a, "invalid number of operands for call");
	}
	if (insn.src == EBPF_CALL_LOCAL) {
		if (parse_target(a, target, 1, &insn.off, &insn.imm))
			return -EINVAL;
	} else if (insn.src == EBPF_CALL_HELPER && !looks_numeric(target)) {
		long h = bd_helper_number(target);
		if (h < 0)
			return fail(a, "unknown helper '%s'", target);
		insn.imm = (ebpf_s32)h;
	} else if (parse_imm32(a, target, &insn.imm)) {
		return -EINVAL;
	}
	return emit(a, insn);
}

/* A map by name: NAME, or NAME+OFF for the value forms (OFF into its value). */
static int asm_map_ref(struct assembler *a, const char *s, int value, uint64_t *v)
{
	char name[MAX_TOKLEN];
	const char *plus = strchr(s, '+');
	size_t len = plus ? (size_t)(plus - s) : strlen(s);
	if (len >= sizeof(name) || !is_ident(s, len))
		return fail(a, "invalid map name '%s'", s);
	memcpy(name, s, len);
	name[len] = 0;
	uint64_t off = 0;
	if (plus) {
		int neg, hex;
		if (!value)
			return fail(a, "a map pointer takes no offset: '%s'", s);
		if (bd_parse_number(plus + 1, &neg, &off, &hex) || neg || off > UINT32_MAX)
			return fail(a, "invalid offset into map value '%s'", plus + 1);
	}
	for (size_t i = 0; a->syms && i < a->syms->nmaps; i++)
		if (a->syms->maps[i] && !strcmp(a->syms->maps[i], name)) {
			*v = (uint64_t)i | off << 32;
			return 0;
		}
	return fail(a, "unknown map '%s' (declare it with a -- map section)", name);
}

/* Forms that a plain mnemonic may name (atomics and calls are handled apart). */
static int find_forms(const char *mn, int *forms, int max)
{
	int n = 0;
	for (int f = 0; f < FORM_COUNT && n < max; f++) {
		int fmt = ebpf_forms[f].fmt;
		if (fmt == EBPF_FMT_ATOMIC || fmt == EBPF_FMT_CALL || fmt == EBPF_FMT_CALLX)
			continue;
		if (!strcmp(ebpf_forms[f].mnemonic, mn))
			forms[n++] = f;
	}
	return n;
}

/* Mnemonic words are separated by blanks ("lock fetch add", "call local"),
 * operands by exactly one comma each: "mov %r0 1" is a missing comma, not
 * two operands. */
static int check_commas(struct assembler *a, char tok[][MAX_TOKLEN], int ntok)
{
	int first = 1;
	if (!strcmp(tok[0], "lock"))
		first = ntok > 1 && !strcmp(tok[1], "fetch") ? 3 : 2;
	else if (!strcmp(tok[0], "call") && ntok == 3)
		first = 2; /* call helper|local|btf|runtime TARGET */
	if (first > ntok)
		first = ntok;
	for (int i = 1; i < first; i++)
		if (a->commas[i])
			return fail(a, "unexpected ',' before '%s'", tok[i]);
	if (first < ntok && a->commas[first])
		return fail(a, "unexpected ',' before the first operand '%s'", tok[first]);
	for (int i = first + 1; i < ntok; i++) {
		if (!a->commas[i])
			return fail(a, "missing ',' between operands '%s' and '%s'", tok[i - 1], tok[i]);
		if (a->commas[i] > 1)
			return fail(a, "empty operand before '%s'", tok[i]);
	}
	if (a->commas[ntok])
		return fail(a, "trailing ',' after '%s'", tok[ntok - 1]);
	return 0;
}

static int asm_insn(struct assembler *a, char tok[][MAX_TOKLEN], int ntok)
{
	const char *mn = tok[0];
	int nops = ntok - 1;
	if (check_commas(a, tok, ntok))
		return -EINVAL;
	if (!strcmp(mn, ".insn"))
		return asm_raw(a, tok, nops);
	if (!strcmp(mn, "lock"))
		return asm_lock(a, tok, nops);
	if (!strcmp(mn, "call") || !strcmp(mn, "callx"))
		return asm_call(a, mn, tok, nops);

	int forms[4];
	int nf = find_forms(mn, forms, 4);
	if (!nf && !strncmp(mn, "swap", 4)) {
		char alias[MAX_TOKLEN + 2];
		alias[0] = 'b';
		memcpy(alias + 1, mn, strnlen(mn, MAX_TOKLEN - 1) + 1);
		alias[MAX_TOKLEN] = 0;
		nf = find_forms(alias, forms, 4);
	}
	if (!nf) {
		/* add64, mov64, neg64...: 64-bit ALU aliases */
		size_t len = strlen(mn);
		if (len > 2 && !strcmp(mn + len - 2, "64")) {
			char base[MAX_TOKLEN];
			memcpy(base, mn, len - 2);
			base[len - 2] = 0;
			nf = find_forms(base, forms, 4);
			for (int i = 0; i < nf; i++) {
				int fmt = ebpf_forms[forms[i]].fmt;
				if ((fmt != EBPF_FMT_ALU_K && fmt != EBPF_FMT_ALU_X && fmt != EBPF_FMT_NEG) ||
				    EBPF_CLASS(ebpf_forms[forms[i]].opcode) != EBPF_CLS_ALU64)
					nf = 0;
			}
		}
	}
	if (!nf)
		return fail(a, "invalid mnemonic '%s'", mn);

	int form = forms[0];
	int fmt = ebpf_forms[form].fmt;
	struct ebpf_insn insn;
	memset(&insn, 0, sizeof(insn));
	int dst = 0, src = 0;

	if (fmt == EBPF_FMT_ALU_K || fmt == EBPF_FMT_ALU_X || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X) {
		int want = (fmt == EBPF_FMT_ALU_K || fmt == EBPF_FMT_ALU_X) ? 2 : 3;
		if (operand_count(a, mn, nops, want))
			return -EINVAL;
		int want_x = is_reg_token(tok[2]);
		form = -1;
		for (int i = 0; i < nf; i++) {
			int f2 = ebpf_forms[forms[i]].fmt;
			if ((f2 == EBPF_FMT_ALU_X || f2 == EBPF_FMT_JCOND_X) == want_x)
				form = forms[i];
		}
		if (form < 0)
			return fail(a, "%s takes a %s source operand", mn, want_x ? "immediate" : "register");
		fmt = ebpf_forms[form].fmt;
		if (parse_reg(a, tok[1], &dst))
			return -EINVAL;
		if (want_x ? parse_reg(a, tok[2], &src) : parse_imm32(a, tok[2], &insn.imm))
			return -EINVAL;
		if (fmt == EBPF_FMT_ALU_K || fmt == EBPF_FMT_ALU_X)
			insn.off = (ebpf_s16)ebpf_forms[form].disc;
		else if (parse_target(a, tok[3], 0, &insn.off, &insn.imm))
			return -EINVAL;
	} else {
		switch (fmt) {
		case EBPF_FMT_NEG:
		case EBPF_FMT_END:
			if (operand_count(a, mn, nops, 1) || parse_reg(a, tok[1], &dst))
				return -EINVAL;
			if (fmt == EBPF_FMT_END)
				insn.imm = ebpf_forms[form].disc;
			else
				insn.off = (ebpf_s16)ebpf_forms[form].disc;
			break;
		case EBPF_FMT_LDDW: {
			uint64_t v = 0;
			if (operand_count(a, mn, nops, 2) || parse_reg(a, tok[1], &dst))
				return -EINVAL;
			if (looks_numeric(tok[2])) {
				if (parse_imm64(a, tok[2], &v))
					return -EINVAL;
			} else if (form == FORM_LDDW_CODE_ADDR) {
				/* A label: imm = target - pc - 1, as call local. */
				ebpf_s16 unused;
				ebpf_s32 rel = 0;
				if (parse_target(a, tok[2], 1, &unused, &rel))
					return -EINVAL;
				v = (uint32_t)rel;
			} else if (form == FORM_LDDW_MAP_FD || form == FORM_LDDW_MAP_IDX ||
				   form == FORM_LDDW_MAP_VALUE || form == FORM_LDDW_MAP_IDX_VALUE) {
				if (asm_map_ref(a, tok[2], form == FORM_LDDW_MAP_VALUE || form == FORM_LDDW_MAP_IDX_VALUE,
						&v))
					return -EINVAL;
			} else {
				return fail(a, "invalid 64-bit immediate '%s'", tok[2]);
			}
			insn.opcode = ebpf_forms[form].opcode;
			insn.dst = (ebpf_u8)dst;
			insn.src = (ebpf_u8)ebpf_forms[form].disc;
			insn.imm = (ebpf_s32)(uint32_t)v;
			struct ebpf_insn hi;
			memset(&hi, 0, sizeof(hi));
			hi.imm = (ebpf_s32)(uint32_t)(v >> 32);
			if (emit(a, insn))
				return -EINVAL;
			return emit(a, hi);
		}
		case EBPF_FMT_LDX:
		case EBPF_FMT_LOAD_ACQ:
			if (operand_count(a, mn, nops, 2) || parse_reg(a, tok[1], &dst) ||
			    parse_mem(a, tok[2], &src, &insn.off))
				return -EINVAL;
			if (fmt == EBPF_FMT_LOAD_ACQ)
				insn.imm = ebpf_forms[form].disc;
			break;
		case EBPF_FMT_ST:
			if (operand_count(a, mn, nops, 2) || parse_mem(a, tok[1], &dst, &insn.off) ||
			    parse_imm32(a, tok[2], &insn.imm))
				return -EINVAL;
			break;
		case EBPF_FMT_STX:
		case EBPF_FMT_STORE_REL:
			if (operand_count(a, mn, nops, 2) || parse_mem(a, tok[1], &dst, &insn.off) ||
			    parse_reg(a, tok[2], &src))
				return -EINVAL;
			if (fmt == EBPF_FMT_STORE_REL)
				insn.imm = ebpf_forms[form].disc;
			break;
		case EBPF_FMT_JA:
		case EBPF_FMT_MAY_GOTO: /* src = EBPF_MAY_GOTO = 0 */
			if (operand_count(a, mn, nops, 1) || parse_target(a, tok[1], 0, &insn.off, &insn.imm))
				return -EINVAL;
			break;
		case EBPF_FMT_JA32:
			if (operand_count(a, mn, nops, 1) || parse_target(a, tok[1], 1, &insn.off, &insn.imm))
				return -EINVAL;
			break;
		case EBPF_FMT_EXIT:
			if (operand_count(a, mn, nops, 0))
				return -EINVAL;
			if (a->first_exit < 0)
				a->first_exit = (long)a->n;
			break;
		default:
			return fail(a, "invalid mnemonic '%s'", mn);
		}
	}
	insn.opcode = ebpf_forms[form].opcode;
	insn.dst = (ebpf_u8)dst;
	insn.src = (ebpf_u8)src;
	return emit(a, insn);
}

static int resolve(struct assembler *a)
{
	for (size_t i = 0; i < a->nfixups; i++) {
		struct fixup *f = &a->fixups[i];
		struct label *l = find_label(a, f->name);
		long long target;
		a->line = f->line;
		if (l)
			target = (long long)l->pc;
		else if (!strcmp(f->name, "exit") && a->first_exit >= 0)
			target = a->first_exit;
		else
			return fail(a, "undefined label '%s'", f->name);
		long long rel = target - (long long)f->pc - 1;
		if (f->in_imm) {
			a->insns[f->pc].imm = (ebpf_s32)rel;
		} else {
			if (rel < -32768 || rel > 32767)
				return fail(a, "jump to '%s' out of 16-bit offset range", f->name);
			a->insns[f->pc].off = (ebpf_s16)rel;
		}
	}
	return 0;
}

static void cleanup(struct assembler *a)
{
	for (size_t i = 0; i < a->nlabels; i++)
		free(a->labels[i].name);
	for (size_t i = 0; i < a->nfixups; i++)
		free(a->fixups[i].name);
	free(a->labels);
	free(a->fixups);
	free(a->hash);
}

int bd_assemble(const char *text, int first_line, struct ebpf_insn **out, size_t *n, char *err,
		size_t errlen)
{
	return bd_assemble_syms(text, first_line, NULL, out, n, err, errlen);
}

int bd_assemble_syms(const char *text, int first_line, const struct bd_asm_syms *syms, struct ebpf_insn **out,
		     size_t *n, char *err, size_t errlen)
{
	struct assembler a;
	memset(&a, 0, sizeof(a));
	a.syms = syms;
	a.first_exit = -1;
	a.err = err;
	a.errlen = errlen;
	if (err && errlen)
		err[0] = 0;
	*out = NULL;
	*n = 0;
	int rc = 0;
	const char *p = text ? text : "";
	char line[1024];
	char tok[MAX_TOKENS][MAX_TOKLEN];
	for (int lineno = first_line; *p; lineno++) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		a.line = lineno;
		if (len >= sizeof(line)) {
			rc = fail(&a, "line too long");
			break;
		}
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (eol ? 1 : 0);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		/* ubpf's parser also takes `;` between instructions on one line */
		for (char *s = line, *semi; s && !rc; s = semi ? semi + 1 : NULL) {
			if ((semi = strchr(s, ';')))
				*semi = 0;
			while (isspace((unsigned char)*s))
				s++;
			/* label: [insn] */
			size_t id = 0;
			while (s[id] && !isspace((unsigned char)s[id]) && s[id] != ':' && s[id] != ',')
				id++;
			if (id && s[id] == ':') {
				if (!is_ident(s, id)) {
					rc = fail(&a, "invalid label name");
					break;
				}
				if ((rc = add_label(&a, s, id)))
					break;
				s += id + 1;
			}
			int ntok;
			if ((rc = tokenize(&a, s, tok, &ntok)) || !ntok)
				continue;
			rc = asm_insn(&a, tok, ntok);
		}
		if (rc)
			break;
	}
	if (!rc)
		rc = resolve(&a);
	cleanup(&a);
	if (rc) {
		free(a.insns);
		return rc;
	}
	*out = a.insns;
	*n = a.n;
	return 0;
}
