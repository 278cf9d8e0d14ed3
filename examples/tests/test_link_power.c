/*
 * The link idle timer (miniport/link_power.c), in virtual time: each I/O
 * pushes the deadline back (BUSY, cancel, re-arm), an idle link goes to
 * Partial then Slumber inside the 20 ms TolerableDelay windows, the next
 * I/O wakes it, and two ports' windows share one fire time.
 */
#include "example_log.h"
#include "link_power.h"
#include "sim_devices.h"

typedef struct _LINK_TEST_EXTENSION {
    LINK_POWER Link[2];
} LINK_TEST_EXTENSION, *PLINK_TEST_EXTENSION;

/* Two ports with their links up and active since t = 0. */
static PLINK_TEST_EXTENSION link_rig(example_rig *rig)
{
    example_rig_begin(rig);
    sim_ahci_config config = {.ports = 2, .link_power_us = 10};
    rig->device = sim_ahci_create(rig->clock, &config);
    for (ULONG port = 0; port < 2; port++)
        hw_model_set(rig->device, AHCI_PORT(port, AHCI_PxSSTS),
                     AHCI_PxSSTS_DET_ESTABLISHED | (AHCI_LINK_ACTIVE << AHCI_PxSSTS_IPM_SHIFT));
    example_rig_adapter(rig, sizeof(LINK_TEST_EXTENSION), 0, FALSE);
    PLINK_TEST_EXTENSION ext = rig->extension;
    for (ULONG port = 0; port < 2; port++)
        CHECK_STATUS(LinkPowerInitialize(ext, &ext->Link[port], rig->device, port),
                     STOR_STATUS_SUCCESS);
    return ext;
}

/* The test miniport's HwStartIo, as far as the link cares. */
static void start_io(PVOID extension, void *link)
{
    LinkPowerNoteIo(extension, link);
}

static void stop_link(PVOID extension, void *link)
{
    LinkPowerStop(extension, link);
}

static void io_at(example_rig *rig, ULONGLONG at, PLINK_POWER link)
{
    stortimer_clock_advance_to(rig->clock, at);
    with_startio_lock(rig->extension, start_io, link);
}

static void free_and_remove(example_rig *rig, PLINK_TEST_EXTENSION ext)
{
    for (ULONG port = 0; port < 2; port++)
        CHECK_STATUS(StorPortFreeTimer(ext, ext->Link[port].IdleTimer), STOR_STATUS_SUCCESS);
    CHECK_EQ(example_remove(rig), 0);
}

static ULONG ipm(example_rig *rig, ULONG port)
{
    ULONG ssts = hw_model_peek(rig->device, AHCI_PORT(port, AHCI_PxSSTS));
    return (ssts & AHCI_PxSSTS_IPM_MASK) >> AHCI_PxSSTS_IPM_SHIFT;
}

/* Checks that the n-th arm of a timer fired inside [due, due + window]; returns when. */
static ULONGLONG fired_in_window(PLINK_TEST_EXTENSION ext, PLINK_POWER link, unsigned arm,
                                 unsigned fire, ULONGLONG due)
{
    stortimer_event armed = log_nth(ext, link->IdleTimer, STORTIMER_EVENT_ARMED, arm);
    stortimer_event fired = log_nth(ext, link->IdleTimer, STORTIMER_EVENT_FIRED, fire);
    CHECK_EQ(armed.due, due);
    CHECK_EQ(armed.window, LINK_IDLE_TOLERANCE_US);
    CHECK(fired.time >= due);
    CHECK(fired.time <= due + LINK_IDLE_TOLERANCE_US);
    CHECK_EQ(fired.time, armed.fire_time);  /* where the library said it would */
    return fired.time;
}

TEST(s5_3_every_io_pushes_the_deadline_back_busy_cancel_rearm)
{
    example_rig rig;
    PLINK_TEST_EXTENSION ext = link_rig(&rig);
    PLINK_POWER link = &ext->Link[0];
    io_at(&rig, 0, link);
    io_at(&rig, 30 * MS, link);
    io_at(&rig, 60 * MS, link);
    stortimer_clock_advance_to(rig.clock, 150 * MS);

    /* The first I/O found the timer idle; the next two found it pending. */
    CHECK_STR(log_story(link->IdleTimer, LOG_DEFAULT),
              "initialized@0 armed@0 busy@30 cancelled@30 armed@30 busy@60 cancelled@60 "
              "armed@60");
    CHECK_EQ(link->Rearms, 2);
    CHECK_EQ(link->IdleTimerCallbacks, 0);
    CHECK_EQ(link->State, LinkPowerActive);
    CHECK_EQ(log_last(ext, link->IdleTimer, STORTIMER_EVENT_ARMED).due,
             60 * MS + LINK_IDLE_TO_PARTIAL_US);
    free_and_remove(&rig, ext);
}

TEST(s5_4_2_idle_link_goes_to_partial_then_slumber_inside_20_ms_windows)
{
    example_rig rig;
    PLINK_TEST_EXTENSION ext = link_rig(&rig);
    PLINK_POWER link = &ext->Link[0];
    io_at(&rig, 0, link);
    io_at(&rig, 60 * MS, link);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);

    /* Arms: at 0, at 60 (after the cancel), and from the Partial callback. */
    ULONGLONG partial = fired_in_window(ext, link, 1, 0, 60 * MS + LINK_IDLE_TO_PARTIAL_US);
    ULONGLONG slumber = fired_in_window(ext, link, 2, 1, partial + LINK_IDLE_TO_SLUMBER_US);
    CHECK_EQ(link->ToPartial, 1);
    CHECK_EQ(link->ToSlumber, 1);
    CHECK_EQ(link->State, LinkPowerSlumber);

    /* The device saw each request at its callback's fire time. */
    ULONG cmd = AHCI_PORT(0, AHCI_PxCMD);
    CHECK_EQ(write_time(rig.device, cmd, AHCI_PxCMD_ICC_MASK,
                        AHCI_LINK_PARTIAL << AHCI_PxCMD_ICC_SHIFT, 0), partial);
    CHECK_EQ(write_time(rig.device, cmd, AHCI_PxCMD_ICC_MASK,
                        AHCI_LINK_SLUMBER << AHCI_PxCMD_ICC_SHIFT, 0), slumber);
    /* Slumber arms nothing more: the clock went idle at its fire time. */
    CHECK_EQ(stortimer_clock_now(rig.clock), slumber);
    stortimer_clock_advance_to(rig.clock, slumber + 1 * MS);   /* the link obeys */
    CHECK_EQ(ipm(&rig, 0), AHCI_LINK_SLUMBER);
    free_and_remove(&rig, ext);
}

TEST(s5_4_io_wakes_a_sleeping_link_and_restarts_the_idle_period)
{
    example_rig rig;
    PLINK_TEST_EXTENSION ext = link_rig(&rig);
    PLINK_POWER link = &ext->Link[0];
    io_at(&rig, 0, link);
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 10000 * MS), STOR_STATUS_SUCCESS);
    CHECK_EQ(link->State, LinkPowerSlumber);

    io_at(&rig, 600 * MS, link);
    CHECK_EQ(link->Wakeups, 1);
    CHECK_EQ(link->State, LinkPowerActive);
    CHECK_EQ(write_time(rig.device, AHCI_PORT(0, AHCI_PxCMD), AHCI_PxCMD_ICC_MASK,
                        AHCI_LINK_ACTIVE << AHCI_PxCMD_ICC_SHIFT, 0), 600 * MS);
    /* The timer was idle (Slumber arms nothing): a plain arm, no BUSY. */
    stortimer_event armed = log_last(ext, link->IdleTimer, STORTIMER_EVENT_ARMED);
    CHECK_EQ(armed.time, 600 * MS);
    CHECK_EQ(armed.due, 600 * MS + LINK_IDLE_TO_PARTIAL_US);
    CHECK_EQ(link->Rearms, 0);
    stortimer_clock_advance_to(rig.clock, 601 * MS);
    CHECK_EQ(ipm(&rig, 0), AHCI_LINK_ACTIVE);
    free_and_remove(&rig, ext);
}

TEST(s5_4_2_two_ports_idle_windows_overlap_and_share_one_fire_time)
{
    example_rig rig;
    PLINK_TEST_EXTENSION ext = link_rig(&rig);
    io_at(&rig, 60 * MS, &ext->Link[0]);
    io_at(&rig, 63 * MS, &ext->Link[1]);
    stortimer_clock_advance_to(rig.clock, 250 * MS);

    /* Deadlines 3 ms apart, windows of 20 ms: one time serves both, which
     * on the real clock is one dispatcher wake-up instead of two. */
    ULONGLONG port0 = fired_in_window(ext, &ext->Link[0], 0, 0, 60 * MS + LINK_IDLE_TO_PARTIAL_US);
    ULONGLONG port1 = fired_in_window(ext, &ext->Link[1], 0, 0, 63 * MS + LINK_IDLE_TO_PARTIAL_US);
    CHECK_EQ(port0, port1);
    CHECK_EQ(ext->Link[0].ToPartial + ext->Link[1].ToPartial, 2);
    free_and_remove(&rig, ext);
}

TEST(s5_5_stop_cancels_the_idle_timer)
{
    example_rig rig;
    PLINK_TEST_EXTENSION ext = link_rig(&rig);
    PLINK_POWER link = &ext->Link[0];
    io_at(&rig, 0, link);
    stortimer_clock_advance_to(rig.clock, 50 * MS);
    with_startio_lock(ext, stop_link, link);

    stortimer_clock_advance_to(rig.clock, 1000 * MS);
    CHECK_STR(log_story(link->IdleTimer, LOG_DEFAULT), "initialized@0 armed@0 cancelled@50");
    CHECK_EQ(link->IdleTimerCallbacks, 0);
    CHECK_EQ(write_count(rig.device, AHCI_PORT(0, AHCI_PxCMD), AHCI_PxCMD_ICC_MASK,
                         AHCI_LINK_PARTIAL << AHCI_PxCMD_ICC_SHIFT), 0);
    free_and_remove(&rig, ext);
}
