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

/* Directives, for mod_sse.c's command table. */
const char *sse_update_set_writable_field(cmd_parms *cmd, void *d, const char *name,
                                          const char *type, const char *max);
const char *sse_update_set_max_body(cmd_parms *cmd, void *d, const char *arg);
const char *sse_update_set_write_concern(cmd_parms *cmd, void *d, const char *arg);
const char *sse_update_set_write_timeout(cmd_parms *cmd, void *d, const char *arg);

/* The write fields of merge_dir_conf: inner wins, unset is 0 / NULL. */
void sse_update_merge_conf(sse_dir_conf *conf, const sse_dir_conf *base,
                           const sse_dir_conf *add);

#endif
