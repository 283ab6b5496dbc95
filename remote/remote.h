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
 * Writing: the modifying operations are optional (all NULL for a
 * read-only remote). Each is done when it returns: 0 means the pod
 * performed it (data written with `write` or through a write stream is in
 * the pod's file once the call that reports it returns 0). They are never
 * retried behind the caller's back (a lost connection is -EIO: the
 * operation may or may not have happened).
 *
 * Threads: every operation may be called from many threads at once; an
 * implementation serialises or pipelines as it likes. Ownership: results
 * belong to the caller (free with remote_dirents_free / free()).
 */
#ifndef PODFS_REMOTE_H
#define PODFS_REMOTE_H

#include <stdbool.h>
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

/* The same file content as far as attributes tell: size, mtime and
 * identity (pod inode and device) equal. */
static inline bool remote_same_data(const struct remote_attr *a, const struct remote_attr *b)
{
	return a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ino == b->ino && a->dev == b->dev;
}

struct remote_dirent {
	char *name; /* one path component, any bytes but '/' and NUL */
	struct remote_attr attr;
};

/* What setattr changes (bits of `valid`). */
#define REMOTE_SET_MODE (1u << 0)
#define REMOTE_SET_UID (1u << 1)
#define REMOTE_SET_GID (1u << 2)
#define REMOTE_SET_SIZE (1u << 3)
#define REMOTE_SET_ATIME (1u << 4)	/* to .atime */
#define REMOTE_SET_MTIME (1u << 5)	/* to .mtime */
#define REMOTE_SET_ATIME_NOW (1u << 6)
#define REMOTE_SET_MTIME_NOW (1u << 7)

struct remote_setattr {
	unsigned valid;
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;
	struct timespec atime, mtime;
};

/* create() flags. */
#define REMOTE_CREATE_EXCL (1u << 0)  /* fail with -EEXIST when PATH exists */
#define REMOTE_CREATE_TRUNC (1u << 1) /* truncate an existing file to 0 */

/* rename() flags (as renameat2). */
#define REMOTE_RENAME_NOREPLACE (1u << 0)
#define REMOTE_RENAME_EXCHANGE (1u << 1)

/* One entry for write_many: a small regular file, or a directory. */
struct remote_wfile {
	/* Relative to the call's directory DIR: one component, or a path
	 * "a/b/c" (no empty, "." or ".." component, no '/' at either end)
	 * whose directories are all directory entries earlier in the same
	 * call (an entry below anything else is refused: -EIO). */
	const char *name;
	uint32_t type;		/* 0 or S_IFREG: a regular file; S_IFDIR: a directory */
	uint32_t mode;		/* permission bits (07777) */
	bool set_mtime;		/* else the time of writing */
	struct timespec mtime;
	const void *data;
	size_t len;
};

struct remote;
struct remote_wstream;

struct remote_ops {
	int (*getattr)(struct remote *r, const char *path, struct remote_attr *out);
	int (*readdir)(struct remote *r, const char *path, struct remote_dirent **out, size_t *n);
	ssize_t (*read)(struct remote *r, const char *path, uint64_t off, void *buf, size_t len);
	/* Optional (NULL when unsupported): the same bytes as read, but only
	 * when a read-ahead stream of PATH that read started holds them (or
	 * has them on their way): the whole range, else -EAGAIN (then use
	 * read). Starts nothing. Lets a sequential reader skip the caller's
	 * own cache (one copy from the stream into BUF). */
	ssize_t (*read_streamed)(struct remote *r, const char *path, uint64_t off, void *buf, size_t len);
	/* Target into a malloc'd string. */
	int (*readlink)(struct remote *r, const char *path, char **target);
	int (*statfs)(struct remote *r, const char *path, struct statvfs *out);
	/* Optional (NULL when unsupported): the contents of several small
	 * regular files of directory DIR in one round trip ("tar slices").
	 * A name is an entry of DIR or a path below it ("sub/name": no
	 * empty, "." or ".." component), reported to CB as given.
	 * CB is called once per file found with its whole content (files
	 * larger than MAX_EACH are left out); files that vanished are simply
	 * not reported. At most MAX_TOTAL bytes in all. Returns 0, -ENOTSUP
	 * when the pod lacks the tool for it (do not ask again), or -errno. */
	int (*read_many)(struct remote *r, const char *dir, const char *const *names, size_t n,
			 size_t max_each, size_t max_total,
			 int (*cb)(void *arg, const char *name, const void *data, size_t len), void *arg);
	/* Optional (NULL when unsupported): directory PATH's listing as
	 * readdir gives it, plus the listings of directories below it, in
	 * one round trip: at most MAX_DEPTH levels (1: PATH alone), fewer
	 * where the subtree holds more than about MAX_ENTRIES entries.
	 * Directories below that are not listed (too deep, over the cap,
	 * another filesystem, unreadable, changed while listed) are not
	 * reported. CB is called for PATH first (REL "") and then once per
	 * listed directory (REL its path below PATH: "a", "a/b"), and takes
	 * ENTS (free them with remote_dirents_free). Returns 0, PATH's errno
	 * as readdir would, or CB's error (which ends the call). */
	int (*readdir_tree)(struct remote *r, const char *path, unsigned max_depth, size_t max_entries,
			    int (*cb)(void *arg, const char *rel, struct remote_dirent *ents, size_t n),
			    void *arg);
	/* Optional (NULL when unsupported): the SHA-256 of regular file
	 * PATH's content (a symlink is followed, as the pod's tool does) as
	 * 64 lowercase hex digits and a NUL in OUT. The pod reads the whole
	 * file: one round trip, as slow as its disk. Returns 0, -ENOTSUP
	 * whatever PATH is when the pod lacks the tool (sha256sum; do not
	 * ask again), -EISDIR for a directory, -EINVAL for another
	 * non-regular file, -ENOENT, -EACCES... as usual, -EIO for output
	 * that is not a checksum. */
	int (*checksum)(struct remote *r, const char *path, char out[65]);

	/* ---- writing (optional; see the top of this file) ---- */

	/* Create regular file PATH (open(O_CREAT) semantics, FLAGS above),
	 * permission bits MODE (not masked by any umask), owned as the pod's
	 * user creates it. OUT (may be NULL) gets its attributes. */
	int (*create)(struct remote *r, const char *path, uint32_t mode, unsigned flags, struct remote_attr *out);
	/* mknod: MODE carries the type; S_IFREG and S_IFIFO at least, devices
	 * and sockets where the pod allows (else -EPERM / -ENOTSUP). */
	int (*mknod)(struct remote *r, const char *path, uint32_t mode, uint64_t rdev, struct remote_attr *out);
	int (*mkdir)(struct remote *r, const char *path, uint32_t mode, struct remote_attr *out);
	int (*unlink)(struct remote *r, const char *path);
	int (*rmdir)(struct remote *r, const char *path);
	/* POSIX rename(FROM, TO) (a directory replaces only an empty
	 * directory, a file only a non-directory); FLAGS above, -EINVAL for
	 * flags the pod cannot honour. */
	int (*rename)(struct remote *r, const char *from, const char *to, unsigned flags);
	/* Symlink PATH pointing to TARGET (any bytes but NUL). */
	int (*symlink)(struct remote *r, const char *target, const char *path, struct remote_attr *out);
	/* Hard link TO to existing FROM. */
	int (*link)(struct remote *r, const char *from, const char *to, struct remote_attr *out);
	/* Change what SA->valid says; OUT (may be NULL) gets the new attributes.
	 * Applies to PATH itself when it is a symlink only for times (mode
	 * changes of a symlink are -EOPNOTSUPP). */
	int (*setattr)(struct remote *r, const char *path, const struct remote_setattr *sa, struct remote_attr *out);
	/* pwrite: all LEN bytes at OFF (the file grows as needed), stored
	 * when it returns. Returns LEN or -errno (ENOSPC, EFBIG, EACCES...). */
	ssize_t (*write)(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len);
	/* Optional: write, and OUT gets PATH's attributes as they are after
	 * it, in the same round trip (post-op attributes: the caches keep
	 * what they know of the file's directory). */
	ssize_t (*write_stat)(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len,
			      struct remote_attr *out);
	/* A bulk sequential writer for PATH from offset OFF on (existing
	 * bytes past what is written are kept). wstream_write may return
	 * before the bytes are stored (bounded buffering); an error of
	 * earlier bytes is returned by a later wstream_write or by
	 * wstream_close, which waits until everything is stored and frees
	 * the stream whatever it returns. Optional: NULL when unsupported;
	 * wopen may also say -ENOTSUP at run time (use write instead). */
	int (*wopen)(struct remote *r, const char *path, uint64_t off, struct remote_wstream **out);
	ssize_t (*wstream_write)(struct remote_wstream *w, const void *buf, size_t len);
	int (*wstream_close)(struct remote_wstream *w);
	/* Optional: create or replace N small regular files below directory
	 * DIR, each with its mode (and mtime), in one round trip (or a few:
	 * a call with directory entries may take one more each side of the
	 * files). A directory entry is made when missing (an existing
	 * directory is kept, with what it holds); its mode and mtime are set
	 * after every file of the call is stored, so a directory may be
	 * read-only and keep its time. When it returns 0, ERRS[i] is 0 for
	 * every entry stored complete, or -EIO for one that was not (a file
	 * may exist partly written: write it again one by one to learn the
	 * precise errno). Returns -errno when nothing was done (DIR
	 * missing...). An existing symlink, or an existing entry of another
	 * type (a fifo where a file goes, a file where a directory goes), is
	 * an error for that entry, never replaced or followed. */
	int (*write_many)(struct remote *r, const char *dir, const struct remote_wfile *files, size_t n,
			  int *errs);
	/* Optional: the caller saw that PATH's data changed in the pod (new
	 * mtime, size or inode), or PATH was renamed or removed: drop
	 * anything read ahead for it and for the paths below it. */
	void (*changed)(struct remote *r, const char *path);
	/* May PATH be opened for writing now (the pod's user, its
	 * permissions, a read-only filesystem)? 0, or the errno opening it
	 * for writing would give (EACCES, EROFS, ETXTBSY...). Changes
	 * nothing. */
	int (*may_write)(struct remote *r, const char *path);
	/* Flush PATH's data (and metadata unless DATASYNC) to the pod's storage. */
	int (*fsync)(struct remote *r, const char *path, int datasync);

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
