/* mod_sse.c: the module glue. Configuration (directives, per-directory
 * merge, the config-time checks that make `apachectl -t` fail on a broken
 * setup), the hooks, and the handler dispatch. The work itself lives in
 * sse_stream.c (the stream), sse_rest.c (resource and health), sse_auth.c
 * (who may see what), sse_store.c (MongoDB), sse_metrics.c and
 * sse_status.c (counters, /metrics, /health/live, mod_status) and the pure
 * helpers.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_cfgtree.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include <unistd.h>

#include <mongoc/mongoc.h>

#include "sse_async.h"
#include "sse_collection.h"
#include "sse_collection_set.h"
#include "sse_config.h"
#include "sse_duration.h"
#include "sse_jwt.h"
#include "sse_metrics.h"
#include "sse_limits.h"
#include "sse_rest.h"
#include "sse_status.h"
#include "sse_store.h"
#include "sse_stream.h"
#include "sse_update.h"

#define SSE_DEFAULT_ID_FROM       "MATCH_ID"
#define SSE_DEFAULT_ID_FIELD      "_id"
#define SSE_DEFAULT_OWNER_CLAIM   "sub"
#define SSE_DEFAULT_POLL          apr_time_from_sec(3)
#define SSE_DEFAULT_KEEPALIVE     apr_time_from_sec(15)
#define SSE_DEFAULT_MAX_LIFETIME  apr_time_from_sec(3600)
#define SSE_DEFAULT_LEEWAY        apr_time_from_sec(30)
#define SSE_DEFAULT_RETRY_MS      5000
#define SSE_DEFAULT_MAX_PER_USER  16
#define SSE_DEFAULT_LIST_LIMIT    500
#define MAX_LIST_LIMIT            10000
#define MIN_POLL              apr_time_from_msec(100)
/* Keeps "started + lifetime" and friends far from overflow. */
#define MAX_DURATION          apr_time_from_sec(366 * 24 * 3600)

/* ------------------------------------------------------------------ */
/* Effective values                                                    */
/* ------------------------------------------------------------------ */

const char *sse_conf_id_from(const sse_dir_conf *d)
{
    return d->id_from ? d->id_from : SSE_DEFAULT_ID_FROM;
}

const char *sse_conf_id_field(const sse_dir_conf *d)
{
    return d->id_field ? d->id_field : SSE_DEFAULT_ID_FIELD;
}

const char *sse_conf_owner_claim(const sse_dir_conf *d)
{
    return d->owner_claim ? d->owner_claim : SSE_DEFAULT_OWNER_CLAIM;
}

apr_interval_time_t sse_conf_poll_interval(const sse_dir_conf *d)
{
    return d->poll_interval >= 0 ? d->poll_interval : SSE_DEFAULT_POLL;
}

apr_interval_time_t sse_conf_keepalive(const sse_dir_conf *d)
{
    return d->keepalive >= 0 ? d->keepalive : SSE_DEFAULT_KEEPALIVE;
}

apr_interval_time_t sse_conf_max_lifetime(const sse_dir_conf *d)
{
    return d->max_lifetime >= 0 ? d->max_lifetime : SSE_DEFAULT_MAX_LIFETIME;
}

apr_interval_time_t sse_conf_leeway(const sse_dir_conf *d)
{
    return d->leeway >= 0 ? d->leeway : SSE_DEFAULT_LEEWAY;
}

long sse_conf_retry_ms(const sse_dir_conf *d)
{
    return d->retry_ms >= 0 ? d->retry_ms : SSE_DEFAULT_RETRY_MS;
}

long sse_conf_list_limit(const sse_dir_conf *d)
{
    return d->list_limit >= 0 ? d->list_limit : SSE_DEFAULT_LIST_LIMIT;
}

/* Set once in child_init, read-only afterwards: the default instance id.
 * Random, so a client learns nothing of hosts, ports or PIDs from it. */
static char child_instance_id[17] = "unset";

static void make_child_instance_id(void)
{
    unsigned char raw[8];
    int i;

    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        apr_uint64_t mix = (apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)getpid() << 32);
        memcpy(raw, &mix, sizeof(raw));
    }
    for (i = 0; i < 8; i++) {
        apr_snprintf(child_instance_id + 2 * i, 3, "%02x", raw[i]);
    }
}

const char *sse_conf_instance(apr_pool_t *p, const request_rec *r)
{
    const sse_server_conf *conf = ap_get_module_config(r->server->module_config,
                                                       &sse_module);
    const char *f = conf->instance_name, *pct;
    const char *out = "";

    if (!f) {
        return child_instance_id;
    }
    while ((pct = strchr(f, '%')) != NULL && pct[1]) {
        const char *add;
        switch (pct[1]) {
        case 'v': add = r->server->server_hostname; break;
        case 'p': add = apr_itoa(p, (int)r->connection->local_addr->port); break;
        case 'P': add = apr_ltoa(p, (long)getpid()); break;
        case '%': add = "%"; break;
        default:  add = apr_pstrmemdup(p, pct, 2); break;
        }
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, f, (apr_size_t)(pct - f)),
                          add ? add : "", NULL);
        f = pct + 2;
    }
    return apr_pstrcat(p, out, f, NULL);
}

int sse_conf_max_streams_per_user(const sse_dir_conf *d)
{
    return d->max_streams_per_user >= 0 ? d->max_streams_per_user : SSE_DEFAULT_MAX_PER_USER;
}

/* ------------------------------------------------------------------ */
/* Config create and merge                                             */
/* ------------------------------------------------------------------ */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(sse_server_conf));
}

static void *merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
    const sse_server_conf *base = base_, *add = add_;
    sse_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->mongo_uri = add->mongo_uri ? add->mongo_uri : base->mongo_uri;
    conf->instance_name = add->instance_name ? add->instance_name : base->instance_name;
    conf->max_streams = base->max_streams;      /* main server only */
    return conf;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    sse_dir_conf *d = apr_pcalloc(p, sizeof(*d));
    d->id_type = SSE_UNSET;
    d->poll_interval = SSE_UNSET;
    d->keepalive = SSE_UNSET;
    d->max_lifetime = SSE_UNSET;
    d->leeway = SSE_UNSET;
    d->retry_ms = SSE_UNSET;
    d->emit_always = SSE_UNSET;
    d->max_streams_per_user = SSE_UNSET;
    d->list_limit = SSE_UNSET;
    return d;
}

#define MERGE_PTR(f)   conf->f = add->f ? add->f : base->f
#define MERGE_NUM(f)   conf->f = add->f != SSE_UNSET ? add->f : base->f

static void *merge_dir_conf(apr_pool_t *p, void *base_, void *add_)
{
    const sse_dir_conf *base = base_, *add = add_;
    sse_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    MERGE_PTR(database);
    MERGE_PTR(collection);
    /* SSEIdFrom's two forms are one setting. */
    conf->id_from = add->id_from ? add->id_from : base->id_from;
    conf->id_segment = add->id_from ? add->id_segment : base->id_segment;
    MERGE_PTR(id_field);
    MERGE_NUM(id_type);
    MERGE_PTR(fields);
    MERGE_PTR(version_field);
    MERGE_PTR(owner_field);
    MERGE_PTR(owner_claim);
    MERGE_NUM(poll_interval);
    MERGE_NUM(keepalive);
    MERGE_NUM(max_lifetime);
    MERGE_NUM(leeway);
    MERGE_NUM(retry_ms);
    MERGE_NUM(emit_always);
    MERGE_PTR(keys);            /* an inner key list replaces the outer one */
    MERGE_PTR(issuer);
    MERGE_PTR(audience);
    MERGE_PTR(jwt_type);
    MERGE_PTR(token_query_param);
    MERGE_PTR(cors_origins);
    MERGE_NUM(max_streams_per_user);
    sse_update_merge_conf(conf, base, add);
    MERGE_PTR(filter_params);   /* an inner list replaces the outer one */
    MERGE_NUM(list_limit);
    return conf;
}

/* ------------------------------------------------------------------ */
/* Directives                                                          */
/* ------------------------------------------------------------------ */

static const char *set_mongo_uri(cmd_parms *cmd, void *dummy, const char *arg)
{
    sse_server_conf *conf = ap_get_module_config(cmd->server->module_config,
                                                 &sse_module);
    bson_error_t error;
    mongoc_uri_t *uri;

    mongoc_init();      /* once per process; libmongoc ignores later calls */
    uri = mongoc_uri_new_with_error(arg, &error);

    if (!uri) {
        return apr_psprintf(cmd->pool, "SSEMongoURI: invalid connection string: %s",
                            error.message);
    }
    mongoc_uri_destroy(uri);
    conf->mongo_uri = arg;
    return NULL;
}

static const char *set_string(cmd_parms *cmd, void *d, const char *arg)
{
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s needs a non-empty value", cmd->cmd->name);
    }
    return ap_set_string_slot(cmd, d, arg);
}

/* SSEIdFrom VAR, or SSEIdFrom path-segment N: the id is the Nth segment of
 * the path (/v1/meetings/ID/events: 3), so the section that sets the
 * handler needs no regex group (ap_location_walk gives every request with
 * one a sub-pool, whose block a suspended stream then keeps). */
static const char *set_id_from(cmd_parms *cmd, void *d_, const char *a1, const char *a2)
{
    sse_dir_conf *d = d_;
    char *end;
    long n;

    if (!a2) {
        if (!*a1) {
            return "SSEIdFrom needs a request variable name, or path-segment N";
        }
        d->id_from = a1;
        d->id_segment = 0;
        return NULL;
    }
    if (strcmp(a1, "path-segment")) {
        return apr_psprintf(cmd->pool, "SSEIdFrom: '%s %s': two arguments must be "
                            "path-segment N", a1, a2);
    }
    n = strtol(a2, &end, 10);
    if (!*a2 || *end || n < 1 || n > 64) {
        return apr_psprintf(cmd->pool, "SSEIdFrom path-segment: '%s' is not a segment "
                            "number from 1 to 64 (/v1/meetings/ID/events: 3)", a2);
    }
    d->id_from = "path-segment";
    d->id_segment = (int)n;
    return NULL;
}

static const char *set_id_type(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    if (!strcmp(arg, "auto"))          d->id_type = SSE_ID_AUTO;
    else if (!strcmp(arg, "string"))   d->id_type = SSE_ID_STRING;
    else if (!strcmp(arg, "objectid")) d->id_type = SSE_ID_OBJECTID;
    else if (!strcmp(arg, "int"))      d->id_type = SSE_ID_INT;
    else {
        return apr_psprintf(cmd->pool,
                            "SSEIdType: '%s' is not one of auto, string, objectid, int",
                            arg);
    }
    return NULL;
}

static const char *add_field(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    if (!*arg || *arg == '$') {
        return apr_psprintf(cmd->pool, "SSEFields: '%s' is not a field name", arg);
    }
    if (!d->fields) {
        d->fields = apr_array_make(cmd->pool, 8, sizeof(const char *));
    }
    APR_ARRAY_PUSH(d->fields, const char *) = arg;
    return NULL;
}

/* Durations share one parser; each directive adds its own lower bound. */
static const char *set_duration(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    const char *name = cmd->cmd->name;
    apr_interval_time_t value;
    const char *err = sse_duration_parse(cmd->pool, arg, &value);

    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", name, err);
    }
    if (value > MAX_DURATION) {
        return apr_psprintf(cmd->pool, "%s: '%s' is longer than a year", name, arg);
    }
    if (!strcasecmp(name, "SSEPollInterval")) {
        if (value < MIN_POLL) {
            return apr_psprintf(cmd->pool, "SSEPollInterval: '%s' is below the minimum of 100ms", arg);
        }
        d->poll_interval = value;
    }
    else if (!strcasecmp(name, "SSEKeepalive")) {
        if (value < MIN_POLL) {
            return apr_psprintf(cmd->pool, "SSEKeepalive: '%s' is below the minimum of 100ms", arg);
        }
        d->keepalive = value;
    }
    else if (!strcasecmp(name, "SSEMaxLifetime")) {
        d->max_lifetime = value;
    }
    else {
        d->leeway = value;
    }
    return NULL;
}

static const char *set_retry(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    char *end;
    apr_int64_t ms = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || ms < 0 || ms > 86400000 || !apr_isdigit(*arg)) {
        return apr_psprintf(cmd->pool,
                            "SSERetry: '%s' is not a number of milliseconds (0 to 86400000)",
                            arg);
    }
    d->retry_ms = (long)ms;
    return NULL;
}

/* A count of streams: 0 (no limit) to a million. */
static const char *parse_stream_count(cmd_parms *cmd, const char *arg, int *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || !apr_isdigit(*arg) || n < 0 || n > 1000000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of streams "
                            "(0 for no limit, up to 1000000)", cmd->cmd->name, arg);
    }
    *out = (int)n;
    return NULL;
}

static const char *set_max_streams_per_user(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    return parse_stream_count(cmd, arg, &d->max_streams_per_user);
}

/* An instance-wide count has one limit: the main server's. */
static const char *set_max_streams(cmd_parms *cmd, void *dummy, const char *arg)
{
    sse_server_conf *conf = ap_get_module_config(cmd->server->module_config, &sse_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) return err;
    return parse_stream_count(cmd, arg, &conf->max_streams);
}

static const char *set_emit(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    if (!strcmp(arg, "changes"))     d->emit_always = 0;
    else if (!strcmp(arg, "always")) d->emit_always = 1;
    else {
        return apr_psprintf(cmd->pool, "SSEEmit: '%s' is not one of changes, always", arg);
    }
    return NULL;
}

/* SSEFilterParam NAME FIELD: NAME is what a URL may say, FIELD a plain
 * (dotted) field name, never an operator. */
static const char *add_filter_param(cmd_parms *cmd, void *d_, const char *name,
                                    const char *field)
{
    sse_dir_conf *d = d_;
    sse_filter_param *fp;
    const char *c;
    int i;

    if (!*name || strlen(name) > 64) {
        return "SSEFilterParam: the parameter name must be 1 to 64 characters";
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-' && *c != '.') {
            return apr_psprintf(cmd->pool, "SSEFilterParam: '%s' is not a parameter name "
                                "(letters, digits, _ - . only)", name);
        }
    }
    if (!*field || *field == '.' || field[strlen(field) - 1] == '.' || strstr(field, "..")
        || strchr(field, '$')) {
        return apr_psprintf(cmd->pool, "SSEFilterParam: '%s' is not a field name", field);
    }
    if (!d->filter_params) {
        d->filter_params = apr_array_make(cmd->pool, 4, sizeof(sse_filter_param));
    }
    for (i = 0; i < d->filter_params->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->filter_params, i, sse_filter_param).name, name)) {
            return apr_psprintf(cmd->pool, "SSEFilterParam: '%s' is given twice", name);
        }
    }
    fp = apr_array_push(d->filter_params);
    fp->name = name;
    fp->field = field;
    return NULL;
}

static const char *set_list_limit(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || !apr_isdigit(*arg) || n < 1 || n > MAX_LIST_LIMIT) {
        return apr_psprintf(cmd->pool, "SSEListLimit: '%s' is not a number from 1 to %d",
                            arg, MAX_LIST_LIMIT);
    }
    d->list_limit = (long)n;
    return NULL;
}

static apr_array_header_t *own_key_list(cmd_parms *cmd, sse_dir_conf *d)
{
    if (!d->keys) {
        d->keys = apr_array_make(cmd->pool, 4, sizeof(sse_jwt_key *));
    }
    return d->keys;
}

static const char *add_jwt_key(cmd_parms *cmd, void *d_, const char *alg,
                               const char *source, const char *kid_arg)
{
    sse_dir_conf *d = d_;
    const char *kid = NULL;
    sse_jwt_key *key;
    const char *err;

    if (kid_arg) {
        if (strncmp(kid_arg, "kid=", 4) || !kid_arg[4]) {
            return apr_psprintf(cmd->pool,
                                "SSEJWTKey: third argument must be kid=ID, not '%s'",
                                kid_arg);
        }
        kid = kid_arg + 4;
    }
    if (!strncmp(source, "file:", 5) && source[5] && source[5] != '/') {
        /* relative to ServerRoot, like every other path in httpd.conf */
        source = apr_pstrcat(cmd->pool, "file:",
                             ap_server_root_relative(cmd->pool, source + 5), NULL);
    }
    err = sse_jwt_key_load(cmd->pool, alg, source, kid, &key);
    if (err) {
        /* Name the key: with several SSEJWTKey lines, which one is wrong. */
        return apr_psprintf(cmd->pool, "SSEJWTKey %s %s%s%s: %s", alg, source,
                            kid ? " kid=" : "", kid ? kid : "", err);
    }
    APR_ARRAY_PUSH(own_key_list(cmd, d), sse_jwt_key *) = key;
    return NULL;
}

static const char *set_jwks_file(cmd_parms *cmd, void *d_, const char *path)
{
    sse_dir_conf *d = d_;
    const char *err = sse_jwt_jwks_load(cmd->pool,
                                        ap_server_root_relative(cmd->pool, path),
                                        own_key_list(cmd, d));
    if (err) {
        return apr_psprintf(cmd->pool, "SSEJWKSFile: %s", err);
    }
    return NULL;
}

/* SSEJWTType: a media type, as `typ` carries it (RFC 7515 4.1.9). */
static const char *set_jwt_type(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    const char *c;

    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("!#$&-^_.+/", *c)) break;
    }
    if (!*arg || *c) {
        return apr_psprintf(cmd->pool,
                            "SSEJWTType: '%s' is not a media type like at+jwt", arg);
    }
    d->jwt_type = arg;
    return NULL;
}

/* SSEInstanceName: what clients see as `instance`; printable ASCII only. */
static const char *set_instance_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    sse_server_conf *conf = ap_get_module_config(cmd->server->module_config,
                                                 &sse_module);
    const char *c;

    for (c = arg; *c && *c > ' ' && *c < 0x7f; c++);
    if (!*arg || *c || strlen(arg) > 128) {
        return apr_psprintf(cmd->pool, "SSEInstanceName: '%s' is not a name of 1 to 128 "
                            "printable characters without spaces", arg);
    }
    conf->instance_name = arg;
    return NULL;
}

static const char *add_cors_origin(cmd_parms *cmd, void *d_, const char *origin)
{
    sse_dir_conf *d = d_;
    apr_uri_t uri;

    if (strcmp(origin, "*")
        && (apr_uri_parse(cmd->pool, origin, &uri) != APR_SUCCESS
            || !uri.scheme || !uri.hostname
            || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))
            || (uri.path && *uri.path) || uri.query || uri.fragment)) {
        return apr_psprintf(cmd->pool,
                            "SSECORSAllowOrigin: '%s' is not an origin like https://app.example.com",
                            origin);
    }
    if (!d->cors_origins) {
        d->cors_origins = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(d->cors_origins, const char *) = origin;
    return NULL;
}

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

static int sse_check_config(apr_pool_t *pconf, apr_pool_t *plog,
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

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static void sse_child_init(apr_pool_t *pchild, server_rec *s)
{
    make_child_instance_id();
    sse_metrics_child_init(pchild, s);
    sse_store_child_init(pchild, s);
    sse_stream_child_init(pchild, s);
}

static void sse_child_stopping(apr_pool_t *pchild, int graceful)
{
    sse_stream_child_stopping();
}

static int sse_handler(request_rec *r)
{
    if (!r->handler || strncmp(r->handler, "sse-", 4)) {
        return DECLINED;
    }
    if (!strcmp(r->handler, "sse-stream")) {
        int rv = sse_stream_handler(r);
        sse_metrics_stream_answered(r, rv);
        return rv;
    }
    if (!strcmp(r->handler, "sse-resource")) {
        return sse_resource_handler(r);
    }
    if (!strcmp(r->handler, "sse-health")) {
        return sse_health_handler(r);
    }
    if (!strcmp(r->handler, "sse-live")) {
        return sse_live_handler(r);
    }
    if (!strcmp(r->handler, "sse-metrics")) {
        return sse_metrics_handler(r);
    }
    if (!strcmp(r->handler, "sse-update")) {
        return sse_update_handler(r);
    }
    if (!strcmp(r->handler, "sse-collection")) {
        return sse_collection_handler(r);
    }
    if (!strcmp(r->handler, "sse-collection-stream")) {
        int rv = sse_collection_stream_handler(r);
        sse_metrics_stream_answered(r, rv);
        return rv;
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(sse_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sse_metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sse_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(sse_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(sse_handler, NULL, NULL, APR_HOOK_MIDDLE);
    sse_async_register_hooks(p);
    sse_status_register_hooks(p);
    sse_limits_register_hooks(p);
}

/* ------------------------------------------------------------------ */
/* Directive table                                                     */
/* ------------------------------------------------------------------ */

#define DIR_CONF (RSRC_CONF | ACCESS_CONF)

static const command_rec sse_cmds[] = {
    AP_INIT_TAKE1("SSEMongoURI", set_mongo_uri, NULL, RSRC_CONF,
        "MongoDB connection string; one client pool per child process"),
    AP_INIT_TAKE1("SSEDatabase", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, database), DIR_CONF,
        "Database holding the documents"),
    AP_INIT_TAKE1("SSECollection", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, collection), DIR_CONF,
        "Collection holding the documents"),
    AP_INIT_TAKE12("SSEIdFrom", set_id_from, NULL, DIR_CONF,
        "Where the document id comes from: a request variable (default MATCH_ID, "
        "set by a (?<id>...) group), or path-segment N, the Nth segment of the path; "
        "a segment that is empty, longer than 128 or not A-Z a-z 0-9 _ - is a 404"),
    AP_INIT_TAKE1("SSEIdField", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, id_field), DIR_CONF,
        "Document field the id is matched against (default _id)"),
    AP_INIT_TAKE1("SSEIdType", set_id_type, NULL, DIR_CONF,
        "auto | string | objectid | int: how the id is typed (default auto)"),
    AP_INIT_ITERATE("SSEFields", add_field, NULL, DIR_CONF,
        "Fields sent to clients (default: the whole document)"),
    AP_INIT_TAKE1("SSEVersionField", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, version_field), DIR_CONF,
        "Field whose value is the version (event id, ETag); default a hash"),
    AP_INIT_TAKE1("SSEOwnerField", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, owner_field), DIR_CONF,
        "Document field that must equal (or contain) the token's owner claim"),
    AP_INIT_TAKE1("SSEOwnerClaim", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, owner_claim), DIR_CONF,
        "Token claim compared with SSEOwnerField, named exactly (default sub)"),
    AP_INIT_TAKE1("SSEPollInterval", set_duration, NULL, DIR_CONF,
        "How often the store is polled: 3, 3s, 500ms (default 3s, at least 100ms)"),
    AP_INIT_TAKE1("SSEKeepalive", set_duration, NULL, DIR_CONF,
        "Idle time after which a comment is written (default 15s)"),
    AP_INIT_TAKE1("SSEMaxLifetime", set_duration, NULL, DIR_CONF,
        "Stream lifetime before connectionLost max_lifetime; 0 = never (default 1h)"),
    AP_INIT_TAKE1("SSEJWTLeeway", set_duration, NULL, DIR_CONF,
        "Clock skew allowed for exp, nbf and iat (default 30s)"),
    AP_INIT_TAKE1("SSERetry", set_retry, NULL, DIR_CONF,
        "Milliseconds sent as retry: at stream start (default 5000)"),
    AP_INIT_TAKE1("SSEEmit", set_emit, NULL, DIR_CONF,
        "changes | always: send status only on change, or on every poll"),
    AP_INIT_TAKE23("SSEJWTKey", add_jwt_key, NULL, DIR_CONF,
        "alg file:/path|env:NAME [kid=ID]: a token verification key (repeatable); "
        "weak or degenerate keys are refused"),
    AP_INIT_TAKE1("SSEJWKSFile", set_jwks_file, NULL, DIR_CONF,
        "JWK Set file; each key needs kid and alg"),
    AP_INIT_TAKE1("SSEJWTIssuer", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, issuer), DIR_CONF,
        "Required iss claim"),
    AP_INIT_TAKE1("SSEJWTAudience", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, audience), DIR_CONF,
        "Required aud claim (string or array in the token); unset, a token with aud is refused"),
    AP_INIT_TAKE1("SSETokenQueryParam", set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, token_query_param), DIR_CONF,
        "Also accept the token from this query parameter (off by default)"),
    AP_INIT_ITERATE("SSECORSAllowOrigin", add_cors_origin, NULL, DIR_CONF,
        "Origins allowed to read the stream and resource cross-origin"),
    /* Hardening (issue 11) */
    AP_INIT_TAKE1("SSEJWTType", set_jwt_type, NULL, DIR_CONF,
        "Required token header typ, e.g. at+jwt (case-insensitive, application/ optional)"),
    AP_INIT_TAKE1("SSEInstanceName", set_instance_name, NULL, RSRC_CONF,
        "Name sent as instance in the connected event; %v %p %P expand to ServerName, "
        "port, child PID (default: a random id per child)"),
    AP_INIT_TAKE1("SSEMaxStreamsPerUser", set_max_streams_per_user, NULL, DIR_CONF,
        "Open streams per owner claim across the instance; more get 429 (default 16, 0 = off)"),
    AP_INIT_TAKE1("SSEMaxStreams", set_max_streams, NULL, RSRC_CONF,
        "Open streams on this instance, all children together; more get 503 (default 0 = off)"),
    /* Writes (issue 14) */
    AP_INIT_TAKE23("SSEWritableField", sse_update_set_writable_field, NULL, DIR_CONF,
        "FIELD string|int|number|bool [MAX]: a top-level field PATCH may set or remove "
        "(repeatable); MAX is a string's most characters; any other field is refused"),
    AP_INIT_TAKE1("SSEMaxBody", sse_update_set_max_body, NULL, DIR_CONF,
        "Largest PATCH body in bytes, however it is sent (default 16384)"),
    AP_INIT_TAKE1("SSEWriteConcern", sse_update_set_write_concern, NULL, DIR_CONF,
        "majority | N: members that must confirm a write (default majority)"),
    AP_INIT_TAKE1("SSEWriteTimeout", sse_update_set_write_timeout, NULL, DIR_CONF,
        "How long the write concern may take before a write is unconfirmed (default 5s)"),
    /* Lists (issue 13) */
    AP_INIT_TAKE2("SSEFilterParam", add_filter_param, NULL, DIR_CONF,
        "NAME FIELD: a list's ?NAME=a,b matches FIELD against those strings ($in); "
        "repeatable; any other query parameter is refused"),
    AP_INIT_TAKE1("SSEListLimit", set_list_limit, NULL, DIR_CONF,
        "Most documents a list or list stream holds, newest first (default 500, at most 10000)"),
    { NULL }
};

AP_DECLARE_MODULE(sse) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    sse_cmds,
    register_hooks,
#ifdef AP_MODULE_FLAG_NONE
    AP_MODULE_FLAG_NONE
#endif
};
