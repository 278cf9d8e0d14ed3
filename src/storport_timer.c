/*
 * storport_timer.c - StorPortInitializeTimer, StorPortRequestTimer,
 * StorPortFreeTimer and the legacy timer of StorPortNotification.
 *
 * A thin checking layer: each routine checks its arguments in the order
 * SPEC S4-S7 gives, finds its adapter and timer, and hands a plain request
 * to the adapter. Status codes are decided here and nowhere else. Pending
 * state changes go through arm_word.h at every IRQL.
 */
#include "adapter.h"
#include "arm_word.h"
#include "clock.h"
#include "dispatcher.h"
#include "event_log.h"
#include "registry.h"
#include "thread_state.h"

#include <errno.h>
#include <stdarg.h>

/* Counts a rejected call against its adapter, and answers. */
static ULONG reject(st_adapter *a, ULONG status)
{
    st_count_rejection(&a->stats, status);
    return status;
}

/* Counts a rejected call that names no live adapter, and answers. */
static ULONG reject_unattributed(ULONG status)
{
    st_count_rejection(&st_unattributed, status);
    return status;
}

/* Records a call answered with an error, on its adapter's track if the
 * extension names a live one (looked up, never dereferenced). */
ST_LOG_PATH static void log_rejected(ULONG status, PVOID extension, PVOID handle, bool legacy)
{
    uint64_t serial;
    st_log_record(st_registry_adapter_find(extension, &serial),
                  &(stortimer_event){.type = STORTIMER_EVENT_REJECTED, .status = status,
                                     .extension = extension, .handle = handle,
                                     .legacy = legacy});
}

/* Passes a call's answer on, recording it if it is an error. The status is
 * tested first: a successful call does not even load the log's flag. */
static inline ULONG log_answer(ULONG status, PVOID extension, PVOID handle, bool legacy)
{
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_BUSY && st_logging())
        log_rejected(status, extension, handle, legacy);
    return status;
}

/* The handle an `issued` value stands for; NULL for the legacy timer. */
static PVOID handle_of(uint64_t issued)
{
    return issued ? st_handle_pointer(st_registry_handle_of(issued)) : NULL;
}

static inline uint64_t handle_value(PVOID handle)
{
    return (uint64_t)(uintptr_t)handle;
}

/* ---- S4 ---- */

static ULONG initialize_timer(PVOID HwDeviceExtension, PVOID *TimerHandle)
{
    if (TimerHandle)
        *TimerHandle = NULL;
    if (st_self.irql > DISPATCH_LEVEL)
        return reject_unattributed(STOR_STATUS_INVALID_IRQL);
    if (!HwDeviceExtension || !TimerHandle)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_adapter *a = st_adapter_lock_by_extension(HwDeviceExtension);
    if (!a)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);

    ULONG status = STOR_STATUS_SUCCESS;
    uint64_t handle = 0, issued = 0;
    st_timer *t = NULL;
    if (a->max_timers && a->timer_count >= a->max_timers)
        status = STOR_STATUS_UNSUCCESSFUL;
    else if (!(t = st_registry_timer_take(a, &handle, &issued)))
        status = STOR_STATUS_INSUFFICIENT_RESOURCES;
    if (status != STOR_STATUS_SUCCESS) {
        st_adapter_unlock(a);
        return reject(a, status);
    }
    /* Idle, with an order newer than any the slot held before. */
    st_orders_raise(a, atomic_load(&t->arm) >> 1);
    atomic_store(&t->arm, st_next_order(a) << 1);
    a->timer_count++;
    atomic_store(&t->issued, issued);
    ST_COUNT(a, timers_initialized, 1);
    st_adapter_unlock(a);
    *TimerHandle = st_handle_pointer(handle);
    ST_LOG(a, .type = STORTIMER_EVENT_INITIALIZED, .extension = HwDeviceExtension,
           .handle = *TimerHandle);
    return STOR_STATUS_SUCCESS;
}

ULONG StorPortInitializeTimer(PVOID HwDeviceExtension, PVOID *TimerHandle)
{
    return log_answer(initialize_timer(HwDeviceExtension, TimerHandle), HwDeviceExtension,
                      NULL, false);
}

/* ---- S5 ---- */

/*
 * Finds the live timer behind a handle and its adapter, reading only our
 * own tables. Whatever races with it (a free, a removal, a reuse of the
 * slot) is caught by the arm word's owner check or the adapter lock.
 */
static st_timer *resolve(const void *extension, PVOID handle, st_adapter **adapter,
                         uint64_t *issued)
{
    uint64_t plain;
    st_timer *t = st_registry_timer_at(handle_value(handle), &plain);
    if (!t || atomic_load(&t->issued) != (plain | ST_LIVE))
        return NULL;
    st_adapter *a = st_registry_timer_owner(t);
    if (!a || atomic_load(&a->extension) != extension)
        return NULL;
    *adapter = a;
    *issued = plain | ST_LIVE;
    return t;
}

/* Records an arm's outcome in the event log (the log is on). */
ST_LOG_PATH static void log_arm(st_adapter *a, st_claim claim, const st_request *r)
{
    stortimer_event e = {
        .type = claim == ST_CLAIM_BUSY ? STORTIMER_EVENT_BUSY : STORTIMER_EVENT_ARMED,
        .handle = handle_of(r->issued), .legacy = !r->issued,
        .callback = r->callback, .legacy_callback = r->legacy_callback,
        .context = r->context, .due = r->due, .fire_time = r->at, .window = r->window,
    };
    if (claim == ST_CLAIM_REPLACED)
        st_log_record(a, &(stortimer_event){.type = STORTIMER_EVENT_CANCELLED,
                                            .status = STORTIMER_CANCEL_BY_REARM,
                                            .handle = e.handle, .legacy = e.legacy});
    st_log_record(a, &e);
}

/* The status of an arm or replace, counted once for both IRQL paths (in
 * the timer's shard: no line shared between shards), and logged when `r`
 * is given (the hand-over logs before it publishes). */
static ULONG arm_status(st_adapter *a, st_shard *shard, st_claim claim, const st_request *r)
{
    if (r && st_logging() && claim != ST_CLAIM_GONE)
        log_arm(a, claim, r);
    switch (claim) {
    case ST_CLAIM_GONE:
        return reject(a, STOR_STATUS_INVALID_PARAMETER);
    case ST_CLAIM_BUSY:
        ST_COUNT(shard, busy, 1);
        return STOR_STATUS_BUSY;
    case ST_CLAIM_REPLACED:
        ST_COUNT(shard, cancelled, 1);
        /* fall through */
    default:
        ST_COUNT(shard, armed, 1);
        return STOR_STATUS_SUCCESS;
    }
}

/*
 * S5.7: above DISPATCH_LEVEL, no lock and no allocation. A hand-over cell
 * is reserved first, so that a full queue refuses the request before it
 * changes anything; then the arm word decides, at the call.
 */
static ULONG hand_over(st_adapter *a, st_shard *shard, const st_owner *owner,
                       st_claim_kind kind, st_request *request)
{
    uint64_t ticket;
    st_handover *cell = st_handover_reserve(a, &ticket);
    if (!cell) {
        /* Refused before anything changed; but S5.2 and S5.3 come first. */
        if (!st_owner_live(owner))
            return reject(a, STOR_STATUS_INVALID_PARAMETER);
        if (kind == ST_ARM && (atomic_load(&owner->timer->arm) & ST_PENDING))
            return arm_status(a, shard, ST_CLAIM_BUSY, request);
        return reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES);
    }
    st_claim claim = st_claim_arm_word(owner, kind, &request->order);
    bool armed = claim == ST_CLAIM_DONE || claim == ST_CLAIM_REPLACED;
    /* Logged before it is published: once published, its callback may
     * start (and be logged) at once. */
    if (st_logging() && claim != ST_CLAIM_GONE)
        log_arm(a, claim, request);
    if (!armed)
        request->timer = NULL; /* publish the cell as a no-op */
    st_handover_publish(cell, ticket, request);
    ULONG status = arm_status(a, shard, claim, NULL);
    if (armed)
        ST_COUNT(shard, handed_over, 1);
    /* Kick even for a no-op cell: the dispatcher's drain stops at the first
     * unpublished cell, so a later cell published before this one waits
     * for this publication to be seen. */
    if (!st_adapter_clock(a))
        st_dispatcher_kick(a);
    return status;
}

/* Records a cancel's outcome in the event log (the log is on): with the
 * cancelled arm's times when its node, queued, says them (locked). */
ST_LOG_PATH static void log_cancel(st_adapter *a, st_claim claim, const st_owner *owner,
                                   uint64_t order, bool locked, const st_request *r)
{
    st_timer *t = owner->timer;
    stortimer_event e = {
        .type = claim == ST_CLAIM_DONE ? STORTIMER_EVENT_CANCELLED : STORTIMER_EVENT_IDLE_CANCEL,
        .status = STORTIMER_CANCEL_BY_REQUEST,
        .handle = handle_of(owner->issued), .legacy = !owner->issued,
        .callback = r->callback, .legacy_callback = r->legacy_callback, .context = r->context,
    };
    /* The arm cancelled, as queued (S12.1: the cancel's callback may differ). */
    if (claim == ST_CLAIM_DONE && locked && stw_queued(&t->node) && t->node.seq == order) {
        e.fire_time = t->node.at;
        e.due = t->node.at - st_get24(t->fire_after_due);
        e.context = t->context;
        if (e.legacy) {
            e.legacy_callback = t->callback.legacy;
        } else {
            e.callback = t->callback.extended;
        }
    }
    st_log_record(a, &e);
}

/*
 * Cancels (S5.5). Lock-free, so it works at any IRQL; holding the shard
 * lock it also unqueues the node now instead of when it comes up.
 */
static ULONG cancel(st_adapter *a, st_shard *shard, const st_owner *owner, bool locked,
                    const st_request *r)
{
    uint64_t order = 0;
    st_claim claim = st_claim_arm_word(owner, ST_CANCEL, &order);
    if (claim == ST_CLAIM_GONE)
        return reject(a, STOR_STATUS_INVALID_PARAMETER);
    if (claim == ST_CLAIM_DONE)
        ST_COUNT(shard, cancelled, 1);
    if (st_logging())
        log_cancel(a, claim, owner, order, locked, r);
    if (locked && stw_queued(&owner->timer->node))
        stw_remove(&shard->wheel, st_timer_id(owner->timer));
    return STOR_STATUS_SUCCESS;
}

/* Arms at or below DISPATCH_LEVEL, under the shard lock. */
static ULONG arm_locked(st_adapter *a, st_shard *shard, st_shard *here,
                        const st_owner *owner, st_claim_kind kind, const st_request *request)
{
    st_request armed = *request;
    st_claim claim = st_claim_arm_word(owner, kind, &armed.order);
    ULONG status = arm_status(a, shard, claim, &armed);
    if (status == STOR_STATUS_SUCCESS)
        st_adapter_queue_request(a, shard, here, &armed);
    return status;
}

/*
 * Every request, by IRQL: above DISPATCH_LEVEL lock-free (S5.7), else under
 * the lock of the timer's shard, after applying waiting hand-overs (under
 * the adapter lock, only when there are some). A value of 0 cancels.
 */
static ULONG request(st_adapter *a, const st_owner *owner, st_claim_kind kind,
                     ULONGLONG value, st_request *req)
{
    ULONG status;
    if (st_self.irql > DISPATCH_LEVEL) {
        /* Counted in the caller's processor's shard: no lock needed. */
        st_shard *here = st_shard_here(a);
        int saved_errno = errno; /* we may be in a signal handler */
        status = value ? hand_over(a, here, owner, kind, req)
                       : cancel(a, here, owner, false, req);
        errno = saved_errno;
        return status;
    }
    if (st_handover_waiting(a)) {
        pthread_mutex_lock(&a->mutex);
        if (a->live)
            st_adapter_drain_handover(a);
        pthread_mutex_unlock(&a->mutex);
    }
    st_shard *here = value ? st_shard_here(a) : NULL; /* outside the lock */
    st_shard *shard = st_shard_lock(a, owner->timer);
    if (!a->live)
        status = reject(a, STOR_STATUS_INVALID_PARAMETER);
    else
        status = value ? arm_locked(a, shard, here, owner, kind, req)
                       : cancel(a, shard, owner, true, req);
    pthread_mutex_unlock(&shard->mutex);
    return status;
}

static ULONG request_timer(PVOID HwDeviceExtension, PVOID TimerHandle,
                           PHW_TIMER_EX TimerCallback, PVOID CallbackContext,
                           ULONGLONG TimerValue, ULONGLONG TolerableDelay)
{
    if (!HwDeviceExtension || !TimerHandle || !TimerCallback)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_adapter *a;
    uint64_t issued;
    st_timer *t = resolve(HwDeviceExtension, TimerHandle, &a, &issued);
    if (!t)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_owner owner = {.timer = t, .issued = issued, .adapter = a};

    /* S5.4.2: windows under 32 us are no window, and a huge one is used
     * only up to ST_WINDOW_MAX_US; S5.4.3: due times saturate, never wrap. */
    st_request req = {
        .timer = t,
        .issued = owner.issued,
        .adapter_serial = atomic_load(&a->serial),
        .callback = TimerCallback,
        .context = CallbackContext,
    };
    if (TimerValue) { /* a cancel needs no time */
        uint64_t window = TolerableDelay < 32 ? 0 : TolerableDelay;
        if (window > ST_WINDOW_MAX_US)
            window = ST_WINDOW_MAX_US;
        req.due = st_add_saturating(st_adapter_now_for_arming(a), TimerValue);
        req.at = st_fire_time(req.due, window);
        req.window = window;
    }
    return request(a, &owner, ST_ARM, TimerValue, &req);
}

ULONG StorPortRequestTimer(PVOID HwDeviceExtension, PVOID TimerHandle,
                           PHW_TIMER_EX TimerCallback, PVOID CallbackContext,
                           ULONGLONG TimerValue, ULONGLONG TolerableDelay)
{
    return log_answer(request_timer(HwDeviceExtension, TimerHandle, TimerCallback,
                                    CallbackContext, TimerValue, TolerableDelay),
                      HwDeviceExtension, TimerHandle, false);
}

/* ---- S6 ---- */

static ULONG free_timer(PVOID HwDeviceExtension, PVOID TimerHandle)
{
    if (st_self.irql > DISPATCH_LEVEL)
        return reject_unattributed(STOR_STATUS_INVALID_IRQL);
    if (!HwDeviceExtension || !TimerHandle)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_adapter *a = st_adapter_lock_by_extension(HwDeviceExtension);
    if (!a)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);

    uint64_t handle = handle_value(TimerHandle), plain;
    st_timer *t = st_registry_timer_at(handle, &plain);
    if (!t || atomic_load(&t->issued) != (plain | ST_LIVE) || st_registry_timer_owner(t) != a) {
        ULONG status = st_registry_timer_was_freed(a, handle)
                           ? STOR_STATUS_UNSUCCESSFUL
                           : STOR_STATUS_INVALID_PARAMETER;
        st_adapter_unlock(a);
        return reject(a, status);
    }

    /* Dead at once: no later call can arm it, no queued arm can start. */
    atomic_store(&t->issued, plain);
    if (st_arm_word_retire(a, t)) {
        ST_COUNT(a, cancelled, 1);
        ST_LOG(a, .type = STORTIMER_EVENT_CANCELLED, .status = STORTIMER_CANCEL_BY_FREE,
               .handle = TimerHandle);
    }
    ST_LOG(a, .type = STORTIMER_EVENT_FREED, .handle = TimerHandle);
    st_shard *shard = st_shard_lock(a, t);
    if (stw_queued(&t->node))
        stw_remove(&shard->wheel, st_timer_id(t));
    pthread_mutex_unlock(&shard->mutex);
    a->timer_count--;
    ST_COUNT(a, timers_freed, 1);

    /* S6.4.1: wait for a running callback, unless it is ours (it runs to its
     * end and the slot is reclaimed after). Holding the StartIo lock, none
     * can be running. */
    if (a->running == t && st_self.callback_timer == t) {
        a->release_running = true;
    } else {
        uint64_t serial = atomic_load(&a->serial);
        while (a->running == t)
            pthread_cond_wait(&a->idle, &a->mutex);
        /* The adapter may have been removed (even reused) while we waited. */
        if (a->live && atomic_load(&a->serial) == serial)
            st_registry_timer_give_back(a, t);
        else
            st_registry_timer_to_pool(t);
    }
    st_adapter_unlock(a);
    return STOR_STATUS_SUCCESS;
}

ULONG StorPortFreeTimer(PVOID HwDeviceExtension, PVOID TimerHandle)
{
    return log_answer(free_timer(HwDeviceExtension, TimerHandle), HwDeviceExtension,
                      TimerHandle, false);
}

/* ---- S7 ---- */

static void request_legacy_timer(PVOID extension, PHW_TIMER routine, ULONG value)
{
    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(extension, &serial);
    if (!a) {
        atomic_fetch_add_explicit(&st_unattributed.notification_misuse, 1,
                                  memory_order_relaxed);
        log_answer(STOR_STATUS_INVALID_PARAMETER, extension, NULL, true);
        return;
    }
    if (value && !routine) {
        ST_COUNT(a, notification_misuse, 1);
        log_answer(STOR_STATUS_INVALID_PARAMETER, extension, NULL, true);
        return;
    }
    st_owner owner = {.timer = a->legacy, .adapter = a, .extension = extension,
                      .serial = serial};
    uint64_t due = st_add_saturating(st_adapter_now_for_arming(a), value);
    st_request req = {
        .timer = a->legacy, .adapter_serial = serial,
        .due = due, .at = due, .legacy_callback = routine,
    };
    ULONG status = request(a, &owner, ST_REPLACE, value, &req);
    if (status == STOR_STATUS_SUCCESS && value)
        ST_COUNT(a, legacy_armed, 1);
    log_answer(status, extension, NULL, true);
}

VOID StorPortNotification(SCSI_NOTIFICATION_TYPE NotificationType, PVOID HwDeviceExtension,
                          ...)
{
    if (NotificationType != RequestTimerCall)
        return; /* accepted and ignored (S7) */
    va_list args;
    va_start(args, HwDeviceExtension);
    /* Started just above: the analyzer's "uninitialized va_list" is a false
     * positive on x86-64. */
    PHW_TIMER routine = va_arg(args, PHW_TIMER); // NOLINT(clang-analyzer-valist.Uninitialized)
    ULONG value = va_arg(args, ULONG);
    va_end(args);
    request_legacy_timer(HwDeviceExtension, routine, value);
}
