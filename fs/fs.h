/* fs.h: mount a `remote` through FUSE (the public API of fs/ for cli/).
 *
 * Reads and writes (read-only with cfg.read_only, or when the remote has
 * no write operations). Caching follows close-to-open consistency, and
 * our own changes show at once (see vfs.h and SEMANTICS.md).
 */
#ifndef PODFS_FS_H
#define PODFS_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "remote.h"

struct podfs_fs_cfg {
	const char *mountpoint;	 /* local directory to mount on */
	const char *root;	 /* path in the pod shown at the mount's root; NULL: "/" */
	double attr_timeout;	 /* seconds (attributes, entries, negative entries) */
	double dir_timeout;	 /* seconds (listings); < 0: attr_timeout */
	size_t cache_size;	 /* page cache budget in bytes; 0: 64 MiB */
	bool allow_other;	 /* -o allow_other (needs user_allow_other for non-root) */
	bool read_only;		 /* -o ro */
	bool debug;		 /* libfuse's per-request trace on stderr */
	int uid_override;	 /* -1: show the pod's uid */
	int gid_override;	 /* -1: show the pod's gid */
	int64_t idmap_pod_uid, idmap_local_uid; /* idmap=user (-1: off), see vfs.h */
	int64_t idmap_pod_gid, idmap_local_gid;
	int hide_pseudo;	 /* /proc, /sys, /dev shown empty; -1: when root is "/" */
	const char *fsname;	 /* e.g. "podfs:ns/pod:/path" (shown by mount(8), df) */
	int foreground_fd;	 /* not used by fs/: the CLI's (e.g. its pipe to the
				  * parent); -1 when there is none */
};

/* Defaults: attr_timeout 1.0, dir_timeout = attr_timeout, 64 MiB cache,
 * no overrides, hide_pseudo automatic, fsname "podfs", foreground_fd -1. */
void podfs_fs_cfg_init(struct podfs_fs_cfg *cfg);

/* Mount R at CFG->mountpoint and serve it with libfuse's multi-threaded
 * loop until the filesystem is unmounted (fusermount3 -u, umount) or the
 * process gets SIGINT, SIGTERM or SIGHUP; then unmount and return.
 * READY(ARG) is called once, from this thread, right after the mount
 * succeeded (READY may be NULL): the CLI tells its parent and detaches
 * there. Does not daemonize and does not destroy R (the caller's).
 * Returns 0 after a clean unmount or a signal, or -errno with a logged
 * message (mountpoint missing, mount refused, out of memory). */
int podfs_fs_run(const struct podfs_fs_cfg *cfg, struct remote *r, void (*ready)(void *arg),
		 void *arg);

#endif
