/* test_quote.c: helper/quote.c against real shells.
 *
 * Every hostile string is quoted, run through `SHELL -c 'printf %s QUOTED'`
 * under dash, bash and busybox sh, and must come back byte for byte; the
 * command-substitution strings must not have run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "buf.h"
#include "quote.h"

static char pwned[64];

/* Run ARGV, return its stdout in OUT (malloc'd), exit status in *ST. */
static int run(char *const *argv, char **out, size_t *len, int *st)
{
	int p[2];
	pid_t pid;
	struct buf b;
	char chunk[4096];
	ssize_t n;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(126);
	}
	close(p[1]);
	buf_init(&b, 1 << 20);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(p[0]);
	waitpid(pid, st, 0);
	*len = b.len;
	*out = buf_take(&b);
	return 0;
}

static const char *shells[][3] = {
	{ "/bin/dash", "-c", NULL },
	{ "/bin/bash", "-c", NULL },
	{ "/bin/busybox", "sh", "-c" },
};

static void roundtrip(const char *s, size_t n)
{
	for (size_t k = 0; k < sizeof(shells) / sizeof(shells[0]); k++) {
		struct buf cmd;
		char *argv[6], *out;
		size_t len, a = 0;
		int st;

		if (access(shells[k][0], X_OK))
			continue;
		buf_init(&cmd, 1 << 16);
		assert_int_equal(hq_cmd(&cmd, "printf %s %Q", "%s", s, n), 0);
		argv[a++] = (char *)shells[k][0];
		argv[a++] = (char *)shells[k][1];
		if (shells[k][2])
			argv[a++] = (char *)shells[k][2];
		argv[a++] = cmd.data;
		argv[a] = NULL;
		assert_int_equal(run(argv, &out, &len, &st), 0);
		if (len != n || memcmp(out, s, n) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s: quoting %zu bytes did not round-trip (got %zu bytes, status %d): %s", shells[k][0], n,
				 len, st, cmd.data);
		free(out);
		buf_cleanup(&cmd);
	}
	assert_int_equal(access(pwned, F_OK), -1); /* no injected command ran */
}

static void hostile_names_roundtrip_through_real_shells(void **state)
{
	char t1[128], t2[128], t3[128], t4[128];
	const char *names[] = {
		"plain", "with space", "it's", "'", "''", "'''a'''", "a\"b", "\\", "back\\slash\\",
		"new\nline", "\n", "trailing newline\n", "tab\there", "$HOME", "${HOME}", "$(id)", "`id`",
		t1, t2, t3, t4, "-rf", "--", "-", "*", "?", "[a-z]", "~", "~root", "!", "!!", ";ls", "|cat", "&",
		"a&&b||c", "<in", ">out", "#comment", "%s%n%%", "\x01\x02\x1b[31m\x7f", "\xff\xfe\x80",
		"\xc3\x28", "\xe2\x82", "caf\xc3\xa9", "{a,b}", "a=b", "IFS=x", "\r\n", "",
	};

	(void)state;
	snprintf(t1, sizeof(t1), "$(touch %s)", pwned);
	snprintf(t2, sizeof(t2), "`touch %s`", pwned);
	snprintf(t3, sizeof(t3), "'; touch %s; '", pwned);
	snprintf(t4, sizeof(t4), "\"; touch %s; \"", pwned);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		roundtrip(names[i], strlen(names[i]));
}

static void long_names_roundtrip(void **state)
{
	char n255[256], q255[256];

	(void)state;
	memset(n255, 'a', 255);
	n255[255] = '\0';
	roundtrip(n255, 255);
	for (int i = 0; i < 255; i++)
		q255[i] = "'\"$`\\\n x"[i % 8];
	q255[255] = '\0';
	roundtrip(q255, 255);
}

static void quote_refuses_nul_and_keeps_buffer(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(hq_cmd(&b, "ls -- %q", "/ok"), 0);
	assert_string_equal(b.data, "ls -- '/ok'");
	assert_int_equal(hq_quote(&b, "a\0b", 3), -EINVAL);
	assert_string_equal(b.data, "ls -- '/ok'"); /* all or nothing */
	assert_int_equal(hq_cmd(&b, " %q", "this is far too long for the sixty-four byte ceiling of b"), -E2BIG);
	assert_string_equal(b.data, "ls -- '/ok'");
	buf_cleanup(&b);
}

static void cmd_formats_numbers_and_literals(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(hq_cmd(&b, "dd if=%q bs=%u skip=%llu count=%lld 2>%s; echo %d%%", "/a b", 4096u,
				18446744073709551615ULL, -5LL, "/dev/null", -1),
			 0);
	assert_string_equal(b.data, "dd if='/a b' bs=4096 skip=18446744073709551615 count=-5 2>/dev/null; echo -1%");
	buf_reset(&b);
	assert_int_equal(hq_cmd(&b, "%x", 1), -EINVAL); /* unknown conversions are refused */
	assert_int_equal(b.len, 0);
	buf_cleanup(&b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(pwned, sizeof(pwned), "/tmp/podfs-quote-pwned.%d", (int)getpid());
	unlink(pwned);
	return 0;
}

/* hq_data: every byte value, NUL included, comes back through printf. */
static void data_roundtrip_through_real_shells(void **state)
{
	unsigned char all[512 + 66];
	size_t n = 0;

	(void)state;
	all[n++] = '-'; /* a leading '-' is not an option of printf */
	all[n++] = 'x';
	for (int i = 0; i < 256; i++)
		all[n++] = (unsigned char)i;
	for (int i = 255; i >= 0; i--)
		all[n++] = (unsigned char)i;
	static const char tricky[] = "'%s\\n$(touch x)`id`\0017%%";

	memcpy(all + n, tricky, sizeof(tricky));
	n += sizeof(tricky);
	for (size_t k = 0; k < sizeof(shells) / sizeof(shells[0]); k++) {
		struct buf cmd;
		char *argv[6], *out;
		size_t len, a = 0;
		int st;

		if (access(shells[k][0], X_OK))
			continue;
		buf_init(&cmd, 1 << 16);
		assert_int_equal(hq_cmd(&cmd, "printf %D", all, n), 0);
		argv[a++] = (char *)shells[k][0];
		argv[a++] = (char *)shells[k][1];
		if (shells[k][2])
			argv[a++] = (char *)shells[k][2];
		argv[a++] = cmd.data;
		argv[a] = NULL;
		assert_int_equal(run(argv, &out, &len, &st), 0);
		if (len != n || memcmp(out, all, n) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s: %zu data bytes did not round-trip (got %zu)", shells[k][0], n, len);
		free(out);
		buf_cleanup(&cmd);
	}
	/* all or nothing past the ceiling; at most 4x + 2 */
	struct buf small;

	buf_init(&small, 7);
	assert_int_equal(hq_data(&small, "\0\0\0", 3), -E2BIG);
	assert_int_equal(small.len, 0);
	buf_cleanup(&small);
	buf_init(&small, 8);
	assert_int_equal(hq_data(&small, "\0\0\0", 3), 0);
	assert_string_equal(small.data, "'\\0\\0\\0'"); /* the shortest escapes */
	buf_cleanup(&small);
}

static int teardown(void **state)
{
	(void)state;
	unlink(pwned);
	return 0;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(hostile_names_roundtrip_through_real_shells),
	cmocka_unit_test(long_names_roundtrip),
	cmocka_unit_test(quote_refuses_nul_and_keeps_buffer),
	cmocka_unit_test(cmd_formats_numbers_and_literals),
	cmocka_unit_test(data_roundtrip_through_real_shells),
};

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
