/* SPDX-License-Identifier: MIT */
/*
 * uvm: the user-space eBPF VM of bpfdiff (RFC 9669, cpu v1..v4).
 *
 * Opaque VM; load validates and pre-decodes; run executes with every memory
 * access bounds-checked. Functions return 0 or a negative errno; load errors
 * carry a human message naming the pc.
 */
#ifndef BPFDIFF_UVM_H
#define BPFDIFF_UVM_H

#include <stddef.h>
#include <stdint.h>
#include "ebpf.h"

struct uvm;

#define UVM_DEFAULT_MEM_ADDR 0x0000000100000000ULL
#define UVM_DEFAULT_STACK_TOP 0x0000000200000000ULL /* r10 of the first frame */
#define UVM_DEFAULT_BUDGET 100000000ULL             /* guest instructions */
#define UVM_DEFAULT_MAP_ADDR 0x0000000300000000ULL  /* map values, map pointers, code addresses */
#define UVM_DEFAULT_ENV_SEED 0x62706664696666ULL     /* "bpfdiff" */

struct uvm_opts {
	size_t sz;            /* sizeof(struct uvm_opts), as libbpf's opts */
	uint64_t mem_addr;    /* guest address of the case memory (r1) */
	uint64_t stack_top;   /* guest address one past the first frame (r10) */
	uint8_t stack_fill;   /* byte the stack is filled with before each run */
	uint64_t reg_fill;    /* initial value of r0, r3..r9 (unspecified by the contract) */
	uint64_t budget;      /* instructions before `timeout`; 0 = default */
	int cpu;              /* 1..4: reject instructions newer than this; 0 = 4 */
	unsigned mutant;      /* 0, or a UVM_MUTANT_* id (only in builds with -DUVM_MUTANTS) */
	uint64_t stack_seed;  /* nonzero: fill the stack with a pattern derived from this seed and
				 each byte's position instead of stack_fill, so that two uninitialised
				 slots never hold the same value (finds results that depend on them) */
	int isa;              /* EBPF_ISA_RFC9669: refuse the Linux extensions (load-acquire,
				 store-release, may_goto); 0 = EBPF_ISA_LINUX (accept them) */
	uint64_t map_addr;    /* guest base of map values, map pointers and code addresses
				 (vm/helpers.h); 0 = UVM_DEFAULT_MAP_ADDR */
	int platform;         /* what helper numbers mean: EBPF_PLATFORM_LINUX (0) or _UBPF */
	uint64_t env_seed;    /* values of bpf_ktime_get_ns, bpf_get_prandom_u32 and
				 bpf_get_smp_processor_id the case does not give (helpers.h);
				 0 = UVM_DEFAULT_ENV_SEED */
	int big_endian;       /* 1: loads, stores and atomics are big-endian and le/be swap roles
				 (a big-endian target such as s390x, RFC 9669 leaves the order to
				 the target); 0: little-endian */
	int null_r1;          /* 1: with no memory (mem_len 0) r1 starts as 0, the NULL the kernel
				 backend passes, instead of mem_addr (the verifier-state oracle
				 compares values with the kernel's) */
};

enum uvm_status {
	UVM_OK,
	UVM_FAULT,       /* out-of-range access, call depth, bad call target */
	UVM_TIMEOUT,     /* budget exhausted */
	UVM_UNSUPPORTED, /* helper call not modelled, pseudo lddw, ... */
};

enum uvm_fault {
	UVM_FAULT_NONE,
	UVM_FAULT_READ,  /* load out of bounds */
	UVM_FAULT_WRITE, /* store / atomic out of bounds */
	UVM_FAULT_DEPTH, /* call depth */
	UVM_FAULT_OTHER, /* internal: an instruction uvm_load should have refused */
	UVM_FAULT_R10,   /* an instruction that writes r10 (the read-only frame pointer) ran */
	UVM_FAULT_CALL,  /* a helper argument that is not what it must be (a map, a callback) */
};

struct uvm_result {
	enum uvm_status status;
	enum uvm_fault fault;
	uint64_t r0;
	uint64_t insns;       /* guest instructions executed */
	uint32_t pc;          /* pc of the faulting instruction, or the first one out of budget */
	uint64_t fault_addr;
	char message[160];    /* "pc 3: read of 8 bytes at 0x100000010 out of bounds" */
	uint64_t map_loads;   /* loads (and atomics' reads) through map value pointers */
	uint64_t map_stores;  /* stores and atomics through map value pointers */
};

/* A host function as a helper: gets r1..r5, returns r0. A registered number
 * takes precedence over the platform's own helpers (vm/helpers.h). */
typedef uint64_t (*uvm_helper_fn)(void *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				  uint64_t r5);

struct uvm *uvm_create(const struct uvm_opts *opts); /* NULL opts = defaults; NULL + errno on ENOMEM/bad opts */
void uvm_destroy(struct uvm *vm);
int uvm_set_opts(struct uvm *vm, const struct uvm_opts *opts);
int uvm_register_helper(struct uvm *vm, uint32_t id, uvm_helper_fn fn, void *ctx);

/* Validate and pre-decode. -EINVAL: malformed (message "pc N: ...");
 * -EOPNOTSUPP: valid eBPF the uvm does not model (an unknown helper, a kfunc,
 * lddw of a BTF variable). lddw of a map refers to the maps set by
 * uvm_set_maps, which must come first. */
int uvm_load(struct uvm *vm, const struct ebpf_insn *insns, size_t n, char *err, size_t errlen);

/* Several programs at once: the first runs, the others are tail-call targets
 * (a prog_array's values are indexes into this list). Errors name the
 * program when there are several ("prog 2: pc 3: ..."). */
struct uvm_prog {
	const struct ebpf_insn *insns;
	size_t n;
};
int uvm_load_progs(struct uvm *vm, const struct uvm_prog *progs, size_t nprogs, char *err, size_t errlen);

/*
 * Maps, with the kernel's semantics (vm/maps.h). uvm_set_maps replaces every
 * map by an empty one (arrays zeroed); the host fills them with
 * uvm_map_update (a prog_array's value is a u32 program index) before each
 * run and reads them back after it. Types and flags have the kernel's
 * numbers (EBPF_MAP_* in vm/helpers.h). Functions return 0 or a negative
 * errno as the kernel's bpf(2) would (-EINVAL, -E2BIG, -EEXIST, -ENOENT).
 */
struct uvm_map_def {
	uint32_t type, key_size, value_size, max_entries, flags;
};
int uvm_set_maps(struct uvm *vm, const struct uvm_map_def *defs, size_t n);
int uvm_map_update(struct uvm *vm, uint32_t map, const void *key, const void *value, uint64_t flags);
int uvm_map_lookup(struct uvm *vm, uint32_t map, const void *key, void *value);
/* The next key after key (NULL: the first); -ENOENT after the last. */
int uvm_map_next_key(struct uvm *vm, uint32_t map, const void *key, void *next);

/* The values an environment helper (EBPF_ENV_* in vm/helpers.h) returns,
 * in call order, before the seed's take over; n 0 clears them. Kept across runs. */
int uvm_set_env_values(struct uvm *vm, int kind, const uint64_t *values, size_t n);

/*
 * A per-instruction trace: fn is called before each instruction runs with
 * the program's index (0 = the first), the pc within it, the call depth
 * (0 = the main function) and the current frame's r0..r10. NULL turns it off;
 * a run without a hook costs what it did before hooks existed (the hook's
 * label is put into the decoded code only for a traced run).
 */
typedef void (*uvm_trace_fn)(void *ctx, unsigned prog, uint32_t pc, int depth, const uint64_t regs[11]);
void uvm_set_trace(struct uvm *vm, uvm_trace_fn fn, void *ctx);

/* Run the loaded program on mem (modified in place). 0 = ran, see res->status. */
int uvm_run(struct uvm *vm, void *mem, size_t mem_len, struct uvm_result *res);

/*
 * Mutants: named, deliberately injected bugs of real JIT bug classes, so a fuzz
 * campaign can prove it finds them. Compiled in only with -DUVM_MUTANTS (zero
 * cost otherwise); the names are available in every build, and uvm_set_opts
 * with a non-zero mutant returns -ENOTSUP in a build without them.
 * X(ID, name, what the bug does)
 */
#define UVM_MUTANT_LIST(X)                                                                          \
	X(ALU32_NO_ZEXT, "alu32-no-zext", "ALU32 results keep the upper 32 bits of dst")            \
	X(SHIFT_UNMASKED, "shift-unmasked", "shift counts >= the width give 0 instead of masking")  \
	X(SDIV_INTMIN, "sdiv-intmin", "sdiv INT_MIN / -1 saturates to INT_MAX")                     \
	X(SMOD_SIGN, "smod-sign", "smod remainder takes the divisor's sign")                        \
	X(JMP32_64BIT, "jmp32-64bit", "JMP32 compares all 64 bits")                                 \
	X(SIGNED_AS_UNSIGNED, "signed-as-unsigned", "jsgt compares unsigned")                       \
	X(LDSX_NO_SEXT, "ldsx-no-sext", "ldsx zero-extends")                                        \
	X(CMPXCHG_R0, "cmpxchg-r0", "cmpxchg puts the new value in r0 on success")                  \
	X(BSWAP16_UPPER, "bswap16-upper", "bswap16/be16 keep the upper 48 bits")                    \
	X(LDDW_LOW_ONLY, "lddw-low-only", "lddw drops the upper half of its immediate")              \
	X(MOD0_ZERO, "mod0-zero", "modulo by zero gives 0 instead of dst")                          \
	X(FETCH32_NO_ZEXT, "fetch32-no-zext", "32-bit atomic fetch keeps the upper bits of src")    \
	X(CALLEE_CLOBBER, "callee-clobber", "r6-r9 are not restored at a local call's exit")        \
	X(FRAME_256, "frame-256", "local calls get 256-byte frames (ubpf's default)")                 \
	X(BACKEDGE_SKIP, "backedge-skip", "a backward jump lands one instruction past its target")   \
	X(R5_DEPTH3, "r5-depth3", "a callee at call depth >= 3 gets r5 = 0 instead of the argument") \
	X(R9_DEPTH3, "r9-depth3", "r9 is not restored on return from call depth >= 3")               \
	X(STACK_OFF_ZEXT, "stack-off-zext", "through a stack pointer other than r10, a negative off is zero-extended") \
	X(SDIV_ABS_SAT, "sdiv-abs-sat", "sdiv64/smod64 take |INT64_MIN| as INT64_MAX")

enum uvm_mutant {
	UVM_MUTANT_NONE,
#define UVM_MUTANT_ENUM(id, name, what) UVM_MUTANT_##id,
	UVM_MUTANT_LIST(UVM_MUTANT_ENUM)
#undef UVM_MUTANT_ENUM
};

unsigned uvm_mutant_count(void);
const char *uvm_mutant_name(unsigned id);  /* id 1..count; NULL otherwise */
const char *uvm_mutant_what(unsigned id);  /* one-line description; NULL otherwise */
int uvm_mutant_lookup(const char *name);   /* id, or -ENOENT */

#endif
