/* test_dirty.c: fs/dirty.c (unsent written ranges) against a byte model. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "dirty.h"

#define SPACE 4096

/* Model: bytes and a "dirty" flag per byte. */
struct model {
	unsigned char b[SPACE];
	unsigned char set[SPACE];
};

static void check(const struct dirty *d, const struct model *m)
{
	unsigned char seen[SPACE] = { 0 };
	size_t bytes = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct drange *r = &d->r[i];

		assert_true(r->len > 0);
		if (i > 0) /* sorted, neither overlapping nor adjacent */
			assert_true(d->r[i - 1].off + d->r[i - 1].len < r->off);
		for (size_t k = 0; k < r->len; k++) {
			assert_true(r->off + k < SPACE);
			assert_true(m->set[r->off + k]);
			assert_int_equal((unsigned char)r->data[k], m->b[r->off + k]);
			seen[r->off + k] = 1;
		}
		bytes += r->len;
	}
	for (size_t k = 0; k < SPACE; k++)
		assert_int_equal(seen[k], m->set[k]);
	assert_int_equal(bytes, d->bytes);
}

static void random_writes_match_the_model(void **state)
{
	struct dirty d;
	struct model m;
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 200; round++) {
		dirty_init(&d);
		memset(&m, 0, sizeof(m));
		for (int op = 0; op < 60; op++) {
			size_t off = (size_t)rand_r(&seed) % (SPACE - 300);
			size_t len = (size_t)rand_r(&seed) % 300;
			unsigned char buf[300];

			if (rand_r(&seed) % 10 == 0) {
				/* truncate */
				dirty_truncate(&d, off);
				for (size_t k = off; k < SPACE; k++)
					m.set[k] = 0;
			} else {
				for (size_t k = 0; k < len; k++)
					buf[k] = (unsigned char)rand_r(&seed);
				assert_int_equal(dirty_add(&d, off, buf, len), 0);
				for (size_t k = 0; k < len; k++) {
					m.b[off + k] = buf[k];
					m.set[off + k] = 1;
				}
			}
			check(&d, &m);
		}
		dirty_clear(&d);
		assert_int_equal(d.n, 0);
	}
}

static void sequential_appends_grow_one_range(void **state)
{
	struct dirty d;
	char blk[4096];

	(void)state;
	dirty_init(&d);
	for (int i = 0; i < 1000; i++) {
		memset(blk, i & 0xff, sizeof(blk));
		assert_int_equal(dirty_add(&d, (uint64_t)i * sizeof(blk), blk, sizeof(blk)), 0);
	}
	assert_int_equal(d.n, 1);
	assert_int_equal(d.bytes, 1000 * sizeof(blk));
	assert_int_equal(dirty_end(&d), 1000 * sizeof(blk));
	assert_int_equal((unsigned char)d.r[0].data[999 * 4096], 999 & 0xff);
	/* a write far away is a second range; one bridging both merges */
	assert_int_equal(dirty_add(&d, 10u << 20, "x", 1), 0);
	assert_int_equal(d.n, 2);
	dirty_truncate(&d, 4096000 + 10);
	assert_int_equal(d.n, 1);
	dirty_truncate(&d, 10);
	assert_int_equal(d.bytes, 10);
	assert_int_equal(dirty_end(&d), 10);
	dirty_truncate(&d, 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(dirty_add(&d, 5, "", 0), 0);
	assert_int_equal(d.n, 0);
	dirty_clear(&d);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(random_writes_match_the_model),
	cmocka_unit_test(sequential_appends_grow_one_range),
};

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
