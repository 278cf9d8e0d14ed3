/*
 * The real-clock dispatcher thread: it sleeps until the next fire time, with
 * no polling loop and no fixed tick, and wakes early only when an earlier
 * timer is armed (or a request arrives from above DISPATCH_LEVEL).
 */
#include "adapters/window.h"
#include "harness.h"
#include "time/clock.h"

#include <sys/prctl.h>

/* Real only: counts the dispatcher thread's wake-ups; a virtual clock has no dispatcher thread. */
TEST_REAL(s5_4_2_dispatcher_idle_adapter_never_wakes)
{
    PVOID ext = fx_adapter(fx, 0);
    new_timer(ext);
    sleep_us(200000);
    CHECK_EQ(stats_of(ext).wakeups, 0);
}

/* Real only: counts the dispatcher thread's wake-ups; a virtual clock has no dispatcher thread. */
TEST_REAL(s5_4_2_dispatcher_armed_far_away_does_not_tick)
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

/* Real only: counts the dispatcher thread's wake-ups; a virtual clock has no dispatcher thread. */
TEST_REAL(s5_4_2_dispatcher_wakes_about_once_per_fire_time)
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

/* S5.4.2: ten timers armed 1 ms apart with 25 ms windows that overlap are
 * served by one or two wake-ups, not ten. */
/* Real only: counts dispatcher wake-ups (virtual: s11_4_overlapping_windows_share_fire_times). */
TEST_REAL(s5_4_2_dispatcher_overlapping_windows_share_wakeups)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    uint64_t armed_at[10];
    for (int i = 0; i < 10; i++) {
        armed_at[i] = fx_now(fx);
        arm(ext, new_timer(ext), probe_callback, &p, 100000, 25000);
        sleep_us(1000);
    }
    uint64_t before = stats_of(ext).wakeups;
    CHECK(fx_await(fx, &p.fired, 10));
    /* One or two shared round fire times; a slow machine may add a wake-up
     * for a slot moving down, but not one per timer. */
    CHECK(stats_of(ext).wakeups - before <= 4);
    for (int i = 0; i < 10; i++)
        CHECK(p.at[i] >= armed_at[0] + 100000); /* never early, whichever fired */
    CHECK(p.at[9] >= armed_at[9] + 100000);
    CHECK_EQ(fx_remove(ext), 10);
}

/* S5.4.2, S8.4: a timer armed after a far later one fires at its own time. On
 * the real clock this cuts short the dispatcher's sleep. */
TEST_BOTH(s5_4_2_an_earlier_timer_is_not_held_back_by_a_later_one)
{
    PVOID ext = fx_adapter(fx, 0);
    probe late, early;
    probe_init(&late, fx, ext);
    probe_init(&early, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &late, 10ULL * 1000 * 1000, 0);
    fx_pass(fx, 20000); /* real: the dispatcher is asleep until the 10 s timer */
    uint64_t start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &early, 5000, 0);
    CHECK(fx_pass_until_fired(fx, 5000, &early.fired, 1));
    check_fired_at(fx, early.at[0], start, 5000);
    CHECK(early.at[0] < start + 5ULL * 1000 * 1000); /* not held back by the 10 s one */
    CHECK_EQ(atomic_load(&late.fired), 0);
    CHECK_EQ(fx_remove(ext), 2);
}

/* Real only: counts the dispatcher thread's wake-ups; a virtual clock has no dispatcher thread. */
TEST_REAL(s5_4_2_dispatcher_later_arms_do_not_wake_it)
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

/* Real only: the dispatcher alone takes the hand-over (both: s5_7_arm_above_dispatch_fires). */
TEST_REAL(s5_7_dispatcher_wakes_for_an_arm_above_dispatch)
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

/* Cancels `timer` as an interrupt path would: lock-free, its node left
 * queued in the wheel until it comes up (S5.7). */
static void cancel_lock_free(PVOID ext, PVOID timer)
{
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortRequestTimer(ext, timer, probe_callback, NULL, 0, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
}

/* S5.5: a cancel whose node stays queued (lock-free) is not planned for.
 * The hand-over that follows wakes the dispatcher, which plans for the
 * handed-over timer, not for the cancelled one before it. */
/* Real only: counts dispatcher wake-ups; a virtual clock has no dispatcher thread. */
TEST_REAL(s5_5_a_cancelled_timer_left_queued_costs_no_wakeup)
{
    PVOID ext = fx_adapter(fx, 0);
    probe later;
    probe_init(&later, fx, ext);
    PVOID first = new_timer(ext), second = new_timer(ext);
    arm(ext, first, probe_callback, &later, 100000, 0);
    sleep_us(20000); /* asleep until the 100 ms timer */
    stortimer_stats before = stats_of(ext);
    cancel_lock_free(ext, first);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortRequestTimer(ext, second, probe_callback, &later, 200000, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK(fx_await(fx, &later.fired, 1));
    sleep_us(20000);
    stortimer_stats after = stats_of(ext);
    /* One to take the hand-over (nothing due), one to fire it; none at
     * 100 ms for the cancelled timer. */
    CHECK(after.wakeups - before.wakeups <= 2);
    CHECK(after.idle_wakeups - before.idle_wakeups <= 1);
    CHECK_EQ(atomic_load(&later.fired), 1);
    CHECK_EQ(fx_remove(ext), 2);
}

/* S5.4.1, S5.4.2: an arm earlier than the dispatcher's plan wakes it to plan
 * again (a wake-up that finds nothing due), and the timer fires at its own
 * time, never early; the cancelled timer the old plan was for costs no
 * wake-up of its own. */
/* Real only: the dispatcher's plan (both: s5_4_2_an_earlier_timer_is_not_held_back_by_a_later_one). */
TEST_REAL(s5_4_1_an_arm_earlier_than_the_plan_fires_on_time)
{
    PVOID ext = fx_adapter(fx, 0);
    probe early, never;
    probe_init(&early, fx, ext);
    probe_init(&never, fx, ext);
    PVOID far = new_timer(ext);
    arm(ext, far, probe_callback, &never, 150000, 0);
    sleep_us(20000); /* asleep until the 150 ms timer */
    cancel_lock_free(ext, far);
    stortimer_stats before = stats_of(ext);
    uint64_t start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &early, 10000, 0);
    CHECK(fx_await(fx, &early.fired, 1));
    check_fired_at(fx, early.at[0], start, 10000);
    CHECK(early.at[0] < start + 100000); /* not held back by the old plan */
    sleep_us(200000); /* past the cancelled timer's time */
    stortimer_stats after = stats_of(ext);
    CHECK(after.wakeups - before.wakeups <= 2); /* to plan again, to fire */
    CHECK(after.idle_wakeups - before.idle_wakeups <= 1);
    CHECK_EQ(atomic_load(&never.fired), 0);
    CHECK_EQ(fx_remove(ext), 2);
}

/* ---- never early, to the nanosecond (white-box: src/time/clock.h) ---- */


TEST(s5_4_1_real_clock_rounds_call_times_up_and_fire_checks_down)
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

/* Real only: the dispatcher's planned wake-up (virtual: s5_4_3_huge_window_fires_not_before_*). */
TEST_REAL(s5_4_3_dispatcher_huge_window_does_not_postpone_for_ever)
{
    /* S5.4.2 with S5.4.3: the window saturates, the callback still comes. */
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    uint64_t start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, UINT64_MAX);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(p.at[0] >= start + 1000);
}

/* ---- where in its window a timer fires (white-box: src/adapters/window.h) ---- */

/* S5.4.2: inside the window, the end of a wide window kept free for the
 * operating system's wake-up delay. */
TEST(s5_4_2_fire_time_keeps_the_margin_at_the_end_of_a_wide_window)
{
    for (uint64_t due = 1; due < 3000000; due += 9973) {
        uint64_t f = st_fire_time(due, 200000);
        CHECK(f >= due);
        CHECK(f <= due + 200000 - ST_WAKE_MARGIN_US);
    }
}

TEST(s5_4_2_fire_time_uses_half_of_a_narrow_window)
{
    for (uint64_t due = 1; due < 100000; due += 97) {
        uint64_t f = st_fire_time(due, 600);
        CHECK(f >= due && f <= due + 300);
    }
}

TEST(s5_4_2_fire_time_without_window_is_the_due_time)
{
    CHECK_EQ(st_fire_time(5000, 0), 5000);
    uint64_t f = st_fire_time(123457, 1); /* half of 1 us keeps nothing */
    CHECK(f == 123457 || f == 123458);
}

/* Coalescing: timers armed at different times whose windows overlap pick
 * one fire time, so one wake-up serves them all. */
TEST(s5_4_2_fire_time_is_shared_by_overlapping_windows)
{
    uint64_t shared = st_fire_time(100000, 100000);
    for (uint64_t due = 100000; due < 130000; due += 1000)
        CHECK_EQ(st_fire_time(due, 100000), shared);
}

/* ---- the dispatcher asks the kernel for the finest timer slack ---- */


static _Atomic long slack_seen = -1;

static VOID read_timer_slack(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    atomic_store(&slack_seen, (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    atomic_fetch_add((_Atomic int *)Context, 1);
}

/* Real only: the dispatcher thread's kernel timer slack; a virtual clock has no such thread. */
TEST_REAL(s5_4_2_dispatcher_runs_with_one_nanosecond_timer_slack)
{
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int fired = 0;
    arm(ext, new_timer(ext), read_timer_slack, (PVOID)&fired, 100, 0);
    CHECK(fx_await(fx, &fired, 1));
    CHECK_EQ(atomic_load(&slack_seen), 1); /* the default is 50,000 ns */
    CHECK_EQ(fx_remove(ext), 1);
}
