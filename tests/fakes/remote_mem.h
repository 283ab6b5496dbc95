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
 * path, -ENOTDIR when a parent is not a directory, -ENOMEM.
 */
#ifndef PODFS_REMOTE_MEM_H
#define PODFS_REMOTE_MEM_H

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
	REMOTE_MEM_NOPS
};

#define REMOTE_MEM_OPMASK(op) (1u << (op))
/* What remote_mem_set_error affects: the ops that touch content. */
#define REMOTE_MEM_CONTENT_OPS                                                                \
	(REMOTE_MEM_OPMASK(REMOTE_MEM_READ) | REMOTE_MEM_OPMASK(REMOTE_MEM_READDIR) |        \
	 REMOTE_MEM_OPMASK(REMOTE_MEM_READLINK))

/* A new empty tree (just "/", mode 0755); r->ops->destroy frees it. */
int remote_mem_new(struct remote **out);

int remote_mem_add_dir(struct remote *r, const char *path, uint32_t mode);
int remote_mem_add_file(struct remote *r, const char *path, const void *data, size_t len,
			uint32_t mode);
int remote_mem_add_symlink(struct remote *r, const char *path, const char *target);
int remote_mem_add_fifo(struct remote *r, const char *path, uint32_t mode);
/* Delete PATH (and everything below it). */
int remote_mem_remove(struct remote *r, const char *path);
/* Replace a file's content in place (same pod inode); mtime is bumped. */
int remote_mem_set_data(struct remote *r, const char *path, const void *data, size_t len);
int remote_mem_set_mtime(struct remote *r, const char *path, time_t sec, long nsec);
int remote_mem_set_owner(struct remote *r, const char *path, uint32_t uid, uint32_t gid);

/* Make the content ops (read, readdir, readlink) on PATH fail with ERR
 * (a negative errno; 0 clears). */
int remote_mem_set_error(struct remote *r, const char *path, int err);
/* Same for the ops in MASK (REMOTE_MEM_OPMASK bits), getattr included.
 * The path need not exist. */
int remote_mem_set_error_ops(struct remote *r, const char *path, unsigned mask, int err);

/* The Nth read from now (1 = the next) fails with ERR; 0 disarms. */
void remote_mem_fail_read(struct remote *r, unsigned long nth, int err);
/* Every op sleeps MS milliseconds first. */
void remote_mem_set_latency(struct remote *r, unsigned ms);

unsigned long remote_mem_count(struct remote *r, enum remote_mem_op op);
unsigned long remote_mem_total(struct remote *r);
uint64_t remote_mem_bytes_read(struct remote *r);
void remote_mem_reset_counts(struct remote *r);
/* Offer read_many (batches of small files), off by default. */
void remote_mem_enable_read_many(struct remote *r);

#endif
