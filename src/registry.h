/*
 * registry.h - where adapters and timers live, and how a pointer or a handle
 * finds them without ever being dereferenced (SPEC S3, S4).
 *
 * Both tables grow in chunks that are never freed, so a lookup racing a
 * removal reads memory that is still ours, and lookups take no lock (they
 * may run above DISPATCH_LEVEL, in a signal handler). A slot is reused only
 * with a new serial, so a stale pointer or handle never matches.
 */
#ifndef STORTIMER_REGISTRY_H
#define STORTIMER_REGISTRY_H

#include "adapter.h"

/* An adapter slot with its locks ready, not yet published; NULL if no memory. */
st_adapter *st_registry_adapter_take(void);

/* Returns a slot whose adapter was removed. */
void st_registry_adapter_give_back(st_adapter *a);

/*
 * The live adapter whose extension is `extension`, with its serial as read;
 * NULL if none. Lock-free; compares pointers only.
 */
st_adapter *st_registry_adapter_find(const void *extension, uint64_t *serial);

/*
 * The adapter lock at address `object`, found by comparing addresses only,
 * with its adapter in *adapter; NULL if `object` is no lock of ours.
 */
st_lock *st_registry_find_lock(const void *object, st_adapter **adapter);

/* Calls visit on every adapter slot ever made (live or not). */
void st_registry_adapters_visit(void (*visit)(st_adapter *a, void *ctx), void *ctx);

/*
 * A timer slot for adapter `a` (adapter lock held) with a handle value never
 * issued before, and the `issued` value that makes it live (the caller
 * publishes it in t->issued); NULL if no memory. Slots the adapter freed are
 * reused first: a slot serves one adapter from the moment it takes it until
 * the adapter is removed.
 */
st_timer *st_registry_timer_take(st_adapter *a, uint64_t *handle, uint64_t *issued);

/* The chunks every timer slot lives in, for the adapters' wheels. */
stw_table st_registry_timer_table(void);

/* The adapter holding timer slot `t` (live or not), or NULL. Lock-free. */
st_adapter *st_registry_timer_owner(const st_timer *t);

/* Calls visit on each live timer of adapter `a` (adapter lock held): a scan
 * of every slot, for adapter removal. */
void st_registry_timers_visit(st_adapter *a, void (*visit)(st_timer *t, void *ctx), void *ctx);

/* Keeps a freed slot for the adapter's next timer (adapter lock held). */
void st_registry_timer_give_back(st_adapter *a, st_timer *t);

/* Returns a freed slot to the common pool (its adapter is gone). */
void st_registry_timer_to_pool(st_timer *t);

/* Returns every slot of a removed adapter to the common pool. */
void st_registry_timers_release(st_adapter *a);

/*
 * The slot a handle value names and (if `plain` is not NULL) the plain value
 * it was issued as, (generation << 24) | slot: the slot's `issued` is that
 * with ST_LIVE while the handle lives. NULL if it names no slot. Lock-free,
 * arithmetic only.
 */
st_timer *st_registry_timer_at(uint64_t handle, uint64_t *plain);

/* The handle value a slot's `issued` value stands for (ST_LIVE ignored). */
uint64_t st_registry_handle_of(uint64_t issued);

/* A handle value as the PVOID the caller holds: an opaque value, never a
 * pointer to anything, and never dereferenced (SPEC S4, S12). */
static inline PVOID st_handle_pointer(uint64_t handle)
{
    return (PVOID)(uintptr_t)handle; // NOLINT(performance-no-int-to-ptr): opaque by design
}

/*
 * Whether `handle` was issued to adapter `a` and freed since. Exact for the
 * adapter's whole life: a slot's generations are issued one after another
 * and the slot stays with its adapter. Adapter lock held.
 */
bool st_registry_timer_was_freed(const st_adapter *a, uint64_t handle);

#endif
