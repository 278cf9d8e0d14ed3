/*
 * The event log of the host API: what it records for each routine (SPEC
 * S4-S7), in order, with the virtual clock's exact times (S11), and how it
 * behaves when off, full, restarted or read while recording.
 */
#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX 256
static stortimer_event events[EVENTS_MAX];

/* Reads the whole log (up to EVENTS_MAX) into `events`; returns the count. */
static size_t read_log(void)
{
    return stortimer_log_read(events, 0, EVENTS_MAX);
}

/* The index of the first event of `type` at or after `from`; -1 if none. */
static int find(size_t count, size_t from, stortimer_event_type type)
{
    for (size_t i = from; i < count; i++)
        if (events[i].type == type)
            return (int)i;
    return -1;
}

static void start_log(void)
{
    CHECK_STATUS(stortimer_log_start(EVENTS_MAX), STOR_STATUS_SUCCESS);
}

/* The common start: the log on, an adapter on the virtual clock, one of
 * its timers, and a probe for its callback. */
static void logged_timer(PVOID *ext, PVOID *handle, probe *p)
{
    start_log();
    *ext = virtual_adapter(0);
    *handle = new_timer(*ext);
    probe_init(p, virtual_fixture(), *ext);
}

TEST(s10_log_is_off_by_default)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_EQ(stortimer_log_count(), 0);
    CHECK_EQ(read_log(), 0);
    CHECK_EQ(stortimer_log_dropped(), 0);
}

TEST(s5_4_log_records_an_arm_and_its_callback_with_exact_times)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    stortimer_clock_advance(clock, 1000);
    arm(ext, handle, probe_callback, &p, 5000, 0);
    stortimer_clock_advance(clock, 10000);

    size_t n = read_log();
    CHECK_EQ(n, 5);
    stortimer_event_type expected[] = {
        STORTIMER_EVENT_ADAPTER_CREATED, STORTIMER_EVENT_INITIALIZED, STORTIMER_EVENT_ARMED,
        STORTIMER_EVENT_FIRED, STORTIMER_EVENT_RETURNED};
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(events[i].type, expected[i]);
        CHECK_EQ(events[i].sequence, i);
        CHECK(events[i].extension == ext);
        CHECK(events[i].adapter_id != 0);
        CHECK(events[i].clock_id != 0);
        CHECK(events[i].thread_id != 0);
    }
    const stortimer_event *armed = &events[2], *fired = &events[3];
    CHECK(armed->handle == handle && fired->handle == handle);
    CHECK_EQ(armed->time, 1000);
    CHECK_EQ(armed->due, 6000);
    CHECK_EQ(armed->fire_time, 6000);
    CHECK_EQ(armed->window, 0);
    CHECK(armed->callback == probe_callback && armed->context == &p);
    CHECK_EQ(armed->irql, PASSIVE_LEVEL);
    CHECK_EQ(fired->time, 6000);
    CHECK_EQ(fired->irql, DISPATCH_LEVEL); /* the callback's (S8.1) */
    CHECK(fired->callback == probe_callback && fired->context == &p);
    CHECK_EQ(events[4].time, 6000);
}

TEST(s5_4_2_log_records_the_window_and_the_fire_time_chosen_in_it)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 200000, 20000);
    stortimer_clock_advance(virtual_fixture()->clock, 300000);
    size_t n = read_log();
    int armed = find(n, 0, STORTIMER_EVENT_ARMED), fired = find(n, 0, STORTIMER_EVENT_FIRED);
    CHECK(armed >= 0 && fired > armed);
    CHECK_EQ(events[armed].window, 20000);
    CHECK_EQ(events[armed].due, 200000);
    CHECK(events[armed].fire_time >= 200000 && events[armed].fire_time <= 220000);
    CHECK_EQ(events[fired].time, events[armed].fire_time);
    CHECK_EQ(events[fired].due, 200000);
}

TEST(s12_3_log_records_a_window_below_32_us_as_none)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, new_timer(ext), probe_callback, &p, 1000, 31);
    int armed = find(read_log(), 0, STORTIMER_EVENT_ARMED);
    CHECK(armed >= 0);
    CHECK_EQ(events[armed].window, 0);
}

TEST(s5_3_log_records_busy)
{
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    arm(ext, handle, probe_callback, &p, 1000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 2000, 0),
                 STOR_STATUS_BUSY);
    size_t n = read_log();
    int busy = find(n, 0, STORTIMER_EVENT_BUSY);
    CHECK(busy >= 0);
    CHECK(events[busy].handle == handle);
    CHECK_EQ(find(n, 0, STORTIMER_EVENT_REJECTED), -1); /* BUSY is no error */
}

TEST(s5_5_log_records_a_cancel_with_the_times_it_cancelled)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    arm(ext, handle, probe_callback, &p, 5000, 0);
    stortimer_clock_advance(clock, 2000);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    size_t n = read_log();
    int cancelled = find(n, 0, STORTIMER_EVENT_CANCELLED);
    CHECK(cancelled >= 0);
    CHECK_EQ(events[cancelled].status, STORTIMER_CANCEL_BY_REQUEST);
    CHECK_EQ(events[cancelled].time, 2000);
    CHECK_EQ(events[cancelled].due, 5000);
    CHECK_EQ(events[cancelled].fire_time, 5000);
    CHECK(events[cancelled].handle == handle);
    /* The second cancel found nothing pending. */
    CHECK(find(n, (size_t)cancelled + 1, STORTIMER_EVENT_IDLE_CANCEL) > cancelled);
    CHECK_EQ(find(n, 0, STORTIMER_EVENT_FIRED), -1);
}

static VOID other_callback(PVOID ext, PVOID context)
{
    (void)ext;
    (void)context;
}

TEST(s12_1_log_of_a_cancel_names_the_arm_it_cancelled_not_the_cancels_callback)
{
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    arm(ext, handle, probe_callback, &p, 5000, 0);
    int other_context;
    CHECK_STATUS(StorPortRequestTimer(ext, handle, other_callback, &other_context, 0, 0),
                 STOR_STATUS_SUCCESS);
    int cancelled = find(read_log(), 0, STORTIMER_EVENT_CANCELLED);
    CHECK(cancelled >= 0);
    CHECK(events[cancelled].callback == probe_callback);
    CHECK(events[cancelled].context == &p);
}

TEST(s6_4_log_records_a_free_and_the_arm_it_cancelled)
{
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    arm(ext, handle, probe_callback, &p, 5000, 0);
    CHECK_STATUS(StorPortFreeTimer(ext, handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, handle), STOR_STATUS_UNSUCCESSFUL);
    size_t n = read_log();
    int cancelled = find(n, 0, STORTIMER_EVENT_CANCELLED);
    int freed = find(n, 0, STORTIMER_EVENT_FREED);
    int rejected = find(n, 0, STORTIMER_EVENT_REJECTED);
    CHECK(cancelled >= 0 && freed > cancelled && rejected > freed);
    CHECK_EQ(events[cancelled].status, STORTIMER_CANCEL_BY_FREE);
    CHECK(events[freed].handle == handle);
    CHECK_EQ(events[rejected].status, STOR_STATUS_UNSUCCESSFUL);
    CHECK(events[rejected].handle == handle);
    CHECK(events[rejected].adapter_id == events[freed].adapter_id);
}

static _Atomic int legacy_calls;
static VOID legacy_tick(PVOID ext)
{
    (void)ext;
    atomic_fetch_add(&legacy_calls, 1);
}

TEST(s7_1_log_records_legacy_arms_and_a_re_arm_replacing_one)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    StorPortNotification(RequestTimerCall, ext, legacy_tick, (ULONG)3000);
    StorPortNotification(RequestTimerCall, ext, legacy_tick, (ULONG)5000);
    stortimer_clock_advance(virtual_fixture()->clock, 10000);
    size_t n = read_log();
    int first = find(n, 0, STORTIMER_EVENT_ARMED);
    int replaced = find(n, 0, STORTIMER_EVENT_CANCELLED);
    int second = find(n, (size_t)first + 1, STORTIMER_EVENT_ARMED);
    int fired = find(n, 0, STORTIMER_EVENT_FIRED);
    CHECK(first >= 0 && replaced > first && second > replaced && fired > second);
    CHECK_EQ(events[replaced].status, STORTIMER_CANCEL_BY_REARM);
    for (int i = first; i <= fired; i++) {
        CHECK(events[i].legacy);
        CHECK(events[i].handle == NULL);
    }
    CHECK(events[second].legacy_callback == legacy_tick);
    CHECK_EQ(events[fired].time, 5000);
    CHECK(events[fired].legacy_callback == legacy_tick);
    CHECK_EQ(atomic_load(&legacy_calls), 1);
}

TEST(s7_5_log_records_legacy_misuse_as_rejected)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    StorPortNotification(RequestTimerCall, ext, (PHW_TIMER)NULL, (ULONG)1000);
    size_t n = read_log();
    int rejected = find(n, 0, STORTIMER_EVENT_REJECTED);
    CHECK(rejected >= 0);
    CHECK(events[rejected].legacy);
    CHECK_EQ(events[rejected].status, STOR_STATUS_INVALID_PARAMETER);
    CHECK(events[rejected].extension == ext);
}

TEST(s3_4_log_records_removal_and_what_it_cancelled)
{
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    arm(ext, handle, probe_callback, &p, 5000, 0);
    StorPortNotification(RequestTimerCall, ext, legacy_tick, (ULONG)3000);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(fx_remove(ext), 1);
    size_t n = read_log();
    int cancelled = 0, removed = find(n, 0, STORTIMER_EVENT_ADAPTER_REMOVED);
    for (size_t i = 0; i < n; i++) {
        if (events[i].type != STORTIMER_EVENT_CANCELLED)
            continue;
        CHECK_EQ(events[i].status, STORTIMER_CANCEL_BY_REMOVAL);
        CHECK(events[i].extension == ext);
        CHECK_EQ(events[i].time, 1000);
        CHECK(events[i].legacy ? events[i].handle == NULL : events[i].handle == handle);
        CHECK((int)i < removed);
        cancelled++;
    }
    CHECK_EQ(cancelled, 2);
    CHECK(removed >= 0);
    CHECK(events[removed].extension == ext);
    CHECK_EQ(events[removed].time, 1000);
    CHECK(events[removed].clock_id != 0);
}

TEST(s12_2_log_records_a_forged_handle_as_rejected)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    int forged;
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    CHECK_STATUS(StorPortRequestTimer(ext, &forged, probe_callback, &p, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    int not_an_adapter;
    CHECK_STATUS(StorPortRequestTimer(&not_an_adapter, &forged, probe_callback, &p, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    size_t n = read_log();
    int first = find(n, 0, STORTIMER_EVENT_REJECTED);
    int second = find(n, (size_t)first + 1, STORTIMER_EVENT_REJECTED);
    CHECK(first >= 0 && second > first);
    CHECK(events[first].handle == &forged);
    CHECK(events[first].extension == ext);
    CHECK(events[first].adapter_id != 0);
    CHECK(events[second].extension == &not_an_adapter);
    CHECK_EQ(events[second].adapter_id, 0); /* no adapter: the real clock's track */
    CHECK_EQ(events[second].clock_id, 0);
}

TEST(s4_3_log_records_initialize_failures)
{
    start_log();
    PVOID ext = virtual_adapter(1);
    new_timer(ext);
    PVOID handle;
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_UNSUCCESSFUL);
    size_t n = read_log();
    int rejected = find(n, 0, STORTIMER_EVENT_REJECTED);
    CHECK(rejected >= 0);
    CHECK_EQ(events[rejected].status, STOR_STATUS_UNSUCCESSFUL);
}

TEST(s5_7_log_records_an_arm_above_dispatch_with_its_irql)
{
    PVOID ext, handle;
    probe p;
    logged_timer(&ext, &handle, &p);
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG status = StorPortRequestTimer(ext, handle, probe_callback, &p, 700, 0);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    stortimer_clock_advance(virtual_fixture()->clock, 700);
    size_t n = read_log();
    int armed = find(n, 0, STORTIMER_EVENT_ARMED), fired = find(n, 0, STORTIMER_EVENT_FIRED);
    CHECK(armed >= 0 && fired > armed);
    CHECK_EQ(events[armed].irql, HIGH_LEVEL);
    CHECK_EQ(events[armed].due, 700);
    CHECK_EQ(events[fired].time, 700);
}

/* The example: "the watchdog fired at t = 1 s and the I/O timer
 * was cancelled before it". */
TEST(s8_4_log_tells_the_order_of_a_watchdog_and_an_io_timeout)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    start_log();
    PVOID ext = virtual_adapter(0);
    PVOID watchdog = new_timer(ext), io = new_timer(ext);
    probe w, t;
    probe_init(&w, virtual_fixture(), ext);
    probe_init(&t, virtual_fixture(), ext);
    arm(ext, watchdog, probe_callback, &w, 1000000, 0);
    arm(ext, io, probe_callback, &t, 200000, 20000);
    stortimer_clock_advance(clock, 150000);
    CHECK_STATUS(StorPortRequestTimer(ext, io, probe_callback, &t, 0, 0), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_clock_run_until_idle(clock, 2000000), STOR_STATUS_SUCCESS);

    size_t n = read_log();
    int io_cancelled = -1, watchdog_fired = -1;
    for (size_t i = 0; i < n; i++) {
        if (events[i].type == STORTIMER_EVENT_CANCELLED && events[i].handle == io)
            io_cancelled = (int)i;
        if (events[i].type == STORTIMER_EVENT_FIRED && events[i].handle == watchdog)
            watchdog_fired = (int)i;
        CHECK(!(events[i].type == STORTIMER_EVENT_FIRED && events[i].handle == io));
    }
    CHECK(io_cancelled >= 0 && watchdog_fired > io_cancelled);
    CHECK_EQ(events[watchdog_fired].time, 1000000);
    CHECK_EQ(events[io_cancelled].time, 150000);
}

TEST_REAL(s10_log_records_each_dispatcher_wakeup_the_statistics_count)
{
    start_log();
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    for (int i = 0; i < 6; i++) /* overlapping windows: fewer wake-ups than callbacks */
        arm(ext, new_timer(ext), probe_callback, &p, 20000 + (ULONGLONG)i * 1000, 20000);
    CHECK(fx_await(fx, &p.fired, 6));
    /* A wake-up is counted, then logged: read until the two agree (the
     * dispatcher may be between them), for at most a few seconds. */
    ULONGLONG wakeups = 0;
    size_t logged = 0;
    for (int attempt = 0; attempt < 200; attempt++) {
        fx_settle(fx);
        wakeups = stats_of(ext).wakeups;
        size_t n = read_log();
        logged = 0;
        for (size_t i = 0; i < n; i++) {
            if (events[i].type != STORTIMER_EVENT_WAKEUP)
                continue;
            logged++;
            CHECK(events[i].fire_time != 0); /* when it had planned to wake */
            CHECK(events[i].extension == ext);
            CHECK_EQ(events[i].clock_id, 0);
        }
        if (logged == wakeups)
            break;
    }
    CHECK(wakeups >= 1);
    CHECK_EQ(logged, wakeups);
}

/* A signal handler standing in for an interrupt: arms at HIGH_LEVEL. */
static PVOID signal_ext, signal_handle;
static probe signal_probe;
static volatile sig_atomic_t signal_status = -1;

static void arm_from_signal(int signo)
{
    (void)signo;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    signal_status = (sig_atomic_t)(StorPortRequestTimer(signal_ext, signal_handle, probe_callback,
                                                        &signal_probe, 800, 0) ==
                                   STOR_STATUS_SUCCESS);
    stortimer_irql_lower(old);
}

TEST_BOTH(s5_7_log_records_an_arm_made_in_a_signal_handler)
{
    start_log();
    signal_ext = fx_adapter(fx, 0);
    signal_handle = new_timer(signal_ext);
    probe_init(&signal_probe, fx, signal_ext);
    struct sigaction action = {.sa_handler = arm_from_signal};
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    ULONGLONG called = fx_now(fx);
    CHECK(raise(SIGUSR1) == 0);
    CHECK_EQ(signal_status, 1);
    CHECK(fx_pass_until_fired(fx, 800, &signal_probe.fired, 1));
    size_t n = read_log();
    int armed = find(n, 0, STORTIMER_EVENT_ARMED), fired = find(n, 0, STORTIMER_EVENT_FIRED);
    CHECK(armed >= 0 && fired > armed);
    CHECK_EQ(events[armed].irql, HIGH_LEVEL);
    CHECK(events[armed].handle == signal_handle);
    check_fired_at(fx, events[fired].time, called, 800);
}

/* ---- the log itself ---- */

TEST(s10_log_keeps_the_first_events_and_counts_the_rest_as_dropped)
{
    CHECK_STATUS(stortimer_log_start(4), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);       /* 1: created */
    PVOID handle = new_timer(ext);        /* 2: initialized */
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    for (int i = 0; i < 5; i++) {         /* 3, 4: armed, cancelled; then 8 dropped */
        arm(ext, handle, probe_callback, &p, 100, 0);
        CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 0, 0),
                     STOR_STATUS_SUCCESS);
    }
    CHECK_EQ(stortimer_log_count(), 4);
    CHECK_EQ(stortimer_log_dropped(), 8);
    CHECK_EQ(read_log(), 4);
    CHECK_EQ(events[0].type, STORTIMER_EVENT_ADAPTER_CREATED);
    CHECK_EQ(events[3].type, STORTIMER_EVENT_CANCELLED);
}

TEST(s10_log_start_discards_the_earlier_log)
{
    start_log();
    virtual_adapter(0);
    CHECK_EQ(stortimer_log_count(), 1);
    start_log();
    CHECK_EQ(stortimer_log_count(), 0);
    CHECK_EQ(stortimer_log_dropped(), 0);
    virtual_adapter(0);
    CHECK_EQ(read_log(), 1);
    CHECK_EQ(events[0].sequence, 0);
}

TEST(s10_log_stop_keeps_what_was_recorded_and_records_no_more)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    stortimer_log_stop();
    new_timer(ext);
    CHECK_EQ(read_log(), 1);
    CHECK_EQ(events[0].type, STORTIMER_EVENT_ADAPTER_CREATED);
    CHECK_EQ(stortimer_log_dropped(), 0);
}

TEST(s10_log_read_copies_from_any_point_and_at_most_max)
{
    start_log();
    PVOID ext = virtual_adapter(0);
    for (int i = 0; i < 5; i++)
        new_timer(ext);
    CHECK_EQ(stortimer_log_read(events, 2, 3), 3);
    CHECK_EQ(events[0].sequence, 2);
    CHECK_EQ(events[2].sequence, 4);
    CHECK_EQ(stortimer_log_read(events, 5, 100), 1);
    CHECK_EQ(stortimer_log_read(events, 6, 100), 0);
    CHECK_EQ(stortimer_log_read(events, 1000, 100), 0);
    CHECK_EQ(stortimer_log_read(NULL, 0, 100), 0);
    CHECK_EQ(stortimer_log_read(events, 0, 0), 0);
}

TEST(s10_log_start_with_an_impossible_capacity_is_insufficient_resources)
{
    CHECK_STATUS(stortimer_log_start(SIZE_MAX / 2), STOR_STATUS_INSUFFICIENT_RESOURCES);
    virtual_adapter(0);
    CHECK_EQ(stortimer_log_count(), 0);
}

static ULONG start_answer;
static void start_from_callback(probe *p, PVOID ext)
{
    (void)p;
    (void)ext;
    start_answer = stortimer_log_start(16);
}

TEST(s10_log_start_from_a_callback_is_invalid_device_state)
{
    PVOID ext = virtual_adapter(0);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    p.then = start_from_callback;
    arm(ext, new_timer(ext), probe_callback, &p, 100, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_STATUS(start_answer, STOR_STATUS_INVALID_DEVICE_STATE);
    KIRQL old = stortimer_irql_raise(DISPATCH_LEVEL + 1);
    ULONG status = stortimer_log_start(16);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_DEVICE_STATE);
}

TEST(s10_log_event_names_are_readable)
{
    CHECK(strcmp(stortimer_event_name(STORTIMER_EVENT_FIRED), "fired") == 0);
    CHECK(strcmp(stortimer_event_name(STORTIMER_EVENT_IDLE_CANCEL), "idle cancel") == 0);
    CHECK(strcmp(stortimer_event_name(STORTIMER_EVENT_WAKEUP), "wake-up") == 0);
    CHECK(strcmp(stortimer_event_name((stortimer_event_type)999), "unknown") == 0);
}

TEST(s10_log_name_accepts_live_timers_and_adapters_only)
{
    PVOID ext = virtual_adapter(0), other = virtual_adapter(0);
    PVOID handle = new_timer(ext);
    CHECK_STATUS(stortimer_log_name(ext, handle, "port poll"), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_log_name(ext, NULL, "HBA 0"), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_log_name(other, handle, "x"), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_log_name(ext, handle, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_log_name(NULL, handle, "x"), STOR_STATUS_INVALID_PARAMETER);
    int forged;
    CHECK_STATUS(stortimer_log_name(ext, &forged, "x"), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_log_name(ext, handle, "x"), STOR_STATUS_INVALID_PARAMETER);
}

/* ---- recording from many threads ---- */

typedef struct arming_thread {
    PVOID ext;
    int rounds;
} arming_thread;

static void *arm_and_cancel(void *arg)
{
    arming_thread *a = arg;
    PVOID handle = new_timer(a->ext);
    probe p;
    probe_init(&p, NULL, a->ext);
    for (int i = 0; i < a->rounds; i++) {
        StorPortRequestTimer(a->ext, handle, probe_callback, &p, 1000000, 0);
        StorPortRequestTimer(a->ext, handle, probe_callback, &p, 0, 0);
    }
    StorPortFreeTimer(a->ext, handle);
    return NULL;
}

TEST_BOTH(s10_log_records_every_event_of_concurrent_threads_exactly_once)
{
    CHECK_STATUS(stortimer_log_start(20000), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(fx, 0);
    enum { THREADS = 4, ROUNDS = 500 };
    arming_thread work = {ext, ROUNDS};
    test_thread *threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        threads[i] = thread_start(arm_and_cancel, &work);
    for (int i = 0; i < THREADS; i++)
        thread_join(threads[i]);
    size_t count = stortimer_log_count();
    CHECK_EQ(stortimer_log_dropped(), 0);
    stortimer_event *all = calloc(count, sizeof *all);
    CHECK(all != NULL);
    CHECK_EQ(stortimer_log_read(all, 0, count), count);
    size_t armed = 0, cancelled = 0, wakeups = 0;
    for (size_t i = 0; i < count; i++) {
        CHECK_EQ(all[i].sequence, i);
        armed += all[i].type == STORTIMER_EVENT_ARMED;
        cancelled += all[i].type == STORTIMER_EVENT_CANCELLED;
        wakeups += all[i].type == STORTIMER_EVENT_WAKEUP; /* real clock: arms wake it */
    }
    free(all);
    /* created, then per thread: initialized, ROUNDS x (armed, cancelled), freed. */
    CHECK_EQ(count - wakeups, 1 + THREADS * (2 + 2 * ROUNDS));
    CHECK_EQ(armed, THREADS * ROUNDS);
    CHECK_EQ(cancelled, THREADS * ROUNDS);
}
