/*
 * SPEC S14 (and S17.10-S17.13): StorPortInitializeDpc and StorPortIssueDpc -
 * what they refuse and answer, and where a DPC routine runs (S14.1-S14.6).
 * The DpcLock, removal and accounting are in test_s14_dpc_locks.c; order,
 * hand-over from above DISPATCH_LEVEL, the virtual-clock rules and the
 * miniport patterns in test_s14_dpc_order.c.
 */
#include "dpc_fixture.h"

#include <pthread.h>
#include <string.h>

/* ---- S14.1 ---- */

TEST(s14_1_stor_dpc_is_as_large_as_the_wdks)
{
    CHECK(sizeof(STOR_DPC) >= 9 * sizeof(void *));
    if (sizeof(void *) == 8)
        CHECK(sizeof(STOR_DPC) >= 72);
}

TEST_BOTH(s14_1_notification_forms_initialize_and_issue)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    BOOLEAN result = 0x55;
    rec_reset(fx);
    StorPortNotification(InitializeDpc, ext, &dpc, dpc_a);
    StorPortNotification(IssueDpc, ext, &dpc, (PVOID)11, (PVOID)22, &result);
    CHECK_EQ(result, TRUE);
    CHECK(ran(fx, 1));
    CHECK_EQ(rec.who[0], 'A');
    CHECK(rec.a1[0] == (PVOID)11 && rec.a2[0] == (PVOID)22);
}

TEST(s14_1_notification_issue_result_is_exactly_one_byte)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortNotification(InitializeDpc, ext, &dpc, dpc_a);
    unsigned char result[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    StorPortNotification(IssueDpc, ext, &dpc, NULL, NULL, (PBOOLEAN)result);
    CHECK_EQ(result[0], TRUE);
    CHECK(result[1] == 0xAA && result[2] == 0xAA && result[3] == 0xAA);
    result[0] = 0xAA;
    StorPortNotification(IssueDpc, ext, &dpc, NULL, NULL, (PBOOLEAN)result); /* queued */
    CHECK_EQ(result[0], FALSE);
    CHECK(result[1] == 0xAA && result[2] == 0xAA && result[3] == 0xAA);
}

TEST(s14_1_notification_issue_with_null_result_still_issues)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortNotification(InitializeDpc, ext, &dpc, dpc_a);
    StorPortNotification(IssueDpc, ext, &dpc, NULL, NULL, (PBOOLEAN)NULL);
    CHECK(ran(virtual_fixture(), 1));
    CHECK_EQ(stats_of(ext).dpcs_issued, 1);
}

/* ---- S14.2 ---- */

TEST_BOTH(s14_2_buffer_contents_are_never_read_after_initialize)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    memset(&dpc, 0xFF, sizeof dpc); /* the miniport scribbles over it */
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(ran(fx, 1));
    CHECK(rec.dpc[0] == &dpc);
}

TEST_BOTH(s14_2_issue_and_run_never_write_the_buffer)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc, snapshot;
    memset(&dpc, 0xA5, sizeof dpc); /* what the miniport left there */
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    memcpy(&snapshot, &dpc, sizeof dpc);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(ran(fx, 1));
    CHECK(memcmp(&snapshot, &dpc, sizeof dpc) == 0);
}

TEST(s14_2_a_copy_of_an_initialized_dpc_is_not_a_dpc)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc, copy;
    rec_reset(virtual_fixture());
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    memcpy(&copy, &dpc, sizeof dpc);
    BOOLEAN issued = StorPortIssueDpc(ext, &copy, NULL, NULL);
    reports_release();
    CHECK_EQ(issued, FALSE);
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 0);
    CHECK_EQ(stats_of(ext).dpc_issue_refused, 1);
}

/* ---- S14.3 StorPortInitializeDpc refusals ---- */

TEST(s14_3_1_initialize_above_dispatch_is_refused_and_not_reported)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    reports_capture();
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    stortimer_irql_lower(old);
    int reports = reports_count();
    BOOLEAN issued = StorPortIssueDpc(ext, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(reports, 0);
    CHECK_EQ(issued, FALSE); /* never became a DPC */
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_init_refused, 1);
    CHECK_EQ(s.dpcs_initialized, 0);
}

TEST(s14_3_1_initialize_at_dispatch_level_is_accepted)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    KIRQL old = stortimer_irql_raise(DISPATCH_LEVEL);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    stortimer_irql_lower(old);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(ran(virtual_fixture(), 1));
    CHECK_EQ(stats_of(ext).dpcs_initialized, 1);
}

TEST(s14_3_2_null_dpc_is_refused_reported_and_counted)
{
    PVOID ext = virtual_adapter(0);
    reports_capture();
    StorPortInitializeDpc(ext, NULL, dpc_a);
    int reports = reports_count();
    reports_release();
    CHECK(reports >= 1);
    CHECK_EQ(stats_of(ext).dpc_init_refused, 1);
}

TEST(s14_3_2_null_routine_is_refused_and_makes_no_dpc)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, NULL);
    BOOLEAN issued = StorPortIssueDpc(ext, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(issued, FALSE);
    CHECK_EQ(stats_of(ext).dpc_init_refused, 1);
    CHECK_EQ(stats_of(ext).dpcs_initialized, 0);
}

TEST(s14_3_2_null_extension_is_refused_in_the_process_statistics)
{
    STOR_DPC dpc;
    ULONGLONG before = stats_of(NULL).dpc_init_refused;
    reports_capture();
    StorPortInitializeDpc(NULL, &dpc, dpc_a);
    reports_release();
    CHECK_EQ(stats_of(NULL).dpc_init_refused, before + 1);
}

TEST(s14_3_2_garbage_extension_is_refused_without_a_crash)
{
    PVOID ext = virtual_adapter(0);
    unsigned char garbage[256];
    memset(garbage, 0xA5, sizeof garbage);
    STOR_DPC dpc;
    ULONGLONG before = stats_of(NULL).dpc_init_refused;
    reports_capture();
    StorPortInitializeDpc(garbage, &dpc, dpc_a);
    StorPortInitializeDpc((char *)ext + 8, &dpc, dpc_a); /* inside a live extension */
    BOOLEAN issued = StorPortIssueDpc(ext, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(stats_of(NULL).dpc_init_refused, before + 2);
    CHECK_EQ(issued, FALSE);
}

TEST(s14_3_2_removed_extension_is_refused)
{
    PVOID ext = virtual_adapter(0);
    fx_remove(ext);
    STOR_DPC dpc;
    ULONGLONG before = stats_of(NULL).dpc_init_refused;
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    reports_release();
    CHECK_EQ(stats_of(NULL).dpc_init_refused, before + 1);
}

TEST(s14_3_3_dpc_of_another_adapter_is_refused_and_keeps_its_owner)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(a, &dpc, dpc_a);
    reports_capture();
    StorPortInitializeDpc(b, &dpc, dpc_b);
    int reports = reports_count();
    BOOLEAN on_b = StorPortIssueDpc(b, &dpc, NULL, NULL);
    reports_release();
    CHECK(reports >= 1);
    CHECK_EQ(on_b, FALSE);
    CHECK_EQ(stats_of(b).dpc_init_refused, 1);
    CHECK(StorPortIssueDpc(a, &dpc, NULL, NULL));
    CHECK(ran(virtual_fixture(), 1));
    CHECK_EQ(rec.who[0], 'A'); /* its routine was not replaced */
    CHECK(rec.ext[0] == a);
}

TEST(s14_3_3_dpc_of_a_removed_adapter_may_be_initialized_for_another)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(a, &dpc, dpc_a);
    fx_remove(a);
    StorPortInitializeDpc(b, &dpc, dpc_b);
    CHECK_EQ(stats_of(b).dpc_init_refused, 0);
    CHECK(StorPortIssueDpc(b, &dpc, NULL, NULL));
    CHECK(ran(virtual_fixture(), 1));
    CHECK_EQ(rec.who[0], 'B');
}

TEST(s14_3_4_reinitializing_a_queued_dpc_is_refused)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)1, NULL));
    reports_capture();
    StorPortInitializeDpc(ext, &dpc, dpc_b);
    int reports = reports_count();
    reports_release();
    CHECK(reports >= 1);
    CHECK_EQ(stats_of(ext).dpc_init_refused, 1);
    CHECK(ran(virtual_fixture(), 1));
    CHECK_EQ(rec.who[0], 'A');
    CHECK(rec.a1[0] == (PVOID)1);
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 1); /* still queued once, run once */
}

static struct {
    STOR_DPC dpc;
    _Atomic int runs;
    ULONGLONG refused_inside;
} reinit_self;

static VOID reinit_self_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)A1;
    (void)A2;
    if (atomic_load(&reinit_self.runs) == 0) {
        StorPortInitializeDpc(Ext, Dpc, dpc_b);
        stortimer_stats s;
        if (stortimer_stats_read(Ext, &s) == STOR_STATUS_SUCCESS)
            reinit_self.refused_inside = s.dpc_init_refused;
    }
    atomic_fetch_add(&reinit_self.runs, 1);
}

TEST_BOTH(s14_3_4_reinitializing_a_running_dpc_is_refused)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    StorPortInitializeDpc(ext, &reinit_self.dpc, reinit_self_routine);
    reports_capture();
    CHECK(StorPortIssueDpc(ext, &reinit_self.dpc, NULL, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &reinit_self.runs, 1));
    reports_release();
    CHECK_EQ(reinit_self.refused_inside, 1);
    /* Its routine was kept: issuing it again runs reinit_self_routine. */
    CHECK(StorPortIssueDpc(ext, &reinit_self.dpc, NULL, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &reinit_self.runs, 2));
    CHECK_EQ(atomic_load(&rec.n), 0); /* dpc_b never ran */
}

TEST_BOTH(s14_3_4_reinitializing_an_idle_dpc_replaces_its_routine)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    StorPortInitializeDpc(ext, &dpc, dpc_b);
    run_queued(fx);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&rec.n), 0); /* it stays idle */
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(ran(fx, 1));
    CHECK_EQ(rec.who[0], 'B');
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpcs_initialized, 2);
    CHECK_EQ(s.dpc_init_refused, 0);
}

/* Initializes `dpc` with dpc_a on fx's first adapter, issues it once without
 * arguments and waits for that run, on an empty log; returns the adapter. */
static PVOID issue_dpc_a_once(fixture *fx, STOR_DPC *dpc)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    StorPortInitializeDpc(ext, dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, dpc, NULL, NULL));
    CHECK(ran(fx, 1));
    return ext;
}

TEST_BOTH(s14_3_4_reinitializing_after_a_run_replaces_its_routine)
{
    STOR_DPC dpc;
    PVOID ext = issue_dpc_a_once(fx, &dpc);
    fx_settle(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_b);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(ran(fx, 2));
    CHECK(rec.who[0] == 'A' && rec.who[1] == 'B');
}

/* ---- S14.4 StorPortIssueDpc answers ---- */

TEST(s14_4_1_null_arguments_answer_false)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    reports_capture();
    BOOLEAN no_ext = StorPortIssueDpc(NULL, &dpc, NULL, NULL);
    BOOLEAN no_dpc = StorPortIssueDpc(ext, NULL, NULL, NULL);
    reports_release();
    CHECK_EQ(no_ext, FALSE);
    CHECK_EQ(no_dpc, FALSE);
    CHECK_EQ(stats_of(ext).dpcs_issued, 0);
}

TEST(s14_4_2_never_initialized_stack_buffer_answers_false)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC forged;
    memset(&forged, 0x5A, sizeof forged);
    rec_reset(virtual_fixture());
    reports_capture();
    BOOLEAN issued = StorPortIssueDpc(ext, &forged, NULL, NULL);
    reports_release();
    CHECK_EQ(issued, FALSE);
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 0);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_issue_refused, 1);
    CHECK_EQ(s.dpcs_already_queued, 0);
}

TEST(s14_4_2_dpc_of_another_adapter_answers_false)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(a, &dpc, dpc_a);
    reports_capture();
    BOOLEAN issued = StorPortIssueDpc(b, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(issued, FALSE);
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 0);
    CHECK_EQ(stats_of(b).dpc_issue_refused, 1);
    CHECK_EQ(stats_of(a).dpcs_issued, 0);
}

TEST(s14_4_2_garbage_extension_answers_false_and_is_counted)
{
    unsigned char garbage[512];
    memset(garbage, 0x3C, sizeof garbage);
    STOR_DPC dpc;
    ULONGLONG before = stats_of(NULL).dpc_issue_refused;
    reports_capture();
    BOOLEAN issued = StorPortIssueDpc(garbage, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(issued, FALSE);
    CHECK_EQ(stats_of(NULL).dpc_issue_refused, before + 1);
}

TEST(s14_4_4_second_issue_answers_false_and_keeps_first_arguments)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)1, (PVOID)2));
    CHECK_EQ(StorPortIssueDpc(ext, &dpc, (PVOID)3, (PVOID)4), FALSE);
    CHECK(ran(virtual_fixture(), 1));
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK(rec.a1[0] == (PVOID)1 && rec.a2[0] == (PVOID)2);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpcs_issued, 1);
    CHECK_EQ(s.dpcs_already_queued, 1);
    CHECK_EQ(s.dpc_issue_refused, 0);
}

TEST_BOTH(s14_4_5_routine_runs_once_with_dpc_extension_and_arguments)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)0x1234, NULL));
    CHECK(ran(fx, 1));
    fx_pass(fx, 10000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK(rec.dpc[0] == &dpc && rec.ext[0] == ext);
    CHECK(rec.a1[0] == (PVOID)0x1234 && rec.a2[0] == NULL);
}

TEST_BOTH(s14_4_5_issue_after_the_run_answers_true_again)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    for (int i = 1; i <= 3; i++) {
        CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)(uintptr_t)i, NULL));
        CHECK(ran(fx, i));
        fx_settle(fx);
    }
    CHECK(rec.a1[0] == (PVOID)1 && rec.a1[1] == (PVOID)2 && rec.a1[2] == (PVOID)3);
    CHECK_EQ(stats_of(ext).dpcs_issued, 3);
}

/* ---- S14.6 where and how a routine runs ---- */

TEST_BOTH(s14_6_routine_runs_at_dispatch_level)
{
    STOR_DPC dpc;
    issue_dpc_a_once(fx, &dpc);
    CHECK_EQ(rec.irql[0], DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST_BOTH(s14_6_routine_runs_on_the_advancing_or_dispatcher_thread)
{
    STOR_DPC dpc;
    issue_dpc_a_once(fx, &dpc);
    if (fx->clock)
        CHECK_EQ(rec.tid[0], thread_id());
    else
        CHECK(rec.tid[0] != thread_id());
}

static struct {
    STOR_DPC dpc;
    _Atomic int done;
    int reports;
    ULONGLONG misuse;
    KIRQL irql_under_lock;
    PVOID startio_object, dpclock_object;
} lockfree;

static VOID take_locks_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)A1;
    (void)A2;
    STOR_LOCK_HANDLE startio, own;
    StorPortAcquireSpinLock(Ext, StartIoLock, NULL, &startio);
    lockfree.irql_under_lock = stortimer_irql_current();
    lockfree.startio_object = startio.Context.LockObject;
    StorPortAcquireSpinLock(Ext, DpcLock, Dpc, &own);
    lockfree.dpclock_object = own.Context.LockObject;
    StorPortReleaseSpinLock(Ext, &own);
    StorPortReleaseSpinLock(Ext, &startio);
    lockfree.reports = reports_count();
    stortimer_stats s;
    if (stortimer_stats_read(Ext, &s) == STOR_STATUS_SUCCESS)
        lockfree.misuse = s.lock_misuse;
    atomic_store(&lockfree.done, 1);
}

TEST_BOTH(s14_6_routine_holds_neither_startio_lock_nor_its_own_dpclock)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortInitializeDpc(ext, &lockfree.dpc, take_locks_routine);
    reports_capture();
    CHECK(StorPortIssueDpc(ext, &lockfree.dpc, NULL, NULL));
    run_queued(fx);
    bool done = fx_await(fx, &lockfree.done, 1);
    reports_release();
    CHECK(done);
    CHECK_EQ(lockfree.reports, 0);
    CHECK_EQ(lockfree.misuse, 0);
    CHECK(lockfree.startio_object != NULL); /* really taken */
    CHECK(lockfree.dpclock_object != NULL);
    CHECK_EQ(lockfree.irql_under_lock, DISPATCH_LEVEL);
}

static struct {
    ULONGLONG before, after;
    LONGLONG system_time;
    _Atomic int done;
} bound;

static VOID stall_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    stortimer_clock *clock = virtual_fixture()->clock;
    (void)Ext;
    bound.before = stortimer_clock_now(clock);
    StorPortStallExecution(700);
    bound.after = stortimer_clock_now(clock);
    LARGE_INTEGER t;
    StorPortQuerySystemTime(&t);
    bound.system_time = t.QuadPart;
    atomic_store(&bound.done, 1);
}

TEST(s14_6_routine_is_bound_to_the_adapters_clock)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    CHECK_STATUS(stortimer_clock_set_tick(clock, 100), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, stall_routine);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    stortimer_clock_advance(clock, 0);
    CHECK_EQ(atomic_load(&bound.done), 1);
    CHECK_EQ(bound.before, 0);
    CHECK_EQ(bound.after, 700); /* the stall moved the virtual clock (S9.3) */
    CHECK_EQ(bound.system_time, STORTIMER_VIRTUAL_EPOCH_100NS + 7000);
}

static struct {
    STOR_DPC dpc;
    _Atomic int runs, inside, overlapped;
    BOOLEAN answers[8];
} again;

static VOID reissue_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)A2;
    if (atomic_fetch_add(&again.inside, 1) != 0)
        atomic_store(&again.overlapped, 1);
    int run = atomic_load(&again.runs);
    if (run < 3)
        again.answers[run] = StorPortIssueDpc(Ext, Dpc, (PVOID)((uintptr_t)A1 + 1), NULL);
    sleep_us(2000); /* a second run on another thread would overlap this */
    atomic_fetch_sub(&again.inside, 1);
    atomic_fetch_add(&again.runs, 1);
}

TEST_BOTH(s14_6_self_reissue_answers_true_and_runs_again_after_return)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortInitializeDpc(ext, &again.dpc, reissue_routine);
    CHECK(StorPortIssueDpc(ext, &again.dpc, (PVOID)0, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &again.runs, 4));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&again.runs), 4);
    CHECK(again.answers[0] && again.answers[1] && again.answers[2]);
    CHECK_EQ(atomic_load(&again.overlapped), 0);
}

