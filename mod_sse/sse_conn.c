/* sse_conn.c: the socket probes (see sse_conn.h): room to write (SIOCOUTQ
 * against SO_SNDBUF on Linux, poll() elsewhere), nothing to read, and the
 * client gone. Non-blocking, every one; none reads the client's bytes. */
#include "httpd.h"
#include "http_core.h"
#include "http_connection.h"
#include "util_filter.h"
#include "apr_poll.h"
#include "apr_portable.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include "sse_conn.h"

/* Room left for chunk and TLS framing in what the socket is said to take,
 * and the write small enough to fit any empty send buffer. */
#define WRITE_MARGIN 1024
#define SMALL_WRITE 2048

int sse_conn_has_room(conn_rec *c)
{
    apr_pollfd_t pfd;
    apr_int32_t n = 0;

    if (c->data_in_output_filters) return 0;
    memset(&pfd, 0, sizeof(pfd));
    pfd.p = c->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.desc.s = ap_get_conn_socket(c);
    pfd.reqevents = APR_POLLOUT;
    if (!pfd.desc.s || apr_poll(&pfd, 1, &n, 0) != APR_SUCCESS) return 0;
    return n == 1 && (pfd.rtnevents & APR_POLLOUT);
}

/* Linux reports the buffer as twice the data it holds (the rest is for the
 * kernel's bookkeeping); half of it less what is queued is a safe floor. */
apr_size_t sse_conn_room(conn_rec *c, apr_off_t want)
{
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_os_sock_t fd;
    int sndbuf = 0, queued = 0;
    socklen_t len = sizeof(sndbuf);

    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) return 0;
#ifdef SIOCOUTQ
    if (ioctl(fd, SIOCOUTQ, &queued) != 0) return 0;
    /* The common tick: a small event into an empty buffer, which holds at
     * least 2304 bytes of data (Linux's smallest SO_SNDBUF, halved). */
    if (queued == 0 && want >= 0 && want <= SMALL_WRITE) return (apr_size_t)want;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) return 0;
    sndbuf = sndbuf / 2 - queued;
    /* Chunk and TLS record framing (under 1%) must fit too. */
    sndbuf -= sndbuf / 64 + WRITE_MARGIN;
    return sndbuf > 0 ? (apr_size_t)sndbuf : 0;
#else
    return sse_conn_has_room(c) ? WRITE_MARGIN : 0;
#endif
}

int sse_conn_idle(conn_rec *c)
{
    apr_pollfd_t pfd;
    apr_int32_t n = 0;
    apr_status_t rv;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = c->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.desc.s = ap_get_conn_socket(c);
    pfd.reqevents = APR_POLLIN;
    if (!pfd.desc.s) return 0;
    rv = apr_poll(&pfd, 1, &n, 0);
    return APR_STATUS_IS_TIMEUP(rv) || (rv == APR_SUCCESS && n == 0);
}

int sse_conn_client_gone(conn_rec *c, apr_bucket_brigade *in)
{
    apr_status_t rv;
    int gone = 0;

    if (c->aborted) return 1;
    /* An HTTP/2 stream runs on a secondary connection (c->master set)
     * whose socket is a dummy and whose input, once the (empty) request
     * body is read, is an EOS: reading it says nothing about the client.
     * mod_http2 sets c->aborted itself when the client resets the stream
     * or the connection goes, and a failed write sets it too. */
    if (c->master) return 0;
    /* Ask the socket first. Nothing to read and no hang-up is the common
     * case, and it costs one poll(); the speculative read below takes an
     * 8 KB buffer from the connection's allocator every time (with
     * Debian's APR, an mmap and munmap per tick). Only a readable socket
     * (EOF, or bytes the client sent) needs the input filters. */
    if (!c->data_in_input_filters && sse_conn_idle(c)) return 0;
    rv = ap_get_brigade(c->input_filters, in, AP_MODE_SPECULATIVE,
                        APR_NONBLOCK_READ, 1);
    /* The core answers a non-blocking read with nothing to read as success
     * and an empty brigade; EOF comes back as APR_EOF or an EOS bucket. */
    if (APR_STATUS_IS_EAGAIN(rv)) {
        gone = 0;
    }
    else if (rv != APR_SUCCESS) {
        gone = 1;
    }
    else {
        gone = !APR_BRIGADE_EMPTY(in) && APR_BUCKET_IS_EOS(APR_BRIGADE_FIRST(in));
    }
    apr_brigade_cleanup(in);
    return gone;
}
