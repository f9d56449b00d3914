/* SPDX-License-Identifier: MIT */
/*
 * data2input OUTDIR FILE.data|DIR...: convert .data cases into fuzz inputs
 * (input.h: body = the case's program, memory = its `-- mem`), one file per
 * case named after it, for seeding libFuzzer and AFL++. Cases that do not
 * parse are skipped with a message; exit 0 when at least one was written.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "input.h"
#include "../harness/case.h"

static int written, skipped;

static void convert(const char *outdir, const char *path)
{
	struct bd_case c;
	char err[512];
	if (bd_case_load_data(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "data2input: skip %s\n", err);
		skipped++;
		return;
	}
	size_t n = c.ninsns > BDF_MAX_BODY ? BDF_MAX_BODY : c.ninsns;
	size_t ml = c.mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : c.mem_len;
	size_t cap = 4 + n * 8 + ml;
	uint8_t *buf = malloc(cap);
	size_t len = buf ? bdf_input_encode(c.insns, n, c.mem, ml, buf, cap) : 0;
	/* Named DIR-CASE.bin: suites share case names (add.data). */
	const char *base = strrchr(path, '/'), *dir = path;
	size_t dlen = 0;
	if (base) {
		const char *p = base;
		while (p > path && p[-1] != '/')
			p--;
		dir = p;
		dlen = (size_t)(base - p);
		base++;
	} else {
		base = path;
	}
	char out[4096];
	snprintf(out, sizeof(out), "%s/%.*s%s%.*s.bin", outdir, (int)dlen, dir, dlen ? "-" : "",
		 (int)(strlen(base) - 5), base);
	FILE *f = len ? fopen(out, "wb") : NULL;
	if (f && fwrite(buf, 1, len, f) == len && fclose(f) == 0) {
		written++;
	} else {
		if (f)
			fclose(f);
		fprintf(stderr, "data2input: cannot write %s\n", out);
		skipped++;
	}
	free(buf);
	bd_case_free(&c);
}

static void walk(const char *outdir, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		size_t l = strlen(path);
		if (l > 5 && !strcmp(path + l - 5, ".data"))
			convert(outdir, path);
		return;
	}
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (strcmp(e->d_name, "negative")) /* malformed on purpose: parser seeds, not programs */
			walk(outdir, sub);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR FILE.data|DIR...\n", argv[0]);
		return 2;
	}
	mkdir(argv[1], 0755);
	for (int i = 2; i < argc; i++)
		walk(argv[1], argv[i]);
	fprintf(stderr, "data2input: %d inputs written to %s, %d skipped\n", written, argv[1], skipped);
	return written ? 0 : 1;
}
