/* wire.h: MongoDB wire-protocol framing for mock-store.
 * Parsing is a pure function over a byte buffer (no I/O, no allocation), so the
 * event loop, the tests and the fuzzer all drive exactly the same code. */
#ifndef MS_WIRE_H
#define MS_WIRE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_OP_REPLY 1
#define MS_OP_QUERY 2004
#define MS_OP_MSG 2013

#define MS_WIRE_HEADER_LEN 16
#define MS_WIRE_MAX_MESSAGE (48 * 1024 * 1024)
#define MS_WIRE_MAX_SEQUENCES 8

#define MS_MSG_CHECKSUM_PRESENT 0x1u
#define MS_MSG_MORE_TO_COME 0x2u

/* One kind-1 section of an OP_MSG: a named run of BSON documents. */
typedef struct {
    const char *identifier;
    const uint8_t *docs;
    size_t docs_len;
} ms_wire_sequence_t;

/* A parsed request; every pointer points into the caller's buffer. */
typedef struct {
    int32_t length;
    int32_t request_id;
    int32_t response_to;
    int32_t opcode;
    uint32_t flags;      /* OP_MSG flagBits or OP_QUERY flags */
    const char *ns;      /* OP_QUERY fullCollectionName, else NULL */
    const uint8_t *body; /* OP_MSG kind-0 document or OP_QUERY query */
    uint32_t body_len;
    size_t nsequences;
    ms_wire_sequence_t sequences[MS_WIRE_MAX_SEQUENCES];
} ms_wire_msg_t;

typedef enum {
    MS_WIRE_OK,
    MS_WIRE_INCOMPLETE, /* need more bytes; nothing wrong yet */
    MS_WIRE_INVALID     /* the peer sent garbage; drop the connection */
} ms_wire_status_t;

/* Parses the message at the start of buf. On MS_WIRE_OK, msg->length bytes
 * form the message. On MS_WIRE_INVALID, why says what was wrong. */
ms_wire_status_t ms_wire_parse(const uint8_t *buf, size_t len, ms_wire_msg_t *msg, char *why,
                               size_t why_len);

/* The command document of a parsed request: the body, with each kind-1
 * sequence appended as an array field, and an OP_QUERY "$query" wrapper
 * removed. *db receives the target database (from "$db" or the namespace);
 * db_buf holds it when it has to be copied. cmd is always initialized. */
bool ms_wire_command(const ms_wire_msg_t *msg, bson_t *cmd, char *db_buf, size_t db_buf_len,
                     const char **db);

/* A growable output byte buffer. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} ms_buf_t;

void ms_buf_reserve(ms_buf_t *buf, size_t extra);
void ms_buf_free(ms_buf_t *buf);

/* Appends a reply to request msg carrying doc: an OP_REPLY for OP_QUERY, an
 * OP_MSG otherwise. */
void ms_wire_append_reply(ms_buf_t *out, const ms_wire_msg_t *request, int32_t request_id,
                          const bson_t *doc);

#endif
