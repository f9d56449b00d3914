/* SPDX-License-Identifier: MIT */
/*
 * Guest kernels under qemu: the machines the guest:ARCH backends run cases on
 * (backend_guest.c) and the `bpfdiff guest` command that prepares, starts,
 * stops and lists them. One guest per arch and process serves every case and
 * both variants (JIT and interpreter): the agent sets bpf_jit_enable per case.
 *
 * A guest started with `bpfdiff guest start ARCH` runs on between commands;
 * its files are in the runtime directory (BPFDIFF_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/bpfdiff, else /tmp/bpfdiff-UID), ARCH/{qemu.pid, sock,
 * console.log}. A backend attaches to it when it is there and free, and boots
 * a private one (killed at close) otherwise.
 */
#ifndef BPFDIFF_GUEST_H
#define BPFDIFF_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "backend.h"
#include "case.h"

struct guest_arch {
	const char *name;         /* "arm64": backend guest:arm64, kernels.conf's ARCH */
	const char *machine;      /* uname -m inside: "aarch64" */
	const char *qemu;         /* qemu-system-aarch64 */
	const char *const *args;  /* machine and cpu options, NULL-terminated */
	const char *console;      /* kernel console device */
	const char *vserial;      /* the virtio-serial controller device */
	bool big_endian;
};

/* The arch by name, or NULL. */
const struct guest_arch *guest_arch_find(const char *name);
extern const struct guest_arch guest_arches[];
extern const int guest_narches;

struct guest; /* one running qemu and the connection to its agent */

/* Where prepared kernels live (BPFDIFF_GUEST_DIR, else build/guest beside
 * this binary); ARCH/{kernel,initramfs.cpio.gz,release,jit}. */
const char *guest_images_dir(void);
/* 1: prepared; 0: not (why says how to prepare it). */
int guest_prepared(const struct guest_arch *a, char *why, size_t whylen);
/* The prepared kernel has a BPF JIT (CONFIG_BPF_JIT): 1, 0, -1 unknown. */
int guest_has_jit(const struct guest_arch *a);

/* Attach to (or boot) the guest of this arch for this process; refcounted. */
int guest_get(const struct guest_arch *a, struct guest **out, char *why, size_t whylen);
void guest_put(struct guest *g);

struct guest_info {
	char release[65], machine[32], detail[160];
	int jit_available, jit, reg_invariants;
	bool shared;              /* attached to a `bpfdiff guest start` guest */
	double boot_s;            /* time to a ready agent, 0 when attached */
	uint64_t cases, restarts;
	char dir[256];
};
void guest_get_info(struct guest *g, struct guest_info *out);

/* Run c with bpf_jit_enable = jit. A guest that dies or hangs gives crash or
 * timeout and is restarted for the next case. Returns 0 or -errno. */
int guest_run(struct guest *g, bool jit, const struct bd_case *c, struct bd_result *res);

/* For `bpfdiff info`: one line per arch: the prepared kernel's release and
 * whether it has a JIT, and a started guest's live JIT state. */
void guest_list(FILE *out);

/* `bpfdiff guest fetch|start|stop|status [ARCH...]` */
int bd_cmd_guest(int argc, char **argv);

#endif
