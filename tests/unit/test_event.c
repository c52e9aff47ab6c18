/* test_event.c: SSE framing and Last-Event-ID handling (mod_sse/sse_event.c).
 * Whatever the values, a browser's event-stream parser must see exactly the
 * fields we meant: no injected lines, no early end of an event. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <string.h>

#include "sse_event.h"

#include "unit_pool.h"

/* ----- events ----- */

static void formats_event_with_id_name_and_data(void **state)
{
    (void)state;
    assert_string_equal(
        sse_event_format(pool, "status", "2026-11-25T09:00:03.120Z",
                         "{\"_id\":\"m1\"}"),
        "id: 2026-11-25T09:00:03.120Z\n"
        "event: status\n"
        "data: {\"_id\":\"m1\"}\n"
        "\n");
}

static void omits_id_and_event_lines_when_not_given(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, NULL, NULL, "x"),
                        "data: x\n\n");
    assert_string_equal(sse_event_format(pool, "connected", NULL, "{}"),
                        "event: connected\ndata: {}\n\n");
    assert_string_equal(sse_event_format(pool, "", "7", "{}"),
                        "id: 7\ndata: {}\n\n");
    assert_string_equal(sse_event_format(pool, "e", "", "{}"),
                        "event: e\ndata: {}\n\n");
}

static void writes_one_data_line_for_empty_or_missing_data(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, "e", NULL, ""),
                        "event: e\ndata: \n\n");
    assert_string_equal(sse_event_format(pool, "e", NULL, NULL),
                        "event: e\ndata: \n\n");
}

static void splits_data_on_lf(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, NULL, NULL, "a\nb\nc"),
                        "data: a\ndata: b\ndata: c\n\n");
}

static void splits_data_on_cr(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, NULL, NULL, "a\rb"),
                        "data: a\ndata: b\n\n");
}

static void splits_data_on_crlf_as_one_break(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, NULL, NULL, "a\r\nb"),
                        "data: a\ndata: b\n\n");
}

static void splits_mixed_and_repeated_line_breaks(void **state)
{
    (void)state;
    /* LF CR is two breaks (an empty line between), CR LF is one. */
    assert_string_equal(sse_event_format(pool, NULL, NULL, "a\n\rb\r\n\r\nc"),
                        "data: a\ndata: \ndata: b\ndata: \ndata: c\n\n");
}

static void keeps_leading_and_trailing_line_breaks_as_empty_data_lines(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, NULL, NULL, "\nmid\r\n"),
                        "data: \ndata: mid\ndata: \n\n");
}

static void drops_id_containing_a_line_break(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, "status", "1\nevent: x", "d"),
                        "event: status\ndata: d\n\n");
    assert_string_equal(sse_event_format(pool, "status", "1\r", "d"),
                        "event: status\ndata: d\n\n");
    assert_string_equal(sse_event_format(pool, "status", "\r\n", "d"),
                        "event: status\ndata: d\n\n");
}

static void drops_event_name_containing_a_line_break(void **state)
{
    (void)state;
    assert_string_equal(sse_event_format(pool, "status\ndata: evil", "9", "d"),
                        "id: 9\ndata: d\n\n");
    assert_string_equal(sse_event_format(pool, "st\ratus", "9", "d"),
                        "id: 9\ndata: d\n\n");
}

static void every_event_ends_with_one_blank_line(void **state)
{
    const char *inputs[] = { "", "x", "x\n", "x\r", "x\r\n", "\n\n\n" };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const char *out = sse_event_format(pool, "e", "1", inputs[i]);
        size_t n = strlen(out);
        assert_true(n >= 2);
        assert_string_equal(out + n - 2, "\n\n");
        /* The only blank line is the final one, and no CR is ever written. */
        assert_ptr_equal(strstr(out, "\n\n"), out + n - 2);
        assert_null(strchr(out, '\r'));
    }
}

/* ----- comments and retry ----- */

static void formats_comment(void **state)
{
    (void)state;
    assert_string_equal(sse_event_comment(pool, "ping"), ": ping\n\n");
    assert_string_equal(sse_event_comment(pool, ""), ": \n\n");
    assert_string_equal(sse_event_comment(pool, NULL), ": \n\n");
}

static void comment_replaces_line_breaks_with_spaces(void **state)
{
    (void)state;
    assert_string_equal(sse_event_comment(pool, "a\nb\rc\r\nd"),
                        ": a b c  d\n\n");
    assert_string_equal(sse_event_comment(pool, "\n"), ":  \n\n");
}

static void formats_retry_in_milliseconds(void **state)
{
    (void)state;
    assert_string_equal(sse_event_retry(pool, 5000), "retry: 5000\n\n");
    assert_string_equal(sse_event_retry(pool, 0), "retry: 0\n\n");
}

static void retry_never_writes_a_negative_value(void **state)
{
    (void)state;
    assert_string_equal(sse_event_retry(pool, -1), "retry: 0\n\n");
}

/* ----- Last-Event-ID ----- */

static void accepts_last_event_ids_we_issue(void **state)
{
    static const char *ok[] = {
        "2026-11-25T09:00:03.120Z",
        "h44136fa355b3678a1146ad16f7e8649e",
        "65a1b2c3d4e5f60718293a4b",
        "-12", "2.5", "r-17", "x", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_ptr_equal(sse_event_last_id(ok[i]), ok[i]);
}

static void accepts_last_event_id_of_200_chars(void **state)
{
    char id[201];
    (void)state;
    memset(id, 'a', 200);
    id[200] = '\0';
    assert_ptr_equal(sse_event_last_id(id), id);
}

static void rejects_missing_empty_or_too_long_last_event_id(void **state)
{
    char id[202];
    (void)state;
    memset(id, 'a', 201);
    id[201] = '\0';
    assert_null(sse_event_last_id(NULL));
    assert_null(sse_event_last_id(""));
    assert_null(sse_event_last_id(id));
}

static void rejects_last_event_id_with_unsafe_characters(void **state)
{
    static const char *bad[] = {
        "has space", " lead", "trail ", "quo\"te", "back\\slash",
        "tab\there", "new\nline", "cr\r", "del\x7F", "caf\xC3\xA9", "\x01",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sse_event_last_id(bad[i]) != NULL)
            fail_msg("accepted unsafe Last-Event-ID '%s'", bad[i]);
    }
}

static void id_safety_rule_uses_the_given_length(void **state)
{
    (void)state;
    assert_true(sse_event_id_is_safe("abc", 3));
    assert_false(sse_event_id_is_safe("abc", 0));
    assert_false(sse_event_id_is_safe("a\0c", 3));
    assert_false(sse_event_id_is_safe(NULL, 3));
}

#define T(name) cmocka_unit_test_teardown(name, clear_pool)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(formats_event_with_id_name_and_data),
        T(omits_id_and_event_lines_when_not_given),
        T(writes_one_data_line_for_empty_or_missing_data),
        T(splits_data_on_lf),
        T(splits_data_on_cr),
        T(splits_data_on_crlf_as_one_break),
        T(splits_mixed_and_repeated_line_breaks),
        T(keeps_leading_and_trailing_line_breaks_as_empty_data_lines),
        T(drops_id_containing_a_line_break),
        T(drops_event_name_containing_a_line_break),
        T(every_event_ends_with_one_blank_line),
        T(formats_comment),
        T(comment_replaces_line_breaks_with_spaces),
        T(formats_retry_in_milliseconds),
        T(retry_never_writes_a_negative_value),
        T(accepts_last_event_ids_we_issue),
        T(accepts_last_event_id_of_200_chars),
        T(rejects_missing_empty_or_too_long_last_event_id),
        T(rejects_last_event_id_with_unsafe_characters),
        T(id_safety_rule_uses_the_given_length),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
