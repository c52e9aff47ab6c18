/* sse_limits.h: how many streams are open, per user and per instance,
 * counted across every child of this Apache instance.
 *
 * A count, not stream state: one shared table of (user hash, child pid)
 * -> open streams, made once per instance and kept across graceful
 * restarts, so a stream of an old-generation child counts until it ends.
 * A stream's reservation is released by a cleanup on its request pool,
 * however the stream ends; a child that dies (crash, SIGKILL) has its
 * entries dropped by the parent when it reaps the child.
 */
#ifndef SSE_LIMITS_H
#define SSE_LIMITS_H

#include "httpd.h"

typedef enum {
    SSE_LIMIT_OK,           /* reserved; released when r->pool goes */
    SSE_LIMIT_USER,         /* the user has max_per_user streams open */
    SSE_LIMIT_INSTANCE,     /* the instance has max_streams streams open */
    SSE_LIMIT_UNAVAILABLE   /* no table (or it is full): refuse, it is logged */
} sse_limit_result;

/* Registers the hooks: the mutex type (pre_config), the table (post_config,
 * made once and adopted by later generations), child_init, and the
 * parent's child_status hook that forgets a child that has exited. */
void sse_limits_register_hooks(apr_pool_t *p);

/* Counts one more stream of `user` (the owner claim's value; only a keyed
 * hash of it is kept) if neither limit is reached. A limit of 0 is off;
 * with both off nothing is counted. */
sse_limit_result sse_limits_reserve(request_rec *r, const char *user,
                                    int max_per_user, int max_streams);

#endif
