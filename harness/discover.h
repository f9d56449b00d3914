/* SPDX-License-Identifier: MIT */
/*
 * Input discovery: the files a command-line PATH names, in a stable order.
 *
 * A PATH given on the command line is taken as it is (a symlink there is
 * followed). Under a directory, entries are visited in strcmp order of their
 * names, depth first; symlinks to directories are followed only with
 * `follow`, and then a directory already being walked (a loop) or already
 * walked is reported once and not entered again. Every real file (device +
 * inode) is visited once, however many names or links lead to it. FIFOs,
 * sockets and devices are never opened: they are reported and skipped.
 * An unreadable directory is an error naming it.
 *
 * Nothing is collected beyond one directory's names at a time, so callers
 * can stream: parse, run and forget each file as it comes.
 */
#ifndef BPFDIFF_DISCOVER_H
#define BPFDIFF_DISCOVER_H

#include <stdbool.h>

enum bd_found {
	BD_FOUND_FILE,  /* a regular file to load */
	BD_FOUND_NOTE,  /* something skipped on purpose, with the reason (not an error) */
	BD_FOUND_ERROR, /* an input that cannot be read: an input error */
};

/* Called for each file, note and error; msg is NULL for files. A non-zero
 * return stops the walk and is returned by bd_discover. */
typedef int (*bd_found_fn)(void *arg, enum bd_found kind, const char *path, const char *msg);

struct bd_discover {
	bool follow; /* follow symlinks to directories under a directory */
	/* Which directory entries are inputs (by name); NULL = every file.
	 * Command-line paths are always inputs. */
	bool (*wanted)(const char *name);
	/* Directory names not to enter (e.g. data2input's "negative"); NULL = all. */
	bool (*skip_dir)(const char *name);
	bd_found_fn found;
	void *arg;
	struct bd_seen *seen; /* private: files and directories visited so far */
};

/* Visit what PATH names. Call for each command-line PATH with the same d
 * (so a file given twice or reached twice is visited once); bd_discover_end
 * frees what it remembers. Returns 0, a callback's non-zero value, or -ENOMEM
 * (reported through found() first). */
int bd_discover(struct bd_discover *d, const char *path);
void bd_discover_end(struct bd_discover *d);

#endif
