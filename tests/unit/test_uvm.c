/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the uvm (vm/uvm.c): RFC 9669 edges, frames, faults, budget,
 * the validator. Plain C: prints "N passed, M failed", exits 1 on failure.
 * Built with -DUVM_MUTANTS it also checks that every mutant changes what it
 * says it changes (and only then).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vm/helpers.h"
#include "vm/uvm.h"
#include "vm/semantics.h"

typedef uint64_t u64;

static int passed, failed;

static void check(int ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- a tiny assembler -------------------------------------------------- */

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }
#define ALU64K(code, d, i) I(0x07 | (code), d, 0, 0, i)
#define ALU64X(code, d, s) I(0x0f | (code), d, s, 0, 0)
#define ALU32K(code, d, i) I(0x04 | (code), d, 0, 0, i)
#define ALU32X(code, d, s) I(0x0c | (code), d, s, 0, 0)
#define ADD 0x00
#define SUB 0x10
#define MUL 0x20
#define DIV 0x30
#define OR 0x40
#define AND 0x50
#define LSH 0x60
#define RSH 0x70
#define NEG 0x80
#define MOD 0x90
#define XOR 0xa0
#define MOV 0xb0
#define ARSH 0xc0
#define MOVK(d, i) ALU64K(MOV, d, i)
#define MOVX(d, s) ALU64X(MOV, d, s)
#define SDIV64K(d, i) I(0x37, d, 0, 1, i)
#define SDIV32K(d, i) I(0x34, d, 0, 1, i)
#define SMOD64K(d, i) I(0x97, d, 0, 1, i)
#define SMOD32K(d, i) I(0x94, d, 0, 1, i)
#define LDDW(d, v) I(0x18, d, 0, 0, (int32_t)(uint32_t)(u64)(v)), I(0, 0, 0, 0, (int32_t)((u64)(v) >> 32))
#define LDX(sz, d, s, o) I(0x61 | (sz), d, s, o, 0)
#define LDXSX(sz, d, s, o) I(0x81 | (sz), d, s, o, 0)
#define STX(sz, d, s, o) I(0x63 | (sz), d, s, o, 0)
#define ST(sz, d, o, i) I(0x62 | (sz), d, 0, o, i)
#define W 0x00
#define H 0x08
#define B 0x10
#define DW 0x18
#define ATOMIC64(d, s, o, op) I(0xdb, d, s, o, op)
#define ATOMIC32(d, s, o, op) I(0xc3, d, s, o, op)
#define JK(code, d, i, o) I(0x05 | (code), d, 0, o, i)
#define JX(code, d, s, o) I(0x0d | (code), d, s, o, 0)
#define J32K(code, d, i, o) I(0x06 | (code), d, 0, o, i)
#define J32X(code, d, s, o) I(0x0e | (code), d, s, o, 0)
#define JEQ 0x10
#define JGT 0x20
#define JSGT 0x60
#define JNE 0x50
#define JLT 0xa0
#define JA(o) I(0x05, 0, 0, o, 0)
#define CALL(i) I(0x85, 0, 0, 0, i)
#define CALL_LOCAL(i) I(0x85, 0, 1, 0, i)
#define CALLX(d) I(0x8d, d, 0, 0, 0)
#define EXIT I(0x95, 0, 0, 0, 0)
/* Linux: load-acquire / store-release (BPF_STX|BPF_ATOMIC|size, imm 0x100 / 0x110), may_goto (0xe5). */
#define LDACQ(sz, d, s, o) I(0xc3 | (sz), d, s, o, 0x100)
#define STREL(sz, d, s, o) I(0xc3 | (sz), d, s, o, 0x110)
#define MAY_GOTO(o) I(0xe5, 0, 0, o, 0)

#define P(...) ((const struct ebpf_insn[]){ __VA_ARGS__ }), \
	(sizeof((const struct ebpf_insn[]){ __VA_ARGS__ }) / sizeof(struct ebpf_insn))

static unsigned cur_mutant;
static uint8_t mem[64];

static void fill_mem(void)
{
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(0x10 + i);
}

/* Load and run with default options (+ cur_mutant) on mem; 0 or load error. */
static int run_opts(const struct ebpf_insn *p, size_t n, const struct uvm_opts *opts, void *m, size_t len,
		    struct uvm_result *res, char *err)
{
	struct uvm_opts o = opts ? *opts : (struct uvm_opts){ .sz = sizeof(o) };
	o.mutant = cur_mutant;
	struct uvm *vm = uvm_create(NULL);
	if (!vm || uvm_set_opts(vm, &o) < 0) {
		uvm_destroy(vm);
		return -100;
	}
	char e[256];
	int rc = uvm_load(vm, p, n, e, sizeof(e));
	if (err)
		snprintf(err, 256, "%s", e);
	if (rc == 0)
		rc = uvm_run(vm, m, len, res);
	uvm_destroy(vm);
	return rc;
}

static u64 r0_of(const char *name, const struct ebpf_insn *p, size_t n)
{
	struct uvm_result res;
	char err[256];
	fill_mem();
	int rc = run_opts(p, n, NULL, mem, sizeof(mem), &res, err);
	if (rc) {
		check(0, name, "load/run rc %d: %s", rc, err);
		return 0xdeadbeefdeadbeefULL;
	}
	if (res.status != UVM_OK) {
		check(0, name, "status %d: %s", res.status, res.message);
		return 0xdeadbeefdeadbeefULL;
	}
	return res.r0;
}

static void expect(const char *name, const struct ebpf_insn *p, size_t n, u64 want)
{
	u64 got = r0_of(name, p, n);
	check(got == want, name, "r0 0x%llx, want 0x%llx", (unsigned long long)got, (unsigned long long)want);
}
#define EXPECT(name, want, ...) expect(name, P(__VA_ARGS__), want)

/* ---- RFC 9669 edges ---------------------------------------------------- */

static void test_alu(void)
{
	EXPECT("div64 by zero reg", 0, MOVK(0, 7), MOVK(1, 0), ALU64X(DIV, 0, 1), EXIT);
	EXPECT("div64 by zero imm", 0, MOVK(0, 7), ALU64K(DIV, 0, 0), EXIT);
	EXPECT("div32 by zero zeroes upper", 0, LDDW(0, 0xffffffff00000007ULL), MOVK(1, 0), ALU32X(DIV, 0, 1), EXIT);
	EXPECT("mod64 by zero keeps dst", 0xffffffff00000007ULL, LDDW(0, 0xffffffff00000007ULL), MOVK(1, 0),
	       ALU64X(MOD, 0, 1), EXIT);
	EXPECT("mod32 by zero keeps low half", 7, LDDW(0, 0xffffffff00000007ULL), ALU32K(MOD, 0, 0), EXIT);
	EXPECT("div64 unsigned", 0x7fffffffffffffffULL, MOVK(0, -1), ALU64K(DIV, 0, 2), EXIT);
	EXPECT("div32 imm is unsigned", 0, MOVK(0, 5), ALU32K(DIV, 0, -1), EXIT);
	EXPECT("mod64 imm sign-extended", 5, MOVK(0, 5), ALU64K(MOD, 0, -1), EXIT);
	EXPECT("sdiv64 INT_MIN/-1", 0x8000000000000000ULL, LDDW(0, 0x8000000000000000ULL), SDIV64K(0, -1), EXIT);
	EXPECT("sdiv32 INT_MIN/-1", 0x80000000ULL, ALU32K(MOV, 0, (int32_t)0x80000000), SDIV32K(0, -1), EXIT);
	EXPECT("smod64 INT_MIN/-1", 0, LDDW(0, 0x8000000000000000ULL), SMOD64K(0, -1), EXIT);
	EXPECT("smod32 INT_MIN/-1", 0, ALU32K(MOV, 0, (int32_t)0x80000000), SMOD32K(0, -1), EXIT);
	EXPECT("sdiv64 truncates", (u64)-3, MOVK(0, -7), SDIV64K(0, 2), EXIT);
	EXPECT("sdiv32 truncates", 0xfffffffdULL, MOVK(0, -7), SDIV32K(0, 2), EXIT);
	EXPECT("smod64 dividend sign", (u64)-1, MOVK(0, -7), SMOD64K(0, 2), EXIT);
	EXPECT("smod64 positive dividend", 1, MOVK(0, 7), SMOD64K(0, -2), EXIT);
	EXPECT("smod32 dividend sign", 0xffffffffULL, MOVK(0, -7), SMOD32K(0, 2), EXIT);
	EXPECT("sdiv64 by zero", 0, MOVK(0, -7), MOVK(1, 0), I(0x3f, 0, 1, 1, 0), EXIT);
	EXPECT("smod64 by zero", (u64)-7, MOVK(0, -7), MOVK(1, 0), I(0x9f, 0, 1, 1, 0), EXIT);
	EXPECT("smod32 by zero zero-extends", 0xfffffff9ULL, MOVK(0, -7), MOVK(1, 0), I(0x9c, 0, 1, 1, 0), EXIT);
	EXPECT("lsh64 masks 65", 2, MOVK(0, 1), MOVK(1, 65), ALU64X(LSH, 0, 1), EXIT);
	EXPECT("lsh64 imm 64", 1, MOVK(0, 1), ALU64K(LSH, 0, 64), EXIT);
	EXPECT("lsh32 masks 33", 2, MOVK(0, 1), MOVK(1, 33), ALU32X(LSH, 0, 1), EXIT);
	EXPECT("rsh32 masks and zero-extends", 0x7fffffffULL, MOVK(0, -1), ALU32K(RSH, 0, 33), EXIT);
	EXPECT("rsh64 masks", 0x7fffffffffffffffULL, MOVK(0, -1), ALU64K(RSH, 0, 65), EXIT);
	EXPECT("arsh64", (u64)-1, MOVK(0, -16), ALU64K(ARSH, 0, 63), EXIT);
	EXPECT("arsh32 zero-extends", 0xf8000000ULL, ALU32K(MOV, 0, (int32_t)0x80000000), ALU32K(ARSH, 0, 4), EXIT);
	EXPECT("arsh32 masks", 0xf8000000ULL, ALU32K(MOV, 0, (int32_t)0x80000000), ALU32K(ARSH, 0, 36), EXIT);
	EXPECT("add32 zero-extends", 0, MOVK(0, -1), ALU32K(ADD, 0, 1), EXIT);
	EXPECT("mov32 zero-extends", 0xffffffffULL, MOVK(0, -1), ALU32X(MOV, 0, 0), EXIT);
	EXPECT("mov32 imm zero-extends", 0xffffffffULL, ALU32K(MOV, 0, -1), EXIT);
	EXPECT("mov64 imm sign-extends", (u64)-1, MOVK(0, -1), EXIT);
	EXPECT("or64 imm sign-extends", 0xffffffff80000000ULL, MOVK(0, 0), ALU64K(OR, 0, (int32_t)0x80000000), EXIT);
	EXPECT("and32", 0x0f, LDDW(0, 0xff0000000000000fULL), ALU32K(AND, 0, -1), EXIT);
	EXPECT("xor64", 0xfffffffffffffffeULL, MOVK(0, 1), ALU64K(XOR, 0, -1), EXIT);
	EXPECT("mul32 wraps", 0xfffffffeULL, MOVK(0, 0x7fffffff), ALU32K(MUL, 0, 2), EXIT);
	EXPECT("mul64", 0xfffffffffffffffeULL, MOVK(0, -1), ALU64K(MUL, 0, 2), EXIT);
	EXPECT("sub32 zero-extends", 0xffffffffULL, MOVK(0, 0), ALU32K(SUB, 0, 1), EXIT);
	EXPECT("neg64", (u64)-5, MOVK(0, 5), I(0x87, 0, 0, 0, 0), EXIT);
	EXPECT("neg32 zero-extends", 0xfffffffbULL, MOVK(0, 5), I(0x84, 0, 0, 0, 0), EXIT);
	EXPECT("neg64 INT_MIN", 0x8000000000000000ULL, LDDW(0, 0x8000000000000000ULL), I(0x87, 0, 0, 0, 0), EXIT);
	EXPECT("movsx8 64", 0xffffffffffffff80ULL, MOVK(1, 0x180), I(0xbf, 0, 1, 8, 0), EXIT);
	EXPECT("movsx16 64", 0xffffffffffff8000ULL, MOVK(1, 0x18000), I(0xbf, 0, 1, 16, 0), EXIT);
	EXPECT("movsx32 64", 0xffffffff80000000ULL, LDDW(1, 0x180000000ULL), I(0xbf, 0, 1, 32, 0), EXIT);
	EXPECT("movsx8 32", 0xffffff80ULL, MOVK(1, 0x180), I(0xbc, 0, 1, 8, 0), EXIT);
	EXPECT("movsx16 32", 0xffff8000ULL, MOVK(1, 0x18000), I(0xbc, 0, 1, 16, 0), EXIT);
	EXPECT("movsx8 positive", 0x7f, MOVK(1, -129), I(0xbf, 0, 1, 8, 0), EXIT);
	EXPECT("lddw", 0x0123456789abcdefULL, LDDW(0, 0x0123456789abcdefULL), EXIT);
	EXPECT("lddw counts once in insns", 0x55, LDDW(0, 0x55), EXIT);
}

static void test_swap(void)
{
	const u64 v = 0x0102030405060708ULL;
	EXPECT("be16", 0x0807, LDDW(0, v), I(0xdc, 0, 0, 0, 16), EXIT);
	EXPECT("be32", 0x08070605, LDDW(0, v), I(0xdc, 0, 0, 0, 32), EXIT);
	EXPECT("be64", 0x0807060504030201ULL, LDDW(0, v), I(0xdc, 0, 0, 0, 64), EXIT);
	EXPECT("le16", 0x0708, LDDW(0, v), I(0xd4, 0, 0, 0, 16), EXIT);
	EXPECT("le32", 0x05060708, LDDW(0, v), I(0xd4, 0, 0, 0, 32), EXIT);
	EXPECT("le64", v, LDDW(0, v), I(0xd4, 0, 0, 0, 64), EXIT);
	EXPECT("bswap16", 0x0807, LDDW(0, v), I(0xd7, 0, 0, 0, 16), EXIT);
	EXPECT("bswap32", 0x08070605, LDDW(0, v), I(0xd7, 0, 0, 0, 32), EXIT);
	EXPECT("bswap64", 0x0807060504030201ULL, LDDW(0, v), I(0xd7, 0, 0, 0, 64), EXIT);
}

static void test_mem(void)
{
	/* mem[i] = 0x10 + i */
	EXPECT("ldxb", 0x10, LDX(B, 0, 1, 0), EXIT);
	EXPECT("ldxh", 0x1211, LDX(H, 0, 1, 1), EXIT);
	EXPECT("ldxw unaligned", 0x16151413, LDX(W, 0, 1, 3), EXIT);
	EXPECT("ldxdw", 0x4f4e4d4c4b4a4948ULL, LDX(DW, 0, 1, 56), EXIT);
	EXPECT("ldxsb", 0xffffffffffffff80ULL, ST(B, 1, 0, 0x80), LDXSX(B, 0, 1, 0), EXIT);
	EXPECT("ldxsb positive", 0x7f, ST(B, 1, 0, 0x7f), LDXSX(B, 0, 1, 0), EXIT);
	EXPECT("ldxsh", 0xffffffffffff8001ULL, ST(H, 1, 2, 0x8001), LDXSX(H, 0, 1, 2), EXIT);
	EXPECT("ldxsw", 0xffffffff80000001ULL, ST(W, 1, 4, (int32_t)0x80000001), LDXSX(W, 0, 1, 4), EXIT);
	EXPECT("ldxb zero-extends", 0x80, ST(B, 1, 0, 0x80), LDX(B, 0, 1, 0), EXIT);
	EXPECT("stdw sign-extends imm", (u64)-2, ST(DW, 1, 8, -2), LDX(DW, 0, 1, 8), EXIT);
	EXPECT("stw/ldxdw", 0x17161514fffffffeULL, ST(W, 1, 0, -2), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("stxh truncates", 0x1716151413124321ULL, LDDW(2, 0x7654321), STX(H, 1, 2, 0), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("stack stxdw/ldxdw", 0x1122334455667788ULL, LDDW(2, 0x1122334455667788ULL), STX(DW, 10, 2, -512),
	       LDX(DW, 0, 10, -512), EXIT);
	EXPECT("negative offset", 0x10, MOVX(3, 1), ALU64K(ADD, 3, 10), LDX(B, 0, 3, -10), EXIT);
	EXPECT("r2 is mem_len", sizeof(mem), MOVX(0, 2), EXIT);

	/* Atomics on mem[0..8) = 10. */
#define AT_PRE LDDW(3, 10), STX(DW, 1, 3, 0)
	EXPECT("atomic add64", 15, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x00), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic add64 no fetch keeps src", 5, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x00), MOVX(0, 2), EXIT);
	EXPECT("atomic or64", 0xb, AT_PRE, MOVK(2, 1), ATOMIC64(1, 2, 0, 0x40), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic and64", 0x2, AT_PRE, MOVK(2, 3), ATOMIC64(1, 2, 0, 0x50), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic xor64", 0x9, AT_PRE, MOVK(2, 3), ATOMIC64(1, 2, 0, 0xa0), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic fetch add64 old", 10, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x01), MOVX(0, 2), EXIT);
	EXPECT("atomic fetch add64 mem", 15, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x01), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic fetch or64", 10, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x41), MOVX(0, 2), EXIT);
	EXPECT("atomic fetch and64", 10, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0x51), MOVX(0, 2), EXIT);
	EXPECT("atomic fetch xor64 mem", 15, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0xa1), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic xchg64 old", 10, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0xe1), MOVX(0, 2), EXIT);
	EXPECT("atomic xchg64 mem", 5, AT_PRE, MOVK(2, 5), ATOMIC64(1, 2, 0, 0xe1), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic add32 keeps upper mem", 0x1716151400000013ULL, ST(W, 1, 0, -1), MOVK(2, 0x14),
	       ATOMIC32(1, 2, 0, 0x00), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic fetch add32 zero-extends", 0xffffffffULL, ST(W, 1, 0, -1), MOVK(2, -1), ATOMIC32(1, 2, 0, 0x01),
	       MOVX(0, 2), EXIT);
	EXPECT("atomic xchg32", 0x17161514ffffffffULL, ST(W, 1, 0, 7), MOVK(2, -1), ATOMIC32(1, 2, 0, 0xe1),
	       LDX(DW, 0, 1, 0), EXIT);
	EXPECT("atomic xchg32 old zero-extended", 7, ST(W, 1, 0, 7), MOVK(2, -1), ATOMIC32(1, 2, 0, 0xe1), MOVX(0, 2),
	       EXIT);
	EXPECT("atomic fetch and32", 0x7, ST(W, 1, 0, 7), LDDW(2, 0xff00000003ULL), ATOMIC32(1, 2, 0, 0x51), MOVX(0, 2),
	       EXIT);
	EXPECT("atomic on stack", 12, MOVK(3, 10), STX(DW, 10, 3, -8), MOVK(2, 2), ATOMIC64(10, 2, -8, 0x00),
	       LDX(DW, 0, 10, -8), EXIT);
	EXPECT("cmpxchg64 success mem", 99, AT_PRE, MOVK(0, 10), MOVK(2, 99), ATOMIC64(1, 2, 0, 0xf1),
	       LDX(DW, 0, 1, 0), EXIT);
	EXPECT("cmpxchg64 success r0", 10, AT_PRE, MOVK(0, 10), MOVK(2, 99), ATOMIC64(1, 2, 0, 0xf1), EXIT);
	EXPECT("cmpxchg64 failure mem", 10, AT_PRE, MOVK(0, 11), MOVK(2, 99), ATOMIC64(1, 2, 0, 0xf1),
	       LDX(DW, 0, 1, 0), EXIT);
	EXPECT("cmpxchg64 failure r0", 10, AT_PRE, MOVK(0, 11), MOVK(2, 99), ATOMIC64(1, 2, 0, 0xf1), EXIT);
	EXPECT("cmpxchg32 compares low half", 0x17161514000000aaULL, ST(W, 1, 0, 7), LDDW(0, 0xff00000007ULL),
	       MOVK(2, 0xaa), ATOMIC32(1, 2, 0, 0xf1), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("cmpxchg32 r0 zero-extended", 7, ST(W, 1, 0, 7), LDDW(0, 0xff00000007ULL), MOVK(2, 0xaa),
	       ATOMIC32(1, 2, 0, 0xf1), EXIT);
	EXPECT("cmpxchg32 failure", 0x1716151400000007ULL, ST(W, 1, 0, 7), MOVK(0, 8), MOVK(2, 0xaa),
	       ATOMIC32(1, 2, 0, 0xf1), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("cmpxchg32 failure r0", 7, ST(W, 1, 0, 7), MOVK(0, -1), MOVK(2, 0xaa), ATOMIC32(1, 2, 0, 0xf1), EXIT);
}

static void test_jumps(void)
{
	EXPECT("jeq32 ignores upper half", 1, LDDW(1, 0x100000005ULL), MOVK(0, 0), J32K(JEQ, 1, 5, 1), EXIT,
	       MOVK(0, 1), EXIT);
	EXPECT("jeq64 sees upper half", 0, LDDW(1, 0x100000005ULL), MOVK(0, 0), JK(JEQ, 1, 5, 1), EXIT, MOVK(0, 1),
	       EXIT);
	EXPECT("jeq32 reg", 1, LDDW(1, 0x100000005ULL), MOVK(2, 5), MOVK(0, 0), J32X(JEQ, 1, 2, 1), EXIT, MOVK(0, 1),
	       EXIT);
	EXPECT("jsgt32 signed low half", 0, LDDW(1, 0x00000000ffffffffULL), MOVK(0, 0), J32K(JSGT, 1, 0, 1), EXIT,
	       MOVK(0, 1), EXIT);
	EXPECT("jgt32 unsigned", 1, LDDW(1, 0x00000000ffffffffULL), MOVK(0, 0), J32K(JGT, 1, 0, 1), EXIT, MOVK(0, 1),
	       EXIT);
	EXPECT("jsgt64", 1, MOVK(1, 1), MOVK(2, -1), MOVK(0, 0), JX(JSGT, 1, 2, 1), EXIT, MOVK(0, 1), EXIT);
	EXPECT("jgt64 imm sign-extended", 0, MOVK(1, 5), MOVK(0, 0), JK(JGT, 1, -1, 1), EXIT, MOVK(0, 1), EXIT);
	EXPECT("jlt32 imm low half", 1, LDDW(1, 0x700000001ULL), MOVK(0, 0), J32K(JLT, 1, 2, 1), EXIT, MOVK(0, 1),
	       EXIT);
	EXPECT("jset", 1, MOVK(1, 6), MOVK(0, 0), JK(0x40, 1, 2, 1), EXIT, MOVK(0, 1), EXIT);
	EXPECT("jne not taken", 0, MOVK(1, 6), MOVK(0, 0), JK(JNE, 1, 6, 1), EXIT, MOVK(0, 1), EXIT);
	EXPECT("jsge/jslt/jsle", 3, MOVK(1, -2), MOVK(0, 0), JK(0x70, 1, -2, 1), ALU64K(ADD, 0, 100),
	       ALU64K(ADD, 0, 1), JK(0xc0, 1, -1, 1), ALU64K(ADD, 0, 100), ALU64K(ADD, 0, 1), JK(0xd0, 1, -3, 1),
	       ALU64K(ADD, 0, 1), EXIT);
	EXPECT("ja32", 2, MOVK(0, 1), I(0x06, 0, 0, 0, 1), EXIT, MOVK(0, 2), EXIT);
	EXPECT("loop", 45, MOVK(0, 0), MOVK(1, 0), ALU64X(ADD, 0, 1), ALU64K(ADD, 1, 1), JK(JLT, 1, 10, -3), EXIT);
	EXPECT("last insn ja back", 3, MOVK(0, 0), JA(2), EXIT, EXIT, ALU64K(ADD, 0, 1), JK(JLT, 0, 3, -2), JA(-5));
}

static u64 helper_add(void *ctx, u64 a, u64 b, u64 c, u64 d, u64 e)
{
	(void)ctx;
	return a + b + c + d + e;
}

static void test_calls(void)
{
	EXPECT("local call preserves r6-r9", 1 + 2 + 3 + 4, MOVK(6, 1), MOVK(7, 2), MOVK(8, 3), MOVK(9, 4),
	       CALL_LOCAL(5), MOVX(0, 6), ALU64X(ADD, 0, 7), ALU64X(ADD, 0, 8), ALU64X(ADD, 0, 9), EXIT,
	       /* f: */ MOVK(6, 10), MOVK(7, 10), MOVK(8, 10), MOVK(9, 10), EXIT);
	EXPECT("local call returns r0 and keeps r1-r5", 0x2a + 7, MOVK(3, 7), CALL_LOCAL(2), ALU64X(ADD, 0, 3), EXIT,
	       /* f: */ MOVK(0, 0x2a), EXIT);
	EXPECT("callee frame is 512 bytes below", 512, CALL_LOCAL(4), MOVX(1, 10), ALU64X(SUB, 1, 0), MOVX(0, 1), EXIT,
	       /* f: */ MOVX(0, 10), EXIT);
	EXPECT("frames do not alias", 3, MOVK(1, 3), STX(DW, 10, 1, -8), CALL_LOCAL(2), LDX(DW, 0, 10, -8), EXIT,
	       /* f: */ ST(DW, 10, -8, 7), EXIT);
	EXPECT("callee may write its caller's frame", 7, MOVX(6, 10), CALL_LOCAL(2), LDX(DW, 0, 10, -8), EXIT,
	       /* f: */ ST(DW, 6, -8, 7), EXIT);
	/* Nested to exactly 8 frames: f calls g calls ... 7 calls. */
	EXPECT("8 frames are fine", 7, MOVK(0, 0), CALL_LOCAL(1), EXIT,
	       /* f1..f7: */ ALU64K(ADD, 0, 1), JK(JEQ, 0, 7, 1), CALL_LOCAL(-3), EXIT);

	struct uvm_result res;
	int rc = run_opts(P(MOVK(0, 0), CALL_LOCAL(1), EXIT, ALU64K(ADD, 0, 1), CALL_LOCAL(-2), EXIT), NULL, mem,
			  sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && strstr(res.message, "pc 4: call depth exceeds 8") &&
		      res.pc == 4 && res.r0 == 7,
	      "call depth overflow", "rc %d status %d pc %u r0 %llu: %s", rc, res.status, res.pc,
	      (unsigned long long)res.r0, res.message);

	/* Helpers. */
	struct uvm *vm = uvm_create(NULL);
	char err[256];
	rc = uvm_load(vm, P(MOVK(1, 1), CALL(26), EXIT), err, sizeof(err));
	check(rc == -EOPNOTSUPP && !strcmp(err, "pc 1: call to helper 26 is not modelled on platform linux"),
	      "unregistered helper", "rc %d: %s", rc, err);
	uvm_register_helper(vm, 5, helper_add, NULL);
	rc = uvm_load(vm, P(MOVK(1, 1), MOVK(2, 2), MOVK(3, 3), MOVK(4, 4), MOVK(5, 5), CALL(5), EXIT), err,
		      sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_OK && res.r0 == 15, "registered helper", "rc %d r0 %llu %s", rc,
	      (unsigned long long)res.r0, err);
	rc = uvm_load(vm, P(MOVK(1, 1), MOVK(2, 5), MOVK(3, 0), MOVK(4, 0), MOVK(5, 0), CALLX(2), EXIT), err,
		      sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_OK && res.r0 == 6, "callx registered",
	      "rc %d status %d r0 %llu %s", rc, res.status, (unsigned long long)res.r0, res.message);
	uvm_destroy(vm);

	rc = run_opts(P(MOVK(0, 0), MOVK(2, 26), CALLX(2), EXIT), NULL, mem, sizeof(mem), &res, err);
	check(rc == 0 && res.status == UVM_UNSUPPORTED &&
		      !strcmp(res.message, "pc 2: helper call through r2 (helper 26) is not modelled on platform linux") &&
		      res.pc == 2,
	      "callx unregistered", "rc %d status %d: %s", rc, res.status, res.message);
	struct uvm_opts ub = { .sz = sizeof(ub), .platform = EBPF_PLATFORM_UBPF };
	rc = run_opts(P(CALL(1), EXIT), &ub, mem, sizeof(mem), &res, err);
	check(rc == -EOPNOTSUPP && !strcmp(err, "pc 0: call to helper 1 is not modelled on platform ubpf"),
	      "helper 1 unsupported on ubpf", "rc %d %s", rc, err);
}

/* ---- faults, budget, options -------------------------------------------- */

static void test_faults(void)
{
	struct uvm_result res;
	char want[160];
	int rc;
	const u64 ma = UVM_DEFAULT_MEM_ADDR, st = UVM_DEFAULT_STACK_TOP;

	rc = run_opts(P(MOVK(0, 0), LDX(DW, 0, 1, 16), EXIT), NULL, mem, 16, &res, NULL);
	snprintf(want, sizeof(want), "pc 1: read of 8 bytes at 0x%llx out of bounds", (unsigned long long)(ma + 16));
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 1 && res.fault_addr == ma + 16 &&
		      !strcmp(res.message, want) && res.insns == 2,
	      "oob read", "status %d pc %u addr %llx insns %llu: %s", res.status, res.pc,
	      (unsigned long long)res.fault_addr, (unsigned long long)res.insns, res.message);
	rc = run_opts(P(MOVK(0, 0), MOVK(2, 1), STX(DW, 1, 2, 12), EXIT), NULL, mem, 16, &res, NULL);
	snprintf(want, sizeof(want), "pc 2: write of 8 bytes at 0x%llx out of bounds", (unsigned long long)(ma + 12));
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 2 && res.fault_addr == ma + 12 &&
		      !strcmp(res.message, want),
	      "straddling write at end of mem", "status %d pc %u: %s", res.status, res.pc, res.message);
	rc = run_opts(P(LDX(B, 0, 1, -1), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault_addr == ma - 1, "read before mem", "%s", res.message);
	rc = run_opts(P(LDX(W, 0, 1, 12), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_OK && res.r0 == 0x1f1e1d1c, "last word of mem", "%s", res.message);
	rc = run_opts(P(LDX(B, 0, 1, 0), EXIT), NULL, NULL, 0, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT, "no memory", "%s", res.message);
	rc = run_opts(P(ST(DW, 10, 0, 1), EXIT), NULL, mem, 16, &res, NULL);
	snprintf(want, sizeof(want), "pc 0: write of 8 bytes at 0x%llx out of bounds", (unsigned long long)st);
	check(rc == 0 && res.status == UVM_FAULT && !strcmp(res.message, want), "write at r10", "%s", res.message);
	rc = run_opts(P(LDX(DW, 0, 10, -4), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault_addr == st - 4, "straddling stack top", "%s",
	      res.message);
	rc = run_opts(P(LDX(B, 0, 10, -513), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault_addr == st - 513, "below the live stack", "%s",
	      res.message);
	rc = run_opts(P(LDX(DW, 0, 10, -516), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT, "straddling stack bottom", "%s", res.message);
	rc = run_opts(P(CALL_LOCAL(1), EXIT, LDX(B, 0, 10, -512), LDX(B, 0, 10, 511), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_OK, "callee sees its frame and its caller's", "%s", res.message);
	rc = run_opts(P(CALL_LOCAL(1), EXIT, LDX(B, 0, 10, -513), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 2, "callee below its frame", "%s", res.message);
	rc = run_opts(P(CALL_LOCAL(2), LDX(B, 0, 10, -513), EXIT, EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 1, "caller cannot see dead frame", "%s", res.message);
	rc = run_opts(P(MOVK(2, 1), ATOMIC64(1, 2, 15, 0x00), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 1 && strstr(res.message, "write of 8 bytes"),
	      "atomic oob", "%s", res.message);
	rc = run_opts(P(LDDW(2, 0xfffffffffffffffcULL), LDX(DW, 0, 2, 0), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 2 && res.fault_addr == 0xfffffffffffffffcULL,
	      "wrapping address", "%s", res.message);
}

/* Linux extensions: load-acquire, store-release, may_goto; writes to r10 at run time. */
static void test_linux_forms(void)
{
	struct uvm_result res;
	int rc;
	EXPECT("load-acquire b zero-extends", 0x11, MOVK(0, -1), LDACQ(B, 0, 1, 1), EXIT);
	EXPECT("load-acquire h", 0x1312, LDACQ(H, 0, 1, 2), EXIT);
	EXPECT("load-acquire w", 0x17161514, LDACQ(W, 0, 1, 4), EXIT);
	EXPECT("load-acquire dw", 0x1f1e1d1c1b1a1918ULL, LDACQ(DW, 0, 1, 8), EXIT);
	EXPECT("store-release b", 0x1716151413ff1110ULL, MOVK(2, -1), STREL(B, 1, 2, 2), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("store-release h", 0x17161514ffff1110ULL, MOVK(2, -1), STREL(H, 1, 2, 2), LDX(DW, 0, 1, 0), EXIT);
	EXPECT("store-release dw stack", 0x5a, MOVK(2, 0x5a), STREL(DW, 10, 2, -8), LDACQ(DW, 0, 10, -8), EXIT);
	rc = run_opts(P(LDACQ(DW, 0, 1, 60), EXIT), NULL, mem, sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_READ, "load-acquire oob", "%s",
	      res.message);
	rc = run_opts(P(MOVK(2, 1), STREL(W, 1, 2, 62), EXIT), NULL, mem, sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_WRITE, "store-release oob", "%s",
	      res.message);

	/* The budget as the kernel counts it: 8,388,608 fall-throughs per frame, then a jump. */
	EXPECT("may_goto count", EBPF_MAY_GOTO_BUDGET, MOVK(0, 0), MAY_GOTO(2), ALU64K(ADD, 0, 1), JA(-3), EXIT);
	/* may_goto +0 costs no budget (the kernel removes it): the count is the same. */
	EXPECT("may_goto +0 is free", EBPF_MAY_GOTO_BUDGET, MOVK(0, 0), MAY_GOTO(3), MAY_GOTO(0), ALU64K(ADD, 0, 1),
	       JA(-4), EXIT);
	/* Two may_gotos in one loop share the frame's budget. */
	EXPECT("may_goto shared budget", EBPF_MAY_GOTO_BUDGET / 2, MOVK(0, 0), MAY_GOTO(3), MAY_GOTO(2),
	       ALU64K(ADD, 0, 1), JA(-4), EXIT);
	/* Spent in the caller, fresh in the callee (0x17, not 0x99), still spent after the return (+0x100). */
	EXPECT("may_goto per frame", 0x117, MAY_GOTO(1), JA(-2), CALL_LOCAL(4), MAY_GOTO(1), EXIT,
	       ALU64K(ADD, 0, 0x100), EXIT, MOVK(0, 0x17), MAY_GOTO(1), EXIT, MOVK(0, 0x99), EXIT);

	const char *want = "pc 1: write to r10, the read-only frame pointer";
	rc = run_opts(P(MOVK(0, 0), MOVK(10, 0), EXIT), NULL, mem, sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_R10 && res.pc == 1 &&
		      !strcmp(res.message, want) && res.insns == 2,
	      "r10 write faults when it runs", "status %d pc %u insns %llu: %s", res.status, res.pc,
	      (unsigned long long)res.insns, res.message);
	rc = run_opts(P(MOVK(0, 0), LDACQ(DW, 10, 10, -8), EXIT), NULL, mem, sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_R10, "load-acquire into r10", "%s",
	      res.message);
	rc = run_opts(P(MOVK(0, 0), ATOMIC64(10, 10, -8, 0xe1), EXIT), NULL, mem, sizeof(mem), &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_R10, "xchg into r10", "%s", res.message);
	EXPECT("cmpxchg with src r10 writes r0 only", 1, MOVK(0, 0), ST(DW, 10, -8, 0), ATOMIC64(10, 10, -8, 0xf1),
	       LDX(DW, 1, 10, -8), JK(JEQ, 1, 0, 1), MOVK(0, 1), EXIT);
	EXPECT("dead r10 write never faults", 3, MOVK(0, 3), JA(1), MOVK(10, 0), EXIT);

	/* --isa rfc9669: the Linux forms are refused by the validator, with the reason. */
	struct uvm_opts rfc = { .sz = sizeof(rfc), .isa = EBPF_ISA_RFC9669 };
	char err[256];
	rc = run_opts(P(MOVK(0, 0), LDACQ(W, 0, 1, 0), EXIT), &rfc, mem, sizeof(mem), &res, err);
	check(rc == -EINVAL && !strcmp(err, "pc 1: ldacqw is a Linux extension, not in RFC 9669 (--isa rfc9669)"),
	      "rfc9669 refuses load-acquire", "rc %d: %s", rc, err);
	rc = run_opts(P(MAY_GOTO(0), EXIT), &rfc, mem, sizeof(mem), &res, err);
	check(rc == -EINVAL && strstr(err, "may_goto is a Linux extension"), "rfc9669 refuses may_goto", "rc %d: %s",
	      rc, err);
	rc = run_opts(P(MOVK(2, 1), STREL(DW, 10, 2, -8), EXIT), &rfc, mem, sizeof(mem), &res, err);
	check(rc == -EINVAL && strstr(err, "streldw is a Linux extension"), "rfc9669 refuses store-release",
	      "rc %d: %s", rc, err);
	rc = run_opts(P(MOVK(0, 2), ATOMIC64(10, 0, -8, 0x00), EXIT), &rfc, mem, sizeof(mem), &res, err);
	check(rc == 0 && res.status == UVM_OK, "rfc9669 keeps the RFC atomics", "rc %d: %s", rc, err);
	struct uvm_opts bad = { .sz = sizeof(bad), .isa = 3 };
	check(!uvm_create(&bad), "isa 3 refused", "uvm_create accepted isa 3");
}

static void test_budget(void)
{
	struct uvm_result res;
	struct uvm_opts o = { .sz = sizeof(o), .budget = 1000 };
	int rc = run_opts(P(MOVK(0, 0), JA(-1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.insns == 1000 && res.pc == 1 &&
		      !strcmp(res.message, "pc 1: instruction budget of 1000 exhausted"),
	      "endless loop", "status %d insns %llu pc %u: %s", res.status, (unsigned long long)res.insns, res.pc,
	      res.message);
	o.budget = 0;
	rc = run_opts(P(JA(-1)), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.insns == UVM_DEFAULT_BUDGET, "default budget",
	      "status %d insns %llu", res.status, (unsigned long long)res.insns);

	/* Exact accounting through lddw, a loop and a local call: with budget b the
	 * (b+1)th instruction of the trace is the one reported. */
	static const struct ebpf_insn prog[] = {
		MOVK(1, 0), LDDW(2, 1), ALU64X(ADD, 1, 2), CALL_LOCAL(2), JK(JLT, 1, 3, -3), EXIT,
		MOVX(0, 1), EXIT,
	};
	static const unsigned trace[] = { 0, 1, 3, 4, 7, 8, 5, 3, 4, 7, 8, 5, 3, 4, 7, 8, 5, 6 };
	const unsigned total = sizeof(trace) / sizeof(trace[0]);
	for (unsigned b = 1; b <= total; b++) {
		o.budget = b;
		rc = run_opts(prog, sizeof(prog) / sizeof(prog[0]), &o, mem, 16, &res, NULL);
		char name[64];
		snprintf(name, sizeof(name), "budget %u of %u", b, total);
		if (b < total)
			check(rc == 0 && res.status == UVM_TIMEOUT && res.insns == b && res.pc == trace[b], name,
			      "status %d insns %llu pc %u (want %u): %s", res.status, (unsigned long long)res.insns,
			      res.pc, trace[b], res.message);
		else
			check(rc == 0 && res.status == UVM_OK && res.insns == b && res.r0 == 3, name,
			      "status %d insns %llu: %s", res.status, (unsigned long long)res.insns, res.message);
	}
	/* Straight line past the budget. */
	o.budget = 3;
	rc = run_opts(P(MOVK(0, 1), MOVK(0, 2), MOVK(0, 3), MOVK(0, 4), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.pc == 3 && res.insns == 3, "straight-line budget",
	      "status %d pc %u", res.status, res.pc);
	/* A fault after the budget ran out is a timeout. */
	rc = run_opts(P(MOVK(0, 1), MOVK(0, 2), MOVK(0, 3), LDX(DW, 0, 1, 100), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.pc == 3, "fault past budget", "status %d pc %u",
	      res.status, res.pc);
	o.budget = 4;
	rc = run_opts(P(MOVK(0, 1), MOVK(0, 2), MOVK(0, 3), LDX(DW, 0, 1, 100), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_FAULT && res.pc == 3 && res.insns == 4, "fault at budget",
	      "status %d pc %u", res.status, res.pc);
	o.budget = 1;
	rc = run_opts(P(LDDW(0, 1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.pc == 2 && res.insns == 1, "budget after lddw",
	      "status %d pc %u: %s", res.status, res.pc, res.message);
	o.budget = 2;
	rc = run_opts(P(LDDW(0, 1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_OK && res.insns == 2, "lddw is one instruction", "status %d insns %llu",
	      res.status, (unsigned long long)res.insns);
	o.budget = 1;
	rc = run_opts(P(MOVK(0, 0), LDDW(0, 1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.pc == 1 && res.insns == 1, "budget at lddw",
	      "status %d pc %u: %s", res.status, res.pc, res.message);
	/* An lddw past the budget must not move it (found by the xdp VM cross-check). */
	rc = run_opts(P(MOVK(0, 0), MOVK(0, 0), LDDW(1, 1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_TIMEOUT && res.pc == 1 && res.insns == 1, "lddw past the budget",
	      "status %d pc %u: %s", res.status, res.pc, res.message);
}

static void test_opts(void)
{
	struct uvm_result res;
	struct uvm_opts o = { .sz = sizeof(o), .mem_addr = 0x1234000, .stack_top = 0x7000, .stack_fill = 0xab,
			      .reg_fill = 0x5555 };
	int rc = run_opts(P(MOVX(0, 1), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0x1234000, "configured mem_addr in r1", "r0 %llx", (unsigned long long)res.r0);
	rc = run_opts(P(LDX(B, 0, 1, 3), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.status == UVM_OK && res.r0 == 0x13, "access at configured mem_addr", "%s", res.message);
	rc = run_opts(P(MOVX(0, 10), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0x7000, "configured stack_top in r10", "r0 %llx", (unsigned long long)res.r0);
	rc = run_opts(P(LDX(DW, 0, 10, -8), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0xababababababababULL, "stack fill", "r0 %llx", (unsigned long long)res.r0);
	rc = run_opts(P(LDX(B, 0, 10, -512), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0xab, "stack fill bottom", "r0 %llx", (unsigned long long)res.r0);
	rc = run_opts(P(EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0x5555 && res.insns == 1, "reg fill r0", "r0 %llx", (unsigned long long)res.r0);
	rc = run_opts(P(MOVX(0, 9), ALU64X(ADD, 0, 3), EXIT), &o, mem, 16, &res, NULL);
	check(rc == 0 && res.r0 == 0xaaaa, "reg fill r3 r9", "r0 %llx", (unsigned long long)res.r0);

	/* The fill is redone on every run. */
	struct uvm *vm = uvm_create(&o);
	char err[256];
	rc = uvm_load(vm, P(LDX(DW, 0, 10, -8), ST(DW, 10, -8, 1), EXIT), err, sizeof(err));
	uvm_run(vm, mem, 16, &res);
	uvm_run(vm, mem, 16, &res);
	check(rc == 0 && res.r0 == 0xababababababababULL, "stack refilled per run", "r0 %llx",
	      (unsigned long long)res.r0);
	o.cpu = 5;
	check(uvm_set_opts(vm, &o) == -EINVAL, "cpu 5 rejected", "");
	o.cpu = 0;
	o.mutant = 1;
#ifdef UVM_MUTANTS
	check(uvm_set_opts(vm, &o) == 0, "mutant accepted", "");
	o.mutant = uvm_mutant_count() + 1;
	check(uvm_set_opts(vm, &o) == -EINVAL, "mutant out of range", "");
#else
	check(uvm_set_opts(vm, &o) == -ENOTSUP, "mutant needs UVM_MUTANTS", "");
#endif
	uvm_destroy(vm);

	/* Memory written in place. */
	fill_mem();
	rc = run_opts(P(ST(W, 1, 4, 0x01020304), EXIT), NULL, mem, 16, &res, NULL);
	check(rc == 0 && mem[4] == 4 && mem[7] == 1 && mem[8] == 0x18, "memory written back", "");

	check(uvm_mutant_count() >= 10, "mutant count", "%u", uvm_mutant_count());
	check(uvm_mutant_lookup("alu32-no-zext") == 1 && uvm_mutant_lookup("nope") == -ENOENT &&
		      !strcmp(uvm_mutant_name(uvm_mutant_lookup("lddw-low-only")), "lddw-low-only") &&
		      !uvm_mutant_name(0) && !uvm_mutant_name(uvm_mutant_count() + 1),
	      "mutant names", "");
}

/* ---- the validator ------------------------------------------------------ */

static void expect_load(const char *name, const struct ebpf_insn *p, size_t n, int cpu, int want_rc,
			const char *want_prefix)
{
	struct uvm_opts o = { .sz = sizeof(o), .cpu = cpu };
	struct uvm *vm = uvm_create(&o);
	char err[256] = "";
	int rc = uvm_load(vm, p, n, err, sizeof(err));
	check(rc == want_rc && !strncmp(err, want_prefix, strlen(want_prefix)), name, "rc %d (want %d): '%s'", rc,
	      want_rc, err);
	uvm_destroy(vm);
}
#define LOAD(name, rc, prefix, ...) expect_load(name, P(__VA_ARGS__), 4, rc, prefix)
#define LOADCPU(name, cpu, rc, prefix, ...) expect_load(name, P(__VA_ARGS__), cpu, rc, prefix)

static void test_validator(void)
{
	expect_load("empty program", NULL, 0, 4, -EINVAL, "pc 0: empty program");
	LOAD("unknown opcode", -EINVAL, "pc 1: unknown opcode 0xff", MOVK(0, 0), I(0xff, 0, 0, 0, 0), EXIT);
	LOAD("legacy abs", -EINVAL, "pc 0: legacy", I(0x20, 0, 0, 0, 0), EXIT);
	LOAD("unused src", -EINVAL, "pc 0: mov: unused field src is 1", I(0xb7, 0, 1, 0, 0), EXIT);
	LOAD("unused imm", -EINVAL, "pc 1: ", MOVK(0, 0), I(0xbf, 0, 1, 0, 3), EXIT);
	LOAD("unused off exit", -EINVAL, "pc 0: exit: unused field off", I(0x95, 0, 0, 1, 0));
	LOAD("bad sdiv off", -EINVAL, "pc 0: opcode 0x3f: invalid off 2", I(0x3f, 0, 1, 2, 0), EXIT);
	LOAD("bad register", -EINVAL, "pc 0: mov: invalid register r11", I(0xbf, 0, 11, 0, 0), EXIT);
	/* Writes to r10 load (the kernel refuses them only on paths it explores) and fault when run. */
	LOAD("write r10 loads", 0, "", MOVK(10, 0), EXIT);
	LOAD("ldx into r10 loads", 0, "", LDX(DW, 10, 1, 0), EXIT);
	LOAD("fetch into r10 loads", 0, "", ATOMIC64(1, 10, 0, 0x01), EXIT);
	LOAD("load-acquire bad imm", -EINVAL, "pc 0: opcode 0xd3: invalid imm 257", I(0xd3, 0, 1, 0, 0x101), EXIT);
	LOAD("store-release unused src? no: src is the value", 0, "", STREL(B, 1, 2, 0), EXIT);
	LOAD("may_goto src 1", -EINVAL, "pc 0: opcode 0xe5: invalid src 1", I(0xe5, 0, 1, 0, 0), EXIT);
	LOAD("may_goto imm", -EINVAL, "pc 0: may_goto: unused field imm is 1", I(0xe5, 0, 0, 0, 1), EXIT);
	LOAD("may_goto dst", -EINVAL, "pc 0: may_goto: unused field dst is 1", I(0xe5, 1, 0, 0, 0), EXIT);
	LOAD("may_goto out of range", -EINVAL, "pc 0: jump target 3 out of range", MAY_GOTO(2), EXIT);
	LOAD("jmp32 jcond unknown", -EINVAL, "pc 0: unknown opcode 0xe6", I(0xe6, 0, 0, 0, 0), EXIT);
	LOADCPU("jmp32 on cpu v1", 1, -EINVAL, "pc 1: jeq32 needs cpu v3", MOVK(0, 0), J32K(JEQ, 0, 0, 0), EXIT);
	LOADCPU("jlt on cpu v1", 1, -EINVAL, "pc 0: jlt needs cpu v2", JK(JLT, 0, 0, 0), EXIT);
	LOADCPU("jlt on cpu v2", 2, 0, "", MOVK(0, 0), JK(JLT, 0, 0, 0), EXIT);
	LOADCPU("sdiv on cpu v3", 3, -EINVAL, "pc 0: sdiv needs cpu v4", SDIV64K(0, 1), EXIT);
	LOADCPU("atomic fetch on cpu v2", 2, -EINVAL, "pc 0: ", ATOMIC64(1, 2, 0, 0x01), EXIT);
	LOADCPU("atomic add on cpu v1", 1, 0, "", MOVK(2, 0), ATOMIC64(1, 2, 0, 0x00), EXIT);
	LOAD("lddw last", -EINVAL, "pc 1: lddw is the last", MOVK(0, 0), I(0x18, 0, 0, 0, 0));
	LOAD("lddw second slot opcode", -EINVAL, "pc 1: second slot", I(0x18, 0, 0, 0, 0), I(0x07, 0, 0, 0, 0), EXIT);
	LOAD("lddw second slot dst", -EINVAL, "pc 1: second slot", I(0x18, 0, 0, 0, 0), I(0, 1, 0, 0, 0), EXIT);
	LOAD("lddw second slot src", -EINVAL, "pc 1: second slot", I(0x18, 0, 0, 0, 0), I(0, 0, 1, 0, 0), EXIT);
	LOAD("lddw second slot off", -EINVAL, "pc 1: second slot", I(0x18, 0, 0, 0, 0), I(0, 0, 0, 1, 0), EXIT);
	LOAD("lddw off", -EINVAL, "pc 0: ", I(0x18, 0, 0, 1, 0), I(0, 0, 0, 0, 0), EXIT);
	LOAD("jump out of range", -EINVAL, "pc 0: jump target 5 out of range", JA(4), EXIT);
	LOAD("jump backwards out of range", -EINVAL, "pc 1: jump target -1", MOVK(0, 0), JK(JEQ, 0, 0, -3), EXIT);
	LOAD("ja32 out of range", -EINVAL, "pc 0: jump target", I(0x06, 0, 0, 0, 100), EXIT);
	LOAD("jump into lddw", -EINVAL, "pc 0: jump target 2 is the second half of lddw", JA(1), LDDW(0, 1), EXIT);
	LOAD("call out of range", -EINVAL, "pc 0: call target", CALL_LOCAL(5), EXIT);
	LOAD("call into lddw", -EINVAL, "pc 0: call target", CALL_LOCAL(2), EXIT, LDDW(0, 1), EXIT);
	LOAD("missing exit", -EINVAL, "pc 1: missing exit", MOVK(0, 0), MOVK(0, 0));
	LOAD("missing exit after cond", -EINVAL, "pc 1: missing exit", MOVK(0, 0), JK(JEQ, 0, 0, -2));
	LOAD("lddw at the end", -EINVAL, "pc 0: missing exit", LDDW(0, 1));
	LOAD("call at the end", -EINVAL, "pc 1: missing exit", MOVK(0, 0), CALL_LOCAL(-2));
	LOAD("malformed wins over unsupported", -EINVAL, "pc 1: ", CALL(5), I(0xff, 0, 0, 0, 0), EXIT);
	LOAD("lddw map fd, no such map", -EINVAL, "pc 0: lddw_map_fd refers to map 3, but there are 0",
	     I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	LOAD("lddw map idx value, no such map", -EINVAL, "pc 0: lddw_map_idx_value refers to map 3, but there are 0",
	     I(0x18, 1, 6, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	LOAD("lddw var addr", -EOPNOTSUPP, "pc 0: lddw_var_addr", I(0x18, 1, 3, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	LOAD("lddw src 7", -EINVAL, "pc 0: ", I(0x18, 1, 7, 0, 3), I(0, 0, 0, 0, 0), EXIT);
	LOAD("call helper", -EOPNOTSUPP, "pc 1: call to helper 26 is not modelled", MOVK(0, 0), CALL(26), EXIT);
	LOAD("call helper 5 (linux: bpf_ktime_get_ns)", 0, "", MOVK(0, 0), CALL(5), EXIT);
	LOAD("call btf", -EOPNOTSUPP, "pc 0: call btf", I(0x85, 0, 2, 0, 5), EXIT);
	LOAD("call src 3", -EINVAL, "pc 0: ", I(0x85, 0, 3, 0, 5), EXIT);
	LOAD("callx unused imm", -EINVAL, "pc 0: ", I(0x8d, 1, 0, 0, 1), EXIT);
	LOAD("ja as last insn ok", 0, "", MOVK(0, 0), JA(0), JA(-3));
	LOAD("exit only ok", 0, "", EXIT);
}

/* ---- maps and helpers ---------------------------------------------------- */
/* Expected values come from the kernel's own definitions: arraymap.c and
 * hashtab.c (flag checks, then -E2BIG / -EEXIST / -ENOENT), bpf_iter.c's
 * bpf_loop, MAX_TAIL_CALL_CNT 33. */

#define MAPFD(d, m) I(0x18, d, 1, 0, m), I(0, 0, 0, 0, 0)
#define MAPVAL(d, m, o) I(0x18, d, 2, 0, m), I(0, 0, 0, 0, o)
#define CODE(d, rel) I(0x18, d, 4, 0, rel), I(0, 0, 0, 0, 0)
#define SX32(v) ((u64)(int64_t)(int32_t)(v))

static struct uvm *map_vm(const struct uvm_map_def *defs, size_t n, const struct uvm_opts *o)
{
	struct uvm *vm = uvm_create(o);
	if (vm && uvm_set_maps(vm, defs, n) < 0) {
		uvm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* Load p on vm (maps already set) and run it; r0, or a poison with a failure. */
static u64 run_on(struct uvm *vm, const char *name, const struct ebpf_insn *p, size_t n, struct uvm_result *res)
{
	char err[256];
	int rc = uvm_load(vm, p, n, err, sizeof(err));
	if (!rc)
		rc = uvm_run(vm, mem, sizeof(mem), res);
	if (rc || res->status != UVM_OK) {
		check(0, name, "rc %d status %d: %s %s", rc, res->status, err, rc ? "" : res->message);
		return 0xdeadbeefdeadbeefULL;
	}
	return res->r0;
}

/* bpf_map_update_elem(map 0, &(u32)key, &(u64)val, flags) from a program. */
static u64 prog_update(struct uvm *vm, const char *name, int32_t key, int32_t val, int32_t flags)
{
	struct uvm_result res;
	return run_on(vm, name,
		      P(ST(W, 10, -4, key), ST(DW, 10, -16, val), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), MOVX(3, 10),
			ALU64K(ADD, 3, -16), MOVK(4, flags), CALL(2), EXIT),
		      &res);
}

static void test_maps(void)
{
	struct uvm_map_def arr = { EBPF_MAP_ARRAY, 4, 8, 4, 0 }, hash = { EBPF_MAP_HASH, 4, 8, 2, 0 };
	struct uvm_result res;
	struct uvm *vm = map_vm(&arr, 1, NULL);
	check(vm != NULL, "array map", "uvm_set_maps failed");
	if (!vm)
		return;
	/* Array: every element exists; no insert, no delete (arraymap.c). */
	check(prog_update(vm, "array update any", 0, 5, EBPF_ANY) == 0, "array update any", "");
	check(prog_update(vm, "array update noexist", 0, 5, EBPF_NOEXIST) == SX32(-17), "array noexist -EEXIST", "");
	check(prog_update(vm, "array update exist", 1, 6, EBPF_EXIST) == 0, "array exist", "");
	check(prog_update(vm, "array update past the end", 4, 6, EBPF_ANY) == SX32(-7), "array index 4 -E2BIG", "");
	check(prog_update(vm, "array update flags 3", 0, 6, 3) == SX32(-22), "array flags 3 -EINVAL", "");
	check(prog_update(vm, "array update F_LOCK", 0, 6, EBPF_F_LOCK) == SX32(-22), "array F_LOCK -EINVAL", "");
	/* The index check comes before NOEXIST: -E2BIG, not -EEXIST. */
	check(prog_update(vm, "array past the end noexist", 9, 6, EBPF_NOEXIST) == SX32(-7), "array order", "");
	u64 r = run_on(vm, "array delete",
		       P(ST(W, 10, -4, 0), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(3), EXIT), &res);
	check(r == SX32(-22), "array delete -EINVAL", "r0 0x%llx", (unsigned long long)r);
	/* Lookup, NULL check, read-modify-write through the pointer; index 4 is NULL. */
	r = run_on(vm, "array lookup",
		   P(ST(W, 10, -4, 1), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(1), JK(JEQ, 0, 0, 4),
		     LDX(DW, 1, 0, 0), ALU64K(ADD, 1, 10), STX(DW, 0, 1, 0), MOVX(0, 1), EXIT),
		   &res);
	u64 v = 0;
	uint32_t k1 = 1, k4 = 4;
	check(r == 16 && uvm_map_lookup(vm, 0, &k1, &v) == 0 && v == 16, "array value written through the pointer",
	      "r0 %llu value %llu", (unsigned long long)r, (unsigned long long)v);
	check(uvm_map_lookup(vm, 0, &k4, &v) == -ENOENT, "host lookup past the end", "");
	r = run_on(vm, "array lookup past the end",
		   P(ST(W, 10, -4, 4), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(1), EXIT), &res);
	check(r == 0, "array lookup index 4 is NULL", "r0 0x%llx", (unsigned long long)r);
	/* A value pointer is good for value_size bytes only. */
	char err[256];
	int rc = uvm_load(vm,
			  P(ST(W, 10, -4, 0), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(1),
			    JK(JEQ, 0, 0, 1), LDX(DW, 0, 0, 4), EXIT),
			  err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_READ &&
		      res.fault_addr == UVM_DEFAULT_MAP_ADDR + 4,
	      "read past a map value faults", "rc %d status %d %s", rc, res.status, res.message);
	/* lddw src 2: the first value plus the offset; uvm_set_maps empties the map. */
	uvm_set_maps(vm, &arr, 1);
	u64 init = 0x1122334455667788ULL;
	uint32_t k0 = 0;
	uvm_map_update(vm, 0, &k0, &init, 0);
	r = run_on(vm, "lddw map value", P(MAPVAL(1, 0, 4), LDX(W, 0, 1, 0), EXIT), &res);
	check(r == 0x11223344, "lddw map value + 4", "r0 0x%llx", (unsigned long long)r);
	/* A helper given something that is not a map faults (the verifier would refuse it). */
	rc = uvm_load(vm, P(MOVK(1, 5), MOVX(2, 10), CALL(1), EXIT), err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_CALL, "lookup in a non-map faults",
	      "rc %d status %d %s", rc, res.status, res.message);
	uvm_destroy(vm);

	/* Hash, max_entries 2 (hashtab.c: flags, then check_flags, then capacity). */
	vm = map_vm(&hash, 1, NULL);
	if (!vm)
		return;
	uint32_t k[4] = { 1, 2, 3, 4 };
	u64 val = 7;
	check(uvm_map_update(vm, 0, &k[0], &val, EBPF_NOEXIST) == 0, "hash insert", "");
	check(uvm_map_update(vm, 0, &k[0], &val, EBPF_NOEXIST) == -17, "hash noexist on existing -EEXIST", "");
	check(uvm_map_update(vm, 0, &k[1], &val, EBPF_EXIST) == -2, "hash exist on missing -ENOENT", "");
	check(uvm_map_update(vm, 0, &k[1], &val, EBPF_ANY) == 0, "hash second", "");
	check(uvm_map_update(vm, 0, &k[2], &val, EBPF_ANY) == -7, "hash full -E2BIG", "");
	check(uvm_map_update(vm, 0, &k[0], &val, EBPF_EXIST) == 0, "hash full, replacing is fine", "");
	check(uvm_map_update(vm, 0, &k[0], &val, 3) == -22, "hash flags 3 -EINVAL", "");
	/* From a program: delete returns 0 then -ENOENT. */
	r = run_on(vm, "hash delete twice",
		   P(ST(W, 10, -4, 2), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(3), MOVX(6, 0), MAPFD(1, 0),
		     MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(3), ALU64X(ADD, 0, 6), EXIT),
		   &res);
	check(r == SX32(-2), "hash delete 0 then -ENOENT", "r0 0x%llx", (unsigned long long)r);
	/* A pointer from before an update of the same key keeps the old element:
	 * the kernel replaces a hash element, it does not write it in place. */
	r = run_on(vm, "hash pointer across an update",
		   P(ST(W, 10, -4, 1), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(1), JK(JEQ, 0, 0, 9),
		     MOVX(6, 0), ST(DW, 10, -16, 99), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), MOVX(3, 10),
		     ALU64K(ADD, 3, -16), MOVK(4, 0), CALL(2), LDX(DW, 0, 6, 0), EXIT),
		   &res);
	check(r == 7 && uvm_map_lookup(vm, 0, &k[0], &v) == 0 && v == 99, "hash update replaces the element",
	      "r0 %llu map %llu", (unsigned long long)r, (unsigned long long)v);
	uvm_destroy(vm);

	/* bpf_loop: the helper's own definition (flags, then the u32 count). */
	vm = map_vm(NULL, 0, NULL);
#define LOOP(nr, flags, cbret) \
	LDDW(1, nr), CODE(2, 5), MOVK(3, 0), MOVK(4, flags), CALL(181), EXIT, \
		/* cb: r0 = (r1 == cbret) */ MOVK(0, 0), JK(JEQ, 1, cbret, 1), EXIT, MOVK(0, 1), EXIT
	check(run_on(vm, "loop 0", P(LOOP(0, 0, 99)), &res) == 0, "bpf_loop 0 iterations", "");
	check(run_on(vm, "loop 1", P(LOOP(1, 0, 99)), &res) == 1 && res.insns == 6 + 3, "bpf_loop 1 iteration",
	      "insns %llu", (unsigned long long)res.insns);
	check(run_on(vm, "loop stops", P(LOOP(5, 0, 2)), &res) == 3, "bpf_loop stops when the callback says 1", "");
	check(run_on(vm, "loop max", P(LOOP(1u << 23, 0, -1)), &res) == 1u << 23, "bpf_loop BPF_MAX_LOOPS", "");
	check(run_on(vm, "loop past max", P(LOOP((1u << 23) + 1, 0, -1)), &res) == SX32(-7), "bpf_loop -E2BIG", "");
	check(run_on(vm, "loop u32", P(LOOP(0x100000003ULL, 0, -1)), &res) == 3, "bpf_loop count is a u32", "");
	check(run_on(vm, "loop flags", P(LOOP(3, 1, -1)), &res) == SX32(-22), "bpf_loop flags -EINVAL", "");
	check(run_on(vm, "loop flags before count", P(LOOP(1ULL << 24, 1, -1)), &res) == SX32(-22),
	      "bpf_loop flags checked first", "");
	/* The callback gets r1 = index, r2 = ctx (a stack pointer here, read back). */
	r = run_on(vm, "loop ctx",
		   P(ST(DW, 10, -8, 0), MOVK(1, 4), CODE(2, 7), MOVX(3, 10), ALU64K(ADD, 3, -8), MOVK(4, 0), CALL(181),
		     LDX(DW, 0, 10, -8), EXIT,
		     /* cb: *(ctx) += index */ LDX(DW, 3, 2, 0), ALU64X(ADD, 3, 1), STX(DW, 2, 3, 0), MOVK(0, 0), EXIT),
		   &res);
	check(r == 0 + 1 + 2 + 3, "bpf_loop callback args", "r0 %llu", (unsigned long long)r);
	rc = uvm_load(vm, P(MOVK(1, 2), MOVK(2, 0), MOVK(3, 0), MOVK(4, 0), CALL(181), EXIT), err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_FAULT && res.fault == UVM_FAULT_CALL, "bpf_loop without a callback faults",
	      "rc %d status %d %s", rc, res.status, res.message);

	/* The environment helpers: the case's values, then the seed's. */
	u64 kt[2] = { 100, 200 };
	uvm_set_env_values(vm, EBPF_ENV_KTIME, kt, 2);
	r = run_on(vm, "ktime values", P(CALL(5), MOVX(6, 0), CALL(5), ALU64X(ADD, 6, 0), CALL(5), MOVX(7, 0),
				       MOVX(0, 6), JK(JGT, 7, 200, 1), MOVK(0, 0), EXIT), &res);
	check(r == 300, "bpf_ktime_get_ns from the case, then from the seed", "r0 %llu", (unsigned long long)r);
	u64 cpu = 3;
	uvm_set_env_values(vm, EBPF_ENV_CPU, &cpu, 1);
	check(run_on(vm, "cpu", P(CALL(8), MOVX(6, 0), CALL(8), ALU64X(ADD, 0, 6), EXIT), &res) == 6,
	      "bpf_get_smp_processor_id: one CPU per run", "");
	r = run_on(vm, "prandom", P(CALL(7), EXIT), &res);
	check(r <= 0xffffffffULL && r == (u64)(uint32_t)ebpf_env_value(UVM_DEFAULT_ENV_SEED, EBPF_ENV_PRANDOM, 0),
	      "bpf_get_prandom_u32 is 32 bits, from the seed", "r0 0x%llx", (unsigned long long)r);
	uvm_destroy(vm);

	/* ubpf's unwind: r0 = r1, and 0 ends the program even in a call. */
	struct uvm_opts ub = { .sz = sizeof(ub), .platform = EBPF_PLATFORM_UBPF };
	vm = map_vm(NULL, 0, &ub);
	check(run_on(vm, "unwind 0", P(CALL_LOCAL(2), MOVK(0, 9), EXIT, MOVK(1, 0), CALL(5), MOVK(0, 5), EXIT), &res) == 0 &&
		      res.insns == 3,
	      "unwind of 0 ends the program", "insns %llu", (unsigned long long)res.insns);
	check(run_on(vm, "unwind 7", P(MOVK(1, 7), CALL(5), EXIT), &res) == 7, "unwind of 7 goes on", "");
	uvm_destroy(vm);

	/* Tail calls: the 34th falls through (count in map 0, program 0 calls itself). */
	struct uvm_map_def tc[2] = { { EBPF_MAP_ARRAY, 4, 8, 1, 0 }, { EBPF_MAP_PROG_ARRAY, 4, 4, 2, 0 } };
	vm = map_vm(tc, 2, NULL);
	uint32_t slot = 0, prog = 0;
	uvm_map_update(vm, 1, &slot, &prog, 0);
	const struct ebpf_insn self[] = { ST(W, 10, -4, 0), MAPFD(1, 0), MOVX(2, 10), ALU64K(ADD, 2, -4), CALL(1),
					  JK(JEQ, 0, 0, 8), LDX(DW, 6, 0, 0), ALU64K(ADD, 6, 1), STX(DW, 0, 6, 0),
					  MAPFD(2, 1), MOVK(3, 0), CALL(12), MOVX(0, 6), EXIT };
	const struct ebpf_insn other[] = { MOVK(0, 42), EXIT };
	struct uvm_prog progs[2] = { { self, sizeof(self) / sizeof(self[0]) }, { other, 2 } };
	rc = uvm_load_progs(vm, progs, 2, err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.status == UVM_OK && res.r0 == 34, "33 tail calls, the 34th falls through",
	      "rc %d status %d r0 %llu %s", rc, res.status, (unsigned long long)res.r0, err);
	/* An empty slot falls through and still counts (the kernel's order). */
	uvm_set_maps(vm, tc, 2);
	slot = 1;
	prog = 1;
	uvm_map_update(vm, 1, &slot, &prog, 0);
	const struct ebpf_insn two[] = { MOVK(6, 0), MAPFD(2, 1), MOVK(3, 0), CALL(12), ALU64K(ADD, 6, 1),
					 JK(JLT, 6, 33, -6), MAPFD(2, 1), MOVK(3, 1), CALL(12), MOVK(0, 7), EXIT };
	progs[0] = (struct uvm_prog){ two, sizeof(two) / sizeof(two[0]) };
	rc = uvm_load_progs(vm, progs, 2, err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.r0 == 42, "tail calls to an empty slot do not count", "rc %d r0 %llu %s", rc,
	      (unsigned long long)res.r0, err);
	const struct ebpf_insn once[] = { MAPFD(2, 1), MOVK(3, 0), CALL(12), MAPFD(2, 1), MOVK(3, 1), CALL(12),
					  MOVK(0, 7), EXIT };
	progs[0] = (struct uvm_prog){ once, sizeof(once) / sizeof(once[0]) };
	rc = uvm_load_progs(vm, progs, 2, err, sizeof(err));
	rc = rc ? rc : uvm_run(vm, mem, sizeof(mem), &res);
	check(rc == 0 && res.r0 == 42, "a tail call after a fall-through", "rc %d r0 %llu %s", rc,
	      (unsigned long long)res.r0, err);
	uvm_destroy(vm);
}

/* ---- mutants ------------------------------------------------------------ */

#ifdef UVM_MUTANTS
struct mutant_case {
	const char *mutant;
	const struct ebpf_insn *p;
	size_t n;
	u64 r0; /* correct result; the mutant must differ */
};
#define MC(name, r0, ...) { name, P(__VA_ARGS__), r0 }

static void test_mutants(void)
{
	const struct mutant_case cases[] = {
		MC("alu32-no-zext", 0, MOVK(0, -1), ALU32K(ADD, 0, 1), EXIT),
		MC("shift-unmasked", 2, MOVK(0, 1), MOVK(1, 65), ALU64X(LSH, 0, 1), EXIT),
		MC("sdiv-intmin", 0x8000000000000000ULL, MOVK(0, 1), ALU64K(LSH, 0, 63), SDIV64K(0, -1), EXIT),
		MC("smod-sign", (u64)-1, MOVK(0, -7), SMOD64K(0, 2), EXIT),
		MC("jmp32-64bit", 1, LDDW(1, 0x100000005ULL), MOVK(0, 0), J32K(JEQ, 1, 5, 1), EXIT, MOVK(0, 1), EXIT),
		MC("signed-as-unsigned", 1, MOVK(1, 1), MOVK(2, -1), MOVK(0, 0), JX(JSGT, 1, 2, 1), EXIT, MOVK(0, 1),
		   EXIT),
		MC("ldsx-no-sext", 0xffffffffffffff80ULL, ST(B, 1, 0, 0x80), LDXSX(B, 0, 1, 0), EXIT),
		MC("cmpxchg-r0", 10, LDDW(3, 10), STX(DW, 1, 3, 0), MOVK(0, 10), MOVK(2, 99), ATOMIC64(1, 2, 0, 0xf1),
		   EXIT),
		MC("bswap16-upper", 0x0807, LDDW(0, 0x0102030405060708ULL), I(0xdc, 0, 0, 0, 16), EXIT),
		MC("lddw-low-only", 0x0123456789abcdefULL, LDDW(0, 0x0123456789abcdefULL), EXIT),
		MC("mod0-zero", 7, MOVK(0, 7), ALU64K(MOD, 0, 0), EXIT),
		MC("fetch32-no-zext", 0xffffffffULL, ST(W, 1, 0, -1), MOVK(2, -1), ATOMIC32(1, 2, 0, 0x01), MOVX(0, 2),
		   EXIT),
		MC("callee-clobber", 1, MOVK(6, 1), CALL_LOCAL(2), MOVX(0, 6), EXIT, MOVK(6, 2), EXIT),
		MC("frame-256", 3, MOVK(1, 3), STX(DW, 10, 1, -264), CALL_LOCAL(2), LDX(DW, 0, 10, -264), EXIT,
		   ST(DW, 10, -8, 7), EXIT),
		/* r0 = 2 per iteration to 6; the mutant's back-edge skips the first add: 5. */
		MC("backedge-skip", 6, MOVK(0, 0), ALU64K(ADD, 0, 1), ALU64K(ADD, 0, 1), JK(JLT, 0, 5, -3), EXIT),
		/* r5 = 7 through main -> f -> g, g returns it. */
		MC("r5-depth3", 7, MOVK(5, 7), CALL_LOCAL(1), EXIT, CALL_LOCAL(1), EXIT, MOVX(0, 5), EXIT),
		/* main r9 = 5 calls f: r9 = 1, calls g (r9 = 2), r0 = r9, r9 = 4; main adds its r9:
		 * 1 + 5. r9-depth3: 2 + 5. callee-clobber keeps every callee's r9: 2 + 4, the right
		 * sum, so only this mutant shows. */
		MC("r9-depth3", 6, MOVK(9, 5), CALL_LOCAL(2), ALU64X(ADD, 0, 9), EXIT, MOVK(9, 1), CALL_LOCAL(3),
		   MOVX(0, 9), MOVK(9, 4), EXIT, MOVK(9, 2), EXIT),
		/* r2 = r10 + 8, load [r2-24] = [r10-16]; the mutant reads r2 + 0xffe8: a fault. */
		MC("stack-off-zext", 5, ST(DW, 10, -16, 5), MOVX(2, 10), ALU64K(ADD, 2, 8), LDX(DW, 0, 2, -24), EXIT),
		MC("sdiv-abs-sat", 0xc000000000000000ULL, MOVK(0, 1), ALU64K(LSH, 0, 63), SDIV64K(0, 2), EXIT),
	};
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	check(ncases == uvm_mutant_count(), "a test per mutant", "%zu tests, %u mutants", ncases, uvm_mutant_count());
	for (size_t i = 0; i < ncases; i++) {
		const struct mutant_case *c = &cases[i];
		int id = uvm_mutant_lookup(c->mutant);
		check(id > 0, c->mutant, "unknown mutant");
		if (id <= 0)
			continue;
		/* Correct without the mutant, wrong with it, and no other mutant breaks it
		 * (each hook sits only where its op is implemented). */
		for (unsigned m = 0; m <= uvm_mutant_count(); m++) {
			cur_mutant = m;
			char name[96];
			snprintf(name, sizeof(name), "%s under mutant %s", c->mutant, m ? uvm_mutant_name(m) : "none");
			if (m == (unsigned)id) { /* wrong: another r0, or a fault */
				struct uvm_result res;
				char err[256];
				fill_mem();
				int rc = run_opts(c->p, c->n, NULL, mem, sizeof(mem), &res, err);
				check(rc == 0 && (res.status != UVM_OK || res.r0 != c->r0), name,
				      "mutant not observable: rc %d status %d r0 0x%llx", rc, res.status,
				      (unsigned long long)res.r0);
				continue;
			}
			u64 r0 = r0_of(name, c->p, c->n);
			if (m != (unsigned)id)
				check(r0 == c->r0, name, "r0 0x%llx, want 0x%llx", (unsigned long long)r0,
				      (unsigned long long)c->r0);
		}
	}
	cur_mutant = 0;
}
#endif

int main(void)
{
	test_alu();
	test_swap();
	test_mem();
	test_jumps();
	test_calls();
	test_faults();
	test_linux_forms();
	test_budget();
	test_opts();
	test_validator();
	test_maps();
#ifdef UVM_MUTANTS
	test_mutants();
	/* Everything above must hold in a mutant build with no mutant selected. */
#endif
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
