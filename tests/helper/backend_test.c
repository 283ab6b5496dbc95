/* backend_test.c: helper/backend.c (the real remote) against a kube-sim
 * pod, compared with the container's files on disk.
 *
 *   backend_test POD ROOTFS DIR
 *
 * Walks ROOTFS/DIR recursively on this machine and checks that the
 * backend shows the same names, types, modes, owners, sizes, inode
 * numbers, mtimes (seconds), symlink targets, file bytes and SHA-256
 * checksums (the checksum op against OpenSSL's). Exit 0 when everything
 * matches.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backend.h"
#include "kclient.h"
#include "kubeconfig.h"

static int failures, files, dirs;
static const char *rootfs;
static struct remote *rem;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL: ");                                      \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static void compare_attr(const char *path, const struct stat *st, const struct remote_attr *a)
{
	CHECK(a->mode == st->st_mode, "%s: mode %o vs %o", path, a->mode, st->st_mode);
	CHECK(a->uid == st->st_uid && a->gid == st->st_gid, "%s: owner", path);
	CHECK(S_ISDIR(st->st_mode) || a->size == (uint64_t)st->st_size, "%s: size %llu vs %lld", path,
	      (unsigned long long)a->size, (long long)st->st_size);
	CHECK(a->ino == st->st_ino, "%s: ino", path);
	CHECK(a->mtime.tv_sec == st->st_mtim.tv_sec, "%s: mtime", path);
	CHECK(a->nlink == st->st_nlink, "%s: nlink", path);
}

static void compare_content(const char *path, const char *disk, uint64_t size)
{
	int fd = open(disk, O_RDONLY);
	char *want = malloc(size + 1), *got = malloc(size + 1);
	uint64_t have = 0;

	if (fd < 0 || !want || !got || read(fd, want, size) != (ssize_t)size) {
		CHECK(0, "%s: cannot read the truth on disk", path);
		goto out;
	}
	/* Uneven pieces, to cross block boundaries. */
	while (have < size) {
		size_t piece = 100000 + (size_t)(have % 7);
		ssize_t n = rem->ops->read(rem, path, have, got + have, piece);

		if (n <= 0) {
			CHECK(0, "%s: read at %llu: %zd", path, (unsigned long long)have, n);
			goto out;
		}
		have += (uint64_t)n;
	}
	CHECK(!memcmp(want, got, size), "%s: content differs", path);
	CHECK(rem->ops->read(rem, path, size, got, 10) == 0, "%s: read at EOF is 0", path);
	{
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		char hex[65] = "", sum[65] = "";
		int rc = rem->ops->checksum(rem, path, sum);

		EVP_Digest(want, size, md, &mdlen, EVP_sha256(), NULL);
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		CHECK(rc == 0 && !strcmp(sum, hex), "%s: checksum %d '%s', want '%s'", path, rc, sum, hex);
	}
out:
	if (fd >= 0)
		close(fd);
	free(want);
	free(got);
}

static void walk(const char *path) /* path in the container, "/srv" */
{
	char disk[8192];
	struct remote_dirent *ents;
	size_t n;
	DIR *d;
	struct dirent *de;
	int on_disk = 0;

	snprintf(disk, sizeof(disk), "%s%s", rootfs, path);
	int rc = rem->ops->readdir(rem, path, &ents, &n);

	CHECK(rc == 0, "%s: readdir %d", path, rc);
	if (rc)
		return;
	dirs++;
	d = opendir(disk);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		on_disk++;
	}
	if (d)
		closedir(d);
	CHECK((size_t)on_disk == n, "%s: %zu entries, %d on disk", path, n, on_disk);
	for (size_t i = 0; i < n; i++) {
		char child[8192], cdisk[8192];
		struct stat st;
		struct remote_attr a;

		snprintf(child, sizeof(child), "%s/%s", path, ents[i].name);
		snprintf(cdisk, sizeof(cdisk), "%s%s", rootfs, child);
		if (lstat(cdisk, &st)) {
			CHECK(0, "%s: listed but not on disk", child);
			continue;
		}
		compare_attr(child, &st, &ents[i].attr);
		CHECK(rem->ops->getattr(rem, child, &a) == 0, "%s: getattr", child);
		compare_attr(child, &st, &a);
		if (S_ISDIR(st.st_mode)) {
			walk(child);
		} else if (S_ISREG(st.st_mode)) {
			files++;
			if (st.st_mode & 0444)
				compare_content(child, cdisk, (uint64_t)st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			char want[4096] = "", *got = NULL;
			ssize_t l = readlink(cdisk, want, sizeof(want) - 1);

			CHECK(l >= 0 && rem->ops->readlink(rem, child, &got) == 0 && got && !strcmp(got, want),
			      "%s: readlink", child);
			free(got);
		}
	}
	remote_dirents_free(ents, n);
}

int main(int argc, char **argv)
{
	struct kcfg_opts ko = { .use_process_env = true };
	struct kcfg *cfg;
	struct kclient *kc;
	char err[1024];
	struct remote_attr a;
	struct statvfs sv;
	char *t = NULL, buf[16];

	if (argc != 4) {
		fprintf(stderr, "usage: backend_test POD ROOTFS DIR\n");
		return 2;
	}
	rootfs = argv[2];
	if (kcfg_load(&ko, &cfg, err, sizeof(err)) || kclient_new(&kc, cfg, err, sizeof(err))) {
		fprintf(stderr, "backend_test: %s\n", err);
		return 1;
	}
	struct backend_opts o = { .ns = cfg->namespace, .pod = argv[1], .root = "/" };

	if (backend_new(&rem, kc, &o, err, sizeof(err))) {
		fprintf(stderr, "backend_test: %s\n", err);
		return 1;
	}
	walk(argv[3]);
	CHECK(rem->ops->getattr(rem, "/no/such/file", &a) == -ENOENT, "getattr of a missing path is ENOENT");
	CHECK(rem->ops->getattr(rem, "/etc/passwd/x", &a) == -ENOTDIR, "getattr through a file is ENOTDIR");
	CHECK(rem->ops->read(rem, "/no/such", 0, buf, sizeof(buf)) == -ENOENT, "read of a missing file is ENOENT");
	CHECK(rem->ops->readlink(rem, "/etc/passwd", &t) == -EINVAL, "readlink of a file is EINVAL");
	CHECK(rem->ops->readlink(rem, "/no/such", &t) == -ENOENT, "readlink of a missing path is ENOENT");
	CHECK(rem->ops->statfs(rem, "/", &sv) == 0 && sv.f_bsize > 0, "statfs");
	{
		char sum[65], disk[8192], fifo[4096];
		struct stat fst;

		CHECK(rem->ops->checksum(rem, "/no/such", sum) == -ENOENT, "checksum of a missing file is ENOENT");
		CHECK(rem->ops->checksum(rem, "/etc", sum) == -EISDIR, "checksum of a directory is EISDIR");
		snprintf(fifo, sizeof(fifo), "%s/hostile/fifo", argv[3]);
		snprintf(disk, sizeof(disk), "%s%s", rootfs, fifo);
		if (lstat(disk, &fst) == 0 && S_ISFIFO(fst.st_mode))
			CHECK(rem->ops->checksum(rem, fifo, sum) == -EINVAL, "checksum of a fifo is EINVAL (no hang)");
	}
	char *stats = rem->ops->stats(rem);

	printf("%s", stats ? stats : "");
	free(stats);
	rem->ops->destroy(rem);
	/* A subdirectory as the root; and a root that is a file. */
	o.root = argv[3];
	CHECK(backend_new(&rem, kc, &o, err, sizeof(err)) == 0, "root %s: %s", argv[3], err);
	if (rem) {
		CHECK(rem->ops->getattr(rem, "/", &a) == 0 && S_ISDIR(a.mode), "the root's attributes");
		rem->ops->destroy(rem);
	}
	o.root = "/etc/passwd";
	CHECK(backend_new(&rem, kc, &o, err, sizeof(err)) == -ENOTDIR, "a file as the root: %s", err);
	o.pod = "noshell";
	o.root = "/";
	CHECK(backend_new(&rem, kc, &o, err, sizeof(err)) != 0 && strstr(err, "shell"), "noshell: %s", err);
	printf("noshell: %s\n", err);
	kclient_free(kc);
	kcfg_free(cfg);
	printf("backend_test: %d dirs, %d files compared, %d failures\n", dirs, files, failures);
	return failures ? 1 : 0;
}
