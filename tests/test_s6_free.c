/*
 * SPEC S6: StorPortFreeTimer - checks in order (S6.1-S6.4) and S6.4.1: after
 * it returns the callback is not running and never starts, with its two
 * exceptions (called from the timer's own callback; called holding the
 * adapter's StartIo lock).
 */
#include "harness.h"

#include <stdint.h>
#include <string.h>

/* ---- helpers (see also harness.h) ---- */

static ULONGLONG real_us(void)
{
    return stortimer_clock_now(NULL);
}

static void spin_us(ULONGLONG us)
{
    ULONGLONG end = real_us() + us;
    while (real_us() < end) {
    }
}

/* ---- S6.1: IRQL, checked first ---- */

TEST(s6_1_above_dispatch_is_invalid_irql)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortFreeTimer(ext, h);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
    /* Nothing was freed. */
    CHECK_EQ(stats_of(ext).timers_live, 1);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

TEST(s6_1_every_level_above_dispatch_is_invalid_irql)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    for (KIRQL level = DISPATCH_LEVEL + 1; level <= HIGH_LEVEL; level++) {
        KIRQL old = stortimer_irql_raise(level);
        ULONG status = StorPortFreeTimer(ext, h);
        stortimer_irql_lower(old);
        CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
    }
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

TEST(s6_1_irql_is_checked_before_null_arguments)
{
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG both = StorPortFreeTimer(NULL, NULL);
    ULONG handle = StorPortFreeTimer(virtual_adapter(0), NULL);
    stortimer_irql_lower(old);
    CHECK_STATUS(both, STOR_STATUS_INVALID_IRQL);
    CHECK_STATUS(handle, STOR_STATUS_INVALID_IRQL);
}

TEST(s6_1_irql_is_checked_before_unknown_extension_and_handle)
{
    char not_an_adapter[64];
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortFreeTimer(not_an_adapter, (PVOID)0x1234);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
}

TEST(s6_1_irql_is_checked_before_already_freed)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortFreeTimer(ext, h);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
}

TEST(s6_1_dispatch_level_is_allowed)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    KIRQL old = stortimer_irql_raise(DISPATCH_LEVEL);
    ULONG status = StorPortFreeTimer(ext, h);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
}

TEST_BOTH(s6_1_above_dispatch_leaves_a_pending_timer_armed)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    ULONGLONG called = fx_now(fx);
    arm(ext, h, probe_callback, &p, 2000, 0);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortFreeTimer(ext, h);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &p.fired, 1));
    check_fired_at(fx, p.at[0], called, 2000);
}

/* ---- S6.2: INVALID_PARAMETER ---- */

TEST(s6_2_null_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(NULL, h), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

TEST(s6_2_null_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(StorPortFreeTimer(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s6_2_null_both_is_invalid_parameter)
{
    CHECK_STATUS(StorPortFreeTimer(NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s6_2_unknown_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    char not_an_adapter[64] = {0};
    CHECK_STATUS(StorPortFreeTimer(not_an_adapter, h), STOR_STATUS_INVALID_PARAMETER);
    /* Never dereferenced: addresses that would fault are just as invalid. */
    CHECK_STATUS(StorPortFreeTimer((PVOID)0x10, h), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer((PVOID)(uintptr_t)-8, h), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer((char *)ext + 8, h), STOR_STATUS_INVALID_PARAMETER);
    /* The timer is still live with its own adapter. */
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

TEST(s6_2_removed_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_EQ(fx_remove(ext), 1);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s6_2_handle_of_another_adapter_is_invalid_parameter)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0), ha = new_timer(a);
    new_timer(b);
    CHECK_STATUS(StorPortFreeTimer(b, ha), STOR_STATUS_INVALID_PARAMETER);
    /* Still live where it belongs, and b lost nothing. */
    CHECK_EQ(stats_of(a).timers_live, 1);
    CHECK_EQ(stats_of(b).timers_live, 1);
    CHECK_STATUS(StorPortFreeTimer(a, ha), STOR_STATUS_SUCCESS);
}

TEST(s6_2_handle_freed_in_another_adapter_is_invalid_parameter)
{
    /* Freed from a, so "already freed" there; but never issued to b. */
    PVOID a = virtual_adapter(0), b = virtual_adapter(0), ha = new_timer(a);
    CHECK_STATUS(StorPortFreeTimer(a, ha), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(b, ha), STOR_STATUS_INVALID_PARAMETER);
}

TEST_BOTH(s6_2_free_with_another_adapter_leaves_the_timer_armed)
{
    PVOID a = fx_adapter(fx, 0), b = fx_adapter(fx, 0), ha = new_timer(a);
    probe p;
    probe_init(&p, fx, a);
    ULONGLONG called = fx_now(fx);
    arm(a, ha, probe_callback, &p, 2000, 0);
    CHECK_STATUS(StorPortFreeTimer(b, ha), STOR_STATUS_INVALID_PARAMETER);
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &p.fired, 1));
    check_fired_at(fx, p.at[0], called, 2000);
}

TEST(s6_2_forged_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)0x1234), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)0x1), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)(uintptr_t)-1), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(stats_of(ext).timers_live, 1);
}

TEST(s6_2_stack_address_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    new_timer(ext);
    int on_stack = 0;
    CHECK_STATUS(StorPortFreeTimer(ext, &on_stack), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(on_stack, 0);
    CHECK_EQ(stats_of(ext).timers_live, 1);
}

TEST(s6_2_extension_pointer_as_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, ext), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(stats_of(ext).timers_live, 1);
}

TEST(s6_2_neighbouring_handle_values_are_invalid_parameter)
{
    /* The adapter's only timer ever: its handle +-1 was never issued to it. */
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)((uintptr_t)h + 1)),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)((uintptr_t)h - 1)),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(stats_of(ext).timers_live, 1);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

TEST(s6_2_neighbouring_handle_values_among_many_timers_are_not_freed)
{
    /* Whatever +-1 of a handle names, it must not free that handle's timer. */
    PVOID ext = virtual_adapter(0), h[16];
    for (int i = 0; i < 16; i++)
        h[i] = new_timer(ext);
    for (int i = 0; i < 16; i++) {
        for (int d = -1; d <= 1; d += 2) {
            PVOID near = (PVOID)((uintptr_t)h[i] + (uintptr_t)(intptr_t)d);
            bool issued = false;
            for (int j = 0; j < 16; j++)
                issued |= near == h[j];
            if (!issued)
                CHECK_STATUS(StorPortFreeTimer(ext, near), STOR_STATUS_INVALID_PARAMETER);
        }
    }
    CHECK_EQ(stats_of(ext).timers_live, 16);
    for (int i = 0; i < 16; i++)
        CHECK_STATUS(StorPortFreeTimer(ext, h[i]), STOR_STATUS_SUCCESS);
}

TEST_BOTH(s6_2_forged_handles_leave_a_pending_timer_armed)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    ULONGLONG called = fx_now(fx);
    arm(ext, h, probe_callback, &p, 2000, 0);
    int on_stack;
    StorPortFreeTimer(ext, (PVOID)0x1234);
    StorPortFreeTimer(ext, &on_stack);
    StorPortFreeTimer(ext, (PVOID)((uintptr_t)h + 1));
    StorPortFreeTimer(ext, (PVOID)((uintptr_t)h - 1));
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &p.fired, 1));
    check_fired_at(fx, p.at[0], called, 2000);
}

/* ---- S6.3: already freed ---- */

TEST(s6_3_double_free_is_unsuccessful)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_UNSUCCESSFUL);
}

/* Frees a handle, makes and frees `churn` other timers, frees it again. */
static void double_free_after_churn(int churn)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    for (int i = 0; i < churn; i++) {
        PVOID other = new_timer(ext);
        CHECK(other != h);
        CHECK_STATUS(StorPortFreeTimer(ext, other), STOR_STATUS_SUCCESS);
    }
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_UNSUCCESSFUL);
}

TEST(s6_3_freed_handle_is_unsuccessful_while_other_timers_come_and_go)
{
    double_free_after_churn(100);
}

TEST(s6_3_freed_handle_stays_unsuccessful_after_many_more_timers)
{
    /* "Already freed" has no expiry: however many timers were made and freed
     * since (reusing its slot), it is still a freed handle of this adapter. */
    double_free_after_churn(20000);
}

TEST(s6_3_double_free_changes_no_counts)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    stortimer_stats before = stats_of(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_UNSUCCESSFUL);
    stortimer_stats after = stats_of(ext);
    CHECK_EQ(after.timers_freed, before.timers_freed);
    CHECK_EQ(after.timers_live, 1);
}

/* ---- S6.4: SUCCESS, cancel, dead at once ---- */

TEST(s6_4_free_of_a_live_timer_is_success)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
}

/* Arms a 20 ms timer with `window`, frees it: it never fires after. */
static void check_free_cancels(fixture *fx, ULONGLONG window)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, h, probe_callback, &p, 20000, window);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    /* On a loaded machine it may have fired before the free; never after. */
    int at_free = atomic_load(&p.fired);
    if (fx->clock)
        CHECK_EQ(at_free, 0);
    fx_pass(fx, 20000 + window + 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), at_free);
}

TEST_BOTH(s6_4_free_cancels_a_pending_timer)
{
    check_free_cancels(fx, 0);
}

TEST_BOTH(s6_4_free_cancels_a_pending_timer_with_a_window)
{
    check_free_cancels(fx, 10000);
}

TEST_BOTH(s6_4_free_cancels_only_its_own_timer)
{
    PVOID ext = fx_adapter(fx, 0), h1 = new_timer(ext), h2 = new_timer(ext);
    probe p1, p2;
    probe_init(&p1, fx, ext);
    probe_init(&p2, fx, ext);
    ULONGLONG called = fx_now(fx);
    arm(ext, h1, probe_callback, &p1, 20000, 0);
    arm(ext, h2, probe_callback, &p2, 3000, 0);
    CHECK_STATUS(StorPortFreeTimer(ext, h1), STOR_STATUS_SUCCESS);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &p2.fired, 1));
    check_fired_at(fx, p2.at[0], called, 3000);
}

TEST(s6_4_request_on_a_freed_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, h, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s6_4_cancel_on_a_freed_handle_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, h, probe_callback, NULL, 0, 0),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST_BOTH(s6_4_request_on_a_freed_handle_arms_nothing)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    StorPortRequestTimer(ext, h, probe_callback, &p, 1000, 0);
    fx_pass(fx, 3000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST_BOTH(s6_4_free_after_the_callback_ran_is_success)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, h, probe_callback, &p, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_UNSUCCESSFUL);
}

TEST_BOTH(s6_4_free_then_initialize_again_works)
{
    PVOID ext = fx_adapter(fx, 1), old = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, old, probe_callback, &p, 20000, 0);
    CHECK_STATUS(StorPortFreeTimer(ext, old), STOR_STATUS_SUCCESS);
    int old_fired = atomic_load(&p.fired);
    /* max_timers 1: the freed timer's place is free again. */
    PVOID fresh = new_timer(ext);
    CHECK(fresh != old);
    probe q;
    probe_init(&q, fx, ext);
    ULONGLONG called = fx_now(fx);
    arm(ext, fresh, probe_callback, &q, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &q.fired, 1));
    check_fired_at(fx, q.at[0], called, 1000);
    CHECK(q.seen_context[0] == &q);
    fx_pass(fx, 25000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), old_fired);
    CHECK_EQ(atomic_load(&q.fired), 1);
    CHECK_STATUS(StorPortFreeTimer(ext, old), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortFreeTimer(ext, fresh), STOR_STATUS_SUCCESS);
}

TEST(s6_4_stats_count_timers_freed_and_live)
{
    PVOID ext = virtual_adapter(0), h[3];
    for (int i = 0; i < 3; i++)
        h[i] = new_timer(ext);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.timers_initialized, 3);
    CHECK_EQ(s.timers_freed, 0);
    CHECK_EQ(s.timers_live, 3);
    CHECK_STATUS(StorPortFreeTimer(ext, h[0]), STOR_STATUS_SUCCESS);
    s = stats_of(ext);
    CHECK_EQ(s.timers_freed, 1);
    CHECK_EQ(s.timers_live, 2);
    CHECK_STATUS(StorPortFreeTimer(ext, h[2]), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, h[2]), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortFreeTimer(ext, (PVOID)0x1234), STOR_STATUS_INVALID_PARAMETER);
    s = stats_of(ext);
    CHECK_EQ(s.timers_initialized, 3);
    CHECK_EQ(s.timers_freed, 2);
    CHECK_EQ(s.timers_live, 1);
    CHECK_EQ(fx_remove(ext), 1);
}

TEST(s6_4_stats_count_a_free_of_a_pending_timer_as_cancelled)
{
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    arm(ext, h, probe_callback, NULL, 1000, 0);
    CHECK_EQ(stats_of(ext).cancelled, 0);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.cancelled, 1);
    CHECK_EQ(s.timers_freed, 1);
    CHECK_EQ(s.fired, 0);
}

TEST(s6_4_stats_process_totals_count_frees)
{
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0), h = new_timer(ext);
    new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.timers_freed, before.timers_freed + 1);
    CHECK_EQ(after.timers_live, before.timers_live + 1);
}

/* ---- S6.4.1: after it returns, not running and never starting ---- */

typedef struct slow {
    PVOID extension, handle;
    _Atomic int started, finished;
    ULONGLONG finished_at;
    ULONGLONG rearm;        /* > 0: re-arm itself (S5.6) before its work */
    ULONG rearm_status;
} slow;

/* Takes ~30 ms of real time, whatever clock the adapter is on. */
static VOID slow_callback(PVOID DeviceExtension, PVOID Context)
{
    slow *s = Context;
    if (s->rearm)
        s->rearm_status = StorPortRequestTimer(DeviceExtension, s->handle, slow_callback, s,
                                               s->rearm, 0);
    atomic_fetch_add(&s->started, 1); /* after the re-arm: a free may follow at once */
    sleep_us(30000);
    s->finished_at = real_us();
    atomic_fetch_add(&s->finished, 1);
}

TEST_BOTH(s6_4_1_free_waits_for_a_running_callback)
{
    PVOID ext = fx_adapter(fx, 0);
    slow s = {.extension = ext};
    s.handle = new_timer(ext);
    arm(ext, s.handle, slow_callback, &s, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);
    CHECK(wait_for(&s.started, 1, 5000));
    ULONG status = StorPortFreeTimer(ext, s.handle);
    ULONGLONG returned = real_us();
    int finished = atomic_load(&s.finished);
    fx_join(t);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK_EQ(finished, 1);
    CHECK(returned >= s.finished_at);
}

TEST_BOTH(s6_4_1_free_during_a_callback_drops_its_rearm)
{
    /* The running callback re-armed its timer (due while it still runs);
     * after FreeTimer returns that arm must never start. */
    PVOID ext = fx_adapter(fx, 0);
    slow s = {.extension = ext, .rearm = 100};
    s.handle = new_timer(ext);
    arm(ext, s.handle, slow_callback, &s, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 1000);
    CHECK(wait_for(&s.started, 1, 5000));
    /* Normally still running; a very loaded machine may have let it end. */
    int finished_before = atomic_load(&s.finished);
    CHECK_STATUS(StorPortFreeTimer(ext, s.handle), STOR_STATUS_SUCCESS);
    int started_at_return = atomic_load(&s.started);
    int finished_at_return = atomic_load(&s.finished);
    fx_join(t);
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_STATUS(s.rearm_status, STOR_STATUS_SUCCESS);
    CHECK_EQ(finished_at_return, started_at_return);
    if (!finished_before)
        CHECK_EQ(started_at_return, 1);
    CHECK_EQ(atomic_load(&s.started), started_at_return);
}

typedef struct self_freer {
    PVOID handle;
    _Atomic int fired, ended;
    ULONG free_status, free_again_status, rearm_status, cancel_status;
    KIRQL irql_after_free;
} self_freer;

static VOID free_self_callback(PVOID DeviceExtension, PVOID Context)
{
    self_freer *f = Context;
    atomic_fetch_add(&f->fired, 1);
    f->free_status = StorPortFreeTimer(DeviceExtension, f->handle);
    /* The callback goes on running after freeing its own timer. */
    f->irql_after_free = stortimer_irql_current();
    spin_us(2000);
    atomic_store(&f->ended, 1);
}

TEST_BOTH(s6_4_1_callback_freeing_its_own_timer_gets_success_and_runs_to_its_end)
{
    PVOID ext = fx_adapter(fx, 0);
    self_freer f = {.free_status = 0xFFFFFFFFu};
    f.handle = new_timer(ext);
    arm(ext, f.handle, free_self_callback, &f, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &f.ended, 1));
    CHECK_STATUS(f.free_status, STOR_STATUS_SUCCESS);
    CHECK_EQ(f.irql_after_free, DISPATCH_LEVEL);
    CHECK_EQ(atomic_load(&f.fired), 1);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.timers_freed, 1);
    CHECK_EQ(s.timers_live, 0);
    CHECK_EQ(fx_remove(ext), 0);
}

static VOID free_self_then_use_callback(PVOID DeviceExtension, PVOID Context)
{
    self_freer *f = Context;
    atomic_fetch_add(&f->fired, 1);
    f->free_status = StorPortFreeTimer(DeviceExtension, f->handle);
    f->rearm_status = StorPortRequestTimer(DeviceExtension, f->handle,
                                           free_self_then_use_callback, f, 100, 0);
    f->cancel_status = StorPortRequestTimer(DeviceExtension, f->handle,
                                            free_self_then_use_callback, f, 0, 0);
    f->free_again_status = StorPortFreeTimer(DeviceExtension, f->handle);
    atomic_store(&f->ended, 1);
}

TEST_BOTH(s6_4_1_own_timer_freed_in_its_callback_is_dead_at_once)
{
    PVOID ext = fx_adapter(fx, 0);
    self_freer f = {0};
    f.handle = new_timer(ext);
    arm(ext, f.handle, free_self_then_use_callback, &f, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &f.ended, 1));
    CHECK_STATUS(f.free_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(f.rearm_status, STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(f.cancel_status, STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(f.free_again_status, STOR_STATUS_UNSUCCESSFUL);
    fx_pass(fx, 2000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&f.fired), 1);
    CHECK_STATUS(StorPortFreeTimer(ext, f.handle), STOR_STATUS_UNSUCCESSFUL);
}

static VOID rearm_then_free_self_callback(PVOID DeviceExtension, PVOID Context)
{
    self_freer *f = Context;
    atomic_fetch_add(&f->fired, 1);
    f->rearm_status = StorPortRequestTimer(DeviceExtension, f->handle,
                                           rearm_then_free_self_callback, f, 100, 0);
    f->free_status = StorPortFreeTimer(DeviceExtension, f->handle);
    atomic_store(&f->ended, 1);
}

TEST_BOTH(s6_4_1_callback_freeing_its_rearmed_timer_cancels_the_rearm)
{
    PVOID ext = fx_adapter(fx, 0);
    self_freer f = {0};
    f.handle = new_timer(ext);
    arm(ext, f.handle, rearm_then_free_self_callback, &f, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &f.ended, 1));
    CHECK_STATUS(f.rearm_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(f.free_status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&f.fired), 1);
}

TEST_BOTH(s6_4_1_free_holding_startio_lock_drops_a_due_callback)
{
    /* virtual: arm 100 us, take the lock, advance (it cannot run), free,
     * release, advance again. real: arm 1 ms under the lock, let 5 ms pass
     * so it is due, free, release, wait. Never fires. */
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    ULONGLONG value = fx->clock ? 100 : 1000;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm(ext, h, probe_callback, &p, value, 0);
    fx_pass(fx, fx->clock ? 200 : 5000);
    int fired_before_free = atomic_load(&p.fired);
    ULONG status = StorPortFreeTimer(ext, h);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK_EQ(fired_before_free, 0);
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST_BOTH(s6_4_1_free_holding_startio_lock_leaves_other_due_timers)
{
    PVOID ext = fx_adapter(fx, 0), h = new_timer(ext), other = new_timer(ext);
    probe p, q;
    probe_init(&p, fx, ext);
    probe_init(&q, fx, ext);
    ULONGLONG value = fx->clock ? 100 : 1000;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm(ext, h, probe_callback, &p, value, 0);
    arm(ext, other, probe_callback, &q, value, 0);
    fx_pass(fx, fx->clock ? 200 : 5000);
    ULONG status = StorPortFreeTimer(ext, h);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 0);
    CHECK(fx_await(fx, &q.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST_BOTH(s6_4_1_another_adapters_startio_lock_is_no_exception)
{
    /* Holding some other adapter's StartIo lock, FreeTimer still waits for
     * this adapter's running callback. */
    PVOID ext = fx_adapter(fx, 0), other = fx_adapter(fx, 0);
    slow s = {.extension = ext};
    s.handle = new_timer(ext);
    arm(ext, s.handle, slow_callback, &s, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);
    CHECK(wait_for(&s.started, 1, 5000));
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(other, StartIoLock, NULL, &lock);
    ULONG status = StorPortFreeTimer(ext, s.handle);
    ULONGLONG returned = real_us();
    int finished = atomic_load(&s.finished);
    StorPortReleaseSpinLock(other, &lock);
    fx_join(t);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK_EQ(finished, 1);
    CHECK(returned >= s.finished_at);
}

typedef struct pair {
    PVOID victim;
    _Atomic int fired;
    ULONG free_status;
} pair;

static VOID free_other_callback(PVOID DeviceExtension, PVOID Context)
{
    pair *pr = Context;
    pr->free_status = StorPortFreeTimer(DeviceExtension, pr->victim);
    atomic_fetch_add(&pr->fired, 1);
}

TEST_BOTH(s6_4_1_free_from_another_callback_drops_a_due_timer)
{
    /* Callbacks hold the StartIo lock: freeing a timer that is due at the
     * same time (armed later, so it comes second) from one must not wait
     * for it, and it never starts. */
    PVOID ext = fx_adapter(fx, 0), killer = new_timer(ext), victim = new_timer(ext);
    pair pr = {.victim = victim, .free_status = 0xFFFFFFFFu};
    probe p;
    probe_init(&p, fx, ext);
    /* Both armed under the StartIo lock, so the first cannot run before
     * the second is armed, however slow the machine. */
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm(ext, killer, free_other_callback, &pr, 1000, 0);
    arm(ext, victim, probe_callback, &p, 1000, 0);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &pr.fired, 1));
    CHECK_STATUS(pr.free_status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

typedef struct racer {
    _Atomic int running, started, late;
    _Atomic int freed;
} racer;

static VOID racing_callback(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    racer *r = Context;
    if (atomic_load(&r->freed))
        atomic_fetch_add(&r->late, 1);
    atomic_store(&r->running, 1);
    atomic_fetch_add(&r->started, 1);
    spin_us(100);
    atomic_store(&r->running, 0);
}

TEST_BOTH(s6_4_1_free_racing_with_the_fire_never_leaves_the_callback_running)
{
    /* Each timer is freed while its fire time comes on another thread: the
     * dispatcher, or a thread advancing a virtual clock to the due time. */
    enum { ROUNDS = 300 };
    PVOID ext = fx_adapter(fx, 0);
    static racer r[ROUNDS];
    memset(r, 0, sizeof r);
    int running_at_return = 0;
    for (int i = 0; i < ROUNDS; i++) {
        PVOID h = new_timer(ext);
        ULONGLONG value = 20 + (ULONGLONG)(i % 8) * 30;
        arm(ext, h, racing_callback, &r[i], value, 0);
        test_thread *t = fx_pass_elsewhere(fx, value);
        spin_us((ULONGLONG)((i * 37) % 300));
        CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
        running_at_return += atomic_load(&r[i].running);
        atomic_store(&r[i].freed, 1);
        fx_join(t);
    }
    fx_pass(fx, 1000);
    fx_settle(fx);
    int late = 0;
    for (int i = 0; i < ROUNDS; i++) {
        late += atomic_load(&r[i].late);
        CHECK(atomic_load(&r[i].started) <= 1);
    }
    CHECK_EQ(running_at_return, 0);
    CHECK_EQ(late, 0);
}
