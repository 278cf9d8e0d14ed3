/*
 * fault.h - fault injection, for tests only.
 *
 * In a library built with STORTIMER_FAULT_INJECTION defined (the CMake
 * target stortimer_fault), every resource the platform seam hands out
 * (alloc.h, sync.h) is a numbered fault point of its kind, and a test can
 * make the Nth one fail: the allocation returns NULL, the thread or
 * synchronization object is not created. A normal build has none of this.
 */
#ifndef STORTIMER_PLATFORM_FAULT_H
#define STORTIMER_PLATFORM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum st_fault_kind {
    ST_FAULT_MEMORY,     /* st_calloc, st_realloc, st_calloc_retained */
    ST_FAULT_THREAD,     /* st_thread_start */
    ST_FAULT_SYNC,       /* st_mutex_init, st_cond_init */
    ST_FAULT_KINDS
} st_fault_kind;

/* Restarts the count of every kind and plans no failure. */
void st_fault_reset(void);

/* Makes the nth fault point of `kind` counted from the last reset fail
 * (1 is the first; 0 plans none). Only one failure is planned at a time. */
void st_fault_plan(st_fault_kind kind, uint64_t nth);

/* Fault points of `kind` reached since the last reset. */
uint64_t st_fault_points(st_fault_kind kind);

/* Failures injected since the last reset (0 or 1). */
uint64_t st_fault_injected(void);

/* Allocations made by st_calloc/st_realloc and not yet freed, all time. */
int64_t st_fault_live_allocations(void);

/* For the seam itself: counts a fault point of `kind` and tells whether it
 * is the one planned to fail; counts a live allocation (delta +1 or -1). */
#ifdef STORTIMER_FAULT_INJECTION
bool st_fault_strikes(st_fault_kind kind);
void st_fault_count_live(const void *ptr, int64_t delta);
#else
#define st_fault_strikes(kind) false
#define st_fault_count_live(ptr, delta) ((void)0)
#endif

#endif
