/* test_etag.c: If-None-Match against a version (mod_sse/sse_etag.c), the rule
 * the resource and the list answer 304 by: "*", strong and weak tags, lists,
 * the -gzip / -br suffixes compressing filters add, and near misses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sse_etag.h"

#include "unit_pool.h"

#define V "2026-11-25T09:00:00.000Z"

static void no_header_never_matches(void **state)
{
    assert_false(sse_etag_matches(pool, NULL, V));
    assert_false(sse_etag_matches(pool, "", V));
}

static void star_matches_any_version(void **state)
{
    assert_true(sse_etag_matches(pool, "*", V));
    assert_true(sse_etag_matches(pool, " * ", "x"));
}

static void exact_strong_and_weak(void **state)
{
    assert_true(sse_etag_matches(pool, "\"" V "\"", V));
    assert_true(sse_etag_matches(pool, "W/\"" V "\"", V));
}

static void a_list_matches_any_entry(void **state)
{
    assert_true(sse_etag_matches(pool, "\"a\", \"b\",W/\"" V "\"", V));
    assert_true(sse_etag_matches(pool, "\"a\",,\"" V "\"", V));
    assert_false(sse_etag_matches(pool, "\"a\", \"b\"", V));
}

static void compressed_suffixes(void **state)
{
    assert_true(sse_etag_matches(pool, "\"" V "-gzip\"", V));
    assert_true(sse_etag_matches(pool, "W/\"" V "-br\"", V));
    /* Only those two, and only as a suffix of the whole version. */
    assert_false(sse_etag_matches(pool, "\"" V "-zstd\"", V));
    assert_false(sse_etag_matches(pool, "\"" V "-gzip-gzip\"", V));
    assert_false(sse_etag_matches(pool, "\"-gzip\"", V));
}

static void near_misses(void **state)
{
    assert_false(sse_etag_matches(pool, V, V));                  /* unquoted */
    assert_false(sse_etag_matches(pool, "\"" V, V));             /* unterminated */
    assert_false(sse_etag_matches(pool, "\"" V "x\"", V));       /* longer */
    assert_false(sse_etag_matches(pool, "\"2026-11-25\"", V));   /* a prefix */
    assert_false(sse_etag_matches(pool, "w/\"" V "\"", V));      /* W/ is case-sensitive */
    assert_false(sse_etag_matches(pool, "\"\"", V));
    assert_false(sse_etag_matches(pool, "\"", V));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(no_header_never_matches, clear_pool),
        cmocka_unit_test_teardown(star_matches_any_version, clear_pool),
        cmocka_unit_test_teardown(exact_strong_and_weak, clear_pool),
        cmocka_unit_test_teardown(a_list_matches_any_entry, clear_pool),
        cmocka_unit_test_teardown(compressed_suffixes, clear_pool),
        cmocka_unit_test_teardown(near_misses, clear_pool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
