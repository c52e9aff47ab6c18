/* test_breaker.c: the store's outage breaker (mod_sse/sse_store_breaker.c):
 * closed it admits every poll; after an unreachable store it refuses polls
 * with the store's message for the hold-off, then admits exactly one probe,
 * whose answer closes it again or starts a new hold-off. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sse_store_breaker.h"

#include "unit_pool.h"

#define HOLD apr_time_from_msec(30)

static void closed_admits_everything(void **state)
{
    sse_breaker b;
    const char *err = NULL;
    int probe = 1;

    assert_int_equal(sse_breaker_init(&b, pool, HOLD), APR_SUCCESS);
    assert_true(sse_breaker_admits(&b, pool, &probe, &err));
    assert_false(probe);
    /* an answer that is an error (not unreachable) is no outage */
    sse_breaker_record(&b, 0, 0, NULL);
    assert_true(sse_breaker_admits(&b, pool, &probe, &err));
    assert_null(err);
}

static void unreachable_holds_off_then_one_probe(void **state)
{
    sse_breaker b;
    const char *err = NULL;
    int probe, other;

    assert_int_equal(sse_breaker_init(&b, pool, HOLD), APR_SUCCESS);
    sse_breaker_record(&b, 0, 1, "No suitable servers found");
    assert_false(sse_breaker_admits(&b, pool, &probe, &err));
    assert_false(probe);
    assert_string_equal(err, "No suitable servers found");

    apr_sleep(HOLD + apr_time_from_msec(10));
    assert_true(sse_breaker_admits(&b, pool, &probe, &err));
    assert_true(probe);
    /* while it probes, everyone else still fails fast */
    err = NULL;
    assert_false(sse_breaker_admits(&b, pool, &other, &err));
    assert_false(other);
    assert_non_null(err);

    /* the probe got an answer: closed for everyone */
    sse_breaker_record(&b, 1, 0, NULL);
    assert_true(sse_breaker_admits(&b, pool, &other, &err));
    assert_false(other);
}

static void a_failed_probe_starts_a_new_hold_off(void **state)
{
    sse_breaker b;
    const char *err = NULL;
    int probe;

    assert_int_equal(sse_breaker_init(&b, pool, HOLD), APR_SUCCESS);
    sse_breaker_record(&b, 0, 1, "first");
    apr_sleep(HOLD + apr_time_from_msec(10));
    assert_true(sse_breaker_admits(&b, pool, &probe, &err));
    assert_true(probe);
    sse_breaker_record(&b, 1, 1, "second");
    assert_false(sse_breaker_admits(&b, pool, &probe, &err));
    assert_string_equal(err, "second");
    /* the probe slot was given back: after the hold-off, a new probe */
    apr_sleep(HOLD + apr_time_from_msec(10));
    assert_true(sse_breaker_admits(&b, pool, &probe, &err));
    assert_true(probe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(closed_admits_everything, clear_pool),
        cmocka_unit_test_teardown(unreachable_holds_off_then_one_probe, clear_pool),
        cmocka_unit_test_teardown(a_failed_probe_starts_a_new_hold_off, clear_pool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
