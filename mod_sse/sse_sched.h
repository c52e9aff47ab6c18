/* sse_sched.h: suspended work on mpm_event, knowing nothing of streams (as
 * redis' ae.h knows nothing of clients).
 *
 * A suspended request holds no worker thread between ticks. A per-child
 * scheduler thread keeps every suspended request's next deadline and, when
 * one is due, hands it to a worker through a zero-delay MPM timed callback;
 * the worker runs the owner's tick callback with a scratch pool. The
 * child's stop flag lives here.
 */
#ifndef SSE_SCHED_H
#define SSE_SCHED_H

#include "httpd.h"

typedef enum {
    SSE_SCHED_AGAIN,    /* tick again at *next */
    SSE_SCHED_DONE      /* over: `done` runs, then the connection closes */
} sse_sched_result;

/* One tick of a suspended request, in a worker holding r->invoke_mtx:
 * `scratch` is the worker's pool, cleared after the tick. `watched`: the
 * hang-up watcher watches this socket, so a client that closes is told
 * without the tick looking (the scheduler ends such a stream itself). */
typedef sse_sched_result (*sse_sched_tick_fn)(void *baton, apr_pool_t *scratch,
                                              apr_time_t now, int watched,
                                              apr_time_t *next);

/* Once the tick said SSE_SCHED_DONE (or the client hung up), before the
 * request is finalized. */
typedef void (*sse_sched_done_fn)(void *baton);
/* Registers the suspend_connection hook that queues a suspended stream. */
void sse_sched_register_hooks(apr_pool_t *p);

/* Per child: starts the scheduler when the MPM can suspend requests, and
 * logs once which mode this child's streams run in. */
void sse_sched_child_init(apr_pool_t *pchild, server_rec *s);

/* Graceful restart or stop: sets the child's stop flag, and every
 * suspended request is due at once, so each gets its last tick now. Safe
 * from any thread. */
void sse_sched_stop(void);

/* 1 once sse_sched_stop() ran in this child (an atomic read). */
int sse_sched_stopping(void);

/* 1 when this request can be suspended: an async MPM with our scheduler
 * running, and an HTTP/1 connection processed asynchronously (not an
 * HTTP/2 stream, not a subrequest or internal redirect). */
int sse_sched_available(request_rec *r);

/* A pool for one tick's allocations, private to the calling thread and
 * cleared by whoever uses it. Suspended streams borrow it instead of each
 * keeping a pool of its own. */
apr_pool_t *sse_sched_scratch_pool(void);

/* Before a stream that will be suspended writes anything: keeps the core
 * from setting the response headers aside in a pool of its own. */
void sse_sched_before_first_write(request_rec *r);

/* Suspends r, whose opening bytes are flushed; `tick` runs with `baton`
 * at `next` and then whenever it asks, `done` once it is over. Returns
 * SUSPENDED, for the handler to return. */
int sse_sched_suspend(request_rec *r, sse_sched_tick_fn tick, sse_sched_done_fn done,
                      void *baton, apr_time_t next);

#endif
