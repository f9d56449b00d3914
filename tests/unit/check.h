/* SPDX-License-Identifier: MIT */
/* The unit tests' one assertion: counts, and on failure prints where and why, then goes on. */
#ifndef BPFDIFF_TESTS_UNIT_CHECK_H
#define BPFDIFF_TESTS_UNIT_CHECK_H

#include <stdio.h>

static int passed, failed;
#define CHECK(cond, ...)                                    \
	do {                                                \
		if (cond) {                                 \
			passed++;                           \
		} else {                                    \
			failed++;                           \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                \
			putchar('\n');                      \
		}                                           \
	} while (0)

#endif
