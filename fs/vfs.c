/* vfs.c: the read path's POSIX semantics (see vfs.h).
 *
 * Each operation resolves our ino to a pod path (inode.c), answers from
 * the TTL caches when they are fresh (attrcache.c) and otherwise asks the
 * remote through the r_* wrappers below, which count every call (the
 * remote_requests statistic) and log one debug line per request. File data
 * goes through the block cache (pagecache.c). Inode numbers, lookup counts
 * and identity changes are inode.c's business; this file decides when a
 * reply creates a kernel entry (lookup, readdirplus) and so adds a lookup.
 *
 * Attributes flow: remote -> attribute cache -> inode (the attributes last
 * given to the kernel) -> struct stat. Whenever fresh attributes of a
 * regular file are seen, the page cache learns its stamp, so blocks read
 * under another (mtime, size, pod inode) are dropped.
 *
 * Locks: none of its own; counters are atomics. It takes the inode, attr
 * cache and page cache locks one at a time (each is a leaf lock) and never
 * holds any of them across a remote call.
 */
#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "pagecache.h"
#include "path.h"
#include "prefetch.h"

#define STATS_MAX (64 * 1024)

struct vfs {
	struct remote *r;
	char *root;
	double attr_timeout;
	double dir_timeout;
	int uid_override, gid_override;
	bool hide_pseudo;
	struct inode_table *it;
	struct acache *ac;
	struct pcache *pc;
	struct prefetch *pf;
	bool batch_off; /* the remote cannot batch (read_many said ENOTSUP) */
	struct vfs_counters cnt; /* atomics */
};

/* Batches ("tar slices"): a directory's regular files of at most
 * PF_SMALL bytes, PF_MAX_TOTAL in all, fetched together when one of them
 * is opened and the directory's listing is fresh. */
#define PF_SMALL (64 * 1024)
#define PF_MAX_FILES 2048
#define PF_MAX_TOTAL (8u << 20)

struct vfs_file {
	uint64_t ino;
	char *path;
	struct pcache_ra ra;
	struct pcache_stamp stamp; /* as of open */
};

struct vfs_dir {
	uint64_t ino;
	uint64_t parent_ino;
	char *path;
	struct acache_listing *l;
};

void vfs_cfg_init(struct vfs_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = "/";
	cfg->attr_timeout = 1.0;
	cfg->dir_timeout = -1;
	cfg->uid_override = -1;
	cfg->gid_override = -1;
	cfg->hide_pseudo = -1;
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ---- the remote, counted and logged ---- */

/* A printable rendering of a hostile path for the log. */
static const char *esc(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 5 < cap; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c >= 0x7f || c == '\\') {
			snprintf(out + o, cap - o, "\\x%02x", c);
			o += 4;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void r_done(struct vfs *v, const char *op, const char *path, long long rc,
		   uint64_t start_us)
{
	char e[512];

	if (rc < 0)
		count(&v->cnt.remote_errors, 1);
	if (LOG_DEBUG <= log_threshold)
		log_debug("remote %s %s -> %lld (%.1f ms)", op, esc(path, e, sizeof(e)), rc,
			  (double)(mono_us() - start_us) / 1000.0);
}

static int r_getattr(struct vfs *v, const char *path, struct remote_attr *a)
{
	uint64_t t = mono_us();
	int rc;

	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_getattr, 1);
	rc = v->r->ops->getattr(v->r, path, a);
	r_done(v, "getattr", path, rc, t);
	return rc;
}

static int r_readdir(struct vfs *v, const char *path, struct remote_dirent **d, size_t *n)
{
	uint64_t t = mono_us();
	int rc;

	*d = NULL;
	*n = 0;
	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_readdir, 1);
	rc = v->r->ops->readdir(v->r, path, d, n);
	r_done(v, "readdir", path, rc ? rc : (long long)*n, t);
	return rc;
}

static ssize_t r_read(struct vfs *v, const char *path, uint64_t off, void *buf, size_t len)
{
	uint64_t t = mono_us();
	ssize_t rc;

	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_read, 1);
	rc = v->r->ops->read(v->r, path, off, buf, len);
	if (rc > 0)
		count(&v->cnt.remote_read_bytes, (uint64_t)rc);
	r_done(v, "read", path, rc, t);
	return rc;
}

static int r_readlink(struct vfs *v, const char *path, char **target)
{
	uint64_t t = mono_us();
	int rc;

	*target = NULL;
	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_readlink, 1);
	rc = v->r->ops->readlink(v->r, path, target);
	r_done(v, "readlink", path, rc, t);
	return rc;
}

static int r_statfs(struct vfs *v, const char *path, struct statvfs *out)
{
	uint64_t t = mono_us();
	int rc;

	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_statfs, 1);
	rc = v->r->ops->statfs(v->r, path, out);
	r_done(v, "statfs", path, rc, t);
	return rc;
}

/* ---- setup ---- */

int vfs_new(struct vfs **out, const struct vfs_cfg *cfg, struct remote *r)
{
	struct acache_cfg ac = { 0 };
	struct vfs *v = calloc(1, sizeof(*v));
	int rc = -ENOMEM;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->r = r;
	if (!cfg->root || cfg->root[0] != '/') {
		log_err("vfs: mount root must be an absolute path in the pod");
		rc = -EINVAL;
		goto out;
	}
	v->root = strdup(cfg->root);
	if (!v->root)
		goto out;
	/* "/a/b/" -> "/a/b": remote paths never end in '/' */
	for (size_t n = strlen(v->root); n > 1 && v->root[n - 1] == '/'; n--)
		v->root[n - 1] = '\0';
	v->attr_timeout = cfg->attr_timeout >= 0 ? cfg->attr_timeout : 1.0;
	v->dir_timeout = cfg->dir_timeout >= 0 ? cfg->dir_timeout : v->attr_timeout;
	v->uid_override = cfg->uid_override;
	v->gid_override = cfg->gid_override;
	v->hide_pseudo = cfg->hide_pseudo < 0 ? strcmp(v->root, "/") == 0 : cfg->hide_pseudo != 0;
	ac.attr_ttl_ns = (uint64_t)(v->attr_timeout * 1e9);
	ac.dir_ttl_ns = (uint64_t)(v->dir_timeout * 1e9);
	ac.max_attrs = cfg->max_attrs;
	ac.max_dirs = cfg->max_dirs;
	ac.clock = cfg->clock;
	ac.clock_arg = cfg->clock_arg;
	if ((rc = inode_table_new(&v->it, v->root)) || (rc = acache_new(&v->ac, &ac)) ||
	    (rc = pcache_new(&v->pc, cfg->cache_size)) ||
	    (rc = pf_new(&v->pf, (cfg->cache_size ? cfg->cache_size : 64u << 20) / 4)))
		goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	vfs_free(v);
	return rc;
}

void vfs_free(struct vfs *v)
{
	if (!v)
		return;
	pcache_free(v->pc);
	pf_free(v->pf);
	acache_free(v->ac);
	inode_table_free(v->it);
	free(v->root);
	free(v);
}

double vfs_attr_timeout(const struct vfs *v)
{
	return v->attr_timeout;
}

/* ---- helpers ---- */

static void to_stat(const struct vfs *v, uint64_t ino, const struct remote_attr *a,
		    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = v->uid_override >= 0 ? (uid_t)v->uid_override : a->uid;
	st->st_gid = v->gid_override >= 0 ? (gid_t)v->gid_override : a->gid;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = PCACHE_BLOCK;
	st->st_rdev = (dev_t)a->rdev;
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

static void to_ident(const struct remote_attr *a, struct inode_ident *id)
{
	id->dev = a->dev;
	id->ino = a->ino;
	id->type = a->mode & S_IFMT;
}

static void to_stamp(const struct remote_attr *a, struct pcache_stamp *s)
{
	s->mtime = a->mtime;
	s->size = a->size;
	s->pod_ino = a->ino;
}

static bool same_data(const struct remote_attr *a, const struct remote_attr *b)
{
	return a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->size == b->size && a->ino == b->ino && a->dev == b->dev;
}

/* Fresh attributes of INO were seen and are about to reach the kernel. */
static void note_attr(struct vfs *v, uint64_t ino, const struct remote_attr *a)
{
	inode_set_attr(v->it, ino, a, acache_now(v->ac));
	if (S_ISREG(a->mode)) {
		struct pcache_stamp s;

		to_stamp(a, &s);
		if (pcache_set_stamp(v->pc, ino, &s, false))
			log_debug("vfs: ino %llu changed in the pod; cached data dropped",
				  (unsigned long long)ino);
	}
}

/* Attributes of PATH from the cache when fresh, else from the remote
 * (remembering the answer, negative ones included). */
static int get_attr(struct vfs *v, const char *path, struct remote_attr *a)
{
	int rc;

	switch (acache_get_attr(v->ac, path, a)) {
	case ACACHE_HIT:
		return 0;
	case ACACHE_NEGATIVE:
		return -ENOENT;
	case ACACHE_MISS:
		break;
	}
	rc = r_getattr(v, path, a);
	if (rc == 0)
		acache_put_attr(v->ac, path, a);
	else if (rc == -ENOENT)
		acache_put_negative(v->ac, path);
	return rc;
}

static bool hidden_dir(const struct vfs *v, const char *path)
{
	return v->hide_pseudo && path_is_pseudo(path);
}

/* Drop entries a hostile or broken pod may send that no path could name
 * ("", ".", "..", a '/' inside, longer than NAME_MAX), compacting D. */
static size_t sanitize(const char *dir, struct remote_dirent *d, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = d[i].name;
		size_t len = s ? strlen(s) : 0;

		if (!s || len == 0 || len > PATH_NAME_MAX || strchr(s, '/') ||
		    strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
			free(d[i].name);
			continue;
		}
		d[k++] = d[i];
	}
	if (k < n) {
		char e[512];

		log_warn("vfs: listing of %s: ignored %zu entries with impossible names",
			 esc(dir, e, sizeof(e)), n - k);
	}
	return k;
}

/* The listing of directory PATH: cached when fresh, else one remote
 * readdir (cached, and priming the attributes of every entry). */
static int get_listing(struct vfs *v, const char *path, struct acache_listing **out)
{
	struct remote_dirent *d;
	size_t n;
	int rc;

	*out = NULL;
	if (hidden_dir(v, path))
		return acache_listing_new(out, NULL, 0);
	if (acache_get_dir(v->ac, path, out) == ACACHE_HIT)
		return 0;
	rc = r_readdir(v, path, &d, &n);
	if (rc) {
		if (rc == -ENOENT)
			acache_put_negative(v->ac, path);
		return rc;
	}
	n = sanitize(path, d, n);
	rc = acache_listing_new(out, d, n);
	if (rc)
		return rc;
	rc = acache_put_dir(v->ac, path, *out);
	if (rc) {
		acache_listing_unref(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- operations ---- */

int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *out)
{
	struct remote_attr a;
	struct inode_ident id;
	char *ppath = NULL, *path = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = inode_path(v->it, parent, &ppath);
	if (rc)
		goto out;
	if (hidden_dir(v, ppath)) {
		rc = -ENOENT;
		goto out;
	}
	rc = path_join(&path, ppath, name);
	if (rc == -EINVAL)
		rc = -ENOENT; /* "." and ".." are the kernel's; nothing else is invalid */
	if (rc)
		goto out;
	switch (acache_get_attr(v->ac, path, &a)) {
	case ACACHE_HIT:
		break;
	case ACACHE_NEGATIVE:
		rc = -ENOENT;
		goto out;
	case ACACHE_MISS:
		switch (acache_dir_lookup(v->ac, ppath, name, &a)) {
		case ACACHE_HIT:
			break;
		case ACACHE_NEGATIVE:
			rc = -ENOENT;
			goto out;
		case ACACHE_MISS:
			rc = r_getattr(v, path, &a);
			if (rc == -ENOENT)
				acache_put_negative(v->ac, path);
			if (rc)
				goto out;
			acache_put_attr(v->ac, path, &a);
			break;
		}
		break;
	}
	to_ident(&a, &id);
	rc = inode_ref(v->it, path, &id, &out->ino, &out->generation);
	if (rc)
		goto out;
	note_attr(v, out->ino, &a);
	to_stat(v, out->ino, &a, &out->st);
out:
	free(ppath);
	free(path);
	return rc;
}

int vfs_forget(struct vfs *v, uint64_t ino, uint64_t n)
{
	int rc = inode_forget(v->it, ino, n);

	if (rc == 1)
		pcache_drop_file(v->pc, ino);
	return rc < 0 ? rc : 0;
}

int vfs_getattr(struct vfs *v, uint64_t ino, struct stat *st)
{
	struct remote_attr a;
	char *path = NULL;
	int rc;

	rc = inode_path(v->it, ino, &path);
	if (rc)
		goto out;
	rc = get_attr(v, path, &a);
	if (rc)
		goto out;
	note_attr(v, ino, &a);
	to_stat(v, ino, &a, st);
out:
	free(path);
	return rc;
}

int vfs_readlink(struct vfs *v, uint64_t ino, char **target)
{
	struct remote_attr a;
	char *path = NULL;
	int rc;

	*target = NULL;
	rc = inode_path(v->it, ino, &path);
	if (rc)
		goto out;
	if (acache_get_link(v->ac, path, target) == ACACHE_HIT)
		goto out;
	rc = r_readlink(v, path, target);
	if (rc)
		goto out;
	/* The target is cached with the attributes and expires with them;
	 * without fresh attributes there is nothing to hang it on. */
	if (acache_get_attr(v->ac, path, &a) == ACACHE_HIT)
		acache_put_link(v->ac, path, *target);
out:
	free(path);
	return rc;
}

struct batch_ctx {
	struct vfs *v;
	const char *dir;
	struct acache_listing *l;
};

static int batch_file(void *arg, const char *name, const void *data, size_t len)
{
	struct batch_ctx *c = arg;
	const struct remote_dirent *e = acache_listing_find(c->l, name);
	struct pcache_stamp s;
	char *path;

	if (!e || !S_ISREG(e->attr.mode) || e->attr.size != len)
		return 0; /* not asked for, or changed since the listing: read it normally */
	to_stamp(&e->attr, &s);
	if (path_join(&path, c->dir, name) == 0) {
		pf_put(c->v->pf, path, &s, data, len);
		free(path);
	}
	return 0;
}

/* PATH (a small regular file) is being opened: if its directory's listing
 * is fresh and the directory was not batch-fetched within dir_timeout,
 * fetch all its small files in one request. */
static void maybe_batch(struct vfs *v, const char *path)
{
	struct acache_listing *l = NULL;
	const char **names = NULL;
	char *dir = strdup(path), *slash;
	size_t k = 0, total = 0;
	uint64_t t;
	int rc;

	if (!dir || !v->r->ops->read_many || __atomic_load_n(&v->batch_off, __ATOMIC_RELAXED))
		goto out;
	slash = strrchr(dir, '/');
	if (!slash)
		goto out;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (acache_get_dir(v->ac, dir, &l) != ACACHE_HIT)
		goto out;
	names = calloc(PF_MAX_FILES, sizeof(*names));
	if (!names)
		goto out;
	for (size_t i = 0; i < l->n && k < PF_MAX_FILES; i++) {
		const struct remote_attr *a = &l->ents[i].attr;

		if (!S_ISREG(a->mode) || a->size == 0 || a->size > PF_SMALL || total + a->size > PF_MAX_TOTAL)
			continue;
		names[k++] = l->ents[i].name;
		total += a->size;
	}
	if (k < 2 || !pf_dir_claim(v->pf, dir, acache_now(v->ac), (uint64_t)(v->dir_timeout * 1e9)))
		goto out;
	struct batch_ctx c = { v, dir, l };

	t = mono_us();
	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_read_many, 1);
	rc = v->r->ops->read_many(v->r, dir, names, k, PF_SMALL, PF_MAX_TOTAL, batch_file, &c);
	r_done(v, "read_many", dir, rc ? rc : (long long)k, t);
	if (rc == -ENOTSUP)
		__atomic_store_n(&v->batch_off, true, __ATOMIC_RELAXED);
out:
	acache_listing_unref(l);
	free(names);
	free(dir);
}

int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *keep_cache)
{
	struct remote_attr a, old;
	struct pcache_stamp s;
	struct vfs_file *f = NULL;
	char *path = NULL;
	int rc;

	*out = NULL;
	*keep_cache = false;
	rc = inode_path(v->it, ino, &path);
	if (rc)
		goto out;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
		rc = -EROFS;
		goto out;
	}
	/* close-to-open: attributes older than attr_timeout are fetched
	 * again; fresher ones (a listing's included) are trusted */
	rc = get_attr(v, path, &a);
	if (rc)
		goto out;
	if (S_ISDIR(a.mode)) {
		rc = -EISDIR;
		goto out;
	}
	to_stamp(&a, &s);
	if (pcache_set_stamp(v->pc, ino, &s, true))
		log_debug("vfs: ino %llu changed in the pod since its data was cached",
			  (unsigned long long)ino);
	*keep_cache = inode_get_attr(v->it, ino, &old, NULL) == 0 && same_data(&a, &old);
	inode_set_attr(v->it, ino, &a, acache_now(v->ac));
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->ino = ino;
	f->stamp = s;
	if (S_ISREG(a.mode) && a.size > 0 && a.size <= PF_SMALL)
		maybe_batch(v, path);
	f->path = path;
	path = NULL;
	*out = f;
out:
	free(path);
	return rc;
}

struct fetch_ctx {
	struct vfs *v;
	const char *path;
	const struct pcache_stamp *stamp;
};

static ssize_t fetch(void *arg, uint64_t off, void *buf, size_t len)
{
	struct fetch_ctx *c = arg;
	ssize_t n = pf_read(c->v->pf, c->path, c->stamp, off, buf, len);

	if (n != -ENOENT)
		return n; /* from a batch */
	return r_read(c->v, c->path, off, buf, len);
}

ssize_t vfs_read(struct vfs *v, struct vfs_file *f, uint64_t off, void *buf, size_t len)
{
	struct fetch_ctx c = { v, f->path, &f->stamp };

	return pcache_read(v->pc, f->ino, &f->ra, off, buf, len, fetch, &c);
}

void vfs_release(struct vfs *v, struct vfs_file *f)
{
	(void)v;
	if (!f)
		return;
	free(f->path);
	free(f);
}

/* The ino of PATH's parent directory for "..", or VFS_UNKNOWN_INO. */
static uint64_t parent_ino(struct vfs *v, const char *path, uint64_t ino)
{
	char *p, *slash;
	uint64_t r;

	if (ino == INODE_ROOT)
		return INODE_ROOT; /* the mount's root is its own parent here */
	p = strdup(path);
	if (!p)
		return VFS_UNKNOWN_INO;
	slash = strrchr(p, '/');
	if (slash == p)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	r = inode_find(v->it, p);
	free(p);
	return r ? r : VFS_UNKNOWN_INO;
}

int vfs_opendir(struct vfs *v, uint64_t ino, struct vfs_dir **out)
{
	struct vfs_dir *d = NULL;
	char *path = NULL;
	int rc;

	*out = NULL;
	rc = inode_path(v->it, ino, &path);
	if (rc)
		goto out;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	rc = get_listing(v, path, &d->l);
	if (rc)
		goto out;
	d->ino = ino;
	d->parent_ino = parent_ino(v, path, ino);
	d->path = path;
	path = NULL;
	*out = d;
	d = NULL;
out:
	free(path);
	vfs_releasedir(v, d);
	return rc;
}

size_t vfs_dir_count(const struct vfs_dir *d)
{
	return d->l->n + 2;
}

int vfs_dir_entry(struct vfs *v, struct vfs_dir *d, size_t i, bool plus, const char **name,
		  struct vfs_entry *e)
{
	const struct remote_dirent *de;
	struct inode_ident id;
	char *path = NULL;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (i >= vfs_dir_count(d))
		return -ENOENT;
	if (i < 2) {
		*name = i == 0 ? "." : "..";
		e->st.st_ino = (ino_t)(i == 0 ? d->ino : d->parent_ino);
		e->st.st_mode = S_IFDIR;
		return 0;
	}
	de = &d->l->ents[i - 2];
	*name = de->name;
	rc = path_join(&path, d->path, de->name);
	if (rc)
		return rc;
	if (plus) {
		to_ident(&de->attr, &id);
		rc = inode_ref(v->it, path, &id, &e->ino, &e->generation);
		if (rc)
			goto out;
		note_attr(v, e->ino, &de->attr);
		to_stat(v, e->ino, &de->attr, &e->st);
	} else {
		uint64_t ino = inode_find(v->it, path);

		to_stat(v, ino ? ino : VFS_UNKNOWN_INO, &de->attr, &e->st);
	}
out:
	free(path);
	return rc;
}

int vfs_dir_rewind(struct vfs *v, struct vfs_dir *d)
{
	struct acache_listing *l;
	int rc = get_listing(v, d->path, &l);

	if (rc)
		return rc;
	acache_listing_unref(d->l);
	d->l = l;
	return 0;
}

void vfs_releasedir(struct vfs *v, struct vfs_dir *d)
{
	(void)v;
	if (!d)
		return;
	acache_listing_unref(d->l);
	free(d->path);
	free(d);
}

int vfs_statfs(struct vfs *v, uint64_t ino, struct statvfs *out)
{
	char *path = NULL;
	int rc = inode_path(v->it, ino, &path);

	if (rc)
		return rc;
	free(path);
	memset(out, 0, sizeof(*out));
	rc = r_statfs(v, v->root, out);
	if (rc == 0)
		out->f_flag |= ST_RDONLY;
	return rc;
}

int vfs_access(struct vfs *v, uint64_t ino, int mask)
{
	struct remote_attr a;
	char *path = NULL;
	int rc;

	rc = inode_path(v->it, ino, &path);
	if (rc)
		goto out;
	rc = get_attr(v, path, &a);
	if (rc)
		goto out;
	if (mask & W_OK)
		rc = -EROFS;
	else if ((mask & X_OK) && !S_ISDIR(a.mode) && !(a.mode & 0111))
		rc = -EACCES;
out:
	free(path);
	return rc;
}

/* ---- statistics ---- */

void vfs_get_counters(struct vfs *v, struct vfs_counters *out)
{
	out->remote_requests = load(&v->cnt.remote_requests);
	out->remote_getattr = load(&v->cnt.remote_getattr);
	out->remote_readdir = load(&v->cnt.remote_readdir);
	out->remote_read = load(&v->cnt.remote_read);
	out->remote_readlink = load(&v->cnt.remote_readlink);
	out->remote_statfs = load(&v->cnt.remote_statfs);
	out->remote_errors = load(&v->cnt.remote_errors);
	out->remote_read_bytes = load(&v->cnt.remote_read_bytes);
	out->remote_read_many = load(&v->cnt.remote_read_many);
}

int vfs_stats_text(struct vfs *v, char **text, size_t *len)
{
	struct vfs_counters c;
	struct acache_stats as;
	struct pcache_stats ps;
	struct buf b;
	char *extra = NULL;
	int rc;

	*text = NULL;
	*len = 0;
	uint64_t pf_files, pf_bytes, pf_served;

	vfs_get_counters(v, &c);
	pf_stats(v->pf, &pf_files, &pf_bytes, &pf_served);
	acache_get_stats(v->ac, &as);
	pcache_get_stats(v->pc, &ps);
	buf_init(&b, STATS_MAX);
	rc = buf_printf(&b,
			"remote_requests %llu\n"
			"remote_getattr %llu\n"
			"remote_readdir %llu\n"
			"remote_read %llu\n"
			"remote_readlink %llu\n"
			"remote_statfs %llu\n"
			"remote_errors %llu\n"
			"remote_read_bytes %llu\n"
			"remote_read_many %llu\n"
			"page_cache_hits %llu\n"
			"page_cache_misses %llu\n"
			"page_cache_fetches %llu\n"
			"page_cache_readahead_blocks %llu\n"
			"page_cache_bytes %zu\n"
			"attr_cache_hits %llu\n"
			"negative_cache_hits %llu\n"
			"dir_cache_hits %llu\n"
			"attr_cache_misses %llu\n"
			"attr_cache_entries %zu\n"
			"dir_cache_entries %zu\n"
			"inodes %zu\n"
			"batched_files %llu\n"
			"batched_files_read %llu\n",
			(unsigned long long)c.remote_requests, (unsigned long long)c.remote_getattr,
			(unsigned long long)c.remote_readdir, (unsigned long long)c.remote_read,
			(unsigned long long)c.remote_readlink, (unsigned long long)c.remote_statfs,
			(unsigned long long)c.remote_errors,
			(unsigned long long)c.remote_read_bytes, (unsigned long long)c.remote_read_many,
			(unsigned long long)ps.hits,
			(unsigned long long)ps.misses, (unsigned long long)ps.fetches,
			(unsigned long long)ps.readahead_blocks, ps.bytes,
			(unsigned long long)as.attr_hits, (unsigned long long)as.negative_hits,
			(unsigned long long)as.dir_hits, (unsigned long long)as.misses, as.attrs,
			as.dirs, inode_count(v->it), (unsigned long long)pf_files, (unsigned long long)pf_served);
	if (rc)
		goto out;
	if (v->r->ops->stats && (extra = v->r->ops->stats(v->r))) {
		rc = buf_append_str(&b, extra);
		if (rc == 0 && b.len && b.data[b.len - 1] != '\n')
			rc = buf_append_str(&b, "\n");
		if (rc)
			goto out;
	}
	*len = b.len;
	*text = buf_take(&b);
	if (!*text)
		rc = -ENOMEM;
out:
	free(extra);
	buf_cleanup(&b);
	return rc;
}

int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, char **value, size_t *len)
{
	int rc;

	*value = NULL;
	*len = 0;
	rc = inode_info(v->it, ino, NULL, NULL);
	if (rc)
		return rc;
	if (ino != INODE_ROOT || strcmp(name, VFS_STATS_XATTR) != 0)
		return -ENODATA;
	return vfs_stats_text(v, value, len);
}

int vfs_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len)
{
	static const char names[] = VFS_STATS_XATTR; /* with its NUL */
	int rc = inode_info(v->it, ino, NULL, NULL);

	*list = NULL;
	*len = 0;
	if (rc || ino != INODE_ROOT)
		return rc;
	*list = malloc(sizeof(names));
	if (!*list)
		return -ENOMEM;
	memcpy(*list, names, sizeof(names));
	*len = sizeof(names);
	return 0;
}

/* ---- the write side: a read-only filesystem ---- */

static int rofs(struct vfs *v, uint64_t ino)
{
	int rc = inode_info(v->it, ino, NULL, NULL);

	return rc ? rc : -EROFS;
}

int vfs_setattr(struct vfs *v, uint64_t ino)
{
	return rofs(v, ino);
}

int vfs_mknod(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_unlink(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_symlink(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname)
{
	int rc = inode_info(v->it, newparent, NULL, NULL);

	(void)name;
	(void)newname;
	return rc ? rc : rofs(v, parent);
}

int vfs_link(struct vfs *v, uint64_t ino, uint64_t newparent, const char *newname)
{
	int rc = inode_info(v->it, newparent, NULL, NULL);

	(void)newname;
	return rc ? rc : rofs(v, ino);
}

int vfs_create(struct vfs *v, uint64_t parent, const char *name)
{
	(void)name;
	return rofs(v, parent);
}

int vfs_write(struct vfs *v, uint64_t ino)
{
	return rofs(v, ino);
}

int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name)
{
	(void)name;
	return rofs(v, ino);
}

int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name)
{
	(void)name;
	return rofs(v, ino);
}

int vfs_fallocate(struct vfs *v, uint64_t ino)
{
	return rofs(v, ino);
}
