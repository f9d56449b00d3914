/* SPDX-License-Identifier: MIT */
/*
 * Test object for bd_case_load_elf (tests/unit/test_formats.c):
 *   "xdp"  a program with a bpf-to-bpf call inside its own section (accepted)
 *   "tc"   a plain program (accepted)
 *   "bad"  calls a function in .text and reads a global (refused, naming "bad")
 */
#define SEC(name) __attribute__((section(name), used))

static __attribute__((noinline, section("xdp"))) unsigned long long twice(unsigned long long x)
{
	return x * 2 + 1;
}

SEC("xdp") int prog_xdp(void *ctx)
{
	return (int)twice((unsigned long long)(unsigned long)ctx & 0xff);
}

SEC("tc") int prog_tc(void *ctx)
{
	(void)ctx;
	return 42;
}

static __attribute__((noinline)) int helper_in_text(int x)
{
	return x + 3;
}

volatile int counter;

SEC("bad") int prog_bad(void *ctx)
{
	(void)ctx;
	return helper_in_text(counter);
}

char _license[] SEC("license") = "MIT";
