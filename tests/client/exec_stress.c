/* exec_stress.c: many concurrent exec sessions on ONE kclient (one lws
 * context, one service thread). Each session runs `cat` in POD and
 * round-trips its own random bytes; every byte is checked.
 *
 *   exec_stress [--sessions N] [--bytes B] [--context C] POD
 *
 * Uses $KUBECONFIG like kubectl. Exit 0 when every session returned its
 * exact bytes with exit code 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "kclient.h"
#include "kubeconfig.h"
#include "strparse.h"

struct job {
	struct kclient *kc;
	const char *ns, *pod;
	size_t bytes;
	unsigned char *data;
	int ok;
	char why[1200];
};


static void *run(void *arg)
{
	struct job *j = arg;
	char *argv[] = { "cat", NULL };
	struct kexec_opts o = { .ns = j->ns, .pod = j->pod, .argv = argv, .in = true, .out = true, .err = true };
	struct kexec *x = NULL;
	struct kexec_result r;
	unsigned char *got = malloc(j->bytes + 1);
	size_t have = 0, sent = 0;
	int rc;

	if (!got) {
		snprintf(j->why, sizeof(j->why), "out of memory");
		return NULL;
	}
	rc = kexec_start(j->kc, &o, &x);
	if (rc) {
		snprintf(j->why, sizeof(j->why), "start: %s", strerror(-rc));
		free(got);
		return NULL;
	}
	/* Interleave writing and reading so neither side's bounded queue can
	 * dead-lock us: write what fits, read what is there. */
	while (sent < j->bytes) {
		ssize_t w = kexec_write(x, j->data + sent, j->bytes - sent, 50);

		if (w == -ETIMEDOUT)
			w = 0;
		if (w < 0)
			break;
		sent += (size_t)w;
		for (;;) {
			enum kexec_chan ch;
			ssize_t n = kexec_read(x, &ch, got + have, j->bytes + 1 - have, 0);

			if (n <= 0)
				break;
			if (ch != KEXEC_STDOUT) {
				snprintf(j->why, sizeof(j->why), "unexpected stderr output");
				goto done;
			}
			have += (size_t)n;
			if (have > j->bytes)
				break;
		}
	}
	kexec_close_stdin(x);
	for (;;) {
		enum kexec_chan ch;
		ssize_t n = kexec_read(x, &ch, got + have, j->bytes + 1 - have, 60000);

		if (n <= 0)
			break;
		have += (size_t)n;
		if (have > j->bytes)
			break;
	}
	rc = kexec_wait(x, &r, 60000);
	if (rc || r.exit_code) {
		snprintf(j->why, sizeof(j->why), "exec: rc %d exit %d: %s", rc, r.exit_code, r.message);
	} else if (have != j->bytes || memcmp(got, j->data, j->bytes)) {
		snprintf(j->why, sizeof(j->why), "got %zu bytes back of %zu, or different bytes", have, j->bytes);
	} else {
		j->ok = 1;
	}
done:
	kexec_free(x);
	free(got);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t sessions = 64, bytes = 1 << 20;
	const char *context = NULL, *pod = NULL;
	struct kcfg_opts ko = { .use_process_env = true };
	struct kcfg *cfg = NULL;
	struct kclient *kc = NULL;
	char err[1024];
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sessions") && i + 1 < argc) {
			if (parse_u64_str(argv[++i], 4096, &sessions) || !sessions)
				return 2;
		} else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
			if (parse_u64_str(argv[++i], 1ULL << 32, &bytes))
				return 2;
		} else if (!strcmp(argv[i], "--context") && i + 1 < argc) {
			context = argv[++i];
		} else if (!pod) {
			pod = argv[i];
		} else {
			fprintf(stderr, "usage: exec_stress [--sessions N] [--bytes B] [--context C] POD\n");
			return 2;
		}
	}
	if (!pod) {
		fprintf(stderr, "usage: exec_stress [--sessions N] [--bytes B] [--context C] POD\n");
		return 2;
	}
	ko.context = context;
	if (kcfg_load(&ko, &cfg, err, sizeof(err)) || kclient_new(&kc, cfg, err, sizeof(err))) {
		fprintf(stderr, "exec_stress: %s\n", err);
		return 1;
	}
	struct job *jobs = calloc(sessions, sizeof(*jobs));
	pthread_t *th = calloc(sessions, sizeof(*th));

	for (uint64_t i = 0; i < sessions; i++) {
		jobs[i] = (struct job){ .kc = kc, .ns = cfg->namespace, .pod = pod, .bytes = bytes };
		jobs[i].data = malloc(bytes ? bytes : 1);
		RAND_bytes(jobs[i].data, (int)bytes);
		pthread_create(&th[i], NULL, run, &jobs[i]);
	}
	for (uint64_t i = 0; i < sessions; i++) {
		pthread_join(th[i], NULL);
		if (!jobs[i].ok) {
			failed++;
			fprintf(stderr, "exec_stress: session %llu failed: %s\n", (unsigned long long)i, jobs[i].why);
		}
		free(jobs[i].data);
	}
	struct kclient_stats st;

	kclient_get_stats(kc, &st);
	printf("exec_stress: %llu sessions x %llu bytes on one client: %d failed; execs %lu, in %llu B, out %llu B\n",
	       (unsigned long long)sessions, (unsigned long long)bytes, failed, st.execs_started, st.bytes_in,
	       st.bytes_out);
	free(jobs);
	free(th);
	kclient_free(kc);
	kcfg_free(cfg);
	return failed ? 1 : 0;
}
