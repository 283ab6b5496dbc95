/* prefetch.c: the small-file store (see prefetch.h). A hash of paths plus
 * a FIFO for eviction, under one mutex (never held across a remote call:
 * the caller fetches, then puts). Directory claims live in a small ring;
 * a reader of a directory whose fetch is in flight waits on `done` (the
 * mutex is released while it waits). */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	unsigned h; /* full hash of path: most slots are told apart without strcmp */
	uint64_t at;
	bool busy; /* its fetch is in flight */
	bool seen; /* a reader visited it since it was claimed */
};

struct prefetch {
	pthread_mutex_t lock;
	pthread_cond_t done; /* a claimed directory's fetch ended */
	struct pf_entry *b[NBUCKETS];
	struct pf_entry *fifo_head, *fifo_tail;
	size_t budget, bytes;
	uint64_t files, served;
	struct pf_dir dirs[NDIRS];
	unsigned next_dir;
};

static unsigned hash_full(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static unsigned hash(const char *s)
{
	return hash_full(s) % NBUCKETS;
}

int pf_new(struct prefetch **out, size_t budget)
{
	struct prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_condattr_t ca;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->done, &ca);
	pthread_condattr_destroy(&ca);
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

/* DIR's claim slot, or NULL. Lock held. */
static struct pf_dir *dir_find(struct prefetch *p, const char *dir, unsigned h)
{
	for (int i = 0; i < NDIRS; i++)
		if (p->dirs[i].h == h && p->dirs[i].path && !strcmp(p->dirs[i].path, dir))
			return &p->dirs[i];
	return NULL;
}

bool pf_dir_claim(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns)
{
	unsigned h = hash_full(dir);
	struct pf_dir *d;

	pthread_mutex_lock(&p->lock);
	d = dir_find(p, dir, h);
	if (d && now_ns - d->at < ttl_ns) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	if (!d) {
		/* the oldest slot, past the ones in flight if it can */
		char *copy = strdup(dir);

		for (int i = 0; i < NDIRS; i++) {
			d = &p->dirs[p->next_dir++ % NDIRS];
			if (!d->busy)
				break;
		}
		if (!copy) {
			pthread_mutex_unlock(&p->lock);
			return true; /* unrecorded: a later open may fetch again */
		}
		if (d->busy)
			pthread_cond_broadcast(&p->done); /* its readers stop waiting */
		free(d->path);
		d->path = copy;
		d->h = h;
	}
	d->at = now_ns;
	d->busy = true;
	d->seen = false;
	pthread_mutex_unlock(&p->lock);
	return true;
}

void pf_dir_done(struct prefetch *p, const char *dir)
{
	struct pf_dir *d;

	pthread_mutex_lock(&p->lock);
	d = dir_find(p, dir, hash_full(dir));
	if (d && d->busy) {
		d->busy = false;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
}

enum pf_visit pf_dir_visit(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns, unsigned wait_ms)
{
	unsigned h = hash_full(dir);
	enum pf_visit r = PF_UNCLAIMED;
	struct timespec until;
	struct pf_dir *d;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while ((d = dir_find(p, dir, h)) && d->busy)
		if (pthread_cond_timedwait(&p->done, &p->lock, &until) == ETIMEDOUT)
			break;
	if (d && now_ns - d->at < ttl_ns) {
		r = d->seen ? PF_AGAIN : PF_FIRST;
		d->seen = true;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

bool pf_dir_claimed(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns)
{
	struct pf_dir *d;
	bool claimed;

	pthread_mutex_lock(&p->lock);
	d = dir_find(p, dir, hash_full(dir));
	claimed = d && now_ns - d->at < ttl_ns;
	pthread_mutex_unlock(&p->lock);
	return claimed;
}

size_t pf_space(struct prefetch *p)
{
	size_t space;

	pthread_mutex_lock(&p->lock);
	space = p->bytes < p->budget ? p->budget - p->bytes : 0;
	pthread_mutex_unlock(&p->lock);
	return space;
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
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
