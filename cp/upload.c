/* upload.c: local -> pod (see cp.h), with the remote's write operations.
 *
 * Tasks (pool.c runs them on the workers):
 *   utree   (uptree.c) a directory the pod does not have, with all that
 *           is below it: walked locally and sent in a few write_many
 *           calls of many directories and files each;
 *   udir    one pod directory: a new one goes to utree when it can,
 *           else it is made here; list it once (what is
 *           already there decides skip / resume), read the local
 *           directory, make symlinks, queue files and subdirectories;
 *   usmall  one batch: up to UP_BATCH_FILES small files (at most
 *           UP_BATCH_BYTES of data) of one pod directory, read here and
 *           sent in ONE write_many request (content, mode and mtime of
 *           each); the workers keep several batches in flight. With -p
 *           the batch leaves the mtime alone and up_set_meta then sets
 *           times and owner file by file, as before. A file the batch
 *           did not store (errs[i] != 0), all files of a batch that
 *           failed as a whole, and every small file when the remote has
 *           no write_many (or --no-batch) go the one-by-one way: create
 *           + write + setattr, which yields the precise errno for the
 *           report;
 *   ubig    one big file written to its part file in ranges of
 *           UP_RANGE bytes, one write stream (wopen) per range and claim,
 *           so the workers send a big file in parallel; done() checks the
 *           size in the pod, sets mode and mtime and renames the part
 *           into place. On failure the part is cut to its complete
 *           prefix and stamped with the source's mtime (later, at the
 *           next attempt, when the link was down), so a later run
 *           continues it.
 * Small files are written in place, not through a part file: a batch
 * writes the data, then the mode, then stamps the source's mtime, in that
 * order and per file in one shell command (the one-by-one way: create,
 * write, then setattr with the mtime). A file cut short (lost link, full
 * disk) therefore has the time of writing as its mtime, never the
 * source's, and the next run's size + mtime check rewrites it; anything
 * not stored is redone one by one or listed in the report, never left
 * silently short. The part-file protocol (a rename per file, resumable
 * ranges) is only worth its round trips for big files.
 * A symlink, fifo or other non-regular, non-directory entry in the pod
 * where a regular file goes is removed first (the batch refuses to write
 * through it, and create would follow a symlink).
 * Local sources are read through fds opened without following symlinks
 * (cp_open_beneath / O_NOFOLLOW); -L follows them.
 * Locks: ul->lock (directory list, pending stamps) alone.
 */
#include "upload_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A batch: at most this many files and bytes of data (a file bigger than
 * the byte bound goes alone). */
#define UP_BATCH_FILES 512
#define UP_BATCH_BYTES (1u << 20)
#define UP_RANGE_MIN (16u << 20)

struct udir_task {
	struct cp_task t;
	int rootfd;
	char *lrel;  /* local directory below rootfd */
	char *rpath; /* pod directory */
	bool create;
	struct stat st;
};


struct usmall_task {
	struct cp_task t;
	int rootfd;
	char *lrel;
	struct ufile *f; /* all in one pod directory */
	size_t n;
	uint64_t bytes;
};

struct ubig_task {
	struct cp_task t;
	int rootfd;
	char *lrel, *lname, *rpath, *rpart;
	struct stat st;
	uint64_t off0;
	uint64_t range; /* bytes per claim (one write stream each) */
	bool resume;
	pthread_mutex_t lock;
	bool opened;
	int fd, err;
	unsigned char *done;	/* per claim: stored */
	unsigned char *started; /* per claim: bytes may have gone out */
};

struct ul *up_ul(struct cp_job *j)
{
	return j->dir_priv;
}

void up_fail(struct cp_job *j, const char *path, int err, const char *what)
{
	char p[1024];

	cp_printable(path, p, sizeof(p));
	cp_fail(j, p, err, what);
}

/* Flags to open a local source with: -L follows a symlink named there. */
int up_src_flags(const struct cp_job *j)
{
	return O_RDONLY | O_CLOEXEC | (j->o.follow ? 0 : O_NOFOLLOW);
}

uint32_t up_want_mode(struct cp_job *j, const struct stat *st)
{
	return j->o.preserve ? st->st_mode & 07777 : st->st_mode & 0777 & ~j->umask;
}

/* mode, mtime (atime, owner with -p) of PATH from ST */
int up_set_meta(struct cp_job *j, const char *rpath, const struct stat *st, bool mode)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_MTIME, .mtime = st->st_mtim };
	int rc;

	if (mode) {
		sa.valid |= REMOTE_SET_MODE;
		sa.mode = up_want_mode(j, st);
	}
	if (j->o.preserve) {
		sa.valid |= REMOTE_SET_ATIME;
		sa.atime = st->st_atim;
	}
	rc = j->r->ops->setattr(j->r, rpath, &sa, NULL);
	if (!rc && j->o.preserve) {
		struct remote_setattr so = { .valid = REMOTE_SET_UID | REMOTE_SET_GID, .uid = st->st_uid,
					     .gid = st->st_gid };

		/* ownership only where the pod's user may (EPERM otherwise: ignored) */
		int orc = j->r->ops->setattr(j->r, rpath, &so, NULL);

		if (orc && orc != -EPERM && orc != -EACCES)
			rc = orc;
		if (!rc && (st->st_mode & 07000) && mode)
			rc = j->r->ops->setattr(j->r, rpath, &(struct remote_setattr){ .valid = REMOTE_SET_MODE,
										 .mode = up_want_mode(j, st) },
						NULL);
	}
	return rc;
}

static void add_stamp(struct cp_job *j, const char *rpath, uint64_t size, struct timespec mtime)
{
	struct ul *u = up_ul(j);
	struct stamp *ns;

	pthread_mutex_lock(&u->lock);
	ns = realloc(u->stamps, (u->nstamps + 1) * sizeof(*ns));
	if (ns) {
		u->stamps = ns;
		ns[u->nstamps].rpath = strdup(rpath);
		ns[u->nstamps].size = size;
		ns[u->nstamps].mtime = mtime;
		if (ns[u->nstamps].rpath)
			u->nstamps++;
	}
	pthread_mutex_unlock(&u->lock);
}

/* Cut the part file to SIZE and stamp it with MTIME: resumable. */
static int stamp_part(struct cp_job *j, const char *rpart, uint64_t size, struct timespec mtime)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_SIZE | REMOTE_SET_MTIME, .size = size, .mtime = mtime };

	return j->r->ops->setattr(j->r, rpart, &sa, NULL);
}

/* ---- big files ---- */

static void ubig_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct ubig_task *b = (struct ubig_task *)t;
	uint64_t range = b->range;
	uint64_t off = b->off0 + (uint64_t)claim * range, end, pos;
	size_t bufsz = j->o.chunk < (1u << 20) ? j->o.chunk : (1u << 20);
	struct remote_wstream *w = NULL;
	bool use_stream = j->r->ops->wopen != NULL;
	char *buf = NULL;
	int rc = 0;

	end = off + range < (uint64_t)b->st.st_size ? off + range : (uint64_t)b->st.st_size;
	if (cp_job_stopping()) {
		rc = -EINTR;
		goto out;
	}
	pthread_mutex_lock(&b->lock);
	if (!b->opened) {
		b->opened = true;
		{
			int dfd = cp_open_beneath(b->rootfd, b->lrel);

			b->fd = dfd < 0 ? dfd : openat(dfd, b->lname, up_src_flags(j));
			if (dfd >= 0 && b->fd < 0)
				b->fd = -errno;
			if (dfd >= 0)
				close(dfd);
		}
		if (b->fd < 0)
			b->err = b->fd;
		else if (!b->resume)
			b->err = j->r->ops->create(j->r, b->rpart, 0600, REMOTE_CREATE_TRUNC, NULL);
	}
	rc = b->err;
	if (!rc)
		b->started[claim] = 1;
	pthread_mutex_unlock(&b->lock);
	if (rc || off >= end)
		goto out;
	cp_progress_set_current(&j->prog, b->rpath);
	buf = malloc(bufsz);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (use_stream) {
		rc = j->r->ops->wopen(j->r, b->rpart, off, &w);
		if (rc == -ENOTSUP) {
			use_stream = false;
			rc = 0;
		}
	}
	for (pos = off; !rc && pos < end;) {
		size_t want = end - pos < bufsz ? (size_t)(end - pos) : bufsz;
		ssize_t n = pread(b->fd, buf, want, (off_t)pos);

		if (n < 0) {
			rc = -errno;
			break;
		}
		if ((size_t)n != want) {
			rc = -ESTALE; /* the local file shrank */
			break;
		}
		if (cp_job_stopping()) {
			rc = -EINTR;
			break;
		}
		n = use_stream ? j->r->ops->wstream_write(w, buf, want) : j->r->ops->write(j->r, b->rpart, pos, buf, want);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		pos += want;
		atomic_fetch_add(&j->prog.bytes_done, want);
		cp_count(j, &j->rep->bytes, want);
	}
	if (w) {
		int crc = j->r->ops->wstream_close(w);

		if (!rc)
			rc = crc;
	}
out:
	free(buf);
	pthread_mutex_lock(&b->lock);
	if (rc && !b->err)
		b->err = rc;
	if (!rc)
		b->done[claim] = 1;
	pthread_mutex_unlock(&b->lock);
}

static void ubig_done(struct cp_job *j, struct cp_task *t)
{
	struct ubig_task *b = (struct ubig_task *)t;
	struct remote_attr a;
	struct stat now;
	int rc = b->err;

	if (!rc && (fstat(b->fd, &now) || now.st_size != b->st.st_size ||
		    now.st_mtim.tv_sec != b->st.st_mtim.tv_sec || now.st_mtim.tv_nsec != b->st.st_mtim.tv_nsec))
		rc = -ESTALE;
	if (!rc) {
		rc = j->r->ops->getattr(j->r, b->rpart, &a);
		if (!rc && a.size != (uint64_t)b->st.st_size)
			rc = -EIO; /* short in the pod */
	}
	if (!rc)
		rc = up_set_meta(j, b->rpart, &b->st, true);
	if (!rc)
		rc = j->r->ops->rename(j->r, b->rpart, b->rpath, 0);
	if (!rc) {
		atomic_fetch_add(&j->prog.files_done, 1);
		cp_count(j, &j->rep->files, 1);
	} else if (b->fd >= 0 && rc != -ESTALE && b->opened) {
		uint64_t prefix = b->off0, range = b->range;
		unsigned k = 0;
		bool later = false;

		for (; k < t->claims && b->done[k]; k++)
			prefix = b->off0 + (uint64_t)(k + 1) * range;
		for (unsigned i = k + 1; i < t->claims; i++)
			later = later || b->started[i];
		/* The first incomplete range was written in order by one
		 * stream: what the pod has of it is good when no later range
		 * wrote anything. */
		if (k < t->claims && b->started[k] && !later && j->r->ops->getattr(j->r, b->rpart, &a) == 0 &&
		    a.size > prefix)
			prefix = a.size < prefix + range ? a.size : prefix + range;
		if (prefix > (uint64_t)b->st.st_size)
			prefix = (uint64_t)b->st.st_size;
		if (stamp_part(j, b->rpart, prefix, b->st.st_mtim))
			add_stamp(j, b->rpart, prefix, b->st.st_mtim); /* at the next attempt */
	}
	if (rc && rc != -EINTR) {
		if (rc == -ESTALE)
			up_fail(j, b->rpath, 0, "the local file changed while it was copied; run again");
		else
			up_fail(j, b->rpath, rc, "upload");
	}
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b->lrel);
	free(b->lname);
	free(b->rpath);
	free(b->rpart);
	free(b->done);
	free(b->started);
	free(b);
}

static void queue_ubig(struct cp_job *j, int rootfd, const char *lrel, const char *lname, const char *rpath,
		       const struct stat *st, enum cp_action act, uint64_t off)
{
	struct ubig_task *b = calloc(1, sizeof(*b));
	uint64_t range = up_ul(j)->range, left;
	uint64_t claims;
	char part[256];
	char *rdir = strdup(rpath), *s;

	if (act != CP_RESUME)
		off = 0;
	left = (uint64_t)st->st_size - off;
	/* a stream per worker at most: every write stream is an exec (its
	 * start costs 20 ms to 1 s on a real cluster) */
	int par = j->o.parallel > 0 ? j->o.parallel : 4;
	uint64_t share = (left / (uint64_t)par + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);

	if (share > range)
		range = share;
	claims = left ? (left + range - 1) / range : 1;
	if (rdir && (s = strrchr(rdir, '/')))
		s[s == rdir ? 1 : 0] = '\0';
	if (!b || !rdir || !(b->lrel = strdup(lrel)) || !(b->lname = strdup(lname)) || !(b->rpath = strdup(rpath)) ||
	    !(b->done = calloc((size_t)claims, 1)) || !(b->started = calloc((size_t)claims, 1))) {
		if (b) {
			free(b->done);
			free(b->lrel);
			free(b->lname);
			free(b->rpath);
		}
		free(b);
		free(rdir);
		up_fail(j, rpath, -ENOMEM, NULL);
		return;
	}
	{
		char *rname = cp_basename(rpath);

		cp_part_name(rname ? rname : "", part);
		free(rname);
	}
	b->rpart = cp_join(rdir, part);
	free(rdir);
	if (!b->rpart) {
		free(b->lrel);
		free(b->lname);
		free(b->rpath);
		free(b->done);
		free(b->started);
		free(b);
		up_fail(j, rpath, -ENOMEM, NULL);
		return;
	}
	b->rootfd = rootfd;
	b->st = *st;
	b->resume = act == CP_RESUME;
	b->off0 = off;
	b->range = range;
	b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	b->t.claims = (unsigned)claims;
	b->t.run = ubig_run;
	b->t.done = ubig_done;
	atomic_fetch_add(&j->prog.files_total, 1);
	atomic_fetch_add(&j->prog.bytes_total, left);
	if (b->resume)
		cp_count(j, &j->rep->resumed, 1);
	cp_job_push(j, &b->t);
}

/* ---- small files ---- */

/* Read the whole of F (DIRFD's F->lname) into a malloc'd *BUF; -ESTALE
 * when it is no longer what was listed (size, mtime). */
int up_read_small(struct cp_job *j, int dirfd, const struct ufile *f, char **buf)
{
	int fd = openat(dirfd, f->lname, up_src_flags(j));
	size_t len = (size_t)f->st.st_size;
	struct stat st;
	ssize_t n;
	int rc = 0;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	*buf = malloc(len + 1);
	if (!*buf)
		rc = -ENOMEM;
	if (!rc) {
		n = pread(fd, *buf, len + 1, 0);
		if (n < 0)
			rc = -errno;
		else if ((size_t)n != len || fstat(fd, &st) || st.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
			 st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
			rc = -ESTALE;
	}
	close(fd);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

/* One by one: create + write + setattr (the fallback of a batch, and the
 * path of a remote without write_many). */
static int upload_small(struct cp_job *j, int dirfd, struct ufile *f)
{
	size_t len = (size_t)f->st.st_size;
	char *buf;
	int rc = up_read_small(j, dirfd, f, &buf);

	if (!rc)
		rc = j->r->ops->create(j->r, f->rpath, up_want_mode(j, &f->st), REMOTE_CREATE_TRUNC, NULL);
	if (!rc && len) {
		ssize_t n = j->r->ops->write(j->r, f->rpath, 0, buf, len);

		if (n < 0)
			rc = (int)n;
	}
	if (!rc)
		rc = up_set_meta(j, f->rpath, &f->st, true);
	free(buf);
	return rc;
}

/* Report F's outcome RC (0: count it as copied). */
void up_small_result(struct cp_job *j, const struct ufile *f, int rc)
{
	if (rc == -ESTALE)
		up_fail(j, f->rpath, 0, "the local file changed while it was copied; run again");
	else if (rc == -EINTR)
		return;
	else if (rc)
		up_fail(j, f->rpath, rc, "upload");
	if (rc)
		return;
	atomic_fetch_add(&j->prog.bytes_done, (uint64_t)f->st.st_size);
	atomic_fetch_add(&j->prog.files_done, 1);
	cp_count(j, &j->rep->bytes, (uint64_t)f->st.st_size);
	cp_count(j, &j->rep->files, 1);
}

/* S's files in one write_many request; DONE[i] set for every file that
 * needs no more work (stored, or failed on this side and reported).
 * Returns false when the batch could not be tried at all (every file is
 * then left to the one-by-one path). */
static bool usmall_batch(struct cp_job *j, struct usmall_task *s, int dirfd, bool *done)
{
	struct remote_wfile *wf = calloc(s->n, sizeof(*wf));
	size_t *idx = calloc(s->n, sizeof(*idx));
	int *errs = calloc(s->n, sizeof(*errs));
	char **bufs = calloc(s->n, sizeof(*bufs));
	const char *slash = strrchr(s->f[0].rpath, '/');
	char *rdir = slash ? strndup(s->f[0].rpath, slash == s->f[0].rpath ? 1 : (size_t)(slash - s->f[0].rpath))
			   : NULL;
	size_t k = 0;
	bool tried = false;
	int rc;

	if (!wf || !idx || !errs || !bufs || !rdir)
		goto out;
	tried = true;
	for (size_t i = 0; i < s->n && !cp_job_stopping(); i++) {
		const struct ufile *f = &s->f[i];

		rc = up_read_small(j, dirfd, f, &bufs[k]);
		if (rc) {
			up_small_result(j, f, rc); /* a local failure: nothing to retry */
			done[i] = true;
			continue;
		}
		idx[k] = i;
		wf[k].name = strrchr(f->rpath, '/') + 1;
		wf[k].mode = up_want_mode(j, &f->st);
		/* with -p, up_set_meta stamps mtime and atime after the owner */
		wf[k].set_mtime = !j->o.preserve;
		wf[k].mtime = f->st.st_mtim;
		wf[k].data = bufs[k];
		wf[k].len = (size_t)f->st.st_size;
		k++;
	}
	if (!k || cp_job_stopping())
		goto out;
	cp_progress_set_current(&j->prog, s->f[idx[0]].rpath);
	rc = j->r->ops->write_many(j->r, rdir, wf, k, errs);
	if (rc == -ENOTSUP || rc == -ENOSYS)
		atomic_store(&up_ul(j)->no_write_many, true);
	if (rc) /* nothing done: one by one says what is wrong, file by file */
		goto out;
	for (size_t b = 0; b < k; b++) {
		struct ufile *f = &s->f[idx[b]];

		if (errs[b])
			continue; /* redone one by one for the precise errno */
		done[idx[b]] = true;
		rc = j->o.preserve ? up_set_meta(j, f->rpath, &f->st, true) : 0;
		up_small_result(j, f, rc);
	}
out:
	for (size_t b = 0; bufs && b < k; b++)
		free(bufs[b]);
	free(bufs);
	free(errs);
	free(idx);
	free(wf);
	free(rdir);
	return tried;
}

static void usmall_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct usmall_task *s = (struct usmall_task *)t;
	bool *done = NULL;
	int dirfd;

	(void)claim;
	if (cp_job_stopping())
		return;
	dirfd = cp_open_beneath(s->rootfd, s->lrel);
	if (dirfd < 0) {
		up_fail(j, s->lrel, dirfd, "local directory");
		return;
	}
	if (j->r->ops->write_many && !j->o.no_batch && !atomic_load(&up_ul(j)->no_write_many)) {
		done = calloc(s->n, sizeof(*done));
		if (done && !usmall_batch(j, s, dirfd, done))
			memset(done, 0, s->n * sizeof(*done));
	}
	for (size_t i = 0; i < s->n && !cp_job_stopping(); i++) {
		if (done && done[i])
			continue;
		cp_progress_set_current(&j->prog, s->f[i].rpath);
		up_small_result(j, &s->f[i], upload_small(j, dirfd, &s->f[i]));
	}
	free(done);
	close(dirfd);
}

static void usmall_done(struct cp_job *j, struct cp_task *t)
{
	struct usmall_task *s = (struct usmall_task *)t;

	(void)j;
	for (size_t i = 0; i < s->n; i++) {
		free(s->f[i].lname);
		free(s->f[i].rpath);
	}
	free(s->f);
	free(s->lrel);
	free(s);
}

static struct usmall_task *usmall_new(int rootfd, const char *lrel)
{
	struct usmall_task *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->f = calloc(UP_BATCH_FILES, sizeof(*s->f));
	s->lrel = strdup(lrel);
	if (!s->f || !s->lrel) {
		free(s->f);
		free(s->lrel);
		free(s);
		return NULL;
	}
	s->rootfd = rootfd;
	s->t.run = usmall_run;
	s->t.done = usmall_done;
	return s;
}

/* ---- entries ---- */

static void udir_run(struct cp_job *j, struct cp_task *t, unsigned claim);
static void udir_done(struct cp_job *j, struct cp_task *t);

static void queue_udir(struct cp_job *j, int rootfd, const char *lrel, const char *rpath, bool create,
		       const struct stat *st)
{
	struct udir_task *d = calloc(1, sizeof(*d));

	if (!d || !(d->lrel = strdup(lrel)) || !(d->rpath = strdup(rpath))) {
		if (d)
			free(d->lrel);
		free(d);
		up_fail(j, rpath, -ENOMEM, NULL);
		return;
	}
	d->rootfd = rootfd;
	d->create = create;
	d->st = *st;
	d->t.run = udir_run;
	d->t.done = udir_done;
	cp_job_dir_queued(j);
	cp_job_push(j, &d->t);
}

static const struct remote_dirent *find_ent(const struct remote_dirent *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

static void finfo_of(const struct remote_dirent *e, struct cp_finfo *fi)
{
	memset(fi, 0, sizeof(*fi));
	if (!e)
		return;
	fi->exists = true;
	fi->regular = S_ISREG(e->attr.mode);
	fi->size = e->attr.size;
	fi->mtime = e->attr.mtime.tv_sec;
	fi->mtime_nsec = e->attr.mtime.tv_nsec;
}

/* Local entry LNAME of DIRFD (= LREL below ROOTFD; lstat ST) becomes
 * RPATH in the pod; EXIST/PART what the pod has there (NULL: nothing). */
void up_entry(struct cp_job *j, int rootfd, int dirfd, const char *lrel, const char *lname, const char *rpath,
		   struct stat st, const struct remote_dirent *exist, const struct remote_dirent *part,
		   struct usmall_task **small)
{
	int rc;

	if (S_ISLNK(st.st_mode) && j->o.follow) {
		if (fstatat(dirfd, lname, &st, 0)) {
			up_fail(j, rpath, -errno, "follow symlink");
			return;
		}
	}
	if (exist && S_ISDIR(exist->attr.mode) != S_ISDIR(st.st_mode) &&
	    (S_ISDIR(exist->attr.mode) || S_ISDIR(st.st_mode))) {
		up_fail(j, rpath, 0,
		       S_ISDIR(st.st_mode) ? "a file that is not a directory is in the way in the pod"
					   : "a directory is in the way in the pod");
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		char *sub = lrel[0] ? cp_join(lrel, lname) : strdup(lname);

		if (sub)
			queue_udir(j, rootfd, sub, rpath, !exist, &st);
		free(sub);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dirfd, lname, target, sizeof(target) - 1);

		if (n < 0) {
			up_fail(j, rpath, -errno, "readlink");
			return;
		}
		target[n] = '\0';
		if (exist && j->r->ops->unlink) {
			rc = j->r->ops->unlink(j->r, rpath);
			if (rc && rc != -ENOENT) {
				up_fail(j, rpath, rc, "replace");
				return;
			}
		}
		rc = j->r->ops->symlink(j->r, target, rpath, NULL);
		if (rc)
			up_fail(j, rpath, rc, "symlink");
		else
			cp_count(j, &j->rep->links, 1);
	} else if (S_ISREG(st.st_mode)) {
		struct cp_finfo src = { .exists = true, .regular = true, .size = (uint64_t)st.st_size,
					.mtime = st.st_mtim.tv_sec, .mtime_nsec = st.st_mtim.tv_nsec };
		struct cp_finfo dst, pf;
		uint64_t off;
		enum cp_action act;

		finfo_of(exist, &dst);
		finfo_of(part, &pf);
		if (j->o.checksum) {
			bool same = false;

			if (cp_same_size(&src, &dst)) {
				rc = cp_same_content(j, dirfd, lname, up_src_flags(j), rpath);
				if (rc < 0) {
					if (rc != -ENOTSUP)
						up_fail(j, rpath, rc, "checksum");
					return;
				}
				same = rc == 1;
			}
			act = cp_decide_checksum(&src, &dst, &pf, same, &off);
		} else {
			act = cp_decide(&src, &dst, &pf, &off);
		}
		if (act == CP_SKIP) {
			cp_count(j, &j->rep->skipped, 1);
			return;
		}
		if ((uint64_t)st.st_size > j->o.small || act == CP_RESUME) {
			queue_ubig(j, rootfd, lrel, lname, rpath, &st, act, off);
			return;
		}
		if (exist && !dst.regular && j->r->ops->unlink) {
			rc = j->r->ops->unlink(j->r, rpath);
			if (rc && rc != -ENOENT) {
				up_fail(j, rpath, rc, "replace");
				return;
			}
		}
		if (*small && ((*small)->n == UP_BATCH_FILES ||
			       (*small)->bytes + (uint64_t)st.st_size > UP_BATCH_BYTES)) {
			cp_job_push(j, &(*small)->t);
			*small = NULL;
		}
		if (!*small)
			*small = usmall_new(rootfd, lrel);
		if (!*small || !((*small)->f[(*small)->n].lname = strdup(lname)) ||
		    !((*small)->f[(*small)->n].rpath = strdup(rpath))) {
			if (*small)
				free((*small)->f[(*small)->n].lname);
			up_fail(j, rpath, -ENOMEM, NULL);
			return;
		}
		(*small)->f[(*small)->n++].st = st;
		(*small)->bytes += (uint64_t)st.st_size;
		atomic_fetch_add(&j->prog.files_total, 1);
		atomic_fetch_add(&j->prog.bytes_total, (uint64_t)st.st_size);
	} else if (S_ISFIFO(st.st_mode) && j->o.specials && j->r->ops->mknod) {
		rc = exist ? 0 : j->r->ops->mknod(j->r, rpath, S_IFIFO | up_want_mode(j, &st), 0, NULL);
		if (rc)
			up_fail(j, rpath, rc, "mkfifo");
		else
			cp_count(j, &j->rep->specials, 1);
	} else {
		char p[1024];

		cp_printable(rpath, p, sizeof(p));
		cp_note(j, p,
			S_ISFIFO(st.st_mode)   ? "skipped: a fifo (--specials copies it)"
			: S_ISSOCK(st.st_mode) ? "skipped: a socket"
					       : "skipped: a device file");
	}
}

void up_add_dirmeta(struct cp_job *j, const char *rpath, const struct stat *st)
{
	struct ul *u = up_ul(j);

	pthread_mutex_lock(&u->lock);
	if (u->ndirs == u->capdirs) {
		size_t nc = u->capdirs ? u->capdirs * 2 : 64;
		void *nd = realloc(u->dirs, nc * sizeof(*u->dirs));

		if (nd) {
			u->dirs = nd;
			u->capdirs = nc;
		}
	}
	if (u->ndirs < u->capdirs && (u->dirs[u->ndirs].rpath = strdup(rpath))) {
		u->dirs[u->ndirs].st = *st;
		u->ndirs++;
	}
	pthread_mutex_unlock(&u->lock);
}

static void udir_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct udir_task *d = (struct udir_task *)t;
	struct remote_dirent *ents = NULL;
	struct usmall_task *small = NULL;
	size_t n = 0;
	int dirfd, rc;
	DIR *dp;
	struct dirent *de;

	(void)claim;
	if (cp_job_stopping())
		return;
	cp_progress_set_current(&j->prog, d->rpath);
	if (d->create && up_tree_ok(j) && up_tree(j, d->rootfd, d->lrel, d->rpath, &d->st))
		return;
	dirfd = cp_open_beneath(d->rootfd, d->lrel);
	if (dirfd < 0) {
		up_fail(j, d->rpath, dirfd, "local directory");
		return;
	}
	if (d->create) {
		rc = j->r->ops->mkdir(j->r, d->rpath, 0700, NULL);
		if (rc == -EEXIST) {
			struct remote_attr a;

			rc = j->r->ops->getattr(j->r, d->rpath, &a);
			if (!rc && !S_ISDIR(a.mode))
				rc = -ENOTDIR;
			d->create = false;
		}
		if (rc) {
			up_fail(j, d->rpath, rc, "mkdir");
			close(dirfd);
			return;
		}
	}
	if (!d->create) {
		rc = j->r->ops->readdir(j->r, d->rpath, &ents, &n);
		if (rc) {
			up_fail(j, d->rpath, rc, "list");
			close(dirfd);
			return;
		}
	}
	up_add_dirmeta(j, d->rpath, &d->st);
	cp_count(j, &j->rep->dirs, 1);
	dp = fdopendir(dup(dirfd));
	if (!dp) {
		up_fail(j, d->rpath, -errno, "read local directory");
		remote_dirents_free(ents, n);
		close(dirfd);
		return;
	}
	while ((de = readdir(dp)) && !cp_job_stopping()) {
		struct stat st;
		char *rpath;
		char pn[256];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (cp_is_part_name(de->d_name))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			up_fail(j, de->d_name, -errno, "stat");
			continue;
		}
		rpath = cp_join(d->rpath, de->d_name);
		if (!rpath) {
			up_fail(j, d->rpath, -ENOMEM, NULL);
			break;
		}
		cp_part_name(de->d_name, pn);
		up_entry(j, d->rootfd, dirfd, d->lrel, de->d_name, rpath, st, find_ent(ents, n, de->d_name),
		       find_ent(ents, n, pn), &small);
		free(rpath);
	}
	closedir(dp);
	if (small)
		cp_job_push(j, &small->t);
	remote_dirents_free(ents, n);
	close(dirfd);
}

static void udir_done(struct cp_job *j, struct cp_task *t)
{
	struct udir_task *d = (struct udir_task *)t;

	cp_job_dir_done(j);
	free(d->lrel);
	free(d->rpath);
	free(d);
}

/* ---- the attempt ---- */

static void lookup(struct cp_job *j, const char *rpath, struct remote_dirent *e, bool *has)
{
	*has = j->r->ops->getattr(j->r, rpath, &e->attr) == 0;
	e->name = NULL;
}

int cp_upload_attempt(struct cp_job *j, void *arg)
{
	const struct cp_target *tg = arg;
	struct ul *u = up_ul(j);
	struct remote_attr da;
	bool into_dir;
	int rc;

	atomic_store(&j->dirs_pending, 0); /* tasks a stopped attempt dropped */
	atomic_store(&j->prog.walking, true);
	/* stamps a lost link kept us from setting last time */
	for (size_t i = 0; i < u->nstamps; i++) {
		stamp_part(j, u->stamps[i].rpath, u->stamps[i].size, u->stamps[i].mtime);
		free(u->stamps[i].rpath);
	}
	u->nstamps = 0;
	rc = j->r->ops->getattr(j->r, tg->dst, &da);
	if (rc && rc != -ENOENT) {
		up_fail(j, tg->dst, rc, "destination");
		return cp_err_is_conn(rc) ? 0 : -EINVAL;
	}
	into_dir = !rc && S_ISDIR(da.mode);
	if (!into_dir && tg->nsrc > 1) {
		up_fail(j, tg->dst, 0, "the destination of several sources must be an existing directory");
		return -EINVAL;
	}
	for (size_t i = 0; i < tg->nsrc && !cp_job_stopping(); i++) {
		const char *src = tg->srcs[i];
		bool contents = tg->contents && tg->contents[i];
		struct stat st;
		char *parent = NULL, *name = NULL, *rpath = NULL;
		int rootfd = -1;
		size_t l = strlen(src);
		char *s = strdup(src);

		if (!s)
			return -ENOMEM;
		while (l > 1 && s[l - 1] == '/')
			s[--l] = '\0';
		if ((j->o.follow || contents ? stat(s, &st) : lstat(s, &st))) {
			up_fail(j, src, -errno, "cannot copy");
			free(s);
			continue;
		}
		if (contents && !S_ISDIR(st.st_mode)) {
			up_fail(j, src, -ENOTDIR, "cannot copy the contents");
			free(s);
			continue;
		}
		if (contents) {
			rootfd = open(s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			rpath = strdup(tg->dst);
			name = strdup("");
		} else {
			char *sl = strrchr(s, '/');

			parent = sl ? (sl == s ? strdup("/") : strndup(s, (size_t)(sl - s))) : strdup(".");
			name = strdup(sl ? sl + 1 : s);
			rootfd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			if (name && (!strcmp(name, "..") || !name[0])) {
				up_fail(j, src, 0, "has no name to copy it under (name the destination)");
				if (rootfd >= 0)
					close(rootfd);
				free(s);
				free(parent);
				free(name);
				continue;
			}
			rpath = into_dir ? (name ? cp_join(tg->dst, name) : NULL) : strdup(tg->dst);
		}
		free(s);
		free(parent);
		if (rootfd < 0 || !name || !rpath || cp_job_add_root(j, rootfd)) {
			up_fail(j, src, rootfd < 0 ? -errno : -ENOMEM, "cannot copy");
			free(name);
			free(rpath);
			continue;
		}
		if (contents) {
			queue_udir(j, rootfd, "", rpath, rc != 0, &st);
		} else {
			struct remote_dirent ex = { 0 }, pt = { 0 };
			bool has_ex, has_pt;
			struct usmall_task *small = NULL;
			char pn[256], *rname = cp_basename(rpath), *rdir = strdup(rpath), *ppath = NULL;

			if (rname && rdir) {
				char *sl = strrchr(rdir, '/');

				sl[sl == rdir ? 1 : 0] = '\0';
				cp_part_name(rname, pn);
				ppath = cp_join(rdir, pn);
			}
			if (!ppath) {
				up_fail(j, src, -ENOMEM, NULL);
			} else {
				lookup(j, rpath, &ex, &has_ex);
				lookup(j, ppath, &pt, &has_pt);
				up_entry(j, rootfd, rootfd, "", name, rpath, st, has_ex ? &ex : NULL, has_pt ? &pt : NULL,
				       &small);
				if (small)
					cp_job_push(j, &small->t);
			}
			free(rname);
			free(rdir);
			free(ppath);
		}
		free(name);
		free(rpath);
	}
	cp_job_walk(j);
	/* directory modes and times, deepest first */
	for (size_t k = u->ndirs; k-- > 0;) {
		if (!cp_job_stopping()) {
			int mrc = up_set_meta(j, u->dirs[k].rpath, &u->dirs[k].st, true);

			if (mrc)
				up_fail(j, u->dirs[k].rpath, mrc, "set directory attributes");
		}
		free(u->dirs[k].rpath);
	}
	u->ndirs = 0;
	cp_job_close_roots(j);
	return 0;
}

int cp_upload(struct remote *r, const struct cp_opts *o, const char *const *srcs, const bool *contents,
	      size_t nsrc, const char *dst, struct cp_report *rep)
{
	struct cp_job j;
	struct cp_target tg = { .srcs = srcs, .contents = contents, .nsrc = nsrc, .dst = dst };
	struct ul u = { 0 };
	int rc;

	cp_job_init(&j, r, o, rep);
	if (!r->ops->create || !r->ops->mkdir || !r->ops->write || !r->ops->setattr || !r->ops->rename ||
	    !r->ops->symlink) {
		cp_fail(&j, dst, -ENOTSUP, "the remote cannot write");
		cp_job_cleanup(&j);
		return -EINVAL;
	}
	pthread_mutex_init(&u.lock, NULL);
	u.range = j.o.chunk * 4 > UP_RANGE_MIN ? j.o.chunk * 4 : UP_RANGE_MIN;
	j.dir_priv = &u;
	rc = cp_run_attempts(&j, cp_upload_attempt, &tg);
	for (size_t i = 0; i < u.nstamps; i++)
		free(u.stamps[i].rpath);
	free(u.stamps);
	free(u.dirs);
	pthread_mutex_destroy(&u.lock);
	cp_job_cleanup(&j);
	return rc;
}
