/* SPDX-License-Identifier: MIT */
/*
 * isa_survey: which instruction encodings does the running kernel's verifier
 * accept in a pure-instruction program, and are they all forms of
 * EBPF_FORMS (--isa linux)? Exit 1 when the kernel accepts an encoding
 * bpfdiff does not know, or a form no probe of which the kernel accepts
 * (except the ones listed below with their reason).
 *
 * Each probe is one instruction on an executed path, between a prologue
 * that makes every operand valid (r0, r3..r9 = 1, stack [r10-64, r10)
 * written, r1 = 64 bytes of memory) and `mov r0, 0; exit`, run through the
 * kernel backend's own sequence (harness/kexec.c: an XDP program, memory as
 * a map value). Per opcode byte: a template whose operands suit the class
 * (ALU: r0 op r3 / 1; memory: [r10-8]; jumps: +0), then sweeps of the
 * fields that may tell forms apart: src 0..15, off (ALU: 0..64; jumps 0, 1),
 * imm (0..0x1ff for atomics and byte swaps, edge values elsewhere). An opcode
 * whose template the kernel calls an "unknown opcode" (a static table check
 * on the opcode byte alone) is not swept further.
 *
 * Only the executed path is surveyed: on a path its verifier never explores
 * the kernel also loads malformed instructions (non-zero reserved fields,
 * registers above r10, invalid discriminators) that RFC 9669 makes invalid;
 * bpfdiff refuses those (README "Backends in detail").
 *
 * Usage: isa_survey [-v]   (-v: every accepted encoding)
 * Exit: 0 all known, 1 something to look at, 77 no privilege, 2 no kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/kexec.h"
#include "vm/isa.h"

#define I(op, d, s, o, i) ((struct ebpf_insn){ .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) })

/* Forms a probe cannot reach without more than instructions, and why. */
static const struct {
	int form;
	const char *why;
} unreachable[] = {
	{ FORM_LDDW_MAP_FD, "needs a map file descriptor" },
	{ FORM_LDDW_MAP_VALUE, "needs a map file descriptor" },
	{ FORM_LDDW_VAR_ADDR, "needs BTF (a ksym)" },
	{ FORM_LDDW_CODE_ADDR, "needs a subprogram to point at" },
	{ FORM_LDDW_MAP_IDX, "needs fd_array" },
	{ FORM_LDDW_MAP_IDX_VALUE, "needs fd_array" },
	{ FORM_CALL_LOCAL, "needs a subprogram to call" },
	{ FORM_CALL_BTF, "needs BTF (a kfunc)" },
	{ FORM_CALLX, "not implemented by Linux (\"unknown opcode 8d\"): RFC 9669 only" },
};

/* Encodings RFC 9669 makes invalid that this kernel's verifier still accepts
 * on an executed path (bpfdiff keeps refusing them: a reserved field must be 0). */
static const struct {
	int opcode;
	const char *error; /* substring of bpfdiff's refusal */
	const char *why;
} kernel_gaps[] = {
	{ 0x95, "exit: unused field off", "the verifier's BPF_EXIT check covers imm, src and dst but not off" },
};

static struct kexec K;
static uint8_t mem[64], mem_out[64];
static unsigned long nprobes, naccepted;
static unsigned long accepted_by_form[FORM_COUNT];
static int unknown_accepted, gaps_seen, verbose;

/* The template of an opcode byte: operands valid for its class. */
static void template(int op, struct ebpf_insn *x, int *nslots)
{
	*nslots = 1;
	switch (EBPF_CLASS(op)) {
	case EBPF_CLS_ALU:
	case EBPF_CLS_ALU64:
		*x = I(op, 0, (op & EBPF_SRC_X) ? 3 : 0, 0, (op & EBPF_SRC_X) ? 0 : 1);
		if ((op & 0xf0) == 0xd0) /* byte swaps: the X bit is the byte order, imm the width */
			*x = I(op, 0, 0, 0, 16);
		break;
	case EBPF_CLS_JMP:
	case EBPF_CLS_JMP32:
		*x = I(op, 0, (op & EBPF_SRC_X) ? 3 : 0, 0, 0);
		if (op == 0x85)
			x->imm = 5; /* bpf_ktime_get_ns: a helper every program type has */
		break;
	case EBPF_CLS_LDX:
		*x = I(op, 0, 10, -8, 0);
		break;
	case EBPF_CLS_ST:
		*x = I(op, 10, 0, -8, 1);
		break;
	case EBPF_CLS_STX:
		*x = I(op, 10, 3, -8, 0);
		break;
	default: /* BPF_LD: lddw takes two slots, the legacy packet forms one */
		*x = I(op, 0, 0, 0, 1);
		if (op == 0x18)
			*nslots = 2;
		break;
	}
}

/* Load and run one probe; 1 accepted, 0 refused (reason in why). */
static int probe(const struct ebpf_insn *x, int nslots, char *why, size_t whylen)
{
	struct ebpf_insn p[32];
	size_t n = 0;
	p[n++] = I(0xb7, 0, 0, 0, 1);
	for (int r = 3; r <= 9; r++)
		p[n++] = I(0xb7, r, 0, 0, 1);
	for (int o = 8; o <= 64; o += 8)
		p[n++] = I(0x7a, 10, 0, -o, 0);
	p[n++] = x[0];
	if (nslots == 2)
		p[n++] = I(0, 0, 0, 0, 0);
	if (x->opcode != 0x95) { /* after an exit they would be unreachable */
		p[n++] = I(0xb7, 0, 0, 0, 0);
		p[n++] = I(0x95, 0, 0, 0, 0);
	}
	struct kexec_result kr;
	nprobes++;
	if (kexec_run(&K, p, n, mem, sizeof(mem), mem_out, &kr) < 0) {
		snprintf(why, whylen, "kexec_run failed");
		return 0;
	}
	snprintf(why, whylen, "%s", kr.message);
	return kr.status == KEXEC_OK;
}

static void judge(const struct ebpf_insn *x)
{
	char err[160];
	int f = ebpf_check_insn(x, err, sizeof(err));
	naccepted++;
	if (f < 0) {
		for (size_t k = 0; k < sizeof(kernel_gaps) / sizeof(kernel_gaps[0]); k++)
			if (x->opcode == kernel_gaps[k].opcode && strstr(err, kernel_gaps[k].error)) {
				if (!gaps_seen++ || verbose)
					printf("KERNEL-GAP  0x%02x dst %d src %d off %d imm %d: bpfdiff: %s; the kernel "
					       "accepts it: %s\n", x->opcode, x->dst, x->src, x->off, x->imm, err,
					       kernel_gaps[k].why);
				return;
			}
		unknown_accepted++;
		printf("UNKNOWN  the kernel accepts opcode 0x%02x dst %d src %d off %d imm %d (0x%x): bpfdiff: %s\n",
		       x->opcode, x->dst, x->src, x->off, x->imm, (unsigned)x->imm, err);
		return;
	}
	accepted_by_form[f]++;
	if (verbose)
		printf("accepted 0x%02x src %2d off %3d imm 0x%-4x  %-20s %s\n", x->opcode, x->src, x->off,
		       (unsigned)x->imm, ebpf_forms[f].id, ebpf_isa_name(ebpf_forms[f].isa));
}

static void try(const struct ebpf_insn *x, int nslots)
{
	char why[512];
	if (probe(x, nslots, why, sizeof(why)))
		judge(x);
}

int main(int argc, char **argv)
{
	verbose = argc > 1 && !strcmp(argv[1], "-v");
	char why[256];
	int err = kexec_open(&K, 6 /* BPF_PROG_TYPE_XDP */, why, sizeof(why));
	if (err) {
		fprintf(stderr, "isa_survey: kernel unavailable: %s\n", why);
		return err == -EPERM ? 77 : 2;
	}
	static const int edge_imm[] = { 0, 1, 2, 8, 16, 32, 64, -1 };
	static const int alu_off[] = { 0, 1, 2, 8, 16, 32, 64, -1 };
	int live_opcodes = 0;
	for (int op = 0; op < 256; op++) {
		struct ebpf_insn t, x;
		int nslots;
		char msg[512];
		template(op, &t, &nslots);
		int ok = probe(&t, nslots, msg, sizeof(msg));
		if (!ok && strstr(msg, "unknown opcode"))
			continue;
		live_opcodes++;
		if (ok)
			judge(&t);
		int cls = EBPF_CLASS(op);
		for (int s = 0; s < 16; s++) {
			if (s == t.src)
				continue;
			x = t;
			x.src = (ebpf_u8)s;
			try(&x, nslots);
		}
		if (cls == EBPF_CLS_ALU || cls == EBPF_CLS_ALU64) {
			for (size_t k = 0; k < sizeof(alu_off) / sizeof(alu_off[0]); k++) {
				if (alu_off[k] == t.off)
					continue;
				x = t;
				x.off = (ebpf_s16)alu_off[k];
				try(&x, nslots);
			}
		} else if (cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) {
			x = t;
			x.off = 1;
			try(&x, nslots);
			for (int d = 1; d < 16; d++) {
				x = t;
				x.dst = (ebpf_u8)d;
				try(&x, nslots);
			}
		}
		int atomic = cls == EBPF_CLS_STX && (op & 0xe0) == EBPF_MODE_ATOMIC;
		int swap = (cls == EBPF_CLS_ALU || cls == EBPF_CLS_ALU64) && (op & 0xf0) == 0xd0;
		if (atomic || swap) {
			/* atomics: imm names the operation, and an operation may read
			 * through src (load-acquire: dst = [src+off]) as well as
			 * through dst; swaps: imm is the width (16/32/64) */
			for (int layout = 0; layout < 1 + atomic; layout++)
				for (int imm = 0; imm < (atomic ? 0x200 : 0x81); imm++) {
					x = layout ? I(op, 0, 10, -8, imm) : t;
					x.imm = imm;
					if (!layout && imm == t.imm)
						continue;
					try(&x, nslots);
				}
		} else {
			for (size_t k = 0; k < sizeof(edge_imm) / sizeof(edge_imm[0]); k++) {
				if (edge_imm[k] == t.imm)
					continue;
				x = t;
				x.imm = edge_imm[k];
				try(&x, nslots);
			}
		}
	}

	int missing = 0;
	for (int f = 0; f < FORM_COUNT; f++) {
		if (accepted_by_form[f])
			continue;
		const char *reason = NULL;
		for (size_t k = 0; k < sizeof(unreachable) / sizeof(unreachable[0]); k++)
			if (unreachable[k].form == f)
				reason = unreachable[k].why;
		if (reason) {
			printf("not probed  %-20s %s\n", ebpf_forms[f].id, reason);
		} else {
			missing++;
			printf("MISSING  %s (%s): the kernel accepted no probe of this form\n", ebpf_forms[f].id,
			       ebpf_isa_name(ebpf_forms[f].isa));
		}
	}
	int linux_seen = 0, linux_forms = 0;
	for (int f = 0; f < FORM_COUNT; f++)
		if (ebpf_forms[f].isa == EBPF_ISA_LINUX) {
			linux_forms++;
			linux_seen += accepted_by_form[f] != 0;
		}
	printf("survey: %lu probes over %d opcode bytes the kernel knows; %lu accepted; "
	       "%d accepted encodings bpfdiff does not know; %d accepted encodings RFC 9669 forbids (known "
	       "kernel gaps); %d forms not accepted; Linux extension forms accepted: %d of %d\n",
	       nprobes, live_opcodes, naccepted, unknown_accepted, gaps_seen, missing, linux_seen, linux_forms);
	kexec_close(&K);
	return unknown_accepted || missing ? 1 : 0;
}
