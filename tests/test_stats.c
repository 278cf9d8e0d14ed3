/*
 * Statistics of the host API, per adapter and for the process: counts of
 * what the routines did (SPEC S4-S7), misuse by status (S3-S7), timers
 * pending now, the lateness histogram, wake-ups against callbacks, and
 * stortimer_stats_print.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(s10_stats_count_pending_timers)
{
    PVOID ext = virtual_adapter(0);
    probe p, q;
    probe_init(&p, virtual_fixture(), ext);
    probe_init(&q, virtual_fixture(), ext);
    PVOID a = new_timer(ext), b = new_timer(ext);
    arm(ext, a, probe_callback, &p, 1000, 0);
    arm(ext, b, probe_callback, &q, 5000, 0);
    CHECK_EQ(stats_of(ext).timers_pending, 2);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(stats_of(ext).timers_pending, 1);
    CHECK_STATUS(StorPortRequestTimer(ext, b, probe_callback, &q, 0, 0), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats_of(ext).timers_pending, 0);
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)NULL, (ULONG)0);
    CHECK_EQ(stats_of(ext).timers_pending, 0);
}

TEST(s10_stats_count_rejections_by_status)
{
    PVOID ext = virtual_adapter(1);
    PVOID handle = new_timer(ext), second;
    int forged;
    CHECK_STATUS(StorPortInitializeTimer(ext, &second), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortFreeTimer(ext, &forged), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, handle), STOR_STATUS_UNSUCCESSFUL);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.rejected, 3);
    CHECK_EQ(s.rejected_unsuccessful, 2);
    CHECK_EQ(s.rejected_invalid_parameter, 1);
    CHECK_EQ(s.rejected_invalid_irql, 0);
    CHECK_EQ(s.rejected_insufficient_resources, 0);
}

TEST(s4_2_stats_count_rejections_of_no_adapter_in_the_process_totals)
{
    stortimer_stats before = stats_of(NULL);
    int not_an_adapter;
    PVOID handle;
    CHECK_STATUS(StorPortInitializeTimer(&not_an_adapter, &handle),
                 STOR_STATUS_INVALID_PARAMETER);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG status = StorPortInitializeTimer(&not_an_adapter, &handle);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
    stortimer_stats after = stats_of(NULL);
    CHECK_EQ(after.rejected - before.rejected, 2);
    CHECK_EQ(after.rejected_invalid_parameter - before.rejected_invalid_parameter, 1);
    CHECK_EQ(after.rejected_invalid_irql - before.rejected_invalid_irql, 1);
}

TEST(s5_7_stats_count_a_full_hand_over_queue_as_insufficient_resources)
{
    PVOID ext = virtual_adapter(0);
    enum { TIMERS = 300 }; /* more than the hand-over queue holds */
    static PVOID handles[TIMERS];
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    for (int i = 0; i < TIMERS; i++)
        handles[i] = new_timer(ext);
    int refused = 0;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    for (int i = 0; i < TIMERS; i++)
        refused += StorPortRequestTimer(ext, handles[i], probe_callback, &p, 1000, 0) ==
                   STOR_STATUS_INSUFFICIENT_RESOURCES;
    stortimer_irql_lower(old);
    CHECK(refused > 0);
    CHECK_EQ(stats_of(ext).rejected_insufficient_resources, refused);
}

TEST(s11_4_stats_histogram_counts_on_time_callbacks_in_bucket_zero)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    for (int i = 0; i < 3; i++) {
        arm(ext, new_timer(ext), probe_callback, &p, 1000 + (ULONGLONG)i, 0);
    }
    stortimer_clock_advance(virtual_fixture()->clock, 5000);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.lateness_histogram[0], 3);
    ULONGLONG total = 0;
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        total += s.lateness_histogram[i];
    CHECK_EQ(total, s.fired);
}

TEST(s10_stats_histogram_puts_a_late_callback_in_its_power_of_two_bucket)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    stortimer_clock_advance(virtual_fixture()->clock, 1100); /* cannot run: held */
    StorPortReleaseSpinLock(ext, &lock);
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    CHECK_EQ(atomic_load(&p.fired), 1);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.lateness_max_us, 100);
    CHECK_EQ(s.lateness_histogram[7], 1); /* 64..127 us */
    CHECK_EQ(s.lateness_histogram[0], 0);
}

TEST(s5_4_2_stats_histogram_counts_the_part_of_the_window_used)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 10000, 4000); /* fires at 12288 */
    stortimer_clock_advance(virtual_fixture()->clock, 20000);
    CHECK_EQ(p.at[0], 12288);
    CHECK_EQ(stats_of(ext).lateness_histogram[12], 1); /* 2288: 2048..4095 us */
}

TEST(s3_4_stats_of_removed_adapters_stay_in_the_process_totals)
{
    stortimer_stats before = stats_of(NULL);
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    stortimer_stats during = stats_of(NULL);
    CHECK_EQ(during.adapters_created - before.adapters_created, 1);
    CHECK_EQ(during.adapters_live - before.adapters_live, 1);
    fx_remove(ext);
    stortimer_stats after = stats_of(NULL);
    CHECK_EQ(after.adapters_created - before.adapters_created, 1);
    CHECK_EQ(after.adapters_live, before.adapters_live);
    CHECK_EQ(after.lateness_histogram[0] - before.lateness_histogram[0], 1);
    CHECK_EQ(after.fired - before.fired, 1);
}

TEST(s10_stats_of_one_adapter_have_no_adapter_counts)
{
    PVOID ext = virtual_adapter(0);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.adapters_created, 0);
    CHECK_EQ(s.adapters_live, 0);
}

/* Real only: a virtual clock has no dispatcher to wake. How many wake-ups
 * windows save is timing, measured by make bench and checked loosely by
 * test_dispatcher; here, that they are counted beside the callbacks. */
TEST_REAL(s10_stats_count_wakeups_beside_callbacks_on_the_real_clock)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    /* A dispatcher thread that first runs once they are due (valgrind)
     * fires them without having slept: no wake-up. */
    uint64_t start = fx_now(fx);
    for (int i = 0; i < 8; i++)
        arm(ext, new_timer(ext), probe_callback, &p, 50000, 10000);
    CHECK(fx_await(fx, &p.fired, 8));
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.fired, 8);
    CHECK(s.wakeups >= 1 || p.at[0] - start > 100000); /* at least the one that fired them */
    CHECK_EQ(stats_of(virtual_adapter(0)).wakeups, 0);
}

/* Real only: a virtual clock has no dispatcher to wake. A wake-up that
 * finds nothing due is counted in idle_wakeups as well as in wakeups: here
 * the one that learns of the arm, and the one at the planned time of the
 * timer cancelled meanwhile (a sleep is not moved later). */
TEST_REAL(s10_stats_count_wakeups_that_found_nothing_due)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    PVOID timer = new_timer(ext);
    arm(ext, timer, probe_callback, &p, 1000, 0);
    CHECK(fx_await(fx, &p.fired, 1)); /* its dispatcher runs, and goes to sleep */
    sleep_us(10000);
    stortimer_stats r = stats_of(ext);
    arm(ext, timer, probe_callback, &p, 200000, 0);
    sleep_us(10000);
    arm(ext, timer, probe_callback, &p, 0, 0); /* cancelled while it sleeps */
    sleep_us(300000);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.fired, 1);
    CHECK(s.idle_wakeups - r.idle_wakeups >= 1);
    CHECK_EQ(s.wakeups - r.wakeups, s.idle_wakeups - r.idle_wakeups); /* none ran anything */
    arm(ext, timer, probe_callback, &p, 10000, 0);
    CHECK(fx_await(fx, &p.fired, 2));
    sleep_us(10000);
    stortimer_stats t = stats_of(ext);
    CHECK_EQ(t.wakeups - t.idle_wakeups, s.wakeups - s.idle_wakeups + 1); /* the one that fired */
    CHECK_EQ(stats_of(virtual_adapter(0)).idle_wakeups, 0);
}

/* ---- printing ---- */

/* What stats_print wrote, as one string (freed at the end of the test). */
static char *printed(PVOID ext, ULONG *status)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    CHECK(out != NULL);
    *status = stortimer_stats_print(ext, out);
    fclose(out);
    test_at_end(free, text);
    return text;
}

TEST(s10_stats_print_writes_an_adapters_counters_and_histogram)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    PVOID handle = new_timer(ext);
    arm(ext, handle, probe_callback, &p, 1000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 1000, 0),
                 STOR_STATUS_BUSY);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    ULONG status;
    char *text = printed(ext, &status);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    char adapter_line[64];
    snprintf(adapter_line, sizeof adapter_line, "stortimer: adapter %p\n", ext);
    CHECK(strncmp(text, adapter_line, strlen(adapter_line)) == 0);
    CHECK(strstr(text, "1 live (1 initialized, 0 freed, 0 freed by removal)"));
    CHECK(strstr(text, "1 armed (0 legacy, 0 above DISPATCH_LEVEL), 0 pending, 1 fired"));
    CHECK(strstr(text, "1 busy"));
    CHECK(strstr(text, "0 rejected"));
    CHECK(strstr(text, "0 us (on time)"));
    CHECK(strstr(text, "mean 0 us, max 0 us"));
}

TEST(s10_stats_print_of_the_process_lists_every_live_adapter)
{
    PVOID first = virtual_adapter(0), second = virtual_adapter(0);
    ULONG status;
    char *text = printed(NULL, &status);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK(strstr(text, "stortimer: all adapters (2 live, 2 created)"));
    char line[64];
    snprintf(line, sizeof line, "stortimer: adapter %p\n", first);
    CHECK(strstr(text, line));
    snprintf(line, sizeof line, "stortimer: adapter %p\n", second);
    CHECK(strstr(text, line));
}

TEST(s10_stats_print_of_an_unknown_adapter_is_invalid_parameter)
{
    int not_an_adapter;
    ULONG status;
    char *text = printed(&not_an_adapter, &status);
    CHECK_STATUS(status, STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(strlen(text), 0);
}

TEST(s10_stats_print_to_a_failing_stream_is_unsuccessful)
{
    virtual_adapter(0);
    FILE *full = fopen("/dev/full", "w");
    CHECK(full != NULL);
    CHECK_STATUS(stortimer_stats_print(NULL, full), STOR_STATUS_UNSUCCESSFUL);
    fclose(full);
}
