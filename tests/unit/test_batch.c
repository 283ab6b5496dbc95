/* test_batch.c: the tar-free batch reader (helper/batch.c), fed whole and
 * byte by byte, with honest races (a file that changed while read) and
 * hostile output (caps, bad numbers, bad order, endless lines). */
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

#define NMAX 8

struct got {
	int n;
	size_t idx[NMAX];
	char data[NMAX][64];
	size_t len[NMAX];
	int fail_at; /* return -EIO from the callback at this delivery (1-based) */
};

static int on_file(void *arg, size_t idx, const void *data, size_t len)
{
	struct got *g = arg;

	if (g->n >= NMAX || len >= sizeof(g->data[0]))
		return -EOVERFLOW;
	g->idx[g->n] = idx;
	memcpy(g->data[g->n], data, len);
	g->data[g->n][len] = '\0';
	g->len[g->n] = len;
	g->n++;
	return g->n == g->fail_at ? -EIO : 0;
}

/* Run TEXT (LEN bytes) through a reader of NNAMES names, whole or one
 * byte at a time; returns feed's error or finish's. */
static int run_batch(const char *text, size_t len, size_t nnames, size_t max_each, uint64_t max_total,
		     bool bytewise, struct got *g, size_t *dropped)
{
	struct hbatch *p;
	int rc;

	assert_int_equal(hbatch_new(&p, nnames, max_each, max_total, on_file, g), 0);
	if (bytewise) {
		rc = 0;
		for (size_t i = 0; i < len && rc == 0; i++)
			rc = hbatch_feed(p, text + i, 1);
	} else {
		rc = hbatch_feed(p, text, len);
	}
	if (rc == 0)
		rc = hbatch_finish(p);
	if (dropped)
		*dropped = hbatch_dropped(p);
	hbatch_free(p);
	return rc;
}

#define T(s) s, sizeof(s) - 1

static void good_batch_whole_and_byte_by_byte(void **state)
{
	/* data that looks like framing is data: it is framed by the sizes */
	static const char text[] = "F 1 10 1700000000.123456789\n"
				   "F 3 0 1700000001\n"
				   "F 4 4 -5\n"
				   "D\n"
				   "ab\nE 1 9 x"
				   "\0\xff\n\n"
				   "E 1 10 1700000000.123456789\n"
				   "E 2 12 1700000000\n" /* no F line (too big): ignored */
				   "E 3 0 1700000001\n"
				   "E 4 4 -5\n";

	(void)state;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct got g = { 0 };
		size_t dropped;

		assert_int_equal(run_batch(T(text), 4, 64, 1000, bytewise, &g, &dropped), 0);
		assert_int_equal(g.n, 3);
		assert_int_equal(dropped, 0);
		assert_int_equal(g.idx[0], 0);
		assert_int_equal(g.len[0], 10);
		assert_memory_equal(g.data[0], "ab\nE 1 9 x", 10);
		assert_int_equal(g.idx[1], 2);
		assert_int_equal(g.len[1], 0);
		assert_int_equal(g.idx[2], 3);
		assert_memory_equal(g.data[2], "\0\xff\n\n", 4);
	}
}

static void changed_file_drops_itself_and_later_ones(void **state)
{
	static const char text[] = "F 1 3 100\nF 2 3 100\nF 3 3 100\nF 4 2 100\nF 5 2 100\n"
				   "D\nabcxyzqqqokno"
				   "E 1 3 100\n"
				   "E 2 3 101\n" /* new mtime: 2 and every later file go */
				   "E 3 3 100\n"
				   "E 4 2 100\n";
	/* 5 has no E line either */
	struct got g = { 0 };
	size_t dropped;

	(void)state;
	assert_int_equal(run_batch(T(text), 5, 64, 1000, false, &g, &dropped), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.idx[0], 0);
	assert_string_equal(g.data[0], "abc");
	assert_int_equal(dropped, 4);

	/* no stat after the read ("x"): not known to be unchanged */
	static const char nostat[] = "F 1 2 7\nF 2 2 7\nD\nabcdE 1 2 x\nE 2 2 7\n";
	struct got g2 = { 0 };

	assert_int_equal(run_batch(T(nostat), 2, 64, 1000, true, &g2, &dropped), 0);
	assert_int_equal(g2.n, 0);
	assert_int_equal(dropped, 2);
}

static void caps_and_order_are_enforced(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
		{ T("F 1 65 1\n") },			   /* over max_each (64) */
		{ T("F 0 1 1\n") },			   /* indexes start at 1 */
		{ T("F 5 1 1\n") },			   /* beyond the names asked for */
		{ T("F 2 1 1\nF 1 1 1\n") },		   /* not increasing */
		{ T("F 2 1 1\nF 2 1 1\n") },		   /* twice */
		{ T("F 1 1 1\nD\nxF 2 1 1\n") },	   /* F after the data */
		{ T("F 1 1 1\nD\nxE 2 1 1\nE 2 1 1\n") }, /* E twice */
		{ T("F 1 1 1\nD\nxE 2 1 1\nE 1 1 1\n") }, /* E not increasing */
		{ T("F 1 1 1\nD\nxD\n") },		   /* D twice */
		{ T("E 1 1 1\n") },			   /* E before the data */
		{ T("F 1 -1 1\n") },			   /* negative size */
		{ T("F 1 18446744073709551615 1\n") },	   /* huge size */
		{ T("F 1 99999999999999999999999 1\n") },  /* overflow */
		{ T("F 1 1\n") },			   /* missing field */
		{ T("F 1 1 1 1\n") },			   /* extra field */
		{ T("F  1 1 1\n") },			   /* empty field */
		{ T("F 1 1 1a\n") },			   /* bad stamp */
		{ T("F 1 1 1.2.3\n") },			   /* bad stamp */
		{ T("F 1 1 123456789012345678901234567890123\n") }, /* long stamp */
		{ T("F 1 1 x\n") },			   /* no stat before */
		{ T("Z 1 1 1\n") },			   /* unknown line */
		{ T("\n") },				   /* empty line */
		{ T("F 1\0 1 1\n") },			   /* NUL in a line */
		{ T("F 1 1 1\nD\nxE 9 1 1\n") },	   /* E beyond the names */
		{ T("F 1 40 1\nF 2 40 1\n") },		   /* over max_total (64) */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct got g = { 0 };

			assert_int_equal(run_batch(bad[i].text, bad[i].len, 4, 64, 64, bytewise, &g, NULL),
					 -EPROTO);
			assert_int_equal(g.n, 0);
		}
	}
}

static void endless_line_and_truncation_fail(void **state)
{
	char line[4096];
	struct got g = { 0 };

	(void)state;
	memset(line, '7', sizeof(line));
	line[0] = 'F';
	line[1] = ' ';
	assert_int_equal(run_batch(line, sizeof(line), 4, 64, 1000, false, &g, NULL), -EPROTO);
	/* cut in the data (a file shrank during the cat), in a line, before
	 * the data: nothing delivered */
	assert_int_equal(run_batch(T("F 1 5 1\nD\nabc"), 4, 64, 1000, false, &g, NULL), -EPROTO);
	assert_int_equal(run_batch(T("F 1 3 1\nD\nabcE 1 3"), 4, 64, 1000, true, &g, NULL), -EPROTO);
	assert_int_equal(run_batch(T("F 1 3 1\n"), 4, 64, 1000, true, &g, NULL), -EPROTO);
	/* a file that grew during the cat: its bytes run into the E lines */
	assert_int_equal(run_batch(T("F 1 3 1\nD\nabcdE 1 4 2\n"), 4, 64, 1000, false, &g, NULL), -EPROTO);
	assert_int_equal(g.n, 0);
	/* empty output (no regular file): no file, no error */
	assert_int_equal(run_batch("", 0, 4, 64, 1000, false, &g, NULL), 0);
}

static void what_came_before_an_error_stands(void **state)
{
	static const char text[] = "F 1 1 1\nF 2 1 1\nD\nabE 1 1 1\nE 2 1 1\nE 3 garbage\n";
	struct got g = { 0 };

	(void)state;
	assert_int_equal(run_batch(T(text), 4, 64, 1000, false, &g, NULL), -EPROTO);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.data[1], "b");
}

static void callback_error_stops_the_reader(void **state)
{
	static const char text[] = "F 1 1 1\nF 2 1 1\nD\nabE 1 1 1\nE 2 1 1\n";
	struct got g = { .fail_at = 1 };

	(void)state;
	assert_int_equal(run_batch(T(text), 4, 64, 1000, false, &g, NULL), -EIO);
	assert_int_equal(g.n, 1);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(good_batch_whole_and_byte_by_byte),
	cmocka_unit_test(changed_file_drops_itself_and_later_ones),
	cmocka_unit_test(caps_and_order_are_enforced),
	cmocka_unit_test(endless_line_and_truncation_fail),
	cmocka_unit_test(what_came_before_an_error_stands),
	cmocka_unit_test(callback_error_stops_the_reader),
};

UNIT_MAIN(tests)
