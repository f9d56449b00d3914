/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "../vm/uvm.h"

const char *bd_status_name(enum bd_status s)
{
	static const char *const names[] = {
		[BD_OK] = "ok",
		[BD_FAULT] = "fault",
		[BD_REJECTED] = "rejected",
		[BD_TIMEOUT] = "timeout",
		[BD_CRASH] = "crash",
		[BD_UNSUPPORTED] = "unsupported",
		[BD_UNAVAILABLE] = "unavailable",
		[BD_ERROR] = "error",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int bd_status_lookup(const char *name)
{
	for (int s = 0; s < BD_STATUS_COUNT; s++)
		if (!strcmp(name, bd_status_name(s)))
			return s;
	return -1;
}

static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* Every character of s[0..n) in the set, and n > 0. */
static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]))
			return false;
	return n > 0;
}

int bd_backend_name_check(const char *name, char *why, size_t whylen)
{
	static const char *const kinds[] = { "uvm", "kernel", "xdp", "plugin", "guest" };
	static const char known[] = "uvm, kernel, xdp, plugin, plugin:PATH, uvm:MUTANT, guest:ARCH[-interp], "
				    "or a glob over them";
	static const char ident[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
	const char *colon = strchr(name, ':');
	size_t klen = colon ? (size_t)(colon - name) : strlen(name);
	const char *arg = colon ? colon + 1 : NULL;
	char kind[32];
	if (!klen || klen >= sizeof(kind))
		goto bad;
	memcpy(kind, name, klen);
	kind[klen] = 0;
	if (has_glob(kind, klen)) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!fnmatch(kind, kinds[i], 0))
				return 0;
		goto bad;
	}
	if (arg && !*arg) {
		snprintf(why, whylen, "backend '%s': nothing after ':'", name);
		return -EINVAL;
	}
	bool glob_arg = arg && has_glob(arg, strlen(arg));
	if (!strcmp(kind, "uvm")) {
		if (!arg || glob_arg || all_of(arg, strlen(arg), ident))
			return 0;
		snprintf(why, whylen, "backend '%s': a uvm mutant name is letters, digits and '-'", name);
		return -EINVAL;
	}
	if (!strcmp(kind, "kernel") || !strcmp(kind, "plugin")) /* kernel:TYPE, plugin:PATH */
		return 0;
	if (!strcmp(kind, "xdp")) {
		if (!arg)
			return 0;
		snprintf(why, whylen, "backend '%s': xdp takes no argument", name);
		return -EINVAL;
	}
	if (!strcmp(kind, "guest")) {
		size_t alen = arg ? strlen(arg) : 0;
		if (alen > 7 && !strcmp(arg + alen - 7, "-interp"))
			alen -= 7;
		if (arg && (glob_arg || all_of(arg, alen, "abcdefghijklmnopqrstuvwxyz0123456789_")))
			return 0;
		snprintf(why, whylen, "backend '%s': a guest is guest:ARCH or guest:ARCH-interp (e.g. guest:arm64)",
			 name);
		return -EINVAL;
	}
bad:
	snprintf(why, whylen, "unknown backend '%s' (%s)", name, known);
	return -EINVAL;
}

const char *bd_fault_kind_name(enum bd_fault_kind k)
{
	static const char *const names[] = {
		[BD_FAULT_UNKNOWN] = "fault", [BD_FAULT_READ] = "read out of bounds",
		[BD_FAULT_WRITE] = "write out of bounds", [BD_FAULT_DEPTH] = "call depth",
		[BD_FAULT_CALL] = "bad call target", [BD_FAULT_END] = "ran off the end",
		[BD_FAULT_R10] = "write to r10",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void bd_env_unknown(struct bd_env *e)
{
	memset(e, 0, sizeof(*e));
	e->jit = e->jit_harden = e->reg_invariants = e->big_endian = -1;
}

/* Field by field: a fuzzer resets millions of results, and the text buffers
 * need only their first byte cleared. */
void bd_result_reset(struct bd_result *r)
{
	free(r->mem);
	r->status = BD_OK;
	r->r0 = 0;
	r->mem = NULL;
	r->mem_len = 0;
	r->has_insns = false;
	r->insns = 0;
	r->duration_ns = 0;
	r->fault_kind = BD_FAULT_UNKNOWN;
	r->has_pc = false;
	r->pc = 0;
	r->signal = 0;
	r->message[0] = 0;
	r->warning[0] = 0;
	if (r->maps) {
		for (int i = 0; i < r->nmaps; i++)
			bd_map_contents_free(&r->maps[i]);
		free(r->maps);
		r->maps = NULL;
	}
	r->nmaps = 0;
	r->has_map_accesses = false;
	r->map_loads = r->map_stores = 0;
	r->states = NULL;
	r->states_prologue = 0;
	r->states_truncated = false;
}

void bd_run_opts_default(struct bd_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mem_addr = UVM_DEFAULT_MEM_ADDR;
	o->stack_top = UVM_DEFAULT_STACK_TOP;
	o->budget = UVM_DEFAULT_BUDGET;
	o->cpu = 4;
	o->map_addr = UVM_DEFAULT_MAP_ADDR;
	o->env_seed = UVM_DEFAULT_ENV_SEED;
}
