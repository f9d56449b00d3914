/* SPDX-License-Identifier: MIT */
/* The structure-aware mutator over the fuzz input format (input.h). Its
 * outputs are normalised: every body instruction passes ebpf_check_insn and
 * every jump lands forward inside the program. */
#ifndef BPFDIFF_FUZZ_MUTATOR_H
#define BPFDIFF_FUZZ_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

/* Mutate data (size bytes, buffer of max_size) in place; returns the new size. */
size_t bdf_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed);
/* Splice a and b into out (max_size bytes); returns its size. */
size_t bdf_crossover(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t *out,
		     size_t max_size, unsigned seed);
/* A fresh random program (for empty seeds). */
size_t bdf_generate(uint8_t *out, size_t max_size, unsigned seed);
/* A fresh random body (0..8 instructions) with one marker of shape s
 * (shapes.h; s < 0: none), for measuring shapes one at a time. */
size_t bdf_generate_shape(uint8_t *out, size_t max_size, unsigned seed, int shape);

/* Optional byte-level fallback (libFuzzer's LLVMFuzzerMutate); NULL = none. */
extern size_t (*bdf_byte_mutator)(uint8_t *data, size_t size, size_t max_size);

#endif
