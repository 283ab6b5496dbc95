/* parse.h: parsers of what the pod's tools print. Every parser takes a
 * bounded byte slice, trusts nothing in it, and fails with -EPROTO on
 * anything unexpected. Pure functions; any thread. */
#ifndef PODFS_PARSE_H
#define PODFS_PARSE_H

#include <stddef.h>
#include <sys/statvfs.h>

#include "remote.h"

/* One stat line (no newline): "%f %h %u %g %s %b %i %d X Y Z %t %T" where
 * X/Y/Z are seconds, optionally with .nnnnnnnnn. */
int hp_stat_line(const char *s, size_t n, struct remote_attr *a);
/* "bsize blocks bfree bavail files ffree namelen" (stat -f). */
int hp_statfs_line(const char *s, size_t n, struct statvfs *st);
/* The errno a tool's message names ("...: No such file or directory"), or
 * -EIO when it names none we know. */
int hp_errno_from_text(const char *s, size_t n);
/* The start of a sha256sum line: 64 lowercase hex digits, then ' ' (GNU
 * puts a '\' first when it escaped the name that follows: a name with
 * '\' or a newline). OUT gets the digits and a NUL. -EPROTO otherwise. */
int hp_sha256_line(const char *s, size_t n, char out[65]);
/* A listing: NUL-terminated names, "/" NUL, then one stat line per name
 * ("stat lines" mode, busybox tier); or records "STATLINE\0./NAME\0"
 * ("find" mode, GNU tier). At most MAX entries. */
int hp_listing_names_then_stats(const char *s, size_t n, size_t max, struct remote_dirent **out,
				size_t *count);
int hp_listing_records(const char *s, size_t n, size_t max, struct remote_dirent **out, size_t *count);

#endif
