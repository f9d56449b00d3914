/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the diff's classification (harness/diff.c) with scripted
 * backends: outcomes no real VM produces on demand — a kernel WARNING during
 * a case, a verifier that accepts what the uvm faults on, a VM that dies,
 * two platforms' helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/session.h"
#include "vm/isa.h"
#include "check.h"


/* A scripted backend: returns what `script` says, whatever the program;
 * its memory after the run is zeros, or none at all with script_no_mem. */
static struct bd_result script;
static bool script_no_mem;

static int fake_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		    struct bd_result *res)
{
	(void)b;
	(void)o;
	bd_result_reset(res);
	res->status = script.status;
	res->r0 = script.r0;
	res->fault_kind = script.fault_kind;
	res->has_pc = script.has_pc;
	res->pc = script.pc;
	res->signal = script.signal;
	snprintf(res->message, sizeof(res->message), "%s", script.message);
	snprintf(res->warning, sizeof(res->warning), "%s", script.warning);
	res->states = script.states; /* a verifier log for the verifier-state oracle */
	res->states_prologue = script.states_prologue;
	res->states_truncated = script.states_truncated;
	if (c->mem_len && !script_no_mem) { /* the memory as it came in */
		res->mem = malloc(c->mem_len);
		memcpy(res->mem, c->mem, c->mem_len);
		res->mem_len = c->mem_len;
	}
	return 0;
}

static const struct bd_backend_ops fake_ops = { .name = "kernel", .verifier = true, .run = fake_run };
/* The same, as a VM without a verifier whose faults carry kind and pc (like the xdp VM). */
static const struct bd_backend_ops fake_vm_ops = { .name = "xdp", .verifier = false, .run = fake_run };

/* A second one, for three-way sessions. */
static struct bd_result script2;

static int fake_run2(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		     struct bd_result *res)
{
	(void)b;
	(void)c;
	(void)o;
	bd_result_reset(res);
	res->status = script2.status;
	res->r0 = script2.r0;
	return 0;
}

static const struct bd_backend_ops fake_ops2 = { .name = "plugin", .run = fake_run2 };

static void set_env(struct bd_backend_slot *slot, const char *release, const char *arch, int jit)
{
	bd_env_unknown(&slot->env);
	snprintf(slot->env.release, sizeof(slot->env.release), "%s", release);
	snprintf(slot->env.arch, sizeof(slot->env.arch), "%s", arch);
	slot->env.jit = jit;
}

static struct bd_case parse(const char *text)
{
	struct bd_case c;
	char err[512];
	if (bd_case_parse_data("scripted.data", text, strlen(text), &c, err, sizeof(err))) {
		printf("FAIL parse: %s\n", err);
		exit(1);
	}
	return c;
}

/*
 * A corpus case that declares a kernel deviation must pass on a kernel that
 * shows it and on one that does not, fail where the deviation is out of
 * scope, and fail on anything else. The two kernels are scripted: their
 * identity (release, arch) and their R0; the uvm is real.
 */
static void test_declared_deviation(struct bd_session *s)
{
	struct bd_case c;
	char err[512];
	if (bd_case_load_data("corpus/cmpxchg32-r0-zext-lost-after-pruning.data", &c, err, sizeof(err))) {
		printf("FAIL load: %s\n", err);
		failed++;
		return;
	}
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	struct bd_backend_slot *k = &s->slot[1];

	set_env(k, "6.18.0-buggy", "x86_64", 1);
	script = (struct bd_result){ .status = BD_OK, .r0 = 0xffffffffffffffffull };
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.judged[1] == BD_J_PRESENT, "kernel with the bug: %s %s",
	      bd_verdict_name(o.verdict), o.reason);

	set_env(k, "6.18.44-fc-v1045", "x86_64", 1);
	script.r0 = 0xffffffff;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.judged[1] == BD_J_ABSENT, "kernel without the bug: %s %s",
	      bd_verdict_name(o.verdict), o.reason);

	set_env(k, "6.18.0-buggy", "aarch64", 1); /* declared for x86_64 only */
	script.r0 = 0xffffffffffffffffull;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL && o.deviated[1] && !o.deviated[0] && strstr(o.reason, "kernel: r0 is"),
	      "out of scope: %s %s", bd_verdict_name(o.verdict), o.reason);

	set_env(k, "6.18.0-buggy", "x86_64", 1);
	script.r0 = 0x1234;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL && strstr(o.reason, "neither the declared deviation"),
	      "neither deviation nor truth: %s %s", bd_verdict_name(o.verdict), o.reason);
	bd_case_free(&c);

	/* Release ranges: a 6.1 guest refusing a cpu v4 form. */
	c = parse("-- asm\nsdiv %r0, 1\nexit\n-- result\n0x0\n"
		  "-- expect kernel release<6.6\n# cpu v4 forms came with 6.6\nrejected unknown opcode\n");
	set_env(k, "6.1.0-57-arm64", "aarch64", 0);
	script = (struct bd_result){ .status = BD_REJECTED };
	snprintf(script.message, sizeof(script.message), "unknown opcode 3f");
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.judged[1] == BD_J_PRESENT, "release<6.6 on 6.1: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	set_env(k, "6.18.44-fc-v1045", "x86_64", 1);
	bd_session_run(s, &c, &o); /* the same refusal on 6.18 is no longer covered */
	CHECK(o.verdict == BD_V_REJECTED && o.judged[1] == BD_J_REFUSED, "release<6.6 on 6.18: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	bd_case_free(&c);
	set_env(k, "", "", -1);
	bd_outcome_reset(&o);
}

/* A wrong R0 is a discrepancy even when a pointer stored into memory makes
 * the memory nondeterministic: only the dimension that differs is re-run. */
static void test_nondeterminism_per_dimension(struct bd_session *s)
{
	struct bd_case c = parse("-- asm\nstxdw [%r1], %r10\nmov %r0, 7\nexit\n-- mem\n00 00 00 00 00 00 00 00\n");
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	script = (struct bd_result){ .status = BD_OK, .r0 = 8 };
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY, "pointer in memory + wrong r0: %s %s", bd_verdict_name(o.verdict),
	      o.reason);
	script.r0 = 7; /* only the memory (the stack pointer) differs */
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_NONDETERMINISTIC, "pointer in memory only: %s %s", bd_verdict_name(o.verdict),
	      o.reason);
	bd_case_free(&c);
	bd_outcome_reset(&o);
}

/* Two faults agree only on the same kind and, where both know it, the same pc. */
static void test_fault_agreement(struct bd_session *s)
{
	struct bd_case c = parse("-- asm\nmov %r0, 0\nldxdw %r0, [%r1+64]\nexit\n-- mem\n00 00 00 00 00 00 00 00\n");
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	s->slot[1].ops = &fake_vm_ops;
	s->slot[1].verifier = false;
	script = (struct bd_result){ .status = BD_FAULT, .fault_kind = BD_FAULT_READ, .has_pc = true, .pc = 1 };
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS, "same fault: %s %s", bd_verdict_name(o.verdict), o.reason);
	script.fault_kind = BD_FAULT_WRITE;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY && strstr(o.signature, "|uvm/kernel|fault"), "other fault kind: %s %s",
	      bd_verdict_name(o.verdict), o.signature);
	script.fault_kind = BD_FAULT_READ;
	script.pc = 0;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY, "other fault pc: %s %s", bd_verdict_name(o.verdict), o.reason);
	script.has_pc = false; /* a VM that does not say where: the kind decides */
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS, "fault without pc: %s %s", bd_verdict_name(o.verdict), o.reason);
	s->slot[1].ops = &fake_ops;
	s->slot[1].verifier = true;
	bd_case_free(&c);
	bd_outcome_reset(&o);
}

/* -- mem after on a backend that returns no memory is "not checked", never a
 * pass; and memory is compared over its full length. */
static void test_memory_checks(struct bd_session *s)
{
	struct bd_case c = parse("-- asm\nmov %r0, 0\nexit\n-- mem\n00 00 00 00\n-- result\n0x0\n"
				 "-- mem after\n00 00 00 00\n");
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	script = (struct bd_result){ .status = BD_OK, .r0 = 0 };
	script_no_mem = true;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_UNCHECKED && o.judged[1] == BD_J_UNCHECKED && !bd_verdict_is_bad(o.verdict),
	      "no memory returned: %s %s", bd_verdict_name(o.verdict), o.reason);
	script_no_mem = false;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS, "memory returned: %s %s", bd_verdict_name(o.verdict), o.reason);
	bd_case_free(&c);
	c = parse("-- asm\nmov %r0, 0\nexit\n-- mem\n00 00 00 00\n-- result\n0x0\n-- mem after\n00 00\n");
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL && strstr(o.reason, "memory is 4 bytes"), "short -- mem after: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	bd_case_free(&c);
	bd_outcome_reset(&o);
}

/* An unconfirmed fuzz find: KNOWN-FIND while it reproduces, a pass that says
 * "no longer reproduces here" when the odd backend agrees, a discrepancy when
 * something else differs. */
static void test_unconfirmed_find(struct bd_session *s)
{
	struct bd_case c = parse("-- asm\nmov %r0, 7\nexit\n-- observed uvm\nok\nresult 0x7\n"
				 "-- observed kernel arch=x86_64 release=6.18.0\nok\nresult 0x8\n"
				 "-- signature\nMOV64_IMM|uvm/kernel|r0\n");
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	CHECK(bd_case_unconfirmed(&c), "a find with observations and no truth is unconfirmed");
	script = (struct bd_result){ .status = BD_OK, .r0 = 8 };
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_UNCONFIRMED && !bd_verdict_is_bad(o.verdict), "find reproduces: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	script.r0 = 7;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.find_gone, "find gone: %s %s", bd_verdict_name(o.verdict), o.reason);
	script = (struct bd_result){ .status = BD_FAULT };
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY || o.verdict == BD_V_SOUNDNESS, "another discrepancy: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	bd_case_free(&c);
	bd_outcome_reset(&o);
}

/* A kernel warning a case declares is a known deviation; any other is a finding. */
static void test_declared_warning(struct bd_session *s)
{
	struct bd_case c = parse("-- asm\nmov %r0, 7\nexit\n-- result\n0x7\n-- expect kernel\n# known verifier bug\n"
				 "warning REG INVARIANTS VIOLATION (true_reg1)\nresult 0x7\n");
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	script = (struct bd_result){ .status = BD_OK, .r0 = 7 };
	snprintf(script.warning, sizeof(script.warning), "verifier bug: REG INVARIANTS VIOLATION (true_reg1): x");
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.judged[1] == BD_J_PRESENT, "declared warning: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	snprintf(script.warning, sizeof(script.warning), "verifier bug: REG INVARIANTS VIOLATION (false_reg2): x");
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_KERNEL_WARNING, "another warning: %s %s", bd_verdict_name(o.verdict), o.reason);
	script.warning[0] = 0;
	bd_session_run(s, &c, &o);
	CHECK(o.verdict == BD_V_PASS && o.judged[1] == BD_J_ABSENT, "warning gone: %s %s", bd_verdict_name(o.verdict),
	      o.reason);
	bd_case_free(&c);
	bd_outcome_reset(&o);
}

/* Backend names as long as a plugin path are never cut. */
/*
 * The verifier-state oracle's verdict: the scripted verifier accepts
 * `mov r0, 7; exit` with a level-2 log (hand-written) whose claim about r0
 * is true, or false; the uvm's trace is real.
 */
static void test_verifier_oracle(struct bd_session *s, struct bd_case *c)
{
	struct bd_outcome o;
	memset(&o, 0, sizeof(o));
	s->cfg.verifier_states = true;
	const char *truth = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 7 ; R0=7\n1: (95) exit\nprocessed 2 insns\n";
	const char *lie = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 7 ; R0=scalar(umax=5)\n1: (95) exit\nprocessed 2 insns\n";
	script = (struct bd_result){ .status = BD_OK, .r0 = 7, .states = truth };
	bd_session_run(s, c, &o);
	/* judged: insn 0 r10 (r1 is ctx: no claim), insn 1 r0 and r10 */
	CHECK(o.verdict == BD_V_PASS && o.oracle.checked && !o.oracle.found && o.oracle.judged == 3,
	      "true claims: %s, judged %llu", bd_verdict_name(o.verdict), (unsigned long long)o.oracle.judged);

	script.states = lie;
	bd_session_run(s, c, &o);
	CHECK(o.verdict == BD_V_UNSOUND && bd_verdict_is_bad(o.verdict) && o.deviated[1] && !o.deviated[0],
	      "a value outside the claim: %s %s", bd_verdict_name(o.verdict), o.reason);
	CHECK(strstr(o.reason, "insn 1: r0 = 0x7") && strstr(o.reason, "umax=0x5") && strstr(o.reason, "agreed with"),
	      "reason '%s'", o.reason);
	CHECK(!strcmp(o.signature, "MOV64_IMM|kernel/uvm|verifier-unsound"), "signature '%s'", o.signature);
	CHECK(!strcmp(bd_verdict_name(o.verdict), "verifier unsound"), "name");

	/* The kernel also disagrees with the uvm: the discrepancy stays the verdict, the finding is kept. */
	bool had = c->has_result;
	c->has_result = false;
	script.r0 = 8;
	bd_session_run(s, c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY && o.oracle.found && o.oracle.kernel_agrees == 0,
	      "with a discrepancy: %s, found %d agrees %d", bd_verdict_name(o.verdict), o.oracle.found,
	      o.oracle.kernel_agrees);

	/* No log (truncated): not judged, said so. */
	script = (struct bd_result){ .status = BD_OK, .r0 = 7, .states_truncated = true };
	c->has_result = had;
	bd_session_run(s, c, &o);
	CHECK(o.verdict == BD_V_PASS && !o.oracle.checked && strstr(o.oracle.skipped, "did not fit"),
	      "truncated: %s '%s'", bd_verdict_name(o.verdict), o.oracle.skipped);
	s->cfg.verifier_states = false;

	/* A saved find of the oracle is judged by it again without the flag (its signature says
	 * so): an unconfirmed find that reproduces, or one that no longer does. */
	struct bd_case f = parse("-- asm\nmov %r0, 7\nexit\n-- observed uvm\nok\nresult 0x7\n"
				 "-- observed kernel arch=x86_64 release=6.18.0\nok\nresult 0x7\n"
				 "-- signature\nMOV64_IMM|kernel/uvm|verifier-unsound\n");
	script = (struct bd_result){ .status = BD_OK, .r0 = 7, .states = lie };
	bd_session_run(s, &f, &o);
	CHECK(o.verdict == BD_V_UNCONFIRMED && !o.find_gone && o.oracle.found && !s->cfg.verifier_states,
	      "unconfirmed unsound find: %s", bd_verdict_name(o.verdict));
	script.states = truth;
	bd_session_run(s, &f, &o);
	CHECK(o.verdict == BD_V_PASS && o.find_gone && o.oracle.checked && !o.oracle.found,
	      "unsound find gone: %s", bd_verdict_name(o.verdict));
	bd_case_free(&f);
	script = (struct bd_result){ .status = BD_OK, .r0 = 7 };
	bd_outcome_reset(&o);
}

static void test_long_backend_name(void)
{
	char text[1024], name[300];
	memset(name, 'p', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memcpy(name, "plugin:/", 8);
	snprintf(text, sizeof(text), "-- asm\nexit\n-- expect %s\n# a long path\nrejected\n", name);
	struct bd_case c = parse(text);
	CHECK(c.nexpect == 1 && !strcmp(c.expect[0].backend, name), "long backend name kept: %zu chars",
	      strlen(c.expect[0].backend));
	bd_case_free(&c);
}

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
	s.slot[1] = (struct bd_backend_slot){ .ops = &fake_ops, .b = (struct bd_backend *)&script,
					      .verifier = true, .platform = "linux" };
	bd_env_unknown(&s.slot[1].env);
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

	test_verifier_oracle(&s, &c);
	script = (struct bd_result){ .status = BD_OK, .r0 = 7 };

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

	/* R0 differs from the RFC result: the kernel fails the case; the signature
	 * still names the pair and what (for the minimizer). */
	script.r0 = 8;
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL && o.deviated[1] && !o.deviated[0], "r0: %s", bd_verdict_name(o.verdict));
	CHECK(strstr(o.signature, "MOV64_IMM|uvm/kernel|r0") != NULL, "r0 signature '%s'", o.signature);
	c.has_result = false; /* no truth: the backends disagree */
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY && o.deviated[0] && o.deviated[1], "r0 without truth: %s",
	      bd_verdict_name(o.verdict));
	c.has_result = true;

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

	/* A VM that dies fails a case with a result, signed with its signal... */
	script = (struct bd_result){ .status = BD_CRASH, .signal = 11 };
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL && strstr(o.reason, "kernel crashed"), "crash: %s %s", bd_verdict_name(o.verdict),
	      o.reason);
	CHECK(!strcmp(o.signature, "MOV64_IMM|uvm/kernel|status:SIGSEGV"), "crash signature '%s'", o.signature);
	/* ... is a discrepancy where no truth decides, even when the result depends
	 * on addresses (r0 = r10): never nondeterministic ... */
	struct ebpf_insn fp[] = { { .opcode = 0xbf, .dst = 0, .src = 10 }, { .opcode = 0x95 } };
	struct bd_case f = { .path = "fp", .insns = fp, .ninsns = 2 };
	bd_session_run(&s, &f, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY && !strcmp(o.signature, "MOV64_REG|uvm/kernel|status:SIGSEGV"),
	      "crash on r0 = r10: %s %s %s", bd_verdict_name(o.verdict), o.reason, o.signature);
	/* ... and fails alone, with no truth and no one to differ from. */
	struct bd_session lone;
	memset(&lone, 0, sizeof(lone));
	lone.cfg = cfg;
	lone.n = 1;
	lone.slot[0] = s.slot[1];
	bd_session_run(&lone, &f, &o);
	CHECK(o.verdict == BD_V_FAIL && strstr(o.reason, "kernel crashed"), "lone crash: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	if (lone.probe) /* the scripted slot owns nothing; the nondeterminism probe is a real uvm */
		bd_backend_uvm.close(lone.probe);
	script.status = BD_OK;
	script.r0 = 1;
	bd_session_run(&s, &f, &o);
	CHECK(o.verdict == BD_V_NONDETERMINISTIC, "r0 = r10: %s %s", bd_verdict_name(o.verdict), o.reason);

	/* Without a declared verifier an ok where the uvm faults is a plain discrepancy. */
	s.slot[1].verifier = false;
	script = (struct bd_result){ .status = BD_OK, .r0 = 0 };
	bd_session_run(&s, &d, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY, "no verifier: %s %s", bd_verdict_name(o.verdict), o.reason);
	/* ... and its rejection is not an allowed refusal. */
	script = (struct bd_result){ .status = BD_REJECTED };
	bd_session_run(&s, &c, &o);
	CHECK(o.verdict == BD_V_FAIL, "no verifier, rejected: %s %s", bd_verdict_name(o.verdict), o.reason);
	s.slot[1].verifier = true;

	/* A helper's result is compared only between backends of one platform:
	 * helper 26 is bpf_skb_load_bytes on Linux, something else (or nothing)
	 * elsewhere. (Not an environment helper such as 5, bpf_ktime_get_ns,
	 * whose real values no two backends need agree on.) */
	struct ebpf_insn helper[] = { { .opcode = 0xb7, .dst = 1, .imm = 5 }, { .opcode = 0x85, .imm = 26 },
				      { .opcode = 0x95 } };
	struct bd_case h = { .path = "helper", .insns = helper, .ninsns = 3 };
	s.slot[2] = (struct bd_backend_slot){ .ops = &fake_ops2, .b = (struct bd_backend *)&script2 };
	bd_env_unknown(&s.slot[2].env);
	snprintf(s.slot[2].name, sizeof(s.slot[2].name), "plugin:./ubpf");
	s.n = 3;
	script = (struct bd_result){ .status = BD_OK, .r0 = 0x1234567890 }; /* a time in ns */
	script2 = (struct bd_result){ .status = BD_OK, .r0 = 5 };            /* unwind returns r1 */
	bd_session_run(&s, &h, &o);
	CHECK(o.verdict == BD_V_NONDETERMINISTIC && strstr(o.reason, "platform-specific"), "helper: %s %s",
	      bd_verdict_name(o.verdict), o.reason);
	snprintf(s.slot[2].platform, sizeof(s.slot[2].platform), "linux"); /* declared the same: compared */
	bd_session_run(&s, &h, &o);
	CHECK(o.verdict == BD_V_DISCREPANCY, "helper, one platform: %s %s", bd_verdict_name(o.verdict), o.reason);
	s.slot[2].platform[0] = 0;
	struct bd_case g = { .path = "free", .insns = prog, .ninsns = 2 }; /* mov r0, 7 with no result */
	bd_session_run(&s, &g, &o); /* no helper call: compared whatever the platforms */
	CHECK(o.verdict == BD_V_DISCREPANCY, "no helper: %s %s", bd_verdict_name(o.verdict), o.reason);
	s.n = 2;

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

	test_declared_deviation(&s);
	test_nondeterminism_per_dimension(&s);
	test_fault_agreement(&s);
	test_memory_checks(&s);
	test_unconfirmed_find(&s);
	test_declared_warning(&s);
	test_long_backend_name();

	bd_outcome_reset(&o);
	s.n = 1; /* the scripted slot owns nothing */
	bd_session_close(&s);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
