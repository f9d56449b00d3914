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

#define BD_MAX_EXPECT 8

/* Per-backend expectation: `-- expect BACKEND` section, lines like
 *   rejected invalid shift        (status, then a message substring)
 *   result 0x2                    (R0 for this backend differs, with a reason in a # comment)
 */
struct bd_expect {
	char backend[32];
	char status[16];       /* "ok", "rejected", "unsupported", ... or "" */
	char *message;         /* substring the backend's message must contain, or NULL */
	bool has_result;
	uint64_t result;
	char *reason;          /* the comment line that explains it, or NULL */
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
	struct bd_expect expect[BD_MAX_EXPECT];
	int nexpect;
	char *description;     /* `-- description` */
	char *signature;       /* `-- signature` (fuzz finds) */
	int cpu;               /* `-- cpu v1..v4`; 0 = not given */
	char *comment;         /* leading `#` lines of the file (bug class, licence) */
	char *extra;           /* sections bpfdiff keeps but ignores (`-- c`, `-- no register offset`), verbatim */
};

/* Parse a .data file. On error returns -EINVAL (or -errno for I/O) and
 * writes "FILE:LINE: message" into err. The case is fully owned by the caller. */
int bd_case_load_data(const char *path, struct bd_case *c, char *err, size_t errlen);
int bd_case_parse_data(const char *path, const char *text, size_t len, struct bd_case *c, char *err,
		       size_t errlen);
/* Write a case as .data text (asm rendered by the disassembler when asm_text is NULL). */
char *bd_case_format_data(const struct bd_case *c);
void bd_case_free(struct bd_case *c);

/* The `-- expect` entry for a backend: its exact name first ("plugin:./vm"),
 * then its kind ("plugin"); NULL when the case says nothing of it. */
const struct bd_expect *bd_case_expect(const struct bd_case *c, const char *backend);

/* Hex bytes "aa bb cc" (whitespace and newlines free) into a fresh buffer. */
int bd_parse_hex_bytes(const char *text, uint8_t **out, size_t *outlen);

#endif
