/* fault.c - the fault points of a STORTIMER_FAULT_INJECTION build (fault.h). */
#include "platform/fault.h"

#ifdef STORTIMER_FAULT_INJECTION
#include <stdatomic.h>

static _Atomic uint64_t points[ST_FAULT_KINDS];
static _Atomic uint64_t planned_kind, planned_nth, injected;
static _Atomic int64_t live_allocations;

void st_fault_reset(void)
{
    atomic_store(&planned_nth, 0);
    for (int k = 0; k < ST_FAULT_KINDS; k++)
        atomic_store(&points[k], 0);
    atomic_store(&injected, 0);
}

void st_fault_plan(st_fault_kind kind, uint64_t nth)
{
    atomic_store(&planned_kind, (uint64_t)kind);
    atomic_store(&planned_nth, nth);
}

uint64_t st_fault_points(st_fault_kind kind)
{
    return atomic_load(&points[kind]);
}

uint64_t st_fault_injected(void)
{
    return atomic_load(&injected);
}

int64_t st_fault_live_allocations(void)
{
    return atomic_load(&live_allocations);
}

bool st_fault_strikes(st_fault_kind kind)
{
    uint64_t n = atomic_fetch_add(&points[kind], 1) + 1;
    if (atomic_load(&planned_kind) != (uint64_t)kind || atomic_load(&planned_nth) != n)
        return false;
    atomic_fetch_add(&injected, 1);
    return true;
}

void st_fault_count_live(const void *ptr, int64_t delta)
{
    if (ptr)
        atomic_fetch_add(&live_allocations, delta);
}
#else
/* ISO C wants something in every translation unit. */
typedef int st_fault_injection_is_off;
#endif
