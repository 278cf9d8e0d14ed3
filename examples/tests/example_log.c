/*
 * example_log.c - the event-log readers and the rig of example_log.h.
 */
#include "example_log.h"

#include <stdio.h>
#include <stdlib.h>

#define LOG_CAPACITY 16384
#define STORY_SIZE 4096

static stortimer_event events_copy[LOG_CAPACITY];
static char story[STORY_SIZE];

void log_begin(void)
{
    CHECK_STATUS(stortimer_log_start(LOG_CAPACITY), STOR_STATUS_SUCCESS);
}

size_t log_events(const stortimer_event **events)
{
    size_t n = stortimer_log_read(events_copy, 0, LOG_CAPACITY);
    CHECK(n < LOG_CAPACITY);          /* a full copy could hide the last events */
    CHECK_EQ(stortimer_log_dropped(), 0);
    *events = events_copy;
    return n;
}

/* Appends "name@time" (ms, shortest exact form) to the story. */
static void story_add(size_t *used, const stortimer_event *e)
{
    char time[32];
    if (e->time % MS == 0)
        snprintf(time, sizeof time, "%llu", (unsigned long long)(e->time / MS));
    else {
        snprintf(time, sizeof time, "%.3f", (double)e->time / MS);
        for (char *end = time + strlen(time) - 1; *end == '0'; end--)
            *end = '\0';
    }
    int n = snprintf(story + *used, STORY_SIZE - *used, "%s%s@%s", *used ? " " : "",
                     stortimer_event_name(e->type), time);
    CHECK(n > 0 && (size_t)n < STORY_SIZE - *used);
    *used += (size_t)n;
}

static const char *story_of(PVOID extension, PVOID handle, BOOLEAN legacy, unsigned types)
{
    const stortimer_event *events;
    size_t n = log_events(&events), used = 0;
    story[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const stortimer_event *e = &events[i];
        bool mine = legacy ? e->legacy && e->extension == extension : e->handle == handle;
        if (mine && (types & LOG_TYPE(e->type)))
            story_add(&used, e);
    }
    return story;
}

const char *log_story(PVOID handle, unsigned types)
{
    CHECK(handle != NULL);
    return story_of(NULL, handle, FALSE, types);
}

const char *log_legacy_story(PVOID extension, unsigned types)
{
    return story_of(extension, NULL, TRUE, types);
}

size_t log_count_after(PVOID extension, stortimer_event_type type, ULONGLONG after)
{
    const stortimer_event *events;
    size_t n = log_events(&events), count = 0;
    for (size_t i = 0; i < n; i++)
        if (events[i].extension == extension && events[i].type == type &&
            events[i].time > after)
            count++;
    return count;
}

stortimer_event log_last(PVOID extension, PVOID handle, stortimer_event_type type)
{
    const stortimer_event *events;
    size_t n = log_events(&events);
    for (size_t i = n; i-- > 0;) {
        const stortimer_event *e = &events[i];
        bool mine = handle ? e->handle == handle : e->extension == extension;
        if (mine && e->type == type)
            return *e;
    }
    test_failf(__FILE__, __LINE__, "no %s event for that timer", stortimer_event_name(type));
    return (stortimer_event){0};
}

stortimer_event log_nth(PVOID extension, PVOID handle, stortimer_event_type type, unsigned n)
{
    const stortimer_event *events;
    size_t count = log_events(&events);
    for (size_t i = 0; i < count; i++) {
        const stortimer_event *e = &events[i];
        bool mine = handle ? e->handle == handle : e->extension == extension;
        if (mine && e->type == type && n-- == 0)
            return *e;
    }
    test_failf(__FILE__, __LINE__, "too few %s events for that timer",
               stortimer_event_name(type));
    return (stortimer_event){0};
}

/* ---- the rig ---- */

static void destroy_device(void *device)
{
    hw_model_destroy(device);
}

void example_rig_begin(example_rig *rig)
{
    log_begin();
    rig->clock = test_virtual_clock();
    rig->device = NULL;
    rig->extension = NULL;
}

void example_rig_adapter(example_rig *rig, size_t extension_size, ULONG max_timers,
                         BOOLEAN half_duplex)
{
    CHECK(rig->device != NULL);
    /* Registered after the clock's clean-up, so it runs before it. */
    test_at_end(destroy_device, rig->device);
    stortimer_adapter_config config = {
        .extension_size = extension_size,
        .max_timers = max_timers,
        .half_duplex = half_duplex,
        .clock = rig->clock,
    };
    CHECK_STATUS(stortimer_adapter_create(&config, &rig->extension), STOR_STATUS_SUCCESS);
}

ULONG example_remove(example_rig *rig)
{
    ULONG leaked = 12345;
    CHECK_STATUS(stortimer_adapter_remove(rig->extension, &leaked), STOR_STATUS_SUCCESS);
    return leaked;
}

void with_startio_lock(PVOID extension, void (*fn)(PVOID extension, void *context),
                       void *context)
{
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(extension, StartIoLock, NULL, &lock);
    fn(extension, context);
    StorPortReleaseSpinLock(extension, &lock);
}

static hw_write writes_copy[2048];

ULONGLONG write_time(hw_model *device, ULONG offset, ULONG mask, ULONG value, unsigned n)
{
    size_t count = hw_model_writes(device, writes_copy, 2048);
    for (size_t i = 0; i < count; i++)
        if (writes_copy[i].offset == offset && (writes_copy[i].value & mask) == value &&
            n-- == 0)
            return writes_copy[i].at;
    test_failf(__FILE__, __LINE__, "no such write to register 0x%X", offset);
    return 0;
}

unsigned write_count(hw_model *device, ULONG offset, ULONG mask, ULONG value)
{
    size_t count = hw_model_writes(device, writes_copy, 2048);
    unsigned found = 0;
    for (size_t i = 0; i < count; i++)
        if (writes_copy[i].offset == offset && (writes_copy[i].value & mask) == value)
            found++;
    return found;
}
