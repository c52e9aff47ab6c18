/* store_bench.c: two measures of mock-store (or any mongod), speaking OP_MSG
 * directly, every reply checked.
 *
 * Throughput: how many `find` by _id a second it answers over N concurrent
 * connections, from one epoll loop, one request in flight per connection, so
 * the client costs about what the server does and is not what gets measured.
 *   store_bench PORT [SECONDS=5] [CONNECTIONS=64] [DB.COLL=meetings_app.meetings]
 * Prints: mock-store find by _id: N/s (C connections, Ss)
 *
 * $in on _id: inserts SIZE meeting-like documents into a fresh collection,
 * then on one connection times finds by _id, finds with {_id: {$in: [100
 * distinct ids]}}, and the same $in wrapped in $and (which mock-store scans:
 * the cost before the _id index answered $in). Cost per op is the store's
 * CPU (utime+stime of PID from /proc) divided by the ops, and the round trip.
 *   store_bench --in PORT PID SECONDS SIZE...
 * Prints one line per size:
 *   $in on _id, N docs: find by _id A µs, $in of 100 ids B µs (ratio Rx), scan C µs; store CPU per op */
#define _GNU_SOURCE
#include <bson/bson.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NIDS 7 /* demo ids m1..m7 */

typedef struct {
    int fd;
    uint8_t buf[65536];
    size_t have;
    unsigned next_id;
} client_t;

static uint8_t *requests[NIDS];
static size_t request_len[NIDS];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void build_requests(const char *db, const char *coll)
{
    for (int i = 0; i < NIDS; i++) {
        char id[8];
        snprintf(id, sizeof id, "m%d", i + 1);
        bson_t cmd = BSON_INITIALIZER, filter;
        BSON_APPEND_UTF8(&cmd, "find", coll);
        BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
        BSON_APPEND_UTF8(&filter, "_id", id);
        bson_append_document_end(&cmd, &filter);
        BSON_APPEND_INT32(&cmd, "limit", 1);
        BSON_APPEND_BOOL(&cmd, "singleBatch", true);
        BSON_APPEND_UTF8(&cmd, "$db", db);
        size_t len = 16 + 4 + 1 + cmd.len;
        uint8_t *m = calloc(1, len);
        int32_t v = (int32_t)len;
        memcpy(m, &v, 4);
        v = i + 1;
        memcpy(m + 4, &v, 4);
        v = 2013;
        memcpy(m + 12, &v, 4);
        memcpy(m + 21, bson_get_data(&cmd), cmd.len);
        requests[i] = m;
        request_len[i] = len;
        bson_destroy(&cmd);
    }
}

static int send_request(client_t *c)
{
    unsigned i = c->next_id++ % NIDS;
    ssize_t n = send(c->fd, requests[i], request_len[i], MSG_NOSIGNAL);
    return n == (ssize_t)request_len[i] ? 0 : -1;
}

/* A reply is good when it is an OP_MSG whose body says ok: 1 and holds a document. */
static int check_reply(const uint8_t *msg, size_t len)
{
    bson_t doc;
    bson_iter_t it;
    if (len < 21 || !bson_init_static(&doc, msg + 21, len - 21))
        return -1;
    if (!bson_iter_init_find(&it, &doc, "ok") || bson_iter_as_double(&it) != 1.0)
        return -1;
    if (!bson_iter_init(&it, &doc) || !bson_iter_find_descendant(&it, "cursor.firstBatch.0._id", &it))
        return -1;
    return 0;
}

/* ---- $in on _id -------------------------------------------------------- */

#define IN_IDS 100

/* A blocking connection; requests go out one at a time. */
static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("store_bench: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void io_all(int fd, void *buf, size_t len, int sending)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = sending ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "store_bench: connection lost\n");
            exit(1);
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Sends cmd as an OP_MSG and returns the reply body (caller frees with
 * bson_destroy); exits when the reply is not {ok: 1}. */
static bson_t *roundtrip(int fd, const bson_t *cmd)
{
    static int32_t request_id;
    uint8_t head[21] = {0};
    int32_t v = (int32_t)(21 + cmd->len);
    memcpy(head, &v, 4);
    v = ++request_id;
    memcpy(head + 4, &v, 4);
    v = 2013;
    memcpy(head + 12, &v, 4);
    io_all(fd, head, sizeof head, 1);
    io_all(fd, (void *)bson_get_data(cmd), cmd->len, 1);
    int32_t mlen;
    io_all(fd, &mlen, 4, 0);
    if (mlen < 26 || mlen > 48 * 1024 * 1024) {
        fprintf(stderr, "store_bench: bad reply length %d\n", mlen);
        exit(1);
    }
    uint8_t *msg = malloc((size_t)mlen);
    io_all(fd, msg + 4, (size_t)mlen - 4, 0);
    bson_t *reply = bson_new_from_data(msg + 21, (size_t)mlen - 21);
    free(msg);
    bson_iter_t it;
    if (!reply || !bson_iter_init_find(&it, reply, "ok") || bson_iter_as_double(&it) != 1.0) {
        char *j = reply ? bson_as_relaxed_extended_json(reply, NULL) : NULL;
        fprintf(stderr, "store_bench: command failed: %s\n", j ? j : "(no reply)");
        exit(1);
    }
    return reply;
}

/* The store process's CPU time so far, in seconds. */
static double process_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        fprintf(stderr, "store_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    /* the fields after the command name: state is field 3, utime 14, stime 15 */
    const char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2) {
        fprintf(stderr, "store_bench: cannot parse %s\n", path);
        exit(1);
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void doc_id(char *buf, size_t len, size_t i)
{
    snprintf(buf, len, "b%06zu", i);
}

static void insert_docs(int fd, const char *db, const char *coll, size_t n)
{
    bson_t *drop = BCON_NEW("drop", BCON_UTF8(coll), "$db", BCON_UTF8(db));
    bson_destroy(roundtrip(fd, drop));
    bson_destroy(drop);
    for (size_t from = 0; from < n; from += 1000) {
        bson_t cmd = BSON_INITIALIZER, arr;
        BSON_APPEND_UTF8(&cmd, "insert", coll);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "documents", &arr);
        for (size_t i = from; i < n && i < from + 1000; i++) {
            char key[16], id[24];
            const char *k;
            bson_uint32_to_string((uint32_t)(i - from), &k, key, sizeof key);
            doc_id(id, sizeof id, i);
            bson_t d;
            bson_append_document_begin(&arr, k, -1, &d);
            BSON_APPEND_UTF8(&d, "_id", id);
            BSON_APPEND_UTF8(&d, "ownerId", i % 2 ? "alice" : "bob");
            BSON_APPEND_UTF8(&d, "title", "Weekly planning meeting, second floor");
            BSON_APPEND_UTF8(&d, "status", "transcribing");
            BSON_APPEND_INT32(&d, "progress", (int32_t)(i % 100));
            BSON_APPEND_DATE_TIME(&d, "updatedAt", 1700000000000 + (int64_t)i);
            bson_append_document_end(&arr, &d);
        }
        bson_append_array_end(&cmd, &arr);
        BSON_APPEND_UTF8(&cmd, "$db", db);
        bson_destroy(roundtrip(fd, &cmd));
        bson_destroy(&cmd);
    }
}

/* find with a filter on _id: one id, IN_IDS distinct ids in $in, or that
 * $in inside $and (scanned). */
typedef enum { BY_ID, IN_LIST, IN_SCAN } in_kind_t;

static bson_t *in_command(const char *db, const char *coll, size_t ndocs, in_kind_t kind)
{
    bson_t *cmd = bson_new(), filter, cond, and_arr, in, el;
    char id[24];
    BSON_APPEND_UTF8(cmd, "find", coll);
    BSON_APPEND_DOCUMENT_BEGIN(cmd, "filter", &filter);
    bson_t *target = &filter;
    if (kind == IN_SCAN) {
        BSON_APPEND_ARRAY_BEGIN(&filter, "$and", &and_arr);
        BSON_APPEND_DOCUMENT_BEGIN(&and_arr, "0", &el);
        target = &el;
    }
    if (kind == BY_ID) {
        doc_id(id, sizeof id, (size_t)(rng_next() % ndocs));
        BSON_APPEND_UTF8(target, "_id", id);
    } else {
        BSON_APPEND_DOCUMENT_BEGIN(target, "_id", &cond);
        BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
        /* IN_IDS distinct ids spread evenly over the collection from a
         * random start, so they hit every part of the index */
        size_t start = (size_t)(rng_next() % ndocs), stride = ndocs / IN_IDS;
        for (size_t i = 0; i < IN_IDS; i++) {
            char key[16];
            const char *k;
            bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
            doc_id(id, sizeof id, (start + i * stride) % ndocs);
            bson_append_utf8(&in, k, -1, id, -1);
        }
        bson_append_array_end(&cond, &in);
        bson_append_document_end(target, &cond);
    }
    if (kind == IN_SCAN) {
        bson_append_document_end(&and_arr, &el);
        bson_append_array_end(&filter, &and_arr);
    }
    bson_append_document_end(cmd, &filter);
    BSON_APPEND_UTF8(cmd, "$db", db);
    return cmd;
}

typedef struct {
    double cpu_us, wall_us;
} op_cost_t;

/* Runs finds of one kind for about seconds (at least 3) and returns the
 * per-op cost; every reply must hold exactly the documents asked for. */
static op_cost_t measure(int fd, int pid, const char *db, const char *coll, size_t ndocs,
                         in_kind_t kind, double seconds)
{
    size_t want = kind == BY_ID ? 1 : IN_IDS;
    long ops = 0;
    double cpu0 = process_cpu_s(pid), t0 = now_s();
    while (ops < 3 || now_s() - t0 < seconds) {
        bson_t *cmd = in_command(db, coll, ndocs, kind);
        bson_t *reply = roundtrip(fd, cmd);
        bson_iter_t it, batch;
        size_t got = 0;
        if (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "cursor.firstBatch", &batch) &&
            bson_iter_recurse(&batch, &it))
            while (bson_iter_next(&it))
                got++;
        if (got != want) {
            fprintf(stderr, "store_bench: a find returned %zu documents, not %zu\n", got, want);
            exit(1);
        }
        bson_destroy(reply);
        bson_destroy(cmd);
        ops++;
    }
    double wall = now_s() - t0, cpu = process_cpu_s(pid) - cpu0;
    return (op_cost_t){cpu / (double)ops * 1e6, wall / (double)ops * 1e6};
}

static int bench_in(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: store_bench --in PORT PID SECONDS SIZE...\n");
        return 2;
    }
    int port = atoi(argv[2]), pid = atoi(argv[3]);
    double seconds = atof(argv[4]);
    int fd = connect_to(port);
    for (int a = 5; a < argc; a++) {
        size_t ndocs = (size_t)strtoul(argv[a], NULL, 10);
        if (ndocs < IN_IDS) {
            fprintf(stderr, "store_bench: a size must be at least %d documents\n", IN_IDS);
            return 2;
        }
        char coll[32];
        snprintf(coll, sizeof coll, "docs%zu", ndocs);
        insert_docs(fd, "bench_in", coll, ndocs);
        measure(fd, pid, "bench_in", coll, ndocs, IN_LIST, seconds / 10); /* warm up */
        op_cost_t by_id = measure(fd, pid, "bench_in", coll, ndocs, BY_ID, seconds);
        op_cost_t in = measure(fd, pid, "bench_in", coll, ndocs, IN_LIST, seconds);
        op_cost_t scan = measure(fd, pid, "bench_in", coll, ndocs, IN_SCAN, seconds);
        printf("$in on _id, %zu docs: find by _id %.1f µs, $in of %d ids %.1f µs (ratio %.1fx), "
               "scan %.0f µs; store CPU per op (round trip: %.1f / %.1f / %.0f µs)\n",
               ndocs, by_id.cpu_us, IN_IDS, in.cpu_us, in.cpu_us / by_id.cpu_us, scan.cpu_us,
               by_id.wall_us, in.wall_us, scan.wall_us);
        fflush(stdout);
        bson_t *drop = BCON_NEW("drop", BCON_UTF8(coll), "$db", "bench_in");
        bson_destroy(roundtrip(fd, drop));
        bson_destroy(drop);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--in"))
        return bench_in(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: store_bench PORT [SECONDS] [CONNECTIONS] [DB.COLL]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double seconds = argc > 2 ? atof(argv[2]) : 5;
    int nconn = argc > 3 ? atoi(argv[3]) : 64;
    char ns[256] = "meetings_app.meetings";
    if (argc > 4)
        snprintf(ns, sizeof ns, "%s", argv[4]);
    char *dot = strchr(ns, '.');
    if (!dot || nconn < 1 || seconds <= 0) {
        fprintf(stderr, "store_bench: bad arguments\n");
        return 2;
    }
    *dot = '\0';
    build_requests(ns, dot + 1);

    int ep = epoll_create1(0);
    client_t *clients = calloc((size_t)nconn, sizeof *clients);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int i = 0; i < nconn; i++) {
        client_t *c = &clients[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        c->next_id = (unsigned)i;
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            perror("store_bench: connect");
            return 1;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    long long done = 0, bad = 0;
    double start = now_s(), end = start + seconds;
    for (int i = 0; i < nconn; i++)
        if (send_request(&clients[i]) != 0)
            bad++;
    struct epoll_event events[256];
    while (!bad) {
        double t = now_s();
        if (t >= end)
            break;
        int n = epoll_wait(ep, events, 256, (int)((end - t) * 1000) + 1);
        for (int e = 0; e < n; e++) {
            client_t *c = events[e].data.ptr;
            ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                fprintf(stderr, "store_bench: connection closed by the server\n");
                bad++;
                break;
            }
            c->have += (size_t)r;
            while (c->have >= 4) {
                int32_t mlen;
                memcpy(&mlen, c->buf, 4);
                if (mlen < 21 || (size_t)mlen > sizeof c->buf) {
                    bad++;
                    break;
                }
                if (c->have < (size_t)mlen)
                    break;
                if (check_reply(c->buf, (size_t)mlen) != 0)
                    bad++;
                else
                    done++;
                memmove(c->buf, c->buf + mlen, c->have - (size_t)mlen);
                c->have -= (size_t)mlen;
                if (send_request(c) != 0)
                    bad++;
            }
        }
    }
    double elapsed = now_s() - start;
    for (int i = 0; i < nconn; i++)
        close(clients[i].fd);
    free(clients);
    for (int i = 0; i < NIDS; i++)
        free(requests[i]);
    close(ep);
    if (bad) {
        fprintf(stderr, "store_bench: %lld bad replies or send failures\n", bad);
        return 1;
    }
    printf("mock-store find by _id: %.0f/s (%d connections, %gs)\n", (double)done / elapsed, nconn,
           seconds);
    return 0;
}
