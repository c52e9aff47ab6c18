/* store.c: in-memory collections with an _id hash index, and the Extended
 * JSON loader behind --data. Documents are kept as owned bson_t in a doubly
 * linked list, so natural order survives deletes in O(1). */
#include "store.h"

#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ms_store_init(ms_store_t *store)
{
    store->collections = NULL;
}

static void collection_free(ms_collection_t *coll)
{
    ms_doc_t *d = coll->head;
    while (d) {
        ms_doc_t *next = d->next;
        bson_destroy(d->bson);
        free(d);
        d = next;
    }
    free(coll->buckets);
    bson_free(coll->db);
    bson_free(coll->name);
    free(coll);
}

void ms_store_destroy(ms_store_t *store)
{
    ms_collection_t *c = store->collections;
    while (c) {
        ms_collection_t *next = c->next;
        collection_free(c);
        c = next;
    }
    store->collections = NULL;
}

ms_collection_t *ms_store_collection(ms_store_t *store, const char *db, const char *name,
                                     bool create)
{
    for (ms_collection_t *c = store->collections; c; c = c->next)
        if (!strcmp(c->name, name) && !strcmp(c->db, db))
            return c;
    if (!create)
        return NULL;
    ms_collection_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->db = bson_strdup(db);
    c->name = bson_strdup(name);
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets)
        abort();
    c->next = store->collections;
    store->collections = c;
    return c;
}

bool ms_store_drop(ms_store_t *store, const char *db, const char *name)
{
    for (ms_collection_t **pc = &store->collections; *pc; pc = &(*pc)->next) {
        ms_collection_t *c = *pc;
        if (!strcmp(c->name, name) && !strcmp(c->db, db)) {
            *pc = c->next;
            collection_free(c);
            return true;
        }
    }
    return false;
}

void ms_store_drop_database(ms_store_t *store, const char *db)
{
    ms_collection_t **pc = &store->collections;
    while (*pc) {
        ms_collection_t *c = *pc;
        if (!strcmp(c->db, db)) {
            *pc = c->next;
            collection_free(c);
        } else {
            pc = &c->next;
        }
    }
}

/* ---- the _id index --------------------------------------------------- */

static bool first_value(const bson_t *doc, bson_value_t *v)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc) || !bson_iter_next(&it))
        return false;
    *v = *bson_iter_value(&it);
    return true;
}

ms_doc_t *ms_collection_find_id(const ms_collection_t *coll, const bson_value_t *id)
{
    uint64_t h = ms_value_hash(id);
    for (ms_doc_t *d = coll->buckets[h & (coll->nbuckets - 1)]; d; d = d->hash_next) {
        bson_value_t v;
        if (d->id_hash == h && first_value(d->bson, &v) && ms_value_compare(&v, id) == 0)
            return d;
    }
    return NULL;
}

static void index_grow(ms_collection_t *coll)
{
    size_t n = coll->nbuckets * 2;
    ms_doc_t **b = calloc(n, sizeof *b);
    if (!b)
        abort();
    for (ms_doc_t *d = coll->head; d; d = d->next) {
        size_t slot = d->id_hash & (n - 1);
        d->hash_next = b[slot];
        b[slot] = d;
    }
    free(coll->buckets);
    coll->buckets = b;
    coll->nbuckets = n;
}

bool ms_collection_insert(ms_collection_t *coll, bson_t *doc)
{
    bson_value_t id;
    if (!first_value(doc, &id) || ms_collection_find_id(coll, &id)) {
        bson_destroy(doc);
        return false;
    }
    ms_doc_t *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->bson = doc;
    d->id_hash = ms_value_hash(&id);
    d->seq = coll->next_seq++;
    d->prev = coll->tail;
    if (coll->tail)
        coll->tail->next = d;
    else
        coll->head = d;
    coll->tail = d;
    coll->count++;
    if (coll->count > coll->nbuckets)
        index_grow(coll); /* relinks every document, including d */
    else {
        size_t slot = d->id_hash & (coll->nbuckets - 1);
        d->hash_next = coll->buckets[slot];
        coll->buckets[slot] = d;
    }
    return true;
}

void ms_collection_replace(ms_collection_t *coll, ms_doc_t *d, bson_t *doc)
{
    (void)coll;
    bson_destroy(d->bson);
    d->bson = doc;
}

void ms_collection_remove(ms_collection_t *coll, ms_doc_t *d)
{
    ms_doc_t **pp = &coll->buckets[d->id_hash & (coll->nbuckets - 1)];
    while (*pp && *pp != d)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = d->hash_next;
    if (d->prev)
        d->prev->next = d->next;
    else
        coll->head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        coll->tail = d->prev;
    coll->count--;
    bson_destroy(d->bson);
    free(d);
}

bool ms_id_storable(const bson_value_t *id)
{
    return id->value_type != BSON_TYPE_ARRAY && id->value_type != BSON_TYPE_REGEX &&
           id->value_type != BSON_TYPE_UNDEFINED;
}

bson_t *ms_doc_with_id_first(const bson_t *doc)
{
    bson_t *out = bson_sized_new(doc->len + 20);
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id")) {
        bson_append_iter(out, "_id", 3, &it);
    } else {
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        bson_append_oid(out, "_id", 3, &oid);
    }
    bson_copy_to_excluding_noinit(doc, out, "_id", NULL);
    return out;
}

/* ---- --data ---------------------------------------------------------- */

static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

bool ms_store_load_file(ms_store_t *store, const char *path, bson_error_t *err)
{
    size_t len;
    char *json = read_whole_file(path, &len);
    if (!json) {
        bson_set_error(err, 1, 1, "cannot read %s", path);
        return false;
    }
    bson_t root;
    bool ok = bson_init_from_json(&root, json, (ssize_t)len, err);
    free(json);
    if (!ok)
        return false;

    bson_iter_t dbs, colls, docs;
    bson_iter_init(&dbs, &root);
    while (ok && bson_iter_next(&dbs)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&dbs) || !bson_iter_recurse(&dbs, &colls)) {
            bson_set_error(err, 1, 2, "%s: \"%s\" must map collection names to arrays", path,
                           bson_iter_key(&dbs));
            ok = false;
            break;
        }
        while (ok && bson_iter_next(&colls)) {
            if (!BSON_ITER_HOLDS_ARRAY(&colls) || !bson_iter_recurse(&colls, &docs)) {
                bson_set_error(err, 1, 2, "%s: %s.%s must be an array of documents", path,
                               bson_iter_key(&dbs), bson_iter_key(&colls));
                ok = false;
                break;
            }
            ms_collection_t *coll =
                ms_store_collection(store, bson_iter_key(&dbs), bson_iter_key(&colls), true);
            while (bson_iter_next(&docs)) {
                const uint8_t *data;
                uint32_t dlen;
                bson_t doc;
                if (!BSON_ITER_HOLDS_DOCUMENT(&docs))
                    continue;
                bson_iter_document(&docs, &dlen, &data);
                if (!bson_init_static(&doc, data, dlen))
                    continue;
                bson_t *stored = ms_doc_with_id_first(&doc);
                bson_value_t id;
                if (!first_value(stored, &id) || !ms_id_storable(&id)) {
                    bson_destroy(stored);
                    bson_set_error(err, 1, 53,
                                   "%s: an _id in %s.%s is an array, regex or undefined", path,
                                   bson_iter_key(&dbs), bson_iter_key(&colls));
                    ok = false;
                    break;
                }
                if (!ms_collection_insert(coll, stored)) {
                    bson_set_error(err, 1, 11000, "%s: duplicate _id in %s.%s", path,
                                   bson_iter_key(&dbs), bson_iter_key(&colls));
                    ok = false;
                    break;
                }
            }
        }
    }
    bson_destroy(&root);
    return ok;
}
