/* query.h: the read side of mock-store's query language: BSON value ordering
 * and hashing, filter matching, projection and sort, as mongod defines them
 * for the operators the contract lists (see query.c for what is covered). */
#ifndef MS_QUERY_H
#define MS_QUERY_H

#include <bson/bson.h>
#include <stdbool.h>

/* mongod's cross-type order: <0, 0, >0. Numbers compare by value across
 * int32/int64/double; strings bytewise. */
int ms_value_compare(const bson_value_t *a, const bson_value_t *b);

/* A hash consistent with ms_value_compare() == 0 (1 and 1.0 hash alike). */
uint64_t ms_value_hash(const bson_value_t *v);

/* Checks a filter once before matching; on failure fills err (code in
 * err->code) and returns false. ms_filter_matches() assumes a checked filter. */
bool ms_filter_check(const bson_t *filter, bson_error_t *err);
bool ms_filter_matches(const bson_t *filter, const bson_t *doc);

/* How a filter can use the _id index, as mongod's IDHACK / _id index scan
 * does: when one top-level condition pins _id to a list of values ({_id: v},
 * {_id: {$eq: v}} or {_id: {$in: [...]}}, whatever else the filter says), a
 * document matches the filter exactly when its _id equals one of ids (by
 * ms_value_compare, so 1 and 1.0 are one id) and it matches rest. */
typedef struct {
    bson_value_t *ids; /* point into the filter; may repeat; nids may be 0 */
    size_t nids;
    bson_t rest; /* the filter without that _id condition */
} ms_id_plan_t;

/* True (plan filled; free it) when the checked filter can use the index.
 * Arrays and null among the ids are left to the scan: they match more than
 * one _id value's equality. */
bool ms_filter_id_plan(const bson_t *filter, ms_id_plan_t *plan);
void ms_id_plan_free(ms_id_plan_t *plan);

/* A parsed projection: inclusion or exclusion of dotted paths. */
typedef struct {
    bool active;
    bool inclusion;
    bool include_id;
    size_t npaths;
    char **paths;
} ms_projection_t;

bool ms_projection_parse(const bson_t *spec, ms_projection_t *proj, bson_error_t *err);
void ms_projection_apply(const ms_projection_t *proj, const bson_t *doc, bson_t *out);
void ms_projection_free(ms_projection_t *proj);

/* A parsed sort: fields with direction 1 or -1. */
typedef struct {
    size_t nkeys;
    char **paths;
    int *dirs;
} ms_sort_t;

bool ms_sort_parse(const bson_t *spec, ms_sort_t *sort, bson_error_t *err);
int ms_sort_compare(const ms_sort_t *sort, const bson_t *a, const bson_t *b);
void ms_sort_free(ms_sort_t *sort);

/* Error codes mongod uses for what these functions reject. */
#define MS_CODE_BAD_VALUE 2
#define MS_CODE_FAILED_TO_PARSE 9
#define MS_CODE_TYPE_MISMATCH 14

#endif
