/* query.c: filter matching, projection and sort over BSON documents.
 * Covers what the contract asks of find/update/delete: equality (with array
 * membership and null-matches-missing), $eq $ne $gt $gte $lt $lte $in $nin
 * $exists, $and $or $nor, dotted paths, inclusion/exclusion projections and
 * multi-key sort. Regex, $elemMatch, $expr and collation are not supported. */
#include "query.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS_ERR_DOMAIN 1

/* ---- value order and hashing ---------------------------------------- */

static int type_class(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_MINKEY: return 1;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return 2;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 3;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return 4;
    case BSON_TYPE_DOCUMENT: return 5;
    case BSON_TYPE_ARRAY: return 6;
    case BSON_TYPE_BINARY: return 7;
    case BSON_TYPE_OID: return 8;
    case BSON_TYPE_BOOL: return 9;
    case BSON_TYPE_DATE_TIME: return 10;
    case BSON_TYPE_TIMESTAMP: return 11;
    case BSON_TYPE_REGEX: return 12;
    case BSON_TYPE_DBPOINTER: return 13;
    case BSON_TYPE_CODE: return 14;
    case BSON_TYPE_CODEWSCOPE: return 15;
    case BSON_TYPE_MAXKEY: return 16;
    default: return 17;
    }
}

static long double number_of(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32: return v->value.v_int32;
    case BSON_TYPE_INT64: return v->value.v_int64;
    case BSON_TYPE_DOUBLE: return v->value.v_double;
    case BSON_TYPE_DECIMAL128: {
        char s[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, s);
        return strtold(s, NULL);
    }
    default: return 0;
    }
}

static int cmp_long_double(long double a, long double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) ? (isnan(b) ? 0 : -1) : 1;
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cmp_documents(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    bson_iter_t ia, ib;
    if (!bson_iter_init_from_data(&ia, a, alen) || !bson_iter_init_from_data(&ib, b, blen))
        return cmp_bytes(a, alen, b, blen);
    for (;;) {
        bool na = bson_iter_next(&ia), nb = bson_iter_next(&ib);
        if (!na || !nb)
            return na == nb ? 0 : (na ? 1 : -1);
        int ca = type_class(bson_iter_type(&ia)), cb = type_class(bson_iter_type(&ib));
        if (ca != cb)
            return ca < cb ? -1 : 1;
        int c = strcmp(bson_iter_key(&ia), bson_iter_key(&ib));
        if (c)
            return c < 0 ? -1 : 1;
        c = ms_value_compare(bson_iter_value(&ia), bson_iter_value(&ib));
        if (c)
            return c;
    }
}

int ms_value_compare(const bson_value_t *a, const bson_value_t *b)
{
    int ca = type_class(a->value_type), cb = type_class(b->value_type);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    switch (a->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        if (a->value_type == BSON_TYPE_INT64 && b->value_type == BSON_TYPE_INT64)
            return a->value.v_int64 < b->value.v_int64 ? -1 : a->value.v_int64 > b->value.v_int64;
        return cmp_long_double(number_of(a), number_of(b));
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: {
        /* v_utf8 and v_symbol share a layout: (char *, uint32_t). */
        const char *sa = a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.str : a->value.v_symbol.symbol;
        uint32_t la = a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.len : a->value.v_symbol.len;
        const char *sb = b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.str : b->value.v_symbol.symbol;
        uint32_t lb = b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.len : b->value.v_symbol.len;
        return cmp_bytes(sa, la, sb, lb);
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return cmp_documents(a->value.v_doc.data, a->value.v_doc.data_len, b->value.v_doc.data,
                             b->value.v_doc.data_len);
    case BSON_TYPE_BINARY:
        if (a->value.v_binary.data_len != b->value.v_binary.data_len)
            return a->value.v_binary.data_len < b->value.v_binary.data_len ? -1 : 1;
        if (a->value.v_binary.subtype != b->value.v_binary.subtype)
            return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1 : 1;
        return cmp_bytes(a->value.v_binary.data, a->value.v_binary.data_len, b->value.v_binary.data,
                         b->value.v_binary.data_len);
    case BSON_TYPE_OID:
        return cmp_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return (int)a->value.v_bool - (int)b->value.v_bool;
    case BSON_TYPE_DATE_TIME:
        return a->value.v_datetime < b->value.v_datetime ? -1 : a->value.v_datetime > b->value.v_datetime;
    case BSON_TYPE_TIMESTAMP:
        if (a->value.v_timestamp.timestamp != b->value.v_timestamp.timestamp)
            return a->value.v_timestamp.timestamp < b->value.v_timestamp.timestamp ? -1 : 1;
        return a->value.v_timestamp.increment < b->value.v_timestamp.increment ? -1
               : a->value.v_timestamp.increment > b->value.v_timestamp.increment;
    case BSON_TYPE_REGEX: {
        int c = strcmp(a->value.v_regex.regex, b->value.v_regex.regex);
        if (c)
            return c < 0 ? -1 : 1;
        c = strcmp(a->value.v_regex.options, b->value.v_regex.options);
        return c < 0 ? -1 : c > 0;
    }
    case BSON_TYPE_CODE:
        return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len, b->value.v_code.code,
                         b->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE: {
        int c = cmp_bytes(a->value.v_codewscope.code, a->value.v_codewscope.code_len,
                          b->value.v_codewscope.code, b->value.v_codewscope.code_len);
        if (c)
            return c;
        return cmp_documents(a->value.v_codewscope.scope_data, a->value.v_codewscope.scope_len,
                             b->value.v_codewscope.scope_data, b->value.v_codewscope.scope_len);
    }
    case BSON_TYPE_DBPOINTER: {
        int c = cmp_bytes(a->value.v_dbpointer.collection, a->value.v_dbpointer.collection_len,
                          b->value.v_dbpointer.collection, b->value.v_dbpointer.collection_len);
        if (c)
            return c;
        return cmp_bytes(a->value.v_dbpointer.oid.bytes, 12, b->value.v_dbpointer.oid.bytes, 12);
    }
    default:
        return 0; /* MinKey, MaxKey, null, undefined: one value each */
    }
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t ms_value_hash(const bson_value_t *v)
{
    uint64_t h = 14695981039346656037ull;
    uint8_t cls = (uint8_t)type_class(v->value_type);
    h = fnv1a(h, &cls, 1);
    switch (v->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: {
        /* Equal numbers of different types must hash alike. */
        if (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64) {
            int64_t i = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
            return fnv1a(h, &i, sizeof i);
        }
        long double d = number_of(v);
        if (isnan(d))
            return fnv1a(h, "nan", 3);
        if (d == floorl(d) && d >= -9223372036854775808.0L && d < 9223372036854775808.0L) {
            int64_t i = (int64_t)d;
            return fnv1a(h, &i, sizeof i);
        }
        double dd = (double)d;
        return fnv1a(h, &dd, sizeof dd);
    }
    case BSON_TYPE_UTF8:
        return fnv1a(h, v->value.v_utf8.str, v->value.v_utf8.len);
    case BSON_TYPE_SYMBOL:
        return fnv1a(h, v->value.v_symbol.symbol, v->value.v_symbol.len);
    case BSON_TYPE_OID:
        return fnv1a(h, v->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return fnv1a(h, &v->value.v_bool, 1);
    case BSON_TYPE_DATE_TIME:
        return fnv1a(h, &v->value.v_datetime, 8);
    case BSON_TYPE_BINARY:
        return fnv1a(h, v->value.v_binary.data, v->value.v_binary.data_len);
    default:
        /* Documents and rarer types: equal values may differ in bytes (1 vs
         * 1.0 inside), so they share the class hash and compare in-chain. */
        return h;
    }
}

/* ---- paths ----------------------------------------------------------- */

/* Called for every value found at a path; returning true stops the walk. */
typedef bool (*visit_fn)(const bson_value_t *v, void *ctx);

/* Walks a dotted path the way mongod does: through subdocuments, into each
 * document element of an array, by numeric index, and at the end visits an
 * array both whole and element by element. */
static bool visit_path(const uint8_t *data, uint32_t len, const char *path, visit_fn fn, void *ctx,
                       bool *found)
{
    const char *dot = strchr(path, '.');
    int seg = dot ? (int)(dot - path) : (int)strlen(path);
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len) || !bson_iter_find_w_len(&it, path, seg))
        return false;
    bson_type_t t = bson_iter_type(&it);
    if (!dot) {
        *found = true;
        if (fn(bson_iter_value(&it), ctx))
            return true;
        if (t == BSON_TYPE_ARRAY) {
            bson_iter_t child;
            if (bson_iter_recurse(&it, &child))
                while (bson_iter_next(&child))
                    if (fn(bson_iter_value(&child), ctx))
                        return true;
        }
        return false;
    }
    if (t != BSON_TYPE_DOCUMENT && t != BSON_TYPE_ARRAY)
        return false;
    const uint8_t *sub;
    uint32_t sublen;
    if (t == BSON_TYPE_DOCUMENT)
        bson_iter_document(&it, &sublen, &sub);
    else
        bson_iter_array(&it, &sublen, &sub);
    const char *rest = dot + 1;
    if (t == BSON_TYPE_DOCUMENT)
        return visit_path(sub, sublen, rest, fn, ctx, found);
    bson_iter_t child;
    if (bson_iter_init_from_data(&child, sub, sublen)) {
        while (bson_iter_next(&child)) {
            if (BSON_ITER_HOLDS_DOCUMENT(&child)) {
                const uint8_t *ed;
                uint32_t elen;
                bson_iter_document(&child, &elen, &ed);
                if (visit_path(ed, elen, rest, fn, ctx, found))
                    return true;
            }
        }
    }
    if (rest[0] >= '0' && rest[0] <= '9')
        return visit_path(sub, sublen, rest, fn, ctx, found);
    return false;
}

static bool stop_at_first(const bson_value_t *v, void *ctx)
{
    (void)v, (void)ctx;
    return true;
}

/* ---- filter checking ------------------------------------------------- */

static bool is_operator_doc(const bson_iter_t *value)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(value))
        return false;
    bson_iter_t child;
    return bson_iter_recurse(value, &child) && bson_iter_next(&child) &&
           bson_iter_key(&child)[0] == '$';
}

static bool check_filter_data(const uint8_t *data, uint32_t len, bson_error_t *err);

static bool check_logical(bson_iter_t *it, bson_error_t *err)
{
    const char *op = bson_iter_key(it);
    bson_iter_t child;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &child)) {
        bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE, "%s must be an array", op);
        return false;
    }
    int n = 0;
    while (bson_iter_next(&child)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&child)) {
            bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE,
                           "%s argument's entries must be objects", op);
            return false;
        }
        const uint8_t *d;
        uint32_t dl;
        bson_iter_document(&child, &dl, &d);
        if (!check_filter_data(d, dl, err))
            return false;
        n++;
    }
    if (n == 0) {
        bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE,
                       "$and/$or/$nor must be a nonempty array");
        return false;
    }
    return true;
}

static bool check_field_operators(bson_iter_t *value, bson_error_t *err)
{
    bson_iter_t op;
    bson_iter_recurse(value, &op);
    while (bson_iter_next(&op)) {
        const char *k = bson_iter_key(&op);
        if (!strcmp(k, "$eq") || !strcmp(k, "$ne") || !strcmp(k, "$gt") || !strcmp(k, "$gte") ||
            !strcmp(k, "$lt") || !strcmp(k, "$lte") || !strcmp(k, "$exists"))
            continue;
        if (!strcmp(k, "$in") || !strcmp(k, "$nin")) {
            if (!BSON_ITER_HOLDS_ARRAY(&op)) {
                bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE, "%s needs an array", k);
                return false;
            }
            continue;
        }
        bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE, "unknown operator: %s", k);
        return false;
    }
    return true;
}

static bool check_filter_data(const uint8_t *data, uint32_t len, bson_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len)) {
        bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE, "filter is not a valid document");
        return false;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$') {
            if (!strcmp(k, "$and") || !strcmp(k, "$or") || !strcmp(k, "$nor")) {
                if (!check_logical(&it, err))
                    return false;
            } else if (strcmp(k, "$comment") != 0) {
                bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE,
                               "unknown top level operator: %s", k);
                return false;
            }
        } else if (is_operator_doc(&it) && !check_field_operators(&it, err)) {
            return false;
        }
    }
    return true;
}

bool ms_filter_check(const bson_t *filter, bson_error_t *err)
{
    return check_filter_data(bson_get_data(filter), filter->len, err);
}

/* ---- matching -------------------------------------------------------- */

enum cmp_op { OP_EQ, OP_GT, OP_GTE, OP_LT, OP_LTE };

typedef struct {
    const bson_value_t *operand;
    enum cmp_op op;
} cmp_ctx_t;

static bool crosses_classes(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_MINKEY || v->value_type == BSON_TYPE_MAXKEY;
}

static bool compare_visitor(const bson_value_t *v, void *vctx)
{
    cmp_ctx_t *ctx = vctx;
    if (ctx->op != OP_EQ && type_class(v->value_type) != type_class(ctx->operand->value_type) &&
        !crosses_classes(ctx->operand))
        return false; /* $gt and friends only compare within a type class */
    int c = ms_value_compare(v, ctx->operand);
    switch (ctx->op) {
    case OP_EQ: return c == 0;
    case OP_GT: return c > 0;
    case OP_GTE: return c >= 0;
    case OP_LT: return c < 0;
    case OP_LTE: return c <= 0;
    }
    return false;
}

static bool match_compare(const bson_t *doc, const char *path, const bson_value_t *operand,
                          enum cmp_op op)
{
    cmp_ctx_t ctx = {operand, op};
    bool found = false;
    if (visit_path(bson_get_data(doc), doc->len, path, compare_visitor, &ctx, &found))
        return true;
    /* A missing field equals null, so {a: null} and {a: {$gte: null}} match it. */
    return !found && operand->value_type == BSON_TYPE_NULL &&
           (op == OP_EQ || op == OP_GTE || op == OP_LTE);
}

static bool match_in(const bson_t *doc, const char *path, bson_iter_t *operand)
{
    bson_iter_t el;
    if (!bson_iter_recurse(operand, &el))
        return false;
    while (bson_iter_next(&el))
        if (match_compare(doc, path, bson_iter_value(&el), OP_EQ))
            return true;
    return false;
}

static bool value_truthy(const bson_iter_t *it)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_BOOL: return bson_iter_bool(it);
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE: return bson_iter_as_double(it) != 0;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return false;
    default: return true;
    }
}

static bool match_operators(const bson_t *doc, const char *path, bson_iter_t *ops_value)
{
    bson_iter_t op;
    bson_iter_recurse(ops_value, &op);
    while (bson_iter_next(&op)) {
        const char *k = bson_iter_key(&op);
        const bson_value_t *v = bson_iter_value(&op);
        bool ok;
        if (!strcmp(k, "$eq"))
            ok = match_compare(doc, path, v, OP_EQ);
        else if (!strcmp(k, "$ne"))
            ok = !match_compare(doc, path, v, OP_EQ);
        else if (!strcmp(k, "$gt"))
            ok = match_compare(doc, path, v, OP_GT);
        else if (!strcmp(k, "$gte"))
            ok = match_compare(doc, path, v, OP_GTE);
        else if (!strcmp(k, "$lt"))
            ok = match_compare(doc, path, v, OP_LT);
        else if (!strcmp(k, "$lte"))
            ok = match_compare(doc, path, v, OP_LTE);
        else if (!strcmp(k, "$in"))
            ok = match_in(doc, path, &op);
        else if (!strcmp(k, "$nin"))
            ok = !match_in(doc, path, &op);
        else if (!strcmp(k, "$exists")) {
            bool found = false;
            visit_path(bson_get_data(doc), doc->len, path, stop_at_first, NULL, &found);
            ok = found == value_truthy(&op);
        } else
            ok = false; /* unreachable for a checked filter */
        if (!ok)
            return false;
    }
    return true;
}

static bool match_data(const uint8_t *fdata, uint32_t flen, const bson_t *doc);

/* $and / $or / $nor over an array of subfilters. */
static bool match_logical(const char *op, bson_iter_t *arr, const bson_t *doc)
{
    bson_iter_t el;
    bson_iter_recurse(arr, &el);
    bool is_and = !strcmp(op, "$and"), is_or = !strcmp(op, "$or");
    while (bson_iter_next(&el)) {
        const uint8_t *d;
        uint32_t dl;
        bson_iter_document(&el, &dl, &d);
        bool m = match_data(d, dl, doc);
        if (is_and && !m)
            return false;
        if (is_or && m)
            return true;
        if (!is_and && !is_or && m) /* $nor */
            return false;
    }
    return !is_or;
}

static bool match_data(const uint8_t *fdata, uint32_t flen, const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, fdata, flen))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool ok;
        if (k[0] == '$')
            ok = !strcmp(k, "$comment") || match_logical(k, &it, doc);
        else if (is_operator_doc(&it))
            ok = match_operators(doc, k, &it);
        else
            ok = match_compare(doc, k, bson_iter_value(&it), OP_EQ);
        if (!ok)
            return false;
    }
    return true;
}

bool ms_filter_matches(const bson_t *filter, const bson_t *doc)
{
    return match_data(bson_get_data(filter), filter->len, doc);
}

/* An _id value the index answers exactly as the scan would. */
static bool indexable_id(const bson_iter_t *v)
{
    return !BSON_ITER_HOLDS_ARRAY(v) && !BSON_ITER_HOLDS_NULL(v) && !BSON_ITER_HOLDS_UNDEFINED(v);
}

static void plan_push(ms_id_plan_t *plan, size_t *cap, const bson_iter_t *v)
{
    if (plan->nids == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        plan->ids = realloc(plan->ids, *cap * sizeof *plan->ids);
        if (!plan->ids)
            abort();
    }
    plan->ids[plan->nids++] = *bson_iter_value((bson_iter_t *)v);
}

/* The ids of an _id condition's value (plain, $eq or $in); sets *alone when
 * that operator is the condition's only one. */
static bool id_condition_ids(const bson_iter_t *value, ms_id_plan_t *plan, bool *alone)
{
    size_t cap = 0;
    *alone = true;
    if (!is_operator_doc(value)) {
        if (!indexable_id(value))
            return false;
        plan_push(plan, &cap, value);
        return true;
    }
    bson_iter_t op, el;
    bson_iter_recurse(value, &op);
    size_t nops = 0;
    bool found = false;
    while (bson_iter_next(&op)) {
        nops++;
        const char *k = bson_iter_key(&op);
        if (found)
            continue;
        if (!strcmp(k, "$eq")) {
            if (!indexable_id(&op))
                continue;
            plan_push(plan, &cap, &op);
            found = true;
        } else if (!strcmp(k, "$in") && bson_iter_recurse(&op, &el)) {
            bool usable = true;
            size_t before = plan->nids;
            while (usable && bson_iter_next(&el)) {
                usable = indexable_id(&el);
                if (usable)
                    plan_push(plan, &cap, &el);
            }
            if (!usable)
                plan->nids = before;
            found = usable;
        }
    }
    *alone = nops == 1;
    return found;
}

bool ms_filter_id_plan(const bson_t *filter, ms_id_plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    bson_iter_t it, value;
    size_t nid_keys = 0;
    if (!bson_iter_init(&it, filter))
        return false;
    while (bson_iter_next(&it)) {
        if (!strcmp(bson_iter_key(&it), "_id")) {
            value = it;
            nid_keys++;
        }
    }
    bool alone;
    if (nid_keys != 1 || !id_condition_ids(&value, plan, &alone)) {
        free(plan->ids);
        plan->ids = NULL;
        return false;
    }
    /* With other operators beside $eq/$in on _id, the candidates still have
     * to pass the whole filter; else only what is not about _id. */
    bson_init(&plan->rest);
    if (alone)
        bson_copy_to_excluding_noinit(filter, &plan->rest, "_id", NULL);
    else
        bson_concat(&plan->rest, filter);
    return true;
}

void ms_id_plan_free(ms_id_plan_t *plan)
{
    free(plan->ids);
    plan->ids = NULL;
    bson_destroy(&plan->rest);
}

/* ---- projection ------------------------------------------------------ */

bool ms_projection_parse(const bson_t *spec, ms_projection_t *proj, bson_error_t *err)
{
    memset(proj, 0, sizeof *proj);
    proj->include_id = true;
    if (!spec || bson_empty(spec))
        return true;
    bson_iter_t it;
    if (!bson_iter_init(&it, spec))
        return true;
    int mode = -1; /* -1 undecided, 0 exclusion, 1 inclusion */
    size_t cap = bson_count_keys(spec);
    proj->paths = calloc(cap ? cap : 1, sizeof *proj->paths);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bson_type_t t = bson_iter_type(&it);
        if (t != BSON_TYPE_BOOL && t != BSON_TYPE_INT32 && t != BSON_TYPE_INT64 &&
            t != BSON_TYPE_DOUBLE) {
            bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE,
                           "projection of '%s': only 0/1/true/false are supported", k);
            ms_projection_free(proj);
            return false;
        }
        bool include = value_truthy(&it);
        if (!strcmp(k, "_id")) {
            proj->include_id = include;
            continue;
        }
        if (mode == -1) {
            mode = include;
        } else if (mode != (int)include) {
            bson_set_error(err, MS_ERR_DOMAIN, include ? 31253 : 31254,
                           include ? "Cannot do inclusion on field %s in exclusion projection"
                                   : "Cannot do exclusion on field %s in inclusion projection",
                           k);
            ms_projection_free(proj);
            return false;
        }
        proj->paths[proj->npaths++] = bson_strdup(k);
    }
    proj->active = true;
    /* {_id: 1} alone is an inclusion of _id; {_id: 0} alone an exclusion. */
    proj->inclusion = mode == -1 ? proj->include_id : mode == 1;
    return true;
}

void ms_projection_free(ms_projection_t *proj)
{
    for (size_t i = 0; i < proj->npaths; i++)
        bson_free(proj->paths[i]);
    free(proj->paths);
    memset(proj, 0, sizeof *proj);
}

enum { PATH_NONE, PATH_EXACT, PATH_DEEPER };

static int path_relation(const ms_projection_t *proj, const char *full, size_t len)
{
    int rel = PATH_NONE;
    for (size_t i = 0; i < proj->npaths; i++) {
        const char *p = proj->paths[i];
        if (strncmp(p, full, len) != 0)
            continue;
        if (p[len] == '\0')
            return PATH_EXACT;
        if (p[len] == '.')
            rel = PATH_DEEPER;
    }
    return rel;
}

static void project_level(const ms_projection_t *proj, const uint8_t *data, uint32_t len,
                          char *prefix, size_t plen, bool top, bson_t *out);

static void project_array(const ms_projection_t *proj, bson_iter_t *arr_it, char *prefix,
                          size_t plen, bson_t *out_arr)
{
    bson_iter_t el;
    bson_iter_recurse(arr_it, &el);
    uint32_t idx = 0;
    while (bson_iter_next(&el)) {
        char keybuf[16];
        const char *key;
        bson_uint32_to_string(idx, &key, keybuf, sizeof keybuf);
        if (BSON_ITER_HOLDS_DOCUMENT(&el)) {
            const uint8_t *d;
            uint32_t dl;
            bson_iter_document(&el, &dl, &d);
            bson_t sub;
            bson_append_document_begin(out_arr, key, -1, &sub);
            project_level(proj, d, dl, prefix, plen, false, &sub);
            bson_append_document_end(out_arr, &sub);
            idx++;
        } else if (!proj->inclusion) {
            bson_append_iter(out_arr, key, -1, &el);
            idx++;
        }
    }
}

static void project_level(const ms_projection_t *proj, const uint8_t *data, uint32_t len,
                          char *prefix, size_t plen, bool top, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t klen = bson_iter_key_len(&it);
        if (top && !strcmp(k, "_id")) {
            if (proj->include_id)
                bson_append_iter(out, k, (int)klen, &it);
            continue;
        }
        if (plen + klen + 2 > 1024) {
            if (!proj->inclusion)
                bson_append_iter(out, k, (int)klen, &it);
            continue;
        }
        memcpy(prefix + plen, k, klen);
        prefix[plen + klen] = '\0';
        int rel = path_relation(proj, prefix, plen + klen);
        if (rel == PATH_EXACT) {
            if (proj->inclusion)
                bson_append_iter(out, k, (int)klen, &it);
        } else if (rel == PATH_DEEPER && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *d;
            uint32_t dl;
            bson_iter_document(&it, &dl, &d);
            prefix[plen + klen] = '.';
            bson_t sub;
            bson_append_document_begin(out, k, (int)klen, &sub);
            project_level(proj, d, dl, prefix, plen + klen + 1, false, &sub);
            bson_append_document_end(out, &sub);
        } else if (rel == PATH_DEEPER && BSON_ITER_HOLDS_ARRAY(&it)) {
            prefix[plen + klen] = '.';
            bson_t sub;
            bson_append_array_begin(out, k, (int)klen, &sub);
            project_array(proj, &it, prefix, plen + klen + 1, &sub);
            bson_append_array_end(out, &sub);
        } else if (!proj->inclusion) {
            bson_append_iter(out, k, (int)klen, &it);
        }
        prefix[plen] = '\0';
    }
}

void ms_projection_apply(const ms_projection_t *proj, const bson_t *doc, bson_t *out)
{
    if (!proj->active) {
        bson_concat(out, doc);
        return;
    }
    char prefix[1024];
    prefix[0] = '\0';
    project_level(proj, bson_get_data(doc), doc->len, prefix, 0, true, out);
}

/* ---- sort ------------------------------------------------------------ */

bool ms_sort_parse(const bson_t *spec, ms_sort_t *sort, bson_error_t *err)
{
    memset(sort, 0, sizeof *sort);
    if (!spec)
        return true;
    uint32_t n = bson_count_keys(spec);
    if (!n)
        return true;
    sort->paths = calloc(n, sizeof *sort->paths);
    sort->dirs = calloc(n, sizeof *sort->dirs);
    bson_iter_t it;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        double d = BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_double(&it) : 0;
        if (d != 1 && d != -1) {
            bson_set_error(err, MS_ERR_DOMAIN, MS_CODE_BAD_VALUE,
                           "$sort key ordering must be 1 (for ascending) or -1 (for descending)");
            ms_sort_free(sort);
            return false;
        }
        sort->paths[sort->nkeys] = bson_strdup(bson_iter_key(&it));
        sort->dirs[sort->nkeys++] = d > 0 ? 1 : -1;
    }
    return true;
}

void ms_sort_free(ms_sort_t *sort)
{
    for (size_t i = 0; i < sort->nkeys; i++)
        bson_free(sort->paths[i]);
    free(sort->paths);
    free(sort->dirs);
    memset(sort, 0, sizeof *sort);
}

/* The value a document sorts by: an array sorts by its smallest element
 * ascending and its largest descending; a missing field as null. */
static void sort_key(const bson_t *doc, const char *path, int dir, bson_value_t *out)
{
    static const bson_value_t null_value = {.value_type = BSON_TYPE_NULL};
    bson_iter_t it, found;
    *out = null_value;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &found))
        return;
    if (!BSON_ITER_HOLDS_ARRAY(&found)) {
        *out = *bson_iter_value(&found);
        return;
    }
    bson_iter_t el;
    bool any = false;
    bson_iter_recurse(&found, &el);
    while (bson_iter_next(&el)) {
        const bson_value_t *v = bson_iter_value(&el);
        if (!any || ms_value_compare(v, out) * dir < 0)
            *out = *v;
        any = true;
    }
}

int ms_sort_compare(const ms_sort_t *sort, const bson_t *a, const bson_t *b)
{
    for (size_t i = 0; i < sort->nkeys; i++) {
        bson_value_t va, vb;
        sort_key(a, sort->paths[i], sort->dirs[i], &va);
        sort_key(b, sort->paths[i], sort->dirs[i], &vb);
        int c = ms_value_compare(&va, &vb);
        if (c)
            return c * sort->dirs[i];
    }
    return 0;
}
