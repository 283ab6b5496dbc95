/* progress.c: the progress line of podfs cp on a terminal.
 *
 * A thread redraws one line ("\r...\033[K") at most 10 times a second:
 * bytes done / known total, percentage, a bar, rate, ETA and the current
 * file (printable bytes only: a pod's file name cannot send escape
 * sequences to the terminal). Totals grow while the tree is walked
 * ("+" after the total). Counters are atomics; the current name has its
 * own lock, taken alone.
 */
#include "cp_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double cp_elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void cp_progress_set_current(struct cp_progress *p, const char *name)
{
	if (p->fd < 0)
		return;
	pthread_mutex_lock(&p->lock);
	cp_printable(name, p->current, sizeof(p->current));
	pthread_mutex_unlock(&p->lock);
}

static void draw(struct cp_progress *p)
{
	char line[512], done[32], total[32], rate[32], eta[32], cur[256];
	uint64_t bd = atomic_load(&p->bytes_done), bt = atomic_load(&p->bytes_total);
	double el = cp_elapsed(&p->t0), bps = el > 0.2 ? (double)bd / el : 0;
	struct winsize ws;
	int width = 80, pct = bt ? (int)((double)bd * 100.0 / (double)bt) : 0, n;
	bool walking = atomic_load(&p->walking);
	char bar[24];

	if (ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		width = ws.ws_col < sizeof(line) - 1 ? ws.ws_col : (int)sizeof(line) - 1;
	if (pct > 100)
		pct = 100;
	cp_fmt_bytes(bd, done, sizeof(done));
	cp_fmt_bytes(bt, total, sizeof(total));
	cp_fmt_bytes((uint64_t)bps, rate, sizeof(rate));
	if (bps > 0 && bt > bd && !walking) {
		unsigned long s = (unsigned long)((double)(bt - bd) / bps);

		snprintf(eta, sizeof(eta), "ETA %lu:%02lu", s / 60, s % 60);
	} else {
		snprintf(eta, sizeof(eta), "ETA --:--");
	}
	for (int i = 0; i < 20; i++)
		bar[i] = i < pct / 5 ? '=' : (i == pct / 5 ? '>' : ' ');
	bar[20] = '\0';
	pthread_mutex_lock(&p->lock);
	memcpy(cur, p->current, sizeof(cur));
	pthread_mutex_unlock(&p->lock);
	n = snprintf(line, sizeof(line), "\r%s / %s%s [%s] %3d%% %s/s %s %llu/%llu%s files  ", done, total,
		     walking ? "+" : "", bar, pct, rate, eta, (unsigned long long)atomic_load(&p->files_done),
		     (unsigned long long)atomic_load(&p->files_total), walking ? "+" : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* the current file, cut to the terminal's width (\r not counted) */
	if (n - 1 < width - 1) {
		size_t room = (size_t)(width - 1 - (n - 1));
		size_t cl = strlen(cur);

		if (cl > room)
			cl = room;
		memcpy(line + n, cur, cl);
		n += (int)cl;
	} else {
		n = width;
	}
	memcpy(line + n, "\033[K", 3);
	n += 3;
	ssize_t w = write(p->fd, line, (size_t)n);

	(void)w;
}

static void *redraw(void *arg)
{
	struct cp_progress *p = arg;

	pthread_mutex_lock(&p->stop_lock);
	while (!p->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->stop_cond, &p->stop_lock, &ts);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->stop_lock);
		draw(p);
		pthread_mutex_lock(&p->stop_lock);
	}
	pthread_mutex_unlock(&p->stop_lock);
	return NULL;
}

void cp_progress_start(struct cp_progress *p, int fd)
{
	p->fd = fd;
	atomic_init(&p->bytes_done, 0);
	atomic_init(&p->bytes_total, 0);
	atomic_init(&p->files_done, 0);
	atomic_init(&p->files_total, 0);
	atomic_init(&p->walking, true);
	p->current[0] = '\0';
	p->stop = false;
	p->running = false;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->stop_lock, NULL);
	pthread_cond_init(&p->stop_cond, NULL);
	if (fd >= 0 && pthread_create(&p->thr, NULL, redraw, p) == 0)
		p->running = true;
}

void cp_progress_stop(struct cp_progress *p)
{
	if (p->running) {
		pthread_mutex_lock(&p->stop_lock);
		p->stop = true;
		pthread_cond_signal(&p->stop_cond);
		pthread_mutex_unlock(&p->stop_lock);
		pthread_join(p->thr, NULL);
		p->running = false;
		atomic_store(&p->walking, false);
		draw(p); /* the final state stays on screen */
		ssize_t w = write(p->fd, "\n", 1);

		(void)w;
	}
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->stop_lock);
	pthread_cond_destroy(&p->stop_cond);
}
