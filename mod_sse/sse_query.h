/* sse_query.h: the queries mod_sse sends the store, built from parsed values
 * only: the typed id, the projection, the owner condition, the list's sort
 * and projection, and the part of a document clients may see. Pure (libbson
 * and APR, no libmongoc transport, no httpd calls), so unit tests drive it. */
#ifndef SSE_QUERY_H
#define SSE_QUERY_H

#include <bson/bson.h>

#include "apr_pools.h"

#include "sse_config.h"
#include "sse_jwt.h"

/* Appends `field`: the id typed per SSEIdType (`type`, SSE_UNSET = auto: 24
 * hex characters are an ObjectId, anything else a string; int: a decimal
 * int32, or int64 when larger). Returns 0 when the id cannot be of that
 * type, which can only mean "no such document"; nothing is then appended. */
int sse_query_append_id(bson_t *b, const char *field, int type, const char *id);

/* A key that two id values share exactly when an equality match would take
 * one for the other: strings by their bytes, ObjectIds by theirs, and
 * int32, int64 and integral doubles by their number. NULL for any other
 * type (never an id). *len is the key's length (it may hold NUL bytes). */
const char *sse_query_value_key(apr_pool_t *p, const bson_iter_t *value, apr_size_t *len);

/* The same key for an id as sse_query_append_id() types it; NULL when it
 * cannot be of that type. */
const char *sse_query_id_key(apr_pool_t *p, int type, const char *id, apr_size_t *len);

/* The projection of a fetch with SSEFields: those fields plus the owner,
 * version and (when it is not _id) id fields, without overlapping paths (MongoDB 4.4+ refuses
 * {"meta": 1, "meta.ownerId": 1}); d->fields must be set. */
void sse_query_projection(apr_pool_t *p, bson_t *projection, const sse_dir_conf *d);

/* A list query's options: newest SSEVersionField first, _id breaking ties
 * (without a version field, _id descending), `limit`, and the projection:
 * with `ids_only` just _id, the version and the owner field. */
void sse_query_list_opts(apr_pool_t *p, bson_t *opts, const sse_dir_conf *d,
                         int ids_only, apr_int64_t limit);

/* What clients see: the SSEFields (and _id) of `stored`, never the fields
 * fetched only to check the owner or read the version; `stored` itself
 * without SSEFields. Lives as long as p. */
bson_t *sse_query_visible_part(apr_pool_t *p, const sse_dir_conf *d, bson_t *stored);

/* A copy of src that lives as long as p. */
bson_t *sse_query_pool_copy(apr_pool_t *p, const bson_t *src);

/* 1 when the document's `owner_field` equals the claim (or, for an array,
 * holds it), strictly by type: a string with a string byte for byte, an
 * int32 or int64 with an integer claim. A NULL or empty claim, a missing
 * field, an ObjectId or any other type: 0. */
int sse_query_owner_matches(const bson_t *stored, const char *owner_field,
                            const sse_jwt_claim *claim);

/* Appends the owner condition {owner_field: claim}, typed as the claim is.
 * Returns 0 (nothing appended) for a NULL or empty claim, which names
 * nobody. */
int sse_query_append_owner(bson_t *cond, const char *owner_field,
                           const sse_jwt_claim *claim);

#endif
