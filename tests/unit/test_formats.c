/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the formats: .data parser/writer, assembler, disassembler, ELF loader.
 *   test_formats [CONFORMANCE_TESTS_DIR [ELF_OBJECT]]
 * Defaults: ../shared/bpf_conformance/tests and ELF_PROG (set by formats.mk).
 * Run from the repository root. Prints "N passed, M failed"; exits 1 on any failure.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/asm.h"
#include "harness/case.h"
#include "harness/elf.h"
#include "vm/isa.h"

#ifndef ELF_PROG
#define ELF_PROG "build/unit/elf_prog.bpf.o"
#endif

static int passed, failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static char *disasm_text(const struct ebpf_insn *insns, size_t n, int labels)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bd_disasm_program(f, insns, n, labels);
	fclose(f);
	return buf;
}

/* disassemble (both modes) and re-assemble: identical bytes? */
static int roundtrip_insns(const struct ebpf_insn *insns, size_t n, char *why, size_t whylen)
{
	for (int labels = 0; labels < 2; labels++) {
		char *text = disasm_text(insns, n, labels);
		struct ebpf_insn *re = NULL;
		size_t nre = 0;
		char err[256];
		int rc = bd_assemble(text, 1, &re, &nre, err, sizeof(err));
		int ok = !rc && nre == n && !memcmp(re, insns, n * sizeof(*re));
		if (!ok) {
			if (rc)
				snprintf(why, whylen, "labels=%d: %s\n%s", labels, err, text);
			else
				snprintf(why, whylen, "labels=%d: bytes differ (%zu vs %zu insns)\n%s", labels, nre, n,
					 text);
		}
		free(re);
		free(text);
		if (!ok)
			return 0;
	}
	return 1;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_case(const struct bd_case *a, const struct bd_case *b, const char **what)
{
#define DIFF(cond, name)              \
	do {                          \
		if (cond) {           \
			*what = name; \
			return 0;     \
		}                     \
	} while (0)
	DIFF(a->ninsns != b->ninsns || (a->ninsns && memcmp(a->insns, b->insns, a->ninsns * sizeof(*a->insns))),
	     "insns");
	DIFF(a->mem_len != b->mem_len || (a->mem_len && memcmp(a->mem, b->mem, a->mem_len)), "mem");
	DIFF(a->has_result != b->has_result || a->result != b->result, "result");
	DIFF(a->has_error != b->has_error || a->error_is_pattern != b->error_is_pattern || !same_str(a->error, b->error),
	     "error");
	DIFF(a->has_mem_after != b->has_mem_after || a->mem_after_len != b->mem_after_len ||
		     (a->mem_after_len && memcmp(a->mem_after, b->mem_after, a->mem_after_len)),
	     "mem after");
	DIFF(a->nexpect != b->nexpect, "nexpect");
	for (int i = 0; i < a->nexpect; i++) {
		const struct bd_expect *x = &a->expect[i], *y = &b->expect[i];
		DIFF(strcmp(x->backend, y->backend) || strcmp(x->status, y->status) || !same_str(x->message, y->message) ||
			     x->has_result != y->has_result || x->result != y->result || !same_str(x->reason, y->reason) ||
			     x->observed != y->observed || !same_str(x->warning, y->warning) ||
			     memcmp(&x->scope, &y->scope, sizeof(x->scope)),
		     "expect");
	}
	DIFF(!same_str(a->description, b->description), "description");
	DIFF(!same_str(a->signature, b->signature), "signature");
	DIFF(a->cpu != b->cpu, "cpu");
	DIFF(!same_str(a->comment, b->comment), "comment");
	DIFF(!same_str(a->extra, b->extra), "extra");
	DIFF(!same_str(a->skip, b->skip) || a->rerun != b->rerun, "skip/rerun");
	DIFF(a->nmaps != b->nmaps, "nmaps");
	for (int i = 0; i < a->nmaps; i++) {
		const struct bd_map *x = &a->maps[i], *y = &b->maps[i];
		DIFF(strcmp(x->name, y->name) || x->type != y->type || x->key_size != y->key_size ||
			     x->value_size != y->value_size || x->max_entries != y->max_entries || x->flags != y->flags ||
			     x->freeze != y->freeze || x->has_after != y->has_after,
		     "map declaration");
		for (int pass = 0; pass < 2; pass++) {
			const struct bd_map_contents *cx = pass ? &x->after : &x->init, *cy = pass ? &y->after : &y->init;
			struct bd_map_contents fx, fy;
			/* zero array elements go without saying: compare every element */
			if (bd_map_contents_full(x, cx, &fx) || bd_map_contents_full(y, cy, &fy)) {
				*what = "out of memory";
				return 0;
			}
			const uint8_t *k;
			long byte;
			char w[160];
			int d = bd_map_contents_diff(&fx, &fy, &k, &byte, w, sizeof(w)) || fx.n != fy.n;
			bd_map_contents_free(&fx);
			bd_map_contents_free(&fy);
			DIFF(d, pass ? "map after" : "map contents");
		}
	}
	DIFF(a->nprogs != b->nprogs, "nprogs");
	for (int k = 0; k < a->nprogs; k++)
		DIFF(strcmp(a->progs[k].name, b->progs[k].name) || a->progs[k].ninsns != b->progs[k].ninsns ||
			     memcmp(a->progs[k].insns, b->progs[k].insns, a->progs[k].ninsns * sizeof(struct ebpf_insn)),
		     "programs");
	for (int k = 0; k < EBPF_ENV_KINDS; k++)
		DIFF(a->nhelper_values[k] != b->nhelper_values[k] ||
			     (a->nhelper_values[k] &&
			      memcmp(a->helper_values[k], b->helper_values[k], a->nhelper_values[k] * sizeof(uint64_t))),
		     "helper values");
#undef DIFF
	return 1;
}

static int format_roundtrip(const struct bd_case *c, const char **what)
{
	char *text = bd_case_format_data(c);
	if (!text) {
		*what = "format failed";
		return 0;
	}
	struct bd_case d;
	char err[512];
	int rc = bd_case_parse_data(c->path, text, strlen(text), &d, err, sizeof(err));
	int ok = 0;
	if (rc) {
		*what = "reparse failed";
		printf("  %s\n--- formatted:\n%s---\n", err, text);
	} else {
		ok = same_case(c, &d, what);
		if (!ok)
			printf("--- formatted:\n%s---\n", text);
		bd_case_free(&d);
	}
	/* without asm_text the disassembler writes the program */
	if (ok && c->asm_text) {
		struct bd_case e = *c;
		e.asm_text = NULL;
		char *t2 = bd_case_format_data(&e);
		rc = t2 ? bd_case_parse_data(c->path, t2, strlen(t2), &d, err, sizeof(err)) : -1;
		if (rc) {
			*what = "reparse of disassembled case failed";
			ok = 0;
		} else {
			ok = same_case(c, &d, what);
			bd_case_free(&d);
		}
		free(t2);
	}
	free(text);
	return ok;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_data(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0, cap = 0;
	*names = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".data"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			*names = realloc(*names, (size_t)cap * sizeof(char *));
		}
		(*names)[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(*names, (size_t)n, sizeof(char *), cmp_names);
	return n;
}

static void test_conformance(const char *dir)
{
	char **names;
	int n = list_data(dir, &names);
	check(n > 0, "no .data files in %s", dir);
	int files = 0;
	for (int i = 0; i < n; i++) {
		char path[4096], err[512], why[8192];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			continue;
		struct bd_case c;
		int rc = bd_case_load_data(path, &c, err, sizeof(err));
		check(!rc, "parse %s: %s", path, err);
		free(names[i]);
		if (rc)
			continue;
		files++;
		check(c.ninsns > 0 && (c.has_result || c.has_error), "%s: no program or no result", path);
		check(roundtrip_insns(c.insns, c.ninsns, why, sizeof(why)), "disasm/asm %s: %s", path, why);
		const char *what = "";
		check(format_roundtrip(&c, &what), "format/parse %s: %s differs", path, what);
		bd_case_free(&c);
	}
	free(names);
	printf("conformance: %d files in %s\n", files, dir);
}

/* The line each negative file must be refused at. */
static const struct {
	const char *name;
	int line;
} neg_lines[] = {
	{ "invalid_imm32_dec_range.data", 5 }, { "invalid_imm32_hex_range.data", 5 }, { "invalid_label.data", 4 },
	{ "invalid_lock.data", 4 },	       { "invalid_lock2.data", 4 },	      { "invalid_mnemonic.data", 5 },
	{ "invalid_offset.data", 4 },	       { "invalid_offset_range.data", 5 },    { "invalid_operand_count.data", 4 },
	{ "invalid_register.data", 4 },	       { "invalid_unknown_directive.data", 4 },
};

static void test_negative(const char *dir)
{
	char **names;
	int n = list_data(dir, &names);
	check(n > 0, "no .data files in %s", dir);
	for (int i = 0; i < n; i++) {
		char path[4096], err[512];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			continue;
		struct bd_case c;
		int rc = bd_case_load_data(path, &c, err, sizeof(err));
		const char *nm = names[i];
		if (!strncmp(nm, "invalid_", 8)) {
			/* "PATH:LINE: message" */
			size_t pl = strlen(path);
			int has_line = rc == -EINVAL && !strncmp(err, path, pl) && err[pl] == ':' && err[pl + 1] >= '1' &&
				       err[pl + 1] <= '9';
			check(has_line, "%s must fail with a line number, got rc=%d '%s'", path, rc, rc ? err : "");
			for (size_t k = 0; k < sizeof(neg_lines) / sizeof(neg_lines[0]); k++)
				if (!strcmp(nm, neg_lines[k].name))
					check(has_line && atoi(err + pl + 1) == neg_lines[k].line,
					      "%s must fail at line %d: '%s'", path, neg_lines[k].line, err);
		} else if (!strncmp(nm, "empty", 5)) {
			check(rc == -EINVAL && strstr(err, "no program"), "%s must fail with 'no program', got rc=%d '%s'",
			      path, rc, rc ? err : "");
		} else {
			check(!rc, "%s must parse: %s", path, err);
			if (!rc) {
				char why[8192];
				const char *what = "";
				check(roundtrip_insns(c.insns, c.ninsns, why, sizeof(why)), "disasm/asm %s: %s", path,
				      why);
				check(format_roundtrip(&c, &what), "format/parse %s: %s differs", path, what);
			}
		}
		if (!rc)
			bd_case_free(&c);
		free(names[i]);
	}
	free(names);
}

/* One line of assembly and the bytes it must give (hex, 8 per insn). */
static const struct {
	const char *src;
	const char *hex;
} syntax[] = {
	{ "add %r1, %r2", "0f 21 00 00 00 00 00 00" },
	{ "mov %r15, %r11", "bf bf 00 00 00 00 00 00" },
	{ "L: mov %r0, 1 ; ja L;exit", "b7 00 00 00 01 00 00 00 05 00 fe ff 00 00 00 00 95 00 00 00 00 00 00 00" },
	{ "add %r1, 5", "07 01 00 00 05 00 00 00" },
	{ "add64 %r1, 5", "07 01 00 00 05 00 00 00" },
	{ "mov64 %r1, %r2", "bf 21 00 00 00 00 00 00" },
	{ "add32 %r1, -3", "04 01 00 00 fd ff ff ff" },
	{ "mov32 %r0, 0xffffffff", "b4 00 00 00 ff ff ff ff" },
	{ "mov32 %r0, -2147483648", "b4 00 00 00 00 00 00 80" },
	{ "neg %r1", "87 01 00 00 00 00 00 00" },
	{ "neg64 %r1", "87 01 00 00 00 00 00 00" },
	{ "neg32 %r1", "84 01 00 00 00 00 00 00" },
	{ "sdiv %r1, %r2", "3f 21 01 00 00 00 00 00" },
	{ "smod32 %r1, 3", "94 01 01 00 03 00 00 00" },
	{ "movsx864 %r0, %r1", "bf 10 08 00 00 00 00 00" },
	{ "movsx1632 %r0, %r1", "bc 10 10 00 00 00 00 00" },
	{ "be16 %r0", "dc 00 00 00 10 00 00 00" },
	{ "le32 %r3", "d4 03 00 00 20 00 00 00" },
	{ "bswap64 %r0", "d7 00 00 00 40 00 00 00" },
	{ "swap16 %r0", "d7 00 00 00 10 00 00 00" },
	{ "lddw %r0, 0x1122334455667788", "18 00 00 00 88 77 66 55 00 00 00 00 44 33 22 11" },
	{ "lddw %r0, -2", "18 00 00 00 fe ff ff ff 00 00 00 00 ff ff ff ff" },
	{ "lddw_map_fd %r1, 5", "18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00" },
	{ "ldxw %r0, [%r1+2]", "61 10 02 00 00 00 00 00" },
	{ "ldxw %r0, [%r1-2]", "61 10 fe ff 00 00 00 00" },
	{ "ldxdw %r0, [%r1]", "79 10 00 00 00 00 00 00" },
	{ "ldxsb %r0, [%r1 + 0x10]", "91 10 10 00 00 00 00 00" },
	{ "stw [%r1+2], 5", "62 01 02 00 05 00 00 00" },
	{ "stxdw [%r10-8], %r1", "7b 1a f8 ff 00 00 00 00" },
	{ "lock add [%r10-8], %r1", "db 1a f8 ff 00 00 00 00" },
	{ "lock fetch add32 [%r10-4], %r1", "c3 1a fc ff 01 00 00 00" },
	{ "lock xchg [%r10-8], %r1", "db 1a f8 ff e1 00 00 00" },
	{ "lock cmpxchg32 [%r10-8], %r1", "c3 1a f8 ff f1 00 00 00" },
	{ "ja +3", "05 00 03 00 00 00 00 00" },
	{ "ja -1", "05 00 ff ff 00 00 00 00" },
	{ "ja l\nl: exit", "05 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00" },
	{ "jeq %r1, 5, +2", "15 01 02 00 05 00 00 00" },
	{ "jeq32 %r1, %r2, +1", "1e 21 01 00 00 00 00 00" },
	{ "jsgt %r1, 0xffffffff, -3", "65 01 fd ff ff ff ff ff" },
	{ "ja32 t\nexit\nt:\nexit", "06 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00" },
	{ "call 5", "85 00 00 00 05 00 00 00" },
	{ "call helper 5", "85 00 00 00 05 00 00 00" },
	{ "call local f\nexit\nf: exit", "85 10 00 00 01 00 00 00 95 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00" },
	{ "call local +3", "85 10 00 00 03 00 00 00" },
	{ "call btf 7", "85 20 00 00 07 00 00 00" },
	{ "call %r2", "8d 02 00 00 00 00 00 00" },
	{ "callx %r2", "8d 02 00 00 00 00 00 00" },
	{ "exit", "95 00 00 00 00 00 00 00" },
	{ "  exit   # comment", "95 00 00 00 00 00 00 00" },
	{ "jeq %r1, 0, exit\nmov %r0, 1\nexit", "15 01 01 00 00 00 00 00 b7 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00" },
	{ ".insn 0x07, 0, 1, 0, 1", "07 10 00 00 01 00 00 00" },
	{ ".insn 0xff, 15, 15, -1, -1", "ff ff ff ff ff ff ff ff" },
	{ ".insn 0x0000000100010007", "07 00 01 00 01 00 00 00" },
};

static const struct {
	const char *src;
	const char *msg;
} bad_asm[] = {
	{ "mov32 %r0, 2147483648", "1: immediate 2147483648 out of 32-bit range" },
	{ "mov32 %r0, 0x100000000", "out of 32-bit range" },
	{ "exit\nor %r0, %r50", "2: invalid register %r50" },
	{ "mov %r16, 1", "invalid register %r16" },
	{ "exit\nmov %r0, 1; frob", "2: invalid mnemonic 'frob'" },
	{ "ldxb %r0, [%r1+0x10000]", "out of 16-bit range" },
	{ "ldxb %r0, [%r1+32768]", "out of 16-bit range" },
	{ "ldxb %r0, %r1", "expected a memory operand" },
	{ "lddw %r0", "invalid number of operands for lddw" },
	{ "lock or [%r10-8]", "invalid number of operands for lock" },
	{ "lock", "invalid number of operands for lock" },
	{ "lock foo [%r10-8], %r1", "unknown atomic operation" },
	{ "ldxq %r0, %r1", "invalid mnemonic 'ldxq'" },
	{ "ja NOT_A_LABEL\nexit", "1: undefined label 'NOT_A_LABEL'" },
	{ "a:\na:\nexit", "2: duplicate label 'a'" },
	{ "movsx864 %r0, 5", "register source" },
	{ "call sideways 5", "invalid call mode" },
	{ "add %r1", "invalid number of operands for add" },
	{ "jeq %r1, 5", "invalid number of operands for jeq" },
	{ "mov %r0, 1x", "invalid immediate" },
	{ "ldxw %r0, [%r1+2", "unbalanced" },
	{ ".insn 0x100, 0, 0, 0, 0", "invalid opcode" },
	{ "mov32 %r0, 99999999999999999999999", "invalid immediate" },
};

static int parse_hex_expect(const char *hex, struct ebpf_insn **out, size_t *n)
{
	uint8_t *b;
	size_t len;
	if (bd_parse_hex_bytes(hex, &b, &len) || len % 8)
		return -1;
	*out = (struct ebpf_insn *)(void *)b;
	*n = len / 8;
	return 0;
}

static void test_syntax(void)
{
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		struct ebpf_insn *got = NULL, *want = NULL;
		size_t ngot = 0, nwant = 0;
		char err[256];
		int rc = bd_assemble(syntax[i].src, 1, &got, &ngot, err, sizeof(err));
		parse_hex_expect(syntax[i].hex, &want, &nwant);
		check(!rc && ngot == nwant && !memcmp(got, want, ngot * 8), "assemble '%s': %s", syntax[i].src,
		      rc ? err : "wrong bytes");
		char why[4096];
		if (!rc)
			check(roundtrip_insns(got, ngot, why, sizeof(why)), "roundtrip '%s': %s", syntax[i].src, why);
		free(got);
		free(want);
	}
	for (size_t i = 0; i < sizeof(bad_asm) / sizeof(bad_asm[0]); i++) {
		struct ebpf_insn *got = NULL;
		size_t ngot = 0;
		char err[256] = "";
		int rc = bd_assemble(bad_asm[i].src, 1, &got, &ngot, err, sizeof(err));
		check(rc == -EINVAL && strstr(err, bad_asm[i].msg), "'%s' must fail with '%s', got rc=%d '%s'",
		      bad_asm[i].src, bad_asm[i].msg, rc, err);
		free(got);
	}
	/* single-instruction disassembly */
	struct ebpf_insn *in = NULL;
	size_t n = 0;
	parse_hex_expect("18 00 00 00 88 77 66 55 00 00 00 00 44 33 22 11", &in, &n);
	char buf[128];
	int slots = 0;
	bd_disasm_insn(in, n, 0, buf, sizeof(buf), &slots);
	check(slots == 2 && !strcmp(buf, "lddw %r0, 0x1122334455667788"), "disasm lddw: '%s' slots %d", buf, slots);
	bd_disasm_insn(in, 1, 0, buf, sizeof(buf), &slots);
	check(slots == 1 && !strncmp(buf, ".insn", 5), "disasm truncated lddw: '%s'", buf);
	free(in);
}

static void test_sections(void)
{
	const char *text = "# bug class: test\n"
			   "# second\n"
			   "-- description\n"
			   "two\nlines\n"
			   "-- asm\n"
			   "mov %r0, 1\n"
			   "exit\n"
			   "-- mem\n"
			   "00 01 0x02 0304\n"
			   "-- result\n"
			   "-1\n"
			   "-- mem after\n"
			   "ff 01 02 03 04\n"
			   "-- expect kernel\n"
			   "# the verifier refuses it\n"
			   "rejected invalid shift\n"
			   "-- expect xdp\n"
			   "result 0x2\n"
			   "unsupported\n"
			   "-- expect guest:*  release<6.6   arch=s390x jit=off\n"
			   "# 6.1 predates cpu v4\n"
			   "rejected unknown opcode\n"
			   "-- observed kernel release=6.18.44-fc arch=x86_64 jit=on\n"
			   "ok\n"
			   "result 0x1\n"
			   "warning verifier bug: REG INVARIANTS VIOLATION (true_reg1)\n"
			   "-- signature\n"
			   "alu:mov64|uvm/kernel|r0\n"
			   "-- cpu\n"
			   "v4\n"
			   "-- no register offset\n"
			   "call instruction\n";
	struct bd_case c;
	char err[512];
	int rc = bd_case_parse_data("t.data", text, strlen(text), &c, err, sizeof(err));
	check(!rc, "parse bpfdiff sections: %s", err);
	if (rc)
		return;
	check(c.ninsns == 2 && c.mem_len == 5 && c.mem[3] == 3 && c.mem[4] == 4, "mem/insns");
	check(c.has_result && c.result == UINT64_MAX, "result -1");
	check(c.has_mem_after && c.mem_after_len == 5 && c.mem_after[0] == 0xff, "mem after");
	check(c.nexpect == 4 && !strcmp(c.expect[0].backend, "kernel") && !strcmp(c.expect[0].status, "rejected") &&
		      c.expect[0].message && !strcmp(c.expect[0].message, "invalid shift") && c.expect[0].reason &&
		      !strcmp(c.expect[0].reason, "the verifier refuses it") && !c.expect[0].has_result,
	      "expect kernel");
	check(c.nexpect == 4 && !strcmp(c.expect[1].status, "unsupported") && !c.expect[1].message &&
		      c.expect[1].has_result && c.expect[1].result == 2,
	      "expect xdp");
	check(c.signature && !strcmp(c.signature, "alu:mov64|uvm/kernel|r0"), "signature");
	check(c.cpu == 4, "cpu");
	check(c.nexpect == 4 && !strcmp(c.expect[2].backend, "guest:*") && !strcmp(c.expect[2].scope.release, "6.6") &&
		      !strcmp(c.expect[2].scope.release_op, "<") && !strcmp(c.expect[2].scope.arch, "s390x") &&
		      c.expect[2].scope.jit == 0 && !c.expect[2].observed,
	      "scoped expect");
	check(c.nexpect == 4 && c.expect[3].observed && !strcmp(c.expect[3].scope.release, "6.18.44-fc") &&
		      !c.expect[3].scope.release_op[0] && c.expect[3].scope.jit == 1 && c.expect[3].warning &&
		      strstr(c.expect[3].warning, "true_reg1") && !bd_case_unconfirmed(&c),
	      "observed with a warning (a case with -- result is confirmed)");
	check(c.description && !strcmp(c.description, "two\nlines"), "description");
	check(c.comment && !strcmp(c.comment, "# bug class: test\n# second"), "comment '%s'", c.comment);
	check(c.extra && strstr(c.extra, "-- no register offset\ncall instruction"), "extra");
	const char *what = "";
	check(format_roundtrip(&c, &what), "format/parse sections: %s", what);
	bd_case_free(&c);

	/* a case built in memory (a fuzz find): no asm_text, comment without '#' */
	struct bd_case f;
	memset(&f, 0, sizeof(f));
	f.path = strdup("find.data");
	f.comment = strdup("found by fuzz\n# keep");
	static const char prog[] = "jeq %r1, 0, +1\nja -2\n.insn 0x07, 0, 1, 0, 1\nexit\n";
	bd_assemble(prog, 1, &f.insns, &f.ninsns, err, sizeof(err));
	f.has_error = true;
	f.error = strdup("");
	f.nexpect = 1;
	strcpy(f.expect[0].backend, "uvm");
	strcpy(f.expect[0].status, "fault");
	f.expect[0].message = strdup("out of bounds");
	char *out = bd_case_format_data(&f);
	rc = bd_case_parse_data("find.data", out, strlen(out), &c, err, sizeof(err));
	check(!rc && c.ninsns == 4 && !memcmp(c.insns, f.insns, 32) && c.has_error && c.error && !*c.error &&
		      !strcmp(c.comment, "# found by fuzz\n# keep") && c.nexpect == 1 &&
		      !strcmp(c.expect[0].message, "out of bounds"),
	      "format fuzz find: %s\n%s", rc ? err : "", out);
	if (!rc)
		bd_case_free(&c);
	free(out);
	bd_case_free(&f);
}

static const struct {
	const char *text;
	const char *msg;
} bad_data[] = {
	{ "", "t.data: no program (no -- asm or -- raw section)" },
	{ "# only\n-- result\n1\n", "no program" },
	{ "-- asm\nexit\n-- bogus\n", "t.data:3: unknown section '-- bogus'" },
	{ "-- asm\nexit\n-- asm\nexit\n", "t.data:3: duplicate section" },
	{ "-- raw\n95 00 00 00 00 00 00\n", "t.data:2: 7 hex bytes: a line of -- raw bytes holds whole 8-byte" },
	{ "-- raw\n95 00 00 zz 00 00 00 00\n", "t.data:2: invalid hex byte 'zz'" },
	{ "-- raw\n0x95\n95 00 00 00\n00 00 00 00\n", "t.data:3: 4 hex bytes" },
	{ "-- raw\n0x95\n0xzz\n", "t.data:3: invalid instruction word '0xzz'" },
	{ "-- raw\n007\n", "t.data:2: invalid instruction word '007'" },
	{ "-- raw\n1__49\n", "t.data:2: invalid instruction word" },
	{ "-- raw\n149_\n", "t.data:2: invalid instruction word" },
	{ "-- raw\n0b102\n", "t.data:2: invalid instruction word" },
	{ "-- raw\n-1\n", "t.data:2: negative instruction word '-1'" },
	{ "-- raw\n18446744073709551616\n", "t.data:2: instruction word '18446744073709551616' wider than 64 bits" },
	{ "-- raw\n# only a comment\n", "t.data:1: -- raw section has no instructions" },
	{ "-- asm\nexit\n-- mem\n0x00 zz: 01\n", "t.data:4: invalid hexdump offset" },
	{ "-- asm\nexit\n-- mem\n: 01\n", "t.data:4: invalid hexdump offset" },
	{ "-- asm\nexit\n-- result @ x\n", "t.data:3: -- result @ x: only asm, raw, mem and mem after" },
	{ "-- asm @ a @ b\n", "t.data:1: -- asm@ takes one file name" },
	{ "-- asm @ no/such.asm\n", "t.data:1: -- asm @ no/such.asm: no/such.asm: No such file or directory" },
	{ "-- asm @ no/such.asm\n-- pyelf\n", "t.data:1: -- asm @ no/such.asm" },
	{ "-- pyelf\n-- pyelf\n", "t.data:2: duplicate section '-- pyelf'" },
	{ "-- asm\nexit\n-- bogus # comment\n", "t.data:3: unknown section '-- bogus'" },
	{ "-- asm\nexit\n-- mem\n00 123\n", "t.data:4: invalid hex byte '123'" },
	{ "-- asm\nexit\n-- result\n0x10000000000000000\n", "t.data:4: invalid result" },
	{ "-- asm\nexit\n-- result\n1\n2\n", "t.data:5: -- result takes one line" },
	{ "-- asm\nexit\n-- result\n", "t.data:3: empty -- result section" },
	{ "-- asm\n\nmov %r0, 1\nfoo %r1\n", "t.data:4: invalid mnemonic 'foo'" },
	{ "-- asm\nexit\n-- raw\n0x0000000000000096\n", "t.data:3: -- raw and -- asm differ at instruction 0" },
	{ "hello\n-- asm\nexit\n", "t.data:1: text before the first section" },
	{ "-- asm\nexit\n-- expect kernel\nmaybe\n", "t.data:4: unknown status 'maybe'" },
	{ "-- asm\nexit\n-- expect kernel\n", "t.data:3: -- expect kernel: no status, result or warning line" },
	{ "-- asm\nexit\n-- expect\nok\n", "t.data:3: unknown section" },
	{ "-- asm\nexit\n-- expect kernel arch x86\nok\n", "t.data:3: -- expect kernel arch x86: 'arch' is not a scope" },
	{ "-- asm\nexit\n-- expect kernel jit=maybe\nok\n", "t.data:3: -- expect kernel jit=maybe: 'jit=maybe' is not a scope" },
	{ "-- asm\nexit\n-- expect kernel release=\nok\n", "'release=' is not a scope" },
	{ "-- asm\nexit\n-- expect kernel arch=x86_64\nok\n-- expect kernel arch=x86_64\nrejected\n",
	  "t.data:5: duplicate -- expect kernel arch=x86_64 section" },
	{ "-- asm\nexit\n-- observed kernel\nwarning\n", "t.data:4: warning needs the text the kernel logs" },
	{ "-- asm\nexit\n-- cpu\nv5\n", "t.data:4: invalid cpu 'v5'" },
	{ "-- asm\nexit\n-- error pattern\n([a\n", "t.data:4: invalid error pattern" },
	{ "-- asm\nexit\n-- error\nx\n-- error pattern\ny\n", "t.data:5: duplicate section" },
	{ "-- asm\n# nothing\n", "t.data:1: -- asm section has no instructions" },
};

static void test_bad_data(void)
{
	for (size_t i = 0; i < sizeof(bad_data) / sizeof(bad_data[0]); i++) {
		struct bd_case c;
		char err[512] = "";
		int rc = bd_case_parse_data("t.data", bad_data[i].text, strlen(bad_data[i].text), &c, err, sizeof(err));
		check(rc == -EINVAL && strstr(err, bad_data[i].msg), "bad data %zu must fail with '%s', got rc=%d '%s'",
		      i, bad_data[i].msg, rc, err);
		if (!rc)
			bd_case_free(&c);
	}
	struct bd_case c;
	char err[512];
	int rc = bd_case_load_data("no/such/file.data", &c, err, sizeof(err));
	check(rc == -ENOENT && !strcmp(err, "no/such/file.data: No such file or directory"), "missing file: %d '%s'", rc,
	      err);
	/* ubpf's raw words, CRLF line ends, raw + asm agreeing */
	const char *ok = "-- asm\r\nlddw %r0, 0x1122334455667788\r\nexit\r\n-- raw\r\n0x5566778800000018\r\n"
			 "0x1122334400000000\r\n0x0000000000000095\r\n-- result\r\n0x1122334455667788\r\n";
	rc = bd_case_parse_data("t.data", ok, strlen(ok), &c, err, sizeof(err));
	check(!rc && c.ninsns == 3 && c.result == 0x1122334455667788ull, "raw words + CRLF: %s", rc ? err : "");
	if (!rc)
		bd_case_free(&c);
}

/* ubpf's dialect: -- raw as int(line, 0), hexdump offsets, comments on section
 * and error lines, -- pyelf / -- reload (skipped), -- unload (run again). */
static void test_ubpf_dialect(void)
{
	static const char *const exit_words[] = { "149", "0x95", "0X95", "0x_95", "0o225", "0b1001_0101", "+149",
						  "1_4_9", "  0x0000000000000095  # exit" };
	for (size_t i = 0; i < sizeof(exit_words) / sizeof(exit_words[0]); i++) {
		char text[128], err[512];
		struct bd_case c;
		snprintf(text, sizeof(text), "-- raw\n%s\n", exit_words[i]);
		int rc = bd_case_parse_data("t.data", text, strlen(text), &c, err, sizeof(err));
		check(!rc && c.ninsns == 1 && c.insns[0].opcode == 0x95 && !c.insns[0].dst && !c.insns[0].imm,
		      "raw word '%s' is exit: %s", exit_words[i], rc ? err : "wrong instruction");
		if (!rc)
			bd_case_free(&c);
	}
	struct bd_case c;
	char err[512];
	const char *t = "-- raw\n18446744073709551615\n-0\n";
	int rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	uint64_t w0 = 0, w1 = 1;
	if (!rc) {
		memcpy(&w0, &c.insns[0], 8);
		memcpy(&w1, &c.insns[1], 8);
	}
	check(!rc && c.ninsns == 2 && w0 == UINT64_MAX && w1 == 0, "raw 2^64-1 and -0: %s", rc ? err : "wrong words");
	if (!rc)
		bd_case_free(&c);

	t = "-- raw\nb7 00 00 00 2a 00 00 00, 07 00 00 00 01 00 00 00\n149\n";
	rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	check(!rc && c.ninsns == 3 && c.insns[0].opcode == 0xb7 && c.insns[0].imm == 42 && c.insns[1].opcode == 0x07 &&
		      c.insns[2].opcode == 0x95, "raw bytes lines and a word line: %s", rc ? err : "wrong instructions");
	if (!rc)
		bd_case_free(&c);

	t = "-- asm # the program\nexit\n-- mem\n0x0000:  0026 622f\n00000004: 45 # c: d\n  0x0005: 0a\n\n-- result # r\n0x0\n"
	    "-- error   # e\n# a comment line\n\nFailed to load   # tail\nsecond line\n";
	rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	check(!rc, "hexdump and comments: %s", err);
	if (!rc) {
		static const uint8_t want[] = { 0x00, 0x26, 0x62, 0x2f, 0x45, 0x0a };
		check(c.mem_len == sizeof(want) && !memcmp(c.mem, want, sizeof(want)), "hexdump bytes (%zu)", c.mem_len);
		check(c.has_result && !c.result, "result under a commented header");
		check(c.error && !strcmp(c.error, "Failed to load\nsecond line"), "error text '%s'", c.error);
		bd_case_free(&c);
	}

	t = "-- pyelf\nehdr.e_machine = 1\n-- error\nwrong machine\n";
	rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	check(!rc && !c.ninsns && c.skip && strstr(c.skip, "pyelf") && c.extra &&
		      strstr(c.extra, "-- pyelf\nehdr.e_machine = 1"), "pyelf: %s", rc ? err : "");
	const char *what = "";
	if (!rc) {
		check(format_roundtrip(&c, &what), "format/parse pyelf: %s", what);
		bd_case_free(&c);
	}
	t = "-- asm\nexit\n-- reload\n-- error\nalready\n";
	rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	check(!rc && c.skip && strstr(c.skip, "reload") && !c.rerun, "reload: %s", rc ? err : "");
	if (!rc) {
		check(format_roundtrip(&c, &what), "format/parse reload: %s", what);
		bd_case_free(&c);
	}
	t = "-- asm\nmov %r0, 0\nexit\n-- unload\n-- result\n0x0\n";
	rc = bd_case_parse_data("t.data", t, strlen(t), &c, err, sizeof(err));
	check(!rc && !c.skip && c.rerun, "unload: %s", rc ? err : "");
	if (!rc) {
		check(format_roundtrip(&c, &what), "format/parse unload: %s", what);
		bd_case_free(&c);
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random_roundtrip(void)
{
	int bad = 0;
	char why[16384];
	for (int iter = 0; iter < 20000 && bad < 5; iter++) {
		struct ebpf_insn p[8];
		size_t n = 1 + rnd() % 8;
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();
			memcpy(&p[i], &r, 8);
			/* mostly valid forms with small fields, so labels and lddw get exercised */
			if (rnd() % 4) {
				int f = (int)(rnd() % FORM_COUNT);
				const struct ebpf_form_desc *d = &ebpf_forms[f];
				p[i].opcode = d->opcode;
				p[i].dst = (ebpf_u8)(rnd() % 11);
				p[i].src = (ebpf_u8)(rnd() % 11);
				p[i].off = (ebpf_s16)((int)(rnd() % 9) - 4);
				p[i].imm = (ebpf_s32)((int)(rnd() % 9) - 4);
				unsigned unused = ebpf_unused_fields(f);
				if (rnd() % 8) {
					if (unused & EBPF_F_DST) p[i].dst = 0;
					if (unused & EBPF_F_SRC) p[i].src = 0;
					if (unused & EBPF_F_OFF) p[i].off = 0;
					if (unused & EBPF_F_IMM) p[i].imm = 0;
				}
				switch (d->fmt) {
				case EBPF_FMT_ALU_K: case EBPF_FMT_ALU_X: case EBPF_FMT_NEG: p[i].off = (ebpf_s16)d->disc; break;
				case EBPF_FMT_END: case EBPF_FMT_ATOMIC: p[i].imm = d->disc; break;
				case EBPF_FMT_LDDW: case EBPF_FMT_CALL: p[i].src = (ebpf_u8)d->disc; break;
				default: break;
				}
				if (d->fmt == EBPF_FMT_LDDW && i + 1 < n && rnd() % 4) {
					memset(&p[i + 1], 0, 8);
					p[i + 1].imm = (ebpf_s32)rnd();
					i++;
				}
			}
		}
		if (!roundtrip_insns(p, n, why, sizeof(why))) {
			bad++;
			check(0, "random roundtrip: %s", why);
		}
	}
	check(!bad, "random roundtrip");
}

/* The line an error message names: "PATH:LINE: ...", or 0 for "PATH: ..." (a file-level
 * error), or -1 when the message does not start with the path. */
static int error_line(const char *err, const char *path)
{
	size_t n = strlen(path);
	if (strncmp(err, path, n) || err[n] != ':')
		return -1;
	if (err[n + 1] == ' ')
		return 0;
	char *end;
	long line = strtol(err + n + 1, &end, 10);
	return end != err + n + 1 && *end == ':' && line > 0 ? (int)line : -1;
}

static int count_lines(const char *t, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += t[i] == '\n';
	return n + (len && t[len - 1] != '\n');
}

/* Mutations whose outcome is known without the parser, on every suite file:
 *  - a line "-- no such section" inserted before line k is an error naming line k;
 *  - CRLF line ends parse to the very same case;
 *  - the first byte of the first `-- mem` line replaced by "zz" is an error naming that line.
 * Returns how many files were checked. */
static int test_known_mutations(const char *dir)
{
	char **names;
	int n = list_data(dir, &names), files = 0, inserted = 0, crlf = 0, badhex = 0;
	for (int i = 0; i < n; i++) {
		char path[4096], err[512];
		char *buf = NULL;
		size_t len = 0;
		FILE *f = NULL;
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path))
			f = fopen(path, "rb");
		if (f) {
			FILE *m = open_memstream(&buf, &len);
			int ch;
			while ((ch = fgetc(f)) != EOF)
				fputc(ch, m);
			fclose(m);
			fclose(f);
		}
		free(names[i]);
		struct bd_case orig;
		if (!buf || bd_case_parse_data(path, buf, len, &orig, err, sizeof(err))) {
			check(0, "%s: does not parse as it is: %s", path, err);
			free(buf);
			continue;
		}
		files++;
		int lines = count_lines(buf, len);
		char *mut = malloc(len * 2 + 64);
		/* An unknown section before line k, for k = 1 .. lines + 1. */
		size_t at = 0;
		for (int k = 1; k <= lines + 1; k++) {
			size_t ml = 0;
			memcpy(mut, buf, at);
			ml = at;
			if (at && mut[at - 1] != '\n')
				mut[ml++] = '\n'; /* the last line had no newline */
			ml += (size_t)sprintf(mut + ml, "-- no such section\n");
			memcpy(mut + ml, buf + at, len - at);
			ml += len - at;
			struct bd_case c;
			int rc = bd_case_parse_data(path, mut, ml, &c, err, sizeof(err));
			if (!rc)
				bd_case_free(&c);
			check(rc == -EINVAL && error_line(err, path) == k && strstr(err, "unknown section"),
			      "%s: section inserted at line %d: rc %d, '%s'", path, k, rc, err);
			inserted++;
			while (at < len && buf[at] != '\n')
				at++;
			if (at < len)
				at++;
		}
		/* CRLF: the same case. */
		size_t ml = 0;
		for (size_t j = 0; j < len; j++) {
			if (buf[j] == '\n')
				mut[ml++] = '\r';
			mut[ml++] = buf[j];
		}
		struct bd_case c;
		const char *what = "";
		int rc = bd_case_parse_data(path, mut, ml, &c, err, sizeof(err));
		check(!rc && same_case(&orig, &c, &what), "%s with CRLF: rc %d '%s', %s differs", path, rc, err, what);
		if (!rc)
			bd_case_free(&c);
		crlf++;
		/* "zz" in the first hex line of -- mem. */
		char *hdr = strstr(buf, "\n-- mem\n");
		if (hdr) {
			int line = 3; /* hdr ends line c + 1 (c: newlines before it); -- mem is line c + 2 */
			for (char *q = buf; q < hdr; q++)
				line += *q == '\n';
			char *q = hdr + 8;
			while (*q == '\n' || *q == '#') { /* blank and comment lines are not hex */
				if (*q == '#')
					q = strchr(q, '\n') ? strchr(q, '\n') : buf + len;
				if (*q == '\n')
					q++, line++;
			}
			while (*q == ' ' || *q == '\t')
				q++;
			if (q + 1 < buf + len && isxdigit((unsigned char)q[0]) && isxdigit((unsigned char)q[1])) {
				memcpy(mut, buf, len);
				mut[q - buf] = 'z';
				mut[q - buf + 1] = 'z';
				rc = bd_case_parse_data(path, mut, len, &c, err, sizeof(err));
				if (!rc)
					bd_case_free(&c);
				check(rc == -EINVAL && error_line(err, path) == line, "%s: 'zz' on line %d: rc %d '%s'", path,
				      line, rc, err);
				badhex++;
			}
		}
		bd_case_free(&orig);
		free(mut);
		free(buf);
	}
	free(names);
	check(files == n && inserted > files && crlf == files && badhex > 0,
	      "known mutations: %d files of %d, %d insertions, %d CRLF, %d bad hex", files, n, inserted, crlf, badhex);
	printf("known mutations: %d files, %d inserted sections, %d CRLF, %d bad hex\n", files, inserted, crlf,
	       badhex);
	return files;
}

/* Random mutations and garbage: never a crash (ASan in unit-san), an error names the file and
 * a line the input has (or none, for a file-level error), and what parses round-trips. */
static void test_garbage(const char *dir)
{
	char **names;
	int n = list_data(dir, &names);
	static const char alphabet[] = "-- asm\nraw\nmem\n#%r[]+-,0x19af:lock fetch call local exit lddw\n\r\t ";
	int parsed = 0, refused = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			continue;
		FILE *f = fopen(path, "rb");
		char buf[8192];
		size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		for (int m = 0; m < 20; m++) {
			char mut[8192];
			memcpy(mut, buf, len);
			size_t ml = len;
			int edits = 1 + (int)(rnd() % 6);
			for (int e = 0; e < edits && ml; e++) {
				size_t at = rnd() % ml;
				switch (rnd() % 4) {
				case 0: mut[at] = alphabet[rnd() % (sizeof(alphabet) - 1)]; break;
				case 1: mut[at] = (char)rnd(); break;
				case 2: ml = at; break;
				default:
					if (ml + 1 < sizeof(mut)) {
						memmove(mut + at + 1, mut + at, ml - at);
						mut[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
						ml++;
					}
				}
			}
			struct bd_case c;
			char err[512];
			int rc = bd_case_parse_data(path, mut, ml, &c, err, sizeof(err));
			if (!rc) {
				parsed++;
				check(c.ninsns > 0, "mutated %s: parsed with no program", path);
				char *t = bd_case_format_data(&c);
				struct bd_case d;
				const char *what = "";
				if (t && !bd_case_parse_data(path, t, strlen(t), &d, err, sizeof(err))) {
					if (!same_case(&c, &d, &what))
						check(0, "mutated %s: format/parse %s differs", path, what);
					bd_case_free(&d);
				} else {
					check(0, "mutated %s: formatted text does not parse: %s\n%s", path, err, t ? t : "");
				}
				free(t);
				bd_case_free(&c);
			} else {
				refused++;
				int line = error_line(err, path);
				check(rc == -EINVAL && line >= 0 && line <= count_lines(mut, ml),
				      "mutated %s: rc %d, error '%s' names no line of its %d", path, rc, err,
				      count_lines(mut, ml));
			}
		}
		free(names[i]);
	}
	free(names);
	for (int i = 0; i < 2000; i++) {
		char g[256];
		size_t gl = rnd() % sizeof(g);
		for (size_t k = 0; k < gl; k++)
			g[k] = (rnd() % 2) ? alphabet[rnd() % (sizeof(alphabet) - 1)] : (char)rnd();
		struct bd_case c;
		char err[512];
		int rc = bd_case_parse_data("g", g, gl, &c, err, sizeof(err));
		if (!rc) {
			check(c.ninsns > 0, "garbage parsed with no program");
			bd_case_free(&c);
		} else {
			int line = error_line(err, "g");
			check(line >= 0 && line <= count_lines(g, gl), "garbage: error '%s' names no line of its %d", err,
			      count_lines(g, gl));
		}
		struct ebpf_insn *out;
		size_t no;
		g[gl] = 0;
		if (!bd_assemble(g, 1, &out, &no, err, sizeof(err)))
			free(out);
	}
	printf("random mutations: %d parsed, %d refused\n", parsed, refused);
}

/* Many labels and jumps: linear time (a quadratic lookup would take minutes here). */
static void test_big(void)
{
	size_t n = 60000;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "l%zu: jeq %%r1, %zu, l%zu\n", i, i,
			(i % 2 && i >= 15000)	      ? i - (i * 31) % 15000 :
			i + (i * 7919) % 30000 < n ? i + (i * 7919) % 30000 : i);
	fputs("exit\n", f);
	fclose(f);
	struct ebpf_insn *out = NULL;
	size_t no = 0;
	char err[256];
	int rc = bd_assemble(buf, 1, &out, &no, err, sizeof(err));
	check(!rc && no == n + 1, "big program: %s", rc ? err : "");
	char why[256];
	if (!rc)
		check(roundtrip_insns(out, no, why, sizeof(why)), "big roundtrip: %.100s", why);
	free(out);
	free(buf);
}

static void test_elf(const char *obj)
{
	struct bd_case *cs;
	size_t n;
	char err[512];
	check(bd_is_elf(obj), "%s is not ELF (build it with make)", obj);
	check(!bd_is_elf("tests/unit/test_formats.c"), "a C file is not ELF");
	int rc = bd_case_load_elf(obj, "xdp", &cs, &n, err, sizeof(err));
	check(!rc && n == 1, "load xdp from %s: %s", obj, rc ? err : "");
	if (!rc) {
		/* prog_xdp, then the static function it calls appended after it. */
		check(n == 1 && cs[0].ninsns == 7 && !strcmp(cs[0].section, "prog_xdp") && !strcmp(cs[0].path, obj) &&
			      cs[0].insns[1].opcode == 0x85 && cs[0].insns[1].src == 1 && cs[0].insns[1].imm == 1 &&
			      cs[0].insns[3].opcode == 0xbf,
		      "xdp case content");
		char why[4096];
		check(roundtrip_insns(cs[0].insns, cs[0].ninsns, why, sizeof(why)), "elf roundtrip: %s", why);
		for (size_t i = 0; i < n; i++)
			bd_case_free(&cs[i]);
		free(cs);
	}
	rc = bd_case_load_elf(obj, "tc", &cs, &n, err, sizeof(err));
	check(!rc && n == 1 && cs[0].ninsns == 2 && cs[0].insns[0].imm == 42, "load tc: %s", rc ? err : "");
	if (!rc) {
		bd_case_free(&cs[0]);
		free(cs);
	}
	rc = bd_case_load_elf(obj, "prog_tc", &cs, &n, err, sizeof(err));
	check(!rc && n == 1 && cs[0].ninsns == 2, "load by program name: %s", rc ? err : "");
	if (!rc) {
		bd_case_free(&cs[0]);
		free(cs);
	}
	/* libbpf refuses this object (a static function in a program's own
	 * section), so it has no maps: prog_bad's global cannot be expressed. */
	rc = bd_case_load_elf(obj, NULL, &cs, &n, err, sizeof(err));
	check(rc == -EINVAL && strstr(err, "program prog_bad") && strstr(err, "counter") && strstr(err, "not supported"),
	      "all programs must refuse 'prog_bad': rc=%d '%s'", rc, err);
	rc = bd_case_load_elf(obj, "nope", &cs, &n, err, sizeof(err));
	check(rc == -EINVAL && strstr(err, "no program or section 'nope'"), "missing section: '%s'", err);
	rc = bd_case_load_elf("tests/unit/test_formats.c", NULL, &cs, &n, err, sizeof(err));
	check(rc == -EINVAL, "non-ELF must fail: '%s'", err);
}

/* Maps, further programs and helper values: parsed, written back, the same. */
static void test_maps(void)
{
	const char *text = "# maps\n"
			   "-- map counts array value=8 max_entries=4\n"
			   "1: 01 02 03 04 05 06 07 08\n"
			   "-- map seen hash key=6 value=4 max_entries=2 flags=no_prealloc\n"
			   "aa bb cc dd ee ff: 01 00 00 00   # a comment\n"
			   "-- map big array value=40 max_entries=1 freeze\n"
			   "0: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 \\\n"
			   "   14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27\n"
			   "-- map jt prog_array max_entries=4\n"
			   "2: second\n"
			   "0: main\n"
			   "-- asm\n"
			   "lddw_map_fd %r1, counts\n"
			   "lddw_map_value %r2, big+8\n"
			   "lddw_map_idx %r3, seen\n"
			   "lddw_map_idx_value %r4, counts\n"
			   "lddw_code_addr %r5, cb\n"
			   "call bpf_loop\n"
			   "exit\n"
			   "cb:\n"
			   "mov %r0, 0\n"
			   "exit\n"
			   "-- program second\n"
			   "lddw_map_fd %r2, jt\n"
			   "mov %r0, 1\n"
			   "exit\n"
			   "-- helper values\n"
			   "bpf_ktime_get_ns 10 20\n"
			   "get_smp_processor_id 1\n"
			   "-- result\n"
			   "0\n"
			   "-- map counts after\n"
			   "1: 02 02 03 04 05 06 07 08\n";
	struct bd_case c;
	char err[512];
	int rc = bd_case_parse_data("m.data", text, strlen(text), &c, err, sizeof(err));
	check(!rc, "maps: %s", err);
	if (rc)
		return;
	check(c.nmaps == 4 && !strcmp(c.maps[1].name, "seen") && c.maps[1].type == 1 && c.maps[1].key_size == 6 &&
		      c.maps[1].flags == 1 && c.maps[2].freeze && c.maps[0].has_after && c.maps[0].init.n == 1,
	      "map declarations");
	/* lddw_map_value %r2, big+8: src 2, imm = map 2, second slot = the offset */
	check(c.insns[2].src == 2 && c.insns[2].imm == 2 && c.insns[3].imm == 8 && c.insns[0].src == 1 &&
		      c.insns[0].imm == 0 && c.insns[4].src == 5 && c.insns[4].imm == 1 && c.insns[6].src == 6,
	      "map references in the program");
	/* lddw_code_addr %r5, cb: imm = target - pc - 1 = 12 - 8 - 1 */
	check(c.insns[8].src == 4 && c.insns[8].imm == 3 && c.insns[10].imm == 181, "callback and helper by name");
	uint32_t slot0, slot2;
	memcpy(&slot0, c.maps[3].init.e[0].value, 4);
	memcpy(&slot2, c.maps[3].init.e[1].value, 4);
	check(c.nprogs == 1 && !strcmp(c.progs[0].name, "second") && slot0 == 0 && slot2 == 1,
	      "prog_array holds program indexes (main 0, second 1)");
	check(c.maps[2].init.e[0].value[39] == 0x27, "a value continued on the next line");
	check(c.nhelper_values[EBPF_ENV_KTIME] == 2 && c.helper_values[EBPF_ENV_KTIME][1] == 20 &&
		      c.nhelper_values[EBPF_ENV_CPU] == 1,
	      "helper values");
	const char *what = "";
	check(format_roundtrip(&c, &what), "maps round trip: %s", what);
	bd_case_free(&c);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "-- map m list max_entries=1\n-- asm\nexit\n", "m.data:1: unknown map type 'list'" },
		{ "-- map m array value=8\n-- asm\nexit\n", "m.data:1: map m: max_entries must be given" },
		{ "-- map m array key=8 value=8 max_entries=1\n-- asm\nexit\n", "m.data:1: map m: an array's key is 4" },
		{ "-- map m hash key=4 value=8 max_entries=1\n01: 00\n-- asm\nexit\n",
		  "m.data:2: map m: key has 1 bytes, the map's key size is 4" },
		{ "-- map m array value=2 max_entries=2\n0: 00 01 02\n-- asm\nexit\n", "m.data:2: map m: value has more" },
		{ "-- map m array value=1 max_entries=2\n2: 00\n-- asm\nexit\n", "m.data:2: map m: index 2 out of range" },
		{ "-- map m array value=1 max_entries=2\n1: 00\n1: 01\n-- asm\nexit\n", "m.data:3: map m: key given twice" },
		{ "-- map m hash key=1 value=1 max_entries=1\n01: 00\n02: 00\n-- asm\nexit\n",
		  "m.data:3: map m: more than max_entries" },
		{ "-- map m array value=1 max_entries=1\n-- map m array value=1 max_entries=1\n-- asm\nexit\n",
		  "m.data:2: map m declared twice" },
		{ "-- map m after\n0: 00\n-- asm\nexit\n", "m.data:1: -- map m after: no map m is declared" },
		{ "-- asm\nlddw_map_fd %r1, nope\nexit\n", "m.data:2: unknown map 'nope'" },
		{ "-- map m array value=1 max_entries=1\n-- asm\nlddw_map_fd %r1, m+4\nexit\n",
		  "m.data:3: a map pointer takes no offset" },
		{ "-- map jt prog_array max_entries=1\n0: ghost\n-- asm\nexit\n", "m.data:1: map jt: no program named 'ghost'" },
		{ "-- program main\nexit\n-- asm\nexit\n", "m.data:1: 'main' names the case's own program" },
		{ "-- helper values\nbpf_loop 1\n-- asm\nexit\n", "m.data:2: unknown helper 'bpf_loop'" },
		{ "-- helper values\nbpf_get_smp_processor_id 1 2\n-- asm\nexit\n", "m.data:2: bpf_get_smp_processor_id takes one value" },
		{ "-- asm\ncall bpf_no_such_helper\nexit\n", "m.data:2: unknown helper 'bpf_no_such_helper'" },
		{ "-- map m array value=1 max_entries=1 color=red\n-- asm\nexit\n", "m.data:1: unknown map attribute 'color'" },
		{ "-- map m array value=1 max_entries=1 flags=sparkly\n-- asm\nexit\n", "m.data:1: unknown map flag 'sparkly'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = bd_case_parse_data("m.data", bad[i].text, strlen(bad[i].text), &c, err, sizeof(err));
		check(rc == -EINVAL && !strncmp(err, bad[i].want, strlen(bad[i].want)), "bad map case %zu: want '%s', got '%s'",
		      i, bad[i].want, rc ? err : "(parsed)");
		if (!rc)
			bd_case_free(&c);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/bpf_conformance/tests";
	const char *obj = argc > 2 ? argv[2] : ELF_PROG;
	char negdir[4096];
	snprintf(negdir, sizeof(negdir), "%s/../negative", dir);

	test_syntax();
	test_sections();
	test_maps();
	test_bad_data();
	test_ubpf_dialect();
	test_conformance(dir);
	test_negative(negdir);
	test_random_roundtrip();
	check(test_known_mutations(dir) > 0, "no known mutations were checked in %s", dir);
	test_garbage(dir);
	test_big();
	test_elf(obj);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
