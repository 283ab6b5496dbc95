/* test_vfs.c: fs/vfs.c against the in-memory remote, on a fake clock,
 * counting the calls that reach the remote (STYLE.md: `ls -l` of 1,000
 * entries = one readdir; injected faults reach the caller unchanged). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "remote_mem.h"
#include "vfs.h"

#define SEC 1000000000ULL
#define MiB (1024 * 1024)
#define ROOT 1

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fx {
	struct remote *r;
	struct vfs *v;
};

static struct fx *fx;

static bool fx_read_only;
static size_t fx_cache_size; /* 0: the default */

/* A vfs on a fresh remote_mem; ROOT_PATH is the mount root. */
static void setup_with(const char *root_path, double attr, double dir, int hide)
{
	struct vfs_cfg cfg;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(remote_mem_new(&fx->r), 0);
	if (strcmp(root_path, "/") != 0)
		assert_int_equal(remote_mem_add_dir(fx->r, root_path, 0755), 0);
	fake_now = 1000 * SEC;
	vfs_cfg_init(&cfg);
	cfg.root = root_path;
	cfg.attr_timeout = attr;
	cfg.dir_timeout = dir;
	cfg.hide_pseudo = hide;
	cfg.clock = fake_clock;
	cfg.read_only = fx_read_only;
	cfg.cache_size = fx_cache_size;
	assert_int_equal(vfs_new(&fx->v, &cfg, fx->r), 0);
}

static int setup(void **state)
{
	(void)state;
	setup_with("/", 1.0, 1.0, -1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vfs_free(fx->v);
	fx->r->ops->destroy(fx->r);
	free(fx);
	fx = NULL;
	return 0;
}

static unsigned long calls(enum remote_mem_op op)
{
	return remote_mem_count(fx->r, op);
}

static uint64_t lookup_ok(uint64_t parent, const char *name)
{
	struct vfs_entry e;

	assert_int_equal(vfs_lookup(fx->v, parent, name, &e), 0);
	assert_true(e.ino > ROOT);
	assert_int_equal(e.st.st_ino, e.ino);
	return e.ino;
}

static unsigned char *pattern(size_t len)
{
	unsigned char *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + i / 65536) & 0xff);
	return p;
}

static void make_big_dir(int n)
{
	char path[64];

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/big/file-%04d", i);
		assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
	}
}

/* opendir + every entry (plus) + lookup + getattr of each, as `ls -l`
 * does through FUSE; returns the number of listing entries. */
static size_t ls_l(uint64_t dir, bool plus)
{
	struct vfs_dir *d;
	size_t n;

	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	n = vfs_dir_count(d);
	for (size_t i = 0; i < n; i++) {
		struct vfs_entry e, le;
		const char *name;
		struct stat st;

		assert_int_equal(vfs_dir_entry(fx->v, d, i, plus, &name, &e), 0);
		if (i < 2)
			continue;
		assert_int_equal(vfs_lookup(fx->v, dir, name, &le), 0);
		if (plus)
			assert_int_equal(le.ino, e.ino);
		assert_int_equal(vfs_getattr(fx->v, le.ino, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		vfs_forget(fx->v, le.ino, plus ? 2 : 1);
	}
	vfs_releasedir(fx->v, d);
	return n - 2;
}

/* ---- listings ---- */

static void ls_l_of_1000_entries_is_one_readdir_and_no_getattr(void **state)
{
	uint64_t big;

	(void)state;
	make_big_dir(1000);
	big = lookup_ok(ROOT, "big");
	remote_mem_reset_counts(fx->r);
	assert_int_equal(ls_l(big, true), 1000);
	assert_int_equal(calls(REMOTE_MEM_READDIR), 1);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	assert_int_equal(remote_mem_total(fx->r), 1);
}

static void ls_l_without_readdirplus_is_still_one_readdir(void **state)
{
	uint64_t big;

	(void)state;
	make_big_dir(1000);
	big = lookup_ok(ROOT, "big");
	remote_mem_reset_counts(fx->r);
	assert_int_equal(ls_l(big, false), 1000);
	assert_int_equal(remote_mem_total(fx->r), 1);
}

static void second_listing_within_dir_timeout_makes_no_remote_call(void **state)
{
	uint64_t big;

	(void)state;
	make_big_dir(1000);
	big = lookup_ok(ROOT, "big");
	ls_l(big, true);
	remote_mem_reset_counts(fx->r);
	fake_now += SEC / 2;
	assert_int_equal(ls_l(big, true), 1000);
	assert_int_equal(remote_mem_total(fx->r), 0);
}

static void listing_after_dir_timeout_is_one_readdir(void **state)
{
	uint64_t big;

	(void)state;
	make_big_dir(1000);
	big = lookup_ok(ROOT, "big");
	ls_l(big, true);
	remote_mem_reset_counts(fx->r);
	fake_now += SEC;
	assert_int_equal(ls_l(big, true), 1000);
	assert_int_equal(calls(REMOTE_MEM_READDIR), 1);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
}

static void listing_shows_new_entries_after_timeout_and_rewind(void **state)
{
	struct vfs_dir *d;
	uint64_t dir;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/a", "1", 1, 0644), 0);
	dir = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	assert_int_equal(vfs_dir_count(d), 3);
	assert_int_equal(remote_mem_add_file(fx->r, "/d/b", "2", 1, 0644), 0);
	assert_int_equal(vfs_dir_rewind(fx->v, d), 0);
	assert_int_equal(vfs_dir_count(d), 3); /* still fresh */
	fake_now += 2 * SEC;
	assert_int_equal(vfs_dir_rewind(fx->v, d), 0);
	assert_int_equal(vfs_dir_count(d), 4);
	vfs_releasedir(fx->v, d);
}

static void dot_and_dotdot_come_first(void **state)
{
	struct vfs_dir *d;
	struct vfs_entry e;
	const char *name;
	uint64_t dir;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/a", "1", 1, 0644), 0);
	dir = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	assert_int_equal(vfs_dir_entry(fx->v, d, 0, true, &name, &e), 0);
	assert_string_equal(name, ".");
	assert_int_equal(e.ino, 0); /* no lookup for "." */
	assert_int_equal(e.st.st_ino, dir);
	assert_int_equal(vfs_dir_entry(fx->v, d, 1, true, &name, &e), 0);
	assert_string_equal(name, "..");
	assert_int_equal(e.st.st_ino, ROOT);
	assert_int_equal(vfs_dir_entry(fx->v, d, 2, false, &name, &e), 0);
	assert_string_equal(name, "a");
	assert_int_equal(e.st.st_ino, VFS_UNKNOWN_INO); /* never looked up */
	assert_int_equal(vfs_dir_entry(fx->v, d, 3, true, &name, &e), -ENOENT);
	vfs_releasedir(fx->v, d);
}

static void readdirplus_entry_takes_one_lookup(void **state)
{
	struct vfs_dir *d;
	struct vfs_entry e;
	const char *name;
	struct stat st;
	uint64_t dir;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/a", "1", 1, 0644), 0);
	dir = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	assert_int_equal(vfs_dir_entry(fx->v, d, 2, true, &name, &e), 0);
	vfs_releasedir(fx->v, d);
	assert_int_equal(vfs_getattr(fx->v, e.ino, &st), 0);
	assert_int_equal(vfs_forget(fx->v, e.ino, 1), 0);
	assert_int_equal(vfs_getattr(fx->v, e.ino, &st), -ESTALE);
}

/* ---- lookups and attributes ---- */

static void lookup_uses_fresh_parent_listing_for_missing_names(void **state)
{
	struct vfs_entry e;
	struct vfs_dir *d;
	uint64_t dir;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/a", "1", 1, 0644), 0);
	dir = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	vfs_releasedir(fx->v, d);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(vfs_lookup(fx->v, dir, "missing", &e), -ENOENT);
	assert_int_equal(remote_mem_total(fx->r), 0);
}

static void negative_lookup_cached_for_attr_timeout(void **state)
{
	struct vfs_entry e;

	(void)state;
	assert_int_equal(vfs_lookup(fx->v, ROOT, "nope", &e), -ENOENT);
	assert_int_equal(vfs_lookup(fx->v, ROOT, "nope", &e), -ENOENT);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 1);
	fake_now += SEC;
	assert_int_equal(remote_mem_add_file(fx->r, "/nope", "", 0, 0644), 0);
	assert_int_equal(vfs_lookup(fx->v, ROOT, "nope", &e), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 2);
}

static void getattr_cached_then_refetched_after_timeout(void **state)
{
	struct stat st;
	uint64_t f;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0640), 0);
	f = lookup_ok(ROOT, "f");
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 1);
	assert_int_equal(vfs_getattr(fx->v, f, &st), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 1);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_ino, f);
	assert_int_equal(st.st_blksize, 128 * 1024);
	fake_now += SEC;
	assert_int_equal(remote_mem_set_data(fx->r, "/f", "abcdef", 6), 0);
	assert_int_equal(vfs_getattr(fx->v, f, &st), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 2);
	assert_int_equal(st.st_size, 6);
}

static void file_deleted_in_pod_is_enoent_at_getattr(void **state)
{
	struct stat st;
	uint64_t f;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0640), 0);
	f = lookup_ok(ROOT, "f");
	assert_int_equal(remote_mem_remove(fx->r, "/f"), 0);
	fake_now += SEC;
	assert_int_equal(vfs_getattr(fx->v, f, &st), -ENOENT);
}

static void replaced_file_gets_a_new_inode(void **state)
{
	uint64_t a, b;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "old", 3, 0644), 0);
	a = lookup_ok(ROOT, "f");
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "new", 3, 0644), 0); /* new pod ino */
	fake_now += SEC;
	b = lookup_ok(ROOT, "f");
	assert_true(a != b);
	/* the same file again: the same inode */
	fake_now += SEC;
	assert_int_equal(lookup_ok(ROOT, "f"), b);
}

static void forgotten_ino_is_estale(void **state)
{
	struct vfs_file *f;
	struct vfs_entry e;
	struct stat st;
	bool keep;
	char *s;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_forget(fx->v, ino, 1), 0);
	assert_int_equal(vfs_getattr(fx->v, ino, &st), -ESTALE);
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), -ESTALE);
	assert_int_equal(vfs_readlink(fx->v, ino, &s), -ESTALE);
	assert_int_equal(vfs_lookup(fx->v, ino, "x", &e), -ESTALE);
	assert_int_equal(vfs_forget(fx->v, ino, 1), -ESTALE);
	struct vfs_entry e2;

	assert_int_equal(vfs_mkdir(fx->v, ino, "x", 0755, &e2), -ESTALE);
}

static void hostile_names_resolve_and_long_names_fail(void **state)
{
	static const char *names[] = { "with space", "new\nline", "-dash", "quote'\"",
				       "\xff\xfe invalid utf8", "$(reboot)" };
	char path[310], name[300];
	struct vfs_entry e;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/%s", names[i]);
		assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
		lookup_ok(ROOT, names[i]);
	}
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(path, sizeof(path), "/%s", name);
	assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
	lookup_ok(ROOT, name);
	name[255] = 'n';
	name[256] = '\0';
	assert_int_equal(vfs_lookup(fx->v, ROOT, name, &e), -ENAMETOOLONG);
}

static void mount_root_below_slash_maps_paths(void **state)
{
	struct vfs_file *f;
	bool keep;
	char buf[16];
	uint64_t ino;

	(void)state;
	teardown(NULL);
	setup_with("/srv/www/", 1.0, -1, -1);
	assert_int_equal(remote_mem_add_file(fx->r, "/srv/www/index.html", "hello", 5, 0644), 0);
	assert_int_equal(remote_mem_add_dir(fx->r, "/srv/www/proc", 0755), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/srv/www/proc/x", "", 0, 0644), 0);
	ino = lookup_ok(ROOT, "index.html");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	vfs_release(fx->v, f);
	/* hide_pseudo is automatic only for "/" and only for /proc itself */
	ino = lookup_ok(ROOT, "proc");
	lookup_ok(ino, "x");
}

static void uid_gid_override(void **state)
{
	struct vfs_cfg cfg;
	struct vfs *v;
	struct vfs_entry e;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "x", 1, 0644), 0);
	assert_int_equal(remote_mem_set_owner(fx->r, "/f", 33, 44), 0);
	lookup_ok(ROOT, "f");
	assert_int_equal(vfs_lookup(fx->v, ROOT, "f", &e), 0);
	assert_int_equal(e.st.st_uid, 33);
	assert_int_equal(e.st.st_gid, 44);
	vfs_cfg_init(&cfg);
	cfg.uid_override = 1000;
	cfg.gid_override = 1001;
	cfg.clock = fake_clock;
	assert_int_equal(vfs_new(&v, &cfg, fx->r), 0);
	assert_int_equal(vfs_lookup(v, ROOT, "f", &e), 0);
	assert_int_equal(e.st.st_uid, 1000);
	assert_int_equal(e.st.st_gid, 1001);
	vfs_free(v);
}

/* ---- reading ---- */

static void sequential_5mib_read_takes_few_remote_reads(void **state)
{
	size_t len = 5 * MiB, chunk = 128 * 1024;
	unsigned char *data = pattern(len), *buf = malloc(chunk);
	struct vfs_file *f;
	bool keep;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/big.bin", data, len, 0644), 0);
	ino = lookup_ok(ROOT, "big.bin");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	for (size_t off = 0; off < len; off += chunk) {
		assert_int_equal(vfs_read(fx->v, f, off, buf, chunk), chunk);
		assert_memory_equal(buf, data + off, chunk);
	}
	assert_int_equal(vfs_read(fx->v, f, len, buf, chunk), 0);
	vfs_release(fx->v, f);
	/* 40 kernel-sized reads; the window grows to 1 MiB: ~5 MiB / 1 MiB
	 * remote reads plus the ramp-up, and no byte read twice */
	print_message("remote reads for 5 MiB sequential: %lu\n", calls(REMOTE_MEM_READ));
	assert_true(calls(REMOTE_MEM_READ) <= 8);
	assert_true(calls(REMOTE_MEM_READ) >= 5);
	assert_int_equal(remote_mem_bytes_read(fx->r), len);
	free(data);
	free(buf);
}

static void reopen_with_unchanged_attrs_reads_nothing_remote(void **state)
{
	size_t len = 3 * MiB;
	unsigned char *data = pattern(len), *buf = malloc(MiB);
	struct vfs_file *f;
	bool keep;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", data, len, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep);
	for (size_t off = 0; off < len; off += MiB)
		assert_int_equal(vfs_read(fx->v, f, off, buf, MiB), MiB);
	vfs_release(fx->v, f);

	fake_now += 5 * SEC; /* attributes are stale: open revalidates */
	remote_mem_reset_counts(fx->r);
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep);
	for (size_t off = 0; off < len; off += MiB) {
		assert_int_equal(vfs_read(fx->v, f, off, buf, MiB), MiB);
		assert_memory_equal(buf, data + off, MiB);
	}
	vfs_release(fx->v, f);
	assert_int_equal(calls(REMOTE_MEM_READ), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 1);
	free(data);
	free(buf);
}

static void changed_mtime_at_open_drops_the_cache(void **state)
{
	unsigned char buf[8];
	struct vfs_file *f;
	bool keep;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "version1", 8, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 8), 8);
	vfs_release(fx->v, f);
	assert_int_equal(calls(REMOTE_MEM_READ), 1);

	/* same size, new content, new mtime */
	assert_int_equal(remote_mem_set_data(fx->r, "/f", "version2", 8), 0);
	fake_now += 2 * SEC;
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_false(keep);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 8), 8);
	assert_memory_equal(buf, "version2", 8);
	vfs_release(fx->v, f);
	assert_int_equal(calls(REMOTE_MEM_READ), 2);

	/* only mtime changed */
	assert_int_equal(remote_mem_set_mtime(fx->r, "/f", 12345, 0), 0);
	fake_now += 2 * SEC;
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_false(keep);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 8), 8);
	vfs_release(fx->v, f);
	assert_int_equal(calls(REMOTE_MEM_READ), 3);
}

static void open_within_attr_timeout_trusts_cached_attrs(void **state)
{
	unsigned char buf[8];
	struct vfs_file *f;
	bool keep;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "version1", 8, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 8), 8);
	vfs_release(fx->v, f);
	assert_int_equal(remote_mem_set_data(fx->r, "/f", "version2", 8), 0);
	remote_mem_reset_counts(fx->r);
	fake_now += SEC / 2;
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 8), 8);
	assert_memory_equal(buf, "version1", 8); /* the documented TTL window */
	vfs_release(fx->v, f);
	assert_int_equal(remote_mem_total(fx->r), 0);
}

static void attrs_from_listing_count_as_fresh_at_open(void **state)
{
	struct vfs_dir *d;
	struct vfs_entry e;
	struct vfs_file *f;
	const char *name;
	bool keep;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/f", "data", 4, 0644), 0);
	e.ino = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_opendir(fx->v, e.ino, &d), 0);
	assert_int_equal(vfs_dir_entry(fx->v, d, 2, true, &name, &e), 0);
	vfs_releasedir(fx->v, d);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(vfs_open(fx->v, e.ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	vfs_release(fx->v, f);
}

static void open_of_directory_is_eisdir(void **state)
{
	struct vfs_file *f;
	bool keep;
	uint64_t d;

	(void)state;
	assert_int_equal(remote_mem_add_dir(fx->r, "/d", 0755), 0);
	d = lookup_ok(ROOT, "d");
	assert_int_equal(vfs_open(fx->v, d, O_RDONLY, &f, &keep), -EISDIR);
}

/* ---- errors ---- */

/* Lookups of names that do not exist, one after another in a directory
 * nobody listed (a loop making files): the second one lists the
 * directory, and the listing answers the rest. */
static void repeated_misses_in_a_directory_list_it(void **state)
{
	struct vfs_entry e;
	char name[16];

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/there", "x", 1, 0644), 0);
	uint64_t d = lookup_ok(ROOT, "d");

	remote_mem_reset_counts(fx->r);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(vfs_lookup(fx->v, d, name, &e), -ENOENT);
	}
	assert_int_equal(remote_mem_count(fx->r, REMOTE_MEM_GETATTR), 1);
	assert_true(remote_mem_count(fx->r, REMOTE_MEM_READDIR) + remote_mem_count(fx->r, REMOTE_MEM_READDIR_TREE) == 1);
	assert_true(lookup_ok(d, "there") > ROOT);
}

static void remote_errors_reach_caller_unchanged(void **state)
{
	struct vfs_file *f;
	struct vfs_dir *d;
	struct vfs_entry e;
	unsigned char buf[16];
	bool keep;
	uint64_t ino, dir;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/secret", "top secret", 10, 0600), 0);
	assert_int_equal(remote_mem_set_error(fx->r, "/secret", -EACCES), 0);
	ino = lookup_ok(ROOT, "secret"); /* stat works, as for a mode 0600 file */
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), -EACCES);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), -EACCES);
	vfs_release(fx->v, f);

	assert_int_equal(remote_mem_add_file(fx->r, "/hidden", "x", 1, 0600), 0);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/hidden",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_GETATTR), -EACCES),
			 0);
	assert_int_equal(vfs_lookup(fx->v, ROOT, "hidden", &e), -EACCES);
	/* (in a directory of its own: a second miss in "/" would list "/",
	 * see repeated_misses_in_a_directory_list_it) */
	assert_int_equal(remote_mem_add_dir(fx->r, "/empty", 0755), 0);
	assert_int_equal(vfs_lookup(fx->v, lookup_ok(ROOT, "empty"), "missing", &e), -ENOENT);

	assert_int_equal(remote_mem_add_file(fx->r, "/locked/f", "x", 1, 0600), 0);
	assert_int_equal(remote_mem_set_error(fx->r, "/locked", -EACCES), 0);
	dir = lookup_ok(ROOT, "locked");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), -EACCES);

	assert_int_equal(remote_mem_add_file(fx->r, "/plain", "x", 1, 0644), 0);
	ino = lookup_ok(ROOT, "plain");
	assert_int_equal(vfs_lookup(fx->v, ino, "below", &e), -ENOTDIR);
	assert_int_equal(vfs_opendir(fx->v, ino, &d), -ENOTDIR);

	remote_mem_set_error_ops(fx->r, "/", REMOTE_MEM_OPMASK(REMOTE_MEM_STATFS), -ETIMEDOUT);
	{
		struct statvfs sv;

		assert_int_equal(vfs_statfs(fx->v, ROOT, &sv), -ETIMEDOUT);
	}
}

static void nth_read_fault_reaches_the_reader(void **state)
{
	size_t len = 4 * MiB;
	unsigned char *data = pattern(len), *buf = malloc(MiB);
	struct vfs_file *f;
	bool keep;
	uint64_t ino;
	ssize_t n;
	int failures = 0;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", data, len, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	remote_mem_fail_read(fx->r, 2, -ENOSPC);
	for (size_t off = 0; off < len; off += 128 * 1024) {
		n = vfs_read(fx->v, f, off, buf, 128 * 1024);
		if (n == -ENOSPC) {
			failures++;
			n = vfs_read(fx->v, f, off, buf, 128 * 1024); /* a retry works */
		}
		assert_int_equal(n, 128 * 1024);
		assert_memory_equal(buf, data + off, 128 * 1024);
	}
	assert_int_equal(failures, 1);
	vfs_release(fx->v, f);

	/* an EIO (a lost pod) is EIO too, not something else */
	fake_now += 10 * SEC;
	assert_int_equal(remote_mem_set_data(fx->r, "/f", "changed", 7), 0);
	fake_now += 10 * SEC;
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	remote_mem_fail_read(fx->r, 1, -EIO);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 100), -EIO);
	vfs_release(fx->v, f);
	free(data);
	free(buf);
}

/* ---- /proc, /sys, /dev when "/" is mounted ---- */

static void hide_pseudo_shows_proc_sys_dev_empty(void **state)
{
	static const char *pseudo[] = { "proc", "sys", "dev" };
	struct vfs_entry e;
	struct vfs_dir *d;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/proc/self/status", "x", 1, 0444), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/sys/kernel/x", "x", 1, 0444), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/dev/null", "", 0, 0666), 0);
	for (size_t i = 0; i < 3; i++) {
		uint64_t ino = lookup_ok(ROOT, pseudo[i]);

		assert_true(S_ISDIR(vfs_getattr(fx->v, ino, &e.st) == 0 ? e.st.st_mode : 0));
		remote_mem_reset_counts(fx->r);
		assert_int_equal(vfs_opendir(fx->v, ino, &d), 0);
		assert_int_equal(vfs_dir_count(d), 2); /* "." and ".." only */
		vfs_releasedir(fx->v, d);
		assert_int_equal(vfs_lookup(fx->v, ino, "self", &e), -ENOENT);
		assert_int_equal(vfs_lookup(fx->v, ino, "null", &e), -ENOENT);
		assert_int_equal(remote_mem_total(fx->r), 0);
	}
}

static void hide_pseudo_off_shows_everything(void **state)
{
	struct vfs_dir *d;
	uint64_t ino;

	(void)state;
	teardown(NULL);
	setup_with("/", 1.0, 1.0, 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/proc/self/status", "x", 1, 0444), 0);
	ino = lookup_ok(ROOT, "proc");
	assert_int_equal(vfs_opendir(fx->v, ino, &d), 0);
	assert_int_equal(vfs_dir_count(d), 3);
	vfs_releasedir(fx->v, d);
	lookup_ok(ino, "self");
}

/* ---- read-only ---- */

static void write_ops_are_erofs(void **state)
{
	struct vfs_file *f;
	struct vfs_entry e;
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	struct stat st;
	bool keep;
	uint64_t ino;

	(void)state;
	teardown(NULL);
	fx_read_only = true; /* -o ro */
	setup_with("/", 1.0, 1.0, -1);
	fx_read_only = false;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "x", 1, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_WRONLY, &f, &keep), -EROFS);
	assert_int_equal(vfs_open(fx->v, ino, O_RDWR, &f, &keep), -EROFS);
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY | O_TRUNC, &f, &keep), -EROFS);
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), -EROFS);
	assert_int_equal(vfs_mknod(fx->v, ROOT, "n", S_IFREG | 0644, 0, &e), -EROFS);
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "n", 0755, &e), -EROFS);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), -EROFS);
	assert_int_equal(vfs_rmdir(fx->v, ROOT, "f"), -EROFS);
	assert_int_equal(vfs_symlink(fx->v, "t", ROOT, "s", &e), -EROFS);
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", ROOT, "g", 0), -EROFS);
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "g", &e), -EROFS);
	assert_int_equal(vfs_create(fx->v, ROOT, "new", 0644, O_WRONLY | O_CREAT, &e, &f), -EROFS);
	assert_int_equal(vfs_write(fx->v, NULL, 0, "x", 1), -EROFS);
	assert_int_equal(vfs_fallocate(fx->v, ino), -EROFS);
	assert_int_equal(vfs_access(fx->v, ino, W_OK), -EROFS);
	assert_int_equal(vfs_access(fx->v, ino, R_OK), 0);
	assert_int_equal(vfs_access(fx->v, ino, F_OK), 0);
	assert_int_equal(vfs_access(fx->v, ino, X_OK), -EACCES);
	assert_int_equal(vfs_access(fx->v, ROOT, X_OK), 0);
	{
		struct statvfs sv;

		assert_int_equal(vfs_statfs(fx->v, ROOT, &sv), 0);
		assert_true(sv.f_flag & ST_RDONLY);
		assert_int_equal(sv.f_namemax, 255);
	}
}

/* ---- symlinks, xattrs, statistics ---- */

static void readlink_is_cached_with_the_attrs(void **state)
{
	char *t;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_symlink(fx->r, "/link", "../some/target"), 0);
	ino = lookup_ok(ROOT, "link");
	assert_int_equal(vfs_readlink(fx->v, ino, &t), 0);
	assert_string_equal(t, "../some/target");
	free(t);
	assert_int_equal(vfs_readlink(fx->v, ino, &t), 0);
	free(t);
	assert_int_equal(calls(REMOTE_MEM_READLINK), 1);
	fake_now += SEC;
	assert_int_equal(vfs_readlink(fx->v, ino, &t), 0);
	free(t);
	assert_int_equal(calls(REMOTE_MEM_READLINK), 2);
}

static void stats_text_and_no_xattrs(void **state)
{
	char *val;
	size_t len;
	uint64_t ino;
	struct vfs_file *f;
	bool keep;
	char buf[4];

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abcd", 4, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 4), 4);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, 4), 4);
	vfs_release(fx->v, f);

	assert_int_equal(vfs_stats_text(fx->v, &val, &len), 0);
	assert_int_equal(strlen(val), len);
	assert_non_null(strstr(val, "remote_requests 2\n")); /* getattr + read */
	assert_non_null(strstr(val, "page_cache_hits 1\n"));
	assert_non_null(strstr(val, "page_cache_misses 1\n"));
	assert_non_null(strstr(val, "attr_cache_hits "));
	assert_non_null(strstr(val, "\nmem_requests 2\n")); /* the remote's own, appended */
	free(val);

	/* no xattrs: ENOSYS (the kernel stops asking), no remote call */
	assert_int_equal(vfs_getxattr(fx->v, ino, "user.podfs.stats"), -ENOSYS);
	assert_int_equal(vfs_getxattr(fx->v, ROOT, "security.capability"), -ENOSYS);
	assert_int_equal(vfs_listxattr(fx->v, ROOT), -ENOSYS);
	assert_int_equal(vfs_stats_text(fx->v, &val, &len), 0);
	assert_non_null(strstr(val, "remote_requests 2\n"));
	assert_non_null(strstr(val, "xattr_calls 3\n"));
	free(val);
}

/* A remote whose readdir returns names no path could name. */
static int bad_getattr(struct remote *r, const char *path, struct remote_attr *out)
{
	(void)r;
	(void)path;
	memset(out, 0, sizeof(*out));
	out->mode = S_IFDIR | 0755;
	return 0;
}

static int bad_readdir(struct remote *r, const char *path, struct remote_dirent **out, size_t *n)
{
	static const char *names[] = { "", ".", "..", "a/b", "ok", "/" };
	struct remote_dirent *d = calloc(7, sizeof(*d));
	char longname[300];

	(void)r;
	(void)path;
	for (size_t i = 0; i < 6; i++) {
		d[i].name = strdup(names[i]);
		d[i].attr.mode = S_IFREG | 0644;
	}
	memset(longname, 'x', 256);
	longname[256] = '\0';
	d[6].name = strdup(longname);
	*out = d;
	*n = 7;
	return 0;
}

static void impossible_names_from_the_pod_are_dropped(void **state)
{
	static const struct remote_ops ops = { .getattr = bad_getattr, .readdir = bad_readdir };
	struct remote bad = { &ops, NULL };
	struct vfs_cfg cfg;
	struct vfs_dir *d;
	struct vfs_entry e;
	const char *name;
	struct vfs *v;
	enum log_level old = log_threshold;

	(void)state;
	vfs_cfg_init(&cfg);
	cfg.clock = fake_clock;
	assert_int_equal(vfs_new(&v, &cfg, &bad), 0);
	log_set_level(LOG_ERR); /* the expected warning */
	assert_int_equal(vfs_opendir(v, ROOT, &d), 0);
	log_set_level(old);
	assert_int_equal(vfs_dir_count(d), 3);
	assert_int_equal(vfs_dir_entry(v, d, 2, true, &name, &e), 0);
	assert_string_equal(name, "ok");
	vfs_forget(v, e.ino, 1);
	vfs_releasedir(v, d);
	vfs_free(v);
}


/* ---- batches of small files ("tar slices") ---- */

static void reading_a_dirs_small_files_is_one_batch(void **state)
{
	struct vfs_dir *d;
	char path[64], want[64], got[64];
	uint64_t dir;

	(void)state;
	remote_mem_enable_read_many(fx->r);
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/src/f%02d.c", i);
		snprintf(want, sizeof(want), "file %d\n", i);
		assert_int_equal(remote_mem_add_file(fx->r, path, want, strlen(want), 0644), 0);
	}
	unsigned char *big = pattern(300000);

	assert_int_equal(remote_mem_add_file(fx->r, "/src/big.bin", big, 300000, 0644), 0);
	free(big);
	dir = lookup_ok(ROOT, "src");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0); /* the listing, as grep -r makes it */
	vfs_releasedir(fx->v, d);
	/* One file changes after the listing: it must be read normally. */
	assert_int_equal(remote_mem_set_data(fx->r, "/src/f07.c", "changed!!\n", 10), 0);
	remote_mem_reset_counts(fx->r);
	for (int i = 0; i < 50; i++) {
		struct vfs_file *f;
		bool keep;
		uint64_t ino;
		ssize_t n;

		snprintf(path, sizeof(path), "f%02d.c", i);
		ino = lookup_ok(dir, path);
		assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
		n = vfs_read(fx->v, f, 0, got, sizeof(got));
		if (i == 7)
			snprintf(want, sizeof(want), "changed!!\n");
		else
			snprintf(want, sizeof(want), "file %d\n", i);
		assert_int_equal(n, (ssize_t)strlen(want));
		assert_memory_equal(got, want, (size_t)n);
		vfs_release(fx->v, f);
		vfs_forget(fx->v, ino, 1);
	}
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 1);
	/* f07 changed size after the listing: its stamp differs, one normal read. */
	assert_int_equal(calls(REMOTE_MEM_READ), 1);
	/* Within dir_timeout the directory is not batched again. */
	struct vfs_file *f;
	bool keep;
	uint64_t ino = lookup_ok(dir, "f01.c");

	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	vfs_release(fx->v, f);
	vfs_forget(fx->v, ino, 1);
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 1);
}

/* The content the FUSE layer hands to the kernel with the open (notify
 * store), if any: checked against WANT (NULL: none expected). */
static void expect_prefill(struct vfs_file *f, const char *want)
{
	void *data;
	size_t len;

	assert_int_equal(vfs_open_prefill(fx->v, f, &data, &len), 0);
	if (!want) {
		assert_null(data);
		assert_int_equal(len, 0);
		return;
	}
	assert_non_null(data);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	free(data);
}

static void small_file_goes_to_the_kernel_once_with_one_handle(void **state)
{
	struct vfs_file *f, *g;
	struct vfs_dir *d;
	char path[64], want[64], got[64];
	uint64_t dir, ino;
	bool keep;

	(void)state;
	remote_mem_enable_read_many(fx->r);
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/src/f%d", i);
		snprintf(want, sizeof(want), "file %d\n", i);
		assert_int_equal(remote_mem_add_file(fx->r, path, want, strlen(want), 0644), 0);
	}
	dir = lookup_ok(ROOT, "src");
	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	vfs_releasedir(fx->v, d);
	ino = lookup_ok(dir, "f1");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep); /* the listing's attributes are the kernel's */
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 1);
	expect_prefill(f, "file 1\n");
	vfs_open_prefilled(fx->v, f);
	/* a second handle while the first is open: never (its pages may be
	 * locked by a READ in flight) */
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &g, &keep), 0);
	expect_prefill(g, NULL);
	vfs_release(fx->v, g);
	vfs_release(fx->v, f);
	/* once per content: the kernel holds it */
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep);
	expect_prefill(f, NULL);
	vfs_release(fx->v, f);
	/* a writer's handle: never */
	assert_int_equal(vfs_open(fx->v, lookup_ok(dir, "f2"), O_RDWR, &f, &keep), 0);
	expect_prefill(f, NULL);
	vfs_release(fx->v, f);
	/* another reader of a file of the batch: its own content */
	assert_int_equal(vfs_open(fx->v, lookup_ok(dir, "f3"), O_RDONLY, &f, &keep), 0);
	expect_prefill(f, "file 3\n");
	vfs_release(fx->v, f);
	/* changed in the pod: once the attributes are old the open sees the
	 * change, the kernel drops its pages (no keep), nothing is pushed and
	 * the read gets the new content */
	assert_int_equal(remote_mem_set_data(fx->r, "/src/f1", "changed!\n", 9), 0);
	fake_now += 2 * SEC;
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_false(keep);
	expect_prefill(f, NULL);
	assert_int_equal(vfs_read(fx->v, f, 0, got, sizeof(got)), 9);
	assert_memory_equal(got, "changed!\n", 9);
	vfs_release(fx->v, f);
	/* the batch's copy is the old content: never handed over for the
	 * new attributes */
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_true(keep);
	expect_prefill(f, NULL);
	vfs_release(fx->v, f);
}

/* The value of NAME in the vfs's stats text. */
static unsigned long long vfs_stat_value(const char *name)
{
	char *text, *at, key[64];
	size_t len;
	unsigned long long v = 0;

	assert_int_equal(vfs_stats_text(fx->v, &text, &len), 0);
	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(text, key);
	assert_non_null(at);
	v = strtoull(at + strlen(key), NULL, 10);
	free(text);
	return v;
}

/* A read its read-ahead stream holds whole comes from there, past the
 * block cache; anything else (the end of the file, a range the stream
 * does not hold, a handle with writes of ours) goes the usual way. */
static void stream_serves_what_it_holds_past_the_block_cache(void **state)
{
	enum { SIZE = 1 * MiB + 100 };
	unsigned char *data = pattern(SIZE), *got = malloc(SIZE);
	struct vfs_file *f;
	uint64_t ino;
	bool keep;

	(void)state;
	assert_non_null(got);
	assert_int_equal(remote_mem_add_file(fx->r, "/big", data, SIZE, 0644), 0);
	remote_mem_enable_read_streamed(fx->r, 256 * 1024);
	ino = lookup_ok(ROOT, "big");
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	remote_mem_reset_counts(fx->r);
	/* before the stream's start: the block cache, by read */
	assert_int_equal(vfs_read(fx->v, f, 0, got, 128 * 1024), 128 * 1024);
	assert_int_equal(calls(REMOTE_MEM_READ_STREAMED), 1);
	assert_true(calls(REMOTE_MEM_READ) >= 1);
	/* from the stream: no read, no block cached */
	remote_mem_reset_counts(fx->r);
	unsigned long long cached = vfs_stat_value("page_cache_bytes");

	for (size_t off = 256 * 1024; off + 256 * 1024 <= 1 * MiB; off += 256 * 1024)
		assert_int_equal(vfs_read(fx->v, f, off, got + off, 256 * 1024), 256 * 1024);
	assert_int_equal(calls(REMOTE_MEM_READ_STREAMED), 3);
	assert_int_equal(calls(REMOTE_MEM_READ), 0);
	assert_int_equal(vfs_stat_value("page_cache_bytes"), cached);
	assert_int_equal(vfs_stat_value("streamed_reads"), 3);
	/* the end of the file: short, so never from the stream */
	assert_int_equal(vfs_read(fx->v, f, 1 * MiB, got + 1 * MiB, 256 * 1024), 100);
	assert_int_equal(calls(REMOTE_MEM_READ), 1);
	assert_int_equal(vfs_read(fx->v, f, 128 * 1024, got + 128 * 1024, 128 * 1024), 128 * 1024);
	assert_memory_equal(got, data, SIZE);
	vfs_release(fx->v, f);
	/* a handle with our own writes: through the write state, not the stream */
	assert_int_equal(vfs_open(fx->v, ino, O_RDWR, &f, &keep), 0);
	assert_int_equal(vfs_write(fx->v, f, 300000, "XYZ", 3), 3);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(vfs_read(fx->v, f, 262144, got, 65536), 65536);
	assert_int_equal(calls(REMOTE_MEM_READ_STREAMED), 0);
	assert_memory_equal(got + 300000 - 262144, "XYZ", 3);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	vfs_release(fx->v, f);
	free(data);
	free(got);
}

/* find(1) through the vfs: opendir, every entry, lookup, recurse into
 * directories; returns the entries seen. */
static size_t walk(uint64_t dir)
{
	struct vfs_dir *d;
	size_t n, seen = 0;

	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	n = vfs_dir_count(d);
	for (size_t i = 2; i < n; i++) {
		struct vfs_entry e, le;
		const char *name;

		assert_int_equal(vfs_dir_entry(fx->v, d, i, false, &name, &e), 0);
		assert_int_equal(vfs_lookup(fx->v, dir, name, &le), 0);
		seen++;
		if (S_ISDIR(le.st.st_mode))
			seen += walk(le.ino);
		vfs_forget(fx->v, le.ino, 1);
	}
	vfs_releasedir(fx->v, d);
	return seen;
}

static void find_over_a_tree_is_one_subtree_listing(void **state)
{
	char path[64];
	uint64_t tree, d05;

	(void)state;
	remote_mem_enable_readdir_tree(fx->r);
	for (int d = 0; d < 20; d++)
		for (int f = 0; f < 10; f++) {
			snprintf(path, sizeof(path), "/tree/d%02d/f%02d", d, f);
			assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
		}
	assert_int_equal(remote_mem_add_file(fx->r, "/tree/d00/sub/deep/x", "y", 1, 0644), 0);
	assert_int_equal(remote_mem_add_dir(fx->r, "/tree/empty", 0755), 0);
	tree = lookup_ok(ROOT, "tree");
	remote_mem_reset_counts(fx->r);
	/* 21 + 200 + sub, deep, x: four levels, one request */
	assert_int_equal(walk(tree), 224);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 1);
	assert_int_equal(remote_mem_total(fx->r), 1);
	/* the listings below were cached as fresh: again, nothing asked */
	assert_int_equal(walk(tree), 224);
	assert_int_equal(remote_mem_total(fx->r), 1);
	/* after dir_timeout, with a walk going on: a lookup below lists the
	 * parent's subtree again, and the walk goes on from the cache */
	fake_now += 2 * SEC;
	remote_mem_reset_counts(fx->r);
	d05 = lookup_ok(tree, "d05");
	assert_int_equal(walk(d05), 10);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 1);
	assert_int_equal(remote_mem_total(fx->r), 1);
	vfs_forget(fx->v, d05, 1);
	/* a subdirectory that cannot be listed is asked for on its own
	 * (and fails there as readdir would) */
	fake_now += 2 * SEC;
	assert_int_equal(remote_mem_set_error(fx->r, "/tree/d07", -EACCES), 0);
	remote_mem_reset_counts(fx->r);
	{
		struct vfs_dir *d;
		uint64_t d07;

		assert_int_equal(vfs_opendir(fx->v, tree, &d), 0);
		vfs_releasedir(fx->v, d);
		d07 = lookup_ok(tree, "d07");
		assert_int_equal(vfs_opendir(fx->v, d07, &d), -EACCES);
		assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 2);
		vfs_forget(fx->v, d07, 1);
	}
	/* "/" with /proc, /sys, /dev hidden is listed one level only */
	remote_mem_reset_counts(fx->r);
	{
		struct vfs_dir *d;

		assert_int_equal(vfs_opendir(fx->v, ROOT, &d), 0);
		vfs_releasedir(fx->v, d);
	}
	assert_int_equal(calls(REMOTE_MEM_READDIR), 1);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 0);
	vfs_forget(fx->v, tree, 1);
}

static void subtree_listing_too_big_lists_fewer_levels(void **state)
{
	char path[64];
	uint64_t big;

	(void)state;
	remote_mem_enable_readdir_tree(fx->r);
	/* 3 dirs of 12,000 entries: over the cap two levels down */
	for (int d = 0; d < 3; d++)
		for (int f = 0; f < 12000; f++) {
			snprintf(path, sizeof(path), "/big/d%d/f%05d", d, f);
			assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
		}
	big = lookup_ok(ROOT, "big");
	remote_mem_reset_counts(fx->r);
	assert_int_equal(walk(big), 3 + 36000);
	/* the top alone, then each directory by itself */
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 4);
	assert_int_equal(remote_mem_total(fx->r), 4);
	vfs_forget(fx->v, big, 1);
}

/* grep -r through the vfs: every file of every directory opened and read
 * whole (and checked); returns the files read. */
static size_t read_tree(uint64_t dir, const char *dpath)
{
	struct vfs_dir *d;
	size_t n, files = 0;

	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	n = vfs_dir_count(d);
	for (size_t i = 2; i < n; i++) {
		struct vfs_entry e, le;
		const char *name;
		char path[256], got[64];
		void *want;
		size_t wl;

		assert_int_equal(vfs_dir_entry(fx->v, d, i, false, &name, &e), 0);
		assert_int_equal(vfs_lookup(fx->v, dir, name, &le), 0);
		snprintf(path, sizeof(path), "%s/%s", dpath, name);
		if (S_ISDIR(le.st.st_mode)) {
			files += read_tree(le.ino, path);
		} else {
			struct vfs_file *f;
			bool keep;
			ssize_t got_n;

			assert_int_equal(vfs_open(fx->v, le.ino, O_RDONLY, &f, &keep), 0);
			/* a batch fetched ahead lands before the reader goes on:
			 * the same requests in every run */
			vfs_readahead_wait(fx->v);
			got_n = vfs_read(fx->v, f, 0, got, sizeof(got));
			assert_int_equal(remote_mem_get_data(fx->r, path, &want, &wl), 0);
			assert_int_equal(got_n, (ssize_t)wl);
			assert_memory_equal(got, want, wl);
			free(want);
			vfs_release(fx->v, f);
			files++;
		}
		vfs_forget(fx->v, le.ino, 1);
	}
	vfs_releasedir(fx->v, d);
	return files;
}

static void reading_a_tree_batches_across_directories(void **state)
{
	char path[64], data[32];
	uint64_t tree;

	(void)state;
	remote_mem_enable_readdir_tree(fx->r);
	remote_mem_enable_read_many(fx->r);
	for (int d = 0; d < 40; d++)
		for (int f = 0; f < 10; f++) {
			snprintf(path, sizeof(path), "/tree/d%02d/f%02d", d, f);
			snprintf(data, sizeof(data), "file %d/%d\n", d, f);
			assert_int_equal(remote_mem_add_file(fx->r, path, data, strlen(data), 0644), 0);
		}
	tree = lookup_ok(ROOT, "tree");
	{
		struct vfs_dir *d;

		assert_int_equal(vfs_opendir(fx->v, tree, &d), 0);
		vfs_releasedir(fx->v, d);
	}
	/* one file changes after the listing: read on its own, never the
	 * batch's bytes under the listing's stamp */
	assert_int_equal(remote_mem_set_data(fx->r, "/tree/d03/f04", "changed!!!\n", 11), 0);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(read_tree(tree, "/tree"), 400);
	/* 40 directories, batched 8 at a time; nothing listed again */
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 5);
	assert_int_equal(calls(REMOTE_MEM_READ), 1);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	vfs_forget(fx->v, tree, 1);
}

/* TREE/dDD/fFF: NDIRS directories of NFILES files of LEN bytes each
 * (the byte is the directory's number plus the file's), listed. */
static uint64_t make_tree(int ndirs, int nfiles, size_t len)
{
	char path[64], *data = malloc(len);
	uint64_t tree;
	struct vfs_dir *d;

	assert_non_null(data);
	remote_mem_enable_readdir_tree(fx->r);
	remote_mem_enable_read_many(fx->r);
	for (int i = 0; i < ndirs; i++)
		for (int f = 0; f < nfiles; f++) {
			snprintf(path, sizeof(path), "/tree/d%02d/f%02d", i, f);
			memset(data, 'a' + (i + f) % 26, len);
			assert_int_equal(remote_mem_add_file(fx->r, path, data, len, 0644), 0);
		}
	free(data);
	tree = lookup_ok(ROOT, "tree");
	assert_int_equal(vfs_opendir(fx->v, tree, &d), 0);
	vfs_releasedir(fx->v, d);
	return tree;
}

/* Open and read TREE/dDD/fFF whole, check its bytes. */
static void read_file(uint64_t tree, int dn, int fn)
{
	char name[16], path[64];
	uint64_t dir, ino;
	struct vfs_file *f;
	bool keep;
	void *want;
	size_t wl;

	snprintf(name, sizeof(name), "d%02d", dn);
	dir = lookup_ok(tree, name);
	snprintf(name, sizeof(name), "f%02d", fn);
	ino = lookup_ok(dir, name);
	snprintf(path, sizeof(path), "/tree/d%02d/f%02d", dn, fn);
	assert_int_equal(remote_mem_get_data(fx->r, path, &want, &wl), 0);
	char *got = malloc(wl + 1);

	assert_non_null(got);
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, got, wl + 1), (ssize_t)wl);
	assert_memory_equal(got, want, wl);
	vfs_release(fx->v, f);
	vfs_forget(fx->v, ino, 1);
	vfs_forget(fx->v, dir, 1);
	free(got);
	free(want);
}

static unsigned long ahead_batches(void)
{
	struct vfs_counters c;

	vfs_get_counters(fx->v, &c);
	return (unsigned long)c.remote_read_many_ahead;
}

static void next_batch_is_fetched_ahead_in_the_background(void **state)
{
	uint64_t tree;

	(void)state;
	tree = make_tree(40, 10, 100);
	remote_mem_reset_counts(fx->r);
	/* the first file: its batch (d00..d07) now, the next (d08..d15)
	 * in the background */
	read_file(tree, 0, 0);
	vfs_readahead_wait(fx->v);
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 2);
	assert_int_equal(ahead_batches(), 1);
	for (int d = 0; d < 4; d++)
		for (int f = d ? 0 : 1; f < 10; f++)
			read_file(tree, d, f);
	vfs_readahead_wait(fx->v);
	/* nothing more while the next batch is far enough ahead */
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 2);
	/* halfway through the batch (d04): the one after the next (d16..) */
	read_file(tree, 4, 0);
	vfs_readahead_wait(fx->v);
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 3);
	assert_int_equal(ahead_batches(), 2);
	for (int d = 4; d < 40; d++)
		for (int f = d == 4 ? 1 : 0; f < 10; f++) {
			read_file(tree, d, f);
			vfs_readahead_wait(fx->v);
		}
	/* 40 directories, 8 a batch; every file came with one */
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 5);
	assert_int_equal(ahead_batches(), 4);
	assert_int_equal(calls(REMOTE_MEM_READ), 0);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 0);
	vfs_forget(fx->v, tree, 1);
}

struct reader_arg {
	uint64_t tree;
	int dn;
};

static void *reader_main(void *arg)
{
	struct reader_arg *a = arg;

	for (int f = 0; f < 10; f++)
		read_file(a->tree, a->dn, f);
	return NULL;
}

static void reader_waits_for_a_batch_in_flight(void **state)
{
	struct reader_arg a;
	pthread_t th;
	uint64_t tree;

	(void)state;
	tree = make_tree(24, 10, 100);
	remote_mem_reset_counts(fx->r);
	/* the batch fetched ahead stays in flight until the gate opens */
	remote_mem_gate(fx->r, REMOTE_MEM_READ_MANY, 1);
	read_file(tree, 0, 0);
	remote_mem_gate_wait(fx->r, 1);
	/* a reader of d08 meanwhile waits for it: no read of its own */
	a.tree = tree;
	a.dn = 8;
	assert_int_equal(pthread_create(&th, NULL, reader_main, &a), 0);
	remote_mem_gate_open(fx->r);
	assert_int_equal(pthread_join(th, NULL), 0);
	vfs_readahead_wait(fx->v);
	assert_int_equal(calls(REMOTE_MEM_READ), 0);
	/* d00..d07, d08..d15 ahead, and when d08 was reached d16..d23 */
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 3);
	assert_int_equal(ahead_batches(), 2);
	vfs_forget(fx->v, tree, 1);
}

static void batch_fetched_ahead_only_as_far_as_the_store_holds(void **state)
{
	uint64_t tree;
	char *st;
	size_t stlen;

	(void)state;
	/* small-file store: cache_size / 4 = 1 MiB; a batch of 8
	 * directories of 10 files of 8 KiB is 640 KiB */
	teardown(state);
	fx_cache_size = 4 * MiB;
	setup(state);
	fx_cache_size = 0;
	tree = make_tree(40, 10, 8192);
	remote_mem_reset_counts(fx->r);
	read_file(tree, 0, 0);
	vfs_readahead_wait(fx->v);
	/* 384 KiB left: 4 whole directories ahead (40 files), not 8 */
	assert_int_equal(ahead_batches(), 1);
	assert_int_equal(vfs_stats_text(fx->v, &st, &stlen), 0);
	assert_non_null(strstr(st, "\nbatched_files 120\n"));
	free(st);
	/* nothing fetched is dropped before it is read: the whole tree in
	 * order, no file read on its own */
	for (int d = 0; d < 40; d++)
		for (int f = d ? 0 : 1; f < 10; f++) {
			read_file(tree, d, f);
			vfs_readahead_wait(fx->v);
		}
	assert_int_equal(calls(REMOTE_MEM_READ), 0);
	assert_true(ahead_batches() > 1);
	vfs_forget(fx->v, tree, 1);
}

static void walk_outliving_its_listing_lists_again_through_the_parent(void **state)
{
	char path[64];
	uint64_t tree, d02;
	struct vfs_dir *d;

	(void)state;
	remote_mem_enable_readdir_tree(fx->r);
	for (int i = 0; i < 5; i++)
		for (int f = 0; f < 10; f++) {
			snprintf(path, sizeof(path), "/tree/d%02d/f%02d", i, f);
			assert_int_equal(remote_mem_add_file(fx->r, path, "x", 1, 0644), 0);
		}
	tree = lookup_ok(ROOT, "tree");
	assert_int_equal(vfs_opendir(fx->v, tree, &d), 0);
	vfs_releasedir(fx->v, d);
	d02 = lookup_ok(tree, "d02");
	/* the listings expire in the middle of the walk */
	fake_now += 2 * SEC;
	remote_mem_reset_counts(fx->r);
	/* a directory's listing: its parent's subtree again (the siblings
	 * come along), then its files open on fresh attributes */
	assert_int_equal(read_tree(d02, "/tree/d02"), 10);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 1);
	assert_int_equal(remote_mem_total(fx->r), 1 + 10); /* the reads: no read_many here */
	/* files opened after their attributes expired: one listing again, no
	 * getattr per file */
	fake_now += 2 * SEC;
	remote_mem_reset_counts(fx->r);
	for (int f = 0; f < 10; f++) {
		struct vfs_file *fh;
		bool keep;
		uint64_t ino;

		snprintf(path, sizeof(path), "f%02d", f);
		ino = lookup_ok(d02, path);
		assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &fh, &keep), 0);
		vfs_release(fx->v, fh);
		vfs_forget(fx->v, ino, 1);
	}
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	assert_int_equal(calls(REMOTE_MEM_READDIR_TREE), 1);
	vfs_forget(fx->v, d02, 1);
	vfs_forget(fx->v, tree, 1);
}

static void no_batch_without_read_many_or_fresh_listing(void **state)
{
	char got[16];
	struct vfs_file *f;
	bool keep;
	uint64_t dir, ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/a", "a", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/d/b", "b", 1, 0644), 0);
	remote_mem_enable_read_many(fx->r);
	dir = lookup_ok(ROOT, "d");
	ino = lookup_ok(dir, "a"); /* no listing of /d: no batch */
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY, &f, &keep), 0);
	assert_int_equal(vfs_read(fx->v, f, 0, got, sizeof(got)), 1);
	vfs_release(fx->v, f);
	assert_int_equal(calls(REMOTE_MEM_READ_MANY), 0);
	assert_int_equal(calls(REMOTE_MEM_READ), 1);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(reading_a_dirs_small_files_is_one_batch, setup, teardown),
	cmocka_unit_test_setup_teardown(no_batch_without_read_many_or_fresh_listing, setup, teardown),
	cmocka_unit_test_setup_teardown(small_file_goes_to_the_kernel_once_with_one_handle, setup, teardown),
	cmocka_unit_test_setup_teardown(stream_serves_what_it_holds_past_the_block_cache, setup, teardown),
	cmocka_unit_test_setup_teardown(find_over_a_tree_is_one_subtree_listing, setup, teardown),
	cmocka_unit_test_setup_teardown(subtree_listing_too_big_lists_fewer_levels, setup, teardown),
	cmocka_unit_test_setup_teardown(reading_a_tree_batches_across_directories, setup, teardown),
	cmocka_unit_test_setup_teardown(next_batch_is_fetched_ahead_in_the_background, setup, teardown),
	cmocka_unit_test_setup_teardown(reader_waits_for_a_batch_in_flight, setup, teardown),
	cmocka_unit_test_setup_teardown(batch_fetched_ahead_only_as_far_as_the_store_holds, setup, teardown),
	cmocka_unit_test_setup_teardown(walk_outliving_its_listing_lists_again_through_the_parent, setup,
					teardown),
	cmocka_unit_test_setup_teardown(ls_l_of_1000_entries_is_one_readdir_and_no_getattr, setup,
					teardown),
	cmocka_unit_test_setup_teardown(ls_l_without_readdirplus_is_still_one_readdir, setup,
					teardown),
	cmocka_unit_test_setup_teardown(second_listing_within_dir_timeout_makes_no_remote_call,
					setup, teardown),
	cmocka_unit_test_setup_teardown(listing_after_dir_timeout_is_one_readdir, setup, teardown),
	cmocka_unit_test_setup_teardown(listing_shows_new_entries_after_timeout_and_rewind, setup,
					teardown),
	cmocka_unit_test_setup_teardown(dot_and_dotdot_come_first, setup, teardown),
	cmocka_unit_test_setup_teardown(readdirplus_entry_takes_one_lookup, setup, teardown),
	cmocka_unit_test_setup_teardown(lookup_uses_fresh_parent_listing_for_missing_names, setup,
					teardown),
	cmocka_unit_test_setup_teardown(negative_lookup_cached_for_attr_timeout, setup, teardown),
	cmocka_unit_test_setup_teardown(getattr_cached_then_refetched_after_timeout, setup,
					teardown),
	cmocka_unit_test_setup_teardown(file_deleted_in_pod_is_enoent_at_getattr, setup, teardown),
	cmocka_unit_test_setup_teardown(replaced_file_gets_a_new_inode, setup, teardown),
	cmocka_unit_test_setup_teardown(forgotten_ino_is_estale, setup, teardown),
	cmocka_unit_test_setup_teardown(hostile_names_resolve_and_long_names_fail, setup, teardown),
	cmocka_unit_test_setup_teardown(mount_root_below_slash_maps_paths, setup, teardown),
	cmocka_unit_test_setup_teardown(uid_gid_override, setup, teardown),
	cmocka_unit_test_setup_teardown(sequential_5mib_read_takes_few_remote_reads, setup,
					teardown),
	cmocka_unit_test_setup_teardown(reopen_with_unchanged_attrs_reads_nothing_remote, setup,
					teardown),
	cmocka_unit_test_setup_teardown(changed_mtime_at_open_drops_the_cache, setup, teardown),
	cmocka_unit_test_setup_teardown(open_within_attr_timeout_trusts_cached_attrs, setup,
					teardown),
	cmocka_unit_test_setup_teardown(attrs_from_listing_count_as_fresh_at_open, setup, teardown),
	cmocka_unit_test_setup_teardown(open_of_directory_is_eisdir, setup, teardown),
	cmocka_unit_test_setup_teardown(remote_errors_reach_caller_unchanged, setup, teardown),
	cmocka_unit_test_setup_teardown(repeated_misses_in_a_directory_list_it, setup, teardown),
	cmocka_unit_test_setup_teardown(nth_read_fault_reaches_the_reader, setup, teardown),
	cmocka_unit_test_setup_teardown(hide_pseudo_shows_proc_sys_dev_empty, setup, teardown),
	cmocka_unit_test_setup_teardown(hide_pseudo_off_shows_everything, setup, teardown),
	cmocka_unit_test_setup_teardown(write_ops_are_erofs, setup, teardown),
	cmocka_unit_test_setup_teardown(readlink_is_cached_with_the_attrs, setup, teardown),
	cmocka_unit_test_setup_teardown(stats_text_and_no_xattrs, setup, teardown),
	cmocka_unit_test(impossible_names_from_the_pod_are_dropped),
};

UNIT_MAIN(tests)
