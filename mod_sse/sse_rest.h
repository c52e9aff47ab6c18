/* sse_rest.h: the `sse-resource` (one document over REST, for resync) and
 * `sse-health` (store reachability) handlers. */
#ifndef SSE_REST_H
#define SSE_REST_H

#include "httpd.h"

int sse_resource_handler(request_rec *r);
int sse_health_handler(request_rec *r);

/* 1 when If-None-Match (`header`, may be NULL) names `tag`, as the resource
 * compares it; the list's ETag uses the same rule. */
int sse_rest_etag_matches(request_rec *r, const char *header, const char *tag);

#endif
