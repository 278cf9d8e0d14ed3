/*
 * adapter.c - queueing, hand-over and firing of an adapter's timers.
 *
 * Firing takes the StartIo lock first and only then looks at the queue
 * under the adapter lock, so that code holding the StartIo lock (a miniport
 * cancelling or freeing an I/O timer from its StartIo path) always sees the
 * callback either finished or not yet started, and a cancel or free made
 * there drops it (SPEC S6.4.1, S8.1).
 */
#include "adapter.h"

#include "clock.h"
#include "dispatcher.h"
#include "event_log.h"
#include "registry.h"
#include "thread_state.h"

#include <sched.h>

st_counters st_unattributed;

uint64_t st_adapter_now_for_arming(st_adapter *a)
{
    stortimer_clock *clock = st_adapter_clock(a);
    return clock ? atomic_load_explicit(&clock->now, memory_order_acquire)
                 : st_real_now_ceil();
}

st_adapter *st_adapter_lock_by_extension(const void *extension)
{
    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(extension, &serial);
    if (!a)
        return NULL;
    pthread_mutex_lock(&a->mutex);
    if (!a->live || atomic_load(&a->serial) != serial) {
        pthread_mutex_unlock(&a->mutex);
        return NULL;
    }
    st_adapter_drain_handover(a);
    return a;
}

void st_adapter_unlock(st_adapter *a)
{
    pthread_mutex_unlock(&a->mutex);
}

bool st_timer_cancel_pending(st_timer *t)
{
    uint64_t arm = atomic_load_explicit(&t->arm, memory_order_acquire);
    while (arm & ST_PENDING) {
        if (atomic_compare_exchange_weak_explicit(&t->arm, &arm, arm & ~(uint64_t)ST_PENDING,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
    return false;
}

st_shard *st_shard_lock(st_adapter *a, st_timer *t)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&t->owner, memory_order_acquire) >> ST_OWNER_SHARD_SHIFT;
        st_shard *shard = &a->shard[s < a->shards ? s : 0];
        pthread_mutex_lock(&shard->mutex);
        if (atomic_load(&t->owner) >> ST_OWNER_SHARD_SHIFT == s)
            return shard;
        pthread_mutex_unlock(&shard->mutex); /* it moved meanwhile */
    }
}

st_shard *st_shard_here(st_adapter *a)
{
    int cpu = sched_getcpu();
    return &a->shard[cpu < 0 ? 0 : (uint32_t)cpu % a->shards];
}

/* Moves timer `t` from locked shard `from` to `to` if `to` can be locked
 * at once (a busy shard is no reason to wait, and waiting against the lock
 * order would deadlock); returns the shard it is in, locked (and `from`
 * still locked too). */
static st_shard *move_timer(st_adapter *a, st_timer *t, st_shard *from, st_shard *to)
{
    if (!to || to == from || pthread_mutex_trylock(&to->mutex) != 0)
        return from;
    /* Both shard locks held, and a live timer's adapter bits do not
     * change: nobody else writes the word now. */
    uint32_t adapter = st_owner_adapter(atomic_load(&t->owner));
    atomic_store(&t->owner,
                 (uint16_t)((uint32_t)(to - a->shard) << ST_OWNER_SHARD_SHIFT | adapter));
    return to;
}

void st_adapter_queue_request(st_adapter *a, st_shard *shard, st_shard *prefer,
                              const st_request *r)
{
    st_timer *t = r->timer;
    if (t == a->legacy)
        t->callback.legacy = r->legacy_callback;
    else
        t->callback.extended = r->callback;
    t->context = r->context;
    stw_id id = st_timer_id(t);
    if (stw_queued(&t->node))
        stw_remove(&shard->wheel, id);
    st_shard *home = move_timer(a, t, shard, prefer);
    stw *wheel = &home->wheel;
    st_set24(t->fire_after_due, (uint32_t)(r->at - r->due)); /* <= ST_WINDOW_MAX_US */
    t->node.at = r->at;
    t->node.seq = r->order;
    stw_insert(wheel, id);
    if (home != shard)
        pthread_mutex_unlock(&home->mutex);
    st_dispatcher_note_arm(a, r->at);
}

/* Applies one hand-over unless it was cancelled, superseded or freed since. */
static void apply_handover(st_adapter *a, const st_request *e)
{
    st_timer *t = e->timer;
    if (!t)
        return; /* a reserved cell whose request was refused */
    if (e->adapter_serial != atomic_load(&a->serial) || !a->live)
        return;
    if (e->issued && atomic_load(&t->issued) != e->issued)
        return;
    st_shard *shard = st_shard_lock(a, t);
    if (atomic_load(&t->arm) == ((e->order << 1) | ST_PENDING))
        st_adapter_queue_request(a, shard, NULL, e);
    pthread_mutex_unlock(&shard->mutex);
}

void st_adapter_drain_handover(st_adapter *a)
{
    for (;;) {
        uint64_t head = atomic_load_explicit(&a->handover_head, memory_order_relaxed);
        st_handover *e = &a->handover[head % ST_HANDOVER_SLOTS];
        if (atomic_load_explicit(&e->turn, memory_order_acquire) != head + 1)
            return;
        st_request request = e->request;
        atomic_store_explicit(&e->turn, head + ST_HANDOVER_SLOTS, memory_order_release);
        atomic_store_explicit(&a->handover_head, head + 1, memory_order_relaxed);
        apply_handover(a, &request);
    }
}

/*
 * A bounded multi-producer queue (a ticket per cell): a producer claims a
 * cell by advancing the tail, fills it, then publishes it by setting its
 * turn. No lock, no allocation: safe in a signal handler (SPEC S5.7).
 */
st_handover *st_handover_reserve(st_adapter *a, uint64_t *ticket)
{
    uint64_t pos = atomic_load_explicit(&a->handover_tail, memory_order_relaxed);
    for (;;) {
        st_handover *cell = &a->handover[pos % ST_HANDOVER_SLOTS];
        uint64_t turn = atomic_load_explicit(&cell->turn, memory_order_acquire);
        int64_t lag = (int64_t)(turn - pos);
        if (lag == 0) {
            if (atomic_compare_exchange_weak_explicit(&a->handover_tail, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *ticket = pos;
                return cell;
            }
        } else if (lag < 0) {
            return NULL; /* full: the consumer has not freed this cell yet */
        } else {
            pos = atomic_load_explicit(&a->handover_tail, memory_order_relaxed);
        }
    }
}

void st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request)
{
    cell->request = *request;
    atomic_store_explicit(&cell->turn, ticket + 1, memory_order_release);
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
        st_timer *t = (st_timer *)stw_node_at(wheel, id);
        if (atomic_load(&t->arm) == ((t->node.seq << 1) | ST_PENDING))
            return t;
        stw_remove(wheel, id);
    }
}

/* The first ready timer still pending. */
static st_timer *first_ready_live(stw *wheel)
{
    return first_live(wheel, stw_first_ready);
}

/* Whether `t` fires before `u` (NULL: never): fire time, then arm order. */
static bool fires_before(const st_timer *t, const st_timer *u)
{
    return !u || t->node.at < u->node.at ||
           (t->node.at == u->node.at && t->node.seq < u->node.seq);
}

/* Whether `t`, due at the clock's last microsecond, was armed during the
 * advance that runs there: it waits for the next advance (clock.c). */
static bool beyond_end_of_time(st_adapter *a, const st_timer *t)
{
    uint64_t first = atomic_load_explicit(&a->end_of_time_orders, memory_order_relaxed);
    return first && t->node.at == UINT64_MAX && t->node.seq >= first;
}

/* A shard's first live timer that fires by `limit` (stw_settle), or NULL.
 * Its shard lock held. */
static st_timer *first_by(st_adapter *a, stw *wheel, uint64_t limit)
{
    for (;;) {
        stw_settle(wheel, limit);
        if (stw_first_ready(wheel) == STW_NONE)
            return NULL; /* nothing due by the limit */
        st_timer *t = first_ready_live(wheel);
        if (t)
            return t->node.at <= limit && !beyond_end_of_time(a, t) ? t : NULL;
    }
}

/* The smallest fire time over the adapter's shards: of timers due by
 * `limit`, moving the wheels as far as they must (`far` false), or of all
 * timers, moving nothing (`far` true). */
static bool first_fire_time(st_adapter *a, uint64_t serial, uint64_t limit, bool far,
                            uint64_t *at)
{
    bool found = false;
    pthread_mutex_lock(&a->mutex);
    if (a->live && atomic_load(&a->serial) == serial) {
        st_adapter_drain_handover(a);
        for (uint32_t i = 0; i < a->shards; i++) {
            st_shard *shard = &a->shard[i];
            pthread_mutex_lock(&shard->mutex);
            /* Far: the live timer with the smallest fire time, the wheel's
             * time left alone. */
            st_timer *t = far ? first_live(&shard->wheel, stw_earliest)
                              : first_by(a, &shard->wheel, limit);
            if (t && (!found || t->node.at < *at)) {
                found = true;
                *at = t->node.at;
            }
            pthread_mutex_unlock(&shard->mutex);
        }
    }
    pthread_mutex_unlock(&a->mutex);
    return found;
}

bool st_adapter_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t *at)
{
    return first_fire_time(a, serial, limit, false, at);
}

bool st_adapter_next_fire(st_adapter *a, uint64_t serial, uint64_t *at)
{
    return first_fire_time(a, serial, UINT64_MAX, true, at);
}

uint64_t st_adapter_wake_time(st_adapter *a)
{
    uint64_t wake = UINT64_MAX;
    for (uint32_t i = 0; i < a->shards; i++) {
        st_shard *shard = &a->shard[i];
        pthread_mutex_lock(&shard->mutex);
        uint64_t w = st_wake_time(&shard->wheel);
        pthread_mutex_unlock(&shard->mutex);
        if (w < wake)
            wake = w;
    }
    return wake;
}

/* What a callback is called with, copied under the adapter lock: once it
 * has started, the timer may be armed again (with other values) meanwhile. */
typedef struct st_call {
    PHW_TIMER_EX callback;
    PHW_TIMER legacy_callback;
    PVOID context;
    void *extension;
    uint64_t issued;                 /* the handle's; 0: the legacy timer */
    uint64_t due, at;
} st_call;

/* Records a callback's start or return in the event log (the log is on). */
ST_LOG_PATH static void log_call(st_adapter *a, stortimer_event_type type,
                                 const st_call *call)
{
    st_log_record(a, &(stortimer_event){
        .type = type, .extension = call->extension,
        .handle = call->issued ? st_handle_pointer(st_registry_handle_of(call->issued)) : NULL,
        .legacy = !call->issued, .callback = call->callback,
        .legacy_callback = call->legacy_callback, .context = call->context,
        .due = call->due, .fire_time = call->at,
    });
}

/* Runs one callback as Windows would: DISPATCH_LEVEL, StartIo lock held. */
static void run_callback(st_adapter *a, st_timer *t, const st_call *call)
{
    st_thread saved = st_self;
    st_self.irql = DISPATCH_LEVEL;
    st_self.callback_adapter = a;
    st_self.callback_timer = t;
    if (st_adapter_clock(a))
        st_self.bound_clock = st_adapter_clock(a);
    if (st_logging()) /* at the callback's IRQL */
        log_call(a, STORTIMER_EVENT_FIRED, call);
    if (call->legacy_callback)
        call->legacy_callback(call->extension);
    else if (call->callback) /* always: StorPortRequestTimer refuses NULL */
        call->callback(call->extension, call->context);
    if (st_logging())
        log_call(a, STORTIMER_EVENT_RETURNED, call);
    st_self = saved;
}

st_fire_result st_adapter_fire_due(st_adapter *a, uint64_t serial, bool wait_for_startio)
{
    if (wait_for_startio)
        st_lock_acquire(&a->startio);
    else if (!st_lock_try_acquire(&a->startio))
        return ST_FIRE_LOCK_BUSY;
    pthread_mutex_lock(&a->mutex);
    st_adapter_drain_handover(a);
    stortimer_clock *clock = st_adapter_clock(a);
    uint64_t now = clock ? atomic_load(&clock->now) : st_real_now_floor();
    bool same = a->live && atomic_load(&a->serial) == serial;
    /* The first due timer over every shard, with its shard locked. */
    st_timer *t = NULL;
    st_shard *home = NULL;
    for (uint32_t i = 0; same && i < a->shards; i++) {
        st_shard *shard = &a->shard[i];
        pthread_mutex_lock(&shard->mutex);
        stw_advance(&shard->wheel, now);
        st_timer *first = first_ready_live(&shard->wheel);
        /* A virtual clock's peek may have moved the wheel ahead of the clock. */
        if (first && first->node.at <= now && !beyond_end_of_time(a, first) &&
            fires_before(first, t)) {
            if (home)
                pthread_mutex_unlock(&home->mutex);
            t = first;
            home = shard;
        } else {
            pthread_mutex_unlock(&shard->mutex);
        }
    }
    if (!t) {
        pthread_mutex_unlock(&a->mutex);
        st_lock_release(&a->startio);
        return ST_FIRE_NOTHING;
    }
    stw_remove(&home->wheel, st_timer_id(t));
    /* Starting the callback ends the pending state, unless a lock-free
     * cancel got there first (S5.5, S5.6). */
    uint64_t expected = (t->node.seq << 1) | ST_PENDING;
    bool start = atomic_compare_exchange_strong(&t->arm, &expected, t->node.seq << 1);
    bool legacy = t == a->legacy;
    st_call call = {
        .callback = legacy ? NULL : t->callback.extended,
        .legacy_callback = legacy ? t->callback.legacy : NULL,
        .context = t->context,
        .extension = atomic_load(&a->extension),
        .issued = legacy ? 0 : atomic_load(&t->issued),
        .due = t->node.at - st_get24(t->fire_after_due),
        .at = t->node.at,
    };
    pthread_mutex_unlock(&home->mutex);
    if (start) {
        a->running = t;
        ST_COUNT(a, fired, 1);
        if (legacy)
            ST_COUNT(a, legacy_fired, 1);
        st_count_lateness(&a->stats, now - call.due);
        pthread_mutex_unlock(&a->mutex);
        run_callback(a, t, &call);
        pthread_mutex_lock(&a->mutex);
        a->running = NULL;
        if (a->release_running) {
            a->release_running = false;
            st_registry_timer_give_back(a, t);
        }
        pthread_cond_broadcast(&a->idle);
    }
    pthread_mutex_unlock(&a->mutex);
    st_lock_release(&a->startio);
    return ST_FIRE_AGAIN;
}
