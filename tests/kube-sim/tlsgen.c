/* tlsgen.c: kube-sim's own CA, server and client certificates (EC P-256),
 * made fresh at every start, and the server SSL_CTX.
 */
#include "tlsgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EINVAL;
	X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return 0;
}

/* Make a certificate for KEY named CN (and O when given), signed by
 * ISSUER/IKEY (self-signed when ISSUER is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer, EVP_PKEY *ikey,
		       const char *san, bool ca, bool server)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn;

	if (!x || !name)
		goto fail;
	X509_set_version(x, 2);
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7F;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * 30);
	X509_set_pubkey(x, key);
	if (org)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (add_ext(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    add_ext(x, issuer ? issuer : x, NID_key_usage,
		    ca ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature,keyEncipherment") ||
	    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash"))
		goto fail;
	if (!ca && add_ext(x, issuer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth"))
		goto fail;
	if (san && add_ext(x, issuer ? issuer : x, NID_subject_alt_name, san))
		goto fail;
	if (!X509_sign(x, issuer ? ikey : key, EVP_sha256()))
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

char *pem_of_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b && PEM_write_bio_X509(b, x)) {
		n = BIO_get_mem_data(b, &p);
		out = strndup(p, (size_t)n);
	}
	BIO_free(b);
	return out;
}

char *pem_of_key(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		n = BIO_get_mem_data(b, &p);
		out = strndup(p, (size_t)n);
	}
	BIO_free(b);
	return out;
}

int tls_make_all(struct tls_material *m)
{
	memset(m, 0, sizeof(*m));
	m->ca_key = new_key();
	m->srv_key = new_key();
	m->cli_key = new_key();
	m->view_key = new_key();
	if (!m->ca_key || !m->srv_key || !m->cli_key || !m->view_key)
		return -ENOMEM;
	m->ca = make_cert(m->ca_key, "kube-sim-ca", NULL, NULL, NULL, NULL, true, false);
	if (!m->ca)
		return -EINVAL;
	m->srv = make_cert(m->srv_key, "kube-apiserver", NULL, m->ca, m->ca_key,
			   "IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kube-sim,DNS:kube-sim.test", false, true);
	m->cli = make_cert(m->cli_key, "cert-user", "system:masters", m->ca, m->ca_key, NULL, false, false);
	m->view = make_cert(m->view_key, "cert-viewer", "viewers", m->ca, m->ca_key, NULL, false, false);
	if (!m->srv || !m->cli || !m->view)
		return -EINVAL;
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	struct conn_alpn_sink *sink = SSL_get_app_data(ssl);

	(void)arg;
	/* Record what the client offered (tests check that exec clients
	 * offer http/1.1 only), then agree on http/1.1 if it is there. */
	if (sink) {
		size_t o = 0;

		for (unsigned i = 0; i < inlen && o + 2 < sizeof(sink->offered);) {
			unsigned l = in[i++];

			if (i + l > inlen)
				break;
			if (o)
				sink->offered[o++] = ',';
			for (unsigned j = 0; j < l && o + 1 < sizeof(sink->offered); j++)
				sink->offered[o++] = (char)in[i + j];
			i += l;
		}
		sink->offered[o] = '\0';
	}
	for (unsigned i = 0; i < inlen;) {
		unsigned l = in[i];

		if (l == 8 && i + 1 + l <= inlen && !memcmp(in + i + 1, "http/1.1", 8)) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *tls_server_ctx(struct tls_material *m)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	static const unsigned char sid[] = "kube-sim";

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate(ctx, m->srv) != 1 || SSL_CTX_use_PrivateKey(ctx, m->srv_key) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), m->ca);
	SSL_CTX_add_client_CA(ctx, m->ca);
	/* Ask for a client certificate, verify it if given, do not require it. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

void tls_free(struct tls_material *m)
{
	EVP_PKEY_free(m->ca_key);
	EVP_PKEY_free(m->srv_key);
	EVP_PKEY_free(m->cli_key);
	EVP_PKEY_free(m->view_key);
	X509_free(m->ca);
	X509_free(m->srv);
	X509_free(m->cli);
	X509_free(m->view);
	memset(m, 0, sizeof(*m));
}
