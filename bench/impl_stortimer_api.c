/*
 * impl_stortimer_api.c - the Storport routines on a virtual-clock adapter:
 * everything a miniport pays per call (checks, handle lookup, arm word,
 * adapter lock, queue), but no sleeping thread, so only CPU is measured.
 */
#include "cost.h"

#include <storport.h>
#include <stortimer.h>

#include <stdlib.h>
#include <string.h>

typedef struct api_state {
    stortimer_clock *clock;
    PVOID extension;
    PVOID *handles;
    size_t n;
    uint64_t fired, errors;
} api_state;

static VOID count_fire(PVOID extension, PVOID context)
{
    (void)extension;
    ((api_state *)context)->fired++;
}

static void *api_create(size_t n)
{
    api_state *s = calloc(1, sizeof *s);
    s->n = n;
    s->handles = alloc_touched(n * sizeof *s->handles);
    s->clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.extension_size = 64, .max_timers = 0, .clock = s->clock};
    if (!s->clock || stortimer_adapter_create(&config, &s->extension) != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-bench: cannot create a virtual-clock adapter\n");
        exit(1);
    }
    return s;
}

static void api_init_timers(void *state)
{
    api_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        s->errors += StorPortInitializeTimer(s->extension, &s->handles[i]) != STOR_STATUS_SUCCESS;
}

static void api_arm(void *state, size_t i, uint64_t timeout_us)
{
    api_state *s = state;
    s->errors += StorPortRequestTimer(s->extension, s->handles[i], count_fire, s,
                                      timeout_us, 0) != STOR_STATUS_SUCCESS;
}

static void api_cancel(void *state, size_t i)
{
    api_state *s = state;
    s->errors += StorPortRequestTimer(s->extension, s->handles[i], count_fire, s, 0, 0) !=
                 STOR_STATUS_SUCCESS;
}

/* Every timeout is at most 1 s: a 2 s advance fires them all, in order. */
static uint64_t api_expire(void *state, uint64_t armed)
{
    (void)armed;
    api_state *s = state;
    uint64_t before = s->fired;
    stortimer_clock_advance(s->clock, 2000000);
    return s->fired - before;
}

static uint64_t api_errors(void *state)
{
    return ((api_state *)state)->errors;
}

static void api_destroy(void *state)
{
    api_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        if (s->handles[i])
            StorPortFreeTimer(s->extension, s->handles[i]);
    stortimer_adapter_remove(s->extension, NULL);
    stortimer_clock_destroy(s->clock);
    free(s->handles);
    free(s);
}

const cost_impl impl_stortimer_api = {
    .name = "stortimer API",
    .expiry_min_us = 1,
    .expiry_max_us = 1000000,
    .create = api_create,
    .init_timers = api_init_timers,
    .arm = api_arm,
    .cancel = api_cancel,
    .expire = api_expire,
    .errors = api_errors,
    .destroy = api_destroy,
    .caller_bytes = sizeof(PVOID),
    .struct_note = "library-private: measured only",
};
