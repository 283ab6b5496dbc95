/* tarw.c: regular-file and directory entries of a tar archive (see tarw.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tarw.h"

#define BLOCK 512u
#define NAME_MAX_USTAR 100u
#define OCTAL11_MAX 077777777777ull /* 11 octal digits: size and mtime */

/* ustar header field offsets */
enum {
	O_NAME = 0, O_MODE = 100, O_UID = 108, O_GID = 116, O_SIZE = 124, O_MTIME = 136,
	O_CHKSUM = 148, O_TYPE = 156, O_MAGIC = 257, /* + version at 263 */
};

static size_t pad(size_t n)
{
	return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* V as WIDTH - 1 octal digits and a NUL at H + OFF (V fits: checked by
 * the callers). */
static void octal(unsigned char *h, size_t off, size_t width, unsigned long long v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), v);
	memcpy(h + off, tmp, width); /* the digits and their NUL */
}

/* Fill the checksum field: the unsigned sum of the header with the field
 * read as spaces, as 6 octal digits, NUL, space. */
static void checksum(unsigned char *h)
{
	unsigned long sum = 0;

	memset(h + O_CHKSUM, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	octal(h, O_CHKSUM, 7, sum);
	h[O_CHKSUM + 7] = ' ';
}

/* A header block of type TYPE for NAME (at most 100 bytes), SIZE bytes. */
static void header(unsigned char *h, const char *name, size_t nlen, char type, uint32_t mode,
		   unsigned long long size, unsigned long long mtime, bool gnu)
{
	memset(h, 0, BLOCK);
	memcpy(h + O_NAME, name, nlen);
	octal(h, O_MODE, 8, mode & 07777);
	octal(h, O_UID, 8, 0);
	octal(h, O_GID, 8, 0);
	octal(h, O_SIZE, 12, size);
	octal(h, O_MTIME, 12, mtime);
	h[O_TYPE] = type;
	/* GNU's own magic on its 'L' entries, POSIX ustar on the others */
	memcpy(h + O_MAGIC, gnu ? "ustar  \0" : "ustar\0" "00", 8);
	checksum(h);
}

static int append_padded(struct buf *out, const void *p, size_t n)
{
	static const unsigned char zero[BLOCK];
	int rc = n ? buf_append(out, p, n) : 0;

	if (!rc && n % BLOCK)
		rc = buf_append(out, zero, BLOCK - n % BLOCK);
	return rc;
}

/* The pax record "LEN mtime=VALUE\n" for TS into OUT (OUTSZ bytes). */
static size_t pax_mtime(const struct timespec *ts, char *out, size_t outsz)
{
	char val[48];
	long long s = (long long)ts->tv_sec;
	long ns = ts->tv_nsec;

	/* -1.25 s is second -2 plus 0.75: the value is written as a decimal */
	if (s < 0 && ns > 0)
		snprintf(val, sizeof(val), "-%lld.%09ld", -(s + 1), 1000000000L - ns);
	else
		snprintf(val, sizeof(val), "%lld.%09ld", s, ns);
	size_t body = strlen(" mtime=") + strlen(val) + 1, len = body + 1;

	/* the length counts its own digits */
	while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
		len = (size_t)snprintf(NULL, 0, "%zu", len) + body;
	snprintf(out, outsz, "%zu mtime=%s\n", len, val);
	return len;
}

size_t tarw_file_size(size_t namelen, size_t len)
{
	size_t n = BLOCK + pad(len) + 2 * BLOCK; /* header, data, pax header + record */

	if (namelen > NAME_MAX_USTAR)
		n += BLOCK + pad(namelen + 1);
	return n;
}

static int entry(struct buf *out, char type, const char *name, uint32_t mode, const struct timespec *mtime,
		 const void *data, size_t len)
{
	unsigned char h[BLOCK];
	size_t nlen = strlen(name), old = out->len;
	bool secs_fit = mtime->tv_sec >= 0 && (unsigned long long)mtime->tv_sec <= OCTAL11_MAX;
	int rc = 0;

	if (!nlen || mtime->tv_nsec < 0 || mtime->tv_nsec > 999999999)
		return -EINVAL;
	if ((unsigned long long)len > OCTAL11_MAX)
		return -E2BIG;
	if (mtime->tv_nsec || !secs_fit) {
		char rec[80];
		size_t rlen = pax_mtime(mtime, rec, sizeof(rec));

		header(h, "././@PaxHeader", strlen("././@PaxHeader"), 'x', 0644, rlen, 0, false);
		rc = buf_append(out, h, BLOCK);
		if (!rc)
			rc = append_padded(out, rec, rlen);
	}
	if (!rc && nlen > NAME_MAX_USTAR) {
		/* GNU tar writes the name with its NUL, and so do we */
		header(h, "././@LongLink", strlen("././@LongLink"), 'L', 0644, nlen + 1, 0, true);
		rc = buf_append(out, h, BLOCK);
		if (!rc)
			rc = append_padded(out, name, nlen + 1);
	}
	if (!rc) {
		header(h, name, nlen > NAME_MAX_USTAR ? NAME_MAX_USTAR : nlen, type, mode, len,
		       secs_fit ? (unsigned long long)mtime->tv_sec : 0, false);
		rc = buf_append(out, h, BLOCK);
	}
	if (!rc)
		rc = append_padded(out, data, len);
	if (rc) {
		out->len = old;
		if (out->data)
			out->data[old] = '\0';
	}
	return rc;
}

int tarw_file(struct buf *out, const char *name, uint32_t mode, const struct timespec *mtime, const void *data,
	      size_t len)
{
	return entry(out, '0', name, mode, mtime, data, len);
}

int tarw_dir(struct buf *out, const char *name, uint32_t mode, const struct timespec *mtime)
{
	return entry(out, '5', name, mode, mtime, NULL, 0);
}

int tarw_end(struct buf *out)
{
	static const unsigned char zero[TARW_END_SIZE];

	return buf_append(out, zero, sizeof(zero));
}
