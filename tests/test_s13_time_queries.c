/*
 * SPEC S13.6-S13.11: StorPortQuerySystemTime, StorPortQueryPerformanceCounter,
 * QueryTickCount and StorPortQueryTimerMinInterval at every IRQL, in signal
 * handlers and with bad input (S13.6-S13.9); reading has no side effects
 * (S13.10) and timers are not rounded to ticks (S13.11).
 */
#include "time_fixture.h"
#include "signal_fixture.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* Runs fn in a real signal handler at HIGH_LEVEL, on this thread. */
static void (*signal_body)(void);
static void signal_trampoline(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    signal_body();
    stortimer_irql_lower(old);
}

static void in_signal_handler(void (*fn)(void))
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = signal_trampoline;
    sigemptyset(&action.sa_mask);
    signal_body = fn;
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
}

static const KIRQL every_irql[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, 3,
                                   STOR_DEVICE_LEVEL, HIGH_LEVEL};

/* ---- S13.6: StorPortQuerySystemTime ---- */

TEST_BOTH(s13_6_system_time_at_every_irql)
{
    stortimer_thread_bind_clock(fx->clock);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 45678);
    for (int i = 0; i < 6; i++) {
        LONGLONG before = views_of(fx->clock).system_time;
        KIRQL old = stortimer_irql_raise(every_irql[i]);
        LONGLONG sys = system_time_now();
        stortimer_irql_lower(old);
        LONGLONG after = views_of(fx->clock).system_time;
        CHECK(sys != SENTINEL && sys >= before && sys <= after);
        if (fx->clock)
            CHECK_EQ(sys, EPOCH + 400000);
    }
    stortimer_thread_bind_clock(NULL);
}

static LONGLONG signal_sys, signal_pc, signal_ticks;
static ULONG signal_min, signal_pc_status, signal_min_status;
static PVOID signal_ext;
static void query_everything(void)
{
    LARGE_INTEGER li = {.QuadPart = SENTINEL}, c = {.QuadPart = SENTINEL},
                  tc = {.QuadPart = SENTINEL};
    StorPortQuerySystemTime(&li);
    signal_sys = li.QuadPart;
    signal_pc_status = StorPortQueryPerformanceCounter(signal_ext, NULL, &c);
    signal_pc = c.QuadPart;
    StorPortNotification(QueryTickCount, signal_ext, &tc);
    signal_ticks = tc.QuadPart;
    signal_min_status = StorPortQueryTimerMinInterval(signal_ext, &signal_min);
}

TEST_BOTH(s13_6_queries_answer_in_a_signal_handler)
{
    signal_ext = fx_adapter(fx, 0);
    stortimer_thread_bind_clock(fx->clock);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 31234);
    stortimer_time_views before = views_of(fx->clock);
    in_signal_handler(query_everything);
    stortimer_time_views after = views_of(fx->clock);
    stortimer_thread_bind_clock(NULL);
    CHECK_STATUS(signal_pc_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(signal_min_status, STOR_STATUS_SUCCESS);
    CHECK(signal_sys >= before.system_time && signal_sys <= after.system_time);
    CHECK(signal_pc >= before.performance_counter && signal_pc <= after.performance_counter);
    CHECK(signal_ticks >= before.tick_count && signal_ticks <= after.tick_count);
    CHECK_EQ(signal_min, before.timer_min_interval);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    fx_remove(signal_ext);
}

static _Atomic int handler_runs, handler_bad;
static void query_and_check(void)
{
    query_everything();
    if (signal_pc_status != STOR_STATUS_SUCCESS || signal_min_status != STOR_STATUS_SUCCESS ||
        signal_sys == SENTINEL || signal_ticks == SENTINEL)
        atomic_fetch_add(&handler_bad, 1);
    atomic_fetch_add(&handler_runs, 1);
}

TEST_BOTH(s13_6_queries_in_signals_landing_inside_library_calls_never_deadlock)
{
    /* The handler reads the time while this thread is inside arms, frees,
     * advances and readings of the same adapter and clock. */
    signal_ext = fx_adapter(fx, 0);
    stortimer_thread_bind_clock(fx->clock);
    in_signal_handler(query_and_check);
    test_thread *t = interrupter_start();
    for (int i = 0; i < 20000 || (atomic_load(&handler_runs) < 300 && i < 500000); i++) {
        PVOID timer = new_timer(signal_ext);
        StorPortRequestTimer(signal_ext, timer, stamp_callback, NULL, 1000000, 0);
        CHECK_STATUS(StorPortFreeTimer(signal_ext, timer), STOR_STATUS_SUCCESS);
        views_of(fx->clock);
        system_time_now();
        if (fx->clock && i % 64 == 63)
            StorPortStallExecution(10);
    }
    interrupter_stop(t);
    stortimer_thread_bind_clock(NULL);
    CHECK(atomic_load(&handler_runs) > 1);
    CHECK_EQ(atomic_load(&handler_bad), 0);
    fx_remove(signal_ext);
}

TEST(s13_6_null_current_time_is_counted_and_reported_only_at_or_below_dispatch)
{
    ULONGLONG before = stats_of(NULL).time_query_misuse;
    reports_capture();
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    StorPortQuerySystemTime(NULL);
    stortimer_irql_lower(old);
    CHECK_EQ(reports_count(), 0);
    CHECK_EQ(stats_of(NULL).time_query_misuse, before + 1);
    old = stortimer_irql_raise(DISPATCH_LEVEL);
    StorPortQuerySystemTime(NULL);
    stortimer_irql_lower(old);
    CHECK_EQ(reports_count(), 1);
    reports_release();
    CHECK_EQ(stats_of(NULL).time_query_misuse, before + 2);
}

static void query_null_time(void) { StorPortQuerySystemTime(NULL); }

TEST(s13_6_null_current_time_in_a_signal_handler_is_counted)
{
    stortimer_stats before = stats_of(NULL);
    in_signal_handler(query_null_time);
    CHECK_EQ(stats_of(NULL).time_query_misuse, before.time_query_misuse + 1);
}

/* ---- S13.7: StorPortQueryPerformanceCounter ---- */

TEST(s13_7_1_null_counter_is_invalid_parameter_and_writes_no_frequency)
{
    PVOID ext = virtual_adapter(0);
    stortimer_stats before = stats_of(NULL);
    LARGE_INTEGER f = {.QuadPart = SENTINEL};
    CHECK_STATUS(StorPortQueryPerformanceCounter(ext, &f, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryPerformanceCounter(NULL, &f, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(f.QuadPart, SENTINEL);
    CHECK_EQ(stats_of(NULL).rejected_invalid_parameter, before.rejected_invalid_parameter + 2);
}

static void check_counter_refused(PVOID bad)
{
    stortimer_stats before = stats_of(NULL);
    LARGE_INTEGER f = {.QuadPart = SENTINEL}, c = {.QuadPart = SENTINEL};
    CHECK_STATUS(StorPortQueryPerformanceCounter(bad, &f, &c), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(f.QuadPart, SENTINEL);
    CHECK_EQ(c.QuadPart, SENTINEL);
    CHECK_EQ(stats_of(NULL).rejected_invalid_parameter, before.rejected_invalid_parameter + 1);
}

TEST(s13_7_2_null_forged_or_removed_extension_is_invalid_parameter_writing_nothing)
{
    struct { char bytes[256]; } forged;
    memset(&forged, 0, sizeof forged);
    PVOID removed = virtual_adapter(0);
    fx_remove(removed);
    check_counter_refused(removed);
    check_counter_refused(NULL);
    check_counter_refused(&forged);
    check_counter_refused((PVOID)0x10);
}

TEST_BOTH(s13_7_3_counter_and_optional_frequency_at_every_irql)
{
    PVOID ext = fx_adapter(fx, 0);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 4321);
    for (int i = 0; i < 6; i++) {
        LONGLONG before = views_of(fx->clock).performance_counter;
        KIRQL old = stortimer_irql_raise(every_irql[i]);
        LARGE_INTEGER f = {.QuadPart = 0}, c = {.QuadPart = SENTINEL};
        ULONG status = StorPortQueryPerformanceCounter(ext, i % 2 ? NULL : &f, &c);
        stortimer_irql_lower(old);
        CHECK_STATUS(status, STOR_STATUS_SUCCESS);
        CHECK(c.QuadPart >= before && c.QuadPart <= views_of(fx->clock).performance_counter);
        CHECK_EQ(f.QuadPart, i % 2 ? 0 : 10000000);
        if (fx->clock)
            CHECK_EQ(c.QuadPart, 43210);
    }
    fx_remove(ext);
}

/* ---- S13.8: QueryTickCount ---- */

TEST_BOTH(s13_8_tick_count_at_every_irql)
{
    PVOID ext = fx_adapter(fx, 0);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 12345678);
    for (int i = 0; i < 6; i++) {
        LONGLONG before = views_of(fx->clock).tick_count;
        KIRQL old = stortimer_irql_raise(every_irql[i]);
        LARGE_INTEGER tc = {.QuadPart = SENTINEL};
        StorPortNotification(QueryTickCount, ext, &tc);
        stortimer_irql_lower(old);
        CHECK(tc.QuadPart >= before && tc.QuadPart <= views_of(fx->clock).tick_count);
        if (fx->clock)
            CHECK_EQ(tc.QuadPart, 1234);
    }
    fx_remove(ext);
}

TEST(s13_8_unknown_extension_writes_nothing_and_counts_in_the_process)
{
    PVOID removed = virtual_adapter(0);
    fx_remove(removed);
    char forged[256] = {0};
    PVOID bad[3] = {NULL, forged, removed};
    for (int i = 0; i < 3; i++) {
        stortimer_stats before = stats_of(NULL);
        LARGE_INTEGER tc = {.QuadPart = SENTINEL};
        StorPortNotification(QueryTickCount, bad[i], &tc);
        CHECK_EQ(tc.QuadPart, SENTINEL);
        CHECK_EQ(stats_of(NULL).notification_misuse, before.notification_misuse + 1);
    }
}

TEST(s13_8_null_tick_count_counts_in_the_adapter)
{
    PVOID ext = virtual_adapter(0);
    StorPortNotification(QueryTickCount, ext, (PLARGE_INTEGER)NULL);
    CHECK_EQ(stats_of(ext).notification_misuse, 1);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    StorPortNotification(QueryTickCount, ext, (PLARGE_INTEGER)NULL);
    stortimer_irql_lower(old);
    CHECK_EQ(stats_of(ext).notification_misuse, 2);
}

/* ---- S13.9: StorPortQueryTimerMinInterval ---- */

TEST_BOTH(s13_9_min_interval_is_ten_ticks_at_every_irql)
{
    PVOID ext = fx_adapter(fx, 0);
    ULONG expected = 10u * views_of(fx->clock).tick_us;
    for (int i = 0; i < 6; i++) {
        ULONG min = 0;
        KIRQL old = stortimer_irql_raise(every_irql[i]);
        ULONG status = StorPortQueryTimerMinInterval(ext, &min);
        stortimer_irql_lower(old);
        CHECK_STATUS(status, STOR_STATUS_SUCCESS);
        CHECK_EQ(min, expected);
    }
    if (fx->clock)
        CHECK_EQ(expected, 100000);
    fx_remove(ext);
}

TEST(s13_9_bad_arguments_are_invalid_parameter_and_write_nothing)
{
    PVOID ext = virtual_adapter(0), removed = virtual_adapter(0);
    fx_remove(removed);
    char forged[256] = {0};
    stortimer_stats before = stats_of(NULL);
    ULONG min = 0xDEADBEEF;
    CHECK_STATUS(StorPortQueryTimerMinInterval(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(NULL, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(forged, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(removed, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval((PVOID)0x10, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(min, 0xDEADBEEF);
    CHECK_EQ(stats_of(NULL).rejected_invalid_parameter, before.rejected_invalid_parameter + 6);
    CHECK_EQ(stats_of(NULL).rejected_unsuccessful, before.rejected_unsuccessful);
}

/* ---- S13.10: reading has no side effects ---- */

TEST(s13_10_reading_never_moves_the_clock_nor_runs_due_callbacks)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_thread_bind_clock(fx->clock);
    StorPortStallExecution(500);            /* the callback is now due */
    LONGLONG first = system_time_now();
    for (int i = 0; i < 100000; i++) {      /* a loop waiting for the time to change */
        stortimer_time_views r;
        read_all(ext, fx->clock, &r);
        PROCESSOR_NUMBER n;
        StorPortGetCurrentProcessorNumber(ext, &n);
        views_of(fx->clock);
        CHECK_EQ(r.now_us, 500);
        CHECK_EQ(r.system_time, first);
    }
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_clock_advance(fx->clock, 0);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 500);
    fx_remove(ext);
}

/* ---- S13.11: timers are not rounded to ticks ---- */

static _Atomic int legacy_fired;
static ULONGLONG legacy_at;
static VOID legacy_note(PVOID ext)
{
    (void)ext;
    legacy_at = stortimer_clock_now(virtual_fixture()->clock);
    atomic_fetch_add(&legacy_fired, 1);
}

TEST(s13_11_timers_fire_at_microsecond_precision_whatever_the_tick)
{
    fixture *fx = virtual_fixture();
    CHECK_STATUS(stortimer_clock_set_tick(fx->clock, 1000), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    probe a, b;
    probe_init(&a, fx, ext);
    probe_init(&b, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &a, 1, 0);
    arm(ext, new_timer(ext), probe_callback, &b, 1501, 0);
    StorPortNotification(RequestTimerCall, ext, legacy_note, (ULONG)2999);
    CHECK(fx_pass_until_fired(fx, 1, &a.fired, 1));
    CHECK(fx_pass_until_fired(fx, 1500, &b.fired, 1));
    CHECK(fx_pass_until_fired(fx, 1498, &legacy_fired, 1));
    CHECK_EQ(a.at[0], 1);
    CHECK_EQ(b.at[0], 1501);
    CHECK_EQ(legacy_at, 2999);
    fx_remove(ext);
}
