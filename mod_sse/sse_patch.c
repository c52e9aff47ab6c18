/* sse_patch.c: from an untrusted merge-patch body to $set / $unset. jansson
 * parses (duplicate names refused, as for tokens); then each member is
 * judged by name first (shape, allow-list) and by value second (type,
 * length, NUL bytes), and only an accepted member reaches the BSON. */
#include <string.h>
#include <jansson.h>
#include "apr_strings.h"

#include "sse_patch.h"

static int fail(sse_patch_error *err, int status, const char *code,
                const char *message, const char *field)
{
    err->status = status;
    err->code = code;
    err->message = message;
    err->field = field;
    return 0;
}

/* The member name that ends just before `pos` in the raw body, as sent
 * (escapes left as they are): jansson stops right after the name it refuses
 * (a duplicate, or one holding \u0000), and that text names it for the client. */
static const char *raw_name_before(apr_pool_t *p, const char *body, apr_size_t len,
                                   int pos)
{
    apr_size_t end, i;

    if (pos < 2 || (apr_size_t)pos > len || body[pos - 1] != '"') return NULL;
    end = (apr_size_t)pos - 1;
    for (i = end; i-- > 0; ) {
        apr_size_t slashes = 0;
        if (body[i] != '"') continue;
        while (slashes < i && body[i - 1 - slashes] == '\\') slashes++;
        if (slashes % 2 == 0) {
            return apr_pstrmemdup(p, body + i + 1, end - i - 1);
        }
    }
    return NULL;
}

static apr_size_t utf8_chars(const char *s, apr_size_t n)
{
    apr_size_t i, chars = 0;
    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) chars++;
    }
    return chars;
}

static const sse_writable_field *find_writable(const apr_array_header_t *writable,
                                               const char *name)
{
    int i;
    for (i = 0; writable && i < writable->nelts; i++) {
        const sse_writable_field *f = &APR_ARRAY_IDX(writable, i, sse_writable_field);
        if (!strcmp(f->name, name)) return f;
    }
    return NULL;
}

/* A reserved path, or the top-level field that holds one: writing "meta"
 * would replace "meta.ownerId" with it. */
static int is_reserved(const char *const *reserved, const char *name)
{
    apr_size_t n = strlen(name);
    for (; reserved && *reserved; reserved++) {
        if (!strncmp(*reserved, name, n) && ((*reserved)[n] == '\0' || (*reserved)[n] == '.')) {
            return 1;
        }
    }
    return 0;
}

/* Appends value to out->set if it fits field f; 0 with *err otherwise. */
static int append_value(apr_pool_t *p, const sse_writable_field *f, json_t *value,
                        sse_patch *out, sse_patch_error *err)
{
    const char *name = f->name;

    switch (f->type) {
    case SSE_FIELD_STRING: {
        const char *s = json_string_value(value);
        apr_size_t n = json_string_length(value);
        if (!json_is_string(value)) {
            return fail(err, 422, "invalid_value", "must be a string", name);
        }
        if (memchr(s, '\0', n)) {
            return fail(err, 422, "invalid_value", "must not contain a NUL character", name);
        }
        if (f->max > 0 && (apr_int64_t)utf8_chars(s, n) > f->max) {
            return fail(err, 422, "invalid_value",
                        apr_psprintf(p, "longer than %" APR_INT64_T_FMT " characters", f->max),
                        name);
        }
        return bson_append_utf8(out->set, name, -1, s, (int)n);
    }
    case SSE_FIELD_INT: {
        json_int_t n = json_integer_value(value);
        if (!json_is_integer(value)) {
            return fail(err, 422, "invalid_value", "must be an integer", name);
        }
        if (n >= INT32_MIN && n <= INT32_MAX) {
            return bson_append_int32(out->set, name, -1, (int32_t)n);
        }
        return bson_append_int64(out->set, name, -1, (int64_t)n);
    }
    case SSE_FIELD_NUMBER:
        if (!json_is_number(value)) {
            return fail(err, 422, "invalid_value", "must be a number", name);
        }
        return bson_append_double(out->set, name, -1, json_number_value(value));
    case SSE_FIELD_BOOL:
        if (!json_is_boolean(value)) {
            return fail(err, 422, "invalid_value", "must be true or false", name);
        }
        return bson_append_bool(out->set, name, -1, json_is_true(value));
    }
    return fail(err, 422, "invalid_value", "unknown field type", name);
}

static apr_status_t destroy_bson(void *doc)
{
    bson_destroy(doc);
    return APR_SUCCESS;
}

static apr_status_t release_json(void *root)
{
    json_decref(root);
    return APR_SUCCESS;
}

int sse_patch_parse(apr_pool_t *p, const char *body, apr_size_t len,
                    const apr_array_header_t *writable, const char *const *reserved,
                    sse_patch *out, sse_patch_error *err)
{
    json_error_t jerr;
    json_t *root, *value;
    const char *name;
    sse_patch built;

    /* ALLOW_NUL lets a "\u0000" in a value reach the type check, which can
     * name its field; a NUL in a name jansson refuses itself. */
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
                      &jerr);
    if (!root) {
        const char *raw = raw_name_before(p, body, len, jerr.position);
        if (raw && strstr(jerr.text, "duplicate object key")) {
            return fail(err, 422, "invalid_patch", "the field appears twice", raw);
        }
        if (raw && strstr(jerr.text, "NUL byte in object key")) {
            return fail(err, 422, "field_not_writable", "a field name holds a NUL character",
                        raw);
        }
        return fail(err, 400, "invalid_json",
                    apr_psprintf(p, "the body is not JSON: %s at byte %d", jerr.text,
                                 jerr.position), NULL);
    }
    apr_pool_cleanup_register(p, root, release_json, apr_pool_cleanup_null);
    if (!json_is_object(root)) {
        return fail(err, 422, "invalid_patch",
                    "a merge patch must be a JSON object of fields", NULL);
    }
    if (json_object_size(root) == 0) {
        return fail(err, 422, "invalid_patch", "the patch changes no field", NULL);
    }

    /* Names first: a patch with one bad name changes nothing. */
    json_object_foreach(root, name, value) {
        if (name[0] == '$' || strchr(name, '.')) {
            return fail(err, 422, "field_not_writable",
                        "a field name may not start with '$' or contain '.'", name);
        }
        if (!find_writable(writable, name) || is_reserved(reserved, name)) {
            return fail(err, 422, "field_not_writable", "this field cannot be written", name);
        }
    }

    /* Values second, into a patch *out sees only when all of it is good. */
    built.set = bson_new();
    built.unset = bson_new();
    apr_pool_cleanup_register(p, built.set, destroy_bson, apr_pool_cleanup_null);
    apr_pool_cleanup_register(p, built.unset, destroy_bson, apr_pool_cleanup_null);
    built.fields = apr_array_make(p, (int)json_object_size(root), sizeof(const char *));
    json_object_foreach(root, name, value) {
        const sse_writable_field *f = find_writable(writable, name);
        if (json_is_null(value)) {
            BSON_APPEND_UTF8(built.unset, f->name, "");
        }
        else if (!append_value(p, f, value, &built, err)) {
            return 0;
        }
        APR_ARRAY_PUSH(built.fields, const char *) = f->name;
    }
    *out = built;
    return 1;
}
