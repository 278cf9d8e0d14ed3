/*
 * SPEC S14.8, S14.10 and S14.14 in the patterns of real miniports: nvmewin's
 * completion and recovery DPCs, storahci's timer and DPC that issue each
 * other.
 */
#include "dpc_fixture.h"

/* ---- miniport patterns ---- */

/* nvmewin: the interrupt routine issues the completion DPC through the
 * notification form; the DPC re-arms the legacy timer that drives the
 * init state machine. */
static struct {
    STOR_DPC dpc;
    ULONGLONG dpc_at;
    _Atomic int dpc_runs;
} nvme;

static VOID nvme_timer(PVOID E)
{
    (void)E;
    rec_add('L', NULL);
}

static VOID nvme_completion_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    nvme.dpc_at = fx_now(rec.fx);
    StorPortNotification(RequestTimerCall, E, nvme_timer, (ULONG)5000);
    atomic_fetch_add(&nvme.dpc_runs, 1);
}

static BOOLEAN nvme_isr(PVOID E)
{
    BOOLEAN result = FALSE;
    StorPortNotification(IssueDpc, E, &nvme.dpc, NULL, NULL, &result);
    return result;
}

TEST_BOTH(s14_10_nvmewin_interrupt_issues_a_dpc_that_rearms_the_legacy_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    StorPortNotification(InitializeDpc, ext, &nvme.dpc, nvme_completion_dpc);
    BOOLEAN claimed = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, nvme_isr, &claimed), STOR_STATUS_SUCCESS);
    CHECK(claimed);
    run_queued(fx);
    CHECK(fx_await(fx, &nvme.dpc_runs, 1));
    CHECK(fx_pass_until_fired(fx, 5000, &rec.n, 1));
    check_fired_at(fx, rec.at[0], nvme.dpc_at, 5000);
    CHECK_EQ(stats_of(ext).legacy_fired, 1);
}

/* nvmewin's recovery DPC: takes the StartIo lock, frees the timer of the
 * stuck state machine, makes a new one and re-arms it. */
static struct {
    PVOID old_timer, new_timer;
    ULONG free_status, init_status, arm_status;
    int reports;
    ULONGLONG at;
    _Atomic int done;
} recovery;

static VOID recovery_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(E, StartIoLock, NULL, &h);
    recovery.free_status = StorPortFreeTimer(E, recovery.old_timer);
    recovery.init_status = StorPortInitializeTimer(E, &recovery.new_timer);
    recovery.at = fx_now(rec.fx);
    recovery.arm_status = StorPortRequestTimer(E, recovery.new_timer, timer_rec, LETTER('N'),
                                               2000, 0);
    StorPortReleaseSpinLock(E, &h);
    recovery.reports = reports_count();
    atomic_store(&recovery.done, 1);
}

TEST_BOTH(s14_14_nvmewin_recovery_dpc_frees_and_rearms_under_the_startio_lock)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    recovery.old_timer = new_timer(ext);
    arm(ext, recovery.old_timer, timer_rec, LETTER('O'), 100000, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, recovery_dpc);
    reports_capture();
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    bool done = fx_await(fx, &recovery.done, 1);
    reports_release();
    CHECK(done);
    CHECK_EQ(recovery.reports, 0);
    CHECK_STATUS(recovery.free_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(recovery.init_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(recovery.arm_status, STOR_STATUS_SUCCESS);
    CHECK(fx_pass_until_fired(fx, 2000, &rec.n, 1));
    CHECK_EQ(rec.who[0], 'N');
    check_fired_at(fx, rec.at[0], recovery.at, 2000);
    fx_pass(fx, 110000);
    fx_settle(fx);
    CHECK(order_is("N")); /* the freed timer never fired */
}

/* storahci: a timer callback issues a DPC whose routine arms the timer
 * again, five rounds. */
static struct {
    PVOID timer;
    STOR_DPC dpc;
    _Atomic int rounds;
} ahci;

static VOID ahci_timer(PVOID E, PVOID Context)
{
    (void)Context;
    rec_add('T', NULL);
    CHECK(StorPortIssueDpc(E, &ahci.dpc, NULL, NULL));
}

static VOID ahci_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    rec_add('D', NULL);
    if (atomic_fetch_add(&ahci.rounds, 1) + 1 < 5)
        CHECK_STATUS(StorPortRequestTimer(E, ahci.timer, ahci_timer, NULL, 1000, 0),
                     STOR_STATUS_SUCCESS);
}

TEST_BOTH(s14_8_storahci_timer_and_dpc_issue_each_other)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    ahci.timer = new_timer(ext);
    StorPortInitializeDpc(ext, &ahci.dpc, ahci_dpc);
    ULONGLONG start = fx_now(fx);
    arm(ext, ahci.timer, ahci_timer, NULL, 1000, 0);
    fx_pass(fx, 5000);
    CHECK(fx_await(fx, &rec.n, 10));
    fx_pass(fx, 3000);
    fx_settle(fx);
    CHECK(order_is("TDTDTDTDTD"));
    for (int i = 0; i < 10; i += 2) {
        ULONGLONG due = i == 0 ? start + 1000 : rec.at[i - 1] + 1000;
        if (fx->clock) {
            CHECK_EQ(rec.at[i], start + 1000 * (ULONGLONG)(i / 2 + 1));
            CHECK_EQ(rec.at[i + 1], rec.at[i]);
        } else {
            CHECK(rec.at[i] >= due);
            CHECK(rec.at[i + 1] >= rec.at[i]);
        }
    }
}
