/* attrcache.h: TTL caches of what the pod told us about paths.
 *
 * Three caches, all keyed by pod path and all bounded (LRU eviction):
 *   - attributes (lstat results), fresh for attr_ttl; a symlink's target
 *     may ride along with its attributes and expires with them;
 *   - negative entries (the path does not exist), fresh for attr_ttl;
 *   - directory listings with the attributes of every entry, fresh for
 *     dir_ttl. Putting a listing also primes the attribute cache with each
 *     entry's attributes (CLARIFICATIONS 6: attributes that came from a
 *     listing count as fresh).
 *
 * Time comes from an injected clock (monotonic nanoseconds), so tests run
 * on a fake clock. A TTL of 0 disables that cache.
 *
 * Threads: every function may be called from any thread. Ownership: a
 * listing is immutable and reference-counted; acache_get_dir hands the
 * caller a reference it drops with acache_listing_unref.
 */
#ifndef PODFS_ATTRCACHE_H
#define PODFS_ATTRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "remote.h"

typedef uint64_t (*acache_clock_fn)(void *arg);

/* CLOCK_MONOTONIC in nanoseconds (ARG unused): the default clock. */
uint64_t acache_monotonic_ns(void *arg);

struct acache_cfg {
	uint64_t attr_ttl_ns;
	uint64_t dir_ttl_ns;
	size_t max_attrs;	/* attribute + negative entries; 0: 65536 */
	size_t max_dirs;	/* listings; 0: 1024 */
	size_t max_dir_entries; /* entries over all cached listings; 0: 1048576 */
	acache_clock_fn clock;	/* NULL: acache_monotonic_ns */
	void *clock_arg;
};

enum acache_hit {
	ACACHE_MISS = 0,  /* nothing fresh known */
	ACACHE_HIT,	  /* fresh attributes (or listing, or target) */
	ACACHE_NEGATIVE,  /* fresh knowledge that the path does not exist */
};

struct acache_listing {
	struct remote_dirent *ents;
	size_t n;
	size_t *sorted; /* indexes into ents, by name */
	/* private */
	unsigned long refs;
};

struct acache_stats {
	uint64_t attr_hits;	/* positive attributes served, listings included */
	uint64_t negative_hits;
	uint64_t dir_hits;	/* listings served */
	uint64_t misses;	/* attribute or listing asked for, nothing fresh */
	size_t attrs;		/* entries now cached */
	size_t dirs;
	size_t dir_entries;
};

struct acache;

int acache_new(struct acache **out, const struct acache_cfg *cfg);
void acache_free(struct acache *c);
/* The cache's clock, now. */
uint64_t acache_now(struct acache *c);

/* Attributes of PATH, fresh from now (replaces a negative entry). */
int acache_put_attr(struct acache *c, const char *path, const struct remote_attr *a);
/* PATH does not exist (drops its attributes and target). */
int acache_put_negative(struct acache *c, const char *path);
/* Attach a symlink target to PATH's fresh attributes; nothing happens
 * when PATH has none (the target then simply is not cached). */
int acache_put_link(struct acache *c, const char *path, const char *target);
/* HIT fills *OUT; NEGATIVE; MISS. */
enum acache_hit acache_get_attr(struct acache *c, const char *path, struct remote_attr *out);
/* HIT gives a malloc'd copy of the cached target; MISS otherwise (also
 * when allocation fails). */
enum acache_hit acache_get_link(struct acache *c, const char *path, char **target);
/* Forget PATH's attributes, negative entry, target and listing. */
void acache_invalidate(struct acache *c, const char *path);
/* The same for PATH and every path below it (a renamed or removed
 * directory); O(entries cached). */
void acache_invalidate_tree(struct acache *c, const char *path);

/* Make a listing of N entries, taking ENTS (freed on failure too). */
int acache_listing_new(struct acache_listing **out, struct remote_dirent *ents, size_t n);
struct acache_listing *acache_listing_ref(struct acache_listing *l);
void acache_listing_unref(struct acache_listing *l); /* NULL ok */
/* The entry called NAME, or NULL. */
const struct remote_dirent *acache_listing_find(const struct acache_listing *l,
						 const char *name);

/* Cache L as the listing of directory PATH (the cache takes its own
 * reference) and prime the attributes of every entry. A listing larger
 * than max_dir_entries is not kept (its attributes still are). */
int acache_put_dir(struct acache *c, const char *path, struct acache_listing *l);
/* HIT gives a reference to the fresh listing of PATH. */
enum acache_hit acache_get_dir(struct acache *c, const char *path, struct acache_listing **out);
/* Answer a lookup of NAME in DIR from DIR's fresh listing: HIT (attributes
 * in *OUT), NEGATIVE (the listing has no such name) or MISS (no listing). */
enum acache_hit acache_dir_lookup(struct acache *c, const char *dir, const char *name,
				  struct remote_attr *out);

/* Drop PATH's attributes (not its listing): its times changed. */
void acache_invalidate_attr(struct acache *c, const char *path);
/* Our own change to entry NAME of DIR (A: its new attributes; NULL: it
 * is gone): a fresh cached listing of DIR is replaced by one with that
 * change and the same age, so lookups of new names in it stay local.
 * Listings of ACACHE_UPDATE_MAX entries or more are dropped instead;
 * without a fresh listing nothing happens. 0, or -ENOMEM (the listing is
 * dropped). */
#define ACACHE_UPDATE_MAX 8192
int acache_dir_update(struct acache *c, const char *dir, const char *name, const struct remote_attr *a);

void acache_get_stats(struct acache *c, struct acache_stats *out);

#endif
