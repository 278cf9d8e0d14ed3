/*
 * time_fixture.c - the readings of every view of the time shared by the
 * S13 tests (see time_fixture.h).
 */
#include "time_fixture.h"

void read_all(PVOID ext, stortimer_clock *clock, stortimer_time_views *v)
{
    LARGE_INTEGER sys = {.QuadPart = SENTINEL}, f = {.QuadPart = SENTINEL},
                  c = {.QuadPart = SENTINEL}, tc = {.QuadPart = SENTINEL};
    ULONG min = 0xDEADBEEF;
    ULONGLONG now = stortimer_clock_now(clock);
    StorPortQuerySystemTime(&sys);
    CHECK_STATUS(StorPortQueryPerformanceCounter(ext, &f, &c), STOR_STATUS_SUCCESS);
    StorPortNotification(QueryTickCount, ext, &tc);
    CHECK_STATUS(StorPortQueryTimerMinInterval(ext, &min), STOR_STATUS_SUCCESS);
    *v = (stortimer_time_views){now, sys.QuadPart, tc.QuadPart, c.QuadPart, f.QuadPart,
                                min / 10, min};
}

stortimer_time_views views_of(stortimer_clock *clock)
{
    stortimer_time_views v;
    CHECK_STATUS(stortimer_clock_read_times(clock, &v), STOR_STATUS_SUCCESS);
    return v;
}

LONGLONG system_time_now(void)
{
    LARGE_INTEGER li = {.QuadPart = SENTINEL};
    StorPortQuerySystemTime(&li);
    return li.QuadPart;
}

LONGLONG counter_of(PVOID ext)
{
    LARGE_INTEGER c = {.QuadPart = SENTINEL};
    CHECK_STATUS(StorPortQueryPerformanceCounter(ext, NULL, &c), STOR_STATUS_SUCCESS);
    return c.QuadPart;
}

VOID stamp_callback(PVOID ext, PVOID context)
{
    stamp *s = context;
    read_all(ext, s->fx->clock, &s->r);
    stortimer_clock_read_times(s->fx->clock, &s->v);
    atomic_fetch_add(&s->fired, 1);
}
