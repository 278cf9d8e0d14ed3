/*
 * miniport_history.h - a miniport's own history, stamped with
 * StorPortQuerySystemTime, as storahci stamps every step of its port start.
 *
 * Each entry keeps the system time (100-ns units since 1601-01-01 UTC,
 * moving in whole ticks, SPEC S13.2), a static description and a value. On a
 * virtual clock the times are those of the clock (from 2000-01-01, S13.4),
 * so two runs of a test record the same history. The caller guards the
 * history with one lock (the demo: the StartIo lock).
 */
#ifndef STORTIMER_EXAMPLE_MINIPORT_HISTORY_H
#define STORTIMER_EXAMPLE_MINIPORT_HISTORY_H

#include "storport.h"

#define MINIPORT_HISTORY_ENTRIES 32

typedef struct _MINIPORT_HISTORY_ENTRY {
    LARGE_INTEGER SystemTime;   /* when, as StorPortQuerySystemTime said */
    const char *What;           /* a string literal */
    ULONG Value;
} MINIPORT_HISTORY_ENTRY;

typedef struct _MINIPORT_HISTORY {
    MINIPORT_HISTORY_ENTRY Entries[MINIPORT_HISTORY_ENTRIES];
    ULONG Count;                /* kept: the first MINIPORT_HISTORY_ENTRIES */
    ULONG Dropped;              /* recorded after it was full */
} MINIPORT_HISTORY, *PMINIPORT_HISTORY;

/* Records What and Value, stamped now. Any IRQL (the stamp takes no lock). */
VOID MiniportHistoryRecord(PMINIPORT_HISTORY History, const char *What, ULONG Value);

/* The same with a stamp taken earlier (by the interrupt routine, say). */
VOID MiniportHistoryRecordAt(PMINIPORT_HISTORY History, LARGE_INTEGER SystemTime,
                             const char *What, ULONG Value);

#endif
