/* path.c: operands, pod paths, names and resume decisions (see
 * cp_path.h). Pure functions: no I/O, no global state, no locks.
 */
#include "cp_path.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_SUFFIX ".podfs-part"
#define PART_PREFIX ".podfs-part-"

void cp_spec_cleanup(struct cp_spec *s)
{
	free(s->ns);
	free(s->pod);
	free(s->path);
	s->ns = s->pod = s->path = NULL;
}

/* A DNS-1123 label or subdomain, as pod and namespace names are. */
static bool k8s_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int cp_spec_parse(const char *arg, struct cp_spec *out, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	const char *slash;

	memset(out, 0, sizeof(*out));
	if (!colon || arg[0] == '/' || !strncmp(arg, "./", 2) || !strncmp(arg, "../", 3) ||
	    (colon == arg + 1 && colon[1] == '\\')) {
		out->path = strdup(arg);
		return out->path ? 0 : -ENOMEM;
	}
	if (colon == arg) {
		snprintf(err, errlen, "'%s': a pod name is missing before ':' (write ./%s for a local file)", arg, arg);
		return -EINVAL;
	}
	slash = memchr(arg, '/', (size_t)(colon - arg));
	if (slash && memchr(slash + 1, '/', (size_t)(colon - slash - 1))) {
		snprintf(err, errlen, "'%s': expected [NAMESPACE/]POD:PATH (write ./%s for a local file)", arg, arg);
		return -EINVAL;
	}
	if ((slash && !k8s_name_ok(arg, (size_t)(slash - arg))) ||
	    !k8s_name_ok(slash ? slash + 1 : arg, (size_t)(colon - (slash ? slash + 1 : arg)))) {
		snprintf(err, errlen,
			 "'%s': '%.*s' is not a pod name ([NAMESPACE/]POD:PATH; write ./%s for a local file with ':')",
			 arg, (int)(colon - arg), arg, arg);
		return -EINVAL;
	}
	out->remote = true;
	if (slash) {
		out->ns = strndup(arg, (size_t)(slash - arg));
		out->pod = strndup(slash + 1, (size_t)(colon - slash - 1));
	} else {
		out->pod = strndup(arg, (size_t)(colon - arg));
	}
	out->path = strdup(colon + 1);
	if ((slash && !out->ns) || !out->pod || !out->path) {
		cp_spec_cleanup(out);
		return -ENOMEM;
	}
	return 0;
}

int cp_remote_path(const char *workdir, const char *path, char **out, bool *contents)
{
	size_t wl = strlen(workdir), pl = strlen(path), n = 0;
	char *in, *res;
	bool dot = false;

	*out = NULL;
	if (contents)
		*contents = false;
	if (path[0] != '/' && workdir[0] != '/')
		return -EINVAL;
	/* "X/." and "." (and "X/./" ...): the contents of X */
	{
		size_t l = pl;

		while (l > 1 && path[l - 1] == '/')
			l--;
		if ((l == 1 && path[0] == '.') || (l >= 2 && path[l - 1] == '.' && path[l - 2] == '/'))
			dot = true;
	}
	in = malloc(wl + pl + 2);
	res = malloc(wl + pl + 3);
	if (!in || !res) {
		free(in);
		free(res);
		return -ENOMEM;
	}
	if (path[0] == '/') {
		memcpy(in, path, pl + 1);
	} else {
		memcpy(in, workdir, wl);
		in[wl] = '/';
		memcpy(in + wl + 1, path, pl + 1);
	}
	/* Lexical clean: components into RES, ".." pops one. */
	res[0] = '\0';
	for (char *p = in; *p;) {
		char *e;
		size_t cl;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		cl = e ? (size_t)(e - p) : strlen(p);
		if (cl == 1 && p[0] == '.') {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && res[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the '/' */
		} else {
			res[n++] = '/';
			memcpy(res + n, p, cl);
			n += cl;
		}
		p += cl;
	}
	if (n == 0)
		res[n++] = '/';
	res[n] = '\0';
	free(in);
	*out = res;
	if (contents)
		*contents = dot;
	return 0;
}

char *cp_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return strdup(s ? s + 1 : path);
}

char *cp_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (dl == 1 && dir[0] == '/')
		dl = 0;
	p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

bool cp_name_ok(const char *name)
{
	size_t l = strnlen(name, 256);

	return l > 0 && l <= 255 && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void cp_part_name(const char *name, char out[256])
{
	size_t l = strlen(name);

	if (l + sizeof(PART_SUFFIX) - 1 <= 255)
		snprintf(out, 256, "%s" PART_SUFFIX, name);
	else
		snprintf(out, 256, PART_PREFIX "%016" PRIx64, fnv1a(name));
}

bool cp_is_part_name(const char *name)
{
	size_t l = strlen(name), sl = sizeof(PART_SUFFIX) - 1;

	return (l > sl && !strcmp(name + l - sl, PART_SUFFIX)) ||
	       (l == sizeof(PART_PREFIX) - 1 + 16 && !strncmp(name, PART_PREFIX, sizeof(PART_PREFIX) - 1));
}

bool cp_mtime_eq(int64_t a, long an, int64_t b, long bn)
{
	return a == b && (an == bn || an == 0 || bn == 0);
}

enum cp_action cp_decide(const struct cp_finfo *src, const struct cp_finfo *dst, const struct cp_finfo *part,
			 uint64_t *off)
{
	*off = 0;
	if (dst && dst->exists && dst->regular && dst->size == src->size &&
	    cp_mtime_eq(dst->mtime, dst->mtime_nsec, src->mtime, src->mtime_nsec))
		return CP_SKIP;
	if (part && part->exists && part->regular && part->size > 0 && part->size <= src->size &&
	    cp_mtime_eq(part->mtime, part->mtime_nsec, src->mtime, src->mtime_nsec)) {
		*off = part->size;
		return CP_RESUME;
	}
	return CP_COPY;
}

bool cp_same_size(const struct cp_finfo *src, const struct cp_finfo *dst)
{
	return dst && dst->exists && dst->regular && dst->size == src->size;
}

enum cp_action cp_decide_checksum(const struct cp_finfo *src, const struct cp_finfo *dst,
				  const struct cp_finfo *part, bool same_content, uint64_t *off)
{
	if (same_content && cp_same_size(src, dst)) {
		*off = 0;
		return CP_SKIP;
	}
	return cp_decide(src, NULL, part, off);
}

void cp_printable(const char *name, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		char tmp[5];
		size_t tl;

		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			tmp[0] = (char)*p;
			tl = 1;
		} else if (*p == '\\') {
			tmp[0] = tmp[1] = '\\';
			tl = 2;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			tl = 4;
		}
		if (o + tl + 1 > outsz) {
			/* cut: make room for "..." */
			while (o > 0 && o + 4 > outsz)
				o--;
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = '\0';
}

void cp_fmt_bytes(uint64_t n, char *out, size_t outsz)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%" PRIu64 " B", n);
	else
		snprintf(out, outsz, "%.1f %s", v, units[u]);
}
