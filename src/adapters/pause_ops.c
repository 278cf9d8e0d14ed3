/* pause_ops.c - pausing and resuming adapters and units (pause_ops.h). */
#include "adapters/pause_ops.h"

#include "adapters/events.h"

/* Records a pause event of the adapter or a unit (the log is on). */
ST_LOG_PATH static void log_pause(st_adapter *a, stortimer_clock *clock, void *extension,
                                  stortimer_event_type type, bool unit, uint32_t key,
                                  uint64_t until, uint32_t reason)
{
    st_log_record_on(a, clock, &(stortimer_event){
        .type = type, .extension = extension, .unit = unit,
        .path_id = (UCHAR)(key >> 16), .target_id = (UCHAR)(key >> 8), .lun = (UCHAR)key,
        .due = until, .status = reason,
    });
}

static void log_now(st_adapter *a, stortimer_event_type type, bool unit, uint32_t key,
                    uint64_t until, uint32_t reason)
{
    if (st_logging())
        log_pause(a, st_adapter_clock(a), st_adapter_extension(a), type, unit, key, until,
                  reason);
}

/* Ends a pause in force with `reason`, counting and logging it. */
static void end(st_adapter *a, const st_pause_ref *which, uint32_t reason)
{
    st_pause_end(&a->pauses, which->state, reason);
    /* The adapter's counters and the units' are kept apart (S16.11). */
    if (reason == STORTIMER_PAUSE_END_RESUMED && which->unit)
        ST_COUNT(&a->stats, unit_resumes, 1);
    else if (reason == STORTIMER_PAUSE_END_RESUMED)
        ST_COUNT(&a->stats, resumes, 1);
    else if (reason == STORTIMER_PAUSE_END_EXPIRED && which->unit)
        ST_COUNT(&a->stats, unit_pause_expiries, 1);
    else if (reason == STORTIMER_PAUSE_END_EXPIRED)
        ST_COUNT(&a->stats, pause_expiries, 1);
    log_now(a, STORTIMER_EVENT_PAUSE_ENDED, which->unit, which->key, which->state->until,
            reason);
}

static bool pause(st_adapter *a, const st_pause_request *r)
{
    st_pause *p = r->unit ? st_pauses_unit(&a->pauses, r->unit_key, true) : &a->pauses.adapter;
    if (!p)
        return false;                                                     /* S16.6 (3) */
    uint64_t until = st_pause_begin(&a->pauses, p, r->deadline, r->order);
    if (r->unit)
        ST_COUNT(&a->stats, unit_pauses, 1);
    else
        ST_COUNT(&a->stats, pauses, 1);
    log_now(a, STORTIMER_EVENT_PAUSED, r->unit, r->unit_key, until, 0);
    /* A real-clock dispatcher wakes for the deadline (S16.4). */
    st_doorbell_note_arm(&a->doorbell, until);
    return true;
}

static void resume(st_adapter *a, const st_pause_request *r)
{
    st_pause *p = r->unit ? st_pauses_unit(&a->pauses, r->unit_key, false) : &a->pauses.adapter;
    if (p && p->paused) {
        end(a, &(st_pause_ref){r->unit, r->unit_key, p}, STORTIMER_PAUSE_END_RESUMED);
        return;
    }
    if (r->unit)                                                       /* S16.5 (3) */
        ST_COUNT(&a->stats, unit_resumes_unpaused, 1);
    else
        ST_COUNT(&a->stats, resumes_unpaused, 1);
    log_now(a, STORTIMER_EVENT_RESUME_UNPAUSED, r->unit, r->unit_key, 0, 0);
}

bool st_pause_apply(st_adapter *a, const st_pause_request *request)
{
    if (!request->resume)
        return pause(a, request);
    resume(a, request);
    return true;
}

st_outcome st_pause_hand_over(const st_adapter_ref *ref, const st_pause_request *request)
{
    st_adapter *a = ref->adapter;
    st_outcome outcome = ST_DONE;
    st_handover_begin(&a->handover);
    uint64_t ticket;
    st_handover *cell = NULL;
    if (!st_adapter_is(a, ref->serial))
        outcome = ST_NO_ADAPTER;
    else if (!(cell = st_handover_reserve(&a->handover, &ticket)))
        outcome = ST_QUEUE_FULL;                                          /* S16.3 (2) */
    if (cell) {
        st_handover_publish(cell, ticket,
                            &(st_request){.kind = ST_REQUEST_PAUSE, .pause = *request});
        st_doorbell_ring(&a->doorbell);
    }
    st_handover_end(&a->handover);
    return outcome;
}

bool st_pause_first_due(st_adapter *a, uint64_t now, uint64_t *at, uint64_t *order)
{
    st_pause_ref first;
    if (!st_pauses_first_expiry(&a->pauses, &first) || first.state->until > now)
        return false;
    *at = first.state->until;
    *order = first.state->order;
    return true;
}

void st_pause_expire_first(st_adapter *a)
{
    st_pause_ref first;
    if (st_pauses_first_expiry(&a->pauses, &first))
        end(a, &first, STORTIMER_PAUSE_END_EXPIRED);
}

uint64_t st_pause_wake_time(st_adapter *a)
{
    st_pause_ref first;
    return st_pauses_first_expiry(&a->pauses, &first) ? first.state->until : UINT64_MAX;
}

void st_pauses_end_all(st_adapter *a, void *extension, stortimer_clock *clock)
{
    st_pause_ref first;
    while (st_pauses_first_expiry(&a->pauses, &first)) {
        st_pause_end(&a->pauses, first.state, STORTIMER_PAUSE_END_REMOVAL);
        if (st_logging())
            log_pause(a, clock, extension, STORTIMER_EVENT_PAUSE_ENDED, first.unit, first.key,
                      first.state->until, STORTIMER_PAUSE_END_REMOVAL);
    }
    st_pauses_free(&a->pauses);
    st_pauses_reset(&a->pauses);
}

void st_pause_state_of(st_adapter *a, bool unit, uint32_t key, stortimer_pause_state *out)
{
    bool adapter_paused = a->pauses.adapter.paused;
    const st_pause *p = unit ? st_pauses_unit(&a->pauses, key, false) : &a->pauses.adapter;
    static const st_pause never = {0};
    if (!p)
        p = &never;
    *out = (stortimer_pause_state){
        .paused = p->paused, .held = p->paused || adapter_paused,
        .until_us = p->paused ? p->until : 0, .last_end = p->last_end,
    };
}
