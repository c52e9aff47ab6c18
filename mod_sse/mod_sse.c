/* mod_sse.c: the module glue, on top of every layer: the module record,
 * the command table (pointing at sse_config.c's setters), the hooks and the
 * handler dispatch. The config lives in sse_config.c, its check in
 * sse_config_check.c, the work in the handlers below; nothing includes
 * this file's symbols.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "sse_sched.h"
#include "sse_collection.h"
#include "sse_config.h"
#include "sse_metrics.h"
#include "sse_limits.h"
#include "sse_rest.h"
#include "sse_status.h"
#include "sse_store.h"
#include "sse_stream.h"
#include "sse_update.h"

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static void sse_child_init(apr_pool_t *pchild, server_rec *s)
{
    sse_conf_child_init();
    sse_metrics_child_init(pchild, s);
    sse_store_child_init(pchild, s);
    sse_stream_child_init(pchild, s);
    sse_sched_child_init(pchild, s);
}

static void sse_child_stopping(apr_pool_t *pchild, int graceful)
{
    sse_sched_stop();
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
    ap_hook_check_config(sse_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sse_metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sse_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(sse_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(sse_handler, NULL, NULL, APR_HOOK_MIDDLE);
    sse_sched_register_hooks(p);
    sse_status_register_hooks(p);
    sse_limits_register_hooks(p);
}

/* ------------------------------------------------------------------ */
/* Directive table                                                     */
/* ------------------------------------------------------------------ */

#define DIR_CONF (RSRC_CONF | ACCESS_CONF)

static const command_rec sse_cmds[] = {
    AP_INIT_TAKE1("SSEMongoURI", sse_conf_set_mongo_uri, NULL, RSRC_CONF,
        "MongoDB connection string; one client pool per child process"),
    AP_INIT_TAKE1("SSEDatabase", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, database), DIR_CONF,
        "Database holding the documents"),
    AP_INIT_TAKE1("SSECollection", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, collection), DIR_CONF,
        "Collection holding the documents"),
    AP_INIT_TAKE12("SSEIdFrom", sse_conf_set_id_from, NULL, DIR_CONF,
        "Where the document id comes from: a request variable (default MATCH_ID, "
        "set by a (?<id>...) group), or path-segment N, the Nth segment of the path; "
        "a segment that is empty, longer than 128 or not A-Z a-z 0-9 _ - is a 404"),
    AP_INIT_TAKE1("SSEIdField", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, id_field), DIR_CONF,
        "Document field the id is matched against (default _id)"),
    AP_INIT_TAKE1("SSEIdType", sse_conf_set_id_type, NULL, DIR_CONF,
        "auto | string | objectid | int: how the id is typed (default auto)"),
    AP_INIT_ITERATE("SSEFields", sse_conf_add_field, NULL, DIR_CONF,
        "Fields sent to clients (default: the whole document)"),
    AP_INIT_TAKE1("SSEVersionField", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, version_field), DIR_CONF,
        "Field whose value is the version (event id, ETag); default a hash"),
    AP_INIT_TAKE1("SSEOwnerField", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, owner_field), DIR_CONF,
        "Document field that must equal (or contain) the token's owner claim"),
    AP_INIT_TAKE1("SSEOwnerClaim", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, owner_claim), DIR_CONF,
        "Token claim compared with SSEOwnerField, named exactly (default sub)"),
    AP_INIT_TAKE1("SSEPollInterval", sse_conf_set_duration, NULL, DIR_CONF,
        "How often the store is polled: 3, 3s, 500ms (default 3s, at least 100ms)"),
    AP_INIT_TAKE1("SSEKeepalive", sse_conf_set_duration, NULL, DIR_CONF,
        "Idle time after which a comment is written (default 15s)"),
    AP_INIT_TAKE1("SSEMaxLifetime", sse_conf_set_duration, NULL, DIR_CONF,
        "Stream lifetime before connectionLost max_lifetime; 0 = never (default 1h)"),
    AP_INIT_TAKE1("SSEJWTLeeway", sse_conf_set_duration, NULL, DIR_CONF,
        "Clock skew allowed for exp, nbf and iat (default 30s)"),
    AP_INIT_TAKE1("SSERetry", sse_conf_set_retry, NULL, DIR_CONF,
        "Milliseconds sent as retry: at stream start (default 5000)"),
    AP_INIT_TAKE1("SSEEmit", sse_conf_set_emit, NULL, DIR_CONF,
        "changes | always: send status only on change, or on every poll"),
    AP_INIT_TAKE23("SSEJWTKey", sse_conf_add_jwt_key, NULL, DIR_CONF,
        "alg file:/path|env:NAME [kid=ID]: a token verification key (repeatable); "
        "weak or degenerate keys are refused"),
    AP_INIT_TAKE1("SSEJWKSFile", sse_conf_set_jwks_file, NULL, DIR_CONF,
        "JWK Set file; each key needs kid and alg"),
    AP_INIT_TAKE1("SSEJWTIssuer", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, issuer), DIR_CONF,
        "Required iss claim"),
    AP_INIT_TAKE1("SSEJWTAudience", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, audience), DIR_CONF,
        "Required aud claim (string or array in the token); unset, a token with aud is refused"),
    AP_INIT_TAKE1("SSETokenQueryParam", sse_conf_set_string,
        (void *)APR_OFFSETOF(sse_dir_conf, token_query_param), DIR_CONF,
        "Also accept the token from this query parameter (off by default)"),
    AP_INIT_ITERATE("SSECORSAllowOrigin", sse_conf_add_cors_origin, NULL, DIR_CONF,
        "Origins allowed to read the stream and resource cross-origin"),
    /* Hardening (issue 11) */
    AP_INIT_TAKE1("SSEJWTType", sse_conf_set_jwt_type, NULL, DIR_CONF,
        "Required token header typ, e.g. at+jwt (case-insensitive, application/ optional)"),
    AP_INIT_TAKE1("SSEInstanceName", sse_conf_set_instance_name, NULL, RSRC_CONF,
        "Name sent as instance in the connected event; %v %p %P expand to ServerName, "
        "port, child PID (default: a random id per child)"),
    AP_INIT_TAKE1("SSEMaxStreamsPerUser", sse_conf_set_max_streams_per_user, NULL, DIR_CONF,
        "Open streams per owner claim across the instance; more get 429 (default 16, 0 = off)"),
    AP_INIT_TAKE1("SSEMaxStreams", sse_conf_set_max_streams, NULL, RSRC_CONF,
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
    AP_INIT_TAKE2("SSEFilterParam", sse_conf_add_filter_param, NULL, DIR_CONF,
        "NAME FIELD: a list's ?NAME=a,b matches FIELD against those strings ($in); "
        "repeatable; any other query parameter is refused"),
    AP_INIT_TAKE1("SSEListLimit", sse_conf_set_list_limit, NULL, DIR_CONF,
        "Most documents a list or list stream holds, newest first (default 500, at most 10000)"),
    /* Shared polls (issue 17) */
    AP_INIT_TAKE1("SSEPollBatch", sse_conf_set_poll_batch, NULL, DIR_CONF,
        "Most document ids in one shared find ($in), 1 to 1000 (default 100); "
        "1 = every stream polls on its own"),
    { NULL }
};

AP_DECLARE_MODULE(sse) = {
    STANDARD20_MODULE_STUFF,
    sse_conf_create_dir_conf,
    sse_conf_merge_dir_conf,
    sse_conf_create_server_conf,
    sse_conf_merge_server_conf,
    sse_cmds,
    register_hooks,
#ifdef AP_MODULE_FLAG_NONE
    AP_MODULE_FLAG_NONE
#endif
};

