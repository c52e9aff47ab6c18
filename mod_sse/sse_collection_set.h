/* sse_collection_set.h: the pure half of a collection stream: the allow-listed
 * filter parameters of a list request, and the set of (id, version) digests a
 * list stream remembers instead of the documents, with its tag.
 *
 * Nothing here knows httpd, BSON or the store: the unit tests drive it.
 */
#ifndef SSE_COLLECTION_SET_H
#define SSE_COLLECTION_SET_H

#include <apr_pools.h>
#include <apr_tables.h>

/* ---- filter parameters --------------------------------------------- */

#define SSE_FILTER_MAX_VALUES 50
#define SSE_FILTER_MAX_VALUE_BYTES 256

/* One SSEFilterParam: ?name=a,b becomes field: {$in: ["a","b"]}. */
typedef struct {
    const char *name;
    const char *field;
} sse_filter_param;

/* One filter parameter the request used, with its decoded values. */
typedef struct {
    const char *field;
    apr_array_header_t *values;     /* const char *, valid UTF-8, non-empty */
} sse_filter;

/* Parses a query string (r->args, may be NULL) against the allowed
 * parameters (sse_filter_param, may be NULL). `token_param` (may be NULL) is
 * the SSETokenQueryParam, allowed and skipped. On success returns NULL and
 * *out holds one sse_filter per parameter used. Otherwise returns why the
 * request is refused: an unknown or repeated parameter, a piece without '=',
 * bad percent-encoding, NUL or another control character, invalid UTF-8, an
 * empty value, a value over SSE_FILTER_MAX_VALUE_BYTES bytes, more than
 * SSE_FILTER_MAX_VALUES values. Values are split on the raw commas first, so
 * "%2C" is a comma inside a value; '+' is a space (form encoding). */
const char *sse_filter_parse(apr_pool_t *p, const char *args,
                             const apr_array_header_t *allowed,
                             const char *token_param,
                             apr_array_header_t **out);

/* ---- the digest set --------------------------------------------------- */

/* What the stream keeps per document: 64 bytes, never the document. */
#define SSE_SET_ID_MAX 40
typedef struct {
    apr_uint64_t id_hash;           /* of the id's JSON text: the lookup key */
    apr_uint64_t elem[2];           /* of (id, version): what the tag sums */
    char id[SSE_SET_ID_MAX];        /* the id's JSON text, "" when too long */
} sse_set_entry;

/* A set of entries sorted by id_hash, malloc()ed (it outlives each tick's
 * pool and is replaced at every poll), with the running tag state. */
typedef struct {
    sse_set_entry *entries;
    int n;
    int truncated;
    apr_uint64_t sum[2];            /* 128-bit sum of every elem */
} sse_set;

#define SSE_SET_TAG_LEN 33          /* "c" and 32 hex digits */

/* Fills an entry for the document whose id renders as `id_json` (e.g.
 * "\"m1\"") at `version`. */
void sse_set_entry_make(sse_set_entry *e, const char *id_json, const char *version);

/* The tag of a set state: "c" + 32 hex digits of SHA-256 over the 128-bit
 * sum of its elements, its count and its truncated flag. The sum makes the
 * tag independent of order and lets one change update it in O(1). */
void sse_set_tag(const apr_uint64_t sum[2], int n, int truncated,
                 char out[SSE_SET_TAG_LEN + 1]);

/* sum += e->elem (sign 1) or sum -= e->elem (sign -1). */
void sse_set_sum_add(apr_uint64_t sum[2], const sse_set_entry *e, int sign);

/* Builds `set` from `n` entries in any order (copied, then sorted by
 * id_hash; a repeated id keeps its first entry). Frees what `set` held.
 * Returns 0 when memory ran out (the set is then empty). */
int sse_set_assign(sse_set *set, const sse_set_entry *entries, int n, int truncated);

/* The entry with this id hash, or NULL. */
const sse_set_entry *sse_set_find(const sse_set *set, apr_uint64_t id_hash);

/* Frees the entries; the set is empty afterwards. */
void sse_set_clear(sse_set *set);

/* What changed from `old` to the `next` entries (poll order, newest first):
 * calls removed() for each old entry whose id is not in next, then changed()
 * for each next entry that is new (was == NULL) or whose version differs.
 * Each call gets the tag of the whole set after that change, the last one
 * the tag of next with `truncated`. Returns the number of calls. */
typedef struct {
    void (*removed)(void *baton, const sse_set_entry *gone, const char *tag);
    void (*changed)(void *baton, int index, const sse_set_entry *was, const char *tag);
    void *baton;
} sse_set_diff_sink;

int sse_set_diff(apr_pool_t *p, const sse_set *old, const sse_set_entry *next, int n,
                 int truncated, const sse_set_diff_sink *sink);

#endif
