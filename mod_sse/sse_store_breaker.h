/* sse_store_breaker.h: the store's outage breaker. After an unreachable-store
 * error, polls fail at once for a short hold-off while one poll at a time
 * probes the store; the first probe that gets through ends the outage for
 * everyone. Pure (APR only): the transport tells it what happened. */
#ifndef SSE_STORE_BREAKER_H
#define SSE_STORE_BREAKER_H

#include "apr_pools.h"
#include "apr_thread_mutex.h"
#include "apr_time.h"

typedef struct {
    apr_thread_mutex_t *lock;       /* guards the three fields below */
    apr_time_t until;               /* 0: no known outage */
    int probing;                    /* a poll is testing the store now */
    char error[256];
    apr_interval_time_t hold_off;
} sse_breaker;

/* A closed breaker whose outages hold polls off for `hold_off`. */
apr_status_t sse_breaker_init(sse_breaker *b, apr_pool_t *p, apr_interval_time_t hold_off);

/* 1 when this poll may go to the store: no known outage, or the hold-off
 * is over and no other poll is probing (then *probe is 1 and the poll must
 * be recorded). Otherwise 0 with *error (from p) saying why not. */
int sse_breaker_admits(sse_breaker *b, apr_pool_t *p, int *probe, const char **error);

/* What a poll found: `unreachable` (no server could be selected, with
 * `message`) starts or continues an outage; any answer from the store,
 * even an error, ends it. */
void sse_breaker_record(sse_breaker *b, int probe, int unreachable, const char *message);

#endif
