/* cursor.h: the cursors find and aggregate leave open for getMore: each holds
 * the documents still to send (already projected copies), in order. Also the
 * batch builder both first and next batches use, so the 16 MB cap and the
 * batch size are honoured in one place. */
#ifndef MS_CURSOR_H
#define MS_CURSOR_H

#include "query.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_cursor {
    int64_t id;
    char *db;
    char *coll;
    bson_t **docs; /* owned; those before pos are already sent and freed */
    size_t ndocs, pos;
    int64_t last_used_ms; /* monotonic */
    struct ms_cursor *next;
} ms_cursor_t;

typedef struct {
    ms_cursor_t *head;
    int64_t next_id;
} ms_cursors_t;

void ms_cursors_init(ms_cursors_t *cs);
void ms_cursors_free_all(ms_cursors_t *cs);

/* Frees the cursors idle for 10 minutes, as mongod's cursor timeout does. */
void ms_cursors_expire(ms_cursors_t *cs, int64_t now_ms);

/* Closes every cursor on db.coll (every one on db when coll is NULL). */
void ms_cursors_close_on(ms_cursors_t *cs, const char *db, const char *coll);

/* A new cursor over docs[pos..ndocs), taking ownership of docs (the array
 * and the documents from pos on). */
ms_cursor_t *ms_cursor_open(ms_cursors_t *cs, const char *db, const char *coll, bson_t **docs,
                            size_t ndocs, size_t pos);
ms_cursor_t *ms_cursor_find(ms_cursors_t *cs, int64_t id);
bool ms_cursor_close(ms_cursors_t *cs, int64_t id);

/* Appends docs[0..] to array arr, at most max documents and 16 MB (always at
 * least one); project is applied when not NULL. Returns how many it appended. */
size_t ms_batch_append(bson_t *arr, const bson_t *const *docs, size_t ndocs, size_t max,
                       const ms_projection_t *project);

/* Appends cur's next batch (at most max) to arr and frees what it sent. */
size_t ms_cursor_next_batch(ms_cursor_t *cur, size_t max, bson_t *arr);

/* Replies {cursor: {firstBatch, id, ns}, ok: 1} with docs, taking ownership
 * of them and of the array; what does not fit in first_batch documents stays
 * in a cursor for getMore. */
void ms_reply_cursor(ms_cursors_t *cs, const char *db, const char *coll, bson_t **docs, size_t n,
                     size_t first_batch, bson_t *reply);

#endif
