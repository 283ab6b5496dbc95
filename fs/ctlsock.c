/* ctlsock.c: the mount's control socket (see ctlsock.h).
 *
 * One thread polls the listening socket and a stop pipe; each connection
 * is answered at once and closed (the text is a few KiB: it fits in the
 * socket buffer, and a send timeout bounds a client that does not read).
 *
 * Locks: none; the thread owns the listening socket until ctlsock_stop
 * joins it.
 */
#include "ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define TEXT_MAX (1u << 20)
#define IO_TIMEOUT_S 2

struct ctlsock {
	int fd;
	int stop[2]; /* written by ctlsock_stop */
	pthread_t thread;
	ctlsock_text_fn text;
	void *arg;
};

/* "\0podfs-stats/MAJOR:MINOR" into A; returns the address length. */
static socklen_t sock_name(dev_t dev, struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "podfs-stats/%u:%u", major(dev), minor(dev));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The peer runs as our uid or as root. */
static bool peer_trusted(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0 || l != sizeof(cr))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void serve_one(struct ctlsock *c, int fd)
{
	size_t len = 0;
	char *text;

	if (!peer_trusted(fd)) {
		log_debug("control socket: refused a client of another user");
		return;
	}
	set_timeouts(fd);
	text = c->text(c->arg, &len);
	for (size_t off = 0; text && off < len;) {
		ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(text);
}

static void *ctl_main(void *arg)
{
	struct ctlsock *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = c->stop[0], .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("control socket: poll: %s; `podfs stats` stops working", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue; /* the client gave up meanwhile, or EMFILE: next time */
		serve_one(c, fd);
		close(fd);
	}
	return NULL;
}

int ctlsock_dev_of(const char *path, dev_t *dev)
{
	struct statx sx;

	/* DONT_SYNC: FUSE answers from the inode it has, no request */
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE, &sx) != 0)
		return -errno;
	*dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	return 0;
}

int ctlsock_start(struct ctlsock **out, dev_t dev, ctlsock_text_fn text, void *arg)
{
	struct ctlsock *c = calloc(1, sizeof(*c));
	struct sockaddr_un a;
	socklen_t al = sock_name(dev, &a);
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->text = text;
	c->arg = arg;
	c->stop[0] = c->stop[1] = -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || pipe2(c->stop, O_CLOEXEC) != 0) {
		rc = -errno;
		goto fail;
	}
	if (bind(c->fd, (struct sockaddr *)&a, al) != 0 || listen(c->fd, 16) != 0) {
		rc = -errno;
		goto fail;
	}
	rc = -pthread_create(&c->thread, NULL, ctl_main, c);
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	if (c->stop[0] >= 0) {
		close(c->stop[0]);
		close(c->stop[1]);
	}
	free(c);
	return rc;
}

void ctlsock_stop(struct ctlsock *c)
{
	if (!c)
		return;
	while (write(c->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->stop[0]);
	close(c->stop[1]);
	free(c);
}

int ctlsock_fetch(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	struct sockaddr_un a;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd = -1, rc;

	*text = NULL;
	*len = 0;
	if (stat(path, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	socklen_t al = sock_name(st.st_dev, &a);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-rc));
		return rc;
	}
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&a, al) != 0) {
		rc = errno == ECONNREFUSED || errno == ENOENT ? -ENOENT : -errno;
		snprintf(err, errlen, "%s is not on a podfs mount (or its daemon is from an older podfs): %s", path,
			 rc == -ENOENT ? "no control socket" : strerror(-rc));
		goto out;
	}
	if (!peer_trusted(fd)) {
		rc = -EPERM;
		snprintf(err, errlen, "the control socket of %s belongs to another user: not trusted", path);
		goto out;
	}
	buf = malloc(TEXT_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, TEXT_MAX - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(err, errlen, "reading the control socket of %s: %s", path, strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == TEXT_MAX) {
			rc = -E2BIG;
			snprintf(err, errlen, "the control socket of %s sent more than %u bytes", path, TEXT_MAX);
			goto out;
		}
	}
	if (n == 0) {
		rc = -EIO;
		snprintf(err, errlen, "the podfs daemon of %s sent nothing (refused, or out of memory)", path);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
