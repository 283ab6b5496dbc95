/* tls.c: the OpenSSL client context for exec connections: the cluster's CA
 * bundle (or the system store), TLS >= 1.2, and the client certificate and
 * key from memory. Hostname checks are done by lws against kc->tls_name.
 */
#include "kclient_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
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
