/* kclient.h: talking to one Kubernetes API server: REST and exec sessions.
 *
 * A kclient is built from a resolved kubeconfig (kubeconfig.h). It owns
 * the credentials (auth.h), a libcurl handle for REST calls and one
 * libwebsockets context served by one thread for every exec session.
 * This layer knows Kubernetes and nothing about files.
 *
 * Threads: every function here may be called from any thread, except
 * that one kexec handle is used by one thread at a time. Callbacks never
 * run on the caller's behalf: data is pulled with kexec_read().
 * Errors: 0 / byte counts, or a negative errno; ERR buffers receive a
 * message for the user that never contains a credential.
 */
#ifndef PODFS_KCLIENT_H
#define PODFS_KCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kcfg;
struct kclient;
struct kexec;

#define KCLIENT_ERR_MAX 1024

int kclient_new(struct kclient **out, const struct kcfg *cfg, char *err, size_t errlen);
void kclient_free(struct kclient *kc);
const struct kcfg *kclient_cfg(const struct kclient *kc);

/* ---- REST ---- */

/* GET PATH (e.g. "/api/v1/namespaces/x/pods/y") relative to the server
 * URL. *STATUS gets the HTTP status; *BODY (malloc'd, NUL-terminated,
 * capped at 64 MiB) the response body. Transport failures return -errno
 * with ERR filled; an HTTP error status is not a failure here. Retries once
 * after a 401 with refreshed credentials. */
int krest_get(struct kclient *kc, const char *path, long *status, char **body, size_t *len,
	      char *err, size_t errlen);

/* Turn an error response into a message like kubectl's
 * 'Error from server (NotFound): pods "x" not found' and a negative errno
 * (401/403 -EACCES, 404 -ENOENT, 400/422 -EINVAL, 409 -EEXIST,
 * 429 -EAGAIN, 5xx -EIO). */
int krest_status_error(long status, const char *body, char *err, size_t errlen);

/* ---- pods ---- */

struct kpod {
	char *name;
	char *namespace;
	char *phase;
	char **containers;    /* spec.containers names, NULL-terminated */
	char **other_containers; /* init and ephemeral container names */
	char *default_container; /* annotation kubectl.kubernetes.io/default-container, or NULL */
	char *node_name;
};

int kpod_get(struct kclient *kc, const char *ns, const char *name, struct kpod *out, char *err,
	     size_t errlen);
void kpod_free(struct kpod *p);
/* Pick the container like kubectl: WANT if given (must exist), else the
 * default-container annotation if it names a container, else the first.
 * Refuses pods that are not Running. *NOTICE gets kubectl's
 * 'Defaulted container "a" out of: a, b' text when that applies (or ""). */
int kpod_pick_container(const struct kpod *p, const char *want, const char **out, char *notice,
			size_t noticelen, char *err, size_t errlen);

/* ---- exec ---- */

struct kexec_opts {
	const char *ns;
	const char *pod;
	const char *container;
	char *const *argv; /* NULL-terminated, at least one element */
	bool in;	   /* open stdin */
	bool out;	   /* want stdout */
	bool err;	   /* want stderr */
	int connect_timeout_ms; /* until the upgrade; 0 = 30 s */
};

enum kexec_chan { KEXEC_STDOUT = 1, KEXEC_STDERR = 2 };

struct kexec_result {
	int rc;		/* 0: the command ran and exit_code is valid; else -errno */
	int exit_code;	/* remote exit code (0-255) when rc == 0 */
	long http_status; /* when the upgrade was refused, else 0 or 101 */
	char message[KCLIENT_ERR_MAX]; /* what went wrong, for the user */
	char protocol[32]; /* negotiated subprotocol, "" if none */
	bool unclean;	/* the status arrived but the connection did not close cleanly */
};

/* Start a session (asynchronous: returns before the server answers).
 * The kexec is the caller's until kexec_free. */
int kexec_start(struct kclient *kc, const struct kexec_opts *o, struct kexec **out);
/* Queue stdin bytes; blocks while the queue is full, up to TIMEOUT_MS
 * (-1 = forever). Returns bytes queued, or -EPIPE once the session has
 * ended, -ETIMEDOUT. */
ssize_t kexec_write(struct kexec *x, const void *p, size_t n, int timeout_ms);
/* Signal stdin EOF (v5 only: under v4 returns -ENOTSUP; the stream then
 * has to end by itself, see shared CLARIFICATIONS 4). Waits until the
 * protocol is known. */
int kexec_close_stdin(struct kexec *x);
/* Read output: copies up to N bytes of the oldest chunk of stdout or
 * stderr (*CHAN says which). Returns bytes, 0 once the session has ended
 * and all output was read, -ETIMEDOUT. Output is bounded in memory: the
 * socket is not read while the caller lags. */
ssize_t kexec_read(struct kexec *x, enum kexec_chan *chan, void *buf, size_t n, int timeout_ms);
/* Wait for the end (all output must have been read or it is discarded)
 * and fetch the result. Returns result->rc, or -ETIMEDOUT. */
int kexec_wait(struct kexec *x, struct kexec_result *r, int timeout_ms);
/* Negotiated protocol version (5 or 4), waiting for the upgrade; <0 on failure. */
int kexec_version(struct kexec *x, int timeout_ms);
/* Abort the session (closes the connection); safe from any thread. */
void kexec_cancel(struct kexec *x);
/* Cancel if still running, wait for the end, free. */
void kexec_free(struct kexec *x);

/* Counters for benchmarks and `podfs stats`. */
struct kclient_stats {
	unsigned long execs_started;
	unsigned long rest_requests;
	unsigned long long bytes_in;  /* payload received from exec sessions */
	unsigned long long bytes_out; /* payload sent to exec sessions */
};
void kclient_get_stats(struct kclient *kc, struct kclient_stats *s);

#endif
