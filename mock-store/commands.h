/* commands.h: the entry point that runs one command document and builds its
 * reply, on top of every command handler. Replies follow mongod: {ok: 1, ...}
 * or {ok: 0, errmsg, code, codeName}.
 *
 * mock-store's layers, bottom to top (a file includes only files below it):
 *   1. clock, reply, query, wire        clocks, error replies, the query language, framing
 *   2. store, failpoint, cursor         documents + _id index, failCommand, open cursors
 *   3. update                           update operators, upsert documents
 *   4. state, simulate                  the server state a command sees; the demo's progression
 *   5. crud, aggregate, admin           the command handlers
 *   6. commands                         dispatch by name, opcounters
 *   7. server                           the epoll loop
 *   8. main                             the command line */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include "state.h"

#include <bson/bson.h>

/* The command's name: its first key ("" if none). */
const char *ms_command_name(const bson_t *cmd);

/* Counts a received command in opcounters.command unless it is a CRUD
 * command, which its handler counts when it runs (as mongod does). */
void ms_command_count(ms_state_t *st, const char *name);

/* Runs cmd against db; reply must be initialized and empty. */
void ms_command_run(ms_state_t *st, ms_client_t *client, const char *db, const bson_t *cmd,
                    bson_t *reply);

#endif
