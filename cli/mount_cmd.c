/* mount_cmd.c: `podfs mount`, `podfs umount` and `podfs stats`.
 *
 *   podfs mount [--kubeconfig F] [--context C] [-n NS] [-c CONTAINER]
 *               [-o OPTS] [-f] [NS/]POD[:PATH] MOUNTPOINT
 *
 * Returns once the mount is ready (or failed, with nothing mounted): the
 * daemon is forked before any thread exists, and reports "ready" or its
 * error back through a pipe.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "ctlsock.h"
#include "fs.h"
#include "log.h"
#include "strparse.h"

static void mount_usage(FILE *f)
{
	fprintf(f, "usage: podfs mount [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [-c CONTAINER]\n"
		   "                   [-o OPTIONS] [-f] [NAMESPACE/]POD[:PATH] MOUNTPOINT\n"
		   "options: ro, attr_timeout=SEC, dir_timeout=SEC, cache_size=BYTES[K|M|G], uid=N, gid=N,\n"
		   "         idmap=user, allow_other, debug, kubeconfig=FILE, context=NAME, namespace=NS,\n"
		   "         container=NAME\n");
}

struct mount_args {
	struct cli_conn c;
	bool as_helper; /* run by mount(8): -s -n -v mean nothing to us */
	const char *pod;
	char *ns_from_target;
	const char *path;
	const char *mountpoint;
	bool foreground;
	bool idmap_user; /* -o idmap=user */
	struct podfs_fs_cfg fs;
	char *optbuf;
};

static int parse_size(const char *v, size_t *out)
{
	size_t l = strlen(v);
	uint64_t n, mul = 1;

	if (l && (v[l - 1] == 'K' || v[l - 1] == 'k'))
		mul = 1024, l--;
	else if (l && (v[l - 1] == 'M' || v[l - 1] == 'm'))
		mul = 1024 * 1024, l--;
	else if (l && (v[l - 1] == 'G' || v[l - 1] == 'g'))
		mul = 1024ULL * 1024 * 1024, l--;
	if (parse_u64(v, l, UINT64_MAX / mul, &n))
		return -EINVAL;
	*out = (size_t)(n * mul);
	return 0;
}

static int parse_seconds(const char *v, double *out)
{
	/* decimal seconds with an optional fraction: "1", "0.5", "30" */
	const char *dot = strchr(v, '.');
	uint64_t ip = 0, fp = 0, scale = 1;

	if (parse_u64(v, dot ? (size_t)(dot - v) : strlen(v), 86400 * 365, &ip) && !(dot && dot == v))
		return -EINVAL;
	if (dot) {
		size_t fl = strlen(dot + 1);

		if (fl == 0 || fl > 6 || parse_u64(dot + 1, fl, 999999, &fp))
			return -EINVAL;
		for (size_t i = 0; i < fl; i++)
			scale *= 10;
	}
	*out = (double)ip + (double)fp / (double)scale;
	return 0;
}

static int parse_opts(struct mount_args *m, const char *opts)
{
	char *save = NULL;
	uint64_t v;

	free(m->optbuf);
	m->optbuf = strdup(opts);
	if (!m->optbuf)
		return -ENOMEM;
	for (char *o = strtok_r(m->optbuf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		const char *val = eq ? eq + 1 : NULL;

		if (eq)
			*eq = '\0';
		if (!strcmp(o, "ro")) {
			m->fs.read_only = true;
		} else if (!strcmp(o, "rw")) {
			m->fs.read_only = false;
		} else if (!strcmp(o, "nosuid") || !strcmp(o, "nodev") || !strcmp(o, "noexec") ||
		    !strcmp(o, "noatime") || !strcmp(o, "_netdev") || !strcmp(o, "auto") || !strcmp(o, "noauto") ||
		    !strcmp(o, "user") || !strcmp(o, "users") || !strcmp(o, "defaults")) {
			continue; /* mount(8) words that need nothing from us */
		} else if (val && !strcmp(o, "idmap")) {
			if (!strcmp(val, "user"))
				m->idmap_user = true;
			else if (!strcmp(val, "none"))
				m->idmap_user = false;
			else
				goto bad;
		} else if (!strcmp(o, "allow_other")) {
			m->fs.allow_other = true;
		} else if (!strcmp(o, "debug")) {
			m->fs.debug = true;
		} else if (val && !strcmp(o, "attr_timeout")) {
			if (parse_seconds(val, &m->fs.attr_timeout))
				goto bad;
		} else if (val && !strcmp(o, "dir_timeout")) {
			if (parse_seconds(val, &m->fs.dir_timeout))
				goto bad;
		} else if (val && !strcmp(o, "cache_size")) {
			if (parse_size(val, &m->fs.cache_size))
				goto bad;
		} else if (val && (!strcmp(o, "uid") || !strcmp(o, "gid"))) {
			if (parse_u64_str(val, INT32_MAX, &v))
				goto bad;
			if (o[0] == 'u')
				m->fs.uid_override = (int)v;
			else
				m->fs.gid_override = (int)v;
		} else if (val && !strcmp(o, "kubeconfig")) {
			m->c.kubeconfig = val;
		} else if (val && !strcmp(o, "context")) {
			m->c.context = val;
		} else if (val && !strcmp(o, "namespace")) {
			m->c.namespace = val;
		} else if (val && !strcmp(o, "container")) {
			m->c.container = val;
		} else {
			fprintf(stderr, "podfs: unknown mount option '%s%s%s'\n", o, val ? "=" : "", val ? val : "");
			mount_usage(stderr);
			return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "podfs: bad value for mount option %s: '%s'\n", o, val);
		return -EINVAL;
	}
	return 0;
}

/* [NS/]POD[:PATH] */
static int parse_target(struct mount_args *m, const char *t)
{
	const char *colon = strchr(t, ':');
	size_t podlen = colon ? (size_t)(colon - t) : strlen(t);
	char *pod = strndup(t, podlen), *slash;

	if (!pod)
		return -ENOMEM;
	slash = strchr(pod, '/');
	if (slash) {
		*slash = '\0';
		m->ns_from_target = pod;
		m->pod = slash + 1;
	} else {
		m->ns_from_target = pod; /* freed with it; no namespace given */
		m->pod = pod;
	}
	m->path = colon && colon[1] ? colon + 1 : "/";
	if (!m->pod[0] || (slash && !pod[0])) {
		fprintf(stderr, "podfs: bad target '%s': expected [NAMESPACE/]POD[:PATH]\n", t);
		return -EINVAL;
	}
	if (m->path[0] != '/') {
		fprintf(stderr, "podfs: the path in the pod must be absolute: '%s'\n", m->path);
		return -EINVAL;
	}
	return slash ? 1 : 0;
}

struct ready_ctx {
	int fd;
};

static void on_ready(void *arg)
{
	struct ready_ctx *r = arg;

	if (r->fd >= 0) {
		ssize_t w = write(r->fd, "ok\n", 3);

		(void)w;
		close(r->fd);
		r->fd = -1;
		/* Detached from the terminal from now on; warnings and errors go
		 * to $PODFS_DAEMON_LOG when set (tests keep them), else nowhere. */
		int nfd = open("/dev/null", O_RDWR);
		const char *logf = getenv("PODFS_DAEMON_LOG");
		int lfd = logf && *logf ? open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;

		if (nfd >= 0) {
			dup2(nfd, 0);
			dup2(nfd, 1);
			dup2(lfd >= 0 ? lfd : nfd, 2);
			close(nfd);
		}
		if (lfd >= 0)
			close(lfd);
	}
}

/* Connect, check the pod and path, mount, serve until unmounted. */
static int serve(struct mount_args *m, int ready_fd)
{
	struct kpod kp;
	const char *container;
	char err[KCLIENT_ERR_MAX], notice[512], fsname[1024];
	struct remote *r = NULL;
	struct ready_ctx rc_ctx = { .fd = ready_fd };
	int rc;

	/* The daemon's threads free big buffers (read-ahead segments, batch
	 * output) all the time: with an arena per thread and glibc's rising
	 * trim threshold the freed memory stayed mapped (peak RSS ~150 MiB
	 * during a 256 MiB cat, ~95 MiB with these). Setting the trim
	 * threshold also freezes glibc's mmap threshold at 128 KiB: every
	 * read buffer, cache block and fetch buffer (128 KiB to 1 MiB) was a
	 * fresh mapping, page-faulted in byte by byte (a tenth of the
	 * daemon's CPU in a cat); up to 2 MiB they come from the arenas and
	 * are reused (cat of 256 MiB 0.87 s -> 0.77 s when measured). */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	mallopt(M_MMAP_THRESHOLD, 2 << 20);
	if (cli_conn_open(&m->c))
		return 1;
	rc = kpod_get(m->c.kc, m->c.cfg->namespace, m->pod, &kp, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = kpod_pick_container(&kp, m->c.container, &container, notice, sizeof(notice), err, sizeof(err));
	if (rc) {
		fprintf(stderr, "error: %s\n", err);
		kpod_free(&kp);
		goto out;
	}
	if (notice[0])
		fprintf(stderr, "%s\n", notice);
	struct backend_opts bo = { .ns = m->c.cfg->namespace, .pod = m->pod, .container = container, .root = m->path };

	rc = backend_new(&r, m->c.kc, &bo, err, sizeof(err));
	kpod_free(&kp);
	if (rc) {
		fprintf(stderr, "error: %s\n", err);
		goto out;
	}
	if (m->idmap_user) {
		uint32_t pu, pg;

		if (backend_pod_ids(r, &pu, &pg) == 0) {
			m->fs.idmap_pod_uid = pu;
			m->fs.idmap_pod_gid = pg;
			m->fs.idmap_local_uid = getuid();
			m->fs.idmap_local_gid = getgid();
		} else {
			fprintf(stderr, "warning: idmap=user: the container has no `id` to tell its user; not mapping\n");
		}
	}
	snprintf(fsname, sizeof(fsname), "podfs:%s/%s:%s", m->c.cfg->namespace, m->pod, m->path);
	m->fs.mountpoint = m->mountpoint;
	m->fs.fsname = fsname;
	/* The backend is rooted at the path: fs sees it as "/". */
	m->fs.root = "/";
	m->fs.hide_pseudo = !strcmp(m->path, "/");
	rc = podfs_fs_run(&m->fs, r, on_ready, &rc_ctx);
	if (rc)
		fprintf(stderr, "error: cannot mount %s on %s: %s\n", fsname, m->mountpoint, strerror(-rc));
	r->ops->destroy(r);
out:
	cli_conn_close(&m->c);
	return rc ? 1 : 0;
}

static int mount_main(int argc, char **argv, bool as_helper)
{
	struct mount_args m = { .as_helper = as_helper };
	const char *pos[2] = { NULL, NULL };
	int npos = 0, i, rc = 1, fds[2];
	struct stat st;
	pid_t pid;

	podfs_fs_cfg_init(&m.fs);
	m.fs.dir_timeout = -1;
	for (i = 1; i < argc; i++) {
		int r = cli_conn_flag(&m.c, argc, argv, &i);

		if (r < 0)
			goto out;
		if (r)
			continue;
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground")) {
			m.foreground = true;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			if (parse_opts(&m, argv[++i]))
				goto out;
		} else if (!strncmp(argv[i], "-o", 2) && argv[i][2]) {
			if (parse_opts(&m, argv[i] + 2))
				goto out;
		} else if (as_helper && (!strcmp(argv[i], "-s") || !strcmp(argv[i], "-n") || !strcmp(argv[i], "-v"))) {
			continue; /* sloppy, no mtab, verbose: nothing to do */
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			mount_usage(stdout);
			rc = 0;
			goto out;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "podfs: unknown flag %s\n", argv[i]);
			mount_usage(stderr);
			goto out;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			mount_usage(stderr);
			goto out;
		}
	}
	if (npos != 2) {
		mount_usage(stderr);
		goto out;
	}
	if (m.fs.dir_timeout < 0)
		m.fs.dir_timeout = m.fs.attr_timeout;
	int has_ns = parse_target(&m, pos[0]);

	if (has_ns < 0)
		goto out;
	if (has_ns == 1) {
		if (m.c.namespace && strcmp(m.c.namespace, m.ns_from_target)) {
			fprintf(stderr, "podfs: namespace given twice: %s and %s\n", m.c.namespace, m.ns_from_target);
			goto out;
		}
		m.c.namespace = m.ns_from_target;
	}
	m.mountpoint = pos[1];
	if (stat(m.mountpoint, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "podfs: mount point %s is not a directory\n", m.mountpoint);
		goto out;
	}
	if (m.foreground) {
		rc = serve(&m, -1);
		goto out;
	}
	/* Fork before any thread exists; the child reports "ok" when mounted. */
	if (pipe2(fds, O_CLOEXEC)) {
		perror("podfs: pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		perror("podfs: fork");
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		setsid();
		exit(serve(&m, fds[1]));
	}
	close(fds[1]);
	char line[8] = "";
	ssize_t n = read(fds[0], line, sizeof(line) - 1);

	close(fds[0]);
	if (n == 3 && !memcmp(line, "ok\n", 3)) {
		rc = 0;
	} else {
		int status;

		waitpid(pid, &status, 0);
		rc = 1;
	}
out:
	free(m.optbuf);
	free(m.ns_from_target);
	return rc;
}

int cmd_mount(int argc, char **argv)
{
	return mount_main(argc, argv, false);
}

int cmd_mount_helper(int argc, char **argv)
{
	return mount_main(argc, argv, true);
}

int cmd_umount(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: podfs umount MOUNTPOINT\n");
		return 2;
	}
	char *const args[] = { "fusermount3", "-u", "--", argv[1], NULL };
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execvp(args[0], args);
		fprintf(stderr, "podfs: cannot run fusermount3: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* The counters from the mount's control socket (fs/ctlsock.h). */
int cmd_stats(int argc, char **argv)
{
	char err[1024], *text;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: podfs stats MOUNTPOINT\n");
		return 2;
	}
	if (ctlsock_fetch(argv[1], &text, &len, err, sizeof(err))) {
		fprintf(stderr, "podfs: %s\n", err);
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
