/*
 * dpc_fixture.c - the log of DPC and timer callback runs shared by the S14
 * order tests (see dpc_fixture.h).
 */
#include "dpc_fixture.h"

#include <string.h>

dpc_log rec;

void rec_reset(fixture *fx)
{
    memset(&rec, 0, sizeof rec);
    rec.fx = fx;
}

void rec_add(char who, PVOID a1)
{
    int i = atomic_fetch_add(&rec.claimed, 1);
    if (i < REC_MAX) {
        rec.who[i] = who;
        rec.at[i] = fx_now(rec.fx);
        rec.a1[i] = a1;
    }
    atomic_fetch_add(&rec.n, 1);
}

VOID dpc_a(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2) { (void)D, (void)E, (void)A2; rec_add('A', A1); }
VOID dpc_b(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2) { (void)D, (void)E, (void)A2; rec_add('B', A1); }
VOID dpc_c(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2) { (void)D, (void)E, (void)A2; rec_add('C', A1); }

VOID timer_rec(PVOID E, PVOID Context)
{
    (void)E;
    rec_add((char)(uintptr_t)Context, NULL);
}

bool order_is(const char *expected)
{
    int n = (int)strlen(expected);
    if (atomic_load(&rec.n) != n)
        return false;
    return memcmp(rec.who, expected, (size_t)n) == 0;
}

void run_queued(fixture *fx)
{
    if (fx->clock)
        stortimer_clock_advance(fx->clock, 0);
}

stortimer_clock *vclock(void)
{
    return virtual_fixture()->clock;
}
