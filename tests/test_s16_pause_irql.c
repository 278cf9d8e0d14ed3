/*
 * SPEC S16.9: pausing and resuming at any IRQL - hand-over from above
 * DISPATCH_LEVEL, a signal handler at device level, interrupt routines and
 * DPCs - and the pause patterns of lsi_u3 and nvmewin.
 */
#include "pause_fixture.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* ---- S16.9 any IRQL ---- */

TEST_BOTH(s16_9_pause_above_dispatch_is_handed_over_and_takes_effect)
{
    PVOID ext = fx_adapter(fx, 0);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    BOOLEAN paused = StorPortPause(ext, 60);
    BOOLEAN unit = StorPortPauseDevice(ext, 0, 0, 7, 60);
    stortimer_irql_lower(old);
    CHECK(paused && unit);
    CHECK(await_paused(fx, ext, TRUE));
    CHECK(unit_state(ext, 0, 0, 7).paused);
    CHECK_EQ(stats_of(ext).unit_pauses, 1);
}

TEST(s16_9_deadline_of_a_hand_over_counts_from_the_call)
{
    PVOID ext = virtual_adapter(0);
    stortimer_thread_bind_clock(vclock());
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    CHECK(StorPortPause(ext, 1));
    StorPortStallExecution(300); /* time passes before the hand-over is taken */
    stortimer_irql_lower(old);
    stortimer_thread_bind_clock(NULL);
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(adapter_state(ext).until_us, SECOND);
}

TEST(s16_9_hand_overs_take_effect_in_call_order)
{
    PVOID ext = virtual_adapter(0);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    CHECK(StorPortPause(ext, 5));
    CHECK(StorPortResume(ext));
    CHECK(StorPortPause(ext, 7));
    CHECK(StorPortPauseDevice(ext, 1, 0, 0, 9));
    CHECK(StorPortResumeDevice(ext, 1, 0, 0));
    stortimer_irql_lower(old);
    stortimer_clock_advance(vclock(), 0);
    stortimer_pause_state s = adapter_state(ext);
    CHECK(s.paused);
    CHECK_EQ(s.until_us, 7 * SECOND);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    CHECK(!unit_state(ext, 1, 0, 0).paused);
}

TEST_BOTH(s16_9_call_below_dispatch_follows_earlier_hand_overs)
{
    PVOID ext = fx_adapter(fx, 0);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    CHECK(StorPortPause(ext, 60));
    stortimer_irql_lower(old);
    CHECK(StorPortResume(ext)); /* at once, before anyone took the hand-over */
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    fx_pass(fx, 1000);
    fx_settle(fx);
    CHECK(!adapter_state(ext).paused);
    CHECK_EQ(stats_of(ext).resumes, 1);
}

TEST(s16_9_full_hand_over_queue_answers_false_and_changes_nothing)
{
    enum { N = 300 };
    PVOID ext = virtual_adapter(0);
    static BOOLEAN answer[N];
    int accepted = 0;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < N; i++)
        accepted += (answer[i] = StorPortPauseDevice(ext, 0, (UCHAR)(i / 256), (UCHAR)i, 9)) != 0;
    stortimer_irql_lower(old);
    CHECK(accepted > 0 && accepted < N);
    stortimer_clock_advance(vclock(), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(unit_state(ext, 0, (UCHAR)(i / 256), (UCHAR)i).paused, answer[i]);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.unit_pauses, (ULONGLONG)accepted);
    CHECK_EQ(s.rejected_insufficient_resources, (ULONGLONG)(N - accepted));
}

/* A real signal handler, landing on a thread inside the interrupt routine. */
static struct {
    PVOID ext;
    _Atomic int in_isr, handled;
    BOOLEAN paused, unit;
} sig;

static void pause_from_handler(int signo)
{
    (void)signo;
    if (atomic_load(&sig.handled))
        return; /* a signal sent again after the first was handled */
    sig.paused = StorPortPause(sig.ext, 60);
    sig.unit = StorPortPauseDevice(sig.ext, 0, 3, 0, 60);
    atomic_store(&sig.handled, 1);
}

static BOOLEAN waiting_isr(PVOID E)
{
    (void)E;
    atomic_store(&sig.in_isr, 1);
    for (int i = 0; i < 50000 && !atomic_load(&sig.handled); i++)
        sleep_us(100);
    return TRUE;
}

static pthread_t isr_thread;

static void *interrupt_thread(void *arg)
{
    (void)arg;
    isr_thread = pthread_self();
    stortimer_adapter_interrupt(sig.ext, waiting_isr, NULL);
    return NULL;
}

TEST_BOTH(s16_9_signal_handler_at_device_level_pauses)
{
    PVOID ext = fx_adapter(fx, 0);
    memset(&sig, 0, sizeof sig); /* each clock's run starts afresh */
    sig.ext = ext;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = pause_from_handler;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    test_thread *t = thread_start(interrupt_thread, NULL);
    CHECK(wait_for(&sig.in_isr, 1, 5000));
    /* A sanitizer may hold a signal back until the thread's next call
     * it watches: sent again until handled (the handler runs once). */
    for (int tries = 0; tries < 50 && !atomic_load(&sig.handled); tries++) {
        CHECK(pthread_kill(isr_thread, SIGUSR1) == 0);
        wait_for(&sig.handled, 1, 100);
    }
    CHECK(atomic_load(&sig.handled));
    thread_join(t);
    CHECK(sig.paused && sig.unit);
    CHECK(await_paused(fx, ext, TRUE));
    CHECK(unit_state(ext, 0, 3, 0).paused);
}

/* lsi_u3: the interrupt path pauses for 60 s and issues a DPC that resumes. */
static STOR_DPC resume_dpc;
static _Atomic int resumed_in_dpc;

static VOID resume_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    StorPortResume(E);
    atomic_store(&resumed_in_dpc, 1);
}

static BOOLEAN pause_and_issue_isr(PVOID E)
{
    StorPortPause(E, 60);
    StorPortIssueDpc(E, &resume_dpc, NULL, NULL);
    return TRUE;
}

TEST_BOTH(s16_9_pause_from_interrupt_then_resume_from_a_dpc_leaves_it_resumed)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortInitializeDpc(ext, &resume_dpc, resume_routine);
    CHECK_STATUS(stortimer_adapter_interrupt(ext, pause_and_issue_isr, NULL),
                 STOR_STATUS_SUCCESS);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 0);
    CHECK(fx_await(fx, &resumed_in_dpc, 1));
    fx_settle(fx);
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    stortimer_stats st = stats_of(ext);
    CHECK_EQ(st.pauses, 1);
    CHECK_EQ(st.resumes, 1);
    CHECK_EQ(st.resumes_unpaused, 0);
}

/* lsi_u3: the interrupt path pauses for 60 s and arms the legacy timer,
 * whose routine resumes (inside a synchronized routine). */
static struct {
    fixture *fx;
    ULONGLONG at;
    stortimer_pause_state before, after;
    _Atomic int done;
} lsi;

static BOOLEAN resume_in_sync(PVOID E, PVOID C)
{
    (void)C;
    return StorPortResume(E);
}

static VOID lsi_reinit_timer(PVOID E)
{
    lsi.at = fx_now(lsi.fx);
    stortimer_adapter_pause_state(E, &lsi.before);
    StorPortSynchronizeAccess(E, resume_in_sync, NULL);
    atomic_store(&lsi.done, 1);
}

static BOOLEAN lsi_isr(PVOID E)
{
    StorPortPause(E, 60);
    StorPortNotification(RequestTimerCall, E, lsi_reinit_timer, (ULONG)2000);
    return TRUE;
}

TEST_BOTH(s16_9_lsi_u3_pauses_from_interrupt_and_its_legacy_timer_resumes)
{
    PVOID ext = fx_adapter(fx, 0);
    lsi.fx = fx;
    ULONGLONG called = fx_now(fx);
    CHECK_STATUS(stortimer_adapter_interrupt(ext, lsi_isr, NULL), STOR_STATUS_SUCCESS);
    CHECK(fx_pass_until_fired(fx, 2000, &lsi.done, 1));
    check_fired_at(fx, lsi.at, called, 2000);
    CHECK(lsi.before.paused);
    CHECK(lsi.before.until_us >= called + 60 * SECOND);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 0);
    else
        CHECK(await_paused(fx, ext, FALSE));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
}

/* nvmewin: pauses with STOR_ALL_REQUESTS in one timer callback and resumes
 * in a later one. */
static struct {
    fixture *fx;
    PVOID timer;
    stortimer_pause_state seen[2];
    _Atomic int step;
} nv;

static VOID nvme_state_machine(PVOID E, PVOID C)
{
    (void)C;
    int step = atomic_load(&nv.step);
    if (step == 0) {
        StorPortPause(E, 0xFFFFFFFFu);
        stortimer_adapter_pause_state(E, &nv.seen[0]);
        StorPortRequestTimer(E, nv.timer, nvme_state_machine, NULL, 5000, 0);
    } else {
        StorPortResume(E);
        stortimer_adapter_pause_state(E, &nv.seen[1]);
    }
    atomic_store(&nv.step, step + 1);
}

TEST_BOTH(s16_3_nvmewin_pauses_and_resumes_inside_timer_callbacks)
{
    PVOID ext = fx_adapter(fx, 0);
    nv.fx = fx;
    nv.timer = new_timer(ext);
    arm(ext, nv.timer, nvme_state_machine, NULL, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &nv.step, 1));
    CHECK(nv.seen[0].paused); /* at DISPATCH_LEVEL: in effect before it returns */
    if (fx->clock) /* on the real clock the next step may have run already */
        CHECK(adapter_state(ext).paused);
    fx_pass(fx, 5000);
    CHECK(fx_await(fx, &nv.step, 2));
    CHECK(!nv.seen[1].paused);
    CHECK_EQ(nv.seen[1].last_end, STORTIMER_PAUSE_END_RESUMED);
}
