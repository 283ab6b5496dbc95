/* pagecache.h: the daemon's block cache of file data.
 *
 * Blocks of PCACHE_BLOCK bytes keyed by (our ino, block index), shared by
 * every handle of a file, LRU-evicted under a memory budget. A file's
 * blocks are valid only while its stamp (mtime, size, pod inode) is the
 * one they were read under: setting a different stamp drops them.
 *
 * Reads are served from the cache; a miss fetches the missing blocks with
 * one aligned call of the caller's fetch function (whole blocks, short
 * only at end of file), plus read-ahead: while a handle reads
 * sequentially its window doubles from one block up to PCACHE_MAX_WINDOW,
 * and the blocks of the window past the request are fetched in the same
 * call. Concurrent readers of a block being fetched wait for that fetch
 * instead of starting their own.
 *
 * Errors: fetch errors are returned unchanged (-EACCES stays -EACCES);
 * -ENOMEM. Threads: any function from any thread; the fetch function is
 * called without any cache lock held.
 */
#ifndef PODFS_PAGECACHE_H
#define PODFS_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define PCACHE_BLOCK (128 * 1024)
#define PCACHE_MAX_WINDOW (1024 * 1024)

struct pcache_stamp {
	struct timespec mtime;
	uint64_t size;
	uint64_t pod_ino;
};

/* Per-handle read-ahead state; zero-initialise it at open. Guarded by the
 * cache lock. */
struct pcache_ra {
	uint64_t next_off; /* where a sequential reader reads next */
	size_t window;	   /* bytes fetched ahead of the request; 0: none */
};

/* Read LEN bytes at OFF (block-aligned) of the file into BUF; fewer only
 * at end of file. */
typedef ssize_t (*pcache_fetch_fn)(void *arg, uint64_t off, void *buf, size_t len);

struct pcache_stats {
	uint64_t hits;	   /* requested blocks found cached */
	uint64_t misses;   /* requested blocks fetched or waited for */
	uint64_t fetches;  /* calls to a fetch function */
	uint64_t fetched_bytes;
	uint64_t readahead_blocks; /* blocks fetched past a request */
	size_t bytes;	   /* memory held by blocks now */
	size_t blocks;
};

struct pcache;

/* BUDGET: bytes of block data to keep (0: 64 MiB). */
int pcache_new(struct pcache **out, size_t budget);
void pcache_free(struct pcache *p); /* NULL ok */

/* Set file INO's stamp. Returns true when it differed from the stamp its
 * blocks were read under (they are dropped), false when it is the same or
 * the file had no stamp yet. With CREATE false, a file the cache does not
 * know is left alone. */
bool pcache_set_stamp(struct pcache *p, uint64_t ino, const struct pcache_stamp *s, bool create);

/* Drop every block of INO and forget it (its inode was freed). */
void pcache_drop_file(struct pcache *p, uint64_t ino);

/* Read up to LEN bytes at OFF of file INO through the cache, fetching
 * misses with FETCH(ARG, ...). RA is the handle's read-ahead state.
 * Returns the byte count (short only at end of file) or -errno. */
ssize_t pcache_read(struct pcache *p, uint64_t ino, struct pcache_ra *ra, uint64_t off,
		    void *buf, size_t len, pcache_fetch_fn fetch, void *arg);
/* A read of LEN bytes at OFF served elsewhere (not through the cache):
 * RA follows it, so the reader stays sequential. */
void pcache_note_read(struct pcache *p, struct pcache_ra *ra, uint64_t off, size_t len);

void pcache_get_stats(struct pcache *p, struct pcache_stats *out);

#endif
