/*
 * outcome.h - what an adapter-level action came to, and the path a request
 * takes by IRQL. The Storport layer turns an outcome into its answer.
 */
#ifndef STORTIMER_ADAPTERS_OUTCOME_H
#define STORTIMER_ADAPTERS_OUTCOME_H

/* What an action came to; the caller answers it with a status code. */
typedef enum st_outcome {
    ST_DONE,                  /* done (a cancel: whether or not it was pending) */
    ST_BUSY,                  /* arm: already pending, nothing changed (S5.3) */
    ST_GONE,                  /* the handle, or the legacy timer's adapter, died */
    ST_NOT_HERE,              /* free: the handle was never this adapter's (S6.2) */
    ST_ALREADY_FREED,         /* free: the handle was freed before (S6.3) */
    ST_NO_ADAPTER,            /* the adapter was removed meanwhile */
    ST_AT_LIMIT,              /* initialize: max_timers live already (S4.3) */
    ST_NO_MEMORY,             /* initialize: no slot could be had (S4.4) */
    ST_QUEUE_FULL,            /* above DISPATCH_LEVEL: no hand-over cell (S5.7) */
    ST_FOREIGN,               /* a DPC of another adapter (S14.3) */
} st_outcome;

/* How a request takes effect, chosen by the caller's IRQL (S5.7): under
 * the timer's shard lock, or handed over without any lock. */
typedef enum st_path {
    ST_PATH_LOCKED,
    ST_PATH_HANDED_OVER,
} st_path;

#endif
