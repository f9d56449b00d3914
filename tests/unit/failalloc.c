/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the tests (LD_PRELOAD): FAILALLOC_NTH=N makes the Nth call
 * to realloc() asking for at least FAILALLOC_MIN bytes (default 2048) return
 * NULL, once, and says so on stderr. tests/test_robust.py sweeps N over every
 * such call of a run: each must end in a clear "out of memory" error, never a
 * crash or a run that silently lost part of its input.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_realloc)(void *, size_t);
static long nth = -1, min_size = 2048, seen;

void *realloc(void *p, size_t n)
{
	if (!real_realloc) {
		real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
		const char *v = getenv("FAILALLOC_NTH");
		nth = v ? atol(v) : -1;
		if ((v = getenv("FAILALLOC_MIN")))
			min_size = atol(v);
	}
	if (n >= (size_t)min_size && __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST) == nth) {
		char msg[96];
		int len = snprintf(msg, sizeof(msg), "failalloc: failed realloc #%ld of %zu bytes\n", nth, n);
		if (write(2, msg, (size_t)len) < 0)
			_exit(99);
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, n);
}
