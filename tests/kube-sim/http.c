/* http.c: connection I/O over OpenSSL and a small HTTP/1.1 parser.
 *
 * The socket is non-blocking; every wait is a poll() with a deadline, so a
 * stalled peer costs a connection, never a thread forever. Requests are
 * capped at 64 KiB of headers and 1 MiB of body.
 */
#include "ksim.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>

#include "strparse.h"

#define MAX_BODY (1u << 20)

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

/* Read what is available without waiting: >0 bytes, 0 nothing yet,
 * -EPIPE at EOF or error, -ENOBUFS when rbuf is full. */
int conn_read_nb(struct conn *c)
{
	size_t got = 0;

	while (c->rlen < sizeof(c->rbuf)) {
		int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));

		if (n > 0) {
			c->rlen += (size_t)n;
			c->bytes_in += (uint64_t)n;
			got += (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		ERR_clear_error();
		return got ? (int)got : -EPIPE;
	}
	if (got == 0 && c->rlen == sizeof(c->rbuf))
		return -ENOBUFS;
	return (int)got;
}

int conn_fill(struct conn *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		int r = conn_read_nb(c);

		if (r != 0)
			return r;
		uint64_t now = now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		r = wait_fd(c->fd, POLLIN, (int)(deadline - now));
		if (r)
			return r;
	}
}

int conn_write_all(struct conn *c, const void *p, size_t n, int timeout_ms)
{
	const char *s = p;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	while (n > 0) {
		int w = SSL_write(c->ssl, s, n > (1u << 30) ? (1 << 30) : (int)n);

		if (w > 0) {
			s += w;
			n -= (size_t)w;
			c->bytes_out += (uint64_t)w;
			continue;
		}
		int e = SSL_get_error(c->ssl, w);
		short ev;

		if (e == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else if (e == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else {
			ERR_clear_error();
			return -EPIPE;
		}
		uint64_t now = now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		int r = wait_fd(c->fd, ev, (int)(deadline - now));

		if (r)
			return r;
	}
	return 0;
}

static char *find_crlfcrlf(const uint8_t *b, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r')
			return (char *)(b + i + 1);
	return NULL;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode %XX (and '+' as space when FORM) in place. -EINVAL on a bad
 * escape or an escaped NUL. */
static int pct_decode(char *s, bool form)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			int h = hexval((unsigned char)s[1]), l = h < 0 ? -1 : hexval((unsigned char)s[2]);

			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -EINVAL;
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else if (form && *s == '+') {
			*o++ = ' ';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

void http_req_free(struct http_req *r)
{
	free(r->raw);
	free(r->body);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

int http_read_request(struct conn *c, struct http_req *r, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char *end, *line, *save = NULL;
	size_t hlen;
	const char *cl, *te;

	memset(r, 0, sizeof(*r));
	while (!(end = find_crlfcrlf(c->rbuf, c->rlen))) {
		uint64_t now = now_ms();
		int n;

		if (c->rlen == sizeof(c->rbuf))
			return -E2BIG;
		if (now >= deadline)
			return -ETIMEDOUT;
		n = conn_fill(c, (int)(deadline - now));
		if (n < 0)
			return n == -ENOBUFS ? -E2BIG : n;
	}
	hlen = (size_t)(end - (char *)c->rbuf);
	r->raw = malloc(hlen + 1);
	if (!r->raw)
		return -ENOMEM;
	memcpy(r->raw, c->rbuf, hlen);
	r->raw[hlen] = '\0';
	memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
	c->rlen -= hlen;

	line = strtok_r(r->raw, "\r\n", &save);
	if (!line)
		return -EINVAL;
	{
		char *sp1 = strchr(line, ' '), *sp2;

		if (!sp1 || (size_t)(sp1 - line) >= sizeof(r->method))
			return -EINVAL;
		memcpy(r->method, line, (size_t)(sp1 - line));
		r->target = sp1 + 1;
		sp2 = strchr(r->target, ' ');
		if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
			return -EINVAL;
		*sp2 = '\0';
	}
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		char *colon = strchr(line, ':');

		if (!colon || r->nhdrs == HTTP_MAX_HEADERS)
			return -EINVAL;
		*colon = '\0';
		char *v = colon + 1;

		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);

		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		r->hdrs[r->nhdrs].name = line;
		r->hdrs[r->nhdrs].value = v;
		r->nhdrs++;
	}
	{
		char *q = strchr(r->target, '?');
		size_t pl = q ? (size_t)(q - r->target) : strlen(r->target);

		r->query = q ? q + 1 : r->target + strlen(r->target);
		r->path = strndup(r->target, pl);
		if (!r->path)
			return -ENOMEM;
		if (pct_decode(r->path, false))
			return -EINVAL;
	}
	te = http_header(r, "Transfer-Encoding");
	if (te && strcasecmp(te, "identity") != 0)
		return -ENOSYS; /* chunked request bodies: not needed by any client we serve */
	cl = http_header(r, "Content-Length");
	if (cl) {
		uint64_t len;

		if (parse_u64_str(cl, MAX_BODY, &len))
			return -EFBIG;
		r->body = malloc(len + 1);
		if (!r->body)
			return -ENOMEM;
		while (c->rlen < len) {
			uint64_t now = now_ms();
			int n;

			if (now >= deadline)
				return -ETIMEDOUT;
			/* Bodies above the read buffer are read in pieces. */
			if (c->rlen == sizeof(c->rbuf)) {
				memcpy(r->body + r->body_len, c->rbuf, c->rlen);
				r->body_len += c->rlen;
				len -= c->rlen;
				c->rlen = 0;
				continue;
			}
			n = conn_fill(c, (int)(deadline - now));
			if (n < 0)
				return n;
		}
		memcpy(r->body + r->body_len, c->rbuf, len);
		r->body_len += len;
		r->body[r->body_len] = '\0';
		memmove(c->rbuf, c->rbuf + len, c->rlen - len);
		c->rlen -= len;
	}
	return 0;
}

const char *http_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (!strcasecmp(r->hdrs[i].name, name))
			return r->hdrs[i].value;
	return NULL;
}

/* Does any header NAME contain TOKEN in its comma-separated list? */
bool http_header_has_token(const struct http_req *r, const char *name, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *v = r->hdrs[i].value;

		if (strcasecmp(r->hdrs[i].name, name))
			continue;
		while (*v) {
			while (*v == ' ' || *v == ',' || *v == '\t')
				v++;
			size_t l = strcspn(v, ",");
			size_t t = l;

			while (t && (v[t - 1] == ' ' || v[t - 1] == '\t'))
				t--;
			if (t == tl && !strncasecmp(v, token, tl))
				return true;
			v += l;
		}
	}
	return false;
}

const char *http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

int http_respond(struct conn *c, int status, const char *ctype, const char *body, size_t len,
		 const char *extra_headers)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-cache, private\r\n"
			 "%s"
			 "\r\n",
			 status, http_reason(status), ctype, len, extra_headers ? extra_headers : "");
	int rc;

	if (n < 0 || (size_t)n >= sizeof(head))
		return -EOVERFLOW;
	rc = conn_write_all(c, head, (size_t)n, 30000);
	if (rc == 0 && len)
		rc = conn_write_all(c, body, len, 30000);
	return rc;
}

int query_parse(const char *query, struct qparam **out, size_t *n)
{
	struct qparam *q = NULL;
	size_t cnt = 0, cap = 0;
	const char *s = query;

	*out = NULL;
	*n = 0;
	while (s && *s) {
		size_t l = strcspn(s, "&");

		if (l) {
			char *kv = strndup(s, l), *eq;

			if (!kv)
				goto fail;
			eq = strchr(kv, '=');
			if (cnt == cap) {
				struct qparam *nq;

				cap = cap ? cap * 2 : 8;
				nq = realloc(q, cap * sizeof(*q));
				if (!nq) {
					free(kv);
					goto fail;
				}
				q = nq;
			}
			q[cnt].key = kv;
			q[cnt].val = eq ? eq + 1 : kv + l;
			if (eq)
				*eq = '\0';
			cnt++;
			if (pct_decode(q[cnt - 1].key, true) || pct_decode(q[cnt - 1].val, true)) {
				query_free(q, cnt);
				return -EINVAL;
			}
		}
		s += l;
		if (*s == '&')
			s++;
	}
	*out = q;
	*n = cnt;
	return 0;
fail:
	query_free(q, cnt);
	return -ENOMEM;
}

void query_free(struct qparam *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(q[i].key);
	free(q);
}

const char *query_get(const struct qparam *q, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(q[i].key, key))
			return q[i].val;
	return NULL;
}

bool query_bool(const struct qparam *q, size_t n, const char *key)
{
	const char *v = query_get(q, n, key);

	if (!v)
		return false;
	return strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}
