/* tar.c: incremental reader of tar streams from a pod (see tar.h).
 *
 * Owns: one stream's parse state. A state machine over 512-byte blocks:
 * HEADER gathers a header block (the only bytes copied besides the
 * extension records), DATA hands a regular file's bytes to the data
 * callback straight from the caller's buffer (or drops them when the
 * entry was skipped), META gathers the data of a GNU 'L'/'K' or pax
 * 'x'/'g' header into a buffer capped before the first byte arrives, PAD
 * drops the padding to the next block, END ignores what follows the
 * end-of-archive marker.
 *
 * Invariants: every buffer has a ceiling set from htar_limits before it
 * grows; every number from the stream is range-checked before use; no
 * callback runs after an error, and the first error sticks; an entry's
 * name reaches the callback only after cleaning (no "..", no leading "/",
 * no NUL, bounded). Extension state (long name/link, pax 'x') belongs to
 * the next real entry and is dropped once that entry is reported.
 *
 * Locks: none; one thread at a time per reader.
 */
#include "tar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "strparse.h"

#define BLOCK 512
#define DEF_MAX_NAME 4096
#define DEF_MAX_ENTRY ((uint64_t)1 << 40)
#define DEF_MAX_PAX (64 * 1024)

/* Header field offsets and sizes (POSIX ustar; GNU shares them up to 345). */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_MTIME 136, 12
#define O_CHKSUM 148
#define O_TYPE 156
#define O_LINK 157
#define L_LINK 100
#define O_MAGIC 257
#define O_PREFIX 345
#define L_PREFIX 155

enum state { ST_HEADER, ST_DATA, ST_META, ST_PAD, ST_END };

/* Values from pax records. Each flag: 0 absent, 1 set, -1 deleted by an
 * empty value in an 'x' header (hides the global value for that entry). */
struct pax {
	int path, linkpath, size, mtime, uid, gid;
	struct buf pathv, linkv;
	uint64_t sizev;
	int64_t mtimev;
	long nsecv;
	uint32_t uidv, gidv;
};

struct htar {
	struct htar_limits lim;
	struct htar_cb cb;
	void *arg;

	int err;
	char msg[640];

	enum state st;
	unsigned char hdr[BLOCK];
	size_t hfill;
	uint64_t off;     /* archive bytes consumed */
	uint64_t hdr_off; /* offset of the header being handled */
	int zeros;        /* zero blocks in a row */
	bool pending;     /* 'L', 'K' or 'x' seen, its entry not yet */

	uint64_t remain; /* bytes left in DATA or META */
	size_t pad;      /* bytes left in PAD */
	bool take;       /* the current entry was taken */
	char meta_type;
	struct buf meta;

	bool has_longname, has_longlink;
	struct buf longname, longlink;
	struct pax x, g;

	struct buf name, link; /* the current entry's cleaned name, link */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Append up to 80 bytes of RAW to OUT, control and non-ASCII bytes as \xNN,
 * so a hostile name cannot forge log lines. */
static void escape(char *out, size_t outsz, const char *raw, size_t n)
{
	size_t o = 0;
	bool cut = n > 80;

	if (cut)
		n = 80;
	for (size_t i = 0; i < n && o + 5 < outsz; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (cut && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o < outsz ? o : outsz - 1] = '\0';
}

/* Record the first error: "tar header at byte N (entry "NAME"): WHAT". */
__attribute__((format(printf, 5, 6))) static int fail(struct htar *t, int rc, const char *raw, size_t rawlen,
						      const char *fmt, ...)
{
	char what[200], name[340];
	va_list ap;

	if (t->err)
		return t->err;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (raw) {
		escape(name, sizeof(name), raw, rawlen);
		snprintf(t->msg, sizeof(t->msg), "tar header at byte %llu (entry \"%s\"): %s",
			 (unsigned long long)t->hdr_off, name, what);
	} else {
		snprintf(t->msg, sizeof(t->msg), "tar header at byte %llu: %s", (unsigned long long)t->hdr_off,
			 what);
	}
	t->err = rc;
	return rc;
}

static void pax_init(struct pax *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->pathv, max);
	buf_init(&p->linkv, max);
}

static void pax_cleanup(struct pax *p)
{
	buf_cleanup(&p->pathv);
	buf_cleanup(&p->linkv);
}

static void pax_clear(struct pax *p)
{
	p->path = p->linkpath = p->size = p->mtime = p->uid = p->gid = 0;
	buf_reset(&p->pathv);
	buf_reset(&p->linkv);
}

int htar_new(struct htar **out, const struct htar_limits *lim, const struct htar_cb *cb, void *arg)
{
	struct htar *t;

	if (!out)
		return -EINVAL;
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (lim)
		t->lim = *lim;
	if (!t->lim.max_name)
		t->lim.max_name = DEF_MAX_NAME;
	if (!t->lim.max_entry_size)
		t->lim.max_entry_size = DEF_MAX_ENTRY;
	if (!t->lim.max_pax)
		t->lim.max_pax = DEF_MAX_PAX;
	/* Keep the "+ a few bytes" arithmetic below from wrapping. */
	if (t->lim.max_name > SIZE_MAX / 4 || t->lim.max_pax > SIZE_MAX / 4) {
		free(t);
		return -EINVAL;
	}
	if (cb)
		t->cb = *cb;
	t->arg = arg;
	t->st = ST_HEADER;
	buf_init(&t->meta, 0);
	buf_init(&t->longname, t->lim.max_name + 2);
	buf_init(&t->longlink, t->lim.max_name);
	pax_init(&t->x, t->lim.max_pax);
	pax_init(&t->g, t->lim.max_pax);
	buf_init(&t->name, t->lim.max_name);
	buf_init(&t->link, t->lim.max_name);
	*out = t;
	return 0;
}

void htar_free(struct htar *t)
{
	if (!t)
		return;
	buf_cleanup(&t->meta);
	buf_cleanup(&t->longname);
	buf_cleanup(&t->longlink);
	pax_cleanup(&t->x);
	pax_cleanup(&t->g);
	buf_cleanup(&t->name);
	buf_cleanup(&t->link);
	free(t);
}

const char *htar_error(const struct htar *t)
{
	return t && t->err ? t->msg : "";
}

/* Clean RAW (N bytes) into OUT (whose ceiling is the name limit). Empty
 * results become "." when ALLOW_ROOT. 0, -EPROTO with *WHY, -E2BIG. */
static int clean(const char *raw, size_t n, bool allow_root, struct buf *out, const char **why)
{
	size_t i = 0;
	int rc;

	buf_reset(out);
	if (memchr(raw, '\0', n)) {
		*why = "NUL byte in the name";
		return -EPROTO;
	}
	while (i < n) {
		size_t start, len;

		while (i < n && raw[i] == '/')
			i++;
		start = i;
		while (i < n && raw[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && raw[start] == '.'))
			continue;
		if (len == 2 && raw[start] == '.' && raw[start + 1] == '.') {
			*why = "\"..\" component in the name";
			return -EPROTO;
		}
		if (out->len && (rc = buf_append(out, "/", 1)))
			goto err;
		if ((rc = buf_append(out, raw + start, len)))
			goto err;
	}
	if (out->len == 0) {
		if (!allow_root) {
			*why = "empty name";
			return -EPROTO;
		}
		if ((rc = buf_append(out, ".", 1)))
			goto err;
	}
	return 0;
err:
	*why = rc == -E2BIG ? "name longer than the name limit" : "out of memory";
	return rc;
}

int htar_clean_name(const char *raw, size_t n, size_t max, char *out, size_t outsz)
{
	struct buf b;
	const char *why;
	int rc;

	if (!raw || !out || outsz == 0)
		return -EINVAL;
	buf_init(&b, max < outsz - 1 ? max : outsz - 1);
	rc = clean(raw, n, true, &b, &why);
	if (rc == 0)
		memcpy(out, b.data, b.len + 1);
	buf_cleanup(&b);
	return rc;
}

/* Account for K more archive bytes against max_total. */
static int count(struct htar *t, size_t k)
{
	if (t->lim.max_total && (k > t->lim.max_total || t->off > t->lim.max_total - k))
		return fail(t, -E2BIG, NULL, 0, "archive passes the limit of %llu bytes",
			    (unsigned long long)t->lim.max_total);
	t->off += k;
	return 0;
}

/* A numeric header field: octal digits (leading spaces allowed, ended by
 * NUL or space or the field's end, nothing but NULs and spaces after), or
 * GNU base-256 when the high bit of the first byte is set (two's
 * complement; bit 6 is the sign). Result in [MIN, MAX]. */
static int hdr_num(struct htar *t, const char *what, size_t off, size_t len, int64_t min, int64_t max,
		   int64_t *out)
{
	const unsigned char *f = t->hdr + off;
	const char *raw = (const char *)t->hdr;
	size_t rawlen = strnlen(raw, 100), i = 0, digits = 0;
	uint64_t v = 0;

	if (f[0] & 0x80) {
		bool neg = f[0] & 0x40;
		int64_t s;

		v = (neg ? (unsigned char)~f[0] : f[0]) & 0x3f;
		for (size_t j = 1; j < len; j++) {
			unsigned char c = neg ? (unsigned char)~f[j] : f[j];

			if (v > (UINT64_MAX >> 8))
				goto range;
			v = v << 8 | c;
		}
		if (v > INT64_MAX)
			goto range;
		s = neg ? -(int64_t)v - 1 : (int64_t)v;
		if (s < min || s > max)
			goto range;
		*out = s;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v > (UINT64_MAX >> 3))
			goto range;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (digits == 0)
		return fail(t, -EPROTO, raw, rawlen, "%s field holds no number", what);
	for (; i < len; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return fail(t, -EPROTO, raw, rawlen, "%s field holds a stray byte 0x%02x", what, f[i]);
	if (v > (uint64_t)max || (int64_t)v < min)
		goto range;
	*out = (int64_t)v;
	return 0;
range:
	return fail(t, -EPROTO, raw, rawlen, "%s field out of range", what);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int check_header(struct htar *t, bool *posix)
{
	const char *raw = (const char *)t->hdr;
	size_t rawlen = strnlen(raw, 100);
	uint64_t usum = 0;
	int64_t ssum = 0, want;
	int rc;

	if (memcmp(t->hdr + O_MAGIC, "ustar\0", 6) == 0)
		*posix = true;
	else if (memcmp(t->hdr + O_MAGIC, "ustar  \0", 8) == 0)
		*posix = false;
	else
		return fail(t, -EPROTO, NULL, 0, "not a tar header (no ustar magic)");
	rc = hdr_num(t, "checksum", O_CHKSUM, 8, 0, INT64_MAX, &want);
	if (rc)
		return rc;
	for (size_t i = 0; i < BLOCK; i++) {
		unsigned char c = (i >= O_CHKSUM && i < O_CHKSUM + 8) ? ' ' : t->hdr[i];

		usum += c;
		ssum += (signed char)c;
	}
	/* Old tars summed signed chars; accept either, as GNU tar does. */
	if ((int64_t)usum != want && ssum != want)
		return fail(t, -EPROTO, raw, rawlen, "header checksum mismatch (stored %lld, computed %llu)",
			    (long long)want, (unsigned long long)usum);
	return 0;
}

static void next_block(struct htar *t)
{
	t->st = t->pad ? ST_PAD : ST_HEADER;
}

/* The current entry's data is complete. */
static int data_done(struct htar *t)
{
	if (t->take && t->cb.end) {
		int rc = t->cb.end(t->arg);

		if (rc < 0)
			return fail(t, rc, t->name.data, t->name.len, "end callback failed (%d)", rc);
	}
	next_block(t);
	return 0;
}

static size_t pad_of(uint64_t size)
{
	return (size_t)((BLOCK - size % BLOCK) % BLOCK);
}

/* "[-]SECONDS[.FRACTION]" of a pax time. */
static int parse_time(const char *s, size_t n, int64_t *sec, long *nsec)
{
	size_t i = 0, j;
	uint64_t whole;
	long frac = 0;
	bool neg = false;

	if (n && s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (j = i; j < n && s[j] != '.'; j++)
		;
	if (parse_u64(s + i, j - i, (uint64_t)INT64_MAX, &whole))
		return -EPROTO;
	if (j < n) {
		size_t k;

		if (j + 1 == n)
			return -EPROTO;
		for (k = j + 1; k < n; k++) {
			if (s[k] < '0' || s[k] > '9')
				return -EPROTO;
			if (k - j <= 9)
				frac = frac * 10 + (s[k] - '0');
		}
		for (k = n - j - 1; k < 9; k++)
			frac *= 10;
	}
	if (!neg) {
		*sec = (int64_t)whole;
		*nsec = frac;
	} else if (frac) {
		if (whole == (uint64_t)INT64_MAX)
			return -EPROTO;
		*sec = -(int64_t)whole - 1;
		*nsec = 1000000000L - frac;
	} else {
		*sec = -(int64_t)whole;
		*nsec = 0;
	}
	return 0;
}

static bool key_is(const char *k, size_t kl, const char *name)
{
	return strlen(name) == kl && memcmp(k, name, kl) == 0;
}

/* One pax record KEY=VAL into P. An empty value deletes the key. */
static int pax_apply(struct htar *t, struct pax *p, bool global, const char *k, size_t kl, const char *v,
		     size_t vl)
{
	int del = global ? 0 : -1;
	uint64_t u;
	int rc;

	if (kl >= 11 && memcmp(k, "GNU.sparse.", 11) == 0)
		return fail(t, -ENOTSUP, NULL, 0, "pax record %.*s: GNU sparse file, not supported",
			    (int)(kl > 40 ? 40 : kl), k);
	if (key_is(k, kl, "path") || key_is(k, kl, "linkpath")) {
		bool path = kl == 4;
		struct buf *b = path ? &p->pathv : &p->linkv;
		int *flag = path ? &p->path : &p->linkpath;

		buf_reset(b);
		*flag = del;
		if (vl == 0)
			return 0;
		rc = buf_append(b, v, vl);
		if (rc)
			return fail(t, rc, NULL, 0, "pax %s value: out of memory", path ? "path" : "linkpath");
		*flag = 1;
	} else if (key_is(k, kl, "size")) {
		p->size = del;
		if (vl == 0)
			return 0;
		if (parse_u64(v, vl, (uint64_t)INT64_MAX, &p->sizev))
			return fail(t, -EPROTO, NULL, 0, "pax size record is not a number");
		p->size = 1;
	} else if (key_is(k, kl, "uid") || key_is(k, kl, "gid")) {
		bool uid = k[0] == 'u';

		*(uid ? &p->uid : &p->gid) = del;
		if (vl == 0)
			return 0;
		if (parse_u64(v, vl, UINT32_MAX, &u))
			return fail(t, -EPROTO, NULL, 0, "pax %s record is not a 32-bit number", uid ? "uid" : "gid");
		*(uid ? &p->uidv : &p->gidv) = (uint32_t)u;
		*(uid ? &p->uid : &p->gid) = 1;
	} else if (key_is(k, kl, "mtime")) {
		p->mtime = del;
		if (vl == 0)
			return 0;
		if (parse_time(v, vl, &p->mtimev, &p->nsecv))
			return fail(t, -EPROTO, NULL, 0, "pax mtime record is not a time");
		p->mtime = 1;
	}
	/* atime, ctime, uname, gname, charset, comment, SCHILY.*, ...: we
	 * report none of them. */
	return 0;
}

/* Parse the gathered pax header: records "LEN KEY=VALUE\n", LEN decimal
 * and counting the whole record. Nothing else may appear. */
static int pax_parse(struct htar *t, struct pax *p, bool global)
{
	const char *s = t->meta.data, *end = t->meta.data + t->meta.len;

	while (s < end) {
		const char *q = s, *kv, *eq, *rec_end;
		uint64_t len;
		size_t kvlen;

		while (q < end && q - s < 20 && *q >= '0' && *q <= '9')
			q++;
		if (q == s || q == end || *q != ' ')
			return fail(t, -EPROTO, NULL, 0, "pax record at +%zu: no length",
				    (size_t)(s - t->meta.data));
		if (parse_u64(s, (size_t)(q - s), (uint64_t)(end - s), &len))
			return fail(t, -EPROTO, NULL, 0, "pax record at +%zu: length passes the header",
				    (size_t)(s - t->meta.data));
		/* Shortest record: LEN SP K = NL. */
		if (len < (uint64_t)(q - s) + 4)
			return fail(t, -EPROTO, NULL, 0, "pax record at +%zu: length %llu too short",
				    (size_t)(s - t->meta.data), (unsigned long long)len);
		rec_end = s + len;
		if (rec_end[-1] != '\n')
			return fail(t, -EPROTO, NULL, 0, "pax record at +%zu: length %llu does not end at a newline",
				    (size_t)(s - t->meta.data), (unsigned long long)len);
		kv = q + 1;
		kvlen = (size_t)(rec_end - 1 - kv);
		eq = memchr(kv, '=', kvlen);
		if (!eq || eq == kv || memchr(kv, '\0', (size_t)(eq - kv)))
			return fail(t, -EPROTO, NULL, 0, "pax record at +%zu: no KEY=VALUE",
				    (size_t)(s - t->meta.data));
		int rc = pax_apply(t, p, global, kv, (size_t)(eq - kv), eq + 1, (size_t)(rec_end - 1 - (eq + 1)));

		if (rc)
			return rc;
		s = rec_end;
	}
	return 0;
}

/* A GNU long name or link: the bytes, then one or more NULs (a missing
 * terminator is tolerated); a NUL followed by anything else is not. */
static int gnu_long(struct htar *t, struct buf *dst)
{
	const char *s = t->meta.data;
	const char *nul = memchr(s, '\0', t->meta.len);
	size_t n = nul ? (size_t)(nul - s) : t->meta.len;
	int rc;

	for (size_t i = n; i < t->meta.len; i++)
		if (s[i] != '\0')
			return fail(t, -EPROTO, s, n, "GNU long %s holds a NUL byte",
				    t->meta_type == 'L' ? "name" : "link");
	buf_reset(dst);
	rc = buf_append(dst, s, n);
	if (rc)
		return fail(t, rc, s, n, "GNU long %s: %s", t->meta_type == 'L' ? "name" : "link",
			    rc == -E2BIG ? "longer than the name limit" : "out of memory");
	return 0;
}

static int meta_done(struct htar *t)
{
	int rc = 0;

	switch (t->meta_type) {
	case 'L':
		rc = gnu_long(t, &t->longname);
		t->has_longname = true;
		break;
	case 'K':
		rc = gnu_long(t, &t->longlink);
		t->has_longlink = true;
		break;
	case 'g':
		rc = pax_parse(t, &t->g, true);
		break;
	default:
		rc = pax_parse(t, &t->x, false);
		break;
	}
	buf_reset(&t->meta);
	if (rc)
		return rc;
	next_block(t);
	return 0;
}

/* An extension header: gather its SIZE bytes (capped by CAP) in META. */
static int start_meta(struct htar *t, char type, uint64_t cap, const char *what)
{
	int64_t size;
	int rc = hdr_num(t, "size", F_SIZE, 0, INT64_MAX, &size);

	if (rc)
		return rc;
	if ((uint64_t)size > cap)
		return fail(t, -E2BIG, NULL, 0, "%s of %lld bytes passes the limit of %llu", what, (long long)size,
			    (unsigned long long)cap);
	t->meta_type = type;
	buf_reset(&t->meta);
	t->meta.max = (size_t)cap;
	t->remain = (uint64_t)size;
	t->pad = pad_of((uint64_t)size);
	if (type != 'g')
		t->pending = true;
	if (size == 0)
		return meta_done(t);
	t->st = ST_META;
	return 0;
}

/* Pick the raw value of a string attribute: pax 'x', else pax 'g' (unless
 * 'x' deleted it), else GNU long, else the header field. */
static void pick(const struct pax *x, const struct pax *g, bool link, bool has_long, const struct buf *lng,
		 const char *field, size_t fieldlen, const char **raw, size_t *n)
{
	int xf = link ? x->linkpath : x->path, gf = link ? g->linkpath : g->path;
	const struct buf *xb = link ? &x->linkv : &x->pathv, *gb = link ? &g->linkv : &g->pathv;

	if (xf == 1) {
		*raw = xb->data;
		*n = xb->len;
	} else if (xf == 0 && gf == 1) {
		*raw = gb->data;
		*n = gb->len;
	} else if (has_long) {
		*raw = lng->data ? lng->data : "";
		*n = lng->len;
	} else {
		*raw = field;
		*n = fieldlen;
	}
}

static char type_of(char flag)
{
	switch (flag) {
	case '0':
	case '\0':
	case '7': /* contiguous file: a regular file everywhere we care */
		return 'f';
	case '1':
		return 'h';
	case '2':
		return 'l';
	case '3':
		return 'c';
	case '4':
		return 'b';
	case '5':
		return 'd';
	case '6':
		return 'p';
	default:
		return 0;
	}
}

/* Pax overrides for one numeric attribute. */
#define PAX_NUM(flag, x, g) ((x).flag == 1 ? &(x) : (x).flag == 0 && (g).flag == 1 ? &(g) : NULL)

static int real_entry(struct htar *t, bool posix, char flag)
{
	struct htar_entry e = { 0 };
	char hname[100 + 1 + L_PREFIX];
	size_t hnlen, n, rawn;
	const char *raw, *why;
	int64_t mode, uid, gid, size, mtime;
	const struct pax *pp;
	int rc;

	/* The name in the header: [prefix "/"] name. GNU headers ("ustar  ")
	 * keep other fields where POSIX has the prefix. */
	n = strnlen((const char *)t->hdr, 100);
	hnlen = 0;
	if (posix) {
		size_t pl = strnlen((const char *)t->hdr + O_PREFIX, L_PREFIX);

		if (pl) {
			memcpy(hname, t->hdr + O_PREFIX, pl);
			hname[pl] = '/';
			hnlen = pl + 1;
		}
	}
	memcpy(hname + hnlen, t->hdr, n);
	hnlen += n;
	pick(&t->x, &t->g, false, t->has_longname, &t->longname, hname, hnlen, &raw, &rawn);

	if ((rc = hdr_num(t, "mode", F_MODE, 0, INT64_MAX, &mode)) ||
	    (rc = hdr_num(t, "uid", F_UID, 0, UINT32_MAX, &uid)) ||
	    (rc = hdr_num(t, "gid", F_GID, 0, UINT32_MAX, &gid)) ||
	    (rc = hdr_num(t, "size", F_SIZE, 0, INT64_MAX, &size)) ||
	    (rc = hdr_num(t, "mtime", F_MTIME, INT64_MIN, INT64_MAX, &mtime)))
		return rc;
	e.mode = (uint32_t)(mode & 07777);
	e.uid = (uint32_t)uid;
	e.gid = (uint32_t)gid;
	e.size = (uint64_t)size;
	e.mtime = mtime;
	if ((pp = PAX_NUM(size, t->x, t->g)))
		e.size = pp->sizev;
	if ((pp = PAX_NUM(uid, t->x, t->g)))
		e.uid = pp->uidv;
	if ((pp = PAX_NUM(gid, t->x, t->g)))
		e.gid = pp->gidv;
	if ((pp = PAX_NUM(mtime, t->x, t->g))) {
		e.mtime = pp->mtimev;
		e.mtime_nsec = pp->nsecv;
	}

	e.type = type_of(flag);
	if (e.type != 'f' && e.size != 0)
		return fail(t, -EPROTO, raw, rawn, "%llu data bytes on a non-regular entry (type '%c')",
			    (unsigned long long)e.size, flag);
	if (e.size > t->lim.max_entry_size)
		return fail(t, -E2BIG, raw, rawn, "size %llu passes the limit of %llu", (unsigned long long)e.size,
			    (unsigned long long)t->lim.max_entry_size);

	rc = clean(raw, rawn, e.type == 'd', &t->name, &why);
	if (rc)
		return fail(t, rc, raw, rawn, "refused name: %s", why);
	e.name = t->name.data;

	if (e.type == 'l' || e.type == 'h') {
		const char *lraw;
		size_t ln;

		pick(&t->x, &t->g, true, t->has_longlink, &t->longlink, (const char *)t->hdr + O_LINK,
		     strnlen((const char *)t->hdr + O_LINK, L_LINK), &lraw, &ln);
		if (memchr(lraw, '\0', ln))
			return fail(t, -EPROTO, raw, rawn, "NUL byte in the link target");
		buf_reset(&t->link);
		rc = buf_append(&t->link, lraw, ln);
		if (rc)
			return fail(t, rc, raw, rawn, "link target: %s",
				    rc == -E2BIG ? "longer than the name limit" : "out of memory");
		e.linkname = t->link.data ? t->link.data : "";
	}

	/* The extension headers were this entry's. */
	t->has_longname = t->has_longlink = false;
	buf_reset(&t->longname);
	buf_reset(&t->longlink);
	pax_clear(&t->x);
	t->pending = false;

	rc = t->cb.entry ? t->cb.entry(t->arg, &e) : 0;
	if (rc < 0)
		return fail(t, rc, raw, rawn, "entry callback failed (%d)", rc);
	t->take = rc == 0;
	t->remain = e.size;
	t->pad = pad_of(e.size);
	if (e.size == 0)
		return data_done(t);
	t->st = ST_DATA;
	return 0;
}

static int header(struct htar *t)
{
	bool posix = false;
	char flag;
	int rc;

	t->hdr_off = t->off - BLOCK;
	if (all_zero(t->hdr, BLOCK)) {
		if (t->pending)
			return fail(t, -EPROTO, NULL, 0, "end of archive right after an extension header");
		if (++t->zeros == 2)
			t->st = ST_END;
		return 0;
	}
	if (t->zeros)
		return fail(t, -EPROTO, NULL, 0, "header after a lone zero block (end of archive)");
	rc = check_header(t, &posix);
	if (rc)
		return rc;
	flag = (char)t->hdr[O_TYPE];
	switch (flag) {
	case 'L':
		/* The stored name may carry "./" and ends in a NUL. */
		return start_meta(t, 'L', sat_add(t->lim.max_name, 3), "GNU long name");
	case 'K':
		return start_meta(t, 'K', sat_add(t->lim.max_name, 1), "GNU long link");
	case 'x':
	case 'X': /* Solaris' name for 'x' */
		return start_meta(t, 'x', t->lim.max_pax, "pax header");
	case 'g':
		return start_meta(t, 'g', t->lim.max_pax, "pax global header");
	case 'V':
	case 'M':
		return fail(t, -EPROTO, NULL, 0, "%s header: not in a `tar cf -` stream",
			    flag == 'V' ? "volume label" : "multi-volume continuation");
	case 'S':
		return fail(t, -ENOTSUP, (const char *)t->hdr, strnlen((const char *)t->hdr, 100),
			    "GNU sparse file (type 'S'): not supported");
	default:
		if (!type_of(flag))
			return fail(t, -ENOTSUP, (const char *)t->hdr, strnlen((const char *)t->hdr, 100),
				    "entry type 0x%02x: not supported", (unsigned char)flag);
		return real_entry(t, posix, flag);
	}
}

int htar_feed(struct htar *t, const void *p, size_t n)
{
	const unsigned char *s = p;
	int rc = 0;

	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	if (n && !p)
		return -EINVAL;
	while (n > 0 && t->st != ST_END) {
		size_t k;

		switch (t->st) {
		case ST_HEADER:
			k = BLOCK - t->hfill < n ? BLOCK - t->hfill : n;
			if ((rc = count(t, k)))
				return rc;
			memcpy(t->hdr + t->hfill, s, k);
			t->hfill += k;
			if (t->hfill == BLOCK) {
				t->hfill = 0;
				rc = header(t);
			}
			break;
		case ST_DATA:
			k = t->remain < n ? (size_t)t->remain : n;
			if ((rc = count(t, k)))
				return rc;
			if (t->take && t->cb.data) {
				rc = t->cb.data(t->arg, s, k);
				if (rc < 0) {
					rc = fail(t, rc, t->name.data, t->name.len, "data callback failed (%d)", rc);
					break;
				}
				rc = 0;
			}
			t->remain -= k;
			if (t->remain == 0)
				rc = data_done(t);
			break;
		case ST_META:
			k = t->remain < n ? (size_t)t->remain : n;
			if ((rc = count(t, k)))
				return rc;
			if ((rc = buf_append(&t->meta, s, k))) {
				rc = fail(t, rc, NULL, 0, "extension header: out of memory");
				break;
			}
			t->remain -= k;
			if (t->remain == 0)
				rc = meta_done(t);
			break;
		case ST_PAD:
			k = t->pad < n ? t->pad : n;
			if ((rc = count(t, k)))
				return rc;
			t->pad -= k;
			if (t->pad == 0)
				t->st = ST_HEADER;
			break;
		default:
			k = n;
			break;
		}
		if (rc)
			return rc;
		s += k;
		n -= k;
	}
	/* After the end marker: record padding or junk, neither read nor
	 * counted. */
	return 0;
}

int htar_finish(struct htar *t)
{
	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	switch (t->st) {
	case ST_END:
		return 0;
	case ST_HEADER:
		if (t->hfill) {
			t->hdr_off = t->off - t->hfill;
			return fail(t, -EPROTO, NULL, 0, "stream ended inside a header (%zu of 512 bytes)", t->hfill);
		}
		if (t->pending)
			return fail(t, -EPROTO, NULL, 0, "stream ended after an extension header, before its entry");
		if (t->off == 0)
			return fail(t, -EPROTO, NULL, 0, "stream ended before any tar header");
		return 0;
	case ST_DATA:
		return fail(t, -EPROTO, t->name.data, t->name.len, "stream ended inside the data (%llu bytes missing)",
			    (unsigned long long)t->remain);
	case ST_META:
		return fail(t, -EPROTO, NULL, 0, "stream ended inside an extension header (%llu bytes missing)",
			    (unsigned long long)t->remain);
	case ST_PAD:
	default:
		return fail(t, -EPROTO, t->name.data, t->name.len, "stream ended inside the padding after the data");
	}
}
