/* tar.h: incremental, bounded, hostile-safe reader of tar streams.
 *
 * Reads what a pod's `tar cf -` writes (GNU tar 1.34 in its default "gnu"
 * format, --format=pax/ustar, busybox tar 1.35) for tar slices and
 * `podfs cp`. The pod controls every byte: a stream can cost an error,
 * never a crash, unbounded memory, or an entry name that leaves the
 * destination directory.
 *
 * Feed bytes as they arrive (any split, one byte at a time works); the
 * reader calls back once per entry and hands regular files' data over in
 * order, straight from the fed buffer. Nothing is copied but headers and
 * the bounded extension records (GNU long names, pax headers).
 *
 * Formats: ustar (name + prefix), GNU ("ustar  " magic; no prefix field),
 * octal numbers ended by NUL or space, GNU base-256 numbers for
 * size/uid/gid/mtime/mode (negative allowed for mtime only), header
 * checksum (unsigned or historical signed sum), GNU 'L'/'K' long
 * name/link, pax 'x' and 'g' headers (path, linkpath, size, mtime with
 * fraction, uid, gid honoured; an empty value deletes; other keys
 * ignored; GNU.sparse.* refused). Refused: sparse 'S' and every other
 * unknown type (-ENOTSUP, never skipped, so no data can be misread as a
 * header); volume 'V' and multi-volume 'M' headers (-EPROTO); data on a
 * non-regular entry (-EPROTO: readers disagree on whether it exists).
 *
 * A clean name is not enough to extract safely: after a symlink entry
 * "a" -> "/etc", the clean name "a/passwd" leaves the destination through
 * the link, and a hard link's target is whatever the pod wrote. Create
 * entries with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) or
 * O_NOFOLLOW at every step, and clean hard link targets with
 * htar_clean_name.
 *
 * Not thread-safe: one stream, one thread at a time. Callbacks run on the
 * thread that calls htar_feed and must not call htar_feed/finish/free.
 */
#ifndef PODFS_TAR_H
#define PODFS_TAR_H

#include <stddef.h>
#include <stdint.h>

struct htar;

/* Zero fields take the defaults. */
struct htar_limits {
	size_t max_name;         /* bytes of an entry's cleaned name, and of a
	                          * link target (default 4096) */
	uint64_t max_entry_size; /* bytes of one regular file (default 1 << 40) */
	uint64_t max_total;      /* bytes of the archive up to and including its
	                          * end marker; 0 = no limit. Bytes after the
	                          * end marker are ignored and not counted. */
	size_t max_pax;          /* bytes of one pax header (default 64 KiB) */
};

struct htar_entry {
	/* Cleaned relative path: no leading "/" or "./", no empty, "." or
	 * ".." components, no trailing "/", never empty ("." only for the
	 * root directory entry). Valid during the entry callback only. */
	const char *name;
	char type;        /* 'f' regular, 'd' dir, 'l' symlink, 'h' hard link,
	                   * 'c' char dev, 'b' block dev, 'p' fifo */
	uint64_t size;    /* data bytes; 0 unless type 'f' */
	uint32_t mode;    /* permission bits, & 07777 */
	uint32_t uid, gid;
	int64_t mtime;    /* seconds since the epoch, may be negative */
	long mtime_nsec;  /* 0..999999999 (only pax carries it) */
	/* Link target for 'l' and 'h', as stored (no NUL inside, at most
	 * max_name bytes), NULL otherwise. Raw data: a hard link target
	 * names another member and can say anything (clean it with
	 * htar_clean_name before use); a symlink target is the link's
	 * content. */
	const char *linkname;
};

/* Any member may be NULL (entry NULL takes every entry; data NULL
 * discards; end NULL is not called). */
struct htar_cb {
	/* Return 0 to take the entry (its data, then end), 1 to skip it,
	 * or -errno to abort: htar_feed returns that errno. */
	int (*entry)(void *arg, const struct htar_entry *e);
	/* Data of the taken regular file, in order, in one or more calls
	 * (none for an empty file); -errno aborts. */
	int (*data)(void *arg, const void *p, size_t n);
	/* Called once after a taken entry's data (also for entries with no
	 * data); -errno aborts. Never called for a skipped entry or after
	 * an error. */
	int (*end)(void *arg);
};

/* New reader with limits LIM (NULL = defaults) and callbacks CB (copied).
 * 0 or -ENOMEM/-EINVAL. Free with htar_free. */
int htar_new(struct htar **out, const struct htar_limits *lim, const struct htar_cb *cb, void *arg);
void htar_free(struct htar *t);

/* Feed the next N bytes of the stream. 0; a negative errno returned by a
 * callback; -EPROTO for a malformed or hostile stream; -E2BIG when a limit
 * was passed; -ENOTSUP for an entry type we do not read. After an error
 * no callback runs again and every further call returns the same error. */
int htar_feed(struct htar *t, const void *p, size_t n);

/* The stream ended. 0 if it ended cleanly: after the end-of-archive marker
 * (two zero blocks, or a lone one), or, with the marker missing, at an
 * entry boundary. -EPROTO if it ended inside a header, inside data or
 * padding, after an extension header without its entry, or before any
 * header at all (a truncated stream never looks complete); an earlier
 * error is returned again. */
int htar_finish(struct htar *t);

/* What went wrong (after an error): one line naming the entry and the
 * byte offset of its header. "" when nothing did. */
const char *htar_error(const struct htar *t);

/* Clean a member name of N bytes as entry names are cleaned, into OUT
 * (OUTSZ bytes, NUL-terminated; N + 2 always suffices). For hard link
 * targets. An empty result (e.g. "./") gives "." . 0, -EPROTO (NUL or a
 * ".." component), or -E2BIG (longer than MAX, or than OUTSZ allows). */
int htar_clean_name(const char *raw, size_t n, size_t max, char *out, size_t outsz);

#endif
