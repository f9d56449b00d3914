/* SPDX-License-Identifier: MIT */
/*
 * Where a result comes from: bpfdiff's own version, libbpf's, and the
 * identity of the host kernel (release, arch, JIT state) that the kernel and
 * xdp backends run on. Reports print it; deviations are scoped by it.
 */
#ifndef BPFDIFF_ENV_H
#define BPFDIFF_ENV_H

#include "backend.h"

const char *bd_version(void);        /* `git describe` of the build, "unknown" outside git */
const char *bd_libbpf_version(void); /* "v1.1", or "none" in builds without libbpf */

/* The host kernel: uname release and machine, /proc/sys/net/core/bpf_jit_{enable,harden}.
 * reg_invariants stays -1 (the kernel backend probes it). */
void bd_env_host(struct bd_env *e);

/* One line: "kernel 6.18.44 x86_64, JIT on, jit_harden 0, reg invariants checked; DETAIL". */
void bd_env_describe(const struct bd_env *e, char *out, size_t outlen);

/* An integer sysctl under /proc/sys, or -1. */
int bd_read_sysctl(const char *path);

#endif
