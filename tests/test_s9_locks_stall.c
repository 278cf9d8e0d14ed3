/*
 * SPEC S9: StorPortAcquireSpinLock / ReleaseSpinLock (IRQL, exclusion,
 * per-adapter locks, misuse) and StorPortStallExecution (real waits, virtual
 * clock moves, late callbacks), plus the host-side IRQL API it rests on.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

static PVOID duplex_adapter(bool half_duplex)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = half_duplex};
    return fx_adapter_config(virtual_fixture(), config);
}

static ULONGLONG lock_misuse_of(PVOID ext)
{
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    return stats.lock_misuse;
}

/* A thread that acquires one lock (once *go is set), notes when, releases. */
typedef struct locker {
    PVOID ext;
    STOR_SPINLOCK kind;
    _Atomic int go;
    _Atomic int trying;
    _Atomic int acquired;
    uint64_t acquired_ns;
    KIRQL irql_inside, irql_after;
} locker;

static void *locker_main(void *arg)
{
    locker *l = arg;
    if (!wait_for(&l->go, 1, 5000))
        return NULL;
    STOR_LOCK_HANDLE handle;
    atomic_store(&l->trying, 1);
    StorPortAcquireSpinLock(l->ext, l->kind, NULL, &handle);
    l->acquired_ns = mono_ns();
    l->irql_inside = stortimer_irql_current();
    atomic_store(&l->acquired, 1);
    StorPortReleaseSpinLock(l->ext, &handle);
    l->irql_after = stortimer_irql_current();
    return NULL;
}

/*
 * While this thread holds `held` of `holder_ext`, another thread tries `kind`
 * of `ext`. Returns whether it got it while the hold lasted; if it did not,
 * checks that it got it only after the release.
 */
static bool other_thread_gets_lock(PVOID holder_ext, STOR_SPINLOCK held, PVOID ext,
                                   STOR_SPINLOCK kind, bool expect_blocked)
{
    locker other = {.ext = ext, .kind = kind};
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(holder_ext, held, NULL, &lock);
    CHECK(lock.Context.LockObject != NULL);
    test_thread *t = thread_start(locker_main, &other);
    atomic_store(&other.go, 1);
    CHECK(wait_for(&other.trying, 1, 5000));
    if (expect_blocked)
        sleep_us(30000);  /* long enough to get a lock that is free */
    else
        wait_for(&other.acquired, 1, 5000);
    bool got = atomic_load(&other.acquired);
    uint64_t release_ns = mono_ns();
    StorPortReleaseSpinLock(holder_ext, &lock);
    thread_join(t);
    CHECK_EQ(atomic_load(&other.acquired), 1);
    if (!got)
        CHECK(other.acquired_ns >= release_ns);
    return got;
}

/* ---- S9.1: IRQL of the locks ---- */

static void check_lock_irql(STOR_SPINLOCK kind, KIRQL level)
{
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE lock;
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    StorPortAcquireSpinLock(ext, kind, NULL, &lock);
    CHECK_EQ(stortimer_irql_current(), level);
    CHECK(lock.Context.LockObject != NULL);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s9_1_dpc_lock_raises_to_dispatch_level)
{
    check_lock_irql(DpcLock, DISPATCH_LEVEL);
}

TEST(s9_1_startio_lock_raises_to_dispatch_level)
{
    check_lock_irql(StartIoLock, DISPATCH_LEVEL);
}

TEST(s9_1_interrupt_lock_raises_to_a_device_level)
{
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    KIRQL level = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &lock);
    CHECK(level >= 3 && level <= 14);
    CHECK_EQ(level, STOR_DEVICE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s9_1_half_duplex_interrupt_lock_raises_to_a_device_level)
{
    PVOID ext = duplex_adapter(true);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    KIRQL level = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(level, STOR_DEVICE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s9_1_release_restores_the_saved_irql)
{
    PVOID ext = duplex_adapter(false);
    static const STOR_SPINLOCK kinds[3] = {DpcLock, StartIoLock, InterruptLock};
    for (int i = 0; i < 3; i++) {
        /* From APC_LEVEL back to APC_LEVEL, not to PASSIVE_LEVEL. */
        KIRQL old = stortimer_irql_raise(APC_LEVEL);
        STOR_LOCK_HANDLE lock;
        StorPortAcquireSpinLock(ext, kinds[i], NULL, &lock);
        CHECK(stortimer_irql_current() >= DISPATCH_LEVEL);
        StorPortReleaseSpinLock(ext, &lock);
        CHECK_EQ(stortimer_irql_current(), APC_LEVEL);
        /* From DISPATCH_LEVEL back to DISPATCH_LEVEL. */
        stortimer_irql_raise(DISPATCH_LEVEL);
        StorPortAcquireSpinLock(ext, kinds[i], NULL, &lock);
        CHECK(stortimer_irql_current() >= DISPATCH_LEVEL);
        StorPortReleaseSpinLock(ext, &lock);
        CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
        stortimer_irql_lower(old);
        CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    }
}

TEST(s9_1_nested_dpc_then_interrupt_lock_release_in_reverse)
{
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE dpc, interrupt;
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &dpc);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &interrupt);
    CHECK_EQ(stortimer_irql_current(), STOR_DEVICE_LEVEL);
    CHECK(dpc.Context.LockObject != NULL);
    CHECK(interrupt.Context.LockObject != NULL);
    StorPortReleaseSpinLock(ext, &interrupt);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    StorPortReleaseSpinLock(ext, &dpc);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(lock_misuse_of(ext), 0);
}

TEST(s9_1_nested_startio_then_interrupt_lock_release_in_reverse)
{
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE startio, interrupt;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &startio);
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &interrupt);
    CHECK_EQ(stortimer_irql_current(), STOR_DEVICE_LEVEL);
    StorPortReleaseSpinLock(ext, &interrupt);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    StorPortReleaseSpinLock(ext, &startio);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(lock_misuse_of(ext), 0);
}

/* ---- S9.1: the locks exclude other threads ---- */

TEST(s9_1_dpc_lock_excludes_other_threads)
{
    PVOID ext = duplex_adapter(false);
    CHECK(!other_thread_gets_lock(ext, DpcLock, ext, DpcLock, true));
}

TEST(s9_1_startio_lock_excludes_other_threads)
{
    PVOID ext = duplex_adapter(false);
    CHECK(!other_thread_gets_lock(ext, StartIoLock, ext, StartIoLock, true));
}

TEST(s9_1_interrupt_lock_excludes_other_threads)
{
    PVOID ext = duplex_adapter(false);
    CHECK(!other_thread_gets_lock(ext, InterruptLock, ext, InterruptLock, true));
}

TEST(s9_1_other_thread_gets_the_lock_at_its_own_irql)
{
    PVOID ext = duplex_adapter(false);
    locker other = {.ext = ext, .kind = InterruptLock};
    atomic_store(&other.go, 1);
    thread_join(thread_start(locker_main, &other));
    CHECK_EQ(atomic_load(&other.acquired), 1);
    CHECK_EQ(other.irql_inside, STOR_DEVICE_LEVEL);
    CHECK_EQ(other.irql_after, PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);  /* ours untouched */
}

typedef struct counting {
    PVOID ext;
    STOR_SPINLOCK kind;
    volatile long *counter;
    int rounds;
} counting;

static void *count_under_lock(void *arg)
{
    counting *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        STOR_LOCK_HANDLE lock;
        StorPortAcquireSpinLock(c->ext, c->kind, NULL, &lock);
        long v = *c->counter;
        for (volatile int spin = 0; spin < 20; spin++) {
        }
        *c->counter = v + 1;
        StorPortReleaseSpinLock(c->ext, &lock);
    }
    return NULL;
}

TEST(s9_1_locks_serialize_read_modify_write_across_threads)
{
    PVOID ext = duplex_adapter(false);
    static const STOR_SPINLOCK kinds[3] = {DpcLock, StartIoLock, InterruptLock};
    for (int k = 0; k < 3; k++) {
        volatile long counter = 0;
        counting c = {ext, kinds[k], &counter, 20000};
        test_thread *a = thread_start(count_under_lock, &c);
        test_thread *b = thread_start(count_under_lock, &c);
        test_thread *d = thread_start(count_under_lock, &c);
        thread_join(a);
        thread_join(b);
        thread_join(d);
        CHECK_EQ(counter, 60000);
    }
}

/* ---- S3.2: each adapter's locks are its own ---- */

TEST(s3_2_each_adapters_locks_are_its_own)
{
    PVOID a = duplex_adapter(false), b = duplex_adapter(false);
    static const STOR_SPINLOCK kinds[3] = {DpcLock, StartIoLock, InterruptLock};
    for (int k = 0; k < 3; k++)
        CHECK(other_thread_gets_lock(a, kinds[k], b, kinds[k], false));
}

TEST(s3_2_each_half_duplex_adapters_locks_are_its_own)
{
    PVOID a = duplex_adapter(true), b = duplex_adapter(true);
    CHECK(other_thread_gets_lock(a, StartIoLock, b, InterruptLock, false));
    CHECK(other_thread_gets_lock(a, InterruptLock, b, StartIoLock, false));
}

TEST(s3_2_full_duplex_startio_and_interrupt_are_distinct_locks)
{
    PVOID ext = duplex_adapter(false);
    CHECK(other_thread_gets_lock(ext, StartIoLock, ext, InterruptLock, false));
    CHECK(other_thread_gets_lock(ext, InterruptLock, ext, StartIoLock, false));
}

TEST(s3_2_dpc_lock_is_distinct_from_startio_lock)
{
    PVOID ext = duplex_adapter(false);
    CHECK(other_thread_gets_lock(ext, DpcLock, ext, StartIoLock, false));
    CHECK(other_thread_gets_lock(ext, StartIoLock, ext, DpcLock, false));
}

TEST(s3_2_half_duplex_startio_and_interrupt_are_one_lock)
{
    PVOID ext = duplex_adapter(true);
    CHECK(!other_thread_gets_lock(ext, StartIoLock, ext, InterruptLock, true));
    CHECK(!other_thread_gets_lock(ext, InterruptLock, ext, StartIoLock, true));
}

/* ---- S8.3: misuse is reported instead of hanging ---- */

static void check_recursive_acquire(bool half_duplex, STOR_SPINLOCK first, STOR_SPINLOCK again)
{
    PVOID ext = duplex_adapter(half_duplex);
    STOR_LOCK_HANDLE outer, inner;
    StorPortAcquireSpinLock(ext, first, NULL, &outer);
    KIRQL level = stortimer_irql_current();
    reports_capture();
    memset(&inner, 0x5A, sizeof inner);
    StorPortAcquireSpinLock(ext, again, NULL, &inner);  /* must return */
    CHECK(reports_count() >= 1);
    CHECK(inner.Context.LockObject == NULL);            /* nothing taken */
    CHECK_EQ(stortimer_irql_current(), level);
    CHECK_EQ(lock_misuse_of(ext), 1);
    /* Releasing what took nothing is harmless: the outer hold remains. */
    StorPortReleaseSpinLock(ext, &inner);
    CHECK_EQ(stortimer_irql_current(), level);
    locker other = {.ext = ext, .kind = first};
    test_thread *t = thread_start(locker_main, &other);
    atomic_store(&other.go, 1);
    CHECK(wait_for(&other.trying, 1, 5000));
    sleep_us(30000);
    CHECK_EQ(atomic_load(&other.acquired), 0);
    StorPortReleaseSpinLock(ext, &outer);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    thread_join(t);
    CHECK_EQ(atomic_load(&other.acquired), 1);
    reports_release();
}

TEST(s8_3_recursive_startio_acquire_is_reported_and_does_not_hang)
{
    check_recursive_acquire(false, StartIoLock, StartIoLock);
}

TEST(s8_3_recursive_dpc_acquire_is_reported_and_does_not_hang)
{
    check_recursive_acquire(false, DpcLock, DpcLock);
}

TEST(s8_3_recursive_interrupt_acquire_is_reported_and_does_not_hang)
{
    check_recursive_acquire(false, InterruptLock, InterruptLock);
}

TEST(s8_3_half_duplex_interrupt_under_startio_is_reported_and_does_not_hang)
{
    check_recursive_acquire(true, StartIoLock, InterruptLock);
}

TEST(s8_3_recursive_acquire_report_names_the_lock)
{
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE outer, inner;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &outer);
    reports_capture();
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &inner);
    StorPortReleaseSpinLock(ext, &inner);
    StorPortReleaseSpinLock(ext, &outer);
    CHECK(reports_contain("StartIo"));
    reports_release();
}

TEST(s3_1_acquire_on_unknown_extension_is_reported_and_takes_nothing)
{
    char not_an_adapter[64];
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(NULL, &before), STOR_STATUS_SUCCESS);
    reports_capture();
    STOR_LOCK_HANDLE lock;
    memset(&lock, 0x5A, sizeof lock);
    StorPortAcquireSpinLock(not_an_adapter, StartIoLock, NULL, &lock);
    CHECK(reports_count() >= 1);
    CHECK(lock.Context.LockObject == NULL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    StorPortReleaseSpinLock(not_an_adapter, &lock);      /* harmless */
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    /* Never dereferenced: an address that would fault is just as unknown. */
    StorPortAcquireSpinLock((PVOID)0x10, DpcLock, NULL, &lock);
    CHECK(lock.Context.LockObject == NULL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    StorPortReleaseSpinLock((PVOID)0x10, &lock);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK(reports_count() >= 2);
    CHECK_STATUS(stortimer_stats_read(NULL, &after), STOR_STATUS_SUCCESS);
    CHECK(after.lock_misuse >= before.lock_misuse + 2);
    reports_release();
}

TEST(s3_1_acquire_on_removed_adapter_is_reported_and_takes_nothing)
{
    PVOID ext = duplex_adapter(false);
    fx_remove(ext);
    reports_capture();
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    CHECK(reports_count() >= 1);
    CHECK(lock.Context.LockObject == NULL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    reports_release();
}

/* ---- S9.2: StorPortStallExecution returns no sooner than Delay ---- */

TEST_BOTH(s9_2_stall_returns_no_sooner_than_delay)
{
    /* Bound to a virtual clock, the stall moves it by exactly Delay; bound
     * to the real clock (NULL), it waits at least Delay. */
    stortimer_thread_bind_clock(fx->clock);
    static const ULONG delays[] = {1, 50, 500, 5000};
    for (int i = 0; i < 4; i++) {
        for (int round = 0; round < 5; round++) {
            ULONGLONG before = fx_now(fx);
            uint64_t start = mono_ns();
            StorPortStallExecution(delays[i]);
            uint64_t elapsed = mono_ns() - start;
            ULONGLONG moved = fx_now(fx) - before;
            if (fx->clock)
                CHECK_EQ(moved, delays[i]);
            else if (elapsed < (uint64_t)delays[i] * 1000u)
                test_failf(__FILE__, __LINE__, "StorPortStallExecution(%u) returned after "
                           "%llu ns", delays[i], (unsigned long long)elapsed);
        }
    }
    stortimer_thread_bind_clock(NULL);
}

typedef struct stall_job {
    fixture *fx;
    ULONG delay;
    uint64_t start_ns, end_ns;
    ULONGLONG at_start, at_end;   /* the adapter's clock */
    _Atomic int fired;
} stall_job;

static VOID stall_callback(PVOID ext, PVOID context)
{
    (void)ext;
    stall_job *j = context;
    j->at_start = fx_now(j->fx);
    j->start_ns = mono_ns();
    StorPortStallExecution(j->delay);
    j->end_ns = mono_ns();
    j->at_end = fx_now(j->fx);
    atomic_fetch_add(&j->fired, 1);
}

TEST_BOTH(s9_2_stall_in_a_callback_waits)
{
    /* Real clock: the callback's thread waits 5 ms. Virtual clock: the
     * callback is bound to its adapter's clock, which moves by 5 ms. */
    PVOID ext = fx_adapter(fx, 0);
    stall_job j = {.fx = fx, .delay = 5000};
    arm(ext, new_timer(ext), stall_callback, &j, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &j.fired, 1));
    if (fx->clock) {
        CHECK_EQ(j.at_start, 1000);
        CHECK_EQ(j.at_end, 6000);
    } else {
        CHECK(j.end_ns - j.start_ns >= 5000000u);
        CHECK(j.at_end - j.at_start >= 5000);
    }
    fx_remove(ext);
}

/* ---- S9.3: StorPortStallExecution on a thread bound to a virtual clock ---- */

TEST(s10_bind_clock_returns_the_previous_binding)
{
    fixture *fx = virtual_fixture();
    stortimer_clock *other = test_virtual_clock();
    CHECK(stortimer_thread_bind_clock(fx->clock) == NULL);
    CHECK(stortimer_thread_bind_clock(other) == fx->clock);
    CHECK(stortimer_thread_bind_clock(NULL) == other);
    CHECK(stortimer_thread_bind_clock(NULL) == NULL);
}

TEST(s9_3_stall_on_bound_thread_moves_the_clock_by_exactly_delay)
{
    fixture *fx = virtual_fixture();
    stortimer_thread_bind_clock(fx->clock);
    static const ULONG delays[] = {1, 50, 500, 5000};
    ULONGLONG expected = 0;
    CHECK_EQ(stortimer_clock_now(fx->clock), 0);
    for (int i = 0; i < 4; i++) {
        StorPortStallExecution(delays[i]);
        expected += delays[i];
        CHECK_EQ(stortimer_clock_now(fx->clock), expected);
    }
    StorPortStallExecution(0);
    CHECK_EQ(stortimer_clock_now(fx->clock), 5551);
    stortimer_thread_bind_clock(NULL);
}

TEST(s9_3_stall_on_bound_thread_returns_immediately)
{
    fixture *fx = virtual_fixture();
    stortimer_thread_bind_clock(fx->clock);
    uint64_t start = mono_ns();
    StorPortStallExecution(3000000);   /* three seconds of virtual time */
    uint64_t elapsed = mono_ns() - start;
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(stortimer_clock_now(fx->clock), 3000000);
    CHECK(elapsed < 1000000000u);
}

TEST(s9_2_stall_after_unbinding_waits_and_leaves_the_virtual_clock)
{
    fixture *fx = virtual_fixture();
    stortimer_thread_bind_clock(fx->clock);
    StorPortStallExecution(100);
    stortimer_thread_bind_clock(NULL);
    uint64_t start = mono_ns();
    StorPortStallExecution(2000);
    CHECK(mono_ns() - start >= 2000000u);
    CHECK_EQ(stortimer_clock_now(fx->clock), 100);
}

typedef struct unbound_stall {
    uint64_t elapsed_ns;
} unbound_stall;

static void *stall_unbound(void *arg)
{
    unbound_stall *s = arg;
    uint64_t start = mono_ns();
    StorPortStallExecution(2000);
    s->elapsed_ns = mono_ns() - start;
    return NULL;
}

TEST(s9_3_binding_is_per_thread)
{
    fixture *fx = virtual_fixture();
    stortimer_thread_bind_clock(fx->clock);
    unbound_stall s = {0};
    thread_join(thread_start(stall_unbound, &s));
    CHECK_EQ(stortimer_clock_now(fx->clock), 0);   /* the other thread waited */
    CHECK(s.elapsed_ns >= 2000000u);
    stortimer_thread_bind_clock(NULL);
}

TEST(s9_3_stall_on_bound_thread_does_not_run_due_callbacks)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_thread_bind_clock(fx->clock);
    StorPortStallExecution(500);
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(stortimer_clock_now(fx->clock), 500);
    CHECK_EQ(atomic_load(&p.fired), 0);
    /* It runs at the next advance, late. */
    stortimer_clock_advance(fx->clock, 0);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 500);
    fx_remove(ext);
}

/* ---- S9.3: a stall inside a callback of an adapter on a virtual clock ---- */

typedef struct staller {
    fixture *fx;
    ULONG delay;
    ULONGLONG at_start, at_end;
    _Atomic int done;
    int other_fired_at_end;
    struct staller *watch;    /* the callback whose stall this one must follow */
    int watch_done_at_start;
    _Atomic int *log_n;
    int *log;
    int id;
    _Atomic int fired;
} staller;

static VOID staller_callback(PVOID ext, PVOID context)
{
    (void)ext;
    staller *s = context;
    s->at_start = fx_now(s->fx);
    if (s->watch)
        s->watch_done_at_start = atomic_load(&s->watch->done);
    s->log[atomic_fetch_add(s->log_n, 1)] = s->id;
    if (s->delay)
        StorPortStallExecution(s->delay);
    s->at_end = fx_now(s->fx);
    atomic_fetch_add(&s->fired, 1);
    atomic_store(&s->done, 1);
}

TEST(s9_3_stall_in_virtual_callback_moves_its_clock)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int n = 0;
    int log[4];
    staller a = {.fx = fx, .delay = 500, .log_n = &n, .log = log, .id = 0};
    arm(ext, new_timer(ext), staller_callback, &a, 100, 0);
    stortimer_clock_advance(fx->clock, 1000);
    CHECK_EQ(atomic_load(&a.fired), 1);
    CHECK_EQ(a.at_start, 100);
    CHECK_EQ(a.at_end, 600);
    CHECK_EQ(stortimer_clock_now(fx->clock), 1000);
    /* The binding lasted only as long as the callback. */
    uint64_t start = mono_ns();
    StorPortStallExecution(1000);
    CHECK(mono_ns() - start >= 1000000u);
    CHECK_EQ(stortimer_clock_now(fx->clock), 1000);
    fx_remove(ext);
}

TEST(s9_3_timers_due_during_a_callback_stall_run_after_it_late)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int n = 0;
    int log[4];
    staller a = {.fx = fx, .delay = 500, .log_n = &n, .log = log, .id = 0};
    staller b = {.fx = fx, .watch = &a, .log_n = &n, .log = log, .id = 1};
    staller c = {.fx = fx, .watch = &b, .log_n = &n, .log = log, .id = 2};
    arm(ext, new_timer(ext), staller_callback, &a, 100, 0);
    arm(ext, new_timer(ext), staller_callback, &b, 200, 0);
    arm(ext, new_timer(ext), staller_callback, &c, 700, 0);
    stortimer_clock_advance(fx->clock, 1000);
    CHECK_EQ(atomic_load(&n), 3);
    CHECK_EQ(log[0], 0);
    CHECK_EQ(log[1], 1);
    CHECK_EQ(log[2], 2);
    CHECK_EQ(a.at_start, 100);
    CHECK_EQ(a.at_end, 600);
    CHECK_EQ(b.watch_done_at_start, 1);   /* not inside A's stall */
    CHECK_EQ(b.at_start, 600);            /* late: the clock had moved on */
    CHECK_EQ(c.at_start, 700);            /* stepping resumes at fire times */
    CHECK_EQ(stortimer_clock_now(fx->clock), 1000);
    fx_remove(ext);
}

TEST(s9_3_timers_due_during_a_callback_stall_run_before_the_advance_returns)
{
    /* The advance stops at A's fire time, but A's stall moved the clock past
     * B's: B is due when the advance would return, so it runs in it (S11.2:
     * every due callback runs before the advance returns). */
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int n = 0;
    int log[4];
    staller a = {.fx = fx, .delay = 500, .log_n = &n, .log = log, .id = 0};
    staller b = {.fx = fx, .watch = &a, .log_n = &n, .log = log, .id = 1};
    arm(ext, new_timer(ext), staller_callback, &a, 100, 0);
    arm(ext, new_timer(ext), staller_callback, &b, 200, 0);
    stortimer_clock_advance(fx->clock, 100);
    CHECK_EQ(atomic_load(&a.fired), 1);
    CHECK_EQ(stortimer_clock_now(fx->clock), 600);
    CHECK_EQ(atomic_load(&b.fired), 1);
    CHECK_EQ(b.at_start, 600);
    fx_remove(ext);
}

TEST(s9_3_stall_in_callback_moves_only_its_adapters_clock)
{
    fixture *fx = virtual_fixture();
    stortimer_clock *other = test_virtual_clock();
    PVOID ext = fx_adapter(fx, 0);
    _Atomic int n = 0;
    int log[2];
    staller a = {.fx = fx, .delay = 500, .log_n = &n, .log = log, .id = 0};
    stortimer_thread_bind_clock(other);   /* the advancing thread's own binding */
    arm(ext, new_timer(ext), staller_callback, &a, 100, 0);
    stortimer_clock_advance(fx->clock, 100);
    CHECK_EQ(a.at_end, 600);
    CHECK_EQ(stortimer_clock_now(other), 0);
    /* And the advancing thread's binding is back afterwards. */
    StorPortStallExecution(7);
    CHECK_EQ(stortimer_clock_now(other), 7);
    stortimer_thread_bind_clock(NULL);
    fx_remove(ext);
}

/* ---- the host-side IRQL API (S10) ---- */

TEST(s10_irql_raise_returns_the_old_level)
{
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_raise(APC_LEVEL), PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), APC_LEVEL);
    CHECK_EQ(stortimer_irql_raise(DISPATCH_LEVEL), APC_LEVEL);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_raise(HIGH_LEVEL), DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), HIGH_LEVEL);
}

TEST(s10_irql_lower_restores_the_old_level)
{
    KIRQL a = stortimer_irql_raise(DISPATCH_LEVEL);
    KIRQL b = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    stortimer_irql_lower(b);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    stortimer_irql_lower(a);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

TEST(s10_irql_raise_to_the_same_level_is_allowed)
{
    stortimer_irql_raise(DISPATCH_LEVEL);
    reports_capture();
    CHECK_EQ(stortimer_irql_raise(DISPATCH_LEVEL), DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    CHECK_EQ(reports_count(), 0);
    reports_release();
}

TEST(s10_irql_raise_to_a_lower_level_is_reported_and_changes_nothing)
{
    stortimer_irql_raise(DISPATCH_LEVEL);
    reports_capture();
    stortimer_irql_raise(APC_LEVEL);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    CHECK(reports_count() >= 1);
    stortimer_irql_raise(PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);
    CHECK(reports_count() >= 2);
    reports_release();
}

TEST(s10_irql_raise_to_a_lower_level_above_dispatch_changes_nothing)
{
    stortimer_irql_raise(STOR_DEVICE_LEVEL);
    stortimer_irql_raise(DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), STOR_DEVICE_LEVEL);
}

TEST(s10_irql_lower_to_a_higher_level_is_reported_and_changes_nothing)
{
    stortimer_irql_raise(APC_LEVEL);
    reports_capture();
    stortimer_irql_lower(DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), APC_LEVEL);
    CHECK(reports_count() >= 1);
    reports_release();
    stortimer_irql_lower(PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
}

typedef struct irql_seen {
    KIRQL irql;
} irql_seen;

static void *read_irql(void *arg)
{
    irql_seen *s = arg;
    s->irql = stortimer_irql_current();
    return NULL;
}

TEST(s10_new_thread_starts_at_passive_level)
{
    stortimer_irql_raise(DISPATCH_LEVEL);
    irql_seen s = {0xFF};
    thread_join(thread_start(read_irql, &s));
    CHECK_EQ(s.irql, PASSIVE_LEVEL);
    CHECK_EQ(stortimer_irql_current(), DISPATCH_LEVEL);   /* and ours is ours */
}

TEST(s9_1_irql_is_per_thread)
{
    /* A thread holding a lock raises only its own IRQL. */
    PVOID ext = duplex_adapter(false);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &lock);
    irql_seen s = {0xFF};
    thread_join(thread_start(read_irql, &s));
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(s.irql, PASSIVE_LEVEL);
}
