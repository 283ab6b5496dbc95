/* main.c: the podfs command line: parse the subcommand and hand over.
 *
 * Subcommands: exec (mount, umount, cp and stats arrive with their issues).
 * PODFS_DEBUG=1 in the environment turns on debug logging.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
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
		"  exec       run a command in a container (like kubectl exec, no TTY)\n"
		"  version    print the podfs version\n"
		"  help       print this help\n");
}

int main(int argc, char **argv)
{
	log_set_name("podfs");
	if (getenv("PODFS_DEBUG") && getenv("PODFS_DEBUG")[0] == '1')
		log_set_level(LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "exec"))
		return cmd_exec(argc - 1, argv + 1);
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
