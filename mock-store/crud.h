/* crud.h: the data commands (find, getMore, killCursors, insert, update,
 * delete, count, drop, create, createIndexes, listCollections, ...) and the
 * cursors that find leaves open. */
#ifndef MS_CRUD_H
#define MS_CRUD_H

#include "commands.h"

void ms_cmd_find(ms_command_t *c, bson_t *reply);
void ms_cmd_get_more(ms_command_t *c, bson_t *reply);
void ms_cmd_kill_cursors(ms_command_t *c, bson_t *reply);
void ms_cmd_insert(ms_command_t *c, bson_t *reply);
void ms_cmd_update(ms_command_t *c, bson_t *reply);
void ms_cmd_delete(ms_command_t *c, bson_t *reply);
void ms_cmd_count(ms_command_t *c, bson_t *reply);
void ms_cmd_drop(ms_command_t *c, bson_t *reply);
void ms_cmd_drop_database(ms_command_t *c, bson_t *reply);
void ms_cmd_create(ms_command_t *c, bson_t *reply);
void ms_cmd_create_indexes(ms_command_t *c, bson_t *reply);
void ms_cmd_list_collections(ms_command_t *c, bson_t *reply);
void ms_cmd_list_databases(ms_command_t *c, bson_t *reply);

/* Replies {cursor: {firstBatch, id, ns}, ok: 1} with docs (taking ownership
 * of them and of the array); what does not fit in first_batch documents
 * stays in a cursor for getMore. */
void ms_reply_cursor(ms_command_t *c, const char *coll, bson_t **docs, size_t n,
                     size_t first_batch, bson_t *reply);

/* Frees every open cursor; ms_cursors_expire() those idle for 10 minutes. */
void ms_cursors_free_all(ms_state_t *st);
void ms_cursors_expire(ms_state_t *st, int64_t now_ms);

#endif
