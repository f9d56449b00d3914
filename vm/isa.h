/* SPDX-License-Identifier: MIT */
/* Decoding and field checks over the EBPF_FORMS table (native builds only). */
#ifndef BPFDIFF_ISA_H
#define BPFDIFF_ISA_H

#include <stddef.h>
#include "ebpf.h"

extern const struct ebpf_form_desc ebpf_forms[FORM_COUNT];

/* The decoding index (built before main by a constructor in isa.c): per
 * opcode the forms that share it, and which field tells them apart. */
#define EBPF_MAX_PER_OPCODE 16
enum { EBPF_DISC_NONE, EBPF_DISC_OFF, EBPF_DISC_IMM, EBPF_DISC_SRC };
extern signed short ebpf_by_opcode[256][EBPF_MAX_PER_OPCODE];
extern unsigned char ebpf_disc_field[256];

/* The form of one instruction, or FORM_INVALID when no form has this
 * opcode and discriminator (unknown opcode, sdiv with off 2, ...). Inline:
 * the fuzz target and the uvm's loader decode every instruction. */
static inline int ebpf_decode(const struct ebpf_insn *insn)
{
	const signed short *cand = ebpf_by_opcode[insn->opcode];
	ebpf_s32 v;
	switch (ebpf_disc_field[insn->opcode]) {
	case EBPF_DISC_OFF: v = insn->off; break;
	case EBPF_DISC_IMM: v = insn->imm; break;
	case EBPF_DISC_SRC: v = insn->src; break;
	default: return cand[0]; /* one form, or -1 */
	}
	for (int i = 0; i < EBPF_MAX_PER_OPCODE && cand[i] >= 0; i++)
		if (ebpf_forms[cand[i]].disc == v)
			return cand[i];
	return FORM_INVALID;
}

/* Which fields a form's instruction must leave zero: a mask of EBPF_F_*. */
#define EBPF_F_DST 1u
#define EBPF_F_SRC 2u
#define EBPF_F_OFF 4u
#define EBPF_F_IMM 8u
unsigned ebpf_unused_fields(int form);

/* Full static check of one instruction against its form: unknown opcode,
 * non-zero unused field, register out of range: what makes it no
 * instruction of RFC 9669 or Linux at all. (A write to r10 is not refused
 * here: the kernel refuses it only on a path it explores, so the VMs fault
 * when one executes, see ebpf_writes_r10.)
 * Returns the instruction's form (>= 0), or -EINVAL with a message in err
 * ("add: unused field src is 3"). */
int ebpf_check_insn(const struct ebpf_insn *insn, char *err, size_t errlen);

/* Does executing this instruction of this form write r10? */
int ebpf_writes_r10(const struct ebpf_insn *insn, int form);

/* ISA profiles (EBPF_ISA_*): "rfc9669" / "linux"; 0 for an unknown name. */
int ebpf_isa_lookup(const char *name);
const char *ebpf_isa_name(int isa);
/* Is the form allowed in the profile? (0 = the default, Linux.) */
static inline int ebpf_form_in_isa(int form, int isa)
{
	return ebpf_forms[form].isa <= (isa ? isa : EBPF_ISA_LINUX);
}
/* The first instruction outside the profile: -EINVAL and "pc N: ldacqw is a
 * Linux extension, not in RFC 9669 (--isa rfc9669)" in err; 0 if none. Only
 * decodable instructions are judged (malformed ones are for the validator). */
int ebpf_isa_check(const struct ebpf_insn *insns, size_t n, int isa, char *err, size_t errlen);
void ebpf_isa_refusal(char *err, size_t errlen, int form, int isa); /* the same, without the pc */

/* Width in bytes of a load/store/atomic form, 0 for others. */
int ebpf_access_size(int form);

/* Where a control transfer keeps its pc-relative target: in off (ja and the
 * conditional jumps), in imm (ja32, call local), or nowhere (0). */
enum { EBPF_BRANCH_NONE, EBPF_BRANCH_OFF, EBPF_BRANCH_IMM };
int ebpf_branch_field(const struct ebpf_insn *insn);

/* Mark in seen[FORM_COUNT] every form the program contains (an lddw's
 * second slot is not an instruction of its own). */
void ebpf_forms_used(const struct ebpf_insn *insns, size_t n, unsigned char *seen);

/* True for the second slot's opcode check etc. */
static inline int ebpf_is_lddw(const struct ebpf_insn *insn) { return insn->opcode == 0x18; }

#endif
