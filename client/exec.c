/* exec.c: exec sessions over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io).
 *
 * One lws context per kclient, served by one thread (the "service
 * thread"); it alone calls lws. Other threads change a session's queues
 * and flags under kc->lock and wake the service thread with
 * lws_cancel_service(), whose LWS_CALLBACK_EVENT_WAIT_CANCELLED then
 * connects pending sessions, asks for writable callbacks, resumes reading
 * and cancels. Each session has a condition variable (on kc->lock) for its
 * waiters.
 *
 * Wire rules (shared/reference/k8s-exec-protocol.md §2): only the first
 * fragment of a message carries the channel byte; text frames are a
 * protocol error; stdin goes out in messages of at most 32 KiB; v5 closes
 * stdin with [255, 0]; the status on channel 3 is read to the end and
 * parsed once; a stream that ends without a status is an error, never
 * success. Memory is bounded both ways: kexec_write blocks while 1 MiB of
 * stdin is queued; when 8 MiB of a session's output waits for kexec_read,
 * the service thread waits (in steps of 50 ms, watching for cancellation)
 * until the reader catches up. lws_rx_flow_control() is not used: with TLS
 * it spins forever in lws 4.1 once the SSL layer holds pending data
 * (warmcat/libwebsockets#2360). The price: one session whose reader stalls
 * delays the others of the same kclient until it reads or is cancelled.
 *
 * Lock order: kc->lock only; never held across an lws call that may call
 * back (connect, write, flow control, close).
 */
#include "kclient_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "buf.h"
#include "log.h"
#include "strparse.h"

#define OUTQ_CAP (8u << 20)
#define RX_BUFFER 65536
#define INQ_CAP (1u << 20)
#define TX_CHUNK 32768
#define STATUS_CAP (64u << 10)
#define PROTOCOLS "v5.channel.k8s.io,v4.channel.k8s.io"

struct chunk {
	struct chunk *next;
	size_t len, off;
	uint8_t chan;
	uint8_t data[];
};

enum xstate { X_PENDING, X_CONNECTING, X_OPEN, X_DONE };

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
	/* stdin */
	struct chunk *in_head, *in_tail;
	size_t in_bytes;
	bool in_eof, in_eof_sent, write_req;
	/* output */
	struct chunk *out_head, *out_tail;
	size_t out_bytes;
	bool rx_paused; /* the service thread waits for the reader */
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
	char proto[64]; /* negotiated subprotocol, from the 101 */
	uint8_t tx[LWS_PRE + 1 + TX_CHUNK];
};

static const lws_retry_bo_t ping_policy = {
	.secs_since_valid_ping = 10,   /* ping an idle connection */
	.secs_since_valid_hangup = 60, /* no pong for a minute: dead */
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
	{ "podfs-exec", callback, 0, RX_BUFFER, 0, NULL, 0 },
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
 * it (WSI_DESTROY) after the owner has freed X. */
static void finish(struct kexec *x, bool conn_error, struct lws *wsi)
{
	struct kclient *kc = x->kc;
	struct kexec_result *r = &x->res;

	if (wsi) {
		lws_set_opaque_user_data(wsi, NULL);
		lws_set_wsi_user(wsi, NULL);
	}
	pthread_mutex_lock(&kc->lock);
	if (x->state == X_DONE) {
		pthread_mutex_unlock(&kc->lock);
		return;
	}
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

/* ---- service thread ---- */

static int ensure_vhost(struct kclient *kc, const struct kauth_creds *cr, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	SSL_CTX *ctx = NULL;
	struct lws_vhost *vh;
	char proxy_host[256] = "";
	unsigned proxy_port = 0;

	if (kc->vhost && (!cr->cert_pem || cr->generation == kc->cert_gen))
		return 0;
	if (kc->tls) {
		int rc = ktls_client_ctx(kc->cfg, cr, &ctx, err, errlen);

		if (rc)
			return rc;
	}
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.provided_client_ssl_ctx = ctx;
	info.vhost_name = "podfs";
	if (kc->cfg->proxy_url) {
		const char *p = kc->cfg->proxy_url;

		if (strncmp(p, "http://", 7)) {
			snprintf(err, errlen,
				 "proxy-url %s: exec streams can go through an http:// proxy only (https and socks5 proxies are not supported)",
				 p);
			SSL_CTX_free(ctx);
			return -ENOTSUP;
		}
		p += 7;
		size_t hl = strcspn(p, ":/");
		uint64_t port = 80;

		if (hl >= sizeof(proxy_host)) {
			SSL_CTX_free(ctx);
			return -EINVAL;
		}
		memcpy(proxy_host, p, hl);
		proxy_host[hl] = '\0';
		if (p[hl] == ':' && parse_u64(p + hl + 1, strcspn(p + hl + 1, "/"), 65535, &port)) {
			snprintf(err, errlen, "proxy-url %s: bad port", kc->cfg->proxy_url);
			SSL_CTX_free(ctx);
			return -EINVAL;
		}
		info.http_proxy_address = proxy_host;
		info.http_proxy_port = (unsigned)port;
		proxy_port = (unsigned)port;
	}
	(void)proxy_port;
	vh = lws_create_vhost(kc->ctx, &info);
	if (!vh) {
		snprintf(err, errlen, "cannot create the TLS client context for exec streams");
		SSL_CTX_free(ctx);
		return -ENOMEM;
	}
	/* The old vhost's connections keep its SSL_CTX until the context goes. */
	kc->vhost = vh;
	if (kc->ssl_ctx && ctx)
		SSL_CTX_free(kc->ssl_ctx); /* lws holds its own reference through the SSLs it made */
	kc->ssl_ctx = ctx;
	kc->cert_gen = cr->generation;
	return 0;
}

static void connect_one(struct kclient *kc, struct kexec *x)
{
	struct lws_client_connect_info i;
	char err[256] = "";
	int rc = ensure_vhost(kc, &x->creds, err, sizeof(err));

	if (rc) {
		pthread_mutex_lock(&kc->lock);
		snprintf(x->conn_err, sizeof(x->conn_err), "%s", err);
		pthread_mutex_unlock(&kc->lock);
		finish(x, true, NULL);
		return;
	}
	memset(&i, 0, sizeof(i));
	i.context = kc->ctx;
	i.vhost = kc->vhost;
	i.address = kc->host;
	i.port = kc->port;
	if (kc->tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (kc->cfg->insecure_skip_tls_verify)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE | LCCSCF_ALLOW_EXPIRED |
					    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	i.path = x->full_path;
	i.host = kc->host_hdr;
	i.protocol = PROTOCOLS;
	i.local_protocol_name = "podfs-exec";
	i.alpn = "http/1.1"; /* WebSocket needs HTTP/1.1; API servers offer h2 */
	i.userdata = x;
	i.opaque_user_data = x;
	i.retry_and_idle_policy = &ping_policy;
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

/* Woken by lws_cancel_service(): act on what other threads asked for. */
static void service_requests(struct kclient *kc)
{
	enum { A_CONNECT = 1, A_WRITABLE = 2, A_KILL = 8, A_DROP = 16 };
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
			what = x->wsi ? A_KILL : (x->state == X_PENDING ? A_DROP : 0);
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
		if (w[k].what & A_DROP)
			finish(w[k].x, false, NULL);
		if (w[k].what & A_KILL)
			lws_set_timeout(w[k].wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		if (w[k].what & A_CONNECT)
			connect_one(kc, w[k].x);
		if ((w[k].what & A_WRITABLE) && w[k].wsi)
			lws_callback_on_writable(w[k].wsi);
	}
	free(w);
}

static int add_header(char **p, char *end, const char *name, const char *value)
{
	int n = snprintf(*p, (size_t)(end - *p), "%s: %s\r\n", name, value);

	if (n < 0 || n >= end - *p)
		return -1;
	*p += n;
	return 0;
}

static int append_headers(struct kexec *x, char **p, char *end)
{
	const struct kcfg *cfg = x->kc->cfg;
	char line[4096];
	int rc = 0;

	if (x->creds.bearer) {
		snprintf(line, sizeof(line), "Bearer %s", x->creds.bearer);
		rc = add_header(p, end, "Authorization", line);
	} else if (x->creds.basic_user) {
		char up[1024];
		int n = snprintf(up, sizeof(up), "%s:%s", x->creds.basic_user,
				 x->creds.basic_pass ? x->creds.basic_pass : "");

		memcpy(line, "Basic ", 6);
		lws_b64_encode_string(up, n, line + 6, (int)sizeof(line) - 6);
		explicit_bzero(up, sizeof(up));
		rc = add_header(p, end, "Authorization", line);
	}
	explicit_bzero(line, sizeof(line));
	if (!rc && cfg->impersonate_user)
		rc = add_header(p, end, "Impersonate-User", cfg->impersonate_user);
	for (char **g = cfg->impersonate_groups; !rc && g && *g; g++)
		rc = add_header(p, end, "Impersonate-Group", *g);
	if (!rc)
		rc = add_header(p, end, "User-Agent", "podfs/" PODFS_VERSION);
	return rc;
}

static void on_receive(struct kexec *x, struct lws *wsi, const uint8_t *p, size_t n)
{
	struct kclient *kc = x->kc;

	if (!lws_frame_is_binary(wsi)) {
		x->proto_error = true;
		snprintf(x->conn_err, sizeof(x->conn_err), "a text frame on a binary channel protocol");
		return;
	}
	if (lws_is_first_fragment(wsi))
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
	if (x->cur_chan == KEXEC_STDOUT || x->cur_chan == KEXEC_STDERR) {
		bool was_empty = !x->out_head;

		if (chunk_push(&x->out_head, &x->out_tail, (uint8_t)x->cur_chan, p, n) == 0) {
			x->out_bytes += n;
			kc->stats.bytes_in += n;
			if (was_empty)
				pthread_cond_broadcast(&x->cond);
		}
		/* Back-pressure: wait for the reader (see the top comment). */
		while (x->out_bytes > OUTQ_CAP && !x->cancel_req && !kc->stopping) {
			struct timespec ts;

			x->rx_paused = true;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 50 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&x->cond, &kc->lock, &ts);
		}
		x->rx_paused = false;
	} else if (x->cur_chan == 3) {
		if (buf_append(&x->status, p, n))
			x->status_overflow = true;
	}
	pthread_mutex_unlock(&kc->lock);
}

static int on_writable(struct kexec *x, struct lws *wsi)
{
	struct kclient *kc = x->kc;
	size_t n = 0;
	bool more, send_close = false;

	pthread_mutex_lock(&kc->lock);
	while (x->in_head && n < TX_CHUNK) {
		struct chunk *c = x->in_head;
		size_t take = c->len - c->off;

		if (take > TX_CHUNK - n)
			take = TX_CHUNK - n;
		memcpy(x->tx + LWS_PRE + 1 + n, c->data + c->off, take);
		n += take;
		c->off += take;
		if (c->off == c->len) {
			x->in_head = c->next;
			if (!x->in_head)
				x->in_tail = NULL;
			free(c);
		}
	}
	x->in_bytes -= n;
	kc->stats.bytes_out += n;
	if (!n && x->in_eof && !x->in_eof_sent && x->version == 5) {
		send_close = true;
		x->in_eof_sent = true;
	}
	more = x->in_head || (x->in_eof && !x->in_eof_sent && x->version == 5);
	if (n)
		pthread_cond_broadcast(&x->cond); /* room for writers */
	pthread_mutex_unlock(&kc->lock);
	if (n) {
		x->tx[LWS_PRE] = 0; /* stdin */
		if (lws_write(wsi, x->tx + LWS_PRE, n + 1, LWS_WRITE_BINARY) < (int)(n + 1))
			return -1;
	} else if (send_close) {
		x->tx[LWS_PRE] = 255;
		x->tx[LWS_PRE + 1] = 0;
		if (lws_write(wsi, x->tx + LWS_PRE, 2, LWS_WRITE_BINARY) < 2)
			return -1;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct kclient *kc = lws_context_user(lws_get_context(wsi));
	struct kexec *x;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		service_requests(kc);
		return 0;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: X509_STORE_CTX; insecure-skip-tls-verify accepts any certificate. */
		if (kc->cfg->insecure_skip_tls_verify)
			X509_STORE_CTX_set_error((X509_STORE_CTX *)user, X509_V_OK);
		return 0;
	default:
		break;
	}
	x = lws_get_opaque_user_data(wsi);
	if (!x)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		char **p = in, *end = *p + len;

		return append_headers(x, p, end) ? -1 : 0;
	}
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* The headers are gone by CLIENT_ESTABLISHED: keep the subprotocol. */
		if (lws_hdr_copy(wsi, x->proto, sizeof(x->proto), WSI_TOKEN_PROTOCOL) < 0)
			x->proto[0] = '\0';
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		const char *proto = x->proto;

		pthread_mutex_lock(&kc->lock);
		x->http_status = 101;
		if (!strcmp(proto, "v5.channel.k8s.io"))
			x->version = 5;
		else if (!strcmp(proto, "v4.channel.k8s.io"))
			x->version = 4;
		if (x->version) {
			x->state = X_OPEN;
			x->write_req = false;
		}
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&kc->lock);
		if (!x->version) {
			snprintf(x->conn_err, sizeof(x->conn_err), "the server chose subprotocol \"%s\", not v5/v4.channel.k8s.io",
				 proto);
			return -1;
		}
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		on_receive(x, wsi, in, len);
		if (x->proto_error) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, NULL, 0);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writable(x, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const uint8_t *b = in;

			x->close_code = (b[0] << 8) | b[1];
		} else {
			x->close_code = 1005;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		long st = lws_http_client_http_response(wsi);

		pthread_mutex_lock(&kc->lock);
		if (st > 0)
			x->http_status = st;
		if (!x->conn_err[0])
			snprintf(x->conn_err, sizeof(x->conn_err), "%.*s", in ? (int)len : 0,
				 in ? (const char *)in : "");
		pthread_mutex_unlock(&kc->lock);
		finish(x, true, wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		finish(x, false, wsi);
		return 0;
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

	for (;;) {
		bool stop;

		pthread_mutex_lock(&kc->lock);
		stop = kc->stopping;
		pthread_mutex_unlock(&kc->lock);
		if (stop)
			break;
		lws_service(kc->ctx, 0);
	}
	return NULL;
}

int kexec_service_start(struct kclient *kc, char *err, size_t errlen)
{
	struct lws_context_creation_info info;

	lws_set_log_level(log_threshold >= LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.protocols = protocols;
	info.user = kc;
	info.timeout_secs = 30;
	info.connect_timeout_secs = 30;
	kc->ctx = lws_create_context(&info);
	if (!kc->ctx) {
		snprintf(err, errlen, "cannot create the WebSocket context");
		return -ENOMEM;
	}
	/* A vhost from the start, so that lws_cancel_service() reaches our
	 * callback (EVENT_WAIT_CANCELLED goes to the protocols of vhosts);
	 * connections use vhosts made on the service thread (ensure_vhost). */
	info.options = 0;
	info.vhost_name = "podfs-control";
	if (!lws_create_vhost(kc->ctx, &info)) {
		lws_context_destroy(kc->ctx);
		kc->ctx = NULL;
		snprintf(err, errlen, "cannot create the WebSocket control vhost");
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
	buf_init(&x->status, STATUS_CAP);
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

/* A refused upgrade says little through lws: ask the same URL over REST,
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
	pthread_mutex_lock(&x->kc->lock);
	if (x->state != X_DONE)
		x->cancel_req = true;
	pthread_mutex_unlock(&x->kc->lock);
	lws_cancel_service(x->kc->ctx);
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
	pthread_cond_destroy(&x->cond);
	free(x->path);
	free(x->full_path);
	free(x);
}
