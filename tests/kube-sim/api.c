/* api.c: the REST surface: authentication, authorization, discovery, pods,
 * the exec upgrade, and kube-sim's own /_sim/ control endpoints.
 *
 * Every refusal is a metav1.Status JSON with the code, reason and message
 * a real API server would send (see shared/reference/k8s-exec-protocol.md
 * §1.4), including refusals of kubectl's SPDY retry, so kubectl prints
 * "Error from server (Reason): message".
 */
#include "ksim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "strparse.h"
#include "ws.h"

#define KEEPALIVE_MS 60000

struct who {
	char user[128];
	enum ksim_role role;
	bool bad; /* credentials presented but wrong */
};

char *status_json(int code, const char *reason, const char *message, cJSON *details)
{
	cJSON *st = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddObjectToObject(st, "metadata");
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", message);
	cJSON_AddStringToObject(st, "reason", reason);
	cJSON_AddItemToObject(st, "details", details ? details : cJSON_CreateObject());
	cJSON_AddNumberToObject(st, "code", code);
	s = cJSON_PrintUnformatted(st);
	cJSON_Delete(st);
	return s;
}

int respond_status(struct conn *c, int code, const char *reason, const char *message,
		   cJSON *details, const char *extra_headers)
{
	char *body = status_json(code, reason, message, details);
	int rc;

	if (!body)
		return -ENOMEM;
	rc = http_respond(c, code, "application/json", body, strlen(body), extra_headers);
	free(body);
	return rc;
}

static int respond_json(struct conn *c, cJSON *obj)
{
	char *body = cJSON_PrintUnformatted(obj);
	int rc;

	cJSON_Delete(obj);
	if (!body)
		return -ENOMEM;
	rc = http_respond(c, 200, "application/json", body, strlen(body), NULL);
	free(body);
	return rc;
}

static bool ct_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* The token carried in a WebSocket subprotocol entry
 * base64url.bearer.authorization.k8s.io.<base64url(token)>, decoded into OUT. */
static bool subprotocol_token(const struct http_req *r, char *out, size_t outlen)
{
	static const char pfx[] = "base64url.bearer.authorization.k8s.io.";
	const char *v = http_header(r, "Sec-WebSocket-Protocol");
	const char *p;

	if (!v || !(p = strstr(v, pfx)))
		return false;
	p += sizeof(pfx) - 1;
	size_t l = strcspn(p, ", \t");
	char b64[512];
	unsigned char dec[400];

	if (l == 0 || l + 4 >= sizeof(b64))
		return false;
	for (size_t i = 0; i < l; i++)
		b64[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
	while (l % 4)
		b64[l++] = '=';
	b64[l] = '\0';
	int n = EVP_DecodeBlock(dec, (unsigned char *)b64, (int)l);

	if (n < 0)
		return false;
	while (l && b64[l - 1] == '=') {
		n--;
		l--;
	}
	if ((size_t)n >= outlen)
		return false;
	memcpy(out, dec, (size_t)n);
	out[n] = '\0';
	return true;
}

static void authenticate(struct conn *c, const struct http_req *r, struct who *w)
{
	const char *auth = http_header(r, "Authorization");
	char tok[400];
	bool have_tok = false;

	memset(w, 0, sizeof(*w));
	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		snprintf(tok, sizeof(tok), "%s", auth + 7);
		have_tok = true;
	} else if (auth && !strncasecmp(auth, "Basic ", 6)) {
		unsigned char dec[300];
		char want[128];
		int n;

		snprintf(want, sizeof(want), "%s:%s", ksim.basic_user, ksim.basic_pass);
		n = EVP_DecodeBlock(dec, (const unsigned char *)auth + 6, (int)strlen(auth + 6));
		if (n > 0 && (size_t)n < sizeof(dec)) {
			dec[n] = '\0'; /* DecodeBlock pads with zeros for '=' */
			if (ct_eq((char *)dec, want)) {
				snprintf(w->user, sizeof(w->user), "%s", ksim.basic_user);
				w->role = ROLE_ADMIN;
				return;
			}
		}
		w->bad = true;
		return;
	} else if (subprotocol_token(r, tok, sizeof(tok))) {
		have_tok = true;
	}
	if (have_tok) {
		pthread_mutex_lock(&ksim.lock);
		for (size_t i = 0; i < ksim.ntokens; i++)
			if (ct_eq(tok, ksim.tokens[i].token)) {
				snprintf(w->user, sizeof(w->user), "%s", ksim.tokens[i].user);
				w->role = ksim.tokens[i].role;
			}
		pthread_mutex_unlock(&ksim.lock);
		if (w->role == ROLE_NONE)
			w->bad = true;
		return;
	}
	if (c->cert_user[0]) {
		snprintf(w->user, sizeof(w->user), "%s", c->cert_user);
		w->role = !strcmp(c->cert_group, "system:masters") ? ROLE_ADMIN : ROLE_VIEWER;
	}
}

static void log_request(struct conn *c, const struct http_req *r, const struct who *w, int status,
			uint64_t t0, cJSON *extra)
{
	cJSON *e = extra ? extra : cJSON_CreateObject();

	cJSON_AddNumberToObject(e, "time", (double)time(NULL));
	cJSON_AddStringToObject(e, "method", r->method);
	cJSON_AddStringToObject(e, "path", r->path);
	cJSON_AddStringToObject(e, "user", w->user);
	cJSON_AddNumberToObject(e, "status", status);
	cJSON_AddStringToObject(e, "alpn_offered", c->alpn_offered);
	cJSON_AddNumberToObject(e, "duration_ms", (double)(now_ms() - t0));
	reqlog_write(e);
}

/* Split PATH into segments after the leading '/'. Returns the count. */
static size_t split_path(char *path, char **seg, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(path, "/", &save); t && n < max; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	return n;
}

static cJSON *not_found_details(const char *name, const char *kind)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddStringToObject(d, "kind", kind);
	return d;
}

static int serve_version(struct conn *c)
{
	cJSON *v = cJSON_CreateObject();

	cJSON_AddStringToObject(v, "major", "1");
	cJSON_AddStringToObject(v, "minor", "32");
	cJSON_AddStringToObject(v, "gitVersion", "v1.32.4");
	cJSON_AddStringToObject(v, "gitCommit", "kube-sim");
	cJSON_AddStringToObject(v, "gitTreeState", "clean");
	cJSON_AddStringToObject(v, "buildDate", "2026-01-01T00:00:00Z");
	cJSON_AddStringToObject(v, "goVersion", "go1.23.6");
	cJSON_AddStringToObject(v, "compiler", "gc");
	cJSON_AddStringToObject(v, "platform", "linux/amd64");
	return respond_json(c, v);
}

static cJSON *resource(const char *name, const char *kind, bool namespaced, const char *verbs)
{
	cJSON *r = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(r, "verbs");
	char tmp[128], *save = NULL;

	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddStringToObject(r, "singularName", "");
	cJSON_AddBoolToObject(r, "namespaced", namespaced);
	cJSON_AddStringToObject(r, "kind", kind);
	snprintf(tmp, sizeof(tmp), "%s", verbs);
	for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(v, cJSON_CreateString(t));
	return r;
}

static int serve_discovery(struct conn *c, const char *which)
{
	cJSON *o = cJSON_CreateObject();

	if (!strcmp(which, "api")) {
		cJSON *vs, *sa, *s;

		cJSON_AddStringToObject(o, "kind", "APIVersions");
		vs = cJSON_AddArrayToObject(o, "versions");
		cJSON_AddItemToArray(vs, cJSON_CreateString("v1"));
		sa = cJSON_AddArrayToObject(o, "serverAddressByClientCIDRs");
		s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "clientCIDR", "0.0.0.0/0");
		cJSON_AddStringToObject(s, "serverAddress", "127.0.0.1");
		cJSON_AddItemToArray(sa, s);
	} else if (!strcmp(which, "apis")) {
		cJSON_AddStringToObject(o, "kind", "APIGroupList");
		cJSON_AddStringToObject(o, "apiVersion", "v1");
		cJSON_AddArrayToObject(o, "groups");
	} else {
		cJSON *rs;

		cJSON_AddStringToObject(o, "kind", "APIResourceList");
		cJSON_AddStringToObject(o, "groupVersion", "v1");
		rs = cJSON_AddArrayToObject(o, "resources");
		cJSON_AddItemToArray(rs, resource("namespaces", "Namespace", false, "get,list"));
		cJSON_AddItemToArray(rs, resource("pods", "Pod", true, "get,list"));
		cJSON_AddItemToArray(rs, resource("pods/exec", "PodExecOptions", true, "create,get"));
	}
	return respond_json(c, o);
}

static cJSON *ns_json(const char *ns)
{
	cJSON *o = cJSON_CreateObject(), *md, *st;

	cJSON_AddStringToObject(o, "kind", "Namespace");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", ns);
	st = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(st, "phase", "Active");
	return o;
}

/* labelSelector "k=v,k2==v2,k3!=v3" and fieldSelector metadata.name= / metadata.namespace= / status.phase=. */
static bool selector_match(const struct ksim_pod *p, const char *lsel, const char *fsel)
{
	char tmp[1024], *save = NULL;

	for (int pass = 0; pass < 2; pass++) {
		const char *sel = pass == 0 ? lsel : fsel;

		if (!sel || !*sel)
			continue;
		snprintf(tmp, sizeof(tmp), "%s", sel);
		for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			bool neg = false;
			char *eq = strstr(t, "!=");
			const char *have = NULL;

			if (eq) {
				neg = true;
				*eq = '\0';
				eq += 2;
			} else if ((eq = strchr(t, '='))) {
				*eq++ = '\0';
				if (*eq == '=')
					eq++;
			} else if (pass == 0) { /* bare key: exists */
				if (!cJSON_GetObjectItemCaseSensitive(p->labels, t))
					return false;
				continue;
			} else {
				return false;
			}
			if (pass == 0) {
				const cJSON *l = cJSON_GetObjectItemCaseSensitive(p->labels, t);

				have = cJSON_IsString(l) ? l->valuestring : NULL;
			} else if (!strcmp(t, "metadata.name")) {
				have = p->name;
			} else if (!strcmp(t, "metadata.namespace")) {
				have = p->ns;
			} else if (!strcmp(t, "status.phase")) {
				have = p->phase;
			}
			bool same = have && !strcmp(have, eq);

			if (same == neg)
				return false;
		}
	}
	return true;
}

/* kubectl get asks for a server-side Table (Accept: ...;as=Table;...). */
static bool wants_table(const struct http_req *r)
{
	const char *a = http_header(r, "Accept");

	return a && strstr(a, "as=Table");
}

static void age_of(long long secs, char *out, size_t len)
{
	if (secs < 120)
		snprintf(out, len, "%llds", secs);
	else if (secs < 3 * 3600)
		snprintf(out, len, "%lldm", secs / 60);
	else if (secs < 48 * 3600)
		snprintf(out, len, "%lldh", secs / 3600);
	else
		snprintf(out, len, "%lldd", secs / 86400);
}

static cJSON *column(const char *name, const char *type, const char *format)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "format", format);
	cJSON_AddStringToObject(c, "description", "");
	cJSON_AddNumberToObject(c, "priority", 0);
	return c;
}

/* The Table a real API server sends for pods (the columns of kubectl get pods). */
static cJSON *pod_table(cJSON *items)
{
	cJSON *t = cJSON_CreateObject(), *cols, *rows, *it;
	char age[32], ready[32];

	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(t, "metadata"), "resourceVersion", "1");
	cols = cJSON_AddArrayToObject(t, "columnDefinitions");
	cJSON_AddItemToArray(cols, column("Name", "string", "name"));
	cJSON_AddItemToArray(cols, column("Ready", "string", ""));
	cJSON_AddItemToArray(cols, column("Status", "string", ""));
	cJSON_AddItemToArray(cols, column("Restarts", "string", ""));
	cJSON_AddItemToArray(cols, column("Age", "string", ""));
	rows = cJSON_AddArrayToObject(t, "rows");
	age_of((long long)time(NULL) - ksim.start_time, age, sizeof(age));
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *md = cJSON_GetObjectItem(it, "metadata");
		const cJSON *st = cJSON_GetObjectItem(it, "status");
		const cJSON *cs = cJSON_GetObjectItem(st, "containerStatuses"), *x;
		const char *phase = cJSON_GetStringValue(cJSON_GetObjectItem(st, "phase"));
		int n = 0, rd = 0;
		cJSON *row = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(row, "cells"), *obj;

		cJSON_ArrayForEach(x, cs)
		{
			n++;
			rd += cJSON_IsTrue(cJSON_GetObjectItem(x, "ready"));
		}
		snprintf(ready, sizeof(ready), "%d/%d", rd, n);
		cJSON_AddItemToArray(cells, cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItem(md, "name"))));
		cJSON_AddItemToArray(cells, cJSON_CreateString(ready));
		cJSON_AddItemToArray(cells, cJSON_CreateString(phase && !strcmp(phase, "Pending") ? "ContainerCreating" : phase));
		cJSON_AddItemToArray(cells, cJSON_CreateString("0"));
		cJSON_AddItemToArray(cells, cJSON_CreateString(age));
		obj = cJSON_AddObjectToObject(row, "object");
		cJSON_AddStringToObject(obj, "kind", "PartialObjectMetadata");
		cJSON_AddStringToObject(obj, "apiVersion", "meta.k8s.io/v1");
		cJSON_AddItemToObject(obj, "metadata", cJSON_Duplicate(md, 1));
		cJSON_AddItemToArray(rows, row);
	}
	return t;
}

static int serve_pod_list(struct conn *c, const struct http_req *r, const char *ns, const struct qparam *q,
			  size_t nq)
{
	cJSON *o = cJSON_CreateObject(), *md, *items;

	cJSON_AddStringToObject(o, "kind", "PodList");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	items = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; i < ksim.cluster.npods; i++) {
		const struct ksim_pod *p = &ksim.cluster.pods[i];

		if (ns && strcmp(p->ns, ns))
			continue;
		if (!selector_match(p, query_get(q, nq, "labelSelector"), query_get(q, nq, "fieldSelector")))
			continue;
		cJSON_AddItemToArray(items, pod_json(p));
	}
	if (wants_table(r)) {
		cJSON *t = pod_table(items);

		cJSON_Delete(o);
		return respond_json(c, t);
	}
	return respond_json(c, o);
}

/* ---- exec ---- */

/* kubectl retries a refused WebSocket exec once over SPDY and shows the
 * user the answer to that retry: remember the last refusal so the retry
 * gets the same Status (without consuming another fail_next). */
static struct {
	char key[2300];
	int status;
	char reason[48];
	char msg[512];
	char extra[64];
	uint64_t at;
} last_refusal;

static void refusal_key(const struct http_req *r, const struct who *w, char *key, size_t len)
{
	snprintf(key, len, "%s|%s?%s", w->user, r->path, r->query);
}

static void refuse(struct conn *c, const struct http_req *r, const struct who *w, int status, const char *reason,
		   const char *msg, const char *extra)
{
	pthread_mutex_lock(&ksim.lock);
	refusal_key(r, w, last_refusal.key, sizeof(last_refusal.key));
	last_refusal.status = status;
	snprintf(last_refusal.reason, sizeof(last_refusal.reason), "%s", reason);
	snprintf(last_refusal.msg, sizeof(last_refusal.msg), "%s", msg);
	snprintf(last_refusal.extra, sizeof(last_refusal.extra), "%s", extra ? extra : "");
	last_refusal.at = now_ms();
	pthread_mutex_unlock(&ksim.lock);
	respond_status(c, status, reason, msg, NULL, extra);
}

/* Answer a SPDY retry like the WebSocket refusal it follows; false if none. */
static bool repeat_refusal(struct conn *c, const struct http_req *r, const struct who *w, int *status)
{
	char key[sizeof(last_refusal.key)], reason[48], msg[512], extra[64];
	bool hit;

	refusal_key(r, w, key, sizeof(key));
	pthread_mutex_lock(&ksim.lock);
	hit = last_refusal.at && now_ms() - last_refusal.at < 10000 && !strcmp(key, last_refusal.key);
	if (hit) {
		*status = last_refusal.status;
		snprintf(reason, sizeof(reason), "%s", last_refusal.reason);
		snprintf(msg, sizeof(msg), "%s", last_refusal.msg);
		snprintf(extra, sizeof(extra), "%s", last_refusal.extra);
		last_refusal.at = 0;
	}
	pthread_mutex_unlock(&ksim.lock);
	if (hit)
		respond_status(c, *status, reason, msg, NULL, extra[0] ? extra : NULL);
	return hit;
}

static const char *pick_protocol(const struct http_req *r, bool v4_only)
{
	const char *v = http_header(r, "Sec-WebSocket-Protocol");

	/* The client's order wins: walk its list, take the first we speak. */
	while (v && *v) {
		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		size_t l = strcspn(v, ", \t");

		if (!v4_only && l == 17 && !strncmp(v, "v5.channel.k8s.io", l))
			return "v5.channel.k8s.io";
		if (l == 17 && !strncmp(v, "v4.channel.k8s.io", l))
			return "v4.channel.k8s.io";
		v += l;
	}
	return NULL;
}

static void exec_release_slot(void)
{
	pthread_mutex_lock(&ksim.lock);
	ksim.active_execs--;
	pthread_mutex_unlock(&ksim.lock);
}

/* Returns true if the connection may serve another request. */
static bool serve_exec(struct conn *c, struct http_req *r, const struct who *w, struct ksim_pod *pod,
		       uint64_t t0)
{
	struct qparam *q = NULL;
	size_t nq = 0;
	char msg[1024], hdrs[256];
	const char *cname, *proto;
	struct ksim_container *ct = NULL;
	bool ws = http_header_has_token(r, "Upgrade", "websocket") &&
		  http_header_has_token(r, "Connection", "upgrade");
	bool spdy = http_header(r, "Upgrade") && !ws;
	struct ksim_knobs k;
	struct exec_opts o = { 0 };
	cJSON *log = cJSON_CreateObject(), *cmd;
	int status = 0, exit_code = -1;
	bool keep = false;
	char err[512] = "";

	cJSON_AddStringToObject(log, "kind", "exec");
	cJSON_AddStringToObject(log, "namespace", pod->ns);
	cJSON_AddStringToObject(log, "pod", pod->name);
	cmd = cJSON_AddArrayToObject(log, "command");
	if (query_parse(r->query, &q, &nq)) {
		status = 400;
		respond_status(c, 400, "BadRequest", "malformed query string", NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < nq; i++)
		if (!strcmp(q[i].key, "command"))
			cJSON_AddItemToArray(cmd, cJSON_CreateString(q[i].val));
	cname = query_get(q, nq, "container");
	if (cname && *cname) {
		for (size_t i = 0; i < pod->nctrs; i++)
			if (!strcmp(pod->ctrs[i].name, cname))
				ct = &pod->ctrs[i];
		if (!ct) {
			snprintf(msg, sizeof(msg), "container %s is not valid for pod %s", cname, pod->name);
			status = 400;
			respond_status(c, 400, "BadRequest", msg, NULL, NULL);
			keep = true;
			goto out;
		}
	} else if (pod->nctrs == 1) {
		ct = &pod->ctrs[0];
	} else {
		struct buf b;

		buf_init(&b, 512);
		for (size_t i = 0; i < pod->nctrs; i++)
			buf_printf(&b, "%s%s", i ? " " : "", pod->ctrs[i].name);
		snprintf(msg, sizeof(msg), "a container name must be specified for pod %s, choose one of: [%s]",
			 pod->name, b.data ? b.data : "");
		buf_cleanup(&b);
		status = 400;
		respond_status(c, 400, "BadRequest", msg, NULL, NULL);
		keep = true;
		goto out;
	}
	cJSON_AddStringToObject(log, "container", ct->name);
	if (!ws && !spdy) {
		status = 400;
		respond_status(c, 400, "BadRequest", "Upgrade request required", NULL, NULL);
		keep = true;
		goto out;
	}
	if (spdy) {
		if (repeat_refusal(c, r, w, &status))
			goto out;
		status = 400;
		respond_status(c, 400, "BadRequest",
			       "kube-sim speaks only WebSocket exec (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY",
			       NULL, NULL);
		goto out;
	}
	if (strcmp(r->method, "GET")) {
		status = 400;
		respond_status(c, 400, "BadRequest", "a WebSocket upgrade must be a GET request", NULL, NULL);
		goto out;
	}
	pthread_mutex_lock(&ksim.lock);
	k = ksim.knobs;
	if (ksim.knobs.fail_next > 0) {
		ksim.knobs.fail_next--;
		status = ksim.knobs.fail_status;
	} else if (k.max_execs > 0 && ksim.active_execs >= k.max_execs) {
		status = 429;
	} else {
		ksim.active_execs++;
	}
	ksim.exec_seq++;
	pthread_mutex_unlock(&ksim.lock);
	if (status == 429) {
		refuse(c, r, w, 429, "TooManyRequests", "too many concurrent exec sessions, please try again later",
		       "Retry-After: 1\r\n");
		goto out;
	}
	if (status) {
		snprintf(msg, sizeof(msg), "kube-sim: exec refused by the fail_next knob (HTTP %d)", status);
		refuse(c, r, w, status, status == 503 ? "ServiceUnavailable" :
				       status == 500 ? "InternalError" : status == 403 ? "Forbidden" :
				       status == 404 ? "NotFound" : "BadRequest", msg, NULL);
		goto out;
	}
	proto = pick_protocol(r, k.v4_only);
	const char *key = http_header(r, "Sec-WebSocket-Key");
	const char *ver = http_header(r, "Sec-WebSocket-Version");
	char accept[32];

	if (!key || ws_accept_key(key, accept) || !ver || strcmp(ver, "13")) {
		status = 400;
		respond_status(c, 400, "BadRequest", "bad WebSocket handshake (key or version 13 missing)", NULL,
			       "Sec-WebSocket-Version: 13\r\n");
		exec_release_slot();
		goto out;
	}
	if (!proto) {
		status = 400;
		refuse(c, r, w, 400, "BadRequest",
		       k.v4_only ? "unsupported subprotocol: this server speaks only v4.channel.k8s.io"
				 : "unsupported subprotocol: this server speaks v5.channel.k8s.io and v4.channel.k8s.io",
		       NULL);
		exec_release_slot();
		goto out;
	}
	if (k.exec_delay_ms > 0) /* this connection's own thread: a sleep here delays only this exec */
		usleep((useconds_t)k.exec_delay_ms * 1000);
	snprintf(hdrs, sizeof(hdrs),
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		 accept, proto);
	if (conn_write_all(c, hdrs, strlen(hdrs), 30000)) {
		exec_release_slot();
		goto out;
	}
	status = 101;
	cJSON_AddStringToObject(log, "protocol", proto);
	{
		char **argv = calloc(nq + 1, sizeof(char *));
		size_t na = 0;

		for (size_t i = 0; argv && i < nq; i++)
			if (!strcmp(q[i].key, "command"))
				argv[na++] = q[i].val;
		o.pod = pod;
		o.ct = ct;
		o.argv = argv;
		o.in = query_bool(q, nq, "stdin");
		o.out = query_bool(q, nq, "stdout");
		o.tty = query_bool(q, nq, "tty");
		o.err = query_bool(q, nq, "stderr") && !o.tty;
		o.v5 = proto[1] == '5';
		o.knobs = k;
		if (argv)
			exec_run(c, &o, &exit_code, err, sizeof(err));
		free(argv);
	}
	exec_release_slot();
out:
	if (exit_code >= 0)
		cJSON_AddNumberToObject(log, "exit_code", exit_code);
	else
		cJSON_AddNullToObject(log, "exit_code");
	if (err[0])
		cJSON_AddStringToObject(log, "error", err);
	cJSON_AddNumberToObject(log, "bytes_in", (double)c->bytes_in);
	cJSON_AddNumberToObject(log, "bytes_out", (double)c->bytes_out);
	log_request(c, r, w, status, t0, log);
	query_free(q, nq);
	return keep;
}

/* ---- /_sim/ control ---- */

static int set_knob(const char *key, const char *val)
{
	int64_t v;

	if (!strcmp(key, "v4_only")) {
		ksim.knobs.v4_only = strcmp(val, "0") && strcasecmp(val, "false");
		return 0;
	}
	if (!strcmp(key, "blackhole")) {
		ksim.knobs.blackhole = strcmp(val, "0") && strcasecmp(val, "false");
		return 0;
	}
	if (parse_i64(val, strlen(val), 0, INT64_MAX, &v))
		return -EINVAL;
	if (!strcmp(key, "exec_delay_ms"))
		ksim.knobs.exec_delay_ms = (long)v;
	else if (!strcmp(key, "msg_delay_ms"))
		ksim.knobs.msg_delay_ms = (long)v;
	else if (!strcmp(key, "bandwidth"))
		ksim.knobs.bandwidth = (long)v;
	else if (!strcmp(key, "kill_after_bytes"))
		ksim.knobs.kill_after_bytes = (long long)v;
	else if (!strcmp(key, "fail_next"))
		ksim.knobs.fail_next = (int)v;
	else if (!strcmp(key, "fail_status") && v >= 400 && v <= 599)
		ksim.knobs.fail_status = (int)v;
	else if (!strcmp(key, "max_execs"))
		ksim.knobs.max_execs = (int)v;
	else
		return -EINVAL;
	return 0;
}

static cJSON *knobs_json(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "exec_delay_ms", (double)ksim.knobs.exec_delay_ms);
	cJSON_AddNumberToObject(o, "msg_delay_ms", (double)ksim.knobs.msg_delay_ms);
	cJSON_AddNumberToObject(o, "bandwidth", (double)ksim.knobs.bandwidth);
	cJSON_AddNumberToObject(o, "kill_after_bytes", (double)ksim.knobs.kill_after_bytes);
	cJSON_AddNumberToObject(o, "fail_next", ksim.knobs.fail_next);
	cJSON_AddNumberToObject(o, "fail_status", ksim.knobs.fail_status);
	cJSON_AddNumberToObject(o, "max_execs", ksim.knobs.max_execs);
	cJSON_AddBoolToObject(o, "v4_only", ksim.knobs.v4_only);
	cJSON_AddBoolToObject(o, "blackhole", ksim.knobs.blackhole);
	cJSON_AddNumberToObject(o, "active_execs", ksim.active_execs);
	cJSON_AddNumberToObject(o, "exec_count", (double)ksim.exec_seq);
	return o;
}

static int serve_sim(struct conn *c, const struct http_req *r, const char *what)
{
	const char *auth = http_header(r, "Authorization");
	struct qparam *q = NULL;
	size_t nq = 0;
	int rc = 0;
	cJSON *out = NULL;
	char msg[256];

	if (!auth || strncasecmp(auth, "Bearer ", 7) || !ct_eq(auth + 7, ksim.sim_token))
		return respond_status(c, 401, "Unauthorized", "the /_sim/ endpoints need the sim token", NULL, NULL);
	if (query_parse(r->query, &q, &nq))
		return respond_status(c, 400, "BadRequest", "malformed query string", NULL, NULL);
	pthread_mutex_lock(&ksim.lock);
	if (!strcmp(what, "knobs")) {
		for (size_t i = 0; i < nq && rc == 0; i++) {
			rc = set_knob(q[i].key, q[i].val);
			if (rc)
				snprintf(msg, sizeof(msg), "bad knob %s=%s", q[i].key, q[i].val);
		}
		out = knobs_json();
	} else if (!strcmp(what, "tokens")) {
		/* add=TOKEN&user=NAME&role=admin|viewer, or revoke=TOKEN */
		const char *add = query_get(q, nq, "add"), *rev = query_get(q, nq, "revoke");

		if (add && strlen(add) < sizeof(ksim.tokens[0].token) && ksim.ntokens < KSIM_MAX_TOKENS) {
			const char *user = query_get(q, nq, "user"), *role = query_get(q, nq, "role");
			struct ksim_token *t = &ksim.tokens[ksim.ntokens++];

			snprintf(t->token, sizeof(t->token), "%s", add);
			snprintf(t->user, sizeof(t->user), "%s", user ? user : "extra");
			t->role = role && !strcmp(role, "viewer") ? ROLE_VIEWER : ROLE_ADMIN;
		} else if (rev) {
			for (size_t i = 0; i < ksim.ntokens; i++)
				if (!strcmp(ksim.tokens[i].token, rev))
					ksim.tokens[i].role = ROLE_NONE;
		} else {
			rc = -EINVAL;
			snprintf(msg, sizeof(msg), "tokens: give add=TOKEN[&user=U&role=admin|viewer] or revoke=TOKEN");
		}
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "tokens", (double)ksim.ntokens);
	} else if (!strcmp(what, "holder")) {
		/* pod=NAME[&namespace=NS][&container=C]: host pid of the container's PID 1,
		 * so tests can reach its volumes through /proc/PID/root. */
		const char *pn = query_get(q, nq, "pod"), *ns = query_get(q, nq, "namespace");
		const char *cn = query_get(q, nq, "container");
		struct ksim_pod *p = pn ? cluster_pod(&ksim.cluster, ns ? ns : "default", pn) : NULL;

		out = cJSON_CreateObject();
		for (size_t i = 0; p && i < p->nctrs; i++)
			if (!cn || !strcmp(cn, p->ctrs[i].name)) {
				cJSON_AddNumberToObject(out, "pid", p->ctrs[i].holder);
				cJSON_AddStringToObject(out, "rootfs", p->ctrs[i].rootfs);
				break;
			}
		if (!cJSON_GetObjectItem(out, "pid")) {
			rc = -ENOENT;
			snprintf(msg, sizeof(msg), "no such pod/container");
		}
	} else {
		rc = -ENOENT;
		snprintf(msg, sizeof(msg), "unknown control endpoint /_sim/%s", what);
	}
	pthread_mutex_unlock(&ksim.lock);
	query_free(q, nq);
	if (rc) {
		cJSON_Delete(out);
		return respond_status(c, rc == -ENOENT ? 404 : 400, rc == -ENOENT ? "NotFound" : "BadRequest", msg,
				      NULL, NULL);
	}
	return respond_json(c, out);
}

/* ---- dispatch ---- */

/* Serve one request; returns true to keep the connection for another. */
static bool serve_one(struct conn *c, struct http_req *r)
{
	uint64_t t0 = now_ms();
	struct who w;
	char *seg[16], msg[512], pathbuf[4096];
	size_t n;
	int status = 200;
	bool keep = true;
	bool get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");

	snprintf(pathbuf, sizeof(pathbuf), "%s", r->path);
	n = split_path(pathbuf, seg, 16);
	if (n >= 2 && !strcmp(seg[0], "_sim")) {
		serve_sim(c, r, seg[1]);
		return true;
	}
	authenticate(c, r, &w);
	bool public = n == 1 && (!strcmp(seg[0], "version") || !strcmp(seg[0], "healthz") ||
				 !strcmp(seg[0], "livez") || !strcmp(seg[0], "readyz"));

	if (w.bad || (w.role == ROLE_NONE && !public)) {
		status = 401;
		respond_status(c, 401, "Unauthorized", "Unauthorized", NULL, NULL);
		goto out;
	}
	/* /api/v1/namespaces/NS/pods/NAME/exec */
	if (n == 7 && !strcmp(seg[0], "api") && !strcmp(seg[1], "v1") && !strcmp(seg[2], "namespaces") &&
	    !strcmp(seg[4], "pods") && !strcmp(seg[6], "exec")) {
		struct ksim_pod *pod;
		const char *verb = !strcmp(r->method, "GET") ? "get" : "create";

		if (strcmp(r->method, "GET") && strcmp(r->method, "POST")) {
			status = 405;
			respond_status(c, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", NULL, NULL);
			goto out;
		}
		if (w.role != ROLE_ADMIN) {
			snprintf(msg, sizeof(msg),
				 "pods \"%s\" is forbidden: User \"%s\" cannot %s resource \"pods/exec\" in API group \"\" in the namespace \"%s\"",
				 seg[5], w.user, verb, seg[3]);
			cJSON *d = cJSON_CreateObject();

			cJSON_AddStringToObject(d, "name", seg[5]);
			cJSON_AddStringToObject(d, "kind", "pods");
			status = 403;
			respond_status(c, 403, "Forbidden", msg, d, NULL);
			goto out;
		}
		pod = cluster_pod(&ksim.cluster, seg[3], seg[5]);
		if (!pod) {
			snprintf(msg, sizeof(msg), "pods \"%s\" not found", seg[5]);
			status = 404;
			respond_status(c, 404, "NotFound", msg, not_found_details(seg[5], "pods"), NULL);
			goto out;
		}
		return serve_exec(c, r, &w, pod, t0);
	}
	if (!get) {
		status = 405;
		respond_status(c, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", NULL, NULL);
		goto out;
	}
	if (n == 1 && !strcmp(seg[0], "version")) {
		serve_version(c);
	} else if (n == 1 && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") || !strcmp(seg[0], "readyz"))) {
		http_respond(c, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
	} else if (n == 1 && !strcmp(seg[0], "api")) {
		serve_discovery(c, "api");
	} else if (n == 1 && !strcmp(seg[0], "apis")) {
		serve_discovery(c, "apis");
	} else if (n == 2 && !strcmp(seg[0], "api") && !strcmp(seg[1], "v1")) {
		serve_discovery(c, "v1");
	} else if (n >= 3 && !strcmp(seg[0], "api") && !strcmp(seg[1], "v1") && !strcmp(seg[2], "pods") && n == 3) {
		struct qparam *q;
		size_t nq;

		query_parse(r->query, &q, &nq);
		serve_pod_list(c, r, NULL, q, nq);
		query_free(q, nq);
	} else if (n >= 3 && !strcmp(seg[0], "api") && !strcmp(seg[1], "v1") && !strcmp(seg[2], "namespaces")) {
		if (n == 3) {
			cJSON *o = cJSON_CreateObject(), *items;

			cJSON_AddStringToObject(o, "kind", "NamespaceList");
			cJSON_AddStringToObject(o, "apiVersion", "v1");
			cJSON_AddObjectToObject(o, "metadata");
			items = cJSON_AddArrayToObject(o, "items");
			for (size_t i = 0; i < ksim.cluster.nns; i++)
				cJSON_AddItemToArray(items, ns_json(ksim.cluster.namespaces[i]));
			respond_json(c, o);
		} else if (n == 5 && !strcmp(seg[4], "pods")) {
			struct qparam *q;
			size_t nq;

			/* A list in a namespace that does not exist is empty, not 404. */
			query_parse(r->query, &q, &nq);
			serve_pod_list(c, r, seg[3], q, nq);
			query_free(q, nq);
		} else if (!cluster_has_ns(&ksim.cluster, seg[3])) {
			snprintf(msg, sizeof(msg), "namespaces \"%s\" not found", seg[3]);
			status = 404;
			respond_status(c, 404, "NotFound", msg, not_found_details(seg[3], "namespaces"), NULL);
		} else if (n == 4) {
			respond_json(c, ns_json(seg[3]));
		} else if (n == 6 && !strcmp(seg[4], "pods")) {
			struct ksim_pod *p = cluster_pod(&ksim.cluster, seg[3], seg[5]);

			if (p && wants_table(r)) {
				cJSON *items = cJSON_CreateArray();

				cJSON_AddItemToArray(items, pod_json(p));
				respond_json(c, pod_table(items));
				cJSON_Delete(items);
			} else if (p) {
				respond_json(c, pod_json(p));
			} else {
				snprintf(msg, sizeof(msg), "pods \"%s\" not found", seg[5]);
				status = 404;
				respond_status(c, 404, "NotFound", msg, not_found_details(seg[5], "pods"), NULL);
			}
		} else {
			status = 404;
			respond_status(c, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
		}
	} else {
		status = 404;
		respond_status(c, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
	}
out:
	log_request(c, r, &w, status, t0, NULL);
	return keep;
}

void api_serve(struct conn *c)
{
	for (;;) {
		struct http_req r;
		int rc = http_read_request(c, &r, KEEPALIVE_MS);
		bool keep;

		if (rc == -E2BIG) {
			respond_status(c, 431, "RequestHeaderFieldsTooLarge", "request headers too large", NULL, NULL);
			http_req_free(&r);
			return;
		}
		if (rc == -EINVAL || rc == -EFBIG || rc == -ENOSYS) {
			respond_status(c, rc == -EFBIG ? 413 : rc == -ENOSYS ? 501 : 400,
				       rc == -EFBIG ? "RequestEntityTooLarge" : rc == -ENOSYS ? "NotImplemented" : "BadRequest",
				       "malformed or unsupported HTTP request", NULL, NULL);
			http_req_free(&r);
			return;
		}
		if (rc) {
			http_req_free(&r);
			return;
		}
		keep = serve_one(c, &r);
		const char *conn_hdr = http_header(&r, "Connection");

		if (conn_hdr && http_header_has_token(&r, "Connection", "close"))
			keep = false;
		http_req_free(&r);
		if (!keep)
			return;
	}
}
