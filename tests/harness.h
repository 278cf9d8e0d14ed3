/*
 * harness.h - a small test runner: one behaviour per test function.
 *
 *   TEST(s4_1_init_above_dispatch_is_invalid_irql) { ... CHECK(...); }
 *   TEST_BOTH(s5_4_1_never_early) { ... fx ... }   runs on a virtual and a real clock
 *
 * A failed CHECK ends its test; the binary runs every test (or those whose
 * name contains argv[1]) and closes with "N passed, N failed".
 */
#ifndef STORTIMER_TEST_HARNESS_H
#define STORTIMER_TEST_HARNESS_H

#include "stortimer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fixture {
    const char *name;        /* "virtual" or "real" */
    stortimer_clock *clock;  /* NULL on the real clock */
} fixture;

/* Runs fn(arg) when the test body has returned (not after a failed CHECK),
 * last registered first: clean-up that would clutter every test. */
void test_at_end(void (*fn)(void *), void *arg);

void test_register(const char *name, void (*plain)(void), void (*on_clock)(fixture *), bool real);
_Noreturn void test_fail(const char *file, int line, const char *what);
void test_failf(const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST_REGISTER_(id, name, plain, on_clock, real)                           \
    __attribute__((constructor)) static void register_##id(void)                  \
    {                                                                             \
        test_register(name, plain, on_clock, real);                               \
    }

#define TEST(name)                                                                \
    static void name(void);                                                       \
    TEST_REGISTER_(name, #name, name, 0, false)                                   \
    static void name(void)

/* A test run twice: on a virtual clock, then on the real one. */
#define TEST_BOTH(name)                                                           \
    static void name(fixture *fx);                                                \
    TEST_REGISTER_(name##_virtual, #name "[virtual]", 0, name, false)             \
    TEST_REGISTER_(name##_real, #name "[real]", 0, name, true)                    \
    static void name(fixture *fx)

/* A test that only makes sense on the real clock. */
#define TEST_REAL(name)                                                           \
    static void name(fixture *fx);                                                \
    TEST_REGISTER_(name##_real, #name "[real]", 0, name, true)                    \
    static void name(fixture *fx)

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond))                                                              \
            test_fail(__FILE__, __LINE__, #cond);                                 \
    } while (0)

#define CHECK_STATUS(call, expected)                                              \
    do {                                                                          \
        ULONG got_ = (call);                                                      \
        ULONG want_ = (expected);                                                 \
        if (got_ != want_) {                                                      \
            test_failf(__FILE__, __LINE__, "%s\n      returned %s, expected %s",  \
                       #call, stortimer_status_name(got_),                        \
                       stortimer_status_name(want_));                             \
        }                                                                         \
    } while (0)

#define CHECK_EQ(a, b)                                                            \
    do {                                                                          \
        unsigned long long a_ = (unsigned long long)(a);                          \
        unsigned long long b_ = (unsigned long long)(b);                          \
        if (a_ != b_)                                                             \
            test_failf(__FILE__, __LINE__, "%s == %s\n      %llu != %llu", #a, #b,  \
                       a_, b_);                                                   \
    } while (0)

/* ---- fixture helpers ---- */

/* An adapter on the fixture's clock; fails the test if it cannot be made. */
PVOID fx_adapter(fixture *fx, ULONG max_timers);
PVOID fx_adapter_config(fixture *fx, stortimer_adapter_config config);

/* Removes it, checking SUCCESS; returns the leaked timer count. */
ULONG fx_remove(PVOID extension);

/* Lets `us` microseconds pass: advances a virtual clock, sleeps on the real one. */
void fx_pass(fixture *fx, ULONGLONG us);

/* The fixture clock's time. */
ULONGLONG fx_now(fixture *fx);

/*
 * Waits until *counter >= target: at once on a virtual clock (time must
 * already have been passed), up to a few seconds on the real one. Returns
 * whether it got there.
 */
bool fx_await(fixture *fx, _Atomic int *counter, int target);

/*
 * Lets `us` pass and waits until *counter reaches target. On a virtual clock
 * it first passes us - 1 and checks the counter has not reached target yet
 * (never early), then the last microsecond; on the real clock it sleeps and
 * waits up to a few seconds. False if it fired early or never.
 */
bool fx_pass_until_fired(fixture *fx, ULONGLONG us, _Atomic int *counter, int target);

/* On the real clock, a pause long enough that a wrongly queued callback
 * would have run; nothing on a virtual clock. */
void fx_settle(fixture *fx);

/* Sleeps on the real clock regardless of the fixture. */
void sleep_us(ULONGLONG us);

/* Starts a thread running fn(arg); joins it. */
typedef struct test_thread test_thread;
test_thread *thread_start(void *(*fn)(void *), void *arg);
void *thread_join(test_thread *t);

/* Advances a virtual clock by `us` on a new thread (join it: fx_join); NULL on the real clock. */
test_thread *fx_pass_elsewhere(fixture *fx, ULONGLONG us);

/* Joins what fx_pass_elsewhere started; NULL (the real clock) does nothing. */
void fx_join(test_thread *t);

/* A fixture of fx's kind on a clock of its own: a new virtual one (gone at test end), or real. */
fixture fx_another_clock(fixture *fx);

/* ---- a callback that records what it saw ---- */

#define PROBE_MAX 64

typedef struct probe {
    fixture *fx;
    PVOID extension;                 /* expected DeviceExtension */
    _Atomic int fired;
    ULONGLONG at[PROBE_MAX];         /* clock reading at each call */
    KIRQL irql[PROBE_MAX];           /* IRQL seen inside */
    PVOID seen_extension[PROBE_MAX];
    PVOID seen_context[PROBE_MAX];
    /* Optional: run inside the callback after recording. */
    void (*then)(struct probe *p, PVOID extension);
    void *user;
} probe;

/* Prepares a probe for an adapter on the fixture's clock. */
void probe_init(probe *p, fixture *fx, PVOID extension);

/* An HW_TIMER_EX: Context must be a probe. */
HW_TIMER_EX probe_callback;

/* Collects report-handler messages for a test to look at. */
void reports_capture(void);
int reports_count(void);
bool reports_contain(const char *needle);
void reports_release(void);


/* ---- shared shortcuts ---- */

/* CLOCK_MONOTONIC in nanoseconds, and the kernel's id of the calling thread. */
uint64_t mono_ns(void);
long thread_id(void);

/* One virtual clock fixture per test process, for exact-time checks. */
/* A virtual clock destroyed when the test ends (remove its adapters first). */
stortimer_clock *test_virtual_clock(void);
fixture *virtual_fixture(void);

/* An adapter on virtual_fixture()'s clock. */
PVOID virtual_adapter(ULONG max_timers);

/* A new timer of the adapter; fails the test if it cannot be made. */
PVOID new_timer(PVOID ext);

/* Arms a timer, checking SUCCESS. */
void arm(PVOID ext, PVOID handle, PHW_TIMER_EX callback, PVOID context,
         ULONGLONG value, ULONGLONG window);

/* Polls until *flag >= target for at most limit_ms of real time. */
bool wait_for(_Atomic int *flag, int target, int limit_ms);

/* An adapter's statistics (NULL: the process's), checking SUCCESS. */
stortimer_stats stats_of(PVOID ext);

/* Checks a fire time: exact on a virtual clock, never early on the real one. */
#define check_fired_at(fx, at, called, value)                                     \
    do {                                                                          \
        if ((fx)->clock)                                                          \
            CHECK_EQ((at), (called) + (value));                                   \
        else                                                                      \
            CHECK((at) - (called) >= (value));                                    \
    } while (0)

/* Advances a virtual clock on another thread (so that callbacks run there):
 * thread_start(advance_thread, &(advancer){clock, us}). */
typedef struct advancer {
    stortimer_clock *clock;
    ULONGLONG us;
} advancer;
void *advance_thread(void *arg);

#endif
