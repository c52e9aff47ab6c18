/* sse_store.h: the document store as the stream and REST see it: fetch one
 * document by id, or ping. The stream code does not know it is MongoDB;
 * sse_store.c is the only file that talks to libmongoc.
 */
#ifndef SSE_STORE_H
#define SSE_STORE_H

#include "httpd.h"
#include <bson/bson.h>

#include "sse_config.h"

typedef enum {
    SSE_STORE_FOUND,
    SSE_STORE_NOT_FOUND,
    SSE_STORE_UNAVAILABLE
} sse_store_status;

typedef struct {
    bson_t *stored;      /* as stored, with the owner and version fields */
    bson_t *visible;     /* what clients may see (SSEFields), same as stored without it */
} sse_store_doc;

/* Creates this child's client pools (one per distinct SSEMongoURI) and routes
 * libmongoc's log into the error log. Everything is released with pchild. */
void sse_store_child_init(apr_pool_t *pchild, server_rec *s);

/* Fetches the document whose SSEIdField equals `id` (typed per SSEIdType;
 * never parsed as JSON or an operator). The documents live as long as p.
 * On SSE_STORE_UNAVAILABLE, *error says why. */
sse_store_status sse_store_fetch(apr_pool_t *p, server_rec *s,
                                 const sse_dir_conf *d, const char *id,
                                 sse_store_doc *doc, const char **error);

/* One find of the documents whose SSEIdField is any of ids[0..n-1]
 * ({field: {$in: [...]}}, each id typed as sse_store_fetch types it):
 * each[i] and docs[i] say what became of ids[i] (FOUND with the document,
 * or NOT_FOUND). On SSE_STORE_UNAVAILABLE the whole read failed and *error
 * says why. A document is matched back to its id as MongoDB matched it:
 * the field's value, or any element of an array value; an id the batch
 * did not answer is asked alone before it is NOT_FOUND. */
sse_store_status sse_store_fetch_many(apr_pool_t *p, server_rec *s,
                                      const sse_dir_conf *d, const char *const *ids, int n,
                                      sse_store_doc *docs, sse_store_status *each,
                                      const char **error);

typedef enum {
    SSE_WRITE_DONE,           /* matched, applied and confirmed by the write concern */
    SSE_WRITE_NO_MATCH,       /* no document matched the whole filter: nothing written */
    SSE_WRITE_UNCONFIRMED,    /* applied where it landed, but the write concern failed */
    SSE_WRITE_UNAVAILABLE     /* the store could not be asked, or refused the write */
} sse_store_write_status;

/* One conditional update_one of the document whose SSEIdField equals `id`
 * (typed exactly as sse_store_fetch types it) and that also matches every
 * field of `condition`, with SSEWriteConcern / SSEWriteTimeout. On anything
 * but SSE_WRITE_DONE and SSE_WRITE_NO_MATCH, *error says why. */
sse_store_write_status sse_store_update(apr_pool_t *p, server_rec *s,
                                        const sse_dir_conf *d, const char *id,
                                        const bson_t *condition, const bson_t *update,
                                        const char **error);

/* Lists the documents matching `filter` (built by the caller from parsed
 * values only), newest SSEVersionField first and then by _id (without a
 * version field, _id descending), at most `limit`. With `ids_only` only _id,
 * the version and the owner field come back and `visible` is NULL. *docs
 * holds sse_store_doc; an empty list is SSE_STORE_FOUND. */
sse_store_status sse_store_list(apr_pool_t *p, server_rec *s, const sse_dir_conf *d,
                                const bson_t *filter, int ids_only, apr_int64_t limit,
                                apr_array_header_t **docs, const char **error);

/* One `ping`, bounded to about a second. */
int sse_store_ping(apr_pool_t *p, server_rec *s, const char **error);

#endif
