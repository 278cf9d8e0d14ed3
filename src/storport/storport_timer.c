/*
 * storport_timer.c - StorPortInitializeTimer, StorPortRequestTimer,
 * StorPortFreeTimer and StorPortNotification (SPEC S4-S7): the legacy
 * timer, and the notification forms of the time, DPC and lock routines
 * (S13.8, S14.1, S17.3).
 *
 * A thin checking layer: each routine checks its arguments in the order
 * SPEC gives, chooses the path by the caller's IRQL (S5.7), calls one
 * adapter-level action (adapters/timer_ops.h) and answers with the status
 * its outcome calls for. Status codes are decided here and nowhere else. A
 * call answered with an error is counted, against its adapter when it
 * named a live one, and recorded while the event log is on.
 */
#include "adapters/adapter_check.h"
#include "adapters/events.h"
#include "adapters/timer_ops.h"
#include "observe/event_log.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "storport/storport_dpc.h"
#include "storport/storport_time.h"
#include "storport/verify_sites.h"
#include "time/clock.h"

#include <errno.h>
#include <stdarg.h>

/* Counts a call answered with error `status` against adapter `a` (NULL:
 * it named none), and answers. */
static ULONG reject(st_adapter *a, ULONG status)
{
    st_count_rejection(st_adapter_counters(a), status);
    return status;
}

/* Passes a call's answer on, recording it if it is an error (the status is
 * tested first: a successful call does not even load the log's flag). A
 * library built with STORTIMER_CHECKS checks the adapter's invariants after
 * every call (adapters/adapter_check.h). */
static inline ULONG answer(ULONG status, const char *routine, PVOID extension, PVOID handle,
                           bool legacy, const void *caller)
{
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_BUSY) {
        if (st_logging())
            st_log_rejected(status, extension, handle, legacy);
        if (st_verifying())
            st_verify_finding(caller, "%s(%p, %p) answered %s", routine, extension, handle,
                              stortimer_status_name(status));
    }
    st_adapter_check_or_abort(extension);
    return status;
}

/* S5.7, S7.4: at or below DISPATCH_LEVEL under locks; above it (an
 * interrupt path, or a signal handler standing in for one) handed over. */
static inline st_path path_by_irql(void)
{
    return st_self.irql > DISPATCH_LEVEL ? ST_PATH_HANDED_OVER : ST_PATH_LOCKED;
}

/* An arm or cancel: TimerValue 0 cancels (S5.5, S7.1), anything else arms
 * (S5.4). Above DISPATCH_LEVEL it may run in a signal handler: errno is
 * left as it was found. */
static inline __attribute__((always_inline)) ULONG
request(const st_target *target, ULONGLONG value, ULONGLONG window, const st_callback *callback)
{
    st_path path = path_by_irql();
    int saved_errno = path == ST_PATH_HANDED_OVER ? errno : 0;
    st_adapter *a = target->adapter;
    st_outcome outcome =
        value ? st_timer_arm(target, path, st_clock_arm_time(st_adapter_clock(a)), value,
                             window, callback)
              : st_timer_cancel(target, path, callback);
    if (path == ST_PATH_HANDED_OVER)
        errno = saved_errno;
    switch (outcome) {
    case ST_DONE: return STOR_STATUS_SUCCESS;
    case ST_BUSY: return STOR_STATUS_BUSY;                              /* S5.3 */
    case ST_QUEUE_FULL: return reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES); /* S5.7 */
    default: return reject(a, STOR_STATUS_INVALID_PARAMETER);     /* S5.2: died */
    }
}

/* ---- S4 ---- */

static ULONG initialize_timer(PVOID HwDeviceExtension, PVOID *TimerHandle)
{
    if (TimerHandle)
        *TimerHandle = NULL;                                               /* S4.6 */
    if (st_self.irql > DISPATCH_LEVEL)
        return reject(NULL, STOR_STATUS_INVALID_IRQL);                     /* S4.1 */
    st_adapter_ref ref;
    if (!HwDeviceExtension || !TimerHandle || !st_adapter_find(HwDeviceExtension, &ref))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER);                /* S4.2 */
    uint64_t handle;
    switch (st_timer_initialize(&ref, &handle)) {
    case ST_DONE:
        *TimerHandle = st_handle_pointer(handle);                          /* S4.5 */
        return STOR_STATUS_SUCCESS;
    case ST_AT_LIMIT: return reject(ref.adapter, STOR_STATUS_UNSUCCESSFUL);  /* S4.3 */
    case ST_NO_MEMORY:
        return reject(ref.adapter, STOR_STATUS_INSUFFICIENT_RESOURCES);    /* S4.4 */
    default: return reject(NULL, STOR_STATUS_INVALID_PARAMETER);  /* S4.2: removed */
    }
}

ULONG StorPortInitializeTimer(PVOID HwDeviceExtension, PVOID *TimerHandle)
{
    ULONG status = initialize_timer(HwDeviceExtension, TimerHandle);
    if (status == STOR_STATUS_SUCCESS && st_verifying())
        st_sites_initialized(HwDeviceExtension, *TimerHandle, ST_CALLER);
    return answer(status, "StorPortInitializeTimer", HwDeviceExtension, NULL, false, ST_CALLER);
}

/* ---- S5 ---- */

static ULONG request_timer(PVOID HwDeviceExtension, PVOID TimerHandle,
                           PHW_TIMER_EX TimerCallback, PVOID CallbackContext,
                           ULONGLONG TimerValue, ULONGLONG TolerableDelay)
{
    if (!HwDeviceExtension || !TimerHandle || !TimerCallback)
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER);                /* S5.1 */
    st_target target;
    if (!st_timer_find(HwDeviceExtension, TimerHandle, &target))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER);                /* S5.2 */
    st_callback callback = {.extended = TimerCallback, .context = CallbackContext};
    return request(&target, TimerValue, TolerableDelay, &callback);
}

ULONG StorPortRequestTimer(PVOID HwDeviceExtension, PVOID TimerHandle,
                           PHW_TIMER_EX TimerCallback, PVOID CallbackContext,
                           ULONGLONG TimerValue, ULONGLONG TolerableDelay)
{
    return answer(request_timer(HwDeviceExtension, TimerHandle, TimerCallback,
                                CallbackContext, TimerValue, TolerableDelay),
                  "StorPortRequestTimer", HwDeviceExtension, TimerHandle, false, ST_CALLER);
}

/* ---- S6 ---- */

static ULONG free_timer(PVOID HwDeviceExtension, PVOID TimerHandle)
{
    if (st_self.irql > DISPATCH_LEVEL)
        return reject(NULL, STOR_STATUS_INVALID_IRQL);                     /* S6.1 */
    st_adapter_ref ref;
    if (!HwDeviceExtension || !TimerHandle || !st_adapter_find(HwDeviceExtension, &ref))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER);                /* S6.2 */
    switch (st_timer_free(&ref, TimerHandle)) {
    case ST_DONE: return STOR_STATUS_SUCCESS;                              /* S6.4 */
    case ST_ALREADY_FREED: return reject(ref.adapter, STOR_STATUS_UNSUCCESSFUL); /* S6.3 */
    case ST_NOT_HERE: return reject(ref.adapter, STOR_STATUS_INVALID_PARAMETER); /* S6.2 */
    default: return reject(NULL, STOR_STATUS_INVALID_PARAMETER);  /* S6.2: removed */
    }
}

/* Verifier: freeing a pending timer while holding the StartIo lock its
 * callback needs; on Windows the callback may be waiting for that lock. */
static void verify_free(PVOID extension, PVOID handle, const void *caller)
{
    st_target target;
    if (st_self.irql <= DISPATCH_LEVEL && st_timer_find(extension, handle, &target) &&
        st_lock_held_by_me(st_adapter_startio(target.adapter)) &&
        st_arm_word_pending(target.owner.timer) && st_self.callback_adapter != target.adapter)
        st_verify_finding(caller, "StorPortFreeTimer(%p, %p) of a pending timer while holding "
                          "the StartIo lock its callback needs", extension, handle);
}

ULONG StorPortFreeTimer(PVOID HwDeviceExtension, PVOID TimerHandle)
{
    const void *caller = ST_CALLER;
    if (st_verifying())
        verify_free(HwDeviceExtension, TimerHandle, caller);
    ULONG status = free_timer(HwDeviceExtension, TimerHandle);
    if (status == STOR_STATUS_SUCCESS && st_verifying())
        st_sites_freed(HwDeviceExtension, TimerHandle);
    return answer(status, "StorPortFreeTimer", HwDeviceExtension, TimerHandle, false, caller);
}

/* ---- S7 ---- */

/* Bad arguments change nothing; being VOID, the routine can only count
 * them (S7.5): in the adapter's statistics, or the process's when the
 * extension names no live adapter. */
static ULONG notification_misuse(st_adapter *a)
{
    ST_COUNT(st_adapter_counters(a), notification_misuse, 1);
    return STOR_STATUS_INVALID_PARAMETER;
}

static ULONG request_legacy_timer(PVOID extension, PHW_TIMER routine, ULONG value)
{
    st_adapter_ref ref;
    if (!st_adapter_find(extension, &ref))
        return notification_misuse(NULL);
    if (value && !routine)
        return notification_misuse(ref.adapter);
    st_target target;
    if (!st_legacy_find(&ref, &target))
        return reject(ref.adapter, STOR_STATUS_INVALID_PARAMETER); /* removed meanwhile */
    st_callback callback = {.legacy = routine};
    return request(&target, value, 0, &callback);
}

/* The notification forms the WDK's inline wrappers use (S14.1, S17.3),
 * each taking its arguments off `args`. */
static void notify_timer(PVOID extension, va_list args, const void *caller)
{
    PHW_TIMER routine = va_arg(args, PHW_TIMER); // NOLINT(clang-analyzer-valist.Uninitialized)
    ULONG value = va_arg(args, ULONG);
    answer(request_legacy_timer(extension, routine, value), "StorPortNotification(RequestTimerCall)",
           extension, NULL, true, caller);
}

static void notify_issue_dpc(PVOID extension, va_list args, const void *caller)
{
    PSTOR_DPC dpc = va_arg(args, PSTOR_DPC); // NOLINT(clang-analyzer-valist.Uninitialized)
    PVOID argument1 = va_arg(args, PVOID);
    PVOID argument2 = va_arg(args, PVOID);
    /* Exactly one byte: callers declare it BOOLEAN, or a zeroed LONG. */
    PUCHAR result = va_arg(args, PUCHAR);
    BOOLEAN queued = st_issue_dpc(extension, dpc, argument1, argument2, caller);
    if (result)
        *result = queued;
}

static void notify_acquire(PVOID extension, va_list args)
{
    STOR_SPINLOCK lock = (STOR_SPINLOCK)va_arg(args, int); // NOLINT(clang-analyzer-valist.Uninitialized)
    PVOID context = va_arg(args, PVOID);
    PSTOR_LOCK_HANDLE handle = va_arg(args, PSTOR_LOCK_HANDLE);
    StorPortAcquireSpinLock(extension, lock, context, handle);
}

VOID StorPortNotification(SCSI_NOTIFICATION_TYPE NotificationType, PVOID HwDeviceExtension,
                          ...)
{
    va_list args;
    va_start(args, HwDeviceExtension);
    /* Started just above: the analyzer's "uninitialized va_list" is a false
     * positive on x86-64. */
    switch (NotificationType) {
    case RequestTimerCall: notify_timer(HwDeviceExtension, args, ST_CALLER); break; // NOLINT(clang-analyzer-valist.Uninitialized)
    case QueryTickCount:                                                 /* S13.8 */
        st_query_tick_count(HwDeviceExtension, va_arg(args, PLARGE_INTEGER), ST_CALLER); // NOLINT(clang-analyzer-valist.Uninitialized)
        break;
    case InitializeDpc: {                                                /* S14.1 */
        PSTOR_DPC dpc = va_arg(args, PSTOR_DPC); // NOLINT(clang-analyzer-valist.Uninitialized)
        st_initialize_dpc(HwDeviceExtension, dpc, va_arg(args, PHW_DPC_ROUTINE), ST_CALLER);
        break;
    }
    case IssueDpc: notify_issue_dpc(HwDeviceExtension, args, ST_CALLER); break; // NOLINT(clang-analyzer-valist.Uninitialized)
    case AcquireSpinLock: notify_acquire(HwDeviceExtension, args); break; // NOLINT(clang-analyzer-valist.Uninitialized)
    case ReleaseSpinLock:                                                /* S17.3 */
        StorPortReleaseSpinLock(HwDeviceExtension, va_arg(args, PSTOR_LOCK_HANDLE)); // NOLINT(clang-analyzer-valist.Uninitialized)
        break;
    default: break; /* accepted and ignored (S7.5, S17.3) */
    }
    va_end(args);
}
