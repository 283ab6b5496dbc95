/* test_tarw.c: helper/tarw.c's archives read back by helper/tar.c's
 * reader and extracted by the real GNU tar and busybox tar.
 *
 * One archive of awkward files: quotes, a newline, a leading '-', invalid
 * UTF-8, names of 100, 101 and 255 bytes, an empty file, binary data over
 * several blocks, mtimes with and without nanoseconds, before the epoch
 * and past the 11-digit octal field. Every file must come back with its
 * name, bytes, mode and mtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "buf.h"
#include "tar.h"
#include "tarw.h"

#define ARCHIVE_MAX (16u << 20)
#define NFILES 13

struct tf {
	char name[256];
	uint32_t mode;
	struct timespec mtime;
	unsigned char *data;
	size_t len;
	bool gnu_only; /* busybox tar does not read pax mtime: seconds out of range */
};

static struct tf files[NFILES];

static void setup_files(void)
{
	static const char *const names[] = { "it's \"q\"", "new\nline", "-rf", "\xff\xfe\x80 bad", "empty",
					     "$(touch PWNED)", "bin", "neg", "far" };
	size_t i = 0;

	memset(files, 0, sizeof(files));
	for (; i < sizeof(names) / sizeof(names[0]); i++)
		snprintf(files[i].name, sizeof(files[i].name), "%s", names[i]);
	memset(files[i++].name, 'a', 100);
	memset(files[i++].name, 'b', 101);
	memset(files[i++].name, 'c', 255);
	memset(files[i].name, 'd', 254); /* long, with a quote and newline in it */
	files[i].name[3] = '\'';
	files[i++].name[200] = '\n';
	assert_int_equal(i, NFILES);
	for (i = 0; i < NFILES; i++) {
		static const uint32_t modes[] = { 0644, 0755, 0600, 0640, 0444, 0700 };

		files[i].mode = modes[i % 6];
		files[i].mtime.tv_sec = 1400000000 + (time_t)i * 1000;
		files[i].mtime.tv_nsec = i % 2 ? 123456789 : 0;
		if (strcmp(files[i].name, "empty") == 0) {
			files[i].len = 0;
		} else if (strcmp(files[i].name, "bin") == 0) {
			files[i].len = 3 * 512 + 7; /* every byte value, several blocks */
		} else {
			files[i].len = 1 + i * 37;
		}
		files[i].data = malloc(files[i].len + 1);
		assert_non_null(files[i].data);
		for (size_t j = 0; j < files[i].len; j++)
			files[i].data[j] = (unsigned char)(j * 7 + i);
		if (strcmp(files[i].name, "neg") == 0)
			files[i].mtime = (struct timespec){ -86400 * 3 - 1, 250000000 }; /* 1969, fraction */
		if (strcmp(files[i].name, "far") == 0) {
			files[i].mtime = (struct timespec){ 9000000000LL, 0 }; /* past 8^11 - 1 */
			files[i].gnu_only = true;
		}
	}
}

static void free_files(void)
{
	for (size_t i = 0; i < NFILES; i++)
		free(files[i].data);
}

static void build(struct buf *a)
{
	buf_init(a, ARCHIVE_MAX);
	for (size_t i = 0; i < NFILES; i++) {
		size_t before = a->len;

		assert_int_equal(tarw_file(a, files[i].name, files[i].mode, &files[i].mtime, files[i].data,
					   files[i].len),
				 0);
		assert_true(a->len - before <= tarw_file_size(strlen(files[i].name), files[i].len));
		assert_int_equal(a->len % 512, 0);
	}
	assert_int_equal(tarw_end(a), 0);
}

/* ------------------------------------------------------------------ */
/* Back through helper/tar.c */

struct rd {
	int at;      /* index of the current entry */
	size_t got;  /* its data bytes so far */
	int entries, ends;
};

static int rd_entry(void *arg, const struct htar_entry *e)
{
	struct rd *r = arg;
	const struct tf *f = &files[r->entries];

	assert_true(r->entries < NFILES);
	assert_string_equal(e->name, f->name);
	assert_int_equal(e->type, 'f');
	assert_int_equal(e->size, f->len);
	assert_int_equal(e->mode, f->mode);
	assert_int_equal(e->mtime, (int64_t)f->mtime.tv_sec);
	assert_int_equal(e->mtime_nsec, f->mtime.tv_nsec);
	r->at = r->entries++;
	r->got = 0;
	return 0;
}

static int rd_data(void *arg, const void *p, size_t n)
{
	struct rd *r = arg;
	const struct tf *f = &files[r->at];

	assert_true(r->got + n <= f->len);
	assert_memory_equal(p, f->data + r->got, n);
	r->got += n;
	return 0;
}

static int rd_end(void *arg)
{
	struct rd *r = arg;

	assert_int_equal(r->got, files[r->at].len);
	r->ends++;
	return 0;
}

static void read_back(const struct buf *a, size_t step)
{
	struct htar_cb cb = { .entry = rd_entry, .data = rd_data, .end = rd_end };
	struct rd r = { 0 };
	struct htar *t;

	assert_int_equal(htar_new(&t, NULL, &cb, &r), 0);
	for (size_t off = 0; off < a->len; off += step) {
		size_t n = a->len - off < step ? a->len - off : step;

		assert_int_equal(htar_feed(t, a->data + off, n), 0);
	}
	assert_int_equal(htar_finish(t), 0);
	assert_int_equal(r.entries, NFILES);
	assert_int_equal(r.ends, NFILES);
	htar_free(t);
}

static void read_by_our_reader(void **state)
{
	struct buf a;

	(void)state;
	setup_files();
	build(&a);
	read_back(&a, a.len);
	read_back(&a, 1);
	read_back(&a, 509);
	buf_cleanup(&a);
	free_files();
}

/* ------------------------------------------------------------------ */
/* Extracted by the real tools */

static const char *find_exe(const char *const *c)
{
	for (; *c; c++)
		if (access(*c, X_OK) == 0)
			return *c;
	return NULL;
}

static int run(char *const *argv)
{
	static char *const envp[] = { "LC_ALL=C", "PATH=/usr/bin:/bin", NULL };
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_file(const char *path, const struct buf *a)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, a->data, a->len), (ssize_t)a->len);
	close(fd);
}

/* Every file of the archive in DIR: bytes, mode (exact, or as umask 022
 * leaves it), mtime (with nanoseconds when NSEC). */
static void check_dir(const char *dir, bool exact_mode, bool nsec, bool gnu)
{
	for (size_t i = 0; i < NFILES; i++) {
		const struct tf *f = &files[i];
		char p[4096 + 512];
		struct stat st;

		if (f->gnu_only && !gnu)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, f->name);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_size, f->len);
		if (exact_mode)
			assert_int_equal(st.st_mode & 07777, f->mode);
		else
			assert_int_equal(st.st_mode & 07777 & ~022u, f->mode & ~022u);
		if (nsec || !f->mtime.tv_nsec) {
			assert_int_equal(st.st_mtim.tv_sec, f->mtime.tv_sec);
			assert_int_equal(st.st_mtim.tv_nsec, nsec ? f->mtime.tv_nsec : 0);
		} else {
			/* busybox: the whole seconds of the ustar field */
			assert_true(st.st_mtim.tv_sec == f->mtime.tv_sec || st.st_mtim.tv_sec == f->mtime.tv_sec + 1 ||
				    (f->mtime.tv_sec < 0 && st.st_mtim.tv_sec == 0));
		}
		int fd = open(p, O_RDONLY);
		unsigned char *got = malloc(f->len + 1);
		ssize_t n;

		assert_true(fd >= 0);
		assert_non_null(got);
		n = read(fd, got, f->len + 1);
		close(fd);
		assert_int_equal(n, (ssize_t)f->len);
		assert_memory_equal(got, f->data, f->len);
		free(got);
	}
}

static void rm_tree(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", "--", (char *)dir, NULL };

	assert_int_equal(run(argv), 0);
}

static void extracted_by_gnu_tar(void **state)
{
	static const char *const c[] = { "/usr/bin/tar", "/bin/tar", NULL };
	const char *tar = find_exe(c);
	char root[] = "/tmp/podfs-tarw.XXXXXX", arch[64], dir[4096];
	struct buf a;

	(void)state;
	if (!tar)
		skip();
	setup_files();
	build(&a);
	assert_non_null(mkdtemp(root));
	snprintf(arch, sizeof(arch), "%s/a.tar", root);
	snprintf(dir, sizeof(dir), "%s/x", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(arch, &a);
	/* what the pod runs; twice: the second time over the first's files */
	for (int round = 0; round < 2; round++) {
		char *argv[] = { (char *)tar, "-x", "-f", arch, "-p", "--no-same-owner", "--overwrite", "-C", dir, NULL };

		assert_int_equal(run(argv), 0);
		check_dir(dir, true, true, true);
	}
	rm_tree(root);
	buf_cleanup(&a);
	free_files();
}

static void extracted_by_busybox_tar(void **state)
{
	static const char *const c[] = { "/bin/busybox", "/usr/bin/busybox", NULL };
	const char *bb = find_exe(c);
	char root[] = "/tmp/podfs-tarw.XXXXXX", arch[64], dir[4096];
	struct buf a;
	mode_t old;

	(void)state;
	if (!bb)
		skip();
	setup_files();
	/* busybox tar reads no pax mtime: leave out the one it cannot place */
	buf_init(&a, ARCHIVE_MAX);
	for (size_t i = 0; i < NFILES; i++)
		if (!files[i].gnu_only)
			assert_int_equal(tarw_file(&a, files[i].name, files[i].mode, &files[i].mtime, files[i].data,
						   files[i].len),
					 0);
	assert_int_equal(tarw_end(&a), 0);
	assert_non_null(mkdtemp(root));
	snprintf(arch, sizeof(arch), "%s/a.tar", root);
	snprintf(dir, sizeof(dir), "%s/x", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(arch, &a);
	old = umask(022);
	char *argv[] = { (char *)bb, "tar", "-x", "-o", "-f", arch, "-C", dir, NULL };

	assert_int_equal(run(argv), 0);
	umask(old);
	check_dir(dir, false, false, false);
	rm_tree(root);
	buf_cleanup(&a);
	free_files();
}

/* ------------------------------------------------------------------ */
/* Errors */

static void bad_input_refused_and_buffer_kept(void **state)
{
	struct timespec t = { 1, 0 }, bad = { 1, 1000000000 };
	struct buf a;

	(void)state;
	buf_init(&a, 2048);
	assert_int_equal(tarw_file(&a, "", 0644, &t, "x", 1), -EINVAL);
	assert_int_equal(tarw_file(&a, "x", 0644, &bad, "x", 1), -EINVAL);
	assert_int_equal(a.len, 0);
	assert_int_equal(tarw_file(&a, "x", 0644, &t, "x", 1), 0);
	assert_int_equal(a.len, 1024);
	/* the next one does not fit: nothing of it stays */
	assert_int_equal(tarw_file(&a, "y", 0644, &t, "yy", 2 * 512), -E2BIG);
	assert_int_equal(a.len, 1024);
	assert_int_equal(tarw_end(&a), 0);
	assert_int_equal(a.len, 2048);
	assert_int_equal(tarw_end(&a), -E2BIG);
	buf_cleanup(&a);
}

static void header_fields_are_ustar(void **state)
{
	struct timespec t = { 01234567, 0 };
	struct buf a;
	unsigned long sum = 0;

	(void)state;
	buf_init(&a, 1 << 20);
	assert_int_equal(tarw_file(&a, "name", 04755, &t, "abc", 3), 0);
	assert_int_equal(a.len, 1024); /* no extension header for whole seconds */
	const unsigned char *h = (const unsigned char *)a.data;

	assert_string_equal((const char *)h, "name");
	assert_string_equal((const char *)h + 100, "0004755");
	assert_string_equal((const char *)h + 124, "00000000003");
	assert_string_equal((const char *)h + 136, "00001234567");
	assert_int_equal(h[156], '0');
	assert_memory_equal(h + 257, "ustar\0" "00", 8);
	for (size_t i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	assert_int_equal(strtoul((const char *)h + 148, NULL, 8), sum);
	assert_memory_equal(a.data + 512, "abc", 4);
	buf_cleanup(&a);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(read_by_our_reader),
	cmocka_unit_test(extracted_by_gnu_tar),
	cmocka_unit_test(extracted_by_busybox_tar),
	cmocka_unit_test(bad_input_refused_and_buffer_kept),
	cmocka_unit_test(header_fields_are_ustar),
};

UNIT_MAIN(tests)
