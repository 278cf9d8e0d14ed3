/*
 * device.h - the simulated HBA hardware: one AHCI-like port, much simplified.
 *
 * The miniport sees only registers (SimReadRegister / SimWriteRegister) and
 * a free-running microsecond timestamp counter, as a real miniport sees its
 * BAR. The host owns the device: it creates it, lets it catch up with time
 * (sim_device_update), delivers its interrupts and finally yanks it out.
 */
#ifndef STORTIMER_DEMO_DEVICE_H
#define STORTIMER_DEMO_DEVICE_H

#include <stdbool.h>

#include "storport.h"

/* The host's clock type (stortimer.h); miniport code never needs more of it. */
struct stortimer_clock;

#define SIM_COMMAND_SLOTS 32        /* one bit per slot in the CMD registers */

/* Register offsets. */
#define SIM_REG_ID          0x00    /* SIM_HBA_ID; all ones once surprise-removed */
#define SIM_REG_PORT_STATUS 0x04    /* SIM_PORT_* */
#define SIM_REG_INT_STATUS  0x08    /* SIM_INT_*; write 1 to clear */
#define SIM_REG_CMD_DONE    0x0C    /* a bit per finished slot; write 1 to clear */
#define SIM_REG_CMD_ISSUE   0x10    /* write slot bits to start those commands */
#define SIM_REG_CMD_ABORT   0x14    /* write slot bits to abort (a timeout reset) */

#define SIM_HBA_ID          0x5170A7E5u
#define SIM_GONE            0xFFFFFFFFu /* what a removed PCIe device reads as */

#define SIM_PORT_LINK_UP    0x1u    /* PHY ready */
#define SIM_PORT_READY      0x2u    /* the drive cleared BSY: commands welcome */

#define SIM_INT_PORT_CHANGE 0x1u    /* a PORT_STATUS change (or a COMINIT) */
#define SIM_INT_CMD_DONE    0x2u    /* CMD_DONE has new bits */

typedef struct sim_device sim_device;

/* ---- What the miniport touches ---- */

/* Reads a 32-bit register. */
ULONG SimReadRegister(sim_device *Hardware, ULONG Register);

/* Writes a 32-bit register (ignored once the device is gone). */
VOID SimWriteRegister(sim_device *Hardware, ULONG Register, ULONG Value);

/* The timestamp counter, in microseconds: the adapter's stortimer clock. */
ULONGLONG SimReadTimestampUs(sim_device *Hardware);

/* ---- What the host touches ---- */

/*
 * Powers a device on at the clock's current time. Its link comes up after
 * ~81 ms and the drive is ready after ~247 ms; commands take 1-15 ms, except
 * every `lose_every`-th, which the firmware swallows. `seed` fixes the
 * latencies. Returns NULL when memory is short.
 */
sim_device *sim_device_create(struct stortimer_clock *clock, unsigned seed, unsigned lose_every);

void sim_device_destroy(sim_device *device);

/*
 * Brings the device's state up to now: finished commands set their CMD_DONE
 * bits, port changes raise PORT_CHANGE. Returns true when its interrupt line
 * is asserted (INT_STATUS is non-zero).
 */
bool sim_device_update(sim_device *device);

/* When something will next happen inside the device (absolute us); UINT64_MAX: nothing. */
ULONGLONG sim_device_next_event_us(sim_device *device);

/* Surprise removal: every register reads all ones from now on. */
void sim_device_surprise_remove(sim_device *device);

/* Commands the device had accepted but lost when it was pulled out. */
unsigned sim_device_lost_in_removal(sim_device *device);

#endif
