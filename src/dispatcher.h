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
 * How far before the first closing window the dispatcher aims to wake, so
 * that the operating system's own wake-up delay still lands inside it.
 * Windows narrower than this fire as soon as they open.
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
 * After an arm, with the adapter lock held: wakes the dispatcher if it must
 * now wake earlier than it planned.
 */
void st_dispatcher_note_arm(st_adapter *a);

/* Wakes the dispatcher unconditionally. Lock-free and async-signal-safe. */
void st_dispatcher_kick(st_adapter *a);

/*
 * When to wake for this queue: late enough to serve as many windows as
 * possible, early enough that none closes first (less the margin), never
 * before the first window opens. UINT64_MAX when empty.
 */
uint64_t st_wake_time(const stq *queue);

#endif
