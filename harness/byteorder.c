/* SPDX-License-Identifier: MIT */
/*
 * Byte order. RFC 9669 leaves the order of loads and stores (and so what
 * `le`/`be` swap) to the target: the same case gives other R0 and memory on
 * s390x than on x86-64 and arm64. A case's `-- result` and `-- mem after` are
 * the little-endian values; `-- result big-endian` and `-- mem after
 * big-endian` state the big-endian ones where they differ. When a session
 * holds backends of both orders, each case is first run on two private uvms,
 * one per order: if they agree, the case does not depend on byte order and
 * every backend is judged by the same expectations and compared with every
 * other; if they differ, a big-endian backend is judged by the big-endian
 * expectations (or, when the case states none, only by agreement with the
 * other big-endian backends, `uvm:be` among them), and backends of different
 * orders are not compared.
 */
#include <string.h>
#include "session.h"

bool bd_slot_big_endian(const struct bd_backend_slot *slot)
{
	return slot->env.big_endian == 1;
}

int bd_order_dependent(struct bd_session *s, const struct bd_case *c)
{
	struct bd_result res[2] = { 0 };
	for (int k = 0; k < 2; k++) {
		if (!s->order_probe[k]) {
			struct bd_backend_config cfg = s->cfg;
			char why[128];
			cfg.arg = k ? "be" : NULL;
			cfg.big_endian = k;
			if (bd_backend_uvm.open(&s->order_probe[k], &cfg, why, sizeof(why)) < 0)
				return 1; /* cannot tell: keep the orders apart */
		}
		struct bd_run_opts ro;
		bd_run_opts_default(&ro);
		ro.cpu = c->cpu ? c->cpu : s->cfg.cpu;
		bd_backend_uvm.run(s->order_probe[k], c, &ro, &res[k]);
	}
	int dependent = !bd_results_agree(&res[0], &res[1]);
	bd_result_reset(&res[0]);
	bd_result_reset(&res[1]);
	return dependent;
}

const struct bd_case *bd_case_for_order(const struct bd_case *c, bool big_endian, int dependent,
					struct bd_case *view)
{
	if (!big_endian || (!dependent && !c->has_result_be && !c->has_mem_after_be))
		return c;
	*view = *c; /* shallow: the view lives no longer than c */
	if (c->has_result_be) {
		view->result = c->result_be;
		view->has_result = true;
	} else if (dependent) {
		view->has_result = false;
	}
	if (c->has_mem_after_be) {
		view->mem_after = c->mem_after_be;
		view->mem_after_len = c->mem_after_be_len;
		view->has_mem_after = true;
	} else if (dependent) {
		view->has_mem_after = false;
	}
	return view;
}
