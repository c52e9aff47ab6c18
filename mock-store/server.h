/* server.h: mock-store's network side: one epoll loop that accepts clients,
 * frames their requests, runs commands, applies the failCommand failpoint per
 * connection (closing or parking it), and runs the simulator's ticks. */
#ifndef MS_SERVER_H
#define MS_SERVER_H

#include "state.h"

#include <stdbool.h>

typedef struct {
    const char *bind;
    int port; /* 0 picks a free port */
    bool quiet;
    const char *sim_db; /* NULL: no simulator */
    const char *sim_coll;
    double sim_seconds;
    const char *sim_loop_id; /* NULL, or the string _id that starts over once ready */
} ms_server_config_t;

/* Serves until SIGTERM or SIGINT; returns the process exit status. */
int ms_server_run(ms_state_t *state, const ms_server_config_t *config);

#endif
