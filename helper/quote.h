/* quote.h: the one way shell text is made (everything sent into a pod).
 *
 * hq_quote() wraps any byte string (no NUL: paths cannot hold one) in
 * single quotes for POSIX sh, so the shell reads back exactly those bytes:
 * quotes, newlines, $(...), backticks, globs, invalid UTF-8 and 255-byte
 * names included. hq_cmd() builds a command from a format in which every
 * value from outside goes through hq_quote() (%q) and only literals and
 * numbers appear unquoted.
 *
 * A value that starts with '-' is still an option to the command reading
 * it: callers pass absolute paths, or put "--" before operands.
 * Pure functions; any thread.
 */
#ifndef PODFS_QUOTE_H
#define PODFS_QUOTE_H

#include <stdarg.h>
#include <stddef.h>

#include "buf.h"

/* Append S (LEN bytes) quoted for sh. -EINVAL if S holds a NUL byte;
 * -E2BIG past the buffer's ceiling. */
int hq_quote(struct buf *out, const char *s, size_t len);

/* Append binary DATA (any bytes, NUL included) as a single-quoted printf
 * FORMAT that prints exactly those bytes: `printf DATA` in sh (dash, bash,
 * busybox) writes them back. Printable ASCII stays itself; every other
 * byte, '\\', '%', '\'' and a leading '-' become octal escapes, as short
 * as the next byte allows (NUL is "\\0"; at most 4x).
 * -E2BIG past the buffer's ceiling (all or nothing). */
int hq_data(struct buf *out, const void *data, size_t len);

/* Append a command. Conversions: %q a NUL-terminated string, quoted;
 * %Q a (const char *, size_t) pair, quoted; %D a (const void *, size_t)
 * pair of binary data, as hq_data (only as printf's format); %s a literal (never data from
 * a pod or a user); %d int; %u unsigned; %llu unsigned long long;
 * %lld long long; %% a percent sign. Returns 0 or -EINVAL / -E2BIG. */
int hq_cmd(struct buf *out, const char *fmt, ...);
int hq_vcmd(struct buf *out, const char *fmt, va_list ap);

#endif
