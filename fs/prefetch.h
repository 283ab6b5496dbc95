/* prefetch.h: whole small files fetched in batches before anyone read
 * them ("tar slices"): when a directory's files are being read one by one
 * (grep -r, cp -r, file managers), one request brings all its small files.
 * Copies are keyed by path and valid only for the stamp (mtime, size, pod
 * inode) they were fetched under; a bounded FIFO budget. Thread-safe.
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
/* True if DIR may be batch-fetched now: false when it was within TTL_NS
 * of NOW_NS (the call then marks it as fetched at NOW_NS). */
bool pf_dir_claim(struct prefetch *p, const char *dir, uint64_t now_ns, uint64_t ttl_ns);
/* Counters: files stored, bytes held, reads served. */
/* PATH changed (we wrote, renamed or removed it): drop its data. */
void pf_forget(struct prefetch *p, const char *path);
void pf_stats(struct prefetch *p, uint64_t *files, uint64_t *bytes, uint64_t *served);

#endif
