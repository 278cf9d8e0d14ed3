/*
 * dpc_fixture.c - the log of DPC and timer callback runs shared by the S14
 * tests (see dpc_fixture.h).
 */
#include "dpc_fixture.h"

#include <string.h>

dpc_log rec;

void rec_reset(fixture *fx)
{
    memset(&rec, 0, sizeof rec);
    rec.fx = fx;
}

void rec_add_dpc(char who, PVOID dpc, PVOID ext, PVOID a1, PVOID a2)
{
    int i = atomic_fetch_add(&rec.claimed, 1);
    if (i < REC_MAX) {
        rec.who[i] = who;
        rec.at[i] = fx_now(rec.fx);
        rec.irql[i] = stortimer_irql_current();
        rec.tid[i] = thread_id();
        rec.dpc[i] = dpc;
        rec.ext[i] = ext;
        rec.a1[i] = a1;
        rec.a2[i] = a2;
    }
    atomic_fetch_add(&rec.n, 1);
}

void rec_add(char who, PVOID a1)
{
    rec_add_dpc(who, NULL, NULL, a1, NULL);
}

VOID dpc_a(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2) { rec_add_dpc('A', Dpc, Ext, A1, A2); }
VOID dpc_b(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2) { rec_add_dpc('B', Dpc, Ext, A1, A2); }
VOID dpc_c(PSTOR_DPC Dpc, PVOID Ext, PVOID A1, PVOID A2) { rec_add_dpc('C', Dpc, Ext, A1, A2); }

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

bool ran(fixture *fx, int n)
{
    run_queued(fx);
    return fx_await(fx, &rec.n, n);
}

stortimer_clock *vclock(void)
{
    return virtual_fixture()->clock;
}
