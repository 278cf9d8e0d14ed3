/*
 * storport_time.c - StorPortQuerySystemTime, StorPortQueryPerformanceCounter,
 * StorPortQueryTimerMinInterval, the QueryTickCount notification and
 * StorPortGetCurrentProcessorNumber (SPEC S13, S17.1).
 *
 * Every reading comes from a stortimer clock (time/views.h), so it agrees
 * with when timers fire. All of them may run at any IRQL: they take no
 * lock, allocate nothing and print nothing above DISPATCH_LEVEL.
 */
#include "storport/storport_time.h"

#include "adapters/events.h"
#include "observe/event_log.h"
#include "platform/os.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "time/clock.h"
#include "time/views.h"

/* Counts a routine's error answer against the adapter (NULL: the process)
 * and records it. */
static ULONG reject(st_adapter *a, ULONG status, PVOID extension, const char *routine,
                    const void *caller)
{
    st_count_rejection(st_adapter_counters(a), status);
    if (st_logging())
        st_log_rejected(status, extension, NULL, false);
    if (st_verifying())
        st_verify_finding(caller, "%s(%p) answered %s", routine, extension,
                          stortimer_status_name(status));
    return status;
}

/* The views of the adapter's clock, if `extension` is a live adapter's. */
static bool adapter_views(PVOID extension, stortimer_time_views *views)
{
    st_adapter_ref ref;
    if (!extension || !st_adapter_find(extension, &ref))
        return false;
    st_clock_views(st_adapter_clock(ref.adapter), views);
    return true;
}

/* ---- S13.6 ---- */

VOID StorPortQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    if (!CurrentTime) {
        ST_COUNT(st_counters_unattributed(), time_query_misuse, 1);
        if (st_self.irql <= DISPATCH_LEVEL)
            st_report("StorPortQuerySystemTime: NULL CurrentTime (nothing written)");
        if (st_verifying())
            st_verify_finding(ST_CALLER, "StorPortQuerySystemTime(NULL)");
        return;
    }
    /* The thread's clock: its adapter's inside callbacks, DPC routines and
     * synchronized routines, its binding otherwise (S13.1). */
    stortimer_time_views views;
    st_clock_views(st_self.bound_clock, &views);
    CurrentTime->QuadPart = views.system_time;
}

/* ---- S13.7 ---- */

ULONG StorPortQueryPerformanceCounter(PVOID HwDeviceExtension,
                                      PLARGE_INTEGER PerformanceFrequency,
                                      PLARGE_INTEGER PerformanceCounter)
{
    static const char routine[] = "StorPortQueryPerformanceCounter";
    if (!PerformanceCounter)
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER); /* S13.7 (1) */
    stortimer_time_views views;
    if (!adapter_views(HwDeviceExtension, &views))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER); /* S13.7 (2) */
    PerformanceCounter->QuadPart = views.performance_counter;
    if (PerformanceFrequency)
        PerformanceFrequency->QuadPart = views.performance_frequency;
    return STOR_STATUS_SUCCESS;
}

/* ---- S13.9 ---- */

ULONG StorPortQueryTimerMinInterval(PVOID HwDeviceExtension, PULONG TimerMinInterval)
{
    static const char routine[] = "StorPortQueryTimerMinInterval";
    if (!HwDeviceExtension || !TimerMinInterval)
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER); /* S13.9 (1) */
    stortimer_time_views views;
    if (!adapter_views(HwDeviceExtension, &views))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER); /* S13.9 (2) */
    *TimerMinInterval = views.timer_min_interval;
    return STOR_STATUS_SUCCESS;
}

/* ---- S13.8 ---- */

void st_query_tick_count(PVOID extension, PLARGE_INTEGER tick_count, const void *caller)
{
    st_adapter_ref ref;
    bool live = extension && st_adapter_find(extension, &ref);
    if (!live || !tick_count) {
        ST_COUNT(st_adapter_counters(live ? ref.adapter : NULL), notification_misuse, 1);
        if (st_verifying())
            st_verify_finding(caller, "StorPortNotification(QueryTickCount, %p, %p): %s",
                              extension, (void *)tick_count,
                              live ? "NULL TickCount" : "not a live adapter");
        return;
    }
    stortimer_time_views views;
    st_clock_views(st_adapter_clock(ref.adapter), &views);
    tick_count->QuadPart = views.tick_count;
}

/* ---- S17.1 ---- */

ULONG StorPortGetCurrentProcessorNumber(PVOID HwDeviceExtension, PPROCESSOR_NUMBER ProcNumber)
{
    static const char routine[] = "StorPortGetCurrentProcessorNumber";
    st_adapter_ref ref;
    if (!HwDeviceExtension || !ProcNumber)
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER);
    if (!st_adapter_find(HwDeviceExtension, &ref))
        return reject(NULL, STOR_STATUS_INVALID_PARAMETER, HwDeviceExtension, routine, ST_CALLER);
    /* Deterministic on a virtual clock; the CPU, modulo 64, on the real one. */
    unsigned cpu = st_adapter_clock(ref.adapter) ? 0 : st_os_cpu() % 64u;
    *ProcNumber = (PROCESSOR_NUMBER){.Group = 0, .Number = (UCHAR)cpu, .Reserved = 0};
    return STOR_STATUS_SUCCESS;
}
