/* strparse.c: checked decimal parsing (see strparse.h). */
#include "strparse.h"

#include <errno.h>
#include <string.h>

int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int parse_u64_str(const char *s, uint64_t max, uint64_t *out)
{
	return parse_u64(s, s ? strlen(s) : 0, max, out);
}

int parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag;
	int64_t v;
	int rc;

	if (!s || n == 0)
		return -EINVAL;
	if (s[0] == '-') {
		rc = parse_u64(s + 1, n - 1, (uint64_t)INT64_MAX + 1, &mag);
		if (rc)
			return rc;
		v = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
	} else {
		rc = parse_u64(s, n, INT64_MAX, &mag);
		if (rc)
			return rc;
		v = (int64_t)mag;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
