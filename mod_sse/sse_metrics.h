/* sse_metrics.h: the counters operators read (Prometheus, mod_status).
 *
 * Every child adds into its own slot of one shared-memory table made by the
 * parent, with relaxed atomic adds and no lock; a reader sums the slots. A
 * slot's counters outlive the child that filled them (the next child to
 * take the slot goes on adding), so totals never go backwards; its open
 * stream gauges count only while its process is alive.
 */
#ifndef SSE_METRICS_H
#define SSE_METRICS_H

#include "httpd.h"
#include "apr_tables.h"

/* How a stream ended: the connectionLost reasons, and the ends the client
 * (or its socket) chose. Names as in the access-log note sse_end. */
typedef enum {
    SSE_END_CLIENT_GONE,
    SSE_END_WRITE_TIMEOUT,
    SSE_END_MAX_LIFETIME,
    SSE_END_TOKEN_EXPIRED,
    SSE_END_NOT_FOUND,
    SSE_END_SHUTDOWN,
    SSE_END_COUNT
} sse_metrics_end;

/* The HTTP codes a stream request can be refused with; anything else is
 * counted as "other". */
#define SSE_REJECT_CODES { 400, 401, 403, 404, 405, 429, 500, 503 }
#define SSE_REJECT_COUNT 9

typedef enum {
    SSE_EV_CONNECTED,
    SSE_EV_STATUS,
    SSE_EV_ERROR,
    SSE_EV_CONNECTION_LOST,
    SSE_EV_KEEPALIVE,           /* a ": ping" comment, not an event */
    SSE_EV_SNAPSHOT,            /* list streams */
    SSE_EV_REMOVED,
    SSE_EV_COUNT
} sse_metrics_event;

/* Why a token was refused, in a few stable labels: sse_auth gives them,
 * from its own checks and the verifier's sse_jwt_failure. */
typedef enum {
    SSE_AUTH_MISSING,
    SSE_AUTH_MALFORMED,
    SSE_AUTH_UNKNOWN_KEY,
    SSE_AUTH_BAD_SIGNATURE,
    SSE_AUTH_EXPIRED,
    SSE_AUTH_NOT_YET_VALID,
    SSE_AUTH_WRONG_ISSUER,
    SSE_AUTH_WRONG_AUDIENCE,
    SSE_AUTH_UNSUPPORTED,
    SSE_AUTH_OTHER,
    SSE_AUTH_COUNT
} sse_metrics_auth;

/* How a PATCH (sse-update) ended. */
typedef enum {
    SSE_WR_SAVED,            /* 200 (or 204): applied and confirmed */
    SSE_WR_CONFLICT,         /* 412: the version had moved on */
    SSE_WR_REFUSED,          /* any other 4xx: nothing was written */
    SSE_WR_UNCONFIRMED,      /* 503 write_unconfirmed: writeConcernError */
    SSE_WR_UNAVAILABLE,      /* 503: the store could not be reached */
    SSE_WR_ERROR,            /* 500 */
    SSE_WR_COUNT
} sse_metrics_write;

/* Upper bounds of the poll-duration histogram, in microseconds (+Inf
 * comes after them). */
#define SSE_POLL_BUCKETS_US { 500, 1000, 2500, 5000, 10000, 25000, 50000, \
                              100000, 250000, 500000, 1000000, 2500000, 5000000 }
#define SSE_POLL_BUCKET_COUNT 13

/* Where each counter sits in a slot. */
enum {
    SSE_C_OPENED,
    SSE_C_CLOSED,                                       /* + sse_metrics_end */
    SSE_C_REJECTED = SSE_C_CLOSED + SSE_END_COUNT,      /* + code index */
    SSE_C_POLLS = SSE_C_REJECTED + SSE_REJECT_COUNT,
    SSE_C_STORE_QUERIES,
    SSE_C_STORE_ERRORS,
    SSE_C_POLL_BUCKET,                                  /* + bucket, +Inf last */
    SSE_C_POLL_SUM_US = SSE_C_POLL_BUCKET + SSE_POLL_BUCKET_COUNT + 1,
    SSE_C_EVENTS,                                       /* + sse_metrics_event */
    SSE_C_AUTH = SSE_C_EVENTS + SSE_EV_COUNT,           /* + sse_metrics_auth */
    SSE_C_WRITES = SSE_C_AUTH + SSE_AUTH_COUNT,         /* + sse_metrics_write */
    SSE_C_SHARED_POLLS = SSE_C_WRITES + SSE_WR_COUNT,   /* polls answered by a shared read */
    SSE_C_BATCHED_IDS,                                  /* ids asked in batched finds */
    SSE_C_COUNT
};

/* Plain counters a caller adds to directly. */
typedef enum {
    SSE_M_STORE_QUERIES = SSE_C_STORE_QUERIES,
    SSE_M_STORE_ERRORS = SSE_C_STORE_ERRORS,
    SSE_M_SHARED_POLLS = SSE_C_SHARED_POLLS,
    SSE_M_BATCHED_IDS = SSE_C_BATCHED_IDS
} sse_metrics_counter;

/* ---- set-up ---- */

/* Parent, post_config: the table, kept in the process pool so it (and the
 * totals) survive graceful and plain restarts. */
int sse_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);

/* Child: takes a slot for this process. Without one (no table, or every
 * slot held by a live process) the updates below do nothing. */
void sse_metrics_child_init(apr_pool_t *pchild, server_rec *s);

/* ---- updates: a few atomic adds each, safe from any thread ---- */

void sse_metrics_count(sse_metrics_counter which, apr_uint64_t n);
void sse_metrics_stream_opened(int suspended);
/* `reason` is an sse_metrics_end name; unknown text counts as client_gone. */
void sse_metrics_stream_closed(int suspended, const char *reason);
/* After the stream handler: counts a refusal when the answer was >= 400. */
void sse_metrics_stream_answered(request_rec *r, int handler_result);
/* One stream poll (a store fetch) that took `took`. */
void sse_metrics_poll(apr_interval_time_t took);
void sse_metrics_event_sent(sse_metrics_event ev);
/* One refused token, by label. */
void sse_metrics_auth_failure(sse_metrics_auth label);
/* One PATCH answered with `status`; `unconfirmed` for write_unconfirmed. */
void sse_metrics_write_answered(int status, int unconfirmed);

/* ---- reading ---- */

typedef struct {
    apr_uint64_t c[SSE_C_COUNT];
    apr_int64_t open_suspended;
    apr_int64_t open_blocking;
} sse_metrics_totals;

typedef struct {
    int scoreboard_slot;            /* -1 when not (yet) in the scoreboard */
    long pid;
    apr_int64_t open_suspended;
    apr_int64_t open_blocking;
} sse_metrics_child;

/* Sums every slot into *totals (gauges only from live processes) and lists
 * the live children (sse_metrics_child) in *children when it is not NULL.
 * Returns 0 when there is no table (the module was not set up). */
int sse_metrics_read(apr_pool_t *p, sse_metrics_totals *totals,
                     apr_array_header_t **children);

/* Label values, by index. */
const char *sse_metrics_end_name(int end);
int sse_metrics_reject_code(int index);         /* 0 for "other" */
const char *sse_metrics_event_name(int ev);
const char *sse_metrics_auth_name(int reason);
const char *sse_metrics_write_name(int result);
apr_int64_t sse_metrics_poll_bucket_us(int bucket);

#endif
