/*
 * hba.h - the demo miniport's entry points, as the host (standing in for
 * Storport) calls them.
 *
 * The miniport is the example patterns (../miniport/) put together on one
 * AHCI-like HBA, plus its own I/O path: the port start state machine, the
 * surprise-removal watchdog, the link idle timer, the HBA re-initialization
 * on the legacy timer (adapter paused meanwhile, register work under
 * StorPortSynchronizeAccess), the interrupt finished in a STOR_DPC,
 * cancel-then-free at stop, and a history stamped with
 * StorPortQuerySystemTime. Its I/O path arms a 200 ms timeout per command; a
 * command the drive never finishes times out, and the timeout asks for an
 * HBA re-initialization. An interface fatal error reported by the HBA asks
 * for one too: the ISR pauses the adapter and the DPC starts the reset.
 */
#ifndef STORTIMER_DEMO_HBA_H
#define STORTIMER_DEMO_HBA_H

#include "ahci_port_start.h"
#include "completion_dpc.h"
#include "hba_reinit.h"
#include "hw_registers.h"
#include "link_power.h"
#include "miniport_history.h"
#include "nvme_surprise_removal.h"
#include "shutdown_cancel_free.h"
#include "storport.h"

/* Timer values, microseconds. */
#define HBA_IO_TIMEOUT_US       200000   /* per command */
#define HBA_IO_TIMEOUT_SLACK_US  20000   /* its TolerableDelay: a timeout need not be sharp */

#define HBA_SLOTS 8                      /* command slots, each with its timeout timer */

/* What the miniport's I/O path counted. */
typedef struct _HBA_IO_COUNTS {
    ULONG Started, Completed, TimedOut, FailedByRemoval, AbortedByReset, AbortedAtStop;
    ULONG Refused;              /* HwStartIo said no: port down, slots full, gone, stopped */
    ULONG TimeoutsCancelled;    /* completions that cancelled their timeout */
    ULONG TimeoutCallbacks;     /* HbaIoTimeoutTimer calls */
} HBA_IO_COUNTS;

/* The miniport's state, copied for the host (a WMI-style query). */
typedef struct _HBA_STATISTICS {
    AHCI_PORT Port;
    NVME_WATCHDOG Watchdog;
    LINK_POWER Link;
    HBA_REINIT Reinit;
    SHUTDOWN_TIMERS Timers;
    HBA_IO_COUNTS Io;
    COMPLETION_DPC Completion;  /* issues (ISR) and runs (DPC) of the completion DPC */
    ULONG FatalErrors;          /* interface fatal errors the ISR saw */
    MINIPORT_HISTORY History;   /* stamped with StorPortQuerySystemTime */
    ULONG TimersInitialized;    /* StorPortInitializeTimer successes */
} HBA_STATISTICS;

/* The miniport's timers, for the host to name them in the event log. */
typedef struct _HBA_TIMER_HANDLES {
    PVOID PortStart, Watchdog, LinkIdle;
    PVOID IoTimeout[HBA_SLOTS];
} HBA_TIMER_HANDLES;

/* Bytes of HwDeviceExtension to ask for (HW_INITIALIZATION_DATA.DeviceExtensionSize). */
ULONG HbaDeviceExtensionSize(void);

/* Claims the hardware ("maps the BAR"). FALSE: not our HBA. */
BOOLEAN HbaHwFindAdapter(PVOID HwDeviceExtension, PHW_REGISTERS Registers);

/* Allocates every timer, enables the HBA and starts the port. */
BOOLEAN HbaHwInitialize(PVOID HwDeviceExtension);

/* Whether the port is up (I/O may be sent). */
BOOLEAN HbaPortIsStarted(PVOID HwDeviceExtension);

/* Starts I/O number IoNumber; FALSE when it cannot be started now. */
BOOLEAN HbaHwStartIo(PVOID HwDeviceExtension, ULONG IoNumber);

/*
 * The ISR (HW_INTERRUPT), run through stortimer_adapter_interrupt. TRUE: it
 * was ours. It queues the completion DPC itself (StorPortIssueDpc), which
 * completes commands and, after a fatal error, resets the HBA.
 */
BOOLEAN HbaHwInterrupt(PVOID HwDeviceExtension);

/* HwAdapterControl(ScsiStopAdapter): masks interrupts, aborts I/O, stops every timer. */
VOID HbaHwStopAdapter(PVOID HwDeviceExtension);

VOID HbaQueryStatistics(PVOID HwDeviceExtension, HBA_STATISTICS *Statistics);
VOID HbaQueryTimerHandles(PVOID HwDeviceExtension, HBA_TIMER_HANDLES *Handles);

#endif
