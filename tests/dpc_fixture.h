/*
 * dpc_fixture.h - what the S14 tests share: a log of DPC routine and timer
 * callback runs in start order, routines that write to it, and the virtual
 * clock's queue.
 */
#ifndef STORTIMER_TEST_DPC_FIXTURE_H
#define STORTIMER_TEST_DPC_FIXTURE_H

#include "harness.h"

#define REC_MAX 256

/* The log: who started (a letter), when, at which IRQL, on which thread,
 * with which DPC, extension and arguments. */
typedef struct dpc_log {
    fixture *fx;
    _Atomic int claimed, n;
    char who[REC_MAX];
    ULONGLONG at[REC_MAX];
    KIRQL irql[REC_MAX];
    long tid[REC_MAX];
    PVOID dpc[REC_MAX], ext[REC_MAX], a1[REC_MAX], a2[REC_MAX];
    _Atomic int inside, overlapped;
} dpc_log;

extern dpc_log rec;

/* Empties the log; times are read on fx's clock. */
void rec_reset(fixture *fx);

/* Appends a start of `who` with a DPC routine's four arguments. */
void rec_add_dpc(char who, PVOID dpc, PVOID ext, PVOID a1, PVOID a2);

/* Appends a start of `who` with first argument a1 (and no others). */
void rec_add(char who, PVOID a1);

/* DPC routines that log 'A', 'B' and 'C' with their arguments. */
VOID dpc_a(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2);
VOID dpc_b(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2);
VOID dpc_c(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2);

/* A timer callback for the same log; Context is its letter. */
VOID timer_rec(PVOID E, PVOID Context);

#define LETTER(c) ((PVOID)(uintptr_t)(c))

/* Whether the log holds exactly these letters, in this order. */
bool order_is(const char *expected);

/* Runs what is queued on a virtual clock (an advance by 0); nothing on the
 * real one, whose dispatcher runs it. */
void run_queued(fixture *fx);

/* Waits until `n` runs are logged (at once on a virtual clock). */
bool ran(fixture *fx, int n);

/* virtual_fixture()'s clock. */
stortimer_clock *vclock(void);

#endif
