/* sse_metrics.c: the shared counter table behind sse_metrics.h.
 *
 * The parent maps one anonymous shared segment in post_config and keeps it
 * in the process pool, which lives across restarts, so a graceful restart
 * finds the same table and its totals. Each child claims a slot with a
 * compare-and-swap on the slot's owner pid (a slot whose owner is dead is
 * free), and from then on only adds into it: no lock on the hot path, and
 * no folding of a dead child's counters, since the next owner simply goes
 * on adding to them. The open-stream gauges are the exception: they mean
 * something only while their process lives, so a reader skips the gauges
 * of a slot whose owner is gone (a child killed with SIGKILL never gets to
 * decrement them) and a new owner zeroes them before it takes the slot.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sse_metrics.h"

APLOG_USE_MODULE(sse);

#define TABLE_KEY   "mod_sse_metrics_table"
#define TABLE_MAGIC 0x53534d31u            /* "SSM1": layout version */
/* A slot per cache line, so children's slots never share one. */
#define SLOT_ALIGN  64
/* Owner value while a child is taking the slot: not a live process. */
#define CLAIMING    (-1)

typedef struct {
    apr_int64_t owner;                      /* pid; 0 never used */
    apr_int64_t open_suspended;
    apr_int64_t open_blocking;
    apr_uint64_t c[SSE_C_COUNT];
} __attribute__((aligned(SLOT_ALIGN))) metrics_slot;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nslots;
    apr_uint32_t ncounters;
    metrics_slot slot[];
} metrics_table;

/* Per-process: the table (inherited from the parent) and this child's slot. */
static metrics_table *table;
static metrics_slot *mine;

static const char *const end_names[SSE_END_COUNT] = {
    "client_gone", "write_timeout", "max_lifetime", "token_expired", "not_found", "shutdown"
};
static const int reject_codes[SSE_REJECT_COUNT - 1] = SSE_REJECT_CODES;
static const char *const event_names[SSE_EV_COUNT] = {
    "connected", "status", "error", "connectionLost", "keepalive", "snapshot", "removed"
};
static const char *const write_names[SSE_WR_COUNT] = {
    "saved", "conflict", "refused", "unconfirmed", "store_unavailable", "error"
};

static const char *const auth_names[SSE_AUTH_COUNT] = {
    "missing", "malformed", "unknown_key", "bad_signature", "expired",
    "not_yet_valid", "wrong_issuer", "wrong_audience", "unsupported", "other"
};
static const apr_int64_t bucket_us[SSE_POLL_BUCKET_COUNT] = SSE_POLL_BUCKETS_US;

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

int sse_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *keep = s->process->pool;
    int limit = 0;
    apr_uint32_t nslots;
    apr_size_t size;
    apr_shm_t *shm;
    apr_status_t rv;
    void *found = NULL;

    apr_pool_userdata_get(&found, TABLE_KEY, keep);
    if (found && ((metrics_table *)found)->magic == TABLE_MAGIC
        && ((metrics_table *)found)->ncounters == SSE_C_COUNT) {
        /* A restart: ServerLimit cannot change without a full stop, so
         * the table made for the first generation still fits. */
        table = found;
        return OK;
    }
    if (found) {
        /* A graceful restart into a module build with other counters: the
         * old table (still mapped by the old generation) cannot be read as
         * this one, so the totals start again from a new table. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "mod_sse: the metrics layout changed with this module; totals restart");
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS || limit < 1) {
        limit = 16;
    }
    /* Room for every live child, old generations exiting after a graceful
     * restart and children that died but are not yet reaped. */
    nslots = (apr_uint32_t)limit * 2 + 4;
    size = sizeof(metrics_table) + nslots * sizeof(metrics_slot);
    /* APR's base address is only 8-aligned; a slot wants a cache line. */
    rv = apr_shm_create(&shm, size + SLOT_ALIGN, NULL, keep);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "mod_sse: cannot create the metrics table (%" APR_SIZE_T_FMT
                     " bytes); metrics and status stay empty", size);
        return OK;
    }
    table = (metrics_table *)APR_ALIGN((apr_uintptr_t)apr_shm_baseaddr_get(shm), SLOT_ALIGN);
    memset(table, 0, size);
    table->magic = TABLE_MAGIC;
    table->nslots = nslots;
    table->ncounters = SSE_C_COUNT;
    apr_pool_userdata_set(table, TABLE_KEY, apr_pool_cleanup_null, keep);
    return OK;
}

static int process_alive(apr_int64_t pid)
{
    if (pid <= 0) return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Where `pid` sits in the scoreboard, or -1. The parent clears a slot's
 * pid when it reaps the child, so this also tells a zombie from a child. */
static int scoreboard_slot_of(apr_int64_t pid)
{
    int limit = 0, i;

    if (!ap_scoreboard_image
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < limit; i++) {
        if ((apr_int64_t)ap_scoreboard_image->parent[i].pid == pid) return i;
    }
    return -1;
}

void sse_metrics_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_int64_t me = (apr_int64_t)getpid();
    apr_uint32_t i;

    mine = NULL;
    if (!table) return;
    for (i = 0; i < table->nslots; i++) {
        metrics_slot *slot = &table->slot[i];
        apr_int64_t owner = __atomic_load_n(&slot->owner, __ATOMIC_ACQUIRE);

        if (owner == CLAIMING || process_alive(owner)) continue;
        if (!__atomic_compare_exchange_n(&slot->owner, &owner, CLAIMING, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            continue;       /* another new child took it first */
        }
        /* The old owner's streams died with it; its counters stay. */
        __atomic_store_n(&slot->open_suspended, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->open_blocking, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->owner, me, __ATOMIC_RELEASE);
        mine = slot;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "mod_sse: child %ld: no free metrics slot; this child's "
                 "streams are not counted", (long)me);
}

/* ------------------------------------------------------------------ */
/* Updates                                                             */
/* ------------------------------------------------------------------ */

static void add(int index, apr_uint64_t n)
{
    if (mine) __atomic_fetch_add(&mine->c[index], n, __ATOMIC_RELAXED);
}

static void add_open(int suspended, apr_int64_t n)
{
    if (!mine) return;
    __atomic_fetch_add(suspended ? &mine->open_suspended : &mine->open_blocking,
                       n, __ATOMIC_RELAXED);
}

void sse_metrics_count(sse_metrics_counter which, apr_uint64_t n)
{
    add((int)which, n);
}

void sse_metrics_stream_opened(int suspended)
{
    add(SSE_C_OPENED, 1);
    add_open(suspended, 1);
}

void sse_metrics_stream_closed(int suspended, const char *reason)
{
    int end = SSE_END_CLIENT_GONE, i;

    for (i = 0; reason && i < SSE_END_COUNT; i++) {
        if (!strcmp(reason, end_names[i])) {
            end = i;
            break;
        }
    }
    add(SSE_C_CLOSED + end, 1);
    add_open(suspended, -1);
}

void sse_metrics_stream_answered(request_rec *r, int handler_result)
{
    int code = handler_result >= 400 ? handler_result : r->status;
    int i;

    if (code < 400) return;
    for (i = 0; i < SSE_REJECT_COUNT - 1; i++) {
        if (reject_codes[i] == code) break;
    }
    add(SSE_C_REJECTED + i, 1);         /* i == SSE_REJECT_COUNT - 1: other */
}

void sse_metrics_poll(apr_interval_time_t took)
{
    int b = 0;

    if (took < 0) took = 0;
    while (b < SSE_POLL_BUCKET_COUNT && took > bucket_us[b]) b++;
    add(SSE_C_POLLS, 1);
    add(SSE_C_POLL_BUCKET + b, 1);
    add(SSE_C_POLL_SUM_US, (apr_uint64_t)took);
}

void sse_metrics_event_sent(sse_metrics_event ev)
{
    add(SSE_C_EVENTS + (int)ev, 1);
}

void sse_metrics_write_answered(int status, int unconfirmed)
{
    sse_metrics_write result;

    if (status < 300)                             result = SSE_WR_SAVED;
    else if (status == HTTP_PRECONDITION_FAILED)  result = SSE_WR_CONFLICT;
    else if (status < 500)                        result = SSE_WR_REFUSED;
    else if (status == HTTP_SERVICE_UNAVAILABLE)  result = unconfirmed ? SSE_WR_UNCONFIRMED
                                                                       : SSE_WR_UNAVAILABLE;
    else                                          result = SSE_WR_ERROR;
    add(SSE_C_WRITES + result, 1);
}

void sse_metrics_auth_failure(sse_metrics_auth label)
{
    if ((int)label < 0 || label >= SSE_AUTH_COUNT) {
        label = SSE_AUTH_OTHER;
    }
    add(SSE_C_AUTH + label, 1);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

int sse_metrics_read(apr_pool_t *p, sse_metrics_totals *totals,
                     apr_array_header_t **children)
{
    apr_uint32_t i;
    int k;

    memset(totals, 0, sizeof(*totals));
    if (children) {
        *children = apr_array_make(p, 8, sizeof(sse_metrics_child));
    }
    if (!table) return 0;
    for (i = 0; i < table->nslots; i++) {
        metrics_slot *slot = &table->slot[i];
        apr_int64_t owner = __atomic_load_n(&slot->owner, __ATOMIC_ACQUIRE);
        int sb;

        if (owner == 0) continue;
        for (k = 0; k < SSE_C_COUNT; k++) {
            totals->c[k] += __atomic_load_n(&slot->c[k], __ATOMIC_RELAXED);
        }
        /* Gauges only from a child the parent has not reaped. */
        sb = scoreboard_slot_of(owner);
        if (sb < 0 || !process_alive(owner)) continue;
        {
            apr_int64_t sus = __atomic_load_n(&slot->open_suspended, __ATOMIC_RELAXED);
            apr_int64_t blk = __atomic_load_n(&slot->open_blocking, __ATOMIC_RELAXED);

            totals->open_suspended += sus;
            totals->open_blocking += blk;
            if (children) {
                sse_metrics_child *c = apr_array_push(*children);
                c->scoreboard_slot = sb;
                c->pid = (long)owner;
                c->open_suspended = sus;
                c->open_blocking = blk;
            }
        }
    }
    return 1;
}

const char *sse_metrics_end_name(int end)
{
    return end >= 0 && end < SSE_END_COUNT ? end_names[end] : "client_gone";
}

int sse_metrics_reject_code(int index)
{
    return index >= 0 && index < SSE_REJECT_COUNT - 1 ? reject_codes[index] : 0;
}

const char *sse_metrics_event_name(int ev)
{
    return ev >= 0 && ev < SSE_EV_COUNT ? event_names[ev] : "other";
}

const char *sse_metrics_write_name(int result)
{
    return result >= 0 && result < SSE_WR_COUNT ? write_names[result] : "error";
}

const char *sse_metrics_auth_name(int reason)
{
    return reason >= 0 && reason < SSE_AUTH_COUNT ? auth_names[reason] : "other";
}

apr_int64_t sse_metrics_poll_bucket_us(int bucket)
{
    return bucket >= 0 && bucket < SSE_POLL_BUCKET_COUNT ? bucket_us[bucket] : -1;
}
