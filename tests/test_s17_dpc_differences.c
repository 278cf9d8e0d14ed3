/*
 * SPEC S17.7 and S17.10-S17.13, the known differences that concern DPCs,
 * each shown as behaviour: queued DPCs count as due work and pause expiries
 * do not (S17.7), one thread per adapter (S17.10), the virtual clock's DPC
 * rules (S17.11), removal with DPCs queued (S17.12), forged DPCs and the
 * adapter-wide DpcLock (S17.13). S17.14-S17.20 are in
 * test_s17_other_differences.c, the trace side of S17.9 in test_s17_trace.c.
 */
#include "runs_fixture.h"

#include <string.h>
#include <unistd.h>

/* On a virtual clock, runs what is queued (an advance by 0). */
static void run_queued(fixture *fx)
{
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 0);
}

/* ---- S17.7 what counts as due work on a virtual clock ---- */

TEST(s17_7_queued_dpc_is_the_next_fire_at_its_issue_time)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    stortimer_clock_advance(virtual_fixture()->clock, 700);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 5000, 0);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    ULONGLONG next = 0;
    CHECK(stortimer_clock_next_fire(virtual_fixture()->clock, &next));
    CHECK_EQ(next, 700);
}

TEST(s17_7_advance_to_next_runs_the_queued_dpc_first)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    runs.fx = virtual_fixture();
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    stortimer_clock_advance(clock, 700);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 5000, 0);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(stortimer_clock_advance_to_next(clock));
    CHECK_EQ(atomic_load(&runs.n), 1);
    CHECK_EQ(runs.who[0], 'D');
    CHECK_EQ(stortimer_clock_now(clock), 700);
}

TEST(s17_7_run_until_idle_runs_a_queued_dpc)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, SECOND), STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&runs.n), 1);
}

TEST(s17_7_pause_expiry_is_not_due_work)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    ULONGLONG next = 4242;
    CHECK_EQ(stortimer_clock_next_fire(clock, &next), FALSE);
    CHECK_EQ(next, 4242);
    CHECK_EQ(stortimer_clock_advance_to_next(clock), FALSE);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 10 * SECOND), STOR_STATUS_SUCCESS);
    CHECK_EQ(stortimer_clock_now(clock), 0);
    CHECK(pause_of(ext).paused);
}

TEST(s17_7_pause_ends_when_a_timer_takes_the_clock_past_its_deadline)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    arm(ext, new_timer(ext), timer_note, TAG('T'), 2 * SECOND, 0);
    ULONGLONG next = 0;
    CHECK(stortimer_clock_next_fire(clock, &next));
    CHECK_EQ(next, 2 * SECOND); /* not the deadline at 1 s */
    CHECK(stortimer_clock_advance_to_next(clock));
    stortimer_pause_state s = pause_of(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_EXPIRED);
}

/* ---- S17.10 one thread per adapter ---- */

static struct {
    STOR_DPC from_callback;
} ten;

static VOID timer_issues_dpc(PVOID E, PVOID C)
{
    (void)C;
    note('C', false);
    StorPortIssueDpc(E, &ten.from_callback, NULL, NULL);
}

TEST_BOTH(s17_10_callbacks_and_dpc_routines_of_one_adapter_share_one_thread)
{
    runs.fx = fx;
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC from_host;
    StorPortInitializeDpc(ext, &from_host, dpc_note);
    StorPortInitializeDpc(ext, &ten.from_callback, dpc_other);
    arm(ext, new_timer(ext), timer_issues_dpc, NULL, 1000, 0);
    arm(ext, new_timer(ext), timer_note, TAG('T'), 2000, 0);
    StorPortNotification(RequestTimerCall, ext, legacy_note, (ULONG)1500);
    CHECK(StorPortIssueDpc(ext, &from_host, NULL, NULL));
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &runs.n, 5));
    CHECK_EQ(atomic_load(&runs.n), 5);
    for (int i = 1; i < 5; i++)
        CHECK_EQ(runs.tid[i], runs.tid[0]);
    if (fx->clock)
        CHECK_EQ(runs.tid[0], thread_id()); /* the advancing thread */
    else
        CHECK(runs.tid[0] != thread_id()); /* the adapter's dispatcher */
}

static VOID self_reissuing(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    if (atomic_fetch_add(&runs.self_inside, 1) != 0)
        atomic_fetch_add(&runs.self_overlapped, 1);
    note('D', true);
    atomic_fetch_sub(&runs.self_inside, 1);
    if (atomic_load(&runs.n) < 40)
        StorPortIssueDpc(E, D, NULL, NULL);
}

TEST_BOTH(s17_10_reissued_dpc_never_runs_concurrently_with_itself)
{
    runs.fx = fx;
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, self_reissuing);
    /* The host issues it too, over and over, while it runs and re-issues. */
    for (int i = 0; i < 100; i++) {
        StorPortIssueDpc(ext, &dpc, NULL, NULL);
        if (fx->clock)
            stortimer_clock_advance(fx->clock, 0);
        else
            sleep_us(100);
    }
    CHECK(fx_await(fx, &runs.n, 40));
    fx_remove(ext); /* no run is left under way */
    CHECK_EQ(atomic_load(&runs.self_overlapped), 0);
    int n = atomic_load(&runs.n) < RUNS_MAX ? atomic_load(&runs.n) : RUNS_MAX;
    for (int i = 1; i < n; i++)
        CHECK_EQ(runs.tid[i], runs.tid[0]);
}

static _Atomic int keep_polling;

static VOID periodic_lingering(PVOID E, PVOID C)
{
    note('T', true);
    if (atomic_load(&keep_polling))
        StorPortRequestTimer(E, C, periodic_lingering, C, 150, 0);
}

TEST_BOTH(s17_10_dpc_routines_never_overlap_timer_callbacks_of_the_adapter)
{
    runs.fx = fx;
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    PVOID poll = new_timer(ext);
    atomic_store(&keep_polling, 1);
    arm(ext, poll, periodic_lingering, poll, 150, 0);
    for (int i = 0; i < 40; i++) {
        StorPortIssueDpc(ext, &dpc, NULL, NULL);
        fx_pass(fx, 100);
    }
    bool enough = fx_await(fx, &runs.n, 20);
    atomic_store(&keep_polling, 0);
    CHECK(enough);
    fx_remove(ext);
    CHECK_EQ(atomic_load(&runs.overlapped), 0);
}

/* ---- S17.11 DPCs on a virtual clock ---- */

TEST(s17_11_dpc_issued_outside_an_advance_does_not_run_on_its_own)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    sleep_us(20000); /* time passes in the world, not on the clock */
    CHECK_EQ(atomic_load(&runs.n), 0);
    stortimer_clock_advance(clock, 0);
    CHECK_EQ(atomic_load(&runs.n), 1);
}

static _Atomic int forever_runs;

static VOID reissue_forever(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    atomic_fetch_add(&forever_runs, 1);
    StorPortIssueDpc(E, D, NULL, NULL);
}

TEST(s17_11_dpc_reissuing_itself_forever_stops_after_65536_starts)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, reissue_forever);
    stortimer_clock_advance(clock, 90);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(clock, 10);
    reports_release();
    CHECK_EQ(atomic_load(&forever_runs), 65536);
    CHECK_EQ(stortimer_clock_now(clock), 90); /* stopped at the instant */
    ULONGLONG next = 0;
    CHECK(stortimer_clock_next_fire(clock, &next)); /* still queued */
    CHECK_EQ(next, 90);
}

/* ---- S17.12 removal ---- */

#define FRESH 3000

static struct {
    PVOID ext;
    STOR_DPC blocker, fresh[FRESH];
    _Atomic int started;
    int accepted;
    bool refused;
} rm;

/* Queues fresh DPCs behind itself until an issue answers FALSE: removal has started. */
static VOID blocker_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    rm.accepted = StorPortIssueDpc(E, &rm.fresh[0], NULL, NULL) ? 1 : 0;
    atomic_store(&rm.started, 1);
    for (int i = 1; i < FRESH; i++) {
        if (!StorPortIssueDpc(E, &rm.fresh[i], NULL, NULL)) {
            rm.refused = true;
            return;
        }
        rm.accepted++;
        sleep_us(1000);
    }
}

static void *remove_once_started(void *arg)
{
    (void)arg;
    while (!atomic_load(&rm.started))
        sleep_us(100);
    return (void *)(uintptr_t)(stortimer_adapter_remove(rm.ext, NULL) == STOR_STATUS_SUCCESS);
}

/* Removes the adapter while its blocker DPC runs with fresh DPCs queued behind it. */
static void remove_during_a_dpc(fixture *fx, ULONGLONG *dropped_before)
{
    runs.fx = fx;
    rm.ext = fx_adapter(fx, 0);
    StorPortInitializeDpc(rm.ext, &rm.blocker, blocker_routine);
    for (int i = 0; i < FRESH; i++)
        StorPortInitializeDpc(rm.ext, &rm.fresh[i], dpc_note);
    *dropped_before = stats_of(NULL).dpcs_dropped;
    CHECK(StorPortIssueDpc(rm.ext, &rm.blocker, NULL, NULL));
    reports_capture();
    test_thread *remover = thread_start(remove_once_started, NULL);
    run_queued(fx); /* on a virtual clock the blocker runs here */
    bool removed = thread_join(remover) != NULL;
    reports_release();
    CHECK(removed);
}

TEST_BOTH(s17_12_removal_drops_queued_dpcs_instead_of_running_them)
{
    ULONGLONG dropped_before = 0;
    remove_during_a_dpc(fx, &dropped_before);
    CHECK(rm.accepted >= 1);
    sleep_us(fx->clock ? 0 : 20000);
    CHECK_EQ(atomic_load(&runs.n), 0);
    CHECK_EQ(stats_of(NULL).dpcs_dropped, dropped_before + (ULONGLONG)rm.accepted);
}

TEST_BOTH(s17_12_issues_made_while_removal_is_under_way_answer_false)
{
    ULONGLONG dropped_before = 0;
    ULONGLONG refused_before = stats_of(NULL).dpc_issue_refused;
    remove_during_a_dpc(fx, &dropped_before);
    CHECK(rm.refused);
    CHECK(stats_of(NULL).dpc_issue_refused >= refused_before + 1);
}

/* ---- S17.13 forged, stale and foreign DPCs; the DpcLock ---- */

TEST(s17_13_forged_dpc_is_false_and_counted)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC forged, zeroed;
    memset(&forged, 0xC3, sizeof forged);
    memset(&zeroed, 0, sizeof zeroed);
    reports_capture();
    CHECK_EQ(StorPortIssueDpc(ext, &forged, NULL, NULL), FALSE);
    CHECK_EQ(StorPortIssueDpc(ext, &zeroed, NULL, NULL), FALSE);
    reports_release();
    CHECK_EQ(stats_of(ext).dpc_issue_refused, 2);
    CHECK_EQ(stats_of(ext).dpcs_issued, 0);
}

TEST(s17_13_stale_dpc_of_a_removed_adapter_is_false)
{
    PVOID old = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(old, &dpc, dpc_note);
    fx_remove(old);
    PVOID now = virtual_adapter(0);
    reports_capture();
    CHECK_EQ(StorPortIssueDpc(old, &dpc, NULL, NULL), FALSE);
    CHECK_EQ(StorPortIssueDpc(now, &dpc, NULL, NULL), FALSE);
    reports_release();
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    CHECK_EQ(atomic_load(&runs.n), 0);
}

TEST(s17_13_foreign_dpc_initialize_is_refused_and_counted)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(a, &dpc, dpc_note);
    reports_capture();
    StorPortInitializeDpc(b, &dpc, dpc_other);
    CHECK_EQ(StorPortIssueDpc(b, &dpc, NULL, NULL), FALSE);
    reports_release();
    CHECK_EQ(stats_of(b).dpc_init_refused, 1);
    CHECK(StorPortIssueDpc(a, &dpc, NULL, NULL)); /* still a's, with a's routine */
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    CHECK_EQ(atomic_load(&runs.n), 1);
    CHECK_EQ(runs.who[0], 'D');
}

TEST(s17_13_reinitialize_of_a_queued_dpc_is_refused)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_note);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL)); /* queued until the next advance */
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, dpc_other);
    reports_release();
    CHECK_EQ(stats_of(ext).dpc_init_refused, 1);
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    CHECK_EQ(atomic_load(&runs.n), 1);
    CHECK_EQ(runs.who[0], 'D');
}

static VOID reinitializes_itself(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)A1, (void)A2;
    StorPortInitializeDpc(E, D, dpc_other);
    note('R', false);
}

TEST_BOTH(s17_13_reinitialize_of_a_running_dpc_is_refused)
{
    runs.fx = fx;
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, reinitializes_itself);
    reports_capture();
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &runs.n, 1));
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &runs.n, 2));
    reports_release();
    CHECK_EQ(runs.who[1], 'R'); /* its routine was not replaced */
    CHECK_EQ(stats_of(ext).dpc_init_refused, 2);
}

static struct {
    PVOID ext;
    _Atomic int trying, acquired;
} other_thread;

static void *take_null_dpclock(void *arg)
{
    (void)arg;
    STOR_LOCK_HANDLE h;
    atomic_store(&other_thread.trying, 1);
    StorPortAcquireSpinLock(other_thread.ext, DpcLock, NULL, &h);
    atomic_store(&other_thread.acquired, 1);
    StorPortReleaseSpinLock(other_thread.ext, &h);
    return NULL;
}

TEST(s17_13_null_dpclock_context_takes_one_adapter_wide_lock)
{
    PVOID ext = virtual_adapter(0);
    other_thread.ext = ext;
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &h);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    test_thread *t = thread_start(take_null_dpclock, NULL);
    CHECK(wait_for(&other_thread.trying, 1, 5000));
    sleep_us(30000);
    int taken_meanwhile = atomic_load(&other_thread.acquired);
    StorPortReleaseSpinLock(ext, &h);
    thread_join(t);
    CHECK_EQ(taken_meanwhile, 0);
    CHECK_EQ(atomic_load(&other_thread.acquired), 1);
    CHECK_EQ(stats_of(ext).lock_misuse, 0);
}
