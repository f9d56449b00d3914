/* SPDX-License-Identifier: MIT */
/*
 * The uvm's model of maps (array, hash, prog_array) with the semantics of the
 * kernel's map implementations (kernel/bpf/arraymap.c, hashtab.c): the same
 * flag checks in the same order, the same error codes, the same element
 * lifetimes. Internal to the uvm (uvm.c); the API is in uvm.h.
 *
 * Element memory, and why it is kept as it is:
 *  - array: max_entries slots of `stride` bytes, updated in place (a pointer
 *    from an earlier lookup sees the update, as in the kernel).
 *  - hash: a pool of slots, each bound to one key for the whole run. An
 *    update of an existing key takes a new slot and detaches the old one,
 *    and a delete detaches its slot: the kernel does the same (a replaced or
 *    deleted element goes back to a free list), so a pointer from an earlier
 *    lookup keeps seeing the old contents. The kernel may later reuse that
 *    memory for another element; this model never does (a program that reads
 *    through such a stale pointer depends on the allocator, not on the ISA).
 *  - prog_array: max_entries program indexes (+1, 0 = empty).
 * Lookups are linear over the live slots: cases and fuzz inputs use small maps.
 */
#ifndef BPFDIFF_VM_MAPS_H
#define BPFDIFF_VM_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include "uvm.h"

struct vmap {
	struct uvm_map_def def;
	uint64_t stride;   /* value slot size: value_size rounded up to 8 */
	uint8_t *vals;     /* slot s at vals + s * stride */
	uint8_t *keys;     /* hash: slot s's key at keys + s * key_size */
	uint8_t *live;     /* hash: 1 = in the map, 0 = detached (deleted or replaced) */
	uint32_t nslots;   /* slots in use: array = max_entries, hash = bound so far */
	uint32_t cap;      /* hash: slots allocated */
	uint32_t count;    /* hash: live elements */
};

/* 0, -EINVAL (a definition the kernel refuses to create) or -ENOMEM. */
int vmap_init(struct vmap *m, const struct uvm_map_def *def);
void vmap_free(struct vmap *m);
void vmap_clear(struct vmap *m); /* empty again: arrays zeroed, hash slots unbound */

/* The program's view (helpers): a long as the kernel's helper returns it. */
/* Slot holding key, or -1 (NULL). */
int64_t vmap_lookup(const struct vmap *m, const uint8_t *key);
int64_t vmap_update(struct vmap *m, const uint8_t *key, const uint8_t *value, uint64_t flags);
int64_t vmap_delete(struct vmap *m, const uint8_t *key);

/* The next live key after key (NULL: the first), in slot order; -ENOENT at the end. */
int vmap_next_key(const struct vmap *m, const uint8_t *key, uint8_t *next);

#endif
