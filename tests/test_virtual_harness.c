/*
 * The virtual-time harness of the host API (SPEC S10, S11): asking a
 * virtual clock for its next fire time, advancing to an absolute time or
 * to the next fire time, running until no timer is pending, and driving a
 * miniport's interrupt routine at device IRQL (S5.7, S9.1).
 */
#include "harness.h"

#include "adapters/adapter.h" /* white-box: a wheel's time */

/* ---- next fire time ---- */

TEST(s10_next_fire_is_false_when_nothing_is_pending)
{
    PVOID ext = virtual_adapter(0);
    new_timer(ext);
    ULONGLONG at = 777;
    CHECK(!stortimer_clock_next_fire(virtual_fixture()->clock, &at));
    CHECK_EQ(at, 777); /* left alone */
}

TEST(s10_next_fire_is_the_earliest_over_every_adapter)
{
    PVOID first = virtual_adapter(0), second = virtual_adapter(0);
    probe p, q;
    probe_init(&p, virtual_fixture(), first);
    probe_init(&q, virtual_fixture(), second);
    arm(first, new_timer(first), probe_callback, &p, 5000, 0);
    arm(second, new_timer(second), probe_callback, &q, 3000, 0);
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(virtual_fixture()->clock, &at));
    CHECK_EQ(at, 3000);
}

TEST(s11_4_next_fire_is_the_time_chosen_inside_the_window)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 10000, 4000);
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(clock, &at));
    CHECK(at >= 10000 && at <= 14000); /* S5.4.2 */
    stortimer_clock_advance_to(clock, at - 1);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_clock_advance_to(clock, at);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], at);
}

TEST(s5_7_next_fire_counts_an_arm_handed_over_from_above_dispatch)
{
    PVOID ext = virtual_adapter(0);
    PVOID handle = new_timer(ext);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 2500, 0),
                 STOR_STATUS_SUCCESS);
    stortimer_irql_lower(old);
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(virtual_fixture()->clock, &at));
    CHECK_EQ(at, 2500);
}

TEST(s10_next_fire_forgets_a_cancelled_timer)
{
    PVOID ext = virtual_adapter(0);
    PVOID handle = new_timer(ext);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, handle, probe_callback, &p, 2500, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    ULONGLONG at;
    CHECK(!stortimer_clock_next_fire(virtual_fixture()->clock, &at));
}

TEST(s10_next_fire_on_the_real_clock_is_false_and_reported)
{
    reports_capture();
    ULONGLONG at;
    CHECK(!stortimer_clock_next_fire(NULL, &at));
    CHECK(reports_contain("real clock"));
    reports_release();
}

TEST(s10_next_fire_with_a_null_out_pointer_is_false)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    CHECK(!stortimer_clock_next_fire(virtual_fixture()->clock, NULL));
}

/* ---- advancing to a time ---- */

TEST(s11_2_advance_to_runs_what_falls_due_and_reads_the_target)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p, q;
    probe_init(&p, virtual_fixture(), ext);
    probe_init(&q, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 4000, 0);
    arm(ext, new_timer(ext), probe_callback, &q, 9000, 0);
    stortimer_clock_advance_to(clock, 6000);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 4000);
    CHECK_EQ(atomic_load(&q.fired), 0);
    CHECK_EQ(stortimer_clock_now(clock), 6000);
}

TEST(s11_2_advance_to_a_past_time_changes_nothing)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    stortimer_clock_advance(clock, 5000);
    stortimer_clock_advance_to(clock, 1000);
    CHECK_EQ(stortimer_clock_now(clock), 5000);
}

TEST(s11_1_advance_to_on_the_real_clock_is_reported_and_ignored)
{
    reports_capture();
    stortimer_clock_advance_to(NULL, 1000);
    CHECK(reports_contain("real clock"));
    reports_release();
}

/* ---- advancing to the next fire time ---- */

TEST(s11_3_advance_to_next_runs_every_callback_of_that_time_and_no_later_one)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe a, b, later;
    probe_init(&a, virtual_fixture(), ext);
    probe_init(&b, virtual_fixture(), ext);
    probe_init(&later, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &a, 3000, 0);
    arm(ext, new_timer(ext), probe_callback, &b, 3000, 0);
    arm(ext, new_timer(ext), probe_callback, &later, 3001, 0);
    CHECK(stortimer_clock_advance_to_next(clock));
    CHECK_EQ(stortimer_clock_now(clock), 3000);
    CHECK_EQ(atomic_load(&a.fired) + atomic_load(&b.fired), 2);
    CHECK_EQ(atomic_load(&later.fired), 0);
    CHECK(stortimer_clock_advance_to_next(clock));
    CHECK_EQ(atomic_load(&later.fired), 1);
    CHECK_EQ(stortimer_clock_now(clock), 3001);
}

TEST(s11_2_advance_to_next_is_false_and_still_when_nothing_is_pending)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    virtual_adapter(0);
    stortimer_clock_advance(clock, 42);
    CHECK(!stortimer_clock_advance_to_next(clock));
    CHECK_EQ(stortimer_clock_now(clock), 42);
}

/* Re-arms itself from its callback `user` (an int count) more times. */
static PVOID rearm_handle;
static void rearm_again(probe *p, PVOID ext)
{
    int *left = p->user;
    if (*left > 0) {
        (*left)--;
        CHECK_STATUS(StorPortRequestTimer(ext, rearm_handle, probe_callback, p, 10000, 0),
                     STOR_STATUS_SUCCESS);
    }
}

/* A new adapter's timer polling every 10 ms, re-armed from its callback
 * *left more times. */
static void start_polling(probe *p, int *left)
{
    PVOID ext = virtual_adapter(0);
    rearm_handle = new_timer(ext);
    probe_init(p, virtual_fixture(), ext);
    p->then = rearm_again;
    p->user = left;
    arm(ext, rearm_handle, probe_callback, p, 10000, 0);
}

TEST(s11_3_advance_to_next_steps_a_periodic_timer_one_period_at_a_time)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    int left = 100;
    probe p;
    start_polling(&p, &left);
    for (int i = 1; i <= 3; i++) {
        CHECK(stortimer_clock_advance_to_next(clock));
        CHECK_EQ(atomic_load(&p.fired), i);
        CHECK_EQ(stortimer_clock_now(clock), 10000u * (ULONGLONG)i);
    }
}

/* Inside a callback: the harness calls that must refuse to run there. */
static BOOLEAN next_answer;
static ULONG idle_answer;
static void ask_from_callback(probe *p, PVOID ext)
{
    (void)ext;
    next_answer = stortimer_clock_advance_to_next(p->user);
    idle_answer = stortimer_clock_run_until_idle(p->user, 1000);
}

TEST(s10_stepping_from_a_callback_is_refused_and_reported)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p, later;
    probe_init(&p, virtual_fixture(), ext);
    probe_init(&later, virtual_fixture(), ext);
    p.user = clock;
    p.then = ask_from_callback;
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    arm(ext, new_timer(ext), probe_callback, &later, 200, 0);
    reports_capture();
    stortimer_clock_advance(clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK(!next_answer);
    CHECK_STATUS(idle_answer, STOR_STATUS_INVALID_DEVICE_STATE);
    CHECK_EQ(atomic_load(&later.fired), 0); /* nothing ran inside the callback */
    CHECK(reports_contain("from a timer callback"));
    reports_release();
}

/* ---- running until idle ---- */

TEST(s11_3_run_until_idle_runs_a_state_machine_to_its_end)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    int left = 29; /* 30 polls of 10 ms */
    probe p;
    start_polling(&p, &left);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 3600000000u), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&p.fired), 30);
    /* It stops at the last fire time, not at the limit. */
    CHECK_EQ(stortimer_clock_now(clock), 300000);
}

TEST(s10_run_until_idle_stops_a_periodic_timer_at_the_limit)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    int left = 1000000;
    probe p;
    start_polling(&p, &left);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 55000), STOR_STATUS_BUSY);
    CHECK_EQ(atomic_load(&p.fired), 5); /* 10, 20, 30, 40, 50 ms */
    CHECK_EQ(stortimer_clock_now(clock), 55000);
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(clock, &at));
    CHECK_EQ(at, 60000);
}

TEST(s10_run_until_idle_leaves_a_timer_beyond_the_limit_pending)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 60000000, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 1000000), STOR_STATUS_BUSY);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(stortimer_clock_now(clock), 1000000);
}

TEST(s11_2_run_until_idle_with_nothing_pending_keeps_the_clock)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    virtual_adapter(0);
    stortimer_clock_advance(clock, 7);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 1000), STOR_STATUS_SUCCESS);
    CHECK_EQ(stortimer_clock_now(clock), 7);
}

TEST(s11_1_run_until_idle_on_the_real_clock_is_invalid_parameter)
{
    CHECK_STATUS(stortimer_clock_run_until_idle(NULL, 1000), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s8_1_run_until_idle_with_the_startio_lock_held_cannot_run_that_adapter)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 5000), STOR_STATUS_INVALID_DEVICE_STATE);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(stortimer_clock_now(clock), 5000);
    StorPortReleaseSpinLock(ext, &lock);
    /* Once released, it runs, late (S8.1). */
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 5000), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 5000);
}

/* Stalls 3 ms inside the callback: the clock moves (S9.3). */
static void stall_3ms(probe *p, PVOID ext)
{
    (void)p;
    (void)ext;
    StorPortStallExecution(3000);
}

TEST(s9_3_run_until_idle_runs_what_a_callbacks_stall_made_due)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe staller, next;
    probe_init(&staller, virtual_fixture(), ext);
    probe_init(&next, virtual_fixture(), ext);
    staller.then = stall_3ms;
    arm(ext, new_timer(ext), probe_callback, &staller, 1000, 0);
    arm(ext, new_timer(ext), probe_callback, &next, 2000, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 1500), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&next.fired), 1);
    CHECK_EQ(next.at[0], 4000); /* late: after the stall, not inside it */
}

/* Re-arms its timer for 1 ms, then stalls 1 ms: each stall makes the next
 * arm due, for ever, unless the advance's deadline is fixed. */
static PVOID stalling_handle;
static void rearm_then_stall(probe *p, PVOID ext)
{
    StorPortRequestTimer(ext, stalling_handle, probe_callback, p, 1000, 0);
    StorPortStallExecution(1000);
}

TEST(s9_3_a_callback_that_rearms_and_stalls_its_period_does_not_hold_an_advance)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    stalling_handle = new_timer(ext);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    p.then = rearm_then_stall;
    arm(ext, stalling_handle, probe_callback, &p, 1000, 0);
    stortimer_clock_advance(clock, 5000);
    /* 1, 2, 3, 4, 5 ms by the target; the stall then moved the clock to 6 ms,
     * and the arm due at 6 ms ran after it, once (S9.3). */
    CHECK_EQ(atomic_load(&p.fired), 6);
    CHECK_EQ(stortimer_clock_now(clock), 7000);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 5000), STOR_STATUS_BUSY);
    CHECK(atomic_load(&p.fired) < 20);
}

TEST(s5_4_3_a_timer_rearmed_at_the_last_microsecond_fires_once_per_advance)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    rearm_handle = new_timer(ext);
    int left = 1000000;
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    p.then = rearm_again; /* re-arms 10 ms: saturated, due at once */
    p.user = &left;
    stortimer_clock_advance(clock, UINT64_MAX - 25);
    arm(ext, rearm_handle, probe_callback, &p, 10000, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 1000), STOR_STATUS_BUSY);
    CHECK_EQ(stortimer_clock_now(clock), UINT64_MAX);
    int first = atomic_load(&p.fired);
    CHECK(first >= 1 && first <= 2); /* the arm made on the way there may run too */
    stortimer_clock_advance(clock, 1000);
    CHECK_EQ(atomic_load(&p.fired), first + 1);
    CHECK(stortimer_clock_advance_to_next(clock));
    CHECK_EQ(atomic_load(&p.fired), first + 2);
}

TEST(s11_2_looking_far_ahead_leaves_the_wheels_time_alone)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 3600000000u, 0); /* a watchdog, 1 h */
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(clock, &at));
    CHECK_EQ(at, 3600000000u);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 1000), STOR_STATUS_BUSY);
    /* A wheel moved to 1 h would take every shorter arm into its ordered
     * ready list, a list walk each. */
    st_adapter_ref ref;
    CHECK(st_adapter_find(ext, &ref));
    for (uint32_t i = 0; i < ref.adapter->shards.count; i++)
        CHECK(ref.adapter->shards.shard[i].wheel.now <= 1000);
}

TEST(s8_1_next_fire_and_advance_to_next_agree_with_a_startio_lock_held)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID held = virtual_adapter(0), other = virtual_adapter(0);
    probe p, q;
    probe_init(&p, virtual_fixture(), held);
    probe_init(&q, virtual_fixture(), other);
    arm(held, new_timer(held), probe_callback, &p, 100, 0);
    arm(other, new_timer(other), probe_callback, &q, 300, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(held, StartIoLock, NULL, &lock);
    ULONGLONG at = 0;
    CHECK(stortimer_clock_next_fire(clock, &at));
    CHECK_EQ(at, 300); /* the held adapter's timer cannot run from here */
    int steps = 0;
    while (stortimer_clock_next_fire(clock, &at) && steps < 10) {
        CHECK(stortimer_clock_advance_to_next(clock));
        steps++;
    }
    CHECK_EQ(steps, 1);
    CHECK_EQ(atomic_load(&q.fired), 1);
    CHECK_EQ(atomic_load(&p.fired), 0);
    StorPortReleaseSpinLock(held, &lock);
    CHECK(stortimer_clock_next_fire(clock, &at));
    CHECK_EQ(at, 100);
    CHECK(stortimer_clock_advance_to_next(clock));
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 300); /* late, as on Windows once the lock is released */
}

/* ---- the interrupt path ---- */

static KIRQL isr_irql;
static int isr_calls;
static PVOID isr_seen;
static BOOLEAN isr_claims;

static BOOLEAN record_isr(PVOID ext)
{
    isr_irql = stortimer_irql_current();
    isr_seen = ext;
    isr_calls++;
    return isr_claims;
}

TEST(s9_1_interrupt_routine_runs_at_device_level_and_passes_its_answer)
{
    PVOID ext = virtual_adapter(0);
    BOOLEAN claimed = FALSE;
    isr_claims = TRUE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, record_isr, &claimed), STOR_STATUS_SUCCESS);
    CHECK_EQ(isr_calls, 1);
    CHECK_EQ(isr_irql, STOR_DEVICE_LEVEL);
    CHECK(isr_seen == ext);
    CHECK_EQ(claimed, TRUE);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    isr_claims = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, record_isr, &claimed), STOR_STATUS_SUCCESS);
    CHECK_EQ(claimed, FALSE);
    CHECK_STATUS(stortimer_adapter_interrupt(ext, record_isr, NULL), STOR_STATUS_SUCCESS);
}

/* Tries to take the InterruptLock again from inside the routine. */
static PVOID reentry_ext;
static BOOLEAN take_interrupt_lock(PVOID ext)
{
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    StorPortReleaseSpinLock(ext, &lock);
    return TRUE;
}

TEST(s9_1_interrupt_routine_holds_the_interrupt_lock)
{
    PVOID ext = virtual_adapter(0);
    reentry_ext = ext;
    reports_capture();
    CHECK_STATUS(stortimer_adapter_interrupt(ext, take_interrupt_lock, NULL),
                 STOR_STATUS_SUCCESS);
    CHECK(reports_contain("already holds the InterruptLock"));
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
    reports_release();
}

TEST(s3_1_interrupt_with_bad_arguments_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    BOOLEAN claimed = TRUE;
    int not_an_adapter;
    CHECK_STATUS(stortimer_adapter_interrupt(&not_an_adapter, record_isr, &claimed),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(claimed, FALSE);
    CHECK_STATUS(stortimer_adapter_interrupt(NULL, record_isr, NULL),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_adapter_interrupt(ext, NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s8_3_interrupt_while_holding_the_interrupt_lock_is_invalid_device_state)
{
    PVOID ext = virtual_adapter(0);
    int before = isr_calls;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    CHECK_STATUS(stortimer_adapter_interrupt(ext, record_isr, NULL),
                 STOR_STATUS_INVALID_DEVICE_STATE);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(isr_calls, before);
}

TEST(s9_1_interrupt_above_device_level_is_invalid_device_state)
{
    PVOID ext = virtual_adapter(0);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG status = stortimer_adapter_interrupt(ext, record_isr, NULL);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_DEVICE_STATE);
}

/* In half-duplex mode the interrupt lock is the StartIo lock: an interrupt
 * from a timer callback (which holds it, S8.1) would deadlock on Windows. */
static ULONG isr_from_callback;
static void interrupt_from_callback(probe *p, PVOID ext)
{
    (void)p;
    isr_from_callback = stortimer_adapter_interrupt(ext, record_isr, NULL);
}

TEST(s8_3_interrupt_from_a_half_duplex_callback_is_invalid_device_state)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = TRUE};
    PVOID ext = fx_adapter_config(virtual_fixture(), config);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    p.then = interrupt_from_callback;
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_STATUS(isr_from_callback, STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s8_2_interrupt_from_a_full_duplex_callback_runs)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    p.then = interrupt_from_callback;
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_STATUS(isr_from_callback, STOR_STATUS_SUCCESS);
}

/* An ISR that arms a timer: the arm is handed over (S5.7) and fires. */
static PVOID isr_timer;
static probe isr_probe;
static BOOLEAN arm_from_isr(PVOID ext)
{
    return StorPortRequestTimer(ext, isr_timer, probe_callback, &isr_probe, 1000, 0) ==
           STOR_STATUS_SUCCESS;
}

TEST(s5_7_a_timer_armed_by_the_interrupt_routine_fires_on_time)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    isr_timer = new_timer(ext);
    probe_init(&isr_probe, virtual_fixture(), ext);
    stortimer_clock_advance(clock, 500);
    BOOLEAN armed = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, arm_from_isr, &armed), STOR_STATUS_SUCCESS);
    CHECK_EQ(armed, TRUE);
    CHECK_EQ(stats_of(ext).handed_over, 1);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 10000), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&isr_probe.fired), 1);
    CHECK_EQ(isr_probe.at[0], 1500);
}
