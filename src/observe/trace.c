/*
 * trace.c - the event log as Chrome trace-event JSON (stortimer_trace_write).
 *
 * The format is the "JSON object" form that Perfetto (ui.perfetto.dev),
 * chrome://tracing and speedscope load: {"traceEvents": [...]}. Each clock
 * is a process (pid = clock id + 1: the real clock is pid 1), each adapter
 * a thread of it (tid = adapter id; 0 for calls that named no live
 * adapter). A callback is a complete slice ("X", with "dur") from its FIRED
 * event to its RETURNED event, and a DPC routine one from DPC_STARTED to
 * DPC_RETURNED, with the starting event's fields as arguments: one
 * adapter's callbacks and DPC routines never overlap (SPEC S8, S14.7), so
 * its slices never stack. A slice is written whole when it ends, so every
 * viewer pairs it; one whose end was not recorded ends where the track's
 * next slice begins, or at the track's last event. A pause of the adapter
 * or of a unit is a slice from the PAUSED event that began it to its
 * PAUSE_ENDED (S17.9), on a thread of its own (tid 2^30 + n, named for the
 * adapter and the unit): pauses overlap callbacks without nesting them.
 * Every other event is an instant ("i") on its adapter's track, with the
 * event's fields as arguments. Times are the clock's microseconds, which is
 * the format's own unit.
 */
#include "observe/trace.h"

#include "adapters/pause_ops.h"
#include "observe/event_log.h"
#include "platform/alloc.h"
#include "platform/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An adapter's track: named once; its callback or DPC slice open or not. */
typedef struct trace_track {
    uint64_t key;                    /* clock id << 48 | adapter id */
    bool open;                       /* a FIRED or DPC_STARTED not yet ended */
    stortimer_event begun;           /* that event */
    uint64_t last_time;
} trace_track;

/* The track of an adapter's pauses, or of one unit's: a thread of its
 * own, so that a pause, which overlaps callbacks without nesting them,
 * does not stack them in a viewer. Kept once made (its tid and name stay). */
typedef struct pause_track {
    size_t adapter;                  /* the adapter's track: an index */
    uint32_t unit;                   /* 1 << 24 for the adapter itself */
    bool open;                       /* a PAUSED not yet ended */
    stortimer_event begun;           /* that event */
} pause_track;

/* The tid of the n-th pause track: far above adapter ids (1, 2, ...). */
#define PAUSE_TID_BASE (UINT64_C(1) << 30)

typedef struct trace_writer {
    FILE *out;
    pause_track *pauses;
    size_t pause_count, pause_room;
    bool first;                      /* no event written yet: no comma */
    trace_track *tracks;
    size_t track_count, track_room;
    uint64_t written;                /* log events written (metadata aside) */
    bool failed;
} trace_writer;

/* The length of the valid UTF-8 sequence at `c` (1-4), or 0 if it is not
 * one: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_length(const unsigned char *c)
{
    int n;
    uint32_t code;
    if (c[0] < 0x80)
        return 1;
    if (c[0] >= 0xC2 && c[0] <= 0xDF)
        n = 2, code = c[0] & 0x1Fu;
    else if (c[0] >= 0xE0 && c[0] <= 0xEF)
        n = 3, code = c[0] & 0x0Fu;
    else if (c[0] >= 0xF0 && c[0] <= 0xF4)
        n = 4, code = c[0] & 0x07u;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((c[i] & 0xC0u) != 0x80u) /* also stops at the terminating NUL */
            return 0;
        code = code << 6 | (c[i] & 0x3Fu);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return n;
}

/* Writes `text` as a JSON string: escaped, and with any byte that is not
 * valid UTF-8 (a name given by a test may hold anything) written as U+FFFD,
 * so that the file stays JSON. */
static void put_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c;) {
        int n = utf8_length(c);
        if (n == 0) {
            fputs("\\ufffd", out);
            c++;
        } else if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c++);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c++);
        } else {
            fwrite(c, 1, (size_t)n, out);
            c += n;
        }
    }
    fputc('"', out);
}

static void begin_event(trace_writer *w)
{
    fputs(w->first ? "\n" : ",\n", w->out);
    w->first = false;
}

static unsigned pid_of(uint64_t key)
{
    return (unsigned)(key >> 48) + 1;
}

static unsigned long long adapter_of(uint64_t key)
{
    return (unsigned long long)(key & ((UINT64_C(1) << 48) - 1));
}

/* The name of the event's adapter, as given to stortimer_log_name or made
 * up from its id and extension. */
static const char *adapter_name(const stortimer_event *e, char *fallback, size_t size)
{
    const char *name = e->adapter_id ? st_log_name_of(e->adapter_id, NULL) : "no adapter";
    if (name)
        return name;
    snprintf(fallback, size, "adapter %llu (%p)", (unsigned long long)e->adapter_id, e->extension);
    return fallback;
}

static void put_thread_name(trace_writer *w, unsigned pid, unsigned long long tid,
                            const char *name)
{
    begin_event(w);
    fprintf(w->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%llu,"
                    "\"args\":{\"name\":", pid, tid);
    put_string(w->out, name);
    fputs("}}", w->out);
}

/* The track of the event's adapter; the first time, names it (and its
 * clock's process, the first time that is seen). NULL: no memory. */
static trace_track *track_of(trace_writer *w, const stortimer_event *e)
{
    uint64_t key = (uint64_t)e->clock_id << 48 | e->adapter_id;
    bool clock_seen = false;
    for (size_t i = 0; i < w->track_count; i++) {
        if (w->tracks[i].key == key)
            return &w->tracks[i];
        clock_seen |= w->tracks[i].key >> 48 == e->clock_id;
    }
    trace_track *grown = st_room_for_one(w->tracks, &w->track_room, w->track_count,
                                         sizeof *grown, 16);
    if (!grown)
        return NULL;
    w->tracks = grown;
    trace_track *track = &w->tracks[w->track_count++];
    *track = (trace_track){.key = key};
    unsigned pid = e->clock_id + 1;
    if (!clock_seen) {
        char name[48];
        if (e->clock_id)
            snprintf(name, sizeof name, "virtual clock %u", e->clock_id);
        else
            snprintf(name, sizeof name, "real clock (CLOCK_MONOTONIC)");
        begin_event(w);
        fprintf(w->out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":0,"
                        "\"args\":{\"name\":", pid);
        put_string(w->out, name);
        fputs("}}", w->out);
    }
    char fallback[64];
    put_thread_name(w, pid, (unsigned long long)e->adapter_id,
                    adapter_name(e, fallback, sizeof fallback));
    return track;
}

/* Which timer the event is about: its given name, the legacy timer, or
 * its handle. */
static const char *subject(const stortimer_event *e, char *buffer, size_t size)
{
    if (e->dpc) {
        snprintf(buffer, size, "DPC %p", e->dpc);
        return buffer;
    }
    if (e->type == STORTIMER_EVENT_PAUSED || e->type == STORTIMER_EVENT_PAUSE_ENDED ||
        e->type == STORTIMER_EVENT_RESUME_UNPAUSED) {
        if (e->unit)
            snprintf(buffer, size, "pause of unit %u.%u.%u", (unsigned)e->path_id,
                     (unsigned)e->target_id, (unsigned)e->lun);
        else
            snprintf(buffer, size, "pause of the adapter");
        return buffer;
    }
    const char *name = e->handle ? st_log_name_of(e->adapter_id, e->handle) : NULL;
    if (name)
        return name;
    if (e->legacy)
        return "HwStorTimer (legacy timer)";
    snprintf(buffer, size, "timer %p", e->handle);
    return buffer;
}

static const char *pause_end_reason(ULONG status)
{
    switch (status) {
    case STORTIMER_PAUSE_END_RESUMED: return "resumed";
    case STORTIMER_PAUSE_END_EXPIRED: return "expired";
    case STORTIMER_PAUSE_END_REMOVAL: return "removal";
    default: return "unknown";
    }
}

static const char *cancel_reason(ULONG status)
{
    switch (status) {
    case STORTIMER_CANCEL_BY_REQUEST: return "cancel request";
    case STORTIMER_CANCEL_BY_FREE: return "StorPortFreeTimer";
    case STORTIMER_CANCEL_BY_REARM: return "legacy re-arm";
    case STORTIMER_CANCEL_BY_REMOVAL: return "adapter removal";
    default: return "unknown";
    }
}

/* Opens the event's "args" object and writes its fields; the caller may
 * add members, then closes it. */
static void put_args(FILE *out, const stortimer_event *e)
{
    fprintf(out, ",\"args\":{\"sequence\":%llu,\"thread\":%u,\"irql\":%u",
            (unsigned long long)e->sequence, e->thread_id, (unsigned)e->irql);
    if (e->handle)
        fprintf(out, ",\"handle\":\"%p\"", e->handle);
    if (e->context)
        fprintf(out, ",\"context\":\"%p\"", e->context);
    if (e->type == STORTIMER_EVENT_WAKEUP) {
        fprintf(out, ",\"planned_us\":%llu", (unsigned long long)e->fire_time);
    } else if (e->due || e->fire_time) {
        fprintf(out, ",\"due_us\":%llu,\"fire_time_us\":%llu", (unsigned long long)e->due,
                (unsigned long long)e->fire_time);
    }
    if (e->type == STORTIMER_EVENT_ARMED)
        fprintf(out, ",\"window_us\":%llu", (unsigned long long)e->window);
    if (e->type == STORTIMER_EVENT_FIRED && e->time >= e->due)
        fprintf(out, ",\"late_us\":%llu", (unsigned long long)(e->time - e->due));
    if (e->type == STORTIMER_EVENT_REJECTED) {
        fputs(",\"status\":", out);
        put_string(out, stortimer_status_name(e->status));
    }
    if (e->type == STORTIMER_EVENT_CANCELLED) {
        fputs(",\"by\":", out);
        put_string(out, cancel_reason(e->status));
    }
    if (e->dpc)
        fprintf(out, ",\"argument1\":\"%p\",\"argument2\":\"%p\"", e->argument1, e->argument2);
    if (e->type == STORTIMER_EVENT_DPC_STARTED && e->time >= e->due)
        fprintf(out, ",\"late_us\":%llu", (unsigned long long)(e->time - e->due));
    if (e->type == STORTIMER_EVENT_PAUSE_ENDED) {
        fputs(",\"ended_by\":", out);
        put_string(out, pause_end_reason(e->status));
    }
    if (e->type == STORTIMER_EVENT_SYNC_RETURNED)
        fprintf(out, ",\"result\":%u", (unsigned)e->result);
}

/* Writes a complete slice ("X") on a track, from the event that began it
 * to `end`, with that event's arguments and the `extra` members given
 * (JSON, each with its leading comma). */
static void put_slice(trace_writer *w, unsigned pid, unsigned long long tid,
                      const stortimer_event *begun, uint64_t end, const char *cat,
                      const char *extra)
{
    char buffer[64];
    begin_event(w);
    fprintf(w->out, "{\"ph\":\"X\",\"pid\":%u,\"tid\":%llu,\"ts\":%llu,\"dur\":%llu,\"cat\":",
            pid, tid, (unsigned long long)begun->time,
            (unsigned long long)(end > begun->time ? end - begun->time : 0));
    put_string(w->out, cat);
    fputs(",\"name\":", w->out);
    put_string(w->out, subject(begun, buffer, sizeof buffer));
    put_args(w->out, begun);
    fputs(extra, w->out);
    fputs("}}", w->out);
}

/* Ends a track's open callback or DPC slice at `end`: its return if
 * `returned`, else where it must end at the latest (its return was not
 * recorded: the log stopped or filled meanwhile). */
static void end_slice(trace_writer *w, trace_track *track, uint64_t end, bool returned)
{
    put_slice(w, pid_of(track->key), adapter_of(track->key), &track->begun, end,
              track->begun.dpc ? "dpc" : "callback",
              returned ? "" : ",\"note\":\"its return was not recorded\"");
    track->open = false;
}

/* ---- pause spans ---- */

static uint32_t pause_unit(const stortimer_event *e)
{
    return e->unit ? st_unit_key(e->path_id, e->target_id, e->lun) : UINT32_C(1) << 24;
}

static unsigned long long pause_tid(const trace_writer *w, const pause_track *pause)
{
    return (unsigned long long)(PAUSE_TID_BASE + (uint64_t)(pause - w->pauses));
}

/* The pause track of the event's adapter (track index `adapter`) and unit;
 * made and named the first time. NULL: no memory. */
static pause_track *pause_track_of(trace_writer *w, size_t adapter, const stortimer_event *e)
{
    uint32_t unit = pause_unit(e);
    for (size_t i = 0; i < w->pause_count; i++)
        if (w->pauses[i].adapter == adapter && w->pauses[i].unit == unit)
            return &w->pauses[i];
    pause_track *grown = st_room_for_one(w->pauses, &w->pause_room, w->pause_count,
                                         sizeof *grown, 16);
    if (!grown)
        return NULL;
    w->pauses = grown;
    pause_track *pause = &w->pauses[w->pause_count++];
    *pause = (pause_track){.adapter = adapter, .unit = unit};
    char fallback[64], buffer[64], name[160];
    snprintf(name, sizeof name, "%s: %s", adapter_name(e, fallback, sizeof fallback),
             subject(e, buffer, sizeof buffer));
    put_thread_name(w, e->clock_id + 1, pause_tid(w, pause), name);
    return pause;
}

/* Ends a pause's span at `end`: its PAUSE_ENDED event if `ended`, else
 * its adapter's last time (the pause was in force when the log ended). */
static void end_pause(trace_writer *w, pause_track *pause, uint64_t end,
                      const stortimer_event *ended)
{
    char extra[64];
    if (ended)
        snprintf(extra, sizeof extra, ",\"ended_by\":\"%s\"", pause_end_reason(ended->status));
    else
        snprintf(extra, sizeof extra, ",\"note\":\"its end was not recorded\"");
    put_slice(w, pid_of(w->tracks[pause->adapter].key), pause_tid(w, pause), &pause->begun, end,
              "pause", extra);
    pause->open = false;
}

/* A pause event: begins or ends its span, or is an instant (a pause pushed
 * later, an end whose beginning was not recorded). True when it was taken
 * as part of a span. False in *ok when no memory is left. */
static bool pause_span(trace_writer *w, size_t adapter, const stortimer_event *e, bool *ok)
{
    *ok = true;
    if (e->type != STORTIMER_EVENT_PAUSED && e->type != STORTIMER_EVENT_PAUSE_ENDED)
        return false;
    pause_track *pause = pause_track_of(w, adapter, e);
    if (!pause) {
        *ok = false;
        return false;
    }
    if (e->type == STORTIMER_EVENT_PAUSED && !pause->open) {
        pause->begun = *e;
        pause->open = true;
        return true;
    }
    if (e->type == STORTIMER_EVENT_PAUSE_ENDED && pause->open) {
        end_pause(w, pause, e->time, e);
        return true;
    }
    return false;
}

static bool write_event(const stortimer_event *e, void *ctx)
{
    trace_writer *w = ctx;
    trace_track *track = track_of(w, e);
    if (!track) {
        w->failed = true;
        return false;
    }
    /* A slice is written when it ends, whole. A RETURNED whose FIRED came
     * before the log started is left out; a FIRED whose RETURNED never
     * came is ended where the next slice begins (or at the track's last
     * event). */
    bool begins = e->type == STORTIMER_EVENT_FIRED || e->type == STORTIMER_EVENT_DPC_STARTED;
    bool ends = e->type == STORTIMER_EVENT_RETURNED || e->type == STORTIMER_EVENT_DPC_RETURNED;
    if (ends && !track->open)
        return true;
    if (e->time > track->last_time)
        track->last_time = e->time;
    w->written++;
    if (begins) {
        if (track->open)
            end_slice(w, track, e->time, false);
        track->begun = *e;
        track->open = true;
        return !ferror(w->out);
    }
    if (ends) {
        end_slice(w, track, e->time, true);
        return !ferror(w->out);
    }
    bool ok;
    if (pause_span(w, (size_t)(track - w->tracks), e, &ok) || !ok) {
        w->failed |= !ok;
        return ok && !ferror(w->out);
    }
    char buffer[64], title[160];
    const char *what = subject(e, buffer, sizeof buffer);
    if ((e->handle || e->legacy || e->dpc) && e->type != STORTIMER_EVENT_PAUSED &&
        e->type != STORTIMER_EVENT_PAUSE_ENDED)
        snprintf(title, sizeof title, "%s: %s", stortimer_event_name(e->type), what);
    else
        snprintf(title, sizeof title, "%s", stortimer_event_name(e->type));
    begin_event(w);
    fprintf(w->out, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":%u,\"tid\":%llu,\"ts\":%llu,\"cat\":",
            e->clock_id + 1, (unsigned long long)e->adapter_id, (unsigned long long)e->time);
    put_string(w->out, e->dpc ? "dpc" : "timer");
    fputs(",\"name\":", w->out);
    put_string(w->out, title);
    put_args(w->out, e);
    fputs("}}", w->out);
    return !ferror(w->out);
}

ULONG stortimer_trace_write(const char *path)
{
    if (!path)
        return STOR_STATUS_INVALID_PARAMETER;
    FILE *out = fopen(path, "w");
    if (!out)
        return STOR_STATUS_UNSUCCESSFUL;
    trace_writer w = {.out = out, .first = true};
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    bool ok = st_log_visit(write_event, &w) && !w.failed;
    for (size_t i = 0; i < w.track_count; i++)
        if (w.tracks[i].open)
            end_slice(&w, &w.tracks[i], w.tracks[i].last_time, false);
    for (size_t i = 0; i < w.pause_count; i++)
        if (w.pauses[i].open)
            end_pause(&w, &w.pauses[i], w.tracks[w.pauses[i].adapter].last_time, NULL);
    fprintf(out, "\n],\"otherData\":{\"producer\":\"stortimer\",\"events\":%llu,"
                 "\"dropped_events\":%llu}}\n",
            (unsigned long long)w.written, (unsigned long long)stortimer_log_dropped());
    st_free(w.tracks);
    st_free(w.pauses);
    ok = ok && !ferror(out);
    if (fclose(out) != 0)
        ok = false;
    return ok ? STOR_STATUS_SUCCESS : STOR_STATUS_UNSUCCESSFUL;
}

/* ---- STORTIMER_TRACE=path: record from the start, write at exit ---- */

#define ST_TRACE_DEFAULT_CAPACITY 1048576u

static char *trace_path;

static void write_trace_at_exit(void)
{
    if (stortimer_trace_write(trace_path) != STOR_STATUS_SUCCESS)
        st_report("STORTIMER_TRACE: could not write %s", trace_path);
    st_free(trace_path);
}

/* Runs when the library is loaded; linked statically, at start-up, since
 * the file of stortimer_adapter_create refers to it (trace.h). */
__attribute__((constructor)) void st_trace_from_environment(void)
{
    const char *path = getenv("STORTIMER_TRACE");
    if (!path || !*path)
        return;
    const char *events = getenv("STORTIMER_TRACE_EVENTS");
    size_t capacity = events ? (size_t)strtoull(events, NULL, 10) : 0;
    size_t length = strlen(path) + 1;
    trace_path = st_calloc(1, length);
    if (!trace_path ||
        stortimer_log_start(capacity ? capacity : ST_TRACE_DEFAULT_CAPACITY) != STOR_STATUS_SUCCESS) {
        st_report("STORTIMER_TRACE: no memory for the event log; no trace");
        st_free(trace_path);
        return;
    }
    memcpy(trace_path, path, length);
    atexit(write_trace_at_exit);
}
