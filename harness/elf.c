/* SPDX-License-Identifier: MIT */
/* Cases from BPF ELF objects (clang -target bpf), read with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"

#include "elf.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

int bd_is_elf(const char *path)
{
	unsigned char m[4];
	/* O_NONBLOCK: a FIFO must not block the look at its first bytes. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	ssize_t r = read(fd, m, sizeof(m));
	close(fd);
	return r == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

static int eerr(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int eerr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Apply the relocations of section `idx` to insns, or refuse them. */
static int relocate(Elf *elf, const char *path, const char *name, size_t idx, struct ebpf_insn *insns, size_t n,
		    size_t strndx, char *err, size_t errlen)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_REL && sh.sh_type != SHT_RELA) || sh.sh_info != idx)
			continue;
		Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
		GElf_Shdr symsh;
		Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
		Elf_Data *rel = elf_getdata(scn, NULL);
		if (!syms || !rel || !gelf_getshdr(symscn, &symsh) || !sh.sh_entsize)
			return eerr(err, errlen, -EINVAL, "%s: section %s: unreadable relocation table", path, name);
		size_t nrel = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < nrel; i++) {
			GElf_Rel r;
			GElf_Rela ra;
			if (sh.sh_type == SHT_REL) {
				if (!gelf_getrel(rel, (int)i, &r))
					return eerr(err, errlen, -EINVAL, "%s: section %s: bad relocation", path, name);
			} else {
				if (!gelf_getrela(rel, (int)i, &ra))
					return eerr(err, errlen, -EINVAL, "%s: section %s: bad relocation", path, name);
				r.r_offset = ra.r_offset;
				r.r_info = ra.r_info;
			}
			GElf_Sym sym;
			memset(&sym, 0, sizeof(sym));
			const char *sname = "?";
			char sname_buf[256];
			if (gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym)) {
				const char *s = elf_strptr(elf, symsh.sh_link, sym.st_name);
				if (GELF_ST_TYPE(sym.st_info) == STT_SECTION) {
					GElf_Shdr tsh;
					Elf_Scn *ts = elf_getscn(elf, sym.st_shndx);
					if (ts && gelf_getshdr(ts, &tsh))
						s = elf_strptr(elf, strndx, tsh.sh_name);
				}
				if (s && *s)
					sname = s;
				bd_escape_ctl(sname_buf, sizeof(sname_buf), sname);
				sname = sname_buf;
			}
			size_t pc = r.r_offset / 8;
			if (r.r_offset % 8 || pc >= n)
				return eerr(err, errlen, -EINVAL, "%s: section %s: relocation outside the code", path,
					    name);
			struct ebpf_insn *in = &insns[pc];
			if (in->opcode == 0x85 && in->src == EBPF_CALL_LOCAL && sym.st_shndx == idx) {
				/* libbpf's rule: target = symbol offset / 8 + imm + 1 */
				long long target = (long long)(sym.st_value / 8) + in->imm + 1;
				if (target < 0 || target >= (long long)n)
					return eerr(err, errlen, -EINVAL,
						    "%s: section %s: call at instruction %zu to '%s' outside the section",
						    path, name, pc, sname);
				in->imm = (ebpf_s32)(target - (long long)pc - 1);
				continue;
			}
			return eerr(err, errlen, -EINVAL,
				    "%s: section %s: relocation at instruction %zu against '%s' (%s) is not supported: "
				    "only bpf-to-bpf calls within one section are",
				    path, name, pc, sname,
				    in->opcode == 0x18 ? "map or global data" :
				    in->opcode == 0x85 ? "call into another section" : "data reference");
		}
	}
	return 0;
}

/* Does the file end before its section header table or a section's bytes?
 * libelf reads such a file without complaint and just finds fewer sections. */
static bool truncated(Elf *elf, const GElf_Ehdr *eh, unsigned long long size, char *err, size_t errlen,
		      const char *path)
{
	unsigned long long end = eh->e_shoff + (unsigned long long)eh->e_shnum * eh->e_shentsize;
	if (eh->e_shoff && end > size) {
		eerr(err, errlen, 0, "%s: truncated ELF (%llu bytes; its section headers end at byte %llu)", path,
		     size, end);
		return true;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset + sh.sh_size > size) {
			eerr(err, errlen, 0, "%s: truncated ELF (%llu bytes; section %zu ends at byte %llu)", path, size,
			     elf_ndxscn(scn), (unsigned long long)(sh.sh_offset + sh.sh_size));
			return true;
		}
	}
	return false;
}

int bd_case_load_elf(const char *path, const char *section, struct bd_case **cases, size_t *ncases, char *err,
		     size_t errlen)
{
	*cases = NULL;
	*ncases = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return eerr(err, errlen, -EINVAL, "%s: libelf: %s", path, elf_errmsg(-1));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return eerr(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	int rc = 0;
	struct bd_case *out = NULL;
	size_t nout = 0;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	size_t strndx;
	struct stat st;
	if (fstat(fd, &st))
		st.st_size = 0;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		if (bd_is_elf(path) && (size_t)st.st_size < sizeof(Elf64_Ehdr))
			rc = eerr(err, errlen, -EINVAL, "%s: truncated ELF (%llu bytes, shorter than an ELF header)",
				  path, (unsigned long long)st.st_size);
		else
			rc = eerr(err, errlen, -EINVAL, "%s: not an ELF object", path);
		goto done;
	}
	if (eh.e_machine != EM_BPF) {
		rc = eerr(err, errlen, -EINVAL, "%s: not a BPF object (e_machine %d)", path, eh.e_machine);
		goto done;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		rc = eerr(err, errlen, -EINVAL, "%s: big-endian BPF objects are not supported", path);
		goto done;
	}
	if (truncated(elf, &eh, (unsigned long long)st.st_size, err, errlen, path)) {
		rc = -EINVAL;
		goto done;
	}
	if (elf_getshdrstrndx(elf, &strndx)) {
		rc = eerr(err, errlen, -EINVAL, "%s: no section name table", path);
		goto done;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) ||
		    !sh.sh_size)
			continue;
		const char *raw_name = elf_strptr(elf, strndx, sh.sh_name);
		if (!raw_name)
			raw_name = "?";
		if (section && strcmp(section, raw_name))
			continue;
		/* Names are printed: control characters in them are escaped. */
		char name[256];
		bd_escape_ctl(name, sizeof(name), raw_name);
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size % 8) {
			rc = eerr(err, errlen, -EINVAL, "%s: section %s: size %zu is not a multiple of 8", path, name,
				  d ? d->d_size : 0);
			goto done;
		}
		size_t n = d->d_size / 8;
		struct ebpf_insn *insns = malloc(d->d_size);
		struct bd_case *grown = realloc(out, (nout + 1) * sizeof(*out));
		if (!insns || !grown) {
			free(insns);
			if (grown)
				out = grown;
			rc = eerr(err, errlen, -ENOMEM, "%s: out of memory", path);
			goto done;
		}
		out = grown;
		memcpy(insns, d->d_buf, d->d_size);
		struct bd_case *c = &out[nout++];
		memset(c, 0, sizeof(*c));
		c->insns = insns;
		c->ninsns = n;
		c->path = strdup(path);
		c->section = strdup(name);
		if (!c->path || !c->section) {
			rc = eerr(err, errlen, -ENOMEM, "%s: out of memory", path);
			goto done;
		}
		rc = relocate(elf, path, name, elf_ndxscn(scn), insns, n, strndx, err, errlen);
		if (rc)
			goto done;
	}
	if (!nout) {
		char shown[256];
		bd_escape_ctl(shown, sizeof(shown), section ? section : "");
		rc = section ? eerr(err, errlen, -EINVAL, "%s: no executable section '%s'", path, shown)
			     : eerr(err, errlen, -EINVAL, "%s: no executable sections", path);
	}
done:
	if (elf)
		elf_end(elf);
	close(fd);
	if (rc) {
		for (size_t i = 0; i < nout; i++)
			bd_case_free(&out[i]);
		free(out);
		return rc;
	}
	*cases = out;
	*ncases = nout;
	return 0;
}
