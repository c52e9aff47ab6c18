/* sse_stream.c: the `sse-stream` handler, the per-stream baton and the one
 * poll step.
 *
 * The handler authenticates, does the first poll itself (so a missing
 * document is a 404 and a dead store a 503, not a 200 that dies), writes the
 * headers and the opening events, and then either suspends the request
 * (mpm_event, see sse_sched.c) or ticks sse_stream_step() in a blocking
 * loop until it says the stream is over. Each tick allocates only from a
 * scratch pool that is cleared when the tick ends, so a stream's memory
 * stays flat however long it lives. A suspended stream never waits in a
 * write: it writes what its socket takes and keeps the rest (at most the
 * event in flight) for the next tick; see flush_out().
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "util_filter.h"
#include "apr_strings.h"

#include <string.h>
#include <unistd.h>
#include <malloc.h>

#include "sse_sched.h"
#include "sse_auth.h"
#include "sse_config.h"
#include "sse_conn.h"
#include "sse_event.h"
#include "sse_http.h"
#include "sse_json.h"
#include "sse_metrics.h"
#include "sse_limits.h"
#include "sse_resolve.h"
#include "sse_share.h"
#include "sse_store.h"
#include "sse_stream.h"

APLOG_USE_MODULE(sse);

#define VERSION_MAX 256
/* How often a sleeping blocking stream looks at the stop flag and socket. */
#define BLOCKING_NAP apr_time_from_msec(200)
/* A suspended stream with bytes its client has not taken looks again this
 * soon, and writes at most this much per pass down the filters. */
#define DRAIN_RETRY apr_time_from_msec(25)
#define WRITE_SLICE_MAX (1024 * 1024)
/* Blocks at least this large are mapped, and unmapped when freed. */
#define LARGE_BLOCK (256 * 1024)

struct sse_stream {
    request_rec *r;
    const sse_dir_conf *d;
    const char *id;
    const sse_jwt_claims *claims;
    apr_time_t started;
    apr_time_t token_deadline;      /* exp + leeway */
    apr_time_t next_poll;
    apr_time_t last_write;
    apr_pool_t *tick;               /* cleared at every step */
    apr_bucket_brigade *out;        /* this tick's events, in s->tick */
    apr_bucket_brigade *in;
    apr_bucket_brigade *unsent;     /* suspended: bytes the socket has not taken; else NULL */
    apr_bucket_brigade *slice;      /* suspended: the part of them being written */
    apr_time_t last_progress;       /* suspended: when the client last took bytes */
    int store_down;                 /* an error event went out for this outage */
    int have_version;
    char version[VERSION_MAX + 1];
    int counted_suspended;          /* the open-streams gauge it counts in */
    unsigned events;                /* events sent, for the sse_events note */
    const char *end;                /* how it ended, for sse_end and metrics */
    sse_stream_poll_fn poll;        /* a list stream's poll (sse_collection.c); NULL: one document */
    void *poll_data;
    sse_share_sub *share;           /* its document's shared read (sse_share.c); NULL: its own */
    int hangup_watched;             /* suspended, and the hang-up watcher has its socket */
};

/* Per child: the shared reads of every document stream (NULL: none). */
static sse_share *child_share;

/* 1 once this child is stopping: told so (sse_sched.c holds the flag), or
 * the MPM says so. */
int sse_stream_server_stopping(void)
{
    int state;

    if (sse_sched_stopping()) return 1;
    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
        && state == AP_MPMQ_STOPPING) {
        return 1;
    }
    return 0;
}

void sse_stream_child_init(apr_pool_t *pchild, server_rec *s)
{
#ifdef M_MMAP_THRESHOLD
    /* A poll of a large document makes a few transient copies of it (BSON,
     * JSON, the event). glibc's default threshold rises to the size of the
     * largest block freed, after which such copies come from the worker
     * threads' heaps and stay there once freed: RSS would grow by several
     * documents per worker. A fixed threshold gives every large block back
     * to the system when it is freed. */
    mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK);
#endif
    if (sse_share_create(&child_share, pchild) != APR_SUCCESS) {
        child_share = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "mod_sse: child %ld: no table for shared polls; every stream "
                     "polls on its own", (long)getpid());
    }
}

void sse_stream_use_tick_pool(sse_stream *s, apr_pool_t *tick)
{
    s->tick = tick;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* The text lives in s->tick until the flush that ends this step, so a
 * transient bucket will do; apr_brigade_puts() would take an 8 KB buffer
 * that the connection's allocator then keeps for the stream's whole life. */
static void queue(sse_stream *s, const char *text)
{
    APR_BRIGADE_INSERT_TAIL(s->out, apr_bucket_transient_create(text, strlen(text),
                                                                s->out->bucket_alloc));
}

/* The first reason a stream is over wins: a connectionLost whose flush
 * fails still ended for that reason. */
static void note_end(sse_stream *s, const char *reason)
{
    if (!s->end) s->end = reason;
}

static void count_event(sse_stream *s, sse_metrics_event ev)
{
    s->events++;
    sse_metrics_event_sent(ev);
}

/* 1 while a suspended stream has bytes its client has not taken yet. */
static int output_pending(const sse_stream *s)
{
    return s->unsent && !APR_BRIGADE_EMPTY(s->unsent);
}

/* A suspended stream writes only what the socket takes, never waiting: a
 * slice no larger than the room the send buffer has, with a FLUSH so every
 * filter (mod_ssl's coalescing one too) passes it on, while the socket's
 * timeout is 0, so a slice that does not fit after all ends the connection
 * rather than holding the worker. What does not fit stays in s->unsent, in
 * order, for the next tick. */
static apr_status_t write_what_fits(sse_stream *s, int *progress)
{
    conn_rec *c = s->r->connection;
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_interval_time_t timeout;
    apr_status_t rv = APR_SUCCESS;

    if (!sock) return APR_ENOTSOCK;
    apr_socket_timeout_get(sock, &timeout);
    apr_socket_timeout_set(sock, 0);
    while (!APR_BRIGADE_EMPTY(s->unsent) && rv == APR_SUCCESS) {
        apr_off_t want = -1;
        apr_size_t room, n = 0;

        apr_brigade_length(s->unsent, 0, &want);
        if (want == 0) {
            apr_brigade_cleanup(s->unsent);     /* nothing but empty buckets */
            break;
        }
        room = sse_conn_room(c, want);

        if (room > WRITE_SLICE_MAX) room = WRITE_SLICE_MAX;
        if (room == 0) break;
        while (!APR_BRIGADE_EMPTY(s->unsent) && n < room) {
            apr_bucket *b = APR_BRIGADE_FIRST(s->unsent);
            if (b->length > room - n) {
                apr_bucket_split(b, room - n);
            }
            n += b->length;
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(s->slice, b);
        }
        APR_BRIGADE_INSERT_TAIL(s->slice, apr_bucket_flush_create(c->bucket_alloc));
        rv = ap_pass_brigade(s->r->output_filters, s->slice);
        apr_brigade_cleanup(s->slice);
        if (rv == APR_SUCCESS && c->aborted) rv = APR_ECONNABORTED;
        if (rv == APR_SUCCESS) *progress = 1;
    }
    apr_socket_timeout_set(sock, timeout);
    return rv;
}

/* Sends what was queued. A blocking stream writes it all with a FLUSH (its
 * thread is its own; the core gives up after Timeout). A suspended one
 * writes what fits and keeps the rest: copied out of s->tick, at most the
 * event in flight, since nothing new is queued until it has gone (see
 * sse_stream_step). A client that takes nothing for Timeout is dropped.
 * Returns 0 when the client is gone or dropped. */
static int flush_out(sse_stream *s, apr_time_t now)
{
    conn_rec *c = s->r->connection;
    apr_bucket *b;
    apr_status_t rv;

    s->last_write = now;
    if (!s->unsent) {
        APR_BRIGADE_INSERT_TAIL(s->out, apr_bucket_flush_create(c->bucket_alloc));
        rv = ap_pass_brigade(s->r->output_filters, s->out);
        apr_brigade_cleanup(s->out);
        if (rv != APR_SUCCESS || c->aborted) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, s->r,
                          "mod_sse: stream for %s ended: client gone or not reading", s->id);
            note_end(s, APR_STATUS_IS_TIMEUP(rv) ? "write_timeout" : "client_gone");
            return 0;
        }
        return 1;
    }

    APR_BRIGADE_CONCAT(s->unsent, s->out);
    if (!APR_BRIGADE_EMPTY(s->unsent)) {
        int progress = 0;

        rv = write_what_fits(s, &progress);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, s->r,
                          "mod_sse: stream for %s ended: client gone", s->id);
            note_end(s, "client_gone");
            c->aborted = 1;
            return 0;
        }
        if (progress) s->last_progress = now;
    }
    if (!output_pending(s)) {
        s->last_progress = now;
        return 1;
    }
    if (now - s->last_progress >= s->r->server->timeout) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, s->r,
                      "mod_sse: stream for %s ended: client not reading", s->id);
        note_end(s, "write_timeout");
        c->aborted = 1;
        return 0;
    }
    /* Kept past this tick: transient buckets become heap copies of just
     * their unsent part; heap buckets stay as they are. */
    for (b = APR_BRIGADE_FIRST(s->unsent); b != APR_BRIGADE_SENTINEL(s->unsent);
         b = APR_BUCKET_NEXT(b)) {
        apr_bucket_setaside(b, s->r->pool);
    }
    return 1;
}

static void queue_connection_lost(sse_stream *s, const char *reason, int reconnect)
{
    count_event(s, SSE_EV_CONNECTION_LOST);
    queue(s, sse_event_format(s->tick, "connectionLost", NULL,
                              apr_psprintf(s->tick, "{\"reason\":\"%s\",\"reconnect\":%s}",
                                           reason, reconnect ? "true" : "false")));
}

static sse_step_result end_stream(sse_stream *s, const char *reason, int reconnect,
                                  apr_time_t now)
{
    note_end(s, reason);
    queue_connection_lost(s, reason, reconnect);
    if (flush_out(s, now) && output_pending(s)) {
        /* Closing must not wait for a client that is behind. */
        s->r->connection->aborted = 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, s->r,
                  "mod_sse: stream for %s ended: %s", s->id, reason);
    return SSE_STEP_DONE;
}

/* ------------------------------------------------------------------ */
/* The step                                                            */
/* ------------------------------------------------------------------ */

/* A non-blocking look at the client connection (sse_conn.c): EOF or an
 * error means the client has gone, so it costs no more store queries. */
static int client_gone(sse_stream *s)
{
    /* A watched socket's hang-up ends the stream before its tick runs
     * (sse_sched.c): no poll() per tick for what epoll already tells. */
    if (s->hangup_watched) return s->r->connection->aborted;
    return sse_conn_client_gone(s->r->connection, s->in);
}

/* Writes `status` for a document when it is new to this client; `version`
 * and `json` when a shared read brought them, else NULL. */
static void queue_document(sse_stream *s, const sse_store_doc *doc, const char *version,
                           const char *json)
{
    /* With SSEVersionField the version needs no rendering, so an unchanged
     * document (most polls) is never rendered; the hash version does. */
    int changed;

    if (!version) {
        version = sse_version_from_field(s->tick, doc->stored, s->d->version_field);
    }
    if (!version) {
        json = sse_json_render(s->tick, doc->visible);
        version = sse_version_of(s->tick, NULL, NULL, json);
    }
    changed = !s->have_version || strcmp(version, s->version) != 0;
    if (changed || s->d->emit_always == 1 || s->store_down) {
        if (!json) json = sse_json_render(s->tick, doc->visible);
        count_event(s, SSE_EV_STATUS);
        queue(s, sse_event_format(s->tick, "status", version, json));
    }
    apr_cpystrn(s->version, version, sizeof(s->version));
    s->have_version = 1;
    s->store_down = 0;
}

static void queue_store_error(sse_stream *s, const char *why)
{
    long interval_ms = (long)apr_time_as_msec(sse_conf_poll_interval(s->d));

    if (s->store_down) return;      /* one error event per outage */
    s->store_down = 1;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, s->r,
                  "mod_sse: store unavailable while streaming %s: %s", s->id, why);
    /* The driver's text (hosts, ports, server errors) stays in the log. */
    count_event(s, SSE_EV_ERROR);
    queue(s, sse_event_format(s->tick, "error", NULL,
                              apr_psprintf(s->tick,
                                           "{\"code\":\"store_unavailable\",\"message\":"
                                           "\"the store is unavailable; still polling\","
                                           "\"retryInMs\":%ld}", interval_ms)));
}

/* A list stream's poll: its owner says what changed, as events. */
static sse_store_status poll_list(sse_stream *s, const char **why)
{
    const char *events;

    /* Until the client has taken the last poll's events, polling again
     * would only pile up more of them (and cost a query). */
    if (output_pending(s)) return SSE_STORE_FOUND;
    events = s->poll(s->poll_data, s->tick, s->store_down, why);
    if (!events) return SSE_STORE_UNAVAILABLE;
    if (*events) queue(s, events);
    s->store_down = 0;
    return SSE_STORE_FOUND;
}

static apr_time_t earliest(apr_time_t a, apr_time_t b)
{
    return a < b ? a : b;
}

/* When the next tick is due: a poll, a keep-alive, or an end. */
static apr_time_t next_due(const sse_stream *s)
{
    apr_interval_time_t lifetime = sse_conf_max_lifetime(s->d);
    apr_time_t next = earliest(s->next_poll, s->last_write + sse_conf_keepalive(s->d));

    next = earliest(next, s->token_deadline);
    if (lifetime > 0) {
        next = earliest(next, s->started + lifetime);
    }
    return next;
}

/* ------------------------------------------------------------------ */
/* Shared polls (issue 17)                                             */
/* ------------------------------------------------------------------ */

/* Everything that decides what a document read returns and when it is
 * due: streams whose settings give the same key share reads. Made in the
 * tick pool: the table keeps its own copy, so no stream carries it. */
static const char *share_key(apr_pool_t *p, const request_rec *r, const sse_dir_conf *d)
{
    const sse_server_conf *sc = ap_get_module_config(r->server->module_config, &sse_module);
    const char *fields = "";
    int i;

    for (i = 0; d->fields && i < d->fields->nelts; i++) {
        fields = apr_pstrcat(p, fields, APR_ARRAY_IDX(d->fields, i, const char *), "\x02", NULL);
    }
#define SHARE_KEY_PART(x) ((x) ? (x) : "")
    return apr_psprintf(p, "%s\x01%s\x01%s\x01%s\x01%d\x01%s\x01%s\x01%s\x01%"
                        APR_TIME_T_FMT "\x01%d",
                        SHARE_KEY_PART(sc->mongo_uri), SHARE_KEY_PART(d->database), SHARE_KEY_PART(d->collection),
                        sse_conf_id_field(d), d->id_type, fields, SHARE_KEY_PART(d->owner_field),
                        SHARE_KEY_PART(d->version_field), sse_conf_poll_interval(d),
                        sse_conf_poll_batch(d));
#undef SHARE_KEY_PART
}

/* sse_share's fetch: one batched find with this stream's settings (every
 * stream of the key has the same), each document's version worked out
 * once for all of its streams. */
static void share_fetch(void *ctx, apr_pool_t *scratch, const char *const *ids, int n,
                        sse_share_result **results)
{
    sse_stream *s = ctx;
    sse_store_doc *docs = apr_pcalloc(scratch, sizeof(*docs) * (apr_size_t)n);
    sse_store_status *each = apr_pcalloc(scratch, sizeof(*each) * (apr_size_t)n);
    const char *why = NULL;
    apr_time_t asked = apr_time_now();
    sse_store_status st = sse_store_fetch_many(scratch, s->r->server, s->d, ids, n,
                                               docs, each, &why);
    int i;

    sse_metrics_poll(apr_time_now() - asked);
    for (i = 0; i < n; i++) {
        const char *version = NULL, *json = NULL;

        if (st == SSE_STORE_UNAVAILABLE) {
            results[i] = sse_share_result_make(SSE_STORE_UNAVAILABLE, NULL, NULL, NULL, NULL,
                                               why ? why : "store unavailable");
            continue;
        }
        if (each[i] != SSE_STORE_FOUND) {
            results[i] = sse_share_result_make(each[i], NULL, NULL, NULL, NULL, NULL);
            continue;
        }
        version = sse_version_from_field(scratch, docs[i].stored, s->d->version_field);
        if (!version) {
            json = sse_json_render(scratch, docs[i].visible);
            version = sse_version_of(scratch, NULL, NULL, json);
        }
        results[i] = sse_share_result_make(SSE_STORE_FOUND, docs[i].stored, docs[i].visible,
                                           version, json, NULL);
    }
}

/* The stream's poll through its document's shared read. */
static sse_store_status shared_poll(sse_stream *s, apr_time_t now, sse_store_doc *doc,
                                    const char **version, const char **json,
                                    const char **why, apr_time_t *next)
{
    const sse_share_read *rd = sse_share_poll(s->share, s->tick, now, sse_conf_poll_batch(s->d),
                                              share_fetch, s, next);

    sse_metrics_count(SSE_M_SHARED_POLLS, 1);
    if (!rd) {
        *why = "out of memory for a shared read";
        *next = now + sse_conf_poll_interval(s->d);
        return SSE_STORE_UNAVAILABLE;
    }
    switch (rd->status) {
    case SSE_STORE_FOUND:
        doc->stored = (bson_t *)rd->stored;
        doc->visible = (bson_t *)rd->visible;
        *version = rd->version;
        *json = rd->json;
        return SSE_STORE_FOUND;
    case SSE_STORE_NOT_FOUND:
        return SSE_STORE_NOT_FOUND;
    default:
        *why = rd->why;
        return SSE_STORE_UNAVAILABLE;
    }
}

/* After the stream's own first read: from now on it shares its document's
 * reads with every stream of this child on the same settings, unless
 * SSEPollBatch is 1. */
static void join_share(sse_stream *s)
{
    if (!child_share || sse_conf_poll_batch(s->d) < 2) return;
    s->share = sse_share_join(child_share, s->r->pool, share_key(s->tick, s->r, s->d),
                              s->id, sse_conf_poll_interval(s->d), s->next_poll,
                              &s->next_poll);
}

sse_step_result sse_stream_step(sse_stream *s, apr_time_t now, apr_time_t *next)
{
    apr_interval_time_t lifetime = sse_conf_max_lifetime(s->d);
    apr_interval_time_t keepalive = sse_conf_keepalive(s->d);
    int wrote = 0;

    apr_pool_clear(s->tick);

    if (client_gone(s)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, s->r,
                      "mod_sse: stream for %s ended: client disconnected", s->id);
        note_end(s, "client_gone");
        return SSE_STEP_DONE;
    }
    if (sse_stream_server_stopping()) {
        return end_stream(s, "shutdown", 1, now);
    }
    if (lifetime > 0 && now >= s->started + lifetime) {
        return end_stream(s, "max_lifetime", 1, now);
    }
    if (now >= s->token_deadline) {
        return end_stream(s, "token_expired", 0, now);
    }

    /* A client behind on its reading gets nothing new until it has taken
     * what is in flight: no poll, no keep-alive. Once it has, the poll that
     * is due by then sends the newest state, so a stalled stream holds one
     * document at most and never a queue of them. */
    if (output_pending(s)) {
        if (!flush_out(s, now)) {
            return SSE_STEP_DONE;
        }
        if (output_pending(s)) {
            if (s->share && now >= s->next_poll) {
                sse_share_pass(s->share);
            }
            *next = now + DRAIN_RETRY;
            return SSE_STEP_AGAIN;
        }
    }

    if (now >= s->next_poll) {
        sse_store_doc doc;
        const char *why = NULL, *version = NULL, *json = NULL;
        apr_time_t shared_next = 0;
        sse_store_status st;

        if (s->share) {
            st = shared_poll(s, now, &doc, &version, &json, &why, &shared_next);
        }
        else {
            apr_time_t asked = apr_time_now();
            st = s->poll ? poll_list(s, &why)
                 : sse_store_fetch(s->tick, s->r->server, s->d, s->id, &doc, &why);
            sse_metrics_poll(apr_time_now() - asked);
        }

        if (s->poll && st == SSE_STORE_FOUND) {
            /* its events are queued; a list never ends with not_found */
        }
        else if (st == SSE_STORE_FOUND && sse_auth_may_see(s->d, s->claims, doc.stored)) {
            queue_document(s, &doc, version, json);
        }
        else if (st == SSE_STORE_UNAVAILABLE) {
            queue_store_error(s, why ? why : "store unavailable");
        }
        else {
            return end_stream(s, "not_found", 0, now);
        }
        /* Keep the cadence (a shared read's); after a long stall, start
         * again from now. */
        s->next_poll = s->share ? shared_next : s->next_poll + sse_conf_poll_interval(s->d);
        if (s->next_poll <= now) {
            s->next_poll = now + sse_conf_poll_interval(s->d);
        }
        wrote = !APR_BRIGADE_EMPTY(s->out);
    }
    if (!wrote && now - s->last_write >= keepalive) {
        queue(s, sse_event_comment(s->tick, "ping"));
        sse_metrics_event_sent(SSE_EV_KEEPALIVE);
        wrote = 1;
    }
    if (wrote && !flush_out(s, now)) {
        return SSE_STEP_DONE;
    }

    *next = output_pending(s) ? now + DRAIN_RETRY : next_due(s);
    return SSE_STEP_AGAIN;
}

void sse_stream_finish(sse_stream *s)
{
    const char *end = s->end ? s->end : "client_gone";

    /* Read when the request is logged, which for a suspended stream is
     * when its EOR bucket goes out: after this, never before. */
    apr_table_setn(s->r->notes, "sse_end", end);
    apr_table_setn(s->r->notes, "sse_events", apr_psprintf(s->r->pool, "%u", s->events));
    sse_metrics_stream_closed(s->counted_suspended, end);
}

/* ------------------------------------------------------------------ */
/* The handler                                                         */
/* ------------------------------------------------------------------ */

static void run_blocking(sse_stream *s)
{
    apr_time_t next, now = apr_time_now();

    while (sse_stream_step(s, now, &next) == SSE_STEP_AGAIN) {
        /* Nap in short slices so a graceful stop is seen promptly. */
        while ((now = apr_time_now()) < next && !sse_stream_server_stopping()
               && !s->r->connection->aborted) {
            apr_sleep(earliest(next - now, BLOCKING_NAP));
        }
        now = apr_time_now();
    }
}

/* Up to half an interval earlier than due, so streams opened together (a
 * mass reconnect) poll spread out rather than in the same millisecond. */
static apr_interval_time_t first_poll_jitter(const sse_dir_conf *d, apr_time_t now)
{
    static __thread apr_uint64_t state;
    apr_uint64_t half = (apr_uint64_t)sse_conf_poll_interval(d) / 2;

    if (!state) {
        state = (apr_uint64_t)now ^ ((apr_uint64_t)(apr_uintptr_t)&state << 16) ^ 0x9e3779b97f4a7c15ULL;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return half ? (apr_interval_time_t)(state % half) : 0;
}

/* Counts this stream against SSEMaxStreamsPerUser and SSEMaxStreams until
 * r->pool goes, however the stream ends. Returns 0 when it is refused (and
 * answered: 429 for the user's limit, 503 for the instance's). */
int sse_stream_reserve(request_rec *r, const sse_dir_conf *d,
                       const sse_jwt_claims *claims)
{
    const sse_server_conf *sc = ap_get_module_config(r->server->module_config, &sse_module);
    const char *owner = sse_jwt_claim_text(r->pool, claims, sse_conf_owner_claim(d));
    int per_user = sse_conf_max_streams_per_user(d);
    apr_interval_time_t retry = apr_time_from_msec(sse_conf_retry_ms(d));

    switch (sse_limits_reserve(r, owner, per_user, sc->max_streams)) {
    case SSE_LIMIT_OK:
        return 1;
    case SSE_LIMIT_USER:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "mod_sse: stream refused: its owner has %d streams open "
                      "(SSEMaxStreamsPerUser)", per_user);
        sse_http_retry_later(r, HTTP_TOO_MANY_REQUESTS, retry, "too_many_streams",
                             apr_psprintf(r->pool, "at most %d open streams per user",
                                          per_user));
        return 0;
    case SSE_LIMIT_INSTANCE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "mod_sse: stream refused: this instance has %d streams open "
                      "(SSEMaxStreams)", sc->max_streams);
        sse_http_retry_later(r, HTTP_SERVICE_UNAVAILABLE, retry, "too_many_streams",
                             "this instance serves as many streams as it may; try another");
        return 0;
    default:
        sse_http_retry_later(r, HTTP_SERVICE_UNAVAILABLE, retry, "unavailable",
                             "streams cannot be counted now");
        return 0;
    }
}

/* The scheduler's callbacks for a suspended stream: one step with the
 * worker's scratch pool, and the finish. */
static sse_sched_result suspended_tick(void *baton, apr_pool_t *scratch,
                                       apr_time_t now, int watched, apr_time_t *next)
{
    sse_stream *s = baton;

    s->hangup_watched = watched;
    sse_stream_use_tick_pool(s, scratch);
    return sse_stream_step(s, now, next) == SSE_STEP_DONE ? SSE_SCHED_DONE : SSE_SCHED_AGAIN;
}

static void suspended_done(void *baton)
{
    sse_stream_finish(baton);
}

static int start_stream(request_rec *r, const sse_dir_conf *d,
                        const sse_jwt_claims *claims, apr_pool_t *tick, int async,
                        const char *id, const sse_store_doc *doc,
                        sse_stream_poll_fn poll, void *poll_data, const char *first_events);

apr_pool_t *sse_stream_tick_pool(request_rec *r, int *async)
{
    apr_pool_t *tick;

    /* A suspended stream keeps no pool of its own: the first poll and
     * every tick allocate from the worker thread's scratch pool. */
    *async = sse_sched_available(r);
    if (*async) {
        tick = sse_sched_scratch_pool();
        apr_pool_clear(tick);
    }
    else {
        apr_pool_create(&tick, r->pool);
        apr_pool_tag(tick, "sse_tick");
    }
    return tick;
}

int sse_stream_handler(request_rec *r)
{
    sse_request q;
    apr_pool_t *tick;
    apr_time_t now;
    int async, found;

    if (!sse_resolve(r, "GET", SSE_RESOLVE_ID, &q)) {
        return OK;
    }
    if (!sse_stream_reserve(r, q.d, q.claims)) {
        return OK;
    }

    tick = sse_stream_tick_pool(r, &async);

    now = apr_time_now();
    found = sse_resolve_fetch(r, &q, tick, "stream");
    sse_metrics_poll(apr_time_now() - now);
    if (!found) {
        return OK;
    }
    return start_stream(r, q.d, q.claims, tick, async, q.id, &q.doc, NULL, NULL, NULL);
}

int sse_stream_start_list(request_rec *r, const sse_dir_conf *d,
                          const sse_jwt_claims *claims, apr_pool_t *tick, int async,
                          sse_stream_poll_fn poll, void *poll_data, const char *first_events)
{
    return start_stream(r, d, claims, tick, async, r->uri, NULL, poll, poll_data, first_events);
}

/* Everything after the first poll, for one document or a list: the baton,
 * the headers, the opening events, then suspended or blocking ticks. */
static int start_stream(request_rec *r, const sse_dir_conf *d,
                        const sse_jwt_claims *claims, apr_pool_t *tick, int async,
                        const char *id, const sse_store_doc *doc,
                        sse_stream_poll_fn poll, void *poll_data, const char *first_events)
{
    sse_stream *s;
    const char *last_id;
    apr_time_t now;

    now = apr_time_now();
    s = apr_pcalloc(r->pool, sizeof(*s));
    s->r = r;
    s->d = d;
    s->id = id;
    s->claims = claims;
    s->started = now;
    s->token_deadline = apr_time_from_sec(claims->exp) + sse_conf_leeway(d);
    s->next_poll = now + sse_conf_poll_interval(d) - first_poll_jitter(d, now);
    s->last_write = now;
    s->out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    s->in = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    s->tick = tick;
    if (async) {
        s->unsent = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        s->slice = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        s->last_progress = now;
    }
    s->poll = poll;
    s->poll_data = poll_data;

    /* A list compares Last-Event-ID with its set's tag itself. */
    last_id = poll ? NULL
              : sse_event_last_id(apr_table_get(r->headers_in, "Last-Event-ID"));
    if (last_id) {
        apr_cpystrn(s->version, last_id, sizeof(s->version));
        s->have_version = 1;
    }

    ap_set_content_type(r, "text/event-stream; charset=utf-8");
    /* no-transform: a proxy must not compress (and so buffer) the stream. */
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache, no-transform");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    if (async) {
        /* 2.4 cannot hand a suspended connection back for keep-alive, so
         * the response says it ends with the connection. */
        apr_table_setn(r->headers_out, "Connection", "close");
        sse_sched_before_first_write(r);
    }
    r->status = HTTP_OK;
    s->counted_suspended = async;
    sse_metrics_stream_opened(async);

    queue(s, sse_event_retry(s->tick, sse_conf_retry_ms(d)));
    count_event(s, SSE_EV_CONNECTED);
    queue(s, sse_event_format(s->tick, "connected", NULL,
             apr_psprintf(s->tick,
                          "{\"resource\":%s,\"pollInterval\":%ld,\"keepalive\":%ld,"
                          "\"instance\":%s}",
                          sse_json_string(s->tick, id),
                          (long)apr_time_as_msec(sse_conf_poll_interval(d)),
                          (long)apr_time_as_msec(sse_conf_keepalive(d)),
                          sse_json_string(s->tick, sse_conf_instance(s->tick, r)))));
    if (poll) {
        if (*first_events) queue(s, first_events);
    }
    else {
        queue_document(s, doc, NULL, NULL);
        join_share(s);
    }
    if (!flush_out(s, now)) {
        sse_stream_finish(s);
        return OK;
    }
    if (async) {
        apr_pool_clear(tick);
        return sse_sched_suspend(r, suspended_tick, suspended_done, s,
                                 output_pending(s) ? now + DRAIN_RETRY : next_due(s));
    }
    run_blocking(s);
    sse_stream_finish(s);
    return OK;
}
