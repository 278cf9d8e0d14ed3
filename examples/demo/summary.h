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
    AHCI_DEMO_STATISTICS miniport;   /* what the miniport counted */
    stortimer_stats counted_by_stortimer; /* read after removal */
    ULONG remove_status;             /* stortimer_adapter_remove's answer */
    ULONG leaked_timers;             /* and the count it reported */
    ULONG io_submitted;              /* I/Os the host handed to HwStartIo, accepted */
    unsigned io_lost_in_removal;     /* in flight when the drive was pulled */
    ULONGLONG port_started_us;       /* since start; the miniport's timestamp */
    ULONGLONG adapter_time_us;       /* scenario length on the adapter's clock */
    ULONGLONG wall_time_us;          /* how long it really took */
    unsigned events_dropped;         /* timeline overflow */
} stortimer_demo_summary;

/* Prints the summary, then a one-line verdict. Returns true when every check passed. */
bool stortimer_demo_summary_print(FILE *out, const stortimer_demo_summary *summary);

#endif
