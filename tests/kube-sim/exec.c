/* exec.c: one exec session on an upgraded WebSocket connection.
 *
 * Speaks the v5/v4 channel protocol as the API server does: binary
 * messages [channel][payload], stdin on 0 (v5: [255,0] closes it), stdout
 * 1, stderr 2, the status JSON on 3 just before Close(1000), resize on 4
 * (accepted, ignored: no TTY is emulated). Pings are answered.
 *
 * Latency knobs never sleep: every outgoing message gets a release time
 * (now + per-message delay, later under the bandwidth cap) and waits in a
 * queue; incoming stdin chunks likewise. The poll timeout follows the queue
 * heads. Both queues are capped (the socket / the pipes are not read while
 * full), so a slow peer costs back-pressure, not memory.
 *
 * Runs entirely on the connection's thread; no locks.
 */
#include "ksim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "ws.h"

#define QUEUE_CAP (1u << 20)
#define CHUNK 32768
#define EXIT_GRACE_MS 2000
#define FINISH_GAP_MS 10
#define CLOSE_WAIT_MS 2000
#define WRITE_TIMEOUT_MS 300000

struct qmsg {
	struct qmsg *next;
	uint64_t release;
	size_t len, off;
	bool close_marker;
	uint8_t data[];
};

struct queue {
	struct qmsg *head, *tail;
	size_t bytes;
};

struct session {
	struct conn *c;
	struct exec_opts *o;
	struct ksim_proc p;
	struct queue outq, inq;
	uint64_t last_out_release, bw_free_at;
	/* frame parser */
	bool have_hdr;
	struct ws_hdr h;
	uint64_t remaining, off;
	bool in_msg, need_chan;
	int chan;
	uint8_t ctl[128];
	size_t ctl_len;
	uint8_t small[4096];
	size_t small_len;
	/* state */
	long long payload_bytes;
	bool killed, proto_err, client_gone, client_closed, sent_close;
	pid_t child;
	bool exited;
	int exit_code;
	int exec_errno;
	uint64_t exited_at;
	uint8_t rep[5];
	size_t replen;
	char *err;
	size_t errlen;
};

static void q_push(struct queue *q, struct qmsg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len;
}

static void q_pop(struct queue *q)
{
	struct qmsg *m = q->head;

	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	free(m);
}

static void q_clear(struct queue *q)
{
	while (q->head)
		q_pop(q);
}

/* Queue one server frame: OPCODE, optional channel byte, payload. */
static int send_frame(struct session *s, uint8_t opcode, int chan, const void *p, size_t n)
{
	uint8_t hdr[WS_MAX_HEADER];
	size_t plen = n + (chan >= 0 ? 1 : 0);
	size_t hl = ws_build_hdr(hdr, opcode, true, plen, NULL);
	struct qmsg *m = malloc(sizeof(*m) + hl + plen);
	uint64_t now = now_ms(), rel;

	if (!m)
		return -ENOMEM;
	memcpy(m->data, hdr, hl);
	if (chan >= 0)
		m->data[hl] = (uint8_t)chan;
	if (n)
		memcpy(m->data + hl + (chan >= 0 ? 1 : 0), p, n);
	m->len = hl + plen;
	m->off = 0;
	m->close_marker = false;
	rel = now + (uint64_t)s->o->knobs.msg_delay_ms;
	if (rel < s->last_out_release)
		rel = s->last_out_release;
	if (s->o->knobs.bandwidth > 0) {
		if (rel < s->bw_free_at)
			rel = s->bw_free_at;
		s->bw_free_at = rel + (uint64_t)m->len * 1000 / (uint64_t)s->o->knobs.bandwidth;
	}
	m->release = rel;
	s->last_out_release = rel;
	q_push(&s->outq, m);
	return 0;
}

static void count_payload(struct session *s, size_t n)
{
	s->payload_bytes += (long long)n;
	if (s->o->knobs.kill_after_bytes > 0 && s->payload_bytes > s->o->knobs.kill_after_bytes)
		s->killed = true;
}

static void queue_stdin(struct session *s, const uint8_t *p, size_t n, bool close_marker)
{
	struct qmsg *m;

	if (!s->o->in)
		return;
	m = malloc(sizeof(*m) + n);
	if (!m)
		return;
	if (n)
		memcpy(m->data, p, n);
	m->len = n;
	m->off = 0;
	m->close_marker = close_marker;
	m->release = now_ms() + (uint64_t)s->o->knobs.msg_delay_ms;
	q_push(&s->inq, m);
}

static void message_end(struct session *s)
{
	if (s->chan == 255 && s->o->v5) {
		/* CLOSE: exactly [255, channel]. */
		if (s->small_len != 1) {
			s->proto_err = true;
			return;
		}
		if (s->small[0] == 0)
			queue_stdin(s, NULL, 0, true);
	}
	s->in_msg = false;
}

static void data_bytes(struct session *s, uint8_t *p, size_t n)
{
	if (n && s->need_chan) {
		s->chan = p[0];
		s->need_chan = false;
		s->small_len = 0;
		p++;
		n--;
	}
	if (!n)
		return;
	count_payload(s, n);
	switch (s->chan) {
	case 0:
		queue_stdin(s, p, n, false);
		break;
	case 4:
	case 255:
		if (s->small_len + n <= sizeof(s->small)) {
			memcpy(s->small + s->small_len, p, n);
			s->small_len += n;
		} else {
			s->small_len = sizeof(s->small) + 1; /* too long: invalid for 255 */
		}
		break;
	default:
		break; /* channels the server does not read */
	}
}

static void control_frame(struct session *s)
{
	switch (s->h.opcode) {
	case WS_OP_PING:
		send_frame(s, WS_OP_PONG, -1, s->ctl, s->ctl_len);
		break;
	case WS_OP_CLOSE:
		s->client_closed = true;
		break;
	default:
		break;
	}
}

/* Parse the frames in c->rbuf, consuming payload as it arrives. */
static void parse_input(struct session *s)
{
	struct conn *c = s->c;
	size_t pos = 0;

	while (pos < c->rlen && !s->proto_err && !s->client_closed) {
		if (!s->have_hdr) {
			int r = ws_parse_hdr(c->rbuf + pos, c->rlen - pos, &s->h);

			if (r == 0)
				break;
			if (r < 0 || !s->h.masked) {
				s->proto_err = true;
				break;
			}
			pos += (size_t)r;
			s->have_hdr = true;
			s->remaining = s->h.len;
			s->off = 0;
			if (s->h.opcode < WS_OP_CLOSE) {
				if (s->h.opcode != WS_OP_CONT) {
					if (s->in_msg) {
						s->proto_err = true;
						break;
					}
					s->in_msg = true;
					s->need_chan = true;
					s->chan = -1;
				} else if (!s->in_msg) {
					s->proto_err = true;
					break;
				}
			} else {
				s->ctl_len = 0;
			}
		}
		size_t take = c->rlen - pos;

		if (take > s->remaining)
			take = (size_t)s->remaining;
		ws_unmask(c->rbuf + pos, take, s->h.mask, s->off);
		if (s->h.opcode >= WS_OP_CLOSE) {
			memcpy(s->ctl + s->ctl_len, c->rbuf + pos, take);
			s->ctl_len += take;
		} else {
			data_bytes(s, c->rbuf + pos, take);
		}
		pos += take;
		s->off += take;
		s->remaining -= take;
		if (s->remaining == 0) {
			s->have_hdr = false;
			if (s->h.opcode >= WS_OP_CLOSE)
				control_frame(s);
			else if (s->h.fin)
				message_end(s);
		}
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
}

static void read_report(struct session *s)
{
	ssize_t n = read(s->p.report_fd, s->rep + s->replen, sizeof(s->rep) - s->replen);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(s->p.report_fd);
			s->p.report_fd = -1;
			if (!s->exited) { /* intermediate died without a word */
				s->exited = true;
				s->exit_code = 137;
				s->exited_at = now_ms();
			}
		}
		return;
	}
	s->replen += (size_t)n;
	if (s->replen < sizeof(s->rep))
		return;
	int32_t v;

	memcpy(&v, s->rep + 1, 4);
	switch (s->rep[0]) {
	case 'P':
		s->child = v;
		break;
	case 'E':
		s->exec_errno = v;
		break;
	case 'X':
		s->exited = true;
		s->exit_code = v;
		s->exited_at = now_ms();
		break;
	}
	s->replen = 0;
}

static void read_pipe(struct session *s, int *fd, int chan)
{
	uint8_t b[CHUNK];
	ssize_t n = read(*fd, b, sizeof(b));

	if (n > 0) {
		count_payload(s, (size_t)n);
		send_frame(s, WS_OP_BINARY, chan, b, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(*fd);
		*fd = -1;
	}
}

static void write_stdin(struct session *s, uint64_t now)
{
	while (s->inq.head && s->inq.head->release <= now && s->p.in_fd >= 0) {
		struct qmsg *m = s->inq.head;

		if (m->close_marker) {
			close(s->p.in_fd);
			s->p.in_fd = -1;
			q_pop(&s->inq);
			break;
		}
		ssize_t w = write(s->p.in_fd, m->data + m->off, m->len - m->off);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* The command closed its stdin: drop what is left. */
			close(s->p.in_fd);
			s->p.in_fd = -1;
			break;
		}
		m->off += (size_t)w;
		if (m->off == m->len)
			q_pop(&s->inq);
	}
	if (s->p.in_fd < 0)
		q_clear(&s->inq);
}

static int flush_out(struct session *s, uint64_t now)
{
	while (s->outq.head && s->outq.head->release <= now) {
		struct qmsg *m = s->outq.head;
		int rc = conn_write_all(s->c, m->data, m->len, WRITE_TIMEOUT_MS);

		if (rc)
			return rc;
		q_pop(&s->outq);
	}
	return 0;
}

static char *status_body(struct session *s, const char *internal)
{
	cJSON *st = cJSON_CreateObject(), *det, *causes, *cause;
	char msg[1024];
	char *out;

	cJSON_AddObjectToObject(st, "metadata");
	if (!internal && s->exit_code == 0) {
		cJSON_AddStringToObject(st, "status", "Success");
	} else if (!internal) {
		char code[16];
		struct buf cmd;

		buf_init(&cmd, 512);
		for (char **a = s->o->argv; *a; a++)
			if (buf_printf(&cmd, "%s%s", a == s->o->argv ? "" : " ", *a))
				break;
		snprintf(msg, sizeof(msg),
			 "command terminated with non-zero exit code: error executing command [%s], exit code %d",
			 cmd.data ? cmd.data : "", s->exit_code);
		buf_cleanup(&cmd);
		snprintf(code, sizeof(code), "%d", s->exit_code);
		cJSON_AddStringToObject(st, "status", "Failure");
		cJSON_AddStringToObject(st, "message", msg);
		cJSON_AddStringToObject(st, "reason", "NonZeroExitCode");
		det = cJSON_AddObjectToObject(st, "details");
		causes = cJSON_AddArrayToObject(det, "causes");
		cause = cJSON_CreateObject();
		cJSON_AddStringToObject(cause, "reason", "ExitCode");
		cJSON_AddStringToObject(cause, "message", code);
		cJSON_AddItemToArray(causes, cause);
	} else {
		snprintf(msg, sizeof(msg), "Internal error occurred: %s", internal);
		cJSON_AddStringToObject(st, "status", "Failure");
		cJSON_AddStringToObject(st, "message", msg);
		cJSON_AddStringToObject(st, "reason", "InternalError");
		det = cJSON_AddObjectToObject(st, "details");
		causes = cJSON_AddArrayToObject(det, "causes");
		cause = cJSON_CreateObject();
		cJSON_AddStringToObject(cause, "message", internal);
		cJSON_AddItemToArray(causes, cause);
		cJSON_AddNumberToObject(st, "code", 500);
	}
	out = cJSON_PrintUnformatted(st);
	cJSON_Delete(st);
	return out;
}

/* Status on channel 3, then Close(1000). */
static void finish(struct session *s, const char *internal)
{
	char *body = status_body(s, internal);
	static const uint8_t normal[2] = { 0x03, 0xE8 };

	/* kubectl's WebSocket client (1.30-1.32) may drop the last output of
	 * a command when the status and the Close follow it at once, and
	 * still exit 0 (kubernetes/kubernetes#124571): leave it a moment */
	if (s->last_out_release)
		s->last_out_release += FINISH_GAP_MS;
	if (body) {
		send_frame(s, WS_OP_BINARY, 3, body, strlen(body));
		free(body);
	}
	send_frame(s, WS_OP_CLOSE, -1, normal, 2);
	s->sent_close = true;
}

/* Send the queue, then wait for the client's Close echo (or time out),
 * so that unread client data does not turn our close into an RST. */
static void drain_and_close(struct session *s)
{
	uint64_t deadline = 0;

	for (;;) {
		uint64_t now = now_ms();

		if (flush_out(s, now))
			return;
		if (!s->outq.head) {
			if (!deadline)
				deadline = now + CLOSE_WAIT_MS;
			if (s->client_closed || s->client_gone || now >= deadline)
				break;
		}
		int wait = s->outq.head ? (int)(s->outq.head->release > now ? s->outq.head->release - now : 0)
					: (int)(deadline - now);
		struct pollfd pf = { .fd = s->c->fd, .events = POLLIN };

		if (SSL_pending(s->c->ssl) > 0 || poll(&pf, 1, wait) > 0) {
			int r = conn_read_nb(s->c);

			if (r < 0) {
				s->client_gone = true;
				continue;
			}
			/* Keep parsing for the Close; data after our close is dropped. */
			s->o->in = false;
			parse_input(s);
			if (s->proto_err)
				break;
		}
	}
	SSL_shutdown(s->c->ssl);
}

static void hard_kill_conn(struct conn *c)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	shutdown(c->fd, SHUT_RDWR);
}

static void stop_child(struct session *s)
{
	if (s->child > 0 && !s->exited)
		kill(-s->child, SIGKILL);
}

static void exec_errmsg(struct session *s, char *out, size_t len)
{
	const char *a0 = s->o->argv[0];

	if (s->exec_errno == ENOENT && !strchr(a0, '/'))
		snprintf(out, len,
			 "error executing command in container: failed to exec in container: failed to start exec \"%s\": "
			 "OCI runtime exec failed: exec failed: unable to start container process: exec: \"%s\": "
			 "executable file not found in $PATH: unknown",
			 s->o->ct->id, a0);
	else
		snprintf(out, len,
			 "error executing command in container: failed to exec in container: failed to start exec \"%s\": "
			 "OCI runtime exec failed: exec failed: unable to start container process: exec: \"%s\": "
			 "%s: unknown",
			 s->o->ct->id, a0, strerror(s->exec_errno));
}

void exec_run(struct conn *c, struct exec_opts *o, int *exit_code, char *err, size_t errlen)
{
	struct session s = { .c = c, .o = o, .exit_code = -1, .err = err, .errlen = errlen };
	char msg[1024];
	int rc;

	*exit_code = -1;
	err[0] = '\0';
	s.p.in_fd = s.p.out_fd = s.p.err_fd = s.p.report_fd = -1;
	if (o->knobs.blackhole) {
		/* A link that died silently: read and drop everything (no pongs,
		 * no data, no close) until the client gives up. */
		uint64_t end = now_ms() + 15 * 60 * 1000;

		while (now_ms() < end) {
			struct pollfd pf = { .fd = c->fd, .events = POLLIN };

			if (poll(&pf, 1, 1000) > 0 || SSL_pending(c->ssl) > 0) {
				if (conn_read_nb(c) < 0)
					break;
				c->rlen = 0;
			}
		}
		snprintf(err, errlen, "blackhole: the client gave up");
		return;
	}
	/* "Connection established": one empty message on the lowest writable channel. */
	send_frame(&s, WS_OP_BINARY, o->out ? 1 : (o->err ? 2 : 3), NULL, 0);

	if (!o->in && !o->out && !o->err) {
		finish(&s, "you must specify at least 1 of stdin, stdout, stderr");
		snprintf(err, errlen, "no stream requested");
		goto close;
	}
	if (!o->argv[0]) {
		finish(&s, "command is required");
		snprintf(err, errlen, "no command");
		goto close;
	}
	if (o->ct->holder <= 0) {
		snprintf(msg, sizeof(msg), "unable to upgrade connection: container not found (\"%s\")", o->ct->name);
		finish(&s, msg);
		snprintf(err, errlen, "container not running");
		goto close;
	}
	rc = proc_spawn(o->pod, o->ct, o->argv, o->in, o->out, o->err, o->tty, &s.p);
	if (rc) {
		snprintf(msg, sizeof(msg), "error executing command in container: %s", strerror(-rc));
		finish(&s, msg);
		snprintf(err, errlen, "spawn: %s", strerror(-rc));
		goto close;
	}
	for (int *fd = (int[]){ s.p.in_fd, s.p.out_fd, s.p.err_fd, s.p.report_fd, -2 }; *fd != -2; fd++)
		if (*fd >= 0)
			fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);

	for (;;) {
		uint64_t now = now_ms();
		struct pollfd pf[5];
		int np = 0, isock = -1, iout = -1, ierr = -1, irep = -1, iin = -1;
		uint64_t next = now + 1000;

		if (flush_out(&s, now)) {
			s.client_gone = true;
			snprintf(err, errlen, "client stopped reading");
			break;
		}
		write_stdin(&s, now);
		if (s.killed) {
			snprintf(err, errlen, "killed after %lld bytes (kill_after_bytes)", s.payload_bytes);
			hard_kill_conn(c);
			s.client_gone = true;
			break;
		}
		if (s.proto_err) {
			static const uint8_t perr[2] = { 0x03, 0xEA };

			snprintf(err, errlen, "WebSocket protocol error from client");
			q_clear(&s.outq);
			send_frame(&s, WS_OP_CLOSE, -1, perr, 2);
			s.sent_close = true;
			break;
		}
		if (s.client_closed || s.client_gone) {
			if (!s.client_gone && !s.sent_close) {
				static const uint8_t normal[2] = { 0x03, 0xE8 };

				q_clear(&s.outq);
				send_frame(&s, WS_OP_CLOSE, -1, normal, 2);
				s.sent_close = true;
			}
			snprintf(err, errlen, "client closed the connection before the command ended");
			break;
		}
		if (s.exited && (s.exec_errno || (s.p.out_fd < 0 && s.p.err_fd < 0) ||
				 now >= s.exited_at + EXIT_GRACE_MS)) {
			if (s.exec_errno) {
				exec_errmsg(&s, msg, sizeof(msg));
				finish(&s, msg);
				snprintf(err, errlen, "exec failed: %s", strerror(s.exec_errno));
			} else {
				finish(&s, NULL);
				*exit_code = s.exit_code;
			}
			goto close;
		}

		if (s.inq.bytes < QUEUE_CAP) {
			isock = np;
			pf[np++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		}
		if (s.outq.bytes < QUEUE_CAP) {
			if (s.p.out_fd >= 0) {
				iout = np;
				pf[np++] = (struct pollfd){ .fd = s.p.out_fd, .events = POLLIN };
			}
			if (s.p.err_fd >= 0) {
				ierr = np;
				pf[np++] = (struct pollfd){ .fd = s.p.err_fd, .events = POLLIN };
			}
		}
		if (s.p.report_fd >= 0) {
			irep = np;
			pf[np++] = (struct pollfd){ .fd = s.p.report_fd, .events = POLLIN };
		}
		if (s.p.in_fd >= 0 && s.inq.head) {
			if (s.inq.head->release <= now) {
				iin = np;
				pf[np++] = (struct pollfd){ .fd = s.p.in_fd, .events = POLLOUT };
			} else if (s.inq.head->release < next) {
				next = s.inq.head->release;
			}
		}
		if (s.outq.head && s.outq.head->release < next)
			next = s.outq.head->release;
		if (s.exited && s.exited_at + EXIT_GRACE_MS < next)
			next = s.exited_at + EXIT_GRACE_MS;
		int timeout = next > now ? (int)(next - now) : 0;

		if (isock >= 0 && SSL_pending(c->ssl) > 0)
			timeout = 0;
		if (poll(pf, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (isock >= 0 && (pf[isock].revents || SSL_pending(c->ssl) > 0)) {
			int r = conn_read_nb(c);

			if (r < 0 && r != -ENOBUFS)
				s.client_gone = true;
			parse_input(&s);
		}
		if (iout >= 0 && pf[iout].revents)
			read_pipe(&s, &s.p.out_fd, 1);
		if (ierr >= 0 && pf[ierr].revents)
			read_pipe(&s, &s.p.err_fd, 2);
		if (irep >= 0 && pf[irep].revents)
			read_report(&s);
		(void)iin; /* write_stdin runs at the top of the loop */
	}
	/* Abnormal end: the client is gone or misbehaved. */
	stop_child(&s);
	if (!s.client_gone)
		drain_and_close(&s);
	goto reap;
close:
	drain_and_close(&s);
reap:
	stop_child(&s);
	for (int *fd = (int[]){ s.p.in_fd, s.p.out_fd, s.p.err_fd, s.p.report_fd, -2 }; *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	if (s.p.pid > 0)
		while (waitpid(s.p.pid, NULL, 0) < 0 && errno == EINTR)
			;
	q_clear(&s.outq);
	q_clear(&s.inq);
}
