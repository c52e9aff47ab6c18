/* crud.c: the data commands. Reads collect matching documents (through the
 * _id index when the filter pins _id: {_id: v} or {_id: {$in: [...]}}), sort,
 * skip/limit, project and return a first batch; the rest waits in a cursor.
 * Writes report per-statement errors in writeErrors, as mongod does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r, accept4 */
#endif
#include "crud.h"

#include "cursor.h"
#include "query.h"
#include "reply.h"
#include "update.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_FIRST_BATCH 101

/* ---- argument helpers ------------------------------------------------ */

/* The collection named by the command's first field. */
static const char *collection_arg(ms_command_t *c, bson_t *reply)
{
    bson_iter_t it;
    if (bson_iter_init(&it, c->cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it)) {
        const char *name = bson_iter_utf8(&it, NULL);
        if (name[0])
            return name;
    }
    ms_reply_error(reply, 73, "collection name has invalid type or is empty for '%s'", c->name);
    return NULL;
}

/* Optional document field: a static view into cmd, or an empty document. */
static bool doc_arg(ms_command_t *c, const char *field, bson_t *out, bool *present, bson_t *reply)
{
    bson_iter_t it;
    *present = false;
    bson_init(out);
    if (!bson_iter_init_find(&it, c->cmd, field) || BSON_ITER_HOLDS_NULL(&it))
        return true;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        ms_reply_error(reply, 14, "BSON field '%s.%s' is the wrong type, expected type 'object'",
                       c->name, field);
        return false;
    }
    const uint8_t *d;
    uint32_t dl;
    bson_iter_document(&it, &dl, &d);
    bson_destroy(out);
    bson_init_static(out, d, dl);
    *present = true;
    return true;
}

static bool int_arg(ms_command_t *c, const char *field, int64_t *value, bson_t *reply)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, c->cmd, field))
        return true;
    if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        ms_reply_error(reply, 14, "BSON field '%s.%s' is the wrong type, expected a number",
                       c->name, field);
        return false;
    }
    *value = bson_iter_as_int64(&it);
    return true;
}

static bool bool_arg(ms_command_t *c, const char *field, bool dflt)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, c->cmd, field) ? bson_iter_as_bool(&it) : dflt;
}

/* ---- reading --------------------------------------------------------- */

typedef struct {
    ms_doc_t *doc;
    size_t order; /* natural position, so the sort is stable */
} hit_t;

typedef struct {
    hit_t *items;
    size_t n, cap;
} hits_t;

static void hits_push(hits_t *h, ms_doc_t *doc)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = realloc(h->items, h->cap * sizeof *h->items);
        if (!h->items)
            abort();
    }
    h->items[h->n].doc = doc;
    h->items[h->n].order = h->n;
    h->n++;
}

static int hit_compare(const void *a, const void *b, void *sort)
{
    const hit_t *ha = a, *hb = b;
    int c = ms_sort_compare(sort, ha->doc->bson, hb->doc->bson);
    if (c)
        return c;
    return ha->order < hb->order ? -1 : ha->order > hb->order;
}

static int hit_natural_compare(const void *a, const void *b)
{
    const ms_doc_t *da = ((const hit_t *)a)->doc, *db = ((const hit_t *)b)->doc;
    return da->seq < db->seq ? -1 : da->seq > db->seq;
}

/* Every document of coll matching filter, in natural order; stops at enough
 * when nonzero (no sort to honour). A filter that pins _id ({_id: v} or
 * {_id: {$in: [...]}} beside anything else) is answered from the _id index:
 * its candidates are put back in natural order and repeats dropped, so the
 * result is the scan's, at a cost that follows the ids, not the collection. */
static void collect_matches(ms_collection_t *coll, const bson_t *filter, size_t enough,
                            hits_t *hits)
{
    if (!coll)
        return;
    ms_id_plan_t plan;
    if (!ms_filter_id_plan(filter, &plan)) {
        for (ms_doc_t *d = coll->head; d; d = d->next) {
            if (ms_filter_matches(filter, d->bson)) {
                hits_push(hits, d);
                if (enough && hits->n >= enough)
                    return;
            }
        }
        return;
    }
    for (size_t i = 0; i < plan.nids; i++) {
        ms_doc_t *d = ms_collection_find_id(coll, &plan.ids[i]);
        if (d && ms_filter_matches(&plan.rest, d->bson))
            hits_push(hits, d);
    }
    ms_id_plan_free(&plan);
    if (hits->n > 1) {
        qsort(hits->items, hits->n, sizeof *hits->items, hit_natural_compare);
        size_t out = 1;
        for (size_t i = 1; i < hits->n; i++)
            if (hits->items[i].doc != hits->items[out - 1].doc)
                hits->items[out++] = hits->items[i];
        hits->n = out;
        for (size_t i = 0; i < hits->n; i++)
            hits->items[i].order = i;
    }
    if (enough && hits->n > enough)
        hits->n = enough;
}

void ms_cmd_find(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    if (!coll_name)
        return;
    /* Initialized up front: the argument chain below may stop early. */
    bson_t filter = BSON_INITIALIZER, projection = BSON_INITIALIZER, sort_spec = BSON_INITIALIZER;
    bool has_filter, has_proj, has_sort;
    int64_t limit = 0, skip = 0, batch_size = -1;
    bool ok = doc_arg(c, "filter", &filter, &has_filter, reply) &&
              doc_arg(c, "projection", &projection, &has_proj, reply) &&
              doc_arg(c, "sort", &sort_spec, &has_sort, reply) &&
              int_arg(c, "limit", &limit, reply) && int_arg(c, "skip", &skip, reply) &&
              int_arg(c, "batchSize", &batch_size, reply);
    bool single_batch = bool_arg(c, "singleBatch", false);
    bson_error_t err;
    ms_projection_t proj = {0};
    ms_sort_t sort = {0};
    if (ok && (skip < 0 || (batch_size < 0 && batch_size != -1))) {
        ms_reply_error(reply, 2, "skip and batchSize must not be negative");
        ok = false;
    }
    if (ok && !ms_filter_check(&filter, &err)) {
        ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
        ok = false;
    }
    if (ok && !ms_projection_parse(&projection, &proj, &err)) {
        ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
        ok = false;
    }
    if (ok && !ms_sort_parse(&sort_spec, &sort, &err)) {
        ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
        ok = false;
    }
    if (!ok)
        goto done;

    c->state->opcounters.query++;
    if (limit < 0) { /* legacy: a negative limit means one batch of |limit| */
        limit = limit == INT64_MIN ? INT64_MAX : -limit;
        single_batch = true;
    }
    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, false);
    hits_t hits = {0};
    size_t enough = 0;
    if (!sort.nkeys && limit && limit <= INT64_MAX - skip)
        enough = (size_t)(skip + limit);
    collect_matches(coll, &filter, enough, &hits);
    if (sort.nkeys && hits.n > 1)
        qsort_r(hits.items, hits.n, sizeof *hits.items, hit_compare, &sort);

    size_t from = (size_t)skip < hits.n ? (size_t)skip : hits.n;
    size_t total = hits.n - from;
    if (limit && (size_t)limit < total)
        total = (size_t)limit;
    const bson_t **docs = malloc((total ? total : 1) * sizeof *docs);
    for (size_t i = 0; i < total; i++)
        docs[i] = hits.items[from + i].doc->bson;
    free(hits.items);

    size_t first_max = batch_size >= 0 ? (size_t)batch_size : DEFAULT_FIRST_BATCH;
    if (limit && single_batch)
        first_max = total;
    bson_t cursor, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cursor);
    BSON_APPEND_ARRAY_BEGIN(&cursor, "firstBatch", &arr);
    size_t sent = ms_batch_append(&arr, docs, total, first_max, &proj);
    bson_append_array_end(&cursor, &arr);
    int64_t cursor_id = 0;
    if (sent < total && !single_batch) {
        size_t rest = total - sent;
        bson_t **copies = malloc(rest * sizeof *copies);
        for (size_t i = 0; i < rest; i++) {
            copies[i] = bson_sized_new(docs[sent + i]->len);
            ms_projection_apply(&proj, docs[sent + i], copies[i]);
        }
        cursor_id = ms_cursor_open(&c->state->cursors, c->db, coll_name, copies, rest, 0)->id;
    }
    free(docs);
    BSON_APPEND_INT64(&cursor, "id", cursor_id);
    ms_reply_append_ns(&cursor, c->db, coll_name);
    bson_append_document_end(reply, &cursor);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
done:
    ms_projection_free(&proj);
    ms_sort_free(&sort);
    bson_destroy(&filter);
    bson_destroy(&projection);
    bson_destroy(&sort_spec);
}

void ms_cmd_get_more(ms_command_t *c, bson_t *reply)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, c->cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_INT64(&it)) {
        ms_reply_error(reply, 14, "BSON field 'getMore.getMore' is the wrong type, expected type 'long'");
        return;
    }
    int64_t id = bson_iter_int64(&it);
    const char *coll = NULL;
    if (bson_iter_init_find(&it, c->cmd, "collection") && BSON_ITER_HOLDS_UTF8(&it))
        coll = bson_iter_utf8(&it, NULL);
    int64_t batch_size = 0;
    if (!coll) {
        ms_reply_error(reply, 40414, "BSON field 'getMore.collection' is missing but a required field");
        return;
    }
    if (!int_arg(c, "batchSize", &batch_size, reply))
        return;
    c->state->opcounters.getmore++;
    ms_cursor_t *cur = ms_cursor_find(&c->state->cursors, id);
    if (!cur) {
        ms_reply_error(reply, 43, "cursor id %lld not found", (long long)id);
        return;
    }
    if (strcmp(cur->db, c->db) || strcmp(cur->coll, coll)) {
        ms_reply_error(reply, 13, "Requested getMore on namespace '%s.%s', but cursor belongs to a different namespace %s.%s",
                       c->db, coll, cur->db, cur->coll);
        return;
    }
    bson_t cursor, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cursor);
    BSON_APPEND_ARRAY_BEGIN(&cursor, "nextBatch", &arr);
    ms_cursor_next_batch(cur, batch_size > 0 ? (size_t)batch_size : cur->ndocs, &arr);
    bson_append_array_end(&cursor, &arr);
    int64_t next_id = cur->id;
    if (cur->pos >= cur->ndocs) {
        ms_cursor_close(&c->state->cursors, cur->id);
        next_id = 0;
    }
    BSON_APPEND_INT64(&cursor, "id", next_id);
    ms_reply_append_ns(&cursor, c->db, coll);
    bson_append_document_end(reply, &cursor);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_kill_cursors(ms_command_t *c, bson_t *reply)
{
    if (!collection_arg(c, reply))
        return;
    bson_iter_t it, el;
    if (!bson_iter_init_find(&it, c->cmd, "cursors") || !BSON_ITER_HOLDS_ARRAY(&it)) {
        ms_reply_error(reply, 40414, "BSON field 'killCursors.cursors' is missing but a required field");
        return;
    }
    bson_t killed, not_found, empty;
    bson_init(&killed);
    bson_init(&not_found);
    bson_init(&empty);
    uint32_t nk = 0, nn = 0;
    bson_iter_recurse(&it, &el);
    while (bson_iter_next(&el)) {
        if (!BSON_ITER_HOLDS_NUMBER(&el))
            continue;
        int64_t id = bson_iter_as_int64(&el);
        char keybuf[16];
        const char *key;
        if (ms_cursor_close(&c->state->cursors, id)) {
            bson_uint32_to_string(nk++, &key, keybuf, sizeof keybuf);
            bson_append_int64(&killed, key, -1, id);
        } else {
            bson_uint32_to_string(nn++, &key, keybuf, sizeof keybuf);
            bson_append_int64(&not_found, key, -1, id);
        }
    }
    BSON_APPEND_ARRAY(reply, "cursorsKilled", &killed);
    BSON_APPEND_ARRAY(reply, "cursorsNotFound", &not_found);
    BSON_APPEND_ARRAY(reply, "cursorsAlive", &empty);
    BSON_APPEND_ARRAY(reply, "cursorsUnknown", &empty);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    bson_destroy(&killed);
    bson_destroy(&not_found);
    bson_destroy(&empty);
}

void ms_cmd_count(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    if (!coll_name)
        return;
    bson_t query;
    bool has_query;
    int64_t limit = 0, skip = 0;
    bson_error_t err;
    if (!doc_arg(c, "query", &query, &has_query, reply) || !int_arg(c, "limit", &limit, reply) ||
        !int_arg(c, "skip", &skip, reply)) {
        bson_destroy(&query);
        return;
    }
    if (!ms_filter_check(&query, &err)) {
        ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
        bson_destroy(&query);
        return;
    }
    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, false);
    int64_t n = 0;
    if (coll && !has_query) {
        n = (int64_t)coll->count;
    } else {
        hits_t hits = {0};
        collect_matches(coll, &query, 0, &hits);
        n = (int64_t)hits.n;
        free(hits.items);
    }
    if (skip > 0)
        n = n > skip ? n - skip : 0;
    if (limit < 0)
        limit = limit == INT64_MIN ? INT64_MAX : -limit;
    if (limit > 0 && n > limit)
        n = limit;
    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    bson_destroy(&query);
}

/* ---- writing --------------------------------------------------------- */

typedef struct {
    bson_t errors;
    uint32_t n;
} write_errors_t;

static void write_error(write_errors_t *we, uint32_t index, int32_t code, const char *msg,
                        const bson_value_t *dup_id)
{
    char keybuf[16];
    const char *key;
    bson_uint32_to_string(we->n++, &key, keybuf, sizeof keybuf);
    bson_t e;
    bson_append_document_begin(&we->errors, key, -1, &e);
    BSON_APPEND_INT32(&e, "index", (int32_t)index);
    BSON_APPEND_INT32(&e, "code", code);
    if (dup_id) {
        bson_t kp, kv;
        BSON_APPEND_DOCUMENT_BEGIN(&e, "keyPattern", &kp);
        BSON_APPEND_INT32(&kp, "_id", 1);
        bson_append_document_end(&e, &kp);
        BSON_APPEND_DOCUMENT_BEGIN(&e, "keyValue", &kv);
        bson_append_value(&kv, "_id", 3, dup_id);
        bson_append_document_end(&e, &kv);
    }
    BSON_APPEND_UTF8(&e, "errmsg", msg);
    bson_append_document_end(&we->errors, &e);
}

static void duplicate_key_error(write_errors_t *we, uint32_t index, const char *db,
                                const char *coll, const bson_value_t *id)
{
    bson_t key;
    bson_init(&key);
    bson_append_value(&key, "_id", 3, id);
    char *json = bson_as_relaxed_extended_json(&key, NULL);
    char *msg = bson_strdup_printf(
        "E11000 duplicate key error collection: %s.%s index: _id_ dup key: %s", db, coll, json);
    write_error(we, index, 11000, msg, id);
    bson_free(msg);
    bson_free(json);
    bson_destroy(&key);
}

static void finish_write(bson_t *reply, write_errors_t *we)
{
    if (we->n)
        BSON_APPEND_ARRAY(reply, "writeErrors", &we->errors);
    bson_destroy(&we->errors);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

/* The array of statement documents under field (documents/updates/deletes). */
static bool statements_arg(ms_command_t *c, const char *field, bson_iter_t *it, bson_t *reply)
{
    bson_iter_t arr;
    if (!bson_iter_init_find(&arr, c->cmd, field) || !BSON_ITER_HOLDS_ARRAY(&arr)) {
        ms_reply_error(reply, 40414, "BSON field '%s.%s' is missing but a required field",
                       c->name, field);
        return false;
    }
    bson_iter_recurse(&arr, it);
    return true;
}

static bool statement_doc(bson_iter_t *el, bson_t *out)
{
    const uint8_t *d;
    uint32_t dl;
    if (!BSON_ITER_HOLDS_DOCUMENT(el))
        return false;
    bson_iter_document(el, &dl, &d);
    return bson_init_static(out, d, dl);
}

static bool sub_doc(const bson_t *stmt, const char *field, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, stmt, field))
        return false;
    return statement_doc(&it, out);
}

static bool sub_bool(const bson_t *stmt, const char *field)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, stmt, field) && bson_iter_as_bool(&it);
}

void ms_cmd_insert(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    bson_iter_t el;
    if (!coll_name || !statements_arg(c, "documents", &el, reply))
        return;
    bool ordered = bool_arg(c, "ordered", true);
    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, true);
    write_errors_t we = {.n = 0};
    bson_init(&we.errors);
    uint32_t index = 0, n = 0;
    for (; bson_iter_next(&el); index++) {
        bson_t doc;
        c->state->opcounters.insert++;
        if (!statement_doc(&el, &doc)) {
            write_error(&we, index, 14, "document to insert must be an object", NULL);
        } else {
            bson_t *stored = ms_doc_with_id_first(&doc);
            bson_iter_t id_it;
            bson_iter_init(&id_it, stored);
            bson_iter_next(&id_it);
            const bson_value_t *id = bson_iter_value(&id_it);
            if (!ms_id_storable(id)) {
                write_error(&we, index, 53, "The '_id' value cannot be of type array, regex or undefined", NULL);
                bson_destroy(stored);
            } else if (ms_collection_find_id(coll, id)) {
                duplicate_key_error(&we, index, c->db, coll_name, id);
                bson_destroy(stored);
            } else {
                ms_collection_insert(coll, stored);
                n++;
                continue;
            }
        }
        if (ordered)
            break;
    }
    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    finish_write(reply, &we);
}

/* One update statement: updates the matches (first one unless multi), or
 * upserts. Returns false when it produced a write error. */
static bool update_one_statement(ms_command_t *c, ms_collection_t **coll, const char *coll_name,
                                 const bson_t *stmt, uint32_t index, write_errors_t *we,
                                 int64_t *n, int64_t *modified, bson_t *upserted,
                                 uint32_t *nupserted)
{
    bson_t q, u;
    bson_error_t err;
    bson_iter_t it;
    if (!sub_doc(stmt, "q", &q)) {
        write_error(we, index, 9, "update statement needs a 'q' document", NULL);
        return false;
    }
    if (bson_iter_init_find(&it, stmt, "u") && BSON_ITER_HOLDS_ARRAY(&it)) {
        write_error(we, index, 2, "pipeline-style updates are not supported by mock-store", NULL);
        return false;
    }
    if (!sub_doc(stmt, "u", &u)) {
        write_error(we, index, 9, "update statement needs a 'u' document", NULL);
        return false;
    }
    bool multi = sub_bool(stmt, "multi"), upsert = sub_bool(stmt, "upsert");
    if (!ms_filter_check(&q, &err) || !ms_update_check(&u, &err)) {
        write_error(we, index, (int32_t)err.code, err.message, NULL);
        return false;
    }
    if (multi && !ms_update_is_operator(&u)) {
        write_error(we, index, 9, "multi update is not supported for replacement-style update", NULL);
        return false;
    }

    hits_t hits = {0};
    int64_t matched = 0;
    bool ok = true;
    if (*coll) {
        /* Find the targets first, then write, so a rewritten document is never
         * visited twice. */
        collect_matches(*coll, &q, multi ? 0 : 1, &hits);
        for (size_t i = 0; i < hits.n; i++) {
            ms_doc_t *d = hits.items[i].doc;
            bson_t *next = ms_update_apply(d->bson, &u, &err);
            if (!next) {
                write_error(we, index, (int32_t)err.code, err.message, NULL);
                ok = false;
                break;
            }
            matched++;
            if (next->len == d->bson->len &&
                !memcmp(bson_get_data(next), bson_get_data(d->bson), next->len)) {
                bson_destroy(next);
            } else {
                ms_collection_replace(*coll, d, next);
                (*modified)++;
            }
        }
    }
    free(hits.items);
    *n += matched;
    if (!ok || matched || !upsert)
        return ok;

    bson_t *doc = ms_update_upsert_doc(&q, &u, &err);
    if (!doc) {
        write_error(we, index, (int32_t)err.code, err.message, NULL);
        return false;
    }
    if (!*coll)
        *coll = ms_store_collection(&c->state->store, c->db, coll_name, true);
    bson_iter_init(&it, doc);
    bson_iter_next(&it);
    bson_value_t id;
    bson_value_copy(bson_iter_value(&it), &id);
    if (!ms_id_storable(&id)) {
        write_error(we, index, 53, "The '_id' value cannot be of type array, regex or undefined", NULL);
        bson_destroy(doc);
        bson_value_destroy(&id);
        return false;
    }
    if (ms_collection_find_id(*coll, &id)) {
        duplicate_key_error(we, index, c->db, coll_name, &id);
        bson_destroy(doc);
        bson_value_destroy(&id);
        return false;
    }
    ms_collection_insert(*coll, doc);
    char keybuf[16];
    const char *key;
    bson_uint32_to_string((*nupserted)++, &key, keybuf, sizeof keybuf);
    bson_t entry;
    bson_append_document_begin(upserted, key, -1, &entry);
    BSON_APPEND_INT32(&entry, "index", (int32_t)index);
    bson_append_value(&entry, "_id", 3, &id);
    bson_append_document_end(upserted, &entry);
    bson_value_destroy(&id);
    (*n)++;
    return true;
}

void ms_cmd_update(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    bson_iter_t el;
    if (!coll_name || !statements_arg(c, "updates", &el, reply))
        return;
    bool ordered = bool_arg(c, "ordered", true);
    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, false);
    write_errors_t we = {.n = 0};
    bson_init(&we.errors);
    bson_t upserted;
    bson_init(&upserted);
    uint32_t nupserted = 0;
    int64_t n = 0, modified = 0;
    for (uint32_t index = 0; bson_iter_next(&el); index++) {
        bson_t stmt;
        c->state->opcounters.update++;
        bool ok;
        if (!statement_doc(&el, &stmt)) {
            write_error(&we, index, 14, "update statement must be an object", NULL);
            ok = false;
        } else {
            ok = update_one_statement(c, &coll, coll_name, &stmt, index, &we, &n, &modified,
                                      &upserted, &nupserted);
        }
        if (!ok && ordered)
            break;
    }
    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    BSON_APPEND_INT32(reply, "nModified", (int32_t)modified);
    if (nupserted)
        BSON_APPEND_ARRAY(reply, "upserted", &upserted);
    bson_destroy(&upserted);
    finish_write(reply, &we);
}

void ms_cmd_delete(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    bson_iter_t el;
    if (!coll_name || !statements_arg(c, "deletes", &el, reply))
        return;
    bool ordered = bool_arg(c, "ordered", true);
    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, false);
    write_errors_t we = {.n = 0};
    bson_init(&we.errors);
    int64_t n = 0;
    for (uint32_t index = 0; bson_iter_next(&el); index++) {
        bson_t stmt, q;
        bson_error_t err;
        bson_iter_t lim;
        c->state->opcounters.delete_++;
        if (!statement_doc(&el, &stmt) || !sub_doc(&stmt, "q", &q)) {
            write_error(&we, index, 9, "delete statement needs a 'q' document", NULL);
            if (ordered)
                break;
            continue;
        }
        if (!ms_filter_check(&q, &err)) {
            write_error(&we, index, (int32_t)err.code, err.message, NULL);
            if (ordered)
                break;
            continue;
        }
        bool just_one = bson_iter_init_find(&lim, &stmt, "limit") && bson_iter_as_int64(&lim) == 1;
        if (!coll)
            continue;
        /* Collected first, so removing never disturbs the walk. */
        hits_t hits = {0};
        collect_matches(coll, &q, just_one ? 1 : 0, &hits);
        for (size_t i = 0; i < hits.n; i++)
            ms_collection_remove(coll, hits.items[i].doc);
        n += (int64_t)hits.n;
        free(hits.items);
    }
    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    finish_write(reply, &we);
}

/* ---- collections ----------------------------------------------------- */

void ms_cmd_drop(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    if (!coll_name)
        return;
    /* Dropping a missing collection succeeds, as on mongod 7. */
    if (ms_store_drop(&c->state->store, c->db, coll_name))
        BSON_APPEND_INT32(reply, "nIndexesWas", 1);
    ms_cursors_close_on(&c->state->cursors, c->db, coll_name);
    ms_reply_append_ns(reply, c->db, coll_name);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_drop_database(ms_command_t *c, bson_t *reply)
{
    ms_store_drop_database(&c->state->store, c->db);
    ms_cursors_close_on(&c->state->cursors, c->db, NULL);
    BSON_APPEND_UTF8(reply, "dropped", c->db);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_create(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    if (!coll_name)
        return;
    if (ms_store_collection(&c->state->store, c->db, coll_name, false)) {
        ms_reply_error(reply, 48, "Collection %s.%s already exists.", c->db, coll_name);
        return;
    }
    ms_store_collection(&c->state->store, c->db, coll_name, true);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_create_indexes(ms_command_t *c, bson_t *reply)
{
    const char *coll_name = collection_arg(c, reply);
    if (!coll_name)
        return;
    bool created = !ms_store_collection(&c->state->store, c->db, coll_name, false);
    ms_store_collection(&c->state->store, c->db, coll_name, true);
    bson_iter_t it, el;
    int32_t n = 0;
    if (bson_iter_init_find(&it, c->cmd, "indexes") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &el))
        while (bson_iter_next(&el))
            n++;
    /* Accepted and ignored: only the _id index exists. */
    BSON_APPEND_BOOL(reply, "createdCollectionAutomatically", created);
    BSON_APPEND_INT32(reply, "numIndexesBefore", 1);
    BSON_APPEND_INT32(reply, "numIndexesAfter", 1 + n);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_list_collections(ms_command_t *c, bson_t *reply)
{
    bson_t cursor, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cursor);
    BSON_APPEND_INT64(&cursor, "id", 0);
    ms_reply_append_ns(&cursor, c->db, "$cmd.listCollections");
    BSON_APPEND_ARRAY_BEGIN(&cursor, "firstBatch", &arr);
    uint32_t i = 0;
    for (ms_collection_t *coll = c->state->store.collections; coll; coll = coll->next) {
        if (strcmp(coll->db, c->db) != 0)
            continue;
        char keybuf[16];
        const char *key;
        bson_uint32_to_string(i++, &key, keybuf, sizeof keybuf);
        bson_t entry, opts;
        bson_append_document_begin(&arr, key, -1, &entry);
        BSON_APPEND_UTF8(&entry, "name", coll->name);
        BSON_APPEND_UTF8(&entry, "type", "collection");
        BSON_APPEND_DOCUMENT_BEGIN(&entry, "options", &opts);
        bson_append_document_end(&entry, &opts);
        bson_append_document_end(&arr, &entry);
    }
    bson_append_array_end(&cursor, &arr);
    bson_append_document_end(reply, &cursor);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_list_databases(ms_command_t *c, bson_t *reply)
{
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "databases", &arr);
    uint32_t i = 0;
    for (ms_collection_t *coll = c->state->store.collections; coll; coll = coll->next) {
        bool seen = false;
        for (ms_collection_t *o = c->state->store.collections; o != coll && !seen; o = o->next)
            seen = !strcmp(o->db, coll->db);
        if (seen)
            continue;
        char keybuf[16];
        const char *key;
        bson_uint32_to_string(i++, &key, keybuf, sizeof keybuf);
        bson_t entry;
        bson_append_document_begin(&arr, key, -1, &entry);
        BSON_APPEND_UTF8(&entry, "name", coll->db);
        BSON_APPEND_INT64(&entry, "sizeOnDisk", 0);
        BSON_APPEND_BOOL(&entry, "empty", false);
        bson_append_document_end(&arr, &entry);
    }
    bson_append_array_end(reply, &arr);
    BSON_APPEND_INT64(reply, "totalSize", 0);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}
