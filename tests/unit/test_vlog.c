/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the verifier-log parser (harness/vlog.c) on real level-2 logs
 * captured from kernel 6.18 (tests/unit/vlogs/, see vlog_capture.c). Every
 * expected value below was read off the log text by hand (the line is quoted
 * next to the check), not taken from the parser's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/case.h"
#include "harness/vlog.h"
#include "check.h"


static char *slurp(const char *path)
{
	size_t len;
	char err[256], *t = NULL;
	if (bd_read_input(path, &t, &len, err, sizeof(err)) < 0) {
		printf("FAIL cannot read %s: %s\n", path, err);
		exit(1);
	}
	return t;
}

static struct vlog load(const char *name)
{
	char path[256], err[256];
	snprintf(path, sizeof(path), "tests/unit/vlogs/%s.log", name);
	char *text = slurp(path);
	struct vlog v;
	if (vlog_parse(text, &v, err, sizeof(err))) {
		printf("FAIL %s: %s\n", path, err);
		exit(1);
	}
	free(text);
	return v;
}

/* The points (states) logged before insn, in log order. */
static size_t at(const struct vlog *v, uint32_t insn, const struct vlog_point **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->pts[i].insn == insn && n < max)
			out[n++] = &v->pts[i];
	return n;
}

static bool bounds_are(const struct vlog_bounds *b, int64_t smin, int64_t smax, uint64_t umin, uint64_t umax,
		       int32_t smin32, int32_t smax32, uint32_t umin32, uint32_t umax32, uint64_t tv, uint64_t tm)
{
	return b->smin == smin && b->smax == smax && b->umin == umin && b->umax == umax && b->smin32 == smin32 &&
	       b->smax32 == smax32 && b->umin32 == umin32 && b->umax32 == umax32 && b->tnum_value == tv &&
	       b->tnum_mask == tm;
}

static bool is_const(const struct vlog_reg *r, uint64_t c)
{
	return r->kind == VLOG_SCALAR && r->b.tnum_value == c && !r->b.tnum_mask && r->b.umin == c && r->b.umax == c;
}

static void test_values(void)
{
	struct vlog_reg r;
	/* Forms as the kernel prints them, one each. */
	CHECK(!vlog_parse_value("-1", 2, &r) && is_const(&r, UINT64_MAX) && r.b.smin == -1, "-1");
	CHECK(!vlog_parse_value("0xffffffff80000000", 18, &r) && is_const(&r, 0xffffffff80000000ULL), "hex const");
	CHECK(!vlog_parse_value("P99", 3, &r) && r.precise && is_const(&r, 99), "precise P99");
	CHECK(!vlog_parse_value("scalar()", 8, &r) && r.kind == VLOG_SCALAR &&
		      bounds_are(&r.b, INT64_MIN, INT64_MAX, 0, UINT64_MAX, INT32_MIN, INT32_MAX, 0, UINT32_MAX, 0,
				 UINT64_MAX),
	      "scalar() is unbounded");
	const char *s = "scalar(smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=256,var_off=(0x0; 0x1ff))";
	CHECK(!vlog_parse_value(s, strlen(s), &r) &&
		      bounds_are(&r.b, 1, 256, 1, 256, 1, 256, 1, 256, 0, 0x1ff),
	      "chained keys k1=k2=value");
	s = "scalar(id=1,umin=1000)";
	CHECK(!vlog_parse_value(s, strlen(s), &r) && r.b.umin == 1000 && r.b.umax == UINT64_MAX &&
		      r.b.smin == INT64_MIN,
	      "id ignored, umin alone");
	s = "map_value(map=bpfdiff_mem,ks=4,vs=16,off=12)";
	CHECK(!vlog_parse_value(s, strlen(s), &r) && r.kind == VLOG_MAP_VALUE && r.off == 12 && r.value_size == 16 &&
		      !strcmp(r.map, "bpfdiff_mem") && !r.b.tnum_mask && !r.b.tnum_value,
	      "map_value with a fixed offset has no variable part");
	CHECK(!vlog_parse_value("fp-16", 5, &r) && r.kind == VLOG_STACK && r.off == -16 && r.frame == -1 &&
		      !r.b.tnum_mask,
	      "fp-16");
	CHECK(!vlog_parse_value("fp[0]-8", 7, &r) && r.kind == VLOG_STACK && r.off == -8 && r.frame == 0, "fp[0]-8");
	CHECK(!vlog_parse_value("ctx()", 5, &r) && r.kind == VLOG_OTHER, "ctx()");
	CHECK(vlog_parse_value("scalar(smin=zz)", 15, &r) < 0, "a bad number is an error");
	CHECK(vlog_parse_value("bogus", 5, &r) < 0, "an unknown word is an error");
}

/* varoff-branch-prune.data; P = 9 (kernel insn = case pc + 9). */
static void test_varoff(void)
{
	struct vlog v = load("varoff-branch-prune");
	const struct vlog_point *p[8];
	CHECK(v.complete, "processed line seen");
	/* 23 insn lines: 22 on the first path (0 2 3 9..21 23 24 4 6 7 8), one ("22: (b7) r5 = 2") on the second. */
	CHECK(v.n == 23, "points: %zu", v.n);
	size_t npruned = 0;
	for (size_t i = 0; i < v.ninsns; i++)
		npruned += v.pruned[i];
	CHECK(npruned == 1 && v.ninsns > 23 && v.pruned[23], "only '23: safe' prunes");
	/* "9: (71) r2 = ..." comes after "0: ... ; R1=map_value(map=bpfdiff_mem,ks=4,vs=16)" and "2: ... ; R2=16" */
	CHECK(at(&v, 9, p, 8) == 1 && p[0]->r[1].kind == VLOG_MAP_VALUE && !p[0]->r[1].off && !p[0]->r[1].b.tnum_mask &&
		      is_const(&p[0]->r[2], 16) && p[0]->r[10].kind == VLOG_STACK && p[0]->r[0].kind == VLOG_NONE,
	      "state before insn 9");
	/* "12: R1=map_value(...,vs=16,smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7)) R2=scalar(same)" */
	CHECK(at(&v, 12, p, 8) == 1 && p[0]->r[1].kind == VLOG_MAP_VALUE && p[0]->r[1].value_size == 16 &&
		      bounds_are(&p[0]->r[1].b, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7) &&
		      bounds_are(&p[0]->r[2].b, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7),
	      "state before insn 12 (after 'r1 += r2', printed after mark_precise lines)");
	/* "18: R3=fp(off=-16,smin=smin32=0,smax=umax=smax32=umax32=8,var_off=(0x0; 0x8)) R4=scalar(...8...)" */
	CHECK(at(&v, 18, p, 8) == 1 && p[0]->r[3].kind == VLOG_STACK && p[0]->r[3].off == -16 &&
		      p[0]->r[3].frame == -1 && bounds_are(&p[0]->r[3].b, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8),
	      "variable stack pointer before insn 18");
	/* "19: (25) if r2 > 0x3 goto pc+2 ; R2=scalar(smin=smin32=0,smax=umax=smax32=umax32=3,var_off=(0x0; 0x3))" */
	CHECK(at(&v, 20, p, 8) == 1 && bounds_are(&p[0]->r[2].b, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3),
	      "fall-through narrowing before insn 20");
	/* "from 19 to 22: ... R2=scalar(smin=umin=smin32=umin32=4,smax=umax=smax32=umax32=7,var_off=(0x4; 0x3))" */
	CHECK(at(&v, 22, p, 8) == 1 && bounds_are(&p[0]->r[2].b, 4, 7, 4, 7, 4, 7, 4, 7, 4, 3) &&
		      p[0]->r[5].kind == VLOG_NONE,
	      "the branch's state before insn 22");
	CHECK(vlog_bounds_contain(&p[0]->r[2].b, 4) && vlog_bounds_contain(&p[0]->r[2].b, 7) &&
		      !vlog_bounds_contain(&p[0]->r[2].b, 3) && !vlog_bounds_contain(&p[0]->r[2].b, 8),
	      "tnum (0x4; 0x3) with [4, 7] holds 4..7 only");
	/* insn 23 is reached twice, logged once: "21: goto" then "23: (0f) r0 += r5", and "23: safe" */
	CHECK(at(&v, 23, p, 8) == 1 && is_const(&p[0]->r[5], 1), "one state at the pruned insn 23: r5 = 1");
	vlog_free(&v);
}

static void test_loop(void)
{
	struct vlog v = load("loop-counter");
	const struct vlog_point *p[8];
	/* three iterations: R3 3/2/1 and R0 0/3/5 before "11: (0f) r0 += r3" */
	CHECK(at(&v, 11, p, 8) == 3 && is_const(&p[0]->r[3], 3) && is_const(&p[1]->r[3], 2) &&
		      is_const(&p[2]->r[3], 1) && is_const(&p[0]->r[0], 0) && is_const(&p[1]->r[0], 3) &&
		      is_const(&p[2]->r[0], 5),
	      "a state per iteration at the loop head");
	/* "13: R3=0" then "14: (05) goto pc-11" */
	CHECK(at(&v, 14, p, 8) == 1 && is_const(&p[0]->r[3], 0) && is_const(&p[0]->r[0], 6), "after the loop");
	size_t npruned = 0;
	for (size_t i = 0; i < v.ninsns; i++)
		npruned += v.pruned[i];
	CHECK(!npruned && v.complete, "nothing pruned");
	vlog_free(&v);
}

static void test_call(void)
{
	struct vlog v = load("call-pass-stack-pointer");
	const struct vlog_point *p[8];
	/* "callee:\n frame1: R1=fp[0]-8 R2=0 R10=fp0" then "15: (7a) *(u64 *)(r1 +0) = 77" */
	CHECK(at(&v, 15, p, 8) == 1 && p[0]->r[1].kind == VLOG_STACK && p[0]->r[1].frame == 0 &&
		      p[0]->r[1].off == -8 && is_const(&p[0]->r[2], 0) && p[0]->r[10].kind == VLOG_STACK &&
		      p[0]->r[10].frame == -1 && p[0]->r[0].kind == VLOG_NONE && p[0]->r[3].kind == VLOG_NONE,
	      "the callee's state at its first insn");
	/* "to caller at 13:\n R0=0 R10=fp0 fp-8=77" and "from 17 to 13: R0=0 R10=fp0 fp-8=77" */
	CHECK(at(&v, 13, p, 8) == 1 && is_const(&p[0]->r[0], 0) && p[0]->r[1].kind == VLOG_NONE &&
		      p[0]->r[10].kind == VLOG_STACK,
	      "the caller's state after the return");
	/* "11: (07) r1 += -8 ; R1=fp-8" */
	CHECK(at(&v, 12, p, 8) == 1 && p[0]->r[1].kind == VLOG_STACK && p[0]->r[1].frame == -1 &&
		      p[0]->r[1].off == -8,
	      "own-frame pointer at the call");
	vlog_free(&v);
}

static void test_bpf_loop(void)
{
	struct vlog v = load("bpf-loop-1");
	const struct vlog_point *p[8];
	/* "from 15 to 17: frame1: R1=scalar() R2=0 R10=fp0 cb" (the trailing "cb" marks a callback) */
	CHECK(at(&v, 17, p, 8) == 1 && p[0]->r[1].kind == VLOG_SCALAR && p[0]->r[1].b.tnum_mask == UINT64_MAX &&
		      is_const(&p[0]->r[2], 0) && p[0]->r[3].kind == VLOG_NONE,
	      "the callback's entry state");
	/* "23: (85) call bpf_map_lookup_elem#1 ; frame1: R0=map_value(map=bpfdiff_m0,ks=4,vs=8) cb":
	 * r1-r5 unreadable after a helper (r2 was fp-4) */
	CHECK(at(&v, 24, p, 8) == 1 && p[0]->r[0].kind == VLOG_MAP_VALUE && !strcmp(p[0]->r[0].map, "bpfdiff_m0") &&
		      p[0]->r[1].kind == VLOG_NONE && p[0]->r[2].kind == VLOG_NONE && p[0]->r[6].kind == VLOG_SCALAR,
	      "after a helper call");
	/* "16: R0=scalar() R10=fp0" after "15: (85) call bpf_loop#181" */
	CHECK(at(&v, 16, p, 8) == 1 && p[0]->r[0].kind == VLOG_SCALAR && p[0]->r[1].kind == VLOG_NONE &&
		      p[0]->r[4].kind == VLOG_NONE,
	      "after bpf_loop");
	/* "from 30 to 15: safe" twice; "from 28 to 30: ... R6=scalar(id=1,...umax32=999,...)" */
	CHECK(v.pruned[15] && at(&v, 30, p, 8) == 2 && p[1]->r[6].b.umax == 999 && is_const(&p[1]->r[0], 0),
	      "callback exits and the prune at the call");
	vlog_free(&v);
}

static size_t steps(const struct vlog_edge *e, size_t n, uint32_t from, uint32_t to)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += e[i].from == from && e[i].to == to;
	return k;
}

/* The steps of explored paths, and those into prunes (what the oracle follows the run along). */
static void test_steps(void)
{
	struct vlog v = load("varoff-branch-prune");
	/* "21: (05) goto pc+1" then "23: (0f) r0 += r5"; "from 19 to 22: ..." then "22: (b7) r5 = 2" then "23: safe" */
	CHECK(steps(v.steps, v.nsteps, 21, 23) == 1 && steps(v.steps, v.nsteps, 19, 22) == 1 &&
		      steps(v.steps, v.nsteps, 19, 20) == 1 && steps(v.steps, v.nsteps, 22, 23) == 0,
	      "varoff steps");
	CHECK(v.npruned_steps == 1 && v.pruned_steps[0].from == 22 && v.pruned_steps[0].to == 23, "varoff: 22 -> 23 pruned");
	vlog_free(&v);

	v = load("call-pass-stack-pointer");
	/* "12: (85) call pc+2", "caller:/callee:", "15: frame1: ..."; "17: (95) exit", "from 17 to 13: ...", "13: (79) ..." */
	CHECK(steps(v.steps, v.nsteps, 12, 15) == 1 && steps(v.steps, v.nsteps, 17, 13) == 1 && !v.npruned_steps,
	      "call and return steps");
	vlog_free(&v);

	v = load("loop-counter");
	/* "13: (55) if r3 != 0x0 goto pc-3" then "13: R3=2" ... "11: (0f) r0 += r3", three times; the last to 14 */
	CHECK(steps(v.steps, v.nsteps, 13, 11) == 2 && steps(v.steps, v.nsteps, 13, 14) == 1 &&
		      steps(v.steps, v.nsteps, 10, 11) == 1,
	      "back-edge steps");
	vlog_free(&v);

	v = load("bpf-loop-1");
	/* "16: R0=scalar()..." after "15: (85) call bpf_loop#181"; "from 15 to 17: frame1: ..."; "from 30 to 15: safe" twice */
	CHECK(steps(v.steps, v.nsteps, 15, 16) == 1 && steps(v.steps, v.nsteps, 15, 17) == 1 &&
		      steps(v.pruned_steps, v.npruned_steps, 30, 15) == 2 && v.npruned_steps == 2,
	      "bpf_loop: the callback's return is a step back to the call, pruned");
	vlog_free(&v);

	/* "23: (05) goto pc-14" (the case's call, to its trampoline) "10: (79) r1 = ..." "11: (85) call
	 * bpf_tail_call#12" "12:" "12: (05) goto pc+11" "24: (07) r6 += 1": with the prologue (19 insns)
	 * known, one step 23 -> 24 and none into bpfdiff's insns. */
	char path[] = "tests/unit/vlogs/tail-call-fall-through.log", err[160];
	char *text = slurp(path);
	CHECK(!vlog_parse_case(text, 19, &v, err, sizeof(err)), "%s", err);
	size_t inside = 0;
	for (size_t i = 0; i < v.nsteps; i++)
		inside += v.steps[i].from < 19 || v.steps[i].to < 19;
	CHECK(steps(v.steps, v.nsteps, 23, 24) == 1 && steps(v.steps, v.nsteps, 28, 29) == 1 &&
		      steps(v.steps, v.nsteps, 33, 34) == 1 && !inside && !v.npruned_steps,
	      "steps over the trampolines: %zu inside", inside);
	vlog_free(&v);
	CHECK(!vlog_parse(text, &v, err, sizeof(err)) && steps(v.steps, v.nsteps, 23, 10) == 1 &&
		      steps(v.steps, v.nsteps, 12, 24) == 1,
	      "without the prologue, the trampoline's steps");
	vlog_free(&v);
	free(text);
}

static void test_errors(void)
{
	struct vlog v;
	char err[160];
	CHECK(vlog_parse("0: R1=ctx() R10=fp0\n0: (b7) r0 = 1 ; R0=scalar(smin=x)\n", &v, err, sizeof(err)) < 0 &&
		      strstr(err, "line 2"),
	      "a state that cannot be read names its line: %s", err);
	CHECK(!vlog_parse("0: R1=ctx() R10=fp0\n0: (b7) r0 = 1 ; R0=1\n", &v, err, sizeof(err)) && !v.complete,
	      "a log without its last line is not complete");
	vlog_free(&v);
	/* Found by parse_fuzz: an insn number of 2^64-1 once made a zero-sized realloc (a double free). */
	CHECK(!vlog_parse("18446744073709551615: (b7) r0 = 1\nprocessed 1 insns\n", &v, err, sizeof(err)) && !v.n &&
		      v.complete,
	      "a number past the verifier's limit is no insn");
	vlog_free(&v);
	CHECK(vlog_parse("from 1 to 18446744073709551615: R0=1\n", &v, err, sizeof(err)) < 0 && strstr(err, "line 1"),
	      "a path resuming out of range is an error: %s", err);
}

/* helper-then-local-call.data; P = 9. "14: (85) call bpf_map_lookup_elem#1 ; R0=map_value(...)" clobbers r1-r5
 * (the line names only R0), and a "16: (85) call pc+1" line comes later in the log: that later local call
 * must not make the helper look local (a search past the end of the line did, and kept R2=fp-4). */
static void test_helper_then_local_call(void)
{
	struct vlog v = load("helper-then-local-call");
	const struct vlog_point *p[4];
	/* "15: (b7) r6 = 1": the state after the helper */
	CHECK(at(&v, 15, p, 4) == 1 && p[0]->r[0].kind == VLOG_MAP_VALUE, "r0 is the looked-up value before insn 15");
	for (int i = 1; i <= 5; i++)
		CHECK(at(&v, 15, p, 4) == 1 && p[0]->r[i].kind == VLOG_NONE, "r%d holds no claim after the helper", i);
	vlog_free(&v);
}

/* tail-call-r0-not-init.data; P = 13. "13: (b7) r0 = -1 ; R0=-1", then "11: (85) call bpf_tail_call#12" prints
 * nothing: the void helper leaves r0 not initialised (a fall-through's r0 is no claim), so the state before
 * "18: (b7) r0 = 3" claims nothing of r0..r5. */
static void test_void_helper(void)
{
	struct vlog v = load("tail-call-r0-not-init");
	const struct vlog_point *p[4];
	CHECK(at(&v, 13, p, 4) == 1 && p[0]->r[0].kind == VLOG_NONE, "r0 not initialised before insn 13");
	CHECK(at(&v, 14, p, 4) == 1 && is_const(&p[0]->r[0], UINT64_MAX), "r0 = -1 before insn 14");
	for (int i = 0; i <= 5; i++)
		CHECK(at(&v, 18, p, 4) == 1 && p[0]->r[i].kind == VLOG_NONE, "r%d holds no claim after the tail call", i);
	vlog_free(&v);
}

int main(void)
{
	test_values();
	test_varoff();
	test_loop();
	test_call();
	test_bpf_loop();
	test_helper_then_local_call();
	test_void_helper();
	test_steps();
	test_errors();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
