/* test_vfs_write.c: the write side of fs/vfs.c (vfs.h, "the write side")
 * against the in-memory remote.
 *
 * The fake clock never moves here: whenever a lookup, getattr or listing
 * shows the new state right after one of our own changes, only the
 * invalidation that change did can explain it. Remote calls are counted
 * per op: small writes are buffered and reach the pod at flush/fsync (and
 * never before), a big sequential copy is one write stream, and injected
 * faults (ENOSPC, EACCES, EDQUOT...) reach write/flush unchanged and stick
 * until reported (CLARIFICATIONS.md 5: close and fsync never succeed for
 * data the pod has not stored).
 *
 * FIXED_BUG(cond, text) marks where a vfs bug found by these tests showed
 * (all fixed): it fails the test with the bug's description should it come
 * back. Handles are tracked by the fixture so that a failure leaks nothing
 * under ASan.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote_mem.h"
#include "vfs.h"

#define SEC 1000000000ULL
#define KiB 1024
#define MiB (1024 * 1024)
#define ROOT 1
#define MAX_HANDLES 16

#define FIXED_BUG(cond, text)                                                 \
	do {                                                                  \
		if (cond)                                                     \
			fail_msg("regression (%s:%d): %s", __FILE__, __LINE__, (text)); \
	} while (0)

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now; /* never advanced: freshness comes from invalidation */
}

struct fx {
	struct remote *r;
	struct vfs *v;
	struct vfs_file *files[MAX_HANDLES]; /* open handles, released at teardown */
};

static struct fx *fx;

static void make_vfs(void)
{
	struct vfs_cfg cfg;

	vfs_cfg_init(&cfg);
	cfg.attr_timeout = 1.0;
	cfg.dir_timeout = 1.0;
	cfg.clock = fake_clock;
	assert_int_equal(vfs_new(&fx->v, &cfg, fx->r), 0);
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(remote_mem_new(&fx->r), 0);
	fake_now = 1000 * SEC;
	make_vfs();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < MAX_HANDLES; i++)
		vfs_release(fx->v, fx->files[i]);
	vfs_free(fx->v);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	fx->r->ops->destroy(fx->r);
	free(fx);
	fx = NULL;
	return 0;
}

/* ---- helpers ---- */

static unsigned long calls(enum remote_mem_op op)
{
	return remote_mem_count(fx->r, op);
}

static struct vfs_counters counters(void)
{
	struct vfs_counters c;

	memset(&c, 0, sizeof(c));
	vfs_get_counters(fx->v, &c);
	return c;
}

static void track(struct vfs_file *f)
{
	for (size_t i = 0; i < MAX_HANDLES; i++)
		if (!fx->files[i]) {
			fx->files[i] = f;
			return;
		}
	fail_msg("too many open handles in one test");
}

/* vfs_release, which reports nothing (flushing what is left). */
static void rel(struct vfs_file *f)
{
	for (size_t i = 0; i < MAX_HANDLES; i++)
		if (fx->files[i] == f)
			fx->files[i] = NULL;
	vfs_release(fx->v, f);
}

static struct vfs_file *open_h(uint64_t ino, int flags)
{
	struct vfs_file *f = NULL;
	bool keep;

	assert_int_equal(vfs_open(fx->v, ino, flags, &f, &keep), 0);
	assert_non_null(f);
	track(f);
	return f;
}

/* vfs_create(O_CREAT | FLAGS, mode 0644): the handle; *INO its ino. */
static struct vfs_file *create_h(uint64_t parent, const char *name, int flags, uint64_t *ino)
{
	struct vfs_file *f = NULL;
	struct vfs_entry e;

	assert_int_equal(vfs_create(fx->v, parent, name, 0644, O_CREAT | flags, &e, &f), 0);
	assert_non_null(f);
	assert_true(e.ino > ROOT);
	assert_true(S_ISREG(e.st.st_mode));
	track(f);
	if (ino)
		*ino = e.ino;
	return f;
}

static uint64_t lookup_ok(uint64_t parent, const char *name)
{
	struct vfs_entry e;

	assert_int_equal(vfs_lookup(fx->v, parent, name, &e), 0);
	assert_true(e.ino > ROOT);
	assert_int_equal(e.st.st_ino, e.ino);
	return e.ino;
}

static int lookup_rc(uint64_t parent, const char *name)
{
	struct vfs_entry e;

	return vfs_lookup(fx->v, parent, name, &e);
}

static struct stat getattr_ok(uint64_t ino)
{
	struct stat st;

	assert_int_equal(vfs_getattr(fx->v, ino, &st), 0);
	assert_int_equal(st.st_ino, ino);
	return st;
}

static void wr(struct vfs_file *f, uint64_t off, const void *buf, size_t len)
{
	assert_int_equal(vfs_write(fx->v, f, off, buf, len), (ssize_t)len);
}

/* LEN bytes at OFF in CHUNK-byte sequential writes. Returns the index of
 * the first write that failed (*RC its result), or -1 when all succeeded. */
static long write_chunks(struct vfs_file *f, uint64_t off, const unsigned char *p, size_t len,
			 size_t chunk, ssize_t *rc)
{
	for (size_t done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		*rc = vfs_write(fx->v, f, off + done, p + done, n);
		if (*rc != (ssize_t)n)
			return (long)(done / chunk);
	}
	*rc = 0;
	return -1;
}

static unsigned char *pattern(size_t len)
{
	unsigned char *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + i / 65536 + 7) & 0xff);
	return p;
}

/* The pod's file PATH holds exactly LEN bytes WANT. */
static void pod_is(const char *path, const void *want, size_t len)
{
	void *d = NULL;
	size_t n = 0;

	assert_int_equal(remote_mem_get_data(fx->r, path, &d, &n), 0);
	assert_int_equal(n, len);
	if (len)
		assert_memory_equal(d, want, len);
	free(d);
}

static uint64_t pod_size(const char *path)
{
	struct remote_attr a;

	assert_int_equal(remote_mem_lstat(fx->r, path, &a), 0);
	return a.size;
}

static bool pod_has(const char *path)
{
	struct remote_attr a;

	return remote_mem_lstat(fx->r, path, &a) == 0;
}

/* Whether the listing of DIR (vfs_opendir) holds NAME; *ST (may be NULL)
 * gets its entry's type and mode. */
static bool listed(uint64_t dir, const char *name, struct stat *st)
{
	struct vfs_dir *d = NULL;
	bool found = false;

	assert_int_equal(vfs_opendir(fx->v, dir, &d), 0);
	for (size_t i = 2; i < vfs_dir_count(d); i++) {
		struct vfs_entry e;
		const char *n;

		assert_int_equal(vfs_dir_entry(fx->v, d, i, false, &n, &e), 0);
		if (strcmp(n, name) == 0) {
			found = true;
			if (st)
				*st = e.st;
		}
	}
	vfs_releasedir(fx->v, d);
	return found;
}

/* ---- create, write, read back ---- */

static void create_excl_and_trunc(void **state)
{
	struct vfs_file *f = NULL;
	struct vfs_entry e;
	char buf[16];
	uint64_t ino, g;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "hello", 5, 0644), 0);
	ino = lookup_ok(ROOT, "f");

	/* O_EXCL on an existing name: EEXIST, the file untouched */
	assert_int_equal(vfs_create(fx->v, ROOT, "f", 0644, O_CREAT | O_EXCL | O_WRONLY, &e, &f),
			 -EEXIST);
	assert_null(f);
	pod_is("/f", "hello", 5);

	/* without O_TRUNC an existing file is opened as it is */
	f = create_h(ROOT, "f", O_RDWR, &g);
	assert_int_equal(g, ino); /* same pod file: same ino */
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	rel(f);

	/* O_TRUNC empties it, and every view says so at once */
	f = create_h(ROOT, "f", O_RDWR | O_TRUNC, &g);
	assert_int_equal(g, ino);
	pod_is("/f", "", 0);
	assert_int_equal(getattr_ok(ino).st_size, 0);
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), 0);
	rel(f);

	/* a new name with O_EXCL: one create, the entry is what lookup finds */
	remote_mem_reset_counts(fx->r);
	f = create_h(ROOT, "g", O_WRONLY | O_EXCL, &g);
	assert_int_equal(calls(REMOTE_MEM_CREATE), 1);
	assert_int_equal(lookup_ok(ROOT, "g"), g);
	assert_int_equal(getattr_ok(g).st_mode & 07777, 0644);
	assert_true(pod_has("/g"));
	assert_int_equal(pod_size("/g"), 0);
	rel(f);
}

static void writes_are_buffered_and_reads_see_them(void **state)
{
	struct vfs_file *f, *r;
	char buf[64];
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_RDWR, &ino);
	remote_mem_reset_counts(fx->r);

	wr(f, 0, "hello world", 11);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0); /* buffered */
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 0);
	assert_int_equal(pod_size("/f"), 0);
	/* getattr shows the size our unsent writes make, and sends nothing */
	assert_int_equal(getattr_ok(ino).st_size, 11);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);

	/* a read through the same handle flushes first */
	assert_int_equal(vfs_read(fx->v, f, 0, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 1);
	pod_is("/f", "hello world", 11);

	/* ... and through another handle, which has cached the old bytes */
	r = open_h(ino, O_RDONLY);
	assert_int_equal(vfs_read(fx->v, r, 0, buf, sizeof(buf)), 11);
	wr(f, 6, "WORLD", 5);
	assert_int_equal(vfs_read(fx->v, r, 0, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "hello WORLD", 11);

	/* the pod holds new bytes once flush returns, not before */
	wr(f, 11, "!", 1);
	assert_int_equal(getattr_ok(ino).st_size, 12);
	pod_is("/f", "hello WORLD", 11);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 2);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 3);
	pod_is("/f", "hello WORLD!", 12);
	assert_int_equal(getattr_ok(ino).st_size, 12);
	/* nothing left: a second flush sends nothing */
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 3);
	rel(r);
	rel(f);
}

static void many_small_writes_are_one_remote_write(void **state)
{
	unsigned char *p = pattern(100000);
	struct vfs_file *f;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_reset_counts(fx->r);
	for (size_t off = 0; off < 100000; off += 100)
		wr(f, off, p + off, 100);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 0);
	assert_int_equal(pod_size("/f"), 0);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 1);
	pod_is("/f", p, 100000);

	/* fsync: the same, then the pod's fsync */
	wr(f, 100000, "tail", 4);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 1);
	assert_int_equal(vfs_fsync(fx->v, f, 0), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 2);
	assert_int_equal(calls(REMOTE_MEM_FSYNC), 1);
	assert_int_equal(pod_size("/f"), 100004);
	rel(f);
	free(p);
}

static void overlapping_writes_last_wins_and_holes_are_zeros(void **state)
{
	const char want[] = "aaccaBBBBBBBBBB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0zz";
	struct vfs_file *f;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_reset_counts(fx->r);
	wr(f, 0, "aaaaaaaaaa", 10);
	wr(f, 5, "BBBBBBBBBB", 10); /* overlaps the tail: merged */
	wr(f, 2, "cc", 2);	    /* inside: replaced */
	wr(f, 30, "zz", 2);	    /* past the end: a hole */
	assert_int_equal(getattr_ok(ino).st_size, 32);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 2); /* two ranges */
	pod_is("/f", want, 32);
	rel(f);

	/* an existing file: its bytes stay around ours, a hole past its end */
	assert_int_equal(remote_mem_add_file(fx->r, "/e", "0123456789", 10, 0644), 0);
	ino = lookup_ok(ROOT, "e");
	f = open_h(ino, O_WRONLY);
	wr(f, 3, "AB", 2);
	wr(f, 14, "x", 1);
	assert_int_equal(getattr_ok(ino).st_size, 15);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/e", "012AB56789\0\0\0\0x", 15);
	rel(f);
}

static void release_and_another_handles_flush_store_the_data(void **state)
{
	struct vfs_file *a, *b;
	uint64_t ino;

	(void)state;
	a = create_h(ROOT, "f", O_WRONLY, &ino);
	b = open_h(ino, O_WRONLY);
	wr(a, 0, "from a", 6);
	/* flush of any handle stores what every handle of the file wrote */
	assert_int_equal(vfs_flush(fx->v, b), 0);
	pod_is("/f", "from a", 6);
	/* release (no flush before it) stores what is left, reporting nothing */
	wr(b, 6, " and b", 6);
	rel(b);
	pod_is("/f", "from a and b", 12);
	rel(a);
}

/* ---- write streams ---- */

static void sequential_megabytes_use_one_write_stream(void **state)
{
	size_t len = 4 * MiB;
	unsigned char *p = pattern(len);
	struct vfs_file *f;
	uint64_t ino;
	ssize_t rc;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(write_chunks(f, 0, p, len, 64 * KiB, &rc), -1);
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 1);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 1);
	assert_int_equal(getattr_ok(ino).st_size, len);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);
	pod_is("/f", p, len);
	assert_int_equal(getattr_ok(ino).st_size, len);
	rel(f);
	free(p);
}

static void non_sequential_write_ends_the_stream(void **state)
{
	size_t len = 3 * MiB;
	unsigned char *p = pattern(len);
	struct vfs_file *f;
	uint64_t ino;
	ssize_t rc;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(write_chunks(f, 0, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 1);
	/* back into what the stream wrote: the stream ends, bytes buffered */
	memcpy(p + 1000, "XYZ", 3);
	wr(f, 1000, "XYZ", 3);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	assert_int_equal(write_chunks(f, 2 * MiB, p + 2 * MiB, MiB, 64 * KiB, &rc), -1);
	assert_int_equal(getattr_ok(ino).st_size, len);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	pod_is("/f", p, len);
	rel(f);
	free(p);
}

/* ---- errors: precise, sticky, reported once ---- */

/* ENOSPC from a write stream (LATE: the fake reports it at the next
 * stream call, as a buffering backend does). */
static void stream_enospc(bool late)
{
	size_t len = 4 * MiB;
	unsigned char *p = pattern(len);
	struct vfs_file *f;
	uint64_t ino;
	ssize_t rc;
	long bad;

	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_set_wstream_late_errors(fx->r, late);
	remote_mem_set_space(fx->r, 3 * MiB / 2); /* 24 chunks of 64 KiB */
	bad = write_chunks(f, 0, p, len, 64 * KiB, &rc);
	assert_int_equal(rc, -ENOSPC);
	/* chunk 24 does not fit: at once, or (late) at the next write */
	assert_int_equal(bad, late ? 25 : 24);
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 1);
	/* sticky: the next write says it again, and so does flush */
	assert_int_equal(vfs_write(fx->v, f, (uint64_t)(bad + 1) * 64 * KiB, p, 64 * KiB), -ENOSPC);
	assert_int_equal(vfs_write(fx->v, f, 0, "x", 1), -ENOSPC);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	assert_int_equal(vfs_flush(fx->v, f), -ENOSPC);
	assert_int_equal(pod_size("/f"), 3 * MiB / 2); /* what fit */
	/* reported once; then new data flushes fine */
	assert_int_equal(vfs_flush(fx->v, f), 0);
	remote_mem_set_space(fx->r, UINT64_MAX);
	wr(f, 0, "ok", 2);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	{
		void *d;
		size_t n;

		assert_int_equal(remote_mem_get_data(fx->r, "/f", &d, &n), 0);
		assert_int_equal(n, 3 * MiB / 2);
		assert_memory_equal(d, "ok", 2);
		assert_memory_equal((char *)d + 2, p + 2, n - 2);
		free(d);
	}
	rel(f);
	free(p);
}

static void stream_enospc_late_is_sticky(void **state)
{
	(void)state;
	stream_enospc(true);
}

static void stream_enospc_at_once_is_sticky(void **state)
{
	(void)state;
	stream_enospc(false);
}

static void buffered_enospc_reaches_flush_and_fsync(void **state)
{
	unsigned char *p = pattern(100);
	struct vfs_file *f;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_set_space(fx->r, 10);
	wr(f, 0, p, 100); /* buffered: write cannot know yet */
	assert_int_equal(vfs_flush(fx->v, f), -ENOSPC);
	assert_int_equal(pod_size("/f"), 0);
	assert_int_equal(vfs_flush(fx->v, f), 0); /* reported */

	wr(f, 0, p, 100);
	remote_mem_reset_counts(fx->r);
	assert_int_equal(vfs_fsync(fx->v, f, 0), -ENOSPC);
	assert_int_equal(calls(REMOTE_MEM_FSYNC), 0); /* nothing stored to sync */

	remote_mem_set_space(fx->r, UINT64_MAX);
	wr(f, 0, p, 100);
	assert_int_equal(vfs_fsync(fx->v, f, 1), 0);
	pod_is("/f", p, 100);
	rel(f);
	free(p);
}

/* Without streams (wopen says ENOTSUP: asked once), DIRTY_MAX bytes of
 * buffered data are sent from vfs_write; their ENOSPC is that write's. */
static void enospc_of_a_full_buffer_is_sticky_at_write(void **state)
{
	size_t len = 9 * MiB;
	unsigned char *p = pattern(len);
	struct vfs_file *f;
	uint64_t ino;
	ssize_t rc;
	long bad;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_WOPEN),
						  -ENOTSUP), 0);
	remote_mem_set_space(fx->r, MiB);
	remote_mem_reset_counts(fx->r);
	bad = write_chunks(f, 0, p, len, 64 * KiB, &rc);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(bad, 127); /* the write that filled 8 MiB */
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 1);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 1);
	assert_int_equal(vfs_write(fx->v, f, 8 * MiB, p, 64 * KiB), -ENOSPC);
	assert_int_equal(vfs_flush(fx->v, f), -ENOSPC);
	assert_int_equal(pod_size("/f"), 0);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	remote_mem_set_space(fx->r, UINT64_MAX);
	wr(f, 0, p, 1000);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/f", p, 1000);
	rel(f);
	free(p);
}

static void injected_write_errors_reach_flush_unchanged(void **state)
{
	unsigned char *p = pattern(2 * MiB);
	struct vfs_file *f;
	uint64_t ino;
	ssize_t rc;

	(void)state;
	/* pwrite */
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE),
						  -EACCES), 0);
	wr(f, 0, "abc", 3);
	assert_int_equal(vfs_flush(fx->v, f), -EACCES);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/f", 0, 0), 0);
	wr(f, 0, "def", 3);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/f", "def", 3);
	rel(f);

	/* a stream's write: at the write that hits it, then sticky */
	f = create_h(ROOT, "g", O_WRONLY, &ino);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/g",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_WSTREAM_WRITE), -EIO), 0);
	assert_int_equal(write_chunks(f, 0, p, 2 * MiB, 64 * KiB, &rc), 15);
	assert_int_equal(rc, -EIO);
	assert_int_equal(vfs_write(fx->v, f, MiB, p, 10), -EIO);
	assert_int_equal(vfs_flush(fx->v, f), -EIO);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	rel(f);

	/* a stream's close: at flush */
	f = create_h(ROOT, "h", O_WRONLY, &ino);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/h",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_WSTREAM_CLOSE), -EDQUOT),
			 0);
	assert_int_equal(write_chunks(f, 0, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(vfs_fsync(fx->v, f, 0), -EDQUOT);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	rel(f);
	free(p);
}

/* A flush another operation forces (a read, a setattr) hits the writer's
 * error: the writer's close must still report it (CLARIFICATIONS 5). */
static void failed_forced_flush_still_reaches_the_writers_close(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	struct vfs_file *w, *r;
	struct stat st;
	char buf[8];
	uint64_t ino;
	int rc;

	(void)state;
	w = create_h(ROOT, "f", O_WRONLY, &ino);
	r = open_h(ino, O_RDONLY);
	wr(w, 0, "data", 4);
	assert_int_equal(remote_mem_set_error_ops(fx->r, "/f", REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE),
						  -ENOSPC), 0);
	/* the reader's read flushes first; it gets what the pod has (the
	 * error is the writer's to report) */
	assert_true(vfs_read(fx->v, r, 0, buf, sizeof(buf)) >= 0);
	rc = vfs_flush(fx->v, w);
	FIXED_BUG(rc == 0, "a flush forced by vfs_read (also flush_ino: setattr, rename, link) "
			   "consumes the writer's error; its close then returns 0 for data "
			   "the pod never stored");
	assert_int_equal(rc, -ENOSPC);

	wr(w, 0, "data", 4);
	rc = vfs_setattr(fx->v, ino, &sa, &st);
	(void)rc; /* the chmod itself may fail or not; the data error must stay */
	assert_int_equal(vfs_flush(fx->v, w), -ENOSPC);
	rel(r);
	rel(w);
}

/* fsync(2) of any descriptor syncs the file (Linux): also a read-only
 * one, while another handle has unsent data. */
static void fsync_of_a_read_handle_stores_other_handles_data(void **state)
{
	struct vfs_file *w, *r;
	uint64_t ino;
	int rc;

	(void)state;
	w = create_h(ROOT, "f", O_WRONLY, &ino);
	r = open_h(ino, O_RDONLY);
	wr(w, 0, "unsent", 6);
	rc = vfs_fsync(fx->v, r, 0);
	assert_int_equal(rc, 0);
	FIXED_BUG(pod_size("/f") == 0, "vfs_fsync of a handle without write state (read-only) "
				       "returns 0 at once; data other handles wrote stays unsent");
	pod_is("/f", "unsent", 6);
	rel(r);
	rel(w);
}

/* ---- truncation ---- */

static void truncate_with_unsent_data_applies_after_it(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_SIZE };
	struct vfs_file *f;
	struct stat st;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "hello world", 11);
	sa.size = 5; /* data first, then the truncate */
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	assert_int_equal(st.st_size, 5);
	pod_is("/f", "hello", 5);
	assert_int_equal(getattr_ok(ino).st_size, 5);

	wr(f, 8, "Z", 1);
	assert_int_equal(getattr_ok(ino).st_size, 9);
	wr(f, 0, "HE", 2);
	sa.size = 12; /* growing: zeros after our bytes */
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	assert_int_equal(st.st_size, 12);
	assert_int_equal(getattr_ok(ino).st_size, 12);
	pod_is("/f", "HEllo\0\0\0Z\0\0\0", 12);

	/* down again into unsent bytes: they are cut too */
	wr(f, 12, "tail", 4);
	sa.size = 3;
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/f", "HEl", 3);
	assert_int_equal(getattr_ok(ino).st_size, 3);
	rel(f);
}

static void open_with_o_trunc(void **state)
{
	struct vfs_file *f, *r, *a;
	char buf[16];
	uint64_t ino, g;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "hello", 5, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	r = open_h(ino, O_RDONLY);
	assert_int_equal(vfs_read(fx->v, r, 0, buf, sizeof(buf)), 5); /* cached */
	remote_mem_reset_counts(fx->r);
	f = open_h(ino, O_WRONLY | O_TRUNC);
	assert_int_equal(calls(REMOTE_MEM_SETATTR), 1);
	pod_is("/f", "", 0);
	assert_int_equal(getattr_ok(ino).st_size, 0);
	assert_int_equal(vfs_read(fx->v, r, 0, buf, sizeof(buf)), 0);
	wr(f, 0, "new", 3);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/f", "new", 3);
	rel(f);
	rel(r);

	/* create(O_TRUNC) drops what another handle wrote and did not send */
	a = create_h(ROOT, "g", O_WRONLY, &g);
	wr(a, 0, "0123456789", 10);
	f = create_h(ROOT, "g", O_WRONLY | O_TRUNC, NULL);
	assert_int_equal(getattr_ok(g).st_size, 0);
	assert_int_equal(vfs_flush(fx->v, a), 0);
	pod_is("/g", "", 0);
	rel(f);
	rel(a);

	/* so must open(O_TRUNC), even while the pod's file is still empty */
	a = create_h(ROOT, "h", O_WRONLY, &g);
	wr(a, 0, "0123456789", 10);
	f = open_h(g, O_WRONLY | O_TRUNC);
	FIXED_BUG(getattr_ok(g).st_size != 0,
		  "vfs_open(O_TRUNC) truncates only when the cached size is > 0: unsent data "
		  "of another handle (pod size still 0) survives the truncate");
	assert_int_equal(vfs_flush(fx->v, a), 0);
	pod_is("/h", "", 0);
	rel(f);
	rel(a);
}

/* ---- caches follow our own changes at once (the clock never moves) ---- */

static void new_entries_show_at_once(void **state)
{
	struct vfs_file *f;
	struct vfs_entry e;
	struct stat st;
	char *t;
	uint64_t ino, d, s;
	nlink_t root_links;

	(void)state;
	/* cache negatives and the root's listing and attributes first */
	assert_int_equal(lookup_rc(ROOT, "n"), -ENOENT);
	assert_int_equal(lookup_rc(ROOT, "d"), -ENOENT);
	assert_int_equal(lookup_rc(ROOT, "s"), -ENOENT);
	assert_false(listed(ROOT, "n", NULL));
	root_links = getattr_ok(ROOT).st_nlink;

	f = create_h(ROOT, "n", O_WRONLY, &ino);
	assert_int_equal(lookup_ok(ROOT, "n"), ino);
	assert_true(listed(ROOT, "n", &st));
	assert_true(S_ISREG(st.st_mode));
	rel(f);

	assert_int_equal(vfs_mkdir(fx->v, ROOT, "d", 0750, &e), 0);
	d = e.ino;
	assert_true(S_ISDIR(e.st.st_mode));
	assert_int_equal(e.st.st_mode & 07777, 0750);
	assert_int_equal(lookup_ok(ROOT, "d"), d);
	assert_true(listed(ROOT, "d", NULL));
	assert_int_equal(getattr_ok(ROOT).st_nlink, root_links + 1);
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "d", 0750, &e), -EEXIST);

	assert_int_equal(vfs_symlink(fx->v, "some/target", ROOT, "s", &e), 0);
	s = e.ino;
	assert_true(S_ISLNK(e.st.st_mode));
	assert_int_equal(lookup_ok(ROOT, "s"), s);
	assert_int_equal(vfs_readlink(fx->v, s, &t), 0);
	assert_string_equal(t, "some/target");
	free(t);
	assert_true(listed(ROOT, "s", &st));
	assert_true(S_ISLNK(st.st_mode));

	/* a file in the new directory */
	assert_int_equal(lookup_rc(d, "x"), -ENOENT);
	f = create_h(d, "x", O_WRONLY, &ino);
	assert_int_equal(lookup_ok(d, "x"), ino);
	assert_true(listed(d, "x", NULL));
	rel(f);
	assert_true(pod_has("/d/x"));
}

/* Files made in a directory we just made, or just listed, need no lookup
 * request: the listing gets our own new entries in place (and loses the
 * removed ones), so `cp -r` into the mount costs a create and a flush per
 * file. A listing still answers for entries made in the pod meanwhile
 * only until dir_timeout, as any listing. */
static void creates_in_a_listed_directory_ask_no_lookup(void **state)
{
	struct vfs_entry e;
	struct vfs_file *f;
	char name[16];
	uint64_t d, ino;

	(void)state;
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "new", 0755, &e), 0);
	d = e.ino;
	remote_mem_reset_counts(fx->r);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(lookup_rc(d, name), -ENOENT);
		f = create_h(d, name, O_WRONLY | O_EXCL, &ino);
		wr(f, 0, "data", 4);
		assert_int_equal(vfs_flush(fx->v, f), 0);
		rel(f);
		assert_int_equal(lookup_ok(d, name), ino);
	}
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	assert_int_equal(calls(REMOTE_MEM_READDIR), 0);
	assert_int_equal(calls(REMOTE_MEM_CREATE), 20);
	assert_true(listed(d, "f19", NULL));
	/* a removed entry leaves the listing too */
	assert_int_equal(vfs_unlink(fx->v, d, "f3"), 0);
	assert_false(listed(d, "f3", NULL));
	assert_int_equal(lookup_rc(d, "f3"), -ENOENT);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0);
	assert_int_equal(calls(REMOTE_MEM_READDIR), 0);
	pod_is("/new/f19", "data", 4);
	assert_false(pod_has("/new/f3"));
}

static void hard_link_shows_at_once(void **state)
{
	struct vfs_entry e;
	uint64_t ino, h;
	int rc;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(getattr_ok(ino).st_nlink, 1); /* cached */
	assert_int_equal(lookup_rc(ROOT, "h"), -ENOENT);
	assert_false(listed(ROOT, "h", NULL));
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "h", &e), 0);
	assert_int_equal(e.st.st_nlink, 2);
	assert_int_equal(e.st.st_size, 3);
	assert_int_equal(getattr_ok(ino).st_nlink, 2);
	h = lookup_ok(ROOT, "h");
	assert_int_equal(h, e.ino);
	assert_int_equal(getattr_ok(h).st_nlink, 2);
	assert_true(listed(ROOT, "h", NULL));
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "h", &e), -EEXIST);

	/* unlinking one name changes the other's link count */
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), 0);
	assert_int_equal(lookup_rc(ROOT, "f"), -ENOENT);
	rc = (int)getattr_ok(h).st_nlink;
	FIXED_BUG(rc != 1, "unlink/rename-over of one hard link does not drop the cached "
			   "attributes of the file's other names: their st_nlink stays stale "
			   "until attr_timeout");
	assert_int_equal(rc, 1);
}

static void unlink_and_rmdir_show_at_once(void **state)
{
	uint64_t f, d, d2;
	nlink_t root_links;
	int rc;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0644), 0);
	assert_int_equal(remote_mem_add_dir(fx->r, "/d", 0755), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/d2/c", "c", 1, 0644), 0);
	f = lookup_ok(ROOT, "f");
	d = lookup_ok(ROOT, "d");
	d2 = lookup_ok(ROOT, "d2");
	getattr_ok(f);
	assert_true(listed(ROOT, "f", NULL));
	assert_true(listed(ROOT, "d", NULL));
	root_links = getattr_ok(ROOT).st_nlink;

	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), 0);
	assert_int_equal(lookup_rc(ROOT, "f"), -ENOENT);
	rc = vfs_getattr(fx->v, f, &(struct stat){ 0 });
	assert_true(rc == -ENOENT || rc == -ESTALE);
	assert_false(listed(ROOT, "f", NULL));
	assert_false(pod_has("/f"));
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), -ENOENT);

	assert_int_equal(vfs_rmdir(fx->v, ROOT, "d"), 0);
	assert_int_equal(lookup_rc(ROOT, "d"), -ENOENT);
	rc = vfs_getattr(fx->v, d, &(struct stat){ 0 });
	assert_true(rc == -ENOENT || rc == -ESTALE);
	assert_false(listed(ROOT, "d", NULL));
	assert_int_equal(getattr_ok(ROOT).st_nlink, root_links - 1);

	/* refused: nothing changes */
	assert_int_equal(vfs_rmdir(fx->v, ROOT, "d2"), -ENOTEMPTY);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "d2"), -EISDIR);
	assert_int_equal(lookup_ok(ROOT, "d2"), d2);
	assert_true(listed(ROOT, "d2", NULL));
	lookup_ok(d2, "c");
}

static void setattr_shows_at_once(void **state)
{
	struct remote_setattr sa = { 0 };
	struct stat st;
	uint64_t ino;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "abc", 3, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	assert_int_equal(getattr_ok(ino).st_mode & 07777, 0644);
	assert_true(listed(ROOT, "f", &st));
	assert_int_equal(st.st_mode & 07777, 0644);
	remote_mem_reset_counts(fx->r);

	sa.valid = REMOTE_SET_MODE;
	sa.mode = 0600;
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(getattr_ok(ino).st_mode & 07777, 0600);
	assert_int_equal(calls(REMOTE_MEM_GETATTR), 0); /* setattr's answer */
	assert_true(listed(ROOT, "f", &st));
	assert_int_equal(st.st_mode & 07777, 0600);

	sa.valid = REMOTE_SET_UID | REMOTE_SET_GID;
	sa.uid = 7;
	sa.gid = 8;
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	st = getattr_ok(ino);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);

	sa.valid = REMOTE_SET_MTIME;
	sa.mtime.tv_sec = 123456;
	sa.mtime.tv_nsec = 789;
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	st = getattr_ok(ino);
	assert_int_equal(st.st_mtim.tv_sec, 123456);
	assert_int_equal(st.st_mtim.tv_nsec, 789);
	assert_int_equal(lookup_ok(ROOT, "f"), ino);
}

static void renamed_directory_children_follow(void **state)
{
	struct vfs_entry e;
	struct vfs_file *r;
	struct vfs_dir *dh;
	char buf[8];
	uint64_t d, c, sub, x, nd;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/d/c", "x", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/d/sub/x", "y", 1, 0644), 0);
	d = lookup_ok(ROOT, "d");
	c = lookup_ok(d, "c");
	sub = lookup_ok(d, "sub");
	x = lookup_ok(sub, "x");
	assert_true(listed(d, "c", NULL));
	assert_true(listed(ROOT, "d", NULL));
	assert_int_equal(lookup_rc(ROOT, "n"), -ENOENT); /* a cached negative */

	assert_int_equal(vfs_rename(fx->v, ROOT, "d", ROOT, "n", 0), 0);
	assert_int_equal(lookup_ok(ROOT, "n"), d); /* same inode, moved */
	assert_int_equal(lookup_rc(ROOT, "d"), -ENOENT);
	assert_int_equal(lookup_ok(d, "c"), c);
	assert_int_equal(lookup_ok(d, "sub"), sub);
	assert_int_equal(lookup_ok(sub, "x"), x);
	getattr_ok(c);
	getattr_ok(x);
	assert_true(listed(ROOT, "n", NULL));
	assert_false(listed(ROOT, "d", NULL));
	assert_true(listed(d, "c", NULL));
	r = open_h(c, O_RDONLY);
	assert_int_equal(vfs_read(fx->v, r, 0, buf, sizeof(buf)), 1);
	assert_memory_equal(buf, "x", 1);
	rel(r);

	/* a new directory under the old name knows nothing of the old children */
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "d", 0755, &e), 0);
	nd = e.ino;
	assert_int_not_equal(nd, d);
	assert_int_equal(lookup_rc(nd, "c"), -ENOENT);
	assert_int_equal(lookup_rc(nd, "sub"), -ENOENT);
	assert_int_equal(vfs_opendir(fx->v, nd, &dh), 0);
	assert_int_equal(vfs_dir_count(dh), 2);
	vfs_releasedir(fx->v, dh);
	assert_true(pod_has("/n/sub/x"));
}

static void rename_over_an_existing_file(void **state)
{
	struct stat st;
	uint64_t a, b;
	int rc;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/a", "AAAA", 4, 0644), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/b", "BBBBBBBB", 8, 0644), 0);
	a = lookup_ok(ROOT, "a");
	b = lookup_ok(ROOT, "b");
	assert_int_equal(getattr_ok(b).st_size, 8); /* cached */
	assert_true(listed(ROOT, "b", NULL));

	assert_int_equal(vfs_rename(fx->v, ROOT, "a", ROOT, "b", 0), 0);
	pod_is("/b", "AAAA", 4);
	assert_false(pod_has("/a"));
	assert_int_equal(lookup_rc(ROOT, "a"), -ENOENT);
	assert_int_equal(lookup_ok(ROOT, "b"), a); /* the moved file's inode */
	assert_int_equal(getattr_ok(a).st_size, 4);
	assert_false(listed(ROOT, "a", NULL));
	assert_true(listed(ROOT, "b", &st));
	assert_int_equal(st.st_size, 4);
	/* the old target's inode is detached from "/b" but not forgotten
	 * (vfs.h: -ESTALE is for unknown or forgotten inos only), so it
	 * still resolves to its old path: it shows the new state there,
	 * never the replaced file's cached attributes */
	rc = vfs_getattr(fx->v, b, &st);
	assert_int_equal(rc, 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_ino, b);
}

static void rename_flags(void **state)
{
	uint64_t a, c;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/a", "AAAA", 4, 0644), 0);
	assert_int_equal(remote_mem_add_file(fx->r, "/c", "CC", 2, 0644), 0);
	a = lookup_ok(ROOT, "a");
	c = lookup_ok(ROOT, "c");
	remote_mem_reset_counts(fx->r);

	assert_int_equal(vfs_rename(fx->v, ROOT, "a", ROOT, "c", RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(vfs_rename(fx->v, ROOT, "a", ROOT, "c", RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(calls(REMOTE_MEM_RENAME), 1); /* EXCHANGE never reached the pod */
	pod_is("/a", "AAAA", 4);
	pod_is("/c", "CC", 2);
	assert_int_equal(lookup_ok(ROOT, "a"), a);
	assert_int_equal(lookup_ok(ROOT, "c"), c);
	assert_int_equal(getattr_ok(c).st_size, 2);

	assert_int_equal(vfs_rename(fx->v, ROOT, "a", ROOT, "b", RENAME_NOREPLACE), 0);
	assert_int_equal(lookup_ok(ROOT, "b"), a);
	assert_int_equal(lookup_rc(ROOT, "a"), -ENOENT);
	pod_is("/b", "AAAA", 4);
	/* renaming onto itself changes nothing */
	assert_int_equal(vfs_rename(fx->v, ROOT, "b", ROOT, "b", 0), 0);
	pod_is("/b", "AAAA", 4);
}

static void renamed_open_file_keeps_being_written(void **state)
{
	size_t len = 3 * MiB;
	unsigned char *p = pattern(len);
	struct vfs_file *f;
	uint64_t ino, d;
	ssize_t rc;

	(void)state;
	/* buffered: what was written lands before the move, the rest after */
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "abc", 3);
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", ROOT, "g", 0), 0);
	pod_is("/g", "abc", 3);
	wr(f, 3, "def", 3);
	assert_int_equal(getattr_ok(ino).st_size, 6);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/g", "abcdef", 6);
	assert_false(pod_has("/f"));
	assert_int_equal(lookup_ok(ROOT, "g"), ino);
	rel(f);

	/* a stream */
	f = create_h(ROOT, "s", O_WRONLY, &ino);
	assert_int_equal(write_chunks(f, 0, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(vfs_rename(fx->v, ROOT, "s", ROOT, "t", 0), 0);
	assert_int_equal(write_chunks(f, 2 * MiB, p + 2 * MiB, MiB, 64 * KiB, &rc), -1);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/t", p, len);
	assert_false(pod_has("/s"));
	rel(f);

	/* its directory renamed */
	assert_int_equal(remote_mem_add_dir(fx->r, "/d", 0755), 0);
	d = lookup_ok(ROOT, "d");
	f = create_h(d, "x", O_WRONLY, &ino);
	wr(f, 0, "xyz", 3);
	assert_int_equal(vfs_rename(fx->v, ROOT, "d", ROOT, "e", 0), 0);
	wr(f, 3, "123", 3);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	pod_is("/e/x", "xyz123", 6);
	assert_false(pod_has("/d"));
	rel(f);
	free(p);
}

static void renamed_read_handle_reads_from_the_new_path(void **state)
{
	struct vfs_file *r;
	char buf[16];
	uint64_t ino;
	ssize_t n;

	(void)state;
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "content", 7, 0644), 0);
	ino = lookup_ok(ROOT, "f");
	r = open_h(ino, O_RDONLY); /* nothing read (cached) yet */
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", ROOT, "g", 0), 0);
	n = vfs_read(fx->v, r, 0, buf, sizeof(buf));
	FIXED_BUG(n == -ENOENT, "vfs_read of a handle without write state reads f->path, the "
				"path as of open: after a rename it is ENOENT (or another "
				"file's bytes once something new has that name)");
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "content", 7);
}

static void unlinked_file_open_for_writing_writes_nowhere(void **state)
{
	unsigned char *p = pattern(2 * MiB);
	struct vfs_file *f, *g;
	uint64_t ino, ino2;
	ssize_t rc;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "abc", 3);
	/* unsent data is stored before the unlink (other hard links keep it) */
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), 0);
	remote_mem_reset_counts(fx->r);
	assert_false(pod_has("/f"));
	assert_int_equal(lookup_rc(ROOT, "f"), -ENOENT);
	wr(f, 3, "def", 3);
	assert_int_equal(write_chunks(f, 6, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(calls(REMOTE_MEM_WRITE), 0);
	assert_int_equal(calls(REMOTE_MEM_WOPEN), 0);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	assert_false(pod_has("/f"));

	/* a new file of that name is not touched by the old handle */
	g = create_h(ROOT, "f", O_WRONLY, &ino2);
	assert_int_not_equal(ino2, ino);
	wr(g, 0, "new", 3);
	wr(f, 0, "OLD!", 4);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(vfs_flush(fx->v, g), 0);
	pod_is("/f", "new", 3);

	/* a stream cut by the unlink */
	rel(g);
	g = create_h(ROOT, "s", O_WRONLY, NULL);
	assert_int_equal(write_chunks(g, 0, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 1);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "s"), 0);
	assert_int_equal(remote_mem_wstreams_open(fx->r), 0);
	wr(g, 2 * MiB, p, 10);
	assert_int_equal(vfs_flush(fx->v, g), 0);
	rel(g);
	free(p);
}

/* fsync of a file unlinked while open: its data has nowhere to go, and
 * (as on Linux) that is success. */
static void fsync_of_an_unlinked_file_succeeds(void **state)
{
	struct vfs_file *f;
	uint64_t ino;
	int rc;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "abc", 3);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), 0);
	wr(f, 3, "def", 3);
	rc = vfs_fsync(fx->v, f, 0);
	FIXED_BUG(rc == -ENOENT, "vfs_fsync of a file unlinked while open sends the pod's "
				 "fsync to its old path: ENOENT (or syncs whatever file now has "
				 "that name)");
	assert_int_equal(rc, 0);
	assert_false(pod_has("/f"));
}

/* A file with two names stays alive when one is unlinked: its writers'
 * data still belongs in it. */
static void unlink_of_one_hard_link_keeps_the_writers_data(void **state)
{
	struct vfs_file *f;
	struct vfs_entry e;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "abc", 3);
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "g", &e), 0);
	pod_is("/g", "abc", 3); /* data first, then the link */
	wr(f, 3, "def", 3);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), 0);
	wr(f, 6, "ghi", 3);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	/* what was written before the unlink is in the file; writes through
	 * a handle of the unlinked name go nowhere, even when another hard
	 * link keeps the file (writes are by path: SEMANTICS.md) */
	pod_is("/g", "abcdef", 6);
}

/* ---- read-only ---- */

static void read_only_remote_is_erofs_everywhere(void **state)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	struct vfs_file *f = NULL;
	struct vfs_entry e;
	struct statvfs sv;
	struct stat st;
	bool keep;
	uint64_t ino, d;

	(void)state;
	vfs_free(fx->v);
	remote_mem_disable_writes(fx->r); /* a remote without write ops */
	make_vfs();
	assert_int_equal(remote_mem_add_file(fx->r, "/f", "x", 1, 0644), 0);
	assert_int_equal(remote_mem_add_dir(fx->r, "/d", 0755), 0);
	ino = lookup_ok(ROOT, "f");
	d = lookup_ok(ROOT, "d");
	remote_mem_reset_counts(fx->r);

	assert_int_equal(vfs_open(fx->v, ino, O_WRONLY, &f, &keep), -EROFS);
	assert_int_equal(vfs_open(fx->v, ino, O_RDWR, &f, &keep), -EROFS);
	assert_int_equal(vfs_open(fx->v, ino, O_RDONLY | O_TRUNC, &f, &keep), -EROFS);
	assert_null(f);
	assert_int_equal(vfs_create(fx->v, ROOT, "n", 0644, O_CREAT | O_WRONLY, &e, &f), -EROFS);
	assert_null(f);
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), -EROFS);
	assert_int_equal(vfs_mknod(fx->v, ROOT, "n", S_IFIFO | 0644, 0, &e), -EROFS);
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "n", 0755, &e), -EROFS);
	assert_int_equal(vfs_symlink(fx->v, "t", ROOT, "n", &e), -EROFS);
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "n", &e), -EROFS);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "f"), -EROFS);
	assert_int_equal(vfs_rmdir(fx->v, ROOT, "d"), -EROFS);
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", ROOT, "g", 0), -EROFS);
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", d, "f", RENAME_NOREPLACE), -EROFS);
	assert_int_equal(vfs_write(fx->v, NULL, 0, "x", 1), -EROFS);
	assert_int_equal(vfs_fallocate(fx->v, ino), -EROFS);
	assert_int_equal(vfs_access(fx->v, ino, W_OK), -EROFS);
	assert_int_equal(vfs_access(fx->v, ino, R_OK), 0);
	assert_int_equal(vfs_statfs(fx->v, ROOT, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);

	/* a read handle still reads; its flush and fsync have nothing to do */
	f = open_h(ino, O_RDONLY);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	assert_int_equal(vfs_fsync(fx->v, f, 0), 0);
	rel(f);
	pod_is("/f", "x", 1);
	assert_int_equal(lookup_ok(ROOT, "f"), ino);
	assert_int_equal(lookup_rc(ROOT, "n"), -ENOENT);
}

/* A pod whose filesystem is read-only (the ops exist, the pod says EROFS):
 * the errno passes through unchanged, data errors at flush. */
static void read_only_pod_filesystem_passes_erofs_through(void **state)
{
	struct vfs_entry e;
	struct vfs_file *f, *g = NULL;
	uint64_t ino;

	(void)state;
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	remote_mem_set_readonly(fx->r, true);
	assert_int_equal(vfs_create(fx->v, ROOT, "g", 0644, O_CREAT | O_WRONLY, &e, &g), -EROFS);
	assert_null(g);
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "d", 0755, &e), -EROFS);
	assert_int_equal(lookup_rc(ROOT, "d"), -ENOENT);
	wr(f, 0, "abc", 3);
	assert_int_equal(vfs_flush(fx->v, f), -EROFS);
	remote_mem_set_readonly(fx->r, false);
	assert_int_equal(vfs_flush(fx->v, f), 0);
	rel(f);
}

/* ---- counters ---- */

static void write_counters_move(void **state)
{
	unsigned char *p;
	struct vfs_counters c0, c;
	struct remote_setattr sa = { .valid = REMOTE_SET_MODE, .mode = 0600 };
	struct vfs_entry e;
	struct vfs_file *f;
	struct stat st;
	uint64_t ino;
	ssize_t rc;

	(void)state;
	c0 = counters();
	f = create_h(ROOT, "f", O_WRONLY, &ino);
	wr(f, 0, "abc", 3);
	wr(f, 10, "def", 3);
	c = counters();
	FIXED_BUG(c.remote_modify == 0, "vfs_get_counters copies none of the write counters "
					"(remote_write, remote_write_bytes, remote_wstreams, "
					"remote_modify, remote_fsync): always 0 (and missing "
					"from vfs_stats_text)");
	assert_int_equal(c.remote_modify - c0.remote_modify, 1); /* the create */
	assert_int_equal(c.remote_write - c0.remote_write, 0);   /* buffered */
	assert_int_equal(vfs_flush(fx->v, f), 0);
	c = counters();
	assert_int_equal(c.remote_write - c0.remote_write, 2); /* two ranges */
	assert_int_equal(c.remote_write_bytes - c0.remote_write_bytes, 6);
	assert_int_equal(c.remote_wstreams - c0.remote_wstreams, 0);

	p = pattern(2 * MiB);
	assert_int_equal(write_chunks(f, 0, p, 2 * MiB, 64 * KiB, &rc), -1);
	assert_int_equal(vfs_fsync(fx->v, f, 0), 0);
	c = counters();
	assert_int_equal(c.remote_wstreams - c0.remote_wstreams, 1);
	assert_int_equal(c.remote_write - c0.remote_write, 2); /* streamed, no pwrite */
	assert_int_equal(c.remote_write_bytes - c0.remote_write_bytes, 6 + 2 * MiB);
	assert_int_equal(c.remote_fsync - c0.remote_fsync, 1);
	rel(f);

	c0 = counters();
	assert_int_equal(vfs_mkdir(fx->v, ROOT, "d", 0755, &e), 0);
	assert_int_equal(vfs_symlink(fx->v, "f", ROOT, "s", &e), 0);
	assert_int_equal(vfs_link(fx->v, ino, ROOT, "h", &e), 0);
	assert_int_equal(vfs_setattr(fx->v, ino, &sa, &st), 0);
	assert_int_equal(vfs_rename(fx->v, ROOT, "h", ROOT, "h2", 0), 0);
	assert_int_equal(vfs_unlink(fx->v, ROOT, "h2"), 0);
	assert_int_equal(vfs_rmdir(fx->v, ROOT, "d"), 0);
	c = counters();
	assert_int_equal(c.remote_modify - c0.remote_modify, 7);
	assert_int_equal(c.remote_requests - c0.remote_requests, 7);
	/* refused before the pod: not counted */
	assert_int_equal(vfs_rename(fx->v, ROOT, "f", ROOT, "s", RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(counters().remote_modify, c.remote_modify);
	free(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(create_excl_and_trunc, setup, teardown),
	cmocka_unit_test_setup_teardown(writes_are_buffered_and_reads_see_them, setup, teardown),
	cmocka_unit_test_setup_teardown(many_small_writes_are_one_remote_write, setup, teardown),
	cmocka_unit_test_setup_teardown(overlapping_writes_last_wins_and_holes_are_zeros, setup, teardown),
	cmocka_unit_test_setup_teardown(release_and_another_handles_flush_store_the_data, setup, teardown),
	cmocka_unit_test_setup_teardown(sequential_megabytes_use_one_write_stream, setup, teardown),
	cmocka_unit_test_setup_teardown(non_sequential_write_ends_the_stream, setup, teardown),
	cmocka_unit_test_setup_teardown(stream_enospc_late_is_sticky, setup, teardown),
	cmocka_unit_test_setup_teardown(stream_enospc_at_once_is_sticky, setup, teardown),
	cmocka_unit_test_setup_teardown(buffered_enospc_reaches_flush_and_fsync, setup, teardown),
	cmocka_unit_test_setup_teardown(enospc_of_a_full_buffer_is_sticky_at_write, setup, teardown),
	cmocka_unit_test_setup_teardown(injected_write_errors_reach_flush_unchanged, setup, teardown),
	cmocka_unit_test_setup_teardown(failed_forced_flush_still_reaches_the_writers_close, setup, teardown),
	cmocka_unit_test_setup_teardown(fsync_of_a_read_handle_stores_other_handles_data, setup, teardown),
	cmocka_unit_test_setup_teardown(truncate_with_unsent_data_applies_after_it, setup, teardown),
	cmocka_unit_test_setup_teardown(open_with_o_trunc, setup, teardown),
	cmocka_unit_test_setup_teardown(new_entries_show_at_once, setup, teardown),
	cmocka_unit_test_setup_teardown(creates_in_a_listed_directory_ask_no_lookup, setup, teardown),
	cmocka_unit_test_setup_teardown(hard_link_shows_at_once, setup, teardown),
	cmocka_unit_test_setup_teardown(unlink_and_rmdir_show_at_once, setup, teardown),
	cmocka_unit_test_setup_teardown(setattr_shows_at_once, setup, teardown),
	cmocka_unit_test_setup_teardown(renamed_directory_children_follow, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_over_an_existing_file, setup, teardown),
	cmocka_unit_test_setup_teardown(rename_flags, setup, teardown),
	cmocka_unit_test_setup_teardown(renamed_open_file_keeps_being_written, setup, teardown),
	cmocka_unit_test_setup_teardown(renamed_read_handle_reads_from_the_new_path, setup, teardown),
	cmocka_unit_test_setup_teardown(unlinked_file_open_for_writing_writes_nowhere, setup, teardown),
	cmocka_unit_test_setup_teardown(fsync_of_an_unlinked_file_succeeds, setup, teardown),
	cmocka_unit_test_setup_teardown(unlink_of_one_hard_link_keeps_the_writers_data, setup, teardown),
	cmocka_unit_test_setup_teardown(read_only_remote_is_erofs_everywhere, setup, teardown),
	cmocka_unit_test_setup_teardown(read_only_pod_filesystem_passes_erofs_through, setup, teardown),
	cmocka_unit_test_setup_teardown(write_counters_move, setup, teardown),
};

UNIT_MAIN(tests)
