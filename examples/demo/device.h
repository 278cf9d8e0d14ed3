/*
 * device.h - the demo's simulated HBA and drive: the AHCI-like HBA of
 * ../miniport/sim_devices.h with this demo's timings and its drive's
 * command latencies.
 */
#ifndef STORTIMER_DEMO_DEVICE_H
#define STORTIMER_DEMO_DEVICE_H

#include "hw_model.h"

/* Timings of the simulated drive, microseconds. */
#define DEVICE_LINK_UP_US     71000   /* COMRESET released -> link up */
#define DEVICE_SPINUP_US     247000   /* since power-on: BSY until the platters spin */
#define DEVICE_READY_US       20000   /* COMRESET released -> BSY clear, once spun up */
#define DEVICE_RESET_US       25000   /* GHC.HR -> cleared by the HBA */

typedef struct demo_device demo_device;

/*
 * Powers the HBA on now. Commands take 1-15 ms (from `seed`), except the
 * `lose`-th issued (0: none), which the drive's firmware swallows: no
 * completion will ever come. NULL when memory is short.
 */
demo_device *demo_device_create(stortimer_clock *clock, unsigned seed, unsigned lose);

/* The HBA's registers and the host's handle on them. */
hw_model *demo_device_hba(demo_device *device);

/* Destroys it. NULL is a no-op. */
void demo_device_destroy(demo_device *device);

#endif
