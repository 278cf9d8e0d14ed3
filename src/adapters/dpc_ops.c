/* dpc_ops.c - initializing and issuing DPCs (dpc_ops.h, SPEC S14). */
#include "adapters/dpc_ops.h"

#include "adapters/events.h"

/* Records a DPC event (the log is on). */
ST_LOG_PATH static void log_dpc(st_adapter *a, stortimer_event_type type, const st_dpc *dpc,
                                 PHW_DPC_ROUTINE routine, void *argument1, void *argument2,
                                 uint64_t due)
{
    st_log_record(a, &(stortimer_event){
        .type = type, .extension = st_adapter_extension(a), .dpc = (void *)dpc->address,
        .dpc_routine = routine, .argument1 = argument1, .argument2 = argument2, .due = due,
    });
}

/* ---- initializing (S14.3) ---- */

typedef struct foreign_search {
    const st_adapter *self;
    const void *address;
    bool found;
} foreign_search;

/* Whether another live adapter has a DPC at the address: its table is read
 * lock-free, inside its hand-over bracket, so its removal waits for us. */
static void look_in(st_adapter *a, void *ctx)
{
    foreign_search *search = ctx;
    if (a == search->self || search->found)
        return;
    st_handover_begin(&a->handover);
    search->found = st_adapter_live(a) && st_dpcs_find(&a->dpcs, search->address);
    st_handover_end(&a->handover);
}

static bool foreign(const st_adapter *a, const void *address)
{
    foreign_search search = {a, address, false};
    st_adapter_visit_slots(look_in, &search);
    return search.found;
}

st_outcome st_dpc_initialize(const st_adapter_ref *ref, const void *address,
                             PHW_DPC_ROUTINE routine)
{
    st_adapter *a = ref->adapter;
    if (foreign(a, address))
        return ST_FOREIGN;                                                 /* S14.3 (3) */
    if (!st_adapter_lock(ref))
        return ST_NO_ADAPTER;
    st_outcome outcome = ST_DONE;
    st_dpc *dpc = st_dpcs_find(&a->dpcs, address);
    if (dpc && (atomic_load(&dpc->queued) || dpc->running))
        outcome = ST_BUSY;                                                 /* S14.3 (4) */
    else if (dpc)
        dpc->routine = routine;
    else if (!(dpc = st_dpcs_add(&a->dpcs, a, address, routine)))
        outcome = ST_NO_MEMORY;                                            /* S14.3 (5) */
    if (outcome == ST_DONE) {
        ST_COUNT(&a->stats, dpcs_initialized, 1);
        if (st_logging())
            log_dpc(a, STORTIMER_EVENT_DPC_INITIALIZED, dpc, routine, NULL, NULL, 0);
    }
    st_adapter_unlock(a);
    return outcome;
}

/* ---- issuing (S14.4, S14.5) ---- */

/* Claims the DPC for this issue: false if it is queued already. */
static bool claim(st_dpc *dpc)
{
    bool idle = false;
    return atomic_compare_exchange_strong(&dpc->queued, &idle, true);
}

/* Fills the issue into a claimed DPC: its arguments, time and order. */
static void fill_issue(st_adapter *a, st_dpc *dpc, void *argument1, void *argument2,
                       uint64_t now)
{
    dpc->argument1 = argument1;
    dpc->argument2 = argument2;
    dpc->due = now;
    dpc->order = st_adapter_take_order(a);
}

/* Counts and records an issue's answer. */
static st_outcome answer_issue(st_adapter *a, const st_dpc *dpc, bool queued, void *argument1,
                         void *argument2, uint64_t now)
{
    if (queued)
        ST_COUNT(&a->stats, dpcs_issued, 1);
    else
        ST_COUNT(&a->stats, dpcs_already_queued, 1);
    if (st_logging())
        log_dpc(a, queued ? STORTIMER_EVENT_DPC_ISSUED : STORTIMER_EVENT_DPC_QUEUED_ALREADY,
                dpc, dpc->routine, argument1, argument2, now);
    return queued ? ST_DONE : ST_BUSY;
}

/* Above DISPATCH_LEVEL: no lock, no allocation; the queuing is handed over
 * in the order of the call (S14.5). Inside the hand-over bracket. */
static st_outcome issue_handed_over(st_adapter *a, uint64_t serial, const void *address,
                                    void *argument1, void *argument2, uint64_t now)
{
    if (!st_adapter_is(a, serial))
        return ST_NO_ADAPTER;                                              /* S14.4 (3) */
    st_dpc *dpc = st_dpcs_find(&a->dpcs, address);
    if (!dpc)
        return ST_NOT_HERE;                                                /* S14.4 (2) */
    /* Queued already: answered without a cell, so that an interrupt storm
     * on a queued DPC does not fill the queue with no-ops (S14.4 (4)). */
    if (atomic_load(&dpc->queued))
        return answer_issue(a, dpc, false, argument1, argument2, now);
    uint64_t ticket;
    st_handover *cell = st_handover_reserve(&a->handover, &ticket);
    if (!cell)
        return ST_QUEUE_FULL;
    st_request request = {.kind = ST_REQUEST_TIMER}; /* a no-op, unless claimed */
    bool queued = claim(dpc);
    if (queued) {
        fill_issue(a, dpc, argument1, argument2, now);
        request = (st_request){.kind = ST_REQUEST_DPC, .dpc = dpc};
    }
    st_outcome outcome = answer_issue(a, dpc, queued, argument1, argument2, now);
    st_handover_publish(cell, ticket, &request);
    st_doorbell_ring(&a->doorbell);
    return outcome;
}

st_outcome st_dpc_issue_handed_over(const st_adapter_ref *ref, const void *address,
                                    void *argument1, void *argument2, uint64_t now)
{
    st_adapter *a = ref->adapter;
    st_handover_begin(&a->handover);
    st_outcome outcome = issue_handed_over(a, ref->serial, address, argument1, argument2, now);
    st_handover_end(&a->handover);
    return outcome;
}

st_outcome st_dpc_issue_locked(st_adapter *a, const void *address, void *argument1,
                               void *argument2, uint64_t now)
{
    st_dpc *dpc = st_dpcs_find(&a->dpcs, address);
    if (!dpc)
        return ST_NOT_HERE;
    bool queued = claim(dpc);
    if (queued) {
        fill_issue(a, dpc, argument1, argument2, now);
        st_dpcs_enqueue(&a->dpcs, dpc);
    }
    return answer_issue(a, dpc, queued, argument1, argument2, now);
}

void st_dpc_apply_issue(st_adapter *a, st_dpc *dpc)
{
    st_dpcs_enqueue(&a->dpcs, dpc);
}

/* ---- locks (S14.12) ---- */

bool st_dpc_known(const st_adapter_ref *ref, const void *address)
{
    st_adapter *a = ref->adapter;
    st_handover_begin(&a->handover);
    bool known = st_adapter_is(a, ref->serial) && st_dpcs_find(&a->dpcs, address);
    st_handover_end(&a->handover);
    return known;
}

st_lock *st_dpc_acquire_lock(const st_adapter_ref *ref, const void *address, st_dpc **dpc)
{
    st_adapter *a = ref->adapter;
    /* Inside the bracket, removal cannot forget the record under us; once
     * we hold its lock, removal waits for us to let it go. */
    st_handover_begin(&a->handover);
    st_dpc *found = st_adapter_is(a, ref->serial) ? st_dpcs_find(&a->dpcs, address) : NULL;
    if (found)
        st_lock_acquire(&found->lock);
    st_handover_end(&a->handover);
    *dpc = found;
    return found ? &found->lock : NULL;
}

/* ---- removal (S14.13) ---- */

void st_dpcs_drop_all(st_adapter *a, void *extension, stortimer_clock *clock)
{
    st_dpc_run run;
    while (st_dpcs_drop_first(&a->dpcs, &run)) {
        ST_COUNT(&a->stats, dpcs_dropped, 1);
        if (st_logging())
            st_log_record_on(a, clock, &(stortimer_event){
                .type = STORTIMER_EVENT_DPC_DROPPED, .extension = extension,
                .dpc = (void *)run.dpc->address, .dpc_routine = run.routine,
                .argument1 = run.argument1, .argument2 = run.argument2, .due = run.due,
                .status = STORTIMER_DPC_REFUSED_REMOVAL,
            });
    }
}

void st_dpcs_forget(st_adapter *a)
{
    st_dpcs_forget_all(&a->dpcs);
}
