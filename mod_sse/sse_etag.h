/* sse_etag.h: If-None-Match against a version, as the resource and the list
 * compare it. Pure (APR only), so unit tests drive it. */
#ifndef SSE_ETAG_H
#define SSE_ETAG_H

#include "apr_pools.h"

/* 1 when `header` (If-None-Match, may be NULL) is "*" or lists, weak or
 * strong, the tag `version`: exactly, or with the suffix mod_deflate
 * ("-gzip", DeflateAlterETag AddSuffix) or mod_brotli ("-br") put on the
 * compressed answer the client cached. */
int sse_etag_matches(apr_pool_t *p, const char *header, const char *version);

#endif
