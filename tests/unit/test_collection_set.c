/* test_collection_set.c: a list's query parameters and its digest set
 * (mod_sse/sse_collection_set.c). Query text is hostile input: anything not
 * allow-listed, not well encoded or out of bounds must be refused, and what
 * is accepted is only ever a plain string. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <string.h>

#include "sse_collection_set.h"

#include "unit_pool.h"

static apr_array_header_t *allowed_params(void)
{
    apr_array_header_t *a = apr_array_make(pool, 2, sizeof(sse_filter_param));
    sse_filter_param *fp = apr_array_push(a);
    fp->name = "status";
    fp->field = "status";
    fp = apr_array_push(a);
    fp->name = "room";
    fp->field = "meta.room";
    return a;
}

static apr_array_header_t *parse_ok(const char *args)
{
    apr_array_header_t *out = NULL;
    const char *err = sse_filter_parse(pool, args, allowed_params(), "access_token", &out);
    if (err) fail_msg("'%s' refused: %s", args, err);
    return out;
}

static const char *parse_error(const char *args)
{
    apr_array_header_t *out = NULL;
    const char *err = sse_filter_parse(pool, args, allowed_params(), "access_token", &out);
    if (!err) fail_msg("'%s' accepted", args);
    return err;
}

static const char *value(apr_array_header_t *filters, int f, int v)
{
    const sse_filter *flt = &APR_ARRAY_IDX(filters, f, sse_filter);
    return APR_ARRAY_IDX(flt->values, v, const char *);
}

static void no_query_is_no_filter(void **state)
{
    (void)state;
    assert_int_equal(parse_ok(NULL)->nelts, 0);
    assert_int_equal(parse_ok("")->nelts, 0);
}

static void values_split_on_commas_and_map_to_the_field(void **state)
{
    apr_array_header_t *f = parse_ok("status=ready,uploaded&room=r%2C1");
    (void)state;
    assert_int_equal(f->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(f, 0, sse_filter).field, "status");
    assert_int_equal(APR_ARRAY_IDX(f, 0, sse_filter).values->nelts, 2);
    assert_string_equal(value(f, 0, 0), "ready");
    assert_string_equal(value(f, 0, 1), "uploaded");
    /* an encoded comma is part of the value */
    assert_string_equal(APR_ARRAY_IDX(f, 1, sse_filter).field, "meta.room");
    assert_string_equal(value(f, 1, 0), "r,1");
}

static void percent_and_plus_decode(void **state)
{
    apr_array_header_t *f = parse_ok("status=a+b%20c%C3%A9");
    (void)state;
    assert_string_equal(value(f, 0, 0), "a b c\xc3\xa9");
}

static void operators_are_plain_strings(void **state)
{
    apr_array_header_t *f = parse_ok("status=%24ne,$gt,{\"$ne\":1}");
    (void)state;
    assert_string_equal(value(f, 0, 0), "$ne");
    assert_string_equal(value(f, 0, 1), "$gt");
    assert_string_equal(value(f, 0, 2), "{\"$ne\":1}");
}

static void operator_names_are_unknown_parameters(void **state)
{
    (void)state;
    assert_string_equal(parse_error("status[$ne]=x"), "unknown query parameter");
    assert_string_equal(parse_error("status%5B%24ne%5D=x"), "unknown query parameter");
    assert_string_equal(parse_error("x=1"), "unknown query parameter");
    assert_string_equal(parse_error("Status=ready"), "unknown query parameter");
    assert_string_equal(parse_error("_=123"), "unknown query parameter");
}

static void the_token_parameter_is_allowed_and_skipped(void **state)
{
    apr_array_header_t *f = parse_ok("access_token=abc&status=ready");
    (void)state;
    assert_int_equal(f->nelts, 1);
    assert_string_equal(value(f, 0, 0), "ready");
}

static void repeats_and_malformed_pieces_are_refused(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_error("status=a&status=b"), "repeated"));
    parse_error("status=a&status%3Db");         /* no "=" in the second piece */
    parse_error("status");
    parse_error("status=a&&room=b");
    parse_error("status=a&");
    parse_error("&status=a");
}

static void empty_values_are_refused(void **state)
{
    (void)state;
    assert_string_equal(parse_error("status="), "empty filter value");
    assert_string_equal(parse_error("status=a,,b"), "empty filter value");
    assert_string_equal(parse_error("status=a,"), "empty filter value");
}

static void bad_percent_encoding_is_refused(void **state)
{
    (void)state;
    parse_error("status=%zz");
    parse_error("status=%4");
    parse_error("status=a%");
    parse_error("status=%G1");
    parse_error("sta%tus=a");
}

static void control_characters_and_bad_utf8_are_refused(void **state)
{
    (void)state;
    parse_error("status=a%00b");
    parse_error("status=a%0Ab");
    parse_error("status=%7F");
    parse_error("status=%C3%28");            /* bad continuation */
    parse_error("status=%C0%AF");            /* overlong '/' */
    parse_error("status=%E0%80%AF");         /* overlong, 3 bytes */
    parse_error("status=%ED%A0%80");         /* a surrogate */
    parse_error("status=%F4%90%80%80");      /* past U+10FFFF */
    parse_error("status=%C3");               /* truncated */
    parse_error("status=\xff");
}

static void value_length_is_bounded(void **state)
{
    char *v256 = apr_palloc(pool, 257), *v257 = apr_palloc(pool, 258);
    (void)state;
    memset(v256, 'a', 256);
    v256[256] = '\0';
    memset(v257, 'a', 257);
    v257[257] = '\0';
    parse_ok(apr_pstrcat(pool, "status=", v256, NULL));
    assert_string_equal(parse_error(apr_pstrcat(pool, "status=", v257, NULL)),
                        "filter value too long");
    /* the bound is on the decoded bytes: 86 x "%C3%A9" is 172 bytes */
    {
        char *enc = apr_pstrdup(pool, "");
        int i;
        for (i = 0; i < 129; i++) enc = apr_pstrcat(pool, enc, "%C3%A9", NULL);
        parse_error(apr_pstrcat(pool, "status=", enc, NULL));
    }
}

static void value_count_is_bounded(void **state)
{
    char *fifty = apr_pstrdup(pool, "status=v0"), *fiftyone;
    int i;
    (void)state;
    for (i = 1; i < 50; i++) fifty = apr_psprintf(pool, "%s,v%d", fifty, i);
    assert_int_equal(APR_ARRAY_IDX(parse_ok(fifty), 0, sse_filter).values->nelts, 50);
    fiftyone = apr_pstrcat(pool, fifty, ",v50", NULL);
    assert_string_equal(parse_error(fiftyone), "too many filter values");
}

/* ---- the digest set --------------------------------------------------- */

static void tag_of(const sse_set_entry *e, int n, int truncated, char tag[SSE_SET_TAG_LEN + 1])
{
    apr_uint64_t sum[2] = { 0, 0 };
    int i;
    for (i = 0; i < n; i++) sse_set_sum_add(sum, &e[i], 1);
    sse_set_tag(sum, n, truncated, tag);
}

static void entry_is_64_bytes_and_keeps_short_ids(void **state)
{
    sse_set_entry e;
    char long_id[80];
    (void)state;
    assert_int_equal(sizeof(sse_set_entry), 64);
    sse_set_entry_make(&e, "\"m1\"", "v1");
    assert_string_equal(e.id, "\"m1\"");
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    sse_set_entry_make(&e, long_id, "v1");
    assert_string_equal(e.id, "");
}

static void tag_depends_on_the_set_not_its_order(void **state)
{
    sse_set_entry a[3], b[3];
    char t1[SSE_SET_TAG_LEN + 1], t2[SSE_SET_TAG_LEN + 1];
    (void)state;
    sse_set_entry_make(&a[0], "\"m1\"", "1");
    sse_set_entry_make(&a[1], "\"m2\"", "2");
    sse_set_entry_make(&a[2], "\"m3\"", "3");
    b[0] = a[2]; b[1] = a[0]; b[2] = a[1];
    tag_of(a, 3, 0, t1);
    tag_of(b, 3, 0, t2);
    assert_string_equal(t1, t2);
    assert_int_equal(strlen(t1), SSE_SET_TAG_LEN);
    assert_int_equal(t1[0], 'c');
    /* truncated, a version, an id: each makes another tag */
    tag_of(a, 3, 1, t2);
    assert_string_not_equal(t1, t2);
    sse_set_entry_make(&b[0], "\"m3\"", "4");
    tag_of(b, 3, 0, t2);
    assert_string_not_equal(t1, t2);
    /* ("m1","23") is not ("m12","3") */
    sse_set_entry_make(&b[0], "\"m1\"", "23");
    sse_set_entry_make(&b[1], "\"m12\"", "3");
    assert_false(b[0].elem[0] == b[1].elem[0] && b[0].elem[1] == b[1].elem[1]);
    /* the empty set has a tag of its own */
    tag_of(a, 0, 0, t2);
    assert_string_not_equal(t1, t2);
}

typedef struct {
    int removed, changed;
    char last_tag[SSE_SET_TAG_LEN + 1];
    char removed_ids[256];
    int changed_index[16];
    int changed_was_null[16];
} recorder;

static void rec_removed(void *baton, const sse_set_entry *gone, const char *tag)
{
    recorder *r = baton;
    strcat(r->removed_ids, gone->id);
    strcpy(r->last_tag, tag);
    r->removed++;
}

static void rec_changed(void *baton, int index, const sse_set_entry *was, const char *tag)
{
    recorder *r = baton;
    r->changed_index[r->changed] = index;
    r->changed_was_null[r->changed] = was == NULL;
    strcpy(r->last_tag, tag);
    r->changed++;
}

static void diff_names_removed_new_and_changed_with_running_tags(void **state)
{
    sse_set old = { 0 };
    sse_set_entry before[3], after[3];
    recorder rec;
    sse_set_diff_sink sink = { rec_removed, rec_changed, &rec };
    char want[SSE_SET_TAG_LEN + 1];
    (void)state;
    memset(&rec, 0, sizeof(rec));
    sse_set_entry_make(&before[0], "\"m1\"", "1");
    sse_set_entry_make(&before[1], "\"m2\"", "2");
    sse_set_entry_make(&before[2], "\"m3\"", "3");
    assert_int_equal(sse_set_assign(&old, before, 3, 0), 1);
    assert_int_equal(old.n, 3);
    assert_non_null(sse_set_find(&old, before[1].id_hash));

    /* m3 deleted, m2 changed, m1 same, m4 new */
    sse_set_entry_make(&after[0], "\"m4\"", "9");
    sse_set_entry_make(&after[1], "\"m2\"", "5");
    after[2] = before[0];
    assert_int_equal(sse_set_diff(pool, &old, after, 3, 0, &sink), 3);
    assert_int_equal(rec.removed, 1);
    assert_string_equal(rec.removed_ids, "\"m3\"");
    assert_int_equal(rec.changed, 2);
    assert_int_equal(rec.changed_index[0], 0);
    assert_int_equal(rec.changed_was_null[0], 1);
    assert_int_equal(rec.changed_index[1], 1);
    assert_int_equal(rec.changed_was_null[1], 0);
    /* the last event's id is the tag of the new set */
    tag_of(after, 3, 0, want);
    assert_string_equal(rec.last_tag, want);

    /* nothing changed: no calls */
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(sse_set_diff(pool, &old, before, 3, 0, &sink), 0);
    sse_set_clear(&old);
    assert_int_equal(old.n, 0);
}

static void assign_drops_repeated_ids(void **state)
{
    sse_set set = { 0 };
    sse_set_entry e[3];
    char t1[SSE_SET_TAG_LEN + 1], t2[SSE_SET_TAG_LEN + 1];
    (void)state;
    sse_set_entry_make(&e[0], "\"m1\"", "1");
    sse_set_entry_make(&e[1], "\"m2\"", "1");
    e[2] = e[0];
    sse_set_assign(&set, e, 3, 0);
    assert_int_equal(set.n, 2);
    sse_set_tag(set.sum, set.n, set.truncated, t1);
    tag_of(e, 2, 0, t2);
    assert_string_equal(t1, t2);
    sse_set_clear(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(no_query_is_no_filter, clear_pool),
        cmocka_unit_test_teardown(values_split_on_commas_and_map_to_the_field, clear_pool),
        cmocka_unit_test_teardown(percent_and_plus_decode, clear_pool),
        cmocka_unit_test_teardown(operators_are_plain_strings, clear_pool),
        cmocka_unit_test_teardown(operator_names_are_unknown_parameters, clear_pool),
        cmocka_unit_test_teardown(the_token_parameter_is_allowed_and_skipped, clear_pool),
        cmocka_unit_test_teardown(repeats_and_malformed_pieces_are_refused, clear_pool),
        cmocka_unit_test_teardown(empty_values_are_refused, clear_pool),
        cmocka_unit_test_teardown(bad_percent_encoding_is_refused, clear_pool),
        cmocka_unit_test_teardown(control_characters_and_bad_utf8_are_refused, clear_pool),
        cmocka_unit_test_teardown(value_length_is_bounded, clear_pool),
        cmocka_unit_test_teardown(value_count_is_bounded, clear_pool),
        cmocka_unit_test_teardown(entry_is_64_bytes_and_keeps_short_ids, clear_pool),
        cmocka_unit_test_teardown(tag_depends_on_the_set_not_its_order, clear_pool),
        cmocka_unit_test_teardown(diff_names_removed_new_and_changed_with_running_tags, clear_pool),
        cmocka_unit_test_teardown(assign_drops_repeated_ids, clear_pool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
