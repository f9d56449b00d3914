/* SPDX-License-Identifier: MIT */
/* Unit tests of the kernel backend. Needs root (or CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN); without
 * it the test prints why and exits 77 (tests/test_unit.py: skipped, a failure under CI=true). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness/backend.h"
#include "check.h"

static struct bd_backend *kb;

static struct ebpf_insn I(unsigned op, unsigned dst, unsigned src, int off, int imm)
{
	struct ebpf_insn i = { .opcode = (ebpf_u8)op, .dst = dst & 15, .src = src & 15, .off = (ebpf_s16)off, .imm = imm };
	return i;
}
#define LDDW(dst, v) I(0x18, dst, 0, 0, (int)(unsigned)(v)), I(0, 0, 0, 0, (int)(unsigned)((unsigned long long)(v) >> 32))
#define EXIT I(0x95, 0, 0, 0, 0)

static int run(struct ebpf_insn *insns, size_t n, uint8_t *mem, size_t mem_len, struct bd_result *res)
{
	struct bd_case c = { .insns = insns, .ninsns = n, .mem = mem, .mem_len = mem_len };
	struct bd_run_opts o = { .cpu = 4 };
	bd_result_reset(res);
	return bd_backend_kernel.run(kb, &c, &o, res);
}
#define RUN(prog, mem, len, res) run(prog, sizeof(prog) / sizeof(prog[0]), mem, len, res)

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_r0_64(void)
{
	struct bd_result r = { 0 };
	struct ebpf_insn p[] = { LDDW(0, 0x8877665544332211ull), EXIT };
	CHECK(RUN(p, NULL, 0, &r) == 0 && r.status == BD_OK, "r0_64: %s %s", bd_status_name(r.status), r.message);
	CHECK(r.r0 == 0x8877665544332211ull, "r0_64: r0 %#llx", (unsigned long long)r.r0);
	bd_result_reset(&r);
}

static void test_mem_write(void)
{
	struct bd_result r = { 0 };
	uint8_t mem[9] = { 0 };
	struct ebpf_insn p[] = {
		I(0x62, 1, 0, 0, 0x11223344), /* stw [r1], 0x11223344 */
		I(0x72, 1, 0, 8, 0x5a),       /* stb [r1+8], 0x5a */
		I(0xbf, 0, 2, 0, 0),          /* r0 = r2 */
		EXIT,
	};
	CHECK(RUN(p, mem, sizeof(mem), &r) == 0 && r.status == BD_OK, "mem: %s %s", bd_status_name(r.status), r.message);
	CHECK(r.r0 == 9, "mem: r2 %llu", (unsigned long long)r.r0);
	CHECK(r.mem && r.mem_len == 9 && r.mem[0] == 0x44 && r.mem[3] == 0x11 && r.mem[4] == 0 && r.mem[8] == 0x5a,
	      "mem: bytes after run");
	CHECK(mem[0] == 0, "mem: the case's input was modified");
	/* Same size again: the map is reused and refilled from the case. */
	struct ebpf_insn q[] = { I(0x71, 0, 1, 0, 0), EXIT }; /* r0 = *(u8 *)r1 */
	RUN(q, mem, sizeof(mem), &r);
	CHECK(r.status == BD_OK && r.r0 == 0, "mem: stale memory %llu", (unsigned long long)r.r0);
	bd_result_reset(&r);
}

static void test_atomics(void)
{
	struct bd_result r = { 0 };
	uint8_t mem[16] = { 1 };
	struct ebpf_insn p[] = {
		I(0xb7, 2, 0, 0, 5),
		I(0xdb, 1, 2, 0, 0x00),   /* lock add [r1], r2 */
		I(0xb7, 3, 0, 0, 10),
		I(0xdb, 1, 3, 0, 0x01),   /* r3 = lock fetch add [r1], r3 */
		I(0xb7, 0, 0, 0, 7),
		I(0xb7, 4, 0, 0, 99),
		I(0xc3, 1, 4, 8, 0xf1),   /* cmpxchg32 [r1+8] (r0 = 7 != 0: no store, w0 = old 0) */
		I(0x0f, 0, 3, 0, 0),      /* r0 += r3 (6) */
		EXIT,
	};
	CHECK(RUN(p, mem, sizeof(mem), &r) == 0 && r.status == BD_OK, "atomics: %s %s", bd_status_name(r.status),
	      r.message);
	CHECK(r.r0 == 6, "atomics: r0 %llu", (unsigned long long)r.r0);
	CHECK(r.mem && r.mem[0] == 16 && r.mem[8] == 0, "atomics: mem %u %u", r.mem ? r.mem[0] : 0, r.mem ? r.mem[8] : 0);
	bd_result_reset(&r);
}

static void test_call_local(void)
{
	struct bd_result r = { 0 };
	struct ebpf_insn p[] = {
		I(0xb7, 1, 0, 0, 5),
		I(0x7a, 10, 0, -8, 1000), /* caller's [r10-8] */
		I(0x85, 0, 1, 0, 3),      /* call local -> 6 */
		I(0x79, 1, 10, -8, 0),
		I(0x0f, 0, 1, 0, 0),      /* r0 += caller's slot (callee did not alias it) */
		EXIT,
		I(0x7a, 10, 0, -8, 7),    /* callee's own [r10-8] */
		LDDW(0, 0x100000000ull),
		I(0x0f, 0, 1, 0, 0),
		EXIT,
	};
	CHECK(RUN(p, NULL, 0, &r) == 0 && r.status == BD_OK, "call_local: %s %s", bd_status_name(r.status), r.message);
	CHECK(r.r0 == 0x100000000ull + 5 + 1000, "call_local: r0 %#llx", (unsigned long long)r.r0);
	bd_result_reset(&r);
}

static void expect_rejected(const char *name, struct ebpf_insn *p, size_t n, uint8_t *mem, size_t len,
			    const char *want)
{
	struct bd_result r = { 0 };
	run(p, n, mem, len, &r);
	CHECK(r.status == BD_REJECTED && strstr(r.message, want), "%s: %s '%s' (want '%s')", name,
	      bd_status_name(r.status), r.message, want);
	bd_result_reset(&r);
}
#define REJ(name, prog, mem, len, want) expect_rejected(name, prog, sizeof(prog) / sizeof(prog[0]), mem, len, want)

static void test_rejections(void)
{
	uint8_t mem[4] = { 0 };
	struct ebpf_insn shift[] = { I(0xb7, 0, 0, 0, 1), I(0x64, 0, 0, 0, 60), EXIT };
	struct ebpf_insn div0[] = { I(0xb7, 0, 0, 0, 1), I(0x37, 0, 0, 0, 0), EXIT };
	struct ebpf_insn unknown[] = { I(0xb7, 0, 0, 0, 1), I(0xff, 0, 0, 0, 0), EXIT };
	struct ebpf_insn nullmem[] = { I(0x71, 0, 1, 0, 0), EXIT };
	struct ebpf_insn oob[] = { I(0x61, 0, 1, 4, 0), EXIT };
	struct ebpf_insn back[] = { I(0xb7, 0, 0, 0, 1), I(0x05, 0, 0, -5, 0), EXIT };
	struct ebpf_insn noexit[] = { I(0xb7, 0, 0, 0, 1), I(0x07, 0, 0, 0, 1) };
	struct ebpf_insn uninit[] = { I(0xbf, 0, 3, 0, 0), EXIT };
	struct ebpf_insn r0uninit[] = { EXIT };
	struct ebpf_insn badexit[] = { I(0xb7, 0, 0, 0, 1), I(0x95, 0, 0, 0, 1) };

	REJ("shift60", shift, NULL, 0, "invalid shift 60");
	REJ("div0", div0, NULL, 0, "div by zero");
	REJ("unknown", unknown, NULL, 0, "unknown opcode ff");
	REJ("mem_len 0 deref", nullmem, NULL, 0, "invalid mem access");
	REJ("out of bounds", oob, mem, sizeof(mem), "invalid access to map value");
	REJ("jump before start", back, NULL, 0, "jump out of range");
	REJ("no exit", noexit, NULL, 0, "last insn is not an exit or jmp");
	REJ("uninit reg", uninit, NULL, 0, "R3 !read_ok");
	REJ("uninit r0", r0uninit, NULL, 0, "R0 !read_ok");
	REJ("exit reserved", badexit, NULL, 0, "BPF_EXIT uses reserved fields");
	struct bd_result r = { 0 };
	run(shift, 3, NULL, 0, &r);
	CHECK(r.status == BD_REJECTED, "shift60 again: %s %s", bd_status_name(r.status), r.message);
	CHECK(strstr(r.message, "(case insn 1:"), "shift60: insn not named: %s", r.message);
	CHECK(!strchr(r.message, '\n'), "shift60: multi-line message");
	bd_result_reset(&r);
}

static void test_misc(void)
{
	struct bd_result r = { 0 };
	struct ebpf_insn len0[] = { I(0xbf, 0, 2, 0, 0), I(0x0f, 0, 1, 0, 0), EXIT }; /* r2 + r1 = 0 */
	RUN(len0, NULL, 0, &r);
	CHECK(r.status == BD_OK && r.r0 == 0 && !r.mem, "mem_len 0: %s r0 %llu", bd_status_name(r.status),
	      (unsigned long long)r.r0);
	struct ebpf_insn fp[] = { I(0xbf, 0, 10, 0, 0), EXIT };
	RUN(fp, NULL, 0, &r);
	CHECK(r.status == BD_OK && r.r0 > 0xffff000000000000ull, "r0 = r10: %s %s", bd_status_name(r.status),
	      r.message);
	struct ebpf_insn map[] = { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0), I(0xb7, 0, 0, 0, 0), EXIT };
	RUN(map, NULL, 0, &r);
	CHECK(r.status == BD_UNSUPPORTED, "map fd: %s %s", bd_status_name(r.status), r.message);
	/* The same again: a refusal leaves nothing behind that changes the next answer. */
	CHECK(RUN(map, NULL, 0, &r) == 0 && r.status == BD_UNSUPPORTED && strstr(r.message, "lddw"),
	      "map fd again: %s %s", bd_status_name(r.status), r.message);
	/* Exits inside an untaken branch and a conditional one. */
	struct ebpf_insn two[] = { I(0xb7, 0, 0, 0, 3), I(0x55, 0, 0, 3, 3), LDDW(0, 0xfffffffffffffff0ull), EXIT,
				   I(0xb7, 0, 0, 0, 4), EXIT };
	RUN(two, NULL, 0, &r);
	CHECK(r.status == BD_OK && r.r0 == 0xfffffffffffffff0ull, "two exits: %s %s %#llx", bd_status_name(r.status), r.message, (unsigned long long)r.r0);
	/* Main function longer than a 16-bit jump: its exit becomes gotol. */
	size_t big = 40000;
	struct ebpf_insn *lp = calloc(big, sizeof(*lp));
	lp[0] = I(0xb7, 0, 0, 0, 1);
	for (size_t i = 1; i < big - 1; i++)
		lp[i] = I(0x07, 0, 0, 0, 1);
	lp[big - 1] = EXIT;
	run(lp, big, NULL, 0, &r);
	CHECK(r.status == BD_OK && r.r0 == big - 1, "gotol exit: %s %s r0 %llu", bd_status_name(r.status), r.message,
	      (unsigned long long)r.r0);
	free(lp);
	bd_result_reset(&r);
}

static void test_fd_loop(void)
{
	struct bd_result r = { 0 };
	uint8_t mem[64] = { 0 };
	struct ebpf_insn ok[] = { I(0x72, 1, 0, 0, 1), I(0xb7, 0, 0, 0, 1), EXIT };
	struct ebpf_insn bad[] = { I(0xb7, 0, 0, 0, 1), I(0x64, 0, 0, 0, 60), EXIT };

	/* Warm up every size used below: the map cache is part of the steady state. */
	int warm = 0;
	for (int i = 0; i < 40; i++)
		warm += RUN(ok, mem, 1 + (size_t)(i % 20), &r) == 0 && r.status == BD_OK && r.r0 == 1;
	CHECK(warm == 40, "warm-up: %d of 40 ok", warm);
	int before = count_fds();
	int okn = 0;
	for (int i = 0; i < 1000; i++) {
		if (i % 5 == 4)
			RUN(bad, NULL, 0, &r);
		else
			okn += RUN(ok, mem, 1 + (size_t)(i % 20), &r) == 0 && r.status == BD_OK &&
			       r.mem_len == 1 + (size_t)(i % 20) && r.mem[0] == 1 && r.mem[r.mem_len - 1] == (r.mem_len == 1);
	}
	/* 40 distinct sizes > the cache: eviction closes maps too, and hands out fresh ones. */
	int evicted_ok = 0;
	for (int i = 0; i < 200; i++)
		evicted_ok += RUN(ok, mem, 1 + (size_t)(i % 40), &r) == 0 && r.status == BD_OK && r.r0 == 1 &&
			      r.mem_len == 1 + (size_t)(i % 40) && r.mem[0] == 1;
	CHECK(evicted_ok == 200, "eviction loop: %d of 200 ok", evicted_ok);
	int after = count_fds();
	CHECK(okn == 800, "loop: %d ok", okn);
	CHECK(after <= before, "loop: fds %d -> %d", before, after);
	printf("1000-case loop: fds %d -> %d\n", before, after);
	bd_result_reset(&r);
}

/* Without privilege open() must fail with a reason, not crash. */
static void test_unprivileged(void)
{
	int pfd[2];
	if (pipe(pfd))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char why[256] = "";
		struct bd_backend *b = NULL;
		struct bd_backend_config cfg = { .cpu = 4 };
		close(pfd[0]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		int rc = bd_backend_kernel.open(&b, &cfg, why, sizeof(why));
		if (write(pfd[1], why, strlen(why) + 1) < 0)
			_exit(4);
		_exit(rc < 0 && !b && why[0] ? 0 : 1);
	}
	close(pfd[1]);
	char why[256] = "";
	ssize_t n = read(pfd[0], why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged open: exit %d why '%s'", WEXITSTATUS(st), why);
	CHECK(strstr(why, "not permitted") != NULL, "unprivileged open: why '%s'", why);
	printf("unprivileged open: %s\n", why);
}

int main(void)
{
	char why[256] = "";
	struct bd_backend_config cfg = { .cpu = 4, .verbose = getenv("V") != NULL };
	int rc = bd_backend_kernel.open(&kb, &cfg, why, sizeof(why));
	if (rc < 0) {
		/* 77: could not run here for want of privilege; tests/test_unit.py
		 * makes that a skip, and a failure under CI=true. */
		printf("test_kernel: kernel backend unavailable: %s\n", why);
		return rc == -EPERM || rc == -EACCES ? 77 : 1;
	}
	struct bd_backend *bad = NULL;
	struct bd_backend_config badcfg = { .cpu = 4, .arg = "nonsense" };
	CHECK(bd_backend_kernel.open(&bad, &badcfg, why, sizeof(why)) == -EINVAL && !bad, "bad arg accepted");

	test_r0_64();
	test_mem_write();
	test_atomics();
	test_call_local();
	test_rejections();
	test_misc();
	test_fd_loop();
	test_unprivileged();
	if (getenv("V"))
		bd_backend_kernel.info(kb, stdout);
	bd_backend_kernel.close(kb);

	/* socket_filter type works too. */
	struct bd_backend_config sf = { .cpu = 4, .arg = "socket_filter" };
	struct bd_backend *b2 = NULL;
	CHECK(bd_backend_kernel.open(&b2, &sf, why, sizeof(why)) == 0, "socket_filter open: %s", why);
	if (b2) {
		kb = b2;
		test_r0_64();
		test_atomics();
		bd_backend_kernel.close(b2);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
