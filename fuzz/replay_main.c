/* SPDX-License-Identifier: MIT */
/*
 * Replay without a fuzzer: bpf_diff_replay [-q] DIR|FILE...
 * Raw fuzz inputs go through LLVMFuzzerTestOneInput once each; .data files
 * are run as cases, expectations and all, through the same session.
 * Directories are walked as `bpfdiff run` walks them (harness/discover.h);
 * an unreadable input counts as an error. Prints a summary; exits 1 when a
 * .data case fails, a raw input shows a discrepancy that is not known
 * (BPFDIFF_REPLAY_FAIL=none|new|any, default new) or an input could not be
 * read, 0 otherwise.
 * Finds are written only when BPFDIFF_FINDS is set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "target.h"
#include "../harness/discover.h"

static unsigned long long n_raw, n_data, n_data_bad, n_data_pass, n_data_rejected, n_errors;
static int quiet;

static void run_data(const char *path)
{
	struct bd_case c;
	char err[512];
	if (bd_case_load_data(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: %s\n", err);
		n_errors++;
		return;
	}
	struct bd_session *s = bdf_session();
	struct bd_outcome *o = calloc(1, sizeof(*o));
	if (!o) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		n_errors++;
		bd_case_free(&c);
		return;
	}
	bd_outcome_reset(o);
	bd_session_run(s, &c, o);
	n_data++;
	if (bd_verdict_is_bad(o->verdict)) {
		n_data_bad++;
		bd_outcome_report(stderr, s, &c, o);
	} else if (o->verdict == BD_V_REJECTED) {
		n_data_rejected++;
	} else {
		n_data_pass++;
	}
	bd_outcome_reset(o);
	free(o);
	bd_case_free(&c);
}

static void run_raw(const char *path)
{
	char *buf;
	size_t len;
	char err[512];
	if (bd_read_input(path, &buf, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: %s\n", err);
		n_errors++;
		return;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	n_raw++;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* Under a directory every file is an input but notes (.md, .txt). */
static bool wanted(const char *name)
{
	return !has_suffix(name, ".md") && !has_suffix(name, ".txt");
}

static int found(void *arg, enum bd_found kind, const char *path, const char *msg)
{
	(void)arg;
	if (kind == BD_FOUND_NOTE) {
		fprintf(stderr, "replay: %s\n", msg);
	} else if (kind == BD_FOUND_ERROR) {
		fprintf(stderr, "replay: %s\n", msg);
		n_errors++;
	} else if (has_suffix(path, ".data")) {
		run_data(path);
	} else {
		run_raw(path);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && !strcmp(argv[1], "-q")) {
		quiet = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [-q] DIR|FILE...\n"
				"  Runs each fuzz input once through the bpf_diff target (and each .data file\n"
				"  as a case), prints a summary; exit 1 on a failure or new discrepancy.\n",
			argv[0]);
		return 2;
	}
	bdf_replay_mode = 1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct bd_discover d = { .wanted = wanted, .found = found };
	for (int i = first; i < argc; i++)
		if (bd_discover(&d, argv[i]) == -ENOMEM)
			break;
	bd_discover_end(&d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	const char *mode = getenv("BPFDIFF_REPLAY_FAIL");
	unsigned long long bad_raw = mode && !strcmp(mode, "any") ? bdf_new_finds() + bdf_known_finds() : bdf_new_finds();
	if (mode && !strcmp(mode, "none"))
		bad_raw = 0;
	printf("replay: %llu raw inputs, %llu .data cases (%llu pass, %llu rejected, %llu bad), %llu new and %llu known "
	       "discrepancies in raw inputs, %llu unreadable, %.2f s\n",
	       n_raw, n_data, n_data_pass, n_data_rejected, n_data_bad, bdf_new_finds(), bdf_known_finds(), n_errors,
	       secs);
	if (n_raw && !quiet)
		bdf_print_summary(stdout);
	fflush(stdout);
	return (n_data_bad || bad_raw || n_errors) ? 1 : 0;
}
