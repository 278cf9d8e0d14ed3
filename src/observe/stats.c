/* stats.c - reading adapter and process statistics (stortimer_stats_read). */
#include "adapters/timer_ops.h"

#include <string.h>

/* Adds an adapter slot's counters: nothing once its adapter was removed
 * (they are in the process totals then). */
static void add_live_adapter(st_adapter *a, void *ctx)
{
    st_adapter_lock_slot(a);
    st_adapter_add_counters(a, ctx);
    st_adapter_unlock(a);
}

/* One adapter's statistics, after applying the arms handed over to it. */
static bool read_adapter(PVOID extension, stortimer_stats *stats)
{
    st_adapter_ref ref;
    if (!st_adapter_find(extension, &ref) || !st_adapter_lock(&ref))
        return false;
    st_timer_apply_handovers(ref.adapter);
    st_adapter_add_counters(ref.adapter, stats);
    st_adapter_unlock(ref.adapter);
    return true;
}

ULONG stortimer_stats_read(PVOID hw_device_extension, stortimer_stats *stats)
{
    if (!stats)
        return STOR_STATUS_INVALID_PARAMETER;
    memset(stats, 0, sizeof *stats);
    if (hw_device_extension) {
        if (!read_adapter(hw_device_extension, stats))
            return STOR_STATUS_INVALID_PARAMETER;
    } else {
        /* Removed before created: an adapter removed meanwhile is not
         * counted live. */
        uint64_t removed = st_counters_adapters_removed();
        st_adapter_visit_slots(add_live_adapter, stats);
        st_counters_add_process(stats);
        stats->adapters_live =
            stats->adapters_created > removed ? stats->adapters_created - removed : 0;
    }
    st_counters_finish(stats);
    return STOR_STATUS_SUCCESS;
}
