/* remote_mem.c: the in-memory `remote` (see remote_mem.h).
 *
 * A tree of nodes (children in an array per directory), error rules per
 * path, per-op counters. Locks: one mutex, M->lock, around everything but
 * the injected latency.
 */
#include "remote_mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct mnode {
	char *name;
	struct mnode *parent;
	struct remote_attr attr;
	char *data; /* file content or symlink target */
	size_t len;
	struct mnode **kids;
	size_t nkids, cap;
};

struct rule {
	struct rule *next;
	char *path;
	unsigned mask;
	int err;
};

struct mem {
	struct remote r;
	pthread_mutex_t lock;
	struct mnode *root;
	uint64_t next_ino;
	struct rule *rules;
	unsigned long counts[REMOTE_MEM_NOPS];
	uint64_t bytes_read;
	unsigned long fail_nth;
	int fail_err;
	unsigned latency_ms;
};

static struct mem *M(struct remote *r)
{
	return r->priv;
}

static void node_free(struct mnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->data);
	free(n);
}

static struct mnode *node_new(struct mem *m, const char *name, uint32_t mode)
{
	struct mnode *n = calloc(1, sizeof(*n));
	struct timespec now;

	if (!n || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	n->attr.ino = m->next_ino++;
	n->attr.dev = 42;
	n->attr.mode = mode;
	n->attr.nlink = S_ISDIR(mode) ? 2 : 1;
	n->attr.size = S_ISDIR(mode) ? 4096 : 0;
	n->attr.blocks = S_ISDIR(mode) ? 8 : 0;
	n->attr.atime = n->attr.mtime = n->attr.ctime = now;
	return n;
}

static struct mnode *kid(const struct mnode *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (strlen(d->kids[i]->name) == len && memcmp(d->kids[i]->name, name, len) == 0)
			return d->kids[i];
	return NULL;
}

/* The node PATH names (symlinks are not followed: lstat semantics). */
static int walk(struct mem *m, const char *path, struct mnode **out)
{
	struct mnode *n = m->root;
	const char *p = path;

	*out = NULL;
	if (!path || path[0] != '/')
		return -EINVAL;
	while (*p) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = strchr(p, '/');
		len = s ? (size_t)(s - p) : strlen(p);
		if (!S_ISDIR(n->attr.mode))
			return -ENOTDIR;
		n = kid(n, p, len);
		if (!n)
			return -ENOENT;
		p += len;
	}
	*out = n;
	return 0;
}

static int attach(struct mnode *d, struct mnode *n)
{
	if (d->nkids == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct mnode **k = realloc(d->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		d->kids = k;
		d->cap = cap;
	}
	n->parent = d;
	d->kids[d->nkids++] = n;
	return 0;
}

static void detach(struct mnode *n)
{
	struct mnode *d = n->parent;

	for (size_t i = 0; i < d->nkids; i++) {
		if (d->kids[i] == n) {
			memmove(&d->kids[i], &d->kids[i + 1], (d->nkids - i - 1) * sizeof(n));
			d->nkids--;
			break;
		}
	}
	n->parent = NULL;
}

/* Put node N (named by PATH's last component) in place, creating parent
 * directories and replacing what was there. Takes N (freed on failure).
 * Locked. */
static int place(struct mem *m, const char *path, struct mnode *n)
{
	struct mnode *d = m->root, *old;
	const char *p = path;
	int rc = -EINVAL;

	if (!path || path[0] != '/')
		goto fail;
	for (;;) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			goto fail; /* "/" itself */
		s = strchr(p, '/');
		len = s ? (size_t)(s - p) : strlen(p);
		if (!S_ISDIR(d->attr.mode)) {
			rc = -ENOTDIR;
			goto fail;
		}
		if (!s || !s[strspn(s, "/")])
			break; /* last component */
		old = kid(d, p, len);
		if (!old) {
			char name[256];

			if (len >= sizeof(name))
				goto fail;
			memcpy(name, p, len);
			name[len] = '\0';
			old = node_new(m, name, S_IFDIR | 0755);
			if (!old || attach(d, old)) {
				node_free(old);
				rc = -ENOMEM;
				goto fail;
			}
		}
		d = old;
		p += len;
	}
	old = kid(d, n->name, strlen(n->name));
	if (old) {
		detach(old);
		node_free(old);
	}
	rc = attach(d, n);
	if (rc)
		goto fail;
	return 0;
fail:
	node_free(n);
	return rc;
}

static const char *last_name(const char *path)
{
	const char *e = path + strlen(path), *s;

	while (e > path && e[-1] == '/')
		e--;
	s = e;
	while (s > path && s[-1] != '/')
		s--;
	return s;
}

static int add(struct remote *r, const char *path, uint32_t mode, const void *data, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	char name[256];
	const char *s;
	size_t nl;
	int rc;

	if (!path || path[0] != '/')
		return -EINVAL;
	s = last_name(path);
	nl = strcspn(s, "/");
	if (nl == 0 || nl >= sizeof(name))
		return -EINVAL;
	memcpy(name, s, nl);
	name[nl] = '\0';
	pthread_mutex_lock(&m->lock);
	n = node_new(m, name, mode);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	if (len) {
		n->data = malloc(len);
		if (!n->data) {
			node_free(n);
			rc = -ENOMEM;
			goto out;
		}
		memcpy(n->data, data, len);
	}
	n->len = len;
	if (!S_ISDIR(mode)) {
		n->attr.size = len;
		n->attr.blocks = (len + 511) / 512;
	}
	rc = place(m, path, n);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_add_dir(struct remote *r, const char *path, uint32_t mode)
{
	return add(r, path, S_IFDIR | (mode & 07777), NULL, 0);
}

int remote_mem_add_file(struct remote *r, const char *path, const void *data, size_t len,
			uint32_t mode)
{
	return add(r, path, S_IFREG | (mode & 07777), data, len);
}

int remote_mem_add_symlink(struct remote *r, const char *path, const char *target)
{
	return add(r, path, S_IFLNK | 0777, target, strlen(target));
}

int remote_mem_add_fifo(struct remote *r, const char *path, uint32_t mode)
{
	return add(r, path, S_IFIFO | (mode & 07777), NULL, 0);
}

int remote_mem_remove(struct remote *r, const char *path)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0 && n == m->root)
		rc = -EBUSY;
	if (rc == 0) {
		detach(n);
		node_free(n);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void bump_mtime(struct mnode *n)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec == n->attr.mtime.tv_sec && now.tv_nsec == n->attr.mtime.tv_nsec)
		now.tv_nsec = (now.tv_nsec + 1) % 1000000000;
	n->attr.mtime = n->attr.ctime = now;
}

int remote_mem_set_data(struct remote *r, const char *path, const void *data, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	char *copy = NULL;
	int rc;

	if (len && !(copy = malloc(len)))
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0 && !S_ISREG(n->attr.mode))
		rc = -EINVAL;
	if (rc == 0) {
		free(n->data);
		n->data = copy;
		copy = NULL;
		n->len = len;
		n->attr.size = len;
		n->attr.blocks = (len + 511) / 512;
		bump_mtime(n);
	}
	pthread_mutex_unlock(&m->lock);
	free(copy);
	return rc;
}

int remote_mem_set_mtime(struct remote *r, const char *path, time_t sec, long nsec)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0) {
		n->attr.mtime.tv_sec = sec;
		n->attr.mtime.tv_nsec = nsec;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_set_owner(struct remote *r, const char *path, uint32_t uid, uint32_t gid)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0) {
		n->attr.uid = uid;
		n->attr.gid = gid;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_set_error_ops(struct remote *r, const char *path, unsigned mask, int err)
{
	struct mem *m = M(r);
	struct rule **pp, *ru;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	for (pp = &m->rules; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0)
			break;
	if (*pp && err == 0) {
		ru = *pp;
		*pp = ru->next;
		free(ru->path);
		free(ru);
	} else if (*pp) {
		(*pp)->mask = mask;
		(*pp)->err = err;
	} else if (err != 0) {
		ru = calloc(1, sizeof(*ru));
		if (!ru || !(ru->path = strdup(path))) {
			free(ru);
			rc = -ENOMEM;
		} else {
			ru->mask = mask;
			ru->err = err;
			ru->next = m->rules;
			m->rules = ru;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_set_error(struct remote *r, const char *path, int err)
{
	return remote_mem_set_error_ops(r, path, REMOTE_MEM_CONTENT_OPS, err);
}

void remote_mem_fail_read(struct remote *r, unsigned long nth, int err)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->fail_nth = nth;
	m->fail_err = err;
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_set_latency(struct remote *r, unsigned ms)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->latency_ms = ms;
	pthread_mutex_unlock(&m->lock);
}

unsigned long remote_mem_count(struct remote *r, enum remote_mem_op op)
{
	struct mem *m = M(r);
	unsigned long c;

	pthread_mutex_lock(&m->lock);
	c = m->counts[op];
	pthread_mutex_unlock(&m->lock);
	return c;
}

unsigned long remote_mem_total(struct remote *r)
{
	struct mem *m = M(r);
	unsigned long c = 0;

	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < REMOTE_MEM_NOPS; i++)
		c += m->counts[i];
	pthread_mutex_unlock(&m->lock);
	return c;
}

uint64_t remote_mem_bytes_read(struct remote *r)
{
	struct mem *m = M(r);
	uint64_t b;

	pthread_mutex_lock(&m->lock);
	b = m->bytes_read;
	pthread_mutex_unlock(&m->lock);
	return b;
}

void remote_mem_reset_counts(struct remote *r)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	memset(m->counts, 0, sizeof(m->counts));
	m->bytes_read = 0;
	pthread_mutex_unlock(&m->lock);
}

/* ---- the remote ops ---- */

/* Count OP, sleep the latency, lock, and apply PATH's error rule. Returns
 * locked, with the rule's error or 0. */
static int begin(struct mem *m, enum remote_mem_op op, const char *path)
{
	unsigned ms;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	m->counts[op]++;
	ms = m->latency_ms;
	pthread_mutex_unlock(&m->lock);
	if (ms) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&m->lock);
	for (struct rule *ru = m->rules; ru; ru = ru->next)
		if ((ru->mask & REMOTE_MEM_OPMASK(op)) && strcmp(ru->path, path) == 0)
			rc = ru->err;
	return rc;
}

static int mem_getattr(struct remote *r, const char *path, struct remote_attr *out)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_GETATTR, path);

	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0)
		*out = n->attr;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_readdir(struct remote *r, const char *path, struct remote_dirent **out,
		       size_t *nout)
{
	struct mem *m = M(r);
	struct remote_dirent *d = NULL;
	struct mnode *n;
	size_t i = 0;
	int rc = begin(m, REMOTE_MEM_READDIR, path);

	*out = NULL;
	*nout = 0;
	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0 && !S_ISDIR(n->attr.mode))
		rc = -ENOTDIR;
	if (rc)
		goto out;
	d = calloc(n->nkids ? n->nkids : 1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	for (; i < n->nkids; i++) {
		d[i].name = strdup(n->kids[i]->name);
		if (!d[i].name) {
			rc = -ENOMEM;
			goto out;
		}
		d[i].attr = n->kids[i]->attr;
	}
	*out = d;
	*nout = i;
	d = NULL;
out:
	pthread_mutex_unlock(&m->lock);
	if (d)
		remote_dirents_free(d, i);
	return rc;
}

static ssize_t mem_read(struct remote *r, const char *path, uint64_t off, void *buf, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	ssize_t got = 0;
	int rc = begin(m, REMOTE_MEM_READ, path);

	if (rc == 0 && m->fail_nth && --m->fail_nth == 0)
		rc = m->fail_err;
	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0 && S_ISDIR(n->attr.mode))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(n->attr.mode))
		rc = -EINVAL;
	if (rc == 0 && off < n->len) {
		size_t k = n->len - (size_t)off < len ? n->len - (size_t)off : len;

		memcpy(buf, n->data + off, k);
		got = (ssize_t)k;
		m->bytes_read += k;
	}
	pthread_mutex_unlock(&m->lock);
	return rc ? rc : got;
}

static int mem_readlink(struct remote *r, const char *path, char **target)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_READLINK, path);

	*target = NULL;
	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0 && !S_ISLNK(n->attr.mode))
		rc = -EINVAL;
	if (rc == 0) {
		*target = malloc(n->len + 1);
		if (!*target) {
			rc = -ENOMEM;
		} else {
			memcpy(*target, n->data, n->len);
			(*target)[n->len] = '\0';
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_statfs(struct remote *r, const char *path, struct statvfs *out)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_STATFS, path);

	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->f_bsize = 4096;
		out->f_frsize = 4096;
		out->f_blocks = 1000000;
		out->f_bfree = 500000;
		out->f_bavail = 400000;
		out->f_files = 100000;
		out->f_ffree = 50000;
		out->f_favail = 50000;
		out->f_namemax = 255;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static char *mem_stats(struct remote *r)
{
	unsigned long total = remote_mem_total(r);
	char *s = malloc(64);

	if (s)
		snprintf(s, 64, "mem_requests %lu\n", total);
	return s;
}

static void mem_destroy(struct remote *r)
{
	struct mem *m = M(r);

	while (m->rules) {
		struct rule *ru = m->rules;

		m->rules = ru->next;
		free(ru->path);
		free(ru);
	}
	node_free(m->root);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct many_item {
	char *name;
	char *data;
	size_t len;
};

static int mem_read_many(struct remote *r, const char *dir, const char *const *names, size_t n, size_t max_each,
			 size_t max_total, int (*cb)(void *arg, const char *name, const void *data, size_t len),
			 void *arg)
{
	struct mem *m = M(r);
	struct many_item *items = calloc(n ? n : 1, sizeof(*items));
	size_t k = 0, total = 0;
	int rc = begin(m, REMOTE_MEM_READ_MANY, dir);

	for (size_t i = 0; rc == 0 && items && i < n; i++) {
		char path[4096];
		struct mnode *nd;

		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", names[i]);
		if (walk(m, path, &nd) || !S_ISREG(nd->attr.mode) || nd->len > max_each || total + nd->len > max_total)
			continue;
		items[k].name = strdup(names[i]);
		items[k].data = malloc(nd->len ? nd->len : 1);
		if (!items[k].name || !items[k].data) {
			free(items[k].name);
			free(items[k].data);
			rc = -ENOMEM;
			break;
		}
		memcpy(items[k].data, nd->data, nd->len);
		items[k].len = nd->len;
		total += nd->len;
		m->bytes_read += nd->len;
		k++;
	}
	pthread_mutex_unlock(&m->lock);
	if (!items)
		rc = -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		if (rc == 0)
			rc = cb(arg, items[i].name, items[i].data, items[i].len);
		free(items[i].name);
		free(items[i].data);
	}
	free(items);
	return rc;
}

static const struct remote_ops mem_ops = {
	.getattr = mem_getattr,
	.readdir = mem_readdir,
	.read = mem_read,
	.readlink = mem_readlink,
	.statfs = mem_statfs,
	.stats = mem_stats,
	.destroy = mem_destroy,
};

static const struct remote_ops mem_ops_batch = {
	.getattr = mem_getattr,
	.readdir = mem_readdir,
	.read = mem_read,
	.readlink = mem_readlink,
	.statfs = mem_statfs,
	.stats = mem_stats,
	.destroy = mem_destroy,
	.read_many = mem_read_many,
};

void remote_mem_enable_read_many(struct remote *r)
{
	r->ops = &mem_ops_batch;
}


int remote_mem_new(struct remote **out)
{
	struct mem *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->next_ino = 1000;
	m->root = node_new(m, "", S_IFDIR | 0755);
	if (!m->root) {
		free(m);
		return -ENOMEM;
	}
	m->r.ops = &mem_ops;
	m->r.priv = m;
	*out = &m->r;
	return 0;
}
