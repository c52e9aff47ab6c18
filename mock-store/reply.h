/* reply.h: the pieces every reply is built from, as mongod shapes them:
 * {ok: 0, errmsg, code, codeName} errors with mongod's code names, and the
 * "db.coll" namespace field. Knows nothing of the server state. */
#ifndef MS_REPLY_H
#define MS_REPLY_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

/* {ok: 0, errmsg, code, codeName}. */
void ms_reply_error(bson_t *reply, int32_t code, const char *fmt, ...) BSON_GNUC_PRINTF(3, 4);

/* Adds errorLabels when labels (an array) is not NULL. */
void ms_reply_error_labels(bson_t *reply, const bson_t *labels);

/* mongod's name for code ("DuplicateKey"), or "Location<code>" in buf. */
const char *ms_code_name(int32_t code, char *buf, size_t len);

/* Appends ns: "db.coll". */
void ms_reply_append_ns(bson_t *doc, const char *db, const char *coll);

#endif
