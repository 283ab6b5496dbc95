/* backend.c: remote_ops over a pool of shell sessions (see backend.h).
 *
 * Every operation is one request on a session (one round trip, no new
 * exec). Commands per tier:
 *   gnu:     stat --printf with nanosecond times; listings with
 *            find -exec stat --printf ...\0%n\0 {} + (one find, few stats)
 *   busybox: stat -c (second times); listings from the shell's globs and
 *            one stat for all names
 *   both:    dd iflag=skip_bytes,count_bytes for reads, readlink, stat -f
 *            and sha256sum for checksums (when the image has it)
 * Failed commands are diagnosed from the tool's message (ENOENT, EACCES..).
 * A sequential reader of a big file is served from a read-ahead stream
 * instead (backend_bulk.c); every other read is one dd request.
 *
 * Lock order: b->lock, then nothing; never held across a request.
 */
#include "backend.h"
#include "backend_int.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "kclient.h"
#include "log.h"
#include "parse.h"
#include "quote.h"
#include "session.h"
#include "strparse.h"
#include "tar.h"
#include "batch.h"

/* ---- session pool ---- */

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int open_session(struct backend *b, struct hsess **out, char *err, size_t errlen)
{
	struct hsess_target t = { .ns = b->ns, .pod = b->pod, .container = b->container };
	int rc = hsess_open(out, b->kc, &t, err, errlen);

	pthread_mutex_lock(&b->lock);
	if (rc == 0)
		b->opened++;
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* Pick the least busy live session, opening one when all are busy. */
static int acquire(struct backend *b, int *slot)
{
	int best = -1, free_slot = -1;
	char err[512];

	pthread_mutex_lock(&b->lock);
	for (int i = 0; i < b->max; i++) {
		if (b->sess[i] && !hsess_alive(b->sess[i]) && b->busy[i] == 0) {
			hsess_close(b->sess[i]);
			b->sess[i] = NULL;
			b->nsess--;
		}
		if (b->sess[i] && hsess_alive(b->sess[i]) && (best < 0 || b->busy[i] < b->busy[best]))
			best = i;
		if (!b->sess[i] && !b->opening[i] && free_slot < 0)
			free_slot = i;
	}
	/* After a failed open (429, exec refused...) do not try again for a
	 * while when a live session can take the request. */
	if (best >= 0 && (b->busy[best] == 0 || free_slot < 0 || mono_s() < b->no_open_until)) {
		b->busy[best]++;
		*slot = best;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	if (free_slot < 0) {
		pthread_mutex_unlock(&b->lock);
		return -EAGAIN;
	}
	b->opening[free_slot] = true;
	pthread_mutex_unlock(&b->lock);
	struct hsess *s = NULL;
	int rc = open_session(b, &s, err, sizeof(err));

	pthread_mutex_lock(&b->lock);
	b->opening[free_slot] = false;
	if (rc) {
		snprintf(b->open_err, sizeof(b->open_err), "%s", err);
		b->no_open_until = mono_s() + 10;
		if (best >= 0 && b->sess[best] && hsess_alive(b->sess[best])) {
			/* fall back to the busy one (pipelined behind its requests) */
			b->busy[best]++;
			*slot = best;
			pthread_mutex_unlock(&b->lock);
			log_warn("%s (going on with %d session%s)", err, b->nsess, b->nsess == 1 ? "" : "s");
			return 0;
		}
		pthread_mutex_unlock(&b->lock);
		log_warn("%s", err);
		return rc == -ENOENT ? -EIO : rc;
	}
	b->sess[free_slot] = s;
	b->busy[free_slot] = 1;
	b->nsess++;
	*slot = free_slot;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static void release(struct backend *b, int slot)
{
	pthread_mutex_lock(&b->lock);
	b->busy[slot]--;
	pthread_mutex_unlock(&b->lock);
}

int be_run_opt(struct backend *b, const char *cmd, struct buf *out, int *status, bool retry)
{
	size_t base = out->len;
	int rc = -EIO;

	for (int attempt = 0; attempt < (retry ? 2 : 1); attempt++) {
		int slot;

		rc = acquire(b, &slot);
		if (rc)
			return rc;
		pthread_mutex_lock(&b->lock);
		b->requests++;
		pthread_mutex_unlock(&b->lock);
		out->len = base;
		if (out->data)
			out->data[base] = '\0';
		rc = hsess_run(b->sess[slot], cmd, out, status, b->timeout_ms);
		release(b, slot);
		if (rc != -ECONNRESET && rc != -ENOTCONN && rc != -EPROTO)
			break;
	}
	if (rc == -ECONNRESET || rc == -ENOTCONN || rc == -EPROTO)
		rc = -EIO;
	return rc;
}

/* Run CMD; retries once on a fresh session when the session died under it
 * (every request here is a read: safe to repeat). */
static int run(struct backend *b, const char *cmd, struct buf *out, int *status)
{
	return be_run_opt(b, cmd, out, status, true);
}

/* ---- paths ---- */

/* ROOT + PATH into OUT (a fresh buf). */
int be_full_path(struct backend *b, const char *path, struct buf *out)
{
	buf_init(out, 8192);
	if (!strcmp(b->root, "/"))
		return buf_append_str(out, path);
	if (buf_append_str(out, b->root))
		return -ENAMETOOLONG;
	if (strcmp(path, "/") && buf_append_str(out, path))
		return -ENAMETOOLONG;
	return 0;
}

int be_fail_from(struct buf *out, int status)
{
	int e = hp_errno_from_text(out->data ? out->data : "", out->len);

	if (e == -EIO)
		log_debug("pod command failed (status %d): %.200s", status, out->data ? out->data : "");
	return e;
}

/* Build a command from FMT (hq_cmd's conversions) and run it; OUT gets
 * its output. A non-zero exit status becomes the errno its message names. */
static int vpod_cmd(struct backend *b, struct buf *out, bool retry, const char *fmt, va_list ap)
{
	struct buf cmd;
	int rc, st;

	buf_init(&cmd, 16u << 20);
	rc = hq_vcmd(&cmd, fmt, ap);
	if (!rc)
		rc = be_run_opt(b, cmd.data, out, &st, retry);
	if (!rc && st)
		rc = be_fail_from(out, st);
	buf_cleanup(&cmd);
	return rc;
}

int be_pod_cmd(struct backend *b, struct buf *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vpod_cmd(b, out, true, fmt, ap);
	va_end(ap);
	return rc;
}

int be_pod_wcmd(struct backend *b, struct buf *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vpod_cmd(b, out, false, fmt, ap);
	va_end(ap);
	return rc;
}

/* "./" NAME into *OUT (malloc'd). */
int be_path_dot(const char *name, char **out)
{
	size_t l = strlen(name);

	*out = malloc(l + 3);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, "./", 2);
	memcpy(*out + 2, name, l + 1);
	return 0;
}

/* ---- ops ---- */

static int be_getattr(struct remote *r, const char *path, struct remote_attr *a)
{
	return be_getattr_path(r->priv, path, a);
}

int be_getattr_path(struct backend *b, const char *path, struct remote_attr *a)
{
	struct buf p, out;
	int rc;

	rc = be_full_path(b, path, &p);
	buf_init(&out, 4096);
	if (!rc)
		rc = b->t.gnu_stat ? be_pod_cmd(b, &out, "stat --printf %q -- %q", FMT_GNU "\\n", p.data)
				   : be_pod_cmd(b, &out, "stat -c %q -- %q", FMT_BB, p.data);
	if (!rc) {
		size_t l = out.len;

		if (l && out.data[l - 1] == '\n')
			l--;
		rc = hp_stat_line(out.data, l, a) ? -EIO : 0;
		if (rc)
			log_warn("unexpected stat output for %s", path);
	}
	buf_cleanup(&p);
	buf_cleanup(&out);
	return rc;
}

static int be_readdir(struct remote *r, const char *path, struct remote_dirent **ents, size_t *n)
{
	struct backend *b = r->priv;
	struct buf p, cmd, out;
	int rc, st;

	*ents = NULL;
	*n = 0;
	rc = be_full_path(b, path, &p);
	buf_init(&cmd, 16384);
	buf_init(&out, LISTING_MAX);
	if (!rc && b->t.gnu_find && b->t.gnu_stat)
		rc = hq_cmd(&cmd,
			    CD_OR_FAIL "[ -r . ] || { echo 'podfs: Permission denied'; exit 1; }; "
			    "find . -mindepth 1 -maxdepth 1 -exec stat --printf %q -- {} + 2>/dev/null; true",
			    p.data, p.data, p.data, FMT_GNU "\\0%n\\0");
	else if (!rc)
		rc = hq_cmd(&cmd,
			    CD_OR_FAIL "[ -r . ] || { echo 'podfs: Permission denied'; exit 1; }; set --; "
			    "for f in * .[!.]* ..?*; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then set -- \"$@\" \"./$f\"; fi; done; "
			    "[ $# -eq 0 ] || printf '%%s\\0' \"$@\"; printf '/\\0'; "
			    "[ $# -eq 0 ] || stat -c %q -- \"$@\" 2>/dev/null; true",
			    p.data, p.data, p.data, FMT_BB);
	for (int attempt = 0; !rc && attempt < 3; attempt++) {
		buf_reset(&out);
		rc = run(b, cmd.data, &out, &st);
		if (rc == -E2BIG) {
			log_warn("directory %s: listing larger than %u MiB", path, LISTING_MAX >> 20);
			rc = -EFBIG;
		}
		if (rc)
			break;
		if (st) {
			rc = be_fail_from(&out, st);
			break;
		}
		rc = b->t.gnu_find && b->t.gnu_stat
			     ? hp_listing_records(out.data, out.len, ENTRIES_MAX, ents, n)
			     : hp_listing_names_then_stats(out.data, out.len, ENTRIES_MAX, ents, n);
		if (rc != -EAGAIN)
			break;
		rc = 0; /* an entry vanished meanwhile: list again */
		if (attempt == 2)
			rc = -EIO;
	}
	if (rc == -EPROTO) {
		log_warn("unexpected listing output for %s", path);
		rc = -EIO;
	}
	buf_cleanup(&p);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

/* A subtree in one request. GNU: the deepest level (up to MAX_DEPTH)
 * whose entries number at most MAX_ENTRIES, found by counting with find
 * (each count stops at the cap: head closes the pipe), then the
 * unreadable directories above it, then one find -xdev -exec stat of
 * everything down to it. Busybox: two levels at most, from the shell's
 * globs: the top's group, then each readable subdirectory's group while
 * the entries counted stay under the cap (a glob per directory, linear:
 * no quadratic `set -- "$@"` loop). */
static int be_readdir_tree(struct remote *r, const char *path, unsigned max_depth, size_t max_entries,
			   int (*cb)(void *arg, const char *rel, struct remote_dirent *ents, size_t n), void *arg)
{
	struct backend *b = r->priv;
	struct hp_tree_dir *d = NULL;
	size_t nd = 0;
	struct buf p, cmd, out;
	bool gnu = b->t.gnu_find && b->t.gnu_stat;
	int rc, st;

	if (max_depth > 16)
		max_depth = 16;
	if (max_depth < 2 || max_entries == 0 || max_entries > ENTRIES_MAX) {
		struct remote_dirent *ents;
		size_t n;

		rc = be_readdir(r, path, &ents, &n);
		return rc ? rc : cb(arg, "", ents, n);
	}
	rc = be_full_path(b, path, &p);
	buf_init(&cmd, 16384);
	buf_init(&out, LISTING_MAX);
	if (!rc && gnu)
		rc = hq_cmd(&cmd,
			    CD_OR_FAIL "[ -r . ] || { echo 'podfs: Permission denied'; exit 1; }; "
			    "d=%u; while [ $d -gt 1 ] && [ $(find . -mindepth 1 -maxdepth $d -xdev -printf x 2>/dev/null "
			    "| head -c %llu | wc -c) -gt %llu ]; do d=$((d-1)); done; printf '%%s\\0' $d; "
			    "[ $d -eq 1 ] || find . -mindepth 1 -maxdepth $((d-1)) -xdev -type d ! \\( -readable -executable \\) "
			    "-printf '%%p/\\0' 2>/dev/null; printf '/\\0'; "
			    "find . -maxdepth $d -xdev -exec stat --printf %q -- {} + 2>/dev/null; true",
			    p.data, p.data, p.data, max_depth, (unsigned long long)max_entries + 1,
			    (unsigned long long)max_entries, FMT_GNU "\\0%n\\0");
	else if (!rc)
		rc = hq_cmd(&cmd,
			    CD_OR_FAIL "[ -r . ] || { echo 'podfs: Permission denied'; exit 1; }; "
			    "podfs_ls1() { set -- \"$1\"/* \"$1\"/.[!.]* \"$1\"/..?*; for f; do "
			    "if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf '%%s\\0' \"$f\"; fi; done; printf '/\\0'; "
			    "stat -c %q -- \"$@\" 2>/dev/null; printf '\\0'; }; "
			    "stat -c %q -- . || exit 1; podfs_ls1 .; t=0; for d in ./* ./.[!.]* ./..?*; do "
			    "[ -d \"$d\" ] && [ ! -L \"$d\" ] && [ -r \"$d\" ] && [ -x \"$d\" ] || continue; "
			    "set -- \"$d\"/* \"$d\"/.[!.]* \"$d\"/..?*; t=$((t+$#)); [ $t -le %llu ] || break; "
			    "printf '%%s/\\0' \"$d\"; podfs_ls1 \"$d\"; done; true",
			    p.data, p.data, p.data, FMT_BB, FMT_BB, (unsigned long long)max_entries);
	for (int attempt = 0; !rc && attempt < 3; attempt++) {
		buf_reset(&out);
		rc = run(b, cmd.data, &out, &st);
		if (rc == -E2BIG) {
			log_warn("directory %s: subtree listing larger than %u MiB", path, LISTING_MAX >> 20);
			rc = -EFBIG;
		}
		if (rc)
			break;
		if (st) {
			rc = be_fail_from(&out, st);
			break;
		}
		rc = gnu ? hp_tree_records(out.data, out.len, ENTRIES_MAX, &d, &nd)
			 : hp_tree_groups(out.data, out.len, ENTRIES_MAX, &d, &nd);
		if (rc != -EAGAIN)
			break;
		rc = 0; /* an entry vanished meanwhile: list again */
		if (attempt == 2)
			rc = -EIO;
	}
	if (rc == -EPROTO) {
		log_warn("unexpected subtree listing output for %s", path);
		rc = -EIO;
	}
	if (rc == -EFBIG) {
		/* too big for one answer: one level as ever */
		struct remote_dirent *ents;
		size_t n;

		rc = be_readdir(r, path, &ents, &n);
		if (!rc)
			rc = cb(arg, "", ents, n);
	}
	log_debug("subtree listing of %s: rc %d, %zu directories, %zu bytes", path, rc, nd, out.len);
	for (size_t i = 0; !rc && i < nd; i++) {
		rc = cb(arg, d[i].rel, d[i].ents, d[i].n);
		d[i].ents = NULL;
		d[i].n = 0;
	}
	hp_tree_free(d, nd);
	buf_cleanup(&p);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

static ssize_t be_read(struct remote *r, const char *path, uint64_t off, void *dst, size_t len)
{
	struct backend *b = r->priv;
	struct buf p, cmd, out;
	ssize_t rc;
	int st;

	if (len == 0)
		return 0;
	/* a sequential reader of a big file: from its read-ahead stream */
	rc = be_bulk_read(b, path, off, dst, len);
	if (rc != -EAGAIN)
		return rc;
	rc = be_full_path(b, path, &p);
	buf_init(&cmd, 16384);
	buf_init(&out, len);
	if (!rc)
		rc = hq_cmd(&cmd, "dd if=%q bs=262144 iflag=skip_bytes,count_bytes skip=%llu count=%llu 2>/dev/null",
			    p.data, (unsigned long long)off, (unsigned long long)len);
	if (!rc)
		rc = run(b, cmd.data, &out, &st);
	if (rc == -E2BIG)
		rc = -EIO; /* more than asked: the pod's dd misbehaves */
	if (!rc && st) {
		/* Ask dd again, for its message. */
		struct buf msg;

		buf_init(&msg, 4096);
		buf_reset(&cmd);
		if (hq_cmd(&cmd, "dd if=%q of=/dev/null count=0", p.data) == 0 && run(b, cmd.data, &msg, &st) == 0)
			rc = st ? be_fail_from(&msg, st) : -EIO;
		else
			rc = -EIO;
		buf_cleanup(&msg);
	}
	if (!rc) {
		if (out.len)
			memcpy(dst, out.data, out.len);
		rc = (ssize_t)out.len;
	}
	buf_cleanup(&p);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

static ssize_t be_read_streamed(struct remote *r, const char *path, uint64_t off, void *dst, size_t len)
{
	return be_bulk_serve(r->priv, path, off, dst, len);
}

static int be_readlink(struct remote *r, const char *path, char **target)
{
	struct backend *b = r->priv;
	struct buf p, out;
	int rc;

	*target = NULL;
	rc = be_full_path(b, path, &p);
	buf_init(&out, 8192);
	if (!rc)
		rc = be_pod_cmd(b, &out,
			     "readlink -- %q || { if [ -L %q ]; then :; elif [ -e %q ]; then echo 'podfs: Invalid argument'; "
			     "else echo 'podfs: No such file or directory'; fi; exit 1; }",
			     p.data, p.data, p.data);
	if (rc == -E2BIG)
		rc = -ENAMETOOLONG;
	if (!rc) {
		if (!out.len || out.data[out.len - 1] != '\n') {
			rc = -EIO;
		} else {
			out.data[--out.len] = '\0';
			if (memchr(out.data, '\0', out.len))
				rc = -EIO;
			else
				*target = buf_take(&out);
		}
	}
	buf_cleanup(&p);
	buf_cleanup(&out);
	return rc;
}

static int be_statfs(struct remote *r, const char *path, struct statvfs *sv)
{
	struct backend *b = r->priv;
	struct buf p, out;
	int rc;

	rc = be_full_path(b, path, &p);
	buf_init(&out, 1024);
	if (!rc)
		rc = be_pod_cmd(b, &out, "stat -f -c %q -- %q", "%S %b %f %a %c %d %l", p.data);
	if (!rc && hp_statfs_line(out.data, out.len, sv))
		rc = -EIO;
	buf_cleanup(&p);
	buf_cleanup(&out);
	return rc;
}

/* sha256sum -- PATH, after the shell's tests for what sha256sum would
 * misreport or hang on (a directory, a fifo); a missing or unreadable
 * file is left to sha256sum's own message. */
static int be_checksum(struct remote *r, const char *path, char out[65])
{
	struct backend *b = r->priv;
	struct buf p, o;
	int rc;

	if (!b->t.has_sha256sum)
		return -ENOTSUP;
	rc = be_full_path(b, path, &p);
	/* the sum, two spaces, the name (GNU may escape it: twice as long) */
	buf_init(&o, 2 * p.len + 4096);
	if (!rc)
		rc = be_pod_cmd(b, &o,
				"if [ -d %q ]; then echo 'podfs: Is a directory'; exit 1; fi; "
				"if [ -e %q ] && [ ! -f %q ]; then echo 'podfs: Invalid argument'; exit 1; fi; "
				"sha256sum -- %q",
				p.data, p.data, p.data, p.data);
	if (rc == -E2BIG)
		rc = -EIO;
	if (!rc && hp_sha256_line(o.data ? o.data : "", o.len, out)) {
		log_warn("unexpected sha256sum output for %s", path);
		rc = -EIO;
	}
	buf_cleanup(&p);
	buf_cleanup(&o);
	return rc;
}

/* ---- batches of small files: one `tar cf -` of the names ---- */

struct many_ctx {
	const char *const *names;
	size_t n;
	size_t max_each;
	size_t next; /* where to look first */
	struct buf cur;
	char *curname;
	int (*cb)(void *arg, const char *name, const void *data, size_t len);
	void *arg;
	size_t files;
};

static int many_entry(void *arg, const struct htar_entry *e)
{
	struct many_ctx *c = arg;

	if (e->type != 'f' || e->size > c->max_each)
		return 1;
	/* Only what we asked for: the pod's tar may say anything. It
	 * archives in the order asked: look at the next name first. */
	for (size_t k = 0; k < c->n; k++) {
		size_t i = (c->next + k) % c->n;

		if (!strcmp(c->names[i], e->name)) {
			c->next = i + 1;
			free(c->curname);
			c->curname = strdup(e->name);
			buf_reset(&c->cur);
			return c->curname ? 0 : -ENOMEM;
		}
	}
	return 1;
}

static int many_data(void *arg, const void *p, size_t n)
{
	struct many_ctx *c = arg;

	return buf_append(&c->cur, p, n) ? -EPROTO : 0;
}

static int many_end(void *arg)
{
	struct many_ctx *c = arg;

	c->files++;
	return c->cb(c->arg, c->curname, c->cur.data ? c->cur.data : "", c->cur.len);
}

/* ---- batches without tar: each file framed by its size and stamp, read
 * before and after (batch.h) ---- */

struct nt_ctx {
	const char *const *names;
	int (*cb)(void *arg, const char *name, const void *data, size_t len);
	void *arg;
};

static int nt_none(void *arg, size_t idx, const void *data, size_t len)
{
	(void)arg;
	(void)idx;
	(void)data;
	(void)len;
	return 0;
}

static int nt_file(void *arg, size_t idx, const void *data, size_t len)
{
	struct nt_ctx *c = arg;

	return c->cb(c->arg, c->names[idx], data, len);
}

static int read_many_notar(struct backend *b, const char *dir, const char *const *names, size_t n,
			   size_t max_each, size_t max_total,
			   int (*cb)(void *arg, const char *name, const void *data, size_t len), void *arg)
{
	struct nt_ctx c = { .names = names, .cb = cb, .arg = arg };
	const char *fmt = b->t.gnu_stat ? "%s %.9Y" : "%s %Y";
	struct hbatch *hb = NULL;
	struct buf p, cmd, out;
	int rc, st;

	rc = be_full_path(b, dir, &p);
	buf_init(&cmd, 1 << 20);
	/* the data plus two lines of at most 96 bytes per file */
	buf_init(&out, max_total + 200 * (n + 1));
	if (!rc)
		rc = hq_cmd(&cmd, "cd -- %q || exit; set --", p.data);
	for (size_t i = 0; !rc && i < n; i++) {
		char *dot = NULL;

		if (be_path_dot(names[i], &dot))
			rc = -ENOMEM;
		else
			rc = hq_cmd(&cmd, " %q", dot);
		free(dot);
	}
	/* The regular files (kept as "${N}" words in $keep, their indexes in
	 * $ix), one stat of them all (a line each: a count that differs
	 * means one vanished, give up), an F line for each small one, one
	 * cat of those, one stat again: the reader keeps a file only when
	 * both stats agree. A handful of forks and no quadratic loop: the
	 * listing's attributes must still be fresh when the files are
	 * opened. Here-documents expand the stat output as data only. */
	if (!rc)
		rc = hq_cmd(&cmd,
			    "; n=0; keep=; ix=; for f in \"$@\"; do n=$((n+1)); "
			    "if [ -f \"$f\" ] && [ ! -L \"$f\" ]; then keep=\"$keep \\\"\\${$n}\\\"\"; ix=\"$ix$n \"; fi; done; "
			    "[ -n \"$keep\" ] || exit 0; eval \"set -- $keep\"; "
			    "pre=$(stat -c %q -- \"$@\" 2>/dev/null); "
			    "[ $(printf '%%s\\n' \"$pre\" | wc -l) -eq $# ] || exit 0; "
			    "n=0; keep=; kx=; while read -r s m; do n=$((n+1)); i=${ix%%%% *}; ix=${ix#* }; "
			    "case $s in ''|*[!0-9]*) continue;; esac; [ \"$s\" -le %llu ] || continue; "
			    "printf 'F %%s %%s %%s\\n' \"$i\" \"$s\" \"$m\"; keep=\"$keep \\\"\\${$n}\\\"\"; kx=\"$kx$i \"; "
			    "done <<EOF\n$pre\nEOF\n"
			    "[ -n \"$keep\" ] || exit 0; eval \"set -- $keep\"; printf 'D\\n'; cat -- \"$@\" 2>/dev/null || exit 1; "
			    "post=$(stat -c %q -- \"$@\" 2>/dev/null); "
			    "[ $(printf '%%s\\n' \"$post\" | wc -l) -eq $# ] || exit 0; "
			    "while read -r s m; do i=${kx%%%% *}; kx=${kx#* }; printf 'E %%s %%s %%s\\n' \"$i\" \"$s\" \"$m\"; "
			    "done <<EOF\n$post\nEOF\n",
			    fmt, (unsigned long long)max_each, fmt);
	if (!rc)
		rc = run(b, cmd.data, &out, &st);
	log_debug("tar-free batch of %zu files in %s: rc %d status %d, %zu bytes", n, dir, rc, st, out.len);
	if (!rc && st && (out.len < 2 || memcmp(out.data, "F ", 2))) {
		rc = be_fail_from(&out, st); /* the cd failed */
	} else if (!rc) {
		/* a dd that failed ends the loop: the files complete before it
		 * stand, the rest are read one by one */
		/* a dry run first: nothing is delivered unless the whole output
		 * is in step (a file that grew during the cat shifts the bytes
		 * of the files after it, and hostile bytes could pose as E lines
		 * before the real ones fail) */
		rc = hbatch_new(&hb, n, max_each, max_total, nt_none, NULL);
		if (!rc)
			rc = hbatch_feed(hb, out.data, out.len);
		if (!rc)
			rc = hbatch_finish(hb);
		hbatch_free(hb);
		hb = NULL;
		if (!rc)
			rc = hbatch_new(&hb, n, max_each, max_total, nt_file, &c);
		if (!rc)
			rc = hbatch_feed(hb, out.data, out.len);
		if (!rc)
			rc = hbatch_finish(hb);
		/* -EPROTO also when a file changed size during the cat */
		if (st && (!rc || rc == -EPROTO))
			rc = -EIO;
		else if (rc == -EPROTO)
			log_debug("tar-free batch in %s: out of step (a file changed while read?)", dir);
	}
	if (hb && hbatch_dropped(hb))
		log_debug("tar-free batch in %s: %zu files changed while read", dir, hbatch_dropped(hb));
	hbatch_free(hb);
	buf_cleanup(&p);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc == -ENOTSUP ? -EIO : rc;
}

static int be_read_many(struct remote *r, const char *dir, const char *const *names, size_t n, size_t max_each,
			size_t max_total, int (*cb)(void *arg, const char *name, const void *data, size_t len),
			void *arg)
{
	struct backend *b = r->priv;
	struct buf p, cmd, out;
	struct many_ctx c = { .names = names, .n = n, .max_each = max_each, .cb = cb, .arg = arg };
	struct htar_limits lim = { .max_entry_size = max_each, .max_total = max_total + 1024 * (uint64_t)(n + 4) };
	struct htar_cb hcb = { .entry = many_entry, .data = many_data, .end = many_end };
	struct htar *t = NULL;
	int rc, st;

	if (!b->t.has_tar)
		return read_many_notar(b, dir, names, n, max_each, max_total, cb, arg);
	rc = be_full_path(b, dir, &p);
	buf_init(&cmd, 1 << 20);
	buf_init(&out, (size_t)lim.max_total + 16384);
	buf_init(&c.cur, max_each);
	if (!rc)
		rc = hq_cmd(&cmd, "cd -- %q || exit; tar cf - ", p.data);
	for (size_t i = 0; !rc && i < n; i++) {
		char *dot = NULL;

		/* "./NAME": never an option, whatever NAME starts with */
		if (be_path_dot(names[i], &dot))
			rc = -ENOMEM;
		else
			rc = hq_cmd(&cmd, "%q ", dot);
		free(dot);
	}
	if (!rc)
		rc = hq_cmd(&cmd, "2>/dev/null; true");
	if (!rc)
		rc = run(b, cmd.data, &out, &st);
	log_debug("batch of %zu files in %s: rc %d status %d, %zu bytes", n, dir, rc, st, out.len);
	if (!rc && st)
		rc = be_fail_from(&out, st); /* the cd failed */
	if (!rc)
		rc = htar_new(&t, &lim, &hcb, &c);
	if (!rc)
		rc = htar_feed(t, out.data, out.len);
	if (!rc)
		rc = htar_finish(t);
	if (rc && rc != -ENOENT && rc != -ENOTDIR)
		log_warn("batch read of %zu files in %s: %s%s%s", n, dir, strerror(-rc), t ? ": " : "",
			 t && htar_error(t) ? htar_error(t) : "");
	htar_free(t);
	free(c.curname);
	buf_cleanup(&c.cur);
	buf_cleanup(&p);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	/* Whatever was delivered before an error stands; the rest is read
	 * file by file. */
	return rc == -ENOTSUP ? -EIO : rc;
}

static char *be_stats(struct remote *r)
{
	struct backend *b = r->priv;
	struct kclient_stats ks;
	struct buf out;
	unsigned long bopened, bsessions, bserved, bbytes;
	int blive;

	kclient_get_stats(b->kc, &ks);
	be_bulk_stats(b, &bopened, &bsessions, &bserved, &bbytes, &blive);
	buf_init(&out, 4096);
	pthread_mutex_lock(&b->lock);
	/* exec_sessions_opened counts every exec (pool sessions and bulk streams) */
	buf_printf(&out,
		   "exec_sessions_opened %lu\nexec_sessions_live %d\nshell_requests %lu\nbytes_in %llu\nbytes_out %llu\n"
		   "rest_requests %lu\nbulk_streams_opened %lu\nbulk_sessions_opened %lu\nbulk_streams_live %d\nbulk_reads %lu\n"
		   "bulk_read_bytes %lu\nwrite_requests %lu\nwrite_streams_opened %lu\nbytes_written %llu\ntoolset %s\n",
		   ks.execs_started, b->nsess, b->requests, ks.bytes_in, ks.bytes_out, ks.rest_requests, bopened,
		   bsessions, blive, bserved, bbytes, b->write_requests, b->wstreams, b->bytes_written,
		   b->t.gnu_stat && b->t.gnu_find ? "gnu" : "busybox");
	pthread_mutex_unlock(&b->lock);
	return buf_take(&out);
}

static void be_destroy(struct remote *r)
{
	struct backend *b = r->priv;

	be_bulk_free(b); /* its fillers use b's fields: first */
	for (int i = 0; i < MAX_SESSIONS; i++)
		hsess_close(b->sess[i]);
	pthread_mutex_destroy(&b->lock);
	free(b->ns);
	free(b->pod);
	free(b->container);
	free(b->root);
	free(b->cwd);
	free(b);
}

static void be_changed(struct remote *r, const char *path)
{
	be_bulk_forget(r->priv, path);
}

static const struct remote_ops ops = {
	.getattr = be_getattr,
	.readdir = be_readdir,
	.readdir_tree = be_readdir_tree,
	.read = be_read,
	.read_streamed = be_read_streamed,
	.readlink = be_readlink,
	.statfs = be_statfs,
	.checksum = be_checksum,
	.read_many = be_read_many,
	.create = be_create,
	.mknod = be_mknod,
	.mkdir = be_mkdir,
	.unlink = be_unlink,
	.rmdir = be_rmdir,
	.rename = be_rename,
	.symlink = be_symlink,
	.link = be_link,
	.setattr = be_setattr,
	.write = be_write,
	.write_stat = be_write_stat,
	.wopen = be_wopen,
	.wstream_write = be_wstream_write,
	.wstream_close = be_wstream_close,
	.fsync = be_fsync,
	.may_write = be_may_write,
	.changed = be_changed,
	.write_many = be_write_many,
	.stats = be_stats,
	.destroy = be_destroy,
};

int backend_pod_ids(struct remote *r, uint32_t *uid, uint32_t *gid)
{
	struct backend *b = r->priv;

	if (!b->ids_known)
		return -ENOENT;
	*uid = b->pod_uid;
	*gid = b->pod_gid;
	return 0;
}

const char *backend_workdir(struct remote *r)
{
	struct backend *b = r->priv;

	return b->cwd ? b->cwd : "/";
}

/* ---- start ---- */

static int probe(struct backend *b, char *err, size_t errlen)
{
	static const char cmd[] =
		"for t in stat find dd readlink tar head truncate mkfifo sync sha256sum; do command -v \"$t\" >/dev/null 2>&1 && echo \"has_$t\"; done; "
		"stat --version 2>/dev/null | head -n 1 | grep -q GNU && echo gnu_stat; "
		"touch --version 2>/dev/null | head -n 1 | grep -q GNU && echo gnu_touch; "
		"tar --version 2>/dev/null | head -n 1 | grep -q GNU && echo gnu_tar; "
		"mv --help 2>&1 | grep -q -- '-T' && echo gnu_mv; "
		"printf 'cwd:%s\\n' \"$PWD\"; "
		"printf 'ids:%s %s\\n' \"$(id -u 2>/dev/null)\" \"$(id -g 2>/dev/null)\"; "
		"find --version 2>/dev/null | head -n 1 | grep -q GNU && echo gnu_find; true";
	struct buf out;
	int rc, st;

	buf_init(&out, 4096);
	rc = run(b, cmd, &out, &st);
	if (rc) {
		snprintf(err, errlen, "cannot probe the container's tools: %s", strerror(-rc));
		buf_cleanup(&out);
		return rc;
	}
	const char *o = out.data ? out.data : "";

	b->t.has_stat = strstr(o, "has_stat\n") != NULL;
	b->t.has_find = strstr(o, "has_find\n") != NULL;
	b->t.has_dd = strstr(o, "has_dd\n") != NULL;
	b->t.has_readlink = strstr(o, "has_readlink\n") != NULL;
	b->t.has_tar = strstr(o, "has_tar\n") != NULL;
	b->t.gnu_stat = strstr(o, "gnu_stat\n") != NULL;
	b->t.gnu_touch = strstr(o, "gnu_touch\n") != NULL;
	b->t.gnu_tar = b->t.has_tar && strstr(o, "gnu_tar\n") != NULL;
	{
		/* "ids:UID GID\n" */
		const char *ids = strstr(o, "ids:"), *sp = ids ? strchr(ids + 4, ' ') : NULL;
		const char *nl = sp ? strchr(sp + 1, '\n') : NULL;
		uint64_t u, g;

		b->ids_known = nl && parse_u64(ids + 4, (size_t)(sp - ids - 4), UINT32_MAX, &u) == 0 &&
			       parse_u64(sp + 1, (size_t)(nl - sp - 1), UINT32_MAX, &g) == 0;
		if (b->ids_known) {
			b->pod_uid = (uint32_t)u;
			b->pod_gid = (uint32_t)g;
		}
	}
	{
		const char *c = strstr(o, "cwd:");
		const char *e = c ? strchr(c, '\n') : NULL;

		free(b->cwd);
		b->cwd = c && e && c[4] == '/' ? strndup(c + 4, (size_t)(e - c - 4)) : strdup("/");
	}
	b->t.gnu_mv = strstr(o, "gnu_mv\n") != NULL;
	b->t.has_truncate = strstr(o, "has_truncate\n") != NULL;
	b->t.has_mkfifo = strstr(o, "has_mkfifo\n") != NULL;
	b->t.has_sync = strstr(o, "has_sync\n") != NULL;
	b->t.has_sha256sum = strstr(o, "has_sha256sum\n") != NULL;
	b->t.gnu_find = b->t.has_find && strstr(o, "gnu_find\n") != NULL;
	buf_cleanup(&out);
	if (!b->t.has_stat || !b->t.has_dd) {
		snprintf(err, errlen,
			 "container %s of pod %s/%s lacks %s%s%s: podfs needs sh, stat and dd in the image "
			 "(GNU coreutils or busybox)",
			 b->container ? b->container : "", b->ns, b->pod, b->t.has_stat ? "" : "stat",
			 !b->t.has_stat && !b->t.has_dd ? " and " : "", b->t.has_dd ? "" : "dd");
		return -ENOTSUP;
	}
	log_info("toolset in %s/%s: %s stat, %s find, dd%s", b->ns, b->pod, b->t.gnu_stat ? "GNU" : "busybox",
		 b->t.gnu_find ? "GNU" : b->t.has_find ? "busybox" : "no", b->t.has_readlink ? ", readlink" : "");
	return 0;
}

int backend_new(struct remote **out, struct kclient *kc, const struct backend_opts *o, char *err, size_t errlen)
{
	struct backend *b = calloc(1, sizeof(*b));
	struct remote_attr a;
	int rc, slot;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->r.ops = &ops;
	b->r.priv = b;
	b->kc = kc;
	b->ns = strdup(o->ns);
	b->pod = strdup(o->pod);
	b->container = o->container ? strdup(o->container) : NULL;
	b->root = strdup(o->root && *o->root ? o->root : "/");
	b->max = o->max_sessions > 0 && o->max_sessions <= MAX_SESSIONS ? o->max_sessions : 4;
	b->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 60000;
	pthread_mutex_init(&b->lock, NULL);
	/* Strip trailing slashes from the root (but keep "/"). */
	for (size_t l = strlen(b->root); l > 1 && b->root[l - 1] == '/'; l--)
		b->root[l - 1] = '\0';
	if (b->root[0] != '/') {
		snprintf(err, errlen, "the path in the container must be absolute: %s", b->root);
		rc = -EINVAL;
		goto fail;
	}
	/* The first session: its failure is the user's answer (no shell...). */
	b->sess[0] = NULL;
	rc = open_session(b, &b->sess[0], err, errlen);
	if (rc) {
		if (rc == -ENOENT)
			snprintf(err + strlen(err), errlen - strlen(err),
				 "\npodfs needs a shell (sh) in the container; images without one (distroless) are not supported yet");
		goto fail;
	}
	b->nsess = 1;
	if (be_bulk_new(b))
		log_warn("out of memory: big files are read without read-ahead streams");
	rc = probe(b, err, errlen);
	if (rc)
		goto fail;
	rc = be_getattr(&b->r, "/", &a);
	if (rc) {
		snprintf(err, errlen, "%s in container %s of pod %s/%s: %s", b->root, b->container ? b->container : "",
			 b->ns, b->pod, strerror(-rc));
		goto fail;
	}
	if (!S_ISDIR(a.mode)) {
		snprintf(err, errlen, "%s in pod %s/%s is not a directory", b->root, b->ns, b->pod);
		rc = -ENOTDIR;
		goto fail;
	}
	(void)slot;
	*out = &b->r;
	return 0;
fail:
	be_destroy(&b->r);
	return rc;
}
