/*
 * SPEC S17.4-S17.5: the host's clock settings and readings
 * (stortimer_clock_set_tick, stortimer_clock_set_system_time,
 * stortimer_clock_read_times) and what an advance by 0 runs.
 */
#include "harness.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EPOCH STORTIMER_VIRTUAL_EPOCH_100NS

/* Runs fn in a forked child (a fresh process as far as the real clock's
 * scale goes); returns its exit status. */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* ---- S17.4: stortimer_clock_set_tick ---- */

TEST(s17_4_set_tick_rejects_ticks_out_of_range)
{
    stortimer_clock *clock = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_tick(clock, 0), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 429496730u), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 0xFFFFFFFFu), STOR_STATUS_INVALID_PARAMETER);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.tick_us, 10000);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 1), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 429496729u), STOR_STATUS_SUCCESS);
}

TEST(s17_4_set_tick_rejects_a_clock_that_is_not_live)
{
    char forged[256] = {0};
    stortimer_clock *dead = stortimer_clock_virtual_create();
    CHECK(dead != NULL);
    stortimer_clock_destroy(dead);
    CHECK_STATUS(stortimer_clock_set_tick((stortimer_clock *)forged, 1000),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_tick(dead, 1000), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s17_4_set_tick_before_the_first_advance_takes_effect)
{
    stortimer_clock *clock = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_tick(clock, 3), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 250), STOR_STATUS_SUCCESS);  /* the last wins */
    stortimer_clock_advance(clock, 1001);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.tick_us, 250);
    CHECK_EQ(v.tick_count, 4);
    CHECK_EQ(v.system_time, EPOCH + 10000);
    CHECK_EQ(v.timer_min_interval, 2500);
}

/* Sets the tick after `move` has run on a fresh clock. */
static ULONG set_tick_after(void (*move)(stortimer_clock *clock))
{
    stortimer_clock *clock = test_virtual_clock();
    move(clock);
    return stortimer_clock_set_tick(clock, 1000);
}

static void advance_by_zero(stortimer_clock *c) { stortimer_clock_advance(c, 0); }
static void advance_some(stortimer_clock *c) { stortimer_clock_advance(c, 5); }
static void run_idle(stortimer_clock *c) { stortimer_clock_run_until_idle(c, 100); }
static void stall_bound(stortimer_clock *c)
{
    stortimer_thread_bind_clock(c);
    StorPortStallExecution(1);
    stortimer_thread_bind_clock(NULL);
}
static void stall_zero(stortimer_clock *c)
{
    stortimer_thread_bind_clock(c);
    StorPortStallExecution(0);
    stortimer_thread_bind_clock(NULL);
}
static void read_only(stortimer_clock *c)
{
    stortimer_time_views v;
    stortimer_thread_bind_clock(c);
    stortimer_clock_read_times(c, &v);
    LARGE_INTEGER li;
    StorPortQuerySystemTime(&li);
    stortimer_clock_now(c);
    stortimer_thread_bind_clock(NULL);
}
static BOOLEAN stall_routine(PVOID ext, PVOID context)
{
    (void)ext, (void)context;
    StorPortStallExecution(10);
    return TRUE;
}
static void stall_in_synchronized_routine(stortimer_clock *c)
{
    fixture fx = {"virtual", c};
    PVOID ext = fx_adapter(&fx, 0);
    CHECK_EQ(StorPortSynchronizeAccess(ext, stall_routine, NULL), TRUE);
    CHECK_EQ(stortimer_clock_now(c), 10);
    fx_remove(ext);
}

TEST(s17_4_set_tick_after_an_advance_by_zero_is_too_late)
{
    CHECK_STATUS(set_tick_after(advance_by_zero), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_tick_after_an_advance_is_too_late)
{
    CHECK_STATUS(set_tick_after(advance_some), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_tick_after_run_until_idle_is_too_late)
{
    CHECK_STATUS(set_tick_after(run_idle), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_tick_after_a_stall_that_moves_the_clock_is_too_late)
{
    CHECK_STATUS(set_tick_after(stall_bound), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_tick_after_a_stall_in_a_synchronized_routine_is_too_late)
{
    CHECK_STATUS(set_tick_after(stall_in_synchronized_routine), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_tick_after_a_stall_by_zero_is_not_too_late)
{
    CHECK_STATUS(set_tick_after(stall_zero), STOR_STATUS_SUCCESS);
}

TEST(s17_4_set_tick_after_readings_is_not_too_late)
{
    CHECK_STATUS(set_tick_after(read_only), STOR_STATUS_SUCCESS);
}

TEST(s17_4_set_tick_range_is_checked_before_too_late)
{
    stortimer_clock *clock = test_virtual_clock();
    stortimer_clock_advance(clock, 0);
    CHECK_STATUS(stortimer_clock_set_tick(clock, 0), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_tick(NULL, 0), STOR_STATUS_INVALID_PARAMETER);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(NULL, &v), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_set_tick(NULL, 429496730u), STOR_STATUS_INVALID_PARAMETER);
}

/* The real clock's tick: process-wide, until its first reading. */
static int real_tick_before_any_reading(void)
{
    if (stortimer_clock_set_tick(NULL, 2500) != STOR_STATUS_SUCCESS)
        return 1;
    if (stortimer_clock_set_tick(NULL, 1000) != STOR_STATUS_SUCCESS)
        return 2;
    stortimer_time_views v;
    if (stortimer_clock_read_times(NULL, &v) != STOR_STATUS_SUCCESS || v.tick_us != 1000 ||
        v.timer_min_interval != 10000 || v.tick_count != (LONGLONG)(v.now_us / 1000))
        return 3;
    if (stortimer_clock_set_tick(NULL, 500) != STOR_STATUS_INVALID_DEVICE_STATE)
        return 4;
    PVOID ext = NULL;
    ULONG min = 0;
    if (stortimer_adapter_create(NULL, &ext) != STOR_STATUS_SUCCESS ||
        StorPortQueryTimerMinInterval(ext, &min) != STOR_STATUS_SUCCESS || min != 10000)
        return 5;
    return 0;
}

TEST(s17_4_real_tick_set_before_the_first_reading_takes_effect)
{
    CHECK_EQ(in_child(real_tick_before_any_reading), 0);
}

static int too_late_code(void)
{
    ULONG status = stortimer_clock_set_tick(NULL, 1000);
    return status == STOR_STATUS_INVALID_DEVICE_STATE ? 0 : status == STOR_STATUS_SUCCESS ? 1 : 2;
}
static int after_read_times(void)
{
    stortimer_time_views v;
    stortimer_clock_read_times(NULL, &v);
    return too_late_code();
}
static int after_system_time(void)
{
    LARGE_INTEGER li;
    StorPortQuerySystemTime(&li);
    return too_late_code();
}
static int after_real_adapter_creation(void)
{
    PVOID ext = NULL;
    if (stortimer_adapter_create(NULL, &ext) != STOR_STATUS_SUCCESS)
        return 3;
    return too_late_code();
}
static void nothing(PVOID ext, PVOID context) { (void)ext, (void)context; }
static int after_real_arm(void)
{
    PVOID ext = NULL, timer = NULL;
    if (stortimer_adapter_create(NULL, &ext) != STOR_STATUS_SUCCESS ||
        StorPortInitializeTimer(ext, &timer) != STOR_STATUS_SUCCESS ||
        StorPortRequestTimer(ext, timer, nothing, NULL, 1000000, 0) != STOR_STATUS_SUCCESS)
        return 3;
    return too_late_code();
}

TEST(s17_4_real_tick_after_read_times_is_too_late)
{
    CHECK_EQ(in_child(after_read_times), 0);
}

TEST(s17_4_real_tick_after_a_system_time_query_is_too_late)
{
    CHECK_EQ(in_child(after_system_time), 0);
}

TEST(s17_4_real_tick_after_a_real_adapter_is_created_is_too_late)
{
    CHECK_EQ(in_child(after_real_adapter_creation), 0);
}

TEST(s17_4_real_tick_after_an_arm_on_a_real_adapter_is_too_late)
{
    CHECK_EQ(in_child(after_real_arm), 0);
}

/* ---- S17.4: stortimer_clock_set_system_time ---- */

TEST(s17_4_set_system_time_before_the_first_advance_takes_effect)
{
    stortimer_clock *a = test_virtual_clock(), *b = test_virtual_clock();
    CHECK_STATUS(stortimer_clock_set_system_time(a, 0), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_set_system_time(b, 132000000000000000LL), STOR_STATUS_SUCCESS);
    stortimer_clock_advance(a, 25000);
    stortimer_clock_advance(b, 25000);
    stortimer_time_views va, vb;
    CHECK_STATUS(stortimer_clock_read_times(a, &va), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_read_times(b, &vb), STOR_STATUS_SUCCESS);
    CHECK_EQ(va.system_time, 200000);
    CHECK_EQ(vb.system_time, 132000000000200000LL);
}

TEST(s17_4_set_system_time_rejects_null_real_negative_and_dead_clocks)
{
    stortimer_clock *clock = test_virtual_clock();
    stortimer_clock *dead = stortimer_clock_virtual_create();
    stortimer_clock_destroy(dead);
    char forged[256] = {0};
    CHECK_STATUS(stortimer_clock_set_system_time(NULL, 0), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_system_time(clock, -1), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_system_time(dead, 0), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_set_system_time((stortimer_clock *)forged, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.system_time, EPOCH);
}

static ULONG set_base_after(void (*move)(stortimer_clock *clock))
{
    stortimer_clock *clock = test_virtual_clock();
    move(clock);
    ULONG status = stortimer_clock_set_system_time(clock, 1000);
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(clock, &v), STOR_STATUS_SUCCESS);
    CHECK_EQ(v.system_time - 10LL * v.tick_us * v.tick_count,
             status == STOR_STATUS_SUCCESS ? 1000 : EPOCH);
    return status;
}

TEST(s17_4_set_system_time_after_an_advance_by_zero_is_too_late)
{
    CHECK_STATUS(set_base_after(advance_by_zero), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_system_time_after_a_moving_stall_is_too_late)
{
    CHECK_STATUS(set_base_after(stall_bound), STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s17_4_set_system_time_after_readings_is_not_too_late)
{
    CHECK_STATUS(set_base_after(read_only), STOR_STATUS_SUCCESS);
}

/* ---- S17.4: stortimer_clock_read_times ---- */

TEST(s17_4_read_times_rejects_null_views_and_dead_clocks_writing_nothing)
{
    /* Made first, so that the dead clock's memory cannot become it. */
    stortimer_clock *live = test_virtual_clock();
    stortimer_clock *dead = stortimer_clock_virtual_create();
    stortimer_clock_destroy(dead);
    char forged[256] = {0};
    stortimer_time_views v, untouched;
    memset(&v, 0x5A, sizeof v);
    memcpy(&untouched, &v, sizeof v);
    CHECK_STATUS(stortimer_clock_read_times(live, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_read_times(NULL, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_read_times(dead, &v), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_clock_read_times((stortimer_clock *)forged, &v),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK(memcmp(&v, &untouched, sizeof v) == 0);
}

/* ---- S17.5: an advance by 0 ---- */

static _Atomic int dpc_runs;
static ULONGLONG dpc_at;
static VOID note_dpc(PSTOR_DPC dpc, PVOID ext, PVOID a1, PVOID a2)
{
    (void)dpc, (void)ext, (void)a2;
    dpc_at = stortimer_clock_now(a1);
    atomic_fetch_add(&dpc_runs, 1);
}

TEST(s17_5_advance_by_zero_runs_a_dpc_issued_outside_an_advance)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock_advance(fx->clock, 777);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, note_dpc);
    CHECK(StorPortIssueDpc(ext, &dpc, fx->clock, NULL));
    CHECK_EQ(atomic_load(&dpc_runs), 0);
    stortimer_clock_advance(fx->clock, 0);
    CHECK_EQ(atomic_load(&dpc_runs), 1);
    CHECK_EQ(dpc_at, 777);
    CHECK_EQ(stortimer_clock_now(fx->clock), 777);
    fx_remove(ext);
}

TEST(s17_5_advance_by_zero_ends_a_pause_due_now)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    stortimer_clock_advance(fx->clock, 50);
    CHECK(StorPortPause(ext, 0));
    stortimer_pause_state st;
    CHECK_STATUS(stortimer_adapter_pause_state(ext, &st), STOR_STATUS_SUCCESS);
    CHECK_EQ(st.paused, 1);
    CHECK_EQ(st.until_us, 50);
    stortimer_clock_advance(fx->clock, 0);
    CHECK_STATUS(stortimer_adapter_pause_state(ext, &st), STOR_STATUS_SUCCESS);
    CHECK_EQ(st.paused, 0);
    CHECK_EQ(st.last_end, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(stats_of(ext).pause_expiries, 1);
    fx_remove(ext);
}
