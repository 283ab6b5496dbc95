/* uptree.c: a local directory that is not in the pod yet, copied whole in
 * few write_many calls (see upload_int.h) - kubectl cp's one tar, with
 * podfs cp's checks.
 *
 * The task that found the pod directory missing walks the local subtree
 * here, depth first. Directories and small files become entries of a tree
 * batch (at most TB_ENTRIES entries and TB_BYTES of data), named below the
 * new directory's parent; a full batch goes to the workers while the walk
 * goes on. Each batch starts with the directories the walk is in, so
 * batches do not depend on each other and run in parallel (making a
 * directory that is there is no error).
 * A directory whose entries all went in one batch gets its mode and mtime
 * from that batch (write_many sets them after the files). A directory
 * still being walked when its batch is sent, or one that gets an entry
 * another way, is written 0700 and gets its mode and times at the end of
 * the attempt with the others (up_add_dirmeta). Entries another way:
 * big files, symlinks and fifos, done after the batch that makes their
 * directory by up_entry (as the directory-by-directory walk does them),
 * and directories deeper than TB_DEPTH below the walk's top, which
 * become new walks of their own. Entries a batch did not store are done
 * one by one (mkdir; create + write + setattr), which gives the precise
 * errno for the report.
 * Memory: a batch holds its files' data; at most TB_INFLIGHT batches are
 * queued or running, past that the walker sends its batch itself.
 */
#include "upload_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TB_ENTRIES 4096
#define TB_BYTES (8u << 20)
#define TB_DEPTH 48
#define TB_INFLIGHT 4

struct tent {
	uint32_t type; /* S_IFDIR or S_IFREG */
	char *rel;     /* below the batch's directory */
	char *rpath;
	struct stat st;
	char *data; /* files */
	bool final; /* directories: the batch sets the real mode and mtime */
};

struct tdefer {
	char *lrel, *lname, *rpath;
	struct stat st;
};

struct tbatch {
	struct cp_task t;
	int rootfd;
	char *rdir;
	struct tent *e;
	size_t n, cap;
	uint64_t bytes;
	struct tdefer *d;
	size_t nd, capd;
};

struct tframe {
	char *rel, *rpath;
	struct stat st;
	long ent;    /* its entry in the batch being filled, or -1 */
	bool shared; /* mode and times at the end of the attempt */
};

struct twalk {
	struct cp_job *j;
	int rootfd;
	char *rdir;
	struct tbatch *cur;
	struct tframe *fr; /* the directories the walk is in, outermost first */
	size_t depth, capfr;
	bool nomem;
};

bool up_tree_ok(struct cp_job *j)
{
	return j->r->ops->write_many && !j->o.no_batch && !j->o.preserve && !j->o.follow &&
	       !atomic_load(&up_ul(j)->no_write_many);
}

/* ---- a batch ---- */

static void tb_free(struct tbatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].rel);
		free(b->e[i].rpath);
		free(b->e[i].data);
	}
	for (size_t i = 0; i < b->nd; i++) {
		free(b->d[i].lrel);
		free(b->d[i].lname);
		free(b->d[i].rpath);
	}
	free(b->e);
	free(b->d);
	free(b->rdir);
	free(b);
}

/* Directory entry E, where the batch could not make it. */
static void one_dir(struct cp_job *j, const struct tent *e)
{
	int rc = j->r->ops->mkdir(j->r, e->rpath, 0700, NULL);

	if (rc == -EEXIST) {
		struct remote_attr a;

		rc = j->r->ops->getattr(j->r, e->rpath, &a);
		if (!rc && !S_ISDIR(a.mode))
			rc = -ENOTDIR;
	}
	if (rc)
		up_fail(j, e->rpath, rc, "mkdir");
	else if (e->final)
		up_add_dirmeta(j, e->rpath, &e->st);
}

/* File entry E, where the batch did not store it. */
static int one_file(struct cp_job *j, const struct tent *e)
{
	size_t len = (size_t)e->st.st_size;
	int rc = j->r->ops->create(j->r, e->rpath, up_want_mode(j, &e->st), REMOTE_CREATE_TRUNC, NULL);

	if (!rc && len) {
		ssize_t n = j->r->ops->write(j->r, e->rpath, 0, e->data, len);

		if (n < 0)
			rc = (int)n;
	}
	return rc ? rc : up_set_meta(j, e->rpath, &e->st, true);
}

static void tb_run(struct cp_job *j, struct cp_task *t, unsigned claim)
{
	struct tbatch *b = (struct tbatch *)t;
	struct remote_wfile *wf = calloc(b->n + 1, sizeof(*wf));
	int *errs = calloc(b->n + 1, sizeof(*errs));
	struct usmall_task *small = NULL;
	char *dlrel = NULL;
	int dirfd = -1, rc = -ENOMEM;

	(void)claim;
	if (cp_job_stopping())
		goto out;
	for (size_t i = 0; wf && i < b->n; i++) {
		const struct tent *e = &b->e[i];
		bool dir = e->type == S_IFDIR;

		wf[i].name = e->rel;
		wf[i].type = e->type;
		wf[i].mode = dir && !e->final ? 0700 : up_want_mode(j, &e->st);
		wf[i].set_mtime = !dir || e->final;
		wf[i].mtime = e->st.st_mtim;
		wf[i].data = e->data;
		wf[i].len = dir ? 0 : (size_t)e->st.st_size;
	}
	if (b->n)
		cp_progress_set_current(&j->prog, b->e[b->n - 1].rpath);
	if (wf && errs)
		rc = b->n ? j->r->ops->write_many(j->r, b->rdir, wf, b->n, errs) : 0;
	if (rc == -ENOTSUP || rc == -ENOSYS)
		atomic_store(&up_ul(j)->no_write_many, true);
	bool redo = rc != 0;

	for (size_t i = 0; i < b->n; i++)
		redo = redo || errs[i];
	for (size_t i = 0; i < b->n && !cp_job_stopping(); i++) {
		const struct tent *e = &b->e[i];
		int err = rc ? rc : errs[i];

		if (e->type == S_IFDIR) {
			if (err)
				one_dir(j, e);
			else if (redo && e->final) /* files made one by one touch it */
				up_add_dirmeta(j, e->rpath, &e->st);
			continue;
		}
		if (err) {
			cp_progress_set_current(&j->prog, e->rpath);
			err = one_file(j, e);
		}
		up_small_result(j, &(struct ufile){ .rpath = e->rpath, .st = e->st }, err);
	}
	/* what goes another way, now that its directory is there */
	for (size_t i = 0; i < b->nd && !cp_job_stopping(); i++) {
		const struct tdefer *d = &b->d[i];

		if (!dlrel || strcmp(dlrel, d->lrel)) {
			if (dirfd >= 0)
				close(dirfd);
			free(dlrel);
			dlrel = strdup(d->lrel);
			dirfd = cp_open_beneath(b->rootfd, d->lrel);
		}
		if (dirfd < 0) {
			up_fail(j, d->rpath, dirfd, "local directory");
			continue;
		}
		up_entry(j, b->rootfd, dirfd, d->lrel, d->lname, d->rpath, d->st, NULL, NULL, &small);
	}
	if (small)
		cp_job_push(j, (struct cp_task *)small);
	if (dirfd >= 0)
		close(dirfd);
	free(dlrel);
out:
	free(wf);
	free(errs);
}

static void tb_done(struct cp_job *j, struct cp_task *t)
{
	atomic_fetch_sub(&up_ul(j)->tree_inflight, 1);
	tb_free((struct tbatch *)t);
}

/* ---- the walk ---- */

static void nomem(struct twalk *w, const char *rpath)
{
	if (!w->nomem)
		up_fail(w->j, rpath, -ENOMEM, NULL);
	w->nomem = true;
}

static long tb_add(struct twalk *w, uint32_t type, const char *rel, const char *rpath, const struct stat *st,
		   char *data)
{
	struct tbatch *b = w->cur;
	struct tent *e;

	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		void *ne = realloc(b->e, nc * sizeof(*b->e));

		if (!ne)
			goto fail;
		b->e = ne;
		b->cap = nc;
	}
	e = &b->e[b->n];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->st = *st;
	e->final = true;
	e->rel = strdup(rel);
	e->rpath = strdup(rpath);
	if (!e->rel || !e->rpath) {
		free(e->rel);
		free(e->rpath);
		goto fail;
	}
	e->data = data;
	b->bytes += type == S_IFDIR ? 0 : (uint64_t)st->st_size;
	return (long)b->n++;
fail:
	free(data);
	nomem(w, rpath);
	return -1;
}

/* A new batch, holding the directories the walk is in. */
static int tb_start(struct twalk *w)
{
	struct tbatch *b = calloc(1, sizeof(*b));

	if (!b || !(b->rdir = strdup(w->rdir))) {
		free(b);
		nomem(w, w->rdir);
		return -ENOMEM;
	}
	b->rootfd = w->rootfd;
	b->t.run = tb_run;
	b->t.done = tb_done;
	w->cur = b;
	for (size_t i = 0; i < w->depth; i++) {
		w->fr[i].ent = tb_add(w, S_IFDIR, w->fr[i].rel, w->fr[i].rpath, &w->fr[i].st, NULL);
		if (w->fr[i].ent < 0)
			return -ENOMEM;
		w->cur->e[w->fr[i].ent].final = false; /* (shared: see tb_send) */
	}
	return 0;
}

/* F's mode and times are set at the end, not by a batch. */
static void share(struct twalk *w, struct tframe *f)
{
	if (f->shared)
		return;
	f->shared = true;
	up_add_dirmeta(w->j, f->rpath, &f->st);
	if (f->ent >= 0 && w->cur)
		w->cur->e[f->ent].final = false;
}

static void tb_send(struct twalk *w)
{
	struct tbatch *b = w->cur;
	struct ul *u = up_ul(w->j);

	if (!b)
		return;
	/* the directories the walk is in go on in the next batch */
	for (size_t i = 0; i < w->depth; i++)
		share(w, &w->fr[i]);
	for (size_t i = 0; i < w->depth; i++)
		w->fr[i].ent = -1;
	w->cur = NULL;
	if (b->n == 0 && b->nd == 0) {
		tb_free(b);
		return;
	}
	if (atomic_fetch_add(&u->tree_inflight, 1) < TB_INFLIGHT) {
		cp_job_push(w->j, &b->t);
	} else {
		/* enough in flight: this thread sends it (never waits for the
		 * workers, which may all be walkers) */
		tb_run(w->j, &b->t, 0);
		tb_done(w->j, &b->t);
	}
}

/* Room for one more entry of BYTES bytes in the batch being filled. */
static int room(struct twalk *w, uint64_t bytes)
{
	if (w->cur && (w->cur->n + 1 > TB_ENTRIES || w->cur->bytes + bytes > TB_BYTES))
		tb_send(w);
	return w->cur ? 0 : tb_start(w);
}

static void defer(struct twalk *w, const char *lrel, const char *lname, const char *rpath, const struct stat *st)
{
	struct tbatch *b;
	struct tdefer *d;

	if (room(w, 0))
		return;
	b = w->cur;
	share(w, &w->fr[w->depth - 1]);
	if (b->nd == b->capd) {
		size_t nc = b->capd ? b->capd * 2 : 16;
		void *nd = realloc(b->d, nc * sizeof(*b->d));

		if (!nd) {
			nomem(w, rpath);
			return;
		}
		b->d = nd;
		b->capd = nc;
	}
	d = &b->d[b->nd];
	d->lrel = strdup(lrel);
	d->lname = strdup(lname);
	d->rpath = strdup(rpath);
	d->st = *st;
	if (!d->lrel || !d->lname || !d->rpath) {
		free(d->lrel);
		free(d->lname);
		free(d->rpath);
		nomem(w, rpath);
		return;
	}
	b->nd++;
}

static int push_frame(struct twalk *w, const char *rel, const char *rpath, const struct stat *st, long ent)
{
	struct tframe *f;

	if (w->depth == w->capfr) {
		size_t nc = w->capfr ? w->capfr * 2 : 16;
		void *nf = realloc(w->fr, nc * sizeof(*w->fr));

		if (!nf)
			return -ENOMEM;
		w->fr = nf;
		w->capfr = nc;
	}
	f = &w->fr[w->depth];
	memset(f, 0, sizeof(*f));
	f->rel = strdup(rel);
	f->rpath = strdup(rpath);
	f->st = *st;
	f->ent = ent;
	if (!f->rel || !f->rpath) {
		free(f->rel);
		free(f->rpath);
		return -ENOMEM;
	}
	w->depth++;
	return 0;
}

static void pop_frame(struct twalk *w)
{
	struct tframe *f = &w->fr[--w->depth];

	free(f->rel);
	free(f->rpath);
}

/* Local directory DIRFD (LREL below the root; lstat ST) as REL below the
 * batches' directory, RPATH in the pod. */
static void walk(struct twalk *w, int dirfd, const char *lrel, const char *rel, const char *rpath,
		 const struct stat *st)
{
	struct cp_job *j = w->j;
	struct dirent *de;
	DIR *dp;
	long ent;

	if (room(w, 0))
		return;
	ent = tb_add(w, S_IFDIR, rel, rpath, st, NULL);
	if (ent < 0)
		return;
	if (push_frame(w, rel, rpath, st, ent)) {
		nomem(w, rpath);
		return;
	}
	cp_count(j, &j->rep->dirs, 1);
	int dfd = dup(dirfd);

	dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dp) {
		up_fail(j, rpath, -errno, "read local directory");
		if (dfd >= 0)
			close(dfd);
		pop_frame(w);
		return;
	}
	while (!w->nomem && !cp_job_stopping() && (de = readdir(dp))) {
		struct stat cst;
		char *crel = NULL, *crpath = NULL, *clrel = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || cp_is_part_name(de->d_name))
			continue;
		crpath = cp_join(rpath, de->d_name);
		if (fstatat(dirfd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW)) {
			up_fail(j, crpath ? crpath : de->d_name, -errno, "stat");
			free(crpath);
			continue;
		}
		crel = cp_join(rel, de->d_name);
		clrel = lrel[0] ? cp_join(lrel, de->d_name) : strdup(de->d_name);
		if (!crel || !crpath || !clrel) {
			nomem(w, rpath);
		} else if (S_ISDIR(cst.st_mode) && w->depth < TB_DEPTH) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0) {
				up_fail(j, crpath, -errno, "local directory");
			} else {
				walk(w, fd, clrel, crel, crpath, &cst);
				close(fd);
			}
		} else if (S_ISREG(cst.st_mode) && (uint64_t)cst.st_size <= j->o.small) {
			struct ufile f = { .lname = de->d_name, .rpath = crpath, .st = cst };
			char *data = NULL;
			int rc = up_read_small(j, dirfd, &f, &data);

			if (rc) {
				up_small_result(j, &f, rc);
			} else if (room(w, (uint64_t)cst.st_size)) {
				free(data);
			} else if (tb_add(w, S_IFREG, crel, crpath, &cst, data) >= 0) { /* (frees DATA if not) */
				atomic_fetch_add(&j->prog.files_total, 1);
				atomic_fetch_add(&j->prog.bytes_total, (uint64_t)cst.st_size);
			}
		} else {
			defer(w, lrel, de->d_name, crpath, &cst);
		}
		free(crel);
		free(crpath);
		free(clrel);
	}
	closedir(dp);
	pop_frame(w);
}

bool up_tree(struct cp_job *j, int rootfd, const char *lrel, const char *rpath, const struct stat *st)
{
	const char *sl = strrchr(rpath, '/');
	struct twalk w = { .j = j, .rootfd = rootfd };
	int dirfd;

	if (!sl || !sl[1])
		return false; /* no parent to name the entries below */
	w.rdir = sl == rpath ? strdup("/") : strndup(rpath, (size_t)(sl - rpath));
	dirfd = w.rdir ? cp_open_beneath(rootfd, lrel) : -ENOMEM;
	if (dirfd < 0) {
		free(w.rdir);
		return false;
	}
	walk(&w, dirfd, lrel, sl + 1, rpath, st);
	tb_send(&w);
	close(dirfd);
	while (w.depth)
		pop_frame(&w);
	free(w.fr);
	free(w.rdir);
	return true;
}
