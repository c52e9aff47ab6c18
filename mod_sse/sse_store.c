/* sse_store.c: MongoDB through libmongoc, behind sse_store.h.
 *
 * Pools do not survive fork(), so each child builds its own in child_init:
 * one mongoc_client_pool_t per distinct SSEMongoURI for polls, and a second,
 * small one with tight timeouts for health checks, so /health/ready answers
 * within a second whatever the URI's serverSelectionTimeoutMS is (libmongoc
 * 1.23 has no per-operation server-selection timeout). A client is popped per
 * operation and pushed back at once, as libmongoc's example-pool.c does.
 * The pool table is built before any request thread runs and is read-only
 * afterwards.
 *
 * The thin transport: the queries are built in sse_query.c, and the outage
 * breaker (polls fail fast while the store is known unreachable) is
 * sse_store_breaker.c.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include <errno.h>

#include <mongoc/mongoc.h>

#include "sse_metrics.h"
#include "sse_query.h"
#include "sse_store.h"
#include "sse_store_breaker.h"

APLOG_USE_MODULE(sse);

/* Health answers within a second: selection, connect and the ping itself
 * together stay under it. */
#define HEALTH_SELECTION_MS 500
#define HEALTH_IO_MS 400
/* How long polls fail fast after the store was found unreachable. */
#define OUTAGE_HOLD_OFF apr_time_from_msec(500)

typedef struct {
    mongoc_client_pool_t *polls;
    mongoc_client_pool_t *health;
    sse_breaker outage;                 /* sse_store_breaker.c */
} store_pools;

/* Per-process: built in child_init, read-only afterwards. */
static apr_hash_t *child_pools;
static server_rec *log_server;

static void log_from_mongoc(mongoc_log_level_t level, const char *domain,
                            const char *message, void *data)
{
    int aplevel;

    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL: aplevel = APLOG_ERR; break;
    case MONGOC_LOG_LEVEL_WARNING:  aplevel = APLOG_WARNING; break;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:     aplevel = APLOG_INFO; break;
    default:                        aplevel = APLOG_TRACE2; break;
    }
    if (log_server && APLOG_IS_LEVEL(log_server, aplevel)) {
        ap_log_error(APLOG_MARK, aplevel, 0, log_server, "mongoc %s: %s",
                     domain, message);
    }
}

static apr_status_t destroy_pools(void *data)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, child_pools); hi; hi = apr_hash_next(hi)) {
        store_pools *sp = apr_hash_this_val(hi);
        mongoc_client_pool_destroy(sp->polls);
        mongoc_client_pool_destroy(sp->health);
    }
    child_pools = NULL;
    log_server = NULL;
    mongoc_log_set_handler(NULL, NULL);
    mongoc_cleanup();
    return APR_SUCCESS;
}

static mongoc_client_pool_t *make_pool(server_rec *s, const char *uri_text, int health)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
    mongoc_client_pool_t *pool;

    if (!uri) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "mod_sse: SSEMongoURI rejected by libmongoc: %s", error.message);
        return NULL;
    }
    if (health) {
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, HEALTH_SELECTION_MS);
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, HEALTH_IO_MS);
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, HEALTH_IO_MS);
    }
    if (!mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_APPNAME, NULL)) {
        mongoc_uri_set_appname(uri, health ? "mod_sse-health" : "mod_sse");
    }
    pool = mongoc_client_pool_new(uri);
    mongoc_uri_destroy(uri);
    if (pool) {
        mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    }
    return pool;
}

void sse_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *vs;
    apr_status_t rv;

    mongoc_init();
    log_server = s;
    mongoc_log_set_handler(log_from_mongoc, NULL);
    child_pools = apr_hash_make(pchild);

    for (vs = s; vs; vs = vs->next) {
        const sse_server_conf *conf = ap_get_module_config(vs->module_config, &sse_module);
        store_pools *sp;

        if (!conf->mongo_uri || apr_hash_get(child_pools, conf->mongo_uri, APR_HASH_KEY_STRING)) {
            continue;
        }
        sp = apr_pcalloc(pchild, sizeof(*sp));
        rv = sse_breaker_init(&sp->outage, pchild, OUTAGE_HOLD_OFF);
        if (rv != APR_SUCCESS) {
            /* Without its lock the breaker cannot run: no pool for this
             * URI, so its requests get 503 "no client pool" in this child. */
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, vs,
                         "mod_sse: cannot create the outage lock for SSEMongoURI; "
                         "this child serves no requests from that store");
            continue;
        }
        sp->polls = make_pool(vs, conf->mongo_uri, 0);
        sp->health = make_pool(vs, conf->mongo_uri, 1);
        if (!sp->polls || !sp->health) {
            if (sp->polls) mongoc_client_pool_destroy(sp->polls);
            if (sp->health) mongoc_client_pool_destroy(sp->health);
            continue;
        }
        apr_hash_set(child_pools, conf->mongo_uri, APR_HASH_KEY_STRING, sp);
    }
    apr_pool_cleanup_register(pchild, NULL, destroy_pools, apr_pool_cleanup_null);
}

static store_pools *pools_for(server_rec *s, const char **error)
{
    const sse_server_conf *conf = ap_get_module_config(s->module_config, &sse_module);
    store_pools *sp = NULL;

    if (!conf->mongo_uri) {
        *error = "no SSEMongoURI for this server";
    }
    else if (!child_pools
             || !(sp = apr_hash_get(child_pools, conf->mongo_uri, APR_HASH_KEY_STRING))) {
        *error = "no client pool for SSEMongoURI";
    }
    return sp;
}

/* The poll's outcome, told to the breaker: "no server could be selected"
 * is an unreachable store; any answer, even an error, is not. */
static void outage_record(store_pools *sp, int probe, const bson_error_t *err)
{
    int unreachable = err && err->domain == MONGOC_ERROR_SERVER_SELECTION;

    sse_breaker_record(&sp->outage, probe, unreachable, unreachable ? err->message : NULL);
}

/* One find through the poll pool, as sse_store_fetch and
 * sse_store_fetch_many run it: the outage breaker, the query count, the
 * client popped for the find and pushed back at the end. */
typedef struct {
    store_pools *sp;
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_cursor_t *cursor;
    int probe;
} store_find;

static void append_projection(apr_pool_t *p, bson_t *opts, const sse_dir_conf *d)
{
    bson_t projection;

    if (!d->fields) return;
    BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &projection);
    sse_query_projection(p, &projection, d);
    bson_append_document_end(opts, &projection);
}

/* Returns 0, with *error set, when the breaker holds polls off. */
static int find_open(store_find *f, apr_pool_t *p, const sse_dir_conf *d,
                     const bson_t *filter, const bson_t *opts, const char **error)
{
    if (!sse_breaker_admits(&f->sp->outage, p, &f->probe, error)) {
        return 0;
    }
    sse_metrics_count(SSE_M_STORE_QUERIES, 1);
    f->client = mongoc_client_pool_pop(f->sp->polls);
    f->coll = mongoc_client_get_collection(f->client, d->database, d->collection);
    f->cursor = mongoc_collection_find_with_opts(f->coll, filter, opts, NULL);
    return 1;
}

/* After the documents were read: 0 with *error set when the cursor failed.
 * Tells the breaker, and gives the client back. */
static int find_close(store_find *f, apr_pool_t *p, const char **error)
{
    bson_error_t err;
    int ok = !mongoc_cursor_error(f->cursor, &err);

    if (!ok) {
        *error = apr_pstrdup(p, err.message);
        sse_metrics_count(SSE_M_STORE_ERRORS, 1);
    }
    outage_record(f->sp, f->probe, ok ? NULL : &err);
    mongoc_cursor_destroy(f->cursor);
    mongoc_collection_destroy(f->coll);
    mongoc_client_pool_push(f->sp->polls, f->client);
    return ok;
}

sse_store_status sse_store_fetch(apr_pool_t *p, server_rec *s,
                                 const sse_dir_conf *d, const char *id,
                                 sse_store_doc *doc, const char **error)
{
    store_find f = { pools_for(s, error), NULL, NULL, NULL, 0 };
    const bson_t *found;
    bson_t filter = BSON_INITIALIZER;
    bson_t opts = BSON_INITIALIZER;
    sse_store_status status = SSE_STORE_NOT_FOUND;

    doc->stored = doc->visible = NULL;
    if (!f.sp) return SSE_STORE_UNAVAILABLE;
    if (!d->database || !d->collection) {
        *error = "SSEDatabase/SSECollection not set for this location";
        return SSE_STORE_UNAVAILABLE;
    }
    if (!sse_query_append_id(&filter, sse_conf_id_field(d), d->id_type, id)) {
        bson_destroy(&filter);
        return SSE_STORE_NOT_FOUND;
    }
    BSON_APPEND_INT64(&opts, "limit", 1);
    BSON_APPEND_BOOL(&opts, "singleBatch", true);
    append_projection(p, &opts, d);

    if (!find_open(&f, p, d, &filter, &opts, error)) {
        status = SSE_STORE_UNAVAILABLE;
    }
    else {
        if (mongoc_cursor_next(f.cursor, &found)) {
            doc->stored = sse_query_pool_copy(p, found);
            doc->visible = sse_query_visible_part(p, d, doc->stored);
            status = SSE_STORE_FOUND;
        }
        if (!find_close(&f, p, error)) {
            status = SSE_STORE_UNAVAILABLE;
        }
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    return status;
}

/* ------------------------------------------------------------------ */
/* Batched reads (issue 17)                                            */
/* ------------------------------------------------------------------ */

/* The ids of a batch by their match key (sse_query_value_key): the first
 * index, with `next` chaining ids that type to the same value ("5" and
 * "05" as SSEIdType int). */
typedef struct {
    apr_hash_t *first;              /* key -> int index + 1, as a pointer */
    int *next;                      /* index + 1 of the next id with that key; 0 ends */
} id_index;

/* Hands `found` to every id its value (or an element of it) matches and
 * that has no document yet. */
static void match_found(apr_pool_t *p, const sse_dir_conf *d, const id_index *ix,
                       const bson_t *found, sse_store_doc *docs, sse_store_status *each)
{
    bson_iter_t it, value, elem;
    const bson_iter_t *v;
    const bson_t *stored = NULL;
    int is_array;

    if (!bson_iter_init(&it, found) || !bson_iter_find_descendant(&it, sse_conf_id_field(d), &value)) {
        return;
    }
    is_array = BSON_ITER_HOLDS_ARRAY(&value);
    if (is_array && !bson_iter_recurse(&value, &elem)) return;
    for (;;) {
        apr_size_t klen;
        const char *key;
        apr_uintptr_t i;

        if (is_array) {
            if (!bson_iter_next(&elem)) break;
            v = &elem;
        }
        else {
            v = &value;
        }
        key = sse_query_value_key(p, v, &klen);
        for (i = key ? (apr_uintptr_t)apr_hash_get(ix->first, key, klen) : 0; i;
             i = (apr_uintptr_t)ix->next[i - 1]) {
            if (each[i - 1] == SSE_STORE_FOUND) continue;   /* the first match wins, as with limit 1 */
            if (!stored) stored = sse_query_pool_copy(p, found);
            docs[i - 1].stored = (bson_t *)stored;
            docs[i - 1].visible = sse_query_visible_part(p, d, (bson_t *)stored);
            each[i - 1] = SSE_STORE_FOUND;
        }
        if (!is_array) break;
    }
}

sse_store_status sse_store_fetch_many(apr_pool_t *p, server_rec *s,
                                      const sse_dir_conf *d, const char *const *ids, int n,
                                      sse_store_doc *docs, sse_store_status *each,
                                      const char **error)
{
    store_find f = { pools_for(s, error), NULL, NULL, NULL, 0 };
    const bson_t *found;
    bson_t filter = BSON_INITIALIZER, in, list;
    bson_t opts = BSON_INITIALIZER;
    sse_store_status status = SSE_STORE_FOUND;
    id_index ix;
    char *typed_ok;
    int i, typed = 0;

    for (i = 0; i < n; i++) {
        docs[i].stored = docs[i].visible = NULL;
        each[i] = SSE_STORE_NOT_FOUND;
    }
    if (!f.sp) return SSE_STORE_UNAVAILABLE;
    if (!d->database || !d->collection) {
        *error = "SSEDatabase/SSECollection not set for this location";
        return SSE_STORE_UNAVAILABLE;
    }

    ix.first = apr_hash_make(p);
    ix.next = apr_pcalloc(p, sizeof(int) * (apr_size_t)n);
    typed_ok = apr_pcalloc(p, (apr_size_t)n);
    BSON_APPEND_DOCUMENT_BEGIN(&filter, sse_conf_id_field(d), &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (i = n - 1; i >= 0; i--) {
        apr_size_t klen;
        const char *key = sse_query_id_key(p, d->id_type, ids[i], &klen);
        apr_uintptr_t had;

        if (!key) continue;         /* cannot be of the id's type: no such document */
        typed_ok[i] = 1;
        had = (apr_uintptr_t)apr_hash_get(ix.first, key, klen);
        ix.next[i] = (int)had;
        apr_hash_set(ix.first, key, klen, (void *)(apr_uintptr_t)(i + 1));
        if (!had) {
            char idx[16];
            const char *idx_key;
            bson_uint32_to_string((uint32_t)typed++, &idx_key, idx, sizeof(idx));
            sse_query_append_id(&list, idx_key, d->id_type, ids[i]);
        }
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(&filter, &in);
    if (!typed) {
        bson_destroy(&filter);
        return SSE_STORE_FOUND;     /* every id NOT_FOUND, no query needed */
    }
    append_projection(p, &opts, d);

    if (!find_open(&f, p, d, &filter, &opts, error)) {
        status = SSE_STORE_UNAVAILABLE;
    }
    else {
        sse_metrics_count(SSE_M_BATCHED_IDS, (apr_uint64_t)typed);
        while (mongoc_cursor_next(f.cursor, &found)) {
            match_found(p, d, &ix, found, docs, each);
        }
        if (!find_close(&f, p, error)) {
            status = SSE_STORE_UNAVAILABLE;
        }
    }
    bson_destroy(&filter);
    bson_destroy(&opts);

    /* An id the batch did not answer is asked alone before it is called
     * gone: the store may have matched its document in a way this side
     * does not tell apart (an id under an array of subdocuments, a
     * collection's default collation folding case). A deleted document
     * costs that one extra find, once: its streams then end. */
    for (i = 0; status == SSE_STORE_FOUND && i < n; i++) {
        if (each[i] == SSE_STORE_NOT_FOUND && typed_ok[i]) {
            each[i] = sse_store_fetch(p, s, d, ids[i], &docs[i], error);
            if (each[i] == SSE_STORE_UNAVAILABLE) status = SSE_STORE_UNAVAILABLE;
        }
    }
    return status;
}

/* Writes go through the same pools and outage hold-off as polls: while the
 * store is known to be down, a PATCH fails at once instead of waiting out
 * serverSelectionTimeoutMS in a worker thread. */
static int array_has_items(const bson_iter_t *it)
{
    bson_iter_t child;
    return BSON_ITER_HOLDS_ARRAY(it) && bson_iter_recurse(it, &child) && bson_iter_next(&child);
}

static mongoc_write_concern_t *write_concern_for(const sse_dir_conf *d)
{
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    int w = sse_conf_write_w(d);
    apr_interval_time_t t = sse_conf_write_timeout(d);

    if (w == SSE_W_MAJORITY) {
        mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
    }
    else {
        mongoc_write_concern_set_w(wc, w);
    }
    mongoc_write_concern_set_wtimeout_int64(wc, (int64_t)apr_time_as_msec(t));
    return wc;
}

sse_store_write_status sse_store_update(apr_pool_t *p, server_rec *s,
                                        const sse_dir_conf *d, const char *id,
                                        const bson_t *condition, const bson_t *update,
                                        const char **error)
{
    store_pools *sp = pools_for(s, error);
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_write_concern_t *wc;
    bson_t filter = BSON_INITIALIZER;
    bson_t opts = BSON_INITIALIZER;
    bson_t reply;
    bson_error_t err;
    bson_iter_t it;
    sse_store_write_status status;
    int probe, ok;

    if (!sp) return SSE_WRITE_UNAVAILABLE;
    if (!d->database || !d->collection) {
        *error = "SSEDatabase/SSECollection not set for this location";
        return SSE_WRITE_UNAVAILABLE;
    }
    if (!sse_query_append_id(&filter, sse_conf_id_field(d), d->id_type, id)) {
        bson_destroy(&filter);
        return SSE_WRITE_NO_MATCH;
    }
    if (!bson_concat(&filter, condition)) {
        bson_destroy(&filter);
        *error = "update filter too large";
        return SSE_WRITE_UNAVAILABLE;
    }
    wc = write_concern_for(d);
    mongoc_write_concern_append(wc, &opts);
    mongoc_write_concern_destroy(wc);

    if (!sse_breaker_admits(&sp->outage, p, &probe, error)) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return SSE_WRITE_UNAVAILABLE;
    }
    client = mongoc_client_pool_pop(sp->polls);
    coll = mongoc_client_get_collection(client, d->database, d->collection);
    ok = mongoc_collection_update_one(coll, &filter, update, &opts, &reply, &err);
    if (bson_iter_init_find(&it, &reply, "writeConcernErrors")
        && array_has_items(&it)) {
        /* The write may be on the primary, but not where SSEWriteConcern asked. */
        *error = ok ? "write concern not satisfied" : apr_pstrdup(p, err.message);
        status = SSE_WRITE_UNCONFIRMED;
        outage_record(sp, probe, NULL);
    }
    else if (!ok) {
        *error = apr_pstrdup(p, err.message);
        status = SSE_WRITE_UNAVAILABLE;
        outage_record(sp, probe, &err);
    }
    else {
        status = bson_iter_init_find(&it, &reply, "matchedCount")
                 && bson_iter_as_int64(&it) > 0 ? SSE_WRITE_DONE : SSE_WRITE_NO_MATCH;
        outage_record(sp, probe, NULL);
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(sp->polls, client);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return status;
}

int sse_store_ping(apr_pool_t *p, server_rec *s, const char **error)
{
    store_pools *sp = pools_for(s, error);
    mongoc_client_t *client;
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t err;
    int ok;

    if (!sp) return 0;
    /* Never queue behind other health checks: a busy pool is an answer. */
    client = mongoc_client_pool_try_pop(sp->health);
    if (!client) {
        *error = "every health-check client is busy";
        return 0;
    }
    BSON_APPEND_INT32(&cmd, "ping", 1);
    sse_metrics_count(SSE_M_STORE_QUERIES, 1);
    ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, NULL, &err);
    mongoc_client_pool_push(sp->health, client);
    bson_destroy(&cmd);
    if (!ok) {
        *error = apr_pstrdup(p, err.message);
        sse_metrics_count(SSE_M_STORE_ERRORS, 1);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Lists (issue 13)                                                    */
/* ------------------------------------------------------------------ */

sse_store_status sse_store_list(apr_pool_t *p, server_rec *s, const sse_dir_conf *d,
                                const bson_t *filter, int ids_only, apr_int64_t limit,
                                apr_array_header_t **docs, const char **error)
{
    store_pools *sp = pools_for(s, error);
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_cursor_t *cursor;
    const bson_t *found;
    bson_t opts = BSON_INITIALIZER;
    bson_error_t err;
    sse_store_status status = SSE_STORE_FOUND;
    int probe;

    *docs = apr_array_make(p, 16, sizeof(sse_store_doc));
    if (!sp) return SSE_STORE_UNAVAILABLE;
    if (!d->database || !d->collection) {
        *error = "SSEDatabase/SSECollection not set for this location";
        return SSE_STORE_UNAVAILABLE;
    }
    sse_query_list_opts(p, &opts, d, ids_only, limit);

    if (!sse_breaker_admits(&sp->outage, p, &probe, error)) {
        bson_destroy(&opts);
        return SSE_STORE_UNAVAILABLE;
    }
    client = mongoc_client_pool_pop(sp->polls);
    coll = mongoc_client_get_collection(client, d->database, d->collection);
    cursor = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
    while (mongoc_cursor_next(cursor, &found)) {
        sse_store_doc *doc = apr_array_push(*docs);
        doc->stored = sse_query_pool_copy(p, found);
        doc->visible = ids_only ? NULL : sse_query_visible_part(p, d, doc->stored);
    }
    if (mongoc_cursor_error(cursor, &err)) {
        *error = apr_pstrdup(p, err.message);
        status = SSE_STORE_UNAVAILABLE;
        outage_record(sp, probe, &err);
    }
    else {
        outage_record(sp, probe, NULL);
    }
    mongoc_cursor_destroy(cursor);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(sp->polls, client);
    bson_destroy(&opts);
    return status;
}
