/* SPDX-License-Identifier: MIT */
/*
 * Unit check of the custom mutator: mutator_test [ROUNDS] [SEED.bin...]
 * Mutates, crosses over and generates ROUNDS inputs and checks that every
 * output decodes as a valid program (each body instruction passes
 * ebpf_check_insn, lddw second slots are well formed, every jump lands
 * forward inside the program, sizes respect max_size; shape markers are
 * the one exception, and every instruction of the program built from the
 * input passes ebpf_check_insn), that normalisation leaves a valid
 * forward-jumping program unchanged, and that every shape is generated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "input.h"
#include "mutator.h"
#include "../vm/isa.h"

static unsigned char shapes_seen[64];

static int check(const uint8_t *d, size_t n, size_t max, unsigned char *forms, char *why, size_t wl)
{
	if (n > max || n < 4) {
		snprintf(why, wl, "size %zu (max %zu)", n, max);
		return -1;
	}
	struct bdf_input in;
	bdf_input_split(d, n, &in);
	struct ebpf_insn body[BDF_MAX_BODY];
	memcpy(body, in.body, in.nbody * 8);
	for (size_t i = 0; i < in.nbody; i++) {
		char err[128];
		int s = bdf_shape_of(&body[i]);
		if (s >= 0) {
			shapes_seen[s] = 1;
			continue;
		}
		int f = ebpf_check_insn(&body[i], err, sizeof(err));
		if (f < 0) {
			snprintf(why, wl, "insn %zu: %s", i, err);
			return -1;
		}
		forms[f] = 1;
		int cls = EBPF_CLASS(body[i].opcode);
		if (f == FORM_LDDW) {
			if (i + 1 >= in.nbody || body[i + 1].opcode || body[i + 1].dst || body[i + 1].src || body[i + 1].off) {
				snprintf(why, wl, "insn %zu: bad lddw second slot", i);
				return -1;
			}
			i++;
			continue;
		}
		if (cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) {
			int fmt = ebpf_forms[f].fmt;
			long long v;
			if (fmt == EBPF_FMT_JA || fmt == EBPF_FMT_JCOND_K || fmt == EBPF_FMT_JCOND_X ||
			    fmt == EBPF_FMT_MAY_GOTO)
				v = body[i].off;
			else if (fmt == EBPF_FMT_JA32)
				v = body[i].imm;
			else
				continue;
			long long t = (long long)i + 1 + v;
			if (t <= (long long)i || t > (long long)in.nbody) {
				snprintf(why, wl, "insn %zu: jump to %lld outside (%zu, %zu]", i, t, i, in.nbody);
				return -1;
			}
		}
	}
	/* The program built from it ends in exit/ja and jumps stay inside; built
	 * as the mutator's own output (not normalised again) or as any input, it
	 * is the same program. */
	static struct ebpf_insn prog[BDF_MAX_PROG], prog2[BDF_MAX_PROG];
	size_t np = bdf_build_program(&in, prog);
	bdf_note_normalized(NULL, 0);
	size_t np2 = bdf_build_program(&in, prog2);
	if (np != np2 || memcmp(prog, prog2, np * sizeof(prog[0]))) {
		snprintf(why, wl, "the mutator's output builds another program when normalised again");
		return -1;
	}
	if (np == 0 || (prog[np - 1].opcode != 0x95 && prog[np - 1].opcode != 0x05 && prog[np - 1].opcode != 0x06)) {
		snprintf(why, wl, "last insn 0x%02x is not exit or ja", np ? prog[np - 1].opcode : 0);
		return -1;
	}
	for (size_t i = 0; i < np; i++) {
		char err[128];
		if (ebpf_check_insn(&prog[i], err, sizeof(err)) < 0) {
			snprintf(why, wl, "built program: insn %zu: %s", i, err);
			return -1;
		}
		int cls = EBPF_CLASS(prog[i].opcode);
		if ((cls == EBPF_CLS_JMP || cls == EBPF_CLS_JMP32) && prog[i].opcode != 0x95 && prog[i].opcode != 0x85 &&
		    prog[i].opcode != 0x8d) {
			long long t = (long long)i + 1 + (prog[i].opcode == 0x06 ? prog[i].imm : prog[i].off);
			if (t < 0 || t >= (long long)np) {
				snprintf(why, wl, "built program: insn %zu jumps to %lld of %zu", i, t, np);
				return -1;
			}
		}
		if (ebpf_is_lddw(&prog[i]))
			i++;
	}
	/* Normalising an already normalised body changes nothing. */
	struct ebpf_insn again[BDF_MAX_BODY];
	memcpy(again, body, in.nbody * 8);
	bdf_normalize_body(again, in.nbody, in.mem_len < BDF_MIN_MEM ? BDF_MIN_MEM : in.mem_len > BDF_MAX_MEM ? BDF_MAX_MEM : in.mem_len);
	if (memcmp(again, body, in.nbody * 8)) {
		snprintf(why, wl, "normalisation is not idempotent");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 200000;
	size_t max = 4096;
	static uint8_t pool[64][4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM];
	size_t plen[64];
	int npool = 0;
	for (int i = 2; i < argc && npool < 64; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f)
			continue;
		plen[npool] = fread(pool[npool], 1, max, f);
		fclose(f);
		/* Seeds are raw inputs: normalise them through one store first. */
		plen[npool] = bdf_mutate(pool[npool], plen[npool], max, 1);
		npool++;
	}
	while (npool < 8) {
		plen[npool] = bdf_generate(pool[npool], max, (unsigned)npool + 1);
		npool++;
	}
	unsigned char forms[FORM_COUNT] = { 0 };
	long bad = 0;
	uint8_t out[4 + BDF_MAX_BODY * 8 + BDF_MAX_MEM];
	for (long r = 0; r < rounds; r++) {
		int a = (int)(r % npool), b = (int)((r * 7 + 3) % npool);
		size_t n;
		switch (r % 10) {
		case 0: n = bdf_crossover(pool[a], plen[a], pool[b], plen[b], out, max, (unsigned)r); break;
		case 1: n = bdf_generate(out, max, (unsigned)r); break;
		case 2: { /* raw random bytes: only the built program is checked */
			unsigned x = (unsigned)r * 2654435761u;
			size_t body = 8 * (1 + r % 40), k = 4 + body + 16;
			for (size_t i = 0; i < k; i++)
				out[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
			out[0] = (uint8_t)body;
			out[1] = out[2] = out[3] = 0;
			struct bdf_input in;
			bdf_input_split(out, k, &in);
			static struct ebpf_insn prog[BDF_MAX_PROG];
			size_t np = bdf_build_program(&in, prog);
			const struct ebpf_insn *last = &prog[np - 1];
			if (last->opcode != 0x95 && last->opcode != 0x05 && last->opcode != 0x06) {
				if (bad++ < 10)
					fprintf(stderr, "mutator_test: raw round %ld: last insn 0x%02x\n", r, last->opcode);
			}
			continue;
		}
		default:
			memcpy(out, pool[a], plen[a]);
			n = bdf_mutate(out, plen[a], max, (unsigned)r);
			break;
		}
		char why[256];
		if (check(out, n, max, forms, why, sizeof(why))) {
			if (bad++ < 10)
				fprintf(stderr, "mutator_test: round %ld: %s\n", r, why);
			continue;
		}
		/* Keep evolving: replace a pool entry now and then. */
		if (r % 3 == 0 && n <= sizeof(pool[0])) {
			memcpy(pool[a], out, n);
			plen[a] = n;
		}
	}
	int nf = 0;
	for (int f = 0; f < FORM_COUNT; f++)
		nf += forms[f];
	int ns = 0;
	for (int k = 0; k < bdf_nshapes; k++)
		ns += shapes_seen[k];
	printf("mutator_test: %ld outputs, %ld invalid, forms generated %d/%d, shapes %d/%d\n", rounds, bad, nf,
	       FORM_COUNT, ns, bdf_nshapes);
	return bad || (rounds >= 10000 && ns < bdf_nshapes) ? 1 : 0;
}
