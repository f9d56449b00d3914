/* SPDX-License-Identifier: MIT */
/* The uvm backend: the in-C VM of vm/, with the run options passed through
 * so the diff engine can re-run it at other addresses and stack fills. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "env.h"
#include "helpers.h"
#include "../vm/uvm.h"

struct bd_backend {
	struct uvm *vm;
	int cpu, isa;
	int platform;
	unsigned mutant;
	bool big_endian;
};

static int uvm_backend_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why,
			    size_t whylen)
{
	struct bd_backend *b = calloc(1, sizeof(*b));
	if (!b || !(b->vm = uvm_create(NULL))) {
		free(b);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	b->cpu = cfg->cpu;
	b->isa = cfg->isa;
	b->platform = bd_platform_lookup(cfg->platform ? cfg->platform : "linux");
	b->big_endian = cfg->big_endian;
	/* `uvm:be`: the uvm as a big-endian target (the reference for s390x). */
	if (cfg->arg && !strcmp(cfg->arg, "be")) {
		b->big_endian = true;
	} else if (cfg->arg && *cfg->arg) {
		/* `uvm:MUTANT` runs a uvm with a named injected bug (builds with mutants only). */
		int id = uvm_mutant_lookup(cfg->arg);
		if (id < 0) {
			snprintf(why, whylen, "unknown uvm mutant '%s'", cfg->arg);
			uvm_destroy(b->vm);
			free(b);
			return -EINVAL;
		}
		b->mutant = (unsigned)id;
	}
	*out = b;
	return 0;
}

static void set_message(struct bd_result *res, const char *msg)
{
	size_t n = 0; /* per case: no printf */
	for (; n < sizeof(res->message) - 1 && msg[n]; n++)
		res->message[n] = msg[n];
	res->message[n] = 0;
}

/* The case's maps, empty, then filled with their initial contents (a
 * prog_array's value is a program index); 0 or -errno with a message. */
static int setup_maps(struct uvm *vm, const struct bd_case *c, char *err, size_t errlen)
{
	struct uvm_map_def defs[BD_MAX_MAPS];
	for (int i = 0; i < c->nmaps; i++)
		defs[i] = (struct uvm_map_def){ c->maps[i].type, c->maps[i].key_size, c->maps[i].value_size,
						c->maps[i].max_entries, c->maps[i].flags };
	int rc = uvm_set_maps(vm, defs, (size_t)c->nmaps);
	if (rc < 0) {
		snprintf(err, errlen, "uvm: cannot create the maps: %s", strerror(-rc));
		return rc;
	}
	for (int i = 0; i < c->nmaps; i++)
		for (size_t e = 0; e < c->maps[i].init.n; e++) {
			rc = uvm_map_update(vm, (uint32_t)i, c->maps[i].init.e[e].key, c->maps[i].init.e[e].value, 0);
			if (rc < 0) {
				snprintf(err, errlen, "uvm: map %s: initial element %zu: %s", c->maps[i].name, e,
					 strerror(-rc));
				return rc;
			}
		}
	return 0;
}

/* Every map's contents after the run (prog_arrays: none, programs cannot change them). */
static int read_maps(struct uvm *vm, const struct bd_case *c, struct bd_result *res)
{
	if (!c->nmaps)
		return 0;
	res->maps = calloc((size_t)c->nmaps, sizeof(*res->maps));
	if (!res->maps)
		return -ENOMEM;
	res->nmaps = c->nmaps;
	for (int i = 0; i < c->nmaps; i++) {
		const struct bd_map *m = &c->maps[i];
		if (m->type == EBPF_MAP_PROG_ARRAY)
			continue;
		uint8_t key[512], next[512], *val = malloc(m->value_size);
		if (!val)
			return -ENOMEM;
		const uint8_t *k = NULL;
		while (!uvm_map_next_key(vm, (uint32_t)i, k, next)) {
			memcpy(key, next, m->key_size);
			k = key;
			if (!uvm_map_lookup(vm, (uint32_t)i, key, val) && bd_map_contents_put(m, &res->maps[i], key, val)) {
				free(val);
				return -ENOMEM;
			}
		}
		free(val);
	}
	return 0;
}

static int uvm_backend_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
			   struct bd_result *res)
{
	struct uvm_opts uo = {
		.sz = sizeof(uo),
		.mem_addr = o->mem_addr,
		.stack_top = o->stack_top,
		.stack_fill = o->stack_fill,
		.stack_seed = o->stack_seed,
		.reg_fill = o->reg_fill,
		.budget = o->budget,
		.cpu = c->cpu ? c->cpu : b->cpu,
		.isa = b->isa,
		.mutant = b->mutant,
		.map_addr = o->map_addr,
		.env_seed = o->env_seed,
		.platform = b->platform,
		.big_endian = b->big_endian,
		.null_r1 = o->null_r1,
	};
	char err[256];
	bd_result_reset(res);
	uvm_set_trace(b->vm, o->trace, o->trace_ctx);
	int rc = uvm_set_opts(b->vm, &uo);
	if (rc < 0) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "uvm options: %s", strerror(-rc));
		return 0;
	}
	if (c->nmaps || c->nprogs) {
		if ((rc = setup_maps(b->vm, c, err, sizeof(err))) < 0) {
			res->status = BD_ERROR;
			set_message(res, err);
			return 0;
		}
	} else {
		uvm_set_maps(b->vm, NULL, 0);
	}
	for (int k = 0; k < EBPF_ENV_KINDS; k++)
		uvm_set_env_values(b->vm, k, c->helper_values[k], o->ignore_helper_values ? 0 : c->nhelper_values[k]);
	if (c->nprogs) {
		struct uvm_prog progs[1 + 64];
		size_t np = 0;
		progs[np++] = (struct uvm_prog){ c->insns, c->ninsns };
		for (int k = 0; k < c->nprogs && np < sizeof(progs) / sizeof(progs[0]); k++)
			progs[np++] = (struct uvm_prog){ c->progs[k].insns, c->progs[k].ninsns };
		rc = uvm_load_progs(b->vm, progs, np, err, sizeof(err));
	} else {
		rc = uvm_load(b->vm, c->insns, c->ninsns, err, sizeof(err));
	}
	if (rc == -EOPNOTSUPP) {
		res->status = BD_UNSUPPORTED;
		/* Name the helper when that is what is missing. */
		if (!bd_helper_check(c->insns, c->ninsns, b->platform, err, sizeof(err)))
			for (int k = 0; k < c->nprogs; k++) {
				char pe[200];
				if (bd_helper_check(c->progs[k].insns, c->progs[k].ninsns, b->platform, pe, sizeof(pe))) {
					snprintf(err, sizeof(err), "program %s: %s", c->progs[k].name, pe);
					break;
				}
			}
		set_message(res, err);
		return 0;
	}
	if (rc < 0) {
		/* The uvm's validator is the reference's "rejected": malformed eBPF. */
		res->status = BD_REJECTED;
		set_message(res, err);
		return 0;
	}
	res->mem_len = c->mem_len;
	res->mem = malloc(c->mem_len ? c->mem_len : 1);
	if (!res->mem)
		return -ENOMEM;
	if (c->mem_len)
		memcpy(res->mem, c->mem, c->mem_len);
	struct uvm_result ur;
	rc = uvm_run(b->vm, res->mem, res->mem_len, &ur);
	if (rc < 0) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "uvm_run: %s", strerror(-rc));
		return 0;
	}
	res->r0 = ur.r0;
	res->has_insns = true;
	res->insns = ur.insns;
	res->has_map_accesses = true;
	res->map_loads = ur.map_loads;
	res->map_stores = ur.map_stores;
	if (read_maps(b->vm, c, res) < 0)
		return -ENOMEM;
	switch (ur.status) {
	case UVM_OK: res->status = BD_OK; break;
	case UVM_FAULT: res->status = BD_FAULT; break;
	case UVM_TIMEOUT: res->status = BD_TIMEOUT; break;
	case UVM_UNSUPPORTED: res->status = BD_UNSUPPORTED; break;
	}
	if (ur.status == UVM_FAULT || ur.status == UVM_TIMEOUT) {
		static const enum bd_fault_kind kinds[] = {
			[UVM_FAULT_NONE] = BD_FAULT_UNKNOWN, [UVM_FAULT_READ] = BD_FAULT_READ,
			[UVM_FAULT_WRITE] = BD_FAULT_WRITE, [UVM_FAULT_DEPTH] = BD_FAULT_DEPTH,
			[UVM_FAULT_OTHER] = BD_FAULT_UNKNOWN, [UVM_FAULT_R10] = BD_FAULT_R10,
			[UVM_FAULT_CALL] = BD_FAULT_CALL,
		};
		res->fault_kind = kinds[ur.fault];
		res->has_pc = true;
		res->pc = ur.pc;
	}
	set_message(res, ur.message);
	return 0;
}

static void uvm_backend_close(struct bd_backend *b)
{
	if (!b)
		return;
	uvm_destroy(b->vm);
	free(b);
}

static void uvm_backend_env(struct bd_backend *b, struct bd_env *e)
{
	bd_env_unknown(e);
	e->big_endian = b->big_endian;
	if (b->mutant)
		snprintf(e->detail, sizeof(e->detail), "uvm %s with mutant %s", bd_version(),
			 uvm_mutant_name(b->mutant));
	else
		snprintf(e->detail, sizeof(e->detail), "uvm %s%s", bd_version(), b->big_endian ? ", big-endian" : "");
}

const struct bd_backend_ops bd_backend_uvm = {
	.name = "uvm",
	.env_values = true,
	.open = uvm_backend_open,
	.run = uvm_backend_run,
	.close = uvm_backend_close,
	.env = uvm_backend_env,
};
