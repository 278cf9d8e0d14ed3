/*
 * api_tables.c - the library and the model behind the same table (api_tables.h).
 *
 * The library side records every extension pointer and handle it is
 * issued, in order; the model takes the same values in the same order
 * (model.h says why), so "stale", "reused" and "another adapter's" mean
 * the same thing to both.
 */
#include "api_tables.h"

#include "model.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define ISSUED_MAX 16384

static uint64_t issued[ISSUED_MAX];
static size_t issued_count, issued_taken;
static report_sink *sink;

/* Records an extension or a handle; a handle must be new (S4.7), while an
 * extension's memory may be reused once its adapter is removed. */
static void issue(uint64_t value, bool handle)
{
    if (issued_count == ISSUED_MAX) {
        fprintf(stderr, "fuzz: more issued values than an input may have\n");
        abort();
    }
    for (size_t i = 0; handle && i < issued_count; i++) {
        if (issued[i] == value) {
            fprintf(stderr, "fuzz: the library issued %#llx twice (S4.7: never re-issued)\n",
                    (unsigned long long)value);
            abort();
        }
    }
    issued[issued_count++] = value;
}

static uint64_t take_issued(void)
{
    return issued_taken < issued_count ? issued[issued_taken++] : 0;
}

static void library_report(const char *message, void *context)
{
    (void)context;
    sink(message);
}

void api_tables_init(report_sink *to)
{
    sink = to;
    stortimer_set_report_handler(library_report, NULL);
}

void api_tables_reset(report_sink *to)
{
    sink = to;
    issued_count = issued_taken = 0;
    model_reset(take_issued, to);
}

/* ---- the library, with what it issues recorded ---- */

static ULONG library_adapter_create(const stortimer_adapter_config *config, PVOID *extension)
{
    ULONG status = stortimer_adapter_create(config, extension);
    if (status == STOR_STATUS_SUCCESS)
        issue((uint64_t)(uintptr_t)*extension, false);
    return status;
}

static ULONG library_initialize(PVOID extension, PVOID *handle)
{
    ULONG status = StorPortInitializeTimer(extension, handle);
    if (status == STOR_STATUS_SUCCESS) {
        if (!*handle) {
            fprintf(stderr, "fuzz: StorPortInitializeTimer succeeded with a NULL handle\n");
            abort();
        }
        issue((uint64_t)(uintptr_t)*handle, true);
    }
    return status;
}

static void library_request_timer_call(PVOID extension, PHW_TIMER routine, ULONG value)
{
    StorPortNotification(RequestTimerCall, extension, routine, value);
}

static void library_other_notification(PVOID extension)
{
    StorPortNotification(NextRequest, extension);
}

static void library_acquire(PVOID extension, STOR_SPINLOCK kind, PSTOR_LOCK_HANDLE handle)
{
    StorPortAcquireSpinLock(extension, kind, NULL, handle);
}

static void library_query_tick_count(PVOID extension, PLARGE_INTEGER tick_count)
{
    StorPortNotification(QueryTickCount, extension, tick_count);
}

static void library_issue_dpc_notification(PVOID extension, PSTOR_DPC dpc, PVOID argument1,
                                           PVOID argument2, LONG *result)
{
    StorPortNotification(IssueDpc, extension, dpc, argument1, argument2, (PBOOLEAN)result);
}

const api library_api = {
    .name = "library",
    .adapter_create = library_adapter_create,
    .adapter_remove = stortimer_adapter_remove,
    .clock_create = stortimer_clock_virtual_create,
    .clock_destroy = stortimer_clock_destroy,
    .clock_now = stortimer_clock_now,
    .clock_advance = stortimer_clock_advance,
    .bind_clock = stortimer_thread_bind_clock,
    .irql_current = stortimer_irql_current,
    .irql_raise = stortimer_irql_raise,
    .irql_lower = stortimer_irql_lower,
    .stats_read = stortimer_stats_read,
    .initialize = library_initialize,
    .request = StorPortRequestTimer,
    .free_timer = StorPortFreeTimer,
    .request_timer_call = library_request_timer_call,
    .other_notification = library_other_notification,
    .acquire = library_acquire,
    .release = StorPortReleaseSpinLock,
    .stall = StorPortStallExecution,
    .query_system_time = StorPortQuerySystemTime,
    .query_performance_counter = StorPortQueryPerformanceCounter,
    .query_timer_min_interval = StorPortQueryTimerMinInterval,
    .query_tick_count = library_query_tick_count,
    .clock_set_tick = stortimer_clock_set_tick,
    .clock_set_system_time = stortimer_clock_set_system_time,
    .clock_next_fire = stortimer_clock_next_fire,
    .initialize_dpc = StorPortInitializeDpc,
    .issue_dpc = StorPortIssueDpc,
    .issue_dpc_notification = library_issue_dpc_notification,
    .synchronize_access = StorPortSynchronizeAccess,
    .pause = StorPortPause,
    .resume = StorPortResume,
    .pause_device = StorPortPauseDevice,
    .resume_device = StorPortResumeDevice,
    .adapter_pause_state = stortimer_adapter_pause_state,
    .unit_pause_state = stortimer_unit_pause_state,
};

/* ---- the model ---- */

static void model_other_notification(PVOID extension)
{
    (void)extension; /* accepted and ignored (S7.5) */
}

/* The notification form answers in one byte of *result (S14.1). */
static void model_issue_dpc_notification(PVOID extension, PSTOR_DPC dpc, PVOID argument1,
                                         PVOID argument2, LONG *result)
{
    BOOLEAN answer = model_issue_dpc(extension, dpc, argument1, argument2);
    if (result)
        *(BOOLEAN *)result = answer;
}

const api model_api = {
    .name = "model",
    .adapter_create = model_adapter_create,
    .adapter_remove = model_adapter_remove,
    .clock_create = model_clock_virtual_create,
    .clock_destroy = model_clock_destroy,
    .clock_now = model_clock_now,
    .clock_advance = model_clock_advance,
    .bind_clock = model_thread_bind_clock,
    .irql_current = model_irql_current,
    .irql_raise = model_irql_raise,
    .irql_lower = model_irql_lower,
    .stats_read = model_stats_read,
    .initialize = model_initialize_timer,
    .request = model_request_timer,
    .free_timer = model_free_timer,
    .request_timer_call = model_request_timer_call,
    .other_notification = model_other_notification,
    .acquire = model_acquire_spin_lock,
    .release = model_release_spin_lock,
    .stall = model_stall_execution,
    .query_system_time = model_query_system_time,
    .query_performance_counter = model_query_performance_counter,
    .query_timer_min_interval = model_query_timer_min_interval,
    .query_tick_count = model_query_tick_count,
    .clock_set_tick = model_clock_set_tick,
    .clock_set_system_time = model_clock_set_system_time,
    .clock_next_fire = model_clock_next_fire,
    .initialize_dpc = model_initialize_dpc,
    .issue_dpc = model_issue_dpc,
    .issue_dpc_notification = model_issue_dpc_notification,
    .synchronize_access = model_synchronize_access,
    .pause = model_pause,
    .resume = model_resume,
    .pause_device = model_pause_device,
    .resume_device = model_resume_device,
    .adapter_pause_state = model_adapter_pause_state,
    .unit_pause_state = model_unit_pause_state,
};
