/* path.c: joining pod paths and naming the pseudo filesystems (see path.h).
 * No state, no locks. */
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int path_join(char **out, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	*out = NULL;
	if (nl == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (nl > PATH_NAME_MAX)
		return -ENAMETOOLONG;
	if (dl == 1 && dir[0] == '/')
		dl = 0;
	if (dl + 1 + nl + 1 > PATH_CAP)
		return -ENAMETOOLONG;
	p = malloc(dl + 1 + nl + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	*out = p;
	return 0;
}

bool path_is_pseudo(const char *path)
{
	return strcmp(path, "/proc") == 0 || strcmp(path, "/sys") == 0 ||
	       strcmp(path, "/dev") == 0;
}
