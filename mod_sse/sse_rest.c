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
#include "sse_http.h"
#include "sse_json.h"
#include "sse_rest.h"
#include "sse_store.h"

APLOG_USE_MODULE(sse);

/* The tag inside the quotes names this version: exactly, or with the
 * suffix mod_deflate (DeflateAlterETag AddSuffix, its default: "v-gzip")
 * or mod_brotli ("v-br") put on the compressed answer the client cached. */
static int tag_names_version(const char *tag, apr_size_t n, const char *version)
{
    static const char *const suffixes[] = { "", "-gzip", "-br" };
    apr_size_t v = strlen(version);
    int i;

    for (i = 0; i < (int)(sizeof(suffixes) / sizeof(suffixes[0])); i++) {
        apr_size_t sn = strlen(suffixes[i]);
        if (n == v + sn && !strncmp(tag, version, v) && !strncmp(tag + v, suffixes[i], sn)) {
            return 1;
        }
    }
    return 0;
}

/* If-None-Match: "*", or a comma-separated list of (possibly weak) tags. */
static int etag_matches(request_rec *r, const char *header, const char *version)
{
    const char *list = header;
    char *tag;

    if (!header) return 0;
    while (*list) {
        tag = ap_getword(r->pool, &list, ',');
        while (*tag == ' ' || *tag == '\t') tag++;
        apr_collapse_spaces(tag, tag);
        if (!strcmp(tag, "*")) return 1;
        if (!strncmp(tag, "W/", 2)) tag += 2;
        if (tag[0] == '"') {
            apr_size_t n = strlen(tag);
            if (n >= 2 && tag[n - 1] == '"' && tag_names_version(tag + 1, n - 2, version)) {
                return 1;
            }
        }
    }
    return 0;
}

int sse_resource_handler(request_rec *r)
{
    const sse_dir_conf *d = ap_get_module_config(r->per_dir_config, &sse_module);
    sse_jwt_claims claims;
    sse_store_doc doc;
    sse_store_status st;
    const char *id, *why = NULL, *json, *version;

    if (sse_http_cors(r, d, "GET, HEAD")) {
        return OK;
    }
    if (r->method_number != M_GET) {       /* HEAD arrives as M_GET */
        return sse_http_method_not_allowed(r, "GET, HEAD");
    }
    id = sse_http_resource_id(r, d);
    if (!id) {
        return sse_http_json_error(r, HTTP_NOT_FOUND, "not_found", "no such resource");
    }
    if (sse_auth_authenticate(r, d, &claims) != OK) {
        return OK;
    }

    st = sse_store_fetch(r->pool, r->server, d, id, &doc, &why);
    if (st == SSE_STORE_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: store unavailable for resource %s: %s", id, why);
        return sse_http_unavailable(r, sse_conf_poll_interval(d), "the store is unavailable");
    }
    if (st == SSE_STORE_NOT_FOUND || !sse_auth_may_see(d, &claims, doc.stored)) {
        return sse_http_json_error(r, HTTP_NOT_FOUND, "not_found", "no such resource");
    }

    json = sse_json_render(r->pool, doc.visible);
    version = sse_version_of(r->pool, doc.stored, d->version_field, json);
    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", version, "\"", NULL));
    if (etag_matches(r, apr_table_get(r->headers_in, "If-None-Match"), version)) {
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

int sse_rest_etag_matches(request_rec *r, const char *header, const char *tag)
{
    return etag_matches(r, header, tag);
}
