/*
 * handles.c - every timer handle the library issued in this process (S4.7:
 * never NULL, never issued twice), and made-up handles it never issued.
 */
#include "stress.h"

#include <stdlib.h>

enum { HANDLE_TABLE_SIZE = 1u << 20 };
static uint64_t *handle_table;
static size_t handles_recorded;
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

bool handles_init(void)
{
    handle_table = calloc(HANDLE_TABLE_SIZE, sizeof *handle_table);
    return handle_table != NULL;
}

void handles_release(void)
{
    free(handle_table);
}

/* Past three quarters full the table stops growing; the checks that need it stop. */
static bool handle_table_usable(void)
{
    return handles_recorded < HANDLE_TABLE_SIZE / 4 * 3;
}

/* The entry holding `value`, or the empty one where it would go (handle_lock held). */
static size_t handle_entry(uint64_t value)
{
    size_t i = (size_t)((value * UINT64_C(0x9E3779B97F4A7C15)) >> 44) & (HANDLE_TABLE_SIZE - 1);
    while (handle_table[i] && handle_table[i] != value)
        i = (i + 1) & (HANDLE_TABLE_SIZE - 1);
    return i;
}

void handle_issued(PVOID handle, const incarnation *inc)
{
    uint64_t value = (uint64_t)(uintptr_t)handle;
    if (!value) {
        violation(BAD_HANDLE, "StorPortInitializeTimer on adapter %d.%u returned SUCCESS "
                  "with a NULL handle (S4.7)", inc->slot, inc->number);
        return;
    }
    pthread_mutex_lock(&handle_lock);
    if (handle_table_usable()) {
        size_t i = handle_entry(value);
        if (handle_table[i] == value) {
            violation(BAD_HANDLE, "StorPortInitializeTimer on adapter %d.%u returned "
                      "handle %p, which was issued before (S4.7: never re-issued)",
                      inc->slot, inc->number, handle);
        } else {
            handle_table[i] = value;
            handles_recorded++;
        }
    }
    pthread_mutex_unlock(&handle_lock);
}

/* A made-up handle value never issued so far; 0 when the table cannot tell. */
uint64_t forged_handle(PVOID model)
{
    uint64_t value = one_in(2) ? random_u64()
                               : (uint64_t)(uintptr_t)model ^ (UINT64_C(1) << random_below(64));
    pthread_mutex_lock(&handle_lock);
    bool known = !handle_table_usable() || value == 0 ||
                 handle_table[handle_entry(value)] == value;
    pthread_mutex_unlock(&handle_lock);
    return known ? 0 : value;
}
