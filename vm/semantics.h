/* SPDX-License-Identifier: MIT */
/*
 * The meaning of every eBPF ALU, jump and byte-swap operation (RFC 9669),
 * as pure functions. Compiled natively into the uvm and with
 * `clang -target bpf` into the xdp VM, so both VMs share one definition:
 * when they disagree the fault is in a compiler, the verifier or a JIT.
 *
 * No libc, no 128-bit types, no signed division instruction (the xdp VM is
 * built for cpu v3, which has none): signed division is done on magnitudes.
 */
#ifndef BPFDIFF_SEMANTICS_H
#define BPFDIFF_SEMANTICS_H

#include "ebpf.h"

#ifndef SEM_INLINE
#define SEM_INLINE static inline __attribute__((always_inline))
#endif

/* Division by zero gives 0; modulo by zero leaves the dividend (RFC 9669 4.1). */
SEM_INLINE ebpf_u64 sem_div64(ebpf_u64 a, ebpf_u64 b) { return b ? a / b : 0; }
SEM_INLINE ebpf_u32 sem_div32(ebpf_u32 a, ebpf_u32 b) { return b ? a / b : 0; }
SEM_INLINE ebpf_u64 sem_mod64(ebpf_u64 a, ebpf_u64 b) { return b ? a % b : a; }
SEM_INLINE ebpf_u32 sem_mod32(ebpf_u32 a, ebpf_u32 b) { return b ? a % b : a; }

/* Signed division truncates toward zero; INT_MIN / -1 wraps to INT_MIN. */
SEM_INLINE ebpf_u64 sem_abs64(ebpf_u64 a) { return (ebpf_s64)a < 0 ? -a : a; }
SEM_INLINE ebpf_u32 sem_abs32(ebpf_u32 a) { return (ebpf_s32)a < 0 ? -a : a; }

SEM_INLINE ebpf_u64 sem_sdiv64(ebpf_u64 a, ebpf_u64 b)
{
	if (!b)
		return 0;
	ebpf_u64 q = sem_abs64(a) / sem_abs64(b);
	return ((a ^ b) >> 63) ? -q : q;
}
SEM_INLINE ebpf_u32 sem_sdiv32(ebpf_u32 a, ebpf_u32 b)
{
	if (!b)
		return 0;
	ebpf_u32 q = sem_abs32(a) / sem_abs32(b);
	return ((a ^ b) >> 31) ? -q : q;
}
/* The remainder takes the dividend's sign (C's %, "truncated"). */
SEM_INLINE ebpf_u64 sem_smod64(ebpf_u64 a, ebpf_u64 b)
{
	if (!b)
		return a;
	ebpf_u64 r = sem_abs64(a) % sem_abs64(b);
	return (a >> 63) ? -r : r;
}
SEM_INLINE ebpf_u32 sem_smod32(ebpf_u32 a, ebpf_u32 b)
{
	if (!b)
		return a;
	ebpf_u32 r = sem_abs32(a) % sem_abs32(b);
	return (a >> 31) ? -r : r;
}

/* Shift counts are masked to the operand width (RFC 9669: "masked to 63/31"),
 * which is also what x86 does in hardware and why JITs get it right by luck. */
SEM_INLINE ebpf_u64 sem_lsh64(ebpf_u64 a, ebpf_u64 n) { return a << (n & 63); }
SEM_INLINE ebpf_u32 sem_lsh32(ebpf_u32 a, ebpf_u32 n) { return a << (n & 31); }
SEM_INLINE ebpf_u64 sem_rsh64(ebpf_u64 a, ebpf_u64 n) { return a >> (n & 63); }
SEM_INLINE ebpf_u32 sem_rsh32(ebpf_u32 a, ebpf_u32 n) { return a >> (n & 31); }
SEM_INLINE ebpf_u64 sem_arsh64(ebpf_u64 a, ebpf_u64 n) { return (ebpf_u64)((ebpf_s64)a >> (n & 63)); }
SEM_INLINE ebpf_u32 sem_arsh32(ebpf_u32 a, ebpf_u32 n) { return (ebpf_u32)((ebpf_s32)a >> (n & 31)); }

/* Sign extension from 8/16/32 bits (movsx, ldsx). */
SEM_INLINE ebpf_u64 sem_sext8(ebpf_u64 a) { return (ebpf_u64)(ebpf_s64)(ebpf_s8)a; }
SEM_INLINE ebpf_u64 sem_sext16(ebpf_u64 a) { return (ebpf_u64)(ebpf_s64)(ebpf_s16)a; }
SEM_INLINE ebpf_u64 sem_sext32(ebpf_u64 a) { return (ebpf_u64)(ebpf_s64)(ebpf_s32)a; }

SEM_INLINE ebpf_u64 sem_bswap16(ebpf_u64 a) { return (ebpf_u16)(((a & 0xff) << 8) | ((a >> 8) & 0xff)); }
SEM_INLINE ebpf_u64 sem_bswap32(ebpf_u64 a) { return __builtin_bswap32((ebpf_u32)a); }
SEM_INLINE ebpf_u64 sem_bswap64(ebpf_u64 a) { return __builtin_bswap64(a); }

/* END (le/be) on a little-endian host: "to le" only truncates, "to be" swaps.
 * The xdp VM runs on x86-64 too; a big-endian host would swap the two. */
SEM_INLINE ebpf_u64 sem_le(ebpf_u64 a, int bits)
{
	return bits == 16 ? (ebpf_u16)a : bits == 32 ? (ebpf_u32)a : a;
}
SEM_INLINE ebpf_u64 sem_be(ebpf_u64 a, int bits)
{
	return bits == 16 ? sem_bswap16(a) : bits == 32 ? sem_bswap32(a) : sem_bswap64(a);
}

/* Conditional jumps, by the low nibble of the JMP code >> 4. */
SEM_INLINE int sem_jset(ebpf_u64 a, ebpf_u64 b) { return (a & b) != 0; }
SEM_INLINE int sem_jsgt64(ebpf_u64 a, ebpf_u64 b) { return (ebpf_s64)a > (ebpf_s64)b; }
SEM_INLINE int sem_jsge64(ebpf_u64 a, ebpf_u64 b) { return (ebpf_s64)a >= (ebpf_s64)b; }
SEM_INLINE int sem_jslt64(ebpf_u64 a, ebpf_u64 b) { return (ebpf_s64)a < (ebpf_s64)b; }
SEM_INLINE int sem_jsle64(ebpf_u64 a, ebpf_u64 b) { return (ebpf_s64)a <= (ebpf_s64)b; }
SEM_INLINE int sem_jsgt32(ebpf_u32 a, ebpf_u32 b) { return (ebpf_s32)a > (ebpf_s32)b; }
SEM_INLINE int sem_jsge32(ebpf_u32 a, ebpf_u32 b) { return (ebpf_s32)a >= (ebpf_s32)b; }
SEM_INLINE int sem_jslt32(ebpf_u32 a, ebpf_u32 b) { return (ebpf_s32)a < (ebpf_s32)b; }
SEM_INLINE int sem_jsle32(ebpf_u32 a, ebpf_u32 b) { return (ebpf_s32)a <= (ebpf_s32)b; }

/*
 * may_goto (Linux, BPF_JMP | BPF_JCOND, src 0): "goto +off once this frame's
 * loop budget is spent", otherwise fall through. As the kernel implements it
 * (kernel/bpf/verifier.c, do_misc_fixups and its subprogram prologue): each
 * frame of a function that contains may_goto gets a counter slot set to
 * BPF_MAX_LOOPS (8,388,608) on every entry; each may_goto loads it, jumps if
 * it is 0 (and leaves it 0), else decrements it and falls through. So all
 * may_gotos of one frame share its budget, a callee starts with a fresh one,
 * and once spent every later may_goto of that frame jumps at once.
 * `may_goto +0` is removed before that rewrite (opt_remove_nops), so it costs
 * no budget. JITs that implement bpf_jit_supports_timed_may_goto (x86-64,
 * measured here) get another rewrite: a budget of 0xffff refreshed until
 * 250 ms of wall time have passed (bpf_check_timed_may_goto, kernel/bpf/core.c),
 * so there the count depends on speed; everything but the count is the same.
 */
#define EBPF_MAY_GOTO_BUDGET 8388608ULL /* BPF_MAX_LOOPS */
SEM_INLINE int sem_may_goto(ebpf_u64 *budget, ebpf_s16 off)
{
	if (!off)
		return 0;
	if (!*budget)
		return 1;
	(*budget)--;
	return 0;
}

/* load-acquire and store-release (Linux) are the plain load (zero-extended)
 * and store of their size: a guest is one thread, so ordering is invisible. */

/* Immediates are sign-extended to 64 bits for ALU64/JMP; ALU32/JMP32 use the
 * low 32 bits. lddw's immediate is two 32-bit halves. */
SEM_INLINE ebpf_u64 sem_imm64(ebpf_s32 imm) { return (ebpf_u64)(ebpf_s64)imm; }
SEM_INLINE ebpf_u64 sem_lddw(ebpf_s32 lo, ebpf_s32 hi) { return (ebpf_u64)(ebpf_u32)lo | ((ebpf_u64)(ebpf_u32)hi << 32); }

#endif
