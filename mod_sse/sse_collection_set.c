/* sse_collection_set.c: list filter parameters and the digest set of a
 * collection stream (see sse_collection_set.h).
 *
 * A query string is user text: it is decoded here into plain strings that
 * only ever become `$in` values, never operators or field names, and
 * anything not allow-listed is refused rather than ignored.
 */
#include <apr_strings.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "sse_collection_set.h"

/* ---- filter parameters --------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        apr_size_t len, k;
        apr_uint32_t cp;

        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF)      { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
            || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += len;
    }
    return 1;
}

/* Decodes [s, s+n) (percent-encoding, '+' as space) into a new string.
 * Returns NULL with *why set when it is not acceptable text. */
static char *decode_part(apr_pool_t *p, const char *s, apr_size_t n, const char **why)
{
    char *out = apr_palloc(p, n + 1);
    apr_size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "bad percent-encoding in the query string";
                return NULL;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        else if (c == '+') {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7F) {
            *why = "control character in the query string";
            return NULL;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (!utf8_valid((const unsigned char *)out, o)) {
        *why = "the query string is not valid UTF-8";
        return NULL;
    }
    return out;
}

static const sse_filter_param *allowed_param(const apr_array_header_t *allowed,
                                             const char *name)
{
    int i;

    for (i = 0; allowed && i < allowed->nelts; i++) {
        const sse_filter_param *fp = &APR_ARRAY_IDX(allowed, i, sse_filter_param);
        if (!strcmp(fp->name, name)) return fp;
    }
    return NULL;
}

static const char *split_values(apr_pool_t *p, const char *v, apr_size_t n,
                                apr_array_header_t *values)
{
    const char *end = v + n;

    for (;;) {
        const char *comma = memchr(v, ',', (apr_size_t)(end - v));
        const char *stop = comma ? comma : end;
        const char *why = NULL;
        char *value = decode_part(p, v, (apr_size_t)(stop - v), &why);

        if (!value) return why;
        if (!*value) return "empty filter value";
        if (strlen(value) > SSE_FILTER_MAX_VALUE_BYTES) return "filter value too long";
        if (values->nelts >= SSE_FILTER_MAX_VALUES) return "too many filter values";
        APR_ARRAY_PUSH(values, const char *) = value;
        if (!comma) return NULL;
        v = comma + 1;
    }
}

const char *sse_filter_parse(apr_pool_t *p, const char *args,
                             const apr_array_header_t *allowed,
                             const char *token_param,
                             apr_array_header_t **out)
{
    apr_array_header_t *filters = apr_array_make(p, 4, sizeof(sse_filter));
    apr_array_header_t *seen = apr_array_make(p, 4, sizeof(const char *));
    const char *s = args;

    *out = filters;
    if (!s || !*s) return NULL;
    for (;;) {
        const char *amp = strchr(s, '&');
        apr_size_t len = amp ? (apr_size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        const char *why = NULL, *name;
        const sse_filter_param *fp;
        sse_filter *f;
        int i;

        if (!eq) return len ? "query parameter without a value" : "empty query parameter";
        name = decode_part(p, s, (apr_size_t)(eq - s), &why);
        if (!name) return why;
        for (i = 0; i < seen->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(seen, i, const char *), name)) {
                return "repeated query parameter (list the values with commas)";
            }
        }
        APR_ARRAY_PUSH(seen, const char *) = name;
        if (!(token_param && !strcmp(name, token_param))) {
            if (!(fp = allowed_param(allowed, name))) return "unknown query parameter";
            f = apr_array_push(filters);
            f->field = fp->field;
            f->values = apr_array_make(p, 4, sizeof(const char *));
            why = split_values(p, eq + 1, len - (apr_size_t)(eq + 1 - s), f->values);
            if (why) return why;
        }
        if (!amp) return NULL;
        s = amp + 1;
    }
}

/* ---- the digest set --------------------------------------------------- */

static void sha256(const void *data, apr_size_t n, unsigned char md[32])
{
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        memset(md, 0, 32);                  /* not expected with SHA-256 */
    }
}

static apr_uint64_t read64(const unsigned char *b)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) v = (v << 8) | b[i];
    return v;
}

void sse_set_entry_make(sse_set_entry *e, const char *id_json, const char *version)
{
    apr_size_t idlen = strlen(id_json), vlen = strlen(version);
    unsigned char md[32];
    unsigned char stack[512];
    unsigned char *buf = idlen + vlen + 1 <= sizeof(stack) ? stack : malloc(idlen + vlen + 1);

    memset(e, 0, sizeof(*e));
    sha256(id_json, idlen, md);
    e->id_hash = read64(md);
    if (buf) {
        /* The NUL between them keeps ("a","bc") and ("ab","c") apart. */
        memcpy(buf, id_json, idlen);
        buf[idlen] = '\0';
        memcpy(buf + idlen + 1, version, vlen);
        sha256(buf, idlen + vlen + 1, md);
        e->elem[0] = read64(md);
        e->elem[1] = read64(md + 8);
        if (buf != stack) free(buf);
    }
    if (idlen < SSE_SET_ID_MAX) {
        memcpy(e->id, id_json, idlen + 1);
    }
}

void sse_set_sum_add(apr_uint64_t sum[2], const sse_set_entry *e, int sign)
{
    if (sign > 0) {
        apr_uint64_t lo = sum[0] + e->elem[0];
        sum[1] += e->elem[1] + (lo < sum[0]);
        sum[0] = lo;
    }
    else {
        apr_uint64_t lo = sum[0] - e->elem[0];
        sum[1] -= e->elem[1] + (lo > sum[0]);
        sum[0] = lo;
    }
}

void sse_set_tag(const apr_uint64_t sum[2], int n, int truncated,
                 char out[SSE_SET_TAG_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[21], md[32];
    int i;

    for (i = 0; i < 8; i++) {
        buf[i] = (unsigned char)(sum[0] >> (56 - 8 * i));
        buf[8 + i] = (unsigned char)(sum[1] >> (56 - 8 * i));
    }
    buf[16] = (unsigned char)((apr_uint32_t)n >> 24);
    buf[17] = (unsigned char)((apr_uint32_t)n >> 16);
    buf[18] = (unsigned char)((apr_uint32_t)n >> 8);
    buf[19] = (unsigned char)n;
    buf[20] = truncated ? 1 : 0;
    sha256(buf, sizeof(buf), md);
    out[0] = 'c';
    for (i = 0; i < 16; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 15];
    }
    out[SSE_SET_TAG_LEN] = '\0';
}

static int by_id_hash(const void *a, const void *b)
{
    apr_uint64_t x = ((const sse_set_entry *)a)->id_hash;
    apr_uint64_t y = ((const sse_set_entry *)b)->id_hash;
    return x < y ? -1 : x > y;
}

void sse_set_clear(sse_set *set)
{
    free(set->entries);
    memset(set, 0, sizeof(*set));
}

int sse_set_assign(sse_set *set, const sse_set_entry *entries, int n, int truncated)
{
    sse_set_entry *copy = NULL;
    int i, kept = 0;

    sse_set_clear(set);
    if (n > 0) {
        if (!(copy = malloc(sizeof(*copy) * (apr_size_t)n))) return 0;
        memcpy(copy, entries, sizeof(*copy) * (apr_size_t)n);
        /* Sorted, a repeated id sits next to its first entry. */
        qsort(copy, (apr_size_t)n, sizeof(*copy), by_id_hash);
        for (i = 0; i < n; i++) {
            if (kept && copy[kept - 1].id_hash == copy[i].id_hash) continue;
            copy[kept++] = copy[i];
        }
    }
    set->entries = copy;
    set->n = kept;
    set->truncated = truncated;
    for (i = 0; i < kept; i++) {
        sse_set_sum_add(set->sum, &copy[i], 1);
    }
    return 1;
}

const sse_set_entry *sse_set_find(const sse_set *set, apr_uint64_t id_hash)
{
    sse_set_entry key;

    if (!set->n) return NULL;
    key.id_hash = id_hash;
    return bsearch(&key, set->entries, (apr_size_t)set->n, sizeof(key), by_id_hash);
}

int sse_set_diff(apr_pool_t *p, const sse_set *old, const sse_set_entry *next, int n,
                 int truncated, const sse_set_diff_sink *sink)
{
    char *present = apr_pcalloc(p, (apr_size_t)old->n + 1);
    const sse_set_entry **was = apr_pcalloc(p, sizeof(*was) * ((apr_size_t)n + 1));
    apr_uint64_t sum[2];
    char tag[SSE_SET_TAG_LEN + 1];
    int i, count = old->n, calls = 0;

    sum[0] = old->sum[0];
    sum[1] = old->sum[1];
    for (i = 0; i < n; i++) {
        was[i] = sse_set_find(old, next[i].id_hash);
        if (was[i]) present[was[i] - old->entries] = 1;
    }
    for (i = 0; i < old->n; i++) {
        if (present[i]) continue;
        sse_set_sum_add(sum, &old->entries[i], -1);
        count--;
        sse_set_tag(sum, count, truncated, tag);
        sink->removed(sink->baton, &old->entries[i], tag);
        calls++;
    }
    for (i = 0; i < n; i++) {
        if (was[i] && was[i]->elem[0] == next[i].elem[0] && was[i]->elem[1] == next[i].elem[1]) {
            continue;
        }
        if (was[i]) {
            sse_set_sum_add(sum, was[i], -1);
        }
        else {
            count++;
        }
        sse_set_sum_add(sum, &next[i], 1);
        sse_set_tag(sum, count, truncated, tag);
        sink->changed(sink->baton, i, was[i], tag);
        calls++;
    }
    return calls;
}
