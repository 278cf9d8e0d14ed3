/*
 * SPEC S16.10, S16.11 and S17.6: removal ends every pause, statistics and
 * the event log account for pauses, and the host's pause-state queries.
 */
#include "pause_fixture.h"

#include <string.h>

/* ---- S16.10 removal ---- */

TEST(s16_10_removal_ends_the_adapter_and_unit_pauses)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 60));
    CHECK(StorPortPauseDevice(ext, 0, 1, 0, 60));
    CHECK(StorPortPauseDevice(ext, 0, 2, 0, 60));
    fx_remove(ext);
    size_t n = read_log();
    int adapter_ends = 0, unit_ends = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type != STORTIMER_EVENT_PAUSE_ENDED)
            continue;
        CHECK_EQ(ev[i].status, STORTIMER_PAUSE_END_REMOVAL);
        CHECK(ev[i].extension == ext);
        if (ev[i].unit) {
            CHECK(ev[i].path_id == 0 && ev[i].lun == 0);
            CHECK(ev[i].target_id == 1 || ev[i].target_id == 2);
            unit_ends++;
        } else {
            adapter_ends++;
        }
    }
    CHECK_EQ(adapter_ends, 1);
    CHECK_EQ(unit_ends, 2);
    stortimer_pause_state s;
    CHECK_STATUS(stortimer_adapter_pause_state(ext, &s), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_unit_pause_state(ext, 0, 1, 0, &s), STOR_STATUS_INVALID_PARAMETER);
}

/* ---- S16.11 accounting ---- */

TEST(s16_11_statistics_count_adapter_pauses_resumes_and_expiries)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPause(ext, 1));
    CHECK(StorPortResume(ext));
    CHECK(StorPortResume(ext));
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(vclock(), 2 * SECOND);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.pauses, 2);
    CHECK_EQ(s.resumes, 1);
    CHECK_EQ(s.resumes_unpaused, 1);
    CHECK_EQ(s.pause_expiries, 1);
    CHECK_EQ(s.unit_pauses + s.unit_resumes + s.unit_resumes_unpaused + s.unit_pause_expiries,
             0);
}

/* On a fresh adapter: two unit pauses, a resume of one of them and of a unit
 * that is not paused, and the other pause's expiry; returns the statistics. */
static stortimer_stats stats_after_unit_pauses_resumes_and_expiry(void)
{
    PVOID ext = virtual_adapter(0);
    CHECK(StorPortPauseDevice(ext, 0, 0, 0, 1));
    CHECK(StorPortPauseDevice(ext, 0, 0, 1, 5));
    CHECK(StorPortResumeDevice(ext, 0, 0, 1));
    CHECK(StorPortResumeDevice(ext, 0, 0, 2));
    stortimer_clock_advance(vclock(), 2 * SECOND);
    return stats_of(ext);
}

TEST(s16_11_statistics_count_unit_pauses_resumes_and_expiries)
{
    stortimer_stats s = stats_after_unit_pauses_resumes_and_expiry();
    CHECK_EQ(s.unit_pauses, 2);
    CHECK_EQ(s.unit_resumes, 1);
    CHECK_EQ(s.unit_resumes_unpaused, 1);
    CHECK_EQ(s.unit_pause_expiries, 1);
}

TEST(s16_11_unit_calls_are_not_counted_as_adapter_pauses)
{
    /* stortimer.h: `pauses` counts StorPortPause, `resumes` StorPortResume,
     * ...; the unit_* counters are "the same for StorPortPauseDevice". */
    stortimer_stats s = stats_after_unit_pauses_resumes_and_expiry();
    CHECK_EQ(s.pauses, 0);
    CHECK_EQ(s.resumes, 0);
    CHECK_EQ(s.resumes_unpaused, 0);
    CHECK_EQ(s.pause_expiries, 0);
}

TEST(s16_11_log_records_pauses_with_deadlines_and_ends_with_reasons)
{
    CHECK_STATUS(stortimer_log_start(EV_MAX), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    stortimer_clock_advance(vclock(), 5);
    CHECK(StorPortPause(ext, 3));
    CHECK(StorPortPauseDevice(ext, 4, 5, 6, 1));
    CHECK(StorPortResume(ext));
    stortimer_clock_advance(vclock(), 2 * SECOND);
    size_t n = read_log();
    int p1 = find_event(n, 0, STORTIMER_EVENT_PAUSED);
    int p2 = find_event(n, (size_t)p1 + 1, STORTIMER_EVENT_PAUSED);
    int e1 = find_event(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    int e2 = find_event(n, (size_t)e1 + 1, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(p1 >= 0 && p2 > p1 && e1 > p2 && e2 > e1);
    CHECK(!ev[p1].unit);
    CHECK_EQ(ev[p1].due, 5 + 3 * SECOND);
    CHECK_EQ(ev[p1].time, 5);
    CHECK(ev[p2].unit);
    CHECK(ev[p2].path_id == 4 && ev[p2].target_id == 5 && ev[p2].lun == 6);
    CHECK_EQ(ev[p2].due, 5 + SECOND);
    CHECK(!ev[e1].unit);
    CHECK_EQ(ev[e1].status, STORTIMER_PAUSE_END_RESUMED);
    CHECK(ev[e2].unit);
    CHECK_EQ(ev[e2].status, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(ev[e2].time, 5 + SECOND);
}

/* ---- S17.6 the queries ---- */

TEST(s17_6_queries_refuse_null_state_and_unknown_adapters)
{
    PVOID ext = virtual_adapter(0);
    unsigned char garbage[64];
    memset(garbage, 0x99, sizeof garbage);
    stortimer_pause_state s;
    CHECK_STATUS(stortimer_adapter_pause_state(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_unit_pause_state(ext, 0, 0, 0, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_adapter_pause_state(NULL, &s), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_adapter_pause_state(garbage, &s), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_unit_pause_state(garbage, 0, 0, 0, &s), STOR_STATUS_INVALID_PARAMETER);
}

static struct {
    ULONG status;
    stortimer_pause_state seen;
    _Atomic int done;
} from_dpc;

static VOID query_in_dpc(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)A1, (void)A2;
    from_dpc.status = stortimer_unit_pause_state(E, 0, 0, 4, &from_dpc.seen);
    atomic_store(&from_dpc.done, 1);
}

TEST_BOTH(s17_6_queries_answer_inside_dpc_routines_and_callbacks)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortPause(ext, 60));
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, query_in_dpc);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    arm(ext, new_timer(ext), look_at_pause, NULL, 500, 0);
    fx_pass(fx, 500);
    CHECK(fx_await(fx, &from_dpc.done, 1));
    CHECK(fx_await(fx, &inside.done, 1));
    CHECK_STATUS(from_dpc.status, STOR_STATUS_SUCCESS);
    CHECK(!from_dpc.seen.paused && from_dpc.seen.held);
    CHECK_STATUS(inside.query, STOR_STATUS_SUCCESS);
    CHECK(inside.seen.paused && inside.seen.held);
}
