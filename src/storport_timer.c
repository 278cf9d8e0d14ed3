/*
 * storport_timer.c - StorPortInitializeTimer, StorPortRequestTimer,
 * StorPortFreeTimer and the legacy timer of StorPortNotification.
 *
 * A thin checking layer: each routine checks its arguments in the order
 * SPEC S4-S7 gives, finds its adapter and timer, and hands a plain request
 * to the adapter. Status codes are decided here and nowhere else.
 */
#include "adapter.h"
#include "clock.h"
#include "dispatcher.h"
#include "registry.h"
#include "thread_state.h"

#include <stdarg.h>

static _Atomic uint64_t arm_orders;

/* A new arm order: the global sequence that breaks ties between due times. */
static uint64_t next_order(void)
{
    return atomic_fetch_add_explicit(&arm_orders, 1, memory_order_relaxed) + 1;
}

/* Counts a rejected call against its adapter, and answers. */
static ULONG reject(st_adapter *a, ULONG status)
{
    ST_COUNT(a, rejected, 1);
    return status;
}

/* Counts a rejected call that names no live adapter, and answers. */
static ULONG reject_unattributed(ULONG status)
{
    atomic_fetch_add_explicit(&st_unattributed.rejected, 1, memory_order_relaxed);
    return status;
}

static inline uint64_t handle_value(PVOID handle)
{
    return (uint64_t)(uintptr_t)handle;
}

/* ---- S4 ---- */

ULONG StorPortInitializeTimer(PVOID HwDeviceExtension, PVOID *TimerHandle)
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
    uint64_t handle = 0;
    st_timer *t = NULL;
    if (a->max_timers && a->timer_count >= a->max_timers)
        status = STOR_STATUS_UNSUCCESSFUL;
    /* Room for every timer plus the legacy one: arming never allocates. */
    else if (!stq_reserve(&a->queue, a->timer_count + 2) ||
             !(t = st_registry_timer_take(a, &handle)))
        status = STOR_STATUS_INSUFFICIENT_RESOURCES;
    if (status != STOR_STATUS_SUCCESS) {
        st_adapter_unlock(a);
        return reject(a, status);
    }
    atomic_store(&t->arm, 0);
    atomic_store(&t->adapter, a);
    t->is_legacy = false;
    t->next = a->timers;
    if (a->timers)
        a->timers->prev = t;
    a->timers = t;
    a->timer_count++;
    atomic_store_explicit(&t->handle, handle, memory_order_release);
    ST_COUNT(a, timers_initialized, 1);
    st_adapter_unlock(a);
    *TimerHandle = (PVOID)(uintptr_t)handle;
    return STOR_STATUS_SUCCESS;
}

/* ---- S5 ---- */

/*
 * Finds the live timer behind a handle and its adapter, reading only our
 * own tables. The answer is re-checked under the adapter lock (or by the
 * hand-over) because a free or removal may race with it.
 */
static st_timer *resolve(PVOID extension, PVOID handle, st_adapter **adapter)
{
    uint64_t value = handle_value(handle), generation;
    st_timer *t = st_registry_timer_at(value, &generation);
    if (!t || atomic_load_explicit(&t->handle, memory_order_acquire) != value)
        return NULL;
    st_adapter *a = atomic_load_explicit(&t->adapter, memory_order_acquire);
    if (!a || atomic_load_explicit(&a->extension, memory_order_acquire) != extension)
        return NULL;
    *adapter = a;
    return t;
}

/* Sets the pending bit for a new arm unless already pending (S5.3). */
static bool claim_pending(st_timer *t, uint64_t order)
{
    uint64_t arm = atomic_load_explicit(&t->arm, memory_order_acquire);
    do {
        if (arm & ST_PENDING)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&t->arm, &arm, (order << 1) | ST_PENDING,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire));
    return true;
}

/* Undoes a claim whose hand-over could not be queued, if it is still ours. */
static void unclaim(st_timer *t, uint64_t order)
{
    uint64_t expected = (order << 1) | ST_PENDING;
    atomic_compare_exchange_strong(&t->arm, &expected, order << 1);
}

/* S5.7: above DISPATCH_LEVEL no lock and no allocation; hand the arm over. */
static ULONG hand_over(st_adapter *a, st_handover *request)
{
    if (!st_adapter_hand_over(a, request))
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    ST_COUNT(a, handed_over, 1);
    if (!a->clock)
        st_dispatcher_kick(a);
    return STOR_STATUS_SUCCESS;
}

static ULONG request_above_dispatch(st_adapter *a, st_timer *t, uint64_t handle,
                                    st_handover *request)
{
    request->timer = t;
    request->handle = handle;
    request->adapter_serial = atomic_load(&a->serial);
    request->order = next_order();
    if (!claim_pending(t, request->order)) {
        ST_COUNT(a, busy, 1);
        return STOR_STATUS_BUSY;
    }
    ULONG status = hand_over(a, request);
    if (status != STOR_STATUS_SUCCESS) {
        unclaim(t, request->order);
        return reject(a, status);
    }
    ST_COUNT(a, armed, 1);
    return STOR_STATUS_SUCCESS;
}

/* Cancels a pending arm (S5.5); the queue node goes now or, lock-free, lazily. */
static void cancel(st_adapter *a, st_timer *t, bool locked)
{
    if (st_timer_cancel_pending(t))
        ST_COUNT(a, cancelled, 1);
    if (locked && stq_queued(&t->node))
        stq_remove(&a->queue, &t->node);
}

ULONG StorPortRequestTimer(PVOID HwDeviceExtension, PVOID TimerHandle,
                           PHW_TIMER_EX TimerCallback, PVOID CallbackContext,
                           ULONGLONG TimerValue, ULONGLONG TolerableDelay)
{
    if (!HwDeviceExtension || !TimerHandle || !TimerCallback)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_adapter *a;
    st_timer *t = resolve(HwDeviceExtension, TimerHandle, &a);
    if (!t)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    uint64_t handle = handle_value(TimerHandle);
    bool above_dispatch = st_self.irql > DISPATCH_LEVEL;

    if (TimerValue == 0) {
        if (above_dispatch) {
            cancel(a, t, false);
            return STOR_STATUS_SUCCESS;
        }
        pthread_mutex_lock(&a->mutex);
        bool valid = a->live && atomic_load(&t->handle) == handle;
        if (valid)
            cancel(a, t, true);
        pthread_mutex_unlock(&a->mutex);
        return valid ? STOR_STATUS_SUCCESS : reject(a, STOR_STATUS_INVALID_PARAMETER);
    }

    /* S5.2: windows under 32 us are no window; S5.3: saturate, never wrap. */
    uint64_t window = TolerableDelay < 32 ? 0 : TolerableDelay;
    uint64_t due = st_add_saturating(st_adapter_now_for_arming(a), TimerValue);
    st_handover request = {
        .due = due,
        .deadline = st_add_saturating(due, window),
        .callback = TimerCallback,
        .context = CallbackContext,
    };
    if (above_dispatch)
        return request_above_dispatch(a, t, handle, &request);

    pthread_mutex_lock(&a->mutex);
    ULONG status = STOR_STATUS_SUCCESS;
    if (!a->live || atomic_load(&t->handle) != handle) {
        status = reject(a, STOR_STATUS_INVALID_PARAMETER);
    } else {
        st_adapter_drain_handover(a);
        uint64_t order = next_order();
        if (!claim_pending(t, order)) {
            ST_COUNT(a, busy, 1);
            status = STOR_STATUS_BUSY;
        } else {
            t->callback = TimerCallback;
            t->context = CallbackContext;
            st_adapter_queue_arm(a, t, order, request.due, request.deadline);
            ST_COUNT(a, armed, 1);
        }
    }
    pthread_mutex_unlock(&a->mutex);
    return status;
}

/* ---- S6 ---- */

ULONG StorPortFreeTimer(PVOID HwDeviceExtension, PVOID TimerHandle)
{
    if (st_self.irql > DISPATCH_LEVEL)
        return reject_unattributed(STOR_STATUS_INVALID_IRQL);
    if (!HwDeviceExtension || !TimerHandle)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);
    st_adapter *a = st_adapter_lock_by_extension(HwDeviceExtension);
    if (!a)
        return reject_unattributed(STOR_STATUS_INVALID_PARAMETER);

    uint64_t handle = handle_value(TimerHandle), generation;
    st_timer *t = st_registry_timer_at(handle, &generation);
    if (!t || atomic_load(&t->handle) != handle || atomic_load(&t->adapter) != a) {
        ULONG status = st_registry_timer_was_freed(a, handle)
                           ? STOR_STATUS_UNSUCCESSFUL
                           : STOR_STATUS_INVALID_PARAMETER;
        st_adapter_unlock(a);
        return reject(a, status);
    }

    /* Dead at once: no later call can arm it, no queued arm can start. */
    atomic_store_explicit(&t->handle, 0, memory_order_release);
    cancel(a, t, true);
    if (t->prev)
        t->prev->next = t->next;
    else
        a->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    a->timer_count--;
    ST_COUNT(a, timers_freed, 1);

    /* S6.1: wait for a running callback, unless it is ours (it runs to its
     * end and the slot is reclaimed after). Holding the StartIo lock, none
     * can be running. */
    if (a->running == t && st_self.callback_timer == t)
        t->release_after_callback = true;
    else {
        while (a->running == t)
            pthread_cond_wait(&a->idle, &a->mutex);
        st_registry_timer_give_back(a, t);
    }
    st_adapter_unlock(a);
    return STOR_STATUS_SUCCESS;
}

/* ---- S7 ---- */

/* The legacy timer never answers BUSY: a new arm replaces a pending one. */
static void replace_legacy_arm(st_adapter *a, st_timer *t, uint64_t order)
{
    if (atomic_exchange(&t->arm, (order << 1) | ST_PENDING) & ST_PENDING)
        ST_COUNT(a, cancelled, 1);
}

static void request_legacy_timer(PVOID extension, PHW_TIMER routine, ULONG value)
{
    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(extension, &serial);
    if (!a) {
        atomic_fetch_add_explicit(&st_unattributed.notification_misuse, 1,
                                  memory_order_relaxed);
        return;
    }
    st_timer *t = &a->legacy;
    bool above_dispatch = st_self.irql > DISPATCH_LEVEL;
    if (value == 0) {
        if (above_dispatch) {
            cancel(a, t, false);
            return;
        }
        pthread_mutex_lock(&a->mutex);
        if (a->live && atomic_load(&a->serial) == serial)
            cancel(a, t, true);
        pthread_mutex_unlock(&a->mutex);
        return;
    }
    if (!routine) {
        ST_COUNT(a, notification_misuse, 1);
        return;
    }

    uint64_t due = st_add_saturating(st_adapter_now_for_arming(a), value);
    uint64_t order = next_order();
    st_handover request = {
        .timer = t, .adapter_serial = serial, .order = order,
        .due = due, .deadline = due, .legacy_callback = routine,
    };
    if (above_dispatch) {
        replace_legacy_arm(a, t, order);
        if (hand_over(a, &request) != STOR_STATUS_SUCCESS) {
            unclaim(t, order);
            ST_COUNT(a, rejected, 1);
        } else {
            ST_COUNT(a, armed, 1);
            ST_COUNT(a, legacy_armed, 1);
        }
        return;
    }
    pthread_mutex_lock(&a->mutex);
    if (a->live && atomic_load(&a->serial) == serial) {
        st_adapter_drain_handover(a);
        replace_legacy_arm(a, t, order);
        t->legacy_callback = routine;
        st_adapter_queue_arm(a, t, order, due, due);
        ST_COUNT(a, armed, 1);
        ST_COUNT(a, legacy_armed, 1);
    }
    pthread_mutex_unlock(&a->mutex);
}

VOID StorPortNotification(SCSI_NOTIFICATION_TYPE NotificationType, PVOID HwDeviceExtension,
                          ...)
{
    if (NotificationType != RequestTimerCall)
        return; /* accepted and ignored (S7) */
    va_list args;
    va_start(args, HwDeviceExtension);
    PHW_TIMER routine = va_arg(args, PHW_TIMER);
    ULONG value = va_arg(args, ULONG);
    va_end(args);
    request_legacy_timer(HwDeviceExtension, routine, value);
}
