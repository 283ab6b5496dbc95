/* buf.h: growable byte buffer with a hard ceiling.
 *
 * Every buffer that holds bytes from a pod or a server has a ceiling, so a
 * hostile peer can cost an error, never unbounded memory (curl's dynbuf).
 * The data is always NUL-terminated (the NUL is not counted in len).
 * Not thread-safe; the owner serialises access.
 */
#ifndef PODFS_BUF_H
#define PODFS_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* ceiling on len */
};

/* Start empty with ceiling MAX bytes. Allocates nothing yet. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; B may be reused after buf_init. */
void buf_cleanup(struct buf *b);
/* Forget the content, keep the storage. */
void buf_reset(struct buf *b);
/* Room for EXTRA more bytes without another allocation (one allocation
 * of the right size for output whose size is known). -E2BIG past the
 * ceiling, -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
/* Append N bytes. -E2BIG if the ceiling would be passed (nothing appended),
 * -ENOMEM if allocation failed. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first N bytes (N <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hand the storage to the caller (free() it); B becomes empty. Never NULL
 * unless allocation fails. */
char *buf_take(struct buf *b);

#endif
