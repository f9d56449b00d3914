/* SPDX-License-Identifier: MIT */
/*
 * The guest backends: `guest:ARCH` runs each case on a Debian kernel of that
 * arch under qemu with its BPF JIT, `guest:ARCH-interp` with
 * bpf_jit_enable=0, i.e. the kernel's own interpreter (___bpf_prog_run;
 * these kernels leave BPF_JIT_ALWAYS_ON unset). Both share one guest per
 * process (guest.c); inside it, the agent runs the case with harness/kexec.c
 * exactly as the host kernel backend does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "guest.h"

struct bd_backend {
	const struct guest_arch *arch;
	bool jit;
	struct guest *g;
	uint64_t nrun;
};

static int gb_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why, size_t whylen)
{
	char name[64];
	const char *arg = cfg && cfg->arg ? cfg->arg : "";
	*out = NULL;
	snprintf(name, sizeof(name), "%s", arg);
	size_t n = strlen(name);
	bool jit = true;
	if (n > 7 && !strcmp(name + n - 7, "-interp")) {
		name[n - 7] = 0;
		jit = false;
	}
	const struct guest_arch *a = guest_arch_find(name);
	if (!a) {
		snprintf(why, whylen, "unknown guest '%s' (guest:ARCH or guest:ARCH-interp; ARCH: arm64, s390x, ppc64le, x86_64)",
			 arg);
		return -EINVAL;
	}
	if (!guest_prepared(a, why, whylen))
		return -ENOMEDIUM;
	if (jit && guest_has_jit(a) == 0) {
		snprintf(why, whylen, "no JIT in this kernel (guest:%s-interp runs its interpreter)", a->name);
		return -ENOTSUP;
	}
	struct bd_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->arch = a;
	b->jit = jit;
	int rc = guest_get(a, &b->g, why, whylen);
	if (rc < 0) {
		free(b);
		return rc == -EINVAL || rc == -ENOENT ? -EIO : rc;
	}
	struct guest_info in;
	guest_get_info(b->g, &in);
	if (jit && !in.jit_available) {
		snprintf(why, whylen, "no JIT in this kernel (guest:%s-interp runs its interpreter)", a->name);
		guest_put(b->g);
		free(b);
		return -ENOTSUP;
	}
	*out = b;
	return 0;
}

static int gb_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o, struct bd_result *res)
{
	(void)o; /* addresses, fills and budget are the guest kernel's own */
	bd_result_reset(res);
	b->nrun++;
	return guest_run(b->g, b->jit, c, res);
}

static void gb_close(struct bd_backend *b)
{
	if (!b)
		return;
	guest_put(b->g);
	free(b);
}

static void gb_env(struct bd_backend *b, struct bd_env *e)
{
	struct guest_info in;
	guest_get_info(b->g, &in);
	bd_env_unknown(e);
	snprintf(e->release, sizeof(e->release), "%s", in.release);
	snprintf(e->arch, sizeof(e->arch), "%s", in.machine);
	e->jit = b->jit;
	e->jit_harden = 0; /* the agent runs as root with the default bpf_jit_harden=0 */
	e->reg_invariants = in.reg_invariants;
	e->big_endian = b->arch->big_endian;
	snprintf(e->detail, sizeof(e->detail), "qemu %s%s, %s", b->arch->qemu, in.shared ? " (started guest)" : "",
		 b->arch->big_endian ? "big-endian" : "little-endian");
}

static void gb_info(struct bd_backend *b, FILE *out)
{
	struct guest_info in;
	guest_get_info(b->g, &in);
	fprintf(out, "guest %s%s: kernel %s (%s), %s\n", b->arch->name, b->jit ? "" : "-interp", in.release,
		in.machine, b->jit ? "BPF JIT (bpf_jit_enable=1)" : "interpreter (bpf_jit_enable=0)");
	fprintf(out, "  qemu: %s, %s; %s\n", b->arch->qemu,
		in.shared ? "started guest (bpfdiff guest start)" : "booted for this process",
		b->arch->big_endian ? "big-endian" : "little-endian");
	if (in.boot_s > 0)
		fprintf(out, "  boot to a ready agent: %.1f s\n", in.boot_s);
	fprintf(out, "  BPF_F_TEST_REG_INVARIANTS: %s; cases %llu, guest restarts %llu\n",
		in.reg_invariants ? "yes" : "no (predates 6.7)", (unsigned long long)b->nrun,
		(unsigned long long)in.restarts);
}

const struct bd_backend_ops bd_backend_guest = {
	.name = "guest",
	.verifier = true,
	.open = gb_open,
	.run = gb_run,
	.close = gb_close,
	.info = gb_info,
	.env = gb_env,
};
