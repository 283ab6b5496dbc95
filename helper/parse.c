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

/* ---- subtree listings ---- */

void hp_tree_free(struct hp_tree_dir *d, size_t n)
{
	if (!d)
		return;
	for (size_t i = 0; i < n; i++) {
		free(d[i].rel);
		remote_dirents_free(d[i].ents, d[i].n);
	}
	free(d);
}

/* "a/b/c" (LEN bytes): every component 1 to 255 bytes, neither "." nor
 * "..". *DEPTH gets the number of components, *PLEN the length of the
 * parent's part ("a/b"; 0 for one component). */
static int check_rel(const char *s, size_t len, size_t *depth, size_t *plen)
{
	size_t i = 0, d = 0, last = 0;

	if (len == 0)
		return -EPROTO;
	while (i <= len) {
		size_t j = i;

		while (j < len && s[j] != '/')
			j++;
		size_t cl = j - i;

		if (cl == 0 || cl > NAME_MAX_BYTES || (cl == 1 && s[i] == '.') ||
		    (cl == 2 && s[i] == '.' && s[i + 1] == '.'))
			return -EPROTO;
		d++;
		last = i;
		i = j + 1;
	}
	*depth = d;
	*plen = last ? last - 1 : 0;
	return 0;
}

struct trec {
	const char *rel;
	size_t rl, plen, depth;
	struct remote_attr a;
	long parent; /* record index; -1: the top; -2: none (dropped) */
	long group;  /* index of its listing in the output; -1: not listed */
};

struct span {
	const char *p;
	size_t l;
};

static int span_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al < bl ? -1 : al > bl);
}

/* qsort takes no argument: the records being sorted, per thread */
static _Thread_local const struct trec *tl_recs;

static int rec_idx_cmp(const void *x, const void *y)
{
	const struct trec *a = &tl_recs[*(const size_t *)x], *b = &tl_recs[*(const size_t *)y];

	return span_cmp(a->rel, a->rl, b->rel, b->rl);
}

static int span_qcmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	return span_cmp(a->p, a->l, b->p, b->l);
}

/* The record called P (L bytes) through the sorted index, or -1. */
static long rec_find(const struct trec *r, const size_t *idx, size_t n, const char *p, size_t l)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = span_cmp(r[idx[mid]].rel, r[idx[mid]].rl, p, l);

		if (c == 0)
			return (long)idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Group records R (N of them, below a top with attributes TOP) into
 * listings: a directory above DEPTH, on its parent's device, not in NEG,
 * whose parent is listed, is listed. */
static int build_tree(struct trec *r, size_t n, const struct remote_attr *top, size_t depth, struct span *neg,
		      size_t nneg, struct hp_tree_dir **out, size_t *count)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx)), ndirs = 1;
	struct hp_tree_dir *d = NULL;
	size_t *fill = NULL;
	int rc = -ENOMEM;

	if (!idx)
		goto out;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	tl_recs = r;
	qsort(idx, n, sizeof(*idx), rec_idx_cmp);
	if (nneg)
		qsort(neg, nneg, sizeof(*neg), span_qcmp);
	for (size_t i = 1; i < n; i++)
		if (!span_cmp(r[idx[i]].rel, r[idx[i]].rl, r[idx[i - 1]].rel, r[idx[i - 1]].rl)) {
			rc = -EPROTO; /* a name twice */
			goto out;
		}
	for (size_t i = 0; i < n; i++) {
		r[i].group = -1;
		r[i].parent = r[i].plen ? rec_find(r, idx, n, r[i].rel, r[i].plen) : -1;
		if (r[i].plen && r[i].parent < 0)
			r[i].parent = -2;
	}
	/* parents before children: level by level */
	for (size_t k = 1; k < depth; k++)
		for (size_t i = 0; i < n; i++) {
			const struct remote_attr *pa;
			struct span key = { r[i].rel, r[i].rl };

			if (r[i].depth != k || !S_ISDIR(r[i].a.mode) || r[i].parent == -2)
				continue;
			if (r[i].parent >= 0 && r[r[i].parent].group < 0)
				continue;
			pa = r[i].parent >= 0 ? &r[r[i].parent].a : top;
			if (r[i].a.dev != pa->dev || (nneg && bsearch(&key, neg, nneg, sizeof(*neg), span_qcmp)))
				continue;
			r[i].group = (long)ndirs++;
		}
	d = calloc(ndirs, sizeof(*d));
	fill = calloc(ndirs, sizeof(*fill));
	if (!d || !fill)
		goto out;
	d[0].rel = strdup("");
	if (!d[0].rel)
		goto out;
	for (size_t i = 0; i < n; i++) {
		long g = r[i].parent == -1 ? 0 : r[i].parent >= 0 ? r[r[i].parent].group : -1;

		if (g >= 0)
			d[g].n++;
		if (r[i].group > 0 && !(d[r[i].group].rel = strndup(r[i].rel, r[i].rl)))
			goto out;
	}
	for (size_t g = 0; g < ndirs; g++)
		if (!(d[g].ents = calloc(d[g].n ? d[g].n : 1, sizeof(*d[g].ents))))
			goto out;
	for (size_t i = 0; i < n; i++) {
		long g = r[i].parent == -1 ? 0 : r[i].parent >= 0 ? r[r[i].parent].group : -1;
		size_t off = r[i].plen ? r[i].plen + 1 : 0;
		struct remote_dirent *e;

		if (g < 0)
			continue;
		e = &d[g].ents[fill[g]];
		if (!(e->name = strndup(r[i].rel + off, r[i].rl - off)))
			goto out;
		e->attr = r[i].a;
		fill[g]++;
	}
	*out = d;
	*count = ndirs;
	d = NULL;
	rc = 0;
out:
	if (d) {
		/* entries not filled yet have NULL names: free what there is */
		for (size_t g = 0; g < ndirs; g++)
			d[g].n = fill ? fill[g] : 0;
		hp_tree_free(d, ndirs);
	}
	free(fill);
	free(idx);
	return rc;
}

/* The next NUL-terminated field at *POS: its start and length. */
static int next_field(const char *s, size_t n, size_t *pos, const char **f, size_t *fl)
{
	const char *z = *pos < n ? memchr(s + *pos, '\0', n - *pos) : NULL;

	if (!z)
		return -EPROTO;
	*f = s + *pos;
	*fl = (size_t)(z - *f);
	*pos += *fl + 1;
	return 0;
}

int hp_tree_records(const char *s, size_t n, size_t max, struct hp_tree_dir **out, size_t *count)
{
	struct trec *r = NULL;
	struct span *neg = NULL;
	size_t nr = 0, cr = 0, nneg = 0, cneg = 0, pos = 0, fl;
	struct remote_attr top;
	bool have_top = false;
	uint64_t depth;
	const char *f;
	int rc;

	*out = NULL;
	*count = 0;
	if ((rc = next_field(s, n, &pos, &f, &fl)))
		return rc;
	if (parse_u64(f, fl, 64, &depth) || depth < 1)
		return -EPROTO;
	/* unreadable directories, up to "/" */
	for (;;) {
		size_t dd, pl;

		if ((rc = next_field(s, n, &pos, &f, &fl)))
			goto out;
		if (fl == 1 && f[0] == '/')
			break;
		if (fl < 4 || f[0] != '.' || f[1] != '/' || f[fl - 1] != '/' ||
		    check_rel(f + 2, fl - 3, &dd, &pl)) {
			rc = -EPROTO;
			goto out;
		}
		if (nneg == max) {
			rc = -E2BIG;
			goto out;
		}
		if (nneg == cneg) {
			size_t nc = cneg ? 2 * cneg : 16;
			struct span *nv = realloc(neg, nc * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			neg = nv;
			cneg = nc;
		}
		neg[nneg].p = f + 2;
		neg[nneg++].l = fl - 3;
	}
	while (pos < n) {
		const char *st, *nm;
		size_t sl, nl;
		struct remote_attr a;

		if ((rc = next_field(s, n, &pos, &st, &sl)) || (rc = next_field(s, n, &pos, &nm, &nl)))
			goto out;
		if (hp_stat_line(st, sl, &a)) {
			rc = -EPROTO;
			goto out;
		}
		if (nl == 1 && nm[0] == '.') {
			if (have_top || !S_ISDIR(a.mode)) {
				rc = -EPROTO;
				goto out;
			}
			top = a;
			have_top = true;
			continue;
		}
		if (nr == max) {
			rc = -E2BIG;
			goto out;
		}
		if (nr == cr) {
			size_t nc = cr ? 2 * cr : 64;
			struct trec *nv = realloc(r, nc * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			r = nv;
			cr = nc;
		}
		struct trec *t = &r[nr];

		if (nl < 3 || nm[0] != '.' || nm[1] != '/' || check_rel(nm + 2, nl - 2, &t->depth, &t->plen) ||
		    t->depth > depth) {
			rc = -EPROTO;
			goto out;
		}
		t->rel = nm + 2;
		t->rl = nl - 2;
		t->a = a;
		nr++;
	}
	if (!have_top) {
		rc = -EPROTO;
		goto out;
	}
	rc = build_tree(r, nr, &top, (size_t)depth, neg, nneg, out, count);
out:
	free(r);
	free(neg);
	return rc;
}

/* One group at *POS: names PREFIX ENTRY NUL up to "/\0", then one stat
 * line per name up to a NUL. -EAGAIN when the lines do not match the
 * names (the group is consumed all the same). *TOTAL counts entries
 * against MAX. */
static int parse_group(const char *s, size_t n, size_t *pos, const char *prefix, size_t pl, size_t max,
		       size_t *total, struct remote_dirent **out, size_t *cnt)
{
	struct remote_dirent *v = NULL;
	size_t c = 0, cap = 0, k = 0, fl;
	const char *f, *z;
	int rc;

	*out = NULL;
	*cnt = 0;
	for (;;) {
		if ((rc = next_field(s, n, pos, &f, &fl)))
			goto fail;
		if (fl == 1 && f[0] == '/')
			break;
		if (fl <= pl || memcmp(f, prefix, pl)) {
			rc = -EPROTO;
			goto fail;
		}
		if (*total == max) {
			rc = -E2BIG;
			goto fail;
		}
		if ((rc = add_entry(&v, &c, &cap, SIZE_MAX, f + pl, fl - pl)))
			goto fail;
		(*total)++;
	}
	z = *pos < n ? memchr(s + *pos, '\0', n - *pos) : NULL;
	if (!z) {
		rc = -EPROTO;
		goto fail;
	}
	rc = 0;
	for (size_t i = *pos, end = (size_t)(z - s); i < end;) {
		const char *nl = memchr(s + i, '\n', end - i);
		struct remote_attr a;

		if (!nl || hp_stat_line(s + i, (size_t)(nl - (s + i)), &a)) {
			rc = -EPROTO;
			goto fail;
		}
		if (k < c)
			v[k].attr = a;
		k++;
		i = (size_t)(nl + 1 - s);
	}
	*pos = (size_t)(z + 1 - s);
	if (k > c) {
		rc = -EPROTO; /* more lines than names */
		goto fail;
	}
	if (k < c) {
		rc = -EAGAIN;
		goto fail;
	}
	*out = v;
	*cnt = c;
	return 0;
fail:
	remote_dirents_free(v, c);
	return rc;
}

int hp_tree_groups(const char *s, size_t n, size_t max, struct hp_tree_dir **out, size_t *count)
{
	struct hp_tree_dir *d = NULL;
	struct remote_attr top;
	const char *nl = memchr(s, '\n', n);
	size_t nd = 0, cd = 0, pos, total = 0;
	char *prefix = NULL;
	int rc;

	*out = NULL;
	*count = 0;
	if (!nl || hp_stat_line(s, (size_t)(nl - s), &top) || !S_ISDIR(top.mode))
		return -EPROTO;
	pos = (size_t)(nl + 1 - s);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->rel = strdup(""))) {
		rc = -ENOMEM;
		goto fail;
	}
	nd = cd = 1;
	rc = parse_group(s, n, &pos, "./", 2, max, &total, &d[0].ents, &d[0].n);
	if (rc)
		goto fail;
	while (pos < n) {
		const char *f;
		size_t fl, dd, pl;
		const struct remote_dirent *e = NULL;
		struct remote_dirent *ents;
		size_t ne;

		if ((rc = next_field(s, n, &pos, &f, &fl)))
			goto fail;
		/* "./NAME/": NAME a directory of the top on its device, once */
		if (fl < 4 || f[0] != '.' || f[1] != '/' || f[fl - 1] != '/' || check_rel(f + 2, fl - 3, &dd, &pl) ||
		    dd != 1) {
			rc = -EPROTO;
			goto fail;
		}
		for (size_t i = 0; i < d[0].n && !e; i++)
			if (strlen(d[0].ents[i].name) == fl - 3 && !memcmp(d[0].ents[i].name, f + 2, fl - 3))
				e = &d[0].ents[i];
		for (size_t g = 1; g < nd && e; g++)
			if (strlen(d[g].rel) == fl - 3 && !memcmp(d[g].rel, f + 2, fl - 3))
				e = NULL;
		if (!e || !S_ISDIR(e->attr.mode)) {
			rc = -EPROTO;
			goto fail;
		}
		free(prefix);
		if (!(prefix = strndup(f, fl))) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = parse_group(s, n, &pos, prefix, fl, max, &total, &ents, &ne);
		if (rc == -EAGAIN || (rc == 0 && e->attr.dev != top.dev)) {
			remote_dirents_free(ents, ne);
			continue; /* changed while listed, or another filesystem: not listed */
		}
		if (rc)
			goto fail;
		if (nd == cd) {
			size_t nc = 2 * cd;
			struct hp_tree_dir *nv = realloc(d, nc * sizeof(*nv));

			if (!nv) {
				remote_dirents_free(ents, ne);
				rc = -ENOMEM;
				goto fail;
			}
			d = nv;
			cd = nc;
		}
		d[nd].ents = ents;
		d[nd].n = ne;
		if (!(d[nd].rel = strndup(f + 2, fl - 3))) {
			remote_dirents_free(ents, ne);
			rc = -ENOMEM;
			goto fail;
		}
		nd++;
	}
	free(prefix);
	*out = d;
	*count = nd;
	return 0;
fail:
	free(prefix);
	hp_tree_free(d, nd);
	return rc;
}
