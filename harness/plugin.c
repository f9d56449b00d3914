/* SPDX-License-Identifier: MIT */
/*
 * `bpfdiff plugin`: any bpfdiff backend behind the bpf_conformance plugin
 * contract, so bpf_conformance's runner (or anything else that drives ubpf's
 * ubpf_plugin) can run its suite on uvm, the kernel or the xdp VM.
 *
 * The contract, as bpf_conformance's runner speaks it (src/bpf_conformance.cc):
 *   argv:   PLUGIN [MEMORY_HEX] [PLUGIN_OPTIONS...] [--elf]
 *           MEMORY_HEX is one argument, bytes as "%02x" separated by spaces,
 *           present only when the test has memory; the runner splits
 *           --plugin_options on single spaces (so empty tokens can occur) and
 *           older runners pass them as one argument, always after the memory.
 *   stdin:  the program, bytes as hex separated by spaces, then a newline.
 *   stdout: R0 as hex (the runner parses it with std::stoull(s, 0, 16)).
 *   exit:   non-zero on any error; the runner then reports stdout, or stderr
 *           when stdout is empty.
 * Like ubpf_plugin we print R0 as lowercase hex without 0x. Errors go to
 * stderr as "STATUS: message" (STATUS = bpfdiff's status name: fault,
 * rejected, unsupported, ...), which backend_plugin.c maps back, so one
 * bpfdiff can drive another. Exit codes: 0 ok, 1 the VM did not return a
 * result, 2 usage or input error.
 *
 * The runner puts the memory *before* the plugin options, so it runs
 * `bpfdiff MEMORY_HEX plugin --backend B` when given --plugin_path bpfdiff
 * --plugin_options "plugin --backend B": main.c routes that argv shape here
 * and we skip a positional "plugin" word wherever it stands. No wrapper.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asm.h"
#include "backend.h"
#include "case.h"
#include "helpers.h"
#include "cli.h"
#include "session.h"
#include "vm/isa.h"

#define PLUGIN_MAX_INPUT (64u << 20) /* hex text on stdin */

static void plugin_usage(FILE *out)
{
	fputs("usage: bpfdiff plugin [--backend B] [--program HEX] [--cpu vN] [--isa P] [--platform linux|ubpf] [MEMORY_HEX]\n"
	      "\n"
	      "Runs one program on backend B (uvm by default; kernel, xdp, plugin:PATH) and speaks\n"
	      "the bpf_conformance plugin contract:\n"
	      "  stdin       the program as hex bytes (whitespace free), unless --program is given\n"
	      "  MEMORY_HEX  the input memory as one argument of hex bytes, e.g. \"aa bb 11\"\n"
	      "  stdout      R0 as hex (no 0x) and a newline\n"
	      "  stderr      \"STATUS: message\" when the VM returns no result (fault, rejected, crash, ...)\n"
	      "  exit        0 ok, 1 no result from the VM, 2 usage or input error\n"
	      "\n"
	      "bpf_conformance's runner drives it directly (it passes the memory first):\n"
	      "  bpf_conformance_runner --plugin_path bpfdiff --plugin_options \"plugin --backend xdp\" ...\n"
	      "With --backend xdp the loaded VM is pinned in bpffs and shared by later processes\n"
	      "(BPFDIFF_XDP_PIN=0: load a private one).\n",
	      out);
}

/* Whitespace-separated tokens of an even number of hex digits ("aa bb",
 * "aabb", "aa\nbb"); a token may not be split across a byte. */
static int parse_hex(const char *what, const char *s, uint8_t **out, size_t *outlen)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf) {
		fprintf(stderr, "bpfdiff plugin: out of memory\n");
		return -ENOMEM;
	}
	for (const char *p = s; *p;) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f') {
			p++;
			continue;
		}
		const char *tok = p;
		while (*p && bd_hex_digit((unsigned char)*p) >= 0)
			p++;
		if (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')) {
			fprintf(stderr, "bpfdiff plugin: %s: invalid hex character '%c' at offset %zu\n",
				what, (*p >= 0x20 && *p < 0x7f) ? *p : '?', (size_t)(p - s));
			free(buf);
			return -EINVAL;
		}
		if ((p - tok) % 2) {
			fprintf(stderr, "bpfdiff plugin: %s: odd number of hex digits in '%.*s'\n", what,
				(int)((p - tok) > 40 ? 40 : (p - tok)), tok);
			free(buf);
			return -EINVAL;
		}
		for (; tok < p; tok += 2)
			buf[n++] = (uint8_t)(bd_hex_digit((unsigned char)tok[0]) << 4 | bd_hex_digit((unsigned char)tok[1]));
	}
	*out = buf;
	*outlen = n;
	return 0;
}

static char *read_all_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		if (cap - len < 2) {
			if (cap >= PLUGIN_MAX_INPUT) {
				fprintf(stderr, "bpfdiff plugin: program on stdin exceeds %u bytes\n",
					PLUGIN_MAX_INPUT);
				free(buf);
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(STDIN_FILENO, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "bpfdiff plugin: reading stdin: %s\n", strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fprintf(stderr, "bpfdiff plugin: NUL byte in the program text on stdin\n");
		free(buf);
		return NULL;
	}
	return buf;
}

static int parse_cpu(const char *s)
{
	if (s[0] == 'v' || s[0] == 'V')
		s++;
	if (s[0] >= '1' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

/* Expand argv: an option argument holding spaces ("--backend kernel", as
 * runners that pass --plugin_options as one argument do) becomes its words.
 * Positional arguments are kept whole: the memory is hex with spaces. */
static char **expand_args(int argc, char **argv, int *nout, char **storage)
{
	size_t total = 0;
	int n = 0;

	for (int i = 1; i < argc; i++)
		total += strlen(argv[i]) + 1;
	char **v = calloc((size_t)argc * 2 + total + 1, sizeof(*v));
	char *store = malloc(total + 1);
	if (!v || !store) {
		free(v);
		free(store);
		return NULL;
	}
	char *sp = store;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !strpbrk(a, " \t")) {
			v[n++] = argv[i];
			continue;
		}
		size_t len = strlen(a);
		memcpy(sp, a, len + 1);
		for (char *w = strtok(sp, " \t"); w; w = strtok(NULL, " \t"))
			v[n++] = w;
		sp += len + 1;
	}
	*nout = n;
	*storage = store;
	return v;
}

int bd_cmd_plugin(int argc, char **argv)
{
	const char *backend = "uvm", *program_hex = NULL, *memory_hex = NULL;
	int cpu = 4, isa = EBPF_ISA_LINUX, rc = 2, nargs = 0;
	const char *platform = NULL;
	char *storage = NULL, *stdin_text = NULL;
	uint8_t *prog = NULL, *mem = NULL;
	size_t prog_len = 0, mem_len = 0;
	struct bd_case c;
	bool session_open = false;
	struct bd_session s;
	struct bd_outcome o;
	char err[512] = "";

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	char **args = expand_args(argc, argv, &nargs, &storage);
	if (!args) {
		fprintf(stderr, "bpfdiff plugin: out of memory\n");
		return 2;
	}

	bool options_done = false;
	for (int i = 0; i < nargs; i++) {
		const char *a = args[i], *val = NULL;
		size_t nl;

		if (!options_done && a[0] == '-' && a[1] != '\0') {
			if (!strcmp(a, "--")) {
				options_done = true;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				plugin_usage(stdout);
				rc = 0;
				goto out;
			}
			if (!strcmp(a, "--elf")) {
				fprintf(stderr, "bpfdiff plugin: --elf: ELF input is not supported; "
						"give the instructions as hex\n");
				goto out;
			}
			const char *eq = strchr(a, '=');
			nl = eq ? (size_t)(eq - a) : strlen(a);
			if (!(nl == 9 && !strncmp(a, "--backend", nl)) &&
			    !(nl == 9 && !strncmp(a, "--program", nl)) &&
			    !(nl == 5 && !strncmp(a, "--isa", nl)) &&
			    !(nl == 10 && !strncmp(a, "--platform", nl)) &&
			    !(nl == 5 && !strncmp(a, "--cpu", nl)) &&
			    !(nl == 13 && !strncmp(a, "--cpu_version", nl))) {
				fprintf(stderr, "bpfdiff plugin: unknown option '%s' (see --help)\n", a);
				goto out;
			}
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < nargs) {
				val = args[++i];
			} else {
				fprintf(stderr, "bpfdiff plugin: option %s needs a value\n", a);
				goto out;
			}
			if (a[2] == 'b') {
				backend = val;
			} else if (nl == 10) {
				platform = val;
				if (bd_platform_lookup(val) < 0) {
					fprintf(stderr, "bpfdiff plugin: invalid platform '%s' (linux, ubpf)\n", val);
					goto out;
				}
			} else if (a[2] == 'p') {
				program_hex = val;
			} else if (a[2] == 'i') {
				if (!(isa = ebpf_isa_lookup(val))) {
					fprintf(stderr, "bpfdiff plugin: --isa takes rfc9669 or linux, not '%s'\n", val);
					goto out;
				}
			} else if ((cpu = parse_cpu(val)) < 0) {
				fprintf(stderr, "bpfdiff plugin: invalid cpu version '%s' (v1..v4)\n", val);
				goto out;
			}
			continue;
		}
		/* Empty tokens come from runners splitting "" or "a  b" on spaces. */
		if (a[0] == '\0' || !strcmp(a, "plugin"))
			continue;
		if (memory_hex) {
			fprintf(stderr, "bpfdiff plugin: unexpected argument '%.60s' (memory is one argument)\n", a);
			goto out;
		}
		memory_hex = a;
	}

	if (!*backend || strchr(backend, ',')) {
		fprintf(stderr, "bpfdiff plugin: --backend takes exactly one backend, not '%s'\n", backend);
		goto out;
	}
	if (!program_hex) {
		stdin_text = read_all_stdin();
		if (!stdin_text)
			goto out;
		program_hex = stdin_text;
	}
	if (parse_hex("program", program_hex, &prog, &prog_len) < 0)
		goto out;
	if (prog_len == 0) {
		fprintf(stderr, "bpfdiff plugin: no program: give the bytecode as hex on stdin or with --program\n");
		goto out;
	}
	if (prog_len % sizeof(struct ebpf_insn)) {
		fprintf(stderr, "bpfdiff plugin: program is %zu bytes, not a multiple of %zu\n", prog_len,
			sizeof(struct ebpf_insn));
		goto out;
	}
	if (memory_hex && parse_hex("memory", memory_hex, &mem, &mem_len) < 0)
		goto out;

	/* The wire format is the in-memory layout of struct ebpf_insn on a
	 * little-endian host (dst in the low nibble). */
	c.path = (char *)"<plugin>";
	c.ninsns = prog_len / sizeof(struct ebpf_insn);
	c.insns = (struct ebpf_insn *)prog;
	/* Never NULL, as the .data parser gives it: backends may memcpy from it. */
	static uint8_t no_memory[1];
	c.mem = mem ? mem : no_memory;
	c.mem_len = mem_len;

	/* One case per process: the xdp VM is shared through its pin, not loaded each time. */
	struct bd_backend_config cfg = { .cpu = cpu, .isa = isa, .arg = NULL, .verbose = false, .share = true,
					  .platform = platform };
	int e = bd_session_open(&s, backend, &cfg, err, sizeof(err));
	if (e < 0) {
		fprintf(stderr, "bpfdiff plugin: %s\n", err[0] ? err : strerror(-e));
		/* session.c: a bad name or argument (-EINVAL, a missing plugin) is usage */
		rc = (e == -EINVAL || e == -ENOENT || e == -EACCES) ? 2 : 1;
		goto out;
	}
	session_open = true;
	if (s.n != 1) {
		fprintf(stderr, "bpfdiff plugin: --backend '%s' names %d backends, want one\n", backend, s.n);
		goto out;
	}
	if (!s.slot[0].b) {
		fprintf(stderr, "unavailable: backend %s: %s\n", s.slot[0].name,
			s.slot[0].why[0] ? s.slot[0].why : "cannot be opened here");
		rc = 1;
		goto out;
	}

	e = bd_session_run(&s, &c, &o);
	const struct bd_result *r = &o.res[0];
	if (e < 0 && r->status == BD_OK) {
		fprintf(stderr, "error: %s\n", strerror(-e));
		rc = 1;
	} else if (r->status != BD_OK) {
		fprintf(stderr, "%s: %s\n", bd_status_name(r->status),
			r->message[0] ? r->message : "(no message)");
		rc = 1;
	} else {
		printf("%llx\n", (unsigned long long)r->r0);
		rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
		if (rc)
			fprintf(stderr, "bpfdiff plugin: writing stdout: %s\n", strerror(errno));
	}
	bd_outcome_reset(&o);
out:
	if (session_open)
		bd_session_close(&s);
	free(prog);
	free(mem);
	free(stdin_text);
	free(storage);
	free(args);
	return rc;
}
