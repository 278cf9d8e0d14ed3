/*
 * Trace export: the event log written as Chrome trace-event JSON, through
 * stortimer_trace_write and through STORTIMER_TRACE=path. Each file is
 * parsed by a strict JSON reader (json_check.h), then looked into: one
 * process per clock, one named track per adapter, callbacks as complete
 * slices ("X", with a duration) at their fire times (SPEC S11), other events
 * as instants.
 */
#include "trace_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The name metadata ("process_name", "thread_name") given to a pid/tid. */
static const char *metadata_name(const json_value *events, const char *kind, double pid,
                                 double tid)
{
    for (size_t i = 0; i < json_length(events); i++) {
        const json_value *e = json_at(events, i);
        if (strcmp(trace_string(e, "ph"), "M") || strcmp(trace_string(e, "name"), kind))
            continue;
        if (trace_number(e, "pid") != pid || (tid >= 0 && trace_number(e, "tid") != tid))
            continue;
        return json_string(json_get(json_get(e, "args"), "name"));
    }
    return NULL;
}

TEST(s10_trace_of_a_virtual_run_parses_and_holds_its_events)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    PVOID hba = virtual_adapter(0), other = virtual_adapter(0);
    PVOID poll = new_timer(hba), io = new_timer(hba);
    CHECK_STATUS(stortimer_log_name(hba, NULL, "HBA 0"), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_log_name(hba, poll, "port poll"), STOR_STATUS_SUCCESS);
    probe p, q, r;
    probe_init(&p, virtual_fixture(), hba);
    probe_init(&q, virtual_fixture(), hba);
    probe_init(&r, virtual_fixture(), other);
    arm(hba, poll, probe_callback, &p, 10000, 0);
    arm(hba, io, probe_callback, &q, 200000, 20000);
    arm(other, new_timer(other), probe_callback, &r, 30000, 0);
    stortimer_clock_advance(clock, 50000);
    CHECK_STATUS(StorPortRequestTimer(hba, io, probe_callback, &q, 0, 0), STOR_STATUS_SUCCESS);
    char *path = trace_temp_path("virtual");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);

    json_value *doc = trace_parse(path);
    const json_value *events = json_get(doc, "traceEvents");
    CHECK_EQ(json_kind_of(events), JSON_ARRAY);
    /* The poll's callback: a complete slice named for it, on HBA 0's track,
     * at 10 ms, of no duration (a virtual callback takes no time). No
     * begin/end pair is left for a viewer to match. */
    const json_value *begin = trace_find(events, "X", "name", "port poll", 0, NULL);
    CHECK(begin != NULL);
    CHECK_EQ(trace_number(begin, "ts"), 10000);
    CHECK_EQ(trace_number(begin, "dur"), 0);
    CHECK(strcmp(trace_string(begin, "cat"), "callback") == 0);
    CHECK(trace_find(events, "B", "name", NULL, 0, NULL) == NULL);
    CHECK(trace_find(events, "E", "name", NULL, 0, NULL) == NULL);
    double pid = trace_number(begin, "pid"), tid = trace_number(begin, "tid");
    CHECK(pid >= 2); /* a virtual clock: the real one is pid 1 */
    const char *track = metadata_name(events, "thread_name", pid, tid);
    CHECK(track && strcmp(track, "HBA 0") == 0);
    const char *process = metadata_name(events, "process_name", pid, -1);
    CHECK(process && strncmp(process, "virtual clock ", 14) == 0);
    CHECK_EQ(trace_number(json_get(begin, "args"), "due_us"), 10000);
    CHECK_EQ(trace_number(json_get(begin, "args"), "late_us"), 0);
    /* The other adapter: its own, unnamed track, same process. */
    size_t at = 0;
    const json_value *other_begin = NULL;
    while ((other_begin = trace_find(events, "X", "name", NULL, at, &at)) != NULL &&
           trace_number(other_begin, "tid") == tid)
        at++;
    CHECK(other_begin != NULL);
    CHECK_EQ(trace_number(other_begin, "ts"), 30000);
    CHECK_EQ(trace_number(other_begin, "pid"), pid);
    CHECK(trace_number(other_begin, "tid") != tid);
    track = metadata_name(events, "thread_name", pid, trace_number(other_begin, "tid"));
    CHECK(track && strncmp(track, "adapter ", 8) == 0);
    /* Arm and cancel are instants with their arguments. */
    const json_value *armed = trace_find(events, "i", "name", "armed: port poll", 0, NULL);
    CHECK(armed != NULL);
    CHECK_EQ(trace_number(armed, "ts"), 0);
    CHECK(strcmp(trace_string(armed, "s"), "t") == 0);
    CHECK_EQ(trace_number(json_get(armed, "args"), "window_us"), 0);
    size_t i = 0;
    const json_value *cancelled = NULL;
    while ((cancelled = trace_find(events, "i", "name", NULL, i, &i)) != NULL &&
           strncmp(trace_string(cancelled, "name"), "cancelled: ", 11) != 0)
        i++;
    CHECK(cancelled != NULL);
    CHECK_EQ(trace_number(cancelled, "ts"), 50000);
    CHECK(strcmp(trace_string(json_get(cancelled, "args"), "by"), "cancel request") == 0);
    /* The file says how many events it holds. */
    const json_value *other_data = json_get(doc, "otherData");
    CHECK_EQ(trace_number(other_data, "events"), stortimer_log_count());
    CHECK_EQ(trace_number(other_data, "dropped_events"), 0);
    json_free(doc);
}

TEST(s10_trace_of_real_clock_adapters_is_the_real_clock_process)
{
    fixture real = {"real", NULL};
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    PVOID ext = fx_adapter(&real, 0);
    probe p;
    probe_init(&p, &real, ext);
    /* The dispatcher asleep first, and the timer far enough ahead that it
     * sleeps for it too, however slowly it runs (valgrind): a wake-up from
     * a sleep is what the trace records as one. */
    sleep_us(20000);
    arm(ext, new_timer(ext), probe_callback, &p, 20000, 0);
    CHECK(fx_await(&real, &p.fired, 1));
    fx_remove(ext); /* its dispatcher has logged the callback's return */
    char *path = trace_temp_path("real");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    const json_value *events = json_get(doc, "traceEvents");
    const json_value *slice = trace_find(events, "X", "name", NULL, 0, NULL);
    CHECK(slice != NULL);
    CHECK_EQ(trace_number(slice, "pid"), 1);
    CHECK(trace_number(slice, "dur") >= 0); /* the callback's measured run */
    const char *process = metadata_name(events, "process_name", 1, -1);
    CHECK(process && strncmp(process, "real clock", 10) == 0);
    const json_value *wakeup = trace_find(events, "i", "name", "wake-up", 0, NULL);
    CHECK(wakeup != NULL);
    CHECK(json_is_number(json_get(json_get(wakeup, "args"), "planned_us")));
    CHECK(trace_find(events, "i", "name", NULL, 0, NULL) != NULL);
    json_free(doc);
}

TEST(s10_trace_escapes_names_it_was_given)
{
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    PVOID handle = new_timer(ext);
    CHECK_STATUS(stortimer_log_name(ext, handle, "say \"hi\"\\\n\tnow"), STOR_STATUS_SUCCESS);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, handle, probe_callback, &p, 10, 0);
    char *path = trace_temp_path("escape");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    CHECK(trace_find(json_get(doc, "traceEvents"), "i", "name", "armed: say \"hi\"\\\n\tnow", 0, NULL));
    json_free(doc);
}

TEST(s10_trace_keeps_utf8_names_and_replaces_bytes_that_are_not)
{
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    PVOID good = new_timer(ext), bad = new_timer(ext);
    CHECK_STATUS(stortimer_log_name(ext, good, "caf\xc3\xa9 \xe2\x82\xac"), STOR_STATUS_SUCCESS);
    /* A lone continuation byte, an overlong '/', an encoded surrogate. */
    CHECK_STATUS(stortimer_log_name(ext, bad, "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d"), STOR_STATUS_SUCCESS);
    probe p;
    probe_init(&p, virtual_fixture(), ext);
    arm(ext, good, probe_callback, &p, 10, 0);
    arm(ext, bad, probe_callback, &p, 10, 0);
    char *path = trace_temp_path("utf8");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    const json_value *events = json_get(doc, "traceEvents");
    CHECK(trace_find(events, "i", "name", "armed: caf\xc3\xa9 \xe2\x82\xac", 0, NULL));
    /* Each bad byte became U+FFFD (EF BF BD in UTF-8). */
    CHECK(trace_find(events, "i", "name",
                     "armed: a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c"
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d",
                     0, NULL));
    json_free(doc);
}

static void stop_the_log(probe *p, PVOID ext)
{
    (void)p;
    (void)ext;
    stortimer_log_stop();
}

/* Counts the slices and checks that each is complete (no "B"/"E" left to
 * pair) and that none overlaps the one before it on its track; the last
 * one in the file in *last. */
static void check_slices_pair_up(const json_value *events, int *slices, const json_value **last)
{
    double track_tid[16], track_end[16];
    int tracks = 0;
    *slices = 0;
    *last = NULL;
    for (size_t i = 0; i < json_length(events); i++) {
        const json_value *e = json_at(events, i);
        const char *ph = trace_string(e, "ph");
        CHECK(strcmp(ph, "B") != 0 && strcmp(ph, "E") != 0);
        if (strcmp(ph, "X"))
            continue;
        double tid = trace_number(e, "tid"), ts = trace_number(e, "ts");
        double dur = trace_number(e, "dur");
        CHECK(dur >= 0);
        int at = 0;
        while (at < tracks && track_tid[at] != tid)
            at++;
        if (at == tracks) {
            CHECK(tracks < 16);
            track_tid[tracks++] = tid;
        } else {
            CHECK(ts >= track_end[at]); /* begins after the one before ended */
        }
        track_end[at] = ts + dur;
        (*slices)++;
        *last = e;
    }
}

TEST(s10_trace_slices_pair_up_when_the_log_stops_inside_a_callback)
{
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    PVOID ext = virtual_adapter(0);
    probe first, stopper;
    probe_init(&first, virtual_fixture(), ext);
    probe_init(&stopper, virtual_fixture(), ext);
    stopper.then = stop_the_log;
    arm(ext, new_timer(ext), probe_callback, &first, 100, 0);
    arm(ext, new_timer(ext), probe_callback, &stopper, 200, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 300);
    char *path = trace_temp_path("stopped");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    int slices;
    const json_value *last;
    check_slices_pair_up(json_get(doc, "traceEvents"), &slices, &last);
    CHECK_EQ(slices, 2);
    /* The second one's return was never recorded: it ends at the track's
     * last event, and says so. */
    CHECK_EQ(trace_number(last, "ts"), 200);
    CHECK(strcmp(trace_string(json_get(last, "args"), "note"), "its return was not recorded") == 0);
    json_free(doc);
}

TEST(s10_trace_of_an_empty_log_is_valid_and_empty)
{
    char *path = trace_temp_path("empty");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    CHECK_EQ(json_length(json_get(doc, "traceEvents")), 0);
    json_free(doc);
}

TEST(s10_trace_write_reports_what_it_cannot_do)
{
    CHECK_STATUS(stortimer_trace_write(NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(stortimer_trace_write("/nonexistent-directory/trace.json"),
                 STOR_STATUS_UNSUCCESSFUL);
}

/* Runs the child program with the environment given; returns its status. */
static int run_child(const char *trace, const char *events)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("STORTIMER_TRACE", trace, 1);
        if (events)
            setenv("STORTIMER_TRACE_EVENTS", events, 1);
        execl(TRACE_ENV_CHILD, TRACE_ENV_CHILD, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    return WEXITSTATUS(status);
}

TEST(s10_trace_environment_variable_writes_a_trace_at_exit)
{
    char *path = trace_temp_path("environment");
    CHECK_EQ(run_child(path, NULL), 0);
    json_value *doc = trace_parse(path);
    const json_value *events = json_get(doc, "traceEvents");
    /* Three polls, 10 ms apart, as slices. */
    size_t at = 0;
    for (int i = 1; i <= 3; i++) {
        const json_value *slice = trace_find(events, "X", "name", NULL, at, &at);
        CHECK(slice != NULL);
        CHECK_EQ(trace_number(slice, "ts"), 10000 * i);
        at++;
    }
    CHECK(trace_find(events, "X", "name", NULL, at, NULL) == NULL);
    CHECK(trace_find(events, "i", "name", "adapter removed", 0, NULL) != NULL);
    json_free(doc);
}

TEST(s10_trace_environment_capacity_is_honoured_and_drops_are_counted)
{
    char *path = trace_temp_path("capacity");
    CHECK_EQ(run_child(path, "3"), 0);
    json_value *doc = trace_parse(path);
    CHECK_EQ(json_length(json_get(doc, "traceEvents")), 3 + 2); /* + 2 metadata */
    const json_value *other_data = json_get(doc, "otherData");
    CHECK_EQ(trace_number(other_data, "events"), 3);
    CHECK(trace_number(other_data, "dropped_events") > 0);
    json_free(doc);
}
