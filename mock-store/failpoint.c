/* failpoint.c: the failCommand failpoint: parsing configureFailPoint the way
 * mongod's test commands accept it, and deciding per command whether it fires.
 * Only "failCommand" exists here; other failpoint names are refused. */
#include "failpoint.h"

#include "reply.h"

#include <stdlib.h>
#include <string.h>

void ms_failpoint_init(ms_failpoint_t *fp)
{
    memset(fp, 0, sizeof *fp);
}

static void clear_data(ms_failpoint_t *fp)
{
    for (size_t i = 0; i < fp->ncommands; i++)
        bson_free(fp->commands[i]);
    free(fp->commands);
    bson_free(fp->app_name);
    if (fp->error_labels)
        bson_destroy(fp->error_labels);
    if (fp->write_concern_error)
        bson_destroy(fp->write_concern_error);
    fp->write_concern_error = NULL;
    fp->commands = NULL;
    fp->ncommands = 0;
    fp->app_name = NULL;
    fp->error_labels = NULL;
    fp->close_connection = fp->block_connection = fp->has_error_code = false;
    fp->block_ms = 0;
    fp->error_code = 0;
}

void ms_failpoint_destroy(ms_failpoint_t *fp)
{
    clear_data(fp);
    fp->mode = MS_FP_OFF;
}

static bool parse_mode(bson_iter_t *it, ms_fp_mode_t *mode, int64_t *remaining)
{
    if (BSON_ITER_HOLDS_UTF8(it)) {
        const char *s = bson_iter_utf8(it, NULL);
        if (!strcmp(s, "alwaysOn"))
            *mode = MS_FP_ALWAYS_ON;
        else if (!strcmp(s, "off"))
            *mode = MS_FP_OFF;
        else
            return false;
        return true;
    }
    bson_iter_t sub;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub) || !bson_iter_next(&sub) ||
        !BSON_ITER_HOLDS_NUMBER(&sub))
        return false;
    const char *k = bson_iter_key(&sub);
    int64_t n = bson_iter_as_int64(&sub);
    if (n < 0)
        return false;
    if (!strcmp(k, "times")) {
        *mode = n > 0 ? MS_FP_TIMES : MS_FP_OFF;
        *remaining = n;
        return true;
    }
    if (!strcmp(k, "skip")) {
        *mode = MS_FP_SKIP;
        *remaining = n;
        return true;
    }
    return false;
}

static bool parse_data(ms_failpoint_t *fp, bson_iter_t *data, bson_t *reply)
{
    bson_iter_t it;
    bson_iter_recurse(data, &it);
    bool have_commands = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "failCommands") && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t el;
            bson_iter_recurse(&it, &el);
            while (bson_iter_next(&el)) {
                if (!BSON_ITER_HOLDS_UTF8(&el))
                    continue;
                fp->commands = realloc(fp->commands, (fp->ncommands + 1) * sizeof *fp->commands);
                fp->commands[fp->ncommands++] = bson_strdup(bson_iter_utf8(&el, NULL));
            }
            have_commands = true;
        } else if (!strcmp(k, "errorCode") && BSON_ITER_HOLDS_NUMBER(&it)) {
            fp->has_error_code = true;
            fp->error_code = (int32_t)bson_iter_as_int64(&it);
        } else if (!strcmp(k, "closeConnection")) {
            fp->close_connection = bson_iter_as_bool(&it);
        } else if (!strcmp(k, "blockConnection")) {
            fp->block_connection = bson_iter_as_bool(&it);
        } else if (!strcmp(k, "blockTimeMS") && BSON_ITER_HOLDS_NUMBER(&it)) {
            fp->block_ms = bson_iter_as_int64(&it);
            if (fp->block_ms > 24 * 3600 * 1000)
                fp->block_ms = 24 * 3600 * 1000; /* keeps the deadline arithmetic sane */
        } else if (!strcmp(k, "appName") && BSON_ITER_HOLDS_UTF8(&it)) {
            fp->app_name = bson_strdup(bson_iter_utf8(&it, NULL));
        } else if (!strcmp(k, "errorLabels") && BSON_ITER_HOLDS_ARRAY(&it)) {
            const uint8_t *d;
            uint32_t dl;
            bson_iter_array(&it, &dl, &d);
            fp->error_labels = bson_new_from_data(d, dl);
        } else if (!strcmp(k, "writeConcernError") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *d;
            uint32_t dl;
            bson_iter_document(&it, &dl, &d);
            if (fp->write_concern_error)
                bson_destroy(fp->write_concern_error);
            fp->write_concern_error = bson_new_from_data(d, dl);
        }
    }
    if (!have_commands) {
        ms_reply_error(reply, 2, "failCommand requires data.failCommands, an array of names");
        return false;
    }
    if (fp->block_connection && fp->block_ms <= 0) {
        ms_reply_error(reply, 2, "blockConnection requires a positive blockTimeMS");
        return false;
    }
    return true;
}

void ms_failpoint_configure(ms_failpoint_t *fp, const bson_t *cmd, bson_t *reply)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "configureFailPoint") || !BSON_ITER_HOLDS_UTF8(&it) ||
        strcmp(bson_iter_utf8(&it, NULL), "failCommand") != 0) {
        ms_reply_error(reply, 2, "mock-store only implements the failCommand failpoint");
        return;
    }
    ms_fp_mode_t mode;
    int64_t remaining = 0;
    if (!bson_iter_init_find(&it, cmd, "mode") || !parse_mode(&it, &mode, &remaining)) {
        ms_reply_error(reply, 2,
                       "mode must be \"alwaysOn\", \"off\", {times: n} or {skip: n}");
        return;
    }
    ms_failpoint_t next;
    ms_failpoint_init(&next);
    next.mode = mode;
    next.remaining = remaining;
    if (mode != MS_FP_OFF) {
        if (!bson_iter_init_find(&it, cmd, "data") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
            ms_reply_error(reply, 2, "failCommand requires a data document");
            return;
        }
        if (!parse_data(&next, &it, reply)) {
            clear_data(&next);
            return;
        }
    }
    int64_t entered = fp->times_entered;
    clear_data(fp);
    *fp = next;
    fp->times_entered = entered;
    BSON_APPEND_INT64(reply, "count", entered);
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
}

bool ms_failpoint_check(ms_failpoint_t *fp, const char *command, const char *app_name,
                        ms_fail_action_t *action)
{
    memset(action, 0, sizeof *action);
    if (fp->mode == MS_FP_OFF || !strcmp(command, "configureFailPoint"))
        return false;
    bool listed = false;
    for (size_t i = 0; i < fp->ncommands && !listed; i++)
        listed = !strcmp(fp->commands[i], command);
    if (!listed)
        return false;
    if (fp->app_name && (!app_name || strcmp(fp->app_name, app_name) != 0))
        return false;
    if (fp->mode == MS_FP_SKIP && fp->remaining > 0) {
        fp->remaining--;
        return false;
    }
    if (fp->mode == MS_FP_TIMES && --fp->remaining <= 0) {
        fp->mode = MS_FP_OFF; /* this is the last time it fires */
    }
    fp->times_entered++;
    action->close_connection = fp->close_connection;
    action->block_ms = fp->block_connection ? fp->block_ms : 0;
    action->has_error_code = fp->has_error_code;
    action->error_code = fp->error_code;
    action->error_labels = fp->error_labels ? bson_copy(fp->error_labels) : NULL;
    action->write_concern_error =
        fp->write_concern_error ? bson_copy(fp->write_concern_error) : NULL;
    return true;
}

void ms_fail_action_clear(ms_fail_action_t *action)
{
    if (action->error_labels)
        bson_destroy(action->error_labels);
    if (action->write_concern_error)
        bson_destroy(action->write_concern_error);
    memset(action, 0, sizeof *action);
}
