/* test_mongoc.c: drives mock-store through libmongoc 1.23 exactly as mod_sse
 * does (a mongoc_client_pool_t, find_with_opts with filter and projection),
 * plus writes, serverStatus opcounters, every failCommand mode, reconnects
 * and server selection against a stopped store. Starts its own mock-store. */
#include <mongoc/mongoc.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define DB "mongoc_suite"

/* ---- running a mock-store -------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
} store_proc_t;

static store_proc_t store; /* the one most tests share */

static bool store_start(store_proc_t *p)
{
    const char *bin = getenv("MOCK_STORE_BIN") ? getenv("MOCK_STORE_BIN") : "mock-store/mock-store";
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--bind", "127.0.0.1", "--port", "0", "--quiet", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[256] = "";
    bool ok = fgets(line, sizeof line, out) != NULL &&
              sscanf(line, "mock-store listening on 127.0.0.1:%d", &p->port) == 1;
    fclose(out);
    p->pid = pid;
    if (!ok) {
        fprintf(stderr, "could not start %s (cwd must be the repository root)\n", bin);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return ok;
}

static void store_stop(store_proc_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static mongoc_client_pool_t *pool_for(int port, int selection_timeout_ms)
{
    char uri_s[256];
    snprintf(uri_s, sizeof uri_s,
             "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=%d&heartbeatFrequencyMS=60000"
             "&appname=mongoc-suite",
             port, selection_timeout_ms);
    mongoc_uri_t *uri = mongoc_uri_new(uri_s);
    mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_uri_destroy(uri);
    return pool;
}

/* ---- per-test fixture: a pool, a client and a fresh collection -------- */

typedef struct {
    mongoc_client_pool_t *pool;
    mongoc_client_t *client;
    mongoc_collection_t *coll;
} fixture_t;

static int fixture_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->pool = pool_for(store.port, 2000);
    f->client = mongoc_client_pool_pop(f->pool);
    f->coll = mongoc_client_get_collection(f->client, DB, "meetings");
    mongoc_collection_drop(f->coll, NULL);
    *state = f;
    return 0;
}

static void failpoint_off(mongoc_client_t *client)
{
    bson_t *cmd = BCON_NEW("configureFailPoint", "failCommand", "mode", "off");
    mongoc_client_command_simple(client, "admin", cmd, NULL, NULL, NULL);
    bson_destroy(cmd);
}

static int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    failpoint_off(f->client);
    mongoc_collection_destroy(f->coll);
    mongoc_client_pool_push(f->pool, f->client);
    mongoc_client_pool_destroy(f->pool);
    free(f);
    return 0;
}

/* ---- helpers --------------------------------------------------------- */

static void insert_json(mongoc_collection_t *coll, const char *json)
{
    bson_error_t err;
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &err);
    assert_non_null(doc);
    bool ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, &err);
    if (!ok)
        fail_msg("insert %s: %s", json, err.message);
    bson_destroy(doc);
}

static void seed_meetings(mongoc_collection_t *coll)
{
    insert_json(coll, "{\"_id\":\"m1\",\"ownerId\":\"alice\",\"status\":\"uploaded\",\"progress\":0}");
    insert_json(coll, "{\"_id\":\"m2\",\"ownerId\":\"alice\",\"status\":\"transcribing\",\"progress\":35}");
    insert_json(coll, "{\"_id\":\"m3\",\"ownerId\":\"bob\",\"status\":\"summarizing\",\"progress\":72}");
    insert_json(coll, "{\"_id\":\"m4\",\"ownerId\":\"bob\",\"status\":\"ready\",\"progress\":100}");
    insert_json(coll, "{\"_id\":\"m5\",\"ownerId\":\"bob\",\"status\":\"uploaded\",\"progress\":5}");
}

/* Runs find and returns the documents as one JSON array string (caller frees),
 * or NULL with err set. */
static char *find_json(mongoc_collection_t *coll, const char *filter_json, const char *opts_json,
                       bson_error_t *err)
{
    bson_t *filter = bson_new_from_json((const uint8_t *)filter_json, -1, NULL);
    bson_t *opts = opts_json ? bson_new_from_json((const uint8_t *)opts_json, -1, NULL) : NULL;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    const bson_t *doc;
    bson_string_t *s = bson_string_new("[");
    bool first = true;
    while (mongoc_cursor_next(cur, &doc)) {
        char *j = bson_as_relaxed_extended_json(doc, NULL);
        bson_string_append_printf(s, "%s%s", first ? "" : ",", j);
        bson_free(j);
        first = false;
    }
    bson_string_append(s, "]");
    bool failed = mongoc_cursor_error(cur, err);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    if (opts)
        bson_destroy(opts);
    if (failed) {
        bson_string_free(s, true);
        return NULL;
    }
    return bson_string_free(s, false);
}

static void assert_find(mongoc_collection_t *coll, const char *filter, const char *opts,
                        const char *expected)
{
    bson_error_t err;
    char *got = find_json(coll, filter, opts, &err);
    if (!got)
        fail_msg("find %s failed: %s", filter, err.message);
    assert_string_equal(got, expected);
    bson_free(got);
}

static bool find_by_id(mongoc_collection_t *coll, const char *id, bson_error_t *err)
{
    char filter[64];
    snprintf(filter, sizeof filter, "{\"_id\":\"%s\"}", id);
    char *got = find_json(coll, filter, NULL, err);
    bson_free(got);
    return got != NULL;
}

static bool admin_command(mongoc_client_t *client, const char *json, bson_t *reply,
                          bson_error_t *err)
{
    bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, NULL);
    assert_non_null(cmd);
    bool ok = mongoc_client_command_simple(client, "admin", cmd, NULL, reply, err);
    bson_destroy(cmd);
    return ok;
}

static void configure_failpoint(mongoc_client_t *client, const char *json)
{
    bson_error_t err;
    bson_t reply;
    bool ok = admin_command(client, json, &reply, &err);
    bson_destroy(&reply);
    if (!ok)
        fail_msg("configureFailPoint: %s", err.message);
}

static int64_t opcounter(mongoc_client_t *client, const char *name)
{
    bson_t reply;
    bson_error_t err;
    assert_true(admin_command(client, "{\"serverStatus\":1}", &reply, &err));
    bson_iter_t it, found;
    char path[64];
    snprintf(path, sizeof path, "opcounters.%s", name);
    assert_true(bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, path, &found));
    assert_true(BSON_ITER_HOLDS_INT64(&found));
    int64_t v = bson_iter_int64(&found);
    bson_destroy(&reply);
    return v;
}

/* ---- tests: handshake and reads --------------------------------------- */

static void test_pool_client_handshakes_and_pings(void **state)
{
    fixture_t *f = *state;
    bson_t reply;
    bson_error_t err;
    bool ok = admin_command(f->client, "{\"ping\":1}", &reply, &err);
    if (!ok)
        fail_msg("ping: %s", err.message);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "ok") && bson_iter_as_double(&it) == 1.0);
    bson_destroy(&reply);
}

static void test_hello_reports_writable_primary_wire_13_without_topology_version(void **state)
{
    fixture_t *f = *state;
    bson_t reply;
    bson_error_t err;
    assert_true(admin_command(f->client, "{\"hello\":1}", &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "isWritablePrimary") && bson_iter_as_bool(&it));
    assert_true(bson_iter_init_find(&it, &reply, "maxWireVersion") && bson_iter_as_int64(&it) == 13);
    assert_false(bson_iter_init_find(&it, &reply, "topologyVersion"));
    assert_false(bson_iter_init_find(&it, &reply, "logicalSessionTimeoutMinutes"));
    bson_destroy(&reply);
}

static void test_find_by_id_with_projection_returns_only_projected_fields(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    assert_find(f->coll, "{\"_id\":\"m2\"}", "{\"projection\":{\"status\":1,\"progress\":1}}",
                "[{ \"_id\" : \"m2\", \"status\" : \"transcribing\", \"progress\" : 35 }]");
    assert_find(f->coll, "{\"_id\":\"m2\"}", "{\"projection\":{\"_id\":0,\"status\":1}}",
                "[{ \"status\" : \"transcribing\" }]");
    assert_find(f->coll, "{\"_id\":\"m2\"}", "{\"projection\":{\"ownerId\":0,\"progress\":0}}",
                "[{ \"_id\" : \"m2\", \"status\" : \"transcribing\" }]");
}

static void test_find_missing_id_returns_nothing(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    assert_find(f->coll, "{\"_id\":\"nope\"}", NULL, "[]");
}

static void test_find_in_and_gt_with_sort_and_limit(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    const char *proj = "\"projection\":{\"_id\":1}";
    char opts[256];
    snprintf(opts, sizeof opts, "{%s,\"sort\":{\"progress\":-1},\"limit\":2}", proj);
    assert_find(f->coll, "{\"progress\":{\"$gt\":10}}", opts,
                "[{ \"_id\" : \"m4\" },{ \"_id\" : \"m3\" }]");
    snprintf(opts, sizeof opts, "{%s,\"sort\":{\"progress\":1}}", proj);
    assert_find(f->coll, "{\"status\":{\"$in\":[\"uploaded\",\"ready\"]},\"ownerId\":\"bob\"}",
                opts, "[{ \"_id\" : \"m5\" },{ \"_id\" : \"m4\" }]");
    assert_find(f->coll, "{\"progress\":{\"$gte\":35,\"$lte\":72}}", opts,
                "[{ \"_id\" : \"m2\" },{ \"_id\" : \"m3\" }]");
    assert_find(f->coll, "{\"progress\":{\"$lt\":5}}", opts, "[{ \"_id\" : \"m1\" }]");
}

static void test_find_larger_than_batch_size_continues_with_get_more(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    int64_t before = opcounter(f->client, "getmore");
    assert_find(f->coll, "{}", "{\"batchSize\":2,\"projection\":{\"_id\":1}}",
                "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m2\" },{ \"_id\" : \"m3\" },"
                "{ \"_id\" : \"m4\" },{ \"_id\" : \"m5\" }]");
    assert_int_equal(opcounter(f->client, "getmore") - before, 2);
}

static void test_find_with_unknown_operator_is_a_bad_value_error(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_error_t err;
    char *got = find_json(f->coll, "{\"progress\":{\"$near\":1}}", NULL, &err);
    assert_null(got);
    assert_int_equal(err.code, 2);
}

/* ---- tests: $in and equality on _id through the _id index ------------ */

/* Asserts filter returns expected, and that the same filter wrapped in $and
 * (which mock-store answers by scanning the whole collection) returns exactly
 * the same: the index may change the cost, never the result or its order. */
static void assert_find_as_scan(mongoc_collection_t *coll, const char *filter, const char *opts,
                                const char *expected)
{
    assert_find(coll, filter, opts, expected);
    char *scan = bson_strdup_printf("{\"$and\":[%s]}", filter);
    assert_find(coll, scan, opts, expected);
    bson_free(scan);
}

static const char *const ids_only = "{\"projection\":{\"_id\":1}}";

static void test_find_in_on_id_returns_listed_documents_once_in_natural_order(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    /* Out of order, repeated, with ids that do not exist. */
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[\"m4\",\"nope\",\"m1\",\"m4\",\"m1\",\"x\"]}}",
                        ids_only, "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m4\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[\"nope\"]}}", ids_only, "[]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[]}}", ids_only, "[]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$eq\":\"m3\"}}", ids_only, "[{ \"_id\" : \"m3\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":\"m3\",\"ownerId\":\"alice\"}", ids_only, "[]");
}

static void test_find_in_on_id_still_applies_the_rest_of_the_filter(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    const char *all = "\"$in\":[\"m5\",\"m4\",\"m3\",\"m2\",\"m1\"]";
    char filter[256];
    snprintf(filter, sizeof filter, "{\"_id\":{%s},\"ownerId\":\"bob\"}", all);
    assert_find_as_scan(f->coll, filter, ids_only,
                        "[{ \"_id\" : \"m3\" },{ \"_id\" : \"m4\" },{ \"_id\" : \"m5\" }]");
    snprintf(filter, sizeof filter, "{\"_id\":{%s,\"$ne\":\"m4\"},\"progress\":{\"$gte\":5}}", all);
    assert_find_as_scan(f->coll, filter, ids_only,
                        "[{ \"_id\" : \"m2\" },{ \"_id\" : \"m3\" },{ \"_id\" : \"m5\" }]");
    snprintf(filter, sizeof filter,
             "{\"_id\":{%s},\"$or\":[{\"status\":\"ready\"},{\"progress\":0}]}", all);
    assert_find_as_scan(f->coll, filter, ids_only, "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m4\" }]");
    snprintf(filter, sizeof filter, "{\"ownerId\":\"alice\",\"_id\":{%s}}", all);
    assert_find_as_scan(f->coll, filter, "{\"projection\":{\"status\":1}}",
                        "[{ \"_id\" : \"m1\", \"status\" : \"uploaded\" },"
                        "{ \"_id\" : \"m2\", \"status\" : \"transcribing\" }]");
    /* sort, skip and limit apply to the matches, as for any filter */
    snprintf(filter, sizeof filter, "{\"_id\":{%s}}", all);
    assert_find_as_scan(f->coll, filter,
                        "{\"projection\":{\"_id\":1},\"sort\":{\"progress\":-1},\"skip\":1,\"limit\":2}",
                        "[{ \"_id\" : \"m3\" },{ \"_id\" : \"m2\" }]");
    assert_find_as_scan(f->coll, filter, "{\"projection\":{\"_id\":1},\"limit\":2}",
                        "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m2\" }]");
}

static void test_find_in_on_id_matches_by_type_and_value_as_mongod(void **state)
{
    fixture_t *f = *state;
    insert_json(f->coll, "{\"_id\":1,\"k\":\"int32 1\"}");
    insert_json(f->coll, "{\"_id\":\"1\",\"k\":\"string 1\"}");
    insert_json(f->coll, "{\"_id\":{\"$oid\":\"6564a1f0c2a4b3d2e1f00001\"},\"k\":\"oid\"}");
    insert_json(f->coll, "{\"_id\":{\"$numberLong\":\"7\"},\"k\":\"int64 7\"}");
    insert_json(f->coll, "{\"_id\":2.5,\"k\":\"double 2.5\"}");
    insert_json(f->coll, "{\"_id\":{\"a\":1},\"k\":\"document\"}");
    const char *k = "{\"projection\":{\"_id\":0,\"k\":1}}";
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[1.0]}}", k, "[{ \"k\" : \"int32 1\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[{\"$numberLong\":\"1\"}]}}", k,
                        "[{ \"k\" : \"int32 1\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":1.0}", k, "[{ \"k\" : \"int32 1\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[\"1\"]}}", k, "[{ \"k\" : \"string 1\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[7.0,{\"$numberDecimal\":\"2.5\"}]}}", k,
                        "[{ \"k\" : \"int64 7\" },{ \"k\" : \"double 2.5\" }]");
    assert_find_as_scan(f->coll,
                        "{\"_id\":{\"$in\":[{\"$oid\":\"6564a1f0c2a4b3d2e1f00001\"},"
                        "\"6564a1f0c2a4b3d2e1f00001\",{\"$oid\":\"6564a1f0c2a4b3d2e1f00002\"}]}}",
                        k, "[{ \"k\" : \"oid\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[{\"a\":1.0},{\"a\":2}]}}", k,
                        "[{ \"k\" : \"document\" }]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[true,null,2,\"2.5\",{\"$date\":1}]}}", k, "[]");
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[\"1\",1,{\"$numberLong\":\"1\"},1.0]}}", k,
                        "[{ \"k\" : \"int32 1\" },{ \"k\" : \"string 1\" }]");
    /* 1 and 1.0 are one _id: the index refuses the second, as mongod does */
    bson_t *dup = BCON_NEW("_id", BCON_DOUBLE(1.0));
    bson_error_t err;
    assert_false(mongoc_collection_insert_one(f->coll, dup, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    bson_destroy(dup);
}

/* The index follows every write: after each step the $in answer is checked
 * against the expected ids and against the scan. */
static void test_find_in_on_id_follows_inserts_updates_deletes_upserts_and_drop(void **state)
{
    fixture_t *f = *state;
    const char *in = "{\"_id\":{\"$in\":[\"m1\",\"m3\",\"m6\",\"m9\",\"m5\"]}}";
    const char *st = "{\"projection\":{\"status\":1}}";
    seed_meetings(f->coll);
    assert_find_as_scan(f->coll, in, ids_only,
                        "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m3\" },{ \"_id\" : \"m5\" }]");

    insert_json(f->coll, "{\"_id\":\"m6\",\"status\":\"uploaded\"}");
    assert_find_as_scan(f->coll, in, ids_only,
                        "[{ \"_id\" : \"m1\" },{ \"_id\" : \"m3\" },{ \"_id\" : \"m5\" },"
                        "{ \"_id\" : \"m6\" }]");

    bson_error_t err;
    bson_t *q = BCON_NEW("_id", "m3");
    bson_t *u = BCON_NEW("$set", "{", "status", "ready", "}");
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, NULL, &err));
    bson_destroy(u);
    u = BCON_NEW("ownerId", "bob", "status", "replaced"); /* replacement keeps its place */
    bson_destroy(q);
    q = BCON_NEW("_id", "m1");
    assert_true(mongoc_collection_replace_one(f->coll, q, u, NULL, NULL, &err));
    bson_destroy(q);
    bson_destroy(u);
    assert_find_as_scan(f->coll, in, st,
                        "[{ \"_id\" : \"m1\", \"status\" : \"replaced\" },"
                        "{ \"_id\" : \"m3\", \"status\" : \"ready\" },"
                        "{ \"_id\" : \"m5\", \"status\" : \"uploaded\" },"
                        "{ \"_id\" : \"m6\", \"status\" : \"uploaded\" }]");

    /* update_many and delete_many through $in on _id touch exactly those */
    q = bson_new_from_json((const uint8_t *)"{\"_id\":{\"$in\":[\"m5\",\"m6\",\"m2\",\"zz\"]}}", -1, NULL);
    u = BCON_NEW("$set", "{", "flag", BCON_BOOL(true), "}");
    bson_t reply;
    bson_iter_t it;
    assert_true(mongoc_collection_update_many(f->coll, q, u, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) == 3);
    bson_destroy(&reply);
    bson_destroy(u);
    assert_find_as_scan(f->coll, "{\"flag\":true}", ids_only,
                        "[{ \"_id\" : \"m2\" },{ \"_id\" : \"m5\" },{ \"_id\" : \"m6\" }]");
    bson_t *two = bson_new_from_json((const uint8_t *)"{\"_id\":{\"$in\":[\"m6\",\"m1\"]}}", -1, NULL);
    assert_true(mongoc_collection_delete_many(f->coll, two, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) == 2);
    bson_destroy(&reply);
    bson_destroy(two);
    assert_find_as_scan(f->coll, in, ids_only, "[{ \"_id\" : \"m3\" },{ \"_id\" : \"m5\" }]");

    /* upsert by _id inserts into the index; a second one finds it */
    bson_destroy(q);
    q = BCON_NEW("_id", "m9");
    u = BCON_NEW("$set", "{", "status", "uploaded", "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    assert_true(mongoc_collection_update_one(f->coll, q, u, opts, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "upsertedId"));
    bson_destroy(&reply);
    bson_destroy(u);
    u = BCON_NEW("$set", "{", "status", "ready", "}");
    assert_true(mongoc_collection_update_one(f->coll, q, u, opts, &reply, &err));
    assert_false(bson_iter_init_find(&it, &reply, "upsertedId"));
    assert_true(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    assert_find_as_scan(f->coll, in, st,
                        "[{ \"_id\" : \"m3\", \"status\" : \"ready\" },"
                        "{ \"_id\" : \"m5\", \"status\" : \"uploaded\" },"
                        "{ \"_id\" : \"m9\", \"status\" : \"ready\" }]");

    /* _id cannot change, so the index never goes stale through an update */
    bson_destroy(u);
    u = BCON_NEW("$set", "{", "_id", "m7", "}");
    assert_false(mongoc_collection_update_one(f->coll, q, u, NULL, NULL, &err));
    assert_int_equal(err.code, 66);
    assert_find_as_scan(f->coll, "{\"_id\":{\"$in\":[\"m7\",\"m9\"]}}", ids_only, "[{ \"_id\" : \"m9\" }]");

    /* an upsert whose _id would be an array is refused like an insert's */
    bson_destroy(u);
    bson_destroy(q);
    q = BCON_NEW("ownerId", "nobody");
    u = BCON_NEW("$setOnInsert", "{", "_id", "[", BCON_INT32(1), "]", "}");
    assert_false(mongoc_collection_update_one(f->coll, q, u, opts, NULL, &err));
    assert_int_equal(err.code, 53);

    assert_true(mongoc_collection_drop(f->coll, &err));
    assert_find_as_scan(f->coll, in, ids_only, "[]");
    insert_json(f->coll, "{\"_id\":\"m5\",\"status\":\"again\"}");
    assert_find_as_scan(f->coll, in, st, "[{ \"_id\" : \"m5\", \"status\" : \"again\" }]");
    bson_destroy(q);
    bson_destroy(u);
    bson_destroy(opts);
}

/* 1,000 ids over 3,000 documents: every listed id comes back once, in
 * natural order, across getMore batches, with and without a sort. */
static void test_find_in_on_id_with_1000_ids_spans_get_more_batches(void **state)
{
    fixture_t *f = *state;
    enum { NDOCS = 3000 };
    bson_t *docs[NDOCS];
    for (int i = 0; i < NDOCS; i++)
        docs[i] = BCON_NEW("_id", BCON_INT32(i), "n", BCON_INT32(i % 7), "pad", "xxxxxxxxxxxxxxxx");
    bson_error_t err;
    assert_true(mongoc_collection_insert_many(f->coll, (const bson_t **)docs, NDOCS, NULL, NULL, &err));
    for (int i = 0; i < NDOCS; i++)
        bson_destroy(docs[i]);

    /* ids 2997, 2994, ... 0 (1,000 of them, in reverse), each twice as a
     * double, plus ids that do not exist */
    bson_t filter, id, in;
    bson_init(&filter);
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &id);
    BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
    uint32_t k = 0;
    for (int i = NDOCS - 3; i >= 0; i -= 3) {
        char key[16];
        snprintf(key, sizeof key, "%u", k++);
        BSON_APPEND_INT32(&in, key, i);
        snprintf(key, sizeof key, "%u", k++);
        BSON_APPEND_DOUBLE(&in, key, (double)i);
    }
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "%u", k++);
        BSON_APPEND_INT32(&in, key, NDOCS + i);
    }
    bson_append_array_end(&id, &in);
    bson_append_document_end(&filter, &id);

    int64_t getmores = opcounter(f->client, "getmore");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(f->coll, &filter, NULL, NULL);
    const bson_t *doc;
    int expect = 0, seen = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, doc, "_id"));
        assert_int_equal(bson_iter_int32(&it), expect);
        expect += 3;
        seen++;
    }
    assert_false(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);
    assert_int_equal(seen, 1000);
    assert_true(opcounter(f->client, "getmore") > getmores); /* 101 in the first batch */

    bson_t *opts = BCON_NEW("sort", "{", "n", BCON_INT32(-1), "_id", BCON_INT32(1), "}",
                            "projection", "{", "n", BCON_INT32(1), "}", "batchSize", BCON_INT32(50));
    cur = mongoc_collection_find_with_opts(f->coll, &filter, opts, NULL);
    int last_n = 7, last_id = -1;
    seen = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        assert_true(bson_iter_init_find(&it, doc, "n"));
        int n = bson_iter_int32(&it);
        assert_true(bson_iter_init_find(&it, doc, "_id"));
        int i = bson_iter_int32(&it);
        assert_int_equal(i % 3, 0);
        assert_int_equal(n, i % 7);
        assert_true(n < last_n || (n == last_n && i > last_id));
        assert_false(bson_iter_init_find(&it, doc, "pad"));
        last_n = n;
        last_id = i;
        seen++;
    }
    assert_false(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);
    assert_int_equal(seen, 1000);
    bson_destroy(opts);

    bson_t *cmd = BCON_NEW("count", "meetings", "query", BCON_DOCUMENT(&filter));
    bson_t reply;
    assert_true(mongoc_client_command_simple(f->client, DB, cmd, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "n") && bson_iter_as_int64(&it) == 1000);
    bson_destroy(&reply);
    bson_destroy(cmd);
    bson_destroy(&filter);
}


/* ---- tests: writes ----------------------------------------------------- */

static void test_insert_duplicate_id_fails_with_11000(void **state)
{
    fixture_t *f = *state;
    insert_json(f->coll, "{\"_id\":\"dup\"}");
    bson_t *doc = BCON_NEW("_id", "dup");
    bson_error_t err;
    assert_false(mongoc_collection_insert_one(f->coll, doc, NULL, NULL, &err));
    assert_int_equal(err.code, 11000);
    bson_destroy(doc);
}

static void test_insert_without_id_gets_an_object_id(void **state)
{
    fixture_t *f = *state;
    bson_t *doc = BCON_NEW("title", "no id");
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_collection_insert_one(f->coll, doc, NULL, &reply, &err));
    bson_destroy(&reply);
    bson_destroy(doc);
    bson_t *filter = BCON_NEW("title", "no id");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(f->coll, filter, NULL, NULL);
    const bson_t *got;
    assert_true(mongoc_cursor_next(cur, &got));
    bson_iter_t it;
    assert_true(bson_iter_init(&it, got) && bson_iter_next(&it));
    assert_string_equal(bson_iter_key(&it), "_id");
    assert_true(BSON_ITER_HOLDS_OID(&it));
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
}

static void test_update_set_unset_inc_changes_one_document(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_t *q = BCON_NEW("_id", "m1");
    bson_t *u = BCON_NEW("$set", "{", "status", "transcribing", "meta.by", "sim", "}", "$inc", "{",
                         "progress", BCON_INT32(10), "}", "$unset", "{", "ownerId", BCON_INT32(1), "}");
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1);
    assert_true(bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    assert_find(f->coll, "{\"_id\":\"m1\"}", NULL,
                "[{ \"_id\" : \"m1\", \"status\" : \"transcribing\", \"progress\" : 10, "
                "\"meta\" : { \"by\" : \"sim\" } }]");
    bson_destroy(q);
    bson_destroy(u);
}

static void test_update_many_with_operator_filter_and_upsert(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_t *q = BCON_NEW("progress", "{", "$lt", BCON_INT32(50), "}");
    bson_t *u = BCON_NEW("$set", "{", "flag", BCON_BOOL(true), "}");
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_collection_update_many(f->coll, q, u, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) == 3);
    bson_destroy(&reply);
    bson_destroy(q);
    bson_destroy(u);

    q = BCON_NEW("_id", "m9", "ownerId", "carol");
    u = BCON_NEW("$set", "{", "status", "uploaded", "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    assert_true(mongoc_collection_update_one(f->coll, q, u, opts, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "upsertedId") && BSON_ITER_HOLDS_UTF8(&it));
    assert_string_equal(bson_iter_utf8(&it, NULL), "m9");
    bson_destroy(&reply);
    assert_find(f->coll, "{\"_id\":\"m9\"}", NULL,
                "[{ \"_id\" : \"m9\", \"ownerId\" : \"carol\", \"status\" : \"uploaded\" }]");
    bson_destroy(q);
    bson_destroy(u);
    bson_destroy(opts);
}

static void test_update_changing_id_is_refused(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_t *q = BCON_NEW("_id", "m1");
    bson_t *u = BCON_NEW("$set", "{", "_id", "other", "}");
    bson_error_t err;
    assert_false(mongoc_collection_update_one(f->coll, q, u, NULL, NULL, &err));
    assert_int_equal(err.code, 66);
    bson_destroy(q);
    bson_destroy(u);
}

static void test_delete_one_and_many(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_t reply;
    bson_error_t err;
    bson_t *q = BCON_NEW("_id", "m1");
    assert_true(mongoc_collection_delete_one(f->coll, q, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    bson_destroy(q);
    q = BCON_NEW("ownerId", "bob");
    assert_true(mongoc_collection_delete_many(f->coll, q, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "deletedCount") && bson_iter_as_int64(&it) == 3);
    bson_destroy(&reply);
    bson_destroy(q);
    assert_find(f->coll, "{}", "{\"projection\":{\"_id\":1}}", "[{ \"_id\" : \"m2\" }]");
}

static void test_count_command_counts_matches(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_error_t err;
    assert_int_equal(mongoc_collection_estimated_document_count(f->coll, NULL, NULL, NULL, &err), 5);
    bson_t *cmd = BCON_NEW("count", "meetings", "query", "{", "ownerId", "bob", "}");
    bson_t reply;
    assert_true(mongoc_client_command_simple(f->client, DB, cmd, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "n") && bson_iter_as_int64(&it) == 3);
    bson_destroy(&reply);
    bson_destroy(cmd);
}

static void test_unknown_command_is_59_command_not_found(void **state)
{
    fixture_t *f = *state;
    bson_t reply;
    bson_error_t err;
    assert_false(admin_command(f->client, "{\"noSuchThing\":1}", &reply, &err));
    assert_int_equal(err.code, 59);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "codeName"));
    assert_string_equal(bson_iter_utf8(&it, NULL), "CommandNotFound");
    bson_destroy(&reply);
}

/* ---- tests: serverStatus ---------------------------------------------- */

static void test_server_status_counts_each_find_as_query_and_others_as_command(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    bson_error_t err;
    int64_t q0 = opcounter(f->client, "query");
    int64_t c0 = opcounter(f->client, "command");
    for (int i = 0; i < 7; i++)
        assert_true(find_by_id(f->coll, "m1", &err));
    bson_t reply;
    assert_true(admin_command(f->client, "{\"ping\":1}", &reply, &err));
    bson_destroy(&reply);
    assert_int_equal(opcounter(f->client, "query") - q0, 7);
    /* ping, plus the serverStatus calls themselves (two after c0 was read) */
    assert_int_equal(opcounter(f->client, "command") - c0, 3);

    int64_t i0 = opcounter(f->client, "insert"), u0 = opcounter(f->client, "update"),
            d0 = opcounter(f->client, "delete");
    insert_json(f->coll, "{\"_id\":\"c1\"}");
    bson_t *q = BCON_NEW("_id", "c1");
    bson_t *u = BCON_NEW("$set", "{", "x", BCON_INT32(1), "}");
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, NULL, &err));
    assert_true(mongoc_collection_delete_one(f->coll, q, NULL, NULL, &err));
    assert_int_equal(opcounter(f->client, "insert") - i0, 1);
    assert_int_equal(opcounter(f->client, "update") - u0, 1);
    assert_int_equal(opcounter(f->client, "delete") - d0, 1);
    bson_destroy(q);
    bson_destroy(u);
}

/* ---- tests: failCommand ----------------------------------------------- */

static void test_failpoint_always_on_fails_every_find_until_turned_off(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":\"alwaysOn\","
                                   "\"data\":{\"failCommands\":[\"find\"],\"errorCode\":2}}");
    bson_error_t err;
    for (int i = 0; i < 3; i++) {
        assert_false(find_by_id(f->coll, "m1", &err));
        assert_int_equal(err.code, 2);
        assert_non_null(strstr(err.message, "failCommand"));
    }
    /* commands not listed are untouched */
    assert_int_equal(mongoc_collection_estimated_document_count(f->coll, NULL, NULL, NULL, &err), 5);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":\"off\"}");
    assert_true(find_by_id(f->coll, "m1", &err));
}

static void test_failpoint_times_fails_exactly_n_commands(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":2},"
                                   "\"data\":{\"failCommands\":[\"find\"],\"errorCode\":8000}}");
    bson_error_t err;
    assert_false(find_by_id(f->coll, "m1", &err));
    assert_int_equal(err.code, 8000);
    assert_false(find_by_id(f->coll, "m1", &err));
    assert_int_equal(err.code, 8000);
    assert_true(find_by_id(f->coll, "m1", &err));
    assert_true(find_by_id(f->coll, "m1", &err));
}

static void test_failpoint_reports_how_often_it_fired(void **state)
{
    fixture_t *f = *state;
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":1},"
                                   "\"data\":{\"failCommands\":[\"ping\"],\"errorCode\":2}}");
    bson_t reply;
    bson_error_t err;
    assert_false(admin_command(f->client, "{\"ping\":1}", &reply, &err));
    bson_destroy(&reply);
    assert_true(admin_command(f->client,
                              "{\"configureFailPoint\":\"failCommand\",\"mode\":\"off\"}", &reply,
                              &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "count") && bson_iter_as_int64(&it) >= 1);
    bson_destroy(&reply);
}

static void test_failpoint_outside_admin_database_is_refused(void **state)
{
    fixture_t *f = *state;
    bson_t *cmd = BCON_NEW("configureFailPoint", "failCommand", "mode", "alwaysOn");
    bson_error_t err;
    assert_false(mongoc_client_command_simple(f->client, DB, cmd, NULL, NULL, &err));
    assert_int_equal(err.code, 13);
    bson_destroy(cmd);
}

static void test_failpoint_close_connection_once_is_hidden_by_retryable_read(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":1},"
                                   "\"data\":{\"failCommands\":[\"find\"],\"closeConnection\":true}}");
    bson_error_t err;
    /* libmongoc retries a read once after a network error, on a new connection. */
    bool ok = find_by_id(f->coll, "m1", &err);
    if (!ok)
        fail_msg("retried find: %s", err.message);
}

static void test_failpoint_close_connection_fails_then_client_reconnects(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":2},"
                                   "\"data\":{\"failCommands\":[\"find\"],\"closeConnection\":true}}");
    bson_error_t err;
    /* Both the find and its retry lose their connection. */
    assert_false(find_by_id(f->coll, "m1", &err));
    assert_int_equal(err.domain, MONGOC_ERROR_STREAM);
    /* The next operation reconnects (a new handshake) and succeeds. */
    bool ok = find_by_id(f->coll, "m1", &err);
    if (!ok)
        fail_msg("find after closeConnection: %s", err.message);
    assert_find(f->coll, "{\"_id\":\"m3\"}", "{\"projection\":{\"status\":1}}",
                "[{ \"_id\" : \"m3\", \"status\" : \"summarizing\" }]");
}

typedef struct {
    mongoc_client_pool_t *pool;
    int64_t elapsed_ms;
    bool ok;
    uint32_t code;
} blocked_find_t;

static void *run_blocked_find(void *arg)
{
    blocked_find_t *b = arg;
    mongoc_client_t *client = mongoc_client_pool_pop(b->pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, DB, "meetings");
    bson_error_t err = {0};
    int64_t t0 = now_ms();
    b->ok = find_by_id(coll, "m1", &err);
    b->elapsed_ms = now_ms() - t0;
    b->code = err.code;
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(b->pool, client);
    return NULL;
}

static void test_failpoint_block_connection_delays_only_that_connection(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    /* The thread pops its own client, so the blocked find has its own connection. */
    blocked_find_t b = {.pool = f->pool};
    bson_t reply;
    bson_error_t err;

    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":1},"
                                   "\"data\":{\"failCommands\":[\"find\"],\"blockConnection\":true,"
                                   "\"blockTimeMS\":700}}");
    pthread_t th;
    pthread_create(&th, NULL, run_blocked_find, &b);
    usleep(150 * 1000);
    /* While that find is parked, this connection is served at once. */
    int64_t t0 = now_ms();
    for (int i = 0; i < 5; i++) {
        assert_true(admin_command(f->client, "{\"ping\":1}", &reply, &err));
        bson_destroy(&reply);
    }
    int64_t ping_ms = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(b.ok);
    assert_true(b.elapsed_ms >= 650);
    assert_true(ping_ms < 300);
}

static void test_failpoint_block_then_error_code_fails_after_the_delay(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client, "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":1},"
                                   "\"data\":{\"failCommands\":[\"find\"],\"blockConnection\":true,"
                                   "\"blockTimeMS\":300,\"errorCode\":50}}");
    bson_error_t err;
    int64_t t0 = now_ms();
    assert_false(find_by_id(f->coll, "m1", &err));
    assert_true(now_ms() - t0 >= 290);
    assert_int_equal(err.code, 50);
    assert_true(find_by_id(f->coll, "m1", &err));
}

/* ---- tests: store going away ------------------------------------------ */

static void test_stopped_store_gives_server_selection_error_within_timeout(void **state)
{
    (void)state;
    store_proc_t own = {0};
    assert_true(store_start(&own));
    mongoc_client_pool_t *pool = pool_for(own.port, 800);
    mongoc_client_t *client = mongoc_client_pool_pop(pool);
    bson_t reply;
    bson_error_t err;
    assert_true(admin_command(client, "{\"ping\":1}", &reply, &err));
    bson_destroy(&reply);
    store_stop(&own);

    /* The pooled connection notices the close first; the next operation
     * must then fail server selection, within serverSelectionTimeoutMS. */
    bool ok = admin_command(client, "{\"ping\":1}", &reply, &err);
    bson_destroy(&reply);
    assert_false(ok);
    int64_t t0 = now_ms();
    ok = admin_command(client, "{\"ping\":1}", &reply, &err);
    int64_t elapsed = now_ms() - t0;
    bson_destroy(&reply);
    assert_false(ok);
    assert_int_equal(err.domain, MONGOC_ERROR_SERVER_SELECTION);
    assert_true(elapsed < 800 + 700);

    mongoc_client_pool_push(pool, client);
    mongoc_client_pool_destroy(pool);

    /* A fresh pool against the dead port fails the same way. */
    pool = pool_for(own.port, 500);
    client = mongoc_client_pool_pop(pool);
    t0 = now_ms();
    ok = admin_command(client, "{\"ping\":1}", &reply, &err);
    elapsed = now_ms() - t0;
    bson_destroy(&reply);
    assert_false(ok);
    assert_int_equal(err.domain, MONGOC_ERROR_SERVER_SELECTION);
    assert_true(elapsed < 500 + 700);
    mongoc_client_pool_push(pool, client);
    mongoc_client_pool_destroy(pool);
}

static int suite_setup(void **state)
{
    (void)state;
    return store_start(&store) ? 0 : -1;
}

static int suite_teardown(void **state)
{
    (void)state;
    store_stop(&store);
    return 0;
}


/* ---- tests: writes with confirmed persistence (issue 14) -------------- */

static int64_t date_of(mongoc_collection_t *coll, const char *id, const char *field)
{
    bson_t *filter = BCON_NEW("_id", id);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *doc;
    bson_iter_t it;
    int64_t ms = -1;
    if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, field) &&
        BSON_ITER_HOLDS_DATE_TIME(&it))
        ms = bson_iter_date_time(&it);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return ms;
}

static void test_update_current_date_true_and_type_date_set_now_as_a_date(void **state)
{
    fixture_t *f = *state;
    insert_json(f->coll, "{\"_id\":\"d1\",\"updatedAt\":{\"$date\":\"2026-11-25T09:00:00.000Z\"}}");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    bson_t *q = BCON_NEW("_id", "d1", "updatedAt", BCON_DATE_TIME(1795597200000LL));
    bson_t *u = BCON_NEW("$currentDate", "{", "updatedAt", BCON_BOOL(true), "seenAt", "{",
                         "$type", "date", "}", "}");
    bson_t reply;
    bson_error_t err;
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, &reply, &err));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    int64_t updated = date_of(f->coll, "d1", "updatedAt");
    int64_t seen = date_of(f->coll, "d1", "seenAt");
    assert_true(updated >= before && updated < before + 5000);
    assert_true(seen >= before && seen < before + 5000);
    /* The old version no longer matches: a second conditional update is a no-op. */
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, &reply, &err));
    assert_true(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 0);
    bson_destroy(&reply);
    bson_destroy(q);
    bson_destroy(u);
}

static int64_t status_int(mongoc_client_t *client, const char *path)
{
    bson_t reply;
    bson_error_t err;
    bson_iter_t it, found;
    int64_t v = 0;
    assert_true(admin_command(client, "{\"serverStatus\":1}", &reply, &err));
    if (bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, path, &found))
        v = bson_iter_as_int64(&found);
    bson_destroy(&reply);
    return v;
}

static void test_write_concern_is_counted_per_w_and_the_last_one_kept(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    int64_t majority0 = status_int(f->client, "opWriteConcernCounters.update.wmajority");
    int64_t w2_0 = status_int(f->client, "opWriteConcernCounters.update.wnum.2");
    bson_t *q = BCON_NEW("_id", "m1");
    bson_t *u = BCON_NEW("$set", "{", "status", "ready", "}");
    bson_error_t err;
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
    mongoc_write_concern_set_wtimeout_int64(wc, 5000);
    bson_t opts = BSON_INITIALIZER;
    mongoc_write_concern_append(wc, &opts);
    assert_true(mongoc_collection_update_one(f->coll, q, u, &opts, NULL, &err));
    assert_int_equal(status_int(f->client, "opWriteConcernCounters.update.wmajority"), majority0 + 1);
    assert_int_equal(status_int(f->client, "lastWriteConcern.wtimeout"), 5000);

    bson_reinit(&opts);
    mongoc_write_concern_set_w(wc, 2);
    mongoc_write_concern_append(wc, &opts);
    assert_true(mongoc_collection_update_one(f->coll, q, u, &opts, NULL, &err));
    assert_int_equal(status_int(f->client, "opWriteConcernCounters.update.wnum.2"), w2_0 + 1);
    assert_int_equal(status_int(f->client, "lastWriteConcern.w"), 2);
    bson_destroy(&opts);
    mongoc_write_concern_destroy(wc);
    bson_destroy(q);
    bson_destroy(u);
}

static void test_failpoint_write_concern_error_applies_the_update_and_reports_it(void **state)
{
    fixture_t *f = *state;
    seed_meetings(f->coll);
    configure_failpoint(f->client,
                        "{\"configureFailPoint\":\"failCommand\",\"mode\":{\"times\":1},"
                        "\"data\":{\"failCommands\":[\"update\"],\"writeConcernError\":"
                        "{\"code\":64,\"codeName\":\"WriteConcernFailed\",\"errmsg\":\"waiting "
                        "for replication timed out\"}}}");
    bson_t *q = BCON_NEW("_id", "m2");
    bson_t *u = BCON_NEW("$set", "{", "status", "ready", "}");
    bson_t reply;
    bson_error_t err;
    bool ok = mongoc_collection_update_one(f->coll, q, u, NULL, &reply, &err);
    assert_false(ok);
    assert_int_equal(err.code, 64);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it));
    assert_true(bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    /* applied, as mongod applies it */
    assert_find(f->coll, "{\"_id\":\"m2\"}", "{\"projection\":{\"status\":1}}",
                "[{ \"_id\" : \"m2\", \"status\" : \"ready\" }]");
    /* {times: 1}: the next update is clean */
    assert_true(mongoc_collection_update_one(f->coll, q, u, NULL, &reply, &err));
    assert_false(bson_iter_init_find(&it, &reply, "writeConcernErrors"));
    bson_destroy(&reply);
    bson_destroy(q);
    bson_destroy(u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    mongoc_init();
    mongoc_log_set_handler(NULL, NULL); /* keep expected reconnect warnings out of the log */
    const struct CMUnitTest tests[] = {
        T(test_pool_client_handshakes_and_pings),
        T(test_hello_reports_writable_primary_wire_13_without_topology_version),
        T(test_find_by_id_with_projection_returns_only_projected_fields),
        T(test_find_missing_id_returns_nothing),
        T(test_find_in_and_gt_with_sort_and_limit),
        T(test_find_larger_than_batch_size_continues_with_get_more),
        T(test_find_with_unknown_operator_is_a_bad_value_error),
        T(test_find_in_on_id_returns_listed_documents_once_in_natural_order),
        T(test_find_in_on_id_still_applies_the_rest_of_the_filter),
        T(test_find_in_on_id_matches_by_type_and_value_as_mongod),
        T(test_find_in_on_id_follows_inserts_updates_deletes_upserts_and_drop),
        T(test_find_in_on_id_with_1000_ids_spans_get_more_batches),
        T(test_insert_duplicate_id_fails_with_11000),
        T(test_insert_without_id_gets_an_object_id),
        T(test_update_set_unset_inc_changes_one_document),
        T(test_update_many_with_operator_filter_and_upsert),
        T(test_update_changing_id_is_refused),
        T(test_delete_one_and_many),
        T(test_count_command_counts_matches),
        T(test_unknown_command_is_59_command_not_found),
        T(test_server_status_counts_each_find_as_query_and_others_as_command),
        T(test_failpoint_always_on_fails_every_find_until_turned_off),
        T(test_failpoint_times_fails_exactly_n_commands),
        T(test_failpoint_reports_how_often_it_fired),
        T(test_failpoint_outside_admin_database_is_refused),
        T(test_failpoint_close_connection_once_is_hidden_by_retryable_read),
        T(test_failpoint_close_connection_fails_then_client_reconnects),
        T(test_failpoint_block_connection_delays_only_that_connection),
        T(test_failpoint_block_then_error_code_fails_after_the_delay),
        T(test_update_current_date_true_and_type_date_set_now_as_a_date),
        T(test_write_concern_is_counted_per_w_and_the_last_one_kept),
        T(test_failpoint_write_concern_error_applies_the_update_and_reports_it),
        cmocka_unit_test(test_stopped_store_gives_server_selection_error_within_timeout),
    };
    int failed = cmocka_run_group_tests_name("mock-store via libmongoc", tests, suite_setup,
                                             suite_teardown);
    mongoc_cleanup();
    return failed;
}
