/*
 * SPEC S15.1: StorPortSynchronizeAccess's checks and their order - NULL and
 * unknown arguments, IRQL above STOR_DEVICE_LEVEL (also from a signal
 * handler), the interrupt lock already held (the interrupt routine, nested
 * routines, half-duplex StartIo holders and lsi_u3's legacy timer) and the
 * ordinary path; in full- and half-duplex adapters.
 */
#include "sync_fixture.h"

#include <signal.h>
#include <string.h>

/* ---- S15.1 (1), S15.1 (2): NULL and unknown arguments ---- */

TEST(s15_1_1_null_arguments_are_false_and_run_nothing)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE};
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(NULL, sync_routine, &s), FALSE);
    CHECK_EQ(StorPortSynchronizeAccess(ext, NULL, &s), FALSE);
    CHECK_EQ(StorPortSynchronizeAccess(NULL, NULL, NULL), FALSE);
    reports_release();
    CHECK_EQ(atomic_load(&s.ran), 0);
    CHECK_EQ(stats_of(ext).synchronized_calls, 0);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s15_1_2_forged_and_removed_extensions_are_false_and_run_nothing)
{
    PVOID removed = virtual_adapter(0);
    fx_remove(removed);
    struct { char bytes[64]; } forged;
    memset(&forged, 0, sizeof forged);
    PVOID bad[3] = {&forged, removed, (PVOID)0x10};
    sync_probe s = {.answer = TRUE};
    reports_capture();
    for (int i = 0; i < 3; i++)
        CHECK_EQ(StorPortSynchronizeAccess(bad[i], sync_routine, &s), FALSE);
    reports_release();
    CHECK_EQ(atomic_load(&s.ran), 0);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

/* ---- S15.1 (3): above STOR_DEVICE_LEVEL ---- */

TEST(s15_1_3_above_device_level_is_false_counted_and_not_reported)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE};
    static const KIRQL levels[] = {STOR_DEVICE_LEVEL + 1, 14, HIGH_LEVEL};
    reports_capture();
    for (int i = 0; i < 3; i++) {
        KIRQL old = stortimer_irql_raise(levels[i]);
        BOOLEAN got = StorPortSynchronizeAccess(ext, sync_routine, &s);
        CHECK_EQ(stortimer_irql_current(), levels[i]);
        stortimer_irql_lower(old);
        CHECK_EQ(got, FALSE);
        CHECK_EQ(misuse_of(ext), (ULONGLONG)i + 1);
    }
    CHECK_EQ(reports_count(), 0);
    reports_release();
    CHECK_EQ(atomic_load(&s.ran), 0);
    CHECK_EQ(stats_of(ext).synchronized_calls, 0);
}

static PVOID signal_ext;
static sync_probe signal_probe;
static volatile sig_atomic_t signal_answer = -1;

static void sync_from_signal(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    signal_answer = StorPortSynchronizeAccess(signal_ext, sync_routine, &signal_probe);
    stortimer_irql_lower(old);
}

TEST_BOTH(s15_1_3_from_a_signal_handler_at_high_level_is_false)
{
    signal_ext = fx_adapter(fx, 0);
    signal_probe = (sync_probe){.answer = TRUE};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = sync_from_signal;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK_EQ(signal_answer, FALSE);
    CHECK_EQ(atomic_load(&signal_probe.ran), 0);
    CHECK_EQ(misuse_of(signal_ext), 1);
    fx_remove(signal_ext);
}

TEST(s15_1_3_irql_is_checked_before_the_lock_already_held)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE};
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    BOOLEAN got = StorPortSynchronizeAccess(ext, sync_routine, &s);
    stortimer_irql_lower(old);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(got, FALSE);
    CHECK_EQ(atomic_load(&s.ran), 0);
}

TEST(s15_1_3_at_device_level_it_runs)
{
    PVOID ext = virtual_adapter(0);
    static const KIRQL levels[] = {3, STOR_DEVICE_LEVEL};
    for (int i = 0; i < 2; i++) {
        sync_probe s = {.answer = TRUE};
        KIRQL old = stortimer_irql_raise(levels[i]);
        BOOLEAN got = StorPortSynchronizeAccess(ext, sync_routine, &s);
        CHECK_EQ(stortimer_irql_current(), levels[i]);
        stortimer_irql_lower(old);
        CHECK_EQ(got, TRUE);
        CHECK_EQ(atomic_load(&s.ran), 1);
        CHECK_EQ(s.irql, STOR_DEVICE_LEVEL);
    }
    CHECK_EQ(misuse_of(ext), 0);
}

/* ---- S15.1 (4): the interrupt lock already held ---- */

static sync_probe *isr_probe;
static BOOLEAN isr_result;
static BOOLEAN isr_with_sync(PVOID ext)
{
    isr_result = StorPortSynchronizeAccess(ext, sync_routine, isr_probe);
    return TRUE;
}

TEST(s15_1_4_inside_the_interrupt_routine_runs_directly_and_counts_misuse)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = 0x5A};
    isr_probe = &s;
    BOOLEAN claimed = 0;
    reports_capture();
    CHECK_STATUS(stortimer_adapter_interrupt(ext, isr_with_sync, &claimed), STOR_STATUS_SUCCESS);
    CHECK_EQ(reports_count(), 0);   /* above DISPATCH_LEVEL nothing is printed */
    reports_release();
    CHECK_EQ(claimed, TRUE);
    CHECK_EQ(isr_result, 0x5A);
    CHECK_EQ(atomic_load(&s.ran), 1);
    CHECK_EQ(s.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(misuse_of(ext), 1);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s15_1_4_after_an_interrupt_lock_acquire_runs_directly_and_keeps_the_lock)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE};
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    reports_release();
    CHECK_EQ(atomic_load(&s.ran), 1);
    CHECK_EQ(misuse_of(ext), 1);
    CHECK_EQ(stortimer_irql_current(), STOR_DEVICE_LEVEL);
    test_thread *t;
    locker l;
    CHECK(!lock_free_for_others(ext, InterruptLock, &t, &l));   /* still ours */
    StorPortReleaseSpinLock(ext, &lock);
    thread_join(t);
    CHECK_EQ(atomic_load(&l.acquired), 1);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

static void nested_sync(sync_probe *s, PVOID ext)
{
    sync_probe *inner = s->user;
    inner->answer = TRUE;
    s->status[0] = StorPortSynchronizeAccess(ext, sync_routine, inner);
    s->status[1] = stortimer_irql_current();
}

TEST(s15_1_4_nested_synchronized_routine_runs_directly)
{
    PVOID ext = virtual_adapter(0);
    sync_probe inner = {0}, outer = {.then = nested_sync, .user = &inner, .answer = TRUE};
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &outer), TRUE);
    reports_release();
    CHECK_EQ(outer.status[0], TRUE);
    CHECK_EQ(atomic_load(&inner.ran), 1);
    CHECK_EQ(inner.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(outer.status[1], STOR_DEVICE_LEVEL);   /* still, after the inner one */
    CHECK_EQ(misuse_of(ext), 1);
    CHECK_EQ(stats_of(ext).synchronized_calls, 2);
}

TEST(s15_1_4_half_duplex_startio_holder_runs_it_directly_at_device_level)
{
    PVOID ext = duplex_adapter(virtual_fixture(), true);
    sync_probe s = {.answer = TRUE};
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);     /* lsi_u3's StartIo */
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK(reports_count() >= 1);
    reports_release();
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(s.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(misuse_of(ext), 1);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST_BOTH(s15_1_4_half_duplex_legacy_timer_callback_runs_it_directly)
{
    run_lsi_timer(fx, true);
}

/* ---- S15.1 (5): the ordinary path ---- */

TEST(s15_1_5_runs_with_extension_and_context_and_returns_the_answer_unchanged)
{
    PVOID ext = virtual_adapter(0);
    static const BOOLEAN answers[] = {TRUE, FALSE, 0x5A, 0xFF};
    for (int i = 0; i < 4; i++) {
        sync_probe s = {.answer = answers[i]};
        CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), answers[i]);
        CHECK_EQ(atomic_load(&s.ran), 1);
        CHECK(s.seen_ext == ext);
        CHECK(s.seen_context == &s);
    }
    CHECK_EQ(misuse_of(ext), 0);
}

static _Atomic int null_context_calls;
static PVOID null_context_seen = (PVOID)1;
static BOOLEAN note_context(PVOID ext, PVOID context)
{
    (void)ext;
    null_context_seen = context;
    atomic_fetch_add(&null_context_calls, 1);
    return TRUE;
}

TEST(s15_1_5_context_is_optional)
{
    PVOID ext = virtual_adapter(0);
    CHECK_EQ(StorPortSynchronizeAccess(ext, note_context, NULL), TRUE);
    CHECK_EQ(atomic_load(&null_context_calls), 1);
    CHECK(null_context_seen == NULL);
}

TEST_BOTH(s15_1_5_raises_to_device_level_and_restores_the_irql)
{
    PVOID ext = fx_adapter(fx, 0);
    static const KIRQL levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL};
    for (int i = 0; i < 3; i++) {
        sync_probe s = {.answer = TRUE};
        KIRQL old = stortimer_irql_raise(levels[i]);
        CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
        CHECK_EQ(stortimer_irql_current(), levels[i]);
        stortimer_irql_lower(old);
        CHECK_EQ(s.irql, STOR_DEVICE_LEVEL);
    }
    fx_remove(ext);
}

static void check_lock_held_inside(sync_probe *s, PVOID ext)
{
    test_thread *t;
    locker *l = s->user;
    s->status[0] = lock_free_for_others(ext, InterruptLock, &t, l);
    s->user = t;
}

TEST_BOTH(s15_1_5_holds_the_interrupt_lock_while_the_routine_runs)
{
    PVOID ext = fx_adapter(fx, 0);
    locker l;
    sync_probe s = {.answer = TRUE, .then = check_lock_held_inside, .user = &l};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    thread_join(s.user);
    CHECK_EQ(s.status[0], 0);                   /* the other thread waited */
    CHECK_EQ(atomic_load(&l.acquired), 1);      /* and got it after */
    fx_remove(ext);
}
