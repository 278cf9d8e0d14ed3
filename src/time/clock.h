/*
 * clock.h - the real monotonic clock and virtual clocks (SPEC S11).
 *
 * A virtual clock keeps a record of each adapter on it (st_clock_member),
 * registered as that adapter's runner: the clock's advances run the
 * adapter's due work (stepping.c). A real-clock adapter's runner is its
 * dispatcher thread (dispatcher.c).
 */
#ifndef STORTIMER_TIME_CLOCK_H
#define STORTIMER_TIME_CLOCK_H

#include "adapters/adapter.h"
#include "platform/sync.h"
#include "time/scale.h"

/* A virtual clock's record of one of its adapters. */
typedef struct st_clock_member {
    st_adapter *adapter;
    struct st_clock_member *prev, *next;  /* under the clock's list lock */
    /* A thread advancing the clock holds the adapter's StartIo lock: its
     * callbacks wait for it (they are not waited for). */
    _Atomic bool startio_held_by_advancer;
    /* While an advance runs at the clock's last microsecond, 2^64 - 1,
     * where every arm is due at once: the adapter's next arm order when it
     * got there; arms from then on wait for the next advance. 0: none. */
    _Atomic uint64_t cutoff;
} st_clock_member;

struct stortimer_clock {
    uint32_t id;                     /* 1, 2, ... by creation (event log) */
    _Atomic uint64_t now;            /* microseconds */
    st_mutex list_lock;              /* guards the member list */
    st_clock_member *members;
    _Atomic uint32_t member_count;   /* changed under the list lock */
    /* Records of adapters that left the clock, for the next to come: a
     * thread that waits for an adapter's StartIo lock without the list lock
     * may still read its record, so records live as long as the clock. */
    st_clock_member *spare;
    st_mutex advance_lock;           /* one advance at a time */
    bool end_of_time;                /* an advance runs at 2^64 - 1 (list lock) */
    st_time_scale scale;             /* tick and system-time base (S13.2) */
    struct stortimer_clock *live_next; /* the live clocks (clock.c) */
};

/* Whether `clock` is a live virtual clock (compares addresses only). */
bool st_clock_is_live(const stortimer_clock *clock);


/*
 * The real clock in microseconds, rounded down for "is it due yet" and up
 * for "when was this call": a timer armed at ceil(t0) + value fires at a
 * floor(t1) >= that, so t1 - t0 >= value to the nanosecond (never early,
 * S5.4.1). Both async-signal-safe.
 */
uint64_t st_real_now_floor(void);
uint64_t st_real_now_ceil(void);

/* A clock's reading for computing a due time: the time of the call. */
static inline uint64_t st_clock_arm_time(const stortimer_clock *clock)
{
    return clock ? atomic_load_explicit(&clock->now, memory_order_acquire)
                 : st_real_now_ceil();
}

/* The clock's number for the event log: 0 for the real clock (NULL), then
 * 1, 2, ... by creation. */
static inline uint32_t st_clock_id(const stortimer_clock *clock)
{
    return clock ? clock->id : 0;
}

/* Moves a virtual clock forward to at least `time` (never backwards). */
void st_clock_raise_to(stortimer_clock *clock, uint64_t time);

/* Puts an adapter on a virtual clock (its runner); false if no memory. */
bool st_clock_attach(stortimer_clock *clock, st_adapter *a);

/* Takes an adapter off its virtual clock. */
void st_clock_detach(stortimer_clock *clock, st_adapter *a);

/* StorPortStallExecution's wait (S9.2, S9.3): a virtual clock (the
 * thread's binding) moves by `delay` us; on the real clock (NULL) the
 * thread waits. */
void st_clock_stall(stortimer_clock *clock, uint32_t delay);

#endif
