/* SPDX-License-Identifier: MIT */
/*
 * Replay without a fuzzer: bpf_diff_replay [-q] DIR|FILE...
 * Raw fuzz inputs go through LLVMFuzzerTestOneInput once each; .data files
 * are run as cases, expectations and all, through the same session. Prints a
 * summary; exits 1 when a .data case fails or a raw input shows a discrepancy
 * that is not known (BPFDIFF_REPLAY_FAIL=none|new|any, default new), 0 otherwise.
 * Finds are written only when BPFDIFF_FINDS is set.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "target.h"

static unsigned long long n_raw, n_data, n_data_bad, n_data_pass, n_data_rejected, n_errors;
static int quiet;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

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
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		n_errors++;
		return;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		if (!r)
			break;
		len += r;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	n_raw++;
}

static void run_path(const char *path, int depth)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		n_errors++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth > 4)
			return;
		DIR *d = opendir(path);
		if (!d) {
			perror(path);
			n_errors++;
			return;
		}
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				names = realloc(names, cap * sizeof(*names));
				if (!names)
					break;
			}
			names[n++] = strdup(e->d_name);
		}
		closedir(d);
		if (names)
			qsort(names, n, sizeof(*names), cmp);
		for (size_t i = 0; i < n; i++) {
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
			run_path(sub, depth + 1);
			free(names[i]);
		}
		free(names);
		return;
	}
	size_t len = strlen(path);
	if (len > 5 && !strcmp(path + len - 5, ".data"))
		run_data(path);
	else if (depth == 0 || !(len > 3 && (!strcmp(path + len - 3, ".md") || !strcmp(path + len - 4, ".txt"))))
		run_raw(path);
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
	for (int i = first; i < argc; i++)
		run_path(argv[i], 0);
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
