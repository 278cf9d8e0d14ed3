/*
 * SPEC S14.5: DPCs issued above DISPATCH_LEVEL are handed over to the
 * adapter's dispatcher - from raised IRQL, from an interrupt routine and
 * from real signal handlers landing on a thread at device IRQL or inside
 * library calls.
 */
#include "dpc_fixture.h"
#include "signal_fixture.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>


/* ---- S14.5 above DISPATCH_LEVEL ---- */

static VOID legacy_nothing(PVOID DeviceExtension)
{
    (void)DeviceExtension;
}

TEST_BOTH(s14_5_issue_above_dispatch_is_handed_over_and_runs)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    BOOLEAN issued = StorPortIssueDpc(ext, &dpc, LETTER(1), NULL);
    stortimer_irql_lower(old);
    CHECK_EQ(issued, TRUE);
    run_queued(fx);
    CHECK(fx_await(fx, &rec.n, 1));
    CHECK(rec.a1[0] == LETTER(1));
    CHECK_EQ(stats_of(ext).dpcs_issued, 1);
}

TEST(s14_5_queued_is_decided_at_the_call_above_dispatch)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    BOOLEAN first = StorPortIssueDpc(ext, &dpc, LETTER(1), NULL);
    BOOLEAN second = StorPortIssueDpc(ext, &dpc, LETTER(2), NULL);
    stortimer_irql_lower(old);
    BOOLEAN third = StorPortIssueDpc(ext, &dpc, LETTER(3), NULL);
    CHECK(first && !second && !third);
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK(rec.a1[0] == LETTER(1));
    CHECK_EQ(stats_of(ext).dpcs_already_queued, 2);
}

TEST(s14_5_hand_overs_keep_their_place_in_the_issue_order)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC a, b, c;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &a, dpc_a);
    StorPortInitializeDpc(ext, &b, dpc_b);
    StorPortInitializeDpc(ext, &c, dpc_c);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    CHECK(StorPortIssueDpc(ext, &a, NULL, NULL));
    stortimer_irql_lower(old);
    CHECK(StorPortIssueDpc(ext, &b, NULL, NULL));
    old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    CHECK(StorPortIssueDpc(ext, &c, NULL, NULL));
    stortimer_irql_lower(old);
    stortimer_clock_advance(vclock(), 0);
    CHECK(order_is("ABC"));
}

TEST(s14_5_full_hand_over_queue_answers_false_and_leaves_the_dpc_idle)
{
    enum { N = 300 };
    PVOID ext = virtual_adapter(0);
    static STOR_DPC dpcs[N];
    static BOOLEAN answer[N];
    rec_reset(virtual_fixture());
    for (int i = 0; i < N; i++)
        StorPortInitializeDpc(ext, &dpcs[i], dpc_a);
    int accepted = 0;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < N; i++)
        accepted += (answer[i] = StorPortIssueDpc(ext, &dpcs[i], NULL, NULL)) != 0;
    stortimer_irql_lower(old);
    CHECK(accepted > 0 && accepted < N);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_issue_refused, (ULONGLONG)(N - accepted));
    CHECK_EQ(s.rejected_insufficient_resources, (ULONGLONG)(N - accepted));
    /* A refused DPC was not queued: issuing it now answers TRUE. */
    for (int i = 0; i < N; i++)
        if (!answer[i])
            CHECK(StorPortIssueDpc(ext, &dpcs[i], NULL, NULL));
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(atomic_load(&rec.n), N);
}

/* S16.9: a call at or below DISPATCH_LEVEL takes effect only after the
 * hand-overs made before it, so it applies them, and frees their cells:
 * StorPortInitializeDpc too, though it checks other adapters' DPCs first.
 * After a full queue of legacy arms above DISPATCH_LEVEL and one
 * InitializeDpc, the next arm above DISPATCH_LEVEL finds room. */
TEST(s16_9_initialize_dpc_applies_the_hand_overs_made_before_it)
{
    PVOID ext = virtual_adapter(0);
    static STOR_DPC dpc;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < 300; i++)
        StorPortNotification(RequestTimerCall, ext, legacy_nothing, (ULONG)1000);
    stortimer_irql_lower(old);
    stortimer_stats full = stats_of(ext); /* reading applies them too: compare counts */
    CHECK(full.rejected_insufficient_resources > 0);
    old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < 300; i++)
        StorPortNotification(RequestTimerCall, ext, legacy_nothing, (ULONG)1000);
    stortimer_irql_lower(old);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    StorPortNotification(RequestTimerCall, ext, legacy_nothing, (ULONG)1000);
    stortimer_irql_lower(old);
    stortimer_stats after = stats_of(ext);
    CHECK_EQ(after.rejected_insufficient_resources - full.rejected_insufficient_resources,
             300 - 256);
    CHECK_EQ(after.handed_over - full.handed_over, 256 + 1);
}

/* ---- a real signal handler, landing on a thread at device IRQL ---- */

static struct {
    PVOID ext;
    STOR_DPC dpc;
    _Atomic int in_isr, handled;
    BOOLEAN answer;
    KIRQL irql_in_handler;
} sig;

static void issue_from_handler(int signo)
{
    (void)signo;
    if (atomic_load(&sig.handled))
        return; /* a signal sent again after the first was handled */
    sig.irql_in_handler = stortimer_irql_current();
    sig.answer = StorPortIssueDpc(sig.ext, &sig.dpc, LETTER(5), NULL);
    atomic_store(&sig.handled, 1);
}

static BOOLEAN waiting_isr(PVOID ext)
{
    (void)ext;
    atomic_store(&sig.in_isr, 1);
    for (int i = 0; i < 50000 && !atomic_load(&sig.handled); i++)
        sleep_us(100);
    return TRUE;
}

static void *interrupt_thread(void *arg)
{
    (void)arg;
    stortimer_adapter_interrupt(sig.ext, waiting_isr, NULL);
    return NULL;
}

static void install(void (*handler)(int))
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
}

static pthread_t interrupt_thread_id;

static void *interrupt_thread_self(void *arg)
{
    interrupt_thread_id = pthread_self();
    return interrupt_thread(arg);
}

TEST_BOTH(s14_5_signal_handler_on_a_thread_at_device_level_issues_a_dpc)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    memset(&sig, 0, sizeof sig); /* each clock's run starts afresh */
    sig.ext = ext;
    StorPortInitializeDpc(ext, &sig.dpc, dpc_a);
    install(issue_from_handler);
    test_thread *t = thread_start(interrupt_thread_self, NULL);
    CHECK(wait_for(&sig.in_isr, 1, 5000));
    /* A sanitizer may hold a signal back until the thread's next call it
     * watches: sent again until handled (the handler acts once). */
    for (int tries = 0; tries < 50 && !atomic_load(&sig.handled); tries++) {
        CHECK(pthread_kill(interrupt_thread_id, SIGUSR1) == 0);
        wait_for(&sig.handled, 1, 100);
    }
    CHECK(atomic_load(&sig.handled));
    thread_join(t);
    CHECK_EQ(sig.irql_in_handler, STOR_DEVICE_LEVEL);
    CHECK_EQ(sig.answer, TRUE);
    run_queued(fx);
    CHECK(fx_await(fx, &rec.n, 1));
    CHECK(rec.a1[0] == LETTER(5));
}

static struct {
    PVOID ext;
    STOR_DPC dpc;
    _Atomic int calls, accepted, runs;
} storm;

static void storm_handler(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    if (StorPortIssueDpc(storm.ext, &storm.dpc, NULL, NULL))
        atomic_fetch_add(&storm.accepted, 1);
    stortimer_irql_lower(old);
    atomic_fetch_add(&storm.calls, 1);
}

static VOID storm_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_fetch_add(&storm.runs, 1);
}

TEST_BOTH(s14_5_signals_landing_inside_library_calls_never_deadlock)
{
    PVOID ext = fx_adapter(fx, 0);
    storm.ext = ext;
    StorPortInitializeDpc(ext, &storm.dpc, storm_routine);
    STOR_DPC mine;
    StorPortInitializeDpc(ext, &mine, storm_routine);
    install(storm_handler);
    test_thread *t = interrupter_start();
    int mine_accepted = 0;
    for (int i = 0; i < 20000 || (atomic_load(&storm.calls) < 300 && i < 500000); i++) {
        mine_accepted += StorPortIssueDpc(ext, &mine, NULL, NULL) != 0;
        STOR_LOCK_HANDLE h;
        StorPortAcquireSpinLock(ext, DpcLock, &mine, &h);
        StorPortReleaseSpinLock(ext, &h);
        if (i % 16 == 15)
            fx_pass(fx, 10);
    }
    interrupter_stop(t);
    fx_pass(fx, 0);
    CHECK(atomic_load(&storm.calls) > 0);
    int want = atomic_load(&storm.accepted) + mine_accepted;
    CHECK(fx_await(fx, &storm.runs, want));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&storm.runs), want); /* each accepted issue ran once */
}
