/* commands.c: the top of mock-store's command layer: finds the handler for a
 * command by name (the data commands in crud.c and aggregate.c, the server
 * ones in admin.c), counts it as mongod does and runs it. */
#include "commands.h"

#include "admin.h"
#include "aggregate.h"
#include "crud.h"
#include "reply.h"

#include <string.h>
#include <strings.h>

const char *ms_command_name(const bson_t *cmd)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return "";
    return bson_iter_key(&it);
}

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
    {"hello", ms_cmd_hello, false},
    {"isMaster", ms_cmd_hello, false},
    {"ping", ms_cmd_ok, false},
    {"buildInfo", ms_cmd_build_info, false},
    {"buildinfo", ms_cmd_build_info, false},
    {"serverStatus", ms_cmd_server_status, false},
    {"endSessions", ms_cmd_ok, false},
    {"killCursors", ms_cmd_kill_cursors, false},
    {"count", ms_cmd_count, false},
    {"aggregate", ms_cmd_aggregate, false},
    {"drop", ms_cmd_drop, false},
    {"dropDatabase", ms_cmd_drop_database, false},
    {"create", ms_cmd_create, false},
    {"createIndexes", ms_cmd_create_indexes, false},
    {"listCollections", ms_cmd_list_collections, false},
    {"listDatabases", ms_cmd_list_databases, false},
    {"configureFailPoint", ms_cmd_configure_fail_point, false},
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

/* Records the writeConcern of a write command that runs (mongod counts it
 * per command, not per statement). */
static void count_write_concern(ms_state_t *st, const char *name, const bson_t *cmd)
{
    ms_wc_counters_t *wc;
    bson_iter_t it, w;
    if (!strcmp(name, "insert"))
        wc = &st->write_concerns.insert;
    else if (!strcmp(name, "update"))
        wc = &st->write_concerns.update;
    else if (!strcmp(name, "delete"))
        wc = &st->write_concerns.delete_;
    else
        return;
    bson_reinit(&st->write_concerns.last);
    if (!bson_iter_init_find(&it, cmd, "writeConcern") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        wc->none++;
        return;
    }
    const uint8_t *data;
    uint32_t len;
    bson_iter_document(&it, &len, &data);
    bson_t doc;
    if (bson_init_static(&doc, data, len))
        bson_concat(&st->write_concerns.last, &doc);
    if (!bson_iter_recurse(&it, &w) || !bson_iter_find(&w, "w"))
        wc->none++;
    else if (BSON_ITER_HOLDS_UTF8(&w) && !strcmp(bson_iter_utf8(&w, NULL), "majority"))
        wc->wmajority++;
    else if (BSON_ITER_HOLDS_NUMBER(&w) && bson_iter_as_int64(&w) >= 0 &&
             bson_iter_as_int64(&w) <= MS_WC_MAX_W)
        wc->wnum[bson_iter_as_int64(&w)]++;
    else
        wc->wother++;
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
    count_write_concern(st, c.name, cmd);
    handlers[h].fn(&c, reply);
}
