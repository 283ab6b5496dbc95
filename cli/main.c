/* main.c: the podfs command line: parse the subcommand and hand over.
 *
 * Subcommands: mount, umount, stats, exec, cp.
 * PODFS_DEBUG=1 in the environment turns on debug logging.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
		"  mount      mount a container's directory: podfs mount [NS/]POD[:PATH] MOUNTPOINT\n"
		"  umount     unmount it: podfs umount MOUNTPOINT\n"
		"  stats      a mount's counters: podfs stats MOUNTPOINT\n"
		"  exec       run a command in a container (like kubectl exec, no TTY)\n"
		"  cp         copy files to or from a container: podfs cp [NS/]POD:PATH... DST, or SRC... POD:PATH\n"
		"  version    print the podfs version\n"
		"  help       print this help\n");
}

/* mount(8) runs "mount.fuse.podfs SRC MNT -o OPTS" (or, through
 * mount.fuse3, "podfs SRC MNT -o OPTS"). */
static bool called_as_mount_helper(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	struct stat st;

	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "mount.fuse.podfs") || !strcmp(base, "mount.podfs"))
		return true;
	return argc >= 3 && argv[1][0] != '-' && strchr(argv[1], ':') && stat(argv[2], &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
	log_set_name("podfs");
	if (getenv("PODFS_DEBUG") && getenv("PODFS_DEBUG")[0] == '1')
		log_set_level(LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && called_as_mount_helper(argc, argv))
		return cmd_mount_helper(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "umount") || !strcmp(argv[1], "unmount"))
		return cmd_umount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cp"))
		return cmd_cp(argc - 1, argv + 1);
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
