/* inode.h: our own inode numbers for the paths the kernel knows.
 *
 * Numbers are ours (never pointers, never the pod's inode numbers), handed
 * out in increasing order and never reused during a mount; INODE_ROOT (1,
 * FUSE_ROOT_ID) is the mount's root path and is never freed. Each inode
 * carries its path in the pod, a generation, the kernel's lookup count and
 * the attributes last given to the kernel for it.
 *
 * Errors: an unknown or forgotten ino is -ESTALE; allocation failure is
 * -ENOMEM. Threads: every function may be called from any thread.
 * Ownership: strings returned through char ** are malloc'd copies the
 * caller frees.
 */
#ifndef PODFS_INODE_H
#define PODFS_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote.h"

#define INODE_ROOT 1

/* What makes a file the same file in the pod: device, inode number and
 * type. When the object at a path changes identity (deleted and created
 * again, replaced by a rename), the path gets a new inode of ours, so the
 * kernel never mixes the old file's cached state with the new one's. */
struct inode_ident {
	uint64_t dev;
	uint64_t ino;
	uint32_t type; /* S_IFMT bits */
};

struct inode_table;

/* ROOT is the mount's root path in the pod ("/" or "/a/b"). */
int inode_table_new(struct inode_table **out, const char *root);
/* Frees every inode; T may be NULL. */
void inode_table_free(struct inode_table *t);

/* Find or create the inode bound to PATH and add one lookup (every reply
 * that creates a kernel entry calls this once). ID is the pod identity of
 * what PATH names now, or NULL when unknown: a known identity different
 * from the bound inode's detaches that inode from PATH (it lives on until
 * forgotten) and binds a new one with a new generation. The root is never
 * replaced. Fills *INO and *GEN (GEN may be NULL). */
int inode_ref(struct inode_table *t, const char *path, const struct inode_ident *id,
	      uint64_t *ino, uint64_t *gen);

/* Drop N lookups (FUSE forget). Returns 1 when the inode was freed (its
 * count reached zero; never for the root), 0 when it is still in use,
 * -ESTALE when INO is unknown. Dropping more than the count frees it. */
int inode_forget(struct inode_table *t, uint64_t ino, uint64_t n);

/* A malloc'd copy of INO's path. */
int inode_path(struct inode_table *t, uint64_t ino, char **path);

/* The ino bound to PATH now, without adding a lookup; 0 if none. */
uint64_t inode_find(struct inode_table *t, const char *path);

/* Lookup count and generation of INO (either pointer may be NULL). */
int inode_info(struct inode_table *t, uint64_t ino, uint64_t *nlookup, uint64_t *gen);

/* PATH was removed: detach its inode (it lives on until forgotten). */
void inode_unbind_path(struct inode_table *t, const char *path);
/* FROM was renamed to TO: the inodes of FROM and of every path below it
 * move (same ino, generation and lookups); whatever was bound at TO or
 * below it is detached. -EINVAL for the root. */
int inode_rename(struct inode_table *t, const char *from, const char *to);

/* Number of live inodes, the root included. */
size_t inode_count(struct inode_table *t);

/* The attributes last given to the kernel for INO, and when (clock of the
 * caller's choosing). Open compares fresh attributes with these to decide
 * whether the kernel's page cache may be kept. inode_get_attr returns
 * -ENODATA when none were recorded yet. */
int inode_set_attr(struct inode_table *t, uint64_t ino, const struct remote_attr *a,
		   uint64_t when);
int inode_get_attr(struct inode_table *t, uint64_t ino, struct remote_attr *a, uint64_t *when);
/* Open handles of INO, as vfs counts them: add DELTA (never below zero)
 * and return the count after, or -ESTALE. */
int inode_opens_add(struct inode_table *t, uint64_t ino, int delta);
/* Handing a file's content to the kernel's page cache (vfs at open, by
 * FUSE notify_store) locks the kernel's pages of the file: only while
 * one handle is open (the one being opened: no READ of the file can be
 * in flight), and once per content. inode_push_begin: 0 when INO has
 * exactly one open handle, attributes recorded equal to A (what the
 * kernel has) and no push for them yet; -EBUSY otherwise, -ESTALE for
 * an unknown ino. inode_push_done: the kernel took the content for A
 * (forgotten when inode_set_attr records other data attributes). */
int inode_push_begin(struct inode_table *t, uint64_t ino, const struct remote_attr *a);
void inode_push_done(struct inode_table *t, uint64_t ino, const struct remote_attr *a);

#endif
