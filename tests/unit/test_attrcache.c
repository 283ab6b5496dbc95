/* test_attrcache.c: fs/attrcache.c on a fake clock: TTL expiry of
 * attributes, negative entries and listings; listings priming attributes;
 * LRU bounds; listing references outliving eviction. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attrcache.h"

#define SEC 1000000000ULL

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct acache *mk(uint64_t attr_ttl, uint64_t dir_ttl, size_t max_attrs, size_t max_dirs)
{
	struct acache_cfg cfg = { 0 };
	struct acache *c;

	fake_now = 1000 * SEC;
	cfg.attr_ttl_ns = attr_ttl;
	cfg.dir_ttl_ns = dir_ttl;
	cfg.max_attrs = max_attrs;
	cfg.max_dirs = max_dirs;
	cfg.clock = fake_clock;
	assert_int_equal(acache_new(&c, &cfg), 0);
	return c;
}

static struct remote_attr attr_of(uint64_t ino, uint64_t size)
{
	struct remote_attr a = { 0 };

	a.ino = ino;
	a.size = size;
	a.mode = S_IFREG | 0644;
	return a;
}

/* A listing of N files named f0..f(N-1), size = index. */
static struct acache_listing *listing(size_t n)
{
	struct remote_dirent *d = calloc(n ? n : 1, sizeof(*d));
	struct acache_listing *l;
	char name[32];

	assert_non_null(d);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		d[i].name = strdup(name);
		d[i].attr = attr_of(100 + i, i);
	}
	assert_int_equal(acache_listing_new(&l, d, n), 0);
	return l;
}

static void attrs_fresh_until_ttl_then_miss(void **state)
{
	struct acache *c = mk(2 * SEC, 2 * SEC, 0, 0);
	struct remote_attr a = attr_of(7, 42), b;

	(void)state;
	assert_int_equal(acache_get_attr(c, "/f", &b), ACACHE_MISS);
	assert_int_equal(acache_put_attr(c, "/f", &a), 0);
	fake_now += 2 * SEC - 1;
	assert_int_equal(acache_get_attr(c, "/f", &b), ACACHE_HIT);
	assert_int_equal(b.size, 42);
	fake_now += 1;
	assert_int_equal(acache_get_attr(c, "/f", &b), ACACHE_MISS);
	acache_free(c);
}

static void negative_entries_expire_with_attr_ttl(void **state)
{
	struct acache *c = mk(1 * SEC, 10 * SEC, 0, 0);
	struct remote_attr a = attr_of(7, 1), b;

	(void)state;
	assert_int_equal(acache_put_negative(c, "/gone"), 0);
	assert_int_equal(acache_get_attr(c, "/gone", &b), ACACHE_NEGATIVE);
	fake_now += SEC / 2;
	assert_int_equal(acache_get_attr(c, "/gone", &b), ACACHE_NEGATIVE);
	fake_now += SEC / 2;
	assert_int_equal(acache_get_attr(c, "/gone", &b), ACACHE_MISS);
	/* a positive answer replaces a negative one */
	assert_int_equal(acache_put_negative(c, "/x"), 0);
	assert_int_equal(acache_put_attr(c, "/x", &a), 0);
	assert_int_equal(acache_get_attr(c, "/x", &b), ACACHE_HIT);
	/* and the other way round */
	assert_int_equal(acache_put_negative(c, "/x"), 0);
	assert_int_equal(acache_get_attr(c, "/x", &b), ACACHE_NEGATIVE);
	acache_free(c);
}

static void zero_ttl_disables_caching(void **state)
{
	struct acache *c = mk(0, 0, 0, 0);
	struct remote_attr a = attr_of(7, 1), b;
	struct acache_listing *l = listing(3), *got;

	(void)state;
	assert_int_equal(acache_put_attr(c, "/f", &a), 0);
	assert_int_equal(acache_get_attr(c, "/f", &b), ACACHE_MISS);
	assert_int_equal(acache_put_negative(c, "/g"), 0);
	assert_int_equal(acache_get_attr(c, "/g", &b), ACACHE_MISS);
	assert_int_equal(acache_put_dir(c, "/d", l), 0);
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_MISS);
	acache_listing_unref(l);
	acache_free(c);
}

static void listing_expires_at_dir_ttl(void **state)
{
	struct acache *c = mk(1 * SEC, 5 * SEC, 0, 0);
	struct acache_listing *l = listing(3), *got;

	(void)state;
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_MISS);
	assert_int_equal(acache_put_dir(c, "/d", l), 0);
	acache_listing_unref(l);
	fake_now += 5 * SEC - 1;
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_HIT);
	assert_ptr_equal(got, l);
	assert_int_equal(got->n, 3);
	acache_listing_unref(got);
	fake_now += 1;
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_MISS);
	assert_null(got);
	acache_free(c);
}

static void listing_primes_attrs_and_answers_lookups(void **state)
{
	struct acache *c = mk(1 * SEC, 3 * SEC, 0, 0);
	struct acache_listing *l = listing(1000);
	struct remote_attr b;

	(void)state;
	assert_int_equal(acache_put_dir(c, "/d", l), 0);
	acache_listing_unref(l);
	/* every entry's attributes count as fresh */
	assert_int_equal(acache_get_attr(c, "/d/f999", &b), ACACHE_HIT);
	assert_int_equal(b.size, 999);
	assert_int_equal(acache_get_attr(c, "/d/f0", &b), ACACHE_HIT);
	/* lookups answered from the listing: present and absent names */
	assert_int_equal(acache_dir_lookup(c, "/d", "f500", &b), ACACHE_HIT);
	assert_int_equal(b.ino, 600);
	assert_int_equal(acache_dir_lookup(c, "/d", "nope", &b), ACACHE_NEGATIVE);
	assert_int_equal(acache_dir_lookup(c, "/other", "f1", &b), ACACHE_MISS);
	/* attributes expire at attr_ttl, the listing keeps answering */
	fake_now += 2 * SEC;
	assert_int_equal(acache_get_attr(c, "/d/f1", &b), ACACHE_MISS);
	assert_int_equal(acache_dir_lookup(c, "/d", "f1", &b), ACACHE_HIT);
	fake_now += 1 * SEC;
	assert_int_equal(acache_dir_lookup(c, "/d", "f1", &b), ACACHE_MISS);
	acache_free(c);
}

/* Our own changes go into a fresh listing in place, with its age: a new
 * name, a replaced one, a removed one; no listing, nothing; a listing of
 * ACACHE_UPDATE_MAX entries or more is dropped instead. */
static void dir_update_changes_a_listing_in_place(void **state)
{
	struct acache *c = mk(1 * SEC, 5 * SEC, 0, 0);
	struct acache_listing *l = listing(3), *got;
	struct remote_attr b, n = attr_of(77, 5);

	(void)state;
	assert_int_equal(acache_dir_update(c, "/none", "x", &n), 0);
	assert_int_equal(acache_get_dir(c, "/none", &got), ACACHE_MISS);
	assert_int_equal(acache_put_dir(c, "/d", l), 0);
	acache_listing_unref(l);
	fake_now += 4 * SEC;
	assert_int_equal(acache_dir_update(c, "/d", "new", &n), 0);
	assert_int_equal(acache_dir_lookup(c, "/d", "new", &b), ACACHE_HIT);
	assert_int_equal(b.ino, 77);
	n.size = 9;
	assert_int_equal(acache_dir_update(c, "/d", "f1", &n), 0);
	assert_int_equal(acache_dir_lookup(c, "/d", "f1", &b), ACACHE_HIT);
	assert_int_equal(b.size, 9);
	assert_int_equal(acache_dir_update(c, "/d", "f0", NULL), 0);
	assert_int_equal(acache_dir_lookup(c, "/d", "f0", &b), ACACHE_NEGATIVE);
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_HIT);
	assert_int_equal(got->n, 3); /* f1, f2, new */
	acache_listing_unref(got);
	/* the same age as the listing it replaced */
	fake_now += 1 * SEC;
	assert_int_equal(acache_dir_lookup(c, "/d", "new", &b), ACACHE_MISS);
	/* too big to copy per change: dropped */
	l = listing(ACACHE_UPDATE_MAX);
	assert_int_equal(acache_put_dir(c, "/big", l), 0);
	acache_listing_unref(l);
	assert_int_equal(acache_dir_update(c, "/big", "new", &n), 0);
	assert_int_equal(acache_get_dir(c, "/big", &got), ACACHE_MISS);
	acache_free(c);
}

static void root_listing_paths_have_one_slash(void **state)
{
	struct acache *c = mk(1 * SEC, 1 * SEC, 0, 0);
	struct acache_listing *l = listing(2);
	struct remote_attr b;

	(void)state;
	assert_int_equal(acache_put_dir(c, "/", l), 0);
	acache_listing_unref(l);
	assert_int_equal(acache_get_attr(c, "/f1", &b), ACACHE_HIT);
	assert_int_equal(acache_get_attr(c, "//f1", &b), ACACHE_MISS);
	acache_free(c);
}

static void attr_cache_is_bounded_lru(void **state)
{
	struct acache *c = mk(10 * SEC, 10 * SEC, 3, 0);
	struct remote_attr a = attr_of(1, 1), b;
	struct acache_stats st;

	(void)state;
	assert_int_equal(acache_put_attr(c, "/a", &a), 0);
	assert_int_equal(acache_put_attr(c, "/b", &a), 0);
	assert_int_equal(acache_put_attr(c, "/c", &a), 0);
	/* touch /a so /b is the least recently used */
	assert_int_equal(acache_get_attr(c, "/a", &b), ACACHE_HIT);
	assert_int_equal(acache_put_attr(c, "/d", &a), 0);
	acache_get_stats(c, &st);
	assert_int_equal(st.attrs, 3);
	assert_int_equal(acache_get_attr(c, "/b", &b), ACACHE_MISS);
	assert_int_equal(acache_get_attr(c, "/a", &b), ACACHE_HIT);
	assert_int_equal(acache_get_attr(c, "/c", &b), ACACHE_HIT);
	assert_int_equal(acache_get_attr(c, "/d", &b), ACACHE_HIT);
	/* negative entries share the bound */
	assert_int_equal(acache_put_negative(c, "/n"), 0);
	acache_get_stats(c, &st);
	assert_int_equal(st.attrs, 3);
	acache_free(c);
}

static void dir_cache_is_bounded_and_listings_outlive_eviction(void **state)
{
	struct acache *c = mk(10 * SEC, 10 * SEC, 0, 2);
	struct acache_listing *l1 = listing(5), *l2 = listing(6), *l3 = listing(7), *got;
	struct acache_stats st;

	(void)state;
	assert_int_equal(acache_put_dir(c, "/1", l1), 0);
	assert_int_equal(acache_put_dir(c, "/2", l2), 0);
	assert_int_equal(acache_put_dir(c, "/3", l3), 0);
	acache_get_stats(c, &st);
	assert_int_equal(st.dirs, 2);
	assert_int_equal(st.dir_entries, 13);
	assert_int_equal(acache_get_dir(c, "/1", &got), ACACHE_MISS);
	/* we still hold l1: it is intact after eviction */
	assert_int_equal(l1->n, 5);
	assert_non_null(acache_listing_find(l1, "f4"));
	assert_null(acache_listing_find(l1, "f5"));
	acache_listing_unref(l1);
	acache_listing_unref(l2);
	acache_listing_unref(l3);
	assert_int_equal(acache_get_dir(c, "/3", &got), ACACHE_HIT);
	acache_free(c);
	/* our reference outlives the cache itself */
	assert_int_equal(got->n, 7);
	acache_listing_unref(got);
}

static void huge_listing_not_kept_but_attrs_primed(void **state)
{
	struct acache_cfg cfg = { 0 };
	struct acache *c;
	struct acache_listing *l = listing(50), *got;
	struct remote_attr b;

	(void)state;
	fake_now = 0;
	cfg.attr_ttl_ns = SEC;
	cfg.dir_ttl_ns = SEC;
	cfg.max_dir_entries = 10;
	cfg.clock = fake_clock;
	assert_int_equal(acache_new(&c, &cfg), 0);
	assert_int_equal(acache_put_dir(c, "/big", l), 0);
	acache_listing_unref(l);
	assert_int_equal(acache_get_dir(c, "/big", &got), ACACHE_MISS);
	assert_int_equal(acache_get_attr(c, "/big/f49", &b), ACACHE_HIT);
	acache_free(c);
}

static void symlink_target_rides_with_attrs(void **state)
{
	struct acache *c = mk(1 * SEC, 1 * SEC, 0, 0);
	struct remote_attr a = attr_of(9, 5), b;
	char *t;

	(void)state;
	a.mode = S_IFLNK | 0777;
	/* no attributes: nothing to hang the target on */
	assert_int_equal(acache_put_link(c, "/l", "target"), 0);
	assert_int_equal(acache_get_link(c, "/l", &t), ACACHE_MISS);
	assert_int_equal(acache_put_attr(c, "/l", &a), 0);
	assert_int_equal(acache_put_link(c, "/l", "target"), 0);
	assert_int_equal(acache_get_link(c, "/l", &t), ACACHE_HIT);
	assert_string_equal(t, "target");
	free(t);
	/* same object again: the target stays */
	assert_int_equal(acache_put_attr(c, "/l", &a), 0);
	assert_int_equal(acache_get_link(c, "/l", &t), ACACHE_HIT);
	free(t);
	/* a replaced symlink (new pod inode) loses the old target */
	a.ino = 10;
	assert_int_equal(acache_put_attr(c, "/l", &a), 0);
	assert_int_equal(acache_get_link(c, "/l", &t), ACACHE_MISS);
	assert_int_equal(acache_put_link(c, "/l", "other"), 0);
	fake_now += SEC;
	assert_int_equal(acache_get_link(c, "/l", &t), ACACHE_MISS);
	assert_int_equal(acache_get_attr(c, "/l", &b), ACACHE_MISS);
	acache_free(c);
}

static void invalidate_drops_everything_for_path(void **state)
{
	struct acache *c = mk(10 * SEC, 10 * SEC, 0, 0);
	struct acache_listing *l = listing(2), *got;
	struct remote_attr a = attr_of(1, 1), b;

	(void)state;
	a.mode = S_IFDIR | 0755;
	assert_int_equal(acache_put_attr(c, "/d", &a), 0);
	assert_int_equal(acache_put_dir(c, "/d", l), 0);
	acache_listing_unref(l);
	acache_invalidate(c, "/d");
	assert_int_equal(acache_get_attr(c, "/d", &b), ACACHE_MISS);
	assert_int_equal(acache_get_dir(c, "/d", &got), ACACHE_MISS);
	/* the children's primed attributes are separate entries */
	assert_int_equal(acache_get_attr(c, "/d/f1", &b), ACACHE_HIT);
	acache_free(c);
}

static void stats_count_hits_and_misses(void **state)
{
	struct acache *c = mk(10 * SEC, 10 * SEC, 0, 0);
	struct remote_attr a = attr_of(1, 1), b;
	struct acache_stats st;

	(void)state;
	assert_int_equal(acache_get_attr(c, "/a", &b), ACACHE_MISS);
	assert_int_equal(acache_put_attr(c, "/a", &a), 0);
	assert_int_equal(acache_get_attr(c, "/a", &b), ACACHE_HIT);
	assert_int_equal(acache_get_attr(c, "/a", &b), ACACHE_HIT);
	assert_int_equal(acache_put_negative(c, "/n"), 0);
	assert_int_equal(acache_get_attr(c, "/n", &b), ACACHE_NEGATIVE);
	acache_get_stats(c, &st);
	assert_int_equal(st.attr_hits, 2);
	assert_int_equal(st.negative_hits, 1);
	assert_int_equal(st.misses, 1);
	acache_free(c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(attrs_fresh_until_ttl_then_miss),
	cmocka_unit_test(dir_update_changes_a_listing_in_place),
	cmocka_unit_test(negative_entries_expire_with_attr_ttl),
	cmocka_unit_test(zero_ttl_disables_caching),
	cmocka_unit_test(listing_expires_at_dir_ttl),
	cmocka_unit_test(listing_primes_attrs_and_answers_lookups),
	cmocka_unit_test(root_listing_paths_have_one_slash),
	cmocka_unit_test(attr_cache_is_bounded_lru),
	cmocka_unit_test(dir_cache_is_bounded_and_listings_outlive_eviction),
	cmocka_unit_test(huge_listing_not_kept_but_attrs_primed),
	cmocka_unit_test(symlink_target_rides_with_attrs),
	cmocka_unit_test(invalidate_drops_everything_for_path),
	cmocka_unit_test(stats_count_hits_and_misses),
};

UNIT_MAIN(tests)
