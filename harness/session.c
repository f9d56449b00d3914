/* SPDX-License-Identifier: MIT */
/* Opening the backends a run asked for. The diff itself is in diff.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "session.h"

/* Backends that need libbpf or a BPF object are weak so that builds without
 * them (the OSS-Fuzz uvm-only target) still link; a missing one is unavailable. */
extern const struct bd_backend_ops bd_backend_kernel __attribute__((weak));
extern const struct bd_backend_ops bd_backend_xdp __attribute__((weak));
extern const struct bd_backend_ops bd_backend_plugin __attribute__((weak));
extern const struct bd_backend_ops bd_backend_guest __attribute__((weak));

static const struct bd_backend_ops *builtin(const char *name)
{
	if (!strcmp(name, "uvm"))
		return &bd_backend_uvm;
	if (!strcmp(name, "kernel"))
		return &bd_backend_kernel;
	if (!strcmp(name, "xdp"))
		return &bd_backend_xdp;
	if (!strcmp(name, "plugin"))
		return &bd_backend_plugin;
	if (!strcmp(name, "guest"))
		return &bd_backend_guest;
	return NULL;
}

/* The part of a backend spec before its ':' is KIND[+OPTION...]: options say
 * what bpfdiff cannot ask an external VM, so only a plugin takes them.
 *   +verifier        a verifier stands in front of the VM: its refusals are
 *                    allowed (rejected), and ok where a bounds-checked VM
 *                    faults is a possible verifier soundness bug
 *   +platform=NAME   what its helper numbers mean (linux, ubpf, ...); without
 *                    it a plugin is not diffed on programs that call helpers
 * ',' separates backends and ':' starts the argument, so '+' is free here. */
static int parse_options(const char *spec, char *opts, const char *kind, bool *verifier, char *platform,
			 size_t platlen, char *err, size_t errlen)
{
	char *save = NULL;
	for (char *o = strtok_r(opts, "+", &save); o; o = strtok_r(NULL, "+", &save)) {
		if (strcmp(kind, "plugin")) {
			snprintf(err, errlen, "backend '%s': %s takes no options ('+%s')", spec, kind, o);
			return -EINVAL;
		}
		if (!strcmp(o, "verifier")) {
			*verifier = true;
		} else if (!strncmp(o, "platform=", 9) && o[9] && strlen(o + 9) < platlen &&
			   strspn(o + 9, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
				   strlen(o + 9)) {
			snprintf(platform, platlen, "%s", o + 9);
		} else {
			snprintf(err, errlen,
				 "backend '%s': unknown option '+%s' (a plugin takes +verifier and +platform=NAME)",
				 spec, o);
			return -EINVAL;
		}
	}
	return 0;
}

static int add_backend(struct bd_session *s, const char *spec, char *err, size_t errlen)
{
	if (s->n == BD_MAX_BACKENDS) {
		snprintf(err, errlen, "too many backends (at most %d)", BD_MAX_BACKENDS);
		return -E2BIG;
	}
	char head[128], kind[64];
	const char *colon = strchr(spec, ':');
	size_t hlen = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t klen = strcspn(spec, "+:");
	if (klen > hlen)
		klen = hlen;
	if (klen == 0 || klen >= sizeof(kind) || hlen >= sizeof(head)) {
		snprintf(err, errlen, "unknown backend '%s' (known: uvm, kernel, xdp, plugin:PATH, guest:ARCH)", spec);
		return -EINVAL;
	}
	memcpy(kind, spec, klen);
	kind[klen] = 0;
	memcpy(head, spec, hlen);
	head[hlen] = 0;
	bool known = !strcmp(kind, "uvm") || !strcmp(kind, "kernel") || !strcmp(kind, "xdp") ||
		     !strcmp(kind, "plugin") || !strcmp(kind, "guest");
	if (!known) {
		snprintf(err, errlen, "unknown backend '%s' (known: uvm, kernel, xdp, plugin:PATH, guest:ARCH)", spec);
		return -EINVAL;
	}
	bool verifier = false;
	char platform[sizeof(s->slot[0].platform)] = "";
	if (klen < hlen) {
		if (head[hlen - 1] == '+' || strstr(head + klen, "++")) {
			snprintf(err, errlen, "backend '%s': empty option", spec);
			return -EINVAL;
		}
		int rc = parse_options(spec, head + klen + 1, kind, &verifier, platform, sizeof(platform), err,
				       errlen);
		if (rc < 0)
			return rc;
	}
	if (!strcmp(kind, "plugin") && (!colon || !colon[1])) {
		snprintf(err, errlen, "backend 'plugin' needs a program: plugin:PATH");
		return -EINVAL;
	}
	if (!strcmp(kind, "guest") && (!colon || !colon[1])) {
		snprintf(err, errlen, "backend 'guest' needs an arch: guest:arm64, guest:arm64-interp, ...");
		return -EINVAL;
	}
	/* The name leaves the options out: `-- expect` lines, known differences,
	 * signatures and reports name the VM, however it was declared. */
	char name[sizeof(s->slot[0].name)];
	if (snprintf(name, sizeof(name), "%s%s", kind, colon ? colon : "") >= (int)sizeof(name)) {
		snprintf(err, errlen, "backend '%.60s...': name longer than %zu bytes", spec, sizeof(name) - 1);
		return -EINVAL;
	}
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->slot[i].name, name)) {
			snprintf(err, errlen, "backend '%s' given twice", name);
			return -EINVAL;
		}
	struct bd_backend_slot *slot = &s->slot[s->n++];
	memset(slot, 0, sizeof(*slot));
	bd_env_unknown(&slot->env);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->ops = builtin(kind);
	if (!slot->ops) {
		snprintf(slot->why, sizeof(slot->why), "not built into this bpfdiff");
		return 0;
	}
	slot->verifier = slot->ops->verifier || verifier;
	/* bpfdiff's own VMs and the kernel follow the session's platform profile
	 * (`--platform`, Linux's helper numbers by default); a plugin's are
	 * unknown unless declared. */
	snprintf(slot->platform, sizeof(slot->platform), "%s",
		 platform[0] ? platform : strcmp(kind, "plugin") ? (s->cfg.platform ? s->cfg.platform : "linux") : "");
	struct bd_backend_config cfg = s->cfg;
	cfg.arg = colon ? colon + 1 : NULL;
	cfg.verifier = verifier;
	cfg.platform = slot->platform[0] ? slot->platform : NULL;
	int rc = slot->ops->open(&slot->b, &cfg, slot->why, sizeof(slot->why));
	if (rc < 0) {
		slot->b = NULL;
		if (!slot->why[0])
			snprintf(slot->why, sizeof(slot->why), "%s", strerror(-rc));
		/* A bad argument (unknown mutant, missing plugin) is a usage error, not
		 * an environment limitation. */
		if (rc == -EINVAL || rc == -ENOENT || rc == -EACCES) {
			snprintf(err, errlen, "backend '%s': %s", spec, slot->why);
			s->n--;
			return rc;
		}
	} else if (slot->ops->env) {
		slot->ops->env(slot->b, &slot->env);
	}
	slot->env.platform = slot->platform[0] ? bd_platform_lookup(slot->platform) : -1;
	return 0;
}

int bd_session_open(struct bd_session *s, const char *list, const struct bd_backend_config *cfg,
		    char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (!list || !*list || !strcmp(list, "all"))
		list = "uvm,kernel,xdp";
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if ((rc = add_backend(s, tok, err, errlen)) < 0)
			break;
	}
	free(copy);
	if (!rc && s->n == 0) {
		snprintf(err, errlen, "no backend selected");
		rc = -EINVAL;
	}
	/* A big-endian guest among little-endian backends: compare like with like,
	 * and give it a reference of its own order (`uvm:be`) unless there is one. */
	bool big = false, big_ref = false;
	for (int i = 0; !rc && i < s->n; i++) {
		bool be = bd_slot_big_endian(&s->slot[i]);
		big |= be;
		big_ref |= be && s->slot[i].ops == &bd_backend_uvm;
	}
	if (!rc && big && !big_ref && s->n < BD_MAX_BACKENDS)
		rc = add_backend(s, "uvm:be", err, errlen);
	s->has_big_endian = big;
	if (rc < 0)
		bd_session_close(s);
	return rc;
}

bool bd_ci_strict(void)
{
	const char *ci = getenv("CI");
	return ci && !strcmp(ci, "true");
}

int bd_session_unavailable(const struct bd_session *s, FILE *out, const char *prog)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		if (!s->slot[i].b) {
			fprintf(out, "%s: backend %s unavailable: %s%s\n", prog, s->slot[i].name, s->slot[i].why,
				bd_ci_strict() ? " (an error under CI=true)" : "");
			n++;
		}
	return n;
}

void bd_session_close(struct bd_session *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->slot[i].b)
			s->slot[i].ops->close(s->slot[i].b);
	s->n = 0;
	if (s->probe)
		bd_backend_uvm.close(s->probe);
	s->probe = NULL;
	if (s->oracle_uvm)
		bd_backend_uvm.close(s->oracle_uvm);
	s->oracle_uvm = NULL;
	for (int k = 0; k < 2; k++) {
		if (s->order_probe[k])
			bd_backend_uvm.close(s->order_probe[k]);
		s->order_probe[k] = NULL;
	}
}
