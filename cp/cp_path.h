/* cp_path.h: the pure parts of `podfs cp` (no I/O): operands, pod paths,
 * names from the pod, part file names, resume decisions, printing names.
 * Every function is thread-safe and unit-tested (tests/unit/test_cp.c).
 */
#ifndef PODFS_CP_PATH_H
#define PODFS_CP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One command-line operand: a local path or [NS/]POD:PATH (kubectl cp's
 * rules: the first ':' splits; an operand without ':' or starting with
 * '/', "./" or "../", or a Windows drive path "C:\..." is local). */
struct cp_spec {
	bool remote;
	char *ns;   /* NULL: not given */
	char *pod;
	char *path; /* local path, or the pod path as given ("" allowed) */
};

/* 0, -EINVAL (":x", "a/b/c:x", a pod name that cannot be one: ERR says
 * why), -ENOMEM. Free with cp_spec_cleanup. */
int cp_spec_parse(const char *arg, struct cp_spec *out, char *err, size_t errlen);
void cp_spec_cleanup(struct cp_spec *s);

/* PATH (absolute or relative to WORKDIR, "" = WORKDIR) as a clean
 * absolute pod path: no "//", ".", ".." (resolved lexically, as kubectl
 * does), no trailing '/'; "/" for the root. *CONTENTS: PATH ended in "/."
 * (copy the directory's contents). 0, -EINVAL (NUL-free input assumed;
 * WORKDIR not absolute), -ENOMEM. *OUT is malloc'd. */
int cp_remote_path(const char *workdir, const char *path, char **out, bool *contents);

/* Last component of a clean absolute path ("" for "/"), malloc'd. */
char *cp_basename(const char *path);
/* DIR + "/" + NAME (DIR "/" gives "/NAME"), malloc'd (NULL: no memory). */
char *cp_join(const char *dir, const char *name);

/* A name the pod gave for a directory entry is one we may create: not
 * empty, no '/', not "." or "..", at most 255 bytes. */
bool cp_name_ok(const char *name);

/* The part file's name for NAME: NAME ".podfs-part" when that fits in
 * 255 bytes, else ".podfs-part-" + 16 hex digits of a hash of NAME.
 * OUT must hold 256 bytes. */
void cp_part_name(const char *name, char out[256]);
/* NAME looks like a part file (so we never copy our own leftovers). */
bool cp_is_part_name(const char *name);

/* What we know of one side of a file. */
struct cp_finfo {
	bool exists;
	bool regular;
	uint64_t size;
	int64_t mtime;
	long mtime_nsec;
};

enum cp_action {
	CP_COPY,   /* from offset 0 */
	CP_SKIP,   /* the destination is complete */
	CP_RESUME, /* continue the part file from *OFF */
};

/* Same mtime: equal seconds, and equal nanoseconds unless one side has
 * none (busybox stat and some touch commands only know seconds). */
bool cp_mtime_eq(int64_t a, long an, int64_t b, long bn);

/* SRC the source file; DST the destination file; PART its part file.
 * Skip when DST is a regular file of SRC's size and mtime; resume when
 * PART is regular, stamped with SRC's mtime and not longer than SRC. */
enum cp_action cp_decide(const struct cp_finfo *src, const struct cp_finfo *dst, const struct cp_finfo *part,
			 uint64_t *off);

/* --checksum: DST is a regular file of SRC's size, the case where the
 * content decides (the caller compares checksums). */
bool cp_same_size(const struct cp_finfo *src, const struct cp_finfo *dst);
/* --checksum: skip when DST is a regular file of SRC's size and
 * SAME_CONTENT says the checksums agree, whatever the mtimes; else as
 * cp_decide without DST (resume a stamped part file, or copy). */
enum cp_action cp_decide_checksum(const struct cp_finfo *src, const struct cp_finfo *dst,
				  const struct cp_finfo *part, bool same_content, uint64_t *off);

/* NAME for a message or the progress line: printable ASCII as is, every
 * other byte as \xHH (and '\' as "\\"), cut with "..." to fit OUTSZ. */
void cp_printable(const char *name, char *out, size_t outsz);

/* "12.3 MiB" (binary units) into OUT. */
void cp_fmt_bytes(uint64_t n, char *out, size_t outsz);

#endif
