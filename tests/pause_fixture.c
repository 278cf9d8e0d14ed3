/*
 * pause_fixture.c - the pause-state queries and event log reads shared by
 * the S16 tests (see pause_fixture.h).
 */
#include "pause_fixture.h"

#include <string.h>

stortimer_pause_state adapter_state(PVOID ext)
{
    stortimer_pause_state s;
    memset(&s, 0x77, sizeof s);
    CHECK_STATUS(stortimer_adapter_pause_state(ext, &s), STOR_STATUS_SUCCESS);
    return s;
}

stortimer_pause_state unit_state(PVOID ext, UCHAR p, UCHAR t, UCHAR l)
{
    stortimer_pause_state s;
    memset(&s, 0x77, sizeof s);
    CHECK_STATUS(stortimer_unit_pause_state(ext, p, t, l, &s), STOR_STATUS_SUCCESS);
    return s;
}

stortimer_clock *vclock(void)
{
    return virtual_fixture()->clock;
}

stortimer_event ev[EV_MAX];

size_t read_log(void)
{
    return stortimer_log_read(ev, 0, EV_MAX);
}

int find_event(size_t count, size_t from, stortimer_event_type type)
{
    for (size_t i = from; i < count; i++)
        if (ev[i].type == type)
            return (int)i;
    return -1;
}

bool await_paused(fixture *fx, PVOID ext, BOOLEAN paused)
{
    if (fx->clock) {
        stortimer_clock_advance(fx->clock, 0);
        return adapter_state(ext).paused == paused;
    }
    for (int i = 0; i < 5000; i++) {
        if (adapter_state(ext).paused == paused)
            return true;
        sleep_us(1000);
    }
    return false;
}

_Atomic int ran;

VOID count_timer(PVOID E, PVOID C) { (void)E, (void)C; atomic_fetch_add(&ran, 1); }

pause_seen inside;

VOID look_at_pause(PVOID E, PVOID C)
{
    (void)C;
    inside.query = stortimer_adapter_pause_state(E, &inside.seen);
    atomic_store(&inside.done, 1);
}
