/*
 * SPEC S15.2-S15.5: StorPortSynchronizeAccess - the locks a caller may hold
 * (S15.2), what the routine may do at STOR_DEVICE_LEVEL (S15.3), the clock
 * it is bound to (S15.4) and the accounting (S15.5).
 */
#include "sync_fixture.h"

#include <string.h>

/* ---- S15.2: callers holding the StartIo lock or a DpcLock ---- */

static void check_holder_may_call(STOR_SPINLOCK held)
{
    PVOID ext = duplex_adapter(virtual_fixture(), false);
    sync_probe s = {.answer = TRUE};
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, held, NULL, &lock);
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_EQ(reports_count(), 0);
    reports_release();
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(s.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(misuse_of(ext), 0);
}

TEST(s15_2_full_duplex_startio_holder_may_call_it)
{
    check_holder_may_call(StartIoLock);
}

TEST(s15_2_dpc_lock_holder_may_call_it)
{
    check_holder_may_call(DpcLock);
}

TEST_BOTH(s15_2_full_duplex_legacy_timer_callback_may_call_it)
{
    run_lsi_timer(fx, false);
}

/* ---- S15.3: what the routine may do ---- */

static void request_timer_inside(sync_probe *s, PVOID ext)
{
    PVOID *pair = s->user;   /* {timer handle, probe} */
    s->at_start = fx_now(s->fx);
    s->status[0] = StorPortRequestTimer(ext, pair[0], probe_callback, pair[1], 1000, 0);
}

TEST_BOTH(s15_3_request_timer_inside_is_handed_over_and_fires)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    PVOID pair[2] = {new_timer(ext), &p};
    sync_probe s = {.fx = fx, .answer = TRUE, .then = request_timer_inside, .user = pair};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_STATUS(s.status[0], STOR_STATUS_SUCCESS);
    CHECK(fx_pass_until_fired(fx, 1000, &p.fired, 1));
    check_fired_at(fx, p.at[0], s.at_start, 1000);
    CHECK_EQ(stats_of(ext).handed_over, 1);
    fx_remove(ext);
}

static _Atomic int legacy_fired;
static VOID legacy_count(PVOID ext) { (void)ext; atomic_fetch_add(&legacy_fired, 1); }
static void legacy_inside(sync_probe *s, PVOID ext)
{
    (void)s;
    StorPortNotification(RequestTimerCall, ext, legacy_count, (ULONG)700);
}

TEST_BOTH(s15_3_request_timer_call_inside_is_handed_over_and_fires)
{
    PVOID ext = fx_adapter(fx, 0);
    sync_probe s = {.answer = TRUE, .then = legacy_inside};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK(fx_pass_until_fired(fx, 700, &legacy_fired, 1));
    CHECK_EQ(stats_of(ext).legacy_armed, 1);
    fx_remove(ext);
}

static void init_and_free_inside(sync_probe *s, PVOID ext)
{
    PVOID handle = (PVOID)0x1234;
    s->status[0] = StorPortInitializeTimer(ext, &handle);
    s->status[1] = handle == NULL;
    s->status[2] = StorPortFreeTimer(ext, s->user);
}

TEST(s15_3_initialize_and_free_timer_inside_are_invalid_irql)
{
    PVOID ext = virtual_adapter(0);
    PVOID timer = new_timer(ext);
    sync_probe s = {.answer = TRUE, .then = init_and_free_inside, .user = timer};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_STATUS(s.status[0], STOR_STATUS_INVALID_IRQL);
    CHECK_EQ(s.status[1], 1);
    CHECK_STATUS(s.status[2], STOR_STATUS_INVALID_IRQL);
    CHECK_EQ(stats_of(ext).timers_live, 1);
    CHECK_STATUS(StorPortFreeTimer(ext, timer), STOR_STATUS_SUCCESS);   /* still live */
}

static void acquire_inside(sync_probe *s, PVOID ext)
{
    STOR_LOCK_HANDLE h;
    memset(&h, 0x5A, sizeof h);
    StorPortAcquireSpinLock(ext, (STOR_SPINLOCK)(uintptr_t)s->user, NULL, &h);
    s->status[0] = h.Context.LockObject == NULL;
    s->status[1] = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &h);
    s->status[2] = stortimer_irql_current();
}

static void check_acquire_inside(STOR_SPINLOCK kind)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE, .then = acquire_inside, .user = (PVOID)(uintptr_t)kind};
    reports_capture();
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK(reports_count() >= 1);
    reports_release();
    CHECK_EQ(s.status[0], 1);                    /* nothing taken */
    CHECK_EQ(s.status[1], STOR_DEVICE_LEVEL);
    CHECK_EQ(s.status[2], STOR_DEVICE_LEVEL);
    CHECK_EQ(misuse_of(ext), 1);
    test_thread *t;
    locker l;
    CHECK(lock_free_for_others(ext, kind, &t, &l));
    thread_join(t);
}

TEST(s15_3_startio_acquire_inside_is_reported_and_takes_nothing)
{
    check_acquire_inside(StartIoLock);
}

TEST(s15_3_dpc_lock_acquire_inside_is_reported_and_takes_nothing)
{
    check_acquire_inside(DpcLock);
}

static _Atomic int dpc_ran;
static VOID count_dpc(PSTOR_DPC dpc, PVOID ext, PVOID a1, PVOID a2)
{
    (void)dpc, (void)ext, (void)a1, (void)a2;
    atomic_fetch_add(&dpc_ran, 1);
}
static void issue_inside(sync_probe *s, PVOID ext)
{
    s->status[0] = StorPortIssueDpc(ext, s->user, NULL, NULL);
}

TEST_BOTH(s15_3_issue_dpc_inside_queues_the_dpc)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, count_dpc);
    sync_probe s = {.answer = TRUE, .then = issue_inside, .user = &dpc};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_EQ(s.status[0], TRUE);
    fx_pass(fx, 0);
    CHECK(fx_await(fx, &dpc_ran, 1));
    fx_remove(ext);
}

static void resume_inside(sync_probe *s, PVOID ext)
{
    s->status[0] = StorPortResume(ext);
}

TEST_BOTH(s15_3_resume_inside_ends_the_pause)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 60));
    sync_probe s = {.answer = TRUE, .then = resume_inside};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_EQ(s.status[0], TRUE);
    fx_pass(fx, 0);
    stortimer_pause_state st = {.paused = 1};
    for (int i = 0; i < 2000; i++) {
        CHECK_STATUS(stortimer_adapter_pause_state(ext, &st), STOR_STATUS_SUCCESS);
        if (!st.paused || fx->clock)
            break;
        sleep_us(1000);
    }
    CHECK_EQ(st.paused, 0);
    CHECK_EQ(st.last_end, STORTIMER_PAUSE_END_RESUMED);
    fx_remove(ext);
}

static void query_time_inside(sync_probe *s, PVOID ext)
{
    LARGE_INTEGER sys, c;
    ULONG min;
    StorPortQuerySystemTime(&sys);
    s->status[0] = StorPortQueryPerformanceCounter(ext, NULL, &c);
    s->status[1] = StorPortQueryTimerMinInterval(ext, &min);
    ((LONGLONG *)s->user)[0] = sys.QuadPart;
    ((LONGLONG *)s->user)[1] = c.QuadPart;
    ((LONGLONG *)s->user)[2] = min;
}

TEST(s15_3_time_queries_inside_answer_from_the_adapters_clock)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock_advance(fx->clock, 25001);
    LONGLONG seen[3];
    sync_probe s = {.answer = TRUE, .then = query_time_inside, .user = seen};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);   /* unbound thread */
    CHECK_STATUS(s.status[0], STOR_STATUS_SUCCESS);
    CHECK_STATUS(s.status[1], STOR_STATUS_SUCCESS);
    CHECK_EQ(seen[0], STORTIMER_VIRTUAL_EPOCH_100NS + 200000);
    CHECK_EQ(seen[1], 250010);
    CHECK_EQ(seen[2], 100000);
}

/* ---- S15.4: the routine is bound to the adapter's clock ---- */

static void stall_inside(sync_probe *s, PVOID ext)
{
    (void)ext;
    s->at_start = fx_now(s->fx);
    uint64_t start = mono_ns();
    StorPortStallExecution(5000);
    s->status[0] = (ULONG)((mono_ns() - start) / 1000);
    s->at_end = fx_now(s->fx);
}

TEST(s15_4_stall_inside_moves_the_adapters_clock_not_the_threads)
{
    fixture *fx = virtual_fixture();
    stortimer_clock *other = test_virtual_clock();
    PVOID ext = fx_adapter(fx, 0);
    sync_probe s = {.fx = fx, .answer = TRUE, .then = stall_inside};
    stortimer_thread_bind_clock(other);
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_EQ(s.at_end - s.at_start, 5000);
    CHECK_EQ(stortimer_clock_now(other), 0);
    StorPortStallExecution(7);            /* the binding is back */
    CHECK_EQ(stortimer_clock_now(other), 7);
    CHECK_EQ(stortimer_clock_now(fx->clock), 5000);
    CHECK(stortimer_thread_bind_clock(NULL) == other);
    fx_remove(ext);
}

TEST(s15_4_nothing_due_runs_inside_the_routine)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    sync_probe s = {.fx = fx, .answer = TRUE, .then = stall_inside};
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(stortimer_clock_now(fx->clock), 5000);
    stortimer_clock_advance(fx->clock, 0);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 5000);                 /* late, as after any stall */
    fx_remove(ext);
}

TEST_REAL(s15_4_real_adapter_routine_stalls_in_real_time_on_a_bound_thread)
{
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock *v = test_virtual_clock();
    fixture vf = {"virtual", v};
    sync_probe s = {.fx = &vf, .answer = TRUE, .then = stall_inside};
    stortimer_thread_bind_clock(v);
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), TRUE);
    CHECK(stortimer_thread_bind_clock(NULL) == v);
    CHECK(s.status[0] >= 5000);
    CHECK_EQ(stortimer_clock_now(v), 0);
    fx_remove(ext);
}

/* ---- S15.5: accounting ---- */

TEST(s15_5_statistics_count_calls_that_ran_the_routine)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = TRUE};
    for (int i = 0; i < 3; i++)
        StorPortSynchronizeAccess(ext, sync_routine, &s);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    StorPortSynchronizeAccess(ext, sync_routine, &s);        /* refused */
    stortimer_irql_lower(old);
    CHECK_EQ(atomic_load(&s.ran), 3);
    CHECK_EQ(stats_of(ext).synchronized_calls, 3);
    CHECK_EQ(misuse_of(ext), 1);
    CHECK_EQ(stats_of(NULL).synchronized_calls, 3);
}

TEST(s15_5_log_records_entry_and_return)
{
    PVOID ext = virtual_adapter(0);
    sync_probe s = {.answer = 0x5A};
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_routine, &s), 0x5A);
    stortimer_log_stop();
    stortimer_event events[16];
    size_t n = stortimer_log_read(events, 0, 16);
    int entered = -1, returned = -1;
    for (size_t i = 0; i < n; i++) {
        if (events[i].type == STORTIMER_EVENT_SYNC_ENTERED)
            entered = (int)i;
        if (events[i].type == STORTIMER_EVENT_SYNC_RETURNED)
            returned = (int)i;
    }
    CHECK(entered >= 0 && returned > entered);
    for (int k = 0; k < 2; k++) {
        stortimer_event *e = &events[k ? returned : entered];
        CHECK(e->extension == ext);
        CHECK(e->sync_routine == sync_routine);
        CHECK(e->context == &s);
    }
    CHECK_EQ(events[returned].result, 0x5A);
}
