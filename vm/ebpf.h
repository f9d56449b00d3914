/* SPDX-License-Identifier: MIT */
/*
 * The eBPF instruction set (RFC 9669, cpu v1..v4, and what Linux accepts
 * beyond it), written once.
 *
 * EBPF_FORMS is the one list of every instruction *form*: an opcode byte plus,
 * where the ISA overloads one opcode, the discriminating field (off for
 * sdiv/smod/movsx, imm for byte swaps and atomics, src for calls, lddw and
 * may_goto). Each form belongs to an ISA profile: RFC 9669, or Linux (the
 * kernel's extensions; a Linux program may use both).
 * It is expanded into the uvm's validator and dispatch table, the xdp VM,
 * the assembler, the disassembler, `bpfdiff coverage` and the fuzz mutator.
 *
 * This header is plain C with no includes so that it also compiles with
 * `clang -target bpf` for the eBPF-on-eBPF VM.
 */
#ifndef BPFDIFF_EBPF_H
#define BPFDIFF_EBPF_H

typedef unsigned char ebpf_u8;
typedef unsigned short ebpf_u16;
typedef unsigned int ebpf_u32;
typedef unsigned long long ebpf_u64;
typedef signed char ebpf_s8;
typedef short ebpf_s16;
typedef int ebpf_s32;
typedef long long ebpf_s64;

struct ebpf_insn {
	ebpf_u8 opcode;
	ebpf_u8 dst : 4;
	ebpf_u8 src : 4;
	ebpf_s16 off;
	ebpf_s32 imm;
};

/* Opcode fields. */
#define EBPF_CLASS(op) ((op) & 0x07)
#define EBPF_CLS_LD 0x00
#define EBPF_CLS_LDX 0x01
#define EBPF_CLS_ST 0x02
#define EBPF_CLS_STX 0x03
#define EBPF_CLS_ALU 0x04
#define EBPF_CLS_JMP 0x05
#define EBPF_CLS_JMP32 0x06
#define EBPF_CLS_ALU64 0x07
#define EBPF_SRC_X 0x08
#define EBPF_SIZE_W 0x00
#define EBPF_SIZE_H 0x08
#define EBPF_SIZE_B 0x10
#define EBPF_SIZE_DW 0x18
#define EBPF_MODE_IMM 0x00
#define EBPF_MODE_ABS 0x20
#define EBPF_MODE_IND 0x40
#define EBPF_MODE_MEM 0x60
#define EBPF_MODE_MEMSX 0x80
#define EBPF_MODE_ATOMIC 0xc0

#define EBPF_ATOMIC_FETCH 0x01
#define EBPF_ATOMIC_XCHG (0xe0 | EBPF_ATOMIC_FETCH)
#define EBPF_ATOMIC_CMPXCHG (0xf0 | EBPF_ATOMIC_FETCH)
/* Linux (include/uapi/linux/bpf.h, 6.15+): BPF_STX | BPF_ATOMIC | size with
 * these imm values, all four sizes. */
#define EBPF_LOAD_ACQ 0x100
#define EBPF_STORE_REL 0x110
/* Linux (6.9+): BPF_JMP | BPF_JCOND (0xe5), src BPF_MAY_GOTO (0). */
#define EBPF_JCOND 0xe0
#define EBPF_MAY_GOTO 0

/* ISA profiles. A form is in profile p when its isa <= p. */
#define EBPF_ISA_RFC9669 1 /* the standard forms only */
#define EBPF_ISA_LINUX 2   /* + what the Linux verifier accepts beyond RFC 9669 (the default) */

#define EBPF_CALL_HELPER 0
#define EBPF_CALL_LOCAL 1
#define EBPF_CALL_BTF 2

#define EBPF_STACK_SIZE 512
#define EBPF_MAX_CALL_DEPTH 8 /* frames, as the kernel's MAX_CALL_FRAMES */
#define EBPF_NREGS 11

/*
 * Operand formats. Each says which fields are operands, which one (if any)
 * discriminates the form, and therefore which must be zero.
 *   fmt           syntax                        operands        disc
 *   ALU_K         add %rD, imm                  dst imm         off
 *   ALU_X         add %rD, %rS                  dst src         off
 *   NEG           neg %rD                       dst             off
 *   END           be16 %rD                      dst             imm
 *   LDDW          lddw %rD, imm64               dst imm(x2)     src
 *   LDX           ldxw %rD, [%rS+off]           dst src off     -
 *   ST            stw [%rD+off], imm            dst off imm     -
 *   STX           stxw [%rD+off], %rS           dst src off     -
 *   ATOMIC        lock add [%rD+off], %rS       dst src off     imm
 *   LOAD_ACQ      ldacqw %rD, [%rS+off]         dst src off     imm
 *   STORE_REL     strelw [%rD+off], %rS         dst src off     imm
 *   JA            ja off                        off             -
 *   JA32          ja32 imm                      imm             -
 *   JCOND_K       jeq %rD, imm, off             dst imm off     -
 *   JCOND_X       jeq %rD, %rS, off             dst src off     -
 *   MAY_GOTO      may_goto off                  off             src
 *   CALL          call imm / call local imm     imm             src
 *   CALLX         callx %rD                     dst             -
 *   EXIT          exit                          -               -
 */
enum ebpf_fmt {
	EBPF_FMT_ALU_K,
	EBPF_FMT_ALU_X,
	EBPF_FMT_NEG,
	EBPF_FMT_END,
	EBPF_FMT_LDDW,
	EBPF_FMT_LDX,
	EBPF_FMT_ST,
	EBPF_FMT_STX,
	EBPF_FMT_ATOMIC,
	EBPF_FMT_LOAD_ACQ,
	EBPF_FMT_STORE_REL,
	EBPF_FMT_JA,
	EBPF_FMT_JA32,
	EBPF_FMT_JCOND_K,
	EBPF_FMT_JCOND_X,
	EBPF_FMT_MAY_GOTO,
	EBPF_FMT_CALL,
	EBPF_FMT_CALLX,
	EBPF_FMT_EXIT,
};

/*
 * X(ID, mnemonic, opcode, fmt, disc, cpu, isa)
 * ALU and JMP forms come in 64/32-bit and imm/reg pairs; the helper macros
 * below expand one line into the four (or two) forms. The Linux forms are
 * last and given cpu 4: no RFC cpu version has them, and they came with v4.
 */
#define EBPF_ALU4(X, ID, M, CODE, DISC, CPU)                                                            \
	X(ID##64_IMM, M, 0x07 | (CODE), EBPF_FMT_ALU_K, DISC, CPU, EBPF_ISA_RFC9669)                    \
	X(ID##64_REG, M, 0x0f | (CODE), EBPF_FMT_ALU_X, DISC, CPU, EBPF_ISA_RFC9669)                    \
	X(ID##32_IMM, M "32", 0x04 | (CODE), EBPF_FMT_ALU_K, DISC, CPU, EBPF_ISA_RFC9669)               \
	X(ID##32_REG, M "32", 0x0c | (CODE), EBPF_FMT_ALU_X, DISC, CPU, EBPF_ISA_RFC9669)
#define EBPF_JMP4(X, ID, M, CODE, CPU32)                                                                \
	X(ID##_IMM, M, 0x05 | (CODE), EBPF_FMT_JCOND_K, 0, (CODE) >= 0xa0 ? 2 : 1, EBPF_ISA_RFC9669)    \
	X(ID##_REG, M, 0x0d | (CODE), EBPF_FMT_JCOND_X, 0, (CODE) >= 0xa0 ? 2 : 1, EBPF_ISA_RFC9669)    \
	X(ID##32_IMM, M "32", 0x06 | (CODE), EBPF_FMT_JCOND_K, 0, CPU32, EBPF_ISA_RFC9669)              \
	X(ID##32_REG, M "32", 0x0e | (CODE), EBPF_FMT_JCOND_X, 0, CPU32, EBPF_ISA_RFC9669)

#define EBPF_FORMS(X)                                                                                   \
	EBPF_ALU4(X, ADD, "add", 0x00, 0, 1)                                                            \
	EBPF_ALU4(X, SUB, "sub", 0x10, 0, 1)                                                            \
	EBPF_ALU4(X, MUL, "mul", 0x20, 0, 1)                                                            \
	EBPF_ALU4(X, DIV, "div", 0x30, 0, 1)                                                            \
	EBPF_ALU4(X, SDIV, "sdiv", 0x30, 1, 4)                                                          \
	EBPF_ALU4(X, OR, "or", 0x40, 0, 1)                                                              \
	EBPF_ALU4(X, AND, "and", 0x50, 0, 1)                                                            \
	EBPF_ALU4(X, LSH, "lsh", 0x60, 0, 1)                                                            \
	EBPF_ALU4(X, RSH, "rsh", 0x70, 0, 1)                                                            \
	EBPF_ALU4(X, MOD, "mod", 0x90, 0, 1)                                                            \
	EBPF_ALU4(X, SMOD, "smod", 0x90, 1, 4)                                                          \
	EBPF_ALU4(X, XOR, "xor", 0xa0, 0, 1)                                                            \
	EBPF_ALU4(X, MOV, "mov", 0xb0, 0, 1)                                                            \
	EBPF_ALU4(X, ARSH, "arsh", 0xc0, 0, 1)                                                          \
	X(NEG64, "neg", 0x87, EBPF_FMT_NEG, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(NEG32, "neg32", 0x84, EBPF_FMT_NEG, 0, 1, EBPF_ISA_RFC9669)                                   \
	X(MOVSX8_64, "movsx864", 0xbf, EBPF_FMT_ALU_X, 8, 4, EBPF_ISA_RFC9669)                          \
	X(MOVSX16_64, "movsx1664", 0xbf, EBPF_FMT_ALU_X, 16, 4, EBPF_ISA_RFC9669)                       \
	X(MOVSX32_64, "movsx3264", 0xbf, EBPF_FMT_ALU_X, 32, 4, EBPF_ISA_RFC9669)                       \
	X(MOVSX8_32, "movsx832", 0xbc, EBPF_FMT_ALU_X, 8, 4, EBPF_ISA_RFC9669)                          \
	X(MOVSX16_32, "movsx1632", 0xbc, EBPF_FMT_ALU_X, 16, 4, EBPF_ISA_RFC9669)                       \
	X(LE16, "le16", 0xd4, EBPF_FMT_END, 16, 1, EBPF_ISA_RFC9669)                                    \
	X(LE32, "le32", 0xd4, EBPF_FMT_END, 32, 1, EBPF_ISA_RFC9669)                                    \
	X(LE64, "le64", 0xd4, EBPF_FMT_END, 64, 1, EBPF_ISA_RFC9669)                                    \
	X(BE16, "be16", 0xdc, EBPF_FMT_END, 16, 1, EBPF_ISA_RFC9669)                                    \
	X(BE32, "be32", 0xdc, EBPF_FMT_END, 32, 1, EBPF_ISA_RFC9669)                                    \
	X(BE64, "be64", 0xdc, EBPF_FMT_END, 64, 1, EBPF_ISA_RFC9669)                                    \
	X(BSWAP16, "bswap16", 0xd7, EBPF_FMT_END, 16, 4, EBPF_ISA_RFC9669)                              \
	X(BSWAP32, "bswap32", 0xd7, EBPF_FMT_END, 32, 4, EBPF_ISA_RFC9669)                              \
	X(BSWAP64, "bswap64", 0xd7, EBPF_FMT_END, 64, 4, EBPF_ISA_RFC9669)                              \
	X(LDDW, "lddw", 0x18, EBPF_FMT_LDDW, 0, 1, EBPF_ISA_RFC9669)                                    \
	X(LDDW_MAP_FD, "lddw_map_fd", 0x18, EBPF_FMT_LDDW, 1, 1, EBPF_ISA_RFC9669)                      \
	X(LDDW_MAP_VALUE, "lddw_map_value", 0x18, EBPF_FMT_LDDW, 2, 1, EBPF_ISA_RFC9669)                \
	X(LDDW_VAR_ADDR, "lddw_var_addr", 0x18, EBPF_FMT_LDDW, 3, 1, EBPF_ISA_RFC9669)                  \
	X(LDDW_CODE_ADDR, "lddw_code_addr", 0x18, EBPF_FMT_LDDW, 4, 1, EBPF_ISA_RFC9669)                \
	X(LDDW_MAP_IDX, "lddw_map_idx", 0x18, EBPF_FMT_LDDW, 5, 1, EBPF_ISA_RFC9669)                    \
	X(LDDW_MAP_IDX_VALUE, "lddw_map_idx_value", 0x18, EBPF_FMT_LDDW, 6, 1, EBPF_ISA_RFC9669)        \
	X(LDXW, "ldxw", 0x61, EBPF_FMT_LDX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(LDXH, "ldxh", 0x69, EBPF_FMT_LDX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(LDXB, "ldxb", 0x71, EBPF_FMT_LDX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(LDXDW, "ldxdw", 0x79, EBPF_FMT_LDX, 0, 1, EBPF_ISA_RFC9669)                                   \
	X(LDXSW, "ldxsw", 0x81, EBPF_FMT_LDX, 0, 4, EBPF_ISA_RFC9669)                                   \
	X(LDXSH, "ldxsh", 0x89, EBPF_FMT_LDX, 0, 4, EBPF_ISA_RFC9669)                                   \
	X(LDXSB, "ldxsb", 0x91, EBPF_FMT_LDX, 0, 4, EBPF_ISA_RFC9669)                                   \
	X(STW, "stw", 0x62, EBPF_FMT_ST, 0, 1, EBPF_ISA_RFC9669)                                        \
	X(STH, "sth", 0x6a, EBPF_FMT_ST, 0, 1, EBPF_ISA_RFC9669)                                        \
	X(STB, "stb", 0x72, EBPF_FMT_ST, 0, 1, EBPF_ISA_RFC9669)                                        \
	X(STDW, "stdw", 0x7a, EBPF_FMT_ST, 0, 1, EBPF_ISA_RFC9669)                                      \
	X(STXW, "stxw", 0x63, EBPF_FMT_STX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(STXH, "stxh", 0x6b, EBPF_FMT_STX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(STXB, "stxb", 0x73, EBPF_FMT_STX, 0, 1, EBPF_ISA_RFC9669)                                     \
	X(STXDW, "stxdw", 0x7b, EBPF_FMT_STX, 0, 1, EBPF_ISA_RFC9669)                                   \
	X(ATOMIC64_ADD, "add", 0xdb, EBPF_FMT_ATOMIC, 0x00, 1, EBPF_ISA_RFC9669)                        \
	X(ATOMIC64_OR, "or", 0xdb, EBPF_FMT_ATOMIC, 0x40, 3, EBPF_ISA_RFC9669)                          \
	X(ATOMIC64_AND, "and", 0xdb, EBPF_FMT_ATOMIC, 0x50, 3, EBPF_ISA_RFC9669)                        \
	X(ATOMIC64_XOR, "xor", 0xdb, EBPF_FMT_ATOMIC, 0xa0, 3, EBPF_ISA_RFC9669)                        \
	X(ATOMIC64_FETCH_ADD, "fetch add", 0xdb, EBPF_FMT_ATOMIC, 0x01, 3, EBPF_ISA_RFC9669)            \
	X(ATOMIC64_FETCH_OR, "fetch or", 0xdb, EBPF_FMT_ATOMIC, 0x41, 3, EBPF_ISA_RFC9669)              \
	X(ATOMIC64_FETCH_AND, "fetch and", 0xdb, EBPF_FMT_ATOMIC, 0x51, 3, EBPF_ISA_RFC9669)            \
	X(ATOMIC64_FETCH_XOR, "fetch xor", 0xdb, EBPF_FMT_ATOMIC, 0xa1, 3, EBPF_ISA_RFC9669)            \
	X(ATOMIC64_XCHG, "xchg", 0xdb, EBPF_FMT_ATOMIC, 0xe1, 3, EBPF_ISA_RFC9669)                      \
	X(ATOMIC64_CMPXCHG, "cmpxchg", 0xdb, EBPF_FMT_ATOMIC, 0xf1, 3, EBPF_ISA_RFC9669)                \
	X(ATOMIC32_ADD, "add32", 0xc3, EBPF_FMT_ATOMIC, 0x00, 1, EBPF_ISA_RFC9669)                      \
	X(ATOMIC32_OR, "or32", 0xc3, EBPF_FMT_ATOMIC, 0x40, 3, EBPF_ISA_RFC9669)                        \
	X(ATOMIC32_AND, "and32", 0xc3, EBPF_FMT_ATOMIC, 0x50, 3, EBPF_ISA_RFC9669)                      \
	X(ATOMIC32_XOR, "xor32", 0xc3, EBPF_FMT_ATOMIC, 0xa0, 3, EBPF_ISA_RFC9669)                      \
	X(ATOMIC32_FETCH_ADD, "fetch add32", 0xc3, EBPF_FMT_ATOMIC, 0x01, 3, EBPF_ISA_RFC9669)          \
	X(ATOMIC32_FETCH_OR, "fetch or32", 0xc3, EBPF_FMT_ATOMIC, 0x41, 3, EBPF_ISA_RFC9669)            \
	X(ATOMIC32_FETCH_AND, "fetch and32", 0xc3, EBPF_FMT_ATOMIC, 0x51, 3, EBPF_ISA_RFC9669)          \
	X(ATOMIC32_FETCH_XOR, "fetch xor32", 0xc3, EBPF_FMT_ATOMIC, 0xa1, 3, EBPF_ISA_RFC9669)          \
	X(ATOMIC32_XCHG, "xchg32", 0xc3, EBPF_FMT_ATOMIC, 0xe1, 3, EBPF_ISA_RFC9669)                    \
	X(ATOMIC32_CMPXCHG, "cmpxchg32", 0xc3, EBPF_FMT_ATOMIC, 0xf1, 3, EBPF_ISA_RFC9669)              \
	X(JA, "ja", 0x05, EBPF_FMT_JA, 0, 1, EBPF_ISA_RFC9669)                                          \
	X(JA32, "ja32", 0x06, EBPF_FMT_JA32, 0, 4, EBPF_ISA_RFC9669)                                    \
	EBPF_JMP4(X, JEQ, "jeq", 0x10, 3)                                                               \
	EBPF_JMP4(X, JGT, "jgt", 0x20, 3)                                                               \
	EBPF_JMP4(X, JGE, "jge", 0x30, 3)                                                               \
	EBPF_JMP4(X, JSET, "jset", 0x40, 3)                                                             \
	EBPF_JMP4(X, JNE, "jne", 0x50, 3)                                                               \
	EBPF_JMP4(X, JSGT, "jsgt", 0x60, 3)                                                             \
	EBPF_JMP4(X, JSGE, "jsge", 0x70, 3)                                                             \
	EBPF_JMP4(X, JLT, "jlt", 0xa0, 3)                                                               \
	EBPF_JMP4(X, JLE, "jle", 0xb0, 3)                                                               \
	EBPF_JMP4(X, JSLT, "jslt", 0xc0, 3)                                                             \
	EBPF_JMP4(X, JSLE, "jsle", 0xd0, 3)                                                             \
	X(CALL_HELPER, "call", 0x85, EBPF_FMT_CALL, EBPF_CALL_HELPER, 1, EBPF_ISA_RFC9669)              \
	X(CALL_LOCAL, "call local", 0x85, EBPF_FMT_CALL, EBPF_CALL_LOCAL, 1, EBPF_ISA_RFC9669)          \
	X(CALL_BTF, "call btf", 0x85, EBPF_FMT_CALL, EBPF_CALL_BTF, 1, EBPF_ISA_RFC9669)                \
	X(CALLX, "callx", 0x8d, EBPF_FMT_CALLX, 0, 4, EBPF_ISA_RFC9669)                                 \
	X(EXIT, "exit", 0x95, EBPF_FMT_EXIT, 0, 1, EBPF_ISA_RFC9669)                                    \
	X(LOAD_ACQ_B, "ldacqb", 0xd3, EBPF_FMT_LOAD_ACQ, EBPF_LOAD_ACQ, 4, EBPF_ISA_LINUX)              \
	X(LOAD_ACQ_H, "ldacqh", 0xcb, EBPF_FMT_LOAD_ACQ, EBPF_LOAD_ACQ, 4, EBPF_ISA_LINUX)              \
	X(LOAD_ACQ_W, "ldacqw", 0xc3, EBPF_FMT_LOAD_ACQ, EBPF_LOAD_ACQ, 4, EBPF_ISA_LINUX)              \
	X(LOAD_ACQ_DW, "ldacqdw", 0xdb, EBPF_FMT_LOAD_ACQ, EBPF_LOAD_ACQ, 4, EBPF_ISA_LINUX)            \
	X(STORE_REL_B, "strelb", 0xd3, EBPF_FMT_STORE_REL, EBPF_STORE_REL, 4, EBPF_ISA_LINUX)           \
	X(STORE_REL_H, "strelh", 0xcb, EBPF_FMT_STORE_REL, EBPF_STORE_REL, 4, EBPF_ISA_LINUX)           \
	X(STORE_REL_W, "strelw", 0xc3, EBPF_FMT_STORE_REL, EBPF_STORE_REL, 4, EBPF_ISA_LINUX)           \
	X(STORE_REL_DW, "streldw", 0xdb, EBPF_FMT_STORE_REL, EBPF_STORE_REL, 4, EBPF_ISA_LINUX)         \
	X(MAY_GOTO, "may_goto", 0xe5, EBPF_FMT_MAY_GOTO, EBPF_MAY_GOTO, 4, EBPF_ISA_LINUX)

/* Atomic mnemonics are written `lock <mnemonic> [%rD+off], %rS`. */

enum ebpf_form {
#define EBPF_FORM_ENUM(id, m, op, fmt, disc, cpu, isa) FORM_##id,
	EBPF_FORMS(EBPF_FORM_ENUM)
#undef EBPF_FORM_ENUM
	FORM_COUNT,
	FORM_INVALID = -1,
};

struct ebpf_form_desc {
	const char *id;       /* "SDIV32_REG" */
	const char *mnemonic; /* "sdiv32" */
	ebpf_u8 opcode;
	ebpf_u8 fmt;          /* enum ebpf_fmt */
	ebpf_s32 disc;        /* value of the discriminating field */
	ebpf_u8 cpu;          /* first cpu version (1..4) that has it */
	ebpf_u8 isa;          /* EBPF_ISA_RFC9669 or EBPF_ISA_LINUX: the smallest profile that has it */
};

#endif
