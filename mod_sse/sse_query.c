/* sse_query.c: the store's queries built from parsed values only (see
 * sse_query.h): typed ids, projections, the owner condition and match, the
 * list's options, the visible part. libbson and APR only: no transport. */
#include "apr_lib.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sse_query.h"

static int is_hex24(const char *id)
{
    int i;
    for (i = 0; i < 24; i++) {
        if (!apr_isxdigit(id[i])) return 0;
    }
    return id[24] == '\0';
}

int sse_query_append_id(bson_t *filter, const char *field, int type, const char *id)
{
    bson_oid_t oid;

    if (type == SSE_UNSET) {
        type = SSE_ID_AUTO;
    }

    if (type == SSE_ID_OBJECTID || (type != SSE_ID_STRING && type != SSE_ID_INT && is_hex24(id))) {
        if (!is_hex24(id)) return 0;
        bson_oid_init_from_string(&oid, id);
        return BSON_APPEND_OID(filter, field, &oid);
    }
    if (type == SSE_ID_INT) {
        char *end;
        apr_int64_t n;
        errno = 0;
        n = apr_strtoi64(id, &end, 10);
        if (!*id || *end || errno || !(apr_isdigit(*id) || *id == '-')) return 0;
        if (n >= INT32_MIN && n <= INT32_MAX) {
            return BSON_APPEND_INT32(filter, field, (int32_t)n);
        }
        return BSON_APPEND_INT64(filter, field, n);
    }
    if (!bson_utf8_validate(id, strlen(id), false)) return 0;
    return BSON_APPEND_UTF8(filter, field, id);
}

const char *sse_query_value_key(apr_pool_t *p, const bson_iter_t *value, apr_size_t *len)
{
    char *key;
    uint32_t slen;
    const char *str;
    double dv;

    switch (bson_iter_type(value)) {
    case BSON_TYPE_UTF8:
        str = bson_iter_utf8(value, &slen);
        key = apr_palloc(p, (apr_size_t)slen + 2);
        key[0] = 's';
        memcpy(key + 1, str, slen);
        key[slen + 1] = '\0';
        *len = (apr_size_t)slen + 1;
        return key;
    case BSON_TYPE_OID:
        key = apr_palloc(p, 13);
        key[0] = 'o';
        memcpy(key + 1, bson_iter_oid(value)->bytes, 12);
        *len = 13;
        return key;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        key = apr_psprintf(p, "n%" APR_INT64_T_FMT, (apr_int64_t)bson_iter_as_int64(value));
        *len = strlen(key);
        return key;
    case BSON_TYPE_DOUBLE:
        /* 2^63 and beyond are no int64; neither is a fraction. */
        dv = bson_iter_double(value);
        if (dv != dv || dv < -9223372036854775808.0 || dv >= 9223372036854775808.0
            || (double)(apr_int64_t)dv != dv) {
            return NULL;
        }
        key = apr_psprintf(p, "n%" APR_INT64_T_FMT, (apr_int64_t)dv);
        *len = strlen(key);
        return key;
    default:
        return NULL;
    }
}

const char *sse_query_id_key(apr_pool_t *p, int type, const char *id, apr_size_t *len)
{
    bson_t b = BSON_INITIALIZER;
    bson_iter_t it;
    const char *key = NULL;

    if (sse_query_append_id(&b, "id", type, id) && bson_iter_init(&it, &b) && bson_iter_next(&it)) {
        key = sse_query_value_key(p, &it, len);
    }
    bson_destroy(&b);
    return key;
}

static apr_status_t destroy_bson(void *doc)
{
    bson_destroy(doc);
    return APR_SUCCESS;
}

bson_t *sse_query_pool_copy(apr_pool_t *p, const bson_t *src)
{
    bson_t *doc = bson_copy(src);
    apr_pool_cleanup_register(p, doc, destroy_bson, apr_pool_cleanup_null);
    return doc;
}

/* 1 when dotted `path` is `ancestor` itself or lies under it. */
static int path_within(const char *path, const char *ancestor)
{
    apr_size_t n = strlen(ancestor);
    return !strncmp(path, ancestor, n) && (path[n] == '\0' || path[n] == '.');
}

/* Copies into `dst` only the dotted `paths` of `src`, as a MongoDB inclusion
 * projection does: a listed path keeps its whole value; a longer path keeps
 * that part of a subdocument, and of each subdocument in an array. */
static void copy_paths(apr_pool_t *p, const bson_t *src, bson_t *dst,
                       const char **paths, int npaths, int depth)
{
    const char **sub = apr_palloc(p, sizeof(*sub) * npaths);
    bson_iter_t it;

    if (depth > 100 || !bson_iter_init(&it, src)) return;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        apr_size_t klen = strlen(key);
        int i, nsub = 0, whole = 0;
        const uint8_t *data;
        uint32_t len;
        bson_t child_src, child_dst;

        for (i = 0; i < npaths; i++) {
            if (!strcmp(paths[i], key)) whole = 1;
            else if (!strncmp(paths[i], key, klen) && paths[i][klen] == '.') {
                sub[nsub++] = paths[i] + klen + 1;
            }
        }
        if (whole) {
            bson_append_iter(dst, key, -1, &it);
        }
        else if (nsub && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&child_src, data, len)) continue;
            bson_append_document_begin(dst, key, -1, &child_dst);
            copy_paths(p, &child_src, &child_dst, sub, nsub, depth + 1);
            bson_append_document_end(dst, &child_dst);
        }
        else if (nsub && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t elem;
            uint32_t n = 0;
            bson_append_array_begin(dst, key, -1, &child_dst);
            if (bson_iter_recurse(&it, &elem)) {
                while (bson_iter_next(&elem)) {
                    bson_t el_src, el_dst;
                    char idx[16];
                    const char *idx_key;
                    if (!BSON_ITER_HOLDS_DOCUMENT(&elem)) continue;
                    bson_iter_document(&elem, &len, &data);
                    if (!bson_init_static(&el_src, data, len)) continue;
                    bson_uint32_to_string(n++, &idx_key, idx, sizeof(idx));
                    bson_append_document_begin(&child_dst, idx_key, -1, &el_dst);
                    copy_paths(p, &el_src, &el_dst, sub, nsub, depth + 1);
                    bson_append_document_end(&child_dst, &el_dst);
                }
            }
            bson_append_array_end(dst, &child_dst);
        }
    }
}

/* The SSEFields and _id: what clients may see. */
static const char **visible_paths(apr_pool_t *p, const sse_dir_conf *d, int *n)
{
    const char **paths = apr_palloc(p, sizeof(*paths) * (d->fields->nelts + 1));
    int i;

    for (i = 0; i < d->fields->nelts; i++) {
        paths[i] = APR_ARRAY_IDX(d->fields, i, const char *);
    }
    paths[i] = "_id";
    *n = i + 1;
    return paths;
}

bson_t *sse_query_visible_part(apr_pool_t *p, const sse_dir_conf *d, bson_t *stored)
{
    bson_t *visible;
    const char **paths;
    int n;

    if (!d->fields) return stored;
    paths = visible_paths(p, d, &n);
    visible = bson_new();
    apr_pool_cleanup_register(p, visible, destroy_bson, apr_pool_cleanup_null);
    copy_paths(p, stored, visible, paths, n, 0);
    return visible;
}

/* A path under another listed one is left to its ancestor. The id field
 * comes back so a batched read can tell its documents apart. */
void sse_query_projection(apr_pool_t *p, bson_t *projection, const sse_dir_conf *d)
{
    const char **paths = apr_palloc(p, sizeof(*paths) * (d->fields->nelts + 3));
    int n = 0, i, j;

    for (i = 0; i < d->fields->nelts; i++) {
        paths[n++] = APR_ARRAY_IDX(d->fields, i, const char *);
    }
    if (d->owner_field) paths[n++] = d->owner_field;
    if (d->version_field) paths[n++] = d->version_field;
    /* Unset is _id, which a projection returns anyway. */
    if (d->id_field && strcmp(d->id_field, "_id")) paths[n++] = d->id_field;

    for (i = 0; i < n; i++) {
        int covered = 0;
        for (j = 0; j < n && !covered; j++) {
            if (i == j) continue;
            /* under another path, or a duplicate of an earlier one */
            covered = path_within(paths[i], paths[j])
                      && (strcmp(paths[i], paths[j]) || j < i);
        }
        if (!covered) {
            BSON_APPEND_INT32(projection, paths[i], 1);
        }
    }
}

void sse_query_list_opts(apr_pool_t *p, bson_t *opts, const sse_dir_conf *d,
                         int ids_only, apr_int64_t limit)
{
    bson_t sort, projection;

    /* Newest version first; _id breaks ties, so the order (and where a
     * truncated list ends) is the same on every poll. */
    BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
    if (d->version_field) {
        BSON_APPEND_INT32(&sort, d->version_field, -1);
    }
    BSON_APPEND_INT32(&sort, "_id", d->version_field ? 1 : -1);
    bson_append_document_end(opts, &sort);
    BSON_APPEND_INT64(opts, "limit", limit);
    if (ids_only || d->fields) {
        BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &projection);
        if (ids_only) {
            /* What a poll compares: the id, the version, and the owner
             * that every document is checked against once more. */
            const char *vf = d->version_field, *of = d->owner_field;
            BSON_APPEND_INT32(&projection, "_id", 1);
            /* No overlapping paths (MongoDB 4.4+ refuses them). */
            if (vf && !(of && path_within(vf, of) && strcmp(vf, of))) {
                BSON_APPEND_INT32(&projection, vf, 1);
            }
            if (of && !(vf && path_within(of, vf))) {
                BSON_APPEND_INT32(&projection, of, 1);
            }
        }
        else {
            sse_query_projection(p, &projection, d);
        }
        bson_append_document_end(opts, &projection);
    }
}

/* An empty claim names nobody, so it matches no owner, not even "". */
static int claim_names_someone(const sse_jwt_claim *claim)
{
    return claim && !(claim->type == SSE_JWT_CLAIM_STRING && claim->len == 0);
}

/* One owner value against the claim, strictly by type: a string owner equals
 * a string claim byte for byte; an int32 or int64 owner equals an integer
 * claim of the same value. Nothing converts: "12345" is not 12345, and an
 * ObjectId (which no JSON token can carry) matches no claim. */
static int owner_value_matches(const bson_iter_t *it, const sse_jwt_claim *claim)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return claim->type == SSE_JWT_CLAIM_STRING
               && len == claim->len && !memcmp(s, claim->str, len);
    }
    case BSON_TYPE_INT32:
        return claim->type == SSE_JWT_CLAIM_INTEGER
               && claim->integer == (apr_int64_t)bson_iter_int32(it);
    case BSON_TYPE_INT64:
        return claim->type == SSE_JWT_CLAIM_INTEGER
               && claim->integer == (apr_int64_t)bson_iter_int64(it);
    default:
        return 0;
    }
}

int sse_query_owner_matches(const bson_t *stored, const char *owner_field,
                            const sse_jwt_claim *claim)
{
    bson_iter_t root, it;

    if (!claim_names_someone(claim)
        || !bson_iter_init(&root, stored)
        || !bson_iter_find_descendant(&root, owner_field, &it)) {
        return 0;
    }
    if (BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_t child;
        if (!bson_iter_recurse(&it, &child)) {
            return 0;
        }
        while (bson_iter_next(&child)) {
            if (owner_value_matches(&child, claim)) {
                return 1;
            }
        }
        return 0;
    }
    return owner_value_matches(&it, claim);
}

int sse_query_append_owner(bson_t *cond, const char *owner_field,
                           const sse_jwt_claim *claim)
{
    if (!claim_names_someone(claim)) {
        return 0;
    }
    if (claim->type == SSE_JWT_CLAIM_STRING) {
        return bson_append_utf8(cond, owner_field, -1, claim->str, (int)claim->len);
    }
    return BSON_APPEND_INT64(cond, owner_field, claim->integer);
}
