/*
 * The surprise-removal watchdog (miniport/nvme_surprise_removal.c), in
 * virtual time: it ticks every 250 ms, finds the controller gone at the
 * first tick after the removal, fails the outstanding commands and frees
 * its own timer from inside its callback (SPEC S6.4.1).
 */
#include "example_log.h"
#include "nvme_surprise_removal.h"
#include "sim_devices.h"

#define REMOVED_AT_US (900 * MS)   /* the first tick after it: 1 s */

typedef struct _NVME_TEST_EXTENSION {
    NVME_CONTROLLER Controller;
} NVME_TEST_EXTENSION, *PNVME_TEST_EXTENSION;

static BOOLEAN NvmeTestHwInterrupt(PVOID DeviceExtension)
{
    PNVME_TEST_EXTENSION ext = DeviceExtension;
    return NvmeControllerInterrupt(ext, &ext->Controller);
}

/* CID 0 completes after 5 ms; the firmware sits on every other one. */
static ULONGLONG latency(void *context, ULONG port, ULONG cid)
{
    (void)context;
    (void)port;
    return cid == 0 ? 5 * MS : SIM_NEVER;
}

typedef struct initialization {
    hw_model *device;
    BOOLEAN ok;
} initialization;

/* The test miniport's HwInitialize. */
static void initialize(PVOID extension, void *context)
{
    PNVME_TEST_EXTENSION ext = extension;
    initialization *init = context;
    init->ok = NvmeControllerInitialize(ext, &ext->Controller, init->device);
}

typedef struct submission {
    ULONG cid;
    BOOLEAN accepted;
} submission;

static void submit(PVOID extension, void *context)
{
    PNVME_TEST_EXTENSION ext = extension;
    submission *s = context;
    s->accepted = NvmeSubmitCommand(ext, &ext->Controller, s->cid);
}

/* Starts the controller at t = 0 and submits CIDs 0 and 1 (half-duplex:
 * the ISR and the watchdog share the controller's state). */
static PNVME_TEST_EXTENSION nvme_rig(example_rig *rig)
{
    example_rig_begin(rig);
    rig->device = sim_nvme_create(rig->clock, latency, NULL);
    example_rig_adapter(rig, sizeof(NVME_TEST_EXTENSION), 0, TRUE);
    PNVME_TEST_EXTENSION ext = rig->extension;
    initialization init = {rig->device, FALSE};
    with_startio_lock(ext, initialize, &init);
    CHECK(init.ok);
    for (ULONG cid = 0; cid < 2; cid++) {
        submission s = {cid, FALSE};
        with_startio_lock(ext, submit, &s);
        CHECK(s.accepted);
    }
    return ext;
}

TEST(s5_6_watchdog_ticks_every_250_ms_while_the_device_is_there)
{
    example_rig rig;
    PNVME_TEST_EXTENSION ext = nvme_rig(&rig);
    PVOID timer = ext->Controller.Watchdog.Timer;

    hw_model_run_until(rig.device, 1000 * MS, ext, NvmeTestHwInterrupt, NULL);
    CHECK_EQ(ext->Controller.Watchdog.Ticks, 1000 * MS / NVME_WATCHDOG_INTERVAL_US);
    CHECK(!ext->Controller.Watchdog.DeviceRemoved);
    CHECK_STR(log_story(timer, LOG_DEFAULT),
              "initialized@0 armed@0 fired@250 armed@250 fired@500 armed@500 fired@750 "
              "armed@750 fired@1000 armed@1000");
    CHECK_EQ(stats_of(ext).timers_pending, 1);
    /* CID 0 completed through the interrupt; CID 1 is still out. */
    CHECK_EQ(ext->Controller.CommandStatus[0], NVME_COMMAND_SUCCESS);
    CHECK_EQ(ext->Controller.Outstanding, 1u << 1);

    CHECK_STATUS(StorPortFreeTimer(ext, timer), STOR_STATUS_SUCCESS);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s6_4_1_watchdog_frees_its_own_timer_at_1_s_and_runs_to_its_end)
{
    example_rig rig;
    PNVME_TEST_EXTENSION ext = nvme_rig(&rig);
    PVOID timer = ext->Controller.Watchdog.Timer;
    hw_model_remove_at(rig.device, REMOVED_AT_US);

    hw_model_run_until(rig.device, 5000 * MS, ext, NvmeTestHwInterrupt, NULL);
    PNVME_WATCHDOG watchdog = &ext->Controller.Watchdog;
    CHECK(watchdog->DeviceRemoved);
    CHECK_EQ(watchdog->FreeStatus, STOR_STATUS_SUCCESS);
    CHECK(watchdog->Timer == NULL);
    CHECK_EQ(watchdog->Ticks, 4);
    /* Freed inside its callback, which then returned: nothing after. */
    CHECK_STR(log_story(timer, LOG_DEFAULT | LOG_TYPE(STORTIMER_EVENT_RETURNED)),
              "initialized@0 armed@0 fired@250 armed@250 returned@250 fired@500 armed@500 "
              "returned@500 fired@750 armed@750 returned@750 fired@1000 freed@1000 "
              "returned@1000");
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_FIRED, 1000 * MS), 0);
    CHECK_EQ(stats_of(ext).timers_live, 0);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s5_6_removal_fails_outstanding_commands_and_refuses_new_ones)
{
    example_rig rig;
    PNVME_TEST_EXTENSION ext = nvme_rig(&rig);
    hw_model_run_until(rig.device, 300 * MS, ext, NvmeTestHwInterrupt, NULL);
    submission late = {2, FALSE};
    with_startio_lock(ext, submit, &late);
    CHECK(late.accepted);
    hw_model_remove_at(rig.device, REMOVED_AT_US);

    hw_model_run_until(rig.device, 2000 * MS, ext, NvmeTestHwInterrupt, NULL);
    PNVME_CONTROLLER c = &ext->Controller;
    CHECK_EQ(c->Completed, 1);
    CHECK_EQ(c->FailedOnRemoval, 2);
    CHECK_EQ(c->CommandStatus[0], NVME_COMMAND_SUCCESS);
    CHECK_EQ(c->CommandStatus[1], NVME_COMMAND_NO_DEVICE);
    CHECK_EQ(c->CommandStatus[2], NVME_COMMAND_NO_DEVICE);
    CHECK_EQ(c->Outstanding, 0);

    submission after = {3, TRUE};
    with_startio_lock(ext, submit, &after);
    CHECK(!after.accepted);
    CHECK_EQ(c->Refused, 1);
    CHECK_EQ(example_remove(&rig), 0);
}

TEST(s6_4_handle_freed_by_the_watchdog_is_dead_so_stop_must_skip_it)
{
    example_rig rig;
    PNVME_TEST_EXTENSION ext = nvme_rig(&rig);
    PVOID stale = ext->Controller.Watchdog.Timer;
    hw_model_remove_at(rig.device, REMOVED_AT_US);
    hw_model_run_until(rig.device, 2000 * MS, ext, NvmeTestHwInterrupt, NULL);

    /* Why the watchdog clears its slot: a second free of the handle, or an
     * arm on it, is refused. */
    CHECK_STATUS(StorPortFreeTimer(ext, stale), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortRequestTimer(ext, stale, NvmeWatchdogTimer, NULL, 1000, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(example_remove(&rig), 0);
}
