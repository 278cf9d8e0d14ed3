/*
 * The HBA reset and re-initialization sequence (miniport/hba_reinit.c),
 * driven by the legacy timer in virtual time: its steps and their exact
 * times, a request that replaces the pending step (SPEC S7.1), a cancel with
 * 0, and the two ways it fails; the adapter paused from the request (or
 * from an interrupt) until the sequence resumes it (S16), and each step's
 * register work under StorPortSynchronizeAccess (S15).
 */
#include "example_log.h"
#include "hba_reinit.h"
#include "sim_devices.h"

/* The HBA clears GHC.HR 25 ms after it is set. */
#define RESET_US (25 * MS)

typedef struct _REINIT_TEST_EXTENSION {
    HBA_REINIT Reinit;
    ULONG QuiesceCalls, DoneCalls;
    BOOLEAN DoneSuccess;
    ULONGLONG DoneAt;           /* the test's own clock reading, in Done */
    stortimer_clock *Clock;
} REINIT_TEST_EXTENSION, *PREINIT_TEST_EXTENSION;

/* The test miniport's HwStorTimer: the legacy timer gets only the extension. */
static VOID ReinitTestHwStorTimer(PVOID DeviceExtension)
{
    PREINIT_TEST_EXTENSION ext = DeviceExtension;
    HbaReinitTimerStep(ext, &ext->Reinit);
}

static VOID ReinitTestQuiesce(PVOID DeviceExtension, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ((PREINIT_TEST_EXTENSION)DeviceExtension)->QuiesceCalls++;
}

static VOID ReinitTestDone(PVOID DeviceExtension, PVOID Context, BOOLEAN Success)
{
    PREINIT_TEST_EXTENSION ext = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    ext->DoneCalls++;
    ext->DoneSuccess = Success;
    ext->DoneAt = stortimer_clock_now(ext->Clock);
}

static PREINIT_TEST_EXTENSION reinit_rig(example_rig *rig, ULONGLONG reset_us)
{
    example_rig_begin(rig);
    sim_ahci_config config = {.ports = 1, .reset_us = reset_us};
    rig->device = sim_ahci_create(rig->clock, &config);
    example_rig_adapter(rig, sizeof(REINIT_TEST_EXTENSION), 0, FALSE);
    PREINIT_TEST_EXTENSION ext = rig->extension;
    ext->Clock = rig->clock;
    HbaReinitInitialize(&ext->Reinit, rig->device, ReinitTestHwStorTimer, ReinitTestQuiesce,
                        ReinitTestDone, NULL);
    return ext;
}

static void start(PVOID extension, void *unused)
{
    (void)unused;
    HbaReinitStart(extension, &((PREINIT_TEST_EXTENSION)extension)->Reinit);
}

static void cancel(PVOID extension, void *unused)
{
    (void)unused;
    HbaReinitCancel(extension, &((PREINIT_TEST_EXTENSION)extension)->Reinit);
}

static void start_at(example_rig *rig, ULONGLONG at)
{
    stortimer_clock_advance_to(rig->clock, at);
    with_startio_lock(rig->extension, start, NULL);
}

TEST(s7_2_reinit_steps_through_the_legacy_timer_and_is_done_at_32_ms)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    /* 1 ms: HR set (clears at 26 ms); polls at 11, 21, 31 ms; the third
     * sees it clear and enables; 1 ms later the ports restart. */
    CHECK_STR(log_legacy_story(ext, LOG_DEFAULT),
              "armed@0 fired@1 armed@1 fired@11 armed@11 fired@21 armed@21 fired@31 "
              "armed@31 fired@32");
    CHECK_EQ(ext->Reinit.State, HbaReinitDone);
    CHECK_EQ(ext->Reinit.Steps, 5);
    CHECK_EQ(ext->QuiesceCalls, 1);
    CHECK_EQ(ext->DoneCalls, 1);
    CHECK(ext->DoneSuccess);
    CHECK_EQ(ext->DoneAt, 32 * MS);
    CHECK_EQ(write_time(rig.device, AHCI_GHC, ~0u, AHCI_GHC_HR, 0), 1 * MS);
    CHECK_EQ(write_time(rig.device, AHCI_GHC, ~0u, AHCI_GHC_AE, 0), 31 * MS);
    CHECK_EQ(write_time(rig.device, AHCI_GHC, ~0u, AHCI_GHC_AE | AHCI_GHC_IE, 0), 31 * MS);
    CHECK_EQ(stats_of(ext).legacy_fired, 5);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s7_1_second_request_replaces_the_pending_first_step)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    start_at(&rig, 500);   /* half a millisecond later: never BUSY, it replaces */

    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    CHECK_STR(log_legacy_story(ext, LOG_TYPE(STORTIMER_EVENT_ARMED) |
                                        LOG_TYPE(STORTIMER_EVENT_CANCELLED) |
                                        LOG_TYPE(STORTIMER_EVENT_FIRED) |
                                        LOG_TYPE(STORTIMER_EVENT_BUSY)),
              "armed@0 cancelled@0.5 armed@0.5 fired@1.5 armed@1.5 fired@11.5 armed@11.5 "
              "fired@21.5 armed@21.5 fired@31.5 armed@31.5 fired@32.5");
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_CANCELLED, 0).status, STORTIMER_CANCEL_BY_REARM);
    CHECK_EQ(ext->Reinit.Requests, 2);
    CHECK_EQ(ext->QuiesceCalls, 1);
    CHECK_EQ(ext->DoneAt, 32500);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s7_1_request_during_the_reset_starts_the_sequence_over)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    start_at(&rig, 15 * MS);   /* the poll due at 21 ms is replaced */

    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    /* Quiesce and HR again at 16 ms (clears at 41); polls at 26, 36, 46. */
    CHECK_STR(log_legacy_story(ext, LOG_TYPE(STORTIMER_EVENT_FIRED) |
                                        LOG_TYPE(STORTIMER_EVENT_CANCELLED)),
              "fired@1 fired@11 cancelled@15 fired@16 fired@26 fired@36 fired@46 fired@47");
    CHECK_EQ(ext->QuiesceCalls, 2);
    CHECK_EQ(write_time(rig.device, AHCI_GHC, ~0u, AHCI_GHC_HR, 1), 16 * MS);
    CHECK_EQ(ext->DoneAt, 47 * MS);
    CHECK_EQ(ext->DoneCalls, 1);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s7_1_zero_cancels_the_sequence_and_nothing_runs_after)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    stortimer_clock_advance_to(rig.clock, 5 * MS);
    with_startio_lock(ext, cancel, NULL);

    stortimer_clock_advance_to(rig.clock, 2000 * MS);
    CHECK_STR(log_legacy_story(ext, LOG_DEFAULT), "armed@0 fired@1 armed@1 cancelled@5");
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_CANCELLED, 0).status,
             STORTIMER_CANCEL_BY_REQUEST);
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_FIRED, 5 * MS), 0);
    CHECK_EQ(ext->Reinit.State, HbaReinitIdle);
    CHECK_EQ(ext->Reinit.Cancelled, 1);
    CHECK_EQ(ext->DoneCalls, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s7_2_reset_that_never_clears_fails_at_the_1_s_timeout)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, 10 * HBA_RESET_TIMEOUT_US);
    start_at(&rig, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    /* HR set at 1 ms; the 100th poll, 1 s later, gives up. */
    CHECK_EQ(ext->Reinit.State, HbaReinitFailed);
    CHECK_EQ(ext->DoneCalls, 1);
    CHECK(!ext->DoneSuccess);
    CHECK_EQ(ext->DoneAt, HBA_REINIT_START_US + HBA_RESET_TIMEOUT_US);
    CHECK_EQ(ext->Reinit.Steps, 1 + HBA_RESET_TIMEOUT_US / HBA_RESET_POLL_US);
    CHECK_EQ(write_count(rig.device, AHCI_GHC, AHCI_GHC_AE, AHCI_GHC_AE), 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s7_2_hba_gone_during_the_reset_fails_at_the_next_poll)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    hw_model_remove_at(rig.device, 15 * MS);
    start_at(&rig, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    CHECK_EQ(ext->Reinit.State, HbaReinitFailed);
    CHECK_EQ(ext->DoneAt, 21 * MS);
    CHECK_STR(log_legacy_story(ext, LOG_DEFAULT),
              "armed@0 fired@1 armed@1 fired@11 armed@11 fired@21");
    CHECK_EQ(example_remove(&rig), 0);
}

static stortimer_pause_state pause_state(PVOID extension)
{
    stortimer_pause_state state = {0};
    CHECK_STATUS(stortimer_adapter_pause_state(extension, &state), STOR_STATUS_SUCCESS);
    return state;
}

TEST(s16_5_reinit_pauses_the_adapter_and_its_last_step_resumes_it_at_32_ms)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    stortimer_clock_advance_to(rig.clock, 20 * MS);
    stortimer_pause_state during = pause_state(ext);
    CHECK(during.paused);
    CHECK_EQ(during.until_us, HBA_REINIT_PAUSE_S * 1000000ull);

    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    stortimer_pause_state after = pause_state(ext);
    CHECK(!after.paused);
    CHECK_EQ(after.last_end, STORTIMER_PAUSE_END_RESUMED);
    stortimer_event ended = log_nth(ext, NULL, STORTIMER_EVENT_PAUSE_ENDED, 0);
    CHECK_EQ(ended.time, 32 * MS);
    CHECK_EQ(ended.status, STORTIMER_PAUSE_END_RESUMED);
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_PAUSED, 0).time, 0);
    CHECK_EQ(ext->Reinit.Pauses, 1);
    CHECK_EQ(ext->Reinit.Resumes, 1);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.pauses, 1);
    CHECK_EQ(stats.resumes, 1);
    CHECK_EQ(stats.pause_expiries, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s16_5_failed_reset_still_resumes_before_the_pause_would_expire)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, 10 * HBA_RESET_TIMEOUT_US);
    start_at(&rig, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    stortimer_clock_advance_to(rig.clock, 2 * HBA_REINIT_PAUSE_S * 1000000ull);

    CHECK_EQ(ext->Reinit.State, HbaReinitFailed);
    stortimer_event ended = log_nth(ext, NULL, STORTIMER_EVENT_PAUSE_ENDED, 0);
    CHECK_EQ(ended.time, HBA_REINIT_START_US + HBA_RESET_TIMEOUT_US);
    CHECK_EQ(ended.status, STORTIMER_PAUSE_END_RESUMED);
    CHECK_EQ(stats_of(ext).pause_expiries, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s16_5_cancel_resumes_the_adapter_at_once)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    stortimer_clock_advance_to(rig.clock, 5 * MS);
    with_startio_lock(ext, cancel, NULL);

    CHECK(!pause_state(ext).paused);
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_PAUSE_ENDED, 0).time, 5 * MS);
    CHECK_EQ(ext->Reinit.Resumes, 1);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s15_1_each_step_does_its_register_work_under_synchronize_access)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    start_at(&rig, 0);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    /* One synchronized routine per HwStorTimer step, at the step's time. */
    const ULONGLONG steps_ms[] = {1, 11, 21, 31, 32};
    for (unsigned i = 0; i < 5; i++) {
        stortimer_event entered = log_nth(ext, NULL, STORTIMER_EVENT_SYNC_ENTERED, i);
        CHECK_EQ(entered.time, steps_ms[i] * MS);
        CHECK(entered.context == &ext->Reinit);
    }
    CHECK_EQ(ext->Reinit.SynchronizedSteps, 5);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.synchronized_calls, 5);
    CHECK_EQ(stats.lock_misuse, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

/* An interrupt routine that sees a fatal error pauses at once, as lsi_u3's does. */
static BOOLEAN ReinitTestFatalInterrupt(PVOID DeviceExtension)
{
    return StorPortPause(DeviceExtension, HBA_REINIT_PAUSE_S);
}

TEST(s16_9_pause_from_the_interrupt_then_the_reinit_resume_leaves_it_resumed)
{
    example_rig rig;
    PREINIT_TEST_EXTENSION ext = reinit_rig(&rig, RESET_US);
    BOOLEAN paused = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, ReinitTestFatalInterrupt, &paused),
                 STOR_STATUS_SUCCESS);
    CHECK(paused);
    start_at(&rig, 0);     /* the DPC's part: pauses again, pushing nothing later */
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_PAUSED, 0).time, 0);
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_PAUSED, 1).time, 0);
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_PAUSE_ENDED, 0).time, 32 * MS);
    stortimer_pause_state after = pause_state(ext);
    CHECK(!after.paused);
    CHECK_EQ(after.last_end, STORTIMER_PAUSE_END_RESUMED);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.pauses, 2);
    CHECK_EQ(stats.resumes, 1);
    CHECK_EQ(example_remove(&rig), 0);
}
