/* SPDX-License-Identifier: MIT */
/* The cases a command line names, one at a time (files, directories, ELF
 * objects), and what a run adds up of them for its summary and reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "escape.h"
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

struct load_ctx {
	struct bd_run_log *log;
	const char *section;
	bd_case_fn fn;
	void *arg;
	struct bd_run_entry *e; /* one entry, reused: parsed, handed over, freed */
};

static int out_of_memory(struct load_ctx *x, const char *path)
{
	fprintf(stderr, "bpfdiff: out of memory (at %s)\n", path);
	x->log->out_of_memory = true;
	return -ENOMEM;
}

/* Hand the entry over, then free what it holds. */
static int hand_over(struct load_ctx *x)
{
	int rc = x->fn(x->arg, x->e);
	bd_case_free(&x->e->c);
	bd_outcome_reset(&x->e->o);
	memset(x->e, 0, sizeof(*x->e));
	return rc;
}

static int input_error(struct load_ctx *x, const char *path, const char *msg)
{
	if (!(x->e->c.path = strdup(path)))
		return out_of_memory(x, path);
	x->e->input_error = true;
	snprintf(x->e->error, sizeof(x->e->error), "%s", msg);
	return hand_over(x);
}

static int load_file(struct load_ctx *x, const char *p)
{
	char err[512] = "";
	int elf = bd_is_elf(p);
	if (!elf && has_suffix(p, ".o")) {
		snprintf(err, sizeof(err), "%s: not an ELF object (a .o input must be built by clang -target bpf)", p);
		return input_error(x, p, err);
	}
	if (!elf) {
		if (bd_case_load_data(p, &x->e->c, err, sizeof(err)) < 0)
			return input_error(x, p, err);
		return hand_over(x);
	}
	/* An object's sections are few: they are loaded together. */
	struct bd_case *cases = NULL;
	size_t n = 0;
	if (bd_case_load_elf(p, x->section, &cases, &n, err, sizeof(err)) < 0)
		return input_error(x, p, err);
	int rc = 0;
	for (size_t k = 0; k < n; k++) {
		if (rc) {
			bd_case_free(&cases[k]);
			continue;
		}
		x->e->c = cases[k];
		rc = hand_over(x);
	}
	free(cases);
	return rc;
}

static int found(void *arg, enum bd_found kind, const char *path, const char *msg)
{
	struct load_ctx *x = arg;
	switch (kind) {
	case BD_FOUND_FILE: return load_file(x, path);
	case BD_FOUND_ERROR: return input_error(x, path, msg);
	case BD_FOUND_NOTE: fprintf(stderr, "bpfdiff: %s\n", msg); return 0;
	}
	return 0;
}

int bd_run_log_load(struct bd_run_log *log, const char *arg, const char *section, bd_case_fn fn, void *fnarg)
{
	struct load_ctx x = { log, section, fn, fnarg, calloc(1, sizeof(struct bd_run_entry)) };
	if (!x.e)
		return out_of_memory(&x, arg);
	log->disc.follow = log->follow;
	log->disc.wanted = is_case_file;
	log->disc.found = found;
	log->disc.arg = &x;
	int rc = bd_discover(&log->disc, arg);
	if (rc == -ENOMEM)
		log->out_of_memory = true;
	free(x.e);
	return rc;
}

void bd_run_log_add(struct bd_run_log *log, const struct bd_session *s, const struct bd_run_entry *e)
{
	struct bd_tally *t = &log->t;
	t->cases++;
	t->failed += bd_entry_failed(log, e);
	if (e->input_error) {
		t->input_errors++;
		return;
	}
	const struct bd_outcome *o = &e->o;
	t->verdicts[o->verdict]++;
	t->finds_gone += o->find_gone;
	for (int i = 0; i < s->n; i++) {
		t->status[i][o->res[i].status]++;
		t->judged[i][o->judged[i] <= BD_J_NOT_RUN ? o->judged[i] : BD_J_NONE]++;
		t->present += o->judged[i] == BD_J_PRESENT;
		t->absent += o->judged[i] == BD_J_ABSENT;
		/* The comparison: on how many cases two backends both ran the program, and agreed exactly. */
		for (int j = i + 1; j < s->n; j++)
			if (bd_status_ran(o->res[i].status) && bd_status_ran(o->res[j].status)) {
				t->pair_ran[i][j]++;
				t->pair_agree[i][j] += bd_results_agree(&o->res[i], &o->res[j]);
			}
	}
	/* The few cases the summary names. */
	bool named = o->find_gone || o->verdict == BD_V_UNCONFIRMED;
	for (int i = 0; i < s->n; i++)
		named |= o->judged[i] == BD_J_ABSENT;
	if (!named)
		return;
	if (!log->notes && !(log->notes = open_memstream(&log->notes_buf, &log->notes_len)))
		return;
	FILE *out = log->notes;
	for (int i = 0; i < s->n; i++)
		if (o->judged[i] == BD_J_ABSENT) {
			fprintf(out, "  known deviation absent here (fixed on this kernel?): %s on %s: ", e->c.path,
				s->slot[i].name);
			bd_fputs_oneline(out, o->decl[i] && o->decl[i]->reason ? o->decl[i]->reason : "");
			fputc('\n', out);
		}
	if (o->find_gone)
		fprintf(out, "  unconfirmed find no longer reproduces here: %s (%s)\n", e->c.path,
			e->c.signature ? bd_signature_key(e->c.signature) : "no signature");
	if (o->verdict == BD_V_UNCONFIRMED)
		fprintf(out, "  unconfirmed find reproduces (review it): %s: %s\n", e->c.path, o->reason);
}

void bd_run_log_free(struct bd_run_log *log)
{
	if (log->notes)
		fclose(log->notes);
	free(log->notes_buf);
	log->notes = NULL;
	log->notes_buf = NULL;
	bd_discover_end(&log->disc);
}
