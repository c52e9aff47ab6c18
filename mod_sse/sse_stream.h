/* sse_stream.h: the `sse-stream` handler and its one poll step.
 *
 * Everything a stream needs lives in one small struct allocated from
 * r->pool. sse_stream_step() does one tick (client gone? stopping? lifetime
 * or token over? poll the store, write what changed, keep-alive) and says
 * when the next tick is due; the blocking loop and the event-MPM callback
 * both call that same step.
 */
#ifndef SSE_STREAM_H
#define SSE_STREAM_H

#include "httpd.h"

typedef struct sse_stream sse_stream;

typedef enum {
    SSE_STEP_AGAIN,     /* call again at *next */
    SSE_STEP_DONE       /* the stream is over; nothing more to write */
} sse_step_result;

int sse_stream_handler(request_rec *r);

sse_step_result sse_stream_step(sse_stream *s, apr_time_t now, apr_time_t *next);

/* Once the step said SSE_STEP_DONE, before the request is finalized:
 * sets the access-log notes sse_end and sse_events and counts the close. */
void sse_stream_finish(sse_stream *s);

/* The pool the next step allocates from and clears first. A suspended
 * stream borrows its worker thread's scratch pool for each tick. */
void sse_stream_use_tick_pool(sse_stream *s, apr_pool_t *tick);

/* Per-child start-up (execution mode) and the graceful-stop signal. */
void sse_stream_child_init(apr_pool_t *pchild, server_rec *s);
void sse_stream_child_stopping(void);

/* 1 once this child is stopping (graceful restart/stop): streams end with
 * connectionLost "shutdown" so the old generation can exit. */
int sse_stream_server_stopping(void);

#endif
