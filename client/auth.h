/* auth.h: credentials for requests, as client-go supplies them.
 *
 * A kauth turns a kcfg's user into what goes on the wire: a bearer token
 * (static, from tokenFile re-read when it changes and at least every
 * minute, or from an exec credential plugin cached until its
 * expirationTimestamp), HTTP basic credentials, and/or a client
 * certificate (static, or from the plugin). After a 401 the caller calls
 * kauth_invalidate(): the plugin runs again (or the token file is re-read)
 * for the next request.
 *
 * Thread-safe: every function may be called from any thread; the plugin
 * runs at most once at a time (callers wait for it). Never logs or puts a
 * credential into an error message.
 */
#ifndef PODFS_AUTH_H
#define PODFS_AUTH_H

#include <stddef.h>
#include <time.h>

struct kcfg;
struct kauth;

/* Credentials for one request; free with kauth_creds_free. */
struct kauth_creds {
	char *bearer;		/* token, or NULL */
	char *basic_user;	/* or NULL */
	char *basic_pass;
	char *cert_pem;		/* client certificate, or NULL */
	size_t cert_pem_len;
	char *key_pem;
	size_t key_pem_len;
	unsigned long generation; /* changes whenever the credential changes */
};

/* CFG must outlive the kauth. */
int kauth_new(struct kauth **out, const struct kcfg *cfg);
void kauth_free(struct kauth *a);
/* Current credentials (runs the plugin / reads the token file if needed). */
int kauth_get(struct kauth *a, struct kauth_creds *out, char *err, size_t errlen);
/* The server said 401 to credentials of GENERATION: refresh before next use. */
void kauth_invalidate(struct kauth *a, unsigned long generation);
void kauth_creds_free(struct kauth_creds *c);

/* Tuning and testing hooks; call before A is shared between threads.
 * NOW returns wall-clock seconds (default: time()); it drives credential
 * expiry and the token file's re-read period. TIMEOUT_MS bounds one run of
 * the exec plugin (default 60 s), after which it is killed. */
void kauth_set_clock(struct kauth *a, time_t (*now)(void));
void kauth_set_exec_timeout_ms(struct kauth *a, int timeout_ms);

/* Exposed for unit tests: parse an ExecCredential JSON (API_VERSION must
 * match), filling token or cert/key and *expiry (0 = never). */
int kauth_parse_exec_credential(const char *json, size_t len, const char *api_version,
				struct kauth_creds *out, time_t *expiry, char *err, size_t errlen);
/* Exposed for unit tests: the KUBERNETES_EXEC_INFO JSON for CFG. */
char *kauth_exec_info_json(const struct kcfg *cfg, int interactive);

#endif
