/* sse_status.h: the operators' handlers (`sse-metrics`, `sse-live`) and
 * the mod_status section. */
#ifndef SSE_STATUS_H
#define SSE_STATUS_H

#include "httpd.h"

int sse_metrics_handler(request_rec *r);
int sse_live_handler(request_rec *r);

/* Adds the SSE section to /server-status when mod_status is loaded. */
void sse_status_register_hooks(apr_pool_t *p);

#endif
