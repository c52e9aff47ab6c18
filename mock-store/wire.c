/* wire.c: MongoDB wire-protocol framing: validates and splits OP_MSG and
 * legacy OP_QUERY requests, and frames OP_MSG / OP_REPLY answers.
 * Anything malformed is reported, never trusted: the caller drops the peer. */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t read_i32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return (int32_t)BSON_UINT32_FROM_LE(v);
}

static void write_i32(uint8_t *p, int32_t v)
{
    uint32_t le = BSON_UINT32_TO_LE((uint32_t)v);
    memcpy(p, &le, sizeof le);
}

static ms_wire_status_t invalid(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return MS_WIRE_INVALID;
}

#define MAX_NESTING 128

/* Every embedded document, array and code-with-scope scope is itself a
 * well-formed document, at most MAX_NESTING deep. bson_validate() alone is
 * not enough: it silently skips an embedded document whose own framing is
 * broken, and it recurses without a depth limit. */
static bool nested_documents_valid(const uint8_t *data, uint32_t len, int depth)
{
    bson_iter_t it;
    if (depth > MAX_NESTING || !bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it)) {
        const uint8_t *sub = NULL;
        uint32_t sublen = 0;
        if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &sublen, &sub);
        } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_array(&it, &sublen, &sub);
        } else if (BSON_ITER_HOLDS_CODEWSCOPE(&it)) {
            uint32_t code_len;
            bson_iter_codewscope(&it, &code_len, &sublen, &sub);
        } else {
            continue;
        }
        bson_t child;
        if (!sub || !bson_init_static(&child, sub, sublen) ||
            !nested_documents_valid(sub, sublen, depth + 1))
            return false;
    }
    return true;
}

/* Length of the BSON document at p if it fits in avail bytes and is well
 * formed all the way down, else 0. */
static uint32_t valid_bson_at(const uint8_t *p, size_t avail)
{
    if (avail < 5)
        return 0;
    int32_t len = read_i32(p);
    if (len < 5 || (size_t)len > avail)
        return 0;
    bson_t doc;
    if (!bson_init_static(&doc, p, (size_t)len) || !nested_documents_valid(p, (uint32_t)len, 0))
        return 0;
    size_t err_offset;
    if (!bson_validate(&doc, BSON_VALIDATE_NONE, &err_offset))
        return 0;
    return (uint32_t)len;
}

/* Returns the length of a NUL-terminated string at p including the NUL, or
 * 0 when it runs past avail. */
static size_t cstring_len(const uint8_t *p, size_t avail)
{
    const uint8_t *nul = memchr(p, 0, avail);
    return nul ? (size_t)(nul - p) + 1 : 0;
}

static ms_wire_status_t parse_op_query(const uint8_t *p, size_t n, ms_wire_msg_t *msg, char *why,
                                       size_t why_len)
{
    /* flags, fullCollectionName, numberToSkip, numberToReturn, query [, fields] */
    if (n < 4)
        return invalid(why, why_len, "OP_QUERY too short");
    msg->flags = (uint32_t)read_i32(p);
    p += 4, n -= 4;
    size_t ns_len = cstring_len(p, n);
    if (!ns_len)
        return invalid(why, why_len, "OP_QUERY namespace not terminated");
    msg->ns = (const char *)p;
    p += ns_len, n -= ns_len;
    if (n < 8)
        return invalid(why, why_len, "OP_QUERY truncated after namespace");
    p += 8, n -= 8;
    uint32_t qlen = valid_bson_at(p, n);
    if (!qlen)
        return invalid(why, why_len, "OP_QUERY query is not valid BSON");
    msg->body = p;
    msg->body_len = qlen;
    p += qlen, n -= qlen;
    if (n > 0) {
        uint32_t flen = valid_bson_at(p, n);
        if (!flen || flen != n)
            return invalid(why, why_len, "OP_QUERY field selector is not valid BSON");
    }
    return MS_WIRE_OK;
}

static ms_wire_status_t parse_op_msg(const uint8_t *p, size_t n, ms_wire_msg_t *msg, char *why,
                                     size_t why_len)
{
    if (n < 4)
        return invalid(why, why_len, "OP_MSG too short");
    msg->flags = (uint32_t)read_i32(p);
    p += 4, n -= 4;
    if (msg->flags & MS_MSG_CHECKSUM_PRESENT) {
        /* Tolerated, not verified: the CRC32C trails the sections. */
        if (n < 4)
            return invalid(why, why_len, "OP_MSG checksum missing");
        n -= 4;
    }
    /* Required flag bits (0-15) other than the two we know must be rejected. */
    if (msg->flags & 0xfffcu)
        return invalid(why, why_len, "OP_MSG has unknown required flags 0x%x", msg->flags);

    bool have_body = false;
    while (n > 0) {
        uint8_t kind = *p;
        p++, n--;
        if (kind == 0) {
            if (have_body)
                return invalid(why, why_len, "OP_MSG has two body sections");
            uint32_t blen = valid_bson_at(p, n);
            if (!blen)
                return invalid(why, why_len, "OP_MSG body is not valid BSON");
            msg->body = p;
            msg->body_len = blen;
            have_body = true;
            p += blen, n -= blen;
        } else if (kind == 1) {
            if (n < 4)
                return invalid(why, why_len, "OP_MSG sequence truncated");
            int32_t slen = read_i32(p);
            if (slen < 5 || (size_t)slen > n)
                return invalid(why, why_len, "OP_MSG sequence length %d is wrong", slen);
            const uint8_t *s = p + 4;
            size_t sn = (size_t)slen - 4;
            size_t id_len = cstring_len(s, sn);
            if (!id_len)
                return invalid(why, why_len, "OP_MSG sequence identifier not terminated");
            if (msg->nsequences == MS_WIRE_MAX_SEQUENCES)
                return invalid(why, why_len, "OP_MSG has too many sequences");
            ms_wire_sequence_t *seq = &msg->sequences[msg->nsequences++];
            seq->identifier = (const char *)s;
            seq->docs = s + id_len;
            seq->docs_len = sn - id_len;
            for (size_t off = 0; off < seq->docs_len;) {
                uint32_t dlen = valid_bson_at(seq->docs + off, seq->docs_len - off);
                if (!dlen)
                    return invalid(why, why_len, "OP_MSG sequence '%s' holds invalid BSON",
                                   seq->identifier);
                off += dlen;
            }
            p += slen, n -= (size_t)slen;
        } else {
            return invalid(why, why_len, "OP_MSG section kind %u is unknown", kind);
        }
    }
    if (!have_body)
        return invalid(why, why_len, "OP_MSG has no body section");
    return MS_WIRE_OK;
}

ms_wire_status_t ms_wire_parse(const uint8_t *buf, size_t len, ms_wire_msg_t *msg, char *why,
                               size_t why_len)
{
    memset(msg, 0, sizeof *msg);
    if (why && why_len)
        why[0] = '\0';
    if (len < 4)
        return MS_WIRE_INCOMPLETE;
    int32_t mlen = read_i32(buf);
    if (mlen < MS_WIRE_HEADER_LEN)
        return invalid(why, why_len, "message length %d is below the header size", mlen);
    if (mlen > MS_WIRE_MAX_MESSAGE)
        return invalid(why, why_len, "message length %d exceeds %d", mlen, MS_WIRE_MAX_MESSAGE);
    if (len < (size_t)mlen)
        return MS_WIRE_INCOMPLETE;

    msg->length = mlen;
    msg->request_id = read_i32(buf + 4);
    msg->response_to = read_i32(buf + 8);
    msg->opcode = read_i32(buf + 12);
    const uint8_t *p = buf + MS_WIRE_HEADER_LEN;
    size_t n = (size_t)mlen - MS_WIRE_HEADER_LEN;

    switch (msg->opcode) {
    case MS_OP_MSG:
        return parse_op_msg(p, n, msg, why, why_len);
    case MS_OP_QUERY:
        return parse_op_query(p, n, msg, why, why_len);
    default:
        return invalid(why, why_len, "opcode %d is not supported", msg->opcode);
    }
}

static void copy_db(const char *src, size_t n, char *db_buf, size_t db_buf_len, const char **db)
{
    if (n >= db_buf_len)
        n = db_buf_len - 1;
    memcpy(db_buf, src, n);
    db_buf[n] = '\0';
    *db = db_buf;
}

bool ms_wire_command(const ms_wire_msg_t *msg, bson_t *cmd, char *db_buf, size_t db_buf_len,
                     const char **db)
{
    bson_t body;
    *db = "";
    if (!bson_init_static(&body, msg->body, msg->body_len)) {
        bson_init(cmd);
        return false;
    }

    if (msg->opcode == MS_OP_QUERY) {
        const char *dot = strchr(msg->ns, '.');
        copy_db(msg->ns, dot ? (size_t)(dot - msg->ns) : strlen(msg->ns), db_buf, db_buf_len, db);
        /* Drivers wrap a command that carries a read preference: unwrap it. */
        bson_iter_t it;
        if (bson_iter_init(&it, &body) && bson_iter_next(&it) &&
            (!strcmp(bson_iter_key(&it), "$query") || !strcmp(bson_iter_key(&it), "query")) &&
            BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *data;
            uint32_t dlen;
            bson_iter_document(&it, &dlen, &data);
            bson_t inner;
            if (bson_init_static(&inner, data, dlen)) {
                bson_copy_to(&inner, cmd);
                return true;
            }
        }
        bson_copy_to(&body, cmd);
        return true;
    }

    bson_iter_t it;
    if (bson_iter_init_find(&it, &body, "$db") && BSON_ITER_HOLDS_UTF8(&it)) {
        uint32_t n;
        const char *s = bson_iter_utf8(&it, &n);
        copy_db(s, n, db_buf, db_buf_len, db);
    }
    if (msg->nsequences == 0) {
        /* The common case: a read-only view of the body, no copy. */
        return bson_init_static(cmd, msg->body, msg->body_len);
    }
    bson_copy_to(&body, cmd);
    for (size_t i = 0; i < msg->nsequences; i++) {
        const ms_wire_sequence_t *seq = &msg->sequences[i];
        bson_t arr;
        bson_append_array_begin(cmd, seq->identifier, -1, &arr);
        uint32_t idx = 0;
        for (size_t off = 0; off < seq->docs_len; idx++) {
            int32_t dlen = read_i32(seq->docs + off);
            bson_t doc;
            char keybuf[16];
            const char *key;
            bson_uint32_to_string(idx, &key, keybuf, sizeof keybuf);
            if (bson_init_static(&doc, seq->docs + off, (size_t)dlen))
                bson_append_document(&arr, key, -1, &doc);
            off += (size_t)dlen;
        }
        bson_append_array_end(cmd, &arr);
    }
    return true;
}

void ms_buf_reserve(ms_buf_t *buf, size_t extra)
{
    if (buf->len + extra <= buf->cap)
        return;
    size_t cap = buf->cap ? buf->cap : 4096;
    while (cap < buf->len + extra)
        cap *= 2;
    uint8_t *data = realloc(buf->data, cap);
    if (!data)
        abort();
    buf->data = data;
    buf->cap = cap;
}

void ms_buf_free(ms_buf_t *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

void ms_wire_append_reply(ms_buf_t *out, const ms_wire_msg_t *request, int32_t request_id,
                          const bson_t *doc)
{
    const uint8_t *data = bson_get_data(doc);
    size_t body = request->opcode == MS_OP_QUERY ? 4 + 8 + 4 + 4 : 4 + 1;
    size_t total = MS_WIRE_HEADER_LEN + body + doc->len;
    ms_buf_reserve(out, total);
    uint8_t *p = out->data + out->len;

    write_i32(p, (int32_t)total);
    write_i32(p + 4, request_id);
    write_i32(p + 8, request->request_id);
    p += 12;
    if (request->opcode == MS_OP_QUERY) {
        write_i32(p, MS_OP_REPLY);
        write_i32(p + 4, 8); /* responseFlags: AwaitCapable, as mongod sets it */
        memset(p + 8, 0, 8); /* cursorID */
        write_i32(p + 16, 0); /* startingFrom */
        write_i32(p + 20, 1); /* numberReturned */
        p += 24;
    } else {
        write_i32(p, MS_OP_MSG);
        write_i32(p + 4, 0); /* flagBits */
        p[8] = 0;            /* section kind 0 */
        p += 9;
    }
    memcpy(p, data, doc->len);
    out->len += total;
}
