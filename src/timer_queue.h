/*
 * timer_queue.h - the timer data structure, pure.
 *
 * No threads, no clock, no locks: the caller says what time a timer is due
 * and asks which timer comes first. Each queued node carries a window
 * [due, deadline]; the queue orders nodes by (due, seq) for firing and keeps
 * the smallest deadline at hand so a dispatcher can sleep as long as every
 * window allows (coalescing).
 *
 * This foundation uses two binary heaps (O(log n) insert and remove); the
 * interface is small so that a timing wheel can replace it without touching
 * the callers.
 */
#ifndef STORTIMER_TIMER_QUEUE_H
#define STORTIMER_TIMER_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Embed one in each timer; the queue never allocates nodes. */
typedef struct stq_node {
    uint64_t due;        /* window opens: never fire before this */
    uint64_t deadline;   /* window closes: due + tolerable delay */
    uint64_t seq;        /* arm order: breaks ties between equal due times */
    uint32_t pos[2];     /* 1-based heap positions; 0 when not queued */
} stq_node;

typedef struct stq {
    stq_node **heap[2];  /* [0] ordered by due, [1] by deadline */
    uint32_t count;
    uint32_t capacity;
} stq;

/* An empty queue that holds nothing until stq_reserve. */
void stq_init(stq *q);

/* Frees the queue's arrays; the nodes are the caller's. */
void stq_free(stq *q);

/*
 * Makes room for `capacity` nodes so that stq_insert never allocates.
 * Returns false when memory is short (the queue is unchanged).
 */
bool stq_reserve(stq *q, uint32_t capacity);

/* Queues a node that is not queued; the caller has reserved room for it. */
void stq_insert(stq *q, stq_node *node);

/* Unqueues a queued node. */
void stq_remove(stq *q, stq_node *node);

/* True while the node is in a queue. */
static inline bool stq_queued(const stq_node *node) { return node->pos[0] != 0; }

/* The node to fire first: smallest due, then smallest seq. NULL if empty. */
stq_node *stq_first(const stq *q);

/* The node whose window closes first: smallest deadline, then seq. NULL if
 * empty. */
stq_node *stq_first_by_deadline(const stq *q);

/* Checks every heap invariant; returns false on the first broken one. */
bool stq_check(const stq *q);

#endif /* STORTIMER_TIMER_QUEUE_H */
