/*
 * Finishing an interrupt in a DPC (miniport/completion_dpc.c), in virtual
 * time: the ISR latches and issues, the DPC runs at the interrupt's time,
 * collects under StorPortSynchronizeAccess and works under the StartIo
 * lock; an interrupt that finds the DPC queued loses nothing; the DPC may
 * re-arm the legacy timer; the history it keeps is stamped with the
 * virtual clock's system time.
 */
#include "completion_dpc.h"
#include "example_log.h"
#include "miniport_history.h"
#include "nvme_surprise_removal.h"
#include "sim_devices.h"

#define TEN_MS_100NS 100000LL      /* one tick of the default 10 ms, in 100-ns units */

typedef struct _DPC_TEST_EXTENSION {
    PHW_REGISTERS Registers;
    COMPLETION_DPC Completion;
    MINIPORT_HISTORY History;
    stortimer_clock *Clock;
    BOOLEAN RearmLegacyTimer;   /* the DPC arms HwStorTimer 1 ms out */
    ULONG Works, Causes[8];
    ULONGLONG WorkAt[8];        /* the test's clock reading, in the work */
    ULONG LegacyCalls;
} DPC_TEST_EXTENSION, *PDPC_TEST_EXTENSION;

static VOID DpcTestHwStorTimer(PVOID DeviceExtension)
{
    ((PDPC_TEST_EXTENSION)DeviceExtension)->LegacyCalls++;
}

/* The ISR: completed CIDs are the interrupt line; acknowledge, latch, issue. */
static BOOLEAN DpcTestHwInterrupt(PVOID DeviceExtension)
{
    PDPC_TEST_EXTENSION ext = DeviceExtension;
    ULONG done = HwReadRegisterUlong(ext->Registers, NVME_REG_CQ0_DONE);
    if (done == 0 || done == HW_REGISTER_GONE)
        return FALSE;
    HwWriteRegisterUlong(ext->Registers, NVME_REG_CQ0_DONE, done);
    CompletionDpcQueue(ext, &ext->Completion, done);
    return TRUE;
}

static VOID DpcTestWork(PVOID DeviceExtension, PVOID Context, ULONG Causes,
                        LARGE_INTEGER FirstLatched)
{
    PDPC_TEST_EXTENSION ext = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    if (ext->Works < 8) {
        ext->Causes[ext->Works] = Causes;
        ext->WorkAt[ext->Works] = stortimer_clock_now(ext->Clock);
    }
    ext->Works++;
    MiniportHistoryRecordAt(&ext->History, FirstLatched, "latched by the ISR", Causes);
    MiniportHistoryRecord(&ext->History, "completed in the DPC", Causes);
    if (ext->RearmLegacyTimer)
        StorPortNotification(RequestTimerCall, ext, DpcTestHwStorTimer, (ULONG)1000);
}

/* CID n completes 5 + 12 n ms after it is submitted. */
static ULONGLONG latency(void *context, ULONG port, ULONG cid)
{
    (void)context;
    (void)port;
    return (5 + 12 * (ULONGLONG)cid) * MS;
}

static void submit(PDPC_TEST_EXTENSION ext, ULONG cid)
{
    HwWriteRegisterUlong(ext->Registers, NVME_REG_SQ0TDBL, cid);
}

/* Full duplex: the DPC takes the interrupt lock, then the StartIo lock. */
static PDPC_TEST_EXTENSION dpc_rig(example_rig *rig)
{
    example_rig_begin(rig);
    /* The ISR runs on this thread: bound, its system time is the clock's. */
    stortimer_thread_bind_clock(rig->clock);
    rig->device = sim_nvme_create(rig->clock, latency, NULL);
    example_rig_adapter(rig, sizeof(DPC_TEST_EXTENSION), 0, FALSE);
    PDPC_TEST_EXTENSION ext = rig->extension;
    ext->Registers = rig->device;
    ext->Clock = rig->clock;
    CHECK(CompletionDpcInitialize(ext, &ext->Completion, DpcTestWork, NULL));
    return ext;
}

static void interrupt(PDPC_TEST_EXTENSION ext)
{
    BOOLEAN claimed = FALSE;
    CHECK_STATUS(stortimer_adapter_interrupt(ext, DpcTestHwInterrupt, &claimed),
                 STOR_STATUS_SUCCESS);
    CHECK(claimed);
}

/* A fresh rig with commands 0 and 1 submitted and the model run for 50 ms,
 * long enough for both to complete. */
static PDPC_TEST_EXTENSION two_commands_run(example_rig *rig)
{
    PDPC_TEST_EXTENSION ext = dpc_rig(rig);
    submit(ext, 0);
    submit(ext, 1);
    hw_model_run_until(rig->device, 50 * MS, ext, DpcTestHwInterrupt, NULL);
    return ext;
}

TEST(s14_10_dpc_issued_by_the_isr_runs_at_the_interrupt_time)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = two_commands_run(&rig);

    CHECK_EQ(ext->Works, 2);
    CHECK_EQ(ext->Causes[0], 1u << 0);
    CHECK_EQ(ext->WorkAt[0], 5 * MS);
    CHECK_EQ(ext->Causes[1], 1u << 1);
    CHECK_EQ(ext->WorkAt[1], 17 * MS);
    stortimer_event started = log_nth(ext, NULL, STORTIMER_EVENT_DPC_STARTED, 1);
    CHECK(started.dpc == &ext->Completion.Dpc);
    CHECK_EQ(started.due, 17 * MS);          /* issued at the interrupt */
    CHECK_EQ(started.fire_time, 17 * MS);    /* and started then */
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.dpcs_issued, 2);
    CHECK_EQ(stats.dpcs_started, 2);
    CHECK_EQ(stats.dpcs_returned, 2);
    CHECK_EQ(stats.dpc_lateness_max_us, 0);
    CHECK_EQ(ext->Completion.Issued, 2);
    CHECK_EQ(ext->Completion.Runs, 2);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s14_4_interrupt_that_finds_the_dpc_queued_loses_nothing)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = dpc_rig(&rig);
    /* Two interrupts before any advance: the second finds the DPC queued. */
    hw_model_set(rig.device, NVME_REG_CQ0_DONE, 1u << 3);
    interrupt(ext);
    hw_model_set(rig.device, NVME_REG_CQ0_DONE, 1u << 4);
    interrupt(ext);
    CHECK_EQ(ext->Works, 0);                 /* it runs at the next advance (S14.10) */
    stortimer_clock_advance(rig.clock, 0);

    CHECK_EQ(ext->Works, 1);
    CHECK_EQ(ext->Causes[0], (1u << 3) | (1u << 4));
    CHECK_EQ(ext->Completion.Issued, 1);
    CHECK_EQ(ext->Completion.NotIssued, 1);
    CHECK_EQ(stats_of(ext).dpcs_already_queued, 1);
    CHECK_EQ(log_nth(ext, NULL, STORTIMER_EVENT_DPC_QUEUED_ALREADY, 0).time, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s15_1_dpc_collects_under_synchronize_access_and_misuses_no_lock)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = dpc_rig(&rig);
    submit(ext, 0);
    hw_model_run_until(rig.device, 10 * MS, ext, DpcTestHwInterrupt, NULL);

    stortimer_event entered = log_nth(ext, NULL, STORTIMER_EVENT_SYNC_ENTERED, 0);
    CHECK_EQ(entered.time, 5 * MS);
    CHECK(entered.context != NULL);
    CHECK(log_nth(ext, NULL, STORTIMER_EVENT_SYNC_RETURNED, 0).result);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.synchronized_calls, 1);
    CHECK_EQ(stats.lock_misuse, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s14_6_dpc_rearms_the_legacy_timer_as_nvmewin_does)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = dpc_rig(&rig);
    ext->RearmLegacyTimer = TRUE;
    submit(ext, 0);
    hw_model_run_until(rig.device, 10 * MS, ext, DpcTestHwInterrupt, NULL);

    CHECK_STR(log_legacy_story(ext, LOG_DEFAULT), "armed@5 fired@6");
    CHECK_EQ(ext->LegacyCalls, 1);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s13_4_history_is_stamped_with_the_virtual_system_time)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = two_commands_run(&rig);

    /* 5 ms reads as 2000-01-01 00:00:00.000, 17 ms as .010: whole ticks. */
    CHECK_EQ(ext->History.Count, 4);
    CHECK_EQ(ext->History.Entries[0].SystemTime.QuadPart, STORTIMER_VIRTUAL_EPOCH_100NS);
    CHECK_EQ(ext->History.Entries[1].SystemTime.QuadPart, STORTIMER_VIRTUAL_EPOCH_100NS);
    CHECK_EQ(ext->History.Entries[2].SystemTime.QuadPart,
             STORTIMER_VIRTUAL_EPOCH_100NS + TEN_MS_100NS);
    CHECK_EQ(ext->History.Entries[3].SystemTime.QuadPart,
             STORTIMER_VIRTUAL_EPOCH_100NS + TEN_MS_100NS);
    CHECK_STR(ext->History.Entries[3].What, "completed in the DPC");
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s14_13_removal_drops_a_queued_dpc_and_its_work_never_runs)
{
    example_rig rig;
    PDPC_TEST_EXTENSION ext = dpc_rig(&rig);
    hw_model_set(rig.device, NVME_REG_CQ0_DONE, 1u);
    interrupt(ext);
    PVOID dpc = &ext->Completion.Dpc;
    CHECK_EQ(example_remove(&rig), 0);

    stortimer_stats process;
    CHECK_STATUS(stortimer_stats_read(NULL, &process), STOR_STATUS_SUCCESS);
    CHECK_EQ(process.dpcs_dropped, 1);
    const stortimer_event *events;
    size_t n = log_events(&events), dropped = 0, started = 0;
    for (size_t i = 0; i < n; i++) {
        dropped += events[i].type == STORTIMER_EVENT_DPC_DROPPED && events[i].dpc == dpc;
        started += events[i].type == STORTIMER_EVENT_DPC_STARTED;
    }
    CHECK_EQ(dropped, 1);
    CHECK_EQ(started, 0);
}
