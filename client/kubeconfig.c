/* kubeconfig.c: choose cluster, user and namespace as kubectl does
 * (client-go clientcmd; shared/reference/k8s-exec-protocol.md §4).
 *
 * Owns: the list of files to read (--kubeconfig, $KUBECONFIG, ~/.kube/config),
 * reading each one under a size ceiling, parsing it with libyaml (JSON is
 * YAML), merging the files (a cluster, user or context is taken whole from
 * the first file that names it; the first non-empty current-context wins),
 * choosing the context, resolving relative paths against the directory of
 * the file that defined the stanza, reading the CA and client certificate
 * files, validating like client-go's validation.go, and the in-cluster
 * fallback.
 *
 * Invariants: every parsed document lives until the chosen stanzas have been
 * copied into the struct kcfg; nothing in a struct kcfg points into a
 * document. Error messages name files, contexts, clusters and users; they
 * never carry a token, password, key, data field, proxy URL or server URL
 * (either URL may hold user:password@).
 *
 * Locks: none (called once at start-up, from one thread).
 */
#include "kubeconfig.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "log.h"

#define KCFG_MAX_CONFIG (16u << 20) /* one kubeconfig file */
#define KCFG_MAX_PEM (4u << 20)	    /* a CA bundle, certificate or key */
#define KCFG_MAX_SMALL 4096	    /* the in-cluster namespace file */
#define KCFG_JSON_MAX_DEPTH 64	    /* the exec extension, as JSON */
#define KCFG_JSON_MAX_NODES 10000   /* aliases can multiply nodes */

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define EXEC_EXTENSION "client.authentication.k8s.io/exec"
#define EXEC_V1 "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

/* One loaded file. */
struct kdoc {
	const char *path; /* as listed */
	char *dir;	  /* absolute directory of path */
	yaml_document_t doc;
	bool have_doc; /* false: missing or empty file */
};

/* A cluster, user or context, and the file that defined it. */
struct named {
	const char *name; /* points into d->doc */
	struct kdoc *d;
	yaml_node_t *body; /* the mapping under "cluster"/"user"/"context", or NULL */
};

struct nlist {
	struct named *v;
	size_t n, cap;
};

struct loader {
	const struct kcfg_opts *opts;
	struct kdoc *docs;
	size_t ndocs;
	struct nlist clusters, users, contexts;
	const char *current_context; /* points into a document */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct loader *l, int rc, const char *fmt,
						     ...)
{
	va_list ap;

	if (l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err, l->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/* ---- files and paths ---- */

/* Read PATH whole into *OUT (NUL-terminated), at most MAX bytes.
 * -errno, or -EFBIG past MAX. */
static int read_capped(const char *path, size_t max, char **out, size_t *outlen)
{
	struct buf b;
	char chunk[16384];
	int fd, rc = 0;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_init(&b, max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		rc = buf_append(&b, chunk, (size_t)n);
		if (rc == -E2BIG)
			rc = -EFBIG;
		if (rc)
			goto out;
	}
	*outlen = b.len;
	*out = buf_take(&b);
	if (!*out)
		rc = -ENOMEM;
out:
	close(fd);
	if (rc) {
		if (b.data)
			memset(b.data, 0, b.len); /* may be a key */
		buf_cleanup(&b);
	}
	return rc;
}

/* Lexically clean an absolute path in place: no "//", "." or "..". The
 * result is never longer than P, so writing behind the reader is safe. */
static void clean_path(char *p)
{
	size_t len = strlen(p), w = 1, r = 1;

	while (r < len) {
		size_t n = strcspn(p + r, "/");

		if (n == 0 || (n == 1 && p[r] == '.')) {
			/* skip */
		} else if (n == 2 && p[r] == '.' && p[r + 1] == '.') {
			if (w > 1) {
				w--; /* the '/' after the last component */
				while (w > 1 && p[w - 1] != '/')
					w--;
			}
		} else {
			memmove(p + w, p + r, n);
			w += n;
			if (r + n < len)
				p[w++] = '/';
		}
		r += n + 1;
	}
	if (w > 1 && p[w - 1] == '/')
		w--;
	p[w] = '\0';
}

/* BASE (absolute) joined with REL unless REL is absolute; cleaned. */
static char *resolve_path(const char *base, const char *rel)
{
	struct buf b;
	char *p;

	buf_init(&b, (size_t)1 << 20);
	if (rel[0] == '/') {
		if (buf_append_str(&b, rel))
			goto fail;
	} else if (buf_printf(&b, "%s/%s", base, rel)) {
		goto fail;
	}
	p = buf_take(&b);
	if (p)
		clean_path(p);
	return p;
fail:
	buf_cleanup(&b);
	return NULL;
}

/* The absolute directory holding PATH. */
static char *abs_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096];
	char *dir, *abs;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return NULL;
	if (dir[0] == '/') {
		clean_path(dir);
		return dir;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		free(dir);
		return NULL;
	}
	abs = resolve_path(cwd, dir);
	free(dir);
	return abs;
}

/* ---- base64 (the *-data fields) ---- */

static int b64val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard alphabet; whitespace ignored; padding optional. */
static int b64_decode(const char *in, size_t n, char **out, size_t *outlen)
{
	unsigned char *o = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t k = 0, q = 0;
	bool pad = false;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		int v;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (ch == '=') {
			pad = true;
			continue;
		}
		v = b64val(ch);
		if (v < 0 || pad)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		if (++q == 4) {
			o[k++] = (unsigned char)(acc >> 16);
			o[k++] = (unsigned char)(acc >> 8);
			o[k++] = (unsigned char)acc;
			acc = 0;
			q = 0;
		}
	}
	if (q == 1)
		goto bad;
	if (q == 2) {
		o[k++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		o[k++] = (unsigned char)(acc >> 10);
		o[k++] = (unsigned char)(acc >> 2);
	}
	o[k] = '\0';
	*out = (char *)o;
	*outlen = k;
	return 0;
bad:
	free(o);
	return -EINVAL;
}

/* ---- YAML access ---- */

static yaml_node_t *ynode(struct kdoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static yaml_node_t *map_get(struct kdoc *d, yaml_node_t *m, const char *key)
{
	size_t klen = strlen(key);

	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ynode(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen &&
		    !memcmp(k->data.scalar.value, key, klen))
			return ynode(d, p->value);
	}
	return NULL;
}

/* A scalar as a string; *OUT stays NULL for null or "" (client-go's
 * "unset"). WHERE names the stanza for messages. */
static int get_str(struct loader *l, struct kdoc *d, yaml_node_t *m, const char *key,
		   const char *where, char **out)
{
	yaml_node_t *n = map_get(d, m, key);

	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return fail(l, -EINVAL, "%s in %s: %s must be a string", where, d->path, key);
	if (n->data.scalar.length == 0)
		return 0;
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return fail(l, -EINVAL, "%s in %s: %s contains a NUL byte", where, d->path, key);
	*out = strdup(sval(n));
	return *out ? 0 : -ENOMEM;
}

/* Like get_str but points into the document (no copy). */
static int get_ref(struct loader *l, struct kdoc *d, yaml_node_t *m, const char *key,
		   const char *where, const char **out)
{
	yaml_node_t *n = map_get(d, m, key);

	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return fail(l, -EINVAL, "%s in %s: %s must be a string", where, d->path, key);
	if (n->data.scalar.length)
		*out = sval(n);
	return 0;
}

/* YAML 1.1 booleans, as go-yaml reads them. */
static int get_bool(struct loader *l, struct kdoc *d, yaml_node_t *m, const char *key,
		    const char *where, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "on",   "On",   "ON",   "y",   "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off",   "Off",   "OFF",   "n",  "N" };
	yaml_node_t *n = map_get(d, m, key);

	*out = false;
	if (is_null(n))
		return 0;
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcmp(sval(n), yes[i])) {
				*out = true;
				return 0;
			}
			if (!strcmp(sval(n), no[i]))
				return 0;
		}
	}
	return fail(l, -EINVAL, "%s in %s: %s must be true or false", where, d->path, key);
}

/* A base64 field; the content never appears in a message. */
static int get_data(struct loader *l, struct kdoc *d, yaml_node_t *m, const char *key,
		    const char *where, char **out, size_t *outlen)
{
	const char *s;
	int rc;

	*out = NULL;
	*outlen = 0;
	rc = get_ref(l, d, m, key, where, &s);
	if (rc || !s)
		return rc;
	rc = b64_decode(s, strlen(s), out, outlen);
	if (rc == -EINVAL)
		return fail(l, rc, "%s in %s: %s is not valid base64", where, d->path, key);
	return rc;
}

/* A sequence of strings as a NULL-terminated array; NULL if absent. */
static int get_strlist(struct loader *l, struct kdoc *d, yaml_node_t *m, const char *key,
		       const char *where, char ***out)
{
	yaml_node_t *n = map_get(d, m, key);
	size_t cnt, i = 0;
	char **v;

	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(l, -EINVAL, "%s in %s: %s must be a list", where, d->path, key);
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	v = calloc(cnt + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = ynode(d, *it);

		if (!e || e->type != YAML_SCALAR_NODE || is_null(e)) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return fail(l, -EINVAL, "%s in %s: %s must be a list of strings", where,
				    d->path, key);
		}
		v[i] = strdup(sval(e));
		if (!v[i]) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return -ENOMEM;
		}
		i++;
	}
	*out = v;
	return 0;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---- YAML node -> JSON (the exec cluster extension) ---- */

static bool json_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		return false;
	}
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static cJSON *to_json(struct kdoc *d, yaml_node_t *n, int depth, int *budget)
{
	cJSON *j = NULL;

	if (!n || depth > KCFG_JSON_MAX_DEPTH || --*budget < 0)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = sval(n);

		if (is_null(n))
			return cJSON_CreateNull();
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
				return cJSON_CreateTrue();
			if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
				return cJSON_CreateFalse();
			if (json_number(s))
				return cJSON_CreateRaw(s); /* keeps every digit */
		}
		return cJSON_CreateString(s);
	}
	case YAML_SEQUENCE_NODE:
		j = cJSON_CreateArray();
		if (!j)
			return NULL;
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			cJSON *e = to_json(d, ynode(d, *it), depth + 1, budget);

			if (!e || !cJSON_AddItemToArray(j, e)) {
				cJSON_Delete(e);
				goto fail;
			}
		}
		return j;
	case YAML_MAPPING_NODE:
		j = cJSON_CreateObject();
		if (!j)
			return NULL;
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = ynode(d, p->key);
			cJSON *e;

			if (!k || k->type != YAML_SCALAR_NODE)
				goto fail;
			e = to_json(d, ynode(d, p->value), depth + 1, budget);
			if (!e || !cJSON_AddItemToObject(j, sval(k), e)) {
				cJSON_Delete(e);
				goto fail;
			}
		}
		return j;
	default:
		return NULL;
	}
fail:
	cJSON_Delete(j);
	return NULL;
}

/* ---- loading and merging ---- */

static int load_doc(struct loader *l, struct kdoc *d, bool must_exist)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	char *data = NULL;
	size_t len;
	int rc;

	rc = read_capped(d->path, KCFG_MAX_CONFIG, &data, &len);
	if (rc == -ENOENT && !must_exist)
		return 0; /* client-go skips missing $KUBECONFIG entries */
	if (rc == -EFBIG)
		return fail(l, rc, "error loading config file \"%s\": larger than %u MiB", d->path,
			    KCFG_MAX_CONFIG >> 20);
	if (rc)
		return fail(l, rc, "error loading config file \"%s\": %s", d->path, strerror(-rc));
	d->dir = abs_dir(d->path);
	if (!d->dir) {
		rc = -ENOMEM;
		goto out;
	}
	if (len == 0)
		goto out; /* an empty file is an empty config */
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		rc = fail(l, -EINVAL, "error loading config file \"%s\": yaml: line %zu: %s",
			  d->path, parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		goto out;
	}
	yaml_parser_delete(&parser);
	d->have_doc = true;
	root = yaml_document_get_root_node(&d->doc);
	if (root && !is_null(root) && root->type != YAML_MAPPING_NODE)
		rc = fail(l, -EINVAL, "error loading config file \"%s\": not a kubeconfig (the top level is not a mapping)",
			  d->path);
out:
	free(data);
	return rc;
}

static struct named *find_named(struct nlist *list, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (!strcmp(list->v[i].name, name))
			return &list->v[i];
	return NULL;
}

/* Add the KEY list of D (clusters, users, contexts): a name already defined
 * by an earlier file keeps that file's whole stanza. */
static int merge_list(struct loader *l, struct kdoc *d, yaml_node_t *root, const char *key,
		      const char *body_key, struct nlist *list)
{
	yaml_node_t *seq = map_get(d, root, key);
	size_t first = list->n;

	if (is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(l, -EINVAL, "error loading config file \"%s\": %s must be a list",
			    d->path, key);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = ynode(d, *it), *nm, *body;
		const char *name;

		if (!e || e->type != YAML_MAPPING_NODE)
			return fail(l, -EINVAL,
				    "error loading config file \"%s\": entries of %s must be mappings",
				    d->path, key);
		nm = map_get(d, e, "name");
		if (is_null(nm))
			continue;
		if (nm->type != YAML_SCALAR_NODE)
			return fail(l, -EINVAL,
				    "error loading config file \"%s\": a name in %s is not a string",
				    d->path, key);
		name = sval(nm);
		if (find_named(list, list->n, name)) {
			if (find_named(list, first, name))
				continue; /* an earlier file wins */
			return fail(l, -EINVAL,
				    "error loading config file \"%s\": duplicate name \"%s\" in %s",
				    d->path, name, key);
		}
		body = map_get(d, e, body_key);
		if (!is_null(body) && body->type != YAML_MAPPING_NODE)
			return fail(l, -EINVAL,
				    "error loading config file \"%s\": %s \"%s\": %s must be a mapping",
				    d->path, body_key, name, body_key);
		if (list->n == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 8;
			struct named *v = realloc(list->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			list->v = v;
			list->cap = cap;
		}
		list->v[list->n++] = (struct named){ name, d, is_null(body) ? NULL : body };
	}
	return 0;
}

static int merge_doc(struct loader *l, struct kdoc *d)
{
	yaml_node_t *root = yaml_document_get_root_node(&d->doc);
	const char *cur;
	int rc;

	if (!root || is_null(root))
		return 0;
	rc = merge_list(l, d, root, "clusters", "cluster", &l->clusters);
	if (!rc)
		rc = merge_list(l, d, root, "users", "user", &l->users);
	if (!rc)
		rc = merge_list(l, d, root, "contexts", "context", &l->contexts);
	if (!rc)
		rc = get_ref(l, d, root, "current-context", "the top level", &cur);
	if (!rc && cur && !l->current_context)
		l->current_context = cur;
	return rc;
}

/* ---- the environment (or the test hooks standing in for it) ---- */

static const char *opt_env(const struct kcfg_opts *o, const char *val, const char *name)
{
	if (val)
		return val;
	return o->use_process_env ? getenv(name) : NULL;
}

/* The files to read, in order; *EXPLICIT when --kubeconfig named one. */
static int file_list(struct loader *l, char ***out, size_t *n, bool *explicit)
{
	const struct kcfg_opts *o = l->opts;
	const char *env = opt_env(o, o->env_kubeconfig, "KUBECONFIG");
	const char *home = opt_env(o, o->home, "HOME");
	char **v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	*explicit = false;
	if (nonempty(o->kubeconfig)) {
		struct stat st;

		if (stat(o->kubeconfig, &st) < 0)
			return fail(l, -errno, "kubeconfig \"%s\" (--kubeconfig): %s", o->kubeconfig,
				    strerror(errno));
		v = calloc(1, sizeof(*v));
		if (!v || !(v[0] = strdup(o->kubeconfig))) {
			free(v);
			return -ENOMEM;
		}
		*explicit = true;
		cnt = 1;
	} else if (nonempty(env)) {
		const char *p = env;
		size_t max = 1;

		for (const char *q = env; *q; q++)
			max += *q == ':';
		v = calloc(max, sizeof(*v));
		if (!v)
			return -ENOMEM;
		while (*p) {
			const char *colon = strchr(p, ':');
			size_t len = colon ? (size_t)(colon - p) : strlen(p);
			bool dup = false;

			for (size_t i = 0; i < cnt && !dup; i++)
				dup = strlen(v[i]) == len && !memcmp(v[i], p, len);
			if (len && !dup) {
				v[cnt] = strndup(p, len);
				if (!v[cnt])
					goto nomem;
				cnt++;
			}
			p += len;
			if (*p == ':')
				p++;
		}
	} else if (nonempty(home)) {
		struct buf b;

		buf_init(&b, 8192);
		v = calloc(1, sizeof(*v));
		if (!v || buf_printf(&b, "%s/.kube/config", home)) {
			buf_cleanup(&b);
			free(v);
			return -ENOMEM;
		}
		v[0] = buf_take(&b);
		if (!v[0])
			goto nomem;
		cnt = 1;
	}
	*out = v;
	*n = cnt;
	return 0;
nomem:
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

/* client-go's inClusterClientConfig.Possible(). */
static bool in_cluster_possible(const struct kcfg_opts *o)
{
	const char *host = opt_env(o, o->env_service_host, "KUBERNETES_SERVICE_HOST");
	const char *port = opt_env(o, o->env_service_port, "KUBERNETES_SERVICE_PORT");
	const char *sa = o->sa_dir ? o->sa_dir : SA_DIR_DEFAULT;
	char path[4096];
	struct stat st;

	if (!nonempty(host) || !nonempty(port))
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s/token", sa) >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* $POD_NAMESPACE, else the service account's namespace file, else "default". */
static char *in_cluster_namespace(const struct kcfg_opts *o)
{
	const char *env = opt_env(o, o->env_pod_namespace, "POD_NAMESPACE");
	const char *sa = o->sa_dir ? o->sa_dir : SA_DIR_DEFAULT;
	char path[4096];
	char *data = NULL, *s, *e;
	size_t len;

	if (nonempty(env))
		return strdup(env);
	if ((size_t)snprintf(path, sizeof(path), "%s/namespace", sa) < sizeof(path) &&
	    read_capped(path, KCFG_MAX_SMALL, &data, &len) == 0) {
		s = data;
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		*e = '\0';
		if (*s) {
			memmove(data, s, (size_t)(e - s) + 1);
			return data;
		}
		free(data);
	}
	return strdup("default");
}

static int load_in_cluster(struct loader *l, struct kcfg *c)
{
	const struct kcfg_opts *o = l->opts;
	const char *host = opt_env(o, o->env_service_host, "KUBERNETES_SERVICE_HOST");
	const char *port = opt_env(o, o->env_service_port, "KUBERNETES_SERVICE_PORT");
	const char *sa = o->sa_dir ? o->sa_dir : SA_DIR_DEFAULT;
	char cwd[4096], *dir = NULL, *ca = NULL;
	struct buf b;
	int rc, fd;

	c->in_cluster = true;
	buf_init(&b, 8192);
	/* net.JoinHostPort: brackets around an IPv6 address */
	rc = strchr(host, ':') ? buf_printf(&b, "https://[%s]:%s", host, port)
			       : buf_printf(&b, "https://%s:%s", host, port);
	if (rc)
		goto out;
	c->server = buf_take(&b);
	if (sa[0] == '/') {
		dir = strdup(sa);
		if (dir)
			clean_path(dir);
	} else if (getcwd(cwd, sizeof(cwd))) {
		dir = resolve_path(cwd, sa);
	}
	c->token_file = dir ? resolve_path(dir, "token") : NULL;
	ca = dir ? resolve_path(dir, "ca.crt") : NULL;
	if (!c->server || !c->token_file || !ca) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(c->token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = fail(l, -errno, "in-cluster config: cannot read the service account token %s: %s",
			  c->token_file, strerror(errno));
		goto out;
	}
	close(fd);
	rc = read_capped(ca, KCFG_MAX_PEM, &c->ca_pem, &c->ca_pem_len);
	if (rc) {
		/* client-go only logs this */
		log_warn("in-cluster config: cannot read the CA %s: %s", ca, strerror(-rc));
		rc = 0;
	}
out:
	buf_cleanup(&b);
	free(dir);
	free(ca);
	return rc;
}

/* ---- the chosen stanzas ---- */

static bool dns1123_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && !(ch == '-' && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* scheme://authority[/path] with scheme http or https; no query, fragment
 * or trailing '/'. A bare host[:port] gets https when TLS material is
 * configured, else http (client-go's DefaultServerURL). */
static int norm_server(struct loader *l, const char *cluster, const char *in, bool tls,
		       char **out)
{
	const char *sep = strstr(in, "://");
	struct buf b;
	size_t pre, end;
	char *s;

	*out = NULL;
	buf_init(&b, 65536);
	if (!sep) {
		if (buf_printf(&b, "%s://%s", tls ? "https" : "http", in))
			goto nomem;
	} else {
		size_t sl = (size_t)(sep - in);

		if (!((sl == 4 && !strncasecmp(in, "http", 4)) ||
		      (sl == 5 && !strncasecmp(in, "https", 5)))) {
			buf_cleanup(&b);
			return fail(l, -EINVAL,
				    "the server URL of cluster \"%s\" must start with https:// or http://",
				    cluster);
		}
		if (buf_printf(&b, "%s%s", sl == 5 ? "https" : "http", sep))
			goto nomem;
	}
	s = b.data;
	pre = (size_t)(strstr(s, "://") - s) + 3;
	end = strcspn(s, "?#");
	s[end] = '\0';
	while (end > pre && s[end - 1] == '/')
		s[--end] = '\0';
	if (end == pre || s[pre] == '/' || has_ctl(s)) {
		buf_cleanup(&b);
		return fail(l, -EINVAL, "the server URL of cluster \"%s\" is not a valid URL",
			    cluster);
	}
	*out = buf_take(&b);
	return *out ? 0 : -ENOMEM;
nomem:
	buf_cleanup(&b);
	return -ENOMEM;
}

static int check_proxy(struct loader *l, const char *cluster, const char *url)
{
	const char *sep = strstr(url, "://");
	size_t sl = sep ? (size_t)(sep - url) : 0;

	if (sep && ((sl == 4 && !strncmp(url, "http", 4)) ||
		    (sl == 5 && !strncmp(url, "https", 5)) ||
		    (sl == 6 && !strncmp(url, "socks5", 6))))
		return 0;
	if (!sep || sl > 16)
		return fail(l, -EINVAL,
			    "invalid 'proxy-url' for cluster \"%s\": no scheme, must be http, https, or socks5",
			    cluster);
	return fail(l, -EINVAL,
		    "invalid 'proxy-url' for cluster \"%s\": unsupported scheme \"%.*s\", must be http, https, or socks5",
		    cluster, (int)sl, url);
}

/* Read a file named in the kubeconfig (resolved against DIR). */
static int read_ref(struct loader *l, const char *dir, const char *rel, const char *what,
		    const char *where, char **out, size_t *outlen)
{
	char *path = resolve_path(dir, rel);
	int rc;

	if (!path)
		return -ENOMEM;
	rc = read_capped(path, KCFG_MAX_PEM, out, outlen);
	if (rc == -EFBIG)
		rc = fail(l, rc, "unable to read %s %s for %s: larger than %u MiB", what, path, where,
			  KCFG_MAX_PEM >> 20);
	else if (rc)
		rc = fail(l, rc, "unable to read %s %s for %s due to %s", what, path, where,
			  strerror(-rc));
	free(path);
	return rc;
}

static int load_cluster(struct loader *l, struct named *cl, struct kcfg *c, char **server)
{
	struct kdoc *d = cl->d;
	yaml_node_t *m = cl->body;
	char where[512];
	const char *ca_file;
	char *ca_data = NULL;
	size_t ca_len;
	int rc;

	snprintf(where, sizeof(where), "cluster \"%s\"", cl->name);
	rc = get_str(l, d, m, "server", where, server);
	if (!rc)
		rc = get_ref(l, d, m, "certificate-authority", where, &ca_file);
	if (!rc)
		rc = get_data(l, d, m, "certificate-authority-data", where, &ca_data, &ca_len);
	if (!rc)
		rc = get_bool(l, d, m, "insecure-skip-tls-verify", where,
			      &c->insecure_skip_tls_verify);
	if (!rc)
		rc = get_str(l, d, m, "tls-server-name", where, &c->tls_server_name);
	if (!rc)
		rc = get_str(l, d, m, "proxy-url", where, &c->proxy_url);
	if (rc)
		goto out;
	if (!*server) {
		rc = fail(l, -EINVAL, "no server found for cluster \"%s\"", cl->name);
		goto out;
	}
	if (c->insecure_skip_tls_verify && (ca_file || ca_data)) {
		rc = fail(l, -EINVAL,
			  "cluster \"%s\": specifying a root certificates file with the insecure flag is not allowed",
			  cl->name);
		goto out;
	}
	if (c->proxy_url) {
		rc = check_proxy(l, cl->name, c->proxy_url);
		if (rc)
			goto out;
	}
	if (ca_data) {
		if (ca_file)
			log_warn("certificate-authority-data and certificate-authority are both specified for %s. certificate-authority-data will override.",
				 cl->name);
		c->ca_pem = ca_data;
		c->ca_pem_len = ca_len;
		ca_data = NULL;
	} else if (ca_file) {
		rc = read_ref(l, d->dir, ca_file, "certificate-authority", cl->name, &c->ca_pem,
			      &c->ca_pem_len);
	}
out:
	free(ca_data);
	return rc;
}

static int load_exec(struct loader *l, struct named *us, yaml_node_t *ex, struct kcfg *c)
{
	struct kdoc *d = us->d;
	struct kcfg_exec *x;
	yaml_node_t *env;
	char where[512];
	int rc;

	snprintf(where, sizeof(where), "user \"%s\" exec", us->name);
	if (ex->type != YAML_MAPPING_NODE)
		return fail(l, -EINVAL, "user \"%s\" in %s: exec must be a mapping", us->name,
			    d->path);
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	c->exec = x;
	rc = get_str(l, d, ex, "apiVersion", where, &x->api_version);
	if (!rc)
		rc = get_str(l, d, ex, "command", where, &x->command);
	if (!rc)
		rc = get_strlist(l, d, ex, "args", where, &x->args);
	if (!rc)
		rc = get_bool(l, d, ex, "provideClusterInfo", where, &x->provide_cluster_info);
	if (!rc)
		rc = get_str(l, d, ex, "interactiveMode", where, &x->interactive_mode);
	if (!rc)
		rc = get_str(l, d, ex, "installHint", where, &x->install_hint);
	if (rc)
		return rc;
	if (!x->args) {
		x->args = calloc(1, sizeof(*x->args));
		if (!x->args)
			return -ENOMEM;
	}
	env = map_get(d, ex, "env");
	if (!is_null(env)) {
		size_t cnt;

		if (env->type != YAML_SEQUENCE_NODE)
			return fail(l, -EINVAL, "%s in %s: env must be a list", where, d->path);
		cnt = (size_t)(env->data.sequence.items.top - env->data.sequence.items.start);
		x->env = calloc(cnt ? cnt : 1, sizeof(*x->env));
		if (!x->env)
			return -ENOMEM;
		for (yaml_node_item_t *it = env->data.sequence.items.start;
		     it < env->data.sequence.items.top; it++) {
			yaml_node_t *e = ynode(d, *it);
			struct kcfg_env_var *v = &x->env[x->nenv];

			if (!e || e->type != YAML_MAPPING_NODE)
				return fail(l, -EINVAL, "%s in %s: env entries must be mappings",
					    where, d->path);
			x->nenv++;
			rc = get_str(l, d, e, "name", where, &v->name);
			if (!rc)
				rc = get_str(l, d, e, "value", where, &v->value);
			if (rc)
				return rc;
			if (!v->value && !(v->value = strdup("")))
				return -ENOMEM;
			if (!v->name)
				return fail(l, -EINVAL,
					    "env variable name must be specified for %s to use exec authentication plugin",
					    us->name);
			if (strchr(v->name, '='))
				return fail(l, -EINVAL,
					    "env variable name \"%.100s\" for %s contains '='",
					    v->name, us->name);
		}
	}
	/* validation.go validateAuthInfo, then exec.go and api/v1/defaults.go */
	if (!x->command)
		return fail(l, -EINVAL,
			    "command must be specified for %s to use exec authentication plugin",
			    us->name);
	if (!x->api_version)
		return fail(l, -EINVAL,
			    "apiVersion must be specified for %s to use exec authentication plugin",
			    us->name);
	if (strcmp(x->api_version, EXEC_V1) && strcmp(x->api_version, EXEC_V1BETA1))
		return fail(l, -EINVAL, "exec plugin for user \"%s\": invalid apiVersion \"%.100s\"",
			    us->name, x->api_version);
	if (!x->interactive_mode) {
		if (!strcmp(x->api_version, EXEC_V1))
			return fail(l, -EINVAL,
				    "interactiveMode must be specified for %s to use exec authentication plugin",
				    us->name);
		x->interactive_mode = strdup("IfAvailable");
		if (!x->interactive_mode)
			return -ENOMEM;
	}
	if (strcmp(x->interactive_mode, "Never") && strcmp(x->interactive_mode, "IfAvailable") &&
	    strcmp(x->interactive_mode, "Always"))
		return fail(l, -EINVAL, "invalid interactiveMode for %s: \"%.100s\"", us->name,
			    x->interactive_mode);
	if (strchr(x->command, '/')) {
		char *p = resolve_path(d->dir, x->command);

		if (!p)
			return -ENOMEM;
		free(x->command);
		x->command = p;
	}
	return 0;
}

/* The deprecated auth-provider stanza: client-go 1.32 keeps only oidc; we
 * send its id-token as a static bearer token (no refresh). */
static int load_auth_provider(struct loader *l, struct named *us, yaml_node_t *ap,
			      struct kcfg *c)
{
	struct kdoc *d = us->d;
	char where[512];
	const char *name, *idt;
	int rc;

	snprintf(where, sizeof(where), "user \"%s\" auth-provider", us->name);
	if (ap->type != YAML_MAPPING_NODE)
		return fail(l, -EINVAL, "%s in %s: must be a mapping", where, d->path);
	rc = get_ref(l, d, ap, "name", where, &name);
	if (rc)
		return rc;
	if (name && !strcmp(name, "gcp"))
		return fail(l, -ENOTSUP,
			    "user \"%s\": the gcp auth plugin has been removed; use the \"gke-gcloud-auth-plugin\" kubectl/client-go credential plugin instead",
			    us->name);
	if (name && !strcmp(name, "azure"))
		return fail(l, -ENOTSUP,
			    "user \"%s\": the azure auth plugin has been removed; use the kubelogin credential plugin (https://github.com/Azure/kubelogin) instead",
			    us->name);
	if (!name || strcmp(name, "oidc"))
		return fail(l, -ENOTSUP, "user \"%s\": no Auth Provider found for name \"%.100s\"",
			    us->name, name ? name : "");
	rc = get_ref(l, d, map_get(d, ap, "config"), "id-token", where, &idt);
	if (rc)
		return rc;
	if (!idt)
		return fail(l, -ENOTSUP,
			    "user \"%s\": the oidc auth-provider has no id-token (refreshing oidc tokens is not supported; use an exec plugin such as kubelogin)",
			    us->name);
	if (!c->token && !c->token_file && !c->username && !c->password) {
		c->token = strdup(idt);
		if (!c->token)
			return -ENOMEM;
		log_info("user \"%s\": using the oidc id-token as a static bearer token", us->name);
	}
	return 0;
}

static int load_user(struct loader *l, struct named *us, struct kcfg *c)
{
	struct kdoc *d = us->d;
	yaml_node_t *m = us->body, *ex, *ap;
	const char *cert_file, *key_file, *tok_file;
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	char where[512];
	int rc;

	snprintf(where, sizeof(where), "user \"%s\"", us->name);
	rc = get_str(l, d, m, "token", where, &c->token);
	if (!rc)
		rc = get_ref(l, d, m, "tokenFile", where, &tok_file);
	if (!rc)
		rc = get_ref(l, d, m, "client-certificate", where, &cert_file);
	if (!rc)
		rc = get_data(l, d, m, "client-certificate-data", where, &cert, &cert_len);
	if (!rc)
		rc = get_ref(l, d, m, "client-key", where, &key_file);
	if (!rc)
		rc = get_data(l, d, m, "client-key-data", where, &key, &key_len);
	if (!rc)
		rc = get_str(l, d, m, "username", where, &c->username);
	if (!rc)
		rc = get_str(l, d, m, "password", where, &c->password);
	if (!rc)
		rc = get_str(l, d, m, "as", where, &c->impersonate_user);
	if (!rc)
		rc = get_strlist(l, d, m, "as-groups", where, &c->impersonate_groups);
	if (rc)
		goto out;

	if (c->token && (c->username || c->password)) {
		rc = fail(l, -EINVAL,
			  "more than one authentication method found for %s; found [token basicAuth], only one is allowed",
			  us->name);
		goto out;
	}
	if (c->token && has_ctl(c->token)) {
		rc = fail(l, -EINVAL, "user \"%s\": token contains control characters", us->name);
		goto out;
	}
	if ((cert_file || cert) && !key_file && !key) {
		rc = fail(l, -EINVAL,
			  "client-key-data or client-key must be specified for %s to use the clientCert authentication method.",
			  us->name);
		goto out;
	}
	if (c->impersonate_groups && !c->impersonate_user) {
		rc = fail(l, -EINVAL,
			  "requesting groups or user-extra for %s without impersonating a user",
			  us->name);
		goto out;
	}
	if (cert_file || cert) {
		if (cert && cert_file)
			log_warn("client-cert-data and client-cert are both specified for %s. client-cert-data will override.",
				 us->name);
		if (key && key_file)
			log_warn("client-key-data and client-key are both specified for %s; client-key-data will override",
				 us->name);
		if (!cert)
			rc = read_ref(l, d->dir, cert_file, "client-cert", us->name, &cert,
				      &cert_len);
		if (!rc && !key)
			rc = read_ref(l, d->dir, key_file, "client-key", us->name, &key, &key_len);
		if (rc)
			goto out;
		c->client_cert_pem = cert;
		c->client_cert_pem_len = cert_len;
		c->client_key_pem = key;
		c->client_key_pem_len = key_len;
		cert = key = NULL;
	}
	if (tok_file) {
		c->token_file = resolve_path(d->dir, tok_file);
		if (!c->token_file) {
			rc = -ENOMEM;
			goto out;
		}
		if (!c->token) {
			/* client-go reads it now, when there is no static token to fall back on */
			int fd = open(c->token_file, O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				rc = fail(l, -errno, "unable to read tokenFile %s for %s due to %s",
					  c->token_file, us->name, strerror(errno));
				goto out;
			}
			close(fd);
		}
	}
	ex = map_get(d, m, "exec");
	ap = map_get(d, m, "auth-provider");
	if (!is_null(ex) && !is_null(ap)) {
		rc = fail(l, -EINVAL,
			  "authProvider cannot be provided in combination with an exec plugin for %s",
			  us->name);
		goto out;
	}
	if (!is_null(ex))
		rc = load_exec(l, us, ex, c);
	else if (!is_null(ap))
		rc = load_auth_provider(l, us, ap, c);
out:
	if (key)
		memset(key, 0, key_len);
	free(key);
	free(cert);
	return rc;
}

/* The cluster's client.authentication.k8s.io/exec extension, as JSON. */
static int load_exec_extension(struct loader *l, struct named *cl, struct kcfg_exec *x)
{
	struct kdoc *d = cl->d;
	yaml_node_t *exts = map_get(d, cl->body, "extensions");

	if (is_null(exts))
		return 0;
	if (exts->type != YAML_SEQUENCE_NODE)
		return fail(l, -EINVAL, "cluster \"%s\" in %s: extensions must be a list", cl->name,
			    d->path);
	for (yaml_node_item_t *it = exts->data.sequence.items.start;
	     it < exts->data.sequence.items.top; it++) {
		yaml_node_t *e = ynode(d, *it), *nm, *val;
		int budget = KCFG_JSON_MAX_NODES;
		cJSON *j;

		nm = map_get(d, e, "name");
		if (!nm || nm->type != YAML_SCALAR_NODE || strcmp(sval(nm), EXEC_EXTENSION))
			continue;
		val = map_get(d, e, "extension");
		if (is_null(val))
			return 0;
		j = to_json(d, val, 0, &budget);
		if (!j)
			return fail(l, -EINVAL,
				    "cluster \"%s\" in %s: the %s extension cannot be turned into JSON (too deep or too large)",
				    cl->name, d->path, EXEC_EXTENSION);
		x->cluster_config_json = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		return x->cluster_config_json ? 0 : -ENOMEM;
	}
	return 0;
}

static int load_context(struct loader *l, const char *name, bool explicit, struct kcfg *c,
			const char **ctx_ns)
{
	struct named *ctx = find_named(&l->contexts, l->contexts.n, name), *cl, *us = NULL;
	const char *cluster, *user;
	char where[512], *server = NULL;
	bool tls;
	int rc;

	*ctx_ns = NULL;
	if (!ctx)
		return explicit ? fail(l, -ENOENT, "context \"%s\" does not exist", name)
				: fail(l, -ENOENT, "context was not found for specified context: %s",
				       name);
	snprintf(where, sizeof(where), "context \"%s\"", name);
	rc = get_ref(l, ctx->d, ctx->body, "cluster", where, &cluster);
	if (!rc)
		rc = get_ref(l, ctx->d, ctx->body, "user", where, &user);
	if (!rc)
		rc = get_ref(l, ctx->d, ctx->body, "namespace", where, ctx_ns);
	if (rc)
		return rc;
	if (!cluster)
		return fail(l, -EINVAL, "cluster was not specified for context \"%s\"", name);
	cl = find_named(&l->clusters, l->clusters.n, cluster);
	if (!cl)
		return fail(l, -ENOENT, "cluster \"%s\" was not found for context \"%s\"", cluster,
			    name);
	if (user) {
		us = find_named(&l->users, l->users.n, user);
		if (!us)
			return fail(l, -ENOENT, "user \"%s\" was not found for context \"%s\"", user,
				    name);
	}
	if (*ctx_ns && !dns1123_label(*ctx_ns))
		return fail(l, -EINVAL,
			    "namespace \"%.100s\" for context \"%s\" does not conform to the kubernetes DNS_LABEL rules",
			    *ctx_ns, name);
	c->context_name = strdup(name);
	c->cluster_name = strdup(cluster);
	c->user_name = user ? strdup(user) : NULL;
	if (!c->context_name || !c->cluster_name || (user && !c->user_name))
		return -ENOMEM;
	rc = load_cluster(l, cl, c, &server);
	if (!rc && us)
		rc = load_user(l, us, c);
	if (!rc && c->exec)
		rc = load_exec_extension(l, cl, c->exec);
	if (!rc) {
		tls = c->ca_pem || c->insecure_skip_tls_verify || c->client_cert_pem;
		rc = norm_server(l, cl->name, server, tls, &c->server);
	}
	free(server);
	return rc;
}

int kcfg_load(const struct kcfg_opts *opts, struct kcfg **out, char *err, size_t errlen)
{
	static const struct kcfg_opts none;
	struct loader l = { .err = err, .errlen = errlen };
	struct kcfg *c = NULL;
	char **files = NULL;
	size_t nfiles = 0;
	bool explicit, any = false;
	const char *ctx_name, *ctx_ns = NULL, *ns;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	l.opts = opts ? opts : &none;
	rc = file_list(&l, &files, &nfiles, &explicit);
	if (rc)
		goto out;
	l.docs = calloc(nfiles ? nfiles : 1, sizeof(*l.docs));
	if (!l.docs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct kdoc *d = &l.docs[l.ndocs++];

		d->path = files[i];
		rc = load_doc(&l, d, explicit);
		if (!rc && d->have_doc)
			rc = merge_doc(&l, d);
		if (rc)
			goto out;
		any |= d->have_doc;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	ctx_name = nonempty(l.opts->context) ? l.opts->context : l.current_context;
	if (ctx_name) {
		rc = load_context(&l, ctx_name, nonempty(l.opts->context), c, &ctx_ns);
	} else if (in_cluster_possible(l.opts)) {
		rc = load_in_cluster(&l, c);
	} else if (any && l.contexts.n) {
		rc = fail(&l, -ENOENT,
			  "no context chosen: the kubeconfig has no current-context; use --context");
	} else {
		rc = fail(&l, -ENOENT,
			  "no configuration has been provided: no kubeconfig with a context (see --kubeconfig, $KUBECONFIG, ~/.kube/config) and no in-cluster service account");
	}
	if (rc)
		goto out;

	/* -n, else the context's, else (kubectl in a pod) the pod's, else default */
	if (nonempty(l.opts->namespace)) {
		ns = l.opts->namespace;
		if (!dns1123_label(ns)) {
			rc = fail(&l, -EINVAL,
				  "namespace \"%.100s\" does not conform to the kubernetes DNS_LABEL rules",
				  ns);
			goto out;
		}
		c->namespace = strdup(ns);
	} else if (ctx_ns) {
		c->namespace = strdup(ctx_ns);
	} else if (in_cluster_possible(l.opts)) {
		c->namespace = in_cluster_namespace(l.opts);
		if (c->namespace && !dns1123_label(c->namespace)) {
			rc = fail(&l, -EINVAL,
				  "in-cluster namespace \"%.100s\" does not conform to the kubernetes DNS_LABEL rules",
				  c->namespace);
			goto out;
		}
	} else {
		c->namespace = strdup("default");
	}
	if (!c->namespace) {
		rc = -ENOMEM;
		goto out;
	}
	*out = c;
	c = NULL;
out:
	if (rc == -ENOMEM && errlen && !err[0])
		snprintf(err, errlen, "loading the kubeconfig: out of memory");
	kcfg_free(c);
	for (size_t i = 0; i < l.ndocs; i++) {
		if (l.docs[i].have_doc)
			yaml_document_delete(&l.docs[i].doc);
		free(l.docs[i].dir);
	}
	free(l.docs);
	free(l.clusters.v);
	free(l.users.v);
	free(l.contexts.v);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}

static void free_secret(char *s, size_t len)
{
	if (s) {
		memset(s, 0, len ? len : strlen(s));
		free(s);
	}
}

void kcfg_free(struct kcfg *c)
{
	if (!c)
		return;
	free(c->context_name);
	free(c->cluster_name);
	free(c->user_name);
	free(c->namespace);
	free(c->server);
	free(c->ca_pem);
	free(c->tls_server_name);
	free(c->proxy_url);
	free_secret(c->token, 0);
	free(c->token_file);
	free(c->client_cert_pem);
	free_secret(c->client_key_pem, c->client_key_pem_len);
	free(c->username);
	free_secret(c->password, 0);
	if (c->exec) {
		struct kcfg_exec *x = c->exec;

		free(x->api_version);
		free(x->command);
		free_strv(x->args);
		for (size_t i = 0; i < x->nenv; i++) {
			free(x->env[i].name);
			free_secret(x->env[i].value, 0);
		}
		free(x->env);
		free(x->interactive_mode);
		free(x->install_hint);
		free(x->cluster_config_json);
		free(x);
	}
	free(c->impersonate_user);
	free_strv(c->impersonate_groups);
	free(c);
}
