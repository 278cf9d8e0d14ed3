/*
 * events.h - how the layers below the event log report what they do.
 *
 * The event log lives above them (observe/event_log.c); it connects its
 * recorder here when it starts, so that adapters, the dispatcher and the
 * virtual clocks record events without including it. While the log is off,
 * a record site pays one relaxed load and a branch predicted not taken
 * (st_logging); the event is built only inside the branch, in a function
 * kept out of the hot path's code (ST_LOG_PATH).
 */
#ifndef STORTIMER_ADAPTERS_EVENTS_H
#define STORTIMER_ADAPTERS_EVENTS_H

#include "stortimer.h"

#include <stdatomic.h>
#include <stdbool.h>

struct st_adapter;

/* Records `event` as happening now on `clock` (NULL: the real clock), for
 * adapter `a` (NULL: none). Lock-free, allocation-free: any IRQL. */
typedef void st_event_recorder(struct st_adapter *a, stortimer_clock *clock,
                               stortimer_event *event);

/* The event log connects its recorder and turns recording on and off. */
void st_events_connect(st_event_recorder *recorder);
void st_events_switch(bool on);

/* For the functions that build and record events: out of the hot path's
 * code, so that a record site costs the callers only a test and a branch. */
#define ST_LOG_PATH __attribute__((cold, noinline))

extern _Atomic bool st_events_on;

/* Whether events are being recorded now (a hint: recording checks again). */
static inline bool st_logging(void)
{
    return __builtin_expect(atomic_load_explicit(&st_events_on, memory_order_relaxed), 0);
}

/* Records `event` on adapter `a`'s clock (a NULL: on the real clock). */
ST_LOG_PATH void st_log_record(struct st_adapter *a, stortimer_event *event);

/* The same on a given clock: for an adapter being removed, already
 * detached from its clock. */
ST_LOG_PATH void st_log_record_on(struct st_adapter *a, stortimer_clock *clock,
                                  stortimer_event *event);

/* Records the event given by designated initializers, if the log is on:
 * ST_LOG(a, .type = STORTIMER_EVENT_FREED, .handle = h). */
#define ST_LOG(adapter, ...)                                                  \
    do {                                                                      \
        if (st_logging())                                                     \
            st_log_record((adapter), &(stortimer_event){__VA_ARGS__});        \
    } while (0)

#endif
