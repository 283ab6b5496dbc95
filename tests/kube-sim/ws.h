/* ws.h: RFC 6455 frame codec for kube-sim (server side).
 *
 * Pure functions on byte buffers, no I/O: the header parser is incremental
 * (returns 0 when more bytes are needed), so it can be fed a stream one
 * byte at a time. Unit-tested in tests/unit/test_ws.c.
 */
#ifndef KSIM_WS_H
#define KSIM_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

#define WS_MAX_HEADER 14

struct ws_hdr {
	bool fin;
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t len;
};

/* Parse one frame header at BUF[0..N). Returns the header length (>0),
 * 0 if more bytes are needed, -EPROTO for a malformed header (reserved
 * bits set, unknown opcode, control frame fragmented or over 125 bytes,
 * non-minimal or 64-bit length with the top bit set). */
int ws_parse_hdr(const uint8_t *buf, size_t n, struct ws_hdr *h);

/* Write a header into OUT (at least WS_MAX_HEADER bytes); MASK NULL for an
 * unmasked (server) frame. Returns its length. */
size_t ws_build_hdr(uint8_t *out, uint8_t opcode, bool fin, uint64_t len, const uint8_t *mask);

/* XOR N bytes of payload with MASK, OFFSET being the position of DATA[0]
 * within the frame's payload. */
void ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset);

/* Sec-WebSocket-Accept for KEY: base64(sha1(KEY + GUID)) into OUT (29 bytes
 * with the NUL). Returns 0 or -EINVAL. */
int ws_accept_key(const char *key, char out[32]);

#endif
