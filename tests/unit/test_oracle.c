/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the verifier-state oracle's judge (harness/oracle.c) with the
 * real uvm's trace: claims that hold give no finding, and a claim injected
 * into a log (by hand, or by editing one real captured log) that a concrete
 * value breaks is found, at the right pc, register and value. This is the
 * test that the oracle CAN fire; that it does not fire on the suites is
 * tests/test_oracle.py's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/backend.h"
#include "harness/case.h"
#include "harness/oracle.h"
#include "vm/uvm.h"
#include "check.h"


static struct bd_backend *uvm;

/* Run case c in the uvm, judged against log (prologue P). */
static struct bd_oracle_result judge(const struct bd_case *c, const char *log, size_t P)
{
	struct bd_oracle_result r;
	memset(&r, 0, sizeof(r));
	struct bd_run_opts ro;
	bd_run_opts_default(&ro);
	struct bd_oracle o;
	if (bd_oracle_load(&o, log, P, ro.mem_addr, c->mem_len, c->insns, c->ninsns, &r) < 0)
		return r;
	ro.trace = bd_oracle_step;
	ro.trace_ctx = &o;
	ro.null_r1 = true;
	struct bd_result res = { 0 };
	if (bd_backend_uvm.run(uvm, c, &ro, &res) < 0 || res.status != BD_OK)
		printf("FAIL uvm run: %s\n", res.message);
	bd_result_reset(&res);
	bd_oracle_free(&o);
	return r;
}

static void case_from(const char *text, struct bd_case *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	if (bd_case_parse_data("inline.data", text, strlen(text), c, err, sizeof(err)) < 0) {
		printf("FAIL %s\n", err);
		exit(1);
	}
}

static char *slurp(const char *path)
{
	char err[256], *t = NULL;
	size_t len;
	if (bd_read_input(path, &t, &len, err, sizeof(err)) < 0) {
		printf("FAIL %s\n", err);
		exit(1);
	}
	return t;
}

/* text with the first `from` replaced by `to` (which must be there). */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	if (!at) {
		printf("FAIL '%s' is not in the log\n", from);
		exit(1);
	}
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1, pre = (size_t)(at - text);
	char *out = malloc(n);
	memcpy(out, text, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	return out;
}

/* A hand-written log for `mov r0, 7; add r0, 1; exit` (no prologue). */
static void test_hand_written(void)
{
	struct bd_case c;
	case_from("-- asm\nmov %r0, 7\nadd %r0, 1\nexit\n-- result\n0x8\n", &c);
	const char *truth = "0: R1=ctx() R10=fp0\n"
			    "0: (b7) r0 = 7                        ; R0=7\n"
			    "1: (07) r0 += 1                       ; R0=8\n"
			    "2: (95) exit\n"
			    "processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0\n";
	struct bd_oracle_result r = judge(&c, truth, 0);
	/* judged: pc 0 r10 (r1 is ctx: no claim); pc 1 r0, r10; pc 2 r0, r10 */
	CHECK(r.checked && !r.found && r.judged == 5, "true claims: checked %d found %d judged %llu", r.checked,
	      r.found, (unsigned long long)r.judged);

	char *lie = replace(truth, "; R0=7", "; R0=5");
	r = judge(&c, lie, 0);
	CHECK(r.found && r.pc == 1 && r.reg == 0 && r.value == 7 && strstr(r.claim, "0x5"),
	      "claimed r0 = 5 before insn 1, the run has 7: found %d pc %u r%d = %llu claim %s", r.found, r.pc, r.reg,
	      (unsigned long long)r.value, r.claim);
	free(lie);

	lie = replace(truth, "; R0=8", "; R0=scalar(smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))");
	r = judge(&c, lie, 0);
	CHECK(r.found && r.pc == 2 && r.reg == 0 && r.value == 8, "a range [0, 7] that misses 8");
	free(lie);

	/* The same wrong claim on a second path, with a true one on the first: the union holds. */
	char *two = replace(truth, "2: (95) exit\n", "2: (95) exit\n\nfrom 0 to 1: R0=7 R10=fp0\n1: (07) r0 += 1 ; R0=5\n2: (95) exit\n");
	r = judge(&c, two, 0);
	CHECK(r.checked && !r.found, "a value inside one of two states at an insn is no finding");
	free(two);

	/* A prune at insn 1: not judged from there on (the lie at 2 is not seen). */
	lie = replace(truth, "; R0=8", "; R0=5");
	char *pruned = replace(lie, "processed", "\nfrom 0 to 1: safe\nprocessed");
	r = judge(&c, pruned, 0);
	CHECK(r.checked && !r.found && r.stopped && r.stopped_pc == 1 && r.judged == 1,
	      "judged up to the pruned insn only (judged %llu)", (unsigned long long)r.judged);
	free(lie);
	free(pruned);

	/* No "processed" line: a truncated log is not used at all. */
	r = judge(&c, "0: R1=ctx() R10=fp0\n0: (b7) r0 = 7 ; R0=5\n1: (07) r0 += 1\n", 0);
	CHECK(!r.checked && !r.found && r.skipped[0], "an incomplete log is not judged: %s", r.skipped);
	bd_case_free(&c);
}

/* The real log of varoff-branch-prune.data (prologue 9), as captured and with one claim changed. */
static void test_real_log(void)
{
	struct bd_case c;
	char err[256];
	memset(&c, 0, sizeof(c));
	if (bd_case_load_data("tests/unit/vlogs/varoff-branch-prune.data", &c, err, sizeof(err)) < 0) {
		printf("FAIL %s\n", err);
		exit(1);
	}
	char *log = slurp("tests/unit/vlogs/varoff-branch-prune.log");
	/* mem[0] = 1: r2 = 1, the fall-through path 19 20 21 23 24, which the verifier explored to
	 * the end ("22: (b7) r5 = 2" then "23: safe" pruned the other one's step 22 -> 23): judged
	 * throughout. */
	struct bd_oracle_result r = judge(&c, log, 9);
	CHECK(r.checked && !r.found && !r.stopped && r.judged > 20, "the true log: found %d stopped %d at %u judged %llu",
	      r.found, r.stopped, r.stopped_pc, (unsigned long long)r.judged);

	/* mem[0] = 4: r2 = 4, the branch the verifier pruned at its step 22 -> 23 (case pc 13 -> 14)
	 * against the first path's state, where r5 = 1 is logged and this run has r5 = 2
	 * (imprecise, so the prune is right): judged up to pc 14, no finding. (The verifier sees
	 * no memory contents: the same log.) */
	c.mem[0] = 4;
	r = judge(&c, log, 9);
	CHECK(r.checked && !r.found && r.stopped && r.stopped_pc == 14, "the pruned path: found %d (pc %u r%d)",
	      r.found, r.pc, r.reg);
	c.mem[0] = 1;

	/* r2 &= 7 claimed to give [4, 7]; the run has 1 before insn 11 (case pc 2). */
	char *lie = replace(log, "; R2=scalar(smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))",
			    "; R2=scalar(smin=umin=smin32=umin32=4,smax=umax=smax32=umax32=7,var_off=(0x4; 0x3))");
	r = judge(&c, lie, 9);
	CHECK(r.found && r.pc == 2 && r.reg == 2 && r.value == 1, "injected scalar claim: pc %u r%d = %llu", r.pc,
	      r.reg, (unsigned long long)r.value);
	free(lie);

	/* r3 = r10 - 16 claimed to be fp-24: found before insn 15 (case pc 6), r3 = the uvm's r10 - 16. */
	lie = replace(log, "; R3=fp-16", "; R3=fp-24");
	r = judge(&c, lie, 9);
	CHECK(r.found && r.pc == 6 && r.reg == 3 && r.value == UVM_DEFAULT_STACK_TOP - 16,
	      "injected stack pointer claim: pc %u r%d = %#llx", r.pc, r.reg, (unsigned long long)r.value);
	free(lie);

	/* r1 (the memory + r2 = 1) claimed to be at offset 0..7 with its low bit clear. */
	lie = replace(log, "12: R1=map_value(map=bpfdiff_mem,ks=4,vs=16,smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))",
		      "12: R1=map_value(map=bpfdiff_mem,ks=4,vs=16,smin=smin32=0,smax=umax=smax32=umax32=6,var_off=(0x0; 0x6))");
	r = judge(&c, lie, 9);
	CHECK(r.found && r.pc == 3 && r.reg == 1 && r.value == UVM_DEFAULT_MEM_ADDR + 1,
	      "injected map value pointer claim: pc %u r%d = %#llx", r.pc, r.reg, (unsigned long long)r.value);
	free(lie);
	free(log);
	bd_case_free(&c);
}

/* bpf-loop-1.data: the callback runs once; the verifier models its return as a step back to
 * the call (kernel 30 -> 15, pruned), the run goes on after the call (30 -> 16): judged
 * through the callback, not after it (case pc 7 = kernel 16). */
static void test_callback(void)
{
	struct bd_case c;
	char err[256];
	memset(&c, 0, sizeof(c));
	if (bd_case_load_data("tests/unit/vlogs/bpf-loop-1.data", &c, err, sizeof(err)) < 0) {
		printf("FAIL %s\n", err);
		exit(1);
	}
	char *log = slurp("tests/unit/vlogs/bpf-loop-1.log");
	struct bd_oracle_result r = judge(&c, log, 9);
	CHECK(r.checked && !r.found && r.stopped && r.stopped_pc == 7 && r.judged > 20,
	      "bpf_loop: found %d stopped %d at %u judged %llu", r.found, r.stopped, r.stopped_pc,
	      (unsigned long long)r.judged);
	/* The callback's r6 = r1 (its index, 0 here) claimed to be 1 or more. */
	char *lie = replace(log, "; frame1: R1=scalar(id=1) R6=scalar(id=1) cb", "; frame1: R1=scalar(id=1) R6=scalar(id=1,umin=1) cb");
	r = judge(&c, lie, 9);
	CHECK(r.found && r.reg == 6 && r.value == 0 && r.pc == 9, "in the callback: found %d stopped %d at %u judged %llu; pc %u r%d = %llu", r.found, r.stopped, r.stopped_pc, (unsigned long long)r.judged, r.pc, r.reg,
	      (unsigned long long)r.value);
	free(lie);
	free(log);
	bd_case_free(&c);
}

int main(void)
{
	struct bd_backend_config cfg = { .cpu = 4 };
	char why[256];
	if (bd_backend_uvm.open(&uvm, &cfg, why, sizeof(why)) < 0) {
		printf("FAIL uvm: %s\n", why);
		return 1;
	}
	test_hand_written();
	test_real_log();
	test_callback();
	bd_backend_uvm.close(uvm);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
