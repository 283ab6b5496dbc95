/* kubeconfig.h: which cluster, user and namespace to talk to, as kubectl
 * decides it (client-go clientcmd rules; see
 * shared/reference/k8s-exec-protocol.md §4).
 *
 * Loading order: --kubeconfig FILE (must exist), else $KUBECONFIG (':'
 * separated, missing files skipped, first definition of a name wins, first
 * non-empty current-context wins), else ~/.kube/config, else in-cluster
 * config (service account token, CA and namespace). Relative paths resolve
 * against the directory of the file that defined the stanza.
 *
 * All functions are called from one thread at start-up; the result is
 * immutable afterwards and may be shared read-only between threads.
 * Errors: 0 or negative errno, with a message for the user in ERR (never
 * containing a credential).
 */
#ifndef PODFS_KUBECONFIG_H
#define PODFS_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct kcfg_env_var {
	char *name;
	char *value;
};

/* An exec credential plugin (user.exec). */
struct kcfg_exec {
	char *api_version;	    /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *command;		    /* resolved against the kubeconfig dir if it contains '/' */
	char **args;		    /* NULL-terminated */
	struct kcfg_env_var *env;   /* extra environment */
	size_t nenv;
	bool provide_cluster_info;
	char *interactive_mode;	    /* Never, IfAvailable, Always */
	char *install_hint;
	char *cluster_config_json;  /* the cluster extension client.authentication.k8s.io/exec, as JSON, or NULL */
};

struct kcfg {
	/* What was chosen. */
	char *context_name; /* NULL for in-cluster */
	char *cluster_name;
	char *user_name;
	char *namespace; /* never NULL: context's, else "default" */

	/* cluster */
	char *server;		/* https://host:port[/prefix], no trailing '/' */
	char *ca_pem;		/* CA bundle bytes (from -data or the file), or NULL */
	size_t ca_pem_len;
	bool insecure_skip_tls_verify;
	char *tls_server_name;	/* or NULL */
	char *proxy_url;	/* or NULL */

	/* user */
	char *token;		/* static token, or NULL */
	char *token_file;	/* absolute path, or NULL (re-read by auth) */
	char *client_cert_pem;	/* or NULL */
	size_t client_cert_pem_len;
	char *client_key_pem;	/* or NULL */
	size_t client_key_pem_len;
	char *username, *password; /* basic auth, or NULL */
	struct kcfg_exec *exec;	/* or NULL */
	char *impersonate_user;	/* "as", or NULL */
	char **impersonate_groups; /* NULL-terminated, or NULL */
	bool in_cluster;
};

/* What the user asked for on the command line (any field may be NULL). */
struct kcfg_opts {
	const char *kubeconfig; /* --kubeconfig */
	const char *context;	/* --context */
	const char *namespace;	/* -n */
	/* Testing hooks (NULL = the real thing): */
	const char *env_kubeconfig; /* value of $KUBECONFIG */
	const char *home;	    /* $HOME */
	const char *sa_dir;	    /* /var/run/secrets/kubernetes.io/serviceaccount */
	const char *env_service_host, *env_service_port, *env_pod_namespace;
	bool use_process_env;	    /* true: read the env vars above from getenv when NULL */
};

/* Resolve OPTS into *OUT (free with kcfg_free). */
int kcfg_load(const struct kcfg_opts *opts, struct kcfg **out, char *err, size_t errlen);
void kcfg_free(struct kcfg *c);

#endif
