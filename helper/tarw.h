/* tarw.h: a small tar WRITER, for write_many's one-`tar`-per-batch path.
 *
 * Writes regular-file and directory entries, into a struct buf: a POSIX
 * ustar header (name, mode, uid/gid 0, size, mtime, checksum, type '0' or
 * '5') and the data padded to 512 bytes; tarw_end appends the two zero
 * blocks.
 *
 *   name > 100 bytes   a GNU ././@LongLink 'L' entry before the header
 *                      (raw bytes: no charset conversion by the reader,
 *                      unlike a pax path record)
 *   mtime nanoseconds  a pax 'x' header with "mtime=S.N" (GNU tar
 *   or outside 0..8^11 restores nanoseconds only from pax); whole
 *                      seconds in range live in the header alone
 *
 * Read back by GNU tar (1.34), busybox tar and helper/tar.c. Names are
 * written as given (any bytes but NUL: the caller passes a relative path);
 * the reader decides what it accepts. Pure functions; any thread.
 */
#ifndef PODFS_TARW_H
#define PODFS_TARW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* Append one regular file NAME (mode MODE & 07777, mtime MTIME, LEN bytes
 * of DATA) to OUT. 0; -EINVAL for an empty name or a nanosecond field
 * outside 0..999999999; -E2BIG past OUT's ceiling or for a file too big
 * for the size field (8 GiB). On error OUT is left as it was. */
int tarw_file(struct buf *out, const char *name, uint32_t mode, const struct timespec *mtime, const void *data,
	      size_t len);

/* Append directory NAME (type '5', no data) the same way. */
int tarw_dir(struct buf *out, const char *name, uint32_t mode, const struct timespec *mtime);

/* Append the end-of-archive marker (two zero blocks). 0 or -E2BIG. */
int tarw_end(struct buf *out);

/* Bytes tarw_file appends at most for a name of NAMELEN bytes and LEN
 * bytes of data (for sizing a batch before building it). */
size_t tarw_file_size(size_t namelen, size_t len);

#define TARW_END_SIZE 1024u

#endif
