/*
 * stress.h - what the files of test_stress share: the shape of the test, the
 * records of adapters, timers and arms, the run's state, and the functions
 * each file offers the others, under a heading naming that file. main.c
 * describes the test and how its accounting stays exact.
 */
#ifndef STRESS_H
#define STRESS_H

#include "stortimer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- Violations, by kind (the summary line shows the first six) ---- */

typedef enum violation_kind {
    LOST, DUPLICATED, EARLY, OVERLAP, AFTER_FREE, AFTER_CANCEL, WRONG_STATUS,
    WRONG_BUSY, BAD_CALLBACK, BAD_HANDLE, LEAK_MISMATCH, STATS_MISMATCH,
    LIBRARY_REPORT, VIOLATION_KINDS
} violation_kind;

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

struct run {
    const char *name;            /* "real" or "virtual" */
    stortimer_clock *clock;      /* NULL: the real clock */
    double seconds;
    atomic_bool stop_workers, stop_churn, stop_advancer, stop_watchdog, winding_down,
        arena_full;
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
};

extern struct run run;
extern adapter_slot slots[ADAPTER_SLOT_COUNT];
extern _Atomic uint64_t tickets;

/* Passed as CallbackContext by calls that must fail: it must never come back. */
extern arm_record rejected_request_context;

/* What the calling thread is doing, for the accounting and for messages. */
extern _Thread_local thread_report *me;
extern _Thread_local incarnation *exclusive_inc;   /* holds its StartIo lock or runs its callback */
extern _Thread_local STOR_SPINLOCK held_lock_kind;  /* 0: none */
extern _Thread_local timer_record *callback_timer;  /* whose callback runs on this thread */
extern _Thread_local bool in_legacy_routine;

/* ---- run_state.c: time, chance, tickets, tallies, violations ---- */

uint64_t monotonic_ns(void);
void sleep_ns(uint64_t ns);
uint64_t random_u64(void);
unsigned random_below(unsigned n);
bool one_in(unsigned n);
uint64_t random_timer_value(void);
uint64_t random_window(void);
uint64_t next_ticket(void);
void note_progress(void);
void now_doing(const char *what);
void step_done(void);
uint64_t time_now(void);
uint64_t time_of_us(uint64_t us);
const char *time_unit(void);
void tally(_Atomic uint64_t *counter);
void count_call(ULONG status);
void violation(violation_kind kind, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void on_library_report(const char *message, void *context);
const char *status_name(ULONG status);
const char *calling_context(void);
/* Raises the thread to device IRQL when asked to; returns the IRQL to lower to. */
KIRQL raise_to_device_if(bool raise);
void lower_if(bool raised, KIRQL old);
pthread_mutex_t *lock_of_timer(const timer_record *t);
void timer_stripes_init(void);

/* ---- arena.c ---- */

void arena_init(arena *a, size_t record_size);
void arena_release(arena *a);
void *arena_take(arena *a);
uint64_t arena_count(arena *a);
void *arena_at(arena *a, uint64_t index);
bool arena_holds(arena *a, const void *p);

/* ---- handles.c ---- */

bool handles_init(void);
void handles_release(void);
void handle_issued(PVOID handle, const incarnation *inc);
uint64_t forged_handle(PVOID model);

/* ---- exclusion.c ---- */

typedef struct held_lock {
    incarnation *inc;
    STOR_LOCK_HANDLE handle;
    bool exclusive;              /* excludes the adapter's callbacks */
} held_lock;

void occupancy_enter(incarnation *inc, const char *who);
void occupancy_leave(incarnation *inc);
bool lock_take(incarnation *inc, STOR_SPINLOCK kind, held_lock *held);
void lock_drop(held_lock *held);
uint64_t flush_started_callbacks(incarnation *inc);

/* ---- arm_fate.c ---- */

arm_record *new_arm(incarnation *inc, timer_record *timer, uint64_t value_us,
                    uint64_t window_us);
void describe_arm(const arm_record *arm, char *text, size_t size);
void start_counting(arm_record *arm);
void count_successful_arm(incarnation *inc, bool above_dispatch);
void mark_dead(arm_record *arm, uint64_t end, uint64_t flush, violation_kind kind,
               const char *why);
void mark_maybe_killed(arm_record *arm);
void record_fire(arm_record *arm, uint64_t fire_time, uint64_t fire_ticket);
void report_lost_arm(arm_record *arm);
bool await_outstanding(_Atomic int64_t *gauge, _Atomic uint64_t *callbacks,
                       stortimer_clock *advance);

/* ---- timer_arms.c ---- */

void link_arm(timer_record *t, arm_record *arm);
void unlink_arm(timer_record *t, arm_record *arm);
bool timer_freed(const timer_record *t);
void end_every_arm(timer_record *t, uint64_t end, const char *why);
void describe_history(const timer_record *t, char *text, size_t size);
bool busy_is_explained(const timer_record *t, const arm_record *arm);
void prune_settled_arms(timer_record *t);
void check_not_pending_before(const timer_record *t, const arm_record *arm);

/* ---- extended_timer_calls.c ---- */

void arm_extended_with(timer_record *t, uint64_t value_us, uint64_t window_us,
                       bool raise_to_device);
void arm_extended(timer_record *t, bool raise_to_device);
void cancel_extended(timer_record *t, bool raise_to_device);
void free_extended(timer_record *t, bool raise_to_device);
void stale_pool_add(timer_record *t);

/* ---- legacy_timer_calls.c ---- */

void legacy_arm(incarnation *inc, bool raise_to_device);
void legacy_cancel(incarnation *inc, bool raise_to_device);

/* ---- callbacks.c ---- */

HW_TIMER_EX extended_callback;
HW_TIMER legacy_routine;

/* ---- adapters.c ---- */

typedef enum removal_style {
    REMOVE_AT_ONCE,            /* cancelling what is pending */
    REMOVE_AFTER_SETTLING,     /* every pending arm fires first */
    REMOVE_UNDER_A_CALLBACK,   /* while one of its callbacks runs */
    REMOVAL_STYLES
} removal_style;

incarnation *current_incarnation(int slot);
incarnation *create_incarnation(adapter_slot *slot);
bool adapter_enter(incarnation *inc);
void adapter_leave(incarnation *inc);
void remove_incarnation(incarnation *inc, removal_style style);
void *churn_main(void *arg);

/* ---- timer_creation.c ---- */

timer_record *initialize_timer(incarnation *inc, bool steady);
timer_record *create_timer(bool steady);
void refuse_above_dispatch(timer_record *t);

/* ---- invalid_calls.c ---- */

void use_stale_handle(void);
void use_forged_handle(timer_record *own);
void use_foreign_handle(timer_record *own);
void use_null_arguments(timer_record *own);

/* ---- workers.c ---- */

typedef struct worker {
    int index;
    pthread_t thread;
    timer_record *timers[TIMERS_PER_WORKER];
} worker;

void *worker_main(void *arg);

/* ---- virtual_time.c ---- */

void *advancer_main(void *arg);
void advance_from_worker(void);

/* ---- watchdog.c ---- */

void watchdog_start(pthread_t *thread);
void watchdog_stop(pthread_t thread);

/* ---- final_checks.c ---- */

void let_due_callbacks_run(void);
void report_lost_arms(void);
uint64_t count_never_fired(void);
void check_process_stats(const stortimer_stats *before, uint64_t never_fired);
uint64_t print_summary(double active, uint64_t never_fired);

/* ---- dpc_signals.c: DPCs and pauses from signal handlers (S14, S16) ---- */
bool dpc_signal_stress(double seconds);

#endif
