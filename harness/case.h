/* SPDX-License-Identifier: MIT */
/*
 * The case model: one program, its input memory and what is expected of it,
 * as read from a .data file (bpf_conformance / ubpf format plus bpfdiff's
 * sections) or from an ELF object. See README.md "The .data format".
 */
#ifndef BPFDIFF_CASE_H
#define BPFDIFF_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vm/ebpf.h"
#include "maps.h"

#define BD_MAX_EXPECT 16
#define BD_BACKEND_NAME_MAX 320 /* backend names and patterns, with their NUL */

/* The largest input file read (a .data file, assembly, bytecode): 64 MiB holds
 * far more than the kernel's 1M-instruction limit in any of those forms. */
#define BD_MAX_INPUT_BYTES (64 << 20)

/*
 * Where a declared deviation applies: the identity of what ran the case
 * (struct bd_env). Written after the backend on the section line:
 *   -- expect kernel arch=x86_64 release>=6.6 jit=on
 * release: a glob (`6.18*`) or a comparison (`<6.6`, `>=6.7`, strverscmp order);
 * arch: a glob; jit: on|off. An empty field matches every environment.
 */
struct bd_scope {
	char release[64];
	char release_op[3];    /* "" (glob), "<", "<=", ">", ">=", "=" */
	char arch[32];
	int jit;               /* -1 any, 0 off (interpreter), 1 on */
	int platform;          /* -1 any, else EBPF_PLATFORM_* (`platform=ubpf`) */
};

/* Per-backend declared deviation, `-- expect BACKEND [SCOPE]`: what that
 * backend does instead of the RFC 9669 result, with its reason. Lines:
 *   rejected invalid shift        (status, then a message substring)
 *   result 0x2                    (R0)
 * `-- observed BACKEND [SCOPE]` has the same body: what a backend did when a
 * fuzz find was made (not an expectation; see bd_case_unconfirmed). */
struct bd_expect {
	char backend[BD_BACKEND_NAME_MAX]; /* a name or a glob: "kernel", "guest:*", "plugin:./vm" */
	struct bd_scope scope;
	bool observed;         /* `-- observed`: a record, not a declaration */
	bool from_known;       /* added from a known-differences file (not written back) */
	char status[16];       /* "ok", "rejected", "unsupported", ... or "" */
	char *message;         /* substring the backend's message must contain, or NULL */
	bool has_result;
	uint64_t result;
	char *warning;         /* `warning TEXT`: the kernel warning it logs (substring), or NULL */
	char *reason;          /* the comment line that explains it, or NULL */
};

/* A further program of a case: a tail-call target (`-- program NAME`, or
 * another program of an ELF object that a prog_array holds). */
struct bd_prog {
	char *name;
	char *asm_text;        /* as written, or NULL */
	struct ebpf_insn *insns;
	size_t ninsns;
};

struct bd_case {
	char *path;            /* file as given on the command line */
	char *section;         /* ELF section, or NULL */
	char *asm_text;        /* `-- asm` text as written, or NULL for raw/ELF */
	struct ebpf_insn *insns;
	size_t ninsns;
	uint8_t *mem;          /* `-- mem`; mem_len 0 = no memory */
	size_t mem_len;
	bool has_result;       /* `-- result` */
	uint64_t result;
	bool has_error;        /* `-- error` / `-- error pattern` */
	char *error;           /* expected message text (may be empty) */
	bool error_is_pattern; /* `-- error pattern`: POSIX extended regex */
	bool has_mem_after;    /* `-- mem after`: expected memory after the run */
	uint8_t *mem_after;
	size_t mem_after_len;
	/* `-- result big-endian` / `-- mem after big-endian`: what a big-endian
	 * target (s390x) must give where it differs from `-- result` / `-- mem
	 * after`, which are always the little-endian values. */
	bool has_result_be;
	uint64_t result_be;
	bool has_mem_after_be;
	uint8_t *mem_after_be;
	size_t mem_after_be_len;
	struct bd_expect expect[BD_MAX_EXPECT];
	int nexpect;
	char *description;     /* `-- description` */
	char *signature;       /* `-- signature` (fuzz finds) */
	int cpu;               /* `-- cpu v1..v4`; 0 = not given */
	char *comment;         /* leading `#` lines of the file (bug class, licence) */
	char *extra;           /* sections bpfdiff keeps but ignores (`-- c`, `-- no register offset`), verbatim */
	char *skip;            /* why no backend can run it (ubpf's `-- pyelf`, `-- reload`), or NULL */
	bool rerun;            /* ubpf's `-- unload`: load the program again and run it again; both runs must agree */
	/* Maps and helpers (README "Maps and helpers"). A prog_array's values
	 * are program indexes: 0 is the case's program, k is progs[k - 1]. */
	struct bd_map *maps;   /* `-- map` sections, in order: lddw's map index is the position here */
	int nmaps;
	struct bd_prog *progs; /* `-- program NAME` sections */
	int nprogs;
	char *prog_name;       /* the case's own program: "main" in .data, libbpf's name in an ELF object */
	char *elf_section;     /* an ELF case: the section its program is in (escaped), else NULL */
	uint64_t *helper_values[EBPF_ENV_KINDS]; /* `-- helper values`, per EBPF_ENV_* */
	size_t nhelper_values[EBPF_ENV_KINDS];
};

/* Parse a .data file. On error returns -EINVAL (or -errno for I/O) and
 * writes "FILE:LINE: message" into err. The case is fully owned by the caller. */
int bd_case_load_data(const char *path, struct bd_case *c, char *err, size_t errlen);
int bd_case_parse_data(const char *path, const char *text, size_t len, struct bd_case *c, char *err,
		       size_t errlen);
/* Read a whole input file ("-" = stdin) into a NUL-terminated buffer: not a
 * directory, at most BD_MAX_INPUT_BYTES (a device or pipe is read up to that).
 * On error returns -errno and writes "PATH: reason" into err. */
int bd_read_input(const char *path, char **buf, size_t *len, char *err, size_t errlen);
/* The name of program k of the case (0: its own), for reports. */
const char *bd_case_prog_name(const struct bd_case *c, int k);
/* Copy the maps, programs and helper values of src into dst (which has none). */
int bd_case_copy_env(struct bd_case *dst, const struct bd_case *src);

/* Write a case as .data text (asm rendered by the disassembler when asm_text is NULL). */
char *bd_case_format_data(const struct bd_case *c);
void bd_case_free(struct bd_case *c);

/* Does the case say what RFC 9669 gives (`-- result`, `-- error`, `-- mem after`)? */
bool bd_case_has_truth(const struct bd_case *c);
/* A fuzz find nobody has reviewed yet: observations and no truth. */
bool bd_case_unconfirmed(const struct bd_case *c);

/* Scope tokens: `release=6.18*`, `release<6.6`, `arch=s390x`, `jit=off`.
 * 0, or -EINVAL with the reason in err. */
void bd_scope_any(struct bd_scope *s);
int bd_scope_parse_token(struct bd_scope *s, const char *token, char *err, size_t errlen);
bool bd_scope_is_any(const struct bd_scope *s);
/* " arch=x86_64 release>=6.6" (with a leading blank), or "" for any. */
void bd_scope_format(const struct bd_scope *s, char *out, size_t outlen);
/* The section line's "BACKEND [SCOPE...]" into x. */
int bd_expect_parse_header(struct bd_expect *x, const char *text, char *err, size_t errlen);

/* Hex bytes "aa bb cc" (whitespace and newlines free) into a fresh buffer. */
int bd_parse_hex_bytes(const char *text, uint8_t **out, size_t *outlen);

#endif
