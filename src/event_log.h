/*
 * event_log.h - recording what the library does, for tests and traces.
 *
 * Off by default. While off, a call site pays one relaxed load of
 * st_log_on (st_logging) and a branch; the event is built only when it is
 * on. Recording is lock-free and allocation-free: it runs in signal
 * handlers standing in for interrupts (SPEC S5.7) too.
 */
#ifndef STORTIMER_EVENT_LOG_H
#define STORTIMER_EVENT_LOG_H

#include "adapter.h"

#include <stdatomic.h>
#include <stdbool.h>

extern _Atomic bool st_log_on;

/* For the functions that build and record events: out of the hot path's
 * code, so that a record site costs the callers only a test and a branch. */
#define ST_LOG_PATH __attribute__((cold, noinline))

/* Whether events are being recorded now (a hint: recording checks again). */
static inline bool st_logging(void)
{
    return __builtin_expect(atomic_load_explicit(&st_log_on, memory_order_relaxed), 0);
}

/*
 * Records `event` as happening now on adapter `a`'s clock (NULL: an event
 * of no adapter, on the real clock). Fills in sequence, time, adapter_id,
 * clock_id, thread_id, irql, and extension when the event has none.
 */
ST_LOG_PATH void st_log_record(st_adapter *a, stortimer_event *event);

/* The same on a given clock: for an adapter being removed, already
 * detached from its clock. */
ST_LOG_PATH void st_log_record_on(st_adapter *a, stortimer_clock *clock,
                                  stortimer_event *event);

/* Records the event given by designated initializers, if the log is on:
 * ST_LOG(a, .type = STORTIMER_EVENT_FREED, .handle = h). */
#define ST_LOG(adapter, ...)                                                  \
    do {                                                                      \
        if (st_logging())                                                     \
            st_log_record((adapter), &(stortimer_event){__VA_ARGS__});        \
    } while (0)

/* The log's copy of every recorded event, for the trace writer: calls
 * visit on each in order, under the log's lock. Returns false if visit
 * did. */
bool st_log_visit(bool (*visit)(const stortimer_event *e, void *ctx), void *ctx);

/* The name given to a timer (handle NULL: to an adapter) by
 * stortimer_log_name, or NULL. Under the log's lock: for st_log_visit's
 * visitors only. */
const char *st_log_name_of(uint64_t adapter_id, const void *handle);

#endif
