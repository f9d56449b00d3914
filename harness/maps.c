/* SPDX-License-Identifier: MIT */
/* Maps of a case: contents and their comparison (maps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maps.h"

static int key_cmp(uint32_t type, uint32_t key_size, const uint8_t *a, const uint8_t *b)
{
	if (type != EBPF_MAP_HASH) {
		uint32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return x < y ? -1 : x > y;
	}
	return memcmp(a, b, key_size);
}

int bd_map_contents_put(const struct bd_map *m, struct bd_map_contents *c, const uint8_t *key,
			const uint8_t *value)
{
	size_t lo = 0, hi = c->n;
	c->type = m->type;
	c->key_size = m->key_size;
	c->value_size = m->value_size;
	/* Elements mostly come in order: try the end first. */
	if (c->n && key_cmp(m->type, m->key_size, c->e[c->n - 1].key, key) < 0)
		lo = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = key_cmp(m->type, m->key_size, c->e[mid].key, key);
		if (!d)
			return -EEXIST;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct bd_map_elem *ne = realloc(c->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		c->e = ne;
		c->cap = cap;
	}
	uint8_t *k = malloc(m->key_size + m->value_size);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, m->key_size);
	memcpy(k + m->key_size, value, m->value_size);
	memmove(&c->e[lo + 1], &c->e[lo], (c->n - lo) * sizeof(c->e[0]));
	c->e[lo].key = k;
	c->e[lo].value = k + m->key_size;
	c->n++;
	return 0;
}

int bd_map_contents_full(const struct bd_map *m, const struct bd_map_contents *given,
			 struct bd_map_contents *out)
{
	memset(out, 0, sizeof(*out));
	if (m->type != EBPF_MAP_ARRAY) {
		for (size_t i = 0; i < given->n; i++)
			if (bd_map_contents_put(m, out, given->e[i].key, given->e[i].value))
				return bd_map_contents_free(out), -ENOMEM;
		return 0;
	}
	uint8_t *zero = calloc(1, m->value_size);
	if (!zero)
		return -ENOMEM;
	size_t g = 0;
	for (uint32_t i = 0; i < m->max_entries; i++) {
		uint32_t gi = UINT32_MAX;
		if (g < given->n)
			memcpy(&gi, given->e[g].key, 4);
		const uint8_t *v = gi == i ? given->e[g++].value : zero;
		if (bd_map_contents_put(m, out, (const uint8_t *)&i, v)) {
			free(zero);
			bd_map_contents_free(out);
			return -ENOMEM;
		}
	}
	free(zero);
	return 0;
}

void bd_hex_string(char *buf, size_t len, const uint8_t *b, size_t n)
{
	size_t k = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (k + 8 >= len) {
			snprintf(buf + k, len - k, "...");
			return;
		}
		k += (size_t)snprintf(buf + k, len - k, "%s%02x", i ? " " : "", b[i]);
	}
}

void bd_map_free(struct bd_map *m)
{
	if (m->init_progs) {
		for (size_t i = 0; i < m->init.n; i++)
			free(m->init_progs[i]);
		free(m->init_progs);
	}
	bd_map_contents_free(&m->init);
	bd_map_contents_free(&m->after);
	memset(m, 0, sizeof(*m));
}

static int contents_copy(const struct bd_map *m, struct bd_map_contents *dst, const struct bd_map_contents *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		if (bd_map_contents_put(m, dst, src->e[i].key, src->e[i].value))
			return bd_map_contents_free(dst), -ENOMEM;
	return 0;
}

int bd_map_copy(struct bd_map *dst, const struct bd_map *src)
{
	*dst = *src;
	dst->init_progs = NULL;
	memset(&dst->init, 0, sizeof(dst->init));
	memset(&dst->after, 0, sizeof(dst->after));
	if (contents_copy(src, &dst->init, &src->init) || contents_copy(src, &dst->after, &src->after)) {
		bd_map_free(dst);
		return -ENOMEM;
	}
	return 0;
}

int bd_map_contents_diff(const struct bd_map_contents *a, const struct bd_map_contents *b, const uint8_t **key,
			 long *byte, char *what, size_t whatlen)
{
	const struct bd_map_contents *s = a->n ? a : b;
	size_t i = 0, j = 0;
	char kt[128];
	while (i < a->n || j < b->n) {
		int d = i == a->n ? 1 : j == b->n ? -1 : key_cmp(s->type, s->key_size, a->e[i].key, b->e[j].key);
		const uint8_t *k = d <= 0 ? a->e[i].key : b->e[j].key;
		if (s->type == EBPF_MAP_HASH)
			bd_hex_string(kt, sizeof(kt), k, s->key_size);
		else {
			uint32_t idx;
			memcpy(&idx, k, 4);
			snprintf(kt, sizeof(kt), "%u", idx);
		}
		if (d) {
			*key = k;
			*byte = -1;
			snprintf(what, whatlen, "key %s is in %s only", kt, d < 0 ? "the first" : "the second");
			return 1;
		}
		for (uint32_t x = 0; x < s->value_size; x++)
			if (a->e[i].value[x] != b->e[j].value[x]) {
				*key = k;
				*byte = x;
				snprintf(what, whatlen, "key %s byte %u", kt, x);
				return 1;
			}
		i++;
		j++;
	}
	return 0;
}
