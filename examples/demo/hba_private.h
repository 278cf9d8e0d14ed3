/*
 * hba_private.h - the demo miniport's HwDeviceExtension and what its two
 * files share: hba.c (initialization, interrupts, the patterns' hooks,
 * stop) and hba_io.c (the I/O path).
 *
 * Locking, as in a full-duplex Storport miniport: everything is guarded by
 * the StartIo lock, which timer callbacks run holding (SPEC S8.1), except
 * what the ISR touches, which the interrupt lock guards: the registers, the
 * completion DPC's latched causes and issue counters, FatalErrors, and
 * AhciPortKick, which only calls StorPortRequestTimer and its own counter.
 * Code holding the StartIo lock reaches those through
 * StorPortSynchronizeAccess (SPEC S15): the DPC to collect, the
 * re-initialization to reset the HBA, the statistics query to copy.
 */
#ifndef STORTIMER_DEMO_HBA_PRIVATE_H
#define STORTIMER_DEMO_HBA_PRIVATE_H

#include "hba.h"

typedef struct _HBA_IO_SLOT {
    PVOID TimeoutTimer;         /* allocated once, by HwInitialize */
    BOOLEAN Active;
    ULONG IoNumber;
} HBA_IO_SLOT, *PHBA_IO_SLOT;

typedef struct _HBA_EXTENSION {
    PHW_REGISTERS Registers;
    AHCI_PORT Port;             /* ahci_port_start */
    NVME_WATCHDOG Watchdog;     /* nvme_surprise_removal, on the VS register */
    LINK_POWER Link;            /* link_power */
    HBA_REINIT Reinit;          /* hba_reinit, on the legacy timer */
    SHUTDOWN_TIMERS Timers;     /* shutdown_cancel_free: every timer above, and the slots' */
    HBA_IO_SLOT Slots[HBA_SLOTS];
    COMPLETION_DPC Completion;  /* completion_dpc: the ISR's half latches, the DPC's works */
    ULONG FatalErrors;          /* interrupt lock */
    MINIPORT_HISTORY History;   /* miniport_history */
    BOOLEAN DeviceGone;
    HBA_IO_COUNTS Io;
    ULONG TimersInitialized;
} HBA_EXTENSION, *PHBA_EXTENSION;

/* The I/O timeout's callback; its Context is the HBA_IO_SLOT. */
HW_TIMER_EX HbaIoTimeoutTimer;

/* The completion DPC's work, StartIo lock held: finished commands. */
VOID HbaCompleteFinishedIo(PHBA_EXTENSION Extension);

/* Retires every active command: cancels its timeout and counts it in *Counter.
 * StartIo lock held. Returns how many. */
ULONG HbaRetireOutstandingIo(PHBA_EXTENSION Extension, ULONG *Counter, const char *Why);

#endif
