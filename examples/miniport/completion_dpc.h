/*
 * completion_dpc.h - finishing an interrupt in a DPC, as nvmewin does.
 *
 * An interrupt routine runs at device IRQL holding the interrupt lock: it
 * may not take the StartIo lock that guards the request state, and it
 * should be short. So it does three things only: acknowledge the device,
 * latch what the device said (the "causes", a bit mask of the miniport's
 * own meaning) into the extension, and queue a STOR_DPC with
 * StorPortIssueDpc. The DPC routine runs soon after at DISPATCH_LEVEL,
 * holding no lock (SPEC S14.6): it collects the latched causes under the
 * interrupt lock, with StorPortSynchronizeAccess (S15), then takes the
 * StartIo lock and does the work: completes requests, and may re-arm the
 * legacy timer (nvmewin's init state machine advances from its completion
 * DPC), since the StartIo lock is what timer callbacks run under (S8.1).
 *
 * Interrupts that come while the DPC is queued find it queued (IssueDpc
 * answers FALSE, S14.4): nothing is lost, their causes are latched and the
 * one queued run collects them all. An interrupt while the DPC routine
 * runs queues it again (it is no longer queued once started), and the
 * next run collects what came since.
 *
 * The latched causes and the issue counters belong to the interrupt lock;
 * the run counters to the StartIo lock. The adapter must be full duplex:
 * in half-duplex mode the interrupt lock is the StartIo lock, and taking
 * it for the collection while holding it for the work would be misuse.
 */
#ifndef STORTIMER_EXAMPLE_COMPLETION_DPC_H
#define STORTIMER_EXAMPLE_COMPLETION_DPC_H

#include "storport.h"

/* The work: runs in the DPC, StartIo lock held, with every cause latched
 * since the last run and when the first of them was latched. */
typedef VOID COMPLETION_DPC_WORK_ROUTINE(PVOID DeviceExtension, PVOID Context, ULONG Causes,
                                         LARGE_INTEGER FirstLatched);

typedef struct _COMPLETION_DPC {
    STOR_DPC Dpc;               /* first: the DPC routine finds the rest from it */
    COMPLETION_DPC_WORK_ROUTINE *Work;
    PVOID Context;
    /* Interrupt lock: */
    ULONG Latched;              /* causes not yet collected */
    LARGE_INTEGER FirstLatched; /* StorPortQuerySystemTime at the first of them */
    ULONG Issued;               /* StorPortIssueDpc answered TRUE */
    ULONG NotIssued;            /* answered FALSE: queued already, its run collects these */
    /* StartIo lock: */
    ULONG Runs;                 /* DPC routine runs */
    ULONG EmptyRuns;            /* runs that found nothing latched */
} COMPLETION_DPC, *PCOMPLETION_DPC;

/*
 * Prepares the DPC (HwInitialize, IRQL <= DISPATCH_LEVEL, before interrupts
 * are enabled). FALSE when Work is NULL.
 */
BOOLEAN CompletionDpcInitialize(PVOID DeviceExtension, PCOMPLETION_DPC Completion,
                                COMPLETION_DPC_WORK_ROUTINE *Work, PVOID Context);

/*
 * From the interrupt routine (interrupt lock held): latches Causes and
 * queues the DPC. Returns StorPortIssueDpc's answer: FALSE when the DPC
 * was queued already (its run will collect these causes too).
 */
BOOLEAN CompletionDpcQueue(PVOID DeviceExtension, PCOMPLETION_DPC Completion, ULONG Causes);

/* The DPC routine that StorPortInitializeDpc is given. */
HW_DPC_ROUTINE CompletionDpcRoutine;

#endif
