/* sse_share.h: shared, batched document reads for one child (issue 17).
 *
 * Streams that watch the same document under the same settings (the
 * caller's `key`: store, collection, id field and type, projection,
 * interval, batch) subscribe to one entry. Each entry is read at most about
 * once per interval, and reads that fall due together go out as one batch
 * of up to `batch` ids through the caller's fetch function. What is shared
 * is a read, not stream state: each stream still checks its owner and
 * compares versions itself, and a read older than one interval, or older
 * than the stream's own first read, is never handed to it.
 *
 * Pure (APR, libbson and sse_heap; no httpd, no libmongoc), so unit tests
 * drive it with a fake fetch. All of it is thread-safe.
 */
#ifndef SSE_SHARE_H
#define SSE_SHARE_H

#include <bson/bson.h>

#include "apr_pools.h"
#include "apr_time.h"

typedef struct sse_share sse_share;
typedef struct sse_share_sub sse_share_sub;
typedef struct sse_share_result sse_share_result;

/* One read of one document, as subscribers see it. `status` is the
 * caller's (sse_store_status); `stored` and `visible` are set when the
 * document was found, `version` and `json` when the fetch rendered them,
 * `why` when the store could not be asked. */
typedef struct {
    int status;
    const bson_t *stored;
    const bson_t *visible;
    const char *version;
    const char *json;
    const char *why;
    apr_time_t asked_at;            /* when the read that made it was sent */
} sse_share_read;

/* The status of a read the fetch function left out (or could not make). */
#define SSE_SHARE_NO_RESULT (-1)

/* Reads ids[0..n-1] (n >= 1, all of one key) as one batch, for the
 * subscriber `sub` whose poll asked (its caller's context is `ctx`), and
 * sets results[i] for each id with sse_share_result_make(); a NULL left in
 * results[i] reads as SSE_SHARE_NO_RESULT. `scratch` goes afterwards. */
typedef void (*sse_share_fetch_fn)(void *ctx, apr_pool_t *scratch,
                                   const char *const *ids, int n,
                                   sse_share_result **results);

/* A result for a fetch function to hand back: copies everything given
 * (NULLs stay NULL) into one malloc'ed block. NULL when out of memory. */
sse_share_result *sse_share_result_make(int status, const bson_t *stored,
                                        const bson_t *visible, const char *version,
                                        const char *json, const char *why);

/* This child's table, freed with p. */
apr_status_t sse_share_create(sse_share **share, apr_pool_t *p);

/* Subscribes a stream whose own read of `id` just ended, until p is
 * cleared or destroyed. *next_poll: when the stream should next ask for a
 * read: the entry's next read, or `first_due` for a document no one else in
 * this child watches. NULL when out of memory (the stream then polls on its
 * own). */
sse_share_sub *sse_share_join(sse_share *share, apr_pool_t *p, const char *key,
                              const char *id, apr_interval_time_t interval,
                              apr_time_t first_due, apr_time_t *next_poll);

/* The stream's poll is due at `now`: the entry's newest read when it is
 * newer than the last one this stream used and not older than one
 * interval; else this thread reads it, with up to `batch` - 1 other
 * entries of the key that fall due within the look-ahead, through `fetch`
 * (or waits for the read already under way). The read stays valid until
 * `tick` is cleared; NULL when memory ran out. *next_poll: when the entry
 * is read next. */
const sse_share_read *sse_share_poll(sse_share_sub *sub, apr_pool_t *tick, apr_time_t now,
                                     int batch, sse_share_fetch_fn fetch, void *ctx,
                                     apr_time_t *next_poll);

/* A stream that cannot take a read now (its client is behind) lets go of
 * the one kept for it, so a stalled stream keeps no copy of its document
 * beyond the event in flight; once it catches up, its next poll asks for a
 * read newer than that. */
void sse_share_pass(sse_share_sub *sub);

/* What a child's table holds now (the unit tests read it). */
typedef struct {
    apr_uint64_t entries;           /* documents watched */
    apr_uint64_t subscribers;       /* streams subscribed */
    apr_uint64_t results;           /* reads kept for subscribers yet to use them */
} sse_share_stats;

void sse_share_get_stats(sse_share *share, sse_share_stats *stats);

#endif
