/* state.h: what a running mock-store holds (the store, the failpoint, open
 * cursors, counters) and what one command sees of it. Every command handler
 * includes this; nothing here knows how commands are dispatched. */
#ifndef MS_STATE_H
#define MS_STATE_H

#include "cursor.h"
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

/* serverStatus.opWriteConcernCounters for one command, as mongod reports
 * them (with reportOpWriteConcernCountersInServerStatus): how many asked for
 * w: "majority", for w: N (by N), or sent no writeConcern. */
#define MS_WC_MAX_W 50
typedef struct {
    int64_t wmajority, none, wother;
    int64_t wnum[MS_WC_MAX_W + 1];
} ms_wc_counters_t;

typedef struct {
    ms_wc_counters_t insert, update, delete_;
    bson_t last; /* the last write command's writeConcern, as sent ({} if none) */
} ms_write_concerns_t;

typedef struct {
    ms_store_t store;
    ms_failpoint_t failpoint;
    ms_cursors_t cursors;
    ms_opcounters_t opcounters;
    ms_write_concerns_t write_concerns;
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

#endif
