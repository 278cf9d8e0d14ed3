/*
 * SPEC S16.6-S16.8: StorPortPauseDevice and StorPortResumeDevice for units,
 * and the independence of adapter and unit pauses.
 */
#include "pause_fixture.h"

/* ---- S16.6, S16.7 units ---- */

TEST(s16_6_every_unit_address_is_accepted)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPauseDevice(ext, 255, 255, 255, 1));
    CHECK(StorPortPauseDevice(ext, 0, 0, 0, 1));
    CHECK(unit_state(ext, 255, 255, 255).paused);
    CHECK(unit_state(ext, 0, 0, 0).paused);
    CHECK(!unit_state(ext, 255, 255, 254).paused);
    CHECK_EQ(stats_of(ext).unit_pauses, 2);
}

TEST(s16_6_unit_deadline_only_moves_later)
{
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 10);
    CHECK(StorPortPauseDevice(ext, 0, 2, 0, 4));
    CHECK(StorPortPauseDevice(ext, 0, 2, 0, 3));
    CHECK_EQ(unit_state(ext, 0, 2, 0).until_us, 10 + 4 * SECOND);
    CHECK(StorPortPauseDevice(ext, 0, 2, 0, 6));
    CHECK_EQ(unit_state(ext, 0, 2, 0).until_us, 10 + 6 * SECOND);
}

TEST(s16_7_resume_device_of_a_unit_never_paused_is_true_and_counted)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortResumeDevice(ext, 3, 3, 3));
    stortimer_pause_state u = unit_state(ext, 3, 3, 3);
    CHECK(!u.paused);
    CHECK_EQ(u.last_end, STORTIMER_PAUSE_END_NONE);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.unit_resumes_unpaused, 1);
    CHECK_EQ(s.unit_resumes, 0);
}

TEST(s16_7_resume_device_ends_the_unit_pause)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPauseDevice(ext, 0, 1, 0, 30));
    CHECK(StorPortResumeDevice(ext, 0, 1, 0));
    stortimer_pause_state u = unit_state(ext, 0, 1, 0);
    CHECK(!u.paused && !u.held);
    CHECK_EQ(u.last_end, STORTIMER_PAUSE_END_RESUMED);
    CHECK_EQ(stats_of(ext).unit_resumes, 1);
    CHECK(StorPortResumeDevice(ext, 0, 1, 0)); /* no longer paused */
    CHECK_EQ(stats_of(ext).unit_resumes_unpaused, 1);
}

/* ---- S16.8 independence ---- */

TEST(s16_8_resume_leaves_unit_pauses_alone)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    CHECK(StorPortPauseDevice(ext, 0, 0, 1, 10));
    CHECK(StorPortResume(ext));
    stortimer_pause_state u = unit_state(ext, 0, 0, 1);
    CHECK(u.paused && u.held);
    CHECK(!unit_state(ext, 0, 0, 2).held);
}

TEST(s16_8_resume_device_leaves_the_adapter_pause_alone)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    CHECK(StorPortPauseDevice(ext, 0, 0, 1, 10));
    CHECK(StorPortResumeDevice(ext, 0, 0, 1));
    stortimer_pause_state u = unit_state(ext, 0, 0, 1);
    CHECK(!u.paused);
    CHECK(u.held); /* its adapter is still paused */
    CHECK(adapter_state(ext).paused);
}
