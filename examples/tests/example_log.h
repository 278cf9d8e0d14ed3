/*
 * example_log.h - reading stortimer's event log back in the example tests,
 * and the small rig each test builds: a virtual clock, a simulated device,
 * an adapter whose extension is the test's miniport.
 *
 * A timer's "story" is its events in order, as "armed@0 fired@10 ...":
 * event names as stortimer_event_name gives them, times in milliseconds of
 * the virtual clock (fractions where needed: "busy@25.5"). One string states
 * the exact sequence and the exact times at once.
 */
#ifndef STORTIMER_EXAMPLE_LOG_H
#define STORTIMER_EXAMPLE_LOG_H

#include "harness.h"
#include "hw_model.h"

#include <string.h>

#define CHECK_STR(a, b)                                                           \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (strcmp(a_, b_) != 0)                                                  \
            test_failf(__FILE__, __LINE__, "%s\n      got      \"%s\"\n"          \
                       "      expected \"%s\"", #a, a_, b_);                      \
    } while (0)

#define MS 1000u

/* Event types as a mask for log_story; LOG_DEFAULT: all but RETURNED. */
#define LOG_TYPE(type) (1u << (type))
#define LOG_DEFAULT (~LOG_TYPE(STORTIMER_EVENT_RETURNED))

/* Starts recording for this test (each test runs in a process of its own). */
void log_begin(void);

/* Every event recorded so far; the pointer stays valid until the next call. */
size_t log_events(const stortimer_event **events);

/* The story of an extended timer, by handle, of the event types in `types`. */
const char *log_story(PVOID handle, unsigned types);

/* The story of an adapter's legacy timer (RequestTimerCall). */
const char *log_legacy_story(PVOID extension, unsigned types);

/* How many events of `type` the adapter recorded after time `after` (us). */
size_t log_count_after(PVOID extension, stortimer_event_type type, ULONGLONG after);

/* The last event of `type` of a timer (NULL: of any timer of the adapter,
 * or of none, e.g. a rejected StorPortInitializeTimer); fails the test when
 * there is none. */
stortimer_event log_last(PVOID extension, PVOID handle, stortimer_event_type type);

/* The n-th (0-based) event of `type` of a timer (NULL: of the adapter);
 * fails the test when there is none. */
stortimer_event log_nth(PVOID extension, PVOID handle, stortimer_event_type type, unsigned n);

/* ---- the rig ---- */

typedef struct example_rig {
    stortimer_clock *clock;
    hw_model *device;
    PVOID extension;
} example_rig;

/*
 * Starts the log, creates a virtual clock and an adapter on it with
 * `extension_size` bytes of extension (`max_timers`, `half_duplex` as in
 * stortimer_adapter_config) for `device`, made by the caller on rig->clock.
 * The device is destroyed when the test ends; the adapter is the test's to
 * remove (example_remove).
 */
void example_rig_begin(example_rig *rig);
void example_rig_adapter(example_rig *rig, size_t extension_size, ULONG max_timers,
                         BOOLEAN half_duplex);

/* Removes the adapter, checking SUCCESS; returns the leaked timer count. */
ULONG example_remove(example_rig *rig);

/* Runs `fn(extension, context)` holding the StartIo lock, as Storport runs HwStartIo. */
void with_startio_lock(PVOID extension, void (*fn)(PVOID extension, void *context),
                       void *context);

/* The time of the n-th (0-based) write of `value` & mask to `offset`; fails when there is none. */
ULONGLONG write_time(hw_model *device, ULONG offset, ULONG mask, ULONG value, unsigned n);

/* How many writes of `value` & mask the miniport made to `offset`. */
unsigned write_count(hw_model *device, ULONG offset, ULONG mask, ULONG value);

#endif
