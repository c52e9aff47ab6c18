/* update.c: update operators over immutable BSON: each operator rewrites the
 * document once along its dotted path (creating missing subdocuments), which
 * keeps field order stable and _id first, as mongod does. */
#include "update.h"

#include "query.h"
#include "store.h"

#include <string.h>
#include <time.h>

#define ERR_DOMAIN 1

bool ms_update_is_operator(const bson_t *u)
{
    bson_iter_t it;
    return bson_iter_init(&it, u) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
}

static const char *const known_ops[] = {"$set", "$unset", "$inc", "$min", "$max",
                                        "$currentDate", "$setOnInsert"};

static bool is_known_op(const char *k)
{
    for (size_t i = 0; i < sizeof known_ops / sizeof known_ops[0]; i++)
        if (!strcmp(known_ops[i], k))
            return true;
    return false;
}

bool ms_update_check(const bson_t *u, bson_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, u))
        return false;
    if (!ms_update_is_operator(u)) {
        while (bson_iter_next(&it)) {
            if (bson_iter_key(&it)[0] == '$') {
                bson_set_error(err, ERR_DOMAIN, 52,
                               "The dollar ($) prefixed field '%s' is not valid for storage.",
                               bson_iter_key(&it));
                return false;
            }
        }
        return true;
    }
    while (bson_iter_next(&it)) {
        const char *op = bson_iter_key(&it);
        if (!is_known_op(op)) {
            bson_set_error(err, ERR_DOMAIN, MS_CODE_FAILED_TO_PARSE,
                           "Unknown modifier: %s. Expected a valid update modifier", op);
            return false;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_set_error(err, ERR_DOMAIN, MS_CODE_FAILED_TO_PARSE,
                           "Modifiers operate on fields but we found type %s instead: %s needs a document",
                           "non-document", op);
            return false;
        }
        bson_iter_t f;
        bson_iter_recurse(&it, &f);
        while (bson_iter_next(&f)) {
            const char *path = bson_iter_key(&f);
            if (!path[0] || path[strlen(path) - 1] == '.' || strstr(path, "..")) {
                bson_set_error(err, ERR_DOMAIN, 56, "An empty update path is not valid.");
                return false;
            }
            if (!strcmp(op, "$inc") && !BSON_ITER_HOLDS_NUMBER(&f)) {
                bson_set_error(err, ERR_DOMAIN, MS_CODE_TYPE_MISMATCH,
                               "Cannot increment with non-numeric argument: {%s: ...}", path);
                return false;
            }
        }
    }
    return true;
}

/* Copies the document at data into dst with path set to value (or removed
 * when value is NULL), creating intermediate subdocuments as needed. */
static bool rewrite_path(const uint8_t *data, uint32_t len, const char *path,
                         const bson_value_t *value, bson_t *dst, bson_error_t *err)
{
    const char *dot = strchr(path, '.');
    size_t seg = dot ? (size_t)(dot - path) : strlen(path);
    bool done = false;
    bson_iter_t it;
    if (data && bson_iter_init_from_data(&it, data, len)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (done || bson_iter_key_len(&it) != seg || memcmp(k, path, seg) != 0) {
                bson_append_iter(dst, NULL, 0, &it);
                continue;
            }
            done = true;
            if (!dot) {
                if (value)
                    bson_append_value(dst, k, (int)seg, value);
                continue;
            }
            bool is_doc = BSON_ITER_HOLDS_DOCUMENT(&it), is_arr = BSON_ITER_HOLDS_ARRAY(&it);
            if (!is_doc && !is_arr) {
                if (value) {
                    bson_set_error(err, ERR_DOMAIN, 28,
                                   "Cannot create field '%s' in element {%.*s: ...}", dot + 1,
                                   (int)seg, path);
                    return false;
                }
                bson_append_iter(dst, NULL, 0, &it);
                continue;
            }
            const uint8_t *sub;
            uint32_t sublen;
            bson_t child;
            bool ok;
            if (is_doc) {
                bson_iter_document(&it, &sublen, &sub);
                bson_append_document_begin(dst, k, (int)seg, &child);
                ok = rewrite_path(sub, sublen, dot + 1, value, &child, err);
                bson_append_document_end(dst, &child);
            } else {
                bson_iter_array(&it, &sublen, &sub);
                bson_append_array_begin(dst, k, (int)seg, &child);
                ok = rewrite_path(sub, sublen, dot + 1, value, &child, err);
                bson_append_array_end(dst, &child);
            }
            if (!ok)
                return false;
        }
    }
    if (!done && value) {
        if (!dot) {
            bson_append_value(dst, path, (int)seg, value);
        } else {
            bson_t child;
            bson_append_document_begin(dst, path, (int)seg, &child);
            bool ok = rewrite_path(NULL, 0, dot + 1, value, &child, err);
            bson_append_document_end(dst, &child);
            if (!ok)
                return false;
        }
    }
    return true;
}

/* Replaces *doc by a copy with path set (or unset). */
static bool set_path(bson_t **doc, const char *path, const bson_value_t *value, bson_error_t *err)
{
    bson_t *next = bson_sized_new((*doc)->len + 32);
    if (!rewrite_path(bson_get_data(*doc), (*doc)->len, path, value, next, err)) {
        bson_destroy(next);
        return false;
    }
    bson_destroy(*doc);
    *doc = next;
    return true;
}

static bool current_value(const bson_t *doc, const char *path, bson_value_t *v)
{
    bson_iter_t it, found;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &found))
        return false;
    *v = *bson_iter_value(&found);
    return true;
}

static bool is_number(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64 ||
           v->value_type == BSON_TYPE_DOUBLE;
}

static double as_double(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32   ? v->value.v_int32
           : v->value_type == BSON_TYPE_INT64 ? (double)v->value.v_int64
                                              : v->value.v_double;
}

static int64_t as_int64(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
}

/* a + b with mongod's type promotion: double wins, int32 widens on overflow,
 * int64 overflow is refused. */
static bool add_numbers(const bson_value_t *a, const bson_value_t *b, bson_value_t *out)
{
    if (a->value_type == BSON_TYPE_DOUBLE || b->value_type == BSON_TYPE_DOUBLE) {
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = as_double(a) + as_double(b);
        return true;
    }
    int64_t sum;
    if (__builtin_add_overflow(as_int64(a), as_int64(b), &sum))
        return false;
    if (a->value_type == BSON_TYPE_INT32 && b->value_type == BSON_TYPE_INT32 && sum >= INT32_MIN &&
        sum <= INT32_MAX) {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = (int32_t)sum;
    } else {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = sum;
    }
    return true;
}

static bool apply_field(bson_t **doc, const char *op, bson_iter_t *field, bool inserting,
                        bson_error_t *err)
{
    const char *path = bson_iter_key(field);
    bson_value_t arg = *bson_iter_value(field);
    bson_value_t cur;
    bool has_cur = current_value(*doc, path, &cur);

    if (!strcmp(op, "$set"))
        return set_path(doc, path, &arg, err);
    if (!strcmp(op, "$setOnInsert"))
        return inserting ? set_path(doc, path, &arg, err) : true;
    if (!strcmp(op, "$unset"))
        return has_cur ? set_path(doc, path, NULL, err) : true;
    if (!strcmp(op, "$inc")) {
        if (!has_cur)
            return set_path(doc, path, &arg, err);
        if (!is_number(&cur)) {
            bson_set_error(err, ERR_DOMAIN, MS_CODE_TYPE_MISMATCH,
                           "Cannot apply $inc to a value of non-numeric type (field '%s')", path);
            return false;
        }
        bson_value_t sum;
        if (!add_numbers(&cur, &arg, &sum)) {
            bson_set_error(err, ERR_DOMAIN, MS_CODE_BAD_VALUE,
                           "Failed to apply $inc operations to current value of '%s': overflow",
                           path);
            return false;
        }
        return set_path(doc, path, &sum, err);
    }
    if (!strcmp(op, "$min") || !strcmp(op, "$max")) {
        int want = !strcmp(op, "$min") ? -1 : 1;
        if (has_cur && ms_value_compare(&arg, &cur) * want <= 0)
            return true;
        return set_path(doc, path, &arg, err);
    }
    if (!strcmp(op, "$currentDate")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        bson_value_t now = {.value_type = BSON_TYPE_DATE_TIME};
        now.value.v_datetime = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        bson_iter_t t;
        if (BSON_ITER_HOLDS_DOCUMENT(field) && bson_iter_recurse(field, &t) &&
            bson_iter_find(&t, "$type") && BSON_ITER_HOLDS_UTF8(&t) &&
            !strcmp(bson_iter_utf8(&t, NULL), "timestamp")) {
            now.value_type = BSON_TYPE_TIMESTAMP;
            now.value.v_timestamp.timestamp = (uint32_t)ts.tv_sec;
            now.value.v_timestamp.increment = 1;
        }
        return set_path(doc, path, &now, err);
    }
    return true;
}

static bool apply_operators(bson_t **doc, const bson_t *u, bool inserting, bson_error_t *err)
{
    bson_iter_t op;
    bson_iter_init(&op, u);
    while (bson_iter_next(&op)) {
        const char *name = bson_iter_key(&op);
        bson_iter_t field;
        bson_iter_recurse(&op, &field);
        while (bson_iter_next(&field))
            if (!apply_field(doc, name, &field, inserting, err))
                return false;
    }
    return true;
}

static bool first_is_id(const bson_t *doc, bson_value_t *id)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc) || !bson_iter_next(&it) || strcmp(bson_iter_key(&it), "_id"))
        return false;
    *id = *bson_iter_value(&it);
    return true;
}

static bool id_of(const bson_t *doc, bson_value_t *id)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return false;
    *id = *bson_iter_value(&it);
    return true;
}

bson_t *ms_update_apply(const bson_t *doc, const bson_t *u, bson_error_t *err)
{
    bson_value_t old_id, new_id;
    first_is_id(doc, &old_id);
    bson_t *out;
    if (ms_update_is_operator(u)) {
        out = bson_copy(doc);
        if (!apply_operators(&out, u, false, err)) {
            bson_destroy(out);
            return NULL;
        }
    } else {
        /* A replacement keeps the old _id in front. */
        if (id_of(u, &new_id) && ms_value_compare(&old_id, &new_id) != 0) {
            bson_set_error(err, ERR_DOMAIN, 66,
                           "After applying the update, the (immutable) field '_id' was found to have been altered");
            return NULL;
        }
        out = bson_sized_new(u->len + 32);
        bson_append_value(out, "_id", 3, &old_id);
        bson_copy_to_excluding_noinit(u, out, "_id", NULL);
        return out;
    }
    if (!first_is_id(out, &new_id) || ms_value_compare(&old_id, &new_id) != 0) {
        bson_set_error(err, ERR_DOMAIN, 66,
                       "Performing an update on the path '_id' would modify the immutable field '_id'");
        bson_destroy(out);
        return NULL;
    }
    return out;
}

/* q's equality conditions, as the seed of an upserted document. */
static bool seed_from_filter(bson_t **seed, const uint8_t *data, uint32_t len, bson_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return true;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "$and") && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t el;
            bson_iter_recurse(&it, &el);
            while (bson_iter_next(&el)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&el))
                    continue;
                const uint8_t *d;
                uint32_t dl;
                bson_iter_document(&el, &dl, &d);
                if (!seed_from_filter(seed, d, dl, err))
                    return false;
            }
            continue;
        }
        if (k[0] == '$')
            continue;
        bson_iter_t sub;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &sub) && bson_iter_next(&sub) &&
            bson_iter_key(&sub)[0] == '$') {
            bson_iter_t eq;
            bson_iter_recurse(&it, &eq);
            if (bson_iter_find(&eq, "$eq") && !set_path(seed, k, bson_iter_value(&eq), err))
                return false;
            continue;
        }
        if (!set_path(seed, k, bson_iter_value(&it), err))
            return false;
    }
    return true;
}

bson_t *ms_update_upsert_doc(const bson_t *q, const bson_t *u, bson_error_t *err)
{
    bson_t *doc = bson_new();
    if (!seed_from_filter(&doc, bson_get_data(q), q->len, err)) {
        bson_destroy(doc);
        return NULL;
    }
    if (ms_update_is_operator(u)) {
        if (!apply_operators(&doc, u, true, err)) {
            bson_destroy(doc);
            return NULL;
        }
    } else {
        bson_value_t id;
        bson_t *replacement = bson_sized_new(u->len + 32);
        if (!id_of(u, &id) && id_of(doc, &id))
            bson_append_value(replacement, "_id", 3, &id);
        bson_concat(replacement, u);
        bson_destroy(doc);
        doc = replacement;
    }
    bson_t *out = ms_doc_with_id_first(doc);
    bson_destroy(doc);
    return out;
}
