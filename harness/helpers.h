/* SPDX-License-Identifier: MIT */
/*
 * Helper names and platform profiles for the harness: `call bpf_loop` in
 * assembly, "helper 26 (bpf_skb_load_bytes)" in messages, `--platform`.
 * What each helper *does* is in vm/helpers.h (shared with the VMs).
 */
#ifndef BPFDIFF_HARNESS_HELPERS_H
#define BPFDIFF_HARNESS_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include "../vm/helpers.h"

/* "bpf_map_lookup_elem" for a Linux helper number (from the kernel's UAPI
 * header this build saw), "unwind" for ubpf's 5; NULL when unknown. */
const char *bd_helper_name(int platform, uint64_t number);
/* The Linux number of "bpf_loop" or "loop"; -1 when unknown. */
long bd_helper_number(const char *name);

/* "linux" / "ubpf"; bd_platform_lookup gives the EBPF_PLATFORM_* or -1. */
const char *bd_platform_name(int platform);
int bd_platform_lookup(const char *name);

/* The first helper call the platform does not model, as
 * "pc 3: helper 26 (bpf_skb_load_bytes) is not modelled on platform linux";
 * 0 when there is none, 1 when msg was written. Calls through a register
 * are judged when they run. */
struct ebpf_insn;
int bd_helper_check(const struct ebpf_insn *insns, size_t n, int platform, char *msg, size_t len);

#endif
