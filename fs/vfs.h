/* vfs.h: POSIX semantics of the mount, on top of the inode table, the
 * TTL caches, the page cache and a `remote`. No FUSE types here, so it is
 * unit-tested against the in-memory remote without a mount.
 *
 * Consistency (close-to-open, as NFS): attributes, listings and negative
 * entries are trusted for their TTL; open revalidates attributes older
 * than attr_timeout (attributes from a listing count as fresh), and a
 * changed (mtime, size, pod inode) drops the file's cached blocks and
 * tells the caller not to keep the kernel's page cache.
 *
 * Errors: every function returns 0 (or a byte count) or -errno; errors of
 * the remote reach the caller unchanged (EACCES stays EACCES, never EIO).
 * An unknown or forgotten ino is -ESTALE. Modifying operations: see
 * "the write side" below.
 *
 * Threads: all functions may be called from many threads at once (the
 * FUSE worker threads). A vfs_file or vfs_dir handle is used by one
 * operation at a time except vfs_read, which may run concurrently on one
 * handle. Ownership: strings returned through char ** are malloc'd and
 * the caller frees them; handles are freed by vfs_release/vfs_releasedir.
 */
#ifndef PODFS_VFS_H
#define PODFS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "attrcache.h"
#include "remote.h"

/* d_ino for readdir entries the kernel has no inode for yet. */
#define VFS_UNKNOWN_INO 0xffffffffULL

struct vfs_cfg {
	const char *root;	/* mount root in the pod: "/" or "/a/b" */
	double attr_timeout;	/* seconds; attributes and negative entries */
	double dir_timeout;	/* seconds; listings; < 0: attr_timeout */
	size_t cache_size;	/* page cache budget in bytes; 0: 64 MiB */
	int uid_override;	/* -1: show the pod's uid */
	int gid_override;	/* -1: show the pod's gid */
	/* idmap=user: files of the pod's exec user show as the local user's
	 * and chown to the local user means the pod's user (-1: off) */
	int64_t idmap_pod_uid, idmap_local_uid;
	int64_t idmap_pod_gid, idmap_local_gid;
	int hide_pseudo;	/* /proc, /sys, /dev empty; -1: when root is "/" */
	size_t max_attrs;	/* attribute cache bound; 0: default */
	size_t max_dirs;	/* listing cache bound; 0: default */
	bool read_only;		/* refuse every change with EROFS */
	acache_clock_fn clock;	/* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
};

/* Defaults: root "/", attr_timeout 1 s, dir_timeout = attr_timeout,
 * 64 MiB cache, no overrides, hide_pseudo automatic. */
void vfs_cfg_init(struct vfs_cfg *cfg);

/* A kernel entry: our ino, its generation, attributes (st_ino = ino). */
struct vfs_entry {
	uint64_t ino;
	uint64_t generation;
	struct stat st;
};

struct vfs;
struct vfs_file;
struct vfs_dir;

/* R stays the caller's (vfs_free does not destroy it) and must outlive V. */
int vfs_new(struct vfs **out, const struct vfs_cfg *cfg, struct remote *r);
void vfs_free(struct vfs *v); /* NULL ok */

double vfs_attr_timeout(const struct vfs *v);

/* Look NAME up in directory PARENT; on success the entry's lookup count
 * went up by one (the caller answers the kernel with it). -ENOENT also
 * when the answer came from a negative entry or the parent's listing. */
int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *out);
/* Drop N lookups of INO (FUSE forget). */
int vfs_forget(struct vfs *v, uint64_t ino, uint64_t n);
int vfs_getattr(struct vfs *v, uint64_t ino, struct stat *st);
int vfs_readlink(struct vfs *v, uint64_t ino, char **target);

/* Open INO (FLAGS as open(2): O_TRUNC truncates; write access needs a
 * writable vfs, else -EROFS).
 * *KEEP_CACHE says whether the kernel may keep its cached pages. */
int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *keep_cache);
/* Up to LEN bytes at OFF; fewer only at end of file. */
ssize_t vfs_read(struct vfs *v, struct vfs_file *f, uint64_t off, void *buf, size_t len);
void vfs_release(struct vfs *v, struct vfs_file *f); /* NULL ok */

/* Open directory INO: takes a snapshot of its listing (cached or one
 * remote readdir); listing errors (EACCES, ENOTDIR) are returned here. */
int vfs_opendir(struct vfs *v, uint64_t ino, struct vfs_dir **out);
/* Entries in the snapshot: ".", ".." and the listing. */
size_t vfs_dir_count(const struct vfs_dir *d);
/* Entry I of the snapshot (0 ".", 1 "..", then the listing); *NAME points
 * into the handle and lives until vfs_releasedir. With PLUS the entry's
 * lookup count goes up by one (not for "." and "..", whose e->ino is 0)
 * and E is a full entry; without, e->ino is 0 and e->st carries the
 * type and d_ino (VFS_UNKNOWN_INO if the kernel has no inode for it).
 * -ENOENT past the end. */
int vfs_dir_entry(struct vfs *v, struct vfs_dir *d, size_t i, bool plus, const char **name,
		  struct vfs_entry *e);
/* rewinddir(3): take a new snapshot (from the cache while it is fresh). */
int vfs_dir_rewind(struct vfs *v, struct vfs_dir *d);
void vfs_releasedir(struct vfs *v, struct vfs_dir *d); /* NULL ok */

int vfs_statfs(struct vfs *v, uint64_t ino, struct statvfs *out);
/* access(2) MASK (R_OK, W_OK, X_OK, F_OK): W_OK is -EROFS on a read-only
 * vfs (else the pod decides at write time); X_OK on a
 * file without any x bit is -EACCES; read permission is the pod's to
 * enforce at read time. */
int vfs_access(struct vfs *v, uint64_t ino, int mask);

/* Extended attributes are not shown: both are -ENOSYS, which makes the
 * kernel stop asking for the whole mount (and answer EOPNOTSUPP itself)
 * instead of one request per file and name (ls asks for two). */
int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name);
int vfs_listxattr(struct vfs *v, uint64_t ino);
/* The statistics text: "name value\n" lines, the remote's appended
 * (served by the mount's control socket, fs/ctlsock.h: `podfs stats`). */
int vfs_stats_text(struct vfs *v, char **text, size_t *len);

/* Counters (also in the stats text). */
struct vfs_counters {
	uint64_t remote_requests; /* calls made to the remote's ops */
	uint64_t remote_getattr, remote_readdir, remote_read, remote_readlink, remote_statfs;
	uint64_t remote_errors;
	uint64_t remote_read_bytes;
	uint64_t remote_read_many; /* batches of small files */
	uint64_t remote_read_many_ahead; /* ... of them fetched ahead, in the background */
	uint64_t kernel_cache_pushes;	 /* small files handed to the kernel's page cache at open */
	uint64_t streamed_reads;	 /* reads served from a read-ahead stream, past the block cache */
	uint64_t xattr_calls; /* getxattr/listxattr the kernel asked (ENOSYS) */
	uint64_t remote_write;	     /* pwrite requests */
	uint64_t remote_write_bytes; /* through pwrite and write streams */
	uint64_t remote_wstreams;    /* write streams opened */
	uint64_t remote_modify;	     /* create, mkdir, unlink, rename, setattr... */
	uint64_t remote_fsync;
};
void vfs_get_counters(struct vfs *v, struct vfs_counters *out);
/* Wait until no batch of small files is being fetched ahead (tests). */
void vfs_readahead_wait(struct vfs *v);

/* ---- the write side ----
 * Every modifying operation is done in the pod when it returns 0, except
 * file data: vfs_write may return before the bytes are stored (they are
 * buffered, or queued on a write stream); vfs_flush (each close) and
 * vfs_fsync return only once the pod has stored everything written
 * through any handle of the file, and report the first error of any
 * earlier write (sticky: also returned by the next vfs_write). Caches
 * follow our own changes at once (attributes, listings, data).
 * A read-only vfs (cfg.read_only, or a remote without write ops) answers
 * -EROFS to all of them. */
int vfs_setattr(struct vfs *v, uint64_t ino, const struct remote_setattr *sa, struct stat *out);
int vfs_mknod(struct vfs *v, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
	      struct vfs_entry *out);
int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, mode_t mode, struct vfs_entry *out);
int vfs_unlink(struct vfs *v, uint64_t parent, const char *name);
int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name);
int vfs_symlink(struct vfs *v, const char *target, uint64_t parent, const char *name,
		struct vfs_entry *out);
/* FLAGS: RENAME_NOREPLACE (done as check-then-rename in the pod),
 * RENAME_EXCHANGE is -EINVAL. */
int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, unsigned flags);
int vfs_link(struct vfs *v, uint64_t ino, uint64_t newparent, const char *newname,
	     struct vfs_entry *out);
/* open(O_CREAT) of NAME in PARENT with FLAGS and MODE (umask applied by
 * the caller): the entry and an open handle. */
int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode, int flags,
	       struct vfs_entry *out, struct vfs_file **f);
ssize_t vfs_write(struct vfs *v, struct vfs_file *f, uint64_t off, const void *buf, size_t len);
int vfs_flush(struct vfs *v, struct vfs_file *f);
/* Does closing F need a vfs_flush? Only writable handles have anything
 * to store or report: a reader's close can skip the round trip. */
bool vfs_file_needs_flush(const struct vfs_file *f);
/* Right after vfs_open: the whole content of F's file, when the FUSE
 * layer should hand it to the kernel's page cache before it answers the
 * open (then the reader's read() needs no READ round trip). Only for a
 * read-only handle whose kernel pages were kept (keep_cache: the kernel's
 * attributes match), of a small file held from a batch, while no other
 * handle of it is open (no READ of it can be in flight: the kernel locks
 * the pages it fills), once per content. *DATA is malloc'd (the caller
 * frees it), or NULL with *LEN 0 when there is nothing to hand over.
 * Call with no lock held. vfs_open_prefilled: the kernel took it. */
int vfs_open_prefill(struct vfs *v, struct vfs_file *f, void **data, size_t *len);
void vfs_open_prefilled(struct vfs *v, struct vfs_file *f);
int vfs_fsync(struct vfs *v, struct vfs_file *f, int datasync);
int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name);
int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name);
/* Not supported: -EOPNOTSUPP (posix_fallocate then writes zeros itself). */
int vfs_fallocate(struct vfs *v, uint64_t ino);

#endif
