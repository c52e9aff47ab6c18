/* fuzz_event_id.c: libFuzzer target for the id a stream resumes from.
 *
 * A version is born from a document field (sse_version_of), goes out on an
 * `id:` line (sse_event_format), is kept by the browser's parser as its last
 * event id, comes back as Last-Event-ID (sse_event_last_id) and is compared
 * with the next version in a 256-byte buffer. Input: byte 0 picks the BSON
 * type of the version field (string, int64, double, date, ObjectId, or a
 * nested document); the rest is its value and, as text, a Last-Event-ID
 * header. Any broken link in that chain aborts. */
#include <apr_general.h>
#include <apr_pools.h>
#include <bson/bson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_event.h"
#include "sse_json.h"

/* sse_stream.c keeps the client's version in char[VERSION_MAX + 1]. */
#define STREAM_VERSION_MAX 256

#define FUZZ_NAME "fuzz_event_id"
#include "fuzz_support.h"

/* The last event id a WHATWG event-stream parser holds after reading `s`:
 * lines end at CRLF, CR or LF; "field: value" with one leading space
 * dropped; an `id` value without NUL replaces the buffer. */
static char *browser_last_event_id(const char *s)
{
    char *last = calloc(1, 1);

    CHECK(last != NULL, "out of memory");
    while (*s) {
        size_t n = strcspn(s, "\r\n");
        const char *colon = memchr(s, ':', n);
        if (colon && colon != s && (size_t)(colon - s) == 2 && !memcmp(s, "id", 2)) {
            const char *v = colon + 1;
            size_t vlen = n - 3;
            if (vlen && *v == ' ') {
                v++;
                vlen--;
            }
            free(last);
            last = strndup(v, vlen);
            CHECK(last != NULL, "out of memory");
        }
        s += n;
        if (s[0] == '\r' && s[1] == '\n')
            s += 2;
        else if (*s)
            s++;
    }
    return last;
}

/* The id survives the wire: what the browser keeps is exactly `id`, and the
 * module takes it back as Last-Event-ID without truncation. */
static void check_round_trip(const char *id)
{
    const char *out = sse_event_format(pool, "status", id, "{\"_id\":\"x\"}");
    char *kept = browser_last_event_id(out);

    CHECK(strcmp(kept, id) == 0, "id '%s' came back as '%s'", id, kept);
    CHECK(sse_event_last_id(kept) != NULL, "id '%s' refused as Last-Event-ID", kept);
    CHECK(strlen(kept) <= STREAM_VERSION_MAX, "id of %zu bytes would be truncated", strlen(kept));
    free(kept);
}

static int is_hash_version(const char *v)
{
    size_t i;

    if (v[0] != 'h' || strlen(v) != 33)
        return 0;
    for (i = 1; i < 33; i++) {
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
            return 0;
    }
    return 1;
}

static void append_value(bson_t *doc, unsigned kind, const uint8_t *data, size_t size,
                         const char *text)
{
    int64_t i64 = 0;
    double d = 0;
    bson_oid_t oid;
    bson_t child;

    memcpy(&i64, data, size < sizeof i64 ? size : sizeof i64);
    memcpy(&d, data, size < sizeof d ? size : sizeof d);
    switch (kind) {
    case 0: BSON_APPEND_UTF8(doc, "v", text); break;
    case 1: BSON_APPEND_INT64(doc, "v", i64); break;
    case 2: BSON_APPEND_DOUBLE(doc, "v", d); break;
    case 3: BSON_APPEND_DATE_TIME(doc, "v", i64); break;
    case 4:
        memset(&oid, 0, sizeof oid);
        memcpy(oid.bytes, data, size < 12 ? size : 12);
        BSON_APPEND_OID(doc, "v", &oid);
        break;
    default:    /* a dotted version field: v.w */
        BSON_APPEND_DOCUMENT_BEGIN(doc, "v", &child);
        BSON_APPEND_UTF8(&child, "w", text);
        bson_append_document_end(doc, &child);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned kind;
    char *text;
    const char *id, *version;
    bson_t doc = BSON_INITIALIZER;

    if (size == 0)
        return 0;
    kind = data[0] % 6;
    data++;
    size--;
    text = malloc(size + 1);
    CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';

    /* Last-Event-ID as sent: accepted exactly when it is a safe id, as is. */
    id = sse_event_last_id(text);
    CHECK((id != NULL) == sse_event_id_is_safe(text, strlen(text)), "acceptance differs from the rule");
    if (id) {
        CHECK(id == text, "accepted id is not the header itself");
        check_round_trip(id);
    }

    /* The version made from a field of this type, then on the wire. */
    append_value(&doc, kind, data, size, text);
    version = sse_version_of(pool, &doc, kind == 5 ? "v.w" : "v", NULL);
    CHECK(version && sse_event_id_is_safe(version, strlen(version)), "unsafe version");
    CHECK(strcmp(version, sse_version_of(pool, &doc, kind == 5 ? "v.w" : "v", NULL)) == 0,
          "version not stable");
    if (kind == 0 || kind == 5) {
        /* A safe string is the version as is; anything else is hashed. */
        if (sse_event_id_is_safe(text, strlen(text)))
            CHECK(strcmp(version, text) == 0, "safe string '%s' became '%s'", text, version);
        else
            CHECK(is_hash_version(version), "unsafe string gave version '%s'", version);
    }
    check_round_trip(version);
    /* A client resuming from this version is seen as up to date. */
    CHECK(sse_event_last_id(version) == version, "version refused as Last-Event-ID");

    bson_destroy(&doc);
    free(text);
    apr_pool_clear(pool);
    return 0;
}
