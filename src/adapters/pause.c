/* pause.c - pause states and their deadlines (pause.h). */
#include "adapters/pause.h"

#include "platform/alloc.h"
#include "wheel/timer_wheel.h"

void st_pauses_reset(st_pauses *set)
{
    set->adapter = (st_pause){0};
    set->unit_count = 0;
    set->paused_count = 0;
}

void st_pauses_free(st_pauses *set)
{
    st_free(set->units);
    set->units = NULL;
    set->unit_count = set->unit_capacity = 0;
    set->paused_count = 0;
}

st_pause *st_pauses_unit(st_pauses *set, uint32_t key, bool create)
{
    for (size_t i = 0; i < set->unit_count; i++)
        if (set->units[i].key == key)
            return &set->units[i].state;
    if (!create)
        return NULL;
    st_unit_pause *units = st_room_for_one(set->units, &set->unit_capacity, set->unit_count,
                                           sizeof *units, 8);
    if (!units)
        return NULL;
    set->units = units;
    st_unit_pause *unit = &set->units[set->unit_count++];
    *unit = (st_unit_pause){.key = key};
    return &unit->state;
}

uint64_t st_pause_begin(st_pauses *set, st_pause *p, uint64_t until, uint64_t order)
{
    if (!p->paused) {
        p->paused = true;
        set->paused_count++;
        p->until = until;
        p->order = order;
    } else if (until > p->until) {
        p->until = until; /* the earlier expiry is dropped */
        p->order = order;
    }
    return p->until;
}

bool st_pause_end(st_pauses *set, st_pause *p, uint32_t reason)
{
    if (!p->paused)
        return false;
    p->paused = false;
    p->last_end = reason;
    set->paused_count--;
    return true;
}

/* Whether `p`, paused, expires before the pause `first` names (if any):
 * by deadline, then order (S16.4). */
static bool expires_before(const st_pause *p, const st_pause_ref *first)
{
    return !first->state ||
           stw_key_before(p->until, p->order, first->state->until, first->state->order);
}

bool st_pauses_first_expiry(st_pauses *set, st_pause_ref *first)
{
    *first = (st_pause_ref){0};
    if (!set->paused_count)
        return false;
    if (set->adapter.paused)
        *first = (st_pause_ref){false, 0, &set->adapter};
    for (size_t i = 0; i < set->unit_count; i++) {
        st_pause *p = &set->units[i].state;
        if (p->paused && expires_before(p, first))
            *first = (st_pause_ref){true, set->units[i].key, p};
    }
    return first->state != NULL;
}
