/*
 * views.c - the views of a clock's reading and the host's settings of its
 * scale (views.h; SPEC S13, S17.4).
 */
#include "time/views.h"

#include "platform/os.h"
#include "time/clock.h"
#include "time/scale.h"

/* The real clock's scale, one per process (S13.5). */
static st_time_scale real_scale = {
    .tick_word = (uint64_t)STORTIMER_DEFAULT_TICK_US << 1,
    .base = ST_BASE_UNSET,
};

/* x * m, saturating at INT64_MAX (readings past 29,000 years). */
static int64_t mul_saturating(uint64_t x, uint64_t m)
{
    return x > (uint64_t)INT64_MAX / m ? INT64_MAX : (int64_t)(x * m);
}

static int64_t add_saturating(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* B + 10 * T * floor(t / T): the system time moves in whole ticks. */
static int64_t system_time(int64_t base, uint64_t t, uint32_t tick)
{
    return add_saturating(base, mul_saturating(t - t % tick, 10));
}

void st_real_time_scale_fix(void)
{
    st_time_scale_fix(&real_scale);
    if (atomic_load_explicit(&real_scale.base, memory_order_acquire) != ST_BASE_UNSET)
        return;
    /* System time equals the wall clock now; later wall-clock changes never
     * move it. The first of racing readers sets it. */
    uint64_t t = st_real_now_floor();
    int64_t base = st_os_realtime_100ns() - system_time(0, t, st_time_scale_tick(&real_scale));
    int64_t unset = ST_BASE_UNSET;
    atomic_compare_exchange_strong(&real_scale.base, &unset, base);
}

/* Fills the views of reading `t` with counter `counter` on `scale`. */
static void fill(const st_time_scale *scale, uint64_t t, int64_t counter,
                 stortimer_time_views *views)
{
    uint32_t tick = st_time_scale_tick(scale);
    views->now_us = t;
    views->tick_us = tick;
    views->system_time = system_time(atomic_load(&scale->base), t, tick);
    views->tick_count = mul_saturating(t / tick, 1); /* a LONGLONG: never negative */
    views->performance_counter = counter;
    views->performance_frequency = 10000000;
    views->timer_min_interval = tick * 10u;
}

void st_clock_views(const stortimer_clock *clock, stortimer_time_views *views)
{
    if (clock) {
        uint64_t t = stortimer_clock_now(clock);
        fill(&clock->scale, t, mul_saturating(t, 10), views);
        return;
    }
    st_real_time_scale_fix();
    /* One monotonic reading: the counter keeps its sub-microsecond part,
     * never more than 9 counts past 10 * t (S13.5). */
    uint64_t ns = st_os_monotonic_ns();
    fill(&real_scale, ns / 1000u, mul_saturating(ns / 100u, 1), views);
}

/* ---- host settings (S17.4) ---- */

/* Sets a tick that is not fixed yet. */
static ULONG set_tick(st_time_scale *scale, ULONG tick_us)
{
    uint64_t word = atomic_load(&scale->tick_word);
    do {
        if (word & ST_TICK_FIXED)
            return STOR_STATUS_INVALID_DEVICE_STATE;
    } while (!atomic_compare_exchange_weak(&scale->tick_word, &word, (uint64_t)tick_us << 1));
    return STOR_STATUS_SUCCESS;
}

ULONG stortimer_clock_set_tick(stortimer_clock *clock, ULONG tick_us)
{
    if (tick_us < 1 || tick_us > ST_TICK_MAX_US)
        return STOR_STATUS_INVALID_PARAMETER;
    if (clock && !st_clock_is_live(clock))
        return STOR_STATUS_INVALID_PARAMETER;
    return set_tick(clock ? &clock->scale : &real_scale, tick_us);
}

ULONG stortimer_clock_set_system_time(stortimer_clock *clock, LONGLONG base_100ns)
{
    if (!clock || base_100ns < 0 || !st_clock_is_live(clock))
        return STOR_STATUS_INVALID_PARAMETER;
    if (atomic_load(&clock->scale.tick_word) & ST_TICK_FIXED)
        return STOR_STATUS_INVALID_DEVICE_STATE;
    atomic_store(&clock->scale.base, base_100ns);
    return STOR_STATUS_SUCCESS;
}

ULONG stortimer_clock_read_times(stortimer_clock *clock, stortimer_time_views *views)
{
    if (!views || (clock && !st_clock_is_live(clock)))
        return STOR_STATUS_INVALID_PARAMETER;
    st_clock_views(clock, views);
    return STOR_STATUS_SUCCESS;
}
