/* failpoint.h: mongod's "failCommand" test failpoint (configureFailPoint),
 * so fault tests written for a real mongod run unchanged against mock-store. */
#ifndef MS_FAILPOINT_H
#define MS_FAILPOINT_H

#include <bson/bson.h>
#include <stdbool.h>

typedef enum { MS_FP_OFF, MS_FP_ALWAYS_ON, MS_FP_TIMES, MS_FP_SKIP } ms_fp_mode_t;

typedef struct {
    ms_fp_mode_t mode;
    int64_t remaining; /* times left (MS_FP_TIMES) or skips left (MS_FP_SKIP) */
    char **commands;
    size_t ncommands;
    char *app_name;
    bool close_connection;
    bool block_connection;
    int64_t block_ms;
    bool has_error_code;
    int32_t error_code;
    bson_t *error_labels;
    bson_t *write_concern_error; /* data.writeConcernError: applied, then reported */
    int64_t times_entered;
} ms_failpoint_t;

/* What a firing failpoint does to one command, in mongod's order: close the
 * connection, else block, then fail with the error code (if any); with a
 * writeConcernError and no error code, the command runs and its reply
 * carries the writeConcernError, as mongod's failCommand does. */
typedef struct {
    bool close_connection;
    int64_t block_ms;
    bool has_error_code;
    int32_t error_code;
    bson_t *error_labels; /* owned copy or NULL */
    bson_t *write_concern_error; /* owned copy or NULL */
} ms_fail_action_t;

void ms_failpoint_init(ms_failpoint_t *fp);
void ms_failpoint_destroy(ms_failpoint_t *fp);

/* Runs {configureFailPoint: "failCommand", mode, data}; fills reply either way. */
void ms_failpoint_configure(ms_failpoint_t *fp, const bson_t *cmd, bson_t *reply);

/* True when the failpoint fires for this command (and counts it). */
bool ms_failpoint_check(ms_failpoint_t *fp, const char *command, const char *app_name,
                        ms_fail_action_t *action);
void ms_fail_action_clear(ms_fail_action_t *action);

#endif
