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
		[BD_UNSUPPORTED] = "unsupported",
		[BD_UNAVAILABLE] = "unavailable",
		[BD_ERROR] = "error",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
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
