/* SPDX-License-Identifier: MIT */
/* The uvm backend: the in-C VM of vm/, with the run options passed through
 * so the diff engine can re-run it at other addresses and stack fills. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "env.h"
#include "../vm/uvm.h"

struct bd_backend {
	struct uvm *vm;
	int cpu, isa;
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
		.big_endian = b->big_endian,
	};
	char err[256];
	bd_result_reset(res);
	int rc = uvm_set_opts(b->vm, &uo);
	if (rc < 0) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "uvm options: %s", strerror(-rc));
		return 0;
	}
	rc = uvm_load(b->vm, c->insns, c->ninsns, err, sizeof(err));
	if (rc == -EOPNOTSUPP) {
		res->status = BD_UNSUPPORTED;
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
	.open = uvm_backend_open,
	.run = uvm_backend_run,
	.close = uvm_backend_close,
	.env = uvm_backend_env,
};
