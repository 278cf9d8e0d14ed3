/*
 * The AHCI port start state machine (miniport/ahci_port_start.c), in virtual
 * time: exact poll times, the BUSY answer to an interrupt's kick, the
 * timeout, and the StorPortStallExecution fallback when no timer can be had.
 */
#include "ahci_port_start.h"
#include "example_log.h"
#include "sim_devices.h"

/* The drive: after COMRESET is released (at the first poll, t = 10 ms) the
 * link comes up 15 ms later (25 ms) and BSY clears 28 ms later (38 ms). */
#define LINK_UP_US   (15 * MS)
#define READY_US     (28 * MS)

typedef struct _PORT_TEST_EXTENSION {
    AHCI_PORT Port;
} PORT_TEST_EXTENSION, *PPORT_TEST_EXTENSION;

/* The test miniport's HwInterrupt: a port change kicks the start. */
static BOOLEAN PortTestHwInterrupt(PVOID DeviceExtension)
{
    PPORT_TEST_EXTENSION ext = DeviceExtension;
    PHW_REGISTERS regs = ext->Port.Registers;
    ULONG is = HwReadRegisterUlong(regs, AHCI_IS);
    if (is == 0 || is == HW_REGISTER_GONE)
        return FALSE;
    ULONG pxis = HwReadRegisterUlong(regs, AHCI_PORT(0, AHCI_PxIS));
    HwWriteRegisterUlong(regs, AHCI_PORT(0, AHCI_PxIS), pxis);
    HwWriteRegisterUlong(regs, AHCI_IS, is);
    if (pxis & AHCI_PxIS_PCS)
        AhciPortKick(ext, &ext->Port);
    return TRUE;
}

static void start_port(PVOID extension, void *interrupts)
{
    PPORT_TEST_EXTENSION ext = extension;
    if (interrupts)
        HwWriteRegisterUlong(ext->Port.Registers, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);
    AhciPortStart(extension, &ext->Port);
}

/* A rig with one AHCI port whose drive answers after link_up_us / ready_us. */
static PPORT_TEST_EXTENSION port_rig(example_rig *rig, ULONG max_timers, ULONGLONG link_up_us)
{
    example_rig_begin(rig);
    sim_ahci_config config = {.ports = 1, .link_up_us = link_up_us, .ready_us = READY_US};
    rig->device = sim_ahci_create(rig->clock, &config);
    example_rig_adapter(rig, sizeof(PORT_TEST_EXTENSION), max_timers, FALSE);
    return rig->extension;
}

/* The port start timer is the stop path's to free; here the test frees it. */
static void free_and_remove(example_rig *rig, PPORT_TEST_EXTENSION ext)
{
    if (ext->Port.StartTimer)
        CHECK_STATUS(StorPortFreeTimer(ext, ext->Port.StartTimer), STOR_STATUS_SUCCESS);
    CHECK_EQ(example_remove(rig), 0);
}

TEST(s5_6_port_is_started_at_40_ms_after_4_polls)
{
    example_rig rig;
    PPORT_TEST_EXTENSION ext = port_rig(&rig, 0, LINK_UP_US);
    CHECK_STATUS(AhciPortInitialize(ext, &ext->Port, rig.device, 0), STOR_STATUS_SUCCESS);
    with_startio_lock(ext, start_port, NULL);

    /* Each poll re-arms from its own callback, so the clock goes idle when
     * the last one does not; it then reads that poll's fire time. */
    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 2 * AHCI_PORT_START_TIMEOUT_US),
                 STOR_STATUS_SUCCESS);
    CHECK_EQ(ext->Port.State, AhciPortStarted);
    CHECK_EQ(ext->Port.Polls, 4);
    CHECK_EQ(ext->Port.TimerCallbacks, 4);
    CHECK_EQ(stortimer_clock_now(rig.clock), 4 * AHCI_PORT_START_POLL_US);
    CHECK_STR(log_story(ext->Port.StartTimer, LOG_DEFAULT),
              "initialized@0 armed@0 fired@10 armed@10 fired@20 armed@20 fired@30 armed@30 "
              "fired@40");

    /* The device's view: spin-up and COMRESET at 0, released at the first
     * poll, the command engine started at the fourth. */
    ULONG px = AHCI_PORT(0, 0);
    CHECK_EQ(write_time(rig.device, px + AHCI_PxCMD, AHCI_PxCMD_SUD, AHCI_PxCMD_SUD, 0), 0);
    CHECK_EQ(write_time(rig.device, px + AHCI_PxSCTL, ~0u, AHCI_PxSCTL_DET_COMRESET, 0), 0);
    CHECK_EQ(write_time(rig.device, px + AHCI_PxSCTL, ~0u, 0, 0), 10 * MS);
    CHECK_EQ(write_time(rig.device, px + AHCI_PxCMD, AHCI_PxCMD_ST, AHCI_PxCMD_ST, 0), 40 * MS);
    free_and_remove(&rig, ext);
}

TEST(s5_3_port_change_interrupt_gets_busy_because_a_poll_is_pending)
{
    example_rig rig;
    PPORT_TEST_EXTENSION ext = port_rig(&rig, 0, LINK_UP_US);
    CHECK_STATUS(AhciPortInitialize(ext, &ext->Port, rig.device, 0), STOR_STATUS_SUCCESS);
    with_startio_lock(ext, start_port, (void *)1);

    /* The link comes up at 25 ms with a port-change interrupt; the poll due
     * at 30 ms is pending, so the ISR's early-poll request is BUSY. */
    CHECK_EQ(hw_model_run_until(rig.device, 100 * MS, ext, PortTestHwInterrupt, NULL), 1);
    CHECK_EQ(ext->Port.KickBusy, 1);
    stortimer_event busy = log_last(ext, ext->Port.StartTimer, STORTIMER_EVENT_BUSY);
    CHECK_EQ(busy.time, 25 * MS);
    CHECK_EQ(busy.irql, STOR_DEVICE_LEVEL);   /* from the ISR, at device IRQL */
    CHECK_EQ(stats_of(ext).busy, 1);

    /* BUSY changed nothing: the same four polls, the same start time. */
    CHECK_EQ(ext->Port.State, AhciPortStarted);
    CHECK_EQ(ext->Port.Polls, 4);
    CHECK_STR(log_story(ext->Port.StartTimer, LOG_TYPE(STORTIMER_EVENT_FIRED) |
                                                  LOG_TYPE(STORTIMER_EVENT_BUSY)),
              "fired@10 fired@20 busy@25 fired@30 fired@40");
    free_and_remove(&rig, ext);
}

TEST(s5_6_port_without_link_fails_at_the_1_s_timeout_after_100_polls)
{
    example_rig rig;
    PPORT_TEST_EXTENSION ext = port_rig(&rig, 0, 10 * AHCI_PORT_START_TIMEOUT_US);
    CHECK_STATUS(AhciPortInitialize(ext, &ext->Port, rig.device, 0), STOR_STATUS_SUCCESS);
    with_startio_lock(ext, start_port, NULL);

    CHECK_STATUS(stortimer_clock_run_until_idle(rig.clock, 2 * AHCI_PORT_START_TIMEOUT_US),
                 STOR_STATUS_SUCCESS);
    CHECK_EQ(ext->Port.State, AhciPortFailed);
    CHECK_EQ(ext->Port.Polls, AHCI_PORT_START_TIMEOUT_US / AHCI_PORT_START_POLL_US);
    CHECK_EQ(stortimer_clock_now(rig.clock), AHCI_PORT_START_TIMEOUT_US);
    CHECK_EQ(log_last(ext, ext->Port.StartTimer, STORTIMER_EVENT_FIRED).time,
             AHCI_PORT_START_TIMEOUT_US);
    CHECK_EQ(log_count_after(ext, STORTIMER_EVENT_ARMED, AHCI_PORT_START_TIMEOUT_US - 1), 0);
    CHECK_EQ(write_count(rig.device, AHCI_PORT(0, AHCI_PxCMD), AHCI_PxCMD_ST, AHCI_PxCMD_ST), 0);
    free_and_remove(&rig, ext);
}

TEST(s4_3_port_start_stalls_when_max_timers_leaves_no_timer)
{
    example_rig rig;
    /* An adapter limited to one timer, which another part of the miniport
     * already holds: StorPortInitializeTimer answers UNSUCCESSFUL (S4.3). */
    PPORT_TEST_EXTENSION ext = port_rig(&rig, 1, LINK_UP_US);
    PVOID other = new_timer(ext);
    CHECK_STATUS(AhciPortInitialize(ext, &ext->Port, rig.device, 0), STOR_STATUS_UNSUCCESSFUL);
    CHECK(ext->Port.StartTimer == NULL);

    /* Stalls move the clock of a thread bound to it (S9.3). */
    stortimer_thread_bind_clock(rig.clock);
    with_startio_lock(ext, start_port, NULL);
    stortimer_thread_bind_clock(NULL);

    /* Returned started: 1 ms stalls; COMRESET released after the first,
     * BSY clear 28 ms after that. */
    CHECK_EQ(ext->Port.State, AhciPortStarted);
    CHECK_EQ(ext->Port.FallbackStatus, STOR_STATUS_UNSUCCESSFUL);
    CHECK_EQ(stortimer_clock_now(rig.clock), AHCI_PORT_STALL_POLL_US + READY_US);
    CHECK_EQ(ext->Port.StallPolls, (AHCI_PORT_STALL_POLL_US + READY_US) / AHCI_PORT_STALL_POLL_US);
    CHECK_EQ(ext->Port.StallPolls, ext->Port.Polls);
    CHECK_EQ(write_time(rig.device, AHCI_PORT(0, AHCI_PxSCTL), ~0u, 0, 0), 1 * MS);
    CHECK_EQ(log_last(ext, NULL, STORTIMER_EVENT_REJECTED).status, STOR_STATUS_UNSUCCESSFUL);
    CHECK_EQ(stats_of(ext).armed, 0);
    CHECK_STATUS(StorPortFreeTimer(ext, other), STOR_STATUS_SUCCESS);
    free_and_remove(&rig, ext);
}

TEST(s9_3_stalled_start_is_bounded_by_the_1_s_timeout)
{
    example_rig rig;
    PPORT_TEST_EXTENSION ext = port_rig(&rig, 1, 10 * AHCI_PORT_START_TIMEOUT_US);
    PVOID other = new_timer(ext);
    CHECK_STATUS(AhciPortInitialize(ext, &ext->Port, rig.device, 0), STOR_STATUS_UNSUCCESSFUL);

    stortimer_thread_bind_clock(rig.clock);
    with_startio_lock(ext, start_port, NULL);
    stortimer_thread_bind_clock(NULL);

    CHECK_EQ(ext->Port.State, AhciPortFailed);
    CHECK_EQ(stortimer_clock_now(rig.clock), AHCI_PORT_START_TIMEOUT_US);
    CHECK_EQ(ext->Port.StallPolls, AHCI_PORT_START_TIMEOUT_US / AHCI_PORT_STALL_POLL_US);
    CHECK_STATUS(StorPortFreeTimer(ext, other), STOR_STATUS_SUCCESS);
    free_and_remove(&rig, ext);
}
