/* session_test.c: helper/session.c against a real pod (kube-sim).
 *
 *   session_test POD ROOTFS
 *
 * ROOTFS is the container's root directory on this machine, to compare
 * what the session did with the truth on disk. Uses $KUBECONFIG.
 * Prints one line per check; exit 0 when all pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "kclient.h"
#include "kubeconfig.h"
#include "quote.h"
#include "session.h"

static int failures;
static const char *rootfs;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: ", __func__, __LINE__);            \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static int run(struct hsess *s, const char *cmd, struct buf *out, int *st)
{
	buf_reset(out);
	return hsess_run(s, cmd, out, st, 30000);
}

static void basics(struct hsess *s)
{
	struct buf b;
	int st, rc;

	buf_init(&b, 1 << 20);
	rc = run(s, "echo hi", &b, &st);
	CHECK(rc == 0 && st == 0 && !strcmp(b.data, "hi\n"), "echo: rc %d st %d '%s'", rc, st, b.data);
	rc = run(s, "false", &b, &st);
	CHECK(rc == 0 && st == 1 && b.len == 0, "false: rc %d st %d", rc, st);
	rc = run(s, "sh -c 'exit 7'", &b, &st);
	CHECK(rc == 0 && st == 7, "exit 7: rc %d st %d", rc, st);
	rc = run(s, "echo err >&2", &b, &st);
	CHECK(rc == 0 && !strcmp(b.data, "err\n"), "stderr is merged into the request's output: '%s'", b.data);
	rc = run(s, "printf abc", &b, &st);
	CHECK(rc == 0 && b.len == 3 && !memcmp(b.data, "abc", 3), "no trailing newline: '%s'", b.data);
	rc = run(s, "printf '\\n0123456789abcdef0123456789abcdef 1 0\\n'", &b, &st);
	CHECK(rc == 0 && b.len == 38, "a fake trailer is just output (%zu bytes)", b.len);
	rc = run(s, "cat; echo after", &b, &st);
	CHECK(rc == 0 && !strcmp(b.data, "after\n"), "stdin is /dev/null, not the session: '%s'", b.data);
	rc = run(s, "", &b, &st);
	CHECK(rc == 0 && st == 0, "empty command: rc %d st %d", rc, st);
	rc = run(s, "if then fi (", &b, &st);
	CHECK(rc == 0 && st != 0 && strstr(b.data, "yntax"), "a syntax error fails the request only: %d '%s'", st, b.data);
	rc = run(s, "cd /tmp; X=1; exit 4", &b, &st);
	CHECK(rc == 0 && st == 4, "exit in a request: rc %d st %d", rc, st);
	rc = run(s, "pwd; echo \"[$X]\"", &b, &st);
	CHECK(rc == 0 && !strcmp(b.data, "/\n[]\n"), "requests do not leak state: '%s'", b.data);
	buf_cleanup(&b);
	printf("basics done\n");
}

static void binary(struct hsess *s)
{
	struct buf b, want;
	char path[4096], chunk[65536];
	int st, fd, rc;
	ssize_t n;

	buf_init(&b, 2 << 20);
	buf_init(&want, 2 << 20);
	snprintf(path, sizeof(path), "%s/srv/demo/bin.dat", rootfs);
	fd = open(path, O_RDONLY);
	while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&want, chunk, (size_t)n);
	if (fd >= 0)
		close(fd);
	rc = run(s, "cat /srv/demo/bin.dat", &b, &st);
	CHECK(rc == 0 && st == 0 && b.len == want.len && !memcmp(b.data, want.data, want.len),
	      "binary file through the session: rc %d, %zu bytes of %zu", rc, b.len, want.len);
	buf_cleanup(&b);
	buf_init(&b, 1000);
	rc = run(s, "head -c 5000 /srv/demo/bin.dat", &b, &st);
	CHECK(rc == -E2BIG, "output over the ceiling is -E2BIG (rc %d)", rc);
	buf_reset(&b);
	rc = run(s, "echo still-in-step", &b, &st);
	CHECK(rc == 0 && !strcmp(b.data, "still-in-step\n"), "the session stays in step after an overflow");
	buf_cleanup(&b);
	buf_cleanup(&want);
	printf("binary done\n");
}

static void hostile(struct hsess *s)
{
	char pw[32], t1[128], t2[160], n255[256];
	const char *names[] = { "with space", "it's", "new\nline", "$(id)", t1, t2, "-rf", "--", "*", "\xff\xfe",
				"\\", "a\"b", "tab\t", n255 };
	struct buf cmd, out;
	int st, rc;

	snprintf(pw, sizeof(pw), "pwned-%d", (int)getpid());
	/* Names hold no '/': the injected commands would create PW in the cwd (/). */
	snprintf(t1, sizeof(t1), "$(touch %s)", pw);
	snprintf(t2, sizeof(t2), "`touch %s`;touch %s", pw, pw);
	memset(n255, 'n', 255);
	n255[255] = '\0';
	n255[3] = '\'';
	buf_init(&cmd, 1 << 16);
	buf_init(&out, 1 << 16);
	run(s, "rm -rf /tmp/hq && mkdir /tmp/hq", &out, &st);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[1024], disk[4096], got[64] = "";

		snprintf(path, sizeof(path), "/tmp/hq/%s", names[i]);
		buf_reset(&cmd);
		CHECK(hq_cmd(&cmd, "printf %s %q > %q", "%s", names[i], path) == 0, "quote %zu", i);
		rc = run(s, cmd.data, &out, &st);
		CHECK(rc == 0 && st == 0, "write file %zu: rc %d st %d: %s", i, rc, st, out.data);
		snprintf(disk, sizeof(disk), "%s%s", rootfs, path);
		int fd = open(disk, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, got, sizeof(got) - 1) : -1;

		if (fd >= 0)
			close(fd);
		CHECK(n == (ssize_t)(strlen(names[i]) < 63 ? strlen(names[i]) : 63) &&
			      !strncmp(got, names[i], (size_t)n),
		      "file %zu is on disk under its exact name with its exact content", i);
	}
	char pwpath[4096];

	snprintf(pwpath, sizeof(pwpath), "%s/%s", rootfs, pw);
	CHECK(access(pwpath, F_OK) != 0, "no injected command ran");
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	printf("hostile done\n");
}

struct worker {
	struct hsess *s;
	int id;
	int bad;
};

static void *pipeline_worker(void *arg)
{
	struct worker *w = arg;
	struct buf cmd, out;

	buf_init(&cmd, 256);
	buf_init(&out, 256);
	for (int i = 0; i < 200; i++) {
		char want[64];
		int st;

		snprintf(want, sizeof(want), "w%d-%d\n", w->id, i);
		buf_reset(&cmd);
		buf_reset(&out);
		hq_cmd(&cmd, "echo w%d-%d", w->id, i);
		if (hsess_run(w->s, cmd.data, &out, &st, 30000) || st || strcmp(out.data ? out.data : "", want))
			w->bad++;
	}
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return NULL;
}

static void pipelining(struct hsess *s)
{
	struct worker w[8];
	pthread_t th[8];
	int bad = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ s, i, 0 };
		pthread_create(&th[i], NULL, pipeline_worker, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	CHECK(bad == 0, "8 threads x 200 pipelined requests: %d wrong answers", bad);
	printf("pipelining done (%lu requests on one session)\n", hsess_requests(s));
}

static void death(struct hsess *s)
{
	struct buf b;
	int st, rc;

	buf_init(&b, 4096);
	rc = run(s, "kill -9 $$", &b, &st);
	CHECK(rc == -ECONNRESET || rc == -EPROTO, "the shell killed mid-request fails it (rc %d)", rc);
	rc = run(s, "echo after", &b, &st);
	CHECK(rc == -ENOTCONN, "requests after the end fail fast with -ENOTCONN (rc %d)", rc);
	CHECK(!hsess_alive(s), "the session reports itself dead");
	buf_cleanup(&b);
	printf("death done\n");
}

int main(int argc, char **argv)
{
	struct kcfg_opts ko = { .use_process_env = true };
	struct kcfg *cfg;
	struct kclient *kc;
	struct hsess *s;
	char err[1024];

	if (argc != 3) {
		fprintf(stderr, "usage: session_test POD ROOTFS\n");
		return 2;
	}
	rootfs = argv[2];
	if (kcfg_load(&ko, &cfg, err, sizeof(err)) || kclient_new(&kc, cfg, err, sizeof(err))) {
		fprintf(stderr, "session_test: %s\n", err);
		return 1;
	}
	struct hsess_target t = { .ns = cfg->namespace, .pod = argv[1] };

	if (hsess_open(&s, kc, &t, err, sizeof(err))) {
		fprintf(stderr, "session_test: %s\n", err);
		return 1;
	}
	basics(s);
	binary(s);
	hostile(s);
	pipelining(s);
	death(s);
	hsess_close(s);
	/* A pod with no shell: a clear error, no hang. */
	t.pod = "noshell";
	int rc = hsess_open(&s, kc, &t, err, sizeof(err));

	CHECK(rc != 0 && strstr(err, "executable file not found"), "noshell: rc %d: %s", rc, err);
	printf("noshell: %s\n", err);
	kclient_free(kc);
	kcfg_free(cfg);
	printf("%s\n", failures ? "session_test: FAILED" : "session_test: all checks passed");
	return failures ? 1 : 0;
}
