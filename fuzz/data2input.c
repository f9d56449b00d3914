/* SPDX-License-Identifier: MIT */
/*
 * data2input OUTDIR FILE.data|DIR...: convert .data cases into fuzz inputs
 * (input.h: body = the case's program, memory = its `-- mem`), one file per
 * case named after it, for seeding libFuzzer and AFL++. Directories are
 * walked as `bpfdiff run` walks them (harness/discover.h), without the
 * malformed-on-purpose `negative/` suites. Cases that do not parse are skipped
 * with a message. Each input is written atomically (harness/outfile.h).
 * Exit 0 when at least one input was written and none failed to be written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "input.h"
#include "../harness/case.h"
#include "../harness/discover.h"
#include "../harness/outfile.h"

static int written, skipped, failed;

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
	struct bd_outfile of;
	if (!len) {
		fprintf(stderr, "data2input: %s: out of memory\n", path);
		failed++;
	} else if (bd_outfile_open(&of, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "data2input: cannot write %s\n", err);
		failed++;
	} else {
		fwrite(buf, 1, len, of.f);
		if (bd_outfile_commit(&of, err, sizeof(err)) < 0) {
			fprintf(stderr, "data2input: cannot write %s\n", err);
			failed++;
		} else {
			written++;
		}
	}
	free(buf);
	bd_case_free(&c);
}

static bool is_data(const char *name)
{
	size_t l = strlen(name);
	return l > 5 && !strcmp(name + l - 5, ".data");
}

static bool is_negative(const char *name)
{
	return !strcmp(name, "negative"); /* malformed on purpose: parser seeds, not programs */
}

static int found(void *arg, enum bd_found kind, const char *path, const char *msg)
{
	if (kind == BD_FOUND_FILE) {
		if (is_data(path))
			convert(arg, path);
		return 0;
	}
	fprintf(stderr, "data2input: %s\n", msg);
	if (kind == BD_FOUND_ERROR)
		failed++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR FILE.data|DIR...\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) && errno != EEXIST) {
		fprintf(stderr, "data2input: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	struct bd_discover d = { .wanted = is_data, .skip_dir = is_negative, .found = found, .arg = argv[1] };
	for (int i = 2; i < argc; i++)
		if (bd_discover(&d, argv[i]) == -ENOMEM)
			break;
	bd_discover_end(&d);
	fprintf(stderr, "data2input: %d inputs written to %s, %d skipped, %d not written\n", written, argv[1], skipped,
		failed);
	return written && !failed ? 0 : 1;
}
