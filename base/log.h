/* log.h: one log sink for the whole program.
 *
 * Levels follow the error, not the caller: a missing file at lookup is
 * DEBUG, a lost API server WARN, a protocol violation ERR. Messages never
 * contain credentials. Thread-safe: each message is written with a single
 * write(2) to the sink.
 */
#ifndef PODFS_LOG_H
#define PODFS_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level cost one comparison and nothing else. */
extern enum log_level log_threshold;

void log_set_level(enum log_level level);
/* Prefix every line with "NAME: " (e.g. "podfs", "kube-sim"). NAME must outlive the program. */
void log_set_name(const char *name);
/* Send messages to FD instead of stderr (2). */
void log_set_fd(int fd);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define LOG_AT(lvl, ...)                                                       \
	do {                                                                   \
		if ((lvl) <= log_threshold)                                    \
			log_msg((lvl), __VA_ARGS__);                           \
	} while (0)
#define log_err(...) LOG_AT(LOG_ERR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
