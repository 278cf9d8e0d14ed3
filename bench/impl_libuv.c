/*
 * impl_libuv.c - libuv's timers: one uv_timer_t per timer on one loop.
 *
 * libuv counts in milliseconds, so a timeout of t us is started as
 * t / 1000 + 1 ms (rounded up: never early, like the others).
 */
#include "cost.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct luv_state {
    uv_loop_t loop;
    uv_timer_t *timers;
    size_t n;
    uint64_t fired, errors;
} luv_state;

static void count_fire(uv_timer_t *timer)
{
    ((luv_state *)timer->data)->fired++;
}

static void *luv_create(size_t n)
{
    luv_state *s = calloc(1, sizeof *s);
    s->n = n;
    s->timers = alloc_touched(n * sizeof *s->timers);
    if (uv_loop_init(&s->loop) != 0) {
        fprintf(stderr, "stortimer-bench: uv_loop_init failed\n");
        exit(1);
    }
    return s;
}

static void luv_init_timers(void *state)
{
    luv_state *s = state;
    for (size_t i = 0; i < s->n; i++) {
        s->errors += uv_timer_init(&s->loop, &s->timers[i]) != 0;
        s->timers[i].data = s;
    }
}

static void luv_arm(void *state, size_t i, uint64_t timeout_us)
{
    luv_state *s = state;
    s->errors += uv_timer_start(&s->timers[i], count_fire, timeout_us / 1000 + 1, 0) != 0;
}

static void luv_cancel(void *state, size_t i)
{
    luv_state *s = state;
    s->errors += uv_timer_stop(&s->timers[i]) != 0;
}

/* The loop's time follows the real clock: wait until every timer is due
 * (they were started with at most 3 ms), so that expire only fires. */
static void luv_before_expire(void *state)
{
    (void)state;
    sleep_us(10000);
}

/* One uv_run pass fires every due timer; the loop repeats only in case the
 * clock had not quite reached the last ones. */
static uint64_t luv_expire(void *state, uint64_t armed)
{
    luv_state *s = state;
    uint64_t before = s->fired;
    while (s->fired - before < armed && uv_loop_alive(&s->loop))
        uv_run(&s->loop, UV_RUN_NOWAIT);
    return s->fired - before;
}

static uint64_t luv_errors(void *state)
{
    return ((luv_state *)state)->errors;
}

static void luv_destroy(void *state)
{
    luv_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        uv_close((uv_handle_t *)&s->timers[i], NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    free(s->timers);
    free(s);
}

static size_t luv_timer_size(void)
{
    return sizeof(uv_timer_t);
}

const cost_impl impl_libuv = {
    .name = "libuv",
    .expiry_min_us = 0,
    .expiry_max_us = 2000,
    .create = luv_create,
    .init_timers = luv_init_timers,
    .arm = luv_arm,
    .cancel = luv_cancel,
    .before_expire = luv_before_expire,
    .expire = luv_expire,
    .errors = luv_errors,
    .destroy = luv_destroy,
    .caller_bytes = sizeof(uv_timer_t),
    .struct_size = luv_timer_size,
    .struct_note = "sizeof(uv_timer_t), embedded in the caller's data",
};
