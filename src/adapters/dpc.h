/*
 * dpc.h - an adapter's DPCs (SPEC S14): a record per STOR_DPC address, a
 * table that finds a record by that address without a lock, and the run
 * queue of issued DPCs in (due time, order) order (S14.8).
 *
 * The library never reads a STOR_DPC's memory (S14.2): a DPC is known by
 * its address and its adapter, so a forged, stale or foreign one is told
 * apart by the address alone. Records are only added, under the adapter
 * lock, and all go at once when the adapter is removed, after every
 * lock-free reader has left (handover.h's begin and end). A table that
 * grows keeps its older copy until then, so a reader never follows a freed
 * one. Everything but `queued` and the table's slots is the adapter lock's.
 */
#ifndef STORTIMER_ADAPTERS_DPC_H
#define STORTIMER_ADAPTERS_DPC_H

#include "platform/lock.h"
#include "storport.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct st_adapter;

typedef struct st_dpc {
    const void *address;             /* the STOR_DPC: its identity */
    struct st_adapter *adapter;      /* whose DPC it is */
    PHW_DPC_ROUTINE routine;
    /* Issued, its routine not yet started (S14.4): set by the issue that
     * wins it, at any IRQL; cleared when the routine starts. */
    _Atomic bool queued;
    bool running;                    /* its routine runs now */
    bool in_queue;                   /* linked in the run queue */
    void *argument1, *argument2;     /* of the queued issue */
    uint64_t due, order;             /* issue time and order (S14.8) */
    struct st_dpc *prev, *next;      /* the run queue */
    struct st_dpc *all_next;         /* every DPC of the adapter */
    st_lock lock;                    /* its own DpcLock (S14.12) */
} st_dpc;

typedef struct st_dpc_table {
    uint32_t mask;                   /* slots - 1 (a power of two, minus one) */
    struct st_dpc_table *older;      /* the copy it replaced */
    _Atomic(st_dpc *) slot[];
} st_dpc_table;

typedef struct st_dpcs {
    _Atomic(st_dpc_table *) table;   /* NULL until the first DPC */
    uint32_t count;
    st_dpc *all;
    st_dpc *head, *tail;             /* the run queue */
} st_dpcs;

/* What a started DPC routine is called with. */
typedef struct st_dpc_run {
    st_dpc *dpc;
    PHW_DPC_ROUTINE routine;
    void *argument1, *argument2;
    uint64_t due;                    /* its issue time */
} st_dpc_run;

/* The adapter's DPC at `address`, or NULL. Lock-free, allocation-free:
 * any IRQL, while the caller keeps the adapter from being torn down. */
st_dpc *st_dpcs_find(const st_dpcs *set, const void *address);

/* A new idle DPC; NULL when memory is short. */
st_dpc *st_dpcs_add(st_dpcs *set, struct st_adapter *a, const void *address,
                    PHW_DPC_ROUTINE routine);

/* Queues an issued DPC (its issue fields set) in (due, order) order. */
void st_dpcs_enqueue(st_dpcs *set, st_dpc *dpc);

/* The first queued DPC's due time and order; false if none. */
static inline bool st_dpcs_first(const st_dpcs *set, uint64_t *due, uint64_t *order)
{
    if (!set->head)
        return false;
    *due = set->head->due;
    *order = set->head->order;
    return true;
}

/* Takes the first queued DPC and starts it: no longer queued, running. */
void st_dpcs_take(st_dpcs *set, st_dpc_run *run);

/* Takes the first queued DPC without starting it (removal drops it);
 * false if none. */
bool st_dpcs_drop_first(st_dpcs *set, st_dpc_run *run);

/* Forgets every DPC: waits for holders of their locks, frees everything.
 * No reader may be left (removal, after the hand-overs went quiet). */
void st_dpcs_forget_all(st_dpcs *set);

/* Whether the calling thread holds the DpcLock of a DPC of `a`. */
bool st_dpcs_lock_held_by_me(const struct st_adapter *a);

#endif
