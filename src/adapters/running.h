/*
 * running.h - which timer's callback an adapter runs now, so that
 * StorPortFreeTimer and adapter removal can wait for it (SPEC S6.4.1, S3.4).
 * Every call is made under the adapter lock, which `mutex` names.
 */
#ifndef STORTIMER_ADAPTERS_RUNNING_H
#define STORTIMER_ADAPTERS_RUNNING_H

#include "platform/sync.h"

#include <stdbool.h>
#include <stddef.h>

struct st_timer;
struct st_dpc;

typedef struct st_running {
    struct st_timer *timer;          /* whose callback runs now; NULL: none */
    struct st_dpc *dpc;              /* whose DPC routine runs now; NULL: none */
    bool release_after;              /* freed by its own callback: give the
                                        slot back once it returns */
    st_cond idle;                    /* broadcast when a callback returns */
    unsigned waiters;                /* threads waiting on `idle` */
} st_running;

/* False when the system refuses a condition variable. */
bool st_running_init(st_running *r);
void st_running_destroy(st_running *r);

/* Nothing runs (a new adapter). */
void st_running_reset(st_running *r);

/* A callback of `t` starts; it returned: true when its slot must be given
 * back now (it freed its own timer). Inline: every callback does both. */
static inline void st_running_begin(st_running *r, struct st_timer *t)
{
    r->timer = t;
}

static inline bool st_running_end(st_running *r)
{
    bool release = r->release_after;
    r->timer = NULL;
    r->release_after = false;
    if (r->waiters)
        st_cond_broadcast(&r->idle);
    return release;
}

/* Whether `t`'s callback runs now (NULL: any callback or DPC routine). */
static inline bool st_running_is(const st_running *r, const struct st_timer *t)
{
    return t ? r->timer == t : r->timer != NULL || r->dpc != NULL;
}

/* A DPC routine starts, and returns (S14.7: one at a time, never with a
 * callback of the same adapter). */
static inline void st_running_begin_dpc(st_running *r, struct st_dpc *dpc)
{
    r->dpc = dpc;
}

static inline void st_running_end_dpc(st_running *r)
{
    r->dpc = NULL;
    if (r->waiters)
        st_cond_broadcast(&r->idle);
}

/* `t`'s own callback freed it: its slot is given back when it returns. */
static inline void st_running_release_after(st_running *r)
{
    r->release_after = true;
}

/* Waits while `t`'s callback runs (NULL: any callback). */
void st_running_wait(st_running *r, const struct st_timer *t, st_mutex *mutex);

#endif
