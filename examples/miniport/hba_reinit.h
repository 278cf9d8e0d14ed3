/*
 * hba_reinit.h - resetting and re-initializing an AHCI HBA in steps driven
 * by the legacy timer, StorPortNotification(RequestTimerCall, ...), with
 * the adapter paused meanwhile, as lsi_u3 does.
 *
 * Older miniports have one timer per adapter: HwStorTimer, armed with
 * RequestTimerCall. A recovery sequence fits it well: each step does a
 * little work at DISPATCH_LEVEL and re-arms HwStorTimer for the next one
 * (SPEC S7.2 allows the re-arm from inside HwStorTimer):
 *
 *   queued -> quiesce, set GHC.HR -> poll until the HBA clears HR (up to 1 s)
 *          -> set GHC.AE and IE -> resume the adapter, restart the ports -> done
 *
 * Pausing: asking for the sequence pauses the adapter (StorPortPause, so
 * Storport holds new I/O back while the HBA is down); the sequence resumes
 * it when it ends, done or failed, or when it is cancelled (StorPortResume).
 * The Timeout is a safety net: a sequence that never ends stops holding I/O
 * after HBA_REINIT_PAUSE_S seconds. An interrupt routine that sees a fatal
 * error may pause first, at once (lsi_u3 does): a second Pause only pushes
 * the deadline later, and one Resume ends the pause (SPEC S16.3).
 *
 * Synchronizing: the register work of each step runs under the interrupt
 * lock, through StorPortSynchronizeAccess (S15), as lsi_u3's legacy timer
 * runs its re-initialization: the interrupt routine, which reads and
 * acknowledges the same registers, never sees the HBA half reset. The
 * resume is made there too (above DISPATCH_LEVEL it is handed over, S16.9).
 * Quiesce and Done run outside it, at DISPATCH_LEVEL. The adapter must be
 * full duplex: in half-duplex mode HwStorTimer already holds the interrupt
 * lock (it is the StartIo lock), and SynchronizeAccess from it is misuse.
 *
 * The legacy timer never answers BUSY: a new request replaces the pending
 * one, routine and time (SPEC S7.1). So asking for a re-initialization while
 * one is queued simply restarts the sequence, and a TimerValue of 0 cancels
 * it.
 *
 * HwStorTimer gets only the extension, so the miniport writes it, as a
 * one-liner that calls HbaReinitTimerStep with its HBA_REINIT.
 */
#ifndef STORTIMER_EXAMPLE_HBA_REINIT_H
#define STORTIMER_EXAMPLE_HBA_REINIT_H

#include "ahci_regs.h"
#include "hw_registers.h"
#include "storport.h"

/* Timer values, microseconds. */
#define HBA_REINIT_START_US        1000  /* the first step, out of the caller's path */
#define HBA_RESET_POLL_US         10000  /* GHC.HR polls */
#define HBA_RESET_TIMEOUT_US    1000000  /* AHCI: the HBA clears HR within 1 s */
#define HBA_REINIT_SETTLE_US       1000  /* after enabling, before restarting the ports */
#define HBA_REINIT_PAUSE_S            3  /* StorPortPause Timeout, seconds: a safety net */

typedef enum _HBA_REINIT_STATE {
    HbaReinitIdle,              /* nothing asked, or cancelled */
    HbaReinitQueued,            /* HwStorTimer armed for the first step */
    HbaReinitWaitReset,         /* GHC.HR set; polling until the HBA clears it */
    HbaReinitEnabled,           /* AE and IE set; ports restart at the next step */
    HbaReinitDone,
    HbaReinitFailed
} HBA_REINIT_STATE;

/* The miniport's own work: before the reset (fail or requeue I/O, stop the
 * other timers) and after it (restart the ports; Success FALSE on failure).
 * Both run inside HwStorTimer, StartIo lock held. */
typedef VOID HBA_REINIT_QUIESCE_ROUTINE(PVOID DeviceExtension, PVOID Context);
typedef VOID HBA_REINIT_DONE_ROUTINE(PVOID DeviceExtension, PVOID Context, BOOLEAN Success);

typedef struct _HBA_REINIT {
    PHW_REGISTERS Registers;
    PHW_TIMER HwStorTimer;      /* the miniport's, which calls HbaReinitTimerStep */
    HBA_REINIT_QUIESCE_ROUTINE *Quiesce;
    HBA_REINIT_DONE_ROUTINE *Done;
    PVOID Context;
    HBA_REINIT_STATE State;
    ULONGLONG WaitedUs;         /* spent waiting for HR to clear, this sequence */
    ULONG Steps;                /* HwStorTimer calls, all sequences */
    ULONG Requests, Completed, Failed, Cancelled;
    BOOLEAN Paused;             /* paused by a request, not yet resumed */
    ULONG Pauses, Resumes;      /* StorPortPause / StorPortResume made by the sequence */
    ULONG SynchronizedSteps;    /* steps that ran under StorPortSynchronizeAccess */
    /* One step's outcome, set under the interrupt lock, acted on after it: */
    ULONG NextStepUs;           /* re-arm HwStorTimer for this (0: do not) */
    const char *Ended;          /* the sequence ended, and why (NULL: it goes on) */
} HBA_REINIT, *PHBA_REINIT;

/* Prepares the sequence (HwFindAdapter or HwInitialize). Quiesce and Done may be NULL. */
VOID HbaReinitInitialize(PHBA_REINIT Reinit, PHW_REGISTERS Registers, PHW_TIMER HwStorTimer,
                         HBA_REINIT_QUIESCE_ROUTINE *Quiesce, HBA_REINIT_DONE_ROUTINE *Done,
                         PVOID Context);

/*
 * Asks for a reset and re-initialization: pauses the adapter and arms
 * HwStorTimer for the first step, replacing whatever step was pending (the
 * sequence starts over). IRQL <= DISPATCH_LEVEL, StartIo lock held
 * (HwResetBus, a timeout callback, a DPC that took the lock).
 */
VOID HbaReinitStart(PVOID DeviceExtension, PHBA_REINIT Reinit);

/* Abandons the sequence (removal, stop): RequestTimerCall with 0, and resumes
 * the adapter if the sequence paused it. StartIo lock held. */
VOID HbaReinitCancel(PVOID DeviceExtension, PHBA_REINIT Reinit);

/* One step; the miniport's HwStorTimer calls it (full duplex: see above). */
VOID HbaReinitTimerStep(PVOID DeviceExtension, PHBA_REINIT Reinit);

#endif
