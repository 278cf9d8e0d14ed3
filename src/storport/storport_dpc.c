/*
 * storport_dpc.c - StorPortInitializeDpc and StorPortIssueDpc (SPEC S14).
 *
 * A thin checking layer over adapters/dpc_ops.h: checks in the order S14.3
 * and S14.4 give, the path chosen by IRQL (S14.5), every refusal counted
 * (against the adapter when the call named a live one) and recorded, and
 * reported at or below DISPATCH_LEVEL (above it we may be in a signal
 * handler, where printing is not safe).
 */
#include "storport/storport_dpc.h"

#include "adapters/adapter_check.h"
#include "adapters/dpc_ops.h"
#include "adapters/events.h"
#include "adapters/timer_ops.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "time/clock.h"

#include <errno.h>

static const char *refusal_text(ULONG reason)
{
    switch (reason) {
    case STORTIMER_DPC_REFUSED_IRQL: return "called above DISPATCH_LEVEL";
    case STORTIMER_DPC_REFUSED_ARGUMENT:
        return "a NULL argument, or not the extension of a live adapter";
    case STORTIMER_DPC_REFUSED_FOREIGN: return "the STOR_DPC is a DPC of another adapter";
    case STORTIMER_DPC_REFUSED_BUSY:
        return "the DPC is queued or its routine runs (re-initializing it would corrupt "
               "the DPC queue on Windows)";
    case STORTIMER_DPC_REFUSED_RESOURCES: return "not enough memory";
    default: return "refused";
    }
}

/* Counts, records and (at or below DISPATCH_LEVEL) reports a refusal. */
static void refuse(const char *routine, st_adapter *a, PVOID extension, PSTOR_DPC dpc,
                   ULONG reason, bool initialize, const void *caller)
{
    if (st_verifying())
        st_verify_finding(caller, "%s(%p, %p) refused: %s", routine, extension, (void *)dpc,
                          refusal_text(reason));
    st_counters *c = st_adapter_counters(a);
    if (initialize)
        ST_COUNT(c, dpc_init_refused, 1);
    else
        ST_COUNT(c, dpc_issue_refused, 1);
    if (reason == STORTIMER_DPC_REFUSED_RESOURCES)
        st_count_rejection(c, STOR_STATUS_INSUFFICIENT_RESOURCES);
    ST_LOG(a, .type = STORTIMER_EVENT_DPC_REFUSED, .status = reason, .extension = extension,
           .dpc = dpc);
    if (st_self.irql <= DISPATCH_LEVEL && reason != STORTIMER_DPC_REFUSED_RESOURCES)
        st_report("%s(%p, %p): %s (%s)", routine, extension, (void *)dpc, refusal_text(reason),
                  initialize ? "nothing changed" : "FALSE");
}

/* ---- S14.3 ---- */

VOID StorPortInitializeDpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PHW_DPC_ROUTINE HwDpcRoutine)
{
    st_initialize_dpc(DeviceExtension, Dpc, HwDpcRoutine, ST_CALLER);
}

void st_initialize_dpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PHW_DPC_ROUTINE HwDpcRoutine,
                       const void *caller)
{
    static const char routine[] = "StorPortInitializeDpc";
    st_adapter_ref ref;
    bool live = DeviceExtension && st_adapter_find(DeviceExtension, &ref);
    st_adapter *a = live ? ref.adapter : NULL;
    if (st_self.irql > DISPATCH_LEVEL) {
        refuse(routine, a, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_IRQL, true, caller);
        return;                                                           /* S14.3 (1) */
    }
    if (!live || !Dpc || !HwDpcRoutine) {
        refuse(routine, a, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_ARGUMENT, true, caller);
        return;                                                           /* S14.3 (2) */
    }
    /* Hand-overs made before the call take effect first (S16.9), as at
     * every call at or below DISPATCH_LEVEL that names an adapter; the
     * checks below look at other adapters, so not under this one's lock. */
    if (st_adapter_lock_current(&ref))
        st_adapter_unlock(ref.adapter);
    ULONG reason = 0;
    switch (st_dpc_initialize(&ref, Dpc, HwDpcRoutine)) {
    case ST_DONE: break;                                                  /* S14.3 (6) */
    case ST_FOREIGN: reason = STORTIMER_DPC_REFUSED_FOREIGN; break;       /* S14.3 (3) */
    case ST_BUSY: reason = STORTIMER_DPC_REFUSED_BUSY; break;             /* S14.3 (4) */
    case ST_NO_MEMORY: reason = STORTIMER_DPC_REFUSED_RESOURCES; break;   /* S14.3 (5) */
    default: a = NULL, reason = STORTIMER_DPC_REFUSED_ARGUMENT; break;    /* removed */
    }
    if (reason)
        refuse(routine, a, DeviceExtension, Dpc, reason, true, caller);
    st_adapter_check_or_abort(DeviceExtension);
}

/* ---- S14.4, S14.5 ---- */

/* The issue at or below DISPATCH_LEVEL: after every hand-over made before
 * it (S16.9), under the adapter lock. */
static st_outcome issue_locked(const st_adapter_ref *ref, PSTOR_DPC dpc, PVOID argument1,
                               PVOID argument2, uint64_t now)
{
    if (!st_adapter_lock_current(ref))
        return ST_NO_ADAPTER;
    st_outcome outcome = st_dpc_issue_locked(ref->adapter, dpc, argument1, argument2, now);
    st_adapter_unlock(ref->adapter);
    if (outcome == ST_DONE)
        st_dpc_wake_runner(ref->adapter, now);
    return outcome;
}

BOOLEAN st_issue_dpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PVOID SystemArgument1,
                     PVOID SystemArgument2, const void *caller)
{
    static const char routine[] = "StorPortIssueDpc";
    st_adapter_ref ref;
    if (!DeviceExtension || !Dpc || !st_adapter_find(DeviceExtension, &ref)) {
        refuse(routine, NULL, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_ARGUMENT, false, caller);
        return FALSE;                                                  /* S14.4 (1)-2 */
    }
    st_adapter *a = ref.adapter;
    uint64_t now = stortimer_clock_now(st_adapter_clock(a)); /* a DPC is due at its issue */
    bool above = st_self.irql > DISPATCH_LEVEL;
    int saved_errno = errno; /* a signal handler must leave errno as found */
    st_outcome outcome =
        above ? st_dpc_issue_handed_over(&ref, Dpc, SystemArgument1, SystemArgument2, now)
              : issue_locked(&ref, Dpc, SystemArgument1, SystemArgument2, now);
    errno = saved_errno;
    switch (outcome) {
    case ST_DONE: break;                                                  /* S14.4 (5) */
    case ST_BUSY: return FALSE;                      /* S14.4 (4): counted as queued */
    case ST_NOT_HERE:
        refuse(routine, a, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_ARGUMENT, false, caller);
        return FALSE;                                                   /* S14.4 (2) */
    case ST_QUEUE_FULL:
        refuse(routine, a, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_RESOURCES, false, caller);
        return FALSE;                                                     /* S14.5 */
    default:
        refuse(routine, NULL, DeviceExtension, Dpc, STORTIMER_DPC_REFUSED_REMOVAL, false, caller);
        return FALSE;                                                   /* S14.4 (3) */
    }
    if (!above)
        st_adapter_check_or_abort(DeviceExtension);
    return TRUE;
}

BOOLEAN StorPortIssueDpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PVOID SystemArgument1,
                         PVOID SystemArgument2)
{
    return st_issue_dpc(DeviceExtension, Dpc, SystemArgument1, SystemArgument2, ST_CALLER);
}
