/* SPDX-License-Identifier: MIT */
/* The .data text of a case's maps: `-- map` declarations and elements (maps.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "maps.h"
static const struct {
	const char *name;
	uint32_t type;
} map_types[] = {
	{ "hash", EBPF_MAP_HASH },
	{ "array", EBPF_MAP_ARRAY },
	{ "prog_array", EBPF_MAP_PROG_ARRAY },
};

/* Flags by name, with the kernel's values (BPF_F_*). */
static const struct {
	const char *name;
	uint32_t flag;
} map_flags[] = {
	{ "no_prealloc", 1u << 0 }, { "rdonly", 1u << 3 },        { "wronly", 1u << 4 },
	{ "rdonly_prog", 1u << 7 }, { "wronly_prog", 1u << 8 },   { "mmapable", 1u << 10 },
	{ "inner_map", 1u << 12 },
};

const char *bd_map_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++)
		if (map_types[i].type == type)
			return map_types[i].name;
	return NULL;
}

static int merr(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int merr(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u32(const char *s, uint32_t *out)
{
	int neg, hex;
	uint64_t v;
	if (bd_parse_number(s, &neg, &v, &hex) || neg || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_' || *s == '.'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int bd_map_parse_decl(struct bd_map *m, const char *decl, char *msg, size_t msglen)
{
	char buf[256], *save = NULL;
	if (strlen(decl) >= sizeof(buf))
		return merr(msg, msglen, "map declaration too long");
	strcpy(buf, decl);
	memset(m, 0, sizeof(*m));
	char *name = strtok_r(buf, " \t", &save), *type = strtok_r(NULL, " \t", &save);
	if (!name || !type)
		return merr(msg, msglen, "expected '-- map NAME TYPE key=K value=V max_entries=N'");
	if (!valid_name(name) || strlen(name) >= sizeof(m->name))
		return merr(msg, msglen, "invalid map name '%s'", name);
	strcpy(m->name, name);
	size_t t;
	for (t = 0; t < sizeof(map_types) / sizeof(map_types[0]); t++)
		if (!strcmp(type, map_types[t].name))
			break;
	if (t == sizeof(map_types) / sizeof(map_types[0]))
		return merr(msg, msglen, "unknown map type '%s' (array, hash, prog_array)", type);
	m->type = map_types[t].type;
	bool have_max = false;
	if (m->type != EBPF_MAP_HASH)
		m->key_size = 4;
	if (m->type == EBPF_MAP_PROG_ARRAY)
		m->value_size = 4;
	for (char *w; (w = strtok_r(NULL, " \t", &save));) {
		char *eq = strchr(w, '=');
		if (!eq) {
			if (!strcmp(w, "freeze")) {
				m->freeze = true;
				continue;
			}
			return merr(msg, msglen, "expected key=, value=, max_entries=, flags= or freeze, got '%s'", w);
		}
		*eq = 0;
		const char *v = eq + 1;
		uint32_t *field = !strcmp(w, "key")	    ? &m->key_size
				  : !strcmp(w, "value")	    ? &m->value_size
				  : !strcmp(w, "max_entries") ? &m->max_entries
							      : NULL;
		if (field) {
			if (parse_u32(v, field))
				return merr(msg, msglen, "invalid %s '%s'", w, v);
			have_max |= field == &m->max_entries;
			continue;
		}
		if (strcmp(w, "flags"))
			return merr(msg, msglen, "unknown map attribute '%s'", w);
		/* A number, or names joined by '|'. */
		if (!parse_u32(v, &m->flags))
			continue;
		char fl[128], *fs = NULL;
		snprintf(fl, sizeof(fl), "%s", v);
		m->flags = 0;
		for (char *f = strtok_r(fl, "|", &fs); f; f = strtok_r(NULL, "|", &fs)) {
			size_t k;
			for (k = 0; k < sizeof(map_flags) / sizeof(map_flags[0]); k++)
				if (!strcmp(f, map_flags[k].name))
					break;
			if (k == sizeof(map_flags) / sizeof(map_flags[0]))
				return merr(msg, msglen, "unknown map flag '%s' (no_prealloc, rdonly_prog, wronly_prog, "
					    "mmapable, ... or a number)", f);
			m->flags |= map_flags[k].flag;
		}
	}
	/* The kernel's own creation rules (map_create), so that a case cannot
	 * declare a map that only some backends can make. */
	if (!have_max || !m->max_entries)
		return merr(msg, msglen, "map %s: max_entries must be given and not 0", m->name);
	if (!m->key_size || !m->value_size)
		return merr(msg, msglen, "map %s: key and value sizes must not be 0", m->name);
	if (m->type != EBPF_MAP_HASH && m->key_size != 4)
		return merr(msg, msglen, "map %s: an %s's key is 4 bytes (an index)", m->name, type);
	if (m->type == EBPF_MAP_PROG_ARRAY && m->value_size != 4)
		return merr(msg, msglen, "map %s: a prog_array's value is 4 bytes (a program)", m->name);
	if (m->key_size > 512)
		return merr(msg, msglen, "map %s: key of %u bytes (at most 512, the stack)", m->name, m->key_size);
	if (m->value_size > (1u << 20))
		return merr(msg, msglen, "map %s: value of %u bytes (at most 1 MiB here)", m->name, m->value_size);
	if (m->type == EBPF_MAP_ARRAY &&
	    (uint64_t)m->max_entries * ebpf_map_stride(m->value_size) > (1ull << EBPF_MAP_SHIFT))
		return merr(msg, msglen, "map %s: more than 256 MiB of values", m->name);
	if (m->max_entries > (1u << 20))
		return merr(msg, msglen, "map %s: more than 2^20 entries", m->name);
	return 0;
}

/* Hex bytes of a text (blanks free); the count must be want. */
static int hex_exact(const char *s, size_t want, uint8_t *out, const char *what, char *msg, size_t msglen)
{
	size_t n = 0;
	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			s += 2;
		int hi = bd_hex_digit((unsigned char)s[0]), lo = hi < 0 ? -1 : bd_hex_digit((unsigned char)s[1]);
		if (hi < 0 || lo < 0)
			return merr(msg, msglen, "invalid hex byte in %s at '%.8s'", what, s);
		if (n == want)
			return merr(msg, msglen, "%s has more than %zu bytes", what, want);
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (n != want)
		return merr(msg, msglen, "%s has %zu bytes, the map's %s size is %zu", what, n, what, want);
	return 0;
}

int bd_map_parse_elem(struct bd_map *m, bool after, const char *line, char *msg, size_t msglen)
{
	const char *colon = strchr(line, ':');
	if (!colon)
		return merr(msg, msglen, "expected 'KEY: VALUE'");
	char keytext[1200];
	size_t kl = (size_t)(colon - line);
	if (kl >= sizeof(keytext))
		return merr(msg, msglen, "key too long");
	memcpy(keytext, line, kl);
	keytext[kl] = 0;
	while (kl && isspace((unsigned char)keytext[kl - 1]))
		keytext[--kl] = 0;
	const char *kt = keytext;
	while (isspace((unsigned char)*kt))
		kt++;
	const char *vt = colon + 1;
	while (isspace((unsigned char)*vt))
		vt++;
	uint8_t key[512];
	if (m->type == EBPF_MAP_HASH) {
		if (hex_exact(kt, m->key_size, key, "key", msg, msglen))
			return -EINVAL;
	} else {
		uint32_t idx;
		if (parse_u32(kt, &idx))
			return merr(msg, msglen, "invalid index '%s' (a %s's key is a number)", kt,
				    bd_map_type_name(m->type));
		if (idx >= m->max_entries)
			return merr(msg, msglen, "index %u out of range (max_entries %u)", idx, m->max_entries);
		memcpy(key, &idx, 4);
	}
	struct bd_map_contents *c = after ? &m->after : &m->init;
	if (m->type == EBPF_MAP_HASH && c->n >= m->max_entries)
		return merr(msg, msglen, "more than max_entries (%u) elements", m->max_entries);
	int rc;
	if (m->type == EBPF_MAP_PROG_ARRAY) {
		/* A program's name; the index it stands for is resolved by the caller. */
		size_t vl = strlen(vt);
		while (vl && isspace((unsigned char)vt[vl - 1]))
			vl--;
		char name[128];
		if (!vl || vl >= sizeof(name))
			return merr(msg, msglen, "expected a program name after the index");
		memcpy(name, vt, vl);
		name[vl] = 0;
		if (!valid_name(name))
			return merr(msg, msglen, "invalid program name '%s'", name);
		if (after)
			return merr(msg, msglen, "a prog_array has no expected contents (programs cannot change it)");
		uint32_t placeholder = (uint32_t)c->n;
		rc = bd_map_contents_put(m, c, key, (const uint8_t *)&placeholder);
		if (rc == 0) {
			char **np = realloc(m->init_progs, (c->n) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			m->init_progs = np;
			/* Kept in insertion order; placeholder values index this list. */
			np[c->n - 1] = strdup(name);
			if (!np[c->n - 1])
				return -ENOMEM;
		}
	} else {
		uint8_t *val = malloc(m->value_size);
		if (!val)
			return -ENOMEM;
		rc = hex_exact(vt, m->value_size, val, "value", msg, msglen);
		if (!rc)
			rc = bd_map_contents_put(m, c, key, val);
		free(val);
		if (rc == -EINVAL)
			return rc;
	}
	if (rc == -EEXIST)
		return merr(msg, msglen, "key given twice");
	return rc;
}

void bd_map_format(FILE *f, const struct bd_map *m, const char *const *prog_names, size_t nprogs)
{
	fprintf(f, "-- map %s %s", m->name, bd_map_type_name(m->type));
	if (m->type == EBPF_MAP_HASH)
		fprintf(f, " key=%u", m->key_size);
	if (m->type != EBPF_MAP_PROG_ARRAY)
		fprintf(f, " value=%u", m->value_size);
	fprintf(f, " max_entries=%u", m->max_entries);
	if (m->flags)
		fprintf(f, " flags=0x%x", m->flags);
	if (m->freeze)
		fputs(" freeze", f);
	fputc('\n', f);
	char hex[4096];
	for (int pass = 0; pass < 2; pass++) {
		const struct bd_map_contents *c = pass ? &m->after : &m->init;
		if (pass && !m->has_after)
			break;
		if (pass)
			fprintf(f, "-- map %s after\n", m->name);
		for (size_t i = 0; i < c->n; i++) {
			const struct bd_map_elem *e = &c->e[i];
			/* Zero array elements go without saying (unlisted = zero). */
			if (m->type == EBPF_MAP_ARRAY) {
				size_t z = 0;
				while (z < m->value_size && !e->value[z])
					z++;
				if (z == m->value_size)
					continue;
			}
			if (m->type == EBPF_MAP_HASH) {
				bd_hex_string(hex, sizeof(hex), e->key, m->key_size);
				fprintf(f, "%s:", hex);
			} else {
				uint32_t idx;
				memcpy(&idx, e->key, 4);
				fprintf(f, "%u:", idx);
			}
			if (m->type == EBPF_MAP_PROG_ARRAY) {
				uint32_t p;
				memcpy(&p, e->value, 4);
				fprintf(f, " %s\n", p < nprogs && prog_names[p] ? prog_names[p] : "?");
				continue;
			}
			for (uint32_t b = 0; b < m->value_size; b++)
				fprintf(f, "%s%02x", b % 32 ? " " : b ? " \\\n  " : " ", e->value[b]);
			fputc('\n', f);
		}
	}
}
