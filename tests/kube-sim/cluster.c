/* cluster.c: the emulated pods: cluster.json, container namespaces, exec.
 *
 * Each container is a rootfs directory. At start, for every container,
 * kube-sim forks a holder that unshares a mount and a PID namespace, mounts
 * /proc, a small /dev and the volumes into the rootfs, chroots into it and
 * stays as PID 1 (reaping orphans), like a pod's infra container. Every
 * exec joins those namespaces (as in a real pod, processes of two execs
 * see each other) and chroots to the holder's root.
 *
 * Holders are forked by the main thread with PR_SET_PDEATHSIG, so they die
 * with kube-sim; when a holder dies the kernel kills every process of its
 * PID namespace. The cluster is read-only once started.
 */
#include "ksim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "buf.h"

static char *jstr(const cJSON *o, const char *k, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	return def ? strdup(def) : NULL;
}

static long jnum(const cJSON *o, const char *k, long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

static void hexid(char *out, size_t bytes)
{
	unsigned char r[32];
	static const char hx[] = "0123456789abcdef";

	RAND_bytes(r, (int)bytes);
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[2 * bytes] = '\0';
}

static void uuid4(char out[37])
{
	char h[33];

	hexid(h, 16);
	snprintf(out, 37, "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 13, h + 17, h + 20);
}

static int load_container(const cJSON *jc, struct ksim_container *ct, char *err, size_t errlen)
{
	const cJSON *vols = cJSON_GetObjectItemCaseSensitive(jc, "volumes");
	const cJSON *jv;

	ct->name = jstr(jc, "name", NULL);
	ct->image = jstr(jc, "image", "podfs.test/unknown:1");
	ct->rootfs = jstr(jc, "rootfs", NULL);
	ct->working_dir = jstr(jc, "workingDir", "/");
	ct->uid = (uid_t)jnum(jc, "runAsUser", 0);
	ct->gid = (gid_t)jnum(jc, "runAsGroup", (long)ct->uid);
	ct->ro_root = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jc, "readOnlyRootFilesystem"));
	ct->holder = -1;
	hexid(ct->id, 32);
	if (!ct->name || !ct->rootfs || ct->rootfs[0] != '/') {
		snprintf(err, errlen, "container needs a name and an absolute rootfs");
		return -EINVAL;
	}
	ct->nvols = (size_t)cJSON_GetArraySize(vols);
	ct->vols = calloc(ct->nvols ? ct->nvols : 1, sizeof(*ct->vols));
	if (!ct->vols)
		return -ENOMEM;
	size_t i = 0;

	cJSON_ArrayForEach(jv, vols)
	{
		struct ksim_volume *v = &ct->vols[i++];

		v->name = jstr(jv, "name", "vol");
		v->mount_path = jstr(jv, "mountPath", NULL);
		v->host_path = jstr(jv, "hostPath", NULL);
		v->tmpfs_kib = (unsigned long)jnum(jv, "tmpfsSizeKiB", 0);
		if (!v->mount_path || v->mount_path[0] != '/' ||
		    (!v->host_path && v->tmpfs_kib == 0)) {
			snprintf(err, errlen, "volume %s of container %s: needs mountPath and hostPath or tmpfsSizeKiB",
				 v->name, ct->name);
			return -EINVAL;
		}
	}
	return 0;
}

int cluster_load(const char *path, struct ksim_cluster *cl, char *err, size_t errlen)
{
	struct buf b;
	char chunk[65536];
	FILE *f = fopen(path, "r");
	cJSON *root = NULL, *jp;
	int rc = -EINVAL;
	size_t n;

	memset(cl, 0, sizeof(*cl));
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	buf_init(&b, 16u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n)) {
			snprintf(err, errlen, "%s: too large", path);
			goto out;
		}
	root = cJSON_Parse(b.data ? b.data : "");
	if (!root) {
		snprintf(err, errlen, "%s: not valid JSON", path);
		goto out;
	}
	const cJSON *jns = cJSON_GetObjectItemCaseSensitive(root, "namespaces"), *x;

	cl->nns = (size_t)cJSON_GetArraySize(jns);
	cl->namespaces = calloc(cl->nns + 1, sizeof(char *));
	n = 0;
	cJSON_ArrayForEach(x, jns) cl->namespaces[n++] = strdup(cJSON_IsString(x) ? x->valuestring : "default");
	const cJSON *jpods = cJSON_GetObjectItemCaseSensitive(root, "pods");

	cl->npods = (size_t)cJSON_GetArraySize(jpods);
	cl->pods = calloc(cl->npods + 1, sizeof(*cl->pods));
	n = 0;
	cJSON_ArrayForEach(jp, jpods)
	{
		struct ksim_pod *p = &cl->pods[n++];
		const cJSON *jcs = cJSON_GetObjectItemCaseSensitive(jp, "containers"), *jc;
		size_t i = 0;

		p->ns = jstr(jp, "namespace", "default");
		p->name = jstr(jp, "name", NULL);
		p->phase = jstr(jp, "phase", "Running");
		p->labels = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jp, "labels"), 1);
		p->annotations = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jp, "annotations"), 1);
		if (!p->labels)
			p->labels = cJSON_CreateObject();
		if (!p->annotations)
			p->annotations = cJSON_CreateObject();
		uuid4(p->uid);
		snprintf(p->ip, sizeof(p->ip), "10.244.0.%zu", n + 10);
		p->nctrs = (size_t)cJSON_GetArraySize(jcs);
		if (!p->name || p->nctrs == 0) {
			snprintf(err, errlen, "%s: every pod needs a name and a container", path);
			goto out;
		}
		if (!cluster_has_ns(cl, p->ns)) {
			snprintf(err, errlen, "%s: pod %s is in undeclared namespace %s", path, p->name, p->ns);
			goto out;
		}
		p->ctrs = calloc(p->nctrs, sizeof(*p->ctrs));
		cJSON_ArrayForEach(jc, jcs)
		{
			rc = load_container(jc, &p->ctrs[i++], err, errlen);
			if (rc)
				goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(root);
	buf_cleanup(&b);
	fclose(f);
	return rc;
}

bool cluster_has_ns(struct ksim_cluster *cl, const char *ns)
{
	for (size_t i = 0; i < cl->nns; i++)
		if (!strcmp(cl->namespaces[i], ns))
			return true;
	return false;
}

struct ksim_pod *cluster_pod(struct ksim_cluster *cl, const char *ns, const char *name)
{
	for (size_t i = 0; i < cl->npods; i++)
		if (!strcmp(cl->pods[i].ns, ns) && !strcmp(cl->pods[i].name, name))
			return &cl->pods[i];
	return NULL;
}

/* ---- holders ---- */

static int join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s%s", a, b);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static void die_child(int fd, const char *what, const char *path)
{
	char msg[PATH_MAX + 128];
	int n = snprintf(msg, sizeof(msg), "%s %s: %s", what, path, strerror(errno));

	if (n > 0) {
		ssize_t w = write(fd, msg, (size_t)n);
		(void)w;
	}
	_exit(1);
}

static void bind_dev(int fd, const char *root, const char *name)
{
	char dst[PATH_MAX], src[64];
	int f;

	snprintf(src, sizeof(src), "/dev/%s", name);
	if (join(dst, sizeof(dst), root, src))
		die_child(fd, "path too long:", root);
	f = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (f < 0)
		die_child(fd, "create", dst);
	close(f);
	if (mount(src, dst, NULL, MS_BIND, NULL))
		die_child(fd, "bind-mount", dst);
}

/* PID 1 of a container: set up its mounts, chroot, report, reap forever. */
static void holder_pid1(const struct ksim_container *ct, int fd)
{
	char p[PATH_MAX];
	const char *root = ct->rootfs;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL))
		die_child(fd, "bind-mount rootfs", root);
	if (join(p, sizeof(p), root, "/proc") || mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die_child(fd, "mount proc on", p);
	if (join(p, sizeof(p), root, "/dev") ||
	    mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k"))
		die_child(fd, "mount tmpfs on", p);
	bind_dev(fd, root, "null");
	bind_dev(fd, root, "zero");
	bind_dev(fd, root, "full");
	bind_dev(fd, root, "random");
	bind_dev(fd, root, "urandom");
	join(p, sizeof(p), root, "/dev/fd");
	if (symlink("/proc/self/fd", p))
		die_child(fd, "symlink", p);
	join(p, sizeof(p), root, "/dev/stdin");
	symlink("/proc/self/fd/0", p);
	join(p, sizeof(p), root, "/dev/stdout");
	symlink("/proc/self/fd/1", p);
	join(p, sizeof(p), root, "/dev/stderr");
	symlink("/proc/self/fd/2", p);
	join(p, sizeof(p), root, "/dev/shm");
	mkdir(p, 01777);
	for (size_t i = 0; i < ct->nvols; i++) {
		const struct ksim_volume *v = &ct->vols[i];

		if (join(p, sizeof(p), root, v->mount_path))
			die_child(fd, "path too long:", v->mount_path);
		if (v->host_path) {
			if (mount(v->host_path, p, NULL, MS_BIND | MS_REC, NULL))
				die_child(fd, "bind-mount volume on", p);
		} else {
			char opts[64];

			snprintf(opts, sizeof(opts), "mode=755,size=%luk", v->tmpfs_kib);
			if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts))
				die_child(fd, "mount tmpfs volume on", p);
			if (ct->uid && chown(p, ct->uid, ct->gid))
				die_child(fd, "chown", p);
		}
	}
	if (ct->ro_root &&
	    mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL))
		die_child(fd, "remount read-only", root);
	if (chdir(root) || chroot("."))
		die_child(fd, "chroot into", root);
	if (chdir("/"))
		die_child(fd, "chdir / in", root);
	if (write(fd, "", 1) != 1)
		_exit(1);
	close(fd);
	/* Look like a pod's pause process, not kube-sim's host command line. */
	if (ksim_argv_area && ksim_argv_len > 7) {
		memset(ksim_argv_area, 0, ksim_argv_len);
		memcpy(ksim_argv_area, "/pause", 6);
	}
	/* Reap every orphan reparented to us: wait for SIGCHLD, then collect. */
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigwaitinfo(&chld, NULL);
	}
}

/* Unescape a mountinfo field in place ("\040" is a space...). */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* In a new mount namespace: detach the copies of the host's FUSE mounts
 * (a podfs test mounting while this kube-sim starts). A copy would keep
 * the mount alive after its umount on the host, and its daemon would
 * never see the end of its session. Best effort. */
static void drop_fuse_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *save = NULL, *mp = NULL, *fstype;
		int i = 0;

		if (!sep)
			continue;
		fstype = sep + 3;
		if (strncmp(fstype, "fuse", 4))
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save))
			if (++i == 5)
				mp = t;
		if (mp) {
			unescape_octal(mp);
			umount2(mp, MNT_DETACH);
		}
	}
	fclose(f);
}

/* Fork the holder of CT; on success ct->holder is PID 1's host pid. */
static int holder_start(struct ksim_container *ct, char *err, size_t errlen)
{
	int pfd[2], rpid[2];
	pid_t mid;
	char msg[PATH_MAX + 256];
	ssize_t n;
	int status;

	if (pipe2(pfd, O_CLOEXEC) || pipe2(rpid, O_CLOEXEC))
		return -errno;
	mid = fork();
	if (mid < 0)
		return -errno;
	if (mid == 0) {
		pid_t p1;

		close(pfd[0]);
		close(rpid[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNS | CLONE_NEWPID))
			die_child(pfd[1], "unshare mount+pid namespaces for", ct->rootfs);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			die_child(pfd[1], "make mounts private for", ct->rootfs);
		drop_fuse_mounts();
		p1 = fork();
		if (p1 < 0)
			die_child(pfd[1], "fork PID 1 for", ct->rootfs);
		if (p1 == 0) {
			close(rpid[1]);
			holder_pid1(ct, pfd[1]);
		}
		close(pfd[1]);
		if (write(rpid[1], &p1, sizeof(p1)) != sizeof(p1))
			_exit(1);
		/* Stay as PID 1's parent so its PDEATHSIG chain holds; exit with it. */
		while (waitpid(p1, &status, 0) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[1]);
	close(rpid[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	if (n != 1 || msg[0] != '\0') {
		msg[n > 0 ? n : 0] = '\0';
		snprintf(err, errlen, "container %s (%s): %s", ct->name, ct->rootfs,
			 n > 0 ? msg : "holder died during setup");
		close(rpid[0]);
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
		return -EIO;
	}
	if (read(rpid[0], &ct->holder, sizeof(ct->holder)) != sizeof(ct->holder)) {
		close(rpid[0]);
		snprintf(err, errlen, "container %s: lost its holder", ct->name);
		return -EIO;
	}
	close(rpid[0]);
	return 0;
}

int cluster_start(struct ksim_cluster *cl, char *err, size_t errlen)
{
	for (size_t i = 0; i < cl->npods; i++) {
		struct ksim_pod *p = &cl->pods[i];

		if (strcmp(p->phase, "Running"))
			continue; /* its containers do not run */
		for (size_t j = 0; j < p->nctrs; j++) {
			int rc = holder_start(&p->ctrs[j], err, errlen);

			if (rc)
				return rc;
		}
	}
	return 0;
}

void cluster_stop(struct ksim_cluster *cl)
{
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i].nctrs; j++) {
			struct ksim_container *ct = &cl->pods[i].ctrs[j];

			if (ct->holder > 0)
				kill(ct->holder, SIGKILL);
			ct->holder = -1;
		}
	/* The intermediates are our children: reap them. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* ---- exec ---- */

static void report(int fd, char type, int32_t v)
{
	char rec[5];

	rec[0] = type;
	memcpy(rec + 1, &v, 4);
	ssize_t w = write(fd, rec, 5);
	(void)w;
}

/* The command itself, inside the container. Only async-signal-safe calls
 * and plain loops: we are a child of a multi-threaded process. */
static void exec_in_container(int rootfd, const struct ksim_container *ct, char *const *argv,
			      char *const *envp, int rfd)
{
	static const char *const path[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
					    "/usr/bin", "/sbin", "/bin" };
	char full[PATH_MAX];
	int saved = ENOENT;

	if (fchdir(rootfd) || chroot("."))
		goto fail;
	close(rootfd);
	if (chdir(ct->working_dir) && chdir("/"))
		goto fail;
	if (setgroups(0, NULL) || setgid(ct->gid) || setuid(ct->uid))
		goto fail;
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		saved = errno;
	} else {
		for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
			size_t dl = strlen(path[i]), al = strlen(argv[0]);

			if (dl + 1 + al + 1 > sizeof(full))
				continue;
			memcpy(full, path[i], dl);
			full[dl] = '/';
			memcpy(full + dl + 1, argv[0], al + 1);
			execve(full, argv, envp);
			if (errno == EACCES)
				saved = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				saved = errno;
		}
	}
	errno = saved;
fail:
	report(rfd, 'E', errno);
	_exit(127);
}

/* Close every descriptor above 2 except KEEP[0..N) (entries < 0 ignored). */
static void close_others(int *keep, size_t n)
{
	unsigned lo = 3;

	for (size_t i = 1; i < n; i++) /* insertion sort: no malloc after fork */
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

int proc_spawn(const struct ksim_pod *pod, const struct ksim_container *ct, char *const *argv,
	       bool in, bool out, bool err, bool tty, struct ksim_proc *p)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, prep[2] = { -1, -1 };
	int mntfd = -1, pidfd = -1, rootfd = -1, nullfd = -1, rc;
	char path[64], host[300], home[32];
	char *envp[8];
	pid_t mid;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = p->err_fd = p->report_fd = -1;
	if (ct->holder <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)ct->holder);
	mntfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)ct->holder);
	pidfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)ct->holder);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (mntfd < 0 || pidfd < 0 || rootfd < 0 || nullfd < 0) {
		rc = -errno;
		goto out;
	}
	if ((in && pipe2(pin, O_CLOEXEC)) || (out && pipe2(pout, O_CLOEXEC)) ||
	    (err && !tty && pipe2(perr, O_CLOEXEC)) || pipe2(prep, O_CLOEXEC)) {
		rc = -errno;
		goto out;
	}
	snprintf(host, sizeof(host), "HOSTNAME=%s", pod->name);
	snprintf(home, sizeof(home), "HOME=%s", ct->uid == 0 ? "/root" : "/");
	envp[0] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	envp[1] = host;
	envp[2] = home;
	envp[3] = "KUBERNETES_SERVICE_HOST=10.96.0.1";
	envp[4] = "KUBERNETES_SERVICE_PORT=443";
	envp[5] = tty ? "TERM=xterm" : NULL;
	envp[6] = NULL;

	mid = fork();
	if (mid < 0) {
		rc = -errno;
		goto out;
	}
	if (mid == 0) {
		pid_t child;
		int st, code;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Other connections' pipe ends must not stay open in here, or their
		 * commands would never see EOF; CLOEXEC does not help as we do not exec. */
		close_others((int[]){ pin[0], pout[1], perr[1], prep[1], mntfd, pidfd, rootfd, nullfd }, 8);
		/* Default signal state for the command. */
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (setns(mntfd, CLONE_NEWNS) || setns(pidfd, CLONE_NEWPID)) {
			report(prep[1], 'E', errno);
			_exit(127);
		}
		child = fork();
		if (child < 0) {
			report(prep[1], 'E', errno);
			_exit(127);
		}
		if (child == 0) {
			setsid();
			if (dup2(in ? pin[0] : nullfd, 0) < 0 || dup2(out ? pout[1] : nullfd, 1) < 0 ||
			    dup2(err ? (tty ? pout[1] : perr[1]) : (tty && out ? pout[1] : nullfd), 2) < 0)
				_exit(127);
			exec_in_container(rootfd, ct, argv, envp, prep[1]);
		}
		report(prep[1], 'P', child);
		/* Close our copies so EOF on the pipes means the command's side closed. */
		close(pin[0]);
		close(pout[1]);
		close(perr[1]);
		while (waitpid(child, &st, 0) < 0)
			if (errno != EINTR)
				_exit(127);
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		report(prep[1], 'X', code);
		_exit(0);
	}
	p->pid = mid;
	if (in) {
		p->in_fd = pin[1];
		pin[1] = -1;
	}
	if (out) {
		p->out_fd = pout[0];
		pout[0] = -1;
	}
	if (err && !tty) {
		p->err_fd = perr[0];
		perr[0] = -1;
	}
	p->report_fd = prep[0];
	prep[0] = -1;
	rc = 0;
out:
	for (int *fd = (int[]){ pin[0], pin[1], pout[0], pout[1], perr[0], perr[1], prep[0], prep[1],
				mntfd, pidfd, rootfd, nullfd, -2 };
	     *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	return rc;
}

/* ---- JSON ---- */

static void iso_time(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

cJSON *pod_json(const struct ksim_pod *p)
{
	cJSON *pod = cJSON_CreateObject(), *md, *spec, *st, *ctrs, *sts, *conds;
	char ts[32];
	bool running = !strcmp(p->phase, "Running");

	iso_time(ksim.start_time, ts, sizeof(ts));
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(md, "name", p->name);
	cJSON_AddStringToObject(md, "namespace", p->ns);
	cJSON_AddStringToObject(md, "uid", p->uid);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "creationTimestamp", ts);
	cJSON_AddItemToObject(md, "labels", cJSON_Duplicate(p->labels, 1));
	cJSON_AddItemToObject(md, "annotations", cJSON_Duplicate(p->annotations, 1));
	spec = cJSON_AddObjectToObject(pod, "spec");
	ctrs = cJSON_AddArrayToObject(spec, "containers");
	for (size_t i = 0; i < p->nctrs; i++) {
		const struct ksim_container *ct = &p->ctrs[i];
		cJSON *c = cJSON_CreateObject(), *sc, *vm;

		cJSON_AddStringToObject(c, "name", ct->name);
		cJSON_AddStringToObject(c, "image", ct->image);
		cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
		cJSON_AddStringToObject(c, "workingDir", ct->working_dir);
		cJSON_AddObjectToObject(c, "resources");
		cJSON_AddStringToObject(c, "terminationMessagePath", "/dev/termination-log");
		cJSON_AddStringToObject(c, "terminationMessagePolicy", "File");
		sc = cJSON_AddObjectToObject(c, "securityContext");
		cJSON_AddNumberToObject(sc, "runAsUser", ct->uid);
		cJSON_AddNumberToObject(sc, "runAsGroup", ct->gid);
		if (ct->uid)
			cJSON_AddBoolToObject(sc, "runAsNonRoot", 1);
		cJSON_AddBoolToObject(sc, "readOnlyRootFilesystem", ct->ro_root);
		vm = cJSON_AddArrayToObject(c, "volumeMounts");
		for (size_t v = 0; v < ct->nvols; v++) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddStringToObject(m, "name", ct->vols[v].name);
			cJSON_AddStringToObject(m, "mountPath", ct->vols[v].mount_path);
			cJSON_AddItemToArray(vm, m);
		}
		cJSON_AddItemToArray(ctrs, c);
	}
	cJSON_AddStringToObject(spec, "restartPolicy", "Always");
	cJSON_AddNumberToObject(spec, "terminationGracePeriodSeconds", 30);
	cJSON_AddStringToObject(spec, "dnsPolicy", "ClusterFirst");
	cJSON_AddStringToObject(spec, "serviceAccountName", "default");
	cJSON_AddStringToObject(spec, "nodeName", "kube-sim-node");
	cJSON_AddStringToObject(spec, "schedulerName", "default-scheduler");
	cJSON_AddNumberToObject(spec, "priority", 0);
	st = cJSON_AddObjectToObject(pod, "status");
	cJSON_AddStringToObject(st, "phase", p->phase);
	conds = cJSON_AddArrayToObject(st, "conditions");
	{
		static const char *const types[] = { "PodReadyToStartContainers", "Initialized", "Ready",
						     "ContainersReady", "PodScheduled" };
		for (size_t i = 0; i < 5; i++) {
			cJSON *c = cJSON_CreateObject();
			bool ok = running || i == 1 || i == 4;

			cJSON_AddStringToObject(c, "type", types[i]);
			cJSON_AddStringToObject(c, "status", ok ? "True" : "False");
			cJSON_AddNullToObject(c, "lastProbeTime");
			cJSON_AddStringToObject(c, "lastTransitionTime", ts);
			cJSON_AddItemToArray(conds, c);
		}
	}
	cJSON_AddStringToObject(st, "hostIP", "127.0.0.1");
	if (running) {
		cJSON *ips = cJSON_AddArrayToObject(st, "podIPs"), *ip = cJSON_CreateObject();

		cJSON_AddStringToObject(st, "podIP", p->ip);
		cJSON_AddStringToObject(ip, "ip", p->ip);
		cJSON_AddItemToArray(ips, ip);
	}
	cJSON_AddStringToObject(st, "startTime", ts);
	cJSON_AddStringToObject(st, "qosClass", "BestEffort");
	sts = cJSON_AddArrayToObject(st, "containerStatuses");
	for (size_t i = 0; i < p->nctrs; i++) {
		const struct ksim_container *ct = &p->ctrs[i];
		cJSON *c = cJSON_CreateObject(), *state = cJSON_AddObjectToObject(c, "state");
		char cid[96];

		cJSON_AddStringToObject(c, "name", ct->name);
		if (running) {
			cJSON *r = cJSON_AddObjectToObject(state, "running");

			cJSON_AddStringToObject(r, "startedAt", ts);
		} else {
			cJSON *w = cJSON_AddObjectToObject(state, "waiting");

			cJSON_AddStringToObject(w, "reason", "ContainerCreating");
		}
		cJSON_AddObjectToObject(c, "lastState");
		cJSON_AddBoolToObject(c, "ready", running);
		cJSON_AddNumberToObject(c, "restartCount", 0);
		cJSON_AddStringToObject(c, "image", ct->image);
		cJSON_AddStringToObject(c, "imageID", ct->image);
		if (running) {
			snprintf(cid, sizeof(cid), "containerd://%s", ct->id);
			cJSON_AddStringToObject(c, "containerID", cid);
		}
		cJSON_AddBoolToObject(c, "started", running);
		cJSON_AddItemToArray(sts, c);
	}
	return pod;
}
