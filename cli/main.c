/* main.c: the podfs command line: parse the subcommand and hand over.
 *
 * Subcommands arrive with their issues (exec, mount, umount, cp, stats);
 * until then podfs knows only version and help.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: podfs COMMAND [ARGS...]\n"
		"\n"
		"Reach the files of a container in a Kubernetes pod through the\n"
		"API that kubectl exec uses.\n"
		"\n"
		"commands:\n"
		"  version    print the podfs version\n"
		"  help       print this help\n");
}

int main(int argc, char **argv)
{
	log_set_name("podfs");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("podfs %s\n", PODFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "podfs: unknown command '%s' (try 'podfs help')\n", argv[1]);
	return 2;
}
