/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the xdp backend (the eBPF-on-eBPF VM): cases built by hand,
 * run through bd_backend_xdp. Needs root (BPF_PROG_TEST_RUN); without it the
 * test prints why and exits 77 (tests/test_unit.py: skipped, a failure under
 * CI=true).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness/backend.h"
#include "vm/uvm.h"


#define I(op, d, s, o, i) ((struct ebpf_insn){ .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define MOV64K(d, i) I(0xb7, d, 0, 0, i)
#define MOV64X(d, s) I(0xbf, d, s, 0, 0)
#define LDDW(d, v) I(0x18, d, 0, 0, (int)(unsigned)(v)), I(0, 0, 0, 0, (int)((unsigned long long)(v) >> 32))
#define EXIT I(0x95, 0, 0, 0, 0)

static struct bd_backend *B;
static int passed, failed, case_cpu;

#ifdef HAVE_BACKEND_UVM
static struct bd_backend *U; /* the uvm, which every result must agree with */
static unsigned long long agreed;

/* Every case also runs on the uvm: status, message, R0, insns and memory must agree exactly. */
static void agree(const char *name, const struct bd_case *c, const struct bd_run_opts *o, const struct bd_result *x)
{
	struct bd_result u = { 0 };
	if (bd_backend_uvm.run(U, c, o, &u)) {
		fprintf(stderr, "%s: uvm run failed\n", name);
		exit(1);
	}
	if (u.status != x->status || u.r0 != x->r0 || strcmp(u.message, x->message) ||
	    u.has_insns != x->has_insns || u.insns != x->insns || u.mem_len != x->mem_len ||
	    (u.mem_len && memcmp(u.mem, x->mem, u.mem_len))) {
		failed++;
		fprintf(stderr, "FAIL %s: xdp and uvm disagree:\n  xdp %s r0 0x%llx insns %llu \"%s\"\n"
			"  uvm %s r0 0x%llx insns %llu \"%s\"\n", name,
			bd_status_name(x->status), (unsigned long long)x->r0, (unsigned long long)x->insns, x->message,
			bd_status_name(u.status), (unsigned long long)u.r0, (unsigned long long)u.insns, u.message);
	} else {
		agreed++;
	}
	bd_result_reset(&u);
}
#endif

static void run(const char *name, const struct ebpf_insn *insns, size_t n, const void *mem, size_t mem_len,
		const struct bd_run_opts *o, struct bd_result *r)
{
	struct bd_case c = { 0 };
	struct bd_run_opts def;
	c.path = (char *)name;
	c.insns = (struct ebpf_insn *)insns;
	c.ninsns = n;
	c.mem = (uint8_t *)mem;
	c.mem_len = mem_len;
	c.cpu = case_cpu;
	if (!o) {
		bd_run_opts_default(&def);
		o = &def;
	}
	bd_result_reset(r);
	if (bd_backend_xdp.run(B, &c, o, r)) {
		fprintf(stderr, "%s: run failed\n", name);
		exit(1);
	}
#ifdef HAVE_BACKEND_UVM
	if (U)
		agree(name, &c, o, r);
#endif
}

static void check(const char *name, int ok, const struct bd_result *r, const char *what)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s: %s (status %s r0 0x%llx insns %llu msg \"%s\")\n", name, what,
		bd_status_name(r->status), (unsigned long long)r->r0, (unsigned long long)r->insns, r->message);
}

/* Run and expect status ok with this r0. */
#define EXPECT_R0(name, want, ...)                                                            \
	do {                                                                                  \
		const struct ebpf_insn p_[] = { __VA_ARGS__ };                                \
		struct bd_result r_ = { 0 };                                                  \
		run(name, p_, sizeof(p_) / sizeof(p_[0]), NULL, 0, NULL, &r_);                \
		check(name, r_.status == BD_OK && r_.r0 == (uint64_t)(want), &r_, "r0 " #want); \
		bd_result_reset(&r_);                                                         \
	} while (0)

#define EXPECT_STATUS(name, st, msg, ...)                                                     \
	do {                                                                                  \
		const struct ebpf_insn p_[] = { __VA_ARGS__ };                                \
		struct bd_result r_ = { 0 };                                                  \
		unsigned char m_[16] = { 0 };                                                 \
		run(name, p_, sizeof(p_) / sizeof(p_[0]), m_, sizeof(m_), NULL, &r_);         \
		check(name, r_.status == (st) && strstr(r_.message, msg), &r_, #st " / " msg); \
		bd_result_reset(&r_);                                                         \
	} while (0)

static void test_alu(void)
{
	EXPECT_R0("mov-add", 12, MOV64K(0, 7), I(0x07, 0, 0, 0, 5), EXIT);
	EXPECT_R0("div64-by-zero-reg", 0, MOV64K(0, 7), MOV64K(1, 0), I(0x3f, 0, 1, 0, 0), EXIT);
	EXPECT_R0("div64-by-zero-imm", 0, MOV64K(0, 7), I(0x37, 0, 0, 0, 0), EXIT);
	EXPECT_R0("mod64-by-zero-reg", -7, MOV64K(0, -7), MOV64K(1, 0), I(0x9f, 0, 1, 0, 0), EXIT);
	EXPECT_R0("mod32-by-zero-imm zeroes upper", 0xfffffff9, MOV64K(0, -7), I(0x94, 0, 0, 0, 0), EXIT);
	EXPECT_R0("div32-by-zero-imm", 0, MOV64K(0, -7), I(0x34, 0, 0, 0, 0), EXIT);
	EXPECT_R0("sdiv64 INT_MIN/-1", 0x8000000000000000ull, LDDW(0, 0x8000000000000000ull),
		  I(0x37, 0, 0, 1, -1), EXIT);
	EXPECT_R0("sdiv32 INT_MIN/-1", 0x80000000u, MOV64K(0, 0), I(0xb4, 0, 0, 0, (int)0x80000000),
		  I(0x34, 0, 0, 1, -1), EXIT);
	EXPECT_R0("sdiv64 -7/2", -3, MOV64K(0, -7), I(0x37, 0, 0, 1, 2), EXIT);
	EXPECT_R0("smod64 -7%2", -1, MOV64K(0, -7), I(0x97, 0, 0, 1, 2), EXIT);
	EXPECT_R0("smod32 -7%-2", 0xffffffff, MOV64K(0, -7), I(0x94, 0, 0, 1, -2), EXIT);
	EXPECT_R0("smod64 INT_MIN%-1", 0, LDDW(0, 0x8000000000000000ull), I(0x97, 0, 0, 1, -1), EXIT);
	EXPECT_R0("lsh64 imm 60 (kernel rejects)", 1ull << 60, MOV64K(0, 1), I(0x67, 0, 0, 0, 60), EXIT);
	EXPECT_R0("lsh32 imm 60 masked to 28", 1u << 28, MOV64K(0, 1), I(0x64, 0, 0, 0, 60), EXIT);
	EXPECT_R0("rsh64 imm 65 masked to 1", 0x4000000000000000ull, LDDW(0, 0x8000000000000000ull),
		  I(0x77, 0, 0, 0, 65), EXIT);
	EXPECT_R0("arsh64 imm -1 masked to 63", -1, LDDW(0, 0x8000000000000000ull), I(0xc7, 0, 0, 0, -1), EXIT);
	EXPECT_R0("arsh32 reg", 0xfffffff8u, MOV64K(0, -128), MOV64K(1, 36), I(0xcc, 0, 1, 0, 0), EXIT);
	EXPECT_R0("mov32 zero-extends", 0xffffffffu, MOV64K(0, -1), I(0xbc, 0, 0, 0, 0), EXIT);
	EXPECT_R0("add32 wraps", 1, LDDW(0, 0x1ffffffffull), I(0x04, 0, 0, 0, 2), EXIT);
	EXPECT_R0("neg32", 0xfffffffbu, MOV64K(0, 5), I(0x84, 0, 0, 0, 0), EXIT);
	EXPECT_R0("neg64", -5, MOV64K(0, 5), I(0x87, 0, 0, 0, 0), EXIT);
	EXPECT_R0("mul32", 0xfffffffeu, MOV64K(0, -1), I(0x24, 0, 0, 0, 2), EXIT);
	EXPECT_R0("movsx8_64", -128, MOV64K(1, 0x180), I(0xbf, 0, 1, 8, 0), EXIT);
	EXPECT_R0("movsx16_32", 0xffff8000u, MOV64K(1, 0x8000), I(0xbc, 0, 1, 16, 0), EXIT);
	EXPECT_R0("movsx32_64", -1, LDDW(1, 0x12ffffffffull), I(0xbf, 0, 1, 32, 0), EXIT);
	EXPECT_R0("be16", 0x3412, LDDW(0, 0x1122334455661234ull), I(0xdc, 0, 0, 0, 16), EXIT);
	EXPECT_R0("be32", 0x78563412, LDDW(0, 0x1122334412345678ull), I(0xdc, 0, 0, 0, 32), EXIT);
	EXPECT_R0("be64", 0x8877665544332211ull, LDDW(0, 0x1122334455667788ull), I(0xdc, 0, 0, 0, 64), EXIT);
	EXPECT_R0("le16", 0x1234, LDDW(0, 0x1122334455661234ull), I(0xd4, 0, 0, 0, 16), EXIT);
	EXPECT_R0("bswap32", 0x78563412, LDDW(0, 0x1122334412345678ull), I(0xd7, 0, 0, 0, 32), EXIT);
	EXPECT_R0("lddw", 0x123456789abcdef0ull, LDDW(0, 0x123456789abcdef0ull), EXIT);
}

static void test_jmp(void)
{
	/* r1 = 1 << 32: jeq32 r1, 0 is taken (upper half ignored), jeq r1, 0 is not. */
	EXPECT_R0("jeq32 ignores upper half", 1, LDDW(1, 0x100000000ull), MOV64K(0, 0),
		  I(0x16, 1, 0, 1, 0), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("jeq64 sees upper half", 0, LDDW(1, 0x100000000ull), MOV64K(0, 0),
		  I(0x15, 1, 0, 1, 0), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("jsgt32 signed lower half", 1, LDDW(1, 0x00000000ffffffffull), MOV64K(0, 0),
		  I(0x66, 1, 0, 1, -2), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("jgt32 reg", 1, LDDW(1, 0x1ffffffffull), MOV64K(2, 2), MOV64K(0, 0),
		  I(0x2e, 1, 2, 1, 0), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("jslt64 imm", 1, MOV64K(1, -5), MOV64K(0, 0), I(0xc5, 1, 0, 1, -4), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("jset", 1, MOV64K(1, 6), MOV64K(0, 0), I(0x45, 1, 0, 1, 4), EXIT, MOV64K(0, 1), EXIT);
	EXPECT_R0("ja32", 3, MOV64K(0, 0), I(0x06, 0, 0, 0, 1), MOV64K(0, 2), MOV64K(0, 3), EXIT);
	EXPECT_R0("ja back", 10, MOV64K(0, 0), I(0x07, 0, 0, 0, 1), I(0xa5, 0, 0, 1, 10), EXIT,
		  I(0x05, 0, 0, -4, 0));
}

static void test_mem(void)
{
	struct bd_result r = { 0 };
	unsigned char mem[16] = { 0x80, 0x81, 0x82, 0x83, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	const struct ebpf_insn ldsx[] = {
		I(0x91, 0, 1, 0, 0),  /* ldxsb r0, [r1] */
		I(0x89, 3, 1, 0, 0),  /* ldxsh r3, [r1] */
		I(0x0f, 0, 3, 0, 0),
		I(0x81, 3, 1, 0, 0),  /* ldxsw r3, [r1] */
		I(0x0f, 0, 3, 0, 0),
		I(0x71, 3, 1, 0, 0),  /* ldxb r3, [r1] */
		I(0x0f, 0, 3, 0, 0),
		EXIT,
	};
	run("ldsx", ldsx, 8, mem, 16, NULL, &r);
	check("ldsx", r.status == BD_OK && r.r0 == (uint64_t)(-128LL + (int16_t)0x8180 + (int32_t)0x83828180 + 0x80),
	      &r, "sign-extended sum");

	const struct ebpf_insn wr[] = {
		LDDW(3, 0x1122334455667788ull),
		I(0x7b, 1, 3, 8, 0),          /* stxdw [r1+8], r3 */
		I(0x62, 1, 0, 0, 0x0a0b0c0d), /* stw [r1], imm */
		I(0x6b, 1, 3, 4, 0),          /* stxh [r1+4], r3 */
		I(0x79, 0, 1, 8, 0),          /* ldxdw r0, [r1+8] */
		EXIT,
	};
	run("memory write read back", wr, 7, mem, 16, NULL, &r);
	static const unsigned char after[16] = { 0x0d, 0x0c, 0x0b, 0x0a, 0x88, 0x77, 3, 4,
						 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	check("memory write read back", r.status == BD_OK && r.r0 == 0x1122334455667788ull && r.mem &&
	      r.mem_len == 16 && !memcmp(r.mem, after, 16), &r, "memory after");

	/* Atomics: add, fetch_add, xchg, cmpxchg success and failure, 32-bit forms. */
	unsigned char am[16] = { 0 };
	const struct ebpf_insn at[] = {
		MOV64K(2, 5),
		I(0xdb, 1, 2, 0, 0x00),      /* lock add [r1], r2        mem0 = 5 */
		MOV64K(3, 10),
		I(0xdb, 1, 3, 0, 0x01),      /* r3 = fetch_add [r1], 10  r3 = 5, mem0 = 15 */
		MOV64K(4, 99),
		I(0xdb, 1, 4, 0, 0xe1),      /* r4 = xchg [r1], 99       r4 = 15, mem0 = 99 */
		MOV64K(0, 99), MOV64K(5, 7),
		I(0xdb, 1, 5, 0, 0xf1),      /* cmpxchg: r0 == mem0 -> mem0 = 7, r0 = 99 */
		MOV64X(6, 0),
		MOV64K(0, 1), MOV64K(5, 8),
		I(0xdb, 1, 5, 0, 0xf1),      /* cmpxchg fails: r0 = 7, mem0 stays 7 */
		MOV64X(7, 0),
		LDDW(0, 0xffffffff00000000ull), MOV64K(5, -1),
		I(0xc3, 1, 5, 8, 0xf1),      /* cmpxchg32: (u32)r0 == 0 == mem2 -> mem2 = -1, r0 = 0 (zext) */
		MOV64K(8, 1),
		I(0xc3, 1, 8, 8, 0x41),      /* r8 = fetch_or32 [r1+8], 1: r8 = 0xffffffff */
		/* r0 = r3 + r4 + r6 + r7 + r0 + r8 = 5 + 15 + 99 + 7 + 0 + 0xffffffff */
		I(0x0f, 0, 3, 0, 0), I(0x0f, 0, 4, 0, 0), I(0x0f, 0, 6, 0, 0), I(0x0f, 0, 7, 0, 0),
		I(0x0f, 0, 8, 0, 0),
		EXIT,
	};
	run("atomics", at, sizeof(at) / sizeof(at[0]), am, 16, NULL, &r);
	check("atomics", r.status == BD_OK && r.r0 == 5 + 15 + 99 + 7 + 0xffffffffull && r.mem &&
	      r.mem[0] == 7 && r.mem[8] == 0xff && r.mem[11] == 0xff && r.mem[12] == 0, &r, "atomic results");

	/* Stack: [r10-8] round trip; [r10-512] is the frame's lowest slot; [r10] and [r10-520] fault. */
	const struct ebpf_insn st[] = {
		MOV64K(3, 42), I(0x7b, 10, 3, -8, 0), I(0x7b, 10, 3, -512, 0), I(0x79, 0, 10, -8, 0), EXIT,
	};
	run("stack round trip", st, 5, NULL, 0, NULL, &r);
	check("stack round trip", r.status == BD_OK && r.r0 == 42, &r, "r0 42");
	EXPECT_STATUS("stack read at r10 faults", BD_FAULT, "pc 1: read of 8 bytes at 0x200000000 out of bounds",
		      MOV64K(0, 0), I(0x79, 0, 10, 0, 0), EXIT);
	EXPECT_STATUS("stack write below frame faults", BD_FAULT, "pc 0: write of 1 bytes at 0x1fffffdf8 out of bounds",
		      I(0x72, 10, 0, -520, 1), EXIT);
	EXPECT_STATUS("mem read past end faults", BD_FAULT, "pc 2: read of 8 bytes at 0x100000009 out of bounds",
		      MOV64K(0, 0), MOV64K(0, 0), I(0x79, 0, 1, 9, 0), EXIT);
	EXPECT_STATUS("atomic before mem faults", BD_FAULT, "pc 0: write of 4 bytes at 0xffffffff out of bounds",
		      I(0xc3, 1, 1, -1, 0), EXIT);

	/* Stack fill pattern is visible to reads of unwritten slots. */
	struct bd_run_opts o;
	bd_run_opts_default(&o);
	o.stack_fill = 0xab;
	const struct ebpf_insn sf[] = { I(0x79, 0, 10, -16, 0), EXIT };
	run("stack fill", sf, 2, NULL, 0, &o, &r);
	check("stack fill", r.status == BD_OK && r.r0 == 0xababababababababull, &r, "fill pattern");
	bd_result_reset(&r);
}

static void test_calls(void)
{
	/* main: r6..r9 = 1..4, [r10-8] = 1000, call f, r0 += r6+r7+r8+r9 + [r10-8]
	 * f:    r6..r9 = 100, [r10-8] = 7 (own frame), r0 = 5 */
	EXPECT_R0("call local preserves r6-r9 and frames", 5 + 1 + 2 + 3 + 4 + 1000,
		  MOV64K(6, 1), MOV64K(7, 2), MOV64K(8, 3), MOV64K(9, 4),
		  MOV64K(1, 1000), I(0x7b, 10, 1, -8, 0),
		  I(0x85, 0, 1, 0, 7),                         /* call local +7 -> pc 14 */
		  I(0x0f, 0, 6, 0, 0), I(0x0f, 0, 7, 0, 0), I(0x0f, 0, 8, 0, 0), I(0x0f, 0, 9, 0, 0),
		  I(0x79, 1, 10, -8, 0), I(0x0f, 0, 1, 0, 0),
		  EXIT,
		  MOV64K(6, 100), MOV64K(7, 100), MOV64K(8, 100), MOV64K(9, 100),
		  MOV64K(1, 7), I(0x7b, 10, 1, -8, 0), MOV64K(0, 5), EXIT);
	/* The callee's r10 is 512 below its caller's. */
	EXPECT_R0("callee r10", 512, MOV64X(6, 10), I(0x85, 0, 1, 0, 3), I(0x1f, 6, 0, 0, 0), MOV64X(0, 6), EXIT,
		  MOV64X(0, 10), EXIT);
	/* A callee may read its caller's frame through a pointer. */
	EXPECT_R0("callee reads caller frame", 77, MOV64K(1, 77), I(0x7b, 10, 1, -8, 0), MOV64X(1, 10),
		  I(0x85, 0, 1, 0, 1), EXIT, I(0x79, 0, 1, -8, 0), EXIT);
	EXPECT_STATUS("endless recursion faults at depth 8", BD_FAULT, "pc 0: call depth exceeds 8",
		      I(0x85, 0, 1, 0, -1), EXIT);
	EXPECT_STATUS("unknown helper unsupported", BD_UNSUPPORTED,
		      "pc 1: helper 26 (bpf_skb_load_bytes) is not modelled on platform linux",
		      MOV64K(0, 0), I(0x85, 0, 0, 0, 26), EXIT);
	EXPECT_STATUS("callx of an unknown helper unsupported at run time", BD_UNSUPPORTED,
		      "pc 1: helper call through r1 (helper 26) is not modelled on platform linux",
		      MOV64K(1, 26), I(0x8d, 1, 0, 0, 0), EXIT);
	EXPECT_STATUS("lddw of a map the case does not have is rejected", BD_REJECTED,
		      "pc 0: lddw_map_fd refers to map 3, but there are 0", I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	EXPECT_STATUS("lddw of a BTF variable unsupported", BD_UNSUPPORTED, "pc 0: lddw_var_addr (lddw src 3) is not modelled",
		      I(0x18, 1, 3, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	EXPECT_STATUS("unknown opcode is rejected", BD_REJECTED, "pc 1: unknown opcode 0xff",
		      MOV64K(0, 0), I(0xff, 0, 0, 0, 0), EXIT);
	EXPECT_STATUS("jump out of range is rejected", BD_REJECTED, "pc 0: jump target 5 out of range [0, 2)",
		      I(0x05, 0, 0, 4, 0), EXIT);
	EXPECT_STATUS("jump into lddw is rejected", BD_REJECTED, "pc 0: jump target 2 is the second half of lddw",
		      I(0x05, 0, 0, 1, 0), LDDW(0, 1), EXIT);
	EXPECT_STATUS("missing exit is rejected", BD_REJECTED, "pc 0: missing exit", MOV64K(0, 0));
	case_cpu = 3;
	EXPECT_STATUS("sdiv on cpu v3 is rejected", BD_REJECTED, "needs cpu v4", I(0x37, 0, 0, 1, 2), EXIT);
	case_cpu = 0;
}

/* Linux forms and run-time r10 faults (each result must also agree with the uvm). */
static void test_linux_forms(void)
{
	EXPECT_R0("load-acquire b zero-extends", 0xf2, MOV64K(0, -1), MOV64K(2, 0xf2), I(0x73, 10, 2, -1, 0),
		  I(0xd3, 0, 10, -1, 0x100), EXIT);
	EXPECT_R0("store-release h then load-acquire dw", 0xfffe, MOV64K(2, 0), I(0x7b, 10, 2, -8, 0),
		  MOV64K(2, -2), I(0xcb, 10, 2, -8, 0x110), I(0xdb, 0, 10, -8, 0x100), EXIT);
	EXPECT_R0("store-release w", 0x89abcdef, LDDW(2, 0x0123456789abcdefull), I(0xc3, 10, 2, -4, 0x110),
		  I(0x61, 0, 10, -4, 0), EXIT);
	EXPECT_STATUS("load-acquire oob", BD_FAULT, "pc 0: read of 8 bytes", I(0xdb, 0, 1, 12, 0x100), EXIT);
	/* may_goto: 8,388,608 per frame, shared by the frame's may_gotos, fresh in a callee. */
	EXPECT_R0("may_goto count", 8388608, MOV64K(0, 0), I(0xe5, 0, 0, 2, 0), I(0x07, 0, 0, 0, 1),
		  I(0x05, 0, 0, -3, 0), EXIT);
	EXPECT_R0("may_goto per frame", 0x117, I(0xe5, 0, 0, 1, 0), I(0x05, 0, 0, -2, 0), I(0x85, 0, 1, 0, 4),
		  I(0xe5, 0, 0, 1, 0), EXIT, I(0x07, 0, 0, 0, 0x100), EXIT, MOV64K(0, 0x17), I(0xe5, 0, 0, 1, 0),
		  EXIT, MOV64K(0, 0x99), EXIT);
	EXPECT_STATUS("r10 write faults", BD_FAULT, "pc 1: write to r10", MOV64K(0, 0), MOV64K(10, 1), EXIT);
	EXPECT_STATUS("xchg into r10 faults", BD_FAULT, "pc 1: write to r10", MOV64K(0, 0),
		      I(0xdb, 10, 10, -8, 0xe1), EXIT);
	EXPECT_R0("dead r10 write", 3, MOV64K(0, 3), I(0x05, 0, 0, 1, 0), MOV64K(10, 1), EXIT);
}

static void test_budget(void)
{
	struct bd_result r = { 0 };
	struct bd_run_opts o;
	const struct ebpf_insn spin[] = { MOV64K(0, 0), I(0x05, 0, 0, -1, 0), EXIT };

	bd_run_opts_default(&o);
	o.budget = 1000;
	run("timeout", spin, 3, NULL, 0, &o, &r);
	check("timeout", r.status == BD_TIMEOUT && r.insns == 1000 &&
	      !strcmp(r.message, "pc 1: instruction budget of 1000 exhausted"), &r, "timeout after 1000");

	/* More than one test_run's worth of steps (33,554,432), exactly counted. */
	o.budget = 40000001;
	run("timeout over several test_runs", spin, 3, NULL, 0, &o, &r);
	check("timeout over several test_runs", r.status == BD_TIMEOUT && r.insns == 40000001, &r,
	      "40000001 steps");

	/* > BPF_MAX_LOOPS (8,388,608) guest instructions in one case: 3M iterations x 3 + 3. */
	const struct ebpf_insn loop[] = {
		MOV64K(0, 0), LDDW(1, 3000000),
		I(0x07, 0, 0, 0, 3), I(0x07, 1, 0, 0, -1), I(0x55, 1, 0, -3, 0), EXIT,
	};
	o.budget = 0;
	run("12M steps", loop, 7, NULL, 0, &o, &r);
	check("12M steps", r.status == BD_OK && r.r0 == 9000000 && r.insns == 2 + 9000000 + 1, &r,
	      "r0 9000000 after 9000003 insns");
	bd_result_reset(&r);
}

static void test_many(void)
{
	struct bd_result r = { 0 };
	unsigned char mem[8];
	const struct ebpf_insn p[] = {
		I(0x61, 0, 1, 0, 0), I(0x07, 0, 0, 0, 1), I(0x63, 1, 0, 0, 0), I(0x27, 0, 0, 0, 3), EXIT,
	};
	int bad = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < 10000; i++) {
		memcpy(mem, &i, 4);
		run("10k cases", p, 5, mem, sizeof(mem), NULL, &r);
		uint32_t back;
		memcpy(&back, r.mem, 4);
		if (r.status != BD_OK || r.r0 != (uint64_t)(i + 1) * 3 || back != i + 1)
			bad++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check("10k cases without reload", !bad, &r, "all 10k right");
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("10k cases in %.1f ms (%.0f cases/s)\n", s * 1e3, 1e4 / s);
	bd_result_reset(&r);
}

int main(void)
{
	struct bd_backend_config cfg = { .cpu = 4 };
	char why[512];
	int err = bd_backend_xdp.open(&B, &cfg, why, sizeof(why));
	if (err) {
		printf("test_xdp: xdp backend unavailable: %s\n", why);
		return err == -EPERM || err == -EACCES ? 77 : 1;
	}
#ifdef HAVE_BACKEND_UVM
	if (bd_backend_uvm.open(&U, &cfg, why, sizeof(why))) {
		printf("test_xdp: uvm backend unavailable: %s\n", why);
		return 1;
	}
#endif
	test_alu();
	test_jmp();
	test_mem();
	test_calls();
	test_linux_forms();
	test_budget();
	test_many();
	if (getenv("TEST_XDP_INFO"))
		bd_backend_xdp.info(B, stdout);
	bd_backend_xdp.close(B);
#ifdef HAVE_BACKEND_UVM
	bd_backend_uvm.close(U);
	printf("%llu cases agreed exactly with the uvm\n", agreed);
#endif
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
