/*
 * side.c - a side's trace, the arguments a step resolves to on it, and the
 * calls that operations and callbacks both make (side.h).
 */
#include "side.h"

#include <stdio.h>

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
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        SINCE(lateness_histogram[i])
#undef SINCE
    st->lateness_max_us = 0;
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
    const ULONGLONG *h = st.lateness_histogram;
    for (size_t i = 0; i < STORTIMER_LATENESS_BUCKETS; i += 4)
        record(EV_VALUE, VAL_STATS, h[i], i + 1 < STORTIMER_LATENESS_BUCKETS ? h[i + 1] : 0,
               i + 2 < STORTIMER_LATENESS_BUCKETS ? h[i + 2] : 0,
               i + 3 < STORTIMER_LATENESS_BUCKETS ? h[i + 3] : 0);
}
