/* dirty.h: the bytes written to one file and not yet sent to the pod.
 *
 * A sorted set of non-overlapping, non-adjacent ranges with their data;
 * a write over existing ranges replaces their bytes and merges with
 * every range it touches or abuts (so sequential small writes grow one
 * range). Pure data structure: no locks, no I/O; the caller serialises.
 * Errors: 0 or -ENOMEM (the set is unchanged then).
 */
#ifndef PODFS_DIRTY_H
#define PODFS_DIRTY_H

#include <stddef.h>
#include <stdint.h>

struct drange {
	uint64_t off;
	size_t len;
	size_t cap;
	char *data;
};

struct dirty {
	struct drange *r; /* sorted by off */
	size_t n, cap;
	size_t bytes; /* sum of len */
};

void dirty_init(struct dirty *d);
/* Drop every range (dirty_init state again). */
void dirty_clear(struct dirty *d);
/* Record LEN bytes at OFF (LEN 0 does nothing). */
int dirty_add(struct dirty *d, uint64_t off, const void *buf, size_t len);
/* The file was truncated to SIZE: drop what lies at or beyond it. */
void dirty_truncate(struct dirty *d, uint64_t size);
/* The end of the last range (0 when empty). */
uint64_t dirty_end(const struct dirty *d);

#endif
