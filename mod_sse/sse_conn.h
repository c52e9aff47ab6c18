/* sse_conn.h: what a stream asks its client's socket, without blocking and
 * without reading: room to write, nothing to read, hung up. One place for
 * the stream, the scheduler and the closing code. */
#ifndef SSE_CONN_H
#define SSE_CONN_H

#include "httpd.h"
#include "util_filter.h"

/* 1 when the connection's socket can take a write now without blocking
 * (and the output filters hold nothing back). */
int sse_conn_has_room(conn_rec *c);

/* Bytes the socket's send buffer takes now without waiting, or 0; `want`
 * is what the caller would write (a small write into an empty buffer is
 * answered without asking for the buffer's size). */
apr_size_t sse_conn_room(conn_rec *c, apr_off_t want);

/* 1 when the client's socket has nothing to read and has not hung up. */
int sse_conn_idle(conn_rec *c);

/* 1 when the client has gone (aborted, EOF or a read error), asked with a
 * non-blocking speculative read into `in` (left empty) only when the
 * socket is readable. An HTTP/2 stream is never "gone" here: mod_http2
 * sets c->aborted itself. */
int sse_conn_client_gone(conn_rec *c, apr_bucket_brigade *in);

#endif
