/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proto.h"

uint32_t gp_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void reserve(struct gp_buf *b, size_t n)
{
	if (b->oom || b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void gp_bytes(struct gp_buf *b, const void *p, size_t n)
{
	reserve(b, n);
	if (b->oom)
		return;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void gp_u8(struct gp_buf *b, uint8_t v)
{
	gp_bytes(b, &v, 1);
}

void gp_u16(struct gp_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	gp_bytes(b, x, 2);
}

void gp_u32(struct gp_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	gp_bytes(b, x, 4);
}

void gp_u64(struct gp_buf *b, uint64_t v)
{
	gp_u32(b, (uint32_t)(v >> 32));
	gp_u32(b, (uint32_t)v);
}

void gp_str(struct gp_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > UINT16_MAX)
		n = UINT16_MAX;
	gp_u16(b, (uint16_t)n);
	gp_bytes(b, s, n);
}

void gp_insn(struct gp_buf *b, const struct ebpf_insn *in)
{
	gp_u8(b, in->opcode);
	gp_u8(b, (uint8_t)(in->dst | in->src << 4));
	gp_u16(b, (uint16_t)in->off);
	gp_u32(b, (uint32_t)in->imm);
}

void gp_begin(struct gp_buf *b, enum gp_type type)
{
	b->len = 0;
	b->oom = false;
	gp_bytes(b, GP_MAGIC, 4);
	gp_u32(b, 0);
	gp_u8(b, (uint8_t)type);
}

bool gp_end(struct gp_buf *b)
{
	if (b->oom || b->len - GP_HDR > GP_MAX_PAYLOAD)
		return false;
	uint32_t len = (uint32_t)(b->len - GP_HDR);
	b->p[4] = (uint8_t)(len >> 24);
	b->p[5] = (uint8_t)(len >> 16);
	b->p[6] = (uint8_t)(len >> 8);
	b->p[7] = (uint8_t)len;
	gp_u32(b, gp_crc32(0, b->p + 8, b->len - 8));
	return !b->oom;
}

void gp_free(struct gp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

bool gp_get_bytes(struct gp_reader *r, const uint8_t **p, size_t n)
{
	if (r->len - r->pos < n)
		return false;
	*p = r->p + r->pos;
	r->pos += n;
	return true;
}

bool gp_get_u8(struct gp_reader *r, uint8_t *v)
{
	const uint8_t *p;
	if (!gp_get_bytes(r, &p, 1))
		return false;
	*v = p[0];
	return true;
}

bool gp_get_u16(struct gp_reader *r, uint16_t *v)
{
	const uint8_t *p;
	if (!gp_get_bytes(r, &p, 2))
		return false;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return true;
}

bool gp_get_u32(struct gp_reader *r, uint32_t *v)
{
	const uint8_t *p;
	if (!gp_get_bytes(r, &p, 4))
		return false;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return true;
}

bool gp_get_u64(struct gp_reader *r, uint64_t *v)
{
	uint32_t hi, lo;
	if (!gp_get_u32(r, &hi) || !gp_get_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool gp_get_str(struct gp_reader *r, char *out, size_t outlen)
{
	uint16_t n;
	const uint8_t *p;
	if (!gp_get_u16(r, &n) || !gp_get_bytes(r, &p, n))
		return false;
	size_t k = n < outlen ? n : outlen - 1;
	memcpy(out, p, k);
	out[k] = 0;
	return true;
}

bool gp_get_insn(struct gp_reader *r, struct ebpf_insn *in)
{
	uint8_t op, regs;
	uint16_t off;
	uint32_t imm;
	if (!gp_get_u8(r, &op) || !gp_get_u8(r, &regs) || !gp_get_u16(r, &off) || !gp_get_u32(r, &imm))
		return false;
	in->opcode = op;
	in->dst = regs & 15;
	in->src = regs >> 4;
	in->off = (ebpf_s16)off;
	in->imm = (ebpf_s32)imm;
	return true;
}

int gp_in_push(struct gp_in *in, const void *data, size_t n)
{
	if (in->start && in->start == in->len)
		in->start = in->len = 0;
	if (in->len + n > in->cap) {
		if (in->start) { /* move the unread tail to the front first */
			memmove(in->p, in->p + in->start, in->len - in->start);
			in->len -= in->start;
			in->start = 0;
		}
		size_t cap = in->cap ? in->cap : 4096;
		while (cap < in->len + n)
			cap *= 2;
		if (cap > in->cap) {
			uint8_t *p = realloc(in->p, cap);
			if (!p)
				return -ENOMEM;
			in->p = p;
			in->cap = cap;
		}
	}
	memcpy(in->p + in->len, data, n);
	in->len += n;
	return 0;
}

int gp_in_next(struct gp_in *in, uint8_t *type, struct gp_reader *payload)
{
	for (;;) {
		size_t avail = in->len - in->start;
		const uint8_t *p = in->p + in->start;
		if (avail < 4)
			return 0;
		if (memcmp(p, GP_MAGIC, 4)) {
			const uint8_t *m = memchr(p + 1, 'B', avail - 1);
			size_t skip = m ? (size_t)(m - p) : avail;
			in->start += skip;
			in->skipped += skip;
			continue;
		}
		if (avail < GP_HDR)
			return 0;
		uint32_t len = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		if (len > GP_MAX_PAYLOAD) {
			in->start++;
			in->skipped++;
			continue;
		}
		if (avail < GP_HDR + (size_t)len + 4)
			return 0;
		const uint8_t *c = p + GP_HDR + len;
		uint32_t crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
		if (crc != gp_crc32(0, p + 8, 1 + (size_t)len)) {
			in->start++;
			in->skipped++;
			continue;
		}
		*type = p[8];
		payload->p = p + GP_HDR;
		payload->len = len;
		payload->pos = 0;
		in->start += GP_HDR + (size_t)len + 4;
		return 1;
	}
}

void gp_in_reset(struct gp_in *in)
{
	in->start = in->len = 0;
}

void gp_in_free(struct gp_in *in)
{
	free(in->p);
	memset(in, 0, sizeof(*in));
}
