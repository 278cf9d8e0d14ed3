/*
 * pause.h - an adapter's pause and its units' pauses (SPEC S16): each a
 * state with a deadline on the adapter's clock, whose expiry is due work
 * like a timer's (S16.4). Under the adapter lock.
 */
#ifndef STORTIMER_ADAPTERS_PAUSE_H
#define STORTIMER_ADAPTERS_PAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_pause {
    bool paused;
    uint64_t until;                  /* the deadline D, while paused */
    uint64_t order;                  /* of the Pause that set D (S14.8 ties) */
    uint32_t last_end;               /* STORTIMER_PAUSE_END_* */
} st_pause;

typedef struct st_unit_pause {
    uint32_t key;                    /* (PathId << 16) | (TargetId << 8) | Lun */
    st_pause state;
} st_unit_pause;

typedef struct st_pauses {
    st_pause adapter;
    st_unit_pause *units;            /* every unit ever paused, unsorted */
    size_t unit_count, unit_capacity;
    uint32_t paused_count;           /* paused now, adapter and units */
} st_pauses;

/* Which pause: the adapter's (unit false) or a unit's. */
typedef struct st_pause_ref {
    bool unit;
    uint32_t key;
    st_pause *state;
} st_pause_ref;

/* No pause, no unit (a new adapter). */
void st_pauses_reset(st_pauses *set);

/* Frees the units' states (removal). */
void st_pauses_free(st_pauses *set);

/* The state of a unit; with `create`, a new one when it has none (NULL:
 * memory is short). Without, NULL when it has none. */
st_pause *st_pauses_unit(st_pauses *set, uint32_t key, bool create);

/* Pauses until `until` (S16.3): a pause in force only moves its deadline
 * later (taking `order` with it). Returns the deadline in force. */
uint64_t st_pause_begin(st_pauses *set, st_pause *p, uint64_t until, uint64_t order);

/* Ends a pause in force with `reason`; false (nothing changes) if none. */
bool st_pause_end(st_pauses *set, st_pause *p, uint32_t reason);

/* The pause in force that expires first, by (deadline, order); false if
 * none. */
bool st_pauses_first_expiry(st_pauses *set, st_pause_ref *first);

#endif
