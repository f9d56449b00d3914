/* SPDX-License-Identifier: MIT */
/*
 * `bpfdiff coverage`: which instruction forms (EBPF_FORMS) the cases exercise,
 * and with --backend, an opcode-form x backend matrix of exercised / passed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "report.h"
#include "../vm/isa.h"

static const char *const help =
	"usage: bpfdiff coverage [--backend LIST] [--isa PROFILE] [--uncovered] PATH...\n"
	"Count, for every instruction form of the ISA profile, how many cases contain it:\n"
	"--isa linux (default) lists RFC 9669 (cpu v4) and the Linux extensions, each row\n"
	"marked with its profile; --isa rfc9669 only the standard forms (and runs with that\n"
	"profile). With --backend, also run the cases and show per backend in how many of\n"
	"them the backend met the case's expectations (exercised/passed).\n"
	"Exit 1 when a form of the profile is not covered, 2 on input errors.\n";

struct coverage {
	struct bd_session s;
	bool run;                            /* --backend: run the cases too */
	size_t cases[FORM_COUNT];            /* per form: how many cases contain it */
	size_t (*passed)[BD_MAX_BACKENDS];   /* per form and backend: how many of those passed */
	size_t ncases;
	int input_errors;
};

static int count_case(void *arg, struct bd_run_entry *e)
{
	struct coverage *cv = arg;
	if (e->input_error) {
		fprintf(stderr, "bpfdiff coverage: %s\n", e->error);
		cv->input_errors++;
		return 0;
	}
	cv->ncases++;
	unsigned char seen[FORM_COUNT] = { 0 };
	ebpf_forms_used(e->c.insns, e->c.ninsns, seen);
	if (cv->run)
		bd_session_run(&cv->s, &e->c, &e->o);
	for (int f = 0; f < FORM_COUNT; f++) {
		if (!seen[f])
			continue;
		cv->cases[f]++;
		for (int i = 0; i < cv->s.n; i++) {
			enum bd_status st = e->o.res[i].status;
			/* Passed: the verdict is not bad and this backend did not refuse it. */
			if (!bd_verdict_is_bad(e->o.verdict) && st != BD_UNAVAILABLE &&
			    (st == BD_OK || e->o.verdict == BD_V_PASS))
				cv->passed[f][i]++;
		}
	}
	return 0;
}

int bd_cmd_coverage(int argc, char **argv)
{
	static const struct option opts[] = { { "backend", required_argument, 0, 'b' },
					      { "uncovered", no_argument, 0, 'u' },
					      { "isa", required_argument, 0, 'I' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *backends = NULL;
	bool only_uncovered = false;
	int ch, isa = EBPF_ISA_LINUX;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:uh", opts, NULL)) != -1) {
		if (ch == 'b')
			backends = optarg;
		else if (ch == 'I') {
			if (!(isa = ebpf_isa_lookup(optarg))) {
				fprintf(stderr, "bpfdiff coverage: --isa takes rfc9669 or linux, not '%s'\n", optarg);
				return 2;
			}
		}
		else if (ch == 'u')
			only_uncovered = true;
		else if (ch == 'h') {
			fputs(help, stdout);
			return 0;
		} else {
			fputs(help, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(help, stderr);
		return 2;
	}
	struct coverage cv = { .run = backends != NULL };
	char err[512];
	if (backends) {
		struct bd_backend_config cfg = { .cpu = 4, .isa = isa };
		if (bd_session_open(&cv.s, backends, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpfdiff coverage: %s\n", err);
			return 2;
		}
	}
	cv.s.require_all = bd_ci_strict();
	int unavailable = backends ? bd_session_unavailable(&cv.s, stderr, "bpfdiff coverage") : 0;
	struct bd_run_log log = { 0 };
	if (!(cv.passed = calloc(FORM_COUNT, sizeof(*cv.passed)))) {
		fprintf(stderr, "bpfdiff coverage: out of memory\n");
		log.out_of_memory = true;
	}
	for (int i = optind; i < argc && !log.out_of_memory; i++)
		bd_run_log_load(&log, argv[i], NULL, count_case, &cv);
	const struct bd_session *s = &cv.s;
	size_t *cases = cv.cases, (*passed)[BD_MAX_BACKENDS] = cv.passed;
	printf("%-22s %-22s %-8s %6s", "form", "mnemonic", "isa", "cases");
	for (int i = 0; i < s->n; i++)
		printf(" %12s", s->slot[i].name);
	putchar('\n');
	/* Per profile: the forms it adds, and how many of them are covered. */
	int nforms[EBPF_ISA_LINUX + 1] = { 0 }, ncovered[EBPF_ISA_LINUX + 1] = { 0 };
	for (int f = 0; f < FORM_COUNT; f++) {
		if (!ebpf_form_in_isa(f, isa))
			continue;
		nforms[ebpf_forms[f].isa]++;
		ncovered[ebpf_forms[f].isa] += cases[f] != 0;
		if (only_uncovered && cases[f])
			continue;
		char mn[32];
		snprintf(mn, sizeof(mn), "%s%s", ebpf_forms[f].fmt == EBPF_FMT_ATOMIC ? "lock " : "",
			 ebpf_forms[f].mnemonic);
		printf("%-22s %-22s %-8s %6zu", ebpf_forms[f].id, mn, ebpf_isa_name(ebpf_forms[f].isa), cases[f]);
		for (int i = 0; i < s->n; i++) {
			char cell[32];
			snprintf(cell, sizeof(cell), "%zu/%zu", cases[f], passed ? passed[f][i] : 0);
			printf(" %12s", cell);
		}
		printf("%s\n", cases[f] ? "" : "  UNCOVERED");
	}
	int total = 0, covered = 0;
	for (int p = EBPF_ISA_RFC9669; p <= EBPF_ISA_LINUX; p++) {
		total += nforms[p];
		covered += ncovered[p];
	}
	int uncovered = total - covered;
	printf("\n%d of %d forms covered by %zu cases; %d uncovered\n", covered, total, cv.ncases, uncovered);
	printf("  rfc9669: %d of %d standard forms covered\n", ncovered[EBPF_ISA_RFC9669], nforms[EBPF_ISA_RFC9669]);
	if (isa == EBPF_ISA_LINUX)
		printf("  linux:   %d of %d Linux extension forms covered\n", ncovered[EBPF_ISA_LINUX],
		       nforms[EBPF_ISA_LINUX]);
	free(passed);
	bd_run_log_free(&log);
	if (backends)
		bd_session_close(&cv.s);
	if (cv.input_errors || log.out_of_memory)
		return 2;
	if (unavailable && cv.s.require_all) {
		fprintf(stderr, "bpfdiff coverage: %d backend(s) unavailable under CI=true\n", unavailable);
		return 1;
	}
	return uncovered ? 1 : 0;
}
