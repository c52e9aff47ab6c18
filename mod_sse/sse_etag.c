/* sse_etag.c: the If-None-Match rule of the resource and the list (see
 * sse_etag.h). A comma-separated list of (possibly weak) quoted tags, or
 * "*"; blanks inside an entry are ignored, as httpd's own parser does. */
#include "apr_strings.h"

#include <string.h>

#include "sse_etag.h"

/* The tag inside the quotes names this version: exactly, or with the
 * suffix a compressing filter added. */
static int tag_names_version(const char *tag, apr_size_t n, const char *version)
{
    static const char *const suffixes[] = { "", "-gzip", "-br" };
    apr_size_t v = strlen(version);
    int i;

    for (i = 0; i < (int)(sizeof(suffixes) / sizeof(suffixes[0])); i++) {
        apr_size_t sn = strlen(suffixes[i]);
        if (n == v + sn && !strncmp(tag, version, v) && !strncmp(tag + v, suffixes[i], sn)) {
            return 1;
        }
    }
    return 0;
}

int sse_etag_matches(apr_pool_t *p, const char *header, const char *version)
{
    const char *list = header;

    if (!header) {
        return 0;
    }
    while (*list) {
        const char *comma = strchr(list, ',');
        apr_size_t len = comma ? (apr_size_t)(comma - list) : strlen(list);
        char *tag = apr_pstrmemdup(p, list, len);

        list += len;
        if (*list == ',') {
            list++;
        }
        apr_collapse_spaces(tag, tag);
        if (!strcmp(tag, "*")) {
            return 1;
        }
        if (!strncmp(tag, "W/", 2)) {
            tag += 2;
        }
        if (tag[0] == '"') {
            apr_size_t n = strlen(tag);
            if (n >= 2 && tag[n - 1] == '"' && tag_names_version(tag + 1, n - 2, version)) {
                return 1;
            }
        }
    }
    return 0;
}
