/* running.c - the callback an adapter runs now (running.h). */
#include "adapters/running.h"

#include <stddef.h>

bool st_running_init(st_running *r)
{
    r->timer = NULL;
    r->dpc = NULL;
    r->release_after = false;
    r->waiters = 0;
    return st_cond_init(&r->idle);
}

void st_running_destroy(st_running *r)
{
    st_cond_destroy(&r->idle);
}

void st_running_reset(st_running *r)
{
    r->timer = NULL;
    r->dpc = NULL;
    r->release_after = false;
}

void st_running_wait(st_running *r, const struct st_timer *t, st_mutex *mutex)
{
    while (st_running_is(r, t)) {
        r->waiters++;
        st_cond_wait(&r->idle, mutex);
        r->waiters--;
    }
}
