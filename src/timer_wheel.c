/*
 * timer_wheel.c - a hierarchical timing wheel over absolute times (see the
 * header for the layout and why there is no wrap-around).
 */
#include "timer_wheel.h"

#include <stddef.h>

#define LEVEL_SHIFT(level) ((unsigned)(level) * STW_BITS)

static inline stw_node *node_of(stw_link *link)
{
    return (stw_node *)((char *)link - offsetof(stw_node, link));
}

static inline const stw_node *const_node_of(const stw_link *link)
{
    return (const stw_node *)((const char *)link - offsetof(stw_node, link));
}

static inline void list_init(stw_link *head)
{
    head->next = head->prev = head;
}

static inline bool list_empty(const stw_link *head)
{
    return head->next == head;
}

static inline void link_before(stw_link *at, stw_link *link)
{
    link->prev = at->prev;
    link->next = at;
    at->prev->next = link;
    at->prev = link;
}

static inline void unlink_one(stw_link *link)
{
    link->prev->next = link->next;
    link->next->prev = link->prev;
}

static inline bool before(const stw_node *a, const stw_node *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

void stw_init(stw *w, uint64_t now)
{
    w->now = now;
    w->count = 0;
    list_init(&w->ready);
    for (unsigned level = 0; level < STW_LEVELS; level++) {
        w->pending[level] = 0;
        for (unsigned s = 0; s < STW_SLOTS; s++)
            list_init(&w->slot[level][s]);
    }
}

/* Into the ready list, in (at, seq) order. Arrivals are nearly always in
 * order, so the walk back from the tail stops at once. */
static void ready_insert(stw *w, stw_node *n)
{
    stw_link *at = &w->ready;
    while (at->prev != &w->ready && before(n, node_of(at->prev)))
        at = at->prev;
    link_before(at, &n->link);
    n->where = STW_READY;
}

/* Into the slot its time names relative to the wheel's time (at > now). */
static void slot_insert(stw *w, stw_node *n)
{
    uint64_t differ = n->at ^ w->now;
    unsigned level = (unsigned)(63 - __builtin_clzll(differ)) / STW_BITS;
    unsigned s = (unsigned)(n->at >> LEVEL_SHIFT(level)) & (STW_SLOTS - 1);
    link_before(&w->slot[level][s], &n->link);
    w->pending[level] |= UINT64_C(1) << s;
    n->where = (uint16_t)(level * STW_SLOTS + s);
}

static void place(stw *w, stw_node *n)
{
    if (n->at <= w->now)
        ready_insert(w, n);
    else
        slot_insert(w, n);
}

void stw_insert(stw *w, stw_node *n)
{
    place(w, n);
    w->count++;
}

void stw_remove(stw *w, stw_node *n)
{
    stw_link *next = n->link.next;
    unlink_one(&n->link);
    if (n->where != STW_READY && next == n->link.prev) {
        /* Its neighbours are one link: the slot's head, now alone. */
        unsigned level = n->where / STW_SLOTS, s = n->where % STW_SLOTS;
        if (list_empty(&w->slot[level][s]))
            w->pending[level] &= ~(UINT64_C(1) << s);
    }
    n->where = STW_NOWHERE;
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
    stw_node *first = stw_first_ready(w);
    if (first)
        return first->at;
    unsigned level, s;
    return earliest_slot(w, &level, &s);
}

uint64_t stw_next_within(const stw *w, unsigned budget)
{
    if (stw_first_ready(w))
        return stw_first_ready(w)->at;
    unsigned level, s;
    uint64_t start = earliest_slot(w, &level, &s);
    if (level == 0 || level == STW_LEVELS)
        return start;
    const stw_link *head = &w->slot[level][s];
    uint64_t first = UINT64_MAX;
    for (const stw_link *link = head->next; link != head; link = link->next) {
        if (budget-- == 0)
            return start; /* too many to look at: the slot's start */
        if (const_node_of(link)->at < first)
            first = const_node_of(link)->at;
    }
    return first;
}

/* Empties one slot whose start has come: its nodes become ready or move
 * down to the level their time now names. The wheel's time is the slot's
 * start, so the order of equal times is kept: a slot's list is in
 * insertion order and is re-placed in that order. */
static void run_slot(stw *w, unsigned level, unsigned s)
{
    stw_link *head = &w->slot[level][s], taken;
    taken.next = head->next; /* the whole list moves to `taken` */
    taken.prev = head->prev;
    taken.next->prev = taken.prev->next = &taken;
    list_init(head);
    w->pending[level] &= ~(UINT64_C(1) << s);
    while (!list_empty(&taken)) {
        stw_link *link = taken.next;
        unlink_one(link);
        place(w, node_of(link));
    }
}

void stw_advance(stw *w, uint64_t now)
{
    for (;;) {
        unsigned level, s;
        uint64_t start = earliest_slot(w, &level, &s);
        if (level == STW_LEVELS || start > now)
            break;
        if (start > w->now)
            w->now = start;
        run_slot(w, level, s);
    }
    if (now > w->now)
        w->now = now;
}

void stw_settle(stw *w, uint64_t limit)
{
    while (!stw_first_ready(w)) {
        unsigned level, s;
        uint64_t start = earliest_slot(w, &level, &s);
        if (level == STW_LEVELS || start > limit)
            return; /* empty, or nothing due by the limit */
        w->now = start;
        run_slot(w, level, s);
    }
}

static void unqueue_all(stw_link *head)
{
    while (!list_empty(head)) {
        stw_link *link = head->next;
        unlink_one(link);
        node_of(link)->where = STW_NOWHERE;
    }
}

void stw_clear(stw *w, uint64_t now)
{
    unqueue_all(&w->ready);
    for (unsigned level = 0; level < STW_LEVELS; level++)
        for (uint64_t bits = w->pending[level]; bits; bits &= bits - 1)
            unqueue_all(&w->slot[level][__builtin_ctzll(bits)]);
    stw_init(w, now);
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

static bool check_list(const stw_link *head, uint64_t *seen)
{
    for (const stw_link *link = head->next; link != head; link = link->next) {
        if (link->next->prev != link || link->prev->next != link)
            return false;
        (*seen)++;
    }
    return true;
}

bool stw_check(const stw *w)
{
    uint64_t seen = 0;
    if (!check_list(&w->ready, &seen))
        return false;
    const stw_node *previous = NULL;
    for (const stw_link *link = w->ready.next; link != &w->ready; link = link->next) {
        const stw_node *n = const_node_of(link);
        if (n->where != STW_READY || n->at > w->now || (previous && before(n, previous)))
            return false;
        previous = n;
    }
    for (unsigned level = 0; level < STW_LEVELS; level++) {
        for (unsigned s = 0; s < STW_SLOTS; s++) {
            const stw_link *head = &w->slot[level][s];
            bool pending = (w->pending[level] >> s) & 1;
            if (pending == list_empty(head) || !check_list(head, &seen))
                return false;
            for (const stw_link *link = head->next; link != head; link = link->next) {
                const stw_node *n = const_node_of(link);
                uint64_t differ = n->at ^ w->now;
                if (n->at <= w->now || n->where != level * STW_SLOTS + s ||
                    (unsigned)(63 - __builtin_clzll(differ)) / STW_BITS != level ||
                    ((n->at >> LEVEL_SHIFT(level)) & (STW_SLOTS - 1)) != s)
                    return false;
            }
        }
    }
    return seen == w->count;
}
