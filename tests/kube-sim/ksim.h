/* ksim.h: kube-sim's shared types: the cluster, the knobs, a connection.
 *
 * kube-sim is an emulated Kubernetes API server for podfs's tests: HTTPS on
 * loopback with its own CA, token / client-certificate / basic auth, pod
 * GET and list, and the exec subresource over WebSocket (v5 and v4
 * channel protocols). It is its own small HTTP/1.1 server (one thread per
 * connection, OpenSSL) so that every refusal, including the SPDY retry
 * that kubectl makes after a refused WebSocket, is a metav1.Status JSON.
 *
 * Threads: the main thread accepts; each connection has one thread that
 * owns its socket and SSL. Shared state (knobs, tokens, exec count, the
 * request log) is under ksim.lock; the cluster is read-only after start.
 */
#ifndef KSIM_H
#define KSIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>
#include <openssl/ssl.h>

#define KSIM_MAX_TOKENS 64

struct ksim_volume {
	char *name;
	char *mount_path;
	char *host_path;	/* bind mount, or NULL */
	unsigned long tmpfs_kib; /* tmpfs of this size when host_path is NULL */
};

struct ksim_container {
	char *name;
	char *image;
	char *rootfs;
	char *working_dir;
	uid_t uid;
	gid_t gid;
	bool ro_root;
	struct ksim_volume *vols;
	size_t nvols;
	pid_t holder; /* host pid of PID 1 of the container's namespaces */
	char id[65];  /* containerd-style hex id */
};

struct ksim_pod {
	char *ns;
	char *name;
	char *phase;
	cJSON *labels;	    /* object, owned */
	cJSON *annotations; /* object, owned */
	struct ksim_container *ctrs;
	size_t nctrs;
	char uid[37];
	char ip[16];
};

struct ksim_cluster {
	char **namespaces;
	size_t nns;
	struct ksim_pod *pods;
	size_t npods;
};

/* Fault and latency knobs; set at start and through /_sim/knobs. */
struct ksim_knobs {
	long exec_delay_ms;	   /* before the 101 of every exec */
	long msg_delay_ms;	   /* added to every WebSocket message, each way */
	long bandwidth;		   /* bytes/s of exec output, 0 = unlimited */
	long long kill_after_bytes; /* drop an exec's TCP after this many payload bytes, 0 = never */
	int fail_next;		   /* refuse the next N execs ... */
	int fail_status;	   /* ... with this HTTP status */
	int max_execs;		   /* concurrent execs; 429 beyond; 0 = unlimited */
	bool v4_only;		   /* offer only v4.channel.k8s.io, as an older cluster */
	bool blackhole;		   /* after the 101, swallow everything, answer nothing (a dead link) */
};

enum ksim_role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_ADMIN };

struct ksim_token {
	char token[256];
	char user[64];
	enum ksim_role role;
};

struct ksim {
	pthread_mutex_t lock;
	struct ksim_cluster cluster;
	struct ksim_knobs knobs;
	struct ksim_token tokens[KSIM_MAX_TOKENS];
	size_t ntokens;
	char sim_token[65];   /* for /_sim/ control requests */
	char basic_user[32];  /* HTTP basic credentials of the "basic" user */
	char basic_pass[65];
	int active_execs;
	unsigned long exec_seq;
	SSL_CTX *ssl_ctx;
	int log_fd; /* JSON-lines request log, -1 for none */
	char *state_dir;
	int port;
	long long start_time; /* unix seconds */
};

extern struct ksim ksim;

/* One client connection; owned by its thread. */
struct conn {
	int fd;
	SSL *ssl;
	char peer[64];
	char alpn_offered[128]; /* comma-separated, for the request log */
	char cert_user[128];	/* CN of a verified client certificate */
	char cert_group[128];	/* first O of it */
	uint8_t rbuf[65536];
	size_t rlen;
	uint64_t bytes_in;
	uint64_t bytes_out;
};

/* --- http.c: connection I/O and HTTP/1.1 --- */
#define HTTP_MAX_HEADERS 100

struct http_hdr {
	char *name;
	char *value;
};

struct http_req {
	char method[16];
	char *target; /* as sent */
	char *path;   /* percent-decoded path, without the query */
	char *query;  /* raw query string, or "" */
	struct http_hdr hdrs[HTTP_MAX_HEADERS];
	size_t nhdrs;
	char *body;
	size_t body_len;
	char *raw; /* storage of the strings above */
};

struct qparam {
	char *key;
	char *val;
};

uint64_t now_ms(void);
int conn_fill(struct conn *c, int timeout_ms);
int conn_read_nb(struct conn *c);
int conn_write_all(struct conn *c, const void *p, size_t n, int timeout_ms);
int http_read_request(struct conn *c, struct http_req *r, int timeout_ms);
void http_req_free(struct http_req *r);
const char *http_header(const struct http_req *r, const char *name);
bool http_header_has_token(const struct http_req *r, const char *name, const char *token);
int http_respond(struct conn *c, int status, const char *ctype, const char *body, size_t len,
		 const char *extra_headers);
const char *http_reason(int status);
/* Form-decode QUERY into an array of key/value pairs (caller frees with
 * query_free). -EINVAL on a malformed escape or an embedded NUL. */
int query_parse(const char *query, struct qparam **out, size_t *n);
void query_free(struct qparam *q, size_t n);
const char *query_get(const struct qparam *q, size_t n, const char *key);
/* Kubernetes boolean rule: missing = false; first value "0"/"false" = false; else true. */
bool query_bool(const struct qparam *q, size_t n, const char *key);

/* --- api.c --- */
/* Serve requests on C until it closes. */
void api_serve(struct conn *c);
char *status_json(int code, const char *reason, const char *message, cJSON *details);
int respond_status(struct conn *c, int code, const char *reason, const char *message,
		   cJSON *details, const char *extra_headers);

/* --- cluster.c --- */
int cluster_load(const char *path, struct ksim_cluster *cl, char *err, size_t errlen);
/* Start the namespace holder of every container (main thread only). */
int cluster_start(struct ksim_cluster *cl, char *err, size_t errlen);
void cluster_stop(struct ksim_cluster *cl);
struct ksim_pod *cluster_pod(struct ksim_cluster *cl, const char *ns, const char *name);
bool cluster_has_ns(struct ksim_cluster *cl, const char *ns);
cJSON *pod_json(const struct ksim_pod *p);

struct ksim_proc {
	pid_t pid;    /* the intermediate process (host pid namespace) */
	int in_fd;    /* write end of the command's stdin, or -1 */
	int out_fd;   /* read end of stdout, or -1 */
	int err_fd;   /* read end of stderr, or -1 */
	int report_fd; /* records: 'P' pid, 'E' errno, 'X' exit code */
};

int proc_spawn(const struct ksim_pod *pod, const struct ksim_container *ct, char *const *argv,
	       bool in, bool out, bool err, bool tty, struct ksim_proc *p);

/* --- exec.c --- */
struct exec_opts {
	const struct ksim_pod *pod;
	const struct ksim_container *ct;
	char **argv;
	bool in, out, err, tty;
	bool v5;
	struct ksim_knobs knobs;
};
/* Run an exec session on an upgraded connection; fills *exit_code (or -1)
 * and ERR with what went wrong. */
void exec_run(struct conn *c, struct exec_opts *o, int *exit_code, char *err, size_t errlen);

/* --- main.c --- */
/* kube-sim's argv strings (contiguous), overwritten in container holders. */
extern char *ksim_argv_area;
extern size_t ksim_argv_len;
void reqlog_write(cJSON *entry); /* takes ownership */

#endif
