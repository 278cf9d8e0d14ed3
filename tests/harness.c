/*
 * harness.c - runs each test in a child process (a crash or a hang fails
 * that test alone, and no test sees another's adapters), with a time limit.
 */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 512
#define TEST_TIME_LIMIT_S 60
#define AT_END_MAX 16

/* Under AddressSanitizer every test case's process checks for leaks before
 * it exits (a plain _exit skips LeakSanitizer's own check at exit). */
#if defined(__SANITIZE_ADDRESS__)
#define HARNESS_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARNESS_LEAK_CHECK 1
#endif
#endif
#ifdef HARNESS_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

typedef struct test_case {
    const char *name;
    void (*plain)(void);
    void (*on_clock)(fixture *);
    bool real;
} test_case;

static test_case tests[MAX_TESTS];
static int test_count;

void test_register(const char *name, void (*plain)(void), void (*on_clock)(fixture *), bool real)
{
    if (test_count == MAX_TESTS) {
        fprintf(stderr, "harness: more than %d tests\n", MAX_TESTS);
        exit(2);
    }
    tests[test_count++] = (test_case){name, plain, on_clock, real};
}

void test_fail(const char *file, int line, const char *what)
{
    test_failf(file, line, "%s", what);
    exit(1); /* not reached */
}

void test_failf(const char *file, int line, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "    %s:%d: check failed: ", file, line);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    fflush(stderr);
    _exit(1);
}

static struct {
    void (*fn)(void *);
    void *arg;
} at_end[AT_END_MAX];
static int at_end_count;

void test_at_end(void (*fn)(void *), void *arg)
{
    if (at_end_count == AT_END_MAX)
        test_fail(__FILE__, __LINE__, "too many test_at_end calls");
    at_end[at_end_count].fn = fn;
    at_end[at_end_count++].arg = arg;
}

static void ignore_report(const char *message, void *context)
{
    (void)message;
    (void)context;
}

/* A test that leaves adapters on its clock keeps the clock (and is not
 * told so: the clock is still reachable through them, not leaked). */
static void destroy_clock(void *clock)
{
    stortimer_set_report_handler(ignore_report, NULL);
    stortimer_clock_destroy(clock);
    stortimer_set_report_handler(NULL, NULL);
}

static void run_at_end(void)
{
    while (at_end_count) {
        at_end_count--;
        at_end[at_end_count].fn(at_end[at_end_count].arg);
    }
}

static void run_one(const test_case *t)
{
    alarm(TEST_TIME_LIMIT_S);
    if (t->plain) {
        t->plain();
    } else {
        fixture fx = {t->real ? "real" : "virtual", NULL};
        if (!t->real) {
            fx.clock = test_virtual_clock();
        }
        t->on_clock(&fx);
    }
    run_at_end();
#ifdef HARNESS_LEAK_CHECK
    __lsan_do_leak_check();
#endif
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    for (int i = 0; i < test_count; i++) {
        const test_case *t = &tests[i];
        if (filter && !strstr(t->name, filter))
            continue;
        fflush(stdout);
        double start = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            run_one(t);
            fflush(stdout);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (ok) {
            passed++;
            printf("ok   %s (%.1f ms)\n", t->name, now_ms() - start);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("FAIL %s: killed by signal %d%s\n", t->name, WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? " (time limit: a hang?)" : "");
            else
                printf("FAIL %s\n", t->name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* ---- fixture helpers ---- */

PVOID fx_adapter_config(fixture *fx, stortimer_adapter_config config)
{
    PVOID extension = NULL;
    config.clock = fx->clock;
    CHECK_STATUS(stortimer_adapter_create(&config, &extension), STOR_STATUS_SUCCESS);
    CHECK(extension != NULL);
    return extension;
}

PVOID fx_adapter(fixture *fx, ULONG max_timers)
{
    stortimer_adapter_config config = {.extension_size = 256, .max_timers = max_timers};
    return fx_adapter_config(fx, config);
}

ULONG fx_remove(PVOID extension)
{
    ULONG leaked = 12345;
    CHECK_STATUS(stortimer_adapter_remove(extension, &leaked), STOR_STATUS_SUCCESS);
    return leaked;
}

void sleep_us(ULONGLONG us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void fx_pass(fixture *fx, ULONGLONG us)
{
    if (fx->clock)
        stortimer_clock_advance(fx->clock, us);
    else
        sleep_us(us);
}

ULONGLONG fx_now(fixture *fx)
{
    return stortimer_clock_now(fx->clock);
}

bool fx_await(fixture *fx, _Atomic int *counter, int target)
{
    if (fx->clock)
        return atomic_load(counter) >= target;
    for (int waited_ms = 0; waited_ms < 5000; waited_ms++) {
        if (atomic_load(counter) >= target)
            return true;
        sleep_us(1000);
    }
    return atomic_load(counter) >= target;
}

bool fx_pass_until_fired(fixture *fx, ULONGLONG us, _Atomic int *counter, int target)
{
    if (fx->clock && us > 0) {
        fx_pass(fx, us - 1);
        if (atomic_load(counter) >= target)
            return false; /* early */
        fx_pass(fx, 1);
    } else {
        fx_pass(fx, us);
    }
    return fx_await(fx, counter, target);
}

void fx_settle(fixture *fx)
{
    if (!fx->clock)
        sleep_us(20000);
}

struct test_thread {
    pthread_t thread;
    advancer adv;   /* fx_pass_elsewhere's */
};

test_thread *thread_start(void *(*fn)(void *), void *arg)
{
    test_thread *t = calloc(1, sizeof *t);
    CHECK(t != NULL);
    CHECK(pthread_create(&t->thread, NULL, fn, arg) == 0);
    return t;
}

void *thread_join(test_thread *t)
{
    void *result = NULL;
    pthread_join(t->thread, &result);
    free(t);
    return result;
}

test_thread *fx_pass_elsewhere(fixture *fx, ULONGLONG us)
{
    if (!fx->clock)
        return NULL;
    test_thread *t = calloc(1, sizeof *t);
    CHECK(t != NULL);
    t->adv = (advancer){fx->clock, us};
    CHECK(pthread_create(&t->thread, NULL, advance_thread, &t->adv) == 0);
    return t;
}

void fx_join(test_thread *t)
{
    if (t)
        thread_join(t);
}

fixture fx_another_clock(fixture *fx)
{
    fixture other = {fx->name, fx->clock ? test_virtual_clock() : NULL};
    return other;
}

/* ---- probe ---- */

void probe_init(probe *p, fixture *fx, PVOID extension)
{
    memset(p, 0, sizeof *p);
    p->fx = fx;
    p->extension = extension;
}

VOID probe_callback(PVOID DeviceExtension, PVOID Context)
{
    probe *p = Context;
    int n = atomic_load(&p->fired);
    if (n < PROBE_MAX) {
        p->at[n] = fx_now(p->fx);
        p->irql[n] = stortimer_irql_current();
        p->seen_extension[n] = DeviceExtension;
        p->seen_context[n] = Context;
    }
    if (p->then)
        p->then(p, DeviceExtension);
    atomic_fetch_add(&p->fired, 1);
}

/* ---- reports ---- */

static pthread_mutex_t reports_lock = PTHREAD_MUTEX_INITIALIZER;
static char reports_text[8192];
static int reports_n;

static void capture(const char *message, void *context)
{
    (void)context;
    pthread_mutex_lock(&reports_lock);
    size_t used = strlen(reports_text);
    snprintf(reports_text + used, sizeof reports_text - used, "%s\n", message);
    reports_n++;
    pthread_mutex_unlock(&reports_lock);
}

void reports_capture(void)
{
    stortimer_set_report_handler(capture, NULL);
}

int reports_count(void)
{
    pthread_mutex_lock(&reports_lock);
    int n = reports_n;
    pthread_mutex_unlock(&reports_lock);
    return n;
}

bool reports_contain(const char *needle)
{
    pthread_mutex_lock(&reports_lock);
    bool found = strstr(reports_text, needle) != NULL;
    pthread_mutex_unlock(&reports_lock);
    return found;
}

void reports_release(void)
{
    stortimer_set_report_handler(NULL, NULL);
}

/* ---- shared shortcuts ---- */

uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long thread_id(void)
{
    return (long)syscall(SYS_gettid);
}

stortimer_clock *test_virtual_clock(void)
{
    stortimer_clock *clock = stortimer_clock_virtual_create();
    CHECK(clock != NULL);
    test_at_end(destroy_clock, clock);
    return clock;
}

fixture *virtual_fixture(void)
{
    static fixture fx = {"virtual", NULL};
    if (!fx.clock)
        fx.clock = test_virtual_clock();
    return &fx;
}

PVOID virtual_adapter(ULONG max_timers)
{
    return fx_adapter(virtual_fixture(), max_timers);
}

PVOID new_timer(PVOID ext)
{
    PVOID handle = NULL;
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_SUCCESS);
    CHECK(handle != NULL);
    return handle;
}

void arm(PVOID ext, PVOID handle, PHW_TIMER_EX callback, PVOID context,
         ULONGLONG value, ULONGLONG window)
{
    CHECK_STATUS(StorPortRequestTimer(ext, handle, callback, context, value, window),
                 STOR_STATUS_SUCCESS);
}

bool wait_for(_Atomic int *flag, int target, int limit_ms)
{
    uint64_t end = mono_ns() + (uint64_t)limit_ms * 1000000u;
    while (atomic_load(flag) < target) {
        if (mono_ns() > end)
            return false;
        sleep_us(100);
    }
    return true;
}

stortimer_stats stats_of(PVOID ext)
{
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    return stats;
}

void *advance_thread(void *arg)
{
    advancer *a = arg;
    stortimer_clock_advance(a->clock, a->us);
    return NULL;
}
