/*
 * completion_dpc.c - the interrupt latches, the DPC collects under the
 * interrupt lock and works under the StartIo lock (see the header).
 */
#include "completion_dpc.h"

static STOR_SYNCHRONIZED_ACCESS CompletionDpcCollect;

/* What one collection took from the interrupt side. */
typedef struct _COMPLETION_DPC_COLLECTED {
    PCOMPLETION_DPC Completion;
    ULONG Causes;
    LARGE_INTEGER FirstLatched;
} COMPLETION_DPC_COLLECTED;

BOOLEAN CompletionDpcInitialize(PVOID DeviceExtension, PCOMPLETION_DPC Completion,
                                COMPLETION_DPC_WORK_ROUTINE *Work, PVOID Context)
{
    if (Work == NULL)
        return FALSE;
    Completion->Work = Work;
    Completion->Context = Context;
    StorPortInitializeDpc(DeviceExtension, &Completion->Dpc, CompletionDpcRoutine);
    return TRUE;
}

BOOLEAN CompletionDpcQueue(PVOID DeviceExtension, PCOMPLETION_DPC Completion, ULONG Causes)
{
    if (Completion->Latched == 0)
        StorPortQuerySystemTime(&Completion->FirstLatched);
    Completion->Latched |= Causes;
    if (StorPortIssueDpc(DeviceExtension, &Completion->Dpc, NULL, NULL)) {
        Completion->Issued++;
        return TRUE;
    }
    /* FALSE: queued already, and its run collects these causes too (or
     * refused, and they wait, latched, for the next interrupt). */
    Completion->NotIssued++;
    return FALSE;
}

/* Interrupt lock held: takes every latched cause. */
static BOOLEAN CompletionDpcCollect(PVOID DeviceExtension, PVOID Context)
{
    COMPLETION_DPC_COLLECTED *collected = Context;
    PCOMPLETION_DPC completion = collected->Completion;
    UNREFERENCED_PARAMETER(DeviceExtension);
    collected->Causes = completion->Latched;
    collected->FirstLatched = completion->FirstLatched;
    completion->Latched = 0;
    return collected->Causes != 0;
}

VOID CompletionDpcRoutine(PSTOR_DPC Dpc, PVOID HwDeviceExtension, PVOID SystemArgument1,
                          PVOID SystemArgument2)
{
    PCOMPLETION_DPC completion = (PCOMPLETION_DPC)Dpc;
    COMPLETION_DPC_COLLECTED collected = {completion, 0, {.QuadPart = 0}};
    STOR_LOCK_HANDLE lock;
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    BOOLEAN any = StorPortSynchronizeAccess(HwDeviceExtension, CompletionDpcCollect, &collected);
    StorPortAcquireSpinLock(HwDeviceExtension, StartIoLock, NULL, &lock);
    completion->Runs++;
    if (any)
        completion->Work(HwDeviceExtension, completion->Context, collected.Causes,
                         collected.FirstLatched);
    else
        completion->EmptyRuns++; /* an earlier run collected them */
    StorPortReleaseSpinLock(HwDeviceExtension, &lock);
}
