/* test_tar.c: helper/tar.c against real archives and hostile ones.
 *
 * Real archives come from the real tools at test time (GNU tar in its
 * gnu, pax and ustar formats, busybox tar) over a temp tree of awkward
 * names and file types; each is parsed fed whole, one byte at a time and
 * in random chunks, and every entry is checked against lstat/readlink and
 * the file's bytes on disk. Hostile archives are built here block by block
 * (with a correct checksum unless the test wants it wrong) and must fail
 * with the expected errno under every feeding, with no callback after the
 * error and no unclean name ever reported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "buf.h"
#include "tar.h"

#define ARCHIVE_MAX (64u << 20)

/* ------------------------------------------------------------------ */
/* Collecting what the parser reports */

struct got {
	char *name;
	struct htar_entry e; /* name and linkname point into this struct */
	char *link;
	struct buf data;
	bool skipped;
	int ends;
};

struct collect {
	struct got *v;
	size_t n, cap;
	const char *const *skip; /* names to skip (NULL-terminated) */
	int entry_err_at;        /* 1-based entry index that fails, or 0 */
	int entry_err;
	const char *data_err_name; /* first data call of this entry fails */
	int data_err;
	const char *end_err_name;
	int end_err;
	bool in_entry;  /* between a taken entry and its end */
	bool errored;   /* a callback returned an error */
	int calls_after; /* callbacks after that error (must stay 0) */
};

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].link);
		buf_cleanup(&c->v[i].data);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void collect_reset(struct collect *c)
{
	struct collect keep = *c;

	keep.v = NULL;
	keep.n = keep.cap = 0;
	collect_free(c);
	*c = keep;
	c->in_entry = c->errored = false;
	c->calls_after = 0;
}

static bool name_is_clean(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	if (strcmp(s, ".") == 0)
		return true;
	for (const char *p = s; p;) {
		const char *q = strchr(p, '/');
		size_t len = q ? (size_t)(q - p) : strlen(p);

		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p = q ? q + 1 : NULL;
	}
	return true;
}

static int on_entry(void *arg, const struct htar_entry *e)
{
	struct collect *c = arg;
	struct got *g;

	if (c->errored)
		c->calls_after++;
	assert_false(c->in_entry);
	assert_true(name_is_clean(e->name));
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		assert_non_null(c->v);
	}
	g = &c->v[c->n++];
	memset(g, 0, sizeof(*g));
	g->e = *e;
	g->name = strdup(e->name);
	g->e.name = g->name;
	if (e->linkname) {
		g->link = strdup(e->linkname);
		g->e.linkname = g->link;
	}
	buf_init(&g->data, 4u << 20);
	if (c->entry_err_at && (int)c->n == c->entry_err_at) {
		c->errored = true;
		return c->entry_err;
	}
	for (size_t i = 0; c->skip && c->skip[i]; i++) {
		if (strcmp(c->skip[i], e->name) == 0) {
			g->skipped = true;
			return 1;
		}
	}
	c->in_entry = true;
	return 0;
}

static int on_data(void *arg, const void *p, size_t n)
{
	struct collect *c = arg;
	struct got *g;

	if (c->errored)
		c->calls_after++;
	assert_true(c->in_entry);
	assert_true(n > 0);
	g = &c->v[c->n - 1];
	assert_int_equal(g->e.type, 'f');
	if (c->data_err_name && strcmp(g->name, c->data_err_name) == 0) {
		c->errored = true;
		return c->data_err;
	}
	assert_int_equal(buf_append(&g->data, p, n), 0);
	return 0;
}

static int on_end(void *arg)
{
	struct collect *c = arg;
	struct got *g;

	if (c->errored)
		c->calls_after++;
	assert_true(c->in_entry);
	c->in_entry = false;
	g = &c->v[c->n - 1];
	g->ends++;
	assert_int_equal(g->data.len, g->e.size);
	if (c->end_err_name && strcmp(g->name, c->end_err_name) == 0) {
		c->errored = true;
		return c->end_err;
	}
	return 0;
}

static const struct htar_cb callbacks = { on_entry, on_data, on_end };

enum feed { FEED_WHOLE, FEED_BYTES, FEED_RANDOM, FEED_COUNT };
static const char *feed_names[] = { "whole", "byte by byte", "random chunks" };

static uint64_t rng = 88172645463325252ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Parse A (N bytes) fed as MODE into C; the result of feed, else finish.
 * *ERRMSG gets a copy of htar_error (static storage). */
static int parse(const void *a, size_t n, enum feed mode, const struct htar_limits *lim, struct collect *c,
		 const char **errmsg)
{
	static char msg[512];
	const unsigned char *p = a;
	struct htar *t;
	size_t off = 0;
	int rc = 0;

	collect_reset(c);
	assert_int_equal(htar_new(&t, lim, &callbacks, c), 0);
	while (off < n && rc == 0) {
		size_t k = n - off;

		if (mode == FEED_BYTES)
			k = 1;
		else if (mode == FEED_RANDOM)
			k = (size_t)(xorshift() % (xorshift() % 4 == 0 ? 70000 : 1500)) + 1;
		if (k > n - off)
			k = n - off;
		rc = htar_feed(t, p + off, k);
		off += k;
	}
	if (rc == 0)
		rc = htar_finish(t);
	else {
		/* The first error sticks, and nothing runs after it. */
		int calls = c->calls_after;

		assert_int_equal(htar_feed(t, p, n ? 1 : 0), rc);
		assert_int_equal(htar_finish(t), rc);
		assert_int_equal(calls, c->calls_after);
	}
	snprintf(msg, sizeof(msg), "%s", htar_error(t));
	if (rc)
		assert_true(msg[0] != '\0');
	else
		assert_string_equal(msg, "");
	assert_int_equal(c->calls_after, 0);
	if (errmsg)
		*errmsg = msg;
	htar_free(t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Running the real tools (fork + execve, never a shell) */

static const char *find_exe(const char *const *cands)
{
	for (size_t i = 0; cands[i]; i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static const char *gnu_tar(void)
{
	static const char *const c[] = { "/usr/bin/tar", "/bin/tar", NULL };

	return find_exe(c);
}

static const char *busybox(void)
{
	static const char *const c[] = { "/bin/busybox", "/usr/bin/busybox", NULL };

	return find_exe(c);
}

/* Run ARGV with a fixed environment; its stdout into OUT. Exit status. */
static int run(char *const *argv, struct buf *out)
{
	static char *const envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", NULL };
	char chunk[65536];
	ssize_t n;
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execve(argv[0], argv, envp);
		_exit(126);
	}
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(out, chunk, (size_t)n), 0);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ------------------------------------------------------------------ */
/* The tree on disk */

static char *long_component(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void path_join(char *out, size_t outsz, const char *a, const char *b)
{
	int k = snprintf(out, outsz, "%s/%s", a, b);

	assert_true(k > 0 && (size_t)k < outsz);
}

static void write_file(const char *root, const char *rel, const void *p, size_t n)
{
	char path[4096];
	int fd;

	path_join(path, sizeof(path), root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void set_mtime(const char *root, const char *rel, time_t sec, long nsec)
{
	char path[4096];
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	path_join(path, sizeof(path), root, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void mkdir_at(const char *root, const char *rel)
{
	char path[4096];

	path_join(path, sizeof(path), root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

enum tree { TREE_USTAR, TREE_FULL };

/* A tree of awkward entries. TREE_USTAR keeps to what ustar can store
 * (names split into prefix + name, link targets up to 100 bytes, ids up to
 * 07777777); TREE_FULL adds a 240-byte component, a 300-byte path, a
 * 150-byte symlink target and, as root, a uid and gid past 07777777. */
static void make_tree(char *root, size_t rootsz, enum tree kind)
{
	char path[4096], path2[4096];
	char *bin, *c1, *c2;
	size_t binlen = 1u << 20;

	assert_true(rootsz > 32);
	snprintf(root, rootsz, "/tmp/test_tar.XXXXXX");
	assert_non_null(mkdtemp(root));

	write_file(root, "small.txt", "hello, tar\n", 11);
	write_file(root, "empty", "", 0);
	bin = malloc(binlen);
	assert_non_null(bin);
	for (size_t i = 0; i < binlen; i++)
		bin[i] = (char)(xorshift() >> 24);
	write_file(root, "bin1m", bin, binlen);
	free(bin);
	write_file(root, "with space", "sp\n", 3);
	write_file(root, "q'uo\"te", "q\n", 2);
	write_file(root, "new\nline", "nl", 2);
	write_file(root, "bad\xff\xfe\x80utf8", "\xff", 1);
	write_file(root, "odd", "x", 1); /* 1 byte: 511 bytes of padding */
	c1 = long_component('z', 512); /* exactly one block: no padding */
	write_file(root, "block", c1, 512);
	free(c1);
	path_join(path, sizeof(path), root, "setuid");
	write_file(root, "setuid", "#!/bin/true\n", 12);
	assert_int_equal(chmod(path, 04751), 0);
	set_mtime(root, "small.txt", 1700000000, 123456789);
	set_mtime(root, "empty", 1000000000, 0);

	path_join(path, sizeof(path), root, "small.txt");
	path_join(path2, sizeof(path2), root, "hard");
	assert_int_equal(link(path, path2), 0);
	path_join(path, sizeof(path), root, "sym");
	assert_int_equal(symlink("small.txt", path), 0);
	path_join(path, sizeof(path), root, "dangling");
	assert_int_equal(symlink("../../outside/target", path), 0);
	path_join(path, sizeof(path), root, "fifo");
	assert_int_equal(mkfifo(path, 0640), 0);
	mkdir_at(root, "sub");
	mkdir_at(root, "sub/deeper");
	write_file(root, "sub/inner", "inner\n", 6);
	write_file(root, "sub/deeper/leaf", "leaf\n", 5);
	mkdir_at(root, "emptydir");

	/* "./" + 95 + "/" + 90 bytes: ustar splits it into prefix and name
	 * (the directory itself, 98 bytes with its "/", fits the name). */
	c1 = long_component('p', 95);
	c2 = long_component('f', 90);
	mkdir_at(root, c1);
	path_join(path, sizeof(path), c1, c2);
	write_file(root, path, "split\n", 6);
	free(c2);

	if (kind == TREE_FULL) {
		c2 = long_component('n', 240);
		write_file(root, c2, "long name\n", 10);
		/* 95 + 1 + 240 + ...: past 255 bytes in all. */
		path_join(path, sizeof(path), c1, c2);
		mkdir_at(root, path);
		path_join(path2, sizeof(path2), path, "leaf");
		write_file(root, path2, "very long path\n", 15);
		free(c2);
		c2 = long_component('t', 150);
		path_join(path, sizeof(path), root, "longsym");
		assert_int_equal(symlink(c2, path), 0);
		free(c2);
		if (geteuid() == 0) {
			write_file(root, "bigids", "ids\n", 4);
			path_join(path, sizeof(path), root, "bigids");
			assert_int_equal(chown(path, 3000000, 3000001), 0);
		}
	}
	free(c1);
}

static void rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	assert_int_equal(lstat(path, &st), 0);
	if (!S_ISDIR(st.st_mode)) {
		assert_int_equal(unlink(path), 0);
		return;
	}
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char sub[4096];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path_join(sub, sizeof(sub), path, de->d_name);
		rm_tree(sub);
	}
	closedir(d);
	assert_int_equal(rmdir(path), 0);
}

static size_t count_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	size_t n = 1;

	assert_int_equal(lstat(path, &st), 0);
	if (!S_ISDIR(st.st_mode))
		return 1;
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char sub[4096];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path_join(sub, sizeof(sub), path, de->d_name);
		n += count_tree(sub);
	}
	closedir(d);
	return n;
}

static void read_whole(const char *path, struct buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(b, chunk, (size_t)n), 0);
	close(fd);
}

static const struct got *find_got(const struct collect *c, const char *name, size_t before)
{
	for (size_t i = 0; i < before; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

/* Every reported entry matches the tree at ROOT, and every file of the
 * tree was reported once. HAS_NSEC: the format carries sub-seconds. */
static void verify(const struct collect *c, const char *root, bool has_nsec, const char *what)
{
	size_t want = count_tree(root);

	if (c->n != want)
		fail_msg("%s: %zu entries reported, %zu on disk", what, c->n, want);
	for (size_t i = 0; i < c->n; i++) {
		const struct got *g = &c->v[i];
		char path[4096];
		struct stat st;
		char want_type;

		path_join(path, sizeof(path), root, g->name);
		if (lstat(path, &st) != 0)
			fail_msg("%s: reported entry \"%s\" is not in the tree", what, g->name);
		if (find_got(c, g->name, i))
			fail_msg("%s: entry \"%s\" reported twice", what, g->name);
		if (g->e.type == 'h') {
			char tname[4096], tpath[4096];
			const struct got *tg;
			struct stat tst;

			assert_non_null(g->link);
			assert_int_equal(htar_clean_name(g->link, strlen(g->link), 4096, tname, sizeof(tname)), 0);
			tg = find_got(c, tname, i);
			if (!tg || tg->e.type != 'f')
				fail_msg("%s: hard link \"%s\" -> \"%s\": target not reported before", what, g->name,
					 g->link);
			path_join(tpath, sizeof(tpath), root, tname);
			assert_int_equal(lstat(tpath, &tst), 0);
			assert_true(tst.st_ino == st.st_ino);
			assert_int_equal(g->e.size, 0);
		} else {
			want_type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' :
				    S_ISFIFO(st.st_mode) ? 'p' : S_ISCHR(st.st_mode) ? 'c' : 'b';
			if (g->e.type != want_type)
				fail_msg("%s: \"%s\": type '%c', want '%c'", what, g->name, g->e.type, want_type);
		}
		if (g->e.mode != (st.st_mode & 07777))
			fail_msg("%s: \"%s\": mode %o, want %o", what, g->name, g->e.mode, st.st_mode & 07777);
		assert_int_equal(g->e.uid, st.st_uid);
		assert_int_equal(g->e.gid, st.st_gid);
		if (g->e.mtime != st.st_mtim.tv_sec || g->e.mtime_nsec != (has_nsec ? st.st_mtim.tv_nsec : 0))
			fail_msg("%s: \"%s\": mtime %lld.%09ld, want %lld.%09ld", what, g->name, (long long)g->e.mtime,
				 g->e.mtime_nsec, (long long)st.st_mtim.tv_sec, has_nsec ? st.st_mtim.tv_nsec : 0);
		if (g->e.type == 'l') {
			char target[4096];
			ssize_t tn = readlink(path, target, sizeof(target) - 1);

			assert_true(tn >= 0);
			target[tn] = '\0';
			assert_non_null(g->link);
			assert_string_equal(g->link, target);
		} else if (g->e.type != 'h') {
			assert_null(g->link);
		}
		if (g->e.type == 'f') {
			struct buf disk;

			assert_int_equal(g->e.size, (uint64_t)st.st_size);
			if (!g->skipped) {
				buf_init(&disk, 4u << 20);
				read_whole(path, &disk);
				if (disk.len != g->data.len ||
				    (disk.len && memcmp(disk.data, g->data.data, disk.len) != 0))
					fail_msg("%s: \"%s\": data differs from the file", what, g->name);
				buf_cleanup(&disk);
			}
		} else {
			assert_int_equal(g->e.size, 0);
		}
		if (g->skipped) {
			assert_int_equal(g->data.len, 0);
			assert_int_equal(g->ends, 0);
		} else {
			assert_int_equal(g->ends, 1);
		}
	}
}

/* Archive ROOT with ARGV (ending in "-C", root, "." supplied here) and
 * check it under every feeding. */
static void check_tool(const char *exe, const char *const *args, enum tree kind, bool has_nsec,
		       const char *const *skip)
{
	char root[64], what[160];
	char *argv[16];
	size_t a = 0;
	struct buf ar;
	struct collect c = { 0 };

	if (!exe)
		skip();
	make_tree(root, sizeof(root), kind);
	argv[a++] = (char *)exe;
	for (size_t i = 0; args[i]; i++)
		argv[a++] = (char *)args[i];
	argv[a++] = "-C";
	argv[a++] = root;
	argv[a++] = ".";
	argv[a] = NULL;
	buf_init(&ar, ARCHIVE_MAX);
	assert_int_equal(run(argv, &ar), 0);
	assert_true(ar.len >= 1024 && ar.len % 512 == 0);
	c.skip = skip;
	for (int m = 0; m < FEED_COUNT; m++) {
		const char *msg;
		int rc = parse(ar.data, ar.len, (enum feed)m, NULL, &c, &msg);

		snprintf(what, sizeof(what), "%s %s, fed %s", exe, args[0] ? args[0] : "", feed_names[m]);
		if (rc != 0)
			fail_msg("%s: %d: %s", what, rc, msg);
		verify(&c, root, has_nsec, what);
	}
	collect_free(&c);
	buf_cleanup(&ar);
	rm_tree(root);
}

static void gnu_tar_default_format(void **state)
{
	static const char *const args[] = { "-cf", "-", NULL };

	(void)state;
	check_tool(gnu_tar(), args, TREE_FULL, false, NULL);
}

static void gnu_tar_format_gnu(void **state)
{
	static const char *const args[] = { "--format=gnu", "-cf", "-", NULL };

	(void)state;
	check_tool(gnu_tar(), args, TREE_FULL, false, NULL);
}

static void gnu_tar_format_pax(void **state)
{
	static const char *const args[] = { "--format=pax", "-cf", "-", NULL };

	(void)state;
	check_tool(gnu_tar(), args, TREE_FULL, true, NULL);
}

static void gnu_tar_format_ustar(void **state)
{
	static const char *const args[] = { "--format=ustar", "-cf", "-", NULL };

	(void)state;
	check_tool(gnu_tar(), args, TREE_USTAR, false, NULL);
}

static void busybox_tar(void **state)
{
	static const char *const args[] = { "tar", "-cf", "-", NULL };

	(void)state;
	check_tool(busybox(), args, TREE_FULL, false, NULL);
}

static void skipped_entries_lose_only_their_data(void **state)
{
	static const char *const args[] = { "-cf", "-", NULL };
	static const char *const pax[] = { "--format=pax", "-cf", "-", NULL };
	static const char *const bb[] = { "tar", "-cf", "-", NULL };
	static const char *const skip[] = { "bin1m", "small.txt", "odd", "block", "sub", "sym", NULL };

	(void)state;
	check_tool(gnu_tar(), args, TREE_FULL, false, skip);
	check_tool(gnu_tar(), pax, TREE_FULL, true, skip);
	check_tool(busybox(), bb, TREE_FULL, false, skip);
}

/* Pre-1970 times: GNU writes base-256 in its gnu format, "-S.F" in pax. */
static void negative_mtime_gnu_base256_and_pax_fraction(void **state)
{
	static const char *const gnu[] = { "--format=gnu", "-cf", "-", NULL };
	static const char *const pax[] = { "--format=pax", "-cf", "-", NULL };
	const char *exe = gnu_tar();
	char root[64];
	struct buf ar;
	struct collect c = { 0 };
	struct stat st;
	char path[4096];

	(void)state;
	if (!exe)
		skip();
	for (int f = 0; f < 2; f++) {
		char *argv[] = { (char *)exe, (char *)(f ? pax[0] : gnu[0]), "-cf", "-", "-C", root, ".", NULL };

		snprintf(root, sizeof(root), "/tmp/test_tar.XXXXXX");
		assert_non_null(mkdtemp(root));
		write_file(root, "old", "1960\n", 5);
		set_mtime(root, "old", -315619200, 500000000);
		path_join(path, sizeof(path), root, "old");
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mtim.tv_sec, -315619200);
		buf_init(&ar, ARCHIVE_MAX);
		assert_int_equal(run(argv, &ar), 0);
		for (int m = 0; m < FEED_COUNT; m++) {
			assert_int_equal(parse(ar.data, ar.len, (enum feed)m, NULL, &c, NULL), 0);
			verify(&c, root, f == 1, f ? "pax" : "gnu");
			assert_int_equal(c.n, 2);
			assert_string_equal(c.v[1].name, "old");
			assert_int_equal(c.v[1].e.mtime, -315619200);
			assert_int_equal(c.v[1].e.mtime_nsec, f ? 500000000 : 0);
		}
		buf_cleanup(&ar);
		rm_tree(root);
	}
	collect_free(&c);
}

/* Member names as given on the command line: no "./" prefix. */
static void gnu_tar_member_list_without_dot_slash(void **state)
{
	const char *exe = gnu_tar();
	char root[64];
	struct buf ar;
	struct collect c = { 0 };

	(void)state;
	if (!exe)
		skip();
	make_tree(root, sizeof(root), TREE_USTAR);
	char *argv[] = { (char *)exe, "-cf", "-", "-C", root, "small.txt", "sub", "hard", "fifo", NULL };

	buf_init(&ar, ARCHIVE_MAX);
	assert_int_equal(run(argv, &ar), 0);
	assert_int_equal(parse(ar.data, ar.len, FEED_BYTES, NULL, &c, NULL), 0);
	assert_int_equal(c.n, 7);
	assert_string_equal(c.v[0].name, "small.txt");
	assert_string_equal(c.v[1].name, "sub");
	assert_int_equal(c.v[1].e.type, 'd');
	assert_non_null(find_got(&c, "sub/deeper/leaf", c.n));
	assert_string_equal(c.v[5].name, "hard");
	assert_int_equal(c.v[5].e.type, 'h');
	assert_string_equal(c.v[5].e.linkname, "small.txt");
	assert_string_equal(c.v[6].name, "fifo");
	assert_int_equal(c.v[6].e.type, 'p');
	collect_free(&c);
	buf_cleanup(&ar);
	rm_tree(root);
}

/* ------------------------------------------------------------------ */
/* Hand-built archives */

/* A POSIX ustar header; fix the checksum with hsum() after edits. */
static void hinit(unsigned char h[512], const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	memcpy(h, name, strnlen(name, 100));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0001750", 7);
	memcpy(h + 116, "0001750", 7);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "14524770400", 11); /* 1700000000 */
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
}

static void hsum(unsigned char h[512])
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void put(struct buf *a, const void *p, size_t n)
{
	static const char zero[512];

	assert_int_equal(buf_append(a, p, n), 0);
	if (n % 512)
		assert_int_equal(buf_append(a, zero, 512 - n % 512), 0);
}

static void add(struct buf *a, const char *name, char type, const void *data, size_t n)
{
	unsigned char h[512];

	hinit(h, name, type, n);
	hsum(h);
	put(a, h, 512);
	if (n)
		put(a, data, n);
}

static void add_link(struct buf *a, const char *name, char type, const char *target)
{
	unsigned char h[512];

	hinit(h, name, type, 0);
	memcpy(h + 157, target, strnlen(target, 100));
	hsum(h);
	put(a, h, 512);
}

static void finish_ar(struct buf *a)
{
	static const char zero[1024];

	assert_int_equal(buf_append(a, zero, sizeof(zero)), 0);
}

/* One pax record "LEN KEY=VALUE\n" with LEN right (LEN counts itself). */
static void pax_rec(struct buf *r, const char *key, const char *val, size_t vl)
{
	size_t body = 1 + strlen(key) + 1 + vl + 1, len = body + 1;
	char num[32];

	while ((size_t)snprintf(num, sizeof(num), "%zu", len) + body != len)
		len++;
	assert_int_equal(buf_printf(r, "%zu %s=", len, key), 0);
	assert_int_equal(buf_append(r, val, vl), 0);
	assert_int_equal(buf_append(r, "\n", 1), 0);
}

static void ar_init(struct buf *a)
{
	buf_init(a, ARCHIVE_MAX);
}

/* A stream that must fail with WANT under every feeding, reporting only
 * clean names before it does. Returns the entries count of the last run. */
static size_t expect_fail(const struct buf *a, const struct htar_limits *lim, int want, const char *must_say)
{
	struct collect c = { 0 };
	size_t n = 0;

	for (int m = 0; m < FEED_COUNT; m++) {
		const char *msg;
		int rc = parse(a->data, a->len, (enum feed)m, lim, &c, &msg);

		if (rc != want)
			fail_msg("fed %s: got %d (%s), want %d", feed_names[m], rc, msg, want);
		if (must_say && !strstr(msg, must_say))
			fail_msg("fed %s: message \"%s\" does not say \"%s\"", feed_names[m], msg, must_say);
		n = c.n;
	}
	collect_free(&c);
	return n;
}

static void expect_ok(const struct buf *a, const struct htar_limits *lim, struct collect *c)
{
	for (int m = 0; m < FEED_COUNT; m++) {
		const char *msg;
		int rc = parse(a->data, a->len, (enum feed)m, lim, c, &msg);

		if (rc)
			fail_msg("fed %s: got %d (%s)", feed_names[m], rc, msg);
	}
}

static void dotdot_name_refused(void **state)
{
	static const char *const names[] = { "../x", "a/../../x", "a/..", "..", "./../x", "/../x", "a//..//b" };
	struct buf a;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ar_init(&a);
		add(&a, "ok", '0', "fine", 4);
		add(&a, names[i], '0', "evil", 4);
		finish_ar(&a);
		assert_int_equal(expect_fail(&a, NULL, -EPROTO, "\"..\""), 1);
		buf_cleanup(&a);
	}
	/* The same for directories and links. */
	ar_init(&a);
	add(&a, "../d/", '5', NULL, 0);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "..");
	buf_cleanup(&a);
	ar_init(&a);
	add_link(&a, "x/../../l", '2', "/etc/passwd");
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "..");
	buf_cleanup(&a);
}

static void absolute_and_dotted_names_made_relative(void **state)
{
	struct buf a;
	struct collect c = { 0 };

	(void)state;
	ar_init(&a);
	add(&a, "./", '5', NULL, 0);
	add(&a, "/etc/passwd", '0', "root:x:0:0\n", 11);
	add(&a, "//a//b///", '5', NULL, 0);
	add(&a, "././c/./d", '0', "", 0);
	add(&a, "...", '0', "dots", 4);
	add(&a, "..a/b..", '0', "", 0);
	add(&a, "/", '5', NULL, 0);
	add_link(&a, "hl", '1', "../../etc/shadow"); /* link targets are data */
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 8);
	assert_string_equal(c.v[0].name, ".");
	assert_int_equal(c.v[0].e.type, 'd');
	assert_string_equal(c.v[1].name, "etc/passwd");
	assert_int_equal(c.v[1].data.len, 11);
	assert_string_equal(c.v[2].name, "a/b");
	assert_string_equal(c.v[3].name, "c/d");
	assert_string_equal(c.v[4].name, "...");
	assert_string_equal(c.v[5].name, "..a/b..");
	assert_string_equal(c.v[6].name, ".");
	assert_string_equal(c.v[7].name, "hl");
	assert_string_equal(c.v[7].e.linkname, "../../etc/shadow");
	collect_free(&c);
	buf_cleanup(&a);

	/* An empty name is only the root directory. */
	ar_init(&a);
	add(&a, "./", '0', "x", 1);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "empty name");
	buf_cleanup(&a);
}

static void clean_name_table(void **state)
{
	static const struct {
		const char *in, *out;
		int rc;
	} cases[] = {
		{ "a", "a", 0 },           { "./a", "a", 0 },         { "/a/b/", "a/b", 0 },
		{ "a//b", "a/b", 0 },      { "./", ".", 0 },          { "", ".", 0 },
		{ "a/./b", "a/b", 0 },     { "..", NULL, -EPROTO },   { "a/../b", NULL, -EPROTO },
		{ "../a", NULL, -EPROTO }, { "a/..", NULL, -EPROTO }, { "a..b/c", "a..b/c", 0 },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = htar_clean_name(cases[i].in, strlen(cases[i].in), 100, out, sizeof(out));

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(htar_clean_name("a\0b", 3, 100, out, sizeof(out)), -EPROTO);
	assert_int_equal(htar_clean_name("abcdef", 6, 5, out, sizeof(out)), -E2BIG);
	assert_int_equal(htar_clean_name("abcdef", 6, 100, out, 6), -E2BIG);
	assert_int_equal(htar_clean_name("abcdef", 6, 100, out, 7), 0);
}

static void pax_path_with_dotdot_refused(void **state)
{
	struct buf a, r;

	(void)state;
	ar_init(&a);
	buf_init(&r, 4096);
	pax_rec(&r, "path", "safe/../../escape", 17);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	add(&a, "innocent", '0', "evil", 4);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "escape");
	buf_cleanup(&a);

	/* A NUL cannot be in a tar name, but a pax value can hold one. */
	ar_init(&a);
	buf_reset(&r);
	pax_rec(&r, "path", "ok\0/../../x", 11);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	add(&a, "innocent", '0', "evil", 4);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "NUL");
	buf_cleanup(&a);

	/* Nor in a link target. */
	ar_init(&a);
	buf_reset(&r);
	pax_rec(&r, "linkpath", "ok\0evil", 7);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	add_link(&a, "l", '2', "t");
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "NUL");
	buf_cleanup(&a);

	/* Global headers are checked the same way on every entry they name. */
	ar_init(&a);
	buf_reset(&r);
	pax_rec(&r, "path", "../g", 4);
	add(&a, "PaxHeaders/g", 'g', r.data, r.len);
	add(&a, "innocent", '0', "evil", 4);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "..");
	buf_cleanup(&a);
	buf_cleanup(&r);
}

static void pax_records_applied(void **state)
{
	struct buf a, r;
	struct collect c = { 0 };
	char *longp = long_component('q', 3000);

	(void)state;
	ar_init(&a);
	buf_init(&r, 65536);
	pax_rec(&r, "mtime", "1234", 4);
	pax_rec(&r, "uid", "77", 2);
	pax_rec(&r, "comment", "ignored=\n\0anything", 18);
	add(&a, "PaxHeaders/g", 'g', r.data, r.len);
	buf_reset(&r);
	pax_rec(&r, "path", longp, 3000);
	pax_rec(&r, "size", "5", 1);
	pax_rec(&r, "mtime", "1700000000.5", 12);
	pax_rec(&r, "gid", "4000000000", 10);
	pax_rec(&r, "atime", "garbage is not read", 19);
	pax_rec(&r, "SCHILY.xattr.user.x", "\0\1\2", 3);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	add(&a, "short", '0', "12345", 5); /* header says 5 too */
	buf_reset(&r);
	pax_rec(&r, "mtime", "", 0); /* back to the header's, not the global */
	pax_rec(&r, "uid", "5", 1);
	pax_rec(&r, "linkpath", "/abs/target", 11);
	add(&a, "PaxHeaders/y", 'x', r.data, r.len);
	add_link(&a, "lnk", '2', "short-target");
	add(&a, "plain", '0', "", 0); /* global applies, 'x' forgotten */
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0].name, longp);
	assert_int_equal(c.v[0].e.size, 5);
	assert_int_equal(c.v[0].e.mtime, 1700000000);
	assert_int_equal(c.v[0].e.mtime_nsec, 500000000);
	assert_int_equal(c.v[0].e.uid, 77);
	assert_int_equal(c.v[0].e.gid, 4000000000u);
	assert_int_equal(c.v[1].e.mtime, 1700000000);
	assert_int_equal(c.v[1].e.uid, 5);
	assert_string_equal(c.v[1].e.linkname, "/abs/target");
	assert_string_equal(c.v[2].name, "plain");
	assert_int_equal(c.v[2].e.mtime, 1234);
	assert_int_equal(c.v[2].e.uid, 77);
	assert_int_equal(c.v[2].e.gid, 01750);
	collect_free(&c);

	/* pax size wins over the header's: the data is read by it. */
	buf_reset(&a);
	buf_reset(&r);
	pax_rec(&r, "size", "600", 3);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	{
		unsigned char h[512];
		char data[600];

		memset(data, 'd', sizeof(data));
		hinit(h, "big", '0', 0);
		hsum(h);
		put(&a, h, 512);
		put(&a, data, sizeof(data));
	}
	add(&a, "after", '0', "x", 1);
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[0].data.len, 600);
	assert_string_equal(c.v[1].name, "after");
	collect_free(&c);
	free(longp);
	buf_cleanup(&r);
	buf_cleanup(&a);
}

/* Records whose framing is wrong: a length that is not the record's. */
static void pax_record_with_wrong_length_refused(void **state)
{
#define R(lit) { lit, sizeof(lit) - 1 }
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		R("30 path=x\n"),                  /* length past the header */
		R("11 path=x\n"),                  /* one long (past the header) */
		R("11 path=x\n10 path=y\n"),       /* one long: swallows the next */
		R("9 path=xy\n"),                  /* one short */
		R("10 path=x\n4 a=\n"),            /* second record one short */
		R("10 path=x\nxx"),                /* trailing garbage */
		R("10 path=x\n\0\0\0\0"),          /* trailing NULs */
		R("10 pathx=x"),                   /* no newline at the end */
		R("x0 path=x\n"),                  /* length not a number */
		R(" 10 path=x\n"),                 /* space before the length */
		R("10path=xx\n"),                  /* no space after the length */
		R("9 pathxx\n"),                   /* no '=' */
		R("6 =xx\n"),                      /* empty key */
		R("3 \n"),                         /* too short to hold a record */
		R("0 \n"),
		R("99999999999999999999999 a=\n"), /* huge length */
		R("18446744073709551626 a=b\n"),   /* length that wraps 64 bits */
	};
#undef R
	struct buf a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ar_init(&a);
		add(&a, "PaxHeaders/x", 'x', bad[i].s, bad[i].n);
		add(&a, "f", '0', "data", 4);
		finish_ar(&a);
		expect_fail(&a, NULL, -EPROTO, "pax record");
		buf_cleanup(&a);
	}
}

/* Well-framed records with values we cannot take. */
static void pax_bad_values_refused(void **state)
{
	static const struct {
		const char *key, *val;
		int rc;
	} bad[] = {
		{ "size", "-12", -EPROTO },         { "size", "1x", -EPROTO },
		{ "size", " 1", -EPROTO },          { "size", "99999999999999999999", -EPROTO },
		{ "uid", "-1", -EPROTO },           { "uid", "4294967296", -EPROTO },
		{ "gid", "0x10", -EPROTO },         { "mtime", "1.", -EPROTO },
		{ "mtime", "x.5", -EPROTO },        { "mtime", "1.x", -EPROTO },
		{ "mtime", "-", -EPROTO },          { "mtime", ".5", -EPROTO },
		{ "mtime", "1e9", -EPROTO },        { "GNU.sparse.major", "1", -ENOTSUP },
		{ "GNU.sparse.map", "0,1", -ENOTSUP },
	};
	struct buf a, r;

	(void)state;
	buf_init(&r, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ar_init(&a);
		buf_reset(&r);
		pax_rec(&r, bad[i].key, bad[i].val, strlen(bad[i].val));
		add(&a, "PaxHeaders/x", 'x', r.data, r.len);
		add(&a, "f", '0', "data", 4);
		finish_ar(&a);
		expect_fail(&a, NULL, bad[i].rc, bad[i].key);
		buf_cleanup(&a);
	}
	buf_cleanup(&r);
}

static void bad_checksum_refused(void **state)
{
	struct buf a;
	unsigned char h[512];

	(void)state;
	ar_init(&a);
	add(&a, "good", '0', "x", 1);
	hinit(h, "bad", '0', 1);
	hsum(h);
	h[0] ^= 1; /* "cad": the stored sum no longer matches */
	put(&a, h, 512);
	put(&a, "x", 1);
	finish_ar(&a);
	assert_int_equal(expect_fail(&a, NULL, -EPROTO, "checksum"), 1);
	buf_cleanup(&a);

	/* A checksum field that is not a number. */
	ar_init(&a);
	hinit(h, "bad", '0', 0);
	hsum(h);
	memcpy(h + 148, "12x4567", 7);
	put(&a, h, 512);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "checksum");
	buf_cleanup(&a);

	/* Random bytes are not a header. */
	ar_init(&a);
	for (int i = 0; i < 512; i++)
		h[i] = (unsigned char)xorshift();
	put(&a, h, 512);
	expect_fail(&a, NULL, -EPROTO, NULL);
	buf_cleanup(&a);

	/* Nor is a block without the ustar magic. */
	ar_init(&a);
	hinit(h, "v7", '0', 0);
	memset(h + 257, 0, 8);
	hsum(h);
	put(&a, h, 512);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "magic");
	buf_cleanup(&a);
}

/* Historical tars summed signed chars; GNU tar accepts both sums. */
static void signed_checksum_accepted(void **state)
{
	struct buf a;
	unsigned char h[512];
	struct collect c = { 0 };
	int sum = 0;

	(void)state;
	ar_init(&a);
	hinit(h, "caf\xc3\xa9", '0', 0);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (signed char)h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	put(&a, h, 512);
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].name, "caf\xc3\xa9");
	collect_free(&c);
	buf_cleanup(&a);
}

static void garbage_numeric_fields_refused(void **state)
{
	static const struct {
		size_t off, len;
		const char *val;
	} bad[] = {
		{ 124, 12, "0000000001x\0" }, /* size */
		{ 124, 12, "00000000\0001\0" }, /* digit after the terminator */
		{ 124, 12, "\0\0\0\0\0\0\0\0\0\0\0\0" }, /* blank */
		{ 124, 12, "-0000000001\0" },
		{ 124, 12, "00000000009\0" }, /* not octal */
		{ 124, 12, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" }, /* base-256 -1 */
		{ 124, 12, "\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00" }, /* base-256 past 64 bits */
		{ 100, 8, "06x4\0\0\0\0" },    /* mode */
		{ 108, 8, "\xff\xff\xff\xff\xff\xff\xff\xfe" }, /* uid -2 */
		{ 108, 8, "\x80\0\0\x01\0\0\0\0" }, /* uid past 32 bits */
		{ 116, 8, "abcdefg\0" },       /* gid */
		{ 136, 12, "1452477040x\0" }, /* mtime */
	};
	struct buf a;
	unsigned char h[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ar_init(&a);
		hinit(h, "f", '0', 0);
		memcpy(h + bad[i].off, bad[i].val, bad[i].len);
		hsum(h);
		put(&a, h, 512);
		put(&a, "data", 4);
		finish_ar(&a);
		expect_fail(&a, NULL, -EPROTO, "field");
		buf_cleanup(&a);
	}
}

/* Numbers GNU tar writes besides plain octal: base-256, full-width octal
 * (busybox), leading spaces (old tars). */
static void base256_and_odd_octal_accepted(void **state)
{
	struct buf a;
	unsigned char h[512];
	struct collect c = { 0 };
	char data[700];

	(void)state;
	memset(data, 'e', sizeof(data));
	ar_init(&a);
	hinit(h, "b256", '0', 0);
	memcpy(h + 124, "\x80\0\0\0\0\0\0\0\0\0\x02\xbc", 12); /* 700 */
	memcpy(h + 108, "\x80\0\0\0\xb2\xd0\x5e\0", 8);        /* 3000000000 */
	memcpy(h + 116, "13343301", 8);                        /* full width, no NUL */
	memcpy(h + 136, "\xff\xff\xff\xff\xff\xff\xff\xff\xed\x30\x08\x80", 12); /* -315619200 */
	memcpy(h + 100, "  755 \0\0", 8);
	hsum(h);
	put(&a, h, 512);
	put(&a, data, sizeof(data));
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].e.size, 700);
	assert_int_equal(c.v[0].data.len, 700);
	assert_int_equal(c.v[0].e.uid, 3000000000u);
	assert_int_equal(c.v[0].e.gid, 3000001);
	assert_int_equal(c.v[0].e.mtime, -315619200);
	assert_int_equal(c.v[0].e.mode, 0755);
	collect_free(&c);
	buf_cleanup(&a);
}

static void size_over_max_entry_size_refused(void **state)
{
	struct htar_limits lim = { .max_entry_size = 1000 };
	struct buf a;
	char data[1001];

	(void)state;
	memset(data, 'x', sizeof(data));
	ar_init(&a);
	add(&a, "fits", '0', data, 1000);
	add(&a, "toobig", '0', data, 1001);
	finish_ar(&a);
	assert_int_equal(expect_fail(&a, &lim, -E2BIG, "toobig"), 1);
	buf_cleanup(&a);

	/* The default: 1 TiB, even when the header is base-256. */
	ar_init(&a);
	{
		unsigned char h[512];

		hinit(h, "huge", '0', 0);
		memcpy(h + 124, "\x80\0\0\0\0\x01\0\0\0\0\0\0", 12); /* 2^48 */
		hsum(h);
		put(&a, h, 512);
	}
	expect_fail(&a, NULL, -E2BIG, "limit");
	buf_cleanup(&a);
}

static void truncated_data_fails_finish(void **state)
{
	struct buf a;
	char data[3000];
	struct htar *t;
	struct collect c = { 0 };

	(void)state;
	memset(data, 'x', sizeof(data));
	ar_init(&a);
	add(&a, "first", '0', "ok", 2);
	add(&a, "cut", '0', data, sizeof(data));
	finish_ar(&a);
	/* Every cut inside "cut"'s header, data or padding must fail, with or
	 * without what follows; a cut at its end is an entry boundary. */
	for (size_t cut = 1024 + 1; cut < 1024 + 512 + 3072; cut += 61) {
		const char *msg;
		int rc = parse(a.data, cut, FEED_WHOLE, NULL, &c, &msg);

		if (rc != -EPROTO)
			fail_msg("cut at %zu: got %d, want -EPROTO", cut, rc);
		assert_true(strstr(msg, "ended") != NULL);
	}
	for (int m = 0; m < FEED_COUNT; m++) {
		assert_int_equal(parse(a.data, 1024 + 512 + 3000, (enum feed)m, NULL, &c, NULL), -EPROTO);
		assert_int_equal(parse(a.data, 1024 + 512 + 1000, (enum feed)m, NULL, &c, NULL), -EPROTO);
		/* The data that did arrive was delivered, but never its end. */
		assert_int_equal(c.n, 2);
		assert_int_equal(c.v[1].data.len, 1000);
		assert_int_equal(c.v[1].ends, 0);
		/* Entry boundaries: fine without the end marker. */
		assert_int_equal(parse(a.data, 1024, (enum feed)m, NULL, &c, NULL), 0);
		assert_int_equal(parse(a.data, 1024 + 512 + 3072, (enum feed)m, NULL, &c, NULL), 0);
		/* A lone zero block ends it too (GNU tar warns and accepts). */
		assert_int_equal(parse(a.data, 1024 + 512 + 3072 + 512, (enum feed)m, NULL, &c, NULL), 0);
	}
	/* An empty stream is not an archive. */
	assert_int_equal(htar_new(&t, NULL, &callbacks, &c), 0);
	assert_int_equal(htar_finish(t), -EPROTO);
	assert_true(strstr(htar_error(t), "before any") != NULL);
	htar_free(t);
	collect_free(&c);
	buf_cleanup(&a);
}

static void truncated_header_fails_finish(void **state)
{
	struct buf a;
	struct collect c = { 0 };

	(void)state;
	ar_init(&a);
	add(&a, "one", '0', "1", 1);
	add(&a, "two", '0', "2", 1);
	finish_ar(&a);
	for (size_t cut = 1025; cut < 1536; cut++) {
		const char *msg;

		assert_int_equal(parse(a.data, cut, cut % 2 ? FEED_BYTES : FEED_RANDOM, NULL, &c, &msg), -EPROTO);
		assert_true(strstr(msg, "inside a header") != NULL);
		assert_int_equal(c.n, 1);
	}
	/* Cut inside the end marker's second block: a truncated header; cut
	 * after its first block: a lone zero block, which ends an archive. */
	assert_int_equal(parse(a.data, a.len - 100, FEED_BYTES, NULL, &c, NULL), -EPROTO);
	assert_int_equal(parse(a.data, a.len - 512, FEED_BYTES, NULL, &c, NULL), 0);
	collect_free(&c);
	buf_cleanup(&a);
}

static void extension_header_without_entry_refused(void **state)
{
	struct buf a, r;

	(void)state;
	ar_init(&a);
	add(&a, "././@LongLink", 'L', "name\0", 5);
	expect_fail(&a, NULL, -EPROTO, "extension header");
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "extension header");
	buf_cleanup(&a);
	ar_init(&a);
	buf_init(&r, 256);
	pax_rec(&r, "path", "p", 1);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	expect_fail(&a, NULL, -EPROTO, "extension header");
	buf_cleanup(&r);
	buf_cleanup(&a);
}

static void header_after_lone_zero_block_refused(void **state)
{
	struct buf a;
	static const char zero[512];

	(void)state;
	ar_init(&a);
	add(&a, "one", '0', "1", 1);
	put(&a, zero, 512);
	add(&a, "hidden", '0', "2", 1);
	finish_ar(&a);
	assert_int_equal(expect_fail(&a, NULL, -EPROTO, "lone zero block"), 1);
	buf_cleanup(&a);
}

static void trailing_bytes_after_end_ignored(void **state)
{
	struct buf a;
	struct collect c = { 0 };
	struct htar_limits lim = { 0 };

	(void)state;
	ar_init(&a);
	add(&a, "one", '0', "1", 1);
	finish_ar(&a);
	lim.max_total = a.len; /* the junk below is not counted */
	assert_int_equal(buf_append(&a, "junk after the end, not a header", 32), 0);
	expect_ok(&a, &lim, &c);
	assert_int_equal(c.n, 1);
	collect_free(&c);
	buf_cleanup(&a);
}

static void gnu_long_name_and_link_read(void **state)
{
	struct buf a;
	struct collect c = { 0 };
	char *n = long_component('n', 300), *l = long_component('l', 200);
	char *p;

	(void)state;
	ar_init(&a);
	p = malloc(303);
	assert_non_null(p);
	memcpy(p, "./", 2);
	memcpy(p + 2, n, 301);
	add(&a, "././@LongLink", 'L', p, 303);
	add(&a, "././@LongLink", 'K', l, 201);
	add_link(&a, "./nnnnnnnnnnnn", '2', "lll");
	add(&a, "./next", '0', "", 0); /* the long name was for one entry only */
	finish_ar(&a);
	expect_ok(&a, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0].name, n);
	assert_string_equal(c.v[0].e.linkname, l);
	assert_string_equal(c.v[1].name, "next");
	collect_free(&c);
	buf_cleanup(&a);

	/* A NUL inside a long name. */
	ar_init(&a);
	add(&a, "././@LongLink", 'L', "ok\0../../x\0", 11);
	add(&a, "x", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "NUL");
	buf_cleanup(&a);

	/* A long name with "..". */
	ar_init(&a);
	add(&a, "././@LongLink", 'L', "a/../../x", 10);
	add(&a, "x", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, NULL, -EPROTO, "..");
	buf_cleanup(&a);
	free(p);
	free(n);
	free(l);
}

static void gnu_long_name_over_max_name_refused(void **state)
{
	struct htar_limits lim = { .max_name = 100 };
	struct buf a;
	char *n = long_component('n', 5000);

	(void)state;
	/* Refused by the header's size, before any of it is stored. */
	ar_init(&a);
	add(&a, "././@LongLink", 'L', n, 5001);
	add(&a, "x", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, NULL, -E2BIG, "GNU long name");
	expect_fail(&a, &lim, -E2BIG, "GNU long name");
	buf_cleanup(&a);

	/* Within the raw cap ("./" + name + NUL) but over once cleaned. */
	ar_init(&a);
	add(&a, "././@LongLink", 'L', n, 102);
	add(&a, "x", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, &lim, -E2BIG, "name limit");
	buf_cleanup(&a);

	/* 100 bytes is fine. */
	ar_init(&a);
	add(&a, "././@LongLink", 'L', n, 100);
	add(&a, "x", '0', "", 0);
	finish_ar(&a);
	{
		struct collect c = { 0 };

		expect_ok(&a, &lim, &c);
		assert_int_equal(strlen(c.v[0].name), 100);
		collect_free(&c);
	}
	buf_cleanup(&a);

	/* The same for link targets, GNU and pax. */
	ar_init(&a);
	add(&a, "././@LongLink", 'K', n, 102);
	add_link(&a, "l", '2', "t");
	finish_ar(&a);
	expect_fail(&a, &lim, -E2BIG, NULL);
	buf_cleanup(&a);
	ar_init(&a);
	{
		struct buf r;

		buf_init(&r, 8192);
		pax_rec(&r, "linkpath", n, 101);
		add(&a, "PaxHeaders/l", 'x', r.data, r.len);
		buf_cleanup(&r);
	}
	add_link(&a, "l", '2', "t");
	finish_ar(&a);
	expect_fail(&a, &lim, -E2BIG, "link target");
	buf_cleanup(&a);
	free(n);
}

static void pax_header_over_max_pax_refused(void **state)
{
	struct htar_limits lim = { .max_pax = 1000 };
	struct buf a, r;
	char *v = long_component('v', 70000);

	(void)state;
	ar_init(&a);
	buf_init(&r, 1 << 20);
	pax_rec(&r, "comment", v, 1000);
	add(&a, "PaxHeaders/x", 'x', r.data, r.len);
	add(&a, "f", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, &lim, -E2BIG, "pax header");
	buf_cleanup(&a);

	/* The default is 64 KiB; global headers too. */
	ar_init(&a);
	buf_reset(&r);
	pax_rec(&r, "comment", v, 70000);
	add(&a, "PaxHeaders/g", 'g', r.data, r.len);
	add(&a, "f", '0', "", 0);
	finish_ar(&a);
	expect_fail(&a, NULL, -E2BIG, "pax global header");
	buf_cleanup(&a);
	buf_cleanup(&r);
	free(v);
}

static void total_over_max_total_refused(void **state)
{
	struct htar_limits lim = { 0 };
	struct buf a;
	char data[5000];
	struct collect c = { 0 };

	(void)state;
	memset(data, 't', sizeof(data));
	ar_init(&a);
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		add(&a, name, '0', data, sizeof(data));
	}
	finish_ar(&a);
	lim.max_total = a.len;
	expect_ok(&a, &lim, &c);
	assert_int_equal(c.n, 10);
	lim.max_total = a.len - 1; /* the last byte of the end marker */
	expect_fail(&a, &lim, -E2BIG, "limit");
	lim.max_total = 20000;
	assert_true(expect_fail(&a, &lim, -E2BIG, "limit") <= 4);
	collect_free(&c);
	buf_cleanup(&a);
}

static void unsupported_types_refused(void **state)
{
	static const struct {
		char type;
		int rc;
		const char *says;
	} cases[] = {
		{ 'S', -ENOTSUP, "sparse" }, { 'D', -ENOTSUP, "not supported" }, { 'N', -ENOTSUP, "not supported" },
		{ 'A', -ENOTSUP, "not supported" }, { '8', -ENOTSUP, "not supported" },
		{ 'V', -EPROTO, "volume" },  { 'M', -EPROTO, "multi-volume" },
	};
	struct buf a;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ar_init(&a);
		add(&a, "before", '0', "b", 1);
		add(&a, "odd", cases[i].type, "0123456789", 10);
		add(&a, "after", '0', "a", 1);
		finish_ar(&a);
		assert_int_equal(expect_fail(&a, NULL, cases[i].rc, cases[i].says), 1);
		buf_cleanup(&a);
	}
}

static void data_on_non_regular_entry_refused(void **state)
{
	static const char types[] = { '1', '2', '3', '4', '5', '6' };
	struct buf a;

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		ar_init(&a);
		add(&a, "x", types[i], "hidden header?", 14);
		finish_ar(&a);
		expect_fail(&a, NULL, -EPROTO, "non-regular");
		buf_cleanup(&a);
	}
}

static void callback_errors_abort_with_their_errno(void **state)
{
	struct buf a;
	struct collect c = { 0 };
	char data[3000];

	(void)state;
	memset(data, 'c', sizeof(data));
	ar_init(&a);
	add(&a, "one", '0', "1", 1);
	add(&a, "two", '0', data, sizeof(data));
	add(&a, "three", '5', NULL, 0);
	add(&a, "four", '0', "4", 1);
	finish_ar(&a);
	for (int m = 0; m < FEED_COUNT; m++) {
		c.entry_err_at = 3;
		c.entry_err = -ENOSPC;
		assert_int_equal(parse(a.data, a.len, (enum feed)m, NULL, &c, NULL), -ENOSPC);
		assert_int_equal(c.n, 3);
		c.entry_err_at = 0;

		c.data_err_name = "two";
		c.data_err = -EIO;
		assert_int_equal(parse(a.data, a.len, (enum feed)m, NULL, &c, NULL), -EIO);
		assert_int_equal(c.n, 2);
		assert_int_equal(c.v[1].ends, 0);
		c.data_err_name = NULL;

		c.end_err_name = "one";
		c.end_err = -EPIPE;
		assert_int_equal(parse(a.data, a.len, (enum feed)m, NULL, &c, NULL), -EPIPE);
		assert_int_equal(c.n, 1);
		c.end_err_name = "three";
		assert_int_equal(parse(a.data, a.len, (enum feed)m, NULL, &c, NULL), -EPIPE);
		assert_int_equal(c.n, 3);
		c.end_err_name = NULL;
	}
	collect_free(&c);
	buf_cleanup(&a);
}

static int count_only(void *arg, const struct htar_entry *e)
{
	(*(int *)arg)++;
	return e->type == 'f' ? 0 : 1;
}

static void null_callbacks_allowed(void **state)
{
	struct buf a;
	struct htar *t;
	struct htar_cb cb = { count_only, NULL, NULL };
	int n = 0;

	(void)state;
	ar_init(&a);
	add(&a, "one", '0', "1", 1);
	add(&a, "dir", '5', NULL, 0);
	finish_ar(&a);
	assert_int_equal(htar_new(&t, NULL, NULL, NULL), 0);
	assert_int_equal(htar_feed(t, a.data, a.len), 0);
	assert_int_equal(htar_finish(t), 0);
	htar_free(t);
	assert_int_equal(htar_new(&t, NULL, &cb, &n), 0);
	assert_int_equal(htar_feed(t, a.data, a.len), 0);
	assert_int_equal(htar_feed(t, NULL, 0), 0);
	assert_int_equal(htar_finish(t), 0);
	assert_int_equal(n, 2);
	assert_string_equal(htar_error(t), "");
	htar_free(t);
	htar_free(NULL);
	buf_cleanup(&a);
}

/* Random damage to a real archive: any result but a crash, a leak, an
 * unclean name or a callback after an error (checked in the callbacks). */
static void mutated_archives_fail_cleanly(void **state)
{
	const char *exe = gnu_tar();
	struct collect c = { 0 };
	char root[64];

	(void)state;
	if (!exe)
		skip();
	snprintf(root, sizeof(root), "/tmp/test_tar.XXXXXX");
	assert_non_null(mkdtemp(root));
	write_file(root, "a", "aaaa", 4);
	write_file(root, "bb", "bbbbbbbbbbbbbbbbbbbbbbb", 23);
	{
		char *n = long_component('L', 150);

		write_file(root, n, "long", 4);
		free(n);
	}
	for (int f = 0; f < 2; f++) {
		char *argv[] = { (char *)exe, f ? "--format=pax" : "--format=gnu", "-cf", "-", "-C", root, ".", NULL };
		struct buf ar, mut;

		buf_init(&ar, ARCHIVE_MAX);
		assert_int_equal(run(argv, &ar), 0);
		buf_init(&mut, ARCHIVE_MAX);
		for (int i = 0; i < 1500; i++) {
			int edits = 1 + (int)(xorshift() % 4), rc;

			buf_reset(&mut);
			assert_int_equal(buf_append(&mut, ar.data, ar.len), 0);
			for (int e = 0; e < edits; e++) {
				size_t at = (size_t)(xorshift() % 3072);
				unsigned char v = (unsigned char)xorshift();

				/* Mostly header bytes; keep the checksum right
				 * half the time so the damage gets past it. */
				mut.data[at] = (char)(xorshift() % 3 ? v : (unsigned char)"0123456789 \0/.x\n"[v % 16]);
				if (xorshift() % 2) {
					unsigned char *h = (unsigned char *)mut.data + at / 512 * 512;

					hsum(h);
				}
			}
			rc = parse(mut.data, mut.len, i % 7 == 0 ? FEED_BYTES : FEED_RANDOM, NULL, &c, NULL);
			assert_true(rc == 0 || rc == -EPROTO || rc == -E2BIG || rc == -ENOTSUP);
		}
		buf_cleanup(&mut);
		buf_cleanup(&ar);
	}
	collect_free(&c);
	rm_tree(root);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(gnu_tar_default_format),
	cmocka_unit_test(gnu_tar_format_gnu),
	cmocka_unit_test(gnu_tar_format_pax),
	cmocka_unit_test(gnu_tar_format_ustar),
	cmocka_unit_test(busybox_tar),
	cmocka_unit_test(gnu_tar_member_list_without_dot_slash),
	cmocka_unit_test(negative_mtime_gnu_base256_and_pax_fraction),
	cmocka_unit_test(skipped_entries_lose_only_their_data),
	cmocka_unit_test(callback_errors_abort_with_their_errno),
	cmocka_unit_test(null_callbacks_allowed),
	cmocka_unit_test(dotdot_name_refused),
	cmocka_unit_test(absolute_and_dotted_names_made_relative),
	cmocka_unit_test(clean_name_table),
	cmocka_unit_test(pax_path_with_dotdot_refused),
	cmocka_unit_test(pax_records_applied),
	cmocka_unit_test(pax_record_with_wrong_length_refused),
	cmocka_unit_test(pax_bad_values_refused),
	cmocka_unit_test(bad_checksum_refused),
	cmocka_unit_test(signed_checksum_accepted),
	cmocka_unit_test(garbage_numeric_fields_refused),
	cmocka_unit_test(base256_and_odd_octal_accepted),
	cmocka_unit_test(size_over_max_entry_size_refused),
	cmocka_unit_test(truncated_data_fails_finish),
	cmocka_unit_test(truncated_header_fails_finish),
	cmocka_unit_test(extension_header_without_entry_refused),
	cmocka_unit_test(header_after_lone_zero_block_refused),
	cmocka_unit_test(trailing_bytes_after_end_ignored),
	cmocka_unit_test(gnu_long_name_and_link_read),
	cmocka_unit_test(gnu_long_name_over_max_name_refused),
	cmocka_unit_test(pax_header_over_max_pax_refused),
	cmocka_unit_test(total_over_max_total_refused),
	cmocka_unit_test(unsupported_types_refused),
	cmocka_unit_test(data_on_non_regular_entry_refused),
	cmocka_unit_test(mutated_archives_fail_cleanly),
};

UNIT_MAIN(tests)
