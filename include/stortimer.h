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

#include <stdio.h>

/* What the shared library exports; everything else in it is hidden. */
#ifndef STORTIMER_API
#if defined(__GNUC__)
#define STORTIMER_API __attribute__((visibility("default")))
#else
#define STORTIMER_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version (semantic versioning: README, CHANGELOG.md) ---- */

/* The version of these headers. Before 1.0.0, a minor version may change
 * the API or ABI; from 1.0.0 on, only a major version does. */
#define STORTIMER_VERSION_MAJOR 0
#define STORTIMER_VERSION_MINOR 2
#define STORTIMER_VERSION_PATCH 0
#define STORTIMER_VERSION_STRING "0.2.0"
/* major * 10000 + minor * 100 + patch, for #if comparisons. */
#define STORTIMER_VERSION_NUMBER                                               \
    (STORTIMER_VERSION_MAJOR * 10000 + STORTIMER_VERSION_MINOR * 100 +           \
     STORTIMER_VERSION_PATCH)

/* The version of the library linked at run time, "0.1.0": may differ from
 * STORTIMER_VERSION_STRING when a program runs against a newer shared
 * library. */
STORTIMER_API const char *stortimer_version(void);

/* The same as a number, as STORTIMER_VERSION_NUMBER computes it. */
STORTIMER_API unsigned stortimer_version_number(void);

/* ---- Clocks (SPEC S11) ---- */

/*
 * A clock, in microseconds. NULL stands for the real clock, CLOCK_MONOTONIC,
 * which wall-clock changes never move. A virtual clock moves only when the
 * host advances it.
 */
typedef struct stortimer_clock stortimer_clock;

/* Creates a virtual clock reading 0 us. Returns NULL when memory is short. */
STORTIMER_API stortimer_clock *stortimer_clock_virtual_create(void);

/*
 * Destroys a virtual clock. Every adapter on it must have been removed first;
 * otherwise the call is reported and the clock is left alone. NULL is a no-op.
 */
STORTIMER_API void stortimer_clock_destroy(stortimer_clock *clock);

/* Reads a clock in microseconds; NULL reads the real monotonic clock. */
STORTIMER_API ULONGLONG stortimer_clock_now(const stortimer_clock *clock);

/*
 * Moves a virtual clock forward by `microseconds`, running every callback
 * that falls due, in order (SPEC S8.4), on the calling thread, before it
 * returns. The clock steps through the fire times: inside a callback it reads
 * that callback's fire time. Reported and ignored for the real clock and when
 * called from any timer callback (of any clock). Callbacks of an adapter
 * whose StartIo lock the calling thread holds (or another thread advancing
 * the same clock holds) cannot run; they run late, at a later advance: a
 * host may advance while holding an adapter's locks, to let time pass while
 * they are held. A callback's StallExecution may move the clock past the
 * target: the callbacks due by the clock's reading once those due by the
 * target have run still run before the advance returns (late, SPEC S9.3);
 * stalls made by those do not extend the advance further. At the clock's
 * last microsecond (2^64 - 1), where every arm is due at once, an arm made
 * by a callback waits for the next advance.
 *
 * DPC routines and pause expiries run in the same (due time, order) order
 * (SPEC S14.8, S16.4); a DPC issued outside an advance runs at the next one,
 * an advance by 0 included (S14.10). DPCs are not held back by a StartIo
 * lock the thread holds (S14.9). Runaway guard (S14.11): after 65,536 DPC
 * starts at one clock reading, the advance is reported and returns there,
 * leaving the clock at that reading and the DPCs still queued for the next.
 */
STORTIMER_API void stortimer_clock_advance(stortimer_clock *clock, ULONGLONG microseconds);

/*
 * Binds the calling thread to a virtual clock (NULL: to the real clock), so
 * that StorPortStallExecution on it moves that clock (SPEC S9.3). Callbacks of
 * adapters on a virtual clock are bound to it while they run. Returns the
 * previous binding.
 */
STORTIMER_API stortimer_clock *stortimer_thread_bind_clock(stortimer_clock *clock);

/* ---- The four views of the time (SPEC S13, S17.4) ---- */

/* Everything one reading of a clock says, as the miniport's queries see it. */
typedef struct stortimer_time_views {
    ULONGLONG now_us;                /* the reading t, in microseconds */
    LONGLONG system_time;            /* B + 10 * T * floor(t / T), 100-ns units since 1601 */
    LONGLONG tick_count;             /* floor(t / T) */
    LONGLONG performance_counter;    /* 10 * t (counts of 100 ns) */
    LONGLONG performance_frequency;  /* 10,000,000 */
    ULONG tick_us;                   /* T */
    ULONG timer_min_interval;        /* 10 * T, 100-ns units */
} stortimer_time_views;

/* The default tick (10 ms) and a virtual clock's default system time at
 * its reading 0: 2000-01-01T00:00:00Z. */
#define STORTIMER_DEFAULT_TICK_US 10000u
#define STORTIMER_VIRTUAL_EPOCH_100NS 125911584000000000LL

/*
 * Sets the tick T (1..429,496,729 us) of a virtual clock before its first
 * advance (any advance, by 0 included, or a stall that moves it), or with
 * NULL of the real clock before its first reading (an arm on a real-clock
 * adapter, a real-clock adapter's creation, a time query). Returns SUCCESS,
 * INVALID_PARAMETER (tick out of range, not a live clock) or
 * INVALID_DEVICE_STATE (too late), checked in that order. (SPEC S17.4)
 */
STORTIMER_API ULONG stortimer_clock_set_tick(stortimer_clock *clock, ULONG tick_us);

/*
 * Sets the system-time base B (100-ns units since 1601, >= 0) of a virtual
 * clock before its first advance: the system time its reading 0 shows.
 * Returns SUCCESS, INVALID_PARAMETER (NULL or real clock, not a live clock,
 * negative base) or INVALID_DEVICE_STATE (too late). (SPEC S17.4)
 */
STORTIMER_API ULONG stortimer_clock_set_system_time(stortimer_clock *clock,
                                                    LONGLONG base_100ns);

/*
 * Fills *views from one reading of `clock` (NULL: the real clock), so a
 * test can compare what the miniport saw. Returns SUCCESS or
 * INVALID_PARAMETER (NULL views, not a live clock). (SPEC S17.4)
 */
STORTIMER_API ULONG stortimer_clock_read_times(stortimer_clock *clock,
                                               stortimer_time_views *views);

/* ---- Driving virtual time (a test harness's view, SPEC S11) ---- */

/*
 * The earliest fire time (absolute, in microseconds) of any timer pending on
 * a virtual clock, whatever adapter it belongs to, in *fire_time. Returns
 * FALSE, leaving *fire_time alone, when nothing is pending; also for the
 * real clock (reported) and a NULL fire_time. Arms handed over from above
 * DISPATCH_LEVEL (SPEC S5.7) count as pending, and so do queued DPCs, at
 * their issue time (S14.10); pause expiries do not (S16.4). A timer with a window fires
 * at the time chosen inside it, which this returns. Timers of adapters whose
 * StartIo lock the calling thread holds are left out: their callbacks
 * cannot run until it is released. However far ahead it looks, it costs
 * later arms nothing.
 */
STORTIMER_API BOOLEAN stortimer_clock_next_fire(stortimer_clock *clock, ULONGLONG *fire_time);

/*
 * Moves a virtual clock forward to the absolute time `time`, running every
 * callback that falls due, as stortimer_clock_advance does. A time at or
 * before the clock's reading changes nothing. Same restrictions as
 * stortimer_clock_advance (not from a callback, not the real clock).
 */
STORTIMER_API void stortimer_clock_advance_to(stortimer_clock *clock, ULONGLONG time);

/*
 * Moves a virtual clock to its next fire time (stortimer_clock_next_fire)
 * and runs the callbacks due then (one fire time: those they arm for later
 * do not run). Returns FALSE, doing nothing, when next_fire finds nothing,
 * or in the cases stortimer_clock_advance refuses (reported).
 */
STORTIMER_API BOOLEAN stortimer_clock_advance_to_next(stortimer_clock *clock);

/*
 * Runs a virtual clock from fire time to fire time until no timer on it is
 * pending, but no further than `limit_us` past its reading at the call: a
 * periodic timer is never idle. Returns
 *   STOR_STATUS_SUCCESS when nothing is pending any more; the clock then
 *     reads the last fire time it ran (or its reading at the call);
 *   STOR_STATUS_BUSY when timers are still pending at the limit; the clock
 *     then reads the limit, and everything due by it has run; also when
 *     the DPC runaway guard stopped it (S14.11), the clock where it stopped;
 *   STOR_STATUS_INVALID_PARAMETER for the real clock (NULL);
 *   STOR_STATUS_INVALID_DEVICE_STATE from a timer callback (reported,
 *     nothing runs), or when the only pending
 *     timers belong to adapters whose StartIo lock the calling thread holds
 *     (they could not run; the clock then reads the limit).
 * Callbacks that stall are handled as in stortimer_clock_advance.
 */
STORTIMER_API ULONG stortimer_clock_run_until_idle(stortimer_clock *clock, ULONGLONG limit_us);

/*
 * Calls a miniport's interrupt routine the way Storport calls HwStorInterrupt:
 * on the calling thread, at the adapter's device IRQL (STOR_DEVICE_LEVEL),
 * holding its InterruptLock (in half-duplex mode that is the StartIo lock,
 * so the routine never overlaps a timer callback). The routine's answer
 * ("was it my interrupt?") goes to *claimed, which may be NULL. Returns
 * SUCCESS; INVALID_PARAMETER for an unknown extension or a NULL routine;
 * INVALID_DEVICE_STATE when the thread already holds that lock or runs above
 * the device level (it would deadlock, or bugcheck, on Windows).
 */
STORTIMER_API ULONG stortimer_adapter_interrupt(PVOID hw_device_extension,
                                                PHW_INTERRUPT interrupt_routine,
                                                BOOLEAN *claimed);

/* ---- Pauses (SPEC S16, S17.6) ---- */

/* How a pause ended (stortimer_pause_state.last_end, and the `status` of a
 * PAUSE_ENDED event). */
#define STORTIMER_PAUSE_END_NONE 0u      /* it never ended (or never began) */
#define STORTIMER_PAUSE_END_RESUMED 1u   /* StorPortResume / ResumeDevice */
#define STORTIMER_PAUSE_END_EXPIRED 2u   /* its Timeout ran out */
#define STORTIMER_PAUSE_END_REMOVAL 3u   /* stortimer_adapter_remove (event log only) */

typedef struct stortimer_pause_state {
    BOOLEAN paused;      /* the adapter (or unit) itself is paused */
    BOOLEAN held;        /* unit: it or its adapter is paused; adapter: = paused */
    ULONGLONG until_us;  /* the deadline on the adapter's clock, while paused */
    ULONG last_end;      /* STORTIMER_PAUSE_END_* of its last pause */
} stortimer_pause_state;

/*
 * The pause state of an adapter, or of its unit (PathId, TargetId, Lun).
 * Returns SUCCESS or INVALID_PARAMETER (NULL state, unknown extension).
 * Callable at or below DISPATCH_LEVEL, from callbacks and DPC routines
 * too; a Pause or Resume made above DISPATCH_LEVEL shows once its hand-over
 * has taken effect. (SPEC S17.6)
 */
STORTIMER_API ULONG stortimer_adapter_pause_state(PVOID HwDeviceExtension,
                                                  stortimer_pause_state *state);
STORTIMER_API ULONG stortimer_unit_pause_state(PVOID HwDeviceExtension, UCHAR PathId,
                                               UCHAR TargetId, UCHAR Lun,
                                               stortimer_pause_state *state);

/* ---- IRQL, per thread (SPEC S5.7, S8.1, S9.1) ---- */

/* The calling thread's emulated IRQL: PASSIVE_LEVEL on a new thread. */
STORTIMER_API KIRQL stortimer_irql_current(void);

/*
 * Raises the calling thread's IRQL to new_irql and returns the old one.
 * Raising to a lower level (or above HIGH_LEVEL) is a bug (it bugchecks on
 * Windows): the IRQL is left as it was, and reported when the thread was at or below
 * DISPATCH_LEVEL (above it, we may be in a signal handler, where reporting
 * is not safe). Async-signal-safe.
 */
STORTIMER_API KIRQL stortimer_irql_raise(KIRQL new_irql);

/*
 * Lowers the calling thread's IRQL back to old_irql (the value raise
 * returned). Lowering to a higher level is ignored, and reported under the
 * same rule as above. Async-signal-safe.
 */
STORTIMER_API void stortimer_irql_lower(KIRQL old_irql);

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
STORTIMER_API ULONG stortimer_adapter_create(const stortimer_adapter_config *config,
                                             PVOID *hw_device_extension);

/*
 * Removes an adapter: cancels its pending timers, waits for a running
 * callback, frees the timers the miniport never freed (their count goes to
 * *leaked_timers, which may be NULL) and invalidates the extension and every
 * handle. It also waits for the requests made above DISPATCH_LEVEL that are
 * under way on the adapter (lock-free and short), so that what they did
 * is counted in its statistics. Returns SUCCESS, INVALID_PARAMETER for an unknown extension, or
 * INVALID_DEVICE_STATE when called from one of the adapter's own callbacks or
 * by a thread that holds one of its locks (waiting would deadlock).
 */
STORTIMER_API ULONG stortimer_adapter_remove(PVOID hw_device_extension, ULONG *leaked_timers);

/* ---- Statistics (per adapter and for the process) ---- */

/*
 * Buckets of the lateness histogram: bucket 0 counts callbacks that started
 * at their due time exactly, bucket i (1..21) those that started 2^(i-1) to
 * 2^i - 1 microseconds after it, and the last bucket those 2^21 us (about
 * 2.1 s) late or more. Lateness is counted from the due time (call time +
 * TimerValue), as the miniport sees it: a callback fired inside its
 * TolerableDelay window counts the part of the window it used. (The event
 * log's FIRED events carry due and fire times, for finer questions.)
 */
#define STORTIMER_LATENESS_BUCKETS 23

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
    ULONGLONG notification_misuse;/* bad RequestTimerCall arguments (SPEC S7.5) */
    ULONGLONG lock_misuse;        /* recursive or wrong-IRQL lock use (S8.3) */
    ULONGLONG wakeups;            /* dispatcher wake-ups from a sleep (real clock),
                                     idle_wakeups included */
    ULONGLONG lateness_max_us;    /* worst fire time past the due time */
    ULONGLONG lateness_total_us;  /* sum, for a mean over `fired` */
    /* Added with the toolkit: */
    ULONGLONG timers_pending;     /* armed now: armed - fired - cancelled */
    /* `rejected`, by the status answered: */
    ULONGLONG rejected_invalid_parameter;
    ULONGLONG rejected_invalid_irql;
    ULONGLONG rejected_unsuccessful;           /* double free, max_timers */
    ULONGLONG rejected_insufficient_resources; /* memory, hand-over queue */
    ULONGLONG adapters_live;      /* process totals only: adapters not removed */
    ULONGLONG adapters_created;   /* process totals only */
    ULONGLONG lateness_histogram[STORTIMER_LATENESS_BUCKETS];
    /* Added with DPCs, synchronized routines and pauses (S17.8): */
    ULONGLONG dpcs_initialized;   /* StorPortInitializeDpc that took effect */
    ULONGLONG dpc_init_refused;   /* refused initializes (S14.3) */
    ULONGLONG dpcs_issued;        /* StorPortIssueDpc answered TRUE */
    ULONGLONG dpcs_already_queued;/* answered FALSE: queued already (S14.4) */
    ULONGLONG dpc_issue_refused;  /* answered FALSE for any other reason */
    ULONGLONG dpcs_started;       /* DPC routines started */
    ULONGLONG dpcs_returned;      /* and returned */
    ULONGLONG dpcs_dropped;       /* queued, dropped by removal (S14.13) */
    ULONGLONG dpc_runaway_stops;  /* advances stopped by the guard (S14.11) */
    ULONGLONG dpc_lateness_max_us;   /* start - issue, worst */
    ULONGLONG dpc_lateness_total_us; /* sum, for a mean over dpcs_started */
    ULONGLONG dpc_lateness_histogram[STORTIMER_LATENESS_BUCKETS];
    ULONGLONG synchronized_calls; /* StorPortSynchronizeAccess that ran the routine */
    /* Pauses (S16.11): the adapter's own, then the same for its units. A
     * Pause that only pushes the deadline later counts too. */
    ULONGLONG pauses;             /* StorPortPause calls that took effect */
    ULONGLONG resumes;            /* StorPortResume that ended a pause */
    ULONGLONG resumes_unpaused;   /* StorPortResume that found no pause */
    ULONGLONG pause_expiries;     /* adapter pauses ended by their Timeout */
    ULONGLONG unit_pauses;        /* the same for StorPortPauseDevice, ... */
    ULONGLONG unit_resumes;
    ULONGLONG unit_resumes_unpaused;
    ULONGLONG unit_pause_expiries;
    ULONGLONG long_stalls;        /* StorPortStallExecution of 1,000 us or more (S17.2) */
    ULONGLONG time_query_misuse;  /* StorPortQuerySystemTime(NULL) (S13.6) */
    /* Added with idle wake-ups: */
    ULONGLONG idle_wakeups;       /* of `wakeups`, those that found nothing due
                                     (no callback, DPC or pause expiry) */
} stortimer_stats;

/*
 * Reads the statistics of one adapter, or with NULL the whole process (every
 * adapter ever created, plus misuse against unknown extensions). Returns
 * SUCCESS or INVALID_PARAMETER (unknown extension, NULL stats). Counters are
 * read one by one while timers may run: a reading taken while calls are in
 * flight may be off by those calls.
 */
STORTIMER_API ULONG stortimer_stats_read(PVOID hw_device_extension, stortimer_stats *stats);

/*
 * Writes statistics readably to `out` (NULL: stdout): one adapter's, or with
 * NULL the process totals followed by every live adapter's. Returns SUCCESS,
 * INVALID_PARAMETER (unknown extension) or UNSUCCESSFUL (a write failed).
 */
STORTIMER_API ULONG stortimer_stats_print(PVOID hw_device_extension, FILE *out);

/* ---- Event log (off by default) ---- */

/*
 * What the library did, in the order it did it, for a test to read back:
 * "the watchdog fired at t = 1 s, the I/O timer was cancelled before it".
 * Recording is off until stortimer_log_start (or STORTIMER_TRACE, below);
 * while off, each place that could record tests one flag (within 1 ns per
 * arm + cancel pair of a build without the log: BENCHMARKS.md). Recording is
 * lock-free and allocation-free, so it also records arms made in a signal
 * handler above DISPATCH_LEVEL.
 */
typedef enum stortimer_event_type {
    STORTIMER_EVENT_ADAPTER_CREATED = 1,
    STORTIMER_EVENT_ADAPTER_REMOVED,
    STORTIMER_EVENT_INITIALIZED,  /* StorPortInitializeTimer gave `handle` */
    STORTIMER_EVENT_ARMED,        /* an arm succeeded: due, fire_time, window */
    STORTIMER_EVENT_BUSY,         /* an arm answered STOR_STATUS_BUSY */
    STORTIMER_EVENT_CANCELLED,    /* a pending arm ended without its callback:
                                     by a cancel, a free, a legacy re-arm or a
                                     removal (`status` says which, below) */
    STORTIMER_EVENT_IDLE_CANCEL,  /* a cancel (TimerValue 0) found nothing pending */
    STORTIMER_EVENT_FIRED,        /* a callback started; `time` is when */
    STORTIMER_EVENT_RETURNED,     /* that callback returned */
    STORTIMER_EVENT_FREED,        /* StorPortFreeTimer freed `handle` */
    STORTIMER_EVENT_REJECTED,     /* a call answered the error `status` */
    STORTIMER_EVENT_WAKEUP,       /* a real-clock adapter's dispatcher thread
                                     woke; fire_time: when it had planned to
                                     (an arm or a hand-over wakes it sooner) */
    /* DPCs (S14.15): `dpc`, `dpc_routine`, `argument1/2`; `due` is the
     * issue time, `fire_time` the start time. */
    STORTIMER_EVENT_DPC_INITIALIZED, /* StorPortInitializeDpc took effect */
    STORTIMER_EVENT_DPC_ISSUED,      /* StorPortIssueDpc queued it (TRUE) */
    STORTIMER_EVENT_DPC_QUEUED_ALREADY, /* answered FALSE: it was queued */
    STORTIMER_EVENT_DPC_STARTED,     /* its routine started */
    STORTIMER_EVENT_DPC_RETURNED,    /* and returned */
    STORTIMER_EVENT_DPC_DROPPED,     /* queued, dropped by removal */
    STORTIMER_EVENT_DPC_REFUSED,     /* an initialize or issue refused for
                                        another reason: `status` says which */
    /* StorPortSynchronizeAccess (S15.5): `sync_routine`, `context`;
     * RETURNED carries the routine's answer in `result`. */
    STORTIMER_EVENT_SYNC_ENTERED,
    STORTIMER_EVENT_SYNC_RETURNED,
    /* Pauses (S16.11), of the adapter or, `unit` set, of a unit: */
    STORTIMER_EVENT_PAUSED,          /* `due`: the deadline now in force */
    STORTIMER_EVENT_PAUSE_ENDED,     /* `status`: STORTIMER_PAUSE_END_* */
    STORTIMER_EVENT_RESUME_UNPAUSED, /* a resume that found no pause */
} stortimer_event_type;

/* Why an initialize or issue was refused: the `status` of a DPC_REFUSED
 * event (an issue refused because queued is DPC_QUEUED_ALREADY). */
#define STORTIMER_DPC_REFUSED_IRQL 1u        /* initialize above DISPATCH_LEVEL */
#define STORTIMER_DPC_REFUSED_ARGUMENT 2u    /* NULL, unknown extension or DPC */
#define STORTIMER_DPC_REFUSED_FOREIGN 3u     /* a DPC of another adapter */
#define STORTIMER_DPC_REFUSED_BUSY 4u        /* initialize of a queued or running DPC */
#define STORTIMER_DPC_REFUSED_RESOURCES 5u   /* memory, or a full hand-over queue */
#define STORTIMER_DPC_REFUSED_REMOVAL 6u     /* issue while the adapter is removed */

/* Why a pending arm was cancelled: the `status` of a CANCELLED event. */
#define STORTIMER_CANCEL_BY_REQUEST 0u   /* TimerValue 0 (or RequestTimerCall 0) */
#define STORTIMER_CANCEL_BY_FREE 1u      /* StorPortFreeTimer */
#define STORTIMER_CANCEL_BY_REARM 2u     /* a legacy timer re-armed over it (S7.1) */
#define STORTIMER_CANCEL_BY_REMOVAL 3u   /* stortimer_adapter_remove */

typedef struct stortimer_event {
    ULONGLONG sequence;           /* 0, 1, 2, ... in the order recorded */
    ULONGLONG time;               /* the adapter's clock at the event, us */
    stortimer_event_type type;
    ULONG status;                 /* REJECTED: the status; CANCELLED: why */
    PVOID extension;              /* the adapter (NULL if the call named none) */
    ULONGLONG adapter_id;         /* 1, 2, ... by creation; never reused */
    ULONG clock_id;               /* 0: the real clock; n: the n-th virtual one */
    ULONG thread_id;              /* the kernel's id of the calling thread */
    PVOID handle;                 /* the timer; NULL for the legacy timer */
    BOOLEAN legacy;               /* the legacy timer (RequestTimerCall) */
    KIRQL irql;                   /* of the calling thread */
    PHW_TIMER_EX callback;        /* ARMED, BUSY, FIRED, RETURNED (extended) */
    PHW_TIMER legacy_callback;    /* the same, for the legacy timer */
    PVOID context;                /* CallbackContext */
    ULONGLONG due;                /* ARMED, FIRED, RETURNED: never before this */
    ULONGLONG fire_time;          /* ARMED, FIRED, RETURNED: chosen in the window */
    ULONGLONG window;             /* ARMED: TolerableDelay as used (S5.4.2) */
    PVOID dpc;                    /* DPC events: the STOR_DPC's address */
    PHW_DPC_ROUTINE dpc_routine;
    PVOID argument1, argument2;   /* the issue's SystemArgument1 and 2 */
    PSTOR_SYNCHRONIZED_ACCESS sync_routine;
    BOOLEAN result;               /* SYNC_RETURNED: the routine's answer */
    BOOLEAN unit;                 /* pause events: of a unit, not the adapter */
    UCHAR path_id, target_id, lun;
    /* A CANCELLED event made by a cancel at or below DISPATCH_LEVEL carries
     * the cancelled arm's callback, context, due and fire time; otherwise
     * (above DISPATCH_LEVEL, or a free, a re-arm, a removal) due and
     * fire_time are 0 and the callback is the cancel request's. */
} stortimer_event;

/*
 * Starts recording into a new, empty log that holds up to `capacity`
 * events (0: 65,536); events past that are counted as dropped, not
 * recorded. An earlier log is discarded. Returns SUCCESS,
 * INSUFFICIENT_RESOURCES (no memory; recording stays off) or
 * INVALID_DEVICE_STATE (from a timer callback or above DISPATCH_LEVEL).
 */
STORTIMER_API ULONG stortimer_log_start(size_t capacity);

/* Stops recording; what was recorded stays readable. */
STORTIMER_API void stortimer_log_stop(void);

/*
 * Copies up to `max` recorded events, starting with event number `first`,
 * into `events`, and returns how many it copied. Safe while recording goes
 * on (an event still being written ends the copy).
 */
STORTIMER_API size_t stortimer_log_read(stortimer_event *events, size_t first, size_t max);

/* How many events are recorded, and how many did not fit. */
STORTIMER_API size_t stortimer_log_count(void);
STORTIMER_API ULONGLONG stortimer_log_dropped(void);

/* The event type's name ("fired"), or "unknown". */
STORTIMER_API const char *stortimer_event_name(stortimer_event_type type);

/*
 * Names a timer (a handle of an adapter), or with a NULL handle the adapter
 * itself, for the trace: "port 0 start poll", "HBA 0". Up to 63 bytes are
 * kept. Returns SUCCESS, INVALID_PARAMETER (unknown extension or handle,
 * NULL name) or INSUFFICIENT_RESOURCES.
 */
STORTIMER_API ULONG stortimer_log_name(PVOID hw_device_extension, PVOID timer_handle,
                                       const char *name);

/* ---- Trace export (Chrome trace-event JSON: Perfetto, chrome://tracing) ---- */

/*
 * Writes the events recorded so far to `path` as Chrome trace-event JSON:
 * one process per clock, one track per adapter, each callback a complete
 * slice ("X", with a duration) from FIRED to RETURNED and each DPC routine
 * one from DPC_STARTED to DPC_RETURNED, each pause a slice on a track of its
 * own beside the adapter's, the other events instants on the adapter's
 * track, with times in the clock's microseconds. Open it at
 * https://ui.perfetto.dev (speedscope and chrome://tracing load it too).
 * Returns SUCCESS, INVALID_PARAMETER (NULL path) or UNSUCCESSFUL (the file
 * could not be written; errno says why).
 *
 * With the environment variable STORTIMER_TRACE=path set when the program
 * starts, recording starts at once (STORTIMER_TRACE_EVENTS sets the
 * capacity, default 1,048,576) and the trace is written to that path when
 * the program exits through exit() or a return from main.
 */
STORTIMER_API ULONG stortimer_trace_write(const char *path);

/* ---- Verifier (off by default) ---- */

/*
 * In the spirit of Driver Verifier: with the verifier on, every misuse the
 * library sees is a violation, reported through the report handler with
 * the routine, the status, the arguments, the calling code's address and a
 * backtrace, and counted:
 *   - every call refused with an error status, and every counted refusal of
 *     a VOID routine (STOR_STATUS_BUSY, and an IssueDpc that finds its DPC
 *     queued, are answers miniports rely on: not violations);
 *   - misuse Windows would not survive: a recursive StartIo lock, removing
 *     an adapter from its own callback, StorPortFreeTimer of a pending timer
 *     while holding the StartIo lock its callback needs, an advance from a
 *     callback, a DPC re-initialized while queued or running;
 *   - StorPortStallExecution above 1,000 us; a callback or DPC routine that
 *     runs longer than the routine limit (100 us unless set): on the real
 *     clock the thread's CPU time, on a virtual clock the virtual time its
 *     stalls consume, so the finding is deterministic in virtual time;
 *   - leaks: timers an adapter's removal frees (each named, with where it
 *     was initialized), adapters and clocks still alive at exit.
 * STORTIMER_VERIFY_ABORT stops the process at the first violation, as a
 * bug check would, after a clear last line. While on, a summary line is
 * printed at exit if any violation occurred. Above DISPATCH_LEVEL (maybe a
 * signal handler) a violation is counted, not printed (in abort mode, one
 * fixed line is written).
 *
 * The environment variable STORTIMER_VERIFY=report or =abort turns it on
 * when the program starts; unset or empty, it stays off. While off it costs
 * one predicted branch on the paths that refuse a call and around each
 * callback (BENCHMARKS.md).
 */
#define STORTIMER_VERIFY_OFF 0u
#define STORTIMER_VERIFY_REPORT 1u      /* report each violation and go on */
#define STORTIMER_VERIFY_ABORT 2u       /* report it and stop the process */

/* Sets the mode; SUCCESS, or INVALID_PARAMETER for an unknown mode. */
STORTIMER_API ULONG stortimer_verify_start(ULONG mode);

/* The mode now (STORTIMER_VERIFY_*). */
STORTIMER_API ULONG stortimer_verify_mode(void);

/* Violations found since the process started: a test asserts it is 0. */
STORTIMER_API ULONGLONG stortimer_verify_violations(void);

/* How long a callback or DPC routine may run before it is a violation, in
 * microseconds (0: no limit; 100 by default, Microsoft's guidance for
 * DPCs). Returns SUCCESS. */
STORTIMER_API ULONG stortimer_verify_set_routine_limit(ULONGLONG microseconds);

/* ---- Reports ---- */

/*
 * Where misuse reports go (a recursive StartIo lock, an advance from inside a
 * callback, ...): a function given one line of text, without newline. NULL
 * restores the default, which writes "stortimer: <text>" to stderr.
 */
typedef void stortimer_report_fn(const char *message, void *context);
STORTIMER_API void stortimer_set_report_handler(stortimer_report_fn *handler, void *context);

/* Text name of a STOR_STATUS_* value ("STOR_STATUS_BUSY"), or "unknown". */
STORTIMER_API const char *stortimer_status_name(ULONG status);

#ifdef __cplusplus
}
#endif

#endif /* STORTIMER_STORTIMER_H */
