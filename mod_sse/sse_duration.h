/* sse_duration.h: durations as administrators write them in directives. */
#ifndef SSE_DURATION_H
#define SSE_DURATION_H

#include <apr_pools.h>
#include <apr_time.h>

/* Durations for directives: "3" (seconds), "3s", "500ms", "2m", "1h".
 * Returns NULL and sets *out, or an error message allocated from p. */
const char *sse_duration_parse(apr_pool_t *p, const char *arg,
                               apr_interval_time_t *out);

#endif
