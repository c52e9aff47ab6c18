/* metrics_cost.c: what the metrics add to one stream tick, measured on
 * mod_sse/sse_metrics.c itself. A tick that polls makes the calls
 * sse_stream_step() and sse_store_fetch() add (two clock reads, the poll
 * histogram, the store-query counter, one event); THREADS threads of one
 * "child" do it at once into the same slot, as the workers of a child do
 * (default 2, the bench machine's cores).
 * httpd's few functions that sse_metrics.c calls are stubbed below.
 *
 *   make metrics-cost     (prints ns per tick; compare with make bench's
 *                          CPU per stream-tick)
 *   build/bench/metrics_cost [TICKS [THREADS]]
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "apr_thread_proc.h"
#include "apr_time.h"

#include <stdio.h>
#include <stdlib.h>

#include "sse_metrics.h"

/* ---- stubs for the httpd symbols sse_metrics.c uses ---- */
module AP_MODULE_DECLARE_DATA sse_module;
scoreboard *ap_scoreboard_image = NULL;

apr_status_t ap_mpm_query(int query_code, int *result)
{
    *result = 4;
    return APR_SUCCESS;
}

void ap_log_error_(const char *file, int line, int module_index, int level,
                   apr_status_t status, const server_rec *s, const char *fmt, ...)
{
}

/* ---- the measurement ---- */
#define MAX_THREADS 8
static long ticks = 2000000;

static void *APR_THREAD_FUNC run(apr_thread_t *t, void *data)
{
    long i;

    for (i = 0; i < ticks; i++) {
        apr_time_t asked = apr_time_now();
        sse_metrics_count(SSE_M_STORE_QUERIES, 1);
        sse_metrics_poll(apr_time_now() - asked);
        sse_metrics_event_sent(SSE_EV_STATUS);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    process_rec process;
    server_rec server;
    apr_thread_t *threads[MAX_THREADS];
    int nthreads = 2;
    sse_metrics_totals totals;
    apr_time_t start, took;
    apr_status_t rv;
    int i;

    if (argc > 1) ticks = atol(argv[1]);
    if (argc > 2) nthreads = atoi(argv[2]);
    if (ticks < 1 || nthreads < 1 || nthreads > MAX_THREADS) {
        fprintf(stderr, "usage: metrics_cost [TICKS [THREADS (1-%d)]]\n", MAX_THREADS);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&pool, NULL);
    memset(&process, 0, sizeof(process));
    memset(&server, 0, sizeof(server));
    process.pool = pool;
    server.process = &process;
    sse_metrics_post_config(pool, pool, pool, &server);
    sse_metrics_child_init(pool, &server);

    start = apr_time_now();
    for (i = 0; i < nthreads; i++) {
        apr_thread_create(&threads[i], NULL, run, NULL, pool);
    }
    for (i = 0; i < nthreads; i++) {
        apr_thread_join(&rv, threads[i]);
    }
    took = apr_time_now() - start;

    sse_metrics_read(pool, &totals, NULL);
    if (totals.c[SSE_C_POLLS] != (apr_uint64_t)ticks * nthreads) {
        fprintf(stderr, "metrics_cost: counted %llu polls, expected %ld\n",
                (unsigned long long)totals.c[SSE_C_POLLS], ticks * nthreads);
        return 1;
    }
    /* Wall time over ticks per thread: what one tick costs its thread. */
    printf("metrics: %.1f ns per polling tick (%d threads, %ld ticks each, one slot)\n",
           (double)took * 1000.0 / (double)ticks, nthreads, ticks);
    return 0;
}
