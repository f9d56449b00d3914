/* SPDX-License-Identifier: MIT */
/* What bpf_diff.c offers its drivers (replay_main.c, the benchmark). */
#ifndef BPFDIFF_FUZZ_TARGET_H
#define BPFDIFF_FUZZ_TARGET_H

#include <stdint.h>
#include <stdio.h>
#include "../harness/case.h"
#include "../harness/session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern int bdf_replay_mode;         /* set before the first input: finds are written only with BPFDIFF_FINDS */
struct bd_session *bdf_session(void); /* opened on first use */
void bdf_print_summary(FILE *out);
void bdf_print_shapes(FILE *out); /* the per-shape acceptance table and features reached */
unsigned long long bdf_new_finds(void);
unsigned long long bdf_known_finds(void);

#endif
