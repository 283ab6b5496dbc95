/* remote_mem.c: the in-memory `remote` (see remote_mem.h).
 *
 * A tree of dentries (struct mnode: a name, a parent, the children of a
 * directory in an array) pointing at inodes (struct minode: attributes
 * and bytes). Hard links are several dentries on one inode; an inode is
 * freed when its last reference goes (refs = its dentries + the write
 * streams open on it), and its attr.nlink counts its dentries (2 + the
 * subdirectories for a directory). Error rules per path, per-op counters,
 * a space limit over the bytes of all regular files (m->used).
 *
 * Locks: one mutex, M->lock, around everything but the injected latency.
 * A write stream refers to its inode and remote under that same lock.
 */
#include "remote_mem.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILE (1ull << 30) /* bytes in one file: -EFBIG past it */
#define MAX_NAME 255
#define MAX_TARGET 4095
#define MAX_HOPS 40

struct minode {
	struct remote_attr attr; /* nlink kept up to date */
	unsigned refs;
	char *data; /* file content or symlink target */
	size_t len, cap;
};

struct mnode {
	char *name;
	struct mnode *parent;
	struct minode *in;
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
	struct remote_ops ops; /* this instance's table (read_many, writes) */
	pthread_mutex_t lock;
	struct mnode *root;
	uint64_t next_ino;
	struct rule *rules;
	unsigned long counts[REMOTE_MEM_NOPS];
	uint64_t bytes_read, bytes_written;
	unsigned long fail_nth;
	int fail_err;
	unsigned latency_ms;
	uint64_t stream_from; /* read_streamed serves from here on */
	/* the gate (remote_mem_gate) */
	pthread_cond_t gate_cond;
	bool gate_closed;
	enum remote_mem_op gate_op;
	unsigned long gate_at; /* calls of gate_op pass while counts[gate_op] <= gate_at */
	unsigned gate_waiting;
	bool readonly, late_errors;
	uint32_t cuid, cgid;
	uint64_t space, used;
	unsigned wstreams;
};

struct remote_wstream {
	struct mem *m;
	struct minode *in;
	char *path;
	uint64_t pos;
	int err; /* the first error: returned by every later call */
};

static struct mem *M(struct remote *r)
{
	return r->priv;
}

/* ---- inodes and dentries (locked) ---- */

/* Now, but never equal to PREV: a change must show even within the
 * clock's resolution. */
static struct timespec now_after(const struct timespec *prev)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (prev && now.tv_sec == prev->tv_sec && now.tv_nsec == prev->tv_nsec &&
	    ++now.tv_nsec == 1000000000) {
		now.tv_nsec = 0;
		now.tv_sec++;
	}
	return now;
}

static void bump_mtime_in(struct minode *in)
{
	in->attr.mtime = in->attr.ctime = now_after(&in->attr.mtime);
}

static void bump_ctime_in(struct minode *in)
{
	in->attr.ctime = now_after(&in->attr.ctime);
}

static void inode_unref(struct mem *m, struct minode *in)
{
	if (--in->refs)
		return;
	if (S_ISREG(in->attr.mode))
		m->used -= in->len;
	free(in->data);
	free(in);
}

/* Drop dentry N and everything below it. */
static void node_free(struct mem *m, struct mnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(m, n->kids[i]);
	free(n->kids);
	free(n->name);
	if (n->in) {
		if (!S_ISDIR(n->in->attr.mode))
			n->in->attr.nlink--;
		inode_unref(m, n->in);
	}
	free(n);
}

static struct mnode *dentry_new(const char *name, size_t nlen, struct minode *in)
{
	struct mnode *n = calloc(1, sizeof(*n));

	if (!n || !(n->name = strndup(name, nlen))) {
		free(n);
		return NULL;
	}
	n->in = in;
	in->refs++;
	return n;
}

static struct mnode *node_newn(struct mem *m, const char *name, size_t nlen, uint32_t mode)
{
	struct minode *in = calloc(1, sizeof(*in));
	struct mnode *n;
	struct timespec now;

	if (!in)
		return NULL;
	n = dentry_new(name, nlen, in);
	if (!n) {
		free(in);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	in->attr.ino = m->next_ino++;
	in->attr.dev = 42;
	in->attr.mode = mode;
	in->attr.nlink = S_ISDIR(mode) ? 2 : 1;
	in->attr.size = S_ISDIR(mode) ? 4096 : 0;
	in->attr.blocks = S_ISDIR(mode) ? 8 : 0;
	in->attr.atime = in->attr.mtime = in->attr.ctime = now;
	return n;
}

static struct mnode *node_new(struct mem *m, const char *name, uint32_t mode)
{
	return node_newn(m, name, strlen(name), mode);
}

static bool is_dir(const struct mnode *n)
{
	return S_ISDIR(n->in->attr.mode);
}

static struct mnode *kid(const struct mnode *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (strlen(d->kids[i]->name) == len && memcmp(d->kids[i]->name, name, len) == 0)
			return d->kids[i];
	return NULL;
}

/* The node the first LEN bytes of PATH name (symlinks are not followed:
 * lstat semantics). */
static int walkn(struct mem *m, const char *path, size_t plen, struct mnode **out)
{
	struct mnode *n = m->root;
	const char *p = path, *end = path + plen;

	*out = NULL;
	if (!path || plen == 0 || path[0] != '/')
		return -EINVAL;
	while (p < end) {
		const char *s;
		size_t len;

		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		s = memchr(p, '/', (size_t)(end - p));
		len = s ? (size_t)(s - p) : (size_t)(end - p);
		if (!is_dir(n))
			return -ENOTDIR;
		n = kid(n, p, len);
		if (!n)
			return -ENOENT;
		p += len;
	}
	*out = n;
	return 0;
}

static int walk(struct mem *m, const char *path, struct mnode **out)
{
	*out = NULL;
	if (!path)
		return -EINVAL;
	return walkn(m, path, strlen(path), out);
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
	if (is_dir(n))
		d->in->attr.nlink++;
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
	if (is_dir(n))
		d->in->attr.nlink--;
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
		if (!is_dir(d)) {
			rc = -ENOTDIR;
			goto fail;
		}
		if (!s || !s[strspn(s, "/")])
			break; /* last component */
		old = kid(d, p, len);
		if (!old) {
			old = node_newn(m, p, len, S_IFDIR | 0755);
			if (!old || attach(d, old)) {
				node_free(m, old);
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
		node_free(m, old);
	}
	rc = attach(d, n);
	if (rc)
		goto fail;
	return 0;
fail:
	node_free(m, n);
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

/* Set a regular file's or symlink's length, zero-filling growth; keeps
 * m->used. -ENOMEM leaves it as it was. */
static int set_len(struct mem *m, struct minode *in, size_t len)
{
	if (len > in->cap) {
		size_t cap = in->cap ? in->cap : 64;
		char *d;

		while (cap < len)
			cap = cap > SIZE_MAX / 2 ? len : cap * 2;
		d = realloc(in->data, cap);
		if (!d)
			return -ENOMEM;
		in->data = d;
		in->cap = cap;
	}
	if (len > in->len)
		memset(in->data + in->len, 0, len - in->len);
	if (S_ISREG(in->attr.mode))
		m->used = m->used - in->len + len;
	in->len = len;
	in->attr.size = len;
	in->attr.blocks = (len + 511) / 512;
	return 0;
}

static uint64_t space_left(const struct mem *m)
{
	return m->space > m->used ? m->space - m->used : 0;
}

/* -ENOSPC when growing IN to NEWLEN does not fit, -EFBIG past MAX_FILE. */
static int room_for(const struct mem *m, const struct minode *in, uint64_t newlen)
{
	if (newlen > MAX_FILE)
		return -EFBIG;
	if (newlen > in->len && newlen - in->len > space_left(m))
		return -ENOSPC;
	return 0;
}

/* ---- setup API ---- */

static int add(struct remote *r, const char *path, uint32_t mode, const void *data, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	const char *s;
	size_t nl;
	int rc;

	if (!path || path[0] != '/')
		return -EINVAL;
	s = last_name(path);
	nl = strcspn(s, "/");
	if (nl == 0 || nl > MAX_NAME)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	n = node_newn(m, s, nl, mode);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	if (len && set_len(m, n->in, len)) {
		node_free(m, n);
		rc = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(n->in->data, data, len);
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
		node_free(m, n);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_set_data(struct remote *r, const char *path, const void *data, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0 && !S_ISREG(n->in->attr.mode))
		rc = -EINVAL;
	if (rc == 0)
		rc = set_len(m, n->in, len);
	if (rc == 0) {
		if (len)
			memcpy(n->in->data, data, len);
		bump_mtime_in(n->in);
	}
	pthread_mutex_unlock(&m->lock);
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
		n->in->attr.mtime.tv_sec = sec;
		n->in->attr.mtime.tv_nsec = nsec;
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
		n->in->attr.uid = uid;
		n->in->attr.gid = gid;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_lstat(struct remote *r, const char *path, struct remote_attr *out)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0)
		*out = n->in->attr;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int remote_mem_get_data(struct remote *r, const char *path, void **data, size_t *len)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc;

	*data = NULL;
	*len = 0;
	pthread_mutex_lock(&m->lock);
	rc = walk(m, path, &n);
	if (rc == 0 && is_dir(n))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(n->in->attr.mode) && !S_ISLNK(n->in->attr.mode))
		rc = -EINVAL;
	if (rc == 0) {
		*data = malloc(n->in->len ? n->in->len : 1);
		if (!*data) {
			rc = -ENOMEM;
		} else {
			if (n->in->len)
				memcpy(*data, n->in->data, n->in->len);
			*len = n->in->len;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ---- knobs and counters ---- */

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

	if ((unsigned)op >= REMOTE_MEM_NOPS)
		return 0;
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

uint64_t remote_mem_bytes_written(struct remote *r)
{
	struct mem *m = M(r);
	uint64_t b;

	pthread_mutex_lock(&m->lock);
	b = m->bytes_written;
	pthread_mutex_unlock(&m->lock);
	return b;
}

void remote_mem_reset_counts(struct remote *r)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	memset(m->counts, 0, sizeof(m->counts));
	m->bytes_read = 0;
	m->bytes_written = 0;
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_set_readonly(struct remote *r, bool on)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->readonly = on;
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_set_creator(struct remote *r, uint32_t uid, uint32_t gid)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->cuid = uid;
	m->cgid = gid;
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_set_space(struct remote *r, uint64_t bytes)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->space = bytes;
	pthread_mutex_unlock(&m->lock);
}

uint64_t remote_mem_space_used(struct remote *r)
{
	struct mem *m = M(r);
	uint64_t u;

	pthread_mutex_lock(&m->lock);
	u = m->used;
	pthread_mutex_unlock(&m->lock);
	return u;
}

void remote_mem_set_wstream_late_errors(struct remote *r, bool late)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->late_errors = late;
	pthread_mutex_unlock(&m->lock);
}

unsigned remote_mem_wstreams_open(struct remote *r)
{
	struct mem *m = M(r);
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->wstreams;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void remote_mem_gate(struct remote *r, enum remote_mem_op op, unsigned long after)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->gate_closed = true;
	m->gate_op = op;
	m->gate_at = m->counts[op] + after;
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_gate_wait(struct remote *r, unsigned n)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	while (m->gate_waiting < n)
		pthread_cond_wait(&m->gate_cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

void remote_mem_gate_open(struct remote *r)
{
	struct mem *m = M(r);

	pthread_mutex_lock(&m->lock);
	m->gate_closed = false;
	pthread_cond_broadcast(&m->gate_cond);
	pthread_mutex_unlock(&m->lock);
}

/* ---- the remote ops ---- */

/* Count OP, sleep the latency, lock, and apply the error rule of PATH (or
 * of PATH2 when not NULL). Returns locked, with the rule's error or 0. */
static int begin2(struct mem *m, enum remote_mem_op op, const char *path, const char *path2)
{
	unsigned ms;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	m->counts[op]++;
	if (m->gate_closed && op == m->gate_op && m->counts[op] > m->gate_at) {
		m->gate_waiting++;
		pthread_cond_broadcast(&m->gate_cond);
		while (m->gate_closed)
			pthread_cond_wait(&m->gate_cond, &m->lock);
		m->gate_waiting--;
	}
	ms = m->latency_ms;
	pthread_mutex_unlock(&m->lock);
	if (ms) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&m->lock);
	for (struct rule *ru = m->rules; ru; ru = ru->next)
		if ((ru->mask & REMOTE_MEM_OPMASK(op)) &&
		    ((path && strcmp(ru->path, path) == 0) || (path2 && strcmp(ru->path, path2) == 0)))
			rc = ru->err;
	return rc;
}

static int begin(struct mem *m, enum remote_mem_op op, const char *path)
{
	return begin2(m, op, path, NULL);
}

/* begin2, then -EROFS while read-only: for the modifying ops. */
static int begin_mod(struct mem *m, enum remote_mem_op op, const char *path, const char *path2)
{
	int rc = begin2(m, op, path, path2);

	if (rc == 0 && m->readonly)
		rc = -EROFS;
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
		*out = n->in->attr;
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
	if (rc == 0 && !is_dir(n))
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
		d[i].attr = n->kids[i]->in->attr;
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
	if (rc == 0 && is_dir(n))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(n->in->attr.mode))
		rc = -EINVAL;
	if (rc == 0 && off < n->in->len) {
		size_t k = n->in->len - (size_t)off < len ? n->in->len - (size_t)off : len;

		memcpy(buf, n->in->data + off, k);
		got = (ssize_t)k;
		m->bytes_read += k;
	}
	pthread_mutex_unlock(&m->lock);
	return rc ? rc : got;
}

static ssize_t mem_read_streamed(struct remote *r, const char *path, uint64_t off, void *buf, size_t len)
{
	struct mem *m = M(r);
	struct mnode *n;
	ssize_t got = -EAGAIN;
	int rc = begin(m, REMOTE_MEM_READ_STREAMED, path);

	if (rc == 0 && walk(m, path, &n) == 0 && S_ISREG(n->in->attr.mode) && off >= m->stream_from &&
	    off <= n->in->len && len <= n->in->len - (size_t)off) {
		memcpy(buf, n->in->data + off, len);
		got = (ssize_t)len;
		m->bytes_read += len;
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
	if (rc == 0 && !S_ISLNK(n->in->attr.mode))
		rc = -EINVAL;
	if (rc == 0) {
		*target = malloc(n->in->len + 1);
		if (!*target) {
			rc = -ENOMEM;
		} else {
			if (n->in->len)
				memcpy(*target, n->in->data, n->in->len);
			(*target)[n->in->len] = '\0';
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
		if (m->space != UINT64_MAX) {
			out->f_blocks = m->space / 4096;
			out->f_bfree = out->f_bavail = space_left(m) / 4096;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int follow(struct mem *m, const char *path, struct mnode **out, char **final);

static int mem_checksum(struct remote *r, const char *path, char out[65])
{
	struct mem *m = M(r);
	struct mnode *n;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int rc = begin(m, REMOTE_MEM_CHECKSUM, path);

	if (rc == 0)
		rc = follow(m, path, &n, NULL);
	if (rc == 0 && is_dir(n))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(n->in->attr.mode))
		rc = -EINVAL;
	if (rc == 0 && (!EVP_Digest(n->in->data ? n->in->data : "", n->in->len, md, &mdlen, EVP_sha256(), NULL) ||
			mdlen != 32))
		rc = -EIO;
	if (rc == 0)
		for (unsigned i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
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
	node_free(m, m->root);
	pthread_cond_destroy(&m->gate_cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- readdir_tree ---- */

struct tree_dir {
	char *rel;
	struct mnode *node;
	unsigned level;
	struct remote_dirent *ents;
	size_t n;
};

/* Entries at levels 1..DEPTH below N. Locked. */
static size_t tree_count(const struct mnode *n, unsigned depth)
{
	size_t c = 0;

	if (depth == 0)
		return 0;
	for (size_t i = 0; i < n->nkids; i++)
		c += 1 + (is_dir(n->kids[i]) ? tree_count(n->kids[i], depth - 1) : 0);
	return c;
}

/* PATH's error rule for readdir or readdir_tree, or 0. Locked. */
static int tree_rule(struct mem *m, const char *path)
{
	int err = 0;

	for (struct rule *ru = m->rules; ru; ru = ru->next)
		if ((ru->mask & (REMOTE_MEM_OPMASK(REMOTE_MEM_READDIR) | REMOTE_MEM_OPMASK(REMOTE_MEM_READDIR_TREE))) &&
		    strcmp(ru->path, path) == 0)
			err = ru->err;
	return err;
}

static char *tree_join(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	char *s = malloc(al + bl + 2);

	if (!s)
		return NULL;
	memcpy(s, a, al);
	s[al] = '/';
	memcpy(s + al + 1, b, bl + 1);
	return s;
}

/* The deepest level (at most MAX_DEPTH) whose subtree has at most
 * MAX_ENTRIES entries, as the backend's GNU tier picks it; subdirectories
 * with an error rule (readdir or readdir_tree) are not listed. */
static int mem_readdir_tree(struct remote *r, const char *path, unsigned max_depth, size_t max_entries,
			    int (*cb)(void *arg, const char *rel, struct remote_dirent *ents, size_t n), void *arg)
{
	struct mem *m = M(r);
	struct tree_dir *t = NULL;
	size_t nt = 0, ct = 0;
	unsigned depth = 1;
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_READDIR_TREE, path);

	if (rc == 0)
		rc = tree_rule(m, path); /* a readdir rule too: it is a readdir */
	if (rc == 0)
		rc = walk(m, path, &n);
	if (rc == 0 && !is_dir(n))
		rc = -ENOTDIR;
	if (rc)
		goto out;
	while (depth < max_depth && tree_count(n, depth + 1) <= max_entries)
		depth++;
	if (!(t = calloc(1, sizeof(*t))) || !(t[0].rel = strdup(""))) {
		rc = -ENOMEM;
		goto out;
	}
	t[0].node = n;
	nt = ct = 1;
	for (size_t i = 0; i < nt; i++) {
		struct mnode *d = t[i].node;

		if (!(t[i].ents = calloc(d->nkids ? d->nkids : 1, sizeof(*t[i].ents)))) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < d->nkids; k++) {
			struct mnode *kd = d->kids[k];

			if (!(t[i].ents[k].name = strdup(kd->name))) {
				rc = -ENOMEM;
				goto out;
			}
			t[i].n++;
			t[i].ents[k].attr = kd->in->attr;
			if (!is_dir(kd) || t[i].level + 1 >= depth)
				continue;
			char *rel = t[i].rel[0] ? tree_join(t[i].rel, kd->name) : strdup(kd->name);
			char *full = rel ? tree_join(strcmp(path, "/") ? path : "", rel) : NULL;
			bool skip = !full || tree_rule(m, full) != 0;

			free(full);
			if (!rel || !full) {
				free(rel);
				rc = -ENOMEM;
				goto out;
			}
			if (skip) {
				free(rel);
				continue;
			}
			if (nt == ct) {
				struct tree_dir *nv = realloc(t, 2 * ct * sizeof(*nv));

				if (!nv) {
					free(rel);
					rc = -ENOMEM;
					goto out;
				}
				t = nv;
				ct *= 2;
			}
			memset(&t[nt], 0, sizeof(t[nt]));
			t[nt].rel = rel;
			t[nt].node = kd;
			t[nt].level = t[i].level + 1;
			nt++;
		}
	}
out:
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < nt; i++) {
		if (rc == 0) {
			rc = cb(arg, t[i].rel, t[i].ents, t[i].n);
			t[i].ents = NULL;
			t[i].n = 0;
		}
		remote_dirents_free(t[i].ents, t[i].n);
		free(t[i].rel);
	}
	free(t);
	return rc;
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
		if (walk(m, path, &nd) || !S_ISREG(nd->in->attr.mode) || nd->in->len > max_each ||
		    total + nd->in->len > max_total)
			continue;
		items[k].name = strdup(names[i]);
		items[k].data = malloc(nd->in->len ? nd->in->len : 1);
		if (!items[k].name || !items[k].data) {
			free(items[k].name);
			free(items[k].data);
			rc = -ENOMEM;
			break;
		}
		if (nd->in->len)
			memcpy(items[k].data, nd->in->data, nd->in->len);
		items[k].len = nd->in->len;
		total += nd->in->len;
		m->bytes_read += nd->in->len;
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

/* ---- the modifying ops (locked helpers first) ---- */

/* PATH's parent directory and last component. *DIR is NULL (and 0 is
 * returned) when PATH is "/" itself. */
static int split(struct mem *m, const char *path, struct mnode **dir, const char **name, size_t *nlen)
{
	const char *s;
	size_t nl;
	int rc;

	*dir = NULL;
	*name = NULL;
	*nlen = 0;
	if (!path || path[0] != '/')
		return -EINVAL;
	s = last_name(path);
	nl = strcspn(s, "/");
	if (nl == 0)
		return 0;
	if (nl > MAX_NAME)
		return -ENAMETOOLONG;
	if ((nl == 1 && s[0] == '.') || (nl == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	rc = walkn(m, path, (size_t)(s - path), dir);
	if (rc)
		return rc;
	if (!is_dir(*dir)) {
		*dir = NULL;
		return -ENOTDIR;
	}
	*name = s;
	*nlen = nl;
	return 0;
}

/* Where symlink LINKPATH's TARGET points, as a clean absolute path
 * (absolute targets against the fake's root). */
static char *link_dest(const char *linkpath, const char *target, size_t tlen)
{
	size_t dl = target[0] == '/' ? 0 : (size_t)(last_name(linkpath) - linkpath);
	size_t total = dl + tlen;
	char *in = malloc(total + 1), *out = malloc(total + 2);
	size_t olen = 0;

	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in, linkpath, dl);
	memcpy(in + dl, target, tlen);
	in[total] = '\0';
	for (char *p = in; *p;) {
		size_t cl;

		while (*p == '/')
			p++;
		cl = strcspn(p, "/");
		if (cl == 0 || (cl == 1 && p[0] == '.')) {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--;
		} else {
			out[olen++] = '/';
			memcpy(out + olen, p, cl);
			olen += cl;
		}
		p += cl;
	}
	if (olen == 0)
		out[olen++] = '/';
	out[olen] = '\0';
	free(in);
	return out;
}

/* Like walk, following PATH's last component while it is a symlink.
 * With FINAL, *FINAL gets the last path tried (malloc'd; also on
 * -ENOENT: where a dangling link points). */
static int follow(struct mem *m, const char *path, struct mnode **out, char **final)
{
	char *cur = strdup(path);
	struct mnode *n = NULL;
	int rc = cur ? 0 : -ENOMEM;

	for (int hops = 0; rc == 0; hops++) {
		char *next;

		rc = walk(m, cur, &n);
		if (rc || !S_ISLNK(n->in->attr.mode))
			break;
		if (hops == MAX_HOPS || n->in->len == 0) {
			rc = n->in->len ? -ELOOP : -ENOENT;
			break;
		}
		next = link_dest(cur, n->in->data, n->in->len);
		free(cur);
		cur = next;
		if (!cur)
			rc = -ENOMEM;
	}
	*out = rc ? NULL : n;
	if (final)
		*final = cur;
	else
		free(cur);
	return rc;
}

/* A new node NAME in DIR, owned by the creator, DIR's mtime bumped. */
static int make_node(struct mem *m, struct mnode *dir, const char *name, size_t nlen, uint32_t mode,
		     struct mnode **out)
{
	struct mnode *n;

	*out = NULL;
	if (space_left(m) == 0)
		return -ENOSPC;
	n = node_newn(m, name, nlen, mode);
	if (!n)
		return -ENOMEM;
	n->in->attr.uid = m->cuid;
	n->in->attr.gid = m->cgid;
	if (dir->in->attr.mode & S_ISGID) {
		n->in->attr.gid = dir->in->attr.gid;
		if (S_ISDIR(mode))
			n->in->attr.mode |= S_ISGID;
	}
	if (attach(dir, n)) {
		node_free(m, n);
		return -ENOMEM;
	}
	bump_mtime_in(dir->in);
	*out = n;
	return 0;
}

static int create_locked(struct mem *m, const char *path, uint32_t mode, unsigned flags, int depth,
			 struct remote_attr *out)
{
	struct mnode *d, *n;
	const char *name;
	size_t nl;
	int rc = split(m, path, &d, &name, &nl);

	if (rc)
		return rc;
	if (!d)
		return (flags & REMOTE_CREATE_EXCL) ? -EEXIST : -EISDIR;
	n = kid(d, name, nl);
	if (n && (flags & REMOTE_CREATE_EXCL))
		return -EEXIST;
	if (n && S_ISLNK(n->in->attr.mode)) {
		/* open(O_CREAT) follows a symlink, creating a dangling one's target */
		char *final = NULL;

		rc = follow(m, path, &n, &final);
		if (rc == -ENOENT && final && depth == 0)
			rc = create_locked(m, final, mode, flags, 1, out);
		free(final);
		if (rc || !n)
			return rc;
	}
	if (!n) {
		rc = make_node(m, d, name, nl, S_IFREG | (mode & 07777), &n);
		if (rc)
			return rc;
	} else if (is_dir(n)) {
		return -EISDIR;
	} else if (S_ISREG(n->in->attr.mode) && (flags & REMOTE_CREATE_TRUNC)) {
		rc = set_len(m, n->in, 0);
		if (rc)
			return rc;
		bump_mtime_in(n->in);
	}
	if (out)
		*out = n->in->attr;
	return 0;
}

static int mem_create(struct remote *r, const char *path, uint32_t mode, unsigned flags, struct remote_attr *out)
{
	struct mem *m = M(r);
	int rc = begin_mod(m, REMOTE_MEM_CREATE, path, NULL);

	if (rc == 0)
		rc = create_locked(m, path, mode, flags, 0, out);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* mknod: a regular file as create(EXCL), a fifo; a device -EPERM (an
 * unprivileged pod), a socket -EOPNOTSUPP (no tool makes one). */
static int mem_mknod(struct remote *r, const char *path, uint32_t mode, uint64_t rdev, struct remote_attr *out)
{
	struct mem *m = M(r);
	uint32_t type = mode & S_IFMT;
	struct mnode *d, *n;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_MKNOD, path, NULL);

	(void)rdev;
	if (rc)
		goto out;
	if (type == 0 || type == S_IFREG) {
		rc = create_locked(m, path, mode, REMOTE_CREATE_EXCL, 0, out);
		goto out;
	}
	if (type == S_IFSOCK) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (type != S_IFIFO && type != S_IFCHR && type != S_IFBLK) {
		rc = -EINVAL;
		goto out;
	}
	rc = split(m, path, &d, &name, &nl);
	if (rc == 0 && (!d || kid(d, name, nl)))
		rc = -EEXIST;
	if (rc == 0 && type != S_IFIFO)
		rc = -EPERM;
	if (rc == 0)
		rc = make_node(m, d, name, nl, S_IFIFO | (mode & 07777), &n);
	if (rc == 0 && out)
		*out = n->in->attr;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_mkdir(struct remote *r, const char *path, uint32_t mode, struct remote_attr *out)
{
	struct mem *m = M(r);
	struct mnode *d, *n;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_MKDIR, path, NULL);

	if (rc == 0)
		rc = split(m, path, &d, &name, &nl);
	if (rc == 0 && (!d || kid(d, name, nl)))
		rc = -EEXIST;
	if (rc == 0)
		rc = make_node(m, d, name, nl, S_IFDIR | (mode & 07777), &n);
	if (rc == 0 && out)
		*out = n->in->attr;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Take dentry N out of the tree (its inode lives on while linked or
 * open elsewhere); its directory's mtime is bumped. */
static void drop(struct mem *m, struct mnode *n)
{
	struct mnode *d = n->parent;

	detach(n);
	if (!is_dir(n) && n->in->attr.nlink > 1)
		bump_ctime_in(n->in);
	node_free(m, n);
	bump_mtime_in(d->in);
}

static int mem_unlink(struct remote *r, const char *path)
{
	struct mem *m = M(r);
	struct mnode *d, *n = NULL;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_UNLINK, path, NULL);

	if (rc == 0)
		rc = split(m, path, &d, &name, &nl);
	if (rc == 0 && !d)
		rc = -EISDIR;
	if (rc == 0 && !(n = kid(d, name, nl)))
		rc = -ENOENT;
	if (rc == 0 && is_dir(n))
		rc = -EISDIR;
	if (rc == 0)
		drop(m, n);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_rmdir(struct remote *r, const char *path)
{
	struct mem *m = M(r);
	struct mnode *d, *n = NULL;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_RMDIR, path, NULL);

	if (rc == 0)
		rc = split(m, path, &d, &name, &nl);
	if (rc == 0 && !d)
		rc = -EBUSY;
	if (rc == 0 && !(n = kid(d, name, nl)))
		rc = -ENOENT;
	if (rc == 0 && !is_dir(n))
		rc = -ENOTDIR;
	if (rc == 0 && n->nkids)
		rc = -ENOTEMPTY;
	if (rc == 0)
		drop(m, n);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* rename(2), checks in the kernel's order: flags, the source, the
 * target's directory, NOREPLACE, a directory into itself, the same inode
 * (nothing to do), the types, an empty target directory. */
static int rename_locked(struct mem *m, const char *from, const char *to, unsigned flags)
{
	struct mnode *fd, *td, *fn, *tn, *p;
	const char *fname, *tname;
	size_t fl, tl;
	char *newname;
	int rc;

	if (flags & ~REMOTE_RENAME_NOREPLACE)
		return -EINVAL; /* EXCHANGE: the backend cannot do it atomically */
	rc = split(m, from, &fd, &fname, &fl);
	if (rc)
		return rc;
	if (!fd)
		return -EBUSY;
	fn = kid(fd, fname, fl);
	if (!fn)
		return -ENOENT;
	rc = split(m, to, &td, &tname, &tl);
	if (rc)
		return rc;
	if (!td)
		return -EBUSY;
	tn = kid(td, tname, tl);
	if (tn && (flags & REMOTE_RENAME_NOREPLACE))
		return -EEXIST;
	if (is_dir(fn))
		for (p = td; p; p = p->parent)
			if (p == fn)
				return -EINVAL;
	if (tn && tn->in == fn->in)
		return 0;
	if (tn && is_dir(fn) && !is_dir(tn))
		return -ENOTDIR;
	if (tn && !is_dir(fn) && is_dir(tn))
		return -EISDIR;
	if (tn && tn->nkids)
		return -ENOTEMPTY;
	newname = strndup(tname, tl);
	if (!newname)
		return -ENOMEM;
	detach(fn);
	if (tn)
		detach(tn);
	if (attach(td, fn)) {
		/* room is certain where they came from */
		if (tn)
			attach(td, tn);
		attach(fd, fn);
		free(newname);
		return -ENOMEM;
	}
	free(fn->name);
	fn->name = newname;
	if (tn) {
		if (!is_dir(tn) && tn->in->attr.nlink > 1)
			bump_ctime_in(tn->in);
		node_free(m, tn);
	}
	bump_mtime_in(fd->in);
	if (td != fd)
		bump_mtime_in(td->in);
	bump_ctime_in(fn->in);
	return 0;
}

static int mem_rename(struct remote *r, const char *from, const char *to, unsigned flags)
{
	struct mem *m = M(r);
	int rc = begin_mod(m, REMOTE_MEM_RENAME, from, to);

	if (rc == 0)
		rc = rename_locked(m, from, to, flags);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_symlink(struct remote *r, const char *target, const char *path, struct remote_attr *out)
{
	struct mem *m = M(r);
	size_t tl = strlen(target);
	struct mnode *d, *n;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_SYMLINK, path, NULL);

	if (rc == 0 && tl == 0)
		rc = -ENOENT;
	if (rc == 0 && tl > MAX_TARGET)
		rc = -ENAMETOOLONG;
	if (rc == 0)
		rc = split(m, path, &d, &name, &nl);
	if (rc == 0 && (!d || kid(d, name, nl)))
		rc = -EEXIST;
	if (rc == 0)
		rc = make_node(m, d, name, nl, S_IFLNK | 0777, &n);
	if (rc == 0) {
		rc = set_len(m, n->in, tl);
		if (rc) {
			detach(n);
			node_free(m, n);
		} else {
			memcpy(n->in->data, target, tl);
		}
	}
	if (rc == 0 && out)
		*out = n->in->attr;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_link(struct remote *r, const char *from, const char *to, struct remote_attr *out)
{
	struct mem *m = M(r);
	struct mnode *fn = NULL, *d, *n;
	const char *name;
	size_t nl;
	int rc = begin_mod(m, REMOTE_MEM_LINK, from, to);

	if (rc == 0)
		rc = walk(m, from, &fn);
	if (rc == 0)
		rc = split(m, to, &d, &name, &nl);
	if (rc == 0 && (!d || kid(d, name, nl)))
		rc = -EEXIST;
	if (rc == 0 && is_dir(fn))
		rc = -EPERM;
	if (rc == 0 && !(n = dentry_new(name, nl, fn->in)))
		rc = -ENOMEM;
	if (rc == 0) {
		fn->in->attr.nlink++;
		if (attach(d, n)) {
			node_free(m, n);
			rc = -ENOMEM;
		}
	}
	if (rc == 0) {
		bump_ctime_in(fn->in);
		bump_mtime_in(d->in);
		if (out)
			*out = fn->in->attr;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

#define SET_TIMES (REMOTE_SET_ATIME | REMOTE_SET_MTIME | REMOTE_SET_ATIME_NOW | REMOTE_SET_MTIME_NOW)

/* All checks first, then the changes in the backend's order: owner
 * (clearing set-id bits of a non-directory as chown does), mode, size
 * (through a symlink, as truncate), times (of a symlink itself). */
static int setattr_locked(struct mem *m, const char *path, const struct remote_setattr *sa, struct remote_attr *out)
{
	struct mnode *n, *t = NULL;
	struct minode *in;
	int rc = walk(m, path, &n);

	if (rc)
		return rc;
	in = n->in;
	if ((sa->valid & REMOTE_SET_MODE) && S_ISLNK(in->attr.mode))
		return -EOPNOTSUPP;
	if (sa->valid & REMOTE_SET_SIZE) {
		rc = follow(m, path, &t, NULL);
		if (rc)
			return rc;
		if (is_dir(t))
			return -EISDIR;
		if (!S_ISREG(t->in->attr.mode))
			return -EINVAL;
		rc = room_for(m, t->in, sa->size);
		if (rc)
			return rc;
		rc = set_len(m, t->in, (size_t)sa->size);
		if (rc)
			return rc;
	}
	if (sa->valid & (REMOTE_SET_UID | REMOTE_SET_GID)) {
		if (sa->valid & REMOTE_SET_UID)
			in->attr.uid = sa->uid;
		if (sa->valid & REMOTE_SET_GID)
			in->attr.gid = sa->gid;
		if (!S_ISDIR(in->attr.mode)) {
			in->attr.mode &= ~(uint32_t)S_ISUID;
			if (in->attr.mode & S_IXGRP)
				in->attr.mode &= ~(uint32_t)S_ISGID;
		}
	}
	if (sa->valid & REMOTE_SET_MODE)
		in->attr.mode = (in->attr.mode & S_IFMT) | (sa->mode & 07777);
	if (t)
		bump_mtime_in(t->in);
	if (sa->valid & (REMOTE_SET_ATIME | REMOTE_SET_ATIME_NOW))
		in->attr.atime = (sa->valid & REMOTE_SET_ATIME_NOW) ? now_after(NULL) : sa->atime;
	if (sa->valid & (REMOTE_SET_MTIME | REMOTE_SET_MTIME_NOW))
		in->attr.mtime = (sa->valid & REMOTE_SET_MTIME_NOW) ? now_after(&in->attr.mtime) : sa->mtime;
	if (sa->valid & (REMOTE_SET_MODE | REMOTE_SET_UID | REMOTE_SET_GID | SET_TIMES))
		bump_ctime_in(in);
	if (out)
		*out = in->attr;
	return 0;
}

static int mem_setattr(struct remote *r, const char *path, const struct remote_setattr *sa, struct remote_attr *out)
{
	struct mem *m = M(r);
	int rc = begin_mod(m, REMOTE_MEM_SETATTR, path, NULL);

	if (rc == 0)
		rc = setattr_locked(m, path, sa, out);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* The regular file PATH leads to (symlinks followed). */
static int file_for_write(struct mem *m, const char *path, struct mnode **out)
{
	int rc = follow(m, path, out, NULL);

	if (rc == 0 && is_dir(*out))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG((*out)->in->attr.mode))
		rc = -EINVAL;
	return rc;
}

static ssize_t write_locked(struct mem *m, const char *path, uint64_t off, const void *buf, size_t len,
			    struct remote_attr *out, int rc);

static ssize_t mem_write(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len)
{
	struct mem *m = M(r);

	return write_locked(m, path, off, buf, len, NULL, begin_mod(m, REMOTE_MEM_WRITE, path, NULL));
}

/* write_stat counts as a write (one round trip) */
static ssize_t mem_write_stat(struct remote *r, const char *path, uint64_t off, const void *buf, size_t len,
			      struct remote_attr *out)
{
	struct mem *m = M(r);

	return write_locked(m, path, off, buf, len, out, begin_mod(m, REMOTE_MEM_WRITE, path, NULL));
}

/* begin_mod's result RC; the lock is held. */
static ssize_t write_locked(struct mem *m, const char *path, uint64_t off, const void *buf, size_t len,
			    struct remote_attr *out, int rc)
{
	struct mnode *n;

	if (rc == 0)
		rc = file_for_write(m, path, &n);
	if (rc == 0 && (off > MAX_FILE || len > MAX_FILE - off))
		rc = -EFBIG;
	if (rc == 0 && len) {
		if (off + len > n->in->len) {
			rc = room_for(m, n->in, off + len);
			if (rc == 0)
				rc = set_len(m, n->in, (size_t)(off + len));
		}
		if (rc == 0) {
			memcpy(n->in->data + off, buf, len);
			bump_mtime_in(n->in);
			m->bytes_written += len;
		}
	}
	if (rc == 0 && out)
		*out = n->in->attr;
	pthread_mutex_unlock(&m->lock);
	return rc ? rc : (ssize_t)len;
}

static int mem_wopen(struct remote *r, const char *path, uint64_t off, struct remote_wstream **out)
{
	struct mem *m = M(r);
	struct remote_wstream *w = NULL;
	struct mnode *n;
	int rc = begin_mod(m, REMOTE_MEM_WOPEN, path, NULL);

	*out = NULL;
	if (rc == 0)
		rc = file_for_write(m, path, &n);
	if (rc == 0 && off > MAX_FILE)
		rc = -EFBIG;
	if (rc == 0 && (!(w = calloc(1, sizeof(*w))) || !(w->path = strdup(path)))) {
		free(w);
		rc = -ENOMEM;
	}
	if (rc == 0) {
		w->m = m;
		w->in = n->in;
		w->in->refs++;
		w->pos = off;
		m->wstreams++;
		*out = w;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Stores what fits; a shortfall becomes the stream's (sticky) error,
 * returned now or, with late errors, by the next call. */
static ssize_t mem_wstream_write(struct remote_wstream *w, const void *buf, size_t len)
{
	struct mem *m = w->m;
	struct minode *in = w->in;
	int rc = begin(m, REMOTE_MEM_WSTREAM_WRITE, w->path);
	uint64_t limit, k;
	int short_err;

	if (w->err)
		rc = w->err;
	else if (rc == 0 && m->readonly)
		rc = -EROFS;
	if (rc) {
		w->err = rc;
		goto out;
	}
	/* how far the file may grow: the space left, the size limit */
	limit = space_left(m) > MAX_FILE ? MAX_FILE : in->len + space_left(m);
	if (limit > MAX_FILE)
		limit = MAX_FILE;
	if (limit < in->len)
		limit = in->len;
	k = w->pos >= limit ? 0 : limit - w->pos;
	if (k > len)
		k = len;
	short_err = k < len ? (w->pos + len > MAX_FILE ? -EFBIG : -ENOSPC) : 0;
	if (k) {
		if (w->pos + k > in->len)
			rc = set_len(m, in, (size_t)(w->pos + k));
		if (rc) {
			w->err = rc;
			goto out;
		}
		memcpy(in->data + w->pos, buf, (size_t)k);
		w->pos += k;
		m->bytes_written += k;
		bump_mtime_in(in);
	}
	if (short_err) {
		w->err = short_err;
		if (!m->late_errors)
			rc = short_err;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc ? rc : (ssize_t)len;
}

static int mem_wstream_close(struct remote_wstream *w)
{
	struct mem *m;
	int rc;

	if (!w)
		return 0;
	m = w->m;
	rc = begin(m, REMOTE_MEM_WSTREAM_CLOSE, w->path);
	if (w->err)
		rc = w->err;
	inode_unref(m, w->in);
	m->wstreams--;
	pthread_mutex_unlock(&m->lock);
	free(w->path);
	free(w);
	return rc;
}

/* Is there a rule for OP on DIR/NAME? Its error, or 0. Locked. */
static int rule_in(struct mem *m, enum remote_mem_op op, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int rc = 0;

	if (dl == 1)
		dl = 0; /* "/" */
	for (struct rule *ru = m->rules; ru; ru = ru->next)
		if ((ru->mask & REMOTE_MEM_OPMASK(op)) && strncmp(ru->path, dir, dl) == 0 && ru->path[dl] == '/' &&
		    strcmp(ru->path + dl + 1, name) == 0)
			rc = ru->err;
	return rc;
}

/* One file of a batch, as `printf > NAME && chmod && touch` does it:
 * never through a symlink, never over a non-regular file; a file that
 * does not fit is left cut short (-ENOSPC: the caller says -EIO). */
/* F->name's directory below D (every component an existing directory,
 * never a symlink) in *D, its last component in *NAME / *NL. */
static int many_parent(struct mnode **d, const struct remote_wfile *f, const char **name, size_t *nl)
{
	const char *p = f->name;

	for (;;) {
		const char *sl = strchr(p, '/');
		size_t l = sl ? (size_t)(sl - p) : strlen(p);

		if (l == 0 || l > MAX_NAME || (l == 1 && p[0] == '.') || (l == 2 && !strncmp(p, "..", 2)))
			return -EINVAL;
		if (!sl) {
			*name = p;
			*nl = l;
			return 0;
		}
		struct mnode *k = kid(*d, p, l);

		if (!k || !is_dir(k))
			return -ENOENT;
		*d = k;
		p = sl + 1;
	}
}

static int many_one(struct mem *m, struct mnode *d, const struct remote_wfile *f)
{
	const char *name;
	size_t nl;
	struct mnode *n;
	int rc = f->name ? many_parent(&d, f, &name, &nl) : -EINVAL;

	if (rc)
		return rc;
	n = kid(d, name, nl);
	if (f->type == S_IFDIR) { /* made now (writable), mode and time at the end */
		if (n)
			return is_dir(n) ? 0 : -EEXIST;
		return make_node(m, d, name, nl, S_IFDIR | 0700, &n);
	}
	if (n && !S_ISREG(n->in->attr.mode))
		return S_ISDIR(n->in->attr.mode) ? -EISDIR : -EINVAL;
	if (!n) {
		rc = make_node(m, d, name, nl, S_IFREG | (f->mode & 07777), &n);
		if (rc)
			return rc;
	}
	rc = set_len(m, n->in, 0);
	bump_mtime_in(n->in);
	if (rc == 0)
		rc = room_for(m, n->in, f->len);
	if (rc == 0)
		rc = set_len(m, n->in, f->len);
	if (rc)
		return rc;
	if (f->len)
		memcpy(n->in->data, f->data, f->len);
	m->bytes_written += f->len;
	n->in->attr.mode = S_IFREG | (f->mode & 07777);
	if (f->set_mtime)
		n->in->attr.mtime = f->mtime;
	bump_ctime_in(n->in);
	return 0;
}

static int mem_write_many(struct remote *r, const char *dir, const struct remote_wfile *files, size_t n, int *errs)
{
	struct mem *m = M(r);
	struct mnode *d;
	int rc = begin_mod(m, REMOTE_MEM_WRITE_MANY, dir, NULL);

	if (rc == 0)
		rc = follow(m, dir, &d, NULL); /* cd DIR */
	if (rc == 0 && !is_dir(d))
		rc = -ENOTDIR;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int e = files[i].name ? rule_in(m, REMOTE_MEM_WRITE_MANY, dir, files[i].name) : 0;
		const char *sl = files[i].name ? strrchr(files[i].name, '/') : NULL;

		if (e == 0 && sl) { /* its directory: a directory entry made earlier */
			size_t l = (size_t)(sl - files[i].name);
			bool ok = false;

			for (size_t k = 0; !ok && k < i; k++)
				ok = files[k].type == S_IFDIR && !errs[k] && strlen(files[k].name) == l &&
				     !memcmp(files[k].name, files[i].name, l);
			e = ok ? 0 : -ENOENT;
		}
		if (e == 0)
			e = many_one(m, d, &files[i]);
		errs[i] = e ? -EIO : 0; /* the pod's shell says only "not done" */
	}
	for (size_t i = n; rc == 0 && i-- > 0;) {
		const char *name;
		size_t nl;
		struct mnode *dd = d, *k;

		if (files[i].type != S_IFDIR || errs[i] || many_parent(&dd, &files[i], &name, &nl) ||
		    !(k = kid(dd, name, nl)))
			continue;
		k->in->attr.mode = S_IFDIR | (files[i].mode & 07777);
		if (files[i].set_mtime)
			k->in->attr.mtime = files[i].mtime;
		bump_ctime_in(k->in);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_fsync(struct remote *r, const char *path, int datasync)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_FSYNC, path);

	(void)datasync;
	if (rc == 0)
		rc = follow(m, path, &n, NULL);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_may_write(struct remote *r, const char *path)
{
	struct mem *m = M(r);
	struct mnode *n;
	int rc = begin(m, REMOTE_MEM_MAY_WRITE, path);

	if (rc == 0)
		rc = follow(m, path, &n, NULL);
	if (rc == 0 && m->readonly)
		rc = -EROFS;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static const struct remote_ops mem_ops = {
	.getattr = mem_getattr,
	.readdir = mem_readdir,
	.read = mem_read,
	.readlink = mem_readlink,
	.statfs = mem_statfs,
	.checksum = mem_checksum,
	.create = mem_create,
	.mknod = mem_mknod,
	.mkdir = mem_mkdir,
	.unlink = mem_unlink,
	.rmdir = mem_rmdir,
	.rename = mem_rename,
	.symlink = mem_symlink,
	.link = mem_link,
	.setattr = mem_setattr,
	.write = mem_write,
	.wopen = mem_wopen,
	.wstream_write = mem_wstream_write,
	.wstream_close = mem_wstream_close,
	.write_many = mem_write_many,
	.write_stat = mem_write_stat,
	.fsync = mem_fsync,
	.may_write = mem_may_write,
	.stats = mem_stats,
	.destroy = mem_destroy,
};

void remote_mem_enable_read_many(struct remote *r)
{
	M(r)->ops.read_many = mem_read_many;
}

void remote_mem_enable_read_streamed(struct remote *r, uint64_t from)
{
	M(r)->stream_from = from;
	M(r)->ops.read_streamed = mem_read_streamed;
}

void remote_mem_enable_readdir_tree(struct remote *r)
{
	M(r)->ops.readdir_tree = mem_readdir_tree;
}

void remote_mem_disable_writes(struct remote *r)
{
	struct remote_ops *o = &M(r)->ops;

	o->create = NULL;
	o->mknod = NULL;
	o->mkdir = NULL;
	o->unlink = NULL;
	o->rmdir = NULL;
	o->rename = NULL;
	o->symlink = NULL;
	o->link = NULL;
	o->setattr = NULL;
	o->write = NULL;
	o->wopen = NULL;
	o->wstream_write = NULL;
	o->wstream_close = NULL;
	o->write_many = NULL;
	o->write_stat = NULL;
	o->fsync = NULL;
	o->may_write = NULL;
}

int remote_mem_new(struct remote **out)
{
	struct mem *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->gate_cond, NULL);
	m->next_ino = 1000;
	m->space = UINT64_MAX;
	m->late_errors = true;
	m->root = node_new(m, "", S_IFDIR | 0755);
	if (!m->root) {
		pthread_cond_destroy(&m->gate_cond);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return -ENOMEM;
	}
	m->ops = mem_ops;
	m->r.ops = &m->ops;
	m->r.priv = m;
	*out = &m->r;
	return 0;
}
