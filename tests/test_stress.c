/*
 * test_stress.c - a bounded-time concurrency stress test, on the real clock and
 * then on a virtual one.
 *
 * Worker threads arm, cancel, re-arm and free timers of three adapters: at
 * PASSIVE_LEVEL, holding the adapter's StartIo lock (or, on the half-duplex
 * adapter, its InterruptLock, which is the same lock), and at device IRQL,
 * where StorPortInitializeTimer and StorPortFreeTimer answer INVALID_IRQL and
 * StorPortRequestTimer hands the request over (S5.7). Callbacks re-arm their
 * own timer (S5.6), free it (the S6.1 exception), stall, and arm the legacy
 * timer, whose routine re-arms itself (S7). A churn thread removes adapters
 * and creates new ones (S3). Workers also call with stale, forged and foreign
 * handles, which must never work. On the virtual clock an advancer thread (and
 * now and then a worker) moves time.
 *
 * What is checked, each violation counted and described on stderr:
 *  - every successful arm fires exactly once, unless a cancel, a free or the
 *    adapter's removal came before its callback started: no lost callbacks, no
 *    duplicates (S5.4);
 *  - never early: a callback starts no sooner than TimerValue after the call
 *    (S5.1), and the due time of a handed-over arm counts from the call (S5.7);
 *  - no callback starts after a cancel, a FreeTimer or the removal that
 *    certainly came after its arm returned, and none is still running when
 *    FreeTimer (S6.1) or the removal (S3) returns;
 *  - callbacks of one adapter never overlap each other or a holder of its
 *    StartIo lock, run at DISPATCH_LEVEL and get their own extension (S8);
 *  - BUSY only when an arm was pending, SUCCESS never when one certainly was
 *    (S5.3); every status belongs to the documented set of its call, and is
 *    the exact one wherever the test can know it (S4, S5, S6);
 *  - handles are never NULL and never issued twice (S4); removal reports as
 *    leaked exactly the timers not freed (S3);
 *  - the library's statistics agree with the test's own tallies.
 * A watchdog fails the test with a per-thread report if nothing moves for
 * 10 s (a deadlock).
 *
 * How the accounting stays exact although everything races
 * ---------------------------------------------------------
 * Each arm gets a record (its CallbackContext). One global ticket counter
 * orders events: a ticket is taken before each call, after it returns, and
 * first thing in every callback. An arm that returned before a kill (cancel,
 * free, removal) was called is certainly affected by it; a kill that returned
 * before an arm was called cannot be; anything in between may go either way,
 * so it only excuses the arm from firing. A callback's ticket is taken a
 * little after the library started it, so "it started after the cancel
 * returned" is decided against a ticket taken while holding the adapter's
 * StartIo lock after the cancel returned (a callback holds that lock while it
 * runs), or directly when the canceller itself holds the lock or runs a
 * callback of that adapter. FreeTimer and removal wait for a running callback,
 * so their return ticket is exact. A cancel above DISPATCH_LEVEL "takes effect
 * shortly after" (S5.7): it only ever excuses.
 *
 * Each timer belongs to one worker: only that worker and the timer's own
 * callbacks act on it. Workers hold an adapter slot's read lock while they use
 * it and the churn thread its write lock to replace it; before a removal the
 * churn thread sets a flag under the StartIo lock after which callbacks stop
 * acting. So statuses, leak counts and per-adapter statistics are exact, and
 * only the stale-handle calls made without the slot lock race a removal. The
 * legacy timer is armed only under the StartIo lock or from a callback, so
 * the test always knows which RequestTimerCall a HwStorTimer call belongs to.
 *
 * A lost arm is one still awaited when nothing can excuse it any more. Since
 * a later cancel excuses an arm that is late, each worker keeps one steady
 * timer that nobody cancels or frees, and a removal comes in three styles: at
 * once (cancelling what is pending), after letting every pending arm of the
 * adapter fire (an arm that never does is lost), or while a callback of the
 * adapter runs (the removal must wait for it). At the end of a run every
 * pending arm is let fire before the last removals.
 *
 * Time is used only where it cannot flake: never-early is exact; no lateness
 * bound is asserted. Duration: STORTIMER_STRESS_SECONDS per run (default 6 s
 * real, 4 s virtual). At the end of each run one summary line goes to stdout.
 */
#include "stortimer.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Shape of the test ---- */

enum {
    WORKER_COUNT = 4,
    TIMERS_PER_WORKER = 4,
    ADAPTER_SLOT_COUNT = 3,
    HALF_DUPLEX_SLOT = 1,      /* its InterruptLock is its StartIo lock */
    LIMITED_SLOT = 2,          /* max_timers 4, the limit before Windows 8 */
    LIMITED_MAX_TIMERS = 4,
    STALE_POOL_SIZE = 1024,    /* dead timers kept for stale-handle calls */
    MESSAGES_SHOWN = 30,       /* violations described per run; all are counted */
    LOCK_STRIPES = 64,         /* test-side locks over the timer records */
};

#define NS_PER_S UINT64_C(1000000000)
static const double default_real_seconds = 6.0;
static const double default_virtual_seconds = 4.0;
static const uint64_t watchdog_limit_ns = 10 * NS_PER_S;
/* At the end, how long to wait for due callbacks while none runs at all. */
static const uint64_t settle_idle_limit_ns = 5 * NS_PER_S;
/* Beyond its active seconds, the longest a run may take to wind down. */
static const uint64_t wind_down_limit_ns = 120 * NS_PER_S;

/* ---- Small utilities ---- */

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    nanosleep(&ts, NULL);
}

/* A per-thread xorshift generator; library threads seed theirs on first use. */
static _Thread_local uint64_t rng_state;

static uint64_t random_u64(void)
{
    if (!rng_state)
        rng_state = (monotonic_ns() ^ (uint64_t)(uintptr_t)&rng_state) | 1;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned random_below(unsigned n)
{
    return (unsigned)(random_u64() % n);
}

static bool one_in(unsigned n)
{
    return random_below(n) == 0;
}

/* TimerValue: long enough that some arms are cancelled before they fire. */
static uint64_t random_timer_value(void)
{
    return 50 + random_below(2951);
}

/* TolerableDelay: mostly none, sometimes below the 32 us floor, sometimes a window. */
static uint64_t random_window(void)
{
    unsigned pick = random_below(20);
    if (pick < 12)
        return 0;
    if (pick < 15)
        return random_below(32);
    return 32 + random_below(969);
}

/* ---- Violations, by kind (the summary line shows the first six) ---- */

typedef enum violation_kind {
    LOST, DUPLICATED, EARLY, OVERLAP, AFTER_FREE, AFTER_CANCEL, WRONG_STATUS,
    WRONG_BUSY, BAD_CALLBACK, BAD_HANDLE, LEAK_MISMATCH, STATS_MISMATCH,
    LIBRARY_REPORT, VIOLATION_KINDS
} violation_kind;

static const char *const violation_names[VIOLATION_KINDS] = {
    "lost", "duplicated", "early", "overlap", "after-free", "after-cancel", "status",
    "busy", "callback", "handle", "leak", "stats", "library report",
};

/* ---- Records ---- */

typedef struct incarnation incarnation;
typedef struct timer_record timer_record;
typedef struct arm_record arm_record;

/*
 * One successful or attempted arm. Guarded by its timer's stripe lock (the
 * incarnation's lock for legacy arms) once published.
 */
struct arm_record {
    uint64_t token;              /* "arm #token" in messages */
    incarnation *inc;
    timer_record *timer;         /* NULL: the legacy timer */
    const char *armed_how;       /* where it was armed, for messages */
    uint64_t value_us, window_us;
    uint64_t call_time;          /* clock reading just before the call */
    uint64_t call_ticket, return_ticket;
    bool returned;
    ULONG status;
    unsigned fired;              /* callbacks started for it */
    uint64_t fire_ticket, fire_time;
    bool dead;                   /* certainly cancelled: must not start later */
    uint64_t dead_end;           /* the kill's return ticket */
    uint64_t dead_flush;         /* a callback starting after this is a violation */
    const char *killed_by;
    violation_kind dead_kind;    /* the violation if it starts after dead_flush */
    bool maybe_killed;           /* a kill overlapped it: firing is optional */
    bool outstanding;            /* counted in run.outstanding */
    arm_record *older, *newer;   /* its timer's successful and in-flight arms */
};

/* One timer, from StorPortInitializeTimer to its free or its adapter's removal. */
struct timer_record {
    uint64_t id;
    incarnation *inc;
    PVOID handle;
    bool steady;                 /* only ever armed: a lost arm stays outstanding */
    /* Under the stripe lock: */
    arm_record *newest;
    unsigned kills_in_flight;    /* cancels and frees under way */
    /* Lock-free: */
    _Atomic uint64_t freed_ticket;     /* a FreeTimer on it returned SUCCESS */
    atomic_bool freed_by_own_callback;
    atomic_int frees_in_flight;
    timer_record *next_of_incarnation; /* under the incarnation's lock */
};

/* One life of an adapter slot: stortimer_adapter_create .. _remove. */
struct incarnation {
    int slot;
    unsigned number;
    PVOID extension;
    stortimer_adapter_config config;
    atomic_bool removing;        /* callbacks must not act any more */
    atomic_bool removed;         /* stortimer_adapter_remove returned */
    atomic_int occupancy;        /* its callbacks and StartIo holders inside now */
    _Atomic int64_t outstanding; /* its share of run.outstanding */
    _Atomic uint64_t callbacks_started;
    pthread_mutex_t lock;        /* guards what follows */
    timer_record *timers;
    unsigned live_timers;        /* initialized and not successfully freed */
    unsigned inits_in_flight, frees_in_flight;
    uint64_t frees_done;
    arm_record *legacy_current;  /* the latest RequestTimerCall arm */
    /* Tallies compared with its statistics before it is removed. */
    _Atomic uint64_t arms, busy, handed_over, inits, frees, legacy_arms;
    incarnation *next_created;
};

typedef struct adapter_slot {
    int index;
    pthread_rwlock_t lock;       /* read: using it; write: replacing it */
    _Atomic(incarnation *) current;
    unsigned created;
} adapter_slot;

/* Records of a run live in chunks that stay until the run ends. */
enum { ARENA_CHUNK = 8192, ARENA_CHUNKS = 128 }; /* room for 1M arms, ~170 MB */

typedef struct arena {
    size_t record_size;
    _Atomic uint64_t used;
    _Atomic(unsigned char *) chunks[ARENA_CHUNKS];
    pthread_mutex_t grow;
} arena;

/* ---- Run state ---- */

/* What the test itself counted, compared with stortimer_stats at the end. */
typedef struct tallies {
    _Atomic uint64_t operations, adapters_created, arms, legacy_arms, callbacks,
        legacy_callbacks, busy, handed_over, inits, frees, leaked, rejected,
        notification_misuse, handover_refusals;
} tallies;

typedef struct thread_report {
    char name[24];
    _Atomic(const char *) doing;
    _Atomic uint64_t steps;
} thread_report;

enum { CHURN_REPORT = WORKER_COUNT, ADVANCER_REPORT, MAIN_REPORT, REPORT_COUNT };

static struct run {
    const char *name;            /* "real" or "virtual" */
    stortimer_clock *clock;      /* NULL: the real clock */
    double seconds;
    atomic_bool stop_workers, stop_helpers, stop_watchdog, winding_down, arena_full;
    tallies count;
    _Atomic uint64_t violations[VIOLATION_KINDS];
    atomic_uint messages;
    _Atomic int64_t outstanding;  /* successful arms neither fired nor cancelled */
    _Atomic uint64_t progress;
    _Atomic uint64_t deadline_ns;  /* the watchdog fails the run past it */
    atomic_int callbacks_running;
    arena arms, timers;
    _Atomic(timer_record *) stale[STALE_POOL_SIZE];
    atomic_uint stale_added;
    pthread_mutex_t created_lock;
    incarnation *created;        /* every incarnation of the run */
    thread_report reports[REPORT_COUNT];
} run;

static adapter_slot slots[ADAPTER_SLOT_COUNT];
static pthread_mutex_t stripes[LOCK_STRIPES];
static _Atomic uint64_t tickets;
static _Atomic uint64_t timer_ids, arm_tokens;

/* Passed as CallbackContext by calls that must fail: it must never come back. */
static arm_record rejected_request_context;
/* An address that is no adapter's extension. */
static char not_an_extension[64];

/* What the calling thread is doing, for the accounting and for messages. */
static _Thread_local thread_report *me;
static _Thread_local incarnation *exclusive_inc;   /* holds its StartIo lock or runs its callback */
static _Thread_local STOR_SPINLOCK held_lock_kind;  /* 0: none */
static _Thread_local timer_record *callback_timer;  /* whose callback runs on this thread */
static _Thread_local bool in_legacy_routine;

static uint64_t next_ticket(void)
{
    return atomic_fetch_add(&tickets, 1) + 1;
}

static void note_progress(void)
{
    atomic_fetch_add_explicit(&run.progress, 1, memory_order_relaxed);
}

static void now_doing(const char *what)
{
    if (me)
        atomic_store_explicit(&me->doing, what, memory_order_relaxed);
}

/* The run's clock: nanoseconds on the real clock, microseconds on a virtual one. */
static uint64_t time_now(void)
{
    return run.clock ? stortimer_clock_now(run.clock) : monotonic_ns();
}

static uint64_t time_of_us(uint64_t us)
{
    return run.clock ? us : us * 1000;
}

static const char *time_unit(void)
{
    return run.clock ? "us" : "ns";
}

static void tally(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Every call into the library is an operation; error answers are "rejected". */
static void count_call(ULONG status)
{
    tally(&run.count.operations);
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_BUSY)
        tally(&run.count.rejected);
}

static void violation(violation_kind kind, const char *format, ...)
{
    atomic_fetch_add(&run.violations[kind], 1);
    if (atomic_fetch_add(&run.messages, 1) >= MESSAGES_SHOWN)
        return;
    char text[768];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    fprintf(stderr, "stress %s: VIOLATION [%s] %s\n", run.name, violation_names[kind], text);
}

static const char *status_name(ULONG status)
{
    return stortimer_status_name(status);
}

/* Where a call is made from, as the library sees it. */
static const char *calling_context(void)
{
    bool device = stortimer_irql_current() > DISPATCH_LEVEL;
    if (in_legacy_routine)
        return device ? "in HwStorTimer, raised to device IRQL" : "in HwStorTimer";
    if (callback_timer)
        return device ? "in a callback, raised to device IRQL" : "in a callback";
    if (held_lock_kind == InterruptLock)
        return "holding the InterruptLock (device IRQL)";
    if (held_lock_kind == StartIoLock)
        return device ? "holding the StartIo lock, raised to device IRQL"
                      : "holding the StartIo lock";
    return device ? "at device IRQL" : "at PASSIVE_LEVEL";
}

/* ---- Arenas ---- */

static void *arena_take(arena *a)
{
    uint64_t index = atomic_fetch_add(&a->used, 1);
    if (index >= (uint64_t)ARENA_CHUNK * ARENA_CHUNKS) {
        atomic_store(&run.arena_full, true); /* the run ends early, see worker_main */
        return NULL;
    }
    size_t chunk_index = index / ARENA_CHUNK;
    unsigned char *chunk = atomic_load(&a->chunks[chunk_index]);
    if (!chunk) {
        pthread_mutex_lock(&a->grow);
        chunk = atomic_load(&a->chunks[chunk_index]);
        if (!chunk) {
            chunk = calloc(ARENA_CHUNK, a->record_size);
            if (!chunk) {
                fprintf(stderr, "stress: out of memory for test records\n");
                exit(1);
            }
            atomic_store(&a->chunks[chunk_index], chunk);
        }
        pthread_mutex_unlock(&a->grow);
    }
    return chunk + (index % ARENA_CHUNK) * a->record_size;
}

static uint64_t arena_count(arena *a)
{
    uint64_t used = atomic_load(&a->used);
    uint64_t capacity = (uint64_t)ARENA_CHUNK * ARENA_CHUNKS;
    return used < capacity ? used : capacity;
}

static void *arena_at(arena *a, uint64_t index)
{
    return atomic_load(&a->chunks[index / ARENA_CHUNK]) + (index % ARENA_CHUNK) * a->record_size;
}

/* Whether p is a record handed out by the arena (a callback's context must be). */
static bool arena_holds(arena *a, const void *p)
{
    uint64_t used = arena_count(a);
    for (size_t c = 0; c < ARENA_CHUNKS; c++) {
        const unsigned char *chunk = atomic_load(&a->chunks[c]);
        if (!chunk)
            continue; /* chunks are not made in order */
        const unsigned char *byte = p;
        if (byte < chunk || byte >= chunk + ARENA_CHUNK * a->record_size)
            continue;
        size_t offset = (size_t)(byte - chunk);
        return offset % a->record_size == 0 &&
               c * ARENA_CHUNK + offset / a->record_size < used;
    }
    return false;
}

static void arena_init(arena *a, size_t record_size)
{
    memset(a, 0, sizeof *a);
    a->record_size = record_size;
    pthread_mutex_init(&a->grow, NULL);
}

static void arena_release(arena *a)
{
    for (size_t c = 0; c < ARENA_CHUNKS; c++)
        free(atomic_load(&a->chunks[c]));
    pthread_mutex_destroy(&a->grow);
    memset(a, 0, sizeof *a);
}

/* ---- Handles ever issued, process-wide (S4: never NULL, never twice) ---- */

enum { HANDLE_TABLE_SIZE = 1u << 20 };
static uint64_t *handle_table;
static size_t handles_recorded;
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t handle_probe_start(uint64_t handle)
{
    return (size_t)((handle * UINT64_C(0x9E3779B97F4A7C15)) >> 44) & (HANDLE_TABLE_SIZE - 1);
}

/* Past three quarters full the table stops growing; the checks that need it stop. */
static bool handle_table_usable(void)
{
    return handles_recorded < HANDLE_TABLE_SIZE / 4 * 3;
}

static void handle_issued(PVOID handle, const incarnation *inc)
{
    uint64_t value = (uint64_t)(uintptr_t)handle;
    if (!value) {
        violation(BAD_HANDLE, "StorPortInitializeTimer on adapter %d.%u returned SUCCESS "
                  "with a NULL handle (S4)", inc->slot, inc->number);
        return;
    }
    pthread_mutex_lock(&handle_lock);
    if (handle_table_usable()) {
        size_t i = handle_probe_start(value);
        while (handle_table[i] && handle_table[i] != value)
            i = (i + 1) & (HANDLE_TABLE_SIZE - 1);
        if (handle_table[i] == value) {
            violation(BAD_HANDLE, "StorPortInitializeTimer on adapter %d.%u returned "
                      "handle %p, which was issued before (S4: never re-issued)",
                      inc->slot, inc->number, handle);
        } else {
            handle_table[i] = value;
            handles_recorded++;
        }
    }
    pthread_mutex_unlock(&handle_lock);
}

/* A made-up handle value never issued so far; 0 when the table cannot tell. */
static uint64_t forged_handle(PVOID model)
{
    uint64_t value = one_in(2) ? random_u64()
                               : (uint64_t)(uintptr_t)model ^ (UINT64_C(1) << random_below(64));
    pthread_mutex_lock(&handle_lock);
    bool known = !handle_table_usable() || value == 0;
    if (!known) {
        size_t i = handle_probe_start(value);
        while (handle_table[i] && handle_table[i] != value)
            i = (i + 1) & (HANDLE_TABLE_SIZE - 1);
        known = handle_table[i] == value;
    }
    pthread_mutex_unlock(&handle_lock);
    return known ? 0 : value;
}

/* ---- Exclusion: callbacks and StartIo holders of one adapter (S8) ---- */

static void occupancy_enter(incarnation *inc, const char *who)
{
    int inside = atomic_fetch_add(&inc->occupancy, 1);
    if (inside != 0)
        violation(OVERLAP, "%s of adapter %d.%u entered while %d callback(s) or StartIo "
                  "holder(s) of that adapter were inside (S8)", who, inc->slot,
                  inc->number, inside);
}

static void occupancy_leave(incarnation *inc)
{
    atomic_fetch_sub(&inc->occupancy, 1);
}

typedef struct held_lock {
    incarnation *inc;
    STOR_LOCK_HANDLE handle;
    bool exclusive;              /* excludes the adapter's callbacks */
} held_lock;

/* Takes one of a live adapter's locks; false (and a violation) if nothing was taken. */
static bool lock_take(incarnation *inc, STOR_SPINLOCK kind, held_lock *held)
{
    held->inc = inc;
    StorPortAcquireSpinLock(inc->extension, kind, NULL, &held->handle);
    tally(&run.count.operations);
    if (!held->handle.Context.LockObject) {
        violation(WRONG_STATUS, "StorPortAcquireSpinLock(%s) on live adapter %d.%u took "
                  "nothing", kind == StartIoLock ? "StartIoLock" : "InterruptLock",
                  inc->slot, inc->number);
        return false;
    }
    KIRQL expected = kind == InterruptLock ? STOR_DEVICE_LEVEL : DISPATCH_LEVEL;
    if (stortimer_irql_current() != expected)
        violation(WRONG_STATUS, "holding a lock of adapter %d.%u at IRQL %u, expected %u (S9)",
                  inc->slot, inc->number, stortimer_irql_current(), expected);
    held->exclusive = kind == StartIoLock || (kind == InterruptLock && inc->config.half_duplex);
    held_lock_kind = kind;
    if (held->exclusive) {
        occupancy_enter(inc, "a StartIo lock holder");
        exclusive_inc = inc;
    }
    return true;
}

static void lock_drop(held_lock *held)
{
    if (held->exclusive) {
        exclusive_inc = NULL;
        occupancy_leave(held->inc);
    }
    held_lock_kind = 0;
    StorPortReleaseSpinLock(held->inc->extension, &held->handle);
    tally(&run.count.operations);
}

/*
 * After a cancel made without holding the StartIo lock: once this thread gets
 * that lock, a callback that started before the cancel returned has ended.
 * Returns a ticket taken while holding it.
 */
static uint64_t flush_started_callbacks(incarnation *inc)
{
    held_lock held;
    if (!lock_take(inc, StartIoLock, &held))
        return UINT64_MAX; /* reported; proves nothing */
    uint64_t ticket = next_ticket();
    lock_drop(&held);
    return ticket;
}

/* ---- The outstanding gauge and an arm's fate (lock of the arm held) ---- */

/* A successful arm starts being awaited: it must fire unless something cancels it. */
static void start_counting(arm_record *arm)
{
    if (arm->fired || arm->dead || arm->maybe_killed)
        return;
    arm->outstanding = true;
    atomic_fetch_add(&run.outstanding, 1);
    atomic_fetch_add(&arm->inc->outstanding, 1);
}

static void stop_counting(arm_record *arm)
{
    if (arm->outstanding) {
        arm->outstanding = false;
        atomic_fetch_sub(&run.outstanding, 1);
        atomic_fetch_sub(&arm->inc->outstanding, 1);
    }
}

/* Certainly over: a start after `flush` is a `kind` violation. */
static void mark_dead(arm_record *arm, uint64_t end, uint64_t flush, violation_kind kind,
                      const char *why)
{
    if (arm->fired || arm->dead)
        return;
    arm->dead = true;
    arm->dead_end = end;
    arm->dead_flush = flush;
    arm->dead_kind = kind;
    arm->killed_by = why;
    stop_counting(arm);
}

static void mark_maybe_killed(arm_record *arm)
{
    if (arm->fired || arm->dead)
        return;
    arm->maybe_killed = true;
    stop_counting(arm);
}

static void describe_arm(const arm_record *arm, char *text, size_t size)
{
    if (arm->timer)
        snprintf(text, size, "arm #%" PRIu64 " of timer #%" PRIu64 " (adapter %d.%u, %s, "
                 "%" PRIu64 " us, window %" PRIu64 " us, tickets %" PRIu64 "..%" PRIu64 ")",
                 arm->token, arm->timer->id, arm->inc->slot, arm->inc->number,
                 arm->armed_how, arm->value_us, arm->window_us, arm->call_ticket,
                 arm->return_ticket);
    else
        snprintf(text, size, "legacy arm #%" PRIu64 " (adapter %d.%u, %s, %" PRIu64 " us, "
                 "tickets %" PRIu64 "..%" PRIu64 ")", arm->token, arm->inc->slot,
                 arm->inc->number, arm->armed_how, arm->value_us, arm->call_ticket,
                 arm->return_ticket);
}

static arm_record *new_arm(incarnation *inc, timer_record *timer, uint64_t value_us,
                           uint64_t window_us)
{
    arm_record *arm = arena_take(&run.arms);
    if (!arm)
        return NULL;
    arm->token = atomic_fetch_add(&arm_tokens, 1) + 1;
    arm->inc = inc;
    arm->timer = timer;
    arm->value_us = value_us;
    arm->window_us = window_us;
    return arm;
}

/* A callback started for `arm`: the checks every start gets. Lock held. */
static void record_fire(arm_record *arm, uint64_t fire_time, uint64_t fire_ticket)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    if (++arm->fired > 1) {
        violation(DUPLICATED, "%s: callback started %u times", what, arm->fired);
        return;
    }
    arm->fire_ticket = fire_ticket;
    arm->fire_time = fire_time;
    if (arm->returned && arm->status != STOR_STATUS_SUCCESS)
        violation(BAD_CALLBACK, "%s: callback ran although the arm answered %s", what,
                  status_name(arm->status));
    if (arm->dead && fire_ticket > arm->dead_flush)
        violation(arm->dead_kind, "%s: callback started at ticket %" PRIu64 ", after %s "
                  "returned at ticket %" PRIu64, what, fire_ticket, arm->killed_by,
                  arm->dead_end);
    uint64_t due = arm->call_time + time_of_us(arm->value_us);
    if (fire_time < due)
        violation(EARLY, "%s: called at %" PRIu64 " %s, started at %" PRIu64 " %s: %" PRIu64
                  " %s early (S5.1)", what, arm->call_time, time_unit(), fire_time,
                  time_unit(), due - fire_time, time_unit());
    stop_counting(arm);
}

/* ---- Extended timers: the timer's list of arms (stripe lock held) ---- */

static pthread_mutex_t *lock_of_timer(const timer_record *t)
{
    return &stripes[t->id % LOCK_STRIPES];
}

static void link_arm(timer_record *t, arm_record *arm)
{
    arm->older = t->newest;
    if (t->newest)
        t->newest->newer = arm;
    t->newest = arm;
}

static void unlink_arm(timer_record *t, arm_record *arm)
{
    if (arm->newer)
        arm->newer->older = arm->older;
    else
        t->newest = arm->older;
    if (arm->older)
        arm->older->newer = arm->newer;
    arm->older = arm->newer = NULL;
}

static bool timer_freed(const timer_record *t)
{
    return atomic_load(&t->freed_ticket) != 0;
}

/* Appends to a message being built in text[size]; *used never passes size - 1. */
static void append(char *text, size_t size, size_t *used, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text + *used, size - *used, format, args);
    va_end(args);
    if (n > 0)
        *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

/* The timer's six newest arms (stripe lock held), for a message. */
static void describe_history(const timer_record *t, char *text, size_t size)
{
    size_t used = 0;
    text[0] = 0;
    int shown = 0;
    for (const arm_record *b = t->newest; b && shown < 6; b = b->older, shown++) {
        append(text, size, &used, "%s#%" PRIu64 " called at %" PRIu64, shown ? "; " : "",
               b->token, b->call_ticket);
        if (b->returned)
            append(text, size, &used, ", %s at %" PRIu64, status_name(b->status),
                   b->return_ticket);
        if (b->fired)
            append(text, size, &used, ", fired at %" PRIu64, b->fire_ticket);
        if (b->dead)
            append(text, size, &used, ", ended by %s at %" PRIu64, b->killed_by, b->dead_end);
        if (b->maybe_killed)
            append(text, size, &used, ", maybe cancelled");
    }
}

/* Whether arm b may have been pending at some time after ticket `since`. */
static bool may_be_pending_after(const arm_record *b, uint64_t since)
{
    if (!b->returned)
        return true;
    bool started_before = b->fired && b->fire_ticket < since;
    bool cancelled_before = b->dead && b->dead_end < since;
    return !started_before && !cancelled_before;
}

/*
 * S5.3: BUSY means an arm was pending during the call: one called before this
 * one returned that may still have been pending after it was called. Calls
 * overlap (the owner and the timer's callback), so an arm called earlier may
 * take effect later: the whole list is looked at (it is kept short, see
 * prune_settled_arms).
 */
static bool busy_is_explained(const timer_record *t, const arm_record *arm)
{
    for (const arm_record *b = t->newest; b; b = b->older)
        if (b != arm && b->call_ticket < arm->return_ticket &&
            may_be_pending_after(b, arm->call_ticket))
            return true;
    return false;
}

/*
 * Drops from the timer's list the arms that can no longer matter: returned,
 * and started or certainly cancelled before every arm call still under way on
 * the timer was made (no BUSY they could explain can still come). Not while a
 * cancel or free of the timer is under way: it will look at them.
 */
static void prune_settled_arms(timer_record *t)
{
    if (t->kills_in_flight)
        return;
    uint64_t oldest_call = UINT64_MAX;
    for (arm_record *b = t->newest; b; b = b->older)
        if (!b->returned && b->call_ticket < oldest_call)
            oldest_call = b->call_ticket;
    for (arm_record *b = t->newest, *older; b; b = older) {
        older = b->older;
        bool started = b->fired && b->fire_ticket < oldest_call;
        bool cancelled = b->dead && b->dead_end < oldest_call;
        if (b->returned && (started || cancelled))
            unlink_arm(t, b);
    }
}

/*
 * S5.3 the other way: a SUCCESS while an arm was certainly pending: one that
 * returned SUCCESS before this call and has neither started nor met a cancel.
 * Certain only where no callback of the adapter can start meanwhile (this
 * thread holds its StartIo lock or runs one of its callbacks) and no cancel
 * or free of the timer is under way.
 */
static void check_not_pending_before(const timer_record *t, const arm_record *arm)
{
    if (exclusive_inc != t->inc || t->kills_in_flight)
        return;
    for (const arm_record *b = t->newest; b; b = b->older) {
        if (b == arm || !b->returned || b->return_ticket > arm->call_ticket)
            continue;
        if (!b->fired && !b->dead && !b->maybe_killed) {
            char what[320], pending[320];
            describe_arm(arm, what, sizeof what);
            describe_arm(b, pending, sizeof pending);
            violation(WRONG_BUSY, "%s returned SUCCESS although %s was still pending "
                      "(expected BUSY, S5.3)", what, pending);
        }
    }
}

/* Judges an arm's answer, with the stripe lock held. */
static void judge_extended_arm(timer_record *t, arm_record *arm, bool above_dispatch)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    switch (arm->status) {
    case STOR_STATUS_SUCCESS:
        tally(&run.count.arms);
        tally(&t->inc->arms);
        if (above_dispatch) {
            tally(&run.count.handed_over);
            tally(&t->inc->handed_over);
        }
        if (timer_freed(t) && atomic_load(&t->freed_ticket) < arm->call_ticket)
            violation(WRONG_STATUS, "%s: SUCCESS for a timer freed before the call (S5.2)", what);
        check_not_pending_before(t, arm);
        start_counting(arm);
        return;
    case STOR_STATUS_BUSY:
        tally(&run.count.busy);
        tally(&t->inc->busy);
        if (!busy_is_explained(t, arm)) {
            char history[640];
            describe_history(t, history, sizeof history);
            violation(WRONG_BUSY, "%s answered BUSY, but no arm of the timer was pending "
                      "(S5.3); its arms, newest first: %s", what, history);
        }
        break;
    case STOR_STATUS_INVALID_PARAMETER:
        /* Only its own callback frees it behind the owner's back. */
        if (!timer_freed(t) && atomic_load(&t->frees_in_flight) == 0)
            violation(WRONG_STATUS, "%s answered INVALID_PARAMETER on a live timer of a live "
                      "adapter", what);
        break;
    case STOR_STATUS_INSUFFICIENT_RESOURCES:
        if (above_dispatch) {
            tally(&run.count.handover_refusals); /* the hand-over queue was full (S5.7) */
            break;
        }
        /* fall through */
    default:
        violation(WRONG_STATUS, "%s answered %s, not one of SUCCESS, BUSY, INVALID_PARAMETER%s",
                  what, status_name(arm->status),
                  above_dispatch ? ", INSUFFICIENT_RESOURCES" : "");
    }
    if (arm->fired)
        violation(BAD_CALLBACK, "%s: its callback ran although it answered %s", what,
                  status_name(arm->status));
    unlink_arm(t, arm);
}

/* ---- Extended timers: arm, cancel, free ---- */

static HW_TIMER_EX extended_callback;

/* StorPortRequestTimer(TimerValue > 0) on one of our timers, accounted. */
static void arm_extended_with(timer_record *t, uint64_t value_us, uint64_t window_us,
                              bool raise_to_device)
{
    arm_record *arm = new_arm(t->inc, t, value_us, window_us);
    if (!arm)
        return;
    now_doing(raise_to_device ? "arming at device IRQL" : "arming");
    KIRQL old = raise_to_device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    arm->armed_how = calling_context();

    pthread_mutex_lock(lock_of_timer(t));
    link_arm(t, arm);
    arm->call_time = time_now();
    arm->call_ticket = next_ticket();
    prune_settled_arms(t);
    pthread_mutex_unlock(lock_of_timer(t));

    ULONG status = StorPortRequestTimer(t->inc->extension, t->handle, extended_callback, arm,
                                        arm->value_us, arm->window_us);
    uint64_t returned = next_ticket();
    if (raise_to_device)
        stortimer_irql_lower(old);
    count_call(status);

    pthread_mutex_lock(lock_of_timer(t));
    arm->returned = true;
    arm->return_ticket = returned;
    arm->status = status;
    judge_extended_arm(t, arm, above_dispatch);
    pthread_mutex_unlock(lock_of_timer(t));
}

static void arm_extended(timer_record *t, bool raise_to_device)
{
    arm_extended_with(t, random_timer_value(), random_window(), raise_to_device);
}

/*
 * Applies a returned cancel to the timer's arms (stripe lock held): arms that
 * returned before it was called are certainly cancelled (unless they already
 * started); arms that overlapped it may or may not be. A cancel above
 * DISPATCH_LEVEL takes effect "shortly after" (S5.7): it only excuses. Every
 * arm is looked at: one called earlier may have taken effect later.
 */
static void settle_cancel(timer_record *t, uint64_t start, uint64_t end, uint64_t flush,
                          bool above_dispatch)
{
    for (arm_record *b = t->newest; b; b = b->older) {
        if (b->call_ticket > end)
            continue;
        bool before = b->returned && b->return_ticket < start;
        if (before && !above_dispatch) {
            if (b->fired && b->fire_ticket > flush) {
                char what[320];
                describe_arm(b, what, sizeof what);
                violation(AFTER_CANCEL, "%s: callback started at ticket %" PRIu64 ", after a "
                          "cancel called at %" PRIu64 " returned at %" PRIu64, what,
                          b->fire_ticket, start, end);
            }
            mark_dead(b, end, flush, AFTER_CANCEL, "a cancel (TimerValue 0)");
        } else {
            mark_maybe_killed(b);
        }
    }
}

static void cancel_extended(timer_record *t, bool raise_to_device)
{
    now_doing(raise_to_device ? "cancelling at device IRQL" : "cancelling");
    pthread_mutex_lock(lock_of_timer(t));
    t->kills_in_flight++;
    pthread_mutex_unlock(lock_of_timer(t));

    KIRQL old = raise_to_device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    const char *how = calling_context();
    uint64_t start = next_ticket();
    ULONG status = StorPortRequestTimer(t->inc->extension, t->handle, extended_callback, NULL,
                                        0, 0);
    uint64_t end = next_ticket();
    if (raise_to_device)
        stortimer_irql_lower(old);
    count_call(status);

    uint64_t flush = end;
    if (status == STOR_STATUS_SUCCESS && !above_dispatch && exclusive_inc != t->inc)
        flush = flush_started_callbacks(t->inc);

    pthread_mutex_lock(lock_of_timer(t));
    if (status == STOR_STATUS_SUCCESS)
        settle_cancel(t, start, end, flush, above_dispatch);
    else if (status != STOR_STATUS_INVALID_PARAMETER ||
             (!timer_freed(t) && atomic_load(&t->frees_in_flight) == 0))
        violation(WRONG_STATUS, "cancel of timer #%" PRIu64 " (adapter %d.%u, %s) answered %s; "
                  "expected SUCCESS (INVALID_PARAMETER only once freed)", t->id, t->inc->slot,
                  t->inc->number, how, status_name(status));
    t->kills_in_flight--;
    pthread_mutex_unlock(lock_of_timer(t));
}

static void stale_pool_add(timer_record *t)
{
    unsigned i = atomic_fetch_add(&run.stale_added, 1) % STALE_POOL_SIZE;
    atomic_store(&run.stale[i], t);
}

/* A FreeTimer returned SUCCESS: nothing of the timer may start any more (S6.1). */
static void settle_free(timer_record *t, uint64_t end)
{
    pthread_mutex_lock(lock_of_timer(t));
    for (arm_record *b = t->newest; b; b = b->older)
        mark_dead(b, end, end, AFTER_FREE, "StorPortFreeTimer");
    pthread_mutex_unlock(lock_of_timer(t));

    incarnation *inc = t->inc;
    pthread_mutex_lock(&inc->lock);
    inc->live_timers--;
    inc->frees_done++;
    pthread_mutex_unlock(&inc->lock);
    tally(&run.count.frees);
    tally(&inc->frees);
    stale_pool_add(t);
}

/* StorPortFreeTimer on one of our timers (from its owner or its own callback). */
static void free_extended(timer_record *t, bool raise_to_device)
{
    incarnation *inc = t->inc;
    if (raise_to_device || stortimer_irql_current() > DISPATCH_LEVEL) {
        now_doing("freeing at device IRQL");
        KIRQL old = raise_to_device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
        ULONG status = StorPortFreeTimer(inc->extension, t->handle);
        if (raise_to_device)
            stortimer_irql_lower(old);
        count_call(status);
        if (status != STOR_STATUS_INVALID_IRQL)
            violation(WRONG_STATUS, "FreeTimer of timer #%" PRIu64 " above DISPATCH_LEVEL "
                      "answered %s, expected INVALID_IRQL (S6.1)", t->id, status_name(status));
        return;
    }
    now_doing("freeing");
    const char *how = calling_context();
    atomic_fetch_add(&t->frees_in_flight, 1);
    pthread_mutex_lock(&inc->lock);
    inc->frees_in_flight++;
    pthread_mutex_unlock(&inc->lock);
    pthread_mutex_lock(lock_of_timer(t));
    t->kills_in_flight++;
    pthread_mutex_unlock(lock_of_timer(t));

    ULONG status = StorPortFreeTimer(inc->extension, t->handle);
    uint64_t end = next_ticket();
    count_call(status);

    if (status == STOR_STATUS_SUCCESS) {
        uint64_t expected = 0;
        if (!atomic_compare_exchange_strong(&t->freed_ticket, &expected, end))
            violation(WRONG_STATUS, "a second FreeTimer of timer #%" PRIu64 " (adapter %d.%u, "
                      "%s) answered SUCCESS (S6.3: UNSUCCESSFUL)", t->id, inc->slot,
                      inc->number, how);
        if (callback_timer == t)
            atomic_store(&t->freed_by_own_callback, true);
        settle_free(t, end);
    } else if (status != STOR_STATUS_UNSUCCESSFUL ||
               (!timer_freed(t) && atomic_load(&t->frees_in_flight) < 2)) {
        violation(WRONG_STATUS, "FreeTimer of live timer #%" PRIu64 " (adapter %d.%u, %s) "
                  "answered %s; expected SUCCESS (UNSUCCESSFUL only once freed)", t->id,
                  inc->slot, inc->number, how, status_name(status));
    }
    pthread_mutex_lock(lock_of_timer(t));
    t->kills_in_flight--;
    pthread_mutex_unlock(lock_of_timer(t));
    pthread_mutex_lock(&inc->lock);
    inc->frees_in_flight--;
    pthread_mutex_unlock(&inc->lock);
    atomic_fetch_sub(&t->frees_in_flight, 1);
}

/* ---- The legacy timer (S7), used only under exclusion (see the header) ---- */

static HW_TIMER legacy_routine;

static ULONGLONG legacy_armed_count(incarnation *inc)
{
    stortimer_stats stats;
    if (stortimer_stats_read(inc->extension, &stats) != STOR_STATUS_SUCCESS)
        return 0;
    return stats.legacy_armed;
}

/*
 * RequestTimerCall with a value: replaces any pending request. Above
 * DISPATCH_LEVEL a full hand-over queue may drop it (S5.7); the call is VOID,
 * so the adapter's legacy_armed count (only we arm it, under exclusion) says
 * whether it was taken.
 */
static void legacy_arm(incarnation *inc, bool raise_to_device)
{
    arm_record *arm = new_arm(inc, NULL, 100 + random_below(2901), 0);
    if (!arm)
        return;
    now_doing(raise_to_device ? "arming the legacy timer at device IRQL"
                              : "arming the legacy timer");
    KIRQL old = raise_to_device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    arm->armed_how = calling_context();
    ULONGLONG armed_before = above_dispatch ? legacy_armed_count(inc) : 0;

    pthread_mutex_lock(&inc->lock);
    arm_record *replaced = inc->legacy_current;
    inc->legacy_current = arm;
    arm->call_time = time_now();
    arm->call_ticket = next_ticket();
    pthread_mutex_unlock(&inc->lock);

    StorPortNotification(RequestTimerCall, inc->extension, legacy_routine, (ULONG)arm->value_us);
    uint64_t end = next_ticket();
    bool taken = !above_dispatch || legacy_armed_count(inc) == armed_before + 1;
    if (raise_to_device)
        stortimer_irql_lower(old);
    tally(&run.count.operations);

    pthread_mutex_lock(&inc->lock);
    arm->returned = true;
    arm->return_ticket = end;
    if (taken) {
        arm->status = STOR_STATUS_SUCCESS;
        if (replaced)
            mark_dead(replaced, end, end, AFTER_CANCEL, "a newer RequestTimerCall (replace)");
        start_counting(arm);
        tally(&run.count.arms);
        tally(&run.count.legacy_arms);
        tally(&inc->arms);
        tally(&inc->legacy_arms);
        if (above_dispatch) {
            tally(&run.count.handed_over);
            tally(&inc->handed_over);
        }
    } else {
        arm->status = STOR_STATUS_INSUFFICIENT_RESOURCES;
        inc->legacy_current = replaced;
        tally(&run.count.handover_refusals);
        tally(&run.count.rejected); /* the library counts the refusal (S5.7) */
    }
    pthread_mutex_unlock(&inc->lock);
}

/* RequestTimerCall with 0 cancels what is pending. */
static void legacy_cancel(incarnation *inc, bool raise_to_device)
{
    now_doing("cancelling the legacy timer");
    KIRQL old = raise_to_device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    StorPortNotification(RequestTimerCall, inc->extension, legacy_routine, (ULONG)0);
    uint64_t end = next_ticket();
    if (raise_to_device)
        stortimer_irql_lower(old);
    tally(&run.count.operations);
    pthread_mutex_lock(&inc->lock);
    arm_record *current = inc->legacy_current;
    if (current) {
        if (above_dispatch)
            mark_maybe_killed(current);
        else
            mark_dead(current, end, end, AFTER_CANCEL, "a legacy cancel (RequestTimerCall 0)");
    }
    pthread_mutex_unlock(&inc->lock);
}

/* ---- Callbacks ---- */

static incarnation *current_incarnation(int slot)
{
    return atomic_load(&slots[slot].current);
}

/* The checks at the start of every callback; returns the saved thread context. */
typedef struct callback_frame {
    incarnation *saved_exclusive;
    timer_record *saved_timer;
    bool saved_legacy;
} callback_frame;

static callback_frame callback_enter(incarnation *inc, timer_record *t, PVOID extension,
                                     const char *who)
{
    callback_frame frame = {exclusive_inc, callback_timer, in_legacy_routine};
    atomic_fetch_add(&run.callbacks_running, 1);
    atomic_fetch_add(&inc->callbacks_started, 1);
    occupancy_enter(inc, who);
    exclusive_inc = inc;
    callback_timer = t;
    in_legacy_routine = t == NULL;
    if (stortimer_irql_current() != DISPATCH_LEVEL)
        violation(BAD_CALLBACK, "%s of adapter %d.%u runs at IRQL %u, not DISPATCH_LEVEL (S8)",
                  who, inc->slot, inc->number, stortimer_irql_current());
    if (extension != inc->extension)
        violation(BAD_CALLBACK, "%s of adapter %d.%u got extension %p, not %p (S5.4)", who,
                  inc->slot, inc->number, extension, inc->extension);
    if (atomic_load(&inc->removed))
        violation(AFTER_FREE, "%s of adapter %d.%u started after the adapter's removal "
                  "returned (S3)", who, inc->slot, inc->number);
    return frame;
}

static void callback_leave(incarnation *inc, const char *who, callback_frame frame)
{
    if (atomic_load(&inc->removed))
        violation(AFTER_FREE, "%s of adapter %d.%u still running when the adapter's removal "
                  "returned (S3)", who, inc->slot, inc->number);
    exclusive_inc = frame.saved_exclusive;
    callback_timer = frame.saved_timer;
    in_legacy_routine = frame.saved_legacy;
    occupancy_leave(inc);
    atomic_fetch_sub(&run.callbacks_running, 1);
}

static bool callbacks_may_act(const incarnation *inc)
{
    return !atomic_load(&run.winding_down) && !atomic_load(&inc->removing);
}

/*
 * While its adapter is being removed, a callback takes a while in real time:
 * the removal must wait for it (S3), on a virtual clock too.
 */
static void keep_a_removal_waiting(const incarnation *inc)
{
    if (atomic_load(&inc->removing))
        sleep_ns(1000 * (200 + random_below(800)));
}

/* Holds the callback a little: widens the windows the checks look into. */
static void linger(void)
{
    StorPortStallExecution(20 + random_below(150)); /* S9: moves a virtual clock */
    tally(&run.count.operations);
}

/* What an extended callback does with its own timer (S5.6, S6.1). */
static void extended_callback_acts(timer_record *t)
{
    unsigned pick = random_below(100);
    if (t->steady && pick >= 25 && pick < 35)
        pick = 0; /* re-arms instead of cancelling or freeing */
    if (pick < 25) {
        arm_extended(t, false); /* the periodic pattern */
    } else if (pick < 31) {
        free_extended(t, false); /* freed from its own callback */
    } else if (pick < 35) {
        arm_extended(t, false);
        cancel_extended(t, one_in(4));
    } else if (pick < 40) {
        legacy_arm(t->inc, false);
    } else if (pick < 43) {
        arm_extended(t, true);
    }
    if (one_in(8))
        linger();
}

static void extended_callback(PVOID extension, PVOID context)
{
    uint64_t fire_time = time_now();
    uint64_t fire_ticket = next_ticket();
    note_progress();
    tally(&run.count.callbacks);
    arm_record *arm = context;
    if (!arm || !arena_holds(&run.arms, arm) || !arm->timer) {
        violation(BAD_CALLBACK, "a callback ran with context %p, which no successful arm "
                  "passed%s", context,
                  arm == &rejected_request_context ? " (a request that had to fail)" : "");
        return;
    }
    timer_record *t = arm->timer;
    incarnation *inc = arm->inc;
    callback_frame frame = callback_enter(inc, t, extension, "a timer callback");
    if (timer_freed(t))
        violation(AFTER_FREE, "callback of timer #%" PRIu64 " (adapter %d.%u) started after "
                  "FreeTimer returned at ticket %" PRIu64 " (S6.1)", t->id, inc->slot,
                  inc->number, atomic_load(&t->freed_ticket));

    pthread_mutex_lock(lock_of_timer(t));
    record_fire(arm, fire_time, fire_ticket);
    pthread_mutex_unlock(lock_of_timer(t));

    if (callbacks_may_act(inc))
        extended_callback_acts(t);
    keep_a_removal_waiting(inc);
    if (one_in(16))
        sched_yield(); /* lets a concurrent FreeTimer overtake us if it does not wait */

    if (timer_freed(t) && !atomic_load(&t->freed_by_own_callback))
        violation(AFTER_FREE, "callback of timer #%" PRIu64 " (adapter %d.%u) still running "
                  "after FreeTimer returned at ticket %" PRIu64 " (S6.1)", t->id, inc->slot,
                  inc->number, atomic_load(&t->freed_ticket));
    callback_leave(inc, "a timer callback", frame);
}

static void legacy_routine(PVOID extension)
{
    uint64_t fire_time = time_now();
    uint64_t fire_ticket = next_ticket();
    note_progress();
    tally(&run.count.callbacks);
    tally(&run.count.legacy_callbacks);
    incarnation *inc = NULL;
    for (int s = 0; s < ADAPTER_SLOT_COUNT && !inc; s++)
        if (current_incarnation(s) && current_incarnation(s)->extension == extension)
            inc = current_incarnation(s);
    if (!inc) {
        violation(BAD_CALLBACK, "HwStorTimer called with extension %p, no live adapter's",
                  extension);
        return;
    }
    callback_frame frame = callback_enter(inc, NULL, extension, "HwStorTimer");

    pthread_mutex_lock(&inc->lock);
    arm_record *arm = inc->legacy_current;
    if (!arm)
        violation(BAD_CALLBACK, "HwStorTimer of adapter %d.%u ran, but RequestTimerCall was "
                  "never called", inc->slot, inc->number);
    else
        record_fire(arm, fire_time, fire_ticket);
    pthread_mutex_unlock(&inc->lock);

    if (callbacks_may_act(inc) && one_in(2))
        legacy_arm(inc, one_in(6)); /* re-armed from its own routine (S7) */
    keep_a_removal_waiting(inc);
    if (one_in(8))
        linger();
    callback_leave(inc, "HwStorTimer", frame);
}

/* ---- Adapters ---- */

static incarnation *create_incarnation(adapter_slot *slot)
{
    incarnation *inc = calloc(1, sizeof *inc);
    if (!inc) {
        fprintf(stderr, "stress: out of memory\n");
        exit(1);
    }
    inc->slot = slot->index;
    inc->number = ++slot->created;
    inc->config = (stortimer_adapter_config){
        .extension_size = 64,
        .max_timers = slot->index == LIMITED_SLOT ? LIMITED_MAX_TIMERS : 0,
        .half_duplex = slot->index == HALF_DUPLEX_SLOT,
        .clock = run.clock,
    };
    pthread_mutex_init(&inc->lock, NULL);
    ULONG status = stortimer_adapter_create(&inc->config, &inc->extension);
    tally(&run.count.operations);
    if (status != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stress %s: stortimer_adapter_create answered %s\n", run.name,
                status_name(status));
        exit(1);
    }
    tally(&run.count.adapters_created);
    pthread_mutex_lock(&run.created_lock);
    inc->next_created = run.created;
    run.created = inc;
    pthread_mutex_unlock(&run.created_lock);
    return inc;
}

/* Read-locks an incarnation's slot; false if it is no longer the current one. */
static bool adapter_enter(incarnation *inc)
{
    pthread_rwlock_rdlock(&slots[inc->slot].lock);
    if (current_incarnation(inc->slot) == inc)
        return true;
    pthread_rwlock_unlock(&slots[inc->slot].lock);
    return false;
}

static void adapter_leave(incarnation *inc)
{
    pthread_rwlock_unlock(&slots[inc->slot].lock);
}

static void compare(const incarnation *inc, const char *when, const char *field,
                    uint64_t library, uint64_t ours)
{
    if (library != ours)
        violation(STATS_MISMATCH, "adapter %d.%u %s: stortimer_stats.%s is %" PRIu64 ", the "
                  "test counted %" PRIu64, inc->slot, inc->number, when, field, library, ours);
}

/* The counts that cannot change while the adapter is quiet (see the header). */
static void compare_adapter_stats(incarnation *inc, const char *when)
{
    stortimer_stats stats;
    ULONG status = stortimer_stats_read(inc->extension, &stats);
    if (status != STOR_STATUS_SUCCESS) {
        violation(STATS_MISMATCH, "stortimer_stats_read on live adapter %d.%u answered %s",
                  inc->slot, inc->number, status_name(status));
        return;
    }
    pthread_mutex_lock(&inc->lock);
    unsigned live = inc->live_timers;
    pthread_mutex_unlock(&inc->lock);
    compare(inc, when, "timers_live", stats.timers_live, live);
    compare(inc, when, "timers_initialized", stats.timers_initialized, atomic_load(&inc->inits));
    compare(inc, when, "timers_freed", stats.timers_freed, atomic_load(&inc->frees));
    compare(inc, when, "armed", stats.armed, atomic_load(&inc->arms));
    compare(inc, when, "legacy_armed", stats.legacy_armed, atomic_load(&inc->legacy_arms));
    compare(inc, when, "busy", stats.busy, atomic_load(&inc->busy));
    compare(inc, when, "handed_over", stats.handed_over, atomic_load(&inc->handed_over));
    compare(inc, when, "lock_misuse", stats.lock_misuse, 0);
}

/* Callbacks check this flag under the StartIo lock: after it, none acts. */
static void quiet_adapter(incarnation *inc)
{
    held_lock held;
    if (lock_take(inc, StartIoLock, &held)) {
        atomic_store(&inc->removing, true);
        lock_drop(&held);
    } else {
        atomic_store(&inc->removing, true);
    }
}

/* After the removal returned: every arm of it is over; its timers are stale. */
static void settle_removal(incarnation *inc, uint64_t end)
{
    pthread_mutex_lock(&inc->lock);
    timer_record *timers = inc->timers;
    if (inc->legacy_current)
        mark_dead(inc->legacy_current, end, end, AFTER_FREE, "the adapter's removal");
    pthread_mutex_unlock(&inc->lock);
    for (timer_record *t = timers; t; t = t->next_of_incarnation) {
        if (timer_freed(t))
            continue; /* already in the stale pool */
        pthread_mutex_lock(lock_of_timer(t));
        for (arm_record *b = t->newest; b; b = b->older)
            mark_dead(b, end, end, AFTER_FREE, "the adapter's removal");
        pthread_mutex_unlock(lock_of_timer(t));
        stale_pool_add(t);
    }
}

static void report_lost_arm(arm_record *arm)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    violation(LOST, "%s returned SUCCESS and never fired; no cancel, free or removal came "
              "after it", what);
    stop_counting(arm);
}

/*
 * Waits until the arms counted by `gauge` have fired (nothing new is armed
 * meanwhile); false if callbacks counted by `callbacks` stopped coming for
 * settle_idle_limit_ns while some were still awaited. Time moves by itself
 * (the real clock, or the advancer), or by `advance` at the end of a run.
 */
static bool await_outstanding(_Atomic int64_t *gauge, _Atomic uint64_t *callbacks,
                              stortimer_clock *advance)
{
    uint64_t seen = atomic_load(callbacks), idle_since = monotonic_ns();
    for (unsigned step = 0; atomic_load(gauge) > 0; step++) {
        if (advance) {
            if (step == 100000)
                return false; /* 100 s of virtual time */
            stortimer_clock_advance(advance, 1000);
            continue;
        }
        sleep_ns(200000);
        uint64_t now_seen = atomic_load(callbacks);
        if (now_seen != seen) {
            seen = now_seen;
            idle_since = monotonic_ns();
        } else if (monotonic_ns() - idle_since > settle_idle_limit_ns) {
            return false;
        }
    }
    return true;
}

/* Every arm of a quiet adapter fires before it goes; any that does not is lost. */
static void let_adapter_settle(incarnation *inc)
{
    now_doing("waiting for an adapter's pending arms before removing it");
    if (await_outstanding(&inc->outstanding, &inc->callbacks_started, NULL))
        return;
    pthread_mutex_lock(&inc->lock);
    timer_record *timers = inc->timers;
    if (inc->legacy_current && inc->legacy_current->outstanding)
        report_lost_arm(inc->legacy_current);
    pthread_mutex_unlock(&inc->lock);
    for (timer_record *t = timers; t; t = t->next_of_incarnation) {
        pthread_mutex_lock(lock_of_timer(t));
        for (arm_record *b = t->newest; b; b = b->older)
            if (b->outstanding)
                report_lost_arm(b);
        pthread_mutex_unlock(lock_of_timer(t));
    }
}

static timer_record *initialize_timer(incarnation *inc, bool steady);

/*
 * Arms a short timer of the (quiet) adapter and gives a callback of it a few
 * milliseconds to start, so that the removal finds one running and must wait
 * for it (S3): callbacks of an adapter being removed linger
 * (keep_a_removal_waiting).
 */
static void wait_for_a_running_callback(incarnation *inc)
{
    now_doing("arming a timer to remove its adapter under its callback");
    timer_record *probe = initialize_timer(inc, true);
    if (probe)
        arm_extended_with(probe, 50, 0, false);
    for (int polls = 0; polls < 400 && atomic_load(&inc->occupancy) == 0 &&
                        atomic_load(&inc->outstanding) > 0;
         polls++)
        sleep_ns(50000);
}

typedef enum removal_style {
    REMOVE_AT_ONCE,            /* cancelling what is pending */
    REMOVE_AFTER_SETTLING,     /* every pending arm fires first */
    REMOVE_UNDER_A_CALLBACK,   /* while one of its callbacks runs */
    REMOVAL_STYLES
} removal_style;

/* Removes the slot's adapter (write lock held); it reports the leaked timers (S3). */
static void remove_incarnation(incarnation *inc, removal_style style)
{
    quiet_adapter(inc);
    if (style == REMOVE_AFTER_SETTLING)
        let_adapter_settle(inc);
    else if (style == REMOVE_UNDER_A_CALLBACK)
        wait_for_a_running_callback(inc);
    compare_adapter_stats(inc, "before removal");
    pthread_mutex_lock(&inc->lock);
    unsigned expected_leaks = inc->live_timers;
    pthread_mutex_unlock(&inc->lock);

    ULONG leaked = 12345;
    ULONG status = stortimer_adapter_remove(inc->extension, &leaked);
    uint64_t end = next_ticket();
    atomic_store(&inc->removed, true);
    count_call(status);
    if (status != STOR_STATUS_SUCCESS) {
        violation(WRONG_STATUS, "stortimer_adapter_remove of adapter %d.%u answered %s",
                  inc->slot, inc->number, status_name(status));
        return;
    }
    atomic_fetch_add(&run.count.leaked, leaked);
    if (leaked != expected_leaks)
        violation(LEAK_MISMATCH, "removing adapter %d.%u reported %u leaked timers; %u were "
                  "initialized and not freed (S3)", inc->slot, inc->number, leaked,
                  expected_leaks);
    settle_removal(inc, end);
}

static void replace_adapter(adapter_slot *slot)
{
    pthread_rwlock_wrlock(&slot->lock);
    remove_incarnation(current_incarnation(slot->index), random_below(REMOVAL_STYLES));
    atomic_store(&slot->current, create_incarnation(slot));
    pthread_rwlock_unlock(&slot->lock);
}

/* ---- Worker operations ---- */

typedef struct worker {
    int index;
    pthread_t thread;
    timer_record *timers[TIMERS_PER_WORKER];
} worker;

static bool timer_dead(timer_record *t)
{
    return timer_freed(t) || atomic_load(&t->inc->removed) ||
           current_incarnation(t->inc->slot) != t->inc;
}

/*
 * S4 on the limited adapter: UNSUCCESSFUL only when max_timers timers may
 * have been live at the call; never more than max_timers certainly live.
 */
static void judge_init_limit(incarnation *inc, ULONG status, uint64_t frees_done_before)
{
    ULONG max = inc->config.max_timers;
    pthread_mutex_lock(&inc->lock);
    unsigned live = inc->live_timers;
    unsigned may_have_been = live + inc->inits_in_flight +
                             (unsigned)(inc->frees_done - frees_done_before);
    unsigned certainly = live > inc->frees_in_flight ? live - inc->frees_in_flight : 0;
    pthread_mutex_unlock(&inc->lock);
    if (status == STOR_STATUS_UNSUCCESSFUL && (!max || may_have_been < max))
        violation(WRONG_STATUS, "InitializeTimer on adapter %d.%u (max_timers %u) answered "
                  "UNSUCCESSFUL with at most %u timers live (S4.3)", inc->slot, inc->number,
                  max, may_have_been);
    if (status == STOR_STATUS_SUCCESS && max && certainly > max)
        violation(WRONG_STATUS, "adapter %d.%u has %u timers live, above max_timers %u (S4.3)",
                  inc->slot, inc->number, certainly, max);
}

/* StorPortInitializeTimer (its slot locked); returns the new timer or NULL. */
static timer_record *initialize_timer(incarnation *inc, bool steady)
{
    timer_record *t = arena_take(&run.timers);
    if (!t)
        return NULL;
    now_doing("initializing a timer");
    pthread_mutex_lock(&inc->lock);
    inc->inits_in_flight++;
    uint64_t frees_done_before = inc->frees_done;
    pthread_mutex_unlock(&inc->lock);

    PVOID handle = &handle; /* must be overwritten */
    ULONG status = StorPortInitializeTimer(inc->extension, &handle);
    count_call(status);

    if (status == STOR_STATUS_SUCCESS) {
        t->id = atomic_fetch_add(&timer_ids, 1) + 1;
        t->inc = inc;
        t->handle = handle;
        t->steady = steady;
        handle_issued(handle, inc);
        tally(&run.count.inits);
        tally(&inc->inits);
    } else if (status != STOR_STATUS_SUCCESS && handle != NULL) {
        violation(WRONG_STATUS, "InitializeTimer answered %s but left *TimerHandle %p, not "
                  "NULL (S4)", status_name(status), handle);
    }
    pthread_mutex_lock(&inc->lock);
    inc->inits_in_flight--;
    if (status == STOR_STATUS_SUCCESS) {
        inc->live_timers++;
        t->next_of_incarnation = inc->timers;
        inc->timers = t;
    }
    pthread_mutex_unlock(&inc->lock);
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_UNSUCCESSFUL)
        violation(WRONG_STATUS, "InitializeTimer at PASSIVE_LEVEL on live adapter %d.%u "
                  "answered %s", inc->slot, inc->number, status_name(status));
    else
        judge_init_limit(inc, status, frees_done_before);
    return status == STOR_STATUS_SUCCESS ? t : NULL; /* a record not used is just left */
}

/* A new timer on a random adapter, for a worker. */
static timer_record *create_timer(bool steady)
{
    incarnation *inc = current_incarnation(random_below(ADAPTER_SLOT_COUNT));
    if (!adapter_enter(inc))
        return NULL;
    timer_record *t = initialize_timer(inc, steady);
    adapter_leave(inc);
    return t;
}

/* S4.1 / S6.1: above DISPATCH_LEVEL Initialize and Free refuse at once. */
static void refuse_above_dispatch(timer_record *t)
{
    now_doing("initializing at device IRQL");
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    PVOID handle = &handle;
    ULONG status = StorPortInitializeTimer(t->inc->extension, &handle);
    stortimer_irql_lower(old);
    count_call(status);
    if (status != STOR_STATUS_INVALID_IRQL || handle != NULL)
        violation(WRONG_STATUS, "InitializeTimer at device IRQL answered %s, handle %p; "
                  "expected INVALID_IRQL and NULL (S4.1)", status_name(status), handle);
    free_extended(t, true);
}

/* One call on the worker's own timer, its adapter read-locked. */
static void act_on_own_timer(timer_record *t)
{
    unsigned pick = random_below(t->steady ? 55 : 100);
    if (pick < 40)
        arm_extended(t, false);
    else if (pick < 55)
        arm_extended(t, true);
    else if (pick < 78)
        cancel_extended(t, false);
    else if (pick < 86)
        cancel_extended(t, true);
    else if (pick < 94)
        free_extended(t, false);
    else
        refuse_above_dispatch(t);
}

/* A few calls holding the adapter's StartIo lock (or the InterruptLock). */
static void act_holding_a_lock(timer_record *t)
{
    incarnation *inc = t->inc;
    STOR_SPINLOCK kind = inc->config.half_duplex && one_in(3) ? InterruptLock
                         : one_in(8)                          ? InterruptLock
                                                              : StartIoLock;
    held_lock held;
    now_doing(kind == StartIoLock ? "holding the StartIo lock" : "holding the InterruptLock");
    if (!lock_take(inc, kind, &held))
        return;
    for (unsigned calls = 1 + random_below(3); calls && !timer_freed(t); calls--) {
        unsigned pick = random_below(100);
        if (t->steady && pick >= 35 && pick < 65)
            pick = 0; /* only armed */
        if (pick < 35)
            arm_extended(t, one_in(3));
        else if (pick < 55)
            cancel_extended(t, one_in(4));
        else if (pick < 65)
            free_extended(t, false); /* S6.1: no wait, a due callback is dropped */
        else if (!held.exclusive) /* the legacy timer wants the StartIo lock */
            arm_extended(t, false);
        else if (pick < 90)
            legacy_arm(inc, one_in(4));
        else
            legacy_cancel(inc, one_in(4));
    }
    lock_drop(&held);
}

/* A dead timer's handle, with a call that must fail (S5.2, S6.2, S6.3, S12). */
static void use_stale_handle(void)
{
    unsigned added = atomic_load(&run.stale_added);
    if (!added)
        return;
    unsigned kept = added < STALE_POOL_SIZE ? added : STALE_POOL_SIZE;
    timer_record *t = atomic_load(&run.stale[random_below(kept)]);
    incarnation *inc = t->inc;
    /* Unlocked, the call races the adapter's removal: only "fails" is certain. */
    bool locked = !one_in(4);
    if (locked)
        pthread_rwlock_rdlock(&slots[inc->slot].lock);
    bool removed_before = atomic_load(&inc->removed);
    bool live = current_incarnation(inc->slot) == inc;
    now_doing("calling with a stale handle");
    if (one_in(2)) {
        bool arm = one_in(2), device = one_in(3);
        KIRQL old = device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
        ULONG status = StorPortRequestTimer(inc->extension, t->handle, extended_callback,
                                            &rejected_request_context, arm ? 100 : 0, 0);
        if (device)
            stortimer_irql_lower(old);
        count_call(status);
        if (status != STOR_STATUS_INVALID_PARAMETER)
            violation(WRONG_STATUS, "RequestTimer(%s) with the stale handle of timer #%" PRIu64
                      " (adapter %d.%u, %s) answered %s, expected INVALID_PARAMETER (S5.2)",
                      arm ? "arm" : "cancel", t->id, inc->slot, inc->number,
                      timer_freed(t) ? "freed" : "removed", status_name(status));
    } else {
        ULONG status = StorPortFreeTimer(inc->extension, t->handle);
        count_call(status);
        /* S6.3 while its adapter lives; S6.2 once it is gone (or names another adapter). */
        ULONG exact = locked && live       ? STOR_STATUS_UNSUCCESSFUL
                      : locked || removed_before ? STOR_STATUS_INVALID_PARAMETER
                                                 : 0;
        bool fails = status == STOR_STATUS_UNSUCCESSFUL || status == STOR_STATUS_INVALID_PARAMETER;
        if (exact ? status != exact : !fails)
            violation(WRONG_STATUS, "FreeTimer with the stale handle of timer #%" PRIu64
                      " (adapter %d.%u, %s, adapter %s) answered %s, expected %s", t->id,
                      inc->slot, inc->number, timer_freed(t) ? "freed" : "removed",
                      live ? "live" : "removed", status_name(status),
                      exact ? status_name(exact) : "UNSUCCESSFUL or INVALID_PARAMETER");
    }
    if (locked)
        pthread_rwlock_unlock(&slots[inc->slot].lock);
}

/* Calls that must answer INVALID_PARAMETER and change nothing. */
static void expect_invalid(ULONG status, const char *call)
{
    count_call(status);
    if (status != STOR_STATUS_INVALID_PARAMETER)
        violation(WRONG_STATUS, "%s answered %s, expected INVALID_PARAMETER", call,
                  status_name(status));
}

/* Made-up handles and extensions on a live adapter (S5.2, S6.2, S12). */
static void use_forged_handle(timer_record *own)
{
    incarnation *inc = own->inc;
    now_doing("calling with a forged handle");
    PVOID forged = (PVOID)(uintptr_t)forged_handle(own->handle);
    if (forged) {
        expect_invalid(StorPortRequestTimer(inc->extension, forged, extended_callback,
                                            &rejected_request_context, 100, 0),
                       "RequestTimer(arm) with a forged handle");
        expect_invalid(StorPortRequestTimer(inc->extension, forged, extended_callback, NULL, 0, 0),
                       "RequestTimer(cancel) with a forged handle");
        expect_invalid(StorPortFreeTimer(inc->extension, forged), "FreeTimer with a forged handle");
    }
    PVOID fake = not_an_extension + random_below(sizeof not_an_extension);
    expect_invalid(StorPortRequestTimer(fake, own->handle, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a forged extension");
    expect_invalid(StorPortFreeTimer(fake, own->handle), "FreeTimer with a forged extension");
    PVOID handle = &handle;
    expect_invalid(StorPortInitializeTimer(fake, &handle),
                   "InitializeTimer with a forged extension");
    /* S7: VOID, counted as misuse and otherwise ignored. */
    StorPortNotification(RequestTimerCall, fake, legacy_routine, (ULONG)100);
    StorPortNotification(RequestTimerCall, inc->extension, NULL, (ULONG)100);
    StorPortNotification(NextRequest, inc->extension);
    atomic_fetch_add(&run.count.operations, 3);
    atomic_fetch_add(&run.count.notification_misuse, 2);
}

/* A live timer's handle with another adapter's extension (S5.2, S6.2). */
static void use_foreign_handle(timer_record *own)
{
    int other = (own->inc->slot + 1 + (int)random_below(ADAPTER_SLOT_COUNT - 1)) %
                ADAPTER_SLOT_COUNT;
    pthread_rwlock_rdlock(&slots[other].lock);
    incarnation *foreign = current_incarnation(other);
    now_doing("calling with another adapter's handle");
    bool device = one_in(3);
    KIRQL old = device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    expect_invalid(StorPortRequestTimer(foreign->extension, own->handle, extended_callback,
                                        &rejected_request_context, one_in(2) ? 100 : 0, 0),
                   "RequestTimer with another adapter's handle");
    if (device)
        stortimer_irql_lower(old);
    else
        expect_invalid(StorPortFreeTimer(foreign->extension, own->handle),
                       "FreeTimer with another adapter's handle");
    pthread_rwlock_unlock(&slots[other].lock);
}

/* NULL arguments (S4.2, S5.1, S6.2); a NULL callback must not even cancel. */
static void use_null_arguments(timer_record *own)
{
    incarnation *inc = own->inc;
    now_doing("calling with NULL arguments");
    expect_invalid(StorPortRequestTimer(NULL, own->handle, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a NULL extension");
    expect_invalid(StorPortRequestTimer(inc->extension, NULL, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a NULL handle");
    expect_invalid(StorPortRequestTimer(inc->extension, own->handle, NULL, NULL, 0, 0),
                   "RequestTimer(cancel) with a NULL callback");
    expect_invalid(StorPortFreeTimer(inc->extension, NULL), "FreeTimer with a NULL handle");
    expect_invalid(StorPortFreeTimer(NULL, own->handle), "FreeTimer with a NULL extension");
    expect_invalid(StorPortInitializeTimer(inc->extension, NULL),
                   "InitializeTimer with a NULL TimerHandle");
}

static void worker_step(worker *w)
{
    unsigned index = random_below(TIMERS_PER_WORKER);
    timer_record *t = w->timers[index];
    if (!t || timer_dead(t)) {
        w->timers[index] = create_timer(index == 0);
        return;
    }
    unsigned pick = random_below(100);
    if (pick < 84) {
        if (!adapter_enter(t->inc))
            return; /* its adapter was replaced just now */
        if (pick < 62)
            act_on_own_timer(t);
        else if (pick < 74)
            act_holding_a_lock(t);
        else if (pick < 79)
            use_forged_handle(t);
        else
            use_null_arguments(t);
        adapter_leave(t->inc);
    } else if (pick < 93) {
        use_stale_handle();
    } else if (pick < 97) {
        use_foreign_handle(t);
    } else if (run.clock) {
        /* Several threads advance at once; never while holding a StartIo lock. */
        now_doing("advancing the virtual clock");
        stortimer_clock_advance(run.clock, 1 + random_below(200));
    } /* else a step off */
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    me = &run.reports[w->index];
    while (!atomic_load(&run.stop_workers) && !atomic_load(&run.arena_full)) {
        worker_step(w);
        now_doing("between steps");
        atomic_fetch_add_explicit(&me->steps, 1, memory_order_relaxed);
        note_progress();
        /* Pauses let timers fire instead of being cancelled by the next call. */
        if (one_in(2))
            sleep_ns(1000 * (1 + random_below(300)));
    }
    return NULL;
}

/* ---- Helper threads ---- */

static void *churn_main(void *arg)
{
    (void)arg;
    me = &run.reports[CHURN_REPORT];
    while (!atomic_load(&run.stop_helpers)) {
        now_doing("sleeping");
        uint64_t pause = (uint64_t)(run.seconds * NS_PER_S / 24) + 1000 * random_below(100000);
        for (uint64_t slept = 0; slept < pause && !atomic_load(&run.stop_helpers);
             slept += 10000000)
            sleep_ns(10000000);
        if (atomic_load(&run.stop_helpers))
            break;
        now_doing("removing and recreating an adapter");
        replace_adapter(&slots[random_below(ADAPTER_SLOT_COUNT)]);
        atomic_fetch_add_explicit(&me->steps, 1, memory_order_relaxed);
        note_progress();
    }
    return NULL;
}

static void *advancer_main(void *arg)
{
    (void)arg;
    me = &run.reports[ADVANCER_REPORT];
    while (!atomic_load(&run.stop_helpers)) {
        now_doing("advancing the virtual clock");
        stortimer_clock_advance(run.clock, 1 + random_below(400));
        atomic_fetch_add_explicit(&me->steps, 1, memory_order_relaxed);
        note_progress();
        if (one_in(4))
            sched_yield();
    }
    return NULL;
}

/* Fails the run when nothing moves for watchdog_limit_ns (or it never ends). */
static void *watchdog_main(void *arg)
{
    (void)arg;
    uint64_t seen = atomic_load(&run.progress), since = monotonic_ns();
    while (!atomic_load(&run.stop_watchdog)) {
        sleep_ns(100000000);
        uint64_t progress = atomic_load(&run.progress), now = monotonic_ns();
        if (progress != seen) {
            seen = progress;
            since = now;
        }
        bool stuck = now - since >= watchdog_limit_ns;
        bool overdue = now > atomic_load(&run.deadline_ns);
        if (!stuck && !overdue)
            continue;
        if (stuck)
            fprintf(stderr, "stress %s: WATCHDOG: no progress for %" PRIu64 " s: deadlock?\n",
                    run.name, watchdog_limit_ns / NS_PER_S);
        else
            fprintf(stderr, "stress %s: WATCHDOG: the run did not end %" PRIu64 " s after its "
                    "active time: livelock?\n", run.name, wind_down_limit_ns / NS_PER_S);
        for (int i = 0; i < REPORT_COUNT; i++) {
            thread_report *r = &run.reports[i];
            if (!r->name[0])
                continue;
            const char *doing = atomic_load(&r->doing);
            fprintf(stderr, "  %-10s %8" PRIu64 " steps, last: %s\n", r->name,
                    atomic_load(&r->steps), doing ? doing : "(not started)");
        }
        fprintf(stderr, "  callbacks running now: %d, arms outstanding: %" PRId64
                ", last ticket: %" PRIu64 "\n", atomic_load(&run.callbacks_running),
                atomic_load(&run.outstanding), atomic_load(&tickets));
        fflush(stderr);
        abort();
    }
    return NULL;
}

/* Library misuse reports: this test misuses nothing, so each is a finding. */
static void on_library_report(const char *message, void *context)
{
    (void)context;
    violation(LIBRARY_REPORT, "the library reported: %s", message);
}

/* ---- One run ---- */

static void run_prepare(const char *name, stortimer_clock *clock, double seconds)
{
    memset(&run, 0, sizeof run);
    run.name = name;
    run.clock = clock;
    run.seconds = seconds;
    arena_init(&run.arms, sizeof(arm_record));
    arena_init(&run.timers, sizeof(timer_record));
    pthread_mutex_init(&run.created_lock, NULL);
    for (int i = 0; i < WORKER_COUNT; i++)
        snprintf(run.reports[i].name, sizeof run.reports[i].name, "worker %d", i + 1);
    snprintf(run.reports[CHURN_REPORT].name, sizeof run.reports[0].name, "churn");
    if (clock)
        snprintf(run.reports[ADVANCER_REPORT].name, sizeof run.reports[0].name, "advancer");
    snprintf(run.reports[MAIN_REPORT].name, sizeof run.reports[0].name, "main");
    me = &run.reports[MAIN_REPORT];

    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    /* Writer-preferring, so that the churn thread is not starved by the workers. */
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++) {
        slots[s] = (adapter_slot){.index = s};
        pthread_rwlock_init(&slots[s].lock, &attributes);
        atomic_store(&slots[s].current, create_incarnation(&slots[s]));
    }
    pthread_rwlockattr_destroy(&attributes);
}

/*
 * Lets every due callback run. Callbacks that start from now on arm nothing;
 * once none is running, none that started earlier can still be arming.
 */
static void let_due_callbacks_run(void)
{
    now_doing("waiting for due callbacks");
    atomic_store(&run.winding_down, true);
    while (atomic_load(&run.callbacks_running) > 0)
        sleep_ns(100000);
    /* What never comes is reported next. */
    await_outstanding(&run.outstanding, &run.count.callbacks, run.clock);
}

static pthread_mutex_t *lock_of_arm(const arm_record *arm)
{
    return arm->timer ? lock_of_timer(arm->timer) : &arm->inc->lock;
}

/*
 * Once every due callback had its chance and before the final removals: a
 * successful arm that neither fired nor met a cancel, free or removal that
 * may have stopped it is lost.
 */
static void report_lost_arms(void)
{
    for (uint64_t i = 0; i < arena_count(&run.arms); i++) {
        arm_record *arm = arena_at(&run.arms, i);
        if (!arm->inc)
            continue; /* taken, never used: the arena ran full */
        pthread_mutex_lock(lock_of_arm(arm));
        if (arm->outstanding)
            report_lost_arm(arm);
        pthread_mutex_unlock(lock_of_arm(arm));
    }
}

/* Successful arms whose callback never started: all cancelled before it could. */
static uint64_t count_never_fired(void)
{
    uint64_t never_fired = 0;
    for (uint64_t i = 0; i < arena_count(&run.arms); i++) {
        arm_record *arm = arena_at(&run.arms, i);
        if (!arm->inc)
            continue;
        pthread_mutex_lock(lock_of_arm(arm));
        never_fired += arm->returned && arm->status == STOR_STATUS_SUCCESS && !arm->fired;
        pthread_mutex_unlock(lock_of_arm(arm));
    }
    return never_fired;
}

static void check_process_stats(const stortimer_stats *before, uint64_t never_fired)
{
    stortimer_stats after;
    stortimer_stats_read(NULL, &after);
    const struct {
        const char *field;
        uint64_t library, ours;
    } rows[] = {
        {"timers_initialized", after.timers_initialized - before->timers_initialized,
         run.count.inits},
        {"timers_freed", after.timers_freed - before->timers_freed, run.count.frees},
        {"timers_leaked", after.timers_leaked - before->timers_leaked, run.count.leaked},
        {"timers_live", after.timers_live, 0},
        {"armed", after.armed - before->armed, run.count.arms},
        {"fired", after.fired - before->fired, run.count.callbacks},
        {"cancelled", after.cancelled - before->cancelled, never_fired},
        {"busy", after.busy - before->busy, run.count.busy},
        {"legacy_armed", after.legacy_armed - before->legacy_armed, run.count.legacy_arms},
        {"legacy_fired", after.legacy_fired - before->legacy_fired, run.count.legacy_callbacks},
        {"handed_over", after.handed_over - before->handed_over, run.count.handed_over},
        {"rejected", after.rejected - before->rejected, run.count.rejected},
        {"notification_misuse", after.notification_misuse - before->notification_misuse,
         run.count.notification_misuse},
        {"lock_misuse", after.lock_misuse - before->lock_misuse, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].library != rows[i].ours)
            violation(STATS_MISMATCH, "process stortimer_stats.%s changed by %" PRIu64
                      " over the run; the test counted %" PRIu64, rows[i].field,
                      rows[i].library, rows[i].ours);
}

static void release_run(void)
{
    incarnation *inc = run.created;
    while (inc) {
        incarnation *next = inc->next_created;
        pthread_mutex_destroy(&inc->lock);
        free(inc);
        inc = next;
    }
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++)
        pthread_rwlock_destroy(&slots[s].lock);
    arena_release(&run.arms);
    arena_release(&run.timers);
    pthread_mutex_destroy(&run.created_lock);
}

typedef struct run_threads {
    pthread_t watchdog, churn, advancer;
    worker workers[WORKER_COUNT];
} run_threads;

static void start_threads(run_threads *threads)
{
    atomic_store(&run.deadline_ns, monotonic_ns() + (uint64_t)(run.seconds * NS_PER_S) +
                                       wind_down_limit_ns);
    pthread_create(&threads->watchdog, NULL, watchdog_main, NULL);
    for (int i = 0; i < WORKER_COUNT; i++) {
        threads->workers[i] = (worker){.index = i};
        pthread_create(&threads->workers[i].thread, NULL, worker_main, &threads->workers[i]);
    }
    pthread_create(&threads->churn, NULL, churn_main, NULL);
    if (run.clock)
        pthread_create(&threads->advancer, NULL, advancer_main, NULL);
}

/* Lets the threads work for run.seconds; returns how long they did. */
static double let_them_work(void)
{
    now_doing("sleeping through the run");
    uint64_t started = monotonic_ns();
    while (monotonic_ns() - started < (uint64_t)(run.seconds * NS_PER_S) &&
           !atomic_load(&run.arena_full))
        sleep_ns(10000000);
    double active = (double)(monotonic_ns() - started) / NS_PER_S;
    if (atomic_load(&run.arena_full))
        fprintf(stderr, "stress %s: record space full after %.1f s; the run ends there\n",
                run.name, active);
    return active;
}

static void stop_threads(run_threads *threads)
{
    now_doing("stopping the workers");
    atomic_store(&run.stop_workers, true);
    for (int i = 0; i < WORKER_COUNT; i++)
        pthread_join(threads->workers[i].thread, NULL);
    now_doing("stopping the helpers");
    atomic_store(&run.stop_helpers, true);
    pthread_join(threads->churn, NULL);
    if (run.clock)
        pthread_join(threads->advancer, NULL);
}

/* Every pending arm fires, what never does is lost; then the adapters go. */
static void wind_down(void)
{
    let_due_callbacks_run();
    report_lost_arms();
    now_doing("removing the adapters");
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++) {
        pthread_rwlock_wrlock(&slots[s].lock);
        remove_incarnation(current_incarnation(s), REMOVE_AT_ONCE);
        pthread_rwlock_unlock(&slots[s].lock);
    }
    if (run.clock)
        stortimer_clock_advance(run.clock, 10 * 1000 * 1000); /* nothing may fire any more */
}

/* The one summary line on stdout, and some details on stderr; returns the violations. */
static uint64_t print_summary(double active, uint64_t never_fired)
{
    uint64_t total = 0;
    for (int k = 0; k < VIOLATION_KINDS; k++)
        total += atomic_load(&run.violations[k]);
    if (atomic_load(&run.messages) > MESSAGES_SHOWN)
        fprintf(stderr, "stress %s: ... %u more violations not described\n", run.name,
                atomic_load(&run.messages) - MESSAGES_SHOWN);
    printf("stress %s: %.1f s, %d threads, %" PRIu64 " adapters created, %" PRIu64
           " operations, %" PRIu64 " arms, %" PRIu64 " callbacks, %" PRIu64
           " cancelled before start, %" PRIu64 " lost, %" PRIu64 " duplicated, %" PRIu64
           " early, %" PRIu64 " overlaps, %" PRIu64 " after-free, %" PRIu64 " violations\n",
           run.name, active, WORKER_COUNT, run.count.adapters_created, run.count.operations,
           run.count.arms, run.count.callbacks, never_fired, run.violations[LOST],
           run.violations[DUPLICATED], run.violations[EARLY], run.violations[OVERLAP],
           run.violations[AFTER_FREE], total);
    fflush(stdout);
    fprintf(stderr, "stress %s: details: %" PRIu64 " busy, %" PRIu64 " handed over, %" PRIu64
            " timers (%" PRIu64 " freed, %" PRIu64 " leaked), %" PRIu64 " legacy arms, %" PRIu64
            " legacy callbacks, %" PRIu64 " rejected calls, %" PRIu64 " hand-over refusals\n",
            run.name, run.count.busy, run.count.handed_over, run.count.inits, run.count.frees,
            run.count.leaked, run.count.legacy_arms, run.count.legacy_callbacks,
            run.count.rejected, run.count.handover_refusals);
    return total;
}

/* Runs the stress for `seconds` on the real clock or a virtual one; true if clean. */
static bool stress(bool virtual_clock, double seconds)
{
    stortimer_clock *clock = virtual_clock ? stortimer_clock_virtual_create() : NULL;
    if (virtual_clock && !clock) {
        fprintf(stderr, "stress: cannot create a virtual clock\n");
        exit(1);
    }
    stortimer_stats before;
    stortimer_stats_read(NULL, &before);
    run_prepare(virtual_clock ? "virtual" : "real", clock, seconds);

    static run_threads threads;
    start_threads(&threads);
    double active = let_them_work();
    stop_threads(&threads);
    wind_down();
    uint64_t never_fired = count_never_fired();
    check_process_stats(&before, never_fired);
    atomic_store(&run.stop_watchdog, true);
    pthread_join(threads.watchdog, NULL);
    if (clock)
        stortimer_clock_destroy(clock);

    uint64_t violations = print_summary(active, never_fired);
    release_run();
    return violations == 0;
}

/* STORTIMER_STRESS_SECONDS sets the length of each run. */
static double seconds_from_environment(double fallback)
{
    const char *text = getenv("STORTIMER_STRESS_SECONDS");
    if (!text || !*text)
        return fallback;
    char *end;
    double seconds = strtod(text, &end);
    if (*end || !(seconds > 0) || seconds > 3600) {
        fprintf(stderr, "stress: STORTIMER_STRESS_SECONDS=%s is not a duration in seconds\n",
                text);
        exit(2);
    }
    return seconds;
}

int main(void)
{
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
    handle_table = calloc(HANDLE_TABLE_SIZE, sizeof *handle_table);
    if (!handle_table) {
        fprintf(stderr, "stress: out of memory\n");
        return 1;
    }
    stortimer_set_report_handler(on_library_report, NULL);
    bool clean = stress(false, seconds_from_environment(default_real_seconds));
    clean &= stress(true, seconds_from_environment(default_virtual_seconds));
    stortimer_set_report_handler(NULL, NULL);
    free(handle_table);
    return clean ? 0 : 1;
}
