/* shard.c - shards and the timers queued in them (shard.h). */
#include "adapters/shard.h"

#include "adapters/arm_word.h"
#include "adapters/window.h"
#include "platform/os.h"

/* A wake-up above level 0 looks at this many nodes of a slot to find its
 * exact first time, rather than waking only to move them down a level. */
#define ST_WAKE_SCAN_BUDGET 64u

_Static_assert(ST_WINDOW_MAX_US <= ST_U24_MAX, "a fire time's distance from its due time, "
                                              "at most the widest window, fits three bytes");

static st_timer *timer_of(const stw *wheel, stw_id id)
{
    return (st_timer *)stw_node_at(wheel, id); /* the node comes first */
}

void st_shards_init(st_shards *set)
{
    /* A power of two, so that a processor's shard is a mask away. */
    unsigned cpus = st_os_cpu_count();
    set->count = 1;
    while (set->count * 2 <= cpus && set->count * 2 <= ST_MAX_SHARDS)
        set->count *= 2;
    for (uint32_t i = 0; i < set->count; i++)
        set->shard[i].lock = (st_spinlock)ST_SPINLOCK_INITIALIZER;
}

void st_shards_reset(st_shards *set, uint64_t now)
{
    for (uint32_t i = 0; i < set->count; i++) {
        stw_init(&set->shard[i].wheel, now, st_registry_timer_table());
        st_counters_reset(&set->shard[i].stats);
    }
}

/* Moves `t` from locked shard `from` to `to` if `to` can be locked at once;
 * returns the shard it is in, locked (and `from` still locked too). */
static st_shard *move_timer(st_shards *set, st_timer *t, st_shard *from, st_shard *to)
{
    if (!to || to == from || !st_spin_trylock(&to->lock))
        return from;
    st_registry_set_shard(t, (uint32_t)(to - set->shard));
    return to;
}

void st_shard_queue(st_shards *set, st_shard *shard, st_shard *prefer, const st_request *r)
{
    st_timer *t = r->timer;
    if (r->legacy)
        t->callback.legacy = r->legacy_callback;
    else
        t->callback.extended = r->callback;
    t->context = r->context;
    stw_id id = st_registry_id(t);
    if (stw_queued(&t->node))
        stw_remove(&shard->wheel, id);
    st_shard *home = move_timer(set, t, shard, prefer);
    st_set24(t->fire_after_due, (uint32_t)(r->at - r->due)); /* <= ST_WINDOW_MAX_US */
    t->node.at = r->at;
    t->node.seq = r->order;
    stw_insert(&home->wheel, id);
    if (home != shard)
        st_spin_unlock(&home->lock);
}

void st_shard_unqueue(st_shard *shard, st_timer *t)
{
    if (stw_queued(&t->node))
        stw_remove(&shard->wheel, st_registry_id(t));
}

static void copy_arm(const st_timer *t, bool legacy, st_call *arm)
{
    arm->callback = legacy ? NULL : t->callback.extended;
    arm->legacy_callback = legacy ? t->callback.legacy : NULL;
    arm->context = t->context;
    arm->at = t->node.at;
    arm->due = t->node.at - st_get24(t->fire_after_due);
}

bool st_shard_queued_arm(const st_timer *t, uint64_t order, bool legacy, st_call *arm)
{
    if (!stw_queued(&t->node) || t->node.seq != order)
        return false;
    copy_arm(t, legacy, arm);
    return true;
}

/* The first node `look` finds whose timer is still pending for the arm it
 * was queued with; nodes cancelled or superseded above DISPATCH_LEVEL are
 * dropped on the way. */
static st_timer *first_live(stw *wheel, stw_id (*look)(const stw *))
{
    for (;;) {
        stw_id id = look(wheel);
        if (id == STW_NONE)
            return NULL;
        st_timer *t = timer_of(wheel, id);
        if (st_arm_word_armed_with(t, t->node.seq))
            return t;
        stw_remove(wheel, id);
    }
}

/* Whether `t`, due at the clock's last microsecond, was armed at or after
 * `cutoff`: it waits for the next advance (time/stepping.c). */
static bool beyond_end_of_time(const st_timer *t, uint64_t cutoff)
{
    return cutoff && t->node.at == UINT64_MAX && t->node.seq >= cutoff;
}

/* The shard's first live timer due by `limit`, moving its wheel as far as
 * it must; NULL if none. Shard locked. */
static st_timer *first_due(st_shard *shard, uint64_t limit, uint64_t cutoff)
{
    for (;;) {
        stw_settle(&shard->wheel, limit);
        if (stw_first_ready(&shard->wheel) == STW_NONE)
            return NULL; /* nothing due by the limit */
        st_timer *t = first_live(&shard->wheel, stw_first_ready);
        if (t)
            return t->node.at <= limit && !beyond_end_of_time(t, cutoff) ? t : NULL;
    }
}

/* The first live timer due at `now`, the wheel moved there. Shard locked. */
static st_timer *first_ready(st_shard *shard, uint64_t now, uint64_t cutoff)
{
    stw_advance(&shard->wheel, now);
    st_timer *t = first_live(&shard->wheel, stw_first_ready);
    /* A virtual clock's look ahead may have moved the wheel past `now`. */
    return t && t->node.at <= now && !beyond_end_of_time(t, cutoff) ? t : NULL;
}

/* Whether `t` fires before `u` (NULL: never): fire time, then arm order. */
static bool fires_before(const st_timer *t, const st_timer *u)
{
    return !u || t->node.at < u->node.at ||
           (t->node.at == u->node.at && t->node.seq < u->node.seq);
}

/* Takes the first timer that `look` finds over every shard (the smallest
 * (fire time, order): S8.4 across shards), unless it does not go before
 * `before`; see st_shards_take_first. */
static st_timer *take_first(st_shards *set, uint64_t time, uint64_t cutoff,
                            st_timer *(*look)(st_shard *shard, uint64_t time, uint64_t cutoff),
                            const st_timer *legacy, const stw_node *before, st_call *call,
                            bool *started)
{
    st_timer *first = NULL;
    st_shard *home = NULL;
    for (uint32_t i = 0; i < set->count; i++) {
        st_shard *shard = &set->shard[i];
        st_spin_lock(&shard->lock);
        st_timer *t = look(shard, time, cutoff);
        if (t && fires_before(t, first)) {
            if (home)
                st_spin_unlock(&home->lock);
            first = t;
            home = shard;
        } else {
            st_spin_unlock(&shard->lock);
        }
    }
    if (first && before && !stw_node_before(&first->node, before)) {
        st_spin_unlock(&home->lock);
        return NULL; /* another source's item goes first */
    }
    if (first) {
        stw_remove(&home->wheel, st_registry_id(first));
        copy_arm(first, first == legacy, call);
        *started = st_arm_word_start(first, first->node.seq);
        st_spin_unlock(&home->lock);
    }
    return first;
}

st_timer *st_shards_take_first(st_shards *set, uint64_t now, uint64_t cutoff,
                               const st_timer *legacy, const stw_node *before, st_call *call,
                               bool *started)
{
    return take_first(set, now, cutoff, first_ready, legacy, before, call, started);
}

st_timer *st_shards_take_first_due(st_shards *set, uint64_t limit, uint64_t cutoff,
                                   const st_timer *legacy, const stw_node *before,
                                   st_call *call, bool *started)
{
    return take_first(set, limit, cutoff, first_due, legacy, before, call, started);
}

bool st_shards_first_time(st_shards *set, uint64_t limit, uint64_t cutoff, bool far,
                          uint64_t *at)
{
    bool found = false;
    for (uint32_t i = 0; i < set->count; i++) {
        st_shard *shard = &set->shard[i];
        st_spin_lock(&shard->lock);
        st_timer *t = far ? first_live(&shard->wheel, stw_earliest)
                          : first_due(shard, limit, cutoff);
        if (t && (!found || t->node.at < *at)) {
            found = true;
            *at = t->node.at;
        }
        st_spin_unlock(&shard->lock);
    }
    return found;
}

/* When a sleeper should wake for this shard. A node cancelled or
 * superseded lock-free is dropped, not planned for: a wake-up at its time
 * would find nothing due. Shard locked. */
static uint64_t shard_wake_time(stw *wheel)
{
    for (;;) {
        stw_id id;
        uint64_t at = stw_next_within(wheel, ST_WAKE_SCAN_BUDGET, &id);
        if (id == STW_NONE)
            return at; /* empty, or a crowded slot's start */
        st_timer *t = timer_of(wheel, id);
        if (st_arm_word_armed_with(t, t->node.seq))
            return at;
        stw_remove(wheel, id);
    }
}

uint64_t st_shards_wake_time(st_shards *set)
{
    uint64_t wake = UINT64_MAX;
    for (uint32_t i = 0; i < set->count; i++) {
        st_shard *shard = &set->shard[i];
        st_spin_lock(&shard->lock);
        uint64_t w = shard_wake_time(&shard->wheel);
        st_spin_unlock(&shard->lock);
        if (w < wake)
            wake = w;
    }
    return wake;
}

void st_shards_add_counters(st_shards *set, stortimer_stats *out)
{
    for (uint32_t i = 0; i < set->count; i++)
        st_counters_add(out, &set->shard[i].stats);
}

void st_shards_retire(st_shards *set)
{
    for (uint32_t i = 0; i < set->count; i++)
        st_counters_retire(&set->shard[i].stats);
}

void st_shards_clear(st_shards *set)
{
    for (uint32_t i = 0; i < set->count; i++) {
        st_shard *shard = &set->shard[i];
        st_spin_lock(&shard->lock);
        stw_clear(&shard->wheel, shard->wheel.now);
        st_spin_unlock(&shard->lock);
    }
}

void st_shards_lock_all(st_shards *set)
{
    for (uint32_t i = 0; i < set->count; i++)
        st_spin_lock(&set->shard[i].lock);
}

void st_shards_unlock_all(st_shards *set)
{
    for (uint32_t i = set->count; i-- > 0;)
        st_spin_unlock(&set->shard[i].lock);
}

bool st_shards_check_wheels(const st_shards *set)
{
    for (uint32_t i = 0; i < set->count; i++)
        if (!stw_check(&set->shard[i].wheel))
            return false;
    return true;
}

typedef struct visit_ctx {
    const stw *wheel;
    uint32_t shard;
    void (*visit)(uint32_t shard, st_timer *t, uint64_t order, void *ctx);
    void *ctx;
} visit_ctx;

static void visit_node(stw_id id, void *arg)
{
    visit_ctx *v = arg;
    st_timer *t = timer_of(v->wheel, id);
    v->visit(v->shard, t, t->node.seq, v->ctx);
}

void st_shards_visit(st_shards *set,
                     void (*visit)(uint32_t shard, st_timer *t, uint64_t order, void *ctx),
                     void *ctx)
{
    for (uint32_t i = 0; i < set->count; i++) {
        visit_ctx v = {&set->shard[i].wheel, i, visit, ctx};
        stw_visit(&set->shard[i].wheel, visit_node, &v);
    }
}
