/* test_auth.c: credentials as client-go supplies them: ExecCredential
 * parsing, KUBERNETES_EXEC_INFO, a real exec plugin (a shell script the test
 * writes, which counts its runs) on a fake clock, and tokenFile re-reads. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "auth.h"
#include "kubeconfig.h"

#define V1 "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"
#define HINT "install the plugin with: apt install podfs-test-plugin"

/* 2030-01-01T00:00:00Z */
#define T2030 ((time_t)1893456000)

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

/* ---- ExecCredential parsing ---- */

static int parse(const char *json, const char *ver, struct kauth_creds *c, time_t *exp,
		 char *err)
{
	return kauth_parse_exec_credential(json, strlen(json), ver, c, exp, err, 256);
}

static void exec_credential_v1_token(void **state)
{
	struct kauth_creds c;
	time_t exp = 42;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\","
			       "\"status\":{\"token\":\"tok-1\"}}",
			       V1, &c, &exp, err),
			 0);
	assert_string_equal(c.bearer, "tok-1");
	assert_null(c.cert_pem);
	assert_null(c.key_pem);
	assert_int_equal(exp, 0); /* no expirationTimestamp: never */
	kauth_creds_free(&c);
	assert_null(c.bearer);
}

static void exec_credential_v1beta1_cert_and_key(void **state)
{
	struct kauth_creds c;
	time_t exp;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"apiVersion\":\"" V1BETA1 "\",\"kind\":\"ExecCredential\","
			       "\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nC\\n\","
			       "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nK\\n\","
			       "\"expirationTimestamp\":\"2030-01-01T00:00:00Z\"}}",
			       V1BETA1, &c, &exp, err),
			 0);
	assert_null(c.bearer);
	assert_string_equal(c.cert_pem, "-----BEGIN CERTIFICATE-----\nC\n");
	assert_int_equal(c.cert_pem_len, strlen(c.cert_pem));
	assert_string_equal(c.key_pem, "-----BEGIN PRIVATE KEY-----\nK\n");
	assert_int_equal(c.key_pem_len, strlen(c.key_pem));
	assert_true(exp == T2030);
	kauth_creds_free(&c);
}

static void exec_credential_errors(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"C\"}}",
		  "exec plugin returned only certificate or key, not both" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"K\"}}",
		  "exec plugin returned only certificate or key, not both" },
		{ "{\"apiVersion\":\"" V1BETA1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\"}}",
		  "exec plugin is configured to use API version " V1 ", plugin returned version " V1BETA1 },
		{ "{\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\"}}",
		  "plugin returned version (none)" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\"}",
		  "exec plugin didn't return a status field" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":null}",
		  "exec plugin didn't return a status field" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{}}",
		  "exec plugin didn't return a token or cert/key pair" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"Pod\",\"status\":{\"token\":\"SECRET\"}}",
		  "want \"ExecCredential\"" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":7}}",
		  "not a string" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\\r\\nX: y\"}}",
		  "control characters" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\","
		  "\"expirationTimestamp\":\"tomorrow\"}}",
		  "invalid expirationTimestamp" },
		{ "SECRET not json", "not a JSON object" },
		{ "[\"SECRET\"]", "not a JSON object" },
		{ "", "not a JSON object" },
	};
	struct kauth_creds c;
	time_t exp;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].json, V1, &c, &exp, err), -EPROTO);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
		if (strstr(err, "SECRET"))
			fail_msg("case %zu: \"%s\" shows the credential", i, err);
		assert_null(c.bearer);
		assert_null(c.cert_pem);
	}
}

static time_t expiry_of(const char *ts)
{
	char json[512], err[256];
	struct kauth_creds c;
	time_t exp = 0;
	int rc;

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\","
		 "\"expirationTimestamp\":\"%s\"}}",
		 ts);
	rc = parse(json, V1, &c, &exp, err);
	kauth_creds_free(&c);
	return rc ? (time_t)-1 : exp;
}

static void exec_credential_expiry_formats(void **state)
{
	(void)state;
	assert_true(expiry_of("2030-01-01T00:00:00Z") == T2030);
	assert_true(expiry_of("2030-01-01T00:00:00.123456789Z") == T2030);
	assert_true(expiry_of("2030-01-01T02:00:00+02:00") == T2030);
	assert_true(expiry_of("2029-12-31T18:30:00.5-05:30") == T2030);
	assert_true(expiry_of("2099-01-01T00:00:00Z") == (time_t)4070908800);
	assert_true(expiry_of("2028-02-29T00:00:00Z") == (time_t)1835395200); /* leap day */
	assert_true(expiry_of("1970-01-01T00:00:01Z") == 1);
	assert_true(expiry_of("1969-01-01T00:00:00Z") == 1); /* long past, not "never" */
	assert_true(expiry_of("2030-01-01 00:00:00Z") == (time_t)-1);
	assert_true(expiry_of("2030-01-01T00:00:00") == (time_t)-1);
	assert_true(expiry_of("2030-02-30T00:00:00Z") == (time_t)-1);
	assert_true(expiry_of("2029-02-29T00:00:00Z") == (time_t)-1);
	assert_true(expiry_of("2030-01-01T24:00:00Z") == (time_t)-1);
	assert_true(expiry_of("2030-01-01T00:00:00.Z") == (time_t)-1);
	assert_true(expiry_of("2030-01-01T00:00:00+0200") == (time_t)-1);
	assert_true(expiry_of("2030-01-01T00:00:00Zjunk") == (time_t)-1);
	assert_true(expiry_of("+2030-01-01T00:00:00Z") == (time_t)-1);
}

/* ---- KUBERNETES_EXEC_INFO ---- */

static struct kcfg *exec_cfg(const char *command, const char *mode)
{
	struct kcfg *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->server = xstrdup("https://127.0.0.1:18443/prefix");
	c->namespace = xstrdup("default");
	c->user_name = xstrdup("u");
	c->exec = calloc(1, sizeof(*c->exec));
	assert_non_null(c->exec);
	c->exec->api_version = xstrdup(V1);
	c->exec->command = xstrdup(command);
	c->exec->args = calloc(3, sizeof(char *));
	assert_non_null(c->exec->args);
	c->exec->args[0] = xstrdup("--flag");
	c->exec->args[1] = xstrdup("two words");
	c->exec->interactive_mode = xstrdup("Never");
	c->exec->install_hint = xstrdup(HINT);
	c->exec->env = calloc(3, sizeof(*c->exec->env));
	assert_non_null(c->exec->env);
	c->exec->env[0].name = xstrdup("PLUGIN_MODE");
	c->exec->env[0].value = xstrdup(mode);
	c->exec->env[1].name = xstrdup("PLUGIN_EXP");
	c->exec->env[1].value = xstrdup("");
	c->exec->env[2].name = xstrdup("KUBERNETES_EXEC_INFO"); /* ours wins */
	c->exec->env[2].value = xstrdup("from-kubeconfig");
	c->exec->nenv = 3;
	return c;
}

static void exec_info_without_cluster_info(void **state)
{
	struct kcfg *c = exec_cfg("p", "ok");
	char *s;

	(void)state;
	s = kauth_exec_info_json(c, 0);
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
			       "\"spec\":{\"interactive\":false}}");
	free(s);
	s = kauth_exec_info_json(c, 1);
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
			       "\"spec\":{\"interactive\":true}}");
	free(s);
	kcfg_free(c);
}

static void exec_info_with_cluster_info(void **state)
{
	struct kcfg *c = exec_cfg("p", "ok");
	char *s;

	(void)state;
	c->exec->provide_cluster_info = true;
	c->ca_pem = xstrdup("CA-PEM\n");
	c->ca_pem_len = 7;
	c->tls_server_name = xstrdup("fake-apiserver");
	c->exec->cluster_config_json = xstrdup("{\"audience\":\"demo\",\"n\":3}");
	s = kauth_exec_info_json(c, 0);
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"spec\":{"
			       "\"cluster\":{\"server\":\"https://127.0.0.1:18443/prefix\","
			       "\"tls-server-name\":\"fake-apiserver\","
			       "\"certificate-authority-data\":\"Q0EtUEVNCg==\","
			       "\"config\":{\"audience\":\"demo\",\"n\":3}},"
			       "\"interactive\":false}}");
	free(s);
	/* the other optional fields */
	free(c->ca_pem);
	c->ca_pem = NULL;
	c->ca_pem_len = 0;
	free(c->tls_server_name);
	c->tls_server_name = NULL;
	free(c->exec->cluster_config_json);
	c->exec->cluster_config_json = NULL;
	c->insecure_skip_tls_verify = true;
	c->proxy_url = xstrdup("http://proxy:3128");
	s = kauth_exec_info_json(c, 0);
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"spec\":{"
			       "\"cluster\":{\"server\":\"https://127.0.0.1:18443/prefix\","
			       "\"insecure-skip-tls-verify\":true,"
			       "\"proxy-url\":\"http://proxy:3128\"},"
			       "\"interactive\":false}}");
	free(s);
	kcfg_free(c);
}

/* ---- a real plugin ---- */

struct fx {
	char dir[256];
	char plugin[512];
	struct kcfg *cfg;
	struct kauth *a;
	char err[1024];
};

static const char plugin_sh[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"n=$(cat \"$d/count\" 2>/dev/null || echo 0)\n"
	"n=$((n + 1))\n"
	"echo $n > \"$d/count\"\n"
	"printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
	"printf '[%s]' \"$0\" \"$@\" > \"$d/args\"\n"
	"readlink /proc/self/fd/0 > \"$d/stdin\"\n"
	"if [ -e \"$d/mode\" ]; then PLUGIN_MODE=$(cat \"$d/mode\"); fi\n"
	"if [ -n \"$PLUGIN_EXP\" ]; then e=\",\\\"expirationTimestamp\\\":\\\"$PLUGIN_EXP\\\"\"; else e=; fi\n"
	"case \"$PLUGIN_MODE\" in\n"
	"fail) echo 'plugin: cannot log you in' >&2; exit 3 ;;\n"
	"garbage) echo 'SECRET-GARBAGE is not json' ;;\n"
	"hang) exec sleep 30 ;;\n"
	"big) head -c 2000000 /dev/zero ;;\n"
	"cert) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
	"{\"clientCertificateData\":\"CERT-%s\",\"clientKeyData\":\"KEY-%s\"}}' "
	"client.authentication.k8s.io/v1 $n $n ;;\n"
	"*) printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
	"\"status\":{\"token\":\"tok-%s\"%s}}' $n \"$e\" ;;\n"
	"esac\n";

static void fx_write(struct fx *f, const char *name, const char *content)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(content, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static int fx_count(struct fx *f)
{
	char path[600], buf[32] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/count", f->dir);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	return (int)strtol(buf, NULL, 10);
}

static char *fx_read(struct fx *f, const char *name)
{
	char path[600];
	static char buf[8192];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* A fixture whose user runs the plugin with PLUGIN_MODE=MODE, expiring at EXP. */
static struct fx *fx_new(const char *mode, const char *exp)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/podfs-auth-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->plugin, sizeof(f->plugin), "%s/plugin.sh", f->dir);
	fx_write(f, "plugin.sh", plugin_sh);
	assert_int_equal(chmod(f->plugin, 0755), 0);
	f->cfg = exec_cfg(f->plugin, mode);
	free(f->cfg->exec->env[1].value);
	f->cfg->exec->env[1].value = xstrdup(exp ? exp : "");
	fake_now = T2030;
	assert_int_equal(kauth_new(&f->a, f->cfg), 0);
	kauth_set_clock(f->a, fake_clock);
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
	kauth_free(f->a);
	kcfg_free(f->cfg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
}

/* kauth_get; returns the bearer token (a static copy) or NULL. */
static const char *fx_get(struct fx *f, unsigned long *gen, int want_rc)
{
	static char tok[256];
	struct kauth_creds c;
	int rc = kauth_get(f->a, &c, f->err, sizeof(f->err));

	if (rc != want_rc)
		fail_msg("kauth_get: %d (%s), want %d", rc, f->err, want_rc);
	if (rc)
		return NULL;
	assert_non_null(c.bearer);
	snprintf(tok, sizeof(tok), "%s", c.bearer);
	if (gen)
		*gen = c.generation;
	kauth_creds_free(&c);
	return tok;
}

static void plugin_gets_args_env_exec_info_and_null_stdin(void **state)
{
	struct fx *f = fx_new("ok", NULL);
	char want[1024];

	(void)state;
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	snprintf(want, sizeof(want), "[%s][--flag][two words]", f->plugin);
	assert_string_equal(fx_read(f, "args"), want);
	assert_string_equal(fx_read(f, "info"), "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1
						 "\",\"spec\":{\"interactive\":false}}");
	assert_string_equal(fx_read(f, "stdin"), "/dev/null\n"); /* interactiveMode Never */
	fx_free(f);
}

static void plugin_looked_up_in_path(void **state)
{
	struct fx *f = fx_new("ok", NULL);
	const char *old = getenv("PATH");
	char *saved = old ? xstrdup(old) : NULL;
	char path[1024];
	unsigned long gen;

	(void)state;
	free(f->cfg->exec->command);
	f->cfg->exec->command = xstrdup("plugin.sh");
	snprintf(path, sizeof(path), "relative/dir:/nonexistent:%s:/usr/bin:/bin", f->dir);
	setenv("PATH", path, 1);
	assert_string_equal(fx_get(f, &gen, 0), "tok-1");
	/* not found anywhere: the error names it and gives the hint */
	free(f->cfg->exec->command);
	f->cfg->exec->command = xstrdup("no-such-plugin-podfs");
	kauth_invalidate(f->a, gen);
	assert_null(fx_get(f, NULL, -ENOENT));
	assert_non_null(strstr(f->err, "exec: executable no-such-plugin-podfs not found"));
	assert_non_null(strstr(f->err, HINT));
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	fx_free(f);
}

static void plugin_credential_cached_until_expiry(void **state)
{
	struct fx *f = fx_new("ok", "2030-01-01T01:00:00Z"); /* now + 1 h */
	unsigned long g1, g2;

	(void)state;
	assert_string_equal(fx_get(f, &g1, 0), "tok-1");
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	fake_now = T2030 + 3600 - 11;
	assert_string_equal(fx_get(f, &g2, 0), "tok-1");
	assert_int_equal(fx_count(f), 1);
	assert_true(g1 == g2);
	/* within 10 s of the expiry it is refreshed */
	fake_now = T2030 + 3600 - 10;
	assert_string_equal(fx_get(f, &g2, 0), "tok-2");
	assert_true(g2 != g1);
	assert_int_equal(fx_count(f), 2);
	/* still the same expiry printed, so past it: another run */
	fake_now = T2030 + 7200;
	assert_string_equal(fx_get(f, NULL, 0), "tok-3");
	assert_int_equal(fx_count(f), 3);
	fx_free(f);
}

static void plugin_credential_without_expiry_kept_forever(void **state)
{
	struct fx *f = fx_new("ok", NULL);

	(void)state;
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	fake_now = T2030 + 10 * 365 * 86400;
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	assert_int_equal(fx_count(f), 1);
	fx_free(f);
}

static void plugin_rerun_after_invalidate_of_current_generation_only(void **state)
{
	struct fx *f = fx_new("ok", NULL);
	unsigned long g1, g2, g3;

	(void)state;
	assert_string_equal(fx_get(f, &g1, 0), "tok-1");
	kauth_invalidate(f->a, g1 - 1); /* an older credential: ignored */
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	assert_int_equal(fx_count(f), 1);
	kauth_invalidate(f->a, g1); /* 401 to the current one */
	assert_string_equal(fx_get(f, &g2, 0), "tok-2");
	assert_true(g2 != g1);
	assert_int_equal(fx_count(f), 2);
	/* a late 401 to the first credential does not run it again */
	kauth_invalidate(f->a, g1);
	assert_string_equal(fx_get(f, &g3, 0), "tok-2");
	assert_true(g3 == g2);
	assert_int_equal(fx_count(f), 2);
	fx_free(f);
}

static void plugin_cert_and_key_are_returned(void **state)
{
	struct fx *f = fx_new("cert", NULL);
	struct kauth_creds c;

	(void)state;
	assert_int_equal(kauth_get(f->a, &c, f->err, sizeof(f->err)), 0);
	assert_null(c.bearer);
	assert_string_equal(c.cert_pem, "CERT-1");
	assert_int_equal(c.cert_pem_len, 6);
	assert_string_equal(c.key_pem, "KEY-1");
	assert_int_equal(c.key_pem_len, 5);
	kauth_creds_free(&c);
	fx_free(f);
}

static void plugin_failure_reports_exit_code_and_install_hint(void **state)
{
	struct fx *f = fx_new("fail", NULL);
	char want[700];

	(void)state;
	assert_null(fx_get(f, NULL, -EACCES));
	snprintf(want, sizeof(want), "exec: executable %s failed with exit code 3", f->plugin);
	assert_non_null(strstr(f->err, want));
	assert_non_null(strstr(f->err, HINT));
	assert_int_equal(fx_count(f), 1);
	/* a failure is not cached: the next request tries again */
	assert_null(fx_get(f, NULL, -EACCES));
	assert_int_equal(fx_count(f), 2);
	fx_free(f);
}

static void plugin_garbage_output_is_error_without_content(void **state)
{
	struct fx *f = fx_new("garbage", NULL);

	(void)state;
	assert_null(fx_get(f, NULL, -EPROTO));
	assert_non_null(strstr(f->err, "not a JSON object"));
	assert_null(strstr(f->err, "SECRET"));
	fx_free(f);
}

static void plugin_output_over_ceiling_is_error(void **state)
{
	struct fx *f = fx_new("big", NULL);

	(void)state;
	assert_null(fx_get(f, NULL, -E2BIG));
	assert_non_null(strstr(f->err, "wrote more than"));
	fx_free(f);
}

static void plugin_that_hangs_is_killed_after_timeout(void **state)
{
	struct fx *f = fx_new("hang", NULL);
	struct timespec t0, t1;
	double secs;

	(void)state;
	kauth_set_exec_timeout_ms(f->a, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_null(fx_get(f, NULL, -ETIMEDOUT));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 5.0);
	assert_non_null(strstr(f->err, "did not finish within 300 ms"));
	fx_free(f);
}

static void failed_early_refresh_keeps_current_credential(void **state)
{
	struct fx *f = fx_new("ok", "2030-01-01T01:00:00Z");

	(void)state;
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	fx_write(f, "mode", "fail");
	fake_now = T2030 + 3600 - 5; /* refresh window, not yet expired */
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	assert_int_equal(fx_count(f), 2);
	fake_now = T2030 + 3600; /* expired: now it is an error */
	assert_null(fx_get(f, NULL, -EACCES));
	fx_free(f);
}

static void plugin_always_mode_needs_a_terminal(void **state)
{
	struct fx *f = fx_new("ok", NULL);

	(void)state;
	if (isatty(0)) {
		fx_free(f);
		skip();
	}
	free(f->cfg->exec->interactive_mode);
	f->cfg->exec->interactive_mode = xstrdup("Always");
	assert_null(fx_get(f, NULL, -ENOTTY));
	assert_non_null(strstr(f->err, "standard input is not a terminal"));
	assert_int_equal(fx_count(f), 0);
	/* IfAvailable without a terminal: runs, not interactive */
	free(f->cfg->exec->interactive_mode);
	f->cfg->exec->interactive_mode = xstrdup("IfAvailable");
	assert_string_equal(fx_get(f, NULL, 0), "tok-1");
	assert_non_null(strstr(fx_read(f, "info"), "\"interactive\":false"));
	assert_string_equal(fx_read(f, "stdin"), "/dev/null\n");
	fx_free(f);
}

static void plugin_not_run_when_user_has_own_credentials(void **state)
{
	struct fx *f = fx_new("ok", NULL);

	(void)state;
	kauth_free(f->a);
	f->cfg->token = xstrdup("static");
	assert_int_equal(kauth_new(&f->a, f->cfg), 0);
	assert_string_equal(fx_get(f, NULL, 0), "static");
	assert_int_equal(fx_count(f), 0);
	fx_free(f);
}

/* ---- static credentials and tokenFile ---- */

static void static_token_basic_and_cert(void **state)
{
	struct kcfg c = { 0 };
	struct kauth *a;
	struct kauth_creds cr;
	char err[256];

	(void)state;
	c.token = "tok";
	c.username = "bob";
	c.client_cert_pem = "CERT";
	c.client_cert_pem_len = 4;
	c.client_key_pem = "KEY";
	c.client_key_pem_len = 3;
	assert_int_equal(kauth_new(&a, &c), 0);
	assert_int_equal(kauth_get(a, &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.bearer, "tok");
	assert_string_equal(cr.basic_user, "bob");
	assert_string_equal(cr.basic_pass, ""); /* password unset */
	assert_memory_equal(cr.cert_pem, "CERT", 4);
	assert_int_equal(cr.cert_pem_len, 4);
	assert_memory_equal(cr.key_pem, "KEY", 3);
	assert_int_equal(cr.generation, 1);
	kauth_creds_free(&cr);
	kauth_invalidate(a, 1); /* nothing to refresh */
	assert_int_equal(kauth_get(a, &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.bearer, "tok");
	kauth_creds_free(&cr);
	kauth_free(a);
	kauth_free(NULL);
	kauth_creds_free(NULL);
}

static void write_token(struct fx *f, const char *content)
{
	char tmp[600], path[600];

	/* replace atomically, as the kubelet does */
	fx_write(f, "tok.tmp", content);
	snprintf(tmp, sizeof(tmp), "%s/tok.tmp", f->dir);
	snprintf(path, sizeof(path), "%s/tok", f->dir);
	assert_int_equal(rename(tmp, path), 0);
}

static void token_file_reread_when_changed_and_kept_when_unreadable(void **state)
{
	struct fx *f = fx_new("ok", NULL);
	char path[600];
	unsigned long g1, g2;

	(void)state;
	kauth_free(f->a);
	snprintf(path, sizeof(path), "%s/tok", f->dir);
	f->cfg->token_file = xstrdup(path);
	write_token(f, "  first-token \n");
	assert_int_equal(kauth_new(&f->a, f->cfg), 0);
	kauth_set_clock(f->a, fake_clock);
	assert_string_equal(fx_get(f, &g1, 0), "first-token");
	/* the file changed: read again at once */
	write_token(f, "second-token\n");
	assert_string_equal(fx_get(f, &g2, 0), "second-token");
	assert_true(g2 != g1);
	/* gone: the last good token stays */
	assert_int_equal(unlink(path), 0);
	assert_string_equal(fx_get(f, NULL, 0), "second-token");
	fake_now += 61;
	assert_string_equal(fx_get(f, NULL, 0), "second-token");
	/* empty is no token either */
	write_token(f, "\n");
	fake_now += 61;
	assert_string_equal(fx_get(f, NULL, 0), "second-token");
	/* back: picked up after the period */
	write_token(f, "third-token");
	fake_now += 61;
	assert_string_equal(fx_get(f, NULL, 0), "third-token");
	assert_int_equal(fx_count(f), 0); /* the exec plugin is not used with a tokenFile */
	fx_free(f);
}

static void token_file_reread_after_period_and_invalidate(void **state)
{
	struct fx *f = fx_new("ok", NULL);
	char path[600];
	unsigned long g;
	struct stat st;
	struct timespec times[2];

	(void)state;
	kauth_free(f->a);
	snprintf(path, sizeof(path), "%s/tok", f->dir);
	f->cfg->token_file = xstrdup(path);
	fx_write(f, "tok", "aaaa\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(kauth_new(&f->a, f->cfg), 0);
	kauth_set_clock(f->a, fake_clock);
	assert_string_equal(fx_get(f, &g, 0), "aaaa");
	/* same size, same mtime, same inode: looks unchanged until the period ends */
	fx_write(f, "tok", "bbbb\n");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_string_equal(fx_get(f, NULL, 0), "aaaa");
	kauth_invalidate(f->a, g); /* a 401: read it now */
	assert_string_equal(fx_get(f, NULL, 0), "bbbb");
	fx_write(f, "tok", "cccc\n");
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	fake_now += 59;
	assert_string_equal(fx_get(f, NULL, 0), "bbbb");
	fake_now += 1;
	assert_string_equal(fx_get(f, NULL, 0), "cccc");
	assert_int_equal(fx_count(f), 0); /* a tokenFile user does not run the plugin */
	fx_free(f);
}

static void token_file_unreadable_without_fallback_is_error(void **state)
{
	struct kcfg c = { 0 };
	struct kauth *a;
	struct kauth_creds cr;
	char err[256];

	(void)state;
	c.token_file = "/nonexistent/podfs/token";
	assert_int_equal(kauth_new(&a, &c), 0);
	assert_int_equal(kauth_get(a, &cr, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unable to read tokenFile /nonexistent/podfs/token"));
	assert_null(cr.bearer);
	/* with a static token to fall back on it is fine */
	c.token = "static";
	kauth_free(a);
	assert_int_equal(kauth_new(&a, &c), 0);
	assert_int_equal(kauth_get(a, &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.bearer, "static");
	kauth_creds_free(&cr);
	kauth_free(a);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(exec_credential_v1_token),
	cmocka_unit_test(exec_credential_v1beta1_cert_and_key),
	cmocka_unit_test(exec_credential_errors),
	cmocka_unit_test(exec_credential_expiry_formats),
	cmocka_unit_test(exec_info_without_cluster_info),
	cmocka_unit_test(exec_info_with_cluster_info),
	cmocka_unit_test(plugin_gets_args_env_exec_info_and_null_stdin),
	cmocka_unit_test(plugin_looked_up_in_path),
	cmocka_unit_test(plugin_credential_cached_until_expiry),
	cmocka_unit_test(plugin_credential_without_expiry_kept_forever),
	cmocka_unit_test(plugin_rerun_after_invalidate_of_current_generation_only),
	cmocka_unit_test(plugin_cert_and_key_are_returned),
	cmocka_unit_test(plugin_failure_reports_exit_code_and_install_hint),
	cmocka_unit_test(plugin_garbage_output_is_error_without_content),
	cmocka_unit_test(plugin_output_over_ceiling_is_error),
	cmocka_unit_test(plugin_that_hangs_is_killed_after_timeout),
	cmocka_unit_test(failed_early_refresh_keeps_current_credential),
	cmocka_unit_test(plugin_always_mode_needs_a_terminal),
	cmocka_unit_test(plugin_not_run_when_user_has_own_credentials),
	cmocka_unit_test(static_token_basic_and_cert),
	cmocka_unit_test(token_file_reread_when_changed_and_kept_when_unreadable),
	cmocka_unit_test(token_file_reread_after_period_and_invalidate),
	cmocka_unit_test(token_file_unreadable_without_fallback_is_error),
};

UNIT_MAIN(tests)
