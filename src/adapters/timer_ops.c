/*
 * timer_ops.c - initializing, arming, cancelling and freeing an adapter's
 * timers (timer_ops.h).
 *
 * Every pending-state change goes through the arm word (arm_word.h), at
 * every IRQL; at or below DISPATCH_LEVEL it is made under the timer's shard
 * lock, so the wheel follows at once. Above DISPATCH_LEVEL (S5.7) an arm
 * first reserves a hand-over cell, so that a full queue refuses it before
 * anything changed, then changes the word, then publishes the cell (as a
 * no-op if the arm was refused); the next holder of the adapter lock queues
 * it. A cancel there needs no cell: clearing the pending bit is enough, and
 * the node is dropped when it comes up.
 */
#include "adapters/timer_ops.h"

#include "adapters/dpc_ops.h"
#include "adapters/events.h"
#include "adapters/pause_ops.h"
#include "adapters/window.h"
#include "platform/report.h"
#include "platform/thread_state.h"

/* ---- finding ---- */

bool st_legacy_find(const st_adapter_ref *ref, st_target *target)
{
    st_adapter *a = ref->adapter;
    uint64_t issued;
    /* Read after the serial: if the adapter is still the one found, this
     * is the live value of its legacy timer (a new adapter in the slot
     * renews it before its serial is new). */
    if (!st_registry_current(a->legacy, &issued) || !st_adapter_is(a, ref->serial))
        return false;
    *target = (st_target){.adapter = a, .owner = {a->legacy, issued, &a->orders},
                          .legacy = true};
    return true;
}

/* ---- the event log's account (only built while the log is on) ---- */

/* Records an arm's outcome: armed or busy, and a legacy arm it replaced. */
ST_LOG_PATH static void log_arm(const st_target *target, st_claim claim, const st_request *r)
{
    stortimer_event e = {
        .type = claim == ST_CLAIM_BUSY ? STORTIMER_EVENT_BUSY : STORTIMER_EVENT_ARMED,
        .handle = target->handle, .legacy = target->legacy,
        .callback = r->callback, .legacy_callback = r->legacy_callback,
        .context = r->context, .due = r->due, .fire_time = r->at, .window = r->window,
    };
    if (claim == ST_CLAIM_REPLACED)
        st_log_record(target->adapter, &(stortimer_event){
            .type = STORTIMER_EVENT_CANCELLED, .status = STORTIMER_CANCEL_BY_REARM,
            .handle = e.handle, .legacy = e.legacy});
    st_log_record(target->adapter, &e);
}

/* Records a cancel's outcome; with the cancelled arm's times when its node,
 * queued (the shard locked), says them. */
ST_LOG_PATH static void log_cancel(const st_target *target, st_claim claim, uint64_t order,
                                   bool locked, const st_callback *callback)
{
    stortimer_event e = {
        .type = claim == ST_CLAIM_DONE ? STORTIMER_EVENT_CANCELLED : STORTIMER_EVENT_IDLE_CANCEL,
        .status = STORTIMER_CANCEL_BY_REQUEST,
        .handle = target->handle, .legacy = target->legacy,
        .callback = callback->extended, .legacy_callback = callback->legacy,
        .context = callback->context,
    };
    /* The arm cancelled, as queued (S12.1: the cancel's callback may differ). */
    st_call armed;
    if (claim == ST_CLAIM_DONE && locked &&
        st_shard_queued_arm(target->owner.timer, order, target->legacy, &armed)) {
        e.fire_time = armed.at;
        e.due = armed.due;
        e.context = armed.context;
        e.callback = armed.callback;
        e.legacy_callback = armed.legacy_callback;
    }
    st_log_record(target->adapter, &e);
}

/* ---- arming and cancelling ---- */

/* Counts one event of a request: at or below DISPATCH_LEVEL in the
 * timer's shard `locked`, whose lock the caller holds (a plain add: every
 * count into a shard's set is made under its lock); above it (`locked`
 * NULL) in the adapter's own set, holding nothing (an atomic add). */
#define COUNT(target, locked, field)                                       \
    do {                                                                   \
        if (locked)                                                        \
            ST_COUNT_LOCKED(st_shard_counters(locked), field, 1);          \
        else                                                               \
            ST_COUNT(&(target)->adapter->stats, field, 1);                 \
    } while (0)

/* Counts an arm's or a replace's outcome, the same for both paths. */
static inline st_outcome arm_outcome(const st_target *target, st_shard *locked, st_claim claim)
{
    switch (claim) {
    case ST_CLAIM_GONE:
        return ST_GONE;
    case ST_CLAIM_BUSY:
        COUNT(target, locked, busy);
        return ST_BUSY;
    case ST_CLAIM_REPLACED:
        COUNT(target, locked, cancelled);
        /* fall through */
    default:
        COUNT(target, locked, armed);
        if (target->legacy)
            COUNT(target, locked, legacy_armed);
        return ST_DONE;
    }
}

/* Above DISPATCH_LEVEL: no lock, no allocation (S5.7). */
static st_outcome hand_over(const st_target *target, st_request *request)
{
    st_adapter *a = target->adapter;
    st_claim_kind kind = target->legacy ? ST_REPLACE : ST_ARM;
    uint64_t ticket;
    st_handover *cell = st_handover_reserve(&a->handover, &ticket);
    if (!cell) {
        /* Refused before anything changed; but S5.2 and S5.3 come first. */
        if (!st_registry_still_issued(target->owner.timer, target->owner.issued))
            return ST_GONE;
        if (kind == ST_ARM && st_arm_word_pending(target->owner.timer)) {
            if (st_logging())
                log_arm(target, ST_CLAIM_BUSY, request);
            return arm_outcome(target, NULL, ST_CLAIM_BUSY);
        }
        return ST_QUEUE_FULL;
    }
    st_claim claim = st_claim_arm_word(&target->owner, kind, &request->order);
    bool armed = claim == ST_CLAIM_DONE || claim == ST_CLAIM_REPLACED;
    /* Logged before it is published: once published, its callback may
     * start (and be logged) at once. */
    if (st_logging() && claim != ST_CLAIM_GONE)
        log_arm(target, claim, request);
    if (!armed)
        request->timer = NULL; /* publish the cell as a no-op */
    st_handover_publish(cell, ticket, request);
    st_outcome outcome = arm_outcome(target, NULL, claim);
    if (armed)
        ST_COUNT(&a->stats, handed_over, 1);
    /* Rung even for a no-op cell: the sleeper's drain stops at the first
     * unpublished cell, so a later cell published before this one waits
     * for this publication to be seen. */
    st_doorbell_ring(&a->doorbell);
    return outcome;
}

/* At or below DISPATCH_LEVEL, under the timer's shard lock. */
static st_outcome arm_locked(const st_target *target, st_shard *shard, st_shard *here,
                             st_request *request)
{
    st_adapter *a = target->adapter;
    st_claim claim = st_claim_arm_word(&target->owner, target->legacy ? ST_REPLACE : ST_ARM,
                                       &request->order);
    if (st_logging() && claim != ST_CLAIM_GONE)
        log_arm(target, claim, request);
    st_outcome outcome = arm_outcome(target, shard, claim);
    if (outcome == ST_DONE)
        st_shard_queue(&a->shards, shard, here, request);
    return outcome;
}

/* Cancels: the arm word's change is the cancel (S5.5), lock-free at any
 * IRQL. Holding the timer's shard lock (`locked`, at or below
 * DISPATCH_LEVEL) it also unqueues the node now; above DISPATCH_LEVEL
 * (`locked` NULL) the node is dropped when it comes up. */
static st_outcome cancel(const st_target *target, st_shard *locked, const st_callback *callback)
{
    uint64_t order = 0;
    st_claim claim = st_claim_arm_word(&target->owner, ST_CANCEL, &order);
    if (claim == ST_CLAIM_GONE)
        return ST_GONE;
    if (claim == ST_CLAIM_DONE)
        COUNT(target, locked, cancelled);
    if (st_logging())
        log_cancel(target, claim, order, locked != NULL, callback);
    if (locked)
        st_shard_unqueue(locked, target->owner.timer);
    return ST_DONE;
}

/* Applies waiting hand-overs before a request at or below DISPATCH_LEVEL,
 * only when there are some (under the adapter lock). */
static void apply_waiting(st_adapter *a)
{
    if (!st_handover_waiting(&a->handover))
        return;
    st_mutex_lock(&a->mutex);
    if (st_adapter_live(a))
        st_timer_apply_handovers(a);
    st_mutex_unlock(&a->mutex);
}

st_outcome st_timer_arm(const st_target *target, st_path path, uint64_t now, uint64_t value,
                        uint64_t tolerable_delay, const st_callback *callback)
{
    st_adapter *a = target->adapter;
    /* A window under 32 us is none, a huge one is used only up to
     * ST_WINDOW_MAX_US (S5.4.2); due times saturate, never wrap (S5.4.3). */
    uint64_t window = target->legacy ? 0 : st_window_of(tolerable_delay);
    st_request request = {
        .timer = target->owner.timer, .issued = target->owner.issued, .legacy = target->legacy,
        .due = st_add_saturating(now, value),
        .callback = callback->extended, .legacy_callback = callback->legacy,
        .context = callback->context, .window = window,
    };
    request.at = st_fire_time(request.due, window);
    if (path == ST_PATH_HANDED_OVER) {
        st_handover_begin(&a->handover);
        st_outcome outcome = hand_over(target, &request);
        st_handover_end(&a->handover);
        return outcome;
    }
    apply_waiting(a);
    st_shard *here = st_shards_here(&a->shards);
    st_shard *shard = st_shards_lock_of(&a->shards, target->owner.timer);
    st_outcome outcome = st_adapter_live(a) ? arm_locked(target, shard, here, &request)
                                               : ST_GONE;
    st_shard_unlock(shard);
    /* After the spin lock: ringing may be a system call. */
    if (outcome == ST_DONE)
        st_doorbell_note_arm(&a->doorbell, request.at);
    return outcome;
}

st_outcome st_timer_cancel(const st_target *target, st_path path, const st_callback *callback)
{
    st_adapter *a = target->adapter;
    if (path == ST_PATH_HANDED_OVER) {
        st_handover_begin(&a->handover);
        st_outcome outcome = cancel(target, NULL, callback);
        st_handover_end(&a->handover);
        return outcome;
    }
    apply_waiting(a);
    /* Under the shard lock: a removal takes every shard lock before its
     * counters retire, so a cancel's count lands before that, and the log
     * can say what the cancelled arm was. (Without the lock, a cancel
     * would need a mark of its own for the removal to wait for: two more
     * locked instructions than the lock's one; BENCHMARKS.md.) */
    st_shard *shard = st_shards_lock_of(&a->shards, target->owner.timer);
    st_outcome outcome = st_adapter_live(a) ? cancel(target, shard, callback) : ST_GONE;
    st_shard_unlock(shard);
    return outcome;
}

/* Applies one hand-over unless it was cancelled, superseded or freed since. */
static void apply_handover(st_adapter *a, const st_request *r)
{
    if (!r->timer || !st_adapter_live(a))
        return; /* a refused request's cell, or an adapter being removed */
    if (!st_registry_still_issued(r->timer, r->issued))
        return; /* freed, or its adapter removed, since */
    st_shard *shard = st_shards_lock_of(&a->shards, r->timer);
    bool queued = st_arm_word_armed_with(r->timer, r->order);
    if (queued)
        st_shard_queue(&a->shards, shard, NULL, r);
    st_shard_unlock(shard);
    if (queued)
        st_doorbell_note_arm(&a->doorbell, r->at);
}

/* A hand-over of another kind: a DPC issue (S14.5), queued even while the
 * adapter is removed, whose removal then drops it and counts it (S14.13);
 * or a pause or resume (S16.9). */
static void apply_other(st_adapter *a, const st_request *r)
{
    if (r->kind == ST_REQUEST_DPC) {
        st_dpc_apply_issue(a, r->dpc);
    } else if (!st_pause_apply(a, &r->pause)) {
        /* Answered TRUE at the call; no memory for the unit now. */
        st_count_rejection(&a->stats, STOR_STATUS_INSUFFICIENT_RESOURCES);
        st_report("StorPortPauseDevice (above DISPATCH_LEVEL): no memory for the unit's "
                  "state; the pause did not take effect");
    }
}

void st_timer_apply_handovers(st_adapter *a)
{
    st_request request;
    while (st_handover_take(&a->handover, &request)) {
        if (__builtin_expect(request.kind == ST_REQUEST_TIMER, 1))
            apply_handover(a, &request);
        else
            apply_other(a, &request);
    }
}

bool st_adapter_lock_current(const st_adapter_ref *ref)
{
    if (!st_adapter_lock(ref))
        return false;
    st_timer_apply_handovers(ref->adapter);
    return true;
}

/* ---- initializing and freeing ---- */


st_outcome st_timer_initialize(const st_adapter_ref *ref, uint64_t *handle)
{
    st_adapter *a = ref->adapter;
    if (!st_adapter_lock_current(ref))
        return ST_NO_ADAPTER;
    uint64_t issued = 0;
    st_timer *t = NULL;
    st_outcome outcome = ST_DONE;
    if (a->timers.max && a->timers.count >= a->timers.max)
        outcome = ST_AT_LIMIT;
    else if (!(t = st_registry_timer_take(a->index + 1, &a->timers.free_slots, handle, &issued)))
        outcome = ST_NO_MEMORY;
    if (outcome == ST_DONE) {
        st_arm_word_reset(&a->orders, t); /* idle, newer than the slot's past */
        a->timers.count++;
        st_registry_publish(t, issued);
        ST_COUNT(&a->stats, timers_initialized, 1);
    }
    void *extension = st_adapter_extension(a);
    st_adapter_unlock(a);
    if (outcome == ST_DONE)
        ST_LOG(a, .type = STORTIMER_EVENT_INITIALIZED, .extension = extension,
               .handle = st_handle_pointer(*handle));
    return outcome;
}

/* S6.4.1: waits for the timer's running callback, unless it is the caller
 * (it runs to its end and the slot is reclaimed after); holding the StartIo
 * lock, none can be running. Then keeps the slot for the adapter's next
 * timer, or, if the adapter went away meanwhile, returns it to the pool.
 * Adapter lock held. */
static void release_slot(st_adapter *a, st_timer *t)
{
    if (st_running_is(&a->run, t) && st_self.callback_timer == t) {
        st_running_release_after(&a->run);
        return;
    }
    uint64_t serial = st_adapter_serial(a);
    st_running_wait(&a->run, t, &a->mutex);
    if (st_adapter_is(a, serial))
        st_registry_timer_give_back(&a->timers.free_slots, t);
    else
        st_registry_timer_to_pool(t);
}

st_outcome st_timer_free(const st_adapter_ref *ref, PVOID handle)
{
    st_adapter *a = ref->adapter;
    if (!st_adapter_lock_current(ref))
        return ST_NO_ADAPTER;
    uint64_t issued;
    st_timer *t = st_registry_live_timer(st_handle_value(handle), &issued);
    if (!t || st_registry_owner(t) != a->index + 1) {
        bool freed = st_registry_was_freed(a->index + 1, st_handle_value(handle));
        st_adapter_unlock(a);
        return freed ? ST_ALREADY_FREED : ST_NOT_HERE;
    }
    /* Dead at once: no later call can arm it, no queued arm can start. */
    st_registry_kill(t);
    if (st_arm_word_retire(&a->orders, t)) {
        ST_COUNT(&a->stats, cancelled, 1);
        ST_LOG(a, .type = STORTIMER_EVENT_CANCELLED, .status = STORTIMER_CANCEL_BY_FREE,
               .handle = handle);
    }
    ST_LOG(a, .type = STORTIMER_EVENT_FREED, .handle = handle);
    st_shard *shard = st_shards_lock_of(&a->shards, t);
    st_shard_unqueue(shard, t);
    st_shard_unlock(shard);
    a->timers.count--;
    ST_COUNT(&a->stats, timers_freed, 1);
    release_slot(a, t);
    st_adapter_unlock(a);
    return ST_DONE;
}

void st_timer_reclaim(st_adapter *a, st_timer *t)
{
    st_registry_timer_give_back(&a->timers.free_slots, t);
}

/* ---- creation and removal ---- */

void st_timers_open(st_adapter *a, uint32_t max)
{
    a->timers = (st_timer_book){.free_slots = STW_NONE, .max = max};
    st_registry_renew(a->legacy); /* the legacy timer of a new adapter */
    st_arm_word_reset(&a->orders, a->legacy);
}

/* Counts (and logs) a pending arm ended by the removal. */
static void count_removal_cancel(const st_removal *r, st_timer *t)
{
    st_adapter *a = r->adapter;
    ST_COUNT(&a->stats, cancelled, 1);
    bool legacy = t == a->legacy;
    if (st_logging())
        st_log_record_on(a, r->clock, &(stortimer_event){
            .type = STORTIMER_EVENT_CANCELLED, .status = STORTIMER_CANCEL_BY_REMOVAL,
            .extension = r->extension, .legacy = legacy,
            .handle = legacy ? NULL : st_handle_pointer(st_registry_handle(t)),
        });
}

static void cancel_pending_of(st_timer *t, void *removal)
{
    if (st_arm_word_cancel_pending(t))
        count_removal_cancel(removal, t);
}

void st_timers_cancel_all(const st_removal *removal)
{
    st_adapter *a = removal->adapter;
    st_registry_timers_visit(a->index + 1, cancel_pending_of, (void *)removal);
    cancel_pending_of(a->legacy, (void *)removal); /* its adapter died first */
    st_shards_clear(&a->shards);
}

static void free_leftover(st_timer *t, void *arg)
{
    const st_removal *removal = arg;
    st_adapter *a = removal->adapter;
    st_registry_kill(t);
    /* A lock-free arm that passed its check before the handle died. */
    if (st_arm_word_retire(&a->orders, t))
        count_removal_cancel(removal, t);
    st_registry_timer_give_back(&a->timers.free_slots, t);
}

ULONG st_timers_free_all(const st_removal *removal)
{
    st_adapter *a = removal->adapter;
    ULONG leaked = a->timers.count;
    st_registry_timers_visit(a->index + 1, free_leftover, (void *)removal);
    a->timers.count = 0;
    st_registry_timers_release(&a->timers.free_slots);
    /* Its owner died before the first cancel: a lock-free arm may still
     * have passed its check. */
    if (st_arm_word_retire(&a->orders, a->legacy))
        count_removal_cancel(removal, a->legacy);
    ST_COUNT(&a->stats, timers_leaked, leaked);
    return leaked;
}
