/* cp_cmd.c: `podfs cp`, copying between a pod and the local machine.
 *
 *   podfs cp [--kubeconfig F] [--context C] [-n NS] [-c CONTAINER]
 *            [-p] [-L] [-q] [--parallel N] [--retries N] [--specials]
 *            [--checksum]
 *            SRC... DST
 *
 * One side is [NS/]POD:PATH (kubectl cp's syntax; a relative PATH is
 * relative to the container's working directory), the other local. The
 * copying itself is cp/ (on remote.h); this file parses, connects,
 * builds the exec backend and prints the report.
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cp.h"
#include "cp_path.h"
#include "strparse.h"

static void cp_usage(FILE *f)
{
	fprintf(f,
		"usage: podfs cp [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [-c CONTAINER] [OPTIONS]\n"
		"                SRC... DST\n"
		"  one side is [NAMESPACE/]POD:PATH (relative PATH: from the container's working directory),\n"
		"  the other a local path (write ./NAME for a local name with ':'); SRC/. copies a\n"
		"  directory's contents. Several SRCs go into the directory DST.\n"
		"options:\n"
		"  -p, --preserve     exact mode bits (ownership when root); mtimes are always kept\n"
		"  -L, --dereference  follow symlinks in the source (else copied as symlinks)\n"
		"  -q, --quiet        no progress bar or summary (only errors)\n"
		"  --progress         show the progress bar even when stderr is not a terminal\n"
		"  --parallel N       requests in flight: ranges of a big file, batches (default 4)\n"
		"  --retries N        re-run automatically after a lost connection (default 3)\n"
		"  --specials         copy fifos (and device files, as root) instead of skipping them\n"
		"  --no-batch         small files one by one (no tar slices, no write batches)\n"
		"  --checksum         skip a file already there only when its size and SHA-256 match\n"
		"                     (not size and mtime; needs sha256sum in the container)\n"
		"  --chunk SIZE       bytes per range request (default 4M)\n"
		"  --stats            print the connection's counters at the end\n");
}

static void on_signal(int sig)
{
	(void)sig;
	cp_request_stop();
}

static int parse_size(const char *v, size_t *out)
{
	size_t l = strlen(v);
	uint64_t n, mul = 1;

	if (l && (v[l - 1] == 'K' || v[l - 1] == 'k'))
		mul = 1024, l--;
	else if (l && (v[l - 1] == 'M' || v[l - 1] == 'm'))
		mul = 1024 * 1024, l--;
	if (parse_u64(v, l, (256u << 20) / mul, &n) || n * mul < 4096)
		return -EINVAL;
	*out = (size_t)(n * mul);
	return 0;
}

static void print_report(const struct cp_report *rep, int fd, bool upload)
{
	char b[32];
	FILE *f = fd == 1 ? stdout : stderr;

	for (size_t i = 0; i < rep->nnotes; i++)
		fprintf(stderr, "podfs cp: %s: %s\n", rep->notes[i].path, rep->notes[i].what);
	if (fd >= 0) {
		double mbs = rep->seconds > 0 ? (double)rep->bytes / rep->seconds / 1e6 : 0;

		cp_fmt_bytes(rep->bytes, b, sizeof(b));
		fprintf(f, "%s %llu files (%llu already complete, %llu resumed), %s in %.1f s, %.1f MB/s%s\n",
			upload ? "uploaded" : "downloaded", (unsigned long long)rep->files,
			(unsigned long long)rep->skipped, (unsigned long long)rep->resumed, b, rep->seconds, mbs,
			rep->attempts > 1 ? " (after retries)" : "");
	}
	if (rep->nfailed) {
		fprintf(stderr, "podfs cp: %zu failed%s:\n", rep->nfailed,
			rep->interrupted ? " (interrupted)" : "");
		for (size_t i = 0; i < rep->nfailed; i++)
			fprintf(stderr, "  %s: %s\n", rep->failed[i].path, rep->failed[i].what);
	}
	if (rep->interrupted)
		fprintf(stderr, "podfs cp: interrupted; run the same command again to continue\n");
}

int cmd_cp(int argc, char **argv)
{
	struct cli_conn c = { 0 };
	struct cp_opts o;
	struct cp_report rep = { 0 };
	struct cp_spec *specs = NULL;
	const char **paths = NULL;
	char **owned = NULL;
	bool *contents = NULL, upload, want_stats = false, force_progress = false, quiet = false;
	const char *ns = NULL, *pod = NULL, *container;
	struct remote *r = NULL;
	struct kpod kp;
	bool have_kp = false;
	char err[KCLIENT_ERR_MAX], notice[512];
	int npos = 0, rc = 2, i;
	char **pos = calloc((size_t)argc, sizeof(*pos));
	uint64_t v;

	cp_opts_init(&o);
	o.retries = 3;
	if (!pos)
		return 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int t = cli_conn_flag(&c, argc, argv, &i);

		if (t < 0)
			goto out;
		if (t)
			continue;
		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				pos[npos++] = argv[i];
			break;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--preserve")) {
			o.preserve = true;
		} else if (!strcmp(a, "-L") || !strcmp(a, "--dereference")) {
			o.follow = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--progress")) {
			force_progress = true;
		} else if (!strcmp(a, "--specials")) {
			o.specials = true;
		} else if (!strcmp(a, "--no-batch")) {
			o.no_batch = true;
		} else if (!strcmp(a, "--checksum")) {
			o.checksum = true;
		} else if (!strcmp(a, "--stats")) {
			want_stats = true;
		} else if ((!strcmp(a, "--parallel") || !strcmp(a, "--retries") || !strcmp(a, "--chunk")) &&
			   i + 1 < argc) {
			const char *val = argv[++i];

			if (!strcmp(a, "--chunk")) {
				if (parse_size(val, &o.chunk)) {
					fprintf(stderr, "podfs: bad --chunk '%s' (4K..256M)\n", val);
					goto out;
				}
			} else if (parse_u64_str(val, a[2] == 'p' ? 64 : 1000, &v) || (a[2] == 'p' && v == 0)) {
				fprintf(stderr, "podfs: bad value for %s: '%s'\n", a, val);
				goto out;
			} else if (a[2] == 'p') {
				o.parallel = (int)v;
			} else {
				o.retries = (int)v;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cp_usage(stdout);
			rc = 0;
			goto out;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "podfs: unknown flag %s (a local file starting with '-': ./%s)\n", a, a);
			cp_usage(stderr);
			goto out;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos < 2) {
		cp_usage(stderr);
		goto out;
	}
	specs = calloc((size_t)npos, sizeof(*specs));
	paths = calloc((size_t)npos, sizeof(*paths));
	owned = calloc((size_t)npos, sizeof(*owned));
	contents = calloc((size_t)npos, sizeof(*contents));
	if (!specs || !paths || !owned || !contents) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < npos; i++) {
		if (cp_spec_parse(pos[i], &specs[i], err, sizeof(err))) {
			fprintf(stderr, "podfs: %s\n", err);
			goto out;
		}
	}
	upload = specs[npos - 1].remote;
	for (i = 0; i < npos; i++) {
		bool should = upload ? i == npos - 1 : i < npos - 1;

		if (specs[i].remote != should) {
			fprintf(stderr, "podfs: %s\n",
				upload ? "uploading: the sources must be local (one side local, one in a pod)"
				: specs[npos - 1].remote || !specs[i].remote
					? "one side must be local and one in a pod ([NAMESPACE/]POD:PATH)"
					: "downloading: every source must be in a pod");
			goto out;
		}
		if (!specs[i].remote)
			continue;
		if (pod && (strcmp(pod, specs[i].pod) || (specs[i].ns && ns && strcmp(ns, specs[i].ns)))) {
			fprintf(stderr, "podfs: all the pod paths must be in the same pod\n");
			goto out;
		}
		pod = specs[i].pod;
		if (specs[i].ns)
			ns = specs[i].ns;
	}
	if (ns) {
		if (c.namespace && strcmp(c.namespace, ns)) {
			fprintf(stderr, "podfs: namespace given twice: %s and %s\n", c.namespace, ns);
			goto out;
		}
		c.namespace = ns;
	}
	rc = 1;
	if (cli_conn_open(&c))
		goto out;
	if (kpod_get(c.kc, c.cfg->namespace, pod, &kp, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	have_kp = true;
	if (kpod_pick_container(&kp, c.container, &container, notice, sizeof(notice), err, sizeof(err))) {
		fprintf(stderr, "error: %s\n", err);
		goto out;
	}
	if (notice[0])
		fprintf(stderr, "%s\n", notice);
	{
		struct backend_opts bo = { .ns = c.cfg->namespace,
					   .pod = pod,
					   .container = container,
					   .root = "/",
					   .max_sessions = o.parallel > 8 ? 8 : o.parallel };

		if (backend_new(&r, c.kc, &bo, err, sizeof(err))) {
			fprintf(stderr, "error: %s\n", err);
			goto out;
		}
	}
	for (i = 0; i < npos; i++) {
		if (!specs[i].remote) {
			size_t l = strlen(specs[i].path);

			paths[i] = specs[i].path;
			/* local SRC/. (or "."): the contents */
			contents[i] = (l == 1 && specs[i].path[0] == '.') ||
				      (l >= 2 && specs[i].path[l - 1] == '.' && specs[i].path[l - 2] == '/');
			continue;
		}
		if (cp_remote_path(backend_workdir(r), specs[i].path, &owned[i], &contents[i])) {
			fprintf(stderr, "podfs: bad path in the pod: %s\n", specs[i].path);
			goto out;
		}
		paths[i] = owned[i];
	}
	if (upload && (!r->ops->create || !r->ops->mkdir || !r->ops->write || !r->ops->setattr)) {
		fprintf(stderr, "podfs: this podfs cannot write into pods yet (the backend has no write operations)\n");
		goto out;
	}
	if (force_progress)
		o.progress_fd = 2;
	else if (!quiet)
		o.progress_fd = isatty(2) ? 2 : isatty(1) ? 1 : -1;
	{
		struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	int crc = upload ? cp_upload(r, &o, paths, contents, (size_t)npos - 1, paths[npos - 1], &rep)
			 : cp_download(r, &o, paths, contents, (size_t)npos - 1, paths[npos - 1], &rep);

	print_report(&rep, o.progress_fd, upload);
	if (crc == -ENOTSUP)
		fprintf(stderr, "podfs: --checksum: the container has no sha256sum (files of the same size were "
				"left as they are; run without --checksum to compare size and mtime)\n");
	if (want_stats)
		fprintf(stderr, "cp_files %llu\ncp_skipped %llu\ncp_resumed %llu\ncp_bytes %llu\ncp_attempts %d\n",
			(unsigned long long)rep.files, (unsigned long long)rep.skipped, (unsigned long long)rep.resumed,
			(unsigned long long)rep.bytes, rep.attempts);
	if (want_stats && r->ops->stats) {
		char *s = r->ops->stats(r);

		if (s)
			fprintf(stderr, "%s", s);
		free(s);
	}
	rc = crc == 0 ? 0 : crc == -EINTR ? 130 : 1;
out:
	cp_report_cleanup(&rep);
	if (r)
		r->ops->destroy(r);
	if (have_kp)
		kpod_free(&kp);
	cli_conn_close(&c);
	for (i = 0; specs && i < npos; i++)
		cp_spec_cleanup(&specs[i]);
	for (i = 0; owned && i < npos; i++)
		free(owned[i]);
	free(specs);
	free(paths);
	free(owned);
	free(contents);
	free(pos);
	return rc;
}
