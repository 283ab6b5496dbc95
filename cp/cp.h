/* cp.h: `podfs cp`, copying files between a pod (a `struct remote`) and
 * the local machine, both ways, on top of remote.h only (no shell text,
 * no Kubernetes: the CLI builds the remote).
 *
 * What it guarantees:
 *  - Safety against a hostile pod: every local entry is created by name
 *    (one validated component: no '/', not "." or "..", at most 255
 *    bytes) relative to a directory fd that was itself opened without
 *    following a symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or
 *    openat O_NOFOLLOW|O_DIRECTORY component by component). Nothing is
 *    written outside the destination, whatever the pod lists or returns.
 *  - Never a silently short file: regular files are written to a part
 *    file (NAME.podfs-part, or .podfs-part-HASH for long names) and
 *    renamed into place once their size is verified; every failure is
 *    listed in the report and makes the result non-zero. (Small files
 *    going up are written in place, the source's mtime set last: see
 *    upload.c.)
 *  - Resume: a file whose destination has the source's size and mtime is
 *    skipped (with --checksum: the source's size and SHA-256, whatever
 *    the mtime); a part file whose mtime is the source's mtime (stamped
 *    on it when a copy stops early) is continued from its size.
 *
 * Threads: cp_download/cp_upload run O->parallel worker threads that call
 * the remote concurrently; they return when everything is done.
 * cp_request_stop() may be called from a signal handler.
 */
#ifndef PODFS_CP_H
#define PODFS_CP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote.h"

struct cp_opts {
	int parallel;	    /* worker threads = concurrent requests (0: 4) */
	int retries;	    /* automatic re-runs after a lost connection */
	bool preserve;	    /* -p: exact mode bits, ownership when root */
	bool follow;	    /* -L: follow symlinks (in the source) */
	bool specials;	    /* --specials: copy fifos (and devices when root) */
	bool no_batch;	    /* never use read_many (tar slices) / write_many */
	bool checksum;	    /* skip a same-size file only when its SHA-256 agrees */
	int progress_fd;    /* progress bar and summary there; -1: none */
	size_t chunk;	    /* bytes per range request (0: 4 MiB) */
	size_t small;	    /* files up to this size go in batches (0: 256 KiB) */
};

/* One failure or notice: PATH (as the user would name it) and what. */
struct cp_item {
	char *path;
	char *what;
};

struct cp_report {
	uint64_t files;	      /* regular files copied */
	uint64_t skipped;     /* regular files already complete */
	uint64_t resumed;     /* files continued from a part file */
	uint64_t dirs, links, specials;
	uint64_t bytes;	      /* data bytes transferred */
	double seconds;
	int attempts;	      /* runs (1 + automatic retries used) */
	bool interrupted;     /* cp_request_stop() was called */
	struct cp_item *failed;
	size_t nfailed;
	struct cp_item *notes; /* skipped special files, refused names */
	size_t nnotes;
};

void cp_opts_init(struct cp_opts *o);

/* Pod -> local. SRCS are clean absolute pod paths (see cp_remote_path);
 * CONTENTS[i] (may be NULL) means "copy what is in SRCS[i], not the
 * directory itself" (SRC/.). DST: a local path; with several sources or
 * when it is an existing directory, entries go below it, else it is the
 * new name. Returns 0 when everything was copied, -EIO when anything
 * failed (listed in REP), -EINTR when stopped, -EINVAL on bad arguments
 * (REP->failed says why), -ENOTSUP when O->checksum was asked for and
 * the remote cannot compute checksums (the files that needed one are
 * neither copied nor listed). Free REP with cp_report_cleanup. */
int cp_download(struct remote *r, const struct cp_opts *o, const char *const *srcs, const bool *contents,
		size_t nsrc, const char *dst, struct cp_report *rep);

/* Local -> pod: SRCS local paths, DST a clean absolute pod path. Needs
 * the remote's write operations (-ENOTSUP without them). */
int cp_upload(struct remote *r, const struct cp_opts *o, const char *const *srcs, const bool *contents,
	      size_t nsrc, const char *dst, struct cp_report *rep);

void cp_report_cleanup(struct cp_report *rep);

/* Ask running copies to stop soon (async-signal-safe): part files are
 * stamped so that the next run continues them. */
void cp_request_stop(void);

#endif
