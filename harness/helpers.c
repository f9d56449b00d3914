/* SPDX-License-Identifier: MIT */
/* Helper names (the kernel's __BPF_FUNC_MAPPER) and platform profiles. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"
#include "../vm/isa.h"

#define BD_HELPER_NAME(x, ...) [BPF_FUNC_##x] = "bpf_" #x
static const char *const linux_names[] = { __BPF_FUNC_MAPPER(BD_HELPER_NAME) };
#define NLINUX (sizeof(linux_names) / sizeof(linux_names[0]))

const char *bd_helper_name(int platform, uint64_t number)
{
	if (platform == EBPF_PLATFORM_UBPF)
		return ebpf_platform_helper(platform, number) == EBPF_H_UNWIND ? "unwind" : NULL;
	return number && number < NLINUX ? linux_names[number] : NULL;
}

long bd_helper_number(const char *name)
{
	for (size_t i = 1; i < NLINUX; i++)
		if (linux_names[i] && (!strcmp(name, linux_names[i]) || !strcmp(name, linux_names[i] + 4)))
			return (long)i;
	return -1;
}

const char *bd_platform_name(int platform)
{
	return platform == EBPF_PLATFORM_UBPF ? "ubpf" : "linux";
}

int bd_platform_lookup(const char *name)
{
	if (!strcmp(name, "linux"))
		return EBPF_PLATFORM_LINUX;
	if (!strcmp(name, "ubpf"))
		return EBPF_PLATFORM_UBPF;
	return -1;
}

int bd_helper_check(const struct ebpf_insn *insns, size_t n, int platform, char *msg, size_t len)
{
	for (size_t pc = 0; pc < n; pc++) {
		const struct ebpf_insn *in = &insns[pc];
		if (in->opcode == 0x18) {
			pc++;
			continue;
		}
		if (in->opcode != 0x85 || in->src != EBPF_CALL_HELPER ||
		    ebpf_platform_helper(platform, (uint32_t)in->imm) != EBPF_H_NONE)
			continue;
		/* Name it as Linux does even on ubpf: that is what the number usually means. */
		const char *name = bd_helper_name(EBPF_PLATFORM_LINUX, (uint32_t)in->imm);
		snprintf(msg, len, "pc %zu: helper %u%s%s%s is not modelled on platform %s", pc, (uint32_t)in->imm,
			 name ? " (" : "", name ? name : "", name ? ")" : "", bd_platform_name(platform));
		return 1;
	}
	return 0;
}
