/* SPDX-License-Identifier: MIT */
/*
 * The differential fuzz target: one input (input.h) = a program body and its
 * memory; the program (fixed prologue + normalised body + exit) runs on every
 * backend of a session (BPFDIFF_BACKENDS, default all available) and the
 * session's diff is the oracle. A discrepancy is minimized (harness/minimize.c),
 * deduplicated by signature, and written atomically into BPFDIFF_FINDS
 * (default corpus/) as a .data case that records every backend's result.
 *
 * Built for libFuzzer (-fsanitize=fuzzer), AFL++ (afl-clang-fast
 * -fsanitize=fuzzer links AFL's persistent-mode driver) and the plain replay
 * driver (replay_main.c).
 *
 * Environment:
 *   BPFDIFF_BACKENDS   backend list as for `bpfdiff run --backend` (default all;
 *                      plugin:PATH too: a plugin that crashes is a find)
 *   BPFDIFF_MUTANT     name: run the uvm with that injected bug ("uvm:NAME")
 *                      against the real backends, or against a clean uvm when
 *                      neither kernel nor xdp is available
 *   BPFDIFF_FINDS      directory for finds (default corpus; replay: none)
 *   BPFDIFF_MINIMIZE   0 to keep finds unminimized (default 1)
 *   BPFDIFF_STOP_ON_FIND  1: exit after the first new find (mutant runs: of the mutant)
 *   BPFDIFF_STATS_DIR  write stats.<pid> there every 2 s and at exit
 *   BPFDIFF_QUIET      1: no summary at exit
 *   BPFDIFF_VERBOSE    1: print every kernel rejection
 *   BPFDIFF_SAVE_RAW   directory: also keep each find's raw input there
 *   BPFDIFF_LIST_MUTANTS  print the uvm mutants (name, what) and exit
 *   BPFDIFF_VERIFIER_ORACLE  N: every Nth input the kernel loads with a level-2
 *                      verifier log and the uvm's traced run is checked against
 *                      the verifier's states (harness/oracle.h); 1 every input,
 *                      0 never (default 0; fuzz/campaign.sh sets its own)
 *   BPFDIFF_SHAPE_PCT  how often a mutator edit inserts a shape marker, in
 *                      percent (mutator.c; default 1, 0 = never)
 *
 * Programs with a map shape (shapes.h) run with the fuzz map set. The summary
 * and the stats files count inputs, kernel runs and acceptances per shape,
 * and per backend the runs that ended ok with each feature (BDF_FEAT_*).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "input.h"
#include "target.h"
#include "../harness/asm.h"
#include "../harness/minimize.h"
#include "../harness/outfile.h"
#include "../vm/isa.h"
#include "../vm/uvm.h"

int bdf_replay_mode;

static struct {
	bool ready, failed;
	struct bd_session s;
	int kernel_slot;
	const char *finds_dir;
	bool minimize, stop_on_find, quiet, verbose;
	int min_runs;
	const char *stats_dir;
	double t0, last_stats;
	unsigned long long execs, kernel_runs, kernel_accepted, finds_new, finds_known, nondet, errors, skipped;
	unsigned long long finds_unwritten; /* finds (or variants) a full disk or an error kept from being saved */
	char write_error[256];              /* the first reason */
	unsigned char forms_run[FORM_COUNT], forms_accepted[FORM_COUNT];
	char **sigs; /* known minimized signatures */
	size_t nsigs, capsigs;
	char **raw; /* raw (unminimized) signatures already handled */
	size_t nraw, capraw;
	struct bd_outcome *o;
	unsigned long long variants_saved;
	unsigned long long oracle_every;    /* BPFDIFF_VERIFIER_ORACLE */
	unsigned long long unsound;         /* inputs the verifier-state oracle found unsound */
	/* Per shape (shapes.h; the last row: inputs with none): inputs run, run
	 * on the kernel, accepted there, ok on the first backend. */
	unsigned long long shape_runs[33], shape_kruns[33], shape_kacc[33], shape_ok[33];
	/* Per backend slot and feature (BDF_FEAT_*): runs that ended ok. */
	unsigned long long feat_ok[BD_MAX_BACKENDS][BDF_NFEATS];
	bool cur_maps; /* the input being handled runs with the fuzz maps */
} G;

/* The maps and tail-call programs of programs with map shapes, parsed once
 * from shapes.c's .data text. */
static const struct bd_case *fuzz_maps(void)
{
	static struct bd_case env;
	static bool ready;
	if (!ready) {
		char err[512];
		if (bd_case_parse_data("fuzz-maps", bdf_fuzz_maps_data, strlen(bdf_fuzz_maps_data), &env, err,
				       sizeof(err)) < 0) {
			fprintf(stderr, "bpf_diff: the fuzz map set does not parse: %s\n", err);
			abort();
		}
		ready = true;
	}
	return &env;
}

/* A numeric environment variable; a malformed one stops the fuzzer (a typo
 * must not silently fall back to the default). */
static unsigned long long env_count(const char *name, unsigned long long dflt, unsigned long long min,
				    unsigned long long max)
{
	const char *v = getenv(name);
	uint64_t n;
	char err[256];
	if (!v || !*v)
		return dflt;
	if (bd_parse_count(name, v, min, max, &n, err, sizeof(err))) {
		fprintf(stderr, "bpf_diff: %s\n", err);
		exit(2);
	}
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool set_has(char **set, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], s))
			return true;
	return false;
}

static void set_add(char ***set, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **ns = realloc(*set, nc * sizeof(*ns));
		if (!ns)
			return;
		*set = ns;
		*cap = nc;
	}
	char *d = strdup(s);
	if (d)
		(*set)[(*n)++] = d;
}

/* Signatures of the finds already in the finds directory (`-- signature`). */
static void load_known(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".data") || e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		char line[1024];
		bool next = false;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = 0;
			if (next) {
				set_add(&G.sigs, &G.nsigs, &G.capsigs, line);
				break;
			}
			next = !strcmp(line, "-- signature");
		}
		fclose(f);
	}
	closedir(d);
}

static int open_session(void)
{
	char err[512];
	struct bd_backend_config cfg = { .cpu = 4 };
	const char *list = getenv("BPFDIFF_BACKENDS");
	const char *mutant = getenv("BPFDIFF_MUTANT");
	char buf[512];
	if (mutant && *mutant) {
		/* The mutated uvm first, then the references (any uvm in the list is dropped). */
		char refs[256] = "";
		const char *src = list && *list && strcmp(list, "all") ? list : "kernel,xdp";
		char *copy = strdup(src), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
			if (strncmp(t, "uvm", 3))
				snprintf(refs + strlen(refs), sizeof(refs) - strlen(refs), ",%s", t);
		free(copy);
		snprintf(buf, sizeof(buf), "uvm:%s%s", mutant, refs);
		if (bd_session_open(&G.s, buf, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpf_diff: %s\n", err);
			return -1;
		}
		bool any = false;
		for (int i = 1; i < G.s.n; i++)
			any |= G.s.slot[i].b != NULL;
		if (!any) { /* nothing real to compare with: a clean uvm is the reference */
			bd_session_close(&G.s);
			snprintf(buf, sizeof(buf), "uvm:%s,uvm", mutant);
			if (bd_session_open(&G.s, buf, &cfg, err, sizeof(err)) < 0) {
				fprintf(stderr, "bpf_diff: %s\n", err);
				return -1;
			}
		}
		list = buf;
	} else if (bd_session_open(&G.s, list, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpf_diff: %s\n", err);
		return -1;
	}
	G.kernel_slot = -1;
	int avail = 0;
	for (int i = 0; i < G.s.n; i++) {
		if (!strcmp(G.s.slot[i].name, "kernel") && G.s.slot[i].b)
			G.kernel_slot = i;
		avail += G.s.slot[i].b != NULL;
	}
	if (!G.quiet) {
		fprintf(stderr, "bpf_diff: backends:");
		for (int i = 0; i < G.s.n; i++)
			fprintf(stderr, " %s%s%s%s", G.s.slot[i].name, G.s.slot[i].b ? "" : " (unavailable: ",
				G.s.slot[i].b ? "" : G.s.slot[i].why, G.s.slot[i].b ? "" : ")");
		fputc('\n', stderr);
	}
	if (!avail) {
		fprintf(stderr, "bpf_diff: no backend available\n");
		return -1;
	}
	if (bd_ci_strict() && avail < G.s.n) {
		bd_session_unavailable(&G.s, stderr, "bpf_diff");
		fprintf(stderr, "bpf_diff: %d backend(s) unavailable under CI=true\n", G.s.n - avail);
		return -1;
	}
	return 0;
}

static void write_stats(void);

/* Ctrl-C during a find must not lose it: a SIGINT/SIGTERM that arrives while an
 * input is being handled (its minimization and the write of the find included)
 * waits until that input is done, then goes to the handler the fuzzer had
 * installed (libFuzzer's prints its stats and exits with its interrupt code,
 * which also stops a -fork parent). */
static struct sigaction fuzzer_handler[2]; /* SIGINT, SIGTERM */
static volatile sig_atomic_t in_input, deferred_signal;

static void pass_on(int sig)
{
	struct sigaction *old = &fuzzer_handler[sig == SIGTERM];
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, NULL, NULL);
	} else if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_IGN) {
		return;
	} else if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL) {
		old->sa_handler(sig);
	} else {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static void on_stop_signal(int sig)
{
	if (in_input)
		deferred_signal = sig;
	else
		pass_on(sig);
}

static void defer_stop_signals(void)
{
	static const int sigs[2] = { SIGINT, SIGTERM };
	for (int i = 0; i < 2; i++) {
		struct sigaction sa = { .sa_handler = on_stop_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, &fuzzer_handler[i]);
	}
}

static void at_exit(void)
{
	if (!G.ready)
		return;
	write_stats();
	if (!G.quiet && G.execs && !bdf_replay_mode)
		bdf_print_summary(stderr);
}

static void init(void)
{
	if (G.ready || G.failed)
		return;
	G.t0 = now();
	const char *e;
	G.quiet = (e = getenv("BPFDIFF_QUIET")) && *e == '1';
	G.verbose = (e = getenv("BPFDIFF_VERBOSE")) && *e == '1';
	G.minimize = !((e = getenv("BPFDIFF_MINIMIZE")) && *e == '0');
	G.stop_on_find = (e = getenv("BPFDIFF_STOP_ON_FIND")) && *e == '1';
	G.min_runs = (int)env_count("BPFDIFF_MIN_RUNS", 4000, 1, 1000000000);
	G.oracle_every = env_count("BPFDIFF_VERIFIER_ORACLE", 0, 0, 1000000000);
	G.finds_dir = getenv("BPFDIFF_FINDS");
	if (!G.finds_dir && !bdf_replay_mode)
		G.finds_dir = "corpus";
	if (G.finds_dir && !*G.finds_dir)
		G.finds_dir = NULL;
	if (G.finds_dir) {
		mkdir(G.finds_dir, 0755);
		load_known(G.finds_dir);
	}
	G.stats_dir = getenv("BPFDIFF_STATS_DIR");
	if (G.stats_dir)
		mkdir(G.stats_dir, 0755);
	G.o = calloc(1, sizeof(*G.o));
	if (!G.o || open_session() < 0) {
		G.failed = true;
		if (bdf_replay_mode)
			exit(2);
		abort(); /* a fuzzer must not go on with no oracle */
	}
	bd_outcome_reset(G.o);
	if (!bdf_replay_mode)
		defer_stop_signals(); /* after the fuzzer's own handlers: they are what we defer to */
	G.ready = true;
	atexit(at_exit);
}

struct bd_session *bdf_session(void)
{
	init();
	return &G.s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("BPFDIFF_LIST_MUTANTS")) { /* for run_mutants.sh */
		for (unsigned i = 1; i <= uvm_mutant_count(); i++)
			printf("%s\t%s\n", uvm_mutant_name(i), uvm_mutant_what(i));
		exit(0);
	}
	return 0; /* lazily in the first input: libFuzzer's -fork parent never runs one */
}

static void write_stats(void)
{
	if (!G.stats_dir)
		return;
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/stats.%d", G.stats_dir, (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "finds_unwritten=%llu\n", G.finds_unwritten);
	if (G.write_error[0])
		fprintf(f, "write_error=%s\n", G.write_error);
	fprintf(f, "execs=%llu\nseconds=%.3f\nkernel_runs=%llu\nkernel_accepted=%llu\nfinds_new=%llu\n"
		   "finds_known=%llu\nnondeterministic=%llu\nerrors=%llu\nskipped=%llu\n",
		G.execs, now() - G.t0, G.kernel_runs, G.kernel_accepted, G.finds_new, G.finds_known, G.nondet,
		G.errors, G.skipped);
	fprintf(f, "oracle_runs=%llu\noracle_judged=%llu\noracle_stopped=%llu\noracle_skipped=%llu\nunsound=%llu\n",
		(unsigned long long)G.s.oracle_runs, (unsigned long long)G.s.oracle_judged,
		(unsigned long long)G.s.oracle_stopped, (unsigned long long)G.s.oracle_skipped, G.unsound);
	fputs("forms_run=", f);
	for (int i = 0; i < FORM_COUNT; i++)
		fputc(G.forms_run[i] ? '1' : '0', f);
	fputs("\nforms_accepted=", f);
	for (int i = 0; i < FORM_COUNT; i++)
		fputc(G.forms_accepted[i] ? '1' : '0', f);
	fputc('\n', f);
	for (int i = 0; i <= bdf_nshapes; i++) {
		const char *name = i < bdf_nshapes ? bdf_shapes[i].name : "(none)";
		if (!G.shape_runs[i])
			continue;
		fprintf(f, "shape_runs.%s=%llu\nshape_kernel_runs.%s=%llu\nshape_kernel_accepted.%s=%llu\n"
			   "shape_first_ok.%s=%llu\n",
			name, G.shape_runs[i], name, G.shape_kruns[i], name, G.shape_kacc[i], name, G.shape_ok[i]);
	}
	for (int b = 0; b < G.s.n && b < BD_MAX_BACKENDS; b++)
		for (int k = 0; k < BDF_NFEATS; k++)
			fprintf(f, "feature_ok.%s.%s=%llu\n", G.s.slot[b].name, bdf_feature_names[k], G.feat_ok[b][k]);
	if (fclose(f) == 0)
		rename(tmp, path);
	G.last_stats = now();
}

static int count(const unsigned char *v)
{
	int n = 0;
	for (int i = 0; i < FORM_COUNT; i++)
		n += v[i] != 0;
	return n;
}

void bdf_print_summary(FILE *out)
{
	double secs = now() - G.t0;
	fprintf(out, "bpf_diff: %llu execs in %.1f s (%.0f exec/s)", G.execs, secs, secs > 0 ? G.execs / secs : 0);
	if (G.kernel_runs)
		fprintf(out, ", kernel acceptance %.1f%% (%llu/%llu)", 100.0 * G.kernel_accepted / G.kernel_runs,
			G.kernel_accepted, G.kernel_runs);
	fprintf(out, ", discrepancies %llu new %llu known, %llu nondeterministic, %llu errors", G.finds_new,
		G.finds_known, G.nondet, G.errors);
	if (G.finds_unwritten)
		fprintf(out, ", %llu FINDS NOT WRITTEN", G.finds_unwritten);
	if (G.oracle_every)
		fprintf(out, ", verifier oracle: %llu judged (%llu values), %llu unsound", (unsigned long long)G.s.oracle_runs,
			(unsigned long long)G.s.oracle_judged, G.unsound);
	fprintf(out, ", forms run %d/%d", count(G.forms_run), FORM_COUNT);
	if (G.kernel_slot >= 0)
		fprintf(out, " (kernel-accepted %d/%d)", count(G.forms_accepted), FORM_COUNT);
	fputc('\n', out);
	bdf_print_shapes(out);
}

void bdf_print_shapes(FILE *out)
{
	bool any = false;
	for (int i = 0; i < bdf_nshapes; i++)
		any |= G.shape_runs[i] != 0;
	if (!any)
		return;
	fprintf(out, "bpf_diff: per shape: %-16s %9s %9s %9s %8s %9s\n", "shape", "inputs", "first-ok", "kernel",
		"accepted", "accept%");
	for (int i = 0; i <= bdf_nshapes; i++) {
		if (!G.shape_runs[i])
			continue;
		char pct[16] = "-";
		if (G.shape_kruns[i])
			snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * G.shape_kacc[i] / G.shape_kruns[i]);
		fprintf(out, "bpf_diff: per shape: %-16s %9llu %9llu %9llu %8llu %9s\n",
			i < bdf_nshapes ? bdf_shapes[i].name : "(none)", G.shape_runs[i], G.shape_ok[i],
			G.shape_kruns[i], G.shape_kacc[i], pct);
	}
	fprintf(out, "bpf_diff: features run ok per backend:");
	for (int b = 0; b < G.s.n && b < BD_MAX_BACKENDS; b++) {
		fprintf(out, " %s[", G.s.slot[b].name);
		bool first = true;
		for (int k = 0; k < BDF_NFEATS; k++)
			if (G.feat_ok[b][k]) {
				fprintf(out, "%s%s", first ? "" : " ", bdf_feature_names[k]);
				first = false;
			}
		fputc(']', out);
	}
	fputc('\n', out);
}

unsigned long long bdf_new_finds(void) { return G.finds_new; }
unsigned long long bdf_known_finds(void) { return G.finds_known; }

static unsigned long long fnv1a(const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* How many finds with this signature key ("|uvm/kernel|r0") are known. One
 * bug usually shows up as many opcode sets (each way of making a register
 * unknown is another set); past BPFDIFF_MAX_FINDS_PER_KEY (default 8) of them
 * a new variant is kept raw instead of minimized and written, so a campaign
 * that has found a bug keeps fuzzing instead of minimizing it over and over. */
/* Keys are the same up to standalone numbers ("verifier bug: No program to
 * jit at insn 81" and "... insn 94" are one kernel bug: measured, a campaign
 * otherwise minimized a new "variant" every few seconds and ran at 0 exec/s). */
static bool same_key(const char *a, const char *b)
{
	const char *a0 = a;
	for (;;) {
		bool na = *a >= '0' && *a <= '9', nb = *b >= '0' && *b <= '9';
		if (na && nb && a > a0 && (a[-1] == ' ' || a[-1] == '=' || a[-1] == '#')) {
			while (*a >= '0' && *a <= '9')
				a++;
			while (*b >= '0' && *b <= '9')
				b++;
			continue;
		}
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++, b++;
	}
}

static size_t key_count(const char *signature)
{
	const char *key = bd_signature_key(signature);
	size_t n = 0;
	for (size_t i = 0; i < G.nsigs; i++)
		n += same_key(bd_signature_key(G.sigs[i]), key);
	return n;
}

static size_t max_finds_per_key(void)
{
	static size_t n;
	if (!n)
		n = (size_t)env_count("BPFDIFF_MAX_FINDS_PER_KEY", 8, 1, 1000000);
	return n;
}

/* A find that could not be saved is a loss the campaign must hear about at
 * once (campaign.sh stops on it): counted, said, and in the stats now. */
static void find_not_written(const char *why)
{
	if (!G.finds_unwritten++)
		snprintf(G.write_error, sizeof(G.write_error), "%s", why);
	if (G.finds_unwritten <= 10)
		fprintf(stderr, "bpf_diff: FIND NOT WRITTEN: %s\n", why);
	write_stats();
}

/* Keep a variant's input as the fuzzer had it, atomically, in FINDS/variants/
 * (nothing when finds are not kept: replay, BPFDIFF_FINDS=""). */
static void save_variant(const uint8_t *data, size_t size, const char *signature)
{
	if (!G.finds_dir)
		return;
	char vdir[4096], path[4200], err[512];
	snprintf(vdir, sizeof(vdir), "%s/variants", G.finds_dir);
	mkdir(vdir, 0755);
	snprintf(path, sizeof(path), "%s/variant-%012llx.bin", vdir, fnv1a(signature) & 0xffffffffffffULL);
	struct bd_outfile of;
	if (bd_outfile_open(&of, path, err, sizeof(err)) < 0) {
		find_not_written(err);
		return;
	}
	fwrite(data, 1, size, of.f);
	if (bd_outfile_commit(&of, err, sizeof(err)) < 0)
		find_not_written(err);
}

/* In a mutant run (BPFDIFF_MUTANT + BPFDIFF_STOP_ON_FIND), does the find
 * involve the mutated uvm? A real kernel bug or kernel warning found on the
 * way (signature "...|kernel|..." or "...|kernel/xdp|...") says nothing
 * about the mutant: `make mutants` must not count it as a detection. */
static bool is_mutant_find(const char *signature)
{
	const char *mutant = getenv("BPFDIFF_MUTANT");
	if (!mutant || !*mutant)
		return true;
	char a[160], b[160];
	snprintf(a, sizeof(a), "|uvm:%s/", mutant);
	snprintf(b, sizeof(b), "/uvm:%s|", mutant);
	return strstr(signature, a) || strstr(signature, b);
}

/* A discrepancy: minimize, dedupe, write. */
static void handle_find(const struct ebpf_insn *prog, size_t n, const uint8_t *mem, size_t mem_len,
			const uint8_t *data, size_t size)
{
	if (G.stop_on_find && !is_mutant_find(G.o->signature)) {
		G.finds_known++; /* a mutant run looks for its mutant, not for the references' own bugs */
		return;
	}
	if (set_has(G.raw, G.nraw, G.o->signature)) {
		G.finds_known++;
		return;
	}
	set_add(&G.raw, &G.nraw, &G.capraw, G.o->signature);
	if (key_count(G.o->signature) >= max_finds_per_key()) {
		G.finds_known++;
		/* The first variants are kept raw (for a later look); past that they
		 * are counted only: they would be tens of thousands of files. */
		if (G.variants_saved++ < 256)
			save_variant(data, size, G.o->signature);
		return;
	}
	const char *rawdir = getenv("BPFDIFF_SAVE_RAW");
	if (rawdir) { /* the input as the fuzzer had it, for reproducing the find exactly */
		char path[4096];
		snprintf(path, sizeof(path), "%s/raw-%012llx.bin", rawdir, fnv1a(G.o->signature) & 0xffffffffffffULL);
		struct bd_outfile of;
		char err[512];
		if (bd_outfile_open(&of, path, err, sizeof(err)) < 0) {
			find_not_written(err);
		} else {
			fwrite(data, 1, size, of.f);
			if (bd_outfile_commit(&of, err, sizeof(err)) < 0)
				find_not_written(err);
		}
	}
	struct bd_case c;
	memset(&c, 0, sizeof(c));
	c.path = strdup("fuzz-input");
	c.insns = malloc(n * sizeof(*prog));
	c.mem = malloc(mem_len ? mem_len : 1);
	if (!c.path || !c.insns || !c.mem) {
		bd_case_free(&c);
		return;
	}
	memcpy(c.insns, prog, n * sizeof(*prog));
	c.ninsns = n;
	if (G.cur_maps && bd_case_copy_env(&c, fuzz_maps()) < 0) {
		bd_case_free(&c);
		return;
	}
	memcpy(c.mem, mem, mem_len);
	c.mem_len = mem_len;
	char raw_sig[1024];
	snprintf(raw_sig, sizeof(raw_sig), "%s", G.o->signature);
	double t = now();
	struct bd_minimize_stats st = { .insns_after = n, .mem_after = mem_len };
	snprintf(st.signature, sizeof(st.signature), "%s", raw_sig);
	if (G.minimize && bd_minimize(&G.s, &c, raw_sig, G.min_runs, &st) < 0) {
		/* Did not reproduce (nondeterministic after all): count it as such,
		 * and keep the input: a find is never silently lost. */
		G.nondet++;
		save_variant(data, size, raw_sig);
		bd_case_free(&c);
		return;
	}
	double tmin = now() - t;
	if (set_has(G.sigs, G.nsigs, st.signature)) {
		G.finds_known++;
		bd_case_free(&c);
		return;
	}
	bd_outcome_reset(G.o);
	bd_session_run(&G.s, &c, G.o);
	if (G.o->verdict != BD_V_DISCREPANCY && G.o->verdict != BD_V_SOUNDNESS &&
	    G.o->verdict != BD_V_KERNEL_WARNING && G.o->verdict != BD_V_UNSOUND) {
		G.nondet++; /* the minimized case does not reproduce on a fresh run */
		save_variant(data, size, raw_sig);
		bd_case_free(&c);
		return;
	}
	set_add(&G.sigs, &G.nsigs, &G.capsigs, st.signature);
	G.finds_new++;
	char file[4096] = "-";
	const char *mutant = getenv("BPFDIFF_MUTANT");
	char origin[128];
	snprintf(origin, sizeof(origin), "bpfdiff fuzz (fuzz/bpf_diff.c%s%s)", mutant ? ", mutant " : "",
		 mutant ? mutant : "");
	bd_case_annotate_find(&c, &G.s, G.o, origin);
	if (G.finds_dir) {
		char slug[128];
		size_t k = 0;
		for (const char *p = bd_signature_key(st.signature); *p && k + 1 < sizeof(slug); p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
				slug[k++] = *p;
			else if (k && slug[k - 1] != '-')
				slug[k++] = '-';
		while (k && slug[k - 1] == '-')
			k--;
		slug[k] = 0;
		snprintf(file, sizeof(file), "%s/fuzz-%s-%012llx.data", G.finds_dir, slug,
			 fnv1a(st.signature) & 0xffffffffffffULL);
		char *text = bd_case_format_data(&c);
		int rc = text ? bd_write_file_atomic(file, text) : -ENOMEM;
		free(text);
		if (rc < 0) {
			char why[4400];
			snprintf(why, sizeof(why), "%s: %s", file, strerror(-rc));
			find_not_written(why);
		}
	}
	if (!G.quiet) {
		fprintf(stderr, "\nbpf_diff: NEW %s after %.2f s (exec %llu): %s\n", bd_verdict_name(st.verdict),
			now() - G.t0, G.execs, G.o->reason);
		bd_outcome_report(stderr, &G.s, &c, G.o);
	}
	/* One machine-readable line for scripts (run_mutants.sh). */
	fprintf(stderr, "BPFDIFF_FIND seconds=%.3f execs=%llu insns_before=%zu insns=%zu mem=%zu min_runs=%d "
			"min_seconds=%.3f file=%s signature=%s\n",
		now() - G.t0, G.execs, st.insns_before ? st.insns_before : n, st.insns_after, st.mem_after, st.runs,
		tmin, file, st.signature);
	bd_case_free(&c);
	if (G.stop_on_find) {
		write_stats();
		if (!G.quiet)
			bdf_print_summary(stderr);
		fflush(stderr);
		_exit(0);
	}
}

/* Per-shape and per-feature counts of one run. */
static void count_shapes(const struct bdf_program_info *info, bool first_ok, bool kacc)
{
	bool kran = false;
	if (G.kernel_slot >= 0) {
		enum bd_status ks = G.o->res[G.kernel_slot].status;
		kran = ks != BD_UNAVAILABLE && ks != BD_ERROR;
	}
	uint32_t set = info->shapes;
	if (!set) {
		G.shape_runs[bdf_nshapes]++;
		G.shape_kruns[bdf_nshapes] += kran;
		G.shape_kacc[bdf_nshapes] += kacc;
		G.shape_ok[bdf_nshapes] += first_ok;
		return;
	}
	for (int i = 0; set; i++, set >>= 1)
		if (set & 1) {
			G.shape_runs[i]++;
			G.shape_kruns[i] += kran;
			G.shape_kacc[i] += kacc;
			G.shape_ok[i] += first_ok;
		}
	for (int b = 0; b < G.s.n && b < BD_MAX_BACKENDS; b++)
		if (G.o->res[b].status == BD_OK)
			for (int k = 0; k < BDF_NFEATS; k++)
				G.feat_ok[b][k] += (info->features >> k) & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ebpf_insn prog[BDF_MAX_PROG];
	static uint8_t mem[BDF_MAX_MEM];
	static struct bd_case c;
	in_input = 1;
	init();
	struct bdf_input in;
	struct bdf_program_info info;
	bdf_input_split(data, size, &in);
	size_t n = bdf_build_program_info(&in, prog, &info);
	size_t mem_len = bdf_build_mem(&in, mem);
	c.path = "fuzz-input";
	c.insns = prog;
	c.ninsns = n;
	c.mem = mem;
	c.mem_len = mem_len;
	G.cur_maps = info.flags & BDF_SHAPE_MAPS;
	if (G.cur_maps) {
		const struct bd_case *env = fuzz_maps();
		c.maps = env->maps;
		c.nmaps = env->nmaps;
		c.progs = env->progs;
		c.nprogs = env->nprogs;
		c.prog_name = env->prog_name;
	} else if (c.nmaps || c.nprogs) {
		c.maps = NULL;
		c.nmaps = 0;
		c.progs = NULL;
		c.nprogs = 0;
		c.prog_name = NULL;
	}
	G.execs++;
	/* The verifier-state oracle on a sample (its load with a level-2 log
	 * and the traced re-run cost more than the rest of the input). */
	G.s.cfg.verifier_states = G.oracle_every && G.kernel_slot >= 0 && G.execs % G.oracle_every == 0;
	bd_session_run(&G.s, &c, G.o);

	const struct bd_result *r0 = &G.o->res[0];
	bool ran = r0->status == BD_OK || r0->status == BD_FAULT || r0->status == BD_TIMEOUT;
	bool kacc = false;
	if (G.kernel_slot >= 0) {
		enum bd_status ks = G.o->res[G.kernel_slot].status;
		if (ks != BD_UNAVAILABLE && ks != BD_ERROR) {
			G.kernel_runs++;
			if (ks != BD_REJECTED && ks != BD_UNSUPPORTED)
				G.kernel_accepted++, kacc = true;
			else if (G.verbose)
				fprintf(stderr, "bpf_diff: kernel %s: %s\n", bd_status_name(ks),
					G.o->res[G.kernel_slot].message);
		}
	}
	count_shapes(&info, ran && r0->status == BD_OK, kacc);
	if (ran || kacc)
		for (size_t i = BDF_PROLOGUE_LEN; i + 1 < n; i++) {
			int f = ebpf_decode(&prog[i]);
			if (f >= 0) {
				G.forms_run[f] = 1;
				if (kacc)
					G.forms_accepted[f] = 1;
			}
			if (ebpf_is_lddw(&prog[i]))
				i++;
		}
	switch (G.o->verdict) {
	case BD_V_DISCREPANCY:
	case BD_V_SOUNDNESS:
	case BD_V_KERNEL_WARNING:
		handle_find(prog, n, mem, mem_len, data, size);
		break;
	case BD_V_UNSOUND:
		G.unsound++;
		handle_find(prog, n, mem, mem_len, data, size); /* minimized with the oracle still on */
		break;
	case BD_V_NONDETERMINISTIC: G.nondet++; break;
	case BD_V_ERROR:
		if (G.errors++ < 5 && !G.quiet)
			fprintf(stderr, "bpf_diff: backend error: %s\n", G.o->reason);
		break;
	case BD_V_SKIPPED: G.skipped++; break;
	default: break;
	}
	if (G.stats_dir && (G.execs & 255) == 0 && now() - G.last_stats > 2.0)
		write_stats();
	in_input = 0;
	if (deferred_signal) {
		write_stats(); /* the fuzzer's handler may _Exit without atexit */
		fflush(stderr);
		pass_on(deferred_signal);
		deferred_signal = 0;
	}
	return 0;
}
