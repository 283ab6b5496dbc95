/* cp_int.h: what the parts of podfs cp share (pool.c: the job, its task
 * queue, workers and report; local.c: safe local file operations;
 * progress.c: the progress line; download.c, upload.c: the two
 * directions). Not for use outside cp/.
 *
 * Lock order: job->lock, then job->rep_lock; progress has its own lock,
 * taken alone. No lock is held across a remote call or a file write.
 */
#ifndef PODFS_CP_INT_H
#define PODFS_CP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cp.h"
#include "cp_path.h"
#include "remote.h"

#define CP_DEFAULT_CHUNK (4u << 20)
#define CP_DEFAULT_SMALL (256u << 10)
#define CP_BATCH_FILES 512
#define CP_BATCH_BYTES (8u << 20)

/* ---- progress (progress.c) ---- */

struct cp_progress {
	int fd; /* -1: off */
	_Atomic uint64_t bytes_done, bytes_total;
	_Atomic uint64_t files_done, files_total;
	_Atomic bool walking; /* totals still growing */
	pthread_mutex_t lock; /* current */
	char current[256];
	struct timespec t0;
	pthread_t thr;
	bool running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop;
};

void cp_progress_start(struct cp_progress *p, int fd);
void cp_progress_set_current(struct cp_progress *p, const char *name);
/* Stop the redraw thread and clear the line. */
void cp_progress_stop(struct cp_progress *p);
double cp_elapsed(const struct timespec *t0);

/* ---- the job: task queue, workers, report (pool.c) ---- */

struct cp_job;
struct cp_task;

struct cp_task {
	struct cp_task *next;
	/* Claims: a task with claims > 1 stays at the head of the queue and
	 * is handed to several workers (claim 0, 1, ...: ranges of a big
	 * file). run is called once per claim; done once, after the last
	 * claim's run returned. */
	unsigned claims, claimed, finished;
	void (*run)(struct cp_job *j, struct cp_task *t, unsigned claim);
	void (*done)(struct cp_job *j, struct cp_task *t);
};

struct cp_job {
	struct remote *r;
	struct cp_opts o;
	struct cp_report *rep;
	struct cp_progress prog;
	bool is_root; /* may chown / mknod */
	mode_t umask;
	atomic_bool no_batch; /* read_many said -ENOTSUP */
	atomic_bool conn_lost; /* a failure looked like a lost connection */
	atomic_bool no_checksum; /* --checksum: the remote said -ENOTSUP */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cp_task *head, *tail;
	unsigned pending; /* queued or running */
	pthread_mutex_t rep_lock;

	/* the walk of an attempt (both directions) */
	atomic_uint dirs_pending; /* directory tasks queued, not done */
	int *rootfds;		  /* local directories the attempt holds open */
	size_t nroot;

	/* direction-specific state */
	void *dir_priv;
};

int cp_job_init(struct cp_job *j, struct remote *r, const struct cp_opts *o, struct cp_report *rep);
void cp_job_cleanup(struct cp_job *j);
/* Queue T (any thread). */
void cp_job_push(struct cp_job *j, struct cp_task *t);
/* Run the workers until no task is left. */
void cp_job_run(struct cp_job *j);
/* The walk: a directory task queued / done (the progress line knows when
 * the totals stop growing); run the workers for an attempt's walk. */
void cp_job_dir_queued(struct cp_job *j);
void cp_job_dir_done(struct cp_job *j);
void cp_job_walk(struct cp_job *j);
/* Keep FD (an attempt's local root directory) until cp_job_close_roots;
 * closes FD and returns -ENOMEM when it cannot. */
int cp_job_add_root(struct cp_job *j, int fd);
void cp_job_close_roots(struct cp_job *j);
bool cp_job_stopping(void);

/* Record a failure of PATH (ERR a negative errno, or 0 with WHAT). */
void cp_fail(struct cp_job *j, const char *path, int err, const char *what);
void cp_note(struct cp_job *j, const char *path, const char *what);
/* An errno that means the link to the pod broke (worth a retry). */
bool cp_err_is_conn(int err);
void cp_count(struct cp_job *j, uint64_t *field, uint64_t n);
/* Run the direction's attempt function up to 1 + retries times while
 * the failures look like a lost connection. */
int cp_run_attempts(struct cp_job *j, int (*attempt)(struct cp_job *j, void *arg), void *arg);

/* ---- safe local operations (local.c) ---- */

/* Open directory REL below ROOTFD (REL "" or "." is ROOTFD itself)
 * without following any symlink and without leaving ROOTFD. -errno. */
int cp_open_beneath(int rootfd, const char *rel);
/* lstat NAME in DIRFD into FI. 0 (FI->exists false when missing). */
int cp_local_finfo(int dirfd, const char *name, struct cp_finfo *fi, struct stat *st);
/* Make directory NAME in DIRFD (or take the existing directory; never
 * a symlink), open it. Returns the fd or -errno (-EEXIST: something not
 * a directory is there). */
int cp_local_mkdir(int dirfd, const char *name, mode_t mode);
/* Create/replace symlink NAME -> TARGET in DIRFD (through a temporary
 * name and renameat). */
int cp_local_symlink(int dirfd, const char *name, const char *target);
/* Open NAME's part file in DIRFD for writing: from offset 0 (any old
 * part is removed first; O_EXCL|O_NOFOLLOW) or, with RESUME, the
 * existing regular part file (O_NOFOLLOW). fd or -errno. */
int cp_local_open_part(int dirfd, const char *name, bool resume);
/* Write all LEN bytes at OFF. */
int cp_pwrite_all(int fd, const void *p, size_t len, uint64_t off);
/* Set mode/times (and owner) on FD from A; mode masked unless PRESERVE. */
int cp_local_meta(struct cp_job *j, int fd, const struct remote_attr *a);
/* Rename NAME's part file over NAME in DIRFD (NAME must not be a
 * directory). */
int cp_local_commit(int dirfd, const char *name);
/* Write a whole small file NAME in DIRFD (through its part file). */
int cp_local_write_file(struct cp_job *j, int dirfd, const char *name, const void *data, size_t len,
			const struct remote_attr *a, bool stamp);

/* ---- --checksum (checksum.c) ---- */

/* SHA-256 of local file NAME in DIRFD (opened with OFLAGS, e.g.
 * O_NOFOLLOW) as 64 lowercase hex digits and a NUL. 0, -EINVAL when it
 * is not a regular file, -errno. */
int cp_local_sha256(int dirfd, const char *name, int oflags, char out[65]);
/* Does local NAME (in DIRFD, OFLAGS) hold what pod file RPATH holds? 1
 * yes, 0 no, or -errno for the caller to report, except -ENOTSUP (no
 * checksum in the pod): kept in j->no_checksum, reported once by
 * cp_run_attempts' result. Any worker. */
int cp_same_content(struct cp_job *j, int dirfd, const char *name, int oflags, const char *rpath);

/* ---- the two directions ---- */

struct cp_target {
	const char *const *srcs;
	const bool *contents;
	size_t nsrc;
	const char *dst;
};

int cp_download_attempt(struct cp_job *j, void *arg);
int cp_upload_attempt(struct cp_job *j, void *arg);

#endif
