/*
 * hba_private.h - the demo miniport's HwDeviceExtension and the helpers its
 * files share: hba_port.c (start-up, watchdog, housekeeping, stop), hba_io.c
 * (the I/O path) and hba_stats.c (its own measurements).
 *
 * Locking, as in a full-duplex Storport miniport: everything below is
 * guarded by the StartIo lock, which timer callbacks run holding (SPEC S8),
 * except the fields marked "atomic", which the ISR touches at device IRQL
 * where the StartIo lock cannot be taken. (_Atomic stands in for the
 * Interlocked* routines a WDK miniport would use.)
 */
#ifndef STORTIMER_DEMO_HBA_PRIVATE_H
#define STORTIMER_DEMO_HBA_PRIVATE_H

#include "hba.h"

#include <stdatomic.h>

typedef enum _AHCI_PORT_START_STATE {
    AhciPortWaitLink,             /* PHY not ready yet */
    AhciPortWaitReady,            /* link up, drive still busy (BSY) */
    AhciPortStarted,
    AhciPortFailed
} AHCI_PORT_START_STATE;

/* One command slot, with its own timeout timer from the pool. */
typedef struct _AHCI_IO_SLOT {
    PVOID TimeoutTimer;           /* allocated once, by HwInitialize */
    BOOLEAN Active;
    ULONG IoNumber;
    ULONGLONG IssuedUs, DueUs;    /* timestamps: issued, timeout due */
} AHCI_IO_SLOT, *PAHCI_IO_SLOT;

typedef struct _AHCI_ADAPTER_EXTENSION {
    sim_device *Hardware;

    /* Port start. The CallbackContext of each arm points at the due time
     * of that arm, so the callback knows which of the two it is. */
    PVOID PortStartTimer;
    AHCI_PORT_START_STATE PortStartState;
    _Atomic ULONGLONG PollDueUs;  /* atomic: read through the context */
    _Atomic ULONGLONG KickDueUs;  /* atomic: written by the ISR */
    _Atomic ULONG PortStartBusy;  /* atomic: the ISR counts too */
    _Atomic BOOLEAN PortStarted;  /* atomic: the host reads it */

    /* Surprise-removal watchdog; NULL once it freed itself. */
    PVOID WatchdogTimer;
    ULONGLONG WatchdogDueUs;
    ULONG WatchdogTicks;
    BOOLEAN DeviceGone;

    /* Legacy HwStorTimer housekeeping tick. */
    ULONGLONG HousekeepingDueUs;
    ULONG HousekeepingTicks;

    /* I/O. */
    AHCI_IO_SLOT Slots[SIM_COMMAND_SLOTS];
    ULONG SlotsInUse;             /* bit per active slot */

    BOOLEAN ShuttingDown;         /* set under the StartIo lock: no re-arms after it */
    AHCI_DEMO_STATISTICS Stats;
} AHCI_ADAPTER_EXTENSION, *PAHCI_ADAPTER_EXTENSION;

/* Records one callback's lateness against its due time; returns the fire time. */
ULONGLONG AhciNoteCallback(PAHCI_ADAPTER_EXTENSION Extension, AHCI_TIMER_KIND Kind,
                           ULONGLONG DueUs);

/* Asks for a port-start poll soon; callable from the ISR (above DISPATCH_LEVEL). */
VOID AhciKickPortStart(PAHCI_ADAPTER_EXTENSION Extension);

/* Cancels every I/O timeout and fails outstanding I/O. StartIo lock held. */
VOID AhciStopIo(PAHCI_ADAPTER_EXTENSION Extension);

/* The I/O timeout callback (hba_io.c); also named by cancels in hba_port.c. */
HW_TIMER_EX AhciIoTimeoutTimer;

/* Number of I/Os in flight. */
ULONG AhciIoInFlight(const AHCI_ADAPTER_EXTENSION *Extension);

/* A short name for the status codes this miniport expects to see. */
const char *AhciStatusName(ULONG Status);

#endif
