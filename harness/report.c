/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"
#include "escape.h"
#include "outfile.h"
#include "report.h"

int bd_fail_on_parse(const char *s)
{
	return !strcmp(s, "discrepancy") ? BD_FAIL_ON_DISCREPANCY
	       : !strcmp(s, "fail")      ? BD_FAIL_ON_FAIL
	       : !strcmp(s, "any")       ? BD_FAIL_ON_ANY
					 : -1;
}

bool bd_entry_failed(const struct bd_run_log *log, const struct bd_run_entry *e)
{
	enum bd_verdict v = e->o.verdict;
	if (e->input_error)
		return true;
	if (v == BD_V_DISCREPANCY || v == BD_V_SOUNDNESS || v == BD_V_KERNEL_WARNING || v == BD_V_ERROR ||
	    v == BD_V_UNSOUND)
		return true;
	switch (log->fail_on) {
	case BD_FAIL_ON_DISCREPANCY:
		return false;
	case BD_FAIL_ON_FAIL:
		return bd_verdict_is_bad(v) || (log->strict && (v == BD_V_REJECTED || v == BD_V_SKIPPED));
	case BD_FAIL_ON_ANY:
		return v != BD_V_PASS;
	}
	return true;
}

const char *bd_entry_verdict(const struct bd_run_log *log, const struct bd_run_entry *e)
{
	(void)log;
	return e->input_error ? "input error" : bd_verdict_name(e->o.verdict);
}

static const char *display_name(const struct bd_run_entry *e, char *buf, size_t len)
{
	if (e->c.section)
		snprintf(buf, len, "%s:%s", e->c.path, e->c.section);
	else
		snprintf(buf, len, "%s", e->c.path ? e->c.path : "?");
	return buf;
}

void bd_report_summary(FILE *out, const struct bd_session *s, const struct bd_run_log *log)
{
	enum { NST = BD_STATUS_COUNT };
	const struct bd_tally *t = &log->t;
	fprintf(out, "\n%-22s", "backend");
	for (int st = 0; st < NST; st++)
		fprintf(out, " %11s", bd_status_name(st));
	fputc('\n', out);
	for (int i = 0; i < s->n; i++) {
		fprintf(out, "%-22s", s->slot[i].name);
		for (int st = 0; st < NST; st++)
			fprintf(out, " %11zu", t->status[i][st]);
		fputc('\n', out);
	}
	/* The comparison: for each pair of backends, on how many cases both ran
	 * the program (ok/fault/timeout) and how many of those agree exactly. */
	if (s->n > 1) {
		fputc('\n', out);
		for (int i = 0; i < s->n; i++)
			for (int j = i + 1; j < s->n; j++)
				fprintf(out, "%s vs %s: %zu cases ran on both, %zu agree exactly (status, r0, memory), %zu differ\n",
					s->slot[i].name, s->slot[j].name, t->pair_ran[i][j], t->pair_agree[i][j],
					t->pair_ran[i][j] - t->pair_agree[i][j]);
	}
	if (t->present || t->absent || t->finds_gone || t->verdicts[BD_V_UNCONFIRMED])
		fprintf(out, "\nknown deviations: %zu present, %zu absent here; unconfirmed finds: %zu reproduce, %zu no "
			     "longer reproduce here\n",
			t->present, t->absent, t->verdicts[BD_V_UNCONFIRMED], t->finds_gone);
	if (s->cfg.verifier_states)
		fprintf(out, "\nverifier oracle: %llu accepted cases judged, %llu register values checked against the "
			     "verifier's states; %llu runs judged only up to where they left the paths the verifier "
			     "explored (a pruned step, or one it never took); %llu not judged (no log, or the uvm did not "
			     "run it)\n",
			(unsigned long long)s->oracle_runs, (unsigned long long)s->oracle_judged,
			(unsigned long long)s->oracle_stopped, (unsigned long long)s->oracle_skipped);
	if (log->notes && !fflush(log->notes) && log->notes_buf)
		bd_fputs_escaped(out, log->notes_buf);
	fprintf(out, "\n%zu cases in %.3f s: ", t->cases, log->seconds);
	const char *sep = "";
	for (int v = 0; v < BD_V_COUNT; v++)
		if (t->verdicts[v] || v == BD_V_PASS) {
			fprintf(out, "%s%zu %s", sep, t->verdicts[v], bd_verdict_name(v));
			sep = ", ";
		}
	if (t->input_errors)
		fprintf(out, "%s%zu input error%s", sep, t->input_errors, t->input_errors == 1 ? "" : "s");
	fputc('\n', out);
}

/* --- the report files, written as cases complete --------------------------- */

struct bd_report {
	enum bd_report_format fmt;
	struct bd_outfile out;
	size_t ncases;
	/* JUnit: one testsuite per backend, but cases come one at a time: each
	 * backend's testcases go to a scratch file next to the report, copied
	 * into it at the end after the totals. */
	FILE *suite[BD_MAX_BACKENDS];
	int nsuites;
	size_t tests, failures, skipped;
	int scratch_error;
	/* markdown: the first failures, ready to print */
	FILE *md_failures;
	char *md_buf;
	size_t md_len, md_shown;
};

static void json_hex(FILE *f, const uint8_t *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

/* "maps": {"NAME": [["KEY HEX", "VALUE HEX"], ...], ...}: each map's contents
 * after the run, as long as all of them fit in 64 KiB of values. */
static void json_maps(FILE *f, const struct bd_case *c, const struct bd_result *r)
{
	size_t bytes = 0;
	for (int i = 0; i < r->nmaps && i < c->nmaps; i++)
		bytes += r->maps[i].n * ((size_t)c->maps[i].key_size + c->maps[i].value_size);
	if (!r->maps || bytes > 65536)
		return;
	fputs(", \"maps\": {", f);
	for (int i = 0; i < r->nmaps && i < c->nmaps; i++) {
		fprintf(f, "%s", i ? ", " : "");
		bd_json_str(f, c->maps[i].name);
		fputs(": [", f);
		for (size_t e = 0; e < r->maps[i].n; e++) {
			fputs(e ? ", [" : "[", f);
			json_hex(f, r->maps[i].e[e].key, c->maps[i].key_size);
			fputs(", ", f);
			json_hex(f, r->maps[i].e[e].value, c->maps[i].value_size);
			fputc(']', f);
		}
		fputc(']', f);
	}
	fputc('}', f);
}

/* {"release", "arch", "jit", "jit_harden", "reg_invariants", "detail"}; unknowns are null. */
static void json_env(FILE *f, const struct bd_env *e)
{
	fputs("{\"release\": ", f);
	if (e->release[0])
		bd_json_str(f, e->release);
	else
		fputs("null", f);
	fputs(", \"arch\": ", f);
	if (e->arch[0])
		bd_json_str(f, e->arch);
	else
		fputs("null", f);
	fprintf(f, ", \"jit\": %s", e->jit < 0 ? "null" : e->jit ? "true" : "false");
	if (e->jit_harden < 0)
		fputs(", \"jit_harden\": null", f);
	else
		fprintf(f, ", \"jit_harden\": %d", e->jit_harden);
	fprintf(f, ", \"reg_invariants\": %s", e->reg_invariants < 0 ? "null" : e->reg_invariants ? "true" : "false");
	fputs(", \"detail\": ", f);
	bd_json_str(f, e->detail);
	fputc('}', f);
}

static void json_case(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log,
		      const struct bd_run_entry *e)
{
	FILE *f = r->out.f;
	char name[4096];
	fprintf(f, "%s\n    {\"file\": ", r->ncases ? "," : "");
	bd_json_str(f, display_name(e, name, sizeof(name)));
	fputs(", \"expected\": ", f);
	if (!e->input_error && e->c.has_result)
		fprintf(f, "\"0x%llx\"", (unsigned long long)e->c.result);
	else
		fputs("null", f);
	if (!e->input_error && e->c.has_error) {
		fputs(", \"expected_error\": ", f);
		bd_json_str(f, e->c.error);
	}
	fputs(", \"results\": {", f);
	for (int i = 0; i < s->n && !e->input_error; i++) {
		const struct bd_result *res = &e->o.res[i];
		fprintf(f, "%s\n      ", i ? "," : "");
		bd_json_str(f, s->slot[i].name);
		fprintf(f, ": {\"status\": \"%s\", \"r0\": \"0x%llx\", \"message\": ", bd_status_name(res->status),
			(unsigned long long)res->r0);
		bd_json_str(f, res->message);
		if (res->has_insns)
			fprintf(f, ", \"insns\": %llu", (unsigned long long)res->insns);
		if (res->status == BD_CRASH && res->signal > 0)
			fprintf(f, ", \"signal\": %d", res->signal);
		if (res->warning[0]) {
			fputs(", \"kernel_warning\": ", f);
			bd_json_str(f, res->warning);
		}
		fprintf(f, ", \"duration_ns\": %llu", (unsigned long long)res->duration_ns);
		if (res->mem && res->mem_len <= 4096) {
			fputs(", \"mem\": ", f);
			json_hex(f, res->mem, res->mem_len);
		}
		json_maps(f, &e->c, res);
		fputc('}', f);
	}
	fputs("}, \"verdict\": ", f);
	bd_json_str(f, bd_entry_verdict(log, e));
	fprintf(f, ", \"failed\": %s, \"reason\": ", bd_entry_failed(log, e) ? "true" : "false");
	bd_json_str(f, e->input_error ? e->error : e->o.reason);
	if (!e->input_error && e->o.signature[0]) {
		fputs(", \"signature\": ", f);
		bd_json_str(f, e->o.signature);
	}
	if (!e->input_error && e->o.first_mem_diff >= 0)
		fprintf(f, ", \"first_mem_diff\": %d", e->o.first_mem_diff);
	const struct bd_oracle_result *vo = &e->o.oracle;
	if (!e->input_error && (vo->checked || vo->skipped[0])) {
		fprintf(f, ", \"verifier_oracle\": {\"checked\": %s, \"judged\": %llu", vo->checked ? "true" : "false",
			(unsigned long long)vo->judged);
		if (vo->skipped[0]) {
			fputs(", \"skipped\": ", f);
			bd_json_str(f, vo->skipped);
		}
		if (vo->stopped)
			fprintf(f, ", \"stopped_at_insn\": %u", vo->stopped_pc);
		if (vo->found) {
			fprintf(f, ", \"unsound\": {\"insn\": %u, \"reg\": \"r%d\", \"value\": \"0x%llx\", \"claims\": ", vo->pc,
				vo->reg, (unsigned long long)vo->value);
			bd_json_str(f, vo->claim);
			fprintf(f, ", \"kernel_agrees_with_uvm\": %s}",
				vo->kernel_agrees < 0 ? "null" : vo->kernel_agrees ? "true" : "false");
		}
		fputc('}', f);
	}
	if (!e->input_error && e->o.first_map_diff >= 0 && e->o.first_map_diff < e->c.nmaps) {
		const struct bd_map *m = &e->c.maps[e->o.first_map_diff];
		fputs(", \"first_map_diff\": {\"map\": ", f);
		bd_json_str(f, m->name);
		fputs(", \"key\": ", f);
		json_hex(f, e->o.map_diff_key, m->key_size);
		fprintf(f, ", \"byte\": %ld}", e->o.map_diff_byte);
	}
	fputc('}', f);
}

static void json_end(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log)
{
	FILE *f = r->out.f;
	const struct bd_tally *t = &log->t;
	fputs("\n  ],\n  \"environment\": {\"bpfdiff\": ", f);
	bd_json_str(f, bd_version());
	fputs(", \"libbpf\": ", f);
	bd_json_str(f, bd_libbpf_version());
	struct bd_env host;
	bd_env_host(&host);
	fputs(", \"host\": ", f);
	json_env(f, &host);
	fputs(", \"backends\": {", f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		bd_json_str(f, s->slot[i].name);
		fputs(": ", f);
		json_env(f, &s->slot[i].env);
	}
	fputs("}},\n  \"summary\": {", f);
	fprintf(f, "\"cases\": %zu, \"failed\": %zu, \"input_errors\": %zu, \"seconds\": %.6f", t->cases, t->failed,
		t->input_errors, log->seconds);
	for (int v = 0; v < BD_V_COUNT; v++) {
		fputs(", ", f);
		bd_json_str(f, v == BD_V_SOUNDNESS ? "soundness" : bd_verdict_name(v));
		fprintf(f, ": %zu", t->verdicts[v]);
	}
	if (s->cfg.verifier_states)
		fprintf(f, ", \"verifier_oracle\": {\"judged_cases\": %llu, \"judged_values\": %llu, \"stopped_early\": %llu, "
			   "\"not_judged\": %llu}",
			(unsigned long long)s->oracle_runs, (unsigned long long)s->oracle_judged,
			(unsigned long long)s->oracle_stopped, (unsigned long long)s->oracle_skipped);
	fputs(", \"backends\": {", f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		bd_json_str(f, s->slot[i].name);
		fputs(": {", f);
		for (int x = 0; x < BD_STATUS_COUNT; x++)
			fprintf(f, "%s\"%s\": %zu", x ? ", " : "", bd_status_name(x), t->status[i][x]);
		if (!s->slot[i].b) {
			fputs(", \"unavailable_reason\": ", f);
			bd_json_str(f, s->slot[i].why);
		}
		fputc('}', f);
	}
	fputs("}}\n}\n", f);
}

/* Is the entry's failure this backend's doing? The backends the diff
 * attributes it to; for a strict replay's unexplained refusal or skip, the
 * backends that refused or could not run; every backend for an input error. */
static bool failed_on(const struct bd_run_log *log, const struct bd_run_entry *e, int i)
{
	if (!bd_entry_failed(log, e))
		return false;
	if (e->input_error)
		return true;
	bool any = false;
	for (int j = 0; j < BD_MAX_BACKENDS; j++)
		any |= e->o.deviated[j];
	if (any)
		return e->o.deviated[i];
	enum bd_status st = e->o.res[i].status;
	return e->o.judged[i] == BD_J_REFUSED || st == BD_UNAVAILABLE || st == BD_UNSUPPORTED || st == BD_REJECTED;
}

static void junit_property(FILE *f, const char *name, const char *value)
{
	fputs("      <property name=\"", f);
	bd_xml_str(f, name);
	fputs("\" value=\"", f);
	bd_xml_str(f, value);
	fputs("\"/>\n", f);
}

/* One testcase per case and backend; a failure carries the diff report and
 * is attributed to the backends that deviated. */
static void junit_case(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log,
		       const struct bd_run_entry *e)
{
	if (r->scratch_error)
		return;
	for (; r->nsuites < s->n; r->nsuites++)
		if (!(r->suite[r->nsuites] = bd_outfile_scratch(&r->out))) {
			r->scratch_error = errno ? errno : EIO;
			return;
		}
	char name[4096];
	for (int i = 0; i < s->n; i++) {
		FILE *f = r->suite[i];
		const struct bd_result *res = &e->o.res[i];
		r->tests++;
		fprintf(f, "    <testcase classname=\"bpfdiff.");
		bd_xml_str(f, s->slot[i].name);
		fprintf(f, "\" name=\"");
		bd_xml_str(f, display_name(e, name, sizeof(name)));
		fprintf(f, "\" time=\"%.6f\">", e->input_error ? 0.0 : res->duration_ns / 1e9);
		if (failed_on(log, e, i)) {
			r->failures++;
			fprintf(f, "\n      <failure message=\"");
			bd_xml_str(f, bd_entry_verdict(log, e));
			fputs(": ", f);
			bd_xml_str(f, e->input_error ? e->error : e->o.reason);
			fprintf(f, "\">");
			if (!e->input_error) {
				char *buf = NULL;
				size_t len = 0;
				FILE *m = open_memstream(&buf, &len);
				if (m) {
					bd_outcome_report(m, s, &e->c, &e->o);
					fclose(m);
					bd_xml_str(f, buf);
					free(buf);
				}
			}
			fprintf(f, "</failure>\n    ");
		} else if (res->status == BD_UNAVAILABLE || res->status == BD_UNSUPPORTED) {
			r->skipped++;
			fprintf(f, "<skipped message=\"");
			bd_xml_str(f, res->message);
			fprintf(f, "\"/>");
		} else if (res->status != BD_OK) {
			fprintf(f, "<system-out>");
			bd_xml_str(f, bd_status_name(res->status));
			fputs(": ", f);
			bd_xml_str(f, res->message);
			fprintf(f, "</system-out>");
		}
		fprintf(f, "</testcase>\n");
	}
}

/* The totals, then each backend's testsuite: its environment and its testcases. */
static int junit_end(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log)
{
	FILE *f = r->out.f;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"bpfdiff\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		r->tests, r->failures, r->skipped, log->seconds);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "  <testsuite name=\"");
		bd_xml_str(f, s->slot[i].name);
		fprintf(f, "\" tests=\"%zu\">\n", r->ncases);
		const struct bd_env *env = &s->slot[i].env;
		char num[32];
		fputs("    <properties>\n", f);
		junit_property(f, "bpfdiff.version", bd_version());
		junit_property(f, "libbpf.version", bd_libbpf_version());
		if (env->release[0])
			junit_property(f, "kernel.release", env->release);
		if (env->arch[0])
			junit_property(f, "arch", env->arch);
		if (env->jit >= 0)
			junit_property(f, "jit", env->jit ? "on" : "off");
		if (env->jit_harden >= 0) {
			snprintf(num, sizeof(num), "%d", env->jit_harden);
			junit_property(f, "jit_harden", num);
		}
		if (env->reg_invariants >= 0)
			junit_property(f, "reg_invariants", env->reg_invariants ? "checked" : "not supported");
		if (env->detail[0])
			junit_property(f, "detail", env->detail);
		if (!s->slot[i].b)
			junit_property(f, "unavailable", s->slot[i].why);
		fputs("    </properties>\n", f);
		if (i < r->nsuites) {
			FILE *part = r->suite[i];
			char buf[65536];
			size_t n;
			if (fflush(part) || ferror(part) || fseek(part, 0, SEEK_SET))
				return -(errno ? errno : EIO);
			while ((n = fread(buf, 1, sizeof(buf), part)) > 0)
				fwrite(buf, 1, n, f);
			if (ferror(part))
				return -EIO;
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return 0;
}

/* Text for a markdown table cell or list item: no pipes, backticks, HTML or
 * line breaks from case names and messages. */
static void md_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '|' || ch == '`' || ch == '<' || ch == '>' || ch == '*' || ch == '_' || ch == '[' || ch == ']')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fputc(' ', f);
		else
			fputc(ch, f);
	}
}

#define MD_MAX_FAILURES 20

/* A word a POSIX shell reads back as it is: quoted unless plainly safe. */
static void shell_word(FILE *f, const char *w)
{
	if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,+=@%-") == strlen(w)) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", f);
		else if ((unsigned char)*w >= 0x20 && *w != 0x7f)
			fputc(*w, f);
		else
			fputc('?', f); /* a control character would break the fence */
	}
	fputc('\'', f);
}

/* The first failures, each with a command that reproduces it. */
static void md_case(struct bd_report *r, const struct bd_run_log *log, const struct bd_run_entry *e)
{
	if (!bd_entry_failed(log, e) || r->md_shown >= MD_MAX_FAILURES)
		return;
	if (!r->md_failures && !(r->md_failures = open_memstream(&r->md_buf, &r->md_len)))
		return;
	FILE *f = r->md_failures;
	char name[4096];
	r->md_shown++;
	fputs("- ", f);
	md_text(f, display_name(e, name, sizeof(name)));
	fprintf(f, " — **%s**: ", bd_entry_verdict(log, e));
	md_text(f, e->input_error ? e->error : e->o.reason);
	fputs("\n\n  ```\n  bpfdiff run -v", f);
	if (log->backends[0]) {
		fputs(" -b ", f);
		shell_word(f, log->backends);
	}
	if (e->c.section) {
		fputs(" --section ", f);
		shell_word(f, e->c.section);
	}
	fputc(' ', f);
	shell_word(f, e->c.path ? e->c.path : "?");
	fputs("\n  ```\n", f);
}

/* A summary for a CI job page ($GITHUB_STEP_SUMMARY): the verdict, where the
 * results come from, per-backend tables, the first failures with a command
 * that reproduces each. Nothing links outside the page. */
static void md_end(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log)
{
	FILE *f = r->out.f;
	const struct bd_tally *t = &log->t;
	fprintf(f, "## bpfdiff: %s\n\n", t->failed ? "failures" : "all green");
	fprintf(f, "%zu cases in %.3f s, %zu failed (--fail-on %s).\n\n", t->cases, log->seconds, t->failed,
		log->fail_on == BD_FAIL_ON_DISCREPANCY ? "discrepancy" : log->fail_on == BD_FAIL_ON_ANY ? "any" : "fail");
	fprintf(f, "bpfdiff %s, libbpf %s\n\n", bd_version(), bd_libbpf_version());
	fprintf(f, "| backend | environment |\n|---|---|\n");
	for (int i = 0; i < s->n; i++) {
		char env[512];
		bd_env_describe(&s->slot[i].env, env, sizeof(env));
		fprintf(f, "| %s | ", s->slot[i].name);
		md_text(f, s->slot[i].b ? env : s->slot[i].why);
		fprintf(f, " |\n");
	}
	/* How each backend stands against the cases. */
	static const char *const judged_name[] = {
		[BD_J_NONE] = "compared only", [BD_J_MET] = "met RFC result", [BD_J_PRESENT] = "known deviation present",
		[BD_J_ABSENT] = "known deviation absent", [BD_J_REFUSED] = "refused (allowed)",
		[BD_J_UNCHECKED] = "memory not checked", [BD_J_FAILED] = "failed", [BD_J_NOT_RUN] = "not run",
	};
	enum { NJ = BD_J_NOT_RUN + 1 };
	fprintf(f, "\n| backend |");
	for (int j = 0; j < NJ; j++)
		fprintf(f, " %s |", judged_name[j]);
	fprintf(f, "\n|---|");
	for (int j = 0; j < NJ; j++)
		fprintf(f, "---:|");
	fputc('\n', f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "| %s |", s->slot[i].name);
		for (int j = 0; j < NJ; j++)
			fprintf(f, " %zu |", t->judged[i][j]);
		fputc('\n', f);
	}
	fprintf(f, "\n| backend |");
	for (int x = 0; x < BD_STATUS_COUNT; x++)
		fprintf(f, " %s |", bd_status_name(x));
	fprintf(f, "\n|---|");
	for (int x = 0; x < BD_STATUS_COUNT; x++)
		fprintf(f, "---:|");
	fputc('\n', f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "| %s |", s->slot[i].name);
		for (int x = 0; x < BD_STATUS_COUNT; x++)
			fprintf(f, " %zu |", t->status[i][x]);
		fputc('\n', f);
	}
	fprintf(f, "\n| verdict | cases |\n|---|---:|\n");
	for (int v = 0; v < BD_V_COUNT; v++)
		if (t->verdicts[v])
			fprintf(f, "| %s | %zu |\n", bd_verdict_name(v), t->verdicts[v]);
	if (t->input_errors)
		fprintf(f, "| input error | %zu |\n", t->input_errors);
	if (t->present || t->absent || t->finds_gone)
		fprintf(f, "\nKnown deviations: %zu present, %zu absent here; unconfirmed finds no longer reproducing: %zu.\n",
			t->present, t->absent, t->finds_gone);
	if (t->failed) {
		fprintf(f, "\n### Failures (first %zu of %zu)\n\n", r->md_shown, t->failed);
		if (r->md_failures && !fflush(r->md_failures) && r->md_buf)
			fputs(r->md_buf, f);
	}
}

int bd_report_open(struct bd_report **out, enum bd_report_format fmt, const char *path, char *err, size_t errlen)
{
	struct bd_report *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r->fmt = fmt;
	int rc = bd_outfile_open(&r->out, path, err, errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	if (fmt == BD_REPORT_JSON)
		fputs("{\n  \"cases\": [", r->out.f);
	*out = r;
	return 0;
}

void bd_report_case(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log,
		    const struct bd_run_entry *e)
{
	switch (r->fmt) {
	case BD_REPORT_JSON: json_case(r, s, log, e); break;
	case BD_REPORT_JUNIT: junit_case(r, s, log, e); break;
	case BD_REPORT_MARKDOWN: md_case(r, log, e); break;
	}
	r->ncases++;
}

static void free_parts(struct bd_report *r)
{
	for (int i = 0; i < r->nsuites; i++)
		if (r->suite[i])
			fclose(r->suite[i]);
	if (r->md_failures)
		fclose(r->md_failures);
	free(r->md_buf);
}

int bd_report_finish(struct bd_report *r, const struct bd_session *s, const struct bd_run_log *log, char *err,
		     size_t errlen)
{
	int rc = -r->scratch_error;
	switch (r->fmt) {
	case BD_REPORT_JSON: json_end(r, s, log); break;
	case BD_REPORT_JUNIT:
		if (!rc)
			rc = junit_end(r, s, log);
		break;
	case BD_REPORT_MARKDOWN: md_end(r, s, log); break;
	}
	free_parts(r);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s (nothing written; an existing file is unchanged)", r->out.path,
			 strerror(-rc));
		bd_outfile_discard(&r->out);
	} else {
		rc = bd_outfile_commit(&r->out, err, errlen);
	}
	free(r);
	return rc;
}

void bd_report_discard(struct bd_report *r)
{
	if (!r)
		return;
	free_parts(r);
	bd_outfile_discard(&r->out);
	free(r);
}
