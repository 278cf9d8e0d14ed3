/*
 * ready_wait.h - the tutorial's miniport: after enabling an NVMe-like
 * controller (CC.EN = 1), wait for CSTS.RDY with a 10 ms poll timer, giving
 * up after CAP.TO x 500 ms, as the NVMe specification asks. Written against
 * storport.h only, as it would be for the WDK (docs/testing-miniports.md).
 */
#ifndef READY_WAIT_H
#define READY_WAIT_H

#include <storport.h>

#define NVME_CSTS_RDY 0x1u
#define NVME_CSTS_CFS 0x2u                 /* controller fatal status */
#define READY_POLL_INTERVAL_US (10 * 1000) /* 10 ms */
#define CAP_TO_UNIT_US (500 * 1000)        /* CAP.TO counts 500 ms units */

/* The controller's registers, as the miniport sees them once mapped. */
typedef struct _NVME_REGISTERS {
    volatile ULONG Csts;
    ULONG CapTimeout;                      /* CAP.TO */
} NVME_REGISTERS, *PNVME_REGISTERS;

typedef enum _READY_STATE {
    ReadyWaiting,
    ReadyDone,
    ReadyTimedOut,
    ReadyFailed                            /* CSTS.CFS, or no timer to poll with */
} READY_STATE;

typedef struct _HW_DEVICE_EXTENSION {
    PNVME_REGISTERS Registers;
    PVOID ReadyTimer;
    ULONG PollsLeft;
    ULONG Polls;
    READY_STATE State;
} HW_DEVICE_EXTENSION, *PHW_DEVICE_EXTENSION;

/* Starts waiting for CSTS.RDY; the answer arrives in State. */
VOID NvmeStartReadyWait(PHW_DEVICE_EXTENSION DeviceExtension, PNVME_REGISTERS Registers);

/* Stops the wait and frees the timer (HwAdapterControl ScsiStopAdapter). */
VOID NvmeStopReadyWait(PHW_DEVICE_EXTENSION DeviceExtension);

#endif
