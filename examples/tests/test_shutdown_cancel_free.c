/*
 * Stopping an adapter's timers (miniport/shutdown_cancel_free.c), in
 * virtual time: every timer is cancelled under the StartIo lock before any
 * is freed, no callback runs after the stop returns, nothing leaks, and a
 * timer that freed itself is left alone.
 */
#include "example_log.h"
#include "ahci_regs.h"
#include "nvme_surprise_removal.h"
#include "shutdown_cancel_free.h"
#include "sim_devices.h"

/* The test miniport's timers, microseconds. */
#define HEARTBEAT_US        (10 * MS)   /* periodic, re-armed from its callback */
#define IO_TIMEOUT_US      (100 * MS)   /* one per command slot */
#define IO_TIMEOUT_SLACK_US (20 * MS)
#define TICK_US             (25 * MS)   /* the legacy HwStorTimer */
#define IO_SLOTS 4

#define STOP_AT_US (55 * MS)

typedef struct _STOP_TEST_EXTENSION {
    SHUTDOWN_TIMERS Timers;
    PVOID Heartbeat;
    PVOID IoTimeout[IO_SLOTS];
    NVME_WATCHDOG Watchdog;
    ULONG Heartbeats, Timeouts, Ticks;
} STOP_TEST_EXTENSION, *PSTOP_TEST_EXTENSION;

static VOID HeartbeatTimer(PVOID DeviceExtension, PVOID Context)
{
    PSTOP_TEST_EXTENSION ext = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    ext->Heartbeats++;
    StorPortRequestTimer(ext, ext->Heartbeat, HeartbeatTimer, NULL, HEARTBEAT_US, 0);
}

static VOID IoTimeoutTimer(PVOID DeviceExtension, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ((PSTOP_TEST_EXTENSION)DeviceExtension)->Timeouts++;
}

static VOID StopTestHwStorTimer(PVOID DeviceExtension)
{
    PSTOP_TEST_EXTENSION ext = DeviceExtension;
    ext->Ticks++;
    StorPortNotification(RequestTimerCall, ext, StopTestHwStorTimer, (ULONG)TICK_US);
}

static void track(PSTOP_TEST_EXTENSION ext, PVOID *handle, PHW_TIMER_EX callback)
{
    CHECK_STATUS(StorPortInitializeTimer(ext, handle), STOR_STATUS_SUCCESS);
    CHECK(ShutdownTrackTimer(&ext->Timers, handle, callback));
}

/* The test miniport's HwInitialize: every timer allocated, tracked, armed. */
static void initialize(PVOID extension, void *device)
{
    PSTOP_TEST_EXTENSION ext = extension;
    track(ext, &ext->Heartbeat, HeartbeatTimer);
    for (ULONG slot = 0; slot < IO_SLOTS; slot++)
        track(ext, &ext->IoTimeout[slot], IoTimeoutTimer);
    ShutdownTrackLegacyTimer(&ext->Timers, StopTestHwStorTimer);
    arm(ext, ext->Heartbeat, HeartbeatTimer, NULL, HEARTBEAT_US, 0);
    for (ULONG slot = 0; slot < IO_SLOTS; slot++)
        arm(ext, ext->IoTimeout[slot], IoTimeoutTimer, NULL, IO_TIMEOUT_US, IO_TIMEOUT_SLACK_US);
    StorPortNotification(RequestTimerCall, ext, StopTestHwStorTimer, (ULONG)TICK_US);
    if (device) {
        /* The watchdog too, on the HBA's version register. */
        CHECK_STATUS(NvmeWatchdogStart(ext, &ext->Watchdog, device, AHCI_VS, NULL, NULL),
                     STOR_STATUS_SUCCESS);
        CHECK(ShutdownTrackTimer(&ext->Timers, &ext->Watchdog.Timer, NvmeWatchdogTimer));
    }
}

/* The command in slot 0 completes: its timeout is cancelled. */
static void complete_slot_0(PVOID extension, void *unused)
{
    PSTOP_TEST_EXTENSION ext = extension;
    (void)unused;
    CHECK_STATUS(StorPortRequestTimer(ext, ext->IoTimeout[0], IoTimeoutTimer, NULL, 0, 0),
                 STOR_STATUS_SUCCESS);
}

static PSTOP_TEST_EXTENSION stop_rig(example_rig *rig, BOOLEAN with_watchdog)
{
    example_rig_begin(rig);
    sim_ahci_config config = {.ports = 1};
    rig->device = sim_ahci_create(rig->clock, &config);
    example_rig_adapter(rig, sizeof(STOP_TEST_EXTENSION), 0, FALSE);
    with_startio_lock(rig->extension, initialize, with_watchdog ? rig->device : NULL);
    stortimer_clock_advance_to(rig->clock, 30 * MS);
    with_startio_lock(rig->extension, complete_slot_0, NULL);
    return rig->extension;
}

static ULONG stop_at(example_rig *rig, ULONGLONG at)
{
    stortimer_clock_advance_to(rig->clock, at);
    PSTOP_TEST_EXTENSION ext = rig->extension;
    return ShutdownStopAdapterTimers(ext, &ext->Timers);
}

TEST(s8_1_stop_cancels_all_under_the_startio_lock_before_freeing_any)
{
    example_rig rig;
    PSTOP_TEST_EXTENSION ext = stop_rig(&rig, FALSE);
    stortimer_clock_advance_to(rig.clock, STOP_AT_US);
    size_t before = stortimer_log_count();
    CHECK_EQ(ShutdownStopAdapterTimers(ext, &ext->Timers), 1 + IO_SLOTS);

    /* What the stop did, in order: the legacy tick (due 75 ms), the
     * heartbeat (60 ms) and slots 1-3 (100 ms) cancelled, slot 0 found
     * idle, all at DISPATCH_LEVEL, i.e. under the lock; then five frees
     * at PASSIVE_LEVEL. */
    const stortimer_event *events;
    size_t n = log_events(&events);
    char order[64] = "";
    size_t used = 0;
    for (size_t i = before; i < n && used + 1 < sizeof order; i++) {
        const stortimer_event *e = &events[i];
        CHECK_EQ(e->time, STOP_AT_US);
        if (e->type == STORTIMER_EVENT_CANCELLED || e->type == STORTIMER_EVENT_IDLE_CANCEL) {
            CHECK_EQ(e->irql, DISPATCH_LEVEL);
            order[used++] = e->type == STORTIMER_EVENT_CANCELLED ? 'c' : 'i';
        } else if (e->type == STORTIMER_EVENT_FREED) {
            CHECK_EQ(e->irql, PASSIVE_LEVEL);
            order[used++] = 'f';
        }
    }
    order[used] = '\0';
    CHECK_STR(order, "ccicccfffff");   /* legacy, heartbeat, idle slot 0, slots 1-3; frees */
    CHECK_EQ(ext->Timers.Cancelled, 2 + IO_SLOTS);
    CHECK_EQ(ext->Timers.Freed, 1 + IO_SLOTS);
    CHECK(ext->Heartbeat == NULL);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s6_4_1_no_callback_runs_after_the_stop_returns)
{
    example_rig rig;
    PSTOP_TEST_EXTENSION ext = stop_rig(&rig, FALSE);
    stop_at(&rig, STOP_AT_US);
    ULONG heartbeats = ext->Heartbeats, ticks = ext->Ticks;
    CHECK_EQ(heartbeats, STOP_AT_US / HEARTBEAT_US);
    CHECK_EQ(ticks, STOP_AT_US / TICK_US);

    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    CHECK_EQ(stortimer_clock_now(rig.clock), STOP_AT_US);  /* nothing was left to run */
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_FIRED, STOP_AT_US - 1), 0);
    CHECK_EQ(ext->Heartbeats, heartbeats);
    CHECK_EQ(ext->Ticks, ticks);
    CHECK_EQ(ext->Timeouts, 0);
    CHECK_EQ(stats_of(ext).timers_pending, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s6_4_2_nothing_leaks_adapter_remove_reports_0_timers)
{
    example_rig rig;
    PSTOP_TEST_EXTENSION ext = stop_rig(&rig, FALSE);
    stop_at(&rig, STOP_AT_US);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.timers_live, 0);
    CHECK_EQ(stats.timers_freed, stats.timers_initialized);
    CHECK_EQ(stats.timers_initialized, 1 + IO_SLOTS);
    CHECK_EQ(example_remove(&rig), 0);
    CHECK_EQ(stats_of(NULL).timers_leaked, 0);
}

TEST(s6_4_timer_that_freed_itself_is_neither_cancelled_nor_freed_again)
{
    example_rig rig;
    PSTOP_TEST_EXTENSION ext = stop_rig(&rig, TRUE);
    PVOID watchdog = ext->Watchdog.Timer;
    hw_model_remove_at(rig.device, 200 * MS);   /* the watchdog frees itself at 250 ms */
    ULONG freed = stop_at(&rig, 300 * MS);

    CHECK(ext->Watchdog.DeviceRemoved);
    CHECK_EQ(freed, 1 + IO_SLOTS);
    CHECK_EQ(ext->Timers.FreeFailures, 0);
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_REJECTED, 0), 0);
    CHECK_STR(log_story(watchdog, LOG_DEFAULT), "initialized@0 armed@0 fired@250 freed@250");
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s6_3_second_stop_finds_nothing_to_do)
{
    example_rig rig;
    PSTOP_TEST_EXTENSION ext = stop_rig(&rig, FALSE);
    CHECK_EQ(stop_at(&rig, STOP_AT_US), 1 + IO_SLOTS);
    CHECK_EQ(stop_at(&rig, STOP_AT_US + 1 * MS), 0);
    CHECK_EQ(ext->Timers.FreeFailures, 0);
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_REJECTED, 0), 0);
    CHECK_EQ(example_remove(&rig), 0);
}
