/* sse_collection.c: the `sse-collection` list and the `sse-collection-stream`
 * poll: which documents the caller sees (the owner claim, the allow-listed
 * filters, SSEListLimit newest first), and what changed since the last poll.
 *
 * A list stream remembers a 64-byte digest per document (sse_collection_set.c),
 * never the documents. With SSEVersionField a poll asks the store for the
 * ids, versions and owners only, and then for the full documents of what is
 * new or changed; without it every poll must read the documents, whose hash
 * is their version.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "sse_auth.h"
#include "sse_collection.h"
#include "sse_collection_set.h"
#include "sse_config.h"
#include "sse_etag.h"
#include "sse_event.h"
#include "sse_http.h"
#include "sse_json.h"
#include "sse_metrics.h"
#include "sse_query.h"
#include "sse_resolve.h"
#include "sse_store.h"

APLOG_USE_MODULE(sse);

struct sse_collection {
    request_rec *r;
    const sse_dir_conf *d;
    const sse_jwt_claims *claims;
    bson_t *filter;                 /* NULL: the token names nobody, the list is empty */
    sse_set set;                    /* what the client holds */
};

/* One list as the store gave it, each document checked and digested. */
typedef struct {
    sse_store_doc *docs;
    sse_set_entry *entries;
    const char **json;              /* rendered, or NULL when only ids were read */
    int *version_known;
    int n;
    int truncated;
} listing;

static apr_status_t destroy_filter(void *filter)
{
    bson_destroy(filter);
    return APR_SUCCESS;
}

static apr_status_t free_set(void *set)
{
    sse_set_clear(set);
    return APR_SUCCESS;
}

/* The query: the owner (typed as the claim is) and each filter's values,
 * always as strings in $in. Built only from the token and parsed values. */
static bson_t *build_filter(apr_pool_t *p, const sse_dir_conf *d,
                            const sse_jwt_claims *claims,
                            const apr_array_header_t *filters)
{
    bson_t *filter = bson_new(), and, cond, in, values;
    char key[16];
    const char *k;
    int i, j, n = 0;

    apr_pool_cleanup_register(p, filter, destroy_filter, apr_pool_cleanup_null);
    BSON_APPEND_ARRAY_BEGIN(filter, "$and", &and);
    if (d->owner_field) {
        const sse_jwt_claim *claim = sse_jwt_claim_get(claims, sse_conf_owner_claim(d));
        bson_uint32_to_string(n++, &k, key, sizeof(key));
        bson_append_document_begin(&and, k, -1, &cond);
        if (!sse_query_append_owner(&cond, d->owner_field, claim)) {
            /* an empty or missing claim names nobody: no list */
            bson_append_document_end(&and, &cond);
            bson_append_array_end(filter, &and);
            return NULL;
        }
        bson_append_document_end(&and, &cond);
    }
    for (i = 0; i < filters->nelts; i++) {
        const sse_filter *f = &APR_ARRAY_IDX(filters, i, sse_filter);
        bson_uint32_to_string(n++, &k, key, sizeof(key));
        bson_append_document_begin(&and, k, -1, &cond);
        bson_append_document_begin(&cond, f->field, -1, &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &values);
        for (j = 0; j < f->values->nelts; j++) {
            const char *jk;
            char jkey[16];
            bson_uint32_to_string((uint32_t)j, &jk, jkey, sizeof(jkey));
            BSON_APPEND_UTF8(&values, jk, APR_ARRAY_IDX(f->values, j, const char *));
        }
        bson_append_array_end(&in, &values);
        bson_append_document_end(&cond, &in);
        bson_append_document_end(&and, &cond);
    }
    if (n == 0) {
        /* {$and: []} is refused by MongoDB: match everything instead. */
        bson_append_document_begin(&and, "0", -1, &cond);
        bson_append_document_end(&and, &cond);
    }
    bson_append_array_end(filter, &and);
    return filter;
}

static const char *id_json_of(apr_pool_t *p, const bson_t *stored)
{
    bson_iter_t it;

    if (!bson_iter_init_find(&it, stored, "_id")) return NULL;
    return sse_json_render_value(p, &it);
}

/* Reads the list (`limit` + 1, so `truncated` is known, not guessed),
 * keeps the caller's documents, and digests each. */
static sse_store_status read_listing(apr_pool_t *p, sse_collection *c, const bson_t *filter,
                                     int ids_only, long limit, listing *l, const char **why)
{
    apr_array_header_t *docs;
    sse_store_status st;
    int i, n;

    memset(l, 0, sizeof(*l));
    if (!filter) return SSE_STORE_FOUND;
    st = sse_store_list(p, c->r->server, c->d, filter, ids_only, (apr_int64_t)limit + 1,
                        &docs, why);
    if (st != SSE_STORE_FOUND) return st;
    n = docs->nelts;
    l->truncated = n > limit;
    if (n > limit) n = (int)limit;
    l->docs = apr_palloc(p, sizeof(*l->docs) * ((apr_size_t)n + 1));
    l->entries = apr_palloc(p, sizeof(*l->entries) * ((apr_size_t)n + 1));
    l->json = apr_pcalloc(p, sizeof(*l->json) * ((apr_size_t)n + 1));
    l->version_known = apr_pcalloc(p, sizeof(*l->version_known) * ((apr_size_t)n + 1));
    for (i = 0; i < n; i++) {
        sse_store_doc *doc = &APR_ARRAY_IDX(docs, i, sse_store_doc);
        const char *id = id_json_of(p, doc->stored), *version, *json = NULL;

        /* The query named the owner; the typed check has the last word. */
        if (!id || !sse_auth_may_see(c->d, c->claims, doc->stored)) continue;
        if (ids_only) {
            version = sse_version_from_field(p, doc->stored, c->d->version_field);
        }
        else {
            json = sse_json_render(p, doc->visible);
            version = sse_version_of(p, doc->stored, c->d->version_field, json);
        }
        l->docs[l->n] = *doc;
        l->json[l->n] = json;
        l->version_known[l->n] = version != NULL;
        sse_set_entry_make(&l->entries[l->n], id, version ? version : "");
        l->n++;
    }
    return SSE_STORE_FOUND;
}

static const char *items_json(apr_pool_t *p, const listing *l)
{
    apr_array_header_t *parts = apr_array_make(p, l->n * 2 + 3, sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(parts, const char *) = "{\"items\":[";
    for (i = 0; i < l->n; i++) {
        if (i) APR_ARRAY_PUSH(parts, const char *) = ",";
        APR_ARRAY_PUSH(parts, const char *) = l->json[i];
    }
    APR_ARRAY_PUSH(parts, const char *) = l->truncated ? "],\"truncated\":true}"
                                                       : "],\"truncated\":false}";
    return apr_array_pstrcat(p, parts, 0);
}

static void listing_tag(const listing *l, char tag[SSE_SET_TAG_LEN + 1])
{
    apr_uint64_t sum[2] = { 0, 0 };
    int i;

    for (i = 0; i < l->n; i++) {
        sse_set_sum_add(sum, &l->entries[i], 1);
    }
    sse_set_tag(sum, l->n, l->truncated, tag);
}

/* The whole set as one `snapshot`; the client's set becomes it. */
static const char *snapshot_event(apr_pool_t *p, sse_collection *c, const listing *l)
{
    char tag[SSE_SET_TAG_LEN + 1];

    listing_tag(l, tag);
    sse_set_assign(&c->set, l->entries, l->n, l->truncated);
    sse_metrics_event_sent(SSE_EV_SNAPSHOT);
    return sse_event_format(p, "snapshot", tag, items_json(p, l));
}

/* ---- one poll ------------------------------------------------------ */

typedef struct {
    apr_pool_t *p;
    const listing *l;
    apr_array_header_t *events;     /* const char * */
} event_sink;

static void on_removed(void *baton, const sse_set_entry *gone, const char *tag)
{
    event_sink *es = baton;
    sse_metrics_event_sent(SSE_EV_REMOVED);
    APR_ARRAY_PUSH(es->events, const char *) =
        sse_event_format(es->p, "removed", tag, apr_pstrcat(es->p, "{\"_id\":", gone->id, "}", NULL));
}

static void on_changed(void *baton, int index, const sse_set_entry *was, const char *tag)
{
    event_sink *es = baton;
    sse_metrics_event_sent(SSE_EV_STATUS);
    APR_ARRAY_PUSH(es->events, const char *) =
        sse_event_format(es->p, "status", tag, es->l->json[index]);
}

/* With only ids read: fetches the full documents of those that are new,
 * changed or of unknown version, and drops from `l` what is gone by now. */
static sse_store_status complete_listing(apr_pool_t *p, sse_collection *c, listing *l,
                                         const char **why)
{
    bson_t *filter, and, cond, idin, ids;
    int *wanted = apr_pcalloc(p, sizeof(int) * ((apr_size_t)l->n + 1));
    int i, nwanted = 0, kept = 0;
    listing full;
    sse_store_status st;

    for (i = 0; i < l->n; i++) {
        const sse_set_entry *was = sse_set_find(&c->set, l->entries[i].id_hash);
        if (!l->version_known[i] || !was || memcmp(was->elem, l->entries[i].elem,
                                                   sizeof(was->elem))) {
            wanted[i] = 1;
            nwanted++;
        }
    }
    if (!nwanted) return SSE_STORE_FOUND;

    filter = bson_new();
    apr_pool_cleanup_register(p, filter, destroy_filter, apr_pool_cleanup_null);
    BSON_APPEND_ARRAY_BEGIN(filter, "$and", &and);
    bson_append_document(&and, "0", -1, c->filter);
    bson_append_document_begin(&and, "1", -1, &cond);
    bson_append_document_begin(&cond, "_id", -1, &idin);
    BSON_APPEND_ARRAY_BEGIN(&idin, "$in", &ids);
    for (i = 0; i < l->n; i++) {
        bson_iter_t it;
        char key[16];
        const char *k;
        if (!wanted[i] || !bson_iter_init_find(&it, l->docs[i].stored, "_id")) continue;
        bson_uint32_to_string((uint32_t)kept++, &k, key, sizeof(key));
        bson_append_iter(&ids, k, -1, &it);
    }
    bson_append_array_end(&idin, &ids);
    bson_append_document_end(&cond, &idin);
    bson_append_document_end(&and, &cond);
    bson_append_array_end(filter, &and);

    st = read_listing(p, c, filter, 0, nwanted, &full, why);
    if (st != SSE_STORE_FOUND) return st;

    /* Each wanted document takes its full form (and the version read with
     * it); one that is gone or no longer matches leaves the list until the
     * next poll sees it again. */
    kept = 0;
    for (i = 0; i < l->n; i++) {
        if (wanted[i]) {
            int j, found = -1;
            for (j = 0; j < full.n && found < 0; j++) {
                if (full.entries[j].id_hash == l->entries[i].id_hash) found = j;
            }
            if (found < 0) continue;
            l->docs[kept] = full.docs[found];
            l->entries[kept] = full.entries[found];
            l->json[kept] = full.json[found];
            l->version_known[kept] = 1;
        }
        else if (kept != i) {
            l->docs[kept] = l->docs[i];
            l->entries[kept] = l->entries[i];
            l->json[kept] = l->json[i];
            l->version_known[kept] = l->version_known[i];
        }
        kept++;
    }
    l->n = kept;
    return SSE_STORE_FOUND;
}

static int removal_needs_snapshot(const sse_set *old, const listing *l, apr_pool_t *p)
{
    int i, j;

    for (i = 0; i < old->n; i++) {
        int present = 0;
        if (old->entries[i].id[0]) continue;
        /* An id too long to keep cannot be named in `removed`. */
        for (j = 0; j < l->n && !present; j++) {
            present = l->entries[j].id_hash == old->entries[i].id_hash;
        }
        if (!present) return 1;
    }
    return 0;
}

const char *sse_collection_poll(void *c_, apr_pool_t *tick, int resync, const char **why)
{
    sse_collection *c = c_;
    const sse_dir_conf *d = c->d;
    long limit = sse_conf_list_limit(d);
    int ids_only = d->version_field != NULL && !resync;
    event_sink es;
    listing l;

    if (read_listing(tick, c, c->filter, ids_only, limit, &l, why) != SSE_STORE_FOUND) {
        return NULL;
    }
    if (ids_only && complete_listing(tick, c, &l, why) != SSE_STORE_FOUND) {
        return NULL;
    }
    if (resync || removal_needs_snapshot(&c->set, &l, tick)) {
        if (ids_only && read_listing(tick, c, c->filter, 0, limit, &l, why) != SSE_STORE_FOUND) {
            return NULL;
        }
        return snapshot_event(tick, c, &l);
    }
    es.p = tick;
    es.l = &l;
    es.events = apr_array_make(tick, 8, sizeof(const char *));
    {
        sse_set_diff_sink sink = { on_removed, on_changed, &es };
        if (!sse_set_diff(tick, &c->set, l.entries, l.n, l.truncated, &sink)
            && c->set.truncated == l.truncated) {
            return "";
        }
    }
    sse_set_assign(&c->set, l.entries, l.n, l.truncated);
    return apr_array_pstrcat(tick, es.events, 0);
}

/* ---- the handlers ---------------------------------------------------- */

/* sse_resolve (CORS, method, authentication), then the filters. Returns NULL when it has answered the request already. */
static sse_collection *resolve(request_rec *r, const char *methods)
{
    apr_array_header_t *filters;
    sse_collection *c;
    sse_request q;
    const sse_dir_conf *d;
    const char *bad;

    if (!sse_resolve(r, methods, 0, &q)) {
        return NULL;
    }
    d = q.d;
    bad = sse_filter_parse(r->pool, r->args, d->filter_params, d->token_query_param, &filters);
    if (bad) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "mod_sse: list request refused: %s", bad);
        sse_http_json_error(r, HTTP_BAD_REQUEST, "invalid_request", bad);
        return NULL;
    }
    c = apr_pcalloc(r->pool, sizeof(*c));
    c->r = r;
    c->d = d;
    c->claims = q.claims;
    c->filter = build_filter(r->pool, d, q.claims, filters);
    apr_pool_cleanup_register(r->pool, &c->set, free_set, apr_pool_cleanup_null);
    return c;
}

int sse_collection_handler(request_rec *r)
{
    sse_collection *c = resolve(r, "GET, HEAD");
    char tag[SSE_SET_TAG_LEN + 1];
    const char *why = NULL;
    listing l;

    if (!c) return OK;
    if (read_listing(r->pool, c, c->filter, 0, sse_conf_list_limit(c->d), &l, &why)
        != SSE_STORE_FOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: store unavailable for list %s: %s", r->uri, why);
        return sse_http_unavailable(r, sse_conf_poll_interval(c->d), "the store is unavailable");
    }
    listing_tag(&l, tag);
    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", tag, "\"", NULL));
    if (sse_etag_matches(r->pool, apr_table_get(r->headers_in, "If-None-Match"), tag)) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    return sse_http_json(r, HTTP_OK, apr_pstrcat(r->pool, items_json(r->pool, &l), "\n", NULL));
}

int sse_collection_stream_handler(request_rec *r)
{
    sse_collection *c = resolve(r, "GET");
    char tag[SSE_SET_TAG_LEN + 1];
    const char *why = NULL, *last_id, *first;
    apr_pool_t *tick;
    listing l;
    int async;

    if (!c) return OK;
    /* A list stream counts against SSEMaxStreamsPerUser and SSEMaxStreams
     * as a document stream does. */
    if (!sse_stream_reserve(r, c->d, c->claims)) {
        return OK;
    }

    tick = sse_stream_tick_pool(r, &async);
    if (read_listing(tick, c, c->filter, 0, sse_conf_list_limit(c->d), &l, &why)
        != SSE_STORE_FOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: store unavailable, list stream %s refused: %s", r->uri, why);
        return sse_http_unavailable(r, sse_conf_poll_interval(c->d), "the store is unavailable");
    }
    /* The client holds exactly this set already: no snapshot. Any other
     * tag may be any older set, which the stream cannot know (it keeps
     * nothing between connections), so it gets the whole set afresh. */
    listing_tag(&l, tag);
    last_id = sse_event_last_id(apr_table_get(r->headers_in, "Last-Event-ID"));
    if (last_id && !strcmp(last_id, tag)) {
        sse_set_assign(&c->set, l.entries, l.n, l.truncated);
        first = "";
    }
    else {
        first = snapshot_event(tick, c, &l);
    }
    return sse_stream_start_list(r, c->d, c->claims, tick, async, sse_collection_poll, c, first);
}
