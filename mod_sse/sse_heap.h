/* sse_heap.h: a min-heap of deadlines, pure (no httpd, no threads), for the
 * scheduler. Nodes are embedded in their owner's struct and know their own
 * index, so a node can be moved up in place when it becomes due earlier.
 * The caller does the locking. */
#ifndef SSE_HEAP_H
#define SSE_HEAP_H

#include <stddef.h>

#include "apr_time.h"

typedef struct {
    apr_time_t due;
    apr_size_t at;          /* its index while in_heap */
    int in_heap;
} sse_heap_node;

typedef struct {
    sse_heap_node **v;      /* malloc'ed (through grow) */
    apr_size_t len, cap;
    apr_size_t max;         /* most nodes it may hold; 0 = no bound */
    void *(*grow)(void *old, size_t size);  /* realloc unless set */
} sse_heap;

/* An empty heap that grows with realloc and has no bound. */
void sse_heap_init(sse_heap *h);

/* Frees the array; the nodes belong to their owners. */
void sse_heap_free(sse_heap *h);

/* Adds n at n->due. Returns 0, with n left out, when the array cannot grow
 * (out of memory, or h->max reached). */
int sse_heap_push(sse_heap *h, sse_heap_node *n);

/* The earliest node, or NULL when empty. */
sse_heap_node *sse_heap_top(const sse_heap *h);

/* Takes the earliest node out; the heap must not be empty. */
sse_heap_node *sse_heap_pop(sse_heap *h);

/* A node in the heap is due at `due` (no later than it was): moved up in
 * place. */
void sse_heap_sooner(sse_heap *h, sse_heap_node *n, apr_time_t due);

/* Takes a node in the heap out, wherever it is; its due is unchanged. */
void sse_heap_remove(sse_heap *h, sse_heap_node *n);

#endif
