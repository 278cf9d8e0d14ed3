/*
 * runs_fixture.h - what the S17 difference tests share: a record of
 * routine runs (who, on which thread, when, overlapping or not) and
 * routines that write to it.
 */
#ifndef STORTIMER_TEST_RUNS_FIXTURE_H
#define STORTIMER_TEST_RUNS_FIXTURE_H

#include "harness.h"

#define SECOND 1000000ull
#define TAG(c) ((PVOID)(uintptr_t)(c))
#define RUNS_MAX 512

typedef struct runs_record {
    _Atomic int n, inside, overlapped, self_inside, self_overlapped;
    char who[RUNS_MAX];
    long tid[RUNS_MAX];
    ULONGLONG at[RUNS_MAX];
    fixture *fx;
} runs_record;

extern runs_record runs;

/* Records one run; with `linger` on the real clock, stays inside a while
 * so that an overlapping run would be seen. */
void note(char who, bool linger);

/* Routines that note 'D', 'O', their context's letter and 'L'. */
VOID dpc_note(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2);
VOID dpc_other(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2);
VOID timer_note(PVOID E, PVOID C);
VOID legacy_note(PVOID E);

/* The adapter's pause state, read successfully. */
stortimer_pause_state pause_of(PVOID ext);

#endif
