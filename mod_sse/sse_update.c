/* sse_update.c: PATCH /v1/meetings/{id} with a JSON merge patch.
 *
 * The write is one conditional update whose filter holds the id, the owner
 * and the version the client last saw (If-Match), and whose update moves
 * the version on ($currentDate for a date, $inc for an integer), so two
 * writers that read the same version cannot both win. A read before it
 * decides 404 (the one owner check, sse_auth_may_see) and 412 without
 * writing, and gives the version's stored type; the filter then makes the
 * write safe against whatever changed since. CORS, the id and the
 * (header-only) token are sse_resolve's, as for every handler. Every other
 * method is sse-resource's (GET, HEAD) or a CORS preflight.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "sse_auth.h"
#include "sse_http.h"
#include "sse_json.h"
#include "sse_metrics.h"
#include "sse_patch.h"
#include "sse_query.h"
#include "sse_resolve.h"
#include "sse_rest.h"
#include "sse_store.h"
#include "sse_update.h"

APLOG_USE_MODULE(sse);

#define UPDATE_METHODS "GET, HEAD, PATCH"
#define PATCH_TYPE "application/merge-patch+json"

typedef struct {
    request_rec *r;
    const sse_dir_conf *d;
    const char *id;
    const char *fields;       /* for the log: allow-listed names only, never values */
    const sse_jwt_claims *claims;
} write_ctx;

/* One info line per write: the id, the fields and the answer. */
static int answered(const write_ctx *w, int status, const char *result)
{
    sse_metrics_write_answered(status, !strcmp(result, "write_unconfirmed"));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, w->r,
                  "mod_sse: write %s fields [%s]: %d %s",
                  w->id ? ap_escape_logitem(w->r->pool, w->id) : "-",
                  w->fields ? w->fields : "", status, result);
    return OK;
}

/* Refusing before the body is read: close the connection afterwards rather
 * than let httpd read and discard a body of any size. */
static void close_if_body(request_rec *r)
{
    if (ap_request_has_body(r)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
}

static int json_error(const write_ctx *w, int status, const char *code,
                      const char *message, const char *field)
{
    request_rec *r = w->r;
    const char *body = apr_pstrcat(r->pool, "{\"error\":", sse_json_string(r->pool, code),
                                   ",\"message\":", sse_json_string(r->pool, message),
                                   field ? ",\"field\":" : "",
                                   field ? sse_json_string(r->pool, field) : "",
                                   "}\n", NULL);
    sse_http_json(r, status, body);
    return answered(w, status, code);
}

/* The current document as GET would send it, with its ETag; for 200 and 412. */
static int send_document(const write_ctx *w, int status, const sse_store_doc *doc,
                         const char *result)
{
    request_rec *r = w->r;
    const char *json = sse_json_render(r->pool, doc->visible);
    const char *version = sse_version_of(r->pool, doc->stored, w->d->version_field, json);

    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", version, "\"", NULL));
    sse_http_json(r, status, apr_pstrcat(r->pool, json, "\n", NULL));
    return answered(w, status, result);
}

static int store_unavailable(const write_ctx *w, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, w->r,
                  "mod_sse: store unavailable for write %s: %s",
                  ap_escape_logitem(w->r->pool, w->id), why);
    sse_http_unavailable(w->r, sse_conf_poll_interval(w->d), "the store is unavailable");
    return answered(w, HTTP_SERVICE_UNAVAILABLE, "store_unavailable");
}

/* If-Match as a list of version texts. Returns NULL when the header is
 * absent or "*" (*star set), or malformed (*bad set). Weak tags never match
 * (RFC 9110 13.1.1 compares strongly) and are left out. mod_deflate's
 * "-gzip" suffix is dropped, as the resource's If-None-Match does. */
static apr_array_header_t *if_match_versions(request_rec *r, int *star, int *bad)
{
    const char *h = apr_table_get(r->headers_in, "If-Match");
    apr_array_header_t *tags = apr_array_make(r->pool, 2, sizeof(const char *));

    *star = *bad = 0;
    if (!h) return NULL;
    while (*h) {
        char *tag = ap_getword(r->pool, &h, ',');
        apr_size_t n;
        int weak = 0;
        apr_collapse_spaces(tag, tag);
        if (!*tag) continue;
        if (!strcmp(tag, "*")) {
            *star = 1;
            return NULL;
        }
        if (!strncmp(tag, "W/", 2)) {
            weak = 1;
            tag += 2;
        }
        n = strlen(tag);
        if (n < 2 || tag[0] != '"' || tag[n - 1] != '"' || memchr(tag + 1, '"', n - 2)) {
            *bad = 1;
            return NULL;
        }
        tag[n - 1] = '\0';
        tag++;
        n -= 2;
        if (n > 5 && !strcmp(tag + n - 5, "-gzip")) tag[n - 5] = '\0';
        if (!weak) APR_ARRAY_PUSH(tags, const char *) = tag;
    }
    if (apr_is_empty_array(tags) && !*bad) {
        /* only weak tags: well-formed, and matches nothing */
        APR_ARRAY_PUSH(tags, const char *) = "";
    }
    return tags;
}

static int version_listed(const apr_array_header_t *tags, const char *version)
{
    int i;
    for (i = 0; version && i < tags->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(tags, i, const char *), version)) return 1;
    }
    return 0;
}

static int is_patch_type(const char *ct)
{
    apr_size_t n = sizeof(PATCH_TYPE) - 1;
    if (!ct) return 0;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, PATCH_TYPE, n)) return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t') ct++;
    return *ct == '\0' || *ct == ';';
}

/* The body, at most `limit` bytes, whatever Content-Length says and however
 * it is chunked. Returns OK, or the HTTP status to answer. */
static int read_body(request_rec *r, apr_off_t limit, char **body, apr_size_t *len)
{
    apr_size_t got = 0;
    char *buf;
    int rv;

    *body = NULL;
    *len = 0;
    if ((rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return rv;
    }
    if (r->remaining > limit) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    buf = apr_palloc(r->pool, (apr_size_t)limit + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n = ap_get_client_block(r, buf + got, (apr_size_t)limit + 1 - got);
            if (n < 0) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return HTTP_BAD_REQUEST;
            }
            if (n == 0) break;
            got += (apr_size_t)n;
            if (got > (apr_size_t)limit) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
        }
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    return OK;
}

/* The filter's owner condition: the claim as the token typed it. A string
 * finds a string owner (or array element) byte for byte; an integer finds an
 * integer. sse_auth_may_see already refused everything else. */
static void append_owner(bson_t *cond, const sse_dir_conf *d, const sse_jwt_claims *claims)
{
    if (!d->owner_field) return;
    sse_query_append_owner(cond, d->owner_field,
                           sse_jwt_claim_get(claims, sse_conf_owner_claim(d)));
}

static int write_patch(write_ctx *w)
{
    request_rec *r = w->r;
    const sse_dir_conf *d = w->d;
    const sse_jwt_claims *claims = w->claims;
    sse_store_doc doc;
    sse_patch patch;
    sse_patch_error perr;
    apr_array_header_t *tags;
    bson_t cond = BSON_INITIALIZER, update = BSON_INITIALIZER, sub;
    bson_iter_t root, vit;
    const char *why = NULL, *version;
    const char *reserved[4];
    sse_store_status st;
    sse_store_write_status ws;
    char *body;
    apr_size_t len;
    int star, bad, rv, n;

    tags = if_match_versions(r, &star, &bad);
    if (bad) {
        close_if_body(r);
        return json_error(w, HTTP_BAD_REQUEST, "invalid_request",
                          "If-Match must be a quoted ETag such as \"2026-11-25T09:00:00.000Z\"",
                          NULL);
    }
    if (!tags) {
        close_if_body(r);
        return json_error(w, HTTP_PRECONDITION_REQUIRED, "precondition_required",
                          star ? "If-Match: * does not say which version you changed; "
                                 "send the ETag you read"
                               : "send If-Match with the ETag you read", NULL);
    }
    if (!is_patch_type(apr_table_get(r->headers_in, "Content-Type"))) {
        close_if_body(r);
        apr_table_setn(r->err_headers_out, "Accept-Patch", PATCH_TYPE);
        return json_error(w, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                          "send the patch as " PATCH_TYPE, NULL);
    }
    if ((rv = read_body(r, sse_conf_max_body(d), &body, &len)) != OK) {
        if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return json_error(w, rv, "too_large",
                              apr_psprintf(r->pool, "the patch may be at most %" APR_OFF_T_FMT
                                           " bytes", sse_conf_max_body(d)), NULL);
        }
        return json_error(w, rv, "invalid_request", "the body could not be read", NULL);
    }

    /* The id, owner and version are the write's own conditions: never patched. */
    n = 0;
    reserved[n++] = sse_conf_id_field(d);
    if (d->owner_field) reserved[n++] = d->owner_field;
    if (d->version_field) reserved[n++] = d->version_field;
    reserved[n] = NULL;
    if (!sse_patch_parse(r->pool, body, len, d->writable, reserved, &patch, &perr)) {
        return json_error(w, perr.status, perr.code, perr.message, perr.field);
    }
    w->fields = apr_array_pstrcat(r->pool, patch.fields, ',');

    st = sse_store_fetch(r->pool, r->server, d, w->id, &doc, &why);
    if (st == SSE_STORE_UNAVAILABLE) {
        return store_unavailable(w, why);
    }
    if (st == SSE_STORE_NOT_FOUND || !sse_auth_may_see(d, claims, doc.stored)) {
        return json_error(w, HTTP_NOT_FOUND, "not_found", "no such resource", NULL);
    }
    if (!d->version_field || !bson_iter_init(&root, doc.stored)
        || !bson_iter_find_descendant(&root, d->version_field, &vit)
        || !(BSON_ITER_HOLDS_DATE_TIME(&vit) || BSON_ITER_HOLDS_INT32(&vit)
             || BSON_ITER_HOLDS_INT64(&vit))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_sse: write %s refused: its "
                      "SSEVersionField %s is missing or neither a date nor an integer",
                      w->id, d->version_field ? d->version_field : "(unset)");
        return json_error(w, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                          "this document has no version a write can move on", NULL);
    }
    version = sse_version_from_field(r->pool, doc.stored, d->version_field);
    if (!version_listed(tags, version)) {
        return send_document(w, HTTP_PRECONDITION_FAILED, &doc, "version_moved");
    }

    append_owner(&cond, d, claims);
    bson_append_iter(&cond, d->version_field, -1, &vit);
    if (!bson_empty(patch.set)) BSON_APPEND_DOCUMENT(&update, "$set", patch.set);
    if (!bson_empty(patch.unset)) BSON_APPEND_DOCUMENT(&update, "$unset", patch.unset);
    if (BSON_ITER_HOLDS_DATE_TIME(&vit)) {
        BSON_APPEND_DOCUMENT_BEGIN(&update, "$currentDate", &sub);
        BSON_APPEND_BOOL(&sub, d->version_field, true);
    }
    else {
        BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &sub);
        BSON_APPEND_INT32(&sub, d->version_field, 1);
    }
    bson_append_document_end(&update, &sub);

    ws = sse_store_update(r->pool, r->server, d, w->id, &cond, &update, &why);
    bson_destroy(&cond);
    bson_destroy(&update);
    switch (ws) {
    case SSE_WRITE_UNAVAILABLE:
        return store_unavailable(w, why);
    case SSE_WRITE_UNCONFIRMED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "mod_sse: write %s not confirmed by the write concern: %s", w->id, why);
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return json_error(w, HTTP_SERVICE_UNAVAILABLE, "write_unconfirmed",
                          "the change may not be durable; read the document again", NULL);
    case SSE_WRITE_NO_MATCH:
    case SSE_WRITE_DONE:
        break;
    }

    /* After the write (or the race it lost), what is stored now. */
    st = sse_store_fetch(r->pool, r->server, d, w->id, &doc, &why);
    if (st == SSE_STORE_FOUND && !sse_auth_may_see(d, claims, doc.stored)) {
        st = SSE_STORE_NOT_FOUND;
    }
    if (ws == SSE_WRITE_DONE) {
        if (st != SSE_STORE_FOUND) {
            /* Saved; the stream or a GET will show it. */
            r->status = HTTP_NO_CONTENT;
            return answered(w, HTTP_NO_CONTENT, "saved_unread");
        }
        return send_document(w, HTTP_OK, &doc, "saved");
    }
    if (st == SSE_STORE_UNAVAILABLE) {
        return store_unavailable(w, why);
    }
    if (st == SSE_STORE_NOT_FOUND) {
        return json_error(w, HTTP_NOT_FOUND, "not_found", "no such resource", NULL);
    }
    return send_document(w, HTTP_PRECONDITION_FAILED, &doc, "version_moved");
}

int sse_update_handler(request_rec *r)
{
    sse_request req;
    write_ctx w;

    if (r->method_number == M_GET) {       /* HEAD arrives as M_GET */
        return sse_resource_handler(r);
    }
    if (r->method_number != M_PATCH && r->method_number != M_OPTIONS) {
        return sse_http_method_not_allowed(r, UPDATE_METHODS);
    }
    /* CORS (a preflight for PATCH), the id and the header token, as every
     * handler resolves them; an OPTIONS that is no preflight is a 405. */
    if (!sse_resolve(r, UPDATE_METHODS, SSE_RESOLVE_ID | SSE_RESOLVE_WRITE, &req)) {
        if (r->method_number != M_PATCH) {
            return OK;
        }
        /* refused before the body is read */
        close_if_body(r);
        w.r = r;
        w.d = req.d;
        w.id = req.id;
        w.fields = NULL;
        w.claims = NULL;
        return answered(&w, r->status, req.refused);
    }
    w.r = r;
    w.d = req.d;
    w.id = req.id;
    w.fields = NULL;
    w.claims = req.claims;
    return write_patch(&w);
}
