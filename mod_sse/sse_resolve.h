/* sse_resolve.h: the request-resolution step every document and list
 * handler starts with: CORS, method, id, authentication, and (for one
 * document) the first fetch with its 404 and 503 answers. Each handler
 * keeps only what is new about it. */
#ifndef SSE_RESOLVE_H
#define SSE_RESOLVE_H

#include "httpd.h"

#include "sse_config.h"
#include "sse_jwt.h"
#include "sse_store.h"

/* What a resolved request knows. */
typedef struct {
    const sse_dir_conf *d;
    sse_jwt_claims *claims;     /* in r->pool */
    const char *id;             /* NULL unless SSE_RESOLVE_ID */
    sse_store_doc doc;          /* filled by sse_resolve_fetch */
    const char *refused;        /* when sse_resolve answered: the step, for a log */
} sse_request;

/* The document handlers name one document (a 404 when there is no id);
 * list handlers do not. */
#define SSE_RESOLVE_ID  1

/* A write: the method is PATCH, and only the Authorization header
 * authorizes it; a token in the query string is a 400 invalid_request
 * (with the RFC 6750 challenge) even beside a header, so no token that can
 * change data sits in a URL, a log line or a Referer. */
#define SSE_RESOLVE_WRITE  2

/* CORS for `methods` (a preflight is answered), the method (GET; HEAD too
 * when `methods` names it; PATCH alone with SSE_RESOLVE_WRITE; else 405),
 * the id when `flags` has SSE_RESOLVE_ID (else 404), and the token (else
 * 401/400). Returns 1 with *req filled, or 0 when it has answered the
 * request, with req->refused naming why ("preflight", "method_not_allowed",
 * "not_found", "invalid_request", "unauthenticated"). */
int sse_resolve(request_rec *r, const char *methods, int flags, sse_request *req);

/* The first fetch of req->id from `pool`: 503 with Retry-After when the
 * store is unavailable (logged with `what`), 404 when there is no such
 * document or the caller may not see it. Returns 1 with req->doc filled,
 * or 0 when it has answered. */
int sse_resolve_fetch(request_rec *r, sse_request *req, apr_pool_t *pool,
                      const char *what);

#endif
