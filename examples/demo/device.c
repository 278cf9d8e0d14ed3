/*
 * device.c - the simulated HBA hardware.
 *
 * Its state is a function of time on the adapter's clock: the port comes up
 * on a fixed schedule and each command finishes at a time chosen when it is
 * issued. One mutex stands for the hardware's own atomicity, because the
 * host thread and timer callbacks (another thread, in real time) both touch
 * registers.
 */
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include "stortimer.h"
#include "timeline.h"

#include <pthread.h>
#include <stdlib.h>

#define NEVER UINT64_MAX

/* The port's bring-up, in microseconds after power-on. */
static const struct {
    ULONGLONG at_us;
    ULONG status;                /* PORT_STATUS from then on */
    const char *what;
} port_schedule[] = {
    {33000, 0, "COMINIT from the drive (link still training)"},
    {81000, SIM_PORT_LINK_UP, "PHY ready: link up at 6 Gb/s"},
    {247000, SIM_PORT_LINK_UP | SIM_PORT_READY, "drive cleared BSY: ready"},
};
#define PORT_STEPS (sizeof port_schedule / sizeof port_schedule[0])

struct sim_device {
    pthread_mutex_t lock;
    stortimer_clock *clock;
    ULONGLONG power_on_us;
    bool present;
    unsigned port_step;          /* port_schedule entries already signalled */
    ULONG int_status, cmd_done;
    ULONG in_flight;             /* slots issued and neither done nor aborted */
    ULONGLONG finish_us[SIM_COMMAND_SLOTS]; /* NEVER: swallowed */
    unsigned issued, lose_every, lost_in_removal;
    unsigned random;             /* xorshift32 state */
};

static unsigned next_random(sim_device *d)
{
    d->random ^= d->random << 13;
    d->random ^= d->random >> 17;
    d->random ^= d->random << 5;
    return d->random;
}

static ULONGLONG now_us(const sim_device *d)
{
    return stortimer_clock_now(d->clock);
}

sim_device *sim_device_create(stortimer_clock *clock, unsigned seed, unsigned lose_every)
{
    sim_device *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    pthread_mutex_init(&d->lock, NULL);
    d->clock = clock;
    d->power_on_us = now_us(d);
    d->present = true;
    d->lose_every = lose_every;
    d->random = seed ? seed : 1; /* xorshift never leaves 0 */
    return d;
}

void sim_device_destroy(sim_device *device)
{
    if (!device)
        return;
    pthread_mutex_destroy(&device->lock);
    free(device);
}

/* PORT_STATUS as the drive would report it now. Lock held. */
static ULONG port_status(const sim_device *d)
{
    ULONGLONG since = now_us(d) - d->power_on_us;
    ULONG status = 0;
    for (unsigned i = 0; i < PORT_STEPS && port_schedule[i].at_us <= since; i++)
        status = port_schedule[i].status;
    return status;
}

ULONG SimReadRegister(sim_device *Hardware, ULONG Register)
{
    ULONG value = SIM_GONE;
    pthread_mutex_lock(&Hardware->lock);
    if (Hardware->present) {
        switch (Register) {
        case SIM_REG_ID: value = SIM_HBA_ID; break;
        case SIM_REG_PORT_STATUS: value = port_status(Hardware); break;
        case SIM_REG_INT_STATUS: value = Hardware->int_status; break;
        case SIM_REG_CMD_DONE: value = Hardware->cmd_done; break;
        default: value = 0; break;
        }
    }
    pthread_mutex_unlock(&Hardware->lock);
    return value;
}

/* Starts the commands in `slots`: picks each one's latency, or loses it. Lock held. */
static void issue(sim_device *d, ULONG slots)
{
    for (unsigned slot = 0; slot < SIM_COMMAND_SLOTS; slot++) {
        if (!(slots & (1u << slot)))
            continue;
        d->in_flight |= 1u << slot;
        d->cmd_done &= ~(1u << slot);
        if (d->lose_every && ++d->issued % d->lose_every == 0) {
            d->finish_us[slot] = NEVER;
            timeline_log("device", "slot %2u: command swallowed by the firmware, "
                         "no completion will ever come", slot);
        } else {
            d->finish_us[slot] = now_us(d) + 1000 + next_random(d) % 14001;
        }
    }
}

VOID SimWriteRegister(sim_device *Hardware, ULONG Register, ULONG Value)
{
    pthread_mutex_lock(&Hardware->lock);
    if (Hardware->present) {
        switch (Register) {
        case SIM_REG_INT_STATUS: Hardware->int_status &= ~Value; break;
        case SIM_REG_CMD_DONE: Hardware->cmd_done &= ~Value; break;
        case SIM_REG_CMD_ISSUE: issue(Hardware, Value); break;
        case SIM_REG_CMD_ABORT:
            Hardware->in_flight &= ~Value;
            Hardware->cmd_done &= ~Value;
            break;
        default: break;
        }
    }
    pthread_mutex_unlock(&Hardware->lock);
}

ULONGLONG SimReadTimestampUs(sim_device *Hardware)
{
    return now_us(Hardware); /* read-only and lock-free, like a TSC */
}

bool sim_device_update(sim_device *device)
{
    pthread_mutex_lock(&device->lock);
    ULONGLONG now = now_us(device);
    while (device->present && device->port_step < PORT_STEPS &&
           device->power_on_us + port_schedule[device->port_step].at_us <= now) {
        timeline_log("device", "%s", port_schedule[device->port_step].what);
        device->int_status |= SIM_INT_PORT_CHANGE;
        device->port_step++;
    }
    for (unsigned slot = 0; device->present && slot < SIM_COMMAND_SLOTS; slot++) {
        if ((device->in_flight & (1u << slot)) && device->finish_us[slot] <= now) {
            device->in_flight &= ~(1u << slot);
            device->cmd_done |= 1u << slot;
            device->int_status |= SIM_INT_CMD_DONE;
        }
    }
    bool asserted = device->present && device->int_status != 0;
    pthread_mutex_unlock(&device->lock);
    return asserted;
}

ULONGLONG sim_device_next_event_us(sim_device *device)
{
    ULONGLONG next = NEVER;
    pthread_mutex_lock(&device->lock);
    if (device->present) {
        if (device->port_step < PORT_STEPS)
            next = device->power_on_us + port_schedule[device->port_step].at_us;
        for (unsigned slot = 0; slot < SIM_COMMAND_SLOTS; slot++)
            if ((device->in_flight & (1u << slot)) && device->finish_us[slot] < next)
                next = device->finish_us[slot];
    }
    pthread_mutex_unlock(&device->lock);
    return next;
}

void sim_device_surprise_remove(sim_device *device)
{
    pthread_mutex_lock(&device->lock);
    device->present = false;
    for (unsigned slot = 0; slot < SIM_COMMAND_SLOTS; slot++)
        if ((device->in_flight & (1u << slot)) && device->finish_us[slot] != NEVER)
            device->lost_in_removal++;
    device->in_flight = 0;
    pthread_mutex_unlock(&device->lock);
}

unsigned sim_device_lost_in_removal(sim_device *device)
{
    pthread_mutex_lock(&device->lock);
    unsigned lost = device->lost_in_removal;
    pthread_mutex_unlock(&device->lock);
    return lost;
}
