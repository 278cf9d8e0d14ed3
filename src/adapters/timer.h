/*
 * timer.h - one timer slot: 64 bytes, one cache line, all a timer costs
 * (SPEC S4.7's handle bookkeeping included), and nothing else is kept per
 * timer:
 *
 *     24  wheel node: two 32-bit links (slot indices), fire time, arm order
 *      8  the arm word (pending state, lock-free)
 *      8  `issued`: the slot's last handle as (generation << 24) | slot,
 *         with a live bit
 *     16  callback (extended or legacy) and context of the queued arm
 *      8  fire time minus due time (24 bits; a window is at most 1 s),
 *         handles issued to the owner here (24 bits, saturating), owner
 *         adapter and shard (16 bits)
 *
 * What made room: wheel links are 32-bit slot indices resolved through the
 * registry's chunk table (stw_table), not pointers; the handle, generation
 * and slot index are one word; the owner is an adapter slot index, not a
 * pointer and serial (a slot returns to the common pool, ownerless, when
 * its adapter is removed); the due time is kept as its distance to the fire
 * time; free lists run through the wheel links of free slots; and an
 * adapter keeps no list of its live timers: removal scans the slot table
 * for them (linear in slots ever made, on a rare path).
 *
 * Each field belongs to one module, and only that module's file reads or
 * writes it:
 *   node, callback, context, fire_after_due   shard.c: the queued arm, under
 *                                             its shard's lock
 *   arm                                       arm_word.c: the pending state,
 *                                             lock-free
 *   issued, issued_by_owner, owner            registry.c: the handle, the
 *                                             slot's adapter and shard
 * The slot's wheel id is its index in the registry's table; the registry's
 * free lists chain free slots through node.link.next (a free slot is in no
 * wheel).
 */
#ifndef STORTIMER_ADAPTERS_TIMER_H
#define STORTIMER_ADAPTERS_TIMER_H

#include "storport.h"
#include "wheel/timer_wheel.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_timer {
    stw_node node;                   /* first: at = fire time, seq = arm order */
    _Atomic uint64_t arm;            /* (order << 1) | pending */
    /* The plain value of the slot's last handle, (generation << 24) | slot,
     * with a live bit while that handle lives. */
    _Atomic uint64_t issued;
    union {
        PHW_TIMER_EX extended;       /* of the queued arm */
        PHW_TIMER legacy;            /* the adapter's legacy slot */
    } callback;
    PVOID context;
    uint8_t fire_after_due[3];       /* at - due of the queued arm */
    uint8_t issued_by_owner[3];      /* handles the owner issued here,
                                        saturating at 2^24 - 1 (S6.3) */
    /* (shard << 14) | (adapter slot index + 1); 0: no adapter. */
    _Atomic uint16_t owner;
} st_timer;

_Static_assert(sizeof(st_timer) == 64, "a timer is one cache line");
_Static_assert(offsetof(st_timer, node) == 0,
               "a wheel node's address is its timer's (shard.c, registry.c)");

/* The largest value a three-byte field holds. */
#define ST_U24_MAX ((UINT32_C(1) << 24) - 1)

/* Three little-endian bytes, for the two 24-bit fields above. */
static inline uint32_t st_get24(const uint8_t b[3])
{
    return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
}

static inline void st_set24(uint8_t b[3], uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
}

#endif
