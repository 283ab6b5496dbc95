/* test_kubeconfig.c: kubeconfig loading as kubectl does it (client-go
 * clientcmd rules, shared/reference/k8s-exec-protocol.md §4). Every test
 * writes its fixtures into a fresh temporary directory and uses the
 * kcfg_opts hooks, never the real environment. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "kubeconfig.h"

/* base64 of "CA-FROM-DATA\n", "CERT-FROM-DATA\n", "KEY-FROM-DATA\n" */
#define CA_DATA_B64 "Q0EtRlJPTS1EQVRBCg=="
#define CERT_DATA_B64 "Q0VSVC1GUk9NLURBVEEK"
#define KEY_DATA_B64 "S0VZLUZST00tREFUQQo="

struct fx {
	char dir[256];
	int next, nkeep;
	struct kcfg_opts o;
	struct kcfg *c;
	char err[1024];
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/podfs-kcfg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	return f;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void fx_free(struct fx *f)
{
	kcfg_free(f->c);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
}

static char fx_ring[16][512];	/* scratch for fx_p() */
static char fx_kept[16][512];	/* for fx_keep() */

/* DIR/NAME, valid until 16 more calls. */
static const char *fx_p(struct fx *f, const char *name)
{
	char *p = fx_ring[f->next++ % 16];

	snprintf(p, 512, "%s/%s", f->dir, name);
	return p;
}

/* DIR/NAME, valid for the whole test (for kcfg_opts). */
static const char *fx_keep(struct fx *f, const char *name)
{
	char *p;

	assert_true(f->nkeep < 16);
	p = fx_kept[f->nkeep++];
	snprintf(p, 512, "%s/%s", f->dir, name);
	return p;
}

static void fx_mkdir(struct fx *f, const char *name)
{
	assert_int_equal(mkdir(fx_p(f, name), 0700), 0);
}

static void fx_write(struct fx *f, const char *name, const char *content)
{
	FILE *fp = fopen(fx_p(f, name), "w");

	assert_non_null(fp);
	assert_true(fputs(content, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static int fx_load(struct fx *f)
{
	kcfg_free(f->c);
	f->c = NULL;
	f->err[0] = '\0';
	return kcfg_load(&f->o, &f->c, f->err, sizeof(f->err));
}

/* Load FILE (in the fixture dir) as --kubeconfig. */
static int fx_load_file(struct fx *f, const char *name)
{
	f->o.kubeconfig = fx_keep(f, name);
	return fx_load(f);
}

static void assert_err_has(struct fx *f, const char *needle)
{
	if (!strstr(f->err, needle))
		fail_msg("error \"%s\" does not contain \"%s\"", f->err, needle);
}

static void assert_err_lacks(struct fx *f, const char *needle)
{
	if (strstr(f->err, needle))
		fail_msg("error \"%s\" contains \"%s\"", f->err, needle);
}

/* ---- cluster ---- */

static void cluster_fields_are_read_and_server_is_normalised(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "ca-file.crt", "CA-FROM-FILE\n");
	fx_write(f, "kc",
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "current-context: main\n"
		 "clusters:\n"
		 "- name: c1\n"
		 "  cluster:\n"
		 "    server: https://k.example:6443/prefix/\n"
		 "    certificate-authority: ca-file.crt\n"
		 "    certificate-authority-data: " CA_DATA_B64 "\n"
		 "    tls-server-name: api.internal\n"
		 "    proxy-url: socks5://proxy.example:1080\n"
		 "    disable-compression: true\n"
		 "contexts:\n"
		 "- name: main\n"
		 "  context: {cluster: c1, user: u1, namespace: team-a}\n"
		 "users:\n"
		 "- name: u1\n"
		 "  user: {token: abc}\n"
		 "preferences: {}\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->context_name, "main");
	assert_string_equal(f->c->cluster_name, "c1");
	assert_string_equal(f->c->user_name, "u1");
	assert_string_equal(f->c->namespace, "team-a");
	assert_string_equal(f->c->server, "https://k.example:6443/prefix");
	/* certificate-authority-data wins over certificate-authority */
	assert_int_equal(f->c->ca_pem_len, strlen("CA-FROM-DATA\n"));
	assert_memory_equal(f->c->ca_pem, "CA-FROM-DATA\n", f->c->ca_pem_len);
	assert_false(f->c->insecure_skip_tls_verify);
	assert_string_equal(f->c->tls_server_name, "api.internal");
	assert_string_equal(f->c->proxy_url, "socks5://proxy.example:1080");
	assert_false(f->c->in_cluster);
	fx_free(f);
}

static void server_trailing_slashes_query_and_bare_host(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "a",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'HTTPS://h:1/', insecure-skip-tls-verify: true}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "a"), 0);
	assert_string_equal(f->c->server, "https://h:1");
	fx_write(f, "b",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h/p//?x=1#f'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "b"), 0);
	assert_string_equal(f->c->server, "https://h/p");
	/* a bare host:port is https when TLS material is configured, else http */
	fx_write(f, "c",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'h:6443', insecure-skip-tls-verify: true}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "c"), 0);
	assert_string_equal(f->c->server, "https://h:6443");
	fx_write(f, "d",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'h:8080'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "d"), 0);
	assert_string_equal(f->c->server, "http://h:8080");
	fx_free(f);
}

static void server_with_bad_scheme_or_missing_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "a",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'ftp://u:SECRETPW@h/'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "a"), -EINVAL);
	assert_err_has(f, "cluster \"c\"");
	assert_err_lacks(f, "SECRETPW");
	fx_write(f, "b",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {tls-server-name: n}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "b"), -EINVAL);
	assert_string_equal(f->err, "no server found for cluster \"c\"");
	fx_free(f);
}

static void ca_file_is_resolved_against_kubeconfig_dir(void **state)
{
	struct fx *f = fx_new();
	char cwd[4096];

	(void)state;
	fx_mkdir(f, "cfgdir");
	fx_mkdir(f, "cfgdir/sub");
	fx_write(f, "cfgdir/sub/ca.crt", "CA-FROM-FILE\n");
	fx_write(f, "cfgdir/kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: sub/ca.crt}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0); /* not where the file is */
	assert_int_equal(fx_load_file(f, "cfgdir/kc"), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(f->c->ca_pem_len, strlen("CA-FROM-FILE\n"));
	assert_memory_equal(f->c->ca_pem, "CA-FROM-FILE\n", f->c->ca_pem_len);
	fx_free(f);
}

static void ca_file_missing_is_error_naming_it(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: nope.crt}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_err_has(f, "unable to read certificate-authority");
	assert_err_has(f, fx_p(f, "nope.crt"));
	fx_free(f);
}

static void insecure_skip_tls_verify_with_ca_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "ca.crt", "CA\n");
	fx_write(f, "a",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true, certificate-authority: ca.crt}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "a"), -EINVAL);
	assert_err_has(f, "specifying a root certificates file with the insecure flag is not allowed");
	fx_write(f, "b",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true, certificate-authority-data: " CA_DATA_B64 "}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "b"), -EINVAL);
	assert_err_has(f, "specifying a root certificates file with the insecure flag is not allowed");
	/* alone it is fine */
	fx_write(f, "c",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "c"), 0);
	assert_true(f->c->insecure_skip_tls_verify);
	assert_null(f->c->ca_pem);
	fx_free(f);
}

static void proxy_url_with_bad_scheme_is_error_without_url(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h', proxy-url: 'ftp://me:SECRETPW@p:21'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "invalid 'proxy-url' for cluster \"c\"");
	assert_err_has(f, "\"ftp\"");
	assert_err_lacks(f, "SECRETPW");
	fx_free(f);
}

/* ---- user ---- */

static void token_tokenfile_and_impersonation_are_read(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "cfg");
	fx_mkdir(f, "cfg/secrets");
	fx_write(f, "cfg/secrets/tok", "file-token\n");
	fx_write(f, "cfg/kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    token: static-token\n"
		 "    tokenFile: ./secrets/../secrets/tok\n"
		 "    as: alice\n"
		 "    as-groups: [devs, 'system:authenticated']\n");
	assert_int_equal(fx_load_file(f, "cfg/kc"), 0);
	assert_string_equal(f->c->token, "static-token");
	assert_string_equal(f->c->token_file, fx_p(f, "cfg/secrets/tok"));
	assert_string_equal(f->c->impersonate_user, "alice");
	assert_non_null(f->c->impersonate_groups);
	assert_string_equal(f->c->impersonate_groups[0], "devs");
	assert_string_equal(f->c->impersonate_groups[1], "system:authenticated");
	assert_null(f->c->impersonate_groups[2]);
	assert_null(f->c->username);
	assert_null(f->c->client_cert_pem);
	assert_null(f->c->exec);
	fx_free(f);
}

static void token_file_alone_must_be_readable(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {tokenFile: /nonexistent/podfs/token}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_err_has(f, "unable to read tokenFile /nonexistent/podfs/token for u");
	fx_free(f);
}

static void groups_without_as_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {as-groups: [g]}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "without impersonating a user");
	fx_free(f);
}

static void client_cert_and_key_from_files_and_data(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "pki");
	fx_write(f, "pki/c.crt", "CERT-FROM-FILE\n");
	fx_write(f, "pki/c.key", "KEY-FROM-FILE\n");
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {client-certificate: pki/c.crt, client-key: pki/c.key}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_int_equal(f->c->client_cert_pem_len, strlen("CERT-FROM-FILE\n"));
	assert_memory_equal(f->c->client_cert_pem, "CERT-FROM-FILE\n", f->c->client_cert_pem_len);
	assert_int_equal(f->c->client_key_pem_len, strlen("KEY-FROM-FILE\n"));
	assert_memory_equal(f->c->client_key_pem, "KEY-FROM-FILE\n", f->c->client_key_pem_len);
	assert_null(f->c->token);
	/* data wins over the file, for each of the two */
	fx_write(f, "kc2",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {client-certificate: pki/c.crt, client-certificate-data: " CERT_DATA_B64 ",\n"
		 "  client-key: pki/c.key, client-key-data: " KEY_DATA_B64 "}}]\n");
	assert_int_equal(fx_load_file(f, "kc2"), 0);
	assert_int_equal(f->c->client_cert_pem_len, strlen("CERT-FROM-DATA\n"));
	assert_memory_equal(f->c->client_cert_pem, "CERT-FROM-DATA\n", f->c->client_cert_pem_len);
	assert_int_equal(f->c->client_key_pem_len, strlen("KEY-FROM-DATA\n"));
	assert_memory_equal(f->c->client_key_pem, "KEY-FROM-DATA\n", f->c->client_key_pem_len);
	/* a certificate may be combined with a token */
	fx_write(f, "kc3",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {token: t, client-certificate-data: " CERT_DATA_B64 ", client-key: pki/c.key}}]\n");
	assert_int_equal(fx_load_file(f, "kc3"), 0);
	assert_string_equal(f->c->token, "t");
	assert_memory_equal(f->c->client_key_pem, "KEY-FROM-FILE\n", f->c->client_key_pem_len);
	fx_free(f);
}

static void client_cert_without_key_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {client-certificate-data: " CERT_DATA_B64 "}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_string_equal(f->err,
			    "client-key-data or client-key must be specified for u to use the clientCert authentication method.");
	fx_free(f);
}

static void bad_base64_is_error_without_content(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {client-certificate-data: " CERT_DATA_B64 ", client-key-data: 'SECRET!KEY'}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "client-key-data is not valid base64");
	assert_err_lacks(f, "SECRET");
	fx_free(f);
}

static void token_and_basic_auth_is_error_without_secrets(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {token: SECRETTOKEN, username: bob, password: SECRETPW}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "more than one authentication method found for u");
	assert_err_lacks(f, "SECRET");
	fx_free(f);
}

static void username_and_password_are_basic_auth(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {username: bob, password: 'p@ss: word'}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->username, "bob");
	assert_string_equal(f->c->password, "p@ss: word");
	assert_null(f->c->token);
	fx_free(f);
}

/* ---- exec plugin config ---- */

static void exec_fields_and_cluster_extension_are_read(void **state)
{
	struct fx *f = fx_new();
	struct kcfg_exec *x;

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters:\n"
		 "- name: c\n"
		 "  cluster:\n"
		 "    server: https://h\n"
		 "    extensions:\n"
		 "    - name: other/ext\n"
		 "      extension: {ignored: true}\n"
		 "    - name: client.authentication.k8s.io/exec\n"
		 "      extension:\n"
		 "        audience: demo\n"
		 "        n: 12345678901234567890\n"
		 "        flag: true\n"
		 "        quoted: 'true'\n"
		 "        none: null\n"
		 "        list: [a, 1.5]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    exec:\n"
		 "      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: ./bin/get-token\n"
		 "      args: [--cluster, 'a b', '']\n"
		 "      env:\n"
		 "      - name: FOO\n"
		 "        value: bar\n"
		 "      - name: EMPTY\n"
		 "      provideClusterInfo: true\n"
		 "      interactiveMode: Never\n"
		 "      installHint: 'install get-token from https://example.com'\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	x = f->c->exec;
	assert_non_null(x);
	assert_string_equal(x->api_version, "client.authentication.k8s.io/v1");
	assert_string_equal(x->command, fx_p(f, "bin/get-token"));
	assert_string_equal(x->args[0], "--cluster");
	assert_string_equal(x->args[1], "a b");
	assert_string_equal(x->args[2], "");
	assert_null(x->args[3]);
	assert_int_equal(x->nenv, 2);
	assert_string_equal(x->env[0].name, "FOO");
	assert_string_equal(x->env[0].value, "bar");
	assert_string_equal(x->env[1].name, "EMPTY");
	assert_string_equal(x->env[1].value, "");
	assert_true(x->provide_cluster_info);
	assert_string_equal(x->interactive_mode, "Never");
	assert_string_equal(x->install_hint, "install get-token from https://example.com");
	assert_string_equal(x->cluster_config_json,
			    "{\"audience\":\"demo\",\"n\":12345678901234567890,\"flag\":true,"
			    "\"quoted\":\"true\",\"none\":null,\"list\":[\"a\",1.5]}");
	fx_free(f);
}

static void exec_bare_command_is_not_resolved_and_defaults_apply(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin}}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->exec->command, "kubelogin");
	assert_non_null(f->c->exec->args);
	assert_null(f->c->exec->args[0]);
	assert_int_equal(f->c->exec->nenv, 0);
	assert_false(f->c->exec->provide_cluster_info);
	/* v1beta1 defaults to IfAvailable */
	assert_string_equal(f->c->exec->interactive_mode, "IfAvailable");
	assert_null(f->c->exec->install_hint);
	assert_null(f->c->exec->cluster_config_json);
	fx_free(f);
}

static void exec_validation_errors(void **state)
{
	static const struct {
		const char *exec;
		const char *want;
	} cases[] = {
		{ "{apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}",
		  "command must be specified for u to use exec authentication plugin" },
		{ "{command: p, interactiveMode: Never}",
		  "apiVersion must be specified for u to use exec authentication plugin" },
		{ "{apiVersion: client.authentication.k8s.io/v1, command: p}",
		  "interactiveMode must be specified for u to use exec authentication plugin" },
		{ "{apiVersion: client.authentication.k8s.io/v1, command: p, interactiveMode: Sometimes}",
		  "invalid interactiveMode for u: \"Sometimes\"" },
		{ "{apiVersion: client.authentication.k8s.io/v1alpha1, command: p}",
		  "invalid apiVersion \"client.authentication.k8s.io/v1alpha1\"" },
		{ "{apiVersion: client.authentication.k8s.io/v1beta1, command: p, env: [{value: v}]}",
		  "env variable name must be specified for u to use exec authentication plugin" },
	};
	struct fx *f = fx_new();
	char yaml[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "current-context: x\n"
			 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
			 "users: [{name: u, user: {exec: %s}}]\n",
			 cases[i].exec);
		fx_write(f, "kc", yaml);
		assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
		assert_err_has(f, cases[i].want);
	}
	/* exec and auth-provider together */
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: p},\n"
		 "  auth-provider: {name: oidc, config: {id-token: t}}}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "authProvider cannot be provided in combination with an exec plugin for u");
	fx_free(f);
}

static void auth_provider_oidc_id_token_and_removed_plugins(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {auth-provider: {name: oidc, config: {id-token: the-id-token, client-id: k}}}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->token, "the-id-token");
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -ENOTSUP);
	assert_err_has(f, "gke-gcloud-auth-plugin");
	fx_free(f);
}

/* ---- files, merging, choice ---- */

static const char kc_first[] =
	"clusters:\n"
	"- name: shared\n"
	"  cluster: {server: 'https://one:6443', certificate-authority: ca1.crt}\n"
	"contexts:\n"
	"- name: ctx\n"
	"  context: {cluster: shared, user: u1, namespace: ns-one}\n"
	"users:\n"
	"- name: u1\n"
	"  user: {token: t-one}\n";
static const char kc_second[] =
	"current-context: ctx\n"
	"clusters:\n"
	"- name: shared\n"
	"  cluster: {server: 'https://two:6443', insecure-skip-tls-verify: true}\n"
	"- name: only2\n"
	"  cluster: {server: 'https://only2:6443', insecure-skip-tls-verify: true}\n"
	"contexts:\n"
	"- name: ctx\n"
	"  context: {cluster: only2, user: u2, namespace: ns-two}\n"
	"- name: only2\n"
	"  context: {cluster: only2, user: u2}\n"
	"users:\n"
	"- name: u1\n"
	"  user: {token: t-two}\n"
	"- name: u2\n"
	"  user: {username: two, password: pw}\n";

static void kubeconfig_list_merges_first_definition_wins_whole(void **state)
{
	struct fx *f = fx_new();
	char env[2048];

	(void)state;
	fx_mkdir(f, "d1");
	fx_mkdir(f, "d2");
	fx_write(f, "d1/ca1.crt", "CA-ONE\n");
	fx_write(f, "d1/kc", kc_first);
	fx_write(f, "d2/kc", kc_second);
	/* missing files are skipped; duplicates and empty entries dropped */
	snprintf(env, sizeof(env), "%s::%s:%s:%s", fx_p(f, "missing"), fx_p(f, "d1/kc"),
		 fx_p(f, "d2/kc"), fx_p(f, "d1/kc"));
	f->o.env_kubeconfig = env;
	assert_int_equal(fx_load(f), 0);
	/* current-context came from file 2 (file 1 has none), but the context
	 * "ctx" itself, its cluster and its user come whole from file 1 */
	assert_string_equal(f->c->context_name, "ctx");
	assert_string_equal(f->c->cluster_name, "shared");
	assert_string_equal(f->c->server, "https://one:6443");
	assert_memory_equal(f->c->ca_pem, "CA-ONE\n", 7);
	assert_false(f->c->insecure_skip_tls_verify); /* not merged from file 2 */
	assert_string_equal(f->c->token, "t-one");
	assert_string_equal(f->c->namespace, "ns-one");
	/* a name only file 2 defines is kept */
	f->o.context = "only2";
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->server, "https://only2:6443");
	assert_true(f->c->insecure_skip_tls_verify);
	assert_string_equal(f->c->username, "two");
	assert_string_equal(f->c->namespace, "default");
	fx_free(f);
}

static void kubeconfig_list_first_nonempty_current_context_wins(void **state)
{
	struct fx *f = fx_new();
	char env[2048];

	(void)state;
	fx_write(f, "a",
		 "current-context: ''\n"
		 "clusters: [{name: c, cluster: {server: 'https://a'}}]\n");
	fx_write(f, "b",
		 "current-context: from-b\n"
		 "contexts: [{name: from-b, context: {cluster: c}}, {name: from-c, context: {cluster: c, namespace: cns}}]\n");
	fx_write(f, "c", "current-context: from-c\n");
	snprintf(env, sizeof(env), "%s:%s:%s", fx_p(f, "a"), fx_p(f, "b"), fx_p(f, "c"));
	f->o.env_kubeconfig = env;
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->context_name, "from-b");
	assert_string_equal(f->c->server, "https://a");
	fx_free(f);
}

static void kubeconfig_list_unparsable_file_is_error(void **state)
{
	struct fx *f = fx_new();
	char env[2048];

	(void)state;
	fx_write(f, "good", kc_second);
	fx_write(f, "bad", "clusters: [\n  - {name: x\n");
	snprintf(env, sizeof(env), "%s:%s", fx_p(f, "good"), fx_p(f, "bad"));
	f->o.env_kubeconfig = env;
	assert_int_equal(fx_load(f), -EINVAL);
	assert_err_has(f, "error loading config file");
	assert_err_has(f, fx_p(f, "bad"));
	/* a file whose top level is not a mapping is not a kubeconfig */
	fx_write(f, "bad", "- just\n- a list\n");
	assert_int_equal(fx_load(f), -EINVAL);
	assert_err_has(f, fx_p(f, "bad"));
	fx_free(f);
}

static void duplicate_name_in_one_file_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://a'}}, {name: c, cluster: {server: 'https://b'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "duplicate name \"c\" in clusters");
	fx_free(f);
}

static void explicit_kubeconfig_must_exist(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	assert_int_equal(fx_load_file(f, "does-not-exist"), -ENOENT);
	assert_err_has(f, fx_p(f, "does-not-exist"));
	fx_free(f);
}

static void explicit_kubeconfig_beats_env_and_home(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "home");
	fx_mkdir(f, "home/.kube");
	fx_write(f, "home/.kube/config", kc_second);
	fx_write(f, "env", kc_second);
	fx_write(f, "explicit",
		 "current-context: e\n"
		 "clusters: [{name: c, cluster: {server: 'https://explicit'}}]\n"
		 "contexts: [{name: e, context: {cluster: c}}]\n");
	f->o.home = fx_keep(f, "home");
	f->o.env_kubeconfig = fx_keep(f, "env");
	assert_int_equal(fx_load_file(f, "explicit"), 0);
	assert_string_equal(f->c->server, "https://explicit");
	fx_free(f);
}

static void home_kube_config_is_used_without_env(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "home");
	fx_mkdir(f, "home/.kube");
	fx_write(f, "home/.kube/config",
		 "current-context: h\n"
		 "clusters: [{name: c, cluster: {server: 'https://home'}}]\n"
		 "contexts: [{name: h, context: {cluster: c}}]\n");
	f->o.home = fx_keep(f, "home");
	f->o.env_kubeconfig = ""; /* empty $KUBECONFIG means unset */
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->server, "https://home");
	fx_free(f);
}

static void json_kubeconfig_is_accepted(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc.json",
		 "{\n"
		 "\t\"apiVersion\": \"v1\", \"kind\": \"Config\",\n"
		 "\t\"current-context\": \"j\",\n"
		 "\t\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": \"https://json:443\",\n"
		 "\t\t\"certificate-authority-data\": \"" CA_DATA_B64 "\", \"insecure-skip-tls-verify\": false}}],\n"
		 "\t\"contexts\": [{\"name\": \"j\", \"context\": {\"cluster\": \"c\", \"user\": \"u\", \"namespace\": \"jns\"}}],\n"
		 "\t\"users\": [{\"name\": \"u\", \"user\": {\"token\": \"jt\"}}]\n"
		 "}\n");
	assert_int_equal(fx_load_file(f, "kc.json"), 0);
	assert_string_equal(f->c->server, "https://json:443");
	assert_memory_equal(f->c->ca_pem, "CA-FROM-DATA\n", 13);
	assert_string_equal(f->c->token, "jt");
	assert_string_equal(f->c->namespace, "jns");
	fx_free(f);
}

static void context_flag_selects_another_context(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: a\n"
		 "clusters: [{name: ca, cluster: {server: 'https://a'}}, {name: cb, cluster: {server: 'https://b'}}]\n"
		 "contexts: [{name: a, context: {cluster: ca}}, {name: b, context: {cluster: cb, namespace: bns}}]\n");
	f->o.context = "b";
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->context_name, "b");
	assert_string_equal(f->c->server, "https://b");
	assert_string_equal(f->c->namespace, "bns");
	assert_null(f->c->user_name); /* no user: anonymous */
	fx_free(f);
}

static void namespace_flag_overrides_and_default_is_default(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		 "contexts: [{name: a, context: {cluster: c, namespace: ctxns}}, {name: b, context: {cluster: c}}]\n");
	f->o.namespace = "flagns";
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->namespace, "flagns");
	f->o.namespace = NULL;
	f->o.context = "b";
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->namespace, "default");
	fx_free(f);
}

static void invalid_namespace_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		 "contexts: [{name: a, context: {cluster: c, namespace: Bad_NS}}, {name: b, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "namespace \"Bad_NS\" for context \"a\" does not conform to the kubernetes DNS_LABEL rules");
	f->o.context = "b";
	f->o.namespace = "../x";
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_err_has(f, "DNS_LABEL");
	fx_free(f);
}

static void missing_context_cluster_and_user_are_named(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: gone\n"
		 "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		 "users: [{name: u, user: {token: t}}]\n"
		 "contexts:\n"
		 "- {name: nocluster, context: {cluster: ghost-cluster, user: u}}\n"
		 "- {name: nouser, context: {cluster: c, user: ghost-user}}\n"
		 "- {name: unset, context: {user: u}}\n");
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_string_equal(f->err, "context was not found for specified context: gone");
	f->o.context = "x";
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_string_equal(f->err, "context \"x\" does not exist");
	f->o.context = "nocluster";
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_string_equal(f->err, "cluster \"ghost-cluster\" was not found for context \"nocluster\"");
	f->o.context = "nouser";
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_string_equal(f->err, "user \"ghost-user\" was not found for context \"nouser\"");
	f->o.context = "unset";
	assert_int_equal(fx_load_file(f, "kc"), -EINVAL);
	assert_string_equal(f->err, "cluster was not specified for context \"unset\"");
	fx_free(f);
}

static void no_current_context_is_error(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		 "contexts: [{name: a, context: {cluster: c}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), -ENOENT);
	assert_err_has(f, "--context");
	fx_free(f);
}

static void empty_kubeconfig_is_empty_config(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "empty", "");
	assert_int_equal(fx_load_file(f, "empty"), -ENOENT);
	assert_err_has(f, "no configuration has been provided");
	fx_write(f, "comments", "# nothing here\n---\n");
	assert_int_equal(fx_load_file(f, "comments"), -ENOENT);
	assert_err_has(f, "no configuration has been provided");
	/* and an empty config lets the in-cluster config in */
	fx_mkdir(f, "sa");
	fx_write(f, "sa/token", "sa-token\n");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "10.0.0.1";
	f->o.env_service_port = "443";
	assert_int_equal(fx_load_file(f, "empty"), 0);
	assert_true(f->c->in_cluster);
	fx_free(f);
}

/* ---- in-cluster ---- */

static void in_cluster_config_from_service_account(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "sa");
	fx_write(f, "sa/token", "sa-token\n");
	fx_write(f, "sa/ca.crt", "SA-CA\n");
	fx_write(f, "sa/namespace", "  pod-ns\n");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "10.96.0.1";
	f->o.env_service_port = "443";
	assert_int_equal(fx_load(f), 0);
	assert_true(f->c->in_cluster);
	assert_null(f->c->context_name);
	assert_string_equal(f->c->server, "https://10.96.0.1:443");
	assert_int_equal(f->c->ca_pem_len, 6);
	assert_memory_equal(f->c->ca_pem, "SA-CA\n", 6);
	assert_string_equal(f->c->token_file, fx_p(f, "sa/token"));
	assert_null(f->c->token);
	assert_string_equal(f->c->namespace, "pod-ns");
	/* -n still wins */
	f->o.namespace = "flagns";
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->namespace, "flagns");
	fx_free(f);
}

static void in_cluster_ipv6_host_gets_brackets(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "sa");
	fx_write(f, "sa/token", "sa-token\n");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "fd00::1";
	f->o.env_service_port = "6443";
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->server, "https://[fd00::1]:6443");
	assert_null(f->c->ca_pem); /* unreadable CA is only logged */
	assert_string_equal(f->c->namespace, "default");
	fx_free(f);
}

static void in_cluster_pod_namespace_env_wins(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "sa");
	fx_write(f, "sa/token", "sa-token\n");
	fx_write(f, "sa/namespace", "file-ns");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "10.0.0.1";
	f->o.env_service_port = "443";
	f->o.env_pod_namespace = "env-ns";
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->namespace, "env-ns");
	fx_free(f);
}

static void in_cluster_needs_host_port_and_token(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "sa");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "10.0.0.1";
	f->o.env_service_port = "443";
	assert_int_equal(fx_load(f), -ENOENT); /* no token file */
	fx_mkdir(f, "sa/token");
	assert_int_equal(fx_load(f), -ENOENT); /* a directory is no token */
	assert_int_equal(rmdir(fx_p(f, "sa/token")), 0);
	fx_write(f, "sa/token", "t\n");
	f->o.env_service_port = NULL;
	assert_int_equal(fx_load(f), -ENOENT); /* no port */
	assert_err_has(f, "no configuration has been provided");
	fx_free(f);
}

static void kubeconfig_beats_in_cluster_but_pod_namespace_fills_in(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_mkdir(f, "sa");
	fx_write(f, "sa/token", "t\n");
	f->o.sa_dir = fx_keep(f, "sa");
	f->o.env_service_host = "10.0.0.1";
	f->o.env_service_port = "443";
	f->o.env_pod_namespace = "pod-ns";
	fx_write(f, "kc",
		 "current-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://kc'}}]\n"
		 "contexts: [{name: a, context: {cluster: c}}, {name: b, context: {cluster: c, namespace: default}}]\n");
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_false(f->c->in_cluster);
	assert_string_equal(f->c->server, "https://kc");
	/* kubectl in a pod: a context without a namespace takes the pod's */
	assert_string_equal(f->c->namespace, "pod-ns");
	f->o.context = "b";
	assert_int_equal(fx_load_file(f, "kc"), 0);
	assert_string_equal(f->c->namespace, "default");
	fx_free(f);
}

static void process_env_is_read_only_when_asked(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	fx_write(f, "kc",
		 "current-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://envkc'}}]\n"
		 "contexts: [{name: a, context: {cluster: c}}]\n");
	assert_int_equal(setenv("KUBECONFIG", fx_p(f, "kc"), 1), 0);
	assert_int_equal(fx_load(f), -ENOENT); /* use_process_env is false */
	f->o.use_process_env = true;
	assert_int_equal(fx_load(f), 0);
	assert_string_equal(f->c->server, "https://envkc");
	unsetenv("KUBECONFIG");
	fx_free(f);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(cluster_fields_are_read_and_server_is_normalised),
	cmocka_unit_test(server_trailing_slashes_query_and_bare_host),
	cmocka_unit_test(server_with_bad_scheme_or_missing_is_error),
	cmocka_unit_test(ca_file_is_resolved_against_kubeconfig_dir),
	cmocka_unit_test(ca_file_missing_is_error_naming_it),
	cmocka_unit_test(insecure_skip_tls_verify_with_ca_is_error),
	cmocka_unit_test(proxy_url_with_bad_scheme_is_error_without_url),
	cmocka_unit_test(token_tokenfile_and_impersonation_are_read),
	cmocka_unit_test(token_file_alone_must_be_readable),
	cmocka_unit_test(groups_without_as_is_error),
	cmocka_unit_test(client_cert_and_key_from_files_and_data),
	cmocka_unit_test(client_cert_without_key_is_error),
	cmocka_unit_test(bad_base64_is_error_without_content),
	cmocka_unit_test(token_and_basic_auth_is_error_without_secrets),
	cmocka_unit_test(username_and_password_are_basic_auth),
	cmocka_unit_test(exec_fields_and_cluster_extension_are_read),
	cmocka_unit_test(exec_bare_command_is_not_resolved_and_defaults_apply),
	cmocka_unit_test(exec_validation_errors),
	cmocka_unit_test(auth_provider_oidc_id_token_and_removed_plugins),
	cmocka_unit_test(kubeconfig_list_merges_first_definition_wins_whole),
	cmocka_unit_test(kubeconfig_list_first_nonempty_current_context_wins),
	cmocka_unit_test(kubeconfig_list_unparsable_file_is_error),
	cmocka_unit_test(duplicate_name_in_one_file_is_error),
	cmocka_unit_test(explicit_kubeconfig_must_exist),
	cmocka_unit_test(explicit_kubeconfig_beats_env_and_home),
	cmocka_unit_test(home_kube_config_is_used_without_env),
	cmocka_unit_test(json_kubeconfig_is_accepted),
	cmocka_unit_test(context_flag_selects_another_context),
	cmocka_unit_test(namespace_flag_overrides_and_default_is_default),
	cmocka_unit_test(invalid_namespace_is_error),
	cmocka_unit_test(missing_context_cluster_and_user_are_named),
	cmocka_unit_test(no_current_context_is_error),
	cmocka_unit_test(empty_kubeconfig_is_empty_config),
	cmocka_unit_test(in_cluster_config_from_service_account),
	cmocka_unit_test(in_cluster_ipv6_host_gets_brackets),
	cmocka_unit_test(in_cluster_pod_namespace_env_wins),
	cmocka_unit_test(in_cluster_needs_host_port_and_token),
	cmocka_unit_test(kubeconfig_beats_in_cluster_but_pod_namespace_fills_in),
	cmocka_unit_test(process_env_is_read_only_when_asked),
};

UNIT_MAIN(tests)
