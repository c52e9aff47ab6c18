/* server.c: the event loop. One thread, level-triggered epoll, non-blocking
 * sockets. A connection hit by blockConnection is parked (no EPOLLIN) with a
 * deadline and its request left unconsumed in its buffer; when the deadline
 * passes the request is run, so only that connection waits. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r, accept4 */
#endif
#include "server.h"

#include "clock.h"
#include "commands.h"
#include "cursor.h"
#include "reply.h"
#include "simulate.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define READ_BURST (1024 * 1024)
#define OUT_HIGH_WATER (8 * 1024 * 1024) /* stop reading a client that does not read */
#define HOUSEKEEPING_MS 60000

typedef struct conn {
    int fd;
    char peer[64];
    ms_client_t client;
    ms_buf_t in;
    size_t in_off;
    ms_buf_t out;
    size_t out_off;
    uint32_t events;       /* the epoll mask currently registered */
    int64_t blocked_until; /* monotonic ms; 0 when not parked */
    bool has_pending;      /* pending: the failpoint action left after the block */
    ms_fail_action_t pending;
    struct conn *prev, *next;
} conn_t;

typedef struct {
    ms_state_t *st;
    const ms_server_config_t *cfg;
    int epfd, listen_fd, signal_fd;
    conn_t *conns;
    size_t nblocked;
    int32_t next_request_id;
    int64_t next_tick, next_housekeeping;
    bool stopping;
} server_t;

static int listen_token, signal_token; /* epoll tags for the two non-client fds */

enum { HANDLED, PARKED, CLOSE };

static void log_line(const server_t *s, const char *fmt, ...) BSON_GNUC_PRINTF(2, 3);
static void log_line(const server_t *s, const char *fmt, ...)
{
    if (s->cfg->quiet)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mock-store: %s\n", line);
}

/* ---- connections ----------------------------------------------------- */

static void conn_set_events(server_t *s, conn_t *c)
{
    uint32_t want = 0;
    if (!c->blocked_until && c->out.len - c->out_off < OUT_HIGH_WATER)
        want |= EPOLLIN;
    if (c->out_off < c->out.len)
        want |= EPOLLOUT;
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
}

static void conn_close(server_t *s, conn_t *c)
{
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->blocked_until)
        s->nblocked--;
    ms_fail_action_clear(&c->pending);
    ms_buf_free(&c->in);
    ms_buf_free(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->st->connections_current--;
    free(c);
}

/* Writes what is queued; false when the peer is gone. */
static bool conn_flush(conn_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            return false;
        }
    }
    c->out.len = c->out_off = 0;
    if (c->out.cap > 4 * 1024 * 1024)
        ms_buf_free(&c->out); /* do not keep a huge reply's buffer per idle client */
    return true;
}

/* Runs one complete request: the failpoint first, then the command. */
static int handle_request(server_t *s, conn_t *c, const ms_wire_msg_t *msg)
{
    bson_t cmd;
    char dbbuf[256];
    const char *db;
    if (!ms_wire_command(msg, &cmd, dbbuf, sizeof dbbuf, &db)) {
        bson_destroy(&cmd);
        log_line(s, "closing connection %u from %s: unreadable command", c->client.id, c->peer);
        return CLOSE;
    }
    const char *name = ms_command_name(&cmd);
    ms_fail_action_t act;
    bool fires;
    if (c->has_pending) {
        /* This request already waited out its blockTimeMS. */
        act = c->pending;
        memset(&c->pending, 0, sizeof c->pending);
        c->has_pending = false;
        fires = true;
    } else {
        ms_command_count(s->st, name);
        fires = ms_failpoint_check(&s->st->failpoint, name, c->client.app_name, &act);
    }
    if (fires && act.close_connection) {
        ms_fail_action_clear(&act);
        bson_destroy(&cmd);
        return CLOSE;
    }
    if (fires && act.block_ms > 0) {
        c->blocked_until = ms_monotonic_ms() + act.block_ms;
        act.block_ms = 0;
        c->pending = act;
        c->has_pending = true;
        s->nblocked++;
        bson_destroy(&cmd);
        return PARKED;
    }

    bson_t reply;
    bson_init(&reply);
    if (fires && act.has_error_code) {
        ms_reply_error(&reply, act.error_code, "Failing command via 'failCommand' failpoint");
        ms_reply_error_labels(&reply, act.error_labels);
    } else {
        ms_command_run(s->st, &c->client, db, &cmd, &reply);
        if (fires && act.write_concern_error)
            BSON_APPEND_DOCUMENT(&reply, "writeConcernError", act.write_concern_error);
    }
    ms_fail_action_clear(&act);
    bool wants_reply = !(msg->opcode == MS_OP_MSG && (msg->flags & MS_MSG_MORE_TO_COME));
    if (wants_reply)
        ms_wire_append_reply(&c->out, msg, ++s->next_request_id, &reply);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return HANDLED;
}

/* Runs every complete request in the input buffer, then writes the replies.
 * False means: close this connection. */
static bool conn_process(server_t *s, conn_t *c)
{
    while (!c->blocked_until) {
        ms_wire_msg_t msg;
        char why[160];
        ms_wire_status_t st =
            ms_wire_parse(c->in.data + c->in_off, c->in.len - c->in_off, &msg, why, sizeof why);
        if (st == MS_WIRE_INCOMPLETE)
            break;
        if (st == MS_WIRE_INVALID) {
            log_line(s, "closing connection %u from %s: %s", c->client.id, c->peer, why);
            return false;
        }
        int r = handle_request(s, c, &msg);
        if (r == CLOSE)
            return false;
        if (r == PARKED)
            break;
        c->in_off += (size_t)msg.length;
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
        if (c->in.cap > 4 * 1024 * 1024)
            ms_buf_free(&c->in);
    } else if (c->in_off > 0 && c->in_off >= c->in.len / 2) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    if (!conn_flush(c))
        return false;
    conn_set_events(s, c);
    return true;
}

/* Reads at most READ_BURST bytes per wakeup, so a client that pipelines
 * without pause is processed as it goes instead of being buffered whole;
 * level-triggered epoll brings us back for the rest. */
static bool conn_read(server_t *s, conn_t *c)
{
    for (size_t total = 0; total < READ_BURST;) {
        ms_buf_reserve(&c->in, READ_CHUNK);
        size_t room = c->in.cap - c->in.len;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, room, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            total += (size_t)n;
            if ((size_t)n < room)
                break;
        } else if (n == 0) {
            return false;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            return false;
        }
    }
    return conn_process(s, c);
}

static void accept_clients(server_t *s)
{
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t alen = sizeof addr;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&addr, &alen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_line(s, "accept failed: %s", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = calloc(1, sizeof *c);
        if (!c)
            abort();
        c->fd = fd;
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
        getnameinfo((struct sockaddr *)&addr, alen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
        c->client.id = ++s->st->connections_total;
        s->st->connections_current++;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            conn_close(s, c);
    }
}

/* ---- timers ---------------------------------------------------------- */

static int64_t next_deadline(const server_t *s)
{
    int64_t d = s->next_housekeeping;
    if (s->cfg->sim_db && s->next_tick < d)
        d = s->next_tick;
    if (s->nblocked)
        for (const conn_t *c = s->conns; c; c = c->next)
            if (c->blocked_until && c->blocked_until < d)
                d = c->blocked_until;
    return d;
}

static void run_timers(server_t *s)
{
    int64_t now = ms_monotonic_ms();
    if (s->nblocked) {
        for (conn_t *c = s->conns, *next; c; c = next) {
            next = c->next;
            if (!c->blocked_until || c->blocked_until > now)
                continue;
            c->blocked_until = 0;
            s->nblocked--;
            if (!conn_process(s, c))
                conn_close(s, c);
        }
    }
    if (s->cfg->sim_db && now >= s->next_tick) {
        ms_simulate_tick(&s->st->store, s->cfg->sim_db, s->cfg->sim_coll, s->cfg->sim_loop_id,
                         ms_wall_ms());
        int64_t period = (int64_t)(s->cfg->sim_seconds * 1000);
        s->next_tick += period;
        if (s->next_tick <= now)
            s->next_tick = now + period;
    }
    if (now >= s->next_housekeeping) {
        ms_cursors_expire(&s->st->cursors, now);
        s->next_housekeeping = now + HOUSEKEEPING_MS;
    }
}

/* ---- setup ----------------------------------------------------------- */

static int open_listener(server_t *s, int *port_out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char port[16];
    snprintf(port, sizeof port, "%d", s->cfg->port);
    int rc = getaddrinfo(s->cfg->bind, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "mock-store: cannot resolve %s: %s\n", s->cfg->bind, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "mock-store: cannot listen on %s:%d: %s\n", s->cfg->bind, s->cfg->port,
                strerror(errno));
        return -1;
    }
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    *port_out = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                 : ((struct sockaddr_in *)&addr)->sin_port);
    return fd;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int ms_server_run(ms_state_t *state, const ms_server_config_t *config)
{
    server_t s = {.st = state, .cfg = config, .epfd = -1, .listen_fd = -1, .signal_fd = -1};
    raise_fd_limit();

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    int port;
    s.listen_fd = open_listener(&s, &port);
    if (s.listen_fd < 0)
        return 1;
    s.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listen_token};
    epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.listen_fd, &ev);
    ev.data.ptr = &signal_token;
    epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.signal_fd, &ev);

    snprintf(state->host, sizeof state->host, "%s:%d", config->bind, port);
    int64_t now = ms_monotonic_ms();
    s.next_tick = now + (int64_t)(config->sim_seconds * 1000);
    s.next_housekeeping = now + HOUSEKEEPING_MS;
    printf("mock-store listening on %s:%d\n", config->bind, port);
    fflush(stdout);

    struct epoll_event events[256];
    while (!s.stopping) {
        int64_t wait = next_deadline(&s) - ms_monotonic_ms();
        int n = epoll_wait(s.epfd, events, 256, wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait);
        if (n < 0 && errno != EINTR) {
            perror("mock-store: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &listen_token) {
                accept_clients(&s);
            } else if (tag == &signal_token) {
                struct signalfd_siginfo si;
                while (read(s.signal_fd, &si, sizeof si) == sizeof si)
                    s.stopping = true;
            } else {
                conn_t *c = tag;
                uint32_t e = events[i].events;
                bool alive = !(e & EPOLLERR);
                if (alive && (e & (EPOLLIN | EPOLLHUP)))
                    alive = conn_read(&s, c);
                if (alive && (e & EPOLLOUT)) {
                    alive = conn_flush(c);
                    if (alive)
                        conn_set_events(&s, c);
                }
                if (!alive)
                    conn_close(&s, c);
            }
        }
        run_timers(&s);
    }

    while (s.conns)
        conn_close(&s, s.conns);
    close(s.epfd);
    close(s.signal_fd);
    close(s.listen_fd);
    log_line(&s, "stopped");
    return 0;
}
