/* sse_collection.h: the caller's collection, as a list (`sse-collection`,
 * GET /v1/meetings) and as a stream of what changes in it
 * (`sse-collection-stream`, GET /v1/meetings/events). The stream's
 * lifecycle (writes, keep-alive, lifetime, token expiry, shutdown,
 * suspension) is sse_stream.c's; this file adds only the list's poll. */
#ifndef SSE_COLLECTION_H
#define SSE_COLLECTION_H

#include "httpd.h"

#include "sse_stream.h"

typedef struct sse_collection sse_collection;

int sse_collection_handler(request_rec *r);
int sse_collection_stream_handler(request_rec *r);

/* One poll of a list stream: the events (removed, then status, each with
 * the tag of the set after it as its id) that bring the client's set up to
 * date, "" when nothing changed, allocated from `tick`. With `resync` (the
 * store was down) the whole set goes out as one snapshot. NULL when the
 * store is unavailable, with *why set. An sse_stream_poll_fn for `c`. */
const char *sse_collection_poll(void *c, apr_pool_t *tick, int resync, const char **why);

#endif
