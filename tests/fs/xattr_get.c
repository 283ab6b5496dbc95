/* xattr_get.c: print an extended attribute (getfattr may not be installed).
 *
 *   xattr_get PATH NAME    the value of NAME, as is
 *   xattr_get -l PATH      the names, one a line
 *
 * Exits 0, or 1 with strerror on stderr (e.g. "No data available").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

int main(int argc, char **argv)
{
	bool list = argc == 3 && strcmp(argv[1], "-l") == 0;
	const char *path = list ? argv[2] : argv[1];
	ssize_t n;
	char *buf;

	if (argc != 3) {
		fprintf(stderr, "usage: xattr_get PATH NAME | xattr_get -l PATH\n");
		return 2;
	}
	n = list ? listxattr(path, NULL, 0) : getxattr(path, argv[2], NULL, 0);
	if (n < 0) {
		fprintf(stderr, "xattr_get: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc((size_t)n + 1);
	if (!buf)
		return 1;
	n = list ? listxattr(path, buf, (size_t)n) : getxattr(path, argv[2], buf, (size_t)n);
	if (n < 0) {
		fprintf(stderr, "xattr_get: %s: %s\n", path, strerror(errno));
		free(buf);
		return 1;
	}
	if (list) {
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			printf("%s\n", buf + i);
	} else {
		fwrite(buf, 1, (size_t)n, stdout);
	}
	free(buf);
	return 0;
}
