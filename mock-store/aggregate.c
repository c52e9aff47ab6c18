/* aggregate.c: a deliberately small aggregate: the pipelines drivers build
 * for countDocuments ($match, $skip, $limit, $group {_id: constant, n: {$sum: 1}})
 * plus $sort, $project and $count. Any other stage is refused as mongod does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include "aggregate.h"

#include "cursor.h"
#include "query.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bson_t **docs;
    size_t n;
} doc_list_t;

static void keep_where(doc_list_t *l, bool (*keep)(const bson_t *, const void *), const void *arg)
{
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (keep(l->docs[i], arg))
            l->docs[out++] = l->docs[i];
        else
            bson_destroy(l->docs[i]);
    }
    l->n = out;
}

static bool matches(const bson_t *doc, const void *filter)
{
    return ms_filter_matches(filter, doc);
}

typedef struct {
    bson_t *doc;
    size_t order;
} ranked_t;

static int ranked_compare(const void *a, const void *b, void *sort)
{
    const ranked_t *ra = a, *rb = b;
    int c = ms_sort_compare(sort, ra->doc, rb->doc);
    return c ? c : (ra->order < rb->order ? -1 : ra->order > rb->order);
}

static void sort_list(doc_list_t *l, ms_sort_t *sort)
{
    ranked_t *r = malloc((l->n ? l->n : 1) * sizeof *r);
    for (size_t i = 0; i < l->n; i++)
        r[i] = (ranked_t){l->docs[i], i};
    qsort_r(r, l->n, sizeof *r, ranked_compare, sort);
    for (size_t i = 0; i < l->n; i++)
        l->docs[i] = r[i].doc;
    free(r);
}

static void drop_range(doc_list_t *l, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        bson_destroy(l->docs[i]);
}

/* Replaces the list by one document (or none). */
static void replace_by(doc_list_t *l, bson_t *doc)
{
    drop_range(l, 0, l->n);
    l->n = 0;
    if (doc) {
        l->docs = realloc(l->docs, sizeof *l->docs);
        l->docs[0] = doc;
        l->n = 1;
    }
}

/* {$group: {_id: <constant>, field: {$sum: <number or "$path">}, ...}} */
static bool run_group(doc_list_t *l, bson_iter_t *spec, bson_t *reply)
{
    bson_iter_t it;
    bson_iter_recurse(spec, &it);
    if (!bson_iter_find(&it, "_id")) {
        ms_reply_error(reply, 15955, "a group specification must include an _id");
        return false;
    }
    if (BSON_ITER_HOLDS_DOCUMENT(&it) || (BSON_ITER_HOLDS_UTF8(&it) && bson_iter_utf8(&it, NULL)[0] == '$')) {
        ms_reply_error(reply, 2, "mock-store's $group only supports a constant _id");
        return false;
    }
    if (l->n == 0) {
        replace_by(l, NULL);
        return true;
    }
    bson_t *out = bson_new();
    bson_append_iter(out, "_id", 3, &it);
    bson_iter_recurse(spec, &it);
    while (bson_iter_next(&it)) {
        const char *field = bson_iter_key(&it);
        if (!strcmp(field, "_id"))
            continue;
        bson_iter_t acc;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &acc) ||
            !bson_iter_next(&acc) || strcmp(bson_iter_key(&acc), "$sum") != 0) {
            ms_reply_error(reply, 2, "mock-store's $group only supports {$sum: ...} accumulators");
            bson_destroy(out);
            return false;
        }
        double sum = 0;
        bool integral = true;
        for (size_t i = 0; i < l->n; i++) {
            if (BSON_ITER_HOLDS_NUMBER(&acc)) {
                sum += bson_iter_as_double(&acc);
                integral = integral && !BSON_ITER_HOLDS_DOUBLE(&acc);
            } else if (BSON_ITER_HOLDS_UTF8(&acc) && bson_iter_utf8(&acc, NULL)[0] == '$') {
                bson_iter_t d, v;
                if (bson_iter_init(&d, l->docs[i]) &&
                    bson_iter_find_descendant(&d, bson_iter_utf8(&acc, NULL) + 1, &v) &&
                    BSON_ITER_HOLDS_NUMBER(&v)) {
                    sum += bson_iter_as_double(&v);
                    integral = integral && !BSON_ITER_HOLDS_DOUBLE(&v);
                }
            }
        }
        if (integral && sum >= INT32_MIN && sum <= INT32_MAX)
            bson_append_int32(out, field, -1, (int32_t)sum);
        else if (integral && sum >= -9.2e18 && sum <= 9.2e18)
            bson_append_int64(out, field, -1, (int64_t)sum);
        else
            bson_append_double(out, field, -1, sum);
    }
    replace_by(l, out);
    return true;
}

static bool run_stage(doc_list_t *l, bson_iter_t *stage, bson_t *reply)
{
    bson_iter_t it;
    if (!BSON_ITER_HOLDS_DOCUMENT(stage) || !bson_iter_recurse(stage, &it) || !bson_iter_next(&it)) {
        ms_reply_error(reply, 40323, "A pipeline stage specification object must contain exactly one field.");
        return false;
    }
    const char *name = bson_iter_key(&it);
    bson_error_t err;
    bson_t spec;
    const uint8_t *d;
    uint32_t dl;
    bool is_doc = BSON_ITER_HOLDS_DOCUMENT(&it);
    if (is_doc) {
        bson_iter_document(&it, &dl, &d);
        bson_init_static(&spec, d, dl);
    }
    if (!strcmp(name, "$match") && is_doc) {
        if (!ms_filter_check(&spec, &err)) {
            ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
            return false;
        }
        keep_where(l, matches, &spec);
    } else if (!strcmp(name, "$sort") && is_doc) {
        ms_sort_t sort;
        if (!ms_sort_parse(&spec, &sort, &err)) {
            ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
            return false;
        }
        sort_list(l, &sort);
        ms_sort_free(&sort);
    } else if (!strcmp(name, "$project") && is_doc) {
        ms_projection_t proj;
        if (!ms_projection_parse(&spec, &proj, &err)) {
            ms_reply_error(reply, (int32_t)err.code, "%s", err.message);
            return false;
        }
        for (size_t i = 0; i < l->n; i++) {
            bson_t *p = bson_sized_new(l->docs[i]->len);
            ms_projection_apply(&proj, l->docs[i], p);
            bson_destroy(l->docs[i]);
            l->docs[i] = p;
        }
        ms_projection_free(&proj);
    } else if ((!strcmp(name, "$skip") || !strcmp(name, "$limit")) && BSON_ITER_HOLDS_NUMBER(&it)) {
        int64_t n = bson_iter_as_int64(&it);
        bool skip = name[1] == 's';
        if (n < 0 || (!skip && n == 0)) {
            ms_reply_error(reply, 15956, "%s must be %s", name, skip ? "non-negative" : "positive");
            return false;
        }
        size_t k = (size_t)n < l->n ? (size_t)n : l->n;
        if (skip) {
            drop_range(l, 0, k);
            memmove(l->docs, l->docs + k, (l->n - k) * sizeof *l->docs);
            l->n -= k;
        } else {
            drop_range(l, k, l->n);
            l->n = k;
        }
    } else if (!strcmp(name, "$count") && BSON_ITER_HOLDS_UTF8(&it)) {
        size_t n = l->n;
        bson_t *out = NULL;
        if (n) {
            out = bson_new();
            bson_append_int32(out, bson_iter_utf8(&it, NULL), -1, (int32_t)n);
        }
        replace_by(l, out);
    } else if (!strcmp(name, "$group") && is_doc) {
        return run_group(l, &it, reply);
    } else {
        ms_reply_error(reply, 40324, "Unrecognized pipeline stage name or form: '%s'", name);
        return false;
    }
    return true;
}

void ms_cmd_aggregate(ms_command_t *c, bson_t *reply)
{
    bson_iter_t it, stage;
    if (!bson_iter_init(&it, c->cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        ms_reply_error(reply, 73, "mock-store only aggregates over a collection");
        return;
    }
    const char *coll_name = bson_iter_utf8(&it, NULL);
    if (!bson_iter_init_find(&it, c->cmd, "pipeline") || !BSON_ITER_HOLDS_ARRAY(&it)) {
        ms_reply_error(reply, 14, "'pipeline' option must be specified as an array");
        return;
    }
    bson_iter_recurse(&it, &stage);
    int64_t batch = 101;
    bson_iter_t b;
    if (bson_iter_init(&b, c->cmd) && bson_iter_find_descendant(&b, "cursor.batchSize", &it) &&
        BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_int64(&it) >= 0)
        batch = bson_iter_as_int64(&it);

    ms_collection_t *coll = ms_store_collection(&c->state->store, c->db, coll_name, false);
    doc_list_t l = {0};
    l.docs = malloc(((coll ? coll->count : 0) + 1) * sizeof *l.docs);
    for (ms_doc_t *d = coll ? coll->head : NULL; d; d = d->next)
        l.docs[l.n++] = bson_copy(d->bson);
    while (bson_iter_next(&stage)) {
        if (!run_stage(&l, &stage, reply)) {
            drop_range(&l, 0, l.n);
            free(l.docs);
            return;
        }
    }
    ms_reply_cursor(&c->state->cursors, c->db, coll_name, l.docs, l.n, (size_t)batch, reply);
}
