/* admin.c: the server-level commands: hello / isMaster, ping, buildInfo,
 * serverStatus, endSessions and configureFailPoint. They answer what
 * drivers ask when they connect and what tests ask to count or break. */
#include "admin.h"

#include "clock.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MS_MAX_BSON_SIZE (16 * 1024 * 1024)
#define MS_MAX_MESSAGE_SIZE 48000000
#define MS_MAX_WRITE_BATCH 100000
#define MS_VERSION "5.0.0"

static void remember_app_name(ms_command_t *c)
{
    bson_iter_t it, name;
    if (c->client->app_name[0] || !bson_iter_init(&it, c->cmd) ||
        !bson_iter_find_descendant(&it, "client.application.name", &name) ||
        !BSON_ITER_HOLDS_UTF8(&name))
        return;
    bson_strncpy(c->client->app_name, bson_iter_utf8(&name, NULL), sizeof c->client->app_name);
}

/* hello / isMaster. No topologyVersion (drivers would switch to streaming
 * monitoring) and no logicalSessionTimeoutMinutes (sessions stay off, so
 * drivers need no lsid handling from us). */
void ms_cmd_hello(ms_command_t *c, bson_t *reply)
{
    remember_app_name(c);
    BSON_APPEND_BOOL(reply, "helloOk", true);
    BSON_APPEND_BOOL(reply, "ismaster", true);
    BSON_APPEND_BOOL(reply, "isWritablePrimary", true);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", MS_MAX_BSON_SIZE);
    BSON_APPEND_INT32(reply, "maxMessageSizeBytes", MS_MAX_MESSAGE_SIZE);
    BSON_APPEND_INT32(reply, "maxWriteBatchSize", MS_MAX_WRITE_BATCH);
    BSON_APPEND_DATE_TIME(reply, "localTime", ms_wall_ms());
    BSON_APPEND_INT32(reply, "connectionId", (int32_t)c->client->id);
    BSON_APPEND_INT32(reply, "minWireVersion", 0);
    BSON_APPEND_INT32(reply, "maxWireVersion", 13);
    BSON_APPEND_BOOL(reply, "readOnly", false);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_ok(ms_command_t *c, bson_t *reply)
{
    (void)c;
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_build_info(ms_command_t *c, bson_t *reply)
{
    (void)c;
    BSON_APPEND_UTF8(reply, "version", MS_VERSION);
    BSON_APPEND_UTF8(reply, "gitVersion", "mock-store");
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "versionArray", &arr);
    BSON_APPEND_INT32(&arr, "0", 5);
    BSON_APPEND_INT32(&arr, "1", 0);
    BSON_APPEND_INT32(&arr, "2", 0);
    BSON_APPEND_INT32(&arr, "3", 0);
    bson_append_array_end(reply, &arr);
    BSON_APPEND_INT32(reply, "bits", 64);
    BSON_APPEND_BOOL(reply, "debug", false);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", MS_MAX_BSON_SIZE);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

static void append_wc_counters(bson_t *parent, const char *name, const ms_wc_counters_t *wc)
{
    bson_t op, wnum;
    BSON_APPEND_DOCUMENT_BEGIN(parent, name, &op);
    BSON_APPEND_INT64(&op, "wmajority", wc->wmajority);
    BSON_APPEND_DOCUMENT_BEGIN(&op, "wnum", &wnum);
    for (int w = 0; w <= MS_WC_MAX_W; w++) {
        char key[16];
        if (!wc->wnum[w])
            continue;
        snprintf(key, sizeof key, "%d", w);
        BSON_APPEND_INT64(&wnum, key, wc->wnum[w]);
    }
    bson_append_document_end(&op, &wnum);
    BSON_APPEND_INT64(&op, "wother", wc->wother);
    BSON_APPEND_INT64(&op, "none", wc->none);
    bson_append_document_end(parent, &op);
}

void ms_cmd_server_status(ms_command_t *c, bson_t *reply)
{
    ms_state_t *st = c->state;
    int64_t up_ms = ms_monotonic_ms() - st->started_ms;
    BSON_APPEND_UTF8(reply, "host", st->host);
    BSON_APPEND_UTF8(reply, "version", MS_VERSION);
    BSON_APPEND_UTF8(reply, "process", "mock-store");
    BSON_APPEND_INT64(reply, "pid", (int64_t)getpid());
    BSON_APPEND_DOUBLE(reply, "uptime", (double)up_ms / 1000.0);
    BSON_APPEND_INT64(reply, "uptimeMillis", up_ms);
    BSON_APPEND_INT64(reply, "uptimeEstimate", up_ms / 1000);
    BSON_APPEND_DATE_TIME(reply, "localTime", ms_wall_ms());

    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "connections", &sub);
    BSON_APPEND_INT32(&sub, "current", (int32_t)st->connections_current);
    BSON_APPEND_INT32(&sub, "available", 1000000 - (int32_t)st->connections_current);
    BSON_APPEND_INT64(&sub, "totalCreated", st->connections_total);
    bson_append_document_end(reply, &sub);

    BSON_APPEND_DOCUMENT_BEGIN(reply, "opcounters", &sub);
    BSON_APPEND_INT64(&sub, "insert", st->opcounters.insert);
    BSON_APPEND_INT64(&sub, "query", st->opcounters.query);
    BSON_APPEND_INT64(&sub, "update", st->opcounters.update);
    BSON_APPEND_INT64(&sub, "delete", st->opcounters.delete_);
    BSON_APPEND_INT64(&sub, "getmore", st->opcounters.getmore);
    BSON_APPEND_INT64(&sub, "command", st->opcounters.command);
    bson_append_document_end(reply, &sub);

    BSON_APPEND_DOCUMENT_BEGIN(reply, "opWriteConcernCounters", &sub);
    append_wc_counters(&sub, "insert", &st->write_concerns.insert);
    append_wc_counters(&sub, "update", &st->write_concerns.update);
    append_wc_counters(&sub, "delete", &st->write_concerns.delete_);
    bson_append_document_end(reply, &sub);
    /* mock-store's own: what the last write asked for, wtimeout included */
    BSON_APPEND_DOCUMENT(reply, "lastWriteConcern", &st->write_concerns.last);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

void ms_cmd_configure_fail_point(ms_command_t *c, bson_t *reply)
{
    if (strcmp(c->db, "admin") != 0) {
        ms_reply_error(reply, 13, "configureFailPoint may only be run against the admin database.");
        return;
    }
    ms_failpoint_configure(&c->state->failpoint, c->cmd, reply);
}
