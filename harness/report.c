/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"
#include "escape.h"
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
	if (v == BD_V_DISCREPANCY || v == BD_V_SOUNDNESS || v == BD_V_KERNEL_WARNING || v == BD_V_ERROR)
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

/* What every report counts, counted once. */
struct tally {
	size_t status[BD_MAX_BACKENDS][BD_STATUS_COUNT]; /* per backend, per status */
	size_t verdicts[BD_V_COUNT];
	size_t present, absent, finds_gone; /* declared deviations seen / not seen; unconfirmed finds gone */
	size_t input_errors, failed;
};

static void tally(const struct bd_session *s, const struct bd_run_log *log, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t k = 0; k < log->n; k++) {
		const struct bd_run_entry *e = &log->e[k];
		t->failed += bd_entry_failed(log, e);
		if (e->input_error) {
			t->input_errors++;
			continue;
		}
		t->verdicts[e->o.verdict]++;
		t->finds_gone += e->o.find_gone;
		for (int i = 0; i < s->n; i++) {
			t->status[i][e->o.res[i].status]++;
			t->present += e->o.judged[i] == BD_J_PRESENT;
			t->absent += e->o.judged[i] == BD_J_ABSENT;
		}
	}
}

void bd_report_summary(FILE *out, const struct bd_session *s, const struct bd_run_log *log)
{
	enum { NST = BD_STATUS_COUNT };
	struct tally t;
	tally(s, log, &t);
	fprintf(out, "\n%-22s", "backend");
	for (int st = 0; st < NST; st++)
		fprintf(out, " %11s", bd_status_name(st));
	fputc('\n', out);
	for (int i = 0; i < s->n; i++) {
		fprintf(out, "%-22s", s->slot[i].name);
		for (int st = 0; st < NST; st++)
			fprintf(out, " %11zu", t.status[i][st]);
		fputc('\n', out);
	}
	/* The comparison: for each pair of backends, on how many cases both ran
	 * the program (ok/fault/timeout) and how many of those agree exactly. */
	if (s->n > 1) {
		fputc('\n', out);
		for (int i = 0; i < s->n; i++)
			for (int j = i + 1; j < s->n; j++) {
				size_t both = 0, same = 0;
				for (size_t k = 0; k < log->n; k++) {
					const struct bd_run_entry *e = &log->e[k];
					if (e->input_error)
						continue;
					const struct bd_result *a = &e->o.res[i], *b = &e->o.res[j];
					if (!bd_status_ran(a->status) || !bd_status_ran(b->status))
						continue;
					both++;
					same += bd_results_agree(a, b);
				}
				fprintf(out, "%s vs %s: %zu cases ran on both, %zu agree exactly (status, r0, memory), %zu differ\n",
					s->slot[i].name, s->slot[j].name, both, same, both - same);
			}
	}
	if (t.present || t.absent || t.finds_gone || t.verdicts[BD_V_UNCONFIRMED])
		fprintf(out, "\nknown deviations: %zu present, %zu absent here; unconfirmed finds: %zu reproduce, %zu no "
			     "longer reproduce here\n",
			t.present, t.absent, t.verdicts[BD_V_UNCONFIRMED], t.finds_gone);
	for (size_t k = 0; k < log->n; k++) {
		const struct bd_run_entry *e = &log->e[k];
		if (e->input_error)
			continue;
		for (int i = 0; i < s->n; i++)
			if (e->o.judged[i] == BD_J_ABSENT)
				fprintf(out, "  known deviation absent here (fixed on this kernel?): %s on %s: %.*s\n",
					e->c.path, s->slot[i].name,
					e->o.decl[i] && e->o.decl[i]->reason ? (int)strcspn(e->o.decl[i]->reason, "\n") : 0,
					e->o.decl[i] && e->o.decl[i]->reason ? e->o.decl[i]->reason : "");
		if (e->o.find_gone)
			fprintf(out, "  unconfirmed find no longer reproduces here: %s (%s)\n", e->c.path,
				e->c.signature ? bd_signature_key(e->c.signature) : "no signature");
		if (e->o.verdict == BD_V_UNCONFIRMED)
			fprintf(out, "  unconfirmed find reproduces (review it): %s: %s\n", e->c.path, e->o.reason);
	}
	fprintf(out, "\n%zu cases in %.3f s: ", log->n, log->seconds);
	const char *sep = "";
	for (int v = 0; v < BD_V_COUNT; v++)
		if (t.verdicts[v] || v == BD_V_PASS) {
			fprintf(out, "%s%zu %s", sep, t.verdicts[v], bd_verdict_name(v));
			sep = ", ";
		}
	if (t.input_errors)
		fprintf(out, "%s%zu input error%s", sep, t.input_errors, t.input_errors == 1 ? "" : "s");
	fputc('\n', out);
}

static void json_hex(FILE *f, const uint8_t *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
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

int bd_report_json(FILE *f, const struct bd_session *s, const struct bd_run_log *log)
{
	char name[4096];
	fputs("{\n  \"cases\": [", f);
	for (size_t k = 0; k < log->n; k++) {
		const struct bd_run_entry *e = &log->e[k];
		fprintf(f, "%s\n    {\"file\": ", k ? "," : "");
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
			const struct bd_result *r = &e->o.res[i];
			fprintf(f, "%s\n      ", i ? "," : "");
			bd_json_str(f, s->slot[i].name);
			fprintf(f, ": {\"status\": \"%s\", \"r0\": \"0x%llx\", \"message\": ",
				bd_status_name(r->status), (unsigned long long)r->r0);
			bd_json_str(f, r->message);
			if (r->has_insns)
				fprintf(f, ", \"insns\": %llu", (unsigned long long)r->insns);
			if (r->status == BD_CRASH && r->signal > 0)
				fprintf(f, ", \"signal\": %d", r->signal);
			if (r->warning[0]) {
				fputs(", \"kernel_warning\": ", f);
				bd_json_str(f, r->warning);
			}
			fprintf(f, ", \"duration_ns\": %llu", (unsigned long long)r->duration_ns);
			if (r->mem && r->mem_len <= 4096) {
				fputs(", \"mem\": ", f);
				json_hex(f, r->mem, r->mem_len);
			}
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
		fputc('}', f);
	}
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
	struct tally t;
	tally(s, log, &t);
	fprintf(f, "\"cases\": %zu, \"failed\": %zu, \"input_errors\": %zu, \"seconds\": %.6f", log->n,
		t.failed, t.input_errors, log->seconds);
	for (int v = 0; v < BD_V_COUNT; v++) {
		fputs(", ", f);
		bd_json_str(f, v == BD_V_SOUNDNESS ? "soundness" : bd_verdict_name(v));
		fprintf(f, ": %zu", t.verdicts[v]);
	}
	fputs(", \"backends\": {", f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		bd_json_str(f, s->slot[i].name);
		fputs(": {", f);
		for (int x = 0; x < BD_STATUS_COUNT; x++)
			fprintf(f, "%s\"%s\": %zu", x ? ", " : "", bd_status_name(x), t.status[i][x]);
		if (!s->slot[i].b) {
			fputs(", \"unavailable_reason\": ", f);
			bd_json_str(f, s->slot[i].why);
		}
		fputc('}', f);
	}
	fputs("}}\n}\n", f);
	return ferror(f) ? -EIO : 0;
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
int bd_report_junit(FILE *f, const struct bd_session *s, const struct bd_run_log *log)
{
	size_t tests = 0, failures = 0, skipped = 0;
	for (size_t k = 0; k < log->n; k++)
		for (int i = 0; i < s->n; i++) {
			tests++;
			const struct bd_run_entry *e = &log->e[k];
			if (failed_on(log, e, i))
				failures++;
			else if (e->o.res[i].status == BD_UNAVAILABLE || e->o.res[i].status == BD_UNSUPPORTED)
				skipped++;
		}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"bpfdiff\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		tests, failures, skipped, log->seconds);
	char name[4096];
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "  <testsuite name=\"");
		bd_xml_str(f, s->slot[i].name);
		fprintf(f, "\" tests=\"%zu\">\n", log->n);
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
		for (size_t k = 0; k < log->n; k++) {
			const struct bd_run_entry *e = &log->e[k];
			const struct bd_result *r = &e->o.res[i];
			fprintf(f, "    <testcase classname=\"bpfdiff.");
			bd_xml_str(f, s->slot[i].name);
			fprintf(f, "\" name=\"");
			bd_xml_str(f, display_name(e, name, sizeof(name)));
			fprintf(f, "\" time=\"%.6f\">", e->input_error ? 0.0 : r->duration_ns / 1e9);
			if (failed_on(log, e, i)) {
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
			} else if (r->status == BD_UNAVAILABLE || r->status == BD_UNSUPPORTED) {
				fprintf(f, "<skipped message=\"");
				bd_xml_str(f, r->message);
				fprintf(f, "\"/>");
			} else if (r->status != BD_OK) {
				fprintf(f, "<system-out>");
				bd_xml_str(f, bd_status_name(r->status));
				fputs(": ", f);
				bd_xml_str(f, r->message);
				fprintf(f, "</system-out>");
			}
			fprintf(f, "</testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return ferror(f) ? -EIO : 0;
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

/* A summary for a CI job page ($GITHUB_STEP_SUMMARY): the verdict, where the
 * results come from, per-backend tables, the first failures with a command
 * that reproduces each. Nothing links outside the page. */
int bd_report_markdown(FILE *f, const struct bd_session *s, const struct bd_run_log *log)
{
	struct tally t;
	tally(s, log, &t);
	fprintf(f, "## bpfdiff: %s\n\n", t.failed ? "failures" : "all green");
	fprintf(f, "%zu cases in %.3f s, %zu failed (--fail-on %s).\n\n", log->n, log->seconds, t.failed,
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
		size_t n[NJ] = { 0 };
		for (size_t k = 0; k < log->n; k++)
			if (!log->e[k].input_error)
				n[log->e[k].o.judged[i] < NJ ? log->e[k].o.judged[i] : BD_J_NONE]++;
		fprintf(f, "| %s |", s->slot[i].name);
		for (int j = 0; j < NJ; j++)
			fprintf(f, " %zu |", n[j]);
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
			fprintf(f, " %zu |", t.status[i][x]);
		fputc('\n', f);
	}
	fprintf(f, "\n| verdict | cases |\n|---|---:|\n");
	for (int v = 0; v < BD_V_COUNT; v++)
		if (t.verdicts[v])
			fprintf(f, "| %s | %zu |\n", bd_verdict_name(v), t.verdicts[v]);
	if (t.input_errors)
		fprintf(f, "| input error | %zu |\n", t.input_errors);
	if (t.present || t.absent || t.finds_gone)
		fprintf(f, "\nKnown deviations: %zu present, %zu absent here; unconfirmed finds no longer reproducing: %zu.\n",
			t.present, t.absent, t.finds_gone);
	if (t.failed) {
		fprintf(f, "\n### Failures (first %d of %zu)\n\n", t.failed < MD_MAX_FAILURES ? (int)t.failed : MD_MAX_FAILURES,
			t.failed);
		char name[4096];
		size_t shown = 0;
		for (size_t k = 0; k < log->n && shown < MD_MAX_FAILURES; k++) {
			const struct bd_run_entry *e = &log->e[k];
			if (!bd_entry_failed(log, e))
				continue;
			shown++;
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
	}
	return ferror(f) ? -EIO : 0;
}
