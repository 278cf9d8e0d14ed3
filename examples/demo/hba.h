/*
 * hba.h - the demo miniport's entry points, as the host (standing in for
 * Storport) calls them.
 *
 * The miniport is written against storport.h only, the way storahci or an
 * NVMe miniport is: all its state lives in the HwDeviceExtension, and it
 * drives time with StorPortInitializeTimer / StorPortRequestTimer /
 * StorPortFreeTimer and the legacy RequestTimerCall notification.
 */
#ifndef STORTIMER_DEMO_HBA_H
#define STORTIMER_DEMO_HBA_H

#include "device.h"
#include "storport.h"

/* Timer values, microseconds, as a miniport would #define them. */
#define AHCI_PORT_POLL_US        10000    /* port-start state machine poll */
#define AHCI_PORT_KICK_US         1000    /* "poll soon", asked for by the ISR */
#define AHCI_WATCHDOG_US       1000000    /* surprise-removal watchdog */
#define AHCI_IO_TIMEOUT_US      200000    /* per-command timeout */
#define AHCI_IO_TIMEOUT_SLACK_US 20000    /* its TolerableDelay: timeouts need not be sharp */
#define AHCI_HOUSEKEEPING_US    250000    /* legacy HwStorTimer tick */

#define AHCI_LATENESS_SAMPLES 512

/* The miniport's timers, by job. */
typedef enum _AHCI_TIMER_KIND {
    AhciTimerPortStart,
    AhciTimerWatchdog,
    AhciTimerIoTimeout,
    AhciTimerHwStorTimer,
    AhciTimerKinds
} AHCI_TIMER_KIND;

/* Callback lateness as the miniport measured it: fire time minus due time. */
typedef struct _AHCI_LATENESS {
    ULONG Count;                  /* callbacks of this kind (all of them) */
    ULONG Early;                  /* of which started before their due time */
    LONGLONG SamplesUs[AHCI_LATENESS_SAMPLES]; /* the first Count, at most */
} AHCI_LATENESS;

/* What the miniport counted itself (a WMI-style query). */
typedef struct _AHCI_DEMO_STATISTICS {
    AHCI_LATENESS Lateness[AhciTimerKinds];
    ULONG TimersInitialized;      /* StorPortInitializeTimer successes */
    ULONG TimersFreed;            /* StorPortFreeTimer successes */
    ULONG PortStartPolls;
    ULONG PortStartBusy;          /* STOR_STATUS_BUSY answers, "already pending" */
    ULONGLONG PortStartedAtUs;    /* timestamp when the port came up; 0: never */
    ULONG IoStarted, IoCompleted, IoTimedOut, IoAbortedAtStop, IoRefused;
    ULONG TimeoutsCancelled;      /* completions that cancelled their timeout */
    BOOLEAN WatchdogFreedItself;
} AHCI_DEMO_STATISTICS;

/* Bytes of HwDeviceExtension to ask for (HW_INITIALIZATION_DATA.DeviceExtensionSize). */
ULONG AhciDeviceExtensionSize(void);

/* Claims the hardware ("maps the BAR"). */
BOOLEAN AhciHwFindAdapter(PVOID HwDeviceExtension, sim_device *Hardware);

/* Allocates every timer the adapter will use and starts the port. */
BOOLEAN AhciHwInitialize(PVOID HwDeviceExtension);

/* Whether the port-start state machine has finished (I/O may be sent). */
BOOLEAN AhciPortIsStarted(PVOID HwDeviceExtension);

/* Starts I/O number IoNumber; FALSE when it cannot be started now. */
BOOLEAN AhciHwStartIo(PVOID HwDeviceExtension, ULONG IoNumber);

/* The ISR, called at device IRQL holding the InterruptLock. TRUE: run the DPC. */
BOOLEAN AhciHwInterrupt(PVOID HwDeviceExtension);

/* The completion DPC: completes finished commands under the StartIo lock. */
VOID AhciCompletionDpc(PVOID HwDeviceExtension);

/* HwAdapterControl(ScsiStopAdapter): stops every timer, cancel then free. */
VOID AhciHwStopAdapter(PVOID HwDeviceExtension);

/* Copies the miniport's own counters. */
VOID AhciQueryStatistics(PVOID HwDeviceExtension, AHCI_DEMO_STATISTICS *Statistics);

#endif
