/* local.c: creating files on the local side without ever leaving the
 * destination (see cp.h).
 *
 * Every entry is made by name (a validated single component) in a
 * directory fd. Directory fds are opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) below the destination's fd, or, on kernels
 * without openat2, one component at a time with O_NOFOLLOW|O_DIRECTORY.
 * Files are created O_EXCL|O_NOFOLLOW under their part name and renamed
 * into place; an existing symlink is replaced, never followed.
 * No shared state: every function is thread-safe.
 */
#include "cp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int have_openat2 = 1;

static int open_components(int rootfd, const char *rel)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[256];

	if (fd < 0)
		return -errno;
	for (const char *p = rel; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		int nfd;

		if (l == 0 || (l == 1 && p[0] == '.')) {
			p += l + (e ? 1 : 0);
			continue;
		}
		if (l > 255 || (l == 2 && p[0] == '.' && p[1] == '.')) {
			close(fd);
			return -EINVAL;
		}
		memcpy(name, p, l);
		name[l] = '\0';
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return errno == ELOOP ? -ENOTDIR : -errno;
		fd = nfd;
		p += l + (e ? 1 : 0);
	}
	return fd;
}

int cp_open_beneath(int rootfd, const char *rel)
{
	if (!rel[0])
		rel = ".";
	if (atomic_load(&have_openat2)) {
		struct open_how how = {
			.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS && errno != EPERM)
			return errno == ELOOP || errno == EXDEV ? -ENOTDIR : -errno;
		atomic_store(&have_openat2, 0); /* old kernel or seccomp: walk */
	}
	return open_components(rootfd, rel);
}

int cp_local_finfo(int dirfd, const char *name, struct cp_finfo *fi, struct stat *st)
{
	struct stat s;

	memset(fi, 0, sizeof(*fi));
	if (fstatat(dirfd, name, &s, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	fi->exists = true;
	fi->regular = S_ISREG(s.st_mode);
	fi->size = (uint64_t)s.st_size;
	fi->mtime = s.st_mtim.tv_sec;
	fi->mtime_nsec = s.st_mtim.tv_nsec;
	if (st)
		*st = s;
	return 0;
}

int cp_local_mkdir(int dirfd, const char *name, mode_t mode)
{
	int fd;

	if (mkdirat(dirfd, name, mode) && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EEXIST : -errno;
	return fd;
}

static void tmp_name(const char *tag, char out[256])
{
	static atomic_uint seq;

	snprintf(out, 256, ".podfs-%s-%d-%u", tag, (int)getpid(), atomic_fetch_add(&seq, 1));
}

int cp_local_symlink(int dirfd, const char *name, const char *target)
{
	char tmp[256], *buf = NULL;
	struct stat st;
	int rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (S_ISLNK(st.st_mode) && (size_t)st.st_size == strlen(target)) {
			buf = malloc((size_t)st.st_size + 1);
			if (buf && readlinkat(dirfd, name, buf, (size_t)st.st_size + 1) == st.st_size &&
			    !memcmp(buf, target, (size_t)st.st_size)) {
				free(buf);
				return 0; /* already there */
			}
			free(buf);
		}
	} else if (errno == ENOENT) {
		if (symlinkat(target, dirfd, name) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	} else {
		return -errno;
	}
	tmp_name("link", tmp);
	if (symlinkat(target, dirfd, tmp))
		return -errno;
	if (renameat(dirfd, tmp, dirfd, name)) {
		rc = -errno;
		unlinkat(dirfd, tmp, 0);
	}
	return rc;
}

int cp_local_open_part(int dirfd, const char *name, bool resume)
{
	char part[256];
	int fd;

	cp_part_name(name, part);
	if (resume) {
		struct stat st;

		fd = openat(dirfd, part, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		return fd;
	}
	if (unlinkat(dirfd, part, 0) && errno != ENOENT) {
		if (errno == EISDIR || errno == EPERM)
			return -EISDIR;
		return -errno;
	}
	fd = openat(dirfd, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int cp_pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const char *c = p;

	while (len > 0) {
		ssize_t w = pwrite(fd, c, len, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int cp_local_meta(struct cp_job *j, int fd, const struct remote_attr *a)
{
	struct timespec ts[2] = { a->atime, a->mtime };
	mode_t mode = a->mode & (j->o.preserve ? 07777 : 0777);

	if (!j->o.preserve)
		mode &= ~j->umask;
	if (j->o.preserve && j->is_root && fchown(fd, a->uid, a->gid))
		return -errno;
	if (fchmod(fd, mode))
		return -errno;
	if (!j->o.preserve)
		ts[0].tv_nsec = UTIME_OMIT;
	if (futimens(fd, ts))
		return -errno;
	return 0;
}

int cp_local_commit(int dirfd, const char *name)
{
	char part[256];
	struct stat st;

	cp_part_name(name, part);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (renameat(dirfd, part, dirfd, name))
		return -errno;
	return 0;
}

int cp_local_write_file(struct cp_job *j, int dirfd, const char *name, const void *data, size_t len,
			const struct remote_attr *a, bool stamp)
{
	int fd = cp_local_open_part(dirfd, name, false), rc;
	char part[256];

	if (fd < 0)
		return fd;
	rc = cp_pwrite_all(fd, data, len, 0);
	if (!rc) {
		if (stamp) {
			rc = cp_local_meta(j, fd, a);
		} else {
			struct remote_attr b = *a;

			clock_gettime(CLOCK_REALTIME, &b.mtime); /* changed while read: no resume stamp */
			b.atime = b.mtime;
			rc = cp_local_meta(j, fd, &b);
		}
	}
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc)
		rc = cp_local_commit(dirfd, name);
	if (rc) {
		cp_part_name(name, part);
		unlinkat(dirfd, part, 0);
	}
	return rc;
}
