/* common.h: what the podfs subcommands share: the kubectl-style connection
 * flags and setting up a kclient from them. */
#ifndef PODFS_CLI_COMMON_H
#define PODFS_CLI_COMMON_H

#include <stdbool.h>

#include "kclient.h"
#include "kubeconfig.h"

struct cli_conn {
	const char *kubeconfig;
	const char *context;
	const char *namespace;
	const char *container;
	struct kcfg *cfg;
	struct kclient *kc;
};

/* If ARGV[*I] is one of --kubeconfig/--context/-n/--namespace/-c/--container
 * (with its value as the next argument or after '='), take it and advance
 * *I. Returns 1 if taken, 0 if not ours, -1 on a missing value. */
int cli_conn_flag(struct cli_conn *c, int argc, char **argv, int *i);
/* Load the kubeconfig and connect; prints the error and returns non-zero on failure. */
int cli_conn_open(struct cli_conn *c);
void cli_conn_close(struct cli_conn *c);

int cmd_exec(int argc, char **argv);
int cmd_mount(int argc, char **argv);
/* As mount(8)'s helper: SRC MNT [-s] [-f] [-n] [-v] [-o OPTS]. */
int cmd_mount_helper(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_cp(int argc, char **argv);

#endif
