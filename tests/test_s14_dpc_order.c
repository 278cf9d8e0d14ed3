/*
 * SPEC S14.7-S14.9 (S17.10): DPC routines never overlap timer callbacks of
 * their adapter, start in issue order with timers on one clock, and are not
 * held back by the StartIo lock.
 */
#include "dpc_fixture.h"

/* ---- S14.7 exclusion ---- */

static void enter_exclusive(void)
{
    if (atomic_fetch_add(&rec.inside, 1) != 0)
        atomic_store(&rec.overlapped, 1);
    sleep_us(300);
    atomic_fetch_sub(&rec.inside, 1);
}

static VOID exclusive_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    enter_exclusive();
    atomic_fetch_add(&rec.n, 1);
}

static VOID exclusive_timer(PVOID E, PVOID Context)
{
    (void)E, (void)Context;
    enter_exclusive();
    atomic_fetch_add(&rec.claimed, 1);
}

TEST_BOTH(s14_7_dpc_routines_never_overlap_timer_callbacks)
{
    PVOID ext = fx_adapter(fx, 0);
    rec_reset(fx);
    enum { TIMERS = 20, DPCS = 4 };
    PVOID timers[TIMERS];
    STOR_DPC dpcs[DPCS];
    for (int i = 0; i < DPCS; i++)
        StorPortInitializeDpc(ext, &dpcs[i], exclusive_dpc);
    for (int i = 0; i < TIMERS; i++)
        timers[i] = new_timer(ext);
    int issued = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < TIMERS; i++)
            StorPortRequestTimer(ext, timers[i], exclusive_timer, NULL, 200 + 37 * i, 0);
        for (int i = 0; i < DPCS; i++)
            issued += StorPortIssueDpc(ext, &dpcs[i], NULL, NULL) != 0;
        fx_pass(fx, 1000);
        CHECK(fx_await(fx, &rec.claimed, (round + 1) * TIMERS));
    }
    CHECK(fx_await(fx, &rec.n, issued));
    CHECK_EQ(atomic_load(&rec.overlapped), 0);
}

static struct {
    _Atomic int a_in, b_in;
    int a_saw_b, b_saw_a;
    _Atomic int done;
} pair;

static VOID pair_a(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_store(&pair.a_in, 1);
    pair.a_saw_b = wait_for(&pair.b_in, 1, 5000);
    sleep_us(5000);
    atomic_fetch_add(&pair.done, 1);
}

static VOID pair_b(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_store(&pair.b_in, 1);
    pair.b_saw_a = wait_for(&pair.a_in, 1, 5000);
    sleep_us(5000);
    atomic_fetch_add(&pair.done, 1);
}

TEST_REAL(s14_7_dpcs_of_different_adapters_run_at_the_same_time)
{
    PVOID a = fx_adapter(fx, 0), b = fx_adapter(fx, 0);
    STOR_DPC da, db;
    StorPortInitializeDpc(a, &da, pair_a);
    StorPortInitializeDpc(b, &db, pair_b);
    CHECK(StorPortIssueDpc(a, &da, NULL, NULL));
    CHECK(StorPortIssueDpc(b, &db, NULL, NULL));
    CHECK(wait_for(&pair.done, 2, 15000));
    CHECK(pair.a_saw_b && pair.b_saw_a);
}

/* ---- S14.8 order (virtual clock) ---- */

TEST(s14_8_dpcs_of_one_adapter_start_in_issue_order)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC a, b, c;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &c, dpc_c); /* initialization order is not issue order */
    StorPortInitializeDpc(ext, &a, dpc_a);
    StorPortInitializeDpc(ext, &b, dpc_b);
    CHECK(StorPortIssueDpc(ext, &b, NULL, NULL));
    CHECK(StorPortIssueDpc(ext, &c, NULL, NULL));
    CHECK(StorPortIssueDpc(ext, &a, NULL, NULL));
    stortimer_clock_advance(vclock(), 0);
    CHECK(order_is("BCA"));
}

static STOR_DPC tie_dpc;

static VOID issue_tie_dpc(PVOID E, PVOID Context)
{
    rec_add((char)(uintptr_t)Context, NULL);
    CHECK(StorPortIssueDpc(E, &tie_dpc, NULL, NULL));
}

TEST(s14_8_timer_armed_before_a_dpc_issue_at_the_same_time_runs_first)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &tie_dpc, dpc_a);
    /* P and Q are both due at 100, armed at 0; P issues the DPC at 100,
     * after Q's arm: Q's sequence is earlier, so Q runs before the DPC. */
    arm(ext, new_timer(ext), issue_tie_dpc, LETTER('P'), 100, 0);
    arm(ext, new_timer(ext), timer_rec, LETTER('Q'), 100, 0);
    stortimer_clock_advance(vclock(), 100);
    CHECK(order_is("PQA"));
    CHECK(rec.at[0] == 100 && rec.at[1] == 100 && rec.at[2] == 100);
}

TEST(s14_8_dpc_issued_by_a_callback_runs_before_timers_due_later)
{
    PVOID ext = virtual_adapter(0);
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &tie_dpc, dpc_a);
    arm(ext, new_timer(ext), timer_rec, LETTER('Q'), 101, 0);
    arm(ext, new_timer(ext), issue_tie_dpc, LETTER('P'), 100, 0);
    stortimer_clock_advance(vclock(), 200);
    CHECK(order_is("PAQ"));
    CHECK(rec.at[1] == 100 && rec.at[2] == 101);
}

static struct {
    PVOID other;
    STOR_DPC dpc;
} cross;

static VOID issue_on_other_adapter(PVOID E, PVOID Context)
{
    (void)E;
    rec_add((char)(uintptr_t)Context, NULL);
    CHECK(StorPortIssueDpc(cross.other, &cross.dpc, NULL, NULL));
}

TEST(s14_8_order_holds_across_adapters_of_one_clock)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0), c = virtual_adapter(0);
    rec_reset(virtual_fixture());
    cross.other = c;
    StorPortInitializeDpc(c, &cross.dpc, dpc_c);
    arm(a, new_timer(a), issue_on_other_adapter, LETTER('P'), 100, 0);
    arm(b, new_timer(b), timer_rec, LETTER('Q'), 100, 0);
    arm(c, new_timer(c), timer_rec, LETTER('R'), 150, 0);
    stortimer_clock_advance(vclock(), 1000);
    CHECK(order_is("PQCR"));
    CHECK_EQ(rec.at[2], 100);
}

/* ---- S14.9 the StartIo lock does not hold a DPC back ---- */

TEST(s14_9_dpc_runs_while_the_advancing_thread_holds_the_startio_lock)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    rec_reset(virtual_fixture());
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &h);
    arm(ext, new_timer(ext), timer_rec, LETTER('T'), 10, 0);
    stortimer_clock_advance(vclock(), 20); /* T is due but cannot run */
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL)); /* queued behind T */
    stortimer_clock_advance(vclock(), 0);
    int while_held = atomic_load(&rec.n);
    char first = rec.who[0];
    StorPortReleaseSpinLock(ext, &h);
    stortimer_clock_advance(vclock(), 0);
    CHECK_EQ(while_held, 1);
    CHECK_EQ(first, 'A');
    CHECK(order_is("AT"));
    CHECK_EQ(rec.at[0], 20);
}

static struct {
    PVOID ext, timer;
    _Atomic int holding, release, released;
} holder;

static void *hold_startio(void *arg)
{
    (void)arg;
    STOR_LOCK_HANDLE h;
    StorPortAcquireSpinLock(holder.ext, StartIoLock, NULL, &h);
    if (holder.timer)
        StorPortRequestTimer(holder.ext, holder.timer, timer_rec, LETTER('T'), 1000, 0);
    atomic_store(&holder.holding, 1);
    wait_for(&holder.release, 1, 10000);
    atomic_store(&holder.released, 1);
    StorPortReleaseSpinLock(holder.ext, &h);
    return NULL;
}

TEST_BOTH(s14_9_dpc_runs_while_another_thread_holds_the_startio_lock)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    rec_reset(fx);
    StorPortInitializeDpc(ext, &dpc, dpc_a);
    holder.ext = ext;
    /* On the real clock a timer due before the DPC is held back too. */
    holder.timer = fx->clock ? NULL : new_timer(ext);
    test_thread *t = thread_start(hold_startio, NULL);
    CHECK(wait_for(&holder.holding, 1, 5000));
    if (!fx->clock)
        sleep_us(20000); /* T is due */
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    run_queued(fx);
    bool ran_while_held = fx_await(fx, &rec.n, 1) && !atomic_load(&holder.released);
    atomic_store(&holder.release, 1);
    thread_join(t);
    CHECK(ran_while_held);
    CHECK_EQ(rec.who[0], 'A');
    if (!fx->clock) {
        CHECK(fx_await(fx, &rec.n, 2));
        CHECK_EQ(rec.who[1], 'T');
    }
}
