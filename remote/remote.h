/* remote.h: the seam between the filesystem (fs/) and the pod.
 *
 * Operations on paths below the remote's root (the mounted directory):
 * always starting with '/' ("/" is the root itself), no trailing '/', no
 * "." or ".." components, never containing NUL.
 * Implementations: the exec backend (helper/backend.c, a real pod) and the
 * in-memory fake (tests/fakes/remote_mem.c).
 *
 * Semantics: getattr is lstat (symlinks are not followed). readdir returns
 * every entry but "." and ".." with its attributes (one remote round trip
 * for the whole directory). read returns fewer bytes than asked only at
 * end of file. Errors are negative errno values as the pod reported them
 * (ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG, EIO for a lost pod,
 * ENOTCONN while the connection is down, ETIMEDOUT).
 *
 * Threads: every operation may be called from many threads at once; an
 * implementation serialises or pipelines as it likes. Ownership: results
 * belong to the caller (free with remote_dirents_free / free()).
 */
#ifndef PODFS_REMOTE_H
#define PODFS_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <stdlib.h>
#include <time.h>

struct remote_attr {
	uint64_t ino;	 /* inode number in the pod */
	uint64_t dev;	 /* device number in the pod */
	uint32_t mode;	 /* S_IFMT type bits and permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	uint64_t blocks; /* 512-byte units */
	uint64_t rdev;
	struct timespec atime, mtime, ctime;
};

struct remote_dirent {
	char *name; /* one path component, any bytes but '/' and NUL */
	struct remote_attr attr;
};

struct remote;

struct remote_ops {
	int (*getattr)(struct remote *r, const char *path, struct remote_attr *out);
	int (*readdir)(struct remote *r, const char *path, struct remote_dirent **out, size_t *n);
	ssize_t (*read)(struct remote *r, const char *path, uint64_t off, void *buf, size_t len);
	/* Target into a malloc'd string. */
	int (*readlink)(struct remote *r, const char *path, char **target);
	int (*statfs)(struct remote *r, const char *path, struct statvfs *out);
	/* Optional (NULL when unsupported): the contents of several small
	 * regular files of directory DIR in one round trip ("tar slices").
	 * CB is called once per file found with its whole content (files
	 * larger than MAX_EACH are left out); files that vanished are simply
	 * not reported. At most MAX_TOTAL bytes in all. Returns 0, -ENOTSUP
	 * when the pod lacks the tool for it (do not ask again), or -errno. */
	int (*read_many)(struct remote *r, const char *dir, const char *const *names, size_t n,
			 size_t max_each, size_t max_total,
			 int (*cb)(void *arg, const char *name, const void *data, size_t len), void *arg);
	/* Counters for `podfs stats`, as "name value\n" lines appended to OUT
	 * (a malloc'd string, or NULL when the implementation has none). */
	char *(*stats)(struct remote *r);
	void (*destroy)(struct remote *r);
};

struct remote {
	const struct remote_ops *ops;
	void *priv;
};

static inline void remote_dirents_free(struct remote_dirent *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

#endif
