/*
 * time_fixture.h - what the S13 time tests share: reading every view of the
 * time as a miniport would, and a callback that does so when it fires.
 */
#ifndef STORTIMER_TEST_TIME_FIXTURE_H
#define STORTIMER_TEST_TIME_FIXTURE_H

#include "harness.h"

#define EPOCH STORTIMER_VIRTUAL_EPOCH_100NS
#define SENTINEL 0x5A5A5A5A5A5A5A5ALL

/* The views as the miniport's routines report them, one after the other. */
void read_all(PVOID ext, stortimer_clock *clock, stortimer_time_views *v);

/* The host's reading of clock's views (checking it succeeds). */
stortimer_time_views views_of(stortimer_clock *clock);

/* StorPortQuerySystemTime on this thread. */
LONGLONG system_time_now(void);

/* The adapter's performance counter (checking the query succeeds). */
LONGLONG counter_of(PVOID ext);

/* A callback that reads everything at its start: Context is a stamp. */
typedef struct stamp {
    fixture *fx;
    PVOID ext;
    stortimer_time_views r, v;
    LONGLONG sys_in_dpc;
    _Atomic int fired;
} stamp;

VOID stamp_callback(PVOID ext, PVOID context);

#endif
