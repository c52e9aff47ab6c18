/* aggregate.h: the aggregate command, limited to the pipeline stages drivers
 * use for counting and simple reads (see aggregate.c). */
#ifndef MS_AGGREGATE_H
#define MS_AGGREGATE_H

#include "state.h"

void ms_cmd_aggregate(ms_command_t *c, bson_t *reply);

#endif
