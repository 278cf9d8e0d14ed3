/*
 * sync_fixture.h - what the S15 StorPortSynchronizeAccess tests share: a
 * probe routine that records what it saw, adapters of either duplex, another
 * thread's attempt at a lock, and lsi_u3's legacy timer that calls
 * StorPortSynchronizeAccess.
 */
#ifndef STORTIMER_TEST_SYNC_FIXTURE_H
#define STORTIMER_TEST_SYNC_FIXTURE_H

#include "harness.h"

/* What a synchronized routine saw; Context is one of these. */
typedef struct sync_probe {
    fixture *fx;
    _Atomic int ran;
    PVOID seen_ext, seen_context;
    KIRQL irql;
    BOOLEAN answer;
    /* Optional: run inside the routine after recording. */
    void (*then)(struct sync_probe *s, PVOID ext);
    ULONG status[4];
    ULONGLONG at_start, at_end;
    void *user;
} sync_probe;

/* The synchronized routine: records into its sync_probe, returns its answer. */
BOOLEAN sync_routine(PVOID ext, PVOID context);

/* An adapter on fx's clock, full- or half-duplex. */
PVOID duplex_adapter(fixture *fx, bool half_duplex);

/* The adapter's lock_misuse count. */
ULONGLONG misuse_of(PVOID ext);

/* Another thread's attempt at an adapter lock. */
typedef struct locker {
    PVOID ext;
    STOR_SPINLOCK kind;
    _Atomic int trying, acquired;
} locker;

/* Whether another thread can take `kind` now (waits 30 ms for it). */
bool lock_free_for_others(PVOID ext, STOR_SPINLOCK kind, test_thread **t, locker *l);

/* lsi_u3: arms the legacy timer, whose callback calls StorPortSynchronizeAccess,
 * and checks it ran there (with a misuse counted if half-duplex). */
void run_lsi_timer(fixture *fx, bool half_duplex);

#endif
