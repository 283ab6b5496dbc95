/* download.c: pod -> local (see cp.h).
 *
 * Tasks (pool.c runs them on the workers):
 *   dir    list one pod directory (one readdir), create the local
 *          directory, make symlinks and special files at once, and queue
 *          its small files in batches, its big files and subdirectories;
 *   batch  up to CP_BATCH_FILES small files of one directory: one
 *          read_many (a tar slice) where the pod can, file by file after;
 *   big    one file in ranges of o.chunk bytes, one claim per range, so
 *          the workers read a big file in parallel; done() verifies the
 *          size and that the pod's file did not change, sets the metadata
 *          and renames the part file into place, or, on failure, cuts the
 *          part file to its complete prefix and stamps it with the
 *          source's mtime so that the next run continues it.
 * Directory modes and times are set at the end, deepest first (a
 * read-only directory is filled before it becomes read-only).
 *
 * Every name from the pod passes cp_name_ok before it is used; every
 * local directory is reached with cp_open_beneath from the destination's
 * fd. Locks: dl->lock (directory list, visited set) alone.
 */
#include "cp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dirmeta {
	int rootfd;
	char *lrel;
	struct remote_attr a;
};

struct dl {
	pthread_mutex_t lock;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	struct { uint64_t dev, ino; } *vis;
	size_t nvis, capvis;
};

struct dir_task {
	struct cp_task t;
	int rootfd;
	char *rpath; /* the pod directory */
	char *lrel;  /* the local directory below rootfd ("" = rootfd) */
	bool create; /* make lrel (else it exists: rootfd itself) */
	struct remote_attr a;
};

struct bfile {
	char *rname; /* name in the pod directory */
	char *lname; /* name in the local directory */
	struct remote_attr a;
	bool done;
};

struct batch_task {
	struct cp_task t;
	int rootfd;
	char *rdir, *lrel;
	struct bfile *f;
	size_t n, cap, bytes;
	size_t cursor; /* read_many delivers in order: start looking here */
	int dirfd;
};

struct big_task {
	struct cp_task t;
	int rootfd;
	char *rpath, *lrel, *lname;
	struct remote_attr a;
	uint64_t off0;
	bool resume;
	pthread_mutex_t lock;
	bool opened;
	int dirfd, fd;
	int err;
	unsigned char *done; /* per claim */
};

static struct dl *DL(struct cp_job *j)
{
	return j->dir_priv;
}

/* "lrel/name" for messages and for the next level */
static char *rel_join(const char *lrel, const char *name)
{
	return lrel[0] ? cp_join(lrel, name) : strdup(name);
}

static void fail_p(struct cp_job *j, const char *rpath, int err, const char *what)
{
	char p[1024];

	cp_printable(rpath, p, sizeof(p));
	cp_fail(j, p, err, what);
}

static void note_p(struct cp_job *j, const char *rpath, const char *what)
{
	char p[1024];

	cp_printable(rpath, p, sizeof(p));
	cp_note(j, p, what);
}

/* A directory seen before (with -L: a loop)? Records it otherwise. */
static bool visited(struct cp_job *j, const struct remote_attr *a)
{
	struct dl *d = DL(j);
	bool seen = false;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nvis; i++)
		if (d->vis[i].dev == a->dev && d->vis[i].ino == a->ino) {
			seen = true;
			break;
		}
	if (!seen) {
		if (d->nvis == d->capvis) {
			size_t nc = d->capvis ? d->capvis * 2 : 64;
			void *nv = realloc(d->vis, nc * sizeof(*d->vis));

			if (nv) {
				d->vis = nv;
				d->capvis = nc;
			}
		}
		if (d->nvis < d->capvis) {
			d->vis[d->nvis].dev = a->dev;
			d->vis[d->nvis].ino = a->ino;
			d->nvis++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return seen;
}

static void add_dirmeta(struct cp_job *j, int rootfd, const char *lrel, const struct remote_attr *a)
{
	struct dl *d = DL(j);

	pthread_mutex_lock(&d->lock);
	if (d->ndirs == d->capdirs) {
		size_t nc = d->capdirs ? d->capdirs * 2 : 64;
		void *nd = realloc(d->dirs, nc * sizeof(*d->dirs));

		if (nd) {
			d->dirs = nd;
			d->capdirs = nc;
		}
	}
	if (d->ndirs < d->capdirs) {
		d->dirs[d->ndirs].rootfd = rootfd;
		d->dirs[d->ndirs].lrel = strdup(lrel);
		d->dirs[d->ndirs].a = *a;
		if (d->dirs[d->ndirs].lrel)
			d->ndirs++;
	}
	pthread_mutex_unlock(&d->lock);
}

/* -L: the attributes of what PATH points to, and its resolved path. */
static int follow_link(struct cp_job *j, const char *path, char **resolved, struct remote_attr *a)
{
	char *cur = strdup(path);
	int rc = cur ? 0 : -ENOMEM;

	for (int hops = 0; !rc; hops++) {
		char *target = NULL, *dir, *joined, *clean = NULL;

		rc = j->r->ops->getattr(j->r, cur, a);
		if (rc || !S_ISLNK(a->mode))
			break;
		if (hops == 40) {
			rc = -ELOOP;
			break;
		}
		rc = j->r->ops->readlink(j->r, cur, &target);
		if (rc)
			break;
		if (target[0] == '/') {
			joined = strdup(target);
		} else {
			dir = strdup(cur);
			if (dir) {
				char *s = strrchr(dir, '/');

				if (s == dir)
					s[1] = '\0';
				else if (s)
					*s = '\0';
			}
			joined = dir ? cp_join(dir, target) : NULL;
			free(dir);
		}
		free(target);
		if (!joined)
			rc = -ENOMEM;
		else
			rc = cp_remote_path("/", joined, &clean, NULL);
		free(joined);
		free(cur);
		cur = clean;
	}
	if (rc) {
		free(cur);
		return rc;
	}
	*resolved = cur;
	return 0;
}

/* ---- big files ---- */

static void big_run(struct cp_job *j, struct cp_task *t, unsigned claim);
static void big_done(struct cp_job *j, struct cp_task *t);

static void queue_big(struct cp_job *j, int rootfd, const char *rpath, const char *lrel, const char *lname,
		      const struct remote_attr *a, enum cp_action act, uint64_t off)
{
	struct big_task *b = calloc(1, sizeof(*b));
	uint64_t left = a->size - (act == CP_RESUME ? off : 0);
	uint64_t claims = left ? (left + j->o.chunk - 1) / j->o.chunk : 1;

	if (!b || !(b->rpath = strdup(rpath)) || !(b->lrel = strdup(lrel)) || !(b->lname = strdup(lname)) ||
	    !(b->done = calloc((size_t)claims, 1))) {
		if (b) {
			free(b->rpath);
			free(b->lrel);
			free(b->lname);
			free(b);
		}
		fail_p(j, rpath, -ENOMEM, NULL);
		return;
	}
	b->rootfd = rootfd;
	b->a = *a;
	b->resume = act == CP_RESUME;
	b->off0 = b->resume ? off : 0;
	b->dirfd = b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	b->t.claims = (unsigned)claims;
	b->t.run = big_run;
	b->t.done = big_done;
	atomic_fetch_add(&j->prog.files_total, 1);
	atomic_fetch_add(&j->prog.bytes_total, left);
	if (b->resume)
		cp_count(j, &j->rep->resumed, 1);
	cp_job_push(j, &b->t);
}

static int big_open(struct cp_job *j, struct big_task *b)
{
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	if (!b->opened) {
		b->opened = true;
		b->dirfd = cp_open_beneath(b->rootfd, b->lrel);
		if (b->dirfd < 0) {
			b->err = b->dirfd;
		} else {
			b->fd = cp_local_open_part(b->dirfd, b->lname, b->resume);
			if (b->fd < 0 && b->resume) {
				b->resume = false; /* vanished meanwhile: from 0 */
				b->fd = -1;
				b->err = -EAGAIN;
			} else if (b->fd < 0) {
				b->err = b->fd;
			}
		}
	}
	rc = b->err;
	pthread_mutex_unlock(&b->lock);
	(void)j;
	return rc;
}

static void big_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct big_task *b = (struct big_task *)t;
	uint64_t off = b->off0 + (uint64_t)claim * j->o.chunk;
	size_t len = off >= b->a.size ? 0 : (size_t)(b->a.size - off < j->o.chunk ? b->a.size - off : j->o.chunk);
	char *buf = NULL;
	ssize_t n;
	int rc;

	if (cp_job_stopping()) {
		rc = -EINTR;
		goto out;
	}
	rc = big_open(j, b);
	if (rc || len == 0)
		goto out;
	cp_progress_set_current(&j->prog, b->rpath);
	buf = malloc(len);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	n = j->r->ops->read(j->r, b->rpath, off, buf, len);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if ((size_t)n != len) {
		rc = -ESTALE; /* shorter than listed: it changed */
		goto out;
	}
	rc = cp_pwrite_all(b->fd, buf, len, off);
	if (!rc) {
		atomic_fetch_add(&j->prog.bytes_done, len);
		cp_count(j, &j->rep->bytes, len);
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

static void big_done(struct cp_job *j, struct cp_task *t)
{
	struct big_task *b = (struct big_task *)t;
	struct remote_attr now;
	struct stat st;
	int rc = b->err;

	if (!rc && (fstat(b->fd, &st) || (uint64_t)st.st_size != b->a.size))
		rc = -EIO;
	if (!rc) {
		rc = j->r->ops->getattr(j->r, b->rpath, &now);
		if (!rc && (now.size != b->a.size || !cp_mtime_eq(now.mtime.tv_sec, now.mtime.tv_nsec,
								  b->a.mtime.tv_sec, b->a.mtime.tv_nsec)))
			rc = -ESTALE;
	}
	if (!rc)
		rc = cp_local_meta(j, b->fd, &b->a);
	if (!rc) {
		if (close(b->fd))
			rc = -errno;
		b->fd = -1;
	}
	if (!rc)
		rc = cp_local_commit(b->dirfd, b->lname);
	if (!rc) {
		atomic_fetch_add(&j->prog.files_done, 1);
		cp_count(j, &j->rep->files, 1);
	} else if (b->fd >= 0 && rc != -ESTALE) {
		/* Keep the complete prefix, stamped for the next run. */
		uint64_t prefix = b->off0;
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, b->a.mtime };

		for (unsigned i = 0; i < t->claims && b->done[i]; i++)
			prefix = b->off0 + (uint64_t)(i + 1) * j->o.chunk;
		if (prefix > b->a.size)
			prefix = b->a.size;
		if (ftruncate(b->fd, (off_t)prefix) == 0)
			futimens(b->fd, ts);
	}
	if (rc && rc != -EINTR) {
		if (rc == -ESTALE)
			fail_p(j, b->rpath, 0, "changed in the pod while it was copied; run again");
		else if (rc == -EAGAIN)
			fail_p(j, b->rpath, 0, "the part file vanished; run again");
		else
			fail_p(j, b->rpath, rc, "copy");
	}
	if (b->fd >= 0)
		close(b->fd);
	if (b->dirfd >= 0)
		close(b->dirfd);
	pthread_mutex_destroy(&b->lock);
	free(b->rpath);
	free(b->lrel);
	free(b->lname);
	free(b->done);
	free(b);
}

/* ---- batches of small files ---- */

static void batch_free(struct batch_task *bt)
{
	for (size_t i = 0; i < bt->n; i++) {
		free(bt->f[i].rname);
		free(bt->f[i].lname);
	}
	free(bt->f);
	free(bt->rdir);
	free(bt->lrel);
	free(bt);
}

static void batch_file_done(struct cp_job *j, struct batch_task *bt, struct bfile *f, const void *data, size_t len)
{
	int rc = cp_local_write_file(j, bt->dirfd, f->lname, data, len, &f->a, len == f->a.size);

	f->done = true;
	if (rc) {
		char *p = cp_join(bt->rdir, f->rname);

		fail_p(j, p ? p : f->rname, rc, "write");
		free(p);
		return;
	}
	atomic_fetch_add(&j->prog.bytes_done, len);
	atomic_fetch_add(&j->prog.files_done, 1);
	cp_count(j, &j->rep->bytes, len);
	cp_count(j, &j->rep->files, 1);
}

static int many_cb(void *arg, const char *name, const void *data, size_t len)
{
	void **a = arg;
	struct cp_job *j = a[0];
	struct batch_task *bt = a[1];

	for (size_t k = 0; k < bt->n; k++) {
		size_t i = (bt->cursor + k) % bt->n;
		struct bfile *f = &bt->f[i];

		if (!f->done && !strcmp(f->rname, name)) {
			bt->cursor = i + 1;
			batch_file_done(j, bt, f, data, len);
			return cp_job_stopping() ? -EINTR : 0;
		}
	}
	return 0; /* not ours: ignored */
}

static void batch_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct batch_task *bt = (struct batch_task *)t;
	char *buf = NULL;

	(void)claim;
	if (cp_job_stopping())
		return;
	bt->dirfd = cp_open_beneath(bt->rootfd, bt->lrel);
	if (bt->dirfd < 0) {
		fail_p(j, bt->rdir, bt->dirfd, "local directory");
		return;
	}
	cp_progress_set_current(&j->prog, bt->f[0].rname);
	if (!atomic_load(&j->no_batch) && bt->n > 1) {
		const char **names = malloc(bt->n * sizeof(*names));
		void *arg[2] = { j, bt };
		int rc;

		if (names) {
			for (size_t i = 0; i < bt->n; i++)
				names[i] = bt->f[i].rname;
			rc = j->r->ops->read_many(j->r, bt->rdir, names, bt->n, j->o.small,
						  bt->bytes + 64 * 1024, many_cb, arg);
			if (rc == -ENOTSUP)
				atomic_store(&j->no_batch, true);
			free(names);
		}
	}
	buf = malloc(j->o.small + 1);
	for (size_t i = 0; buf && i < bt->n && !cp_job_stopping(); i++) {
		struct bfile *f = &bt->f[i];
		char *p;
		ssize_t n;

		if (f->done)
			continue;
		p = cp_join(bt->rdir, f->rname);
		if (!p) {
			fail_p(j, f->rname, -ENOMEM, NULL);
			continue;
		}
		cp_progress_set_current(&j->prog, p);
		n = j->r->ops->read(j->r, p, 0, buf, j->o.small + 1);
		if (n < 0)
			fail_p(j, p, (int)n, "read");
		else if ((size_t)n > j->o.small)
			fail_p(j, p, 0, "grew in the pod while it was copied; run again");
		else
			batch_file_done(j, bt, f, buf, (size_t)n);
		free(p);
	}
	if (!buf)
		fail_p(j, bt->rdir, -ENOMEM, NULL);
	free(buf);
	close(bt->dirfd);
	bt->dirfd = -1;
}

static void batch_done(struct cp_job *j, struct cp_task *t)
{
	(void)j;
	batch_free((struct batch_task *)t);
}

static struct batch_task *batch_new(int rootfd, const char *rdir, const char *lrel)
{
	struct batch_task *bt = calloc(1, sizeof(*bt));

	if (!bt)
		return NULL;
	bt->rootfd = rootfd;
	bt->dirfd = -1;
	bt->rdir = strdup(rdir);
	bt->lrel = strdup(lrel);
	bt->t.run = batch_run;
	bt->t.done = batch_done;
	if (!bt->rdir || !bt->lrel) {
		batch_free(bt);
		return NULL;
	}
	return bt;
}

static int batch_add(struct batch_task *bt, const char *rname, const char *lname, const struct remote_attr *a)
{
	if (bt->n == bt->cap) {
		size_t nc = bt->cap ? bt->cap * 2 : 16;
		struct bfile *nf = realloc(bt->f, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		bt->f = nf;
		bt->cap = nc;
	}
	bt->f[bt->n].rname = strdup(rname);
	bt->f[bt->n].lname = strdup(lname);
	bt->f[bt->n].a = *a;
	bt->f[bt->n].done = false;
	if (!bt->f[bt->n].rname || !bt->f[bt->n].lname) {
		free(bt->f[bt->n].rname);
		free(bt->f[bt->n].lname);
		return -ENOMEM;
	}
	bt->n++;
	bt->bytes += a->size;
	return 0;
}

/* ---- one entry of a listing (or a top-level source) ---- */

static void dir_run(struct cp_job *j, struct cp_task *t, unsigned claim);
static void dir_done(struct cp_job *j, struct cp_task *t);

static void queue_dir(struct cp_job *j, int rootfd, const char *rpath, const char *lrel, bool create,
		      const struct remote_attr *a)
{
	struct dir_task *d = calloc(1, sizeof(*d));

	if (!d || !(d->rpath = strdup(rpath)) || !(d->lrel = strdup(lrel))) {
		if (d)
			free(d->rpath);
		free(d);
		fail_p(j, rpath, -ENOMEM, NULL);
		return;
	}
	d->rootfd = rootfd;
	d->create = create;
	d->a = *a;
	d->t.run = dir_run;
	d->t.done = dir_done;
	cp_job_dir_queued(j);
	cp_job_push(j, &d->t);
}

/* Entry RNAME of pod directory RDIR (RPATH = RDIR/RNAME, attributes A)
 * becomes LNAME in local directory DIRFD (= LREL below ROOTFD). Small
 * regular files are added to *BATCH (queued when full). */
static void entry(struct cp_job *j, int rootfd, int dirfd, const char *rdir, const char *lrel, const char *rname,
		  const char *lname, const char *rpath, struct remote_attr a, struct batch_task **batch, int depth)
{
	char *resolved = NULL;
	int rc;

	if (S_ISLNK(a.mode) && j->o.follow) {
		rc = follow_link(j, rpath, &resolved, &a);
		if (rc) {
			fail_p(j, rpath, rc, "follow symlink");
			return;
		}
		rpath = resolved;
	}
	if (S_ISDIR(a.mode)) {
		char *sub = rel_join(lrel, lname);

		if (j->o.follow && visited(j, &a))
			note_p(j, rpath, "skipped: directory seen before (a symlink loop)");
		else if (sub)
			queue_dir(j, rootfd, rpath, sub, true, &a);
		free(sub);
	} else if (S_ISLNK(a.mode)) {
		char *target = NULL;

		rc = j->r->ops->readlink(j->r, rpath, &target);
		if (!rc && (!target[0] || strlen(target) >= 4096))
			rc = -ENAMETOOLONG;
		if (!rc)
			rc = cp_local_symlink(dirfd, lname, target);
		if (rc)
			fail_p(j, rpath, rc, "symlink");
		else
			cp_count(j, &j->rep->links, 1);
		free(target);
	} else if (S_ISREG(a.mode)) {
		struct cp_finfo src = { .exists = true, .regular = true, .size = a.size, .mtime = a.mtime.tv_sec,
					.mtime_nsec = a.mtime.tv_nsec };
		struct cp_finfo dst, part;
		struct stat st;
		char pname[256];
		uint64_t off;
		enum cp_action act;

		cp_part_name(lname, pname);
		rc = cp_local_finfo(dirfd, lname, &dst, &st);
		if (!rc && dst.exists && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		if (!rc)
			rc = cp_local_finfo(dirfd, pname, &part, NULL);
		if (rc) {
			fail_p(j, rpath, rc, "local file");
			goto out;
		}
		if (j->o.checksum) {
			bool same = false;

			if (cp_same_size(&src, &dst)) {
				rc = cp_same_content(j, dirfd, lname, O_NOFOLLOW, rpath);
				if (rc < 0) {
					if (rc != -ENOTSUP)
						fail_p(j, rpath, rc, "checksum");
					goto out;
				}
				same = rc == 1;
			}
			act = cp_decide_checksum(&src, &dst, &part, same, &off);
		} else {
			act = cp_decide(&src, &dst, &part, &off);
		}
		if (act == CP_SKIP) {
			cp_count(j, &j->rep->skipped, 1);
			goto out;
		}
		if (a.size > j->o.small || act == CP_RESUME) {
			queue_big(j, rootfd, rpath, lrel, lname, &a, act, off);
			goto out;
		}
		if (*batch && ((*batch)->n >= CP_BATCH_FILES || (*batch)->bytes + a.size > CP_BATCH_BYTES)) {
			cp_job_push(j, &(*batch)->t);
			*batch = NULL;
		}
		if (!*batch)
			*batch = batch_new(rootfd, rdir, lrel);
		if (!*batch || batch_add(*batch, rname, lname, &a)) {
			fail_p(j, rpath, -ENOMEM, NULL);
			goto out;
		}
		atomic_fetch_add(&j->prog.files_total, 1);
		atomic_fetch_add(&j->prog.bytes_total, a.size);
	} else if (S_ISFIFO(a.mode) && j->o.specials) {
		if (mkfifoat(dirfd, lname, a.mode & 0777) && errno != EEXIST)
			fail_p(j, rpath, -errno, "mkfifo");
		else
			cp_count(j, &j->rep->specials, 1);
	} else if ((S_ISCHR(a.mode) || S_ISBLK(a.mode)) && j->o.specials && j->is_root) {
		if (mknodat(dirfd, lname, (a.mode & (S_IFMT | 0777)), (dev_t)a.rdev) && errno != EEXIST)
			fail_p(j, rpath, -errno, "mknod");
		else
			cp_count(j, &j->rep->specials, 1);
	} else {
		note_p(j, rpath,
		       S_ISFIFO(a.mode)   ? "skipped: a fifo (--specials copies it)"
		       : S_ISSOCK(a.mode) ? "skipped: a socket"
		       : j->o.specials    ? "skipped: a device file (needs root)"
					  : "skipped: a device file (--specials copies it, as root)");
	}
out:
	free(resolved);
	(void)depth;
}

static void dir_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct dir_task *d = (struct dir_task *)t;
	struct remote_dirent *ents = NULL;
	struct batch_task *batch = NULL;
	size_t n = 0;
	int dirfd = -1, rc;

	(void)claim;
	if (cp_job_stopping())
		return;
	cp_progress_set_current(&j->prog, d->rpath);
	if (d->create) {
		char *slash = strrchr(d->lrel, '/');
		char *parent = slash ? strndup(d->lrel, (size_t)(slash - d->lrel)) : strdup("");
		int pfd = parent ? cp_open_beneath(d->rootfd, parent) : -ENOMEM;

		free(parent);
		dirfd = pfd < 0 ? pfd : cp_local_mkdir(pfd, slash ? slash + 1 : d->lrel, 0700);
		if (pfd >= 0)
			close(pfd);
		if (dirfd == -EEXIST) {
			fail_p(j, d->rpath, 0, "a local file that is not a directory is in the way");
			return;
		}
	} else {
		dirfd = cp_open_beneath(d->rootfd, d->lrel);
	}
	if (dirfd < 0) {
		fail_p(j, d->rpath, dirfd, "local directory");
		return;
	}
	if (d->create)
		add_dirmeta(j, d->rootfd, d->lrel, &d->a);
	rc = j->r->ops->readdir(j->r, d->rpath, &ents, &n);
	if (rc) {
		fail_p(j, d->rpath, rc, "list");
		close(dirfd);
		return;
	}
	cp_count(j, &j->rep->dirs, 1);
	for (size_t i = 0; i < n && !cp_job_stopping(); i++) {
		char *rpath;

		if (!cp_name_ok(ents[i].name)) {
			char p[1024], msg[1400];

			cp_printable(ents[i].name, p, sizeof(p));
			snprintf(msg, sizeof(msg), "the pod listed the entry '%s', which cannot be a file name; refused", p);
			fail_p(j, d->rpath, 0, msg);
			continue;
		}
		if (cp_is_part_name(ents[i].name))
			continue; /* our own leftovers in the pod */
		rpath = cp_join(d->rpath, ents[i].name);
		if (!rpath) {
			fail_p(j, d->rpath, -ENOMEM, NULL);
			break;
		}
		entry(j, d->rootfd, dirfd, d->rpath, d->lrel, ents[i].name, ents[i].name, rpath, ents[i].attr, &batch,
		      0);
		free(rpath);
	}
	if (batch)
		cp_job_push(j, &batch->t);
	remote_dirents_free(ents, n);
	close(dirfd);
}

static void dir_done(struct cp_job *j, struct cp_task *t)
{
	struct dir_task *d = (struct dir_task *)t;

	cp_job_dir_done(j);
	free(d->rpath);
	free(d->lrel);
	free(d);
}

/* ---- the attempt ---- */

static void dirs_finish(struct cp_job *j, struct dl *d)
{
	for (size_t k = d->ndirs; k-- > 0;) {
		struct dirmeta *m = &d->dirs[k];
		int fd = cp_open_beneath(m->rootfd, m->lrel);

		if (fd >= 0) {
			int rc = cp_local_meta(j, fd, &m->a);

			if (rc)
				fail_p(j, m->lrel, rc, "set directory attributes");
			close(fd);
		}
		free(m->lrel);
	}
	free(d->dirs);
	d->dirs = NULL;
	d->ndirs = d->capdirs = 0;
}

/* Strip trailing slashes of a local path (keeping "/"), malloc'd. */
static char *strip_slashes(const char *p)
{
	char *s = strdup(p);
	size_t l = s ? strlen(s) : 0;

	while (l > 1 && s[l - 1] == '/')
		s[--l] = '\0';
	return s;
}

int cp_download_attempt(struct cp_job *j, void *arg)
{
	const struct cp_target *tg = arg;
	struct dl d = { 0 };
	struct stat st;
	bool into_dir;
	int rc = 0;
	char *dst = strip_slashes(tg->dst);

	if (!dst)
		return -ENOMEM;
	pthread_mutex_init(&d.lock, NULL);
	j->dir_priv = &d;
	atomic_store(&j->dirs_pending, 0); /* tasks a stopped attempt dropped */
	atomic_store(&j->prog.walking, true);
	into_dir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
	if (!into_dir && tg->nsrc > 1) {
		cp_fail(j, tg->dst, 0, "the destination of several sources must be an existing directory");
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < tg->nsrc && !cp_job_stopping(); i++) {
		const char *src = tg->srcs[i];
		bool contents = (tg->contents && tg->contents[i]) || !strcmp(src, "/");
		struct remote_attr a;
		char *resolved = NULL, *name = NULL, *rdir = NULL;
		int rootfd = -1;

		rc = j->r->ops->getattr(j->r, src, &a);
		if (!rc && S_ISLNK(a.mode) && (j->o.follow || contents)) {
			rc = follow_link(j, src, &resolved, &a);
			if (!rc)
				src = resolved;
		}
		if (rc) {
			fail_p(j, src, rc, "cannot copy");
			free(resolved);
			if (rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES)
				rc = 0;
			continue;
		}
		if (contents && !S_ISDIR(a.mode)) {
			fail_p(j, src, -ENOTDIR, "cannot copy the contents");
			free(resolved);
			continue;
		}
		/* Where it goes: ROOTFD (the directory we write below) and the name in it. */
		if (into_dir) {
			rootfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			name = cp_basename(src);
		} else if (contents) {
			if (mkdir(dst, 0700) && errno != EEXIST) {
				rc = -errno;
			} else {
				rootfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (rootfd >= 0)
					add_dirmeta(j, rootfd, "", &a);
			}
			name = strdup("");
		} else {
			char *slash = strrchr(dst, '/');
			char *parent = slash ? (slash == dst ? strdup("/") : strndup(dst, (size_t)(slash - dst)))
					     : strdup(".");

			rootfd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			name = strdup(slash ? slash + 1 : dst);
			free(parent);
		}
		if (rootfd < 0 && !rc)
			rc = -errno;
		if (!rc && !name)
			rc = -ENOMEM;
		if (!rc && rootfd >= 0)
			rc = cp_job_add_root(j, rootfd);
		else if (rootfd >= 0)
			close(rootfd);
		if (rc) {
			cp_fail(j, tg->dst, rc, "destination");
			free(name);
			free(resolved);
			goto out;
		}
		if (name[0] && !cp_name_ok(name)) {
			fail_p(j, src, 0, "has no name to copy it under (name the destination)");
			free(name);
			free(resolved);
			continue;
		}
		if (contents) {
			queue_dir(j, rootfd, src, "", false, &a);
		} else if (S_ISDIR(a.mode)) {
			if (j->o.follow)
				visited(j, &a);
			queue_dir(j, rootfd, src, name, true, &a);
		} else {
			struct batch_task *batch = NULL;
			char *rname = cp_basename(src);

			rdir = strdup(src);
			if (rdir && rname) {
				char *s = strrchr(rdir, '/');

				if (s == rdir)
					s[1] = '\0';
				else if (s)
					*s = '\0';
				entry(j, rootfd, rootfd, rdir, "", rname, name, src, a, &batch, 0);
			} else {
				fail_p(j, src, -ENOMEM, NULL);
			}
			if (batch)
				cp_job_push(j, &batch->t);
			free(rname);
			free(rdir);
		}
		free(name);
		free(resolved);
	}
	/* The workers start now: everything queued so far, and what the
	 * directory tasks find. */
	cp_job_walk(j);
	if (!cp_job_stopping())
		dirs_finish(j, &d);
	rc = 0;
out:
	for (size_t k = 0; k < d.ndirs; k++)
		free(d.dirs[k].lrel);
	free(d.dirs);
	cp_job_close_roots(j);
	free(d.vis);
	pthread_mutex_destroy(&d.lock);
	j->dir_priv = NULL;
	free(dst);
	return rc;
}

int cp_download(struct remote *r, const struct cp_opts *o, const char *const *srcs, const bool *contents,
		size_t nsrc, const char *dst, struct cp_report *rep)
{
	struct cp_job j;
	struct cp_target tg = { .srcs = srcs, .contents = contents, .nsrc = nsrc, .dst = dst };
	int rc;

	cp_job_init(&j, r, o, rep);
	rc = cp_run_attempts(&j, cp_download_attempt, &tg);
	cp_job_cleanup(&j);
	return rc;
}
