/* SPDX-License-Identifier: MIT */
/*
 * Output files written atomically: everything goes to a temporary file in the
 * target's directory, which is flushed, fsync'd and renamed over the target
 * only when all of it was written. A full disk or any other write error
 * leaves no partial file and keeps what was there before. Opening early
 * (before a long run) finds an unwritable path before any work is done.
 *
 * A path that exists and is not a regular file (/dev/stdout, a FIFO, a
 * terminal) is written directly: it cannot be replaced, and rename() over
 * /dev/stdout would be a disaster.
 *
 * While a temporary file is open, SIGINT/SIGTERM/SIGHUP remove it before the
 * process dies, so an interrupted run leaves no stray temporary files.
 */
#ifndef BPFDIFF_OUTFILE_H
#define BPFDIFF_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct bd_outfile {
	FILE *f;      /* write here */
	char *path;   /* the target */
	char *tmp;    /* the temporary file, NULL when writing the target directly */
};

/* Create the temporary file (or open the target directly). On error returns
 * -errno with "PATH: reason" in err. */
int bd_outfile_open(struct bd_outfile *o, const char *path, char *err, size_t errlen);
/* Flush, fsync, close and rename over the target. On any error (including an
 * earlier failed write), remove the temporary file and return -errno with
 * "PATH: reason" in err: the target is then unchanged. Closes o either way. */
int bd_outfile_commit(struct bd_outfile *o, char *err, size_t errlen);
/* Give up: remove the temporary file, leave the target as it was. */
void bd_outfile_discard(struct bd_outfile *o);

/* An unnamed scratch file next to the output (the same filesystem, gone when
 * closed), for a report whose parts are written in another order than they
 * end up in; tmpfile() when the output is written directly. NULL with errno. */
FILE *bd_outfile_scratch(const struct bd_outfile *o);

/* Write text to path atomically (open + write + commit); -errno on error. */
int bd_write_file_atomic(const char *path, const char *text);

/* Check that stdout took everything written to it (a full disk, a closed
 * pipe): 0, or -errno after printing "PROG: standard output: reason". */
int bd_close_stdout(const char *prog);

#endif
