/* test_heap.c: the scheduler's min-heap (mod_sse/sse_heap.c) driven by a fake
 * clock: streams come out in deadline order, a re-armed one goes back in its
 * place, one made due early (a hang-up) moves to the top in place, and a
 * push the array cannot take (a bound, or realloc failing) leaves the heap
 * as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sse_heap.h"

/* A fake stream: a node and the ticks it has had. */
typedef struct {
    sse_heap_node node;
    int ticks;
    int rearm;          /* ticks before it is done */
} fake_stream;

#define FAKE(n) ((fake_stream *)(void *)((char *)(n) - offsetof(fake_stream, node)))

/* Every index a node believes it has is the one it is at, and no parent is
 * later than its child. */
static void assert_heap_ok(const sse_heap *h)
{
    apr_size_t i;

    for (i = 0; i < h->len; i++) {
        assert_int_equal(h->v[i]->at, i);
        assert_true(h->v[i]->in_heap);
        if (i) {
            assert_true(h->v[(i - 1) / 2]->due <= h->v[i]->due);
        }
    }
}

static void pops_in_deadline_order(void **state)
{
    static const apr_time_t dues[] = { 50, 10, 40, 10, 30, 70, 20, 60, 0, 90 };
    fake_stream f[10];
    sse_heap h;
    apr_time_t last = -1;
    int i;

    sse_heap_init(&h);
    assert_null(sse_heap_top(&h));
    for (i = 0; i < 10; i++) {
        f[i].node.due = dues[i];
        assert_true(sse_heap_push(&h, &f[i].node));
        assert_heap_ok(&h);
    }
    assert_int_equal(h.len, 10);
    assert_int_equal(sse_heap_top(&h)->due, 0);
    for (i = 0; i < 10; i++) {
        sse_heap_node *n = sse_heap_pop(&h);
        assert_false(n->in_heap);
        assert_true(n->due >= last);
        last = n->due;
        assert_heap_ok(&h);
    }
    assert_null(sse_heap_top(&h));
    sse_heap_free(&h);
}

/* The scheduler's loop with a fake clock: each due stream ticks, and is
 * pushed back at now + its interval until it is done. */
static void rearmed_streams_tick_on_time(void **state)
{
    static const apr_time_t every[] = { 3, 5, 7 };
    fake_stream f[3];
    sse_heap h;
    apr_time_t now;
    int i;

    sse_heap_init(&h);
    for (i = 0; i < 3; i++) {
        f[i].node.due = every[i];
        f[i].ticks = 0;
        f[i].rearm = 4;
        assert_true(sse_heap_push(&h, &f[i].node));
    }
    for (now = 0; now <= 100 && sse_heap_top(&h); now++) {
        while (sse_heap_top(&h) && sse_heap_top(&h)->due <= now) {
            fake_stream *s = FAKE(sse_heap_pop(&h));
            assert_int_equal(s->node.due, now);          /* never late, never early */
            if (++s->ticks < s->rearm) {
                s->node.due = now + every[s - f];
                assert_true(sse_heap_push(&h, &s->node));
            }
            assert_heap_ok(&h);
        }
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(f[i].ticks, 4);
    }
    assert_int_equal(h.len, 0);
    /* The last tick of the slowest stream: 7 * 4. */
    assert_int_equal(now, 7 * 4 + 1);
    sse_heap_free(&h);
}

/* A hang-up (or a graceful stop) makes a stream due now: it moves to the
 * top in place and the others keep their order. */
static void sooner_moves_to_top(void **state)
{
    fake_stream f[64];
    sse_heap h;
    int i;

    sse_heap_init(&h);
    for (i = 0; i < 64; i++) {
        f[i].node.due = 1000 + i * 10;
        assert_true(sse_heap_push(&h, &f[i].node));
    }
    sse_heap_sooner(&h, &f[50].node, 0);
    assert_heap_ok(&h);
    assert_ptr_equal(sse_heap_top(&h), &f[50].node);
    /* A later deadline does not move it back down. */
    sse_heap_sooner(&h, &f[50].node, 5000);
    assert_int_equal(f[50].node.due, 0);
    assert_ptr_equal(sse_heap_pop(&h), &f[50].node);
    assert_ptr_equal(sse_heap_pop(&h), &f[0].node);
    assert_ptr_equal(sse_heap_pop(&h), &f[1].node);
    assert_heap_ok(&h);
    sse_heap_free(&h);
}

/* Stop: everything is taken out at once, earliest first, and the heap can
 * be freed with nothing in it. */
static void stop_drains_everything(void **state)
{
    fake_stream f[100];
    sse_heap h;
    apr_time_t last = 0;
    int i, n = 0;

    sse_heap_init(&h);
    for (i = 0; i < 100; i++) {
        f[i].node.due = (i * 37) % 100;
        assert_true(sse_heap_push(&h, &f[i].node));
    }
    while (sse_heap_top(&h)) {
        sse_heap_node *node = sse_heap_pop(&h);
        assert_true(node->due >= last);
        last = node->due;
        n++;
    }
    assert_int_equal(n, 100);
    for (i = 0; i < 100; i++) {
        assert_false(f[i].node.in_heap);
    }
    sse_heap_free(&h);
    assert_null(h.v);
}

/* A bound reached: the push is refused, the node stays out and the heap is
 * unchanged; after a pop there is room again. */
static void push_refused_at_bound(void **state)
{
    fake_stream f[4];
    sse_heap h;
    int i;

    sse_heap_init(&h);
    h.max = 3;
    for (i = 0; i < 3; i++) {
        f[i].node.due = 30 - i;
        f[i].node.in_heap = 0;
        assert_true(sse_heap_push(&h, &f[i].node));
    }
    f[3].node.due = 1;
    f[3].node.in_heap = 0;
    assert_false(sse_heap_push(&h, &f[3].node));
    assert_false(f[3].node.in_heap);
    assert_int_equal(h.len, 3);
    assert_int_equal(sse_heap_top(&h)->due, 28);
    assert_heap_ok(&h);
    sse_heap_pop(&h);
    assert_true(sse_heap_push(&h, &f[3].node));
    assert_int_equal(sse_heap_top(&h)->due, 1);
    sse_heap_free(&h);
}

/* realloc failing when the array must grow: the same refusal, and the
 * nodes already in are untouched. */
static int grow_calls;
static void *failing_grow(void *old, size_t size)
{
    grow_calls++;
    return grow_calls == 1 ? realloc(old, size) : NULL;
}

static void push_refused_when_realloc_fails(void **state)
{
    static fake_stream f[1025];
    sse_heap h;
    int i;

    grow_calls = 0;
    sse_heap_init(&h);
    h.grow = failing_grow;
    for (i = 0; i < 1024; i++) {     /* the first array holds 1024 */
        f[i].node.due = 2048 - i;
        assert_true(sse_heap_push(&h, &f[i].node));
    }
    assert_int_equal(grow_calls, 1);
    f[1024].node.due = 0;
    f[1024].node.in_heap = 0;
    assert_false(sse_heap_push(&h, &f[1024].node));
    assert_int_equal(grow_calls, 2);
    assert_false(f[1024].node.in_heap);
    assert_int_equal(h.len, 1024);
    assert_int_equal(sse_heap_top(&h)->due, 2048 - 1023);
    assert_heap_ok(&h);
    sse_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pops_in_deadline_order),
        cmocka_unit_test(rearmed_streams_tick_on_time),
        cmocka_unit_test(sooner_moves_to_top),
        cmocka_unit_test(stop_drains_everything),
        cmocka_unit_test(push_refused_at_bound),
        cmocka_unit_test(push_refused_when_realloc_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
