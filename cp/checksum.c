/* checksum.c: --checksum, comparing a local file with a pod file by
 * SHA-256 (the local side with OpenSSL's EVP, the pod's with the
 * remote's checksum op) before a same-size destination is skipped.
 *
 * The first -ENOTSUP (the pod has no sha256sum, or the remote no
 * checksum op) is remembered in the job: no file is asked about again,
 * and cp_run_attempts makes the whole run -ENOTSUP. No locks (one atomic).
 */
#include "cp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define READ_SIZE (1u << 20)

int cp_local_sha256(int dirfd, const char *name, int oflags, char out[65])
{
	/* O_NONBLOCK: a fifo swapped in is refused below, not waited on */
	int fd = openat(dirfd, name, oflags | O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL;
	struct stat st;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	buf = malloc(READ_SIZE);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx) {
		rc = -ENOMEM;
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			rc = -EIO;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
		rc = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(fd);
	return rc;
}

int cp_same_content(struct cp_job *j, int dirfd, const char *name, int oflags, const char *rpath)
{
	char rsum[65], lsum[65];
	int rc;

	if (atomic_load(&j->no_checksum))
		return -ENOTSUP;
	cp_progress_set_current(&j->prog, rpath);
	rc = j->r->ops->checksum ? j->r->ops->checksum(j->r, rpath, rsum) : -ENOTSUP;
	if (rc == -ENOTSUP)
		atomic_store(&j->no_checksum, true);
	if (rc)
		return rc;
	rc = cp_local_sha256(dirfd, name, oflags, lsum);
	if (rc)
		return rc;
	return strcmp(rsum, lsum) == 0 ? 1 : 0;
}
