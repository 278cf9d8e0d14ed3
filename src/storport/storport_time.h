/*
 * storport_time.h - what StorPortNotification shares with the time
 * queries (SPEC S13.8).
 */
#ifndef STORTIMER_STORPORT_STORPORT_TIME_H
#define STORTIMER_STORPORT_STORPORT_TIME_H

#include "storport.h"

/* StorPortNotification(QueryTickCount, extension, tick_count). */
void st_query_tick_count(PVOID extension, PLARGE_INTEGER tick_count, const void *caller);

#endif
