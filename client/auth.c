/* auth.c: credentials for requests, as client-go supplies them (see auth.h;
 * shared/reference/k8s-exec-protocol.md §4.7).
 *
 * Owns: the token read from tokenFile (re-read when the file changes, at
 * least every minute, and after a 401; the last good token is kept when a
 * read fails), and the exec credential plugin: its environment
 * (KUBERNETES_EXEC_INFO), its stdin per interactiveMode, its output under a
 * size ceiling and a deadline (then it is killed), and its credential,
 * cached until a little before expirationTimestamp.
 *
 * As in client-go (transport.Config.Wrap / exec.UpdateTransportConfig), the
 * plugin is used only when the user has no token, tokenFile, basic auth or
 * client certificate of its own.
 *
 * Invariants: a->generation changes whenever the credential handed out may
 * have changed (each plugin run, each new tokenFile content); kauth_invalidate
 * with an older generation is a no-op, so a burst of 401s to old requests
 * runs the plugin once. Credentials appear in no message and no log line;
 * buffers that held them are wiped before free.
 *
 * Locks: a->mu, one per kauth, nothing nested inside it. The plugin runs
 * under a->mu: concurrent callers wait for that one run (client-go holds its
 * Authenticator mutex the same way) and it is bounded by the deadline.
 */
#include "auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "kubeconfig.h"
#include "log.h"
#include "strparse.h"

#define EXEC_MAX_STDOUT (1u << 20)
#define EXEC_TIMEOUT_MS 60000
#define EXEC_EARLY_REFRESH 10 /* seconds before expirationTimestamp */
#define TOKEN_FILE_PERIOD 60  /* seconds; client-go's cachedFileTokenSource */
#define TOKEN_FILE_MAX (1u << 20)
#define EXEC_INFO_ENV "KUBERNETES_EXEC_INFO"

extern char **environ;

struct kauth {
	const struct kcfg *cfg;
	pthread_mutex_t mu;
	unsigned long generation;
	time_t (*now)(void);
	int exec_timeout_ms;
	bool use_exec;

	/* tokenFile */
	char *file_token; /* last good content, or NULL */
	time_t file_checked;
	struct stat file_st;
	bool file_failed; /* the last read failed; wait a period */
	bool file_stale;  /* invalidated */

	/* exec plugin */
	struct kauth_creds exec; /* last good output */
	bool exec_have;
	bool exec_stale; /* invalidated */
	time_t exec_expiry; /* 0 = never */
};

static time_t wall_now(void)
{
	return time(NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
						     const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void wipe_free(char *s, size_t len)
{
	if (s) {
		memset(s, 0, len ? len : strlen(s));
		free(s);
	}
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

void kauth_creds_free(struct kauth_creds *c)
{
	if (!c)
		return;
	wipe_free(c->bearer, 0);
	free(c->basic_user);
	wipe_free(c->basic_pass, 0);
	free(c->cert_pem);
	wipe_free(c->key_pem, c->key_pem_len);
	memset(c, 0, sizeof(*c));
}

int kauth_new(struct kauth **out, const struct kcfg *cfg)
{
	struct kauth *a;

	*out = NULL;
	if (!cfg)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (pthread_mutex_init(&a->mu, NULL)) {
		free(a);
		return -ENOMEM;
	}
	a->cfg = cfg;
	a->generation = 1;
	a->now = wall_now;
	a->exec_timeout_ms = EXEC_TIMEOUT_MS;
	a->use_exec = cfg->exec && !cfg->token && !cfg->token_file && !cfg->username &&
		      !cfg->password && !cfg->client_cert_pem;
	if (cfg->exec && !a->use_exec)
		log_info("user %s has its own credentials; not running the exec plugin %s",
			 cfg->user_name ? cfg->user_name : "(unnamed)", cfg->exec->command);
	*out = a;
	return 0;
}

void kauth_free(struct kauth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	wipe_free(a->file_token, 0);
	kauth_creds_free(&a->exec);
	free(a);
}

void kauth_set_clock(struct kauth *a, time_t (*now)(void))
{
	a->now = now ? now : wall_now;
}

void kauth_set_exec_timeout_ms(struct kauth *a, int timeout_ms)
{
	a->exec_timeout_ms = timeout_ms > 0 ? timeout_ms : EXEC_TIMEOUT_MS;
}

void kauth_invalidate(struct kauth *a, unsigned long generation)
{
	pthread_mutex_lock(&a->mu);
	if (generation == a->generation) {
		a->exec_stale = true;
		a->file_stale = true;
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---- RFC 3339 and base64 ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), as Go's time.RFC3339 parses. */
static int parse_rfc3339(const char *s, time_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t Y, M, D, h, mi, sec, oh = 0, om = 0;
	int64_t off = 0, t;
	const char *p;
	bool leap;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (parse_u64(s, 4, 9999, &Y) || parse_u64(s + 5, 2, 12, &M) ||
	    parse_u64(s + 8, 2, 31, &D) || parse_u64(s + 11, 2, 23, &h) ||
	    parse_u64(s + 14, 2, 59, &mi) || parse_u64(s + 17, 2, 59, &sec))
		return -EINVAL;
	leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (M < 1 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap))
		return -EINVAL;
	p = s + 19;
	if (*p == '.' || *p == ',') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (strlen(p) != 6 || p[3] != ':' || parse_u64(p + 1, 2, 23, &oh) ||
		    parse_u64(p + 4, 2, 59, &om))
			return -EINVAL;
		off = (int64_t)(oh * 3600 + om * 60);
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = days_from_civil((int64_t)Y, (unsigned)M, (unsigned)D) * 86400 +
	    (int64_t)(h * 3600 + mi * 60 + sec) - off;
	if (t <= 0)
		t = 1; /* long expired (0 means "never") */
	*out = (time_t)t;
	return 0;
}

static char *b64_encode(const char *in, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)in;
	char *o = malloc((n + 2) / 3 * 4 + 1), *w = o;
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		*w++ = tab[v >> 18];
		*w++ = tab[(v >> 12) & 63];
		*w++ = tab[(v >> 6) & 63];
		*w++ = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);

		*w++ = tab[v >> 18];
		*w++ = tab[(v >> 12) & 63];
		*w++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*w++ = '=';
	}
	*w = '\0';
	return o;
}

/* ---- ExecCredential ---- */

int kauth_parse_exec_credential(const char *json, size_t len, const char *api_version,
				struct kauth_creds *out, time_t *expiry, char *err, size_t errlen)
{
	cJSON *root, *kind, *ver, *status, *tok, *cert, *key, *exp;
	const char *t = NULL, *c = NULL, *k = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*expiry = 0;
	root = cJSON_ParseWithLength(json, len);
	if (!root || !cJSON_IsObject(root)) {
		rc = fail(err, errlen, -EPROTO,
			  "decoding the ExecCredential: the plugin's output is not a JSON object");
		goto out;
	}
	kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	ver = cJSON_GetObjectItemCaseSensitive(root, "apiVersion");
	if (!cJSON_IsString(ver) || strcmp(ver->valuestring, api_version)) {
		rc = fail(err, errlen, -EPROTO,
			  "exec plugin is configured to use API version %s, plugin returned version %.100s",
			  api_version, cJSON_IsString(ver) ? ver->valuestring : "(none)");
		goto out;
	}
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential")) {
		rc = fail(err, errlen, -EPROTO,
			  "decoding the ExecCredential: kind is \"%.100s\", want \"ExecCredential\"",
			  cJSON_IsString(kind) ? kind->valuestring : "");
		goto out;
	}
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsObject(status)) {
		rc = fail(err, errlen, -EPROTO, "exec plugin didn't return a status field");
		goto out;
	}
	tok = cJSON_GetObjectItemCaseSensitive(status, "token");
	cert = cJSON_GetObjectItemCaseSensitive(status, "clientCertificateData");
	key = cJSON_GetObjectItemCaseSensitive(status, "clientKeyData");
	exp = cJSON_GetObjectItemCaseSensitive(status, "expirationTimestamp");
	if ((tok && !cJSON_IsNull(tok) && !cJSON_IsString(tok)) ||
	    (cert && !cJSON_IsNull(cert) && !cJSON_IsString(cert)) ||
	    (key && !cJSON_IsNull(key) && !cJSON_IsString(key)) ||
	    (exp && !cJSON_IsNull(exp) && !cJSON_IsString(exp))) {
		rc = fail(err, errlen, -EPROTO,
			  "decoding the ExecCredential: a status field is not a string");
		goto out;
	}
	if (cJSON_IsString(tok) && *tok->valuestring)
		t = tok->valuestring;
	if (cJSON_IsString(cert) && *cert->valuestring)
		c = cert->valuestring;
	if (cJSON_IsString(key) && *key->valuestring)
		k = key->valuestring;
	if (!t && !c && !k) {
		rc = fail(err, errlen, -EPROTO, "exec plugin didn't return a token or cert/key pair");
		goto out;
	}
	if (!c != !k) {
		rc = fail(err, errlen, -EPROTO,
			  "exec plugin returned only certificate or key, not both");
		goto out;
	}
	if (t && has_ctl(t)) {
		rc = fail(err, errlen, -EPROTO,
			  "exec plugin returned a token containing control characters");
		goto out;
	}
	if (cJSON_IsString(exp) && parse_rfc3339(exp->valuestring, expiry)) {
		rc = fail(err, errlen, -EPROTO,
			  "exec plugin returned an invalid expirationTimestamp \"%.64s\"",
			  exp->valuestring);
		goto out;
	}
	if ((t && !(out->bearer = strdup(t))) || (c && !(out->cert_pem = strdup(c))) ||
	    (k && !(out->key_pem = strdup(k)))) {
		rc = fail(err, errlen, -ENOMEM, "decoding the ExecCredential: out of memory");
		goto out;
	}
	out->cert_pem_len = c ? strlen(c) : 0;
	out->key_pem_len = k ? strlen(k) : 0;
out:
	if (rc) {
		kauth_creds_free(out);
		*expiry = 0;
	}
	if (root) {
		/* the tree holds the secrets too */
		if (t)
			memset(tok->valuestring, 0, strlen(t));
		if (k)
			memset(key->valuestring, 0, strlen(k));
	}
	cJSON_Delete(root);
	return rc;
}

char *kauth_exec_info_json(const struct kcfg *cfg, int interactive)
{
	cJSON *root, *spec, *cl, *conf;
	char *s = NULL, *ca = NULL;

	if (!cfg || !cfg->exec || !cfg->exec->api_version)
		return NULL;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "kind", "ExecCredential") ||
	    !cJSON_AddStringToObject(root, "apiVersion", cfg->exec->api_version) ||
	    !(spec = cJSON_AddObjectToObject(root, "spec")))
		goto out;
	if (cfg->exec->provide_cluster_info) {
		/* field order and omitempty as in clientauthentication/v1.Cluster */
		cl = cJSON_AddObjectToObject(spec, "cluster");
		if (!cl || !cJSON_AddStringToObject(cl, "server", cfg->server ? cfg->server : ""))
			goto out;
		if (cfg->tls_server_name &&
		    !cJSON_AddStringToObject(cl, "tls-server-name", cfg->tls_server_name))
			goto out;
		if (cfg->insecure_skip_tls_verify &&
		    !cJSON_AddTrueToObject(cl, "insecure-skip-tls-verify"))
			goto out;
		if (cfg->ca_pem && cfg->ca_pem_len) {
			ca = b64_encode(cfg->ca_pem, cfg->ca_pem_len);
			if (!ca || !cJSON_AddStringToObject(cl, "certificate-authority-data", ca))
				goto out;
		}
		if (cfg->proxy_url && !cJSON_AddStringToObject(cl, "proxy-url", cfg->proxy_url))
			goto out;
		if (cfg->exec->cluster_config_json) {
			conf = cJSON_Parse(cfg->exec->cluster_config_json);
			if (!conf)
				goto out;
			if (!cJSON_AddItemToObject(cl, "config", conf)) {
				cJSON_Delete(conf);
				goto out;
			}
		}
	}
	if (!cJSON_AddBoolToObject(spec, "interactive", interactive ? 1 : 0))
		goto out;
	s = cJSON_PrintUnformatted(root);
out:
	free(ca);
	cJSON_Delete(root);
	return s;
}

/* ---- the exec plugin ---- */

__attribute__((format(printf, 5, 6))) static int exec_fail(const struct kcfg_exec *x, char *err,
							  size_t errlen, int rc,
							  const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (x->install_hint && n < errlen)
		snprintf(err + n, errlen - n, "\n\n%s", x->install_hint);
	return rc;
}

/* CMD itself if it has a '/', else the first executable CMD in $PATH
 * (absolute entries only, as Go's exec.LookPath insists). */
static char *find_command(const char *cmd)
{
	const char *path = getenv("PATH"), *p;
	struct buf b;

	if (strchr(cmd, '/'))
		return strdup(cmd);
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	buf_init(&b, 65536);
	for (p = path;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		struct stat st;

		if (len && p[0] == '/') {
			buf_reset(&b);
			if (!buf_printf(&b, "%.*s/%s", (int)len, p, cmd) && stat(b.data, &st) == 0 &&
			    S_ISREG(st.st_mode) && access(b.data, X_OK) == 0)
				return buf_take(&b);
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	buf_cleanup(&b);
	return NULL;
}

/* parent environment minus the names we set, then exec.env, then
 * KUBERNETES_EXEC_INFO. Strings we allocate go to *OWNED. */
static char **build_env(const struct kcfg_exec *x, const char *info, char ***owned)
{
	size_t nparent = 0, k = 0, o = 0;
	char **envp, **own;
	struct buf b;

	for (char **e = environ; e && *e; e++)
		nparent++;
	envp = calloc(nparent + x->nenv + 2, sizeof(*envp));
	own = calloc(x->nenv + 2, sizeof(*own));
	if (!envp || !own)
		goto fail;
	for (char **e = environ; e && *e; e++) {
		size_t nl = strcspn(*e, "=");
		bool drop = nl == strlen(EXEC_INFO_ENV) && !strncmp(*e, EXEC_INFO_ENV, nl);

		for (size_t i = 0; i < x->nenv && !drop; i++)
			drop = strlen(x->env[i].name) == nl && !strncmp(*e, x->env[i].name, nl);
		if (!drop)
			envp[k++] = *e;
	}
	for (size_t i = 0; i < x->nenv; i++) {
		bool later = false;

		for (size_t j = i + 1; j < x->nenv && !later; j++)
			later = !strcmp(x->env[i].name, x->env[j].name); /* the last one wins */
		if (later)
			continue;
		buf_init(&b, (size_t)1 << 20);
		if (buf_printf(&b, "%s=%s", x->env[i].name, x->env[i].value) ||
		    !(own[o] = buf_take(&b))) {
			buf_cleanup(&b);
			goto fail;
		}
		envp[k++] = own[o++];
	}
	buf_init(&b, (size_t)16 << 20);
	if (buf_printf(&b, "%s=%s", EXEC_INFO_ENV, info) || !(own[o] = buf_take(&b))) {
		buf_cleanup(&b);
		goto fail;
	}
	envp[k++] = own[o++];
	*owned = own;
	return envp;
fail:
	if (own)
		for (size_t i = 0; i < o; i++)
			wipe_free(own[i], 0);
	free(own);
	free(envp);
	*owned = NULL;
	return NULL;
}

/* After fork(): async-signal-safe calls only. */
static void __attribute__((noreturn)) child(const char *path, char *const argv[],
					    char *const envp[], int in_fd, int out_fd,
					    int err_fd, bool own_group)
{
	sigset_t none;
	int e;

	if (in_fd == 0)
		fcntl(0, F_SETFD, 0);
	else if (in_fd > 0 && dup2(in_fd, 0) < 0)
		goto fail;
	if (out_fd == 1)
		fcntl(1, F_SETFD, 0);
	else if (dup2(out_fd, 1) < 0)
		goto fail;
	if (own_group)
		setpgid(0, 0); /* so a timeout kills the plugin's children too */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void kill_plugin(pid_t pid, bool own_group)
{
	if (own_group)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* Reap PID; kill it at DEADLINE. */
static int reap(pid_t pid, int64_t deadline, bool own_group, int *status, bool *timed_out)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (mono_ms() >= deadline) {
			*timed_out = true;
			kill_plugin(pid, own_group);
			while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
				;
			return r == pid ? 0 : -errno;
		}
		nanosleep(&nap, NULL);
	}
}

static int run_plugin(struct kauth *a, struct kauth_creds *creds, time_t *expiry, char *err,
		      size_t errlen)
{
	const struct kcfg_exec *x = a->cfg->exec;
	const char *mode = x->interactive_mode ? x->interactive_mode : "IfAvailable";
	int devnull = -1, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	char *info = NULL, *path = NULL, **envp = NULL, **owned = NULL, **argv = NULL;
	char chunk[16384], perr[512];
	bool interactive = false, timed_out = false, toobig = false;
	int rc = 0, status = 0, exec_errno = 0;
	size_t nargs = 0;
	int64_t deadline;
	struct buf out;
	pid_t pid = -1;
	ssize_t n;

	buf_init(&out, EXEC_MAX_STDOUT);
	if (strcmp(mode, "Never")) {
		interactive = isatty(0);
		if (!interactive && !strcmp(mode, "Always"))
			return exec_fail(x, err, errlen, -ENOTTY,
					 "exec plugin %s cannot support interactive mode: standard input is not a terminal",
					 x->command);
	}
	info = kauth_exec_info_json(a->cfg, interactive);
	if (!info) {
		rc = fail(err, errlen, -ENOMEM, "exec: building KUBERNETES_EXEC_INFO: out of memory");
		goto out;
	}
	path = find_command(x->command);
	if (!path) {
		rc = exec_fail(x, err, errlen, -ENOENT, "exec: executable %s not found", x->command);
		goto out;
	}
	while (x->args && x->args[nargs])
		nargs++;
	argv = calloc(nargs + 2, sizeof(*argv));
	envp = build_env(x, info, &owned);
	if (!argv || !envp) {
		rc = fail(err, errlen, -ENOMEM, "exec: out of memory");
		goto out;
	}
	argv[0] = x->command;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = x->args[i];
	if (!interactive && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = fail(err, errlen, -errno, "exec: opening /dev/null: %s", strerror(errno));
		goto out;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = fail(err, errlen, -errno, "exec: pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = fail(err, errlen, -errno, "exec: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(path, argv, envp, interactive ? 0 : devnull, outp[1], errp[1], !interactive);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (!interactive)
		setpgid(pid, pid); /* also done in the child; whoever runs first wins */
	deadline = mono_ms() + a->exec_timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = outp[0], .events = POLLIN };
		int64_t left = deadline - mono_ms();
		int pr;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR) {
			rc = fail(err, errlen, -errno, "exec: poll: %s", strerror(errno));
			break;
		}
		if (pr <= 0)
			continue;
		n = read(outp[0], chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = fail(err, errlen, -errno, "exec: reading the plugin's output: %s",
				  strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (buf_append(&out, chunk, (size_t)n)) {
			toobig = true;
			break;
		}
	}
	memset(chunk, 0, sizeof(chunk));
	if (timed_out || toobig || rc)
		kill_plugin(pid, !interactive);
	while ((n = read(errp[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(exec_errno))
		exec_errno = 0;
	{
		int r = reap(pid, deadline, !interactive, &status, &timed_out);

		if (r && !rc)
			rc = fail(err, errlen, r, "exec: waiting for %s: %s", x->command,
				  strerror(-r));
	}
	pid = -1;
	if (rc)
		goto out;
	if (exec_errno == ENOENT) {
		rc = exec_fail(x, err, errlen, -ENOENT, "exec: executable %s not found",
			       x->command);
	} else if (exec_errno) {
		rc = exec_fail(x, err, errlen, -exec_errno, "exec: executable %s could not be run: %s",
			       x->command, strerror(exec_errno));
	} else if (timed_out) {
		rc = fail(err, errlen, -ETIMEDOUT,
			  "exec: executable %s did not finish within %d ms and was killed", x->command,
			  a->exec_timeout_ms);
	} else if (toobig) {
		rc = fail(err, errlen, -E2BIG, "exec: executable %s wrote more than %u KiB to stdout",
			  x->command, EXEC_MAX_STDOUT >> 10);
	} else if (WIFSIGNALED(status)) {
		rc = exec_fail(x, err, errlen, -EACCES, "exec: executable %s was killed by signal %d",
			       x->command, WTERMSIG(status));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = exec_fail(x, err, errlen, -EACCES,
			       "exec: executable %s failed with exit code %d", x->command,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		rc = kauth_parse_exec_credential(out.data ? out.data : "", out.len, x->api_version,
						 creds, expiry, perr, sizeof(perr));
		if (rc)
			fail(err, errlen, rc, "exec: executable %s: %s", x->command, perr);
	}
out:
	if (pid > 0) {
		kill_plugin(pid, !interactive);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (devnull >= 0)
		close(devnull);
	if (out.data)
		memset(out.data, 0, out.len);
	buf_cleanup(&out);
	if (owned)
		for (char **p = owned; *p; p++)
			wipe_free(*p, 0);
	free(owned);
	free(envp);
	free(argv);
	free(path);
	free(info);
	return rc;
}

/* Under a->mu. */
static int exec_refresh(struct kauth *a, char *err, size_t errlen)
{
	struct kauth_creds fresh;
	time_t now = a->now(), expiry = 0;
	bool expired = a->exec_expiry && now >= a->exec_expiry;
	bool soon = a->exec_expiry && now >= a->exec_expiry - EXEC_EARLY_REFRESH;
	int rc;

	if (a->exec_have && !a->exec_stale && !soon)
		return 0;
	rc = run_plugin(a, &fresh, &expiry, err, errlen);
	if (rc) {
		if (a->exec_have && !a->exec_stale && !expired) {
			/* an early refresh failed: the current one is still good */
			log_warn("%.*s; using the current credential until it expires",
				 (int)strcspn(err, "\n"), err);
			if (errlen)
				err[0] = '\0';
			return 0;
		}
		return rc;
	}
	kauth_creds_free(&a->exec);
	a->exec = fresh;
	a->exec_have = true;
	a->exec_stale = false;
	a->exec_expiry = expiry;
	a->generation++;
	return 0;
}

static bool same_file(const struct stat *x, const struct stat *y)
{
	return x->st_dev == y->st_dev && x->st_ino == y->st_ino && x->st_size == y->st_size &&
	       x->st_mtim.tv_sec == y->st_mtim.tv_sec && x->st_mtim.tv_nsec == y->st_mtim.tv_nsec;
}

/* The trimmed content of PATH. */
static int read_token_file(const char *path, char **out, struct stat *st)
{
	char chunk[4096];
	struct buf b;
	char *s, *e;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_init(&b, TOKEN_FILE_MAX);
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		rc = buf_append(&b, chunk, (size_t)n);
		if (rc)
			goto out;
	}
	if (!b.data || memchr(b.data, '\0', b.len)) {
		rc = -ENODATA;
		goto out;
	}
	s = b.data;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = b.data + b.len;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (e == s) {
		rc = -ENODATA;
		goto out;
	}
	*e = '\0';
	if (has_ctl(s)) {
		rc = -EINVAL;
		goto out;
	}
	*out = strdup(s);
	if (!*out)
		rc = -ENOMEM;
out:
	memset(chunk, 0, sizeof(chunk));
	if (b.data)
		memset(b.data, 0, b.len);
	buf_cleanup(&b);
	close(fd);
	return rc;
}

static const char *token_file_error(int rc)
{
	if (rc == -ENODATA)
		return "the file is empty";
	if (rc == -EINVAL)
		return "the token contains control characters";
	if (rc == -E2BIG)
		return "the file is larger than 1 MiB";
	return strerror(-rc);
}

/* Under a->mu: a->file_token up to date, or an error when there is no
 * token at all. */
static int file_refresh(struct kauth *a, char *err, size_t errlen)
{
	const char *path = a->cfg->token_file;
	time_t now = a->now();
	bool due = !a->file_token || a->file_stale || now < a->file_checked ||
		   now - a->file_checked >= TOKEN_FILE_PERIOD;
	struct stat st;
	char *tok;
	int rc;

	if (!due) {
		if (a->file_failed)
			return 0; /* retry when the period is over */
		if (stat(path, &st) == 0 && same_file(&st, &a->file_st))
			return 0;
	}
	rc = read_token_file(path, &tok, &st);
	a->file_checked = now;
	a->file_stale = false;
	if (rc) {
		a->file_failed = true;
		if (a->file_token || a->cfg->token) {
			log_warn("cannot read tokenFile %s (%s); keeping the last token", path,
				 token_file_error(rc));
			return 0;
		}
		return fail(err, errlen, rc, "unable to read tokenFile %s: %s", path,
			    token_file_error(rc));
	}
	a->file_failed = false;
	a->file_st = st;
	if (a->file_token && !strcmp(a->file_token, tok)) {
		wipe_free(tok, 0);
		return 0;
	}
	if (a->file_token)
		a->generation++;
	wipe_free(a->file_token, 0);
	a->file_token = tok;
	return 0;
}

static int dup_into(char **dst, const char *src, size_t len)
{
	if (!src)
		return 0;
	*dst = malloc(len + 1);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, len);
	(*dst)[len] = '\0';
	return 0;
}

int kauth_get(struct kauth *a, struct kauth_creds *out, char *err, size_t errlen)
{
	const struct kcfg *c = a->cfg;
	const char *bearer = NULL, *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	pthread_mutex_lock(&a->mu);
	if (a->use_exec) {
		rc = exec_refresh(a, err, errlen);
		if (rc)
			goto out;
		bearer = a->exec.bearer;
		cert = a->exec.cert_pem;
		cert_len = a->exec.cert_pem_len;
		key = a->exec.key_pem;
		key_len = a->exec.key_pem_len;
	} else {
		if (c->token_file) {
			rc = file_refresh(a, err, errlen);
			if (rc)
				goto out;
		}
		/* client-go: the file's token, else the static one */
		bearer = a->file_token ? a->file_token : c->token;
		if (c->client_cert_pem && c->client_key_pem) {
			cert = c->client_cert_pem;
			cert_len = c->client_cert_pem_len;
			key = c->client_key_pem;
			key_len = c->client_key_pem_len;
		}
		if (c->username || c->password) {
			rc = dup_into(&out->basic_user, c->username ? c->username : "",
				      c->username ? strlen(c->username) : 0);
			if (!rc)
				rc = dup_into(&out->basic_pass, c->password ? c->password : "",
					      c->password ? strlen(c->password) : 0);
		}
	}
	if (!rc && bearer)
		rc = dup_into(&out->bearer, bearer, strlen(bearer));
	if (!rc)
		rc = dup_into(&out->cert_pem, cert, cert_len);
	if (!rc)
		rc = dup_into(&out->key_pem, key, key_len);
	if (rc) {
		fail(err, errlen, rc, "copying credentials: out of memory");
		goto out;
	}
	out->cert_pem_len = cert ? cert_len : 0;
	out->key_pem_len = key ? key_len : 0;
	out->generation = a->generation;
out:
	pthread_mutex_unlock(&a->mu);
	if (rc)
		kauth_creds_free(out);
	return rc;
}
