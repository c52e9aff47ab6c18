/* sse_patch.h: a JSON merge patch (RFC 7396) checked against the
 * SSEWritableField allow-list and turned into $set / $unset documents.
 * Pure: no request, no store; the unit tests drive it directly. */
#ifndef SSE_PATCH_H
#define SSE_PATCH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <bson/bson.h>

typedef enum {
    SSE_FIELD_STRING,    /* max = most Unicode characters (code points); 0 = no limit */
    SSE_FIELD_INT,       /* a JSON integer, stored as int32 when it fits, else int64 */
    SSE_FIELD_NUMBER,    /* any JSON number, stored as a double */
    SSE_FIELD_BOOL
} sse_field_type;

/* One SSEWritableField line. */
typedef struct {
    const char *name;
    sse_field_type type;
    apr_int64_t max;
} sse_writable_field;

typedef struct {
    bson_t *set;                  /* {field: value, ...}; empty when none */
    bson_t *unset;                /* {field: "", ...} for the patch's nulls */
    apr_array_header_t *fields;   /* const char *: allow-listed names changed, for the log */
} sse_patch;

typedef struct {
    int status;                   /* 400 or 422 */
    const char *code;             /* invalid_json, invalid_patch, field_not_writable, invalid_value */
    const char *message;
    const char *field;            /* the field at fault, as sent; NULL when none */
} sse_patch_error;

/* Parses `body` (len bytes) as a merge patch: a JSON object, no duplicate
 * names, every name in `writable` and none of `reserved` (NULL-terminated
 * dotted paths: the id, owner and version fields, which no patch may touch,
 * nor the top-level field that holds one), every value of
 * its field's type and length, or null to remove the field. Names are checked
 * before anything is built, so no user text becomes an operator or a path.
 * Returns 1 with *out filled (bson freed with p), or 0 with *err filled. */
int sse_patch_parse(apr_pool_t *p, const char *body, apr_size_t len,
                    const apr_array_header_t *writable, const char *const *reserved,
                    sse_patch *out, sse_patch_error *err);

#endif
