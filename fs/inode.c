/* inode.c: ino -> {path, generation, lookup count, kernel attrs} (see inode.h).
 *
 * Two hash tables index the same nodes: by ino (every live inode) and by
 * path (only the inode currently bound to each path; an inode detached by
 * an identity change stays reachable by ino until the kernel forgets it).
 * Inos come from a 64-bit counter and are never reused, so a stale ino
 * from the kernel can only miss (-ESTALE), never alias another file; the
 * generation is a second counter bumped for every new inode, so a path
 * bound again after a forget gets a new (ino, generation) pair.
 *
 * Invariants: the root (ino 1) is always present and bound to the root
 * path; nlookup of other inodes is > 0 while they are in the tables.
 *
 * Locks: one mutex, T->lock, guards everything; it is a leaf lock (no
 * other lock of podfs is taken while it is held, and no remote call or
 * allocation-heavy work happens under it beyond the node itself).
 */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

struct inode {
	uint64_t ino;
	uint64_t gen;
	uint64_t nlookup;
	char *path;
	uint64_t path_hash;
	bool bound;	/* in the path table */
	bool has_id;
	struct inode_ident id;
	bool has_attr;
	struct remote_attr attr;
	uint64_t attr_when;
	unsigned opens; /* open handles (vfs counts them) */
	bool pushed;	/* the kernel was handed the data for attr */
	struct inode *ino_next;
	struct inode *path_next;
};

struct inode_table {
	pthread_mutex_t lock;
	struct inode **by_ino;
	size_t ino_size; /* buckets, a power of two */
	struct inode **by_path;
	size_t path_size;
	size_t count;
	size_t bound;
	uint64_t next_ino;
	uint64_t next_gen;
};

#define INITIAL_BUCKETS 256

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t hash_ino(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdULL;
	ino ^= ino >> 33;
	return ino;
}

static struct inode *find_ino(struct inode_table *t, uint64_t ino)
{
	struct inode *n = t->by_ino[hash_ino(ino) & (t->ino_size - 1)];

	while (n && n->ino != ino)
		n = n->ino_next;
	return n;
}

static struct inode *find_path(struct inode_table *t, const char *path, uint64_t h)
{
	struct inode *n = t->by_path[h & (t->path_size - 1)];

	while (n && (n->path_hash != h || strcmp(n->path, path) != 0))
		n = n->path_next;
	return n;
}

/* Double a table when it is fuller than one node per bucket. Failure to
 * grow only costs speed, so it is not an error. */
static void grow_ino(struct inode_table *t)
{
	size_t size = t->ino_size * 2;
	struct inode **b;

	if (t->count <= t->ino_size || !(b = calloc(size, sizeof(*b))))
		return;
	for (size_t i = 0; i < t->ino_size; i++) {
		struct inode *n = t->by_ino[i], *next;

		for (; n; n = next) {
			size_t k = hash_ino(n->ino) & (size - 1);

			next = n->ino_next;
			n->ino_next = b[k];
			b[k] = n;
		}
	}
	free(t->by_ino);
	t->by_ino = b;
	t->ino_size = size;
}

static void grow_path(struct inode_table *t)
{
	size_t size = t->path_size * 2;
	struct inode **b;

	if (t->bound <= t->path_size || !(b = calloc(size, sizeof(*b))))
		return;
	for (size_t i = 0; i < t->path_size; i++) {
		struct inode *n = t->by_path[i], *next;

		for (; n; n = next) {
			size_t k = n->path_hash & (size - 1);

			next = n->path_next;
			n->path_next = b[k];
			b[k] = n;
		}
	}
	free(t->by_path);
	t->by_path = b;
	t->path_size = size;
}

static void unbind(struct inode_table *t, struct inode *n)
{
	struct inode **pp = &t->by_path[n->path_hash & (t->path_size - 1)];

	if (!n->bound)
		return;
	while (*pp != n)
		pp = &(*pp)->path_next;
	*pp = n->path_next;
	n->path_next = NULL;
	n->bound = false;
	t->bound--;
}

static void unlink_ino(struct inode_table *t, struct inode *n)
{
	struct inode **pp = &t->by_ino[hash_ino(n->ino) & (t->ino_size - 1)];

	while (*pp != n)
		pp = &(*pp)->ino_next;
	*pp = n->ino_next;
	t->count--;
}

/* Create a node for PATH and put it in both tables. Called locked. */
static struct inode *add_node(struct inode_table *t, const char *path, uint64_t h, uint64_t ino)
{
	struct inode *n = calloc(1, sizeof(*n));
	size_t k;

	if (!n)
		return NULL;
	n->path = strdup(path);
	if (!n->path) {
		free(n);
		return NULL;
	}
	n->ino = ino;
	n->gen = ++t->next_gen;
	n->path_hash = h;
	k = hash_ino(ino) & (t->ino_size - 1);
	n->ino_next = t->by_ino[k];
	t->by_ino[k] = n;
	t->count++;
	k = h & (t->path_size - 1);
	n->path_next = t->by_path[k];
	t->by_path[k] = n;
	n->bound = true;
	t->bound++;
	grow_ino(t);
	grow_path(t);
	return n;
}

int inode_table_new(struct inode_table **out, const char *root)
{
	struct inode_table *t = calloc(1, sizeof(*t));
	int rc = -ENOMEM;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->ino_size = t->path_size = INITIAL_BUCKETS;
	t->by_ino = calloc(t->ino_size, sizeof(*t->by_ino));
	t->by_path = calloc(t->path_size, sizeof(*t->by_path));
	if (!t->by_ino || !t->by_path)
		goto out;
	t->next_ino = INODE_ROOT + 1;
	if (!add_node(t, root, hash_str(root), INODE_ROOT))
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	inode_table_free(t);
	return rc;
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->by_ino && i < t->ino_size; i++) {
		struct inode *n = t->by_ino[i], *next;

		for (; n; n = next) {
			next = n->ino_next;
			free(n->path);
			free(n);
		}
	}
	free(t->by_ino);
	free(t->by_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static bool same_ident(const struct inode_ident *a, const struct inode_ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->type == b->type;
}

int inode_ref(struct inode_table *t, const char *path, const struct inode_ident *id,
	      uint64_t *ino, uint64_t *gen)
{
	uint64_t h = hash_str(path);
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_path(t, path, h);
	if (n && n->ino != INODE_ROOT && id && n->has_id && !same_ident(&n->id, id)) {
		log_debug("inode: %s changed identity in the pod; ino %llu detached",
			  path, (unsigned long long)n->ino);
		unbind(t, n);
		n = NULL;
	}
	if (!n) {
		n = add_node(t, path, h, t->next_ino);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		t->next_ino++;
	}
	if (id) {
		n->id = *id;
		n->has_id = true;
	}
	n->nlookup++;
	*ino = n->ino;
	if (gen)
		*gen = n->gen;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void inode_unbind_path(struct inode_table *t, const char *path)
{
	uint64_t h = hash_str(path);
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = find_path(t, path, h);
	if (n && n->ino != INODE_ROOT)
		unbind(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* TO + KEY's part after FROM's FLEN bytes, malloc'd. */
static char *rebase(const char *key, size_t flen, const char *to)
{
	size_t tl = strlen(to), rest = strlen(key + flen);
	char *p = malloc(tl + rest + 1);

	if (p) {
		memcpy(p, to, tl);
		memcpy(p + tl, key + flen, rest + 1);
	}
	return p;
}

int inode_rename(struct inode_table *t, const char *from, const char *to)
{
	size_t flen = strlen(from);
	struct inode *moved = NULL, *n;
	int rc = 0;

	if (!strcmp(from, "/") || !strcmp(from, to))
		return strcmp(from, to) ? -EINVAL : 0;
	pthread_mutex_lock(&t->lock);
	/* whatever TO named (and below it) is gone */
	n = find_path(t, to, hash_str(to));
	if (n && n->ino != INODE_ROOT)
		unbind(t, n);
	/* unbind FROM and everything below it, collect them ... */
	for (size_t i = 0; i < t->ino_size; i++)
		for (n = t->by_ino[i]; n; n = n->ino_next)
			if (n->bound && n->ino != INODE_ROOT && !strncmp(n->path, from, flen) &&
			    (n->path[flen] == '\0' || n->path[flen] == '/')) {
				unbind(t, n);
				n->path_next = moved;
				moved = n;
			}
	/* ... and bind them again under TO (an old binding there loses) */
	while (moved) {
		struct inode *next = moved->path_next;
		char *np = rebase(moved->path, flen, to);

		moved->path_next = NULL;
		if (!np) {
			rc = -ENOMEM; /* it stays detached: later use is ESTALE-like */
		} else {
			uint64_t h = hash_str(np);
			struct inode *old = find_path(t, np, h);
			size_t k = h & (t->path_size - 1);

			if (old)
				unbind(t, old);
			free(moved->path);
			moved->path = np;
			moved->path_hash = h;
			moved->path_next = t->by_path[k];
			t->by_path[k] = moved;
			moved->bound = true;
			t->bound++;
		}
		moved = next;
	}
	grow_path(t);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int inode_forget(struct inode_table *t, uint64_t ino, uint64_t count)
{
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
		goto out;
	}
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup == 0 && ino != INODE_ROOT) {
		unbind(t, n);
		unlink_ino(t, n);
		free(n->path);
		free(n);
		rc = 1;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int inode_path(struct inode_table *t, uint64_t ino, char **path)
{
	struct inode *n;
	int rc = 0;

	*path = NULL;
	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n)
		rc = -ESTALE;
	else if (!(*path = strdup(n->path)))
		rc = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

uint64_t inode_find(struct inode_table *t, const char *path)
{
	struct inode *n;
	uint64_t ino;

	pthread_mutex_lock(&t->lock);
	n = find_path(t, path, hash_str(path));
	ino = n ? n->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

int inode_info(struct inode_table *t, uint64_t ino, uint64_t *nlookup, uint64_t *gen)
{
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else {
		if (nlookup)
			*nlookup = n->nlookup;
		if (gen)
			*gen = n->gen;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

size_t inode_count(struct inode_table *t)
{
	size_t c;

	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}

int inode_set_attr(struct inode_table *t, uint64_t ino, const struct remote_attr *a,
		   uint64_t when)
{
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else {
		if (!n->has_attr || !remote_same_data(&n->attr, a))
			n->pushed = false;
		n->attr = *a;
		n->attr_when = when;
		n->has_attr = true;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int inode_opens_add(struct inode_table *t, uint64_t ino, int delta)
{
	struct inode *n;
	int rc;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else {
		if (delta < 0 && n->opens < (unsigned)-delta)
			n->opens = 0;
		else
			n->opens += (unsigned)delta;
		rc = (int)n->opens;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int inode_push_begin(struct inode_table *t, uint64_t ino, const struct remote_attr *a)
{
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n)
		rc = -ESTALE;
	else if (n->opens != 1 || n->pushed || !n->has_attr || !remote_same_data(&n->attr, a))
		rc = -EBUSY;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void inode_push_done(struct inode_table *t, uint64_t ino, const struct remote_attr *a)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (n && n->has_attr && remote_same_data(&n->attr, a))
		n->pushed = true;
	pthread_mutex_unlock(&t->lock);
}

int inode_get_attr(struct inode_table *t, uint64_t ino, struct remote_attr *a, uint64_t *when)
{
	struct inode *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = find_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else if (!n->has_attr) {
		rc = -ENODATA;
	} else {
		*a = n->attr;
		if (when)
			*when = n->attr_when;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}
