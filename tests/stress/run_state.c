/*
 * run_state.c - the state of a run and the small helpers every file uses:
 * time, chance, tickets, progress, tallies, violations, where a call is made
 * from, and the stripe locks over the timer records.
 */
#include "stress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

struct run run;
adapter_slot slots[ADAPTER_SLOT_COUNT];
_Atomic uint64_t tickets;
arm_record rejected_request_context;

_Thread_local thread_report *me;
_Thread_local incarnation *exclusive_inc;
_Thread_local STOR_SPINLOCK held_lock_kind;
_Thread_local timer_record *callback_timer;
_Thread_local bool in_legacy_routine;

static pthread_mutex_t stripes[LOCK_STRIPES];

static const char *const violation_names[VIOLATION_KINDS] = {
    "lost", "duplicated", "early", "overlap", "after-free", "after-cancel", "status",
    "busy", "callback", "handle", "leak", "stats", "library report",
};

/* ---- Time and chance ---- */

uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    nanosleep(&ts, NULL);
}

/* A per-thread xorshift generator; library threads seed theirs on first use. */
static _Thread_local uint64_t rng_state;

uint64_t random_u64(void)
{
    if (!rng_state)
        rng_state = (monotonic_ns() ^ (uint64_t)(uintptr_t)&rng_state) | 1;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

unsigned random_below(unsigned n)
{
    return (unsigned)(random_u64() % n);
}

bool one_in(unsigned n)
{
    return random_below(n) == 0;
}

/* TimerValue: long enough that some arms are cancelled before they fire. */
uint64_t random_timer_value(void)
{
    return 50 + random_below(2951);
}

/* TolerableDelay: mostly none, sometimes below the 32 us floor, sometimes a window. */
uint64_t random_window(void)
{
    unsigned pick = random_below(20);
    if (pick < 12)
        return 0;
    if (pick < 15)
        return random_below(32);
    return 32 + random_below(969);
}

/* The run's clock: nanoseconds on the real clock, microseconds on a virtual one. */
uint64_t time_now(void)
{
    return run.clock ? stortimer_clock_now(run.clock) : monotonic_ns();
}

uint64_t time_of_us(uint64_t us)
{
    return run.clock ? us : us * 1000;
}

const char *time_unit(void)
{
    return run.clock ? "us" : "ns";
}

/* ---- Tickets and progress ---- */

uint64_t next_ticket(void)
{
    return atomic_fetch_add(&tickets, 1) + 1;
}

void note_progress(void)
{
    atomic_fetch_add_explicit(&run.progress, 1, memory_order_relaxed);
}

void now_doing(const char *what)
{
    if (me)
        atomic_store_explicit(&me->doing, what, memory_order_relaxed);
}

/* A thread of the test finished one step of its loop. */
void step_done(void)
{
    atomic_fetch_add_explicit(&me->steps, 1, memory_order_relaxed);
    note_progress();
}

/* ---- Tallies and violations ---- */

void tally(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Every call into the library is an operation; error answers are "rejected". */
void count_call(ULONG status)
{
    tally(&run.count.operations);
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_BUSY)
        tally(&run.count.rejected);
}

void violation(violation_kind kind, const char *format, ...)
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

/* Library misuse reports: this test misuses nothing, so each is a finding. */
void on_library_report(const char *message, void *context)
{
    (void)context;
    violation(LIBRARY_REPORT, "the library reported: %s", message);
}

const char *status_name(ULONG status)
{
    return stortimer_status_name(status);
}

/* ---- Where a call is made from ---- */

/* Where a call is made from, as the library sees it. */
const char *calling_context(void)
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

KIRQL raise_to_device_if(bool raise)
{
    return raise ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
}

void lower_if(bool raised, KIRQL old)
{
    if (raised)
        stortimer_irql_lower(old);
}

/* ---- Stripe locks over the timer records ---- */

void timer_stripes_init(void)
{
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

pthread_mutex_t *lock_of_timer(const timer_record *t)
{
    return &stripes[t->id % LOCK_STRIPES];
}
