/*
 * SPEC S17.8: the statistics added with S14-S16 - DPC counters, lateness
 * and runaway stops, adapter and unit pause counters.
 */
#include "harness.h"

/* ---- S17.8: the new statistics ---- */

static VOID quiet_dpc(PSTOR_DPC dpc, PVOID ext, PVOID a1, PVOID a2)
{
    (void)dpc, (void)ext, (void)a1, (void)a2;
}

TEST(s17_8_dpc_counters)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0), other = fx_adapter(fx, 0);
    STOR_DPC dpc, stranger;
    StorPortInitializeDpc(ext, &dpc, quiet_dpc);
    reports_capture();
    StorPortInitializeDpc(other, &dpc, quiet_dpc);          /* another adapter's: refused */
    reports_release();
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(!StorPortIssueDpc(ext, &dpc, NULL, NULL));        /* queued already */
    reports_capture();
    CHECK(!StorPortIssueDpc(ext, &stranger, NULL, NULL));   /* never initialized */
    reports_release();
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpcs_initialized, 1);
    CHECK_EQ(s.dpcs_issued, 1);
    CHECK_EQ(s.dpcs_already_queued, 1);
    CHECK_EQ(s.dpc_issue_refused, 1);
    CHECK_EQ(s.dpcs_started, 0);
    CHECK_EQ(stats_of(other).dpc_init_refused, 1);
    stortimer_clock_advance(fx->clock, 0);
    s = stats_of(ext);
    CHECK_EQ(s.dpcs_started, 1);
    CHECK_EQ(s.dpcs_returned, 1);
    CHECK_EQ(s.dpc_lateness_max_us, 0);
    CHECK_EQ(s.dpc_lateness_histogram[0], 1);
    CHECK_EQ(s.timers_pending, 0);
    fx_remove(ext);
    fx_remove(other);
}

TEST(s17_8_dpcs_dropped_by_removal_are_counted_in_the_process)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC a, b;
    StorPortInitializeDpc(ext, &a, quiet_dpc);
    StorPortInitializeDpc(ext, &b, quiet_dpc);
    CHECK(StorPortIssueDpc(ext, &a, NULL, NULL));
    CHECK(StorPortIssueDpc(ext, &b, NULL, NULL));
    ULONGLONG before = stats_of(NULL).dpcs_dropped;
    fx_remove(ext);
    stortimer_stats s = stats_of(NULL);
    CHECK_EQ(s.dpcs_dropped, before + 2);
    CHECK_EQ(s.dpcs_started, 0);
}

static _Atomic int counted_runs;

static VOID counted_dpc(PSTOR_DPC dpc, PVOID ext, PVOID a1, PVOID a2)
{
    (void)dpc, (void)ext, (void)a1, (void)a2;
    atomic_fetch_add(&counted_runs, 1);
}

TEST_REAL(s17_8_real_dpc_lateness_is_counted_per_start)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    atomic_store(&counted_runs, 0);
    StorPortInitializeDpc(ext, &dpc, counted_dpc);
    for (int i = 1; i <= 5; i++) {
        CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
        CHECK(fx_await(fx, &counted_runs, i)); /* ran: the next issue queues it again */
    }
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpcs_started, 5);
    ULONGLONG sum = 0;
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        sum += s.dpc_lateness_histogram[i];
    CHECK_EQ(sum, 5);
    CHECK(s.dpc_lateness_max_us <= s.dpc_lateness_total_us);
}

TEST(s17_8_adapter_pause_counters)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortResume(ext));                   /* found no pause */
    CHECK(StorPortPause(ext, 1));
    CHECK(StorPortResume(ext));
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(fx->clock, 1000000);  /* expires */
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.pauses, 2);
    CHECK_EQ(s.resumes, 1);
    CHECK_EQ(s.resumes_unpaused, 1);
    CHECK_EQ(s.pause_expiries, 1);
    CHECK_EQ(s.unit_pauses + s.unit_resumes + s.unit_resumes_unpaused, 0);
    CHECK_EQ(s.unit_pause_expiries, 0);
    CHECK_EQ(s.timers_pending, 0);
    fx_remove(ext);
}

TEST(s17_8_unit_pauses_count_in_the_unit_counters_only)
{
    /* pauses/resumes/... count StorPortPause and StorPortResume; unit_* "the
     * same for StorPortPauseDevice ..." (stortimer.h, S16.11). */
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    CHECK(StorPortResumeDevice(ext, 0, 1, 0));    /* found no pause */
    CHECK(StorPortPauseDevice(ext, 0, 1, 0, 1));
    CHECK(StorPortResumeDevice(ext, 0, 1, 0));
    CHECK(StorPortPauseDevice(ext, 0, 2, 0, 1));
    stortimer_clock_advance(fx->clock, 1000000);  /* expires */
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.unit_pauses, 2);
    CHECK_EQ(s.unit_resumes, 1);
    CHECK_EQ(s.unit_resumes_unpaused, 1);
    CHECK_EQ(s.unit_pause_expiries, 1);
    CHECK_EQ(s.pauses, 0);
    CHECK_EQ(s.resumes, 0);
    CHECK_EQ(s.resumes_unpaused, 0);
    CHECK_EQ(s.pause_expiries, 0);
    fx_remove(ext);
}

static VOID reissue_forever(PSTOR_DPC dpc, PVOID ext, PVOID a1, PVOID a2)
{
    StorPortIssueDpc(ext, dpc, a1, a2);
}

TEST(s17_8_dpc_runaway_stops_are_counted)
{
    fixture *fx = virtual_fixture();
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, reissue_forever);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    reports_capture();
    stortimer_clock_advance(fx->clock, 0);
    reports_release();
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.dpc_runaway_stops, 1);
    CHECK_EQ(s.dpcs_started, 65536);
    fx_remove(ext);
}
