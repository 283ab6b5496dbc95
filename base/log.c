/* log.c: the one log sink (see log.h). No locks: each line is one write(2). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_WARN;
static const char *log_name = "podfs";
static int log_fd = 2;

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_set_name(const char *name)
{
	log_name = name;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	size_t n = 0;
	int r;

	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (log_threshold >= LOG_DEBUG) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r = snprintf(line, sizeof(line), "%lld.%03ld ", (long long)ts.tv_sec,
			     ts.tv_nsec / 1000000);
		if (r > 0)
			n = (size_t)r;
	}
	r = snprintf(line + n, sizeof(line) - n, "%s: %s: ", log_name, names[level]);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		va_list ap;

		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, n);
	(void)w;
}
