/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "isa.h"

const struct ebpf_form_desc ebpf_forms[FORM_COUNT] = {
#define EBPF_FORM_DESC(id_, m, op, fmt_, disc_, cpu_, isa_) \
	[FORM_##id_] = { .id = #id_, .mnemonic = m, .opcode = op, .fmt = fmt_, .disc = disc_, .cpu = cpu_, .isa = isa_ },
	EBPF_FORMS(EBPF_FORM_DESC)
#undef EBPF_FORM_DESC
};

signed short ebpf_by_opcode[256][EBPF_MAX_PER_OPCODE];
unsigned char ebpf_disc_field[256];
static int by_opcode_ready;

static int disc_field_of(int fmt)
{
	switch (fmt) {
	case EBPF_FMT_ALU_K:
	case EBPF_FMT_ALU_X:
	case EBPF_FMT_NEG:
		return EBPF_DISC_OFF;
	case EBPF_FMT_END:
	case EBPF_FMT_ATOMIC:
	case EBPF_FMT_LOAD_ACQ:
	case EBPF_FMT_STORE_REL:
		return EBPF_DISC_IMM;
	case EBPF_FMT_LDDW:
	case EBPF_FMT_CALL:
	case EBPF_FMT_MAY_GOTO:
		return EBPF_DISC_SRC;
	default:
		return EBPF_DISC_NONE;
	}
}

/* Runs before main (and before any fuzzer entry point), so ebpf_decode()
 * needs no "is it built" test on its hot path. */
__attribute__((constructor)) static void build_index(void)
{
	if (by_opcode_ready)
		return;
	for (int op = 0; op < 256; op++)
		for (int i = 0; i < EBPF_MAX_PER_OPCODE; i++)
			ebpf_by_opcode[op][i] = -1;
	for (int f = 0; f < FORM_COUNT; f++) {
		signed short *slot = ebpf_by_opcode[ebpf_forms[f].opcode];
		while (*slot >= 0)
			slot++;
		*slot = (signed short)f;
		ebpf_disc_field[ebpf_forms[f].opcode] = (unsigned char)disc_field_of(ebpf_forms[f].fmt);
	}
	by_opcode_ready = 1;
}

unsigned ebpf_unused_fields(int form)
{
	switch (ebpf_forms[form].fmt) {
	case EBPF_FMT_ALU_K: return EBPF_F_SRC;
	case EBPF_FMT_ALU_X: return EBPF_F_IMM;
	case EBPF_FMT_NEG: return EBPF_F_SRC | EBPF_F_IMM;
	case EBPF_FMT_END: return EBPF_F_SRC | EBPF_F_OFF;
	case EBPF_FMT_LDDW: return EBPF_F_OFF;
	case EBPF_FMT_LDX: return EBPF_F_IMM;
	case EBPF_FMT_ST: return EBPF_F_SRC;
	case EBPF_FMT_STX: return EBPF_F_IMM;
	case EBPF_FMT_ATOMIC: return 0;
	case EBPF_FMT_LOAD_ACQ: return 0;
	case EBPF_FMT_STORE_REL: return 0;
	case EBPF_FMT_MAY_GOTO: return EBPF_F_DST | EBPF_F_IMM;
	case EBPF_FMT_JA: return EBPF_F_DST | EBPF_F_SRC | EBPF_F_IMM;
	case EBPF_FMT_JA32: return EBPF_F_DST | EBPF_F_SRC | EBPF_F_OFF;
	case EBPF_FMT_JCOND_K: return EBPF_F_SRC;
	case EBPF_FMT_JCOND_X: return EBPF_F_IMM;
	case EBPF_FMT_CALL: return EBPF_F_DST | EBPF_F_OFF;
	case EBPF_FMT_CALLX: return EBPF_F_SRC | EBPF_F_OFF | EBPF_F_IMM;
	case EBPF_FMT_EXIT: return EBPF_F_DST | EBPF_F_SRC | EBPF_F_OFF | EBPF_F_IMM;
	}
	return 0;
}

int ebpf_access_size(int form)
{
	switch (ebpf_forms[form].fmt) {
	case EBPF_FMT_LDX:
	case EBPF_FMT_ST:
	case EBPF_FMT_STX:
	case EBPF_FMT_ATOMIC:
	case EBPF_FMT_LOAD_ACQ:
	case EBPF_FMT_STORE_REL:
		switch (ebpf_forms[form].opcode & 0x18) {
		case EBPF_SIZE_B: return 1;
		case EBPF_SIZE_H: return 2;
		case EBPF_SIZE_W: return 4;
		default: return 8;
		}
	default:
		return 0;
	}
}

int ebpf_writes_r10(const struct ebpf_insn *insn, int form)
{
	switch (ebpf_forms[form].fmt) {
	case EBPF_FMT_ALU_K: case EBPF_FMT_ALU_X: case EBPF_FMT_NEG: case EBPF_FMT_END:
	case EBPF_FMT_LDDW: case EBPF_FMT_LDX: case EBPF_FMT_LOAD_ACQ:
		return insn->dst == 10;
	case EBPF_FMT_ATOMIC:
		/* fetch forms write the old value into src; cmpxchg writes r0 */
		return insn->src == 10 && (insn->imm & EBPF_ATOMIC_FETCH) && insn->imm != EBPF_ATOMIC_CMPXCHG;
	default:
		return 0;
	}
}

int ebpf_isa_lookup(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "rfc9669"))
		return EBPF_ISA_RFC9669;
	if (!strcmp(name, "linux"))
		return EBPF_ISA_LINUX;
	return 0;
}

const char *ebpf_isa_name(int isa)
{
	return isa == EBPF_ISA_RFC9669 ? "rfc9669" : "linux";
}

void ebpf_isa_refusal(char *err, size_t errlen, int form, int isa)
{
	snprintf(err, errlen, "%s is a Linux extension, not in RFC 9669 (--isa %s)", ebpf_forms[form].mnemonic,
		 ebpf_isa_name(isa));
}

int ebpf_isa_check(const struct ebpf_insn *insns, size_t n, int isa, char *err, size_t errlen)
{
	for (size_t pc = 0; pc < n; pc++) {
		int f = ebpf_decode(&insns[pc]);
		if (f >= 0 && !ebpf_form_in_isa(f, isa)) {
			char why[96];
			ebpf_isa_refusal(why, sizeof(why), f, isa);
			snprintf(err, errlen, "pc %zu: %s", pc, why);
			return -EINVAL;
		}
		if (ebpf_is_lddw(&insns[pc]))
			pc++;
	}
	return 0;
}

int ebpf_check_insn(const struct ebpf_insn *insn, char *err, size_t errlen)
{
	int form = ebpf_decode(insn);
	if (form < 0) {
		/* Name the reason precisely: an unknown opcode, or a known opcode whose
		 * discriminating field (off/imm/src) has no meaning. */
		if (ebpf_by_opcode[insn->opcode][0] < 0) {
			if ((EBPF_CLASS(insn->opcode) <= EBPF_CLS_LDX) &&
			    ((insn->opcode & 0xe0) == EBPF_MODE_ABS || (insn->opcode & 0xe0) == EBPF_MODE_IND))
				snprintf(err, errlen, "legacy packet access opcode 0x%02x is not supported", insn->opcode);
			else
				snprintf(err, errlen, "unknown opcode 0x%02x", insn->opcode);
		} else {
			const struct ebpf_form_desc *d = &ebpf_forms[ebpf_by_opcode[insn->opcode][0]];
			const char *field = disc_field_of(d->fmt) == EBPF_DISC_IMM ? "imm" :
					    disc_field_of(d->fmt) == EBPF_DISC_SRC ? "src" : "off";
			long long v = field[0] == 'i' ? insn->imm : field[0] == 's' ? insn->src : insn->off;
			/* One form for this opcode: the field is simply unused and must be 0. */
			if (ebpf_by_opcode[insn->opcode][1] < 0 && d->disc == 0 && field[0] != 's')
				snprintf(err, errlen, "%s: unused field %s is %lld", d->mnemonic, field, v);
			else
				snprintf(err, errlen, "opcode 0x%02x: invalid %s %lld", insn->opcode, field, v);
		}
		return -EINVAL;
	}
	unsigned unused = ebpf_unused_fields(form);
	const char *mn = ebpf_forms[form].mnemonic;
	if ((unused & EBPF_F_DST) && insn->dst) {
		snprintf(err, errlen, "%s: unused field dst is %d", mn, insn->dst);
		return -EINVAL;
	}
	if ((unused & EBPF_F_SRC) && insn->src) {
		snprintf(err, errlen, "%s: unused field src is %d", mn, insn->src);
		return -EINVAL;
	}
	if ((unused & EBPF_F_OFF) && insn->off) {
		snprintf(err, errlen, "%s: unused field off is %d", mn, insn->off);
		return -EINVAL;
	}
	if ((unused & EBPF_F_IMM) && insn->imm) {
		snprintf(err, errlen, "%s: unused field imm is %d", mn, insn->imm);
		return -EINVAL;
	}
	if (insn->dst > 10 || (insn->src > 10 && ebpf_forms[form].fmt != EBPF_FMT_LDDW &&
			       ebpf_forms[form].fmt != EBPF_FMT_CALL)) {
		snprintf(err, errlen, "%s: invalid register r%d", mn, insn->dst > 10 ? insn->dst : insn->src);
		return -EINVAL;
	}
	return form;
}

void ebpf_forms_used(const struct ebpf_insn *insns, size_t n, unsigned char *seen)
{
	for (size_t pc = 0; pc < n; pc++) {
		int f = ebpf_decode(&insns[pc]);
		if (f >= 0)
			seen[f] = 1;
		if (ebpf_is_lddw(&insns[pc]))
			pc++;
	}
}

int ebpf_branch_field(const struct ebpf_insn *insn)
{
	int cls = EBPF_CLASS(insn->opcode);
	if (cls != EBPF_CLS_JMP && cls != EBPF_CLS_JMP32)
		return EBPF_BRANCH_NONE;
	int f = ebpf_decode(insn);
	if (f < 0)
		return EBPF_BRANCH_NONE;
	switch (ebpf_forms[f].fmt) {
	case EBPF_FMT_JA:
	case EBPF_FMT_JCOND_K:
	case EBPF_FMT_JCOND_X:
	case EBPF_FMT_MAY_GOTO:
		return EBPF_BRANCH_OFF;
	case EBPF_FMT_JA32:
		return EBPF_BRANCH_IMM;
	default:
		return f == FORM_CALL_LOCAL ? EBPF_BRANCH_IMM : EBPF_BRANCH_NONE;
	}
}
