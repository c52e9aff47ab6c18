/* sse_update.h: the sse-update handler (PATCH of one document with a JSON
 * merge patch, If-Match and a write concern) and its directives. */
#ifndef SSE_UPDATE_H
#define SSE_UPDATE_H

#include "httpd.h"
#include "http_config.h"

#include "sse_config.h"

/* PATCH is the write; GET, HEAD and everything else are served exactly as
 * sse-resource serves them, so one section makes a resource writable. */
int sse_update_handler(request_rec *r);

/* Its directives are declared in sse_config.h. */

#endif
