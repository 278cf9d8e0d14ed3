/*
 * SPEC S11: clocks - the real clock is CLOCK_MONOTONIC in microseconds; a
 * virtual clock moves only when advanced, fires every due callback in order
 * on the advancing thread before the advance returns, and steps through the
 * fire times.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static stortimer_clock *new_clock(void)
{
    return test_virtual_clock();
}

static PVOID adapter_on(stortimer_clock *clock)
{
    fixture fx = {"virtual", clock};
    return fx_adapter(&fx, 0);
}

/* A log of (id, clock time) for callbacks on one clock, possibly re-arming. */
#define LOG_MAX 256

typedef struct fire_log {
    stortimer_clock *clock;
    _Atomic int n;
    int id[LOG_MAX];
    ULONGLONG at[LOG_MAX];
    long tid[LOG_MAX];
} fire_log;

typedef struct item {
    fire_log *log;
    int id;
    PVOID handle;            /* own handle, for re-arming */
    ULONGLONG period;        /* re-arm with this value while > 0 */
    int rearms_left;
    PVOID then_handle;       /* arm another timer once, from the callback */
    struct item *then_item;
    ULONGLONG then_value;
} item;

static VOID log_callback(PVOID ext, PVOID context)
{
    item *it = context;
    fire_log *l = it->log;
    int n = atomic_load(&l->n);
    if (n < LOG_MAX) {
        l->id[n] = it->id;
        l->at[n] = stortimer_clock_now(l->clock);
        l->tid[n] = thread_id();
    }
    atomic_fetch_add(&l->n, 1);
    if (it->period && it->rearms_left != 0) {
        if (it->rearms_left > 0)
            it->rearms_left--;
        StorPortRequestTimer(ext, it->handle, log_callback, it, it->period, 0);
    }
    if (it->then_handle) {
        StorPortRequestTimer(ext, it->then_handle, log_callback, it->then_item,
                             it->then_value, 0);
        it->then_handle = NULL;
    }
}

/* ---- the real clock ---- */

TEST(s11_1_real_clock_is_clock_monotonic_in_microseconds)
{
    for (int i = 0; i < 100; i++) {
        uint64_t before = mono_ns() / 1000u;
        ULONGLONG now = stortimer_clock_now(NULL);
        uint64_t after = mono_ns() / 1000u;
        /* Within a few milliseconds of CLOCK_MONOTONIC / 1000. */
        CHECK(now + 5000 >= before);
        CHECK(now <= after + 5000);
    }
}

TEST(s11_1_real_clock_counts_microseconds)
{
    uint64_t start_ns = mono_ns();
    ULONGLONG start = stortimer_clock_now(NULL);
    sleep_us(20000);
    ULONGLONG end = stortimer_clock_now(NULL);
    uint64_t elapsed_us = (mono_ns() - start_ns) / 1000u;   /* brackets both reads */
    CHECK(end - start >= 19000);                 /* not milliseconds */
    CHECK(end - start <= elapsed_us + 5000);     /* not nanoseconds */
}

TEST(s11_1_real_clock_never_goes_backwards)
{
    ULONGLONG last = stortimer_clock_now(NULL);
    for (int i = 0; i < 200000; i++) {
        ULONGLONG now = stortimer_clock_now(NULL);
        if (now < last)
            test_failf(__FILE__, __LINE__, "read %llu after %llu", (unsigned long long)now,
                       (unsigned long long)last);
        last = now;
    }
}

TEST(s11_1_advancing_the_real_clock_is_reported_and_ignored)
{
    PVOID ext = NULL;
    CHECK_STATUS(stortimer_adapter_create(NULL, &ext), STOR_STATUS_SUCCESS);
    fixture fx = {"real", NULL};
    probe p;
    probe_init(&p, &fx, ext);
    arm(ext, new_timer(ext), probe_callback, &p, 60000000, 0);
    reports_capture();
    ULONGLONG before = stortimer_clock_now(NULL);
    stortimer_clock_advance(NULL, 3600000000ull);   /* an hour */
    ULONGLONG after = stortimer_clock_now(NULL);
    CHECK(reports_count() >= 1);
    CHECK(after - before < 1000000);
    sleep_us(20000);
    CHECK_EQ(atomic_load(&p.fired), 0);
    reports_release();
    fx_remove(ext);
}

/* ---- a virtual clock moves only when advanced ---- */

TEST(s11_2_virtual_clock_starts_at_zero)
{
    stortimer_clock *clock = new_clock();
    CHECK_EQ(stortimer_clock_now(clock), 0);
}

TEST(s11_2_virtual_clock_moves_only_when_advanced)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &it, 100, 0);
    sleep_us(50000);                              /* real time passes... */
    CHECK_EQ(stortimer_clock_now(clock), 0);      /* ...virtual time does not */
    CHECK_EQ(atomic_load(&log.n), 0);
    stortimer_clock_advance(clock, 40);
    CHECK_EQ(stortimer_clock_now(clock), 40);
    sleep_us(20000);
    CHECK_EQ(stortimer_clock_now(clock), 40);
    CHECK_EQ(atomic_load(&log.n), 0);
    stortimer_clock_advance(clock, 60);
    CHECK_EQ(atomic_load(&log.n), 1);
    CHECK_EQ(stortimer_clock_now(clock), 100);
    fx_remove(ext);
}

TEST(s11_2_advance_fires_up_to_and_including_its_target)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item a = {.log = &log, .id = 0}, b = {.log = &log, .id = 1};
    arm(ext, new_timer(ext), log_callback, &a, 1000, 0);
    arm(ext, new_timer(ext), log_callback, &b, 1001, 0);
    stortimer_clock_advance(clock, 1000);
    CHECK_EQ(atomic_load(&log.n), 1);
    CHECK_EQ(log.id[0], 0);
    stortimer_clock_advance(clock, 1);
    CHECK_EQ(atomic_load(&log.n), 2);
    CHECK_EQ(log.at[1], 1001);
    fx_remove(ext);
}

/* ---- advance runs every due callback, in order, on the advancing thread ---- */

TEST(s11_2_advance_runs_due_callbacks_in_order_on_the_advancing_thread)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item items[5];
    static const ULONGLONG values[5] = {300, 100, 500, 200, 400};
    for (int i = 0; i < 5; i++) {
        items[i] = (item){.log = &log, .id = i};
        arm(ext, new_timer(ext), log_callback, &items[i], values[i], 0);
    }
    stortimer_clock_advance(clock, 500);
    /* All of them, before the advance returned. */
    CHECK_EQ(atomic_load(&log.n), 5);
    static const int expected[5] = {1, 3, 0, 4, 2};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(log.id[i], expected[i]);
        CHECK(log.tid[i] == thread_id());
    }
    fx_remove(ext);
}

typedef struct watched_advance {
    stortimer_clock *clock;
    fire_log *log;
    long tid;
    int fired_when_returned;
} watched_advance;

static void *advance_from_thread(void *arg)
{
    watched_advance *a = arg;
    a->tid = thread_id();
    stortimer_clock_advance(a->clock, 1000);
    a->fired_when_returned = atomic_load(&a->log->n);
    return NULL;
}

TEST(s11_2_advance_runs_callbacks_on_whichever_thread_advances)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &it, 500, 0);   /* armed here */
    watched_advance adv = {clock, &log, 0, 0};
    thread_join(thread_start(advance_from_thread, &adv));
    CHECK_EQ(adv.fired_when_returned, 1);
    CHECK(log.tid[0] == adv.tid);
    CHECK(log.tid[0] != thread_id());
    fx_remove(ext);
}

/* Holds its adapter's StartIo lock across an advance of the shared clock. */
typedef struct holder {
    PVOID ext;
    stortimer_clock *clock;
    pthread_barrier_t *both_hold;
    _Atomic int *returned;
} holder;

static void *advance_holding_startio(void *arg)
{
    holder *h = arg;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(h->ext, StartIoLock, NULL, &lock);
    pthread_barrier_wait(h->both_hold);
    stortimer_clock_advance(h->clock, 100); /* the other adapter's timer is due */
    atomic_fetch_add(h->returned, 1);
    StorPortReleaseSpinLock(h->ext, &lock);
    return NULL;
}

/* S8.1, S11.2: an advance made holding a StartIo lock runs that adapter's
 * callbacks late; two threads doing so, each holding one adapter's lock with
 * the other's timer due, must not wait for each other. */
TEST(s11_2_two_advancers_holding_each_others_startio_do_not_deadlock)
{
    stortimer_clock *clock = new_clock();
    fire_log log = {.clock = clock};
    item items[2] = {{.log = &log, .id = 0}, {.log = &log, .id = 1}};
    PVOID ext[2];
    for (int i = 0; i < 2; i++) {
        ext[i] = adapter_on(clock);
        arm(ext[i], new_timer(ext[i]), log_callback, &items[i], 10, 0);
    }
    pthread_barrier_t both_hold;
    pthread_barrier_init(&both_hold, NULL, 2);
    _Atomic int returned = 0;
    holder holders[2];
    test_thread *threads[2];
    for (int i = 0; i < 2; i++) {
        holders[i] = (holder){ext[i], clock, &both_hold, &returned};
        threads[i] = thread_start(advance_holding_startio, &holders[i]);
    }
    CHECK(wait_for(&returned, 2, 5000)); /* else: deadlocked */
    for (int i = 0; i < 2; i++)
        thread_join(threads[i]);
    pthread_barrier_destroy(&both_hold);
    stortimer_clock_advance(clock, 0); /* whatever was held back runs now, late */
    CHECK_EQ(atomic_load(&log.n), 2);
    for (int i = 0; i < 2; i++) /* when depends on which advance came first */
        CHECK(log.at[i] >= 10 && log.at[i] <= stortimer_clock_now(clock));
    for (int i = 0; i < 2; i++)
        fx_remove(ext[i]);
}

/* ---- the clock steps through the fire times ---- */

TEST(s11_3_inside_a_callback_the_clock_reads_its_fire_time)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item items[3];
    static const ULONGLONG values[3] = {100, 250, 999};
    for (int i = 0; i < 3; i++) {
        items[i] = (item){.log = &log, .id = i};
        arm(ext, new_timer(ext), log_callback, &items[i], values[i], 0);
    }
    stortimer_clock_advance(clock, 5000);
    CHECK_EQ(atomic_load(&log.n), 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(log.at[i], values[i]);
    CHECK_EQ(stortimer_clock_now(clock), 5000);
    fx_remove(ext);
}

TEST(s11_3_clock_steps_through_fire_times_across_adapters)
{
    stortimer_clock *clock = new_clock();
    PVOID x = adapter_on(clock), y = adapter_on(clock);
    fire_log log = {.clock = clock};
    item items[4] = {{.log = &log, .id = 0}, {.log = &log, .id = 1},
                     {.log = &log, .id = 2}, {.log = &log, .id = 3}};
    arm(x, new_timer(x), log_callback, &items[0], 100, 0);
    arm(y, new_timer(y), log_callback, &items[1], 150, 0);
    arm(x, new_timer(x), log_callback, &items[2], 200, 0);
    arm(y, new_timer(y), log_callback, &items[3], 201, 0);
    stortimer_clock_advance(clock, 1000);
    CHECK_EQ(atomic_load(&log.n), 4);
    static const ULONGLONG at[4] = {100, 150, 200, 201};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(log.id[i], i);
        CHECK_EQ(log.at[i], at[i]);
    }
    fx_remove(x);
    fx_remove(y);
}

TEST(s11_3_periodic_timer_steps_through_fire_times)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0, .period = 100, .rearms_left = -1};
    it.handle = new_timer(ext);
    arm(ext, it.handle, log_callback, &it, 100, 0);
    stortimer_clock_advance(clock, 1000);
    CHECK_EQ(atomic_load(&log.n), 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(log.at[i], (ULONGLONG)(i + 1) * 100);
    CHECK_EQ(stortimer_clock_now(clock), 1000);
    /* It keeps its phase: nothing at 1050, the 11th at 1100. */
    stortimer_clock_advance(clock, 50);
    CHECK_EQ(atomic_load(&log.n), 10);
    stortimer_clock_advance(clock, 50);
    CHECK_EQ(atomic_load(&log.n), 11);
    CHECK_EQ(log.at[10], 1100);
    fx_remove(ext);
}

/* Holding the StartIo lock while advancing leaves a callback due now. */
TEST(s11_2_advance_by_zero_runs_callbacks_due_at_the_current_time)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item a = {.log = &log, .id = 0}, b = {.log = &log, .id = 1};
    arm(ext, new_timer(ext), log_callback, &a, 100, 0);
    arm(ext, new_timer(ext), log_callback, &b, 101, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    stortimer_clock_advance(clock, 100);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(atomic_load(&log.n), 0);
    CHECK_EQ(stortimer_clock_now(clock), 100);
    stortimer_clock_advance(clock, 0);
    CHECK_EQ(atomic_load(&log.n), 1);        /* the one due at 100, not at 101 */
    CHECK_EQ(log.id[0], 0);
    CHECK_EQ(log.at[0], 100);
    CHECK_EQ(stortimer_clock_now(clock), 100);
    fx_remove(ext);
}

TEST(s11_2_advance_by_zero_with_nothing_due_changes_nothing)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item a = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &a, 1, 0);
    stortimer_clock_advance(clock, 0);
    CHECK_EQ(stortimer_clock_now(clock), 0);
    CHECK_EQ(atomic_load(&log.n), 0);
    fx_remove(ext);
}

/* The same timer program on its own clock, for comparing advance patterns. */
typedef struct program {
    stortimer_clock *clock;
    PVOID ext;
    fire_log log;
    item items[9];
} program;

static void program_start(program *p)
{
    static const ULONGLONG values[7] = {5, 99, 100, 101, 333, 640, 999};
    memset(p, 0, sizeof *p);
    p->clock = new_clock();
    p->ext = adapter_on(p->clock);
    p->log.clock = p->clock;
    for (int i = 0; i < 7; i++) {
        p->items[i] = (item){.log = &p->log, .id = i};
        arm(p->ext, new_timer(p->ext), log_callback, &p->items[i], values[i], 0);
    }
    /* A periodic 70 us timer, and one at 150 that arms another for 77 later. */
    p->items[7] = (item){.log = &p->log, .id = 7, .period = 70, .rearms_left = -1};
    p->items[7].handle = new_timer(p->ext);
    arm(p->ext, p->items[7].handle, log_callback, &p->items[7], 70, 0);
    p->items[8] = (item){.log = &p->log, .id = 8};
    p->items[2].then_handle = new_timer(p->ext);
    p->items[2].then_item = &p->items[8];
    p->items[2].then_value = 77;
}

static void programs_equal(program *a, program *b)
{
    CHECK_EQ(atomic_load(&a->log.n), atomic_load(&b->log.n));
    for (int i = 0; i < atomic_load(&a->log.n); i++) {
        if (a->log.id[i] != b->log.id[i] || a->log.at[i] != b->log.at[i])
            test_failf(__FILE__, __LINE__, "firing %d: timer %d at %llu vs timer %d at %llu",
                       i, a->log.id[i], (unsigned long long)a->log.at[i], b->log.id[i],
                       (unsigned long long)b->log.at[i]);
    }
    CHECK_EQ(stortimer_clock_now(a->clock), stortimer_clock_now(b->clock));
}

TEST(s11_2_many_small_advances_equal_one_big_one)
{
    static program big, ones, sevens;
    program_start(&big);
    program_start(&ones);
    program_start(&sevens);
    stortimer_clock_advance(big.clock, 1000);
    for (int i = 0; i < 1000; i++)
        stortimer_clock_advance(ones.clock, 1);
    for (int i = 0; i < 142; i++)
        stortimer_clock_advance(sevens.clock, 7);
    stortimer_clock_advance(sevens.clock, 6);
    /* 7 one-shots + 14 periodic (70..980) + the one armed at 100 for 177. */
    CHECK_EQ(atomic_load(&big.log.n), 22);
    programs_equal(&big, &ones);
    programs_equal(&big, &sevens);
    fx_remove(big.ext);
    fx_remove(ones.ext);
    fx_remove(sevens.ext);
}

/* ---- zero windows fire exactly at the due time, windows inside them ---- */

TEST_BOTH(s11_4_zero_window_timer_fires_exactly_at_its_due_time)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p, q;
    probe_init(&p, fx, ext);
    probe_init(&q, fx, ext);
    ULONGLONG start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, 0);
    arm(ext, new_timer(ext), probe_callback, &q, 1500, 31);   /* below 32: none */
    fx_pass(fx, 3000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(fx_await(fx, &q.fired, 1));
    if (fx->clock) {
        CHECK_EQ(p.at[0], 1000);
        CHECK_EQ(q.at[0], 1500);
    } else {
        CHECK(p.at[0] >= start + 1000);
        CHECK(q.at[0] >= start + 1500);
    }
    fx_remove(ext);
}

TEST_BOTH(s11_4_timer_with_a_window_fires_inside_it)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p, q, r;
    probe_init(&p, fx, ext);
    probe_init(&q, fx, ext);
    probe_init(&r, fx, ext);
    ULONGLONG start = fx_now(fx);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, 500);
    arm(ext, new_timer(ext), probe_callback, &q, 1200, 1000);
    arm(ext, new_timer(ext), probe_callback, &r, 1300, 0);   /* a chance to coalesce */
    fx_pass(fx, 5000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK(fx_await(fx, &q.fired, 1));
    CHECK(fx_await(fx, &r.fired, 1));
    if (fx->clock) {
        CHECK(p.at[0] >= 1000 && p.at[0] <= 1500);
        CHECK(q.at[0] >= 1200 && q.at[0] <= 2200);
        CHECK_EQ(r.at[0], 1300);
    } else {
        CHECK(p.at[0] >= start + 1000);
        CHECK(q.at[0] >= start + 1200);
        CHECK(r.at[0] >= start + 1300);
    }
    fx_remove(ext);
}

TEST(s11_4_windowed_timer_fires_inside_its_window_under_small_steps)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item a = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &a, 1000, 400);
    for (int i = 0; i < 300 && atomic_load(&log.n) == 0; i++)
        stortimer_clock_advance(clock, 13);
    CHECK_EQ(atomic_load(&log.n), 1);
    CHECK(log.at[0] >= 1000 && log.at[0] <= 1400);
    fx_remove(ext);
}

/* S5.4.2 and S11.4: windows that overlap share fire times on a virtual clock
 * too (the ones the real clock's dispatcher aims at), inside every window,
 * ties in arm order (S8.4). */
TEST(s11_4_overlapping_windows_share_fire_times)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item items[10];
    ULONGLONG armed_at[10];
    for (int i = 0; i < 10; i++) {
        items[i] = (item){.log = &log, .id = i};
        armed_at[i] = stortimer_clock_now(clock);
        arm(ext, new_timer(ext), log_callback, &items[i], 100000, 25000);
        stortimer_clock_advance(clock, 1000);
    }
    stortimer_clock_advance(clock, 200000);
    CHECK_EQ(atomic_load(&log.n), 10);
    int distinct = 1;
    for (int i = 0; i < 10; i++) {
        int id = log.id[i];
        CHECK(log.at[i] >= armed_at[id] + 100000 && log.at[i] <= armed_at[id] + 125000);
        if (i > 0) {
            CHECK(log.at[i] >= log.at[i - 1]);
            if (log.at[i] == log.at[i - 1])
                CHECK(id > log.id[i - 1]); /* S8.4: ties in arm order */
            else
                distinct++;
        }
    }
    /* Windows of 25 ms armed 1 ms apart: one or two round times, not ten. */
    CHECK(distinct <= 2);
    fx_remove(ext);
}

/* ---- virtual clocks are independent ---- */

TEST(s11_2_two_virtual_clocks_are_independent)
{
    stortimer_clock *a = new_clock(), *b = new_clock();
    PVOID on_a = adapter_on(a), on_b = adapter_on(b);
    fire_log log_a = {.clock = a}, log_b = {.clock = b};
    item ia = {.log = &log_a, .id = 0}, ib = {.log = &log_b, .id = 1};
    arm(on_a, new_timer(on_a), log_callback, &ia, 100, 0);
    arm(on_b, new_timer(on_b), log_callback, &ib, 100, 0);
    stortimer_clock_advance(b, 1000);
    CHECK_EQ(atomic_load(&log_b.n), 1);
    CHECK_EQ(log_b.at[0], 100);
    CHECK_EQ(atomic_load(&log_a.n), 0);
    CHECK_EQ(stortimer_clock_now(a), 0);
    CHECK_EQ(stortimer_clock_now(b), 1000);
    stortimer_clock_advance(a, 100);
    CHECK_EQ(atomic_load(&log_a.n), 1);
    CHECK_EQ(log_a.at[0], 100);
    CHECK_EQ(atomic_load(&log_b.n), 1);
    CHECK_EQ(stortimer_clock_now(b), 1000);
    fx_remove(on_a);
    fx_remove(on_b);
}

/* ---- huge advances saturate ---- */

TEST(s5_4_3_huge_advances_saturate_without_wrapping)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &it, 100, 0);
    stortimer_clock_advance(clock, 1000);
    stortimer_clock_advance(clock, UINT64_MAX);
    CHECK_EQ(stortimer_clock_now(clock), UINT64_MAX);
    stortimer_clock_advance(clock, 5);
    CHECK_EQ(stortimer_clock_now(clock), UINT64_MAX);
    stortimer_clock_advance(clock, UINT64_MAX);
    CHECK_EQ(stortimer_clock_now(clock), UINT64_MAX);
    CHECK_EQ(atomic_load(&log.n), 1);
    fx_remove(ext);
}

TEST(s5_4_3_due_time_near_the_top_saturates_instead_of_wrapping)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0};
    stortimer_clock_advance(clock, UINT64_MAX - 100);
    arm(ext, new_timer(ext), log_callback, &it, 1000, 0);   /* would wrap to 899 */
    stortimer_clock_advance(clock, 0);
    stortimer_clock_advance(clock, 50);
    CHECK_EQ(atomic_load(&log.n), 0);
    CHECK_EQ(stortimer_clock_now(clock), UINT64_MAX - 50);
    fx_remove(ext);
}

/* ---- destroying clocks ---- */

TEST(s10_destroy_with_adapters_is_reported_and_leaves_the_clock_usable)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item it = {.log = &log, .id = 0};
    arm(ext, new_timer(ext), log_callback, &it, 100, 0);
    stortimer_clock_advance(clock, 50);
    reports_capture();
    stortimer_clock_destroy(clock);
    CHECK(reports_count() >= 1);
    reports_release();
    CHECK_EQ(stortimer_clock_now(clock), 50);
    stortimer_clock_advance(clock, 50);
    CHECK_EQ(atomic_load(&log.n), 1);
    CHECK_EQ(log.at[0], 100);
    /* And adapters can still be made on it. */
    PVOID second = adapter_on(clock);
    fx_remove(second);
    fx_remove(ext);
}

TEST(s10_destroy_after_removing_adapters_is_silent)
{
    stortimer_clock *clock = stortimer_clock_virtual_create(); /* destroyed here */
    CHECK(clock != NULL);
    PVOID ext = adapter_on(clock);
    fx_remove(ext);
    reports_capture();
    stortimer_clock_destroy(clock);
    CHECK_EQ(reports_count(), 0);
    reports_release();
}

TEST(s10_destroy_null_is_a_no_op)
{
    reports_capture();
    stortimer_clock_destroy(NULL);
    CHECK_EQ(reports_count(), 0);
    reports_release();
    /* The real clock still reads. */
    CHECK(stortimer_clock_now(NULL) > 0);
}

/* ---- advancing from inside a callback ---- */

typedef struct inner_advance {
    stortimer_clock *clock;   /* the clock to advance from inside */
    ULONGLONG by;
    ULONGLONG before, after;  /* that clock, around the inner advance */
    int inner_fired;          /* callbacks that ran inside it */
    fire_log *watch;
    _Atomic int fired;
} inner_advance;

static VOID advance_inside_callback(PVOID ext, PVOID context)
{
    (void)ext;
    inner_advance *ia = context;
    int watched = atomic_load(&ia->watch->n);
    ia->before = stortimer_clock_now(ia->clock);
    stortimer_clock_advance(ia->clock, ia->by);
    ia->after = stortimer_clock_now(ia->clock);
    ia->inner_fired = atomic_load(&ia->watch->n) - watched;
    atomic_fetch_add(&ia->fired, 1);
}

TEST(s10_advance_from_a_callback_is_reported_and_ignored)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = adapter_on(clock);
    fire_log log = {.clock = clock};
    item later = {.log = &log, .id = 0};
    inner_advance ia = {.clock = clock, .by = 1000, .watch = &log};
    arm(ext, new_timer(ext), advance_inside_callback, &ia, 100, 0);
    arm(ext, new_timer(ext), log_callback, &later, 500, 0);
    reports_capture();
    stortimer_clock_advance(clock, 100);
    CHECK_EQ(atomic_load(&ia.fired), 1);
    CHECK(reports_count() >= 1);
    CHECK_EQ(ia.before, 100);
    CHECK_EQ(ia.after, 100);
    CHECK_EQ(ia.inner_fired, 0);
    CHECK_EQ(stortimer_clock_now(clock), 100);
    CHECK_EQ(atomic_load(&log.n), 0);
    reports_release();
    stortimer_clock_advance(clock, 400);
    CHECK_EQ(atomic_load(&log.n), 1);
    CHECK_EQ(log.at[0], 500);
    fx_remove(ext);
}

TEST(s10_advance_of_another_clock_from_a_callback_is_reported_and_ignored)
{
    /* stortimer.h: the advance is "reported and ignored ... when called from
     * a callback" - any callback, not only one of the clock advanced. */
    stortimer_clock *mine = new_clock(), *other = new_clock();
    PVOID ext = adapter_on(mine), on_other = adapter_on(other);
    fire_log log = {.clock = other};
    item victim = {.log = &log, .id = 0};
    arm(on_other, new_timer(on_other), log_callback, &victim, 100, 0);
    inner_advance ia = {.clock = other, .by = 1000, .watch = &log};
    arm(ext, new_timer(ext), advance_inside_callback, &ia, 100, 0);
    reports_capture();
    stortimer_clock_advance(mine, 100);
    CHECK_EQ(atomic_load(&ia.fired), 1);
    CHECK(reports_count() >= 1);
    CHECK_EQ(ia.after, 0);
    CHECK_EQ(ia.inner_fired, 0);
    CHECK_EQ(stortimer_clock_now(other), 0);
    reports_release();
    fx_remove(ext);
    fx_remove(on_other);
}

/* Real only: a real-clock callback (virtual: s10_advance_of_another_clock_from_a_callback_*). */
TEST_REAL(s10_advance_from_a_real_clock_callback_is_reported_and_ignored)
{
    stortimer_clock *clock = new_clock();
    PVOID ext = fx_adapter(fx, 0), on_clock = adapter_on(clock);
    fire_log log = {.clock = clock};
    item victim = {.log = &log, .id = 0};
    arm(on_clock, new_timer(on_clock), log_callback, &victim, 100, 0);
    inner_advance ia = {.clock = clock, .by = 1000, .watch = &log};
    reports_capture();
    arm(ext, new_timer(ext), advance_inside_callback, &ia, 1000, 0);
    CHECK(fx_await(fx, &ia.fired, 1));
    CHECK(reports_count() >= 1);
    CHECK_EQ(ia.after, 0);
    CHECK_EQ(stortimer_clock_now(clock), 0);
    CHECK_EQ(atomic_load(&log.n), 0);
    reports_release();
    fx_remove(ext);
    fx_remove(on_clock);
}
