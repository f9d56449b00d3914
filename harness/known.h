/* SPDX-License-Identifier: MIT */
/*
 * Known, explained per-backend differences kept as data: a file with one
 * entry per line, `BACKEND FILE-GLOB STATUS [message substring] # reason`.
 * An entry becomes a `-- expect BACKEND` of every case whose file name
 * matches, unless the case has its own.
 */
#ifndef BPFDIFF_KNOWN_H
#define BPFDIFF_KNOWN_H

#include <stddef.h>
#include "case.h"

struct bd_known;
int bd_known_load(struct bd_known **k, const char *path, char *err, size_t errlen);
void bd_known_apply(const struct bd_known *k, struct bd_case *c);
void bd_known_free(struct bd_known *k);

#endif
