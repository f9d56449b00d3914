/* SPDX-License-Identifier: MIT */
/*
 * Disassembler: the exact inverse of bd_assemble (harness/asm.c). Every
 * instruction that the assembly syntax cannot express bit for bit (unknown
 * opcode, non-zero unused field, register above r10, lddw with a damaged or
 * missing second slot) comes out as `.insn OPCODE, DST, SRC, OFF, IMM`, one
 * slot per line, so any byte string re-assembles to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm.h"
#include "vm/isa.h"

static void imm_str(char *buf, size_t len, ebpf_s32 imm)
{
	if (imm > -65536 && imm < 65536)
		snprintf(buf, len, "%d", imm);
	else
		snprintf(buf, len, "0x%x", (unsigned)imm);
}

static void mem_str(char *buf, size_t len, int reg, int off)
{
	if (off)
		snprintf(buf, len, "[%%r%d%+d]", reg, off);
	else
		snprintf(buf, len, "[%%r%d]", reg);
}

/* Can the form's syntax carry this instruction exactly? */
static int representable(const struct ebpf_insn *insns, size_t n, size_t pc, int form)
{
	const struct ebpf_insn *in = &insns[pc];
	if (form < 0)
		return 0;
	unsigned unused = ebpf_unused_fields(form);
	if (((unused & EBPF_F_DST) && in->dst) || ((unused & EBPF_F_SRC) && in->src) ||
	    ((unused & EBPF_F_OFF) && in->off) || ((unused & EBPF_F_IMM) && in->imm))
		return 0;
	int fmt = ebpf_forms[form].fmt;
	if (!(unused & EBPF_F_DST) && in->dst > 10)
		return 0;
	if (!(unused & EBPF_F_SRC) && fmt != EBPF_FMT_LDDW && fmt != EBPF_FMT_CALL && in->src > 10)
		return 0;
	if (fmt == EBPF_FMT_LDDW) {
		if (pc + 1 >= n)
			return 0;
		const struct ebpf_insn *hi = &insns[pc + 1];
		if (hi->opcode || hi->dst || hi->src || hi->off)
			return 0;
	}
	return 1;
}

/* labelno: NULL for relative jumps, else label number per pc (0 = none). */
static int render(const struct ebpf_insn *insns, size_t n, size_t pc, char *buf, size_t buflen, int *slots,
		  const int *labelno, const struct bd_asm_syms *syms)
{
	const struct ebpf_insn *in = &insns[pc];
	int form = ebpf_decode(in);
	char a[48], b[48];
	*slots = 1;
	if (!representable(insns, n, pc, form))
		return snprintf(buf, buflen, ".insn 0x%02x, %d, %d, %d, %d", in->opcode, in->dst, in->src, in->off,
				in->imm);
	const struct ebpf_form_desc *d = &ebpf_forms[form];
	const char *mn = d->mnemonic;
	/* Jump target text: a label when one exists, else +off. */
	char tgt[48];
	long long rel = d->fmt == EBPF_FMT_JA32 || d->fmt == EBPF_FMT_CALL || form == FORM_LDDW_CODE_ADDR
				? (long long)in->imm
				: (long long)in->off;
	long long target = (long long)pc + 1 + rel;
	if (labelno && target >= 0 && target <= (long long)n && labelno[target])
		snprintf(tgt, sizeof(tgt), "L%d", labelno[target]);
	else
		snprintf(tgt, sizeof(tgt), "%+lld", rel);

	switch (d->fmt) {
	case EBPF_FMT_ALU_K:
		imm_str(a, sizeof(a), in->imm);
		return snprintf(buf, buflen, "%s %%r%d, %s", mn, in->dst, a);
	case EBPF_FMT_ALU_X:
		return snprintf(buf, buflen, "%s %%r%d, %%r%d", mn, in->dst, in->src);
	case EBPF_FMT_NEG:
	case EBPF_FMT_END:
		return snprintf(buf, buflen, "%s %%r%d", mn, in->dst);
	case EBPF_FMT_LDDW: {
		uint64_t v = (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)insns[pc + 1].imm << 32;
		uint32_t hi = (uint32_t)insns[pc + 1].imm;
		*slots = 2;
		bool value = form == FORM_LDDW_MAP_VALUE || form == FORM_LDDW_MAP_IDX_VALUE;
		if ((value || form == FORM_LDDW_MAP_FD || form == FORM_LDDW_MAP_IDX) && syms &&
		    (uint32_t)in->imm < syms->nmaps && syms->maps[(uint32_t)in->imm] && (value || !hi)) {
			const char *name = syms->maps[(uint32_t)in->imm];
			if (hi)
				return snprintf(buf, buflen, "%s %%r%d, %s+%u", mn, in->dst, name, hi);
			return snprintf(buf, buflen, "%s %%r%d, %s", mn, in->dst, name);
		}
		if (form == FORM_LDDW_CODE_ADDR && !hi && tgt[0] == 'L')
			return snprintf(buf, buflen, "%s %%r%d, %s", mn, in->dst, tgt);
		return snprintf(buf, buflen, "%s %%r%d, 0x%llx", mn, in->dst, (unsigned long long)v);
	}
	case EBPF_FMT_LDX:
	case EBPF_FMT_LOAD_ACQ:
		mem_str(a, sizeof(a), in->src, in->off);
		return snprintf(buf, buflen, "%s %%r%d, %s", mn, in->dst, a);
	case EBPF_FMT_ST:
		mem_str(a, sizeof(a), in->dst, in->off);
		imm_str(b, sizeof(b), in->imm);
		return snprintf(buf, buflen, "%s %s, %s", mn, a, b);
	case EBPF_FMT_STX:
	case EBPF_FMT_STORE_REL:
		mem_str(a, sizeof(a), in->dst, in->off);
		return snprintf(buf, buflen, "%s %s, %%r%d", mn, a, in->src);
	case EBPF_FMT_ATOMIC:
		mem_str(a, sizeof(a), in->dst, in->off);
		return snprintf(buf, buflen, "lock %s %s, %%r%d", mn, a, in->src);
	case EBPF_FMT_JA:
	case EBPF_FMT_JA32:
	case EBPF_FMT_MAY_GOTO:
		return snprintf(buf, buflen, "%s %s", mn, tgt);
	case EBPF_FMT_JCOND_K:
		imm_str(a, sizeof(a), in->imm);
		return snprintf(buf, buflen, "%s %%r%d, %s, %s", mn, in->dst, a, tgt);
	case EBPF_FMT_JCOND_X:
		return snprintf(buf, buflen, "%s %%r%d, %%r%d, %s", mn, in->dst, in->src, tgt);
	case EBPF_FMT_CALL:
		if (in->src == EBPF_CALL_LOCAL)
			return snprintf(buf, buflen, "call local %s", tgt);
		return snprintf(buf, buflen, "%s %d", mn, in->imm);
	case EBPF_FMT_CALLX:
		return snprintf(buf, buflen, "callx %%r%d", in->dst);
	case EBPF_FMT_EXIT:
		return snprintf(buf, buflen, "exit");
	}
	return snprintf(buf, buflen, ".insn 0x%02x, %d, %d, %d, %d", in->opcode, in->dst, in->src, in->off,
			in->imm);
}

int bd_disasm_insn(const struct ebpf_insn *insns, size_t n, size_t pc, char *buf, size_t buflen, int *slots)
{
	int dummy;
	if (!slots)
		slots = &dummy;
	if (pc >= n) {
		*slots = 0;
		if (buflen)
			buf[0] = 0;
		return -1;
	}
	return render(insns, n, pc, buf, buflen, slots, NULL, NULL);
}

int bd_disasm_insn_syms(const struct ebpf_insn *insns, size_t n, size_t pc, char *buf, size_t buflen, int *slots,
			const struct bd_asm_syms *syms)
{
	int dummy;
	if (!slots)
		slots = &dummy;
	if (pc >= n) {
		*slots = 0;
		if (buflen)
			buf[0] = 0;
		return -1;
	}
	return render(insns, n, pc, buf, buflen, slots, NULL, syms);
}

void bd_disasm_program(FILE *out, const struct ebpf_insn *insns, size_t n, int labels)
{
	bd_disasm_program_syms(out, insns, n, labels, NULL);
}

void bd_disasm_program_syms(FILE *out, const struct ebpf_insn *insns, size_t n, int labels,
			    const struct bd_asm_syms *syms)
{
	char buf[160];
	int slots;
	int *labelno = NULL;
	if (labels) {
		/* Line starts, then the jump targets that fall on one (or on the end). */
		char *start = calloc(n + 1, 1);
		labelno = calloc(n + 1, sizeof(int));
		if (!start || !labelno) {
			free(labelno);
			labelno = NULL;
		} else {
			for (size_t pc = 0; pc < n; pc += (size_t)slots) {
				start[pc] = 1;
				render(insns, n, pc, buf, sizeof(buf), &slots, NULL, NULL);
			}
			start[n] = 1;
			for (size_t pc = 0; pc < n; pc += (size_t)slots) {
				render(insns, n, pc, buf, sizeof(buf), &slots, NULL, NULL);
				int form = buf[0] == '.' ? -1 : ebpf_decode(&insns[pc]);
				if (form < 0)
					continue;
				const struct ebpf_form_desc *d = &ebpf_forms[form];
				long long rel;
				if (d->fmt == EBPF_FMT_JA || d->fmt == EBPF_FMT_JCOND_K || d->fmt == EBPF_FMT_JCOND_X ||
				    d->fmt == EBPF_FMT_MAY_GOTO)
					rel = insns[pc].off;
				else if (d->fmt == EBPF_FMT_JA32 ||
					 (d->fmt == EBPF_FMT_CALL && insns[pc].src == EBPF_CALL_LOCAL) ||
					 (form == FORM_LDDW_CODE_ADDR && !insns[pc + 1].imm))
					rel = insns[pc].imm;
				else
					continue;
				long long t = (long long)pc + 1 + rel;
				if (t >= 0 && t <= (long long)n && start[t])
					labelno[t] = -1;
			}
			int next = 1;
			for (size_t pc = 0; pc <= n; pc++)
				if (labelno[pc])
					labelno[pc] = next++;
		}
		free(start);
	}
	for (size_t pc = 0; pc < n; pc += (size_t)slots) {
		if (labelno && labelno[pc])
			fprintf(out, "L%d:\n", labelno[pc]);
		render(insns, n, pc, buf, sizeof(buf), &slots, labelno, syms);
		fprintf(out, "%s\n", buf);
	}
	if (labelno && labelno[n])
		fprintf(out, "L%d:\n", labelno[n]);
	free(labelno);
}
