/*
 * impl_libevent.c - libevent's timers: evtimer_new per timer on one
 * event_base (its default configuration), evtimer_add / evtimer_del.
 */
#include "cost.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

typedef struct levent_state {
    struct event_base *base;
    struct event **events;
    size_t n;
    uint64_t fired, errors;
} levent_state;

static void count_fire(evutil_socket_t fd, short what, void *context)
{
    (void)fd;
    (void)what;
    ((levent_state *)context)->fired++;
}

static void *levent_create(size_t n)
{
    levent_state *s = calloc(1, sizeof *s);
    s->n = n;
    s->events = alloc_touched(n * sizeof *s->events);
    s->base = event_base_new();
    if (!s->base) {
        fprintf(stderr, "stortimer-bench: event_base_new failed\n");
        exit(1);
    }
    return s;
}

static void levent_init_timers(void *state)
{
    levent_state *s = state;
    for (size_t i = 0; i < s->n; i++) {
        s->events[i] = evtimer_new(s->base, count_fire, s);
        s->errors += s->events[i] == NULL;
    }
}

static void levent_arm(void *state, size_t i, uint64_t timeout_us)
{
    levent_state *s = state;
    struct timeval tv = {.tv_sec = (time_t)(timeout_us / 1000000u),
                         .tv_usec = (suseconds_t)(timeout_us % 1000000u)};
    s->errors += evtimer_add(s->events[i], &tv) != 0;
}

static void levent_cancel(void *state, size_t i)
{
    levent_state *s = state;
    s->errors += evtimer_del(s->events[i]) != 0;
}

/* libevent reads a coarse monotonic clock by default (a few ms steps):
 * wait well past the 2 ms timeouts, so that expire only fires. */
static void levent_before_expire(void *state)
{
    (void)state;
    sleep_us(20000);
}

static uint64_t levent_expire(void *state, uint64_t armed)
{
    levent_state *s = state;
    uint64_t before = s->fired;
    while (s->fired - before < armed &&
           event_base_loop(s->base, EVLOOP_NONBLOCK) == 0) {
    }
    return s->fired - before;
}

static uint64_t levent_errors(void *state)
{
    return ((levent_state *)state)->errors;
}

static void levent_destroy(void *state)
{
    levent_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        if (s->events[i])
            event_free(s->events[i]);
    event_base_free(s->base);
    free(s->events);
    free(s);
}

static size_t levent_struct_size(void)
{
    return event_get_struct_event_size();
}

const cost_impl impl_libevent = {
    .name = "libevent",
    .expiry_min_us = 0,
    .expiry_max_us = 2000,
    .create = levent_create,
    .init_timers = levent_init_timers,
    .arm = levent_arm,
    .cancel = levent_cancel,
    .before_expire = levent_before_expire,
    .expire = levent_expire,
    .errors = levent_errors,
    .destroy = levent_destroy,
    .caller_bytes = sizeof(struct event *),
    .struct_size = levent_struct_size,
    .struct_note = "event_get_struct_event_size(), allocated by evtimer_new",
};
