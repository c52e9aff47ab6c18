/* admin.h: the server-level commands (see admin.c). */
#ifndef MS_ADMIN_H
#define MS_ADMIN_H

#include "state.h"

void ms_cmd_hello(ms_command_t *c, bson_t *reply);
void ms_cmd_ok(ms_command_t *c, bson_t *reply); /* ping, endSessions */
void ms_cmd_build_info(ms_command_t *c, bson_t *reply);
void ms_cmd_server_status(ms_command_t *c, bson_t *reply);
void ms_cmd_configure_fail_point(ms_command_t *c, bson_t *reply);

#endif
