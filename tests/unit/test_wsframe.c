/* test_wsframe.c: the exec client's WebSocket codec (client/wsframe.c):
 * streams of frames fed whole, byte by byte and in odd slices; fragments
 * with control frames between them; masked and unmasked; limits; and the
 * upgrade response checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "wsframe.h"

/* What a stream decoded to: messages reassembled, control frames listed. */
struct sink {
	uint8_t msg[1 << 18];
	size_t msg_len;
	int nmsgs;
	uint8_t op;
	int pings, pongs, closes, close_code;
	uint8_t ping_data[WSF_MAX_CONTROL];
	size_t ping_len;
	int data_events;
	char order[64]; /* 'M' message end, 'P' ping, 'O' pong, 'C' close */
	size_t norder;
};

static void note(struct sink *s, char c)
{
	if (s->norder + 1 < sizeof(s->order))
		s->order[s->norder++] = c;
}

/* Feed BUF[0..N) in slices of STEP bytes (0: whole). Returns 0 or the
 * decoder's error. The buffer is modified (unmasked in place). */
static int feed(struct wsf_dec *d, uint8_t *buf, size_t n, size_t step, struct sink *s)
{
	size_t off = 0;

	while (off < n) {
		size_t len = step && step < n - off ? step : n - off, pos = 0;

		while (pos < len) {
			struct wsf_ev ev;
			ssize_t r = wsf_decode(d, buf + off + pos, len - pos, &ev);

			if (r < 0)
				return (int)r;
			assert_true((size_t)r <= len - pos);
			pos += (size_t)r;
			switch (ev.kind) {
			case WSF_EV_NONE:
				assert_int_equal(pos, len); /* NONE only when all was used */
				break;
			case WSF_EV_DATA:
				s->data_events++;
				if (ev.first) {
					s->msg_len = 0;
					s->op = ev.opcode;
				}
				assert_true(s->msg_len + ev.len <= sizeof(s->msg));
				memcpy(s->msg + s->msg_len, ev.data, ev.len);
				s->msg_len += ev.len;
				if (ev.last) {
					s->nmsgs++;
					note(s, 'M');
				}
				break;
			case WSF_EV_PING:
				s->pings++;
				memcpy(s->ping_data, ev.data, ev.len);
				s->ping_len = ev.len;
				note(s, 'P');
				break;
			case WSF_EV_PONG:
				s->pongs++;
				note(s, 'O');
				break;
			case WSF_EV_CLOSE:
				s->closes++;
				s->close_code = ev.close_code;
				note(s, 'C');
				break;
			}
		}
		off += len;
	}
	return 0;
}

/* Append one frame to OUT at *N; masked with a fixed mask if MASKED. */
static void put(uint8_t *out, size_t *n, uint8_t op, bool fin, const void *p, size_t len, bool masked)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t h = wsf_build_hdr(out + *n, op, fin, len, masked ? mask : NULL);

	memcpy(out + *n + h, p, len);
	if (masked)
		wsf_mask(out + *n + h, len, mask, 0);
	*n += h + len;
}

static uint8_t stream[1 << 19], copy[1 << 19];

/* Decode STREAM[0..N) whole, byte by byte and in slices of 7 and 4096;
 * every way must give the same result as the whole run, put in *OUT. */
static void decode_all_ways(size_t n, bool masked, struct sink *out)
{
	static const size_t steps[] = { 0, 1, 7, 4096 };
	static struct sink s;

	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		struct wsf_dec d;

		memcpy(copy, stream, n);
		memset(&s, 0, sizeof(s));
		wsf_dec_init(&d, masked, 1 << 20, 1 << 20);
		assert_int_equal(feed(&d, copy, n, steps[k], &s), 0);
		if (k == 0) {
			*out = s;
		} else {
			assert_int_equal(s.nmsgs, out->nmsgs);
			assert_int_equal(s.msg_len, out->msg_len);
			assert_memory_equal(s.msg, out->msg, s.msg_len);
			assert_string_equal(s.order, out->order);
		}
	}
}

static struct sink res;

static void single_messages_whole_and_byte_by_byte(void **state)
{
	uint8_t big[70000];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	put(stream, &n, WSF_OP_BINARY, true, "\x01hello", 6, false);
	put(stream, &n, WSF_OP_BINARY, true, big, 300, false);	     /* 16-bit length */
	put(stream, &n, WSF_OP_BINARY, true, big, sizeof(big), false); /* 64-bit length */
	decode_all_ways(n, false, &res);
	assert_int_equal(res.nmsgs, 3);
	assert_int_equal(res.op, WSF_OP_BINARY);
	assert_int_equal(res.msg_len, sizeof(big));
	assert_memory_equal(res.msg, big, sizeof(big));
}

static void masked_frames_for_a_server_decoder(void **state)
{
	uint8_t big[40000];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	put(stream, &n, WSF_OP_BINARY, false, big, 13, true);
	put(stream, &n, WSF_OP_PING, true, "pp", 2, true);
	put(stream, &n, WSF_OP_CONT, true, big + 13, sizeof(big) - 13, true);
	decode_all_ways(n, true, &res);
	assert_int_equal(res.nmsgs, 1);
	assert_int_equal(res.msg_len, sizeof(big));
	assert_memory_equal(res.msg, big, sizeof(big));
	assert_int_equal(res.ping_len, 2);
	assert_memory_equal(res.ping_data, "pp", 2);
	assert_string_equal(res.order, "PM");
}

static void fragments_with_control_frames_between(void **state)
{
	size_t n = 0;

	(void)state;
	put(stream, &n, WSF_OP_BINARY, false, "\x01" "ab", 3, false);
	put(stream, &n, WSF_OP_PING, true, "x", 1, false);
	put(stream, &n, WSF_OP_CONT, false, "", 0, false); /* empty middle fragment */
	put(stream, &n, WSF_OP_PONG, true, "", 0, false);
	put(stream, &n, WSF_OP_CONT, true, "cd", 2, false);
	put(stream, &n, WSF_OP_CLOSE, true, "\x03\xe8" "bye", 5, false);
	decode_all_ways(n, false, &res);
	assert_int_equal(res.nmsgs, 1);
	assert_int_equal(res.msg_len, 5);
	assert_memory_equal(res.msg, "\x01" "abcd", 5);
	assert_int_equal(res.pings, 1);
	assert_int_equal(res.pongs, 1);
	assert_int_equal(res.close_code, 1000);
	assert_string_equal(res.order, "POMC");
}

static void empty_messages_and_close_without_code(void **state)
{
	size_t n = 0;

	(void)state;
	put(stream, &n, WSF_OP_BINARY, true, "", 0, false);
	put(stream, &n, WSF_OP_BINARY, true, "\x02", 1, false);
	put(stream, &n, WSF_OP_CLOSE, true, "", 0, false);
	decode_all_ways(n, false, &res);
	assert_int_equal(res.nmsgs, 2);
	assert_int_equal(res.close_code, 1005);
	assert_string_equal(res.order, "MMC");
}

static void text_messages_are_reported_as_text(void **state)
{
	size_t n = 0;

	(void)state;
	put(stream, &n, WSF_OP_TEXT, true, "1aGk=", 5, false);
	decode_all_ways(n, false, &res);
	assert_int_equal(res.op, WSF_OP_TEXT);
}

/* Decode N bytes of STREAM, expecting the error RC (whole and byte by byte). */
static void expect_error(size_t n, bool masked, int rc, uint64_t max_frame, uint64_t max_msg)
{
	for (int k = 0; k < 2; k++) {
		struct wsf_dec d;
		static struct sink s;
		struct wsf_ev ev;

		memcpy(copy, stream, n);
		memset(&s, 0, sizeof(s));
		wsf_dec_init(&d, masked, max_frame, max_msg);
		assert_int_equal(feed(&d, copy, n, k ? 1 : 0, &s), rc);
		assert_true(d.err[0] != '\0');
		assert_int_equal(wsf_decode(&d, copy, n, &ev), -EPROTO); /* stays failed */
	}
}

static void broken_streams_are_refused(void **state)
{
	uint8_t big[200];
	size_t n;

	(void)state;
	memset(big, 'z', sizeof(big));
	n = 0; /* a server must not mask */
	put(stream, &n, WSF_OP_BINARY, true, "a", 1, true);
	expect_error(n, false, -EPROTO, 0, 0);
	n = 0; /* a client must mask */
	put(stream, &n, WSF_OP_BINARY, true, "a", 1, false);
	expect_error(n, true, -EPROTO, 0, 0);
	n = 0; /* continuation with no message */
	put(stream, &n, WSF_OP_CONT, true, "a", 1, false);
	expect_error(n, false, -EPROTO, 0, 0);
	n = 0; /* a new message inside a fragmented one */
	put(stream, &n, WSF_OP_BINARY, false, "a", 1, false);
	put(stream, &n, WSF_OP_BINARY, true, "b", 1, false);
	expect_error(n, false, -EPROTO, 0, 0);
	n = 0; /* fragmented control frame */
	put(stream, &n, WSF_OP_PING, false, "a", 1, false);
	expect_error(n, false, -EPROTO, 0, 0);
	memcpy(stream, (const uint8_t[]){ 0x89, 126, 0, 200 }, 4); /* control frame over 125 */
	expect_error(4, false, -EPROTO, 0, 0);
	memcpy(stream, (const uint8_t[]){ 0xC2, 0 }, 2); /* RSV1 */
	expect_error(2, false, -EPROTO, 0, 0);
	memcpy(stream, (const uint8_t[]){ 0x83, 0 }, 2); /* reserved opcode */
	expect_error(2, false, -EPROTO, 0, 0);
	memcpy(stream, (const uint8_t[]){ 0x82, 126, 0, 5 }, 4); /* non-minimal length */
	expect_error(4, false, -EPROTO, 0, 0);
	memcpy(stream, (const uint8_t[]){ 0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10); /* top bit */
	expect_error(10, false, -EPROTO, 0, 0);
	n = 0; /* close with a 1-byte payload */
	put(stream, &n, WSF_OP_CLOSE, true, "a", 1, false);
	expect_error(n, false, -EPROTO, 0, 0);
}

static void oversize_frames_and_messages_are_refused(void **state)
{
	uint8_t big[300];
	size_t n = 0;

	(void)state;
	memset(big, 'q', sizeof(big));
	put(stream, &n, WSF_OP_BINARY, true, big, 101, false);
	expect_error(n, false, -EMSGSIZE, 100, 0);
	n = 0; /* each fragment fits, the message does not */
	put(stream, &n, WSF_OP_BINARY, false, big, 80, false);
	put(stream, &n, WSF_OP_CONT, false, big, 80, false);
	put(stream, &n, WSF_OP_CONT, true, big, 80, false);
	expect_error(n, false, -EMSGSIZE, 100, 200);
	/* the header alone is enough to refuse: no payload needed */
	memcpy(stream, (const uint8_t[]){ 0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0 }, 10);
	expect_error(10, false, -EMSGSIZE, 1 << 20, 0);
	/* at the limit is fine */
	n = 0;
	put(stream, &n, WSF_OP_BINARY, false, big, 100, false);
	put(stream, &n, WSF_OP_CONT, true, big, 100, false);
	{
		struct wsf_dec d;
		static struct sink s;

		memset(&s, 0, sizeof(s));
		wsf_dec_init(&d, false, 100, 200);
		assert_int_equal(feed(&d, stream, n, 0, &s), 0);
		assert_int_equal(s.msg_len, 200);
	}
}

static void mask_matches_bytewise_at_any_offset(void **state)
{
	const uint8_t mask[4] = { 0xde, 0xad, 0xbe, 0xef };
	uint8_t a[67], b[67];

	(void)state;
	for (uint64_t off = 0; off < 9; off++)
		for (size_t len = 0; len <= sizeof(a); len += 11) {
			for (size_t i = 0; i < sizeof(a); i++)
				a[i] = b[i] = (uint8_t)(i * 31);
			wsf_mask(a, len, mask, off);
			for (size_t i = 0; i < len; i++)
				b[i] ^= mask[(off + i) & 3];
			assert_memory_equal(a, b, sizeof(a));
		}
}

static void accept_key_and_fresh_keys(void **state)
{
	char out[32], k1[32], k2[32];

	(void)state;
	assert_int_equal(wsf_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(wsf_accept_key("", out), -EINVAL);
	assert_int_equal(wsf_make_key(k1), 0);
	assert_int_equal(wsf_make_key(k2), 0);
	assert_int_equal(strlen(k1), 24);
	assert_string_not_equal(k1, k2);
}

static int check(const char *head, long *st, char *proto, char *err)
{
	return wsf_check_response(head, strlen(head), "dGhlIHNhbXBsZSBub25jZQ==",
				  "v5.channel.k8s.io,v4.channel.k8s.io", st, proto, 64, err, 256);
}

static void upgrade_response_checks(void **state)
{
	char proto[64], err[256];
	long st;
	const char *ok = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
			 "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
			 "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n";

	(void)state;
	assert_int_equal(wsf_head_len(ok, strlen(ok)), strlen(ok));
	assert_int_equal(wsf_head_len(ok, strlen(ok) - 1), 0);
	assert_int_equal(check(ok, &st, proto, err), 0);
	assert_int_equal(st, 101);
	assert_string_equal(proto, "v4.channel.k8s.io");
	assert_int_equal(check("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", &st, proto, err),
			 -ECONNREFUSED);
	assert_int_equal(st, 403);
	assert_non_null(strstr(err, "403"));
	/* wrong accept */
	assert_int_equal(check("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			       "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
			       &st, proto, err),
			 -EPROTO);
	/* no accept at all */
	assert_int_equal(check("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", &st, proto,
			       err),
			 -EPROTO);
	/* a subprotocol not offered */
	assert_int_equal(check("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
			       "Sec-WebSocket-Protocol: channel.k8s.io\r\n\r\n",
			       &st, proto, err),
			 -EPROTO);
	/* no Upgrade header */
	assert_int_equal(check("HTTP/1.1 101 x\r\nConnection: Upgrade\r\n"
			       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
			       &st, proto, err),
			 -EPROTO);
	/* no subprotocol chosen: valid WebSocket, empty protocol */
	assert_int_equal(check("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
			       &st, proto, err),
			 0);
	assert_string_equal(proto, "");
	assert_int_equal(check("SSH-2.0-OpenSSH\r\n\r\n", &st, proto, err), -EPROTO);
	assert_int_equal(st, 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(single_messages_whole_and_byte_by_byte),
	cmocka_unit_test(masked_frames_for_a_server_decoder),
	cmocka_unit_test(fragments_with_control_frames_between),
	cmocka_unit_test(empty_messages_and_close_without_code),
	cmocka_unit_test(text_messages_are_reported_as_text),
	cmocka_unit_test(broken_streams_are_refused),
	cmocka_unit_test(oversize_frames_and_messages_are_refused),
	cmocka_unit_test(mask_matches_bytewise_at_any_offset),
	cmocka_unit_test(accept_key_and_fresh_keys),
	cmocka_unit_test(upgrade_response_checks),
};

UNIT_MAIN(tests)
