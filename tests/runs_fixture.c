/* runs_fixture.c - the record of routine runs (runs_fixture.h). */
#include "runs_fixture.h"

runs_record runs;

/* Records one run; with `linger` on the real clock, stays inside a while so
 * that an overlapping run would be seen. */
void note(char who, bool linger)
{
    if (atomic_fetch_add(&runs.inside, 1) != 0)
        atomic_fetch_add(&runs.overlapped, 1);
    int i = atomic_load(&runs.n);
    if (i < RUNS_MAX) {
        runs.who[i] = who;
        runs.tid[i] = thread_id();
        runs.at[i] = runs.fx ? fx_now(runs.fx) : 0;
    }
    if (linger && runs.fx && !runs.fx->clock)
        sleep_us(200);
    atomic_fetch_sub(&runs.inside, 1);
    atomic_fetch_add(&runs.n, 1);
}

VOID dpc_note(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    note('D', false);
}

VOID dpc_other(PSTOR_DPC D, PVOID E, PVOID A1, PVOID A2)
{
    (void)D, (void)E, (void)A1, (void)A2;
    note('O', false);
}

VOID timer_note(PVOID E, PVOID C)
{
    (void)E;
    note((char)(uintptr_t)C, false);
}

VOID legacy_note(PVOID E)
{
    (void)E;
    note('L', false);
}


stortimer_pause_state pause_of(PVOID ext)
{
    stortimer_pause_state s;
    CHECK_STATUS(stortimer_adapter_pause_state(ext, &s), STOR_STATUS_SUCCESS);
    return s;
}
