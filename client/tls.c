/* tls.c: OpenSSL for exec connections: the client context (the cluster's
 * CA bundle or the system store, TLS >= 1.2, the client certificate and key
 * from memory) and each connection's SSL on memory BIOs, which exec.c feeds
 * from and drains to lws's RAW socket. The server name check is ours:
 * kc->tls_name (tls-server-name or the server's host), as a DNS name or an
 * IP address; insecure-skip-tls-verify turns verification off.
 */
#include "kclient_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

bool ktls_is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int load_ca(SSL_CTX *ctx, const char *pem, size_t len, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509_INFO) *infos;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int n = 0;

	if (!bio)
		return -ENOMEM;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1)
			n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "the cluster's certificate-authority holds no usable PEM certificate");
		return -EINVAL;
	}
	return 0;
}

static int load_client_cert(SSL_CTX *ctx, const char *cert, size_t cert_len, const char *key, size_t key_len,
			    char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(cert, (int)cert_len);
	X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = NULL;
	int rc = -EINVAL;

	if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
		snprintf(err, errlen, "the client certificate is not a valid PEM certificate");
		goto out;
	}
	/* The rest of the PEM is the chain. */
	for (X509 *x; (x = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
		if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1)
			X509_free(x);
	BIO_free(bio);
	bio = BIO_new_mem_buf(key, (int)key_len);
	pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!pk || SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		snprintf(err, errlen, "the client key is not a valid unencrypted PEM private key");
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "the client key does not match the client certificate");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(leaf);
	EVP_PKEY_free(pk);
	return rc;
}

int ktls_client_ctx(const struct kcfg *cfg, const struct kauth_creds *creds, SSL_CTX **out, char *err,
		    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int rc;

	*out = NULL;
	if (!ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No SSL_MODE_RELEASE_BUFFERS: it frees and reallocates the record
	 * buffers between reads, which costs on bulk transfers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (cfg->ca_pem)
		rc = load_ca(ctx, cfg->ca_pem, cfg->ca_pem_len, err, errlen);
	else
		rc = SSL_CTX_set_default_verify_paths(ctx) == 1 ? 0 : -EIO;
	if (rc == 0 && creds && creds->cert_pem)
		rc = load_client_cert(ctx, creds->cert_pem, creds->cert_pem_len, creds->key_pem,
				      creds->key_pem_len, err, errlen);
	if (rc) {
		if (rc == -EIO)
			snprintf(err, errlen, "cannot load the system's CA certificates");
		SSL_CTX_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int ktls_client_ssl(struct kclient *kc, SSL **out, BIO **rb, BIO **wb, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL *s = kc->ssl_ctx ? SSL_new(kc->ssl_ctx) : NULL;
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
	int ok;

	*out = NULL;
	if (!s || !r || !w) {
		SSL_free(s);
		BIO_free(r);
		BIO_free(w);
		snprintf(err, errlen, "TLS: out of memory");
		return -ENOMEM;
	}
	/* An empty BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(r, -1);
	BIO_set_mem_eof_return(w, -1);
	SSL_set_bio(s, r, w);
	SSL_set_connect_state(s);
	ok = SSL_set_alpn_protos(s, alpn, sizeof(alpn) - 1) == 0; /* 0 is success here */
	if (ok && !ktls_is_ip(kc->tls_name))
		ok = SSL_set_tlsext_host_name(s, kc->tls_name) == 1;
	if (ok && kc->cfg->insecure_skip_tls_verify) {
		SSL_set_verify(s, SSL_VERIFY_NONE, NULL);
	} else if (ok) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(s);

		SSL_set_verify(s, SSL_VERIFY_PEER, NULL);
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (ktls_is_ip(kc->tls_name))
			ok = X509_VERIFY_PARAM_set1_ip_asc(vp, kc->tls_name) == 1;
		else
			ok = X509_VERIFY_PARAM_set1_host(vp, kc->tls_name, 0) == 1;
	}
	if (!ok) {
		ERR_clear_error();
		SSL_free(s);
		snprintf(err, errlen, "TLS: cannot set up the connection for %s", kc->tls_name);
		return -EINVAL;
	}
	*out = s;
	*rb = r;
	*wb = w;
	return 0;
}
