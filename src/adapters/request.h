/*
 * request.h - one arm of a timer, as the arm path hands it on: to its
 * shard's wheel at or below DISPATCH_LEVEL, through the hand-over queue
 * above it (SPEC S5.7).
 */
#ifndef STORTIMER_ADAPTERS_REQUEST_H
#define STORTIMER_ADAPTERS_REQUEST_H

#include "adapters/timer.h"

#include <stdbool.h>

typedef struct st_request {
    st_timer *timer;                 /* NULL: a refused request, nothing to do */
    uint64_t issued;                 /* the handle's (or legacy slot's) live value */
    bool legacy;                     /* the adapter's RequestTimerCall slot */
    uint64_t order;                  /* the arm word's order */
    uint64_t due;                    /* never fire before this (S5.4.1) */
    uint64_t at;                     /* fire time, inside the window (S5.4.2) */
    uint64_t window;                 /* the window used (for the event log) */
    PHW_TIMER_EX callback;
    PHW_TIMER legacy_callback;
    PVOID context;
} st_request;

#endif
