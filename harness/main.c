/* SPDX-License-Identifier: MIT */
/* bpfdiff: run eBPF programs on several VMs and diff what they did. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "asm.h"
#include "cli.h"
#include "elf.h"
#include "helpers.h"
#include "env.h"
#include "escape.h"
#include "guest.h"
#include "known.h"
#include "outfile.h"
#include "report.h"
#include "session.h"
#include "vm/isa.h"

static const char *const usage_text =
	"usage: bpfdiff COMMAND [OPTIONS] ...\n"
	"\n"
	"commands:\n"
	"  run PATH...        run .data cases, directories (recursive) and ELF objects on every\n"
	"                     available backend and diff the results\n"
	"  replay DIR...      like run, but every deviation from a case's recorded expectations\n"
	"                     (also an unexplained rejection or skip) is a failure\n"
	"  asm FILE           assemble (text or .data) to bytecode\n"
	"  disasm FILE        disassemble raw bytecode, hex text, .data or ELF\n"
	"  coverage PATH...   which instruction forms the cases exercise (x backend with --backend)\n"
	"  minimize CASE      shrink a discrepancy to its smallest form with the same signature\n"
	"  plugin             speak the bpf_conformance plugin contract for one backend\n"
	"  info               backends available here and their facts\n"
	"  guest CMD ARCH...  guest kernels under qemu: fetch, start, stop, status\n"
	"\n"
	"`bpfdiff COMMAND --help` describes each. Exit: 0 ok, 1 failures or discrepancies,\n"
	"2 usage or input errors.\n";

static const char *const run_help =
	"usage: bpfdiff %s [OPTIONS] PATH...\n"
	"\n"
	"PATH is a .data file, a directory (searched recursively for .data files) or an ELF\n"
	"object built by clang -target bpf (every program, as OBJECT:PROGRAM, or --section NAME).\n"
	"\n"
	"  -b, --backend LIST   comma-separated: uvm, kernel, xdp, plugin:PATH, guest:ARCH,\n"
	"                       guest:ARCH-interp (ARCH: arm64 s390x ppc64le x86_64) (default: all\n"
	"                       built in; unavailable ones are reported and skipped, except\n"
	"                       under CI=true where that is an error). A plugin takes options\n"
	"                       before its ':': plugin+verifier+platform=NAME:PATH\n"
	"      --cpu vN         ISA version v1..v4 the programs may use (default v4)\n"
	"      --isa PROFILE    linux (default): RFC 9669 plus what the Linux verifier accepts\n"
	"                       (load-acquire, store-release, may_goto); rfc9669: only the\n"
	"                       standard forms, the extensions are rejected on every backend\n"
	"      --platform P     what helper numbers mean: linux (default; helper 5 is\n"
	"                       bpf_ktime_get_ns) or ubpf (helper 5 is ubpf's unwind)\n"
	"      --endian ORDER   little (default) or big: the byte order of bpfdiff's own VMs (uvm, xdp);\n"
	"                       a big-endian guest in LIST adds uvm:be, its big-endian reference\n"
	"      --json FILE      write the JSON report\n"
	"      --junit FILE     write JUnit XML (one testcase per case and backend)\n"
	"      --markdown FILE  write a markdown summary (CI job summary)\n"
	"      --known FILE     known per-backend differences (repeatable; default:\n"
	"                       conformance/known-differences.txt of this checkout)\n"
	"      --no-known       do not load the default known-differences file\n"
	"      --section NAME   ELF program (or section) to run\n"
	"      --fail-on WHAT   what makes the exit code 1: discrepancy (backends disagree, a\n"
	"                       kernel warning, an internal error), fail (also: a backend misses\n"
	"                       the RFC result; replay: unexplained refusals; the default), any\n"
	"                       (also: anything but a clean pass)\n"
	"      --verifier-oracle  load with a level-2 verifier log and check every register value\n"
	"                       of a traced uvm run against the states the verifier logged; a\n"
	"                       value outside all of them is `verifier unsound` (needs kernel)\n"
	"      --follow         follow symlinks to directories under a directory (each\n"
	"                       real file runs once; a loop is reported once)\n"
	"  -q, --quiet          print only cases that did not pass\n"
	"  -v, --verbose        print the diff report for every case that did not pass\n"
	"  -h, --help           this text\n"
	"\n"
	"One line per case (PASS, FAIL, DISCREPANCY, UNSOUND, NONDET, REJECTED, SKIPPED, INPUT-ERROR)\n"
	"with the reason, a diff report under each failure, then a table per backend.\n";

static int parse_cpu(const char *s)
{
	if ((s[0] == 'v' || s[0] == 'V') && s[1] >= '1' && s[1] <= '4' && !s[2])
		return s[1] - '0';
	return 0;
}

/* conformance/known-differences.txt of the checkout this binary was built in. */
static char *default_known_path(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *dir = dirname(exe); /* .../build or .../build/san */
	for (int up = 0; up < 3; up++) {
		char *p = NULL;
		if (asprintf(&p, "%s/conformance/known-differences.txt", dir) < 0)
			return NULL;
		if (!access(p, R_OK))
			return p;
		free(p);
		dir = dirname(dir);
	}
	return NULL;
}

/* "kernel rejected: invalid shift", "kernel r0 0xffffffffffffffff" */
static void describe_result(FILE *out, const char *name, const struct bd_result *r)
{
	char shown[2048]; /* backends' messages: no raw control characters on a terminal */
	if (r->status == BD_OK) {
		fprintf(out, "%s r0 0x%llx", name, (unsigned long long)r->r0);
	} else {
		bd_escape_ctl(shown, sizeof(shown), r->message);
		fprintf(out, "%s %s: %s", name, bd_status_name(r->status), shown);
	}
	if (r->warning[0]) {
		bd_escape_ctl(shown, sizeof(shown), r->warning);
		fprintf(out, ", kernel logged '%s'", shown);
	}
}

/* The diff report quotes the case and the backends: escaped for the terminal. */
static void print_report(FILE *out, const struct bd_session *s, const struct bd_run_entry *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		bd_outcome_report(out, s, &e->c, &e->o);
		return;
	}
	bd_outcome_report(m, s, &e->c, &e->o);
	if (fclose(m) == 0)
		bd_fputs_escaped(out, buf);
	free(buf);
}

static void print_line(FILE *out, const struct bd_session *s, const struct bd_run_log *log,
		       const struct bd_run_entry *e, bool quiet, bool verbose)
{
	static const char *const tag[BD_V_COUNT] = {
		[BD_V_PASS] = "PASS", [BD_V_FAIL] = "FAIL", [BD_V_DISCREPANCY] = "DISCREPANCY",
		[BD_V_SOUNDNESS] = "DISCREPANCY", [BD_V_NONDETERMINISTIC] = "NONDET",
		[BD_V_REJECTED] = "REJECTED", [BD_V_SKIPPED] = "SKIPPED", [BD_V_ERROR] = "ERROR",
		[BD_V_KERNEL_WARNING] = "KERNEL-WARN", [BD_V_UNCONFIRMED] = "KNOWN-FIND",
		[BD_V_UNCHECKED] = "UNCHECKED", [BD_V_UNSOUND] = "UNSOUND",
	};
	if (e->input_error) {
		fprintf(out, "%-12s %s\n", "INPUT-ERROR", e->error);
		return;
	}
	bool failed = bd_entry_failed(log, e);
	const struct bd_outcome *o = &e->o;
	if (quiet && !failed && o->verdict == BD_V_PASS)
		return; /* the summary lists deviations absent here and finds gone */
	fprintf(out, "%-12s %s%s%s", tag[o->verdict], e->c.path, e->c.section ? ":" : "",
		e->c.section ? e->c.section : "");
	if (o->verdict == BD_V_SOUNDNESS)
		fprintf(out, "  (possible verifier soundness bug)");
	if (o->verdict == BD_V_UNCONFIRMED)
		fprintf(out, "  unconfirmed find reproduces (review it):");
	if (o->reason[0]) {
		char shown[2048]; /* a reason quotes the case's text and backends' messages */
		bd_escape_ctl(shown, sizeof(shown), o->reason);
		fprintf(out, o->verdict == BD_V_UNCONFIRMED ? " %s" : "  %s", shown);
	}
	/* Declared deviations: present (with the reason) or absent here. */
	const char *sep = "  (";
	for (int i = 0; i < s->n && o->verdict != BD_V_FAIL; i++) {
		const struct bd_expect *x = o->decl[i];
		if (o->judged[i] == BD_J_PRESENT) {
			fprintf(out, "%sknown deviation present: ", sep);
			describe_result(out, s->slot[i].name, &o->res[i]);
			if (x && x->reason) {
				fputs(": ", out);
				bd_fputs_oneline(out, x->reason);
			}
			sep = "; ";
		} else if (o->judged[i] == BD_J_ABSENT) {
			fprintf(out, "%sknown deviation absent here (fixed on this kernel?): ", sep);
			describe_result(out, s->slot[i].name, &o->res[i]);
			sep = "; ";
		}
	}
	if (o->find_gone) {
		fprintf(out, "%sunconfirmed find no longer reproduces here", sep);
		sep = "; ";
	}
	for (int i = 0; i < s->n; i++)
		if (o->env_excused[i]) {
			fprintf(out, "%s%s not judged: the result depends on %s", sep, s->slot[i].name, o->env_helper);
			sep = "; ";
		}
	if (sep[0] == ';')
		fputc(')', out);
	fputc('\n', out);
	if (failed || (verbose && o->verdict != BD_V_PASS))
		print_report(out, s, e);
}

struct run_ctx {
	struct bd_session s;
	struct bd_known *known;
	struct bd_run_log log;
	struct bd_report *reports[3];
	bool quiet, verbose;
	bool stdout_gone; /* a closed pipe: nobody reads the lines any more */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One case: run it, count it, print its line, add it to every report. */
static int run_case(void *arg, struct bd_run_entry *e)
{
	struct run_ctx *x = arg;
	if (!e->input_error) {
		if (x->known)
			bd_known_apply(x->known, &e->c);
		double t0 = now_seconds();
		bd_session_run(&x->s, &e->c, &e->o);
		x->log.seconds += now_seconds() - t0;
	}
	bd_run_log_add(&x->log, &x->s, e);
	print_line(stdout, &x->s, &x->log, e, x->quiet, x->verbose);
	bool reports = false;
	for (int r = 0; r < 3; r++)
		if (x->reports[r]) {
			bd_report_case(x->reports[r], &x->s, &x->log, e);
			reports = true;
		}
	/* Nobody reads the lines any more (`| head`): stop, unless report files
	 * are being written, which must hold every case. */
	if (ferror(stdout) && !reports) {
		errno = 0;
		fflush(stdout);
		if (errno == EPIPE) {
			x->stdout_gone = true;
			return -EPIPE;
		}
	}
	return 0;
}

static int run_or_replay(int argc, char **argv, bool strict)
{
	enum { O_JSON = 256, O_JUNIT, O_MD, O_CPU, O_KNOWN, O_NO_KNOWN, O_SECTION, O_FAIL_ON, O_ISA, O_FOLLOW, O_PLATFORM,
	       O_ENDIAN, O_ORACLE };
	static const struct option opts[] = {
		{ "platform", required_argument, 0, O_PLATFORM },
		{ "backend", required_argument, 0, 'b' }, { "json", required_argument, 0, O_JSON },
		{ "junit", required_argument, 0, O_JUNIT }, { "markdown", required_argument, 0, O_MD },
		{ "cpu", required_argument, 0, O_CPU },     { "known", required_argument, 0, O_KNOWN },
		{ "no-known", no_argument, 0, O_NO_KNOWN }, { "section", required_argument, 0, O_SECTION },
		{ "fail-on", required_argument, 0, O_FAIL_ON }, { "follow", no_argument, 0, O_FOLLOW },
		{ "quiet", no_argument, 0, 'q' },           { "verbose", no_argument, 0, 'v' },
		{ "isa", required_argument, 0, O_ISA },     { "help", no_argument, 0, 'h' },
		{ "endian", required_argument, 0, O_ENDIAN },
		{ "verifier-oracle", no_argument, 0, O_ORACLE },
		{ 0, 0, 0, 0 },
	};
	const char *backends = NULL, *json = NULL, *junit = NULL, *md = NULL, *section = NULL;
	bool big_endian = false;
	const char *known_files[16];
	int nknown = 0, cpu = 4, fail_on = BD_FAIL_ON_FAIL, isa = EBPF_ISA_LINUX;
	const char *platform = NULL;
	bool quiet = false, verbose = false, no_known = false, follow = false, oracle = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:qvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': backends = optarg; break;
		case O_JSON: json = optarg; break;
		case O_JUNIT: junit = optarg; break;
		case O_MD: md = optarg; break;
		case O_SECTION: section = optarg; break;
		case O_FAIL_ON:
			if ((fail_on = bd_fail_on_parse(optarg)) < 0) {
				fprintf(stderr, "bpfdiff %s: --fail-on takes discrepancy, fail or any, not '%s'\n", argv[0],
					optarg);
				return 2;
			}
			break;
		case O_NO_KNOWN: no_known = true; break;
		case O_FOLLOW: follow = true; break;
		case O_ORACLE: oracle = true; break;
		case O_PLATFORM:
			platform = optarg;
			if (bd_platform_lookup(optarg) < 0) {
				fprintf(stderr, "bpfdiff %s: --platform takes linux or ubpf, not '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case O_ENDIAN:
			if (strcmp(optarg, "big") && strcmp(optarg, "little")) {
				fprintf(stderr, "bpfdiff %s: --endian takes big or little, not '%s'\n", argv[0], optarg);
				return 2;
			}
			big_endian = !strcmp(optarg, "big");
			break;
		case O_KNOWN:
			if (nknown == 16) {
				fprintf(stderr, "bpfdiff %s: at most 16 --known files\n", argv[0]);
				return 2;
			}
			known_files[nknown++] = optarg;
			break;
		case O_CPU:
			if (!(cpu = parse_cpu(optarg))) {
				fprintf(stderr, "bpfdiff %s: --cpu takes v1, v2, v3 or v4, not '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case O_ISA:
			if (!(isa = ebpf_isa_lookup(optarg))) {
				fprintf(stderr, "bpfdiff %s: --isa takes rfc9669 or linux, not '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case 'q': quiet = true; break;
		case 'v': verbose = true; break;
		case 'h': printf(run_help, argv[0]); return 0;
		default: fprintf(stderr, run_help, argv[0]); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bpfdiff %s: no PATH given\n", argv[0]);
		fprintf(stderr, run_help, argv[0]);
		return 2;
	}

	/* Reports are opened (as temporary files) before anything runs: an
	 * unwritable path is an error now, not after an hour of cases. */
	struct {
		const char *opt, *path;
		enum bd_report_format fmt;
	} wanted[] = {
		{ "--json", json, BD_REPORT_JSON },
		{ "--junit", junit, BD_REPORT_JUNIT },
		{ "--markdown", md, BD_REPORT_MARKDOWN },
	};
	enum { NREPORTS = sizeof(wanted) / sizeof(wanted[0]) };
	struct run_ctx x = { .quiet = quiet, .verbose = verbose };
	char err[1024];
	for (int r = 0; r < NREPORTS; r++) {
		if (!wanted[r].path)
			continue;
		if (bd_report_open(&x.reports[r], wanted[r].fmt, wanted[r].path, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpfdiff %s: %s %s\n", argv[0], wanted[r].opt, err);
			for (int k = 0; k < r; k++)
				bd_report_discard(x.reports[k]);
			return 2;
		}
	}

	char *def = no_known ? NULL : default_known_path();
	int rc_known = def && bd_known_load(&x.known, def, err, sizeof(err)) < 0 ? -1 : 0;
	free(def);
	for (int i = 0; i < nknown && !rc_known; i++)
		if (bd_known_load(&x.known, known_files[i], err, sizeof(err)) < 0)
			rc_known = -1;
	struct bd_backend_config cfg = { .cpu = cpu, .isa = isa, .verbose = verbose, .platform = platform,
					  .big_endian = big_endian, .verifier_states = oracle };
	if (rc_known) {
		fprintf(stderr, "bpfdiff: %s\n", err);
	} else if (bd_session_open(&x.s, backends, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff %s: %s\n", argv[0], err);
		rc_known = -1;
	}
	if (rc_known) {
		bd_known_free(x.known);
		for (int r = 0; r < NREPORTS; r++)
			bd_report_discard(x.reports[r]);
		return 2;
	}
	x.s.require_all = bd_ci_strict();
	int unavailable = bd_session_unavailable(&x.s, stderr, "bpfdiff");
	if (oracle) {
		/* The oracle checks the kernel verifier's claims: without a kernel
		 * in the list it is a usage error, with an unavailable one a skip. */
		int kernels = 0, usable = 0;
		for (int i = 0; i < x.s.n; i++)
			if (!strncmp(x.s.slot[i].name, "kernel", 6) &&
			    (!x.s.slot[i].name[6] || x.s.slot[i].name[6] == ':')) {
				kernels++;
				usable += x.s.slot[i].b != NULL;
			}
		if (!kernels) {
			fprintf(stderr, "bpfdiff %s: --verifier-oracle needs the kernel backend (--backend ...,kernel)\n",
				argv[0]);
			bd_session_close(&x.s);
			bd_known_free(x.known);
			for (int r = 0; r < NREPORTS; r++)
				bd_report_discard(x.reports[r]);
			return 2;
		}
		if (!usable)
			fprintf(stderr, "bpfdiff %s: --verifier-oracle: the kernel backend is unavailable; nothing is judged\n",
				argv[0]);
	}

	/* One case at a time: parsed, run, printed, reported, freed. */
	struct bd_run_log *log = &x.log;
	log->strict = strict;
	log->fail_on = fail_on;
	log->follow = follow;
	snprintf(log->backends, sizeof(log->backends), "%s", backends ? backends : "");
	for (int i = optind; i < argc && !log->out_of_memory && !x.stdout_gone; i++)
		bd_run_log_load(log, argv[i], section, run_case, &x);
	if (x.stdout_gone)
		fprintf(stderr, "bpfdiff %s: standard output: %s; stopped after %zu cases\n", argv[0], strerror(EPIPE),
			log->t.cases);

	bd_report_summary(stdout, &x.s, log);
	/* Each report on its own: one that cannot be written does not stop the others. */
	bool report_failed = false;
	for (int r = 0; r < NREPORTS; r++) {
		if (!x.reports[r])
			continue;
		if (bd_report_finish(x.reports[r], &x.s, log, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpfdiff %s: cannot write the %s report: %s\n", argv[0], wanted[r].opt + 2, err);
			report_failed = true;
		}
	}
	int exit_code = log->t.input_errors || log->out_of_memory || report_failed || x.stdout_gone ? 2 :
			log->t.failed                                                            ? 1 :
												   0;
	if (unavailable && x.s.require_all && exit_code == 0) {
		fprintf(stderr, "bpfdiff: %d backend(s) unavailable under CI=true\n", unavailable);
		exit_code = 1;
	}
	if (log->t.cases == 0) {
		fprintf(stderr, "bpfdiff %s: no cases found\n", argv[0]);
		exit_code = 2;
	}
	bd_run_log_free(log);
	bd_session_close(&x.s);
	bd_known_free(x.known);
	return exit_code;
}

int bd_cmd_run(int argc, char **argv) { return run_or_replay(argc, argv, false); }
int bd_cmd_replay(int argc, char **argv) { return run_or_replay(argc, argv, true); }

static bool looks_like_data(const char *text)
{
	return !strncmp(text, "-- ", 3) || strstr(text, "\n-- ");
}

/* The program of FILE: .data (asm or raw), plain assembly text. */
static int program_of_text(const char *path, const char *text, size_t len, struct bd_case *c,
			   char *err, size_t errlen)
{
	if (looks_like_data(text))
		return bd_case_parse_data(path, text, len, c, err, errlen);
	char e[384];
	int rc = bd_assemble(text, 1, &c->insns, &c->ninsns, e, sizeof(e));
	if (rc < 0)
		snprintf(err, errlen, "%s:%s", path, e);
	return rc;
}

int bd_cmd_asm(int argc, char **argv)
{
	static const char *const help =
		"usage: bpfdiff asm [--hex] [-o OUT] FILE\n"
		"Assemble FILE (assembly text, or a .data file's -- asm/-- raw section; - for stdin)\n"
		"into raw eBPF bytecode on stdout (or OUT); --hex prints one line of hex bytes.\n";
	static const struct option opts[] = { { "hex", no_argument, 0, 'x' },
					      { "output", required_argument, 0, 'o' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool hex = false;
	const char *outpath = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "xo:h", opts, NULL)) != -1) {
		if (ch == 'x')
			hex = true;
		else if (ch == 'o')
			outpath = optarg;
		else if (ch == 'h') {
			fputs(help, stdout);
			return 0;
		} else {
			fputs(help, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(help, stderr);
		return 2;
	}
	const char *path = argv[optind];
	char *text;
	size_t len;
	char err[512];
	int rc = bd_read_input(path, &text, &len, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "bpfdiff asm: %s\n", err);
		return 2;
	}
	struct bd_case c = { 0 };
	rc = program_of_text(path, text, len, &c, err, sizeof(err));
	free(text);
	if (rc < 0 || !c.ninsns) {
		if (rc < 0)
			fprintf(stderr, "bpfdiff asm: %s\n", err);
		else /* a skipped .data case (ubpf's -- pyelf) */
			fprintf(stderr, "bpfdiff asm: %s: no program: %s\n", path, c.skip ? c.skip : "empty");
		bd_case_free(&c);
		return 2;
	}
	struct bd_outfile of = { 0 };
	if (outpath && bd_outfile_open(&of, outpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff asm: %s\n", err);
		bd_case_free(&c);
		return 2;
	}
	FILE *out = outpath ? of.f : stdout;
	if (hex) {
		const uint8_t *p = (const uint8_t *)c.insns;
		for (size_t i = 0; i < c.ninsns * 8; i++)
			fprintf(out, "%s%02x", i ? " " : "", p[i]);
		fputc('\n', out);
	} else {
		fwrite(c.insns, sizeof(*c.insns), c.ninsns, out);
	}
	rc = 0;
	if (outpath && bd_outfile_commit(&of, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff asm: %s\n", err);
		rc = 2;
	}
	bd_case_free(&c);
	return rc;
}

static bool all_hex_text(const char *t, size_t len)
{
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = t[i];
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))
			digits++;
		else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r')
			return false;
	}
	return digits > 0;
}

int bd_cmd_disasm(int argc, char **argv)
{
	static const char *const help =
		"usage: bpfdiff disasm [--labels] FILE\n"
		"Disassemble FILE: raw bytecode, hex text (\"b7 00 00 00 ...\"), a .data file or an\n"
		"ELF object (every program, with the maps it names). - reads stdin. The output re-assembles with\n"
		"`bpfdiff asm` to the same bytes.\n";
	static const struct option opts[] = { { "labels", no_argument, 0, 'l' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int labels = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "lh", opts, NULL)) != -1) {
		if (ch == 'l')
			labels = 1;
		else if (ch == 'h') {
			fputs(help, stdout);
			return 0;
		} else {
			fputs(help, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(help, stderr);
		return 2;
	}
	const char *path = argv[optind];
	char err[512];
	if (strcmp(path, "-") && bd_is_elf(path)) {
		struct bd_case *cases = NULL;
		size_t n = 0;
		if (bd_case_load_elf(path, NULL, &cases, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpfdiff disasm: %s\n", err);
			return 2;
		}
		for (size_t i = 0; i < n; i++) {
			printf("%s# program %s (section %s)\n", i ? "\n" : "", cases[i].section ? cases[i].section : "?",
			       cases[i].elf_section ? cases[i].elf_section : "?");
			const char *names[BD_MAX_MAPS];
			for (int m = 0; m < cases[i].nmaps; m++)
				names[m] = cases[i].maps[m].name;
			struct bd_asm_syms syms = { names, (size_t)cases[i].nmaps };
			bd_disasm_program_syms(stdout, cases[i].insns, cases[i].ninsns, labels, &syms);
			bd_case_free(&cases[i]);
		}
		free(cases);
		return 0;
	}
	char *text;
	size_t len;
	int rc = bd_read_input(path, &text, &len, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "bpfdiff disasm: %s\n", err);
		return 2;
	}
	struct bd_case c = { 0 };
	if (len && memchr(text, 0, len) == NULL && looks_like_data(text)) {
		rc = bd_case_parse_data(path, text, len, &c, err, sizeof(err));
		if (!rc && !c.ninsns) { /* ubpf's -- pyelf: no program to show */
			snprintf(err, sizeof(err), "%s: no program: %s", path, c.skip ? c.skip : "empty");
			rc = -EINVAL;
		}
	} else if (len && memchr(text, 0, len) == NULL && all_hex_text(text, len)) {
		uint8_t *bytes;
		size_t n;
		rc = bd_parse_hex_bytes(text, &bytes, &n);
		if (rc == 0 && n % 8) {
			snprintf(err, sizeof(err), "%s: %zu bytes is not a whole number of instructions", path, n);
			free(bytes);
			rc = -EINVAL;
		} else if (rc == 0) {
			c.insns = (struct ebpf_insn *)bytes;
			c.ninsns = n / 8;
		} else {
			snprintf(err, sizeof(err), "%s: malformed hex", path);
		}
	} else if (len % 8 || len == 0) {
		snprintf(err, sizeof(err), "%s: %zu bytes is not a whole number of 8-byte instructions", path, len);
		rc = -EINVAL;
	} else {
		c.insns = malloc(len);
		if (!c.insns)
			rc = -ENOMEM;
		else
			memcpy(c.insns, text, len);
		c.ninsns = len / 8;
	}
	free(text);
	if (rc < 0) {
		fprintf(stderr, "bpfdiff disasm: %s\n", err);
		bd_case_free(&c);
		return 2;
	}
	bd_disasm_program(stdout, c.insns, c.ninsns, labels);
	bd_case_free(&c);
	return 0;
}

int bd_cmd_info(int argc, char **argv)
{
	static const char *const help = "usage: bpfdiff info [--backend LIST]\n"
					"Which backends are available here, why not, and their facts\n"
					"(for xdp: the VM program's verifier statistics and load time;\n"
					"for guest:ARCH: the guest's kernel release and JIT state).\n"
					"Without --backend it also lists the prepared guest kernels.\n";
	static const struct option opts[] = { { "backend", required_argument, 0, 'b' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *backends = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		if (ch == 'b')
			backends = optarg;
		else if (ch == 'h') {
			fputs(help, stdout);
			return 0;
		} else {
			fputs(help, stderr);
			return 2;
		}
	}
	struct bd_backend_config cfg = { .cpu = 4 };
	struct bd_session s;
	char err[512];
	if (bd_session_open(&s, backends, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bpfdiff info: %s\n", err);
		return 2;
	}
	printf("bpfdiff %s, libbpf %s\n", bd_version(), bd_libbpf_version());
	for (int i = 0; i < s.n; i++) {
		printf("%-10s %s%s\n", s.slot[i].name, s.slot[i].b ? "available" : "unavailable: ",
		       s.slot[i].b ? "" : s.slot[i].why);
		if (s.slot[i].b) {
			char env[512];
			bd_env_describe(&s.slot[i].env, env, sizeof(env));
			printf("  environment: %s\n", env);
		}
		if (s.slot[i].b && s.slot[i].ops->info)
			s.slot[i].ops->info(s.slot[i].b, stdout);
	}
	bd_session_close(&s);
	if (!backends) /* guests boot only when asked for (-b guest:ARCH): here, what is prepared */
		guest_list(stdout);
	return 0;
}

/* Whatever went to stdout must have arrived: a full disk or a closed pipe is
 * an error, whatever the command thought. */
static int checked_stdout(int rc)
{
	if (bd_close_stdout("bpfdiff") < 0 && rc < 2)
		rc = 2;
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", bd_cmd_run },           { "replay", bd_cmd_replay },
		{ "asm", bd_cmd_asm },           { "disasm", bd_cmd_disasm },
		{ "coverage", bd_cmd_coverage }, { "minimize", bd_cmd_minimize },
		{ "plugin", bd_cmd_plugin },     { "info", bd_cmd_info },
		{ "guest", bd_cmd_guest },
	};
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	/* A closed pipe is a write error reported like any other (EPIPE), not a
	 * silent death; plugins get SIGPIPE back (backend_plugin.c). */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return checked_stdout(cmds[i].fn(argc - 1, argv + 1));
	/* bpf_conformance's runner puts the memory before its plugin options:
	 * `bpfdiff MEMORY_HEX plugin --backend B` (--plugin_path bpfdiff
	 * --plugin_options "plugin --backend B"). plugin.c skips the word. */
	if (argv[1][0] != '-')
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "plugin"))
				return checked_stdout(bd_cmd_plugin(argc, argv));
	fprintf(stderr, "bpfdiff: unknown command '%s'\n\n%s", argv[1], usage_text);
	return 2;
}
