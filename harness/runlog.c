/* SPDX-License-Identifier: MIT */
/* Loading the cases a command line names: files, directories, ELF objects. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "elf.h"
#include "report.h"

struct path_list {
	char **v;
	size_t n, cap;
};

static int path_push(struct path_list *l, const char *p)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
	}
	return (l->v[l->n++] = strdup(p)) ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* Directories contribute .data files and ELF objects (.o), sorted for stable reports. */
static int collect_dir(const char *dir, struct path_list *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct path_list here = { 0 };
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			break;
		struct stat st;
		if (!stat(p, &st) && (S_ISDIR(st.st_mode) || has_suffix(p, ".data") || has_suffix(p, ".o")))
			path_push(&here, p);
		free(p);
	}
	closedir(d);
	qsort(here.v, here.n, sizeof(*here.v), cmp_str);
	for (size_t i = 0; i < here.n; i++) {
		struct stat st;
		if (!stat(here.v[i], &st) && S_ISDIR(st.st_mode))
			collect_dir(here.v[i], out);
		else
			path_push(out, here.v[i]);
		free(here.v[i]);
	}
	free(here.v);
	return 0;
}

struct bd_run_entry *bd_run_log_push(struct bd_run_log *log)
{
	if (log->n == log->cap) {
		log->cap = log->cap ? log->cap * 2 : 256;
		struct bd_run_entry *ne = realloc(log->e, log->cap * sizeof(*ne));
		if (!ne)
			return NULL;
		log->e = ne;
	}
	struct bd_run_entry *e = &log->e[log->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void log_input_error(struct bd_run_log *log, const char *path, const char *msg)
{
	struct bd_run_entry *e = bd_run_log_push(log);
	if (!e)
		return;
	e->input_error = true;
	e->c.path = strdup(path);
	snprintf(e->error, sizeof(e->error), "%s", msg);
}

/* Load every case a command-line PATH names: files, directories, ELF objects. */
void bd_run_log_load(struct bd_run_log *log, const char *arg, const char *section)
{
	struct path_list files = { 0 };
	struct stat st;
	if (stat(arg, &st)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", arg, strerror(errno));
		log_input_error(log, arg, msg);
		return;
	}
	if (S_ISDIR(st.st_mode))
		collect_dir(arg, &files);
	else
		path_push(&files, arg);
	for (size_t i = 0; i < files.n; i++) {
		const char *p = files.v[i];
		char err[512] = "";
		if (bd_is_elf(p)) {
			struct bd_case *cases = NULL;
			size_t n = 0;
			if (bd_case_load_elf(p, section, &cases, &n, err, sizeof(err)) < 0) {
				log_input_error(log, p, err);
			} else {
				for (size_t k = 0; k < n; k++) {
					struct bd_run_entry *e = bd_run_log_push(log);
					if (e)
						e->c = cases[k];
					else
						bd_case_free(&cases[k]);
				}
				free(cases);
			}
		} else {
			struct bd_run_entry *e = bd_run_log_push(log);
			if (e && bd_case_load_data(p, &e->c, err, sizeof(err)) < 0) {
				bd_case_free(&e->c);
				log->n--;
				log_input_error(log, p, err);
			}
		}
		free(files.v[i]);
	}
	free(files.v);
}

void bd_run_log_free(struct bd_run_log *log)
{
	for (size_t k = 0; k < log->n; k++) {
		bd_case_free(&log->e[k].c);
		bd_outcome_reset(&log->e[k].o);
	}
	free(log->e);
	log->e = NULL;
	log->n = log->cap = 0;
}
