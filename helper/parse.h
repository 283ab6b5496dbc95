/* parse.h: parsers of what the pod's tools print. Every parser takes a
 * bounded byte slice, trusts nothing in it, and fails with -EPROTO on
 * anything unexpected. Pure functions; any thread. */
#ifndef PODFS_PARSE_H
#define PODFS_PARSE_H

#include <stddef.h>
#include <sys/statvfs.h>

#include "remote.h"

/* One stat line (no newline): "%f %h %u %g %s %b %i %d X Y Z %t %T" where
 * X/Y/Z are seconds, optionally with .nnnnnnnnn. */
int hp_stat_line(const char *s, size_t n, struct remote_attr *a);
/* "bsize blocks bfree bavail files ffree namelen" (stat -f). */
int hp_statfs_line(const char *s, size_t n, struct statvfs *st);
/* The errno a tool's message names ("...: No such file or directory"), or
 * -EIO when it names none we know. */
int hp_errno_from_text(const char *s, size_t n);
/* The start of a sha256sum line: 64 lowercase hex digits, then ' ' (GNU
 * puts a '\' first when it escaped the name that follows: a name with
 * '\' or a newline). OUT gets the digits and a NUL. -EPROTO otherwise. */
int hp_sha256_line(const char *s, size_t n, char out[65]);
/* A listing: NUL-terminated names, "/" NUL, then one stat line per name
 * ("stat lines" mode, busybox tier); or records "STATLINE\0./NAME\0"
 * ("find" mode, GNU tier). At most MAX entries. */
int hp_listing_names_then_stats(const char *s, size_t n, size_t max, struct remote_dirent **out,
				size_t *count);
int hp_listing_records(const char *s, size_t n, size_t max, struct remote_dirent **out, size_t *count);

/* Subtree listings: a directory and directories below it in one output.
 * One listed directory: REL is "" for the top, else its path below the
 * top ("a", "a/b"); ENTS as a one-level listing gives them. */
struct hp_tree_dir {
	char *rel;
	struct remote_dirent *ents;
	size_t n;
};
void hp_tree_free(struct hp_tree_dir *d, size_t n); /* NULL ok */
/* GNU tier: "DEPTH\0", then "./REL/\0" for each directory above DEPTH the
 * pod could not list (unreadable), "/\0", then records "STATLINE\0./REL\0"
 * (find's order, "." first as "STATLINE\0.\0") of everything down to
 * DEPTH levels. A directory counts as listed when it is above DEPTH, on
 * its parent's device (find -xdev), not marked unreadable and its parent
 * is listed; records below one not listed are dropped. At most MAX
 * records. OUT gets the top first, then every listed directory. */
int hp_tree_records(const char *s, size_t n, size_t max, struct hp_tree_dir **out, size_t *count);
/* Busybox tier, two levels: "." 's stat line and '\n', then the top's
 * group, then for each subdirectory listed "./NAME/\0" and its group. A
 * group: names "./[NAME/]ENTRY\0", "/\0", one stat line per name, "\0".
 * A top group whose stat lines do not match its names is -EAGAIN (an
 * entry vanished: ask again); such a subdirectory group is dropped. A
 * subdirectory must be a directory of the top's listing on the top's
 * device. At most MAX entries in all. */
int hp_tree_groups(const char *s, size_t n, size_t max, struct hp_tree_dir **out, size_t *count);

#endif
