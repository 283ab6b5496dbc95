/* session.h: a long-lived `sh` in the container that runs many requests.
 *
 * One exec stream runs `sh` reading commands from its stdin. Each request
 * is a complete command with its stdin from /dev/null and its stderr into
 * its stdout, followed by a trailer line carrying a per-session random
 * nonce, the request id and $?. Requests are pipelined: any number may be
 * in flight, answers come back in order, and a reader thread hands each
 * its output. The cost of a request is one round trip, not one exec.
 *
 * Output is capped per request (the caller's buffer ceiling): a larger
 * answer fails with -E2BIG but the stream stays in step. A session whose
 * stream ends or breaks fails every pending request (-ECONNRESET) and all
 * later ones (-ENOTCONN); a request past its deadline poisons the session
 * the same way (the stream can no longer be trusted to be in step).
 *
 * Threads: every function may be called from any thread. Lock order:
 * s->lock, then nothing; never held across a write to the stream.
 */
#ifndef PODFS_SESSION_H
#define PODFS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct kclient;
struct hsess;

struct hsess_target {
	const char *ns;
	const char *pod;
	const char *container;
	const char *shell; /* "sh" unless given */
};

/* Start the shell. ERR gets a message for the user. */
int hsess_open(struct hsess **out, struct kclient *kc, const struct hsess_target *t, char *err, size_t errlen);
/* Run CMD (shell text made by hq_cmd); OUT receives its stdout and
 * stderr (appended, up to OUT's ceiling) and *STATUS its exit status.
 * Returns 0 (whatever the status), -E2BIG (output over the ceiling),
 * -ETIMEDOUT, -ECONNRESET / -ENOTCONN (session gone). */
int hsess_run(struct hsess *s, const char *cmd, struct buf *out, int *status, int timeout_ms);
/* True while the session can take requests. */
bool hsess_alive(struct hsess *s);
/* Requests sent so far (for stats and tests). */
unsigned long hsess_requests(struct hsess *s);
/* End the shell and free; pending requests fail with -ECONNRESET. */
void hsess_close(struct hsess *s);

#endif
