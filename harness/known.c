/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "known.h"

struct known_entry {
	char backend[BD_BACKEND_NAME_MAX];
	struct bd_scope scope;
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
		/* BACKEND [SCOPE...] FILE-GLOB STATUS [message]: scope tokens are
		 * the words with '=', '<' or '>' right after the backend. */
		char backend[BD_BACKEND_NAME_MAX], glob[256], status[64], word[256], serr[256];
		struct bd_scope scope;
		int used = 0, n = 0;
		bd_scope_any(&scope);
		bool bad = sscanf(body, "%319s %n", backend, &n) < 1;
		const char *rest = body + n;
		while (!bad && sscanf(rest, "%255s %n", word, &n) == 1 && strpbrk(word, "<>=")) {
			if (bd_scope_parse_token(&scope, word, serr, sizeof(serr))) {
				snprintf(err, errlen, "%s:%d: %s", path, lineno, serr);
				rc = -EINVAL;
				break;
			}
			rest += n;
		}
		if (rc)
			break;
		if (bad || sscanf(rest, "%255s %63s %n", glob, status, &used) < 2) {
			snprintf(err, errlen, "%s:%d: expected 'BACKEND [SCOPE] FILE-GLOB STATUS [message] # reason'",
				 path, lineno);
			rc = -EINVAL;
			break;
		}
		used += (int)(rest - body);
		if (!valid_status(status)) {
			snprintf(err, errlen, "%s:%d: unknown status '%s'", path, lineno, status);
			rc = -EINVAL;
			break;
		}
		char why[256];
		if (bd_backend_name_check(backend, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
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
		e->scope = scope;
		snprintf(e->glob, sizeof(e->glob), "%s", glob);
		snprintf(e->status, sizeof(e->status), "%s", status);
		char *msg = trim(body + used);
		e->message = *msg ? strdup(msg) : NULL;
		e->reason = strdup(reason);
	}
	fclose(f);
	if (!k)
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
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
			/* The case's own declaration for this backend wins; entries of
			 * the file for the same backend with other scopes all apply. */
			bool own = false;
			for (int j = 0; j < c->nexpect; j++)
				own |= !c->expect[j].observed && !c->expect[j].from_known &&
				       !strcmp(c->expect[j].backend, e->backend);
			if (own || c->nexpect == BD_MAX_EXPECT)
				continue;
			struct bd_expect *x = &c->expect[c->nexpect++];
			memset(x, 0, sizeof(*x));
			snprintf(x->backend, sizeof(x->backend), "%s", e->backend);
			x->scope = e->scope;
			x->from_known = true;
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
