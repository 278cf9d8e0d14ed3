/*
 * clock.h - the real monotonic clock and virtual clocks (SPEC S11).
 */
#ifndef STORTIMER_CLOCK_H
#define STORTIMER_CLOCK_H

#include "adapter.h"

#include <pthread.h>
#include <stdatomic.h>

struct stortimer_clock {
    uint32_t id;                     /* 1, 2, ... by creation (event log) */
    _Atomic uint64_t now;            /* microseconds */
    pthread_mutex_t list_lock;       /* guards the adapter list */
    st_adapter *adapters;
    uint32_t adapter_count;
    pthread_mutex_t advance_lock;    /* one advance at a time */
    /* An advance runs at the last microsecond (adapter.h,
     * end_of_time_orders); under the list lock. */
    bool end_of_time;
};

/*
 * The real clock in microseconds, rounded down for "is it due yet" and up
 * for "when was this call": a timer armed at ceil(t0) + value fires at a
 * floor(t1) >= that, so t1 - t0 >= value to the nanosecond (never early).
 * Both async-signal-safe.
 */
uint64_t st_real_now_floor(void);
uint64_t st_real_now_ceil(void);

/* Adds an adapter to, or removes it from, a virtual clock's list. */
void st_clock_attach(stortimer_clock *clock, st_adapter *a);
void st_clock_detach(stortimer_clock *clock, st_adapter *a);

/* Moves a virtual clock forward to at least `time` (never backwards). */
void st_clock_raise_to(stortimer_clock *clock, uint64_t time);

#endif
