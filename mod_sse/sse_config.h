/* sse_config.h: the configuration mod_sse reads from httpd.conf.
 *
 * One server config (the store URI) and one per-directory config that is
 * merged <Location> by <Location>, inner wins. Every field is decided at
 * configuration time, keys included; requests only read it.
 */
#ifndef SSE_CONFIG_H
#define SSE_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "sse_jwt.h"
#include "sse_patch.h"

extern module AP_MODULE_DECLARE_DATA sse_module;

#define SSE_UNSET (-1)

typedef enum {
    SSE_ID_AUTO = 0,     /* 24 hex chars are an ObjectId, anything else a string */
    SSE_ID_STRING,
    SSE_ID_OBJECTID,
    SSE_ID_INT
} sse_id_type;

typedef struct {
    const char *mongo_uri;
    const char *instance_name;      /* SSEInstanceName; NULL = opaque child id */
    int max_streams;                /* SSEMaxStreams, main server only; 0 = off */
} sse_server_conf;

typedef struct {
    const char *database;
    const char *collection;
    const char *id_from;            /* env var holding the id, or "path-segment" */
    int id_segment;                 /* SSEIdFrom path-segment N: N; else 0 */
    const char *id_field;
    int id_type;                    /* sse_id_type or SSE_UNSET */
    apr_array_header_t *fields;     /* const char *; NULL = whole document */
    const char *version_field;
    const char *owner_field;
    const char *owner_claim;
    apr_interval_time_t poll_interval;
    apr_interval_time_t keepalive;
    apr_interval_time_t max_lifetime;   /* 0 = never */
    apr_interval_time_t leeway;
    long retry_ms;
    int emit_always;                /* 0, 1 or SSE_UNSET */
    apr_array_header_t *keys;       /* sse_jwt_key *; NULL = unset */
    const char *issuer;
    const char *audience;
    const char *jwt_type;           /* SSEJWTType: required header typ */
    const char *token_query_param;
    apr_array_header_t *cors_origins;   /* const char * */
    int max_streams_per_user;       /* or SSE_UNSET; 0 = off */
    /* Writes (sse-update, issue 14); 0 / NULL = unset */
    apr_array_header_t *writable;       /* sse_writable_field (sse_patch.h); NULL = none */
    apr_off_t max_body;                 /* SSEMaxBody */
    int write_w;                        /* SSEWriteConcern: N >= 1, or SSE_W_MAJORITY */
    apr_interval_time_t write_timeout;  /* SSEWriteTimeout */
    /* Lists (issue 13) */
    apr_array_header_t *filter_params;  /* sse_filter_param; SSEFilterParam */
    long list_limit;                /* SSEListLimit or SSE_UNSET */
    /* Shared polls (issue 17) */
    int poll_batch;                 /* SSEPollBatch or SSE_UNSET; 1 = no sharing */
} sse_dir_conf;

/* SSEWriteConcern majority, kept apart from any number of nodes. */
#define SSE_W_MAJORITY (-2)


/* The effective values, with defaults applied where a directive was unset. */
const char *sse_conf_id_from(const sse_dir_conf *d);
const char *sse_conf_id_field(const sse_dir_conf *d);
const char *sse_conf_owner_claim(const sse_dir_conf *d);
apr_interval_time_t sse_conf_poll_interval(const sse_dir_conf *d);
apr_interval_time_t sse_conf_keepalive(const sse_dir_conf *d);
apr_interval_time_t sse_conf_max_lifetime(const sse_dir_conf *d);
apr_interval_time_t sse_conf_leeway(const sse_dir_conf *d);
long sse_conf_retry_ms(const sse_dir_conf *d);
int sse_conf_max_streams_per_user(const sse_dir_conf *d);
apr_off_t sse_conf_max_body(const sse_dir_conf *d);
int sse_conf_write_w(const sse_dir_conf *d);
apr_interval_time_t sse_conf_write_timeout(const sse_dir_conf *d);
long sse_conf_list_limit(const sse_dir_conf *d);
int sse_conf_poll_batch(const sse_dir_conf *d);

/* What the `connected` event names as `instance`: SSEInstanceName with %v
 * (ServerName), %p (local port) and %P (child PID) expanded, or by default
 * an opaque id, random per child and stable for its life. */
const char *sse_conf_instance(apr_pool_t *p, const request_rec *r);

/* The server and directory configs' create and merge (the module record's
 * four slots). */
void *sse_conf_create_server_conf(apr_pool_t *p, server_rec *s);
void *sse_conf_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *sse_conf_create_dir_conf(apr_pool_t *p, char *dir);
void *sse_conf_merge_dir_conf(apr_pool_t *p, void *base, void *add);

/* Makes this child's default instance id (child_init). */
void sse_conf_child_init(void);

/* The directive setters, for mod_sse.c's command table. Each returns NULL
 * or an error naming its directive. */
const char *sse_conf_set_mongo_uri(cmd_parms *cmd, void *dummy, const char *arg);
const char *sse_conf_set_string(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_id_from(cmd_parms *cmd, void *d, const char *a1, const char *a2);
const char *sse_conf_set_id_type(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_add_field(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_duration(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_retry(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_max_streams_per_user(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_max_streams(cmd_parms *cmd, void *dummy, const char *arg);
const char *sse_conf_set_emit(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_add_filter_param(cmd_parms *cmd, void *d, const char *name,
                                      const char *field);
const char *sse_conf_set_list_limit(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_poll_batch(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_add_jwt_key(cmd_parms *cmd, void *d, const char *alg,
                                 const char *src, const char *kid);
const char *sse_conf_set_jwks_file(cmd_parms *cmd, void *d, const char *path);
const char *sse_conf_set_jwt_type(cmd_parms *cmd, void *d, const char *arg);
const char *sse_conf_set_instance_name(cmd_parms *cmd, void *dummy, const char *arg);
const char *sse_conf_add_cors_origin(cmd_parms *cmd, void *d, const char *origin);

/* The write directives (sse_update_conf.c). */
const char *sse_update_set_writable_field(cmd_parms *cmd, void *d, const char *name,
                                          const char *type, const char *max);
const char *sse_update_set_max_body(cmd_parms *cmd, void *d, const char *arg);
const char *sse_update_set_write_concern(cmd_parms *cmd, void *d, const char *arg);
const char *sse_update_set_write_timeout(cmd_parms *cmd, void *d, const char *arg);

/* The write fields of the dir merge: inner wins, unset is 0 / NULL. */
void sse_update_merge_conf(sse_dir_conf *conf, const sse_dir_conf *base,
                           const sse_dir_conf *add);

/* The check_config hook (sse_config_check.c): refuses a location serving an
 * sse-* handler that lacks a database, collection, key or store. */
int sse_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                     server_rec *s);

#endif
