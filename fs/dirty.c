/* dirty.c: written-but-unsent ranges of a file (see dirty.h). */
#include "dirty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void dirty_init(struct dirty *d)
{
	memset(d, 0, sizeof(*d));
}

void dirty_clear(struct dirty *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->r[i].data);
	free(d->r);
	dirty_init(d);
}

uint64_t dirty_end(const struct dirty *d)
{
	return d->n ? d->r[d->n - 1].off + d->r[d->n - 1].len : 0;
}

/* Index of the first range whose end reaches OFF (may abut it). */
static size_t first_touching(const struct dirty *d, uint64_t off)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->r[mid].off + d->r[mid].len < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dirty_add(struct dirty *d, uint64_t off, const void *buf, size_t len)
{
	uint64_t end = off + len;
	size_t i, j;

	if (len == 0)
		return 0;
	i = first_touching(d, off);
	/* ranges i..j-1 touch or abut [off, end) */
	for (j = i; j < d->n && d->r[j].off <= end; j++)
		;
	if (j == i + 1 && d->r[i].off <= off && d->r[i].off + d->r[i].len >= end) {
		/* inside one range: overwrite in place */
		memcpy(d->r[i].data + (off - d->r[i].off), buf, len);
		return 0;
	}
	uint64_t nstart = off, nend = end;

	if (j > i) {
		if (d->r[i].off < nstart)
			nstart = d->r[i].off;
		if (d->r[j - 1].off + d->r[j - 1].len > nend)
			nend = d->r[j - 1].off + d->r[j - 1].len;
	}
	size_t nlen = (size_t)(nend - nstart);
	struct drange m;
	int inplace = j > i && d->r[i].off == nstart;

	/* grow range i in place when it starts the merge (the common
	 * sequential append), else build a new buffer */
	if (inplace) {
		m = d->r[i];
		if (m.cap < nlen) {
			size_t nc = m.cap ? m.cap : 4096;

			while (nc < nlen)
				nc *= 2;
			char *p = realloc(m.data, nc);

			if (!p)
				return -ENOMEM;
			m.data = p;
			m.cap = nc;
		}
	} else {
		m.off = nstart;
		m.cap = nlen;
		m.data = malloc(nlen);
		if (!m.data)
			return -ENOMEM;
		if (j > i) {
			/* copy the old ranges in (range i is not at nstart here) */
			for (size_t k = i; k < j; k++)
				memcpy(m.data + (d->r[k].off - nstart), d->r[k].data, d->r[k].len);
		}
	}
	/* the other merged ranges' bytes (range i's are already in place) */
	if (inplace)
		for (size_t k = i + 1; k < j; k++)
			memcpy(m.data + (d->r[k].off - nstart), d->r[k].data, d->r[k].len);
	memcpy(m.data + (off - nstart), buf, len);
	m.len = nlen;
	/* replace ranges i..j-1 with m */
	size_t old_bytes = 0;

	for (size_t k = i; k < j; k++) {
		old_bytes += d->r[k].len;
		if (!(inplace && k == i))
			free(d->r[k].data); /* range i's buffer lives on in m */
	}
	if (j == i) {
		if (d->n == d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 8;
			struct drange *nr = realloc(d->r, nc * sizeof(*nr));

			if (!nr) {
				free(m.data);
				return -ENOMEM;
			}
			d->r = nr;
			d->cap = nc;
		}
		memmove(&d->r[i + 1], &d->r[i], (d->n - i) * sizeof(*d->r));
		d->n++;
	} else if (j > i + 1) {
		memmove(&d->r[i + 1], &d->r[j], (d->n - j) * sizeof(*d->r));
		d->n -= j - i - 1;
	}
	d->r[i] = m;
	d->bytes = d->bytes - old_bytes + nlen;
	return 0;
}

void dirty_truncate(struct dirty *d, uint64_t size)
{
	while (d->n) {
		struct drange *last = &d->r[d->n - 1];

		if (last->off >= size) {
			d->bytes -= last->len;
			free(last->data);
			d->n--;
			continue;
		}
		if (last->off + last->len > size) {
			size_t keep = (size_t)(size - last->off);

			d->bytes -= last->len - keep;
			last->len = keep;
		}
		break;
	}
}
