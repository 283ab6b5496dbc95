/* common.c: connection flags shared by the subcommands (see common.h). */
#include "common.h"

#include <stdio.h>
#include <string.h>

static int take(const char *arg, const char *name, int argc, char **argv, int *i, const char **out)
{
	size_t l = strlen(name);

	if (strncmp(arg, name, l))
		return 0;
	if (arg[l] == '=') {
		*out = arg + l + 1;
		return 1;
	}
	if (arg[l] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "podfs: %s needs a value\n", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

int cli_conn_flag(struct cli_conn *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	int r;

	if ((r = take(a, "--kubeconfig", argc, argv, i, &c->kubeconfig)) ||
	    (r = take(a, "--context", argc, argv, i, &c->context)) ||
	    (r = take(a, "--namespace", argc, argv, i, &c->namespace)) ||
	    (r = take(a, "-n", argc, argv, i, &c->namespace)) ||
	    (r = take(a, "--container", argc, argv, i, &c->container)) ||
	    (r = take(a, "-c", argc, argv, i, &c->container)))
		return r;
	return 0;
}

int cli_conn_open(struct cli_conn *c)
{
	struct kcfg_opts o = { 0 };
	char err[KCLIENT_ERR_MAX];
	int rc;

	o.kubeconfig = c->kubeconfig;
	o.context = c->context;
	o.namespace = c->namespace;
	o.use_process_env = true;
	rc = kcfg_load(&o, &c->cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	rc = kclient_new(&c->kc, c->cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "error: %s\n", err);
		kcfg_free(c->cfg);
		c->cfg = NULL;
		return 1;
	}
	return 0;
}

void cli_conn_close(struct cli_conn *c)
{
	kclient_free(c->kc);
	kcfg_free(c->cfg);
	c->kc = NULL;
	c->cfg = NULL;
}
