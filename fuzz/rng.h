/* SPDX-License-Identifier: MIT */
/* The fuzz code's random numbers: splitmix64, tiny and good enough, seeded by
 * the fuzzer (one state per mutation or shape, so a seed replays exactly). */
#ifndef BPFDIFF_FUZZ_RNG_H
#define BPFDIFF_FUZZ_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform-enough in [0, n); 0 when n is 0. */
static inline unsigned below(struct rng *r, unsigned n) { return n ? (unsigned)(rnd(r) % n) : 0; }

#endif
