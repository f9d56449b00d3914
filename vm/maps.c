/* SPDX-License-Identifier: MIT */
/* The uvm's maps: see maps.h for the model and why. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "maps.h"

/* The kernel's own creation limits that matter here (map_alloc_check). */
#define VMAP_MAX_VALUE (1u << 20)
#define VMAP_MAX_KEY 512 /* MAX_BPF_STACK: a key must fit on the stack */

int vmap_init(struct vmap *m, const struct uvm_map_def *d)
{
	memset(m, 0, sizeof(*m));
	if (!d->max_entries || !d->key_size || !d->value_size || d->value_size > VMAP_MAX_VALUE ||
	    d->key_size > VMAP_MAX_KEY)
		return -EINVAL;
	switch (d->type) {
	case EBPF_MAP_ARRAY:
		if (d->key_size != 4 || (uint64_t)d->max_entries * ebpf_map_stride(d->value_size) > (1ull << EBPF_MAP_SHIFT))
			return -EINVAL;
		break;
	case EBPF_MAP_PROG_ARRAY:
		if (d->key_size != 4 || d->value_size != 4)
			return -EINVAL;
		break;
	case EBPF_MAP_HASH:
		break;
	default:
		return -EINVAL;
	}
	m->def = *d;
	m->stride = ebpf_map_stride(d->value_size);
	if (d->type != EBPF_MAP_HASH) {
		m->vals = calloc(d->max_entries, m->stride);
		if (!m->vals)
			return -ENOMEM;
		m->nslots = m->cap = d->max_entries;
	}
	return 0;
}

void vmap_free(struct vmap *m)
{
	free(m->vals);
	free(m->keys);
	free(m->live);
	memset(m, 0, sizeof(*m));
}

void vmap_clear(struct vmap *m)
{
	if (m->def.type == EBPF_MAP_HASH) {
		m->nslots = 0;
		m->count = 0;
	} else if (m->vals) {
		memset(m->vals, 0, (size_t)m->nslots * m->stride);
	}
}

static int64_t find(const struct vmap *m, const uint8_t *key)
{
	uint32_t ks = m->def.key_size;
	for (uint32_t s = 0; s < m->nslots; s++)
		if (m->live[s] && !memcmp(m->keys + (size_t)s * ks, key, ks))
			return s;
	return -1;
}

int64_t vmap_lookup(const struct vmap *m, const uint8_t *key)
{
	if (m->def.type == EBPF_MAP_HASH)
		return find(m, key);
	uint32_t i;
	memcpy(&i, key, 4);
	return i < m->def.max_entries ? (int64_t)i : -1;
}

/* A fresh slot for key (hash); -1 when the guest address window is full. */
static int64_t bind_slot(struct vmap *m, const uint8_t *key)
{
	if (m->nslots == m->cap) {
		/* Slots are never reused within a run (detached ones stay readable). */
		uint64_t cap = m->cap ? 2ull * m->cap : 8;
		if (cap * m->stride > (1ull << EBPF_MAP_SHIFT))
			cap = (1ull << EBPF_MAP_SHIFT) / m->stride;
		if (cap <= m->cap)
			return -1;
		uint8_t *v = realloc(m->vals, cap * m->stride);
		if (v)
			m->vals = v;
		uint8_t *k = realloc(m->keys, cap * m->def.key_size);
		if (k)
			m->keys = k;
		uint8_t *l = realloc(m->live, cap);
		if (l)
			m->live = l;
		if (!v || !k || !l)
			return -1;
		m->cap = (uint32_t)cap;
	}
	uint32_t s = m->nslots++;
	memcpy(m->keys + (size_t)s * m->def.key_size, key, m->def.key_size);
	m->live[s] = 1;
	return s;
}

int64_t vmap_update(struct vmap *m, const uint8_t *key, const uint8_t *value, uint64_t flags)
{
	/* Both implementations check the flags first, then BPF_F_LOCK, which
	 * needs a bpf_spin_lock in the value (never, without BTF). */
	if ((flags & ~(uint64_t)EBPF_F_LOCK) > EBPF_EXIST)
		return -EBPF_EINVAL;
	if (m->def.type == EBPF_MAP_PROG_ARRAY)
		return -EBPF_EINVAL; /* not from a program: the verifier refuses it */
	if (m->def.type == EBPF_MAP_ARRAY) {
		uint32_t i;
		memcpy(&i, key, 4);
		if (i >= m->def.max_entries)
			return -EBPF_E2BIG; /* "all elements were pre-allocated, cannot insert a new one" */
		if (flags & EBPF_NOEXIST)
			return -EBPF_EEXIST;
		if (flags & EBPF_F_LOCK)
			return -EBPF_EINVAL;
		memcpy(m->vals + (size_t)i * m->stride, value, m->def.value_size);
		return 0;
	}
	if (flags & EBPF_F_LOCK)
		return -EBPF_EINVAL;
	int64_t old = find(m, key);
	if (old >= 0 && (flags & ~(uint64_t)EBPF_F_LOCK) == EBPF_NOEXIST)
		return -EBPF_EEXIST;
	if (old < 0 && (flags & ~(uint64_t)EBPF_F_LOCK) == EBPF_EXIST)
		return -EBPF_ENOENT;
	if (old < 0 && m->count >= m->def.max_entries)
		return -EBPF_E2BIG; /* a new key in a full map; replacing one needs no free element */
	int64_t s = bind_slot(m, key);
	if (s < 0)
		return -EBPF_E2BIG;
	memcpy(m->vals + (size_t)s * m->stride, value, m->def.value_size);
	memset(m->vals + (size_t)s * m->stride + m->def.value_size, 0, m->stride - m->def.value_size);
	if (old >= 0)
		m->live[old] = 0; /* the old element is detached, its memory kept */
	else
		m->count++;
	return 0;
}

int64_t vmap_delete(struct vmap *m, const uint8_t *key)
{
	if (m->def.type != EBPF_MAP_HASH)
		return -EBPF_EINVAL; /* arrays and prog arrays cannot delete from a program */
	int64_t s = find(m, key);
	if (s < 0)
		return -EBPF_ENOENT;
	m->live[s] = 0;
	m->count--;
	return 0;
}

int vmap_next_key(const struct vmap *m, const uint8_t *key, uint8_t *next)
{
	if (m->def.type != EBPF_MAP_HASH) {
		uint32_t i = 0;
		if (key) {
			memcpy(&i, key, 4);
			i = i >= m->def.max_entries ? 0 : i + 1;
		}
		if (i >= m->def.max_entries)
			return -ENOENT;
		memcpy(next, &i, 4);
		return 0;
	}
	uint32_t s = 0;
	if (key) {
		int64_t at = find(m, key);
		s = at < 0 ? 0 : (uint32_t)at + 1;
	}
	for (; s < m->nslots; s++)
		if (m->live[s]) {
			memcpy(next, m->keys + (size_t)s * m->def.key_size, m->def.key_size);
			return 0;
		}
	return -ENOENT;
}
