/* sse_async.h: suspended streams on mpm_event.
 *
 * A suspended stream holds no worker thread between ticks. A per-child
 * scheduler thread keeps every suspended stream's next deadline and, when
 * one is due, hands the stream to a worker through a zero-delay MPM timed
 * callback; the worker runs the same sse_stream_step() as the blocking loop.
 */
#ifndef SSE_ASYNC_H
#define SSE_ASYNC_H

#include "httpd.h"

#include "sse_stream.h"

/* Registers the suspend_connection hook that queues a suspended stream. */
void sse_async_register_hooks(apr_pool_t *p);

/* Per child: starts the scheduler when the MPM can suspend requests, and
 * logs once which mode this child's streams run in. */
void sse_async_child_init(apr_pool_t *pchild, server_rec *s);

/* Graceful restart or stop: every suspended stream is due at once, so each
 * gets its connectionLost "shutdown" tick now. Safe from any thread. */
void sse_async_child_stopping(void);

/* 1 when this request can be suspended: an async MPM with our scheduler
 * running, and an HTTP/1 connection processed asynchronously (not an
 * HTTP/2 stream, not a subrequest or internal redirect). */
int sse_async_possible(request_rec *r);

/* A pool for one tick's allocations, private to the calling thread and
 * cleared by whoever uses it. Suspended streams borrow it instead of each
 * keeping a pool of its own. */
apr_pool_t *sse_async_scratch_pool(void);

/* Before a stream that will be suspended writes anything: keeps the core
 * from setting the response headers aside in a pool of its own. */
void sse_async_before_first_write(request_rec *r);

/* Suspends a stream whose opening events are flushed; its next tick is due
 * at `next`. Returns SUSPENDED, for the handler to return. */
int sse_async_suspend(request_rec *r, sse_stream *s, apr_time_t next);

#endif
