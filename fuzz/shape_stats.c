/* SPDX-License-Identifier: MIT */
/*
 * Kernel acceptance per shape, without a campaign:
 *   bpf_diff_shapes [N [SHAPE...]]
 * For every shape (or those named; `none` = no shape), N inputs (default
 * 200) of a random 0..8-instruction body with one marker of that shape run
 * through the fuzz target (LLVMFuzzerTestOneInput, BPFDIFF_BACKENDS as for
 * the fuzzer), then the fuzzer's summary with the per-shape table (bpf_diff.c): inputs,
 * how many ran ok on the first backend, kernel runs, accepted, percentage.
 * BPFDIFF_SHAPES_SEED changes the inputs (default 1); BPFDIFF_SHAPES_DUMP=DIR
 * also writes each program as a .data case there (shape-NAME-I.data, with
 * the fuzz maps when it uses them), to read or to run with `bpfdiff run`.
 * Finds are written
 * only when BPFDIFF_FINDS is set. Exit 1 when a shape name is unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "input.h"
#include "mutator.h"
#include "shapes.h"
#include "target.h"
#include "../harness/outfile.h"

static void dump(const char *dir, const char *name, unsigned long i, const uint8_t *buf, size_t len)
{
	static struct ebpf_insn prog[BDF_MAX_PROG];
	static uint8_t mem[BDF_MAX_MEM];
	struct bdf_input in;
	struct bdf_program_info info;
	bdf_input_split(buf, len, &in);
	struct bd_case c;
	memset(&c, 0, sizeof(c));
	c.ninsns = bdf_build_program_info(&in, prog, &info);
	c.mem_len = bdf_build_mem(&in, mem);
	c.insns = malloc(c.ninsns * sizeof(*prog));
	c.mem = malloc(c.mem_len);
	c.path = strdup(name);
	if (!c.insns || !c.mem || !c.path) {
		bd_case_free(&c);
		return;
	}
	memcpy(c.insns, prog, c.ninsns * sizeof(*prog));
	memcpy(c.mem, mem, c.mem_len);
	if (info.flags & BDF_SHAPE_MAPS) {
		struct bd_case env;
		char err[512];
		if (bd_case_parse_data("fuzz-maps", bdf_fuzz_maps_data, strlen(bdf_fuzz_maps_data), &env, err,
				       sizeof(err)) == 0) {
			bd_case_copy_env(&c, &env);
			bd_case_free(&env);
		}
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/shape-%s-%lu.data", dir, name, i);
	char *text = bd_case_format_data(&c);
	if (text && bd_write_file_atomic(path, text) < 0)
		fprintf(stderr, "bpf_diff_shapes: cannot write %s\n", path);
	free(text);
	bd_case_free(&c);
}

int main(int argc, char **argv)
{
	unsigned long n = 200;
	if (argc > 1) {
		char *end;
		n = strtoul(argv[1], &end, 10);
		if (*end || !n || n > 10000000) {
			fprintf(stderr, "bpf_diff_shapes: N must be a count from 1 to 10000000, not '%s'\n", argv[1]);
			return 2;
		}
	}
	int want[64], nwant = 0;
	for (int i = 2; i < argc && nwant < 64; i++) {
		int s = strcmp(argv[i], "none") ? bdf_shape_lookup(argv[i]) : -2;
		if (s == -1) {
			fprintf(stderr, "bpf_diff_shapes: unknown shape '%s' (known:", argv[i]);
			for (int k = 0; k < bdf_nshapes; k++)
				fprintf(stderr, " %s", bdf_shapes[k].name);
			fprintf(stderr, " none)\n");
			return 1;
		}
		want[nwant++] = s;
	}
	if (!nwant) {
		for (int s = 0; s < bdf_nshapes; s++)
			want[nwant++] = s;
		want[nwant++] = -2;
	}
	bdf_replay_mode = 1;
	setenv("BPFDIFF_QUIET", "1", 0);
	unsigned seed = (unsigned)strtoul(getenv("BPFDIFF_SHAPES_SEED") ? getenv("BPFDIFF_SHAPES_SEED") : "1", NULL, 0);
	static uint8_t buf[4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM];
	LLVMFuzzerInitialize(&argc, &argv);
	for (int w = 0; w < nwant; w++)
		for (unsigned long i = 0; i < n; i++) {
			size_t len = bdf_generate_shape(buf, sizeof(buf), seed * 1000003u + (unsigned)(w * 7919 + i * 31 + 1),
							want[w] == -2 ? -1 : want[w]);
			if (getenv("BPFDIFF_SHAPES_DUMP"))
				dump(getenv("BPFDIFF_SHAPES_DUMP"), want[w] == -2 ? "none" : bdf_shapes[want[w]].name, i,
				     buf, len);
			LLVMFuzzerTestOneInput(buf, len);
		}
	bdf_print_summary(stdout);
	return 0;
}
