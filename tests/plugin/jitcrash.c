/* SPDX-License-Identifier: MIT */
/*
 * jitcrash: a test plugin (bpf_conformance contract) that stands for a JIT
 * with a crash bug. It segfaults — a real write through a NULL pointer — on
 * one instruction pattern, `lsh64 rX, 32` directly followed by
 * `arsh64 rX, 32` on the same register (the sign-extension idiom a JIT
 * peephole turns into movsxd), and runs every other program with
 * `bpfdiff plugin --backend uvm`, so that it agrees with the uvm everywhere
 * else. tests/test_plugin.py drives the whole chain with it: crash status,
 * discrepancy signed with the signal, `bpfdiff minimize`, fuzz finds.
 *
 *   jitcrash [MEMORY_HEX] [OPTIONS...]   program hex on stdin, R0 hex on stdout
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef BPFDIFF_PATH
#define BPFDIFF_PATH "build/bpfdiff"
#endif

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text) - 1, stdin);
	text[len] = '\0';

	/* The program's bytes; whitespace separates them, as the runner writes them. */
	static unsigned char prog[sizeof(text) / 2];
	size_t n = 0;
	for (const char *p = text; *p;) {
		if (hexval((unsigned char)p[0]) >= 0 && hexval((unsigned char)p[1]) >= 0) {
			prog[n++] = (unsigned char)(hexval((unsigned char)p[0]) << 4 | hexval((unsigned char)p[1]));
			p += 2;
		} else if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
			p++;
		} else {
			fprintf(stderr, "error: jitcrash: invalid program text at offset %zu\n", (size_t)(p - text));
			return 2;
		}
	}
	if (!n || n % 8) {
		fprintf(stderr, "error: jitcrash: program is %zu bytes, not a non-zero multiple of 8\n", n);
		return 2;
	}

	size_t ninsns = n / 8;
	for (size_t i = 0; i + 1 < ninsns; i++) {
		const unsigned char *a = prog + 8 * i, *b = a + 8;
		int imm_a = a[4] | a[5] << 8 | a[6] << 16 | a[7] << 24;
		int imm_b = b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24;
		if (a[0] == 0x18) { /* lddw: skip its second slot */
			i++;
			continue;
		}
		/* 0x67 = ALU64 | K | LSH, 0xc7 = ALU64 | K | ARSH; dst in the low nibble. */
		if (a[0] == 0x67 && b[0] == 0xc7 && (a[1] & 15) == (b[1] & 15) && imm_a == 32 && imm_b == 32) {
			struct rlimit none = { 0, 0 };
			setrlimit(RLIMIT_CORE, &none); /* a test crash needs no core file */
			volatile int *volatile nowhere = NULL;
			*nowhere = 1;
		}
	}

	/* Everything else: the uvm's answer, with the program on the command line. */
	char *hex = malloc(n * 2 + 1);
	if (!hex)
		return 2;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", prog[i]);
	char *args[8];
	int k = 0;
	args[k++] = BPFDIFF_PATH;
	args[k++] = "plugin";
	args[k++] = "--backend=uvm";
	args[k++] = "--program";
	args[k++] = hex;
	if (argc > 1 && strncmp(argv[1], "--", 2))
		args[k++] = argv[1];
	args[k] = NULL;
	execv(args[0], args);
	fprintf(stderr, "error: jitcrash: cannot run %s: %s\n", args[0], strerror(errno));
	return 2;
}
