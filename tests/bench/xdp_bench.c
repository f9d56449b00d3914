/* SPDX-License-Identifier: MIT */
/*
 * Speed of the xdp backend (the eBPF-on-eBPF VM), two figures:
 *   ns/guest-insn: summed BPF_PROG_TEST_RUN duration / guest instructions of a loop benchmark
 *   cases/s:       wall-clock rate of whole 10-instruction cases through bd_backend_xdp.run on one core
 * Each is the best of 3 rounds: the machine is shared and the minimum is the stable figure.
 * Usage: xdp_bench [LOOP_ITERATIONS [CASES]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness/backend.h"

#define I(op, d, s, o, i) ((struct ebpf_insn){ .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) })

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 3000000;
	long ncases = argc > 2 ? atol(argv[2]) : 300000;
	struct bd_backend_config cfg = { .cpu = 4 };
	struct bd_backend *b;
	char why[512];
	if (bd_backend_xdp.open(&b, &cfg, why, sizeof(why))) {
		fprintf(stderr, "xdp_bench: xdp backend unavailable: %s\n", why);
		return 77;
	}

	/* The loop benchmark (also in tests/bench/xdp.sh's description). */
	struct ebpf_insn loop[] = {
		I(0xb7, 0, 0, 0, 0), I(0xb7, 1, 0, 0, 0), I(0xb7, 2, 0, 0, 0x12345), I(0xb7, 3, 0, 0, (int)iters),
		I(0x7b, 10, 0, -8, 0),        /* loop: stxdw [r10-8], r0 */
		I(0x79, 4, 10, -8, 0),        /* ldxdw r4, [r10-8] */
		I(0x0f, 4, 1, 0, 0),          /* add r4, r1 */
		I(0xaf, 4, 2, 0, 0),          /* xor r4, r2 */
		I(0xbf, 5, 4, 0, 0),          /* mov r5, r4 */
		I(0x77, 5, 0, 0, 7),          /* rsh r5, 7 */
		I(0x27, 4, 0, 0, 0x2545f491), /* mul r4, 0x2545f491 */
		I(0xaf, 4, 5, 0, 0),          /* xor r4, r5 */
		I(0xbf, 0, 4, 0, 0),          /* mov r0, r4 */
		I(0x07, 1, 0, 0, 1),          /* add r1, 1 */
		I(0xad, 1, 3, -11, 0),        /* jlt r1, r3, loop */
		I(0x95, 0, 0, 0, 0),
	};
	unsigned long long r0 = 0;
	for (unsigned long long r1 = 0; r1 < (unsigned long long)iters; r1++) {
		unsigned long long r4 = (r0 + r1) ^ 0x12345, r5 = r4 >> 7;
		r0 = (r4 * 0x2545f491ull) ^ r5;
	}
	struct bd_case c = { 0 };
	struct bd_run_opts o;
	struct bd_result res = { 0 };
	bd_run_opts_default(&o);
	o.budget = 1ull << 40;
	c.path = "loop";
	c.insns = loop;
	c.ninsns = sizeof(loop) / sizeof(loop[0]);
	double best_ns = 1e9;
	unsigned long long ninsns = 0;
	for (int round = 0; round < 3; round++) {
		if (bd_backend_xdp.run(b, &c, &o, &res) || res.status != BD_OK || res.r0 != r0) {
			fprintf(stderr, "xdp_bench: loop benchmark went wrong: %s r0 0x%llx (want 0x%llx) %s\n",
				bd_status_name(res.status), (unsigned long long)res.r0, r0, res.message);
			return 1;
		}
		if ((double)res.duration_ns / res.insns < best_ns)
			best_ns = (double)res.duration_ns / res.insns;
		ninsns = res.insns;
		bd_result_reset(&res);
	}
	printf("xdp: ns/guest-insn %.2f (loop benchmark, %llu guest insns)\n", best_ns, ninsns);

	/* 10-instruction cases with 8 bytes of memory, one after another. */
	unsigned char mem[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ebpf_insn ten[] = {
		I(0x79, 0, 1, 0, 0), I(0x07, 0, 0, 0, 3), I(0x27, 0, 0, 0, 7), I(0xbf, 3, 0, 0, 0),
		I(0x77, 3, 0, 0, 5), I(0xaf, 0, 3, 0, 0), I(0x7b, 1, 0, 0, 0), I(0x3f, 0, 2, 0, 0),
		I(0x57, 0, 0, 0, 0xffff), I(0x95, 0, 0, 0, 0),
	};
	bd_run_opts_default(&o);
	c.path = "ten";
	c.insns = ten;
	c.ninsns = 10;
	c.mem = mem;
	c.mem_len = sizeof(mem);
	double best = 0;
	for (int round = 0; round < 3; round++) {
		double t0 = now();
		for (long i = 0; i < ncases / 3; i++) {
			mem[0] = (unsigned char)i;
			if (bd_backend_xdp.run(b, &c, &o, &res) || res.status != BD_OK || res.insns != 10) {
				fprintf(stderr, "xdp_bench: 10-insn case went wrong: %s\n", res.message);
				return 1;
			}
			bd_result_reset(&res);
		}
		double rate = (ncases / 3) / (now() - t0);
		if (rate > best)
			best = rate;
	}
	printf("xdp: cases/s %.0f (10-insn cases, one core)\n", best);
	bd_backend_xdp.close(b);
	return 0;
}
