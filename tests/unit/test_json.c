/* test_json.c: the BSON -> JSON renderer and the version function
 * (mod_sse/sse_json.c), for every BSON type a stored document can hold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "sse_json.h"

#include "unit_pool.h"

/* Renders and frees `doc`; the text lives in the pool. */
static const char *render_doc(bson_t *doc)
{
    const char *out = sse_json_render(pool, doc);
    bson_destroy(doc);
    return out;
}

/* Every rendering must be valid JSON to an independent parser. */
static void assert_valid_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (j == NULL)
        fail_msg("not valid JSON (%s): %s", err.text, text);
    json_decref(j);
}

static void assert_renders(bson_t *doc, const char *expected)
{
    const char *out = render_doc(doc);
    assert_string_equal(out, expected);
    assert_valid_json(out);
}

static bson_t *doc_with_date(int64_t ms)
{
    bson_t *d = bson_new();
    BSON_APPEND_DATE_TIME(d, "v", ms);
    return d;
}

static bson_t *doc_with_double(double v)
{
    bson_t *d = bson_new();
    BSON_APPEND_DOUBLE(d, "v", v);
    return d;
}

static bson_t *doc_with_utf8(const char *s, int len)
{
    bson_t *d = bson_new();
    bson_append_utf8(d, "v", 1, s, len);
    return d;
}

/* ----- dates ----- */

static void renders_date_as_iso8601_utc_millis(void **state)
{
    (void)state;
    assert_renders(doc_with_date(INT64_C(1795597203120)),
                   "{\"v\":\"2026-11-25T09:00:03.120Z\"}");
}

static void renders_epoch_date(void **state)
{
    (void)state;
    assert_renders(doc_with_date(0), "{\"v\":\"1970-01-01T00:00:00.000Z\"}");
}

static void renders_pre_1970_dates_rounding_millis_down(void **state)
{
    (void)state;
    assert_renders(doc_with_date(-1), "{\"v\":\"1969-12-31T23:59:59.999Z\"}");
    assert_renders(doc_with_date(-1500),
                   "{\"v\":\"1969-12-31T23:59:58.500Z\"}");
    assert_renders(doc_with_date(INT64_C(-14182940000)),
                   "{\"v\":\"1969-07-20T20:17:40.000Z\"}");
}

static void renders_first_and_last_four_digit_years_as_iso8601(void **state)
{
    (void)state;
    assert_renders(doc_with_date(INT64_C(-62167219200000)),
                   "{\"v\":\"0000-01-01T00:00:00.000Z\"}");
    assert_renders(doc_with_date(INT64_C(253402300799999)),
                   "{\"v\":\"9999-12-31T23:59:59.999Z\"}");
}

static void renders_dates_outside_years_0_to_9999_as_extended_json(void **state)
{
    (void)state;
    assert_renders(doc_with_date(INT64_C(-62167219200001)),
                   "{\"v\":{\"$date\":{\"$numberLong\":\"-62167219200001\"}}}");
    assert_renders(doc_with_date(INT64_C(253402300800000)),
                   "{\"v\":{\"$date\":{\"$numberLong\":\"253402300800000\"}}}");
    assert_renders(doc_with_date(INT64_MAX),
                   "{\"v\":{\"$date\":{\"$numberLong\":"
                   "\"9223372036854775807\"}}}");
    assert_renders(doc_with_date(INT64_MIN),
                   "{\"v\":{\"$date\":{\"$numberLong\":"
                   "\"-9223372036854775808\"}}}");
}

/* ----- ObjectId and integers ----- */

static void renders_objectid_as_hex_string(void **state)
{
    bson_oid_t oid;
    bson_t *d = bson_new();
    (void)state;
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    BSON_APPEND_OID(d, "_id", &oid);
    assert_renders(d, "{\"_id\":\"65a1b2c3d4e5f60718293a4b\"}");
}

static void renders_int32_extremes_as_numbers(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    BSON_APPEND_INT32(d, "min", INT32_MIN);
    BSON_APPEND_INT32(d, "zero", 0);
    BSON_APPEND_INT32(d, "max", INT32_MAX);
    assert_renders(d, "{\"min\":-2147483648,\"zero\":0,\"max\":2147483647}");
}

static void renders_int64_extremes_as_numbers(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    BSON_APPEND_INT64(d, "min", INT64_MIN);
    BSON_APPEND_INT64(d, "max", INT64_MAX);
    assert_renders(d, "{\"min\":-9223372036854775808,"
                      "\"max\":9223372036854775807}");
}

/* ----- doubles ----- */

static void renders_integral_double_with_fraction(void **state)
{
    (void)state;
    assert_renders(doc_with_double(1.0), "{\"v\":1.0}");
    assert_renders(doc_with_double(-42.0), "{\"v\":-42.0}");
    assert_renders(doc_with_double(123456.0), "{\"v\":123456.0}");
}

static void renders_doubles_as_shortest_round_trip(void **state)
{
    (void)state;
    assert_renders(doc_with_double(0.1), "{\"v\":0.1}");
    assert_renders(doc_with_double(0.1 + 0.2), "{\"v\":0.30000000000000004}");
    assert_renders(doc_with_double(1e300), "{\"v\":1e+300}");
    assert_renders(doc_with_double(2.5e-8), "{\"v\":2.5e-08}");
    assert_renders(doc_with_double(1.7976931348623157e308),
                   "{\"v\":1.7976931348623157e+308}");
    assert_renders(doc_with_double(5e-324), "{\"v\":5e-324}");
}

static void rendered_doubles_read_back_exactly(void **state)
{
    static const double values[] = { 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e21, 1e22,
                                     123456789.123456789, -7.25e-100,
                                     9007199254740993.0 };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        const char *out = render_doc(doc_with_double(values[i]));
        json_t *j = json_loads(out, 0, NULL);
        assert_non_null(j);
        assert_true(json_real_value(json_object_get(j, "v")) == values[i]);
        json_decref(j);
    }
}

static void renders_negative_zero(void **state)
{
    (void)state;
    assert_renders(doc_with_double(-0.0), "{\"v\":-0.0}");
}

static void renders_non_finite_doubles_as_extended_json(void **state)
{
    (void)state;
    assert_renders(doc_with_double(NAN),
                   "{\"v\":{\"$numberDouble\":\"NaN\"}}");
    assert_renders(doc_with_double(INFINITY),
                   "{\"v\":{\"$numberDouble\":\"Infinity\"}}");
    assert_renders(doc_with_double(-INFINITY),
                   "{\"v\":{\"$numberDouble\":\"-Infinity\"}}");
}

/* ----- bool, null, containers ----- */

static void renders_bool_and_null(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    BSON_APPEND_BOOL(d, "t", true);
    BSON_APPEND_BOOL(d, "f", false);
    BSON_APPEND_NULL(d, "n");
    assert_renders(d, "{\"t\":true,\"f\":false,\"n\":null}");
}

static void renders_empty_document(void **state)
{
    (void)state;
    assert_renders(bson_new(), "{}");
}

static void renders_nested_documents_and_arrays(void **state)
{
    bson_t *d = BCON_NEW("a", "{", "b", "[", BCON_INT32(1), "{", "c",
                         BCON_UTF8("x"), "}", "[", "]", "]", "}",
                         "e", "{", "}");
    (void)state;
    assert_renders(d, "{\"a\":{\"b\":[1,{\"c\":\"x\"},[]]},\"e\":{}}");
}

static void renders_typical_meeting_document(void **state)
{
    bson_t *d = BCON_NEW("_id", BCON_UTF8("m1"),
                         "status", BCON_UTF8("transcribing"),
                         "progress", BCON_INT32(40),
                         "updatedAt", BCON_DATE_TIME(INT64_C(1795597203120)));
    (void)state;
    assert_renders(d, "{\"_id\":\"m1\",\"status\":\"transcribing\","
                      "\"progress\":40,"
                      "\"updatedAt\":\"2026-11-25T09:00:03.120Z\"}");
}

/* Builds `levels` documents nested in each other under key "a". */
static bson_t *nested_doc(int levels)
{
    bson_t *inner = bson_new();
    int i;

    BSON_APPEND_INT32(inner, "leaf", 1);
    for (i = 1; i < levels; i++) {
        bson_t *outer = bson_new();
        BSON_APPEND_DOCUMENT(outer, "a", inner);
        bson_destroy(inner);
        inner = outer;
    }
    return inner;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s == c);
    return n;
}

static void renders_100_levels_of_nesting(void **state)
{
    const char *out = render_doc(nested_doc(100));
    (void)state;
    assert_int_equal(count_char(out, '{'), 100);
    assert_non_null(strstr(out, "{\"leaf\":1}"));
    assert_valid_json(out);
}

static void renders_values_nested_deeper_than_100_as_null(void **state)
{
    const char *out = render_doc(nested_doc(101));
    (void)state;
    assert_int_equal(count_char(out, '{'), 100);
    assert_null(strstr(out, "leaf"));
    assert_non_null(strstr(out, "{\"a\":null}"));
    assert_valid_json(out);
}

static void survives_very_deep_nesting(void **state)
{
    const char *out = render_doc(nested_doc(20000));
    (void)state;
    assert_int_equal(count_char(out, '{'), 100);
    assert_valid_json(out);
}

/* ----- strings and keys ----- */

static void keeps_multibyte_utf8(void **state)
{
    (void)state;
    assert_renders(doc_with_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x8E\x89", -1),
                   "{\"v\":\"caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x8E\x89\"}");
}

static void replaces_invalid_utf8_with_replacement_char(void **state)
{
    (void)state;
    /* A stray continuation byte, a byte never used in UTF-8. */
    assert_renders(doc_with_utf8("a\x80" "b\xFF" "c", -1),
                   "{\"v\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\"}");
    /* A truncated 3-byte sequence is one U+FFFD, the next char survives. */
    assert_renders(doc_with_utf8("\xE2\x82" "A", -1),
                   "{\"v\":\"\xEF\xBF\xBD" "A\"}");
    /* Truncated at the very end of the string. */
    assert_renders(doc_with_utf8("A\xF0\x9F\x8E", -1),
                   "{\"v\":\"A\xEF\xBF\xBD\"}");
}

static void replaces_overlongs_surrogates_and_out_of_range(void **state)
{
    (void)state;
    /* Overlong "/" (C0 AF), a UTF-16 surrogate (ED A0 80), above U+10FFFF
     * (F4 90 80 80): each byte is an ill-formed subpart of its own. */
    assert_renders(doc_with_utf8("\xC0\xAF", -1),
                   "{\"v\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    assert_renders(doc_with_utf8("\xED\xA0\x80", -1),
                   "{\"v\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    assert_renders(doc_with_utf8("\xF4\x90\x80\x80", -1),
                   "{\"v\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                   "\xEF\xBF\xBD\"}");
    /* The highest code points that are valid stay. */
    assert_renders(doc_with_utf8("\xF4\x8F\xBF\xBF\xED\x9F\xBF", -1),
                   "{\"v\":\"\xF4\x8F\xBF\xBF\xED\x9F\xBF\"}");
}

static void escapes_newlines_in_strings(void **state)
{
    const char *out = render_doc(doc_with_utf8("line1\nline2\r\nline3\r", -1));
    (void)state;
    assert_string_equal(out, "{\"v\":\"line1\\nline2\\r\\nline3\\r\"}");
    assert_null(strpbrk(out, "\r\n"));
}

static void escapes_quotes_and_backslashes(void **state)
{
    (void)state;
    assert_renders(doc_with_utf8("say \"hi\" \\o/", -1),
                   "{\"v\":\"say \\\"hi\\\" \\\\o/\"}");
}

static void escapes_control_characters(void **state)
{
    (void)state;
    assert_renders(doc_with_utf8("\b\f\t\x01\x1F\x7F", -1),
                   "{\"v\":\"\\b\\f\\t\\u0001\\u001f\x7F\"}");
}

static void escapes_nul_inside_a_string(void **state)
{
    const char *out = render_doc(doc_with_utf8("a\0b", 3));
    (void)state;
    assert_string_equal(out, "{\"v\":\"a\\u0000b\"}");
}

static void escapes_line_and_paragraph_separators(void **state)
{
    (void)state;
    assert_renders(doc_with_utf8("a\xE2\x80\xA8" "b\xE2\x80\xA9" "c", -1),
                   "{\"v\":\"a\\u2028b\\u2029c\"}");
}

static void escapes_keys_like_strings(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    BSON_APPEND_INT32(d, "a\"b", 1);
    BSON_APPEND_INT32(d, "new\nline", 2);
    BSON_APPEND_INT32(d, "tab\there\x01", 3);
    BSON_APPEND_INT32(d, "bad\xFF", 4);
    BSON_APPEND_INT32(d, "sep\xE2\x80\xA8", 5);
    BSON_APPEND_INT32(d, "\xC3\xA9t\xC3\xA9", 6);
    assert_renders(d, "{\"a\\\"b\":1,\"new\\nline\":2,"
                      "\"tab\\there\\u0001\":3,\"bad\xEF\xBF\xBD\":4,"
                      "\"sep\\u2028\":5,\"\xC3\xA9t\xC3\xA9\":6}");
}

/* ----- other types: relaxed Extended JSON ----- */

static void renders_other_types_as_relaxed_extended_json(void **state)
{
    bson_t *d = bson_new();
    bson_t scope = BSON_INITIALIZER;
    bson_decimal128_t dec;
    bson_oid_t oid;
    (void)state;

    bson_decimal128_from_string("1.50", &dec);
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    BSON_APPEND_INT32(&scope, "x", 1);

    BSON_APPEND_BINARY(d, "bin", BSON_SUBTYPE_BINARY,
                       (const uint8_t *)"abc", 3);
    BSON_APPEND_REGEX(d, "re", "^a.*b$", "ix");
    BSON_APPEND_TIMESTAMP(d, "ts", 1700000000, 7);
    BSON_APPEND_DECIMAL128(d, "dec", &dec);
    BSON_APPEND_MINKEY(d, "min");
    BSON_APPEND_MAXKEY(d, "max");
    BSON_APPEND_CODE(d, "code", "function () { return 1; }");
    BSON_APPEND_SYMBOL(d, "sym", "sym");
    BSON_APPEND_UNDEFINED(d, "undef");
    BSON_APPEND_DBPOINTER(d, "dbp", "db.coll", &oid);
    BSON_APPEND_CODE_WITH_SCOPE(d, "cws", "f()", &scope);
    bson_destroy(&scope);

    assert_renders(d,
        "{\"bin\":{\"$binary\":{\"base64\":\"YWJj\",\"subType\":\"00\"}},"
        "\"re\":{\"$regularExpression\":{\"pattern\":\"^a.*b$\","
        "\"options\":\"ix\"}},"
        "\"ts\":{\"$timestamp\":{\"t\":1700000000,\"i\":7}},"
        "\"dec\":{\"$numberDecimal\":\"1.50\"},"
        "\"min\":{\"$minKey\":1},\"max\":{\"$maxKey\":1},"
        "\"code\":{\"$code\":\"function () { return 1; }\"},"
        "\"sym\":{\"$symbol\":\"sym\"},"
        "\"undef\":{\"$undefined\":true},"
        "\"dbp\":{\"$dbPointer\":{\"$ref\":\"db.coll\","
        "\"$id\":{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}}},"
        "\"cws\":{\"$code\":\"f()\",\"$scope\":{\"x\":1}}}");
}

static void escapes_strings_inside_extended_json(void **state)
{
    bson_t *d = bson_new();
    bson_t scope = BSON_INITIALIZER;
    const char *out;
    (void)state;

    BSON_APPEND_UTF8(&scope, "s", "a\xE2\x80\xA8\n\"");
    BSON_APPEND_REGEX(d, "re", "a\nb\xE2\x80\xA8\xFF", "");
    BSON_APPEND_CODE(d, "code", "x\ny\xFE");
    BSON_APPEND_CODE_WITH_SCOPE(d, "cws", "q\"\n", &scope);
    bson_destroy(&scope);

    out = render_doc(d);
    assert_string_equal(out,
        "{\"re\":{\"$regularExpression\":{\"pattern\":"
        "\"a\\nb\\u2028\xEF\xBF\xBD\",\"options\":\"\"}},"
        "\"code\":{\"$code\":\"x\\ny\xEF\xBF\xBD\"},"
        "\"cws\":{\"$code\":\"q\\\"\\n\",\"$scope\":{\"s\":"
        "\"a\\u2028\\n\\\"\"}}}");
    assert_valid_json(out);
}

static void renders_deep_code_scope_as_valid_json(void **state)
{
    bson_t *scope = nested_doc(300);
    bson_t *d = bson_new();
    const char *out;
    (void)state;

    BSON_APPEND_CODE_WITH_SCOPE(d, "cws", "f()", scope);
    bson_destroy(scope);
    out = render_doc(d);
    assert_valid_json(out);
    assert_int_equal(count_char(out, '{'), 100);
    assert_null(strstr(out, "leaf"));
}

static void replaces_invalid_utf8_in_dbpointer_collection(void **state)
{
    bson_oid_t oid;
    bson_t *d = bson_new();
    (void)state;
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    BSON_APPEND_DBPOINTER(d, "p", "db.\xFF\n", &oid);
    assert_renders(d, "{\"p\":{\"$dbPointer\":{\"$ref\":\"db.\xEF\xBF\xBD\\n\","
                      "\"$id\":{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}}}}");
}

/* ----- render_value and edge inputs ----- */

static void renders_a_single_value(void **state)
{
    bson_t *d = BCON_NEW("s", BCON_UTF8("x\"y"), "n", BCON_INT64(7),
                         "a", "[", BCON_BOOL(false), BCON_NULL, "]");
    bson_iter_t it;
    (void)state;

    assert_true(bson_iter_init_find(&it, d, "s"));
    assert_string_equal(sse_json_render_value(pool, &it), "\"x\\\"y\"");
    assert_true(bson_iter_init_find(&it, d, "n"));
    assert_string_equal(sse_json_render_value(pool, &it), "7");
    assert_true(bson_iter_init_find(&it, d, "a"));
    assert_string_equal(sse_json_render_value(pool, &it), "[false,null]");
    bson_destroy(d);
}

static void renders_missing_document_as_null(void **state)
{
    (void)state;
    assert_string_equal(sse_json_render(pool, NULL), "null");
    assert_string_equal(sse_json_render_value(pool, NULL), "null");
}

static void renders_valid_json_for_a_truncated_document(void **state)
{
    /* {"a": 1, "b": "xyz"} with the string's terminating NUL overwritten:
     * iteration stops at the corrupt element, the output stays JSON. */
    bson_t *full = BCON_NEW("a", BCON_INT32(1), "b", BCON_UTF8("xyz"));
    uint8_t buf[64];
    bson_t view;
    const char *out;
    (void)state;

    memcpy(buf, bson_get_data(full), full->len);
    buf[full->len - 1 - 1] = 0x7F;          /* corrupt the last string */
    assert_true(bson_init_static(&view, buf, full->len));
    out = sse_json_render(pool, &view);
    assert_string_equal(out, "{\"a\":1}");
    bson_destroy(full);
}

/* ----- versions ----- */

static int is_hash_version(const char *v)
{
    size_t i;
    if (strlen(v) != 33 || v[0] != 'h')
        return 0;
    for (i = 1; i < 33; i++) {
        if (!strchr("0123456789abcdef", v[i]))
            return 0;
    }
    return 1;
}

static const char *version_of(bson_t *doc, const char *field)
{
    const char *v = sse_version_of(pool, doc, field,
                                   sse_json_render(pool, doc));
    bson_destroy(doc);
    return v;
}

static void version_is_the_string_field(void **state)
{
    (void)state;
    assert_string_equal(version_of(BCON_NEW("rev", BCON_UTF8("r-17")), "rev"),
                        "r-17");
}

static void version_of_a_date_field_is_iso8601(void **state)
{
    bson_t *d = BCON_NEW("updatedAt", BCON_DATE_TIME(INT64_C(1795597203120)));
    (void)state;
    assert_string_equal(version_of(d, "updatedAt"),
                        "2026-11-25T09:00:03.120Z");
}

static void version_of_a_number_field_is_decimal(void **state)
{
    (void)state;
    assert_string_equal(version_of(BCON_NEW("n", BCON_INT32(-12)), "n"),
                        "-12");
    assert_string_equal(version_of(BCON_NEW("n", BCON_INT64(INT64_MAX)), "n"),
                        "9223372036854775807");
    assert_string_equal(version_of(BCON_NEW("n", BCON_DOUBLE(2.5)), "n"),
                        "2.5");
}

static void version_of_an_objectid_field_is_hex(void **state)
{
    bson_oid_t oid;
    bson_t *d = bson_new();
    (void)state;
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    BSON_APPEND_OID(d, "v", &oid);
    assert_string_equal(version_of(d, "v"), "65a1b2c3d4e5f60718293a4b");
}

static void version_follows_a_dotted_path(void **state)
{
    bson_t *d = BCON_NEW("meta", "{", "rev", BCON_INT32(3),
                         "updatedAt", BCON_DATE_TIME(0), "}");
    (void)state;
    assert_string_equal(version_of(d, "meta.updatedAt"),
                        "1970-01-01T00:00:00.000Z");
}

static void version_of_a_missing_field_is_a_hash(void **state)
{
    const char *v = version_of(BCON_NEW("a", BCON_INT32(1)), "updatedAt");
    (void)state;
    assert_true(is_hash_version(v));
    v = version_of(BCON_NEW("meta", "{", "x", BCON_INT32(1), "}"), "meta.rev");
    assert_true(is_hash_version(v));
}

static void version_without_a_field_is_sha256_of_the_rendering(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    /* SHA-256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc2... */
    assert_string_equal(sse_version_of(pool, d, NULL, "{}"),
                        "h44136fa355b3678a1146ad16f7e8649e");
    assert_string_equal(sse_version_of(pool, d, "", "{}"),
                        "h44136fa355b3678a1146ad16f7e8649e");
    /* Without a rendering given, the document is rendered first. */
    assert_string_equal(sse_version_of(pool, d, NULL, NULL),
                        "h44136fa355b3678a1146ad16f7e8649e");
    bson_destroy(d);
}

static void version_hash_is_stable_for_equal_documents(void **state)
{
    const char *a = version_of(BCON_NEW("s", BCON_UTF8("ready"),
                                        "p", BCON_INT32(100)), NULL);
    const char *b = version_of(BCON_NEW("s", BCON_UTF8("ready"),
                                        "p", BCON_INT32(100)), NULL);
    (void)state;
    assert_true(is_hash_version(a));
    assert_string_equal(a, b);
}

static void version_hash_differs_for_different_documents(void **state)
{
    const char *a = version_of(BCON_NEW("s", BCON_UTF8("ready"),
                                        "p", BCON_INT32(100)), NULL);
    const char *b = version_of(BCON_NEW("s", BCON_UTF8("ready"),
                                        "p", BCON_INT32(99)), NULL);
    (void)state;
    assert_string_not_equal(a, b);
}

static void version_with_unsafe_text_is_a_hash(void **state)
{
    static const char *unsafe[] = { "", "has space", "quo\"te", "back\\slash",
                                    "new\nline", "caf\xC3\xA9", "tab\t" };
    char long_text[202];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        const char *v = version_of(BCON_NEW("v", BCON_UTF8(unsafe[i])), "v");
        if (!is_hash_version(v))
            fail_msg("'%s' became version '%s'", unsafe[i], v);
    }
    memset(long_text, 'x', 201);
    long_text[201] = '\0';
    assert_true(is_hash_version(version_of(BCON_NEW("v", BCON_UTF8(long_text)),
                                           "v")));
    long_text[200] = '\0';
    assert_string_equal(version_of(BCON_NEW("v", BCON_UTF8(long_text)), "v"),
                        long_text);
}

static void version_with_embedded_nul_is_a_hash(void **state)
{
    bson_t *d = bson_new();
    (void)state;
    bson_append_utf8(d, "v", 1, "ab\0cd", 5);
    assert_true(is_hash_version(version_of(d, "v")));
}

static void version_of_types_without_text_is_a_hash(void **state)
{
    (void)state;
    assert_true(is_hash_version(version_of(BCON_NEW("v", BCON_NULL), "v")));
    assert_true(is_hash_version(version_of(BCON_NEW("v", BCON_BOOL(true)),
                                           "v")));
    assert_true(is_hash_version(version_of(BCON_NEW("v", "[", "]"), "v")));
    assert_true(is_hash_version(version_of(BCON_NEW("v", "{", "}"), "v")));
    assert_true(is_hash_version(version_of(BCON_NEW("v", BCON_DOUBLE(NAN)),
                                           "v")));
    assert_true(is_hash_version(
        version_of(BCON_NEW("v", BCON_DATE_TIME(INT64_MAX)), "v")));
}

static void version_changes_with_the_field_only(void **state)
{
    const char *a = version_of(BCON_NEW("rev", BCON_INT32(1),
                                        "s", BCON_UTF8("a")), "rev");
    const char *b = version_of(BCON_NEW("rev", BCON_INT32(1),
                                        "s", BCON_UTF8("b")), "rev");
    const char *c = version_of(BCON_NEW("rev", BCON_INT32(2),
                                        "s", BCON_UTF8("b")), "rev");
    (void)state;
    assert_string_equal(a, b);
    assert_string_not_equal(b, c);
}

#define T(name) cmocka_unit_test_teardown(name, clear_pool)

static void quotes_a_plain_string_as_the_renderer_escapes_it(void **state)
{
    (void)state;
    assert_string_equal(sse_json_string(pool, "say \"hi\"\nnow"), "\"say \\\"hi\\\"\\nnow\"");
    assert_string_equal(sse_json_string(pool, "bad \xff byte"), "\"bad \xef\xbf\xbd byte\"");
    assert_string_equal(sse_json_string(pool, ""), "\"\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(quotes_a_plain_string_as_the_renderer_escapes_it),
        T(renders_date_as_iso8601_utc_millis),
        T(renders_epoch_date),
        T(renders_pre_1970_dates_rounding_millis_down),
        T(renders_first_and_last_four_digit_years_as_iso8601),
        T(renders_dates_outside_years_0_to_9999_as_extended_json),
        T(renders_objectid_as_hex_string),
        T(renders_int32_extremes_as_numbers),
        T(renders_int64_extremes_as_numbers),
        T(renders_integral_double_with_fraction),
        T(renders_doubles_as_shortest_round_trip),
        T(rendered_doubles_read_back_exactly),
        T(renders_negative_zero),
        T(renders_non_finite_doubles_as_extended_json),
        T(renders_bool_and_null),
        T(renders_empty_document),
        T(renders_nested_documents_and_arrays),
        T(renders_typical_meeting_document),
        T(renders_100_levels_of_nesting),
        T(renders_values_nested_deeper_than_100_as_null),
        T(survives_very_deep_nesting),
        T(keeps_multibyte_utf8),
        T(replaces_invalid_utf8_with_replacement_char),
        T(replaces_overlongs_surrogates_and_out_of_range),
        T(escapes_newlines_in_strings),
        T(escapes_quotes_and_backslashes),
        T(escapes_control_characters),
        T(escapes_nul_inside_a_string),
        T(escapes_line_and_paragraph_separators),
        T(escapes_keys_like_strings),
        T(renders_other_types_as_relaxed_extended_json),
        T(escapes_strings_inside_extended_json),
        T(renders_deep_code_scope_as_valid_json),
        T(replaces_invalid_utf8_in_dbpointer_collection),
        T(renders_a_single_value),
        T(renders_missing_document_as_null),
        T(renders_valid_json_for_a_truncated_document),
        T(version_is_the_string_field),
        T(version_of_a_date_field_is_iso8601),
        T(version_of_a_number_field_is_decimal),
        T(version_of_an_objectid_field_is_hex),
        T(version_follows_a_dotted_path),
        T(version_of_a_missing_field_is_a_hash),
        T(version_without_a_field_is_sha256_of_the_rendering),
        T(version_hash_is_stable_for_equal_documents),
        T(version_hash_differs_for_different_documents),
        T(version_with_unsafe_text_is_a_hash),
        T(version_with_embedded_nul_is_a_hash),
        T(version_of_types_without_text_is_a_hash),
        T(version_changes_with_the_field_only),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
