/* sse_event.c: Server-Sent Events framing (WHATWG "event stream" format).
 *
 * Only string building: every byte a browser's parser treats as a line end
 * (CR, LF, CRLF) is either turned into a new `data:` line or kept off the
 * wire, so no value can inject a field or end an event early. */
#include "sse_event.h"

#include <apr_strings.h>
#include <string.h>

#define SSE_ID_MAX 200

int sse_event_id_is_safe(const char *s, size_t len)
{
    size_t i;

    if (s == NULL || len == 0 || len > SSE_ID_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7E || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

const char *sse_event_last_id(const char *header)
{
    if (header == NULL) {
        return NULL;
    }
    /* strnlen: never walk far past the limit on a huge header. */
    return sse_event_id_is_safe(header, strnlen(header, SSE_ID_MAX + 1))
           ? header : NULL;
}

/* A field value that would end its line early is dropped, not mangled:
 * a truncated id or event name would be a different, wrong one. */
static int field_is_single_line(const char *s)
{
    return s != NULL && s[strcspn(s, "\r\n")] == '\0';
}

char *sse_event_format(apr_pool_t *p, const char *event, const char *id,
                       const char *data)
{
    size_t idlen = field_is_single_line(id) ? strlen(id) : 0;
    size_t evlen = field_is_single_line(event) ? strlen(event) : 0;
    size_t dlen, lines = 1, i, cap;
    char *out, *w;

    if (data == NULL) {
        data = "";
    }
    dlen = strlen(data);
    for (i = 0; i < dlen; i++) {
        if (data[i] == '\n' || data[i] == '\r') {
            lines++;
            if (data[i] == '\r' && data[i + 1] == '\n') {
                i++;
            }
        }
    }

    cap = (idlen ? sizeof("id: \n") + idlen : 0)
        + (evlen ? sizeof("event: \n") + evlen : 0)
        + lines * sizeof("data: \n") + dlen + sizeof("\n");
    out = w = apr_palloc(p, cap);

    if (idlen) {
        memcpy(w, "id: ", 4);
        memcpy(w + 4, id, idlen);
        w += 4 + idlen;
        *w++ = '\n';
    }
    if (evlen) {
        memcpy(w, "event: ", 7);
        memcpy(w + 7, event, evlen);
        w += 7 + evlen;
        *w++ = '\n';
    }

    /* One `data:` line per line; a trailing line break yields a final empty
     * `data:` line, so the browser reassembles exactly `data` (with LF). */
    for (;;) {
        size_t n = strcspn(data, "\r\n");
        memcpy(w, "data: ", 6);
        memcpy(w + 6, data, n);
        w += 6 + n;
        *w++ = '\n';
        data += n;
        if (*data == '\0') {
            break;
        }
        data += (data[0] == '\r' && data[1] == '\n') ? 2 : 1;
    }
    *w++ = '\n';
    *w = '\0';
    return out;
}

char *sse_event_comment(apr_pool_t *p, const char *text)
{
    char *out = apr_pstrcat(p, ": ", text ? text : "", "\n\n", NULL);
    char *c;

    for (c = out + 2; c[2] != '\0'; c++) {
        if (*c == '\r' || *c == '\n') {
            *c = ' ';
        }
    }
    return out;
}

char *sse_event_retry(apr_pool_t *p, long ms)
{
    /* A browser ignores a retry value that is not all digits. */
    return apr_psprintf(p, "retry: %ld\n\n", ms < 0 ? 0L : ms);
}
