/* clock.c - clocks, and the adapters on a virtual clock (clock.h). */
#include "time/clock.h"

#include "adapters/window.h"
#include "platform/alloc.h"
#include "platform/os.h"
#include "platform/report.h"
#include "platform/verify.h"

uint64_t st_real_now_floor(void)
{
    return st_os_monotonic_ns() / 1000u;
}

uint64_t st_real_now_ceil(void)
{
    return (st_os_monotonic_ns() + 999u) / 1000u;
}

/* The live virtual clocks, so that a dead one is told apart by address. */
static st_mutex *live_lock(void)
{
    static st_mutex lock = ST_MUTEX_INITIALIZER;
    return &lock;
}
static stortimer_clock *live_clocks;

bool st_clock_is_live(const stortimer_clock *clock)
{
    bool live = false;
    st_mutex_lock(live_lock());
    for (const stortimer_clock *c = live_clocks; c && !live; c = c->live_next)
        live = c == clock;
    st_mutex_unlock(live_lock());
    return live;
}

/* At exit, with the verifier on: virtual clocks never destroyed. */
static void report_live_clocks(void)
{
    unsigned live = 0;
    st_mutex_lock(live_lock());
    for (const stortimer_clock *c = live_clocks; c; c = c->live_next)
        live++;
    st_mutex_unlock(live_lock());
    if (live)
        st_verify_finding(NULL, "%u virtual clock(s) still alive at exit: never destroyed", live);
}

stortimer_clock *stortimer_clock_virtual_create(void)
{
    if (st_verifying())
        st_verify_at_exit(report_live_clocks);
    static _Atomic uint32_t clock_ids;
    stortimer_clock *clock = st_calloc(1, sizeof *clock);
    if (!clock)
        return NULL;
    clock->id = atomic_fetch_add(&clock_ids, 1) + 1;
    atomic_init(&clock->now, 0);
    if (!st_mutex_init(&clock->list_lock)) {
        st_free(clock);
        return NULL;
    }
    if (!st_mutex_init(&clock->advance_lock)) {
        st_mutex_destroy(&clock->list_lock);
        st_free(clock);
        return NULL;
    }
    st_time_scale_init_virtual(&clock->scale);
    st_mutex_lock(live_lock());
    clock->live_next = live_clocks;
    live_clocks = clock;
    st_mutex_unlock(live_lock());
    return clock;
}

void stortimer_clock_destroy(stortimer_clock *clock)
{
    if (!clock)
        return;
    if (!st_clock_is_live(clock)) {
        st_report("stortimer_clock_destroy: %p is not a live virtual clock (ignored)",
                  (void *)clock);
        return;
    }
    st_mutex_lock(&clock->list_lock);
    uint32_t adapters = clock->member_count;
    st_mutex_unlock(&clock->list_lock);
    if (adapters) {
        st_report("stortimer_clock_destroy: %u adapter(s) still use this clock; "
                  "remove them first (clock not destroyed)", adapters);
        return;
    }
    st_mutex_lock(live_lock());
    stortimer_clock **link = &live_clocks;
    while (*link && *link != clock)
        link = &(*link)->live_next;
    if (*link)
        *link = clock->live_next;
    st_mutex_unlock(live_lock());
    while (clock->spare) {
        st_clock_member *m = clock->spare;
        clock->spare = m->next;
        st_free(m);
    }
    st_mutex_destroy(&clock->list_lock);
    st_mutex_destroy(&clock->advance_lock);
    st_free(clock);
}

ULONGLONG stortimer_clock_now(const stortimer_clock *clock)
{
    return clock ? atomic_load_explicit(&clock->now, memory_order_acquire)
                 : st_real_now_floor();
}

void st_clock_raise_to(stortimer_clock *clock, uint64_t time)
{
    uint64_t now = atomic_load_explicit(&clock->now, memory_order_relaxed);
    while (now < time &&
           !atomic_compare_exchange_weak_explicit(&clock->now, &now, time,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed)) {
    }
}

/* A record from the spares, or a new one; NULL if no memory. List lock held. */
static st_clock_member *new_member(stortimer_clock *clock)
{
    st_clock_member *m = clock->spare;
    if (m)
        clock->spare = m->next;
    else if (!(m = st_calloc(1, sizeof *m)))
        return NULL;
    m->prev = m->next = NULL;
    atomic_store(&m->startio_held_by_advancer, false);
    atomic_store(&m->cutoff, 0);
    return m;
}

bool st_clock_attach(stortimer_clock *clock, st_adapter *a)
{
    st_mutex_lock(&clock->list_lock);
    st_clock_member *m = new_member(clock);
    if (!m) {
        st_mutex_unlock(&clock->list_lock);
        return false;
    }
    m->adapter = a;
    if (clock->end_of_time) /* made by a callback of that advance */
        atomic_store(&m->cutoff, st_adapter_next_order(a));
    m->next = clock->members;
    if (clock->members)
        clock->members->prev = m;
    clock->members = m;
    clock->member_count++;
    st_adapter_set_runner(a, m);
    st_mutex_unlock(&clock->list_lock);
    return true;
}

void st_clock_detach(stortimer_clock *clock, st_adapter *a)
{
    st_clock_member *m = st_adapter_runner(a);
    st_mutex_lock(&clock->list_lock);
    if (m->prev)
        m->prev->next = m->next;
    else
        clock->members = m->next;
    if (m->next)
        m->next->prev = m->prev;
    clock->member_count--;
    st_adapter_set_runner(a, NULL);
    m->adapter = NULL;
    m->prev = NULL;
    m->next = clock->spare;
    clock->spare = m;
    st_mutex_unlock(&clock->list_lock);
}

void st_clock_stall(stortimer_clock *clock, uint32_t delay)
{
    if (clock) {
        if (delay)
            st_time_scale_fix(&clock->scale); /* it moves: too late to set the tick */
        st_clock_raise_to(clock, st_add_saturating(stortimer_clock_now(clock), delay));
    }
    else
        st_os_stall_ns((uint64_t)delay * 1000u);
}
