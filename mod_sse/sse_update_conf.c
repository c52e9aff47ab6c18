/* sse_update_conf.c: the write directives (SSEWritableField, SSEMaxBody,
 * SSEWriteConcern, SSEWriteTimeout), their defaults and their merge. Kept
 * apart from sse_config.c so the write settings read in one place. */
#include "httpd.h"
#include "http_config.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "sse_duration.h"
#include "sse_config.h"

#define SSE_DEFAULT_MAX_BODY       16384
#define SSE_MAX_MAX_BODY           (1024 * 1024)
#define SSE_DEFAULT_WRITE_TIMEOUT  apr_time_from_sec(5)

apr_off_t sse_conf_max_body(const sse_dir_conf *d)
{
    return d->max_body > 0 ? d->max_body : SSE_DEFAULT_MAX_BODY;
}

int sse_conf_write_w(const sse_dir_conf *d)
{
    return d->write_w ? d->write_w : SSE_W_MAJORITY;
}

apr_interval_time_t sse_conf_write_timeout(const sse_dir_conf *d)
{
    return d->write_timeout > 0 ? d->write_timeout : SSE_DEFAULT_WRITE_TIMEOUT;
}

/* A positive decimal integer no larger than `limit`; -1 otherwise. */
static apr_int64_t parse_count(const char *arg, apr_int64_t limit)
{
    const char *c;
    apr_int64_t n = 0;

    if (!*arg || strlen(arg) > 18) return -1;
    for (c = arg; *c; c++) {
        if (!apr_isdigit(*c)) return -1;
        n = n * 10 + (*c - '0');
    }
    return n >= 1 && n <= limit ? n : -1;
}

const char *sse_update_set_writable_field(cmd_parms *cmd, void *d_, const char *name,
                                          const char *type, const char *max)
{
    sse_dir_conf *d = d_;
    sse_writable_field *f;
    int i;

    if (!*name || *name == '$' || strchr(name, '.') || !strcmp(name, "_id")) {
        return apr_psprintf(cmd->pool, "SSEWritableField: '%s' cannot be writable: a top-level "
                            "field name, not _id, without '.' or a leading '$'", name);
    }
    if (!d->writable) {
        d->writable = apr_array_make(cmd->pool, 4, sizeof(sse_writable_field));
    }
    for (i = 0; i < d->writable->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->writable, i, sse_writable_field).name, name)) {
            return apr_psprintf(cmd->pool, "SSEWritableField: '%s' is listed twice", name);
        }
    }
    f = apr_array_push(d->writable);
    f->name = name;
    f->max = 0;
    if (!strcmp(type, "string"))      f->type = SSE_FIELD_STRING;
    else if (!strcmp(type, "int"))    f->type = SSE_FIELD_INT;
    else if (!strcmp(type, "number")) f->type = SSE_FIELD_NUMBER;
    else if (!strcmp(type, "bool"))   f->type = SSE_FIELD_BOOL;
    else {
        return apr_psprintf(cmd->pool, "SSEWritableField %s: type '%s' is not one of "
                            "string, int, number, bool", name, type);
    }
    if (max) {
        if (f->type != SSE_FIELD_STRING) {
            return apr_psprintf(cmd->pool, "SSEWritableField %s: a maximum length applies "
                                "to string fields only", name);
        }
        if ((f->max = parse_count(max, SSE_MAX_MAX_BODY)) < 0) {
            return apr_psprintf(cmd->pool, "SSEWritableField %s: '%s' is not a length in "
                                "characters (1 to %d)", name, max, SSE_MAX_MAX_BODY);
        }
    }
    return NULL;
}

const char *sse_update_set_max_body(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    apr_int64_t n = parse_count(arg, SSE_MAX_MAX_BODY);

    if (n < 0) {
        return apr_psprintf(cmd->pool, "SSEMaxBody: '%s' is not a number of bytes "
                            "(1 to %d)", arg, SSE_MAX_MAX_BODY);
    }
    d->max_body = (apr_off_t)n;
    return NULL;
}

const char *sse_update_set_write_concern(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    apr_int64_t n;

    if (!strcmp(arg, "majority")) {
        d->write_w = SSE_W_MAJORITY;
        return NULL;
    }
    /* w: 0 would be a write nobody confirms: exactly what this is not. */
    if ((n = parse_count(arg, 50)) < 0) {
        return apr_psprintf(cmd->pool, "SSEWriteConcern: '%s' is not majority or a number "
                            "of members from 1 to 50", arg);
    }
    d->write_w = (int)n;
    return NULL;
}

const char *sse_update_set_write_timeout(cmd_parms *cmd, void *d_, const char *arg)
{
    sse_dir_conf *d = d_;
    apr_interval_time_t value;
    const char *err = sse_duration_parse(cmd->pool, arg, &value);

    if (err) {
        return apr_psprintf(cmd->pool, "SSEWriteTimeout: %s", err);
    }
    if (value < apr_time_from_msec(1) || value > apr_time_from_sec(600)) {
        return apr_psprintf(cmd->pool, "SSEWriteTimeout: '%s' is not between 1ms and 10 minutes",
                            arg);
    }
    d->write_timeout = value;
    return NULL;
}

void sse_update_merge_conf(sse_dir_conf *conf, const sse_dir_conf *base,
                           const sse_dir_conf *add)
{
    conf->writable = add->writable ? add->writable : base->writable;
    conf->max_body = add->max_body ? add->max_body : base->max_body;
    conf->write_w = add->write_w ? add->write_w : base->write_w;
    conf->write_timeout = add->write_timeout ? add->write_timeout : base->write_timeout;
}
