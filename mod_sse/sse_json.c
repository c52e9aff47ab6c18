/* sse_json.c: the one BSON -> JSON renderer and the one version function.
 *
 * We walk the BSON ourselves instead of using libbson's JSON output because
 * the contract wants friendlier forms (ObjectId as hex, dates as ISO-8601)
 * and strict output: compact, valid UTF-8, no raw control characters and no
 * raw U+2028/U+2029, whatever bytes the store holds. Only the rare types
 * that hold no text (binary, timestamp, decimal128, min/max key, undefined)
 * go through libbson's relaxed Extended JSON, re-escaped by the same rules
 * all the same. */
#include "sse_json.h"
#include "sse_event.h"

#include <apr_strings.h>
#include <openssl/evp.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Like libbson's own limit: anything nested deeper renders as null, which
 * also bounds our recursion. */
#define SSE_JSON_MAX_DEPTH 100

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in ms since 1970. */
#define SSE_DATE_MIN_MS INT64_C(-62167219200000)
#define SSE_DATE_MAX_MS INT64_C(253402300799999)

/* ----- growing output buffer (libbson's allocator aborts on OOM, as APR's
 * pools do, so no call here can fail) ----- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} json_out;

static void out_mem(json_out *o, const void *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        o->data = bson_realloc(o->data, cap);
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

static void out_str(json_out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_char(json_out *o, char c)
{
    out_mem(o, &c, 1);
}

static char *out_finish(apr_pool_t *p, json_out *o)
{
    char *s = apr_pstrmemdup(p, o->data ? o->data : "", o->len);
    bson_free(o->data);
    o->data = NULL;
    o->len = o->cap = 0;
    return s;
}

/* ----- strings ----- */

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) at s, or 0 if it is malformed; then
 * *bad is the length of the maximal ill-formed prefix to replace by one
 * U+FFFD, as Unicode recommends. */
static size_t utf8_sequence(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
    }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        if (s[0] == 0xE0) lo = 0xA0;      /* overlong */
        if (s[0] == 0xED) hi = 0x9F;      /* surrogates */
    }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        if (s[0] == 0xF0) lo = 0x90;      /* overlong */
        if (s[0] == 0xF4) hi = 0x8F;      /* above U+10FFFF */
    }
    else {
        *bad = 1;
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Appends the body of a JSON string (no quotes) for n raw bytes. */
static void put_string_body(json_out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;

    while (i < n) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t len, bad = 1;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;                       /* plain ASCII: copied in runs */
        }
        out_mem(o, s + run, i - run);

        switch (c) {
        case '"':  esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc) {
            out_str(o, esc);
            i++;
        }
        else if ((len = utf8_sequence(s + i, n - i, &bad)) == 0) {
            out_str(o, REPLACEMENT_CHAR);
            i += bad;
        }
        else if (len == 3 && c == 0xE2 && s[i + 1] == 0x80
                 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            /* U+2028/U+2029: legal JSON, but line breaks to JavaScript. */
            out_str(o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += len;
        }
        else {
            out_mem(o, s + i, len);
            i += len;
        }
        run = i;
    }
    out_mem(o, s + run, i - run);
}

static void put_string(json_out *o, const char *s, size_t n)
{
    out_char(o, '"');
    put_string_body(o, s, n);
    out_char(o, '"');
}

/* ----- scalars ----- */

/* ISO-8601 UTC with milliseconds, or 0 if the year is outside 0000..9999. */
static int format_date(int64_t ms, char buf[80])
{
    int64_t msec, secs;
    time_t t;
    struct tm tm;

    if (ms < SSE_DATE_MIN_MS || ms > SSE_DATE_MAX_MS) {
        return 0;
    }
    msec = ms % 1000;
    if (msec < 0) {
        msec += 1000;                       /* floor, also before 1970 */
    }
    secs = (ms - msec) / 1000;
    t = (time_t)secs;
    if (gmtime_r(&t, &tm) == NULL) {
        return 0;
    }
    snprintf(buf, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)msec);
    return 1;
}

static void put_date(json_out *o, int64_t ms)
{
    char buf[80];

    if (format_date(ms, buf)) {
        out_char(o, '"');
        out_str(o, buf);
        out_char(o, '"');
    }
    else {
        snprintf(buf, sizeof buf, "{\"$date\":{\"$numberLong\":\"%" PRId64
                 "\"}}", ms);
        out_str(o, buf);
    }
}

/* Shortest "%.*g" text that reads back as the same double, always with a
 * '.' or exponent so it stays recognisably a double (1.0, not 1). The
 * decimal point is forced to '.' whatever the locale. Returns 0 for NaN and
 * infinities, which JSON cannot express. */
static int format_double(double d, char buf[40])
{
    int prec;
    char *c;

    if (!isfinite(d)) {
        return 0;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    for (c = buf; *c; c++) {
        if (*c == ',') {
            *c = '.';
        }
    }
    if (strpbrk(buf, ".e") == NULL) {
        strcat(buf, ".0");
    }
    return 1;
}

static void put_double(json_out *o, double d)
{
    char buf[40];

    if (format_double(d, buf)) {
        out_str(o, buf);
    }
    else if (isnan(d)) {
        out_str(o, "{\"$numberDouble\":\"NaN\"}");
    }
    else {
        out_str(o, d > 0 ? "{\"$numberDouble\":\"Infinity\"}"
                         : "{\"$numberDouble\":\"-Infinity\"}");
    }
}

/* Copies JSON text produced by libbson without its insignificant spaces,
 * re-escaping the raw bytes inside its strings by our rules, so our output
 * guarantees never depend on how libbson escapes. */
static void put_compacted(json_out *o, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
            i++;
        }
        else if (s[i] != '"') {
            out_char(o, s[i++]);
        }
        else {
            size_t start = ++i;
            out_char(o, '"');
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n) {
                    put_string_body(o, s + start, i - start);
                    out_mem(o, s + i, 2);   /* an escape libbson wrote */
                    i += 2;
                    start = i;
                }
                else {
                    i++;
                }
            }
            put_string_body(o, s + start, (i < n ? i : n) - start);
            out_char(o, '"');
            i++;
        }
    }
}

/* Any other type: libbson's relaxed Extended JSON of that one value. */
static void put_extended_json(json_out *o, const bson_iter_t *iter)
{
    static const char prefix[] = "{ \"v\" : ";
    static const char suffix[] = " }";
    const size_t plen = sizeof prefix - 1, slen = sizeof suffix - 1;
    bson_t one = BSON_INITIALIZER;
    char *json = NULL;
    size_t len = 0;

    if (bson_append_iter(&one, "v", 1, iter)) {
        json = bson_as_relaxed_extended_json(&one, &len);
    }
    bson_destroy(&one);

    if (json && len >= plen + slen && memcmp(json, prefix, plen) == 0
        && memcmp(json + len - slen, suffix, slen) == 0) {
        put_compacted(o, json + plen, len - plen - slen);
    }
    else {
        out_str(o, "null");
    }
    bson_free(json);
}

/* ----- documents ----- */

static void put_value(json_out *o, const bson_iter_t *iter, int depth);

/* The members of a document or array at nesting level `depth` (the top-level
 * document is level 1), iterated from `child`. */
static void put_members(json_out *o, bson_iter_t *child, int depth,
                        int is_array)
{
    int first = 1;

    out_char(o, is_array ? '[' : '{');
    while (bson_iter_next(child)) {
        if (!first) {
            out_char(o, ',');
        }
        first = 0;
        if (!is_array) {
            const char *key = bson_iter_key(child);
            put_string(o, key, strlen(key));
            out_char(o, ':');
        }
        put_value(o, child, depth);
    }
    out_char(o, is_array ? ']' : '}');
}

static void put_container(json_out *o, const bson_iter_t *iter, int depth,
                          int is_array)
{
    bson_iter_t child;

    if (depth > SSE_JSON_MAX_DEPTH || !bson_iter_recurse(iter, &child)) {
        out_str(o, "null");
    }
    else {
        put_members(o, &child, depth, is_array);
    }
}

/* {"$code":"...","$scope":{...}}: the scope is nested one level deeper than
 * the wrapper object, which is itself at `depth`. */
static void put_code_with_scope(json_out *o, const bson_iter_t *iter,
                                int depth)
{
    uint32_t len = 0, scope_len = 0;
    const uint8_t *scope_data = NULL;
    const char *code = bson_iter_codewscope(iter, &len, &scope_len,
                                            &scope_data);
    bson_t scope;
    bson_iter_t child;

    if (code == NULL) {
        out_str(o, "null");
        return;
    }
    out_str(o, "{\"$code\":");
    put_string(o, code, len);
    out_str(o, ",\"$scope\":");
    if (depth + 1 <= SSE_JSON_MAX_DEPTH
        && bson_init_static(&scope, scope_data, scope_len)
        && bson_iter_init(&child, &scope)) {
        put_members(o, &child, depth + 1, 0);
    }
    else {
        out_str(o, "null");
    }
    out_char(o, '}');
}

static void put_dbpointer(json_out *o, const bson_iter_t *iter)
{
    uint32_t len = 0;
    const char *collection = NULL;
    const bson_oid_t *oid = NULL;
    char hex[25];

    bson_iter_dbpointer(iter, &len, &collection, &oid);
    if (collection == NULL || oid == NULL) {
        out_str(o, "null");
        return;
    }
    bson_oid_to_string(oid, hex);
    out_str(o, "{\"$dbPointer\":{\"$ref\":");
    put_string(o, collection, len);
    out_str(o, ",\"$id\":{\"$oid\":\"");
    out_str(o, hex);
    out_str(o, "\"}}}");
}

static void put_value(json_out *o, const bson_iter_t *iter, int depth)
{
    char buf[32];

    switch (bson_iter_type(iter)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(iter, &len);
        put_string(o, s, len);
        break;
    }
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(iter), buf);
        put_string(o, buf, strlen(buf));
        break;
    case BSON_TYPE_DATE_TIME:
        put_date(o, bson_iter_date_time(iter));
        break;
    case BSON_TYPE_INT32:
        snprintf(buf, sizeof buf, "%" PRId32, bson_iter_int32(iter));
        out_str(o, buf);
        break;
    case BSON_TYPE_INT64:
        snprintf(buf, sizeof buf, "%" PRId64, bson_iter_int64(iter));
        out_str(o, buf);
        break;
    case BSON_TYPE_DOUBLE:
        put_double(o, bson_iter_double(iter));
        break;
    case BSON_TYPE_BOOL:
        out_str(o, bson_iter_bool(iter) ? "true" : "false");
        break;
    case BSON_TYPE_NULL:
        out_str(o, "null");
        break;
    /* Types holding text or documents are written here rather than by
     * libbson, which gives up on a value whose text is not valid UTF-8 and
     * cuts deep documents short with a "{ ... }" that is not JSON. */
    case BSON_TYPE_CODE: {
        uint32_t len;
        const char *s = bson_iter_code(iter, &len);
        out_str(o, "{\"$code\":");
        put_string(o, s, len);
        out_char(o, '}');
        break;
    }
    case BSON_TYPE_SYMBOL: {
        uint32_t len;
        const char *s = bson_iter_symbol(iter, &len);
        out_str(o, "{\"$symbol\":");
        put_string(o, s, len);
        out_char(o, '}');
        break;
    }
    case BSON_TYPE_REGEX: {
        const char *options;
        const char *pattern = bson_iter_regex(iter, &options);
        out_str(o, "{\"$regularExpression\":{\"pattern\":");
        put_string(o, pattern, strlen(pattern));
        out_str(o, ",\"options\":");
        put_string(o, options, strlen(options));
        out_str(o, "}}");
        break;
    }
    case BSON_TYPE_CODEWSCOPE:
        put_code_with_scope(o, iter, depth + 1);
        break;
    case BSON_TYPE_DBPOINTER:
        put_dbpointer(o, iter);
        break;
    case BSON_TYPE_DOCUMENT:
        put_container(o, iter, depth + 1, 0);
        break;
    case BSON_TYPE_ARRAY:
        put_container(o, iter, depth + 1, 1);
        break;
    default:
        put_extended_json(o, iter);
        break;
    }
}

char *sse_json_render(apr_pool_t *p, const bson_t *doc)
{
    json_out o = { NULL, 0, 0 };
    bson_iter_t iter;

    if (doc == NULL || !bson_iter_init(&iter, doc)) {
        return apr_pstrdup(p, "null");
    }
    put_members(&o, &iter, 1, 0);
    return out_finish(p, &o);
}

char *sse_json_string(apr_pool_t *p, const char *s)
{
    json_out o = { NULL, 0, 0 };

    put_string(&o, s, strlen(s));
    return out_finish(p, &o);
}

char *sse_json_render_value(apr_pool_t *p, const bson_iter_t *iter)
{
    json_out o = { NULL, 0, 0 };

    if (iter == NULL) {
        return apr_pstrdup(p, "null");
    }
    put_value(&o, iter, 0);
    return out_finish(p, &o);
}

/* ----- version ----- */

/* The version field's value as plain text, or NULL when its type has no
 * natural text form (those fall back to the hash). */
static const char *version_text(apr_pool_t *p, const bson_iter_t *iter)
{
    char buf[80];                           /* > BSON_DECIMAL128_STRING */

    switch (bson_iter_type(iter)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(iter, &len);
        return memchr(s, '\0', len) ? NULL : apr_pstrmemdup(p, s, len);
    }
    case BSON_TYPE_DATE_TIME:
        return format_date(bson_iter_date_time(iter), buf)
               ? apr_pstrdup(p, buf) : NULL;
    case BSON_TYPE_INT32:
        return apr_psprintf(p, "%" PRId32, bson_iter_int32(iter));
    case BSON_TYPE_INT64:
        return apr_psprintf(p, "%" PRId64, bson_iter_int64(iter));
    case BSON_TYPE_DOUBLE:
        return format_double(bson_iter_double(iter), buf)
               ? apr_pstrdup(p, buf) : NULL;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        if (!bson_iter_decimal128(iter, &dec)) {
            return NULL;
        }
        bson_decimal128_to_string(&dec, buf);
        return apr_pstrdup(p, buf);
    }
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(iter), buf);
        return apr_pstrdup(p, buf);
    default:
        return NULL;
    }
}

static const char *version_hash(apr_pool_t *p, const char *rendered)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *out = apr_palloc(p, 34);
    int i;

    if (!EVP_Digest(rendered, strlen(rendered), md, &mdlen, EVP_sha256(),
                    NULL) || mdlen < 16) {
        memset(md, 0, sizeof md);           /* not expected with SHA-256 */
    }
    out[0] = 'h';
    for (i = 0; i < 16; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 0x0F];
    }
    out[33] = '\0';
    return out;
}

const char *sse_version_from_field(apr_pool_t *p, const bson_t *doc,
                                   const char *version_field)
{
    bson_iter_t iter, field;

    if (doc && version_field && *version_field && bson_iter_init(&iter, doc)
        && bson_iter_find_descendant(&iter, version_field, &field)) {
        const char *text = version_text(p, &field);
        if (text && sse_event_id_is_safe(text, strlen(text))) {
            return text;
        }
    }
    return NULL;
}

const char *sse_version_of(apr_pool_t *p, const bson_t *doc,
                           const char *version_field, const char *rendered)
{
    const char *text = sse_version_from_field(p, doc, version_field);

    if (text) {
        return text;
    }
    if (rendered == NULL) {
        rendered = sse_json_render(p, doc);
    }
    return version_hash(p, rendered);
}
