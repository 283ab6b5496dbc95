/* prefetch.c: the small-file store (see prefetch.h). A hash of paths plus
 * a FIFO for eviction, under one mutex (never held across a remote call:
 * the caller fetches, then puts). Directory claims live in a small ring. */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096
#define NDIRS 512 /* a batch may claim PF_MAX_DIRS (256) directories */

struct pf_entry {
	struct pf_entry *hnext; /* bucket chain */
	struct pf_entry *fnext; /* FIFO, oldest first */
	char *path;
	struct pcache_stamp stamp;
	size_t len;
	char data[];
};

struct pf_dir {
	char *path;
	uint64_t at;
};

struct prefetch {
	pthread_mutex_t lock;
	struct pf_entry *b[NBUCKETS];
	struct pf_entry *fifo_head, *fifo_tail;
	size_t budget, bytes;
	uint64_t files, served;
	struct pf_dir dirs[NDIRS];
	unsigned next_dir;
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

int pf_new(struct prefetch **out, size_t budget)
{
	struct prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->budget = budget;
	*out = p;
	return 0;
}

/* Unlink E from its bucket and the FIFO, and free it. Lock held. */
static void drop(struct prefetch *p, struct pf_entry *e)
{
	struct pf_entry **pp = &p->b[hash(e->path)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	pp = &p->fifo_head;
	struct pf_entry *prev = NULL;

	for (struct pf_entry *f = p->fifo_head; f; prev = f, f = f->fnext)
		if (f == e) {
			if (prev)
				prev->fnext = f->fnext;
			else
				p->fifo_head = f->fnext;
			if (p->fifo_tail == f)
				p->fifo_tail = prev;
			break;
		}
	(void)pp;
	p->bytes -= e->len;
	free(e->path);
	free(e);
}

static struct pf_entry *find(struct prefetch *p, const char *path)
{
	for (struct pf_entry *e = p->b[hash(path)]; e; e = e->hnext)
		if (!strcmp(e->path, path))
			return e;
	return NULL;
}

void pf_put(struct prefetch *p, const char *path, const struct pcache_stamp *s, const void *data, size_t len)
{
	struct pf_entry *e;

	if (len > p->budget)
		return;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return;
	e->path = strdup(path);
	if (!e->path) {
		free(e);
		return;
	}
	e->stamp = *s;
	e->len = len;
	memcpy(e->data, data, len);
	e->fnext = NULL;
	pthread_mutex_lock(&p->lock);
	struct pf_entry *old = find(p, path);

	if (old)
		drop(p, old);
	while (p->bytes + len > p->budget && p->fifo_head)
		drop(p, p->fifo_head);
	unsigned h = hash(path);

	e->hnext = p->b[h];
	p->b[h] = e;
	if (p->fifo_tail)
		p->fifo_tail->fnext = e;
	else
		p->fifo_head = e;
	p->fifo_tail = e;
	p->bytes += len;
	p->files++;
	pthread_mutex_unlock(&p->lock);
}

static bool same(const struct pcache_stamp *a, const struct pcache_stamp *b)
{
	return a->size == b->size && a->pod_ino == b->pod_ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

ssize_t pf_read(struct prefetch *p, const char *path, const struct pcache_stamp *s, uint64_t off, void *buf,
		size_t len)
{
	struct pf_entry *e;
	ssize_t n = -ENOENT;

	pthread_mutex_lock(&p->lock);
	e = find(p, path);
	if (e && !same(&e->stamp, s)) {
		drop(p, e); /* stale */
		e = NULL;
	}
	if (e) {
		size_t have = off < e->len ? e->len - (size_t)off : 0;

		n = (ssize_t)(have < len ? have : len);
		if (n)
			memcpy(buf, e->data + off, (size_t)n);
		p->served++;
		if (off + (uint64_t)n >= e->len)
			drop(p, e);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

bool pf_holds(struct prefetch *p, const char *path, const struct pcache_stamp *s)
{
	struct pf_entry *e;
	bool held;

	pthread_mutex_lock(&p->lock);
	e = find(p, path);
	held = e && same(&e->stamp, s);
	pthread_mutex_unlock(&p->lock);
	return held;
}

bool pf_dir_claim(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns)
{
	bool ok = true;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < NDIRS; i++)
		if (p->dirs[i].path && !strcmp(p->dirs[i].path, dir)) {
			if (now_ns - p->dirs[i].at < ttl_ns)
				ok = false;
			else
				p->dirs[i].at = now_ns;
			pthread_mutex_unlock(&p->lock);
			return ok;
		}
	struct pf_dir *d = &p->dirs[p->next_dir++ % NDIRS];
	char *copy = strdup(dir);

	if (copy) {
		free(d->path);
		d->path = copy;
		d->at = now_ns;
	}
	pthread_mutex_unlock(&p->lock);
	return true;
}

void pf_forget(struct prefetch *p, const char *path)
{
	pthread_mutex_lock(&p->lock);
	for (struct pf_entry *e = p->b[hash(path)], *next; e; e = next) {
		next = e->hnext;
		if (!strcmp(e->path, path))
			drop(p, e);
	}
	pthread_mutex_unlock(&p->lock);
}

void pf_stats(struct prefetch *p, uint64_t *files, uint64_t *bytes, uint64_t *served)
{
	pthread_mutex_lock(&p->lock);
	*files = p->files;
	*bytes = p->bytes;
	*served = p->served;
	pthread_mutex_unlock(&p->lock);
}

void pf_free(struct prefetch *p)
{
	if (!p)
		return;
	while (p->fifo_head)
		drop(p, p->fifo_head);
	for (int i = 0; i < NDIRS; i++)
		free(p->dirs[i].path);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
