/*
 * SPEC S8: where and how callbacks run - on a library thread (the advancing
 * thread on a virtual clock), at DISPATCH_LEVEL, holding the adapter's
 * StartIo lock, never overlapping within an adapter, free to call every
 * routine, and in order of fire time then arm order.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static void read_stats(PVOID ext, stortimer_stats *stats)
{
    CHECK_STATUS(stortimer_stats_read(ext, stats), STOR_STATUS_SUCCESS);
}

/*
 * A thread that, once *go is set, announces it is trying and acquires one
 * lock of an adapter, noting when it got it, then releases it at once.
 */
typedef struct locker {
    PVOID ext;
    STOR_SPINLOCK kind;
    _Atomic int *go;
    _Atomic int trying;
    _Atomic int acquired;
    uint64_t acquired_ns;
} locker;

static void *locker_main(void *arg)
{
    locker *l = arg;
    if (!wait_for(l->go, 1, 5000))
        return NULL;
    STOR_LOCK_HANDLE handle;
    atomic_store(&l->trying, 1);
    StorPortAcquireSpinLock(l->ext, l->kind, NULL, &handle);
    l->acquired_ns = mono_ns();
    atomic_store(&l->acquired, 1);
    StorPortReleaseSpinLock(l->ext, &handle);
    return NULL;
}

/* ---- S8.1: on a library thread ---- */

typedef struct thread_seen {
    _Atomic int fired;
    long tid;
} thread_seen;

static VOID record_thread(PVOID ext, PVOID context)
{
    (void)ext;
    thread_seen *s = context;
    s->tid = thread_id();
    atomic_fetch_add(&s->fired, 1);
}

typedef struct arming_job {
    PVOID ext, handle;
    thread_seen *seen;
    long tid;
    ULONG status;
} arming_job;

static void *arm_from_thread(void *arg)
{
    arming_job *job = arg;
    job->tid = thread_id();
    job->status = StorPortRequestTimer(job->ext, job->handle, record_thread, job->seen, 1000, 0);
    return NULL;
}

TEST_BOTH(s8_1_callbacks_run_on_a_library_thread)
{
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    thread_seen seen = {0};
    /* Armed on another thread: on a virtual clock the callback must still run
     * on the advancing thread; on the real clock on neither. */
    arming_job job = {ext, handle, &seen, 0, 0};
    thread_join(thread_start(arm_from_thread, &job));
    CHECK_STATUS(job.status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 1000);
    if (fx->clock) {
        /* Ran before the advance returned, on the advancing thread. */
        CHECK_EQ(atomic_load(&seen.fired), 1);
        CHECK(seen.tid == thread_id());
    } else {
        CHECK(fx_await(fx, &seen.fired, 1));
        CHECK(seen.tid != thread_id());
        CHECK(seen.tid != job.tid);
    }
    fx_remove(ext);
}

TEST_BOTH(s8_1_callback_not_on_the_arming_thread)
{
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    thread_seen seen = {0};
    arm(ext, handle, record_thread, &seen, 500, 0);
    /* Time passes elsewhere (a virtual clock is advanced by another thread);
     * the arming thread keeps busy here; the callback must not need it. */
    test_thread *t = fx_pass_elsewhere(fx, 500);
    CHECK(wait_for(&seen.fired, 1, 5000));
    fx_join(t);
    CHECK(seen.tid != thread_id());
    fx_remove(ext);
}

/* ---- S8.1: at DISPATCH_LEVEL ---- */

TEST_BOTH(s8_1_callbacks_run_at_dispatch_level)
{
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    arm(ext, handle, probe_callback, &p, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK_EQ(p.irql[0], DISPATCH_LEVEL);
    fx_remove(ext);
}

TEST_BOTH(s8_1_callbacks_run_at_dispatch_level_even_when_armed_at_dispatch)
{
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    KIRQL old = stortimer_irql_raise(DISPATCH_LEVEL);
    ULONG status = StorPortRequestTimer(ext, handle, probe_callback, &p, 1000, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK_EQ(p.irql[0], DISPATCH_LEVEL);
    fx_remove(ext);
}

static _Atomic int legacy_fired;
static KIRQL legacy_irql;
static long legacy_tid;

static VOID legacy_record(PVOID ext)
{
    (void)ext;
    legacy_irql = stortimer_irql_current();
    legacy_tid = thread_id();
    atomic_fetch_add(&legacy_fired, 1);
}

TEST_BOTH(s8_1_legacy_timer_runs_at_dispatch_level_on_a_library_thread)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)legacy_record, (ULONG)1000);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &legacy_fired, 1));
    CHECK_EQ(legacy_irql, DISPATCH_LEVEL);
    if (fx->clock)
        CHECK(legacy_tid == thread_id());
    else
        CHECK(legacy_tid != thread_id());
    fx_remove(ext);
}

TEST(s8_1_advancing_thread_irql_is_unchanged_by_callbacks)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, handle, probe_callback, &p, 100, 0);
    stortimer_clock_advance(fx->clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.irql[0], DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    /* And from APC_LEVEL, back to APC_LEVEL. */
    KIRQL old = stortimer_irql_raise(APC_LEVEL);
    arm(ext, handle, probe_callback, &p, 100, 0);
    stortimer_clock_advance(fx->clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 2);
    CHECK_EQ(p.irql[1], DISPATCH_LEVEL);
    CHECK_EQ(stortimer_irql_current(), APC_LEVEL);
    stortimer_irql_lower(old);
    fx_remove(ext);
}

/* ---- S8.1: holding the StartIo lock (and in half-duplex the interrupt lock) ---- */

typedef struct lock_probe {
    fixture *fx;
    locker *other;            /* the thread trying for a lock meanwhile */
    bool expect_blocked;      /* it must not get it before we return */
    _Atomic int inside;
    _Atomic int fired;
    int other_acquired_at_exit;
    uint64_t exit_ns;
} lock_probe;

static VOID lock_probe_callback(PVOID ext, PVOID context)
{
    (void)ext;
    lock_probe *lp = context;
    atomic_store(&lp->inside, 1);
    if (wait_for(&lp->other->trying, 1, 5000)) {
        if (lp->expect_blocked)
            sleep_us(30000); /* time for the other thread to get a free lock */
        else
            wait_for(&lp->other->acquired, 1, 5000);
    }
    lp->other_acquired_at_exit = atomic_load(&lp->other->acquired);
    lp->exit_ns = mono_ns();
    atomic_fetch_add(&lp->fired, 1);
}

/*
 * Arms a timer whose callback lets another thread try for `kind` while it
 * runs; returns whether that thread got it before the callback returned.
 */
static bool lock_free_during_callback(fixture *fx, bool half_duplex, STOR_SPINLOCK kind,
                                      bool expect_blocked)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = half_duplex};
    PVOID ext = fx_adapter_config(fx, config), handle = new_timer(ext);
    lock_probe lp = {.fx = fx, .expect_blocked = expect_blocked};
    locker other = {.ext = ext, .kind = kind, .go = &lp.inside};
    lp.other = &other;
    test_thread *t = thread_start(locker_main, &other);
    arm(ext, handle, lock_probe_callback, &lp, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &lp.fired, 1));
    thread_join(t);
    CHECK_EQ(atomic_load(&other.acquired), 1);
    fx_remove(ext);
    if (lp.other_acquired_at_exit)
        return true;
    /* Never before the callback's last instruction. */
    CHECK(other.acquired_ns >= lp.exit_ns);
    return false;
}

TEST_BOTH(s8_1_callback_holds_the_startio_lock)
{
    CHECK(!lock_free_during_callback(fx, false, StartIoLock, true));
}

TEST_BOTH(s8_1_half_duplex_callback_holds_the_startio_lock)
{
    CHECK(!lock_free_during_callback(fx, true, StartIoLock, true));
}

TEST_BOTH(s8_1_half_duplex_callback_holds_the_interrupt_lock)
{
    CHECK(!lock_free_during_callback(fx, true, InterruptLock, true));
}

TEST_BOTH(s8_1_full_duplex_callback_leaves_the_interrupt_lock_free)
{
    CHECK(lock_free_during_callback(fx, false, InterruptLock, false));
}

/* ---- S8.1: callbacks of one adapter never overlap ---- */

typedef struct overlap {
    _Atomic int inside;
    _Atomic int max_inside;
    _Atomic int fired;
    _Atomic int saw_holder;   /* a callback ran while a lock holder was inside */
} overlap;

static void overlap_enter(overlap *o)
{
    int now = atomic_fetch_add(&o->inside, 1) + 1;
    int max = atomic_load(&o->max_inside);
    while (now > max && !atomic_compare_exchange_weak(&o->max_inside, &max, now)) {
    }
}

static VOID overlap_callback(PVOID ext, PVOID context)
{
    (void)ext;
    overlap *o = context;
    overlap_enter(o);
    /* Stay inside a while, on the real clock, so that an overlap shows. */
    uint64_t until = mono_ns() + 200000;
    while (mono_ns() < until) {
    }
    atomic_fetch_sub(&o->inside, 1);
    atomic_fetch_add(&o->fired, 1);
}

TEST_BOTH(s8_1_callbacks_of_one_adapter_never_overlap)
{
    enum { N = 40 };
    PVOID ext = fx_adapter(fx, 0), handles[N];
    overlap o = {0};
    for (int i = 0; i < N; i++)
        handles[i] = new_timer(ext);
    /* All due at about the same moment, some with windows to coalesce. */
    for (int i = 0; i < N; i++)
        arm(ext, handles[i], overlap_callback, &o, 3000 + (ULONGLONG)(i % 3),
            i % 2 ? 2000 : 0);
    /* A virtual clock is advanced by three threads at once, each of which
     * would run every callback due. */
    test_thread *first = fx_pass_elsewhere(fx, 5002);
    test_thread *second = fx_pass_elsewhere(fx, 5002);
    fx_pass(fx, 5002);
    CHECK(wait_for(&o.fired, N, 5000));
    fx_join(first);
    fx_join(second);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&o.fired), N);
    CHECK_EQ(atomic_load(&o.max_inside), 1);
    fx_remove(ext);
}

typedef struct holder {
    PVOID ext;
    overlap *o;
    _Atomic int holding;
    uint64_t released_ns;
} holder;

static void *hold_startio(void *arg)
{
    holder *h = arg;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(h->ext, StartIoLock, NULL, &lock);
    overlap_enter(h->o);
    atomic_store(&h->holding, 1);
    sleep_us(30000);
    atomic_fetch_sub(&h->o->inside, 1);
    h->released_ns = mono_ns();
    StorPortReleaseSpinLock(h->ext, &lock);
    return NULL;
}

typedef struct start_stamp {
    overlap *o;
    uint64_t start_ns;
} start_stamp;

static VOID stamped_overlap_callback(PVOID ext, PVOID context)
{
    start_stamp *s = context;
    s->start_ns = mono_ns();
    overlap_callback(ext, s->o);
}

TEST_BOTH(s8_1_callbacks_never_overlap_a_startio_lock_holder)
{
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    overlap o = {0};
    start_stamp stamp = {&o, 0};
    holder h = {.ext = ext, .o = &o};
    test_thread *t = thread_start(hold_startio, &h);
    CHECK(wait_for(&h.holding, 1, 5000));
    arm(ext, handle, stamped_overlap_callback, &stamp, 1000, 0);
    /* The timer falls due while the other thread holds the StartIo lock. */
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &o.fired, 1));
    thread_join(t);
    CHECK_EQ(atomic_load(&o.max_inside), 1);
    CHECK(stamp.start_ns >= h.released_ns);
    fx_remove(ext);
}

TEST(s8_1_advancing_thread_holding_startio_defers_callbacks)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), handle = new_timer(ext);
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, handle, probe_callback, &p, 100, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    stortimer_clock_advance(fx->clock, 200);   /* must neither run it nor hang */
    CHECK_EQ(atomic_load(&p.fired), 0);
    StorPortReleaseSpinLock(ext, &lock);
    stortimer_clock_advance(fx->clock, 0);     /* late, at the next advance */
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], 200);
    fx_remove(ext);
}

/* ---- S8.1: callbacks of different adapters may run at the same time ---- */

typedef struct pair {
    PVOID ext_b, handle_b;
    _Atomic int a_inside;
    _Atomic int b_armed;
    _Atomic int a_fired;
    _Atomic int b_fired;
    int b_saw_a_inside;
    int a_saw_b_fired;
    ULONG arm_b_status;
} pair;

static VOID pair_b_callback(PVOID ext, PVOID context)
{
    (void)ext;
    pair *p = context;
    p->b_saw_a_inside = atomic_load(&p->a_inside);
    atomic_fetch_add(&p->b_fired, 1);
}

static VOID pair_a_callback(PVOID ext, PVOID context)
{
    (void)ext;
    pair *p = context;
    atomic_store(&p->a_inside, 1);
    /* B falls due while A blocks; it must not wait for A. */
    p->arm_b_status = StorPortRequestTimer(p->ext_b, p->handle_b, pair_b_callback, p, 1000, 0);
    atomic_store(&p->b_armed, 1);
    sleep_us(50000);
    wait_for(&p->b_fired, 1, 1000);  /* a loaded machine may need longer */
    p->a_saw_b_fired = atomic_load(&p->b_fired);
    atomic_store(&p->a_inside, 0);
    atomic_fetch_add(&p->a_fired, 1);
}

/* On one virtual clock callbacks run one at a time, in order, on the
 * advancing thread (S11.2); so on a virtual fixture B's adapter is on a second
 * virtual clock, advanced here while another thread runs A's callback. */
TEST_BOTH(s8_1_callbacks_of_different_adapters_run_at_the_same_time)
{
    fixture other = fx_another_clock(fx);
    PVOID a = fx_adapter(fx, 0), b = fx_adapter(&other, 0);
    pair p = {0};
    p.ext_b = b;
    p.handle_b = new_timer(b);
    arm(a, new_timer(a), pair_a_callback, &p, 1000, 0);
    test_thread *t = fx_pass_elsewhere(fx, 1000);
    CHECK(wait_for(&p.b_armed, 1, 5000));
    fx_pass(&other, 1000);   /* while A's callback waits for B's */
    CHECK(wait_for(&p.a_fired, 1, 5000));
    fx_join(t);
    CHECK(fx_await(fx, &p.a_fired, 1));
    CHECK(fx_await(&other, &p.b_fired, 1));
    CHECK_STATUS(p.arm_b_status, STOR_STATUS_SUCCESS);
    CHECK_EQ(p.a_saw_b_fired, 1);
    CHECK_EQ(p.b_saw_a_inside, 1);
    fx_remove(a);
    fx_remove(b);
}

/* ---- S8.2: every routine works inside a callback ---- */

typedef struct chain {
    fixture *fx;
    PVOID ext;
    PVOID own, other;         /* this timer's handle, another timer's */
    ULONGLONG value;          /* what to arm with */
    ULONG status;             /* of the call made inside */
    ULONGLONG called_at;      /* clock reading just before that call */
    int rearms_left;
    _Atomic int fired;
    _Atomic int finished;     /* ran to its end after the call */
    ULONGLONG at[8];
    probe *target;            /* the other timer's probe */
} chain;

static VOID arm_other_callback(PVOID ext, PVOID context)
{
    chain *c = context;
    c->at[0] = fx_now(c->fx);
    c->called_at = fx_now(c->fx);
    c->status = StorPortRequestTimer(ext, c->other, probe_callback, c->target, c->value, 0);
    atomic_fetch_add(&c->fired, 1);
}

TEST_BOTH(s8_2_callback_can_arm_another_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    probe target;
    probe_init(&target, fx, ext);
    chain c = {.fx = fx, .ext = ext, .other = new_timer(ext), .value = 2000, .target = &target};
    arm(ext, new_timer(ext), arm_other_callback, &c, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.fired, 1));
    CHECK_STATUS(c.status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &target.fired, 1));
    if (fx->clock) {
        CHECK_EQ(c.at[0], 1000);
        CHECK_EQ(target.at[0], 3000);
    } else {
        CHECK(target.at[0] >= c.called_at + 2000);
    }
    fx_remove(ext);
}

static VOID cancel_other_callback(PVOID ext, PVOID context)
{
    chain *c = context;
    c->status = StorPortRequestTimer(ext, c->other, probe_callback, c->target, 0, 0);
    atomic_fetch_add(&c->fired, 1);
}

TEST_BOTH(s8_2_callback_can_cancel_another_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    probe target;
    probe_init(&target, fx, ext);
    chain c = {.fx = fx, .ext = ext, .other = new_timer(ext), .target = &target};
    /* Far off, so that a late callback on a loaded machine still cancels it
     * in time; the virtual clock does pass it. */
    arm(ext, c.other, probe_callback, &target, 10000000, 0);
    arm(ext, new_timer(ext), cancel_other_callback, &c, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.fired, 1));
    CHECK_STATUS(c.status, STOR_STATUS_SUCCESS);
    if (fx->clock)
        fx_pass(fx, 10000000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&target.fired), 0);
    stortimer_stats stats;
    read_stats(ext, &stats);
    CHECK_EQ(stats.cancelled, 1);
    /* Cancelled, so no longer pending: a new arm is not BUSY. */
    arm(ext, c.other, probe_callback, &target, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &target.fired, 1));
    fx_remove(ext);
}

static VOID rearm_self_callback(PVOID ext, PVOID context)
{
    chain *c = context;
    int n = atomic_load(&c->fired);
    if (n < 8)
        c->at[n] = fx_now(c->fx);
    if (c->rearms_left > 0) {
        c->rearms_left--;
        c->called_at = fx_now(c->fx);
        c->status = StorPortRequestTimer(ext, c->own, rearm_self_callback, c, c->value, 0);
    }
    atomic_fetch_add(&c->fired, 1);
}

TEST_BOTH(s8_2_callback_can_rearm_itself)
{
    PVOID ext = fx_adapter(fx, 0);
    chain c = {.fx = fx, .ext = ext, .own = new_timer(ext), .value = 1000, .rearms_left = 1,
               .status = 0xFFFFFFFFu};
    ULONGLONG start = fx_now(fx);
    arm(ext, c.own, rearm_self_callback, &c, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.fired, 1));
    /* S5.6: started, so no longer pending - not BUSY. */
    CHECK_STATUS(c.status, STOR_STATUS_SUCCESS);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.fired, 2));
    if (fx->clock) {
        CHECK_EQ(c.at[0], 1000);
        CHECK_EQ(c.at[1], 2000);
    } else {
        CHECK(c.at[0] >= start + 1000);
        CHECK(c.at[1] >= c.called_at + 1000);
    }
    fx_pass(fx, 2000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&c.fired), 2);
    fx_remove(ext);
}

static VOID free_self_callback(PVOID ext, PVOID context)
{
    chain *c = context;
    atomic_fetch_add(&c->fired, 1);
    c->status = StorPortFreeTimer(ext, c->own);
    atomic_fetch_add(&c->finished, 1);
}

TEST_BOTH(s8_2_callback_can_free_its_own_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    chain c = {.fx = fx, .ext = ext, .own = new_timer(ext), .status = 0xFFFFFFFFu};
    arm(ext, c.own, free_self_callback, &c, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.finished, 1));   /* no deadlock: it ran to its end */
    CHECK_STATUS(c.status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, c.own, free_self_callback, &c, 1000, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, c.own), STOR_STATUS_UNSUCCESSFUL);
    stortimer_stats stats;
    read_stats(ext, &stats);
    CHECK_EQ(stats.timers_freed, 1);
    CHECK_EQ(stats.timers_live, 0);
    CHECK_EQ(fx_remove(ext), 0);
}

static fixture *legacy_fx;
static _Atomic int legacy_chain_fired;
static ULONGLONG legacy_chain_at;

static VOID legacy_chain_target(PVOID ext)
{
    (void)ext;
    legacy_chain_at = fx_now(legacy_fx);
    atomic_fetch_add(&legacy_chain_fired, 1);
}

static VOID arm_legacy_callback(PVOID ext, PVOID context)
{
    chain *c = context;
    c->called_at = fx_now(c->fx);
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)legacy_chain_target, (ULONG)c->value);
    atomic_fetch_add(&c->fired, 1);
}

TEST_BOTH(s8_2_callback_can_arm_the_legacy_timer)
{
    PVOID ext = fx_adapter(fx, 0);
    legacy_fx = fx;
    chain c = {.fx = fx, .ext = ext, .value = 2000};
    arm(ext, new_timer(ext), arm_legacy_callback, &c, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &c.fired, 1));
    fx_pass(fx, 2000);
    CHECK(fx_await(fx, &legacy_chain_fired, 1));
    if (fx->clock)
        CHECK_EQ(legacy_chain_at, 3000);
    else
        CHECK(legacy_chain_at >= c.called_at + 2000);
    stortimer_stats stats;
    read_stats(ext, &stats);
    CHECK_EQ(stats.legacy_armed, 1);
    CHECK_EQ(stats.legacy_fired, 1);
    fx_remove(ext);
}

static _Atomic int legacy_rearm_fired;
static ULONGLONG legacy_rearm_at[4];

static VOID legacy_rearm(PVOID ext)
{
    int n = atomic_load(&legacy_rearm_fired);
    legacy_rearm_at[n] = fx_now(legacy_fx);
    if (n == 0)
        StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)legacy_rearm, (ULONG)1000);
    atomic_fetch_add(&legacy_rearm_fired, 1);
}

TEST_BOTH(s8_2_legacy_timer_can_rearm_itself)
{
    PVOID ext = fx_adapter(fx, 0);
    legacy_fx = fx;
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)legacy_rearm, (ULONG)1000);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &legacy_rearm_fired, 1));
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &legacy_rearm_fired, 2));
    if (fx->clock) {
        CHECK_EQ(legacy_rearm_at[0], 1000);
        CHECK_EQ(legacy_rearm_at[1], 2000);
    } else {
        CHECK(legacy_rearm_at[1] >= legacy_rearm_at[0] + 1000);
    }
    fx_remove(ext);
}

typedef struct lock_use {
    _Atomic int fired;
    KIRQL irql_dpc, irql_interrupt, irql_after_interrupt, irql_after_dpc;
} lock_use;

static VOID use_other_locks_callback(PVOID ext, PVOID context)
{
    lock_use *u = context;
    STOR_LOCK_HANDLE dpc, interrupt;
    StorPortAcquireSpinLock(ext, DpcLock, NULL, &dpc);
    u->irql_dpc = stortimer_irql_current();
    StorPortAcquireSpinLock(ext, InterruptLock, NULL, &interrupt);
    u->irql_interrupt = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &interrupt);
    u->irql_after_interrupt = stortimer_irql_current();
    StorPortReleaseSpinLock(ext, &dpc);
    u->irql_after_dpc = stortimer_irql_current();
    atomic_fetch_add(&u->fired, 1);
}

TEST_BOTH(s8_2_full_duplex_callback_can_take_the_dpc_and_interrupt_locks)
{
    PVOID ext = fx_adapter(fx, 0);
    lock_use u = {0};
    reports_capture();
    arm(ext, new_timer(ext), use_other_locks_callback, &u, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &u.fired, 1));
    CHECK_EQ(u.irql_dpc, DISPATCH_LEVEL);
    CHECK_EQ(u.irql_interrupt, STOR_DEVICE_LEVEL);
    CHECK_EQ(u.irql_after_interrupt, DISPATCH_LEVEL);
    CHECK_EQ(u.irql_after_dpc, DISPATCH_LEVEL);
    CHECK_EQ(reports_count(), 0);
    stortimer_stats stats;
    read_stats(ext, &stats);
    CHECK_EQ(stats.lock_misuse, 0);
    reports_release();
    fx_remove(ext);
}

/* ---- S8.3: re-acquiring the StartIo lock inside a callback is reported ---- */

typedef struct reacquire {
    STOR_SPINLOCK kind;
    _Atomic int fired;
    KIRQL irql_after_acquire, irql_after_release;
    PVOID lock_object;
} reacquire;

static VOID reacquire_callback(PVOID ext, PVOID context)
{
    reacquire *r = context;
    STOR_LOCK_HANDLE lock;
    memset(&lock, 0xA5, sizeof lock);
    StorPortAcquireSpinLock(ext, r->kind, NULL, &lock);   /* must not hang */
    r->irql_after_acquire = stortimer_irql_current();
    r->lock_object = lock.Context.LockObject;
    StorPortReleaseSpinLock(ext, &lock);                  /* harmless */
    r->irql_after_release = stortimer_irql_current();
    atomic_fetch_add(&r->fired, 1);
}

static void check_reacquire_reported(fixture *fx, bool half_duplex, STOR_SPINLOCK kind)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = half_duplex};
    PVOID ext = fx_adapter_config(fx, config);
    reacquire r = {.kind = kind};
    reports_capture();
    arm(ext, new_timer(ext), reacquire_callback, &r, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &r.fired, 1));
    CHECK(reports_count() >= 1);
    CHECK(reports_contain(kind == StartIoLock ? "StartIo" : "Interrupt"));
    CHECK(r.lock_object == NULL);                    /* nothing taken */
    CHECK_EQ(r.irql_after_acquire, DISPATCH_LEVEL);  /* nothing changed */
    CHECK_EQ(r.irql_after_release, DISPATCH_LEVEL);
    stortimer_stats stats;
    read_stats(ext, &stats);
    CHECK_EQ(stats.lock_misuse, 1);
    reports_release();
    /* The callback's own hold ended normally: the lock is usable again. */
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    CHECK(lock.Context.LockObject != NULL);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(stortimer_irql_current(), PASSIVE_LEVEL);
    fx_remove(ext);
}

TEST_BOTH(s8_3_reacquiring_startio_in_callback_is_reported_not_hung)
{
    check_reacquire_reported(fx, false, StartIoLock);
}

TEST_BOTH(s8_3_half_duplex_interrupt_lock_in_callback_is_reported_not_hung)
{
    check_reacquire_reported(fx, true, InterruptLock);
}

/* ---- S8.4: order - fire time, then arm order ---- */

#define LOG_MAX 64

typedef struct order_log {
    fixture *fx;
    _Atomic int n;
    int seq[LOG_MAX];
    ULONGLONG at[LOG_MAX];
} order_log;

typedef struct order_item {
    order_log *log;
    int id;
    /* Optional: arm this from inside the callback. */
    PVOID then_handle;
    struct order_item *then_item;
    ULONGLONG then_value;
    ULONG then_status;
} order_item;

static VOID order_callback(PVOID ext, PVOID context)
{
    order_item *it = context;
    order_log *l = it->log;
    int n = atomic_load(&l->n);
    if (n < LOG_MAX) {
        l->seq[n] = it->id;
        l->at[n] = fx_now(l->fx);
    }
    if (it->then_handle)
        it->then_status = StorPortRequestTimer(ext, it->then_handle, order_callback,
                                               it->then_item, it->then_value, 0);
    atomic_fetch_add(&l->n, 1);
}

static order_log *legacy_log;
static int legacy_log_id;

static VOID order_legacy_callback(PVOID ext)
{
    order_item it = {legacy_log, legacy_log_id, NULL, NULL, 0, 0};
    order_callback(ext, &it);
}

TEST_BOTH(s8_4_callbacks_start_in_fire_time_order_ties_by_arm_order)
{
    enum { N = 20 };
    /* Shuffled values, several equal (3 x3, 5 x3, 1, 2, 4, 6, 7, 9 x2). */
    static const int units[N] = {5, 3, 9, 3, 1, 7, 5, 5, 2, 8,
                                 4, 6, 3, 10, 1, 9, 2, 7, 6, 4};
    const ULONGLONG unit = 1000;
    PVOID ext = fx_adapter(fx, 0), handles[N];
    order_log log = {.fx = fx};
    order_item items[N];
    /* Handles created in reverse, so creation order is not arm order. */
    for (int i = N - 1; i >= 0; i--)
        handles[i] = new_timer(ext);
    ULONGLONG before[N], after[N];
    for (int i = 0; i < N; i++) {
        items[i] = (order_item){&log, i, NULL, NULL, 0, 0};
        before[i] = fx_now(fx);
        arm(ext, handles[i], order_callback, &items[i], units[i] * unit, 0);
        after[i] = fx_now(fx);
    }
    fx_pass(fx, 10 * unit);
    CHECK(fx_await(fx, &log.n, N));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&log.n), N);
    if (fx->clock) {
        /* Exact: stable sort of the arm order by value. */
        int expected[N], k = 0;
        for (int u = 1; u <= 10; u++)
            for (int i = 0; i < N; i++)
                if (units[i] == u)
                    expected[k++] = i;
        for (int i = 0; i < N; i++) {
            if (log.seq[i] != expected[i])
                test_failf(__FILE__, __LINE__, "position %d: timer %d fired, expected %d",
                           i, log.seq[i], expected[i]);
            CHECK_EQ(log.at[i], (ULONGLONG)units[expected[i]] * unit);
        }
    } else {
        /* Every pair whose due order is certain must have fired in it. */
        for (int x = 0; x < N; x++) {
            for (int y = x + 1; y < N; y++) {
                int first = log.seq[x], second = log.seq[y];
                /* Armed earlier with no larger value: due no later, and ties
                 * go by arm order, so it had to start first. */
                if (second < first && units[second] <= units[first])
                    test_failf(__FILE__, __LINE__, "timer %d (value %d) started before "
                               "timer %d (value %d), armed earlier",
                               first, units[first], second, units[second]);
                /* Certainly due earlier by the clock readings around the arms. */
                if (after[second] + 1 + units[second] * unit < before[first] + units[first] * unit)
                    test_failf(__FILE__, __LINE__, "timer %d started before timer %d, "
                               "which was due earlier", first, second);
            }
        }
    }
    fx_remove(ext);
}

TEST(s8_4_ties_across_arm_calls_at_different_times_go_by_arm_order)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), h[4];
    order_log log = {.fx = fx};
    order_item items[4];
    for (int i = 0; i < 4; i++) {
        h[3 - i] = new_timer(ext);
        items[i] = (order_item){&log, i, NULL, NULL, 0, 0};
    }
    /* All four end up due at 300, armed at 0, 0, 100 and 250. */
    arm(ext, h[0], order_callback, &items[0], 300, 0);
    arm(ext, h[1], order_callback, &items[1], 300, 0);
    stortimer_clock_advance(fx->clock, 100);
    arm(ext, h[2], order_callback, &items[2], 200, 0);
    stortimer_clock_advance(fx->clock, 150);
    arm(ext, h[3], order_callback, &items[3], 50, 0);
    stortimer_clock_advance(fx->clock, 50);
    CHECK_EQ(atomic_load(&log.n), 4);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(log.seq[i], i);
        CHECK_EQ(log.at[i], 300);
    }
    fx_remove(ext);
}

/* Two adapters on one virtual clock: S8.4 orders each adapter's timers; the
 * library's choice between adapters (docs/design.md) is creation order,
 * whatever the arm order. */
TEST(s8_4_ties_between_adapters_on_one_clock_go_by_adapter_creation)
{
    fixture *fx = virtual_fixture();
    PVOID first = fx_adapter(fx, 0), second = fx_adapter(fx, 0);
    order_log log = {.fx = fx};
    order_item items[4] = {{&log, 0, NULL, NULL, 0, 0}, {&log, 1, NULL, NULL, 0, 0},
                           {&log, 2, NULL, NULL, 0, 0}, {&log, 3, NULL, NULL, 0, 0}};
    /* Armed: the second adapter's two timers first. */
    arm(second, new_timer(second), order_callback, &items[2], 500, 0);
    arm(second, new_timer(second), order_callback, &items[3], 500, 0);
    arm(first, new_timer(first), order_callback, &items[0], 500, 0);
    arm(first, new_timer(first), order_callback, &items[1], 500, 0);
    stortimer_clock_advance(fx->clock, 500);
    CHECK_EQ(atomic_load(&log.n), 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(log.seq[i], i);
    fx_remove(second);
    fx_remove(first);
}

TEST(s8_4_rearmed_timer_ties_go_by_its_latest_arm)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), first = new_timer(ext), second = new_timer(ext);
    order_log log = {.fx = fx};
    order_item a = {&log, 0, NULL, NULL, 0, 0}, b = {&log, 1, NULL, NULL, 0, 0};
    arm(ext, first, order_callback, &a, 300, 0);
    arm(ext, second, order_callback, &b, 300, 0);
    stortimer_clock_advance(fx->clock, 100);
    /* Cancel and re-arm the first for the same instant: now armed last. */
    arm(ext, first, order_callback, &a, 0, 0);
    arm(ext, first, order_callback, &a, 200, 0);
    stortimer_clock_advance(fx->clock, 200);
    CHECK_EQ(atomic_load(&log.n), 2);
    CHECK_EQ(log.seq[0], 1);
    CHECK_EQ(log.seq[1], 0);
    CHECK_EQ(log.at[0], 300);
    CHECK_EQ(log.at[1], 300);
    fx_remove(ext);
}

TEST(s8_4_timer_armed_from_callback_runs_after_a_queued_tie)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    PVOID hx = new_timer(ext), hq = new_timer(ext), hy = new_timer(ext);
    order_log log = {.fx = fx};
    order_item y = {&log, 2, NULL, NULL, 0, 0};
    order_item q = {&log, 1, NULL, NULL, 0, 0};
    order_item x = {&log, 0, hy, &y, 100, 0};
    /* Q is queued for 200; X fires at 100 and arms Y for 200 as well. */
    arm(ext, hq, order_callback, &q, 200, 0);
    arm(ext, hx, order_callback, &x, 100, 0);
    stortimer_clock_advance(fx->clock, 1000);
    CHECK_STATUS(x.then_status, STOR_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&log.n), 3);
    CHECK_EQ(log.seq[0], 0);
    CHECK_EQ(log.seq[1], 1);
    CHECK_EQ(log.seq[2], 2);
    CHECK_EQ(log.at[0], 100);
    CHECK_EQ(log.at[1], 200);
    CHECK_EQ(log.at[2], 200);
    fx_remove(ext);
}

TEST(s8_4_legacy_timer_ties_with_extended_timers_by_arm_order)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), h0 = new_timer(ext), h2 = new_timer(ext);
    order_log log = {.fx = fx};
    order_item i0 = {&log, 0, NULL, NULL, 0, 0}, i2 = {&log, 2, NULL, NULL, 0, 0};
    legacy_log = &log;
    legacy_log_id = 1;
    arm(ext, h0, order_callback, &i0, 500, 0);
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)order_legacy_callback, (ULONG)500);
    arm(ext, h2, order_callback, &i2, 500, 0);
    stortimer_clock_advance(fx->clock, 500);
    CHECK_EQ(atomic_load(&log.n), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(log.seq[i], i);
        CHECK_EQ(log.at[i], 500);
    }
    fx_remove(ext);
}

TEST(s8_4_ordering_spans_one_advance_and_many)
{
    /* The same timers fire in the same order however the time is passed. */
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), h[6];
    static const ULONGLONG values[6] = {400, 100, 400, 250, 100, 399};
    static const int expected[6] = {1, 4, 3, 5, 0, 2};
    order_log log = {.fx = fx};
    order_item items[6];
    for (int i = 0; i < 6; i++) {
        h[i] = new_timer(ext);
        items[i] = (order_item){&log, i, NULL, NULL, 0, 0};
        arm(ext, h[i], order_callback, &items[i], values[i], 0);
    }
    for (int step = 0; step < 40; step++)
        stortimer_clock_advance(fx->clock, 10);
    CHECK_EQ(atomic_load(&log.n), 6);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(log.seq[i], expected[i]);
        CHECK_EQ(log.at[i], values[expected[i]]);
    }
    fx_remove(ext);
}

/* S8.4 across a clock's adapters: a callback that puts a second adapter on
 * its clock and arms a timer there, due before its own adapter's next one,
 * sees that timer start in its turn. (While a clock has one adapter, an
 * advance fires its callbacks in quick steps, time/stepping.c; they must
 * end as soon as it has two.) */
static order_item joined_item;
static PVOID joined_ext;

static VOID join_second_adapter(PVOID ext, PVOID context)
{
    order_item *it = context;
    order_callback(ext, it);
    joined_ext = fx_adapter(it->log->fx, 0);
    arm(joined_ext, new_timer(joined_ext), order_callback, &joined_item, 10, 0);
}

TEST(s8_4_an_adapter_that_joins_the_clock_mid_advance_gets_its_turn)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), h[3] = {new_timer(ext), new_timer(ext), new_timer(ext)};
    order_log log = {.fx = fx};
    order_item before = {&log, 0, NULL, NULL, 0, 0}, joins = {&log, 1, NULL, NULL, 0, 0};
    order_item after = {&log, 3, NULL, NULL, 0, 0};
    joined_item = (order_item){&log, 2, NULL, NULL, 0, 0};
    ULONGLONG start = fx_now(fx);
    arm(ext, h[0], order_callback, &before, 50, 0);
    arm(ext, h[1], join_second_adapter, &joins, 100, 0); /* + 10: the joined timer */
    arm(ext, h[2], order_callback, &after, 200, 0);
    stortimer_clock_advance(fx->clock, 1000);
    CHECK_EQ(atomic_load(&log.n), 4);
    static const ULONGLONG at[4] = {50, 100, 110, 200};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(log.seq[i], i);
        CHECK_EQ(log.at[i], start + at[i]);
    }
    fx_remove(joined_ext);
    fx_remove(ext);
}
