/*
 * device.c - the demo's drive: its command latencies, on the simulated HBA.
 */
#include "device.h"

#include "sim_devices.h"
#include "timeline.h"

#include <stdlib.h>

typedef struct demo_drive {
    unsigned random;             /* xorshift32 */
    unsigned issued, lose;
} demo_drive;

struct demo_device {
    hw_model *hba;
    demo_drive drive;
};

/* Called by the HBA model, its lock held, for each command issued. */
static ULONGLONG demo_latency(void *context, ULONG port, ULONG slot)
{
    demo_drive *drive = context;
    (void)port;
    if (++drive->issued == drive->lose) {
        timeline_log("device", "slot %u: command swallowed by the drive's firmware, no "
                     "completion will ever come", slot);
        return SIM_NEVER;
    }
    drive->random ^= drive->random << 13;
    drive->random ^= drive->random >> 17;
    drive->random ^= drive->random << 5;
    return 1000 + drive->random % 14001;
}

demo_device *demo_device_create(stortimer_clock *clock, unsigned seed, unsigned lose)
{
    demo_device *device = calloc(1, sizeof *device);
    if (!device)
        return NULL;
    device->drive.random = seed ? seed : 1; /* xorshift never leaves 0 */
    device->drive.lose = lose;
    sim_ahci_config config = {
        .ports = 1,
        .link_up_us = DEVICE_LINK_UP_US,
        .ready_us = DEVICE_READY_US,
        .spinup_done_us = DEVICE_SPINUP_US,
        .reset_us = DEVICE_RESET_US,
        .link_power_us = 100,
        .latency = demo_latency,
        .latency_context = &device->drive,
    };
    device->hba = sim_ahci_create(clock, &config);
    if (!device->hba) {
        free(device);
        return NULL;
    }
    return device;
}

hw_model *demo_device_hba(demo_device *device)
{
    return device->hba;
}

void demo_device_destroy(demo_device *device)
{
    if (!device)
        return;
    hw_model_destroy(device->hba);
    free(device);
}
