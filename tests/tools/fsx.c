/* fsx.c: a random-operation file exerciser in the style of xfstests' fsx.
 *
 *   fsx [-N numops] [-S seed] [-l maxlen] [-o maxoplen] [-W] [-R] FILE
 *
 * Keeps the file's expected contents in memory and runs random operations
 * on FILE: pwrite, pread (compared), ftruncate up and down, mmap reads
 * (compared; -R turns them off), mmap writes (-W turns them off), an
 * occasional fsync, and an occasional close + reopen (close-to-open
 * consistency). After every operation the size fstat reports must be the
 * model's; at the end the whole file is read back and compared.
 *
 * A run is fully determined by its seed and options (the seed is printed;
 * -S repeats it). On the first difference fsx prints the failing
 * operation, the offset of the first bad byte, expected and actual bytes,
 * which operation last wrote that byte, and the last 50 operations, then
 * exits 1. Exit 0: every operation agreed with the model; 2: bad usage.
 *
 * Single-threaded; nothing is shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strparse.h"

#define LOG_N 50
#define SHOW_BYTES 16

enum op { OP_WRITE, OP_READ, OP_TRUNCATE, OP_MAPREAD, OP_MAPWRITE, OP_FSYNC, OP_REOPEN, OP_FINAL, OP_COUNT };

static const char *const op_name[OP_COUNT] = { "write", "read", "truncate", "mapread",
					       "mapwrite", "fsync", "reopen", "final-read" };
/* Relative frequencies. */
static const unsigned op_weight[OP_COUNT] = { 30, 25, 8, 12, 12, 2, 3, 0 };

struct logent {
	unsigned long num;
	enum op op;
	uint64_t off, len;
	uint64_t size_before, size_after;
};

static struct {
	const char *path;
	int fd;
	uint64_t seed, rng;
	unsigned long numops;
	uint64_t maxlen, maxoplen;
	bool mapread, mapwrite;
	size_t pagesize;

	unsigned char *good;	/* expected contents; zero beyond size */
	unsigned long *writer;	/* per byte: the op that last set it (0: none) */
	unsigned char *tmp;	/* read buffer / new data */
	uint64_t size;

	struct logent log[LOG_N];
	unsigned long nlog; /* ops logged in all */
	unsigned long opnum;
} g;

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, so a seed gives the same run everywhere */

static uint64_t rnd64(void)
{
	uint64_t z = (g.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rnd_below(uint64_t n)
{
	return rnd64() % n;
}

/* ------------------------------------------------------------------ */
/* The op log and failure reports */

static struct logent *log_op(enum op op, uint64_t off, uint64_t len)
{
	struct logent *e = &g.log[g.nlog++ % LOG_N];

	e->num = g.opnum;
	e->op = op;
	e->off = off;
	e->len = len;
	e->size_before = e->size_after = g.size;
	return e;
}

static void print_log(void)
{
	unsigned long first = g.nlog > LOG_N ? g.nlog - LOG_N : 0;

	fprintf(stderr, "last %lu operations (offsets and lengths in hex):\n", g.nlog - first);
	for (unsigned long i = first; i < g.nlog; i++) {
		const struct logent *e = &g.log[i % LOG_N];

		fprintf(stderr, "  #%-7lu %-10s", e->num, op_name[e->op]);
		switch (e->op) {
		case OP_WRITE:
		case OP_READ:
		case OP_MAPREAD:
		case OP_MAPWRITE:
		case OP_FINAL:
			fprintf(stderr, " 0x%06" PRIx64 " .. 0x%06" PRIx64 " (len 0x%05" PRIx64 ")", e->off,
				e->off + e->len, e->len);
			break;
		case OP_TRUNCATE:
			fprintf(stderr, " to 0x%06" PRIx64 "%s", e->off,
				e->off > e->size_before ? " (up)" : e->off < e->size_before ? " (down)" : "");
			break;
		default:
			break;
		}
		if (e->size_after != e->size_before)
			fprintf(stderr, "  size 0x%" PRIx64 " -> 0x%" PRIx64, e->size_before, e->size_after);
		fputc('\n', stderr);
	}
}

static void header(void)
{
	fprintf(stderr, "fsx: FAILED in op #%lu on %s (seed %" PRIu64 "; repeat with -S %" PRIu64 ")\n",
		g.opnum, g.path, g.seed, g.seed);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail_sys(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	header();
	fprintf(stderr, "fsx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	print_log();
	exit(1);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	header();
	fprintf(stderr, "fsx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_log();
	exit(1);
}

/* GOT holds N bytes read from file offset OFF (WANT expected). */
static void compare(const char *what, const unsigned char *got, uint64_t off, uint64_t n, uint64_t want)
{
	uint64_t bad, nbad = 0, shown = 0;

	if (n == want && memcmp(got, g.good + off, n) == 0)
		return;
	for (bad = 0; bad < n && got[bad] == g.good[off + bad]; bad++)
		;
	header();
	if (bad == n) { /* the bytes read agree, but too few or too many */
		fprintf(stderr, "fsx: %s at 0x%" PRIx64 ": got 0x%" PRIx64 " bytes, expected 0x%" PRIx64
			" (file size 0x%" PRIx64 ")\n",
			what, off, n, want, g.size);
		print_log();
		exit(1);
	}
	for (uint64_t i = bad; i < n; i++)
		nbad += got[i] != g.good[off + i];
	fprintf(stderr,
		"fsx: %s of 0x%" PRIx64 " .. 0x%" PRIx64 ": first bad byte at file offset 0x%" PRIx64
		" (%" PRIu64 "), %" PRIu64 " bad bytes in range%s\n",
		what, off, off + n, off + bad, off + bad, nbad,
		n != want ? " (and a short read)" : "");
	if (g.writer[off + bad])
		fprintf(stderr, "fsx: that byte was last written by op #%lu\n", g.writer[off + bad]);
	else
		fprintf(stderr, "fsx: that byte was never written (expected a zero of a hole or an extension)\n");
	fprintf(stderr, "  offset     expected  got\n");
	for (uint64_t i = bad; i < n && shown < SHOW_BYTES; i++, shown++)
		fprintf(stderr, "  0x%06" PRIx64 "   0x%02x      0x%02x%s\n", off + i, g.good[off + i], got[i],
			got[i] != g.good[off + i] ? "  <-" : "");
	print_log();
	exit(1);
}

static void check_size(void)
{
	struct stat st;

	if (fstat(g.fd, &st))
		fail_sys("fstat");
	if ((uint64_t)st.st_size != g.size)
		fail("size mismatch: fstat says 0x%" PRIx64 ", expected 0x%" PRIx64, (uint64_t)st.st_size, g.size);
}

/* ------------------------------------------------------------------ */
/* Operations */

static void fill_random(unsigned char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += 8) {
		uint64_t r = rnd64();

		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

/* The model after writing DATA at OFF. */
static void model_write(uint64_t off, const unsigned char *data, uint64_t len)
{
	memcpy(g.good + off, data, len);
	for (uint64_t i = 0; i < len; i++)
		g.writer[off + i] = g.opnum;
	if (off + len > g.size)
		g.size = off + len;
}

static void model_truncate(uint64_t size)
{
	if (size < g.size) {
		memset(g.good + size, 0, g.size - size);
		memset(g.writer + size, 0, (g.size - size) * sizeof(*g.writer));
	}
	g.size = size;
}

static void do_write(void)
{
	uint64_t off = rnd_below(g.maxlen), len = 1 + rnd_below(g.maxoplen), done = 0;
	struct logent *e;

	if (len > g.maxlen - off)
		len = g.maxlen - off;
	e = log_op(OP_WRITE, off, len);
	fill_random(g.tmp, len);
	while (done < len) {
		ssize_t k = pwrite(g.fd, g.tmp + done, len - done, (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail_sys("pwrite 0x%" PRIx64 " len 0x%" PRIx64, off + done, len - done);
		if (k == 0)
			fail("pwrite 0x%" PRIx64 " len 0x%" PRIx64 " wrote nothing", off + done, len - done);
		done += (uint64_t)k;
	}
	model_write(off, g.tmp, len);
	e->size_after = g.size;
}

/* Read LEN bytes at OFF with pread until EOF; compare with the model. */
static void read_compare(enum op op, uint64_t off, uint64_t len)
{
	uint64_t want = off >= g.size ? 0 : g.size - off < len ? g.size - off : len, got = 0;

	log_op(op, off, len);
	while (got < len) {
		ssize_t k = pread(g.fd, g.tmp + got, len - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail_sys("pread 0x%" PRIx64 " len 0x%" PRIx64, off + got, len - got);
		if (k == 0)
			break;
		got += (uint64_t)k;
	}
	compare(op_name[op], g.tmp, off, got, want);
}

static void do_read(void)
{
	uint64_t off, len = 1 + rnd_below(g.maxoplen);

	/* mostly inside the file; sometimes across or past its end */
	if (g.size == 0 || rnd_below(8) == 0)
		off = rnd_below(g.maxlen);
	else
		off = rnd_below(g.size);
	if (len > g.maxlen - off)
		len = g.maxlen - off;
	read_compare(OP_READ, off, len);
}

static void do_truncate(void)
{
	uint64_t size = rnd_below(g.maxlen + 1);
	struct logent *e = log_op(OP_TRUNCATE, size, 0);

	if (ftruncate(g.fd, (off_t)size))
		fail_sys("ftruncate to 0x%" PRIx64, size);
	model_truncate(size);
	e->size_after = g.size;
}

/* Map [OFF, OFF+LEN) of the file: returns the map, *BASE its start. */
static unsigned char *map_range(uint64_t off, uint64_t len, int prot, uint64_t *base)
{
	void *p;

	*base = off & ~(uint64_t)(g.pagesize - 1);
	p = mmap(NULL, (size_t)(off + len - *base), prot, MAP_SHARED, g.fd, (off_t)*base);
	if (p == MAP_FAILED)
		fail_sys("mmap 0x%" PRIx64 " len 0x%" PRIx64, *base, off + len - *base);
	return p;
}

static void do_mapread(void)
{
	uint64_t off, len, base;
	unsigned char *p;

	if (g.size == 0) {
		read_compare(OP_READ, 0, 1); /* nothing to map: read at EOF instead */
		return;
	}
	off = rnd_below(g.size);
	len = 1 + rnd_below(g.maxoplen);
	if (len > g.size - off)
		len = g.size - off;
	log_op(OP_MAPREAD, off, len);
	p = map_range(off, len, PROT_READ, &base);
	memcpy(g.tmp, p + (off - base), len); /* before any report, so the map can go */
	if (munmap(p, (size_t)(off + len - base)))
		fail_sys("munmap");
	compare("mapread", g.tmp, off, len, len);
}

static void do_mapwrite(void)
{
	uint64_t off = rnd_below(g.maxlen), len = 1 + rnd_below(g.maxoplen), base;
	unsigned char *p;
	struct logent *e;

	if (len > g.maxlen - off)
		len = g.maxlen - off;
	e = log_op(OP_MAPWRITE, off, len);
	if (off + len > g.size) { /* a map cannot extend a file */
		if (ftruncate(g.fd, (off_t)(off + len)))
			fail_sys("ftruncate to 0x%" PRIx64 " (to extend for mapwrite)", off + len);
		model_truncate(off + len);
	}
	fill_random(g.tmp, len);
	p = map_range(off, len, PROT_READ | PROT_WRITE, &base);
	memcpy(p + (off - base), g.tmp, len);
	if (msync(p, (size_t)(off + len - base), MS_SYNC))
		fail_sys("msync 0x%" PRIx64 " len 0x%" PRIx64, base, off + len - base);
	if (munmap(p, (size_t)(off + len - base)))
		fail_sys("munmap");
	model_write(off, g.tmp, len);
	e->size_after = g.size;
}

static void do_fsync(void)
{
	log_op(OP_FSYNC, 0, 0);
	if (fsync(g.fd))
		fail_sys("fsync");
}

static void do_reopen(void)
{
	log_op(OP_REOPEN, 0, 0);
	if (close(g.fd))
		fail_sys("close");
	g.fd = open(g.path, O_RDWR);
	if (g.fd < 0)
		fail_sys("reopen %s", g.path);
}

static enum op pick_op(void)
{
	unsigned total = 0, r;

	for (int i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	for (;;) {
		r = (unsigned)rnd_below(total);
		for (int i = 0; i < OP_COUNT; i++) {
			if (r < op_weight[i]) {
				if ((i == OP_MAPREAD && !g.mapread) || (i == OP_MAPWRITE && !g.mapwrite))
					break; /* turned off: draw again */
				return (enum op)i;
			}
			r -= op_weight[i];
		}
	}
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-N numops] [-S seed] [-l maxlen] [-o maxoplen] [-W] [-R] FILE\n"
			"  -N numops    operations to run (default 10000)\n"
			"  -S seed      random seed (default: from the clock; printed)\n"
			"  -l maxlen    largest file size (default 262144)\n"
			"  -o maxoplen  largest read or write (default 65536, at most maxlen)\n"
			"  -W           no mmap writes\n"
			"  -R           no mmap reads\n"
			"FILE is created or truncated. Exit 0: no difference; 1: a difference or\n"
			"a failed call (the op log is printed); 2: bad usage.\n");
	exit(2);
}

static uint64_t num_arg(const char *opt, const char *s, uint64_t max)
{
	uint64_t v;

	if (parse_u64_str(s, max, &v)) {
		fprintf(stderr, "fsx: %s wants a number up to %" PRIu64 ", not \"%s\"\n", opt, max, s);
		usage();
	}
	return v;
}

int main(int argc, char **argv)
{
	bool have_seed = false;
	int c;

	g.numops = 10000;
	g.maxlen = 256 * 1024;
	g.maxoplen = 64 * 1024;
	g.mapread = g.mapwrite = true;
	while ((c = getopt(argc, argv, "N:S:l:o:WRh")) != -1) {
		switch (c) {
		case 'N':
			g.numops = (unsigned long)num_arg("-N", optarg, ULONG_MAX - 1);
			break;
		case 'S':
			g.seed = num_arg("-S", optarg, UINT64_MAX);
			have_seed = true;
			break;
		case 'l':
			g.maxlen = num_arg("-l", optarg, 1ull << 30);
			break;
		case 'o':
			g.maxoplen = num_arg("-o", optarg, 1ull << 30);
			break;
		case 'W':
			g.mapwrite = false;
			break;
		case 'R':
			g.mapread = false;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || g.maxlen == 0 || g.maxoplen == 0)
		usage();
	g.path = argv[optind];
	if (g.maxoplen > g.maxlen)
		g.maxoplen = g.maxlen;
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		g.seed = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	g.rng = g.seed;
	g.pagesize = (size_t)sysconf(_SC_PAGESIZE);
	g.good = calloc(g.maxlen, 1);
	g.writer = calloc(g.maxlen, sizeof(*g.writer));
	g.tmp = malloc(g.maxlen);
	if (!g.good || !g.writer || !g.tmp) {
		fprintf(stderr, "fsx: out of memory for maxlen %" PRIu64 "\n", g.maxlen);
		return 1;
	}
	printf("fsx: %s: seed %" PRIu64 ", %lu ops, maxlen %" PRIu64 ", maxoplen %" PRIu64 "%s%s\n", g.path,
	       g.seed, g.numops, g.maxlen, g.maxoplen, g.mapread ? "" : ", no mapread",
	       g.mapwrite ? "" : ", no mapwrite");
	fflush(stdout);

	g.fd = open(g.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (g.fd < 0)
		fail_sys("open %s", g.path);
	for (g.opnum = 1; g.opnum <= g.numops; g.opnum++) {
		switch (pick_op()) {
		case OP_WRITE:
			do_write();
			break;
		case OP_READ:
			do_read();
			break;
		case OP_TRUNCATE:
			do_truncate();
			break;
		case OP_MAPREAD:
			do_mapread();
			break;
		case OP_MAPWRITE:
			do_mapwrite();
			break;
		case OP_FSYNC:
			do_fsync();
			break;
		case OP_REOPEN:
			do_reopen();
			break;
		default:
			break;
		}
		check_size();
	}
	/* the whole file, through a fresh descriptor, then EOF */
	do_reopen();
	read_compare(OP_FINAL, 0, g.maxlen);
	if (close(g.fd))
		fail_sys("close");
	printf("fsx: %lu ops passed, final size %" PRIu64 "\n", g.numops, g.size);
	return 0;
}
