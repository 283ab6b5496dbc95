/* mount_mem.c: mount an in-memory tree with podfs_fs_run, for
 * mount_mem.sh to check with ordinary tools.
 *
 *   mount_mem MOUNTPOINT EXPECTED_BIN
 *
 * Builds the tree below, writes the content of /bin.dat to EXPECTED_BIN,
 * mounts, prints "ready" on stdout once mounted, serves until unmounted
 * (fusermount3 -u) or signalled, and exits 0 after a clean unmount, 1 on
 * failure (with podfs's message on stderr).
 *
 * The tree: hostile names in /names (quotes, newline, tab, spaces, leading
 * dash, backslash, $(...), invalid UTF-8, a 255-byte name), an empty
 * file, a 3 MiB binary file, symlinks, a fifo, a 1,000-entry directory,
 * a file the pod will not let us read (EACCES), a nested file, and
 * /proc, /sys, /dev with content (hidden: "/" is mounted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "log.h"
#include "remote_mem.h"

#define BIN_LEN (3 * 1024 * 1024 + 12345)

static const char *const hostile[] = {
	"with space",	"  leading and trailing  ", "new\nline",	 "tab\there",
	"quote'single", "quote\"double",	    "-leading-dash", "--",
	"back\\slash",	"$(touch pwned)",	    "`id`",	     "*glob?[a]",
	"\xff\xfe invalid utf8", "caf\xc3\xa9",	    "semi;colon|pipe&", "percent%s%n",
};

static void on_ready(void *arg)
{
	(void)arg;
	fputs("ready\n", stdout);
	fflush(stdout);
}

static int build(struct remote *r, unsigned char *bin)
{
	char path[512], name[256];
	uint64_t x = 88172645463325252ULL;
	int rc = 0;

	for (size_t i = 0; i < BIN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bin[i] = (unsigned char)(x >> 24);
	}
	rc |= remote_mem_add_file(r, "/bin.dat", bin, BIN_LEN, 0644);
	rc |= remote_mem_add_file(r, "/empty", "", 0, 0644);
	rc |= remote_mem_add_file(r, "/hello.txt", "hello, pod\n", 11, 0644);
	rc |= remote_mem_add_symlink(r, "/link", "bin.dat");
	rc |= remote_mem_add_symlink(r, "/dangling", "/no/such/target");
	rc |= remote_mem_add_fifo(r, "/fifo", 0644);
	rc |= remote_mem_add_file(r, "/secret", "top secret\n", 11, 0600);
	rc |= remote_mem_set_error(r, "/secret", -EACCES);
	rc |= remote_mem_add_file(r, "/sub/dir/nested.txt", "nested\n", 7, 0644);
	rc |= remote_mem_add_dir(r, "/names", 0755);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(path, sizeof(path), "/names/%s", hostile[i]);
		rc |= remote_mem_add_file(r, path, hostile[i], strlen(hostile[i]), 0644);
	}
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(path, sizeof(path), "/names/%s", name);
	rc |= remote_mem_add_file(r, path, "long", 4, 0644);
	for (int i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "/big/entry-%04d", i);
		rc |= remote_mem_add_file(r, path, path, strlen(path), 0644);
	}
	rc |= remote_mem_add_file(r, "/proc/self/status", "Name: x\n", 8, 0444);
	rc |= remote_mem_add_file(r, "/sys/kernel/hostname", "pod\n", 4, 0444);
	rc |= remote_mem_add_file(r, "/dev/null", "", 0, 0666);
	return rc ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct podfs_fs_cfg cfg;
	struct remote *r = NULL;
	unsigned char *bin = NULL;
	FILE *f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: mount_mem MOUNTPOINT EXPECTED_BIN\n");
		return 2;
	}
	log_set_name("mount_mem");
	bin = malloc(BIN_LEN);
	if (!bin || remote_mem_new(&r) != 0 || build(r, bin) != 0) {
		fprintf(stderr, "mount_mem: cannot build the tree\n");
		rc = -ENOMEM;
		goto out;
	}
	/* a remote without write operations: the mount is read-only */
	remote_mem_disable_writes(r);
	f = fopen(argv[2], "wb");
	if (!f || fwrite(bin, 1, BIN_LEN, f) != BIN_LEN || fclose(f) != 0) {
		fprintf(stderr, "mount_mem: cannot write %s\n", argv[2]);
		rc = -EIO;
		goto out;
	}
	podfs_fs_cfg_init(&cfg);
	cfg.mountpoint = argv[1];
	cfg.fsname = "podfs:mem,test:/";
	cfg.debug = getenv("MOUNT_MEM_DEBUG") != NULL;
	rc = podfs_fs_run(&cfg, r, on_ready, NULL);
out:
	if (r)
		r->ops->destroy(r);
	free(bin);
	return rc == 0 ? 0 : 1;
}
