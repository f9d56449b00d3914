/* SPDX-License-Identifier: MIT */
/*
 * Kernel backend benchmark: (a) the raw-syscall floor, bpf(BPF_PROG_LOAD) of
 * a 10-insn XDP program + BPF_PROG_TEST_RUN with the packet read back +
 * close, through syscall(2); (b) the same 10-insn case through
 * bd_backend_kernel.run (64 bytes of memory); then fd count and RSS around
 * N cases (default 100000, KERNEL_BENCH_CASES) through the backend.
 * Rounds of (a) and (b) alternate so that other load on the machine hits both.
 */
#include <dirent.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "harness/backend.h"


static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", "..", the DIR's own fd */
}

/* VmRSS or RssAnon (heap: what a leak grows) from /proc/self/status, KiB. */
static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atol(line + kl + 1);
	fclose(f);
	return v;
}

/* r0 = 1; r0 += 2 .. 9; exit */
static void body(struct bpf_insn *p)
{
	for (int i = 0; i < 9; i++)
		p[i] = (struct bpf_insn){ .code = i ? BPF_ALU64 | BPF_ADD | BPF_K : BPF_ALU64 | BPF_MOV | BPF_K,
					  .imm = i + 1 };
	p[9] = (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
}

static int raw_case(const struct bpf_insn *p, unsigned char *pkt, unsigned char *out)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (unsigned long)p;
	a.insn_cnt = 10;
	a.license = (unsigned long)"GPL";
	int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (unsigned)fd;
	a.test.data_in = (unsigned long)pkt;
	a.test.data_size_in = 64;
	a.test.data_out = (unsigned long)out;
	a.test.data_size_out = 64;
	a.test.repeat = 1;
	int rc = (int)syscall(__NR_bpf, BPF_PROG_TEST_RUN, &a, sizeof(a));
	close(fd);
	return rc < 0 || a.test.retval != 45 ? -1 : 0;
}

int main(int argc, char **argv)
{
	long ncases = getenv("KERNEL_BENCH_CASES") ? atol(getenv("KERNEL_BENCH_CASES")) : 100000;
	int rounds = argc > 1 ? atoi(argv[1]) : 10, per = 1000;
	struct bpf_insn prog[10];
	unsigned char pkt[64] = { 0 }, out[64];
	uint8_t mem[64] = { 0 };
	char why[256];
	struct bd_backend *b;
	struct bd_backend_config cfg = { .cpu = 4 };

	body(prog);
	if (bd_backend_kernel.open(&b, &cfg, why, sizeof(why))) {
		printf("kernel backend unavailable: %s (skipped)\n", why);
		return 0;
	}
	struct bd_case c = { .insns = (struct ebpf_insn *)prog, .ninsns = 10, .mem = mem, .mem_len = sizeof(mem) };
	struct bd_run_opts o = { .cpu = 4 };
	struct bd_result r = { 0 };
	double traw = 0, tbk = 0;

	bd_backend_kernel.run(b, &c, &o, &r); /* warm: map created */
	if (r.status != BD_OK || r.r0 != 45) {
		fprintf(stderr, "backend run: %s %s r0 %llu\n", bd_status_name(r.status), r.message,
			(unsigned long long)r.r0);
		return 1;
	}
	for (int k = 0; k < rounds; k++) {
		double t0 = now();
		for (int i = 0; i < per; i++)
			if (raw_case(prog, pkt, out)) {
				perror("raw case");
				return 1;
			}
		double t1 = now();
		for (int i = 0; i < per; i++) {
			bd_result_reset(&r);
			if (bd_backend_kernel.run(b, &c, &o, &r) || r.status != BD_OK) {
				fprintf(stderr, "backend run: %s %s\n", bd_status_name(r.status), r.message);
				return 1;
			}
		}
		double t2 = now();
		traw += t1 - t0;
		tbk += t2 - t1;
	}
	double n = (double)rounds * per;
	printf("raw syscalls (load+run+read back+close): %8.0f cases/s  %6.1f us/case\n", n / traw, traw / n * 1e6);
	printf("bd_backend_kernel.run:                   %8.0f cases/s  %6.1f us/case\n", n / tbk, tbk / n * 1e6);
	printf("backend / floor: %.0f %%\n", 100.0 * traw / tbk);

	/* Steady state first: every size, so the map cache is full and its
	 * mappings (16 pages of RssFile) are counted before. */
	for (long i = 0; i < 1000; i++) {
		bd_result_reset(&r);
		c.mem_len = 1 + (size_t)(i % 64);
		bd_backend_kernel.run(b, &c, &o, &r);
	}
	int fd0 = count_fds();
	long rss0 = status_kb("VmRSS"), anon0 = status_kb("RssAnon");
	for (long i = 0; i < ncases; i++) {
		bd_result_reset(&r);
		c.mem_len = 1 + (size_t)(i % 64); /* varied sizes: the map cache evicts */
		bd_backend_kernel.run(b, &c, &o, &r);
		if (r.status != BD_OK) {
			fprintf(stderr, "case %ld: %s %s\n", i, bd_status_name(r.status), r.message);
			return 1;
		}
	}
	bd_result_reset(&r);
	int fd1 = count_fds();
	long rss1 = status_kb("VmRSS"), anon1 = status_kb("RssAnon");
	printf("%ld cases through the backend: fds %d -> %d, RSS %ld -> %ld KiB (anon %ld -> %ld KiB)\n", ncases, fd0,
	       fd1, rss0, rss1, anon0, anon1);
	bd_backend_kernel.close(b);
	return fd1 > fd0 || anon1 > anon0 + 256 ? 1 : 0;
}
