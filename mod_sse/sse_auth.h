/* sse_auth.h: who is calling, and may they see this document. The one place
 * both questions are answered, for the stream and for the resource. */
#ifndef SSE_AUTH_H
#define SSE_AUTH_H

#include "httpd.h"
#include <bson/bson.h>

#include "sse_config.h"
#include "sse_jwt.h"

/* Reads the bearer token (Authorization header, or SSETokenQueryParam when
 * enabled) and verifies it. Returns OK with *claims filled; otherwise it has
 * already answered (401/400) and returns DONE. The token is never logged. */
int sse_auth_authenticate(request_rec *r, const sse_dir_conf *d,
                          sse_jwt_claims *claims);

/* 1 when the query string carries a token (SSETokenQueryParam, or the
 * RFC 6750 name access_token): a write refuses it, so no token that can
 * change data sits in a URL, a log line or a Referer. */
int sse_auth_token_in_query(request_rec *r, const sse_dir_conf *d);

/* 1 when SSEOwnerField is unset, or the document's field equals the token's
 * SSEOwnerClaim (or, for an array, contains it), compared by type: string
 * with string byte for byte, integer with integer; an empty claim never
 * matches. */
int sse_auth_may_see(const sse_dir_conf *d, const sse_jwt_claims *claims,
                     const bson_t *stored);

#endif
