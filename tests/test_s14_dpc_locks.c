/*
 * SPEC S14.12-S14.15 (and S17.12, S17.13): the per-DPC DpcLock, removal
 * with DPCs queued or running, StorPortFreeTimer from a DPC, statistics and
 * the event log. test_s14_dpc.c has S14.1-S14.6, test_s14_dpc_order.c the
 * order and virtual-clock rules.
 */
#include "dpc_fixture.h"

#include <pthread.h>
#include <string.h>

#define EV_MAX 512
static stortimer_event ev[EV_MAX];

static size_t read_log(void)
{
    return stortimer_log_read(ev, 0, EV_MAX);
}

static int find_event(size_t count, size_t from, stortimer_event_type type)
{
    for (size_t i = from; i < count; i++)
        if (ev[i].type == type)
            return (int)i;
    return -1;
}

static int count_events(size_t count, stortimer_event_type type)
{
    int n = 0;
    for (size_t i = 0; i < count; i++)
        n += ev[i].type == type;
    return n;
}

/* ---- S14.12 the DpcLock ---- */

TEST(s14_12_locks_of_two_different_dpcs_may_be_held_at_once)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1, d2;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    StorPortInitializeDpc(ext, &d2, dpc_b);
    reports_capture();
    STOR_LOCK_HANDLE h1, h2;
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h1);
    KIRQL inside = stortimer_irql_current();
    StorPortAcquireSpinLock(ext, DpcLock, &d2, &h2);
    PVOID o1 = h1.Context.LockObject, o2 = h2.Context.LockObject;
    StorPortReleaseSpinLock(ext, &h2);
    StorPortReleaseSpinLock(ext, &h1);
    int reports = reports_count();
    reports_release();
    CHECK_EQ(inside, DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(reports, 0);
    CHECK(o1 != NULL && o2 != NULL && o1 != o2);
    CHECK_EQ(stats_of(ext).lock_misuse, 0);
}

TEST(s14_12_same_dpc_lock_twice_is_reported_and_not_taken)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    reports_capture();
    STOR_LOCK_HANDLE h1, h2;
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h1);
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h2);
    int reports = reports_count();
    PVOID second = h2.Context.LockObject;
    StorPortReleaseSpinLock(ext, &h2);
    StorPortReleaseSpinLock(ext, &h1);
    reports_release();
    CHECK(reports >= 1);
    CHECK(second == NULL);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    /* Released once: it can be taken again without a report. */
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h1);
    CHECK(h1.Context.LockObject != NULL);
    StorPortReleaseSpinLock(ext, &h1);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
}

static struct {
    PVOID ext;
    STOR_DPC *dpc;
    _Atomic int got;
} contender;

static void *contend(void *arg)
{
    (void)arg;
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(contender.ext, DpcLock, contender.dpc, &h);
    atomic_store(&contender.got, 1);
    StorPortReleaseSpinLock(contender.ext, &h);
    return NULL;
}

TEST(s14_12_a_dpcs_lock_excludes_other_threads)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1, d2;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    StorPortInitializeDpc(ext, &d2, dpc_b);
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h);
    /* Another DPC's lock is free. */
    contender.ext = ext;
    contender.dpc = &d2;
    thread_join(thread_start(contend, NULL));
    CHECK_EQ(atomic_load(&contender.got), 1);
    /* The same DPC's lock is not. */
    atomic_store(&contender.got, 0);
    contender.dpc = &d1;
    test_thread *t = thread_start(contend, NULL);
    sleep_us(50000);
    int got_while_held = atomic_load(&contender.got);
    StorPortReleaseSpinLock(ext, &h);
    thread_join(t);
    CHECK_EQ(got_while_held, 0);
    CHECK_EQ(atomic_load(&contender.got), 1);
}

TEST(s14_12_null_context_takes_the_adapter_dpclock_apart_from_dpc_locks)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    reports_capture();
    STOR_LOCK_HANDLE adapter_lock, dpc_lock, again_h;
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &adapter_lock);
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &dpc_lock); /* a different lock */
    int reports_before = reports_count();
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &again_h);  /* the same one again */
    int reports_after = reports_count();
    PVOID adapter_object = adapter_lock.Context.LockObject;
    PVOID dpc_object = dpc_lock.Context.LockObject;
    PVOID again_object = again_h.Context.LockObject;
    StorPortReleaseSpinLock(ext, &again_h);
    StorPortReleaseSpinLock(ext, &dpc_lock);
    StorPortReleaseSpinLock(ext, &adapter_lock);
    reports_release();
    CHECK(adapter_object != NULL);
    CHECK(dpc_object != NULL);
    CHECK(adapter_object != dpc_object);
    CHECK_EQ(reports_before, 0);
    CHECK(reports_after > reports_before);
    CHECK(again_object == NULL);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
}

TEST(s14_12_other_context_is_reported_counted_and_takes_the_adapter_dpclock)
{
    PVOID ext = virtual_adapter(0);
    int not_a_dpc = 0;
    reports_capture();
    STOR_LOCK_HANDLE other, adapter_lock;
    StorPortAcquireSpinLock(ext, DpcLock, &not_a_dpc, &other);
    int reports = reports_count();
    ULONGLONG misuse = stats_of(ext).lock_misuse;
    /* It took the adapter's DpcLock: taking that again is recursive. */
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &adapter_lock);
    PVOID second = adapter_lock.Context.LockObject;
    PVOID taken = other.Context.LockObject;
    StorPortReleaseSpinLock(ext, &adapter_lock);
    StorPortReleaseSpinLock(ext, &other);
    reports_release();
    CHECK(reports >= 1);
    CHECK_EQ(misuse, 1);
    CHECK(taken != NULL);
    CHECK(second == NULL);
    CHECK_EQ(stats_of(ext).lock_misuse, 2);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s14_12_another_adapters_dpc_as_context_is_misuse)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC of_b;
    StorPortInitializeDpc(b, &of_b, dpc_a);
    reports_capture();
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(a, DpcLock, &of_b, &h);
    StorPortReleaseSpinLock(a, &h);
    reports_release();
    CHECK_EQ(stats_of(a).lock_misuse, 1);
    CHECK_EQ(stats_of(b).lock_misuse, 0);
}

TEST(s14_12_forged_stack_buffer_as_context_is_misuse_not_a_crash)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC forged;
    memset(&forged, 0xEE, sizeof forged);
    reports_capture();
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, DpcLock, &forged, &h);
    KIRQL inside = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &h);
    reports_release();
    CHECK_EQ(inside, DISPATCH_LEVEL);
    CHECK_EQ(stats_of(ext).lock_misuse, 1);
}

TEST(s14_12_notification_forms_take_a_dpcs_lock)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    STOR_LOCK_HANDLE h;
    StorPortNotification(AcquireSpinLock, ext, DpcLock, (PVOID)&d1, &h);
    KIRQL inside = stortimer_irql_current();
    contender.ext = ext;
    contender.dpc = &d1;
    atomic_store(&contender.got, 0);
    test_thread *t = thread_start(contend, NULL);
    sleep_us(30000);
    int got_while_held = atomic_load(&contender.got);
    StorPortNotification(ReleaseSpinLock, ext, &h);
    thread_join(t);
    CHECK_EQ(inside, DISPATCH_LEVEL);
    CHECK_EQ(got_while_held, 0);
    CHECK_EQ(atomic_load(&contender.got), 1);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(stats_of(ext).lock_misuse, 0);
}

TEST(s14_12_a_held_dpclock_does_not_hold_back_its_routine)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &d1, dpc_a);
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, DpcLock, &d1, &h);
    CHECK(StorPortIssueDpc(ext, &d1, NULL, NULL));
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    int n = atomic_load(&rec.n);
    StorPortReleaseSpinLock(ext, &h);
    CHECK_EQ(n, 1);
}

static BOOLEAN take_dpclock_in_sync(PVOID Ext, PVOID Context)
{
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(Ext, DpcLock, Context, &h);
    BOOLEAN taken = h.Context.LockObject != NULL;
    StorPortReleaseSpinLock(Ext, &h);
    return taken;
}

TEST(s14_12_dpc_lock_after_the_interrupt_lock_is_a_lock_order_violation)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1;
    StorPortInitializeDpc(ext, &d1, dpc_a);
    reports_capture();
    BOOLEAN taken = StorPortSynchronizeAccess(ext, take_dpclock_in_sync, &d1);
    int reports = reports_count();
    reports_release();
    CHECK_EQ(taken, FALSE);
    CHECK(reports >= 1);
    CHECK(stats_of(ext).lock_misuse >= 1);
}

/* ---- S14.13 removal ---- */

TEST(s14_13_removal_drops_queued_dpcs_counts_and_logs_them)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC d1, d2;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &d1, dpc_a);
    StorPortInitializeDpc(ext, &d2, dpc_b);
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    CHECK(StorPortIssueDpc(ext, &d1, NULL, NULL));
    CHECK(StorPortIssueDpc(ext, &d2, NULL, NULL));
    ULONGLONG before = stats_of(NULL).dpcs_dropped;
    fx_remove(ext);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(atomic_load(&rec.n), 0);
    CHECK_EQ(stats_of(NULL).dpcs_dropped, before + 2);
    size_t n = read_log();
    CHECK_EQ(count_events(n, STORTIMER_EVENT_DPC_DROPPED), 2);
    int first = find_event(n, 0, STORTIMER_EVENT_DPC_DROPPED);
    int second = find_event(n, (size_t)first + 1, STORTIMER_EVENT_DPC_DROPPED);
    CHECK((ev[first].dpc == &d1 && ev[second].dpc == &d2) ||
          (ev[first].dpc == &d2 && ev[second].dpc == &d1));
    CHECK(ev[first].extension == ext);
    CHECK_EQ(count_events(n, STORTIMER_EVENT_DPC_STARTED), 0);
}

static struct {
    PVOID ext;
    STOR_DPC blocker;
    STOR_DPC fresh[400];
    _Atomic int started, finished;
    int accepted;        /* fresh DPCs queued before removal began */
    BOOLEAN refused;     /* a fresh DPC answered FALSE */
    ULONGLONG queued_already_after;
} removal;

/* Issues never-issued DPCs until one is refused (removal has begun), so
 * every FALSE it sees comes from S14.4 (3), not from S14.4 (4). */
static VOID blocker_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    atomic_store(&removal.started, 1);
    for (int i = 0; i < 400; i++) {
        if (!StorPortIssueDpc(Ext, &removal.fresh[i], NULL, NULL)) {
            removal.refused = TRUE;
            break;
        }
        removal.accepted++;
        sleep_us(10000);
    }
    sleep_us(20000); /* removal must wait for this */
    atomic_store(&removal.finished, 1);
}

static void *remove_when_started(void *arg)
{
    (void)arg;
    while (!atomic_load(&removal.started))
        sleep_us(100);
    ULONG status = stortimer_adapter_remove(removal.ext, NULL);
    return (void *)(uintptr_t)(status == STOR_STATUS_SUCCESS && atomic_load(&removal.finished));
}

TEST_BOTH(s14_13_removal_waits_for_a_running_dpc_refuses_issues_and_drops_the_rest)
{
    PVOID ext = fx_adapter(fx, 0);
    removal.ext = ext;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &removal.blocker, blocker_routine);
    for (int i = 0; i < 400; i++)
        StorPortInitializeDpc(ext, &removal.fresh[i], dpc_a);
    CHECK(StorPortIssueDpc(ext, &removal.blocker, NULL, NULL));
    ULONGLONG dropped_before = stats_of(NULL).dpcs_dropped;
    reports_capture();
    test_thread *remover = thread_start(remove_when_started, NULL);
    run_queued(fx); /* on a virtual clock the routine runs here */
    bool removed_after_finish = thread_join(remover) != NULL;
    reports_release();
    CHECK(removed_after_finish);
    CHECK(removal.refused);
    CHECK_EQ(atomic_load(&rec.n), 0); /* the fresh ones queued behind it never ran */
    CHECK_EQ(stats_of(NULL).dpcs_dropped, dropped_before + (ULONGLONG)removal.accepted);
}

static struct {
    _Atomic int done;
    ULONG status;
} self_remove;

static VOID remove_self_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    self_remove.status = stortimer_adapter_remove(Ext, NULL);
    atomic_store(&self_remove.done, 1);
}

TEST_BOTH(s14_13_remove_from_a_dpc_routine_is_invalid_device_state)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, remove_self_routine);
    reports_capture();
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    bool done = fx_await(fx, &self_remove.done, 1);
    reports_release();
    CHECK(done);
    CHECK_STATUS(self_remove.status, STOR_STATUS_INVALID_DEVICE_STATE);
    /* The adapter is still there. */
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
}

TEST(s14_13_stale_dpc_after_removal_answers_false)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    fx_remove(ext);
    PVOID other = virtual_adapter(0);
    reports_capture();
    BOOLEAN on_old = StorPortIssueDpc(ext, &dpc, NULL, NULL);
    BOOLEAN on_new = StorPortIssueDpc(other, &dpc, NULL, NULL);
    reports_release();
    CHECK_EQ(on_old, FALSE);
    CHECK_EQ(on_new, FALSE);
    run_queued(virtual_fixture());
    CHECK_EQ(atomic_load(&rec.n), 0);
    /* The new adapter's extension may sit where the old one did: then the
     * first issue names it too (the address is all an extension is). */
    CHECK_EQ(stats_of(other).dpc_issue_refused, other == ext ? 2 : 1);
}

/* ---- S14.14 ---- */

static struct {
    PVOID timer;
    ULONG status;
    _Atomic int done;
} free_in_dpc;

static VOID free_timer_routine(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    free_in_dpc.status = StorPortFreeTimer(Ext, free_in_dpc.timer);
    atomic_store(&free_in_dpc.done, 1);
}

TEST_BOTH(s14_14_free_timer_from_a_dpc_succeeds_and_the_timer_never_fires)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    free_in_dpc.timer = new_timer(ext);
    arm(ext, free_in_dpc.timer, probe_callback, &p, 100000, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, free_timer_routine);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    CHECK(fx_await(fx, &free_in_dpc.done, 1));
    CHECK_STATUS(free_in_dpc.status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 150000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(stats_of(ext).timers_freed, 1);
}

/* ---- S14.15 accounting ---- */

TEST_BOTH(s14_15_statistics_count_issues_queued_starts_and_returns)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC d1, d2;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &d1, dpc_a);
    StorPortInitializeDpc(ext, &d2, dpc_b);
    CHECK(StorPortIssueDpc(ext, &d1, NULL, NULL));
    CHECK(StorPortIssueDpc(ext, &d2, NULL, NULL));
    CHECK(ran(fx, 2));
    fx_settle(fx);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpcs_initialized, 2);
    CHECK_EQ(s.dpcs_issued, 2);
    CHECK_EQ(s.dpcs_started, 2);
    CHECK_EQ(s.dpcs_returned, 2);
    CHECK_EQ(s.dpcs_dropped, 0);
    ULONGLONG in_histogram = 0;
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        in_histogram += s.dpc_lateness_histogram[i];
    CHECK_EQ(in_histogram, 2);
    CHECK(s.dpc_lateness_total_us >= s.dpc_lateness_max_us);
}

static STOR_DPC late_dpc;

static VOID issue_then_stall(PVOID Ext, PVOID Context)
{
    (void)Context;
    StorPortIssueDpc(Ext, &late_dpc, NULL, NULL);
    StorPortStallExecution(500);
}

TEST(s14_15_lateness_is_counted_from_the_issue)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &late_dpc, dpc_a);
    arm(ext, new_timer(ext), issue_then_stall, NULL, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_EQ(atomic_load(&rec.n), 1);
    CHECK_EQ(rec.at[0], 600); /* issued at 100, started after the 500 us stall */
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_lateness_max_us, 500);
    CHECK_EQ(s.dpc_lateness_total_us, 500);
    CHECK_EQ(s.dpc_lateness_histogram[9], 1); /* 256..511 us */
}

TEST(s14_15_log_records_initialize_issue_start_and_return)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    stortimer_clock_advance(clock, 250);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)7, (PVOID)8));
    CHECK_EQ(StorPortIssueDpc(ext, &dpc, (PVOID)9, (PVOID)10), FALSE);
    stortimer_clock_advance(clock, 100);
    size_t n = read_log();
    int init = find_event(n, 0, STORTIMER_EVENT_DPC_INITIALIZED);
    int issued = find_event(n, 0, STORTIMER_EVENT_DPC_ISSUED);
    int queued = find_event(n, 0, STORTIMER_EVENT_DPC_QUEUED_ALREADY);
    int started = find_event(n, 0, STORTIMER_EVENT_DPC_STARTED);
    int returned = find_event(n, 0, STORTIMER_EVENT_DPC_RETURNED);
    CHECK(init >= 0 && issued > init && queued > issued && started > queued &&
          returned > started);
    CHECK(ev[init].dpc == &dpc && ev[init].dpc_routine == dpc_a);
    const stortimer_event *e[] = {&ev[issued], &ev[started], &ev[returned]};
    for (int i = 0; i < 3; i++) {
        CHECK(e[i]->extension == ext);
        CHECK(e[i]->dpc == &dpc);
        CHECK(e[i]->argument1 == (PVOID)7 && e[i]->argument2 == (PVOID)8);
        CHECK_EQ(e[i]->due, 250);
    }
    CHECK(ev[started].dpc_routine == dpc_a && ev[returned].dpc_routine == dpc_a);
    CHECK_EQ(ev[started].fire_time, 250);
    CHECK_EQ(ev[started].time, 250);
    CHECK_EQ(ev[started].irql, DISPATCH_LEVEL);
    CHECK(ev[queued].dpc == &dpc);
    CHECK(ev[queued].argument1 == (PVOID)9); /* the arguments it dropped */
}

TEST(s14_15_log_records_refusals_with_their_reason)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc, forged;
    StorPortInitializeDpc(a, &dpc, dpc_a);
    reports_capture();
    StorPortInitializeDpc(b, &dpc, dpc_b);                  /* foreign */
    CHECK(StorPortIssueDpc(a, &dpc, NULL, NULL));
    StorPortInitializeDpc(a, &dpc, dpc_b);                  /* queued */
    CHECK_EQ(StorPortIssueDpc(a, &forged, NULL, NULL), FALSE); /* not a DPC */
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    StorPortInitializeDpc(a, &forged, dpc_a);               /* IRQL */
    stortimer_irql_lower(old);
    reports_release();
    size_t n = read_log();
    ULONG want[] = {STORTIMER_DPC_REFUSED_FOREIGN, STORTIMER_DPC_REFUSED_BUSY,
                    STORTIMER_DPC_REFUSED_ARGUMENT, STORTIMER_DPC_REFUSED_IRQL};
    int at = 0;
    for (int i = 0; i < 4; i++) {
        at = find_event(n, (size_t)at, STORTIMER_EVENT_DPC_REFUSED);
        CHECK(at >= 0);
        CHECK_EQ(ev[at].status, want[i]);
        at++;
    }
    CHECK_EQ(find_event(n, (size_t)at, STORTIMER_EVENT_DPC_REFUSED), -1);
}

TEST(s14_15_log_issue_event_carries_the_routine)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK_EQ(StorPortIssueDpc(ext, &dpc, NULL, NULL), FALSE);
    size_t n = read_log();
    int issued = find_event(n, 0, STORTIMER_EVENT_DPC_ISSUED);
    int queued = find_event(n, 0, STORTIMER_EVENT_DPC_QUEUED_ALREADY);
    CHECK(issued >= 0 && queued > issued);
    CHECK(ev[issued].dpc_routine == dpc_a);
    CHECK(ev[queued].dpc_routine == dpc_a);
}
