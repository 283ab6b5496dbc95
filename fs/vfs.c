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
 * Locks: counters are atomics. The inode, attr cache and page cache locks
 * and v->wlock are leaf locks, taken one at a time and never held across a
 * remote call (so is v->ahead_lock: the thread fetching batches ahead
 * calls the remote without it; readers of a directory whose batch is in
 * flight wait in prefetch.c, holding nothing). The one exception is a file's write lock (struct wstate
 * lock, only for files open for writing): it serialises that file's
 * writes, flushes, setattr and the attribute fetches of its readers, and
 * is held across their remote calls, so a stale answer can never overtake
 * a newer change of the same file.
 */
#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dirty.h"
#include "inode.h"
#include "log.h"
#include "pagecache.h"
#include "path.h"
#include "prefetch.h"

#define STATS_MAX (64 * 1024)

/* A directory missed while its parent was subtree-listed within the
 * last TREE_WALK_TTLS dir_timeouts (a walk going on) is listed through
 * its parent: one request refreshes the siblings the walk goes to next,
 * instead of one each. TREE_RECENT such parents are remembered. */
#define TREE_WALK_TTLS 10
#define TREE_RECENT 16

struct vfs {
	struct remote *r;
	char *root;
	double attr_timeout;
	double dir_timeout;
	int uid_override, gid_override;
	int64_t map_pod_uid, map_local_uid, map_pod_gid, map_local_gid;
	bool hide_pseudo;
	struct inode_table *it;
	struct acache *ac;
	struct pcache *pc;
	struct prefetch *pf;
	bool batch_off; /* the remote cannot batch (read_many said ENOTSUP) */
	bool ro;	/* read-only: every change is EROFS */
	bool no_stream; /* the remote cannot stream writes (v4 server) */
	pthread_mutex_t wlock; /* guards wlist and trees (leaf lock) */
	/* batches fetched ahead (a leaf lock; the thread calls the remote
	 * without it) */
	pthread_mutex_t ahead_lock;
	pthread_cond_t ahead_cond, ahead_idle;
	pthread_t ahead_thread;
	bool ahead_started, ahead_stop, ahead_busy;
	char *ahead_job; /* the directory a reader reached, or NULL */
	struct {
		char *path;
		uint64_t at;
	} trees[TREE_RECENT]; /* directories lately listed with what is below them */
	unsigned next_tree;
	char *neg_dir;	       /* the directory of the last lookup the pod said -ENOENT to */
	uint64_t neg_at;       /* ... when (acache clock); both under wlock */
	struct wstate *wlist;  /* files with writable handles or unsent data */
	struct vfs_counters cnt; /* atomics */
	uint64_t log_seq;	 /* debug lines' request numbers (atomic) */
};

/* Batches ("tar slices"): a directory's regular files of at most
 * PF_SMALL bytes, PF_MAX_TOTAL in all, fetched together when one of them
 * is opened and the directory's listing is fresh. */
#define PF_SMALL (64 * 1024)
#define PF_MAX_FILES 4096
#define PF_MAX_TOTAL (8u << 20)
#define PF_MAX_DIRS 8 /* directories in one batch (with the siblings next in line) */
/* a batch fetched ahead starts at most this many sibling directories
 * after the reader's: halfway through a batch, the one after the next */
#define AHEAD_DIRS (PF_MAX_DIRS + PF_MAX_DIRS / 2)
#define BATCH_WAIT_MS 30000 /* a reader waits this long for a batch in flight */

/* Subtree listings: as many levels below a directory being listed (at
 * most TREE_DEPTH) as hold at most TREE_ENTRIES entries, in one request
 * (a find or ls -R over a tree costs a few requests, not one per
 * directory). */
#define TREE_DEPTH 4
#define TREE_ENTRIES 32768

/* Write state of one file (shared by its writable handles; see the write
 * side below). */
struct wstate {
	struct wstate *next;
	uint64_t ino;
	unsigned refs;		/* writable handles + temporary users */
	pthread_mutex_t lock;	/* serialises writes and flushes of the file */
	struct dirty d;		/* written, not sent */
	struct remote_wstream *ws; /* open write stream, or NULL */
	uint64_t ws_pos;	/* the offset the stream writes next */
	uint64_t size;		/* the file's size as our writes left it ... */
	bool active;		/* ... valid while data is unsent or in a stream */
	bool orphan;		/* unlinked while open: its data goes nowhere */
	bool no_stream;		/* opening a write stream failed: requests only */
	int err;		/* first failure not yet reported by flush/fsync */
};

struct vfs_file {
	uint64_t ino;
	struct wstate *w; /* writable handles only */
	char *path;
	struct pcache_ra ra;
	struct pcache_stamp stamp; /* as of open */
	struct remote_attr attr;   /* as of open */
	bool keep;		   /* the kernel's cached pages were kept */
};

struct vfs_dir {
	uint64_t ino;
	uint64_t parent_ino;
	char *path;
	struct acache_listing *l;
};

static struct wstate *ws_get(struct vfs *v, uint64_t ino, bool create);
static char *parent_of(const char *path);
static void ws_put(struct vfs *v, struct wstate *w);
static int ws_flush_locked(struct vfs *v, struct wstate *w);
static int ws_flush_work(struct vfs *v, struct wstate *w);
static int flush_ino(struct vfs *v, uint64_t ino);
static void links_changed(struct vfs *v);
static int truncate_now(struct vfs *v, uint64_t ino, const char *path, struct remote_attr *a);

void vfs_cfg_init(struct vfs_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = "/";
	cfg->attr_timeout = 1.0;
	cfg->dir_timeout = -1;
	cfg->uid_override = -1;
	cfg->gid_override = -1;
	cfg->idmap_pod_uid = cfg->idmap_local_uid = -1;
	cfg->idmap_pod_gid = cfg->idmap_local_gid = -1;
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
		log_debug("remote #%llu %s %s -> %lld (%.1f ms)",
			  (unsigned long long)__atomic_add_fetch(&v->log_seq, 1, __ATOMIC_RELAXED), op,
			  esc(path, e, sizeof(e)), rc, (double)(mono_us() - start_us) / 1000.0);
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
	pthread_mutex_init(&v->wlock, NULL);
	pthread_mutex_init(&v->ahead_lock, NULL);
	pthread_cond_init(&v->ahead_cond, NULL);
	pthread_cond_init(&v->ahead_idle, NULL);
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
	v->map_pod_uid = cfg->idmap_local_uid >= 0 ? cfg->idmap_pod_uid : -1;
	v->map_local_uid = cfg->idmap_local_uid;
	v->map_pod_gid = cfg->idmap_local_gid >= 0 ? cfg->idmap_pod_gid : -1;
	v->map_local_gid = cfg->idmap_local_gid;
	v->hide_pseudo = cfg->hide_pseudo < 0 ? strcmp(v->root, "/") == 0 : cfg->hide_pseudo != 0;
	v->ro = cfg->read_only || !r->ops->write || !r->ops->create || !r->ops->setattr;
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
	/* the thread fetching ahead first: it uses everything below */
	pthread_mutex_lock(&v->ahead_lock);
	v->ahead_stop = true;
	pthread_cond_signal(&v->ahead_cond);
	pthread_mutex_unlock(&v->ahead_lock);
	if (v->ahead_started)
		pthread_join(v->ahead_thread, NULL);
	free(v->ahead_job);
	pthread_cond_destroy(&v->ahead_cond);
	pthread_cond_destroy(&v->ahead_idle);
	pthread_mutex_destroy(&v->ahead_lock);
	pcache_free(v->pc);
	pf_free(v->pf);
	for (unsigned i = 0; i < TREE_RECENT; i++)
		free(v->trees[i].path);
	acache_free(v->ac);
	while (v->wlist) {
		struct wstate *w = v->wlist;

		v->wlist = w->next;
		log_warn("vfs: ino %llu still had a writer at unmount", (unsigned long long)w->ino);
		if (w->ws)
			v->r->ops->wstream_close(w->ws);
		dirty_clear(&w->d);
		pthread_mutex_destroy(&w->lock);
		free(w);
	}
	pthread_mutex_destroy(&v->wlock);
	inode_table_free(v->it);
	free(v->neg_dir);
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
	if (v->map_pod_uid >= 0 && a->uid == (uint64_t)v->map_pod_uid && v->uid_override < 0)
		st->st_uid = (uid_t)v->map_local_uid;
	if (v->map_pod_gid >= 0 && a->gid == (uint64_t)v->map_pod_gid && v->gid_override < 0)
		st->st_gid = (gid_t)v->map_local_gid;
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

struct tree_ctx {
	struct vfs *v;
	const char *path;
	struct acache_listing *top;
	size_t dirs;
};

/* *OUT = DIR "/" REL for a relative path "a/b/c", each component
 * checked as path_join checks a name. */
static int join_rel(char **out, const char *dir, const char *rel)
{
	char *cur = strdup(dir), *comp = strdup(rel), *save = NULL;
	int rc = cur && comp ? 0 : -ENOMEM;

	*out = NULL;
	if (!rc && (!*rel || rel[0] == '/' || rel[strlen(rel) - 1] == '/' || strstr(rel, "//")))
		rc = -EINVAL;
	for (char *c = rc ? NULL : strtok_r(comp, "/", &save); c && !rc; c = strtok_r(NULL, "/", &save)) {
		char *next;

		rc = path_join(&next, cur, c);
		if (!rc) {
			free(cur);
			cur = next;
		}
	}
	free(comp);
	if (rc)
		free(cur);
	else
		*out = cur;
	return rc;
}

/* One directory of a subtree listing: the top is the caller's; the
 * others go to the cache as fresh listings (they came from a listing). */
static int tree_dir(void *arg, const char *rel, struct remote_dirent *d, size_t n)
{
	struct tree_ctx *c = arg;
	struct acache_listing *l = NULL;
	char *path = NULL;
	int rc;

	if (!*rel) {
		if (c->top) {
			remote_dirents_free(d, n);
			return -EIO; /* the top twice */
		}
		n = sanitize(c->path, d, n);
		return acache_listing_new(&c->top, d, n);
	}
	rc = join_rel(&path, c->path, rel);
	if (rc || hidden_dir(c->v, path)) {
		remote_dirents_free(d, n);
		free(path);
		return 0; /* a name we would not ask for: not cached */
	}
	n = sanitize(path, d, n);
	if (acache_listing_new(&l, d, n) == 0) {
		acache_put_dir(c->v->ac, path, l);
		c->dirs++;
	}
	acache_listing_unref(l);
	free(path);
	return 0;
}

/* Remember that PATH was listed with its subtree at NOW. */
static void tree_note(struct vfs *v, const char *path, uint64_t now)
{
	char *copy = strdup(path);

	if (!copy)
		return;
	pthread_mutex_lock(&v->wlock);
	for (unsigned i = 0; i < TREE_RECENT; i++)
		if (v->trees[i].path && !strcmp(v->trees[i].path, path)) {
			free(copy);
			v->trees[i].at = now;
			pthread_mutex_unlock(&v->wlock);
			return;
		}
	unsigned i = v->next_tree++ % TREE_RECENT;

	free(v->trees[i].path);
	v->trees[i].path = copy;
	v->trees[i].at = now;
	pthread_mutex_unlock(&v->wlock);
}

/* Was PATH subtree-listed within the last TREE_WALK_TTLS dir_timeouts? */
static bool tree_recent(struct vfs *v, const char *path, uint64_t now)
{
	uint64_t win = (uint64_t)(v->dir_timeout * 1e9) * TREE_WALK_TTLS;
	bool yes = false;

	pthread_mutex_lock(&v->wlock);
	for (unsigned i = 0; i < TREE_RECENT && !yes; i++)
		yes = v->trees[i].path && !strcmp(v->trees[i].path, path) && now - v->trees[i].at < win;
	pthread_mutex_unlock(&v->wlock);
	return yes;
}

static int get_listing(struct vfs *v, const char *path, struct acache_listing **out);
static void refresh_for_walk(struct vfs *v, const char *path);

/* The listing of directory PATH and, when the remote can, of the
 * directories below it (cached as fresh): one request. */
static int list_remote(struct vfs *v, const char *path, struct remote_dirent **d, size_t *n,
		       struct acache_listing **top)
{
	struct tree_ctx c = { v, path, NULL, 0 };
	uint64_t t, now = acache_now(v->ac);
	char *parent;
	int rc;

	*top = NULL;
	/* "/" with /proc, /sys, /dev hidden: never walk into them */
	if (!v->r->ops->readdir_tree || (v->hide_pseudo && !strcmp(path, "/")))
		return r_readdir(v, path, d, n);
	/* a walk through a subtree outlived its listing: list it again from
	 * the parent, for this directory and its siblings at once */
	if (strcmp(path, v->root) && (parent = parent_of(path))) {
		struct acache_listing *pl = NULL;

		if (tree_recent(v, parent, now) && acache_get_dir(v->ac, parent, &pl) != ACACHE_HIT &&
		    get_listing(v, parent, &pl) == 0 && acache_get_dir(v->ac, path, top) == ACACHE_HIT) {
			acache_listing_unref(pl);
			free(parent);
			return 0;
		}
		acache_listing_unref(pl);
		free(parent);
	}
	t = mono_us();
	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_readdir, 1);
	rc = v->r->ops->readdir_tree(v->r, path, TREE_DEPTH, TREE_ENTRIES, tree_dir, &c);
	if (!rc && !c.top)
		rc = -EIO; /* no top listing */
	r_done(v, "readdir_tree", path, rc ? rc : (long long)c.dirs, t);
	if (!rc && c.dirs)
		tree_note(v, path, now);
	if (rc)
		acache_listing_unref(c.top);
	else
		*top = c.top;
	return rc;
}

/* D (N entries, taken) as PATH's listing: sanitized, cached, in *OUT. */
static int cache_listing(struct vfs *v, const char *path, struct remote_dirent *d, size_t n,
			 struct acache_listing **out)
{
	int rc;

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

/* The listing of directory PATH: cached when fresh, else one remote
 * readdir (cached, and priming the attributes of every entry), or a
 * subtree listing that caches the listings below PATH too. */
static int get_listing(struct vfs *v, const char *path, struct acache_listing **out)
{
	struct remote_dirent *d = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (hidden_dir(v, path))
		return acache_listing_new(out, NULL, 0);
	if (acache_get_dir(v->ac, path, out) == ACACHE_HIT)
		return 0;
	rc = list_remote(v, path, &d, &n, out);
	if (rc == 0 && *out) {
		rc = acache_put_dir(v->ac, path, *out);
		if (rc) {
			acache_listing_unref(*out);
			*out = NULL;
		}
		return rc;
	}
	if (rc) {
		if (rc == -ENOENT)
			acache_put_negative(v->ac, path);
		return rc;
	}
	return cache_listing(v, path, d, n, out);
}

/* ---- operations ---- */

/* The listing of directory PATH alone (cached when fresh, else one
 * readdir; never a subtree listing: the caller wants names of PATH, and a
 * directory being filled would be listed with all below it again and
 * again). */
static int list_one_level(struct vfs *v, const char *path, struct acache_listing **out)
{
	struct remote_dirent *d = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (acache_get_dir(v->ac, path, out) == ACACHE_HIT)
		return 0;
	rc = r_readdir(v, path, &d, &n);
	if (rc)
		return rc;
	return cache_listing(v, path, d, n, out);
}

/* The pod said a name in DIR does not exist. */
static void note_missing(struct vfs *v, const char *dir)
{
	char *d = strdup(dir);

	pthread_mutex_lock(&v->wlock);
	free(v->neg_dir);
	v->neg_dir = d;
	v->neg_at = acache_now(v->ac);
	pthread_mutex_unlock(&v->wlock);
}

/* Did the pod say so of another name in DIR within dir_timeout? */
static bool names_missing_again(struct vfs *v, const char *dir)
{
	bool again;

	if (v->dir_timeout <= 0)
		return false; /* listings are not kept */
	pthread_mutex_lock(&v->wlock);
	again = v->neg_dir && !strcmp(v->neg_dir, dir) &&
		acache_now(v->ac) - v->neg_at < (uint64_t)(v->dir_timeout * 1e9);
	pthread_mutex_unlock(&v->wlock);
	return again;
}

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
		refresh_for_walk(v, path);
		switch (acache_dir_lookup(v->ac, ppath, name, &a)) {
		case ACACHE_HIT:
			break;
		case ACACHE_NEGATIVE:
			rc = -ENOENT;
			goto out;
		case ACACHE_MISS:
			if (names_missing_again(v, ppath)) {
				/* new names one after another (a loop making files
				 * in a directory we never listed): one listing
				 * answers this lookup and the next ones */
				struct acache_listing *l = NULL;

				if (list_one_level(v, ppath, &l) == 0 && l) {
					const struct remote_dirent *e = acache_listing_find(l, name);

					if (e)
						a = e->attr;
					acache_listing_unref(l);
					if (!e) {
						rc = -ENOENT;
						goto out;
					}
					break;
				}
			}
			rc = r_getattr(v, path, &a);
			if (rc == -ENOENT) {
				acache_put_negative(v->ac, path);
				note_missing(v, ppath);
			}
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
	struct wstate *w = ws_get(v, ino, false);

	if (w) {
		/* a file being written: no flush may slip between asking
		 * the pod and adding what is unsent (a stale size) */
		pthread_mutex_lock(&w->lock);
		rc = get_attr(v, path, &a);
		if (!rc && w->active && S_ISREG(a.mode))
			a.size = w->size;
		if (!rc)
			note_attr(v, ino, &a);
		pthread_mutex_unlock(&w->lock);
		ws_put(v, w);
	} else {
		rc = get_attr(v, path, &a);
		if (!rc)
			note_attr(v, ino, &a);
	}
	if (rc)
		goto out;
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

struct batch_dir {
	const char *name; /* below the request's directory ("": the directory itself) */
	char *path;	  /* the directory, claimed: pf_dir_done once fetched */
	struct acache_listing *l;
};

struct batch_ctx {
	struct vfs *v;
	const char *dir;	 /* the request's directory */
	struct batch_dir *dirs;	 /* whose files were asked for */
	size_t ndirs;
};

static int batch_file(void *arg, const char *name, const void *data, size_t len)
{
	struct batch_ctx *c = arg;
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	size_t dl = slash ? (size_t)(slash - name) : 0;
	const struct remote_dirent *e = NULL;
	struct pcache_stamp s;
	char *path;

	for (size_t i = 0; i < c->ndirs && !e; i++)
		if (strlen(c->dirs[i].name) == dl && !memcmp(c->dirs[i].name, name, dl))
			e = acache_listing_find(c->dirs[i].l, base);
	if (!e || !S_ISREG(e->attr.mode) || e->attr.size != len)
		return 0; /* not asked for, or changed since the listing: read it normally */
	to_stamp(&e->attr, &s);
	if (join_rel(&path, c->dir, name) == 0) {
		pf_put(c->v->pf, path, &s, data, len);
		free(path);
	}
	return 0;
}

/* Is E a small regular file of directory DIR worth fetching (not held
 * already)? */
static bool batchable(struct vfs *v, const char *dir, const struct remote_dirent *e)
{
	struct pcache_stamp s;
	char *path;
	bool held;

	if (!S_ISREG(e->attr.mode) || e->attr.size == 0 || e->attr.size > PF_SMALL)
		return false;
	if (path_join(&path, dir, e->name))
		return false;
	to_stamp(&e->attr, &s);
	held = pf_holds(v->pf, path, &s);
	free(path);
	return !held;
}

/* A batch being put together: its directories (claimed) and the names
 * of their files, relative to the request's directory. */
struct batch {
	struct batch_dir dirs[PF_MAX_DIRS];
	size_t nd;
	char **names; /* PF_MAX_FILES */
	size_t k, total, max_total;
};

static int batch_init(struct batch *b, size_t max_total)
{
	memset(b, 0, sizeof(*b));
	b->max_total = max_total;
	b->names = calloc(PF_MAX_FILES, sizeof(*b->names));
	return b->names ? 0 : -ENOMEM;
}

/* Releases the claims (readers waiting for them go on) and frees. */
static void batch_cleanup(struct vfs *v, struct batch *b)
{
	for (size_t i = 0; i < b->nd; i++) {
		pf_dir_done(v->pf, b->dirs[i].path);
		free(b->dirs[i].path);
		acache_listing_unref(b->dirs[i].l);
	}
	for (size_t i = 0; b->names && i < b->k; i++)
		free(b->names[i]);
	free(b->names);
}

static bool batch_full(const struct batch *b)
{
	return b->nd >= PF_MAX_DIRS || b->k >= PF_MAX_FILES || b->total >= b->max_total;
}

/* Add claimed directory DIR (listing L, taken) to the batch, its small
 * files as PREFIX/NAME (PREFIX "": NAME), within the limits. */
static void batch_add(struct vfs *v, struct batch *b, char *dir, const char *prefix, struct acache_listing *l)
{
	struct batch_dir *bd = &b->dirs[b->nd++];

	bd->name = prefix;
	bd->path = dir;
	bd->l = l;
	for (size_t i = 0; i < l->n && b->k < PF_MAX_FILES; i++) {
		const struct remote_dirent *e = &l->ents[i];
		char **name = &b->names[b->k];

		if (!batchable(v, dir, e) || b->total + e->attr.size > b->max_total)
			continue;
		if (*prefix) {
			size_t pl = strlen(prefix), nl = strlen(e->name);

			*name = malloc(pl + nl + 2);
			if (!*name)
				return;
			memcpy(*name, prefix, pl);
			(*name)[pl] = '/';
			memcpy(*name + pl + 1, e->name, nl + 1);
		} else if (!(*name = strdup(e->name))) {
			return;
		}
		b->k++;
		b->total += e->attr.size;
	}
}

/* Do all the small files of listing L fit in the batch? */
static bool batch_fits(const struct batch *b, const struct acache_listing *l)
{
	size_t files = 0, bytes = 0;

	for (size_t i = 0; i < l->n; i++)
		if (S_ISREG(l->ents[i].attr.mode) && l->ents[i].attr.size <= PF_SMALL) {
			files++;
			bytes += (size_t)l->ents[i].attr.size;
		}
	return b->k + files <= PF_MAX_FILES && b->total + bytes <= b->max_total;
}

/* Claim sibling directory NAME of PARENT (an entry of its listing) for
 * the batch when its listing is fresh and it was not fetched lately (and
 * WHOLE: when all its small files fit). -ENOSPC: they do not. */
static int batch_try_sibling(struct vfs *v, struct batch *b, const char *parent, const struct remote_dirent *e,
			     uint64_t now, uint64_t ttl, bool whole)
{
	struct acache_listing *sl = NULL;
	char *sp;
	int rc = 0;

	if (!S_ISDIR(e->attr.mode) || path_join(&sp, parent, e->name))
		return 0;
	if (!hidden_dir(v, sp) && acache_get_dir(v->ac, sp, &sl) == ACACHE_HIT) {
		if (whole && !batch_fits(b, sl))
			rc = -ENOSPC;
		else if (pf_dir_claim(v->pf, sp, now, ttl)) {
			batch_add(v, b, sp, e->name, sl);
			return 0;
		}
	}
	acache_listing_unref(sl);
	free(sp);
	return rc;
}

/* One read_many for the batch's files, below REQDIR. */
static void batch_fetch(struct vfs *v, const char *reqdir, struct batch *b, bool ahead)
{
	struct batch_ctx c = { v, reqdir, b->dirs, b->nd };
	uint64_t t = mono_us();
	int rc;

	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_read_many, 1);
	if (ahead)
		count(&v->cnt.remote_read_many_ahead, 1);
	rc = v->r->ops->read_many(v->r, reqdir, (const char *const *)b->names, b->k, PF_SMALL, PF_MAX_TOTAL,
				  batch_file, &c);
	r_done(v, ahead ? "read_many (ahead)" : "read_many", reqdir, rc ? rc : (long long)b->k, t);
	if (rc == -ENOTSUP)
		__atomic_store_n(&v->batch_off, true, __ATOMIC_RELAXED);
}

/* DIR's parent within the mount (never above its root), or NULL. */
static char *batch_parent(struct vfs *v, const char *dir)
{
	if (!strcmp(dir, v->root) || !strcmp(dir, "/"))
		return NULL;
	return parent_of(dir);
}

static void ahead_kick(struct vfs *v, const char *dir);

/* PATH (a small regular file) is being opened: if its directory's listing
 * is fresh and the directory was not batch-fetched within dir_timeout,
 * fetch all its small files in one request, and with them those of its
 * sibling directories whose listings are fresh too (grep -r and cp -r go
 * through them next), within PF_MAX_FILES / PF_MAX_TOTAL. A directory
 * whose batch is in flight (fetched ahead) is waited for; the first
 * file opened in a batch-fetched directory has the next siblings fetched
 * ahead, in the background. */
static void maybe_batch(struct vfs *v, const char *path)
{
	struct acache_listing *pl = NULL, *own = NULL;
	struct batch b = { 0 };
	char *dir = parent_of(path), *parent = NULL;
	const char *base = NULL;
	uint64_t now, ttl = (uint64_t)(v->dir_timeout * 1e9);

	if (!dir || !v->r->ops->read_many || __atomic_load_n(&v->batch_off, __ATOMIC_RELAXED))
		goto out;
	now = acache_now(v->ac);
	switch (pf_dir_visit(v->pf, dir, now, ttl, BATCH_WAIT_MS)) {
	case PF_FIRST:
		/* the reader reached a directory fetched with others: the
		 * ones after them come next */
		ahead_kick(v, dir);
		goto out;
	case PF_AGAIN:
		goto out;
	case PF_UNCLAIMED:
		break;
	}
	/* the claim before looking at the entries: every other open of the
	 * directory's files stops above */
	if (acache_get_dir(v->ac, dir, &own) != ACACHE_HIT || !pf_dir_claim(v->pf, dir, now, ttl))
		goto out;
	if (batch_init(&b, PF_MAX_TOTAL)) {
		pf_dir_done(v->pf, dir);
		goto out;
	}
	batch_add(v, &b, dir, "", own);
	dir = NULL;
	own = NULL;
	/* the siblings: below the parent, never above the mount's root */
	if ((parent = batch_parent(v, b.dirs[0].path))) {
		base = b.dirs[0].path + strlen(parent) + (strcmp(parent, "/") ? 1 : 0);
		if (acache_get_dir(v->ac, parent, &pl) == ACACHE_HIT) {
			size_t at = 0;

			while (at < pl->n && strcmp(pl->ents[at].name, base))
				at++;
			for (size_t j = 1; j < pl->n && !batch_full(&b); j++)
				batch_try_sibling(v, &b, parent, &pl->ents[(at + j) % pl->n], now, ttl, false);
		}
	}
	if (b.k < 2)
		goto done;
	if (b.nd > 1) {
		/* the request's directory is the parent: the opened file's
		 * own directory by its name too */
		for (size_t i = 0; i < b.k; i++)
			if (!strchr(b.names[i], '/')) {
				char *full;

				if (join_rel(&full, base, b.names[i]) == 0) {
					free(b.names[i]);
					b.names[i] = full;
				}
			}
		b.dirs[0].name = base;
	}
	batch_fetch(v, b.nd > 1 ? parent : b.dirs[0].path, &b, false);
	ahead_kick(v, b.dirs[0].path);
done:
	batch_cleanup(v, &b);
out:
	acache_listing_unref(pl);
	acache_listing_unref(own);
	free(parent);
	free(dir);
}

/* ---- batches fetched ahead ----
 * One background thread (started at the first need: the daemon forks
 * after vfs_new) fetches the batch of the sibling directories after DIR
 * that nobody claimed yet, while the reader goes through the current
 * one: the next batch is there, or in flight, when the reader reaches
 * it. Only when it starts within AHEAD_DIRS sibling directories of DIR
 * (a reader going through them in order), and only as much as fits in
 * the small-file store without evicting anything (whole directories),
 * so nothing fetched ahead is dropped before it is read. One batch at a
 * time. */

static void read_ahead(struct vfs *v, const char *dir)
{
	struct acache_listing *pl = NULL;
	struct batch b = { 0 };
	char *parent = batch_parent(v, dir);
	size_t room = pf_space(v->pf), passed = 0;
	uint64_t now = acache_now(v->ac), ttl = (uint64_t)(v->dir_timeout * 1e9);

	if (!parent || room < PF_SMALL || __atomic_load_n(&v->batch_off, __ATOMIC_RELAXED) ||
	    acache_get_dir(v->ac, parent, &pl) != ACACHE_HIT ||
	    batch_init(&b, room < PF_MAX_TOTAL ? room : PF_MAX_TOTAL))
		goto out;
	const char *base = dir + strlen(parent) + (strcmp(parent, "/") ? 1 : 0);
	size_t at = 0;

	while (at < pl->n && strcmp(pl->ents[at].name, base))
		at++;
	for (size_t j = at + 1; j < pl->n && !batch_full(&b); j++) {
		if (!S_ISDIR(pl->ents[j].attr.mode))
			continue;
		if (b.nd == 0 && ++passed > AHEAD_DIRS)
			break;
		/* a directory fetched ahead comes whole (its files are not
		 * fetched again when the reader gets there) */
		if (batch_try_sibling(v, &b, parent, &pl->ents[j], now, ttl, true))
			break;
	}
	if (b.k > 0)
		batch_fetch(v, parent, &b, true);
out:
	batch_cleanup(v, &b);
	acache_listing_unref(pl);
	free(parent);
}

static void *ahead_main(void *arg)
{
	struct vfs *v = arg;

	pthread_mutex_lock(&v->ahead_lock);
	for (;;) {
		while (!v->ahead_stop && !v->ahead_job)
			pthread_cond_wait(&v->ahead_cond, &v->ahead_lock);
		if (v->ahead_stop)
			break;
		char *dir = v->ahead_job;

		v->ahead_job = NULL;
		v->ahead_busy = true;
		pthread_mutex_unlock(&v->ahead_lock);
		read_ahead(v, dir);
		free(dir);
		pthread_mutex_lock(&v->ahead_lock);
		v->ahead_busy = false;
		pthread_cond_broadcast(&v->ahead_idle);
	}
	v->ahead_busy = false;
	pthread_cond_broadcast(&v->ahead_idle);
	pthread_mutex_unlock(&v->ahead_lock);
	return NULL;
}

/* A reader reached DIR: fetch the batch after it (once the one in
 * flight, if any, is in). */
static void ahead_kick(struct vfs *v, const char *dir)
{
	char *job = strdup(dir);

	pthread_mutex_lock(&v->ahead_lock);
	if (!v->ahead_stop && !v->ahead_started)
		v->ahead_started = pthread_create(&v->ahead_thread, NULL, ahead_main, v) == 0;
	if (!v->ahead_stop && v->ahead_started && job) {
		/* the latest place of the reader is what counts */
		free(v->ahead_job);
		v->ahead_job = job;
		job = NULL;
		pthread_cond_signal(&v->ahead_cond);
	}
	pthread_mutex_unlock(&v->ahead_lock);
	free(job);
}

void vfs_readahead_wait(struct vfs *v)
{
	pthread_mutex_lock(&v->ahead_lock);
	while (v->ahead_job || v->ahead_busy)
		pthread_cond_wait(&v->ahead_idle, &v->ahead_lock);
	pthread_mutex_unlock(&v->ahead_lock);
}

/* PATH's attributes expired while a walk goes through its directory
 * (the directory or its parent was subtree-listed lately): list the
 * directory again (through its parent: the siblings come along) rather
 * than ask for each file's attributes. */
static void refresh_for_walk(struct vfs *v, const char *path)
{
	struct acache_listing *l = NULL;
	struct remote_attr a;
	char *dir, *up = NULL;
	uint64_t now = acache_now(v->ac);

	if (!v->r->ops->readdir_tree || acache_get_attr(v->ac, path, &a) != ACACHE_MISS ||
	    !strcmp(path, v->root) || !(dir = parent_of(path)))
		return;
	if (tree_recent(v, dir, now) || (strcmp(dir, v->root) && (up = parent_of(dir)) && tree_recent(v, up, now)))
		get_listing(v, dir, &l);
	acache_listing_unref(l);
	free(up);
	free(dir);
}

/* vfs_open; FRESH: the file was just created by us (no write check). */
static int open_file(struct vfs *v, uint64_t ino, int flags, bool fresh, struct vfs_file **out, bool *keep_cache);

int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *keep_cache)
{
	return open_file(v, ino, flags, false, out, keep_cache);
}

static int open_file(struct vfs *v, uint64_t ino, int flags, bool fresh, struct vfs_file **out, bool *keep_cache)
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
	bool writable = (flags & O_ACCMODE) != O_RDONLY;

	if ((writable || (flags & O_TRUNC)) && v->ro) {
		rc = -EROFS;
		goto out;
	}
	/* close-to-open: attributes older than attr_timeout are fetched
	 * again; fresher ones (a listing's included) are trusted */
	refresh_for_walk(v, path);
	rc = get_attr(v, path, &a);
	if (rc)
		goto out;
	if (S_ISDIR(a.mode)) {
		rc = -EISDIR;
		goto out;
	}
	if ((flags & O_TRUNC) && S_ISREG(a.mode)) {
		/* always: the cached size may be stale, and unsent data of
		 * another handle goes first, then the truncate */
		rc = truncate_now(v, ino, path, &a);
		if (rc)
			goto out;
	} else if (writable && !fresh && v->r->ops->may_write) {
		/* refuse now what every write would fail with later (EACCES,
		 * EROFS): `echo >>file` ignores errors at close */
		uint64_t t = mono_us();

		count(&v->cnt.remote_requests, 1);
		rc = v->r->ops->may_write(v->r, path);
		r_done(v, "may_write", path, rc, t);
		if (rc)
			goto out;
	}
	to_stamp(&a, &s);
	bool stale = pcache_set_stamp(v->pc, ino, &s, true);

	if (stale)
		log_debug("vfs: ino %llu changed in the pod since its data was cached",
			  (unsigned long long)ino);
	*keep_cache = inode_get_attr(v->it, ino, &old, NULL) == 0 && remote_same_data(&a, &old);
	/* close-to-open: what the remote read ahead of an older version goes */
	if ((stale || !*keep_cache) && S_ISREG(a.mode) && v->r->ops->changed)
		v->r->ops->changed(v->r, path);
	inode_set_attr(v->it, ino, &a, acache_now(v->ac));
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->ino = ino;
	f->stamp = s;
	f->attr = a;
	f->keep = *keep_cache;
	if (writable) {
		f->w = ws_get(v, ino, true);
		if (!f->w) {
			free(f);
			f = NULL;
			rc = -ENOMEM;
			goto out;
		}
		pthread_mutex_lock(&f->w->lock);
		if (!f->w->active)
			f->w->size = a.size;
		pthread_mutex_unlock(&f->w->lock);
	}
	if (S_ISREG(a.mode) && a.size > 0 && a.size <= PF_SMALL)
		maybe_batch(v, path);
	f->path = path;
	path = NULL;
	inode_opens_add(v->it, ino, 1);
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
	struct wstate *w = ws_get(v, f->ino, false);
	char *path = NULL;
	ssize_t rc;

	/* renamed since open: read from where it is now */
	if (inode_path(v->it, f->ino, &path) == 0)
		c.path = path;
	if (w) {
		/* our own unsent writes first: reads see them (a failure
		 * stays for the writer to report; this read gets what the
		 * pod has) */
		struct remote_attr a;

		pthread_mutex_lock(&w->lock);
		if (w->active && !w->orphan)
			ws_flush_locked(v, w);
		/* the data changed under the stamp the handle opened with; asked
		 * under the lock, so a truncate or write racing this read cannot
		 * be overtaken by attributes fetched before it */
		if (get_attr(v, c.path, &a) == 0 && S_ISREG(a.mode)) {
			if (w->active)
				a.size = w->size;
			to_stamp(&a, &f->stamp);
			note_attr(v, f->ino, &a);
		}
		pthread_mutex_unlock(&w->lock);
		ws_put(v, w);
	} else if (v->r->ops->read_streamed && len > 0 && off < f->stamp.size) {
		/* a sequential reader of a big file whose read-ahead stream has
		 * the bytes: straight from it (not through the block cache:
		 * two copies and a fetch buffer less per byte; the kernel keeps
		 * the pages for re-reads) */
		rc = v->r->ops->read_streamed(v->r, c.path, off, buf, len);
		if (rc >= 0) {
			count(&v->cnt.streamed_reads, 1);
			pcache_note_read(v->pc, &f->ra, off, (size_t)rc);
			goto out;
		}
	}
	rc = pcache_read(v->pc, f->ino, &f->ra, off, buf, len, fetch, &c);
out:
	free(path);
	return rc;
}

int vfs_open_prefill(struct vfs *v, struct vfs_file *f, void **data, size_t *len)
{
	struct wstate *w;
	char *buf;
	ssize_t n;

	*data = NULL;
	*len = 0;
	/* a reader whose kernel pages were kept (the kernel's attributes are
	 * the ones the data goes with), of a small file held from a batch */
	if (f->w || !f->keep || !S_ISREG(f->attr.mode) || f->attr.size == 0 || f->attr.size > PF_SMALL ||
	    inode_push_begin(v->it, f->ino, &f->attr))
		return 0;
	if ((w = ws_get(v, f->ino, false))) {
		ws_put(v, w); /* a writer's state: its data goes through it */
		return 0;
	}
	if (!pf_holds(v->pf, f->path, &f->stamp))
		return 0;
	buf = malloc((size_t)f->attr.size);
	if (!buf)
		return -ENOMEM;
	n = pf_read(v->pf, f->path, &f->stamp, 0, buf, (size_t)f->attr.size);
	if (n != (ssize_t)f->attr.size) {
		free(buf);
		return n < 0 && n != -ENOENT ? (int)n : 0;
	}
	*data = buf;
	*len = (size_t)n;
	return 0;
}

void vfs_open_prefilled(struct vfs *v, struct vfs_file *f)
{
	count(&v->cnt.kernel_cache_pushes, 1);
	inode_push_done(v->it, f->ino, &f->attr);
}

void vfs_release(struct vfs *v, struct vfs_file *f)
{
	if (!f)
		return;
	if (f->w) {
		/* data written after the last flush (mmap writeback) */
		pthread_mutex_lock(&f->w->lock);
		if ((f->w->active || f->w->err) && !f->w->orphan) {
			int rc = ws_flush_locked(v, f->w);

			f->w->err = 0;
			if (rc) {
				char e[512];

				log_err("data written to %s could not be stored in the pod: %s",
					esc(f->path, e, sizeof(e)), strerror(-rc));
			}
		}
		pthread_mutex_unlock(&f->w->lock);
		ws_put(v, f->w);
	}
	inode_opens_add(v->it, f->ino, -1);
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
	if (rc == 0 && v->ro)
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
	if ((mask & W_OK) && v->ro)
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
	out->remote_read_many_ahead = load(&v->cnt.remote_read_many_ahead);
	out->kernel_cache_pushes = load(&v->cnt.kernel_cache_pushes);
	out->streamed_reads = load(&v->cnt.streamed_reads);
	out->xattr_calls = load(&v->cnt.xattr_calls);
	out->remote_write = load(&v->cnt.remote_write);
	out->remote_write_bytes = load(&v->cnt.remote_write_bytes);
	out->remote_wstreams = load(&v->cnt.remote_wstreams);
	out->remote_modify = load(&v->cnt.remote_modify);
	out->remote_fsync = load(&v->cnt.remote_fsync);
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
			"remote_read_many_ahead %llu\n"
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
			"batched_files_read %llu\n"
			"kernel_cache_pushes %llu\n"
			"streamed_reads %llu\n"
			"xattr_calls %llu\n"
			"remote_write %llu\n"
			"remote_write_bytes %llu\n"
			"remote_wstreams %llu\n"
			"remote_modify %llu\n"
			"remote_fsync %llu\n",
			(unsigned long long)c.remote_requests, (unsigned long long)c.remote_getattr,
			(unsigned long long)c.remote_readdir, (unsigned long long)c.remote_read,
			(unsigned long long)c.remote_readlink, (unsigned long long)c.remote_statfs,
			(unsigned long long)c.remote_errors,
			(unsigned long long)c.remote_read_bytes, (unsigned long long)c.remote_read_many,
			(unsigned long long)c.remote_read_many_ahead, (unsigned long long)ps.hits,
			(unsigned long long)ps.misses, (unsigned long long)ps.fetches,
			(unsigned long long)ps.readahead_blocks, ps.bytes,
			(unsigned long long)as.attr_hits, (unsigned long long)as.negative_hits,
			(unsigned long long)as.dir_hits, (unsigned long long)as.misses, as.attrs,
			as.dirs, inode_count(v->it), (unsigned long long)pf_files, (unsigned long long)pf_served,
			(unsigned long long)c.kernel_cache_pushes, (unsigned long long)c.streamed_reads,
			(unsigned long long)c.xattr_calls, (unsigned long long)c.remote_write,
			(unsigned long long)c.remote_write_bytes, (unsigned long long)c.remote_wstreams,
			(unsigned long long)c.remote_modify, (unsigned long long)c.remote_fsync);
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

/* No extended attributes, and -ENOSYS rather than -ENODATA: the kernel
 * stops asking for the whole mount after the first answer (ls -l would
 * otherwise ask for two per file). Counted, so tests can see that it
 * stopped asking. */
int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name)
{
	(void)ino;
	(void)name;
	count(&v->cnt.xattr_calls, 1);
	return -ENOSYS;
}

int vfs_listxattr(struct vfs *v, uint64_t ino)
{
	(void)ino;
	count(&v->cnt.xattr_calls, 1);
	return -ENOSYS;
}

/* ---- the write side ----
 *
 * Data: a file's writable handles share one wstate. Writes are kept as
 * dirty ranges (dirty.c) until a flush (close), fsync, a read or a
 * setattr of the file, or until DIRTY_MAX bytes are waiting; a run of
 * sequential writes of STREAM_MIN bytes moves to a write stream (dd on an
 * exec of its own), so a big copy never sits in memory. A failure is kept
 * in w->err and reported by the next write and by flush/fsync.
 * Metadata: one remote call per operation; the caches then learn the new
 * state (the attributes the call returned, listings of the parents
 * dropped, inodes moved or detached).
 * Lock order: w->lock, then the leaf locks (v->wlock, caches, inodes).
 */

#define DIRTY_MAX (8u << 20)
#define STREAM_MIN (1u << 20)

static struct wstate *ws_get(struct vfs *v, uint64_t ino, bool create)
{
	struct wstate *w;

	pthread_mutex_lock(&v->wlock);
	for (w = v->wlist; w && w->ino != ino; w = w->next)
		;
	if (!w && create && (w = calloc(1, sizeof(*w)))) {
		w->ino = ino;
		pthread_mutex_init(&w->lock, NULL);
		dirty_init(&w->d);
		w->next = v->wlist;
		v->wlist = w;
	}
	if (w)
		w->refs++;
	pthread_mutex_unlock(&v->wlock);
	return w;
}

/* Drop a reference; the last one frees W (its data was flushed, or
 * reported lost, by then). */
static void ws_put(struct vfs *v, struct wstate *w)
{
	struct wstate **pp;

	pthread_mutex_lock(&v->wlock);
	if (--w->refs > 0) {
		pthread_mutex_unlock(&v->wlock);
		return;
	}
	for (pp = &v->wlist; *pp != w; pp = &(*pp)->next)
		;
	*pp = w->next;
	pthread_mutex_unlock(&v->wlock);
	if (w->ws)
		v->r->ops->wstream_close(w->ws);
	dirty_clear(&w->d);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* PATH's parent directory, malloc'd ("/" for "/x"). */
static char *parent_of(const char *path)
{
	char *p = strdup(path), *slash;

	if (!p)
		return NULL;
	slash = strrchr(p, '/');
	if (slash == p)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return p;
}

/* PATH's attributes or entries changed in the pod: forget what the
 * caches knew of it and the listing of its directory (which carries its
 * attributes). */
static void changed(struct vfs *v, const char *path)
{
	char *dir = parent_of(path);

	acache_invalidate(v->ac, path);
	pf_forget(v->pf, path);
	if (dir) {
		acache_invalidate(v->ac, dir);
		free(dir);
	}
}

/* Our own change made, replaced (A: its attributes) or removed (A NULL)
 * the entry PATH: forget what the caches knew of PATH; its directory's
 * times changed, its listing gets the change in place (lookups of the
 * next new names stay local: a file made in a directory we just listed or
 * made costs no lookup request). */
static void entry_changed(struct vfs *v, const char *path, const struct remote_attr *a)
{
	char *dir = parent_of(path);
	const char *name = strrchr(path, '/');

	acache_invalidate(v->ac, path);
	pf_forget(v->pf, path);
	if (dir && name && name[1]) {
		acache_invalidate_attr(v->ac, dir);
		acache_dir_update(v->ac, dir, name + 1, a);
	} else if (dir) {
		acache_invalidate(v->ac, dir);
	}
	free(dir);
}

static int r_modify_done(struct vfs *v, const char *op, const char *path, int rc, uint64_t t)
{
	r_done(v, op, path, rc, t);
	return rc;
}

#define R_MODIFY(v, op, path, call)                                                   \
	({                                                                            \
		uint64_t t_ = mono_us();                                              \
		count(&(v)->cnt.remote_requests, 1);                                  \
		count(&(v)->cnt.remote_modify, 1);                                    \
		r_modify_done((v), (op), (path), (call), t_);                         \
	})

static ssize_t r_write(struct vfs *v, const char *path, uint64_t off, const void *buf, size_t len)
{
	uint64_t t = mono_us();
	ssize_t rc;

	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_write, 1);
	rc = v->r->ops->write(v->r, path, off, buf, len);
	if (rc > 0)
		count(&v->cnt.remote_write_bytes, (uint64_t)rc);
	r_done(v, "write", path, rc, t);
	return rc;
}

/* r_write, and *GOT is set with PATH's attributes after it when the
 * remote can tell them in the same round trip. */
static ssize_t r_write_stat(struct vfs *v, const char *path, uint64_t off, const void *buf, size_t len,
			    struct remote_attr *a, bool *got)
{
	uint64_t t = mono_us();
	ssize_t rc;

	*got = false;
	if (!v->r->ops->write_stat || len == 0)
		return r_write(v, path, off, buf, len);
	count(&v->cnt.remote_requests, 1);
	count(&v->cnt.remote_write, 1);
	rc = v->r->ops->write_stat(v->r, path, off, buf, len, a);
	if (rc > 0)
		count(&v->cnt.remote_write_bytes, (uint64_t)rc);
	*got = rc == (ssize_t)len;
	r_done(v, "write", path, rc, t);
	return rc;
}

/* Close W's stream (waiting until the pod stored its bytes). */
static int ws_close_stream(struct vfs *v, struct wstate *w, const char *path)
{
	uint64_t t = mono_us();
	int rc;

	if (!w->ws)
		return 0;
	rc = v->r->ops->wstream_close(w->ws);
	w->ws = NULL;
	r_done(v, "wstream_close", path, rc, t);
	return rc;
}

/* Send W's dirty ranges with pwrite requests. */
/* Send W's dirty ranges; with A, the last one also brings the file's
 * attributes back into A (*GOT) where the remote can. */
static int ws_send_dirty(struct vfs *v, struct wstate *w, const char *path, struct remote_attr *a, bool *got)
{
	int rc = 0;

	if (got)
		*got = false;
	for (size_t i = 0; i < w->d.n && !rc; i++) {
		ssize_t n = i + 1 == w->d.n && a
				    ? r_write_stat(v, path, w->d.r[i].off, w->d.r[i].data, w->d.r[i].len, a, got)
				    : r_write(v, path, w->d.r[i].off, w->d.r[i].data, w->d.r[i].len);

		if (n < 0)
			rc = (int)n;
	}
	dirty_clear(&w->d);
	return rc;
}

/* Send everything written to W's file. Returns 0 when all of it is stored
 * in the pod, else the first failure, which also stays in w->err until a
 * writer's flush or fsync reports it (a flush forced by a reader, a
 * truncate or a rename never swallows the writer's error). w->lock held. */
static int ws_flush_locked(struct vfs *v, struct wstate *w)
{
	int rc = ws_flush_work(v, w);

	if (rc && !w->err)
		w->err = rc;
	return w->err;
}

static int ws_flush_work(struct vfs *v, struct wstate *w)
{
	char *path = NULL;
	int rc = 0, r2;

	if (w->orphan) {
		/* unlinked while open: nobody can read it back */
		if (w->ws)
			v->r->ops->wstream_close(w->ws);
		w->ws = NULL;
		dirty_clear(&w->d);
		w->active = false;
		return rc;
	}
	if (!w->active && !w->ws && !w->d.n)
		return rc;
	r2 = inode_path(v->it, w->ino, &path);
	if (r2) {
		dirty_clear(&w->d);
		if (w->ws)
			v->r->ops->wstream_close(w->ws);
		w->ws = NULL;
		w->active = false;
		return rc ? rc : r2;
	}
	struct remote_attr a;
	bool got, streamed = w->ws != NULL;

	r2 = ws_close_stream(v, w, path);
	if (!rc)
		rc = r2;
	r2 = ws_send_dirty(v, w, path, &a, &got);
	if (!rc)
		rc = r2;
	w->active = false;
	if (!rc && got && !streamed && S_ISREG(a.mode)) {
		/* the attributes after the last write: the directory's listing
		 * stays, with them (w->lock is held: no older answer can land
		 * after these) */
		entry_changed(v, path, &a);
		acache_put_attr(v->ac, path, &a);
	} else {
		changed(v, path);
	}
	pcache_drop_file(v->pc, w->ino);
	free(path);
	return rc;
}

ssize_t vfs_write(struct vfs *v, struct vfs_file *f, uint64_t off, const void *buf, size_t len)
{
	struct wstate *w = f ? f->w : NULL;
	char *path = NULL;
	ssize_t rc;

	if (v->ro)
		return -EROFS;
	if (!w)
		return -EBADF;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (w->err) {
		rc = w->err; /* stays for flush/fsync to report too */
		goto out;
	}
	if (w->orphan) {
		rc = (ssize_t)len;
		goto out;
	}
	rc = inode_path(v->it, w->ino, &path);
	if (rc)
		goto out;
	pcache_drop_file(v->pc, w->ino);
	pf_forget(v->pf, path);
	w->active = true;
	if (w->ws && off != w->ws_pos) {
		/* no longer sequential: end the stream, buffer again */
		rc = ws_close_stream(v, w, path);
		if (rc) {
			w->err = (int)rc;
			goto out;
		}
	}
	if (w->ws) {
		uint64_t t = mono_us();

		rc = v->r->ops->wstream_write(w->ws, buf, len);
		if (LOG_DEBUG <= log_threshold)
			r_done(v, "wstream_write", path, rc, t);
		if (rc < 0) {
			w->err = (int)rc;
			ws_close_stream(v, w, path);
			goto out;
		}
		count(&v->cnt.remote_write_bytes, len);
		w->ws_pos += len;
	} else {
		rc = dirty_add(&w->d, off, buf, len);
		if (rc)
			goto out;
	}
	if (off + len > w->size)
		w->size = off + len;
	rc = (ssize_t)len;
	if (!w->ws && !w->no_stream && w->d.n == 1 && w->d.bytes >= STREAM_MIN && dirty_end(&w->d) == off + len &&
	    v->r->ops->wopen && !__atomic_load_n(&v->no_stream, __ATOMIC_RELAXED)) {
		/* a sequential writer: stream from here on */
		uint64_t t = mono_us();
		int orc;

		count(&v->cnt.remote_requests, 1);
		count(&v->cnt.remote_wstreams, 1);
		orc = v->r->ops->wopen(v->r, path, w->d.r[0].off, &w->ws);
		r_done(v, "wopen", path, orc, t);
		if (orc == -ENOTSUP)
			__atomic_store_n(&v->no_stream, true, __ATOMIC_RELAXED);
		else if (orc)
			w->no_stream = true; /* (429, refused exec...): not again for this file */
		if (orc == 0) {
			ssize_t n = v->r->ops->wstream_write(w->ws, w->d.r[0].data, w->d.r[0].len);

			w->ws_pos = w->d.r[0].off + w->d.r[0].len;
			if (n < 0) {
				w->err = (int)n;
				ws_close_stream(v, w, path);
				rc = n;
			} else {
				count(&v->cnt.remote_write_bytes, w->d.r[0].len);
			}
			dirty_clear(&w->d);
		}
		/* else: go on with pwrite requests */
	}
	if (rc > 0 && w->d.bytes >= DIRTY_MAX) {
		int frc = ws_send_dirty(v, w, path, NULL, NULL);

		if (frc) {
			w->err = frc;
			rc = frc;
		}
	}
out:
	pthread_mutex_unlock(&w->lock);
	free(path);
	return rc;
}

int vfs_flush(struct vfs *v, struct vfs_file *f)
{
	int rc;

	if (!f || !f->w)
		return 0;
	pthread_mutex_lock(&f->w->lock);
	rc = ws_flush_locked(v, f->w);
	f->w->err = 0; /* reported to the writer */
	pthread_mutex_unlock(&f->w->lock);
	return rc;
}

bool vfs_file_needs_flush(const struct vfs_file *f)
{
	return f && f->w;
}

int vfs_fsync(struct vfs *v, struct vfs_file *f, int datasync)
{
	char *path = NULL;
	bool orphan = false;
	int rc;

	if (!f)
		return 0;
	if (f->w) {
		rc = vfs_flush(v, f);
		orphan = __atomic_load_n(&f->w->orphan, __ATOMIC_RELAXED);
	} else {
		/* any handle's unsent data of the file: fsync(2) covers it */
		rc = flush_ino(v, f->ino);
	}
	if (rc || orphan || v->ro || !v->r->ops->fsync)
		return rc;
	rc = inode_path(v->it, f->ino, &path);
	if (!rc) {
		uint64_t t = mono_us();

		count(&v->cnt.remote_requests, 1);
		count(&v->cnt.remote_fsync, 1);
		rc = v->r->ops->fsync(v->r, path, datasync);
		r_done(v, "fsync", path, rc, t);
	}
	free(path);
	return rc;
}

/* Flush the unsent data of INO, if it has any (before an operation that
 * must see it, or change it). */
static int flush_ino(struct vfs *v, uint64_t ino)
{
	struct wstate *w = ws_get(v, ino, false);
	int rc = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	rc = ws_flush_locked(v, w);
	pthread_mutex_unlock(&w->lock);
	ws_put(v, w);
	return rc;
}

/* INO's file (at PATH) was truncated or replaced: its data as cached and
 * as some wstate remembers it is gone. */
static void data_changed(struct vfs *v, uint64_t ino, const struct remote_attr *a)
{
	struct wstate *w = ws_get(v, ino, false);

	pcache_drop_file(v->pc, ino);
	if (w) {
		pthread_mutex_lock(&w->lock);
		dirty_truncate(&w->d, a->size);
		w->size = a->size;
		pthread_mutex_unlock(&w->lock);
		ws_put(v, w);
	}
}

/* O_TRUNC of a non-empty file at open. A has its attributes, and gets the
 * new ones. */
static int truncate_now(struct vfs *v, uint64_t ino, const char *path, struct remote_attr *a)
{
	struct remote_setattr sa = { .valid = REMOTE_SET_SIZE, .size = 0 };
	int rc = flush_ino(v, ino);

	if (rc)
		return rc;
	rc = R_MODIFY(v, "truncate", path, v->r->ops->setattr(v->r, path, &sa, a));
	if (rc)
		return rc;
	changed(v, path);
	acache_put_attr(v->ac, path, a);
	data_changed(v, ino, a);
	note_attr(v, ino, a);
	return 0;
}

int vfs_setattr(struct vfs *v, uint64_t ino, const struct remote_setattr *sa, struct stat *out)
{
	struct remote_attr a;
	struct wstate *w = NULL;
	char *path = NULL;
	int rc;

	rc = inode_path(v->it, ino, &path);
	if (rc)
		return rc;
	if (v->ro) {
		rc = -EROFS;
		goto out;
	}
	/* a file being written: held from the flush to the cache update, so
	 * no getattr or read of it can put older attributes in between */
	w = ws_get(v, ino, false);
	if (w) {
		pthread_mutex_lock(&w->lock);
		/* the change applies after what was written before it */
		rc = ws_flush_locked(v, w);
		if (rc)
			goto out;
	}
	struct remote_setattr mapped = *sa;

	/* idmap=user: the local user means the pod's exec user */
	if ((sa->valid & REMOTE_SET_UID) && v->map_pod_uid >= 0 && sa->uid == (uint64_t)v->map_local_uid)
		mapped.uid = (uint32_t)v->map_pod_uid;
	if ((sa->valid & REMOTE_SET_GID) && v->map_pod_gid >= 0 && sa->gid == (uint64_t)v->map_local_gid)
		mapped.gid = (uint32_t)v->map_pod_gid;
	rc = R_MODIFY(v, "setattr", path, v->r->ops->setattr(v->r, path, &mapped, &a));
	if (rc)
		goto out;
	changed(v, path);
	acache_put_attr(v->ac, path, &a);
	if (sa->valid & REMOTE_SET_SIZE) {
		pcache_drop_file(v->pc, ino);
		if (w) {
			dirty_truncate(&w->d, a.size);
			w->size = a.size;
		}
	}
	note_attr(v, ino, &a);
	to_stat(v, ino, &a, out);
out:
	if (w) {
		pthread_mutex_unlock(&w->lock);
		ws_put(v, w);
	}
	free(path);
	return rc;
}

/* PARENT/NAME for a new entry: the path, after the checks every creating
 * operation shares. */
static int new_path(struct vfs *v, uint64_t parent, const char *name, char **path)
{
	char *ppath = NULL;
	int rc;

	*path = NULL;
	rc = inode_path(v->it, parent, &ppath);
	if (rc)
		return rc;
	if (v->ro)
		rc = -EROFS;
	else if (hidden_dir(v, ppath))
		rc = -EPERM; /* /proc, /sys, /dev shown empty: nothing goes in */
	else
		rc = path_join(path, ppath, name);
	if (rc == -EINVAL)
		rc = -EEXIST; /* "." and ".." */
	free(ppath);
	return rc;
}

/* A new entry at PATH with attributes A: caches, inode, reply. */
static int new_entry(struct vfs *v, const char *path, const struct remote_attr *a, struct vfs_entry *out)
{
	struct inode_ident id;
	int rc;

	entry_changed(v, path, a);
	acache_put_attr(v->ac, path, a);
	to_ident(a, &id);
	memset(out, 0, sizeof(*out));
	rc = inode_ref(v->it, path, &id, &out->ino, &out->generation);
	if (rc)
		return rc;
	note_attr(v, out->ino, a);
	to_stat(v, out->ino, a, &out->st);
	return 0;
}

int vfs_mknod(struct vfs *v, uint64_t parent, const char *name, mode_t mode, dev_t rdev, struct vfs_entry *out)
{
	struct remote_attr a;
	char *path;
	int rc = new_path(v, parent, name, &path);

	if (!rc && !v->r->ops->mknod)
		rc = -EPERM;
	if (!rc)
		rc = R_MODIFY(v, "mknod", path, v->r->ops->mknod(v->r, path, mode, rdev, &a));
	if (!rc)
		rc = new_entry(v, path, &a, out);
	free(path);
	return rc;
}

int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, mode_t mode, struct vfs_entry *out)
{
	struct remote_attr a;
	char *path;
	int rc = new_path(v, parent, name, &path);

	if (!rc)
		rc = R_MODIFY(v, "mkdir", path, v->r->ops->mkdir(v->r, path, mode & 07777, &a));
	if (!rc)
		rc = new_entry(v, path, &a, out);
	if (!rc) {
		struct acache_listing *l;

		/* made just now: empty, so lookups in it need not ask */
		if (acache_listing_new(&l, NULL, 0) == 0) {
			acache_put_dir(v->ac, path, l);
			acache_listing_unref(l);
		}
	}
	free(path);
	return rc;
}

int vfs_symlink(struct vfs *v, const char *target, uint64_t parent, const char *name, struct vfs_entry *out)
{
	struct remote_attr a;
	char *path;
	int rc = new_path(v, parent, name, &path);

	if (!rc)
		rc = R_MODIFY(v, "symlink", path, v->r->ops->symlink(v->r, target, path, &a));
	if (!rc)
		rc = new_entry(v, path, &a, out);
	free(path);
	return rc;
}

int vfs_link(struct vfs *v, uint64_t ino, uint64_t newparent, const char *newname, struct vfs_entry *out)
{
	struct remote_attr a;
	char *from = NULL, *path = NULL;
	int rc = inode_path(v->it, ino, &from);

	if (!rc)
		rc = new_path(v, newparent, newname, &path);
	if (!rc && !v->r->ops->link)
		rc = -EPERM;
	if (!rc)
		rc = flush_ino(v, ino);
	if (!rc)
		rc = R_MODIFY(v, "link", path, v->r->ops->link(v->r, from, path, &a));
	if (!rc) {
		changed(v, from); /* its link count */
		if (a.nlink > 2)
			links_changed(v); /* and its other names' */
		/* the new name is the same inode of ours: the kernel expects
		 * the entry to carry INO */
		rc = new_entry(v, path, &a, out);
	}
	free(from);
	free(path);
	return rc;
}

int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode, int flags, struct vfs_entry *out,
	       struct vfs_file **f)
{
	struct remote_attr a;
	char *path;
	unsigned cf = 0;
	bool keep;
	int rc = new_path(v, parent, name, &path);

	*f = NULL;
	if (flags & O_EXCL)
		cf |= REMOTE_CREATE_EXCL;
	if (flags & O_TRUNC)
		cf |= REMOTE_CREATE_TRUNC;
	if (!rc)
		rc = R_MODIFY(v, "create", path, v->r->ops->create(v->r, path, mode & 07777, cf, &a));
	if (!rc && S_ISDIR(a.mode))
		rc = -EISDIR;
	if (!rc)
		rc = new_entry(v, path, &a, out);
	if (!rc && (flags & O_TRUNC))
		data_changed(v, out->ino, &a);
	if (!rc) {
		/* the file exists now: open it like any other (O_TRUNC done) */
		rc = open_file(v, out->ino, flags & ~(O_TRUNC | O_CREAT | O_EXCL), true, f, &keep);
		if (rc)
			vfs_forget(v, out->ino, 1);
	}
	free(path);
	return rc;
}

/* The link count of a file with several names changed: its other names'
 * cached attributes are stale, and nothing indexes them by pod inode, so
 * every cached attribute goes (hard links are rare in pods). */
static void links_changed(struct vfs *v)
{
	acache_invalidate_tree(v->ac, "/");
}

/* Removing PATH (INO may be 0): its writers' data goes nowhere now. */
static void removed(struct vfs *v, const char *path)
{
	uint64_t ino = inode_find(v->it, path);

	if (ino) {
		struct wstate *w = ws_get(v, ino, false);

		if (w) {
			pthread_mutex_lock(&w->lock);
			w->orphan = true;
			if (w->ws)
				v->r->ops->wstream_close(w->ws);
			w->ws = NULL;
			dirty_clear(&w->d);
			w->active = false;
			pthread_mutex_unlock(&w->lock);
			ws_put(v, w);
		}
		pcache_drop_file(v->pc, ino);
	}
	entry_changed(v, path, NULL);
	acache_invalidate_tree(v->ac, path);
	acache_put_negative(v->ac, path);
	inode_unbind_path(v->it, path);
}

static int remove_entry(struct vfs *v, uint64_t parent, const char *name, bool dir)
{
	char *path;
	int rc = new_path(v, parent, name, &path);

	if (rc == -EEXIST)
		rc = dir ? -EINVAL : -EISDIR; /* rmdir(".") / unlink("..") */
	if (rc == -EPERM)
		rc = -ENOENT; /* nothing is in the hidden directories */
	struct remote_attr a;
	bool multi = false;

	if (!rc && !dir) {
		/* unsent data lands first: other hard links of the file keep
		 * it (a failure stays for the writer to report) */
		uint64_t ino = inode_find(v->it, path);

		if (ino)
			flush_ino(v, ino);
		/* what the caches know, no request for it */
		multi = acache_get_attr(v->ac, path, &a) == ACACHE_HIT && a.nlink > 1;
	}
	if (!rc)
		rc = dir ? R_MODIFY(v, "rmdir", path, v->r->ops->rmdir(v->r, path))
			 : R_MODIFY(v, "unlink", path, v->r->ops->unlink(v->r, path));
	if (!rc)
		removed(v, path);
	else if (rc == -ENOENT)
		changed(v, path);
	if (!rc && multi)
		links_changed(v);
	free(path);
	return rc;
}

int vfs_unlink(struct vfs *v, uint64_t parent, const char *name)
{
	return remove_entry(v, parent, name, false);
}

int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name)
{
	return remove_entry(v, parent, name, true);
}

int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent, const char *newname,
	       unsigned flags)
{
	char *from = NULL, *to = NULL;
	unsigned rf = 0;
	int rc;

	rc = new_path(v, parent, name, &from);
	if (!rc)
		rc = new_path(v, newparent, newname, &to);
	if (rc == -EEXIST)
		rc = -EBUSY; /* "." or ".." */
	if (rc)
		goto out;
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		rc = -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
		goto out;
	}
	if (flags & RENAME_NOREPLACE)
		rf |= REMOTE_RENAME_NOREPLACE;
	if (!strcmp(from, to))
		goto out;
	/* data written to the file lands before it moves */
	uint64_t ino = inode_find(v->it, from);

	if (ino && (rc = flush_ino(v, ino)))
		goto out;
	rc = R_MODIFY(v, "rename", from, v->r->ops->rename(v->r, from, to, rf));
	if (rc)
		goto out;
	uint64_t old = inode_find(v->it, to);

	if (old && old != ino)
		removed(v, to);
	changed(v, from);
	changed(v, to);
	acache_invalidate_tree(v->ac, from);
	acache_invalidate_tree(v->ac, to);
	acache_put_negative(v->ac, from);
	rc = inode_rename(v->it, from, to);
out:
	free(from);
	free(to);
	return rc;
}

/* No extended attributes (see vfs_getxattr). */
int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name)
{
	int rc = inode_info(v->it, ino, NULL, NULL);

	(void)name;
	return rc ? rc : -ENOSYS;
}

int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name)
{
	int rc = inode_info(v->it, ino, NULL, NULL);

	(void)name;
	return rc ? rc : -ENOSYS;
}

int vfs_fallocate(struct vfs *v, uint64_t ino)
{
	int rc = inode_info(v->it, ino, NULL, NULL);

	return rc ? rc : v->ro ? -EROFS : -EOPNOTSUPP;
}
