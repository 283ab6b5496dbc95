/* test_remote_mem.c: the in-memory remote's modifying operations, checked
 * against the POSIX/Linux rules the exec backend gives (errno for errno),
 * its hard links, space limit, write streams and fault knobs. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "remote_mem.h"

static struct remote *r;
static const struct remote_ops *O;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(remote_mem_new(&r), 0);
	O = r->ops;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(remote_mem_wstreams_open(r), 0);
	r->ops->destroy(r);
	r = NULL;
	return 0;
}

static struct remote_attr st(const char *path)
{
	struct remote_attr a;

	assert_int_equal(remote_mem_lstat(r, path, &a), 0);
	return a;
}

static bool exists(const char *path)
{
	struct remote_attr a;

	return remote_mem_lstat(r, path, &a) == 0;
}

/* PATH holds exactly the LEN bytes DATA. */
static void has_data(const char *path, const void *data, size_t len)
{
	void *got;
	size_t n;

	assert_int_equal(remote_mem_get_data(r, path, &got, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static void file(const char *path, const char *data)
{
	assert_int_equal(remote_mem_add_file(r, path, data, strlen(data), 0644), 0);
}

/* Set PATH's mtime far back, so that a bump shows. */
static void age(const char *path)
{
	assert_int_equal(remote_mem_set_mtime(r, path, 1, 0), 0);
}

static bool bumped(const char *path)
{
	return st(path).mtime.tv_sec > 1;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* ---- create ---- */

static void create_makes_a_new_file(void **state)
{
	struct remote_attr a, b;

	(void)state;
	file("/old", "x");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	age("/d");
	assert_int_equal(O->create(r, "/d/f", 0640, REMOTE_CREATE_EXCL, &a), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.mode & 07777, 0640);
	assert_int_equal(a.size, 0);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.gid, 0);
	assert_true(a.ino != st("/old").ino && a.ino != st("/d").ino);
	assert_true(bumped("/d"));
	b = st("/d/f");
	assert_int_equal(b.ino, a.ino);
	assert_true(ts_eq(b.mtime, a.mtime));
	/* no umask: the mode as given, set-id bits included */
	assert_int_equal(O->create(r, "/d/g", 06777, 0, &a), 0);
	assert_int_equal(a.mode & 07777, 06777);
	/* OUT may be NULL */
	assert_int_equal(O->create(r, "/d/h", 0600, 0, NULL), 0);
	assert_true(exists("/d/h"));
}

static void create_owner_is_the_creator(void **state)
{
	struct remote_attr a;

	(void)state;
	remote_mem_set_creator(r, 1000, 2000);
	assert_int_equal(O->create(r, "/f", 0644, REMOTE_CREATE_EXCL, &a), 0);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 2000);
	assert_int_equal(O->mkdir(r, "/d", 0755, &a), 0);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(O->symlink(r, "f", "/s", &a), 0);
	assert_int_equal(a.gid, 2000);
	/* a set-group-ID directory passes its group (and, to subdirectories,
	 * the bit) on */
	assert_int_equal(remote_mem_add_dir(r, "/sg", 02775), 0);
	assert_int_equal(remote_mem_set_owner(r, "/sg", 0, 50), 0);
	assert_int_equal(O->create(r, "/sg/f", 0644, 0, &a), 0);
	assert_int_equal(a.gid, 50);
	assert_int_equal(a.mode & 07777, 0644);
	assert_int_equal(O->mkdir(r, "/sg/d", 0755, &a), 0);
	assert_int_equal(a.gid, 50);
	assert_int_equal(a.mode & 07777, 02755);
}

static void create_excl_on_anything_existing_is_eexist(void **state)
{
	(void)state;
	file("/f", "data");
	assert_int_equal(remote_mem_add_symlink(r, "/dangling", "/nowhere"), 0);
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(O->create(r, "/f", 0644, REMOTE_CREATE_EXCL, NULL), -EEXIST);
	assert_int_equal(O->create(r, "/dangling", 0644, REMOTE_CREATE_EXCL, NULL), -EEXIST);
	assert_int_equal(O->create(r, "/d", 0644, REMOTE_CREATE_EXCL, NULL), -EEXIST);
	assert_int_equal(O->create(r, "/", 0644, REMOTE_CREATE_EXCL, NULL), -EEXIST);
	assert_false(exists("/nowhere"));
	has_data("/f", "data", 4);
}

static void create_keeps_or_truncates_an_existing_file(void **state)
{
	struct remote_attr before, a;

	(void)state;
	file("/f", "data");
	before = st("/f");
	assert_int_equal(O->create(r, "/f", 0600, 0, &a), 0);
	assert_int_equal(a.ino, before.ino);
	assert_int_equal(a.size, 4);
	assert_int_equal(a.mode, before.mode);
	assert_true(ts_eq(a.mtime, before.mtime));
	has_data("/f", "data", 4);

	age("/f");
	assert_int_equal(O->create(r, "/f", 0600, REMOTE_CREATE_TRUNC, &a), 0);
	assert_int_equal(a.ino, before.ino);
	assert_int_equal(a.size, 0);
	assert_int_equal(a.mode, before.mode); /* mode unchanged */
	assert_true(a.mtime.tv_sec > 1);
	has_data("/f", "", 0);
}

static void create_errors(void **state)
{
	char longname[300];

	(void)state;
	file("/f", "x");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(O->create(r, "/missing/f", 0644, 0, NULL), -ENOENT);
	assert_int_equal(O->create(r, "/f/g", 0644, 0, NULL), -ENOTDIR);
	assert_int_equal(O->create(r, "/d", 0644, 0, NULL), -EISDIR);
	assert_int_equal(O->create(r, "/d", 0644, REMOTE_CREATE_TRUNC, NULL), -EISDIR);
	assert_int_equal(O->create(r, "/", 0644, 0, NULL), -EISDIR);
	memset(longname, 'n', sizeof(longname));
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(O->create(r, longname, 0644, 0, NULL), -ENAMETOOLONG);
	assert_int_equal(O->create(r, "relative", 0644, 0, NULL), -EINVAL);
}

static void create_without_excl_follows_a_symlink(void **state)
{
	struct remote_attr a;

	(void)state;
	file("/d/target", "abc");
	assert_int_equal(remote_mem_add_symlink(r, "/d/link", "target"), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/d/dangling", "../new"), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/loop", "/loop"), 0);
	assert_int_equal(O->create(r, "/d/link", 0600, REMOTE_CREATE_TRUNC, &a), 0);
	assert_int_equal(a.ino, st("/d/target").ino);
	has_data("/d/target", "", 0);
	assert_true(S_ISLNK(st("/d/link").mode));
	/* a dangling link: its target is created */
	assert_int_equal(O->create(r, "/d/dangling", 0600, 0, &a), 0);
	assert_int_equal(a.ino, st("/new").ino);
	assert_int_equal(st("/new").mode & 07777, 0600);
	assert_int_equal(O->create(r, "/loop", 0600, 0, &a), -ELOOP);
}

/* ---- mknod, mkdir ---- */

static void mknod_by_type(void **state)
{
	struct remote_attr a;

	(void)state;
	assert_int_equal(O->mknod(r, "/reg", S_IFREG | 0640, 0, &a), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.mode & 07777, 0640);
	assert_int_equal(O->mknod(r, "/reg", S_IFREG | 0640, 0, &a), -EEXIST);
	assert_int_equal(O->mknod(r, "/plain", 0644, 0, &a), 0); /* type 0: regular */
	assert_true(S_ISREG(a.mode));
	assert_int_equal(O->mknod(r, "/fifo", S_IFIFO | 0600, 0, &a), 0);
	assert_true(S_ISFIFO(a.mode));
	assert_int_equal(st("/fifo").ino, a.ino);
	assert_int_equal(O->mknod(r, "/fifo", S_IFIFO | 0600, 0, &a), -EEXIST);
	assert_int_equal(O->mknod(r, "/chr", S_IFCHR | 0600, 0x0103, &a), -EPERM);
	assert_int_equal(O->mknod(r, "/blk", S_IFBLK | 0600, 0x0801, &a), -EPERM);
	assert_int_equal(O->mknod(r, "/sock", S_IFSOCK | 0600, 0, &a), -EOPNOTSUPP);
	assert_int_equal(O->mknod(r, "/dir", S_IFDIR | 0755, 0, &a), -EINVAL);
	assert_int_equal(O->mknod(r, "/nodir/fifo", S_IFIFO | 0600, 0, &a), -ENOENT);
	assert_false(exists("/chr") || exists("/blk") || exists("/sock") || exists("/dir"));
}

static void mkdir_rules(void **state)
{
	struct remote_attr a;

	(void)state;
	file("/f", "x");
	assert_int_equal(st("/").nlink, 2);
	assert_int_equal(O->mkdir(r, "/d", 0750, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.mode & 07777, 0750);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(st("/").nlink, 3); /* the new ".." */
	assert_int_equal(O->mkdir(r, "/d", 0750, &a), -EEXIST);
	assert_int_equal(O->mkdir(r, "/f", 0750, &a), -EEXIST);
	assert_int_equal(O->mkdir(r, "/", 0750, &a), -EEXIST);
	assert_int_equal(O->mkdir(r, "/x/y", 0750, &a), -ENOENT);
	assert_int_equal(O->mkdir(r, "/f/y", 0750, &a), -ENOTDIR);
	assert_int_equal(O->mkdir(r, "/d/e", 0700, NULL), 0);
	assert_int_equal(st("/d").nlink, 3);
}

/* ---- unlink, rmdir ---- */

static void unlink_rules(void **state)
{
	(void)state;
	file("/d/f", "x");
	assert_int_equal(remote_mem_add_symlink(r, "/d/s", "f"), 0);
	age("/d");
	assert_int_equal(O->unlink(r, "/d"), -EISDIR);
	assert_int_equal(O->unlink(r, "/"), -EISDIR);
	assert_int_equal(O->unlink(r, "/d/nope"), -ENOENT);
	assert_int_equal(O->unlink(r, "/nope/f"), -ENOENT);
	assert_int_equal(O->unlink(r, "/d/f/g"), -ENOTDIR);
	assert_false(bumped("/d"));
	assert_int_equal(O->unlink(r, "/d/s"), 0); /* the link, not its target */
	assert_true(exists("/d/f"));
	assert_int_equal(O->unlink(r, "/d/f"), 0);
	assert_false(exists("/d/f"));
	assert_true(bumped("/d"));
	assert_int_equal(remote_mem_space_used(r), 0);
}

static void rmdir_rules(void **state)
{
	(void)state;
	file("/full/f", "x");
	assert_int_equal(remote_mem_add_dir(r, "/empty", 0755), 0);
	assert_int_equal(st("/").nlink, 4);
	age("/");
	assert_int_equal(O->rmdir(r, "/full"), -ENOTEMPTY);
	assert_int_equal(O->rmdir(r, "/full/f"), -ENOTDIR);
	assert_int_equal(O->rmdir(r, "/"), -EBUSY);
	assert_int_equal(O->rmdir(r, "/nope"), -ENOENT);
	assert_false(bumped("/"));
	assert_int_equal(O->rmdir(r, "/empty"), 0);
	assert_false(exists("/empty"));
	assert_int_equal(st("/").nlink, 3);
	assert_true(bumped("/"));
}

/* ---- rename ---- */

static void rename_file_over_file_replaces(void **state)
{
	struct remote_attr src;

	(void)state;
	file("/a/src", "new");
	file("/b/dst", "old content");
	src = st("/a/src");
	age("/a");
	age("/b");
	assert_int_equal(O->rename(r, "/a/src", "/b/dst", 0), 0);
	assert_false(exists("/a/src"));
	assert_int_equal(st("/b/dst").ino, src.ino); /* keeps its inode number */
	has_data("/b/dst", "new", 3);
	assert_true(bumped("/a"));
	assert_true(bumped("/b"));
	assert_int_equal(remote_mem_space_used(r), 3);
	/* to a new name in the same directory */
	assert_int_equal(O->rename(r, "/b/dst", "/b/other", 0), 0);
	assert_int_equal(st("/b/other").ino, src.ino);
	assert_int_equal(O->rename(r, "/b/none", "/b/x", 0), -ENOENT);
	assert_int_equal(O->rename(r, "/b/other", "/nope/x", 0), -ENOENT);
	assert_int_equal(O->rename(r, "/b/other", "/b/other/x", 0), -ENOTDIR);
	/* to itself: nothing to do */
	assert_int_equal(O->rename(r, "/b/other", "/b/other", 0), 0);
	has_data("/b/other", "new", 3);
}

static void rename_directories(void **state)
{
	struct remote_attr d;

	(void)state;
	file("/d/inner/f", "x");
	assert_int_equal(remote_mem_add_dir(r, "/empty", 0755), 0);
	file("/full/g", "y");
	file("/file", "z");
	d = st("/d");
	/* dir over an empty dir replaces it */
	assert_int_equal(O->rename(r, "/d", "/empty", 0), 0);
	assert_int_equal(st("/empty").ino, d.ino);
	assert_true(exists("/empty/inner/f"));
	assert_false(exists("/d"));
	assert_int_equal(st("/").nlink, 4); /* /empty, /full, and "/" itself */
	assert_int_equal(O->rename(r, "/empty", "/full", 0), -ENOTEMPTY);
	assert_int_equal(O->rename(r, "/file", "/full", 0), -EISDIR);
	assert_int_equal(O->rename(r, "/empty", "/file", 0), -ENOTDIR);
	/* into its own subtree */
	assert_int_equal(O->rename(r, "/empty", "/empty/inner/x", 0), -EINVAL);
	assert_int_equal(O->rename(r, "/empty", "/empty/x", 0), -EINVAL);
	/* over its own ancestor: not empty */
	assert_int_equal(O->rename(r, "/empty/inner", "/empty", 0), -ENOTEMPTY);
	assert_int_equal(O->rename(r, "/", "/x", 0), -EBUSY);
	assert_int_equal(O->rename(r, "/file", "/", 0), -EBUSY);
	/* moving a directory moves its ".." */
	assert_int_equal(O->rename(r, "/empty/inner", "/full/inner", 0), 0);
	assert_int_equal(st("/empty").nlink, 2);
	assert_int_equal(st("/full").nlink, 3);
	assert_true(exists("/full/inner/f"));
}

static void rename_of_two_links_to_one_inode_does_nothing(void **state)
{
	(void)state;
	file("/a", "x");
	assert_int_equal(O->link(r, "/a", "/b", NULL), 0);
	assert_int_equal(O->rename(r, "/a", "/b", 0), 0);
	assert_true(exists("/a"));
	assert_true(exists("/b"));
	assert_int_equal(st("/a").nlink, 2);
}

static void rename_flags(void **state)
{
	(void)state;
	file("/a", "a");
	file("/b", "b");
	assert_int_equal(O->rename(r, "/a", "/b", REMOTE_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(O->rename(r, "/a", "/a", REMOTE_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(O->rename(r, "/a", "/b", REMOTE_RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(O->rename(r, "/a", "/b", 1u << 7), -EINVAL);
	has_data("/a", "a", 1);
	has_data("/b", "b", 1);
	assert_int_equal(O->rename(r, "/a", "/c", REMOTE_RENAME_NOREPLACE), 0);
	has_data("/c", "a", 1);
}

/* ---- symlink, link ---- */

static void symlink_rules(void **state)
{
	struct remote_attr a;
	char *t;

	(void)state;
	file("/f", "x");
	assert_int_equal(O->symlink(r, "", "/s", &a), -ENOENT);
	assert_int_equal(O->symlink(r, "t", "/f", &a), -EEXIST);
	assert_int_equal(O->symlink(r, "t", "/", &a), -EEXIST);
	assert_int_equal(O->symlink(r, "t", "/no/s", &a), -ENOENT);
	age("/");
	assert_int_equal(O->symlink(r, "../any\nbytes", "/s", &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(a.size, 12);
	assert_true(bumped("/"));
	assert_int_equal(O->readlink(r, "/s", &t), 0);
	assert_string_equal(t, "../any\nbytes");
	free(t);
	assert_int_equal(O->symlink(r, "x", "/s", &a), -EEXIST);
}

static void hard_links_share_one_inode(void **state)
{
	struct remote_attr a, b;
	struct remote_dirent *d;
	size_t n;

	(void)state;
	file("/a", "hello");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	age("/d");
	assert_int_equal(O->link(r, "/a", "/d/b", &b), 0);
	assert_true(bumped("/d"));
	a = st("/a");
	assert_int_equal(b.ino, a.ino);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(st("/d/b").nlink, 2);
	assert_int_equal(remote_mem_space_used(r), 5); /* counted once */
	assert_int_equal(O->readdir(r, "/d", &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].attr.nlink, 2);
	remote_dirents_free(d, n);

	/* a write through one name shows through the other */
	assert_int_equal(O->write(r, "/d/b", 5, " world", 6), 6);
	has_data("/a", "hello world", 11);
	assert_int_equal(st("/a").size, 11);
	assert_true(ts_eq(st("/a").mtime, st("/d/b").mtime));
	/* so does a chmod */
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	assert_int_equal(O->setattr(r, "/a", &sa, NULL), 0);
	assert_int_equal(st("/d/b").mode & 07777, 0600);

	/* unlinking one keeps the other */
	assert_int_equal(O->unlink(r, "/a"), 0);
	assert_false(exists("/a"));
	assert_int_equal(st("/d/b").nlink, 1);
	has_data("/d/b", "hello world", 11);
	assert_int_equal(remote_mem_remove(r, "/d/b"), 0);
	assert_int_equal(remote_mem_space_used(r), 0);
}

static void link_rules(void **state)
{
	struct remote_attr a;

	(void)state;
	file("/f", "x");
	file("/g", "y");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/s", "f"), 0);
	assert_int_equal(O->link(r, "/d", "/d2", &a), -EPERM);
	assert_int_equal(O->link(r, "/", "/d2", &a), -EPERM);
	assert_int_equal(O->link(r, "/f", "/g", &a), -EEXIST);
	assert_int_equal(O->link(r, "/f", "/d", &a), -EEXIST);
	assert_int_equal(O->link(r, "/nope", "/h", &a), -ENOENT);
	assert_int_equal(O->link(r, "/f", "/nope/h", &a), -ENOENT);
	assert_int_equal(st("/f").nlink, 1);
	/* a link to a symlink is to the symlink itself */
	assert_int_equal(O->link(r, "/s", "/s2", &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(a.ino, st("/s").ino);
	assert_int_equal(st("/f").nlink, 1);
}

/* ---- setattr ---- */

static void setattr_mode_and_owner(void **state)
{
	struct remote_setattr sa = { 0 };
	struct remote_attr a, before;

	(void)state;
	assert_int_equal(remote_mem_add_file(r, "/f", "x", 1, 06755), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/s", "f"), 0);
	before = st("/f");
	sa.valid = REMOTE_SET_MODE;
	sa.mode = 0600;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 0600);
	assert_true(ts_eq(a.mtime, before.mtime));
	assert_false(ts_eq(a.ctime, before.ctime));
	assert_int_equal(O->setattr(r, "/s", &sa, &a), -EOPNOTSUPP);
	assert_int_equal(O->setattr(r, "/nope", &sa, &a), -ENOENT);

	sa.valid = REMOTE_SET_MODE;
	sa.mode = 06755;
	assert_int_equal(O->setattr(r, "/f", &sa, NULL), 0);
	sa.valid = REMOTE_SET_UID | REMOTE_SET_GID;
	sa.uid = 7;
	sa.gid = 8;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_int_equal(a.uid, 7);
	assert_int_equal(a.gid, 8);
	assert_int_equal(a.mode & 07777, 0755); /* chown clears set-id bits */
	sa.valid = REMOTE_SET_GID;
	sa.gid = 9;
	assert_int_equal(O->setattr(r, "/s", &sa, &a), 0); /* chown -h: the link */
	assert_int_equal(a.gid, 9);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(st("/f").gid, 8);
	/* chown then chmod in one call: the mode given wins */
	sa.valid = REMOTE_SET_UID | REMOTE_SET_MODE;
	sa.uid = 1;
	sa.mode = 04711;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_int_equal(a.mode & 07777, 04711);
}

static void setattr_size(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_SIZE };
	struct remote_attr a;
	static const char grown[8] = { 'a', 'b', 'c', 0, 0, 0, 0, 0 };

	(void)state;
	file("/f", "abcdef");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/p", 0644), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/s", "f"), 0);
	age("/f");
	sa.size = 3;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_int_equal(a.size, 3);
	assert_true(a.mtime.tv_sec > 1);
	sa.size = 8;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	has_data("/f", grown, 8);
	assert_int_equal(remote_mem_space_used(r), 8);
	assert_int_equal(O->setattr(r, "/d", &sa, &a), -EISDIR);
	assert_int_equal(O->setattr(r, "/p", &sa, &a), -EINVAL);
	/* through a symlink (truncate follows it); OUT is the link's */
	sa.size = 1;
	assert_int_equal(O->setattr(r, "/s", &sa, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(st("/f").size, 1);
	sa.size = 2ull << 30;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), -EFBIG);
}

static void setattr_times(void **state)
{
	struct remote_setattr sa = { 0 };
	struct remote_attr a, before;

	(void)state;
	file("/f", "x");
	assert_int_equal(remote_mem_add_symlink(r, "/s", "f"), 0);
	before = st("/f");
	sa.valid = REMOTE_SET_ATIME | REMOTE_SET_MTIME;
	sa.atime.tv_sec = 100;
	sa.atime.tv_nsec = 5;
	sa.mtime.tv_sec = 200;
	sa.mtime.tv_nsec = 6;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_int_equal(a.atime.tv_sec, 100);
	assert_int_equal(a.atime.tv_nsec, 5);
	assert_int_equal(a.mtime.tv_sec, 200);
	assert_int_equal(a.mtime.tv_nsec, 6);
	assert_true(a.ctime.tv_sec >= before.ctime.tv_sec);
	assert_false(ts_eq(a.ctime, before.ctime));
	sa.valid = REMOTE_SET_MTIME_NOW;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_true(a.mtime.tv_sec > 200);
	assert_int_equal(a.atime.tv_sec, 100);
	sa.valid = REMOTE_SET_ATIME_NOW;
	assert_int_equal(O->setattr(r, "/f", &sa, &a), 0);
	assert_true(a.atime.tv_sec > 100);
	/* a symlink's own times (touch -h) */
	sa.valid = REMOTE_SET_MTIME;
	assert_int_equal(O->setattr(r, "/s", &sa, &a), 0);
	assert_int_equal(a.mtime.tv_sec, 200);
	assert_true(st("/f").mtime.tv_sec > 200);
}

/* ---- write ---- */

static void write_is_pwrite(void **state)
{
	static const char want[] = { 'a', 'X', 'Y', 'd', 0, 0, 'Z' };
	struct remote_attr a;

	(void)state;
	file("/f", "abcd");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/p", 0644), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/s", "f"), 0);
	age("/f");
	assert_int_equal(O->write(r, "/f", 1, "XY", 2), 2);
	assert_true(bumped("/f"));
	assert_int_equal(O->write(r, "/s", 6, "Z", 1), 1); /* follows, grows with zeros */
	has_data("/f", want, sizeof(want));
	a = st("/f");
	assert_int_equal(a.size, 7);
	assert_int_equal(a.blocks, 1);
	assert_int_equal(remote_mem_bytes_written(r), 3);
	assert_int_equal(O->write(r, "/nope", 0, "x", 1), -ENOENT);
	assert_int_equal(O->write(r, "/d", 0, "x", 1), -EISDIR);
	assert_int_equal(O->write(r, "/p", 0, "x", 1), -EINVAL);
	assert_int_equal(O->write(r, "/f", 1ull << 40, "x", 1), -EFBIG);
	assert_int_equal(O->write(r, "/f", 0, "", 0), 0);
	assert_int_equal(st("/f").size, 7);
}

/* ---- write streams ---- */

static void wstream_writes_sequentially_from_an_offset(void **state)
{
	struct remote_wstream *w;

	(void)state;
	file("/f", "0123456789");
	assert_int_equal(O->wopen(r, "/f", 2, &w), 0);
	assert_int_equal(remote_mem_wstreams_open(r), 1);
	assert_int_equal(O->wstream_write(w, "ab", 2), 2);
	assert_int_equal(O->wstream_write(w, "cd", 2), 2);
	assert_int_equal(O->wstream_close(w), 0);
	has_data("/f", "01abcd6789", 10); /* bytes past it are kept */
	assert_int_equal(O->wopen(r, "/f", 8, &w), 0);
	assert_int_equal(O->wstream_write(w, "XYZ", 3), 3);
	assert_int_equal(O->wstream_close(w), 0);
	has_data("/f", "01abcd67XYZ", 11);
	assert_int_equal(remote_mem_bytes_written(r), 7);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WOPEN), 2);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WSTREAM_WRITE), 3);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WSTREAM_CLOSE), 2);
	assert_int_equal(O->wstream_close(NULL), 0);
}

static void wstream_open_errors(void **state)
{
	struct remote_wstream *w = (struct remote_wstream *)1;

	(void)state;
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(O->wopen(r, "/nope", 0, &w), -ENOENT);
	assert_null(w);
	assert_int_equal(O->wopen(r, "/d", 0, &w), -EISDIR);
	assert_int_equal(remote_mem_wstreams_open(r), 0);
}

static void wstream_keeps_writing_an_unlinked_file(void **state)
{
	struct remote_wstream *w;

	(void)state;
	file("/f", "abc");
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->rename(r, "/f", "/g", 0), 0);
	assert_int_equal(O->wstream_write(w, "X", 1), 1);
	has_data("/g", "Xbc", 3); /* follows the inode, as dd's open file */
	assert_int_equal(O->unlink(r, "/g"), 0);
	assert_int_equal(O->wstream_write(w, "Y", 1), 1);
	assert_int_equal(O->wstream_close(w), 0);
	assert_int_equal(remote_mem_space_used(r), 0);
}

/* ---- space ---- */

static void space_limit_gives_enospc(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_SIZE };
	struct statvfs sv;

	(void)state;
	file("/f", "12345678");
	remote_mem_set_space(r, 10);
	assert_int_equal(O->statfs(r, "/", &sv), 0);
	assert_int_equal(sv.f_blocks, 0);
	assert_int_equal(O->write(r, "/f", 8, "abc", 3), -ENOSPC);
	has_data("/f", "12345678", 8); /* nothing stored */
	assert_int_equal(O->write(r, "/f", 0, "abcdefgh", 8), 8); /* overwriting needs no room */
	assert_int_equal(O->write(r, "/f", 8, "ij", 2), 2);
	assert_int_equal(remote_mem_space_used(r), 10);
	sa.size = 11;
	assert_int_equal(O->setattr(r, "/f", &sa, NULL), -ENOSPC);
	assert_int_equal(O->create(r, "/g", 0644, 0, NULL), -ENOSPC);
	assert_int_equal(O->mkdir(r, "/d", 0755, NULL), -ENOSPC);
	assert_int_equal(O->symlink(r, "f", "/s", NULL), -ENOSPC);
	assert_int_equal(O->mknod(r, "/p", S_IFIFO | 0644, 0, NULL), -ENOSPC);
	assert_int_equal(O->create(r, "/f", 0644, 0, NULL), 0); /* exists: no room needed */
	assert_int_equal(O->link(r, "/f", "/f2", NULL), 0);
	sa.size = 4;
	assert_int_equal(O->setattr(r, "/f", &sa, NULL), 0); /* frees 6 */
	assert_int_equal(O->create(r, "/g", 0644, 0, NULL), 0);
	remote_mem_set_space(r, 1ull << 20);
	assert_int_equal(O->statfs(r, "/", &sv), 0);
	assert_int_equal(sv.f_blocks, 256);
	assert_int_equal(sv.f_bavail, 255);
	remote_mem_set_space(r, UINT64_MAX);
	assert_int_equal(O->statfs(r, "/", &sv), 0);
	assert_int_equal(sv.f_blocks, 1000000);
}

static void wstream_enospc_reported_by_the_next_call(void **state)
{
	struct remote_wstream *w;

	(void)state;
	file("/f", "");
	remote_mem_set_space(r, 5);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "abc", 3), 3);
	assert_int_equal(O->wstream_write(w, "defg", 4), 4);	   /* accepted, only "de" stored */
	assert_int_equal(O->wstream_write(w, "h", 1), -ENOSPC); /* the next call says so */
	assert_int_equal(O->wstream_write(w, "i", 1), -ENOSPC); /* and every later one */
	assert_int_equal(O->wstream_close(w), -ENOSPC);
	has_data("/f", "abcde", 5);

	/* overflowing on the last write: the close reports it */
	assert_int_equal(O->unlink(r, "/f"), 0);
	file("/f", "");
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "0123456", 7), 7);
	assert_int_equal(O->wstream_close(w), -ENOSPC);
	has_data("/f", "01234", 5);
}

static void wstream_enospc_at_once_when_configured(void **state)
{
	struct remote_wstream *w;

	(void)state;
	file("/f", "");
	remote_mem_set_space(r, 2);
	remote_mem_set_wstream_late_errors(r, false);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "abc", 3), -ENOSPC);
	assert_int_equal(O->wstream_write(w, "d", 1), -ENOSPC);
	assert_int_equal(O->wstream_close(w), -ENOSPC);
	has_data("/f", "ab", 2);
}

/* ---- faults, read-only, counts ---- */

static void error_rules_reach_the_new_ops(void **state)
{
	struct remote_wstream *w;

	(void)state;
	file("/f", "x");
	assert_int_equal(remote_mem_set_error_ops(r, "/f",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE) |
							  REMOTE_MEM_OPMASK(REMOTE_MEM_UNLINK),
						  -EACCES),
			 0);
	assert_int_equal(O->write(r, "/f", 0, "y", 1), -EACCES);
	assert_int_equal(O->unlink(r, "/f"), -EACCES);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE), 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_UNLINK), 1);
	has_data("/f", "x", 1);
	/* rename and link: a rule on either path */
	assert_int_equal(remote_mem_set_error_ops(r, "/g", REMOTE_MEM_WRITE_OPS, -EIO), 0);
	assert_int_equal(O->rename(r, "/f", "/g", 0), -EIO);
	assert_int_equal(O->link(r, "/f", "/g", NULL), -EIO);
	assert_int_equal(O->create(r, "/g", 0644, 0, NULL), -EIO);
	assert_false(exists("/g"));
	/* a stream's ops use the path it was opened on */
	assert_int_equal(remote_mem_set_error_ops(r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_WSTREAM_WRITE), -EIO), 0);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "a", 1), -EIO);
	assert_int_equal(O->wstream_close(w), -EIO); /* sticky */
	assert_int_equal(remote_mem_set_error_ops(r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_WSTREAM_CLOSE), -EDQUOT), 0);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "a", 1), 1);
	assert_int_equal(O->wstream_close(w), -EDQUOT);
	assert_int_equal(remote_mem_set_error_ops(r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_FSYNC), -EIO), 0);
	assert_int_equal(O->fsync(r, "/f", 0), -EIO);
	assert_int_equal(remote_mem_set_error_ops(r, "/f", 0, 0), 0);
	assert_int_equal(O->fsync(r, "/f", 1), 0);
}

static void readonly_makes_every_change_erofs(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	struct remote_wstream *w, *w2;
	struct remote_attr a;
	char buf[4];

	(void)state;
	file("/f", "x");
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	remote_mem_set_readonly(r, true);
	assert_int_equal(O->create(r, "/g", 0644, 0, &a), -EROFS);
	assert_int_equal(O->mknod(r, "/g", S_IFIFO | 0644, 0, &a), -EROFS);
	assert_int_equal(O->mkdir(r, "/g", 0755, &a), -EROFS);
	assert_int_equal(O->unlink(r, "/f"), -EROFS);
	assert_int_equal(O->rmdir(r, "/d"), -EROFS);
	assert_int_equal(O->rename(r, "/f", "/g", 0), -EROFS);
	assert_int_equal(O->symlink(r, "f", "/g", &a), -EROFS);
	assert_int_equal(O->link(r, "/f", "/g", &a), -EROFS);
	assert_int_equal(O->setattr(r, "/f", &sa, &a), -EROFS);
	assert_int_equal(O->write(r, "/f", 0, "y", 1), -EROFS);
	assert_int_equal(O->wopen(r, "/f", 0, &w2), -EROFS);
	assert_int_equal(O->wstream_write(w, "y", 1), -EROFS);
	assert_int_equal(O->wstream_close(w), -EROFS);
	assert_int_equal(O->fsync(r, "/f", 0), 0);
	assert_int_equal(O->read(r, "/f", 0, buf, sizeof(buf)), 1);
	assert_int_equal(O->getattr(r, "/f", &a), 0);
	assert_int_equal(a.mode & 07777, 0644);
	remote_mem_set_readonly(r, false);
	assert_int_equal(O->unlink(r, "/f"), 0);
}

static void disable_writes_leaves_a_read_only_remote(void **state)
{
	struct remote_attr a;

	(void)state;
	file("/f", "x");
	remote_mem_enable_read_many(r);
	remote_mem_disable_writes(r);
	assert_null(r->ops->create);
	assert_null(r->ops->mknod);
	assert_null(r->ops->mkdir);
	assert_null(r->ops->unlink);
	assert_null(r->ops->rmdir);
	assert_null(r->ops->rename);
	assert_null(r->ops->symlink);
	assert_null(r->ops->link);
	assert_null(r->ops->setattr);
	assert_null(r->ops->write);
	assert_null(r->ops->wopen);
	assert_null(r->ops->wstream_write);
	assert_null(r->ops->wstream_close);
	assert_null(r->ops->fsync);
	assert_null(r->ops->write_many);
	assert_non_null(r->ops->read_many);
	assert_int_equal(r->ops->getattr(r, "/f", &a), 0);

	/* another instance keeps its own table */
	struct remote *r2;

	assert_int_equal(remote_mem_new(&r2), 0);
	assert_non_null(r2->ops->create);
	assert_null(r2->ops->read_many);
	r2->ops->destroy(r2);
}

static void fsync_counts_and_checks_the_path(void **state)
{
	(void)state;
	file("/f", "x");
	assert_int_equal(O->fsync(r, "/f", 0), 0);
	assert_int_equal(O->fsync(r, "/f", 1), 0);
	assert_int_equal(O->fsync(r, "/nope", 0), -ENOENT);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_FSYNC), 3);
}

/* write_many as the backend's shell request does it: per file, never
 * through a symlink or over a non-regular file, ENOSPC per file, mode
 * and mtime; the call fails as a whole only for its directory. */
static void write_many_per_file(void **state)
{
	struct remote_wfile wf[] = {
		{ .name = "new", .mode = 0640, .set_mtime = true, .mtime = { 1500000000, 7 }, .data = "abc", .len = 3 },
		{ .name = "old", .mode = 04755, .data = "xy", .len = 2 },
		{ .name = "link", .mode = 0644, .data = "evil", .len = 4 },
		{ .name = "sub", .mode = 0644, .data = "evil", .len = 4 },
		{ .name = "fifo", .mode = 0644, .data = "evil", .len = 4 },
		{ .name = "ruled", .mode = 0644, .data = "r", .len = 1 },
		{ .name = "..", .mode = 0644, .data = "r", .len = 1 },
		{ .name = "empty", .mode = 0600, .data = "", .len = 0 },
	};
	int errs[8];
	struct remote_attr a;

	(void)state;
	file("/d/old", "previous content");
	file("/d/target", "keep");
	assert_int_equal(remote_mem_add_symlink(r, "/d/link", "target"), 0);
	assert_int_equal(remote_mem_add_dir(r, "/d/sub", 0755), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/d/fifo", 0644), 0);
	assert_int_equal(remote_mem_set_error_ops(r, "/d/ruled", REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE_MANY), -EACCES), 0);
	age("/d");
	assert_int_equal(O->write_many(r, "/d", wf, 8, errs), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], 0);
	for (int i = 2; i < 7; i++)
		assert_int_equal(errs[i], -EIO);
	assert_int_equal(errs[7], 0);
	has_data("/d/new", "abc", 3);
	a = st("/d/new");
	assert_int_equal(a.mode, S_IFREG | 0640);
	assert_int_equal(a.mtime.tv_sec, 1500000000);
	assert_int_equal(a.mtime.tv_nsec, 7);
	has_data("/d/old", "xy", 2);
	assert_int_equal(st("/d/old").mode, S_IFREG | 04755);
	assert_true(st("/d/old").mtime.tv_sec > 1500000000); /* the time of writing */
	has_data("/d/target", "keep", 4);
	assert_true(S_ISLNK(st("/d/link").mode));
	assert_true(S_ISDIR(st("/d/sub").mode));
	assert_true(S_ISFIFO(st("/d/fifo").mode));
	assert_false(exists("/d/ruled"));
	has_data("/d/empty", "", 0);
	assert_true(bumped("/d"));
	assert_int_equal(remote_mem_bytes_written(r), 5);

	/* the directory: the whole call fails, nothing is done */
	assert_int_equal(O->write_many(r, "/nope", wf, 1, errs), -ENOENT);
	assert_int_equal(O->write_many(r, "/d/old", wf, 1, errs), -ENOTDIR);
	remote_mem_set_readonly(r, true);
	assert_int_equal(O->write_many(r, "/d", wf, 1, errs), -EROFS);
	remote_mem_set_readonly(r, false);

	/* ENOSPC per file: what fits is stored, the rest is -EIO */
	{
		struct remote_wfile sp[] = {
			{ .name = "a", .mode = 0644, .data = "1234", .len = 4 },
			{ .name = "b", .mode = 0644, .data = "123456", .len = 6 },
			{ .name = "c", .mode = 0644, .data = "12", .len = 2 },
		};

		remote_mem_set_space(r, remote_mem_space_used(r) + 7);
		assert_int_equal(O->write_many(r, "/s", sp, 3, errs), -ENOENT);
		assert_int_equal(O->write_many(r, "/d", sp, 3, errs), 0);
		assert_int_equal(errs[0], 0);
		assert_int_equal(errs[1], -EIO);
		assert_int_equal(errs[2], 0);
		has_data("/d/a", "1234", 4);
		has_data("/d/c", "12", 2);
		assert_true(exists("/d/b")); /* partly written: here, empty */
		assert_int_equal(st("/d/b").size, 0);
	}
}

/* checksum: SHA-256 of a regular file's bytes, symlinks followed as
 * sha256sum does, the errors of remote.h, error rules apply. */
static void checksum_op(void **state)
{
	char sum[65];

	(void)state;
	assert_int_equal(remote_mem_add_file(r, "/h", "hello", 5, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/e", "", 0, 0644), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/l", "h"), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/dangling", "nowhere"), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/p", 0644), 0);
	assert_int_equal(remote_mem_add_dir(r, "/d", 0755), 0);
	assert_int_equal(O->checksum(r, "/h", sum), 0);
	assert_string_equal(sum, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_int_equal(O->checksum(r, "/l", sum), 0);
	assert_string_equal(sum, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_int_equal(O->checksum(r, "/e", sum), 0);
	assert_string_equal(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(O->checksum(r, "/d", sum), -EISDIR);
	assert_int_equal(O->checksum(r, "/p", sum), -EINVAL);
	assert_int_equal(O->checksum(r, "/dangling", sum), -ENOENT);
	assert_int_equal(O->checksum(r, "/missing", sum), -ENOENT);
	assert_int_equal(O->checksum(r, "/h/x", sum), -ENOTDIR);
	assert_int_equal(remote_mem_set_error(r, "/h", -ENOTSUP), 0);
	assert_int_equal(O->checksum(r, "/h", sum), -ENOTSUP);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CHECKSUM), 9);
	assert_int_equal(remote_mem_bytes_read(r), 0);
}

/* readdir_tree callback: "rel(n) " per directory into ARG (a char[512]
 * or NULL), taking the entries. */
static int tree_collect(void *arg, const char *rel, struct remote_dirent *ents, size_t n)
{
	char *out = arg;

	if (out)
		snprintf(out + strlen(out), 512 - strlen(out), "%s(%zu) ", rel, n);
	remote_dirents_free(ents, n);
	return 0;
}

static void readdir_tree_levels_cap_and_rules(void **state)
{
	char got[512];

	(void)state;
	assert_null(O->readdir_tree); /* offered on request only */
	remote_mem_enable_readdir_tree(r);
	assert_int_equal(remote_mem_add_file(r, "/t/a/f1", "1", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/t/a/f2", "2", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/t/b/c/g", "3", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/t/e", "4", 1, 0644), 0);
	/* levels: a b e (3), f1 f2 c (6), g (7) */
	got[0] = '\0';
	assert_int_equal(r->ops->readdir_tree(r, "/t", 4, 100, tree_collect, got), 0);
	assert_string_equal(got, "(3) a(2) b(1) b/c(1) ");
	got[0] = '\0';
	assert_int_equal(r->ops->readdir_tree(r, "/t", 4, 6, tree_collect, got), 0);
	assert_string_equal(got, "(3) a(2) b(1) ");
	got[0] = '\0';
	assert_int_equal(r->ops->readdir_tree(r, "/t", 4, 5, tree_collect, got), 0);
	assert_string_equal(got, "(3) ");
	got[0] = '\0';
	assert_int_equal(r->ops->readdir_tree(r, "/t", 1, 100, tree_collect, got), 0);
	assert_string_equal(got, "(3) ");
	/* a subdirectory that cannot be listed is left out; the top fails */
	assert_int_equal(remote_mem_set_error(r, "/t/a", -EACCES), 0);
	got[0] = '\0';
	assert_int_equal(r->ops->readdir_tree(r, "/t", 4, 100, tree_collect, got), 0);
	assert_string_equal(got, "(3) b(1) b/c(1) ");
	assert_int_equal(remote_mem_set_error(r, "/t", -EACCES), 0);
	assert_int_equal(r->ops->readdir_tree(r, "/t", 4, 100, tree_collect, NULL), -EACCES);
	assert_int_equal(r->ops->readdir_tree(r, "/t/e", 4, 100, tree_collect, NULL), -ENOTDIR);
	assert_int_equal(r->ops->readdir_tree(r, "/nope", 4, 100, tree_collect, NULL), -ENOENT);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_READDIR_TREE), 8);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_READDIR), 0);
}

static void every_op_is_counted_once(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_ATIME_NOW };
	struct remote_wstream *w;

	(void)state;
	assert_int_equal(O->create(r, "/f", 0644, 0, NULL), 0);
	assert_int_equal(O->mknod(r, "/p", S_IFIFO | 0644, 0, NULL), 0);
	assert_int_equal(O->mkdir(r, "/d", 0755, NULL), 0);
	assert_int_equal(O->symlink(r, "f", "/s", NULL), 0);
	assert_int_equal(O->link(r, "/f", "/h", NULL), 0);
	assert_int_equal(O->setattr(r, "/f", &sa, NULL), 0);
	assert_int_equal(O->write(r, "/f", 0, "x", 1), 1);
	assert_int_equal(O->wopen(r, "/f", 0, &w), 0);
	assert_int_equal(O->wstream_write(w, "y", 1), 1);
	assert_int_equal(O->wstream_close(w), 0);
	assert_int_equal(O->fsync(r, "/f", 0), 0);
	assert_int_equal(O->rename(r, "/h", "/h2", 0), 0);
	assert_int_equal(O->unlink(r, "/h2"), 0);
	assert_int_equal(O->rmdir(r, "/d"), 0);
	assert_int_equal(O->may_write(r, "/f"), 0);
	{
		struct remote_wfile wf = { .name = "m", .mode = 0644, .data = "z", .len = 1 };
		int e = 1;

		assert_int_equal(O->write_many(r, "/", &wf, 1, &e), 0);
		assert_int_equal(e, 0);
	}
	{
		char sum[65];

		assert_int_equal(O->checksum(r, "/f", sum), 0);
	}
	remote_mem_enable_readdir_tree(r);
	assert_int_equal(r->ops->readdir_tree(r, "/", 2, 100, tree_collect, NULL), 0);
	{
		char b[1];

		remote_mem_enable_read_streamed(r, 0);
		assert_int_equal(r->ops->read_streamed(r, "/f", 0, b, 1), 1);
	}
	for (int op = REMOTE_MEM_CREATE; op < REMOTE_MEM_NOPS; op++)
		assert_int_equal(remote_mem_count(r, (enum remote_mem_op)op), 1);
	assert_int_equal(remote_mem_total(r), REMOTE_MEM_NOPS - REMOTE_MEM_CREATE);
	remote_mem_reset_counts(r);
	assert_int_equal(remote_mem_total(r), 0);
	assert_int_equal(remote_mem_bytes_written(r), 0);
}

static void parent_mtime_bumps_on_every_entry_change(void **state)
{
	(void)state;
	file("/a/f", "x");
	assert_int_equal(remote_mem_add_dir(r, "/a/e", 0755), 0);
	assert_int_equal(remote_mem_add_dir(r, "/b", 0755), 0);
#define BUMPS(dir, call)                                \
	do {                                            \
		age(dir);                               \
		assert_int_equal(call, 0);              \
		assert_true(bumped(dir));               \
	} while (0)
	BUMPS("/a", O->create(r, "/a/c", 0644, REMOTE_CREATE_EXCL, NULL));
	BUMPS("/a", O->mknod(r, "/a/p", S_IFIFO | 0644, 0, NULL));
	BUMPS("/a", O->mkdir(r, "/a/m", 0755, NULL));
	BUMPS("/a", O->symlink(r, "f", "/a/s", NULL));
	BUMPS("/b", O->link(r, "/a/f", "/b/l", NULL));
	BUMPS("/a", O->rename(r, "/a/c", "/b/c", 0));
	BUMPS("/b", O->rename(r, "/a/p", "/b/p", 0));
	BUMPS("/a", O->unlink(r, "/a/s"));
	BUMPS("/a", O->rmdir(r, "/a/m"));
#undef BUMPS
	/* link and unlink change the inode's ctime */
	struct remote_attr before = st("/a/f");

	assert_int_equal(O->unlink(r, "/b/l"), 0);
	assert_false(ts_eq(st("/a/f").ctime, before.ctime));
	/* a plain write or setattr does not touch the directory */
	age("/a");
	assert_int_equal(O->write(r, "/a/f", 0, "y", 1), 1);
	assert_false(bumped("/a"));
}

static void setup_helpers_are_unchanged(void **state)
{
	struct remote_attr a;
	void *data;
	size_t len;

	(void)state;
	assert_int_equal(remote_mem_add_file(r, "/x/y/f", "abc", 3, 0600), 0);
	assert_int_equal(st("/x").nlink, 3);
	assert_int_equal(st("/x/y").mode, S_IFDIR | 0755);
	a = st("/x/y/f");
	assert_int_equal(remote_mem_add_file(r, "/x/y/f", "z", 1, 0600), 0);
	assert_true(st("/x/y/f").ino != a.ino); /* replaced: a new inode */
	assert_int_equal(remote_mem_space_used(r), 1);
	assert_int_equal(remote_mem_add_symlink(r, "/l", "x/y/f"), 0);
	assert_int_equal(remote_mem_get_data(r, "/l", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "x/y/f", 5);
	free(data);
	assert_int_equal(remote_mem_get_data(r, "/x", &data, &len), -EISDIR);
	assert_null(data);
	assert_int_equal(remote_mem_add_fifo(r, "/p", 0600), 0);
	assert_int_equal(remote_mem_get_data(r, "/p", &data, &len), -EINVAL);
	assert_int_equal(remote_mem_get_data(r, "/nope", &data, &len), -ENOENT);
	assert_int_equal(remote_mem_set_data(r, "/x/y/f", "hello", 5), 0);
	assert_int_equal(remote_mem_space_used(r), 5);
	assert_int_equal(remote_mem_remove(r, "/x"), 0);
	assert_int_equal(remote_mem_space_used(r), 0);
	assert_int_equal(remote_mem_total(r), 0); /* none of these is a pod op */
}

/* Many threads creating, writing and renaming at once: the lock holds
 * (run under ASan/TSan for the real check). */
#define NTHREADS 8
#define ROUNDS 200

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	char p[64], q[64];

	for (int i = 0; i < ROUNDS; i++) {
		snprintf(p, sizeof(p), "/t%d-%d", id, i);
		snprintf(q, sizeof(q), "/u%d-%d", id, i);
		if (O->create(r, p, 0644, REMOTE_CREATE_EXCL, NULL) ||
		    O->write(r, p, 0, "data", 4) != 4 || O->rename(r, p, q, 0) || O->unlink(r, q))
			return (void *)1;
	}
	return NULL;
}

static void concurrent_changes(void **state)
{
	pthread_t t[NTHREADS];
	void *res;

	(void)state;
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), NTHREADS * ROUNDS);
	assert_int_equal(remote_mem_space_used(r), 0);
	assert_int_equal(st("/").nlink, 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(create_makes_a_new_file, setup, teardown),
	cmocka_unit_test_setup_teardown(create_owner_is_the_creator, setup, teardown),
	cmocka_unit_test_setup_teardown(create_excl_on_anything_existing_is_eexist, setup, teardown),
	cmocka_unit_test_setup_teardown(create_keeps_or_truncates_an_existing_file, setup, teardown),
	cmocka_unit_test_setup_teardown(create_errors, setup, teardown),
	cmocka_unit_test_setup_teardown(create_without_excl_follows_a_symlink, setup, teardown),
	cmocka_unit_test_setup_teardown(mknod_by_type, setup, teardown),
	cmocka_unit_test_setup_teardown(mkdir_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(unlink_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(rmdir_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_file_over_file_replaces, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_directories, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_of_two_links_to_one_inode_does_nothing, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_flags, setup, teardown),
	cmocka_unit_test_setup_teardown(symlink_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(hard_links_share_one_inode, setup, teardown),
	cmocka_unit_test_setup_teardown(link_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(setattr_mode_and_owner, setup, teardown),
	cmocka_unit_test_setup_teardown(setattr_size, setup, teardown),
	cmocka_unit_test_setup_teardown(setattr_times, setup, teardown),
	cmocka_unit_test_setup_teardown(write_is_pwrite, setup, teardown),
	cmocka_unit_test_setup_teardown(wstream_writes_sequentially_from_an_offset, setup, teardown),
	cmocka_unit_test_setup_teardown(wstream_open_errors, setup, teardown),
	cmocka_unit_test_setup_teardown(wstream_keeps_writing_an_unlinked_file, setup, teardown),
	cmocka_unit_test_setup_teardown(space_limit_gives_enospc, setup, teardown),
	cmocka_unit_test_setup_teardown(wstream_enospc_reported_by_the_next_call, setup, teardown),
	cmocka_unit_test_setup_teardown(wstream_enospc_at_once_when_configured, setup, teardown),
	cmocka_unit_test_setup_teardown(error_rules_reach_the_new_ops, setup, teardown),
	cmocka_unit_test_setup_teardown(readonly_makes_every_change_erofs, setup, teardown),
	cmocka_unit_test_setup_teardown(disable_writes_leaves_a_read_only_remote, setup, teardown),
	cmocka_unit_test_setup_teardown(fsync_counts_and_checks_the_path, setup, teardown),
	cmocka_unit_test_setup_teardown(write_many_per_file, setup, teardown),
	cmocka_unit_test_setup_teardown(checksum_op, setup, teardown),
	cmocka_unit_test_setup_teardown(readdir_tree_levels_cap_and_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(every_op_is_counted_once, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_mtime_bumps_on_every_entry_change, setup, teardown),
	cmocka_unit_test_setup_teardown(setup_helpers_are_unchanged, setup, teardown),
	cmocka_unit_test_setup_teardown(concurrent_changes, setup, teardown),
};

UNIT_MAIN(tests)
