/* ready_wait.c - the tutorial's miniport timer (see ready_wait.h). */
#include "ready_wait.h"

static HW_TIMER_EX NvmeReadyPoll;

/* One poll: ready, failed, out of time, or look again in 10 ms. */
static VOID NvmeReadyPoll(PVOID DeviceExtension, PVOID Context)
{
    PHW_DEVICE_EXTENSION adapter = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    ULONG csts = adapter->Registers->Csts;
    adapter->Polls++;
    if (csts & NVME_CSTS_CFS) {
        adapter->State = ReadyFailed;
    } else if (csts & NVME_CSTS_RDY) {
        adapter->State = ReadyDone;
    } else if (adapter->PollsLeft-- == 0) {
        adapter->State = ReadyTimedOut;
    } else {
        /* From its own callback the timer is no longer pending (SPEC S5.6):
         * this cannot answer BUSY. */
        StorPortRequestTimer(DeviceExtension, adapter->ReadyTimer, NvmeReadyPoll, NULL,
                             READY_POLL_INTERVAL_US, 0);
    }
}

VOID NvmeStartReadyWait(PHW_DEVICE_EXTENSION DeviceExtension, PNVME_REGISTERS Registers)
{
    DeviceExtension->Registers = Registers;
    DeviceExtension->State = ReadyWaiting;
    DeviceExtension->Polls = 0;
    DeviceExtension->PollsLeft =
        Registers->CapTimeout * (CAP_TO_UNIT_US / READY_POLL_INTERVAL_US) - 1;
    if (StorPortInitializeTimer(DeviceExtension, &DeviceExtension->ReadyTimer) !=
            STOR_STATUS_SUCCESS ||
        StorPortRequestTimer(DeviceExtension, DeviceExtension->ReadyTimer, NvmeReadyPoll,
                             NULL, READY_POLL_INTERVAL_US, 0) != STOR_STATUS_SUCCESS)
        DeviceExtension->State = ReadyFailed;
}

VOID NvmeStopReadyWait(PHW_DEVICE_EXTENSION DeviceExtension)
{
    if (!DeviceExtension->ReadyTimer)
        return;
    StorPortFreeTimer(DeviceExtension, DeviceExtension->ReadyTimer);
    DeviceExtension->ReadyTimer = NULL;
}
