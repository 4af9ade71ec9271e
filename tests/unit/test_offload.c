/*
 * The worker pool on a real event_base: work off the loop thread, done on
 * it, the bound, offload_free finishing what was queued, and the loop kept
 * running while a job takes its time.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "offload.h"
#include "tap.h"

static struct event_base	*base;
static pthread_t		 loop_thread;
static bool			 timed_out;

struct job {
	pthread_t	worker;
	bool		worked;
	bool		off_loop;	/* work ran on another thread */
	bool		on_loop;	/* done ran on the loop thread */
	int		done_runs;
	int		*ndone;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		continue;
}

static void
job_work(void *arg)
{
	struct job *j = arg;

	j->worker = pthread_self();
	j->off_loop = !pthread_equal(j->worker, loop_thread);
	j->worked = true;
}

/* Long enough that both workers take some. */
static void
job_short_work(void *arg)
{
	job_work(arg);
	sleep_ms(1);
}

static void
job_sleep_work(void *arg)
{
	job_work(arg);
	sleep_ms(20);
}

static void
job_done(void *arg)
{
	struct job *j = arg;

	j->on_loop = pthread_equal(pthread_self(), loop_thread);
	j->done_runs++;
	(*j->ndone)++;
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = true;
}

/* Runs the loop until *counter reaches target; false after 10 s. */
static bool
run_until(const int *counter, int target)
{
	struct timeval tv = { 10, 0 };
	struct event *timeout = evtimer_new(base, timeout_cb, NULL);

	timed_out = false;
	evtimer_add(timeout, &tv);
	while (*counter < target && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(timeout);
	return *counter >= target;
}

static void
test_many(void)
{
	enum { N = 100 };
	struct offload *o = offload_new(base, 2, N);
	struct job jobs[N];
	int ndone = 0, submitted = 0, off = 0, on = 0, once = 0;
	pthread_t seen[N];
	int nseen = 0;

	ok(o != NULL, "pool of 2 threads");
	if (o == NULL)
		return;
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < N; i++) {
		jobs[i].ndone = &ndone;
		submitted += offload_submit(o, job_short_work, job_done,
		    &jobs[i]);
	}
	is_int(submitted, N, "%d jobs submitted", N);
	is_int(offload_pending(o), N, "all pending until their done runs");
	ok(run_until(&ndone, N), "all done");
	for (int i = 0; i < N; i++) {
		int k;

		off += jobs[i].worked && jobs[i].off_loop;
		on += jobs[i].on_loop;
		once += jobs[i].done_runs == 1;
		for (k = 0; k < nseen; k++)
			if (pthread_equal(seen[k], jobs[i].worker))
				break;
		if (k == nseen)
			seen[nseen++] = jobs[i].worker;
	}
	is_int(off, N, "work ran off the loop thread");
	is_int(on, N, "done ran on the loop thread");
	is_int(once, N, "each done exactly once");
	ok(nseen >= 1 && nseen <= 2, "on at most 2 worker threads (%d)", nseen);
	is_int(offload_pending(o), 0, "nothing pending");
	offload_free(o);
}

static pthread_mutex_t	gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	gate_cv = PTHREAD_COND_INITIALIZER;
static bool		gate_open;

static void
gated_work(void *arg)
{
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	job_work(arg);
}

static void
test_bound(void)
{
	struct offload *o = offload_new(base, 2, 3);
	struct job jobs[5];
	int ndone = 0;
	bool all = true;

	ok(o != NULL, "pool holding 3 jobs");
	if (o == NULL)
		return;
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 5; i++)
		jobs[i].ndone = &ndone;
	for (int i = 0; i < 3; i++)
		all &= offload_submit(o, gated_work, job_done, &jobs[i]);
	ok(all, "3 jobs taken (2 running, 1 waiting)");
	ok(!offload_submit(o, gated_work, job_done, &jobs[3]),
	    "the 4th refused");
	is_int(offload_pending(o), 3, "3 pending");
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	ok(run_until(&ndone, 3), "the 3 done");
	ok(jobs[3].done_runs == 0 && !jobs[3].worked,
	    "the refused one never ran");
	is_int(offload_pending(o), 0, "nothing pending");
	ok(offload_submit(o, gated_work, job_done, &jobs[4]) &&
	    run_until(&ndone, 4), "room again afterwards");
	ok(!offload_submit(o, NULL, job_done, &jobs[4]), "no work refused");
	offload_free(o);
}

/* A done that submits the next step, as a sign-in may after a hash. */
struct chain {
	struct offload	*o;
	struct job	 job;
	bool		 resubmitted;
	int		 ndone;
};

static void
chain_work(void *arg)
{
	job_work(&((struct chain *)arg)->job);
}

static void
chain_done(void *arg)
{
	struct chain *c = arg;

	c->ndone++;
	if (c->ndone == 1)
		c->resubmitted = offload_submit(c->o, chain_work, chain_done,
		    c);
}

static void
test_chain(void)
{
	struct chain c;

	memset(&c, 0, sizeof(c));
	c.o = offload_new(base, 1, 1);
	ok(c.o != NULL && offload_submit(c.o, chain_work, chain_done, &c),
	    "a pool of one job");
	ok(run_until(&c.ndone, 2) && c.resubmitted,
	    "its done may submit the next one");
	offload_free(c.o);
}

struct closing {
	struct offload	*o;
	struct job	 jobs[5];
	int		 ndone;
	int		 refused;	/* submits from done during free */
};

static struct closing	*closing;

/* Runs inside offload_free, which must refuse new work by now. */
static void
closing_job_done(void *arg)
{
	job_done(arg);
	if (!offload_submit(closing->o, job_work, job_done, arg))
		closing->refused++;
}

static void
test_free_runs_queued(void)
{
	struct closing c;
	bool all = true;
	int worked = 0, on = 0;

	memset(&c, 0, sizeof(c));
	closing = &c;
	c.o = offload_new(base, 1, 10);
	ok(c.o != NULL, "pool of 1 thread");
	if (c.o == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		c.jobs[i].ndone = &c.ndone;
		all &= offload_submit(c.o, job_sleep_work, closing_job_done,
		    &c.jobs[i]);
	}
	ok(all, "5 jobs of 20 ms queued");
	is_int(c.ndone, 0, "none done before offload_free (no loop ran)");
	offload_free(c.o);
	for (int i = 0; i < 5; i++) {
		worked += c.jobs[i].worked;
		on += c.jobs[i].on_loop;
	}
	is_int(worked, 5, "offload_free let every queued job work");
	is_int(c.ndone, 5, "and ran every done callback");
	is_int(on, 5, "on the thread that freed");
	is_int(c.refused, 5, "submits while closing refused");
	closing = NULL;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

static void
slow_work(void *arg)
{
	job_work(arg);
	sleep_ms(200);
}

static void
test_loop_not_blocked(void)
{
	struct offload *o = offload_new(base, 1, 1);
	struct timeval every = { 0, 10000 };
	struct event *tick;
	struct job j;
	int ticks = 0, ndone = 0;

	memset(&j, 0, sizeof(j));
	j.ndone = &ndone;
	tick = event_new(base, -1, EV_PERSIST, tick_cb, &ticks);
	event_add(tick, &every);
	ok(o != NULL && offload_submit(o, slow_work, job_done, &j),
	    "a 200 ms job");
	ok(run_until(&ndone, 1), "done");
	ok(ticks >= 8, "a 10 ms timer kept firing meanwhile (%d times)", ticks);
	event_free(tick);
	offload_free(o);
}

static void
test_arguments(void)
{
	ok(offload_new(NULL, 1, 1) == NULL, "no base");
	ok(offload_new(base, 0, 1) == NULL, "no threads");
	ok(offload_new(base, OFFLOAD_MAX_THREADS + 1, 1) == NULL,
	    "too many threads");
	ok(offload_new(base, 1, 0) == NULL, "no room");
	offload_free(NULL);
	ok(1, "offload_free(NULL)");
}

int
main(void)
{
	loop_thread = pthread_self();
	if ((base = event_base_new()) == NULL) {
		ok(0, "event_base_new");
		return done_testing();
	}
	test_many();
	test_bound();
	test_chain();
	test_free_runs_queued();
	test_loop_not_blocked();
	test_arguments();
	event_base_free(base);
	return done_testing();
}
