/*
 * SPEC S4.4 on a library whose allocations can be made to fail
 * (stortimer_fault, src/platform/fault.h): when a timer's memory cannot be
 * had, StorPortInitializeTimer answers INSUFFICIENT_RESOURCES, leaves NULL
 * in *TimerHandle (S4.6) and changes nothing else; once memory is there
 * again, the same call succeeds. (fault_injection fails every fault point
 * of whole scenarios; this names the clause.)
 */
#include "harness.h"
#include "platform/fault.h"

/* Timer slots come in chunks: the first new chunk is the first allocation a
 * run of StorPortInitializeTimer calls makes. */
TEST(s4_4_no_memory_for_a_timer_is_insufficient_resources)
{
    PVOID ext = virtual_adapter(0);
    st_fault_reset();
    st_fault_plan(ST_FAULT_MEMORY, 1);
    PVOID handle = NULL;
    ULONG status;
    ULONGLONG made = 0;
    while ((status = StorPortInitializeTimer(ext, &handle)) == STOR_STATUS_SUCCESS && made < 100000)
        made++;
    CHECK_STATUS(status, STOR_STATUS_INSUFFICIENT_RESOURCES);
    CHECK(handle == NULL);
    CHECK_EQ(st_fault_injected(), 1);
    stortimer_stats stats = stats_of(ext);
    CHECK_EQ(stats.timers_live, made);
    CHECK_EQ(stats.rejected_insufficient_resources, 1);
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_SUCCESS);
    CHECK(handle != NULL);
    CHECK_EQ(stats_of(ext).timers_live, made + 1);
}
