/* sse_status.c: what operators read. The `sse-metrics` handler (Prometheus
 * text exposition 0.0.4), the `sse-live` liveness probe, and the SSE
 * section of mod_status's /server-status; all three show the same sums
 * from sse_metrics.c, whichever child answers. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"

#include "mod_status.h"

#include "sse_http.h"
#include "sse_metrics.h"
#include "sse_status.h"

APLOG_USE_MODULE(sse);

static apr_uint64_t closed_total(const sse_metrics_totals *t)
{
    apr_uint64_t n = 0;
    int i;

    for (i = 0; i < SSE_END_COUNT; i++) n += t->c[SSE_C_CLOSED + i];
    return n;
}

static apr_uint64_t sum_range(const sse_metrics_totals *t, int from, int count)
{
    apr_uint64_t n = 0;
    int i;

    for (i = 0; i < count; i++) n += t->c[from + i];
    return n;
}

/* ------------------------------------------------------------------ */
/* Prometheus                                                          */
/* ------------------------------------------------------------------ */

static void family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(request_rec *r, const char *name, const char *labels, apr_uint64_t v)
{
    ap_rprintf(r, "%s%s %" APR_UINT64_T_FMT "\n", name, labels ? labels : "", v);
}

/* A bucket bound in seconds, as Prometheus writes it: 0.0025, 1, 2.5. */
static const char *seconds_label(apr_pool_t *p, apr_int64_t us)
{
    char *text = apr_psprintf(p, "%" APR_INT64_T_FMT ".%06" APR_INT64_T_FMT,
                              us / 1000000, us % 1000000);
    char *end = text + strlen(text) - 1;

    while (*end == '0') *end-- = '\0';
    if (*end == '.') *end = '\0';
    return text;
}

static void write_exposition(request_rec *r, const sse_metrics_totals *t)
{
    apr_uint64_t cumulative = 0;
    int i;

    family(r, "mod_sse_streams_open", "gauge", "Streams open now, by execution mode.");
    ap_rprintf(r, "mod_sse_streams_open{mode=\"suspended\"} %" APR_INT64_T_FMT "\n",
               t->open_suspended);
    ap_rprintf(r, "mod_sse_streams_open{mode=\"blocking\"} %" APR_INT64_T_FMT "\n",
               t->open_blocking);

    family(r, "mod_sse_streams_opened_total", "counter", "Streams that got a 200 and their opening events.");
    sample(r, "mod_sse_streams_opened_total", NULL, t->c[SSE_C_OPENED]);

    family(r, "mod_sse_streams_closed_total", "counter",
           "Streams that ended, by how: the connectionLost reason, client_gone or write_timeout.");
    for (i = 0; i < SSE_END_COUNT; i++) {
        sample(r, "mod_sse_streams_closed_total",
               apr_psprintf(r->pool, "{reason=\"%s\"}", sse_metrics_end_name(i)),
               t->c[SSE_C_CLOSED + i]);
    }

    family(r, "mod_sse_stream_rejections_total", "counter",
           "Stream requests refused, by HTTP status code.");
    for (i = 0; i < SSE_REJECT_COUNT; i++) {
        int code = sse_metrics_reject_code(i);
        sample(r, "mod_sse_stream_rejections_total",
               code ? apr_psprintf(r->pool, "{code=\"%d\"}", code) : "{code=\"other\"}",
               t->c[SSE_C_REJECTED + i]);
    }

    family(r, "mod_sse_polls_total", "counter", "Store polls made by streams.");
    sample(r, "mod_sse_polls_total", NULL, t->c[SSE_C_POLLS]);
    family(r, "mod_sse_store_queries_total", "counter",
           "Queries sent to the store (polls, resource reads, health pings).");
    sample(r, "mod_sse_store_queries_total", NULL, t->c[SSE_C_STORE_QUERIES]);
    family(r, "mod_sse_store_errors_total", "counter", "Store queries that failed.");
    sample(r, "mod_sse_store_errors_total", NULL, t->c[SSE_C_STORE_ERRORS]);
    family(r, "mod_sse_shared_polls_total", "counter",
           "Stream polls answered by a read shared with other streams of the document (SSEPollBatch).");
    sample(r, "mod_sse_shared_polls_total", NULL, t->c[SSE_C_SHARED_POLLS]);
    family(r, "mod_sse_batched_ids_total", "counter",
           "Document ids asked for in batched finds; divided by the polls, the mean batch.");
    sample(r, "mod_sse_batched_ids_total", NULL, t->c[SSE_C_BATCHED_IDS]);

    family(r, "mod_sse_poll_duration_seconds", "histogram", "How long one stream poll took.");
    for (i = 0; i <= SSE_POLL_BUCKET_COUNT; i++) {
        apr_int64_t us = sse_metrics_poll_bucket_us(i);
        cumulative += t->c[SSE_C_POLL_BUCKET + i];
        sample(r, "mod_sse_poll_duration_seconds_bucket",
               us < 0 ? "{le=\"+Inf\"}"
                      : apr_pstrcat(r->pool, "{le=\"", seconds_label(r->pool, us), "\"}", NULL),
               cumulative);
    }
    ap_rprintf(r, "mod_sse_poll_duration_seconds_sum %" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT "\n",
               t->c[SSE_C_POLL_SUM_US] / 1000000, t->c[SSE_C_POLL_SUM_US] % 1000000);
    sample(r, "mod_sse_poll_duration_seconds_count", NULL, cumulative);

    family(r, "mod_sse_events_sent_total", "counter",
           "Events written to streams, by event name (keepalive: comment lines).");
    for (i = 0; i < SSE_EV_COUNT; i++) {
        sample(r, "mod_sse_events_sent_total",
               apr_psprintf(r->pool, "{event=\"%s\"}", sse_metrics_event_name(i)),
               t->c[SSE_C_EVENTS + i]);
    }

    family(r, "mod_sse_auth_failures_total", "counter", "Requests whose token was refused, by reason.");
    for (i = 0; i < SSE_AUTH_COUNT; i++) {
        sample(r, "mod_sse_auth_failures_total",
               apr_psprintf(r->pool, "{reason=\"%s\"}", sse_metrics_auth_name(i)),
               t->c[SSE_C_AUTH + i]);
    }

    family(r, "mod_sse_writes_total", "counter",
           "PATCH requests (sse-update), by result: saved, conflict (412), refused (other 4xx), "
           "unconfirmed (write concern failed), store_unavailable, error.");
    for (i = 0; i < SSE_WR_COUNT; i++) {
        sample(r, "mod_sse_writes_total",
               apr_psprintf(r->pool, "{result=\"%s\"}", sse_metrics_write_name(i)),
               t->c[SSE_C_WRITES + i]);
    }
}

int sse_metrics_handler(request_rec *r)
{
    sse_metrics_totals totals;

    if (r->method_number != M_GET) {            /* HEAD arrives as M_GET */
        return sse_http_method_not_allowed(r, "GET, HEAD");
    }
    if (!sse_metrics_read(r->pool, &totals, NULL)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: metrics requested but the metrics table is missing");
        return sse_http_json_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                   "metrics are not available");
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        write_exposition(r, &totals);
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* Liveness                                                            */
/* ------------------------------------------------------------------ */

int sse_live_handler(request_rec *r)
{
    if (r->method_number != M_GET) {
        return sse_http_method_not_allowed(r, "GET, HEAD");
    }
    /* Answering at all is the proof: this child accepts and serves. The
     * store is /health/ready's business. */
    return sse_http_json(r, HTTP_OK, "{\"status\":\"live\"}\n");
}

/* ------------------------------------------------------------------ */
/* mod_status                                                          */
/* ------------------------------------------------------------------ */

static int status_section(request_rec *r, int flags)
{
    sse_metrics_totals t;
    apr_array_header_t *children;
    int i;

    if (!sse_metrics_read(r->pool, &t, &children)) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "SSEStreamsOpen: %" APR_INT64_T_FMT "\n", t.open_suspended + t.open_blocking);
        ap_rprintf(r, "SSEStreamsOpenSuspended: %" APR_INT64_T_FMT "\n", t.open_suspended);
        ap_rprintf(r, "SSEStreamsOpenBlocking: %" APR_INT64_T_FMT "\n", t.open_blocking);
        ap_rprintf(r, "SSEStreamsOpenedTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_OPENED]);
        ap_rprintf(r, "SSEStreamsClosedTotal: %" APR_UINT64_T_FMT "\n", closed_total(&t));
        ap_rprintf(r, "SSEStreamRejectionsTotal: %" APR_UINT64_T_FMT "\n",
                   sum_range(&t, SSE_C_REJECTED, SSE_REJECT_COUNT));
        ap_rprintf(r, "SSEPollsTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_POLLS]);
        ap_rprintf(r, "SSEStoreQueriesTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_STORE_QUERIES]);
        ap_rprintf(r, "SSEStoreErrorsTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_STORE_ERRORS]);
        ap_rprintf(r, "SSESharedPollsTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_SHARED_POLLS]);
        ap_rprintf(r, "SSEBatchedIdsTotal: %" APR_UINT64_T_FMT "\n", t.c[SSE_C_BATCHED_IDS]);
        ap_rprintf(r, "SSEEventsSentTotal: %" APR_UINT64_T_FMT "\n",
                   sum_range(&t, SSE_C_EVENTS, SSE_EV_COUNT));
        ap_rprintf(r, "SSEAuthFailuresTotal: %" APR_UINT64_T_FMT "\n",
                   sum_range(&t, SSE_C_AUTH, SSE_AUTH_COUNT));
        for (i = 0; i < children->nelts; i++) {
            const sse_metrics_child *c = &APR_ARRAY_IDX(children, i, sse_metrics_child);
            ap_rprintf(r, "SSEChild%d: pid=%ld suspended=%" APR_INT64_T_FMT
                       " blocking=%" APR_INT64_T_FMT "\n",
                       c->scoreboard_slot, c->pid, c->open_suspended, c->open_blocking);
        }
        return OK;
    }

    ap_rputs("<hr />\n<h2>mod_sse</h2>\n<dl>\n", r);
    ap_rprintf(r, "<dt>Streams open: %" APR_INT64_T_FMT " (suspended %" APR_INT64_T_FMT
               ", blocking %" APR_INT64_T_FMT ")</dt>\n",
               t.open_suspended + t.open_blocking, t.open_suspended, t.open_blocking);
    ap_rprintf(r, "<dt>Streams opened: %" APR_UINT64_T_FMT ", closed: %" APR_UINT64_T_FMT
               ", refused: %" APR_UINT64_T_FMT "</dt>\n",
               t.c[SSE_C_OPENED], closed_total(&t),
               sum_range(&t, SSE_C_REJECTED, SSE_REJECT_COUNT));
    ap_rprintf(r, "<dt>Polls: %" APR_UINT64_T_FMT ", store queries: %" APR_UINT64_T_FMT
               ", store errors: %" APR_UINT64_T_FMT "</dt>\n",
               t.c[SSE_C_POLLS], t.c[SSE_C_STORE_QUERIES], t.c[SSE_C_STORE_ERRORS]);
    ap_rprintf(r, "<dt>Events sent: %" APR_UINT64_T_FMT ", token refusals: %" APR_UINT64_T_FMT
               "</dt>\n</dl>\n",
               sum_range(&t, SSE_C_EVENTS, SSE_EV_COUNT), sum_range(&t, SSE_C_AUTH, SSE_AUTH_COUNT));
    if (!(flags & AP_STATUS_NOTABLE)) {
        ap_rputs("<table border=\"0\"><tr><th>Slot</th><th>PID</th>"
                 "<th>Suspended streams</th><th>Blocking streams</th></tr>\n", r);
        for (i = 0; i < children->nelts; i++) {
            const sse_metrics_child *c = &APR_ARRAY_IDX(children, i, sse_metrics_child);
            ap_rprintf(r, "<tr><td>%d</td><td>%ld</td><td>%" APR_INT64_T_FMT "</td><td>%"
                       APR_INT64_T_FMT "</td></tr>\n",
                       c->scoreboard_slot, c->pid, c->open_suspended, c->open_blocking);
        }
        ap_rputs("</table>\n", r);
    }
    return OK;
}

void sse_status_register_hooks(apr_pool_t *p)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL, APR_HOOK_MIDDLE);
}
