/*
 * Shards (docs/design.md): a timer armed on one processor lives in that
 * processor's shard, and everything the contract says still holds across
 * shards: a cancel or free from another processor reaches it (S5.5, S6.4),
 * and one adapter's equal fire times start in arm order (S8.4) whichever
 * processors armed them. On a one-processor machine there is one shard and
 * these tests check the same contract there.
 */
#include "adapters/shard.h"
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

static int processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

typedef struct pinned_call {
    int cpu;
    void (*run)(void *);
    void *arg;
} pinned_call;

static void *run_pinned(void *p)
{
    pinned_call *call = p;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(call->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    call->run(call->arg);
    return NULL;
}

/* Runs run(arg) on a thread pinned to `cpu` (modulo the processors there
 * are), and waits for it. */
static void on_cpu(int cpu, void (*run)(void *), void *arg)
{
    pinned_call call = {cpu % processors(), run, arg};
    thread_join(thread_start(run_pinned, &call));
}

typedef struct arming {
    PVOID ext, handle;
    PHW_TIMER_EX callback;
    PVOID context;
    ULONGLONG value;
} arming;

static void arm_it(void *p)
{
    arming *a = p;
    arm(a->ext, a->handle, a->callback, a->context, a->value, 0);
}

/* The shard the owner word of a timer names (white-box). */
static uint32_t shard_of(PVOID handle)
{
    uint64_t issued;
    return st_registry_shard(st_registry_live_timer(st_handle_value(handle), &issued));
}

TEST(s5_4_shards_arm_moves_the_timer_to_the_arming_processors_shard)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    PVOID h = new_timer(ext);
    CHECK_EQ(shard_of(h), 0); /* a new timer starts in the first shard */
    arming a = {ext, h, probe_callback, &p, 1000};
    on_cpu(1, arm_it, &a);
    /* The largest power of two up to the processors and ST_MAX_SHARDS. */
    uint32_t shards = 1;
    while (shards * 2 <= (uint32_t)processors() && shards * 2 <= ST_MAX_SHARDS)
        shards *= 2;
    CHECK_EQ(shard_of(h), (uint32_t)(1 % processors()) & (shards - 1));
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(atomic_load(&p.fired), 1);
}

TEST(s5_5_shards_timer_armed_elsewhere_is_cancelled_from_here)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    PVOID h = new_timer(ext);
    arming a = {ext, h, probe_callback, &p, 1000};
    on_cpu(1, arm_it, &a);
    CHECK_STATUS(StorPortRequestTimer(ext, h, probe_callback, &p, 0, 0), STOR_STATUS_SUCCESS);
    stortimer_clock_advance(virtual_fixture()->clock, 2000);
    CHECK_EQ(atomic_load(&p.fired), 0);
    /* Armed elsewhere again, then freed from here: never fires either. */
    on_cpu(1, arm_it, &a);
    CHECK_STATUS(StorPortFreeTimer(ext, h), STOR_STATUS_SUCCESS);
    stortimer_clock_advance(virtual_fixture()->clock, 2000);
    CHECK_EQ(atomic_load(&p.fired), 0);
}

TEST(s5_4_shards_timer_armed_elsewhere_fires_once_on_time)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    PVOID h = new_timer(ext);
    ULONGLONG start = stortimer_clock_now(virtual_fixture()->clock);
    arming a = {ext, h, probe_callback, &p, 700};
    on_cpu(1, arm_it, &a);
    stortimer_clock_advance(virtual_fixture()->clock, 699);
    CHECK_EQ(atomic_load(&p.fired), 0);
    stortimer_clock_advance(virtual_fixture()->clock, 1);
    CHECK_EQ(atomic_load(&p.fired), 1);
    CHECK_EQ(p.at[0], start + 700);
    /* Re-armed here after firing there: BUSY is not owed, it fires again. */
    arm(ext, h, probe_callback, &p, 300, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 300);
    CHECK_EQ(atomic_load(&p.fired), 2);
}

/* S8.4: equal fire times start in arm order although the arms came from
 * different processors, and so landed in different shards. */
static _Atomic int fired_seq[8], fired_n;

static VOID record_seq(PVOID ext, PVOID context)
{
    (void)ext;
    int n = atomic_fetch_add(&fired_n, 1);
    if (n < 8)
        atomic_store(&fired_seq[n], (int)(intptr_t)context);
}

TEST(s8_4_shards_equal_fire_times_go_by_arm_order_across_processors)
{
    PVOID ext = virtual_adapter(0);
    atomic_store(&fired_n, 0);
    arming a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (arming){ext, new_timer(ext), record_seq, (PVOID)(intptr_t)i, 500};
        on_cpu(i % 2, arm_it, &a[i]);
    }
    stortimer_clock_advance(virtual_fixture()->clock, 500);
    CHECK_EQ(atomic_load(&fired_n), 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(atomic_load(&fired_seq[i]), i);
}

static void cancel_it(void *p)
{
    arming *a = p;
    CHECK_STATUS(StorPortRequestTimer(a->ext, a->handle, a->callback, a->context, 0, 0),
                 STOR_STATUS_SUCCESS);
}

/* S8.4 with orders taken from every shard's lane (arm_word.h): timers that
 * already live in two shards are re-armed, each from its own processor,
 * with one fire time; they start in the order of those arms, although
 * each shard's lane alone counts only its own (shard 0's had given 8
 * orders, shard 1's none). */
TEST(s8_4_shards_rearms_in_two_shards_go_by_arm_order)
{
    PVOID ext = virtual_adapter(0);
    arming a[8];
    for (int i = 0; i < 8; i++) { /* timer i now lives in shard i % 2 */
        a[i] = (arming){ext, new_timer(ext), record_seq, (PVOID)(intptr_t)i, 500};
        on_cpu(i % 2, arm_it, &a[i]);
        on_cpu(i % 2, cancel_it, &a[i]);
    }
    atomic_store(&fired_n, 0);
    for (int i = 0; i < 8; i++)
        on_cpu(i % 2, arm_it, &a[i]);
    stortimer_clock_advance(virtual_fixture()->clock, 500);
    CHECK_EQ(atomic_load(&fired_n), 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(atomic_load(&fired_seq[i]), i);
}

/* Whatever fires them (the dispatcher of a real-clock adapter, or the
 * advance of a virtual clock) serves every shard. */
TEST_BOTH(s5_4_shards_timers_of_every_processor_fire)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    arming a[4];
    ULONGLONG called[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (arming){ext, new_timer(ext), probe_callback, &p, 2000 + 1000 * (ULONGLONG)i};
        called[i] = fx_now(fx);
        on_cpu(i, arm_it, &a[i]);
    }
    fx_pass(fx, 5000);
    CHECK(fx_await(fx, &p.fired, 4));
    for (int i = 1; i < 4; i++)
        CHECK(p.at[i] >= p.at[i - 1]);
    for (int i = 0; i < 4; i++)   /* they fire in due order, 1 ms apart */
        check_fired_at(fx, p.at[i], called[i], a[i].value);
    fx_remove(ext);
}
