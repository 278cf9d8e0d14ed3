/*
 * timer_queue.c - two intrusive binary min-heaps over the same nodes.
 *
 * Heap 0 orders by (due, seq): the root is the next timer to fire, and seq
 * (arm order) makes equal due times fire in the order they were armed (SPEC
 * S8). Heap 1 orders by (deadline, seq): its root bounds how long a
 * dispatcher may sleep before some window closes. Positions are stored in
 * the node, 1-based, so removal of any node is O(log n) with no search.
 */
#include "timer_queue.h"

#include "alloc.h"

#include <stddef.h>

static uint64_t key(const stq_node *n, int which)
{
    return which == 0 ? n->due : n->deadline;
}

static bool before(const stq_node *a, const stq_node *b, int which)
{
    uint64_t ka = key(a, which), kb = key(b, which);
    return ka != kb ? ka < kb : a->seq < b->seq;
}

static void place(stq *q, int which, uint32_t pos, stq_node *n)
{
    q->heap[which][pos - 1] = n;
    n->pos[which] = pos;
}

static void sift_up(stq *q, int which, uint32_t pos)
{
    stq_node *n = q->heap[which][pos - 1];
    while (pos > 1) {
        stq_node *parent = q->heap[which][pos / 2 - 1];
        if (!before(n, parent, which))
            break;
        place(q, which, pos, parent);
        pos /= 2;
    }
    place(q, which, pos, n);
}

static void sift_down(stq *q, int which, uint32_t pos)
{
    stq_node *n = q->heap[which][pos - 1];
    for (;;) {
        uint32_t child = pos * 2;
        if (child > q->count)
            break;
        if (child < q->count &&
            before(q->heap[which][child], q->heap[which][child - 1], which))
            child++;
        if (!before(q->heap[which][child - 1], n, which))
            break;
        place(q, which, pos, q->heap[which][child - 1]);
        pos = child;
    }
    place(q, which, pos, n);
}

void stq_init(stq *q)
{
    q->heap[0] = q->heap[1] = NULL;
    q->count = q->capacity = 0;
}

void stq_free(stq *q)
{
    st_free(q->heap[0]);
    st_free(q->heap[1]);
    stq_init(q);
}

bool stq_reserve(stq *q, uint32_t capacity)
{
    if (capacity <= q->capacity)
        return true;
    uint32_t grown = q->capacity ? q->capacity : 8;
    while (grown < capacity)
        grown = grown > UINT32_MAX / 2 ? capacity : grown * 2;
    for (int which = 0; which < 2; which++) {
        stq_node **bigger = st_realloc(q->heap[which], (size_t)grown * sizeof *bigger);
        if (!bigger)
            return false; /* the arrays grown so far are merely larger: harmless */
        q->heap[which] = bigger;
    }
    q->capacity = grown;
    return true;
}

void stq_insert(stq *q, stq_node *node)
{
    q->count++;
    for (int which = 0; which < 2; which++) {
        place(q, which, q->count, node);
        sift_up(q, which, q->count);
    }
}

void stq_remove(stq *q, stq_node *node)
{
    uint32_t last_pos = q->count--;
    for (int which = 0; which < 2; which++) {
        uint32_t pos = node->pos[which];
        stq_node *last = q->heap[which][last_pos - 1];
        node->pos[which] = 0;
        if (pos == last_pos)
            continue;
        place(q, which, pos, last);
        /* The node moved into the hole may belong above or below it. */
        if (pos > 1 && before(last, q->heap[which][pos / 2 - 1], which))
            sift_up(q, which, pos);
        else
            sift_down(q, which, pos);
    }
}

stq_node *stq_first(const stq *q)
{
    return q->count ? q->heap[0][0] : NULL;
}

stq_node *stq_first_by_deadline(const stq *q)
{
    return q->count ? q->heap[1][0] : NULL;
}

bool stq_check(const stq *q)
{
    if (q->count > q->capacity)
        return false;
    for (int which = 0; which < 2; which++) {
        for (uint32_t pos = 1; pos <= q->count; pos++) {
            const stq_node *n = q->heap[which][pos - 1];
            if (n->pos[which] != pos || n->due > n->deadline)
                return false;
            if (pos > 1 && before(n, q->heap[which][pos / 2 - 1], which))
                return false;
        }
    }
    return true;
}
