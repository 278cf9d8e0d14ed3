/*
 * SPEC S14.10-S14.11 (S17.5, S17.7, S17.11): DPCs on a virtual clock - when
 * a queued DPC runs, how it counts for next_fire, advance_to_next and
 * run_until_idle - and the runaway guard that stops an instant after 65536
 * starts.
 */
#include "dpc_fixture.h"

/* ---- S14.10 the virtual clock ---- */

TEST(s14_10_issued_outside_an_advance_waits_for_the_next_advance)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    stortimer_clock_advance(vclock(), 300);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    sleep_us(10000);
    CHECK_EQ(atomic_load(&rec.n), 0);
    CHECK_EQ(stortimer_clock_now(vclock()), 300);
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK_EQ(rec.at[0], 300);
    CHECK_EQ(stortimer_clock_now(vclock()), 300);
}

TEST(s14_10_runs_at_its_issue_time_before_timers_due_later)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 1, 0);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    stortimer_clock_advance(vclock(), 1000);
    CHECK(order_is("AT"));
    CHECK(rec.at[0] == 0 && rec.at[1] == 1);
}

static struct {
    STOR_DPC dpc;
    _Atomic int callback_returned;
    int returned_when_dpc_ran;
} after_return;

static VOID issue_and_return(PVOID E, PVOID Context)
{
    (void)Context;
    CHECK(StorPortIssueDpc(E, &after_return.dpc, NULL, NULL));
    rec_add('T', NULL);
    atomic_store(&after_return.callback_returned, 1);
}

static VOID check_after_return(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    after_return.returned_when_dpc_ran = atomic_load(&after_return.callback_returned);
    rec_add('A', NULL);
}

TEST(s14_10_issued_from_a_callback_runs_after_it_returns_in_the_same_advance)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &after_return.dpc, check_after_return);
    arm(ext, new_timer(ext), issue_and_return, NULL, 400, 0);
    stortimer_clock_advance(vclock(), 400);
    CHECK(order_is("TA"));
    CHECK_EQ(after_return.returned_when_dpc_ran, 1);
    CHECK_EQ(rec.at[1], 400);
}

static STOR_DPC chain[3];

static VOID chain_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A2;
    int i = (int)(D - chain);
    rec_add((char)('0' + i), A1);
    if (i < 2)
        CHECK(StorPortIssueDpc(E, &chain[i + 1], NULL, NULL));
}

TEST(s14_10_issued_from_a_dpc_runs_in_the_same_advance)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    for (int i = 0; i < 3; i++)
        StorPortInitializeDpc(ext, &chain[i], chain_routine);
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 5, 0);
    CHECK(StorPortIssueDpc(ext, &chain[0], NULL, NULL));
    stortimer_clock_advance(vclock(), 10);
    CHECK(order_is("012T"));
    CHECK(rec.at[0] == 0 && rec.at[2] == 0 && rec.at[3] == 5);
}

static STOR_DPC sync_dpc;

static BOOLEAN issue_in_sync(PVOID E, PVOID Context)
{
    (void)Context;
    return StorPortIssueDpc(E, &sync_dpc, NULL, NULL);
}

static VOID sync_then_record(PVOID E, PVOID Context)
{
    (void)Context;
    CHECK(StorPortSynchronizeAccess(E, issue_in_sync, NULL));
    rec_add('T', NULL);
}

TEST(s14_10_issued_from_a_synchronized_routine_in_a_callback_runs_after_the_callback)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &sync_dpc, dpc_a);
    arm(ext, new_timer(ext), sync_then_record, NULL, 50, 0);
    arm(ext, new_timer(ext), timer_rec, LETTER('U'), 51, 0);
    stortimer_clock_advance(vclock(), 100);
    CHECK(order_is("TAU"));
    CHECK_EQ(rec.at[1], 50);
}

static STOR_DPC isr_dpc;

static BOOLEAN isr_issues(PVOID E)
{
    StorPortIssueDpc(E, &isr_dpc, LETTER(9), NULL);
    return TRUE;
}

TEST(s14_10_issued_from_an_interrupt_routine_runs_at_the_next_advance)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &isr_dpc, dpc_a);
    stortimer_clock_advance(vclock(), 70);
    BOOLEAN claimed = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, isr_issues, &claimed), STOR_STATUS_SUCCESS);
    CHECK(claimed);
    CHECK_EQ(atomic_load(&rec.n), 0);
    ULONGLONG next = 0;
    CHECK(stortimer_clock_next_fire(vclock(), &next));
    CHECK_EQ(next, 70);
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK_EQ(rec.at[0], 70);
}

TEST(s14_10_next_fire_counts_a_queued_dpc_at_its_issue_time)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    rec_reset(virtual_fixture());
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 5000, 0);
    stortimer_clock_advance(vclock(), 500);
    ULONGLONG next = 0;
    CHECK(stortimer_clock_next_fire(vclock(), &next));
    CHECK_EQ(next, 5000);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(stortimer_clock_next_fire(vclock(), &next));
    CHECK_EQ(next, 500);
}

TEST(s14_10_next_fire_counts_a_dpc_handed_over_from_above_dispatch)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    ULONGLONG next = 12345;
    CHECK_EQ(stortimer_clock_next_fire(vclock(), &next), FALSE);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    stortimer_irql_lower(old);
    CHECK(stortimer_clock_next_fire(vclock(), &next));
    CHECK_EQ(next, 0);
}

TEST(s14_10_advance_to_next_runs_a_queued_dpc_without_moving_the_clock)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    stortimer_clock_advance(vclock(), 250);
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 100, 0);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(stortimer_clock_advance_to_next(vclock()));
    CHECK(order_is("A"));
    CHECK_EQ(stortimer_clock_now(vclock()), 250);
    CHECK(stortimer_clock_advance_to_next(vclock()));
    CHECK(order_is("AT"));
    CHECK_EQ(stortimer_clock_now(vclock()), 350);
    CHECK_EQ(stortimer_clock_advance_to_next(vclock()), FALSE);
}

TEST(s14_10_run_until_idle_runs_a_queued_dpc)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    stortimer_clock_advance(vclock(), 40);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK_STATUS(stortimer_clock_run_until_idle(vclock(), 1000000), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK_EQ(rec.at[0], 40);
    CHECK_EQ(stortimer_clock_now(vclock()), 40);
}

/* ---- S14.11 the runaway guard ---- */

#define GUARD 65536

static struct {
    STOR_DPC dpc, other;
    _Atomic int runs, other_runs;
    int stop_after;      /* stop re-issuing after this many runs; 0: never */
    BOOLEAN issue_other_at_guard;
} runaway;

static VOID runaway_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    int run = atomic_fetch_add(&runaway.runs, 1) + 1;
    if (runaway.issue_other_at_guard && run == GUARD)
        StorPortIssueDpc(E, &runaway.other, NULL, NULL);
    if (!runaway.stop_after || run < runaway.stop_after)
        StorPortIssueDpc(E, D, NULL, NULL);
}

static VOID other_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_fetch_add(&runaway.other_runs, 1);
}

TEST(s14_11_runaway_dpc_stops_after_exactly_65536_starts)
{
    PVOID ext = virtual_adapter(0);
    StorPortInitializeDpc(ext, &runaway.dpc, runaway_routine);
    CHECK(StorPortIssueDpc(ext, &runaway.dpc, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(vclock(), 0);
    int reports = reports_count();
    reports_release();
    CHECK_EQ(atomic_load(&runaway.runs), GUARD);
    CHECK(reports >= 1);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_runaway_stops, 1);
    CHECK_EQ(s.dpcs_started, GUARD);
    CHECK_EQ(s.dpcs_returned, GUARD);
}

TEST(s14_11_stopped_dpcs_stay_queued_for_the_next_advance)
{
    PVOID ext = virtual_adapter(0);
    StorPortInitializeDpc(ext, &runaway.dpc, runaway_routine);
    StorPortInitializeDpc(ext, &runaway.other, other_routine);
    runaway.issue_other_at_guard = TRUE;
    CHECK(StorPortIssueDpc(ext, &runaway.dpc, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(atomic_load(&runaway.other_runs), 0);
    /* Both are still queued: the last run re-issued itself and issued the other. */
    CHECK_EQ(StorPortIssueDpc(ext, &runaway.dpc, NULL, NULL), FALSE);
    CHECK_EQ(StorPortIssueDpc(ext, &runaway.other, NULL, NULL), FALSE);
    ULONGLONG next = 1;
    CHECK(stortimer_clock_next_fire(vclock(), &next));
    CHECK_EQ(next, 0);
    runaway.issue_other_at_guard = FALSE;
    runaway.stop_after = GUARD + 10;
    stortimer_clock_advance(vclock(), 0);
    reports_release();
    CHECK_EQ(atomic_load(&runaway.runs), GUARD + 10);
    CHECK_EQ(atomic_load(&runaway.other_runs), 1);
    CHECK_EQ(stats_of(ext).dpc_runaway_stops, 1);
}

TEST(s14_11_advance_stopped_by_the_guard_leaves_later_timers_undone)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &runaway.dpc, runaway_routine);
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 500, 0);
    CHECK(StorPortIssueDpc(ext, &runaway.dpc, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(vclock(), 1000);
    reports_release();
    CHECK_EQ(atomic_load(&runaway.runs), GUARD);
    CHECK_EQ(atomic_load(&rec.n), 0); /* the advance returned at the instant */
}

static STOR_DPC ping, pong;
static _Atomic int ping_pong_runs;

static VOID ping_pong_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    atomic_fetch_add(&ping_pong_runs, 1);
    StorPortIssueDpc(E, D == &ping ? &pong : &ping, NULL, NULL);
}

TEST(s14_11_guard_counts_the_starts_of_every_dpc_at_the_instant)
{
    PVOID a = virtual_adapter(0);
    StorPortInitializeDpc(a, &ping, ping_pong_routine);
    StorPortInitializeDpc(a, &pong, ping_pong_routine);
    CHECK(StorPortIssueDpc(a, &ping, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(vclock(), 0);
    reports_release();
    CHECK_EQ(atomic_load(&ping_pong_runs), GUARD);
}

static VOID burst_again(PVOID E, PVOID Context)
{
    (void)Context;
    runaway.stop_after = atomic_load(&runaway.runs) + 40000;
    StorPortIssueDpc(E, &runaway.dpc, NULL, NULL);
}

TEST(s14_11_guard_counts_starts_per_clock_reading)
{
    /* 40,000 starts at 0 and 40,000 at 10 in one advance: no stop. */
    PVOID ext = virtual_adapter(0);
    StorPortInitializeDpc(ext, &runaway.dpc, runaway_routine);
    runaway.stop_after = 40000;
    arm(ext, new_timer(ext), burst_again, NULL, 10, 0);
    CHECK(StorPortIssueDpc(ext, &runaway.dpc, NULL, NULL));
    stortimer_clock_advance(vclock(), 100);
    CHECK_EQ(atomic_load(&runaway.runs), 80000);
    CHECK_EQ(stats_of(ext).dpc_runaway_stops, 0);
}
