/* path.h: pod path helpers shared by the fs/ modules.
 *
 * Paths are absolute, with no trailing '/' (but "/" itself), no "." or ".."
 * components, never a NUL inside (remote.h's contract).
 */
#ifndef PODFS_PATH_H
#define PODFS_PATH_H

#include <stdbool.h>

/* Longest path we build, NUL included; longer is -ENAMETOOLONG. */
#define PATH_CAP 4096
/* Longest component (as the kernel's NAME_MAX). */
#define PATH_NAME_MAX 255

/* *OUT = DIR "/" NAME as a malloc'd string ("/" NAME when DIR is "/").
 * -EINVAL for an empty name, ".", ".." or a name with '/';
 * -ENAMETOOLONG past PATH_NAME_MAX or PATH_CAP; -ENOMEM. */
int path_join(char **out, const char *dir, const char *name);

/* Is PATH one of the pseudo filesystems hidden when "/" is mounted
 * (/proc, /sys, /dev; CLARIFICATIONS 14)? */
bool path_is_pseudo(const char *path);

#endif
