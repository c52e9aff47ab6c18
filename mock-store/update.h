/* update.h: the write side of the query language: applying an update
 * document ($set, $unset, $inc, $min, $max, $currentDate, $setOnInsert, or
 * a replacement) and building the document an upsert inserts. */
#ifndef MS_UPDATE_H
#define MS_UPDATE_H

#include <bson/bson.h>
#include <stdbool.h>

/* True when u is an operator update (its first key starts with '$'). */
bool ms_update_is_operator(const bson_t *u);

/* Checks u once; err->code carries mongod's code on failure. */
bool ms_update_check(const bson_t *u, bson_error_t *err);

/* The updated copy of doc (heap, _id first), or NULL with err set.
 * Changing _id is refused with ImmutableField (66). */
bson_t *ms_update_apply(const bson_t *doc, const bson_t *u, bson_error_t *err);

/* The document an upsert inserts when q matched nothing: q's equality
 * fields, then u applied (with $setOnInsert), _id first. */
bson_t *ms_update_upsert_doc(const bson_t *q, const bson_t *u, bson_error_t *err);

#endif
