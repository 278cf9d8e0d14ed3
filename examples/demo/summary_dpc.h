/*
 * summary_dpc.h - the summary's account of the DPCs, the pauses and the
 * miniport's stamped history: what stortimer's event log says of the
 * adapter's DPC runs (issue to start) and of its pauses (how each ended).
 */
#ifndef STORTIMER_DEMO_SUMMARY_DPC_H
#define STORTIMER_DEMO_SUMMARY_DPC_H

#include <stdbool.h>
#include <stdio.h>

#include "summary.h"

typedef struct dpc_pause_view {
    LONGLONG *dpc_lateness;       /* start minus issue, us, per DPC start */
    ULONG dpcs_started, dpcs_early;
    ULONG pause_calls;            /* PAUSED events (a Pause while paused pushes the deadline) */
    ULONG pauses;                 /* spans: from a Pause that found none to its end */
    ULONG ended[STORTIMER_PAUSE_END_REMOVAL + 1]; /* by STORTIMER_PAUSE_END_* */
    bool open;                    /* a pause never ended */
    ULONGLONG longest_us;
    bool complete;                /* read whole */
} dpc_pause_view;

/* Reads the event log's DPC and pause events of `extension`. */
bool dpc_pause_view_read(dpc_pause_view *view, PVOID extension);
void dpc_pause_view_free(dpc_pause_view *view);

/* The "DPCs" and "pauses" lines. */
void dpc_pause_print(FILE *out, const stortimer_demo_summary *s, dpc_pause_view *view);

/* The miniport's history, its StorPortQuerySystemTime stamps in UTC. */
void history_print(FILE *out, const MINIPORT_HISTORY *history);

/* Whether its stamps never go backwards (SPEC S13.3). */
bool history_in_order(const MINIPORT_HISTORY *history);

#endif
