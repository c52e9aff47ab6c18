/* sse_resolve.c: CORS, method, id, authentication and the first fetch,
 * written once for the stream, the resource and the list handlers, so each
 * answers a bad request the same way (see sse_resolve.h). */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "sse_auth.h"
#include "sse_http.h"
#include "sse_resolve.h"

APLOG_USE_MODULE(sse);

int sse_resolve(request_rec *r, const char *methods, int flags, sse_request *req)
{
    const sse_dir_conf *auth;
    int method = (flags & SSE_RESOLVE_WRITE) ? M_PATCH : M_GET;

    memset(req, 0, sizeof(*req));
    req->d = auth = ap_get_module_config(r->per_dir_config, &sse_module);
    req->claims = apr_pcalloc(r->pool, sizeof(*req->claims));

    if (sse_http_cors(r, req->d, methods)) {
        req->refused = "preflight";
        return 0;
    }
    /* HEAD arrives as M_GET with header_only set. */
    if (r->method_number != method || (r->header_only && !strstr(methods, "HEAD"))) {
        req->refused = "method_not_allowed";
        sse_http_method_not_allowed(r, methods);
        return 0;
    }
    if (flags & SSE_RESOLVE_ID) {
        req->id = sse_http_resource_id(r, req->d);
        if (!req->id) {
            req->refused = "not_found";
            sse_http_json_error(r, HTTP_NOT_FOUND, "not_found", "no such resource");
            return 0;
        }
    }
    if (flags & SSE_RESOLVE_WRITE) {
        sse_dir_conf *header_only;

        if (sse_auth_token_in_query(r, req->d)) {
            req->refused = "invalid_request";
            apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                           "Bearer realm=\"sse\", error=\"invalid_request\", "
                           "error_description=\"writes take the token from the "
                           "Authorization header only\"");
            sse_http_json_error(r, HTTP_BAD_REQUEST, "invalid_request",
                                "a write takes its token from the Authorization header, "
                                "never from the URL");
            return 0;
        }
        header_only = apr_pmemdup(r->pool, req->d, sizeof(*header_only));
        header_only->token_query_param = NULL;
        auth = header_only;
    }
    if (sse_auth_authenticate(r, auth, req->claims) != OK) {
        req->refused = "unauthenticated";
        return 0;
    }
    return 1;
}

int sse_resolve_fetch(request_rec *r, sse_request *req, apr_pool_t *pool,
                      const char *what)
{
    const char *why = NULL;
    sse_store_status st;

    st = sse_store_fetch(pool, r->server, req->d, req->id, &req->doc, &why);
    if (st == SSE_STORE_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: store unavailable for %s %s: %s", what, req->id, why);
        sse_http_unavailable(r, sse_conf_poll_interval(req->d), "the store is unavailable");
        return 0;
    }
    if (st == SSE_STORE_NOT_FOUND || !sse_auth_may_see(req->d, req->claims, req->doc.stored)) {
        sse_http_json_error(r, HTTP_NOT_FOUND, "not_found", "no such resource");
        return 0;
    }
    return 1;
}
