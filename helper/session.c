/* session.c: pipelined requests on a long-lived sh (see session.h).
 *
 * Wire format, per request N (one write, so requests never interleave):
 *
 *     ( eval 'CMD' ) </dev/null 2>&1; printf '\n%s %u %d\n' NONCE N $?
 *
 * The reader appends stdout bytes to the oldest pending request and looks
 * for "\n" NONCE " "; the line after it gives the id (checked against the
 * request's) and the status. Bytes past a request's ceiling are dropped,
 * but the last marker-length bytes are kept so the trailer is still
 * found. The nonce is 128 random bits, unknown to anything in the pod but
 * the shell itself.
 */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "kclient.h"
#include "log.h"
#include "quote.h"
#include "strparse.h"

#define NONCE_HEX 32
#define MARK_LEN (1 + NONCE_HEX + 1) /* "\n" NONCE " " */
#define LINE_MAX_TRAILER 64
#define SCAN_CHUNK 65536

struct req {
	struct req *next;
	unsigned id;
	struct buf *out;
	size_t base;	   /* out->len when the request started */
	bool overflow;	   /* output went past out's ceiling */
	bool done;
	int rc;
	int status;
	pthread_cond_t cond;
};

struct hsess {
	struct kclient *kc;
	struct kexec *x;
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t lock;
	pthread_mutex_t write_lock; /* keeps each request's text in one piece */
	struct req *head, *tail;    /* pending, in order */
	unsigned next_id;
	unsigned long nreq;
	bool dead;
	int dead_rc;
	char mark[MARK_LEN + 1];
	/* reader state */
	char win[MARK_LEN];	       /* held-back bytes that may start a marker */
	size_t winlen;
	char scan[MARK_LEN + SCAN_CHUNK]; /* win + the next chunk, searched at once */
	struct buf trailer;	       /* the id/status line after a marker */
	bool in_trailer;
	char shell_err[512];
};

static void fail_all(struct hsess *s, int rc)
{
	pthread_mutex_lock(&s->lock);
	if (!s->dead) {
		s->dead = true;
		s->dead_rc = rc;
	}
	for (struct req *r = s->head; r; r = r->next) {
		r->done = true;
		r->rc = rc;
		pthread_cond_signal(&r->cond);
	}
	s->head = s->tail = NULL;
	pthread_mutex_unlock(&s->lock);
}

/* Finish the head request with the trailer line "ID STATUS". Lock held. */
static int complete_head(struct hsess *s, const char *line, size_t len)
{
	struct req *r = s->head;
	const char *sp = memchr(line, ' ', len);
	uint64_t id;
	int64_t st;

	if (!r || !sp || parse_u64(line, (size_t)(sp - line), UINT32_MAX, &id) ||
	    parse_i64(sp + 1, len - (size_t)(sp + 1 - line), 0, 255, &st) || id != r->id)
		return -EPROTO;
	r->status = (int)st;
	r->rc = r->overflow ? -E2BIG : 0;
	r->done = true;
	s->head = r->next;
	if (!s->head)
		s->tail = NULL;
	pthread_cond_signal(&r->cond);
	return 0;
}

/* Give request R output bytes (dropped past the ceiling). */
static void emit(struct req *r, const char *p, size_t n)
{
	if (!n || r->overflow)
		return;
	if (buf_append(r->out, p, n))
		r->overflow = true;
}

/* Feed stdout bytes. Lock held. Returns 0 or -EPROTO (out of step).
 *
 * The last MARK_LEN-1 bytes of a request's output are held back in
 * s->win until it is known they do not start the trailer; everything
 * before is the request's output. */
static int feed(struct hsess *s, const char *p, size_t n)
{
	while (n) {
		struct req *r = s->head;

		if (s->in_trailer) {
			const char *nl = memchr(p, '\n', n);
			size_t take = nl ? (size_t)(nl - p) : n;

			if (s->trailer.len + take > LINE_MAX_TRAILER)
				return -EPROTO;
			buf_append(&s->trailer, p, take);
			p += take;
			n -= take;
			if (!nl)
				return 0;
			p++;
			n--;
			s->in_trailer = false;
			if (complete_head(s, s->trailer.data, s->trailer.len))
				return -EPROTO;
			buf_reset(&s->trailer);
			continue;
		}
		if (!r)
			return -EPROTO; /* output nobody asked for */
		if (n >= 2 * MARK_LEN) {
			/* a marker starting in the held-back bytes lies within
			 * them and the first MARK_LEN - 1 new ones */
			if (s->winlen) {
				size_t len = s->winlen + MARK_LEN - 1;
				char *m;

				memcpy(s->scan, s->win, s->winlen);
				memcpy(s->scan + s->winlen, p, MARK_LEN - 1);
				m = memmem(s->scan, len, s->mark, MARK_LEN);
				if (m) {
					size_t k = (size_t)(m - s->scan);
					size_t used = k + MARK_LEN - s->winlen;

					emit(r, s->scan, k);
					s->winlen = 0;
					s->in_trailer = true;
					p += used;
					n -= used;
					continue;
				}
				emit(r, s->win, s->winlen);
				s->winlen = 0;
			}
			/* then the new bytes where they are: no copy */
			char *m = memmem(p, n, s->mark, MARK_LEN);

			if (m) {
				size_t k = (size_t)(m - p);

				emit(r, p, k);
				s->in_trailer = true;
				p += k + MARK_LEN;
				n -= k + MARK_LEN;
				continue;
			}
			emit(r, p, n - (MARK_LEN - 1));
			memcpy(s->win, p + n - (MARK_LEN - 1), MARK_LEN - 1);
			s->winlen = MARK_LEN - 1;
			return 0;
		}
		size_t take = n < SCAN_CHUNK ? n : SCAN_CHUNK;
		size_t len = s->winlen + take;
		char *m;

		memcpy(s->scan, s->win, s->winlen);
		memcpy(s->scan + s->winlen, p, take);
		m = memmem(s->scan, len, s->mark, MARK_LEN);
		if (m) {
			size_t k = (size_t)(m - s->scan);
			size_t used = k + MARK_LEN - s->winlen; /* bytes of P consumed */

			emit(r, s->scan, k);
			s->winlen = 0;
			s->in_trailer = true;
			p += used;
			n -= used;
			continue;
		}
		size_t keep = len < MARK_LEN - 1 ? len : MARK_LEN - 1;

		emit(r, s->scan, len - keep);
		memcpy(s->win, s->scan + len - keep, keep);
		s->winlen = keep;
		p += take;
		n -= take;
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct hsess *s = arg;
	char buf[65536];
	int rc = -ECONNRESET;

	for (;;) {
		enum kexec_chan ch;
		ssize_t n = kexec_read(s->x, &ch, buf, sizeof(buf), -1);

		if (n <= 0)
			break;
		if (ch == KEXEC_STDERR) {
			/* The shell's own complaints (requests send theirs to stdout). */
			log_warn("shell in the pod says: %.*s", (int)(n > 400 ? 400 : n), buf);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		/* a session already given up (a failed write, a timeout) drains
		 * what was on its way: nobody waits for it, nothing is out of step */
		int frc = s->dead ? 0 : feed(s, buf, (size_t)n);

		pthread_mutex_unlock(&s->lock);
		if (frc) {
			log_err("the shell session's output is out of step (%s): closing it", strerror(-frc));
			rc = -EPROTO;
			kexec_cancel(s->x);
			break;
		}
	}
	struct kexec_result res;

	kexec_wait(s->x, &res, 5000);
	fail_all(s, rc);
	return NULL;
}

int hsess_open(struct hsess **out, struct kclient *kc, const struct hsess_target *t, char *err, size_t errlen)
{
	struct hsess *s = calloc(1, sizeof(*s));
	char *argv[] = { (char *)(t->shell ? t->shell : "sh"), NULL };
	struct kexec_opts o = { .ns = t->ns, .pod = t->pod, .container = t->container, .argv = argv,
				.in = true, .out = true, .err = true };
	unsigned char rnd[NONCE_HEX / 2];
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->kc = kc;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	buf_init(&s->trailer, LINE_MAX_TRAILER + 1);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = -EIO;
		goto fail;
	}
	s->mark[0] = '\n';
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(s->mark + 1 + 2 * i, 3, "%02x", rnd[i]);
	s->mark[MARK_LEN - 1] = ' ';
	s->mark[MARK_LEN] = '\0';
	rc = kexec_start(kc, &o, &s->x);
	if (rc) {
		snprintf(err, errlen, "cannot start a shell in %s/%s: %s", t->ns, t->pod, strerror(-rc));
		goto fail;
	}
	if (pthread_create(&s->reader, NULL, reader_main, s)) {
		rc = -EAGAIN;
		goto fail;
	}
	s->reader_started = true;
	/* The first request proves the shell runs (and reports why not). */
	struct buf b;
	int st;

	buf_init(&b, 4096);
	rc = hsess_run(s, "echo podfs-ready", &b, &st, 60000);
	if (rc == 0 && (st != 0 || strcmp(b.data ? b.data : "", "podfs-ready\n"))) {
		snprintf(err, errlen, "the shell in %s/%s did not answer as expected", t->ns, t->pod);
		rc = -EPROTO;
	} else if (rc) {
		struct kexec_result res;

		kexec_wait(s->x, &res, 5000);
		snprintf(err, errlen, "cannot start a shell (%s) in %s/%s: %s", argv[0], t->ns, t->pod,
			 res.message[0] ? res.message : strerror(-rc));
		if (res.rc)
			rc = res.rc;
	}
	buf_cleanup(&b);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	hsess_close(s);
	return rc;
}

int hsess_run(struct hsess *s, const char *cmd, struct buf *out, int *status, int timeout_ms)
{
	struct req r = { 0 };
	struct buf text;
	struct timespec ts;
	int rc = 0;

	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r.cond, &ca);
	pthread_condattr_destroy(&ca);
	r.out = out;
	r.base = out->len;
	buf_init(&text, 4 * strlen(cmd) + 256); /* quoting a ' costs 4 bytes */
	*status = -1;

	pthread_mutex_lock(&s->write_lock);
	pthread_mutex_lock(&s->lock);
	if (s->dead) {
		rc = s->dead_rc == -ECONNRESET || s->dead_rc == -EPROTO ? -ENOTCONN : s->dead_rc;
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(&s->write_lock);
		goto out;
	}
	r.id = ++s->next_id;
	s->nreq++;
	if (s->tail)
		s->tail->next = &r;
	else
		s->head = &r;
	s->tail = &r;
	pthread_mutex_unlock(&s->lock);
	/* A subshell with eval: a request with a syntax error, an exit, a cd
	 * or an assignment cannot hurt the session. The nonce is hex. */
	rc = hq_cmd(&text, "( eval %q ) </dev/null 2>&1; printf '\\n%s%u %%d\\n' $?\n", cmd, s->mark + 1, r.id);
	if (rc) {
		/* Nothing written yet: take the request back out of the queue. */
		pthread_mutex_lock(&s->lock);
		struct req *prev = NULL;

		for (struct req *q = s->head; q; prev = q, q = q->next)
			if (q == &r) {
				if (prev)
					prev->next = q->next;
				else
					s->head = q->next;
				if (s->tail == q)
					s->tail = prev;
				break;
			}
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(&s->write_lock);
		goto out;
	}
	for (size_t off = 0; rc == 0 && off < text.len;) {
		ssize_t w = kexec_write(s->x, text.data + off, text.len - off, timeout_ms);

		if (w < 0)
			rc = w == -EPIPE ? -ECONNRESET : (int)w;
		else
			off += (size_t)w;
	}
	pthread_mutex_unlock(&s->write_lock);
	if (rc) {
		/* Partly written: the stream is no longer in step. */
		kexec_cancel(s->x);
		fail_all(s, -ECONNRESET);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!r.done)
		if (pthread_cond_timedwait(&r.cond, &s->lock, &ts) == ETIMEDOUT && !r.done) {
			pthread_mutex_unlock(&s->lock);
			log_warn("a request to the shell in the pod took over %d ms: closing the session", timeout_ms);
			kexec_cancel(s->x);
			fail_all(s, -ETIMEDOUT);
			pthread_mutex_lock(&s->lock);
		}
	pthread_mutex_unlock(&s->lock);
	rc = r.rc;
	*status = r.status;
	if (rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPROTO) {
		out->len = r.base;
		if (out->data)
			out->data[r.base] = '\0';
	}
out:
	buf_cleanup(&text);
	pthread_cond_destroy(&r.cond);
	return rc;
}

bool hsess_alive(struct hsess *s)
{
	bool alive;

	pthread_mutex_lock(&s->lock);
	alive = !s->dead;
	pthread_mutex_unlock(&s->lock);
	return alive;
}

unsigned long hsess_requests(struct hsess *s)
{
	unsigned long n;

	pthread_mutex_lock(&s->lock);
	n = s->nreq;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void hsess_close(struct hsess *s)
{
	if (!s)
		return;
	if (s->x) {
		/* Let the shell end by itself (stdin EOF), then make sure. */
		kexec_close_stdin(s->x);
		kexec_cancel(s->x);
	}
	if (s->reader_started)
		pthread_join(s->reader, NULL);
	fail_all(s, -ECONNRESET);
	kexec_free(s->x);
	buf_cleanup(&s->trailer);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->write_lock);
	free(s);
}
