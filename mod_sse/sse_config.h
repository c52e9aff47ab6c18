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

/* What the `connected` event names as `instance`: SSEInstanceName with %v
 * (ServerName), %p (local port) and %P (child PID) expanded, or by default
 * an opaque id, random per child and stable for its life. */
const char *sse_conf_instance(apr_pool_t *p, const request_rec *r);

#endif
