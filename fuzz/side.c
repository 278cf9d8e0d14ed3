/*
 * side.c - a side's trace, the arguments a step resolves to on it, and the
 * calls that operations and callbacks both make (side.h).
 */
#include "side.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- traces ---- */

void record(uint32_t type, uint32_t what, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    side *s = current;
    if (s->events == TRACE_MAX) {
        s->overflow = true;
        return;
    }
    s->trace[s->events++] = (event){type, what, a, b, c, d};
}

void record_value(value_id what, uint64_t value)
{
    record(EV_VALUE, what, value, 0, 0, 0);
}

/* Every call's status; error answers to bad input are counted. */
ULONG record_status(uint32_t what, ULONG status)
{
    record(EV_STATUS, what, status, 0, 0, 0);
    if (current == &library_side && status != STOR_STATUS_SUCCESS &&
        status != STOR_STATUS_BUSY)
        totals.error_answers++;
    return status;
}

/* A report is compared by the routine it names (the text up to ':' or '('). */
void on_report(const char *message)
{
    uint64_t hash = 1469598103934665603u;
    for (const char *c = message; *c && *c != ':' && *c != '('; c++)
        hash = (hash ^ (uint8_t)*c) * 1099511628211u;
    record(EV_REPORT, 0, hash, 0, 0, 0);
    static int tracing = -1;
    if (tracing < 0)
        tracing = getenv("STORTIMER_FUZZ_TRACE") != NULL;
    if (tracing)
        fprintf(stderr, "  %s report: %s\n", current == &library_side ? "library" : "model",
                message);
    if (current == &library_side)
        totals.reports++;
}

/* ---- resolving a step's arguments on a side ---- */

void *extension_arg(const side *s, ext_arg e)
{
    uintptr_t slot = (uintptr_t)s->extension[e.slot];
    switch (e.kind) {
    case EXT_SLOT: return (void *)slot;
    case EXT_NULL: return NULL;
    case EXT_INTERIOR: return (void *)(slot + 1);
    case EXT_FORGED: return (void *)(uintptr_t)(0x7f0000001000u + 64u * e.slot);
    default: return (void *)&s->clocks[e.slot % PROGRAM_CLOCKS]; /* not an extension */
    }
}

void *handle_arg_value(const side *s, handle_arg h)
{
    uint64_t slot = s->handles[h.ref];
    switch (h.kind) {
    case HANDLE_SLOT: return (void *)(uintptr_t)slot;
    case HANDLE_NULL: return NULL;
    case HANDLE_FORGED: return (void *)(uintptr_t)h.forged;
    default: return (void *)(uintptr_t)(slot ^ (UINT64_C(1) << h.bit));
    }
}

/* The live slot of an extension, or -1. */
int slot_of(const side *s, const void *extension)
{
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        if (s->live[i] && s->extension[i] == extension)
            return i;
    return -1;
}

PHW_TIMER_EX callback_sel(uint8_t sel)
{
    switch (sel % 4) {
    case 0: return NULL; /* S5.1: INVALID_PARAMETER, even to cancel */
    case 3: return callback_b;
    default: return callback_a;
    }
}

PHW_TIMER routine_sel(uint8_t sel)
{
    switch (sel % 3) {
    case 0: return NULL; /* S7.5: a NULL routine with a value > 0 changes nothing */
    case 1: return routine_a;
    default: return routine_b;
    }
}

STOR_SPINLOCK lock_sel(uint8_t sel)
{
    static const STOR_SPINLOCK kinds[] = {StartIoLock, StartIoLock, DpcLock, InterruptLock,
                                          (STOR_SPINLOCK)0, (STOR_SPINLOCK)7};
    return kinds[sel % (sizeof kinds / sizeof kinds[0])];
}

void *context_of(int behaviour)
{
    return behaviour >= 0 ? (void *)&prog.behaviours[behaviour] : (void *)(uintptr_t)0x5ca1ab1e;
}

int behaviour_of_context(const void *context)
{
    const behaviour *b = context;
    if (b < prog.behaviours || b >= prog.behaviours + prog.behaviour_count)
        return -1;
    return (int)(b - prog.behaviours);
}

/* ---- calls shared by operations and callback actions ---- */

void count_call(void)
{
    if (current == &library_side)
        totals.calls++;
}

ULONG request(side *s, uint32_t what, void *extension, void *handle,
                     PHW_TIMER_EX callback, int behaviour, uint64_t value, uint64_t window)
{
    if (behaviour >= 0) {
        s->self_handle[behaviour] = (uint64_t)(uintptr_t)handle;
        s->self_extension[behaviour] = extension;
    }
    count_call();
    return record_status(what, s->api->request(extension, handle, callback,
                                               context_of(behaviour), value, window));
}

void initialize(side *s, uint32_t what, void *extension, uint8_t slot, bool null_out)
{
    if (s->initializes++ >= INITIALIZE_LIMIT) {
        record_value(VAL_SKIPPED, what);
        return;
    }
    void *out = (void *)(uintptr_t)0x5a5a5a5a5a5a5a5au; /* S4.6: NULL on failure */
    count_call();
    ULONG status = record_status(what, s->api->initialize(extension, null_out ? NULL : &out));
    if (!null_out)
        record_value(VAL_HANDLE_OUT, (uint64_t)(uintptr_t)out);
    if (status == STOR_STATUS_SUCCESS)
        s->handles[slot] = (uint64_t)(uintptr_t)out;
}

void remove_adapter(side *s, uint32_t what, void *extension)
{
    ULONG leaked = 0xdead;
    count_call();
    if (record_status(what, s->api->adapter_remove(extension, &leaked)) != STOR_STATUS_SUCCESS)
        return;
    record_value(VAL_LEAKED, leaked);
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        if (s->live[i] && s->extension[i] == extension)
            s->live[i] = false;
}

stortimer_stats library_before;

/* Process totals grown during this input; a maximum cannot be subtracted. */
void since_input_start(const side *s, stortimer_stats *st)
{
    static const stortimer_stats model_before; /* the model starts every input at 0 */
    const stortimer_stats *before = s == &library_side ? &library_before : &model_before;
#define SINCE(field) st->field -= before->field;
    SINCE(timers_live) SINCE(timers_initialized) SINCE(timers_freed) SINCE(timers_leaked)
    SINCE(armed) SINCE(cancelled) SINCE(busy) SINCE(fired) SINCE(legacy_armed)
    SINCE(legacy_fired) SINCE(handed_over) SINCE(rejected) SINCE(notification_misuse)
    SINCE(lock_misuse) SINCE(wakeups) SINCE(lateness_total_us) SINCE(timers_pending)
    SINCE(rejected_invalid_parameter) SINCE(rejected_invalid_irql)
    SINCE(rejected_unsuccessful) SINCE(rejected_insufficient_resources)
    SINCE(dpcs_initialized) SINCE(dpc_init_refused) SINCE(dpcs_issued)
    SINCE(dpcs_already_queued) SINCE(dpc_issue_refused) SINCE(dpcs_started) SINCE(dpcs_returned)
    SINCE(dpcs_dropped) SINCE(dpc_runaway_stops) SINCE(dpc_lateness_total_us)
    SINCE(synchronized_calls) SINCE(pauses) SINCE(resumes) SINCE(resumes_unpaused)
    SINCE(pause_expiries) SINCE(unit_pauses) SINCE(unit_resumes) SINCE(unit_resumes_unpaused)
    SINCE(unit_pause_expiries) SINCE(long_stalls) SINCE(time_query_misuse)
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++) {
        SINCE(lateness_histogram[i])
        SINCE(dpc_lateness_histogram[i])
    }
#undef SINCE
    st->lateness_max_us = 0;
    st->dpc_lateness_max_us = 0;
}

void read_stats(side *s, uint32_t what, void *extension)
{
    stortimer_stats st;
    count_call();
    if (record_status(what, s->api->stats_read(extension, &st)) != STOR_STATUS_SUCCESS)
        return;
    if (!extension)
        since_input_start(s, &st);
    const ULONGLONG fields[] = {
        st.timers_live, st.timers_initialized, st.timers_freed, st.timers_leaked, st.armed,
        st.cancelled, st.busy, st.fired, st.legacy_armed, st.legacy_fired, st.handed_over,
        st.rejected, st.notification_misuse, st.lock_misuse, st.wakeups, st.lateness_max_us,
        st.lateness_total_us, st.timers_pending, st.rejected_invalid_parameter,
        st.rejected_invalid_irql, st.rejected_unsuccessful, st.rejected_insufficient_resources,
    };
    const size_t n = sizeof fields / sizeof fields[0];
    for (size_t i = 0; i < n; i += 4) /* four to an event */
        record(EV_VALUE, VAL_STATS, fields[i], i + 1 < n ? fields[i + 1] : 0,
               i + 2 < n ? fields[i + 2] : 0, i + 3 < n ? fields[i + 3] : 0);
    for (int k = 0; k < 2; k++) {
        const ULONGLONG *h = k ? st.dpc_lateness_histogram : st.lateness_histogram;
        for (size_t i = 0; i < STORTIMER_LATENESS_BUCKETS; i += 4)
            record(EV_VALUE, VAL_STATS, h[i], i + 1 < STORTIMER_LATENESS_BUCKETS ? h[i + 1] : 0,
                   i + 2 < STORTIMER_LATENESS_BUCKETS ? h[i + 2] : 0,
                   i + 3 < STORTIMER_LATENESS_BUCKETS ? h[i + 3] : 0);
    }
    /* S17.8. Where a refusal with no adapter to blame, a long stall or a
     * NULL CurrentTime is counted (which adapter, or the process) SPEC
     * leaves open: those are compared in the process totals only. */
    const bool process = extension == NULL;
    /* A pause or resume made above DISPATCH_LEVEL takes effect "shortly
     * after" (S16.9): at the adapter's next call, read or advance. A read
     * of the process totals is none of these, so mid-input it may or may
     * not count one; the pause counters are compared there only at the
     * end, once every adapter is removed (S16.10). */
    if (process && what != 1001)
        st.pauses = st.resumes = st.resumes_unpaused = st.pause_expiries = st.unit_pauses =
            st.unit_resumes = st.unit_resumes_unpaused = st.unit_pause_expiries = 0;
    const ULONGLONG added[] = {
        st.dpcs_initialized, process ? st.dpc_init_refused : 0, st.dpcs_issued,
        st.dpcs_already_queued, process ? st.dpc_issue_refused : 0, st.dpcs_started,
        st.dpcs_returned, st.dpcs_dropped, st.dpc_runaway_stops, st.dpc_lateness_max_us,
        st.dpc_lateness_total_us, st.synchronized_calls, st.pauses, st.resumes,
        st.resumes_unpaused, st.pause_expiries, st.unit_pauses, st.unit_resumes,
        st.unit_resumes_unpaused, st.unit_pause_expiries, process ? st.long_stalls : 0,
        process ? st.time_query_misuse : 0,
    };
    const size_t m = sizeof added / sizeof added[0];
    for (size_t i = 0; i < m; i += 4)
        record(EV_VALUE, VAL_STATS, added[i], i + 1 < m ? added[i + 1] : 0,
               i + 2 < m ? added[i + 2] : 0, i + 3 < m ? added[i + 3] : 0);
}

/* ---- S13-S17 ---- */

/* The STOR_DPCs of a program: one set, used by both sides. The model never
 * touches them (it knows a DPC by its address, S14.2), so both sides see
 * the same addresses and traces compare them directly. */
STOR_DPC dpc_objects[PROGRAM_DPC_SLOTS];

void *dpc_arg_value(const side *s, dpc_arg d)
{
    switch (d.kind) {
    case DPC_SLOT: return &dpc_objects[d.slot];
    case DPC_NULL: return NULL;
    case DPC_INTERIOR: return (char *)&dpc_objects[d.slot] + sizeof(ULONG_PTR);
    default: return s->extension[d.slot % PROGRAM_ADAPTER_SLOTS];
    }
}

static PHW_DPC_ROUTINE dpc_routine_sel(uint8_t sel)
{
    switch (sel % 3) {
    case 0: return NULL;
    case 1: return dpc_routine_a;
    default: return dpc_routine_b;
    }
}

static PSTOR_SYNCHRONIZED_ACCESS sync_sel(uint8_t sel)
{
    switch (sel % 3) {
    case 0: return NULL;
    case 1: return sync_true;
    default: return sync_false;
    }
}

/* A unit address (PathId, TargetId, Lun): twelve distinct ones. */
static void unit_address(uint8_t unit, UCHAR *path, UCHAR *target, UCHAR *lun)
{
    *path = (UCHAR)(unit / 6);
    *target = (UCHAR)(unit % 6);
    *lun = (UCHAR)(unit % 2);
}

static void pause_call(side *s, uint32_t what, void *extension, const step *a)
{
    UCHAR path, target, lun;
    unit_address(a->unit, &path, &target, &lun);
    ULONG timeout = (ULONG)a->value;
    KIRQL old = 0;
    bool raise = a->sel & 4; /* an interrupt path (S16.9) */
    if (raise)
        old = s->api->irql_raise(STOR_DEVICE_LEVEL);
    BOOLEAN answer;
    count_call();
    switch (a->sel % 4) {
    case 0: answer = s->api->pause(extension, timeout); break;
    case 1: answer = s->api->resume(extension); break;
    case 2: answer = s->api->pause_device(extension, path, target, lun, timeout); break;
    default: answer = s->api->resume_device(extension, path, target, lun); break;
    }
    if (raise)
        s->api->irql_lower(old);
    record(EV_VALUE, VAL_ANSWER, what, answer, 0, 0);
}

static void pause_state_call(side *s, uint32_t what, void *extension, const step *a)
{
    if (s->api->irql_current() > DISPATCH_LEVEL) { /* S17.6: at or below DISPATCH_LEVEL */
        record_value(VAL_SKIPPED, what);
        return;
    }
    UCHAR path, target, lun;
    unit_address(a->unit, &path, &target, &lun);
    stortimer_pause_state state = {.paused = 0x77, .held = 0x77, .until_us = 7, .last_end = 77};
    stortimer_pause_state *out = a->sel % 16 == 15 ? NULL : &state;
    count_call();
    ULONG status = a->sel & 1 ? s->api->unit_pause_state(extension, path, target, lun, out)
                              : s->api->adapter_pause_state(extension, out);
    record_status(what, status);
    if (status == STOR_STATUS_SUCCESS)
        record(EV_VALUE, VAL_PAUSE_STATE, state.paused, state.held,
               state.paused ? state.until_us : 0, state.last_end);
}

/* The four views of S13.2, as a miniport reads them (S13.6-S13.9). */
static void query_time_call(side *s, uint32_t what, void *extension, const step *a)
{
    const LONGLONG untouched = 0x0123456789abcdefLL;
    unsigned variant = a->sel % 16;
    if (s->in_routine || s->bound >= 0) { /* the real clock is not modelled */
        LARGE_INTEGER system_time = {.QuadPart = untouched};
        count_call();
        s->api->query_system_time(variant == 0 ? NULL : &system_time);
        record(EV_VALUE, VAL_TIME, what, 1, (uint64_t)system_time.QuadPart, 0);
    }
    LARGE_INTEGER counter = {.QuadPart = untouched}, frequency = {.QuadPart = untouched};
    count_call();
    ULONG status = s->api->query_performance_counter(extension, variant == 1 ? NULL : &frequency,
                                                     variant == 2 ? NULL : &counter);
    record(EV_VALUE, VAL_TIME, what, 2 + ((uint64_t)status << 8), (uint64_t)counter.QuadPart,
           (uint64_t)frequency.QuadPart);
    LARGE_INTEGER ticks = {.QuadPart = untouched};
    count_call();
    s->api->query_tick_count(extension, variant == 3 ? NULL : &ticks);
    ULONG interval = 0xabababab;
    count_call();
    status = s->api->query_timer_min_interval(extension, variant == 4 ? NULL : &interval);
    record(EV_VALUE, VAL_TIME, what, 3 + ((uint64_t)status << 8), (uint64_t)ticks.QuadPart,
           interval);
}

/* The S13-S16 calls: from a top-level operation, or from a routine's action
 * (whose kind is then given as the operation's, see callbacks.c). */
void new_routine_call(side *s, uint32_t what, const step *a)
{
    void *extension = extension_arg(s, a->ext);
    switch (a->kind) {
    case OP_INITIALIZE_DPC: {
        bool raise = a->sel & 4; /* refused above DISPATCH_LEVEL (S14.3) */
        KIRQL old = raise ? s->api->irql_raise(STOR_DEVICE_LEVEL) : 0;
        count_call();
        s->api->initialize_dpc(extension, dpc_arg_value(s, a->dpc), dpc_routine_sel(a->sel));
        if (raise)
            s->api->irql_lower(old);
        break;
    }
    case OP_ISSUE_DPC: {
        bool raise = a->sel & 2; /* an interrupt path: handed over (S14.5) */
        KIRQL old = raise ? s->api->irql_raise(STOR_DEVICE_LEVEL) : 0;
        void *dpc = dpc_arg_value(s, a->dpc);
        void *argument1 = context_of(a->behaviour);
        void *argument2 = (void *)(uintptr_t)a->value;
        count_call();
        if (a->sel & 1) {
            LONG result = 0; /* a zeroed LONG gets one byte (S14.1) */
            s->api->issue_dpc_notification(extension, dpc, argument1, argument2,
                                           a->sel % 16 == 1 ? NULL : &result);
            record(EV_VALUE, VAL_ANSWER, what, 2, (uint64_t)(uint32_t)result, 0);
        } else {
            BOOLEAN answer = s->api->issue_dpc(extension, dpc, argument1, argument2);
            record(EV_VALUE, VAL_ANSWER, what, 1, answer, 0);
        }
        if (raise)
            s->api->irql_lower(old);
        break;
    }
    case OP_SYNCHRONIZE: {
        count_call();
        BOOLEAN answer = s->api->synchronize_access(extension, sync_sel(a->sel),
                                                    context_of(a->behaviour));
        record(EV_VALUE, VAL_ANSWER, what, 3, answer, 0);
        break;
    }
    case OP_PAUSE:
        pause_call(s, what, extension, a);
        break;
    case OP_PAUSE_STATE:
        pause_state_call(s, what, extension, a);
        break;
    case OP_QUERY_TIME:
        query_time_call(s, what, extension, a);
        break;
    default:
        break;
    }
}
