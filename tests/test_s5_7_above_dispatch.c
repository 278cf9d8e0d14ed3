/*
 * SPEC S5.7: StorPortRequestTimer above DISPATCH_LEVEL - from an interrupt
 * path, or a real signal handler standing in for one: no lock, no
 * allocation, BUSY decided at the call, due time counted from the call.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

/* Calls StorPortRequestTimer as an interrupt service routine would. */
static ULONG request_at_device_level(PVOID ext, PVOID timer, PVOID context,
                                     ULONGLONG value, ULONGLONG delay)
{
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortRequestTimer(ext, timer, probe_callback, context, value, delay);
    stortimer_irql_lower(old);
    return status;
}

TEST_BOTH(s5_7_arm_above_dispatch_fires)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    ULONGLONG called_at = fx_now(fx);
    CHECK_STATUS(request_at_device_level(ext, timer, &p, 1500, 0), STOR_STATUS_SUCCESS);
    fx_pass(fx, 1500);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(p.at[0] >= called_at + 1500);
    CHECK_EQ(p.irql[0], DISPATCH_LEVEL);
    if (fx->clock)
        CHECK_EQ(p.at[0], called_at + 1500);
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.handed_over, 1);
}

TEST(s5_7_due_time_counts_from_the_call_not_the_hand_over)
{
    stortimer_clock *clock = stortimer_clock_virtual_create();
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, &fx, ext);
    stortimer_thread_bind_clock(clock);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm(ext, timer, probe_callback, &p, 500, 0);
    /* Time passes before anyone below DISPATCH_LEVEL takes the hand-over. */
    StorPortStallExecution(300);
    stortimer_irql_lower(old);
    stortimer_thread_bind_clock(NULL);
    stortimer_clock_advance(clock, 199);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_clock_advance(clock, 1);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 500);
}

TEST(s5_7_busy_is_decided_at_the_call)
{
    stortimer_clock *clock = stortimer_clock_virtual_create();
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, &fx, ext);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm(ext, timer, probe_callback, &p, 100, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 100, 0),
                 STOR_STATUS_BUSY);
    stortimer_irql_lower(old);
    /* Also against an arm made below DISPATCH_LEVEL, and the other way round. */
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 100, 0),
                 STOR_STATUS_BUSY);
    PVOID second = new_timer(ext);
    arm(ext, second, probe_callback, &p, 100, 0);
    CHECK_STATUS(request_at_device_level(ext, second, &p, 100, 0), STOR_STATUS_BUSY);
    stortimer_clock_advance(clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 2);
}

TEST_BOTH(s5_7_cancel_above_dispatch)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, timer, probe_callback, &p, 200000, 0);
    CHECK_STATUS(request_at_device_level(ext, timer, &p, 0, 0), STOR_STATUS_SUCCESS);
    fx_pass(fx, 250000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
    /* Not pending any more: it can be armed again. */
    arm(ext, timer, probe_callback, &p, 100, 0);
    fx_pass(fx, 100);
    CHECK(fx_await(fx, &p.fired, 1));
}

TEST_BOTH(s5_7_arm_and_cancel_both_above_dispatch)
{
    PVOID ext = fx_adapter(fx, 0), timer = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    arm(ext, timer, probe_callback, &p, 200000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, timer, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    stortimer_irql_lower(old);
    fx_pass(fx, 250000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST(s5_7_full_hand_over_queue_is_insufficient_resources)
{
    enum { N = 300 };
    stortimer_clock *clock = stortimer_clock_virtual_create();
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0), timers[N];
    probe p;
    probe_init(&p, &fx, ext);
    for (int i = 0; i < N; i++)
        timers[i] = new_timer(ext);
    int accepted = 0, refused = 0;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < N; i++) {
        ULONG status = StorPortRequestTimer(ext, timers[i], probe_callback, &p, 100, 0);
        if (status == STOR_STATUS_SUCCESS)
            accepted++;
        else if (status == STOR_STATUS_INSUFFICIENT_RESOURCES)
            refused++;
    }
    stortimer_irql_lower(old);
    CHECK(accepted > 0 && refused > 0);
    CHECK_EQ(accepted + refused, N);
    /* A refused arm left its timer idle; the accepted ones all fire. */
    for (int i = accepted; i < N; i++)
        arm(ext, timers[i], probe_callback, &p, 100, 0);
    stortimer_clock_advance(clock, 100);
    CHECK_EQ(atomic_load(&p.fired), N);
}

/* ---- a real signal handler as the interrupt ---- */

static struct {
    PVOID ext, timer;
    probe *p;
    ULONGLONG value;
    _Atomic int calls;
    _Atomic unsigned statuses_ok;
    _Atomic unsigned statuses_busy;
    _Atomic unsigned statuses_other;
} isr;

static void isr_handler(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortRequestTimer(isr.ext, isr.timer, probe_callback, isr.p,
                                        isr.value, 0);
    stortimer_irql_lower(old);
    if (status == STOR_STATUS_SUCCESS)
        atomic_fetch_add(&isr.statuses_ok, 1);
    else if (status == STOR_STATUS_BUSY)
        atomic_fetch_add(&isr.statuses_busy, 1);
    else
        atomic_fetch_add(&isr.statuses_other, 1);
    atomic_fetch_add(&isr.calls, 1);
}

static void install_isr(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = isr_handler;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
}

TEST_BOTH(s5_7_signal_handler_arms_a_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    isr.ext = ext;
    isr.timer = new_timer(ext);
    isr.p = &p;
    isr.value = 2000;
    install_isr();
    ULONGLONG called_at = fx_now(fx);
    CHECK(raise(SIGUSR1) == 0);
    CHECK_EQ(atomic_load(&isr.statuses_ok), 1);
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(p.at[0] >= called_at + 2000);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

static _Atomic int keep_interrupting;

static void *interrupter(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    while (keep_interrupting) {
        pthread_kill(target, SIGUSR1);
        sleep_us(50);
    }
    return NULL;
}

TEST_BOTH(s5_7_signals_landing_inside_library_calls_never_deadlock)
{
    /* The handler arms a timer of the same adapter while the interrupted
     * thread is in the middle of arms, cancels, frees and the passing of
     * time (on a virtual clock, advances that run the handler's callbacks
     * on this thread) holding its locks: a handler that took a lock would
     * deadlock here. */
    PVOID ext = fx_adapter(fx, 0);
    probe isr_probe, p;
    probe_init(&isr_probe, fx, ext);
    probe_init(&p, fx, ext);
    isr.ext = ext;
    isr.timer = new_timer(ext);
    isr.p = &isr_probe;
    isr.value = 100;
    install_isr();
    pthread_t self = pthread_self();
    keep_interrupting = 1;
    test_thread *t = thread_start(interrupter, &self);
    /* At least 20,000 rounds, and until some 300 signals have landed. */
    for (int i = 0; i < 20000 || (atomic_load(&isr.calls) < 300 && i < 500000); i++) {
        PVOID timer = new_timer(ext);
        StorPortRequestTimer(ext, timer, probe_callback, &p, 50 + i % 200, 0);
        if (i % 3 == 0)
            StorPortRequestTimer(ext, timer, probe_callback, &p, 0, 0);
        CHECK_STATUS(StorPortFreeTimer(ext, timer), STOR_STATUS_SUCCESS);
        if (i % 64 == 63)
            fx_pass(fx, 50);
    }
    keep_interrupting = 0;
    thread_join(t);
    CHECK(atomic_load(&isr.calls) > 0);
    CHECK_EQ(atomic_load(&isr.statuses_other), 0);
    /* Every accepted arm from the handler fired (or is about to). */
    fx_pass(fx, 20000);
    CHECK(fx_await(fx, &isr_probe.fired, (int)atomic_load(&isr.statuses_ok)));
    CHECK_EQ(fx_remove(ext), 1);
}

TEST(s5_7_pending_timer_is_busy_even_when_the_hand_over_queue_is_full)
{
    /* S5.3 comes before the hand-over: a pending timer needs no cell. */
    stortimer_clock *clock = stortimer_clock_virtual_create();
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0), pending = new_timer(ext), idle = new_timer(ext);
    PVOID filler[300];
    for (int i = 0; i < 300; i++)
        filler[i] = new_timer(ext);
    arm(ext, pending, probe_callback, NULL, 1000, 0);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < 300; i++)
        StorPortRequestTimer(ext, filler[i], probe_callback, NULL, 1000, 0);
    ULONG busy = StorPortRequestTimer(ext, pending, probe_callback, NULL, 1000, 0);
    ULONG full = StorPortRequestTimer(ext, idle, probe_callback, NULL, 1000, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(busy, STOR_STATUS_BUSY);
    CHECK_STATUS(full, STOR_STATUS_INSUFFICIENT_RESOURCES);
}
