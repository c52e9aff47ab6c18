/* crud.h: the data commands (find, getMore, killCursors, insert, update,
 * delete, count, drop, create, createIndexes, listCollections, ...). */
#ifndef MS_CRUD_H
#define MS_CRUD_H

#include "state.h"

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

#endif
