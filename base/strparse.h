/* strparse.h: the one checked number parser (no atoi, no sscanf).
 *
 * Parses exactly the N bytes given (no whitespace, no sign for unsigned,
 * decimal only), so callers can parse slices of untrusted input.
 * Returns 0, -EINVAL (empty, stray byte) or -ERANGE (above MAX).
 */
#ifndef PODFS_STRPARSE_H
#define PODFS_STRPARSE_H

#include <stddef.h>
#include <stdint.h>

int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out);
/* Same, for a NUL-terminated string. */
int parse_u64_str(const char *s, uint64_t max, uint64_t *out);
/* Signed, with an optional leading '-'; bounds inclusive. */
int parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

#endif
