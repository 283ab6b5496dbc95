/* backend_int.h: what the parts of the exec backend share (backend.c:
 * session pool, probe and the reading operations; backend_write.c: the
 * modifying operations; backend_bulk.c: bulk exec streams). Not for use
 * outside helper/.
 */
#ifndef PODFS_BACKEND_INT_H
#define PODFS_BACKEND_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "remote.h"

#define MAX_SESSIONS 8
#define FMT_GNU "%f %h %u %g %s %b %i %d %.9X %.9Y %.9Z %t %T"
#define FMT_BB "%f %h %u %g %s %b %i %d %X %Y %Z %t %T"
#define LISTING_MAX (64u << 20)
#define ENTRIES_MAX 1000000

/* Shell text: cd into the directory given (three %q of it), or fail
 * naming the errno (dash's "can't cd to X" names none). */
#define CD_OR_FAIL                                                                                   \
	"cd -- %q 2>/dev/null || { if [ -d %q ]; then echo 'podfs: Permission denied'; "               \
	"elif [ -e %q ]; then echo 'podfs: Not a directory'; else echo 'podfs: No such file or directory'; fi; " \
	"exit 1; }; "

struct kclient;
struct hsess;

struct tools {
	bool gnu_stat, gnu_find, has_stat, has_find, has_dd, has_readlink, has_tar;
	bool gnu_touch;	  /* touch -d @SECS.NSEC */
	bool gnu_tar;	  /* GNU tar: write_many extracts one archive per batch */
	bool no_tar_stream; /* the server cannot end stdin (v4): no streamed tar */
	bool has_truncate, has_mkfifo, has_sync;
	bool has_sha256sum; /* the checksum op (GNU coreutils or busybox) */
	bool gnu_mv;	  /* mv -T with rename(2) semantics (GNU or busybox) */
};

struct backend {
	struct remote r;
	struct kclient *kc;
	char *ns, *pod, *container, *root;
	char *cwd; /* the shell's working directory in the container */
	bool ids_known; /* the exec user's ids (id -u, id -g) */
	uint32_t pod_uid, pod_gid;
	int max, timeout_ms;
	struct tools t;
	pthread_mutex_t lock;
	struct hsess *sess[MAX_SESSIONS];
	int busy[MAX_SESSIONS];
	bool opening[MAX_SESSIONS];
	int nsess;
	unsigned long opened, requests;
	unsigned long wstreams; /* bulk write streams opened */
	unsigned long write_requests;
	unsigned long long bytes_written;
	time_t no_open_until; /* monotonic seconds: no new session before */
	struct bulk *bulk; /* backend_bulk.c's read streams (NULL: none) */
	char open_err[512];
};

/* Run CMD on a session of the pool; with RETRY once more on a fresh
 * session when the session died under it (only for requests that are
 * safe to repeat: reads). OUT gets the output, *STATUS the exit status. */
int be_run_opt(struct backend *b, const char *cmd, struct buf *out, int *status, bool retry);
/* ROOT + PATH into OUT (a fresh buf; clean it up even on failure). */
int be_full_path(struct backend *b, const char *path, struct buf *out);
/* The errno a failed command's message names (-EIO when none). */
int be_fail_from(struct buf *out, int status);
/* Build a command with hq_vcmd's conversions and run it (reads: retried
 * once on a dead session); a non-zero exit status becomes the errno its
 * message names. be_pod_wcmd: the same, never repeated (modifications). */
int be_pod_cmd(struct backend *b, struct buf *out, const char *fmt, ...);
int be_pod_wcmd(struct backend *b, struct buf *out, const char *fmt, ...);
/* "./" NAME into *OUT (malloc'd). */
int be_path_dot(const char *name, char **out);
/* lstat PATH (relative to the root) into A. */
int be_getattr_path(struct backend *b, const char *path, struct remote_attr *a);

/* backend_bulk.c: sequential reads of big files from read-ahead streams
 * (their own sessions, outside the pool). be_bulk_read serves the read
 * when PATH's reader is sequential and the stream holds every byte asked
 * for; -EAGAIN otherwise (make the ordinary request). Thread-safe. */
int be_bulk_new(struct backend *b);
void be_bulk_free(struct backend *b); /* joins the streams; no reader may be left */
ssize_t be_bulk_read(struct backend *b, const char *path, uint64_t off, void *dst, size_t len);
/* Only from a stream PATH has now (no run counted, no stream started):
 * the bytes, or -EAGAIN. */
ssize_t be_bulk_serve(struct backend *b, const char *path, uint64_t off, void *dst, size_t len);
/* Drop the streams and buffered bytes of PATH and of every path below it
 * (call after modifying PATH, and when PATH changed in the pod). */
void be_bulk_forget(struct backend *b, const char *path);
void be_bulk_stats(struct backend *b, unsigned long *opened, unsigned long *sessions, unsigned long *served,
		   unsigned long *served_bytes, int *live);


/* backend_write.c: the modifying operations of remote.h. */
int be_create(struct remote *r, const char *path, uint32_t mode, unsigned flags, struct remote_attr *out);
int be_mknod(struct remote *r, const char *path, uint32_t mode, uint64_t rdev, struct remote_attr *out);
int be_mkdir(struct remote *r, const char *path, uint32_t mode, struct remote_attr *out);
int be_unlink(struct remote *r, const char *path);
int be_rmdir(struct remote *r, const char *path);
int be_rename(struct remote *r, const char *from, const char *to, unsigned flags);
int be_symlink(struct remote *r, const char *target, const char *path, struct remote_attr *out);
int be_link(struct remote *r, const char *from, const char *to, struct remote_attr *out);
int be_setattr(struct remote *r, const char *path, const struct remote_setattr *sa, struct remote_attr *out);
ssize_t be_write(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len);
ssize_t be_write_stat(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len,
		      struct remote_attr *out);
int be_wopen(struct remote *r, const char *path, uint64_t off, struct remote_wstream **out);
ssize_t be_wstream_write(struct remote_wstream *w, const void *buf, size_t len);
int be_wstream_close(struct remote_wstream *w);
int be_fsync(struct remote *r, const char *path, int datasync);
int be_may_write(struct remote *r, const char *path);
int be_write_many(struct remote *r, const char *dir, const struct remote_wfile *files, size_t n, int *errs);

#endif
