/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: the running kernel's verifier and JIT, one case at a
 * time through harness/kexec.c (the program wrapping and the load/run
 * sequence it shares with the guest-kernel agent). This file adds what only
 * the host has: privilege checks, and the kernel log (/dev/kmsg) as a second
 * source of kernel warnings, attributed to a case by PID and by when they
 * were logged (records drained right before the case and read right after).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "backend.h"
#include "env.h"
#include "helpers.h"
#include "kexec.h"
#include "vm/isa.h"

struct bd_backend {
	struct kexec k;
	int cpu, isa;
	int platform;
	int kmsg_fd;             /* /dev/kmsg, read from its end: kernel warnings per case */
	char kmsg_pid[24];       /* " PID: <ours> " as the kernel prints it */
};

/* Records logged since the last call; NULL out: just drain. A warning counts
 * as this case's only when a record of the same burst names our PID (the
 * "WARNING: CPU: 0 PID: 17350 at ..." or Oops "... PID: 17350 Comm: ..."
 * line); its headline is the burst's first "verifier bug"/WARNING/BUG line. */
static bool kmsg_warning(struct bd_backend *b, char *out, size_t outlen)
{
	char rec[1024], head[256] = "";
	bool ours = false, found = false;
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
		size_t tl = strcspn(text, "\n");
		if (!out)
			continue;
		bool headline = strstr(text, "verifier bug") || !strncmp(text, "WARNING:", 8) ||
				!strncmp(text, "BUG:", 4) || strstr(text, "kernel BUG");
		const char *pid = strstr(text, " PID: ");
		if (pid && (size_t)(pid - text) < tl) {
			if (!strncmp(pid, b->kmsg_pid, strlen(b->kmsg_pid)))
				ours = true;
			else if (!ours)
				head[0] = 0; /* another process's burst */
		}
		if (headline && !head[0])
			snprintf(head, sizeof(head), "%.*s", (int)tl, text);
		if (ours && head[0] && !found) {
			snprintf(out, outlen, "%s", head);
			found = true;
		}
	}
	return found;
}

static void from_kexec(const struct kexec_result *kr, struct bd_result *res)
{
	static const enum bd_status map[] = {
		[KEXEC_OK] = BD_OK, [KEXEC_REJECTED] = BD_REJECTED,
		[KEXEC_UNSUPPORTED] = BD_UNSUPPORTED, [KEXEC_ERROR] = BD_ERROR,
	};
	res->status = map[kr->status];
	res->r0 = kr->r0;
	res->duration_ns = kr->duration_ns;
	snprintf(res->message, sizeof(res->message), "%s", kr->message);
	snprintf(res->warning, sizeof(res->warning), "%s", kr->warning);
}

/* A map element the kernel gives back after the run, into res->maps. */
struct readback {
	const struct bd_case *c;
	struct bd_result *res;
};
static int put_elem(void *ctx, size_t map, const void *key, const void *value)
{
	struct readback *rb = ctx;
	return bd_map_contents_put(&rb->c->maps[map], &rb->res->maps[map], key, value) == -ENOMEM ? -1 : 0;
}

/* On platform ubpf, helper numbers mean ubpf's helpers: the kernel has others. */
static bool calls_helper(const struct ebpf_insn *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i].opcode == 0x85 && in[i].src == EBPF_CALL_HELPER)
			return true;
		if (in[i].opcode == 0x18)
			i++;
	}
	return false;
}

static int kb_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *ro,
		  struct bd_result *res)
{
	struct kexec_result kr;
	struct kexec_prog progs[KEXEC_MAX_PROGS];
	struct kexec_map maps[KEXEC_MAX_MAPS];
	uint8_t *init[KEXEC_MAX_MAPS] = { 0 };
	/* addresses, fills and budget are the kernel's own */
	b->k.want_states = ro->verifier_states;
	bd_result_reset(res);
	/* --isa rfc9669: the kernel would run its extensions, the profile refuses them. */
	if (ebpf_isa_check(c->insns, c->ninsns, b->isa, res->message, sizeof(res->message)) < 0) {
		res->status = BD_REJECTED;
		return 0;
	}
	for (int k = 0; k < c->nprogs; k++)
		if (ebpf_isa_check(c->progs[k].insns, c->progs[k].ninsns, b->isa, res->message,
				   sizeof(res->message)) < 0) {
			res->status = BD_REJECTED;
			return 0;
		}
	if (c->nprogs + 1 > KEXEC_MAX_PROGS || c->nmaps > KEXEC_MAX_MAPS) {
		res->status = BD_UNSUPPORTED;
		snprintf(res->message, sizeof(res->message), "more than %d programs or %d maps", KEXEC_MAX_PROGS,
			 KEXEC_MAX_MAPS);
		return 0;
	}
	struct kexec_case kc = { progs, 0, maps, (size_t)c->nmaps, c->mem, c->mem_len };
	progs[kc.nprogs++] = (struct kexec_prog){ c->insns, c->ninsns };
	for (int k = 0; k < c->nprogs; k++)
		progs[kc.nprogs++] = (struct kexec_prog){ c->progs[k].insns, c->progs[k].ninsns };
	if (b->platform != EBPF_PLATFORM_LINUX)
		for (size_t k = 0; k < kc.nprogs; k++)
			if (calls_helper(progs[k].insns, progs[k].n)) {
				res->status = BD_UNSUPPORTED;
				snprintf(res->message, sizeof(res->message),
					 "platform %s: its helper numbers mean %s's helpers, not the kernel's",
					 bd_platform_name(b->platform), bd_platform_name(b->platform));
				return 0;
			}
	for (int i = 0; i < c->nmaps; i++) {
		const struct bd_map *m = &c->maps[i];
		size_t es = (size_t)m->key_size + m->value_size;
		maps[i] = (struct kexec_map){ m->type, m->key_size, m->value_size, m->max_entries, m->flags,
					      m->freeze, m->init.n, NULL };
		if (m->init.n && !(init[i] = malloc(m->init.n * es))) {
			for (int j = 0; j < i; j++)
				free(init[j]);
			return -ENOMEM;
		}
		for (size_t e = 0; e < m->init.n; e++) {
			memcpy(init[i] + e * es, m->init.e[e].key, m->key_size);
			memcpy(init[i] + e * es + m->key_size, m->init.e[e].value, m->value_size);
		}
		maps[i].init = init[i];
	}
	int rc = 0;
	if (c->mem_len && !(res->mem = malloc(c->mem_len)))
		rc = -ENOMEM;
	if (!rc && c->nmaps && !(res->maps = calloc((size_t)c->nmaps, sizeof(*res->maps))))
		rc = -ENOMEM;
	res->nmaps = res->maps ? c->nmaps : 0;
	struct readback rb = { c, res };
	kmsg_warning(b, NULL, 0); /* what others logged before this case is not ours */
	if (!rc)
		rc = kexec_run_case(&b->k, &kc, res->mem, c->nmaps ? put_elem : NULL, &rb, &kr);
	for (int i = 0; i < c->nmaps; i++)
		free(init[i]);
	if (rc < 0)
		return rc;
	from_kexec(&kr, res);
	if (b->k.want_states && res->status == BD_OK) {
		res->states = b->k.states && b->k.states[0] ? b->k.states : NULL;
		res->states_prologue = b->k.states_prologue;
		res->states_truncated = b->k.states_truncated;
	}
	if (!res->warning[0])
		kmsg_warning(b, res->warning, sizeof(res->warning));
	if (res->status == BD_OK && c->mem_len) {
		res->mem_len = c->mem_len;
	} else {
		free(res->mem);
		res->mem = NULL;
	}
	if (res->status != BD_OK && res->maps) {
		for (int i = 0; i < res->nmaps; i++)
			bd_map_contents_free(&res->maps[i]);
		free(res->maps);
		res->maps = NULL;
		res->nmaps = 0;
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
	kexec_close(&b->k);
	if (b->kmsg_fd >= 0)
		close(b->kmsg_fd);
	free(b);
}

static int kb_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why, size_t whylen)
{
	struct bd_backend *b = calloc(1, sizeof(*b));
	const char *arg = cfg && cfg->arg && *cfg->arg ? cfg->arg : "xdp";
	const char *type_name;
	uint32_t type;
	struct rlimit rl;

	*out = NULL;
	if (!b) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	b->kmsg_fd = -1;
	b->k.r0_fd = -1;
	b->cpu = cfg ? cfg->cpu : 4;
	b->isa = cfg ? cfg->isa : 0;
	b->platform = bd_platform_lookup(cfg && cfg->platform ? cfg->platform : "linux");
	/* `kernel:bpf_loop=helper`: a second kernel slot where bpf_loop stays a
	 * helper call, to diff against the inlined loop of the default slot. */
	bool loop_helper = !strcmp(arg, "bpf_loop=helper");
	if (loop_helper)
		arg = "xdp";
	if (!strncmp(arg, "type=", 5))
		arg += 5;
	if (kexec_prog_type(arg, &type, &type_name) < 0) {
		snprintf(why, whylen, "unknown program type '%s' (xdp, socket_filter, sched_cls; or bpf_loop=helper)", arg);
		free(b);
		return -EINVAL;
	}
	/* Kernels with memcg accounting ignore it; older ones need it. */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	int rc = kexec_open(&b->k, type, why, whylen);
	if (rc < 0) {
		kb_close(b);
		return rc;
	}
	b->k.type_name = type_name;
	b->k.loop_helper = loop_helper;
	/* Unprivileged BPF (socket filters when the sysctl allows it) runs a
	 * stricter verifier: its rejections are not the ones bpfdiff studies. */
	if (!has_caps()) {
		snprintf(why, whylen, "no CAP_BPF+CAP_PERFMON: the verifier would run in unprivileged mode");
		kb_close(b);
		return -EPERM;
	}
	/* Kernel warnings are findings too; without /dev/kmsg access, only the
	 * verifier's own reports (kexec) are seen. */
	b->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (b->kmsg_fd >= 0)
		lseek(b->kmsg_fd, 0, SEEK_END);
	snprintf(b->kmsg_pid, sizeof(b->kmsg_pid), " PID: %d ", (int)getpid());
	*out = b;
	return 0;
}

static void kb_info(struct bd_backend *b, FILE *out)
{
	fprintf(out, "  program type %s, loaded with BPF_PROG_LOAD, run once with BPF_PROG_TEST_RUN\n", b->k.type_name);
	fprintf(out, "  BPF_F_TEST_REG_INVARIANTS %s; kernel log %s\n",
		b->k.reg_invariants ? "supported (every load checks register invariants)" : "not supported",
		b->kmsg_fd >= 0 ? "read for warnings" : "not readable (warnings from the verifier log only)");
	fprintf(out, "  memory: mmapable array-map value (value_size = mem_len, %d sizes cached, %d live);"
		     " mem_len 0 gives r1 = 0\n", KEXEC_MAX_MEM_MAPS, b->k.nmaps);
	fprintf(out, "  R0: exits of the main function jump to an epilogue storing all 64 bits;"
		     " verifier messages are renumbered to the case's insns\n");
	fprintf(out, "  cpu v%d requested: the kernel accepts v1..v4 regardless\n", b->cpu);
	fprintf(out, "  cases %llu, rejected %llu, errors %llu, invariant violations %llu\n",
		(unsigned long long)b->k.nrun, (unsigned long long)b->k.nrejected, (unsigned long long)b->k.nerror,
		(unsigned long long)b->k.nwarned);
}

static void kb_env(struct bd_backend *b, struct bd_env *e)
{
	bd_env_host(e);
	e->reg_invariants = b->k.reg_invariants;
	snprintf(e->detail, sizeof(e->detail), "program type %s, BPF_PROG_TEST_RUN%s", b->k.type_name,
		 b->k.loop_helper ? ", bpf_loop kept a helper call (not inlined)" : "");
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
