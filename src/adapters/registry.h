/*
 * registry.h - where timers live, and how a handle finds its timer without
 * ever being dereferenced (SPEC S4.7, S12.2).
 *
 * Timer slots live in a table of chunks that are never freed, so a lookup
 * racing a free reads memory that is still ours, and lookups take no lock
 * (they may run above DISPATCH_LEVEL, in a signal handler). This file is
 * the only one that knows how a handle, a slot index and an owner word are
 * encoded; it knows adapters only by their slot index ("owner").
 *
 * A handle is a slot index and that slot's generation, (generation << 24) |
 * slot, passed through a fixed 64-bit permutation. Each slot issues
 * generations 1, 2, 3, ... in turn, and a slot, once an adapter takes it,
 * serves only that adapter until the adapter is removed (its freed slots
 * are reused for its own next timers). So:
 *   - a handle is never issued twice: the permutation is a bijection and a
 *     slot's generation only grows; a slot whose 38-bit generation runs out
 *     is never handed out again;
 *   - "was this handle issued to this adapter and freed?" is exact: the
 *     slot belongs to the adapter and the generation lies between the first
 *     one issued to it and the current one. A double free answers
 *     UNSUCCESSFUL (S6.3) however many timers came and went since, up to
 *     16,777,215 timers on that one slot; past that the slot's count
 *     saturates and older handles of it answer INVALID_PARAMETER;
 *   - handles are sparse: one off by one bit, or made up, decodes to a
 *     generation far beyond what its slot has issued (S12.2).
 *
 * The legacy timer's slot stays with its adapter slot for good; it gets a
 * new generation for each adapter created there, marked as a slot kept for
 * good, which no handle can name: so "is this still the adapter I found"
 * is the same check as "is this still the handle I was given"
 * (st_registry_still_issued), and a handle forged for it is refused like
 * any made-up one (S12.2).
 */
#ifndef STORTIMER_ADAPTERS_REGISTRY_H
#define STORTIMER_ADAPTERS_REGISTRY_H

#include "adapters/timer.h"

#include <stdbool.h>

/* The table of chunks: slot s is entry s % ST_TIMER_CHUNK of chunk
 * s / ST_TIMER_CHUNK. */
#define ST_TIMER_CHUNK_SHIFT 10u
#define ST_TIMER_CHUNK (1u << ST_TIMER_CHUNK_SHIFT)
#define ST_TIMER_CHUNKS ((1u << ST_SLOT_BITS) / ST_TIMER_CHUNK)
#define ST_SLOT_MASK ((UINT64_C(1) << ST_SLOT_BITS) - 1)

/* Owners are adapter slot indices + 1; this many fit in an owner word. */
#define ST_OWNER_SHARD_SHIFT 14
#define ST_OWNER_MAX ((1u << ST_OWNER_SHARD_SHIFT) - 1)
/* Shards an owner word can name. */
#define ST_OWNER_SHARDS (1u << (16 - ST_OWNER_SHARD_SHIFT))
#define ST_SLOT_BITS 24u

/* The chunks every timer slot lives in, for the adapters' wheels. */
stw_table st_registry_timer_table(void);

/* A slot's wheel id: its index in the table. */
static inline stw_id st_registry_id(const st_timer *t)
{
    uint64_t issued = atomic_load_explicit(&t->issued, memory_order_relaxed);
    return (stw_id)(issued & ((UINT64_C(1) << ST_SLOT_BITS) - 1));
}

/* ---- taking and giving back slots ---- */

/*
 * A timer slot for owner `owner` with a handle value never issued before:
 * from `free_list` (the owner's freed slots) first, else from the common
 * pool or a new chunk. *handle receives the handle and *issued the value
 * that makes it live (st_registry_publish); NULL if no memory.
 */
st_timer *st_registry_timer_take(uint32_t owner, stw_id *free_list, uint64_t *handle,
                                 uint64_t *issued);

/* A slot that stays with `owner` for good (its legacy timer), or NULL. */
st_timer *st_registry_timer_for_good(uint32_t owner);

/* Keeps a freed slot on its owner's free list, for the owner's next timer. */
void st_registry_timer_give_back(stw_id *free_list, st_timer *t);

/* Returns a slot whose owner is gone to the common pool. */
void st_registry_timer_to_pool(st_timer *t);

/* Returns every slot of a free list (a removed owner's) to the pool. */
void st_registry_timers_release(stw_id *free_list);

/* ---- handles ---- */

/* Makes a slot's handle live with the `issued` value take gave. */
void st_registry_publish(st_timer *t, uint64_t issued);

/* Starts a new generation of a slot kept for good, live at once; returns
 * its `issued` value. */
uint64_t st_registry_renew(st_timer *t);

/* Ends the slot's live handle (a free, a removal). */
void st_registry_kill(st_timer *t);

/*
 * Whether `issued` is still the slot's live value: its handle (or, for a
 * legacy slot, its adapter's life) has not ended since it was read. The
 * one live-handle check; out of line so that a test can act just after it.
 */
bool st_registry_still_issued(const st_timer *t, uint64_t issued);

/* Bit 63 of an `issued` value: its handle (or legacy adapter) is live. */
#define ST_REGISTRY_LIVE (UINT64_C(1) << 63)

/* The slot's `issued` value now, and whether it is live. */
static inline bool st_registry_current(const st_timer *t, uint64_t *issued)
{
    *issued = atomic_load(&t->issued);
    return *issued & ST_REGISTRY_LIVE;
}

/* Whether the slot has a live handle (or, legacy, a live adapter). */
static inline bool st_registry_is_live(const st_timer *t)
{
    uint64_t issued;
    return st_registry_current(t, &issued);
}

/* Bit 62 of an `issued` value: the slot is kept for good by its adapter
 * (its legacy timer). Every value of such a slot carries it, and no
 * handle may name one (st_registry_live_timer): a value forged for it
 * decodes to nothing. */
#define ST_REGISTRY_FOR_GOOD (UINT64_C(1) << 62)

/*
 * The permutation that makes handles sparse: a multiplication by an odd
 * constant (a bijection modulo 2^64), then the high half folded into the
 * low. A change of handle bit k changes the plain value from bit k up,
 * carried through the product, so a handle changed by one bit, or made
 * up, decodes to a generation far beyond anything its slot has issued.
 * Decoding is four instructions, inline, since every StorPortRequestTimer
 * decodes one.
 */
#define ST_HANDLE_MUL UINT64_C(0x9E3779B97F4A7C15)
#define ST_HANDLE_MUL_INVERSE UINT64_C(0xF1DE83E19937733D)
_Static_assert(ST_HANDLE_MUL * ST_HANDLE_MUL_INVERSE == 1, "the inverse undoes the product");

/* Folds the high half into the low: its own inverse. */
static inline uint64_t st_registry_fold(uint64_t x)
{
    return x ^ (x >> 32);
}

static inline uint64_t st_registry_decode(uint64_t handle)
{
    return st_registry_fold(handle) * ST_HANDLE_MUL_INVERSE;
}

/* The chunks (registry.c writes them; each entry once, before any slot of
 * its chunk is handed out). */
extern _Atomic(st_timer *) st_registry_chunks[ST_TIMER_CHUNKS];

/* Slot `slot`, NULL if it was never made. */
static inline st_timer *st_registry_slot(uint32_t slot)
{
    st_timer *chunk = atomic_load_explicit(&st_registry_chunks[slot / ST_TIMER_CHUNK],
                                           memory_order_acquire);
    return chunk ? &chunk[slot % ST_TIMER_CHUNK] : NULL;
}

/* The slot whose live handle `handle` is, with its `issued` value; NULL
 * for a handle freed, never issued or made up, and for one naming a slot
 * kept for good. Lock-free, never dereferences anything the caller gave.
 * (It compares `issued` itself rather than through
 * st_registry_still_issued, whose call a test may wrap.) */
static inline st_timer *st_registry_live_timer(uint64_t handle, uint64_t *issued)
{
    uint64_t plain = st_registry_decode(handle);
    if (plain & (ST_REGISTRY_LIVE | ST_REGISTRY_FOR_GOOD))
        return NULL; /* no handle decodes to this: forged */
    st_timer *t = st_registry_slot((uint32_t)(plain & ST_SLOT_MASK));
    if (!t || atomic_load(&t->issued) != (plain | ST_REGISTRY_LIVE))
        return NULL;
    *issued = plain | ST_REGISTRY_LIVE;
    return t;
}

/* The handle the slot issued last (live or not), and the handle an
 * `issued` value stands for. */
uint64_t st_registry_handle(const st_timer *t);
uint64_t st_registry_handle_of(uint64_t issued);

/*
 * Whether `handle` was issued by a slot of `owner` and freed since. Exact
 * for the owner's whole life: a slot's generations are issued one after
 * another and the slot stays with its owner.
 */
bool st_registry_was_freed(uint32_t owner, uint64_t handle);

/* A handle value as the PVOID the caller holds: an opaque value, never a
 * pointer to anything, and never dereferenced (SPEC S4.7, S12.2). */
static inline PVOID st_handle_pointer(uint64_t handle)
{
    return (PVOID)(uintptr_t)handle; // NOLINT(performance-no-int-to-ptr): opaque by design
}

static inline uint64_t st_handle_value(PVOID handle)
{
    return (uint64_t)(uintptr_t)handle;
}

/* ---- owner words ---- */

/* The slot's owner (adapter slot index + 1), 0 if none. Lock-free. */
static inline uint32_t st_registry_owner(const st_timer *t)
{
    return atomic_load_explicit(&t->owner, memory_order_acquire) & ST_OWNER_MAX;
}

/* Which of its owner's shards the slot's node is, or was last, in. */
static inline uint32_t st_registry_shard(const st_timer *t)
{
    return atomic_load_explicit(&t->owner, memory_order_acquire) >> ST_OWNER_SHARD_SHIFT;
}

/* Moves the slot to another shard of its owner (both shard locks held). */
void st_registry_set_shard(st_timer *t, uint32_t shard);

/* Whether every slot of a free list is `owner`'s and has no live handle,
 * with no slot twice (a bounded walk); *count receives its length. */
bool st_registry_free_list_ok(uint32_t owner, stw_id list, uint32_t *count);

/* Calls visit on each slot of `owner` with a live handle (its legacy slot
 * too, while its adapter lives): a scan of every slot ever made. */
void st_registry_timers_visit(uint32_t owner, void (*visit)(st_timer *t, void *ctx),
                              void *ctx);

#endif
