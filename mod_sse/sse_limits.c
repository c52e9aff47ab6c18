/* sse_limits.c: SSEMaxStreamsPerUser and SSEMaxStreams, counted across all
 * children of the instance.
 *
 * One anonymous shared-memory table, made by the parent the first time
 * post_config runs and kept in the process pool, so every later generation
 * (graceful restart) and every child shares it. Each entry is (key, child
 * pid) -> open streams, where the key is a keyed hash of the owner claim
 * or KEY_ALL for the instance's total; a user's count is the sum of its
 * entries over the live children. Keying by pid is what makes the count
 * heal: the parent drops a child's entries when it reaps it (any exit,
 * SIGKILL included), and a reservation also drops entries of pids that
 * no longer exist.
 *
 * Open addressing with linear probing and backward-shift deletion, all
 * under one global mutex: streams open and close rarely next to ticks.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "util_mutex.h"
#include "apr_global_mutex.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <openssl/sha.h>

#include "sse_limits.h"

APLOG_USE_MODULE(sse);

#define MUTEX_TYPE      "sse-limits"
#define USERDATA_KEY    "mod_sse:limits"
#define TABLE_MAGIC     0x53534c31u         /* "SSL1" */
/* Entries; a power of two. One per (user, child) with a stream open, plus
 * one per child: 64 Ki entries of 16 bytes is 1 MiB of shared memory, of
 * which only touched pages cost anything. */
#define TABLE_SIZE      65536u
#define KEY_EMPTY       0
#define KEY_ALL         1

typedef struct {
    apr_uint64_t key;               /* KEY_EMPTY, KEY_ALL or a user hash */
    apr_int32_t pid;
    apr_uint32_t count;
} limit_entry;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t size;
    unsigned char secret[32];       /* keys the user hash; never leaves memory */
    limit_entry e[];
} limit_table;

/* What the process pool keeps across generations. */
typedef struct {
    apr_shm_t *shm;
    apr_global_mutex_t *lock;
} limit_instance;

/* Per process: the inherited mapping and mutex, set in post_config. */
static limit_table *table;
static apr_global_mutex_t *table_lock;

/* ------------------------------------------------------------------ */
/* The table (callers hold table_lock)                                 */
/* ------------------------------------------------------------------ */

static apr_uint32_t home_of(apr_uint64_t key)
{
    /* User keys are already uniform; spread KEY_ALL's neighbours too. */
    return (apr_uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (TABLE_SIZE - 1);
}

/* The index of (key, pid), or of the empty cell where it would go. */
static apr_uint32_t find_cell(apr_uint64_t key, pid_t pid)
{
    apr_uint32_t i = home_of(key), n;

    for (n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
        const limit_entry *e = &table->e[i];
        if (e->key == KEY_EMPTY || (e->key == key && e->pid == (apr_int32_t)pid)) {
            return i;
        }
    }
    return TABLE_SIZE;              /* full and absent */
}

/* Sum over every child of the counts under `key`. */
static apr_uint64_t total_of(apr_uint64_t key)
{
    apr_uint32_t i = home_of(key), n;
    apr_uint64_t sum = 0;

    for (n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
        const limit_entry *e = &table->e[i];
        if (e->key == KEY_EMPTY) break;
        if (e->key == key) sum += e->count;
    }
    return sum;
}

/* Empties cell i and moves later entries of its cluster back so every
 * entry stays reachable from its home without tombstones. */
static void delete_cell(apr_uint32_t i)
{
    apr_uint32_t j = i;

    for (;;) {
        apr_uint32_t home;

        j = (j + 1) & (TABLE_SIZE - 1);
        if (table->e[j].key == KEY_EMPTY) break;
        home = home_of(table->e[j].key);
        /* Entry j may move to i unless its home lies cyclically in (i, j]. */
        if (i <= j ? (home > i && home <= j) : (home > i || home <= j)) continue;
        table->e[i] = table->e[j];
        i = j;
    }
    memset(&table->e[i], 0, sizeof(table->e[i]));
}

/* Adds `delta` to (key, pid); an entry that reaches 0 goes. 0 when full. */
static int add_count(apr_uint64_t key, pid_t pid, int delta)
{
    apr_uint32_t i = find_cell(key, pid);
    limit_entry *e;

    if (i == TABLE_SIZE) return 0;
    e = &table->e[i];
    if (e->key == KEY_EMPTY) {
        if (delta <= 0) return 1;   /* nothing to release (already healed) */
        e->key = key;
        e->pid = (apr_int32_t)pid;
        e->count = 0;
    }
    if (delta < 0 && e->count <= (apr_uint32_t)-delta) {
        delete_cell(i);
        return 1;
    }
    e->count += delta;
    return 1;
}

/* Drops every entry of a child; returns how many streams it counted. A
 * backward shift can move an unvisited entry into the cell just emptied,
 * so that cell is looked at again. */
static apr_uint32_t forget_pid(pid_t pid)
{
    apr_uint32_t i, streams = 0;

    for (i = 0; i < TABLE_SIZE; i++) {
        while (table->e[i].key != KEY_EMPTY && table->e[i].pid == (apr_int32_t)pid) {
            if (table->e[i].key == KEY_ALL) streams += table->e[i].count;
            delete_cell(i);
        }
    }
    return streams;
}

/* Every child with a stream open has a KEY_ALL entry: a pid there that no
 * longer exists died without the parent telling us yet. */
static void forget_dead_children(server_rec *s)
{
    apr_uint32_t i = home_of(KEY_ALL), n;

    for (n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
        const limit_entry *e = &table->e[i];
        if (e->key == KEY_EMPTY) break;
        if (e->key == KEY_ALL && kill((pid_t)e->pid, 0) == -1 && errno == ESRCH) {
            pid_t pid = (pid_t)e->pid;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         "mod_sse: child %ld is gone with %u streams counted; released",
                         (long)pid, forget_pid(pid));
            i = home_of(KEY_ALL) - 1;       /* the cluster moved: start over */
            n = (apr_uint32_t)-1;
        }
    }
}

static apr_uint64_t user_key(const char *user)
{
    unsigned char buf[sizeof(table->secret) + 256], md[SHA256_DIGEST_LENGTH];
    apr_size_t len = strlen(user);
    apr_uint64_t key;

    /* Owner claims are short; a longer one is hashed in two steps. */
    if (len > 256) {
        SHA256((const unsigned char *)user, len, md);
        user = (const char *)md;
        len = sizeof(md);
    }
    memcpy(buf, table->secret, sizeof(table->secret));
    memcpy(buf + sizeof(table->secret), user, len);
    SHA256(buf, sizeof(table->secret) + len, md);
    memcpy(&key, md, sizeof(key));
    return key > KEY_ALL ? key : key + 2;
}

/* ------------------------------------------------------------------ */
/* Reserve and release                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    apr_uint64_t key;
    pid_t pid;
    server_rec *s;
} reservation;

static apr_status_t release(void *data)
{
    reservation *res = data;

    if (!table) return APR_SUCCESS;
    if (apr_global_mutex_lock(table_lock) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, res->s,
                     "mod_sse: cannot lock the stream count; the parent drops "
                     "this child's counts when it exits");
        return APR_SUCCESS;
    }
    add_count(KEY_ALL, res->pid, -1);
    add_count(res->key, res->pid, -1);
    apr_global_mutex_unlock(table_lock);
    return APR_SUCCESS;
}

sse_limit_result sse_limits_reserve(request_rec *r, const char *user,
                                    int max_per_user, int max_streams)
{
    reservation *res;
    sse_limit_result result = SSE_LIMIT_OK;
    apr_status_t rv;

    if (max_per_user <= 0 && max_streams <= 0) return SSE_LIMIT_OK;
    if (!table) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "mod_sse: no stream count table; stream refused");
        return SSE_LIMIT_UNAVAILABLE;
    }
    res = apr_palloc(r->pool, sizeof(*res));
    res->key = user_key(user ? user : "");
    res->pid = getpid();
    res->s = r->server;

    rv = apr_global_mutex_lock(table_lock);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "mod_sse: cannot lock the stream count; stream refused");
        return SSE_LIMIT_UNAVAILABLE;
    }
    forget_dead_children(r->server);
    if (max_streams > 0 && total_of(KEY_ALL) >= (apr_uint64_t)max_streams) {
        result = SSE_LIMIT_INSTANCE;
    }
    else if (max_per_user > 0 && total_of(res->key) >= (apr_uint64_t)max_per_user) {
        result = SSE_LIMIT_USER;
    }
    else if (!add_count(KEY_ALL, res->pid, 1)) {
        result = SSE_LIMIT_UNAVAILABLE;
    }
    else if (!add_count(res->key, res->pid, 1)) {
        add_count(KEY_ALL, res->pid, -1);
        result = SSE_LIMIT_UNAVAILABLE;
    }
    apr_global_mutex_unlock(table_lock);

    if (result == SSE_LIMIT_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "mod_sse: stream count table full (%u entries); stream refused",
                      TABLE_SIZE);
    }
    if (result == SSE_LIMIT_OK) {
        apr_pool_cleanup_register(r->pool, res, release, apr_pool_cleanup_null);
    }
    return result;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static int limits_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* Runs in the parent at every (re)start. The table and its mutex live in
 * the process pool: a graceful restart must not reset the counts of
 * streams that old-generation children still serve, and both generations
 * must take the same mutex. */
static int limits_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *keep = s->process->pool;
    limit_instance *inst = NULL;
    apr_size_t size = sizeof(limit_table) + TABLE_SIZE * sizeof(limit_entry);
    apr_status_t rv;

    apr_pool_userdata_get((void **)&inst, USERDATA_KEY, keep);
    if (!inst) {
        inst = apr_pcalloc(keep, sizeof(*inst));
        rv = apr_shm_create(&inst->shm, size, NULL, keep);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "mod_sse: cannot create %" APR_SIZE_T_FMT " bytes of shared "
                         "memory for the stream limits", size);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv = ap_global_mutex_create(&inst->lock, NULL, MUTEX_TYPE, NULL, s, keep, 0);
        if (rv != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;      /* logged by httpd */
        }
        table = apr_shm_baseaddr_get(inst->shm);
        memset(table, 0, size);
        table->magic = TABLE_MAGIC;
        table->size = TABLE_SIZE;
        rv = apr_generate_random_bytes(table->secret, sizeof(table->secret));
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "mod_sse: no random bytes for the stream limits' hash key");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_userdata_set(inst, USERDATA_KEY, apr_pool_cleanup_null, keep);
    }
    table = apr_shm_baseaddr_get(inst->shm);
    table_lock = inst->lock;
    return OK;
}

static void limits_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!table) return;
    rv = apr_global_mutex_child_init(&table_lock,
                                     apr_global_mutex_lockfile(table_lock), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "mod_sse: child %ld cannot attach the stream limits' mutex; "
                     "its streams are refused", (long)getpid());
        table = NULL;
    }
}

/* In the parent, after it has reaped a child: whatever that child still
 * counted (it crashed, was killed, or exited with streams open) goes. */
static void limits_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
                                int slot, mpm_child_status status)
{
    apr_uint32_t streams;

    if (status != MPM_CHILD_EXITED || !table || pid <= 0) return;
    if (apr_global_mutex_lock(table_lock) != APR_SUCCESS) return;
    streams = forget_pid(pid);
    apr_global_mutex_unlock(table_lock);
    if (streams) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "mod_sse: child %ld exited with %u streams counted; released",
                     (long)pid, streams);
    }
}

void sse_limits_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(limits_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(limits_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(limits_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_status(limits_child_status, NULL, NULL, APR_HOOK_MIDDLE);
}
