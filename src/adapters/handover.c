/* handover.c - the lock-free hand-over queue (handover.h). */
#include "adapters/handover.h"

#include "platform/os.h"

void st_handover_init(st_handover_queue *q)
{
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    atomic_init(&q->begun, 0);
    atomic_init(&q->ended, 0);
    for (uint32_t i = 0; i < ST_HANDOVER_SLOTS; i++)
        atomic_init(&q->cells[i].turn, i);
}

st_handover *st_handover_reserve(st_handover_queue *q, uint64_t *ticket)
{
    uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        st_handover *cell = &q->cells[st_handover_index(pos)];
        uint64_t turn = atomic_load_explicit(&cell->turn, memory_order_acquire);
        int64_t lag = (int64_t)(turn - pos);
        if (lag == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *ticket = pos;
                return cell;
            }
        } else if (lag < 0) {
            return NULL; /* full: the consumer has not freed this cell yet */
        } else {
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
}

void st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request)
{
    cell->request = *request;
    atomic_store_explicit(&cell->turn, ticket + 1, memory_order_release);
}

void st_handover_begin(st_handover_queue *q)
{
    atomic_fetch_add(&q->begun, 1);
}

void st_handover_end(st_handover_queue *q)
{
    atomic_fetch_add(&q->ended, 1);
}

void st_handover_wait_quiet(const st_handover_queue *q)
{
    while (atomic_load(&q->begun) != atomic_load(&q->ended))
        st_os_yield();
}

st_handover_mark st_handover_mark_now(const st_handover_queue *q)
{
    st_handover_mark mark;
    mark.ended = atomic_load(&q->ended);
    mark.begun = atomic_load(&q->begun);
    return mark;
}

bool st_handover_quiet_since(const st_handover_queue *q, st_handover_mark mark)
{
    /* Nothing in flight at the mark, and nothing begun since. */
    return mark.begun == mark.ended && atomic_load(&q->begun) == mark.begun;
}

void st_handover_visit(const st_handover_queue *q,
                       void (*visit)(const st_request *request, void *ctx), void *ctx)
{
    uint64_t tail = atomic_load(&q->tail);
    for (uint64_t t = atomic_load(&q->head); t != tail; t++) {
        const st_handover *cell = &q->cells[st_handover_index(t)];
        if (!st_handover_is_published(cell, t))
            return; /* reserved, not yet published */
        visit(&cell->request, ctx);
    }
}
