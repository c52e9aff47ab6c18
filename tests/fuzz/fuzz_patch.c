/* fuzz_patch.c: libFuzzer target for the merge-patch parser (sse_patch.c).
 * The input is the PATCH body. Whatever it is, an accepted patch may only
 * touch allow-listed, unreserved top-level names with values of their type
 * (strings valid UTF-8, no NUL, within their length); a refused one says 400
 * or 422 with a code. Any broken promise aborts. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <bson/bson.h>

#include <stdint.h>
#include <string.h>

#include "sse_patch.h"

#define FUZZ_NAME "fuzz_patch"
#include "fuzz_support.h"

static const char *const reserved[] = { "_id", "ownerId", "updatedAt", NULL };

static const sse_writable_field *field_named(const apr_array_header_t *w, const char *name)
{
    int i;
    for (i = 0; i < w->nelts; i++) {
        const sse_writable_field *f = &APR_ARRAY_IDX(w, i, sse_writable_field);
        if (!strcmp(f->name, name)) return f;
    }
    return NULL;
}

static size_t chars(const char *s, uint32_t n)
{
    size_t c = 0;
    uint32_t i;
    for (i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static void check_member(const apr_array_header_t *w, const bson_iter_t *it, int unset)
{
    const char *name = bson_iter_key(it);
    const sse_writable_field *f = field_named(w, name);
    const char *const *r;

    CHECK(f != NULL, "'%s' is not writable but was accepted", name);
    for (r = reserved; *r; r++) CHECK(strcmp(*r, name), "reserved '%s' accepted", name);
    if (unset) return;
    switch (f->type) {
    case SSE_FIELD_STRING: {
        uint32_t n;
        const char *s;
        CHECK(BSON_ITER_HOLDS_UTF8(it), "'%s' is not a string", name);
        s = bson_iter_utf8(it, &n);
        CHECK(bson_utf8_validate(s, n, false), "'%s' is not UTF-8 without NUL", name);
        CHECK(f->max == 0 || chars(s, n) <= (size_t)f->max, "'%s' is too long", name);
        break;
    }
    case SSE_FIELD_INT:
        CHECK(BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it), "'%s' is no int", name);
        break;
    case SSE_FIELD_NUMBER:
        CHECK(BSON_ITER_HOLDS_DOUBLE(it), "'%s' is no double", name);
        break;
    case SSE_FIELD_BOOL:
        CHECK(BSON_ITER_HOLDS_BOOL(it), "'%s' is no bool", name);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *w;
    sse_writable_field *f;
    sse_patch out;
    sse_patch_error err;
    bson_iter_t it;
    apr_pool_t *p;

    apr_pool_create(&p, pool);
    w = apr_array_make(p, 4, sizeof(sse_writable_field));
    f = apr_array_push(w); f->name = "title"; f->type = SSE_FIELD_STRING; f->max = 8;
    f = apr_array_push(w); f->name = "count"; f->type = SSE_FIELD_INT; f->max = 0;
    f = apr_array_push(w); f->name = "score"; f->type = SSE_FIELD_NUMBER; f->max = 0;
    f = apr_array_push(w); f->name = "done"; f->type = SSE_FIELD_BOOL; f->max = 0;
    f = apr_array_push(w); f->name = "ownerId"; f->type = SSE_FIELD_STRING; f->max = 0;

    memset(&out, 0, sizeof(out));
    if (sse_patch_parse(p, (const char *)data, size, w, reserved, &out, &err)) {
        CHECK(out.set && out.unset && out.fields, "accepted without output");
        CHECK(!bson_empty(out.set) || !bson_empty(out.unset), "an accepted patch changes nothing");
        if (bson_iter_init(&it, out.set)) while (bson_iter_next(&it)) check_member(w, &it, 0);
        if (bson_iter_init(&it, out.unset)) while (bson_iter_next(&it)) check_member(w, &it, 1);
    }
    else {
        CHECK(err.status == 400 || err.status == 422, "status %d", err.status);
        CHECK(err.code && err.message, "refusal without code or message");
        CHECK(out.set == NULL, "refused but output filled");
    }
    apr_pool_destroy(p);
    return 0;
}
