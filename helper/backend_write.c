/* backend_write.c: the modifying operations of the exec backend (see
 * remote.h). Metadata changes and small writes are one request each on
 * the shell sessions; bulk sequential writes stream into `dd` on an exec
 * of their own (stdin closed at the end: v5 only).
 *
 * Nothing here is retried: a lost session is -EIO (the change may or may
 * not have happened). Errors are the errno the tool's message names.
 * Commands per tool:
 *   create      set -C; : > P   (EXCL; the mode by umask when it has no
 *               x or special bit) / : >> P, chmod for the mode
 *   write       printf DATA | dd of=P seek=OFF oflag=seek_bytes conv=notrunc
 *   wstream     exec of dd (argv, no shell) reading stdin
 *   rename      mv -f -T (GNU and busybox), NOREPLACE checked first
 *   setattr     chown -h, chmod, truncate -s (or dd seek count=0), touch -h
 *   fsync       sync [-d] P, else dd conv=fsync count=0
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "backend_int.h"
#include "kclient.h"
#include "log.h"
#include "parse.h"
#include "quote.h"
#include "tarw.h"

/* Data bytes per `printf | dd` request: at most 4x this much shell text. */
#define WRITE_CHUNK (128u * 1024)

/* Append "; stat ... P" so one request both changes and reports. */
static int append_stat(struct backend *b, struct buf *cmd, const char *p)
{
	return b->t.gnu_stat ? hq_cmd(cmd, " && stat --printf %q -- %q", FMT_GNU "\\n", p)
			     : hq_cmd(cmd, " && stat -c %q -- %q", FMT_BB, p);
}

/* Run CMD (never repeated); with OUT, its output is the stat line. */
static int run_cmd(struct backend *b, struct buf *cmd, struct remote_attr *out)
{
	struct buf o;
	int rc, st;

	buf_init(&o, 64 * 1024);
	rc = be_run_opt(b, cmd->data, &o, &st, false);
	if (!rc && st)
		rc = be_fail_from(&o, st);
	if (!rc && out) {
		/* the stat line is the last line of the output */
		size_t l = o.len;

		if (l && o.data[l - 1] == '\n')
			l--;
		size_t s = l;

		while (s > 0 && o.data[s - 1] != '\n')
			s--;
		if (hp_stat_line(o.data + s, l - s, out)) {
			log_warn("unexpected stat output after a change: %.100s", o.data ? o.data : "");
			rc = -EIO;
		}
	}
	buf_cleanup(&o);
	return rc;
}

/* Build with hq_cmd, stat P afterwards when OUT, run. */
static int change(struct backend *b, const char *statpath, struct remote_attr *out, const char *fmt, ...)
{
	struct buf cmd;
	va_list ap;
	int rc;

	buf_init(&cmd, 1u << 20);
	va_start(ap, fmt);
	rc = hq_vcmd(&cmd, fmt, ap);
	va_end(ap);
	if (!rc && out)
		rc = append_stat(b, &cmd, statpath);
	if (!rc)
		rc = run_cmd(b, &cmd, out);
	buf_cleanup(&cmd);
	return rc;
}

int be_create(struct remote *r, const char *path, uint32_t mode, unsigned flags, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p;
	char m[16];
	int rc;

	be_bulk_forget(b, path);
	snprintf(m, sizeof(m), "%04o", mode & 07777);
	rc = be_full_path(b, path, &p);
	if (!rc && (flags & REMOTE_CREATE_EXCL) && !(mode & ~0666u)) {
		/* the mode through the umask builtin (the request runs in a
		 * subshell): no chmod process for the usual 0644 */
		char um[16];

		snprintf(um, sizeof(um), "%04o", ~mode & 0777);
		rc = change(b, p.data, out, "umask %s && set -C && : > %q", um, p.data);
	} else if (!rc && (flags & REMOTE_CREATE_EXCL)) {
		rc = change(b, p.data, out, "set -C && : > %q && chmod %s -- %q", p.data, m, p.data);
	} else if (!rc && !(mode & ~0666u)) {
		char um[16];

		snprintf(um, sizeof(um), "%04o", ~mode & 0777);
		rc = change(b, p.data, out, "if [ -e %q ]; then : %s %q; else umask %s && : > %q; fi", p.data,
			    flags & REMOTE_CREATE_TRUNC ? ">" : ">>", p.data, um, p.data);
	} else if (!rc)
		rc = change(b, p.data, out,
			    "if [ -e %q ]; then : %s %q; else : > %q && chmod %s -- %q; fi", p.data,
			    flags & REMOTE_CREATE_TRUNC ? ">" : ">>", p.data, p.data, m, p.data);
	buf_cleanup(&p);
	return rc;
}

int be_mkdir(struct remote *r, const char *path, uint32_t mode, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p;
	char m[16];
	int rc;

	snprintf(m, sizeof(m), "%04o", mode & 07777);
	rc = be_full_path(b, path, &p);
	if (!rc)
		rc = change(b, p.data, out, "mkdir -m %s -- %q", m, p.data);
	buf_cleanup(&p);
	return rc;
}

int be_mknod(struct remote *r, const char *path, uint32_t mode, uint64_t rdev, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p;
	char m[16];
	int rc;

	if (S_ISREG(mode) || (mode & S_IFMT) == 0)
		return be_create(r, path, mode, REMOTE_CREATE_EXCL, out);
	snprintf(m, sizeof(m), "%04o", mode & 07777);
	rc = be_full_path(b, path, &p);
	if (rc)
		;
	else if (S_ISFIFO(mode))
		rc = change(b, p.data, out, "mkfifo -m %s -- %q", m, p.data);
	else if (S_ISCHR(mode) || S_ISBLK(mode))
		rc = change(b, p.data, out, "mknod -m %s -- %q %s %u %u", m, p.data, S_ISCHR(mode) ? "c" : "b",
			    major((dev_t)rdev), minor((dev_t)rdev));
	else
		rc = -EOPNOTSUPP; /* sockets: no tool makes one */
	buf_cleanup(&p);
	return rc;
}

int be_unlink(struct remote *r, const char *path)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc = be_full_path(b, path, &p);

	be_bulk_forget(b, path);
	/* rm refuses directories (EISDIR, as unlink(2) on Linux) */
	if (!rc)
		rc = change(b, NULL, NULL, "rm -- %q", p.data);
	buf_cleanup(&p);
	return rc;
}

int be_rmdir(struct remote *r, const char *path)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc = be_full_path(b, path, &p);

	if (!rc)
		rc = change(b, NULL, NULL, "rmdir -- %q", p.data);
	buf_cleanup(&p);
	return rc;
}

int be_rename(struct remote *r, const char *from, const char *to, unsigned flags)
{
	struct backend *b = r->priv;
	struct buf f, t;
	int rc;

	if (flags & ~REMOTE_RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE: no tool does it atomically */
	be_bulk_forget(b, from);
	be_bulk_forget(b, to);
	rc = be_full_path(b, from, &f);
	if (!rc)
		rc = be_full_path(b, to, &t);
	else
		buf_init(&t, 16);
	if (rc)
		goto out;
	struct buf cmd;

	buf_init(&cmd, 1u << 20);
	rc = hq_cmd(&cmd, "[ -e %q ] || [ -L %q ] || { echo 'podfs: No such file or directory'; exit 1; }; ", f.data,
		    f.data);
	if (!rc && (flags & REMOTE_RENAME_NOREPLACE))
		rc = hq_cmd(&cmd, "if [ -e %q ] || [ -L %q ]; then echo 'podfs: File exists'; exit 1; fi; ", t.data,
			    t.data);
	if (rc)
		;
	else if (b->t.gnu_mv)
		/* "a and b are the same file": rename(2) of two links to one
		 * inode does nothing and succeeds */
		rc = hq_cmd(&cmd,
			    "if [ %q -ef %q ] && ! [ -L %q ] && ! [ -L %q ]; then exit 0; fi; mv -f -T -- %q %q", f.data,
			    t.data, f.data, t.data, f.data, t.data);
	else
		/* mv without -T moves into an existing directory: emulate
		 * rename(2) (an empty directory target is replaced) */
		rc = hq_cmd(&cmd,
			    "if [ -d %q ] && ! [ -L %q ]; then "
			    "if [ -d %q ] && ! [ -L %q ]; then rmdir -- %q || exit; "
			    "else echo 'podfs: Is a directory'; exit 1; fi; "
			    "elif [ -e %q ] && [ -d %q ] && ! [ -L %q ]; then echo 'podfs: Not a directory'; exit 1; fi; "
			    "mv -f -- %q %q",
			    t.data, t.data, f.data, f.data, t.data, t.data, f.data, f.data, f.data, t.data);
	if (!rc)
		rc = run_cmd(b, &cmd, NULL);
	buf_cleanup(&cmd);
out:
	buf_cleanup(&f);
	buf_cleanup(&t);
	return rc;
}

int be_symlink(struct remote *r, const char *target, const char *path, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc;

	if (!*target)
		return -ENOENT; /* symlink(2) with an empty target */
	rc = be_full_path(b, path, &p);
	if (!rc)
		rc = change(b, p.data, out, "ln -s -- %q %q", target, p.data);
	buf_cleanup(&p);
	return rc;
}

int be_link(struct remote *r, const char *from, const char *to, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf f, t;
	int rc;

	rc = be_full_path(b, from, &f);
	if (!rc)
		rc = be_full_path(b, to, &t);
	else
		buf_init(&t, 16);
	/* ln into an existing directory would link inside it: EEXIST first */
	if (!rc)
		rc = change(b, t.data, out,
			    "if [ -e %q ] || [ -L %q ]; then echo 'podfs: File exists'; exit 1; fi; "
			    "if [ -d %q ] && ! [ -L %q ]; then echo 'podfs: Operation not permitted'; exit 1; fi; "
			    "ln %s-- %q %q",
			    t.data, t.data, f.data, f.data, b->t.gnu_stat ? "-P " : "", f.data, t.data);
	buf_cleanup(&f);
	buf_cleanup(&t);
	return rc;
}

/* "@SECS[.NSEC]" for touch -d (GNU takes nanoseconds, busybox seconds). */
static void touch_date(struct backend *b, const struct timespec *ts, char *out, size_t n)
{
	if (b->t.gnu_touch)
		snprintf(out, n, "@%lld.%09ld", (long long)ts->tv_sec, ts->tv_nsec);
	else
		snprintf(out, n, "@%lld", (long long)ts->tv_sec);
}

int be_setattr(struct remote *r, const char *path, const struct remote_setattr *sa, struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p, cmd;
	int rc;

	be_bulk_forget(b, path);
	rc = be_full_path(b, path, &p);
	buf_init(&cmd, 1u << 20);
	if (!rc)
		rc = hq_cmd(&cmd, "{ [ -e %q ] || [ -L %q ] || { echo 'podfs: No such file or directory'; exit 1; }; }",
			    p.data, p.data);
	/* chown first: it clears set-id bits that chmod may set again */
	if (!rc && (sa->valid & (REMOTE_SET_UID | REMOTE_SET_GID))) {
		char owner[48];

		if ((sa->valid & REMOTE_SET_UID) && (sa->valid & REMOTE_SET_GID))
			snprintf(owner, sizeof(owner), "%" PRIu32 ":%" PRIu32, sa->uid, sa->gid);
		else if (sa->valid & REMOTE_SET_UID)
			snprintf(owner, sizeof(owner), "%" PRIu32, sa->uid);
		else
			snprintf(owner, sizeof(owner), ":%" PRIu32, sa->gid);
		rc = hq_cmd(&cmd, " && chown -h %s -- %q", owner, p.data);
	}
	if (!rc && (sa->valid & REMOTE_SET_MODE)) {
		char m[16];

		snprintf(m, sizeof(m), "%04o", sa->mode & 07777);
		/* chmod follows symlinks; a symlink's own mode cannot change */
		rc = hq_cmd(&cmd, " && { ! [ -L %q ] || { echo 'podfs: Operation not supported'; exit 1; }; } && chmod %s -- %q",
			    p.data, m, p.data);
	}
	if (!rc && (sa->valid & REMOTE_SET_SIZE)) {
		if (b->t.has_truncate)
			rc = hq_cmd(&cmd, " && truncate -s %llu -- %q", (unsigned long long)sa->size, p.data);
		else
			rc = hq_cmd(&cmd,
				    " && { [ -f %q ] || { echo 'podfs: Invalid argument'; exit 1; }; } && "
				    "dd if=/dev/null of=%q oflag=seek_bytes seek=%llu count=0 2>&1 >/dev/null",
				    p.data, p.data, (unsigned long long)sa->size);
	}
	for (int which = 0; which < 2 && !rc; which++) {
		unsigned set = which ? REMOTE_SET_MTIME : REMOTE_SET_ATIME;
		unsigned now = which ? REMOTE_SET_MTIME_NOW : REMOTE_SET_ATIME_NOW;
		const char *flag = which ? "-m" : "-a";

		if (sa->valid & now) {
			rc = hq_cmd(&cmd, " && touch -c -h %s -- %q", flag, p.data);
		} else if (sa->valid & set) {
			char d[48];

			touch_date(b, which ? &sa->mtime : &sa->atime, d, sizeof(d));
			rc = hq_cmd(&cmd, " && touch -c -h %s -d %s -- %q", flag, d, p.data);
		}
	}
	if (!rc && out)
		rc = append_stat(b, &cmd, p.data);
	if (!rc)
		rc = run_cmd(b, &cmd, out);
	buf_cleanup(&cmd);
	buf_cleanup(&p);
	return rc;
}

static ssize_t write_common(struct remote *r, const char *path, uint64_t off, const void *data, size_t len,
			    struct remote_attr *out)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc;

	be_bulk_forget(b, path);
	rc = be_full_path(b, path, &p);
	for (size_t done = 0; !rc && done < len;) {
		size_t n = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
		bool last = done + n == len;

		/* dd creates a missing file, so a write never resurrects one
		 * that was removed in the pod: check it is there first */
		rc = change(b, last && out ? p.data : NULL, last ? out : NULL,
			    "[ -f %q ] || { [ -e %q ] && echo 'podfs: Invalid argument' || echo 'podfs: No such file or directory'; exit 1; }; "
			    "printf %D | dd of=%q bs=65536 oflag=seek_bytes seek=%llu conv=notrunc 2>&1 >/dev/null",
			    p.data, p.data, (const char *)data + done, n, p.data, (unsigned long long)(off + done));
		done += n;
	}
	buf_cleanup(&p);
	if (!rc) {
		pthread_mutex_lock(&b->lock);
		b->write_requests++;
		b->bytes_written += len;
		pthread_mutex_unlock(&b->lock);
	}
	return rc ? rc : (ssize_t)len;
}

ssize_t be_write(struct remote *r, const char *path, uint64_t off, const void *data, size_t len)
{
	return write_common(r, path, off, data, len, NULL);
}

ssize_t be_write_stat(struct remote *r, const char *path, uint64_t off, const void *data, size_t len,
		      struct remote_attr *out)
{
	if (len == 0)
		return -EINVAL; /* nothing to hang the stat on */
	return write_common(r, path, off, data, len, out);
}

/* Shell text per write_many request. */
#define MANY_TEXT_MAX (4u << 20)

/* Shell text a file costs at most on each path (hq_data: 4 bytes a byte;
 * hq_quote: a name of 255 quotes is under 4x). */
static size_t printf_text(const struct remote_wfile *f)
{
	return 4 * f->len + 2 * strlen(f->name) + 128;
}

static size_t tar_text(const struct remote_wfile *f)
{
	size_t nl = strlen(f->name);

	return 4 * tarw_file_size(nl, f->len) + 3 * (4 * nl + 8) + 48;
}

/* Files of one batch that share mode and mtime: written one by one (printf
 * is a builtin: no process per file), then one chmod and one touch for the
 * group (a process per group, not per file). The path of pods without GNU
 * tar, and of batches where a name is not a regular file. */
static bool same_meta(const struct remote_wfile *a, const struct remote_wfile *b)
{
	return (a->mode & 07777) == (b->mode & 07777) && a->set_mtime == b->set_mtime &&
	       (!a->set_mtime || (a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec));
}

static int many_printf(struct backend *b, const char *dir, const struct remote_wfile *f, size_t k, int *errs)
{
	struct buf cmd, out;
	size_t *order = NULL, *gend = NULL, ng = 0;
	bool *used = NULL;
	int rc, st;

	buf_init(&cmd, MANY_TEXT_MAX * 5);
	buf_init(&out, 64 * 1024);
	order = calloc(k, sizeof(*order));
	gend = calloc(k, sizeof(*gend));
	used = calloc(k, sizeof(*used));
	rc = order && gend && used ? hq_cmd(&cmd, CD_OR_FAIL, dir, dir, dir) : -ENOMEM;
	/* groups of equal (mode, mtime), in first-seen order */
	for (size_t i = 0, at = 0; !rc && i < k; i++) {
		if (used[i])
			continue;
		char m[16], d[48];

		snprintf(m, sizeof(m), "%04o", f[i].mode & 07777);
		rc = hq_cmd(&cmd, "set --; ");
		for (size_t j = i; !rc && j < k; j++) {
			char *dot = NULL;

			if (used[j] || !same_meta(&f[i], &f[j]))
				continue;
			used[j] = true;
			order[at++] = j;
			if (be_path_dot(f[j].name, &dot)) {
				rc = -ENOMEM;
				break;
			}
			/* never through a symlink, never over a directory or a fifo */
			rc = hq_cmd(&cmd,
				    "if [ -L %q ] || { [ -e %q ] && ! [ -f %q ]; }; then false; "
				    "else printf %D > %q && set -- \"$@\" %q; fi 2>/dev/null; printf '%%d ' $?; ",
				    dot, dot, dot, f[j].data, f[j].len, dot, dot);
			free(dot);
		}
		if (!rc)
			rc = hq_cmd(&cmd, "[ $# -eq 0 ] || { chmod %s -- \"$@\"", m);
		if (!rc && f[i].set_mtime) {
			touch_date(b, &f[i].mtime, d, sizeof(d));
			rc = hq_cmd(&cmd, " && touch -c -m -d %s -- \"$@\"", d);
		}
		if (!rc)
			rc = hq_cmd(&cmd, "; } 2>/dev/null; printf 'g%%d ' $?; ");
		gend[ng++] = at;
	}
	if (!rc)
		rc = be_run_opt(b, cmd.data, &out, &st, false);
	if (!rc && st)
		rc = be_fail_from(&out, st); /* only the cd exits non-zero */
	if (!rc) {
		/* per group: "S S ... gS " in ORDER; a missing number = not done */
		const char *p = out.data ? out.data : "";
		size_t at = 0;

		for (size_t i = 0; i < k; i++)
			errs[i] = -EIO;
		for (size_t g = 0; g < ng; g++) {
			size_t start = at;
			bool ok = true;

			for (; at < gend[g]; at++) {
				char *end;
				long v = strtol(p, &end, 10);

				if (end == p || *end != ' ') {
					ok = false;
					break;
				}
				errs[order[at]] = v == 0 ? 0 : -EIO;
				p = end + 1;
			}
			if (!ok || p[0] != 'g' || p[1] != '0') {
				/* chmod/touch of the group failed: redo its files */
				for (size_t x = start; x < gend[g]; x++)
					errs[order[x]] = -EIO;
				if (!ok)
					break;
			}
			p = strchr(p, ' ');
			if (!p)
				break;
			p++;
			at = gend[g];
		}
	}
	free(order);
	free(gend);
	free(used);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

/* The K files as one archive into one GNU `tar -x`, unless a name is there
 * as a symlink or a non-regular file (then nothing is written and the
 * result is 1: the caller takes the printf path, which refuses exactly
 * those). tar opens an existing file with O_TRUNC | O_NOFOLLOW
 * (--overwrite), as `printf > f` does: same inode, owner and links, and a
 * file we may not write fails as it would. Files without set_mtime get
 * the time of writing: tar -m when no file of the batch sets one, else
 * this host's clock in whole seconds. tar exit 0: all stored; otherwise
 * all -EIO (the caller redoes them one by one for the precise errno). */
static int many_tar(struct backend *b, const char *dir, const struct remote_wfile *f, size_t k, int *errs)
{
	struct buf cmd, out, ar;
	struct timespec now;
	bool any_mtime = false;
	int rc, st;

	buf_init(&cmd, MANY_TEXT_MAX * 5);
	buf_init(&out, 64 * 1024);
	buf_init(&ar, MANY_TEXT_MAX * 5 / 4);
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	rc = hq_cmd(&cmd, CD_OR_FAIL, dir, dir, dir);
	if (!rc)
		rc = hq_cmd(&cmd, "if false");
	for (size_t i = 0; !rc && i < k; i++) {
		char *dot = NULL;

		any_mtime |= f[i].set_mtime;
		rc = be_path_dot(f[i].name, &dot) ? -ENOMEM
						  : hq_cmd(&cmd, " || [ -L %q ] || { [ -e %q ] && ! [ -f %q ]; }", dot, dot, dot);
		free(dot);
		if (!rc)
			rc = tarw_file(&ar, f[i].name, f[i].mode & 07777, f[i].set_mtime ? &f[i].mtime : &now, f[i].data,
				       f[i].len);
	}
	if (!rc)
		rc = tarw_end(&ar);
	if (!rc)
		rc = hq_cmd(&cmd,
			    "; then echo podfs-tar:skip; else "
			    "printf %D | tar -x -f - -p --no-same-owner --overwrite%s -C . 2>/dev/null; "
			    "echo podfs-tar:$?; fi",
			    ar.data, ar.len, any_mtime ? "" : " -m");
	if (rc == -E2BIG)
		rc = 1; /* one file too big for an archive: as before */
	if (!rc)
		rc = be_run_opt(b, cmd.data, &out, &st, false);
	if (!rc && st)
		rc = be_fail_from(&out, st); /* only the cd exits non-zero */
	if (!rc) {
		const char *p = out.data ? strstr(out.data, "podfs-tar:") : NULL;

		if (p && !strncmp(p, "podfs-tar:skip\n", 15)) {
			rc = 1;
		} else {
			bool ok = p && !strcmp(p, "podfs-tar:0\n");

			if (!ok)
				log_debug("tar of %zu files in %s: %.60s; redoing them one by one", k, dir,
					  p ? p : "no status");
			for (size_t i = 0; i < k; i++)
				errs[i] = ok ? 0 : -EIO;
		}
	}
	buf_cleanup(&ar);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

static int many_chunk(struct backend *b, const char *dir, const struct remote_wfile *f, size_t n, int *errs,
		      size_t *done)
{
	size_t k = 0;
	int rc = 1;

	/* how many files fit this request (the tar text bounds the printf
	 * text, so a fallback takes the same files) */
	for (size_t text = 0; k < n && (k == 0 || text < MANY_TEXT_MAX); k++)
		text += b->t.gnu_tar ? tar_text(&f[k]) : printf_text(&f[k]);
	if (b->t.gnu_tar)
		rc = many_tar(b, dir, f, k, errs);
	if (rc == 1)
		rc = many_printf(b, dir, f, k, errs);
	if (!rc) {
		pthread_mutex_lock(&b->lock);
		b->write_requests++;
		for (size_t i = 0; i < k; i++)
			if (errs[i] == 0)
				b->bytes_written += f[i].len;
		pthread_mutex_unlock(&b->lock);
	}
	*done = k;
	return rc;
}

/* ---- trees: names with directories ---- */

/* Names compared so that a directory comes right before everything below
 * it ('/' sorts first): the order GNU tar wants to set a directory's
 * times only after its contents. */
static int tree_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x != y) {
			if (!x || !y)
				return x ? 1 : -1;
			return x == '/' ? -1 : y == '/' ? 1 : x - y;
		}
		if (!x)
			return 0;
	}
}

static const struct remote_wfile *sort_base;
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int tree_ix_cmp(const void *a, const void *b)
{
	return tree_cmp(sort_base[*(const size_t *)a].name, sort_base[*(const size_t *)b].name);
}

static int name_ix_cmp(const void *a, const void *b)
{
	return strcmp(sort_base[*(const size_t *)a].name, sort_base[*(const size_t *)b].name);
}

/* The indexes of F's entries (only its directory entries with DIRS_ONLY)
 * into a malloc'd *OUT (*K of them), sorted by CMP. */
static int sorted_ix(const struct remote_wfile *f, size_t n, bool dirs_only, int (*cmp)(const void *, const void *),
		     size_t **out, size_t *k)
{
	size_t *ix = malloc((n + 1) * sizeof(*ix)), m = 0;

	if (!ix)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!dirs_only || f[i].type == S_IFDIR)
			ix[m++] = i;
	pthread_mutex_lock(&sort_lock); /* (qsort has no context argument) */
	sort_base = f;
	qsort(ix, m, sizeof(*ix), cmp);
	pthread_mutex_unlock(&sort_lock);
	*out = ix;
	*k = m;
	return 0;
}

/* The directory entry named by F[i].name's directory part (DIRS: the
 * directory entries' indexes in strcmp order, ND of them): its index;
 * -1 when F[i] is right in the call's directory, -2 when its directory
 * is no entry of the call. */
static long parent_entry(const struct remote_wfile *f, const size_t *dirs, size_t nd, size_t i)
{
	const char *name = f[i].name, *sl = strrchr(name, '/');
	size_t l, lo = 0, hi = nd;

	if (!sl)
		return -1;
	l = (size_t)(sl - name);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *dn = f[dirs[mid]].name;
		int c = strncmp(dn, name, l);

		if (c == 0 && dn[l])
			c = 1;
		if (c == 0)
			return (long)dirs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -2;
}

/* Count one request of write_many. */
static void count_request(struct backend *b)
{
	pthread_mutex_lock(&b->lock);
	b->write_requests++;
	pthread_mutex_unlock(&b->lock);
}

/* Read "S S ... " from OUT for the K entries SENT: ERRS[i] = -EIO where
 * S is not 0 or missing. */
static void parse_statuses(const struct buf *out, const size_t *sent, size_t k, int *errs)
{
	const char *p = out->data ? out->data : "";

	for (size_t x = 0; x < k; x++) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || *end != ' ') {
			errs[sent[x]] = -EIO; /* and the ones after: no answer */
			continue;
		}
		if (v)
			errs[sent[x]] = -EIO;
		p = end + 1;
	}
}

/* Make the directory entries IX (ND, in the call's order) where they are
 * missing, in requests of at most MANY_TEXT_MAX. An entry below another
 * runs only when that one is a directory and no symlink (by induction
 * its whole path is), else it is refused; so is one whose directory is
 * no entry of the call or comes later. DSORTED/NDS: parent_entry's
 * index. ERRS[i]: 0 or -EIO. */
static int many_mkdirs(struct backend *b, const char *dir, const struct remote_wfile *f, size_t n, const size_t *ix,
		       size_t nd, const size_t *dsorted, size_t nds, int *errs)
{
	enum { PENDING, SENT, DONE };
	unsigned char *state = calloc(n + 1, 1);
	size_t *sent = calloc(nd + 1, sizeof(*sent));
	struct buf cmd, out;
	int rc = state && sent ? 0 : -ENOMEM, st;

	buf_init(&cmd, MANY_TEXT_MAX * 2);
	buf_init(&out, 64 * 1024);
	for (size_t at = 0; !rc && at < nd;) {
		size_t ns = 0;

		buf_reset(&cmd);
		rc = hq_cmd(&cmd, CD_OR_FAIL, dir, dir, dir);
		for (; !rc && at < nd && cmd.len < MANY_TEXT_MAX; at++) {
			size_t i = ix[at];
			long pe = parent_entry(f, dsorted, nds, i);
			char *dot = NULL;

			state[i] = DONE;
			if (pe == -2 || (pe >= 0 && (state[pe] == PENDING || (state[pe] == DONE && errs[pe])))) {
				errs[i] = -EIO;
				continue;
			}
			if (be_path_dot(f[i].name, &dot)) {
				rc = -ENOMEM;
				break;
			}
			if (pe >= 0 && state[pe] == SENT)
				rc = hq_cmd(&cmd, "if [ \"$s%llu\" = 0 ]; then ", (unsigned long long)pe);
			if (!rc)
				rc = hq_cmd(&cmd, "{ mkdir -- %q || [ -d %q ]; } 2>/dev/null && ! [ -L %q ]; s%llu=$?; ", dot,
					    dot, dot, (unsigned long long)i);
			if (!rc && pe >= 0 && state[pe] == SENT)
				rc = hq_cmd(&cmd, "else s%llu=1; fi; ", (unsigned long long)i);
			if (!rc)
				rc = hq_cmd(&cmd, "printf '%%d ' \"$s%llu\"; ", (unsigned long long)i);
			free(dot);
			state[i] = SENT;
			sent[ns++] = i;
		}
		if (!rc && ns)
			rc = be_run_opt(b, cmd.data, &out, &st, false);
		if (!rc && ns && st)
			rc = be_fail_from(&out, st); /* only the cd exits non-zero */
		if (rc)
			break;
		if (ns) {
			count_request(b);
			parse_statuses(&out, sent, ns, errs);
		}
		for (size_t x = 0; x < ns; x++)
			state[sent[x]] = DONE;
	}
	free(state);
	free(sent);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

/* The mode and mtime of directory entries IX (ND; set in reverse: the
 * deepest first), in requests of at most MANY_TEXT_MAX. */
static int many_dirmeta(struct backend *b, const char *dir, const struct remote_wfile *f, const size_t *ix, size_t nd,
			int *errs)
{
	size_t *sent = calloc(nd + 1, sizeof(*sent));
	struct buf cmd, out;
	int rc = sent ? 0 : -ENOMEM, st;

	buf_init(&cmd, MANY_TEXT_MAX * 2);
	buf_init(&out, 64 * 1024);
	for (size_t at = 0; !rc && at < nd;) {
		size_t ns = 0;

		buf_reset(&cmd);
		rc = hq_cmd(&cmd, CD_OR_FAIL, dir, dir, dir);
		for (; !rc && at < nd && cmd.len < MANY_TEXT_MAX; at++) {
			size_t i = ix[nd - 1 - at];
			const struct remote_wfile *d = &f[i];
			char *dot = NULL;
			char m[16], t[48];

			if (be_path_dot(d->name, &dot)) {
				rc = -ENOMEM;
				break;
			}
			snprintf(m, sizeof(m), "%04o", d->mode & 07777);
			if (d->set_mtime) {
				touch_date(b, &d->mtime, t, sizeof(t));
				rc = hq_cmd(&cmd, "{ chmod %s -- %q && touch -c -m -d %s -- %q; } 2>/dev/null; printf '%%d ' $?; ",
					    m, dot, t, dot);
			} else {
				rc = hq_cmd(&cmd, "chmod %s -- %q 2>/dev/null; printf '%%d ' $?; ", m, dot);
			}
			free(dot);
			sent[ns++] = i;
		}
		if (!rc)
			rc = be_run_opt(b, cmd.data, &out, &st, false);
		if (!rc && st)
			rc = be_fail_from(&out, st);
		if (rc)
			break;
		count_request(b);
		parse_statuses(&out, sent, ns, errs);
	}
	free(sent);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return rc;
}

/* The request path of write_many: directory entries made first, then the
 * files (those whose directory was made), then the directories' modes
 * and times. */
static int many_requests(struct backend *b, const char *dir, const struct remote_wfile *files, size_t n, int *errs)
{
	struct remote_wfile *fl = NULL;
	size_t *dix = NULL, *dsorted = NULL, *fix = NULL, nd = 0, nds = 0, nf = 0;
	int *ferr = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		errs[i] = 0;
		nd += files[i].type == S_IFDIR;
	}
	if (nd == 0 && n) {
		bool flat = true;

		for (size_t i = 0; flat && i < n; i++)
			flat = !strchr(files[i].name, '/');
		if (flat) {
			for (size_t i = 0; !rc && i < n;) {
				size_t done = 0;

				rc = many_chunk(b, dir, files + i, n - i, errs + i, &done);
				i += done;
			}
			return rc;
		}
	}
	dix = calloc(nd + 1, sizeof(*dix));
	fix = calloc(n - nd + 1, sizeof(*fix));
	fl = calloc(n - nd + 1, sizeof(*fl));
	ferr = calloc(n - nd + 1, sizeof(*ferr));
	if (!dix || !fix || !fl || !ferr)
		rc = -ENOMEM;
	if (!rc)
		rc = sorted_ix(files, n, true, name_ix_cmp, &dsorted, &nds);
	for (size_t i = 0, k = 0; !rc && i < n; i++)
		if (files[i].type == S_IFDIR)
			dix[k++] = i;
	if (!rc)
		rc = many_mkdirs(b, dir, files, n, dix, nd, dsorted, nds, errs);
	for (size_t i = 0; !rc && i < n; i++) {
		long pe;

		if (files[i].type == S_IFDIR)
			continue;
		pe = parent_entry(files, dsorted, nds, i);
		if (pe == -2 || (pe >= 0 && errs[pe])) {
			errs[i] = -EIO; /* never through what was refused */
			continue;
		}
		fix[nf] = i;
		fl[nf++] = files[i];
	}
	for (size_t i = 0; !rc && i < nf;) {
		size_t done = 0;

		rc = many_chunk(b, dir, fl + i, nf - i, ferr + i, &done);
		i += done;
	}
	for (size_t i = 0; !rc && i < nf; i++)
		errs[fix[i]] = ferr[i];
	if (!rc) {
		size_t ok = 0; /* never chmod through what mkdir refused */

		for (size_t k = 0; k < nd; k++)
			if (!errs[dix[k]])
				dix[ok++] = dix[k];
		rc = ok ? many_dirmeta(b, dir, files, dix, ok, errs) : 0;
	}
	free(dix);
	free(dsorted);
	free(fix);
	free(fl);
	free(ferr);
	return rc;
}

/* The whole batch as one archive on the stdin of its own exec: `sh -c`
 * checks that no name is a symlink or a special file (names are argv:
 * no shell text), then `exec tar -x`. No escaping, one exec for up to
 * STREAM_MAX bytes (kubectl cp's way). GNU tar makes the directory
 * entries and sets their modes and times after the files (as
 * write_many promises). 0 (ERRS set), 1 = not done (a name is not what
 * its entry is, or the archive or the names are too big: the caller goes
 * on with requests), -ENOTSUP (v4 server: no stdin EOF), -errno. */
#define STREAM_MAX (64u << 20)
/* Names checked before a streamed tar travel in the exec URL's argv:
 * kept well under an API server's 1 MiB request-line limit. */
#define STREAM_ARGV_MAX (256u * 1024)

/* Does the stream's script check F's name first? Directory entries and
 * names in DIR itself, always (what is there may be anything); a file
 * below a directory entry of the call is in a directory the call made or
 * checked (tar itself opens files with O_NOFOLLOW). */
static bool check_in_stream(const struct remote_wfile *f)
{
	return f->type == S_IFDIR || !strchr(f->name, '/');
}

static int many_tar_stream(struct backend *b, const char *dir, const struct remote_wfile *f, size_t n, int *errs)
{
	struct buf ar, script, msg;
	struct timespec now;
	struct kexec *x = NULL;
	struct kexec_result res;
	bool any_mtime = false;
	char **argv = NULL;
	int rc = 0;

	buf_init(&ar, STREAM_MAX + TARW_END_SIZE);
	buf_init(&script, 64 * 1024);
	buf_init(&msg, 16 * 1024);
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	size_t nargs = 0, argbytes = 0, *order = NULL, *dsorted = NULL, nds = 0, no = 0;

	/* every directory on a path an entry of the call (else requests,
	 * which refuse that entry), and the archive in tree order */
	rc = sorted_ix(f, n, true, name_ix_cmp, &dsorted, &nds);
	for (size_t i = 0; !rc && i < n; i++)
		if (parent_entry(f, dsorted, nds, i) == -2)
			rc = 1;
	if (!rc)
		rc = sorted_ix(f, n, false, tree_ix_cmp, &order, &no);
	for (size_t k = 0; !rc && k < n; k++) {
		size_t i = order[k];
		const struct timespec *mt = f[i].set_mtime ? &f[i].mtime : &now;

		any_mtime |= f[i].set_mtime;
		rc = f[i].type == S_IFDIR ? tarw_dir(&ar, f[i].name, f[i].mode & 07777, mt)
					  : tarw_file(&ar, f[i].name, f[i].mode & 07777, mt, f[i].data, f[i].len);
		if (check_in_stream(&f[i])) {
			nargs++;
			argbytes += strlen(f[i].name) + 3;
		}
	}
	if (!rc)
		rc = tarw_end(&ar);
	if (rc == -E2BIG || argbytes > STREAM_ARGV_MAX)
		rc = 1;
	if (!rc)
		rc = hq_cmd(&script,
			    CD_OR_FAIL "for n; do case $n in "
			    "d/*) n=./${n#d/}; [ -L \"$n\" ] || { [ -e \"$n\" ] && ! [ -d \"$n\" ]; } ;; "
			    "*) n=./${n#f/}; [ -L \"$n\" ] || { [ -e \"$n\" ] && ! [ -f \"$n\" ]; } ;; "
			    "esac && { echo podfs-tar:skip; exit 3; }; done; "
			    "exec tar -x -f - -p --no-same-owner --overwrite%s -C .",
			    dir, dir, dir, any_mtime ? "" : " -m");
	if (!rc && !(argv = calloc(nargs + 5, sizeof(*argv))))
		rc = -ENOMEM;
	for (size_t i = 0, a = 4; !rc && i < n; i++) {
		if (!check_in_stream(&f[i]))
			continue;
		if (asprintf(&argv[a], "%s/%s", f[i].type == S_IFDIR ? "d" : "f", f[i].name) < 0) {
			argv[a] = NULL;
			rc = -ENOMEM;
		}
		a++;
	}
	if (!rc) {
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = script.data;
		argv[3] = "sh";
		struct kexec_opts o = { .ns = b->ns, .pod = b->pod, .container = b->container, .argv = argv,
					.in = true, .out = true, .err = true };

		rc = kexec_start(b->kc, &o, &x) ? -EIO : 0;
	}
	if (!rc) {
		int v = kexec_version(x, b->timeout_ms);

		if (v == 4) {
			b->t.no_tar_stream = true;
			rc = -ENOTSUP;
		} else if (v < 0) {
			rc = 1; /* could not start (429...): requests instead */
		}
	}
	for (size_t off = 0; !rc && off < ar.len;) {
		ssize_t w = kexec_write(x, ar.data + off, ar.len - off, b->timeout_ms);

		if (w < 0)
			break; /* it ended early (skip, or an error): its status says */
		off += (size_t)w;
	}
	if (!rc && kexec_close_stdin(x))
		kexec_cancel(x);
	if (!rc) {
		char chunk[4096];

		for (;;) {
			enum kexec_chan ch;
			ssize_t got = kexec_read(x, &ch, chunk, sizeof(chunk), b->timeout_ms);

			if (got <= 0)
				break;
			if (msg.len + (size_t)got < 15 * 1024)
				buf_append(&msg, chunk, (size_t)got);
		}
		if (kexec_wait(x, &res, b->timeout_ms) || res.rc) {
			rc = 1; /* the stream broke: requests tell file by file */
		} else if (res.exit_code == 3 && msg.data && strstr(msg.data, "podfs-tar:skip")) {
			rc = 1;
		} else if (res.exit_code == 1 && msg.len && !strncmp(msg.data, "podfs: ", 7)) {
			rc = be_fail_from(&msg, 1); /* the cd (tar's own messages start "tar: ") */
		} else {
			if (res.exit_code)
				log_debug("streamed tar of %zu files in %s: exit %d: %.80s", n, dir, res.exit_code,
					  msg.data ? msg.data : "");
			for (size_t i = 0; i < n; i++)
				errs[i] = res.exit_code ? -EIO : 0;
		}
	} else if (x) {
		kexec_cancel(x);
	}
	if (x)
		kexec_free(x);
	if (!rc) {
		pthread_mutex_lock(&b->lock);
		b->write_requests++;
		for (size_t i = 0; i < n; i++)
			if (errs[i] == 0)
				b->bytes_written += f[i].len;
		pthread_mutex_unlock(&b->lock);
	}
	for (size_t a = 4; argv && argv[a]; a++)
		free(argv[a]);
	free(argv);
	free(order);
	free(dsorted);
	buf_cleanup(&ar);
	buf_cleanup(&script);
	buf_cleanup(&msg);
	return rc;
}

int be_write_many(struct remote *r, const char *dir, const struct remote_wfile *files, size_t n, int *errs)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc = be_full_path(b, dir, &p);

	for (size_t i = 0; !rc && i < n; i++) {
		char *fp = NULL;

		if (asprintf(&fp, "%s/%s", strcmp(dir, "/") ? dir : "", files[i].name) > 0) {
			be_bulk_forget(b, fp);
			free(fp);
		}
	}
	/* many files: one exec streaming an archive beats several
	 * escaped requests (a request per 4 MiB of shell text) */
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += files[i].len;
	/* (an exec costs 20 ms to 1 s to start: only for big batches) */
	if (!rc && b->t.gnu_tar && !b->t.no_tar_stream && (n >= 256 || total >= (2u << 20))) {
		int s = many_tar_stream(b, p.data, files, n, errs);

		if (s == 0 || (s < 0 && s != -ENOTSUP)) {
			buf_cleanup(&p);
			return s;
		}
	}
	rc = rc ? rc : many_requests(b, p.data, files, n, errs);
	buf_cleanup(&p);
	return rc;
}

int be_may_write(struct remote *r, const char *path)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc = be_full_path(b, path, &p);

	/* opening for append writes nothing and changes no time, but fails
	 * exactly as a write would (the shell names the errno) */
	if (!rc)
		rc = change(b, NULL, NULL,
			    "if [ -d %q ]; then [ -w %q ] || { echo 'podfs: Permission denied'; exit 1; }; "
			    "else : >> %q; fi", p.data, p.data, p.data);
	buf_cleanup(&p);
	return rc;
}

int be_fsync(struct remote *r, const char *path, int datasync)
{
	struct backend *b = r->priv;
	struct buf p;
	int rc = be_full_path(b, path, &p);

	if (!rc && b->t.has_sync)
		rc = change(b, NULL, NULL, "sync %s-- %q", datasync ? "-d " : "", p.data);
	else if (!rc)
		rc = change(b, NULL, NULL, "dd if=/dev/null of=%q conv=notrunc,fsync count=0 2>&1 >/dev/null", p.data);
	buf_cleanup(&p);
	return rc;
}

/* ---- bulk write streams: dd on an exec of its own ---- */

struct remote_wstream {
	struct backend *b;
	struct kexec *x;
	char *path;
	uint64_t bytes;
	int err; /* first error seen */
};

/* Collect what dd said (bounded) and its exit status; 0 or -errno. */
static int ws_finish(struct remote_wstream *w)
{
	struct buf msg;
	struct kexec_result res;
	char chunk[4096];
	int rc;

	buf_init(&msg, 64 * 1024);
	for (;;) {
		enum kexec_chan ch;
		ssize_t n = kexec_read(w->x, &ch, chunk, sizeof(chunk), w->b->timeout_ms);

		if (n <= 0)
			break;
		if (msg.len + (size_t)n < 60 * 1024)
			buf_append(&msg, chunk, (size_t)n);
	}
	rc = kexec_wait(w->x, &res, w->b->timeout_ms);
	if (rc == 0 && res.rc == 0 && res.exit_code == 0)
		rc = 0;
	else if (rc == 0 && res.rc == 0)
		rc = be_fail_from(&msg, res.exit_code);
	else {
		log_warn("writing %s in pod %s/%s: %s", w->path, w->b->ns, w->b->pod,
			 res.message[0] ? res.message : strerror(-(rc ? rc : res.rc)));
		rc = -EIO;
	}
	buf_cleanup(&msg);
	return rc;
}

int be_wopen(struct remote *r, const char *path, uint64_t off, struct remote_wstream **out)
{
	struct backend *b = r->priv;
	struct remote_wstream *w;
	struct buf p;
	char seek[48];
	int rc;

	*out = NULL;
	be_bulk_forget(b, path);
	rc = be_full_path(b, path, &p);
	w = calloc(1, sizeof(*w));
	if (rc || !w) {
		buf_cleanup(&p);
		free(w);
		return rc ? rc : -ENOMEM;
	}
	w->b = b;
	w->path = buf_take(&p);
	if (!w->path) {
		free(w);
		return -ENOMEM;
	}
	snprintf(seek, sizeof(seek), "seek=%llu", (unsigned long long)off);
	/* argv straight to dd (no shell): of=PATH is one word whatever PATH holds */
	char *ofp = malloc(strlen(w->path) + 4);

	if (!ofp) {
		free(w->path);
		free(w);
		return -ENOMEM;
	}
	memcpy(ofp, "of=", 3);
	memcpy(ofp + 3, w->path, strlen(w->path) + 1);
	char *argv[] = { "dd", ofp, "bs=131072", seek, "oflag=seek_bytes", "conv=notrunc", NULL };
	struct kexec_opts o = { .ns = b->ns, .pod = b->pod, .container = b->container, .argv = argv,
				.in = true, .out = true, .err = true };

	rc = kexec_start(b->kc, &o, &w->x);
	free(ofp);
	if (!rc) {
		int v = kexec_version(w->x, b->timeout_ms);

		if (v == 4) {
			/* v4 cannot end stdin (CLARIFICATIONS 4) */
			kexec_cancel(w->x);
			rc = -ENOTSUP;
		} else if (v < 0) {
			struct kexec_result res;

			kexec_wait(w->x, &res, 1000);
			log_warn("cannot start a write stream into pod %s/%s: %s", b->ns, b->pod,
				 res.message[0] ? res.message : strerror(-v));
			rc = -EIO;
		}
	}
	if (rc) {
		kexec_free(w->x);
		free(w->path);
		free(w);
		return rc == -ENOTSUP ? rc : -EIO;
	}
	pthread_mutex_lock(&b->lock);
	b->wstreams++;
	pthread_mutex_unlock(&b->lock);
	*out = w;
	return 0;
}

ssize_t be_wstream_write(struct remote_wstream *w, const void *data, size_t len)
{
	size_t done = 0;

	if (w->err)
		return w->err;
	while (done < len) {
		ssize_t n = kexec_write(w->x, (const char *)data + done, len - done, w->b->timeout_ms);

		if (n < 0) {
			/* dd ended early (no space, no permission...): its message says why */
			w->err = n == -EPIPE ? ws_finish(w) : (int)n;
			if (!w->err)
				w->err = -EIO; /* ended "successfully" before reading everything */
			return w->err;
		}
		done += (size_t)n;
	}
	w->bytes += len;
	pthread_mutex_lock(&w->b->lock);
	w->b->bytes_written += len;
	pthread_mutex_unlock(&w->b->lock);
	return (ssize_t)len;
}

int be_wstream_close(struct remote_wstream *w)
{
	int rc;

	if (!w)
		return 0;
	rc = w->err;
	if (!rc) {
		rc = kexec_close_stdin(w->x);
		if (rc) {
			kexec_cancel(w->x);
			rc = -EIO;
		} else {
			rc = ws_finish(w);
		}
	}
	kexec_free(w->x);
	free(w->path);
	free(w);
	return rc;
}

