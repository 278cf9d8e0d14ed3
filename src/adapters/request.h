/*
 * request.h - what an adapter is asked to do, as the Storport layer hands
 * it on: a timer arm or cancel (to its shard's wheel at or below
 * DISPATCH_LEVEL, through the hand-over queue above it, SPEC S5.7), and,
 * through the same queue, a DPC issue (S14.5) or a pause or resume (S16.9)
 * made above DISPATCH_LEVEL. One queue keeps them in the order they were
 * made.
 */
#ifndef STORTIMER_ADAPTERS_REQUEST_H
#define STORTIMER_ADAPTERS_REQUEST_H

#include "adapters/timer.h"

#include <stdbool.h>

struct st_dpc;

typedef enum st_request_kind {
    ST_REQUEST_TIMER = 0,            /* a timer arm: the timer fields below */
    ST_REQUEST_DPC,                  /* `dpc` was issued; its record holds the issue */
    ST_REQUEST_PAUSE,                /* `pause` */
} st_request_kind;

/* A Pause, Resume, PauseDevice or ResumeDevice (S16). */
typedef struct st_pause_request {
    bool resume;                     /* false: pause until `deadline` */
    bool unit;                       /* of the unit `unit_key`, not the adapter */
    uint32_t unit_key;               /* (PathId << 16) | (TargetId << 8) | Lun */
    uint64_t deadline;               /* pause: on the adapter's clock, absolute */
    uint64_t order;                  /* the adapter's order at the call (S14.8) */
} st_pause_request;

/* One request; the kind says which member of the union it is, so that an
 * arm, the common request, builds (and zeroes) only its own fields. */
typedef struct st_request {
    st_request_kind kind;
    union {
        struct {                     /* ST_REQUEST_TIMER */
            st_timer *timer;         /* NULL: a refused request, nothing to do */
            uint64_t issued;         /* the handle's (or legacy slot's) live value */
            bool legacy;             /* the adapter's RequestTimerCall slot */
            uint64_t order;          /* the arm word's order */
            uint64_t due;            /* never fire before this (S5.4.1) */
            uint64_t at;             /* fire time, inside the window (S5.4.2) */
            uint64_t window;         /* the window used (for the event log) */
            PHW_TIMER_EX callback;
            PHW_TIMER legacy_callback;
            PVOID context;
        };
        struct st_dpc *dpc;          /* ST_REQUEST_DPC: its record holds the issue */
        st_pause_request pause;      /* ST_REQUEST_PAUSE */
    };
} st_request;

#endif
