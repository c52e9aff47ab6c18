/* store.h: mock-store's data: databases of collections of BSON documents in
 * insertion order, each collection with a hash index on _id, plus loading the
 * Extended JSON seed file. Single-threaded by design: only the event loop
 * touches it. */
#ifndef MS_STORE_H
#define MS_STORE_H

#include <bson/bson.h>
#include <stdbool.h>

typedef struct ms_doc {
    bson_t *bson; /* owned; _id is always its first field */
    uint64_t id_hash;
    uint64_t seq; /* insertion number: natural order without walking the list */
    struct ms_doc *prev, *next; /* natural (insertion) order */
    struct ms_doc *hash_next;   /* _id index chain */
} ms_doc_t;

typedef struct ms_collection {
    char *db;
    char *name;
    ms_doc_t *head, *tail;
    size_t count;
    uint64_t next_seq;
    ms_doc_t **buckets;
    size_t nbuckets;
    struct ms_collection *next;
} ms_collection_t;

typedef struct {
    ms_collection_t *collections;
} ms_store_t;

void ms_store_init(ms_store_t *store);
void ms_store_destroy(ms_store_t *store);

/* The collection db.name; created (empty) when create is set, else NULL if absent. */
ms_collection_t *ms_store_collection(ms_store_t *store, const char *db, const char *name,
                                     bool create);
bool ms_store_drop(ms_store_t *store, const char *db, const char *name);
void ms_store_drop_database(ms_store_t *store, const char *db);

/* Loads {"db": {"collection": [documents]}} Extended JSON from path. */
bool ms_store_load_file(ms_store_t *store, const char *path, bson_error_t *err);

ms_doc_t *ms_collection_find_id(const ms_collection_t *coll, const bson_value_t *id);

/* Takes ownership of doc, which must start with _id. Returns false (and
 * keeps nothing) when that _id already exists. */
bool ms_collection_insert(ms_collection_t *coll, bson_t *doc);

/* Swaps in a new body for d; the caller guarantees the _id is unchanged. */
void ms_collection_replace(ms_collection_t *coll, ms_doc_t *d, bson_t *doc);
void ms_collection_remove(ms_collection_t *coll, ms_doc_t *d);

/* mongod refuses arrays, regexes and undefined as _id; the _id index (and
 * every lookup through it) relies on never holding one. */
bool ms_id_storable(const bson_value_t *id);

/* A new heap copy of doc with _id first, generating an ObjectId when it has
 * none: the shape every stored document has. */
bson_t *ms_doc_with_id_first(const bson_t *doc);

#endif
