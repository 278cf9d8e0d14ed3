/*
 * timer_wheel.h - the timer data structure, pure: a hierarchical timing
 * wheel over absolute microsecond times.
 *
 * No threads, no clock, no locks, no allocation: the caller embeds a node in
 * each timer, says when it fires, and moves the wheel forward. Insert and
 * remove are O(1) (a list splice and a bit operation); the next time the
 * wheel needs attention comes from one 64-bit bitmap per level, without
 * scanning; each node is moved down a level at most STW_LEVELS - 1 times in
 * its life, however long it waits.
 *
 * Layout: level L has 64 slots of 64^L microseconds each. A node due at
 * `at` sits at the level of the highest bit in which `at` differs from the
 * wheel's time, in the slot named by that level's six bits of `at`. Because
 * the slot comes from absolute bits, every pending slot of a level lies
 * ahead of the wheel's time at that level, and the lowest pending level's
 * lowest pending slot is the earliest: no rotation, no wrap-around.
 *
 * Nodes whose time has come (at <= the wheel's time) wait on the ready list
 * in (at, seq) order, seq being the caller's tie-break (arm order, SPEC S8).
 *
 * Windows (coalescing) are decided before insertion: stw_fire_time picks,
 * inside a timer's window, the time with the most trailing zero bits, so
 * that timers with overlapping windows pick the same time and share one
 * wake-up, and a wide window lands on a coarse slot boundary where it fires
 * without being moved down the levels first.
 */
#ifndef STORTIMER_TIMER_WHEEL_H
#define STORTIMER_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STW_BITS 6
#define STW_SLOTS (1u << STW_BITS)
#define STW_LEVELS 11 /* 11 x 6 bits cover every uint64_t time */
_Static_assert(STW_LEVELS * STW_BITS >= 64, "the levels cover every 64-bit time");
_Static_assert(STW_SLOTS == 64, "a level's pending slots are one 64-bit bitmap");

/*
 * Nodes are named by 32-bit ids, so that two links take 8 bytes, not 16:
 * the caller keeps its nodes in a table of chunks (stw_table) and the wheel
 * finds node `id` at chunks[id >> shift] + (id & (2^shift - 1)) * stride.
 * Ids from STW_HEAD_BASE up are the wheel's own list heads.
 */
typedef uint32_t stw_id;
#define STW_NONE UINT32_MAX
#define STW_HEAD_BASE 0xffff0000u
/* Every slot, and the ready list (constants, not macro products: used as
 * array indices, where a product of macros reads as an overflow risk). */
enum { STW_READY_HEAD = STW_LEVELS * STW_SLOTS, STW_HEADS = STW_READY_HEAD + 1 };

/* A link of a circular list; a list's head is a link too. */
typedef struct stw_link {
    stw_id next, prev;   /* STW_NONE in a node that is in no list */
} stw_link;

/* Embed one at the start of each timer record; the wheel never allocates. */
typedef struct stw_node {
    stw_link link;
    uint64_t at;         /* fire time */
    uint64_t seq;        /* tie-break between equal fire times: smaller first */
} stw_node;

/* Whether (at, seq) comes before (other_at, other_seq): the time, then the
 * seq. Every due-order comparison (S8.4, S14.8) is this one. */
static inline bool stw_key_before(uint64_t at, uint64_t seq, uint64_t other_at,
                                  uint64_t other_seq)
{
    return at < other_at || (at == other_at && seq < other_seq);
}

/* Whether node `a` fires before node `b`. */
static inline bool stw_node_before(const stw_node *a, const stw_node *b)
{
    return stw_key_before(a->at, a->seq, b->at, b->seq);
}

/* Where the caller's nodes are. */
typedef struct stw_table {
    void *const *chunks; /* chunk base addresses; read, never written */
    unsigned shift;      /* ids per chunk: 2^shift (at most 32) */
    size_t stride;       /* bytes from one record to the next */
} stw_table;

typedef struct stw {
    uint64_t now;                             /* the wheel's time */
    uint64_t pending[STW_LEVELS];             /* bit s: slot s not empty */
    uint64_t count;                           /* nodes queued, ready included */
    stw_table table;
    stw_link head[STW_HEADS];                 /* slot lists, then ready */
} stw;

/* The node of `id`, which must be a node's id, not a head's. */
static inline stw_node *stw_node_at(const stw *w, stw_id id)
{
    uint64_t chunk = (uint64_t)id >> w->table.shift;
    uint64_t within = (uint64_t)id & ((UINT64_C(1) << w->table.shift) - 1);
    return (stw_node *)((char *)w->table.chunks[chunk] + within * w->table.stride);
}

/* An empty wheel whose time is `now`, over the nodes of `table`. */
void stw_init(stw *w, uint64_t now, stw_table table);

/* A node that is in no wheel. */
static inline void stw_node_init(stw_node *n) { n->link.next = n->link.prev = STW_NONE; }

/* True while the node is in a wheel. */
static inline bool stw_queued(const stw_node *n) { return n->link.next != STW_NONE; }

/* Queues node `id`, not queued, due at its `at`, tie-break its `seq`. A
 * time at or before the wheel's goes straight to the ready list. */
void stw_insert(stw *w, stw_id id);

/* Unqueues queued node `id`. */
void stw_remove(stw *w, stw_id id);

/*
 * The earliest time at which the wheel has work: the first ready node's
 * time, else the earliest pending slot's start (exact at level 0; at higher
 * levels a lower bound, when that slot's nodes move down a level).
 * UINT64_MAX when empty. O(STW_LEVELS), bitmaps only.
 */
uint64_t stw_next(const stw *w);

/*
 * stw_next, made exact when the earliest slot is above level 0 and holds at
 * most `budget` nodes: their smallest time. Bounded work, for a sleeper
 * that would rather not wake only to move nodes down a level. *node (if not
 * NULL) receives a node of that time, so that a caller can check it is
 * still wanted; STW_NONE when the time is a crowded slot's start or the
 * wheel is empty.
 */
uint64_t stw_next_within(const stw *w, unsigned budget, stw_id *node);

/*
 * A node with the smallest time (the first ready node if any), or
 * STW_NONE, without moving the wheel's time: O(nodes in the earliest
 * slot). For looking far ahead: moving the wheel there would send every
 * later insert at an earlier time to the ordered ready list.
 */
stw_id stw_earliest(const stw *w);

/*
 * Moves the wheel's time forward to `now` (never back): every node due by
 * then joins the ready list, in order; nodes further out move down the
 * levels as their slots come up. Work is proportional to the nodes moved.
 */
void stw_advance(stw *w, uint64_t now);

/*
 * Moves the wheel forward, slot by slot and never past `limit`, until a
 * node is ready or no node is due by `limit`. The wheel's time may then be
 * ahead of the caller's clock: the first ready node's (at, seq) is exact,
 * and nodes inserted meanwhile at earlier times are still ready in order.
 * For a virtual clock's step, which must know (time, seq) before firing.
 */
void stw_settle(stw *w, uint64_t limit);

/* The first ready node (smallest at, then seq), or STW_NONE. */
static inline stw_id stw_first_ready(const stw *w)
{
    stw_id first = w->head[STW_READY_HEAD].next;
    return first == STW_HEAD_BASE + STW_READY_HEAD ? STW_NONE : first;
}

/*
 * The fire time for a timer due at `due` that may fire until `due + window`
 * (saturating): the time in that range with the most trailing zero bits.
 * A zero window gives `due` itself.
 */
uint64_t stw_fire_time(uint64_t due, uint64_t window);

/* Calls visit(id, ctx) once for every queued node, ready ones first; the
 * wheel must not change meanwhile. O(nodes + slots). */
void stw_visit(const stw *w, void (*visit)(stw_id id, void *ctx), void *ctx);

/* Unqueues every node and empties the wheel at time `now`. */
void stw_clear(stw *w, uint64_t now);

/* Checks every invariant (slow: walks every node); false on the first
 * broken one. For tests. */
bool stw_check(const stw *w);

#endif /* STORTIMER_TIMER_WHEEL_H */
