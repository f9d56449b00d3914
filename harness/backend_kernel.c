/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: load the case with libbpf (verifier + x86-64 JIT) and
 * run it once with BPF_PROG_TEST_RUN.
 *
 * What the kernel sees (P = insns before the case: 3, or 9 with the epilogue):
 *
 *   0: lddw r1, map_value(mem map of this size)   r1 = the case's memory
 *   2: mov  r2, mem_len                            r2 = its length
 *   3: ja   +5                                     over the epilogue
 *   4: lddw r1, map_value(r0 map)                  epilogue: the main
 *   6: stxdw [r1+0], r0                            function's exits jump
 *   7: mov  r0, 2  (XDP_PASS)                      here and store all 64
 *   8: exit                                        bits of R0
 *   P: the case, unchanged except that every valid `exit` of its main
 *      function (insns before the first subprogram) is `ja 4`.
 *
 * Why memory is an array-map value and not the XDP packet: both cost the same
 * (measured 10-insn case, 20k runs, this machine: plain prog 112 us/case,
 * packet + bounds-check prolog + data_out 108, map value + exit rewrite 109),
 * but the verifier refuses atomics on packet memory ("BPF_ATOMIC stores into
 * R1 pkt is not allowed") and accepts them on a map value, so more programs
 * reach the JIT. The maps are BPF_F_MMAPABLE: memory goes in and comes back
 * out, and R0 is read, by memcpy through the mapping, with no syscall
 * (tests/bench/kernel_bench: the backend runs at 82-102 % of the raw-syscall
 * floor of a bare 10-insn program, across runs). The map's value_size is exactly mem_len, so the verifier's bounds are the
 * case's bounds (one map per size, cached).
 *
 * Why exits are rewritten instead of `call +N` making the case a subprogram:
 * the call form measured 239 us/case against 109 (a second function means
 * the JIT runs per subprogram plus an extra pass), it uses one of the 8 call
 * frames and it rejects returning r10 from the body. With the epilogue placed
 * *before* the body, every body insn moves by the same P, so relative jumps
 * and local calls inside the case (call_local.data) need no fix-up, and the
 * main function still ends on the case's own last insn, so "last insn is not
 * an exit or jmp" still comes from the verifier. Only jumps whose target is
 * before insn 0 are moved by -P, so they stay out of range for the verifier.
 *
 * mem_len 0: r1 = 0 (NULL, as ubpf and the bpf_conformance runner pass it),
 * r2 = 0. Any access through r1 is then rejected by the verifier, which
 * matches a bounds-checked VM faulting on it. No zero-sized map exists.
 *
 * Verifier messages number insns as the kernel sees them: case insn + P. The
 * message adds the case insn number when the log names the failing insn.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "env.h"

_Static_assert(sizeof(struct ebpf_insn) == sizeof(struct bpf_insn), "insn layout");

#define KB_MAX_MAPS 16           /* distinct memory sizes kept mapped */
#define KB_LOG_SIZE (1u << 20)   /* verifier log on rejection; rotating since 6.4, keeps the tail */
#define KB_PKT_SIZE 64           /* test_run input: XDP/skb need >= ETH_HLEN bytes */
#define KB_R0_POISON 0xbdbdbdbdbdbdbdbdull

struct kb_map {
	size_t size;             /* value_size == case mem_len */
	int fd;
	uint8_t *val;            /* mmap of the value */
	size_t maplen;
	uint64_t used;           /* LRU tick */
};

struct bd_backend {
	enum bpf_prog_type type;
	const char *type_name;
	int cpu;
	bool verbose;
	int r0_fd;
	volatile uint64_t *r0;
	size_t r0_maplen;
	struct kb_map maps[KB_MAX_MAPS];
	int nmaps;
	uint64_t tick;
	struct bpf_insn *buf;    /* rewritten program, grown as needed */
	size_t cap;
	char *log;               /* allocated on the first rejection */
	uint8_t pkt[KB_PKT_SIZE];
	bool print_set;
	libbpf_print_fn_t old_print;
	uint64_t nrun, nrejected, nerror;
	int kmsg_fd;             /* /dev/kmsg, read from its end: kernel warnings per case */
};

static const struct {
	const char *name;
	enum bpf_prog_type type;
} kb_types[] = {
	{ "xdp", BPF_PROG_TYPE_XDP },
	{ "socket_filter", BPF_PROG_TYPE_SOCKET_FILTER },
	{ "socket", BPF_PROG_TYPE_SOCKET_FILTER },
	{ "sched_cls", BPF_PROG_TYPE_SCHED_CLS },
	{ "tc", BPF_PROG_TYPE_SCHED_CLS },
};

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static void set_msg(struct bd_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(struct bd_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

static struct bpf_insn mk(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst & 15, .src_reg = src & 15, .off = off, .imm = imm };
	return i;
}

static int mmapable_array(size_t value_size, uint8_t **val, size_t *maplen)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE);
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (value_size > UINT32_MAX)
		return -E2BIG;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bpfdiff_mem", 4, (uint32_t)value_size, 1, &mo);
	if (fd < 0)
		return -errno;
	*maplen = ((value_size + 7) / 8 * 8 + (size_t)page - 1) / (size_t)page * (size_t)page;
	*val = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*val == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The memory map for one size, created on first use; the least recently used
 * one is dropped when KB_MAX_MAPS sizes are live (fuzzers vary the size). */
static struct kb_map *mem_map(struct bd_backend *b, size_t size, int *err)
{
	struct kb_map *m, *lru = NULL;

	for (int i = 0; i < b->nmaps; i++) {
		m = &b->maps[i];
		if (m->size == size) {
			m->used = ++b->tick;
			return m;
		}
		if (!lru || m->used < lru->used)
			lru = m;
	}
	if (b->nmaps < KB_MAX_MAPS) {
		m = &b->maps[b->nmaps];
	} else {
		m = lru;
		munmap(m->val, m->maplen);
		close(m->fd);
		b->nmaps--;
		*m = b->maps[b->nmaps]; /* keep the array dense */
		m = &b->maps[b->nmaps];
	}
	int fd = mmapable_array(size, &m->val, &m->maplen);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	m->fd = fd;
	m->size = size;
	m->used = ++b->tick;
	b->nmaps++;
	return m;
}

static bool is_valid_exit(const struct ebpf_insn *i)
{
	return i->opcode == 0x95 && !i->dst && !i->src && !i->off && !i->imm;
}

/* Relative branch target of insn i, if it has one (jumps, local calls,
 * lddw of a function address). *field: 0 = off, 1 = imm. */
static bool branch_target(const struct ebpf_insn *in, size_t i, long *t, int *field)
{
	uint8_t cls = in->opcode & 7, op = in->opcode & 0xf0;

	if (in->opcode == 0x18 && in->src == BPF_PSEUDO_FUNC) {
		*field = 1;
	} else if (in->opcode == 0x85 && in->src == BPF_PSEUDO_CALL) {
		*field = 1;
	} else if (cls == BPF_JMP32 && op == BPF_JA) {
		*field = 1; /* gotol */
	} else if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT) {
		*field = 0;
	} else {
		return false;
	}
	*t = (long)i + 1 + (*field ? (long)in->imm : (long)in->off);
	return true;
}

/*
 * Build the program the kernel loads into b->buf. Returns its length, or 0
 * with res->status/message set when the case cannot be sent (rejected before
 * the kernel, or unsupported).
 */
static size_t build_prog(struct bd_backend *b, const struct bd_case *c, int mem_fd, struct bd_result *res,
			 size_t *prologue)
{
	const struct ebpf_insn *in = c->insns;
	size_t n = c->ninsns, main_end = n, nexits = 0, P, k = 0;

	for (size_t i = 0; i < n; i++) {
		long t;
		int field;

		if (in[i].opcode == 0x18) {
			uint8_t s = in[i].src;
			if (s == BPF_PSEUDO_MAP_FD || s == BPF_PSEUDO_MAP_VALUE || s == BPF_PSEUDO_MAP_IDX ||
			    s == BPF_PSEUDO_MAP_IDX_VALUE) {
				res->status = BD_UNSUPPORTED;
				set_msg(res, "insn %zu: lddw src %u refers to a map; bpfdiff models no maps", i, s);
				return 0;
			}
		}
		if ((in[i].opcode == 0x85 && in[i].src == BPF_PSEUDO_CALL) ||
		    (in[i].opcode == 0x18 && in[i].src == BPF_PSEUDO_FUNC)) {
			if (branch_target(&in[i], i, &t, &field) && t > 0 && (size_t)t < main_end)
				main_end = (size_t)t;
		}
		if (in[i].opcode == 0x18)
			i++; /* second slot: not an insn for the verifier either */
	}
	for (size_t i = 0; i < main_end; i++) {
		if (is_valid_exit(&in[i]))
			nexits++;
		if (in[i].opcode == 0x18)
			i++;
	}

	/* No exit in the main function: no epilogue, which would be unreachable
	 * and turn the verifier's own complaint into "unreachable insn". */
	P = 3 + (nexits ? 6 : 0);
	if (n + P > b->cap) {
		size_t cap = (n + P) * 2;
		struct bpf_insn *nb = realloc(b->buf, cap * sizeof(*nb));
		if (!nb) {
			res->status = BD_ERROR;
			set_msg(res, "out of memory for %zu insns", n + P);
			return 0;
		}
		b->buf = nb;
		b->cap = cap;
	}
	struct bpf_insn *o = b->buf;
	if (c->mem_len) {
		o[k++] = mk(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_VALUE, 0, mem_fd);
		o[k++] = mk(0, 0, 0, 0, 0);
	} else {
		o[k++] = mk(BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, 0);
		o[k++] = mk(0, 0, 0, 0, 0);
	}
	o[k++] = mk(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, (int32_t)c->mem_len);
	if (nexits) {
		o[k++] = mk(BPF_JMP | BPF_JA, 0, 0, 5, 0);
		o[k++] = mk(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_VALUE, 0, b->r0_fd);
		o[k++] = mk(0, 0, 0, 0, 0);
		o[k++] = mk(BPF_STX | BPF_MEM | BPF_DW, 1, 0, 0, 0);
		o[k++] = mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2 /* XDP_PASS */);
		o[k++] = mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*prologue = P;
	memcpy(o + P, in, n * sizeof(*o));

	for (size_t i = 0; i < n; i++) {
		struct bpf_insn *x = &o[P + i];
		long t;
		int field;

		if (i < main_end && is_valid_exit(&in[i])) {
			long off = 4 - (long)(P + i + 1); /* epilogue at insn 4 */
			if (off >= INT16_MIN)
				*x = mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)off, 0);
			else
				*x = mk(BPF_JMP32 | BPF_JA, 0, 0, 0, (int32_t)off);
		} else if (branch_target(&in[i], i, &t, &field) && t < 0) {
			/* Keep a target before the case out of range, not in the prologue. */
			long v = (field ? (long)x->imm : (long)x->off) - (long)P;
			if (field)
				x->imm = (int32_t)v;
			else if (v >= INT16_MIN)
				x->off = (int16_t)v;
			else {
				res->status = BD_REJECTED;
				set_msg(res, "jump out of range from insn %zu to %ld (checked by bpfdiff)", i, t);
				return 0;
			}
		}
		if (in[i].opcode == 0x18)
			i++;
	}
	return n + P;
}

static bool is_stats_line(const char *s)
{
	return !strncmp(s, "processed ", 10) || !strncmp(s, "verification time", 17) ||
	       !strncmp(s, "stack depth", 11);
}

/* "12: (64) w0 <<= 60", "0: R1=ctx() R10=fp0", "from 3 to 5: ...", "; source" */
static bool is_trace_line(const char *s, long *insn)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';' || !strncmp(p, "from ", 5) || !strncmp(p, "frame", 5) || !strncmp(p, "mark_precise", 12) ||
	    !strncmp(p, "last_idx", 8) || !strncmp(p, "func#", 5))
		return true;
	if (*p >= '0' && *p <= '9') {
		char *e;
		long v = strtol(p, &e, 10);
		if (*e == ':') {
			if (e[1] == ' ' && e[2] == '(' && insn && *insn < 0)
				*insn = v;
			return true;
		}
	}
	return false;
}

/*
 * The verifier's reason: the message lines after the last trace line and
 * before the statistics, at most three, joined by "; ". With the failing insn
 * when the trace names it.
 */
static void decisive_lines(char *log, size_t P, char *out, size_t outlen)
{
	char *lines[64];
	int nl = 0;
	long insn = -1;

	for (char *s = log, *e; s && *s; s = e) {
		e = strchr(s, '\n');
		if (e)
			*e++ = '\0';
		if (!*s || is_stats_line(s))
			continue;
		if (nl == 64) {
			memmove(lines, lines + 1, sizeof(lines) - sizeof(lines[0]));
			nl--;
		}
		lines[nl++] = s;
	}
	int end = nl, start = nl;
	while (start > 0 && !is_trace_line(lines[start - 1], NULL) && end - start < 3)
		start--;
	if (start > 0)
		is_trace_line(lines[start - 1], &insn);
	out[0] = '\0';
	size_t len = 0;
	for (int i = start; i < end && len < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", i > start ? "; " : "", lines[i]);
	if (insn >= (long)P && len < outlen) {
		const char *t = strchr(lines[start - 1], ')');
		snprintf(out + len, outlen - len, " (case insn %ld:%s)", insn - (long)P, t ? t + 1 : "");
	}
}

/* Did the kernel log a WARNING, BUG or "verifier bug" since the last call?
 * One non-blocking read per case when nothing was logged. The kernel log is
 * machine-wide: a warning that names another process's PID is not ours. */
static bool kmsg_warning(struct bd_backend *b, char *out, size_t outlen)
{
	char rec[1024];
	bool found = false;
	if (b->kmsg_fd < 0)
		return false;
	for (int i = 0; i < 4096; i++) {
		ssize_t n = read(b->kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* records were overwritten: go on from the oldest left */
		if (n <= 0)
			break;
		rec[n] = 0;
		const char *text = strchr(rec, ';'); /* "prio,seq,ts,flags;message" */
		text = text ? text + 1 : rec;
		/* "WARNING: CPU: 0 PID: 17350 at kernel/bpf/verifier.c:..." names the
		 * process the kernel ran for: only ours counts. */
		const char *pid = strstr(text, " PID: ");
		bool ours = !pid || atoi(pid + 6) == (int)getpid();
		if (!found && ours && (strstr(text, "verifier bug") || !strncmp(text, "WARNING:", 8) ||
				       !strncmp(text, "BUG:", 4) || strstr(text, "kernel BUG"))) {
			snprintf(out, outlen, "%.*s", (int)strcspn(text, "\n"), text);
			found = true;
		}
	}
	return found;
}

static int kb_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *ro,
		  struct bd_result *res)
{
	struct kb_map *m = NULL;
	size_t n, P = 0;
	int fd, err = 0;

	(void)ro; /* addresses, fills and budget are the kernel's own */
	bd_result_reset(res);
	b->nrun++;

	if (!c->ninsns) {
		res->status = BD_REJECTED;
		set_msg(res, "empty program");
		return 0;
	}
	if (c->mem_len > INT32_MAX) {
		res->status = BD_UNSUPPORTED;
		set_msg(res, "memory of %zu bytes is too large for an array-map value", c->mem_len);
		return 0;
	}
	if (c->mem_len) {
		m = mem_map(b, c->mem_len, &err);
		if (!m) {
			res->status = BD_UNSUPPORTED;
			set_msg(res, "memory of %zu bytes: bpf_map_create: %s", c->mem_len, strerror(-err));
			return 0;
		}
	}
	n = build_prog(b, c, m ? m->fd : -1, res, &P);
	if (!n) {
		if (res->status == BD_ERROR)
			b->nerror++;
		else if (res->status == BD_REJECTED)
			b->nrejected++;
		return 0;
	}
	if (m)
		memcpy(m->val, c->mem, c->mem_len);
	*b->r0 = KB_R0_POISON;

	fd = bpf_prog_load(b->type, "bpfdiff", "GPL", b->buf, n, NULL);
	if (fd < 0) {
		int e = errno;
		if (!b->log && !(b->log = malloc(KB_LOG_SIZE))) {
			res->status = BD_ERROR;
			set_msg(res, "bpf(BPF_PROG_LOAD): %s (no memory for the verifier log)", strerror(e));
			b->nerror++;
			return 0;
		}
		LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = b->log, .log_size = KB_LOG_SIZE, .log_level = 1);
		b->log[0] = '\0';
		fd = bpf_prog_load(b->type, "bpfdiff", "GPL", b->buf, n, &lo);
		if (fd < 0) {
			int e2 = errno;
			b->log[KB_LOG_SIZE - 1] = '\0';
			decisive_lines(b->log, P, res->message, sizeof(res->message));
			/* verifier_bug() warns in the kernel log only once per boot but
			 * always writes to the verifier log: this finds it every time. */
			const char *vb = strstr(b->log, "verifier bug");
			if (vb)
				snprintf(res->warning, sizeof(res->warning), "%.*s", (int)strcspn(vb, "\n"), vb);
			else
				kmsg_warning(b, res->warning, sizeof(res->warning));
			if (e2 == EACCES || e2 == EINVAL || e2 == E2BIG || e2 == ENOSPC || res->message[0]) {
				res->status = BD_REJECTED;
				if (!res->message[0])
					set_msg(res, "bpf(BPF_PROG_LOAD): %s", strerror(e));
				b->nrejected++;
			} else {
				res->status = BD_ERROR;
				set_msg(res, "bpf(BPF_PROG_LOAD): %s", strerror(e2));
				b->nerror++;
			}
			return 0;
		}
		/* Loaded the second time: say so and go on. */
		set_msg(res, "first load failed (%s), the reload with a log passed", strerror(e));
	}

	LIBBPF_OPTS(bpf_test_run_opts, to, .data_in = b->pkt, .data_size_in = sizeof(b->pkt), .repeat = 1);
	int run_rc = bpf_prog_test_run_opts(fd, &to);
	kmsg_warning(b, res->warning, sizeof(res->warning));
	if (run_rc) {
		int e = errno;
		close(fd);
		res->status = BD_ERROR;
		set_msg(res, "bpf(BPF_PROG_TEST_RUN): %s", strerror(e));
		b->nerror++;
		return 0;
	}
	close(fd);

	res->status = BD_OK;
	res->duration_ns = to.duration;
	res->r0 = *b->r0;
	if (res->r0 == KB_R0_POISON && to.retval != 2) {
		/* Left through no rewritten exit (cannot happen for accepted
		 * programs): only the 32-bit retval is known. */
		res->r0 = to.retval;
		set_msg(res, "R0 not captured, 32-bit XDP retval only");
	}
	if (c->mem_len) {
		res->mem = malloc(c->mem_len);
		if (!res->mem) {
			res->status = BD_ERROR;
			set_msg(res, "out of memory for %zu bytes of memory", c->mem_len);
			return -ENOMEM;
		}
		memcpy(res->mem, m->val, c->mem_len);
		res->mem_len = c->mem_len;
	}
	return 0;
}

static bool has_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
#define HAS(cap) (d[(cap) / 32].effective & (1u << ((cap) % 32)))
	return HAS(CAP_SYS_ADMIN) || (HAS(CAP_BPF) && HAS(CAP_PERFMON));
#undef HAS
}

static void kb_close(struct bd_backend *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->nmaps; i++) {
		munmap(b->maps[i].val, b->maps[i].maplen);
		close(b->maps[i].fd);
	}
	if (b->r0)
		munmap((void *)b->r0, b->r0_maplen);
	if (b->r0_fd >= 0)
		close(b->r0_fd);
	if (b->kmsg_fd >= 0)
		close(b->kmsg_fd);
	if (b->print_set)
		libbpf_set_print(b->old_print);
	free(b->buf);
	free(b->log);
	free(b);
}

static int kb_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why, size_t whylen)
{
	struct bd_backend *b = calloc(1, sizeof(*b));
	const char *arg = cfg && cfg->arg && *cfg->arg ? cfg->arg : "xdp";
	struct rlimit rl;
	int fd, e;

	*out = NULL;
	if (!b) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	b->r0_fd = -1;
	b->kmsg_fd = -1;
	b->cpu = cfg ? cfg->cpu : 4;
	b->verbose = cfg && cfg->verbose;
	if (!strncmp(arg, "type=", 5))
		arg += 5;
	for (size_t i = 0; i < sizeof(kb_types) / sizeof(kb_types[0]); i++)
		if (!strcmp(arg, kb_types[i].name)) {
			b->type = kb_types[i].type;
			b->type_name = kb_types[i].name;
		}
	if (!b->type_name) {
		snprintf(why, whylen, "unknown program type '%s' (xdp, socket_filter, sched_cls)", arg);
		free(b);
		return -EINVAL;
	}
	if (!b->verbose) {
		b->old_print = libbpf_set_print(silent_print);
		b->print_set = true;
	}
	/* Kernels with memcg accounting ignore it; older ones need it. */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}

	struct bpf_insn probe[2] = { mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2), mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	fd = bpf_prog_load(b->type, "bpfdiff_probe", "GPL", probe, 2, NULL);
	if (fd < 0) {
		e = errno;
		if (e == EPERM || e == EACCES)
			snprintf(why, whylen,
				 "bpf(BPF_PROG_LOAD) not permitted (%s): need root, or CAP_BPF+CAP_PERFMON%s",
				 strerror(e), b->type == BPF_PROG_TYPE_SOCKET_FILTER ? "" : "+CAP_NET_ADMIN");
		else if (e == ENOSYS)
			snprintf(why, whylen, "bpf() not available (ENOSYS): kernel without CONFIG_BPF_SYSCALL");
		else
			snprintf(why, whylen, "probe load of a 2-insn %s program failed: %s", b->type_name, strerror(e));
		kb_close(b);
		return -e;
	}
	close(fd);
	/* Unprivileged BPF (socket filters when the sysctl allows it) runs a
	 * stricter verifier: its rejections are not the ones bpfdiff studies. */
	if (!has_caps()) {
		snprintf(why, whylen, "no CAP_BPF+CAP_PERFMON: the verifier would run in unprivileged mode");
		kb_close(b);
		return -EPERM;
	}
	uint8_t *v;
	fd = mmapable_array(8, &v, &b->r0_maplen);
	if (fd < 0) {
		snprintf(why, whylen, "bpf_map_create(array, mmapable): %s", strerror(-fd));
		kb_close(b);
		return fd;
	}
	b->r0_fd = fd;
	b->r0 = (volatile uint64_t *)v;
	/* Kernel warnings are findings too; without /dev/kmsg access, none are seen. */
	b->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (b->kmsg_fd >= 0)
		lseek(b->kmsg_fd, 0, SEEK_END);
	*out = b;
	return 0;
}

static void kb_info(struct bd_backend *b, FILE *out)
{
	struct utsname u;

	if (uname(&u))
		strcpy(u.release, "?");
	fprintf(out, "kernel %s: program type %s, verifier + JIT via BPF_PROG_TEST_RUN\n", u.release,
		b->type_name);
	fprintf(out, "  memory: mmapable array-map value (value_size = mem_len, %d sizes cached, %d live);"
		     " mem_len 0 gives r1 = 0\n", KB_MAX_MAPS, b->nmaps);
	fprintf(out, "  R0: exits of the main function jump to an epilogue storing all 64 bits;"
		     " verifier insn = case insn + 9 (+ 3 when main has no exit)\n");
	fprintf(out, "  cpu v%d requested: the kernel accepts v1..v4 regardless\n", b->cpu);
	fprintf(out, "  cases %llu, rejected %llu, errors %llu\n", (unsigned long long)b->nrun,
		(unsigned long long)b->nrejected, (unsigned long long)b->nerror);
}

static void kb_env(struct bd_backend *b, struct bd_env *e)
{
	bd_env_host(e);
	snprintf(e->detail, sizeof(e->detail), "program type %s, BPF_PROG_TEST_RUN", b->type_name);
}

const struct bd_backend_ops bd_backend_kernel = {
	.name = "kernel",
	.verifier = true,
	.open = kb_open,
	.run = kb_run,
	.close = kb_close,
	.info = kb_info,
	.env = kb_env,
};
