/* test_cp.c: podfs cp: operands, pod paths, names from the pod, part
 * names, resume decisions, and both directions against the in-memory
 * remote (hostile listings, injected read faults, resume, batches). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cp.h"
#include "cp_path.h"
#include "remote_mem.h"

/* ---- operands ---- */

static void test_spec_parse(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		bool remote;
		const char *ns, *pod, *path;
	} cases[] = {
		{ "pod:/etc", 0, true, NULL, "pod", "/etc" },
		{ "ns/pod:/etc", 0, true, "ns", "pod", "/etc" },
		{ "pod:", 0, true, NULL, "pod", "" },
		{ "pod:rel/x", 0, true, NULL, "pod", "rel/x" },
		{ "pod:/a:b", 0, true, NULL, "pod", "/a:b" },
		{ "my-pod.x:/$(touch x)", 0, true, NULL, "my-pod.x", "/$(touch x)" },
		{ "local", 0, false, NULL, NULL, "local" },
		{ "/abs/a:b", 0, false, NULL, NULL, "/abs/a:b" },
		{ "./a:b", 0, false, NULL, NULL, "./a:b" },
		{ "../a:b", 0, false, NULL, NULL, "../a:b" },
		{ "C:\\Users\\x", 0, false, NULL, NULL, "C:\\Users\\x" },
		{ ":x", -EINVAL, false, NULL, NULL, NULL },
		{ "a/b/c:x", -EINVAL, false, NULL, NULL, NULL },
		{ "Bad_Pod:/x", -EINVAL, false, NULL, NULL, NULL },
		{ "/:x", 0, false, NULL, NULL, "/:x" },
		{ "ns/:x", -EINVAL, false, NULL, NULL, NULL },
		{ "my file:2.txt", -EINVAL, false, NULL, NULL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cp_spec s;
		char err[256] = "";
		int rc = cp_spec_parse(cases[i].arg, &s, err, sizeof(err));

		assert_int_equal(rc, cases[i].rc);
		if (rc) {
			assert_true(strlen(err) > 0);
			continue;
		}
		assert_int_equal(s.remote, cases[i].remote);
		if (cases[i].ns)
			assert_string_equal(s.ns, cases[i].ns);
		else
			assert_null(s.ns);
		if (cases[i].pod)
			assert_string_equal(s.pod, cases[i].pod);
		assert_string_equal(s.path, cases[i].path);
		cp_spec_cleanup(&s);
	}
}

static void test_remote_path(void **state)
{
	static const struct {
		const char *wd, *in, *out;
		bool contents;
	} cases[] = {
		{ "/", "/etc", "/etc", false },
		{ "/", "", "/", false },
		{ "/app", "", "/app", false },
		{ "/app", "data/x", "/app/data/x", false },
		{ "/app", "../etc//passwd/", "/etc/passwd", false },
		{ "/", "/../../x", "/x", false },
		{ "/", "/a/./b/.", "/a/b", true },
		{ "/w", ".", "/w", true },
		{ "/w", "d/./", "/w/d", true },
		{ "/", "/a/b/..", "/a", false },
		{ "/", "/a/..b", "/a/..b", false },
		{ "/", "/a b/$(x)/'q'", "/a b/$(x)/'q'", false },
		{ "/", "/..", "/", false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		bool contents = false;

		assert_int_equal(cp_remote_path(cases[i].wd, cases[i].in, &out, &contents), 0);
		assert_string_equal(out, cases[i].out);
		assert_int_equal(contents, cases[i].contents);
		free(out);
	}
}

static void test_names(void **state)
{
	char long_name[256], part[256];

	(void)state;
	assert_true(cp_name_ok("a"));
	assert_true(cp_name_ok("..dots"));
	assert_true(cp_name_ok("-rf"));
	assert_true(cp_name_ok("new\nline"));
	assert_true(cp_name_ok("\xff\xfe"));
	assert_false(cp_name_ok(""));
	assert_false(cp_name_ok("."));
	assert_false(cp_name_ok(".."));
	assert_false(cp_name_ok("../x"));
	assert_false(cp_name_ok("/abs"));
	assert_false(cp_name_ok("a/b"));
	memset(long_name, 'n', 255);
	long_name[255] = '\0';
	assert_true(cp_name_ok(long_name));
	{
		char too_long[300];

		memset(too_long, 'n', 256);
		too_long[256] = '\0';
		assert_false(cp_name_ok(too_long));
	}
	cp_part_name("file.bin", part);
	assert_string_equal(part, "file.bin.podfs-part");
	assert_true(cp_is_part_name(part));
	assert_false(cp_is_part_name("file.bin"));
	cp_part_name(long_name, part);
	assert_true(strlen(part) <= 255);
	assert_true(cp_name_ok(part));
	assert_true(cp_is_part_name(part));
	assert_int_equal(strncmp(part, ".podfs-part-", 12), 0);
	{
		char part2[256];

		long_name[0] = 'm';
		cp_part_name(long_name, part2);
		assert_string_not_equal(part, part2);
	}
}

static void test_decide(void **state)
{
	struct cp_finfo src = { .exists = true, .regular = true, .size = 1000, .mtime = 100, .mtime_nsec = 5 };
	struct cp_finfo none = { 0 };
	struct cp_finfo dst = src, part = src;
	uint64_t off = 99;

	(void)state;
	assert_int_equal(cp_decide(&src, &none, &none, &off), CP_COPY);
	assert_int_equal(off, 0);
	assert_int_equal(cp_decide(&src, &dst, &none, &off), CP_SKIP);
	dst.mtime_nsec = 0; /* a side that only knows seconds */
	assert_int_equal(cp_decide(&src, &dst, &none, &off), CP_SKIP);
	dst.mtime_nsec = 6;
	assert_int_equal(cp_decide(&src, &dst, &none, &off), CP_COPY);
	dst = src;
	dst.size = 999;
	assert_int_equal(cp_decide(&src, &dst, &none, &off), CP_COPY);
	dst.size = 1000;
	dst.regular = false; /* a symlink or directory with the same numbers */
	assert_int_equal(cp_decide(&src, &dst, &none, &off), CP_COPY);
	part.size = 400;
	assert_int_equal(cp_decide(&src, &none, &part, &off), CP_RESUME);
	assert_int_equal(off, 400);
	part.mtime = 101; /* not stamped: an unknown prefix */
	assert_int_equal(cp_decide(&src, &none, &part, &off), CP_COPY);
	part.mtime = 100;
	part.size = 1001; /* longer than the source */
	assert_int_equal(cp_decide(&src, &none, &part, &off), CP_COPY);
	part.size = 0;
	assert_int_equal(cp_decide(&src, &none, &part, &off), CP_COPY);
	part.size = 1000; /* complete part: verify and rename */
	assert_int_equal(cp_decide(&src, &none, &part, &off), CP_RESUME);
	assert_int_equal(off, 1000);
}

static void test_decide_checksum(void **state)
{
	struct cp_finfo src = { .exists = true, .regular = true, .size = 1000, .mtime = 100, .mtime_nsec = 5 };
	struct cp_finfo none = { 0 };
	struct cp_finfo dst = src, part = src;
	uint64_t off = 99;

	(void)state;
	assert_true(cp_same_size(&src, &dst));
	assert_false(cp_same_size(&src, &none));
	/* same size and mtime: the content decides */
	assert_int_equal(cp_decide_checksum(&src, &dst, &none, true, &off), CP_SKIP);
	assert_int_equal(off, 0);
	assert_int_equal(cp_decide_checksum(&src, &dst, &none, false, &off), CP_COPY);
	/* another mtime, same content: skipped */
	dst.mtime = 5;
	assert_int_equal(cp_decide_checksum(&src, &dst, &none, true, &off), CP_SKIP);
	/* another size: never skipped; a stamped part file is continued */
	dst.size = 999;
	assert_false(cp_same_size(&src, &dst));
	assert_int_equal(cp_decide_checksum(&src, &dst, &none, true, &off), CP_COPY);
	part.size = 400;
	assert_int_equal(cp_decide_checksum(&src, &dst, &part, false, &off), CP_RESUME);
	assert_int_equal(off, 400);
	/* not a regular file */
	dst = src;
	dst.regular = false;
	assert_false(cp_same_size(&src, &dst));
	assert_int_equal(cp_decide_checksum(&src, &dst, &none, true, &off), CP_COPY);
}

static void test_printable(void **state)
{
	char out[32];

	(void)state;
	cp_printable("a\nb\x1b[2J\\", out, sizeof(out));
	assert_string_equal(out, "a\\x0ab\\x1b[2J\\\\");
	cp_printable("\xff", out, sizeof(out));
	assert_string_equal(out, "\\xff");
	cp_printable("0123456789012345678901234567890123456789", out, 16);
	assert_int_equal(strlen(out), 15);
	assert_string_equal(out + 12, "...");
}

/* ---- download against the in-memory remote ---- */

static char *mkscratch(void)
{
	char tmpl[] = "/tmp/podfs-cp-unit.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *d)
{
	char cmd[512];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s", d);
	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", cmd, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static char *readf(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static struct cp_opts quiet_opts(void)
{
	struct cp_opts o;

	cp_opts_init(&o);
	o.parallel = 3;
	o.retries = 0;
	return o;
}

static void test_download_tree(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], *big = malloc(300000), *got;
	const char *srcs[] = { "/src" };
	size_t len;
	struct stat st;

	(void)state;
	for (size_t i = 0; i < 300000; i++)
		big[i] = (char)(i * 7);
	assert_int_equal(remote_mem_new(&r), 0);
	remote_mem_enable_read_many(r);
	assert_int_equal(remote_mem_add_file(r, "/src/a", "hello", 5, 0640), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/$(touch x)", "x", 1, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/sub/big", big, 300000, 0600), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/src/sub/link", "../a"), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/src/escape", "/etc/passwd"), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/src/fifo", 0644), 0);
	assert_int_equal(remote_mem_set_mtime(r, "/src/a", 1600000000, 0), 0);
	o.chunk = 65536;
	o.preserve = true;
	snprintf(path, sizeof(path), "%s/out", d);
	assert_int_equal(cp_download(r, &o, srcs, NULL, 1, path, &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 3);
	assert_int_equal(rep.links, 2);
	assert_int_equal(rep.nnotes, 1); /* the fifo */
	assert_non_null(strstr(rep.notes[0].what, "fifo"));
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/out/sub/big", d);
	got = readf(path, &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(got, big, 300000);
	free(got);
	snprintf(path, sizeof(path), "%s/out/a", d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtime, 1600000000);
	snprintf(path, sizeof(path), "%s/out/escape", d);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* the small files came in a batch */
	assert_true(remote_mem_count(r, REMOTE_MEM_READ_MANY) >= 1);

	/* again into the same place (DIR/.): everything is complete */
	remote_mem_reset_counts(r);
	{
		const char *again[] = { "/src" };
		bool contents[] = { true };

		snprintf(path, sizeof(path), "%s/out", d);
		assert_int_equal(cp_download(r, &o, again, contents, 1, path, &rep), 0);
	}
	assert_int_equal(rep.files, 0);
	assert_int_equal(rep.skipped, 3);
	assert_int_equal(remote_mem_bytes_read(r), 0);
	cp_report_cleanup(&rep);
	r->ops->destroy(r);
	free(big);
	rm_rf(d);
	free(d);
}

/* A remote that lists hostile names in every directory. */
static const struct remote_ops *inner_ops;

static int hostile_readdir(struct remote *r, const char *path, struct remote_dirent **out, size_t *n)
{
	static const char *const bad[] = { "../escape", "/abs", "a/b", ".", "..", "" };
	int rc = inner_ops->readdir(r, path, out, n);
	struct remote_dirent *e;

	if (rc)
		return rc;
	e = realloc(*out, (*n + 6) * sizeof(*e));
	assert_non_null(e);
	for (size_t i = 0; i < 6; i++) {
		memset(&e[*n + i], 0, sizeof(e[0]));
		e[*n + i].name = strdup(bad[i]);
		e[*n + i].attr.mode = S_IFREG | 0644;
		e[*n + i].attr.size = 3;
	}
	*out = e;
	*n += 6;
	return 0;
}

static int hostile_read_many(struct remote *r, const char *dir, const char *const *names, size_t n,
			     size_t max_each, size_t max_total,
			     int (*cb)(void *arg, const char *name, const void *data, size_t len), void *arg)
{
	(void)r, (void)dir, (void)names, (void)n, (void)max_each, (void)max_total;
	/* a tar stream that names what it likes */
	assert_int_equal(cb(arg, "../escape", "bad", 3), 0);
	assert_int_equal(cb(arg, "/abs", "bad", 3), 0);
	return 0;
}

static void test_download_hostile_listing(void **state)
{
	struct remote *r, wrapped;
	struct remote_ops ops;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512];
	const char *srcs[] = { "/src" };
	struct stat st;

	(void)state;
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/ok1", "ok1", 3, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/ok2", "ok2", 3, 0644), 0);
	inner_ops = r->ops;
	ops = *r->ops;
	ops.readdir = hostile_readdir;
	ops.read_many = hostile_read_many;
	wrapped.ops = &ops;
	wrapped.priv = r->priv;
	snprintf(path, sizeof(path), "%s/dst", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dst/inner", d);
	mkdir(path, 0755);
	assert_int_equal(cp_download(&wrapped, &o, srcs, NULL, 1, path, &rep), -EIO);
	/* refused: 5 bad names reported ("" too), the good files copied */
	assert_true(rep.nfailed >= 5);
	for (size_t i = 0; i < rep.nfailed; i++)
		assert_non_null(strstr(rep.failed[i].what, "refused"));
	assert_int_equal(rep.files, 2);
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/dst/escape", d);
	assert_int_not_equal(lstat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/dst/inner/escape", d);
	assert_int_not_equal(lstat(path, &st), 0);
	assert_int_not_equal(lstat("/abs", &st), 0);
	snprintf(path, sizeof(path), "%s/dst/inner/src/ok1", d);
	assert_int_equal(lstat(path, &st), 0);
	r->ops->destroy(r);
	rm_rf(d);
	free(d);
}

/* A local symlink where the pod has a directory: never followed. */
static void test_download_no_follow_local(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], target[512];
	const char *srcs[] = { "/src" };
	bool contents[] = { true };
	struct stat st;

	(void)state;
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/sub/f", "data", 4, 0644), 0);
	snprintf(path, sizeof(path), "%s/dst", d);
	mkdir(path, 0755);
	snprintf(target, sizeof(target), "%s/elsewhere", d);
	mkdir(target, 0755);
	snprintf(path, sizeof(path), "%s/dst/sub", d);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/dst", d);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), -EIO);
	assert_int_equal(rep.nfailed, 1);
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/elsewhere/f", d);
	assert_int_not_equal(lstat(path, &st), 0);
	r->ops->destroy(r);
	rm_rf(d);
	free(d);
}

/* A read fails in the middle of a big file: reported, the part file is
 * kept with its complete prefix, and the next run reads only the rest. */
static void test_download_resume(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], *big = malloc(1 << 20), *got;
	const char *srcs[] = { "/big" };
	size_t len;
	struct stat st;

	(void)state;
	for (size_t i = 0; i < (1 << 20); i++)
		big[i] = (char)(i * 13 + 1);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_file(r, "/big", big, 1 << 20, 0644), 0);
	o.parallel = 1;
	o.chunk = 65536;
	remote_mem_fail_read(r, 6, -EIO);
	snprintf(path, sizeof(path), "%s/big", d);
	assert_int_equal(cp_download(r, &o, srcs, NULL, 1, path, &rep), -EIO);
	assert_int_equal(rep.nfailed, 1);
	cp_report_cleanup(&rep);
	assert_int_not_equal(stat(path, &st), 0); /* never a short file under the name */
	snprintf(path, sizeof(path), "%s/big.podfs-part", d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 5 * 65536);

	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/big", d);
	assert_int_equal(cp_download(r, &o, srcs, NULL, 1, path, &rep), 0);
	assert_int_equal(rep.resumed, 1);
	assert_int_equal(remote_mem_bytes_read(r), (1 << 20) - 5 * 65536);
	cp_report_cleanup(&rep);
	got = readf(path, &len);
	assert_int_equal(len, 1 << 20);
	assert_memory_equal(got, big, 1 << 20);
	free(got);
	snprintf(path, sizeof(path), "%s/big.podfs-part", d);
	assert_int_not_equal(stat(path, &st), 0);

	/* automatic retries: a failure in the first attempt is made good */
	remote_mem_fail_read(r, 3, -EIO);
	o.retries = 2;
	snprintf(path, sizeof(path), "%s/big2", d);
	assert_int_equal(cp_download(r, &o, srcs, NULL, 1, path, &rep), 0);
	assert_int_equal(rep.attempts, 2);
	cp_report_cleanup(&rep);
	got = readf(path, &len);
	assert_int_equal(len, 1 << 20);
	assert_memory_equal(got, big, 1 << 20);
	free(got);
	r->ops->destroy(r);
	free(big);
	rm_rf(d);
	free(d);
}

/* ---- upload against the in-memory remote ---- */

static void test_upload_tree(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], *big = malloc(3 << 20);
	const char *srcs[1];
	void *data;
	size_t len;
	struct remote_attr a;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (char)(i * 31 + 7);
	snprintf(path, sizeof(path), "%s/up", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/up/sub", d);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/up/new\nline", d);
	f = fopen(path, "w");
	fputs("nl", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/up/sub/big", d);
	f = fopen(path, "w");
	fwrite(big, 1, 3 << 20, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/up/link", d);
	assert_int_equal(symlink("sub/big", path), 0);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst", 0755), 0);
	snprintf(path, sizeof(path), "%s/up", d);
	srcs[0] = path;
	o.chunk = 1 << 20;
	o.preserve = true;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 2);
	assert_int_equal(rep.links, 1);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/sub/big", &data, &len), 0);
	assert_int_equal(len, 3 << 20);
	assert_memory_equal(data, big, 3 << 20);
	free(data);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/new\nline", &data, &len), 0);
	assert_int_equal(len, 2);
	free(data);
	assert_int_equal(remote_mem_lstat(r, "/dst/up/sub", &a), 0);
	assert_int_equal(a.mode & 07777, 0750);
	assert_int_equal(r->ops->getattr(r, "/dst/up/sub/big.podfs-part", &a), -ENOENT);

	/* again: all complete, nothing written */
	remote_mem_reset_counts(r);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.skipped, 2);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE) + remote_mem_count(r, REMOTE_MEM_WOPEN), 0);
	cp_report_cleanup(&rep);
	r->ops->destroy(r);
	free(big);
	rm_rf(d);
	free(d);
}

static void put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Small files go up in write_many batches: at most 512 files and 1 MiB of
 * data each, content + mode + mtime in the one request; a second run
 * sends nothing. */
static void test_upload_batches(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], buf[300 << 10];
	const char *srcs[1];
	struct remote_attr a;
	struct stat lst;
	void *data;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/up", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/up/many", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/up/mid", d);
	mkdir(path, 0755);
	for (int i = 0; i < 600; i++) { /* 2 KiB each: 512 + 88 */
		memset(buf, 'a' + i % 26, 2048);
		snprintf(buf, 16, "file %d", i);
		snprintf(path, sizeof(path), "%s/up/many/f%03d", d, i);
		put(path, buf, 2048);
	}
	for (int i = 0; i < 5; i++) { /* 300 KiB each: 3 + 2 */
		memset(buf, '0' + i, sizeof(buf));
		snprintf(path, sizeof(path), "%s/up/mid/m%d", d, i);
		put(path, buf, sizeof(buf));
	}
	snprintf(path, sizeof(path), "%s/up/many/f007", d);
	chmod(path, 0600);
	assert_int_equal(stat(path, &lst), 0);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst", 0755), 0);
	/* directories that are there: batches per directory (a new tree
	 * goes whole: test_upload_tree) */
	assert_int_equal(remote_mem_add_dir(r, "/dst/up", 0755), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst/up/many", 0755), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst/up/mid", 0755), 0);
	snprintf(path, sizeof(path), "%s/up", d);
	srcs[0] = path;
	o.small = 400 << 10;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 605);
	assert_int_equal(rep.bytes, 600 * 2048 + 5 * sizeof(buf));
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 4);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_SETATTR), 3); /* the directories */
	assert_int_equal(remote_mem_get_data(r, "/dst/up/many/f599", &data, &len), 0);
	assert_int_equal(len, 2048);
	assert_memory_equal(data, "file 599", 9);
	free(data);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/mid/m4", &data, &len), 0);
	assert_int_equal(len, sizeof(buf));
	assert_int_equal(((char *)data)[len - 1], '4');
	free(data);
	assert_int_equal(remote_mem_lstat(r, "/dst/up/many/f007", &a), 0);
	{
		mode_t um = umask(0);

		umask(um);
		assert_int_equal(a.mode & 07777, 0600 & ~um); /* without -p: masked */
	}
	assert_int_equal(a.mtime.tv_sec, lst.st_mtim.tv_sec);
	assert_int_equal(a.mtime.tv_nsec, lst.st_mtim.tv_nsec);

	/* again: every file complete (size + mtime), nothing sent */
	remote_mem_reset_counts(r);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.skipped, 605);
	assert_int_equal(rep.files, 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 0);
	assert_int_equal(remote_mem_bytes_written(r), 0);
	cp_report_cleanup(&rep);

	/* one changed file: only it is sent, in a batch of one */
	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/up/many/f100", d);
	put(path, "changed", 7);
	snprintf(path, sizeof(path), "%s/up", d);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.files, 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	assert_int_equal(remote_mem_bytes_written(r), 7);
	cp_report_cleanup(&rep);

	/* -L: a symlink to a small file goes up as the file (in a batch) */
	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/up/many/lnk", d);
	assert_int_equal(symlink("f001", path), 0);
	snprintf(path, sizeof(path), "%s/up", d);
	o.follow = true;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.files, 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_lstat(r, "/dst/up/many/lnk", &a), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.size, 2048);
	o.follow = false;

	/* --no-batch: one by one */
	remote_mem_reset_counts(r);
	o.no_batch = true;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst2", &rep), 0);
	assert_int_equal(rep.files, 605);
	assert_int_equal(rep.links, 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 605);
	cp_report_cleanup(&rep);
	r->ops->destroy(r);
	rm_rf(d);
	free(d);
}

static bool failed_with(const struct cp_report *rep, const char *path_end, const char *what)
{
	for (size_t i = 0; i < rep->nfailed; i++) {
		size_t pl = strlen(rep->failed[i].path), el = strlen(path_end);

		if (pl >= el && !strcmp(rep->failed[i].path + pl - el, path_end) && strstr(rep->failed[i].what, what))
			return true;
	}
	return false;
}

/* A file the batch did not store is redone one by one: the report has
 * its precise errno, the other files are in; a pod symlink at a name is
 * replaced, never written through; -p stamps times and owner after the
 * batch; a batch refused as a whole falls back for all its files. */
/* A directory the pod does not have goes up whole: directories and small
 * files in a few write_many calls (4,096 entries each), big files,
 * symlinks and deep directories after the batch that makes their
 * directory; every directory ends with its mode and mtime. */
static void set_time(const char *path, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void check_dir(struct remote *r, const char *rpath, const char *lpath)
{
	struct remote_attr a;
	struct stat st;
	mode_t um = umask(0);

	umask(um);
	assert_int_equal(stat(lpath, &st), 0);
	assert_int_equal(remote_mem_lstat(r, rpath, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.mode & 07777, st.st_mode & 0777 & ~um);
	assert_int_equal(a.mtime.tv_sec, st.st_mtim.tv_sec);
	assert_int_equal(a.mtime.tv_nsec, st.st_mtim.tv_nsec);
}

static void test_upload_new_tree(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[4096], rp[4096], buf[4096];
	const char *srcs[1];
	struct remote_attr a;
	void *data;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/t", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/t/a", d);
	mkdir(path, 0750);
	for (int i = 0; i < 5000; i++) { /* two batches: "a" is in both */
		snprintf(path, sizeof(path), "%s/t/a/f%04d", d, i);
		snprintf(buf, sizeof(buf), "file %d\n", i);
		put(path, buf, strlen(buf));
	}
	snprintf(path, sizeof(path), "%s/t/a/link", d);
	assert_int_equal(symlink("f0001", path), 0);
	snprintf(path, sizeof(path), "%s/t/b", d);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/t/b/big", d);
	memset(buf, 'B', sizeof(buf));
	put(path, buf, sizeof(buf)); /* > o.small: a big file, after the batch */
	snprintf(path, sizeof(path), "%s/t/ro", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/t/ro/in", d);
	put(path, "x", 1);
	/* 52 levels: deeper than one walk goes */
	snprintf(path, sizeof(path), "%s/t/deep", d);
	mkdir(path, 0755);
	for (int i = 0; i < 52; i++) {
		size_t l = strlen(path);

		snprintf(path + l, sizeof(path) - l, "/n");
		mkdir(path, 0755);
	}
	{
		size_t l = strlen(path);

		snprintf(path + l, sizeof(path) - l, "/leaf");
	}
	put(path, "leaf", 4);
	/* times last (making entries changes them) */
	snprintf(path, sizeof(path), "%s/t/ro", d);
	chmod(path, 0555);
	set_time(path, 1500000000, 5);
	snprintf(path, sizeof(path), "%s/t/a", d);
	set_time(path, 1400000000, 0);
	snprintf(path, sizeof(path), "%s/t/b", d);
	set_time(path, 1300000000, 7);
	snprintf(path, sizeof(path), "%s/t", d);
	set_time(path, 1200000000, 9);

	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst", 0755), 0);
	srcs[0] = path;
	o.small = 1024;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 5003);
	assert_int_equal(rep.links, 1);
	cp_report_cleanup(&rep);
	/* 5,000 + 58 entries: 2 batches, and 1 for the deep rest */
	assert_true(remote_mem_count(r, REMOTE_MEM_WRITE_MANY) <= 4);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_MKDIR), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 1); /* big's part file */
	assert_true(remote_mem_count(r, REMOTE_MEM_SETATTR) <= 8);
	assert_int_equal(remote_mem_get_data(r, "/dst/t/a/f4999", &data, &len), 0);
	assert_int_equal(len, strlen("file 4999\n"));
	assert_memory_equal(data, "file 4999\n", len);
	free(data);
	assert_int_equal(remote_mem_get_data(r, "/dst/t/b/big", &data, &len), 0);
	assert_int_equal(len, sizeof(buf));
	assert_memory_equal(data, buf, len);
	free(data);
	assert_int_equal(remote_mem_lstat(r, "/dst/t/a/link", &a), 0);
	assert_true(S_ISLNK(a.mode));
	{
		size_t l = (size_t)snprintf(rp, sizeof(rp), "/dst/t/deep");

		for (int i = 0; i < 52; i++)
			l += (size_t)snprintf(rp + l, sizeof(rp) - l, "/n");
		snprintf(rp + l, sizeof(rp) - l, "/leaf");
	}
	assert_int_equal(remote_mem_get_data(r, rp, &data, &len), 0);
	assert_int_equal(len, 4);
	free(data);
	check_dir(r, "/dst/t", path);
	snprintf(path, sizeof(path), "%s/t/a", d);
	check_dir(r, "/dst/t/a", path);
	snprintf(path, sizeof(path), "%s/t/b", d);
	check_dir(r, "/dst/t/b", path);
	snprintf(path, sizeof(path), "%s/t/ro", d);
	check_dir(r, "/dst/t/ro", path);
	snprintf(path, sizeof(path), "%s/t/deep/n/n", d);
	check_dir(r, "/dst/t/deep/n/n", path);

	/* again: the tree is there now, nothing is sent */
	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/t", d);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 0);
	assert_int_equal(remote_mem_bytes_written(r), 0);
	cp_report_cleanup(&rep);

	/* a file the batch cannot store is done one by one: the report has
	 * its precise errno, the others are stored */
	remote_mem_reset_counts(r);
	assert_int_equal(remote_mem_add_dir(r, "/dst2", 0755), 0);
	assert_int_equal(remote_mem_set_error_ops(r, "/dst2/t/a/f0003",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE_MANY) |
							  REMOTE_MEM_OPMASK(REMOTE_MEM_CREATE),
						  -EDQUOT),
			 0);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst2", &rep), -EIO);
	assert_int_equal(rep.nfailed, 1);
	assert_true(failed_with(&rep, "/dst2/t/a/f0003", strerror(EDQUOT)));
	assert_int_equal(rep.files, 5002);
	cp_report_cleanup(&rep);
	check_dir(r, "/dst2/t/a", (snprintf(path, sizeof(path), "%s/t/a", d), path));
	r->ops->destroy(r);
	snprintf(path, sizeof(path), "%s/t/ro", d);
	chmod(path, 0755);
	rm_rf(d);
	free(d);
}

static void test_upload_batch_fallback(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], src[512], data2k[2048];
	const char *srcs[] = { src };
	struct remote_attr a;
	struct stat lst;
	void *got;
	size_t len;

	(void)state;
	memset(data2k, 'q', sizeof(data2k));
	snprintf(path, sizeof(path), "%s/up", d);
	mkdir(path, 0755);
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/up/f%d", d, i);
		put(path, data2k, sizeof(data2k));
	}
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_file(r, "/dst/up/victim", "keep", 4, 0644), 0);
	assert_int_equal(remote_mem_add_symlink(r, "/dst/up/f2", "victim"), 0);
	assert_int_equal(remote_mem_add_fifo(r, "/dst/up/f3", 0644), 0);
	/* f1: refused by the batch and by create */
	assert_int_equal(remote_mem_set_error_ops(r, "/dst/up/f1",
						  REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE_MANY) |
							  REMOTE_MEM_OPMASK(REMOTE_MEM_CREATE),
						  -EACCES),
			 0);
	/* f4: refused by the batch only: the one-by-one way stores it */
	assert_int_equal(remote_mem_set_error_ops(r, "/dst/up/f4", REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE_MANY), -EIO),
			 0);
	snprintf(src, sizeof(src), "%s/up", d);
	o.preserve = true;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), -EIO);
	assert_int_equal(rep.nfailed, 1);
	assert_true(failed_with(&rep, "/dst/up/f1", strerror(EACCES)));
	assert_int_equal(rep.files, 5);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 2); /* f1, f4 */
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_UNLINK), 2); /* f2, f3 */
	assert_int_equal(remote_mem_get_data(r, "/dst/up/victim", &got, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(got, "keep", 4);
	free(got);
	for (int i = 2; i < 6; i++) {
		char rp[64];

		snprintf(rp, sizeof(rp), "/dst/up/f%d", i);
		assert_int_equal(remote_mem_lstat(r, rp, &a), 0);
		assert_true(S_ISREG(a.mode));
		assert_int_equal(a.size, 2048);
		snprintf(path, sizeof(path), "%s/up/f%d", d, i);
		assert_int_equal(stat(path, &lst), 0);
		assert_int_equal(a.mode & 07777, lst.st_mode & 07777);
		assert_int_equal(a.mtime.tv_sec, lst.st_mtim.tv_sec);
		assert_int_equal(a.mtime.tv_nsec, lst.st_mtim.tv_nsec);
		assert_int_equal(a.atime.tv_sec, lst.st_atim.tv_sec); /* -p */
	}

	/* no room for all: the batch stores what fits, the rest is
	 * redone one by one and reported with ENOSPC */
	r->ops->destroy(r);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst", 0755), 0);
	remote_mem_set_space(r, 3 * 2048 + 100);
	o.preserve = false;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), -EIO);
	assert_int_equal(rep.files, 3);
	assert_int_equal(rep.nfailed, 3);
	for (size_t i = 0; i < rep.nfailed; i++)
		assert_non_null(strstr(rep.failed[i].what, strerror(ENOSPC)));
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 3);

	/* the whole batch refused (its directory): every file one by one */
	r->ops->destroy(r);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst/up", 0755), 0);
	assert_int_equal(remote_mem_set_error_ops(r, "/dst/up", REMOTE_MEM_OPMASK(REMOTE_MEM_WRITE_MANY), -EIO), 0);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.files, 6);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE_MANY), 1);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CREATE), 6);
	r->ops->destroy(r);
	rm_rf(d);
	free(d);
}

/* ---- --checksum ---- */

/* Overwrite local PATH with LEN bytes of DATA, keeping its mtime. */
static void put_keep_mtime(const char *path, const void *data, size_t len)
{
	struct stat st;
	struct timespec ts[2];

	assert_int_equal(stat(path, &st), 0);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	put(path, data, len);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void assert_file(const char *path, const void *data, size_t len)
{
	size_t n;
	char *got = readf(path, &n);

	assert_non_null(got);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
}

/* Same size and mtime, other bytes: skipped by default, copied again
 * with --checksum (small and big files); equal content is skipped with
 * --checksum without reading any data. */
static void test_download_checksum(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], bpath[512], *big = malloc(300000), *other = malloc(300000);
	const char *srcs[] = { "/src" };
	bool contents[] = { true };

	(void)state;
	for (size_t i = 0; i < 300000; i++)
		big[i] = other[i] = (char)(i * 11 + 3);
	other[150000] ^= 1;
	assert_int_equal(remote_mem_new(&r), 0);
	remote_mem_enable_read_many(r);
	assert_int_equal(remote_mem_add_file(r, "/src/small", "hello", 5, 0644), 0);
	assert_int_equal(remote_mem_add_file(r, "/src/big", big, 300000, 0644), 0);
	o.chunk = 65536;
	snprintf(path, sizeof(path), "%s/out", d);
	mkdir(path, 0755);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), 0);
	assert_int_equal(rep.files, 2);
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/out/small", d);
	snprintf(bpath, sizeof(bpath), "%s/out/big", d);
	put_keep_mtime(path, "jello", 5);
	put_keep_mtime(bpath, other, 300000);

	/* size + mtime: both look complete */
	snprintf(path, sizeof(path), "%s/out", d);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), 0);
	assert_int_equal(rep.skipped, 2);
	assert_int_equal(rep.files, 0);
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/out/small", d);
	assert_file(path, "jello", 5);

	/* --checksum: both copied again */
	o.checksum = true;
	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/out", d);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.skipped, 0);
	assert_int_equal(rep.files, 2);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CHECKSUM), 2);
	cp_report_cleanup(&rep);
	snprintf(path, sizeof(path), "%s/out/small", d);
	assert_file(path, "hello", 5);
	assert_file(bpath, big, 300000);

	/* --checksum again: equal, skipped, no data read */
	remote_mem_reset_counts(r);
	snprintf(path, sizeof(path), "%s/out", d);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), 0);
	assert_int_equal(rep.skipped, 2);
	assert_int_equal(rep.files, 0);
	assert_int_equal(rep.bytes, 0);
	assert_int_equal(remote_mem_bytes_read(r), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_READ) + remote_mem_count(r, REMOTE_MEM_READ_MANY), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CHECKSUM), 2);
	cp_report_cleanup(&rep);

	/* equal content, another mtime: still skipped with --checksum */
	assert_int_equal(remote_mem_set_mtime(r, "/src/small", 1500000000, 0), 0);
	assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), 0);
	assert_int_equal(rep.skipped, 2);
	cp_report_cleanup(&rep);

	/* a remote without checksums: -ENOTSUP, the same-size file left
	 * alone, a file of another size still copied */
	{
		struct remote wrapped;
		struct remote_ops ops = *r->ops;

		ops.checksum = NULL;
		wrapped.ops = &ops;
		wrapped.priv = r->priv;
		snprintf(path, sizeof(path), "%s/out/small", d);
		put_keep_mtime(path, "jello", 5);
		put_keep_mtime(bpath, "short", 5);
		snprintf(path, sizeof(path), "%s/out", d);
		assert_int_equal(cp_download(&wrapped, &o, srcs, contents, 1, path, &rep), -ENOTSUP);
		assert_int_equal(rep.files, 1);
		cp_report_cleanup(&rep);
		snprintf(path, sizeof(path), "%s/out/small", d);
		assert_file(path, "jello", 5);
		assert_file(bpath, big, 300000);
		/* the pod's tool is missing: the op says -ENOTSUP */
		assert_int_equal(remote_mem_set_error(r, "/src/small", -ENOTSUP), 0);
		snprintf(path, sizeof(path), "%s/out", d);
		assert_int_equal(cp_download(r, &o, srcs, contents, 1, path, &rep), -ENOTSUP);
		cp_report_cleanup(&rep);
		assert_int_equal(remote_mem_set_error(r, "/src/small", 0), 0);
	}
	r->ops->destroy(r);
	free(big);
	free(other);
	rm_rf(d);
	free(d);
}

/* The same going up: the pod's copy changed in place (same size and
 * mtime) is rewritten only with --checksum. */
static void test_upload_checksum(void **state)
{
	struct remote *r;
	struct cp_report rep;
	struct cp_opts o = quiet_opts();
	char *d = mkscratch(), path[512], *big = malloc(3 << 20);
	const char *srcs[1];
	struct remote_attr a;
	void *data;
	size_t len;

	(void)state;
	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (char)(i * 5 + 1);
	snprintf(path, sizeof(path), "%s/up", d);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/up/small", d);
	put(path, "hello", 5);
	snprintf(path, sizeof(path), "%s/up/big", d);
	put(path, big, 3 << 20);
	assert_int_equal(remote_mem_new(&r), 0);
	assert_int_equal(remote_mem_add_dir(r, "/dst", 0755), 0);
	snprintf(path, sizeof(path), "%s/up", d);
	srcs[0] = path;
	o.chunk = 1 << 20;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.files, 2);
	cp_report_cleanup(&rep);
	/* change the pod's copies in place, keeping size and mtime */
	assert_int_equal(remote_mem_lstat(r, "/dst/up/small", &a), 0);
	assert_int_equal(remote_mem_set_data(r, "/dst/up/small", "jello", 5), 0);
	assert_int_equal(remote_mem_set_mtime(r, "/dst/up/small", a.mtime.tv_sec, a.mtime.tv_nsec), 0);
	assert_int_equal(remote_mem_lstat(r, "/dst/up/big", &a), 0);
	big[1000] ^= 1;
	assert_int_equal(remote_mem_set_data(r, "/dst/up/big", big, 3 << 20), 0);
	big[1000] ^= 1;
	assert_int_equal(remote_mem_set_mtime(r, "/dst/up/big", a.mtime.tv_sec, a.mtime.tv_nsec), 0);

	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.skipped, 2);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/small", &data, &len), 0);
	assert_memory_equal(data, "jello", 5);
	free(data);

	o.checksum = true;
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.files, 2);
	cp_report_cleanup(&rep);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/small", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(remote_mem_get_data(r, "/dst/up/big", &data, &len), 0);
	assert_int_equal(len, 3 << 20);
	assert_memory_equal(data, big, 3 << 20);
	free(data);

	/* again: equal, nothing written */
	remote_mem_reset_counts(r);
	assert_int_equal(cp_upload(r, &o, srcs, NULL, 1, "/dst", &rep), 0);
	assert_int_equal(rep.skipped, 2);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_CHECKSUM), 2);
	assert_int_equal(remote_mem_bytes_written(r), 0);
	assert_int_equal(remote_mem_count(r, REMOTE_MEM_WRITE) + remote_mem_count(r, REMOTE_MEM_WOPEN) +
				 remote_mem_count(r, REMOTE_MEM_WRITE_MANY),
			 0);
	cp_report_cleanup(&rep);
	r->ops->destroy(r);
	free(big);
	rm_rf(d);
	free(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_remote_path),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_checksum),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_download_tree),
		cmocka_unit_test(test_download_hostile_listing),
		cmocka_unit_test(test_download_no_follow_local),
		cmocka_unit_test(test_download_resume),
		cmocka_unit_test(test_upload_tree),
		cmocka_unit_test(test_upload_batches),
		cmocka_unit_test(test_upload_new_tree),
		cmocka_unit_test(test_upload_batch_fallback),
		cmocka_unit_test(test_download_checksum),
		cmocka_unit_test(test_upload_checksum),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
