/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "known.h"

struct known_entry {
	char backend[32];
	char glob[256];
	char status[16];
	char *message;
	char *reason;
};

struct bd_known {
	struct known_entry *e;
	size_t n;
	struct bd_known *next; /* several files chain */
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = 0;
	return s;
}

static bool valid_status(const char *s)
{
	return bd_status_lookup(s) >= 0;
}

int bd_known_load(struct bd_known **out, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	struct bd_known *k = calloc(1, sizeof(*k));
	char line[1024];
	int lineno = 0, rc = 0;
	size_t cap = 0;
	while (k && fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		char *reason = hash ? trim(hash + 1) : NULL;
		if (hash)
			*hash = 0;
		char *body = trim(line);
		if (!*body)
			continue;
		char backend[64], glob[256], status[64];
		int used = 0;
		if (sscanf(body, "%63s %255s %63s %n", backend, glob, status, &used) < 3) {
			snprintf(err, errlen, "%s:%d: expected 'BACKEND FILE-GLOB STATUS [message] # reason'",
				 path, lineno);
			rc = -EINVAL;
			break;
		}
		if (!valid_status(status)) {
			snprintf(err, errlen, "%s:%d: unknown status '%s'", path, lineno, status);
			rc = -EINVAL;
			break;
		}
		if (!reason || !*reason) {
			snprintf(err, errlen, "%s:%d: every known difference needs a '# reason'", path, lineno);
			rc = -EINVAL;
			break;
		}
		if (k->n == cap) {
			cap = cap ? cap * 2 : 16;
			struct known_entry *ne = realloc(k->e, cap * sizeof(*ne));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			k->e = ne;
		}
		struct known_entry *e = &k->e[k->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->backend, sizeof(e->backend), "%s", backend);
		snprintf(e->glob, sizeof(e->glob), "%s", glob);
		snprintf(e->status, sizeof(e->status), "%s", status);
		char *msg = trim(body + used);
		e->message = *msg ? strdup(msg) : NULL;
		e->reason = strdup(reason);
	}
	fclose(f);
	if (!k)
		rc = -ENOMEM;
	if (rc) {
		bd_known_free(k);
		return rc;
	}
	k->next = *out; /* chain onto files loaded before */
	*out = k;
	return 0;
}

void bd_known_apply(const struct bd_known *k, struct bd_case *c)
{
	if (!c->path)
		return;
	const char *base = strrchr(c->path, '/');
	base = base ? base + 1 : c->path;
	for (; k; k = k->next)
		for (size_t i = 0; i < k->n; i++) {
			const struct known_entry *e = &k->e[i];
			if (fnmatch(e->glob, base, 0) && fnmatch(e->glob, c->path, 0))
				continue;
			bool has = false;
			for (int j = 0; j < c->nexpect; j++)
				has |= !strcmp(c->expect[j].backend, e->backend);
			if (has || c->nexpect == BD_MAX_EXPECT)
				continue;
			struct bd_expect *x = &c->expect[c->nexpect++];
			memset(x, 0, sizeof(*x));
			snprintf(x->backend, sizeof(x->backend), "%s", e->backend);
			snprintf(x->status, sizeof(x->status), "%s", e->status);
			x->message = e->message ? strdup(e->message) : NULL;
			x->reason = strdup(e->reason);
		}
}

void bd_known_free(struct bd_known *k)
{
	while (k) {
		struct bd_known *next = k->next;
		for (size_t i = 0; i < k->n; i++) {
			free(k->e[i].message);
			free(k->e[i].reason);
		}
		free(k->e);
		free(k);
		k = next;
	}
}
