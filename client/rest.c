/* rest.c: GET requests to the API server through libcurl, with the
 * kubeconfig's TLS material from memory (no temporary files), the user's
 * credentials, and Status JSON turned into kubectl-like messages.
 * One easy handle, reused under curl_lock so connections are kept.
 */
#include "kclient_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "buf.h"
#include "log.h"

#define MAX_BODY (64u << 20)

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, p, size * n))
		return 0; /* too large: curl aborts with CURLE_WRITE_ERROR */
	return size * n;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	case CURLE_WRITE_ERROR:
		return -E2BIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int one_get(struct kclient *kc, const char *path, long *status, struct buf *body,
		   unsigned long *gen, char *err, size_t errlen)
{
	const struct kcfg *cfg = kc->cfg;
	struct kauth_creds cr = { 0 };
	struct curl_slist *hdrs = NULL;
	char url[4096], line[1024], cerr[CURL_ERROR_SIZE] = "", connect_to[600];
	struct curl_slist *ct = NULL;
	CURL *c = kc->curl;
	CURLcode cc;
	int rc;

	if (kc->tls) {
		rc = kauth_get(kc->auth, &cr, err, errlen);
		if (rc)
			return rc;
	}
	*gen = cr.generation;
	snprintf(url, sizeof(url), "%s://%s%s%s:%d%s%s", kc->tls ? "https" : "http",
		 strchr(kc->tls_name, ':') ? "[" : "", kc->tls_name, strchr(kc->tls_name, ':') ? "]" : "", kc->port,
		 kc->prefix, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "podfs/" PODFS_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	if (cfg->tls_server_name) {
		/* Verify (and send SNI) as tls-server-name, connect to the real host. */
		snprintf(connect_to, sizeof(connect_to), "%s:%d:%s%s%s:%d", cfg->tls_server_name, kc->port,
			 strchr(kc->host, ':') ? "[" : "", kc->host, strchr(kc->host, ':') ? "]" : "", kc->port);
		ct = curl_slist_append(NULL, connect_to);
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, ct);
	}
	if (cfg->ca_pem) {
		struct curl_blob b = { .data = cfg->ca_pem, .len = cfg->ca_pem_len, .flags = CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
	}
	if (cfg->insecure_skip_tls_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cr.cert_pem) {
		struct curl_blob cb = { .data = cr.cert_pem, .len = cr.cert_pem_len, .flags = CURL_BLOB_COPY };
		struct curl_blob kb = { .data = cr.key_pem, .len = cr.key_pem_len, .flags = CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->proxy_url)
		curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy_url);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (cr.bearer) {
		/* any length: projected and OIDC tokens pass 1 KiB */
		char *h = NULL;

		if (asprintf(&h, "Authorization: Bearer %s", cr.bearer) > 0) {
			hdrs = curl_slist_append(hdrs, h);
			explicit_bzero(h, strlen(h));
			free(h);
		}
	} else if (cr.basic_user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cr.basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cr.basic_pass ? cr.basic_pass : "");
	}
	if (cfg->impersonate_user) {
		snprintf(line, sizeof(line), "Impersonate-User: %s", cfg->impersonate_user);
		hdrs = curl_slist_append(hdrs, line);
		for (char **g = cfg->impersonate_groups; g && *g; g++) {
			snprintf(line, sizeof(line), "Impersonate-Group: %s", *g);
			hdrs = curl_slist_append(hdrs, line);
		}
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	explicit_bzero(line, sizeof(line));
	curl_slist_free_all(hdrs);
	curl_slist_free_all(ct);
	kauth_creds_free(&cr);
	pthread_mutex_lock(&kc->lock);
	kc->stats.rest_requests++;
	pthread_mutex_unlock(&kc->lock);
	if (cc != CURLE_OK) {
		rc = curl_errno(cc);
		if (rc == -E2BIG)
			snprintf(err, errlen, "the API server's answer to GET %s is larger than %u MiB", path,
				 MAX_BODY >> 20);
		else
			snprintf(err, errlen, "cannot reach the API server %s: %s", cfg->server,
				 cerr[0] ? cerr : curl_easy_strerror(cc));
		return rc;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int krest_get(struct kclient *kc, const char *path, long *status, char **body, size_t *len, char *err,
	      size_t errlen)
{
	struct buf b;
	unsigned long gen = 0;
	int rc;

	*body = NULL;
	*len = 0;
	buf_init(&b, MAX_BODY);
	pthread_mutex_lock(&kc->curl_lock);
	rc = one_get(kc, path, status, &b, &gen, err, errlen);
	if (rc == 0 && *status == 401) {
		/* Expired or rotated credentials: refresh and try once more. */
		kauth_invalidate(kc->auth, gen);
		buf_reset(&b);
		rc = one_get(kc, path, status, &b, &gen, err, errlen);
	}
	pthread_mutex_unlock(&kc->curl_lock);
	if (rc) {
		buf_cleanup(&b);
		return rc;
	}
	*len = b.len;
	*body = buf_take(&b);
	return *body ? 0 : -ENOMEM;
}

int krest_status_error(long status, const char *body, char *err, size_t errlen)
{
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
	int rc;

	switch (status) {
	case 401:
	case 403: rc = -EACCES; break;
	case 404: rc = -ENOENT; break;
	case 400:
	case 422: rc = -EINVAL; break;
	case 409: rc = -EEXIST; break;
	case 429: rc = -EAGAIN; break;
	default: rc = -EIO; break;
	}
	if (status == 401)
		snprintf(err, errlen, "error: You must be logged in to the server (Unauthorized)");
	else if (cJSON_IsString(msg) && cJSON_IsString(reason) && reason->valuestring[0])
		snprintf(err, errlen, "Error from server (%s): %s", reason->valuestring, msg->valuestring);
	else if (cJSON_IsString(msg))
		snprintf(err, errlen, "Error from server: %s", msg->valuestring);
	else
		snprintf(err, errlen, "the API server answered HTTP %ld: %.200s", status, body ? body : "");
	cJSON_Delete(j);
	return rc;
}
