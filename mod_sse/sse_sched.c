/* sse_sched.c: suspended requests on mpm_event (see sse_sched.h); the
 * stream (sse_stream.c) is one user, through a tick and a done callback.
 *
 * The handler writes a stream's opening events and returns SUSPENDED; from
 * then on the stream costs a baton and a socket, not a thread. A per-child
 * scheduler thread keeps every suspended stream's next deadline in a
 * min-heap and sleeps on a condition variable until the earliest one. Due
 * streams go to the MPM as zero-delay timed callbacks, a few streams per
 * callback: on 2.4 the event listener only honours timers that have
 * already expired, so a timer set for a future time can wait as long as
 * nothing else wakes the listener. The callback runs in a worker thread
 * and, for each of its streams, takes r->invoke_mtx (the core holds it
 * around the handler), runs the owner's tick callback (for a stream, the
 * same sse_stream_step() as the blocking loop) and hands the stream back
 * to the scheduler.
 *
 * A stream is in exactly one place at a time: the heap, one batch of the
 * MPM's timer queue, or a worker running its tick. Timed callbacks cannot
 * be cancelled, so a stream is only ever finished from inside the callback
 * that carries it.
 *
 * A second thread per child (the hang-up watcher, Linux) waits in epoll for
 * the hang-up of every suspended socket. It never ends a stream itself: it
 * marks it, and moves it to the top of the heap if it is there, so the next
 * callback ends it without a store query and frees its connection slot.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "util_filter.h"
#include "apr_allocator.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sse_sched.h"
#include "sse_config.h"
#include "sse_conn.h"
#include "sse_heap.h"

APLOG_USE_MODULE(sse);

/* Streams handed to the MPM per scheduler wake-up before it looks again. */
#define HANDOFF_BATCH 256
/* Each timed callback costs a listener wake-up and a worker hand-off, so
 * a worker that has ticked its stream goes on with the next due one, up
 * to this many; the scheduler hands streams to the MPM only when they have
 * waited COALESCE with no worker taking them (none running, or all held
 * up by a slow store), at most DISPATCH_PER_WAKE at a time. */
#define TICKS_PER_CALLBACK 64
#define TAKE_BATCH 8
/* A tick longer than this held its worker up: it takes no more streams. */
#define SLOW_TICK apr_time_from_msec(5)
#define COALESCE apr_time_from_msec(10)
#define DISPATCH_PER_WAKE 4
/* Memory a worker's scratch pool may keep between ticks. */
#define SCRATCH_MAX_FREE (256 * 1024)
/* How long the scheduler waits before retrying a refused registration. */
#define REGISTER_RETRY apr_time_from_msec(100)

/* One suspended stream, from r->pool. */
typedef struct suspended_stream suspended_stream;
struct suspended_stream {
    sse_sched_tick_fn tick;
    sse_sched_done_fn done;
    void *baton;                    /* the owner's, for tick and done */
    request_rec *r;
    sse_heap_node node;             /* its deadline and place in sched->heap */
    suspended_stream *overflow;     /* next on sched->overflow */
    /* The worker that suspended the connection, and its scoreboard status
     * while it ran our suspend hook; see suspender_done(). */
    const worker_score *suspender;
    unsigned char suspender_status;
    int suspender_gone;
    apr_time_t suspended_at;
    int closing;                    /* the stream is over; close once allowed */
    int hung_up;                    /* the watcher saw the client close (sched->lock) */
    apr_uint32_t watch;             /* its slot in the watcher's table + 1; 0: none */
};

/* When the stream is over before the suspending worker was seen to leave
 * the connection, it looks again this often, and gives up waiting after
 * SUSPENDER_WAIT_MAX (see suspender_done()). */
#define CLOSE_RECHECK apr_time_from_msec(5)
#define SUSPENDER_WAIT_MAX apr_time_from_sec(10)

/* Per-process: created in child_init, stopped by a pchild cleanup. */
typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    sse_heap heap;                  /* suspended_stream.node, on due */
    /* Streams the heap could not take (out of memory) or the MPM refused:
     * an intrusive list, so keeping one needs no memory and none is lost. */
    suspended_stream *overflow;
    int exiting;                    /* the child is going away */
} scheduler;

static scheduler *sched;            /* NULL: this child's streams block */
/* The child's stop flag, set once (any thread), read without a lock. */
static int child_stopping;
static apr_pool_t *scratch_parent;  /* parent of the per-thread scratch pools */

/* Each worker thread's scratch pool, made on first use. */
static __thread apr_pool_t *thread_scratch;
static __thread apr_pool_t *thread_scratch_parent;

static void run_callback(void *baton);

/* ------------------------------------------------------------------ */
/* The heap (callers hold sched->lock)                                 */
/* ------------------------------------------------------------------ */

#define STREAM_OF(n) \
    ((suspended_stream *)(void *)((char *)(n) - offsetof(suspended_stream, node)))

static int heap_push(suspended_stream *e)
{
    return sse_heap_push(&sched->heap, &e->node);
}

static suspended_stream *heap_pop(void)
{
    return STREAM_OF(sse_heap_pop(&sched->heap));
}

/* The earliest deadline; the heap must not be empty. */
static apr_time_t heap_first_due(void)
{
    return sse_heap_top(&sched->heap)->due;
}

/* Keeps a stream the heap could not take; the scheduler retries it. */
static void push_overflow(suspended_stream *e)
{
    e->overflow = sched->overflow;
    sched->overflow = e;
    apr_thread_cond_signal(sched->wake);
}

/* Queues streams for their next ticks under one lock; wakes the scheduler
 * when one of them is now the earliest. */
static void schedule_many(suspended_stream *const *v, const apr_time_t *due, int n)
{
    suspended_stream *refused = NULL;
    int i, wake = 0;

    apr_thread_mutex_lock(sched->lock);
    for (i = 0; i < n; i++) {
        suspended_stream *e = v[i];
        /* A client that hung up while a worker ticked it: end it now. */
        e->node.due = e->hung_up ? 0 : due[i];
        if (!heap_push(e)) {
            push_overflow(e);
            refused = e;
        }
        else if (sse_heap_top(&sched->heap) == &e->node) {
            wake = 1;
        }
    }
    if (wake || sse_sched_stopping()) {
        apr_thread_cond_signal(sched->wake);
    }
    apr_thread_mutex_unlock(sched->lock);
    if (refused) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, APR_ENOMEM, refused->r,
                      "mod_sse: out of memory for the scheduler heap; "
                      "the stream waits on the overflow list");
    }
}

static void schedule(suspended_stream *e, apr_time_t due)
{
    schedule_many(&e, &due, 1);
}

/* Scheduler thread, lock held: moves the overflow list into the heap, or,
 * where the heap still cannot grow, hands each stream to the MPM now.
 * What neither takes stays listed for the next round. Returns how many
 * streams are still listed. */
static int drain_overflow(server_rec *s)
{
    suspended_stream *e = sched->overflow, *keep = NULL;
    int left = 0;

    sched->overflow = NULL;
    while (e) {
        suspended_stream *next = e->overflow;
        if (!heap_push(e)) {
            apr_status_t rv = ap_mpm_register_timed_callback(0, run_callback, e);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                             "mod_sse: neither the heap nor the MPM takes a stream; "
                             "retrying in %d ms", (int)apr_time_as_msec(REGISTER_RETRY));
                e->overflow = keep;
                keep = e;
                left++;
            }
        }
        e = next;
    }
    sched->overflow = keep;
    return left;
}

/* ------------------------------------------------------------------ */
/* The hang-up watcher                                                 */
/* ------------------------------------------------------------------ */

/* A client that closes its stream (a page closed, a mass reconnect after a
 * failover) would otherwise be noticed only at its next tick, up to one
 * SSEPollInterval later, and keep its connection slot (and its place in
 * the child's connection limit) until then. One thread per child waits in
 * epoll for the hang-ups of every suspended socket (EPOLLRDHUP, EPOLLHUP;
 * not EPOLLIN, so bytes a client sends wake nothing) and makes the stream
 * due at once; the tick that then ends it is the only place it is ended.
 * Registrations are one-shot: a hang-up is reported once.
 *
 * epoll hands back a slot index and generation, never a stream pointer: a
 * report may arrive after its stream ended, and the generation tells. The
 * slots, like the heap, belong to sched->lock. Without epoll (not Linux)
 * there is no watcher and a hang-up is seen at the next tick. */
#ifdef __linux__
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define WATCH_EVENTS 256
#define WATCH_WAKE_TOKEN APR_UINT64_MAX

typedef struct {
    suspended_stream *e;            /* NULL: free */
    apr_uint32_t gen;
    apr_uint32_t next_free;         /* index + 1 of the next free slot */
} watch_slot;

typedef struct {
    scheduler *sc;
    int epfd, wakefd;
    apr_thread_t *thread;
    watch_slot *slots;              /* malloc'ed */
    apr_uint32_t len, cap, free_head;
} hangup_watcher;

static hangup_watcher *watcher;     /* NULL: hang-ups are seen at the next tick */

static apr_uint64_t watch_token(apr_uint32_t i)
{
    return ((apr_uint64_t)watcher->slots[i].gen << 32) | i;
}

static int socket_fd(request_rec *r)
{
    apr_os_sock_t fd;
    apr_socket_t *sock = ap_get_conn_socket(r->connection);

    return sock && apr_os_sock_get(&fd, sock) == APR_SUCCESS ? fd : -1;
}

/* Watches a stream's socket from its suspension until watch_stop(). */
static void watch_start(suspended_stream *e)
{
    struct epoll_event ev;
    apr_uint32_t i;
    int fd = socket_fd(e->r);

    if (!watcher || fd < 0) return;
    apr_thread_mutex_lock(sched->lock);
    if (watcher->free_head) {
        i = watcher->free_head - 1;
        watcher->free_head = watcher->slots[i].next_free;
    }
    else {
        if (watcher->len == watcher->cap) {
            apr_uint32_t cap = watcher->cap ? watcher->cap * 2 : 1024;
            watch_slot *grown = realloc(watcher->slots, cap * sizeof(*grown));
            if (!grown) {
                apr_thread_mutex_unlock(sched->lock);
                return;             /* unwatched: seen at its next tick */
            }
            watcher->slots = grown;
            watcher->cap = cap;
        }
        i = watcher->len++;
        watcher->slots[i].gen = 0;
    }
    watcher->slots[i].e = e;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLRDHUP | EPOLLONESHOT;      /* EPOLLHUP/ERR come anyway */
    ev.data.u64 = watch_token(i);
    if (epoll_ctl(watcher->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        e->watch = i + 1;
    }
    else {
        watcher->slots[i].e = NULL;
        watcher->slots[i].next_free = watcher->free_head;
        watcher->free_head = i + 1;
    }
    apr_thread_mutex_unlock(sched->lock);
}

/* Before the stream's socket closes and its pool goes. */
static void watch_stop(suspended_stream *e)
{
    apr_uint32_t i;
    int fd = socket_fd(e->r);

    if (!watcher || !e->watch) return;
    apr_thread_mutex_lock(sched->lock);
    i = e->watch - 1;
    if (fd >= 0) {
        epoll_ctl(watcher->epfd, EPOLL_CTL_DEL, fd, NULL);
    }
    watcher->slots[i].e = NULL;
    watcher->slots[i].gen++;
    watcher->slots[i].next_free = watcher->free_head;
    watcher->free_head = i + 1;
    e->watch = 0;
    apr_thread_mutex_unlock(sched->lock);
}

/* The client hung up (sched->lock held): a stream in the heap is due now;
 * one in a worker or the MPM's queue sees hung_up when its tick runs. */
static void mark_hung_up(suspended_stream *e)
{
    __atomic_store_n(&e->hung_up, 1, __ATOMIC_RELEASE);
    if (e->node.in_heap) {
        sse_heap_sooner(&sched->heap, &e->node, 0);
    }
}

static void *APR_THREAD_FUNC watcher_main(apr_thread_t *thread, void *data)
{
    hangup_watcher *w = data;
    struct epoll_event events[WATCH_EVENTS];

    for (;;) {
        int i, n = epoll_wait(w->epfd, events, WATCH_EVENTS, -1), woke = 0;

        if (n < 0 && errno == EINTR) continue;
        apr_thread_mutex_lock(w->sc->lock);
        if (n < 0 || w->sc->exiting) {
            apr_thread_mutex_unlock(w->sc->lock);
            break;
        }
        for (i = 0; i < n; i++) {
            apr_uint64_t token = events[i].data.u64;
            apr_uint32_t slot = (apr_uint32_t)(token & 0xffffffffu);

            if (token == WATCH_WAKE_TOKEN || slot >= w->len) continue;
            if (w->slots[slot].e && w->slots[slot].gen == (apr_uint32_t)(token >> 32)) {
                mark_hung_up(w->slots[slot].e);
                woke = 1;
            }
        }
        if (woke) {
            apr_thread_cond_signal(w->sc->wake);
        }
        apr_thread_mutex_unlock(w->sc->lock);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void watcher_start(apr_pool_t *pchild, server_rec *s, scheduler *sc)
{
    hangup_watcher *w = apr_pcalloc(pchild, sizeof(*w));
    struct epoll_event ev;
    apr_status_t rv;

    watcher = NULL;
    w->sc = sc;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = WATCH_WAKE_TOKEN;
    if (w->epfd < 0 || w->wakefd < 0
        || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else {
        rv = apr_thread_create(&w->thread, NULL, watcher_main, w, pchild);
    }
    if (rv != APR_SUCCESS) {
        if (w->epfd >= 0) close(w->epfd);
        if (w->wakefd >= 0) close(w->wakefd);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "mod_sse: child %ld: no hang-up watcher; a closed stream is "
                     "noticed at its next tick", (long)getpid());
        return;
    }
    watcher = w;
}

/* After sched->exiting is set. */
static void watcher_stop(void)
{
    apr_uint64_t one = 1;
    apr_status_t rv;

    if (!watcher) return;
    if (write(watcher->wakefd, &one, sizeof(one)) < 0) {
        /* the eventfd cannot be full after one write */
    }
    apr_thread_join(&rv, watcher->thread);
    close(watcher->epfd);
    close(watcher->wakefd);
    free(watcher->slots);
    watcher = NULL;
}
#else
static void watch_start(suspended_stream *e) { (void)e; }
static void watch_stop(suspended_stream *e) { (void)e; }
static void watcher_start(apr_pool_t *pchild, server_rec *s, scheduler *sc)
{
    (void)pchild; (void)s; (void)sc;
}
static void watcher_stop(void) { }
#endif

/* 1 when the watcher saw this stream's client hang up. Set once, under
 * sched->lock; read without it: a mark that lands just after this read is
 * seen by schedule_many(), which makes the stream due at once. */
static int stream_hung_up(suspended_stream *e)
{
    return __atomic_load_n(&e->hung_up, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------ */
/* The scheduler thread                                                */
/* ------------------------------------------------------------------ */

static void *APR_THREAD_FUNC scheduler_main(apr_thread_t *thread, void *data)
{
    suspended_stream *due[HANDOFF_BATCH];
    server_rec *s = data;

    apr_time_t quiet_until = 0;

    apr_thread_mutex_lock(sched->lock);
    while (!sched->exiting) {
        apr_time_t now = apr_time_now(), wake_at;
        int i, n = 0, overflowing = 0;

        if (sched->overflow) {
            overflowing = drain_overflow(s);
        }

        /* A stream no worker took within COALESCE of its deadline goes to
         * the MPM, a few at a time; on a graceful stop, everything now. */
        if (sse_sched_stopping()) {
            while (sched->heap.len && n < HANDOFF_BATCH) {
                due[n++] = heap_pop();
            }
        }
        else if (now >= quiet_until) {
            while (sched->heap.len && n < DISPATCH_PER_WAKE
                   && heap_first_due() + COALESCE <= now) {
                due[n++] = heap_pop();
            }
        }
        if (n) {
            apr_thread_mutex_unlock(sched->lock);
            for (i = 0; i < n; i++) {
                apr_status_t rv = ap_mpm_register_timed_callback(0, run_callback, due[i]);
                if (rv != APR_SUCCESS) {
                    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                                 "mod_sse: the MPM refused a timed callback; retrying "
                                 "in %d ms", (int)apr_time_as_msec(REGISTER_RETRY));
                    apr_thread_mutex_lock(sched->lock);
                    due[i]->node.due = now + REGISTER_RETRY;
                    if (!heap_push(due[i])) {
                        push_overflow(due[i]);
                    }
                    apr_thread_mutex_unlock(sched->lock);
                }
            }
            /* Give those workers a moment to take the other due streams. */
            quiet_until = now + COALESCE;
            apr_thread_mutex_lock(sched->lock);
            continue;
        }
        if (!sched->heap.len && !overflowing) {
            apr_thread_cond_wait(sched->wake, sched->lock);
            continue;
        }
        wake_at = sched->heap.len ? heap_first_due() + COALESCE : now + REGISTER_RETRY;
        if (wake_at < quiet_until) wake_at = quiet_until;
        if (overflowing && wake_at > now + REGISTER_RETRY) wake_at = now + REGISTER_RETRY;
        apr_thread_cond_timedwait(sched->wake, sched->lock, wake_at > now ? wake_at - now : 0);
    }
    apr_thread_mutex_unlock(sched->lock);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* A pre-cleanup so the thread is gone before any other part of the child
 * is torn down. Streams still in the heap belong to an ungraceful stop;
 * their connections die with the process. */
static apr_status_t scheduler_stop(void *data)
{
    apr_status_t rv;

    if (!sched) return APR_SUCCESS;
    apr_thread_mutex_lock(sched->lock);
    sched->exiting = 1;
    apr_thread_cond_signal(sched->wake);
    apr_thread_mutex_unlock(sched->lock);
    watcher_stop();
    apr_thread_join(&rv, sched->thread);
    sse_heap_free(&sched->heap);
    sched = NULL;
    scratch_parent = NULL;
    return APR_SUCCESS;
}

void sse_sched_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *allocator_lock;
    scheduler *sc;
    int async = 0;
    apr_status_t rv;

    sched = NULL;
    __atomic_store_n(&child_stopping, 0, __ATOMIC_RELEASE);
    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "mod_sse: child %ld: streams run in blocking mode "
                     "(one worker thread each; the MPM cannot suspend requests)",
                     (long)getpid());
        return;
    }

    /* Scratch pools are created from worker threads, so their parent
     * needs an allocator with a lock. */
    apr_allocator_create(&allocator);
    apr_pool_create_ex(&scratch_parent, pchild, NULL, allocator);
    apr_allocator_owner_set(allocator, scratch_parent);
    apr_thread_mutex_create(&allocator_lock, APR_THREAD_MUTEX_DEFAULT, scratch_parent);
    apr_allocator_mutex_set(allocator, allocator_lock);
    apr_pool_tag(scratch_parent, "sse_scratch");

    sc = apr_pcalloc(pchild, sizeof(*sc));
    sse_heap_init(&sc->heap);
    apr_thread_mutex_create(&sc->lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    apr_thread_cond_create(&sc->wake, pchild);
    sched = sc;
    rv = apr_thread_create(&sc->thread, NULL, scheduler_main, s, pchild);
    if (rv != APR_SUCCESS) {
        sched = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "mod_sse: child %ld: cannot start the stream scheduler; "
                     "streams run in blocking mode", (long)getpid());
        return;
    }
    watcher_start(pchild, s, sc);
    apr_pool_pre_cleanup_register(pchild, NULL, scheduler_stop);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "mod_sse: child %ld: streams run suspended "
                 "(no worker thread between ticks; HTTP/2 streams block)",
                 (long)getpid());
}

void sse_sched_stop(void)
{
    scheduler *sc = sched;

    __atomic_store_n(&child_stopping, 1, __ATOMIC_RELEASE);
    if (!sc) return;
    /* Under the lock, so the scheduler cannot miss the wake-up between
     * reading the flag and waiting. */
    apr_thread_mutex_lock(sc->lock);
    apr_thread_cond_signal(sc->wake);
    apr_thread_mutex_unlock(sc->lock);
}

int sse_sched_stopping(void)
{
    return __atomic_load_n(&child_stopping, __ATOMIC_ACQUIRE);
}

int sse_sched_available(request_rec *r)
{
    conn_rec *c = r->connection;

    return sched && !c->master && c->cs && !c->clogging_input_filters
           && !r->main && !r->prev && r->invoke_mtx;
}

apr_pool_t *sse_sched_scratch_pool(void)
{
    if (!thread_scratch || thread_scratch_parent != scratch_parent) {
        apr_allocator_t *allocator;

        apr_allocator_create(&allocator);
        apr_allocator_max_free_set(allocator, SCRATCH_MAX_FREE);
        apr_pool_create_ex(&thread_scratch, scratch_parent, NULL, allocator);
        apr_allocator_owner_set(allocator, thread_scratch);
        apr_pool_tag(thread_scratch, "sse_tick");
        thread_scratch_parent = scratch_parent;
    }
    return thread_scratch;
}


/* ------------------------------------------------------------------ */
/* Finishing a suspended stream                                        */
/* ------------------------------------------------------------------ */

#ifndef AP_MPMQ_CAN_SUSPEND
/* 2.4 has no ap_mpm_resume_suspended(): nothing would ever take this
 * connection back, so end it here. Finish the response (EOS, then EOR,
 * which logs the request and frees r->pool once written), flush, send our
 * FIN and drain what the client sent, close. Then destroy the connection's
 * pool: in 2.4 that is event's transaction pool, whose cleanup
 * (decrement_connection_count) drops the child's connection count and,
 * seeing CONN_STATE_SUSPENDED, its suspended count. We do not linger
 * waiting for the client's FIN: an SSE client sends nothing after its
 * request, and waiting would hold the worker. */
static void close_suspended_connection(request_rec *r)
{
    conn_rec *c = r->connection;
    apr_socket_t *sock = ap_get_conn_socket(c);

    if (!c->aborted && !sse_conn_has_room(c)) {
        c->aborted = 1;             /* nothing more can reach this client */
    }
    ap_finalize_request_protocol(r);
    ap_process_request_after_handler(r);        /* r is gone from here */
    c->cs->state = CONN_STATE_SUSPENDED;        /* what the cleanup counts */

    if (sock) {
        if (!ap_start_lingering_close(c)) {
            char drain[512];
            apr_size_t n;
            int rounds = 16;

            apr_socket_timeout_set(sock, 0);
            do {
                n = sizeof(drain);
            } while (apr_socket_recv(sock, drain, &n) == APR_SUCCESS && n > 0 && --rounds);
        }
        apr_socket_close(sock);
    }
    apr_pool_destroy(c->pool);
}
#else
static void close_suspended_connection(request_rec *r)
{
    conn_rec *c = r->connection;

    ap_finalize_request_protocol(r);
    ap_process_request_after_handler(r);
    ap_mpm_resume_suspended(c);
}
#endif

/* ------------------------------------------------------------------ */
/* The tick                                                            */
/* ------------------------------------------------------------------ */

/* 1 once the worker that suspended this connection is done with it, so
 * its pool may go.
 *
 * Our suspend_connection hook runs inside event's notify_suspend(), which
 * after the hook still writes c->sbh and cs->suspended (cs lives in
 * c->pool): server/mpm/event/event.c of httpd's 2.4.x branch (f45abec1,
 * 2.4.63-dev), notify_suspend() lines 831-836, called from
 * process_socket() at lines 1288-1291 as its last step for a
 * CONN_STATE_SUSPENDED connection. process_socket() then returns to
 * worker_thread(), which touches nothing of the connection again and, on
 * its way back to the queue, calls ap_queue_info_set_idle() (atomic
 * operations: a full barrier) and then sets its own scoreboard status to
 * SERVER_READY or SERVER_GRACEFUL (lines 2178-2199). While the handler ran
 * (and so in our hook) that status was SERVER_BUSY_WRITE (http_core.c
 * line 154). So once the status differs from the one seen in the hook,
 * event's writes are done: an ordering, not a timing guess. The status
 * may go back to SERVER_BUSY_WRITE for another request before we look;
 * that only makes us look again, and after SUSPENDER_WAIT_MAX of never
 * catching it elsewhere (a worker that is always busy writing at the
 * instants we look, far past the few instructions left) we close. */
static int suspender_done(suspended_stream *e, apr_time_t now)
{
    if (e->suspender_gone) return 1;
    if (e->suspender
        && ((const volatile worker_score *)e->suspender)->status != e->suspender_status) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, e->r,
                      "mod_sse: the suspending worker was seen off the connection "
                      "%ld us after the hook",
                      (long)(now - e->suspended_at));
        e->suspender_gone = 1;
        return 1;
    }
    if (now - e->suspended_at >= SUSPENDER_WAIT_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, e->r,
                      "mod_sse: the worker that suspended this stream was never seen "
                      "idle in %d s; closing it now",
                      (int)apr_time_sec(SUSPENDER_WAIT_MAX));
        e->suspender_gone = 1;
        return 1;
    }
    return 0;
}

/* Ticks e. Returns 1 with *next when the stream goes on, for the caller
 * to queue it again; 0 when it was finished (or queued to be). */
static int run_tick(suspended_stream *e, apr_time_t *next)
{
    request_rec *r = e->r;
    apr_pool_t *scratch = sse_sched_scratch_pool();
    sse_sched_result res;

    /* Looked at every tick (a read), so a stream that ends later closes
     * without waiting. */
    suspender_done(e, apr_time_now());
    if (!e->closing) {
        apr_thread_mutex_lock(r->invoke_mtx);
        if (stream_hung_up(e)) {
            /* No store query, no write: the client has gone. */
            r->connection->aborted = 1;
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "mod_sse: suspended stream ended: the client closed its connection");
            res = SSE_SCHED_DONE;
        }
        else {
            res = e->tick(e->baton, scratch, apr_time_now(), e->watch != 0, next);
            apr_pool_clear(scratch);
        }
        apr_thread_mutex_unlock(r->invoke_mtx);
        if (res == SSE_SCHED_AGAIN) {
            return 1;
        }
        e->closing = 1;
    }
    if (!suspender_done(e, apr_time_now())) {
        /* Rare: a stream over at once (graceful stop, expired token). */
        schedule(e, apr_time_now() + CLOSE_RECHECK);
        return 0;
    }
    watch_stop(e);
    e->done(e->baton);
    close_suspended_connection(r);
    return 0;
}

/* Up to `max` streams already due, taken from the heap under one lock. */
static int take_due(suspended_stream **v, int max)
{
    apr_time_t now = apr_time_now();
    int n = 0;

    apr_thread_mutex_lock(sched->lock);
    while (n < max && sched->heap.len && heap_first_due() <= now) {
        v[n++] = heap_pop();
    }
    apr_thread_mutex_unlock(sched->lock);
    return n;
}

/* The timed callback: ticks its stream, then goes on with streams that
 * are due, so at a steady load a few busy workers tick everything without
 * a callback each. It takes and queues them back TAKE_BATCH at a time, one
 * lock for each handful rather than two per tick. A worker held up by a
 * slow store takes no more; the scheduler hands what is waiting to other
 * workers. */
static void run_callback(void *baton)
{
    suspended_stream *due[TAKE_BATCH], *again[TAKE_BATCH];
    apr_time_t at[TAKE_BATCH];
    int n = 1, ticked = 0, slow = 0;

    due[0] = baton;
    while (n > 0) {
        int i, k = 0;

        for (i = 0; i < n && !slow; i++) {
            apr_time_t began = apr_time_now();

            if (run_tick(due[i], &at[k])) {
                again[k++] = due[i];
            }
            slow = apr_time_now() - began > SLOW_TICK;
        }
        /* Held up (a slow store, or a shared read under way): the streams
         * not ticked yet go back at their own deadlines, for other
         * workers to take, and this one takes no more. */
        for (; i < n; i++) {
            again[k] = due[i];
            at[k++] = due[i]->node.due;
        }
        if (k) {
            schedule_many(again, at, k);
        }
        ticked += n;
        if (slow || ticked >= TICKS_PER_CALLBACK) break;
        n = take_due(due, TAKE_BATCH);
    }
}

/* ------------------------------------------------------------------ */
/* Memory a suspended stream does not need                             */
/* ------------------------------------------------------------------ */

static ap_filter_rec_t *hold_headers_filter_handle;

/* The HTTP header filter passes the response headers down on their own,
 * without a FLUSH. The core output filter sets such a small brigade aside
 * and creates a pool for it (deferred_write) that it keeps, cleared, for
 * the connection's life: 8 KB mapped, 4 KB resident, per stream. This
 * filter sits below the header and chunk filters for a stream's first write and
 * holds the headers until the opening events (which end in a FLUSH) come,
 * so the core gets headers and events as one flushed brigade and sets
 * nothing aside. Then it takes itself out. */
static apr_status_t hold_headers_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_bucket_brigade *held = f->ctx;
    apr_bucket *b;
    int flush = 0;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_FLUSH(b) || APR_BUCKET_IS_EOS(b)) {
            flush = 1;
            break;
        }
    }
    if (!flush) {
        if (!held) {
            f->ctx = held = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
            apr_bucket_setaside(b, f->r->pool);
        }
        APR_BRIGADE_CONCAT(held, bb);
        return APR_SUCCESS;
    }
    if (held) {
        APR_BRIGADE_PREPEND(bb, held);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void sse_sched_before_first_write(request_rec *r)
{
    ap_add_output_filter_handle(hold_headers_filter_handle, NULL, r, r->connection);
}

int sse_sched_suspend(request_rec *r, sse_sched_tick_fn tick, sse_sched_done_fn done,
                      void *baton, apr_time_t next)
{
    suspended_stream *e = apr_palloc(r->pool, sizeof(*e));
    apr_allocator_t *allocator;
    apr_bucket_brigade *in;

    memset(e, 0, sizeof(*e));
    e->tick = tick;
    e->done = done;
    e->baton = baton;
    e->r = r;
    e->node.due = next;
    e->hung_up = 0;
    e->watch = 0;
    /* event gives each connection its own allocator, which keeps freed
     * blocks for reuse (MaxMemFree). A suspended stream allocates nothing
     * more from it, so a kept block would cost every stream 8 KB for its
     * whole life: give freed blocks back at once... */
    allocator = apr_pool_allocator_get(r->connection->pool);
    apr_allocator_max_free_set(allocator, 1);
    /* ...including the buffers reading the request left behind: the core
     * input filter still holds the block the request was read into, and
     * the allocator a spare one. A speculative read (nothing to read: the
     * client sends nothing after its request) lets go of the first,
     * taking and returning the second. */
    in = apr_brigade_create(sse_sched_scratch_pool(), r->connection->bucket_alloc);
    ap_get_brigade(r->connection->input_filters, in, AP_MODE_SPECULATIVE, APR_NONBLOCK_READ, 1);
    apr_brigade_cleanup(in);
    /* Queued once the MPM has marked the connection suspended (below), not
     * here: a tick that ran and finished the stream while the worker that
     * ran this handler is still suspending the connection would free the
     * connection under it. */
    ap_set_module_config(r->connection->conn_config, &sse_module, e);
    return SUSPENDED;
}

/* suspend_connection hook: event runs it as the last step of suspending a
 * connection, on the worker that ran the handler. */
static void connection_suspended(conn_rec *c, request_rec *r)
{
    suspended_stream *e = ap_get_module_config(c->conn_config, &sse_module);

    if (e && sched) {
        ap_set_module_config(c->conn_config, &sse_module, NULL);
        /* Who is suspending us, and what its status says meanwhile: the
         * handshake suspender_done() waits for before closing. */
        e->suspender = c->sbh ? ap_get_scoreboard_worker(c->sbh) : NULL;
        if (e->suspender) {
            e->suspender_status = e->suspender->status;
            if (e->suspender_status == SERVER_READY || e->suspender_status == SERVER_GRACEFUL) {
                e->suspender = NULL;        /* nothing to tell apart: wait the bound */
            }
        }
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                      "mod_sse: suspended by a worker in scoreboard status %d%s",
                      e->suspender_status, e->suspender ? "" : " (not told apart: bounded wait)");
        e->suspended_at = apr_time_now();
        watch_start(e);
        schedule(e, e->node.due);
    }
}

void sse_sched_register_hooks(apr_pool_t *p)
{
    ap_hook_suspend_connection(connection_suspended, NULL, NULL, APR_HOOK_MIDDLE);
    /* Below the header filter and chunking (AP_FTYPE_TRANSCODE), which
     * must see only the body, and above every connection filter. */
    hold_headers_filter_handle =
        ap_register_output_filter("SSE_HOLD_HEADERS", hold_headers_filter, NULL,
                                  AP_FTYPE_TRANSCODE + 5);
}
