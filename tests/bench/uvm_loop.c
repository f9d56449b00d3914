/* SPDX-License-Identifier: MIT */
/*
 * uvm speed: a loop of 11 guest instructions (a stack store and load, ALU, a
 * backward branch) run N times with bounds checks on, as ubpf's benchmark.
 * usage: uvm_loop [N [REPS]]; prints guest insns and the best ns/guest-insn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "vm/uvm.h"

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;
	int reps = argc > 2 ? atoi(argv[2]) : 1;
	if (n < 1 || n > 0x7fffffff || reps < 1) {
		fprintf(stderr, "usage: %s [N [REPS]]\n", argv[0]);
		return 2;
	}
	const struct ebpf_insn prog[] = {
		I(0xb7, 0, 0, 0, 0),          /* mov %r0, 0 */
		I(0xb7, 1, 0, 0, 0),          /* mov %r1, 0 */
		I(0xb7, 2, 0, 0, 0x12345),    /* mov %r2, 0x12345 */
		I(0xb7, 3, 0, 0, (int)n),     /* mov %r3, N */
		I(0x7b, 10, 0, -8, 0),        /* loop: stxdw [%r10-8], %r0 */
		I(0x79, 4, 10, -8, 0),        /* ldxdw %r4, [%r10-8] */
		I(0x0f, 4, 1, 0, 0),          /* add %r4, %r1 */
		I(0xaf, 4, 2, 0, 0),          /* xor %r4, %r2 */
		I(0xbf, 5, 4, 0, 0),          /* mov %r5, %r4 */
		I(0x77, 5, 0, 0, 7),          /* rsh %r5, 7 */
		I(0x27, 4, 0, 0, 0x2545f491), /* mul %r4, 0x2545f491 */
		I(0xaf, 4, 5, 0, 0),          /* xor %r4, %r5 */
		I(0xbf, 0, 4, 0, 0),          /* mov %r0, %r4 */
		I(0x07, 1, 0, 0, 1),          /* add %r1, 1 */
		I(0xad, 1, 3, -11, 0),        /* jlt %r1, %r3, loop */
		I(0x95, 0, 0, 0, 0),          /* exit */
	};
	struct uvm_opts o = { .sz = sizeof(o), .budget = ~0ULL };
	struct uvm *vm = uvm_create(&o);
	char err[256];
	unsigned char mem[16] = { 0 };
	if (!vm || uvm_load(vm, prog, sizeof(prog) / sizeof(prog[0]), err, sizeof(err)) < 0) {
		fprintf(stderr, "load: %s\n", vm ? err : "no memory");
		return 1;
	}
	double best = 0;
	struct uvm_result res = { 0 };
	for (int i = 0; i < reps; i++) {
		double t0 = now_ns();
		if (uvm_run(vm, mem, sizeof(mem), &res) < 0 || res.status != UVM_OK) {
			fprintf(stderr, "run: %s\n", res.message);
			return 1;
		}
		double t = now_ns() - t0;
		if (!i || t < best)
			best = t;
	}
	printf("guest insns %llu\n", (unsigned long long)res.insns);
	printf("r0 0x%llx\n", (unsigned long long)res.r0);
	printf("ns/guest-insn %.3f\n", best / (double)res.insns);
	uvm_destroy(vm);
	return 0;
}
