/* test_inode.c: fs/inode.c: our inode numbers, lookup counts, ESTALE,
 * generations, identity changes, concurrency. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inode.h"

static struct inode_table *mk(const char *root)
{
	struct inode_table *t;

	assert_int_equal(inode_table_new(&t, root), 0);
	return t;
}

static void root_is_ino_1_and_never_freed(void **state)
{
	struct inode_table *t = mk("/srv/www");
	uint64_t ino, n;
	char *p;

	(void)state;
	assert_int_equal(inode_path(t, INODE_ROOT, &p), 0);
	assert_string_equal(p, "/srv/www");
	free(p);
	assert_int_equal(inode_find(t, "/srv/www"), INODE_ROOT);
	assert_int_equal(inode_ref(t, "/srv/www", NULL, &ino, NULL), 0);
	assert_int_equal(ino, INODE_ROOT);
	/* forgetting more than it has keeps the root */
	assert_int_equal(inode_forget(t, INODE_ROOT, 100), 0);
	assert_int_equal(inode_info(t, INODE_ROOT, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(inode_path(t, INODE_ROOT, &p), 0);
	free(p);
	assert_int_equal(inode_count(t), 1);
	inode_table_free(t);
}

static void lookup_counts_add_up_and_forget_frees_at_zero(void **state)
{
	struct inode_table *t = mk("/");
	uint64_t a, b, n;
	char *p;

	(void)state;
	assert_int_equal(inode_ref(t, "/etc/passwd", NULL, &a, NULL), 0);
	assert_int_equal(inode_ref(t, "/etc/passwd", NULL, &b, NULL), 0);
	assert_int_equal(a, b);
	assert_true(a != INODE_ROOT);
	assert_int_equal(inode_info(t, a, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(inode_count(t), 2);

	assert_int_equal(inode_forget(t, a, 1), 0);
	assert_int_equal(inode_path(t, a, &p), 0);
	assert_string_equal(p, "/etc/passwd");
	free(p);
	assert_int_equal(inode_forget(t, a, 1), 1);
	assert_int_equal(inode_count(t), 1);
	assert_int_equal(inode_find(t, "/etc/passwd"), 0);
	inode_table_free(t);
}

static void forgotten_or_unknown_ino_is_estale(void **state)
{
	struct inode_table *t = mk("/");
	struct remote_attr a = { 0 };
	uint64_t ino;
	char *p;

	(void)state;
	assert_int_equal(inode_path(t, 12345, &p), -ESTALE);
	assert_null(p);
	assert_int_equal(inode_forget(t, 12345, 1), -ESTALE);
	assert_int_equal(inode_ref(t, "/x", NULL, &ino, NULL), 0);
	assert_int_equal(inode_forget(t, ino, 1), 1);
	assert_int_equal(inode_path(t, ino, &p), -ESTALE);
	assert_int_equal(inode_info(t, ino, NULL, NULL), -ESTALE);
	assert_int_equal(inode_forget(t, ino, 1), -ESTALE);
	assert_int_equal(inode_set_attr(t, ino, &a, 0), -ESTALE);
	assert_int_equal(inode_get_attr(t, ino, &a, NULL), -ESTALE);
	inode_table_free(t);
}

static void reused_path_gets_new_ino_and_generation(void **state)
{
	struct inode_table *t = mk("/");
	uint64_t i1, g1, i2, g2;

	(void)state;
	assert_int_equal(inode_ref(t, "/tmp/f", NULL, &i1, &g1), 0);
	assert_int_equal(inode_forget(t, i1, 1), 1);
	assert_int_equal(inode_ref(t, "/tmp/f", NULL, &i2, &g2), 0);
	assert_true(i2 != i1); /* inos are never reused */
	assert_true(g2 != g1);
	inode_table_free(t);
}

static void identity_change_detaches_old_inode(void **state)
{
	struct inode_table *t = mk("/");
	struct inode_ident id1 = { 1, 100, S_IFREG }, id2 = { 1, 200, S_IFREG };
	uint64_t i1, g1, i2, g2, i3;
	char *p;

	(void)state;
	assert_int_equal(inode_ref(t, "/f", &id1, &i1, &g1), 0);
	/* same identity: same inode */
	assert_int_equal(inode_ref(t, "/f", &id1, &i3, NULL), 0);
	assert_int_equal(i3, i1);
	/* unknown identity: same inode */
	assert_int_equal(inode_ref(t, "/f", NULL, &i3, NULL), 0);
	assert_int_equal(i3, i1);
	/* the pod replaced /f: a new inode; the old one lives until forgotten */
	assert_int_equal(inode_ref(t, "/f", &id2, &i2, &g2), 0);
	assert_true(i2 != i1);
	assert_true(g2 != g1);
	assert_int_equal(inode_find(t, "/f"), i2);
	assert_int_equal(inode_path(t, i1, &p), 0);
	assert_string_equal(p, "/f");
	free(p);
	assert_int_equal(inode_forget(t, i1, 3), 1);
	/* forgetting the detached one leaves the path's binding alone */
	assert_int_equal(inode_find(t, "/f"), i2);
	assert_int_equal(inode_forget(t, i2, 1), 1);
	assert_int_equal(inode_count(t), 1);
	inode_table_free(t);
}

static void type_change_is_an_identity_change(void **state)
{
	struct inode_table *t = mk("/");
	struct inode_ident f = { 1, 100, S_IFREG }, d = { 1, 100, S_IFDIR };
	uint64_t i1, i2;

	(void)state;
	assert_int_equal(inode_ref(t, "/x", &f, &i1, NULL), 0);
	assert_int_equal(inode_ref(t, "/x", &d, &i2, NULL), 0);
	assert_true(i1 != i2);
	inode_table_free(t);
}

static void attrs_last_given_to_kernel_are_kept(void **state)
{
	struct inode_table *t = mk("/");
	struct remote_attr a = { 0 }, b;
	uint64_t ino, when;

	(void)state;
	assert_int_equal(inode_ref(t, "/f", NULL, &ino, NULL), 0);
	assert_int_equal(inode_get_attr(t, ino, &b, &when), -ENODATA);
	a.size = 77;
	a.mtime.tv_sec = 5;
	assert_int_equal(inode_set_attr(t, ino, &a, 999), 0);
	assert_int_equal(inode_get_attr(t, ino, &b, &when), 0);
	assert_int_equal(b.size, 77);
	assert_int_equal(b.mtime.tv_sec, 5);
	assert_int_equal(when, 999);
	inode_table_free(t);
}

/* A push into the kernel's page cache only with exactly one handle open,
 * attributes equal to what the kernel has, and once per content. */
static void push_needs_one_handle_same_attrs_and_happens_once(void **state)
{
	struct inode_table *t = mk("/");
	struct remote_attr a = { 0 }, b;
	uint64_t ino;

	(void)state;
	assert_int_equal(inode_ref(t, "/f", NULL, &ino, NULL), 0);
	a.size = 2048;
	a.mtime.tv_sec = 5;
	a.ino = 42;
	/* no attributes recorded, no handle */
	assert_int_equal(inode_push_begin(t, ino, &a), -EBUSY);
	assert_int_equal(inode_set_attr(t, ino, &a, 1), 0);
	assert_int_equal(inode_push_begin(t, ino, &a), -EBUSY);
	assert_int_equal(inode_opens_add(t, ino, 1), 1);
	assert_int_equal(inode_push_begin(t, ino, &a), 0);
	/* a second handle: a READ of it may be in flight */
	assert_int_equal(inode_opens_add(t, ino, 1), 2);
	assert_int_equal(inode_push_begin(t, ino, &a), -EBUSY);
	assert_int_equal(inode_opens_add(t, ino, -1), 1);
	/* other attributes than the kernel's */
	b = a;
	b.mtime.tv_nsec = 1;
	assert_int_equal(inode_push_begin(t, ino, &b), -EBUSY);
	/* once per content: the same attributes again keep it done, new
	 * data attributes (a change in the pod) allow the next */
	inode_push_done(t, ino, &a);
	assert_int_equal(inode_push_begin(t, ino, &a), -EBUSY);
	b = a;
	b.mode = 0600; /* not a data attribute */
	assert_int_equal(inode_set_attr(t, ino, &b, 2), 0);
	assert_int_equal(inode_push_begin(t, ino, &b), -EBUSY);
	b.size = 2049;
	assert_int_equal(inode_set_attr(t, ino, &b, 3), 0);
	assert_int_equal(inode_push_begin(t, ino, &b), 0);
	/* a push done for attributes since replaced counts for nothing */
	inode_push_done(t, ino, &a);
	assert_int_equal(inode_push_begin(t, ino, &b), 0);
	/* the count never goes below zero */
	assert_int_equal(inode_opens_add(t, ino, -5), 0);
	assert_int_equal(inode_opens_add(t, ino, 1), 1);
	assert_int_equal(inode_opens_add(t, 9999, 1), -ESTALE);
	assert_int_equal(inode_push_begin(t, 9999, &a), -ESTALE);
	inode_table_free(t);
}

static void many_inodes_survive_table_growth(void **state)
{
	struct inode_table *t = mk("/");
	enum { N = 20000 };
	uint64_t *inos = calloc(N, sizeof(*inos));
	char path[64];

	(void)state;
	assert_non_null(inos);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/d/%d", i);
		assert_int_equal(inode_ref(t, path, NULL, &inos[i], NULL), 0);
	}
	assert_int_equal(inode_count(t), N + 1);
	for (int i = 0; i < N; i++) {
		char *p;

		snprintf(path, sizeof(path), "/d/%d", i);
		assert_int_equal(inode_find(t, path), inos[i]);
		assert_int_equal(inode_path(t, inos[i], &p), 0);
		assert_string_equal(p, path);
		free(p);
	}
	for (int i = 0; i < N; i += 2)
		assert_int_equal(inode_forget(t, inos[i], 1), 1);
	assert_int_equal(inode_count(t), N / 2 + 1);
	for (int i = 1; i < N; i += 2)
		assert_int_equal(inode_info(t, inos[i], NULL, NULL), 0);
	free(inos);
	inode_table_free(t);
}

struct hammer {
	struct inode_table *t;
	int id;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	char path[64];

	for (int round = 0; round < 2000; round++) {
		uint64_t ino;

		snprintf(path, sizeof(path), "/shared/%d", round % 50);
		if (inode_ref(h->t, path, NULL, &ino, NULL) != 0)
			return (void *)1;
		if (inode_forget(h->t, ino, 1) < 0)
			return (void *)1;
	}
	return NULL;
}

static void concurrent_ref_and_forget_balance(void **state)
{
	struct inode_table *t = mk("/");
	struct hammer h[4];
	pthread_t th[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		h[i].t = t;
		h[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *res;

		pthread_join(th[i], &res);
		assert_null(res);
	}
	assert_int_equal(inode_count(t), 1);
	inode_table_free(t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(root_is_ino_1_and_never_freed),
	cmocka_unit_test(lookup_counts_add_up_and_forget_frees_at_zero),
	cmocka_unit_test(forgotten_or_unknown_ino_is_estale),
	cmocka_unit_test(reused_path_gets_new_ino_and_generation),
	cmocka_unit_test(identity_change_detaches_old_inode),
	cmocka_unit_test(type_change_is_an_identity_change),
	cmocka_unit_test(attrs_last_given_to_kernel_are_kept),
	cmocka_unit_test(push_needs_one_handle_same_attrs_and_happens_once),
	cmocka_unit_test(many_inodes_survive_table_growth),
	cmocka_unit_test(concurrent_ref_and_forget_balance),
};

UNIT_MAIN(tests)
