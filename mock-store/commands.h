/* commands.h: what a mock-store command can touch (the server state) and
 * the entry point that runs one command document and builds its reply.
 * Replies follow mongod: {ok: 1, ...} or {ok: 0, errmsg, code, codeName}. */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include "failpoint.h"
#include "store.h"

#include <bson/bson.h>
#include <stdint.h>

/* serverStatus.opcounters, as mongod counts them: find → query, getMore →
 * getmore, insert → per document, update/delete → per statement, every
 * other command → command. */
typedef struct {
    int64_t insert, query, update, delete_, getmore, command;
} ms_opcounters_t;

typedef struct ms_cursor ms_cursor_t;

typedef struct {
    ms_store_t store;
    ms_failpoint_t failpoint;
    ms_cursor_t *cursors;
    int64_t next_cursor_id;
    ms_opcounters_t opcounters;
    int64_t started_ms; /* monotonic */
    uint32_t connections_current;
    uint32_t connections_total;
    char host[300]; /* "host:port" for serverStatus */
} ms_state_t;

/* Per-connection facts a command may use or record (hello's appname). */
typedef struct {
    uint32_t id;
    char app_name[129];
} ms_client_t;

/* Everything one running command sees. */
typedef struct {
    ms_state_t *state;
    ms_client_t *client;
    const char *db;
    const char *name;
    const bson_t *cmd;
} ms_command_t;

void ms_state_init(ms_state_t *st);
void ms_state_destroy(ms_state_t *st);

/* The command's name: its first key ("" if none). */
const char *ms_command_name(const bson_t *cmd);

/* Counts a received command in opcounters.command unless it is a CRUD
 * command, which its handler counts when it runs (as mongod does). */
void ms_command_count(ms_state_t *st, const char *name);

/* Runs cmd against db; reply must be initialized and empty. */
void ms_command_run(ms_state_t *st, ms_client_t *client, const char *db, const bson_t *cmd,
                    bson_t *reply);

/* {ok: 0, errmsg, code, codeName}; labels (an array) may be NULL. */
void ms_reply_error(bson_t *reply, int32_t code, const char *fmt, ...) BSON_GNUC_PRINTF(3, 4);
void ms_reply_error_labels(bson_t *reply, const bson_t *labels);
const char *ms_code_name(int32_t code, char *buf, size_t len);

int64_t ms_wall_ms(void);
int64_t ms_monotonic_ms(void);

#endif
