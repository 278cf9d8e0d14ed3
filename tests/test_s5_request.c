/* SPEC S5 (and S12): StorPortRequestTimer at or below DISPATCH_LEVEL. */
#include "harness.h"

#include <stdlib.h>
#include <time.h>


/* ---- S5.1, S5.2: argument checks ---- */

TEST(s5_1_null_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    CHECK_STATUS(StorPortRequestTimer(NULL, timer, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_1_null_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(StorPortRequestTimer(ext, NULL, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_1_null_callback_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, NULL, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_1_null_callback_is_invalid_even_to_cancel)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, NULL, NULL, 0, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_2_unknown_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    char elsewhere[32];
    CHECK_STATUS(StorPortRequestTimer(elsewhere, timer, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortRequestTimer((PVOID)0x40, timer, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_2_never_issued_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    int local;
    PVOID forged[] = {(PVOID)0x1, (PVOID)0x1234, &local, ext,
                      (PVOID)((uintptr_t)timer + 1), (PVOID)((uintptr_t)timer - 1),
                      (PVOID)((uintptr_t)timer ^ ((uintptr_t)1 << 40)), (PVOID)UINTPTR_MAX};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        CHECK_STATUS(StorPortRequestTimer(ext, forged[i], probe_callback, NULL, 100, 0),
                     STOR_STATUS_INVALID_PARAMETER);
        CHECK_STATUS(StorPortRequestTimer(ext, forged[i], probe_callback, NULL, 0, 0),
                     STOR_STATUS_INVALID_PARAMETER);
    }
}

TEST(s5_2_freed_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, timer), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, NULL, 0, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s5_2_handle_of_another_adapter_is_invalid_parameter)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0), timer_of_a = new_timer(a);
    CHECK_STATUS(StorPortRequestTimer(b, timer_of_a, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortRequestTimer(b, timer_of_a, probe_callback, NULL, 0, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    /* And the rejected call changed nothing on the owner. */
    arm(a, timer_of_a, probe_callback, NULL, 100, 0);
}

TEST(s5_2_handle_of_removed_adapter_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    fx_remove(ext);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

/* ---- S5.3: BUSY ---- */

TEST_BOTH(s5_3_arming_a_pending_timer_is_busy)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    /* Far enough out to be pending still however slow the machine. */
    arm(ext, timer, probe_callback, &p, 5000000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 5000, 0),
                 STOR_STATUS_BUSY);
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.busy, 1);
    CHECK_EQ(fx_remove(ext), 1); /* before the probe on our stack goes */
}

TEST_BOTH(s5_3_busy_changes_nothing)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe first, second;
    probe_init(&first, fx, ext);
    probe_init(&second, fx, ext);
    /* On the real clock, far enough out to be pending still at the next
     * call however slow the machine (valgrind, a loaded CI runner). */
    ULONGLONG value = fx->clock ? 3000 : 200000;
    ULONGLONG armed_at = fx_now(fx);
    arm(ext, timer, probe_callback, &first, value, 0);
    /* A shorter time, another callback context: refused, original intact. */
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &second, 100, 0),
                 STOR_STATUS_BUSY);
    fx_pass(fx, value - 1);
    if (fx->clock)
        CHECK_EQ(atomic_load(&first.fired), 0);
    fx_pass(fx, 1);
    CHECK(fx_await(fx, &first.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&second.fired), 0);
    CHECK_EQ(atomic_load(&first.fired), 1);
    CHECK(first.at[0] - armed_at >= value);
    if (fx->clock)
        CHECK_EQ(first.at[0], 3000);
}

TEST_BOTH(s5_3_after_firing_the_timer_can_be_armed_again)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, timer, probe_callback, &p, 500, 0);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &p.fired, 1));
    arm(ext, timer, probe_callback, &p, 500, 0);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &p.fired, 2));
}

TEST(s5_3_after_cancel_the_timer_can_be_armed_again)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    arm(ext, timer, probe_callback, NULL, 500, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, NULL, 0, 0),
                 STOR_STATUS_SUCCESS);
    arm(ext, timer, probe_callback, NULL, 500, 0);
}

/* ---- S5.4: arming ---- */

TEST_BOTH(s5_4_callback_fires_exactly_once_with_extension_and_context)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, timer, probe_callback, &p, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &p.fired, 1));
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK(p.seen_extension[0] == ext);
    CHECK(p.seen_context[0] == &p);
}

static int null_context_calls;
static PVOID null_context_seen = (PVOID)0x1;

static VOID record_null_context(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    null_context_calls++;
    null_context_seen = Context;
}

TEST(s5_4_context_may_be_null)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    arm(ext, timer, record_null_context, NULL, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(null_context_calls, 1);
    CHECK(null_context_seen == NULL);
}

TEST(s5_4_each_arm_uses_its_own_callback_and_context)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    probe first, second;
    probe_init(&first, virtual_fixture(), ext);
    probe_init(&second, virtual_fixture(), ext);
    arm(ext, timer, probe_callback, &first, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    arm(ext, timer, probe_callback, &second, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(atomic_load(&first.fired), 1);
    CHECK_EQ(atomic_load(&second.fired), 1);
    CHECK(second.seen_context[0] == &second);
}

TEST_BOTH(s5_4_many_timers_each_fire_once)
{
    enum { N = 40 };
    PVOID ext = fx_adapter(fx, 0);
    probe p[N];
    for (int i = 0; i < N; i++) {
        probe_init(&p[i], fx, ext);
        arm(ext, new_timer(ext), probe_callback, &p[i], 100 + (ULONGLONG)(i * 37 % N) * 50, 0);
    }
    fx_pass(fx, 100 + N * 50);
    for (int i = 0; i < N; i++)
        CHECK(fx_await(fx, &p[i].fired, 1));
    fx_settle(fx);
    for (int i = 0; i < N; i++)
        CHECK_EQ(atomic_load(&p[i].fired), 1);
}

/* ---- S5.4.1: never early ---- */

TEST_BOTH(s5_4_1_never_early)
{
    PVOID ext = fx_adapter(fx, 0);
    static const ULONGLONG values[] = {1, 7, 100, 999, 2500, 10000};
    enum { N = sizeof values / sizeof values[0] };
    probe p[N];
    ULONGLONG called_at[N];
    for (int i = 0; i < N; i++) {
        probe_init(&p[i], fx, ext);
        called_at[i] = fx_now(fx);
        arm(ext, new_timer(ext), probe_callback, &p[i], values[i], 0);
    }
    if (fx->clock) {
        /* One microsecond before each due time, nothing of it has run. */
        for (int i = 0; i < N; i++) {
            stortimer_clock_advance(fx->clock, values[i] - 1 - fx_now(fx));
            CHECK_EQ(atomic_load(&p[i].fired), 0);
            stortimer_clock_advance(fx->clock, 1);
            CHECK_EQ(atomic_load(&p[i].fired), 1);
        }
    }
    fx_pass(fx, 10000);
    for (int i = 0; i < N; i++) {
        CHECK(fx_await(fx, &p[i].fired, 1));
        CHECK(p[i].at[0] >= called_at[i] + values[i]);
    }
}

/* A probe callback that first notes CLOCK_MONOTONIC, in nanoseconds. */
typedef struct stamped_probe {
    probe p;
    uint64_t started_ns;
} stamped_probe;

static VOID stamped_probe_callback(PVOID DeviceExtension, PVOID Context)
{
    stamped_probe *s = Context;
    s->started_ns = mono_ns();
    probe_callback(DeviceExtension, &s->p);
}

TEST_BOTH(s5_4_1_never_early_at_the_finest_resolution)
{
    /* Real clock: measured in nanoseconds outside the library, so rounding
     * cannot hide. Virtual clock: not at due - 1 us, exactly at due. */
    PVOID ext = fx_adapter(fx, 0);
    for (int round = 0; round < 30; round++) {
        stamped_probe s;
        probe_init(&s.p, fx, ext);
        s.started_ns = 0;
        PVOID timer = new_timer(ext);
        ULONGLONG value = 100 + (ULONGLONG)round * 97;
        uint64_t before_ns = mono_ns();
        ULONGLONG called = fx_now(fx);
        arm(ext, timer, stamped_probe_callback, &s, value, 0);
        CHECK(fx_pass_until_fired(fx, value, &s.p.fired, 1));
        if (fx->clock) {
            CHECK_EQ(s.p.at[0], called + value);
        } else {
            CHECK(s.started_ns - before_ns >= value * 1000);
            CHECK(s.p.at[0] * 1000 >= before_ns + value * 1000 - 999);
        }
        CHECK_STATUS(StorPortFreeTimer(ext, timer), STOR_STATUS_SUCCESS);
    }
}

/* ---- S5.4.2: the window ---- */

TEST(s5_4_2_delay_below_32_us_is_no_window)
{
    PVOID ext = virtual_adapter(0);
    for (ULONGLONG delay = 0; delay < 32; delay++) {
        probe p;
        probe_init(&p, virtual_fixture(), ext);
        ULONGLONG start = stortimer_clock_now(virtual_fixture()->clock);
        arm(ext, new_timer(ext), probe_callback, &p, 50, delay);
        stortimer_clock_advance(virtual_fixture()->clock, 50);
        CHECK_EQ(atomic_load(&p.fired), 1);
        CHECK_EQ(p.at[0], start + 50);
    }
}

TEST_BOTH(s5_4_2_callback_fires_inside_its_window)
{
    PVOID ext = fx_adapter(fx, 0);
    enum { N = 12 };
    probe p[N];
    ULONGLONG called_at[N], value[N], window[N];
    for (int i = 0; i < N; i++) {
        probe_init(&p[i], fx, ext);
        value[i] = 2000 + (ULONGLONG)i * 300;
        window[i] = 32 + (ULONGLONG)i * 1500;
        called_at[i] = fx_now(fx);
        arm(ext, new_timer(ext), probe_callback, &p[i], value[i], window[i]);
    }
    fx_pass(fx, 2000 + N * 300 + N * 1500);
    for (int i = 0; i < N; i++) {
        CHECK(fx_await(fx, &p[i].fired, 1));
        CHECK(p[i].at[0] >= called_at[i] + value[i]);
        /* On the virtual clock there is no scheduling delay: the window is exact. */
        if (fx->clock)
            CHECK(p[i].at[0] <= called_at[i] + value[i] + window[i]);
    }
}

TEST_BOTH(s5_4_2_windows_let_one_wakeup_serve_many_timers)
{
    /* 40 timers due within 2 ms of each other, each with a 20 ms window. */
    enum { N = 40 };
    PVOID ext = fx_adapter(fx, 0);
    probe p[N];
    ULONGLONG called_at[N], value[N];
    for (int i = 0; i < N; i++) {
        probe_init(&p[i], fx, ext);
        value[i] = 30000 + (ULONGLONG)i * 50;
        called_at[i] = fx_now(fx);
        arm(ext, new_timer(ext), probe_callback, &p[i], value[i], 20000);
    }
    fx_pass(fx, 30000 + N * 50 + 20000);
    for (int i = 0; i < N; i++)
        CHECK(fx_await(fx, &p[i].fired, 1));
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.fired, N);
    if (fx->clock) {
        /* A wake-up of a virtual clock is a fire time it steps to: inside
         * every window, and shared. */
        int fire_times = 0;
        for (int i = 0; i < N; i++) {
            CHECK(p[i].at[0] >= called_at[i] + value[i]);
            CHECK(p[i].at[0] <= called_at[i] + value[i] + 20000);
            bool seen = false;
            for (int j = 0; j < i; j++)
                seen = seen || p[j].at[0] == p[i].at[0];
            fire_times += !seen;
        }
        CHECK(fire_times * 4 <= N);
    } else {
        /* Without coalescing this takes about N wake-ups. */
        CHECK(stats.wakeups * 4 <= stats.fired);
    }
}

/* ---- S5.4.3: saturation ---- */

TEST(s5_4_3_huge_timer_value_saturates_instead_of_wrapping)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    stortimer_clock_advance(virtual_fixture()->clock, 5000);
    arm(ext, new_timer(ext), probe_callback, &p, UINT64_MAX, 0);
    arm(ext, new_timer(ext), probe_callback, &p, UINT64_MAX - 4000, UINT64_MAX);
    stortimer_clock_advance(virtual_fixture()->clock, UINT64_MAX / 2);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

/* S5.4.2 with S5.4.3: a window of 2^64 - 1 us is used only up to one second
 * (ST_WINDOW_MAX_US): never before due, and by then the callback came. */
TEST(s5_4_3_huge_window_fires_not_before_due_and_within_a_second)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 300, UINT64_MAX);
    stortimer_clock_advance(virtual_fixture()->clock, 299);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_clock_advance(virtual_fixture()->clock, 1000001);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK(p.at[0] >= 300 && p.at[0] <= 300 + 1000000);
}

TEST_BOTH(s5_4_3_huge_value_does_not_fire)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    /* A clock reading above 0 (the real one is), so a wrapped sum would
     * lie in the past. */
    fx_pass(fx, 5000);
    arm(ext, new_timer(ext), probe_callback, &p, UINT64_MAX, UINT64_MAX);
    fx_pass(fx, 20000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(fx_remove(ext), 1);
}

/* ---- S5.5: cancel ---- */

TEST_BOTH(s5_5_cancel_stops_a_pending_callback)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    /* Long enough that a loaded machine still cancels it in time. */
    arm(ext, timer, probe_callback, &p, 200000, 0);
    fx_pass(fx, 500);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    fx_pass(fx, 250000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.cancelled, 1);
}

TEST_BOTH(s5_5_cancel_of_an_idle_timer_succeeds)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    arm(ext, timer, probe_callback, &p, 100, 0);
    fx_pass(fx, 100);
    CHECK(fx_await(fx, &p.fired, 1));
    /* After it fired, nothing is pending: cancel still succeeds. */
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
}

static VOID other_callback(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    (void)Context;
}

TEST(s12_1_cancel_succeeds_with_a_different_callback)
{
    PVOID ext = virtual_adapter(0), timer = new_timer(ext);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, timer, probe_callback, &p, 100, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, other_callback, NULL, 0, 12345),
                 STOR_STATUS_SUCCESS);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST_BOTH(s5_5_cancel_then_rearm_fires_only_the_new_request)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe old_request, new_request;
    probe_init(&old_request, fx, ext);
    probe_init(&new_request, fx, ext);
    arm(ext, timer, probe_callback, &old_request, 1000000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &old_request, 0, 0),
                 STOR_STATUS_SUCCESS);
    ULONGLONG armed_at = fx_now(fx);
    arm(ext, timer, probe_callback, &new_request, 3000, 0);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &new_request.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&old_request.fired), 0);
    CHECK(new_request.at[0] >= armed_at + 3000);
}

/* A callback that stays inside until told to leave. */
typedef struct slow_callback {
    _Atomic int entered, may_leave, left;
} slow_callback;

static VOID slow_callback_fn(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    slow_callback *s = Context;
    atomic_store(&s->entered, 1);
    while (!atomic_load(&s->may_leave))
        sleep_us(200);
    atomic_store(&s->left, 1);
}

TEST_BOTH(s5_5_cancel_does_not_wait_for_a_started_callback)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    slow_callback s = {0};
    arm(ext, timer, slow_callback_fn, &s, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);   /* the callback runs there */
    CHECK(wait_for(&s.entered, 1, 5000));
    CHECK_STATUS(StorPortRequestTimer(ext, timer, slow_callback_fn, &s, 0, 0),
                 STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&s.left), 0); /* cancel returned while it still ran */
    atomic_store(&s.may_leave, 1);
    CHECK(wait_for(&s.left, 1, 5000));
    fx_join(t);
}

/* ---- S5.6: re-arming ---- */

static void rearm_until_five(probe *p, PVOID extension)
{
    if (atomic_load(&p->fired) + 1 < 5)
        arm(extension, p->user, probe_callback, p, 1000, 0);
}

TEST_BOTH(s5_6_callback_rearms_its_own_timer)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    p.then = rearm_until_five;
    p.user = timer;
    ULONGLONG start = fx_now(fx);
    arm(ext, timer, probe_callback, &p, 1000, 0);
    fx_pass(fx, 10000);
    CHECK(fx_await(fx, &p.fired, 5));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 5);
    for (int i = 0; i < 5; i++) {
        CHECK(p.at[i] >= start + 1000 * (ULONGLONG)(i + 1));
        if (fx->clock)
            CHECK_EQ(p.at[i], start + 1000 * (ULONGLONG)(i + 1));
    }
}

TEST_BOTH(s5_6_timer_is_not_pending_while_its_callback_runs)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    slow_callback s = {0};
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, timer, slow_callback_fn, &s, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);   /* the callback runs there */
    CHECK(wait_for(&s.entered, 1, 5000));
    /* Started, so no longer pending: another thread may arm it again. */
    ULONGLONG called = fx_now(fx);
    arm(ext, timer, probe_callback, &p, 100, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 100, 0),
                 STOR_STATUS_BUSY);
    CHECK_EQ(atomic_load(&s.left), 0); /* all while the callback still ran */
    atomic_store(&s.may_leave, 1);
    CHECK(wait_for(&s.left, 1, 5000));
    fx_join(t);
    CHECK(fx_pass_until_fired(fx, 100, &p.fired, 1));
    check_fired_at(fx, p.at[0], called, 100);
}

static void try_busy_inside(probe *p, PVOID extension)
{
    /* Arm once from inside (allowed), then a second arm is BUSY. */
    ULONG first = StorPortRequestTimer(extension, p->user, probe_callback, p, 5000, 0);
    ULONG second = StorPortRequestTimer(extension, p->user, probe_callback, p, 5000, 0);
    if (atomic_load(&p->fired) == 0) {
        CHECK_STATUS(first, STOR_STATUS_SUCCESS);
        CHECK_STATUS(second, STOR_STATUS_BUSY);
        CHECK_STATUS(StorPortRequestTimer(extension, p->user, probe_callback, p, 0, 0),
                     STOR_STATUS_SUCCESS);
    }
}

TEST_BOTH(s5_6_rearm_inside_callback_then_busy_then_cancel)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    p.then = try_busy_inside;
    p.user = timer;
    arm(ext, timer, probe_callback, &p, 100, 0);
    fx_pass(fx, 100);
    CHECK(fx_await(fx, &p.fired, 1));
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 1);
}

/* S12.2: a handle is never dereferenced and is sparse: a live handle with
 * any one of its 64 bits changed names no timer, for every timer of an
 * adapter, and the timers themselves are untouched. */
static VOID never_called(PVOID ext, PVOID context)
{
    (void)ext;
    (void)context;
    CHECK(false);
}

TEST(s12_2_a_live_handle_changed_in_any_one_bit_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    PVOID handles[32];
    for (int i = 0; i < 32; i++)
        handles[i] = new_timer(ext);
    for (int i = 0; i < 32; i++) {
        for (int bit = 0; bit < 64; bit++) {
            PVOID forged = (PVOID)((uintptr_t)handles[i] ^ ((uintptr_t)1 << bit));
            CHECK_STATUS(StorPortRequestTimer(ext, forged, never_called, NULL, 1000, 0),
                         STOR_STATUS_INVALID_PARAMETER);
        }
    }
    for (int i = 0; i < 32; i++)
        arm(ext, handles[i], never_called, NULL, 1000, 0); /* idle, each of them */
    CHECK_EQ(stats_of(ext).timers_pending, 32);
}
