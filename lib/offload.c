/*
 * offload.c - worker threads fed from a queue under one mutex; finished jobs
 * go on a second list and the loop is woken by a byte on a non-blocking
 * pipe, which a persistent read event watches.
 *
 * At most one wake-up byte is outstanding: a worker writes only when
 * "woken" is false, and the loop clears it in the same critical section
 * in which it takes the finished list, so no finished job is missed and
 * the pipe never fills.
 */
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

struct offload_job {
	STAILQ_ENTRY(offload_job) link;
	offload_work_fn		 work;
	offload_done_fn		 done;
	void			*arg;
};

STAILQ_HEAD(offload_jobs, offload_job);

struct offload {
	struct event		*wake;		/* pipe[0] readable */
	int			 pipe[2];	/* workers write, loop reads */
	pthread_mutex_t		 mu;		/* guards the four below */
	pthread_cond_t		 cv;		/* work queued, or closing */
	struct offload_jobs	 queue;		/* waiting for a worker */
	struct offload_jobs	 finished;	/* worked, done not yet run */
	bool			 woken;		/* a wake-up byte is pending */
	bool			 closing;	/* offload_free has begun */
	size_t			 pending;	/* loop thread only */
	size_t			 max_pending;
	pthread_t		*threads;
	int			 nthreads;	/* started, to join */
};

static void	offload_wake_cb(evutil_socket_t fd, short what, void *arg);

static bool
offload_fd_setup(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1 &&
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != -1;
}

/* Called with o->mu held, after a job joined o->finished. */
static void
offload_wake_loop(struct offload *o)
{
	static const char byte = 1;
	ssize_t n;

	if (o->woken)
		return;
	do
		n = write(o->pipe[1], &byte, 1);
	while (n == -1 && errno == EINTR);
	/* EAGAIN: the pipe is full, so the loop will wake anyway. */
	if (n == 1 || errno == EAGAIN)
		o->woken = true;
	else
		log_error("offload_wake_failed", "errno=%d", errno);
}

static void *
offload_worker(void *arg)
{
	struct offload *o = arg;
	struct offload_job *job;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (STAILQ_EMPTY(&o->queue) && !o->closing)
			pthread_cond_wait(&o->cv, &o->mu);
		/* Closing still drains the queue: each job gets its done. */
		if ((job = STAILQ_FIRST(&o->queue)) == NULL)
			break;
		STAILQ_REMOVE_HEAD(&o->queue, link);
		pthread_mutex_unlock(&o->mu);
		job->work(job->arg);
		pthread_mutex_lock(&o->mu);
		STAILQ_INSERT_TAIL(&o->finished, job, link);
		offload_wake_loop(o);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

/* Runs and frees the jobs on list, on the loop thread. */
static void
offload_run_done(struct offload *o, struct offload_jobs *list)
{
	struct offload_job *job;

	while ((job = STAILQ_FIRST(list)) != NULL) {
		STAILQ_REMOVE_HEAD(list, link);
		/* Before done, so that done may submit a follow-up job. */
		o->pending--;
		if (job->done != NULL)
			job->done(job->arg);
		free(job);
	}
}

static void
offload_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct offload *o = arg;
	struct offload_jobs ready = STAILQ_HEAD_INITIALIZER(ready);
	char buf[64];
	ssize_t n;

	(void)what;
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n == -1 && errno == EINTR));
	pthread_mutex_lock(&o->mu);
	STAILQ_CONCAT(&ready, &o->finished);
	o->woken = false;
	pthread_mutex_unlock(&o->mu);
	offload_run_done(o, &ready);
}

/* Workers leave signals to the loop thread, where libevent handles them. */
static bool
offload_start_threads(struct offload *o, int threads)
{
	sigset_t all, old;
	bool ok = true;

	o->threads = calloc((size_t)threads, sizeof(*o->threads));
	if (o->threads == NULL)
		return false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < threads && ok; i++) {
		ok = pthread_create(&o->threads[i], NULL, offload_worker,
		    o) == 0;
		if (ok)
			o->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

struct offload *
offload_new(struct event_base *base, int threads, int max_queued)
{
	struct offload *o;
	int fds[2];

	if (base == NULL || threads < 1 || threads > OFFLOAD_MAX_THREADS ||
	    max_queued < 1)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->pipe[0] = o->pipe[1] = -1;
	o->max_pending = (size_t)max_queued;
	STAILQ_INIT(&o->queue);
	STAILQ_INIT(&o->finished);
	if (pthread_mutex_init(&o->mu, NULL) != 0) {
		free(o);
		return NULL;
	}
	if (pthread_cond_init(&o->cv, NULL) != 0) {
		pthread_mutex_destroy(&o->mu);
		free(o);
		return NULL;
	}
	if (pipe(fds) == 0) {
		o->pipe[0] = fds[0];
		o->pipe[1] = fds[1];
	}
	if (o->pipe[0] == -1 || !offload_fd_setup(o->pipe[0]) ||
	    !offload_fd_setup(o->pipe[1]) ||
	    (o->wake = event_new(base, o->pipe[0], EV_READ | EV_PERSIST,
	    offload_wake_cb, o)) == NULL || event_add(o->wake, NULL) != 0 ||
	    !offload_start_threads(o, threads)) {
		offload_free(o);
		return NULL;
	}
	return o;
}

bool
offload_submit(struct offload *o, offload_work_fn work, offload_done_fn done,
    void *arg)
{
	struct offload_job *job;

	if (o == NULL || work == NULL || o->pending >= o->max_pending)
		return false;
	if ((job = malloc(sizeof(*job))) == NULL)
		return false;
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&o->mu);
	if (o->closing) {
		pthread_mutex_unlock(&o->mu);
		free(job);
		return false;
	}
	STAILQ_INSERT_TAIL(&o->queue, job, link);
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	o->pending++;
	return true;
}

size_t
offload_pending(const struct offload *o)
{
	return o == NULL ? 0 : o->pending;
}

void
offload_free(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->closing = true;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	for (int i = 0; i < o->nthreads; i++)
		pthread_join(o->threads[i], NULL);
	/* The workers are gone: what they finished is ours alone now. */
	if (o->wake != NULL)
		event_free(o->wake);
	offload_run_done(o, &o->finished);
	if (o->pipe[0] != -1)
		close(o->pipe[0]);
	if (o->pipe[1] != -1)
		close(o->pipe[1]);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o->threads);
	free(o);
}
