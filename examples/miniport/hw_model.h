/*
 * hw_model.h - the host's side of a simulated device: a register file whose
 * values change at given times on the adapter's stortimer clock.
 *
 * The miniport sees only HwReadRegisterUlong / HwWriteRegisterUlong
 * (hw_registers.h). The host (a test, the demo) builds the device: it sets
 * values, schedules changes ("PxSSTS reads 3 from t = 25 ms on"), installs a
 * write handler that gives writes their effect (sim_devices.h has an
 * AHCI-like and an NVMe-like one), pulls the device out, and reads back
 * what the miniport wrote and when.
 */
#ifndef STORTIMER_EXAMPLE_HW_MODEL_H
#define STORTIMER_EXAMPLE_HW_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "hw_registers.h"
#include "stortimer.h"

typedef struct _HW_REGISTERS hw_model;

/*
 * Creates a device on `clock` (NULL: the real clock), every register 0,
 * with `device_size` zeroed bytes of state for its write handler
 * (hw_model_device). Returns NULL when memory is short.
 */
hw_model *hw_model_create(stortimer_clock *clock, size_t device_size);

/* Destroys the device and its state. NULL is a no-op. */
void hw_model_destroy(hw_model *model);

/* The device's clock, and its time now (microseconds). */
stortimer_clock *hw_model_clock(const hw_model *model);
ULONGLONG hw_model_now(const hw_model *model);

/* The write handler's state, as sized at creation. */
void *hw_model_device(hw_model *model);

/* Sets a register now, as the device itself would: no write handler, not logged. */
void hw_model_set(hw_model *model, ULONG offset, ULONG value);

/* Reads a register as it is now, without counting a read (all ones once removed). */
ULONG hw_model_peek(hw_model *model, ULONG offset);

/*
 * At absolute time `at`, register `offset` becomes (value & ~clear) | set.
 * Changes due at the same time apply in the order they were scheduled.
 * `tag` (non-zero) lets hw_model_cancel take them back. Returns false when
 * the model's table of pending changes is full (and counts an overflow).
 */
bool hw_model_change_at(hw_model *model, ULONGLONG at, ULONG offset, ULONG clear, ULONG set,
                        ULONG tag);

/* At `at`, register `offset` reads `value`. */
bool hw_model_set_at(hw_model *model, ULONGLONG at, ULONG offset, ULONG value);

/* Takes back the pending changes with this tag (0: every pending change); returns how many. */
unsigned hw_model_cancel(hw_model *model, ULONG tag);

/* Surprise removal at `at`: from then on every register reads all ones and writes are lost. */
void hw_model_remove_at(hw_model *model, ULONGLONG at);

/* When something will next change inside the device (absolute us); UINT64_MAX: nothing. */
ULONGLONG hw_model_next_change(hw_model *model);

/*
 * Gives writes an effect: handler(model, offset, value, context) is called,
 * with the device locked (it may call the functions above), for every write
 * the miniport makes; when it returns false the value is stored as written.
 */
typedef bool hw_model_write_handler(hw_model *model, ULONG offset, ULONG value, void *context);
void hw_model_set_write_handler(hw_model *model, hw_model_write_handler *handler, void *context);

/*
 * The interrupt line: asserted while register `status` is non-zero and
 * (register `enable` & enable_mask) is too; enable_mask 0: always enabled.
 */
void hw_model_set_interrupt(hw_model *model, ULONG status, ULONG enable, ULONG enable_mask);
bool hw_model_interrupt_asserted(hw_model *model);

/* How many times the miniport read a register. */
ULONG hw_model_reads(hw_model *model, ULONG offset);

/* One write the miniport made, as the device saw it. */
typedef struct hw_write {
    ULONGLONG at;                 /* the clock's time of the write */
    ULONG offset, value;
} hw_write;

/* Copies up to `max` of the miniport's writes, oldest first; returns how many. */
size_t hw_model_writes(hw_model *model, hw_write *writes, size_t max);

/* Changes, registers or log entries that did not fit (a model too small for its scenario). */
unsigned hw_model_overflows(hw_model *model);

/*
 * A deferred procedure the host runs after an interrupt the ISR claimed,
 * for a miniport that does not queue a STOR_DPC itself (StorPortIssueDpc).
 */
typedef VOID hw_model_dpc(PVOID DeviceExtension);

/*
 * Runs the device's virtual clock to `until`, stopping at every timer fire
 * time (stortimer_clock_next_fire) and every change inside the device on the
 * way. At each stop where the interrupt line is asserted it calls the
 * miniport's ISR through stortimer_adapter_interrupt, then `dpc` (may be
 * NULL) if the ISR claimed it, then advances the clock by 0 so that a
 * STOR_DPC the ISR issued runs at once, at the interrupt's time. Returns the
 * number of interrupts delivered.
 */
ULONG hw_model_run_until(hw_model *model, ULONGLONG until, PVOID extension, PHW_INTERRUPT isr,
                         hw_model_dpc *dpc);

#endif
