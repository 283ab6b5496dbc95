/* remote_mem.h: an in-memory `remote` for tests of fs/.
 *
 * A tree of directories, files, symlinks and fifos whose attributes the
 * test sets; counts calls per operation; injects errors per path, a fault
 * on the Nth read, and latency. Thread-safe (one mutex; latency is slept
 * outside it).
 *
 * Paths are absolute pod paths ("/a/b"). The add functions create missing
 * parent directories (mode 0755) and replace an existing node at PATH
 * (the new node gets a new pod inode number). Errors: -EINVAL for a bad
 * path, -ENOTDIR when a parent is not a directory, -ENOMEM. They change
 * no parent's times and ignore the space limit, the read-only switch and
 * the error rules (they are the test's own setup, not pod operations).
 *
 * The modifying ops of remote.h are offered by default, with Linux
 * semantics (rename(2), link(2), ...; see remote_mem.c for the details):
 * hard links share one inode (data, attributes, nlink); a directory's
 * nlink is 2 + its subdirectories; every entry change bumps the parent's
 * mtime and ctime. Symlinks are followed (absolute targets against the
 * fake's root, at most 40 hops, then -ELOOP) where the tool the backend
 * runs follows them: a create without EXCL, write, wopen, fsync and the
 * SIZE part of setattr. Symlinks in the middle of a path are not followed
 * (-ENOTDIR; fs/ never sends such paths). Files are limited to 1 GiB
 * (-EFBIG).
 *
 * Order of checks in every pod op: count it, sleep the latency, then the
 * path's error rule (remote_mem_set_error_ops; for rename and link a rule
 * on either path), then -EROFS (remote_mem_set_readonly, modifying ops
 * only), then the op's own semantics.
 */
#ifndef PODFS_REMOTE_MEM_H
#define PODFS_REMOTE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "remote.h"

enum remote_mem_op {
	REMOTE_MEM_GETATTR,
	REMOTE_MEM_READDIR,
	REMOTE_MEM_READ,
	REMOTE_MEM_READLINK,
	REMOTE_MEM_STATFS,
	REMOTE_MEM_READ_MANY,
	REMOTE_MEM_CREATE,
	REMOTE_MEM_MKNOD,
	REMOTE_MEM_MKDIR,
	REMOTE_MEM_UNLINK,
	REMOTE_MEM_RMDIR,
	REMOTE_MEM_RENAME,
	REMOTE_MEM_SYMLINK,
	REMOTE_MEM_LINK,
	REMOTE_MEM_SETATTR,
	REMOTE_MEM_WRITE,
	REMOTE_MEM_WOPEN,
	REMOTE_MEM_WSTREAM_WRITE,  /* rules match the path given to wopen */
	REMOTE_MEM_WSTREAM_CLOSE,
	REMOTE_MEM_FSYNC,
	REMOTE_MEM_MAY_WRITE, /* may_write: -EROFS while read-only, rules apply */
	REMOTE_MEM_WRITE_MANY, /* one per call; rules: see write_many below */
	REMOTE_MEM_CHECKSUM, /* a read op (after the write ops: added later) */
	REMOTE_MEM_READDIR_TREE, /* one per call; rules: see below */
	REMOTE_MEM_READ_STREAMED, /* one per call, served or not */
	REMOTE_MEM_NOPS
};

#define REMOTE_MEM_OPMASK(op) (1u << (op))
/* What remote_mem_set_error affects: the ops that touch content. */
#define REMOTE_MEM_CONTENT_OPS                                                                \
	(REMOTE_MEM_OPMASK(REMOTE_MEM_READ) | REMOTE_MEM_OPMASK(REMOTE_MEM_READDIR) |        \
	 REMOTE_MEM_OPMASK(REMOTE_MEM_READLINK) | REMOTE_MEM_OPMASK(REMOTE_MEM_CHECKSUM))
/* Every modifying op (fsync included): CREATE up to WRITE_MANY. */
#define REMOTE_MEM_WRITE_OPS                                                                  \
	(REMOTE_MEM_OPMASK(REMOTE_MEM_CHECKSUM) - REMOTE_MEM_OPMASK(REMOTE_MEM_CREATE))

/* A new empty tree (just "/", mode 0755); r->ops->destroy frees it (close
 * every write stream first). */
int remote_mem_new(struct remote **out);

int remote_mem_add_dir(struct remote *r, const char *path, uint32_t mode);
int remote_mem_add_file(struct remote *r, const char *path, const void *data, size_t len,
			uint32_t mode);
int remote_mem_add_symlink(struct remote *r, const char *path, const char *target);
int remote_mem_add_fifo(struct remote *r, const char *path, uint32_t mode);
/* Delete PATH (and everything below it); other hard links of a file stay. */
int remote_mem_remove(struct remote *r, const char *path);
/* Replace a file's content in place (same pod inode); mtime is bumped. */
int remote_mem_set_data(struct remote *r, const char *path, const void *data, size_t len);
int remote_mem_set_mtime(struct remote *r, const char *path, time_t sec, long nsec);
int remote_mem_set_owner(struct remote *r, const char *path, uint32_t uid, uint32_t gid);

/* Inspection, neither counted nor subject to rules. lstat of PATH: */
int remote_mem_lstat(struct remote *r, const char *path, struct remote_attr *out);
/* A malloc'd copy of a regular file's bytes (or a symlink's target, no
 * NUL added); *DATA is non-NULL even for 0 bytes. -EISDIR for a directory,
 * -EINVAL for other types. */
int remote_mem_get_data(struct remote *r, const char *path, void **data, size_t *len);

/* Make the content ops (read, readdir, readlink) on PATH fail with ERR
 * (a negative errno; 0 clears). */
int remote_mem_set_error(struct remote *r, const char *path, int err);
/* Same for the ops in MASK (REMOTE_MEM_OPMASK bits), getattr included.
 * The path need not exist. One rule per path (a new call replaces it). */
int remote_mem_set_error_ops(struct remote *r, const char *path, unsigned mask, int err);

/* The Nth read from now (1 = the next) fails with ERR; 0 disarms. */
void remote_mem_fail_read(struct remote *r, unsigned long nth, int err);
/* Every op sleeps MS milliseconds first. */
void remote_mem_set_latency(struct remote *r, unsigned ms);
/* A gate for OP: the calls of OP after the next AFTER ones wait (counted,
 * before doing anything) until remote_mem_gate_open. For tests of what
 * happens while a call is in flight, with no sleep. */
void remote_mem_gate(struct remote *r, enum remote_mem_op op, unsigned long after);
/* Wait until N calls wait at the gate. */
void remote_mem_gate_wait(struct remote *r, unsigned n);
void remote_mem_gate_open(struct remote *r);

unsigned long remote_mem_count(struct remote *r, enum remote_mem_op op);
unsigned long remote_mem_total(struct remote *r);
uint64_t remote_mem_bytes_read(struct remote *r);
/* Bytes stored by write and wstream_write since the last reset. */
uint64_t remote_mem_bytes_written(struct remote *r);
void remote_mem_reset_counts(struct remote *r);
/* Offer read_many (batches of small files), off by default. */
void remote_mem_enable_read_many(struct remote *r);
/* read_streamed: as if a read-ahead stream held every file's bytes from
 * offset FROM on: a range wholly within [FROM, size) is served, anything
 * else is -EAGAIN. */
void remote_mem_enable_read_streamed(struct remote *r, uint64_t from);
/* Offer readdir_tree (subtree listings), off by default: the deepest
 * level whose subtree has at most max_entries entries, as the backend's
 * GNU tier; a subdirectory with an error rule for READDIR or
 * READDIR_TREE is not listed (a rule on PATH itself fails the call). */
void remote_mem_enable_readdir_tree(struct remote *r);
/* checksum (offered by default): SHA-256 (OpenSSL) of a regular file,
 * symlinks followed as sha256sum does; -EISDIR, -EINVAL for other types.
 * Link OpenSSL::Crypto. Not counted in remote_mem_bytes_read (no data
 * goes to the caller). */

/* ---- writing ---- */

/* A read-only remote: the modifying op pointers become NULL (for good). */
void remote_mem_disable_writes(struct remote *r);
/* While ON, every modifying op (not fsync) fails with -EROFS, open write
 * streams included. */
void remote_mem_set_readonly(struct remote *r, bool on);
/* Owner of the nodes the pod ops create (default 0:0; a directory with
 * S_ISGID passes its group on, as on Linux). */
void remote_mem_set_creator(struct remote *r, uint32_t uid, uint32_t gid);
/* The "disk": BYTES of regular file data in all (each inode counted once,
 * whatever its links), UINT64_MAX (the default) for no limit. Past it:
 * write fails with -ENOSPC storing nothing; setattr SIZE growing and
 * create/mknod/mkdir/symlink of a new node when nothing is left fail with
 * -ENOSPC; a write stream stores what fits and fails (see below). statfs
 * reports the limit when one is set. */
void remote_mem_set_space(struct remote *r, uint64_t bytes);
uint64_t remote_mem_space_used(struct remote *r);
/* When a wstream_write does not fit: LATE (the default) accepts it (returns
 * LEN) and reports -ENOSPC at the next wstream_write or wstream_close, as
 * a buffering backend does; otherwise at once. Either way the stream's
 * first error is sticky: every later wstream_write and the close return
 * it. An error rule (REMOTE_MEM_WSTREAM_WRITE / _CLOSE on the wopen path)
 * fails the call it hits at once, and sticks too. A stream holds its
 * inode: it keeps writing a file renamed or unlinked meanwhile. */
void remote_mem_set_wstream_late_errors(struct remote *r, bool late);
/* Write streams opened and not closed yet. */
unsigned remote_mem_wstreams_open(struct remote *r);
/* write_many (offered by default) works as the backend's one shell
 * request: DIR is followed like `cd` (-ENOENT, -ENOTDIR, a rule on DIR
 * or -EROFS fail the call, nothing done); then per file, in order: a
 * rule with the REMOTE_MEM_WRITE_MANY bit on DIR/NAME, a bad name, a
 * symlink or any non-regular file at NAME (never followed or replaced),
 * or no space for it (the file is left empty: "partly written") make
 * ERRS[i] -EIO; else the file (new: the creator's) gets the data, mode
 * (not masked) and mtime (or the time of writing). Bytes stored count in
 * remote_mem_bytes_written. */

#endif
