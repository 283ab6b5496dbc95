/* parse.c: parsers of pod output (see parse.h). Hostile input costs an
 * error, never a crash or unbounded memory: every count is capped and
 * every field checked. */
#include "parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "strparse.h"

#define NAME_MAX_BYTES 255

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 16)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		int h = hexval((unsigned char)s[i]);

		if (h < 0)
			return -EPROTO;
		v = v << 4 | (uint64_t)h;
	}
	*out = v;
	return 0;
}

/* seconds[.fraction] -> timespec */
static int parse_time(const char *s, size_t n, struct timespec *ts)
{
	const char *dot = memchr(s, '.', n);
	size_t il = dot ? (size_t)(dot - s) : n;
	int64_t sec;
	long ns = 0;

	if (parse_i64(s, il, INT64_MIN / 2, INT64_MAX / 2, &sec))
		return -EPROTO;
	if (dot) {
		size_t fl = n - il - 1;

		if (fl == 0 || fl > 9)
			return -EPROTO;
		for (size_t i = 0; i < 9; i++) {
			int d = i < fl ? s[il + 1 + i] - '0' : 0;

			if (d < 0 || d > 9)
				return -EPROTO;
			ns = ns * 10 + d;
		}
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = ns;
	return 0;
}

int hp_stat_line(const char *s, size_t n, struct remote_attr *a)
{
	const char *f[13];
	size_t fl[13], k = 0;
	uint64_t v[8], maj, min;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < n && k < 13;) {
		size_t j = i;

		while (j < n && s[j] != ' ')
			j++;
		f[k] = s + i;
		fl[k++] = j - i;
		i = j + 1;
		if (j == n)
			break;
	}
	if (k != 13 || (size_t)(f[12] + fl[12] - s) != n)
		return -EPROTO;
	if (parse_hex(f[0], fl[0], &v[0]))
		return -EPROTO;
	for (int i = 1; i < 8; i++)
		if (parse_u64(f[i], fl[i], UINT64_MAX, &v[i]))
			return -EPROTO;
	if (parse_time(f[8], fl[8], &a->atime) || parse_time(f[9], fl[9], &a->mtime) ||
	    parse_time(f[10], fl[10], &a->ctime) || parse_hex(f[11], fl[11], &maj) || parse_hex(f[12], fl[12], &min))
		return -EPROTO;
	if (v[0] > 0xFFFFFFFF || v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX || maj > UINT32_MAX ||
	    min > UINT32_MAX)
		return -EPROTO;
	a->mode = (uint32_t)v[0];
	a->nlink = (uint32_t)v[1];
	a->uid = (uint32_t)v[2];
	a->gid = (uint32_t)v[3];
	a->size = v[4];
	a->blocks = v[5];
	a->ino = v[6];
	a->dev = v[7];
	a->rdev = makedev((unsigned)maj, (unsigned)min);
	return 0;
}

int hp_statfs_line(const char *s, size_t n, struct statvfs *st)
{
	uint64_t v[7];
	size_t k = 0, i = 0;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	while (k < 7 && i <= n) {
		size_t j = i;

		while (j < n && s[j] != ' ')
			j++;
		if (parse_u64(s + i, j - i, UINT64_MAX, &v[k++]))
			return -EPROTO;
		i = j + 1;
		if (j == n)
			break;
	}
	if (k != 7 || i <= n)
		return -EPROTO;
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = (unsigned long)v[0];
	st->f_blocks = (fsblkcnt_t)v[1];
	st->f_bfree = (fsblkcnt_t)v[2];
	st->f_bavail = (fsblkcnt_t)v[3];
	st->f_files = (fsfilcnt_t)v[4];
	st->f_ffree = st->f_favail = (fsfilcnt_t)v[5];
	st->f_namemax = (unsigned long)v[6];
	return 0;
}

int hp_sha256_line(const char *s, size_t n, char out[65])
{
	size_t i = 0;

	if (n > 0 && s[0] == '\\')
		i = 1;
	if (n < i + 65 || s[i + 64] != ' ')
		return -EPROTO;
	for (size_t k = 0; k < 64; k++) {
		char c = s[i + k];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EPROTO;
		out[k] = c;
	}
	out[64] = '\0';
	return 0;
}

int hp_errno_from_text(const char *s, size_t n)
{
	/* Tools name the file first and the reason last ("mv: cannot move
	 * 'a' to 'b': Directory not empty"), and a file name may hold any of
	 * these texts: the match that ends last wins. */
	static const struct {
		const char *text;
		int err;
	} map[] = {
		{ "No such file or directory", ENOENT },
		{ "Directory nonexistent", ENOENT }, /* dash: cannot create x/y: Directory nonexistent */
		{ "nonexistent directory", ENOENT }, /* busybox sh */
		{ "Permission denied", EACCES },
		{ "Not a directory", ENOTDIR },
		{ "Is a directory", EISDIR },
		{ "is a directory", EISDIR }, /* busybox rm/mv/ln: 'x' is a directory */
		{ "Too many levels of symbolic links", ELOOP },
		{ "Symbolic link loop", ELOOP },
		{ "File name too long", ENAMETOOLONG },
		{ "No space left on device", ENOSPC },
		{ "Disk quota exceeded", EDQUOT },
		{ "Read-only file system", EROFS },
		{ "Operation not permitted", EPERM },
		{ "File exists", EEXIST },
		{ "Directory not empty", ENOTEMPTY },
		{ "Invalid argument", EINVAL },
		{ "No such device or address", ENXIO },
		{ "Text file busy", ETXTBSY },
		{ "Input/output error", EIO },
		{ "I/O error", EIO },
		{ "File too large", EFBIG },
		{ "Invalid cross-device link", EXDEV },
		{ "Too many links", EMLINK },
		{ "Operation not supported", EOPNOTSUPP },
		{ "Device or resource busy", EBUSY },
		{ "Bad file descriptor", EBADF },
		{ "No such device", ENODEV },
		{ "Argument list too long", E2BIG },
		/* GNU mv/ln wording for what rename(2)/link(2) answer */
		{ "cannot overwrite directory", EISDIR },
		{ "cannot overwrite non-directory", ENOTDIR },
		{ "to a subdirectory of itself", EINVAL },
		{ "hard link not allowed for directory", EPERM },
	};
	const char *best_end = NULL;
	int best = EIO;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t l = strlen(map[i].text);
		const char *p = s, *last = NULL;

		while (l <= n - (size_t)(p - s)) {
			const char *q = memmem(p, n - (size_t)(p - s), map[i].text, l);

			if (!q)
				break;
			last = q;
			p = q + 1;
		}
		if (last && (!best_end || last + l > best_end)) {
			best_end = last + l;
			best = map[i].err;
		}
	}
	return -best;
}

static int add_entry(struct remote_dirent **v, size_t *count, size_t *cap, size_t max, const char *name,
		     size_t nl)
{
	if (nl == 0 || nl > NAME_MAX_BYTES || memchr(name, '/', nl) || (nl == 1 && name[0] == '.') ||
	    (nl == 2 && name[0] == '.' && name[1] == '.'))
		return -EPROTO;
	if (*count == max)
		return -E2BIG;
	if (*count == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct remote_dirent *nv = realloc(*v, nc * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*count].name = strndup(name, nl);
	if (!(*v)[*count].name)
		return -ENOMEM;
	memset(&(*v)[*count].attr, 0, sizeof((*v)[*count].attr));
	(*count)++;
	return 0;
}

int hp_listing_names_then_stats(const char *s, size_t n, size_t max, struct remote_dirent **out, size_t *count)
{
	struct remote_dirent *v = NULL;
	size_t cnt = 0, cap = 0, i = 0, k = 0;
	int rc = 0;

	*out = NULL;
	*count = 0;
	for (;;) {
		const char *z = memchr(s + i, '\0', n - i);

		if (!z) {
			rc = -EPROTO;
			goto fail;
		}
		size_t l = (size_t)(z - (s + i));

		if (l == 1 && s[i] == '/') {
			i += 2;
			break;
		}
		/* names are given as ./NAME */
		if (l < 3 || s[i] != '.' || s[i + 1] != '/') {
			rc = -EPROTO;
			goto fail;
		}
		rc = add_entry(&v, &cnt, &cap, max, s + i + 2, l - 2);
		if (rc)
			goto fail;
		i += l + 1;
	}
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t l = nl ? (size_t)(nl - (s + i)) : n - i;

		if (k == cnt || hp_stat_line(s + i, l, &v[k].attr)) {
			rc = -EPROTO; /* more lines than names, or a bad line */
			goto fail;
		}
		k++;
		i += l + 1;
	}
	if (k != cnt) {
		rc = -EAGAIN; /* an entry vanished between listing and stat: ask again */
		goto fail;
	}
	*out = v;
	*count = cnt;
	return 0;
fail:
	remote_dirents_free(v, cnt);
	return rc;
}

int hp_listing_records(const char *s, size_t n, size_t max, struct remote_dirent **out, size_t *count)
{
	struct remote_dirent *v = NULL;
	size_t cnt = 0, cap = 0, i = 0;
	int rc = 0;

	*out = NULL;
	*count = 0;
	while (i < n) {
		const char *z1 = memchr(s + i, '\0', n - i), *z2;
		struct remote_attr a;

		if (!z1 || !(z2 = memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - s)))) {
			rc = -EPROTO;
			goto fail;
		}
		size_t sl = (size_t)(z1 - (s + i)), nl = (size_t)(z2 - (z1 + 1));

		if (hp_stat_line(s + i, sl, &a) || nl < 3 || z1[1] != '.' || z1[2] != '/') {
			rc = -EPROTO;
			goto fail;
		}
		rc = add_entry(&v, &cnt, &cap, max, z1 + 3, nl - 2);
		if (rc)
			goto fail;
		v[cnt - 1].attr = a;
		i = (size_t)(z2 + 1 - s);
	}
	*out = v;
	*count = cnt;
	return 0;
fail:
	remote_dirents_free(v, cnt);
	return rc;
}
