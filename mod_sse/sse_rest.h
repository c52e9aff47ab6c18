/* sse_rest.h: the `sse-resource` (one document over REST, for resync) and
 * `sse-health` (store reachability) handlers. */
#ifndef SSE_REST_H
#define SSE_REST_H

#include "httpd.h"

int sse_resource_handler(request_rec *r);
int sse_health_handler(request_rec *r);

#endif
