/*
 * SPEC S16.1-S16.3: StorPortPause holds back nothing the library runs
 * (S16.1); the adapter's and units' pause state (S16.2); StorPortPause's
 * checks and its deadline on the adapter's clock (S16.3).
 */
#include "pause_fixture.h"

#include <string.h>

/* ---- S16.1 nothing is held back ---- */

static VOID count_legacy(PVOID E) { (void)E; atomic_fetch_add(&ran, 1); }
static VOID count_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_fetch_add(&ran, 1);
}

TEST_BOTH(s16_1_timers_legacy_timer_and_dpcs_run_while_paused)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 60));
    CHECK(StorPortPauseDevice(ext, 0, 0, 0, 60));
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, count_dpc);
    arm(ext, new_timer(ext), count_timer, NULL, 1000, 0);
    StorPortNotification(RequestTimerCall, ext, count_legacy, (ULONG)1000);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &ran, 3));
    CHECK(adapter_state(ext).paused);
}

/* ---- S16.2 and S17.6 state and queries ---- */

TEST(s16_2_new_adapter_and_unit_are_not_paused)
{
    PVOID ext = virtual_adapter(0);
    stortimer_pause_state a = adapter_state(ext), u = unit_state(ext, 1, 2, 3);
    CHECK(!a.paused && !a.held);
    CHECK_EQ(a.last_end, STORTIMER_PAUSE_END_NONE);
    CHECK(!u.paused && !u.held);
    CHECK_EQ(u.last_end, STORTIMER_PAUSE_END_NONE);
}

TEST(s16_2_adapter_pause_holds_every_unit_without_pausing_it)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    stortimer_pause_state a = adapter_state(ext), u = unit_state(ext, 0, 5, 0);
    CHECK(a.paused && a.held);
    CHECK(!u.paused && u.held);
}

TEST(s16_2_unit_pause_holds_the_unit_not_the_adapter)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPauseDevice(ext, 0, 1, 2, 10));
    stortimer_pause_state a = adapter_state(ext), u = unit_state(ext, 0, 1, 2);
    CHECK(!a.paused && !a.held);
    CHECK(u.paused && u.held);
    CHECK_EQ(u.until_us, 10 * SECOND);
    stortimer_pause_state other = unit_state(ext, 0, 1, 3);
    CHECK(!other.paused && !other.held);
}

/* ---- S16.3 StorPortPause ---- */

TEST(s16_3_1_null_garbage_and_removed_extensions_answer_false)
{
    PVOID ext = virtual_adapter(0);
    unsigned char garbage[128];
    memset(garbage, 0x11, sizeof garbage);
    CHECK_EQ(StorPortPause(NULL, 1), FALSE);
    CHECK_EQ(StorPortPause(garbage, 1), FALSE);
    CHECK_EQ(StorPortResume(garbage), FALSE);
    CHECK_EQ(StorPortPauseDevice(garbage, 0, 0, 0, 1), FALSE);
    CHECK_EQ(StorPortResumeDevice(NULL, 0, 0, 0), FALSE);
    CHECK_EQ(StorPortPause((char *)ext + 16, 1), FALSE);
    fx_remove(ext);
    CHECK_EQ(StorPortPause(ext, 1), FALSE);
    CHECK_EQ(StorPortResume(ext), FALSE);
    CHECK_EQ(StorPortPauseDevice(ext, 0, 0, 0, 1), FALSE);
    CHECK_EQ(StorPortResumeDevice(ext, 0, 0, 0), FALSE);
}

TEST(s16_3_3_deadline_is_now_plus_timeout_seconds)
{
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 1234);
    CHECK(StorPortPause(ext, 5));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(s.paused && s.held);
    CHECK_EQ(s.until_us, 1234 + 5 * SECOND);
}

TEST_REAL(s16_3_3_deadline_on_the_real_clock_counts_from_the_call)
{
    PVOID ext = fx_adapter(fx, 0);
    ULONGLONG before = fx_now(fx);
    CHECK(StorPortPause(ext, 7));
    ULONGLONG after = fx_now(fx);
    stortimer_pause_state s = adapter_state(ext);
    CHECK(s.paused);
    CHECK(s.until_us >= before + 7 * SECOND);
    CHECK(s.until_us <= after + 7 * SECOND + 1);
}

TEST(s16_3_3_a_second_pause_pushes_the_deadline_later)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    stortimer_clock_advance(vclock(), 100);
    CHECK(StorPortPause(ext, 20));
    CHECK_EQ(adapter_state(ext).until_us, 100 + 20 * SECOND);
}

TEST(s16_3_3_a_second_pause_never_brings_the_deadline_earlier)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    stortimer_clock_advance(vclock(), 100);
    CHECK(StorPortPause(ext, 5));
    CHECK(StorPortPause(ext, 0));
    CHECK_EQ(adapter_state(ext).until_us, 10 * SECOND);
    stortimer_clock_advance(vclock(), 6 * SECOND);
    CHECK(adapter_state(ext).paused);
}

TEST(s16_3_3_one_resume_ends_however_many_pauses)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 10));
    CHECK(StorPortPause(ext, 20));
    CHECK(StorPortPause(ext, 30));
    CHECK(StorPortResume(ext));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(!s.paused && !s.held);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_RESUMED);
    stortimer_stats st = stats_of(ext);
    CHECK_EQ(st.resumes, 1);
    CHECK_EQ(st.resumes_unpaused, 0);
}

TEST(s16_3_3_stor_all_requests_is_about_136_years)
{
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 42);
    CHECK(StorPortPause(ext, 0xFFFFFFFFu));
    CHECK_EQ(adapter_state(ext).until_us, 42 + 4294967295ull * SECOND);
    stortimer_clock_advance(vclock(), 100ull * 365 * 24 * 3600 * SECOND); /* a century */
    CHECK(adapter_state(ext).paused);
}

TEST(s16_3_3_deadline_saturates_instead_of_wrapping)
{
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance_to(vclock(), UINT64_MAX - 10 * SECOND);
    CHECK(StorPortPause(ext, 0xFFFFFFFFu));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(s.paused);
    CHECK_EQ(s.until_us, UINT64_MAX);
    stortimer_clock_advance(vclock(), 0);
    CHECK(adapter_state(ext).paused);
}

TEST(s16_3_3_timeout_zero_is_paused_until_the_next_advance_by_zero)
{
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 500);
    CHECK(StorPortPause(ext, 0));
    stortimer_pause_state s = adapter_state(ext);
    CHECK(s.paused);
    CHECK_EQ(s.until_us, 500);
    stortimer_clock_advance(vclock(), 0);
    s = adapter_state(ext);
    CHECK(!s.paused);
    CHECK_EQ(s.last_end, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(stats_of(ext).pause_expiries, 1);
}

TEST_REAL(s16_3_3_timeout_zero_ends_at_the_dispatchers_next_pass)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 0));
    CHECK(await_paused(fx, ext, FALSE));
    CHECK_EQ(adapter_state(ext).last_end, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(stats_of(ext).pause_expiries, 1);
}
