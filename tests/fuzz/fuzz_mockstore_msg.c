/* fuzz_mockstore_msg.c: feeds arbitrary bytes to mock-store's wire parser and
 * runs whatever parses as a command against a small seeded store, so framing,
 * filters, projections, sorts and update operators are all fuzzed. */
// fuzz-libs: build/fuzz/libmockstore.a:mock-store
#include "commands.h"
#include "wire.h"

#include <stdint.h>
#include <string.h>

static void seed(ms_state_t *st)
{
    ms_collection_t *c = ms_store_collection(&st->store, "db", "c", true);
    static const char *const docs[] = {
        "{\"_id\":\"m1\",\"status\":\"uploaded\",\"progress\":0,\"tags\":[\"a\",\"b\"],\"sub\":{\"x\":1}}",
        "{\"_id\":2,\"status\":\"ready\",\"progress\":100.5,\"sub\":[{\"x\":2},{\"x\":3}]}",
        "{\"_id\":{\"$oid\":\"6564a1f0c2a4b3d2e1f00008\"},\"status\":null}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        bson_t *d = bson_new_from_json((const uint8_t *)docs[i], -1, NULL);
        ms_collection_insert(c, ms_doc_with_id_first(d));
        bson_destroy(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_wire_msg_t msg;
    char why[160];
    if (ms_wire_parse(data, size, &msg, why, sizeof why) != MS_WIRE_OK)
        return 0;
    bson_t cmd;
    char db_buf[256];
    const char *db;
    bool ok = ms_wire_command(&msg, &cmd, db_buf, sizeof db_buf, &db);
    if (ok) {
        ms_state_t st;
        ms_state_init(&st);
        seed(&st);
        ms_client_t client = {.id = 1};
        bson_t reply = BSON_INITIALIZER;
        ms_command_run(&st, &client, db[0] ? db : "db", &cmd, &reply);
        ms_buf_t out = {0};
        ms_wire_append_reply(&out, &msg, 1, &reply);
        ms_buf_free(&out);
        bson_destroy(&reply);
        ms_state_destroy(&st);
    }
    bson_destroy(&cmd);
    return 0;
}
