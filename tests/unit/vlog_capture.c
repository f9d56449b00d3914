/* SPDX-License-Identifier: MIT */
/*
 * Print the level-2 verifier log the kernel backend records for a case
 * (what --verifier-oracle reads), with the number of instructions before
 * the case in the logged program on the first line ("# prologue N").
 * Captures the real logs under tests/unit/vlogs/ that test_vlog.c reads:
 *   build/tools/vlog_capture CASE.data > tests/unit/vlogs/NAME.log
 */
#include <stdio.h>
#include <string.h>
#include "harness/backend.h"
#include "harness/case.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vlog_capture CASE.data\n");
		return 2;
	}
	char err[512];
	struct bd_case c;
	memset(&c, 0, sizeof(c));
	if (bd_case_load_data(argv[1], &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "vlog_capture: %s\n", err);
		return 2;
	}
	struct bd_backend_config cfg = { .cpu = 4, .verifier_states = true };
	struct bd_backend *b;
	if (bd_backend_kernel.open(&b, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "vlog_capture: kernel backend: %s\n", err);
		return 77;
	}
	struct bd_run_opts ro;
	bd_run_opts_default(&ro);
	ro.verifier_states = true;
	struct bd_result res = { 0 };
	int rc = bd_backend_kernel.run(b, &c, &ro, &res);
	if (rc < 0 || res.status != BD_OK || !res.states) {
		fprintf(stderr, "vlog_capture: %s: %s%s\n", argv[1], bd_status_name(res.status),
			res.states_truncated ? " (log truncated)" : res.message);
		return 1;
	}
	printf("# prologue %zu\n%s", res.states_prologue, res.states);
	bd_result_reset(&res);
	bd_backend_kernel.close(b);
	bd_case_free(&c);
	return 0;
}
