/* sse_http.h: the HTTP answers mod_sse gives outside the stream itself:
 * JSON errors, RFC 6750 challenges, CORS. One place, so the stream and the
 * resource say the same thing the same way. */
#ifndef SSE_HTTP_H
#define SSE_HTTP_H

#include "httpd.h"
#include "sse_config.h"

/* Sends `status` with a JSON body and Cache-Control: no-store; returns OK. */
int sse_http_json(request_rec *r, int status, const char *body);

/* Sends `status` with {"error": code, "message": message}; returns OK. */
int sse_http_json_error(request_rec *r, int status, const char *code,
                        const char *message);

/* 401 with `WWW-Authenticate: Bearer realm="sse"`, plus error="invalid_token"
 * and error_description when `reason` is given; returns OK. */
int sse_http_unauthorized(request_rec *r, const char *reason);

/* 405 with Allow; returns OK. */
int sse_http_method_not_allowed(request_rec *r, const char *allow);

/* `status` (429, 503) with Retry-After (whole seconds, at least 1) and
 * {"error": code, "message": message}; returns OK. */
int sse_http_retry_later(request_rec *r, int status, apr_interval_time_t retry_after,
                         const char *code, const char *message);

/* 503 store_unavailable with Retry-After; returns OK. */
int sse_http_unavailable(request_rec *r, apr_interval_time_t retry_after,
                         const char *message);

/* Adds Access-Control-Allow-Origin for a configured Origin. For a CORS
 * preflight (OPTIONS with Access-Control-Request-Method) it answers 204 and
 * returns 1: the handler is done. Otherwise returns 0. */
int sse_http_cors(request_rec *r, const sse_dir_conf *d, const char *methods);

/* The document id the request names (SSEIdFrom), or NULL: the stream, the
 * resource and every handler after them resolve it here. */
const char *sse_http_resource_id(request_rec *r, const sse_dir_conf *d);

#endif
