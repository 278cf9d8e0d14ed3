/* SPEC S4: StorPortInitializeTimer - checks in order, handles, idle timers. */
#include "adapters/registry.h"
#include "harness.h"
#include "platform/alloc.h"

#include <stdlib.h>

TEST(s4_1_above_dispatch_is_invalid_irql)
{
    PVOID ext = virtual_adapter(0);
    PVOID handle = (PVOID)0x1;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    ULONG status = StorPortInitializeTimer(ext, &handle);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
    CHECK(handle == NULL);
}

TEST(s4_1_irql_is_checked_before_parameters)
{
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG status = StorPortInitializeTimer(NULL, NULL);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_INVALID_IRQL);
}

TEST(s4_1_dispatch_level_is_allowed)
{
    PVOID ext = virtual_adapter(0), handle = NULL;
    KIRQL old = stortimer_irql_raise(DISPATCH_LEVEL);
    ULONG status = StorPortInitializeTimer(ext, &handle);
    stortimer_irql_lower(old);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    CHECK(handle != NULL);
}

TEST(s4_2_null_extension_is_invalid_parameter)
{
    PVOID handle = (PVOID)0x1;
    CHECK_STATUS(StorPortInitializeTimer(NULL, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK(handle == NULL);
}

TEST(s4_2_null_handle_pointer_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0);
    CHECK_STATUS(StorPortInitializeTimer(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s4_2_unknown_extension_is_invalid_parameter)
{
    PVOID handle = (PVOID)0x1;
    char not_an_adapter[64];
    CHECK_STATUS(StorPortInitializeTimer(not_an_adapter, &handle),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK(handle == NULL);
    /* Never dereferenced: an address that would fault is just as invalid. */
    CHECK_STATUS(StorPortInitializeTimer((PVOID)0x10, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortInitializeTimer((PVOID)(uintptr_t)-8, &handle),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s4_2_interior_pointer_of_extension_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), handle;
    CHECK_STATUS(StorPortInitializeTimer((char *)ext + 8, &handle),
                 STOR_STATUS_INVALID_PARAMETER);
}

TEST(s4_2_removed_adapter_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(0), handle = (PVOID)0x1;
    fx_remove(ext);
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK(handle == NULL);
}

/* S4.6: every failure, whichever check it is, leaves NULL in *TimerHandle,
 * even where the call wrote a handle there before. */
TEST(s4_6_every_failure_sets_the_handle_to_null)
{
    PVOID ext = virtual_adapter(1), removed = virtual_adapter(0);
    fx_remove(removed);
    PVOID first = new_timer(ext); /* the limit is reached */
    int not_an_adapter;
    PVOID handle = first;
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_INVALID_IRQL);
    stortimer_irql_lower(old);
    CHECK(handle == NULL);
    handle = first;
    CHECK_STATUS(StorPortInitializeTimer(&not_an_adapter, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK(handle == NULL);
    handle = first;
    CHECK_STATUS(StorPortInitializeTimer(removed, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK(handle == NULL);
    handle = first;
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_UNSUCCESSFUL);
    CHECK(handle == NULL);
}

TEST(s4_3_max_timers_reached_is_unsuccessful)
{
    PVOID ext = virtual_adapter(4), handles[4], extra = (PVOID)0x1;
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(StorPortInitializeTimer(ext, &handles[i]), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &extra), STOR_STATUS_UNSUCCESSFUL);
    CHECK(extra == NULL);
}

TEST(s4_3_freeing_a_timer_makes_room_again)
{
    PVOID ext = virtual_adapter(4), handles[4], extra;
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(StorPortInitializeTimer(ext, &handles[i]), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, handles[2]), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &extra), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &extra), STOR_STATUS_UNSUCCESSFUL);
}

TEST(s4_3_max_timers_zero_means_no_limit)
{
    PVOID ext = virtual_adapter(0);
    for (int i = 0; i < 2000; i++) {
        PVOID handle;
        CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_SUCCESS);
    }
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.timers_live, 2000);
}

TEST(s4_3_limit_is_per_adapter)
{
    PVOID a = virtual_adapter(4), b = virtual_adapter(4), handle;
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(StorPortInitializeTimer(a, &handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(b, &handle), STOR_STATUS_SUCCESS);
}

TEST(s4_3_parameter_errors_come_before_the_limit)
{
    PVOID ext = virtual_adapter(1), handle;
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, NULL), STOR_STATUS_INVALID_PARAMETER);
}

TEST(s4_7_handles_are_non_null_and_distinct)
{
    PVOID ext = virtual_adapter(0), handles[100];
    for (int i = 0; i < 100; i++) {
        CHECK_STATUS(StorPortInitializeTimer(ext, &handles[i]), STOR_STATUS_SUCCESS);
        CHECK(handles[i] != NULL);
        for (int j = 0; j < i; j++)
            CHECK(handles[i] != handles[j]);
    }
}

TEST(s4_7_freed_handles_are_never_reissued)
{
    PVOID ext = virtual_adapter(0);
    enum { ROUNDS = 5000 };
    PVOID *seen = calloc(ROUNDS, sizeof *seen);
    CHECK(seen != NULL);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_STATUS(StorPortInitializeTimer(ext, &seen[i]), STOR_STATUS_SUCCESS);
        CHECK_STATUS(StorPortFreeTimer(ext, seen[i]), STOR_STATUS_SUCCESS);
    }
    for (int i = 0; i < ROUNDS; i++)
        for (int j = i + 1; j < ROUNDS; j++)
            CHECK(seen[i] != seen[j]);
    free(seen);
}

TEST(s4_7_handles_are_unique_across_adapters)
{
    PVOID a = virtual_adapter(0), b = virtual_adapter(0), ha, hb;
    CHECK_STATUS(StorPortInitializeTimer(a, &ha), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(b, &hb), STOR_STATUS_SUCCESS);
    CHECK(ha != hb);
}

TEST(s4_7_stale_handle_is_told_apart_from_new_timer)
{
    PVOID ext = virtual_adapter(0), old, fresh;
    CHECK_STATUS(StorPortInitializeTimer(ext, &old), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, old), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortInitializeTimer(ext, &fresh), STOR_STATUS_SUCCESS);
    CHECK(fresh != old);
    CHECK_STATUS(StorPortRequestTimer(ext, old, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, old), STOR_STATUS_UNSUCCESSFUL);
    CHECK_STATUS(StorPortFreeTimer(ext, fresh), STOR_STATUS_SUCCESS);
}

TEST_BOTH(s4_5_new_timer_is_idle)
{
    PVOID ext = fx_adapter(fx, 0), handle;
    probe p;
    probe_init(&p, fx, ext);
    CHECK_STATUS(StorPortInitializeTimer(ext, &handle), STOR_STATUS_SUCCESS);
    fx_pass(fx, 20000);
    CHECK_EQ(atomic_load(&p.fired), 0);
    /* Idle: a cancel is a no-op, and the first arm is not BUSY. */
    CHECK_STATUS(StorPortRequestTimer(ext, handle, probe_callback, &p, 0, 0),
                 STOR_STATUS_SUCCESS);
    arm(ext, handle, probe_callback, &p, 1000, 0);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &p.fired, 1));
    CHECK_EQ(fx_remove(ext), 1);
}

TEST(s4_7_stale_handle_never_reaches_the_timer_reusing_its_slot)
{
    /* Slots are reused: the stale handle is still told apart from the live
     * timer that now lives in its slot, and still reads as freed. */
    PVOID ext = virtual_adapter(0), stale, live[16];
    CHECK_STATUS(StorPortInitializeTimer(ext, &stale), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, stale), STOR_STATUS_SUCCESS);
    for (int i = 0; i < 10000; i++) {
        PVOID other;
        CHECK_STATUS(StorPortInitializeTimer(ext, &other), STOR_STATUS_SUCCESS);
        CHECK_STATUS(StorPortFreeTimer(ext, other), STOR_STATUS_SUCCESS);
    }
    for (int i = 0; i < 16; i++)
        CHECK_STATUS(StorPortInitializeTimer(ext, &live[i]), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, stale, probe_callback, NULL, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, stale), STOR_STATUS_UNSUCCESSFUL);
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.timers_live, 16);
    for (int i = 0; i < 16; i++)
        CHECK_STATUS(StorPortFreeTimer(ext, live[i]), STOR_STATUS_SUCCESS);
}

/* S4.5 for a large table: slots past the first 131,072 of the process come
 * from 2 MiB blocks advised to use huge pages (registry.c). Taken straight
 * from the registry (a checked adapter would check all of them after every
 * call): each is a distinct, aligned, zeroed line its handle finds, those
 * past the threshold in blocks, and all go back to the pool. */
static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(st_timer *const *)a, y = (uintptr_t)*(st_timer *const *)b;
    return x < y ? -1 : x > y;
}

TEST(s4_5_slots_past_eight_mebibytes_come_from_huge_page_blocks)
{
    enum { MANY = 140000, THRESHOLD = 131072 };
    st_timer **slot = calloc(MANY, sizeof *slot);
    uint64_t *handle = calloc(MANY, sizeof *handle);
    CHECK(slot && handle);
    stw_id mine = STW_NONE;
    for (int i = 0; i < MANY; i++) {
        uint64_t issued;
        slot[i] = st_registry_timer_take(ST_OWNER_MAX, &mine, &handle[i], &issued);
        CHECK(slot[i] != NULL);
        CHECK((uintptr_t)slot[i] % 64 == 0);
        CHECK(slot[i]->context == NULL && slot[i]->callback.extended == NULL);
        st_registry_publish(slot[i], issued);
    }
    for (int i = 0; i < MANY; i++) {
        uint64_t issued;
        CHECK(st_registry_live_timer(handle[i], &issued) == slot[i]);
    }
    /* This process made at least MANY slots. Those of id 131,072 on lie in
     * blocks: a block of 32,768 slots starts on a 2 MiB boundary. */
    int in_blocks = 0;
    for (int i = 0; i < MANY; i++) {
        stw_id id = st_registry_id(slot[i]);
        if (id >= THRESHOLD) {
            CHECK((uintptr_t)(slot[i] - id % 32768) % ST_HUGE_BLOCK == 0);
            in_blocks++;
        }
    }
    CHECK(in_blocks >= MANY - THRESHOLD);
    qsort(slot, MANY, sizeof *slot, by_address);
    for (int i = 1; i < MANY; i++)
        CHECK(slot[i] != slot[i - 1]);
    for (int i = 0; i < MANY; i++) {
        st_registry_kill(slot[i]);
        st_registry_timer_give_back(&mine, slot[i]);
    }
    st_registry_timers_release(&mine);
    free(slot);
    free(handle);
}
