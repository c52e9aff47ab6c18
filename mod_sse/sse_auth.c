/* sse_auth.c: bearer token extraction (RFC 6750), verification through
 * sse_jwt, and the owner check. Failures are logged with the reason and the
 * client address, never with the token. */
#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "sse_auth.h"
#include "sse_http.h"
#include "sse_metrics.h"
#include "sse_query.h"

APLOG_USE_MODULE(sse);

/* Token from `Authorization: Bearer <token>`; NULL when there is none.
 * Sets *scheme_seen when the header names the Bearer scheme, so a Bearer
 * header without a usable token is told apart from no token at all. */
static const char *token_from_header(request_rec *r, int *scheme_seen)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");

    *scheme_seen = 0;
    if (!h) return NULL;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Bearer", 6) || (h[6] != ' ' && h[6] != '\0')) {
        return NULL;
    }
    *scheme_seen = 1;
    h += 6;
    while (*h == ' ') h++;
    return *h ? h : NULL;
}

static const char *token_in_args(request_rec *r, const char *param)
{
    const char *args = r->args;
    apr_size_t nlen;

    if (!param || !args) return NULL;
    nlen = strlen(param);
    while (*args) {
        const char *end = strchr(args, '&');
        apr_size_t len = end ? (apr_size_t)(end - args) : strlen(args);
        if (len > nlen && args[nlen] == '=' && !strncmp(args, param, nlen)) {
            char *value = apr_pstrmemdup(r->pool, args + nlen + 1, len - nlen - 1);
            if (ap_unescape_urlencoded(value) != OK) return "";
            return value;
        }
        args += len;
        if (*args == '&') args++;
    }
    return NULL;
}

static const char *token_from_query(request_rec *r, const sse_dir_conf *d)
{
    return token_in_args(r, d->token_query_param);
}

/* The verifier's kind of refusal as the metrics label it is counted in. */
static sse_metrics_auth metrics_label(sse_jwt_failure kind)
{
    switch (kind) {
    case SSE_JWT_FAIL_MALFORMED:        return SSE_AUTH_MALFORMED;
    case SSE_JWT_FAIL_UNKNOWN_KEY:      return SSE_AUTH_UNKNOWN_KEY;
    case SSE_JWT_FAIL_BAD_SIGNATURE:    return SSE_AUTH_BAD_SIGNATURE;
    case SSE_JWT_FAIL_EXPIRED:          return SSE_AUTH_EXPIRED;
    case SSE_JWT_FAIL_NOT_YET_VALID:    return SSE_AUTH_NOT_YET_VALID;
    case SSE_JWT_FAIL_WRONG_ISSUER:     return SSE_AUTH_WRONG_ISSUER;
    case SSE_JWT_FAIL_WRONG_AUDIENCE:   return SSE_AUTH_WRONG_AUDIENCE;
    case SSE_JWT_FAIL_UNSUPPORTED:      return SSE_AUTH_UNSUPPORTED;
    default:                            return SSE_AUTH_OTHER;
    }
}

int sse_auth_token_in_query(request_rec *r, const sse_dir_conf *d)
{
    return token_from_query(r, d) || token_in_args(r, "access_token");
}

int sse_auth_authenticate(request_rec *r, const sse_dir_conf *d,
                          sse_jwt_claims *claims)
{
    int scheme_seen;
    const char *from_header = token_from_header(r, &scheme_seen);
    const char *from_query = token_from_query(r, d);
    const char *token = from_header ? from_header : from_query;
    sse_jwt_policy policy;
    const char *reason;

    if (from_header && from_query) {
        /* RFC 6750 section 2: one method per request */
        sse_metrics_auth_failure(SSE_AUTH_MALFORMED);
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Bearer realm=\"sse\", error=\"invalid_request\", "
                       "error_description=\"token sent twice\"");
        sse_http_json_error(r, HTTP_BAD_REQUEST, "invalid_request",
                            "send the token in one place only");
        return DONE;
    }
    if (!token) {
        sse_metrics_auth_failure(scheme_seen ? SSE_AUTH_MALFORMED : SSE_AUTH_MISSING);
        if (scheme_seen) {
            sse_http_unauthorized(r, "malformed token");
        }
        else {
            sse_http_unauthorized(r, NULL);
        }
        return DONE;
    }
    if (!d->keys || d->keys->nelts == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "mod_sse: no SSEJWTKey or SSEJWKSFile applies to %s", r->uri);
        sse_http_json_error(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                            "no token keys configured");
        return DONE;
    }

    policy.issuer = d->issuer;
    policy.audience = d->audience;
    policy.type = d->jwt_type;
    policy.leeway = sse_conf_leeway(d);
    reason = sse_jwt_verify(r->pool, d->keys, &policy, token, apr_time_now(), claims);
    if (reason) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "mod_sse: token rejected: %s", reason);
        sse_metrics_auth_failure(metrics_label(sse_jwt_failure_of(reason)));
        sse_http_unauthorized(r, reason);
        return DONE;
    }
    return OK;
}

int sse_auth_may_see(const sse_dir_conf *d, const sse_jwt_claims *claims,
                     const bson_t *stored)
{
    if (!d->owner_field) {
        return 1;
    }
    return sse_query_owner_matches(stored, d->owner_field,
                                   sse_jwt_claim_get(claims, sse_conf_owner_claim(d)));
}
