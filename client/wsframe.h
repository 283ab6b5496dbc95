/* wsframe.h: RFC 6455 WebSocket framing for exec's client side: an
 * incremental frame decoder, frame headers, masking, and the checks of the
 * HTTP/1.1 upgrade (key, accept, response head).
 *
 * Pure functions on byte buffers, no I/O, no allocation, no threads: one
 * struct wsf_dec per connection, used by one thread at a time.
 * Errors: negative errno (-EPROTO for a peer that breaks RFC 6455,
 * -EMSGSIZE for a frame or message over the limits, -EINVAL for bad
 * arguments), with a message in the decoder's err[] where it says so.
 */
#ifndef PODFS_WSFRAME_H
#define PODFS_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	WSF_OP_CONT = 0x0,
	WSF_OP_TEXT = 0x1,
	WSF_OP_BINARY = 0x2,
	WSF_OP_CLOSE = 0x8,
	WSF_OP_PING = 0x9,
	WSF_OP_PONG = 0xA,
};

#define WSF_MAX_HEADER 14
#define WSF_MAX_CONTROL 125

/* What one wsf_decode() call found. */
enum wsf_ev_kind {
	WSF_EV_NONE,  /* every byte given was used: feed more */
	WSF_EV_DATA,  /* payload bytes of a text/binary message (maybe 0) */
	WSF_EV_PING,  /* a whole control frame: data/len is its payload */
	WSF_EV_PONG,
	WSF_EV_CLOSE, /* close_code: the code, 1005 if none was sent */
};

struct wsf_ev {
	enum wsf_ev_kind kind;
	uint8_t opcode;	   /* DATA: WSF_OP_TEXT or WSF_OP_BINARY (the message's) */
	bool first;	   /* DATA: these bytes start a message */
	bool last;	   /* DATA: these bytes end it */
	const uint8_t *data; /* DATA: inside the caller's buffer; else the decoder's */
	size_t len;
	int close_code;
};

/* Decoder state; fields are private. */
struct wsf_dec {
	uint8_t hdr[WSF_MAX_HEADER];
	size_t hdr_len;
	bool in_frame;	  /* header parsed, payload pending */
	bool fin;
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t remaining; /* payload bytes of the current frame still to come */
	uint64_t offset;    /* payload bytes of the current frame seen */
	bool in_msg;	    /* a data message is open (fragments follow) */
	bool msg_started;   /* its first byte (or empty first frame) was reported */
	uint8_t msg_op;
	uint64_t msg_len;
	uint8_t ctl[WSF_MAX_CONTROL];
	size_t ctl_len;
	/* settings */
	bool expect_masked; /* true: a server's decoder (client frames are masked) */
	uint64_t max_frame, max_msg;
	bool failed;
	char err[128];
};

/* EXPECT_MASKED: true to decode a client's frames (all masked), false for
 * a server's (none masked). MAX_FRAME / MAX_MSG: payload limits (0 = none)
 * of one frame and of one reassembled message. */
void wsf_dec_init(struct wsf_dec *d, bool expect_masked, uint64_t max_frame, uint64_t max_msg);

/* Decode from BUF[0..N). Returns how many bytes were used (>= 0) and sets
 * *EV; call again with the rest while it returns an event other than
 * WSF_EV_NONE or has bytes left. Masked payload is unmasked in place in
 * BUF. Data events point into BUF (no copy): payload of a frame that is
 * split between calls comes as several events. Empty frames yield a DATA
 * event with len 0, so empty messages are seen too.
 * Returns -EPROTO or -EMSGSIZE (message in d->err) on a broken stream;
 * the decoder then stays failed. */
ssize_t wsf_decode(struct wsf_dec *d, uint8_t *buf, size_t n, struct wsf_ev *ev);

/* Write a frame header into OUT (at least WSF_MAX_HEADER bytes); MASK NULL
 * for an unmasked (server) frame. Returns its length. */
size_t wsf_build_hdr(uint8_t *out, uint8_t opcode, bool fin, uint64_t len, const uint8_t mask[4]);

/* XOR N bytes with MASK; OFFSET is DATA[0]'s position in the frame's
 * payload. Word at a time. */
void wsf_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset);

/* Sec-WebSocket-Accept for KEY: base64(sha1(KEY GUID)) into OUT (NUL
 * terminated). Returns 0 or -EINVAL. */
int wsf_accept_key(const char *key, char out[32]);

/* A fresh Sec-WebSocket-Key (base64 of 16 random bytes) into OUT. Returns
 * 0 or -EIO when no random bytes. */
int wsf_make_key(char out[32]);

/* Where the HTTP response head ends in BUF[0..N): the length including
 * the blank line, 0 if not complete yet. */
size_t wsf_head_len(const char *buf, size_t n);

/* Check the response head HEAD[0..LEN) to an upgrade that sent KEY and
 * offered the comma-separated subprotocols OFFERED.
 * *STATUS gets the HTTP status (0 if the status line is unreadable).
 * Returns 0 for a valid 101 (PROTO gets the chosen subprotocol, "" if the
 * server chose none), -ECONNREFUSED for another status, -EPROTO for a 101
 * that breaks RFC 6455 (missing Upgrade/Connection, wrong accept, a
 * subprotocol we did not offer). ERR says why. */
int wsf_check_response(const char *head, size_t len, const char *key, const char *offered,
		       long *status, char *proto, size_t protolen, char *err, size_t errlen);

#endif
