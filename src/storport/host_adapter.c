/*
 * host_adapter.c - what Storport does for an HBA, done for the host:
 * stortimer_adapter_create, stortimer_adapter_remove and
 * stortimer_adapter_interrupt (SPEC S3, S10).
 *
 * An adapter is made in the adapters layer, given its runner by the time
 * layer (a dispatcher thread on the real clock, a place on its virtual
 * clock), and only then published; removal undoes it in the reverse order.
 */
#include "adapters/events.h"
#include "adapters/lifecycle.h"
#include "observe/event_log.h"
#include "observe/trace.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "storport/verify_sites.h"
#include "time/clock.h"
#include "time/dispatcher.h"
#include "time/views.h"

/* Keeps the trace export, and with it STORTIMER_TRACE, in every program
 * linked with the static library: every program that uses the library
 * creates an adapter (observe/trace.h). */
__attribute__((used)) static void (*const keep_trace_from_environment)(void) =
    st_trace_from_environment;

/* At exit, with the verifier on: adapters never removed are leaks. */
static void report_live_adapters(void)
{
    stortimer_stats s;
    if (stortimer_stats_read(NULL, &s) == STOR_STATUS_SUCCESS && s.adapters_live)
        st_verify_finding(NULL, "%llu adapter(s) still alive at exit: never removed",
                          (unsigned long long)s.adapters_live);
}

ULONG stortimer_adapter_create(const stortimer_adapter_config *config,
                               PVOID *hw_device_extension)
{
    if (st_verifying())
        st_verify_at_exit(report_live_adapters);
    static const stortimer_adapter_config defaults;
    if (!hw_device_extension)
        return STOR_STATUS_INVALID_PARAMETER;
    *hw_device_extension = NULL;
    if (!config)
        config = &defaults;
    if (!config->clock)
        st_real_time_scale_fix(); /* its dispatcher reads the real clock (S17.4) */
    void *extension;
    st_adapter *a = st_adapter_open(config, stortimer_clock_now(config->clock), &extension);
    if (!a)
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    bool running = config->clock ? st_clock_attach(config->clock, a) : st_dispatcher_start(a);
    if (!running) {
        st_adapter_discard(a, extension);
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    }
    st_adapter_publish(a, extension);
    *hw_device_extension = extension;
    return STOR_STATUS_SUCCESS;
}

/* A removal refused: recorded while the log is on; one that would deadlock
 * on Windows is reported; with the verifier on, each is a violation. */
static ULONG refuse_removal(PVOID extension, ULONG status, const char *why, const void *caller)
{
    if (st_logging())
        st_log_rejected(status, extension, NULL, false);
    if (status == STOR_STATUS_INVALID_DEVICE_STATE && st_self.irql <= DISPATCH_LEVEL)
        st_report("stortimer_adapter_remove(%p): %s (not removed)", extension, why);
    if (st_verifying())
        st_verify_finding(caller, "stortimer_adapter_remove(%p) answered %s: %s", extension,
                          stortimer_status_name(status), why);
    return status;
}

ULONG stortimer_adapter_remove(PVOID hw_device_extension, ULONG *leaked_timers)
{
    const void *caller = ST_CALLER;
    st_adapter_ref ref;
    if (!st_adapter_find(hw_device_extension, &ref))                      /* S3.1 */
        return refuse_removal(hw_device_extension, STOR_STATUS_INVALID_PARAMETER,
                              "not the extension of a live adapter", caller);
    st_adapter *a = ref.adapter;
    /* Waiting for its callbacks from one of them, or while holding a lock
     * they take, would never end. */
    if (st_self.callback_adapter == a || st_adapter_lock_held_by_me(a))
        return refuse_removal(hw_device_extension, STOR_STATUS_INVALID_DEVICE_STATE,
                              st_self.callback_adapter == a
                                  ? "called from one of its own callbacks or DPC routines "
                                    "(a deadlock on Windows)"
                                  : "the thread holds one of its locks (a deadlock)",
                              caller);
    if (st_verifying())
        st_sites_report_leaks(hw_device_extension);
    st_removal removal;
    if (!st_adapter_close_begin(&ref, &removal))
        return STOR_STATUS_INVALID_PARAMETER; /* removed meanwhile */
    if (removal.clock)
        st_clock_detach(removal.clock, a);
    else
        st_dispatcher_stop(a);
    ULONG leaked = st_adapter_close_end(&removal);
    if (leaked_timers)
        *leaked_timers = leaked;
    return STOR_STATUS_SUCCESS;
}

/* An interrupt call refused: with the verifier on, a violation. */
static ULONG refuse_interrupt(PVOID extension, ULONG status, const char *why, const void *caller)
{
    if (st_verifying())
        st_verify_finding(caller, "stortimer_adapter_interrupt(%p) answered %s: %s", extension,
                          stortimer_status_name(status), why);
    return status;
}

ULONG stortimer_adapter_interrupt(PVOID hw_device_extension, PHW_INTERRUPT interrupt_routine,
                                  BOOLEAN *claimed)
{
    const void *caller = ST_CALLER;
    if (claimed)
        *claimed = FALSE;
    st_adapter_ref ref;
    if (!st_adapter_find(hw_device_extension, &ref) || !interrupt_routine)
        return refuse_interrupt(hw_device_extension, STOR_STATUS_INVALID_PARAMETER,
                                "an unknown extension or a NULL routine", caller);
    KIRQL level;
    st_lock *interrupt = st_adapter_spin_lock(ref.adapter, InterruptLock, &level);
    /* Checked here, not left to the acquire, which would only report. */
    if (st_self.irql > level || st_lock_held_by_me(interrupt))
        return refuse_interrupt(hw_device_extension, STOR_STATUS_INVALID_DEVICE_STATE,
                                "the thread holds its InterruptLock or runs above its level",
                                caller);
    STOR_LOCK_HANDLE handle;
    StorPortAcquireSpinLock(hw_device_extension, InterruptLock, NULL, &handle);
    if (!handle.Context.LockObject)
        return refuse_interrupt(hw_device_extension, STOR_STATUS_INVALID_PARAMETER,
                                "removed meanwhile", caller);
    BOOLEAN mine = interrupt_routine(hw_device_extension);
    StorPortReleaseSpinLock(hw_device_extension, &handle);
    if (claimed)
        *claimed = mine;
    return STOR_STATUS_SUCCESS;
}
