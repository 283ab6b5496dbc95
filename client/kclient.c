/* kclient.c: one API server connection set: the URL split into parts,
 * credentials, the REST handle and the exec service (see kclient.h).
 */
#include "kclient_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strparse.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Split "https://host:port/prefix" into kc's fields. */
static int split_server(struct kclient *kc, const char *url, char *err, size_t errlen)
{
	const char *p = url, *hs, *he, *ps;
	uint64_t port;

	if (!strncmp(p, "https://", 8)) {
		kc->tls = true;
		p += 8;
	} else if (!strncmp(p, "http://", 7)) {
		kc->tls = false;
		p += 7;
	} else {
		snprintf(err, errlen, "server URL \"%s\" must start with https:// (or http://)", url);
		return -EINVAL;
	}
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (!he)
			goto bad;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if ((size_t)(he - hs) == 0 || (size_t)(he - hs) >= sizeof(kc->host))
		goto bad;
	memcpy(kc->host, hs, (size_t)(he - hs));
	kc->host[he - hs] = '\0';
	kc->port = kc->tls ? 443 : 80;
	if (*p == ':') {
		ps = ++p;
		p += strcspn(p, "/?#");
		if (parse_u64(ps, (size_t)(p - ps), 65535, &port) || port == 0)
			goto bad;
		kc->port = (int)port;
	}
	if (*p == '/') {
		size_t l = strcspn(p, "?#");

		while (l && p[l - 1] == '/')
			l--;
		if (l >= sizeof(kc->prefix))
			goto bad;
		memcpy(kc->prefix, p, l);
		kc->prefix[l] = '\0';
	}
	return 0;
bad:
	snprintf(err, errlen, "cannot parse server URL \"%s\"", url);
	return -EINVAL;
}

int kclient_new(struct kclient **out, const struct kcfg *cfg, char *err, size_t errlen)
{
	struct kclient *kc = calloc(1, sizeof(*kc));
	int rc;

	*out = NULL;
	if (!kc)
		return -ENOMEM;
	pthread_once(&curl_once, curl_init_once);
	kc->cfg = cfg;
	pthread_mutex_init(&kc->lock, NULL);
	pthread_mutex_init(&kc->curl_lock, NULL);
	rc = split_server(kc, cfg->server, err, errlen);
	if (rc)
		goto fail;
	snprintf(kc->tls_name, sizeof(kc->tls_name), "%s",
		 cfg->tls_server_name ? cfg->tls_server_name : kc->host);
	if (cfg->tls_server_name)
		snprintf(kc->host_hdr, sizeof(kc->host_hdr), "%s", cfg->tls_server_name);
	else if (strchr(kc->host, ':'))
		snprintf(kc->host_hdr, sizeof(kc->host_hdr), "[%s]:%d", kc->host, kc->port);
	else
		snprintf(kc->host_hdr, sizeof(kc->host_hdr), "%s:%d", kc->host, kc->port);
	if (!kc->tls && (cfg->token || cfg->token_file || cfg->exec || cfg->username || cfg->client_cert_pem))
		log_warn("server %s is plain http: like kubectl, podfs sends no credentials to it", cfg->server);
	rc = kauth_new(&kc->auth, cfg);
	if (rc) {
		snprintf(err, errlen, "cannot set up credentials: %s", strerror(-rc));
		goto fail;
	}
	kc->curl = curl_easy_init();
	if (!kc->curl) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = kexec_service_start(kc, err, errlen);
	if (rc)
		goto fail;
	*out = kc;
	return 0;
fail:
	kclient_free(kc);
	return rc;
}

void kclient_free(struct kclient *kc)
{
	if (!kc)
		return;
	kexec_service_stop(kc);
	if (kc->curl)
		curl_easy_cleanup(kc->curl);
	kauth_free(kc->auth);
	pthread_mutex_destroy(&kc->curl_lock);
	pthread_mutex_destroy(&kc->lock);
	free(kc);
}

const struct kcfg *kclient_cfg(const struct kclient *kc)
{
	return kc->cfg;
}

void kclient_get_stats(struct kclient *kc, struct kclient_stats *s)
{
	pthread_mutex_lock(&kc->lock);
	*s = kc->stats;
	pthread_mutex_unlock(&kc->lock);
}

static int escape(const char *s, bool query, char **out)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1), *w = o;

	if (!o)
		return -ENOMEM;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			*w++ = (char)ch;
		} else if (query && ch == ' ') {
			*w++ = '+';
		} else {
			*w++ = '%';
			*w++ = hx[ch >> 4];
			*w++ = hx[ch & 15];
		}
	}
	*w = '\0';
	*out = o;
	return 0;
}

int kurl_query_escape(const char *s, char **out)
{
	return escape(s, true, out);
}

int kurl_path_escape(const char *s, char **out)
{
	return escape(s, false, out);
}
