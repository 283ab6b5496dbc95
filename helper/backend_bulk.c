/* backend_bulk.c: sequential reads of big files from read-ahead streams.
 *
 * A reader that goes through a file in order (each read of PATH starting
 * where the previous one ended) for BULK_MIN_RUN bytes gets a stream: its
 * own shell session (outside the pool; see the spare session below) on which BULK_FILLERS
 * threads ask for the next segments of the file (pipelined: while the
 * reader takes one, the next is on its way) with the same dd request a
 * single read makes (`dd iflag=skip_bytes,count_bytes skip=POS count=N`,
 * N half the window), keeping up to a window of data ahead of the
 * furthest read. The window starts at
 * 1 MiB and doubles each time a reader has to wait, up to BULK_MAX_WINDOW;
 * all the segments a stream holds stay under BULK_BUF_CAP_ALONE while it
 * is the only stream, BULK_BUF_CAP while there are others (big segments:
 * fewer dd processes to start in the pod, ~7% faster), and at most
 * BULK_MAX_STREAMS streams exist.
 *
 * Why segments on a shell rather than one endless `dd` exec: the stream
 * then never has more output in flight than it asked for and always has
 * room for it, so its session is read at once. An endless dd would be
 * throttled by not reading it, which stalls the client's one WebSocket
 * service thread and with it every other session (client/exec.c).
 *
 * Exactness: a segment counts only when its dd exited 0 (session.c frames
 * each answer with its exit status); a short segment marks the end of the
 * stream's data, and a read is served only when every byte it asks for is
 * in the buffer. Anything else (end of file, a file that shrank, a failed
 * or slow stream, a read behind or far ahead of the stream) returns
 * -EAGAIN and the caller makes its ordinary dd request, so the stream
 * never decides a short read and never invents bytes.
 *
 * Life: the filler stops after BULK_IDLE_S seconds without a read, once
 * the reader asked for the end of the file, at a failure, at
 * be_bulk_forget of its path or at be_bulk_free; it frees its segments
 * and leaves its session, all requests answered, as the spare (closed
 * when dead or when a spare is there already). The struct is joined and
 * freed later by whoever sweeps (any be_bulk_read, be_bulk_free).
 *
 * The spare session: at most one, kept BULK_IDLE_S seconds by the keeper
 * thread for the next stream (big files read one after another cost one
 * exec, not one each), or opened ahead by it once a reader is
 * BULK_OPEN_AHEAD_RUN into a sequential run (the stream starting at
 * BULK_MIN_RUN then does not wait for an exec start: 20 ms to over 1 s
 * on a real cluster). A stream's first filler waits for a spare on its
 * way (at most 2 s) before it opens an exec of its own.
 *
 * Lock order: bk->lock, then b->lock (counters); never held across a
 * request, a session open or a join. Each stream's cond waits on bk->lock.
 */
#include "backend_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "quote.h"
#include "session.h"

#define BULK_MIN_RUN (4u << 20)	    /* sequential bytes before a stream pays off */
#define BULK_OPEN_AHEAD_RUN (1u << 20) /* ... before its session is opened ahead */
#define BULK_START_WINDOW (1u << 20)
#define BULK_MAX_WINDOW (32u << 20)
#define BULK_BUF_CAP (16u << 20)    /* per stream, segments held, with other streams live */
#define BULK_BUF_CAP_ALONE (48u << 20) /* ... when it is the only one */
#define BULK_KEEP_BEHIND (2u << 20) /* kept below the furthest read (readers out of order) */
#define BULK_MIN_SEG (256u << 10)
#define BULK_MAX_STREAMS 4
#define BULK_FILLERS 2		    /* segments in flight per stream (pipelined) */
#define BULK_RECS 16		    /* paths whose sequential run is tracked */
#define BULK_IDLE_S 3
#define BULK_WAIT_MS 30000	    /* a reader waits this long for a stalled stream */
#define BULK_FAIL_BACKOFF_S 30

struct seg {
	struct seg *next;
	uint64_t off;
	size_t len;
	char *data;
};

struct bstream {
	char *path;
	struct backend *b;
	struct hsess *sess; /* opened by filler 0, closed by the last to leave */
	pthread_t thread[BULK_FILLERS];
	int nthreads;	   /* started */
	int nexited;	   /* returned (joinable when == nthreads) */
	bool ready;	   /* the session is open: start/pos mean something */
	bool ended;	   /* no more data will come (failure, stop): readers go by request */
	bool stop;	   /* asked to stop (forget, free, eviction) */
	bool exited;	   /* every filler has returned */
	bool detached;	   /* out of the table: no new reader finds it */
	struct seg *head, *tail; /* contiguous, in file order */
	struct seg *pending;	  /* fetched ahead of a slower segment (unordered) */
	uint64_t start;	   /* offset of head's first byte */
	uint64_t pos;	   /* one past the last contiguous byte held */
	uint64_t req_pos;  /* one past the last byte asked of the pod */
	uint64_t eof_at;   /* where a short segment ended (UINT64_MAX: none yet) */
	uint64_t want_hi;  /* furthest byte a reader asked for */
	uint64_t next_off; /* where the reader's next read should start */
	size_t window;
	int refs;	   /* readers inside */
	time_t last_use;
	pthread_cond_t cond; /* data, space, stop */
};

struct seqrec {
	char *path;
	uint64_t next_off;
	uint64_t run;
	time_t last_use;
};

struct bulk {
	pthread_mutex_t lock;
	struct bstream *s[BULK_MAX_STREAMS];
	struct bstream *gone[BULK_MAX_STREAMS * 4]; /* detached, to be joined */
	size_t ngone;
	struct seqrec rec[BULK_RECS];
	time_t no_open_until;
	bool disabled;
	int fails; /* streams in a row that gave nothing */
	unsigned long opened, served, served_bytes;
	unsigned long sessions; /* execs opened for streams (ahead or not) */
	/* the spare session: one a finished stream left (recycled) or one
	 * opened ahead for a reader about to need a stream; the keeper
	 * thread opens it (want_open) and closes it after BULK_IDLE_S */
	struct hsess *spare;
	time_t spare_since;
	bool want_open, opening; /* the keeper is to open one / is opening it */
	bool keeper_running, keeper_joinable, closing;
	pthread_t keeper;
	pthread_cond_t cond; /* the spare came (or will not) */
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void seg_list_free(struct seg *g)
{
	while (g) {
		struct seg *n = g->next;

		free(g->data);
		free(g);
		g = n;
	}
}

static void segs_free(struct bstream *s)
{
	seg_list_free(s->head);
	seg_list_free(s->pending);
	s->head = s->tail = s->pending = NULL;
	s->start = s->pos;
}

/* Drop segments wholly below what readers may still ask for. Lock held. */
static void drop_old(struct bstream *s)
{
	uint64_t low = s->want_hi > BULK_KEEP_BEHIND ? s->want_hi - BULK_KEEP_BEHIND : 0;

	while (s->head && s->head != s->tail && s->head->off + s->head->len <= low) {
		struct seg *g = s->head;

		s->head = g->next;
		s->start = s->head->off;
		free(g->data);
		free(g);
	}
}

/* Copy [OFF, OFF+LEN) out of the segments; all of it is there. */
static void copy_out(const struct bstream *s, uint64_t off, char *dst, size_t len)
{
	for (const struct seg *g = s->head; g && len; g = g->next) {
		uint64_t end = g->off + g->len;

		if (end <= off)
			continue;
		size_t from = (size_t)(off - g->off);
		size_t n = g->len - from < len ? g->len - from : len;

		memcpy(dst, g->data + from, n);
		dst += n;
		off += n;
		len -= n;
	}
}

/* Stop S and take it out of the table (its memory goes when the filler
 * returns and a sweep joins it). Lock held. */
static void detach(struct bulk *bk, int i)
{
	struct bstream *s = bk->s[i];

	log_debug("bulk: stream for %s detached (ended %d stop %d ready %d pos %llu)", s->path, s->ended, s->stop,
		  s->ready, (unsigned long long)s->pos);

	bk->s[i] = NULL;
	s->stop = true;
	s->detached = true;
	pthread_cond_broadcast(&s->cond);
	if (bk->ngone < sizeof(bk->gone) / sizeof(bk->gone[0])) {
		bk->gone[bk->ngone++] = s;
		return;
	}
	/* More than that many exiting at once cannot happen (each sweep
	 * empties the list); keep it findable rather than leak it. */
	log_err("bulk: too many streams waiting to be joined");
	bk->s[i] = s;
}

static void stream_free(struct bstream *s)
{
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->thread[i], NULL);
	segs_free(s);
	pthread_cond_destroy(&s->cond);
	free(s->path);
	free(s);
}

/* Idle streams go; exited ones are collected for joining. Lock held;
 * returns how many were put into OUT (join them unlocked). */
static size_t sweep(struct bulk *bk, struct bstream **out, size_t max)
{
	time_t now = now_s();
	size_t n = 0;

	for (int i = 0; i < BULK_MAX_STREAMS; i++) {
		struct bstream *s = bk->s[i];

		if (s && s->refs == 0 && (s->exited || now - s->last_use > BULK_IDLE_S))
			detach(bk, i);
	}
	for (size_t i = 0; i < bk->ngone;) {
		struct bstream *s = bk->gone[i];

		if (s->exited && s->refs == 0 && n < max) {
			out[n++] = s;
			bk->gone[i] = bk->gone[--bk->ngone];
		} else {
			i++;
		}
	}
	return n;
}

/* ---- the spare session ---- */

static void *keeper_main(void *arg)
{
	struct backend *b = arg;
	struct bulk *bk = b->bulk;
	struct hsess *drop = NULL;

	pthread_mutex_lock(&bk->lock);
	for (;;) {
		if (bk->want_open && !bk->spare && !bk->closing) {
			struct hsess_target t = { .ns = b->ns, .pod = b->pod, .container = b->container };
			struct hsess *sess = NULL;
			char err[512] = "";
			int rc;

			bk->want_open = false;
			bk->opening = true;
			pthread_mutex_unlock(&bk->lock);
			rc = hsess_open(&sess, b->kc, &t, err, sizeof(err));
			pthread_mutex_lock(&bk->lock);
			bk->opening = false;
			bk->sessions += rc == 0;
			if (rc) {
				log_debug("bulk: no session opened ahead: %s", err[0] ? err : strerror(-rc));
				bk->no_open_until = now_s() + BULK_FAIL_BACKOFF_S;
			} else if (!bk->spare && !bk->closing) {
				bk->spare = sess;
				bk->spare_since = now_s();
				sess = NULL;
			}
			pthread_cond_broadcast(&bk->cond);
			if (sess) {
				pthread_mutex_unlock(&bk->lock);
				hsess_close(sess);
				pthread_mutex_lock(&bk->lock);
			}
			continue;
		}
		/* keep the spare for the next stream a while, then close it */
		if (bk->spare && !bk->closing && now_s() - bk->spare_since <= BULK_IDLE_S) {
			struct timespec ts;

			deadline_in(&ts, 500);
			pthread_cond_timedwait(&bk->cond, &bk->lock, &ts);
			continue;
		}
		if (!bk->spare && bk->want_open && !bk->closing)
			continue;
		break;
	}
	bk->want_open = false;
	drop = bk->spare;
	bk->spare = NULL;
	bk->keeper_running = false;
	pthread_cond_broadcast(&bk->cond);
	pthread_mutex_unlock(&bk->lock);
	hsess_close(drop);
	return NULL;
}

/* Is a session on its way to the spare slot: being opened ahead, or
 * held by a stream that is done (the reader asked for its end) or ended,
 * whose last filler parks it as it leaves? Lock held. */
static bool session_coming(const struct bulk *bk)
{
	if (bk->opening || bk->want_open)
		return bk->keeper_running;
	for (int i = 0; i < BULK_MAX_STREAMS; i++) {
		const struct bstream *s = bk->s[i];

		if (s && s->sess && (s->ended || (s->req_pos >= s->eof_at && s->want_hi >= s->eof_at)))
			return true;
	}
	return false;
}

/* Make sure the keeper runs (to open a spare when OPEN, to close the
 * spare in time). Lock held. */
static void keeper_kick(struct backend *b, bool open)
{
	struct bulk *bk = b->bulk;

	if (bk->closing)
		return;
	if (open) {
		if (bk->spare || session_coming(bk) || bk->disabled || now_s() < bk->no_open_until)
			return;
		bk->want_open = true;
		pthread_cond_broadcast(&bk->cond); /* a keeper keeping nothing now sees it */
	}
	if (bk->keeper_running)
		return;
	if (bk->keeper_joinable) {
		/* it is past its last use of the lock, closing at most one
		 * session: joined here (by one caller), so there is never more
		 * than one */
		pthread_t t = bk->keeper;

		bk->keeper_joinable = false;
		pthread_mutex_unlock(&bk->lock);
		pthread_join(t, NULL);
		pthread_mutex_lock(&bk->lock);
		if (bk->keeper_running || bk->closing) {
			if (bk->closing)
				bk->want_open = false;
			return; /* another caller started one meanwhile */
		}
	}
	if (pthread_create(&bk->keeper, NULL, keeper_main, b) == 0) {
		bk->keeper_running = true;
		bk->keeper_joinable = true;
	} else {
		bk->want_open = false;
	}
}

/* What one stream may hold now. Lock held. */
static uint64_t buf_cap(const struct bulk *bk)
{
	int live = 0;

	for (int i = 0; i < BULK_MAX_STREAMS; i++)
		live += bk->s[i] != NULL;
	return live <= 1 ? BULK_BUF_CAP_ALONE : BULK_BUF_CAP;
}

/* ---- the filler ---- */

/* One segment: SEGLEN bytes at FROM. Returns 0 with the bytes in OUT, or
 * -errno (the request failed or dd did not exit 0). */
static int fetch_seg(struct backend *b, struct hsess *sess, const char *full, uint64_t from, size_t seglen,
		     struct buf *out)
{
	struct buf cmd;
	int rc, st;

	buf_init(&cmd, 16384);
	rc = hq_cmd(&cmd, "dd if=%q bs=131072 iflag=skip_bytes,count_bytes skip=%llu count=%llu 2>/dev/null", full,
		    (unsigned long long)from, (unsigned long long)seglen);
	if (!rc)
		rc = hsess_run(sess, cmd.data, out, &st, b->timeout_ms);
	if (!rc && st != 0)
		rc = -EIO;
	if (!rc && out->len > seglen)
		rc = -EIO; /* more than asked: never trust it */
	buf_cleanup(&cmd);
	return rc;
}

/* Put fetched segment G in place: appended when it continues the held
 * data (and with it any pending segment it joins up with), else kept
 * pending. Lock held. */
static void place(struct bstream *s, struct seg *g)
{
	g->next = s->pending;
	s->pending = g;
	for (bool moved = true; moved;) {
		moved = false;
		for (struct seg **pp = &s->pending; *pp; pp = &(*pp)->next) {
			struct seg *x = *pp;

			if (x->off != s->pos)
				continue;
			*pp = x->next;
			x->next = NULL;
			if (x->len == 0) {
				free(x->data);
				free(x);
			} else {
				if (s->tail)
					s->tail->next = x;
				else
					s->head = x;
				s->tail = x;
				s->pos += x->len;
			}
			moved = true;
			break;
		}
	}
}

/* The first filler opens the session; the other waits for it. Lock held
 * on return; false when there is no session. */
static bool filler_start(struct bstream *s, bool opener)
{
	struct backend *b = s->b;
	struct bulk *bk = b->bulk;

	if (!opener) {
		pthread_mutex_lock(&bk->lock);
		while (!s->ready && !s->ended && !s->stop)
			pthread_cond_wait(&s->cond, &bk->lock);
		return s->ready && !s->ended && !s->stop;
	}
	struct hsess_target t = { .ns = b->ns, .pod = b->pod, .container = b->container };
	struct hsess *sess = NULL;
	char err[512] = "";
	bool took_spare = false;
	int rc = 0;

	/* the spare first: one opened ahead is worth waiting for (it has a
	 * head start on an exec of our own) */
	pthread_mutex_lock(&bk->lock);
	for (int waited = 0; !bk->spare && session_coming(bk) && !s->stop && !bk->closing && waited < 40; waited++) {
		struct timespec ts;

		deadline_in(&ts, 50);
		pthread_cond_timedwait(&bk->cond, &bk->lock, &ts);
	}
	if (bk->spare && hsess_alive(bk->spare)) {
		took_spare = true;
		sess = bk->spare;
		bk->spare = NULL;
		pthread_cond_broadcast(&bk->cond); /* the keeper has nothing to keep */
	}
	pthread_mutex_unlock(&bk->lock);
	if (!sess)
		rc = hsess_open(&sess, b->kc, &t, err, sizeof(err));

	pthread_mutex_lock(&bk->lock);
	bk->sessions += !rc && !took_spare;
	if (rc) {
		log_debug("bulk: no stream for %s: %s", s->path, err[0] ? err : strerror(-rc));
		bk->no_open_until = now_s() + BULK_FAIL_BACKOFF_S;
		pthread_mutex_lock(&b->lock);
		if (b->no_open_until < now_s() + 10)
			b->no_open_until = now_s() + 10; /* the cluster refuses execs: sessions too */
		pthread_mutex_unlock(&b->lock);
		s->ended = true;
		pthread_cond_broadcast(&s->cond);
		return false;
	}
	bk->opened++;
	s->sess = sess;
	/* start where the reader is now (reads went by request meanwhile) */
	s->ready = true;
	s->start = s->pos = s->req_pos = s->want_hi = s->next_off;
	pthread_cond_broadcast(&s->cond);
	return true;
}

struct filler_arg {
	struct bstream *s;
	bool opener;
};

static void *filler_main(void *arg)
{
	struct filler_arg *fa = arg;
	struct bstream *s = fa->s;
	struct backend *b = s->b;
	struct bulk *bk = b->bulk;
	bool opener = fa->opener, got_any = false, failed = false;
	struct buf full;
	int rc;

	free(fa);
	rc = be_full_path(b, s->path, &full);
	if (rc) {
		pthread_mutex_lock(&bk->lock);
		s->ended = true;
		pthread_cond_broadcast(&s->cond);
		goto out;
	}
	if (!filler_start(s, opener))
		goto out;
	while (!s->stop && !s->ended) {
		drop_old(s);
		uint64_t ahead = s->req_pos > s->want_hi ? s->req_pos - s->want_hi : 0;
		uint64_t held = s->req_pos - s->start;
		size_t seglen = s->window / BULK_FILLERS;
		uint64_t cap = buf_cap(bk);

		/* the reader asked for the end of the file: done (the session
		 * goes to the next stream now, not after BULK_IDLE_S) */
		if (s->eof_at != UINT64_MAX && s->req_pos >= s->eof_at && s->want_hi >= s->eof_at && s->refs == 0)
			break;

		if (held + seglen > cap)
			seglen = held < cap ? (size_t)(cap - held) : 0;
		if (s->req_pos >= s->eof_at || ahead >= s->window || seglen < BULK_MIN_SEG) {
			struct timespec ts;

			if (s->refs == 0 && now_s() - s->last_use > BULK_IDLE_S)
				break;
			deadline_in(&ts, 500);
			pthread_cond_timedwait(&s->cond, &bk->lock, &ts);
			continue;
		}
		uint64_t from = s->req_pos;
		struct buf out;

		s->req_pos += seglen;
		pthread_mutex_unlock(&bk->lock);
		buf_init(&out, seglen);
		rc = buf_reserve(&out, seglen); /* one allocation, no regrowth */
		if (!rc)
			rc = fetch_seg(b, s->sess, full.data, from, seglen, &out);
		pthread_mutex_lock(&bk->lock);
		if (rc || s->stop) {
			if (rc) {
				failed = true;
				log_debug("bulk: segment at %llu of %s: %s", (unsigned long long)from, s->path,
					  strerror(-rc));
			}
			buf_cleanup(&out);
			break;
		}
		size_t n = out.len;
		struct seg *g = malloc(sizeof(*g));
		char *data = n ? buf_take(&out) : NULL;

		buf_cleanup(&out);
		if (!g || (n && !data)) {
			free(g);
			free(data);
			break;
		}
		g->next = NULL;
		g->off = from;
		g->len = n;
		g->data = data;
		got_any |= n > 0;
		/* short: the end of file as of now; reads past it go by request */
		if (n < seglen && from + n < s->eof_at)
			s->eof_at = from + n;
		if (n == 0 && from >= s->eof_at) {
			/* asked past the end before it was known: nothing there,
			 * as expected (the stream goes on serving what it holds) */
			free(g->data);
			free(g);
			continue;
		}
		if (from > s->eof_at || (from + n > s->eof_at)) {
			/* bytes beyond an end another segment saw: the file changed */
			free(g->data);
			free(g);
			break;
		}
		place(s, g);
		pthread_cond_broadcast(&s->cond);
	}
	if (failed && !got_any && ++bk->fails >= 3 && !bk->disabled) {
		bk->disabled = true;
		log_info("bulk: read streams give no data in this container; reading by request only");
	} else if (got_any) {
		bk->fails = 0;
	}
	/* the other filler stops too: nothing is served from here any more */
	s->ended = true;
	pthread_cond_broadcast(&s->cond);
out:
	buf_cleanup(&full);
	if (++s->nexited == s->nthreads) {
		struct hsess *sess = s->sess;

		segs_free(s);
		s->sess = NULL;
		/* every request of it is answered: the next stream may use it */
		if (sess && hsess_alive(sess) && !bk->spare && !bk->closing) {
			bk->spare = sess;
			bk->spare_since = now_s();
			sess = NULL;
			pthread_cond_broadcast(&bk->cond);
			keeper_kick(b, false);
		}
		pthread_mutex_unlock(&bk->lock);
		hsess_close(sess);
		pthread_mutex_lock(&bk->lock);
		s->exited = true;
	}
	pthread_mutex_unlock(&bk->lock);
	return NULL;
}

/* ---- readers ---- */

static int find_stream(struct bulk *bk, const char *path)
{
	for (int i = 0; i < BULK_MAX_STREAMS; i++)
		if (bk->s[i] && !strcmp(bk->s[i]->path, path))
			return i;
	return -1;
}

/* The sequential-run record of PATH (a new one replaces the oldest).
 * NULL when out of memory. Lock held. */
static struct seqrec *rec_of(struct bulk *bk, const char *path)
{
	struct seqrec *old = &bk->rec[0];

	for (int i = 0; i < BULK_RECS; i++) {
		if (bk->rec[i].path && !strcmp(bk->rec[i].path, path))
			return &bk->rec[i];
		if (!bk->rec[i].path || (old->path && bk->rec[i].last_use < old->last_use))
			old = &bk->rec[i];
	}
	char *p = strdup(path);

	if (!p)
		return NULL;
	free(old->path);
	memset(old, 0, sizeof(*old));
	old->path = p;
	old->next_off = UINT64_MAX;
	return old;
}

/* Start a stream for PATH whose reader continues at NEXT_OFF. Lock held;
 * the session is opened by the filler thread, not here. */
static void start_stream(struct backend *b, const char *path, uint64_t next_off)
{
	struct bulk *bk = b->bulk;
	int slot = -1;

	for (int i = 0; i < BULK_MAX_STREAMS && slot < 0; i++)
		if (!bk->s[i])
			slot = i;
	if (slot < 0) {
		/* the least recently used stream nobody is reading from */
		for (int i = 0; i < BULK_MAX_STREAMS; i++)
			if (bk->s[i]->refs == 0 && (slot < 0 || bk->s[i]->last_use < bk->s[slot]->last_use))
				slot = i;
		if (slot < 0 || bk->ngone >= sizeof(bk->gone) / sizeof(bk->gone[0]))
			return;
		detach(bk, slot);
	}
	struct bstream *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s || !(s->path = strdup(path))) {
		free(s);
		return;
	}
	log_debug("bulk: stream for %s from %llu", path, (unsigned long long)next_off);
	s->b = b;
	s->next_off = next_off;
	s->window = BULK_START_WINDOW;
	s->last_use = now_s();
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->eof_at = UINT64_MAX;
	/* the fillers take bk->lock, held here: they start once we return */
	for (int i = 0; i < BULK_FILLERS; i++) {
		struct filler_arg *fa = malloc(sizeof(*fa));

		if (fa) {
			fa->s = s;
			fa->opener = i == 0;
		}
		if (!fa || pthread_create(&s->thread[i], NULL, filler_main, fa)) {
			free(fa);
			if (i == 0) {
				pthread_cond_destroy(&s->cond);
				free(s->path);
				free(s);
				return;
			}
			break;
		}
		s->nthreads++;
	}
	bk->s[slot] = s;
}

/* Serve [OFF, OFF+LEN) from S, waiting for the filler when it is on its
 * way. Lock held (released while waiting). -EAGAIN: not from here. */
static ssize_t serve(struct bulk *bk, struct bstream *s, uint64_t off, char *dst, size_t len)
{
	uint64_t end = off + len;
	struct timespec ts;
	uint64_t seen = s->pos;

	if (off < s->start || off > s->pos + s->window)
		return -EAGAIN;
	s->refs++;
	if (end > s->want_hi)
		s->want_hi = end;
	if (end > s->pos) {
		if (s->window < BULK_MAX_WINDOW)
			s->window *= 2; /* the reader had to wait: read further ahead */
		pthread_cond_broadcast(&s->cond);
	}
	deadline_in(&ts, BULK_WAIT_MS);
	while (end > s->pos && s->pos < s->eof_at && !s->ended && !s->stop) {
		if (pthread_cond_timedwait(&s->cond, &bk->lock, &ts) == ETIMEDOUT) {
			if (s->pos == seen) {
				log_warn("bulk: no data for %d s from the read stream of %s: reading by request",
					 BULK_WAIT_MS / 1000, s->path);
				s->stop = true;
				pthread_cond_broadcast(&s->cond);
				break;
			}
			seen = s->pos;
			deadline_in(&ts, BULK_WAIT_MS);
		}
	}
	s->refs--;
	s->last_use = now_s();
	if (s->refs == 0 && s->req_pos >= s->eof_at && s->want_hi >= s->eof_at)
		pthread_cond_broadcast(&s->cond); /* the end was asked for: the fillers go */
	/* dropped meanwhile (another reader went further), or not there */
	if (s->stop || end > s->pos || off < s->start || !s->head)
		return -EAGAIN;
	copy_out(s, off, dst, len);
	drop_old(s);
	pthread_cond_broadcast(&s->cond); /* room for the filler */
	bk->served++;
	bk->served_bytes += len;
	return (ssize_t)len;
}

/* A read of PATH's stream in slot I. Lock held (released while
 * waiting). */
static ssize_t read_from(struct bulk *bk, int i, uint64_t off, void *dst, size_t len)
{
	struct bstream *s = bk->s[i];
	ssize_t rc = -EAGAIN;

	s->last_use = now_s();
	if (s->ended && s->refs == 0) {
		detach(bk, i); /* failed or idle: a new run may start one */
	} else if (!s->ready) {
		/* the session is being opened: follow the reader */
		if (off + len > s->next_off)
			s->next_off = off + len;
	} else {
		rc = serve(bk, s, off, dst, len);
		/* serve may have waited: is S still in slot I? */
		if (rc == -EAGAIN && bk->s[i] == s && !s->stop && s->refs == 0 &&
		    (off + buf_cap(bk) < s->start || off > s->pos + buf_cap(bk)))
			detach(bk, i); /* a different reader now: random reads */
	}
	return rc;
}

ssize_t be_bulk_serve(struct backend *b, const char *path, uint64_t off, void *dst, size_t len)
{
	struct bulk *bk = b->bulk;
	ssize_t rc = -EAGAIN;
	int i;

	if (!bk || len == 0 || off > UINT64_MAX - len)
		return -EAGAIN;
	pthread_mutex_lock(&bk->lock);
	i = find_stream(bk, path);
	if (i >= 0)
		rc = read_from(bk, i, off, dst, len);
	pthread_mutex_unlock(&bk->lock);
	return rc;
}

ssize_t be_bulk_read(struct backend *b, const char *path, uint64_t off, void *dst, size_t len)
{
	struct bulk *bk = b->bulk;
	struct bstream *done[BULK_MAX_STREAMS * 4];
	ssize_t rc = -EAGAIN;
	size_t ndone;
	int i;

	if (!bk || len == 0 || off > UINT64_MAX - len)
		return -EAGAIN;
	pthread_mutex_lock(&bk->lock);
	ndone = sweep(bk, done, sizeof(done) / sizeof(done[0]));
	i = find_stream(bk, path);
	if (i >= 0) {
		rc = read_from(bk, i, off, dst, len);
	} else {
		struct seqrec *r = rec_of(bk, path);

		if (r) {
			r->run = off == r->next_off ? r->run + len : len;
			r->next_off = off + len;
			r->last_use = now_s();
			if (r->run >= BULK_MIN_RUN && !bk->disabled && now_s() >= bk->no_open_until) {
				r->run = 0;
				start_stream(b, path, off + len);
			} else if (r->run >= BULK_OPEN_AHEAD_RUN) {
				keeper_kick(b, true); /* a stream is likely: its session now */
			}
		}
	}
	pthread_mutex_unlock(&bk->lock);
	for (size_t k = 0; k < ndone; k++)
		stream_free(done[k]);
	return rc;
}

void be_bulk_forget(struct backend *b, const char *path)
{
	struct bulk *bk = b->bulk;
	int i;

	if (!bk)
		return;
	size_t pl = strlen(path);

	/* PATH and everything below it (a renamed or removed directory) */
#define UNDER(p) (!strncmp((p), path, pl) && ((p)[pl] == '\0' || (p)[pl] == '/' || !strcmp(path, "/")))
	pthread_mutex_lock(&bk->lock);
	for (i = 0; i < BULK_MAX_STREAMS; i++)
		if (bk->s[i] && UNDER(bk->s[i]->path))
			detach(bk, i);
	for (int k = 0; k < BULK_RECS; k++)
		if (bk->rec[k].path && UNDER(bk->rec[k].path)) {
			free(bk->rec[k].path);
			memset(&bk->rec[k], 0, sizeof(bk->rec[k]));
		}
#undef UNDER
	pthread_mutex_unlock(&bk->lock);
}

void be_bulk_stats(struct backend *b, unsigned long *opened, unsigned long *sessions, unsigned long *served,
		   unsigned long *served_bytes, int *live)
{
	struct bulk *bk = b->bulk;

	*opened = *sessions = *served = *served_bytes = 0;
	*live = 0;
	if (!bk)
		return;
	pthread_mutex_lock(&bk->lock);
	*opened = bk->opened;
	*sessions = bk->sessions;
	*served = bk->served;
	*served_bytes = bk->served_bytes;
	for (int i = 0; i < BULK_MAX_STREAMS; i++)
		if (bk->s[i] && bk->s[i]->ready && !bk->s[i]->ended)
			(*live)++;
	pthread_mutex_unlock(&bk->lock);
}

int be_bulk_new(struct backend *b)
{
	struct bulk *bk = calloc(1, sizeof(*bk));

	if (!bk)
		return -ENOMEM;
	pthread_condattr_t ca;

	pthread_mutex_init(&bk->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bk->cond, &ca);
	pthread_condattr_destroy(&ca);
	b->bulk = bk;
	return 0;
}

void be_bulk_free(struct backend *b)
{
	struct bulk *bk = b->bulk;
	struct bstream *all[BULK_MAX_STREAMS * 5];
	size_t n = 0;

	if (!bk)
		return;
	pthread_mutex_lock(&bk->lock);
	for (int i = 0; i < BULK_MAX_STREAMS; i++)
		if (bk->s[i]) {
			bk->s[i]->stop = true;
			bk->s[i]->detached = true;
			pthread_cond_broadcast(&bk->s[i]->cond);
			all[n++] = bk->s[i];
			bk->s[i] = NULL;
		}
	for (size_t i = 0; i < bk->ngone; i++)
		all[n++] = bk->gone[i];
	bk->ngone = 0;
	bk->closing = true; /* no spare kept from now on */
	pthread_cond_broadcast(&bk->cond);
	pthread_mutex_unlock(&bk->lock);
	/* no reader is left (the remote is being destroyed): join and free */
	for (size_t i = 0; i < n; i++)
		stream_free(all[i]);
	if (bk->keeper_joinable)
		pthread_join(bk->keeper, NULL); /* it closes the spare */
	hsess_close(bk->spare); /* left by a stream after the keeper's end */
	pthread_cond_destroy(&bk->cond);
	for (int k = 0; k < BULK_RECS; k++)
		free(bk->rec[k].path);
	pthread_mutex_destroy(&bk->lock);
	free(bk);
	b->bulk = NULL;
}
