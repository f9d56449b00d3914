/* SPDX-License-Identifier: MIT */
/*
 * An object as libbpf users write them, run by tests/test_maps.py on every
 * backend: BTF-defined maps (array, hash, a prog_array initialised with a
 * program), global data in .data, .bss and .rodata, a bpf_loop callback in
 * .text, a tail call. Two programs, so two cases: elf_maps.bpf.o:start and
 * elf_maps.bpf.o:finish.
 *
 * start: sum = 3 * (0 + 1 + 2 + 3) = 18 through bpf_loop; counts[0] += 18;
 * seen[0] = 1 (BPF_NOEXIST); calls = 1; total = 5 + 1 = 6; then tail-calls
 * finish, which returns counts[0] + total = 24.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

int finish(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int(void *));
} jt SEC(".maps") = {
	.values = { [1] = (void *)&finish },
};

__u64 total = 5;
__u64 calls;
const volatile __u64 factor = 3;

static long add_index(__u32 i, void *ctx)
{
	__u64 *sum = ctx;
	*sum += i * factor;
	return 0;
}

SEC("xdp") int finish(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (!v)
		return 1;
	return *v + total;
}

SEC("xdp") int start(void *ctx)
{
	__u64 sum = 0, one = 1;
	__u32 k = 0;
	bpf_loop(4, add_index, &sum, 0);
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (!v)
		return 2;
	*v += sum;
	bpf_map_update_elem(&seen, &k, &one, BPF_NOEXIST);
	calls++;
	total += 1;
	bpf_tail_call(ctx, &jt, 1);
	return 3;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
