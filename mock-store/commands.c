/* commands.c: command dispatch plus the server-level commands (hello /
 * isMaster, ping, buildInfo, serverStatus, endSessions, configureFailPoint).
 * The data commands live in crud.c. */
#include "commands.h"

#include "aggregate.h"
#include "crud.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MS_MAX_BSON_SIZE (16 * 1024 * 1024)
#define MS_MAX_MESSAGE_SIZE 48000000
#define MS_MAX_WRITE_BATCH 100000
#define MS_VERSION "5.0.0"

int64_t ms_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ms_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ms_state_init(ms_state_t *st)
{
    memset(st, 0, sizeof *st);
    ms_store_init(&st->store);
    ms_failpoint_init(&st->failpoint);
    st->started_ms = ms_monotonic_ms();
    /* Cursor ids only need to be unique and non-zero; start somewhere
     * unpredictable so a stale id from an earlier run is not found. */
    st->next_cursor_id = ((ms_wall_ms() & 0xffffff) << 20) + 1;
}

void ms_state_destroy(ms_state_t *st)
{
    ms_cursors_free_all(st);
    ms_failpoint_destroy(&st->failpoint);
    ms_store_destroy(&st->store);
}

const char *ms_command_name(const bson_t *cmd)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return "";
    return bson_iter_key(&it);
}

static const struct {
    int32_t code;
    const char *name;
} code_names[] = {
    {1, "InternalError"},
    {2, "BadValue"},
    {6, "HostUnreachable"},
    {7, "HostNotFound"},
    {8, "UnknownError"},
    {9, "FailedToParse"},
    {11, "UserNotFound"},
    {13, "Unauthorized"},
    {14, "TypeMismatch"},
    {18, "AuthenticationFailed"},
    {26, "NamespaceNotFound"},
    {40, "ConflictingUpdateOperators"},
    {43, "CursorNotFound"},
    {48, "NamespaceExists"},
    {50, "MaxTimeMSExpired"},
    {52, "DollarPrefixedFieldName"},
    {53, "InvalidIdField"},
    {59, "CommandNotFound"},
    {66, "ImmutableField"},
    {72, "InvalidOptions"},
    {73, "InvalidNamespace"},
    {89, "NetworkTimeout"},
    {91, "ShutdownInProgress"},
    {112, "WriteConflict"},
    {189, "PrimarySteppedDown"},
    {251, "NoSuchTransaction"},
    {262, "ExceededTimeLimit"},
    {9001, "SocketException"},
    {10107, "NotWritablePrimary"},
    {11000, "DuplicateKey"},
    {11600, "InterruptedAtShutdown"},
    {11602, "InterruptedDueToReplStateChange"},
    {13435, "NotPrimaryNoSecondaryOk"},
    {13436, "NotPrimaryOrSecondary"},
    {31253, "Location31253"},
    {31254, "Location31254"},
};

const char *ms_code_name(int32_t code, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
        if (code_names[i].code == code)
            return code_names[i].name;
    snprintf(buf, len, "Location%d", code);
    return buf;
}

void ms_reply_error(bson_t *reply, int32_t code, const char *fmt, ...)
{
    char msg[512], namebuf[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    BSON_APPEND_UTF8(reply, "errmsg", msg);
    BSON_APPEND_INT32(reply, "code", code);
    BSON_APPEND_UTF8(reply, "codeName", ms_code_name(code, namebuf, sizeof namebuf));
}

void ms_reply_error_labels(bson_t *reply, const bson_t *labels)
{
    if (labels)
        BSON_APPEND_ARRAY(reply, "errorLabels", labels);
}

/* ---- server-level commands ------------------------------------------- */

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
static void cmd_hello(ms_command_t *c, bson_t *reply)
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

static void cmd_ok(ms_command_t *c, bson_t *reply)
{
    (void)c;
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

static void cmd_build_info(ms_command_t *c, bson_t *reply)
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

static void cmd_server_status(ms_command_t *c, bson_t *reply)
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
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

static void cmd_configure_fail_point(ms_command_t *c, bson_t *reply)
{
    if (strcmp(c->db, "admin") != 0) {
        ms_reply_error(reply, 13, "configureFailPoint may only be run against the admin database.");
        return;
    }
    ms_failpoint_configure(&c->state->failpoint, c->cmd, reply);
}

/* ---- dispatch -------------------------------------------------------- */

typedef void (*ms_handler_fn)(ms_command_t *c, bson_t *reply);

static const struct {
    const char *name;
    ms_handler_fn fn;
    bool crud; /* counted by its handler, not in opcounters.command */
} handlers[] = {
    {"find", ms_cmd_find, true},
    {"getMore", ms_cmd_get_more, true},
    {"insert", ms_cmd_insert, true},
    {"update", ms_cmd_update, true},
    {"delete", ms_cmd_delete, true},
    {"hello", cmd_hello, false},
    {"isMaster", cmd_hello, false},
    {"ping", cmd_ok, false},
    {"buildInfo", cmd_build_info, false},
    {"buildinfo", cmd_build_info, false},
    {"serverStatus", cmd_server_status, false},
    {"endSessions", cmd_ok, false},
    {"killCursors", ms_cmd_kill_cursors, false},
    {"count", ms_cmd_count, false},
    {"aggregate", ms_cmd_aggregate, false},
    {"drop", ms_cmd_drop, false},
    {"dropDatabase", ms_cmd_drop_database, false},
    {"create", ms_cmd_create, false},
    {"createIndexes", ms_cmd_create_indexes, false},
    {"listCollections", ms_cmd_list_collections, false},
    {"listDatabases", ms_cmd_list_databases, false},
    {"configureFailPoint", cmd_configure_fail_point, false},
};

static int find_handler(const char *name)
{
    /* hello and isMaster are matched case-insensitively, like mongod. */
    bool any_case = !strcasecmp(name, "hello") || !strcasecmp(name, "ismaster");
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (any_case ? !strcasecmp(handlers[i].name, name) : !strcmp(handlers[i].name, name))
            return (int)i;
    return -1;
}

void ms_command_count(ms_state_t *st, const char *name)
{
    int h = find_handler(name);
    if (h < 0 || !handlers[h].crud)
        st->opcounters.command++;
}

void ms_command_run(ms_state_t *st, ms_client_t *client, const char *db, const bson_t *cmd,
                    bson_t *reply)
{
    ms_command_t c = {st, client, db, ms_command_name(cmd), cmd};
    int h = find_handler(c.name);
    if (h < 0) {
        ms_reply_error(reply, 59, "no such command: '%s'", c.name);
        return;
    }
    if (!db[0]) {
        ms_reply_error(reply, 40414, "BSON field 'OpMsgRequest.$db' is missing but a required field");
        return;
    }
    handlers[h].fn(&c, reply);
}
