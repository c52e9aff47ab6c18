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

#include "sse_config.h"
#include "sse_jwt.h"

typedef struct sse_stream sse_stream;

typedef enum {
    SSE_STEP_AGAIN,     /* call again at *next */
    SSE_STEP_DONE       /* the stream is over; nothing more to write */
} sse_step_result;

int sse_stream_handler(request_rec *r);

/* The pool a new stream's first poll and ticks allocate from: the worker
 * thread's scratch pool (cleared) when r can be suspended, with *async 1;
 * else a pool of its own under r->pool. */
apr_pool_t *sse_stream_tick_pool(request_rec *r, int *async);

/* A list stream's poll (sse_collection.c): the events that bring the client
 * up to date ("" when nothing changed) allocated from `tick`, or NULL with
 * *why set when the store is unavailable; `resync` after an outage. */
typedef const char *(*sse_stream_poll_fn)(void *data, apr_pool_t *tick, int resync,
                                          const char **why);

/* A list stream after its own first poll: the same headers, opening, ticks
 * and endings as a document stream, with `poll` in place of the document's.
 * `first_events` (the snapshot, or "") goes out after `connected`; `tick`
 * and `async` as the handler chose them. */
/* Counts a stream against SSEMaxStreamsPerUser and SSEMaxStreams until
 * r->pool goes, however it ends. Returns 0 when it is refused, and then
 * has answered (429 for the user's limit, 503 for the instance's). */
int sse_stream_reserve(request_rec *r, const sse_dir_conf *d,
                       const sse_jwt_claims *claims);

int sse_stream_start_list(request_rec *r, const sse_dir_conf *d,
                          const sse_jwt_claims *claims, apr_pool_t *tick, int async,
                          sse_stream_poll_fn poll, void *poll_data, const char *first_events);

sse_step_result sse_stream_step(sse_stream *s, apr_time_t now, apr_time_t *next);

/* Once the step said SSE_STEP_DONE, before the request is finalized:
 * sets the access-log notes sse_end and sse_events and counts the close. */
void sse_stream_finish(sse_stream *s);

/* The pool the next step allocates from and clears first. A suspended
 * stream borrows its worker thread's scratch pool for each tick. */
void sse_stream_use_tick_pool(sse_stream *s, apr_pool_t *tick);

/* Per-child start-up (the allocator's mmap threshold). */
void sse_stream_child_init(apr_pool_t *pchild, server_rec *s);

/* 1 once this child is stopping (graceful restart/stop): streams end with
 * connectionLost "shutdown" so the old generation can exit. */
int sse_stream_server_stopping(void);

#endif
