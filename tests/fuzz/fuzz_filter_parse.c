/* fuzz_filter_parse.c: libFuzzer target for a list's query string
 * (sse_filter_parse) and the digest set it leads to. Input: a query string.
 * Whatever is accepted must be only allow-listed names with 1..50 values,
 * each 1..256 bytes of valid UTF-8 without control characters; and the set
 * built from those values (as ids) must have the same tag whether it is
 * built at once or reached through sse_set_diff from the empty set. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <bson/bson.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse_collection_set.h"

#define FUZZ_NAME "fuzz_filter_parse"
#include "fuzz_support.h"

static void on_removed(void *baton, const sse_set_entry *gone, const char *tag)
{
    (void)gone;
    apr_cpystrn(baton, tag, SSE_SET_TAG_LEN + 1);
}

static void on_changed(void *baton, int index, const sse_set_entry *was, const char *tag)
{
    (void)index;
    (void)was;
    apr_cpystrn(baton, tag, SSE_SET_TAG_LEN + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *allowed = apr_array_make(pool, 2, sizeof(sse_filter_param));
    apr_array_header_t *filters = NULL;
    sse_filter_param *fp;
    char *args = apr_pstrmemdup(pool, (const char *)data, size);
    const char *err;
    sse_set_entry *entries;
    int i, j, n = 0;

    fp = apr_array_push(allowed);
    fp->name = "status";
    fp->field = "status";
    fp = apr_array_push(allowed);
    fp->name = "room";
    fp->field = "meta.room";

    err = sse_filter_parse(pool, args, allowed, "access_token", &filters);
    if (err) {
        apr_pool_clear(pool);
        return 0;
    }
    CHECK(filters && filters->nelts <= 2, "more filters than allowed names");
    entries = apr_palloc(pool, sizeof(*entries) * (SSE_FILTER_MAX_VALUES * 2 + 1));
    for (i = 0; i < filters->nelts; i++) {
        const sse_filter *f = &APR_ARRAY_IDX(filters, i, sse_filter);
        CHECK(!strcmp(f->field, "status") || !strcmp(f->field, "meta.room"), "field '%s'", f->field);
        CHECK(f->values->nelts >= 1 && f->values->nelts <= SSE_FILTER_MAX_VALUES, "%d values",
              f->values->nelts);
        for (j = 0; j < f->values->nelts; j++) {
            const char *v = APR_ARRAY_IDX(f->values, j, const char *);
            size_t len = strlen(v), k;
            CHECK(len >= 1 && len <= SSE_FILTER_MAX_VALUE_BYTES, "value of %zu bytes", len);
            CHECK(bson_utf8_validate(v, len, false), "invalid UTF-8 accepted");
            for (k = 0; k < len; k++) {
                CHECK((unsigned char)v[k] >= 0x20 && v[k] != 0x7F, "control character accepted");
            }
            sse_set_entry_make(&entries[n++], v, "1");
        }
    }

    /* The same tag built at once and reached by a diff from nothing. */
    {
        sse_set empty = { 0 }, built = { 0 };
        char via_diff[SSE_SET_TAG_LEN + 1] = "", direct[SSE_SET_TAG_LEN + 1];
        sse_set_diff_sink sink = { on_removed, on_changed, via_diff };
        int calls;

        CHECK(sse_set_assign(&built, entries, n, 0), "out of memory");
        sse_set_tag(built.sum, built.n, 0, direct);
        calls = sse_set_diff(pool, &empty, built.entries, built.n, 0, &sink);
        CHECK(calls == built.n, "%d calls for %d entries", calls, built.n);
        if (calls) CHECK(!strcmp(via_diff, direct), "tags differ: %s %s", via_diff, direct);
        sse_set_clear(&built);
    }
    apr_pool_clear(pool);
    return 0;
}
