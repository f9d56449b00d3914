/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the diff's classification (harness/diff.c) with scripted
 * backends: outcomes no real VM produces on demand — a kernel WARNING during
 * a case, a verifier that accepts what the uvm faults on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/session.h"
#include "vm/isa.h"

static int passed, failed;
#define CHECK(cond, ...)                                  \
	do {                                                  \
		if (cond) {                                       \
			passed++;                                     \
		} else {                                          \
			failed++;                                     \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
			printf(__VA_ARGS__);                          \
			putchar('\n');                                \
		}                                                 \
	} while (0)

/* A scripted backend: returns what `script` says, whatever the program. */
static struct bd_result script;

static int fake_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		    struct bd_result *res)
{
	(void)b;
	(void)o;
	res->status = script.status;
	res->r0 = script.r0;
	snprintf(res->message, sizeof(res->message), "%s", script.message);
	snprintf(res->warning, sizeof(res->warning), "%s", script.warning);
	if (c->mem_len) {
		res->mem = calloc(1, c->mem_len);
		res->mem_len = c->mem_len;
	}
	return 0;
}

static const struct bd_backend_ops fake_ops = { .name = "kernel", .verifier = true, .run = fake_run };

int main(void)
{
	struct bd_backend_config cfg = { .cpu = 4 };
	struct bd_session s;
	char err[256];
	if (bd_session_open(&s, "uvm", &cfg, err, sizeof(err)) < 0) {
		printf("session: %s\n", err);
		return 1;
	}
	/* Slot 1: the scripted "kernel". */
	s.slot[1] = (struct bd_backend_slot){ .ops = &fake_ops, .b = (struct bd_backend *)&script };
	snprintf(s.slot[1].name, sizeof(s.slot[1].name), "kernel");
	s.n = 2;

	struct ebpf_insn prog[] = {
		{ .opcode = 0xb7, .dst = 0, .imm = 7 }, /* mov r0, 7 */
		{ .opcode = 0x95 },                      /* exit */
	};
	struct bd_case c = { .path = "scripted", .insns = prog, .ninsns = 2, .has_result = true, .result = 7 };
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));

	/* Agreement. */
	script = (struct bd_result){ .status = BD_OK, .r0 = 7 };
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_PASS, "agreement: %s %s", bd_verdict_name(o.verdict), o.reason);

	/* A kernel WARNING while the case ran outranks agreeing results. */
	snprintf(script.warning, sizeof(script.warning),
		 "verifier bug: REG INVARIANTS VIOLATION (true_reg1): range bounds violation u64=[0x1, 0x0]");
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_KERNEL_WARNING && bd_verdict_is_bad(o.verdict), "warning: %s",
	      bd_verdict_name(o.verdict));
	CHECK(!strcmp(o.signature, "kernel-warning|kernel|verifier bug: REG INVARIANTS VIOLATION (true_reg1)"),
	      "warning signature '%s'", o.signature);
	CHECK(strstr(o.reason, "REG INVARIANTS") != NULL, "warning reason '%s'", o.reason);
	script.warning[0] = 0;

	/* R0 differs: a discrepancy with a signature naming the pair and what. */
	script.r0 = 8;
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY, "r0: %s", bd_verdict_name(o.verdict));
	CHECK(strstr(o.signature, "MOV64_IMM|uvm/kernel|r0") != NULL, "r0 signature '%s'", o.signature);

	/* The verifier accepted and ran it, the uvm faults: possible soundness bug. */
	struct ebpf_insn oob[] = {
		{ .opcode = 0x79, .dst = 0, .src = 1, .off = 64 }, /* ldxdw r0, [r1+64] */
		{ .opcode = 0x95 },
	};
	uint8_t mem[8] = { 0 };
	struct bd_case d = { .path = "oob", .insns = oob, .ninsns = 2, .mem = mem, .mem_len = 8 };
	script = (struct bd_result){ .status = BD_OK, .r0 = 0 };
	bd_session_run(&s, &d, &o);
	CHECK(o.verdict == BD_V_SOUNDNESS, "soundness: %s %s", bd_verdict_name(o.verdict), o.reason);

	/* The kernel verifier refusing is allowed; uvm's own refusal is not. */
	script = (struct bd_result){ .status = BD_REJECTED };
	snprintf(script.message, sizeof(script.message), "invalid shift 60");
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_REJECTED, "kernel rejected: %s", bd_verdict_name(o.verdict));

	/* Signatures keep their key however long the forms list. */
	struct ebpf_insn *big = calloc(FORM_COUNT + 2, sizeof(*big));
	size_t nb = 0;
	big[nb++] = (struct ebpf_insn){ .opcode = 0xb7, .dst = 0, .imm = 1 };
	for (int f = 0; f < FORM_COUNT; f++) { /* every ALU, byte-swap and jump form: > 100 names */
		const struct ebpf_form_desc *d = &ebpf_forms[f];
		struct ebpf_insn x = { .opcode = d->opcode, .dst = 0 };
		switch (d->fmt) {
		case EBPF_FMT_ALU_K: x.off = (short)d->disc; x.imm = 1; break;
		case EBPF_FMT_ALU_X: x.off = (short)d->disc; x.src = 2; break;
		case EBPF_FMT_NEG: break;
		case EBPF_FMT_END: x.imm = d->disc; break;
		case EBPF_FMT_JCOND_K: x.imm = 1; break; /* jump +0 */
		case EBPF_FMT_JCOND_X: x.src = 2; break;
		default: continue;
		}
		big[nb++] = x;
	}
	big[nb++] = (struct ebpf_insn){ .opcode = 0x95 };
	struct bd_case e = { .path = "big", .insns = big, .ninsns = nb };
	script = (struct bd_result){ .status = BD_OK, .r0 = 0x1234 };
	bd_session_run(&s, &e, &o);
	size_t len = strlen(o.signature);
	CHECK(len > 14 && !strcmp(o.signature + len - 14, "|uvm/kernel|r0"), "long signature '%s'", o.signature);
	CHECK(strstr(o.signature, ",...|") != NULL, "the forms list was cut: '%s'", o.signature);
	free(big);

	bd_outcome_reset(&o);
	s.n = 1; /* the scripted slot owns nothing */
	bd_session_close(&s);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
