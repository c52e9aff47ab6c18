/* simulate.c: moves demo meetings one stage forward per tick, so `make run`
 * shows live status changes without anything writing to the store; the
 * --loop meeting starts over once ready, so the demo never goes still. The
 * step is an ordinary $set update, applied through update.c. */
#include "simulate.h"

#include "update.h"

#include <string.h>

static const struct {
    const char *status;
    const char *next;
    int32_t progress; /* the next stage's progress, at least */
} stages[] = {
    {"uploaded", "transcribing", 30},
    {"transcribing", "summarizing", 70},
    {"summarizing", "ready", 100},
};

static bson_t *set_stage(const bson_t *doc, const char *status, int32_t progress, int64_t now_ms)
{
    bson_t u, set;
    bson_init(&u);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", status);
    BSON_APPEND_INT32(&set, "progress", progress);
    BSON_APPEND_DATE_TIME(&set, "updatedAt", now_ms);
    bson_append_document_end(&u, &set);
    bson_error_t err;
    bson_t *out = ms_update_apply(doc, &u, &err);
    bson_destroy(&u);
    return out;
}

bson_t *ms_simulate_advance(const bson_t *doc, bool loop, int64_t now_ms)
{
    bson_iter_t it;
    const char *status = NULL;
    if (bson_iter_init_find(&it, doc, "status") && BSON_ITER_HOLDS_UTF8(&it))
        status = bson_iter_utf8(&it, NULL);
    if (status && !strcmp(status, "ready"))
        return loop ? set_stage(doc, "uploaded", 0, now_ms) : NULL;
    /* An unknown or missing status counts as just uploaded. */
    size_t stage = 0;
    for (size_t i = 0; status && i < sizeof stages / sizeof stages[0]; i++)
        if (!strcmp(stages[i].status, status))
            stage = i;
    int32_t progress = 0;
    if (bson_iter_init_find(&it, doc, "progress") && BSON_ITER_HOLDS_NUMBER(&it))
        progress = (int32_t)bson_iter_as_int64(&it);
    int32_t next_progress = stages[stage].progress;
    if (progress >= next_progress && next_progress < 100)
        next_progress = progress >= 98 ? 99 : progress + 1; /* progress only grows */
    return set_stage(doc, stages[stage].next, next_progress, now_ms);
}

static bool has_string_id(const bson_t *doc, const char *id)
{
    bson_iter_t it;
    return id && bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
           !strcmp(bson_iter_utf8(&it, NULL), id);
}

size_t ms_simulate_tick(ms_store_t *store, const char *db, const char *coll_name, const char *loop_id,
                        int64_t now_ms)
{
    ms_collection_t *coll = ms_store_collection(store, db, coll_name, false);
    size_t changed = 0;
    for (ms_doc_t *d = coll ? coll->head : NULL; d; d = d->next) {
        bson_t *next = ms_simulate_advance(d->bson, has_string_id(d->bson, loop_id), now_ms);
        if (next) {
            ms_collection_replace(coll, d, next);
            changed++;
        }
    }
    return changed;
}
