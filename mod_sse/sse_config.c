/* sse_config.c: the bottom layer. The defaults, the effective values
 * (sse_conf_*), create and merge of the server and directory configs, and
 * the directive setters mod_sse.c's command table points at. Knows nothing
 * of handlers, streams or the store. */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_uri.h"

#include <unistd.h>

#include <mongoc/mongoc.h>

#include "sse_collection_set.h"
#include "sse_config.h"
#include "sse_duration.h"
#include "sse_jwt.h"

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
#define SSE_DEFAULT_POLL_BATCH    100
#define MAX_POLL_BATCH            1000
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

int sse_conf_poll_batch(const sse_dir_conf *d)
{
    return d->poll_batch >= 1 ? d->poll_batch : SSE_DEFAULT_POLL_BATCH;
}

/* Set once in child_init, read-only afterwards: the default instance id.
 * Random, so a client learns nothing of hosts, ports or PIDs from it. */
static char child_instance_id[17] = "unset";

void sse_conf_child_init(void)
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

void *sse_conf_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(sse_server_conf));
}

void *sse_conf_merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
    const sse_server_conf *base = base_, *add = add_;
    sse_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->mongo_uri = add->mongo_uri ? add->mongo_uri : base->mongo_uri;
    conf->instance_name = add->instance_name ? add->instance_name : base->instance_name;
    conf->max_streams = base->max_streams;      /* main server only */
    return conf;
}

void *sse_conf_create_dir_conf(apr_pool_t *p, char *dir)
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
    d->poll_batch = SSE_UNSET;
    return d;
}

#define MERGE_PTR(f)   conf->f = add->f ? add->f : base->f
#define MERGE_NUM(f)   conf->f = add->f != SSE_UNSET ? add->f : base->f

void *sse_conf_merge_dir_conf(apr_pool_t *p, void *base_, void *add_)
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
    MERGE_NUM(poll_batch);
    return conf;
}

/* ------------------------------------------------------------------ */
/* Directives                                                          */
/* ------------------------------------------------------------------ */

const char *sse_conf_set_mongo_uri(cmd_parms *cmd, void *dummy, const char *arg)
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

const char *sse_conf_set_string(cmd_parms *cmd, void *d, const char *arg)
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
const char *sse_conf_set_id_from(cmd_parms *cmd, void *d_, const char *a1, const char *a2)
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

const char *sse_conf_set_id_type(cmd_parms *cmd, void *d_, const char *arg)
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

const char *sse_conf_add_field(cmd_parms *cmd, void *d_, const char *arg)
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
const char *sse_conf_set_duration(cmd_parms *cmd, void *d_, const char *arg)
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

const char *sse_conf_set_retry(cmd_parms *cmd, void *d_, const char *arg)
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

const char *sse_conf_set_max_streams_per_user(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    return parse_stream_count(cmd, arg, &d->max_streams_per_user);
}

/* An instance-wide count has one limit: the main server's. */
const char *sse_conf_set_max_streams(cmd_parms *cmd, void *dummy, const char *arg)
{
    sse_server_conf *conf = ap_get_module_config(cmd->server->module_config, &sse_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) return err;
    return parse_stream_count(cmd, arg, &conf->max_streams);
}

const char *sse_conf_set_emit(cmd_parms *cmd, void *d_, const char *arg)
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
const char *sse_conf_add_filter_param(cmd_parms *cmd, void *d_, const char *name,
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

/* A plain decimal from 1 to max (no sign, no spaces), or an error naming
 * the directive. */
static const char *parse_count(cmd_parms *cmd, const char *arg, apr_int64_t max,
                               apr_int64_t *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || !apr_isdigit(*arg) || n < 1 || n > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number from 1 to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, max);
    }
    *out = n;
    return NULL;
}

const char *sse_conf_set_list_limit(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    apr_int64_t n;
    const char *err = parse_count(cmd, arg, MAX_LIST_LIMIT, &n);

    if (!err) d->list_limit = (long)n;
    return err;
}

const char *sse_conf_set_poll_batch(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    apr_int64_t n;
    const char *err = parse_count(cmd, arg, MAX_POLL_BATCH, &n);

    if (!err) d->poll_batch = (int)n;
    return err;
}

static apr_array_header_t *own_key_list(cmd_parms *cmd, sse_dir_conf *d)
{
    if (!d->keys) {
        d->keys = apr_array_make(cmd->pool, 4, sizeof(sse_jwt_key *));
    }
    return d->keys;
}

const char *sse_conf_add_jwt_key(cmd_parms *cmd, void *d_, const char *alg,
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

const char *sse_conf_set_jwks_file(cmd_parms *cmd, void *d_, const char *path)
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
const char *sse_conf_set_jwt_type(cmd_parms *cmd, void *d_, const char *arg)
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
const char *sse_conf_set_instance_name(cmd_parms *cmd, void *dummy, const char *arg)
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

const char *sse_conf_add_cors_origin(cmd_parms *cmd, void *d_, const char *origin)
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

