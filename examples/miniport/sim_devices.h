/*
 * sim_devices.h - two simulated devices on hw_model.h: an AHCI-like HBA and
 * an NVMe-like controller, as much of them as the example miniports touch.
 * Host side: the tests and the demo build them; miniports only see
 * registers.
 */
#ifndef STORTIMER_EXAMPLE_SIM_DEVICES_H
#define STORTIMER_EXAMPLE_SIM_DEVICES_H

#include "hw_model.h"

#include <stdint.h>

#define SIM_NEVER UINT64_MAX

/* How long a command takes (us); SIM_NEVER: the firmware swallows it. */
typedef ULONGLONG sim_latency_fn(void *context, ULONG port, ULONG slot);

#define SIM_AHCI_MAX_PORTS 4

typedef struct sim_ahci_config {
    ULONG ports;                  /* 1..SIM_AHCI_MAX_PORTS */
    ULONGLONG link_up_us;         /* COMRESET released -> PxSSTS.DET = 3, PxIS.PCS */
    ULONGLONG ready_us;           /* COMRESET released -> PxTFD.BSY clears ... */
    ULONGLONG spinup_done_us;     /* ... but not before this, since power-on */
    ULONGLONG reset_us;           /* GHC.HR set -> the HBA clears it */
    ULONGLONG link_power_us;      /* PxCMD.ICC written -> PxSSTS.IPM follows */
    sim_latency_fn *latency;      /* NULL: commands never complete */
    void *latency_context;
} sim_ahci_config;

/*
 * An AHCI-like HBA, powered on now, AHCI not yet enabled, every port's
 * link down and its drive busy. It models: COMRESET (PxSCTL.DET 1 then 0)
 * bringing the link up with a port-change interrupt; BSY clearing; GHC.HR
 * resetting the HBA; PxCMD.ICC moving PxSSTS.IPM; PxCI commands completing
 * with PxIS.DHRS; clearing PxCMD.ST dropping what is outstanding. The
 * interrupt line is IS gated by GHC.IE. NULL when memory is short.
 */
hw_model *sim_ahci_create(stortimer_clock *clock, const sim_ahci_config *config);

/*
 * At `at`, port `port` of an AHCI-like HBA reports an interface fatal error
 * (PxIS.IFS, with its IS bit): the miniport must reset the HBA.
 */
void sim_ahci_fatal_error_at(hw_model *model, ULONGLONG at, ULONG port);

/*
 * An NVMe-like controller, ready (CSTS.RDY): a CID written to SQ0TDBL
 * completes after `latency` (port 0, slot = CID) by setting its bit in
 * CQ0_DONE, which is also the interrupt line.
 */
hw_model *sim_nvme_create(stortimer_clock *clock, sim_latency_fn *latency, void *latency_context);

#endif
