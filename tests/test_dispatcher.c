/*
 * The real-clock dispatcher thread: it sleeps until the next fire time, with
 * no polling loop and no fixed tick, and wakes early only when an earlier
 * timer is armed (or a request arrives from above DISPATCH_LEVEL).
 */
#include "clock.h"
#include "dispatcher.h"
#include "harness.h"

#include <sys/prctl.h>

TEST_REAL(dispatcher_idle_adapter_never_wakes)
{
    PVOID ext = fx_adapter(fx, 0);
    new_timer(ext);
    sleep_us(200000);
    CHECK_EQ(stats_of(ext).wakeups, 0);
}

TEST_REAL(dispatcher_armed_far_away_does_not_tick)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 60ULL * 1000 * 1000, 0);
    sleep_us(200000);
    /* One wake-up to learn of the arm, none while the minute passes. */
    CHECK(stats_of(ext).wakeups <= 1);
    CHECK_EQ(fx_remove(ext), 1);
}

TEST_REAL(dispatcher_wakes_about_once_per_fire_time)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 30000, 0);
    CHECK(fx_await(fx, &p.fired, 1));
    sleep_us(100000);
    stortimer_stats stats = stats_of(ext);
    /* Learning of the arm, then the fire time: no polling in between. */
    CHECK(stats.wakeups >= 1 && stats.wakeups <= 3);
}

TEST_REAL(dispatcher_wakes_early_for_an_earlier_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    probe late, early;
    probe_init(&late, fx, ext);
    probe_init(&early, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &late, 10ULL * 1000 * 1000, 0);
    sleep_us(20000); /* the dispatcher is asleep until the 10 s timer */
    uint64_t start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &early, 5000, 0);
    CHECK(fx_await(fx, &early.fired, 1));
    CHECK(early.at[0] >= start + 5000);
    CHECK(early.at[0] < start + 5ULL * 1000 * 1000); /* not held back by the 10 s one */
    CHECK_EQ(atomic_load(&late.fired), 0);
    CHECK_EQ(fx_remove(ext), 2);
}

TEST_REAL(dispatcher_later_arms_do_not_wake_it)
{
    PVOID ext = fx_adapter(fx, 0);
    probe first, later;
    probe_init(&first, fx, ext);
    probe_init(&later, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &first, 300000, 0);
    sleep_us(20000);
    ULONGLONG before = stats_of(ext).wakeups;
    for (int i = 0; i < 30; i++)
        arm(ext, new_timer(ext), probe_callback, &later, 400000 + (ULONGLONG)i * 1000, 0);
    sleep_us(50000);
    CHECK_EQ(stats_of(ext).wakeups, before);
    CHECK_EQ(fx_remove(ext), 31);
}

TEST_REAL(dispatcher_wakes_for_an_arm_above_dispatch)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    PVOID timer = new_timer(ext);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortRequestTimer(ext, timer, probe_callback, &p, 2000, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    /* No later call on the adapter: the dispatcher alone takes the hand-over. */
    CHECK(fx_await(fx, &p.fired, 1));
}

/* ---- never early, to the nanosecond (white-box: src/clock.h) ---- */


TEST(real_clock_rounds_call_times_up_and_fire_checks_down)
{
    /* A call's time rounds up and "is it due" rounds down, so that
     * fire - call >= TimerValue holds in nanoseconds, not just microseconds. */
    for (int i = 0; i < 20000; i++) {
        uint64_t before = mono_ns();
        uint64_t call_us = st_real_now_ceil();
        uint64_t due_check_us = st_real_now_floor();
        uint64_t after = mono_ns();
        CHECK(call_us * 1000 >= before);
        CHECK(due_check_us * 1000 <= after);
    }
}

TEST_REAL(dispatcher_huge_window_does_not_postpone_for_ever)
{
    /* S5.2 with S5.3: the window saturates, the callback still comes. */
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    uint64_t start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, UINT64_MAX);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(p.at[0] >= start + 1000);
}

/* ---- when the dispatcher aims to wake (white-box: src/dispatcher.h) ---- */

static uint64_t wake_time_of(stq_node *nodes, int n)
{
    stq q;
    stq_init(&q);
    CHECK(stq_reserve(&q, (uint32_t)n));
    for (int i = 0; i < n; i++)
        stq_insert(&q, &nodes[i]);
    uint64_t wake = st_wake_time(&q);
    stq_free(&q);
    return wake;
}

TEST(dispatcher_aims_a_margin_before_the_first_window_closes)
{
    stq_node wide[2] = {{.due = 100000, .deadline = 200000, .seq = 1},
                        {.due = 120000, .deadline = 300000, .seq = 2}};
    CHECK_EQ(wake_time_of(wide, 2), 200000 - ST_WAKE_MARGIN_US);
}

TEST(dispatcher_one_wakeup_serves_a_window_and_a_timer_due_inside_it)
{
    /* A's window is 100-200 ms; B is due at 150 ms with no window. Waking
     * at 149 ms would serve A only; at 150 ms it serves both. */
    stq_node a_and_b[2] = {{.due = 100000, .deadline = 200000, .seq = 1},
                           {.due = 150000, .deadline = 150000, .seq = 2}};
    CHECK_EQ(wake_time_of(a_and_b, 2), 150000);
}

TEST(dispatcher_never_aims_before_the_first_window_opens)
{
    stq_node narrow = {.due = 5000, .deadline = 5100, .seq = 1};
    CHECK_EQ(wake_time_of(&narrow, 1), 5000);
    stq_node none = {.due = 500, .deadline = 500, .seq = 1};
    CHECK_EQ(wake_time_of(&none, 1), 500);
}

/* ---- the dispatcher asks the kernel for the finest timer slack ---- */


static _Atomic long slack_seen = -1;

static VOID read_timer_slack(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    atomic_store(&slack_seen, (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    atomic_fetch_add((_Atomic int *)Context, 1);
}

TEST_REAL(dispatcher_runs_with_one_nanosecond_timer_slack)
{
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int fired = 0;
    arm(ext, new_timer(ext), read_timer_slack, (PVOID)&fired, 100, 0);
    CHECK(fx_await(fx, &fired, 1));
    CHECK_EQ(atomic_load(&slack_seen), 1); /* the default is 50,000 ns */
    CHECK_EQ(fx_remove(ext), 1);
}
