/* upload_int.h: what upload.c (the walk, small and big files) and
 * uptree.c (new subtrees in few write_many calls) share. */
#ifndef PODFS_CP_UPLOAD_INT_H
#define PODFS_CP_UPLOAD_INT_H

#include "cp_int.h"

struct stamp {
	char *rpath;
	uint64_t size;
	struct timespec mtime;
};

struct udirmeta {
	char *rpath;
	struct stat st;
};

struct ul {
	pthread_mutex_t lock;
	struct udirmeta *dirs;
	size_t ndirs, capdirs;
	struct stamp *stamps;
	size_t nstamps;
	atomic_bool no_write_many; /* the remote said -ENOTSUP */
	atomic_uint tree_inflight; /* uptree.c's batches queued or running */
	uint64_t range;
};

struct ufile {
	char *lname;
	char *rpath;
	struct stat st;
};

struct usmall_task;

struct ul *up_ul(struct cp_job *j);
/* Report PATH (made printable) as failed: ERR (0: none) and WHAT. */
void up_fail(struct cp_job *j, const char *path, int err, const char *what);
/* Flags to open a local source with: -L follows a symlink named there. */
int up_src_flags(const struct cp_job *j);
/* The mode a copy of a file with ST gets in the pod. */
uint32_t up_want_mode(struct cp_job *j, const struct stat *st);
/* mode (with MODE), mtime (atime, owner with -p) of RPATH from ST. */
int up_set_meta(struct cp_job *j, const char *rpath, const struct stat *st, bool mode);
/* The whole of F (DIRFD's F->lname) into a malloc'd *BUF; -ESTALE when it
 * is no longer what was listed (size, mtime). */
int up_read_small(struct cp_job *j, int dirfd, const struct ufile *f, char **buf);
/* Report F's outcome RC (0: count it as copied). */
void up_small_result(struct cp_job *j, const struct ufile *f, int rc);
/* RPATH's mode and times are set from ST at the end of the attempt. */
void up_add_dirmeta(struct cp_job *j, const char *rpath, const struct stat *st);
/* Local entry LNAME of DIRFD (= LREL below ROOTFD; lstat ST) becomes
 * RPATH in the pod; EXIST/PART what the pod has there (NULL: nothing).
 * Small files join *SMALL (pushed when full). */
void up_entry(struct cp_job *j, int rootfd, int dirfd, const char *lrel, const char *lname, const char *rpath,
	      struct stat st, const struct remote_dirent *exist, const struct remote_dirent *part,
	      struct usmall_task **small);

/* May the new pod directory D->rpath (absent: nothing to compare with)
 * be copied by up_tree? (write_many, no -p, no -L, no --no-batch) */
bool up_tree_ok(struct cp_job *j);
/* Copy the local directory LREL below ROOTFD (lstat ST) to RPATH, which
 * does not exist in the pod, in write_many calls of many directories
 * and files each. Returns false when it could not start (the caller
 * goes the directory-by-directory way). */
bool up_tree(struct cp_job *j, int rootfd, const char *lrel, const char *rpath, const struct stat *st);

#endif
