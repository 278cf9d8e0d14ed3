/* registry.c - the chunked, never-freed table of timer slots (registry.h). */
#include "adapters/registry.h"

#include "platform/alloc.h"
#include "platform/sync.h"

#define ST_LIVE ST_REGISTRY_LIVE
#define ST_FOR_GOOD ST_REGISTRY_FOR_GOOD
/* Handles' generations fit in the 38 bits between the slot index and
 * ST_FOR_GOOD. */
#define ST_GENERATION_MAX ((UINT64_C(1) << (62 - ST_SLOT_BITS)) - 1)
_Static_assert(ST_GENERATION_MAX >= (UINT64_C(1) << 37),
               "a slot issues handles for the life of any process (2^38 each)");

_Static_assert(sizeof(void *) >= 8, "handles need 64-bit pointers");
_Static_assert(ST_SLOT_BITS <= 32, "a slot index is a 32-bit wheel id");
_Static_assert((UINT64_C(1) << ST_SLOT_BITS) <= STW_HEAD_BASE,
               "slot ids stay below the wheel's own list-head ids");

/* Slots made, the common pool and the chunk table's growth. */
static st_mutex registry_lock = ST_MUTEX_INITIALIZER;

static uint64_t encode_handle(uint64_t plain)
{
    return st_registry_fold(plain * ST_HANDLE_MUL);
}

_Atomic(st_timer *) st_registry_chunks[ST_TIMER_CHUNKS];
/* The same chunks, for the wheels (stw_table): each entry is written once,
 * under registry_lock, before any slot of its chunk is handed out. */
static void *timer_chunk_bases[ST_TIMER_CHUNKS];
static uint32_t timers_made;             /* under registry_lock */
static stw_id pool = STW_NONE;           /* slots of no owner, under registry_lock */

static st_timer *timer_slot(uint32_t slot)
{
    return st_registry_slot(slot);
}

stw_table st_registry_timer_table(void)
{
    return (stw_table){timer_chunk_bases, ST_TIMER_CHUNK_SHIFT, sizeof(st_timer)};
}

static uint64_t plain_of(const st_timer *t)
{
    return atomic_load(&t->issued) & ~ST_LIVE;
}

static void set_owner(st_timer *t, uint32_t owner)
{
    atomic_store(&t->owner, (uint16_t)owner); /* shard 0 */
}

/*
 * Memory for chunk `chunk`: chunks of a small table are allocated one by
 * one; once the table is large (ST_HUGE_FROM_CHUNK chunks, 8 MiB), whole
 * huge-page blocks are, and each feeds the next chunks. A random look at a
 * large table then costs a cache miss, not also a TLB miss (BENCHMARKS.md).
 * NULL if memory is short. registry_lock held.
 */
#define ST_CHUNKS_PER_BLOCK (ST_HUGE_BLOCK / (ST_TIMER_CHUNK * sizeof(st_timer)))
#define ST_HUGE_FROM_CHUNK 128u
_Static_assert(ST_HUGE_FROM_CHUNK % ST_CHUNKS_PER_BLOCK == 0, "blocks start at a block's chunk");

static st_timer *chunk_memory(uint32_t chunk)
{
    static st_timer *block;              /* the current huge block */
    if (chunk < ST_HUGE_FROM_CHUNK)
        return st_calloc_retained(ST_TIMER_CHUNK, sizeof(st_timer));
    if (chunk % ST_CHUNKS_PER_BLOCK == 0)
        block = st_calloc_retained_huge();
    return block ? block + (chunk % ST_CHUNKS_PER_BLOCK) * ST_TIMER_CHUNK : NULL;
}

/* A new slot; NULL if none can be had. registry_lock held. */
static st_timer *make_timer_slot(void)
{
    if (timers_made >= (1u << ST_SLOT_BITS))
        return NULL;
    uint32_t chunk = timers_made / ST_TIMER_CHUNK;
    if (!atomic_load_explicit(&st_registry_chunks[chunk], memory_order_relaxed)) {
        st_timer *fresh = chunk_memory(chunk);
        if (!fresh)
            return NULL;
        for (uint32_t i = 0; i < ST_TIMER_CHUNK; i++) {
            atomic_init(&fresh[i].issued, chunk * ST_TIMER_CHUNK + i); /* generation 0 */
            stw_node_init(&fresh[i].node);
        }
        timer_chunk_bases[chunk] = fresh;
        atomic_store_explicit(&st_registry_chunks[chunk], fresh, memory_order_release);
    }
    return timer_slot(timers_made++);
}

/* Free lists run through node.link.next: a free slot is in no wheel. */
static void push(stw_id *list, st_timer *t)
{
    t->node.link.next = *list;
    *list = st_registry_id(t);
}

static st_timer *pop(stw_id *list)
{
    if (*list == STW_NONE)
        return NULL;
    st_timer *t = timer_slot(*list);
    *list = t->node.link.next;
    stw_node_init(&t->node);
    return t;
}

/* A slot whose generations are used up is never handed out again. */
static bool exhausted(const st_timer *t)
{
    return plain_of(t) >> ST_SLOT_BITS >= ST_GENERATION_MAX;
}

/* A slot of no owner any more, into the common pool. registry_lock held.
 * (A slot kept for good gets here only when its adapter slot could not be
 * made: it never had a value anyone saw, and becomes an ordinary slot.) */
static void pool_push(st_timer *t)
{
    set_owner(t, 0);
    atomic_store(&t->issued, plain_of(t) & ~ST_FOR_GOOD);
    if (!exhausted(t))
        push(&pool, t);
}

/* A slot from the common pool (or a new one), now `owner`'s. */
static st_timer *adopt_slot(uint32_t owner)
{
    st_mutex_lock(&registry_lock);
    st_timer *t = pop(&pool);
    if (!t)
        t = make_timer_slot();
    st_mutex_unlock(&registry_lock);
    if (t) {
        st_set24(t->issued_by_owner, 0);
        set_owner(t, owner);
    }
    return t;
}

/* The slot's next generation, not yet live. */
static uint64_t next_generation(st_timer *t, uint64_t *handle)
{
    uint64_t plain = plain_of(t), value;
    do { /* 0 is no handle: skip the one generation that would encode to it */
        plain += UINT64_C(1) << ST_SLOT_BITS;
        value = encode_handle(plain);
    } while (value == 0);
    atomic_store(&t->issued, plain);
    *handle = value;
    return plain;
}

st_timer *st_registry_timer_take(uint32_t owner, stw_id *free_list, uint64_t *handle,
                                 uint64_t *issued)
{
    st_timer *t = pop(free_list);
    if (!t && !(t = adopt_slot(owner)))
        return NULL;
    uint32_t n = st_get24(t->issued_by_owner);
    st_set24(t->issued_by_owner, n < ST_U24_MAX ? n + 1 : n);
    *issued = next_generation(t, handle) | ST_LIVE;
    return t;
}

st_timer *st_registry_timer_for_good(uint32_t owner)
{
    st_mutex_lock(&registry_lock);
    st_timer *t = make_timer_slot();
    st_mutex_unlock(&registry_lock);
    if (t) {
        atomic_store(&t->issued, plain_of(t) | ST_FOR_GOOD);
        set_owner(t, owner);
    }
    return t;
}

void st_registry_timer_give_back(stw_id *free_list, st_timer *t)
{
    if (!exhausted(t))
        push(free_list, t);
}

void st_registry_timer_to_pool(st_timer *t)
{
    st_mutex_lock(&registry_lock);
    pool_push(t);
    st_mutex_unlock(&registry_lock);
}

void st_registry_timers_release(stw_id *free_list)
{
    st_mutex_lock(&registry_lock);
    for (st_timer *t; (t = pop(free_list));)
        pool_push(t);
    st_mutex_unlock(&registry_lock);
}

void st_registry_publish(st_timer *t, uint64_t issued)
{
    atomic_store(&t->issued, issued);
}

uint64_t st_registry_renew(st_timer *t)
{
    /* Never a handle: no generation to skip. 2^38 adapters made in one
     * slot would carry into ST_LIVE; a process makes far fewer. */
    uint64_t issued = (plain_of(t) + (UINT64_C(1) << ST_SLOT_BITS)) | ST_LIVE;
    atomic_store(&t->issued, issued);
    return issued;
}

void st_registry_kill(st_timer *t)
{
    atomic_store(&t->issued, plain_of(t));
}

bool st_registry_still_issued(const st_timer *t, uint64_t issued)
{
    return atomic_load(&t->issued) == issued;
}

uint64_t st_registry_handle(const st_timer *t)
{
    return encode_handle(plain_of(t));
}

uint64_t st_registry_handle_of(uint64_t issued)
{
    return encode_handle(issued & ~ST_LIVE);
}

bool st_registry_was_freed(uint32_t owner, uint64_t handle)
{
    uint64_t plain = st_registry_decode(handle);
    st_timer *t = (plain & (ST_LIVE | ST_FOR_GOOD)) ? NULL
                                                     : timer_slot((uint32_t)(plain & ST_SLOT_MASK));
    if (!t || st_registry_owner(t) != owner)
        return false;
    uint64_t issued = atomic_load(&t->issued);
    uint64_t current = (issued & ~ST_LIVE) >> ST_SLOT_BITS, generation = plain >> ST_SLOT_BITS;
    uint64_t first = current + 1 - st_get24(t->issued_by_owner); /* the owner's first */
    return generation >= first && generation <= current && (plain | ST_LIVE) != issued;
}

void st_registry_set_shard(st_timer *t, uint32_t shard)
{
    /* Both shard locks are held, and a live slot's owner bits do not
     * change: nobody else writes the word now. */
    uint32_t owner = st_registry_owner(t);
    /* Release: a plain store here (a sequentially consistent one is a
     * locked exchange), read with acquire by whoever locks by it. */
    atomic_store_explicit(&t->owner, (uint16_t)(shard << ST_OWNER_SHARD_SHIFT | owner),
                          memory_order_release);
}

bool st_registry_free_list_ok(uint32_t owner, stw_id list, uint32_t *count)
{
    st_mutex_lock(&registry_lock);
    uint32_t made = timers_made;
    st_mutex_unlock(&registry_lock);
    *count = 0;
    for (stw_id id = list; id != STW_NONE; (*count)++) {
        st_timer *t = id < made ? timer_slot(id) : NULL;
        if (!t || *count >= made || st_registry_owner(t) != owner || st_registry_is_live(t))
            return false;
        id = t->node.link.next;
    }
    return true;
}

void st_registry_timers_visit(uint32_t owner, void (*visit)(st_timer *t, void *ctx), void *ctx)
{
    st_mutex_lock(&registry_lock);
    uint32_t made = timers_made;
    st_mutex_unlock(&registry_lock);
    for (uint32_t i = 0; i < made; i++) {
        st_timer *t = timer_slot(i);
        if (st_registry_owner(t) == owner && st_registry_is_live(t))
            visit(t, ctx);
    }
}
