/* SPDX-License-Identifier: MIT */
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
	e->jit = e->jit_harden = e->reg_invariants = -1;
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
}

void bd_run_opts_default(struct bd_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mem_addr = UVM_DEFAULT_MEM_ADDR;
	o->stack_top = UVM_DEFAULT_STACK_TOP;
	o->budget = UVM_DEFAULT_BUDGET;
	o->cpu = 4;
}
