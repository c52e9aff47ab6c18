/* cursor.c: open cursors as a list owned by the server state (a handful are
 * open at a time, so a list is enough), and batch building (see cursor.h). */
#include "cursor.h"

#include "clock.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BATCH_BYTES (16 * 1024 * 1024)
#define CURSOR_IDLE_MS (10 * 60 * 1000)

void ms_cursors_init(ms_cursors_t *cs)
{
    cs->head = NULL;
    /* Cursor ids only need to be unique and non-zero; start somewhere
     * unpredictable so a stale id from an earlier run is not found. */
    cs->next_id = ((ms_wall_ms() & 0xffffff) << 20) + 1;
}

static void cursor_free(ms_cursor_t *cur)
{
    for (size_t i = cur->pos; i < cur->ndocs; i++)
        bson_destroy(cur->docs[i]);
    free(cur->docs);
    bson_free(cur->db);
    bson_free(cur->coll);
    free(cur);
}

void ms_cursors_free_all(ms_cursors_t *cs)
{
    while (cs->head) {
        ms_cursor_t *next = cs->head->next;
        cursor_free(cs->head);
        cs->head = next;
    }
}

/* Frees every cursor for which drop(cur, ctx) holds. */
static void cursors_drop_if(ms_cursors_t *cs, bool (*drop)(const ms_cursor_t *, const void *),
                            const void *ctx)
{
    ms_cursor_t **pc = &cs->head;
    while (*pc) {
        ms_cursor_t *cur = *pc;
        if (drop(cur, ctx)) {
            *pc = cur->next;
            cursor_free(cur);
        } else {
            pc = &cur->next;
        }
    }
}

static bool idle_too_long(const ms_cursor_t *cur, const void *now_ms)
{
    return *(const int64_t *)now_ms - cur->last_used_ms > CURSOR_IDLE_MS;
}

void ms_cursors_expire(ms_cursors_t *cs, int64_t now_ms)
{
    cursors_drop_if(cs, idle_too_long, &now_ms);
}

typedef struct {
    const char *db, *coll;
} ns_t;

static bool on_namespace(const ms_cursor_t *cur, const void *vns)
{
    const ns_t *ns = vns;
    return !strcmp(cur->db, ns->db) && (!ns->coll || !strcmp(cur->coll, ns->coll));
}

void ms_cursors_close_on(ms_cursors_t *cs, const char *db, const char *coll)
{
    ns_t ns = {db, coll};
    cursors_drop_if(cs, on_namespace, &ns);
}

ms_cursor_t *ms_cursor_open(ms_cursors_t *cs, const char *db, const char *coll, bson_t **docs,
                            size_t ndocs, size_t pos)
{
    ms_cursor_t *cur = calloc(1, sizeof *cur);
    if (!cur)
        abort();
    cur->id = cs->next_id++;
    cur->db = bson_strdup(db);
    cur->coll = bson_strdup(coll);
    cur->docs = docs;
    cur->ndocs = ndocs;
    cur->pos = pos;
    cur->last_used_ms = ms_monotonic_ms();
    cur->next = cs->head;
    cs->head = cur;
    return cur;
}

ms_cursor_t *ms_cursor_find(ms_cursors_t *cs, int64_t id)
{
    ms_cursor_t *cur = cs->head;
    while (cur && cur->id != id)
        cur = cur->next;
    return cur;
}

bool ms_cursor_close(ms_cursors_t *cs, int64_t id)
{
    for (ms_cursor_t **pc = &cs->head; *pc; pc = &(*pc)->next) {
        if ((*pc)->id == id) {
            ms_cursor_t *cur = *pc;
            *pc = cur->next;
            cursor_free(cur);
            return true;
        }
    }
    return false;
}

size_t ms_batch_append(bson_t *arr, const bson_t *const *docs, size_t ndocs, size_t max,
                       const ms_projection_t *project)
{
    size_t bytes = 0, i = 0;
    for (; i < ndocs && i < max; i++) {
        if (i > 0 && bytes + docs[i]->len > MAX_BATCH_BYTES)
            break;
        char keybuf[16];
        const char *key;
        bson_uint32_to_string((uint32_t)i, &key, keybuf, sizeof keybuf);
        if (project) {
            bson_t child;
            bson_append_document_begin(arr, key, -1, &child);
            ms_projection_apply(project, docs[i], &child);
            bson_append_document_end(arr, &child);
        } else {
            bson_append_document(arr, key, -1, docs[i]);
        }
        bytes += docs[i]->len;
    }
    return i;
}

size_t ms_cursor_next_batch(ms_cursor_t *cur, size_t max, bson_t *arr)
{
    size_t sent = ms_batch_append(arr, (const bson_t *const *)cur->docs + cur->pos,
                                  cur->ndocs - cur->pos, max, NULL);
    for (size_t i = 0; i < sent; i++)
        bson_destroy(cur->docs[cur->pos + i]);
    cur->pos += sent;
    cur->last_used_ms = ms_monotonic_ms();
    return sent;
}

void ms_reply_cursor(ms_cursors_t *cs, const char *db, const char *coll, bson_t **docs, size_t n,
                     size_t first_batch, bson_t *reply)
{
    bson_t cursor, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cursor);
    BSON_APPEND_ARRAY_BEGIN(&cursor, "firstBatch", &arr);
    size_t sent = ms_batch_append(&arr, (const bson_t *const *)docs, n, first_batch, NULL);
    bson_append_array_end(&cursor, &arr);
    for (size_t i = 0; i < sent; i++)
        bson_destroy(docs[i]);
    int64_t cursor_id = 0;
    if (sent < n)
        cursor_id = ms_cursor_open(cs, db, coll, docs, n, sent)->id;
    else
        free(docs);
    BSON_APPEND_INT64(&cursor, "id", cursor_id);
    ms_reply_append_ns(&cursor, db, coll);
    bson_append_document_end(reply, &cursor);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}
