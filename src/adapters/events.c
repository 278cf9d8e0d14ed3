/* events.c - the event log's connection point (events.h). */
#include "adapters/events.h"

#include "adapters/adapter.h"

_Atomic bool st_events_on;
static _Atomic(st_event_recorder *) recorder;

void st_events_connect(st_event_recorder *r)
{
    atomic_store(&recorder, r);
}

void st_events_switch(bool on)
{
    atomic_store(&st_events_on, on);
}

void st_log_record(struct st_adapter *a, stortimer_event *event)
{
    st_log_record_on(a, a ? st_adapter_clock(a) : NULL, event);
}

void st_log_record_on(struct st_adapter *a, stortimer_clock *clock, stortimer_event *event)
{
    st_event_recorder *r = atomic_load(&recorder);
    if (r)
        r(a, clock, event);
}
