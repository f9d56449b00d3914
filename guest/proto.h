/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between bpfdiff (harness/backend_guest.c) and the agent
 * that runs inside a guest kernel (guest/agent.c), over a virtio-serial port.
 *
 *   frame  = "BDG1" | u32 len | u8 type | payload[len] | u32 crc32(type, payload)
 *
 * Every integer is big-endian on the wire and every field is written byte by
 * byte, so the same code is right on little- and big-endian (s390x) agents.
 * Instructions travel as 8 bytes: opcode, dst | src << 4, off (be16), imm
 * (be32), i.e. RFC 9669's fields and not a host struct's memory layout.
 *
 * Host -> agent                              Agent -> host
 *   HELLO  u32 nonce                           HELLO  u32 nonce, u8 jit_available, u8 jit,
 *                                                     u8 reg_invariants, str release, str machine,
 *                                                     str detail
 *   RUN    u8 jit, u32 ninsns, u32 mem_len,    RESULT u8 status, u64 r0, u64 duration_ns,
 *          insns[ninsns], mem[mem_len]                u8 jit (state it ran with), u32 mem_len,
 *                                                     mem[mem_len], str message, str warning
 *                                              ERROR  str message (a request it could not serve)
 * str = u16 length + bytes. A reader that meets a bad magic or checksum
 * drops one byte and looks for the next magic.
 */
#ifndef BPFDIFF_GUEST_PROTO_H
#define BPFDIFF_GUEST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vm/ebpf.h"

#define GP_MAGIC "BDG1"
#define GP_HDR 9                       /* magic, len, type */
#define GP_MAX_PAYLOAD (64u << 20)

enum gp_type {
	GP_HELLO = 'H',
	GP_RUN = 'R',
	GP_RESULT = 'r',
	GP_ERROR = 'E',
};

/* Agent statuses in a RESULT: kexec's, plus what only a guest can say. */
enum gp_status {
	GP_OK = 0,
	GP_REJECTED = 1,
	GP_UNSUPPORTED = 2,
	GP_ERROR_ST = 3,
};

/* A growable byte buffer that frames are built in. */
struct gp_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

void gp_begin(struct gp_buf *b, enum gp_type type); /* resets b, writes the header */
void gp_u8(struct gp_buf *b, uint8_t v);
void gp_u16(struct gp_buf *b, uint16_t v);
void gp_u32(struct gp_buf *b, uint32_t v);
void gp_u64(struct gp_buf *b, uint64_t v);
void gp_bytes(struct gp_buf *b, const void *p, size_t n);
void gp_str(struct gp_buf *b, const char *s);
void gp_insn(struct gp_buf *b, const struct ebpf_insn *in);
/* Fills in the length and appends the checksum; false when out of memory. */
bool gp_end(struct gp_buf *b);
void gp_free(struct gp_buf *b);

/* Reading a payload: every getter fails (returns false) past the end. */
struct gp_reader {
	const uint8_t *p;
	size_t len, pos;
};
bool gp_get_u8(struct gp_reader *r, uint8_t *v);
bool gp_get_u16(struct gp_reader *r, uint16_t *v);
bool gp_get_u32(struct gp_reader *r, uint32_t *v);
bool gp_get_u64(struct gp_reader *r, uint64_t *v);
bool gp_get_bytes(struct gp_reader *r, const uint8_t **p, size_t n);
bool gp_get_str(struct gp_reader *r, char *out, size_t outlen); /* truncates to outlen-1 */
bool gp_get_insn(struct gp_reader *r, struct ebpf_insn *in);

/*
 * Finding frames in a byte stream. Feed bytes with gp_in_push(); gp_in_next()
 * returns 1 with the type and payload of the next whole, checksummed frame
 * (valid until the next call), 0 when more bytes are needed. Garbage before
 * a frame is skipped and counted.
 */
struct gp_in {
	uint8_t *p;
	size_t len, cap, start;
	uint64_t skipped;
};
int gp_in_push(struct gp_in *in, const void *data, size_t n); /* 0 or -ENOMEM */
int gp_in_next(struct gp_in *in, uint8_t *type, struct gp_reader *payload);
void gp_in_reset(struct gp_in *in);
void gp_in_free(struct gp_in *in);

uint32_t gp_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif
