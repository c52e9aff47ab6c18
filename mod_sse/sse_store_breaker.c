/* sse_store_breaker.c: the outage breaker (see sse_store_breaker.h). A store
 * that cannot be reached makes every poll wait the URI's
 * serverSelectionTimeoutMS; with thousands of streams those waits would hold
 * every worker, so while an outage is known polls fail fast. The common
 * case, no outage, takes no lock. */
#include "apr_strings.h"

#include "sse_store_breaker.h"

apr_status_t sse_breaker_init(sse_breaker *b, apr_pool_t *p, apr_interval_time_t hold_off)
{
    b->until = 0;
    b->probing = 0;
    b->error[0] = '\0';
    b->hold_off = hold_off;
    return apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT, p);
}

int sse_breaker_admits(sse_breaker *b, apr_pool_t *p, int *probe, const char **error)
{
    int admit = 1;

    *probe = 0;
    if (!__atomic_load_n(&b->until, __ATOMIC_ACQUIRE)) {
        return 1;
    }
    apr_thread_mutex_lock(b->lock);
    if (b->until) {
        if (b->probing || apr_time_now() < b->until) {
            admit = 0;
            *error = apr_pstrdup(p, b->error);
        }
        else {
            b->probing = *probe = 1;
        }
    }
    apr_thread_mutex_unlock(b->lock);
    return admit;
}

/* A single slow or dropped connection is not an outage: libmongoc rescans
 * and the next poll decides; only "no server could be selected" is. */
void sse_breaker_record(sse_breaker *b, int probe, int unreachable, const char *message)
{
    if (!unreachable && !probe && !__atomic_load_n(&b->until, __ATOMIC_ACQUIRE)) {
        return;
    }
    apr_thread_mutex_lock(b->lock);
    if (probe) {
        b->probing = 0;
    }
    if (unreachable) {
        apr_cpystrn(b->error, message ? message : "the store is unreachable", sizeof(b->error));
        __atomic_store_n(&b->until, apr_time_now() + b->hold_off, __ATOMIC_RELEASE);
    }
    else {
        __atomic_store_n(&b->until, 0, __ATOMIC_RELEASE);
    }
    apr_thread_mutex_unlock(b->lock);
}
