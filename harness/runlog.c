/* SPDX-License-Identifier: MIT */
/* Loading the cases a command line names: files, directories, ELF objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "report.h"

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* Directories contribute .data files and ELF objects (.o). */
static bool is_case_file(const char *name)
{
	return has_suffix(name, ".data") || has_suffix(name, ".o");
}

struct bd_run_entry *bd_run_log_push(struct bd_run_log *log)
{
	if (log->n == log->cap) {
		size_t nc = log->cap ? log->cap * 2 : 256;
		struct bd_run_entry *ne = realloc(log->e, nc * sizeof(*ne));
		if (!ne)
			return NULL;
		log->e = ne;
		log->cap = nc;
	}
	struct bd_run_entry *e = &log->e[log->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static int log_input_error(struct bd_run_log *log, const char *path, const char *msg)
{
	struct bd_run_entry *e = bd_run_log_push(log);
	if (!e || !(e->c.path = strdup(path))) {
		if (e)
			log->n--;
		fprintf(stderr, "bpfdiff: out of memory (at %s)\n", path);
		log->out_of_memory = true;
		return -ENOMEM;
	}
	e->input_error = true;
	snprintf(e->error, sizeof(e->error), "%s", msg);
	return 0;
}

struct load_ctx {
	struct bd_run_log *log;
	const char *section;
};

static int load_file(struct load_ctx *x, const char *p)
{
	struct bd_run_log *log = x->log;
	char err[512] = "";
	int elf = bd_is_elf(p);
	if (!elf && has_suffix(p, ".o")) {
		snprintf(err, sizeof(err), "%s: not an ELF object (a .o input must be built by clang -target bpf)", p);
		return log_input_error(log, p, err);
	}
	if (elf) {
		struct bd_case *cases = NULL;
		size_t n = 0;
		if (bd_case_load_elf(p, x->section, &cases, &n, err, sizeof(err)) < 0)
			return log_input_error(log, p, err);
		int rc = 0;
		for (size_t k = 0; k < n; k++) {
			struct bd_run_entry *e = rc ? NULL : bd_run_log_push(log);
			if (e) {
				e->c = cases[k];
				continue;
			}
			if (!rc) {
				fprintf(stderr, "bpfdiff: out of memory (at %s)\n", p);
				log->out_of_memory = true;
				rc = -ENOMEM;
			}
			bd_case_free(&cases[k]);
		}
		free(cases);
		return rc;
	}
	struct bd_case c;
	if (bd_case_load_data(p, &c, err, sizeof(err)) < 0)
		return log_input_error(log, p, err);
	struct bd_run_entry *e = bd_run_log_push(log);
	if (!e) {
		bd_case_free(&c);
		fprintf(stderr, "bpfdiff: out of memory (at %s)\n", p);
		log->out_of_memory = true;
		return -ENOMEM;
	}
	e->c = c;
	return 0;
}

static int found(void *arg, enum bd_found kind, const char *path, const char *msg)
{
	struct load_ctx *x = arg;
	switch (kind) {
	case BD_FOUND_FILE: return load_file(x, path);
	case BD_FOUND_ERROR: return log_input_error(x->log, path, msg);
	case BD_FOUND_NOTE: fprintf(stderr, "bpfdiff: %s\n", msg); return 0;
	}
	return 0;
}

/* Load every case a command-line PATH names: files, directories, ELF objects. */
int bd_run_log_load(struct bd_run_log *log, const char *arg, const char *section)
{
	struct load_ctx x = { log, section };
	log->disc.follow = log->follow;
	log->disc.wanted = is_case_file;
	log->disc.found = found;
	log->disc.arg = &x;
	return bd_discover(&log->disc, arg);
}

void bd_run_log_free(struct bd_run_log *log)
{
	for (size_t k = 0; k < log->n; k++) {
		bd_case_free(&log->e[k].c);
		bd_outcome_reset(&log->e[k].o);
	}
	free(log->e);
	bd_discover_end(&log->disc);
	log->e = NULL;
	log->n = log->cap = 0;
}
