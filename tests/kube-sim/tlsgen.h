/* tlsgen.h: kube-sim's certificates and server TLS context. */
#ifndef KSIM_TLSGEN_H
#define KSIM_TLSGEN_H

#include <stdbool.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_material {
	EVP_PKEY *ca_key, *srv_key, *cli_key, *view_key;
	X509 *ca, *srv, *cli, *view;
};

/* Where the ALPN callback records the client's offer; set with SSL_set_app_data on each SSL. */
struct conn_alpn_sink {
	char offered[128];
};

int tls_make_all(struct tls_material *m);
void tls_free(struct tls_material *m);
SSL_CTX *tls_server_ctx(struct tls_material *m);
/* PEM text, malloc'd. */
char *pem_of_cert(X509 *x);
char *pem_of_key(EVP_PKEY *k);

#endif
