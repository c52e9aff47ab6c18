/* simulate.h: the demo's status progression (--simulate DB.COLL:SECONDS):
 * uploaded → transcribing → summarizing → ready, with progress and updatedAt;
 * the --loop document then starts over at uploaded. */
#ifndef MS_SIMULATE_H
#define MS_SIMULATE_H

#include "store.h"

#include <bson/bson.h>

/* The next state of one meeting document, or NULL when it is already
 * ready and not `loop` (then it starts over at uploaded). updatedAt becomes
 * now_ms (a BSON date). */
bson_t *ms_simulate_advance(const bson_t *doc, bool loop, int64_t now_ms);

/* Advances every document of db.coll that is not ready, and the one whose
 * string _id is loop_id (may be NULL) even when it is; returns how many. */
size_t ms_simulate_tick(ms_store_t *store, const char *db, const char *coll, const char *loop_id,
                        int64_t now_ms);

#endif
