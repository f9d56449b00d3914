/* SPDX-License-Identifier: MIT */
/*
 * Cases from BPF ELF objects (clang -target bpf): every program libbpf finds
 * in the object is a case named OBJECT:PROGRAM.
 *
 * libbpf opens the object (no kernel, no privilege) and says what its maps
 * are: BTF-defined `.maps`, and the global data of .data, .bss and .rodata
 * as one-element arrays with their initial contents. The instructions are
 * relocated here, as libbpf would relocate them for a load, with libelf's
 * view of the sections, symbols and relocations:
 *   - a call or a function address (lddw src 4 for bpf_loop's callback) to
 *     another function appends that function's code after the program, once
 *     (static functions resolve by symbol, in their own section or in .text);
 *   - lddw of a `.maps` symbol is lddw_map_fd of that map;
 *   - lddw of global data is lddw_map_value of its section's map, at the
 *     variable's offset;
 *   - a prog_array initialised in `.maps` (`.values = { [0] = &prog }`) gets
 *     the programs its slots name; those programs come along as the case's
 *     tail-call targets.
 * Anything else (kfuncs, externs, CO-RE field relocations, map types other
 * than array, hash and prog_array) is refused with a message naming the
 * program. An object libbpf will not open (it refuses a static function in a
 * program's own section, which clang allows) is read without it: its
 * programs are then the global functions of its executable sections other
 * than .text, and it can have no maps.
 */
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
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "elf.h"
#include "escape.h"

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

/* A name from the object, as it may be printed: control characters escaped. */
static char *esc_dup(const char *name)
{
	char buf[256];
	bd_escape_ctl(buf, sizeof(buf), name);
	return strdup(buf);
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

/* --- the object as libelf sees it ---------------------------------------- */

struct section {
	const char *name;
	GElf_Shdr sh;
	Elf_Data *data;
	GElf_Rel *rel; /* the relocations that apply to it */
	size_t nrel;
};

struct object {
	const char *path;
	Elf *elf;
	struct section *sec;
	size_t nsec;
	Elf_Data *syms;
	size_t strtab;   /* section index of the symbol names */
	size_t nsyms;
	size_t maps_sec; /* `.maps`, 0 if none */
	/* the case's maps, in libbpf's order, and which ELF section each stands for */
	struct bd_map *maps;
	size_t *map_sec; /* data section of an internal map, 0 for a `.maps` map */
	int nmaps;
	struct bpf_object *bpf;
	int bpf_errno;   /* why libbpf would not open it, when it would not */
	char *err;
	size_t errlen;
};

static bool symbol(const struct object *o, size_t i, GElf_Sym *s, const char **name)
{
	if (!gelf_getsym(o->syms, (int)i, s))
		return false;
	*name = elf_strptr(o->elf, o->strtab, s->st_name);
	if (!*name)
		*name = "?";
	if (GELF_ST_TYPE(s->st_info) == STT_SECTION && s->st_shndx < o->nsec)
		*name = o->sec[s->st_shndx].name;
	return true;
}

/* The function symbol of section sec that contains byte offset off. */
static bool function_at(const struct object *o, size_t sec, size_t off, GElf_Sym *fn, const char **name)
{
	for (size_t i = 0; i < o->nsyms; i++) {
		GElf_Sym s;
		const char *n;
		if (symbol(o, i, &s, &n) && GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_shndx == sec &&
		    off >= s.st_value && off < s.st_value + s.st_size) {
			*fn = s;
			*name = n;
			return true;
		}
	}
	return false;
}

static const GElf_Rel *reloc_at(const struct section *s, size_t off)
{
	for (size_t i = 0; i < s->nrel; i++)
		if (s->rel[i].r_offset == off)
			return &s->rel[i];
	return NULL;
}

static int load_sections(struct object *o)
{
	size_t n, strndx;
	if (elf_getshdrnum(o->elf, &n) || elf_getshdrstrndx(o->elf, &strndx))
		return eerr(o->err, o->errlen, -EINVAL, "%s: no section table", o->path);
	o->sec = calloc(n, sizeof(*o->sec));
	if (!o->sec)
		return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
	o->nsec = n;
	for (size_t i = 1; i < n; i++) {
		Elf_Scn *scn = elf_getscn(o->elf, i);
		struct section *s = &o->sec[i];
		if (!scn || !gelf_getshdr(scn, &s->sh))
			return eerr(o->err, o->errlen, -EINVAL, "%s: unreadable section %zu", o->path, i);
		s->name = elf_strptr(o->elf, strndx, s->sh.sh_name);
		if (!s->name)
			s->name = "?";
		s->data = elf_getdata(scn, NULL);
		if (s->sh.sh_type == SHT_SYMTAB) {
			o->syms = s->data;
			o->strtab = s->sh.sh_link;
			o->nsyms = s->sh.sh_entsize ? s->sh.sh_size / s->sh.sh_entsize : 0;
		}
		if (!strcmp(s->name, ".maps"))
			o->maps_sec = i;
	}
	for (size_t i = 1; i < n; i++) {
		struct section *r = &o->sec[i];
		if ((r->sh.sh_type != SHT_REL && r->sh.sh_type != SHT_RELA) || r->sh.sh_info >= n || !r->sh.sh_entsize)
			continue;
		struct section *t = &o->sec[r->sh.sh_info];
		size_t nr = r->sh.sh_size / r->sh.sh_entsize;
		t->rel = calloc(nr ? nr : 1, sizeof(*t->rel));
		if (!t->rel)
			return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
		for (size_t k = 0; k < nr; k++) {
			GElf_Rela ra;
			if (r->sh.sh_type == SHT_REL ? !gelf_getrel(r->data, (int)k, &t->rel[k])
						     : !gelf_getrela(r->data, (int)k, &ra))
				return eerr(o->err, o->errlen, -EINVAL, "%s: section %s: bad relocation", o->path, r->name);
			if (r->sh.sh_type == SHT_RELA) {
				t->rel[k].r_offset = ra.r_offset;
				t->rel[k].r_info = ra.r_info;
			}
		}
		t->nrel = nr;
	}
	if (!o->syms)
		return eerr(o->err, o->errlen, -EINVAL, "%s: no symbol table", o->path);
	return 0;
}

/* --- maps, as libbpf sees them ------------------------------------------- */

/* The ELF section an internal map stands for: libbpf names it after the
 * section (".data.custom"), or prefixes the object's name to its first 7
 * characters ("prog.rodata"). */
static size_t data_section(const struct object *o, const char *map_name)
{
	size_t ml = strlen(map_name);
	for (size_t i = 1; i < o->nsec; i++) {
		const struct section *s = &o->sec[i];
		if (s->name[0] != '.' || (s->sh.sh_flags & SHF_EXECINSTR) || !(s->sh.sh_flags & SHF_ALLOC))
			continue;
		if (!strcmp(map_name, s->name))
			return i;
		size_t n = strnlen(s->name, 7);
		if (ml >= n && !strncmp(map_name + ml - n, s->name, n) && strlen(s->name) <= 7)
			return i;
	}
	return 0;
}

static int load_maps(struct object *o)
{
	struct bpf_map *m;
	int n = 0;
	bpf_object__for_each_map(m, o->bpf)
		n++;
	if (n > BD_MAX_MAPS)
		return eerr(o->err, o->errlen, -EINVAL, "%s: %d maps (at most %d)", o->path, n, BD_MAX_MAPS);
	o->maps = calloc(n ? (size_t)n : 1, sizeof(*o->maps));
	o->map_sec = calloc(n ? (size_t)n : 1, sizeof(*o->map_sec));
	if (!o->maps || !o->map_sec)
		return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
	bpf_object__for_each_map(m, o->bpf) {
		struct bd_map *d = &o->maps[o->nmaps];
		const char *name = bpf_map__name(m);
		uint32_t type = bpf_map__type(m);
		if (type != BPF_MAP_TYPE_ARRAY && type != BPF_MAP_TYPE_HASH && type != BPF_MAP_TYPE_PROG_ARRAY)
			return eerr(o->err, o->errlen, -EINVAL,
				    "%s: map %s: type %u is not supported (array, hash, prog_array)", o->path, name, type);
		*d = (struct bd_map){ .type = type, .key_size = bpf_map__key_size(m),
				      .value_size = bpf_map__value_size(m), .max_entries = bpf_map__max_entries(m),
				      .flags = bpf_map__map_flags(m) };
		if (bpf_map__is_internal(m)) {
			size_t sec = data_section(o, name);
			if (!sec)
				return eerr(o->err, o->errlen, -EINVAL, "%s: map %s: no data section for it", o->path, name);
			o->map_sec[o->nmaps] = sec;
			name = o->sec[sec].name;
			/* libbpf freezes .rodata after filling it: loads from it are constants. */
			d->freeze = d->flags & BPF_F_RDONLY_PROG;
			size_t size = 0;
			const uint8_t *init = bpf_map__initial_value(m, &size);
			uint32_t zero = 0;
			if (init && size == d->value_size && bd_map_contents_put(d, &d->init, (const uint8_t *)&zero, init))
				return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
		}
		bd_escape_ctl(d->name, sizeof(d->name), name);
		o->nmaps++;
	}
	return 0;
}

/* --- programs ----------------------------------------------------------- */

struct func {
	size_t sec, off, n; /* section, byte offset, insns */
	size_t at;          /* its first insn in the program being built */
};

struct build {
	struct ebpf_insn *insns;
	size_t n, cap;
	struct func *f;
	size_t nf, capf;
};

static int append_func(struct object *o, struct build *b, size_t sec, size_t off, size_t size, size_t *at)
{
	for (size_t i = 0; i < b->nf; i++)
		if (b->f[i].sec == sec && b->f[i].off == off) {
			*at = b->f[i].at;
			return 0;
		}
	size_t n = size / 8;
	const struct section *s = &o->sec[sec];
	if (!s->data || off + size > s->data->d_size || size % 8)
		return -EINVAL;
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2;
		struct ebpf_insn *ni = realloc(b->insns, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		b->insns = ni;
		b->cap = cap;
	}
	if (b->nf == b->capf) {
		size_t cap = b->capf ? 2 * b->capf : 8;
		struct func *nf = realloc(b->f, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		b->f = nf;
		b->capf = cap;
	}
	memcpy(b->insns + b->n, (const uint8_t *)s->data->d_buf + off, size);
	b->f[b->nf++] = (struct func){ sec, off, n, b->n };
	*at = b->n;
	b->n += n;
	return 0;
}

static int map_of_symbol(const struct object *o, const char *name)
{
	for (int i = 0; i < o->nmaps; i++)
		if (!o->map_sec[i] && !strcmp(o->maps[i].name, name))
			return i;
	return -1;
}

static int map_of_section(const struct object *o, size_t sec)
{
	for (int i = 0; i < o->nmaps; i++)
		if (o->map_sec[i] == sec)
			return i;
	return -1;
}

/* Relocate function k of b (appending the functions it reaches); msg names
 * what cannot be done. */
static int relocate_func(struct object *o, struct build *b, size_t k, const char *prog)
{
	struct func f = b->f[k];
	const struct section *s = &o->sec[f.sec];
	for (size_t i = 0; i < f.n; i++) {
		struct ebpf_insn *in = &b->insns[f.at + i];
		size_t off = f.off + 8 * i;
		const GElf_Rel *r = reloc_at(s, off);
		GElf_Sym sym = { 0 };
		const char *sname = "?";
		if (r && !symbol(o, GELF_R_SYM(r->r_info), &sym, &sname))
			return eerr(o->err, o->errlen, -EINVAL, "%s: program %s: bad relocation", o->path, prog);
		bool lddw = in->opcode == 0x18;
		bool call = in->opcode == 0x85 && in->src == EBPF_CALL_LOCAL;
		bool code_ref = r && sym.st_shndx < o->nsec && (o->sec[sym.st_shndx].sh.sh_flags & SHF_EXECINSTR);
		if (call || (lddw && code_ref)) {
			/* libbpf's rule: a call's target is symbol / 8 + imm + 1 insns into
			 * the symbol's section; a function address is symbol + imm bytes. */
			size_t tsec = r ? sym.st_shndx : f.sec;
			long long toff = call ? (long long)(r ? sym.st_value : off) + 8 * ((long long)in->imm + 1)
					      : (long long)sym.st_value + in->imm;
			GElf_Sym fn;
			const char *fname;
			if (toff < 0 || !function_at(o, tsec, (size_t)toff, &fn, &fname))
				return eerr(o->err, o->errlen, -EINVAL,
					    "%s: program %s: insn %zu refers to code at %s+%lld, which no function holds",
					    o->path, prog, f.at + i, o->sec[tsec].name, toff);
			size_t at;
			int rc = append_func(o, b, tsec, fn.st_value, fn.st_size, &at);
			if (rc)
				return eerr(o->err, o->errlen, rc, "%s: program %s: function %s: %s", o->path, prog, fname,
					    strerror(-rc));
			in = &b->insns[f.at + i]; /* append_func may have moved them */
			long long target = (long long)at + ((long long)toff - (long long)fn.st_value) / 8;
			in->imm = (ebpf_s32)(target - (long long)(f.at + i) - 1);
			if (lddw) {
				in->src = 4; /* BPF_PSEUDO_FUNC */
				in[1].imm = 0;
				i++;
			}
			continue;
		}
		if (!r) {
			if (lddw)
				i++;
			continue;
		}
		if (!lddw || i + 1 >= f.n)
			return eerr(o->err, o->errlen, -EINVAL,
				    "%s: program %s: relocation at insn %zu against '%s' is not supported (%s)", o->path,
				    prog, f.at + i, sname,
				    sym.st_shndx == SHN_UNDEF ? "an extern or kfunc" : "not a map, global data or call");
		int m = sym.st_shndx == o->maps_sec && o->maps_sec ? map_of_symbol(o, sname) : -1;
		if (m >= 0) {
			in->src = 1; /* BPF_PSEUDO_MAP_FD: the map, by its index here */
			in->imm = m;
			in[1].imm = 0;
		} else if ((m = sym.st_shndx < o->nsec ? map_of_section(o, sym.st_shndx) : -1) >= 0) {
			/* global data: the value of its section's map, at the variable */
			in[1].imm = (ebpf_s32)(in->imm + (long long)sym.st_value);
			in->src = 2; /* BPF_PSEUDO_MAP_VALUE */
			in->imm = m;
		} else {
			return eerr(o->err, o->errlen, -EINVAL,
				    "%s: program %s: lddw at insn %zu against '%s' (section %s) is not supported%s%s%s",
				    o->path, prog, f.at + i, sname, sym.st_shndx < o->nsec ? o->sec[sym.st_shndx].name : "?",
				    o->bpf ? "" : " (libbpf would not open the object: ",
				    o->bpf ? "" : strerror(o->bpf_errno), o->bpf ? "" : "; without it there are no maps)");
		}
		i++;
	}
	return 0;
}

/* The program's code with every function it reaches, relocated. */
static int build_prog(struct object *o, const char *name, size_t sec, const GElf_Sym *fn, struct ebpf_insn **insns,
		      size_t *n)
{
	struct build b = { 0 };
	size_t at;
	int rc = append_func(o, &b, sec, fn->st_value, fn->st_size, &at);
	if (rc)
		rc = eerr(o->err, o->errlen, rc, "%s: program %s: unreadable code", o->path, name);
	for (size_t k = 0; !rc && k < b.nf; k++)
		rc = relocate_func(o, &b, k, name);
	free(b.f);
	if (rc) {
		free(b.insns);
		return rc;
	}
	*insns = b.insns;
	*n = b.n;
	return 0;
}

/* Every entry program (libbpf's list) with its symbol. */
struct prog {
	const char *name, *sec_name;
	size_t sec;
	GElf_Sym sym;
};

/* Without libbpf: the global functions of executable sections but .text. */
static int find_progs_elf(struct object *o, struct prog **out, size_t *nout)
{
	struct prog *ps = calloc(o->nsyms ? o->nsyms : 1, sizeof(*ps));
	size_t n = 0;
	if (!ps)
		return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
	for (size_t i = 0; i < o->nsyms; i++) {
		struct prog *x = &ps[n];
		if (!symbol(o, i, &x->sym, &x->name) || GELF_ST_TYPE(x->sym.st_info) != STT_FUNC ||
		    GELF_ST_BIND(x->sym.st_info) != STB_GLOBAL || x->sym.st_shndx >= o->nsec ||
		    !(o->sec[x->sym.st_shndx].sh.sh_flags & SHF_EXECINSTR) || !strcmp(o->sec[x->sym.st_shndx].name, ".text"))
			continue;
		x->sec = x->sym.st_shndx;
		x->sec_name = o->sec[x->sec].name;
		n++;
	}
	*out = ps;
	*nout = n;
	return 0;
}

static int find_progs(struct object *o, struct prog **out, size_t *nout)
{
	struct bpf_program *p;
	size_t n = 0;
	if (!o->bpf)
		return find_progs_elf(o, out, nout);
	bpf_object__for_each_program(p, o->bpf)
		n++;
	struct prog *ps = calloc(n ? n : 1, sizeof(*ps));
	if (!ps)
		return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
	n = 0;
	bpf_object__for_each_program(p, o->bpf) {
		struct prog *x = &ps[n];
		x->name = bpf_program__name(p);
		x->sec_name = bpf_program__section_name(p);
		bool found = false;
		for (size_t i = 0; i < o->nsyms && !found; i++) {
			const char *sn;
			if (symbol(o, i, &x->sym, &sn) && GELF_ST_TYPE(x->sym.st_info) == STT_FUNC &&
			    x->sym.st_shndx < o->nsec && !strcmp(sn, x->name) &&
			    !strcmp(o->sec[x->sym.st_shndx].name, x->sec_name)) {
				x->sec = x->sym.st_shndx;
				found = true;
			}
		}
		if (!found) {
			free(ps);
			return eerr(o->err, o->errlen, -EINVAL, "%s: program %s: no symbol for it", o->path, x->name);
		}
		n++;
	}
	*out = ps;
	*nout = n;
	return 0;
}

/* prog_array slots initialised in `.maps`: (map, slot) -> program, through the
 * BTF offset of the map definition's `values` member. */
struct slot {
	int map;
	uint32_t idx;
	size_t prog;
};

static int prog_array_slots(struct object *o, const struct prog *ps, size_t nps, struct slot **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!o->maps_sec || !o->sec[o->maps_sec].nrel)
		return 0;
	const struct section *ms = &o->sec[o->maps_sec];
	struct btf *btf = o->bpf ? bpf_object__btf(o->bpf) : NULL;
	struct slot *sl = calloc(ms->nrel, sizeof(*sl));
	if (!sl)
		return eerr(o->err, o->errlen, -ENOMEM, "%s: out of memory", o->path);
	size_t n = 0;
	for (size_t i = 0; i < ms->nrel; i++) {
		const GElf_Rel *r = &ms->rel[i];
		GElf_Sym target, msym;
		const char *tname, *mname = NULL;
		if (!symbol(o, GELF_R_SYM(r->r_info), &target, &tname))
			continue;
		int m = -1;
		for (size_t k = 0; k < o->nsyms && m < 0; k++)
			if (symbol(o, k, &msym, &mname) && msym.st_shndx == o->maps_sec &&
			    GELF_ST_TYPE(msym.st_info) == STT_OBJECT && r->r_offset >= msym.st_value &&
			    r->r_offset < msym.st_value + msym.st_size)
				m = map_of_symbol(o, mname);
		if (m < 0 || o->maps[m].type != BPF_MAP_TYPE_PROG_ARRAY || !btf) {
			free(sl);
			return eerr(o->err, o->errlen, -EINVAL, "%s: a relocation in .maps at %#llx is not a prog_array slot",
				    o->path, (unsigned long long)r->r_offset);
		}
		long values = -1;
		int id = btf__find_by_name_kind(btf, mname, BTF_KIND_VAR);
		const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
		t = t ? btf__type_by_id(btf, t->type) : NULL;
		for (int k = 0; t && btf_is_struct(t) && k < btf_vlen(t); k++)
			if (!strcmp(btf__name_by_offset(btf, btf_members(t)[k].name_off), "values"))
				values = btf_member_bit_offset(t, (__u32)k) / 8;
		size_t p;
		for (p = 0; p < nps; p++)
			if (!strcmp(ps[p].name, tname))
				break;
		if (values < 0 || p == nps) {
			free(sl);
			return eerr(o->err, o->errlen, -EINVAL, "%s: map %s: slot relocation against '%s' (no values "
				    "member or no such program)", o->path, mname, tname);
		}
		sl[n++] = (struct slot){ m, (uint32_t)((r->r_offset - msym.st_value - (size_t)values) / 8), p };
	}
	*out = sl;
	*nout = n;
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* The case of program p: its code, every map of the object (copies), the
 * programs the prog_arrays name as further programs, the prog_arrays' slots
 * as program indexes of this case. */
static int make_case(struct object *o, const struct prog *ps, size_t nps, size_t p, const struct slot *sl,
		     size_t nsl, struct bd_case *c)
{
	int rc = build_prog(o, ps[p].name, ps[p].sec, &ps[p].sym, &c->insns, &c->ninsns);
	if (rc)
		return rc;
	c->path = strdup(o->path);
	c->section = esc_dup(ps[p].name);
	c->prog_name = esc_dup(ps[p].name);
	c->elf_section = esc_dup(ps[p].sec_name);
	if (!c->path || !c->section || !c->prog_name || !c->elf_section)
		return -ENOMEM;
	/* Program index in this case: 0 is p itself, then the others the slots name. */
	size_t *index = calloc(nps, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (size_t k = 0; k < nsl; k++) {
		size_t q = sl[k].prog;
		if (q == p || index[q])
			continue;
		struct bd_prog *np = realloc(c->progs, (size_t)(c->nprogs + 1) * sizeof(*np));
		if (!np) {
			free(index);
			return -ENOMEM;
		}
		c->progs = np;
		struct bd_prog *x = &c->progs[c->nprogs];
		memset(x, 0, sizeof(*x));
		if ((rc = build_prog(o, ps[q].name, ps[q].sec, &ps[q].sym, &x->insns, &x->ninsns)) ||
		    !(x->name = esc_dup(ps[q].name))) {
			free(x->insns);
			free(index);
			return rc ? rc : -ENOMEM;
		}
		index[q] = (size_t)++c->nprogs;
	}
	if (o->nmaps) {
		c->maps = calloc((size_t)o->nmaps, sizeof(*c->maps));
		if (!c->maps) {
			free(index);
			return -ENOMEM;
		}
		for (; c->nmaps < o->nmaps; c->nmaps++)
			if (bd_map_copy(&c->maps[c->nmaps], &o->maps[c->nmaps])) {
				free(index);
				return -ENOMEM;
			}
	}
	for (size_t k = 0; k < nsl; k++) {
		uint32_t prog = (uint32_t)index[sl[k].prog];
		struct bd_map *m = &c->maps[sl[k].map];
		if (sl[k].idx < m->max_entries && bd_map_contents_put(m, &m->init, (const uint8_t *)&sl[k].idx,
								      (const uint8_t *)&prog) == -ENOMEM) {
			free(index);
			return -ENOMEM;
		}
	}
	free(index);
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

int bd_case_load_elf(const char *path, const char *filter, struct bd_case **cases, size_t *ncases, char *err,
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
	struct object o = { .path = path, .err = err, .errlen = errlen };
	struct prog *ps = NULL;
	struct slot *sl = NULL;
	size_t nps = 0, nsl = 0, nout = 0;
	struct bd_case *out = NULL;
	int rc = 0;
	GElf_Ehdr eh;
	o.elf = elf_begin(fd, ELF_C_READ, NULL);
	struct stat st;
	if (fstat(fd, &st))
		st.st_size = 0;
	if (!o.elf || elf_kind(o.elf) != ELF_K_ELF || !gelf_getehdr(o.elf, &eh)) {
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
	if (truncated(o.elf, &eh, (unsigned long long)st.st_size, err, errlen, path)) {
		rc = -EINVAL;
		goto done;
	}
	if ((rc = load_sections(&o)))
		goto done;
	libbpf_print_fn_t old = libbpf_set_print(silent_print);
	o.bpf = bpf_object__open_file(path, NULL);
	int oe = errno;
	libbpf_set_print(old);
	o.bpf_errno = oe;
	if ((o.bpf && (rc = load_maps(&o))) || (rc = find_progs(&o, &ps, &nps)) || (rc = prog_array_slots(&o, ps, nps, &sl, &nsl)))
		goto done;
	out = calloc(nps ? nps : 1, sizeof(*out));
	if (!out) {
		rc = eerr(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto done;
	}
	for (size_t p = 0; p < nps; p++) {
		if (filter && strcmp(filter, ps[p].name) && strcmp(filter, ps[p].sec_name))
			continue;
		rc = make_case(&o, ps, nps, p, sl, nsl, &out[nout++]);
		if (rc == -ENOMEM)
			eerr(err, errlen, rc, "%s: out of memory", path);
		if (rc)
			goto done;
	}
	if (!nout)
		rc = filter ? eerr(err, errlen, -EINVAL, "%s: no program or section '%s'", path, filter)
			    : eerr(err, errlen, -EINVAL, "%s: no programs", path);
done:
	for (int i = 0; i < o.nmaps; i++)
		bd_map_free(&o.maps[i]);
	free(o.maps);
	free(o.map_sec);
	for (size_t i = 0; i < o.nsec; i++)
		free(o.sec[i].rel);
	free(o.sec);
	free(ps);
	free(sl);
	bpf_object__close(o.bpf);
	if (o.elf)
		elf_end(o.elf);
	close(fd);
	if (rc) {
		/* Names from the object in the message: control characters escaped. */
		bd_escape_ctl_inplace(err, errlen);
		for (size_t i = 0; i < nout; i++)
			bd_case_free(&out[i]);
		free(out);
		return rc;
	}
	*cases = out;
	*ncases = nout;
	return 0;
}
