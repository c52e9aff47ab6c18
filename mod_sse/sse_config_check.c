/* sse_config_check.c: the config-time check (the check_config hook) that
 * makes `apachectl -t` refuse a location serving an sse-* handler without
 * a database, a collection, a key or a store, naming the file and line of
 * its SetHandler. Reads the parsed config tree only. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cfgtree.h"
#include "apr_strings.h"

#include "sse_config.h"

/* ------------------------------------------------------------------ */
/* Config-time check: every location that serves sse-stream, sse-resource, */
/* sse-collection or sse-collection-stream must have a database, a       */
/* collection, a key and a store.                                        */
/* Done on the parsed config tree so `apachectl -t` reports it with    */
/* the file and line of the SetHandler.                                */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *path;         /* literal path, or the literal prefix of a regex */
    int is_regex;
    int is_prefix_regex;      /* "^/lit" or "^/lit.*": the same URIs as <Location "/lit"> */
    int has_db, has_coll, has_key, has_uri, has_aud;
    int has_version, has_writable;   /* what sse-update needs besides */
    const ap_directive_t *handler;   /* SetHandler sse-stream, -resource, -update, -collection* */
    int is_update;
} section_summary;

/* How surely the settings of one section reach the requests of another. */
typedef enum {
    COVERS_NO,
    COVERS_MAYBE,             /* a regex we cannot decide: warn, do not refuse */
    COVERS_YES
} coverage;

/* The literal start of a <LocationMatch> regex: "^/v1/meetings/(?<id>..." gives
 * "/v1/meetings/", which is enough to find the <Location> blocks around it.
 * *whole is set when nothing but ".*" follows it, so that the regex matches
 * exactly the URIs that start with the prefix. An unanchored regex has "". */
static const char *regex_literal_prefix(apr_pool_t *p, const char *re, int *whole)
{
    const char *s = re;
    apr_size_t n = 0;

    *whole = 0;
    if (*s == '"') s++;
    if (*s != '^') return "";
    s++;
    while (s[n] && !strchr(".[]()*+?{}|\\$^\"", s[n])) n++;
    *whole = s[n] == '\0' || s[n] == '"' || !strcmp(s + n, ".*")
             || !strcmp(s + n, ".*\"");
    return apr_pstrmemdup(p, s, n);
}

static void summarize_directives(const ap_directive_t *dir, section_summary *sum)
{
    for (; dir; dir = dir->next) {
        const char *name = dir->directive;
        if (!strcasecmp(name, "SSEDatabase"))        sum->has_db = 1;
        else if (!strcasecmp(name, "SSECollection")) sum->has_coll = 1;
        else if (!strcasecmp(name, "SSEJWTKey")
                 || !strcasecmp(name, "SSEJWKSFile")) sum->has_key = 1;
        else if (!strcasecmp(name, "SSEMongoURI"))   sum->has_uri = 1;
        else if (!strcasecmp(name, "SSEJWTAudience")) sum->has_aud = 1;
        else if (!strcasecmp(name, "SSEVersionField")) sum->has_version = 1;
        else if (!strcasecmp(name, "SSEWritableField")) sum->has_writable = 1;
        else if (!strcasecmp(name, "SetHandler")) {
            const char *h = dir->args;
            if (*h == '"') h++;
            if (!strncasecmp(h, "sse-stream", 10) || !strncasecmp(h, "sse-resource", 12)
                || !strncasecmp(h, "sse-update", 10)
                || !strncasecmp(h, "sse-collection", 14)) {
                sum->handler = dir;
                sum->is_update = !strncasecmp(h, "sse-update", 10);
            }
        }
        else if (!strcasecmp(name, "<If") || !strcasecmp(name, "<ElseIf")
                 || !strcasecmp(name, "<Else") || !strcasecmp(name, "<Limit")
                 || !strcasecmp(name, "<LimitExcept")) {
            summarize_directives(dir->first_child, sum);
        }
    }
}

static void collect_sections(apr_pool_t *p, const ap_directive_t *dir,
                             apr_array_header_t *sections)
{
    for (; dir; dir = dir->next) {
        const char *name = dir->directive;
        int is_match = !strcasecmp(name, "<LocationMatch");
        if (is_match || !strcasecmp(name, "<Location")) {
            section_summary *sum = apr_array_push(sections);
            const char *args = dir->args;
            const char *arg = ap_getword_conf(p, &args);
            memset(sum, 0, sizeof(*sum));
            if (is_match || *arg == '~') {
                if (*arg == '~') arg = ap_getword_conf(p, &args);
                sum->is_regex = 1;
                sum->path = regex_literal_prefix(p, arg, &sum->is_prefix_regex);
            }
            else {
                sum->path = arg;
            }
            summarize_directives(dir->first_child, sum);
        }
        else if (!strcasecmp(name, "<IfModule") || !strcasecmp(name, "<IfDefine")
                 || !strcasecmp(name, "<IfVersion") || !strcasecmp(name, "<IfDirective")
                 || !strcasecmp(name, "<IfFile") || !strcasecmp(name, "<IfSection")) {
            /* Only sections that are in force reach the tree. */
            collect_sections(p, dir->first_child, sections);
        }
    }
}

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* Every URI the handler section `inner` serves starts with inner->path (a
 * literal <Location>, or an anchored regex's literal start). A literal or
 * prefix-only section `outer` whose path is a prefix of that surely applies.
 * Otherwise, where the two prefixes overlap, a regex may or may not match:
 * deciding that would mean comparing two regexes, so it is "maybe". */
static coverage section_covers(const section_summary *outer, const section_summary *inner)
{
    if (outer == inner) return COVERS_YES;
    if ((!outer->is_regex || outer->is_prefix_regex)
        && starts_with(inner->path, outer->path)) {
        return COVERS_YES;
    }
    if (starts_with(inner->path, outer->path) || starts_with(outer->path, inner->path)) {
        return COVERS_MAYBE;
    }
    return COVERS_NO;
}

static void add_settings(section_summary *eff, const section_summary *o)
{
    eff->has_db |= o->has_db;
    eff->has_coll |= o->has_coll;
    eff->has_key |= o->has_key;
    eff->has_aud |= o->has_aud;
    eff->has_version |= o->has_version;
    eff->has_writable |= o->has_writable;
}

static const char *first_missing(const section_summary *eff)
{
    if (!eff->has_db)   return "SSEDatabase";
    if (!eff->has_coll) return "SSECollection";
    if (!eff->has_key)  return "SSEJWTKey (or SSEJWKSFile)";
    if (!eff->has_uri)  return "SSEMongoURI";
    /* A write needs a version it can move on: a hash cannot be compared
     * and set in one conditional update. */
    if (eff->is_update && !eff->has_version) return "SSEVersionField (a date or integer field)";
    if (eff->is_update && !eff->has_writable) return "SSEWritableField";
    return NULL;
}

/* Checks every SetHandler sse-* section in `sections`. A section is covered
 * by itself, by the <Location> blocks in `sections` and `outer` (the main
 * server's, which apply inside virtual hosts too) that apply to its URIs,
 * and by the scope's bare directives in `here`. What only an undecidable
 * regex section supplies is a warning; what nothing supplies, an error. */
static const char *check_sections(apr_pool_t *p, server_rec *s_rec,
                                  const apr_array_header_t *sections,
                                  const apr_array_header_t *outer,
                                  const section_summary *here, int vhost)
{
    const apr_array_header_t *lists[2] = { sections, outer };
    int i, j, l;

    for (i = 0; i < sections->nelts; i++) {
        const section_summary *s = &APR_ARRAY_IDX(sections, i, section_summary);
        section_summary sure = *here, maybe = *here;
        const char *missing;

        if (!s->handler) continue;
        sure.is_update = maybe.is_update = s->is_update;
        for (l = 0; l < 2; l++) {
            if (!lists[l]) continue;
            for (j = 0; j < lists[l]->nelts; j++) {
                const section_summary *o = &APR_ARRAY_IDX(lists[l], j, section_summary);
                coverage c = section_covers(o, s);
                if (c == COVERS_YES) add_settings(&sure, o);
                if (c != COVERS_NO) add_settings(&maybe, o);
            }
        }
        if ((missing = first_missing(&maybe)) != NULL) {
            return apr_psprintf(p, "%s:%d: SetHandler %s is used but no %s applies "
                                "to this location%s",
                                s->handler->filename, s->handler->line_num,
                                s->handler->args, missing,
                                vhost ? " (in this <VirtualHost>)" : "");
        }
        if ((missing = first_missing(&sure)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_rec,
                         "mod_sse: %s:%d: SetHandler %s: %s comes only from a regex "
                         "section that may not match every URI here; check that it "
                         "applies (a request it misses gets a 500)",
                         s->handler->filename, s->handler->line_num,
                         s->handler->args, missing);
        }
        else if (!maybe.has_aud) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_rec,
                         "mod_sse: %s:%d: SetHandler %s: keys but no SSEJWTAudience: "
                         "tokens the same issuer made for other services are accepted, "
                         "and tokens that carry aud are refused",
                         s->handler->filename, s->handler->line_num, s->handler->args);
        }
    }
    return NULL;
}

int sse_config_check(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    apr_array_header_t *top_sections = apr_array_make(ptemp, 8, sizeof(section_summary));
    const ap_directive_t *dir;
    section_summary top;
    const char *err;

    memset(&top, 0, sizeof(top));
    summarize_directives(ap_conftree, &top);
    collect_sections(ptemp, ap_conftree, top_sections);
    err = check_sections(ptemp, s, top_sections, NULL, &top, 0);

    for (dir = ap_conftree; !err && dir; dir = dir->next) {
        if (!strcasecmp(dir->directive, "<VirtualHost")) {
            apr_array_header_t *sections = apr_array_make(ptemp, 8, sizeof(section_summary));
            section_summary here;

            memset(&here, 0, sizeof(here));
            summarize_directives(dir->first_child, &here);
            here.has_db |= top.has_db;
            here.has_coll |= top.has_coll;
            here.has_key |= top.has_key;
            here.has_uri |= top.has_uri;
            collect_sections(ptemp, dir->first_child, sections);
            here.has_aud |= top.has_aud;
            here.has_version |= top.has_version;
            here.has_writable |= top.has_writable;
            err = check_sections(ptemp, s, sections, top_sections, &here, 1);
        }
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "mod_sse: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

