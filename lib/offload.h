/*
 * offload.h - a bounded pool of worker threads for CPU-heavy calls
 * (an Argon2 hash takes ~30 ms), so the libevent loop never blocks on them.
 *
 * work runs on a worker thread and must touch nothing the loop owns; done
 * runs afterwards on the loop thread, where it may answer the request and
 * free what arg points to. Everything here but work is called on the loop
 * thread. libevent needs no thread support: workers wake the loop through
 * a pipe.
 */
#ifndef MADOGUCHI_OFFLOAD_H
#define MADOGUCHI_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct offload;

typedef void	(*offload_work_fn)(void *arg);
typedef void	(*offload_done_fn)(void *arg);

#define OFFLOAD_MAX_THREADS	64

/*
 * A pool of threads (1..OFFLOAD_MAX_THREADS) on base's loop that holds at
 * most max_queued (>= 1) jobs at a time. NULL on bad arguments or when a
 * pipe, event or thread could not be made.
 */
struct offload	*offload_new(struct event_base *base, int threads,
		    int max_queued);

/*
 * Queues work(arg) and then done(arg) (done may be NULL). False, with
 * nothing queued, when max_queued jobs are already pending (the caller
 * answers 503), the pool is closing, or memory ran out.
 */
bool		 offload_submit(struct offload *o, offload_work_fn work,
		    offload_done_fn done, void *arg)
		    __attribute__((warn_unused_result));

/* Jobs counted against max_queued: from submit until done has begun. */
size_t		 offload_pending(const struct offload *o);

/*
 * Refuses new jobs, lets the workers finish every job already queued or
 * running, runs the done callbacks not yet run (here, before returning, so
 * callers can free their state), joins the threads and frees the pool.
 * Not from inside a done callback, and before the event_base is freed.
 * offload_free(NULL) does nothing.
 */
void		 offload_free(struct offload *o);

#endif
