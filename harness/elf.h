/* SPDX-License-Identifier: MIT */
/* Cases from a clang -target bpf object: one per executable section. */
#ifndef BPFDIFF_ELF_H
#define BPFDIFF_ELF_H

#include <stddef.h>
#include "case.h"

/* True when the file starts with the ELF magic. */
int bd_is_elf(const char *path);

/*
 * Every executable PROGBITS section (or only `section` when it is not NULL)
 * becomes a case: path = file, section = name, insns = the section's code.
 * bpf-to-bpf calls inside one section are honoured (clang leaves none or a
 * call relocation against a function of the same section); any other
 * relocation (maps, globals, calls into another section) is refused with
 * "PATH: section NAME: ..." in err. On success *cases is a malloc'ed array of
 * *ncases cases: bd_case_free() each, then free() the array.
 * Returns 0, -EINVAL (not BPF, section missing, relocation) or -errno.
 */
int bd_case_load_elf(const char *path, const char *section, struct bd_case **cases, size_t *ncases, char *err,
		     size_t errlen);

#endif
