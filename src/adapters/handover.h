/*
 * handover.h - arms made above DISPATCH_LEVEL, waiting to be applied
 * (SPEC S5.7): a bounded multi-producer queue, one per adapter.
 *
 * Producers take no lock and allocate nothing (they may run in a signal
 * handler): a producer claims a cell by advancing the tail, fills it, then
 * publishes it by setting its turn. The consumer, whoever holds the
 * adapter lock, takes cells in order and stops at the first one not yet
 * published. A reserved cell must be published, with a NULL timer when the
 * request was refused, or every cell behind it waits for ever.
 */
#ifndef STORTIMER_ADAPTERS_HANDOVER_H
#define STORTIMER_ADAPTERS_HANDOVER_H

#include "adapters/request.h"

#include <stdatomic.h>
#include <stdbool.h>

#define ST_HANDOVER_SLOTS 256u
_Static_assert((ST_HANDOVER_SLOTS & (ST_HANDOVER_SLOTS - 1)) == 0,
               "tickets wrap at 2^64: the cells must divide it");

typedef struct st_handover {
    _Atomic uint64_t turn;           /* ticket + 1 when published */
    st_request request;
} st_handover;

typedef struct st_handover_queue {
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint64_t head;           /* read lock-free: is anything queued? */
    /* Requests on the hand-over path (arms and cancels) begun and ended:
     * while they differ, one changes state that no lock guards. */
    _Atomic uint64_t begun, ended;
    st_handover cells[ST_HANDOVER_SLOTS];
} st_handover_queue;

/* An empty queue (once, when the adapter slot is made). */
void st_handover_init(st_handover_queue *q);

/* Reserves a cell; NULL when the queue is full. Lock-free. */
st_handover *st_handover_reserve(st_handover_queue *q, uint64_t *ticket);

/* Publishes a reserved cell with its request (timer NULL: refused). */
void st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request);

/* The cell of a ticket. */
static inline uint32_t st_handover_index(uint64_t ticket)
{
    return (uint32_t)(ticket % ST_HANDOVER_SLOTS);
}

/* Whether the cell holds the published request of `ticket` (its turn is
 * ticket + 1 from st_handover_publish until st_handover_take). */
static inline bool st_handover_is_published(const st_handover *cell, uint64_t ticket)
{
    return atomic_load_explicit(&cell->turn, memory_order_acquire) == ticket + 1;
}

/* Takes the next published request; false when none is (consumer only:
 * the adapter lock's holder; inline, every look at an adapter asks). */
static inline bool st_handover_take(st_handover_queue *q, st_request *request)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    st_handover *cell = &q->cells[st_handover_index(head)];
    if (!st_handover_is_published(cell, head))
        return false;
    *request = cell->request;
    atomic_store_explicit(&cell->turn, head + ST_HANDOVER_SLOTS, memory_order_release);
    atomic_store_explicit(&q->head, head + 1, memory_order_relaxed);
    return true;
}

/* Whether the next cell to take is published: st_handover_take would take
 * it. For the consumer, to skip the take when there is nothing. */
static inline bool st_handover_ready(const st_handover_queue *q)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    return st_handover_is_published(&q->cells[st_handover_index(head)], head);
}

/* Whether cells wait to be taken (published or not). Lock-free, a hint. */
static inline bool st_handover_waiting(const st_handover_queue *q)
{
    return atomic_load_explicit(&q->tail, memory_order_relaxed) !=
           atomic_load_explicit(&q->head, memory_order_relaxed);
}

/* A request on the hand-over path begins and ends (any IRQL, lock-free). */
void st_handover_begin(st_handover_queue *q);
void st_handover_end(st_handover_queue *q);

/* Waits until no request is on the hand-over path (they are lock-free and
 * short). For a removal: once the handles are dead, none that follows can
 * claim anything, and those under way have counted what they did. */
void st_handover_wait_quiet(const st_handover_queue *q);

/* For the adapter checker: a mark taken before a look, and whether no
 * request was on the hand-over path at any time since the mark. */
typedef struct st_handover_mark {
    uint64_t begun, ended;
} st_handover_mark;
st_handover_mark st_handover_mark_now(const st_handover_queue *q);
bool st_handover_quiet_since(const st_handover_queue *q, st_handover_mark mark);

/* Calls visit on each published request not yet taken, in order. For the
 * adapter checker: the consumer's lock held, producers quiet. */
void st_handover_visit(const st_handover_queue *q,
                       void (*visit)(const st_request *request, void *ctx), void *ctx);

#endif
