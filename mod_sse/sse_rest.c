/* sse_rest.c: GET/HEAD of one document, with the same authentication,
 * owner check, JSON and version as the stream (so a client that resyncs
 * over REST sees exactly what the stream would have sent), and the
 * readiness probe a load balancer polls. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "sse_auth.h"
#include "sse_config.h"
#include "sse_etag.h"
#include "sse_http.h"
#include "sse_json.h"
#include "sse_resolve.h"
#include "sse_rest.h"
#include "sse_store.h"

APLOG_USE_MODULE(sse);

int sse_resource_handler(request_rec *r)
{
    sse_request q;
    const char *json, *version;

    if (!sse_resolve(r, "GET, HEAD", SSE_RESOLVE_ID, &q)
        || !sse_resolve_fetch(r, &q, r->pool, "resource")) {
        return OK;
    }

    json = sse_json_render(r->pool, q.doc.visible);
    version = sse_version_of(r->pool, q.doc.stored, q.d->version_field, json);
    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", version, "\"", NULL));
    if (sse_etag_matches(r->pool, apr_table_get(r->headers_in, "If-None-Match"), version)) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    return sse_http_json(r, HTTP_OK, apr_pstrcat(r->pool, json, "\n", NULL));
}

int sse_health_handler(request_rec *r)
{
    const char *why = NULL;

    if (r->method_number != M_GET) {
        return sse_http_method_not_allowed(r, "GET, HEAD");
    }
    if (sse_store_ping(r->pool, r->server, &why)) {
        return sse_http_json(r, HTTP_OK, "{\"status\":\"ok\"}\n");
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "mod_sse: health check failed: %s", why);
    return sse_http_json(r, HTTP_SERVICE_UNAVAILABLE, "{\"status\":\"unavailable\"}\n");
}
