/* test_pagecache.c: fs/pagecache.c with a counting fetch function:
 * aligned whole-block fetches, hits, end of file, read-ahead growth,
 * the memory budget, invalidation by stamp, errors. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "pagecache.h"

#define B PCACHE_BLOCK
#define MiB (1024 * 1024)

struct backing {
	unsigned char *data;
	size_t len;
	unsigned calls;
	uint64_t last_off;
	size_t last_len;
	size_t max_len;
	int fail; /* next call fails with this */
};

static ssize_t fetch(void *arg, uint64_t off, void *buf, size_t len)
{
	struct backing *b = arg;
	size_t n;

	b->calls++;
	b->last_off = off;
	b->last_len = len;
	if (len > b->max_len)
		b->max_len = len;
	if (b->fail) {
		int e = b->fail;

		b->fail = 0;
		return e;
	}
	if (off >= b->len)
		return 0;
	n = b->len - off < len ? b->len - off : len;
	memcpy(buf, b->data + off, n);
	return (ssize_t)n;
}

static void backing_init(struct backing *b, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = malloc(len ? len : 1);
	assert_non_null(b->data);
	for (size_t i = 0; i < len; i++)
		b->data[i] = (unsigned char)((i * 7 + i / 4096) & 0xff);
	b->len = len;
}

static struct pcache_stamp stamp(long mtime, uint64_t size)
{
	struct pcache_stamp s = { { mtime, 0 }, size, 1234 };

	return s;
}

static void miss_fetches_aligned_block_then_hits(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stats st;
	struct pcache_stamp s = stamp(1, 3 * B);
	char buf[100];

	(void)state;
	backing_init(&bk, 3 * B);
	assert_int_equal(pcache_new(&p, 8 * MiB), 0);
	pcache_set_stamp(p, 5, &s, true);
	/* a random (non-zero) offset: no read-ahead, one aligned block */
	assert_int_equal(pcache_read(p, 5, &ra, B + 1000, buf, 100, fetch, &bk), 100);
	assert_memory_equal(buf, bk.data + B + 1000, 100);
	assert_int_equal(bk.calls, 1);
	assert_int_equal(bk.last_off, B);
	assert_int_equal(bk.last_len, B);
	/* anything in that block is now a hit */
	assert_int_equal(pcache_read(p, 5, &ra, B + 50000, buf, 100, fetch, &bk), 100);
	assert_memory_equal(buf, bk.data + B + 50000, 100);
	assert_int_equal(bk.calls, 1);
	pcache_get_stats(p, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.blocks, 1);
	pcache_free(p);
	free(bk.data);
}

static void read_spanning_blocks_and_end_of_file(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	size_t flen = 2 * B + 5000;
	struct pcache_stamp s = stamp(1, flen);
	char *buf = malloc(3 * B);

	(void)state;
	backing_init(&bk, flen);
	assert_int_equal(pcache_new(&p, 8 * MiB), 0);
	pcache_set_stamp(p, 5, &s, true);
	/* across a block boundary */
	assert_int_equal(pcache_read(p, 5, &ra, B - 10, buf, 20, fetch, &bk), 20);
	assert_memory_equal(buf, bk.data + B - 10, 20);
	/* short at end of file */
	assert_int_equal(pcache_read(p, 5, &ra, 2 * B + 4000, buf, 4096, fetch, &bk), 1000);
	assert_memory_equal(buf, bk.data + 2 * B + 4000, 1000);
	/* at and past end of file */
	assert_int_equal(pcache_read(p, 5, &ra, flen, buf, 10, fetch, &bk), 0);
	assert_int_equal(pcache_read(p, 5, &ra, 10 * B, buf, 10, fetch, &bk), 0);
	/* the whole file in one read */
	assert_int_equal(pcache_read(p, 5, &ra, 0, buf, 3 * B, fetch, &bk), (ssize_t)flen);
	assert_memory_equal(buf, bk.data, flen);
	pcache_free(p);
	free(bk.data);
	free(buf);
}

static void empty_file_reads_zero_bytes(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, 0);
	char buf[10];

	(void)state;
	backing_init(&bk, 0);
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 9, &s, true);
	assert_int_equal(pcache_read(p, 9, &ra, 0, buf, sizeof(buf), fetch, &bk), 0);
	assert_int_equal(pcache_read(p, 9, &ra, 0, buf, sizeof(buf), fetch, &bk), 0);
	assert_int_equal(bk.calls, 1); /* the empty answer is cached too */
	pcache_free(p);
	free(bk.data);
}

static void sequential_reads_grow_the_window_to_1mib(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	size_t flen = 5 * MiB;
	struct pcache_stamp s = stamp(1, flen);
	char *buf = malloc(B);
	struct pcache_stats st;

	(void)state;
	backing_init(&bk, flen);
	assert_int_equal(pcache_new(&p, 64 * MiB), 0);
	pcache_set_stamp(p, 5, &s, true);
	for (size_t off = 0; off < flen; off += B) {
		assert_int_equal(pcache_read(p, 5, &ra, off, buf, B, fetch, &bk), B);
		assert_memory_equal(buf, bk.data + off, B);
	}
	/* 40 blocks in about 5 MiB / 1 MiB fetches, not 40 */
	assert_true(bk.calls <= 8);
	assert_true(bk.calls >= 5);
	assert_int_equal(ra.window, PCACHE_MAX_WINDOW);
	/* demand block + a full window, never more */
	assert_true(bk.max_len <= B + PCACHE_MAX_WINDOW);
	assert_true(bk.max_len >= PCACHE_MAX_WINDOW);
	pcache_get_stats(p, &st);
	assert_int_equal(st.fetches, bk.calls);
	assert_int_equal(st.fetched_bytes, flen); /* nothing fetched twice, nothing past EOF */
	assert_true(st.readahead_blocks > 30);
	assert_int_equal(st.hits + st.misses, 40);
	assert_int_equal(st.misses, bk.calls);
	pcache_free(p);
	free(bk.data);
	free(buf);
}

static void random_reads_do_not_read_ahead(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	size_t flen = 4 * MiB;
	struct pcache_stamp s = stamp(1, flen);
	static const uint64_t offs[] = { 3 * MiB, 1 * MiB + 77, 2 * MiB, 5000 * 64, 3 * B };
	char buf[512];

	(void)state;
	backing_init(&bk, flen);
	assert_int_equal(pcache_new(&p, 64 * MiB), 0);
	pcache_set_stamp(p, 5, &s, true);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		assert_int_equal(pcache_read(p, 5, &ra, offs[i], buf, sizeof(buf), fetch, &bk),
				 sizeof(buf));
		assert_memory_equal(buf, bk.data + offs[i], sizeof(buf));
		assert_int_equal(bk.last_len, B);
		assert_int_equal(ra.window, 0);
	}
	assert_int_equal(bk.calls, 5);
	pcache_free(p);
	free(bk.data);
}

static void budget_bounds_memory_with_lru_eviction(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stats st;
	size_t flen = 16 * B;
	struct pcache_stamp s = stamp(1, flen);
	char buf[64];
	/* room for 4 blocks (and their bookkeeping) */
	size_t budget = 4 * B + 4096;

	(void)state;
	backing_init(&bk, flen);
	assert_int_equal(pcache_new(&p, budget), 0);
	pcache_set_stamp(p, 5, &s, true);
	/* backwards, so there is no read-ahead: one block per read */
	for (int i = 15; i >= 0; i--) {
		assert_int_equal(pcache_read(p, 5, &ra, (uint64_t)i * B + 1, buf, 64, fetch, &bk),
				 64);
		pcache_get_stats(p, &st);
		assert_true(st.bytes <= budget);
	}
	assert_int_equal(bk.calls, 16);
	pcache_get_stats(p, &st);
	assert_int_equal(st.blocks, 4);
	/* blocks 0-3 are the most recent: hits; block 15 was evicted */
	assert_int_equal(pcache_read(p, 5, &ra, 3 * B + 1, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 16);
	assert_int_equal(pcache_read(p, 5, &ra, 15 * B + 1, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 17);
	pcache_free(p);
	free(bk.data);
}

static void shared_by_handles_of_a_file(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra1 = { 0 }, ra2 = { 0 };
	struct pcache_stamp s = stamp(1, 2 * B);
	char buf[64];

	(void)state;
	backing_init(&bk, 2 * B);
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 5, &s, true);
	assert_int_equal(pcache_read(p, 5, &ra1, 100, buf, 64, fetch, &bk), 64);
	assert_int_equal(pcache_read(p, 5, &ra2, 200, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 1);
	/* another file (ino) does not share */
	pcache_set_stamp(p, 6, &s, true);
	assert_int_equal(pcache_read(p, 6, &ra2, 200, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 2);
	pcache_free(p);
	free(bk.data);
}

static void changed_mtime_or_size_drops_blocks(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, 2 * B);
	char buf[64];

	(void)state;
	backing_init(&bk, 2 * B);
	assert_int_equal(pcache_new(&p, 0), 0);
	assert_false(pcache_set_stamp(p, 5, &s, true)); /* first stamp: no change */
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_false(pcache_set_stamp(p, 5, &s, true)); /* same stamp: kept */
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 1);

	s.mtime.tv_nsec = 1; /* mtime changed */
	bk.data[100] ^= 0xff;
	assert_true(pcache_set_stamp(p, 5, &s, true));
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 2);
	assert_memory_equal(buf, bk.data + 100, 64);

	s.size = 2 * B - 1; /* size changed */
	assert_true(pcache_set_stamp(p, 5, &s, false));
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 3);

	s.pod_ino = 999; /* replaced file */
	assert_true(pcache_set_stamp(p, 5, &s, false));
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.calls, 4);

	/* create=false leaves unknown files alone */
	assert_false(pcache_set_stamp(p, 77, &s, false));
	pcache_free(p);
	free(bk.data);
}

static void drop_file_frees_its_blocks(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, 2 * B);
	struct pcache_stats st;
	char buf[64];

	(void)state;
	backing_init(&bk, 2 * B);
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 5, &s, true);
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	pcache_drop_file(p, 5);
	pcache_get_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	pcache_drop_file(p, 5); /* twice is harmless */
	pcache_free(p);
	free(bk.data);
}

static void fetch_error_returned_unchanged_and_not_cached(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, 2 * B);
	struct pcache_stats st;
	char buf[64];

	(void)state;
	backing_init(&bk, 2 * B);
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 5, &s, true);
	bk.fail = -EACCES;
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), -EACCES);
	pcache_get_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	bk.fail = -ENOSPC;
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), -ENOSPC);
	/* the next try fetches again and succeeds */
	assert_int_equal(pcache_read(p, 5, &ra, 100, buf, 64, fetch, &bk), 64);
	assert_memory_equal(buf, bk.data + 100, 64);
	assert_int_equal(bk.calls, 3);
	pcache_free(p);
	free(bk.data);
}

static void no_read_ahead_past_known_end_of_file(void **state)
{
	struct pcache *p;
	struct backing bk;
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, B + 10);
	char buf[64];

	(void)state;
	backing_init(&bk, B + 10);
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 5, &s, true);
	ra.window = PCACHE_MAX_WINDOW / 2; /* a reader deep into sequential mode */
	ra.next_off = 0;
	assert_int_equal(pcache_read(p, 5, &ra, 0, buf, 64, fetch, &bk), 64);
	assert_int_equal(bk.last_len, 2 * B); /* block 0 and the last block, no more */
	pcache_free(p);
	free(bk.data);
}

/* A fetch that blocks until the test opens the gate. */
struct gated {
	struct backing bk;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
};

static ssize_t gated_fetch(void *arg, uint64_t off, void *buf, size_t len)
{
	struct gated *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return fetch(&g->bk, off, buf, len);
}

struct reader {
	struct pcache *p;
	struct gated *g;
	ssize_t got;
	char buf[64];
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;
	struct pcache_ra ra = { 0 };

	rd->got = pcache_read(rd->p, 5, &ra, 1000, rd->buf, sizeof(rd->buf), gated_fetch, rd->g);
	return NULL;
}

static void concurrent_readers_of_a_block_share_one_fetch(void **state)
{
	struct gated g;
	struct pcache *p;
	struct reader rd[4];
	pthread_t th[4];
	struct pcache_stats st;
	struct pcache_stamp s = stamp(1, 2 * B);

	(void)state;
	backing_init(&g.bk, 2 * B);
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	g.open = false;
	assert_int_equal(pcache_new(&p, 0), 0);
	pcache_set_stamp(p, 5, &s, true);
	for (int i = 0; i < 4; i++) {
		rd[i].p = p;
		rd[i].g = &g;
		assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &rd[i]), 0);
	}
	/* a reader counts its miss and goes on to fetch or wait under one
	 * hold of the cache lock: once all four misses are counted, one
	 * reader is in the fetch and three wait for its block */
	do {
		sched_yield();
		pcache_get_stats(p, &st);
	} while (st.misses < 4);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].got, 64);
		assert_memory_equal(rd[i].buf, g.bk.data + 1000, 64);
	}
	assert_int_equal(g.bk.calls, 1);
	pcache_free(p);
	pthread_cond_destroy(&g.cond);
	pthread_mutex_destroy(&g.lock);
	free(g.bk.data);
}

/* A fetch during which the file changes in the pod (a concurrent open
 * saw a new stamp): what it read must not be kept under the new stamp. */
struct racing {
	struct backing bk;
	struct pcache *p;
	bool raced;
};

static ssize_t racing_fetch(void *arg, uint64_t off, void *buf, size_t len)
{
	struct racing *r = arg;
	ssize_t n = fetch(&r->bk, off, buf, len);

	if (!r->raced) {
		struct pcache_stamp s = stamp(2, 2 * B);

		r->raced = true;
		assert_true(pcache_set_stamp(r->p, 5, &s, false));
		r->bk.data[1000] ^= 0xff; /* the new version's content */
	}
	return n;
}

static void stamp_change_during_fetch_discards_old_data(void **state)
{
	struct racing r = { 0 };
	struct pcache_ra ra = { 0 };
	struct pcache_stamp s = stamp(1, 2 * B);
	char buf[64];

	(void)state;
	backing_init(&r.bk, 2 * B);
	assert_int_equal(pcache_new(&r.p, 0), 0);
	pcache_set_stamp(r.p, 5, &s, true);
	assert_int_equal(pcache_read(r.p, 5, &ra, 1000, buf, 64, racing_fetch, &r), 64);
	/* the first fetch's data was thrown away and fetched again */
	assert_int_equal(r.bk.calls, 2);
	assert_memory_equal(buf, r.bk.data + 1000, 64);
	assert_int_equal(pcache_read(r.p, 5, &ra, 1000, buf, 64, racing_fetch, &r), 64);
	assert_int_equal(r.bk.calls, 2);
	pcache_free(r.p);
	free(r.bk.data);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(miss_fetches_aligned_block_then_hits),
	cmocka_unit_test(read_spanning_blocks_and_end_of_file),
	cmocka_unit_test(empty_file_reads_zero_bytes),
	cmocka_unit_test(sequential_reads_grow_the_window_to_1mib),
	cmocka_unit_test(random_reads_do_not_read_ahead),
	cmocka_unit_test(budget_bounds_memory_with_lru_eviction),
	cmocka_unit_test(shared_by_handles_of_a_file),
	cmocka_unit_test(changed_mtime_or_size_drops_blocks),
	cmocka_unit_test(drop_file_frees_its_blocks),
	cmocka_unit_test(fetch_error_returned_unchanged_and_not_cached),
	cmocka_unit_test(no_read_ahead_past_known_end_of_file),
	cmocka_unit_test(concurrent_readers_of_a_block_share_one_fetch),
	cmocka_unit_test(stamp_change_during_fetch_discards_old_data),
};

UNIT_MAIN(tests)
