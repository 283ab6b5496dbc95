/* backend_write_test.c: the modifying operations of helper/backend.c
 * against a kube-sim pod, each checked on the container's rootfs on disk.
 *
 *   backend_write_test POD ROOTFS
 *
 * Works in /srv/w (made fresh) with hostile names; ENOSPC on the "small"
 * pod's /data (4 MiB tmpfs) when ROOTFS has it; exit 0 when all is well.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "kclient.h"
#include "kubeconfig.h"

static int failures, checks;
static const char *rootfs, *pod;
static struct remote *rem;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);            \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static const char *disk(const char *path)
{
	static char b[8192];

	snprintf(b, sizeof(b), "%s%s", rootfs, path);
	return b;
}

static int disk_lstat(const char *path, struct stat *st)
{
	return lstat(disk(path), st);
}

static char *disk_read(const char *path, size_t *len)
{
	int fd = open(disk(path), O_RDONLY);
	struct stat st;
	char *p = NULL;

	*len = 0;
	if (fd < 0 || fstat(fd, &st) || !(p = malloc((size_t)st.st_size + 1)) ||
	    read(fd, p, (size_t)st.st_size) != st.st_size) {
		if (fd >= 0)
			close(fd);
		free(p);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void names_round(const char *dir, const char *name)
{
	char p[4096], q[4096], t[4096];
	struct remote_attr a;
	struct stat st;
	size_t len;
	static const char data[] = "x\0y'%\\\n$(touch /PWNED)";

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(q, sizeof(q), "%s/%s.renamed", dir, name);
	if (strlen(name) > 240)
		snprintf(q, sizeof(q), "%s/R%s", dir, name + 1); /* stay within 255 bytes */
	CHECK(rem->ops->create(rem, p, 0640, REMOTE_CREATE_EXCL, &a) == 0, "create %s", name);
	CHECK(S_ISREG(a.mode) && (a.mode & 07777) == 0640 && a.size == 0, "create %s attrs %o", name, a.mode);
	CHECK(disk_lstat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "create %s on disk", name);
	CHECK(rem->ops->create(rem, p, 0600, REMOTE_CREATE_EXCL, NULL) == -EEXIST, "create EXCL %s again", name);
	CHECK(rem->ops->write(rem, p, 3, data, sizeof(data)) == (ssize_t)sizeof(data), "write %s", name);
	char *got = disk_read(p, &len);

	CHECK(got && len == 3 + sizeof(data) && !memcmp(got, "\0\0\0", 3) && !memcmp(got + 3, data, sizeof(data)),
	      "write %s content (%zu bytes)", name, len);
	free(got);
	CHECK(rem->ops->rename(rem, p, q, 0) == 0, "rename %s", name);
	CHECK(disk_lstat(p, &st) != 0 && disk_lstat(q, &st) == 0, "rename %s on disk", name);
	snprintf(t, sizeof(t), "%s/l-%.200s", dir, name);
	CHECK(rem->ops->symlink(rem, name, t, &a) == 0 && S_ISLNK(a.mode), "symlink to %s", name);
	char target[4096];
	ssize_t tl = readlink(disk(t), target, sizeof(target));

	CHECK(tl == (ssize_t)strlen(name) && !memcmp(target, name, (size_t)tl), "symlink target %s", name);
	CHECK(rem->ops->unlink(rem, t) == 0 && disk_lstat(t, &st) != 0, "unlink symlink of %s", name);
	CHECK(rem->ops->unlink(rem, q) == 0 && disk_lstat(q, &st) != 0, "unlink %s", name);
	CHECK(rem->ops->mkdir(rem, p, 0750, &a) == 0 && S_ISDIR(a.mode) && (a.mode & 07777) == 0750, "mkdir %s", name);
	CHECK(rem->ops->rmdir(rem, p) == 0 && disk_lstat(p, &st) != 0, "rmdir %s", name);
}

/* write_many where every name is new or a regular file: one tar on GNU
 * pods (the batch above, with a symlink in it, took the printf path),
 * the printf path elsewhere; both must give the same files. */
/* write_many of many files (a streamed archive on pods with GNU tar, else
 * requests), with hostile names; then again with a symlink among them
 * (never written through: the batch goes the careful way). */
static void many_lots(void)
{
	enum { N = 300 };
	struct remote_wfile wf[N];
	char names[N][64], data[N][40];
	int errs[N];
	struct stat st;
	size_t len;

	CHECK(rem->ops->mkdir(rem, "/srv/w/lots", 0755, NULL) == 0, "mkdir lots");
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), i % 7 == 0 ? "-n'%d $(touch PWNED)\n" : "f%03d", i);
		snprintf(data[i], sizeof(data[i]), "content %d\n", i);
		wf[i] = (struct remote_wfile){ .name = names[i], .mode = i % 2 ? 0600 : 0755, .data = data[i],
					       .len = strlen(data[i]), .set_mtime = true,
					       .mtime = { 1500000000 + i, 0 } };
	}
	CHECK(rem->ops->write_many(rem, "/srv/w/lots", wf, N, errs) == 0, "write_many of %d files", N);
	for (int i = 0; i < N; i++) {
		char path[128];
		char *got;

		snprintf(path, sizeof(path), "/srv/w/lots/%s", names[i]);
		CHECK(errs[i] == 0, "lots %d stored", i);
		got = disk_read(path, &len);
		CHECK(got && len == strlen(data[i]) && !memcmp(got, data[i], len), "lots %d content", i);
		free(got);
		CHECK(disk_lstat(path, &st) == 0 && (st.st_mode & 07777) == (i % 2 ? 0600u : 0755u) &&
			      st.st_mtim.tv_sec == 1500000000 + i,
		      "lots %d mode and mtime", i);
	}
	/* a symlink among them: nothing written through it */
	CHECK(rem->ops->symlink(rem, "/etc/hostname-target", "/srv/w/lots/f001", NULL) == 0 ||
		      (rem->ops->unlink(rem, "/srv/w/lots/f001") == 0 &&
		       rem->ops->symlink(rem, "/etc/hostname-target", "/srv/w/lots/f001", NULL) == 0),
	      "symlink in lots");
	CHECK(rem->ops->write_many(rem, "/srv/w/lots", wf, N, errs) == 0, "write_many again");
	CHECK(errs[1] != 0, "the symlink is refused");
	CHECK(disk_lstat("/etc/hostname-target", &st) != 0, "nothing written through the symlink");
	CHECK(errs[2] == 0 && errs[3] == 0, "the other files still stored");
}

/* write_many of a whole new tree: directory entries and files below them
 * (hostile names at every level), with N entries (a streamed archive on
 * GNU pods when N is large, requests otherwise). A directory's mode
 * (read-only here) and mtime are set after its files; a directory entry
 * where a symlink is, is refused and nothing goes through it. */
static void many_tree(const char *top, int nfiles)
{
	enum { MAXF = 400 };
	static const char *dirs[] = { "", "/-d $(touch PWNED)", "/-d $(touch PWNED)/sub\nnl", "/ro" };
	struct remote_wfile wf[MAXF + 8];
	char names[MAXF + 8][160], data[MAXF][32], path[1024];
	int errs[MAXF + 8], n = 0;
	struct stat st;
	size_t len;
	const char *base = strrchr(top, '/') + 1;
	char parent[256];

	snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(top, '/') - top), top);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		snprintf(names[n], sizeof(names[n]), "%s%s", base, dirs[d]);
		wf[n] = (struct remote_wfile){ .name = names[n], .type = S_IFDIR, .mode = d == 3 ? 0555 : 0750,
					       .set_mtime = true, .mtime = { 1400000000 + (time_t)d, 0 } };
		n++;
	}
	for (int i = 0; i < nfiles; i++) {
		snprintf(names[n], sizeof(names[n]), "%s%s/%s%03d", base, dirs[i % 4], i % 5 ? "f" : "-x'\n", i);
		snprintf(data[i], sizeof(data[i]), "tree %d\n", i);
		wf[n] = (struct remote_wfile){ .name = names[n], .mode = 0640, .data = data[i], .len = strlen(data[i]),
					       .set_mtime = true, .mtime = { 1500000000 + i, 0 } };
		n++;
	}
	CHECK(rem->ops->write_many(rem, parent, wf, (size_t)n, errs) == 0, "write_many of a tree of %d", n);
	for (int i = 0; i < n; i++) {
		char *got;

		snprintf(path, sizeof(path), "%s/%.159s", parent, names[i]);
		CHECK(errs[i] == 0, "tree entry %s stored", names[i]);
		if (wf[i].type == S_IFDIR) {
			CHECK(disk_lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
				      (st.st_mode & 07777) == wf[i].mode && st.st_mtim.tv_sec == wf[i].mtime.tv_sec,
			      "tree dir %s mode %o mtime %ld", names[i], st.st_mode & 07777, (long)st.st_mtim.tv_sec);
			continue;
		}
		got = disk_read(path, &len);
		CHECK(got && len == wf[i].len && !memcmp(got, wf[i].data, len), "tree file %s content", names[i]);
		free(got);
		CHECK(disk_lstat(path, &st) == 0 && (st.st_mode & 07777) == 0640 &&
			      st.st_mtim.tv_sec == wf[i].mtime.tv_sec,
		      "tree file %s mode and mtime", names[i]);
	}
	/* again over what is there (kept, rewritten), and with a symlink where
	 * a directory goes: refused, nothing written through it */
	snprintf(path, sizeof(path), "%s/%s/ro", parent, base);
	chmod(disk(path), 0755);
	CHECK(rem->ops->rmdir(rem, path) != 0, "ro is not empty");
	snprintf(path, sizeof(path), "%s/%s-victim", parent, base);
	CHECK(rem->ops->mkdir(rem, path, 0755, NULL) == 0, "victim dir");
	snprintf(path, sizeof(path), "%s/%s/-d $(touch PWNED)/sub\nnl", parent, base);
	char moved[1200];

	snprintf(moved, sizeof(moved), "%s.moved", path);
	CHECK(rem->ops->rename(rem, path, moved, 0) == 0, "move sub away");
	snprintf(moved, sizeof(moved), "%s/%s-victim", parent, base);
	CHECK(rem->ops->symlink(rem, moved, path, NULL) == 0, "symlink where sub was");
	CHECK(rem->ops->write_many(rem, parent, wf, (size_t)n, errs) == 0, "write_many of the tree again");
	CHECK(errs[2] != 0, "the directory entry on a symlink is refused");
	CHECK(errs[0] == 0 && errs[1] == 0, "the other directories are fine");
	snprintf(path, sizeof(path), "%s/%s-victim", parent, base);
	DIR *dp = opendir(disk(path));
	int count = 0;

	for (struct dirent *de; dp && (de = readdir(dp));)
		count += de->d_name[0] != '.';
	if (dp)
		closedir(dp);
	CHECK(count == 0, "nothing written through the symlink (%d entries in its target)", count);
	CHECK(disk_lstat("/PWNED", &st) != 0 && disk_lstat("/srv/w/PWNED", &st) != 0, "no command ran");
}

static void many_regular(void)
{
	static const char bin[] = "\0\1-'%s\\\n$(x)\377";
	char n255[256], n101[102], nl[200];
	struct stat st, before;
	char *got;
	size_t len;
	int rc;
	bool gnu = strcmp(pod, "gnu") == 0;
	time_t now = time(NULL);

	memset(n255, 'z', 255);
	n255[255] = '\0';
	memset(n101, 'y', 101);
	n101[101] = '\0';
	snprintf(nl, sizeof(nl), "%s", "long 'q' \"dq\" \xff\xfe new\nline -- $(touch PWNED) `touch PWNED` ");
	size_t nll = strlen(nl);

	if (nll < 150) {
		memset(nl + nll, 'x', 150 - nll);
		nl[150] = '\0';
	}
	CHECK(rem->ops->mkdir(rem, "/srv/w/many2", 0755, NULL) == 0, "mkdir many2");
	CHECK(rem->ops->create(rem, "/srv/w/many2/old", 0600, 0, NULL) == 0 &&
		      rem->ops->write(rem, "/srv/w/many2/old", 0, "a long old content", 18) == 18,
	      "old file in many2");
	CHECK(disk_lstat("/srv/w/many2/old", &before) == 0, "lstat old");
	struct remote_wfile wf[] = {
		{ .name = "-rf", .mode = 0755, .data = bin, .len = sizeof(bin), .set_mtime = true,
		  .mtime = { 1400000000, 123456789 } },
		{ .name = "old", .mode = 0640, .data = "new", .len = 3, .set_mtime = true, .mtime = { 1500000000, 0 } },
		{ .name = "empty", .mode = 0600, .data = "", .len = 0, .set_mtime = true, .mtime = { 1300000000, 5 } },
		{ .name = "now", .mode = 0644, .data = "n", .len = 1 },
		{ .name = n255, .mode = 0600, .data = "255", .len = 3, .set_mtime = true, .mtime = { 1200000000, 0 } },
		{ .name = n101, .mode = 0600, .data = "101", .len = 3, .set_mtime = true, .mtime = { 1200000001, 0 } },
		{ .name = nl, .mode = 0700, .data = bin, .len = sizeof(bin) },
		{ .name = "it's $(touch PWNED)\n", .mode = 0444, .data = "q", .len = 1, .set_mtime = true,
		  .mtime = { 1100000000, 0 } },
	};
	int errs[8];

	rc = rem->ops->write_many(rem, "/srv/w/many2", wf, 8, errs);
	CHECK(rc == 0, "write_many regular: %d", rc);
	for (int i = 0; i < 8; i++) {
		char path[1024];
		bool ns = gnu; /* busybox touch takes whole seconds */

		snprintf(path, sizeof(path), "/srv/w/many2/%s", wf[i].name);
		CHECK(errs[i] == 0, "write_many regular file %d: %d", i, errs[i]);
		got = disk_read(path, &len);
		CHECK(got && len == wf[i].len && !memcmp(got, wf[i].data, len), "write_many regular content %d", i);
		free(got);
		CHECK(disk_lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == wf[i].mode,
		      "write_many regular mode %d: %o", i, (unsigned)st.st_mode);
		if (wf[i].set_mtime)
			CHECK(st.st_mtim.tv_sec == wf[i].mtime.tv_sec && (!ns || st.st_mtim.tv_nsec == wf[i].mtime.tv_nsec),
			      "write_many regular mtime %d: %lld.%09ld", i, (long long)st.st_mtim.tv_sec,
			      st.st_mtim.tv_nsec);
		else
			CHECK(st.st_mtim.tv_sec >= now - 5 && st.st_mtim.tv_sec <= time(NULL) + 5,
			      "write_many regular: time of writing %d: %lld", i, (long long)st.st_mtim.tv_sec);
	}
	CHECK(disk_lstat("/srv/w/many2/old", &st) == 0 && st.st_ino == before.st_ino,
	      "write_many rewrites an existing file in place");
	/* again over the files just written, mixed with a fifo: nothing may
	 * replace it, the others are still stored */
	CHECK(rem->ops->mknod(rem, "/srv/w/many2/fifo", S_IFIFO | 0600, 0, NULL) == 0, "fifo in many2");
	wf[2].name = "fifo";
	rc = rem->ops->write_many(rem, "/srv/w/many2", wf, 8, errs);
	CHECK(rc == 0 && errs[0] == 0 && errs[1] == 0 && errs[2] != 0 && errs[3] == 0, "write_many next to a fifo");
	CHECK(disk_lstat("/srv/w/many2/fifo", &st) == 0 && S_ISFIFO(st.st_mode), "... leaves the fifo");
}

static void ops_semantics(void)
{
	struct remote_attr a;
	struct remote_setattr sa = { 0 };
	struct stat st;
	char *got;
	size_t len;
	int rc;

	/* create variants */
	CHECK(rem->ops->create(rem, "/srv/w/f", 0644, 0, &a) == 0 && a.size == 0, "create");
	CHECK(rem->ops->write(rem, "/srv/w/f", 0, "hello", 5) == 5, "write");
	CHECK(rem->ops->create(rem, "/srv/w/f", 0600, 0, &a) == 0 && a.size == 5 && (a.mode & 0777) == 0644,
	      "create without TRUNC keeps data and mode");
	CHECK(rem->ops->create(rem, "/srv/w/f", 0600, REMOTE_CREATE_TRUNC, &a) == 0 && a.size == 0,
	      "create TRUNC empties");
	rc = rem->ops->create(rem, "/srv/w/nodir/f", 0644, 0, NULL);
	CHECK(rc == -ENOENT, "create in a missing dir: %d", rc);
	/* write: holes, growth, a missing file */
	CHECK(rem->ops->write(rem, "/srv/w/f", 1 << 20, "end", 3) == 3, "write past the end");
	CHECK(disk_lstat("/srv/w/f", &st) == 0 && st.st_size == (1 << 20) + 3, "sparse size");
	CHECK(rem->ops->write(rem, "/srv/w/missing", 0, "x", 1) == -ENOENT, "write to a missing file");
	CHECK(rem->ops->write(rem, "/srv/w", 0, "x", 1) == -EINVAL || rem->ops->write(rem, "/srv/w", 0, "x", 1) == -EISDIR,
	      "write to a directory");
	/* a big write through the requests (several chunks), all byte values */
	size_t big = 700 * 1024 + 13;
	unsigned char *buf = malloc(big);

	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)((i * 7919) >> 3);
	CHECK(rem->ops->create(rem, "/srv/w/big", 0644, REMOTE_CREATE_TRUNC, NULL) == 0, "create big");
	CHECK(rem->ops->write(rem, "/srv/w/big", 0, buf, big) == (ssize_t)big, "write big");
	got = disk_read("/srv/w/big", &len);
	CHECK(got && len == big && !memcmp(got, buf, big), "big content");
	free(got);
	/* write stream */
	struct remote_wstream *w = NULL;

	rc = rem->ops->wopen(rem, "/srv/w/stream", 0, &w);

	CHECK(rc == 0 || rc == -ENOTSUP, "wopen: %d", rc);
	if (rc == 0) {
		for (int i = 0; i < 10; i++)
			CHECK(rem->ops->wstream_write(w, buf, big) == (ssize_t)big, "wstream_write %d", i);
		CHECK(rem->ops->wstream_close(w) == 0, "wstream_close");
		got = disk_read("/srv/w/stream", &len);
		CHECK(got && len == 10 * big && !memcmp(got + 9 * big, buf, big), "stream content (%zu)", len);
		free(got);
		/* from an offset, keeping what lies beyond */
		CHECK(rem->ops->wopen(rem, "/srv/w/stream", 5, &w) == 0, "wopen at 5");
		CHECK(rem->ops->wstream_write(w, "XY", 2) == 2, "short stream");
		CHECK(rem->ops->wstream_close(w) == 0, "close short stream");
		got = disk_read("/srv/w/stream", &len);
		CHECK(got && len == 10 * big && got[5] == 'X' && got[6] == 'Y' && !memcmp(got + 7, buf + 7, 100),
		      "stream at an offset");
		free(got);
		/* into a directory that does not exist: the error, not silence */
		CHECK(rem->ops->wopen(rem, "/srv/w/nodir/x", 0, &w) == 0, "wopen nodir");
		rc = rem->ops->wstream_write(w, buf, 1000);
		int rc2 = rem->ops->wstream_close(w);

		CHECK(rc == -ENOENT || rc2 == -ENOENT, "stream into a missing dir: %d %d", rc, rc2);
	}
	free(buf);
	/* setattr */
	sa.valid = REMOTE_SET_MODE;
	sa.mode = 04711;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && (a.mode & 07777) == 04711, "chmod %o", a.mode);
	sa.valid = REMOTE_SET_UID | REMOTE_SET_GID;
	sa.uid = 1000;
	sa.gid = 1000;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && a.uid == 1000 && a.gid == 1000, "chown");
	CHECK(disk_lstat("/srv/w/f", &st) == 0 && st.st_uid == 1000, "chown on disk");
	sa.valid = REMOTE_SET_SIZE;
	sa.size = 3;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && a.size == 3, "truncate");
	sa.size = 5000000000ULL;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && a.size == 5000000000ULL, "truncate up past 4 GiB");
	sa.valid = REMOTE_SET_MTIME | REMOTE_SET_ATIME;
	sa.mtime.tv_sec = 1600000000;
	sa.mtime.tv_nsec = 123456789;
	sa.atime.tv_sec = 1500000000;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && a.mtime.tv_sec == 1600000000 &&
		      a.atime.tv_sec == 1500000000,
	      "utimens %lld", (long long)a.mtime.tv_sec);
	CHECK(disk_lstat("/srv/w/f", &st) == 0 && st.st_mtim.tv_sec == 1600000000, "mtime on disk");
	sa.valid = REMOTE_SET_MTIME_NOW;
	CHECK(rem->ops->setattr(rem, "/srv/w/f", &sa, &a) == 0 && a.mtime.tv_sec > 1700000000 &&
		      a.atime.tv_sec == 1500000000,
	      "UTIME_NOW for mtime, atime kept");
	CHECK(rem->ops->setattr(rem, "/srv/w/missing", &sa, NULL) == -ENOENT, "setattr of a missing file");
	/* symlink times, symlink mode */
	CHECK(rem->ops->symlink(rem, "/nonexistent", "/srv/w/dl", NULL) == 0, "dangling symlink");
	sa.valid = REMOTE_SET_MTIME;
	CHECK(rem->ops->setattr(rem, "/srv/w/dl", &sa, &a) == 0 && S_ISLNK(a.mode) && a.mtime.tv_sec == 1600000000,
	      "lutimes");
	sa.valid = REMOTE_SET_MODE;
	CHECK(rem->ops->setattr(rem, "/srv/w/dl", &sa, NULL) == -EOPNOTSUPP, "chmod of a symlink");
	/* unlink/rmdir errors */
	CHECK(rem->ops->mkdir(rem, "/srv/w/d", 0755, NULL) == 0, "mkdir d");
	CHECK(rem->ops->mkdir(rem, "/srv/w/d", 0755, NULL) == -EEXIST, "mkdir existing");
	CHECK(rem->ops->unlink(rem, "/srv/w/d") == -EISDIR, "unlink of a directory");
	CHECK(rem->ops->rmdir(rem, "/srv/w/f") == -ENOTDIR, "rmdir of a file");
	CHECK(rem->ops->unlink(rem, "/srv/w/nothing") == -ENOENT, "unlink missing");
	CHECK(rem->ops->create(rem, "/srv/w/d/inner", 0644, 0, NULL) == 0, "create inner");
	CHECK(rem->ops->rmdir(rem, "/srv/w/d") == -ENOTEMPTY || rem->ops->rmdir(rem, "/srv/w/d") == -EEXIST,
	      "rmdir of a non-empty directory");
	/* rename: POSIX rules */
	CHECK(rem->ops->mkdir(rem, "/srv/w/e", 0755, NULL) == 0, "mkdir e");
	CHECK(rem->ops->rename(rem, "/srv/w/e", "/srv/w/d", 0) == -ENOTEMPTY, "rename onto a non-empty dir");
	CHECK(rem->ops->mkdir(rem, "/srv/w/e2", 0755, NULL) == 0, "mkdir e2");
	CHECK(rem->ops->rename(rem, "/srv/w/e", "/srv/w/e2", 0) == 0, "rename onto an empty dir");
	CHECK(disk_lstat("/srv/w/e", &st) != 0 && disk_lstat("/srv/w/e2", &st) == 0 && S_ISDIR(st.st_mode) &&
		      disk_lstat("/srv/w/e2/e", &st) != 0,
	      "replaced, not moved inside");
	CHECK(rem->ops->rename(rem, "/srv/w/big", "/srv/w/e2", 0) == -EISDIR, "file onto a dir");
	CHECK(rem->ops->rename(rem, "/srv/w/e2", "/srv/w/big", 0) == -ENOTDIR, "dir onto a file");
	CHECK(rem->ops->rename(rem, "/srv/w/d", "/srv/w/d/inner2", 0) == -EINVAL, "dir into itself");
	CHECK(rem->ops->rename(rem, "/srv/w/nothing", "/srv/w/x", 0) == -ENOENT, "rename missing");
	CHECK(rem->ops->create(rem, "/srv/w/g", 0644, 0, NULL) == 0, "create g");
	CHECK(rem->ops->rename(rem, "/srv/w/g", "/srv/w/big", REMOTE_RENAME_NOREPLACE) == -EEXIST, "NOREPLACE");
	CHECK(rem->ops->rename(rem, "/srv/w/g", "/srv/w/big", REMOTE_RENAME_EXCHANGE) == -EINVAL, "EXCHANGE");
	CHECK(rem->ops->rename(rem, "/srv/w/g", "/srv/w/big", 0) == 0, "rename over a file");
	/* links */
	CHECK(rem->ops->link(rem, "/srv/w/big", "/srv/w/hard", &a) == 0 && a.nlink == 2, "link");
	CHECK(rem->ops->link(rem, "/srv/w/big", "/srv/w/hard", NULL) == -EEXIST, "link onto an existing name");
	CHECK(rem->ops->link(rem, "/srv/w/d", "/srv/w/dlink", NULL) == -EPERM, "link of a directory");
	CHECK(rem->ops->rename(rem, "/srv/w/big", "/srv/w/hard", 0) == 0, "rename of two links to one file");
	CHECK(disk_lstat("/srv/w/big", &st) == 0, "... leaves both");
	/* special files */
	CHECK(rem->ops->mknod(rem, "/srv/w/fifo", S_IFIFO | 0600, 0, &a) == 0 && S_ISFIFO(a.mode), "mkfifo");
	CHECK(rem->ops->mknod(rem, "/srv/w/reg", S_IFREG | 0600, 0, &a) == 0 && S_ISREG(a.mode), "mknod regular");
	CHECK(rem->ops->fsync(rem, "/srv/w/reg", 0) == 0 && rem->ops->fsync(rem, "/srv/w/reg", 1) == 0, "fsync");
	/* write_many: new files, a replaced one, a symlink and a directory
	 * that must not be written through, hostile names and bytes */
	CHECK(rem->ops->mkdir(rem, "/srv/w/many", 0755, NULL) == 0, "mkdir many");
	CHECK(rem->ops->symlink(rem, "/etc/passwd", "/srv/w/many/sl", NULL) == 0, "symlink in many");
	CHECK(rem->ops->mkdir(rem, "/srv/w/many/adir", 0755, NULL) == 0, "dir in many");
	CHECK(rem->ops->create(rem, "/srv/w/many/old", 0600, 0, NULL) == 0 &&
		      rem->ops->write(rem, "/srv/w/many/old", 0, "a long old content", 18) == 18,
	      "old file");
	static const char bin[] = "\0\1-'%s\\\n$(x)";
	struct remote_wfile wf[] = {
		{ .name = "a", .mode = 0640, .data = "alpha", .len = 5 },
		{ .name = "-rf", .mode = 0755, .data = bin, .len = sizeof(bin), .set_mtime = true,
		  .mtime = { 1400000000, 0 } },
		{ .name = "sl", .mode = 0644, .data = "evil", .len = 4 },
		{ .name = "adir", .mode = 0644, .data = "x", .len = 1 },
		{ .name = "old", .mode = 0644, .data = "new", .len = 3 },
		{ .name = "empty", .mode = 0600, .data = "", .len = 0 },
		{ .name = "it's $(touch PWNED)\n", .mode = 0600, .data = "q", .len = 1 },
	};
	int errs[7];

	rc = rem->ops->write_many(rem, "/srv/w/many", wf, 7, errs);
	CHECK(rc == 0, "write_many: %d", rc);
	CHECK(errs[0] == 0 && errs[1] == 0 && errs[4] == 0 && errs[5] == 0 && errs[6] == 0, "write_many ok files");
	CHECK(errs[2] != 0 && errs[3] != 0, "write_many refuses a symlink and a directory");
	got = disk_read("/srv/w/many/-rf", &len);
	CHECK(got && len == sizeof(bin) && !memcmp(got, bin, len), "write_many content");
	free(got);
	CHECK(disk_lstat("/srv/w/many/-rf", &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_mtim.tv_sec == 1400000000,
	      "write_many mode and mtime");
	got = disk_read("/srv/w/many/old", &len);
	CHECK(got && len == 3 && !memcmp(got, "new", 3), "write_many replaces");
	free(got);
	CHECK(disk_lstat("/srv/w/many/empty", &st) == 0 && st.st_size == 0, "write_many empty file");
	got = disk_read("/etc/passwd", &len);
	CHECK(got && (len < 4 || memcmp(got, "evil", 4)), "write_many did not write through the symlink");
	free(got);
	CHECK(rem->ops->write_many(rem, "/srv/w/nodir", wf, 1, errs) == -ENOENT, "write_many into a missing dir");
	many_regular();
	many_lots();
	many_tree("/srv/w/tree-small", 12); /* requests */
	many_tree("/srv/w/tree-big", 300);  /* a stream where GNU tar is */
}

int main(int argc, char **argv)
{
	struct kcfg_opts ko = { .use_process_env = true };
	struct kcfg *cfg;
	struct kclient *kc;
	char err[1024];
	struct stat st;

	if (argc != 3) {
		fprintf(stderr, "usage: backend_write_test POD ROOTFS\n");
		return 2;
	}
	rootfs = argv[2];
	pod = argv[1];
	if (kcfg_load(&ko, &cfg, err, sizeof(err)) || kclient_new(&kc, cfg, err, sizeof(err))) {
		fprintf(stderr, "backend_write_test: %s\n", err);
		return 1;
	}
	struct backend_opts o = { .ns = cfg->namespace, .pod = argv[1], .root = "/" };

	if (backend_new(&rem, kc, &o, err, sizeof(err))) {
		fprintf(stderr, "backend_write_test: %s\n", err);
		return 1;
	}
	CHECK(rem->ops->mkdir(rem, "/srv/w", 0755, NULL) == 0, "mkdir /srv/w");
	ops_semantics();
	char n255[256];

	memset(n255, 'n', 255);
	n255[255] = '\0';
	static const char *const names[] = { "with space", "it's", "new\nline", "$(touch PWNED)", "`touch PWNED`",
					     "-rf", "--", "*", "\xff\xfe", "back\\slash", "a\"b", "tab\t",
					     "%s%n", ".hidden", "-", NULL };
	for (int i = 0; names[i]; i++)
		names_round("/srv/w", names[i]);
	names_round("/srv/w", n255);
	CHECK(lstat(disk("/srv/w/PWNED"), &st) != 0 && lstat(disk("/PWNED"), &st) != 0, "no injected command ran");
	char *stats = rem->ops->stats(rem);

	printf("%s", stats ? stats : "");
	free(stats);
	rem->ops->destroy(rem);
	kclient_free(kc);
	kcfg_free(cfg);
	printf("backend_write_test: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
