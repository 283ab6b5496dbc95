/* ws.c: RFC 6455 frame codec (see ws.h). */
#include "ws.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

int ws_parse_hdr(const uint8_t *buf, size_t n, struct ws_hdr *h)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return 0;
	if (buf[0] & 0x70)
		return -EPROTO; /* RSV bits: no extension was negotiated */
	h->fin = (buf[0] & 0x80) != 0;
	h->opcode = buf[0] & 0x0F;
	switch (h->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!h->fin)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	h->masked = (buf[1] & 0x80) != 0;
	len = buf[1] & 0x7F;
	if (len == 126)
		need += 2;
	else if (len == 127)
		need += 8;
	if (h->masked)
		need += 4;
	if (n < need)
		return 0;
	if (len == 126) {
		len = ((uint64_t)buf[2] << 8) | buf[3];
		if (len < 126)
			return -EPROTO;
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | buf[2 + i];
		if (len >> 63 || len <= 0xFFFF)
			return -EPROTO;
	}
	if (h->opcode >= WS_OP_CLOSE && len > 125)
		return -EPROTO;
	h->len = len;
	if (h->masked)
		memcpy(h->mask, buf + need - 4, 4);
	else
		memset(h->mask, 0, 4);
	return (int)need;
}

size_t ws_build_hdr(uint8_t *out, uint8_t opcode, bool fin, uint64_t len, const uint8_t *mask)
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

void ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset)
{
	for (size_t i = 0; i < n; i++)
		data[i] ^= mask[(offset + i) & 3];
}

int ws_accept_key(const char *key, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char tmp[128];
	size_t kl = strlen(key);

	if (kl == 0 || kl > sizeof(tmp) - sizeof(guid))
		return -EINVAL;
	memcpy(tmp, key, kl);
	memcpy(tmp + kl, guid, sizeof(guid) - 1);
	SHA1((const unsigned char *)tmp, kl + sizeof(guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
	return 0;
}
