/*
 * pause_ops.h - what an adapter does for StorPortPause, StorPortResume,
 * StorPortPauseDevice and StorPortResumeDevice (SPEC S16): pauses are
 * states with deadlines on the adapter's clock; an expiry is due work that
 * work.c runs in (due time, order) order with timers and DPCs (S16.4).
 */
#ifndef STORTIMER_ADAPTERS_PAUSE_OPS_H
#define STORTIMER_ADAPTERS_PAUSE_OPS_H

#include "adapters/adapter.h"
#include "adapters/outcome.h"

/* The unit key of (PathId, TargetId, Lun). */
static inline uint32_t st_unit_key(UCHAR path_id, UCHAR target_id, UCHAR lun)
{
    return (uint32_t)path_id << 16 | (uint32_t)target_id << 8 | lun;
}

/*
 * Carries out a pause or resume, counting and logging it: the adapter
 * locked with its hand-overs applied (st_adapter_lock_current), or their
 * consumer. False, nothing changed, when a unit's state cannot be stored
 * (S16.6).
 */
bool st_pause_apply(st_adapter *a, const st_pause_request *request);

/* The same above DISPATCH_LEVEL: handed over, without lock or allocation
 * (S16.9). ST_DONE, ST_NO_ADAPTER or ST_QUEUE_FULL. */
st_outcome st_pause_hand_over(const st_adapter_ref *ref, const st_pause_request *request);

/* The first pause to expire by `now`, if due: its deadline and order. */
bool st_pause_first_due(st_adapter *a, uint64_t now, uint64_t *at, uint64_t *order);

/* Ends the first pause to expire ("expired", S16.4), counting and logging
 * it. Adapter lock held. */
void st_pause_expire_first(st_adapter *a);

/* The first deadline of any pause in force, UINT64_MAX if none: when a
 * real-clock dispatcher must wake for it. Adapter lock held. */
uint64_t st_pause_wake_time(st_adapter *a);

/* Ends every pause with the reason "removal" (S16.10), logged on `clock`,
 * and frees the units' states. Adapter lock held. */
void st_pauses_end_all(st_adapter *a, void *extension, stortimer_clock *clock);

/* The state of the adapter's pause, or of a unit's (S17.6). Adapter lock
 * held. */
void st_pause_state_of(st_adapter *a, bool unit, uint32_t key, stortimer_pause_state *out);

#endif
