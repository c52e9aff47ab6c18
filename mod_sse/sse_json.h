/* sse_json.h: the one place a stored document becomes JSON, and the one
 * place its version is decided. Used by the stream and by REST alike. */
#ifndef SSE_JSON_H
#define SSE_JSON_H

#include <apr_pools.h>
#include <bson/bson.h>

/* Compact, single-line JSON of `doc`: ObjectId as its hex string, dates as
 * ISO-8601 UTC with milliseconds ("2026-11-25T09:00:03.120Z"), int32/int64/
 * double as JSON numbers (non-finite doubles as relaxed Extended JSON),
 * other types as relaxed Extended JSON. Strings are escaped so the output is
 * valid UTF-8 JSON with no raw control characters (never a raw newline);
 * invalid UTF-8 is replaced by U+FFFD. */
char *sse_json_render(apr_pool_t *p, const bson_t *doc);

/* A JSON string literal (quoted) for `s`, escaped as the renderer escapes
 * strings: valid UTF-8 out, no raw control characters. */
char *sse_json_string(apr_pool_t *p, const char *s);

/* Renders one BSON value the same way (a list renders each document's _id
 * with it). */
char *sse_json_render_value(apr_pool_t *p, const bson_iter_t *iter);

/* The document's version: the value of `version_field` (dotted paths allowed)
 * as text (a string as is, a date as ISO-8601, a number in decimal, an
 * ObjectId as hex) when the field is set and present; otherwise, or when that
 * text is not a safe token (printable ASCII without '"' or '\\', at most 200
 * chars), "h" followed by 32 hex chars of the SHA-256 of `rendered`. */
const char *sse_version_of(apr_pool_t *p, const bson_t *doc,
                           const char *version_field, const char *rendered);

/* The first half of sse_version_of(): the version field's text, or NULL
 * when it is unset, absent or not a safe token. Lets a poller skip
 * rendering a document whose version has not changed. */
const char *sse_version_from_field(apr_pool_t *p, const bson_t *doc,
                                   const char *version_field);

#endif
