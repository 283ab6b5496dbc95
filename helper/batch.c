/* batch.c: the incremental reader of tar-free batches (see batch.h).
 *
 * States: F lines (HEAD) until "D", the files' data back to back (DATA),
 * E lines (TAIL). Lines go into a fixed LINE_MAX_B buffer; each file's
 * data into a buffer of its SIZE (checked against MAX_EACH and what is
 * left of MAX_TOTAL before allocating), kept until its E line. No locks:
 * one reader.
 */
#include "batch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strparse.h"

#define LINE_MAX_B 96
#define STAMP_MAX 32

enum state { HEAD, DATA, TAIL, BROKEN };

struct rec {
	uint64_t idx;
	uint64_t size;
	char stamp[STAMP_MAX + 1];
};

struct hbatch {
	size_t nnames;
	size_t max_each;
	uint64_t max_total;
	uint64_t total;
	hbatch_cb cb;
	void *arg;
	enum state st;
	char line[LINE_MAX_B];
	size_t linelen;
	struct rec *recs; /* by index - 1 (size UINT64_MAX: no F line) */
	char **data;	  /* by index - 1: read, waiting for the E line */
	uint64_t cur;	  /* DATA: the file being filled (index) */
	size_t have;
	uint64_t last_f, last_e;
	bool shifted;	  /* an E line disagreed: later data may be misplaced */
	size_t delivered, dropped;
};

int hbatch_new(struct hbatch **out, size_t nnames, size_t max_each, uint64_t max_total, hbatch_cb cb, void *arg)
{
	struct hbatch *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->recs = calloc(nnames ? nnames : 1, sizeof(*p->recs));
	p->data = calloc(nnames ? nnames : 1, sizeof(*p->data));
	if (!p->recs || !p->data) {
		hbatch_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nnames; i++)
		p->recs[i].size = UINT64_MAX;
	p->nnames = nnames;
	p->max_each = max_each;
	p->max_total = max_total;
	p->cb = cb;
	p->arg = arg;
	*out = p;
	return 0;
}

void hbatch_free(struct hbatch *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->data && i < p->nnames; i++)
		free(p->data[i]);
	free(p->data);
	free(p->recs);
	free(p);
}

size_t hbatch_delivered(const struct hbatch *p)
{
	return p->delivered;
}

size_t hbatch_dropped(const struct hbatch *p)
{
	return p->dropped;
}

/* "K IDX SIZE STAMP" (no newline) into R; STAMP is digits with at most
 * one '.', as stat prints times, or "x" (stat failed). */
static int parse_line(const char *s, size_t n, char kind, struct rec *r)
{
	const char *f[3];
	size_t fl[3], k = 0;

	if (n < 2 || s[0] != kind || s[1] != ' ')
		return -EPROTO;
	s += 2;
	n -= 2;
	while (k < 3) {
		const char *sp = memchr(s, ' ', n);
		size_t l = k < 2 ? (sp ? (size_t)(sp - s) : n) : n;

		if (k < 2 && !sp)
			return -EPROTO;
		f[k] = s;
		fl[k] = l;
		k++;
		if (k < 3) {
			s += l + 1;
			n -= l + 1;
		}
	}
	if (parse_u64(f[0], fl[0], UINT32_MAX, &r->idx))
		return -EPROTO;
	if (fl[2] == 0 || fl[2] > STAMP_MAX)
		return -EPROTO;
	bool dot = false;

	for (size_t i = 0; i < fl[2]; i++) {
		char c = f[2][i];

		if (c == '.' && !dot && i > 0)
			dot = true;
		else if (!(c >= '0' && c <= '9') && !(c == 'x' && fl[2] == 1) && !(c == '-' && i == 0))
			return -EPROTO;
	}
	memcpy(r->stamp, f[2], fl[2]);
	r->stamp[fl[2]] = '\0';
	if (fl[1] == 1 && f[1][0] == 'x') {
		r->size = UINT64_MAX; /* stat failed after the read: never equal */
		return kind == 'E' ? 0 : -EPROTO;
	}
	if (parse_u64(f[1], fl[1], UINT64_MAX - 1, &r->size))
		return -EPROTO;
	return 0;
}

static int on_header(struct hbatch *p)
{
	struct rec r;

	if (parse_line(p->line, p->linelen, 'F', &r) || !strcmp(r.stamp, "x"))
		return -EPROTO;
	if (r.idx == 0 || r.idx > p->nnames || r.idx <= p->last_f)
		return -EPROTO;
	if (r.size > p->max_each || r.size > p->max_total - p->total)
		return -EPROTO;
	p->last_f = r.idx;
	p->total += r.size;
	p->recs[r.idx - 1] = r;
	p->data[r.idx - 1] = malloc(r.size ? (size_t)r.size : 1);
	return p->data[r.idx - 1] ? 0 : -ENOMEM;
}

/* The next file after index FROM with data to fill (0: none). */
static uint64_t next_with_data(const struct hbatch *p, uint64_t from)
{
	for (uint64_t i = from + 1; i <= p->last_f; i++)
		if (p->recs[i - 1].size != UINT64_MAX && p->recs[i - 1].size > 0)
			return i;
	return 0;
}

static int on_trailer(struct hbatch *p)
{
	struct rec r;
	int rc = 0;

	if (parse_line(p->line, p->linelen, 'E', &r))
		return -EPROTO;
	if (r.idx == 0 || r.idx > p->nnames || r.idx <= p->last_e)
		return -EPROTO;
	p->last_e = r.idx;
	char *d = p->data[r.idx - 1];
	const struct rec *f = &p->recs[r.idx - 1];

	if (!d)
		return 0; /* no F line: nothing was read */
	if (!p->shifted && r.size == f->size && !strcmp(r.stamp, f->stamp) && strcmp(r.stamp, "x")) {
		rc = p->cb(p->arg, (size_t)(r.idx - 1), d, (size_t)f->size);
		p->delivered++;
	} else {
		/* changed while it was read: its data, and with a new size
		 * that of every later file, may be misplaced */
		p->shifted = true;
		p->dropped++;
	}
	free(d);
	p->data[r.idx - 1] = NULL;
	return rc;
}

static int on_line(struct hbatch *p)
{
	if (p->st == HEAD && p->linelen == 1 && p->line[0] == 'D') {
		p->cur = next_with_data(p, 0);
		p->have = 0;
		p->st = p->cur ? DATA : TAIL;
		return 0;
	}
	if (p->st == HEAD)
		return on_header(p);
	return on_trailer(p);
}

int hbatch_feed(struct hbatch *p, const void *data, size_t n)
{
	const char *s = data;
	int rc = 0;

	while (n && rc == 0) {
		switch (p->st) {
		case BROKEN:
			return -EPROTO;
		case DATA: {
			size_t want = (size_t)p->recs[p->cur - 1].size - p->have;
			size_t take = n < want ? n : want;

			memcpy(p->data[p->cur - 1] + p->have, s, take);
			p->have += take;
			s += take;
			n -= take;
			if (take == want) {
				p->cur = next_with_data(p, p->cur);
				p->have = 0;
				if (!p->cur)
					p->st = TAIL;
			}
			break;
		}
		case HEAD:
		case TAIL: {
			const char *nl = memchr(s, '\n', n);
			size_t take = nl ? (size_t)(nl - s) : n;

			if (p->linelen + take >= LINE_MAX_B) {
				rc = -EPROTO;
				break;
			}
			memcpy(p->line + p->linelen, s, take);
			p->linelen += take;
			s += take;
			n -= take;
			if (!nl)
				break;
			s++;
			n--;
			rc = on_line(p);
			p->linelen = 0;
			break;
		}
		}
	}
	if (rc)
		p->st = BROKEN;
	return rc;
}

int hbatch_finish(struct hbatch *p)
{
	if ((p->st != TAIL && !(p->st == HEAD && p->last_f == 0)) || p->linelen)
		return -EPROTO;
	/* read, but no E line: not known to be unchanged */
	for (size_t i = 0; i < p->nnames; i++)
		if (p->data[i]) {
			free(p->data[i]);
			p->data[i] = NULL;
			p->dropped++;
		}
	return 0;
}
