/* kclient_int.h: what kclient.c, rest.c, exec.c, pod.c and tls.c share.
 * Not for use outside client/. */
#ifndef PODFS_KCLIENT_INT_H
#define PODFS_KCLIENT_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <curl/curl.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "kclient.h"
#include "kubeconfig.h"

struct kclient {
	const struct kcfg *cfg;
	struct kauth *auth;

	/* The server URL, split. */
	bool tls;
	char host[256];	     /* as in the URL, without brackets */
	char host_hdr[300];  /* Host header / TLS name: tls-server-name or host[:port] */
	char tls_name[256];  /* name the server certificate must carry */
	int port;
	char prefix[512];    /* path prefix, "" or "/k8s/clusters/c-1" */

	/* lock order: lock, then nothing (never held across a network call,
	 * the plugin or curl). */
	pthread_mutex_t lock;
	struct kclient_stats stats;

	/* REST: one easy handle reused under curl_lock (connection reuse). */
	pthread_mutex_t curl_lock;
	CURL *curl;

	/* exec: one lws context, served by one thread (see exec.c). The
	 * fields below up to `thread` belong to that thread. */
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	SSL_CTX *ssl_ctx;	 /* exec connections' TLS (ours, not lws's) */
	unsigned long cert_gen;	 /* credential generation ssl_ctx's client cert came from */
	lws_sorted_usec_list_t tick; /* pings, dead links, deadlines */
	uint8_t *rxbuf;		 /* KEXEC_RXBUF: decrypted bytes being parsed */
	uint8_t *txbuf;		 /* LWS_PRE + KEXEC_TXBUF: frames being built */
	uint8_t *wire;		 /* LWS_PRE + KEXEC_WIREBUF: TLS records to send */
	pthread_t thread;
	bool thread_started;
	bool stopping;
	struct kexec *sessions; /* live sessions, under lock */
};

/* tls.c: an SSL_CTX for CFG's cluster with CREDS's client certificate. */
int ktls_client_ctx(const struct kcfg *cfg, const struct kauth_creds *creds, SSL_CTX **out, char *err,
		    size_t errlen);
/* tls.c: a client SSL for an exec connection, on memory BIOs (*RB: bytes
 * from the network, *WB: bytes for it; both owned by the SSL), with SNI,
 * ALPN http/1.1 and the server name check of KC's cluster. Service thread. */
int ktls_client_ssl(struct kclient *kc, SSL **out, BIO **rb, BIO **wb, char *err, size_t errlen);
/* Is S an IPv4/IPv6 literal? */
bool ktls_is_ip(const char *s);

/* exec.c: the lws side. Buffer sizes: one socket read, the frames of one
 * writable callback (8 stdin messages of 32 KiB, control frames, or the
 * upgrade request), one write of TLS records. */
#define KEXEC_RXBUF (256u << 10)
#define KEXEC_TXBUF (288u << 10)
#define KEXEC_WIREBUF (288u << 10)
int kexec_service_start(struct kclient *kc, char *err, size_t errlen);
void kexec_service_stop(struct kclient *kc);

/* Percent-encode S for a URL query value (Go's url.Values: space -> '+'). */
int kurl_query_escape(const char *s, char **out);
/* Percent-encode one path segment. */
int kurl_path_escape(const char *s, char **out);



/* exec.c, exposed for unit tests: turn the status channel's JSON into a
 * result (rules of client-go's errorDecoderV4; an empty status is NOT
 * success here: see the protocol reference §2.7). */
void kexec_parse_status(const char *json, size_t len, struct kexec_result *r);
#endif
