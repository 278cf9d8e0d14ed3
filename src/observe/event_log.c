/*
 * event_log.c - the event log (stortimer_log_*): a fixed array filled in
 * order, never overwritten.
 *
 * A writer takes the next index with one atomic add, fills that entry and
 * then marks it ready: no lock, no allocation, so an arm made in a signal
 * handler is recorded like any other. When the array is full, events are
 * counted as dropped instead: the first `capacity` events stay exact,
 * which is what a test asserting "this happened, then that" needs.
 *
 * A log is freed only by stortimer_log_start (replacing it), after every
 * writer that may have seen it has finished: writers count themselves in
 * `writers` around their use of the log pointer.
 */
#include "observe/event_log.h"

#include "adapters/events.h"
#include "adapters/timer_ops.h"
#include "platform/alloc.h"
#include "platform/os.h"
#include "platform/thread_state.h"
#include "time/clock.h"

#include <stdlib.h>
#include <string.h>

#define ST_LOG_DEFAULT_CAPACITY 65536u
#define ST_LOG_NAMES_MAX 65536u
#define ST_LOG_NAME_BYTES 64u

typedef struct st_log_entry {
    _Atomic bool ready;
    stortimer_event event;
} st_log_entry;

typedef struct st_log {
    size_t capacity;
    _Atomic uint64_t next;           /* entries taken, possibly > capacity */
    _Atomic uint64_t dropped;
    st_log_entry entries[];
} st_log;

typedef struct st_log_name {
    uint64_t adapter_id;
    const void *handle;
    char name[ST_LOG_NAME_BYTES];
} st_log_name;

static _Atomic(st_log *) current_log;
static _Atomic uint64_t writers;         /* inside record() now */

/* Readers, starts and names; never taken by a writer. */
static st_mutex log_lock = ST_MUTEX_INITIALIZER;
static st_log_name *names;
static size_t name_count, name_room;

/* The recorder connected to adapters/events.h. */
static void record(st_adapter *a, stortimer_clock *clock, stortimer_event *event)
{
    atomic_fetch_add(&writers, 1);
    st_log *log = atomic_load(&current_log);
    if (log && st_logging()) {
        uint64_t n = atomic_fetch_add_explicit(&log->next, 1, memory_order_relaxed);
        if (n < log->capacity) {
            event->sequence = n;
            event->time = stortimer_clock_now(clock);
            event->clock_id = st_clock_id(clock);
            if (a) {
                event->adapter_id = st_adapter_serial(a);
                if (!event->extension)
                    event->extension = st_adapter_extension(a);
            }
            event->thread_id = st_os_thread_id();
            event->irql = st_self.irql;
            st_log_entry *entry = &log->entries[n];
            entry->event = *event;
            atomic_store_explicit(&entry->ready, true, memory_order_release);
        } else {
            atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
        }
    }
    atomic_fetch_sub(&writers, 1);
}

ULONG stortimer_log_start(size_t capacity)
{
    if (st_self.callback_adapter || st_self.irql > DISPATCH_LEVEL)
        return STOR_STATUS_INVALID_DEVICE_STATE;
    if (!capacity)
        capacity = ST_LOG_DEFAULT_CAPACITY;
    if (capacity > (SIZE_MAX - sizeof(st_log)) / sizeof(st_log_entry))
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    /* calloc: the kernel hands out zero pages as they are first touched,
     * so a large capacity costs memory only as events arrive. */
    st_log *log = st_calloc(1, sizeof *log + capacity * sizeof(st_log_entry));
    if (!log)
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    log->capacity = capacity;
    st_mutex_lock(&log_lock);
    st_log *old = atomic_exchange(&current_log, log);
    st_events_connect(record);
    st_events_switch(true);
    /* Writers are brief and never block: wait for those that may still
     * hold the old log. */
    while (old && atomic_load(&writers))
        st_os_yield();
    st_mutex_unlock(&log_lock);
    st_free(old);
    return STOR_STATUS_SUCCESS;
}

void stortimer_log_stop(void)
{
    st_events_switch(false);
}

size_t stortimer_log_count(void)
{
    st_mutex_lock(&log_lock);
    st_log *log = atomic_load(&current_log);
    size_t count = 0;
    if (log) {
        uint64_t next = atomic_load(&log->next);
        count = next < log->capacity ? (size_t)next : log->capacity;
    }
    st_mutex_unlock(&log_lock);
    return count;
}

ULONGLONG stortimer_log_dropped(void)
{
    st_mutex_lock(&log_lock);
    st_log *log = atomic_load(&current_log);
    ULONGLONG dropped = log ? atomic_load(&log->dropped) : 0;
    st_mutex_unlock(&log_lock);
    return dropped;
}

/* Entry i if it is recorded and ready; NULL otherwise. Log lock held. */
static const stortimer_event *ready_entry(const st_log *log, size_t i)
{
    if (!log || i >= log->capacity || i >= atomic_load(&log->next))
        return NULL;
    const st_log_entry *entry = &log->entries[i];
    return atomic_load_explicit(&entry->ready, memory_order_acquire) ? &entry->event : NULL;
}

size_t stortimer_log_read(stortimer_event *events, size_t first, size_t max)
{
    if (!events)
        return 0;
    st_mutex_lock(&log_lock);
    st_log *log = atomic_load(&current_log);
    size_t copied = 0;
    const stortimer_event *e;
    while (copied < max && (e = ready_entry(log, first + copied)))
        events[copied++] = *e;
    st_mutex_unlock(&log_lock);
    return copied;
}

bool st_log_visit(bool (*visit)(const stortimer_event *e, void *ctx), void *ctx)
{
    bool ok = true;
    st_mutex_lock(&log_lock);
    st_log *log = atomic_load(&current_log);
    const stortimer_event *e;
    for (size_t i = 0; ok && (e = ready_entry(log, i)); i++)
        ok = visit(e, ctx);
    st_mutex_unlock(&log_lock);
    return ok;
}

const char *stortimer_event_name(stortimer_event_type type)
{
    switch (type) {
    case STORTIMER_EVENT_ADAPTER_CREATED: return "adapter created";
    case STORTIMER_EVENT_ADAPTER_REMOVED: return "adapter removed";
    case STORTIMER_EVENT_INITIALIZED: return "initialized";
    case STORTIMER_EVENT_ARMED: return "armed";
    case STORTIMER_EVENT_BUSY: return "busy";
    case STORTIMER_EVENT_CANCELLED: return "cancelled";
    case STORTIMER_EVENT_IDLE_CANCEL: return "idle cancel";
    case STORTIMER_EVENT_FIRED: return "fired";
    case STORTIMER_EVENT_RETURNED: return "returned";
    case STORTIMER_EVENT_FREED: return "freed";
    case STORTIMER_EVENT_REJECTED: return "rejected";
    case STORTIMER_EVENT_WAKEUP: return "wake-up";
    case STORTIMER_EVENT_DPC_INITIALIZED: return "DPC initialized";
    case STORTIMER_EVENT_DPC_ISSUED: return "DPC issued";
    case STORTIMER_EVENT_DPC_QUEUED_ALREADY: return "DPC queued already";
    case STORTIMER_EVENT_DPC_STARTED: return "DPC started";
    case STORTIMER_EVENT_DPC_RETURNED: return "DPC returned";
    case STORTIMER_EVENT_DPC_DROPPED: return "DPC dropped";
    case STORTIMER_EVENT_DPC_REFUSED: return "DPC refused";
    case STORTIMER_EVENT_SYNC_ENTERED: return "synchronized routine entered";
    case STORTIMER_EVENT_SYNC_RETURNED: return "synchronized routine returned";
    case STORTIMER_EVENT_PAUSED: return "paused";
    case STORTIMER_EVENT_PAUSE_ENDED: return "pause ended";
    case STORTIMER_EVENT_RESUME_UNPAUSED: return "resume without pause";
    default: return "unknown";
    }
}

/* ---- names, for the trace ---- */

const char *st_log_name_of(uint64_t adapter_id, const void *handle)
{
    for (size_t i = name_count; i-- > 0;) /* the latest name wins */
        if (names[i].adapter_id == adapter_id && names[i].handle == handle)
            return names[i].name;
    return NULL;
}

ULONG stortimer_log_name(PVOID hw_device_extension, PVOID timer_handle, const char *name)
{
    st_adapter_ref ref;
    st_target timer;
    if (!hw_device_extension || !name || !st_adapter_find(hw_device_extension, &ref))
        return STOR_STATUS_INVALID_PARAMETER;
    if (timer_handle && !st_timer_find(hw_device_extension, timer_handle, &timer))
        return STOR_STATUS_INVALID_PARAMETER;
    uint64_t adapter_id = ref.serial;

    ULONG status = STOR_STATUS_SUCCESS;
    st_mutex_lock(&log_lock);
    st_log_name *grown = name_count < ST_LOG_NAMES_MAX
                             ? st_room_for_one(names, &name_room, name_count, sizeof *names, 16)
                             : NULL;
    if (grown)
        names = grown;
    else
        status = STOR_STATUS_INSUFFICIENT_RESOURCES;
    if (status == STOR_STATUS_SUCCESS) {
        st_log_name *entry = &names[name_count++];
        entry->adapter_id = adapter_id;
        entry->handle = timer_handle;
        snprintf(entry->name, sizeof entry->name, "%s", name);
    }
    st_mutex_unlock(&log_lock);
    return status;
}

void st_log_rejected(ULONG status, PVOID extension, PVOID handle, bool legacy)
{
    st_adapter_ref ref;
    st_log_record(st_adapter_find(extension, &ref) ? ref.adapter : NULL,
                  &(stortimer_event){.type = STORTIMER_EVENT_REJECTED, .status = status,
                                     .extension = extension, .handle = handle,
                                     .legacy = legacy});
}
