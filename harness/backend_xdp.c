/* SPDX-License-Identifier: MIT */
/*
 * The xdp backend: the eBPF-on-eBPF VM (vm/xdp/xdpvm.bpf.c), loaded once per
 * process through its libbpf skeleton. A case is validated (uvm_load),
 * pre-decoded (vm/isa.c), written with its memory and registers into the VM's .bss
 * through the skeleton's mmap, and run with BPF_PROG_TEST_RUN: one syscall
 * per case, no reload.
 *
 * Across processes (`bpfdiff plugin`, one case per process; BPFDIFF_XDP_PIN=1
 * elsewhere) loading costs ~100 ms of verification, so the loaded VM is
 * pinned in bpffs, /sys/fs/bpf/bpfdiff/xdpvm-<build id>/{prog,bss,arrays,hashes}, and the
 * next process of the same build takes the program and maps the .bss instead
 * of loading (the build id hashes the BPF object; the VM records it in
 * xvm_build_id, so a foreign or half-made pin at that path is replaced; pins
 * of other builds older than an hour are removed). The guest state is global
 * data: one pinned VM has one guest. Two processes sharing it must not write
 * cases into it at the same time, so a pinned VM is used under an exclusive
 * flock (/run/bpfdiff-xdpvm-<build id>.lock) from writing a case to reading its
 * result, and pinning itself happens under the same lock.
 *
 * Load-time outcomes come from uvm_load itself (the uvm's validator, run on
 * every case: same rules, same messages, same statuses as backend_uvm.c):
 * malformed -> `rejected`, valid but unmodelled (helper/kfunc call, pseudo
 * lddw) -> `unsupported`. Run-time messages are written in the uvm's words:
 *   fault       "pc N: read of 8 bytes at 0x... out of bounds", "pc N: call depth exceeds 8"
 *   timeout     "pc N: instruction budget of B exhausted"
 *   unsupported "pc N: helper call through r1 (helper 5) is not modelled" (callx)
 * The xdp VM's own limits: 65535 instructions, 1 MiB - 4 KiB of memory,
 * keys of 64 and values of 256 bytes, 64 hash elements looked up per run,
 * 1024 prog_array slots, 16 values per environment helper (beyond:
 * `unsupported`).
 *
 * Maps: each array or hash map of the case becomes a real kernel map, an
 * inner map of the VM's xvm_arrays / xvm_hashes (ARRAY_OF_MAPS, pinned with
 * the VM), created and filled per case and read back after the run, so that
 * the guest's map helpers are the kernel's (see the VM's header comment).
 * prog_arrays live in the VM's .bss (xvm_tail): a tail call is the VM's
 * control flow.
 * There is no verifier in front of the guest: what the kernel rejects
 * (immediate shifts >= width, division by an immediate 0) runs here with the
 * RFC 9669 meaning.
 *
 * Budget: opts->budget, 0 = UVM_DEFAULT_BUDGET (so timeouts agree with the
 * uvm). It is honoured exactly: the VM runs at most XDP_RUN_STEPS guest
 * instructions per test_run (well under a second even for a program of
 * divisions, far from the 20 s soft-lockup watchdog) and a longer run is
 * continued by further test_runs from the state left in .bss. On timeout R0
 * and memory are exactly those after B instructions (the uvm may have run
 * a little further: its docs allow one straight-line run past the budget).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "env.h"
#include "helpers.h"
#include "vm/isa.h"
#include "vm/semantics.h"
#include "vm/uvm.h"
#include "vm/xdp/xdpvm.h"
#include "xdpvm.skel.h"

#define XDP_MAX_INSNS XVM_MAX_INSNS
#define XDP_STACK_REGION XVM_STACK_REGION
#define XDP_ARENA_SPAN XVM_ARENA_SPAN
#define XDP_MEM_MAX (XDP_ARENA_SPAN - XDP_STACK_REGION)
#define XDP_RUN_STEPS ((unsigned long long)XVM_OUTER_STEPS * XVM_INNER_STEPS)
#define XDP_OP_END XVM_OP_END
#define XDP_OP_R10 XVM_OP_R10
#define XDP_MAX_BUDGET (1ull << 44) /* the uvm's cap */

_Static_assert(sizeof(((struct xdpvm__bss *)0)->xvm_prog) == (2 * XDP_MAX_INSNS + 2) * 8, "xvm_prog");
_Static_assert(sizeof(((struct xdpvm__bss *)0)->xvm_arena) == XDP_ARENA_SPAN + 8, "xvm_arena");
_Static_assert(sizeof(((struct xdpvm__bss *)0)->xvm_frames) ==
		       EBPF_MAX_CALL_DEPTH * XVM_FRAME_WORDS * 8, "xvm_frames");
_Static_assert(sizeof(((struct xdpvm__bss *)0)->xvm_helper_of) == EBPF_HELPER_NUMBERS, "xvm_helper_of");
_Static_assert(FORM_COUNT < XDP_OP_R10, "form index must fit below XDP_OP_R10");

#define XDP_PIN_ROOT "/sys/fs/bpf"
#define XDP_PIN_PARENT XDP_PIN_ROOT "/bpfdiff"
#define XDP_PIN_STALE_S 3600 /* pins of other builds older than this are removed */

struct bd_backend {
	struct xdpvm *skel;     /* NULL when the VM came from a pin */
	struct xdpvm__bss *bss; /* the VM's global data: the skeleton's mmap or ours of the pinned map */
	size_t bss_maplen;      /* our mmap's length, 0 when it is the skeleton's */
	int bss_fd;             /* the pinned .bss map, -1 when not from a pin */
	unsigned long long build_id;
	bool pin_wanted, pinned, reused;
	char pin_dir[96];
	char pin_note[160];     /* why the VM is not pinned, for `bpfdiff info` */
	int lock_fd;            /* held around every case when the VM is shared, -1 otherwise */
	int prog_fd;
	int arrays_fd, hashes_fd; /* the VM's maps of maps (their own fds when from a pin) */
	int cpu, isa;
	int platform;
	int inner_fd[XVM_MAX_MAPS]; /* this case's maps, as the VM's inner maps; -1 none */
	unsigned char helper_of[EBPF_HELPER_NUMBERS]; /* the platform's helper numbers -> EBPF_H_*, for callx */
	bool big_endian;        /* --endian big: the guest program sees big-endian memory */
	double load_ms;
	char vlog[4096];        /* verifier log at log_level BPF_LOG_STATS */
	struct bpf_prog_info info;
	unsigned long long cases, test_runs;
	unsigned char pkt[64];  /* XDP test_run needs a frame of >= 14 bytes */
	struct uvm *validator;  /* uvm_load: the uvm's load-time rules and messages, exactly */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* FNV-1a over the BPF object and the layout of its global data. */
static unsigned long long xdp_build_id(void)
{
	size_t n;
	const unsigned char *p = xdpvm__elf_bytes(&n);
	unsigned long long h = 0xcbf29ce484222325ULL ^ sizeof(struct xdpvm__bss);
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void xdp_lock(struct bd_backend *b, int op)
{
	if (b->lock_fd >= 0)
		while (flock(b->lock_fd, op) < 0 && errno == EINTR)
			;
}

/* bpffs at /sys/fs/bpf, mounted there if nothing is (as bpftool does for its pins). */
static bool bpffs_ready(char *note, size_t notelen)
{
	struct statfs st;
	if (!statfs(XDP_PIN_ROOT, &st) && st.f_type == BPF_FS_MAGIC)
		return true;
	if (mount("bpf", XDP_PIN_ROOT, "bpf", 0, NULL) == 0)
		return true;
	snprintf(note, notelen, "not pinned: no bpffs at " XDP_PIN_ROOT " and mounting one failed: %s",
		 strerror(errno));
	return false;
}

/* Remove one pin directory (its two objects, then itself). */
static void unpin_dir(const char *dir)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/prog", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bss", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/arrays", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/hashes", dir);
	unlink(path);
	rmdir(dir);
}

/* Pins of other builds, created more than XDP_PIN_STALE_S ago: left by an older bpfdiff. */
static void prune_stale_pins(const struct bd_backend *b)
{
	DIR *d = opendir(XDP_PIN_PARENT);
	if (!d)
		return;
	const char *mine = strrchr(b->pin_dir, '/') + 1;
	struct dirent *e;
	time_t now = time(NULL);
	while ((e = readdir(d))) {
		char path[160];
		struct stat st;
		if (strncmp(e->d_name, "xdpvm-", 6) || !strcmp(e->d_name, mine))
			continue;
		snprintf(path, sizeof(path), "%s/%s", XDP_PIN_PARENT, e->d_name);
		if (!stat(path, &st) && now - st.st_mtime > XDP_PIN_STALE_S)
			unpin_dir(path);
	}
	closedir(d);
}

/* The pinned VM of this build, if there is a sound one: 1 taken, 0 none. */
static int take_pinned(struct bd_backend *b)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/prog", b->pin_dir);
	int pfd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/bss", b->pin_dir);
	int mfd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/arrays", b->pin_dir);
	int afd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/hashes", b->pin_dir);
	int hfd = bpf_obj_get(path);
	struct bpf_prog_info pi = { 0 };
	struct bpf_map_info mi = { 0 };
	__u32 plen = sizeof(pi), mlen = sizeof(mi);
	void *m = MAP_FAILED;
	size_t maplen = (sizeof(struct xdpvm__bss) + 4095) & ~(size_t)4095;
	if (pfd < 0 || mfd < 0 || afd < 0 || hfd < 0 || bpf_obj_get_info_by_fd(pfd, &pi, &plen) ||
	    bpf_obj_get_info_by_fd(mfd, &mi, &mlen) || pi.type != BPF_PROG_TYPE_XDP || strcmp(pi.name, "xdpvm") ||
	    mi.type != BPF_MAP_TYPE_ARRAY || mi.value_size != sizeof(struct xdpvm__bss) || mi.max_entries != 1 ||
	    (m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) == MAP_FAILED ||
	    ((struct xdpvm__bss *)m)->xvm_build_id != b->build_id) {
		if (m != MAP_FAILED)
			munmap(m, maplen);
		if (pfd >= 0)
			close(pfd);
		if (mfd >= 0)
			close(mfd);
		if (afd >= 0)
			close(afd);
		if (hfd >= 0)
			close(hfd);
		return 0;
	}
	b->prog_fd = pfd;
	b->bss_fd = mfd;
	b->arrays_fd = afd;
	b->hashes_fd = hfd;
	b->bss = m;
	b->bss_maplen = maplen;
	b->info = pi;
	return 1;
}

/* Pin the VM this process loaded. A failure leaves it working, unpinned. */
static void pin_loaded(struct bd_backend *b)
{
	char path[160];
	b->bss->xvm_build_id = b->build_id;
	unpin_dir(b->pin_dir); /* a foreign or half-made pin of this name */
	if ((mkdir(XDP_PIN_PARENT, 0700) && errno != EEXIST) || (mkdir(b->pin_dir, 0700) && errno != EEXIST)) {
		snprintf(b->pin_note, sizeof(b->pin_note), "not pinned: mkdir %s: %s", b->pin_dir, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/prog", b->pin_dir);
	int err = bpf_obj_pin(b->prog_fd, path);
	snprintf(path, sizeof(path), "%s/bss", b->pin_dir);
	if (!err)
		err = bpf_obj_pin(bpf_map__fd(b->skel->maps.bss), path);
	if (!err) {
		snprintf(path, sizeof(path), "%s/arrays", b->pin_dir);
		err = bpf_obj_pin(b->arrays_fd, path);
	}
	if (!err) {
		snprintf(path, sizeof(path), "%s/hashes", b->pin_dir);
		err = bpf_obj_pin(b->hashes_fd, path);
	}
	if (err) {
		snprintf(b->pin_note, sizeof(b->pin_note), "not pinned: %s: %s", path, strerror(errno));
		unpin_dir(b->pin_dir);
		return;
	}
	b->pinned = true;
	prune_stale_pins(b);
}

static int load_vm(struct bd_backend *b, char *why, size_t whylen)
{
	int err;
	b->skel = xdpvm__open();
	if (!b->skel) {
		err = errno ? -errno : -ENOMEM;
		snprintf(why, whylen, "cannot open the xdp VM object: %s", strerror(-err));
		return err;
	}
	/* Level 4 (BPF_LOG_STATS) only: the full log would triple the load time. */
	bpf_program__set_log_level(b->skel->progs.xdpvm, 4);
	bpf_program__set_log_buf(b->skel->progs.xdpvm, b->vlog, sizeof(b->vlog));
	double t0 = now_ms();
	err = xdpvm__load(b->skel);
	b->load_ms = now_ms() - t0;
	if (err) {
		/* The reason last: an EPERM is a missing privilege. */
		snprintf(why, whylen, "cannot load the xdp VM: %s%s%.200s%s", strerror(-err),
			 b->vlog[0] ? "; verifier: " : "", b->vlog,
			 err == -EPERM ? " (needs root, or CAP_BPF+CAP_NET_ADMIN)" : "");
		return err;
	}
	b->prog_fd = bpf_program__fd(b->skel->progs.xdpvm);
	b->arrays_fd = bpf_map__fd(b->skel->maps.xvm_arrays);
	b->hashes_fd = bpf_map__fd(b->skel->maps.xvm_hashes);
	b->bss = b->skel->bss;
	__u32 len = sizeof(b->info);
	bpf_obj_get_info_by_fd(b->prog_fd, &b->info, &len);
	return 0;
}

static void drop_maps(struct bd_backend *b);

static void xdp_close(struct bd_backend *b)
{
	if (!b)
		return;
	if (b->bss)
		drop_maps(b);
	if (!b->skel && b->arrays_fd >= 0)
		close(b->arrays_fd);
	if (!b->skel && b->hashes_fd >= 0)
		close(b->hashes_fd);
	if (b->bss_maplen)
		munmap(b->bss, b->bss_maplen);
	if (b->bss_fd >= 0)
		close(b->bss_fd);
	if (!b->skel && b->prog_fd >= 0)
		close(b->prog_fd);
	if (b->lock_fd >= 0)
		close(b->lock_fd);
	xdpvm__destroy(b->skel);
	uvm_destroy(b->validator);
	free(b);
}

/* Whether to share a pinned VM: BPFDIFF_XDP_PIN=0/1, else what the command asks (plugin: yes). */
static bool pin_wanted(const struct bd_backend_config *cfg)
{
	const char *e = getenv("BPFDIFF_XDP_PIN");
	if (e && *e)
		return strcmp(e, "0") != 0;
	return cfg && cfg->share;
}

static int open_vm(struct bd_backend **out, const struct bd_backend_config *cfg, char *why, size_t whylen)
{
	struct bd_backend *b = calloc(1, sizeof(*b));
	int err = 0;

	if (!b) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	b->bss_fd = b->lock_fd = b->prog_fd = b->arrays_fd = b->hashes_fd = -1;
	b->cpu = cfg && cfg->cpu >= 1 && cfg->cpu <= 4 ? cfg->cpu : 4;
	b->isa = cfg ? cfg->isa : 0;
	b->platform = bd_platform_lookup(cfg && cfg->platform ? cfg->platform : "linux");
	for (int i = 0; i < XVM_MAX_MAPS; i++)
		b->inner_fd[i] = -1;
	for (unsigned h = 0; h < EBPF_HELPER_NUMBERS; h++)
		b->helper_of[h] = (unsigned char)ebpf_platform_helper(b->platform, h);
	b->big_endian = cfg && cfg->big_endian;
	b->validator = uvm_create(NULL);
	if (!b->validator) {
		snprintf(why, whylen, "out of memory");
		free(b);
		return -ENOMEM;
	}
	b->pin_wanted = pin_wanted(cfg);
	b->build_id = xdp_build_id();
	snprintf(b->pin_dir, sizeof(b->pin_dir), XDP_PIN_PARENT "/xdpvm-%016llx", b->build_id);
	if (b->pin_wanted && bpffs_ready(b->pin_note, sizeof(b->pin_note))) {
		char lock[96];
		snprintf(lock, sizeof(lock), "/run/bpfdiff-xdpvm-%016llx.lock", b->build_id);
		b->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (b->lock_fd < 0) {
			snprintf(b->pin_note, sizeof(b->pin_note), "not pinned: %s: %s", lock, strerror(errno));
		} else {
			xdp_lock(b, LOCK_EX);
			b->reused = take_pinned(b);
			if (!b->reused && !(err = load_vm(b, why, whylen)))
				pin_loaded(b);
			xdp_lock(b, LOCK_UN);
			if (!b->reused && !b->pinned) { /* a private VM needs no lock */
				close(b->lock_fd);
				b->lock_fd = -1;
			}
			if (!b->reused && err)
				goto fail;
			*out = b;
			return 0;
		}
	}
	if ((err = load_vm(b, why, whylen)))
		goto fail;
	*out = b;
	return 0;
fail:
	xdp_close(b);
	return err ? err : -EINVAL;
}

/* libbpf's own messages go through bpfdiff's: printed as "bpfdiff: xdp:
 * libbpf: ..." with -v, otherwise left out (why an open failed is in `why`). */
static bool libbpf_verbose;
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!libbpf_verbose || level == LIBBPF_DEBUG)
		return 0;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	fprintf(stderr, "bpfdiff: xdp: %s\n", msg);
	return 0;
}

static int xdp_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why,
		    size_t whylen)
{
	libbpf_verbose = cfg && cfg->verbose;
	libbpf_print_fn_t old_print = libbpf_set_print(libbpf_print);
	int rc = open_vm(out, cfg, why, whylen);
	libbpf_set_print(old_print);
	return rc;
}

static int verdict(struct bd_result *res, enum bd_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int verdict(struct bd_result *res, enum bd_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	res->status = st;
	return 0;
}

/* Write the pre-decoded programs into .bss, one after the other. uvm_load
 * has validated them, so every form here is one the VM models and every
 * target is in range. What a pseudo lddw loads (a map pointer, a map value's
 * address, a callback's) is worked out here, as the uvm works it out
 * (vm/helpers.h), and a helper call carries what the helper is (EBPF_H_*)
 * for the platform. */
static void decode(struct bd_backend *b, const struct bd_case *c, uint64_t map_addr)
{
	__u64 *prog = b->bss->xvm_prog;
	size_t base = 0;

	for (int k = 0; k <= c->nprogs; k++) {
		const struct ebpf_insn *insns = k ? c->progs[k - 1].insns : c->insns;
		size_t n = k ? c->progs[k - 1].ninsns : c->ninsns;
		b->bss->xvm_entry[k] = (__u32)base;
		for (size_t pc = 0; pc < n; pc++) {
			const struct ebpf_insn *in = &insns[pc];
			int form = ebpf_decode(in);
			__s32 arg = 0;
			__u64 imm = sem_imm64(in->imm);
			size_t at = base + pc;
			switch (ebpf_forms[form].fmt) {
			case EBPF_FMT_LDDW:
				imm = sem_lddw(in->imm, in[1].imm);
				if (form == FORM_LDDW_MAP_FD || form == FORM_LDDW_MAP_IDX)
					imm = map_addr + EBPF_MAP_OBJECTS + (uint64_t)(uint32_t)in->imm * 256;
				else if (form == FORM_LDDW_MAP_VALUE || form == FORM_LDDW_MAP_IDX_VALUE)
					imm = map_addr + ((uint64_t)(uint32_t)in->imm << EBPF_MAP_SHIFT) +
					      (uint32_t)in[1].imm;
				else if (form == FORM_LDDW_CODE_ADDR)
					imm = map_addr + EBPF_CODE_ADDRS + (uint64_t)(at + (size_t)in->imm + 1) * 8;
				form = FORM_LDDW;
				break;
			case EBPF_FMT_LDX:
			case EBPF_FMT_ST:
			case EBPF_FMT_STX:
			case EBPF_FMT_ATOMIC:
			case EBPF_FMT_LOAD_ACQ:
			case EBPF_FMT_STORE_REL:
				arg = in->off;
				break;
			case EBPF_FMT_JA:
			case EBPF_FMT_JCOND_K:
			case EBPF_FMT_JCOND_X:
			case EBPF_FMT_MAY_GOTO:
				arg = (__s32)at + in->off + 1;
				break;
			case EBPF_FMT_JA32:
				arg = (__s32)((__s64)at + in->imm + 1);
				break;
			case EBPF_FMT_CALL:
				if (form == FORM_CALL_HELPER)
					arg = ebpf_platform_helper(b->platform, (uint32_t)in->imm);
				else
					arg = (__s32)((__s64)at + in->imm + 1);
				break;
			}
			__u64 op = ebpf_writes_r10(in, form) ? XDP_OP_R10 : (__u64)form;
			prog[2 * at] = op | (__u64)in->dst << 8 | (__u64)in->src << 12 | (__u64)(__u32)arg << 32;
			prog[2 * at + 1] = imm;
			if (form == FORM_LDDW)
				prog[2 * (at + 1)] = XDP_OP_END; /* never reached: uvm_load refuses jumps into lddw */
			if (form == FORM_LDDW)
				pc++;
		}
		base += n;
	}
	b->bss->xvm_entry[c->nprogs + 1] = (__u32)base;
	b->bss->xvm_nprogs = (__u32)c->nprogs + 1;
	prog[2 * base] = XDP_OP_END;
}

/* Create a map of the case as an inner map of the VM: keys zero-padded to
 * XVM_KMAX (hash), values to XVM_VMAX + 8. 0, or -errno. */
static int inner_map(const struct bd_map *m, int *fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = m->type == EBPF_MAP_ARRAY ? BPF_F_INNER_MAP : 0);
	*fd = bpf_map_create(m->type == EBPF_MAP_ARRAY ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH, "bpfdiff_xm",
			     m->type == EBPF_MAP_ARRAY ? 4 : XVM_KMAX, XVM_VMAX + 8, m->max_entries, &o);
	return *fd < 0 ? -errno : 0;
}

static void drop_maps(struct bd_backend *b)
{
	for (__u32 i = 0; i < XVM_MAX_MAPS; i++)
		if (b->inner_fd[i] >= 0) {
			bool hash = b->bss->xvm_maps[i].type == EBPF_MAP_HASH;
			bpf_map_delete_elem(hash ? b->hashes_fd : b->arrays_fd, &i);
			close(b->inner_fd[i]);
			b->inner_fd[i] = -1;
		}
}

/* The case's maps, programs' prog_arrays, environment values and helper
 * table into the VM; 0, or a status with the message in res. */
static int setup_env(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o, struct bd_result *res)
{
	struct xdpvm__bss *s = b->bss;
	__u32 tail = 0;
	uint8_t key[XVM_KMAX], val[XVM_VMAX + 8];

	s->xvm_nmaps = 0;
	s->xvm_map_loads = s->xvm_map_stores = 0;
	s->xvm_map_addr = o->map_addr ? o->map_addr : UVM_DEFAULT_MAP_ADDR;
	s->xvm_tail_calls = 0;
	s->xvm_cur_prog = 0;
	s->xvm_nhslots = 0;
	s->xvm_env_seed = o->env_seed ? o->env_seed : UVM_DEFAULT_ENV_SEED;
	s->xvm_reg_fill = o->reg_fill;
	for (int k = 0; k < EBPF_ENV_KINDS; k++) {
		size_t n = o->ignore_helper_values ? 0 : c->nhelper_values[k];
		if (n > XVM_ENV_MAX)
			return verdict(res, BD_UNSUPPORTED, "more than %d values for an environment helper", XVM_ENV_MAX);
		if (n)
			memcpy(s->xvm_env[k], c->helper_values[k], n * sizeof(__u64));
		s->xvm_env_n[k] = (__u32)n;
		s->xvm_env_calls[k] = 0;
	}
	memcpy(s->xvm_helper_of, b->helper_of, sizeof(b->helper_of));
	if (c->nprogs + 1 > XVM_MAX_PROGS)
		return verdict(res, BD_UNSUPPORTED, "more than %d programs", XVM_MAX_PROGS);
	for (int i = 0; i < c->nmaps; i++) {
		const struct bd_map *m = &c->maps[i];
		struct xvm_map *xm = &s->xvm_maps[i];
		*xm = (struct xvm_map){ m->type, m->key_size, m->value_size, m->max_entries,
					(__u32)ebpf_map_stride(m->value_size), tail };
		if (m->type == EBPF_MAP_PROG_ARRAY) {
			if (tail + m->max_entries > XVM_TAIL_SLOTS)
				return verdict(res, BD_UNSUPPORTED, "prog_arrays of more than %d slots in all",
					       XVM_TAIL_SLOTS);
			memset(&s->xvm_tail[tail], 0, m->max_entries * sizeof(__u32));
			for (size_t e = 0; e < m->init.n; e++) {
				__u32 idx, prog;
				memcpy(&idx, m->init.e[e].key, 4);
				memcpy(&prog, m->init.e[e].value, 4);
				s->xvm_tail[tail + idx] = prog + 1;
			}
			tail += m->max_entries;
			continue;
		}
		if (m->key_size > XVM_KMAX || m->value_size > XVM_VMAX)
			return verdict(res, BD_UNSUPPORTED, "map %s: keys of %u and values of %u bytes at most here",
				       m->name, XVM_KMAX, XVM_VMAX);
		int rc = inner_map(m, &b->inner_fd[i]);
		if (rc < 0)
			return verdict(res, BD_ERROR, "map %s: BPF_MAP_CREATE: %s", m->name, strerror(-rc));
		int outer = m->type == EBPF_MAP_HASH ? b->hashes_fd : b->arrays_fd;
		__u32 mi = (__u32)i;
		if (bpf_map_update_elem(outer, &mi, &b->inner_fd[i], BPF_ANY))
			return verdict(res, BD_ERROR, "map %s: into the VM's map of maps: %s", m->name, strerror(errno));
		for (size_t e = 0; e < m->init.n; e++) {
			memset(key, 0, sizeof(key));
			memset(val, 0, sizeof(val));
			memcpy(key, m->init.e[e].key, m->key_size);
			memcpy(val, m->init.e[e].value, m->value_size);
			if (bpf_map_update_elem(b->inner_fd[i], key, val, BPF_ANY))
				return verdict(res, BD_ERROR, "map %s: initial element %zu: %s", m->name, e,
					       strerror(errno));
		}
	}
	s->xvm_nmaps = (__u32)c->nmaps;
	return 0;
}

/* Every map's contents after the run (not prog_arrays), keys and values cut
 * back to the case's sizes. */
static int read_maps(struct bd_backend *b, const struct bd_case *c, struct bd_result *res)
{
	uint8_t key[XVM_KMAX], next[XVM_KMAX], val[XVM_VMAX + 8];
	if (!c->nmaps)
		return 0;
	res->maps = calloc((size_t)c->nmaps, sizeof(*res->maps));
	if (!res->maps)
		return -ENOMEM;
	res->nmaps = c->nmaps;
	for (int i = 0; i < c->nmaps; i++) {
		if (b->inner_fd[i] < 0)
			continue;
		const void *k = NULL;
		while (!bpf_map_get_next_key(b->inner_fd[i], k, next)) {
			memcpy(key, next, sizeof(key));
			k = key;
			if (!bpf_map_lookup_elem(b->inner_fd[i], key, val) &&
			    bd_map_contents_put(&c->maps[i], &res->maps[i], key, val) == -ENOMEM)
				return -ENOMEM;
		}
	}
	return 0;
}

static int xdp_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		   struct bd_result *res)
{
	struct xdpvm__bss *s = b->bss;
	struct bd_run_opts def;
	char err[256];
	int rc;

	if (!o) {
		bd_run_opts_default(&def);
		o = &def;
	}
	bd_result_reset(res);
	b->cases++;

	/* Load-time outcome exactly as backend_uvm.c: malformed -> rejected,
	 * unmodelled (helper/kfunc call, pseudo lddw) -> unsupported. */
	struct uvm_opts uo = { .sz = sizeof(uo), .cpu = c->cpu ? c->cpu : b->cpu, .isa = b->isa,
			       .platform = b->platform };
	rc = uvm_set_opts(b->validator, &uo);
	if (rc < 0)
		return verdict(res, BD_ERROR, "xdp: cpu v%d: %s", uo.cpu, strerror(-rc));
	struct uvm_map_def defs[BD_MAX_MAPS];
	for (int i = 0; i < c->nmaps && i < BD_MAX_MAPS; i++)
		defs[i] = (struct uvm_map_def){ c->maps[i].type, c->maps[i].key_size, c->maps[i].value_size,
						c->maps[i].max_entries, c->maps[i].flags };
	if ((rc = uvm_set_maps(b->validator, defs, (size_t)c->nmaps)) < 0)
		return verdict(res, BD_ERROR, "xdp: the case's maps: %s", strerror(-rc));
	struct uvm_prog progs[1 + XVM_MAX_PROGS];
	size_t np = 0, total = 0;
	progs[np++] = (struct uvm_prog){ c->insns, c->ninsns };
	for (int k = 0; k < c->nprogs && np < sizeof(progs) / sizeof(progs[0]); k++)
		progs[np++] = (struct uvm_prog){ c->progs[k].insns, c->progs[k].ninsns };
	for (size_t k = 0; k < np; k++)
		total += progs[k].n;
	rc = uvm_load_progs(b->validator, progs, np, err, sizeof(err));
	if (rc == -EOPNOTSUPP) {
		/* Name the helper when that is what is missing, as the uvm backend does. */
		for (size_t k = 0; k < np; k++)
			if (bd_helper_check(progs[k].insns, progs[k].n, b->platform, err, sizeof(err)))
				break;
		return verdict(res, BD_UNSUPPORTED, "%s", err);
	}
	if (rc < 0)
		return verdict(res, BD_REJECTED, "%s", err);
	if (total >= XDP_MAX_INSNS)
		return verdict(res, BD_UNSUPPORTED, "programs of %zu instructions exceed the xdp VM's %d",
			       total, XDP_MAX_INSNS - 1);
	if (c->mem_len > XDP_MEM_MAX)
		return verdict(res, BD_UNSUPPORTED, "memory of %zu bytes exceeds the xdp VM's %u",
			       c->mem_len, XDP_MEM_MAX);
	/* A shared (pinned) VM holds one guest: ours from here until its result is read. */
	xdp_lock(b, LOCK_EX);
	drop_maps(b);
	rc = setup_env(b, c, o, res);
	if (rc || res->status != BD_OK) {
		drop_maps(b);
		xdp_lock(b, LOCK_UN);
		return rc;
	}
	decode(b, c, s->xvm_map_addr);

	for (int i = 0; i < EBPF_NREGS; i++)
		s->xvm_regs[i] = o->reg_fill;
	s->xvm_regs[1] = o->mem_addr;
	s->xvm_regs[2] = c->mem_len;
	s->xvm_regs[10] = o->stack_top;
	memset(s->xvm_arena, o->stack_fill, XDP_STACK_REGION);
	if (c->mem_len)
		memcpy(s->xvm_arena + XDP_STACK_REGION, c->mem, c->mem_len);
	s->xvm_mem_addr = o->mem_addr;
	s->xvm_mem_len = c->mem_len;
	s->xvm_stack_base = o->stack_top - XDP_STACK_REGION;
	s->xvm_stack_lo = XDP_STACK_REGION - EBPF_STACK_SIZE;
	/* As the uvm: 0 = its default, capped at 2^44 (a day of guest time). */
	uint64_t budget = o->budget ? o->budget : UVM_DEFAULT_BUDGET;
	if (budget > XDP_MAX_BUDGET)
		budget = XDP_MAX_BUDGET;
	s->xvm_steps_left = budget;
	s->xvm_executed = 0;
	s->xvm_pc = 0;
	s->xvm_depth = 0;
	s->xvm_may_goto = EBPF_MAY_GOTO_BUDGET;
	s->xvm_status = XVM_RUNNING;
	s->xvm_big_endian = b->big_endian;

	/* Each test_run does at most XDP_RUN_STEPS; go on from the state in .bss. */
	do {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = b->pkt, .data_size_in = sizeof(b->pkt),
			    .repeat = 1);
		rc = bpf_prog_test_run_opts(b->prog_fd, &t);
		b->test_runs++;
		if (rc) {
			int e = errno;
			drop_maps(b);
			xdp_lock(b, LOCK_UN);
			return verdict(res, BD_ERROR, "xdp: BPF_PROG_TEST_RUN failed: %s", strerror(e));
		}
		res->duration_ns += t.duration;
	} while (s->xvm_status == XVM_RUNNING && s->xvm_steps_left);

	/* Everything the verdict needs, read before another process may run a case. */
	const struct {
		unsigned status, fault_kind, fault_size, pc;
		unsigned long long fault_addr;
	} v = { s->xvm_status, s->xvm_fault_kind, s->xvm_fault_size, s->xvm_pc, s->xvm_fault_addr };
	res->r0 = s->xvm_regs[0];
	res->has_insns = true;
	res->insns = s->xvm_executed;
	res->has_map_accesses = true;
	res->map_loads = s->xvm_map_loads;
	res->map_stores = s->xvm_map_stores;
	res->mem = malloc(c->mem_len ? c->mem_len : 1);
	if (res->mem)
		memcpy(res->mem, s->xvm_arena + XDP_STACK_REGION, c->mem_len);
	rc = res->mem ? read_maps(b, c, res) : -ENOMEM;
	drop_maps(b);
	xdp_lock(b, LOCK_UN);
	if (rc < 0)
		return rc;
	res->mem_len = c->mem_len;

	unsigned pc = v.pc;
	if (v.status == XVM_RUNNING || v.status == XVM_FAULT) {
		res->has_pc = true;
		res->pc = pc;
		res->fault_kind = v.status == XVM_RUNNING   ? BD_FAULT_UNKNOWN
				  : v.fault_kind == XVM_F_READ  ? BD_FAULT_READ
				  : v.fault_kind == XVM_F_WRITE ? BD_FAULT_WRITE
				  : v.fault_kind == XVM_F_DEPTH ? BD_FAULT_DEPTH
				  : v.fault_kind == XVM_F_END   ? BD_FAULT_END
				  : v.fault_kind == XVM_F_R10   ? BD_FAULT_R10
				  : v.fault_kind == XVM_F_CALL  ? BD_FAULT_CALL
								     : BD_FAULT_UNKNOWN;
	}
	switch (v.status) {
	case XVM_OK:
		return verdict(res, BD_OK, "ok");
	case XVM_RUNNING:
		return verdict(res, BD_TIMEOUT, "pc %u: instruction budget of %llu exhausted", pc,
			       (unsigned long long)budget);
	case XVM_FAULT:
		switch (v.fault_kind) {
		case XVM_F_READ:
		case XVM_F_WRITE:
			return verdict(res, BD_FAULT, "pc %u: %s of %u bytes at 0x%llx out of bounds", pc,
				       v.fault_kind == XVM_F_READ ? "read" : "write",
				       v.fault_size, (unsigned long long)v.fault_addr);
		case XVM_F_DEPTH:
			return verdict(res, BD_FAULT, "pc %u: call depth exceeds %d", pc, EBPF_MAX_CALL_DEPTH);
		case XVM_F_END:
			return verdict(res, BD_FAULT, "pc %u: fell off the end of the program", pc);
		case XVM_F_R10:
			return verdict(res, BD_FAULT, "pc %u: write to r10, the read-only frame pointer", pc);
		case XVM_F_CALL:
			return verdict(res, BD_FAULT, "pc %u: helper %s: bad argument 0x%llx (not a map or not a callback "
				       "of this program)", pc, v.fault_size == EBPF_H_LOOP ? "bpf_loop"
							       : v.fault_size == EBPF_H_TAIL_CALL ? "bpf_tail_call"
												    : "map",
				       v.fault_addr);
		}
		break;
	case XVM_UNSUPPORTED:
		if (v.fault_kind == XVM_F_STALE)
			return verdict(res, BD_UNSUPPORTED, "pc %u: access through a pointer to a hash element that was "
				       "since replaced or deleted (not modelled here)", pc);
		if (v.fault_kind == XVM_F_HSLOTS)
			return verdict(res, BD_UNSUPPORTED, "pc %u: more than %d hash elements looked up in one run",
				       pc, XVM_HSLOTS);
		if (v.fault_kind == XVM_F_INNER)
			return verdict(res, BD_ERROR, "pc %u: xdp VM: inner map %llu missing", pc, v.fault_addr);
		if (v.fault_kind == XVM_F_CALLX && pc < c->ninsns)
			return verdict(res, BD_UNSUPPORTED,
				       "pc %u: helper call through r%d (helper %llu) is not modelled on platform %s", pc,
				       c->insns[pc].dst, (unsigned long long)v.fault_addr, bd_platform_name(b->platform));
		return verdict(res, BD_UNSUPPORTED, "pc %u: form %llu is not modelled", pc,
			       (unsigned long long)v.fault_addr);
	}
	return verdict(res, BD_ERROR, "pc %u: xdp VM internal status %u/%u", pc, v.status,
		       v.fault_kind);
}

/* "processed 123 insns (limit 1000000) max_states_per_insn 4 total_states ..." */
static void print_log_line(FILE *out, const char *log, const char *key)
{
	const char *p = strstr(log, key);
	if (!p)
		return;
	const char *e = strchr(p, '\n');
	fprintf(out, "xdp:   %.*s\n", (int)(e ? e - p : (long)strlen(p)), p);
}

static void xdp_info(struct bd_backend *b, FILE *out)
{
	if (b->reused)
		fprintf(out, "xdp: eBPF-on-eBPF VM vm/xdp/xdpvm.bpf.c, XDP prog id %u \"%s\", taken from its pin "
			"(loaded by an earlier process, build %016llx)\n", b->info.id, b->info.name, b->build_id);
	else
		fprintf(out, "xdp: eBPF-on-eBPF VM vm/xdp/xdpvm.bpf.c, XDP prog id %u \"%s\", loaded once in %.2f ms\n",
			b->info.id, b->info.name, b->load_ms);
	if (b->pinned || b->reused)
		fprintf(out, "xdp: pinned at %s (shared with later processes under a lock; `rm -r %s` clears it)\n",
			b->pin_dir, XDP_PIN_PARENT);
	else if (b->pin_wanted)
		fprintf(out, "xdp: %s\n", b->pin_note);
	else
		fprintf(out, "xdp: not pinned (this process loads its own; BPFDIFF_XDP_PIN=1 shares a pinned one)\n");
	if (!b->reused) {
		fprintf(out, "xdp: verifier stats (log_level BPF_LOG_STATS):\n");
		print_log_line(out, b->vlog, "processed ");
		print_log_line(out, b->vlog, "verification time");
		print_log_line(out, b->vlog, "stack depth");
	}
	fprintf(out, "xdp:   verified_insns %u, xlated %u bytes, jited %u bytes\n", b->info.verified_insns,
		b->info.xlated_prog_len, b->info.jited_prog_len);
	/* An inlined bpf_loop leaves no call to the helper; one left means a loop
	 * was not inlined and every guest step pays an indirect call. A helper
	 * call's imm in the xlated program is its address less __bpf_call_base
	 * (kallsyms); the map helpers of the guest's map paths are calls too. */
	__u32 xlen = b->info.xlated_prog_len;
	struct bpf_insn *x = xlen ? calloc(1, xlen) : NULL;
	if (x) {
		struct bpf_prog_info pi = { .xlated_prog_len = xlen, .xlated_prog_insns = (__u64)(uintptr_t)x };
		__u32 len = sizeof(pi);
		unsigned long long loop = 0, base = 0;
		FILE *ks = fopen("/proc/kallsyms", "r");
		char line[256];
		while (ks && fgets(line, sizeof(line), ks) && (!loop || !base)) {
			unsigned long long a;
			char t, name[128];
			if (sscanf(line, "%llx %c %127s", &a, &t, name) == 3) {
				if (!strcmp(name, "bpf_loop"))
					loop = a;
				else if (!strcmp(name, "__bpf_call_base"))
					base = a;
			}
		}
		if (ks)
			fclose(ks);
		if (!bpf_obj_get_info_by_fd(b->prog_fd, &pi, &len)) {
			unsigned helpers = 0, loops = 0;
			for (__u32 i = 0; i < xlen / sizeof(*x); i++)
				if (x[i].code == (BPF_JMP | BPF_CALL) && x[i].src_reg == 0) {
					helpers++;
					loops += loop && base && x[i].imm == (__s32)(loop - base);
				}
			if (loop && base)
				fprintf(out, "xdp:   bpf_loop inlined: %s (%u calls to bpf_loop, %u helper calls in all)\n",
					loops ? "no" : "yes", loops, helpers);
			else
				fprintf(out, "xdp:   bpf_loop inlined: unknown (no kallsyms addresses); %u helper calls\n",
					helpers);
		}
		free(x);
	}
	fprintf(out, "xdp: limits: %d insns, %u bytes of memory, %d frames of %d bytes, %llu steps per test_run\n",
		XDP_MAX_INSNS - 1, XDP_MEM_MAX, EBPF_MAX_CALL_DEPTH, EBPF_STACK_SIZE, XDP_RUN_STEPS);
	fprintf(out, "xdp: this process: %llu cases, %llu test_runs\n", b->cases, b->test_runs);
}

/* The guest semantics are bpfdiff's (vm/semantics.h); the kernel that runs
 * the VM program is named because its verifier and JIT carry it. */
static void xdp_env(struct bd_backend *b, struct bd_env *e)
{
	bd_env_host(e);
	e->big_endian = b->big_endian; /* the guest's order, not the host's */
	snprintf(e->detail, sizeof(e->detail), "eBPF-on-eBPF VM %s%s, run by the host kernel", bd_version(),
		 b->big_endian ? ", big-endian" : "");
}

const struct bd_backend_ops bd_backend_xdp = {
	.name = "xdp",
	.open = xdp_open,
	.run = xdp_run,
	.close = xdp_close,
	.info = xdp_info,
	.env = xdp_env,
};
