/* SPDX-License-Identifier: MIT */
/* Reports of a run: text summary, JSON, JUnit XML, markdown (CI job summary). */
#ifndef BPFDIFF_REPORT_H
#define BPFDIFF_REPORT_H

#include <stdio.h>
#include "session.h"

struct bd_run_entry {
	struct bd_case c;
	struct bd_outcome o;
	bool input_error;         /* the file could not be read/parsed: c.path + error */
	char error[1024];
};

struct bd_run_log {
	struct bd_run_entry *e;
	size_t n, cap;
	double seconds;
	bool strict;              /* replay: unexplained rejections/skips are deviations */
};

/* Add every case PATH names (a .data file, a directory searched recursively
 * for .data and .o files, an ELF object); unreadable or malformed inputs
 * become input-error entries naming the file and line. */
void bd_run_log_load(struct bd_run_log *log, const char *path, const char *section);
struct bd_run_entry *bd_run_log_push(struct bd_run_log *log);
void bd_run_log_free(struct bd_run_log *log);

/* Is this entry a failure for the exit code and the reports? */
bool bd_entry_failed(const struct bd_run_log *log, const struct bd_run_entry *e);
const char *bd_entry_verdict(const struct bd_run_log *log, const struct bd_run_entry *e);

void bd_report_summary(FILE *out, const struct bd_session *s, const struct bd_run_log *log);
int bd_report_json(const char *path, const struct bd_session *s, const struct bd_run_log *log);
int bd_report_junit(const char *path, const struct bd_session *s, const struct bd_run_log *log);
int bd_report_markdown(const char *path, const struct bd_session *s, const struct bd_run_log *log);

#endif
