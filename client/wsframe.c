/* wsframe.c: RFC 6455 framing for the exec client (see wsframe.h).
 *
 * The decoder is built for bulk data: it copies only frame headers (at
 * most 14 bytes) and control payloads (at most 125); data payload is
 * reported in place, as large as the caller's buffer allows, so the cost
 * per byte is one pass of unmasking at most (none for a server's frames).
 * A frame header split between calls is collected in d->hdr. No state is
 * global; nothing allocates.
 */
#include "wsframe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

void wsf_dec_init(struct wsf_dec *d, bool expect_masked, uint64_t max_frame, uint64_t max_msg)
{
	memset(d, 0, sizeof(*d));
	d->expect_masked = expect_masked;
	d->max_frame = max_frame;
	d->max_msg = max_msg;
}

static ssize_t fail(struct wsf_dec *d, int rc, const char *msg)
{
	d->failed = true;
	snprintf(d->err, sizeof(d->err), "%s", msg);
	return rc;
}

/* Bytes the header in d->hdr needs in total (2 until the length form is
 * known). */
static size_t hdr_need(const struct wsf_dec *d)
{
	size_t need = 2;

	if (d->hdr_len < 2)
		return 2;
	if ((d->hdr[1] & 0x7F) == 126)
		need += 2;
	else if ((d->hdr[1] & 0x7F) == 127)
		need += 8;
	if (d->hdr[1] & 0x80)
		need += 4;
	return need;
}

/* d->hdr holds a whole header: check it and start the frame. */
static ssize_t start_frame(struct wsf_dec *d)
{
	const uint8_t *b = d->hdr;
	uint64_t len = b[1] & 0x7F;
	size_t pos = 2;

	if (b[0] & 0x70)
		return fail(d, -EPROTO, "a frame with reserved bits set (no extension was negotiated)");
	d->fin = (b[0] & 0x80) != 0;
	d->opcode = b[0] & 0x0F;
	d->masked = (b[1] & 0x80) != 0;
	if (d->masked != d->expect_masked)
		return fail(d, -EPROTO, d->masked ? "a masked frame from the server" : "an unmasked frame from the client");
	if (len == 126) {
		len = ((uint64_t)b[2] << 8) | b[3];
		pos = 4;
		if (len < 126)
			return fail(d, -EPROTO, "a frame length in a longer form than needed");
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | b[2 + i];
		pos = 10;
		if (len >> 63)
			return fail(d, -EPROTO, "a frame length with the top bit set");
		if (len <= 0xFFFF)
			return fail(d, -EPROTO, "a frame length in a longer form than needed");
	}
	if (d->masked)
		memcpy(d->mask, b + pos, 4);
	switch (d->opcode) {
	case WSF_OP_CLOSE:
	case WSF_OP_PING:
	case WSF_OP_PONG:
		if (!d->fin)
			return fail(d, -EPROTO, "a fragmented control frame");
		if (len > WSF_MAX_CONTROL)
			return fail(d, -EPROTO, "a control frame over 125 bytes");
		d->ctl_len = 0;
		break;
	case WSF_OP_TEXT:
	case WSF_OP_BINARY:
		if (d->in_msg)
			return fail(d, -EPROTO, "a new message before the previous one's last fragment");
		d->in_msg = true;
		d->msg_started = false;
		d->msg_op = d->opcode;
		d->msg_len = 0;
		break;
	case WSF_OP_CONT:
		if (!d->in_msg)
			return fail(d, -EPROTO, "a continuation frame outside a message");
		break;
	default:
		return fail(d, -EPROTO, "a frame with a reserved opcode");
	}
	if (d->opcode < WSF_OP_CLOSE) {
		if (d->max_frame && len > d->max_frame)
			return fail(d, -EMSGSIZE, "a frame over the size limit");
		d->msg_len += len;
		if (d->max_msg && d->msg_len > d->max_msg)
			return fail(d, -EMSGSIZE, "a message over the size limit");
	}
	d->in_frame = true;
	d->hdr_len = 0;
	d->remaining = len;
	d->offset = 0;
	return 0;
}

static ssize_t control_event(struct wsf_dec *d, struct wsf_ev *ev)
{
	ev->data = d->ctl;
	ev->len = d->ctl_len;
	switch (d->opcode) {
	case WSF_OP_PING:
		ev->kind = WSF_EV_PING;
		break;
	case WSF_OP_PONG:
		ev->kind = WSF_EV_PONG;
		break;
	default:
		if (d->ctl_len == 1)
			return fail(d, -EPROTO, "a close frame with a 1-byte payload");
		ev->kind = WSF_EV_CLOSE;
		ev->close_code = d->ctl_len >= 2 ? (d->ctl[0] << 8) | d->ctl[1] : 1005;
		break;
	}
	return 0;
}

ssize_t wsf_decode(struct wsf_dec *d, uint8_t *buf, size_t n, struct wsf_ev *ev)
{
	size_t used = 0;
	ssize_t rc;

	memset(ev, 0, sizeof(*ev));
	if (d->failed)
		return -EPROTO;
	while (!d->in_frame) {
		size_t need = hdr_need(d), take;

		if (d->hdr_len < need) {
			take = need - d->hdr_len;
			if (take > n - used)
				take = n - used;
			memcpy(d->hdr + d->hdr_len, buf + used, take);
			d->hdr_len += take;
			used += take;
			if (d->hdr_len < hdr_need(d)) {
				if (used == n)
					return (ssize_t)used; /* WSF_EV_NONE */
				continue; /* the length form is known now */
			}
		}
		rc = start_frame(d);
		if (rc)
			return rc;
	}
	size_t take = n - used;

	if (take > d->remaining)
		take = (size_t)d->remaining;
	if (d->opcode >= WSF_OP_CLOSE) {
		memcpy(d->ctl + d->ctl_len, buf + used, take);
		if (d->masked)
			wsf_mask(d->ctl + d->ctl_len, take, d->mask, d->offset);
		d->ctl_len += take;
		used += take;
		d->offset += take;
		d->remaining -= take;
		if (d->remaining)
			return (ssize_t)used;
		d->in_frame = false;
		rc = control_event(d, ev);
		return rc ? rc : (ssize_t)used;
	}
	if (take == 0 && d->remaining)
		return (ssize_t)used; /* payload to come */
	if (d->masked)
		wsf_mask(buf + used, take, d->mask, d->offset);
	ev->kind = WSF_EV_DATA;
	ev->opcode = d->msg_op;
	ev->first = !d->msg_started;
	ev->data = buf + used;
	ev->len = take;
	d->msg_started = true;
	used += take;
	d->offset += take;
	d->remaining -= take;
	if (!d->remaining) {
		d->in_frame = false;
		if (d->fin) {
			ev->last = true;
			d->in_msg = false;
		}
	}
	return (ssize_t)used;
}

size_t wsf_build_hdr(uint8_t *out, uint8_t opcode, bool fin, uint64_t len, const uint8_t mask[4])
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

void wsf_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset)
{
	uint8_t m[8];
	uint64_t w;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		m[k] = mask[(offset + (uint64_t)k) & 3];
	memcpy(&w, m, 8);
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, data + i, 8);
		v ^= w;
		memcpy(data + i, &v, 8);
	}
	for (; i < n; i++)
		data[i] ^= m[i & 7];
}

int wsf_accept_key(const char *key, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char tmp[128];
	size_t kl = strlen(key);

	if (kl == 0 || kl > sizeof(tmp) - sizeof(guid))
		return -EINVAL;
	memcpy(tmp, key, kl);
	memcpy(tmp + kl, guid, sizeof(guid) - 1);
	if (EVP_Digest(tmp, kl + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return -EINVAL;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

int wsf_make_key(char out[32])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, r, sizeof(r));
	return 0;
}

size_t wsf_head_len(const char *buf, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Is TOK (length TL) one of the comma-separated tokens of LIST[0..LL)?
 * Case-insensitive if NOCASE. */
static bool in_list(const char *list, size_t ll, const char *tok, size_t tl, bool nocase)
{
	size_t i = 0;

	while (i < ll) {
		size_t s, e;

		while (i < ll && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		s = i;
		while (i < ll && list[i] != ',')
			i++;
		e = i;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - s == tl && tl &&
		    (nocase ? !strncasecmp(list + s, tok, tl) : !memcmp(list + s, tok, tl)))
			return true;
	}
	return false;
}

int wsf_check_response(const char *head, size_t len, const char *key, const char *offered,
		       long *status, char *proto, size_t protolen, char *err, size_t errlen)
{
	const char *p = head, *end = head + len;
	bool upgrade = false, connection = false, accept_ok = false, have_accept = false;
	char want[32];
	int st = 0;

	*status = 0;
	if (protolen)
		proto[0] = '\0';
	if (len < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ') {
		snprintf(err, errlen, "the API server's answer to the upgrade is not HTTP/1.1");
		return -EPROTO;
	}
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9') {
			snprintf(err, errlen, "the API server's answer to the upgrade has no status code");
			return -EPROTO;
		}
		st = st * 10 + (p[i] - '0');
	}
	*status = st;
	if (st != 101) {
		snprintf(err, errlen, "the API server answered HTTP %d to the WebSocket upgrade, not 101", st);
		return -ECONNREFUSED;
	}
	if (wsf_accept_key(key, want)) {
		snprintf(err, errlen, "bad Sec-WebSocket-Key");
		return -EINVAL;
	}
	p = memchr(p, '\n', len);
	p = p ? p + 1 : end;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;

		if (!eol)
			eol = end;
		ve = eol;
		if (ve > p && ve[-1] == '\r')
			ve--;
		colon = memchr(p, ':', (size_t)(ve - p));
		if (colon) {
			size_t nl = (size_t)(colon - p);

			v = colon + 1;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t vl = (size_t)(ve - v);

			if (nl == 7 && !strncasecmp(p, "Upgrade", 7)) {
				upgrade |= in_list(v, vl, "websocket", 9, true);
			} else if (nl == 10 && !strncasecmp(p, "Connection", 10)) {
				connection |= in_list(v, vl, "upgrade", 7, true);
			} else if (nl == 20 && !strncasecmp(p, "Sec-WebSocket-Accept", 20)) {
				accept_ok = !have_accept && vl == strlen(want) && !memcmp(v, want, vl);
				have_accept = true;
			} else if (nl == 22 && !strncasecmp(p, "Sec-WebSocket-Protocol", 22)) {
				if (proto[0] || !in_list(offered, strlen(offered), v, vl, false)) {
					snprintf(err, errlen, "the server chose subprotocol \"%.*s\", which was not offered",
						 (int)(vl > 64 ? 64 : vl), v);
					return -EPROTO;
				}
				if (vl >= protolen) {
					snprintf(err, errlen, "subprotocol name too long");
					return -EPROTO;
				}
				memcpy(proto, v, vl);
				proto[vl] = '\0';
			}
		}
		p = eol + 1;
	}
	if (!upgrade || !connection) {
		snprintf(err, errlen, "the 101 answer lacks \"Upgrade: websocket\" or \"Connection: Upgrade\"");
		return -EPROTO;
	}
	if (!accept_ok) {
		snprintf(err, errlen, "the 101 answer has %s Sec-WebSocket-Accept",
			 have_accept ? "a wrong" : "no");
		return -EPROTO;
	}
	return 0;
}
