/* reply.c: error replies with mongod's codes and code names, and the
 * namespace field (see reply.h). */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int32_t code;
    const char *name;
} code_names[] = {
    {1, "InternalError"},
    {2, "BadValue"},
    {6, "HostUnreachable"},
    {7, "HostNotFound"},
    {8, "UnknownError"},
    {9, "FailedToParse"},
    {11, "UserNotFound"},
    {13, "Unauthorized"},
    {14, "TypeMismatch"},
    {18, "AuthenticationFailed"},
    {26, "NamespaceNotFound"},
    {40, "ConflictingUpdateOperators"},
    {43, "CursorNotFound"},
    {48, "NamespaceExists"},
    {50, "MaxTimeMSExpired"},
    {52, "DollarPrefixedFieldName"},
    {53, "InvalidIdField"},
    {59, "CommandNotFound"},
    {66, "ImmutableField"},
    {72, "InvalidOptions"},
    {73, "InvalidNamespace"},
    {89, "NetworkTimeout"},
    {91, "ShutdownInProgress"},
    {112, "WriteConflict"},
    {189, "PrimarySteppedDown"},
    {251, "NoSuchTransaction"},
    {262, "ExceededTimeLimit"},
    {9001, "SocketException"},
    {10107, "NotWritablePrimary"},
    {11000, "DuplicateKey"},
    {11600, "InterruptedAtShutdown"},
    {11602, "InterruptedDueToReplStateChange"},
    {13435, "NotPrimaryNoSecondaryOk"},
    {13436, "NotPrimaryOrSecondary"},
    {31253, "Location31253"},
    {31254, "Location31254"},
};

const char *ms_code_name(int32_t code, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
        if (code_names[i].code == code)
            return code_names[i].name;
    snprintf(buf, len, "Location%d", code);
    return buf;
}

void ms_reply_error(bson_t *reply, int32_t code, const char *fmt, ...)
{
    char msg[512], namebuf[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    BSON_APPEND_UTF8(reply, "errmsg", msg);
    BSON_APPEND_INT32(reply, "code", code);
    BSON_APPEND_UTF8(reply, "codeName", ms_code_name(code, namebuf, sizeof namebuf));
}

void ms_reply_error_labels(bson_t *reply, const bson_t *labels)
{
    if (labels)
        BSON_APPEND_ARRAY(reply, "errorLabels", labels);
}

void ms_reply_append_ns(bson_t *doc, const char *db, const char *coll)
{
    char *ns = bson_strdup_printf("%s.%s", db, coll);
    BSON_APPEND_UTF8(doc, "ns", ns);
    bson_free(ns);
}
