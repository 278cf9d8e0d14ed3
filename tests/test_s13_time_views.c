/*
 * SPEC S13.2-S13.5: one reading, four views - the formulas of S13.2,
 * coherence with timers and stalls (S13.3), virtual clocks (S13.4) and the
 * real clock (S13.5).
 */
#include "time_fixture.h"

#include <string.h>
#include <time.h>

/* S13.2: the system time of reading t with base B and tick T. */
static LONGLONG system_time_of(LONGLONG base, ULONG tick, ULONGLONG t)
{
    return base + 10LL * (LONGLONG)tick * (LONGLONG)(t / tick);
}

/* Views read at t on a virtual clock with base B and tick T. */
static void check_views(const stortimer_time_views *v, LONGLONG base, ULONG tick, ULONGLONG t)
{
    CHECK_EQ(v->now_us, t);
    CHECK_EQ(v->system_time, system_time_of(base, tick, t));
    CHECK_EQ(v->tick_count, t / tick);
    CHECK_EQ(v->performance_counter, 10 * t);
    CHECK_EQ(v->performance_frequency, 10000000);
    CHECK_EQ(v->tick_us, tick);
    CHECK_EQ(v->timer_min_interval, 10ull * tick);
}

/* CLOCK_REALTIME in 100-ns units since 1601. */
static LONGLONG wall_100ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return 116444736000000000LL + (LONGLONG)ts.tv_sec * 10000000LL + ts.tv_nsec / 100;
}

/* ---- S13.2: one reading, four views ---- */

TEST(s13_2_views_follow_the_formulas_at_tick_edges)
{
    static const ULONG ticks[] = {1, 7, 10000, 429496729};
    for (int i = 0; i < 4; i++) {
        ULONG T = ticks[i];
        stortimer_clock *clock = test_virtual_clock();
        CHECK_STATUS(stortimer_clock_set_tick(clock, T), STOR_STATUS_SUCCESS);
        CHECK_STATUS(stortimer_clock_set_system_time(clock, 1234567), STOR_STATUS_SUCCESS);
        fixture fx = {"virtual", clock};
        PVOID ext = fx_adapter(&fx, 0);
        stortimer_thread_bind_clock(clock);
        ULONGLONG at[] = {0, T - 1ull, T, T + 1ull, 3ull * T + 5, 1000000000003ull};
        for (int j = 0; j < 6; j++) {
            stortimer_clock_advance_to(clock, at[j]);
            ULONGLONG t = stortimer_clock_now(clock);
            stortimer_time_views r;
            read_all(ext, clock, &r);
            check_views(&r, 1234567, T, t);
            stortimer_time_views v = views_of(clock);
            check_views(&v, 1234567, T, t);
        }
        stortimer_thread_bind_clock(NULL);
        fx_remove(ext);
    }
}

/* S13.2 at the end of virtual time: with a 1 us tick, floor(t / T) of the
 * clock's last microsecond does not fit a LONGLONG; the tick count (like
 * the counter and the system time) saturates at its largest value, and
 * never reads negative. */
TEST(s13_2_tick_count_saturates_at_the_clocks_last_microsecond)
{
    stortimer_clock *clock = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_tick(clock, 1), STOR_STATUS_SUCCESS);
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0);
    stortimer_clock_advance_to(clock, UINT64_MAX);
    stortimer_time_views v = views_of(clock);
    CHECK_EQ(v.tick_count, INT64_MAX);
    CHECK_EQ(v.performance_counter, INT64_MAX);
    LARGE_INTEGER ticks = {.QuadPart = 0};
    StorPortNotification(QueryTickCount, ext, &ticks);
    CHECK_EQ(ticks.QuadPart, INT64_MAX);
    fx_remove(ext);
}

TEST_BOTH(s13_2_system_time_moves_in_whole_ticks)
{
    stortimer_thread_bind_clock(fx->clock);
    stortimer_time_views first = views_of(fx->clock);
    ULONG T = first.tick_us;
    LONGLONG base = first.system_time - 10LL * T * first.tick_count;
    for (int i = 0; i < 200; i++) {
        LONGLONG sys = system_time_now();
        CHECK_EQ((sys - base) % (10LL * T), 0);
        CHECK(sys >= first.system_time);
        if (fx->clock)
            stortimer_clock_advance(fx->clock, 3333);
        else
            sleep_us(300);
    }
    stortimer_thread_bind_clock(NULL);
}

/* ---- S13.3: coherence ---- */

TEST(s13_3_views_in_a_callback_are_computed_from_its_fire_time)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    stamp s = {.fx = fx, .ext = ext};
    arm(ext, new_timer(ext), stamp_callback, &s, 123456, 0);
    stortimer_clock_advance(fx->clock, 1000000);
    CHECK_EQ(atomic_load(&s.fired), 1);
    check_views(&s.r, EPOCH, 10000, 123456);
    check_views(&s.v, EPOCH, 10000, 123456);
    fx_remove(ext);
}

/* storahci: stamp, stall, measure the stall with the counter, re-arm. */
typedef struct port_start {
    fixture *fx;
    PVOID ext, timer;
    int steps;
    ULONGLONG fired_at[8];
    LONGLONG sys[8], pc_before[8], pc_after[8];
    _Atomic int fired;
} port_start;

static VOID port_start_step(PVOID ext, PVOID context)
{
    port_start *p = context;
    int n = atomic_load(&p->fired);
    p->fired_at[n] = stortimer_clock_now(p->fx->clock);
    p->sys[n] = system_time_now();
    p->pc_before[n] = counter_of(ext);
    StorPortStallExecution(20000);   /* storahci's 20 ms fallback stall */
    p->pc_after[n] = counter_of(ext);
    if (n + 1 < p->steps)
        StorPortRequestTimer(ext, p->timer, port_start_step, p, 10000, 0);
    atomic_fetch_add(&p->fired, 1);
}

TEST_BOTH(s13_3_storahci_port_start_stamps_agree_with_fire_times_and_stalls)
{
    PVOID ext = fx_adapter(fx, 0);
    port_start p = {.fx = fx, .ext = ext, .steps = 5};
    p.timer = new_timer(ext);
    stortimer_thread_bind_clock(fx->clock);
    LONGLONG sys0 = system_time_now();
    stortimer_thread_bind_clock(NULL);
    arm(ext, p.timer, port_start_step, &p, 10000, 0);
    fx_pass(fx, 5 * 30000);
    CHECK(fx_await(fx, &p.fired, 5));
    for (int i = 0; i < 5; i++) {
        CHECK(p.pc_after[i] - p.pc_before[i] >= 200000);
        if (i > 0) {
            CHECK(p.sys[i] - p.sys[i - 1] > 10 * (30000 - 10000));
            CHECK(p.pc_before[i] - p.pc_after[i - 1] >= 100000);
        }
        if (fx->clock) {
            CHECK_EQ(p.fired_at[i], 10000 + 30000ull * i);
            CHECK_EQ(p.sys[i], system_time_of(EPOCH, 10000, p.fired_at[i]));
            CHECK_EQ(p.pc_after[i] - p.pc_before[i], 200000);
        }
    }
    CHECK(p.sys[0] - sys0 >= 0);
    fx_remove(ext);
}

TEST(s13_3_views_after_a_stall_on_a_bound_thread_come_from_the_moved_clock)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    stortimer_thread_bind_clock(fx->clock);
    StorPortStallExecution(12345);
    stortimer_time_views r;
    read_all(ext, fx->clock, &r);
    stortimer_thread_bind_clock(NULL);
    check_views(&r, EPOCH, 10000, 12345);
    fx_remove(ext);
}

static stamp *legacy_stamp;
static VOID legacy_stamp_callback(PVOID ext) { stamp_callback(ext, legacy_stamp); }

static void check_armed_for_d(fixture *fx, bool legacy)
{
    static const ULONG ds[] = {1, 9999, 25000};
    PVOID ext = fx_adapter(fx, 0);
    PVOID timer = new_timer(ext);
    ULONG T = views_of(fx->clock).tick_us;
    stortimer_thread_bind_clock(fx->clock);
    for (int i = 0; i < 3; i++) {
        stamp s = {.fx = fx, .ext = ext};
        legacy_stamp = &s;
        LONGLONG pc0 = counter_of(ext), sys0 = system_time_now();
        if (legacy)
            StorPortNotification(RequestTimerCall, ext, legacy_stamp_callback, ds[i]);
        else
            arm(ext, timer, stamp_callback, &s, ds[i], 0);
        fx_pass(fx, ds[i]);
        CHECK(fx_await(fx, &s.fired, 1));
        CHECK(s.r.performance_counter >= pc0 + 10LL * ds[i]);
        CHECK(s.r.system_time - sys0 > 10LL * ((LONGLONG)ds[i] - (LONGLONG)T));
        if (fx->clock)
            CHECK_EQ(s.r.performance_counter, pc0 + 10LL * ds[i]);
    }
    stortimer_thread_bind_clock(NULL);
    fx_remove(ext);
}

TEST_BOTH(s13_3_callback_reads_at_least_d_past_the_arm)
{
    check_armed_for_d(fx, false);
}

TEST_BOTH(s13_3_legacy_callback_reads_at_least_d_past_the_arm)
{
    check_armed_for_d(fx, true);
}

TEST_BOTH(s13_3_no_view_goes_backwards)
{
    PVOID ext = fx_adapter(fx, 0);
    stortimer_thread_bind_clock(fx->clock);
    stortimer_time_views last, r, v;
    read_all(ext, fx->clock, &last);
    for (int i = 0; i < 20000; i++) {
        if (fx->clock && i % 7 == 0)
            StorPortStallExecution(i % 3000);
        read_all(ext, fx->clock, &r);   /* the routines, then the host's reading */
        v = views_of(fx->clock);
        CHECK(r.system_time >= last.system_time && v.system_time >= r.system_time);
        CHECK(r.performance_counter >= last.performance_counter);
        CHECK(v.performance_counter >= r.performance_counter);
        CHECK(r.tick_count >= last.tick_count && v.tick_count >= r.tick_count);
        last = v;
    }
    stortimer_thread_bind_clock(NULL);
    fx_remove(ext);
}

/* ---- S13.4: virtual clocks ---- */

TEST(s13_4_virtual_clock_defaults)
{
    CHECK_EQ(EPOCH, 116444736000000000LL + 946684800LL * 10000000LL); /* 2000-01-01 */
    CHECK_EQ(EPOCH, 125911584000000000LL);
    stortimer_clock *clock = test_virtual_clock();
    stortimer_time_views v = views_of(clock);
    check_views(&v, 125911584000000000LL, 10000, 0);
    fixture fx = {"virtual", clock};
    PVOID ext = fx_adapter(&fx, 0);
    ULONG min = 0;
    CHECK_STATUS(StorPortQueryTimerMinInterval(ext, &min), STOR_STATUS_SUCCESS);
    CHECK_EQ(min, 100000);
    fx_remove(ext);
}

TEST(s13_4_two_virtual_clocks_read_the_same_times)
{
    stortimer_clock *a = test_virtual_clock(), *b = test_virtual_clock();
    stortimer_clock_advance(a, 987654321);
    stortimer_clock_advance(b, 987654321);
    stortimer_time_views va = views_of(a), vb = views_of(b);
    CHECK(memcmp(&va, &vb, sizeof va) == 0);
    check_views(&va, EPOCH, 10000, 987654321);
}

/* ---- S13.5: the real clock ---- */

TEST_REAL(s13_5_real_system_time_is_the_wall_clock)
{
    (void)fx;
    const LONGLONG slack = 500000;  /* 50 ms of drift between the two clocks */
    for (int i = 0; i < 3; i++) {
        LONGLONG wa = wall_100ns();
        LONGLONG sys = system_time_now();
        LONGLONG wb = wall_100ns();
        LONGLONG tick = 10LL * views_of(NULL).tick_us;
        CHECK(sys >= wa - tick - slack);
        CHECK(sys <= wb + tick + slack);
        sleep_us(30000);
    }
}

TEST_REAL(s13_5_real_reading_is_clock_monotonic_and_the_counter_within_ten_counts)
{
    (void)fx;
    LONGLONG last = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t before = mono_ns();
        stortimer_time_views v = views_of(NULL);
        uint64_t after = mono_ns();
        CHECK(v.now_us >= before / 1000 && v.now_us <= after / 1000);
        CHECK(v.performance_counter >= 10 * (LONGLONG)v.now_us);
        CHECK(v.performance_counter < 10 * (LONGLONG)v.now_us + 10);
        CHECK(v.performance_counter >= last);
        last = v.performance_counter;
    }
}

TEST_REAL(s13_5_real_base_is_fixed_once)
{
    (void)fx;
    stortimer_time_views a = views_of(NULL);
    LONGLONG base = a.system_time - 10LL * a.tick_us * a.tick_count;
    for (int i = 0; i < 5; i++) {
        sleep_us(20000);
        stortimer_time_views v = views_of(NULL);
        CHECK_EQ(v.system_time - 10LL * v.tick_us * v.tick_count, base);
        CHECK_EQ(v.tick_count, v.now_us / v.tick_us);
    }
}
