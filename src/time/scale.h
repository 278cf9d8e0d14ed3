/*
 * scale.h - a clock's time scale: its tick T and system-time base B (SPEC
 * S13.2). A virtual clock's scale is fixed by its first advance (or a
 * stall that moves it), the real clock's by its first reading through the
 * library; settings made later answer "too late" (S17.4). Lock-free:
 * readers may run in a signal handler.
 */
#ifndef STORTIMER_TIME_SCALE_H
#define STORTIMER_TIME_SCALE_H

#include "stortimer.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct st_time_scale {
    _Atomic uint64_t tick_word;      /* (T << 1) | ST_TICK_FIXED */
    _Atomic int64_t base;            /* B, 100-ns units since 1601; real
                                        clock: ST_BASE_UNSET until fixed */
} st_time_scale;

#define ST_TICK_FIXED UINT64_C(1)
#define ST_BASE_UNSET INT64_MIN
#define ST_TICK_MAX_US 429496729u

/* A virtual clock's scale: the default tick, B = 2000-01-01 (S13.4). */
static inline void st_time_scale_init_virtual(st_time_scale *scale)
{
    atomic_init(&scale->tick_word, (uint64_t)STORTIMER_DEFAULT_TICK_US << 1);
    atomic_init(&scale->base, STORTIMER_VIRTUAL_EPOCH_100NS);
}

/* Fixes the scale: a virtual clock's first advance or moving stall. */
static inline void st_time_scale_fix(st_time_scale *scale)
{
    if (!(atomic_load_explicit(&scale->tick_word, memory_order_relaxed) & ST_TICK_FIXED))
        atomic_fetch_or(&scale->tick_word, ST_TICK_FIXED);
}

/* The tick T, in microseconds. */
static inline uint32_t st_time_scale_tick(const st_time_scale *scale)
{
    return (uint32_t)(atomic_load_explicit(&scale->tick_word, memory_order_acquire) >> 1);
}

#endif
