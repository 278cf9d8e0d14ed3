/*
 * summary.h - the end-of-run report and its computed verdict.
 */
#ifndef STORTIMER_DEMO_SUMMARY_H
#define STORTIMER_DEMO_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "hba.h"
#include "stortimer.h"

typedef struct stortimer_demo_summary {
    bool virtual_time;
    HBA_STATISTICS miniport;         /* what the miniport counted, read before removal */
    HBA_TIMER_HANDLES handles;       /* to sort the event log's callbacks by kind */
    PVOID extension;                 /* the adapter, as the event log names it */
    stortimer_stats counted_by_stortimer; /* process totals, read after removal */
    ULONG remove_status;             /* stortimer_adapter_remove's answer */
    ULONG leaked_timers;             /* and the count it reported */
    ULONG io_submitted;              /* I/Os the host handed to HwStartIo, accepted */
    ULONG io_held;                   /* submissions the host held: the adapter was paused */
    stortimer_pause_state pause_at_end; /* the adapter's, read just before removal */
    ULONGLONG origin_us;             /* the clock's reading at time zero */
    size_t events_at_stop;           /* the event log's length when the stop returned */
    ULONGLONG port_up_us[4];         /* since time zero: PxCMD.ST writes, the device's view */
    unsigned port_ups;
    ULONGLONG adapter_time_us;       /* scenario length on the adapter's clock */
    ULONGLONG wall_time_us;          /* how long it really took */
    unsigned timeline_dropped;       /* timeline overflow */
} stortimer_demo_summary;

/*
 * Prints the summary, then a one-line verdict, from the miniport's counters
 * and history, stortimer's statistics and its event log (which must have
 * recorded the whole run). Returns true when every check passed.
 */
bool stortimer_demo_summary_print(FILE *out, const stortimer_demo_summary *summary);

#endif
