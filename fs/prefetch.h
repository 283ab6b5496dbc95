/* prefetch.h: whole small files fetched in batches before anyone read
 * them ("tar slices"): when a directory's files are being read one by one
 * (grep -r, cp -r, file managers), one request brings all its small files.
 * Copies are keyed by path and valid only for the stamp (mtime, size, pod
 * inode) they were fetched under; a bounded FIFO budget. Directory
 * claims say which directories were batch-fetched lately, and which are
 * being fetched (readers of those wait for the fetch). Thread-safe.
 */
#ifndef PODFS_PREFETCH_H
#define PODFS_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagecache.h"

struct prefetch;

int pf_new(struct prefetch **out, size_t budget);
void pf_free(struct prefetch *p); /* NULL ok */
/* Keep a copy of PATH's LEN bytes as of stamp S (replaces an older one). */
void pf_put(struct prefetch *p, const char *path, const struct pcache_stamp *s, const void *data, size_t len);
/* Copy bytes [OFF, OFF+LEN) of PATH if a copy with stamp S is held:
 * bytes copied (0 at or past its end), or -ENOENT when none is held. The
 * copy is dropped once read to its end (the page cache has it then). */
ssize_t pf_read(struct prefetch *p, const char *path, const struct pcache_stamp *s, uint64_t off, void *buf,
		size_t len);
/* Is a copy of PATH with stamp S held? */
bool pf_holds(struct prefetch *p, const char *path, const struct pcache_stamp *s);
/* True if DIR may be batch-fetched now: false when it was claimed
 * within TTL_NS of NOW_NS. True claims it at NOW_NS, in flight: the
 * caller fetches, then calls pf_dir_done (whatever came of the fetch). */
bool pf_dir_claim(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns);
/* The fetch of claimed DIR ended: readers waiting for it go on. */
void pf_dir_done(struct prefetch *p, const char *dir);
enum pf_visit {
	PF_UNCLAIMED, /* not claimed within the TTL: the caller may claim it */
	PF_FIRST,     /* claimed, and the first visit since: a reader reached it */
	PF_AGAIN,     /* claimed, visited before */
};
/* A file of DIR is being opened. While a fetch of DIR is in flight (a
 * batch fetched ahead, in the background), waits for it to end, at most
 * WAIT_MS (then its files are read on their own). */
enum pf_visit pf_dir_visit(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns, unsigned wait_ms);
/* Was DIR claimed within TTL_NS of NOW_NS? (No wait, no change.) */
bool pf_dir_claimed(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns);
/* How many more bytes fit without evicting a copy nobody read yet. */
size_t pf_space(struct prefetch *p);
/* Counters: files stored, bytes held, reads served. */
/* PATH changed (we wrote, renamed or removed it): drop its data. */
void pf_forget(struct prefetch *p, const char *path);
void pf_stats(struct prefetch *p, uint64_t *files, uint64_t *bytes, uint64_t *served);

#endif
