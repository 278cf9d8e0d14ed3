/*
 * timer_ops.h - what an adapter does for each Storport timer routine:
 * initialize, arm, cancel and free a timer, and arm or cancel its legacy
 * timer (SPEC S4-S7).
 *
 * The Storport layer above checks arguments, chooses the path by IRQL and
 * turns an outcome into a status code; everything about wheels, shards,
 * arm words and waiting for callbacks happens here. Each action records
 * its event (events.h) and counts what the adapter's statistics count,
 * except rejections, which the caller counts with the status it answers.
 */
#ifndef STORTIMER_ADAPTERS_TIMER_OPS_H
#define STORTIMER_ADAPTERS_TIMER_OPS_H

#include "adapters/adapter.h"
#include "adapters/outcome.h"

/* The timer a request names, as found: a live handle's, or an adapter's
 * legacy timer. */
typedef struct st_target {
    st_adapter *adapter;
    st_owner owner;
    bool legacy;
    PVOID handle;                    /* the caller's (NULL: legacy), for the log */
} st_target;

/* A request's callback and context: what an arm queues, and what the log
 * says a cancel named (S12.1: it may differ from the armed one). */
typedef struct st_callback {
    PHW_TIMER_EX extended;
    PHW_TIMER legacy;
    PVOID context;
} st_callback;

/* Finds the live timer behind a handle of the adapter of `extension`,
 * reading only the library's own tables. False: not a live handle of it.
 * A free, a removal or a reuse racing this is caught later: by the arm
 * word's owner check, or under the shard lock (the adapter's `live`).
 * Inline: every StorPortRequestTimer starts here. */
static inline bool st_timer_find(const void *extension, PVOID handle, st_target *target)
{
    uint64_t issued;
    st_timer *t = st_registry_live_timer(st_handle_value(handle), &issued);
    if (!t)
        return false;
    st_adapter *a = st_adapter_of_owner(st_registry_owner(t));
    if (!a || st_adapter_extension(a) != extension)
        return false;
    *target = (st_target){.adapter = a, .owner = {t, issued, &a->orders}, .handle = handle};
    return true;
}

/* The legacy timer of the adapter `ref` found; false if it was removed
 * meanwhile. */
bool st_legacy_find(const st_adapter_ref *ref, st_target *target);

/* A new, idle timer of the adapter (S4.5); *handle receives its handle. */
st_outcome st_timer_initialize(const st_adapter_ref *ref, uint64_t *handle);

/*
 * Arms the target `value` us after `now` (the adapter's clock at the call),
 * with `tolerable_delay` as its window (S5.4): ST_BUSY if pending (S5.3)
 * unless it is the legacy timer, whose arm replaces a pending one (S7.1).
 */
st_outcome st_timer_arm(const st_target *target, st_path path, uint64_t now, uint64_t value,
                        uint64_t tolerable_delay, const st_callback *callback);

/* Cancels the target's pending arm, if any (S5.5, S7.1). */
st_outcome st_timer_cancel(const st_target *target, st_path path, const st_callback *callback);

/* Frees a timer of the adapter (S6.4): cancels it, and waits for its
 * running callback unless that would deadlock (S6.4.1). */
st_outcome st_timer_free(const st_adapter_ref *ref, PVOID handle);

/* Keeps the slot of a timer its own callback freed, now that the callback
 * returned (adapter lock held). */
void st_timer_reclaim(st_adapter *a, st_timer *t);

/* Applies what was handed over from above DISPATCH_LEVEL, in the order it
 * was made (adapter lock held): arms and cancels, and DPC issues and
 * pauses (dpc_ops.h, pause_ops.h). Every call below DISPATCH_LEVEL that
 * takes the adapter lock does, so they take effect shortly after their
 * call. */
void st_timer_apply_handovers(st_adapter *a);

/* Locks the adapter `ref` found and applies its hand-overs, so that what
 * follows takes effect after every request made before it (S16.9); false
 * if it is gone. */
bool st_adapter_lock_current(const st_adapter_ref *ref);

/* ---- an adapter's creation and removal (lifecycle.c) ---- */

/* A new adapter's timers: none, `max` at most; its legacy timer idle. */
void st_timers_open(st_adapter *a, uint32_t max);

/* What removal's visits of the adapter's timers need. */
typedef struct st_removal {
    st_adapter *adapter;
    void *extension;                 /* no longer in the adapter */
    stortimer_clock *clock;          /* detached from the adapter midway */
} st_removal;

/* Cancels every pending arm of the adapter, counting and logging each, and
 * empties its wheels. Adapter lock held. */
void st_timers_cancel_all(const st_removal *removal);

/* Frees the timers the miniport never freed and returns how many; ends the
 * legacy timer's last arm. Adapter lock held, after st_timers_cancel_all. */
ULONG st_timers_free_all(const st_removal *removal);

#endif
