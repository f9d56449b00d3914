/* SPDX-License-Identifier: MIT */
/* The guest channel's framing (guest/proto.c): byte-exact encoding, checksum,
 * resynchronisation after garbage and corruption, delivery in pieces. */
#include <stdio.h>
#include <string.h>
#include "guest/proto.h"

static int failures;
#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                      \
		}                                                                        \
	} while (0)

static void hello_frame(struct gp_buf *b, uint32_t nonce)
{
	gp_begin(b, GP_HELLO);
	gp_u32(b, nonce);
	CHECK(gp_end(b));
}

int main(void)
{
	/* The CRC-32 (IEEE) check value of "123456789". */
	CHECK(gp_crc32(0, (const uint8_t *)"123456789", 9) == 0xcbf43926u);

	/* A frame: magic, big-endian length, type, payload, crc over type+payload. */
	struct gp_buf b = { 0 };
	hello_frame(&b, 0x01020304u);
	const uint8_t head[] = { 'B', 'D', 'G', '1', 0, 0, 0, 4, 'H', 1, 2, 3, 4 };
	CHECK(b.len == sizeof(head) + 4);
	CHECK(!memcmp(b.p, head, sizeof(head)));
	uint32_t crc = gp_crc32(0, head + 8, 5);
	CHECK(b.p[13] == (uint8_t)(crc >> 24) && b.p[16] == (uint8_t)crc);

	/* Instructions by field, not by host struct layout: dst | src << 4, be16 off, be32 imm. */
	struct gp_buf ib = { 0 };
	struct ebpf_insn in = { .opcode = 0xb7, .dst = 1, .src = 2, .off = -2, .imm = 0x12345678 };
	gp_begin(&ib, GP_RUN);
	gp_insn(&ib, &in);
	gp_u64(&ib, 0x1122334455667788ull);
	gp_str(&ib, "ok");
	CHECK(gp_end(&ib));
	const uint8_t want[] = { 0xb7, 0x21, 0xff, 0xfe, 0x12, 0x34, 0x56, 0x78, 0x11, 0x22, 0x33, 0x44,
				 0x55, 0x66, 0x77, 0x88, 0, 2, 'o', 'k' };
	CHECK(!memcmp(ib.p + GP_HDR, want, sizeof(want)));

	/* Garbage, a good frame, a corrupted one, the RUN frame, fed one byte at a time. */
	struct gp_in s = { 0 };
	uint8_t stream[256];
	size_t n = 0;
	memcpy(stream + n, "xxBDG", 5), n += 5;
	memcpy(stream + n, b.p, b.len), n += b.len;
	memcpy(stream + n, b.p, b.len);
	stream[n + 10] ^= 0x40; /* payload bit flip: the crc no longer matches */
	n += b.len;
	memcpy(stream + n, ib.p, ib.len), n += ib.len;
	int frames = 0;
	uint8_t type;
	struct gp_reader r;
	for (size_t i = 0; i < n; i++) {
		CHECK(gp_in_push(&s, stream + i, 1) == 0);
		while (gp_in_next(&s, &type, &r) == 1) {
			frames++;
			if (frames == 1) {
				uint32_t v;
				CHECK(type == GP_HELLO && gp_get_u32(&r, &v) && v == 0x01020304u);
				CHECK(!gp_get_u32(&r, &v)); /* nothing past the end */
			} else {
				struct ebpf_insn got;
				uint64_t v;
				char str[8];
				CHECK(type == GP_RUN && gp_get_insn(&r, &got));
				CHECK(got.opcode == 0xb7 && got.dst == 1 && got.src == 2 && got.off == -2 &&
				      got.imm == 0x12345678);
				CHECK(gp_get_u64(&r, &v) && v == 0x1122334455667788ull);
				CHECK(gp_get_str(&r, str, sizeof(str)) && !strcmp(str, "ok"));
			}
		}
	}
	CHECK(frames == 2);
	CHECK(s.skipped >= 5 + b.len - 4);

	/* A length beyond the limit is garbage, not a wait for 4 GiB. */
	struct gp_in big = { 0 };
	const uint8_t huge[] = { 'B', 'D', 'G', '1', 0xff, 0xff, 0xff, 0xff, 'H' };
	CHECK(gp_in_push(&big, huge, sizeof(huge)) == 0);
	CHECK(gp_in_push(&big, b.p, b.len) == 0);
	CHECK(gp_in_next(&big, &type, &r) == 1 && type == GP_HELLO);

	gp_free(&b);
	gp_free(&ib);
	gp_in_free(&s);
	gp_in_free(&big);
	if (failures)
		fprintf(stderr, "test_proto: %d failures\n", failures);
	else
		printf("test_proto: ok\n");
	return failures != 0;
}
