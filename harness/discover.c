/* SPDX-License-Identifier: MIT */
/* Input discovery (discover.h): directories walked in sorted order, each real file once. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "discover.h"

struct file_id {
	uint64_t dev, ino;
};

struct dir_seen {
	struct file_id id;
	char *path;   /* the name it was first walked under */
	bool walking; /* on the current path from the root: reaching it again is a loop */
};

struct bd_seen {
	struct file_id *files; /* open addressing; ino 0 = empty slot (no real file has inode 0) */
	size_t nfiles, capfiles;
	struct dir_seen *dirs; /* directories are few: a list */
	size_t ndirs, capdirs;
};

static struct file_id id_of(const struct stat *st)
{
	return (struct file_id){ (uint64_t)st->st_dev, (uint64_t)st->st_ino };
}

static size_t hash_id(struct file_id id)
{
	uint64_t h = (id.ino * 0x9e3779b97f4a7c15ULL) ^ (id.dev + 0x632be59bd9b4e019ULL);
	return (size_t)(h ^ (h >> 29));
}

/* 1 if already there, 0 when added, -ENOMEM. */
static int files_add(struct bd_seen *s, struct file_id id)
{
	if ((s->nfiles + 1) * 4 > s->capfiles * 3) {
		size_t nc = s->capfiles ? s->capfiles * 2 : 1024;
		struct file_id *nf = calloc(nc, sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		for (size_t i = 0; i < s->capfiles; i++)
			if (s->files[i].ino) {
				size_t k = hash_id(s->files[i]) & (nc - 1);
				while (nf[k].ino)
					k = (k + 1) & (nc - 1);
				nf[k] = s->files[i];
			}
		free(s->files);
		s->files = nf;
		s->capfiles = nc;
	}
	if (!id.ino) /* not a real inode: never deduplicated */
		return 0;
	size_t k = hash_id(id) & (s->capfiles - 1);
	for (; s->files[k].ino; k = (k + 1) & (s->capfiles - 1))
		if (s->files[k].ino == id.ino && s->files[k].dev == id.dev)
			return 1;
	s->files[k] = id;
	s->nfiles++;
	return 0;
}

static struct dir_seen *dirs_find(struct bd_seen *s, struct file_id id)
{
	for (size_t i = 0; i < s->ndirs; i++)
		if (s->dirs[i].id.ino == id.ino && s->dirs[i].id.dev == id.dev)
			return &s->dirs[i];
	return NULL;
}

static const char *kind_name(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m)  ? "a block device" : "not a regular file";
}

static int note(struct bd_discover *d, enum bd_found kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int note(struct bd_discover *d, enum bd_found kind, const char *path, const char *fmt, ...)
{
	char msg[4200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return d->found(d->arg, kind, path, msg);
}

static int oom(struct bd_discover *d, const char *path)
{
	note(d, BD_FOUND_ERROR, path, "%s: out of memory while listing inputs", path);
	return -ENOMEM;
}

static int visit_file(struct bd_discover *d, const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return note(d, BD_FOUND_NOTE, path, "%s: %s, not an input: skipped", path, kind_name(st->st_mode));
	int rc = files_add(d->seen, id_of(st));
	if (rc < 0)
		return oom(d, path);
	if (rc)
		return note(d, BD_FOUND_NOTE, path, "%s: the same file as an earlier input (a link): visited once",
			    path);
	return d->found(d->arg, BD_FOUND_FILE, path, NULL);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct bd_discover *d, const char *dir);

static int enter_dir(struct bd_discover *d, const char *path, const struct stat *st)
{
	struct bd_seen *s = d->seen;
	struct dir_seen *seen = dirs_find(s, id_of(st));
	if (seen && seen->walking)
		return note(d, BD_FOUND_NOTE, path, "%s: symlink loop back to %s: not entered again", path, seen->path);
	if (seen)
		return note(d, BD_FOUND_NOTE, path, "%s: the same directory as %s: walked once", path, seen->path);
	if (s->ndirs == s->capdirs) {
		size_t nc = s->capdirs ? s->capdirs * 2 : 16;
		struct dir_seen *nd = realloc(s->dirs, nc * sizeof(*nd));
		if (!nd)
			return oom(d, path);
		s->dirs = nd;
		s->capdirs = nc;
	}
	char *copy = strdup(path);
	if (!copy)
		return oom(d, path);
	size_t idx = s->ndirs++;
	s->dirs[idx] = (struct dir_seen){ id_of(st), copy, true };
	int rc = walk_dir(d, path);
	s->dirs[idx].walking = false; /* by index: the array may have moved */
	return rc;
}

static int walk_dir(struct bd_discover *d, const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return note(d, BD_FOUND_ERROR, dir, "%s: cannot read directory: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	for (;;) {
		errno = 0;
		if (!(de = readdir(dh))) {
			if (errno)
				rc = note(d, BD_FOUND_ERROR, dir, "%s: cannot read directory: %s", dir, strerror(errno));
			break;
		}
		if (de->d_name[0] == '.') /* hidden files, ".", ".." and our own temp files */
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nn = realloc(names, nc * sizeof(*nn));
			if (!nn) {
				rc = oom(d, dir);
				break;
			}
			names = nn;
			cap = nc;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = oom(d, dir);
			break;
		}
		n++;
	}
	closedir(dh);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *name = names[i];
		char *path;
		size_t dl = strlen(dir);
		if (asprintf(&path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name) < 0) {
			rc = oom(d, dir);
			break;
		}
		struct stat st;
		if (lstat(path, &st)) {
			rc = note(d, BD_FOUND_ERROR, path, "%s: %s", path, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			struct stat tst;
			if (stat(path, &tst)) {
				if (!d->wanted || d->wanted(name))
					rc = note(d, BD_FOUND_ERROR, path, "%s: broken symlink: %s", path, strerror(errno));
			} else if (S_ISDIR(tst.st_mode)) {
				if (d->skip_dir && d->skip_dir(name))
					;
				else if (d->follow)
					rc = enter_dir(d, path, &tst);
				else
					rc = note(d, BD_FOUND_NOTE, path,
						  "%s: symlink to a directory, not followed (--follow follows it)", path);
			} else if (!d->wanted || d->wanted(name)) {
				rc = visit_file(d, path, &tst);
			}
		} else if (S_ISDIR(st.st_mode)) {
			if (!(d->skip_dir && d->skip_dir(name)))
				rc = enter_dir(d, path, &st);
		} else if (!d->wanted || d->wanted(name)) {
			rc = visit_file(d, path, &st);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int bd_discover(struct bd_discover *d, const char *path)
{
	if (!d->seen && !(d->seen = calloc(1, sizeof(*d->seen))))
		return oom(d, path);
	struct stat st;
	if (stat(path, &st))
		return note(d, BD_FOUND_ERROR, path, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return enter_dir(d, path, &st);
	return visit_file(d, path, &st);
}

void bd_discover_end(struct bd_discover *d)
{
	struct bd_seen *s = d->seen;
	if (!s)
		return;
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i].path);
	free(s->dirs);
	free(s->files);
	free(s);
	d->seen = NULL;
}
