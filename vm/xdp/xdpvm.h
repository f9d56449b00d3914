/* SPDX-License-Identifier: MIT */
/*
 * What the xdp VM (xdpvm.bpf.c) and its harness (harness/backend_xdp.c)
 * share: limits, statuses and fault kinds, and the layout of the per-case
 * map and hash-slot tables in the VM's .bss. Plain C over vm/ebpf.h so that
 * both the BPF target and the host compile it.
 */
#ifndef BPFDIFF_XDPVM_H
#define BPFDIFF_XDPVM_H

#include "../ebpf.h"

#define XVM_MAX_INSNS 65536
#define XVM_STACK_REGION (EBPF_STACK_SIZE * EBPF_MAX_CALL_DEPTH) /* 4096 */
#define XVM_ARENA_SPAN (1u << 20)                                 /* stack + memory */
#define XVM_ARENA_MASK (XVM_ARENA_SPAN - 1)
#define XVM_INNER_STEPS (1u << 23)                                /* BPF_MAX_LOOPS */
#define XVM_OUTER_STEPS 4
#define XVM_OP_END 255 /* slot after the last instruction */
#define XVM_OP_R10 254 /* an instruction that writes r10: a fault when it runs */
/* return pc, r6..r9, r10, then for a bpf_loop frame: callback pc | XVM_LOOP, i, n, ctx;
 * [10]: the caller's may_goto budget */
#define XVM_FRAME_WORDS 16
#define XVM_LOOP (1ULL << 63)
#define XVM_MAX_MAPS 16      /* EBPF_MAX_MAPS */
#define XVM_KMAX 64          /* guest key size limit: inner hash keys are this, zero-padded */
#define XVM_VMAX 256         /* guest value size limit: inner values are this + 8 */
#define XVM_MAX_PROGS 64
#define XVM_TAIL_SLOTS 1024  /* all prog_arrays' entries together */
#define XVM_HSLOTS 64        /* hash elements a run may look up */
#define XVM_ENV_MAX 16       /* values the case may give per environment helper */

enum { XVM_RUNNING, XVM_OK, XVM_FAULT, XVM_UNSUPPORTED, XVM_INTERNAL };
/* Below XVM_F_OP: faults; from it on: unsupported. */
enum {
	XVM_F_READ = 1,
	XVM_F_WRITE,
	XVM_F_DEPTH,
	XVM_F_END,
	XVM_F_R10,    /* an instruction that writes r10 ran */
	XVM_F_CALL,   /* a helper argument that is not a map / a callback */
	XVM_F_OP = 8, /* a form the VM does not model */
	XVM_F_CALLX,  /* callx of a helper number the platform does not have */
	XVM_F_STALE,  /* access through a pointer to a replaced or deleted hash element */
	XVM_F_HSLOTS, /* more hash elements looked up than XVM_HSLOTS */
	XVM_F_INNER,  /* an inner map the harness should have set is missing */
};

struct xvm_map {
	ebpf_u32 type, key_size, value_size, max_entries, stride, tail_base;
};
struct xvm_hslot {
	ebpf_u32 map, live;
	ebpf_u64 key[XVM_KMAX / 8];
};

#endif
