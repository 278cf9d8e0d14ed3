/*
 * stortimer.h - the host side of stortimer.
 *
 * On Windows, Storport creates adapters, tracks IRQL and owns the clock. Here
 * the host program (a test, a harness, a ported system) does, through this
 * API. Miniport code itself uses only storport.h. (SPEC S3, S10, S11)
 */
#ifndef STORTIMER_STORTIMER_H
#define STORTIMER_STORTIMER_H

#include "storport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Clocks (SPEC S11) ---- */

/*
 * A clock, in microseconds. NULL stands for the real clock, CLOCK_MONOTONIC,
 * which wall-clock changes never move. A virtual clock moves only when the
 * host advances it.
 */
typedef struct stortimer_clock stortimer_clock;

/* Creates a virtual clock reading 0 us. Returns NULL when memory is short. */
stortimer_clock *stortimer_clock_virtual_create(void);

/*
 * Destroys a virtual clock. Every adapter on it must have been removed first;
 * otherwise the call is reported and the clock is left alone. NULL is a no-op.
 */
void stortimer_clock_destroy(stortimer_clock *clock);

/* Reads a clock in microseconds; NULL reads the real monotonic clock. */
ULONGLONG stortimer_clock_now(const stortimer_clock *clock);

/*
 * Moves a virtual clock forward by `microseconds`, running every callback
 * that falls due, in order (SPEC S8), on the calling thread, before it
 * returns. The clock steps through the fire times: inside a callback it reads
 * that callback's fire time. Reported and ignored for the real clock and when
 * called from any timer callback (of any clock). Callbacks of an adapter
 * whose StartIo lock the calling thread holds (or another thread advancing
 * the same clock holds) cannot run; they run late, at a later advance. A callback's StallExecution may move the clock past the
 * target: callbacks due by then still run before the advance returns.
 */
void stortimer_clock_advance(stortimer_clock *clock, ULONGLONG microseconds);

/*
 * Binds the calling thread to a virtual clock (NULL: to the real clock), so
 * that StorPortStallExecution on it moves that clock (SPEC S9). Callbacks of
 * adapters on a virtual clock are bound to it while they run. Returns the
 * previous binding.
 */
stortimer_clock *stortimer_thread_bind_clock(stortimer_clock *clock);

/* ---- IRQL, per thread (SPEC S5.7, S8, S9) ---- */

/* The calling thread's emulated IRQL: PASSIVE_LEVEL on a new thread. */
KIRQL stortimer_irql_current(void);

/*
 * Raises the calling thread's IRQL to new_irql and returns the old one.
 * Raising to a lower level (or above HIGH_LEVEL) is a bug (it bugchecks on
 * Windows): the IRQL is left as it was, and reported when the thread was at or below
 * DISPATCH_LEVEL (above it, we may be in a signal handler, where reporting
 * is not safe). Async-signal-safe.
 */
KIRQL stortimer_irql_raise(KIRQL new_irql);

/*
 * Lowers the calling thread's IRQL back to old_irql (the value raise
 * returned). Lowering to a higher level is ignored, and reported under the
 * same rule as above. Async-signal-safe.
 */
void stortimer_irql_lower(KIRQL old_irql);

/* ---- Adapters (SPEC S3) ---- */

typedef struct stortimer_adapter_config {
    size_t extension_size;    /* bytes of zeroed HwDeviceExtension */
    ULONG max_timers;         /* 0: no limit (Windows 8+); 4: the older limit */
    BOOLEAN half_duplex;      /* 0: StorSynchronizeFullDuplex (default) */
    stortimer_clock *clock;   /* NULL: the real CLOCK_MONOTONIC clock */
} stortimer_adapter_config;

/*
 * Creates an adapter and stores its zeroed HwDeviceExtension in
 * *hw_device_extension. A NULL config means all defaults. Returns SUCCESS,
 * INVALID_PARAMETER (NULL out-pointer) or INSUFFICIENT_RESOURCES (memory,
 * an extension_size beyond 4 GiB - 1 (the WDK's ULONG limit), or the
 * dispatcher thread of a real-clock adapter could not be started).
 */
ULONG stortimer_adapter_create(const stortimer_adapter_config *config,
                               PVOID *hw_device_extension);

/*
 * Removes an adapter: cancels its pending timers, waits for a running
 * callback, frees the timers the miniport never freed (their count goes to
 * *leaked_timers, which may be NULL) and invalidates the extension and every
 * handle. Returns SUCCESS, INVALID_PARAMETER for an unknown extension, or
 * INVALID_DEVICE_STATE when called from one of the adapter's own callbacks or
 * by a thread that holds one of its locks (waiting would deadlock).
 */
ULONG stortimer_adapter_remove(PVOID hw_device_extension, ULONG *leaked_timers);

/* ---- Statistics and reports ---- */

typedef struct stortimer_stats {
    ULONGLONG timers_live;        /* initialized and not yet freed */
    ULONGLONG timers_initialized; /* StorPortInitializeTimer successes */
    ULONGLONG timers_freed;       /* StorPortFreeTimer successes */
    ULONGLONG timers_leaked;      /* freed by adapter removal instead */
    ULONGLONG armed;              /* successful arms, legacy timer included */
    ULONGLONG cancelled;          /* arms that ended without their callback */
    ULONGLONG busy;               /* STOR_STATUS_BUSY answers */
    ULONGLONG fired;              /* callbacks started */
    ULONGLONG legacy_armed;       /* RequestTimerCall arms */
    ULONGLONG legacy_fired;       /* HwStorTimer calls */
    ULONGLONG handed_over;        /* arms accepted above DISPATCH_LEVEL */
    ULONGLONG rejected;           /* calls answered with an error status */
    ULONGLONG notification_misuse;/* bad RequestTimerCall arguments (SPEC S7) */
    ULONGLONG lock_misuse;        /* recursive or wrong-IRQL lock use (S8) */
    ULONGLONG wakeups;            /* dispatcher wake-ups (real clock) */
    ULONGLONG lateness_max_us;    /* worst fire time past the due time */
    ULONGLONG lateness_total_us;  /* sum, for a mean over `fired` */
} stortimer_stats;

/*
 * Reads the statistics of one adapter, or with NULL the whole process (every
 * adapter ever created, plus misuse against unknown extensions). Returns
 * SUCCESS or INVALID_PARAMETER (unknown extension, NULL stats).
 */
ULONG stortimer_stats_read(PVOID hw_device_extension, stortimer_stats *stats);

/*
 * Where misuse reports go (a recursive StartIo lock, an advance from inside a
 * callback, ...): a function given one line of text, without newline. NULL
 * restores the default, which writes "stortimer: <text>" to stderr.
 */
typedef void stortimer_report_fn(const char *message, void *context);
void stortimer_set_report_handler(stortimer_report_fn *handler, void *context);

/* Text name of a STOR_STATUS_* value ("STOR_STATUS_BUSY"), or "unknown". */
const char *stortimer_status_name(ULONG status);

#ifdef __cplusplus
}
#endif

#endif /* STORTIMER_STORTIMER_H */
