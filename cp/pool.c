/* pool.c: the job of one `podfs cp`: a FIFO of tasks run by
 * O->parallel worker threads, the report (failures, notes, counters)
 * and the retry loop around the attempts.
 *
 * A task with several claims (the ranges of a big file) stays at the
 * head of the queue until every claim was handed out, so the workers
 * share one file's ranges; its done() runs once, after the last claim.
 *
 * Locks: j->lock guards the queue and pending; j->rep_lock the report.
 * Never held while a task runs.
 */
#include "cp_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

void cp_request_stop(void)
{
	stop_requested = 1;
}

bool cp_job_stopping(void)
{
	return stop_requested != 0;
}

void cp_opts_init(struct cp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->parallel = 4;
	o->progress_fd = -1;
}

int cp_job_init(struct cp_job *j, struct remote *r, const struct cp_opts *o, struct cp_report *rep)
{
	mode_t m;

	memset(j, 0, sizeof(*j));
	memset(rep, 0, sizeof(*rep));
	j->r = r;
	j->o = *o;
	if (j->o.parallel <= 0)
		j->o.parallel = 4;
	if (j->o.parallel > 64)
		j->o.parallel = 64;
	if (!j->o.chunk)
		j->o.chunk = CP_DEFAULT_CHUNK;
	if (!j->o.small)
		j->o.small = CP_DEFAULT_SMALL;
	if (j->o.small > j->o.chunk)
		j->o.small = j->o.chunk;
	j->rep = rep;
	j->is_root = geteuid() == 0;
	m = umask(022);
	umask(m);
	j->umask = m;
	atomic_init(&j->no_batch, o->no_batch || !r->ops->read_many);
	atomic_init(&j->conn_lost, false);
	atomic_init(&j->no_checksum, false);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	pthread_mutex_init(&j->rep_lock, NULL);
	return 0;
}

void cp_job_dir_queued(struct cp_job *j)
{
	atomic_fetch_add(&j->dirs_pending, 1);
}

void cp_job_dir_done(struct cp_job *j)
{
	if (atomic_fetch_sub(&j->dirs_pending, 1) == 1)
		atomic_store(&j->prog.walking, false);
}

void cp_job_walk(struct cp_job *j)
{
	if (atomic_load(&j->dirs_pending) == 0)
		atomic_store(&j->prog.walking, false);
	cp_job_run(j);
	atomic_store(&j->prog.walking, false);
}

int cp_job_add_root(struct cp_job *j, int fd)
{
	int *n = realloc(j->rootfds, (j->nroot + 1) * sizeof(*n));

	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	j->rootfds = n;
	j->rootfds[j->nroot++] = fd;
	return 0;
}

void cp_job_close_roots(struct cp_job *j)
{
	for (size_t k = 0; k < j->nroot; k++)
		close(j->rootfds[k]);
	j->nroot = 0;
}

void cp_job_cleanup(struct cp_job *j)
{
	cp_job_close_roots(j);
	free(j->rootfds);
	j->rootfds = NULL;
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->rep_lock);
}

void cp_job_push(struct cp_job *j, struct cp_task *t)
{
	t->next = NULL;
	t->claimed = t->finished = 0;
	if (!t->claims)
		t->claims = 1;
	pthread_mutex_lock(&j->lock);
	if (j->tail)
		j->tail->next = t;
	else
		j->head = t;
	j->tail = t;
	j->pending++;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

static void *worker(void *arg)
{
	struct cp_job *j = arg;

	for (;;) {
		struct cp_task *t;
		unsigned claim;
		bool last;

		pthread_mutex_lock(&j->lock);
		while (!j->head && j->pending > 0)
			pthread_cond_wait(&j->cond, &j->lock);
		if (!j->head) {
			pthread_mutex_unlock(&j->lock);
			return NULL;
		}
		t = j->head;
		claim = t->claimed++;
		if (t->claimed >= t->claims) {
			j->head = t->next;
			if (!j->head)
				j->tail = NULL;
		} else if (j->head->next) {
			pthread_cond_signal(&j->cond); /* more claims: wake another */
		}
		pthread_mutex_unlock(&j->lock);

		t->run(j, t, claim);

		pthread_mutex_lock(&j->lock);
		last = ++t->finished == t->claims;
		pthread_mutex_unlock(&j->lock);
		if (last && t->done)
			t->done(j, t);
		pthread_mutex_lock(&j->lock);
		if (last && --j->pending == 0)
			pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->lock);
	}
}

void cp_job_run(struct cp_job *j)
{
	int n = j->o.parallel;
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	int started = 0;

	for (int i = 0; th && i < n; i++) {
		if (pthread_create(&th[i], NULL, worker, j))
			break;
		started++;
	}
	if (started == 0)
		worker(j); /* no threads: run them here */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

/* ---- report ---- */

bool cp_err_is_conn(int err)
{
	return err == -EIO || err == -ENOTCONN || err == -ECONNRESET || err == -ETIMEDOUT || err == -EPIPE ||
	       err == -ECONNREFUSED || err == -EAGAIN;
}

static void add_item(struct cp_item **arr, size_t *n, const char *path, const char *what)
{
	struct cp_item *na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return;
	*arr = na;
	na[*n].path = strdup(path ? path : "");
	na[*n].what = strdup(what);
	if (!na[*n].path || !na[*n].what) {
		free(na[*n].path);
		free(na[*n].what);
		return;
	}
	(*n)++;
}

void cp_fail(struct cp_job *j, const char *path, int err, const char *what)
{
	char buf[512];

	if (err && what)
		snprintf(buf, sizeof(buf), "%s: %s", what, strerror(-err));
	else
		snprintf(buf, sizeof(buf), "%s", what ? what : strerror(-err));
	if (err && cp_err_is_conn(err))
		atomic_store(&j->conn_lost, true);
	pthread_mutex_lock(&j->rep_lock);
	add_item(&j->rep->failed, &j->rep->nfailed, path, buf);
	pthread_mutex_unlock(&j->rep_lock);
}

void cp_note(struct cp_job *j, const char *path, const char *what)
{
	pthread_mutex_lock(&j->rep_lock);
	add_item(&j->rep->notes, &j->rep->nnotes, path, what);
	pthread_mutex_unlock(&j->rep_lock);
}

void cp_count(struct cp_job *j, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&j->rep_lock);
	*field += n;
	pthread_mutex_unlock(&j->rep_lock);
}

static void items_free(struct cp_item *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].path);
		free(a[i].what);
	}
	free(a);
}

void cp_report_cleanup(struct cp_report *rep)
{
	items_free(rep->failed, rep->nfailed);
	items_free(rep->notes, rep->nnotes);
	rep->failed = rep->notes = NULL;
	rep->nfailed = rep->nnotes = 0;
}

int cp_run_attempts(struct cp_job *j, int (*attempt)(struct cp_job *j, void *arg), void *arg)
{
	int rc = 0;

	cp_progress_start(&j->prog, j->o.progress_fd);
	for (int a = 0; a <= j->o.retries; a++) {
		if (a > 0) {
			unsigned s = a < 4 ? 1u << (a - 1) : 8;
			char msg[128];

			/* Forget the failures of the attempt before; a new one
			 * finds them again if they persist. */
			pthread_mutex_lock(&j->rep_lock);
			items_free(j->rep->failed, j->rep->nfailed);
			j->rep->failed = NULL;
			j->rep->nfailed = 0;
			items_free(j->rep->notes, j->rep->nnotes);
			j->rep->notes = NULL;
			j->rep->nnotes = 0;
			pthread_mutex_unlock(&j->rep_lock);
			snprintf(msg, sizeof(msg), "podfs cp: connection lost; retrying in %u s (%d of %d)\n", s, a,
				 j->o.retries);
			if (j->prog.fd >= 0) {
				ssize_t w = write(j->prog.fd, "\r\033[K", 4);

				(void)w;
			}
			fputs(msg, stderr);
			for (unsigned i = 0; i < s * 10 && !cp_job_stopping(); i++)
				nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
			atomic_store(&j->prog.files_total, 0);
			atomic_store(&j->prog.files_done, 0);
			atomic_store(&j->prog.bytes_total, atomic_load(&j->prog.bytes_done));
		}
		j->rep->attempts = a + 1;
		atomic_store(&j->conn_lost, false);
		rc = attempt(j, arg);
		if (rc == -EINVAL || cp_job_stopping())
			break;
		if (j->rep->nfailed == 0 || !atomic_load(&j->conn_lost))
			break;
	}
	cp_progress_stop(&j->prog);
	j->rep->seconds = cp_elapsed(&j->prog.t0);
	j->rep->interrupted = cp_job_stopping();
	if (rc == -EINVAL)
		return rc;
	if (j->rep->interrupted)
		return -EINTR;
	if (atomic_load(&j->no_checksum))
		return -ENOTSUP;
	return j->rep->nfailed ? -EIO : 0;
}
