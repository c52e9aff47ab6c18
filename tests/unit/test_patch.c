/* test_patch.c: merge patches against the allow-list (mod_sse/sse_patch.c).
 * Every hostile class is refused by name before anything is built; what is
 * accepted becomes exactly the $set / $unset a reviewer expects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <string.h>

#include "sse_patch.h"

#include "unit_pool.h"

static const char *const reserved[] = { "_id", "ownerId", "updatedAt", "meta.owner", NULL };

static apr_array_header_t *writable(void)
{
    apr_array_header_t *w = apr_array_make(pool, 4, sizeof(sse_writable_field));
    sse_writable_field *f;
    f = apr_array_push(w); f->name = "title"; f->type = SSE_FIELD_STRING; f->max = 5;
    f = apr_array_push(w); f->name = "count"; f->type = SSE_FIELD_INT; f->max = 0;
    f = apr_array_push(w); f->name = "score"; f->type = SSE_FIELD_NUMBER; f->max = 0;
    f = apr_array_push(w); f->name = "done"; f->type = SSE_FIELD_BOOL; f->max = 0;
    f = apr_array_push(w); f->name = "updatedAt"; f->type = SSE_FIELD_STRING; f->max = 0;
    f = apr_array_push(w); f->name = "meta"; f->type = SSE_FIELD_STRING; f->max = 0;
    f = apr_array_push(w); f->name = "metadata"; f->type = SSE_FIELD_STRING; f->max = 0;
    return w;
}

static sse_patch accept_patch(const char *body)
{
    sse_patch out;
    sse_patch_error err;
    memset(&out, 0, sizeof(out));
    if (!sse_patch_parse(pool, body, strlen(body), writable(), reserved, &out, &err))
        fail_msg("'%s' refused: %d %s %s (%s)", body, err.status, err.code, err.message,
                 err.field ? err.field : "-");
    return out;
}

static void refuse(const char *body, apr_size_t len, int status, const char *code,
                   const char *field)
{
    sse_patch out;
    sse_patch_error err;
    memset(&out, 0, sizeof(out));
    if (sse_patch_parse(pool, body, len, writable(), reserved, &out, &err))
        fail_msg("'%s' accepted", body);
    assert_int_equal(err.status, status);
    assert_string_equal(err.code, code);
    if (field) {
        assert_non_null(err.field);
        assert_string_equal(err.field, field);
    }
    else {
        assert_null(err.field);
    }
    assert_null(out.set);
}

static void refuse_s(const char *body, int status, const char *code, const char *field)
{
    refuse(body, strlen(body), status, code, field);
}

static char *json_of(const bson_t *b)
{
    char *j = bson_as_relaxed_extended_json(b, NULL);
    char *copy = apr_pstrdup(pool, j);
    bson_free(j);
    return copy;
}

static void typed_values_become_set_and_null_becomes_unset(void **state)
{
    sse_patch p = accept_patch("{\"title\":\"Hi\",\"count\":3,\"score\":1.5,\"done\":true}");
    (void)state;
    assert_string_equal(json_of(p.set),
                        "{ \"title\" : \"Hi\", \"count\" : 3, \"score\" : 1.5, \"done\" : true }");
    assert_true(bson_empty(p.unset));
    assert_int_equal(p.fields->nelts, 4);
    p = accept_patch("{\"title\":null}");
    assert_true(bson_empty(p.set));
    assert_string_equal(json_of(p.unset), "{ \"title\" : \"\" }");
    assert_string_equal(APR_ARRAY_IDX(p.fields, 0, const char *), "title");
}

static void big_integers_become_int64_and_integers_are_numbers(void **state)
{
    bson_iter_t it;
    sse_patch p = accept_patch("{\"count\":5000000000,\"score\":2}");
    (void)state;
    assert_true(bson_iter_init_find(&it, p.set, "count") && BSON_ITER_HOLDS_INT64(&it));
    assert_true(bson_iter_init_find(&it, p.set, "score") && BSON_ITER_HOLDS_DOUBLE(&it));
}

static void string_limit_counts_characters_not_bytes(void **state)
{
    (void)state;
    accept_patch("{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}");       /* 5 chars, 10 bytes */
    accept_patch("{\"title\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\ud83d\\ude00\"}");    /* 5 chars incl. an emoji */
    refuse_s("{\"title\":\"abcdef\"}", 422, "invalid_value", "title");
}

static void names_outside_the_allow_list_are_refused_by_name(void **state)
{
    (void)state;
    refuse_s("{\"status\":\"x\"}", 422, "field_not_writable", "status");
    refuse_s("{\"$set\":{\"title\":\"x\"}}", 422, "field_not_writable", "$set");
    refuse_s("{\"title.x\":\"x\"}", 422, "field_not_writable", "title.x");
    refuse_s("{\"\":1}", 422, "field_not_writable", "");
    refuse_s("{\"title\":\"ok\",\"status\":null}", 422, "field_not_writable", "status");
}

static void reserved_fields_are_refused_even_when_listed(void **state)
{
    (void)state;
    refuse_s("{\"updatedAt\":\"x\"}", 422, "field_not_writable", "updatedAt");
    refuse_s("{\"ownerId\":\"x\"}", 422, "field_not_writable", "ownerId");
    refuse_s("{\"_id\":\"x\"}", 422, "field_not_writable", "_id");
    /* the field that holds a reserved path would replace it */
    refuse_s("{\"meta\":\"x\"}", 422, "field_not_writable", "meta");
    accept_patch("{\"metadata\":\"x\"}");
}

static void nul_bytes_are_refused_and_named(void **state)
{
    (void)state;
    refuse_s("{\"title\\u0000\":\"x\"}", 422, "field_not_writable", "title\\u0000");
    refuse_s("{\"title\":\"a\\u0000\"}", 422, "invalid_value", "title");
}

static void wrong_types_are_refused_by_name(void **state)
{
    (void)state;
    refuse_s("{\"title\":1}", 422, "invalid_value", "title");
    refuse_s("{\"title\":{\"$gt\":\"\"}}", 422, "invalid_value", "title");
    refuse_s("{\"title\":[\"x\"]}", 422, "invalid_value", "title");
    refuse_s("{\"count\":1.0}", 422, "invalid_value", "count");
    refuse_s("{\"count\":true}", 422, "invalid_value", "count");
    refuse_s("{\"score\":\"1\"}", 422, "invalid_value", "score");
    refuse_s("{\"done\":0}", 422, "invalid_value", "done");
}

static void duplicates_and_non_objects_are_refused(void **state)
{
    (void)state;
    refuse_s("{\"title\":\"a\",\"title\":\"b\"}", 422, "invalid_patch", "title");
    refuse_s("[1]", 422, "invalid_patch", NULL);
    refuse_s("\"x\"", 422, "invalid_patch", NULL);
    refuse_s("null", 422, "invalid_patch", NULL);
    refuse_s("{}", 422, "invalid_patch", NULL);
}

static void malformed_json_is_400(void **state)
{
    (void)state;
    refuse_s("", 400, "invalid_json", NULL);
    refuse_s("{\"title\":", 400, "invalid_json", NULL);
    refuse_s("{\"title\":\"\xff\"}", 400, "invalid_json", NULL);
    refuse_s("{\"title\":\"x\"} trailing", 400, "invalid_json", NULL);
    refuse("{\"title\":\"x\"}\0{}", 16, 400, "invalid_json", NULL);
    refuse_s("{\"count\":99999999999999999999999}", 400, "invalid_json", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(typed_values_become_set_and_null_becomes_unset, clear_pool),
        cmocka_unit_test_teardown(big_integers_become_int64_and_integers_are_numbers, clear_pool),
        cmocka_unit_test_teardown(string_limit_counts_characters_not_bytes, clear_pool),
        cmocka_unit_test_teardown(names_outside_the_allow_list_are_refused_by_name, clear_pool),
        cmocka_unit_test_teardown(reserved_fields_are_refused_even_when_listed, clear_pool),
        cmocka_unit_test_teardown(nul_bytes_are_refused_and_named, clear_pool),
        cmocka_unit_test_teardown(wrong_types_are_refused_by_name, clear_pool),
        cmocka_unit_test_teardown(duplicates_and_non_objects_are_refused, clear_pool),
        cmocka_unit_test_teardown(malformed_json_is_400, clear_pool),
    };
    return cmocka_run_group_tests_name("merge patch", tests, group_setup, group_teardown);
}
