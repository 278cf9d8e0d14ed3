/*
 * dispatcher.h - the thread that runs a real-clock adapter's callbacks.
 *
 * It sleeps on a futex until the next wake time, against CLOCK_MONOTONIC,
 * with no polling loop and no fixed tick, and is woken early only when an
 * arm makes an earlier wake time necessary (or a hand-over arrives).
 */
#ifndef STORTIMER_DISPATCHER_H
#define STORTIMER_DISPATCHER_H

#include "adapter.h"

/*
 * How much of the end of a window is kept free, so that the operating
 * system's own wake-up delay still lands inside it: a timer's fire time is
 * chosen in the window less half its width, or less this margin when the
 * window is wider than twice the margin.
 */
#define ST_WAKE_MARGIN_US 1000u

/*
 * The widest window used for coalescing: a TolerableDelay beyond it (up to
 * a saturated 2^64 - 1) is used only this far, so that an absurd value
 * cannot postpone a callback for ever.
 */
#define ST_WINDOW_MAX_US 1000000u

/* Starts the adapter's dispatcher thread; false if it could not be created. */
bool st_dispatcher_start(st_adapter *a);

/* Stops and joins it. Call without the adapter lock. */
void st_dispatcher_stop(st_adapter *a);

/*
 * After an arm firing at `at`, with its shard lock held: wakes the
 * dispatcher if it must now wake earlier than it planned (or, while it is
 * awake, makes it look again before it sleeps).
 */
void st_dispatcher_note_arm(st_adapter *a, uint64_t at);

/* Wakes the dispatcher unconditionally. Lock-free and async-signal-safe. */
void st_dispatcher_kick(st_adapter *a);

/*
 * The fire time of a timer due at `due` with a window of `window` us (S5.4.2):
 * the roundest time in the usable part of the window (stw_fire_time), so
 * that timers whose windows overlap share it, and one wake-up serves them.
 * On either clock: a virtual clock fires there too (S11).
 */
uint64_t st_fire_time(uint64_t due, uint64_t window);

/*
 * When to wake for this wheel: its first fire time; or, when that lies in
 * a slot above level 0 holding more than ST_WAKE_SCAN_BUDGET timers, the
 * slot's start, where they move down a level. UINT64_MAX when empty.
 */
#define ST_WAKE_SCAN_BUDGET 64u
uint64_t st_wake_time(const stw *wheel);

#endif
