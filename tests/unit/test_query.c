/* test_query.c: the store's queries (mod_sse/sse_query.c), built from parsed
 * values only: the id typed per SSEIdType, the projection without path
 * collisions, the list's sort and projection, the visible part of a document
 * and the owner match, strictly by type. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "apr_strings.h"
#include "apr_tables.h"

#include "sse_query.h"

#include "unit_pool.h"

/* The canonical extended JSON of b, from the pool. */
static const char *json_of(const bson_t *b)
{
    char *s = bson_as_canonical_extended_json(b, NULL);
    const char *out = apr_pstrdup(pool, s);
    bson_free(s);
    return out;
}

static const char *id_query(int type, const char *id)
{
    bson_t b = BSON_INITIALIZER;
    const char *out;

    out = sse_query_append_id(&b, "_id", type, id) ? json_of(&b) : NULL;
    if (out == NULL) {
        assert_int_equal(bson_count_keys(&b), 0);     /* nothing half-built */
    }
    bson_destroy(&b);
    return out;
}

static void ids_are_typed(void **state)
{
    /* auto: 24 hex characters are an ObjectId, anything else a string */
    assert_string_equal(id_query(SSE_UNSET, "6564a1f0c2a4b3d2e1f00008"),
                        "{ \"_id\" : { \"$oid\" : \"6564a1f0c2a4b3d2e1f00008\" } }");
    assert_string_equal(id_query(SSE_ID_AUTO, "m1"), "{ \"_id\" : \"m1\" }");
    assert_string_equal(id_query(SSE_ID_AUTO, "12345"), "{ \"_id\" : \"12345\" }");
    /* string: even 24 hex characters stay a string */
    assert_string_equal(id_query(SSE_ID_STRING, "6564a1f0c2a4b3d2e1f00008"),
                        "{ \"_id\" : \"6564a1f0c2a4b3d2e1f00008\" }");
    /* objectid: nothing else can be one */
    assert_null(id_query(SSE_ID_OBJECTID, "m1"));
    assert_null(id_query(SSE_ID_OBJECTID, "6564a1f0c2a4b3d2e1f0000"));
    assert_null(id_query(SSE_ID_OBJECTID, "6564a1f0c2a4b3d2e1f00008a"));
    /* int: int32 when it fits, int64 beyond, nothing for anything else */
    assert_string_equal(id_query(SSE_ID_INT, "42"), "{ \"_id\" : { \"$numberInt\" : \"42\" } }");
    assert_string_equal(id_query(SSE_ID_INT, "-7"), "{ \"_id\" : { \"$numberInt\" : \"-7\" } }");
    assert_string_equal(id_query(SSE_ID_INT, "2147483648"),
                        "{ \"_id\" : { \"$numberLong\" : \"2147483648\" } }");
    assert_null(id_query(SSE_ID_INT, ""));
    assert_null(id_query(SSE_ID_INT, "12a"));
    assert_null(id_query(SSE_ID_INT, "+5"));
    assert_null(id_query(SSE_ID_INT, " 5"));
    assert_null(id_query(SSE_ID_INT, "99999999999999999999"));
}

static void an_operator_looking_id_is_a_plain_string(void **state)
{
    assert_string_equal(id_query(SSE_ID_AUTO, "{\"$ne\":1}"),
                        "{ \"_id\" : \"{\\\"$ne\\\":1}\" }");
    /* invalid UTF-8 is no id at all */
    assert_null(id_query(SSE_ID_STRING, "\xff\xfe"));
}

static sse_dir_conf *conf_with(const char *const *fields, const char *owner,
                               const char *version)
{
    sse_dir_conf *d = apr_pcalloc(pool, sizeof(*d));

    if (fields) {
        d->fields = apr_array_make(pool, 4, sizeof(const char *));
        while (*fields) {
            APR_ARRAY_PUSH(d->fields, const char *) = *fields++;
        }
    }
    d->owner_field = owner;
    d->version_field = version;
    return d;
}

static const char *projection_of(const sse_dir_conf *d)
{
    bson_t b = BSON_INITIALIZER;
    const char *out;

    sse_query_projection(pool, &b, d);
    out = json_of(&b);
    bson_destroy(&b);
    return out;
}

static void projection_adds_owner_and_version_without_collisions(void **state)
{
    static const char *const f1[] = { "status", "progress", NULL };
    static const char *const f2[] = { "meta", "status", "status", NULL };
    static const char *const f3[] = { "meta.title", NULL };

    assert_string_equal(projection_of(conf_with(f1, "ownerId", "updatedAt")),
                        "{ \"status\" : { \"$numberInt\" : \"1\" }, "
                        "\"progress\" : { \"$numberInt\" : \"1\" }, "
                        "\"ownerId\" : { \"$numberInt\" : \"1\" }, "
                        "\"updatedAt\" : { \"$numberInt\" : \"1\" } }");
    /* meta.ownerId lies under meta; a duplicate is listed once */
    assert_string_equal(projection_of(conf_with(f2, "meta.ownerId", NULL)),
                        "{ \"meta\" : { \"$numberInt\" : \"1\" }, "
                        "\"status\" : { \"$numberInt\" : \"1\" } }");
    /* a field under the owner's path is left to the owner's */
    assert_string_equal(projection_of(conf_with(f3, "meta", NULL)),
                        "{ \"meta\" : { \"$numberInt\" : \"1\" } }");
}

static const char *list_opts_of(const sse_dir_conf *d, int ids_only)
{
    bson_t b = BSON_INITIALIZER;
    const char *out;

    sse_query_list_opts(pool, &b, d, ids_only, 500);
    out = json_of(&b);
    bson_destroy(&b);
    return out;
}

static void list_sorts_newest_first_and_projects_ids(void **state)
{
    static const char *const f[] = { "title", NULL };

    assert_string_equal(list_opts_of(conf_with(NULL, NULL, NULL), 0),
                        "{ \"sort\" : { \"_id\" : { \"$numberInt\" : \"-1\" } }, "
                        "\"limit\" : { \"$numberLong\" : \"500\" } }");
    assert_string_equal(list_opts_of(conf_with(f, "ownerId", "updatedAt"), 1),
                        "{ \"sort\" : { \"updatedAt\" : { \"$numberInt\" : \"-1\" }, "
                        "\"_id\" : { \"$numberInt\" : \"1\" } }, "
                        "\"limit\" : { \"$numberLong\" : \"500\" }, "
                        "\"projection\" : { \"_id\" : { \"$numberInt\" : \"1\" }, "
                        "\"updatedAt\" : { \"$numberInt\" : \"1\" }, "
                        "\"ownerId\" : { \"$numberInt\" : \"1\" } } }");
    /* the version under the owner's path is left to it */
    assert_string_equal(list_opts_of(conf_with(NULL, "meta", "meta.v"), 1),
                        "{ \"sort\" : { \"meta.v\" : { \"$numberInt\" : \"-1\" }, "
                        "\"_id\" : { \"$numberInt\" : \"1\" } }, "
                        "\"limit\" : { \"$numberLong\" : \"500\" }, "
                        "\"projection\" : { \"_id\" : { \"$numberInt\" : \"1\" }, "
                        "\"meta\" : { \"$numberInt\" : \"1\" } } }");
    /* not ids only, with SSEFields: the fetch's projection */
    assert_string_equal(list_opts_of(conf_with(f, "ownerId", NULL), 0),
                        "{ \"sort\" : { \"_id\" : { \"$numberInt\" : \"-1\" } }, "
                        "\"limit\" : { \"$numberLong\" : \"500\" }, "
                        "\"projection\" : { \"title\" : { \"$numberInt\" : \"1\" }, "
                        "\"ownerId\" : { \"$numberInt\" : \"1\" } } }");
}

static bson_t *doc(const char *json)
{
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(b);
    return b;
}

static void visible_part_keeps_only_fields_and_id(void **state)
{
    static const char *const f[] = { "status", "meta.title", "items.n", NULL };
    bson_t *stored = doc("{\"_id\":\"m1\",\"status\":\"ready\",\"ownerId\":\"alice\","
                         "\"meta\":{\"title\":\"T\",\"secret\":1},"
                         "\"items\":[{\"n\":1,\"x\":2},3,{\"x\":4}]}");
    sse_dir_conf *d = conf_with(f, "ownerId", NULL);
    bson_t *vis = sse_query_visible_part(pool, d, stored);

    assert_string_equal(json_of(vis),
                        "{ \"_id\" : \"m1\", \"status\" : \"ready\", "
                        "\"meta\" : { \"title\" : \"T\" }, "
                        "\"items\" : [ { \"n\" : { \"$numberInt\" : \"1\" } }, {  } ] }");
    /* without SSEFields the document is what clients see */
    assert_ptr_equal(sse_query_visible_part(pool, conf_with(NULL, "ownerId", NULL), stored),
                     stored);
    bson_destroy(stored);
}

static sse_jwt_claim string_claim(const char *s)
{
    sse_jwt_claim c;
    memset(&c, 0, sizeof(c));
    c.type = SSE_JWT_CLAIM_STRING;
    c.str = s;
    c.len = strlen(s);
    return c;
}

static sse_jwt_claim int_claim(apr_int64_t n)
{
    sse_jwt_claim c;
    memset(&c, 0, sizeof(c));
    c.type = SSE_JWT_CLAIM_INTEGER;
    c.integer = n;
    return c;
}

static void owner_matches_strictly_by_type(void **state)
{
    bson_t *s = doc("{\"o\":\"alice\",\"n\":12345,\"l\":{\"$numberLong\":\"9007199254740993\"},"
                    "\"a\":[\"bob\",7],\"oid\":{\"$oid\":\"6564a1f0c2a4b3d2e1f00008\"},"
                    "\"e\":\"\",\"m\":{\"owner\":\"carol\"}}");
    sse_jwt_claim alice = string_claim("alice"), num = int_claim(12345),
                  num_text = string_claim("12345"), big = int_claim(9007199254740993LL),
                  bob = string_claim("bob"), seven = int_claim(7), empty = string_claim(""),
                  alic = string_claim("alic"), carol = string_claim("carol"),
                  oid = string_claim("6564a1f0c2a4b3d2e1f00008");

    assert_true(sse_query_owner_matches(s, "o", &alice));
    assert_false(sse_query_owner_matches(s, "o", &alic));         /* byte for byte */
    assert_true(sse_query_owner_matches(s, "n", &num));
    assert_false(sse_query_owner_matches(s, "n", &num_text));     /* "12345" is not 12345 */
    assert_true(sse_query_owner_matches(s, "l", &big));           /* int64 */
    assert_true(sse_query_owner_matches(s, "a", &bob));           /* array holds it */
    assert_true(sse_query_owner_matches(s, "a", &seven));
    assert_false(sse_query_owner_matches(s, "a", &alice));
    assert_false(sse_query_owner_matches(s, "oid", &oid));        /* ObjectId: never */
    assert_false(sse_query_owner_matches(s, "e", &empty));        /* empty names nobody */
    assert_false(sse_query_owner_matches(s, "missing", &alice));
    assert_false(sse_query_owner_matches(s, "o", NULL));
    assert_true(sse_query_owner_matches(s, "m.owner", &carol));   /* dotted path */
    bson_destroy(s);
}

static void owner_condition_is_typed_as_the_claim(void **state)
{
    sse_jwt_claim alice = string_claim("alice"), num = int_claim(42), empty = string_claim("");
    bson_t b = BSON_INITIALIZER;

    assert_true(sse_query_append_owner(&b, "ownerId", &alice));
    assert_true(sse_query_append_owner(&b, "uid", &num));
    assert_string_equal(json_of(&b), "{ \"ownerId\" : \"alice\", "
                                     "\"uid\" : { \"$numberLong\" : \"42\" } }");
    assert_false(sse_query_append_owner(&b, "x", &empty));
    assert_false(sse_query_append_owner(&b, "x", NULL));
    assert_int_equal(bson_count_keys(&b), 2);
    bson_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(ids_are_typed, clear_pool),
        cmocka_unit_test_teardown(an_operator_looking_id_is_a_plain_string, clear_pool),
        cmocka_unit_test_teardown(projection_adds_owner_and_version_without_collisions, clear_pool),
        cmocka_unit_test_teardown(list_sorts_newest_first_and_projects_ids, clear_pool),
        cmocka_unit_test_teardown(visible_part_keeps_only_fields_and_id, clear_pool),
        cmocka_unit_test_teardown(owner_matches_strictly_by_type, clear_pool),
        cmocka_unit_test_teardown(owner_condition_is_typed_as_the_claim, clear_pool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
