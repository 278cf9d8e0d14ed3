/*
 * SPEC S17.9: the event log's DPC, synchronized-routine and pause events,
 * with their fields, and the trace export that shows DPC runs as complete
 * slices on the adapter's track and pauses as spans on a track of their own
 * beside it, where they overlap callbacks without stacking them. Each trace
 * file is parsed by the strict JSON reader of json_check.h before it is
 * looked into.
 */
#include "trace_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECOND 1000000ull

/* ---- the event log ---- */

#define EV_MAX 1024
static stortimer_event ev[EV_MAX];

static size_t read_log(void)
{
    return stortimer_log_read(ev, 0, EV_MAX);
}

/* The first event of `type` at or after `from`, or NULL. */
static const stortimer_event *find(size_t count, size_t from, stortimer_event_type type)
{
    for (size_t i = from; i < count; i++)
        if (ev[i].type == type)
            return &ev[i];
    return NULL;
}

static _Atomic int dpc_runs;

static VOID dpc_routine(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    atomic_fetch_add(&dpc_runs, 1);
}

TEST(s17_9_log_records_dpc_issue_queued_start_and_return_with_their_fields)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    StorPortInitializeDpc(ext, &dpc, dpc_routine);
    stortimer_clock_advance(clock, 300);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)0x11, (PVOID)0x22));
    CHECK_EQ(StorPortIssueDpc(ext, &dpc, (PVOID)0x33, (PVOID)0x44), FALSE);
    stortimer_clock_advance(clock, 50);
    size_t n = read_log();
    const stortimer_event *init = find(n, 0, STORTIMER_EVENT_DPC_INITIALIZED);
    const stortimer_event *issued = find(n, 0, STORTIMER_EVENT_DPC_ISSUED);
    const stortimer_event *queued = find(n, 0, STORTIMER_EVENT_DPC_QUEUED_ALREADY);
    const stortimer_event *started = find(n, 0, STORTIMER_EVENT_DPC_STARTED);
    const stortimer_event *returned = find(n, 0, STORTIMER_EVENT_DPC_RETURNED);
    CHECK(init && issued && queued && started && returned);
    CHECK(init->dpc == &dpc && init->dpc_routine == dpc_routine && init->extension == ext);
    CHECK(issued->dpc == &dpc && issued->dpc_routine == dpc_routine && issued->extension == ext);
    CHECK(issued->argument1 == (PVOID)0x11 && issued->argument2 == (PVOID)0x22);
    CHECK_EQ(issued->due, 300);
    CHECK(queued->dpc == &dpc && queued->sequence > issued->sequence);
    CHECK(started->dpc == &dpc && started->dpc_routine == dpc_routine);
    CHECK(started->argument1 == (PVOID)0x11 && started->argument2 == (PVOID)0x22);
    CHECK_EQ(started->due, 300);       /* the issue time */
    CHECK_EQ(started->fire_time, 300); /* the start time */
    CHECK_EQ(started->time, 300);
    CHECK(returned->dpc == &dpc && returned->sequence > started->sequence);
}

TEST(s17_9_log_records_dpcs_dropped_by_removal)
{
    PVOID ext = virtual_adapter(0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_routine);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)0x5, NULL)); /* waits for an advance */
    fx_remove(ext);
    size_t n = read_log();
    const stortimer_event *dropped = find(n, 0, STORTIMER_EVENT_DPC_DROPPED);
    CHECK(dropped != NULL);
    CHECK(dropped->dpc == &dpc && dropped->dpc_routine == dpc_routine);
    CHECK(dropped->argument1 == (PVOID)0x5);
    CHECK(find(n, 0, STORTIMER_EVENT_DPC_STARTED) == NULL);
    CHECK_EQ(atomic_load(&dpc_runs), 0);
}

TEST(s17_9_log_records_refused_initializes_and_issues_with_their_reason)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0);
    STOR_DPC dpc, forged;
    memset(&forged, 0x5A, sizeof forged);
    StorPortInitializeDpc(a, &dpc, dpc_routine);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    reports_capture();
    StorPortInitializeDpc(b, &dpc, dpc_routine);
    CHECK_EQ(StorPortIssueDpc(a, &forged, NULL, NULL), FALSE);
    reports_release();
    size_t n = read_log();
    const stortimer_event *foreign = find(n, 0, STORTIMER_EVENT_DPC_REFUSED);
    CHECK(foreign != NULL);
    CHECK_EQ(foreign->status, STORTIMER_DPC_REFUSED_FOREIGN);
    CHECK(foreign->dpc == &dpc);
    const stortimer_event *unknown = find(n, (size_t)(foreign - ev) + 1, STORTIMER_EVENT_DPC_REFUSED);
    CHECK(unknown != NULL);
    CHECK_EQ(unknown->status, STORTIMER_DPC_REFUSED_ARGUMENT);
    CHECK(unknown->dpc == &forged);
}

static BOOLEAN sync_answer(PVOID E, PVOID C)
{
    (void)E, (void)C;
    return 0x21;
}

TEST(s17_9_log_records_synchronized_routine_entry_and_return)
{
    PVOID ext = virtual_adapter(0);
    int context;
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK_EQ(StorPortSynchronizeAccess(ext, sync_answer, &context), 0x21);
    size_t n = read_log();
    const stortimer_event *entered = find(n, 0, STORTIMER_EVENT_SYNC_ENTERED);
    const stortimer_event *returned = find(n, 0, STORTIMER_EVENT_SYNC_RETURNED);
    CHECK(entered && returned);
    CHECK(entered->sync_routine == sync_answer && entered->context == &context);
    CHECK(entered->extension == ext);
    CHECK(returned->sync_routine == sync_answer && returned->context == &context);
    CHECK_EQ(returned->result, 0x21);
    CHECK(returned->sequence > entered->sequence);
}

TEST(s17_9_log_records_adapter_pause_resume_and_expiry)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK(StorPortPause(ext, 2));
    CHECK(StorPortResume(ext));
    CHECK(StorPortResume(ext));
    CHECK(StorPortPause(ext, 1));
    stortimer_clock_advance(clock, 3 * SECOND);
    size_t n = read_log();
    const stortimer_event *paused = find(n, 0, STORTIMER_EVENT_PAUSED);
    CHECK(paused && !paused->unit && paused->extension == ext);
    CHECK_EQ(paused->due, 2 * SECOND);
    const stortimer_event *resumed = find(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(resumed && !resumed->unit);
    CHECK_EQ(resumed->status, STORTIMER_PAUSE_END_RESUMED);
    const stortimer_event *unpaused = find(n, 0, STORTIMER_EVENT_RESUME_UNPAUSED);
    CHECK(unpaused && unpaused->sequence > resumed->sequence);
    const stortimer_event *expired = find(n, (size_t)(resumed - ev) + 1, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(expired != NULL);
    CHECK_EQ(expired->status, STORTIMER_PAUSE_END_EXPIRED);
    CHECK_EQ(expired->time, SECOND);
}

TEST(s17_9_log_records_unit_pauses_with_their_address)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK(StorPortPauseDevice(ext, 1, 2, 3, 5));
    stortimer_clock_advance(clock, 5 * SECOND);
    size_t n = read_log();
    const stortimer_event *paused = find(n, 0, STORTIMER_EVENT_PAUSED);
    CHECK(paused && paused->unit);
    CHECK(paused->path_id == 1 && paused->target_id == 2 && paused->lun == 3);
    CHECK_EQ(paused->due, 5 * SECOND);
    const stortimer_event *ended = find(n, 0, STORTIMER_EVENT_PAUSE_ENDED);
    CHECK(ended && ended->unit);
    CHECK(ended->path_id == 1 && ended->target_id == 2 && ended->lun == 3);
    CHECK_EQ(ended->status, STORTIMER_PAUSE_END_EXPIRED);
}

/* ---- the trace file ---- */

/* Writes the trace to a file of this test's own and parses it. */
static json_value *write_and_parse(void)
{
    char *path = trace_temp_path("s17");
    CHECK_STATUS(stortimer_trace_write(path), STOR_STATUS_SUCCESS);
    json_value *doc = trace_parse(path);
    CHECK_EQ(json_kind_of(json_get(doc, "traceEvents")), JSON_ARRAY);
    return doc;
}

/* The thread_name metadata of a track. */
static const char *track_name(const json_value *events, double pid, double tid)
{
    for (size_t i = 0; i < json_length(events); i++) {
        const json_value *e = json_at(events, i);
        if (strcmp(trace_string(e, "ph"), "M") == 0 && strcmp(trace_string(e, "name"), "thread_name") == 0 &&
            trace_number(e, "pid") == pid && trace_number(e, "tid") == tid)
            return json_string(json_get(json_get(e, "args"), "name"));
    }
    return NULL;
}

static _Atomic int callback_runs;
static STOR_DPC issued_by_callback;

static VOID callback_issuing(PVOID E, PVOID C)
{
    (void)C;
    StorPortIssueDpc(E, &issued_by_callback, NULL, NULL);
    atomic_fetch_add(&callback_runs, 1);
}

TEST_BOTH(s17_9_trace_shows_a_dpc_run_as_a_slice_on_the_adapters_track)
{
    PVOID ext = fx_adapter(fx, 0);
    STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_routine);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK_STATUS(stortimer_log_name(ext, NULL, "HBA 7"), STOR_STATUS_SUCCESS);
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 400);
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 0);
    CHECK(fx_await(fx, &dpc_runs, 1));
    fx_remove(ext); /* the routine's return is logged */
    json_value *doc = write_and_parse();
    const json_value *events = json_get(doc, "traceEvents");
    const json_value *slice = trace_find(events, "X", "cat", "dpc", 0, NULL);
    CHECK(slice != NULL);
    CHECK(strncmp(trace_string(slice, "name"), "DPC ", 4) == 0);
    const char *track = track_name(events, trace_number(slice, "pid"), trace_number(slice, "tid"));
    CHECK(track && strcmp(track, "HBA 7") == 0);
    if (fx->clock) {
        CHECK_EQ(trace_number(slice, "ts"), 400);
        CHECK_EQ(trace_number(slice, "dur"), 0);
    } else {
        CHECK_EQ(trace_number(slice, "pid"), 1); /* the real clock's process */
        CHECK(trace_number(slice, "dur") >= 0);
    }
    json_free(doc);
}

TEST_BOTH(s17_9_trace_puts_a_dpc_slice_after_the_callback_slice_that_issued_it)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortInitializeDpc(ext, &issued_by_callback, dpc_routine);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    arm(ext, new_timer(ext), callback_issuing, NULL, 200, 0);
    fx_pass(fx, 200);
    CHECK(fx_await(fx, &dpc_runs, 1));
    fx_remove(ext);
    json_value *doc = write_and_parse();
    const json_value *events = json_get(doc, "traceEvents");
    size_t cb_at = 0, dpc_at = 0;
    const json_value *callback = trace_find(events, "X", "cat", "callback", 0, &cb_at);
    CHECK(callback != NULL);
    const json_value *dpc = trace_find(events, "X", "cat", "dpc", 0, &dpc_at);
    CHECK(dpc != NULL);
    CHECK(cb_at < dpc_at);
    /* the callback's slice ends before the DPC's begins */
    CHECK(trace_number(callback, "ts") + trace_number(callback, "dur") <= trace_number(dpc, "ts"));
    CHECK_EQ(trace_number(dpc, "tid"), trace_number(callback, "tid"));
    if (fx->clock)
        CHECK_EQ(trace_number(dpc, "ts"), 200);
    json_free(doc);
}

TEST_BOTH(s17_9_trace_shows_an_adapter_pause_as_an_async_span)
{
    PVOID ext = fx_adapter(fx, 0);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    ULONGLONG at = fx_now(fx);
    CHECK(StorPortPause(ext, 60));
    fx_pass(fx, 500);
    CHECK(StorPortResume(ext));
    json_value *doc = write_and_parse();
    const json_value *events = json_get(doc, "traceEvents");
    /* One complete slice, on a track of its own named for the adapter and
     * the pause, in the adapter's process: not on the adapter's track. */
    const json_value *span = trace_find(events, "X", "cat", "pause", 0, NULL);
    CHECK(span != NULL);
    CHECK(trace_find(events, "X", "cat", "callback", 0, NULL) == NULL);
    CHECK(trace_find(events, "b", "cat", NULL, 0, NULL) == NULL);
    CHECK(strcmp(trace_string(span, "name"), "pause of the adapter") == 0);
    const char *track = track_name(events, trace_number(span, "pid"), trace_number(span, "tid"));
    CHECK(track && strncmp(track, "adapter ", 8) == 0);
    CHECK(strstr(track, ": pause of the adapter") != NULL);
    size_t named = strstr(track, ": pause") - track;
    bool adapter_track = false;
    for (size_t i = 0; i < json_length(events); i++) {
        const json_value *e = json_at(events, i);
        const char *name = json_string(json_get(json_get(e, "args"), "name"));
        if (strcmp(trace_string(e, "name"), "thread_name") == 0 && name &&
            strlen(name) == named && strncmp(name, track, named) == 0) {
            adapter_track = true; /* the adapter's own track, named alone */
            CHECK(trace_number(e, "tid") != trace_number(span, "tid"));
            CHECK_EQ(trace_number(e, "pid"), trace_number(span, "pid"));
        }
    }
    CHECK(adapter_track);
    CHECK(strcmp(trace_string(json_get(span, "args"), "ended_by"), "resumed") == 0);
    if (fx->clock) {
        CHECK_EQ(trace_number(span, "ts"), at);
        CHECK_EQ(trace_number(span, "dur"), 500);
    } else {
        CHECK(trace_number(span, "dur") >= 500);
    }
    json_free(doc);
}

TEST(s17_9_trace_gives_a_unit_pause_a_span_of_its_own)
{
    stortimer_clock *clock = virtual_fixture()->clock;
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(stortimer_log_start(0), STOR_STATUS_SUCCESS);
    CHECK(StorPortPause(ext, 10));
    CHECK(StorPortPauseDevice(ext, 1, 2, 3, 2));
    stortimer_clock_advance(clock, 3 * SECOND);
    json_value *doc = write_and_parse();
    const json_value *events = json_get(doc, "traceEvents");
    const json_value *adapter_span = trace_find(events, "X", "name", "pause of the adapter", 0, NULL);
    const json_value *unit_span = trace_find(events, "X", "name", "pause of unit 1.2.3", 0, NULL);
    CHECK(adapter_span && unit_span);
    CHECK(strcmp(trace_string(unit_span, "cat"), "pause") == 0);
    /* Each on a track of its own: they overlap without nesting. */
    CHECK(trace_number(adapter_span, "tid") != trace_number(unit_span, "tid"));
    const char *track = track_name(events, trace_number(unit_span, "pid"), trace_number(unit_span, "tid"));
    CHECK(track && strstr(track, ": pause of unit 1.2.3") != NULL);
    CHECK_EQ(trace_number(unit_span, "ts") + trace_number(unit_span, "dur"), 2 * SECOND);
    CHECK(strcmp(trace_string(json_get(unit_span, "args"), "ended_by"), "expired") == 0);
    /* The adapter's pause, still in force, ends with the log, and says so. */
    CHECK(strcmp(trace_string(json_get(adapter_span, "args"), "note"), "its end was not recorded") == 0);
    json_free(doc);
}
