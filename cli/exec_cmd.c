/* exec_cmd.c: `podfs exec`, a drop-in for `kubectl exec` without a TTY:
 * the same stdout and stderr bytes, the remote exit code (1 with a message
 * for API errors), binary-safe, stdin with -i (v5 clusters).
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: podfs exec [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [-c CONTAINER] [-i] [-q]\n"
		   "                  POD -- COMMAND [ARGS...]\n");
}

struct pump {
	struct kexec *x;
	atomic_int stop;   /* set by the main thread when the session is over */
	int err;	   /* 0, or -errno */
};

/* Copy our stdin into the session, then close its stdin. Polls so that
 * it notices the end of the session even while stdin stays silent. */
static void *stdin_pump(void *arg)
{
	struct pump *p = arg;
	char buf[65536];

	for (;;) {
		struct pollfd pf = { .fd = 0, .events = POLLIN };

		if (atomic_load(&p->stop))
			return NULL;
		if (poll(&pf, 1, 100) == 0)
			continue;
		ssize_t n = read(0, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p->err = -errno;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = kexec_write(p->x, buf + off, (size_t)(n - off), -1);

			if (w < 0)
				return NULL; /* the session ended: its result says why */
			off += w;
		}
	}
	int rc = kexec_close_stdin(p->x);

	if (rc == -ENOTSUP)
		p->err = rc;
	return NULL;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int cmd_exec(int argc, char **argv)
{
	struct cli_conn c = { 0 };
	bool in = false, quiet = false;
	const char *pod = NULL, *container;
	char **cmd = NULL, err[KCLIENT_ERR_MAX], notice[512];
	struct kpod kp;
	struct kexec *x = NULL;
	struct kexec_result res;
	pthread_t th;
	bool pumping = false, broken_pipe = false;
	struct pump pump = { 0 };
	int i, rc, code = 1;

	for (i = 1; i < argc; i++) {
		int r = cli_conn_flag(&c, argc, argv, &i);

		if (r < 0)
			return 1;
		if (r)
			continue;
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			break;
		}
		if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--stdin")) {
			in = true;
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--tty") || !strcmp(argv[i], "-it") ||
			   !strcmp(argv[i], "-ti")) {
			fprintf(stderr, "error: podfs exec has no TTY mode; use kubectl exec -it for interactive shells\n");
			return 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "error: unknown flag: %s\n", argv[i]);
			usage(stderr);
			return 1;
		} else if (!pod) {
			pod = argv[i];
		} else {
			fprintf(stderr, "error: put the command after --: podfs exec POD -- COMMAND\n");
			return 1;
		}
	}
	if (!pod || !cmd || !cmd[0]) {
		usage(stderr);
		return 1;
	}
	if (!strncmp(pod, "pod/", 4) || !strncmp(pod, "pods/", 5))
		pod = strchr(pod, '/') + 1;
	if (cli_conn_open(&c))
		return 1;
	rc = kpod_get(c.kc, c.cfg->namespace, pod, &kp, err, sizeof(err));
	if (rc) {
		bool ours = !strncmp(err, "Error from server", 17) || !strncmp(err, "error: ", 7);

		fprintf(stderr, "%s%s\n", ours ? "" : "error: ", err);
		goto out;
	}
	rc = kpod_pick_container(&kp, c.container, &container, notice, sizeof(notice), err, sizeof(err));
	if (rc) {
		fprintf(stderr, "error: %s\n", err);
		kpod_free(&kp);
		goto out;
	}
	if (notice[0] && !quiet)
		fprintf(stderr, "%s\n", notice);
	struct kexec_opts o = { .ns = c.cfg->namespace, .pod = pod, .container = container, .argv = cmd,
				.in = in, .out = true, .err = true };

	rc = kexec_start(c.kc, &o, &x);
	kpod_free(&kp);
	if (rc) {
		fprintf(stderr, "error: cannot start exec: %s\n", strerror(-rc));
		goto out;
	}
	if (in) {
		int v = kexec_version(x, -1);

		if (v == 4) {
			kexec_cancel(x);
			fprintf(stderr, "error: this cluster speaks only the v4.channel.k8s.io exec protocol, which cannot "
					"signal the end of stdin; podfs exec -i needs v5 (Kubernetes 1.30 or later)\n");
			goto out;
		}
		if (v > 0) {
			pump.x = x;
			pumping = pthread_create(&th, NULL, stdin_pump, &pump) == 0;
		}
	}
	for (;;) {
		char buf[65536];
		enum kexec_chan ch;
		ssize_t n = kexec_read(x, &ch, buf, sizeof(buf), -1);

		if (n <= 0)
			break;
		if (write_all(ch == KEXEC_STDERR ? 2 : 1, buf, (size_t)n) == -EPIPE) {
			/* Our reader went away: end like kubectl does, by SIGPIPE. */
			kexec_cancel(x);
			broken_pipe = true;
			break;
		}
	}
	rc = kexec_wait(x, &res, -1);
	if (broken_pipe) {
		if (pumping) {
			atomic_store(&pump.stop, 1);
			pthread_join(th, NULL);
		}
		kexec_free(x);
		cli_conn_close(&c);
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		return 141;
	}
	if (rc == 0) {
		code = res.exit_code;
		if (code)
			fprintf(stderr, "command terminated with exit code %d\n", code);
	} else if (res.http_status >= 400 && !strncmp(res.message, "Error from server", 17)) {
		fprintf(stderr, "%s\n", res.message);
	} else if (!strncmp(res.message, "error: ", 7)) {
		fprintf(stderr, "%s\n", res.message);
	} else {
		fprintf(stderr, "error: %s\n", res.message);
	}
out:
	if (pumping) {
		atomic_store(&pump.stop, 1);
		pthread_join(th, NULL);
	}
	kexec_free(x);
	cli_conn_close(&c);
	return code;
}
