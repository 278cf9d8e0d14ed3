/*
 * pause_fixture.h - what the S16 pause tests share: the host's pause-state
 * queries, the virtual clock, and a read of the event log.
 */
#ifndef STORTIMER_TEST_PAUSE_FIXTURE_H
#define STORTIMER_TEST_PAUSE_FIXTURE_H

#include "harness.h"

#include <stddef.h>

#define SECOND 1000000ull

/* The adapter's pause state (checking the query succeeds). */
stortimer_pause_state adapter_state(PVOID ext);

/* The pause state of unit (p, t, l) (checking the query succeeds). */
stortimer_pause_state unit_state(PVOID ext, UCHAR p, UCHAR t, UCHAR l);

/* virtual_fixture()'s clock. */
stortimer_clock *vclock(void);

#define EV_MAX 256

/* The events read_log last read. */
extern stortimer_event ev[EV_MAX];

/* Reads the event log from the start into ev; returns how many. */
size_t read_log(void);

/* The index of the first event of `type` in ev[from, count), or -1. */
int find_event(size_t count, size_t from, stortimer_event_type type);

/* Counts timer callbacks (and, in S16.1, legacy timer and DPC runs). */
extern _Atomic int ran;
VOID count_timer(PVOID E, PVOID C);

/* What look_at_pause, a timer callback, saw of its adapter's pause state. */
typedef struct pause_seen {
    PVOID ext;
    stortimer_pause_state seen;
    ULONG query;
    _Atomic int done;
} pause_seen;

extern pause_seen inside;
VOID look_at_pause(PVOID E, PVOID C);

/* Waits (real clock) until the adapter's pause state says `paused`. */
bool await_paused(fixture *fx, PVOID ext, BOOLEAN paused);

#endif
