/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

/* Temporary files to remove if a signal ends the process. */
#define MAX_TEMPS 16
static char *volatile temps[MAX_TEMPS];
static volatile sig_atomic_t handlers_set;

static void on_fatal_signal(int sig)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i])
			unlink(temps[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track(char *tmp)
{
	if (!handlers_set) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct sigaction old, sa = { .sa_handler = on_fatal_signal };
			sigemptyset(&sa.sa_mask);
			/* Leave an ignored signal ignored (nohup) and someone else's handler alone. */
			if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_DFL)
				sigaction(sigs[i], &sa, NULL);
		}
		handlers_set = 1;
	}
	for (int i = 0; i < MAX_TEMPS; i++)
		if (!temps[i]) {
			temps[i] = tmp;
			return;
		}
}

static void untrack(const char *tmp)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i] == tmp)
			temps[i] = NULL;
}

static int fail(char *err, size_t errlen, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}

int bd_outfile_open(struct bd_outfile *o, const char *path, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	struct stat st;
	bool exists = !stat(path, &st);
	if (exists && S_ISDIR(st.st_mode))
		return fail(err, errlen, EISDIR, "%s: is a directory", path);
	if (exists && !S_ISREG(st.st_mode)) { /* a device, FIFO or terminal: write it as it is */
		o->f = fopen(path, "w");
		if (!o->f)
			return fail(err, errlen, errno, "%s: %s", path, strerror(errno));
		o->path = strdup(path);
		if (!o->path) {
			fclose(o->f);
			o->f = NULL;
			return fail(err, errlen, ENOMEM, "%s: out of memory", path);
		}
		return 0;
	}
	/* Through a symlink, replace the file it points to, not the link. */
	char *target = exists ? realpath(path, NULL) : NULL;
	o->path = target ? target : strdup(path);
	if (!o->path)
		return fail(err, errlen, ENOMEM, "%s: out of memory", path);
	const char *slash = strrchr(o->path, '/');
	const char *base = slash ? slash + 1 : o->path;
	int dlen = slash ? (int)(slash - o->path) : 0;
	if (!*base) {
		free(o->path);
		o->path = NULL;
		return fail(err, errlen, EISDIR, "%s: is a directory", path);
	}
	if (asprintf(&o->tmp, "%.*s%s.%s.XXXXXX", dlen, o->path, slash ? "/" : "", base) < 0) {
		o->tmp = NULL;
		free(o->path);
		o->path = NULL;
		return fail(err, errlen, ENOMEM, "%s: out of memory", path);
	}
	int fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fail(err, errlen, e, "%s: cannot create a file in %.*s: %s", path, slash ? dlen : 1,
		     slash ? (dlen ? o->path : "/") : ".", strerror(e));
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof(*o));
		return -e;
	}
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, exists ? (st.st_mode & 07777) : (0666 & ~mask));
	track(o->tmp);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;
		close(fd);
		bd_outfile_discard(o);
		return fail(err, errlen, e, "%s: %s", path, strerror(e));
	}
	return 0;
}

void bd_outfile_discard(struct bd_outfile *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp) {
		unlink(o->tmp);
		untrack(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int bd_outfile_commit(struct bd_outfile *o, char *err, size_t errlen)
{
	if (!o->f)
		return fail(err, errlen, EBADF, "%s: not open", o->path ? o->path : "?");
	int e = 0;
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		e = errno ? errno : EIO;
	else if (o->tmp && fsync(fileno(o->f)))
		e = errno;
	if (fclose(o->f) && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (!e && o->tmp && rename(o->tmp, o->path))
		e = errno;
	if (!e && o->tmp) { /* the rename itself must survive a crash too */
		char *dir = strdup(o->path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			slash[slash == dir] = 0; /* "/x" -> "/", "a/x" -> "a" */
		int dfd = dir ? open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	if (e)
		fail(err, errlen, e, "%s: %s%s", o->path, strerror(e),
		     o->tmp ? " (nothing written; an existing file is unchanged)" : "");
	if (o->tmp) {
		if (e)
			unlink(o->tmp);
		untrack(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	return e ? -e : 0;
}

FILE *bd_outfile_scratch(const struct bd_outfile *o)
{
	if (!o->tmp)
		return tmpfile();
	char *dir = strdup(o->tmp);
	if (!dir)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = 0;
	int fd = open(slash ? dir : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int e = errno;
	free(dir);
	if (fd < 0) /* a filesystem without O_TMPFILE */
		return e == EOPNOTSUPP || e == EISDIR || e == EINVAL ? tmpfile() : (errno = e, NULL);
	FILE *f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

int bd_write_file_atomic(const char *path, const char *text)
{
	struct bd_outfile o;
	char err[64];
	int rc = bd_outfile_open(&o, path, err, sizeof(err));
	if (rc < 0)
		return rc;
	fputs(text, o.f);
	return bd_outfile_commit(&o, err, sizeof(err));
}

int bd_close_stdout(const char *prog)
{
	errno = 0;
	if (!fflush(stdout) && !ferror(stdout))
		return 0;
	int e = errno ? errno : EIO;
	fprintf(stderr, "%s: standard output: %s\n", prog, strerror(e));
	return -e;
}
