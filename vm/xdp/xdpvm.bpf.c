// SPDX-License-Identifier: MIT
/*
 * xdpvm: an eBPF interpreter written in BPF C, run as an XDP program with
 * BPF_PROG_TEST_RUN. One guest instruction per bpf_loop() step.
 *
 * State lives in global data (.bss, an mmap-able array map), so the harness
 * (harness/backend_xdp.c) writes a case and reads the result through the
 * skeleton's mmap with no syscall but the one test_run:
 *   xvm_prog[]   pre-decoded guest program, two u64 words per slot:
 *                w0 = form | dst << 8 | src << 12 | (u32)arg << 32
 *                     (arg: absolute jump/call target, or the load/store off)
 *                w1 = immediate, sign-extended (lddw: the whole 64-bit value)
 *                Slot n (one past the end) holds XVM_OP_END.
 *   xvm_regs[16] r0..r10 (r10 = current frame pointer), 11..15 unused: a
 *                `& 15` index is provably in bounds.
 *   xvm_arena[]  [0, 4096): the guest stack, 8 frames of 512 bytes, frame k
 *                at guest [stack_top - 512 (k+1), stack_top - 512 k);
 *                [4096, ...): the case memory at guest mem_addr.
 * The harness validates (uvm_load: the uvm's own rules and messages) and
 * decodes (vm/isa.c); the VM trusts the decoding only as far as the verifier
 * makes it (masks on every index), so a bad word can give a wrong guest
 * result but never an out-of-bounds access in the kernel.
 *
 * Dispatch: a switch on the EBPF_FORMS form index (clang makes a compare
 * tree; BPF has no indirect jump). Each bpf_loop call site has its own fixed
 * callback so the verifier inlines the loop (DESIGN.md: ~4 ns vs ~19 ns).
 * Steps per test_run: XVM_RUN_STEPS = 4 outer x 8M inner (nested bpf_loop:
 * BPF_MAX_LOOPS is 8M); a longer budget is continued by further test_runs
 * from the state left in .bss, so one test_run stays well under a second
 * whatever the guest does, far below the 20 s soft-lockup watchdog (measured:
 * <= 0.19 s for 32M steps of sdiv, smod, cmpxchg or call/exit loops).
 * Counting: bpf_loop returns the steps it ran (a step that stops the loop
 * counts), so there is no per-step counter; lddw is one step, as in the uvm.
 *
 * Shared with the uvm: every ALU/jump/byte-swap/sign-extension meaning comes
 * from vm/semantics.h. Not shared, and why:
 *  - loads, stores, atomics, calls, exit and the bounds checks: the uvm works
 *    on host pointers, this VM on indexes into one map value that the verifier
 *    must see bounded (masks), so the address translation is written here.
 *  - atomics are plain read-modify-write on the map memory: the guest is
 *    single-threaded and nobody else touches the arena during a test_run.
 *  - validation/decoding is done on the host (uvm_load, vm/isa.c), not here.
 *  - the dispatch itself: the uvm threads code through a label table, which
 *    BPF (no indirect jumps) cannot express; here it is a switch.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../semantics.h"

/* __u64/__u32 (not ebpf_u64) so that the skeleton's .bss struct compiles on the host. */
#define u64 __u64
#define u32 __u32
#define s64 __s64
#define s32 __s32

/* Keep in sync with harness/backend_xdp.c (it checks sizes against the skeleton). */
#define XVM_MAX_INSNS 65536
#define XVM_STACK_REGION (EBPF_STACK_SIZE * EBPF_MAX_CALL_DEPTH) /* 4096 */
#define XVM_ARENA_MASK ((1u << 20) - 1)                          /* stack + memory */
#define XVM_INNER_STEPS (1u << 23)                               /* BPF_MAX_LOOPS */
#define XVM_OUTER_STEPS 4
#define XVM_OP_END 255 /* slot after the last instruction */
#define XVM_OP_R10 254 /* an instruction that writes r10: a fault when it runs */
#define XVM_FRAME_WORDS 8 /* return pc, r6..r9, r10, may_goto budget */

enum { XVM_RUNNING, XVM_OK, XVM_FAULT, XVM_UNSUPPORTED, XVM_INTERNAL };
enum { XVM_F_READ = 1, XVM_F_WRITE, XVM_F_DEPTH, XVM_F_END, XVM_F_R10, XVM_F_OP, XVM_F_CALLX };

u64 xvm_prog[2 * XVM_MAX_INSNS + 2];
u64 xvm_regs[16];
u64 xvm_frames[EBPF_MAX_CALL_DEPTH * XVM_FRAME_WORDS];
unsigned char xvm_arena[(1u << 20) + 8];

u64 xvm_mem_addr, xvm_mem_len, xvm_stack_base; /* stack_base = stack_top - 4096 */
u64 xvm_stack_lo;   /* lowest arena index the current frame may touch */
u64 xvm_steps_left; /* budget left for this case */
u64 xvm_executed;   /* guest instructions executed */
u64 xvm_fault_addr;
u64 xvm_may_goto;   /* the current frame's may_goto budget (vm/semantics.h) */
u64 xvm_build_id;   /* set by the process that loaded and pinned this VM: which build it is */
u32 xvm_pc, xvm_depth, xvm_status, xvm_fault_kind, xvm_fault_size;
/* 1: guest loads, stores and atomics in big-endian order, le/be swap roles. A u64: a lone u32
 * leaves .bss 4 bytes short of the skeleton struct's padded size, and the pin check refuses it. */
u64 xvm_big_endian;

/* An S-byte value in the guest's byte order (the arena is host, little-endian, memory). */
#define ORD1(v) (v)
#define ORD2(v) (xvm_big_endian ? sem_bswap16(v) : (v))
#define ORD4(v) (xvm_big_endian ? sem_bswap32(v) : (v))
#define ORD8(v) (xvm_big_endian ? sem_bswap64(v) : (v))

#define R(i) xvm_regs[(i) & 15]

/* Arena index of a guest access, or -1. */
static __attribute__((always_inline)) s64 xlate(u64 addr, u32 size)
{
	u64 x = addr - xvm_stack_base;
	if (x >= xvm_stack_lo && x <= XVM_STACK_REGION - size)
		return x;
	x = addr - xvm_mem_addr;
	u64 len = xvm_mem_len;
	if (x < len && len - x >= size)
		return x + XVM_STACK_REGION;
	return -1;
}

static __attribute__((noinline)) long fault(u32 pc, u32 kind, u64 addr, u32 size)
{
	xvm_pc = pc;
	xvm_status = kind >= XVM_F_OP ? XVM_UNSUPPORTED : XVM_FAULT;
	xvm_fault_kind = kind;
	xvm_fault_addr = addr;
	xvm_fault_size = size;
	return 1;
}

#define ALU(ID, E64, E32)                                  \
	case FORM_##ID##64_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##64_REG:                            \
		R(dst) = (E64);                            \
		break;                                     \
	case FORM_##ID##32_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##32_REG: {                          \
		u32 a32 = a, b32 = b;                      \
		(void)a32;                                 \
		(void)b32;                                 \
		R(dst) = (u32)(E32);                       \
		break;                                     \
	}

#define JCC(ID, C64, C32)                                  \
	case FORM_##ID##_IMM:                              \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##_REG:                              \
		if (C64)                                   \
			goto jump;                         \
		break;                                     \
	case FORM_##ID##32_IMM:                            \
		b = imm;                                   \
		/* fallthrough */                          \
	case FORM_##ID##32_REG: {                          \
		u32 a32 = a, b32 = b;                      \
		if (C32)                                   \
			goto jump;                         \
		break;                                     \
	}

#define LOAD(ID, T, SIZE, EXT)                                         \
	case FORM_##ID: {                                              \
		u64 addr = b + arg;                                    \
		s64 ix = xlate(addr, SIZE);                            \
		if (ix < 0)                                            \
			return fault(pc, XVM_F_READ, addr, SIZE);      \
		R(dst) = EXT((T)ORD##SIZE(*(T *)&xvm_arena[ix & XVM_ARENA_MASK])); \
		break;                                                 \
	}
#define STORE(ID, T, SIZE, VAL)                                        \
	case FORM_##ID: {                                              \
		u64 addr = a + arg;                                    \
		s64 ix = xlate(addr, SIZE);                            \
		if (ix < 0)                                            \
			return fault(pc, XVM_F_WRITE, addr, SIZE);     \
		*(T *)&xvm_arena[ix & XVM_ARENA_MASK] = (T)ORD##SIZE((T)(VAL)); \
		break;                                                 \
	}
/* Guest atomics: plain read-modify-write (single-threaded guest, see top). */
#define ATOMIC(ID, T, SIZE, NEW, FETCH)                                \
	case FORM_##ID: {                                              \
		u64 addr = a + arg;                                    \
		s64 ix = xlate(addr, SIZE);                            \
		if (ix < 0)                                            \
			return fault(pc, XVM_F_WRITE, addr, SIZE);     \
		T *p = (T *)&xvm_arena[ix & XVM_ARENA_MASK];           \
		T old = (T)ORD##SIZE(*p), v = (T)b;                    \
		(void)v;                                               \
		*p = (T)ORD##SIZE((T)(NEW));                           \
		if (FETCH)                                             \
			R(src) = old;                                  \
		break;                                                 \
	}
#define ATOMICS(W, T, SIZE)                                                  \
	ATOMIC(ATOMIC##W##_ADD, T, SIZE, old + v, 0)                         \
	ATOMIC(ATOMIC##W##_OR, T, SIZE, old | v, 0)                          \
	ATOMIC(ATOMIC##W##_AND, T, SIZE, old & v, 0)                         \
	ATOMIC(ATOMIC##W##_XOR, T, SIZE, old ^ v, 0)                         \
	ATOMIC(ATOMIC##W##_FETCH_ADD, T, SIZE, old + v, 1)                   \
	ATOMIC(ATOMIC##W##_FETCH_OR, T, SIZE, old | v, 1)                    \
	ATOMIC(ATOMIC##W##_FETCH_AND, T, SIZE, old & v, 1)                   \
	ATOMIC(ATOMIC##W##_FETCH_XOR, T, SIZE, old ^ v, 1)                   \
	ATOMIC(ATOMIC##W##_XCHG, T, SIZE, v, 1)                              \
	case FORM_ATOMIC##W##_CMPXCHG: {                                     \
		u64 addr = a + arg;                                          \
		s64 ix = xlate(addr, SIZE);                                  \
		if (ix < 0)                                                  \
			return fault(pc, XVM_F_WRITE, addr, SIZE);           \
		T *p = (T *)&xvm_arena[ix & XVM_ARENA_MASK];                 \
		T old = (T)ORD##SIZE(*p);                                    \
		if (old == (T)xvm_regs[0])                                   \
			*p = (T)ORD##SIZE((T)b);                             \
		xvm_regs[0] = old;                                           \
		break;                                                       \
	}

static long step(u32 i, void *ctx)
{
	u32 pc = xvm_pc & (XVM_MAX_INSNS - 1);
	u64 w = xvm_prog[2 * pc];
	u64 imm = xvm_prog[2 * pc + 1];
	u32 dst = (w >> 8) & 15, src = (w >> 12) & 15;
	s32 arg = w >> 32;
	u64 a = R(dst), b = R(src);

	switch (w & 0xff) {
	ALU(ADD, a + b, a32 + b32)
	ALU(SUB, a - b, a32 - b32)
	ALU(MUL, a * b, a32 * b32)
	ALU(DIV, sem_div64(a, b), sem_div32(a32, b32))
	ALU(SDIV, sem_sdiv64(a, b), sem_sdiv32(a32, b32))
	ALU(OR, a | b, a32 | b32)
	ALU(AND, a & b, a32 & b32)
	ALU(LSH, sem_lsh64(a, b), sem_lsh32(a32, b32))
	ALU(RSH, sem_rsh64(a, b), sem_rsh32(a32, b32))
	ALU(MOD, sem_mod64(a, b), sem_mod32(a32, b32))
	ALU(SMOD, sem_smod64(a, b), sem_smod32(a32, b32))
	ALU(XOR, a ^ b, a32 ^ b32)
	ALU(MOV, b, b32)
	ALU(ARSH, sem_arsh64(a, b), sem_arsh32(a32, b32))
	case FORM_NEG64: R(dst) = -a; break;
	case FORM_NEG32: R(dst) = (u32)-(u32)a; break;
	case FORM_MOVSX8_64: R(dst) = sem_sext8(b); break;
	case FORM_MOVSX16_64: R(dst) = sem_sext16(b); break;
	case FORM_MOVSX32_64: R(dst) = sem_sext32(b); break;
	case FORM_MOVSX8_32: R(dst) = (u32)sem_sext8(b); break;
	case FORM_MOVSX16_32: R(dst) = (u32)sem_sext16(b); break;
	/* "to le" truncates on a little-endian guest and swaps on a big-endian one. */
	case FORM_LE16: R(dst) = xvm_big_endian ? sem_be(a, 16) : sem_le(a, 16); break;
	case FORM_LE32: R(dst) = xvm_big_endian ? sem_be(a, 32) : sem_le(a, 32); break;
	case FORM_LE64: R(dst) = xvm_big_endian ? sem_be(a, 64) : sem_le(a, 64); break;
	case FORM_BE16: R(dst) = xvm_big_endian ? sem_le(a, 16) : sem_be(a, 16); break;
	case FORM_BE32: R(dst) = xvm_big_endian ? sem_le(a, 32) : sem_be(a, 32); break;
	case FORM_BE64: R(dst) = xvm_big_endian ? sem_le(a, 64) : sem_be(a, 64); break;
	case FORM_BSWAP16: R(dst) = sem_bswap16(a); break;
	case FORM_BSWAP32: R(dst) = sem_bswap32(a); break;
	case FORM_BSWAP64: R(dst) = sem_bswap64(a); break;
	case FORM_LDDW:
		R(dst) = imm;
		xvm_pc = pc + 2;
		return 0;

	LOAD(LDXB, unsigned char, 1, (u64))
	LOAD(LDXH, unsigned short, 2, (u64))
	LOAD(LDXW, u32, 4, (u64))
	LOAD(LDXDW, u64, 8, (u64))
	LOAD(LDXSB, unsigned char, 1, sem_sext8)
	LOAD(LDXSH, unsigned short, 2, sem_sext16)
	LOAD(LDXSW, u32, 4, sem_sext32)
	LOAD(LOAD_ACQ_B, unsigned char, 1, (u64))
	LOAD(LOAD_ACQ_H, unsigned short, 2, (u64))
	LOAD(LOAD_ACQ_W, u32, 4, (u64))
	LOAD(LOAD_ACQ_DW, u64, 8, (u64))
	STORE(STB, unsigned char, 1, imm)
	STORE(STH, unsigned short, 2, imm)
	STORE(STW, u32, 4, imm)
	STORE(STDW, u64, 8, imm)
	STORE(STXB, unsigned char, 1, b)
	STORE(STXH, unsigned short, 2, b)
	STORE(STXW, u32, 4, b)
	STORE(STXDW, u64, 8, b)
	STORE(STORE_REL_B, unsigned char, 1, b)
	STORE(STORE_REL_H, unsigned short, 2, b)
	STORE(STORE_REL_W, u32, 4, b)
	STORE(STORE_REL_DW, u64, 8, b)
	ATOMICS(64, u64, 8)
	ATOMICS(32, u32, 4)

	case FORM_JA:
	case FORM_JA32:
		goto jump;
	case FORM_MAY_GOTO: {
		u64 left = xvm_may_goto;
		int taken = sem_may_goto(&left, (ebpf_s16)(arg - (s32)pc - 1));
		xvm_may_goto = left;
		if (taken)
			goto jump;
		break;
	}
	JCC(JEQ, a == b, a32 == b32)
	JCC(JGT, a > b, a32 > b32)
	JCC(JGE, a >= b, a32 >= b32)
	JCC(JSET, sem_jset(a, b), sem_jset(a32, b32))
	JCC(JNE, a != b, a32 != b32)
	JCC(JSGT, sem_jsgt64(a, b), sem_jsgt32(a32, b32))
	JCC(JSGE, sem_jsge64(a, b), sem_jsge32(a32, b32))
	JCC(JLT, a < b, a32 < b32)
	JCC(JLE, a <= b, a32 <= b32)
	JCC(JSLT, sem_jslt64(a, b), sem_jslt32(a32, b32))
	JCC(JSLE, sem_jsle64(a, b), sem_jsle32(a32, b32))

	case FORM_CALL_LOCAL: {
		u32 d = xvm_depth;
		if (d + 1 >= EBPF_MAX_CALL_DEPTH)
			return fault(pc, XVM_F_DEPTH, 0, 0);
		u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
		f[0] = pc + 1;
		f[1] = xvm_regs[6];
		f[2] = xvm_regs[7];
		f[3] = xvm_regs[8];
		f[4] = xvm_regs[9];
		f[5] = xvm_regs[10];
		f[6] = xvm_may_goto;
		xvm_may_goto = EBPF_MAY_GOTO_BUDGET;
		xvm_regs[10] -= EBPF_STACK_SIZE;
		xvm_depth = d + 1;
		xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 2) * EBPF_STACK_SIZE;
		goto jump;
	}
	case FORM_EXIT: {
		u32 d = xvm_depth;
		if (!d) {
			xvm_pc = pc;
			xvm_status = XVM_OK;
			return 1;
		}
		d--;
		u64 *f = &xvm_frames[(d & (EBPF_MAX_CALL_DEPTH - 1)) * XVM_FRAME_WORDS];
		xvm_regs[6] = f[1];
		xvm_regs[7] = f[2];
		xvm_regs[8] = f[3];
		xvm_regs[9] = f[4];
		xvm_regs[10] = f[5];
		xvm_may_goto = f[6];
		xvm_depth = d;
		xvm_stack_lo = XVM_STACK_REGION - (u64)(d + 1) * EBPF_STACK_SIZE;
		xvm_pc = f[0];
		return 0;
	}
	case FORM_CALLX: /* no helper is modelled: unsupported, with the helper id the guest asked for */
		return fault(pc, XVM_F_CALLX, a, 0);
	case XVM_OP_END:
		return fault(pc, XVM_F_END, 0, 0);
	case XVM_OP_R10:
		return fault(pc, XVM_F_R10, 0, 0);
	default: /* helper/kfunc calls, pseudo lddw: the harness refuses them first */
		return fault(pc, XVM_F_OP, w & 0xff, 0);
	}
	xvm_pc = pc + 1;
	return 0;
jump:
	xvm_pc = arg;
	return 0;
}

static u64 run_left;

static long outer(u32 i, void *ctx)
{
	u64 n = run_left;
	if (n > XVM_INNER_STEPS)
		n = XVM_INNER_STEPS;
	long done = bpf_loop(n, step, NULL, 0);
	if (done < 0) {
		xvm_status = XVM_INTERNAL;
		return 1;
	}
	run_left -= done;
	xvm_steps_left -= done;
	xvm_executed += done;
	return xvm_status != XVM_RUNNING || !run_left;
}

SEC("xdp")
int xdpvm(struct xdp_md *ctx)
{
	u64 n = xvm_steps_left;
	if (n > (u64)XVM_OUTER_STEPS * XVM_INNER_STEPS)
		n = (u64)XVM_OUTER_STEPS * XVM_INNER_STEPS;
	run_left = n;
	if (n && xvm_status == XVM_RUNNING)
		bpf_loop(XVM_OUTER_STEPS, outer, NULL, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
