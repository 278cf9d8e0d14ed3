/*
 * SPEC S17.14-S17.20, the known differences of the time, pauses,
 * SynchronizeAccess and bad arguments, each shown as behaviour: the time's
 * origin, tick and frequency (S17.14), reading never moves a virtual clock
 * (S17.15), microsecond timers (S17.16), pauses (S17.17), SynchronizeAccess
 * under the interrupt lock (S17.18) and bad arguments that are never
 * dereferenced (S17.20).
 */
#include "runs_fixture.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- S17.14 the time's origin, tick and frequency ---- */

TEST(s17_14_virtual_system_time_starts_at_2000_01_01)
{
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(virtual_fixture()->clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.system_time, 125911584000000000ll);
    stortimer_clock *was = stortimer_thread_bind_clock(virtual_fixture()->clock);
    LARGE_INTEGER now;
    now.QuadPart = -1;
    StorPortQuerySystemTime(&now);
    stortimer_thread_bind_clock(was);
    CHECK_EQ(now.QuadPart, 125911584000000000ll);
}

TEST_BOTH(s17_14_tick_defaults_to_10_ms)
{
    PVOID ext = fx_adapter(fx, 0);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(fx->clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.tick_us, 10000);
    CHECK_EQ(v.timer_min_interval, 100000);
    ULONG min = 0;
    CHECK_STATUS(StorPortQueryTimerMinInterval(ext, &min), STOR_STATUS_SUCCESS);
    CHECK_EQ(min, 100000);
}

TEST_BOTH(s17_14_performance_frequency_is_10_mhz_whatever_the_tick)
{
    if (fx->clock)
        CHECK_STATUS(stortimer_clock_set_tick(fx->clock, 15625), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    LARGE_INTEGER frequency, counter;
    frequency.QuadPart = 0;
    CHECK_STATUS(StorPortQueryPerformanceCounter(ext, &frequency, &counter), STOR_STATUS_SUCCESS);
    CHECK_EQ(frequency.QuadPart, 10000000);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(fx->clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.performance_frequency, 10000000);
}

TEST_REAL(s17_14_real_system_time_moves_only_with_the_monotonic_reading)
{
    (void)fx;
    stortimer_time_views a, b;
    CHECK_STATUS(stortimer_clock_read_times(NULL, &a), STOR_STATUS_SUCCESS);
    uint64_t m1 = mono_ns() / 1000;
    sleep_us(30000);
    uint64_t m0 = mono_ns() / 1000;
    CHECK_STATUS(stortimer_clock_read_times(NULL, &b), STOR_STATUS_SUCCESS);
    CHECK(a.now_us <= m1 && m0 <= b.now_us); /* CLOCK_MONOTONIC readings */
    LONGLONG t = a.tick_us;
    /* The base B = system time - 10 T floor(t / T) stays fixed ... */
    CHECK_EQ(a.system_time - 10 * t * (LONGLONG)(a.now_us / (ULONGLONG)t),
             b.system_time - 10 * t * (LONGLONG)(b.now_us / (ULONGLONG)t));
    /* ... so system time moved by the monotonic clock's whole ticks, no more, no less. */
    CHECK_EQ(b.system_time - a.system_time, 10 * t * (b.tick_count - a.tick_count));
}

/* ---- S17.15 reading never moves a virtual clock ---- */

TEST(s17_15_polling_the_time_never_sees_it_change_on_a_virtual_clock)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 1, 0);
    stortimer_clock *was = stortimer_thread_bind_clock(clock);
    LARGE_INTEGER first, now, counter, ticks;
    StorPortQuerySystemTime(&first);
    int changed = 0;
    for (int i = 0; i < 20000; i++) { /* a miniport's wait for the time to change */
        StorPortQuerySystemTime(&now);
        StorPortQueryPerformanceCounter(ext, NULL, &counter);
        StorPortNotification(QueryTickCount, ext, &ticks);
        changed += now.QuadPart != first.QuadPart || counter.QuadPart != 0 || ticks.QuadPart != 0;
    }
    stortimer_thread_bind_clock(was);
    CHECK_EQ(changed, 0);
    CHECK_EQ(stortimer_clock_now(clock), 0);
    CHECK_EQ(atomic_load(&runs.n), 0); /* the timer due at 1 us never ran */
}

/* ---- S17.16 microsecond precision ---- */

TEST_BOTH(s17_16_timers_fire_at_microsecond_precision_not_at_ticks)
{
    runs.fx = fx;
    PVOID ext = fx_adapter(fx, 0);
    ULONG min = 0;
    CHECK_STATUS(StorPortQueryTimerMinInterval(ext, &min), STOR_STATUS_SUCCESS);
    CHECK_EQ(min, 100000); /* a 10 ms tick */
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    ULONGLONG called = fx_now(fx);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 1234, 0);
    fx_pass(fx, 1234);
    CHECK(fx_await(fx, &runs.n, 1));
    check_fired_at(fx, runs.at[0], called, 1234);
    stortimer_event e[64];
    size_t n = stortimer_log_read(e, 0, 64);
    size_t i = 0;
    while (i < n && e[i].type != STORTIMER_EVENT_ARMED)
        i++;
    CHECK(i < n);
    /* The arm's own reading may round the call's nanoseconds up (never early). */
    if (e[i].due < called + 1234 || e[i].due > e[i].time + 1234 + 1)
        test_failf(__FILE__, __LINE__, "arm at %llu..%llu: due %llu", called, e[i].time, e[i].due);
    CHECK_EQ(e[i].fire_time, e[i].due); /* planned for that microsecond, not a tick */
}

/* ---- S17.17 pauses ---- */

TEST_BOTH(s17_17_a_paused_adapter_still_runs_its_timers_and_dpcs)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 60));
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 500, 0);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &runs.n, 2));
    CHECK(pause_of(ext).paused);
}

TEST_BOTH(s17_17_pauses_do_not_nest_one_resume_ends_two)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 30));
    CHECK(StorPortPause(ext, 30));
    CHECK(StorPortResume(ext));
    stortimer_pause_state s = pause_of(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    CHECK_EQ(stats_of(ext).resumes, 1);
}

TEST_BOTH(s17_17_a_second_pause_only_pushes_the_deadline_later)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 100));
    ULONGLONG first = pause_of(ext).until_us;
    CHECK(StorPortPause(ext, 5));
    CHECK_EQ(pause_of(ext).until_us, first);
    CHECK(StorPortPause(ext, 200));
    CHECK(pause_of(ext).until_us >= first + 100 * SECOND);
}

TEST_BOTH(s17_17_resume_that_finds_no_pause_answers_true)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK_EQ(StorPortResume(ext), TRUE);
    CHECK_EQ(StorPortResumeDevice(ext, 0, 1, 0), TRUE);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.resumes_unpaused, 1);
    CHECK_EQ(s.unit_resumes_unpaused, 1);
    CHECK(!pause_of(ext).paused);
}

TEST(s17_17_unit_addresses_are_not_checked)
{
    PVOID ext = virtual_adapter(0);
    CHECK_EQ(StorPortPauseDevice(ext, 255, 255, 255, 10), TRUE);
    stortimer_pause_state s;
    CHECK_STATUS(stortimer_unit_pause_state(ext, 255, 255, 255, &s), STOR_STATUS_SUCCESS);
    CHECK(s.paused && s.held);
    CHECK_EQ(StorPortResumeDevice(ext, 255, 255, 255), TRUE);
    CHECK_STATUS(stortimer_unit_pause_state(ext, 255, 255, 255, &s), STOR_STATUS_SUCCESS);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
}

/* ---- S17.18 SynchronizeAccess under the interrupt lock ---- */

static struct {
    _Atomic int ran;
    long tid;
    KIRQL irql;
    BOOLEAN answer;
} sync_seen;

static BOOLEAN sync_note(PVOID E, PVOID C)
{
    (void)E, (void)C;
    sync_seen.tid = thread_id();
    sync_seen.irql = stortimer_irql_current();
    atomic_fetch_add(&sync_seen.ran, 1);
    return 0x3C;
}

TEST(s17_18_with_the_interrupt_lock_held_it_runs_the_routine_directly)
{
    PVOID ext = virtual_adapter(0);
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &h);
    BOOLEAN answer = StorPortSynchronizeAccess(ext, sync_note, NULL); /* would deadlock */
    StorPortReleaseSpinLock(ext, &h);
    CHECK_EQ(answer, 0x3C);
    CHECK_EQ(atomic_load(&sync_seen.ran), 1);
    CHECK_EQ(sync_seen.tid, thread_id());
    CHECK_EQ(sync_seen.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(stats_of(ext).lock_misuse, 1); /* reported (not printed above DISPATCH_LEVEL) */
}

static VOID half_duplex_callback(PVOID E, PVOID C)
{
    (void)C;
    sync_seen.answer = StorPortSynchronizeAccess(E, sync_note, NULL);
    note('T', false);
}

TEST_BOTH(s17_18_half_duplex_callback_runs_it_directly_instead_of_deadlocking)
{
    runs.fx = fx;
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = TRUE};
    PVOID ext = fx_adapter_config(fx, config);
    reports_capture();
    arm(ext, new_timer(ext), half_duplex_callback, NULL, 100, 0);
    fx_pass(fx, 100);
    bool done = fx_await(fx, &runs.n, 1);
    reports_release();
    CHECK(done);
    CHECK_EQ(sync_seen.answer, 0x3C);
    CHECK_EQ(sync_seen.tid, runs.tid[0]);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
}

/* ---- S17.20 bad arguments: answered, never dereferenced ---- */

/* A page no access is allowed to: reading or writing it crashes the test. */
static void *no_access_page(void)
{
    long size = sysconf(_SC_PAGESIZE);
    void *page = mmap(NULL, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    return page;
}

static BOOLEAN sync_true(PVOID E, PVOID C)
{
    (void)E, (void)C;
    return TRUE;
}

TEST(s17_20_unreadable_extension_is_answered_without_a_dereference)
{
    PVOID bad = no_access_page();
    STOR_DPC dpc;
    LARGE_INTEGER counter, ticks;
    ULONG min = 7;
    PROCESSOR_NUMBER cpu;
    stortimer_pause_state state;
    ULONGLONG refused_before = stats_of(NULL).dpc_init_refused;
    reports_capture();
    StorPortInitializeDpc(bad, &dpc, dpc_note);
    CHECK_EQ(StorPortIssueDpc(bad, &dpc, NULL, NULL), FALSE);
    CHECK_EQ(StorPortSynchronizeAccess(bad, sync_true, NULL), FALSE);
    CHECK_EQ(StorPortPause(bad, 1), FALSE);
    CHECK_EQ(StorPortResume(bad), FALSE);
    CHECK_EQ(StorPortPauseDevice(bad, 0, 0, 0, 1), FALSE);
    CHECK_EQ(StorPortResumeDevice(bad, 0, 0, 0), FALSE);
    CHECK_STATUS(StorPortQueryPerformanceCounter(bad, NULL, &counter), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(bad, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(bad, &cpu), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_adapter_pause_state(bad, &state), STOR_STATUS_INVALID_PARAMETER);
    ticks.QuadPart = -5;
    StorPortNotification(QueryTickCount, bad, &ticks);
    reports_release();
    CHECK_EQ(min, 7);
    CHECK_EQ(ticks.QuadPart, -5);
    CHECK_EQ(stats_of(NULL).dpc_init_refused, refused_before + 1);
}

TEST(s17_20_unreadable_stor_dpc_is_false_without_a_dereference)
{
    PVOID ext = virtual_adapter(0);
    PVOID bad = no_access_page();
    BOOLEAN result = 0x77;
    reports_capture();
    CHECK_EQ(StorPortIssueDpc(ext, bad, NULL, NULL), FALSE);
    StorPortNotification(IssueDpc, ext, bad, (PVOID)NULL, (PVOID)NULL, &result);
    StorPortInitializeDpc(bad, bad, dpc_note); /* an unknown extension too */
    reports_release();
    CHECK_EQ(result, FALSE);
    CHECK_EQ(stats_of(ext).dpc_issue_refused, 2);
}

TEST(s17_20_unreadable_lock_context_is_counted_misuse_without_a_dereference)
{
    PVOID ext = virtual_adapter(0);
    PVOID bad = no_access_page();
    STOR_LOCK_HANDLE h;
    reports_capture();
    StorPortAcquireSpinLock(ext, DpcLock, bad, &h);
    KIRQL inside = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &h);
    reports_release();
    CHECK_EQ(inside, DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
}

TEST(s17_20_null_arguments_get_false_invalid_parameter_or_a_counted_refusal)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    ULONG min = 7;
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, NULL);
    StorPortInitializeDpc(ext, NULL, dpc_note);
    CHECK_EQ(StorPortIssueDpc(ext, NULL, NULL, NULL), FALSE);
    CHECK_EQ(StorPortIssueDpc(NULL, &dpc, NULL, NULL), FALSE);
    CHECK_EQ(StorPortSynchronizeAccess(ext, NULL, NULL), FALSE);
    CHECK_EQ(StorPortPause(NULL, 1), FALSE);
    CHECK_STATUS(StorPortQueryPerformanceCounter(ext, NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortQueryTimerMinInterval(NULL, &min), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_adapter_pause_state(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
    reports_release();
    CHECK_EQ(min, 7);
    CHECK_EQ(stats_of(ext).dpc_init_refused, 2);
}
