/*
 * miniport_history.c - the stamped history of miniport_history.h.
 */
#include "miniport_history.h"

VOID MiniportHistoryRecordAt(PMINIPORT_HISTORY History, LARGE_INTEGER SystemTime,
                             const char *What, ULONG Value)
{
    if (History->Count == MINIPORT_HISTORY_ENTRIES) {
        History->Dropped++;
        return;
    }
    MINIPORT_HISTORY_ENTRY *entry = &History->Entries[History->Count++];
    entry->SystemTime = SystemTime;
    entry->What = What;
    entry->Value = Value;
}

VOID MiniportHistoryRecord(PMINIPORT_HISTORY History, const char *What, ULONG Value)
{
    LARGE_INTEGER now;
    StorPortQuerySystemTime(&now);
    MiniportHistoryRecordAt(History, now, What, Value);
}
