/* test_duration.c: durations as written in directives
 * (mod_sse/sse_duration.c). A typo must be an error, never a surprise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <string.h>

#include "sse_duration.h"

#include "unit_pool.h"

static apr_interval_time_t parse_ok(const char *arg)
{
    apr_interval_time_t t = -1;
    const char *err = sse_duration_parse(pool, arg, &t);
    if (err != NULL)
        fail_msg("'%s' rejected: %s", arg, err);
    return t;
}

/* Returns the error; the output must be left as it was. */
static const char *parse_error(const char *arg)
{
    apr_interval_time_t t = 12345;
    const char *err = sse_duration_parse(pool, arg, &t);
    if (err == NULL)
        fail_msg("'%s' accepted as %" APR_INT64_T_FMT " us", arg,
                 (apr_int64_t)t);
    assert_int_equal(t, 12345);
    return err;
}

static void bare_number_is_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("3"), 3 * APR_USEC_PER_SEC);
}

static void parses_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("3s"), 3 * APR_USEC_PER_SEC);
    assert_int_equal(parse_ok("15s"), 15 * APR_USEC_PER_SEC);
}

static void parses_milliseconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("500ms"), 500000);
    assert_int_equal(parse_ok("100ms"), 100000);
    assert_int_equal(parse_ok("1ms"), 1000);
}

static void parses_minutes_and_hours(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2m"), 120 * APR_USEC_PER_SEC);
    assert_int_equal(parse_ok("1h"), 3600 * APR_USEC_PER_SEC);
}

static void parses_zero_in_any_unit(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("0s"), 0);
    assert_int_equal(parse_ok("0ms"), 0);
    assert_int_equal(parse_ok("0h"), 0);
}

static void accepts_leading_zeros(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("007s"), 7 * APR_USEC_PER_SEC);
}

static void parses_the_largest_representable_durations(void **state)
{
    (void)state;
    /* INT64_MAX microseconds is 2562047788 h, 9223372036854 s, ... */
    assert_int_equal(parse_ok("2562047788h"),
                     INT64_C(2562047788) * 3600 * APR_USEC_PER_SEC);
    assert_int_equal(parse_ok("9223372036854"),
                     INT64_C(9223372036854) * APR_USEC_PER_SEC);
    assert_int_equal(parse_ok("9223372036854775ms"),
                     INT64_C(9223372036854775) * 1000);
}

static void rejects_overflow(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_error("2562047789h"), "too long"));
    assert_non_null(strstr(parse_error("153722867281m"), "too long"));
    assert_non_null(strstr(parse_error("9223372036855"), "too long"));
    assert_non_null(strstr(parse_error("9223372036854776ms"), "too long"));
    assert_non_null(strstr(parse_error("9223372036854775808"), "too long"));
    assert_non_null(strstr(parse_error("99999999999999999999999999s"),
                           "too long"));
}

static void rejects_negative_durations(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_error("-3"), "negative"));
    assert_non_null(strstr(parse_error("-3s"), "negative"));
    assert_non_null(strstr(parse_error("-0"), "negative"));
}

static void rejects_empty_and_missing_values(void **state)
{
    (void)state;
    assert_string_equal(parse_error(""),
                        "'' is not a duration (use e.g. 3s, 500ms, 2m)");
    assert_non_null(parse_error(NULL));
}

static void rejects_unknown_units_and_junk(void **state)
{
    static const char *junk[] = {
        "3x", "s", "ms", " 3", "3 ", "3 s", "+3", "1.5s", "3sm", "3ms5",
        "3S", "3MS", "3d", "3us", "0x10", "3s3s", "3\n", "three",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
        parse_error(junk[i]);
}

static void error_names_the_value_and_shows_examples(void **state)
{
    (void)state;
    assert_string_equal(parse_error("3x"),
                        "'3x' is not a duration (use e.g. 3s, 500ms, 2m)");
    assert_string_equal(parse_error("3 s"),
                        "'3 s' is not a duration (use e.g. 3s, 500ms, 2m)");
}

#define T(name) cmocka_unit_test_teardown(name, clear_pool)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(bare_number_is_seconds),
        T(parses_seconds),
        T(parses_milliseconds),
        T(parses_minutes_and_hours),
        T(parses_zero_in_any_unit),
        T(accepts_leading_zeros),
        T(parses_the_largest_representable_durations),
        T(rejects_overflow),
        T(rejects_negative_durations),
        T(rejects_empty_and_missing_values),
        T(rejects_unknown_units_and_junk),
        T(error_names_the_value_and_shows_examples),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
