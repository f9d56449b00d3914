/* SPDX-License-Identifier: MIT */
/*
 * Helper calls and maps, as both of bpfdiff's VMs see them (the uvm and the
 * xdp VM): what a helper number means on a platform, the kernel's limits and
 * error codes, where map values and function addresses live in the guest
 * address space, and the values the environment helpers return.
 *
 * Plain C with no includes (like ebpf.h) so that the xdp VM compiles it with
 * `clang -target bpf`.
 *
 * Helper numbers are platform-specific: on Linux helper 5 is
 * bpf_ktime_get_ns, in ubpf (and so in bpf_conformance's callx.data and
 * call_unwind_fail.data) it is the "unwind" extension. A platform profile
 * maps a number to what the helper does (enum ebpf_helper); an unknown
 * number is `unsupported`.
 */
#ifndef BPFDIFF_HELPERS_H
#define BPFDIFF_HELPERS_H

#include "ebpf.h"

/* What a helper does, whatever its number. */
enum ebpf_helper {
	EBPF_H_NONE,
	EBPF_H_MAP_LOOKUP,      /* void *bpf_map_lookup_elem(map, key) */
	EBPF_H_MAP_UPDATE,      /* long bpf_map_update_elem(map, key, value, u64 flags) */
	EBPF_H_MAP_DELETE,      /* long bpf_map_delete_elem(map, key) */
	EBPF_H_KTIME_GET_NS,    /* u64 bpf_ktime_get_ns(void) */
	EBPF_H_GET_PRANDOM_U32, /* u32 bpf_get_prandom_u32(void) */
	EBPF_H_GET_SMP_PROCESSOR_ID, /* u32 bpf_get_smp_processor_id(void) */
	EBPF_H_TAIL_CALL,       /* long bpf_tail_call(ctx, prog_array, u32 index) */
	EBPF_H_LOOP,            /* long bpf_loop(u32 nr_loops, callback, ctx, u64 flags) */
	EBPF_H_UNWIND,          /* ubpf: r0 = r1; the program ends (r0 0) when that is 0 */
	EBPF_H_COUNT,
};

enum ebpf_platform {
	EBPF_PLATFORM_LINUX,
	EBPF_PLATFORM_UBPF,
	EBPF_PLATFORM_COUNT,
};

/* X(PLATFORM, number, HELPER): every helper a platform profile knows. */
#define EBPF_PLATFORM_HELPERS(X)                    \
	X(LINUX, 1, MAP_LOOKUP)                     \
	X(LINUX, 2, MAP_UPDATE)                     \
	X(LINUX, 3, MAP_DELETE)                     \
	X(LINUX, 5, KTIME_GET_NS)                   \
	X(LINUX, 7, GET_PRANDOM_U32)                \
	X(LINUX, 8, GET_SMP_PROCESSOR_ID)           \
	X(LINUX, 12, TAIL_CALL)                     \
	X(LINUX, 181, LOOP)                         \
	X(UBPF, 5, UNWIND)

/* Helper numbers on a platform are below this (table size in the xdp VM). */
#define EBPF_HELPER_NUMBERS 256

static inline __attribute__((always_inline)) int ebpf_platform_helper(int platform, ebpf_u64 number)
{
#define EBPF_PH_CASE(P, N, H)                                      \
	if (platform == EBPF_PLATFORM_##P && number == (N))        \
		return EBPF_H_##H;
	EBPF_PLATFORM_HELPERS(EBPF_PH_CASE)
#undef EBPF_PH_CASE
	return EBPF_H_NONE;
}

/* The kernel's limits (include/linux/bpf.h, kernel/bpf/bpf_iter.c). */
#define EBPF_MAX_LOOPS (1u << 23)  /* BPF_MAX_LOOPS: bpf_loop's nr_loops above it is -E2BIG */
#define EBPF_MAX_TAIL_CALLS 33     /* MAX_TAIL_CALL_CNT: the 34th tail call falls through */

/* Map types and flags, with the kernel's numbers (enum bpf_map_type, BPF_*). */
#define EBPF_MAP_HASH 1
#define EBPF_MAP_ARRAY 2
#define EBPF_MAP_PROG_ARRAY 3
#define EBPF_ANY 0
#define EBPF_NOEXIST 1
#define EBPF_EXIST 2
#define EBPF_F_LOCK 4

/* The kernel's error codes as helpers return them (negated, as a long). */
#define EBPF_ENOENT 2
#define EBPF_E2BIG 7
#define EBPF_EEXIST 17
#define EBPF_EINVAL 22

/*
 * Guest addresses of what lddw's pseudo sources load, relative to a base
 * (map_addr) that the diff engine moves to find results that depend on them:
 *   map m's values        base + m << 28, element slot s at + s * stride,
 *                         stride = value_size rounded up to 8 (as the kernel's array)
 *   map m itself          base + EBPF_MAP_OBJECTS + m * 256 (lddw src 1/5: a map pointer,
 *                         only good as a helper argument)
 *   code slot k           base + EBPF_CODE_ADDRS + k * 8 (lddw src 4: a callback), k counted
 *                         over all programs of the case in order
 */
#define EBPF_MAX_MAPS 16
#define EBPF_MAP_SHIFT 28
#define EBPF_MAP_OBJECTS 0x100000000ULL
#define EBPF_CODE_ADDRS 0x110000000ULL
static inline __attribute__((always_inline)) ebpf_u64 ebpf_map_stride(ebpf_u32 value_size)
{
	return ((ebpf_u64)value_size + 7) & ~7ULL;
}

/*
 * Values of the helpers whose results depend on the environment (the time,
 * a random number, the CPU): a case may give them (`-- helper values`);
 * otherwise both VMs derive them from a seed, the same way, so that they
 * agree with each other. The diff engine re-runs the uvm with other seeds: a
 * result that moves with them is environment-dependent, never a discrepancy
 * with the kernel's real values. splitmix64 (no division: the xdp VM's cpu v3).
 */
enum ebpf_env_kind { EBPF_ENV_KTIME, EBPF_ENV_PRANDOM, EBPF_ENV_CPU, EBPF_ENV_KINDS };

static inline __attribute__((always_inline)) ebpf_u64 ebpf_mix64(ebpf_u64 z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The i-th value (from 0) of an environment helper for a seed: ktime grows
 * (a start near an hour of uptime plus a step of up to ~1 ms per call),
 * prandom is 32 bits, the CPU is one of 0..7 and the same for every call. */
static inline __attribute__((always_inline)) ebpf_u64 ebpf_env_value(ebpf_u64 seed, int kind, ebpf_u64 i)
{
	if (kind == EBPF_ENV_KTIME)
		return 3600000000000ULL + (ebpf_mix64(seed) & 0xffffffffffULL) +
		       i * (1 + (ebpf_mix64(seed ^ 1) & 0xfffff));
	if (kind == EBPF_ENV_PRANDOM)
		return (ebpf_u32)ebpf_mix64(seed ^ 0x5eed0000ULL ^ (i << 32));
	return ebpf_mix64(seed ^ 2) & 7;
}

#endif
