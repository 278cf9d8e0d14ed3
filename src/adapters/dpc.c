/* dpc.c - DPC records, their table and their run queue (dpc.h). */
#include "adapters/dpc.h"

#include "platform/alloc.h"
#include "platform/thread_state.h"
#include "wheel/timer_wheel.h"

/* Fibonacci hashing of an address (its low bits are alignment). */
static uint32_t slot_of(const void *address, uint32_t mask)
{
    return (uint32_t)(((uintptr_t)address * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

st_dpc *st_dpcs_find(const st_dpcs *set, const void *address)
{
    const st_dpc_table *table = atomic_load_explicit(&set->table, memory_order_acquire);
    if (!table)
        return NULL;
    for (uint32_t i = slot_of(address, table->mask);; i = (i + 1) & table->mask) {
        st_dpc *dpc = atomic_load_explicit(&table->slot[i], memory_order_acquire);
        if (!dpc || dpc->address == address)
            return dpc;
    }
}

static void insert(st_dpc_table *table, st_dpc *dpc)
{
    uint32_t i = slot_of(dpc->address, table->mask);
    while (atomic_load_explicit(&table->slot[i], memory_order_relaxed))
        i = (i + 1) & table->mask;
    atomic_store_explicit(&table->slot[i], dpc, memory_order_release);
}

/* Makes room for one more record: a table at most half full, so that a
 * probe always ends at an empty slot. False when memory is short. */
static bool make_room(st_dpcs *set)
{
    st_dpc_table *old = atomic_load_explicit(&set->table, memory_order_relaxed);
    uint32_t slots = old ? old->mask + 1 : 0;
    if (set->count + 1 <= slots / 2)
        return true;
    uint32_t grown = slots ? slots * 2 : 16;
    st_dpc_table *table = st_calloc(1, sizeof *table + grown * sizeof table->slot[0]);
    if (!table)
        return false;
    table->mask = grown - 1;
    table->older = old;
    for (st_dpc *dpc = set->all; dpc; dpc = dpc->all_next)
        insert(table, dpc);
    atomic_store_explicit(&set->table, table, memory_order_release);
    return true;
}

st_dpc *st_dpcs_add(st_dpcs *set, struct st_adapter *a, const void *address,
                    PHW_DPC_ROUTINE routine)
{
    st_dpc *dpc = st_calloc(1, sizeof *dpc);
    if (!dpc)
        return NULL;
    if (!st_lock_init(&dpc->lock)) {
        st_free(dpc);
        return NULL;
    }
    if (!make_room(set)) {
        st_lock_destroy(&dpc->lock);
        st_free(dpc);
        return NULL;
    }
    dpc->address = address;
    dpc->adapter = a;
    dpc->routine = routine;
    atomic_init(&dpc->queued, false);
    dpc->all_next = set->all;
    set->all = dpc;
    set->count++;
    insert(atomic_load_explicit(&set->table, memory_order_relaxed), dpc);
    return dpc;
}

void st_dpcs_enqueue(st_dpcs *set, st_dpc *dpc)
{
    /* Issues come in order nearly always: look from the tail. */
    st_dpc *after = set->tail;
    while (after && stw_key_before(dpc->due, dpc->order, after->due, after->order))
        after = after->prev;
    dpc->prev = after;
    dpc->next = after ? after->next : set->head;
    if (dpc->next)
        dpc->next->prev = dpc;
    else
        set->tail = dpc;
    if (after)
        after->next = dpc;
    else
        set->head = dpc;
    dpc->in_queue = true;
}

/* Unlinks the first queued DPC and copies its issue into *run. */
static st_dpc *pop(st_dpcs *set, st_dpc_run *run)
{
    st_dpc *dpc = set->head;
    set->head = dpc->next;
    if (set->head)
        set->head->prev = NULL;
    else
        set->tail = NULL;
    dpc->prev = dpc->next = NULL;
    dpc->in_queue = false;
    *run = (st_dpc_run){dpc, dpc->routine, dpc->argument1, dpc->argument2, dpc->due};
    return dpc;
}

void st_dpcs_take(st_dpcs *set, st_dpc_run *run)
{
    st_dpc *dpc = pop(set, run);
    dpc->running = true;
    /* From here an issue queues it again (S14.6); released after the copy. */
    atomic_store_explicit(&dpc->queued, false, memory_order_release);
}

bool st_dpcs_drop_first(st_dpcs *set, st_dpc_run *run)
{
    if (!set->head)
        return false;
    st_dpc *dpc = pop(set, run);
    atomic_store_explicit(&dpc->queued, false, memory_order_release);
    return true;
}

void st_dpcs_forget_all(st_dpcs *set)
{
    while (set->all) {
        st_dpc *dpc = set->all;
        set->all = dpc->all_next;
        /* A thread that still holds its lock is let finish with it. */
        st_lock_acquire(&dpc->lock);
        st_lock_release(&dpc->lock);
        st_lock_destroy(&dpc->lock);
        st_free(dpc);
    }
    st_dpc_table *table = atomic_load_explicit(&set->table, memory_order_relaxed);
    while (table) {
        st_dpc_table *older = table->older;
        st_free(table);
        table = older;
    }
    atomic_store_explicit(&set->table, NULL, memory_order_relaxed);
    set->count = 0;
    set->head = set->tail = NULL;
}

bool st_dpcs_lock_held_by_me(const struct st_adapter *a)
{
    for (unsigned i = 0; i < st_self.held_dpc_count; i++)
        if (st_self.held_dpc_locks[i]->adapter == a)
            return true;
    return false;
}
