/*
 * SPEC S16.4-S16.5: a pause's expiry at its deadline - its order against
 * timers, never early on the real clock, not counted by next_fire and the
 * advance routines - and StorPortResume.
 */
#include "pause_fixture.h"

/* ---- S16.4 expiry ---- */

TEST(s16_4_pause_expires_during_the_advance_that_reaches_the_deadline)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(vclock(), SECOND - 1);
    CHECK(adapter_state(ext).paused);
    CHECK_EQ(stats_of(ext).pause_expiries, 0);
    stortimer_clock_advance(vclock(), 1);
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(stats_of(ext).pause_expiries, 1);
}

TEST(s16_4_clock_reads_the_deadline_when_the_pause_ends)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 300);
    CHECK(StorPortPause(ext, 2));
    stortimer_clock_advance(vclock(), 10 * SECOND);
    size_t n = read_log();
    int ended = find_event(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(ended >= 0);
    CHECK_EQ(ev[ended].time, 300 + 2 * SECOND);
    CHECK_EQ(ev[ended].status, STORTIMER_PAUSE_END_EXPIRED);
    CHECK(!ev[ended].unit);
}


TEST(s16_4_expiry_runs_after_a_timer_armed_before_the_pause_at_the_same_time)
{
    PVOID ext = virtual_adapter(0);
    arm(ext, new_timer(ext), look_at_pause, NULL, SECOND, 0);
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(vclock(), SECOND);
    CHECK_EQ(atomic_load(&inside.done), 1);
    CHECK_STATUS(inside.query, STOR_STATUS_SUCCESS);
    CHECK(inside.seen.paused); /* the expiry's sequence is later */
    CHECK(!adapter_state(ext).paused);
}

TEST(s16_4_expiry_runs_before_a_timer_armed_after_the_pause_at_the_same_time)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    arm(ext, new_timer(ext), look_at_pause, NULL, SECOND, 0);
    stortimer_clock_advance(vclock(), SECOND);
    CHECK_EQ(atomic_load(&inside.done), 1);
    CHECK(!inside.seen.paused);
    CHECK_EQ(inside.seen.last_end, STORTIMER_PAUSE_END_EXPIRED);
}

TEST_REAL(s16_4_real_clock_expiry_is_never_early)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 1));
    ULONGLONG deadline = adapter_state(ext).until_us;
    for (int i = 0; i < 8000; i++) {
        stortimer_pause_state s = adapter_state(ext);
        if (!s.paused) {
            CHECK(fx_now(fx) >= deadline);
            CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_EXPIRED);
            break;
        }
        sleep_us(1000);
    }
    CHECK(!adapter_state(ext).paused);
    size_t n = read_log();
    int ended = find_event(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(ended >= 0);
    CHECK(ev[ended].time >= deadline);
}

TEST(s16_4_pushing_the_deadline_drops_the_earlier_expiry)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    CHECK(StorPortPause(ext, 3));
    stortimer_clock_advance(vclock(), 2 * SECOND);
    CHECK(adapter_state(ext).paused);
    CHECK_EQ(stats_of(ext).pause_expiries, 0);
    stortimer_clock_advance(vclock(), SECOND);
    CHECK(!adapter_state(ext).paused);
    stortimer_clock_advance(vclock(), 10 * SECOND);
    CHECK_EQ(stats_of(ext).pause_expiries, 1);
}

TEST(s16_4_expiries_do_not_count_for_next_fire)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    CHECK(StorPortPauseDevice(ext, 0, 0, 0, 1));
    ULONGLONG next = 777;
    CHECK_EQ(stortimer_clock_next_fire(vclock(), &next), FALSE);
    CHECK_EQ(next, 777);
}

TEST(s16_4_expiries_do_not_count_for_advance_to_next)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    CHECK_EQ(stortimer_clock_advance_to_next(vclock()), FALSE);
    CHECK_EQ(stortimer_clock_now(vclock()), 0);
    CHECK(adapter_state(ext).paused);
}

TEST(s16_4_expiries_do_not_count_for_run_until_idle)
{
    /* Nothing runnable is pending: the clock stays at its reading at the
     * call, so it never passes the deadline and the pause stays. */
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    CHECK(StorPortPauseDevice(ext, 0, 0, 0, 1));
    CHECK_STATUS(stortimer_clock_run_until_idle(vclock(), 10 * SECOND), STOR_STATUS_SUCCESS);
    CHECK_EQ(stortimer_clock_now(vclock()), 0);
    CHECK(adapter_state(ext).paused);
    CHECK(unit_state(ext, 0, 0, 0).paused);
}

TEST(s16_4_pause_ends_when_the_clock_passes_its_deadline_for_a_timer)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    arm(ext, new_timer(ext), count_timer, NULL, 2 * SECOND, 0);
    CHECK(stortimer_clock_advance_to_next(vclock()));
    CHECK_EQ(stortimer_clock_now(vclock()), 2 * SECOND);
    CHECK(!adapter_state(ext).paused);
    size_t n = read_log();
    int ended = find_event(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    int fired = find_event(n, 0, STORTIMER_EVENT_FIRED);
    CHECK(ended >= 0 && fired > ended);
    CHECK_EQ(ev[ended].time, SECOND);
}

TEST(s16_4_unit_pause_expires_at_its_deadline)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPauseDevice(ext, 1, 1, 1, 2));
    stortimer_clock_advance(vclock(), 2 * SECOND - 1);
    CHECK(unit_state(ext, 1, 1, 1).paused);
    stortimer_clock_advance(vclock(), 1);
    stortimer_pause_state u = unit_state(ext, 1, 1, 1);
    CHECK(!u.paused && !u.held);
    CHECK_EQ(u.last_end, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(stats_of(ext).unit_pause_expiries, 1);
}

/* ---- S16.5 StorPortResume ---- */

TEST(s16_5_resume_drops_the_expiry)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(vclock(), 500);
    CHECK(StorPortResume(ext));
    stortimer_clock_advance(vclock(), 5 * SECOND);
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    CHECK_EQ(stats_of(ext).pause_expiries, 0);
}

TEST(s16_5_resume_without_a_pause_is_true_counted_and_logged)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortResume(ext));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_NONE);
    stortimer_stats st = stats_of(ext);
    CHECK_EQ(st.resumes_unpaused, 1);
    CHECK_EQ(st.resumes, 0);
    size_t n = read_log();
    int e = find_event(n, 0, STORTIMER_EVENT_RESUME_UNPAUSED);
    CHECK(e >= 0);
    CHECK(ev[e].extension == ext && !ev[e].unit);
    CHECK_EQ(find_event(n, 0, STORTIMER_EVENT_PAUSE_ENDED), -1);
}
