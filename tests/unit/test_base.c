/* test_base.c: bounded buffers and the checked number parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "buf.h"
#include "strparse.h"

static void buf_appends_and_terminates(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(buf_printf(&b, "-%d-", 42), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "abc-42-");
	buf_consume(&b, 4);
	assert_string_equal(b.data, "42-");
	buf_cleanup(&b);
}

static void buf_refuses_past_ceiling(void **state)
{
	struct buf b;
	char big[64];

	(void)state;
	memset(big, 'x', sizeof(big));
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, big, 64), 0);
	assert_int_equal(buf_append(&b, big, 37), -E2BIG);
	assert_int_equal(b.len, 64); /* nothing appended */
	assert_int_equal(buf_append(&b, big, 36), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_append(&b, "y", 1), -E2BIG);
	assert_int_equal(buf_printf(&b, "%s", "z"), -E2BIG);
	buf_cleanup(&b);
}

static void buf_take_hands_over(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 10);
	p = buf_take(&b); /* empty buffer still gives a string */
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	buf_append_str(&b, "hi");
	p = buf_take(&b);
	assert_string_equal(p, "hi");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
}

static void parse_u64_accepts_exact_decimal(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64_str("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64_str("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("12345", 3, 1000, &v), 0); /* only the slice */
	assert_int_equal(v, 123);
}

static void parse_u64_rejects_garbage_and_overflow(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(parse_u64_str("", 10, &v), -EINVAL);
	assert_int_equal(parse_u64_str(" 1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64_str("1 ", 10, &v), -EINVAL);
	assert_int_equal(parse_u64_str("+1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64_str("-1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64_str("0x10", 100, &v), -EINVAL);
	assert_int_equal(parse_u64_str("11", 10, &v), -ERANGE);
	assert_int_equal(parse_u64_str("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64_str("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void parse_i64_handles_sign_and_bounds(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(parse_i64("-5", 2, -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("-11", 3, -10, 10, &v), -ERANGE);
	assert_int_equal(parse_i64("3", 1, 5, 10, &v), -ERANGE);
	assert_int_equal(parse_i64("-", 1, -10, 10, &v), -EINVAL);
	assert_int_equal(parse_i64("--1", 3, -10, 10, &v), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(buf_appends_and_terminates),
	cmocka_unit_test(buf_refuses_past_ceiling),
	cmocka_unit_test(buf_take_hands_over),
	cmocka_unit_test(parse_u64_accepts_exact_decimal),
	cmocka_unit_test(parse_u64_rejects_garbage_and_overflow),
	cmocka_unit_test(parse_i64_handles_sign_and_bounds),
};

UNIT_MAIN(tests)
