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

struct bd_run_log {
	struct bd_run_entry *e;
	size_t n, cap;
	double seconds;
	bool strict;              /* replay: unexplained rejections/skips are deviations */
	enum bd_fail_on fail_on;
	char backends[1024];      /* the -b list as given, for reproducer commands */
	bool follow;              /* --follow: walk symlinks to directories */
	bool out_of_memory;       /* loading stopped early: the run is an error */
	struct bd_discover disc;  /* what was visited (each real file once) */
};

/* Add every case PATH names (a .data file, a directory searched recursively
 * for .data and .o files, an ELF object; discover.h); unreadable or malformed
 * inputs become input-error entries naming the file and line. -ENOMEM when
 * loading had to stop (log->out_of_memory). */
int bd_run_log_load(struct bd_run_log *log, const char *path, const char *section);
struct bd_run_entry *bd_run_log_push(struct bd_run_log *log);
void bd_run_log_free(struct bd_run_log *log);

/* Is this entry a failure for the exit code and the reports? */
bool bd_entry_failed(const struct bd_run_log *log, const struct bd_run_entry *e);
const char *bd_entry_verdict(const struct bd_run_log *log, const struct bd_run_entry *e);

void bd_report_summary(FILE *out, const struct bd_session *s, const struct bd_run_log *log);
/* Write a report to f (an outfile.h temporary file); -EIO when f has an error. */
int bd_report_json(FILE *f, const struct bd_session *s, const struct bd_run_log *log);
int bd_report_junit(FILE *f, const struct bd_session *s, const struct bd_run_log *log);
int bd_report_markdown(FILE *f, const struct bd_session *s, const struct bd_run_log *log);

#endif
