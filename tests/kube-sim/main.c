/* main.c: kube-sim's command line, start-up and lifecycle.
 *
 *   kube-sim --cluster FILE --state-dir DIR [options]
 *
 * Makes a CA and certificates, writes DIR/kubeconfig (contexts for a token
 * user, a client-certificate user, a read-only user and a basic-auth user),
 * starts the container holders, listens on 127.0.0.1 (ephemeral port by
 * default) and serves until SIGTERM/SIGINT, the --timeout, or the death of
 * --parent-pid. With --daemon it returns once ready, printing
 * "KUBECONFIG=... PORT=... PID=...".
 */
#include "ksim.h"
#include "tlsgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "log.h"
#include "strparse.h"

struct ksim ksim;
char *ksim_argv_area;
size_t ksim_argv_len;
static volatile sig_atomic_t stop_flag;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void reqlog_write(cJSON *e)
{
	char *s;

	if (ksim.log_fd < 0) {
		cJSON_Delete(e);
		return;
	}
	s = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (!s)
		return;
	size_t l = strlen(s);

	s[l] = '\n'; /* replaces the NUL; written with its length below */
	pthread_mutex_lock(&log_lock);
	ssize_t w = write(ksim.log_fd, s, l + 1);
	(void)w;
	pthread_mutex_unlock(&log_lock);
	free(s);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kube-sim --cluster FILE --state-dir DIR [options]\n"
		"  --port N              listen port (default 0: ephemeral)\n"
		"  --log FILE            JSON-lines request log (default DIR/requests.jsonl)\n"
		"  --daemon              return once ready, print KUBECONFIG=... PORT=... PID=...\n"
		"  --parent-pid PID      exit when PID dies\n"
		"  --timeout SEC         exit after SEC seconds (default 3600)\n"
		"  --v4-only             offer only v4.channel.k8s.io (an older cluster)\n"
		"  --exec-delay-ms N     delay before each exec starts\n"
		"  --msg-delay-ms N      delay added to each WebSocket message, each way\n"
		"  --bandwidth B         cap exec output at B bytes/s\n"
		"  --kill-after-bytes N  drop an exec connection after N payload bytes\n"
		"  --max-execs N         concurrent execs; 429 beyond\n"
		"  -v                    log connections to stderr\n"
		"Knobs can be changed while running: GET /_sim/knobs?NAME=VALUE with the bearer token in DIR/sim.token\n"
		"(also fail_next, fail_status, blackhole=1: execs get a 101 and then silence).\n");
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int write_file(const char *dir, const char *name, const char *data, mode_t mode)
{
	char path[4096];
	int fd;
	size_t len = strlen(data);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	fchmod(fd, mode);
	return close(fd) ? -errno : 0;
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static void rand_hex(char *out, size_t bytes)
{
	unsigned char r[64];
	static const char hx[] = "0123456789abcdef";

	RAND_bytes(r, (int)bytes);
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[2 * bytes] = '\0';
}

static int write_credentials(struct tls_material *m, const char *dir)
{
	char *ca = pem_of_cert(m->ca), *cc = pem_of_cert(m->cli), *ck = pem_of_key(m->cli_key);
	char *vc = pem_of_cert(m->view), *vk = pem_of_key(m->view_key);
	char *ca64 = b64(ca), *cc64 = b64(cc), *ck64 = b64(ck);
	struct buf kc;
	int rc;

	buf_init(&kc, 1 << 20);
	rc = write_file(dir, "ca.crt", ca, 0644) ?: write_file(dir, "client.crt", cc, 0644) ?:
	     write_file(dir, "client.key", ck, 0600) ?: write_file(dir, "viewer.crt", vc, 0644) ?:
	     write_file(dir, "viewer.key", vk, 0600) ?: write_file(dir, "admin.token", ksim.tokens[0].token, 0600) ?:
	     write_file(dir, "viewer.token", ksim.tokens[1].token, 0600) ?:
	     write_file(dir, "sim.token", ksim.sim_token, 0600);
	if (rc)
		goto out;
	buf_printf(&kc,
		   "apiVersion: v1\n"
		   "kind: Config\n"
		   "current-context: kube-sim\n"
		   "preferences: {}\n"
		   "clusters:\n"
		   "- name: kube-sim\n"
		   "  cluster:\n"
		   "    server: https://127.0.0.1:%d\n"
		   "    certificate-authority-data: %s\n"
		   "users:\n"
		   "- name: admin\n"
		   "  user:\n"
		   "    token: %s\n"
		   "- name: cert-user\n"
		   "  user:\n"
		   "    client-certificate-data: %s\n"
		   "    client-key-data: %s\n"
		   "- name: viewer\n"
		   "  user:\n"
		   "    token: %s\n"
		   "- name: basic\n"
		   "  user:\n"
		   "    username: %s\n"
		   "    password: %s\n"
		   "contexts:\n"
		   "- name: kube-sim\n"
		   "  context:\n"
		   "    cluster: kube-sim\n"
		   "    user: admin\n"
		   "    namespace: default\n"
		   "- name: kube-sim-cert\n"
		   "  context:\n"
		   "    cluster: kube-sim\n"
		   "    user: cert-user\n"
		   "- name: kube-sim-viewer\n"
		   "  context:\n"
		   "    cluster: kube-sim\n"
		   "    user: viewer\n"
		   "- name: kube-sim-basic\n"
		   "  context:\n"
		   "    cluster: kube-sim\n"
		   "    user: basic\n",
		   ksim.port, ca64, ksim.tokens[0].token, cc64, ck64, ksim.tokens[1].token, ksim.basic_user,
		   ksim.basic_pass);
	rc = kc.data ? write_file(dir, "kubeconfig", kc.data, 0600) : -ENOMEM;
out:
	buf_cleanup(&kc);
	free(ca), free(cc), free(ck), free(vc), free(vk), free(ca64), free(cc64), free(ck64);
	return rc;
}

static void name_of(X509 *x, int nid, char *out, size_t len)
{
	X509_NAME *n = x ? X509_get_subject_name(x) : NULL;

	out[0] = '\0';
	if (n && X509_NAME_get_text_by_NID(n, nid, out, (int)len) < 0)
		out[0] = '\0';
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	int r;

	SSL_set_app_data(c->ssl, c->alpn_offered);
	SSL_set_fd(c->ssl, c->fd);
	/* Handshake with a deadline (non-blocking socket). */
	uint64_t deadline = now_ms() + 10000;

	while ((r = SSL_accept(c->ssl)) != 1) {
		int e = SSL_get_error(c->ssl, r);
		struct pollfd p = { .fd = c->fd };

		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			goto done;
		uint64_t now = now_ms();

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
			goto done;
	}
	{
		X509 *peer = SSL_get1_peer_certificate(c->ssl);

		if (peer && SSL_get_verify_result(c->ssl) == X509_V_OK) {
			name_of(peer, NID_commonName, c->cert_user, sizeof(c->cert_user));
			name_of(peer, NID_organizationName, c->cert_group, sizeof(c->cert_group));
		}
		X509_free(peer);
	}
	log_debug("connection from %s (alpn offered: %s)", c->peer, c->alpn_offered);
	api_serve(c);
done:
	ERR_clear_error();
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	socklen_t sl = sizeof(sa);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 512) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		int e = -errno;

		close(fd);
		return e;
	}
	ksim.port = ntohs(sa.sin_port);
	return fd;
}

static bool parent_alive(pid_t ppid)
{
	return ppid <= 0 || kill(ppid, 0) == 0 || errno != ESRCH;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'C' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "parent-pid", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "v4-only", no_argument, NULL, '4' },
		{ "exec-delay-ms", required_argument, NULL, 1 },
		{ "msg-delay-ms", required_argument, NULL, 2 },
		{ "bandwidth", required_argument, NULL, 3 },
		{ "kill-after-bytes", required_argument, NULL, 4 },
		{ "max-execs", required_argument, NULL, 5 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cluster_path = NULL, *log_path = NULL;
	uint64_t port = 0, ppid = 0, timeout = 3600, v;
	bool daemon_mode = false;
	int opt, lfd, ready[2] = { -1, -1 };
	char err[4096], path[4096];
	struct tls_material tm;

	log_set_name("kube-sim");
	ksim_argv_area = argv[0];
	ksim_argv_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
	ksim.log_fd = -1;
	ksim.knobs.fail_status = 500;
	pthread_mutex_init(&ksim.lock, NULL);
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'C': cluster_path = optarg; break;
		case 'S': ksim.state_dir = optarg; break;
		case 'l': log_path = optarg; break;
		case 'd': daemon_mode = true; break;
		case '4': ksim.knobs.v4_only = true; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'p': case 'P': case 't': case 1: case 2: case 3: case 4: case 5:
			if (parse_u64_str(optarg, INT32_MAX, &v)) {
				fprintf(stderr, "kube-sim: bad number '%s'\n", optarg);
				return 2;
			}
			if (opt == 'p') port = v;
			else if (opt == 'P') ppid = v;
			else if (opt == 't') timeout = v;
			else if (opt == 1) ksim.knobs.exec_delay_ms = (long)v;
			else if (opt == 2) ksim.knobs.msg_delay_ms = (long)v;
			else if (opt == 3) ksim.knobs.bandwidth = (long)v;
			else if (opt == 4) ksim.knobs.kill_after_bytes = (long long)v;
			else ksim.knobs.max_execs = (int)v;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!cluster_path || !ksim.state_dir || optind != argc || port > 65535) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "kube-sim: needs root (it creates mount and PID namespaces for its containers); run it with sudo\n");
		return 1;
	}
	if (mkdir(ksim.state_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "kube-sim: cannot create %s: %s\n", ksim.state_dir, strerror(errno));
		return 1;
	}
	if (daemon_mode) {
		/* Fork before anything with a PDEATHSIG is started: holders must
		 * belong to the process that stays. */
		pid_t pid;
		char line[8192];
		ssize_t n;

		if (!ppid)
			ppid = (uint64_t)getppid(); /* the caller, not the process about to exit */
		if (pipe2(ready, O_CLOEXEC)) {
			perror("kube-sim: pipe");
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			perror("kube-sim: fork");
			return 1;
		}
		if (pid > 0) {
			close(ready[1]);
			n = read(ready[0], line, sizeof(line) - 1);
			if (n <= 0) {
				int st;

				waitpid(pid, &st, 0);
				fprintf(stderr, "kube-sim: failed to start (see above)\n");
				return 1;
			}
			line[n] = '\0';
			fputs(line, stdout);
			return 0;
		}
		close(ready[0]);
		setsid();
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	/* Exit with whoever started us even if killed hard. */
	if (!daemon_mode)
		prctl(PR_SET_PDEATHSIG, SIGTERM);

	snprintf(path, sizeof(path), "%s/%s", ksim.state_dir, "requests.jsonl");
	ksim.log_fd = open(log_path ? log_path : path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ksim.log_fd < 0) {
		fprintf(stderr, "kube-sim: cannot open request log: %s\n", strerror(errno));
		return 1;
	}
	if (cluster_load(cluster_path, &ksim.cluster, err, sizeof(err))) {
		fprintf(stderr, "kube-sim: %s\n", err);
		return 1;
	}
	ksim.start_time = (long long)time(NULL);
	rand_hex(ksim.tokens[0].token, 24);
	snprintf(ksim.tokens[0].user, sizeof(ksim.tokens[0].user), "admin");
	ksim.tokens[0].role = ROLE_ADMIN;
	rand_hex(ksim.tokens[1].token, 24);
	snprintf(ksim.tokens[1].user, sizeof(ksim.tokens[1].user), "viewer");
	ksim.tokens[1].role = ROLE_VIEWER;
	ksim.ntokens = 2;
	rand_hex(ksim.sim_token, 24);
	snprintf(ksim.basic_user, sizeof(ksim.basic_user), "basic-user");
	rand_hex(ksim.basic_pass, 12);
	if (tls_make_all(&tm) || !(ksim.ssl_ctx = tls_server_ctx(&tm))) {
		fprintf(stderr, "kube-sim: TLS set-up failed\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	lfd = listen_on((int)port);
	if (lfd < 0) {
		fprintf(stderr, "kube-sim: cannot listen on 127.0.0.1:%d: %s\n", (int)port, strerror(-lfd));
		return 1;
	}
	if (write_credentials(&tm, ksim.state_dir)) {
		fprintf(stderr, "kube-sim: cannot write credentials into %s\n", ksim.state_dir);
		return 1;
	}
	if (cluster_start(&ksim.cluster, err, sizeof(err))) {
		fprintf(stderr, "kube-sim: %s\n", err);
		cluster_stop(&ksim.cluster);
		return 1;
	}
	{
		char pidline[32];

		snprintf(pidline, sizeof(pidline), "%d\n", (int)getpid());
		write_file(ksim.state_dir, "pid", pidline, 0644);
		snprintf(pidline, sizeof(pidline), "%d\n", ksim.port);
		write_file(ksim.state_dir, "port", pidline, 0644);
	}
	{
		char line[8192];
		int n = snprintf(line, sizeof(line), "KUBECONFIG=%s/kubeconfig PORT=%d PID=%d\n", ksim.state_dir,
				 ksim.port, (int)getpid());

		if (daemon_mode) {
			ssize_t w = write(ready[1], line, (size_t)n);

			(void)w;
			close(ready[1]);
			int nfd = open("/dev/null", O_RDWR);

			if (nfd >= 0) {
				dup2(nfd, 0);
				dup2(nfd, 1);
				close(nfd);
			}
		} else {
			fputs(line, stdout);
			fflush(stdout);
		}
	}

	uint64_t end = now_ms() + timeout * 1000;

	while (!stop_flag) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int r = poll(&p, 1, 250);

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!parent_alive((pid_t)ppid) || now_ms() >= end)
			break;
		if (r <= 0)
			continue;
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t th;
		pthread_attr_t at;
		int one = 1;

		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->ssl = SSL_new(ksim.ssl_ctx);
		inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof(c->peer));
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 1 << 20);
		if (!c->ssl || pthread_create(&th, &at, conn_thread, c)) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
	close(lfd);
	cluster_stop(&ksim.cluster);
	snprintf(path, sizeof(path), "%s/pid", ksim.state_dir);
	unlink(path);
	tls_free(&tm);
	return 0;
}
