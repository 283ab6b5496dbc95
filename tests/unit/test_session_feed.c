/* test_session_feed.c: helper/session.c's output splitter (feed), white
 * box: the file is included so its static reader state can be driven
 * directly. Answers of many requests, each followed by the marker and
 * its "ID STATUS" line, are fed in pieces of every size (1 byte, sizes
 * around the marker's length, 64 KiB scan chunks, whole); every answer
 * must come out exactly, also when its data holds near-markers (the
 * marker's start, the nonce without its newline) and when a piece ends
 * inside a marker. Out-of-step input is -EPROTO. */
#include "../../helper/session.c"

#include "unit.h"

#define NREQ 12

static unsigned long long rnd_state = 88172645463325252ull;

static unsigned rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)rnd_state;
}

struct fixture {
	struct hsess s;
	struct req r[NREQ];
	struct buf out[NREQ];
	struct buf want[NREQ];
	struct buf stream;
};

/* Request I's answer: SIZE bytes, random or runs of near-markers. */
static void make_answer(struct fixture *f, int i, size_t size)
{
	struct buf *w = &f->want[i];

	buf_init(w, 8u << 20);
	while (w->len < size) {
		unsigned k = rnd() % 4;
		char c;

		if (k == 0 && w->len + MARK_LEN - 1 <= size) /* a marker but its last byte */
			buf_append(w, f->s.mark, MARK_LEN - 1);
		else if (k == 1 && w->len + NONCE_HEX <= size) /* the nonce without "\n" */
			buf_append(w, f->s.mark + 1, NONCE_HEX);
		else {
			c = k == 2 ? '\n' : (char)rnd();
			if (c == ' ')
				c = '_'; /* a space could complete a real marker */
			buf_append(w, &c, 1);
		}
	}
}

static void setup_fixture(struct fixture *f, const size_t *sizes)
{
	char line[64];

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->s.lock, NULL);
	buf_init(&f->s.trailer, LINE_MAX_TRAILER + 1);
	f->s.mark[0] = '\n';
	for (int i = 0; i < NONCE_HEX; i++)
		f->s.mark[1 + i] = "0123456789abcdef"[rnd() % 16];
	f->s.mark[MARK_LEN - 1] = ' ';
	buf_init(&f->stream, 64u << 20);
	for (int i = 0; i < NREQ; i++) {
		make_answer(f, i, sizes[i]);
		buf_init(&f->out[i], 8u << 20);
		f->r[i].id = 100 + (unsigned)i;
		f->r[i].out = &f->out[i];
		pthread_cond_init(&f->r[i].cond, NULL);
		f->r[i].next = i + 1 < NREQ ? &f->r[i + 1] : NULL;
		buf_append(&f->stream, f->want[i].data, f->want[i].len);
		snprintf(line, sizeof(line), "%s%u %d\n", f->s.mark, f->r[i].id, i % 3);
		buf_append(&f->stream, line, strlen(line));
	}
	f->s.head = &f->r[0];
	f->s.tail = &f->r[NREQ - 1];
}

static void teardown_fixture(struct fixture *f)
{
	for (int i = 0; i < NREQ; i++) {
		buf_cleanup(&f->out[i]);
		buf_cleanup(&f->want[i]);
		pthread_cond_destroy(&f->r[i].cond);
	}
	buf_cleanup(&f->stream);
	buf_cleanup(&f->s.trailer);
	pthread_mutex_destroy(&f->s.lock);
}

/* Feed the stream in pieces from PIECE(); check every answer. */
static void run_pieces(size_t (*piece)(size_t at))
{
	static const size_t sizes[NREQ] = { 0, 1, MARK_LEN - 1, MARK_LEN, 2 * MARK_LEN - 1, 2 * MARK_LEN,
					    1000, 65535, 65536, 65537, 300000, 1u << 20 };
	struct fixture *f = malloc(sizeof(*f));

	assert_non_null(f);
	setup_fixture(f, sizes);
	for (size_t at = 0; at < f->stream.len;) {
		size_t n = piece(at);

		if (n > f->stream.len - at)
			n = f->stream.len - at;
		assert_int_equal(feed(&f->s, f->stream.data + at, n), 0);
		at += n;
	}
	assert_null(f->s.head);
	for (int i = 0; i < NREQ; i++) {
		assert_true(f->r[i].done);
		assert_int_equal(f->r[i].rc, 0);
		assert_int_equal(f->r[i].status, i % 3);
		assert_int_equal(f->out[i].len, f->want[i].len);
		if (f->want[i].len)
			assert_memory_equal(f->out[i].data, f->want[i].data, f->want[i].len);
	}
	teardown_fixture(f);
	free(f);
}

static size_t p_whole(size_t at)
{
	(void)at;
	return SIZE_MAX;
}

static size_t p_one(size_t at)
{
	(void)at;
	return 1;
}

static size_t p_random_small(size_t at)
{
	(void)at;
	return 1 + rnd() % (3 * MARK_LEN);
}

static size_t p_random_big(size_t at)
{
	(void)at;
	return 1 + rnd() % 200000;
}

static size_t p_scan_chunk(size_t at)
{
	(void)at;
	return SCAN_CHUNK + 7;
}

static void feeds_whole(void **state)
{
	(void)state;
	run_pieces(p_whole);
}

static void feeds_byte_by_byte(void **state)
{
	(void)state;
	run_pieces(p_one);
}

static void feeds_small_random_pieces(void **state)
{
	(void)state;
	for (int k = 0; k < 5; k++)
		run_pieces(p_random_small);
}

static void feeds_big_random_pieces(void **state)
{
	(void)state;
	for (int k = 0; k < 20; k++)
		run_pieces(p_random_big);
}

static void feeds_scan_chunks(void **state)
{
	(void)state;
	run_pieces(p_scan_chunk);
}

static void out_of_step_is_eproto(void **state)
{
	static const size_t sizes[NREQ] = { 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10 };
	struct fixture *f = malloc(sizeof(*f));
	char line[80];

	(void)state;
	assert_non_null(f);
	setup_fixture(f, sizes);
	/* a trailer with the wrong id */
	snprintf(line, sizeof(line), "abc%s999 0\n", f->s.mark);
	assert_int_equal(feed(&f->s, line, strlen(line)), -EPROTO);
	teardown_fixture(f);
	/* output after every request is answered */
	setup_fixture(f, sizes);
	f->s.head = f->s.tail = NULL;
	assert_int_equal(feed(&f->s, "stray output that nobody asked for, long enough", 47), -EPROTO);
	teardown_fixture(f);
	free(f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(feeds_whole),
		cmocka_unit_test(feeds_byte_by_byte),
		cmocka_unit_test(feeds_small_random_pieces),
		cmocka_unit_test(feeds_big_random_pieces),
		cmocka_unit_test(feeds_scan_chunks),
		cmocka_unit_test(out_of_step_is_eproto),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
