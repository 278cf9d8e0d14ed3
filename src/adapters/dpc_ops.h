/*
 * dpc_ops.h - what an adapter does for StorPortInitializeDpc and
 * StorPortIssueDpc (SPEC S14), for the DpcLock of one DPC (S14.12), and for
 * its DPCs when it is removed (S14.13).
 *
 * Like timer_ops.h: the Storport layer checks arguments and IRQL and turns
 * an outcome into its answer; each action counts and records its events
 * here. A DPC routine itself is run by work.c, with the timer callbacks.
 */
#ifndef STORTIMER_ADAPTERS_DPC_OPS_H
#define STORTIMER_ADAPTERS_DPC_OPS_H

#include "adapters/adapter.h"
#include "adapters/outcome.h"

/*
 * Makes `address` an idle DPC of the adapter `ref` found, running
 * `routine` (S14.3 checks 3 to 6): ST_DONE; ST_FOREIGN (a DPC of another
 * live adapter); ST_BUSY (queued or running); ST_NO_MEMORY; ST_NO_ADAPTER
 * (removed meanwhile). At or below DISPATCH_LEVEL.
 */
st_outcome st_dpc_initialize(const st_adapter_ref *ref, const void *address,
                             PHW_DPC_ROUTINE routine);

/*
 * Issues the adapter's DPC at `address` at clock reading `now` (S14.4):
 * ST_DONE (queued); ST_BUSY (queued already: this issue's arguments are
 * dropped); ST_NOT_HERE (no DPC of this adapter). At or below
 * DISPATCH_LEVEL, the adapter locked with its hand-overs applied
 * (st_adapter_lock_current). The caller wakes the runner once it has let
 * the adapter lock go (st_dpc_wake_runner): woken under it, the runner
 * would only wait for it.
 */
st_outcome st_dpc_issue_locked(st_adapter *a, const void *address, void *argument1,
                               void *argument2, uint64_t now);

/* The same above DISPATCH_LEVEL (S14.5): no lock, no allocation; the
 * queuing is handed over. Also ST_NO_ADAPTER (removed, or being removed)
 * and ST_QUEUE_FULL (no hand-over cell). */
st_outcome st_dpc_issue_handed_over(const st_adapter_ref *ref, const void *address,
                                    void *argument1, void *argument2, uint64_t now);

/* Wakes a real-clock runner for a DPC queued at `now` (without locks). */
static inline void st_dpc_wake_runner(st_adapter *a, uint64_t now)
{
    st_doorbell_note_arm(&a->doorbell, now);
}

/* Queues a DPC issued above DISPATCH_LEVEL (the hand-over's consumer,
 * adapter lock held). */
void st_dpc_apply_issue(st_adapter *a, st_dpc *dpc);

/*
 * Takes the adapter's DPC at `address` for its own DpcLock (S14.12): its
 * lock, acquired; NULL (nothing taken) if `address` is no DPC of the
 * adapter or the adapter went away. *dpc receives the record. At or below
 * DISPATCH_LEVEL; the caller checked recursion.
 */
st_lock *st_dpc_acquire_lock(const st_adapter_ref *ref, const void *address, st_dpc **dpc);

/* Whether `address` is a DPC of the adapter `ref` found (a hint). */
bool st_dpc_known(const st_adapter_ref *ref, const void *address);

/* Removal: drops every queued DPC, counting and logging each with the
 * reason "removal" (adapter lock held), then, without the adapter lock,
 * forgets them all. */
void st_dpcs_drop_all(st_adapter *a, void *extension, stortimer_clock *clock);
void st_dpcs_forget(st_adapter *a);

#endif
