/*
 * SPEC S13.1: which clock the time queries read - the real clock on an
 * unbound thread, the bound clock on a bound one, and the adapter's clock in
 * its callbacks, DPC routines and adapter queries.
 */
#include "time_fixture.h"

/* ---- S13.1: which clock ---- */

TEST(s13_1_system_time_on_an_unbound_thread_reads_the_real_clock)
{
    fixture *fx = virtual_fixture();
    stortimer_clock_advance(fx->clock, 5000000);
    LONGLONG before = views_of(NULL).system_time;
    LONGLONG got = system_time_now();
    LONGLONG after = views_of(NULL).system_time;
    CHECK(got >= before && got <= after);
    CHECK(got > EPOCH + 100000000000000LL);   /* not the virtual year 2000 */
}

TEST(s13_1_system_time_on_a_bound_thread_reads_the_bound_clock)
{
    stortimer_clock *a = test_virtual_clock(), *b = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_system_time(b, 1000000000), STOR_STATUS_SUCCESS);
    stortimer_clock_advance(a, 123456);
    stortimer_clock_advance(b, 7000);
    stortimer_thread_bind_clock(a);
    CHECK_EQ(system_time_now(), EPOCH + 1200000);
    stortimer_thread_bind_clock(b);
    CHECK_EQ(system_time_now(), 1000000000);
    stortimer_thread_bind_clock(NULL);
}

TEST(s13_1_system_time_in_a_callback_reads_the_adapters_clock)
{
    fixture *fx = virtual_fixture();
    stortimer_clock *other = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_system_time(other, 777), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    stamp s = {.fx = fx, .ext = ext};
    arm(ext, new_timer(ext), stamp_callback, &s, 34567, 0);
    stortimer_thread_bind_clock(other);   /* the advancing thread's own binding */
    stortimer_clock_advance(fx->clock, 40000);
    CHECK_EQ(atomic_load(&s.fired), 1);
    CHECK_EQ(s.r.system_time, EPOCH + 300000);
    CHECK_EQ(system_time_now(), 777);     /* back to its own binding after */
    stortimer_thread_bind_clock(NULL);
    fx_remove(ext);
}

static VOID stamp_dpc(PSTOR_DPC dpc, PVOID ext, PVOID arg1, PVOID arg2)
{
    (void)dpc;
    (void)ext;
    (void)arg2;
    stamp *s = arg1;
    s->sys_in_dpc = system_time_now();
    atomic_fetch_add(&s->fired, 1);
}

TEST(s13_1_system_time_in_a_dpc_routine_reads_the_adapters_clock)
{
    fixture *fx = virtual_fixture();
    stortimer_clock *other = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_system_time(other, 777), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock_advance(fx->clock, 55555);
    STOR_DPC dpc;
    stamp s = {.fx = fx};
    StorPortInitializeDpc(ext, &dpc, stamp_dpc);
    CHECK(StorPortIssueDpc(ext, &dpc, &s, NULL));
    stortimer_thread_bind_clock(other);
    stortimer_clock_advance(fx->clock, 0);
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(atomic_load(&s.fired), 1);
    CHECK_EQ(s.sys_in_dpc, EPOCH + 500000);
    fx_remove(ext);
}

TEST(s13_1_adapter_queries_read_the_adapters_clock_not_the_threads)
{
    stortimer_clock *mine = test_virtual_clock(), *other = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_tick(mine, 1000), STOR_STATUS_SUCCESS);
    fixture fx = {"virtual", mine};
    PVOID ext = fx_adapter(&fx, 0);
    stortimer_clock_advance(mine, 3500);
    stortimer_clock_advance(other, 700000);
    stortimer_thread_bind_clock(other);
    stortimer_time_views r;
    read_all(ext, mine, &r);
    stortimer_thread_bind_clock(NULL);
    CHECK_EQ(r.performance_counter, 35000);
    CHECK_EQ(r.tick_count, 3);
    CHECK_EQ(r.timer_min_interval, 10000);
    CHECK_EQ(r.system_time, EPOCH + 7000000);  /* the system time is the thread's */
    fx_remove(ext);
}

TEST_REAL(s13_1_real_adapter_counter_is_real_on_a_thread_bound_to_a_virtual_clock)
{
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock *v = test_virtual_clock();
    stortimer_thread_bind_clock(v);
    LONGLONG before = views_of(NULL).performance_counter;
    LONGLONG got = counter_of(ext);
    LONGLONG after = views_of(NULL).performance_counter;
    stortimer_thread_bind_clock(NULL);
    CHECK(got >= before && got <= after);
    fx_remove(ext);
}

TEST_REAL(s13_1_real_clock_callback_reads_the_real_clock)
{
    PVOID ext = fx_adapter(fx, 0);
    stamp s = {.fx = fx, .ext = ext};
    stortimer_time_views before = views_of(NULL);
    arm(ext, new_timer(ext), stamp_callback, &s, 2000, 0);
    CHECK(fx_await(fx, &s.fired, 1));
    stortimer_time_views after = views_of(NULL);
    CHECK(s.r.system_time >= before.system_time && s.r.system_time <= after.system_time);
    CHECK(s.r.performance_counter >= before.performance_counter + 20000);
    CHECK(s.r.performance_counter <= after.performance_counter);
    fx_remove(ext);
}
