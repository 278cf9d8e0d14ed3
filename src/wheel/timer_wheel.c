/*
 * timer_wheel.c - a hierarchical timing wheel over absolute times (see the
 * header for the layout and why there is no wrap-around).
 */
#include "wheel/timer_wheel.h"

#define LEVEL_SHIFT(level) ((unsigned)(level) * STW_BITS)
#define READY (STW_HEAD_BASE + STW_READY_HEAD)

static inline stw_id head_id(unsigned level, unsigned s)
{
    return STW_HEAD_BASE + level * STW_SLOTS + s;
}

static inline bool is_head(stw_id id)
{
    return id >= STW_HEAD_BASE;
}

/* The link of a node or of a head. */
static inline stw_link *link_of(stw *w, stw_id id)
{
    return is_head(id) ? &w->head[id - STW_HEAD_BASE] : &stw_node_at(w, id)->link;
}

static inline void list_init(stw *w, stw_id head)
{
    stw_link *l = link_of(w, head);
    l->next = l->prev = head;
}

static inline bool list_empty(const stw *w, stw_id head)
{
    return w->head[head - STW_HEAD_BASE].next == head;
}

/* Links `id` just before `at` (at the tail, when `at` is the head). */
static inline void link_before(stw *w, stw_id at, stw_id id)
{
    stw_link *after = link_of(w, at), *l = link_of(w, id);
    stw_id previous = after->prev;
    l->prev = previous;
    l->next = at;
    link_of(w, previous)->next = id;
    after->prev = id;
}

/* Unlinks `id` and marks it in no list; returns its old neighbours. */
static inline void unlink_one(stw *w, stw_id id, stw_id *prev, stw_id *next)
{
    stw_link *l = link_of(w, id);
    *prev = l->prev;
    *next = l->next;
    link_of(w, *prev)->next = *next;
    link_of(w, *next)->prev = *prev;
    l->next = l->prev = STW_NONE;
}

static inline bool before(const stw_node *a, const stw_node *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

void stw_init(stw *w, uint64_t now, stw_table table)
{
    w->now = now;
    w->count = 0;
    w->table = table;
    for (unsigned level = 0; level < STW_LEVELS; level++)
        w->pending[level] = 0;
    for (stw_id h = 0; h < STW_HEADS; h++)
        list_init(w, STW_HEAD_BASE + h);
}

/* Into the ready list, in (at, seq) order. Arrivals are nearly always in
 * order, so the walk back from the tail stops at once. */
static void ready_insert(stw *w, stw_id id)
{
    const stw_node *n = stw_node_at(w, id);
    stw_id at = READY;
    for (stw_id prev = w->head[STW_READY_HEAD].prev; prev != READY;
         prev = stw_node_at(w, prev)->link.prev) {
        if (!before(n, stw_node_at(w, prev)))
            break;
        at = prev;
    }
    link_before(w, at, id);
}

/* Into the slot its time names relative to the wheel's time (at > now). */
static void slot_insert(stw *w, stw_id id)
{
    uint64_t at = stw_node_at(w, id)->at;
    unsigned level = (unsigned)(63 - __builtin_clzll(at ^ w->now)) / STW_BITS;
    unsigned s = (unsigned)(at >> LEVEL_SHIFT(level)) & (STW_SLOTS - 1);
    link_before(w, head_id(level, s), id);
    w->pending[level] |= UINT64_C(1) << s;
}

static void place(stw *w, stw_id id)
{
    if (stw_node_at(w, id)->at <= w->now)
        ready_insert(w, id);
    else
        slot_insert(w, id);
}

void stw_insert(stw *w, stw_id id)
{
    place(w, id);
    w->count++;
}

void stw_remove(stw *w, stw_id id)
{
    stw_id prev, next;
    unlink_one(w, id, &prev, &next);
    /* Its neighbours are one link: a head, now alone. A slot's head? */
    if (prev == next && prev != READY) {
        unsigned h = prev - STW_HEAD_BASE;
        w->pending[h / STW_SLOTS] &= ~(UINT64_C(1) << (h % STW_SLOTS));
    }
    w->count--;
}

/* The lowest level with a pending slot, or STW_LEVELS. */
static unsigned first_level(const stw *w)
{
    for (unsigned level = 0; level < STW_LEVELS; level++)
        if (w->pending[level])
            return level;
    return STW_LEVELS;
}

/* The start time of pending slot `s` of `level`: the wheel's time above
 * the level, the slot's bits at it, zeros below. */
static uint64_t slot_time(const stw *w, unsigned level, unsigned s)
{
    unsigned shift = LEVEL_SHIFT(level);
    uint64_t above = shift + STW_BITS >= 64 ? 0 : (w->now >> (shift + STW_BITS)) << (shift + STW_BITS);
    return above | ((uint64_t)s << shift);
}

/* The earliest pending slot's start, UINT64_MAX if none; its place in
 * *level and *s. */
static uint64_t earliest_slot(const stw *w, unsigned *level, unsigned *s)
{
    *level = first_level(w);
    if (*level == STW_LEVELS)
        return UINT64_MAX;
    *s = (unsigned)__builtin_ctzll(w->pending[*level]);
    return slot_time(w, *level, *s);
}

uint64_t stw_next(const stw *w)
{
    stw_id first = stw_first_ready(w);
    if (first != STW_NONE)
        return stw_node_at(w, first)->at;
    unsigned level, s;
    return earliest_slot(w, &level, &s);
}

uint64_t stw_next_within(const stw *w, unsigned budget, stw_id *node)
{
    stw_id unused, first = stw_first_ready(w);
    if (!node)
        node = &unused;
    *node = first;
    if (first != STW_NONE)
        return stw_node_at(w, first)->at;
    unsigned level, s;
    uint64_t start = earliest_slot(w, &level, &s);
    if (level == STW_LEVELS)
        return start;
    stw_id head = head_id(level, s);
    if (level == 0) { /* a level-0 slot is one microsecond: its nodes share it */
        *node = w->head[head - STW_HEAD_BASE].next;
        return start;
    }
    uint64_t smallest = UINT64_MAX;
    for (stw_id id = w->head[head - STW_HEAD_BASE].next; id != head;
         id = stw_node_at(w, id)->link.next) {
        if (budget-- == 0) {
            *node = STW_NONE;
            return start; /* too many to look at: the slot's start */
        }
        if (stw_node_at(w, id)->at < smallest) {
            smallest = stw_node_at(w, id)->at;
            *node = id;
        }
    }
    return smallest;
}

stw_id stw_earliest(const stw *w)
{
    stw_id first = stw_first_ready(w);
    if (first != STW_NONE)
        return first;
    unsigned level, s;
    if (earliest_slot(w, &level, &s) == UINT64_MAX)
        return STW_NONE;
    /* Levels hold disjoint, ordered ranges of time, so the earliest
     * pending slot holds the earliest node. */
    stw_id head = head_id(level, s), best = STW_NONE;
    for (stw_id id = w->head[head - STW_HEAD_BASE].next; id != head;
         id = stw_node_at(w, id)->link.next)
        if (best == STW_NONE || stw_node_at(w, id)->at < stw_node_at(w, best)->at)
            best = id;
    return best;
}

/* Empties one slot whose start has come: its nodes become ready or move
 * down to the level their time now names. The wheel's time is the slot's
 * start; the list is re-placed from its front, so the order of equal times
 * (insertion order) is kept. */
static void run_slot(stw *w, unsigned level, unsigned s)
{
    stw_id head = head_id(level, s);
    w->pending[level] &= ~(UINT64_C(1) << s);
    while (!list_empty(w, head)) {
        stw_id id = w->head[head - STW_HEAD_BASE].next, prev, next;
        unlink_one(w, id, &prev, &next);
        place(w, id);
    }
}

void stw_advance(stw *w, uint64_t now)
{
    for (;;) {
        unsigned level, s;
        uint64_t start = earliest_slot(w, &level, &s);
        if (level == STW_LEVELS || start > now)
            break;
        w->now = start;
        run_slot(w, level, s);
    }
    if (now > w->now)
        w->now = now;
}

void stw_settle(stw *w, uint64_t limit)
{
    while (stw_first_ready(w) == STW_NONE) {
        unsigned level, s;
        uint64_t start = earliest_slot(w, &level, &s);
        if (level == STW_LEVELS || start > limit)
            return; /* empty, or nothing due by the limit */
        w->now = start;
        run_slot(w, level, s);
    }
}

static void visit_list(const stw *w, stw_id head, void (*visit)(stw_id id, void *ctx), void *ctx)
{
    for (stw_id id = w->head[head - STW_HEAD_BASE].next; id != head;
         id = stw_node_at(w, id)->link.next)
        visit(id, ctx);
}

void stw_visit(const stw *w, void (*visit)(stw_id id, void *ctx), void *ctx)
{
    visit_list(w, READY, visit, ctx);
    for (unsigned level = 0; level < STW_LEVELS; level++)
        for (uint64_t bits = w->pending[level]; bits; bits &= bits - 1)
            visit_list(w, head_id(level, (unsigned)__builtin_ctzll(bits)), visit, ctx);
}

static void unqueue_all(stw *w, stw_id head)
{
    while (!list_empty(w, head)) {
        stw_id prev, next;
        unlink_one(w, w->head[head - STW_HEAD_BASE].next, &prev, &next);
    }
}

void stw_clear(stw *w, uint64_t now)
{
    unqueue_all(w, READY);
    for (unsigned level = 0; level < STW_LEVELS; level++)
        for (uint64_t bits = w->pending[level]; bits; bits &= bits - 1)
            unqueue_all(w, head_id(level, (unsigned)__builtin_ctzll(bits)));
    stw_init(w, now, w->table);
}

uint64_t stw_fire_time(uint64_t due, uint64_t window)
{
    uint64_t end = due > UINT64_MAX - window ? UINT64_MAX : due + window;
    if (due == 0 || end == due)
        return due;
    /* Above the highest bit in which due - 1 and end differ, every time in
     * (due - 1, end] agrees; at that bit `end` has a one and due - 1 a
     * zero. So `end` with the bits below it cleared is in the range, and
     * no time in it has more trailing zeros. */
    unsigned high = 63 - (unsigned)__builtin_clzll((due - 1) ^ end);
    return end & ~((UINT64_C(1) << high) - 1);
}

/* Walks one list: links agree both ways; counts its nodes. */
static bool check_list(const stw *w, stw_id head, uint64_t *seen)
{
    for (stw_id id = w->head[head - STW_HEAD_BASE].next; id != head;) {
        if (is_head(id) || id == STW_NONE)
            return false;
        const stw_link *l = &stw_node_at(w, id)->link;
        stw_id next = l->next, prev = l->prev;
        stw_id next_back = is_head(next) ? w->head[next - STW_HEAD_BASE].prev
                                         : stw_node_at(w, next)->link.prev;
        stw_id prev_fwd = is_head(prev) ? w->head[prev - STW_HEAD_BASE].next
                                        : stw_node_at(w, prev)->link.next;
        if (next_back != id || prev_fwd != id || ++*seen > w->count)
            return false;
        id = next;
    }
    return true;
}

bool stw_check(const stw *w)
{
    uint64_t seen = 0;
    if (!check_list(w, READY, &seen))
        return false;
    const stw_node *previous = NULL;
    for (stw_id id = w->head[STW_READY_HEAD].next; id != READY; id = stw_node_at(w, id)->link.next) {
        const stw_node *n = stw_node_at(w, id);
        if (n->at > w->now || (previous && before(n, previous)))
            return false;
        previous = n;
    }
    /* Only the slots marked pending are walked: a node in a slot whose bit
     * is clear is one that this walk does not see, and `count` does. */
    for (unsigned level = 0; level < STW_LEVELS; level++) {
        for (uint64_t bits = w->pending[level]; bits; bits &= bits - 1) {
            unsigned s = (unsigned)__builtin_ctzll(bits);
            stw_id head = head_id(level, s);
            if (list_empty(w, head) || !check_list(w, head, &seen))
                return false;
            for (stw_id id = w->head[head - STW_HEAD_BASE].next; id != head;
                 id = stw_node_at(w, id)->link.next) {
                const stw_node *n = stw_node_at(w, id);
                if (n->at <= w->now ||
                    (unsigned)(63 - __builtin_clzll(n->at ^ w->now)) / STW_BITS != level ||
                    ((n->at >> LEVEL_SHIFT(level)) & (STW_SLOTS - 1)) != s)
                    return false;
            }
        }
    }
    return seen == w->count;
}
