/*
 * nvme_surprise_removal.h - a surprise-removal watchdog, as NVMe miniports
 * keep one.
 *
 * A PCIe device that has been pulled out reads as all ones. A periodic timer
 * reads a register that a present controller never reads as 0xFFFFFFFF
 * (CSTS on NVMe). When it does, the watchdog marks the controller removed,
 * has the miniport fail the work still outstanding (nothing will ever
 * complete it), and frees its own timer from inside its own callback: the
 * one place where StorPortFreeTimer does not wait for the callback, which
 * runs to its end (SPEC S6.4.1).
 *
 * NVME_WATCHDOG is the watchdog alone (the demo puts it on an AHCI-like
 * HBA); NVME_CONTROLLER is a small NVMe-like controller built on it, with
 * command ids outstanding between submission and completion.
 */
#ifndef STORTIMER_EXAMPLE_NVME_SURPRISE_REMOVAL_H
#define STORTIMER_EXAMPLE_NVME_SURPRISE_REMOVAL_H

#include "hw_registers.h"
#include "storport.h"

/* Timer values, microseconds. */
#define NVME_WATCHDOG_INTERVAL_US  250000  /* four reads a second cost nothing */

/* NVMe-like registers. */
#define NVME_REG_CSTS       0x1C         /* controller status */
#define   NVME_CSTS_RDY     0x00000001u
#define NVME_REG_SQ0TDBL    0x1000       /* submission doorbell; here the value is the CID */
#define NVME_REG_CQ0_DONE   0x1004       /* simulated: a bit per completed CID, write 1 to
                                            clear (stands in for completion queue 0) */
#define NVME_MAX_COMMANDS   32

/* ---- the watchdog ---- */

/* Fails the outstanding work once the device is gone (StartIo lock held). */
typedef VOID NVME_DEVICE_GONE_ROUTINE(PVOID DeviceExtension, PVOID Context);

typedef struct _NVME_WATCHDOG {
    PHW_REGISTERS Registers;
    ULONG StatusRegister;       /* never all ones while the device is there */
    PVOID Timer;                /* NULL once freed (by the watchdog itself, or at stop) */
    NVME_DEVICE_GONE_ROUTINE *DeviceGone;
    PVOID DeviceGoneContext;
    BOOLEAN DeviceRemoved;
    ULONG Ticks;                /* NvmeWatchdogTimer calls */
    ULONG FreeStatus;           /* StorPortFreeTimer's answer inside the callback */
} NVME_WATCHDOG, *PNVME_WATCHDOG;

/*
 * Allocates the watchdog's timer and arms it (HwInitialize, IRQL <=
 * DISPATCH_LEVEL, StartIo lock held if other timers already run). Returns
 * the failing status of StorPortInitializeTimer or StorPortRequestTimer, or
 * SUCCESS.
 */
ULONG NvmeWatchdogStart(PVOID DeviceExtension, PNVME_WATCHDOG Watchdog,
                        PHW_REGISTERS Registers, ULONG StatusRegister,
                        NVME_DEVICE_GONE_ROUTINE *DeviceGone, PVOID DeviceGoneContext);

/* The watchdog's callback; its Context is the NVME_WATCHDOG. */
HW_TIMER_EX NvmeWatchdogTimer;

/* ---- an NVMe-like controller that uses it ---- */

#define NVME_COMMAND_IDLE       0  /* how a command id last ended */
#define NVME_COMMAND_PENDING    1
#define NVME_COMMAND_SUCCESS    2
#define NVME_COMMAND_NO_DEVICE  3  /* failed by the watchdog (SRB_STATUS_NO_DEVICE) */

/*
 * Its ISR, HwStartIo and the watchdog all touch Outstanding: the adapter
 * must run half-duplex (StorSynchronizeHalfDuplex, the Storport default),
 * where the interrupt lock is the StartIo lock and none of them overlap.
 */
typedef struct _NVME_CONTROLLER {
    PHW_REGISTERS Registers;
    NVME_WATCHDOG Watchdog;
    ULONG Outstanding;          /* a bit per CID submitted and not yet ended */
    UCHAR CommandStatus[NVME_MAX_COMMANDS];
    ULONG Submitted, Completed, FailedOnRemoval, Refused;
} NVME_CONTROLLER, *PNVME_CONTROLLER;

/* HwInitialize: checks CSTS.RDY and starts the watchdog. FALSE: no controller. */
BOOLEAN NvmeControllerInitialize(PVOID DeviceExtension, PNVME_CONTROLLER Controller,
                                 PHW_REGISTERS Registers);

/* HwStartIo: submits command Cid; FALSE when refused (removed, or Cid in use). */
BOOLEAN NvmeSubmitCommand(PVOID DeviceExtension, PNVME_CONTROLLER Controller, ULONG Cid);

/* HwInterrupt's body: completes what the controller finished. TRUE: ours. */
BOOLEAN NvmeControllerInterrupt(PVOID DeviceExtension, PNVME_CONTROLLER Controller);

#endif
