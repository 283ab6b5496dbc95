/* exec.c: exec sessions over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io).
 *
 * One lws context per kclient, served by one thread (the "service
 * thread"); it alone calls lws and touches a session's connection state
 * (TLS, framing, timers). Other threads change a session's queues and
 * flags under kc->lock and wake the service thread with
 * lws_cancel_service(), whose LWS_CALLBACK_EVENT_WAIT_CANCELLED then
 * connects pending sessions, asks for writable callbacks and cancels. Each
 * session has a condition variable (on kc->lock) for its waiters.
 *
 * lws does the event loop and the TCP connect only: each exec connection
 * is an lws RAW client socket. TLS is ours (OpenSSL on memory BIOs with
 * the SSL_CTX of tls.c), and so are the http:// proxy's CONNECT, the
 * HTTP/1.1 upgrade and the WebSocket framing (wsframe.c). Why: lws 4.1.6
 * parses WebSocket client frames one byte per call (most of the CPU of a
 * download went there), and its RAW client cannot do TLS (it starts TLS
 * before the socket exists). Bytes flow socket -> lws -> BIO -> SSL_read
 * into kc->rxbuf -> frame decoder -> output queue, and output queue ->
 * frames in kc->txbuf (masked) -> SSL_write -> BIO -> kc->wire -> lws.
 *
 * Wire rules (shared/reference/k8s-exec-protocol.md §2): only the first
 * fragment of a message carries the channel byte; text frames are a
 * protocol error; stdin goes out in messages of at most 32 KiB; v5 closes
 * stdin with [255, 0]; the status on channel 3 is read to the end and
 * parsed once; a stream that ends without a status is an error, never
 * success. Pings go out after 10 s without a byte from the server; 60 s
 * without one ends the session. A Close from the server is echoed; ours
 * (on cancel) waits up to CLOSE_WAIT_MS for the echo. Memory is bounded
 * both ways: kexec_write blocks while 1 MiB of stdin is queued; when
 * 8 MiB of a session's output waits for kexec_read, the service thread
 * waits (in steps of 50 ms, watching for cancellation) until the reader
 * catches up, so the socket is not read meanwhile. The price: one session
 * whose reader stalls delays the others of the same kclient until it reads
 * or is cancelled.
 *
 * Lock order: kc->lock only; never held across an lws call that may call
 * back (connect, write, close) nor across OpenSSL.
 */
#include "kclient_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "buf.h"
#include "log.h"
#include "strparse.h"
#include "wsframe.h"

#define OUTQ_CAP (8u << 20)
#define INQ_CAP (1u << 20)
#define TX_CHUNK 32768
#define TX_MSGS 8 /* stdin messages per writable callback */
#define STATUS_CAP (64u << 10)
#define HEAD_CAP (16u << 10)	/* an HTTP response head */
#define FRAME_MAX (32ull << 20) /* x/net/websocket's message limit */
#define PING_MS 10000
#define DEAD_MS 60000
#define CLOSE_WAIT_MS 1000
#define TICK_US (250 * LWS_US_PER_MS)
#define DEFAULT_CONNECT_MS 30000
#define PROTOCOLS "v5.channel.k8s.io, v4.channel.k8s.io"

struct chunk {
	struct chunk *next;
	size_t len, off;
	uint8_t chan;
	uint8_t data[];
};

enum xstate { X_PENDING, X_CONNECTING, X_OPEN, X_DONE };

/* Where a connection is (service thread). */
enum phase { PH_TCP, PH_PROXY, PH_TLS, PH_UPGRADE, PH_OPEN };

struct kexec {
	struct kclient *kc;
	struct kexec *next; /* kc->sessions, while not done */
	pthread_cond_t cond;
	enum xstate state;
	char *path;	/* without the server's prefix */
	char *full_path; /* with it */
	struct kauth_creds creds;
	struct lws *wsi;
	int version;
	bool want_in;
	int connect_ms;
	uint64_t connect_deadline;
	/* stdin */
	struct chunk *in_head, *in_tail;
	size_t in_bytes;
	bool in_eof, in_eof_sent, write_req;
	/* output */
	struct chunk *out_head, *out_tail;
	size_t out_bytes;
	bool rx_paused; /* the service thread waits for the reader */
	/* connection (service thread) */
	enum phase phase;
	SSL *ssl;
	BIO *rbio, *wbio; /* network side of SSL: rbio in, wbio out */
	bool req_sent;	  /* the CONNECT or upgrade request went out */
	char key[32];	  /* Sec-WebSocket-Key */
	struct buf head;  /* response head being read */
	struct wsf_dec dec;
	uint64_t last_rx, last_ping;
	bool ping_due, pong_due;
	uint8_t pong[WSF_MAX_CONTROL];
	size_t pong_len;
	bool close_due, close_sent, close_rcvd, close_then_drop;
	int close_send_code;
	uint64_t close_deadline;
	bool kill_due;
	/* incoming message state (service thread) */
	bool need_chan;
	int cur_chan;
	struct buf status;
	bool status_overflow, proto_error;
	/* end */
	bool cancel_req;
	int close_code;
	char conn_err[256];
	long http_status;
	struct kexec_result res;
	bool res_refined;
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
	{ "podfs-exec", callback, 0, KEXEC_RXBUF, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Append a copy of P[0..N) for channel CHAN to the queue HEAD/TAIL. */
static int chunk_push(struct chunk **head, struct chunk **tail, uint8_t chan, const void *p, size_t n)
{
	struct chunk *c = malloc(sizeof(*c) + n);

	if (!c)
		return -ENOMEM;
	c->next = NULL;
	c->len = n;
	c->off = 0;
	c->chan = chan;
	if (n)
		memcpy(c->data, p, n);
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
	return 0;
}

static void free_chunks(struct chunk *c)
{
	while (c) {
		struct chunk *n = c->next;

		free(c);
		c = n;
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait on X's condition with a timeout in ms (-1 forever). kc->lock held.
 * Returns false on timeout. */
static bool wait_until(struct kexec *x, uint64_t deadline)
{
	struct timespec ts;

	if (deadline == UINT64_MAX) {
		pthread_cond_wait(&x->cond, &x->kc->lock);
		return true;
	}
	uint64_t now = mono_ms();

	if (now >= deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (deadline - now) * 1000000ULL;

	ts.tv_sec += (time_t)(ns / 1000000000ULL);
	ts.tv_nsec = (long)(ns % 1000000000ULL);
	pthread_cond_timedwait(&x->cond, &x->kc->lock, &ts);
	return true;
}

static uint64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : mono_ms() + (uint64_t)timeout_ms;
}

/* ---- status ---- */

void kexec_parse_status(const char *json, size_t len, struct kexec_result *r)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	const char *m = cJSON_IsString(msg) ? msg->valuestring : "";

	r->exit_code = -1;
	if (!cJSON_IsObject(j) || !cJSON_IsString(st)) {
		r->rc = -EPROTO;
		snprintf(r->message, sizeof(r->message), "error stream protocol error: the status is not a Status object");
		goto out;
	}
	if (!strcmp(st->valuestring, "Success")) {
		r->rc = 0;
		r->exit_code = 0;
		goto out;
	}
	if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "NonZeroExitCode")) {
		const cJSON *causes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "details"),
								       "causes");
		const cJSON *c;

		cJSON_ArrayForEach(c, causes)
		{
			const cJSON *cr = cJSON_GetObjectItemCaseSensitive(c, "reason");
			const cJSON *cm = cJSON_GetObjectItemCaseSensitive(c, "message");
			uint64_t code;

			if (!cJSON_IsString(cr) || strcmp(cr->valuestring, "ExitCode"))
				continue;
			if (!cJSON_IsString(cm) || parse_u64_str(cm->valuestring, 255, &code)) {
				r->rc = -EPROTO;
				snprintf(r->message, sizeof(r->message),
					 "error stream protocol error: invalid exit code value");
				goto out;
			}
			r->rc = 0;
			r->exit_code = (int)code;
			snprintf(r->message, sizeof(r->message), "command terminated with exit code %d", (int)code);
			goto out;
		}
		r->rc = -EPROTO;
		snprintf(r->message, sizeof(r->message), "error stream protocol error: no exit code in \"%s\"", m);
		goto out;
	}
	snprintf(r->message, sizeof(r->message), "%s", m[0] ? m : "the exec failed without a message");
	if (strstr(m, "executable file not found") || strstr(m, "no such file or directory"))
		r->rc = -ENOENT;
	else if (strstr(m, "container not found"))
		r->rc = -ESRCH;
	else if (strstr(m, "permission denied"))
		r->rc = -EACCES;
	else
		r->rc = -EREMOTEIO;
out:
	cJSON_Delete(j);
}

/* ---- the end of a session (service thread) ---- */

/* WSI, when given, is detached from X first: lws may still call back for
 * it (RAW_CLOSE, WSI_DESTROY) after the owner has freed X. */
static void finish(struct kexec *x, bool conn_error, struct lws *wsi)
{
	struct kclient *kc = x->kc;
	struct kexec_result *r = &x->res;

	if (wsi)
		lws_set_opaque_user_data(wsi, NULL);
	pthread_mutex_lock(&kc->lock);
	if (x->state == X_DONE) {
		pthread_mutex_unlock(&kc->lock);
		return;
	}
	pthread_mutex_unlock(&kc->lock);
	if (x->ssl) {
		SSL_free(x->ssl); /* and its BIOs */
		x->ssl = NULL;
		x->rbio = x->wbio = NULL;
	}
	pthread_mutex_lock(&kc->lock);
	r->http_status = x->http_status;
	snprintf(r->protocol, sizeof(r->protocol), "%s",
		 x->version == 5 ? "v5.channel.k8s.io" : x->version == 4 ? "v4.channel.k8s.io" : "");
	if (x->cancel_req) {
		r->rc = -ECANCELED;
		snprintf(r->message, sizeof(r->message), "exec cancelled");
	} else if (conn_error || x->version == 0) {
		r->rc = -ECONNREFUSED;
		snprintf(r->message, sizeof(r->message), "cannot open an exec stream to %s: %s", kc->cfg->server,
			 x->conn_err[0] ? x->conn_err : "connection failed");
	} else if (x->proto_error) {
		r->rc = -EPROTO;
		snprintf(r->message, sizeof(r->message), "the API server broke the exec stream protocol: %s",
			 x->conn_err);
	} else if (x->status_overflow) {
		r->rc = -EPROTO;
		snprintf(r->message, sizeof(r->message), "the exec status is larger than %u KiB", STATUS_CAP >> 10);
	} else if (x->status.len > 0) {
		kexec_parse_status(x->status.data, x->status.len, r);
		if (x->close_code != 1000) {
			r->unclean = true;
			log_warn("exec stream on %s ended without a clean close (code %d) after its status",
				 x->path, x->close_code);
		}
	} else if (x->close_code == 1000) {
		r->rc = -EPROTO;
		snprintf(r->message, sizeof(r->message),
			 "the exec stream ended without an exit status: the command's outcome is unknown and its output may be incomplete");
	} else {
		r->rc = -ECONNRESET;
		snprintf(r->message, sizeof(r->message),
			 "the connection to the API server was lost during the exec%s%s: output may be incomplete",
			 x->conn_err[0] ? ": " : "", x->conn_err);
	}
	x->state = X_DONE;
	x->wsi = NULL;
	for (struct kexec **p = &kc->sessions; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&kc->lock);
}

/* Remember why the connection is failing (first reason wins). */
static void set_err(struct kexec *x, const char *msg)
{
	pthread_mutex_lock(&x->kc->lock);
	if (!x->conn_err[0])
		snprintf(x->conn_err, sizeof(x->conn_err), "%s", msg);
	pthread_mutex_unlock(&x->kc->lock);
}

/* ---- connecting (service thread) ---- */

/* The SSL_CTX for CR's client certificate (a new one when the
 * certificate changed; SSLs hold a reference to theirs). */
static int ensure_ssl_ctx(struct kclient *kc, const struct kauth_creds *cr, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc;

	if (!kc->tls || (kc->ssl_ctx && (!cr->cert_pem || cr->generation == kc->cert_gen)))
		return 0;
	rc = ktls_client_ctx(kc->cfg, cr, &ctx, err, errlen);
	if (rc)
		return rc;
	SSL_CTX_free(kc->ssl_ctx);
	kc->ssl_ctx = ctx;
	kc->cert_gen = cr->generation;
	return 0;
}

/* The http:// proxy of the kubeconfig, if any, into HOST/PORT. */
static int proxy_of(const struct kcfg *cfg, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *p = cfg->proxy_url;
	size_t hl;
	uint64_t v = 80;

	host[0] = '\0';
	if (!p)
		return 0;
	if (strncmp(p, "http://", 7)) {
		snprintf(err, errlen,
			 "proxy-url %s: exec streams can go through an http:// proxy only (https and socks5 proxies are not supported)",
			 p);
		return -ENOTSUP;
	}
	p += 7;
	if (strchr(p, '@')) {
		snprintf(err, errlen, "proxy-url %s: proxy credentials are not supported for exec streams", cfg->proxy_url);
		return -ENOTSUP;
	}
	if (*p == '[') {
		const char *e = strchr(p, ']');

		if (!e)
			goto bad;
		hl = (size_t)(e - p - 1);
		if (hl == 0 || hl >= hostlen)
			goto bad;
		memcpy(host, p + 1, hl);
		p = e + 1;
	} else {
		hl = strcspn(p, ":/");
		if (hl == 0 || hl >= hostlen)
			goto bad;
		memcpy(host, p, hl);
		p += hl;
	}
	host[hl] = '\0';
	if (*p == ':' && (parse_u64(p + 1, strcspn(p + 1, "/"), 65535, &v) || v == 0))
		goto bad;
	*port = (int)v;
	return 0;
bad:
	snprintf(err, errlen, "proxy-url %s: cannot parse the host and port", cfg->proxy_url);
	host[0] = '\0';
	return -EINVAL;
}

static void connect_one(struct kclient *kc, struct kexec *x)
{
	struct lws_client_connect_info i;
	char err[256] = "", phost[256];
	int pport = 0;
	int rc = ensure_ssl_ctx(kc, &x->creds, err, sizeof(err));

	if (!rc)
		rc = proxy_of(kc->cfg, phost, sizeof(phost), &pport, err, sizeof(err));
	if (rc) {
		set_err(x, err);
		finish(x, true, NULL);
		return;
	}
	wsf_dec_init(&x->dec, false, FRAME_MAX, FRAME_MAX);
	x->phase = PH_TCP;
	x->connect_deadline = mono_ms() + (uint64_t)x->connect_ms;
	memset(&i, 0, sizeof(i));
	i.context = kc->ctx;
	i.vhost = kc->vhost;
	i.address = phost[0] ? phost : kc->host;
	i.port = phost[0] ? pport : kc->port;
	i.method = "RAW";
	i.path = "";
	i.host = kc->host_hdr;
	i.local_protocol_name = "podfs-exec";
	i.opaque_user_data = x;
	/* No i.pwsi: lws could write through it after X is freed. */
	struct lws *w = lws_client_connect_via_info(&i);

	if (w) {
		pthread_mutex_lock(&kc->lock);
		for (struct kexec *s = kc->sessions; s; s = s->next)
			if (s == x)
				x->wsi = w;
		pthread_mutex_unlock(&kc->lock);
	} else {
		bool live = false;

		/* The failure may already have been reported through
		 * CONNECTION_ERROR, and X freed by its owner since. */
		pthread_mutex_lock(&kc->lock);
		for (struct kexec *s = kc->sessions; s; s = s->next)
			live |= s == x;
		if (live && !x->conn_err[0])
			snprintf(x->conn_err, sizeof(x->conn_err), "connection failed");
		pthread_mutex_unlock(&kc->lock);
		if (live)
			finish(x, true, NULL);
	}
}

/* Start closing: send Close(CODE) and drop the connection once the echo
 * came or CLOSE_WAIT_MS passed (DROP: right after sending). */
static void start_close(struct kexec *x, int code, bool drop)
{
	if (x->close_sent || x->close_due)
		return;
	x->close_due = true;
	x->close_send_code = code;
	x->close_then_drop = drop;
	x->close_deadline = mono_ms() + CLOSE_WAIT_MS;
	if (x->wsi)
		lws_callback_on_writable(x->wsi);
}

/* Woken by lws_cancel_service(): act on what other threads asked for. */
static void service_requests(struct kclient *kc)
{
	enum { A_CONNECT = 1, A_WRITABLE = 2, A_CANCEL = 8, A_DROP = 16 };
	struct work {
		struct kexec *x;
		struct lws *wsi;
		int what;
	} *w = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&kc->lock);
	for (struct kexec *x = kc->sessions; x; x = x->next) {
		int what = 0;

		if (x->cancel_req) {
			what = x->wsi ? A_CANCEL : (x->state == X_PENDING ? A_DROP : 0);
		} else {
			if (x->state == X_PENDING) {
				x->state = X_CONNECTING;
				what |= A_CONNECT;
			}
			if (x->state == X_OPEN && x->write_req) {
				x->write_req = false;
				what |= A_WRITABLE;
			}
		}
		if (!what)
			continue;
		if (n == cap) {
			struct work *nw = realloc(w, (cap ? cap * 2 : 16) * sizeof(*w));

			if (!nw)
				break;
			w = nw;
			cap = cap ? cap * 2 : 16;
		}
		w[n++] = (struct work){ x, x->wsi, what };
	}
	pthread_mutex_unlock(&kc->lock);
	/* Sessions not yet done cannot be freed (kexec_free waits for done,
	 * which only this thread sets), so the pointers stay valid. */
	for (size_t k = 0; k < n; k++) {
		struct kexec *x = w[k].x;

		if (w[k].what & A_DROP)
			finish(x, false, NULL);
		if (w[k].what & A_CANCEL) {
			/* An open stream is told (Close 1000, echo awaited);
			 * anything else is just dropped. */
			if (x->phase == PH_OPEN && !x->close_rcvd)
				start_close(x, 1000, false);
			else if (!x->kill_due) {
				x->kill_due = true;
				lws_set_timeout(w[k].wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
			}
		}
		if (w[k].what & A_CONNECT)
			connect_one(kc, x);
		if ((w[k].what & A_WRITABLE) && w[k].wsi)
			lws_callback_on_writable(w[k].wsi);
	}
	free(w);
}

static void kill_conn(struct kexec *x, const char *why)
{
	if (why)
		set_err(x, why);
	if (x->wsi && !x->kill_due) {
		x->kill_due = true;
		lws_set_timeout(x->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
	}
}

/* Every TICK_US on the service thread: connect deadlines, pings, dead
 * links, close handshakes that got no answer. */
static void tick(lws_sorted_usec_list_t *sul)
{
	struct kclient *kc = lws_container_of(sul, struct kclient, tick);
	uint64_t now = mono_ms();
	struct kexec **v = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&kc->lock);
	for (struct kexec *x = kc->sessions; x; x = x->next) {
		if (!x->wsi)
			continue;
		if (n == cap) {
			struct kexec **nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = x;
	}
	pthread_mutex_unlock(&kc->lock);
	for (size_t k = 0; k < n; k++) {
		struct kexec *x = v[k];
		char why[128];

		if (x->kill_due)
			continue;
		if (x->phase != PH_OPEN) {
			if (now >= x->connect_deadline) {
				snprintf(why, sizeof(why), "no WebSocket upgrade within %d ms (connect timeout)",
					 x->connect_ms);
				kill_conn(x, why);
			}
			continue;
		}
		if ((x->close_sent || x->close_due) && now >= x->close_deadline) {
			kill_conn(x, NULL); /* no echo (or no TCP close) in time */
		} else if (now >= x->last_rx + DEAD_MS) {
			snprintf(why, sizeof(why), "no data or pong from the API server for %d s (dead connection)",
				 DEAD_MS / 1000);
			kill_conn(x, why);
		} else if (now >= x->last_rx + PING_MS && now >= x->last_ping + PING_MS && !x->close_sent) {
			x->ping_due = true;
			x->last_ping = now;
			lws_callback_on_writable(x->wsi);
		}
	}
	free(v);
	lws_sul_schedule(kc->ctx, 0, &kc->tick, tick, TICK_US);
}

/* ---- requests ---- */

static int add_header(struct buf *b, const char *name, const char *value)
{
	return buf_printf(b, "%s: %s\r\n", name, value);
}

/* The upgrade request into B. */
static int upgrade_request(struct kexec *x, struct buf *b)
{
	const struct kcfg *cfg = x->kc->cfg;
	int rc;

	if (wsf_make_key(x->key))
		return -EIO;
	rc = buf_printf(b,
			"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n",
			x->full_path, x->kc->host_hdr, x->key, PROTOCOLS);
	/* credentials of any length (projected tokens, OIDC tokens with
	 * many groups), never cut */
	if (!rc && x->creds.bearer) {
		rc = buf_printf(b, "Authorization: Bearer %s\r\n", x->creds.bearer);
	} else if (!rc && x->creds.basic_user) {
		char *up = NULL, *enc = NULL;
		int n = asprintf(&up, "%s:%s", x->creds.basic_user, x->creds.basic_pass ? x->creds.basic_pass : "");
		size_t cap = n > 0 ? ((size_t)n + 2) / 3 * 4 + 8 : 0;

		rc = n < 0 || !(enc = malloc(cap)) ? -ENOMEM : 0;
		if (!rc && lws_b64_encode_string(up, n, enc, (int)cap) < 0)
			rc = -EINVAL;
		if (!rc)
			rc = buf_printf(b, "Authorization: Basic %s\r\n", enc);
		if (up && n > 0)
			explicit_bzero(up, strlen(up));
		if (enc)
			explicit_bzero(enc, cap);
		free(up);
		free(enc);
	}
	if (!rc && cfg->impersonate_user)
		rc = add_header(b, "Impersonate-User", cfg->impersonate_user);
	for (char **g = cfg->impersonate_groups; !rc && g && *g; g++)
		rc = add_header(b, "Impersonate-Group", *g);
	if (!rc)
		rc = buf_printf(b, "User-Agent: podfs/" PODFS_VERSION "\r\n\r\n");
	return rc;
}

static int connect_request(struct kexec *x, struct buf *b)
{
	const char *h = x->kc->host;
	bool v6 = strchr(h, ':') != NULL;

	return buf_printf(b, "CONNECT %s%s%s:%d HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: podfs/" PODFS_VERSION
			  "\r\n\r\n",
			  v6 ? "[" : "", h, v6 ? "]" : "", x->kc->port, v6 ? "[" : "", h, v6 ? "]" : "",
			  x->kc->port);
}

/* ---- receiving (service thread) ---- */

/* Payload bytes of a data message. */
static void on_data(struct kexec *x, const struct wsf_ev *ev)
{
	struct kclient *kc = x->kc;
	const uint8_t *p = ev->data;
	size_t n = ev->len;

	if (ev->opcode != WSF_OP_BINARY) {
		x->proto_error = true;
		set_err(x, "a text frame on a binary channel protocol");
		return;
	}
	if (ev->first)
		x->need_chan = true;
	if (x->need_chan && n) {
		x->cur_chan = p[0];
		x->need_chan = false;
		p++;
		n--;
	}
	if (!n)
		return; /* an empty message is no EOF (the "connected" signal is one) */
	pthread_mutex_lock(&kc->lock);
	if (x->cancel_req) {
		/* nobody will read it */
	} else if (x->cur_chan == KEXEC_STDOUT || x->cur_chan == KEXEC_STDERR) {
		bool was_empty = !x->out_head, waited = false;

		if (chunk_push(&x->out_head, &x->out_tail, (uint8_t)x->cur_chan, p, n) == 0) {
			x->out_bytes += n;
			kc->stats.bytes_in += n;
			if (was_empty)
				pthread_cond_broadcast(&x->cond);
		} else {
			/* never a silently short output: the session fails */
			x->proto_error = true;
			if (!x->conn_err[0])
				snprintf(x->conn_err, sizeof(x->conn_err), "out of memory for output");
		}
		/* Back-pressure: wait for the reader (see the top comment). */
		while (x->out_bytes > OUTQ_CAP && !x->cancel_req && !kc->stopping) {
			struct timespec ts;

			x->rx_paused = true;
			waited = true;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 50 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&x->cond, &kc->lock, &ts);
		}
		x->rx_paused = false;
		if (waited)
			x->last_rx = mono_ms(); /* we were not reading: no sign of a dead link */
	} else if (x->cur_chan == 3) {
		if (buf_append(&x->status, p, n))
			x->status_overflow = true;
	}
	pthread_mutex_unlock(&kc->lock);
}

/* Frames in P[0..N). Returns 0, or -1 to drop the connection. */
static int on_frames(struct kexec *x, uint8_t *p, size_t n)
{
	while (n && !x->close_rcvd && !x->proto_error) {
		struct wsf_ev ev;
		ssize_t r = wsf_decode(&x->dec, p, n, &ev);

		if (r < 0) {
			x->proto_error = true;
			set_err(x, x->dec.err);
			break;
		}
		p += r;
		n -= (size_t)r;
		switch (ev.kind) {
		case WSF_EV_DATA:
			on_data(x, &ev);
			break;
		case WSF_EV_PING:
			memcpy(x->pong, ev.data, ev.len);
			x->pong_len = ev.len;
			x->pong_due = true;
			lws_callback_on_writable(x->wsi);
			break;
		case WSF_EV_CLOSE:
			x->close_rcvd = true;
			x->close_code = ev.close_code;
			if (!x->close_sent && !x->close_due) {
				/* echo it, then wait for the server to close TCP */
				start_close(x, ev.close_code == 1005 ? 1000 : ev.close_code, false);
			}
			break;
		default:
			break;
		}
	}
	if (x->proto_error) {
		if (x->close_sent) {
			kill_conn(x, NULL);
		} else {
			x->close_due = false; /* a pending echo becomes our 1002 */
			start_close(x, 1002, true);
		}
	}
	return 0;
}

static int start_tls(struct kexec *x)
{
	char err[256];
	int rc = ktls_client_ssl(x->kc, &x->ssl, &x->rbio, &x->wbio, err, sizeof(err));

	if (rc) {
		set_err(x, err);
		return -1;
	}
	x->phase = PH_TLS;
	ERR_clear_error(); /* a stale error would turn WANT_READ into a failure */
	SSL_do_handshake(x->ssl); /* the ClientHello, into wbio */
	lws_callback_on_writable(x->wsi);
	return 0;
}

/* The request of the current phase is due. */
static void request_due(struct kexec *x)
{
	x->req_sent = false;
	buf_reset(&x->head);
	lws_callback_on_writable(x->wsi);
}

/* Plain bytes from the server (after TLS, if any). Returns -1 to drop. */
static int on_plain(struct kexec *x, uint8_t *p, size_t n)
{
	struct kclient *kc = x->kc;
	size_t hl;

	if (x->phase == PH_OPEN)
		return on_frames(x, p, n);
	if (x->phase != PH_PROXY && x->phase != PH_UPGRADE) {
		set_err(x, "the server spoke first");
		return -1;
	}
	/* Only up to the head's end: frames may follow in the same read. */
	size_t take = HEAD_CAP - x->head.len;

	if (take > n)
		take = n;
	if (buf_append(&x->head, p, take))
		take = 0;
	hl = wsf_head_len(x->head.data, x->head.len);
	if (!hl) {
		if (take < n) {
			set_err(x, "the answer's HTTP head is too large");
			return -1;
		}
		return 0;
	}
	p += take;
	n -= take;
	if (x->phase == PH_PROXY) {
		const char *h = x->head.data;

		if (x->head.len > hl || n || hl < 12 || memcmp(h, "HTTP/1.", 7) || memcmp(h + 8, " 200", 4)) {
			char m[200];

			snprintf(m, sizeof(m), "the proxy refused the CONNECT: %.*s", (int)strcspn(h, "\r\n"), h);
			set_err(x, m);
			return -1;
		}
		if (kc->tls)
			return start_tls(x);
		x->phase = PH_UPGRADE;
		request_due(x);
		return 0;
	}
	/* PH_UPGRADE */
	char err[256], proto[64];
	long st;
	int rc = wsf_check_response(x->head.data, hl, x->key, PROTOCOLS, &st, proto, sizeof(proto), err,
				    sizeof(err));

	pthread_mutex_lock(&kc->lock);
	x->http_status = st;
	if (!rc) {
		if (!strcmp(proto, "v5.channel.k8s.io"))
			x->version = 5;
		else if (!strcmp(proto, "v4.channel.k8s.io"))
			x->version = 4;
		if (x->version) {
			x->state = X_OPEN;
			x->write_req = false;
		} else {
			snprintf(x->conn_err, sizeof(x->conn_err),
				 "the server chose subprotocol \"%s\", not v5/v4.channel.k8s.io", proto);
		}
	} else if (!x->conn_err[0]) {
		snprintf(x->conn_err, sizeof(x->conn_err), "%s", err);
	}
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&kc->lock);
	if (rc || !x->version)
		return -1;
	x->phase = PH_OPEN;
	x->last_rx = x->last_ping = mono_ms();
	lws_callback_on_writable(x->wsi); /* stdin may be queued */
	/* frames right behind the head */
	if (x->head.len > hl && on_frames(x, (uint8_t *)x->head.data + hl, x->head.len - hl))
		return -1;
	return n ? on_frames(x, p, n) : 0;
}

/* Why the TLS layer failed, for the user. */
static void tls_error(struct kexec *x, int ret)
{
	char m[256], e[160] = "";
	long vr = SSL_get_verify_result(x->ssl);
	unsigned long ec = ERR_peek_last_error();

	if (ec)
		ERR_error_string_n(ec, e, sizeof(e));
	if (x->phase == PH_TLS && vr != X509_V_OK)
		snprintf(m, sizeof(m), "TLS: the server's certificate was refused: %s",
			 X509_verify_cert_error_string(vr));
	else if (e[0])
		snprintf(m, sizeof(m), "TLS: %s", e);
	else
		snprintf(m, sizeof(m), "TLS: the connection failed (SSL error %d)", SSL_get_error(x->ssl, ret));
	ERR_clear_error();
	set_err(x, m);
}

static int on_rx(struct kexec *x, uint8_t *in, size_t len)
{
	struct kclient *kc = x->kc;
	int rc = 0;

	x->last_rx = mono_ms();
	if (!x->ssl)
		return on_plain(x, in, len);
	if (BIO_write(x->rbio, in, (int)len) != (int)len) {
		set_err(x, "out of memory");
		return -1;
	}
	if (x->phase == PH_TLS) {
		ERR_clear_error();
		int r = SSL_do_handshake(x->ssl);

		if (r != 1) {
			int e = SSL_get_error(x->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				tls_error(x, r);
				return -1;
			}
			if (BIO_ctrl_pending(x->wbio))
				lws_callback_on_writable(x->wsi);
			return 0;
		}
		x->phase = PH_UPGRADE;
		request_due(x);
	}
	/* Decrypt as much as there is, in large pieces, then parse. */
	for (;;) {
		size_t got = 0, one;
		int r, e = SSL_ERROR_NONE;

		ERR_clear_error();
		while ((r = SSL_read_ex(x->ssl, kc->rxbuf + got, KEXEC_RXBUF - got, &one)) == 1) {
			got += one;
			if (got == KEXEC_RXBUF)
				break;
		}
		if (r != 1)
			e = SSL_get_error(x->ssl, r);
		if (got && (rc = on_plain(x, kc->rxbuf, got)))
			return rc;
		if (r == 1)
			continue; /* the buffer was full: there may be more */
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_ZERO_RETURN)
			break; /* ZERO_RETURN: close_notify; TCP's close follows */
		tls_error(x, r);
		return -1;
	}
	if (BIO_ctrl_pending(x->wbio))
		lws_callback_on_writable(x->wsi);
	return 0;
}

/* ---- sending (service thread) ---- */

static size_t put_frame(uint8_t *out, uint8_t op, const uint8_t *p, size_t n)
{
	uint8_t mask[4];
	size_t h;

	if (RAND_bytes(mask, 4) != 1)
		memset(mask, 0x5a, 4); /* cannot happen with a seeded DRBG */
	h = wsf_build_hdr(out, op, true, n, mask);
	if (n) /* (an empty frame may come with no buffer) */
		memcpy(out + h, p, n);
	wsf_mask(out + h, n, mask, 0);
	return h + n;
}

/* What X has to send next, as plain bytes into OUT (room CAP). Sets
 * *DROP when the connection is to be dropped after sending. */
static size_t next_plain(struct kexec *x, uint8_t *out, size_t cap, bool *drop)
{
	struct kclient *kc = x->kc;
	size_t n = 0;

	if ((x->phase == PH_PROXY || x->phase == PH_UPGRADE) && !x->req_sent) {
		struct buf b;

		buf_init(&b, cap);
		int rc = x->phase == PH_PROXY ? connect_request(x, &b) : upgrade_request(x, &b);

		if (!rc) {
			memcpy(out, b.data, b.len);
			n = b.len;
			x->req_sent = true;
		} else {
			set_err(x, "cannot build the request (headers too large?)");
			*drop = true;
		}
		explicit_bzero(b.data, b.len);
		buf_cleanup(&b);
		return n;
	}
	if (x->phase != PH_OPEN || x->close_sent)
		return 0;
	if (x->pong_due) {
		n += put_frame(out + n, WSF_OP_PONG, x->pong, x->pong_len);
		x->pong_due = false;
	}
	if (x->ping_due) {
		n += put_frame(out + n, WSF_OP_PING, NULL, 0);
		x->ping_due = false;
	}
	if (x->close_due) {
		uint8_t c[2] = { (uint8_t)(x->close_send_code >> 8), (uint8_t)x->close_send_code };

		n += put_frame(out + n, WSF_OP_CLOSE, c, 2);
		x->close_due = false;
		x->close_sent = true;
		x->close_deadline = mono_ms() + CLOSE_WAIT_MS;
		*drop = x->close_then_drop;
		return n;
	}
	/* stdin: messages [0] + up to TX_CHUNK bytes, masked in place */
	pthread_mutex_lock(&kc->lock);
	size_t sent = 0;

	for (int m = 0; m < TX_MSGS && x->in_head && cap - n >= WSF_MAX_HEADER + 1 + TX_CHUNK; m++) {
		size_t take = x->in_bytes < TX_CHUNK ? x->in_bytes : TX_CHUNK, got = 0, h;
		uint8_t mask[4];

		if (RAND_bytes(mask, 4) != 1)
			memset(mask, 0x5a, 4);
		h = wsf_build_hdr(out + n, WSF_OP_BINARY, true, 1 + take, mask);
		out[n + h] = 0; /* stdin */
		while (got < take) {
			struct chunk *c = x->in_head;
			size_t t = c->len - c->off;

			if (t > take - got)
				t = take - got;
			memcpy(out + n + h + 1 + got, c->data + c->off, t);
			got += t;
			c->off += t;
			if (c->off == c->len) {
				x->in_head = c->next;
				if (!x->in_head)
					x->in_tail = NULL;
				free(c);
			}
		}
		x->in_bytes -= take;
		sent += take;
		wsf_mask(out + n + h, 1 + take, mask, 0);
		n += h + 1 + take;
	}
	kc->stats.bytes_out += sent;
	if (sent)
		pthread_cond_broadcast(&x->cond); /* room for writers */
	bool eof = !x->in_head && x->in_eof && !x->in_eof_sent && x->version == 5;

	if (eof)
		x->in_eof_sent = true;
	pthread_mutex_unlock(&kc->lock);
	if (eof)
		n += put_frame(out + n, WSF_OP_BINARY, (const uint8_t[]){ 255, 0 }, 2);
	return n;
}

static bool more_to_send(struct kexec *x)
{
	bool more;

	if (x->ssl && BIO_ctrl_pending(x->wbio))
		return true;
	if ((x->phase == PH_PROXY || x->phase == PH_UPGRADE) && !x->req_sent)
		return true;
	if (x->phase != PH_OPEN || x->close_sent)
		return false;
	if (x->pong_due || x->ping_due || x->close_due)
		return true;
	pthread_mutex_lock(&x->kc->lock);
	more = x->in_head || (x->in_eof && !x->in_eof_sent && x->version == 5);
	pthread_mutex_unlock(&x->kc->lock);
	return more;
}

static int on_writable(struct kexec *x, struct lws *wsi)
{
	struct kclient *kc = x->kc;
	uint8_t *src = kc->txbuf + LWS_PRE;
	size_t n = 0;
	bool drop = false;

	if (!x->ssl || !BIO_ctrl_pending(x->wbio)) {
		n = next_plain(x, src, KEXEC_TXBUF, &drop);
		if (x->ssl && n) {
			size_t w;

			ERR_clear_error();
			if (SSL_write_ex(x->ssl, src, n, &w) != 1 || w != n) {
				tls_error(x, 0);
				return -1;
			}
			n = 0;
		}
	}
	if (x->ssl) {
		int r = BIO_read(x->wbio, kc->wire + LWS_PRE, KEXEC_WIREBUF);

		src = kc->wire + LWS_PRE;
		n = r > 0 ? (size_t)r : 0;
	}
	if (n && lws_write(wsi, src, n, LWS_WRITE_RAW) < (int)n) {
		set_err(x, "write to the API server failed");
		return -1;
	}
	if (drop && !(x->ssl && BIO_ctrl_pending(x->wbio)))
		return -1;
	if (drop || more_to_send(x))
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct kclient *kc = lws_context_user(lws_get_context(wsi));
	struct kexec *x;

	(void)user;
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		service_requests(kc);
		return 0;
	}
	x = lws_get_opaque_user_data(wsi);
	if (!x)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_CONNECTED:
		pthread_mutex_lock(&kc->lock);
		x->wsi = wsi;
		pthread_mutex_unlock(&kc->lock);
		x->last_rx = mono_ms();
		if (kc->cfg->proxy_url) {
			x->phase = PH_PROXY;
			request_due(x);
			return 0;
		}
		if (kc->tls)
			return start_tls(x);
		x->phase = PH_UPGRADE;
		request_due(x);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		return on_rx(x, in, len);
	case LWS_CALLBACK_RAW_WRITEABLE:
		return on_writable(x, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char m[200];

		snprintf(m, sizeof(m), "%.*s", in ? (int)len : 0, in ? (const char *)in : "connection failed");
		set_err(x, m);
		finish(x, true, wsi);
		return 0;
	}
	case LWS_CALLBACK_RAW_CLOSE:
	case LWS_CALLBACK_WSI_DESTROY:
		finish(x, x->version == 0, wsi);
		return 0;
	default:
		return 0;
	}
}

static void lws_log(int level, const char *line)
{
	size_t l = strlen(line);

	while (l && line[l - 1] == '\n')
		l--;
	log_debug("lws(%d): %.*s", level, (int)l, line);
}

static void *service_main(void *arg)
{
	struct kclient *kc = arg;

	lws_sul_schedule(kc->ctx, 0, &kc->tick, tick, TICK_US);
	for (;;) {
		bool stop;

		pthread_mutex_lock(&kc->lock);
		stop = kc->stopping;
		pthread_mutex_unlock(&kc->lock);
		if (stop)
			break;
		lws_service(kc->ctx, 0);
	}
	lws_sul_cancel(&kc->tick);
	return NULL;
}

int kexec_service_start(struct kclient *kc, char *err, size_t errlen)
{
	struct lws_context_creation_info info;

	lws_set_log_level(log_threshold >= LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, lws_log);
	kc->rxbuf = malloc(KEXEC_RXBUF);
	kc->txbuf = malloc(LWS_PRE + KEXEC_TXBUF);
	kc->wire = malloc(LWS_PRE + KEXEC_WIREBUF);
	if (!kc->rxbuf || !kc->txbuf || !kc->wire) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.protocols = protocols;
	info.user = kc;
	info.timeout_secs = 30;
	info.connect_timeout_secs = 30;
	info.pt_serv_buf_size = KEXEC_RXBUF; /* one socket read */
	kc->ctx = lws_create_context(&info);
	if (!kc->ctx) {
		snprintf(err, errlen, "cannot create the WebSocket context");
		return -ENOMEM;
	}
	/* One vhost for everything: lws_cancel_service() reaches our callback
	 * through it (EVENT_WAIT_CANCELLED goes to the protocols of vhosts),
	 * and the RAW connections bind to it. TLS is not lws's. */
	info.options = 0;
	info.vhost_name = "podfs";
	kc->vhost = lws_create_vhost(kc->ctx, &info);
	if (!kc->vhost) {
		lws_context_destroy(kc->ctx);
		kc->ctx = NULL;
		snprintf(err, errlen, "cannot create the WebSocket vhost");
		return -ENOMEM;
	}
	if (pthread_create(&kc->thread, NULL, service_main, kc)) {
		lws_context_destroy(kc->ctx);
		kc->ctx = NULL;
		snprintf(err, errlen, "cannot start the WebSocket service thread");
		return -EAGAIN;
	}
	kc->thread_started = true;
	return 0;
}

void kexec_service_stop(struct kclient *kc)
{
	if (kc->thread_started) {
		pthread_mutex_lock(&kc->lock);
		kc->stopping = true;
		for (struct kexec *x = kc->sessions; x; x = x->next)
			x->cancel_req = true;
		pthread_mutex_unlock(&kc->lock);
		lws_cancel_service(kc->ctx);
		pthread_join(kc->thread, NULL);
		kc->thread_started = false;
	}
	if (kc->ctx)
		lws_context_destroy(kc->ctx); /* closes what is left: callbacks finish them */
	kc->ctx = NULL;
	/* Anything never connected is done now too. */
	while (kc->sessions)
		finish(kc->sessions, false, NULL);
	if (kc->ssl_ctx)
		SSL_CTX_free(kc->ssl_ctx);
	kc->ssl_ctx = NULL;
	free(kc->rxbuf);
	free(kc->txbuf);
	free(kc->wire);
	kc->rxbuf = kc->txbuf = kc->wire = NULL;
}

/* ---- the caller's side ---- */

static int build_path(struct kexec *x, const struct kexec_opts *o)
{
	struct buf b;
	char *e = NULL;
	int rc = 0;

	buf_init(&b, 1 << 20);
	rc = kurl_path_escape(o->ns, &e);
	if (!rc)
		rc = buf_printf(&b, "/api/v1/namespaces/%s/pods/", e);
	free(e);
	e = NULL;
	if (!rc && !(rc = kurl_path_escape(o->pod, &e)))
		rc = buf_printf(&b, "%s/exec?", e);
	free(e);
	e = NULL;
	/* Keys sorted as Go's url.Values.Encode does. */
	for (char *const *a = o->argv; !rc && *a; a++) {
		rc = kurl_query_escape(*a, &e);
		if (!rc)
			rc = buf_printf(&b, "%scommand=%s", a == o->argv ? "" : "&", e);
		free(e);
		e = NULL;
	}
	if (!rc && o->container && !(rc = kurl_query_escape(o->container, &e)))
		rc = buf_printf(&b, "&container=%s", e);
	free(e);
	if (!rc && o->err)
		rc = buf_append_str(&b, "&stderr=true");
	if (!rc && o->in)
		rc = buf_append_str(&b, "&stdin=true");
	if (!rc && o->out)
		rc = buf_append_str(&b, "&stdout=true");
	if (rc) {
		buf_cleanup(&b);
		return rc;
	}
	x->path = buf_take(&b);
	if (!x->path)
		return -ENOMEM;
	size_t pl = strlen(x->kc->prefix), l = strlen(x->path);

	x->full_path = malloc(pl + l + 1);
	if (!x->full_path)
		return -ENOMEM;
	memcpy(x->full_path, x->kc->prefix, pl);
	memcpy(x->full_path + pl, x->path, l + 1);
	return 0;
}

int kexec_start(struct kclient *kc, const struct kexec_opts *o, struct kexec **out)
{
	struct kexec *x;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!o->argv || !o->argv[0] || !o->ns || !o->pod)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->kc = kc;
	x->want_in = o->in;
	x->cur_chan = -1;
	x->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
	buf_init(&x->status, STATUS_CAP);
	buf_init(&x->head, HEAD_CAP);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = build_path(x, o);
	if (rc)
		goto fail;
	if (kc->tls) {
		rc = kauth_get(kc->auth, &x->creds, x->res.message, sizeof(x->res.message));
		if (rc)
			goto fail;
	}
	pthread_mutex_lock(&kc->lock);
	if (kc->stopping) {
		pthread_mutex_unlock(&kc->lock);
		rc = -ESHUTDOWN;
		goto fail;
	}
	x->state = X_PENDING;
	x->next = kc->sessions;
	kc->sessions = x;
	kc->stats.execs_started++;
	pthread_mutex_unlock(&kc->lock);
	lws_cancel_service(kc->ctx);
	*out = x;
	return 0;
fail:
	kauth_creds_free(&x->creds);
	buf_cleanup(&x->status);
	buf_cleanup(&x->head);
	pthread_cond_destroy(&x->cond);
	free(x->path);
	free(x->full_path);
	free(x);
	return rc;
}

ssize_t kexec_write(struct kexec *x, const void *p, size_t n, int timeout_ms)
{
	struct kclient *kc = x->kc;
	uint64_t dl = deadline_of(timeout_ms);
	size_t room;

	if (!x->want_in)
		return -EBADF;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&kc->lock);
	while (x->state != X_DONE && x->in_bytes >= INQ_CAP && !x->in_eof)
		if (!wait_until(x, dl)) {
			pthread_mutex_unlock(&kc->lock);
			return -ETIMEDOUT;
		}
	if (x->state == X_DONE || x->in_eof) {
		pthread_mutex_unlock(&kc->lock);
		return -EPIPE;
	}
	room = INQ_CAP - x->in_bytes;
	if (n > room)
		n = room;
	if (chunk_push(&x->in_head, &x->in_tail, 0, p, n)) {
		pthread_mutex_unlock(&kc->lock);
		return -ENOMEM;
	}
	x->in_bytes += n;
	x->write_req = true;
	pthread_mutex_unlock(&kc->lock);
	lws_cancel_service(kc->ctx);
	return (ssize_t)n;
}

int kexec_version(struct kexec *x, int timeout_ms)
{
	struct kclient *kc = x->kc;
	uint64_t dl = deadline_of(timeout_ms);
	int v;

	pthread_mutex_lock(&kc->lock);
	while (x->state != X_OPEN && x->state != X_DONE)
		if (!wait_until(x, dl)) {
			pthread_mutex_unlock(&kc->lock);
			return -ETIMEDOUT;
		}
	v = x->version ? x->version : (x->res.rc ? x->res.rc : -EPIPE);
	pthread_mutex_unlock(&kc->lock);
	return v;
}

int kexec_close_stdin(struct kexec *x)
{
	struct kclient *kc = x->kc;
	int v = kexec_version(x, -1);

	if (!x->want_in)
		return -EBADF;
	if (v < 0)
		return -EPIPE;
	if (v == 4)
		return -ENOTSUP; /* v4 has no way to signal stdin EOF */
	pthread_mutex_lock(&kc->lock);
	x->in_eof = true;
	x->write_req = true;
	pthread_mutex_unlock(&kc->lock);
	lws_cancel_service(kc->ctx);
	return 0;
}

ssize_t kexec_read(struct kexec *x, enum kexec_chan *chan, void *buf, size_t n, int timeout_ms)
{
	struct kclient *kc = x->kc;
	uint64_t dl = deadline_of(timeout_ms);
	size_t got = 0;

	pthread_mutex_lock(&kc->lock);
	while (!x->out_head && x->state != X_DONE)
		if (!wait_until(x, dl)) {
			pthread_mutex_unlock(&kc->lock);
			return -ETIMEDOUT;
		}
	if (!x->out_head) {
		pthread_mutex_unlock(&kc->lock);
		return 0;
	}
	*chan = (enum kexec_chan)x->out_head->chan;
	/* As much as fits, from consecutive chunks of the same channel. */
	while (x->out_head && x->out_head->chan == (uint8_t)*chan && got < n) {
		struct chunk *c = x->out_head;
		size_t take = c->len - c->off;

		if (take > n - got)
			take = n - got;
		memcpy((char *)buf + got, c->data + c->off, take);
		got += take;
		c->off += take;
		x->out_bytes -= take;
		if (c->off == c->len) {
			x->out_head = c->next;
			if (!x->out_head)
				x->out_tail = NULL;
			free(c);
		}
	}
	if (x->rx_paused && x->out_bytes <= OUTQ_CAP)
		pthread_cond_broadcast(&x->cond); /* the service thread waits for room */
	pthread_mutex_unlock(&kc->lock);
	return (ssize_t)got;
}

/* A refused upgrade: ask the same URL over REST,
 * where the API server answers with its Status (401/403/404/400...). */
static void refine_refusal(struct kexec *x)
{
	char *body = NULL, err[KCLIENT_ERR_MAX];
	size_t len;
	long status = 0;

	if (x->res.rc != -ECONNREFUSED || x->res_refined)
		return;
	x->res_refined = true;
	if (x->http_status == 0 && !strstr(x->res.message, "not 101"))
		return; /* not an HTTP refusal: a network or TLS failure */
	if (krest_get(x->kc, x->path, &status, &body, &len, err, sizeof(err)) == 0 && status >= 400) {
		bool upgrade_only = status == 400 && body && strstr(body, "Upgrade request required");

		if (!upgrade_only) {
			x->res.rc = krest_status_error(status, body, x->res.message, sizeof(x->res.message));
			x->res.http_status = status;
		} else if (x->http_status == 429) {
			x->res.rc = -EAGAIN;
			snprintf(x->res.message, sizeof(x->res.message),
				 "Error from server (TooManyRequests): the API server refused the exec: too many requests (HTTP 429), try again later");
		} else if (x->http_status >= 500) {
			x->res.rc = -EIO;
			snprintf(x->res.message, sizeof(x->res.message),
				 "Error from server: the API server refused the exec (HTTP %ld)", x->http_status);
		} else if (x->http_status) {
			snprintf(x->res.message, sizeof(x->res.message),
				 "the API server refused the WebSocket exec upgrade (HTTP %ld)", x->http_status);
		}
	}
	free(body);
}

int kexec_wait(struct kexec *x, struct kexec_result *r, int timeout_ms)
{
	struct kclient *kc = x->kc;
	uint64_t dl = deadline_of(timeout_ms);

	pthread_mutex_lock(&kc->lock);
	while (x->state != X_DONE) {
		/* Unread output would stall the stream: drop it. */
		if (x->out_head) {
			free_chunks(x->out_head);
			x->out_head = x->out_tail = NULL;
			x->out_bytes = 0;
			pthread_cond_broadcast(&x->cond);
		}
		if (!wait_until(x, dl)) {
			pthread_mutex_unlock(&kc->lock);
			return -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&kc->lock);
	refine_refusal(x);
	if (r)
		*r = x->res;
	return x->res.rc;
}

void kexec_cancel(struct kexec *x)
{
	/* X may be freed by its owner the moment the lock is dropped */
	struct kclient *kc = x->kc;

	pthread_mutex_lock(&kc->lock);
	if (x->state != X_DONE)
		x->cancel_req = true;
	pthread_mutex_unlock(&kc->lock);
	lws_cancel_service(kc->ctx);
}

void kexec_free(struct kexec *x)
{
	if (!x)
		return;
	kexec_cancel(x);
	pthread_mutex_lock(&x->kc->lock);
	while (x->state != X_DONE)
		pthread_cond_wait(&x->cond, &x->kc->lock);
	pthread_mutex_unlock(&x->kc->lock);
	free_chunks(x->in_head);
	free_chunks(x->out_head);
	kauth_creds_free(&x->creds);
	buf_cleanup(&x->status);
	buf_cleanup(&x->head);
	pthread_cond_destroy(&x->cond);
	free(x->path);
	free(x->full_path);
	free(x);
}
