/* ctlsock.h: a mount's control socket, where `podfs stats` reads the
 * counters (CLARIFICATIONS 15: a control socket, never a file in the tree).
 *
 * The daemon listens on the abstract unix socket
 * "\0podfs-stats/MAJOR:MINOR", named after the mount's st_dev: whoever can
 * stat a path inside the mount finds it, nothing is created on disk and
 * nothing needs cleaning up when the daemon dies. A client connects and
 * reads the text until EOF; the daemon serves only its own uid and root
 * (SO_PEERCRED), and the client trusts only a server running as its own
 * uid or root (so another user cannot squat the name).
 *
 * Threads: the server has one thread of its own, which calls TEXT; the
 * client functions run on the caller's thread.
 */
#ifndef PODFS_CTLSOCK_H
#define PODFS_CTLSOCK_H

#include <stddef.h>
#include <sys/types.h>

struct ctlsock;

/* The text a client gets: malloc'd, *LEN bytes; NULL on failure. */
typedef char *(*ctlsock_text_fn)(void *arg, size_t *len);

/* Listen for the mount whose device is DEV (st_dev of its root, read
 * without asking the FUSE daemon: statx with AT_STATX_DONT_SYNC) and
 * answer every connection with TEXT(ARG). -EADDRINUSE when another
 * process holds the name. */
int ctlsock_start(struct ctlsock **out, dev_t dev, ctlsock_text_fn text, void *arg);
/* Stop the thread, close the socket, free (NULL ok). TEXT is not called
 * after this returns. */
void ctlsock_stop(struct ctlsock *c);

/* The device number of the filesystem holding PATH without a request to
 * a FUSE daemon (the daemon may not be serving yet). */
int ctlsock_dev_of(const char *path, dev_t *dev);

/* Client: connect to the control socket of the mount holding PATH and
 * read its text (malloc'd, NUL-terminated, at most 1 MiB). ERR gets a
 * message for the user. -ENOENT: no podfs daemon serves that filesystem. */
int ctlsock_fetch(const char *path, char **text, size_t *len, char *err, size_t errlen);

#endif
