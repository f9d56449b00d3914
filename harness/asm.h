/* SPDX-License-Identifier: MIT */
/* Assembler and disassembler for the bpf_conformance / ubpf assembly syntax. */
#ifndef BPFDIFF_ASM_H
#define BPFDIFF_ASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../vm/ebpf.h"

/* Value of one hex digit, or -1. */
int bd_hex_digit(int ch);

/* [+-](0x hex | decimal), the whole string: sign, magnitude and whether it
 * was hex (the assembler's 32-bit range rules differ). Returns 0 or -1. */
int bd_parse_number(const char *s, int *neg, uint64_t *mag, int *hex);
/* A count given as an option or environment variable: a whole number (decimal
 * or 0x hex) in [min, max]. Returns 0, or -1 with "NAME takes ..." in err. */
int bd_parse_count(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		   size_t errlen);

/* Assemble text (labels, `#` comments, lddw takes two slots). On error returns
 * -EINVAL and writes "LINE: message" relative to first_line (the file line of
 * the text's first line) into err, e.g. "12: invalid register %r50". */
int bd_assemble(const char *text, int first_line, struct ebpf_insn **out, size_t *n, char *err,
		size_t errlen);

/* Names the assembly may use beyond its labels: the case's maps, for lddw's
 * map forms (`lddw_map_fd %r1, counters`, `lddw_map_value %r1, counters+8`;
 * imm = the map's index). */
struct bd_asm_syms {
	const char *const *maps;
	size_t nmaps;
};
int bd_assemble_syms(const char *text, int first_line, const struct bd_asm_syms *syms, struct ebpf_insn **out,
		     size_t *n, char *err, size_t errlen);

/* One instruction as text (no newline), in the syntax bd_assemble reads:
 * jumps as `+off`/`-off` relative offsets. Writes the number of slots used
 * (2 for lddw) to *slots. Unknown encodings come out as `.insn 0x..`. */
int bd_disasm_insn(const struct ebpf_insn *insns, size_t n, size_t pc, char *buf, size_t buflen,
		   int *slots);
/* Whole program, one line per instruction, with labels for jump targets when labels != 0. */
void bd_disasm_program(FILE *out, const struct ebpf_insn *insns, size_t n, int labels);
/* The same with map names for lddw's map forms (syms may be NULL). */
void bd_disasm_program_syms(FILE *out, const struct ebpf_insn *insns, size_t n, int labels,
			    const struct bd_asm_syms *syms);
/* One instruction with map names (for reports). */
int bd_disasm_insn_syms(const struct ebpf_insn *insns, size_t n, size_t pc, char *buf, size_t buflen, int *slots,
			const struct bd_asm_syms *syms);

#endif
