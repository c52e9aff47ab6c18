/* store_bench.c: how many `find` by _id a second mock-store (or any mongod)
 * answers over N concurrent connections. Speaks OP_MSG directly from one epoll
 * loop, one request in flight per connection, so the client costs about what
 * the server does and is not what gets measured. Every reply is checked.
 *
 *   store_bench PORT [SECONDS=5] [CONNECTIONS=64] [DB.COLL=meetings_app.meetings]
 * Prints: mock-store find by _id: N/s (C connections, Ss) */
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

int main(int argc, char **argv)
{
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
