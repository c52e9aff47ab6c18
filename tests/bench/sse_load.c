/* sse_load.c: the benchmark's load client. Holds N authenticated SSE streams
 * over K documents and measures, for every `status` event that reports a
 * change made after its stream opened, the time from the change (the
 * document's updatedAt, which the benchmark sets to the moment it writes)
 * to its arrival here.
 *
 * One epoll loop per process and a few processes (a process may hold fewer
 * descriptors than the streams we want), so the client is never what limits
 * the server. Each process rewrites a small JSON stats file every second
 * with cumulative counters and a latency histogram (1 ms buckets); the
 * benchmark driver reads and subtracts them.
 *
 *
 * Storms (--storm-spread-ms S): on SIGUSR1 a process closes every stream
 * and reopens each at a random moment within S ms, all at once (no
 * inflight limit); with --reconnect, a stream the server closed reopens
 * the same way (a failover). For each reopened stream it records the time
 * from its reopening to its first `status` event, and the moment that
 * event arrived, so the driver can tell when all were live again.
 *
 *   sse_load --port P --streams N --docs K --token-file F --stats-dir D
 *            [--path /v1/meetings/%s/events] [--doc-prefix b] [--procs M]
 *            [--inflight 200] [--src-ips 8] [--storm-spread-ms 1000]
 *            [--reconnect 1]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define LINE_KEEP 64            /* we only look at the start of a line */
#define HIST_MS 65536

enum { ST_IDLE, ST_CONNECTING, ST_WAIT_STATUS, ST_HEADERS, ST_BODY, ST_DONE };

typedef struct {
    int fd;
    int state;
    int doc;
    int seq;
    int64_t opened_ms;
    int64_t reopen_at;          /* storm: reopen then; 0 = not waiting */
    int64_t reopened_ms;        /* storm: reopened, no status yet; 0 = none */
    int line_len;
    char line[LINE_KEEP + 1];
} stream_t;

static struct {
    int port, streams, docs, procs, inflight, src_ips, storm_spread_ms, reconnect;
    const char *path, *doc_prefix, *stats_dir;
    char token[8192];
} opt = { 0, 0, 1, 0, 200, 8, 0, 0, "/v1/meetings/%s/events", "b", NULL, { 0 } };

static struct {
    long connected, failed, closed, statuses, changes, lost;
    uint32_t hist[HIST_MS];
    /* storms */
    int64_t storm_t0, storm_last;
    long storm_reopened, storm_live, storm_failed;
    uint32_t storm_hist[HIST_MS];
} st;

static volatile sig_atomic_t stop, storm_requested;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-25T09:00:03.120Z" -> ms since the epoch; -1 if not that shape. */
static int64_t iso_ms(const char *s)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static void write_stats(int index)
{
    char path[4096], tmp[4200];
    FILE *f;
    int i, first = 1;

    snprintf(path, sizeof(path), "%s/load.%d.json", opt.stats_dir, index);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "w"))) return;
    fprintf(f, "{\"pid\":%d,\"connected\":%ld,\"failed\":%ld,\"closed\":%ld,\"statuses\":%ld,"
               "\"changes\":%ld,\"lost\":%ld,\"hist\":[",
            (int)getpid(), st.connected, st.failed, st.closed, st.statuses, st.changes, st.lost);
    for (i = 0; i < HIST_MS; i++) {
        if (!st.hist[i]) continue;
        fprintf(f, "%s[%d,%u]", first ? "" : ",", i, st.hist[i]);
        first = 0;
    }
    fprintf(f, "],\"storm_t0\":%lld,\"storm_last\":%lld,\"storm_reopened\":%ld,"
               "\"storm_live\":%ld,\"storm_failed\":%ld,\"storm_hist\":[",
            (long long)st.storm_t0, (long long)st.storm_last, st.storm_reopened, st.storm_live,
            st.storm_failed);
    first = 1;
    for (i = 0; i < HIST_MS; i++) {
        if (!st.storm_hist[i]) continue;
        fprintf(f, "%s[%d,%u]", first ? "" : ",", i, st.storm_hist[i]);
        first = 0;
    }
    fprintf(f, "]}\n");
    fclose(f);
    rename(tmp, path);
}

static void on_line(stream_t *s, const char *line)
{
    if (s->state == ST_WAIT_STATUS) {
        if (!strncmp(line, "HTTP/1.", 7) && !strncmp(line + 8, " 200", 4)) {
            s->state = ST_HEADERS;
            st.connected++;
        }
        else {
            st.failed++;
            if (s->reopened_ms) st.storm_failed++;
            s->reopened_ms = 0;
            s->state = ST_DONE;
        }
        return;
    }
    if (s->state == ST_HEADERS) {
        if (!*line) s->state = ST_BODY;
        return;
    }
    /* The body is chunked; chunk-size lines never look like these. */
    if (!strncmp(line, "id: ", 4)) {
        int64_t t = iso_ms(line + 4);
        st.statuses++;
        if (s->reopened_ms) {
            int64_t now = now_ms(), took = now - s->reopened_ms;
            if (took < 0) took = 0;
            if (took >= HIST_MS) took = HIST_MS - 1;
            st.storm_hist[took]++;
            st.storm_live++;
            st.storm_last = now;
            s->reopened_ms = 0;
        }
        if (t > s->opened_ms) {
            int64_t lat = now_ms() - t;
            st.changes++;
            if (lat < 0) lat = 0;
            if (lat >= HIST_MS) lat = HIST_MS - 1;
            st.hist[lat]++;
        }
    }
    else if (!strcmp(line, "event: connectionLost")) {
        st.lost++;
    }
}

static void feed(stream_t *s, const char *buf, ssize_t n)
{
    ssize_t i;
    for (i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == '\n') {
            if (s->line_len && s->line[s->line_len - 1] == '\r') s->line_len--;
            s->line[s->line_len] = '\0';
            on_line(s, s->line);
            s->line_len = 0;
        }
        else if (s->line_len < LINE_KEEP) {
            s->line[s->line_len++] = ch;
        }
    }
}

static int start_connect(stream_t *s, int epfd, int seq)
{
    struct sockaddr_in to, from;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct epoll_event ev;

    if (fd < 0) return -1;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)opt.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (opt.src_ips > 0) {
        memset(&from, 0, sizeof(from));
        from.sin_family = AF_INET;
        from.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(seq % opt.src_ips));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        bind(fd, (struct sockaddr *)&from, sizeof(from));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    s->fd = fd;
    s->state = ST_CONNECTING;
    s->line_len = 0;
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = s;
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void send_request(stream_t *s, int epfd)
{
    char id[64], path[256], req[10000];
    struct epoll_event ev;
    int n;

    snprintf(id, sizeof(id), "%s%d", opt.doc_prefix, s->doc);
    snprintf(path, sizeof(path), opt.path, id);
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 "Authorization: Bearer %s\r\n\r\n", path, opt.token);
    s->opened_ms = now_ms();
    if (write(s->fd, req, (size_t)n) != n) {
        st.failed++;
        s->state = ST_DONE;
        return;
    }
    s->state = ST_WAIT_STATUS;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = s;
    epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static int64_t storm_moment(int64_t from)
{
    return from + (opt.storm_spread_ms > 0 ? rand() % opt.storm_spread_ms : 0) + 1;
}

/* by_server: the server (or the network) ended it, not a storm's close. */
static void finish(stream_t *s, int epfd, int by_server)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    if (s->state >= ST_HEADERS) st.closed++;
    else if (s->state != ST_DONE) st.failed++;
    if (s->reopened_ms && s->state < ST_BODY) st.storm_failed++;
    s->reopened_ms = 0;
    if (by_server && opt.reconnect && opt.storm_spread_ms > 0 && s->state == ST_BODY) {
        int64_t now = now_ms();
        if (!st.storm_t0) st.storm_t0 = now;
        s->reopen_at = storm_moment(now);
    }
    s->fd = -1;
    s->state = ST_DONE;
}

/* SIGUSR1: every stream closes now and reopens within the spread. */
static void start_storm(stream_t *streams, int count, int epfd)
{
    int64_t now = now_ms();
    int i;

    st.storm_t0 = now;
    for (i = 0; i < count; i++) {
        if (streams[i].fd >= 0) finish(&streams[i], epfd, 0);
        streams[i].reopen_at = storm_moment(now);
    }
}

static void on_storm_signal(int sig) { (void)sig; storm_requested = 1; }

static void on_signal(int sig) { (void)sig; stop = 1; }

static int run(int index)
{
    int count = 0, i, next = 0, pending = 0, epfd = epoll_create1(EPOLL_CLOEXEC);
    stream_t *streams;
    struct epoll_event events[512];
    int64_t last_stats = 0;
    char buf[65536];

    for (i = index; i < opt.streams; i += opt.procs) count++;
    streams = calloc((size_t)count, sizeof(*streams));
    for (i = 0; i < count; i++) {
        streams[i].fd = -1;
        streams[i].doc = (index + i * opt.procs) % opt.docs;
        streams[i].seq = index + i * opt.procs;
    }
    srand((unsigned)(getpid() ^ now_ms()));
    while (!stop) {
        int n, wait_ms = 200;
        if (storm_requested) {
            storm_requested = 0;
            start_storm(streams, count, epfd);
        }
        /* Storm reopenings are all at once: no inflight limit. */
        if (st.storm_t0) {
            int64_t now = now_ms(), soonest = 0;
            for (i = 0; i < count; i++) {
                stream_t *s = &streams[i];
                if (!s->reopen_at) continue;
                if (s->reopen_at <= now) {
                    s->reopen_at = 0;
                    st.storm_reopened++;
                    if (start_connect(s, epfd, s->seq) < 0) {
                        st.failed++;
                        st.storm_failed++;
                        s->state = ST_DONE;
                        continue;
                    }
                    s->reopened_ms = now;
                }
                else if (!soonest || s->reopen_at < soonest) {
                    soonest = s->reopen_at;
                }
            }
            if (soonest && soonest - now < wait_ms) wait_ms = (int)(soonest - now);
        }
        /* Keep at most `inflight` streams between connect and their 200. */
        while (next < count && pending < opt.inflight) {
            if (start_connect(&streams[next], epfd, index + next * opt.procs) < 0) {
                st.failed++;
                streams[next].state = ST_DONE;
            }
            else {
                pending++;
            }
            next++;
        }
        n = epoll_wait(epfd, events, 512, wait_ms);
        for (i = 0; i < n; i++) {
            stream_t *s = events[i].data.ptr;
            int was_pending = s->state < ST_HEADERS && !s->reopened_ms && !st.storm_t0;
            if (s->state == ST_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) { finish(s, epfd, 1); if (was_pending) pending--; continue; }
                send_request(s, epfd);
                if (s->state == ST_DONE) { finish(s, epfd, 1); if (was_pending) pending--; }
                continue;
            }
            for (;;) {
                ssize_t got = read(s->fd, buf, sizeof(buf));
                if (got > 0) {
                    feed(s, buf, got);
                    if (got < (ssize_t)sizeof(buf)) break;
                    continue;
                }
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
                finish(s, epfd, 1);
                break;
            }
            if (was_pending && s->state != ST_WAIT_STATUS) pending--;
        }
        if (now_ms() - last_stats >= 1000) {
            write_stats(index);
            last_stats = now_ms();
        }
    }
    write_stats(index);
    return 0;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    const char *token_file = NULL;
    int i;
    pid_t *kids;
    FILE *f;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) opt.port = atoi(v);
        else if (!strcmp(k, "--streams")) opt.streams = atoi(v);
        else if (!strcmp(k, "--docs")) opt.docs = atoi(v);
        else if (!strcmp(k, "--procs")) opt.procs = atoi(v);
        else if (!strcmp(k, "--inflight")) opt.inflight = atoi(v);
        else if (!strcmp(k, "--src-ips")) opt.src_ips = atoi(v);
        else if (!strcmp(k, "--storm-spread-ms")) opt.storm_spread_ms = atoi(v);
        else if (!strcmp(k, "--reconnect")) { opt.reconnect = atoi(v); }
        else if (!strcmp(k, "--path")) opt.path = v;
        else if (!strcmp(k, "--doc-prefix")) opt.doc_prefix = v;
        else if (!strcmp(k, "--stats-dir")) opt.stats_dir = v;
        else if (!strcmp(k, "--token-file")) token_file = v;
        else { fprintf(stderr, "sse_load: unknown option %s\n", k); return 2; }
    }
    if (!opt.port || opt.streams <= 0 || opt.docs <= 0 || !opt.stats_dir || !token_file) {
        fprintf(stderr, "usage: sse_load --port P --streams N --docs K --token-file F --stats-dir D "
                        "[--procs M] [--path FMT] [--doc-prefix b] [--inflight 200] [--src-ips 8] [--storm-spread-ms S] [--reconnect 1]\n");
        return 2;
    }
    if (!(f = fopen(token_file, "r")) || !fgets(opt.token, sizeof(opt.token), f)) {
        fprintf(stderr, "sse_load: cannot read %s\n", token_file);
        return 2;
    }
    fclose(f);
    opt.token[strcspn(opt.token, "\r\n")] = '\0';

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (opt.procs <= 0) {
        long per = (long)rl.rlim_cur - 64;
        opt.procs = (int)((opt.streams + per - 1) / per);
        if (opt.procs < 1) opt.procs = 1;
    }

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, SIG_IGN);      /* storms are signalled to each process */
    signal(SIGPIPE, SIG_IGN);
    kids = calloc((size_t)opt.procs, sizeof(*kids));
    for (i = 0; i < opt.procs; i++) {
        if ((kids[i] = fork()) == 0) {
            signal(SIGUSR1, on_storm_signal);
            return run(i);
        }
    }
    printf("sse_load: %d streams over %d documents in %d processes\n", opt.streams, opt.docs, opt.procs);
    fflush(stdout);
    while (!stop) pause();
    for (i = 0; i < opt.procs; i++) kill(kids[i], SIGTERM);
    for (i = 0; i < opt.procs; i++) waitpid(kids[i], NULL, 0);
    return 0;
}
