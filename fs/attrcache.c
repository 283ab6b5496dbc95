/* attrcache.c: TTL caches for attributes, negative entries and listings
 * (see attrcache.h).
 *
 * Two tables, each a chained hash on the path plus an LRU list: one for
 * attribute and negative entries (max_attrs), one for listings (max_dirs,
 * and max_dir_entries summed over the listings). A stale entry found by a
 * get is dropped on the spot; the LRU end is evicted on insert when a
 * bound is passed. Listings are shared with directory handles by
 * reference count, so eviction never frees a listing still being read.
 *
 * Locks: one mutex, C->lock, a leaf lock (never held while calling the
 * remote or taking another podfs lock). Listing reference counts are
 * atomic so handles can drop theirs without the cache lock.
 */
#include "attrcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "path.h"

struct node {
	struct node *hnext;
	struct node *prev, *next; /* LRU: head.next is the most recent */
	char *key;
	uint64_t hash;
	uint64_t when;
};

struct table {
	struct node **b;
	size_t size; /* power of two */
	size_t count;
	struct node head;
};

struct attr_ent {
	struct node n; /* first, so a node pointer is an entry pointer */
	bool negative;
	struct remote_attr attr;
	char *link;
};

struct dir_ent {
	struct node n;
	struct acache_listing *l;
};

struct acache {
	pthread_mutex_t lock;
	struct acache_cfg cfg;
	struct table attrs;
	struct table dirs;
	size_t dir_entries;
	struct acache_stats st;
};

uint64_t acache_monotonic_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t acache_now(struct acache *c)
{
	return c->cfg.clock(c->cfg.clock_arg);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- hash + LRU table ---- */

static int tbl_init(struct table *t)
{
	t->size = 256;
	t->count = 0;
	t->b = calloc(t->size, sizeof(*t->b));
	t->head.next = t->head.prev = &t->head;
	return t->b ? 0 : -ENOMEM;
}

static struct node *tbl_find(struct table *t, const char *key, uint64_t h)
{
	struct node *n = t->b[h & (t->size - 1)];

	while (n && (n->hash != h || strcmp(n->key, key) != 0))
		n = n->hnext;
	return n;
}

static void lru_unlink(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static void lru_front(struct table *t, struct node *n)
{
	n->next = t->head.next;
	n->prev = &t->head;
	t->head.next->prev = n;
	t->head.next = n;
}

static void tbl_touch(struct table *t, struct node *n)
{
	lru_unlink(n);
	lru_front(t, n);
}

static void tbl_grow(struct table *t)
{
	size_t size = t->size * 2;
	struct node **b;

	if (t->count <= t->size || !(b = calloc(size, sizeof(*b))))
		return; /* failing to grow only costs speed */
	for (size_t i = 0; i < t->size; i++) {
		struct node *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (size - 1)];
			b[n->hash & (size - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->size = size;
}

static void tbl_insert(struct table *t, struct node *n)
{
	size_t k = n->hash & (t->size - 1);

	n->hnext = t->b[k];
	t->b[k] = n;
	lru_front(t, n);
	t->count++;
	tbl_grow(t);
}

static void tbl_remove(struct table *t, struct node *n)
{
	struct node **pp = &t->b[n->hash & (t->size - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	lru_unlink(n);
	t->count--;
}

static struct node *tbl_oldest(struct table *t)
{
	return t->head.prev == &t->head ? NULL : t->head.prev;
}

/* ---- entries ---- */

static void attr_free(struct attr_ent *e)
{
	free(e->link);
	free(e->n.key);
	free(e);
}

static void attr_drop(struct acache *c, struct attr_ent *e)
{
	tbl_remove(&c->attrs, &e->n);
	attr_free(e);
}

static void dir_drop(struct acache *c, struct dir_ent *e)
{
	tbl_remove(&c->dirs, &e->n);
	c->dir_entries -= e->l->n;
	acache_listing_unref(e->l);
	free(e->n.key);
	free(e);
}

static bool fresh(const struct node *n, uint64_t ttl, uint64_t now)
{
	return ttl > 0 && now >= n->when && now - n->when < ttl;
}

int acache_new(struct acache **out, const struct acache_cfg *cfg)
{
	struct acache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	if (!c->cfg.max_attrs)
		c->cfg.max_attrs = 65536;
	if (!c->cfg.max_dirs)
		c->cfg.max_dirs = 1024;
	if (!c->cfg.max_dir_entries)
		c->cfg.max_dir_entries = 1048576;
	if (!c->cfg.clock)
		c->cfg.clock = acache_monotonic_ns;
	pthread_mutex_init(&c->lock, NULL);
	if (tbl_init(&c->attrs) || tbl_init(&c->dirs)) {
		acache_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void acache_free(struct acache *c)
{
	struct node *n;

	if (!c)
		return;
	if (c->attrs.b)
		while ((n = tbl_oldest(&c->attrs)))
			attr_drop(c, (struct attr_ent *)n);
	if (c->dirs.b)
		while ((n = tbl_oldest(&c->dirs)))
			dir_drop(c, (struct dir_ent *)n);
	free(c->attrs.b);
	free(c->dirs.b);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Find or make PATH's attribute entry, at the front of the LRU. Locked. */
static struct attr_ent *attr_slot(struct acache *c, const char *path)
{
	uint64_t h = hash_str(path);
	struct node *n = tbl_find(&c->attrs, path, h);
	struct attr_ent *e;

	if (n) {
		tbl_touch(&c->attrs, n);
		return (struct attr_ent *)n;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->n.key = strdup(path))) {
		free(e);
		return NULL;
	}
	e->n.hash = h;
	tbl_insert(&c->attrs, &e->n);
	while (c->attrs.count > c->cfg.max_attrs) {
		n = tbl_oldest(&c->attrs);
		if (n == &e->n)
			break;
		attr_drop(c, (struct attr_ent *)n);
	}
	return e;
}

static int put_attr_locked(struct acache *c, const char *path, const struct remote_attr *a,
			   uint64_t now)
{
	struct attr_ent *e = attr_slot(c, path);

	if (!e)
		return -ENOMEM;
	/* A target cached for an older version of PATH would be wrong now
	 * if the symlink was replaced; keep it only for the same object. */
	if (e->link && (e->negative || e->attr.ino != a->ino || e->attr.dev != a->dev ||
			e->attr.mtime.tv_sec != a->mtime.tv_sec ||
			e->attr.mtime.tv_nsec != a->mtime.tv_nsec)) {
		free(e->link);
		e->link = NULL;
	}
	e->negative = false;
	e->attr = *a;
	e->n.when = now;
	return 0;
}

int acache_put_attr(struct acache *c, const char *path, const struct remote_attr *a)
{
	int rc;

	if (c->cfg.attr_ttl_ns == 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	rc = put_attr_locked(c, path, a, acache_now(c));
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int acache_put_negative(struct acache *c, const char *path)
{
	struct attr_ent *e;
	int rc = 0;

	if (c->cfg.attr_ttl_ns == 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	e = attr_slot(c, path);
	if (!e) {
		rc = -ENOMEM;
	} else {
		e->negative = true;
		memset(&e->attr, 0, sizeof(e->attr));
		free(e->link);
		e->link = NULL;
		e->n.when = acache_now(c);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int acache_put_link(struct acache *c, const char *path, const char *target)
{
	struct node *n;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	n = tbl_find(&c->attrs, path, hash_str(path));
	if (n && !((struct attr_ent *)n)->negative &&
	    fresh(n, c->cfg.attr_ttl_ns, acache_now(c))) {
		struct attr_ent *e = (struct attr_ent *)n;
		char *copy = strdup(target);

		if (!copy) {
			rc = -ENOMEM;
		} else {
			free(e->link);
			e->link = copy;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* PATH's fresh entry (stale ones are dropped), or NULL. Locked. */
static struct attr_ent *attr_fresh(struct acache *c, const char *path)
{
	struct node *n = tbl_find(&c->attrs, path, hash_str(path));

	if (!n)
		return NULL;
	if (!fresh(n, c->cfg.attr_ttl_ns, acache_now(c))) {
		attr_drop(c, (struct attr_ent *)n);
		return NULL;
	}
	tbl_touch(&c->attrs, n);
	return (struct attr_ent *)n;
}

enum acache_hit acache_get_attr(struct acache *c, const char *path, struct remote_attr *out)
{
	enum acache_hit r = ACACHE_MISS;
	struct attr_ent *e;

	pthread_mutex_lock(&c->lock);
	e = attr_fresh(c, path);
	if (!e) {
		c->st.misses++;
	} else if (e->negative) {
		c->st.negative_hits++;
		r = ACACHE_NEGATIVE;
	} else {
		c->st.attr_hits++;
		*out = e->attr;
		r = ACACHE_HIT;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

enum acache_hit acache_get_link(struct acache *c, const char *path, char **target)
{
	enum acache_hit r = ACACHE_MISS;
	struct attr_ent *e;

	*target = NULL;
	pthread_mutex_lock(&c->lock);
	e = attr_fresh(c, path);
	if (e && !e->negative && e->link && (*target = strdup(e->link)))
		r = ACACHE_HIT;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void acache_invalidate(struct acache *c, const char *path)
{
	uint64_t h = hash_str(path);
	struct node *n;

	pthread_mutex_lock(&c->lock);
	if ((n = tbl_find(&c->attrs, path, h)))
		attr_drop(c, (struct attr_ent *)n);
	if ((n = tbl_find(&c->dirs, path, h)))
		dir_drop(c, (struct dir_ent *)n);
	pthread_mutex_unlock(&c->lock);
}

static bool under(const char *key, const char *path, size_t plen)
{
	/* PATH itself, or below it ("/" is above everything) */
	if (plen == 1 && path[0] == '/')
		return true;
	return strncmp(key, path, plen) == 0 && (key[plen] == '\0' || key[plen] == '/');
}

void acache_invalidate_tree(struct acache *c, const char *path)
{
	size_t plen = strlen(path);
	struct node *n, *next;

	pthread_mutex_lock(&c->lock);
	for (n = c->attrs.head.next; n != &c->attrs.head; n = next) {
		next = n->next;
		if (under(n->key, path, plen))
			attr_drop(c, (struct attr_ent *)n);
	}
	for (n = c->dirs.head.next; n != &c->dirs.head; n = next) {
		next = n->next;
		if (under(n->key, path, plen))
			dir_drop(c, (struct dir_ent *)n);
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- listings ---- */

static int cmp_idx_r(const void *a, const void *b, void *arg)
{
	const struct remote_dirent *e = arg;

	return strcmp(e[*(const size_t *)a].name, e[*(const size_t *)b].name);
}

int acache_listing_new(struct acache_listing **out, struct remote_dirent *ents, size_t n)
{
	struct acache_listing *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		goto fail;
	l->sorted = malloc((n ? n : 1) * sizeof(*l->sorted));
	if (!l->sorted)
		goto fail;
	for (size_t i = 0; i < n; i++)
		l->sorted[i] = i;
	qsort_r(l->sorted, n, sizeof(*l->sorted), cmp_idx_r, ents);
	l->ents = ents;
	l->n = n;
	l->refs = 1;
	*out = l;
	return 0;
fail:
	free(l);
	remote_dirents_free(ents, n);
	return -ENOMEM;
}

struct acache_listing *acache_listing_ref(struct acache_listing *l)
{
	__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

void acache_listing_unref(struct acache_listing *l)
{
	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	remote_dirents_free(l->ents, l->n);
	free(l->sorted);
	free(l);
}

const struct remote_dirent *acache_listing_find(const struct acache_listing *l, const char *name)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct remote_dirent *e = &l->ents[l->sorted[mid]];
		int c = strcmp(name, e->name);

		if (c == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int acache_put_dir(struct acache *c, const char *path, struct acache_listing *l)
{
	uint64_t h = hash_str(path), now;
	struct node *n;
	struct dir_ent *e = NULL;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	now = acache_now(c);
	/* Prime the attributes first: they are worth having even when the
	 * listing itself is too big to keep. */
	for (size_t i = 0; c->cfg.attr_ttl_ns && i < l->n; i++) {
		char *p;

		if (path_join(&p, path, l->ents[i].name))
			continue; /* a name we could never look up anyway */
		rc = put_attr_locked(c, p, &l->ents[i].attr, now);
		free(p);
		if (rc)
			goto out;
	}
	if ((n = tbl_find(&c->dirs, path, h)))
		dir_drop(c, (struct dir_ent *)n);
	if (c->cfg.dir_ttl_ns == 0 || l->n > c->cfg.max_dir_entries)
		goto out;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->n.key = strdup(path))) {
		free(e);
		rc = -ENOMEM;
		goto out;
	}
	e->n.hash = h;
	e->n.when = now;
	e->l = acache_listing_ref(l);
	tbl_insert(&c->dirs, &e->n);
	c->dir_entries += l->n;
	while (c->dirs.count > c->cfg.max_dirs || c->dir_entries > c->cfg.max_dir_entries) {
		n = tbl_oldest(&c->dirs);
		if (n == &e->n)
			break;
		dir_drop(c, (struct dir_ent *)n);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* PATH's fresh listing entry (stale ones are dropped), or NULL. Locked. */
static struct dir_ent *dir_fresh(struct acache *c, const char *path)
{
	struct node *n = tbl_find(&c->dirs, path, hash_str(path));

	if (!n)
		return NULL;
	if (!fresh(n, c->cfg.dir_ttl_ns, acache_now(c))) {
		dir_drop(c, (struct dir_ent *)n);
		return NULL;
	}
	tbl_touch(&c->dirs, n);
	return (struct dir_ent *)n;
}

enum acache_hit acache_get_dir(struct acache *c, const char *path, struct acache_listing **out)
{
	enum acache_hit r = ACACHE_MISS;
	struct dir_ent *e;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = dir_fresh(c, path);
	if (e) {
		*out = acache_listing_ref(e->l);
		c->st.dir_hits++;
		r = ACACHE_HIT;
	} else {
		c->st.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

enum acache_hit acache_dir_lookup(struct acache *c, const char *dir, const char *name,
				  struct remote_attr *out)
{
	enum acache_hit r = ACACHE_MISS;
	const struct remote_dirent *d;
	struct dir_ent *e;

	pthread_mutex_lock(&c->lock);
	e = dir_fresh(c, dir);
	if (e) {
		d = acache_listing_find(e->l, name);
		if (d) {
			*out = d->attr;
			c->st.attr_hits++;
			r = ACACHE_HIT;
		} else {
			c->st.negative_hits++;
			r = ACACHE_NEGATIVE;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void acache_get_stats(struct acache *c, struct acache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	out->attrs = c->attrs.count;
	out->dirs = c->dirs.count;
	out->dir_entries = c->dir_entries;
	pthread_mutex_unlock(&c->lock);
}

void acache_invalidate_attr(struct acache *c, const char *path)
{
	struct node *n;

	pthread_mutex_lock(&c->lock);
	if ((n = tbl_find(&c->attrs, path, hash_str(path))))
		attr_drop(c, (struct attr_ent *)n);
	pthread_mutex_unlock(&c->lock);
}

int acache_dir_update(struct acache *c, const char *dir, const char *name, const struct remote_attr *a)
{
	struct remote_dirent *ents = NULL;
	struct acache_listing *nl = NULL;
	struct dir_ent *e;
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	e = dir_fresh(c, dir);
	if (!e)
		goto out;
	if (e->l->n >= ACACHE_UPDATE_MAX)
		goto drop; /* a copy per change would cost more than a listing */
	ents = calloc(e->l->n + 1, sizeof(*ents));
	if (!ents)
		goto drop;
	for (size_t i = 0; i < e->l->n; i++) {
		if (!strcmp(e->l->ents[i].name, name))
			continue; /* replaced (or removed) */
		ents[n] = e->l->ents[i];
		if (!(ents[n].name = strdup(e->l->ents[i].name)))
			goto drop;
		n++;
	}
	if (a) {
		ents[n].attr = *a;
		if (!(ents[n].name = strdup(name)))
			goto drop;
		n++;
	}
	rc = acache_listing_new(&nl, ents, n);
	ents = NULL;
	if (rc)
		goto drop;
	/* the same age: only our own change is new in it */
	c->dir_entries = c->dir_entries - e->l->n + nl->n;
	acache_listing_unref(e->l);
	e->l = nl;
	goto out;
drop:
	remote_dirents_free(ents, n);
	dir_drop(c, e);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}
