/* SPDX-License-Identifier: MIT */
/* Cases from a clang -target bpf object: one per program, with its maps. */
#ifndef BPFDIFF_ELF_H
#define BPFDIFF_ELF_H

#include <stddef.h>
#include "case.h"

/* True when the file starts with the ELF magic. */
int bd_is_elf(const char *path);

/*
 * Every program of the object (or only the one named `filter`, by program
 * or section name) becomes a case: path = file, section = the program's name
 * (reports say OBJECT:PROGRAM), insns = its code relocated with the functions
 * it calls, maps = the object's maps and global data, progs = the programs
 * its prog_arrays hold (see elf.c). On success *cases is a malloc'ed array
 * of *ncases cases: bd_case_free() each, then free() the array. Returns 0,
 * -EINVAL (not BPF, no such program, a relocation or map it cannot express,
 * with "PATH: program NAME: ..." in err) or -errno.
 */
int bd_case_load_elf(const char *path, const char *section, struct bd_case **cases, size_t *ncases, char *err,
		     size_t errlen);

#endif
