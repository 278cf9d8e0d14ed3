/*
 * views.h - the four views of a clock's reading (SPEC S13.2): system time,
 * tick count, performance counter and minimum timer interval, all computed
 * from the one reading that timers use, so they agree with when timers fire.
 */
#ifndef STORTIMER_TIME_VIEWS_H
#define STORTIMER_TIME_VIEWS_H

#include "stortimer.h"

/* Fixes the real clock's scale (its first reading): B is set so that the
 * system time equals the wall clock now (S13.5). Async-signal-safe. */
void st_real_time_scale_fix(void);

/* The views of one reading of `clock` (NULL: the real clock, whose scale
 * this fixes). Lock-free, allocation-free, async-signal-safe. */
void st_clock_views(const stortimer_clock *clock, stortimer_time_views *views);

#endif
