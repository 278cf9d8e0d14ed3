/*
 * hw_model.c - a simulated device's register file, as a function of time.
 *
 * The device has no thread of its own: every access first applies the
 * changes that have fallen due, in time order (ties in the order they were
 * scheduled). So on a virtual clock a timer callback sees the device exactly
 * as it is at the callback's fire time, and on the real clock as it is now.
 *
 * One recursive mutex stands for the device's own atomicity: the host thread
 * and timer callbacks (a dispatcher thread, in real time) both touch it, and
 * a write handler schedules changes from inside a write. Tables are fixed
 * and small; what does not fit is counted (hw_model_overflows), not lost
 * silently.
 */
#define _XOPEN_SOURCE 700 /* PTHREAD_MUTEX_RECURSIVE */
#include "hw_model.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HW_MODEL_REGISTERS 64
#define HW_MODEL_CHANGES 256
#define HW_MODEL_WRITE_LOG 1024
#define NEVER UINT64_MAX

typedef struct hw_register {
    ULONG offset, value, reads;
} hw_register;

typedef struct hw_change {
    ULONGLONG at, sequence;
    ULONG offset, clear, set, tag;
} hw_change;

struct _HW_REGISTERS {
    pthread_mutex_t lock;
    stortimer_clock *clock;
    ULONGLONG removed_at;         /* NEVER while present */
    hw_register registers[HW_MODEL_REGISTERS];
    unsigned register_count;
    hw_change changes[HW_MODEL_CHANGES];
    unsigned change_count;
    ULONGLONG next_sequence;
    hw_model_write_handler *handler;
    void *handler_context;
    ULONG irq_status, irq_enable, irq_enable_mask;
    bool irq_configured;
    hw_write log[HW_MODEL_WRITE_LOG];
    size_t log_count;
    unsigned overflows;
    void *device;                 /* the write handler's state, allocated with us */
};

hw_model *hw_model_create(stortimer_clock *clock, size_t device_size)
{
    hw_model *m = calloc(1, sizeof *m + device_size);
    if (!m)
        return NULL;
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m->lock, &attributes);
    pthread_mutexattr_destroy(&attributes);
    m->clock = clock;
    m->removed_at = NEVER;
    m->device = m + 1;
    return m;
}

void hw_model_destroy(hw_model *model)
{
    if (!model)
        return;
    pthread_mutex_destroy(&model->lock);
    free(model);
}

stortimer_clock *hw_model_clock(const hw_model *model)
{
    return model->clock;
}

ULONGLONG hw_model_now(const hw_model *model)
{
    return stortimer_clock_now(model->clock);
}

void *hw_model_device(hw_model *model)
{
    return model->device;
}

/* The register at `offset`, created (reading 0) on first use. Lock held. */
static hw_register *find_register(hw_model *m, ULONG offset)
{
    static hw_register spare; /* absorbs what does not fit; counted */
    for (unsigned i = 0; i < m->register_count; i++)
        if (m->registers[i].offset == offset)
            return &m->registers[i];
    if (m->register_count == HW_MODEL_REGISTERS) {
        m->overflows++;
        memset(&spare, 0, sizeof spare);
        return &spare;
    }
    hw_register *r = &m->registers[m->register_count++];
    r->offset = offset;
    return r;
}

/* Applies every change due by now, earliest (then oldest) first. Lock held. */
static void catch_up(hw_model *m)
{
    ULONGLONG now = hw_model_now(m);
    for (;;) {
        unsigned best = m->change_count;
        for (unsigned i = 0; i < m->change_count; i++) {
            const hw_change *c = &m->changes[i];
            if (c->at <= now && (best == m->change_count || c->at < m->changes[best].at ||
                                 (c->at == m->changes[best].at &&
                                  c->sequence < m->changes[best].sequence)))
                best = i;
        }
        if (best == m->change_count)
            return;
        hw_change c = m->changes[best];
        m->changes[best] = m->changes[--m->change_count];
        hw_register *r = find_register(m, c.offset);
        r->value = (r->value & ~c.clear) | c.set;
    }
}

static bool removed(const hw_model *m)
{
    return hw_model_now(m) >= m->removed_at;
}

void hw_model_set(hw_model *model, ULONG offset, ULONG value)
{
    pthread_mutex_lock(&model->lock);
    catch_up(model);
    find_register(model, offset)->value = value;
    pthread_mutex_unlock(&model->lock);
}

ULONG hw_model_peek(hw_model *model, ULONG offset)
{
    pthread_mutex_lock(&model->lock);
    catch_up(model);
    ULONG value = removed(model) ? HW_REGISTER_GONE : find_register(model, offset)->value;
    pthread_mutex_unlock(&model->lock);
    return value;
}

bool hw_model_change_at(hw_model *model, ULONGLONG at, ULONG offset, ULONG clear, ULONG set,
                        ULONG tag)
{
    pthread_mutex_lock(&model->lock);
    bool fits = model->change_count < HW_MODEL_CHANGES;
    if (fits)
        model->changes[model->change_count++] = (hw_change){
            .at = at, .sequence = model->next_sequence++, .offset = offset,
            .clear = clear, .set = set, .tag = tag};
    else
        model->overflows++;
    pthread_mutex_unlock(&model->lock);
    return fits;
}

bool hw_model_set_at(hw_model *model, ULONGLONG at, ULONG offset, ULONG value)
{
    return hw_model_change_at(model, at, offset, ~0u, value, 0);
}

unsigned hw_model_cancel(hw_model *model, ULONG tag)
{
    pthread_mutex_lock(&model->lock);
    catch_up(model); /* what is already due has happened: it cannot be taken back */
    unsigned taken = 0;
    for (unsigned i = 0; i < model->change_count;) {
        if (tag == 0 || model->changes[i].tag == tag) {
            model->changes[i] = model->changes[--model->change_count];
            taken++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&model->lock);
    return taken;
}

void hw_model_remove_at(hw_model *model, ULONGLONG at)
{
    pthread_mutex_lock(&model->lock);
    model->removed_at = at;
    pthread_mutex_unlock(&model->lock);
}

ULONGLONG hw_model_next_change(hw_model *model)
{
    pthread_mutex_lock(&model->lock);
    catch_up(model);
    ULONGLONG next = NEVER;
    if (!removed(model)) { /* a removed device does nothing more */
        next = model->removed_at;
        for (unsigned i = 0; i < model->change_count; i++)
            if (model->changes[i].at < next)
                next = model->changes[i].at;
    }
    pthread_mutex_unlock(&model->lock);
    return next;
}

void hw_model_set_write_handler(hw_model *model, hw_model_write_handler *handler, void *context)
{
    pthread_mutex_lock(&model->lock);
    model->handler = handler;
    model->handler_context = context;
    pthread_mutex_unlock(&model->lock);
}

void hw_model_set_interrupt(hw_model *model, ULONG status, ULONG enable, ULONG enable_mask)
{
    pthread_mutex_lock(&model->lock);
    model->irq_status = status;
    model->irq_enable = enable;
    model->irq_enable_mask = enable_mask;
    model->irq_configured = true;
    pthread_mutex_unlock(&model->lock);
}

bool hw_model_interrupt_asserted(hw_model *model)
{
    pthread_mutex_lock(&model->lock);
    catch_up(model);
    bool asserted = model->irq_configured && !removed(model) &&
                    find_register(model, model->irq_status)->value != 0 &&
                    (model->irq_enable_mask == 0 ||
                     (find_register(model, model->irq_enable)->value & model->irq_enable_mask));
    pthread_mutex_unlock(&model->lock);
    return asserted;
}

ULONG hw_model_reads(hw_model *model, ULONG offset)
{
    pthread_mutex_lock(&model->lock);
    ULONG reads = find_register(model, offset)->reads;
    pthread_mutex_unlock(&model->lock);
    return reads;
}

size_t hw_model_writes(hw_model *model, hw_write *writes, size_t max)
{
    pthread_mutex_lock(&model->lock);
    size_t n = model->log_count < max ? model->log_count : max;
    memcpy(writes, model->log, n * sizeof *writes);
    pthread_mutex_unlock(&model->lock);
    return n;
}

unsigned hw_model_overflows(hw_model *model)
{
    pthread_mutex_lock(&model->lock);
    unsigned overflows = model->overflows;
    pthread_mutex_unlock(&model->lock);
    return overflows;
}

/* ---- what the miniport calls (hw_registers.h) ---- */

ULONG HwReadRegisterUlong(PHW_REGISTERS Registers, ULONG Offset)
{
    pthread_mutex_lock(&Registers->lock);
    catch_up(Registers);
    ULONG value = HW_REGISTER_GONE;
    if (!removed(Registers)) {
        hw_register *r = find_register(Registers, Offset);
        r->reads++;
        value = r->value;
    }
    pthread_mutex_unlock(&Registers->lock);
    return value;
}

VOID HwWriteRegisterUlong(PHW_REGISTERS Registers, ULONG Offset, ULONG Value)
{
    pthread_mutex_lock(&Registers->lock);
    catch_up(Registers);
    if (!removed(Registers)) {
        if (Registers->log_count < HW_MODEL_WRITE_LOG)
            Registers->log[Registers->log_count++] =
                (hw_write){.at = hw_model_now(Registers), .offset = Offset, .value = Value};
        else
            Registers->overflows++;
        if (!Registers->handler ||
            !Registers->handler(Registers, Offset, Value, Registers->handler_context))
            find_register(Registers, Offset)->value = Value;
    }
    pthread_mutex_unlock(&Registers->lock);
}
