/* fuzz_json.c: libFuzzer target for the pure formatting code.
 *
 * The first input byte picks the mode:
 *   even: the rest is raw BSON; if libbson accepts its structure, render it,
 *         render each top-level value, and compute its version, then check
 *         the promises the stream relies on (valid JSON, one line, valid
 *         UTF-8 as the independent jansson parser sees it; a safe version).
 *   odd:  the rest is text used as Last-Event-ID and as the data, event and
 *         id of an SSE event; check the framing cannot be broken.
 * Any broken promise aborts, which libFuzzer reports as a crash. */
#include <apr_general.h>
#include <apr_pools.h>
#include <bson/bson.h>
#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_event.h"
#include "sse_json.h"

#define FUZZ_NAME "fuzz_json"
#include "fuzz_support.h"

static void check_json(const char *text)
{
    json_error_t err;
    json_t *j;
    const char *c;

    for (c = text; *c; c++)
        CHECK((unsigned char)*c >= 0x20, "raw control byte in %s", text);
    j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    CHECK(j != NULL, "invalid JSON (%s): %s", err.text, text);
    json_decref(j);
}

static void check_version(const char *v)
{
    CHECK(v != NULL && sse_event_id_is_safe(v, strlen(v)),
          "unsafe version '%s'", v ? v : "(null)");
    CHECK(sse_event_last_id(v) == v, "version '%s' not accepted back", v);
}

static void fuzz_bson(const uint8_t *data, size_t size)
{
    static const char *fields[] = { NULL, "a", "a.b", "_id", "updatedAt" };
    bson_t doc;
    bson_iter_t iter;
    size_t offset;
    const char *rendered;
    size_t i;

    if (!bson_init_static(&doc, data, size)
        || !bson_validate(&doc, BSON_VALIDATE_NONE, &offset))
        return;

    rendered = sse_json_render(pool, &doc);
    check_json(rendered);

    if (bson_iter_init(&iter, &doc)) {
        while (bson_iter_next(&iter))
            check_json(sse_json_render_value(pool, &iter));
    }

    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = sse_version_of(pool, &doc, fields[i], rendered);
        check_version(v);
        if (fields[i] == NULL)
            CHECK(strcmp(v, sse_version_of(pool, &doc, NULL, NULL)) == 0,
                  "hash version differs with and without the rendering");
    }
}

/* What a browser's event-stream parser would see as the data of `out`:
 * each "data: " line's value joined with LF. Also checks every line is a
 * field we meant to write. */
static char *reassemble_data(const char *out, const char *id,
                             const char *event)
{
    size_t n = strlen(out);
    char *data = calloc(1, n + 1);
    const char *line = out;
    int seen_data = 0;

    CHECK(data != NULL, "out of memory");
    CHECK(n >= 2 && strcmp(out + n - 2, "\n\n") == 0, "no final blank line");
    CHECK(strchr(out, '\r') == NULL, "CR in output");
    while (*line != '\n') {
        const char *end = strchr(line, '\n');
        size_t len = (size_t)(end - line);

        if (strncmp(line, "data: ", 6) == 0) {
            if (seen_data)
                strcat(data, "\n");
            strncat(data, line + 6, len - 6);
            seen_data = 1;
        } else if (strncmp(line, "id: ", 4) == 0) {
            CHECK(!seen_data && id && strlen(id) == len - 4
                  && memcmp(line + 4, id, len - 4) == 0, "bad id line");
        } else if (strncmp(line, "event: ", 7) == 0) {
            CHECK(!seen_data && event && strlen(event) == len - 7
                  && memcmp(line + 7, event, len - 7) == 0, "bad event line");
        } else {
            CHECK(0, "unexpected line in %s", out);
        }
        line = end + 1;
    }
    CHECK(line == out + n - 1 && seen_data, "event ends early");
    return data;
}

static void fuzz_event(const uint8_t *bytes, size_t size)
{
    char *text = malloc(size + 1);
    char *expected, *got, *w;
    const char *r, *out;
    const char *id, *event;

    CHECK(text != NULL, "out of memory");
    memcpy(text, bytes, size);
    text[size] = '\0';                      /* C strings end at a NUL */

    id = sse_event_last_id(text);
    CHECK(id == NULL || sse_event_id_is_safe(id, strlen(id)), "unsafe id");

    /* The data a browser gets back: every CR, LF or CRLF becomes LF. */
    expected = malloc(strlen(text) + 1);
    CHECK(expected != NULL, "out of memory");
    for (r = text, w = expected; *r; r++) {
        if (*r == '\r') {
            *w++ = '\n';
            if (r[1] == '\n')
                r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';

    event = strpbrk(text, "\r\n") || !*text ? NULL : text;
    out = sse_event_format(pool, text, text, text);
    got = reassemble_data(out, event, event);
    CHECK(strcmp(got, expected) == 0, "data changed in framing");
    free(got);

    out = sse_event_comment(pool, text);
    CHECK(strncmp(out, ": ", 2) == 0 && strchr(out, '\r') == NULL
          && strchr(out, '\n') == out + strlen(out) - 2,
          "comment breaks the stream");

    free(expected);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_event(data + 1, size - 1);
    else
        fuzz_bson(data + 1, size - 1);
    apr_pool_clear(pool);
    return 0;
}
