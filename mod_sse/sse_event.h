/* sse_event.h: Server-Sent Events framing (WHATWG event-stream format).
 * Pure string building; the stream decides when to write and flush. */
#ifndef SSE_EVENT_H
#define SSE_EVENT_H

#include <apr_pools.h>
#include <stddef.h>

/* One event: optional `id:` line, optional `event:` line, one `data:` line
 * per line of `data` (CR, LF and CRLF all split), then a blank line. Any CR,
 * LF or NUL in `event` or `id` is never emitted raw (the field is dropped). */
char *sse_event_format(apr_pool_t *p, const char *event, const char *id,
                       const char *data);

/* ": text\n\n" with any line break in text replaced by a space. */
char *sse_event_comment(apr_pool_t *p, const char *text);

/* "retry: N\n\n" */
char *sse_event_retry(apr_pool_t *p, long ms);

/* Last-Event-ID as a client sent it: returns the value if it is a usable
 * version (1..200 chars, printable ASCII, no '"' or '\\'), else NULL. */
const char *sse_event_last_id(const char *header);

/* The rule both Last-Event-ID and sse_version_of apply: 1..200 bytes, each
 * visible ASCII (0x21..0x7E) other than '"' and '\\', so the value is safe
 * on an `id:` line and inside an ETag's quotes. Returns 1 if so, else 0. */
int sse_event_id_is_safe(const char *s, size_t len);

#endif
