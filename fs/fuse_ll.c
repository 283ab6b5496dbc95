/* fuse_ll.c: libfuse's low-level operations -> vfs_* -> fuse_reply_*.
 *
 * No filesystem logic here (that is vfs.c, tested without FUSE): each
 * handler unpacks the request, calls vfs and replies, `fuse_reply_err(req,
 * -rc)` for errors. What is FUSE-specific lives here: entry and attribute
 * timeouts, negative entries (ino 0), keep_cache at open, readdir(plus)
 * buffer packing with offsets = snapshot index + 1, undoing the lookup
 * count of entries the kernel never received, the mount and the loop.
 *
 * Threads: handlers run on libfuse's worker threads, concurrently; the
 * state they share is the vfs (thread-safe). No locks here.
 */
#define FUSE_USE_VERSION 314

#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#include "buf.h"
#include "ctlsock.h"
#include "log.h"
#include "vfs.h"

#define MAX_IO (1024 * 1024) /* max_read and max_write (CLARIFICATIONS 13) */
#define LOOP_THREADS 16

struct fsctx {
	struct vfs *v;
	double timeout;
	struct fuse_session *se;
};

/* A directory handle: the vfs snapshot and whether it was read from yet
 * (a read at offset 0 after that is a rewinddir). */
struct dirh {
	struct vfs_dir *d;
	bool started;
};

static struct fsctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct vfs *vfs_of(fuse_req_t req)
{
	return ctx_of(req)->v;
}

static void reply_rc(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

static void fill_entry(struct fsctx *c, const struct vfs_entry *ve, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ve->ino;
	e->generation = ve->generation;
	e->attr = ve->st;
	e->attr_timeout = c->timeout;
	e->entry_timeout = c->timeout;
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		/* always plus: `ls -l` then needs no lookup at all */
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
	/* a replaced symlink gets a new ino (inode.c), so the kernel's cached
	 * target can never outlive the link it belongs to */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* the kernel drops its cached pages itself when a getattr reply
	 * shows a new mtime or size; open's keep_cache covers the rest */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = MAX_IO;
	conn->max_read = MAX_IO; /* must match -o max_read */
	if (conn->max_readahead > MAX_IO)
		conn->max_readahead = MAX_IO;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsctx *c = ctx_of(req);
	struct fuse_entry_param e;
	struct vfs_entry ve;
	int rc = vfs_lookup(c->v, parent, name, &ve);

	if (rc == -ENOENT && c->timeout > 0) {
		/* a negative entry the kernel may cache for the timeout */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = c->timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		reply_rc(req, rc);
		return;
	}
	fill_entry(c, &ve, &e);
	if (fuse_reply_entry(req, &e) != 0)
		vfs_forget(c->v, ve.ino, 1); /* the kernel never got it */
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	vfs_forget(vfs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct vfs *v = vfs_of(req);

	for (size_t i = 0; i < count; i++)
		vfs_forget(v, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int rc = vfs_getattr(vfs_of(req), ino, &st);

	(void)fi;
	if (rc)
		reply_rc(req, rc);
	else
		fuse_reply_attr(req, &st, ctx_of(req)->timeout);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char *target;
	int rc = vfs_readlink(vfs_of(req), ino, &target);

	if (rc)
		reply_rc(req, rc);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct vfs_file *f;
	bool keep;
	int rc = vfs_open(v, ino, fi->flags, &f, &keep);

	if (rc) {
		reply_rc(req, rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	if (keep) {
		/* a small file's content straight into the kernel's page cache,
		 * before the reply: the reader's read() is served there (no
		 * READ round trip per file for grep -r or cp -r) */
		void *data;
		size_t len;

		if (vfs_open_prefill(v, f, &data, &len) == 0 && data) {
			struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);

			bv.buf[0].mem = data;
			if (fuse_lowlevel_notify_store(ctx_of(req)->se, ino, 0, &bv, 0) == 0)
				vfs_open_prefilled(v, f);
			free(data);
		}
	}
	fi->keep_cache = keep;
	fi->direct_io = 0; /* mmap must work (CLARIFICATIONS 13) */
	/* a reader's close has nothing to report: no FLUSH round trip */
	fi->noflush = !vfs_file_needs_flush(f);
	if (fuse_reply_open(req, fi) != 0)
		vfs_release(v, f);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct vfs_file *f = (struct vfs_file *)(uintptr_t)fi->fh;
	char *buf;
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size > MAX_IO)
		size = MAX_IO;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vfs_read(vfs_of(req), f, (uint64_t)off, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	vfs_release(vfs_of(req), (struct vfs_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Every close: the pod has stored all data written through any handle of
 * the file, or the error says what went wrong (CLARIFICATIONS 5). */
static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	reply_rc(req, vfs_flush(vfs_of(req), (struct vfs_file *)(uintptr_t)fi->fh));
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	reply_rc(req, vfs_fsync(vfs_of(req), (struct vfs_file *)(uintptr_t)fi->fh, datasync));
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vfs *v = vfs_of(req);
	struct dirh *h = calloc(1, sizeof(*h));
	int rc;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = vfs_opendir(v, ino, &h->d);
	if (rc) {
		free(h);
		reply_rc(req, rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	if (fuse_reply_open(req, fi) != 0) {
		vfs_releasedir(v, h->d);
		free(h);
	}
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
		       bool plus)
{
	struct fsctx *c = ctx_of(req);
	struct dirh *h = (struct dirh *)(uintptr_t)fi->fh;
	uint64_t *refs = NULL;
	size_t nrefs = 0, pos = 0, count;
	char *buf = NULL;
	int rc = 0;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off == 0 && h->started) {
		rc = vfs_dir_rewind(c->v, h->d);
		if (rc)
			goto out;
	}
	h->started = true;
	buf = calloc(1, size ? size : 1);
	/* an entry takes at least 24 bytes (40 with plus), so this bounds
	 * the lookups this reply can add */
	refs = plus ? calloc(size / 24 + 1, sizeof(*refs)) : NULL;
	if (!buf || (plus && !refs)) {
		rc = -ENOMEM;
		goto out;
	}
	count = vfs_dir_count(h->d);
	for (size_t i = (size_t)off; i < count; i++) {
		struct vfs_entry ve;
		const char *name;
		size_t need;

		rc = vfs_dir_entry(c->v, h->d, i, plus, &name, &ve);
		if (rc) {
			if (pos > 0)
				rc = 0; /* send what fits; the error comes next time */
			break;
		}
		if (plus) {
			struct fuse_entry_param e;

			fill_entry(c, &ve, &e);
			if (!ve.ino)
				e.attr = ve.st; /* "." and "..": no entry, just d_ino */
			need = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e,
						      (off_t)(i + 1));
		} else {
			need = fuse_add_direntry(req, buf + pos, size - pos, name, &ve.st,
						 (off_t)(i + 1));
		}
		if (need > size - pos) {
			if (ve.ino)
				vfs_forget(c->v, ve.ino, 1); /* did not fit */
			break;
		}
		if (ve.ino)
			refs[nrefs++] = ve.ino;
		pos += need;
	}
out:
	if (rc) {
		for (size_t i = 0; i < nrefs; i++)
			vfs_forget(c->v, refs[i], 1);
		reply_rc(req, rc);
	} else if (fuse_reply_buf(req, buf, pos) != 0) {
		for (size_t i = 0; i < nrefs; i++)
			vfs_forget(c->v, refs[i], 1); /* the kernel never got them */
	}
	free(refs);
	free(buf);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *h = (struct dirh *)(uintptr_t)fi->fh;

	(void)ino;
	if (h) {
		vfs_releasedir(vfs_of(req), h->d);
		free(h);
	}
	fuse_reply_err(req, 0);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int rc = vfs_statfs(vfs_of(req), ino, &st);

	if (rc)
		reply_rc(req, rc);
	else
		fuse_reply_statfs(req, &st);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	reply_rc(req, vfs_access(vfs_of(req), ino, mask));
}

/* vfs answers ENOSYS: the kernel then stops asking for the whole mount
 * (ls asks for two xattrs per file otherwise) and tells callers
 * EOPNOTSUPP itself. */
static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)size;
	reply_rc(req, vfs_getxattr(vfs_of(req), ino, name));
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)size;
	reply_rc(req, vfs_listxattr(vfs_of(req), ino));
}

/* ---- modifying operations (vfs decides, EROFS on a read-only mount) ---- */

static void reply_entry_rc(fuse_req_t req, int rc, const struct vfs_entry *ve)
{
	struct fsctx *c = ctx_of(req);
	struct fuse_entry_param e;

	if (rc) {
		reply_rc(req, rc);
		return;
	}
	fill_entry(c, ve, &e);
	if (fuse_reply_entry(req, &e) != 0)
		vfs_forget(c->v, ve->ino, 1);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fsctx *c = ctx_of(req);
	struct remote_setattr sa = { 0 };
	struct stat st;
	int rc;

	(void)fi;
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= REMOTE_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= REMOTE_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= REMOTE_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		sa.valid |= REMOTE_SET_SIZE;
		sa.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa.valid |= REMOTE_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.valid |= REMOTE_SET_ATIME;
		sa.atime = attr->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.valid |= REMOTE_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.valid |= REMOTE_SET_MTIME;
		sa.mtime = attr->st_mtim;
	}
	if (!sa.valid) {
		/* only ctime (or nothing we keep): answer the attributes */
		rc = vfs_getattr(c->v, ino, &st);
	} else {
		rc = vfs_setattr(c->v, ino, &sa, &st);
	}
	if (rc)
		reply_rc(req, rc);
	else
		fuse_reply_attr(req, &st, c->timeout);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct vfs_entry ve;

	reply_entry_rc(req, vfs_mknod(vfs_of(req), parent, name, mode, rdev, &ve), &ve);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct vfs_entry ve;

	reply_entry_rc(req, vfs_mkdir(vfs_of(req), parent, name, mode, &ve), &ve);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_rc(req, vfs_unlink(vfs_of(req), parent, name));
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_rc(req, vfs_rmdir(vfs_of(req), parent, name));
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct vfs_entry ve;

	reply_entry_rc(req, vfs_symlink(vfs_of(req), link, parent, name, &ve), &ve);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	reply_rc(req, vfs_rename(vfs_of(req), parent, name, newparent, newname, flags));
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct vfs_entry ve;

	reply_entry_rc(req, vfs_link(vfs_of(req), ino, newparent, newname, &ve), &ve);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = vfs_write(vfs_of(req), (struct vfs_file *)(uintptr_t)fi->fh, (uint64_t)off, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fsctx *c = ctx_of(req);
	struct fuse_entry_param e;
	struct vfs_entry ve;
	struct vfs_file *f = NULL;
	int rc = vfs_create(c->v, parent, name, mode, fi->flags, &ve, &f);

	if (rc) {
		reply_rc(req, rc);
		return;
	}
	fill_entry(c, &ve, &e);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 0;
	fi->direct_io = 0;
	if (fuse_reply_create(req, &e, fi) != 0) {
		vfs_release(c->v, f);
		vfs_forget(c->v, ve.ino, 1);
	}
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)value;
	(void)size;
	(void)flags;
	reply_rc(req, vfs_setxattr(vfs_of(req), ino, name));
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_rc(req, vfs_removexattr(vfs_of(req), ino, name));
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	reply_rc(req, vfs_fallocate(vfs_of(req), ino));
}

static const struct fuse_lowlevel_ops ll_ops = {
	.init = ll_init,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.readlink = ll_readlink,
	.mknod = ll_mknod,
	.mkdir = ll_mkdir,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.symlink = ll_symlink,
	.rename = ll_rename,
	.link = ll_link,
	.open = ll_open,
	.read = ll_read,
	.write = ll_write,
	.flush = ll_flush,
	.release = ll_release,
	.fsync = ll_fsync,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.readdirplus = ll_readdirplus,
	.releasedir = ll_releasedir,
	.fsyncdir = ll_fsyncdir,
	.statfs = ll_statfs,
	.setxattr = ll_setxattr,
	.getxattr = ll_getxattr,
	.listxattr = ll_listxattr,
	.removexattr = ll_removexattr,
	.access = ll_access,
	.create = ll_create,
	.fallocate = ll_fallocate,
};

/* ---- mount and loop ---- */

/* The control socket's text (`podfs stats`). */
static char *stats_text(void *arg, size_t *len)
{
	char *text;

	return vfs_stats_text(arg, &text, len) == 0 ? text : NULL;
}

/* Serve `podfs stats` for the mount on MOUNTPOINT; without it the mount
 * still works (a warning says what is missing). */
static struct ctlsock *start_ctlsock(const char *mountpoint, struct vfs *v)
{
	struct ctlsock *cs = NULL;
	dev_t dev;
	int rc = ctlsock_dev_of(mountpoint, &dev);

	if (rc == 0)
		rc = ctlsock_start(&cs, dev, stats_text, v);
	if (rc)
		log_warn("no control socket for %s (`podfs stats` will not work): %s", mountpoint,
			 strerror(-rc));
	return cs;
}

__attribute__((format(printf, 2, 0))) static void fuse_log_to_ours(enum fuse_log_level level,
								    const char *fmt, va_list ap)
{
	enum log_level l = level <= FUSE_LOG_ERR ? LOG_ERR :
			   level == FUSE_LOG_WARNING ? LOG_WARN :
			   level == FUSE_LOG_DEBUG ? LOG_DEBUG : LOG_INFO;
	char line[1024];
	size_t n;

	if (l > log_threshold)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(l, "libfuse: %s", line);
}

void podfs_fs_cfg_init(struct podfs_fs_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = "/";
	cfg->attr_timeout = 1.0;
	cfg->dir_timeout = -1;
	cfg->uid_override = -1;
	cfg->gid_override = -1;
	cfg->idmap_pod_uid = cfg->idmap_local_uid = -1;
	cfg->idmap_pod_gid = cfg->idmap_local_gid = -1;
	cfg->hide_pseudo = -1;
	cfg->fsname = "podfs";
	cfg->foreground_fd = -1;
}

/* "-o" text for libfuse: fsname escaped (',' and '\' are special to its
 * option parser), subtype, sizes, allow_other. */
static int mount_opts(const struct podfs_fs_cfg *cfg, struct buf *b)
{
	const char *name = cfg->fsname ? cfg->fsname : "podfs";
	int rc = buf_append_str(b, "fsname=");

	for (const char *s = name; rc == 0 && *s; s++) {
		if (*s == ',' || *s == '\\')
			rc = buf_append(b, "\\", 1);
		if (rc == 0)
			rc = buf_append(b, s, 1);
	}
	if (rc == 0)
		rc = buf_printf(b, ",subtype=podfs,max_read=%d", MAX_IO);
	if (rc == 0 && cfg->allow_other)
		rc = buf_append_str(b, ",allow_other");
	if (rc == 0 && cfg->read_only)
		rc = buf_append_str(b, ",ro");
	return rc;
}

int podfs_fs_run(const struct podfs_fs_cfg *cfg, struct remote *r, void (*ready)(void *arg),
		 void *arg)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lcfg = NULL;
	struct fuse_session *se = NULL;
	struct ctlsock *cs = NULL;
	struct fsctx c = { 0 };
	struct vfs_cfg vc;
	struct stat st;
	struct buf opts;
	bool mounted = false, handlers = false;
	int rc;

	buf_init(&opts, 8192);
	if (!cfg->mountpoint) {
		log_err("no mountpoint given");
		rc = -EINVAL;
		goto out;
	}
	if (stat(cfg->mountpoint, &st) != 0) {
		rc = -errno;
		log_err("mountpoint %s: %s", cfg->mountpoint, strerror(-rc));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		log_err("mountpoint %s is not a directory", cfg->mountpoint);
		goto out;
	}
	if (cfg->debug)
		log_set_level(LOG_DEBUG);
	fuse_set_log_func(fuse_log_to_ours);

	vfs_cfg_init(&vc);
	vc.root = cfg->root ? cfg->root : "/";
	vc.attr_timeout = cfg->attr_timeout;
	vc.dir_timeout = cfg->dir_timeout;
	vc.cache_size = cfg->cache_size;
	vc.uid_override = cfg->uid_override;
	vc.gid_override = cfg->gid_override;
	vc.idmap_pod_uid = cfg->idmap_pod_uid;
	vc.idmap_local_uid = cfg->idmap_local_uid;
	vc.idmap_pod_gid = cfg->idmap_pod_gid;
	vc.idmap_local_gid = cfg->idmap_local_gid;
	vc.hide_pseudo = cfg->hide_pseudo;
	vc.read_only = cfg->read_only;
	rc = vfs_new(&c.v, &vc, r);
	if (rc) {
		log_err("cannot set up the filesystem: %s", strerror(-rc));
		goto out;
	}
	c.timeout = vfs_attr_timeout(c.v);

	rc = mount_opts(cfg, &opts);
	if (rc == 0 && (fuse_opt_add_arg(&args, "podfs") || fuse_opt_add_arg(&args, "-o") ||
			fuse_opt_add_arg(&args, opts.data) ||
			(cfg->debug && fuse_opt_add_arg(&args, "-d"))))
		rc = -ENOMEM;
	if (rc) {
		log_err("cannot build the mount options: %s", strerror(-rc));
		goto out;
	}
	se = fuse_session_new(&args, &ll_ops, sizeof(ll_ops), &c);
	c.se = se;
	if (!se) {
		rc = -EINVAL;
		log_err("cannot create the FUSE session (options: %s)", opts.data);
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		rc = -EIO;
		log_err("cannot install signal handlers");
		goto out;
	}
	handlers = true;
	errno = 0;
	if (fuse_session_mount(se, cfg->mountpoint) != 0) {
		rc = errno ? -errno : -EIO;
		log_err("cannot mount on %s: %s (is /dev/fuse there and may you use it? "
			"non-root users need fusermount3)",
			cfg->mountpoint, strerror(-rc));
		goto out;
	}
	mounted = true;
	log_info("mounted %s on %s", cfg->fsname ? cfg->fsname : "podfs", cfg->mountpoint);
	cs = start_ctlsock(cfg->mountpoint, c.v);
	if (ready)
		ready(arg);

	lcfg = fuse_loop_cfg_create();
	if (!lcfg) {
		rc = -ENOMEM;
		log_err("out of memory starting the FUSE loop");
		goto out;
	}
	fuse_loop_cfg_set_clone_fd(lcfg, 0);
	fuse_loop_cfg_set_max_threads(lcfg, LOOP_THREADS);
	rc = fuse_session_loop_mt(se, lcfg);
	if (rc > 0) {
		log_info("signal %d: unmounting %s", rc, cfg->mountpoint);
		rc = 0;
	} else if (rc < 0) {
		log_err("FUSE loop on %s failed: %s", cfg->mountpoint, strerror(-rc));
	}
out:
	ctlsock_stop(cs); /* before the vfs it reads goes */
	if (mounted)
		fuse_session_unmount(se);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se)
		fuse_session_destroy(se);
	if (lcfg)
		fuse_loop_cfg_destroy(lcfg);
	fuse_opt_free_args(&args);
	vfs_free(c.v);
	buf_cleanup(&opts);
	fuse_set_log_func(NULL);
	return rc;
}
