/*
 * dispatcher.h - the thread that runs a real-clock adapter's due work
 * (SPEC S8.1, S11.1).
 *
 * It sleeps on the adapter's doorbell until the next wake time, against
 * CLOCK_MONOTONIC, with no polling loop and no fixed tick, and is woken
 * early only when an arm makes an earlier wake time necessary (or a
 * hand-over arrives). It is registered as the adapter's runner.
 */
#ifndef STORTIMER_TIME_DISPATCHER_H
#define STORTIMER_TIME_DISPATCHER_H

#include "adapters/adapter.h"

/* Starts the adapter's dispatcher thread; false if it could not be made. */
bool st_dispatcher_start(st_adapter *a);

/* Stops and joins it. Call without the adapter's locks, once the adapter
 * is no longer live. */
void st_dispatcher_stop(st_adapter *a);

#endif
