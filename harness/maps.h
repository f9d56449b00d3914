/* SPDX-License-Identifier: MIT */
/*
 * The maps of a case: their declarations and initial contents (`-- map`
 * sections of a .data file, or an ELF object's maps and global data), the
 * contents a backend reads back after the run, and how two contents are
 * compared: byte-exact, like memory, reporting the first differing key and
 * byte. See README.md "Maps and helpers". maps.c has the contents,
 * map_format.c the .data text.
 *
 *   -- map NAME TYPE [key=K] [value=V] max_entries=N [flags=F] [freeze]
 *   KEY: VALUE                  one element per line
 *   -- map NAME after
 *   KEY: VALUE                  the contents expected after the run
 *
 * TYPE is array, hash or prog_array. A KEY is an index (decimal or 0x hex)
 * for array and prog_array, hex bytes (key_size of them) for hash; a VALUE
 * is hex bytes (value_size of them), or a program's name for prog_array.
 * An array's unlisted elements are zero; a hash map holds exactly the keys
 * listed.
 */
#ifndef BPFDIFF_MAPS_H
#define BPFDIFF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../vm/helpers.h"

#define BD_MAX_MAPS EBPF_MAX_MAPS
#define BD_MAP_NAME_MAX 64

/* Contents: elements in key order (memcmp of the key bytes; an array's keys
 * are little-endian u32, so by index only when sorted numerically: arrays are
 * kept in index order). Arrays hold every element, prog_arrays only the set
 * slots (value = u32 program index). */
struct bd_map_elem {
	uint8_t *key;
	uint8_t *value;
};
struct bd_map_contents {
	struct bd_map_elem *e;
	size_t n, cap;
	uint32_t type, key_size, value_size; /* of the map, set by the first put */
};

struct bd_map {
	char name[BD_MAP_NAME_MAX];
	uint32_t type, key_size, value_size, max_entries, flags;
	bool freeze;                  /* frozen after filling (BPF_MAP_FREEZE: .rodata) */
	struct bd_map_contents init;  /* before the run */
	bool has_after;
	struct bd_map_contents after; /* expected after the run (`-- map NAME after`) */
	char **init_progs;            /* prog_array, while parsing: program name per init element */
};

const char *bd_map_type_name(uint32_t type); /* "array", "hash", "prog_array", or NULL */

/* `NAME TYPE key=.. value=.. max_entries=.. [flags=..] [freeze]` (the header
 * after "map "). 0, or -EINVAL with a message. */
int bd_map_parse_decl(struct bd_map *m, const char *decl, char *msg, size_t msglen);
/* One `KEY: VALUE` line into contents (sorted insert; a repeated key is an
 * error). prog_array values are names, kept in m->init_progs for the caller
 * to resolve (after says where the line belongs). */
int bd_map_parse_elem(struct bd_map *m, bool after, const char *line, char *msg, size_t msglen);
/* Text of a map's sections as the parser reads them back. prog_names[i]
 * names program i (prog_array values). */
void bd_map_format(FILE *f, const struct bd_map *m, const char *const *prog_names, size_t nprogs);

/* Add an element in its place (key order of map m: index for arrays and
 * prog_arrays, memcmp for hash); key and value are copied. -EEXIST when the
 * key is there already, -ENOMEM. */
int bd_map_contents_put(const struct bd_map *m, struct bd_map_contents *c, const uint8_t *key,
			const uint8_t *value);
static inline void bd_map_contents_free(struct bd_map_contents *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].key); /* key and value are one allocation */
	free(c->e);
	memset(c, 0, sizeof(*c));
}
/* Contents a map starts with: an array's every element (zero unless given). */
int bd_map_contents_full(const struct bd_map *m, const struct bd_map_contents *given,
			 struct bd_map_contents *out);
void bd_map_free(struct bd_map *m);
int bd_map_copy(struct bd_map *dst, const struct bd_map *src);

/*
 * The first difference between two contents of map m: 0 when equal; else 1
 * with *key (the element's key, or NULL when one side lacks it) and *byte
 * (the first differing value byte, -1 for a missing element) filled, and a
 * description "key 01 00 00 00 byte 3" in what.
 */
int bd_map_contents_diff(const struct bd_map_contents *a, const struct bd_map_contents *b, const uint8_t **key,
			 long *byte, char *what, size_t whatlen);

/* "01 02 03" into buf (at most len bytes of text, "..." when cut). */
void bd_hex_string(char *buf, size_t len, const uint8_t *b, size_t n);

#endif
