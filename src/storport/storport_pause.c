/*
 * storport_pause.c - StorPortPause, StorPortResume, StorPortPauseDevice,
 * StorPortResumeDevice and the host's pause queries (SPEC S16, S17.6).
 *
 * A pause is a state with a deadline on the adapter's clock
 * (adapters/pause_ops.h). At or below DISPATCH_LEVEL a call takes effect
 * after every hand-over made before it; above, it is handed over, without
 * lock or allocation, in the order of the call (S16.9).
 */
#include "adapters/adapter_check.h"
#include "adapters/pause_ops.h"
#include "adapters/timer_ops.h"
#include "adapters/window.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "time/clock.h"

#include <errno.h>

/* A pause or resume answered FALSE: with the verifier on, a violation. */
static BOOLEAN refused(const void *caller, PVOID extension, const char *why)
{
    if (st_verifying())
        st_verify_finding(caller, "a pause or resume of %p answered FALSE: %s", extension, why);
    return FALSE;
}

/* Carries out a pause or resume of the adapter `extension` names. */
static BOOLEAN request(PVOID extension, st_pause_request *r, ULONG timeout, const void *caller)
{
    st_adapter_ref ref;
    if (!extension || !st_adapter_find(extension, &ref))                 /* S16.3 (1) */
        return refused(caller, extension, "not the extension of a live adapter");
    st_adapter *a = ref.adapter;
    /* The deadline counts from the call, never early (as a timer's, S5.4.1). */
    uint64_t now = st_clock_arm_time(st_adapter_clock(a));
    r->deadline = st_add_saturating(now, (uint64_t)timeout * 1000000u);
    r->order = st_adapter_take_order(a);
    if (st_self.irql > DISPATCH_LEVEL) {
        int saved_errno = errno;
        st_outcome outcome = st_pause_hand_over(&ref, r);          /* S16.9 */
        errno = saved_errno;
        if (outcome == ST_QUEUE_FULL)
            st_count_rejection(&a->stats, STOR_STATUS_INSUFFICIENT_RESOURCES);
        return outcome == ST_DONE ? TRUE : refused(caller, extension, "hand-over queue full");
    }
    if (!st_adapter_lock_current(&ref))
        return refused(caller, extension, "the adapter was removed meanwhile");
    bool done = st_pause_apply(a, r);
    st_adapter_unlock(a);
    if (!done) {
        st_count_rejection(&a->stats, STOR_STATUS_INSUFFICIENT_RESOURCES); /* S16.6 (3) */
        refused(caller, extension, "no memory for the unit's state");
    }
    st_adapter_check_or_abort(extension);
    return done;
}

BOOLEAN StorPortPause(PVOID HwDeviceExtension, ULONG Timeout)
{
    return request(HwDeviceExtension, &(st_pause_request){.resume = false}, Timeout, ST_CALLER);
}

BOOLEAN StorPortResume(PVOID HwDeviceExtension)
{
    return request(HwDeviceExtension, &(st_pause_request){.resume = true}, 0, ST_CALLER);
}

BOOLEAN StorPortPauseDevice(PVOID HwDeviceExtension, UCHAR PathId, UCHAR TargetId, UCHAR Lun,
                            ULONG Timeout)
{
    st_pause_request r = {.unit = true, .unit_key = st_unit_key(PathId, TargetId, Lun)};
    return request(HwDeviceExtension, &r, Timeout, ST_CALLER);
}

BOOLEAN StorPortResumeDevice(PVOID HwDeviceExtension, UCHAR PathId, UCHAR TargetId, UCHAR Lun)
{
    st_pause_request r = {.resume = true, .unit = true,
                          .unit_key = st_unit_key(PathId, TargetId, Lun)};
    return request(HwDeviceExtension, &r, 0, ST_CALLER);
}

/* ---- S17.6 ---- */

static ULONG state_of(PVOID extension, bool unit, uint32_t key, stortimer_pause_state *state)
{
    st_adapter_ref ref;
    if (!state || !extension || !st_adapter_find(extension, &ref) ||
        !st_adapter_lock_current(&ref))
        return STOR_STATUS_INVALID_PARAMETER;
    st_pause_state_of(ref.adapter, unit, key, state);
    st_adapter_unlock(ref.adapter);
    return STOR_STATUS_SUCCESS;
}

ULONG stortimer_adapter_pause_state(PVOID HwDeviceExtension, stortimer_pause_state *state)
{
    return state_of(HwDeviceExtension, false, 0, state);
}

ULONG stortimer_unit_pause_state(PVOID HwDeviceExtension, UCHAR PathId, UCHAR TargetId,
                                 UCHAR Lun, stortimer_pause_state *state)
{
    return state_of(HwDeviceExtension, true, st_unit_key(PathId, TargetId, Lun), state);
}
