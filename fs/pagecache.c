/* pagecache.c: block cache of file data with a memory budget (see pagecache.h).
 *
 * Structures: a hash of files (by our ino) and a hash of blocks (by ino and
 * block index). Each file keeps the list of its blocks, so a stamp change
 * drops them without a scan. A block is LOADING (inserted by the reader
 * that fetches it; others wait on P->cond) or READY (data, in the LRU
 * list, counted in P->bytes). Invalidation bumps the file's epoch and
 * drops its READY blocks; a LOADING block from an older epoch is thrown
 * away when its fetch returns, so data read under an old stamp never
 * becomes READY under a new one.
 *
 * Eviction (oldest READY block first) runs at the end of each read, after
 * the requested bytes were copied out, so a read never loses its own
 * blocks half way; the cache can pass its budget by one read's worth for
 * that moment.
 *
 * Locks: one mutex, P->lock, a leaf lock, released around every fetch
 * (the remote call), with one condition variable, P->cond, for readers
 * waiting on LOADING blocks. A file being read is pinned (busy count) so
 * pcache_drop_file cannot free it under a reader.
 */
#include "pagecache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pfile;

struct block {
	struct block *hnext;
	struct block *prev, *next;   /* LRU (READY blocks only) */
	struct block *fprev, *fnext; /* the file's blocks */
	struct pfile *f;
	uint64_t idx;
	uint64_t epoch;
	bool loading;
	size_t len;
	char *data;
};

struct pfile {
	struct pfile *hnext;
	uint64_t ino;
	bool has_stamp;
	struct pcache_stamp stamp;
	uint64_t epoch;
	struct block *blocks;
	size_t nblocks;
	unsigned busy;
	bool dead; /* dropped while busy: the last reader frees it */
};

struct pcache {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t budget;
	struct pfile **files;
	size_t files_size;
	size_t nfiles;
	struct block **blocks;
	size_t blocks_size;
	size_t nblocks;
	struct block lru; /* lru.next is the most recent */
	struct pcache_stats st;
};

#define BLOCK_OVERHEAD sizeof(struct block)

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static size_t bkey(const struct pcache *p, uint64_t ino, uint64_t idx)
{
	return mix(ino * 0x9e3779b97f4a7c15ULL + idx) & (p->blocks_size - 1);
}

static struct block *find_block(struct pcache *p, uint64_t ino, uint64_t idx)
{
	struct block *b = p->blocks[bkey(p, ino, idx)];

	while (b && (b->idx != idx || b->f->ino != ino))
		b = b->hnext;
	return b;
}

static struct pfile *find_file(struct pcache *p, uint64_t ino)
{
	struct pfile *f = p->files[mix(ino) & (p->files_size - 1)];

	while (f && f->ino != ino)
		f = f->hnext;
	return f;
}

static void grow_blocks(struct pcache *p)
{
	size_t old = p->blocks_size;
	struct block **nb, **ob = p->blocks;

	if (p->nblocks <= old || !(nb = calloc(old * 2, sizeof(*nb))))
		return;
	p->blocks = nb;
	p->blocks_size = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct block *b = ob[i], *next;

		for (; b; b = next) {
			size_t k = bkey(p, b->f->ino, b->idx);

			next = b->hnext;
			b->hnext = nb[k];
			nb[k] = b;
		}
	}
	free(ob);
}

static void grow_files(struct pcache *p)
{
	size_t old = p->files_size;
	struct pfile **nf, **of = p->files;

	if (p->nfiles <= old || !(nf = calloc(old * 2, sizeof(*nf))))
		return;
	p->files = nf;
	p->files_size = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct pfile *f = of[i], *next;

		for (; f; f = next) {
			size_t k = mix(f->ino) & (p->files_size - 1);

			next = f->hnext;
			f->hnext = nf[k];
			nf[k] = f;
		}
	}
	free(of);
}

static void lru_unlink(struct block *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
	b->prev = b->next = NULL;
}

static void lru_front(struct pcache *p, struct block *b)
{
	b->next = p->lru.next;
	b->prev = &p->lru;
	p->lru.next->prev = b;
	p->lru.next = b;
}

/* Unlink B from every structure and free it. Locked. */
static void block_free(struct pcache *p, struct block *b)
{
	struct block **pp = &p->blocks[bkey(p, b->f->ino, b->idx)];
	struct pfile *f = b->f;

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	p->nblocks--;
	if (b->fprev)
		b->fprev->fnext = b->fnext;
	else
		f->blocks = b->fnext;
	if (b->fnext)
		b->fnext->fprev = b->fprev;
	f->nblocks--;
	if (!b->loading) {
		lru_unlink(b);
		p->st.bytes -= b->len + BLOCK_OVERHEAD;
		p->st.blocks--;
	}
	free(b->data);
	free(b);
}

/* A new LOADING block for (F, IDX). Locked. */
static struct block *block_add(struct pcache *p, struct pfile *f, uint64_t idx)
{
	struct block *b = calloc(1, sizeof(*b));
	size_t k;

	if (!b)
		return NULL;
	b->f = f;
	b->idx = idx;
	b->epoch = f->epoch;
	b->loading = true;
	k = bkey(p, f->ino, idx);
	b->hnext = p->blocks[k];
	p->blocks[k] = b;
	p->nblocks++;
	b->fnext = f->blocks;
	if (f->blocks)
		f->blocks->fprev = b;
	f->blocks = b;
	f->nblocks++;
	grow_blocks(p);
	return b;
}

/* Drop F's READY blocks and move it to a new epoch. Locked. */
static void invalidate(struct pcache *p, struct pfile *f)
{
	struct block *b = f->blocks, *next;

	f->epoch++;
	for (; b; b = next) {
		next = b->fnext;
		if (!b->loading)
			block_free(p, b);
	}
}

static struct pfile *file_get(struct pcache *p, uint64_t ino, bool create)
{
	struct pfile *f = find_file(p, ino);
	size_t k;

	if (f || !create)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ino = ino;
	k = mix(ino) & (p->files_size - 1);
	f->hnext = p->files[k];
	p->files[k] = f;
	p->nfiles++;
	grow_files(p);
	return f;
}

/* Remove F from the file table and free it (it has no blocks). Locked. */
static void file_free(struct pcache *p, struct pfile *f)
{
	struct pfile **pp = &p->files[mix(f->ino) & (p->files_size - 1)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = f->hnext;
		p->nfiles--;
	}
	free(f);
}

static void evict(struct pcache *p)
{
	while (p->st.bytes > p->budget && p->lru.prev != &p->lru)
		block_free(p, p->lru.prev);
}

int pcache_new(struct pcache **out, size_t budget)
{
	struct pcache *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->budget = budget ? budget : (size_t)64 << 20;
	p->files_size = 64;
	p->blocks_size = 256;
	p->files = calloc(p->files_size, sizeof(*p->files));
	p->blocks = calloc(p->blocks_size, sizeof(*p->blocks));
	p->lru.next = p->lru.prev = &p->lru;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!p->files || !p->blocks) {
		pcache_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void pcache_free(struct pcache *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->files && i < p->files_size; i++) {
		struct pfile *f = p->files[i], *next;

		for (; f; f = next) {
			next = f->hnext;
			while (f->blocks)
				block_free(p, f->blocks);
			free(f);
		}
	}
	free(p->files);
	free(p->blocks);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static bool same_stamp(const struct pcache_stamp *a, const struct pcache_stamp *b)
{
	return a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->size == b->size && a->pod_ino == b->pod_ino;
}

bool pcache_set_stamp(struct pcache *p, uint64_t ino, const struct pcache_stamp *s, bool create)
{
	struct pfile *f;
	bool changed = false;

	pthread_mutex_lock(&p->lock);
	f = file_get(p, ino, create);
	if (!f)
		goto out;
	changed = f->has_stamp ? !same_stamp(&f->stamp, s) : f->nblocks > 0;
	if (changed)
		invalidate(p, f);
	f->stamp = *s;
	f->has_stamp = true;
out:
	pthread_mutex_unlock(&p->lock);
	return changed;
}

void pcache_drop_file(struct pcache *p, uint64_t ino)
{
	struct pfile *f;

	pthread_mutex_lock(&p->lock);
	f = find_file(p, ino);
	if (f) {
		invalidate(p, f);
		if (f->busy)
			f->dead = true;
		else
			file_free(p, f);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Fetch blocks [START, END] of F with FETCH, outside the lock, and make
 * them READY. Called locked with LOADING blocks already inserted for
 * them; returns locked, after waking every waiter. */
static int fetch_range(struct pcache *p, struct pfile *f, uint64_t start, uint64_t end,
		       pcache_fetch_fn fetch, void *arg)
{
	size_t n = (size_t)(end - start + 1), want = n * PCACHE_BLOCK;
	ssize_t got = -ENOMEM;
	char *buf;
	int rc = 0;

	pthread_mutex_unlock(&p->lock);
	buf = malloc(want);
	if (buf)
		got = fetch(arg, start * PCACHE_BLOCK, buf, want);
	pthread_mutex_lock(&p->lock);
	p->st.fetches++;
	if (got > 0)
		p->st.fetched_bytes += (uint64_t)got;
	if (got < 0)
		rc = (int)got;
	else if ((size_t)got > want)
		got = (ssize_t)want; /* a misbehaving fetch cannot overrun us */
	for (uint64_t i = start; i <= end; i++) {
		struct block *b = find_block(p, f->ino, i);
		size_t pos = (size_t)(i - start) * PCACHE_BLOCK, len = 0;

		if (!b || !b->loading)
			continue; /* cannot happen: only we finish our blocks */
		if (rc == 0 && (size_t)got > pos)
			len = (size_t)got - pos < PCACHE_BLOCK ? (size_t)got - pos : PCACHE_BLOCK;
		if (rc == 0 && b->epoch == f->epoch && len > 0 && !(b->data = malloc(len)))
			rc = -ENOMEM;
		if (rc != 0 || b->epoch != f->epoch) {
			block_free(p, b);
			continue;
		}
		if (len)
			memcpy(b->data, buf + pos, len);
		b->len = len;
		b->loading = false;
		lru_front(p, b);
		p->st.bytes += len + BLOCK_OVERHEAD;
		p->st.blocks++;
	}
	pthread_cond_broadcast(&p->cond);
	free(buf);
	return rc;
}

/* Is a read at OFF a continuation of RA's stream? Kernel read-ahead can
 * deliver neighbouring requests out of order, so anything within the
 * window around the expected offset counts. */
static bool sequential(const struct pcache_ra *ra, uint64_t off, size_t len)
{
	uint64_t slack = ra->window + len;

	if (off == ra->next_off)
		return true;
	if (ra->window == 0)
		return false;
	return off + slack >= ra->next_off && off <= ra->next_off + ra->window;
}

void pcache_note_read(struct pcache *p, struct pcache_ra *ra, uint64_t off, size_t len)
{
	pthread_mutex_lock(&p->lock);
	if (sequential(ra, off, len)) {
		if (off + len > ra->next_off)
			ra->next_off = off + len;
	} else {
		ra->window = 0;
		ra->next_off = off + len;
	}
	pthread_mutex_unlock(&p->lock);
}

ssize_t pcache_read(struct pcache *p, uint64_t ino, struct pcache_ra *ra, uint64_t off,
		    void *buf, size_t len, pcache_fetch_fn fetch, void *arg)
{
	uint64_t first, last, ra_last;
	struct pfile *f;
	ssize_t rc = 0;
	size_t done = 0;

	if (len == 0)
		return 0;
	if (off > UINT64_MAX - len)
		return -EINVAL;
	first = off / PCACHE_BLOCK;
	last = (off + len - 1) / PCACHE_BLOCK;
	pthread_mutex_lock(&p->lock);
	f = file_get(p, ino, true);
	if (!f) {
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	f->busy++;

	if (sequential(ra, off, len)) {
		ra->window = ra->window ? ra->window * 2 : PCACHE_BLOCK;
		if (ra->window > PCACHE_MAX_WINDOW)
			ra->window = PCACHE_MAX_WINDOW;
		if (off + len > ra->next_off)
			ra->next_off = off + len;
	} else {
		ra->window = 0;
		ra->next_off = off + len;
	}
	ra_last = ra->window ? (off + len + ra->window - 1) / PCACHE_BLOCK : last;
	if (f->has_stamp && ra_last > last) {
		/* no read-ahead past the end of file as we know it */
		uint64_t eof_blk = f->stamp.size ? (f->stamp.size - 1) / PCACHE_BLOCK : 0;

		if (ra_last > eof_blk)
			ra_last = eof_blk > last ? eof_blk : last;
	}

	for (uint64_t i = first; i <= last; i++) {
		struct block *b = find_block(p, ino, i);

		if (b && !b->loading) {
			p->st.hits++;
			if (b->len < PCACHE_BLOCK)
				break; /* end of file */
		} else {
			p->st.misses++;
		}
	}

again:
	for (uint64_t i = first; i <= last; i++) {
		struct block *b = find_block(p, ino, i);

		if (!b) {
			uint64_t end = i;

			while (end < ra_last && !find_block(p, ino, end + 1))
				end++;
			for (uint64_t j = i; j <= end; j++) {
				if (!block_add(p, f, j)) {
					if (j == i) {
						rc = -ENOMEM;
						goto out;
					}
					end = j - 1; /* fetch what we could add */
					break;
				}
			}
			if (end > last)
				p->st.readahead_blocks += end - last;
			rc = fetch_range(p, f, i, end, fetch, arg);
			if (rc)
				goto out;
			goto again;
		}
		if (b->loading) {
			pthread_cond_wait(&p->cond, &p->lock);
			goto again;
		}
		if (b->len < PCACHE_BLOCK)
			break; /* end of file: later blocks do not matter */
	}

	/* Every block of the request is READY (up to end of file). */
	for (uint64_t i = first; i <= last; i++) {
		struct block *b = find_block(p, ino, i);
		uint64_t bstart = i * PCACHE_BLOCK;
		uint64_t from = off > bstart ? off - bstart : 0;
		uint64_t to = off + len - bstart;

		if (to > PCACHE_BLOCK)
			to = PCACHE_BLOCK;
		if (to > b->len)
			to = b->len;
		if (to > from) {
			memcpy((char *)buf + done, b->data + from, (size_t)(to - from));
			done += (size_t)(to - from);
		}
		lru_unlink(b);
		lru_front(p, b);
		if (b->len < PCACHE_BLOCK)
			break;
	}
	rc = (ssize_t)done;
	evict(p);
out:
	f->busy--;
	if (f->dead && f->busy == 0) {
		invalidate(p, f);
		if (f->nblocks == 0)
			file_free(p, f);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void pcache_get_stats(struct pcache *p, struct pcache_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->st;
	pthread_mutex_unlock(&p->lock);
}
