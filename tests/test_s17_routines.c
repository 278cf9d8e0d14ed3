/*
 * SPEC S17.1-S17.3 and S17.19: StorPortGetCurrentProcessorNumber (S17.1,
 * S17.19), long stalls (S17.2, S17.19) and the notification types of the
 * lock routines that gained meanings (S17.3).
 */
#include "harness.h"

#include <sched.h>
#include <signal.h>
#include <string.h>

/* ---- helpers ---- */

/* Pins the calling thread to the highest CPU it may run on; returns it. */
static int pin_to_last_cpu(void)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            cpu = i;
    CHECK(cpu >= 0);
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    CHECK_EQ(sched_getcpu(), cpu);
    return cpu;
}

static PROCESSOR_NUMBER garbage(void)
{
    return (PROCESSOR_NUMBER){.Group = 0xABCD, .Number = 0xEE, .Reserved = 0x77};
}

/* ---- S17.1, S17.19: StorPortGetCurrentProcessorNumber ---- */

TEST(s17_1_null_arguments_are_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    stortimer_stats before = stats_of(NULL);
    PROCESSOR_NUMBER n = garbage();
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(NULL, &n), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK(memcmp(&n, &(PROCESSOR_NUMBER){0xABCD, 0xEE, 0x77}, sizeof n) == 0);
    CHECK_EQ(stats_of(NULL).rejected_invalid_parameter, before.rejected_invalid_parameter + 3);
}

TEST(s17_1_unknown_extensions_are_invalid_parameter_and_write_nothing)
{
    PVOID removed = virtual_adapter(0);
    fx_remove(removed);
    struct { char bytes[256]; } forged;
    memset(&forged, 0, sizeof forged);
    PVOID bad[3] = {&forged, removed, (PVOID)0x10};
    for (int i = 0; i < 3; i++) {
        PROCESSOR_NUMBER n = garbage();
        CHECK_STATUS(StorPortGetCurrentProcessorNumber(bad[i], &n),
                     STOR_STATUS_INVALID_PARAMETER);
        CHECK_EQ(n.Group, 0xABCD);
        CHECK_EQ(n.Number, 0xEE);
        CHECK_EQ(n.Reserved, 0x77);
    }
}

TEST(s17_1_virtual_clock_answers_processor_zero_wherever_it_runs)
{
    PVOID ext = virtual_adapter(0);
    pin_to_last_cpu();
    PROCESSOR_NUMBER n = garbage();
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(ext, &n), STOR_STATUS_SUCCESS);
    CHECK_EQ(n.Group, 0);
    CHECK_EQ(n.Number, 0);
    CHECK_EQ(n.Reserved, 0);
}

TEST_REAL(s17_1_real_clock_answers_the_cpu_of_the_calling_thread)
{
    PVOID ext = fx_adapter(fx, 0);
    int cpu = pin_to_last_cpu();
    PROCESSOR_NUMBER n = garbage();
    CHECK_STATUS(StorPortGetCurrentProcessorNumber(ext, &n), STOR_STATUS_SUCCESS);
    CHECK_EQ(n.Group, 0);
    CHECK_EQ(n.Number, cpu % 64);
    CHECK_EQ(n.Reserved, 0);
    fx_remove(ext);
}

TEST_BOTH(s17_19_processor_number_at_every_irql)
{
    PVOID ext = fx_adapter(fx, 0);
    int cpu = pin_to_last_cpu();
    static const KIRQL levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL,
                                   STOR_DEVICE_LEVEL, HIGH_LEVEL};
    for (int i = 0; i < 5; i++) {
        PROCESSOR_NUMBER n = garbage();
        KIRQL old = stortimer_irql_raise(levels[i]);
        ULONG status = StorPortGetCurrentProcessorNumber(ext, &n);
        stortimer_irql_lower(old);
        CHECK_STATUS(status, STOR_STATUS_SUCCESS);
        CHECK_EQ(n.Number, fx->clock ? 0 : cpu % 64);
        CHECK_EQ(n.Group, 0);
    }
    fx_remove(ext);
}

static PVOID signal_ext;
static PROCESSOR_NUMBER signal_number;
static volatile sig_atomic_t signal_status;
static void processor_from_signal(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    signal_status = (sig_atomic_t)(StorPortGetCurrentProcessorNumber(signal_ext, &signal_number)
                                   == STOR_STATUS_SUCCESS);
    stortimer_irql_lower(old);
}

TEST_BOTH(s17_19_processor_number_in_a_signal_handler)
{
    signal_ext = fx_adapter(fx, 0);
    int cpu = pin_to_last_cpu();
    signal_number = garbage();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = processor_from_signal;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK_EQ(signal_status, 1);
    CHECK_EQ(signal_number.Number, fx->clock ? 0 : cpu % 64);
    CHECK_EQ(signal_number.Reserved, 0);
    fx_remove(signal_ext);
}

typedef struct cpu_seen {
    _Atomic int fired;
    ULONG status;
    PROCESSOR_NUMBER n;
    int cpu;
} cpu_seen;

static VOID processor_callback(PVOID ext, PVOID context)
{
    cpu_seen *c = context;
    c->n = garbage();
    c->status = StorPortGetCurrentProcessorNumber(ext, &c->n);
    c->cpu = sched_getcpu();
    atomic_fetch_add(&c->fired, 1);
}

TEST_BOTH(s17_19_processor_number_inside_a_callback)
{
    PVOID ext = fx_adapter(fx, 0);
    cpu_seen c = {0};
    arm(ext, new_timer(ext), processor_callback, &c, 500, 0);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &c.fired, 1));
    CHECK_STATUS(c.status, STOR_STATUS_SUCCESS);
    CHECK_EQ(c.n.Group, 0);
    CHECK_EQ(c.n.Reserved, 0);
    if (fx->clock)
        CHECK_EQ(c.n.Number, 0);
    else
        CHECK(c.n.Number < 64);
    fx_remove(ext);
}

/* ---- S17.2, S17.19: long stalls ---- */

TEST(s17_2_stalls_of_a_millisecond_or_more_are_counted)
{
    fixture *fx = virtual_fixture();
    stortimer_thread_bind_clock(fx->clock);
    ULONGLONG before = stats_of(NULL).long_stalls;
    StorPortStallExecution(999);
    CHECK_EQ(stats_of(NULL).long_stalls, before);
    StorPortStallExecution(1000);
    StorPortStallExecution(20000);
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(stats_of(NULL).long_stalls, before + 2);
    CHECK_EQ(stortimer_clock_now(fx->clock), 21999);
}

TEST_BOTH(s17_19_stall_accepts_ten_and_twenty_milliseconds)
{
    stortimer_thread_bind_clock(fx->clock);
    static const ULONG delays[] = {10000, 20000};
    for (int i = 0; i < 2; i++) {
        ULONGLONG at = fx_now(fx);
        uint64_t start = mono_ns();
        StorPortStallExecution(delays[i]);
        if (fx->clock)
            CHECK_EQ(fx_now(fx) - at, delays[i]);
        else
            CHECK(mono_ns() - start >= (uint64_t)delays[i] * 1000u);
    }
    stortimer_thread_bind_clock(NULL);
}

/* ---- S17.3: notification forms of the lock routines ---- */

typedef struct grabber {
    PVOID ext;
    _Atomic int trying, acquired;
} grabber;

static void *grab_startio(void *arg)
{
    grabber *g = arg;
    STOR_LOCK_HANDLE h;
    atomic_store(&g->trying, 1);
    StorPortAcquireSpinLock(g->ext, StartIoLock, NULL, &h);
    atomic_store(&g->acquired, 1);
    StorPortReleaseSpinLock(g->ext, &h);
    return NULL;
}

TEST(s17_3_acquire_spin_lock_notification_takes_the_startio_lock)
{
    PVOID ext = virtual_adapter(0);
    STOR_LOCK_HANDLE h;
    StorPortNotification(AcquireSpinLock, ext, StartIoLock, (PVOID)NULL, &h);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    CHECK(h.Context.LockObject != NULL);
    grabber g = {.ext = ext};
    test_thread *t = thread_start(grab_startio, &g);
    CHECK(wait_for(&g.trying, 1, 5000));
    sleep_us(30000);
    CHECK_EQ(atomic_load(&g.acquired), 0);
    StorPortNotification(ReleaseSpinLock, ext, &h);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    thread_join(t);
    CHECK_EQ(atomic_load(&g.acquired), 1);
}

TEST(s17_3_interrupt_lock_notification_raises_to_device_level)
{
    PVOID ext = virtual_adapter(0);
    STOR_LOCK_HANDLE h;
    KIRQL old = stortimer_irql_raise(APC_LEVEL);
    StorPortNotification(AcquireSpinLock, ext, InterruptLock, (PVOID)NULL, &h);
    CHECK_EQ(stortimer_irql_current(), STOR_DEVICE_LEVEL);
    StorPortNotification(ReleaseSpinLock, ext, &h);
    CHECK_EQ(stortimer_irql_current(), APC_LEVEL);
    stortimer_irql_lower(old);
}

TEST(s17_3_acquire_notification_on_an_unknown_extension_takes_nothing)
{
    char forged[64] = {0};
    stortimer_stats before = stats_of(NULL);
    STOR_LOCK_HANDLE h;
    memset(&h, 0x5A, sizeof h);
    reports_capture();
    StorPortNotification(AcquireSpinLock, (PVOID)forged, StartIoLock, (PVOID)NULL, &h);
    CHECK(reports_count() >= 1);
    reports_release();
    CHECK(h.Context.LockObject == NULL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    StorPortNotification(ReleaseSpinLock, (PVOID)forged, &h);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK(stats_of(NULL).lock_misuse >= before.lock_misuse + 1);
}

TEST(s17_3_other_types_stay_accepted_and_ignored)
{
    PVOID ext = virtual_adapter(0);
    static const SCSI_NOTIFICATION_TYPE types[] = {EnablePassiveInitialization, LinkDown,
                                                   LinkUp, BusChangeDetected, ResetDetected};
    reports_capture();
    for (int i = 0; i < 5; i++)
        StorPortNotification(types[i], ext, (PVOID)NULL, (PVOID)NULL);
    CHECK_EQ(reports_count(), 0);
    reports_release();
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.notification_misuse, 0);
    CHECK_EQ(s.rejected, 0);
    CHECK_EQ(s.lock_misuse, 0);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}
