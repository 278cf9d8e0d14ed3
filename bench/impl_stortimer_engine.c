/*
 * impl_stortimer_engine.c - the timing wheel alone (src/wheel/timer_wheel.h), as
 * the adapter drives it: no API checks, no lock, no handle table. The gap to
 * "stortimer API" is what the Storport layer costs.
 */
#include "cost.h"

#include "wheel/timer_wheel.h"

#include <stdlib.h>
#include <string.h>

typedef struct engine_state {
    stw wheel;
    stw_node *nodes;
    void *chunks[1];      /* one chunk: every node id indexes `nodes` */
    size_t n;
    uint64_t seq;
} engine_state;

static void *engine_create(size_t n)
{
    engine_state *s = calloc(1, sizeof *s);
    s->n = n;
    s->nodes = alloc_touched(n * sizeof *s->nodes);
    s->chunks[0] = s->nodes;
    stw_init(&s->wheel, 0, (stw_table){s->chunks, 32, sizeof *s->nodes});
    return s;
}

static void engine_init_timers(void *state)
{
    engine_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        stw_node_init(&s->nodes[i]);
}

static void engine_arm(void *state, size_t i, uint64_t timeout_us)
{
    engine_state *s = state;
    stw_node *node = &s->nodes[i];
    node->at = s->wheel.now + timeout_us;
    node->seq = s->seq++;
    stw_insert(&s->wheel, (stw_id)i);
}

static void engine_cancel(void *state, size_t i)
{
    engine_state *s = state;
    if (stw_queued(&s->nodes[i]))
        stw_remove(&s->wheel, (stw_id)i);
}

/*
 * As a virtual clock steps: to the wheel's next time of work, fire what is
 * ready there, again, until 2 s have passed (every timeout is at most 1 s).
 */
static uint64_t engine_expire(void *state, uint64_t armed)
{
    (void)armed;
    engine_state *s = state;
    uint64_t end = s->wheel.now + 2000000, fired = 0;
    for (;;) {
        uint64_t next = stw_next(&s->wheel);
        if (next > end)
            break;
        stw_advance(&s->wheel, next > s->wheel.now ? next : s->wheel.now);
        stw_id id;
        while ((id = stw_first_ready(&s->wheel)) != STW_NONE) {
            stw_remove(&s->wheel, id);
            fired++;
        }
    }
    stw_advance(&s->wheel, end);
    return fired;
}

static uint64_t engine_errors(void *state)
{
    (void)state;
    return 0;
}

static size_t node_size(void)
{
    return sizeof(stw_node);
}

static void engine_destroy(void *state)
{
    engine_state *s = state;
    free(s->nodes);
    free(s);
}

const cost_impl impl_stortimer_engine = {
    .name = "stortimer engine",
    .expiry_min_us = 1,
    .expiry_max_us = 1000000,
    .create = engine_create,
    .init_timers = engine_init_timers,
    .arm = engine_arm,
    .cancel = engine_cancel,
    .expire = engine_expire,
    .errors = engine_errors,
    .destroy = engine_destroy,
    .caller_bytes = sizeof(stw_node),
    .struct_size = node_size,
    .struct_note = "sizeof(stw_node), embedded in the caller's timer",
};
