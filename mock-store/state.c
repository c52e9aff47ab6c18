/* state.c: creating and freeing the server state (see state.h). */
#include "state.h"

#include "clock.h"

#include <string.h>

void ms_state_init(ms_state_t *st)
{
    memset(st, 0, sizeof *st);
    ms_store_init(&st->store);
    ms_failpoint_init(&st->failpoint);
    ms_cursors_init(&st->cursors);
    bson_init(&st->write_concerns.last);
    st->started_ms = ms_monotonic_ms();
}

void ms_state_destroy(ms_state_t *st)
{
    bson_destroy(&st->write_concerns.last);
    ms_cursors_free_all(&st->cursors);
    ms_failpoint_destroy(&st->failpoint);
    ms_store_destroy(&st->store);
}
