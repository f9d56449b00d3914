/* SPDX-License-Identifier: MIT */
/* Reports of a run: text summary, JSON, JUnit XML, markdown (CI job summary). */
#ifndef BPFDIFF_REPORT_H
#define BPFDIFF_REPORT_H

#include <stdio.h>
#include "discover.h"
#include "session.h"

struct bd_run_entry {
	struct bd_case c;
	struct bd_outcome o;
	bool input_error;         /* the file could not be read/parsed: c.path + error */
	char error[1024];
};

/* What makes a run fail (--fail-on), from the narrowest gate to the widest. */
enum bd_fail_on {
	BD_FAIL_ON_DISCREPANCY, /* backends disagree (discrepancy, soundness suspect, kernel warning) or a tool error */
	BD_FAIL_ON_FAIL,        /* also: a backend misses the RFC result (default); replay: unexplained refusals */
	BD_FAIL_ON_ANY,         /* also: anything but a clean pass (rejected, skipped, nondeterministic,
				   unconfirmed finds, memory not checked) */
};
int bd_fail_on_parse(const char *s); /* enum value, or -1 */

/* What the summary and the reports keep of a whole run, added up case by
 * case: counts, never the cases themselves (run streams them). */
struct bd_tally {
	size_t cases, input_errors, failed;
	size_t status[BD_MAX_BACKENDS][BD_STATUS_COUNT]; /* per backend, per status */
	size_t judged[BD_MAX_BACKENDS][BD_J_NOT_RUN + 1]; /* per backend: met, present, absent, ... */
	size_t verdicts[BD_V_COUNT];
	size_t present, absent, finds_gone; /* declared deviations seen / not seen; unconfirmed finds gone */
	/* per pair of backends (i < j): cases both ran (ok/fault/timeout/crash), and of those, agreeing exactly */
	size_t pair_ran[BD_MAX_BACKENDS][BD_MAX_BACKENDS], pair_agree[BD_MAX_BACKENDS][BD_MAX_BACKENDS];
};

struct bd_run_log {
	/* how the run judges; set before loading */
	bool strict;              /* replay: unexplained rejections/skips are deviations */
	enum bd_fail_on fail_on;
	char backends[1024];      /* the -b list as given, for reproducer commands */
	bool follow;              /* --follow: walk symlinks to directories */
	/* added up as cases go by */
	struct bd_tally t;
	double seconds;           /* in the backends (the run loop without parsing and reporting) */
	FILE *notes;              /* the summary's lines that name cases (deviations absent here, finds) */
	char *notes_buf;
	size_t notes_len;
	bool out_of_memory;       /* loading stopped early: the run is an error */
	struct bd_discover disc;  /* what was visited (each real file once) */
};

/* Called with each case PATH names, in order, parsed (or an input-error entry
 * naming the file and line); the entry is freed when it returns. A non-zero
 * return stops loading. */
typedef int (*bd_case_fn)(void *arg, struct bd_run_entry *e);

/* Walk PATH (a .data file, a directory searched recursively for .data and .o
 * files, an ELF object; discover.h) and hand over one case at a time, so that
 * memory does not grow with the number of cases. -ENOMEM when loading had to
 * stop (log->out_of_memory), or fn's non-zero value. */
int bd_run_log_load(struct bd_run_log *log, const char *path, const char *section, bd_case_fn fn, void *arg);
/* Count a case (after it ran) into log->t and the summary's notes. */
void bd_run_log_add(struct bd_run_log *log, const struct bd_session *s, const struct bd_run_entry *e);
void bd_run_log_free(struct bd_run_log *log);

/* Is this entry a failure for the exit code and the reports? */
bool bd_entry_failed(const struct bd_run_log *log, const struct bd_run_entry *e);
const char *bd_entry_verdict(const struct bd_run_log *log, const struct bd_run_entry *e);

void bd_report_summary(FILE *out, const struct bd_session *s, const struct bd_run_log *log);

/* A report file written as cases complete: opened (as a temporary file,
 * outfile.h) before the run, fed each case, finished with the totals and
 * renamed into place. Nothing but the totals and a few lines is kept. */
enum bd_report_format { BD_REPORT_JSON, BD_REPORT_JUNIT, BD_REPORT_MARKDOWN };
struct bd_report;
int bd_report_open(struct bd_report **out, enum bd_report_format fmt, const char *path, char *err, size_t errlen);
void bd_report_case(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log,
		    const struct bd_run_entry *e);
/* Write the end, commit; on any write error the target is left as it was and
 * -errno returned with "PATH: reason" in err. Frees r either way. */
int bd_report_finish(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log, char *err,
		     size_t errlen);
void bd_report_discard(struct bd_report *r);

#endif
