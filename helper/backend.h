/* backend.h: the remote interface (remote.h) over exec sessions in a pod.
 *
 * A pool of shell sessions (session.h), opened as needed up to a limit;
 * at start one probe learns the container's tools (GNU or busybox stat
 * and find, dd, readlink) and the backend picks its commands per tier.
 * Paths given to the ops are relative to ROOT (the mounted directory):
 * "/" is ROOT itself.
 */
#ifndef PODFS_BACKEND_H
#define PODFS_BACKEND_H

#include <stddef.h>

#include "remote.h"

struct kclient;

struct backend_opts {
	const char *ns;
	const char *pod;
	const char *container;
	const char *root;     /* absolute path in the container */
	int max_sessions;     /* 0: 4 */
	int request_timeout_ms; /* 0: 60 s */
};

/* Connect, probe, check ROOT is a directory. On failure ERR says what is
 * missing and what would help. The kclient must outlive the remote. */
int backend_new(struct remote **out, struct kclient *kc, const struct backend_opts *o, char *err,
		size_t errlen);

/* The container's working directory (where an exec starts; what a
 * relative path in the container is relative to), learnt by the probe. */
const char *backend_workdir(struct remote *r);
/* The uid and gid commands run as in the container (-ENOENT: unknown). */
int backend_pod_ids(struct remote *r, uint32_t *uid, uint32_t *gid);

#endif
