/* test_metrics.c: the shared counter table (mod_sse/sse_metrics.c) with
 * real forked children: counters outlive the child that made them, a dead
 * child's open streams are not counted, a new child reuses a dead child's
 * slot, and a restart finds the same table. httpd's few symbols are
 * stubbed here; the scoreboard is a small array this file fills in as the
 * MPM would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "sse_metrics.h"

#include "unit_pool.h"

/* ---- stubs for what sse_metrics.c uses of httpd ---- */
#define FAKE_SERVER_LIMIT 4

module AP_MODULE_DECLARE_DATA sse_module;
static process_score fake_parent[FAKE_SERVER_LIMIT];
static scoreboard fake_scoreboard = { .parent = fake_parent };
scoreboard *ap_scoreboard_image = &fake_scoreboard;
static int warnings;

apr_status_t ap_mpm_query(int query_code, int *result)
{
    *result = FAKE_SERVER_LIMIT;
    return APR_SUCCESS;
}

void ap_log_error_(const char *file, int line, int module_index, int level,
                   apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    warnings++;
}

/* ---- helpers ---- */
static apr_pool_t *keep;            /* the "process pool": lives across restarts */
static process_rec process;
static server_rec server;

static int setup(void **state)
{
    if (group_setup(state)) return -1;
    if (apr_pool_create(&keep, NULL) != APR_SUCCESS) return -1;
    process.pool = keep;
    server.process = &process;
    return sse_metrics_post_config(pool, pool, pool, &server) == OK ? 0 : -1;
}

static int teardown(void **state)
{
    apr_pool_destroy(keep);
    return group_teardown(state);
}

static sse_metrics_totals now(void)
{
    sse_metrics_totals t;
    assert_true(sse_metrics_read(pool, &t, NULL));
    return t;
}

/* A child that takes a slot, opens `suspended` + `blocking` streams,
 * closes `closed` of the suspended ones as client_gone, then either exits
 * or (linger) signals `ready` and waits to be killed. */
static pid_t child(int suspended, int blocking, int closed, int linger, int ready)
{
    pid_t pid = fork();
    int i;

    if (pid) return pid;
    sse_metrics_child_init(pool, &server);
    for (i = 0; i < suspended; i++) sse_metrics_stream_opened(1);
    for (i = 0; i < blocking; i++) sse_metrics_stream_opened(0);
    for (i = 0; i < closed; i++) sse_metrics_stream_closed(1, "client_gone");
    if (linger) {
        /* Dies with the test, even one that fails before killing it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1 || write(ready, "x", 1) != 1) _exit(3);
        for (;;) pause();
    }
    _exit(0);
}

static void reap(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* ---- tests ---- */

static void counters_outlive_the_child_that_made_them(void **state)
{
    sse_metrics_totals before = now(), after;

    reap(child(3, 0, 1, 0, -1));
    after = now();
    assert_int_equal(after.c[SSE_C_OPENED] - before.c[SSE_C_OPENED], 3);
    assert_int_equal(after.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE]
                     - before.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE], 1);
    /* It left 2 streams "open" when it exited: they died with it. */
    assert_int_equal(after.open_suspended, before.open_suspended);
}

static void a_live_childs_streams_count_until_it_is_killed(void **state)
{
    sse_metrics_totals before = now(), during, after;
    apr_array_header_t *children;
    const sse_metrics_child *c;
    int fds[2];
    char x;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = child(2, 1, 0, 1, fds[1]);
    assert_int_equal(read(fds[0], &x, 1), 1);
    fake_parent[1].pid = pid;                   /* the MPM's record of it */

    sse_metrics_read(pool, &during, &children);
    kill(pid, SIGKILL);
    reap(pid);
    fake_parent[1].pid = 0;                     /* reaped: the MPM clears it */
    after = now();
    close(fds[0]);
    close(fds[1]);

    assert_int_equal(during.open_suspended - before.open_suspended, 2);
    assert_int_equal(during.open_blocking - before.open_blocking, 1);
    assert_int_equal(children->nelts, 1);
    c = &APR_ARRAY_IDX(children, 0, sse_metrics_child);
    assert_int_equal(c->pid, pid);
    assert_int_equal(c->scoreboard_slot, 1);
    assert_int_equal(c->open_suspended, 2);
    /* Killed: its streams are gone, its counters stay. */
    assert_int_equal(after.open_suspended, before.open_suspended);
    assert_int_equal(after.open_blocking, before.open_blocking);
    assert_int_equal(after.c[SSE_C_OPENED] - before.c[SSE_C_OPENED], 3);
}

static void a_child_not_in_the_scoreboard_counts_no_open_streams(void **state)
{
    /* A child the parent has reaped (or never recorded) has no gauges even
     * while its pid is taken by some other process. */
    int fds[2];
    char x;
    pid_t pid;
    sse_metrics_totals t;

    assert_int_equal(pipe(fds), 0);
    pid = child(4, 0, 0, 1, fds[1]);
    assert_int_equal(read(fds[0], &x, 1), 1);
    t = now();
    kill(pid, SIGKILL);
    reap(pid);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(t.open_suspended, 0);
}

static void new_children_reuse_the_slots_of_dead_ones(void **state)
{
    /* More children, one after the other, than the table has slots
     * (2 x ServerLimit + 4): each finds the slot of a dead one. */
    sse_metrics_totals before = now(), after;
    int i, n = FAKE_SERVER_LIMIT * 2 + 4 + 8;

    warnings = 0;
    for (i = 0; i < n; i++) reap(child(1, 0, 1, 0, -1));
    after = now();
    assert_int_equal(after.c[SSE_C_OPENED] - before.c[SSE_C_OPENED], n);
    assert_int_equal(after.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE]
                     - before.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE], n);
}

static void a_restart_finds_the_same_table_and_totals(void **state)
{
    sse_metrics_totals before = now(), after;

    assert_int_equal(sse_metrics_post_config(pool, pool, pool, &server), OK);
    after = now();
    assert_memory_equal(after.c, before.c, sizeof(before.c));
    reap(child(1, 0, 0, 0, -1));
    after = now();
    assert_int_equal(after.c[SSE_C_OPENED] - before.c[SSE_C_OPENED], 1);
}

/* The rest runs in this process, which takes a slot of its own. */
static void take_a_slot(void)
{
    static int done;
    if (!done) sse_metrics_child_init(pool, &server);
    done = 1;
}

static void auth_labels_count_in_their_own_counter(void **state)
{
    int label, other;

    take_a_slot();
    for (label = 0; label < SSE_AUTH_COUNT; label++) {
        sse_metrics_totals before = now(), after;
        sse_metrics_auth_failure((sse_metrics_auth)label);
        after = now();
        for (other = 0; other < SSE_AUTH_COUNT; other++) {
            apr_int64_t d = after.c[SSE_C_AUTH + other] - before.c[SSE_C_AUTH + other];
            if (d != (other == label ? 1 : 0)) {
                fail_msg("a refusal counted as %s moved %s by %d", sse_metrics_auth_name(label),
                         sse_metrics_auth_name(other), (int)d);
            }
        }
    }
    /* an out-of-range label lands in "other", never outside the table */
    {
        sse_metrics_totals before = now(), after;
        sse_metrics_auth_failure((sse_metrics_auth)SSE_AUTH_COUNT);
        after = now();
        assert_int_equal(after.c[SSE_C_AUTH + SSE_AUTH_OTHER] - before.c[SSE_C_AUTH + SSE_AUTH_OTHER], 1);
    }
}

static void refusals_count_by_code_and_a_200_is_not_one(void **state)
{
    request_rec r;
    sse_metrics_totals before, after;

    take_a_slot();
    memset(&r, 0, sizeof(r));
    before = now();
    r.status = 429;
    sse_metrics_stream_answered(&r, OK);
    r.status = 200;
    sse_metrics_stream_answered(&r, OK);
    sse_metrics_stream_answered(&r, SUSPENDED);
    r.status = 418;
    sse_metrics_stream_answered(&r, OK);
    r.status = 200;
    sse_metrics_stream_answered(&r, HTTP_SERVICE_UNAVAILABLE);   /* returned, not set */
    after = now();
    assert_int_equal(sse_metrics_reject_code(5), 429);
    assert_int_equal(after.c[SSE_C_REJECTED + 5] - before.c[SSE_C_REJECTED + 5], 1);
    assert_int_equal(sse_metrics_reject_code(7), 503);
    assert_int_equal(after.c[SSE_C_REJECTED + 7] - before.c[SSE_C_REJECTED + 7], 1);
    assert_int_equal(sse_metrics_reject_code(SSE_REJECT_COUNT - 1), 0);
    assert_int_equal(after.c[SSE_C_REJECTED + SSE_REJECT_COUNT - 1]
                     - before.c[SSE_C_REJECTED + SSE_REJECT_COUNT - 1], 1);
}

static void poll_durations_land_in_their_buckets(void **state)
{
    sse_metrics_totals before, after;

    take_a_slot();
    before = now();
    sse_metrics_poll(400);          /* <= 0.5 ms */
    sse_metrics_poll(500);          /* le is inclusive */
    sse_metrics_poll(501);          /* <= 1 ms */
    sse_metrics_poll(apr_time_from_sec(10));   /* +Inf */
    sse_metrics_poll(-5);           /* a clock step back counts as 0 */
    after = now();
    assert_int_equal(after.c[SSE_C_POLL_BUCKET] - before.c[SSE_C_POLL_BUCKET], 3);
    assert_int_equal(after.c[SSE_C_POLL_BUCKET + 1] - before.c[SSE_C_POLL_BUCKET + 1], 1);
    assert_int_equal(after.c[SSE_C_POLL_BUCKET + SSE_POLL_BUCKET_COUNT]
                     - before.c[SSE_C_POLL_BUCKET + SSE_POLL_BUCKET_COUNT], 1);
    assert_int_equal(after.c[SSE_C_POLLS] - before.c[SSE_C_POLLS], 5);
    assert_int_equal(after.c[SSE_C_POLL_SUM_US] - before.c[SSE_C_POLL_SUM_US],
                     400 + 500 + 501 + apr_time_from_sec(10));
}

static void unknown_end_reasons_count_as_client_gone(void **state)
{
    sse_metrics_totals before, after;

    take_a_slot();
    before = now();
    sse_metrics_stream_opened(1);
    sse_metrics_stream_closed(1, "shutdown");
    sse_metrics_stream_opened(1);
    sse_metrics_stream_closed(1, "no such reason");
    after = now();
    assert_int_equal(after.c[SSE_C_CLOSED + SSE_END_SHUTDOWN]
                     - before.c[SSE_C_CLOSED + SSE_END_SHUTDOWN], 1);
    assert_int_equal(after.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE]
                     - before.c[SSE_C_CLOSED + SSE_END_CLIENT_GONE], 1);
    assert_string_equal(sse_metrics_end_name(SSE_END_WRITE_TIMEOUT), "write_timeout");
}

#define T(name) cmocka_unit_test_teardown(name, clear_pool)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(counters_outlive_the_child_that_made_them),
        T(a_live_childs_streams_count_until_it_is_killed),
        T(a_child_not_in_the_scoreboard_counts_no_open_streams),
        T(new_children_reuse_the_slots_of_dead_ones),
        T(a_restart_finds_the_same_table_and_totals),
        T(auth_labels_count_in_their_own_counter),
        T(refusals_count_by_code_and_a_200_is_not_one),
        T(poll_durations_land_in_their_buckets),
        T(unknown_end_reasons_count_as_client_gone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
