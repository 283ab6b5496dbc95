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

struct kclient;
struct hsess;

struct tools {
	bool gnu_stat, gnu_find, has_stat, has_find, has_dd, has_readlink, has_tar;
	bool gnu_touch;	  /* touch -d @SECS.NSEC */
	bool has_truncate, has_mkfifo, has_sync;
	bool gnu_mv;	  /* mv -T with rename(2) semantics (GNU or busybox) */
};

struct backend {
	struct remote r;
	struct kclient *kc;
	char *ns, *pod, *container, *root;
	char *cwd; /* the shell's working directory in the container */
	int max, timeout_ms;
	struct tools t;
	pthread_mutex_t lock;
	struct hsess *sess[MAX_SESSIONS];
	int busy[MAX_SESSIONS];
	bool opening[MAX_SESSIONS];
	int nsess;
	unsigned long opened, requests;
	unsigned long wstreams; /* bulk write streams opened */
	time_t no_open_until; /* monotonic seconds: no new session before */
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


#endif
