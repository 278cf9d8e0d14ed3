/*
 * api_tables.h - the two implementations the fuzzer compares, behind one table
 * of the routines a program calls: the library and the reference model.
 */
#ifndef STORTIMER_FUZZ_API_TABLES_H
#define STORTIMER_FUZZ_API_TABLES_H

#include "storport.h"
#include "stortimer.h"

typedef struct api {
    const char *name;
    ULONG (*adapter_create)(const stortimer_adapter_config *config, PVOID *extension);
    ULONG (*adapter_remove)(PVOID extension, ULONG *leaked);
    stortimer_clock *(*clock_create)(void);
    void (*clock_destroy)(stortimer_clock *clock);
    ULONGLONG (*clock_now)(const stortimer_clock *clock);
    void (*clock_advance)(stortimer_clock *clock, ULONGLONG microseconds);
    stortimer_clock *(*bind_clock)(stortimer_clock *clock);
    KIRQL (*irql_current)(void);
    KIRQL (*irql_raise)(KIRQL level);
    void (*irql_lower)(KIRQL level);
    ULONG (*stats_read)(PVOID extension, stortimer_stats *stats);
    ULONG (*initialize)(PVOID extension, PVOID *handle);
    ULONG (*request)(PVOID extension, PVOID handle, PHW_TIMER_EX callback, PVOID context,
                     ULONGLONG value, ULONGLONG tolerable_delay);
    ULONG (*free_timer)(PVOID extension, PVOID handle);
    void (*request_timer_call)(PVOID extension, PHW_TIMER routine, ULONG value);
    void (*other_notification)(PVOID extension);
    void (*acquire)(PVOID extension, STOR_SPINLOCK kind, PSTOR_LOCK_HANDLE handle);
    void (*release)(PVOID extension, PSTOR_LOCK_HANDLE handle);
    void (*stall)(ULONG delay);
    /* S13-S17 */
    void (*query_system_time)(PLARGE_INTEGER current_time);
    ULONG (*query_performance_counter)(PVOID extension, PLARGE_INTEGER frequency,
                                       PLARGE_INTEGER counter);
    ULONG (*query_timer_min_interval)(PVOID extension, PULONG interval);
    void (*query_tick_count)(PVOID extension, PLARGE_INTEGER tick_count);
    ULONG (*clock_set_tick)(stortimer_clock *clock, ULONG tick_us);
    ULONG (*clock_set_system_time)(stortimer_clock *clock, LONGLONG base_100ns);
    BOOLEAN (*clock_next_fire)(stortimer_clock *clock, ULONGLONG *fire_time);
    void (*initialize_dpc)(PVOID extension, PSTOR_DPC dpc, PHW_DPC_ROUTINE routine);
    BOOLEAN (*issue_dpc)(PVOID extension, PSTOR_DPC dpc, PVOID argument1, PVOID argument2);
    /* StorPortNotification(IssueDpc, ...): the answer in *result, one byte. */
    void (*issue_dpc_notification)(PVOID extension, PSTOR_DPC dpc, PVOID argument1,
                                   PVOID argument2, LONG *result);
    BOOLEAN (*synchronize_access)(PVOID extension, PSTOR_SYNCHRONIZED_ACCESS routine,
                                  PVOID context);
    BOOLEAN (*pause)(PVOID extension, ULONG timeout);
    BOOLEAN (*resume)(PVOID extension);
    BOOLEAN (*pause_device)(PVOID extension, UCHAR path, UCHAR target, UCHAR lun,
                            ULONG timeout);
    BOOLEAN (*resume_device)(PVOID extension, UCHAR path, UCHAR target, UCHAR lun);
    ULONG (*adapter_pause_state)(PVOID extension, stortimer_pause_state *state);
    ULONG (*unit_pause_state)(PVOID extension, UCHAR path, UCHAR target, UCHAR lun,
                              stortimer_pause_state *state);
} api;

extern const api library_api;
extern const api model_api;

/* Where both sides' misuse reports go: one line each. */
typedef void report_sink(const char *message);

/* Starts an input: forgets the values the library issued, resets the model. */
void api_tables_reset(report_sink *sink);

/* Installs the library's report handler (once). */
void api_tables_init(report_sink *sink);

#endif
