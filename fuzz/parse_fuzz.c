/* SPDX-License-Identifier: MIT */
/*
 * Parser fuzz target (issue 2): the input is .data text. It goes through
 * bd_case_parse_data and, as plain assembly, through bd_assemble; whatever
 * parses is loaded and run on the uvm with a small instruction budget, and
 * written back with bd_case_format_data, which must parse again to the same
 * program (a writer/parser disagreement aborts). Built with ASan + UBSan:
 * any memory error in the parser, assembler, disassembler or uvm is a crash.
 * The text is also read as a level-2 verifier log (vlog.c).
 * Seeds: the .data files (conformance/, corpus/, bpf_conformance incl. negative/)
 * and the captured verifier logs (tests/unit/vlogs/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../harness/asm.h"
#include "../harness/case.h"
#include "../harness/vlog.h"
#include "../vm/uvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uvm *vm;

static void run_uvm(const struct ebpf_insn *insns, size_t n, const uint8_t *mem, size_t mem_len)
{
	char err[256];
	if (uvm_load(vm, insns, n, err, sizeof(err)) < 0)
		return;
	uint8_t *m = malloc(mem_len ? mem_len : 1);
	if (!m)
		return;
	if (mem_len)
		memcpy(m, mem, mem_len);
	struct uvm_result res;
	uvm_run(vm, m, mem_len, &res);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm) {
		struct uvm_opts o = { .sz = sizeof(o), .budget = 10000 };
		vm = uvm_create(&o);
		if (!vm)
			abort();
	}
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	char err[512];

	struct bd_case c;
	if (bd_case_parse_data("fuzz.data", text, size, &c, err, sizeof(err)) == 0) {
		run_uvm(c.insns, c.ninsns, c.mem, c.mem_len);
		char *out = bd_case_format_data(&c);
		if (out) {
			struct bd_case again;
			if (bd_case_parse_data("again.data", out, strlen(out), &again, err, sizeof(err))) {
				fprintf(stderr, "parse_fuzz: the writer's output does not parse: %s\n---\n%s---\n", err, out);
				abort();
			}
			if (again.ninsns != c.ninsns || (c.ninsns && memcmp(again.insns, c.insns, c.ninsns * sizeof(*c.insns))) ||
			    again.mem_len != c.mem_len || (c.mem_len && memcmp(again.mem, c.mem, c.mem_len))) {
				fprintf(stderr, "parse_fuzz: written and re-read case differ\n---\n%s---\n", out);
				abort();
			}
			bd_case_free(&again);
			free(out);
		}
		bd_case_free(&c);
	}

	struct ebpf_insn *insns = NULL;
	size_t n = 0;
	if (bd_assemble(text, 1, &insns, &n, err, sizeof(err)) == 0) {
		run_uvm(insns, n, (const uint8_t *)"0123456789abcdef", 16);
		char line[128];
		for (size_t pc = 0; pc < n;) {
			int slots = 1;
			bd_disasm_insn(insns, n, pc, line, sizeof(line), &slots);
			pc += slots > 0 ? (size_t)slots : 1;
		}
	}
	free(insns);

	/* The same text as a verifier log (harness/vlog.c: what --verifier-oracle reads). */
	struct vlog v;
	if (vlog_parse(text, &v, err, sizeof(err)) == 0)
		vlog_free(&v);
	free(text);
	return 0;
}
