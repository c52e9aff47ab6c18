/* sse_heap.c: the scheduler's min-heap of deadlines (see sse_heap.h). Pure,
 * so a unit test drives it with a fake clock and a failing allocator. */
#include <stdlib.h>

#include "sse_heap.h"

#define FIRST_CAP 1024

void sse_heap_init(sse_heap *h)
{
    h->v = NULL;
    h->len = h->cap = h->max = 0;
    h->grow = NULL;
}

void sse_heap_free(sse_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->len = h->cap = 0;
}

static void place(sse_heap *h, apr_size_t i, sse_heap_node *n)
{
    h->v[i] = n;
    n->at = i;
}

/* Moves v[i] up to where its due belongs. */
static void sift_up(sse_heap *h, apr_size_t i)
{
    sse_heap_node *n = h->v[i];

    while (i > 0) {
        apr_size_t parent = (i - 1) / 2;
        if (h->v[parent]->due <= n->due) {
            break;
        }
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, n);
}

int sse_heap_push(sse_heap *h, sse_heap_node *n)
{
    if (h->max && h->len >= h->max) {
        return 0;
    }
    if (h->len == h->cap) {
        apr_size_t cap = h->cap ? h->cap * 2 : FIRST_CAP;
        sse_heap_node **grown;

        if (h->max && cap > h->max) {
            cap = h->max;
        }
        grown = (h->grow ? h->grow : realloc)(h->v, cap * sizeof(*grown));
        if (!grown) {
            return 0;
        }
        h->v = grown;
        h->cap = cap;
    }
    h->v[h->len] = n;
    n->in_heap = 1;
    sift_up(h, h->len++);
    return 1;
}

sse_heap_node *sse_heap_top(const sse_heap *h)
{
    return h->len ? h->v[0] : NULL;
}

sse_heap_node *sse_heap_pop(sse_heap *h)
{
    sse_heap_node *top = h->v[0], *last = h->v[--h->len];
    apr_size_t i = 0;

    for (;;) {
        apr_size_t child = 2 * i + 1;
        if (child >= h->len) {
            break;
        }
        if (child + 1 < h->len && h->v[child + 1]->due < h->v[child]->due) {
            child++;
        }
        if (last->due <= h->v[child]->due) {
            break;
        }
        place(h, i, h->v[child]);
        i = child;
    }
    if (h->len) {
        place(h, i, last);
    }
    top->in_heap = 0;
    return top;
}

void sse_heap_sooner(sse_heap *h, sse_heap_node *n, apr_time_t due)
{
    if (due < n->due) {
        n->due = due;
    }
    sift_up(h, n->at);
}

void sse_heap_remove(sse_heap *h, sse_heap_node *n)
{
    apr_time_t due = n->due;

    /* Up to the top past every other node, then out; its deadline is kept. */
    n->due = APR_INT64_MIN;
    sift_up(h, n->at);
    sse_heap_pop(h);
    n->due = due;
}
