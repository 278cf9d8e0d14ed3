/*
 * shutdown_cancel_free.h - stopping every timer of an adapter, the way a
 * miniport's HwAdapterControl(ScsiStopAdapter) path does: first cancel them
 * all under the StartIo lock, then free them one by one.
 *
 * Why both, and in that order:
 *  - Holding the StartIo lock, no callback of the adapter is running, and
 *    none can start (SPEC S8.1). Cancelling (TimerValue 0) every timer there,
 *    and the legacy timer (RequestTimerCall, 0), stops them all at one
 *    instant: no callback can run in between and re-arm a timer already
 *    dealt with, or use state another part of the stop has released.
 *  - Released, nothing is pending and nothing can re-arm (interrupts are
 *    masked and Storport sends no more I/O). StorPortFreeTimer then returns
 *    with the callback not running and never to run (S6.4.1), so the
 *    miniport may release what the callbacks used as soon as this returns.
 *
 * The table holds where the miniport keeps each handle, not a copy: a timer
 * that freed itself (the surprise-removal watchdog) has set its slot to
 * NULL, and is neither cancelled nor freed twice.
 */
#ifndef STORTIMER_EXAMPLE_SHUTDOWN_CANCEL_FREE_H
#define STORTIMER_EXAMPLE_SHUTDOWN_CANCEL_FREE_H

#include "storport.h"

#define SHUTDOWN_MAX_TIMERS 16

typedef struct _SHUTDOWN_TIMER {
    PVOID *Handle;              /* the miniport's own slot; NULL inside once freed */
    PHW_TIMER_EX Callback;      /* StorPortRequestTimer wants it even to cancel */
} SHUTDOWN_TIMER;

typedef struct _SHUTDOWN_TIMERS {
    SHUTDOWN_TIMER Timers[SHUTDOWN_MAX_TIMERS];
    ULONG Count;
    PHW_TIMER HwStorTimer;      /* the legacy timer's routine; NULL if unused */
    BOOLEAN Stopped;            /* set under the StartIo lock: HwStartIo refuses after it */
    ULONG Cancelled;            /* cancels made by the stop (legacy included) */
    ULONG Freed;                /* StorPortFreeTimer successes by the stop */
    ULONG FreeFailures;         /* and failures (a handle freed behind the table's back) */
} SHUTDOWN_TIMERS, *PSHUTDOWN_TIMERS;

/* Records a timer to stop. FALSE when the table is full. */
BOOLEAN ShutdownTrackTimer(PSHUTDOWN_TIMERS Table, PVOID *Handle, PHW_TIMER_EX Callback);

/* Records the routine the miniport arms the legacy timer with. */
VOID ShutdownTrackLegacyTimer(PSHUTDOWN_TIMERS Table, PHW_TIMER HwStorTimer);

/*
 * Cancels every tracked timer under the StartIo lock, then frees each one
 * and clears its slot. Call at IRQL <= DISPATCH_LEVEL, not holding the
 * StartIo lock and not from a timer callback (the frees could not wait).
 * When it returns no callback of these timers is running or will run.
 * Returns how many timers it freed.
 */
ULONG ShutdownStopAdapterTimers(PVOID DeviceExtension, PSHUTDOWN_TIMERS Table);

#endif
