/* sse_share.c: one child's table of shared document reads (see
 * sse_share.h).
 *
 * An entry per (key, id) counts its subscribers and keeps its newest read
 * until every subscriber that was there when it came has used it (or left):
 * a read is not kept for streams that have all had it, so a child watching
 * 20,000 documents holds no copy of them between polls. An entry's next read
 * is due one interval after its last was sent; the entries of a key wait in
 * a min-heap on that deadline, from which a read takes the companions that
 * fall due within the look-ahead. Reading early costs nothing in latency
 * (a stream is handed a read when its own tick comes), so entries read
 * together stay together and a key's reads settle into about
 * entries / batch fetches per interval, spread as their first streams came.
 *
 * Lifetimes: the table lives in the child's pool; an entry from its first
 * subscriber until its last leaves and no read of it is under way; a result
 * from its fetch until the entry lets go of it and every tick pool that was
 * handed it is cleared (a reference count). One mutex guards everything but
 * the count; the store is never asked while it is held.
 */
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sse_heap.h"
#include "sse_share.h"

/* The most streams one batch's companions may bring along. Every stream of
 * a batch is handed its read at once, one tick each, so this bounds the
 * burst of ticks behind one read (at ~20 us a tick, 1000 streams are a few
 * tens of milliseconds on two cores), and with it how late the last of
 * them sees a change. An entry with more streams than this alone is read
 * alone. */
#define FANOUT_MAX 1000

struct sse_share_result {
    apr_uint32_t refs;              /* atomic: the entry's, plus one per tick pool */
    sse_share_read read;
};

typedef struct share_group share_group;
typedef struct share_entry share_entry;

/* The entries of one key. Groups live as long as the table: there are as
 * many as distinct settings in the configuration. */
struct share_group {
    char *key;
    apr_interval_time_t interval;
    sse_heap heap;                  /* share_entry.node, on the next read's due */
    unsigned entries;
};

struct share_entry {
    sse_heap_node node;             /* in group->heap unless read or idle */
    share_group *group;
    char *hkey;                     /* key NUL id, malloc'ed: the table's key */
    apr_size_t hklen;
    const char *id;                 /* inside hkey */
    unsigned subs;                  /* streams subscribed */
    unsigned waiting;               /* subscribers yet to use `result` */
    unsigned skip;                  /* joined during the read under way: not theirs */
    apr_uint64_t gen;               /* reads installed so far */
    sse_share_result *result;       /* the newest read while someone waits for it */
    int in_flight;                  /* a read of it is under way */
};

struct sse_share_sub {
    sse_share *share;
    share_entry *e;
    apr_uint64_t seen;              /* the gen of the last read it used (or skips) */
};

struct sse_share {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *installed;   /* a read was installed */
    apr_pool_t *pool;               /* the hashes; only touched under lock */
    apr_hash_t *groups;             /* key -> share_group */
    apr_hash_t *entries;            /* key NUL id -> share_entry */
    sse_share_stats stats;
    int gone;                       /* the table is being freed */
};

#define ENTRY_OF(n) \
    ((share_entry *)(void *)((char *)(n) - offsetof(share_entry, node)))

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

static char *copy_text(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void result_free(sse_share_result *res)
{
    if (res->read.visible && res->read.visible != res->read.stored) {
        bson_destroy((bson_t *)res->read.visible);
    }
    if (res->read.stored) bson_destroy((bson_t *)res->read.stored);
    free((char *)res->read.version);
    free((char *)res->read.json);
    free((char *)res->read.why);
    free(res);
}

sse_share_result *sse_share_result_make(int status, const bson_t *stored,
                                        const bson_t *visible, const char *version,
                                        const char *json, const char *why)
{
    sse_share_result *res = calloc(1, sizeof(*res));

    if (!res) return NULL;
    res->refs = 1;
    res->read.status = status;
    if (stored) res->read.stored = bson_copy(stored);
    if (visible) {
        res->read.visible = visible == stored ? res->read.stored : bson_copy(visible);
    }
    res->read.version = copy_text(version);
    res->read.json = copy_text(json);
    res->read.why = copy_text(why);
    if ((stored && !res->read.stored) || (visible && !res->read.visible)
        || (version && !res->read.version) || (json && !res->read.json)
        || (why && !res->read.why)) {
        result_free(res);
        return NULL;
    }
    return res;
}

static void result_release(sse_share_result *res)
{
    if (__atomic_sub_fetch(&res->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        result_free(res);
    }
}

static apr_status_t release_cleanup(void *res)
{
    result_release(res);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Entries (callers hold share->lock)                                  */
/* ------------------------------------------------------------------ */

static void drop_result(sse_share *sh, share_entry *e)
{
    if (e->result) {
        result_release(e->result);
        e->result = NULL;
        sh->stats.results--;
    }
}

static void entry_free(sse_share *sh, share_entry *e)
{
    if (e->node.in_heap) sse_heap_remove(&e->group->heap, &e->node);
    apr_hash_set(sh->entries, e->hkey, e->hklen, NULL);
    drop_result(sh, e);
    e->group->entries--;
    sh->stats.entries--;
    free(e->hkey);
    free(e);
}

static share_group *group_for(sse_share *sh, const char *key, apr_interval_time_t interval)
{
    share_group *g = apr_hash_get(sh->groups, key, APR_HASH_KEY_STRING);

    if (!g) {
        g = apr_pcalloc(sh->pool, sizeof(*g));
        g->key = apr_pstrdup(sh->pool, key);
        g->interval = interval;
        sse_heap_init(&g->heap);
        apr_hash_set(sh->groups, g->key, APR_HASH_KEY_STRING, g);
    }
    return g;
}

static share_entry *entry_for(sse_share *sh, const char *key, const char *id,
                              apr_interval_time_t interval, apr_time_t first_due)
{
    apr_size_t klen = strlen(key), ilen = strlen(id), hklen = klen + 1 + ilen;
    char *hkey = malloc(hklen + 1);
    share_entry *e;

    if (!hkey) return NULL;
    memcpy(hkey, key, klen + 1);
    memcpy(hkey + klen + 1, id, ilen + 1);
    e = apr_hash_get(sh->entries, hkey, hklen);
    if (e) {
        free(hkey);
        return e;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        free(hkey);
        return NULL;
    }
    e->group = group_for(sh, key, interval);
    e->hkey = hkey;
    e->hklen = hklen;
    e->id = hkey + klen + 1;
    e->node.due = first_due;
    /* Out of the heap (no memory) it is still read when its own streams
     * ask; it just never rides along in another entry's batch. */
    sse_heap_push(&e->group->heap, &e->node);
    apr_hash_set(sh->entries, e->hkey, e->hklen, e);
    e->group->entries++;
    sh->stats.entries++;
    return e;
}

/* A read of e came back: it is the newest, for those subscribed now. */
static void install(sse_share *sh, share_entry *e, sse_share_result *res, apr_time_t asked)
{
    drop_result(sh, e);
    e->gen++;
    e->in_flight = 0;
    e->waiting = e->subs - e->skip;
    e->skip = 0;
    if (e->subs == 0) {
        result_release(res);
        entry_free(sh, e);
        return;
    }
    res->read.asked_at = asked;
    if (e->waiting) {
        e->result = res;
        sh->stats.results++;
    }
    else {
        result_release(res);
    }
    e->node.due = asked + e->group->interval;
    sse_heap_push(&e->group->heap, &e->node);
}

/* How far ahead of its due an entry may be read with another: spread so
 * that a key's entries fill batches, never more than half an interval. */
static apr_interval_time_t look_ahead(const share_group *g, int batch)
{
    apr_interval_time_t half = g->interval / 2;
    apr_interval_time_t spread;

    if (g->entries <= (unsigned)batch) return half;
    spread = g->interval * batch / (apr_interval_time_t)g->entries;
    return spread < half ? spread : half;
}

/* Reads e and its companions; the lock is held on entry and on return, and
 * let go while the store is asked. */
static void read_batch(sse_share *sh, share_entry *e, apr_pool_t *tick, apr_time_t now,
                       int batch, sse_share_fetch_fn fetch, void *ctx)
{
    share_group *g = e->group;
    apr_interval_time_t ahead = look_ahead(g, batch);
    share_entry **list;
    const char **ids;
    sse_share_result **results;
    apr_pool_t *scratch;
    sse_heap_node *top;
    apr_time_t asked;
    unsigned fanout;
    int i, n = 0;

    if (batch < 1) batch = 1;
    list = malloc(sizeof(*list) * batch);
    ids = malloc(sizeof(*ids) * batch);
    results = calloc((size_t)batch, sizeof(*results));
    if (!list || !ids || !results) {
        free(list);
        free((void *)ids);
        free(results);
        return;
    }
    if (e->node.in_heap) sse_heap_remove(&g->heap, &e->node);
    list[n++] = e;
    fanout = e->subs;
    while (n < batch && (top = sse_heap_top(&g->heap)) != NULL && top->due <= now + ahead
           && fanout + ENTRY_OF(top)->subs <= FANOUT_MAX) {
        fanout += ENTRY_OF(top)->subs;
        list[n++] = ENTRY_OF(sse_heap_pop(&g->heap));
    }
    for (i = 0; i < n; i++) {
        list[i]->in_flight = 1;
        ids[i] = list[i]->id;       /* an entry in flight is not freed */
    }
    /* When the read is sent: no earlier than the poll's clock, which a
     * thread that first waited for another read may have taken long ago. */
    asked = apr_time_now();
    if (asked < now) asked = now;
    apr_thread_mutex_unlock(sh->lock);

    apr_pool_create(&scratch, tick);
    fetch(ctx, scratch, ids, n, results);
    apr_pool_destroy(scratch);
    for (i = 0; i < n; i++) {
        if (!results[i]) {
            results[i] = sse_share_result_make(SSE_SHARE_NO_RESULT, NULL, NULL, NULL, NULL,
                                               "the read gave no result for this document");
        }
    }

    apr_thread_mutex_lock(sh->lock);
    if (sh->gone) {
        /* The child went while the store was asked (share_destroy left
         * these entries to this thread): nobody is left to hand it to. */
        for (i = 0; i < n; i++) {
            if (results[i]) result_release(results[i]);
            free(list[i]->hkey);
            free(list[i]);
        }
        n = 0;
    }
    for (i = 0; i < n; i++) {
        if (results[i]) {
            install(sh, list[i], results[i], asked);
        }
        else {
            /* Out of memory even for that: nothing installed; the entry
             * is read again when its streams next ask. */
            list[i]->in_flight = 0;
            if (list[i]->subs == 0) entry_free(sh, list[i]);
            else sse_heap_push(&g->heap, &list[i]->node);
        }
    }
    apr_thread_cond_broadcast(sh->installed);
    free(list);
    free((void *)ids);
    free(results);
}

/* ------------------------------------------------------------------ */
/* Subscribers                                                         */
/* ------------------------------------------------------------------ */

static apr_status_t leave(void *data)
{
    sse_share_sub *sub = data;
    sse_share *sh = sub->share;
    share_entry *e = sub->e;

    apr_thread_mutex_lock(sh->lock);
    if (!sh->gone) {
        e->subs--;
        sh->stats.subscribers--;
        if (sub->seen > e->gen) {
            e->skip--;                          /* the read under way was not its */
        }
        else if (sub->seen < e->gen && e->result && --e->waiting == 0) {
            drop_result(sh, e);                 /* it was the last one to use it */
        }
        if (e->subs == 0 && !e->in_flight) {
            entry_free(sh, e);
        }
    }
    apr_thread_mutex_unlock(sh->lock);
    return APR_SUCCESS;
}

sse_share_sub *sse_share_join(sse_share *sh, apr_pool_t *p, const char *key,
                              const char *id, apr_interval_time_t interval,
                              apr_time_t first_due, apr_time_t *next_poll)
{
    sse_share_sub *sub = apr_pcalloc(p, sizeof(*sub));
    share_entry *e;

    apr_thread_mutex_lock(sh->lock);
    e = entry_for(sh, key, id, interval, first_due);
    if (!e) {
        apr_thread_mutex_unlock(sh->lock);
        return NULL;
    }
    sub->share = sh;
    sub->e = e;
    if (e->in_flight) {
        /* That read may have been sent before the stream's own: never
         * hand it to this stream. */
        sub->seen = e->gen + 1;
        e->skip++;
    }
    else {
        sub->seen = e->gen;     /* the newest read, if kept, predates its own */
    }
    e->subs++;
    sh->stats.subscribers++;
    *next_poll = e->node.in_heap ? e->node.due : first_due;
    apr_thread_mutex_unlock(sh->lock);
    apr_pool_cleanup_register(p, sub, leave, apr_pool_cleanup_null);
    return sub;
}

const sse_share_read *sse_share_poll(sse_share_sub *sub, apr_pool_t *tick, apr_time_t now,
                                     int batch, sse_share_fetch_fn fetch, void *ctx,
                                     apr_time_t *next_poll)
{
    sse_share *sh = sub->share;
    share_entry *e = sub->e;
    sse_share_result *res;
    int reads = 0;

    apr_thread_mutex_lock(sh->lock);
    for (;;) {
        if (sh->gone) {
            /* The child is going: e may be freed already; touch nothing. */
            apr_thread_mutex_unlock(sh->lock);
            *next_poll = now + apr_time_from_sec(1);
            return NULL;
        }
        res = e->result;
        /* A read this thread made is used however long the store took. */
        if (res && e->gen > sub->seen
            && (reads || res->read.asked_at + e->group->interval > now)) {
            break;
        }
        if (e->in_flight) {
            apr_thread_cond_wait(sh->installed, sh->lock);
            continue;
        }
        /* Two reads: the first may have been the one under way when the
         * stream joined. Past that only memory can be short: no read this
         * round, the stream asks again next interval. */
        if (reads == 2) {
            res = NULL;
            break;
        }
        read_batch(sh, e, tick, now, batch, fetch, ctx);
        reads++;
    }
    if (res) {
        __atomic_add_fetch(&res->refs, 1, __ATOMIC_ACQ_REL);
        sub->seen = e->gen;
        if (--e->waiting == 0) {
            drop_result(sh, e);
        }
    }
    *next_poll = e->node.in_heap ? e->node.due : now + e->group->interval;
    apr_thread_mutex_unlock(sh->lock);
    if (!res) return NULL;
    apr_pool_cleanup_register(tick, res, release_cleanup, apr_pool_cleanup_null);
    return &res->read;
}

void sse_share_pass(sse_share_sub *sub)
{
    sse_share *sh = sub->share;
    share_entry *e = sub->e;

    apr_thread_mutex_lock(sh->lock);
    if (!sh->gone && e->result && e->gen > sub->seen) {
        sub->seen = e->gen;
        if (--e->waiting == 0) {
            drop_result(sh, e);
        }
    }
    apr_thread_mutex_unlock(sh->lock);
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static apr_status_t share_destroy(void *data)
{
    sse_share *sh = data;
    apr_hash_index_t *hi;

    apr_thread_mutex_lock(sh->lock);
    sh->gone = 1;
    /* An entry being read belongs to the reading thread (read_batch frees
     * it); the others go now. Waiters give up when woken. */
    for (hi = apr_hash_first(NULL, sh->entries); hi; hi = apr_hash_next(hi)) {
        share_entry *e = apr_hash_this_val(hi);
        if (!e->in_flight) {
            drop_result(sh, e);
            free(e->hkey);
            free(e);
        }
    }
    apr_thread_cond_broadcast(sh->installed);
    for (hi = apr_hash_first(NULL, sh->groups); hi; hi = apr_hash_next(hi)) {
        share_group *g = apr_hash_this_val(hi);
        sse_heap_free(&g->heap);
    }
    apr_thread_mutex_unlock(sh->lock);
    return APR_SUCCESS;
}

apr_status_t sse_share_create(sse_share **share, apr_pool_t *p)
{
    sse_share *sh = apr_pcalloc(p, sizeof(*sh));
    apr_allocator_t *allocator;
    apr_status_t rv;

    /* The hashes grow from their own allocator, used under sh->lock only,
     * so they never contend with other users of p's. */
    rv = apr_allocator_create(&allocator);
    if (rv != APR_SUCCESS) return rv;
    rv = apr_pool_create_ex(&sh->pool, p, NULL, allocator);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, sh->pool);
    apr_pool_tag(sh->pool, "sse_share");
    if ((rv = apr_thread_mutex_create(&sh->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&sh->installed, p)) != APR_SUCCESS) {
        return rv;
    }
    sh->groups = apr_hash_make(sh->pool);
    sh->entries = apr_hash_make(sh->pool);
    /* On the hashes' own pool, which goes before p's cleanups (the mutex)
     * run; streams that leave later find the table gone. */
    apr_pool_cleanup_register(sh->pool, sh, share_destroy, apr_pool_cleanup_null);
    *share = sh;
    return APR_SUCCESS;
}

void sse_share_get_stats(sse_share *sh, sse_share_stats *stats)
{
    apr_thread_mutex_lock(sh->lock);
    *stats = sh->stats;
    apr_thread_mutex_unlock(sh->lock);
}
