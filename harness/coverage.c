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
#include "helpers.h"
#include "report.h"
#include "../vm/isa.h"

/* Maps and helpers a case reaches: a map of each type (declared), a call to
 * each helper Linux's profile has (read from its programs), and loads and
 * stores through map value pointers (counted by bpfdiff's VMs as they run,
 * so only with --backend). */
enum feature {
	F_MAP_ARRAY,
	F_MAP_HASH,
	F_MAP_PROG_ARRAY,
	F_MAP_LOAD,
	F_MAP_STORE,
	F_HELPER, /* + EBPF_H_* - 1 */
	F_COUNT = F_HELPER + EBPF_H_COUNT - 1,
};

static const char *feature_name(int f, char *buf, size_t len)
{
	static const char *const names[] = { "map array", "map hash", "map prog_array",
					     "map value load (run)", "map value store (run)" };
	static const unsigned numbers[EBPF_H_COUNT] = {
		[EBPF_H_MAP_LOOKUP] = 1, [EBPF_H_MAP_UPDATE] = 2, [EBPF_H_MAP_DELETE] = 3,
		[EBPF_H_KTIME_GET_NS] = 5, [EBPF_H_GET_PRANDOM_U32] = 7, [EBPF_H_GET_SMP_PROCESSOR_ID] = 8,
		[EBPF_H_TAIL_CALL] = 12, [EBPF_H_LOOP] = 181,
	};
	if (f < F_HELPER)
		return names[f];
	int h = f - F_HELPER + 1;
	if (h == EBPF_H_UNWIND)
		snprintf(buf, len, "helper unwind (ubpf)");
	else
		snprintf(buf, len, "helper %s", bd_helper_name(EBPF_PLATFORM_LINUX, numbers[h]));
	return buf;
}

static void features_of(const struct bd_case *c, const struct bd_outcome *o, int nres, bool *has)
{
	for (int i = 0; i < c->nmaps; i++)
		has[c->maps[i].type == EBPF_MAP_ARRAY ? F_MAP_ARRAY
		    : c->maps[i].type == EBPF_MAP_HASH ? F_MAP_HASH : F_MAP_PROG_ARRAY] = true;
	for (int k = 0; k <= c->nprogs; k++) {
		const struct ebpf_insn *in = k ? c->progs[k - 1].insns : c->insns;
		size_t n = k ? c->progs[k - 1].ninsns : c->ninsns;
		for (size_t pc = 0; pc < n; pc++) {
			if (in[pc].opcode == 0x18) {
				pc++;
				continue;
			}
			int h = in[pc].opcode == 0x85 && in[pc].src == EBPF_CALL_HELPER
					? ebpf_platform_helper(EBPF_PLATFORM_LINUX, (uint32_t)in[pc].imm)
					: EBPF_H_NONE;
			if (h != EBPF_H_NONE)
				has[F_HELPER + h - 1] = true;
		}
	}
	for (int i = 0; i < nres; i++) {
		has[F_MAP_LOAD] |= o->res[i].has_map_accesses && o->res[i].map_loads;
		has[F_MAP_STORE] |= o->res[i].has_map_accesses && o->res[i].map_stores;
	}
}

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
	size_t fcases[F_COUNT];                        /* per map/helper feature: cases reaching it */
	size_t fpassed[F_COUNT][BD_MAX_BACKENDS];      /* and passed per backend */
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
	bool good[BD_MAX_BACKENDS];
	for (int i = 0; i < cv->s.n; i++) {
		enum bd_status st = e->o.res[i].status;
		/* Passed: the verdict is not bad and this backend did not refuse it. */
		good[i] = !bd_verdict_is_bad(e->o.verdict) && st != BD_UNAVAILABLE &&
			  (st == BD_OK || e->o.verdict == BD_V_PASS);
	}
	for (int f = 0; f < FORM_COUNT; f++) {
		if (!seen[f])
			continue;
		cv->cases[f]++;
		for (int i = 0; i < cv->s.n; i++)
			cv->passed[f][i] += good[i];
	}
	bool has[F_COUNT] = { false };
	features_of(&e->c, &e->o, cv->run ? cv->s.n : 0, has);
	for (int f = 0; f < F_COUNT; f++) {
		if (!has[f])
			continue;
		cv->fcases[f]++;
		for (int i = 0; i < cv->s.n; i++)
			cv->fpassed[f][i] += good[i];
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
	if (!only_uncovered) {
		printf("\n%-45s %6s", "maps and helpers", "cases");
		for (int i = 0; i < s->n; i++)
			printf(" %12s", s->slot[i].name);
		putchar('\n');
		for (int f = 0; f < F_COUNT; f++) {
			char name[64];
			if ((f == F_MAP_LOAD || f == F_MAP_STORE) && !backends)
				continue; /* counted as the VMs run */
			printf("%-45s %6zu", feature_name(f, name, sizeof(name)), cv.fcases[f]);
			for (int i = 0; i < s->n; i++) {
				char cell[32];
				snprintf(cell, sizeof(cell), "%zu/%zu", cv.fcases[f], cv.fpassed[f][i]);
				printf(" %12s", cell);
			}
			putchar('\n');
		}
	}
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
