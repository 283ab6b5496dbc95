/* test_ws.c: kube-sim's WebSocket frame codec and HTTP query decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "ksim.h"
#include "ws.h"

static void accept_key_matches_rfc6455_example(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key("", out), -EINVAL);
}

/* Build a header, parse it back whole and byte by byte. */
static void roundtrip(uint8_t op, bool fin, uint64_t len, bool masked)
{
	uint8_t buf[WS_MAX_HEADER];
	const uint8_t mask[4] = { 1, 2, 3, 4 };
	size_t n = ws_build_hdr(buf, op, fin, len, masked ? mask : NULL);
	struct ws_hdr h;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(ws_parse_hdr(buf, i, &h), 0); /* needs more */
	assert_int_equal(ws_parse_hdr(buf, n, &h), (int)n);
	assert_int_equal(h.opcode, op);
	assert_int_equal(h.fin, fin);
	assert_true(h.len == len);
	assert_int_equal(h.masked, masked);
	if (masked)
		assert_memory_equal(h.mask, mask, 4);
}

static void header_roundtrips_all_length_forms(void **state)
{
	(void)state;
	roundtrip(WS_OP_BINARY, true, 0, false);
	roundtrip(WS_OP_BINARY, true, 125, true);
	roundtrip(WS_OP_BINARY, false, 126, true);
	roundtrip(WS_OP_CONT, true, 65535, false);
	roundtrip(WS_OP_BINARY, true, 65536, true);
	roundtrip(WS_OP_BINARY, true, (1ULL << 40) + 3, true);
	roundtrip(WS_OP_PING, true, 125, true);
	roundtrip(WS_OP_CLOSE, true, 2, false);
}

static void header_rejects_malformed(void **state)
{
	struct ws_hdr h;

	(void)state;
	/* RSV1 set */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0xC2, 0x00 }, 2, &h), -EPROTO);
	/* reserved opcode 3 */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0x83, 0x00 }, 2, &h), -EPROTO);
	/* fragmented ping */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0x09, 0x00 }, 2, &h), -EPROTO);
	/* control frame of 126 bytes */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0x89, 126, 0, 126 }, 4, &h), -EPROTO);
	/* 16-bit length form for a length that fits in 7 bits */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0x82, 126, 0, 5 }, 4, &h), -EPROTO);
	/* 64-bit length with the top bit set */
	assert_int_equal(ws_parse_hdr((const uint8_t[]){ 0x82, 127, 0x80, 0, 0, 0, 0, 1, 0, 0 }, 10, &h),
			 -EPROTO);
}

static void unmask_respects_offset(void **state)
{
	const uint8_t mask[4] = { 0xA1, 0xB2, 0xC3, 0xD4 };
	uint8_t data[11] = "hello world", whole[11], parts[11];

	(void)state;
	memcpy(whole, data, sizeof(data));
	ws_unmask(whole, sizeof(whole), mask, 0);
	/* The same bytes unmasked in three uneven pieces give the same result. */
	memcpy(parts, data, sizeof(data));
	ws_unmask(parts, 3, mask, 0);
	ws_unmask(parts + 3, 5, mask, 3);
	ws_unmask(parts + 8, 3, mask, 8);
	assert_memory_equal(whole, parts, sizeof(whole));
	ws_unmask(parts, sizeof(parts), mask, 0);
	assert_memory_equal(parts, data, sizeof(data));
}

static void query_decodes_form_encoding(void **state)
{
	struct qparam *q;
	size_t n;

	(void)state;
	assert_int_equal(query_parse("command=sh&command=-c&command=echo+out%3B+exit+3&container=main&stdout=true&stdin",
				     &q, &n),
			 0);
	assert_int_equal(n, 6);
	assert_string_equal(q[0].key, "command");
	assert_string_equal(q[0].val, "sh");
	assert_string_equal(q[1].val, "-c");
	assert_string_equal(q[2].val, "echo out; exit 3");
	assert_string_equal(query_get(q, n, "container"), "main");
	assert_true(query_bool(q, n, "stdout"));
	assert_true(query_bool(q, n, "stdin")); /* present, empty: true */
	assert_false(query_bool(q, n, "tty"));	/* missing: false */
	query_free(q, n);
	assert_int_equal(query_parse("a=%2Ftmp%2Fx+y%25&b=%e2%82%ac", &q, &n), 0);
	assert_string_equal(q[0].val, "/tmp/x y%");
	assert_string_equal(q[1].val, "\xe2\x82\xac");
	query_free(q, n);
}

static void query_bool_follows_kubernetes_rule(void **state)
{
	struct qparam *q;
	size_t n;

	(void)state;
	assert_int_equal(query_parse("a=0&b=FALSE&c=1&d=yes&e=false&e=true", &q, &n), 0);
	assert_false(query_bool(q, n, "a"));
	assert_false(query_bool(q, n, "b"));
	assert_true(query_bool(q, n, "c"));
	assert_true(query_bool(q, n, "d"));
	assert_false(query_bool(q, n, "e")); /* only the first value counts */
	query_free(q, n);
}

static void query_rejects_bad_escapes_and_nul(void **state)
{
	struct qparam *q;
	size_t n;

	(void)state;
	assert_int_equal(query_parse("command=%zz", &q, &n), -EINVAL);
	assert_int_equal(query_parse("command=%4", &q, &n), -EINVAL);
	assert_int_equal(query_parse("command=a%00b", &q, &n), -EINVAL);
	assert_int_equal(query_parse("", &q, &n), 0);
	assert_int_equal(n, 0);
	query_free(q, n);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(accept_key_matches_rfc6455_example),
	cmocka_unit_test(header_roundtrips_all_length_forms),
	cmocka_unit_test(header_rejects_malformed),
	cmocka_unit_test(unmask_respects_offset),
	cmocka_unit_test(query_decodes_form_encoding),
	cmocka_unit_test(query_bool_follows_kubernetes_rule),
	cmocka_unit_test(query_rejects_bad_escapes_and_nul),
};

UNIT_MAIN(tests)
