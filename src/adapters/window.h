/*
 * window.h - where in its window a timer fires (SPEC S5.4.2, S11.4).
 *
 * A timer due at `due` with a window of W us gets one fire time when it is
 * armed, the same on both clocks, so a test on a virtual clock sees the
 * fire times the real clock aims at:
 *
 *     usable = W - min(W / 2, ST_WAKE_MARGIN_US)   keep the end free for the
 *                                                   OS's wake-up delay
 *     fire   = the time in [due, due + usable] with the most trailing zero
 *              bits (stw_fire_time)
 *
 * Timers whose windows overlap pick the same round time, so one wake-up
 * serves them all, and a wide window lands on a coarse slot boundary,
 * where its timer fires without moving down the wheel's levels first. The
 * trade-off: a timer whose window is open but whose fire time lies ahead
 * waits for it (a 100-200 ms window beside a timer due at 150 ms with no
 * window fires at 131.072 ms, the other at 150 ms: two wake-ups where one
 * could do); in exchange every decision is made once, at the arm, in O(1).
 */
#ifndef STORTIMER_ADAPTERS_WINDOW_H
#define STORTIMER_ADAPTERS_WINDOW_H

#include "wheel/timer_wheel.h"

#include <stdint.h>

/* TolerableDelay values below this are no window (S5.4.2). */
#define ST_WINDOW_FLOOR_US 32u

/*
 * The widest window used: a TolerableDelay beyond it (up to a saturated
 * 2^64 - 1) is used only this far, so that an absurd value cannot postpone
 * a callback for ever.
 */
#define ST_WINDOW_MAX_US 1000000u

/* How much of a window's end is kept free, at most, for the operating
 * system's own wake-up delay. */
#define ST_WAKE_MARGIN_US 1000u

/* The window a TolerableDelay gives: none below the floor, at most the max. */
static inline uint64_t st_window_of(uint64_t tolerable_delay)
{
    if (tolerable_delay < ST_WINDOW_FLOOR_US)
        return 0;
    return tolerable_delay > ST_WINDOW_MAX_US ? ST_WINDOW_MAX_US : tolerable_delay;
}

/* The fire time of a timer due at `due` with a window of `window` us. */
static inline uint64_t st_fire_time(uint64_t due, uint64_t window)
{
    uint64_t kept = window / 2 < ST_WAKE_MARGIN_US ? window / 2 : ST_WAKE_MARGIN_US;
    return window ? stw_fire_time(due, window - kept) : due;
}

/* Saturating addition: a due time never wraps to an early one (S5.4.3). */
static inline uint64_t st_add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
