/* quote.c: shell quoting and command building (see quote.h). The only
 * place where shell text is put together. */
#include "quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

int hq_quote(struct buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	int rc;

	if (memchr(s, '\0', len))
		return -EINVAL;
	/* '...' quotes everything but ' itself, which becomes '\'' */
	rc = buf_append(out, "'", 1);
	for (size_t i = 0; rc == 0 && i < len;) {
		const char *q = memchr(s + i, '\'', len - i);
		size_t run = q ? (size_t)(q - (s + i)) : len - i;

		rc = buf_append(out, s + i, run);
		i += run;
		if (rc == 0 && q) {
			rc = buf_append(out, "'\\''", 4);
			i++;
		}
	}
	if (rc == 0)
		rc = buf_append(out, "'", 1);
	if (rc) {
		out->len = start; /* all or nothing */
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

int hq_data(struct buf *out, const void *data, size_t len)
{
	static const char oct[] = "01234567";
	const unsigned char *d = data;
	size_t start = out->len;
	int rc = buf_append(out, "'", 1);

	for (size_t i = 0; rc == 0 && i < len;) {
		size_t run = 0;

		/* runs of plain printable ASCII go as they are (but a leading
		 * '-' would make the format an option of printf) */
		while (i + run < len && !(i + run == 0 && d[0] == '-') && d[i + run] >= 0x20 && d[i + run] < 0x7f && d[i + run] != '\\' &&
		       d[i + run] != '%' && d[i + run] != '\'')
			run++;
		if (run) {
			rc = buf_append(out, (const char *)d + i, run);
			i += run;
			continue;
		}
		/* the shortest escape ("\\0" for NUL: tar headers are mostly
		 * NULs) unless an octal digit follows, which would join it */
		char esc[4] = { '\\', oct[d[i] >> 6], oct[(d[i] >> 3) & 7], oct[d[i] & 7] };
		bool digit_next = i + 1 < len && d[i + 1] >= '0' && d[i + 1] <= '7';
		size_t skip = digit_next ? 0 : d[i] < 8 ? 2 : d[i] < 64 ? 1 : 0;

		if (skip) {
			esc[1] = esc[1 + skip];
			if (skip == 1)
				esc[2] = esc[3];
		}
		rc = buf_append(out, esc, 4 - skip);
		i++;
	}
	if (rc == 0)
		rc = buf_append(out, "'", 1);
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

int hq_cmd(struct buf *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = hq_vcmd(out, fmt, ap);
	va_end(ap);
	return rc;
}

int hq_vcmd(struct buf *out, const char *fmt, va_list ap)
{
	size_t start = out->len;
	int rc = 0;

	for (const char *p = fmt; *p && rc == 0; p++) {
		if (*p != '%') {
			const char *next = strchr(p, '%');
			size_t run = next ? (size_t)(next - p) : strlen(p);

			rc = buf_append(out, p, run);
			p += run - 1;
			continue;
		}
		switch (*++p) {
		case 'q': {
			const char *s = va_arg(ap, const char *);

			rc = hq_quote(out, s, strlen(s));
			break;
		}
		case 'Q': {
			const char *s = va_arg(ap, const char *);
			size_t n = va_arg(ap, size_t);

			rc = hq_quote(out, s, n);
			break;
		}
		case 'D': {
			const void *d = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = hq_data(out, d, n);
			break;
		}
		case 's':
			rc = buf_append_str(out, va_arg(ap, const char *));
			break;
		case 'd':
			rc = buf_printf(out, "%d", va_arg(ap, int));
			break;
		case 'u':
			rc = buf_printf(out, "%u", va_arg(ap, unsigned));
			break;
		case 'l':
			if (p[1] == 'l' && p[2] == 'u') {
				rc = buf_printf(out, "%llu", va_arg(ap, unsigned long long));
				p += 2;
			} else if (p[1] == 'l' && p[2] == 'd') {
				rc = buf_printf(out, "%lld", va_arg(ap, long long));
				p += 2;
			} else {
				rc = -EINVAL;
			}
			break;
		case '%':
			rc = buf_append(out, "%", 1);
			break;
		default:
			rc = -EINVAL;
			break;
		}
	}
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}
