/*
 * SPEC S7: the legacy timer, StorPortNotification(RequestTimerCall,
 * HwDeviceExtension, HwStorTimer, MiniportTimerValue): one slot per
 * adapter, replace-on-re-arm, 0 cancels, runs like an extended callback
 * (S8), S5.7 IRQL rules, bad arguments counted, other types ignored.
 */
#include "harness.h"

#include <string.h>

/* ---- helpers (see also harness.h) ---- */

static ULONGLONG real_us(void)
{
    return stortimer_clock_now(NULL);
}

static void arm_legacy(PVOID ext, PHW_TIMER routine, ULONG value)
{
    StorPortNotification(RequestTimerCall, ext, routine, value);
}

/*
 * Arms the legacy timer twice under the StartIo lock, so that the first
 * request cannot start between the calls however slow the machine. Returns
 * the clock time of the second call.
 */
static ULONGLONG rearm_legacy(fixture *fx, PVOID ext, PHW_TIMER first, ULONG first_value,
                              PHW_TIMER second, ULONG second_value)
{
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm_legacy(ext, first, first_value);
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, second, second_value);
    StorPortReleaseSpinLock(ext, &lock);
    return called;
}

/*
 * One log for every callback of a test, legacy or extended: which routine
 * ran ('A', 'B', 'X', ...), for which extension, when, at which IRQL.
 */
static struct {
    fixture *fx;
    _Atomic int claimed, fired;
    char who[PROBE_MAX];
    PVOID ext[PROBE_MAX];
    ULONGLONG at[PROBE_MAX];
    KIRQL irql[PROBE_MAX];
} lg;

static void log_reset(fixture *fx)
{
    memset(&lg, 0, sizeof lg);
    lg.fx = fx;
}

static void log_call(char who, PVOID ext)
{
    int n = atomic_fetch_add(&lg.claimed, 1);
    if (n < PROBE_MAX) {
        lg.who[n] = who;
        lg.ext[n] = ext;
        lg.at[n] = fx_now(lg.fx);
        lg.irql[n] = stortimer_irql_current();
    }
    atomic_fetch_add(&lg.fired, 1);
}

static VOID legacy_a(PVOID DeviceExtension) { log_call('A', DeviceExtension); }
static VOID legacy_b(PVOID DeviceExtension) { log_call('B', DeviceExtension); }

/* An extended callback for the same log; Context is the letter. */
static VOID extended_logger(PVOID DeviceExtension, PVOID Context)
{
    log_call((char)(uintptr_t)Context, DeviceExtension);
}

/* ---- arming and firing ---- */

TEST_BOTH(s7_1_value_arms_and_fires_once)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_a, 500);
    CHECK(fx_pass_until_fired(fx, 500, &lg.fired, 1));
    check_fired_at(fx, lg.at[0], called, 500);
    CHECK_EQ(lg.who[0], 'A');
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

TEST_BOTH(s7_3_routine_gets_the_extension)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 300);
    fx_pass(fx, 300);
    CHECK(fx_await(fx, &lg.fired, 1));
    CHECK(lg.ext[0] == ext);
}

TEST_BOTH(s7_3_routine_runs_at_dispatch_level)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 300);
    fx_pass(fx, 300);
    CHECK(fx_await(fx, &lg.fired, 1));
    CHECK_EQ(lg.irql[0], DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

static _Atomic int reacquire_done;
static ULONGLONG reacquire_misuse;
static int reacquire_reports;

static VOID reacquire_startio(PVOID DeviceExtension)
{
    STOR_LOCK_HANDLE h;
    /* A miniport bug: the routine already holds the StartIo lock. Reported,
     * nothing taken (a deadlock on Windows). */
    StorPortAcquireSpinLock(DeviceExtension, StartIoLock, NULL, &h);
    StorPortReleaseSpinLock(DeviceExtension, &h);
    reacquire_reports = reports_count();
    stortimer_stats s;
    if (stortimer_stats_read(DeviceExtension, &s) == STOR_STATUS_SUCCESS)
        reacquire_misuse = s.lock_misuse;
    atomic_store(&reacquire_done, 1);
}

TEST_BOTH(s7_3_routine_runs_holding_the_startio_lock)
{
    PVOID ext = fx_adapter(fx, 0);
    reports_capture();
    arm_legacy(ext, reacquire_startio, 300);
    fx_pass(fx, 300);
    bool done = fx_await(fx, &reacquire_done, 1);
    reports_release();
    CHECK(done);
    CHECK(reacquire_reports >= 1);
    CHECK_EQ(reacquire_misuse, 1);
}

static struct {
    _Atomic int started, finished;
    ULONGLONG finished_at;
} slow_legacy;

static VOID slow_legacy_routine(PVOID DeviceExtension)
{
    (void)DeviceExtension;
    atomic_store(&slow_legacy.started, 1);
    sleep_us(30000);
    slow_legacy.finished_at = real_us();
    atomic_store(&slow_legacy.finished, 1);
}

TEST_BOTH(s7_3_startio_lock_is_not_available_to_others_while_it_runs)
{
    PVOID ext = fx_adapter(fx, 0);
    arm_legacy(ext, slow_legacy_routine, 100);
    advancer adv = {fx->clock, 100};
    test_thread *t = fx->clock ? thread_start(advance_thread, &adv) : NULL;
    CHECK(wait_for(&slow_legacy.started, 1, 5000));
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &h);
    ULONGLONG got = real_us();
    int finished = atomic_load(&slow_legacy.finished);
    StorPortReleaseSpinLock(ext, &h);
    if (t)
        thread_join(t);
    CHECK_EQ(finished, 1);
    CHECK(got >= slow_legacy.finished_at);
}

TEST_BOTH(s7_1_can_be_armed_again_after_it_fired)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 300);
    fx_pass(fx, 300);
    CHECK(fx_await(fx, &lg.fired, 1));
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_b, 700);
    fx_pass(fx, 700);
    CHECK(fx_await(fx, &lg.fired, 2));
    CHECK_EQ(lg.who[1], 'B');
    check_fired_at(fx, lg.at[1], called, 700);
}

/* ---- re-arm replaces a pending request; never BUSY ---- */

TEST_BOTH(s7_1_rearm_with_earlier_time_replaces_routine_and_time)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = rearm_legacy(fx, ext, legacy_a, 20000, legacy_b, 300);
    CHECK(fx_pass_until_fired(fx, 300, &lg.fired, 1));
    CHECK_EQ(lg.who[0], 'B');
    check_fired_at(fx, lg.at[0], called, 300);
    fx_pass(fx, 30000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

TEST_BOTH(s7_1_rearm_with_later_time_replaces_the_time)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = rearm_legacy(fx, ext, legacy_a, 300, legacy_a, 1000);
    if (fx->clock) {
        fx_pass(fx, 300);
        CHECK_EQ(atomic_load(&lg.fired), 0);
        fx_pass(fx, 699);
        CHECK_EQ(atomic_load(&lg.fired), 0);
        fx_pass(fx, 1);
    } else {
        fx_pass(fx, 1000);
    }
    CHECK(fx_await(fx, &lg.fired, 1));
    check_fired_at(fx, lg.at[0], called, 1000);
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

TEST_BOTH(s7_1_rearm_with_same_time_replaces_the_routine)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    rearm_legacy(fx, ext, legacy_a, 20000, legacy_b, 20000);
    fx_pass(fx, 20000);
    CHECK(fx_await(fx, &lg.fired, 1));
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    CHECK_EQ(lg.who[0], 'B');
}

TEST(s7_1_rearm_is_never_busy)
{
    PVOID ext = fx_adapter(virtual_fixture(), 0);
    log_reset(virtual_fixture());
    for (ULONG i = 1; i <= 10; i++)
        arm_legacy(ext, (i % 2) ? legacy_a : legacy_b, 1000 * i);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.busy, 0);
    CHECK_EQ(s.legacy_armed, 10);
    CHECK_EQ(s.notification_misuse, 0);
    fx_remove(ext);
}

TEST(s7_1_value_is_in_microseconds_up_to_the_largest_ulong)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_a, 0xFFFFFFFFu);
    stortimer_clock_advance(fx->clock, 0xFFFFFFFEull);
    CHECK_EQ(atomic_load(&lg.fired), 0);
    stortimer_clock_advance(fx->clock, 1);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    CHECK_EQ(lg.at[0], called + 0xFFFFFFFFull);
}

/* ---- 0 cancels ---- */

TEST_BOTH(s7_1_zero_cancels_a_pending_request)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 20000);
    arm_legacy(ext, legacy_a, 0);
    int at_cancel = atomic_load(&lg.fired);
    if (fx->clock)
        CHECK_EQ(at_cancel, 0);
    fx_pass(fx, 30000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), at_cancel);
}

TEST_BOTH(s7_1_zero_with_a_null_routine_cancels)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 20000);
    arm_legacy(ext, NULL, 0);
    int at_cancel = atomic_load(&lg.fired);
    if (fx->clock)
        CHECK_EQ(at_cancel, 0);
    fx_pass(fx, 30000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), at_cancel);
    CHECK_EQ(stats_of(ext).notification_misuse, 0);
}

TEST(s7_1_zero_with_nothing_pending_is_harmless)
{
    PVOID ext = fx_adapter(virtual_fixture(), 0);
    log_reset(virtual_fixture());
    arm_legacy(ext, legacy_a, 0);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.notification_misuse, 0);
    CHECK_EQ(s.legacy_armed, 0);
    /* and the slot still arms afterwards */
    arm_legacy(ext, legacy_a, 100);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

/* ---- re-arm from inside HwStorTimer ---- */

static struct {
    int remaining;
    ULONG value;
} machine;

static VOID state_machine_step(PVOID DeviceExtension)
{
    log_call('S', DeviceExtension);
    if (--machine.remaining > 0)
        arm_legacy(DeviceExtension, state_machine_step, machine.value);
}

TEST_BOTH(s7_2_rearm_from_inside_hwstortimer)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    int n = fx->clock ? 50 : 5;
    machine.remaining = n;
    machine.value = 10000;
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, state_machine_step, 10000);
    if (fx->clock) {
        fx_pass(fx, 600000);
        CHECK_EQ(atomic_load(&lg.fired), n);
        for (int i = 0; i < n; i++)
            CHECK_EQ(lg.at[i], called + 10000ull * (ULONGLONG)(i + 1));
    } else {
        fx_pass(fx, 10000ull * (ULONGLONG)n);
        CHECK(fx_await(fx, &lg.fired, n));
        fx_settle(fx);
        CHECK_EQ(atomic_load(&lg.fired), n);
        /* Each step re-armed after its own recorded time: never early. */
        CHECK(lg.at[0] - called >= 10000);
        for (int i = 1; i < n; i++)
            CHECK(lg.at[i] - lg.at[i - 1] >= 10000);
    }
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.legacy_armed, (ULONGLONG)n);
    CHECK_EQ(s.legacy_fired, (ULONGLONG)n);
}

/* ---- adapters ---- */

TEST_BOTH(s3_2_each_adapter_has_its_own_slot)
{
    PVOID a = fx_adapter(fx, 0), b = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(a, legacy_a, 300);
    arm_legacy(b, legacy_b, 500);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &lg.fired, 2));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 2);
    /* Dispatchers of two real-clock adapters may log in either order. */
    for (int i = 0; i < 2; i++) {
        if (lg.who[i] == 'A') {
            CHECK(lg.ext[i] == a);
            check_fired_at(fx, lg.at[i], called, 300);
        } else {
            CHECK_EQ(lg.who[i], 'B');
            CHECK(lg.ext[i] == b);
            check_fired_at(fx, lg.at[i], called, 500);
        }
    }
    CHECK(lg.who[0] != lg.who[1]);
}

TEST_BOTH(s3_2_cancel_on_one_adapter_leaves_anothers_slot)
{
    PVOID a = fx_adapter(fx, 0), b = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(a, legacy_a, 20000);
    arm_legacy(b, legacy_b, 500);
    arm_legacy(a, legacy_a, 0);
    fx_pass(fx, 25000);
    CHECK(fx_await(fx, &lg.fired, 1));
    fx_settle(fx);
    int b_count = 0;
    for (int i = 0; i < atomic_load(&lg.fired); i++)
        if (lg.who[i] == 'B') {
            b_count++;
            CHECK(lg.ext[i] == b);
            check_fired_at(fx, lg.at[i], called, 500);
        }
    CHECK_EQ(b_count, 1);
    if (fx->clock)
        CHECK_EQ(atomic_load(&lg.fired), 1);
}

/* ---- order with extended timers (S8.4) ---- */

/* Position of a routine's letter in the log, or -1. */
static int log_position(char who)
{
    for (int i = 0; i < atomic_load(&lg.fired) && i < PROBE_MAX; i++)
        if (lg.who[i] == who)
            return i;
    return -1;
}

TEST_BOTH(s8_4_legacy_and_extended_fire_in_order_of_fire_time)
{
    PVOID ext = fx_adapter(fx, 0), h1, h2;
    log_reset(fx);
    CHECK_STATUS(StorPortInitializeTimer(ext, &h1), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &h2), STOR_STATUS_SUCCESS);
    /* All armed under the StartIo lock, so none can start before the last
     * arm even on the real clock. Each call's time is bracketed: on a loaded
     * machine the calls may be ms apart, and the fire times with them. */
    const char who[3] = {'X', 'A', 'Y'};
    const ULONGLONG value[3] = {3000, 2000, 1000};
    ULONGLONG before[3], after[3];
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    before[0] = fx_now(fx);
    arm(ext, h1, extended_logger, (PVOID)(uintptr_t)'X', value[0], 0);
    after[0] = before[1] = fx_now(fx);
    arm_legacy(ext, legacy_a, (ULONG)value[1]);
    after[1] = before[2] = fx_now(fx);
    arm(ext, h2, extended_logger, (PVOID)(uintptr_t)'Y', value[2], 0);
    after[2] = fx_now(fx);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &lg.fired, 3));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 3);
    int pos[3];
    for (int i = 0; i < 3; i++) {
        pos[i] = log_position(who[i]);
        CHECK(pos[i] >= 0);
        check_fired_at(fx, lg.at[pos[i]], before[i], value[i]);
    }
    if (fx->clock) {
        CHECK_EQ(lg.who[0], 'Y');
        CHECK_EQ(lg.who[1], 'A');
        CHECK_EQ(lg.who[2], 'X');
    }
    /* Whenever one due time is surely before another, it fires first
     * (the real clock's due time is the call's time + value, to 1 us). */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (after[i] + value[i] + 1 < before[j] + value[j] && pos[i] > pos[j])
                test_failf(__FILE__, __LINE__, "%c (due by +%llu) fired after %c (due from +%llu)",
                           who[i], after[i] + value[i] + 1 - before[0], who[j],
                           before[j] + value[j] - before[0]);
}

TEST_BOTH(s8_4_legacy_and_extended_ties_break_by_arm_order)
{
    PVOID ext = fx_adapter(fx, 0), h1, h2;
    log_reset(fx);
    CHECK_STATUS(StorPortInitializeTimer(ext, &h1), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &h2), STOR_STATUS_SUCCESS);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ULONGLONG called = fx_now(fx);
    arm(ext, h1, extended_logger, (PVOID)(uintptr_t)'X', 1000, 0);
    arm_legacy(ext, legacy_a, 1000);
    arm(ext, h2, extended_logger, (PVOID)(uintptr_t)'Y', 1000, 0);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &lg.fired, 3));
    CHECK_EQ(lg.who[0], 'X');
    CHECK_EQ(lg.who[1], 'A');
    CHECK_EQ(lg.who[2], 'Y');
    if (fx->clock) {
        CHECK_EQ(lg.at[0], called + 1000);
        CHECK_EQ(lg.at[1], called + 1000);
        CHECK_EQ(lg.at[2], called + 1000);
    }
}

TEST_BOTH(s7_1_rearm_moves_the_legacy_timer_in_the_order)
{
    /* Replacing the legacy request re-places it: it was first, now last. */
    PVOID ext = fx_adapter(fx, 0), h;
    log_reset(fx);
    CHECK_STATUS(StorPortInitializeTimer(ext, &h), STOR_STATUS_SUCCESS);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm_legacy(ext, legacy_a, 1000);
    arm(ext, h, extended_logger, (PVOID)(uintptr_t)'X', 2000, 0);
    arm_legacy(ext, legacy_a, 3000);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &lg.fired, 2));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 2);
    CHECK_EQ(lg.who[0], 'X');
    CHECK_EQ(lg.who[1], 'A');
}

/* ---- above DISPATCH_LEVEL (S5.7) ---- */

TEST_BOTH(s7_4_above_dispatch_arms_with_due_time_from_the_call)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm_legacy(ext, legacy_a, 500);
    stortimer_irql_lower(old);
    CHECK(fx_pass_until_fired(fx, 500, &lg.fired, 1));
    CHECK_EQ(lg.who[0], 'A');
    CHECK(lg.ext[0] == ext);
    check_fired_at(fx, lg.at[0], called, 500);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

TEST(s7_4_above_dispatch_due_time_is_not_counted_from_the_handover)
{
    /* Virtual clock: arm above DISPATCH_LEVEL at 0 while this thread holds
     * the StartIo lock, so that the advance to 400 cannot even look at the
     * adapter; the request is applied later, but is due at 0 + 1000. */
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm_legacy(ext, legacy_a, 1000);
    stortimer_irql_lower(old);
    fx_pass(fx, 400);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 599);
    CHECK_EQ(atomic_load(&lg.fired), 0);
    fx_pass(fx, 1);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    CHECK_EQ(lg.at[0], called + 1000);
}

TEST_BOTH(s7_4_above_dispatch_replaces_a_pending_request)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    arm_legacy(ext, legacy_a, 20000);
    ULONGLONG called = fx_now(fx);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm_legacy(ext, legacy_b, 500);
    stortimer_irql_lower(old);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &lg.fired, 1));
    CHECK_EQ(lg.who[0], 'B');
    check_fired_at(fx, lg.at[0], called, 500);
    fx_pass(fx, 25000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

/* (200 ms: far enough that the cancel comes first even under valgrind,
 * where the arm and its checked build's look at the adapter are slow; a
 * callback that started before the cancel would still run, S5.5.) */
TEST_BOTH(s7_4_above_dispatch_zero_cancels)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 200000);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm_legacy(ext, legacy_a, 0);
    stortimer_irql_lower(old);
    int at_cancel = atomic_load(&lg.fired);
    if (fx->clock)
        CHECK_EQ(at_cancel, 0);
    fx_pass(fx, 300000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), at_cancel);
}

/* ---- bad arguments: nothing changes, counted ---- */

TEST(s7_5_unknown_extension_is_counted_in_process_stats)
{
    char not_an_adapter[64] = {0};
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    arm_legacy(not_an_adapter, legacy_a, 100);
    arm_legacy((PVOID)0x10, legacy_a, 100);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.notification_misuse, before.notification_misuse + 2);
    CHECK_EQ(after.legacy_armed, before.legacy_armed);
    for (size_t i = 0; i < sizeof not_an_adapter; i++)
        CHECK_EQ(not_an_adapter[i], 0);
}

TEST(s7_5_null_extension_is_counted_in_process_stats)
{
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    arm_legacy(NULL, legacy_a, 100);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.notification_misuse, before.notification_misuse + 1);
}

TEST(s7_5_removed_extension_is_counted_in_process_stats)
{
    PVOID ext = fx_adapter(virtual_fixture(), 0);
    fx_remove(ext);
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    arm_legacy(ext, legacy_a, 100);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.notification_misuse, before.notification_misuse + 1);
    CHECK_EQ(after.legacy_armed, before.legacy_armed);
}

TEST_BOTH(s7_5_unknown_extension_leaves_live_adapters_alone)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    char not_an_adapter[64] = {0};
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_a, 3000);
    arm_legacy(not_an_adapter, legacy_b, 100);
    arm_legacy(not_an_adapter, legacy_b, 0);
    arm_legacy((char *)ext + 8, legacy_b, 100);
    arm_legacy((char *)ext + 8, legacy_b, 0);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &lg.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    CHECK_EQ(lg.who[0], 'A');
    check_fired_at(fx, lg.at[0], called, 3000);
}

TEST_BOTH(s7_5_null_routine_is_counted_and_leaves_the_pending_request)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_a, 3000);
    arm_legacy(ext, NULL, 100);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.notification_misuse, 1);
    CHECK_EQ(s.legacy_armed, 1);
    CHECK(fx_pass_until_fired(fx, 3000, &lg.fired, 1));
    CHECK_EQ(lg.who[0], 'A');
    check_fired_at(fx, lg.at[0], called, 3000);
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
}

TEST(s7_5_null_routine_with_nothing_pending_arms_nothing)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, NULL, 100);
    stortimer_clock_advance(fx->clock, 1000);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.notification_misuse, 1);
    CHECK_EQ(s.legacy_armed, 0);
    CHECK_EQ(s.fired, 0);
}

TEST(s7_5_null_routine_above_dispatch_is_counted)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 500);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm_legacy(ext, NULL, 100);
    stortimer_irql_lower(old);
    stortimer_clock_advance(fx->clock, 1000);
    CHECK_EQ(stats_of(ext).notification_misuse, 1);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    CHECK_EQ(lg.who[0], 'A');
    CHECK_EQ(lg.at[0], 500);
}

/* ---- other notification types ---- */

TEST_BOTH(s7_5_other_notification_types_are_ignored)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    ULONGLONG called = fx_now(fx);
    arm_legacy(ext, legacy_a, 3000);
    stortimer_stats before = stats_of(ext);
    StorPortNotification(NextRequest, ext);
    StorPortNotification(ResetDetected, ext, (ULONG)0);
    StorPortNotification(BusChangeDetected, ext, (ULONG)0);
    StorPortNotification(NextLuRequest, ext, (UCHAR)0, (UCHAR)0, (UCHAR)0);
    StorPortNotification(RequestComplete, ext, (PVOID)NULL);
    stortimer_stats after = stats_of(ext);
    CHECK_EQ(after.notification_misuse, before.notification_misuse);
    CHECK_EQ(after.legacy_armed, before.legacy_armed);
    CHECK_EQ(after.cancelled, before.cancelled);
    CHECK_EQ(after.rejected, before.rejected);
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &lg.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), 1);
    check_fired_at(fx, lg.at[0], called, 3000);
}

TEST(s7_5_other_notification_types_with_unknown_extension_are_ignored)
{
    char not_an_adapter[64] = {0};
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    StorPortNotification(NextRequest, not_an_adapter);
    StorPortNotification(ResetDetected, NULL, (ULONG)0);
    StorPortNotification(BusChangeDetected, (PVOID)0x10, (ULONG)0);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.notification_misuse, before.notification_misuse);
}

/* ---- removal ---- */

TEST_BOTH(s3_4_removal_cancels_a_pending_legacy_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    arm_legacy(ext, legacy_a, 20000);
    CHECK_EQ(fx_remove(ext), 0);
    int at_removal = atomic_load(&lg.fired);
    if (fx->clock)
        CHECK_EQ(at_removal, 0);
    fx_pass(fx, 30000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), at_removal);
}

TEST_BOTH(s3_4_removal_stops_a_rearming_legacy_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    log_reset(fx);
    machine.remaining = 1000000;
    machine.value = 500;
    arm_legacy(ext, state_machine_step, 500);
    fx_pass(fx, 5000);
    CHECK(fx_await(fx, &lg.fired, 3));
    CHECK_EQ(fx_remove(ext), 0);
    int at_removal = atomic_load(&lg.fired);
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&lg.fired), at_removal);
}
