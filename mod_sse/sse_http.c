/* sse_http.c: JSON errors, RFC 6750 challenges and CORS for the stream and
 * the resource. Error bodies are written here, with r->status set and OK
 * returned, so Apache does not wrap them in its HTML error page. */
#include "httpd.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include <string.h>

#include "sse_http.h"
#include "sse_json.h"

/* The longest id a path segment may carry, as the shipped regex allows. */
#define SEGMENT_ID_MAX 128

/* The Nth segment of the path when it is a well-formed id: 1 to 128 of
 * A-Z a-z 0-9 _ -, like the shipped (?<id>[A-Za-z0-9_-]{1,128}). */
static const char *path_segment_id(request_rec *r, int n)
{
    const char *p = r->uri, *start;
    apr_size_t len;

    if (!p || *p != '/') return NULL;
    while (n-- > 1) {
        p = strchr(p + 1, '/');
        if (!p) return NULL;
    }
    start = p + 1;
    len = strcspn(start, "/");
    if (len == 0 || len > SEGMENT_ID_MAX
        || strspn(start, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") < len) {
        return NULL;
    }
    return apr_pstrmemdup(r->pool, start, len);
}

const char *sse_http_resource_id(request_rec *r, const sse_dir_conf *d)
{
    const char *id;

    if (d->id_segment > 0) {
        return path_segment_id(r, d->id_segment);
    }
    id = apr_table_get(r->subprocess_env, sse_conf_id_from(d));
    return id && *id ? id : NULL;
}

int sse_http_json(request_rec *r, int status, const char *body)
{
    r->status = status;
    ap_set_content_type(r, "application/json; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, strlen(body));
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}

int sse_http_json_error(request_rec *r, int status, const char *code,
                        const char *message)
{
    return sse_http_json(r, status,
                         apr_pstrcat(r->pool, "{\"error\":", sse_json_string(r->pool, code),
                                     ",\"message\":", sse_json_string(r->pool, message),
                                     "}\n", NULL));
}

int sse_http_unauthorized(request_rec *r, const char *reason)
{
    if (!reason) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", "Bearer realm=\"sse\"");
        return sse_http_json_error(r, HTTP_UNAUTHORIZED, "missing_token",
                                   "a bearer token is required");
    }
    /* reason is one of the verifier's fixed phrases: no quotes, no token text */
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "Bearer realm=\"sse\", error=\"invalid_token\", "
                                "error_description=\"%s\"", reason));
    return sse_http_json_error(r, HTTP_UNAUTHORIZED, "invalid_token", reason);
}

int sse_http_method_not_allowed(request_rec *r, const char *allow)
{
    apr_table_setn(r->err_headers_out, "Allow", allow);
    return sse_http_json_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                               apr_psprintf(r->pool, "use %s", allow));
}

int sse_http_retry_later(request_rec *r, int status, apr_interval_time_t retry_after,
                         const char *code, const char *message)
{
    apr_time_t secs = (retry_after + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    if (secs < 1) secs = 1;
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT, secs));
    return sse_http_json_error(r, status, code, message);
}

int sse_http_unavailable(request_rec *r, apr_interval_time_t retry_after,
                         const char *message)
{
    return sse_http_retry_later(r, HTTP_SERVICE_UNAVAILABLE, retry_after,
                                "store_unavailable", message);
}

int sse_http_cors(request_rec *r, const sse_dir_conf *d, const char *methods)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int i, allowed = 0;

    if (!d->cors_origins || !origin) {
        return 0;
    }
    for (i = 0; i < d->cors_origins->nelts && !allowed; i++) {
        const char *o = APR_ARRAY_IDX(d->cors_origins, i, const char *);
        allowed = !strcmp(o, "*") || !strcasecmp(o, origin);
    }
    /* err_headers_out reaches success and error answers alike; putting a
     * header in both tables would send it twice, and browsers refuse an
     * Access-Control-Allow-Origin that lists the origin twice. */
    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!allowed) {
        return 0;
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", origin);
    apr_table_setn(r->err_headers_out, "Access-Control-Expose-Headers",
                   "ETag, Retry-After, WWW-Authenticate");
    if (r->method_number == M_OPTIONS
        && apr_table_get(r->headers_in, "Access-Control-Request-Method")) {
        apr_table_setn(r->headers_out, "Access-Control-Allow-Methods", methods);
        apr_table_setn(r->headers_out, "Access-Control-Allow-Headers",
                       "Authorization, Last-Event-ID, If-None-Match, Cache-Control, "
                       "If-Match, Content-Type");
        apr_table_setn(r->headers_out, "Access-Control-Max-Age", "600");
        r->status = HTTP_NO_CONTENT;
        return 1;
    }
    return 0;
}
