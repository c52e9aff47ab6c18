/* test_share.c: shared, batched reads (mod_sse/sse_share.c) with a fake
 * fetch that records every batch: streams of one document share a read,
 * reads that fall due together go out as one batch of at most `batch` ids,
 * a read older than one interval or older than a stream's own first read is
 * never handed out, a kept read goes once every subscriber had it, and
 * concurrent polls of one document make one read. Plus the id keys a batch
 * is matched back by (sse_query.c) and the heap's remove. Under ASan, so a
 * result or entry left behind is a failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "sse_config.h"
#include "sse_heap.h"
#include "sse_query.h"
#include "sse_share.h"
#include "unit_pool.h"

#define SEC(n) apr_time_from_sec(n)
#define MS(n) apr_time_from_msec(n)
#define FOUND 0
#define NOT_FOUND 1
#define KEY "store\001db\001coll"

/* What the fake store was asked, and how it answers. */
typedef struct {
    int batches;
    int sizes[64];
    char asked[64][256];            /* the ids of each batch, space-separated */
    int missing;                    /* leave results NULL */
    int gone;                       /* answer NOT_FOUND */
    apr_interval_time_t slow;       /* sleep this long in the fetch */
    apr_uint32_t in_fetch, most_in_fetch;
} fake_store;

static void fake_fetch(void *ctx, apr_pool_t *scratch, const char *const *ids, int n,
                       sse_share_result **results)
{
    fake_store *fs = ctx;
    apr_uint32_t now_in = __atomic_add_fetch(&fs->in_fetch, 1, __ATOMIC_SEQ_CST);
    int i, b = __atomic_fetch_add(&fs->batches, 1, __ATOMIC_SEQ_CST);

    if (now_in > fs->most_in_fetch) fs->most_in_fetch = now_in;
    if (fs->slow) apr_sleep(fs->slow);
    if (b < 64) {
        fs->sizes[b] = n;
        fs->asked[b][0] = '\0';
        for (i = 0; i < n; i++) {
            apr_cpystrn(fs->asked[b] + strlen(fs->asked[b]), ids[i],
                        sizeof(fs->asked[b]) - strlen(fs->asked[b]));
            apr_cpystrn(fs->asked[b] + strlen(fs->asked[b]), " ",
                        sizeof(fs->asked[b]) - strlen(fs->asked[b]));
        }
    }
    for (i = 0; i < n && !fs->missing; i++) {
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(ids[i]), "n", BCON_INT32(b));
        const char *version = apr_psprintf(scratch, "v%d", b);
        results[i] = fs->gone
            ? sse_share_result_make(NOT_FOUND, NULL, NULL, NULL, NULL, NULL)
            : sse_share_result_make(FOUND, doc, doc, version, NULL, NULL);
        bson_destroy(doc);
    }
    __atomic_sub_fetch(&fs->in_fetch, 1, __ATOMIC_SEQ_CST);
}

static sse_share *make_share(void)
{
    sse_share *sh;
    assert_int_equal(sse_share_create(&sh, pool), APR_SUCCESS);
    return sh;
}

static sse_share_sub *join(sse_share *sh, apr_pool_t *p, const char *id, apr_time_t due,
                           apr_time_t *next)
{
    sse_share_sub *sub = sse_share_join(sh, p, KEY, id, SEC(3), due, next);
    assert_non_null(sub);
    return sub;
}

static apr_pool_t *subpool(void)
{
    apr_pool_t *p;
    apr_pool_create(&p, pool);
    return p;
}

static const sse_share_read *poll_at(sse_share_sub *sub, apr_pool_t *tick, apr_time_t now,
                                     int batch, fake_store *fs, apr_time_t *next)
{
    return sse_share_poll(sub, tick, now, batch, fake_fetch, fs, next);
}

static void streams_of_one_document_share_a_read(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *pa = subpool(), *pb = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), na, nb, next;
    sse_share_sub *a = join(sh, pa, "m1", t0 + SEC(3), &na);
    sse_share_sub *b = join(sh, pb, "m1", t0 + SEC(2), &nb);
    const sse_share_read *ra, *rb;
    sse_share_stats st;

    (void)state;
    assert_true(na == t0 + SEC(3));
    assert_true(nb == na);              /* the entry's due, not its own */
    ra = poll_at(a, tick, na, 100, &fs, &next);
    rb = poll_at(b, tick, na + MS(5), 100, &fs, &next);
    assert_non_null(ra);
    assert_int_equal(fs.batches, 1);
    assert_ptr_equal(ra, rb);
    assert_int_equal(ra->status, FOUND);
    assert_string_equal(ra->version, "v0");
    assert_true(next >= ra->asked_at + SEC(3) && next <= ra->asked_at + SEC(3));
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.subscribers, 2);
    assert_int_equal(st.results, 0);    /* both had it: not kept */

    /* Still in use by the tick pool until it is cleared. */
    apr_pool_clear(tick);
    apr_pool_destroy(pa);
    apr_pool_destroy(pb);
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.subscribers, 0);
    apr_pool_destroy(tick);
}

static void reads_due_together_go_as_one_batch(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *p = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, n1, n2, n3;
    sse_share_sub *s1 = join(sh, p, "a", t0, &n1);
    sse_share_sub *s2 = join(sh, p, "b", t0 + MS(100), &n2);
    sse_share_sub *s3 = join(sh, p, "c", t0 + SEC(2), &n3);
    const sse_share_read *r;

    (void)state;
    /* Three entries, batch 100: half an interval of look-ahead. */
    r = poll_at(s1, tick, t0, 100, &fs, &next);
    assert_non_null(r);
    assert_int_equal(fs.batches, 1);
    assert_string_equal(fs.asked[0], "a b ");
    /* b's stream is handed the read that came with a's, at its own tick. */
    r = poll_at(s2, tick, n2, 100, &fs, &next);
    assert_int_equal(fs.batches, 1);
    assert_string_equal(r->version, "v0");
    /* c was not due within the look-ahead: a read of its own, which takes
     * a and b along (due within half an interval of it), so from then on
     * the three are read together. */
    r = poll_at(s3, tick, n3, 100, &fs, &next);
    assert_int_equal(fs.batches, 2);
    assert_int_equal(fs.sizes[1], 3);
    assert_memory_equal(fs.asked[1], "c ", 2);
    apr_pool_destroy(tick);
    apr_pool_destroy(p);
}

static void a_batch_holds_at_most_batch_ids(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *p = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, due[5];
    sse_share_sub *subs[5];
    const char *ids[5] = { "a", "b", "c", "d", "e" };
    int i, total = 0;

    (void)state;
    for (i = 0; i < 5; i++) subs[i] = join(sh, p, ids[i], t0, &due[i]);
    for (i = 0; i < 5; i++) assert_non_null(poll_at(subs[i], tick, t0, 2, &fs, &next));
    assert_int_equal(fs.batches, 3);
    for (i = 0; i < fs.batches; i++) {
        assert_true(fs.sizes[i] <= 2);
        total += fs.sizes[i];
    }
    assert_int_equal(total, 5);         /* each id once */
    apr_pool_destroy(tick);
    apr_pool_destroy(p);
}

/* 600 streams on each of three documents: a batch brings along no more
 * streams than one burst of ticks should hand a read to (1000). */
static void a_batch_brings_along_a_bounded_number_of_streams(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *p = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, n;
    sse_share_sub *first[3];
    const char *ids[3] = { "a", "b", "c" };
    int i, j;

    (void)state;
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 600; j++) {
            sse_share_sub *sub = join(sh, p, ids[i], t0, &n);
            if (j == 0) first[i] = sub;
        }
    }
    assert_non_null(poll_at(first[0], tick, t0, 100, &fs, &next));
    assert_int_equal(fs.batches, 1);
    assert_int_equal(fs.sizes[0], 1);   /* 600 + 600 > 1000 */
    apr_pool_destroy(tick);
    apr_pool_destroy(p);
}

static void a_read_older_than_an_interval_is_never_used(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *pa = subpool(), *pb = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, na, nb;
    sse_share_sub *a = join(sh, pa, "m", t0, &na);
    sse_share_sub *b = join(sh, pb, "m", t0, &nb);
    const sse_share_read *r;

    (void)state;
    assert_non_null(poll_at(a, tick, t0, 100, &fs, &next));
    /* b stalled past one interval: the kept read is too old for it. */
    r = poll_at(b, tick, t0 + SEC(3) + MS(500), 100, &fs, &next);
    assert_int_equal(fs.batches, 2);
    assert_string_equal(r->version, "v1");
    apr_pool_destroy(tick);
    apr_pool_destroy(pa);
    apr_pool_destroy(pb);
}

static void a_stream_never_gets_a_read_older_than_its_own(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *pa = subpool(), *pb = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, na, nb;
    sse_share_sub *a = join(sh, pa, "m", t0, &na), *b;
    sse_share_sub *c = join(sh, pa, "m", t0, &na);
    const sse_share_read *r;
    sse_share_stats st;

    (void)state;
    assert_non_null(poll_at(a, tick, t0, 100, &fs, &next));
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.results, 1);    /* kept for c */
    /* b joins after that read, with a read of its own: the kept one is
     * older, so b's next poll reads again. */
    b = join(sh, pb, "m", t0 + MS(10), &nb);
    assert_true(nb == next);
    r = poll_at(b, tick, t0 + MS(20), 100, &fs, &next);
    assert_int_equal(fs.batches, 2);
    assert_string_equal(r->version, "v1");
    /* c is handed the newest. */
    r = poll_at(c, tick, t0 + MS(30), 100, &fs, &next);
    assert_int_equal(fs.batches, 2);
    assert_string_equal(r->version, "v1");
    apr_pool_destroy(tick);
    apr_pool_destroy(pa);
    apr_pool_destroy(pb);
}

static void a_kept_read_goes_when_its_last_reader_leaves(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *pa = subpool(), *pb = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, n;
    sse_share_sub *a = join(sh, pa, "m", t0, &n);
    sse_share_stats st;

    (void)state;
    join(sh, pb, "m", t0, &n);
    assert_non_null(poll_at(a, tick, t0, 100, &fs, &next));
    apr_pool_clear(tick);
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.results, 1);
    apr_pool_destroy(pb);               /* b leaves without having used it */
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.results, 0);
    assert_int_equal(st.entries, 1);
    apr_pool_destroy(pa);
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.entries, 0);
    apr_pool_destroy(tick);
}

static void a_stalled_stream_lets_go_of_its_read(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *p = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, n;
    sse_share_sub *a = join(sh, p, "m", t0, &n), *b = join(sh, p, "m", t0, &n);
    const sse_share_read *r;
    sse_share_stats st;

    (void)state;
    assert_non_null(poll_at(a, tick, t0, 100, &fs, &next));
    apr_pool_clear(tick);
    sse_share_pass(b);                  /* behind on its reading */
    sse_share_get_stats(sh, &st);
    assert_int_equal(st.results, 0);
    /* Caught up, it asks for a read newer than the one it let go. */
    r = poll_at(b, tick, t0 + MS(100), 100, &fs, &next);
    assert_int_equal(fs.batches, 2);
    assert_string_equal(r->version, "v1");
    apr_pool_destroy(tick);
    apr_pool_destroy(p);
}

static void missing_and_deleted_documents(void **state)
{
    sse_share *sh = make_share();
    apr_pool_t *p = subpool(), *tick = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), next, n;
    sse_share_sub *a = join(sh, p, "m", t0, &n);
    const sse_share_read *r;

    (void)state;
    fs.missing = 1;
    r = poll_at(a, tick, t0, 100, &fs, &next);
    assert_non_null(r);
    assert_int_equal(r->status, SSE_SHARE_NO_RESULT);
    assert_non_null(r->why);
    fs.missing = 0;
    fs.gone = 1;
    r = poll_at(a, tick, next, 100, &fs, &next);
    assert_int_equal(r->status, NOT_FOUND);
    assert_null(r->stored);
    apr_pool_destroy(tick);
    apr_pool_destroy(p);
}

/* Streams of one document ticked by several workers at once. */
typedef struct {
    sse_share *sh;
    sse_share_sub *sub;
    fake_store *fs;
    apr_time_t at;
    char version[16];
} poller;

static void *APR_THREAD_FUNC poll_thread(apr_thread_t *t, void *data)
{
    poller *pl = data;
    apr_pool_t *tick;
    apr_time_t next;
    const sse_share_read *r;

    apr_pool_create_unmanaged_ex(&tick, NULL, NULL);
    r = sse_share_poll(pl->sub, tick, pl->at, 100, fake_fetch, pl->fs, &next);
    apr_cpystrn(pl->version, r ? r->version : "none", sizeof(pl->version));
    apr_pool_destroy(tick);
    (void)t;
    return NULL;
}

static void concurrent_polls_make_one_read(void **state)
{
    enum { N = 8 };
    sse_share *sh = make_share();
    apr_pool_t *p = subpool();
    fake_store fs = { 0 };
    apr_time_t t0 = apr_time_now(), n;
    poller pl[N];
    apr_thread_t *th[N];
    apr_status_t rv;
    int i;

    (void)state;
    fs.slow = MS(50);
    for (i = 0; i < N; i++) {
        pl[i].sh = sh;
        pl[i].sub = join(sh, p, "m", t0, &n);
        pl[i].fs = &fs;
        pl[i].at = t0;
        pl[i].version[0] = '\0';
    }
    for (i = 0; i < N; i++) apr_thread_create(&th[i], NULL, poll_thread, &pl[i], pool);
    for (i = 0; i < N; i++) apr_thread_join(&rv, th[i]);
    assert_int_equal(fs.batches, 1);
    for (i = 0; i < N; i++) assert_string_equal(pl[i].version, "v0");
    apr_pool_destroy(p);
}

static void id_keys_match_as_the_store_does(void **state)
{
    bson_t *doc = BCON_NEW("s", BCON_UTF8("5"), "i32", BCON_INT32(5), "i64", BCON_INT64(5),
                           "d", BCON_DOUBLE(5.0), "half", BCON_DOUBLE(5.5),
                           "big", BCON_DOUBLE(1e300), "t", BCON_BOOL(true));
    bson_iter_t it;
    apr_size_t len, l2;
    const char *k_i32 = NULL, *k_i64 = NULL, *k_d = NULL, *k_s = NULL, *k;
    bson_oid_t oid;

    (void)state;
    assert_true(bson_iter_init(&it, doc));
    while (bson_iter_next(&it)) {
        const char *name = bson_iter_key(&it);
        k = sse_query_value_key(pool, &it, &len);
        if (!strcmp(name, "s")) k_s = k;
        else if (!strcmp(name, "i32")) k_i32 = k;
        else if (!strcmp(name, "i64")) k_i64 = k;
        else if (!strcmp(name, "d")) k_d = k;
        else assert_null(k);            /* 5.5, 1e300 and a bool are never ids */
    }
    assert_string_equal(k_i32, k_i64);
    assert_string_equal(k_i32, k_d);
    assert_string_not_equal(k_s, k_i32);

    /* "5" and "05" as int ids are one number; as strings they are not. */
    assert_string_equal(sse_query_id_key(pool, SSE_ID_INT, "05", &len), k_i32);
    assert_string_equal(sse_query_id_key(pool, SSE_ID_INT, "5", &len), k_i32);
    assert_string_equal(sse_query_id_key(pool, SSE_ID_STRING, "5", &len), k_s);
    assert_string_not_equal(sse_query_id_key(pool, SSE_ID_STRING, "05", &len), k_s);
    assert_null(sse_query_id_key(pool, SSE_ID_INT, "5x", &len));
    assert_null(sse_query_id_key(pool, SSE_ID_OBJECTID, "m1", &len));

    /* Auto: 24 hex characters are an ObjectId, with its 12 bytes. */
    k = sse_query_id_key(pool, SSE_UNSET, "65a1b2c3d4e5f60718293a4b", &len);
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    assert_int_equal(len, 13);
    assert_memory_equal(k + 1, oid.bytes, 12);
    assert_true(sse_query_id_key(pool, SSE_ID_STRING, "65a1b2c3d4e5f60718293a4b", &l2) != NULL);
    assert_int_not_equal(l2, len);
    bson_destroy(doc);
}

static void heap_remove_takes_any_node_out(void **state)
{
    sse_heap h;
    sse_heap_node n[6];
    apr_time_t dues[6] = { 50, 10, 40, 20, 60, 30 };
    apr_time_t last = 0;
    int i;

    (void)state;
    sse_heap_init(&h);
    for (i = 0; i < 6; i++) {
        n[i].due = dues[i];
        assert_true(sse_heap_push(&h, &n[i]));
    }
    sse_heap_remove(&h, &n[2]);         /* 40, from the middle */
    assert_false(n[2].in_heap);
    assert_true(n[2].due == 40);        /* kept */
    assert_int_equal(h.len, 5);
    while (h.len) {
        sse_heap_node *top = sse_heap_pop(&h);
        assert_true(top != &n[2] && top->due >= last);
        last = top->due;
    }
    sse_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(streams_of_one_document_share_a_read, clear_pool),
        cmocka_unit_test_teardown(reads_due_together_go_as_one_batch, clear_pool),
        cmocka_unit_test_teardown(a_batch_holds_at_most_batch_ids, clear_pool),
        cmocka_unit_test_teardown(a_batch_brings_along_a_bounded_number_of_streams, clear_pool),
        cmocka_unit_test_teardown(a_read_older_than_an_interval_is_never_used, clear_pool),
        cmocka_unit_test_teardown(a_stream_never_gets_a_read_older_than_its_own, clear_pool),
        cmocka_unit_test_teardown(a_kept_read_goes_when_its_last_reader_leaves, clear_pool),
        cmocka_unit_test_teardown(a_stalled_stream_lets_go_of_its_read, clear_pool),
        cmocka_unit_test_teardown(missing_and_deleted_documents, clear_pool),
        cmocka_unit_test_teardown(concurrent_polls_make_one_read, clear_pool),
        cmocka_unit_test_teardown(id_keys_match_as_the_store_does, clear_pool),
        cmocka_unit_test_teardown(heap_remove_takes_any_node_out, clear_pool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
